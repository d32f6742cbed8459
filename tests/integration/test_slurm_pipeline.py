"""The package's jobs on a real single-node SLURM: labelling calculations, descriptor chunks and
sweep units as SLURM jobs of executorlib's ``SlurmClusterExecutor`` (proved from slurmctld's records, squeue
during the run and executorlib's task files), a calculation cancelled with ``scancel``, a master
submitted through pyiron's queue adapter and a master killed with SIGKILL, each resumed with
``rerun_failed()``; every result is compared with a serial run in this process.

The cluster comes from the session fixture ``slurm_cluster``, the queue configuration from
``pyiron_slurm_queue`` (tests/integration/conftest.py). Tiny 1-2 atom Be cells at GPAW level 1
(level 2 where calculations must last long enough to kill the master between them).
"""

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import services  # tests/services.py (on sys.path through tests/integration/conftest.py)

import pyiron_appmlip.jobs.labelling as labelling
from pyiron_appmlip.jobs._common import LeftoverWarning
from pyiron_appmlip.structures.conversion import as_strings, configuration_id

pytestmark = [
    pytest.mark.slurm,
    pytest.mark.slow,
    # executorlib 1.9.2 passes "partition" through to pysqa but warns that it cannot validate it
    pytest.mark.filterwarnings("ignore:The following keys are not recognized:UserWarning"),
]

#: the structures of every test: rattled_strained_cells(**CELLS)[:N_CELLS]
CELLS = {"n_structures": 12, "seed": 5, "max_atoms": 2}
N_CELLS = 8
#: seconds a master may take to end after one of its SLURM jobs was cancelled
CANCEL_GRACE = 90.0  # the master gives a lost task up after executors.LOST_TASK_GRACE_SECONDS


def _cells():
    from pyiron_appmlip.structures.candidates import rattled_strained_cells

    return list(rattled_strained_cells(**CELLS))[:N_CELLS]


@pytest.fixture(scope="module")
def reference(slurm_cluster, tmp_path_factory):
    """A project with the serial, in-process labelling ``ref`` of the eight cells at level 1."""
    from pyiron_base import state

    state.update()
    from pyiron_appmlip import Project

    pr = Project(str(tmp_path_factory.mktemp("slurm_pipeline") / "pr"))
    job = pr.create.job.AppmlipLabelling("ref")
    job.structures = _cells()
    job.input.level = 1
    job.input.progress = False
    job.input.executor = "serial"
    job.run()
    assert job.status.finished
    return pr, job


def _slurm_executor(slurm_cluster, tmp_path):
    """A ``slurm_cluster`` executor spec with a cache directory of its own. executorlib names
    every SLURM job after the cache directory, so a unique name finds this test's jobs."""
    name = f"appmlip-{uuid.uuid4().hex[:10]}"
    cache = tmp_path / name
    spec = {
        "kind": "slurm_cluster",
        "cache_directory": str(cache),
        "resource_dict": {"cores": 1, "partition": slurm_cluster.partition},
    }
    return spec, cache, name


@contextlib.contextmanager
def _cancel_leftovers(name):
    """If the block fails, cancel this test's SLURM jobs that are still there (on success they
    end by themselves; a job can still be COMPLETING when its result is back)."""
    try:
        yield
    except BaseException:
        if any(s in services.ACTIVE_JOB_STATES for s in services.squeue_by_name(name).values()):
            subprocess.run(["scancel", "--name", name], capture_output=True, timeout=20)
        raise


class _SqueueWatcher:
    """Records ``squeue`` for the jobs named ``name`` while the block runs: ``seen`` maps each
    job id to the states it was seen in.

    The polling runs in a separate process, started before the block: a thread of this process
    would fork ``squeue`` while the job writes HDF5 files, and a forked child that still holds a
    copy of a file descriptor keeps HDF5's ``flock`` on that file, so that the job's next open
    of it fails (BlockingIOError "unable to lock file").
    """

    def __init__(self, name, folder, interval=0.25):
        self.name, self.interval = name, interval
        self.file = Path(folder) / f"squeue-{name}.txt"
        self.seen: dict[int, set] = {}

    def __enter__(self):
        loop = (
            f"while true; do squeue -h -t all -n {self.name} -o '%i %T'; echo; "
            f"sleep {self.interval}; done"
        )
        self._out = open(self.file, "w")
        self._proc = subprocess.Popen(
            ["bash", "-c", loop], stdout=self._out, start_new_session=True
        )
        return self

    def __exit__(self, *exc):
        services.stop_process(self._proc, timeout=5)
        self._out.close()
        for line in self.file.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0].isdigit():
                self.seen.setdefault(int(parts[0]), set()).add(parts[1])

    def active(self) -> set:
        """Ids seen pending or running (SLURM had them while the block ran)."""
        return {j for j, states in self.seen.items() if states & {"PENDING", "RUNNING"}}


def _labels(job) -> dict:
    data = job.get_labels()
    return {
        cid: (data["energies"][k], data["energies_zero"][k], data["forces"][k], data["stress"][k])
        for k, cid in enumerate(data["ids"])
    }


def _assert_same_labels(job, ref, ids, atol=1e-10):
    got, want = _labels(job), _labels(ref)
    assert sorted(got) == sorted(ids)
    for cid in ids:
        for a, b in zip(got[cid], want[cid], strict=True):
            np.testing.assert_allclose(a, b, rtol=0, atol=atol, err_msg=cid)


def _task_configuration(task) -> str:
    """The configuration id a ``single_point_task`` in executorlib's cache was run for."""
    assert task.function == "single_point_task", task.function
    return as_strings(task.args[1]["ids"])[0]


def _assert_ran_as_slurm_jobs(tasks, cache, name, hostname, partition):
    """Each task has its own SLURM job, which slurmctld records as a completed batch job of
    this test (name, partition, node), run in the task's folder of the cache directory with a
    script that runs that task's file."""
    queue_ids = [t.queue_id for t in tasks]
    assert all(isinstance(q, int) and q > 0 for q in queue_ids), queue_ids
    assert len(set(queue_ids)) == len(tasks), queue_ids
    for task in tasks:
        info = services.final_job_info(task.queue_id)
        assert info.get("JobState") == "COMPLETED", info
        assert info["JobName"] == name and info["Partition"] == partition, info
        assert info["NodeList"] == hostname, info
        folder = Path(cache) / task.key
        assert Path(info["WorkDir"]) == folder, info
        script = Path(info["Command"])
        assert script.parent == folder and f"{task.key}_i.h5" in script.read_text()
        assert Path(info["StdOut"]).exists()  # slurmstepd wrote the job's output file
    return queue_ids


# ---- 1. calculations as SLURM jobs -----------------------------------------------------------


def test_labelling_calculations_run_as_slurm_jobs_and_equal_the_serial_run(
    reference, slurm_cluster, tmp_path
):
    pr, ref = reference
    structures = _cells()[:4]
    spec, cache, name = _slurm_executor(slurm_cluster, tmp_path)
    job = pr.create.job.AppmlipLabelling("lab_slurm")
    job.structures = structures
    job.input.level = 1
    job.input.progress = False
    job.input.executor = spec
    with _cancel_leftovers(name), _SqueueWatcher(name, tmp_path) as watch:
        job.run()
    assert job.status.finished, job.status
    assert job.output.workers == "executorlib SlurmClusterExecutor"
    ids = job.configuration_ids
    _assert_same_labels(job, ref, ids)

    # executorlib's cache: one finished task per calculation, each for another configuration,
    # returning exactly what the master stored in that configuration's child
    tasks = services.executorlib_tasks(cache)
    assert len(tasks) == len(ids) and all(t.finished for t in tasks)
    by_id = {_task_configuration(t): t for t in tasks}
    assert sorted(by_id) == sorted(ids)
    records = job.get_records()
    for cid, task in by_id.items():
        assert task.result["energy"] == records[cid].energy
        np.testing.assert_array_equal(task.result["forces"], records[cid].forces)
        assert Path(task.args[4]).parent.name == labelling.CHILD_PREFIX + cid  # its GPAW log
    queue_ids = _assert_ran_as_slurm_jobs(
        tasks, cache, name, slurm_cluster.hostname, slurm_cluster.partition
    )
    # and squeue listed every one of them as pending or running while job.run() waited
    assert set(queue_ids) <= watch.active(), (queue_ids, watch.seen)
    assert any("RUNNING" in watch.seen[q] for q in queue_ids), watch.seen


# ---- subprocess masters (tests 2 and 4) -------------------------------------------------------

_MASTER = textwrap.dedent(
    """
    import json, sys
    spec = json.loads(sys.argv[1])
    from pyiron_appmlip import Project
    from pyiron_appmlip.structures.candidates import rattled_strained_cells
    cells = list(rattled_strained_cells(**spec["cells"]))
    job = Project(spec["path"]).create.job.AppmlipLabelling(spec["name"])
    job.structures = [cells[k] for k in spec["indices"]]
    job.input.level = spec["level"]
    job.input.progress = False
    job.input.engine_options_by_id = spec["by_id"]
    job.input.executor = spec["executor"]
    job.run()
    print("STATUS", job.status.string, flush=True)
    """
)


def _start_master(tmp_path, **spec):
    """Run a labelling job in a subprocess (its own process group: SIGKILL of the group takes
    its worker processes with it); output in ``<tmp_path>/<name>.out``."""
    spec = {"cells": CELLS, "level": 1, "by_id": {}, "executor": None, **spec}
    out = open(tmp_path / f"{spec['name']}.out", "w")
    proc = subprocess.Popen(
        [sys.executable, "-c", _MASTER, json.dumps(spec)],
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    out.close()
    return proc


def _kill_group(proc):
    """SIGKILL the subprocess started by :func:`_start_master` and its workers, and reap it."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def _wait_until(predicate, timeout, what, interval=0.2):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _finished(job) -> dict:
    """``{configuration id: (child job id, energy, forces, stress, wall time)}`` of the finished
    calculations (also of a master that was killed)."""
    return {
        cid: (child_id, rec.energy, rec.forces.tobytes(), rec.stress.tobytes(), rec.wall_time)
        for cid, rec, child_id in job.finished_calculations()
    }


def _count_calculations(monkeypatch) -> list:
    """Record the configuration id of every GPAW calculation started in this process."""
    calls, real = [], labelling.run_gpaw

    def counted(atoms, *args, **kwargs):
        calls.append(configuration_id(atoms))
        return real(atoms, *args, **kwargs)

    monkeypatch.setattr(labelling, "run_gpaw", counted)
    return calls


# ---- 2. a calculation cancelled with scancel --------------------------------------------------


class CancelledTaskNeverReturns(AssertionError):
    """The master still waited for a calculation whose SLURM job had been cancelled."""


def test_scancelled_calculation_is_recorded_and_rerun_failed_computes_only_it(
    reference, slurm_cluster, tmp_path, monkeypatch
):
    pr, ref = reference
    cells = _cells()[:3]
    ids = [configuration_id(a) for a in cells]
    slow = ids[0]  # 16x16x16 k-points: about a minute instead of a fraction of a second
    spec, cache, name = _slurm_executor(slurm_cluster, tmp_path)
    log = Path(pr.path) / "lab_cancel_hdf5" / f"sp_{slow}_hdf5" / f"sp_{slow}" / "gpaw.txt"
    hung = False
    with _cancel_leftovers(name):
        proc = _start_master(
            tmp_path,
            path=pr.path,
            name="lab_cancel",
            indices=[0, 1, 2],
            by_id={slow: {"kpts": {"size": [16, 16, 16]}}},
            executor=spec,
        )
        try:

            def slow_one_running():
                jobs = services.squeue_by_name(name)
                states = sorted(jobs.values())
                if states == ["COMPLETED", "COMPLETED", "RUNNING"] and log.exists():
                    return next(j for j, s in jobs.items() if s == "RUNNING")
                assert proc.poll() is None, (tmp_path / "lab_cancel.out").read_text()[-3000:]
                return None

            # the two quick calculations are done; the slow one runs GPAW in its SLURM job
            slurm_id = _wait_until(slow_one_running, 180, "the slow calculation to run alone")
            subprocess.run(["scancel", str(slurm_id)], check=True, timeout=20)
            info = services.final_job_info(slurm_id)
            assert info["JobState"] == "CANCELLED", info
            try:
                proc.wait(timeout=CANCEL_GRACE)
            except subprocess.TimeoutExpired:
                hung = True  # a failure (raised below); the master is killed and resumed first
        finally:
            _kill_group(proc)
    output = (tmp_path / "lab_cancel.out").read_text()
    job = pr.load("lab_cancel")
    if not hung:
        assert proc.returncode == 0, output[-3000:]
        assert job.status.string == "not_converged", output[-3000:]
        assert list(job.failed) == [slow] and job.failed[slow], job.failed
    # the cancelled SLURM job was the slow configuration's task, which never returned
    tasks = {t.queue_id: t for t in services.executorlib_tasks(cache, unfinished=True)}
    assert _task_configuration(tasks[slurm_id]) == slow and not tasks[slurm_id].finished
    before = _finished(job)
    assert sorted(before) == sorted(ids[1:])

    # retry here, with the default k-points: only the cancelled configuration is computed
    calls = _count_calculations(monkeypatch)
    job.input.engine_options_by_id = {}
    job.input.executor = "local"
    with pytest.warns(LeftoverWarning, match="gone") if hung else contextlib.nullcontext():
        job.rerun_failed()  # a killed master's run lock is taken over, with a note
    job = pr.load("lab_cancel")
    assert job.status.finished, job.status
    assert calls == [slow]
    after = _finished(job)
    for cid in ids[1:]:
        assert after[cid] == before[cid]  # same child job, same result, bit for bit
    assert after[slow][0] not in {v[0] for v in before.values()}
    _assert_same_labels(job, ref, ids)
    if hung:
        raise CancelledTaskNeverReturns(
            f"the master still ran {CANCEL_GRACE:.0f} s after SLURM job {slurm_id} (configuration "
            f"{slow}) was cancelled; it was killed, and rerun_failed() then completed the job"
        )


# ---- 3. the master through pyiron's queue adapter ---------------------------------------------


def test_master_submitted_through_pyiron_queue_runs_on_slurm(reference, pyiron_slurm_queue):
    pr, ref = reference
    job = pr.create.job.AppmlipLabelling("lab_queue")
    job.structures = _cells()[4:6]
    job.input.level = 1
    job.input.progress = False
    job.server.queue = pyiron_slurm_queue
    job.server.cores = 1
    job.run()
    queue_id = job.server.queue_id
    assert isinstance(queue_id, int) and queue_id > 0
    info = services.scontrol_job(queue_id)
    assert info["JobName"] == f"pi_{job.job_id}" and info["Partition"] == "debug", info

    services.wait_for_queue_job(job, timeout=180)
    info = services.final_job_info(queue_id)
    assert info["JobState"] == "COMPLETED", info
    out = (Path(job.working_directory) / "time.out").read_text()
    assert f"SLURM_JOB_ID={queue_id}" in out

    job = pr.load("lab_queue")
    assert job.status.finished and job.server.queue_id == queue_id
    _assert_same_labels(job, ref, job.configuration_ids)
    # the calculations ran on the default local pool of the master inside the allocation: the
    # master created the children while its SLURM job ran
    assert job.output.workers.endswith(("local worker", "local workers")), job.output.workers
    children = pr.job_table(recursive=True)
    children = children[children["masterid"] == job.job_id]
    assert len(children) == 2 and set(children["status"]) == {"finished"}
    start, end = (datetime.fromisoformat(info[k]) for k in ("StartTime", "EndTime"))
    for created in children["timestart"]:
        assert start <= created.to_pydatetime().replace(microsecond=0) <= end, (created, info)


# ---- 4. the master killed with SIGKILL --------------------------------------------------------


def test_master_killed_mid_run_resumes_without_recomputing(reference, tmp_path, monkeypatch):
    pr, _ = reference
    ids = pr.load("ref").configuration_ids
    proc = _start_master(
        tmp_path, path=pr.path, name="lab_killed", level=2, indices=list(range(N_CELLS))
    )  # level 2 (about 1.3 s per calculation) on the default local pool
    child_pr = pr.open("lab_killed_hdf5")

    def some_finished():
        assert proc.poll() is None, (tmp_path / "lab_killed.out").read_text()[-3000:]
        table = child_pr.job_table()
        return len(table) and (table["status"] == "finished").sum() >= 2

    try:
        _wait_until(some_finished, 120, "two finished calculations")
    finally:
        _kill_group(proc)
    assert proc.returncode == -signal.SIGKILL
    job = pr.load("lab_killed")
    assert job.status.string == "running"  # as the killed process left it
    before = _finished(job)
    assert 2 <= len(before) < N_CELLS, before.keys()

    calls = _count_calculations(monkeypatch)
    job.input.executor = "serial"  # in this process, where the calculations are counted
    with pytest.warns(LeftoverWarning, match="gone"):
        job.rerun_failed()  # the killed process' run lock is taken over, with a note
    job = pr.load("lab_killed")
    assert job.status.finished, job.status
    assert sorted(calls) == sorted(cid for cid in ids if cid not in before)  # dearest first
    after = _finished(job)
    assert sorted(after) == sorted(ids)
    for cid, value in before.items():
        assert after[cid] == value  # same child job, same result, bit for bit


# ---- 5. sweep units as SLURM jobs -------------------------------------------------------------


def test_sweep_units_on_slurm_give_the_serial_table(reference, slurm_cluster, tmp_path):
    pd_testing = pytest.importorskip("pandas.testing")
    pr, ref = reference
    desc = pr.create.job.AppmlipDescriptors("desc_4")
    desc.structures = _cells()
    desc.input.twojmax = 4
    desc.input.executor = "serial"
    desc.input.progress = False
    desc.run()
    spec, cache, name = _slurm_executor(slurm_cluster, tmp_path)

    def sweep(label, executor):
        job = pr.create.job.AppmlipSweep(f"sweep_{label}")
        job.add_descriptors(desc)
        job.add_labels(ref)
        job.input.subset_sizes = [2, 4]
        job.input.weights = [[150.0, 1.0], [12.0, 1.0]]
        job.input.samplers = ["leverage", "block_leverage", "random"]
        job.input.repetitions = 1
        job.input.executor = executor
        job.run()
        job = pr.load(job.job_name)
        assert job.status.finished
        return job

    jobs = {"serial": sweep("serial", "serial")}
    with _cancel_leftovers(name), _SqueueWatcher(name, tmp_path) as watch:
        jobs["slurm"] = sweep("slurm", spec)
    serial, slurm = (jobs[k].get_table() for k in ("serial", "slurm"))
    assert len(serial) == 3 * 2 * 2  # samplers x sizes x weights, one level
    # the same fits in this process and in SLURM jobs: equal up to rounding
    cols = [c for c in serial.columns if not c.endswith("_job")]
    pd_testing.assert_frame_equal(serial[cols], slurm[cols], check_exact=False, rtol=1e-9, atol=0)
    errors = [c for c in cols if "rmse" in c]
    assert errors
    for c in errors:
        np.testing.assert_allclose(
            slurm[c].to_numpy(float), serial[c].to_numpy(float), rtol=1e-9, atol=0, err_msg=c
        )
    for k in range(len(serial)):
        want = jobs["serial"].get_coefficients(k)
        np.testing.assert_allclose(
            jobs["slurm"].get_coefficients(k), want, rtol=0, atol=1e-7 * np.abs(want).max()
        )

    # the three units (2Jmax 4 x three samplers) ran as three SLURM jobs
    tasks = services.executorlib_tasks(cache)
    assert len(tasks) == 3 and all(t.function == "unit_fits" and t.finished for t in tasks)
    queue_ids = _assert_ran_as_slurm_jobs(
        tasks, cache, name, slurm_cluster.hostname, slurm_cluster.partition
    )
    assert set(queue_ids) <= watch.active(), (queue_ids, watch.seen)


# ---- 6. descriptor chunks as SLURM jobs -------------------------------------------------------


def test_descriptor_chunks_run_as_slurm_jobs_and_equal_the_serial_blocks(
    project, slurm_cluster, tmp_path
):
    """A descriptors job with the same executor spec as a labelling job: every chunk of
    configurations is its own SLURM job, the blocks are stored in input order and equal those
    computed in this process."""
    from pyiron_appmlip.descriptors import compute_qsnap_blocks

    cells = _cells()[:4]
    ids = [configuration_id(a) for a in cells]
    spec, cache, name = _slurm_executor(slurm_cluster, tmp_path)
    job = project.create.job.AppmlipDescriptors("desc_slurm")
    job.structures = cells
    job.input.twojmax = 2
    job.input.chunk_size = 1
    job.input.progress = False
    job.input.executor = spec
    with _cancel_leftovers(name), _SqueueWatcher(name, tmp_path) as watch:
        job.run()
    assert job.status.finished, job.status
    assert job.output.workers == "executorlib SlurmClusterExecutor"
    assert job.configuration_ids == ids and job.get_store().ids == ids  # input order
    want = compute_qsnap_blocks(cells, 2, virial=True)  # serial, in this process
    for got, w in zip(job.get_blocks(virial=True), want, strict=True):
        assert got.shape == w.shape
        np.testing.assert_allclose(got, w, rtol=0, atol=1e-10 * np.abs(w).max())

    # one SLURM job per chunk, each for its own configuration
    tasks = services.executorlib_tasks(cache)
    assert len(tasks) == len(ids) and all(t.function == "_compute_chunk" for t in tasks)
    assert all(t.finished for t in tasks)
    assert sorted(as_strings(t.args[0]["ids"])[0] for t in tasks) == sorted(ids)
    queue_ids = _assert_ran_as_slurm_jobs(
        tasks, cache, name, slurm_cluster.hostname, slurm_cluster.partition
    )
    assert set(queue_ids) <= watch.active(), (queue_ids, watch.seen)


# ---- 7. the paper command's --workers on SLURM ------------------------------------------------


def _unit_intervals(cache) -> list[tuple[float, float]]:
    """(start, end) of every finished task's function in its SLURM job: executorlib records the
    run time in the result file, which the job renames to ``_o.h5`` when the function is done."""
    from executorlib.standalone.hdf import get_runtime

    out = []
    for path in Path(cache).rglob("*_o.h5"):
        end = path.stat().st_mtime
        out.append((end - get_runtime(str(path)), end))
    return sorted(out)


def test_paper_command_on_slurm_with_one_worker_runs_one_task_at_a_time(slurm_cluster, tmp_path):
    from pyiron_appmlip.reproduction.paper import main
    from pyiron_appmlip.reproduction.paper_standin import write_standin

    data, out = tmp_path / "data", tmp_path / "out"
    write_standin(str(data), n=40, seed=2)
    argv = ["--data", str(data), "--out", str(out), "--twojmax", "4", "--sizes", "5", "10"]
    argv += ["--repetitions", "1", "--weights", "150", "--engine", "units", "--no-figures"]
    argv += ["--executor", "slurm", "--partition", slurm_cluster.partition, "--workers", "1"]
    cache = out / "executor"
    try:
        run = main(argv)
    except BaseException:
        ids = [str(t.queue_id) for t in services.executorlib_tasks(cache, unfinished=True)]
        if ids:
            subprocess.run(["scancel", *ids], capture_output=True, timeout=20)
        raise
    tasks = services.executorlib_tasks(cache)
    functions = sorted(t.function for t in tasks)
    # the descriptor chunk and the 5 units (3 samplers, the front, the whole pool), each a job
    assert functions.count("unit_fits") == 5 and "_compute_chunk" in functions, functions
    assert all(t.finished for t in tasks) and len({t.queue_id for t in tasks}) == len(tasks)
    assert run.computed[4] == len(run.rows) > 0
    # --workers 1: the next task is submitted only once the previous result is back, so no two
    # tasks' functions ran at the same time (two CPUs would let SLURM run two jobs at once)
    spans = _unit_intervals(cache)
    assert len(spans) == len(tasks)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end, spans
