"""Executor specs: validation, the serial and local paths, results in input order, the bound
on tasks in flight and the modules a local pool's workers import at start."""

import json
import multiprocessing
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from pyiron_appmlip.executors import (
    SerialExecutor,
    available_cores,
    check_executor,
    describe_executor,
    open_executor,
    run_tasks,
    script_free_context,
    worker_count,
)


def _square_and_threads(x):
    return x * x, os.environ.get("OPENBLAS_NUM_THREADS"), os.getpid()


def test_specs_are_checked_with_the_allowed_values():
    for good in (
        None,
        "local",
        "serial",
        1,
        3,
        {"kind": "local", "max_workers": 2},
        {"kind": "slurm_cluster", "resource_dict": {"cores": 1}},
        SerialExecutor(),
    ):
        check_executor(good)
    for bad, match in (
        ("slurm", "executor must be None or 'local'"),
        (0, ">= 1"),
        (True, "executor must be None"),
        ({"kind": "pbs"}, r"kind must be one of \['local', 'serial', 'single_node'"),
        ({"kind": "local", "max_workers": 0}, "max_workers must be a positive integer"),
        ({"kind": "local", "cache_directory": "x"}, r"options \['cache_directory'\] do not apply"),
    ):
        with pytest.raises(ValueError, match=match):
            check_executor(bad)
    assert describe_executor(None) == f"{available_cores()} local worker" + (
        "s" if available_cores() != 1 else ""
    )
    assert describe_executor(4, n_tasks=2) == "2 local workers"
    assert describe_executor("serial").startswith("1 worker")


def test_serial_runs_lazily_in_order_and_a_local_pool_uses_one_blas_thread():
    seen = []

    def record(x):
        seen.append(x)
        return x

    results = run_tasks("serial", record, {k: (k,) for k in range(3)})
    assert next(results) == (0, 0) and seen == [0]  # the next task waits for the caller
    assert list(results) == [(1, 1), (2, 2)]
    out = dict(run_tasks(2, _square_and_threads, {k: (k,) for k in range(6)}))
    assert sorted(out) == list(range(6)) and all(out[k][0] == k * k for k in out)
    assert {v[1] for v in out.values()} == {"1"}
    assert os.getpid() not in {v[2] for v in out.values()}  # really other processes
    with ThreadPoolExecutor(2) as mine:  # a running executor is used and left open
        with open_executor(mine) as ex:
            assert ex is mine
        assert mine.submit(int, "3").result() == 3


def _modules_seen_by_worker(k, names):
    """In a worker: which of ``names`` were imported before this task ran, and the pid."""
    return k, [n for n in names if n in sys.modules], os.getpid()


def test_workers_of_a_local_pool_import_the_preload_once_at_start():
    probe = "pyiron_appmlip.descriptors.lammps_snap"
    tasks = {k: (k, [probe]) for k in range(4)}
    plain = dict(run_tasks(2, _modules_seen_by_worker, tasks))
    # without preload a fresh worker has not imported the descriptor backend
    assert all(seen == [] for _, seen, _ in plain.values()), plain
    loaded = dict(run_tasks(2, _modules_seen_by_worker, tasks, preload=[probe]))
    assert sorted(loaded) == list(range(4))
    assert all(seen == [probe] for _, seen, _ in loaded.values()), loaded
    assert os.getpid() not in {pid for *_, pid in loaded.values()}  # really other processes
    from pyiron_appmlip.descriptors.compute import PRELOAD

    assert PRELOAD == (probe,)  # what a descriptors job's local pool preloads


def _fake_gated_task(k, gate, log, task_3_opens):
    """A fake task: task 0 waits for ``gate``, which task 3 opens when it finishes (if
    ``task_3_opens``; else the test opens it). No timing involved."""
    if k == 0:
        assert gate.wait(60), "the gate was never opened"
    log.append(k)
    if k == 3 and task_3_opens:
        gate.set()
    return k * k


def test_ordered_results_come_in_input_order_although_they_complete_out_of_order():
    # unordered: task 0 is released only once task 3 was handed back, so 3 comes first
    log, gate, got = [], threading.Event(), []
    tasks = {k: (k, gate, log, False) for k in range(5)}
    with ThreadPoolExecutor(5) as pool:
        for k, _ in run_tasks(pool, _fake_gated_task, tasks):
            got.append(k)
            if k == 3:
                gate.set()
    assert got.index(3) < got.index(0)
    # ordered: task 0 again completes after task 3, but the results come in input order
    log, gate = [], threading.Event()
    tasks = {k: (k, gate, log, True) for k in range(5)}
    with ThreadPoolExecutor(5) as pool:
        ordered = list(run_tasks(pool, _fake_gated_task, tasks, ordered=True))
    assert log.index(3) < log.index(0)
    assert ordered == [(k, k * k) for k in range(5)]
    # the same on the serial executor and on a local process pool, compared with a plain loop
    want = [(k, k**2) for k in range(7)]
    for spec in ("serial", 2):
        got = list(run_tasks(spec, pow, ((k, (k, 2)) for k in range(7)), n_tasks=7, ordered=True))
        assert got == want, spec


def _fake_slow_task(k, delay):
    """A fake slow task: sleeps ``delay`` seconds (only to keep tasks busy), returns ``k``."""
    import time

    time.sleep(delay)
    return k


@pytest.mark.parametrize("ordered", [True, False])
def test_tasks_in_flight_never_exceed_max_in_flight(ordered):
    bound, n = 3, 12
    received, in_flight = [], []

    def tasks():
        for k in range(n):
            # tasks handed over so far (this one included) minus results handed back
            in_flight.append(k + 1 - len(received))
            yield k, (k, 0.05 if k % 4 == 0 else 0.001)

    with ThreadPoolExecutor(8) as pool:  # more threads than the bound: only it limits
        for k, result in run_tasks(
            pool, _fake_slow_task, tasks(), ordered=ordered, max_in_flight=bound
        ):
            assert k == result
            received.append(k)
    assert sorted(received) == list(range(n))
    if ordered:
        assert received == list(range(n))
    assert max(in_flight) == bound  # reached (the first three go out before any result) ...
    assert len(in_flight) == n  # ... and never exceeded, with every task submitted


class FakeSlurmClusterExecutor(ThreadPoolExecutor):
    """A fake of executorlib's SlurmClusterExecutor: 8 threads instead of SLURM jobs; records
    the options it was given."""

    options: list = []

    def __init__(self, **options):
        FakeSlurmClusterExecutor.options.append(options)
        super().__init__(8)


def test_max_workers_of_a_slurm_cluster_spec_bounds_the_tasks_submitted(monkeypatch, tmp_path):
    import executorlib

    monkeypatch.setattr(executorlib, "SlurmClusterExecutor", FakeSlurmClusterExecutor)
    FakeSlurmClusterExecutor.options = []
    n = 10
    for workers, max_in_flight, want in ((2, None, 2), (3, 2, 2), (None, None, n)):
        spec = {"kind": "slurm_cluster", "cache_directory": str(tmp_path / "cache")}
        if workers is not None:
            spec["max_workers"] = workers
        received, in_flight = [], []

        def tasks(received=received, in_flight=in_flight):
            for k in range(n):
                in_flight.append(k + 1 - len(received))
                yield k, (k, 0.02)

        for k, result in run_tasks(spec, _fake_slow_task, tasks(), max_in_flight=max_in_flight):
            assert k == result
            received.append(k)
        assert sorted(received) == list(range(n))
        assert max(in_flight) == want, (workers, max_in_flight)
        # executorlib's file-based SLURM executor refuses max_workers: it is never passed on
        assert "max_workers" not in FakeSlurmClusterExecutor.options[-1]
        assert FakeSlurmClusterExecutor.options[-1]["cache_directory"] == spec["cache_directory"]
    assert worker_count({"kind": "slurm_cluster", "max_workers": 2}) == 2
    assert describe_executor({"kind": "slurm_cluster", "max_workers": 2}).endswith("(2 workers)")


def _fake_failing_task(k, gate, finished):
    """A fake task: task 2 fails at once, task 0 waits until the test releases it."""
    if k == 2:
        raise ValueError("fake failure of task 2")
    if k == 0:
        gate.wait(60)
    finished.append(k)
    return k


def test_ordered_run_raises_a_later_tasks_error_before_the_earlier_ones_finish():
    gate, finished = threading.Event(), []
    tasks = {k: (k, gate, finished) for k in range(4)}
    with ThreadPoolExecutor(4) as pool:
        try:
            with pytest.raises(ValueError, match="fake failure of task 2"):
                list(run_tasks(pool, _fake_failing_task, tasks, ordered=True))
            assert 0 not in finished  # raised while task 0 was still running
        finally:
            gate.set()


def test_worker_count_and_bad_bounds_and_preloads_are_named():
    assert worker_count(None) == available_cores()
    assert worker_count(4, n_tasks=2) == 2 and worker_count("serial") == 1
    assert worker_count({"kind": "single_node", "max_workers": 3}) == 3
    assert worker_count({"kind": "slurm_cluster"}) is None
    with ThreadPoolExecutor(5) as pool:
        assert worker_count(pool) == 5
    assert worker_count(SerialExecutor()) == 1
    for bad in (0, -1, 1.5, True, "3"):
        with pytest.raises(ValueError, match="max_in_flight must be a positive integer"):
            list(run_tasks("serial", int, {0: ("1",)}, max_in_flight=bad))
    for bad in ([1], 5, [""]):
        with pytest.raises(ValueError, match="preload must be a sequence of module names"):
            list(run_tasks("serial", int, {0: ("1",)}, preload=bad))
        with pytest.raises(ValueError, match="preload must be a sequence of module names"):
            with open_executor(2, preload=bad):
                pass


# -- workers that do not run the calling script ------------------------------------------------

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_PROBE = '''
import os
import sys


def worker_state(k):
    """Which files a worker process has imported as its main module."""
    mains = [sys.modules["__main__"], sys.modules.get("__mp_main__")]
    return {
        "k": k,
        "pid": os.getpid(),
        "main_files": [getattr(m, "__file__", None) for m in mains],
    }
'''

# No main guard: every run of the body appends a line to body_runs.txt.
_PLAIN = """
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor

with open("body_runs.txt", "a") as fh:
    fh.write(f"{os.getpid()} {__name__}\\n")

import probe
from pyiron_appmlip.executors import script_free_context

with ProcessPoolExecutor(2, mp_context=script_free_context(sys.argv[1])) as pool:
    states = list(pool.map(probe.worker_state, range(6)))
print("STATES " + json.dumps({"parent": os.getpid(), "states": states}))
"""

# With the main guard, a task function and an argument defined in the script itself
_GUARDED = """
import json
import os
import sys

with open("body_runs.txt", "a") as fh:
    fh.write(f"{os.getpid()} {__name__}\\n")

from pyiron_appmlip.executors import run_tasks


class Cell:
    def __init__(self, n):
        self.n = n


def double_and_module_name(cell):
    return cell.n * 2, __name__


if __name__ == "__main__":
    out = dict(run_tasks(2, double_and_module_name, {k: (Cell(k),) for k in range(4)}))
    print("OUT " + json.dumps(sorted(out.items())))
"""


def _run_script(folder, text, *args):
    (folder / "probe.py").write_text(_PROBE)
    (folder / "script.py").write_text(text)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([_REPO, *filter(None, [env.get("PYTHONPATH")])])
    proc = subprocess.run(
        [sys.executable, "script.py", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    runs = [line.split() for line in (folder / "body_runs.txt").read_text().splitlines()]
    return proc.stdout, runs


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_workers_of_the_script_free_context_never_import_a_plain_script(tmp_path, method):
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} start method here")
    stdout, runs = _run_script(tmp_path, _PLAIN, method)
    (line,) = [ln for ln in stdout.splitlines() if ln.startswith("STATES ")]
    out = json.loads(line[len("STATES ") :])
    assert [int(pid) for pid, _ in runs] == [out["parent"]]  # the body ran once, in the parent
    states = out["states"]
    assert [s["k"] for s in states] == list(range(6))
    assert out["parent"] not in {s["pid"] for s in states}  # really other processes
    for s in states:
        assert s["main_files"] == [None, None]


def test_a_guarded_script_may_still_hand_its_own_functions_and_classes_to_workers(tmp_path):
    stdout, runs = _run_script(tmp_path, _GUARDED)
    out = json.loads(stdout.split("OUT ", 1)[1])
    assert out == [[k, [2 * k, "__mp_main__"]] for k in range(4)]
    names = [name for _, name in runs]
    # the script was imported (guarded) only by the workers that needed its function
    assert names[0] == "__main__" and 2 <= len(names) <= 3
    assert set(names[1:]) == {"__mp_main__"}


def test_preparation_data_loses_the_main_script_only_while_launching_in_this_thread():
    import threading
    from multiprocessing import spawn

    from pyiron_appmlip import executors

    executors._wrap_preparation_data()
    wrapped = spawn.get_preparation_data
    executors._wrap_preparation_data()  # wrapped once only
    assert spawn.get_preparation_data is wrapped
    keys = set(executors._MAIN_KEYS)
    normal = spawn.get_preparation_data("p")
    if not keys & set(normal):
        pytest.skip("this test process has no main module a child would import")
    seen = {}

    def elsewhere():
        seen["data"] = spawn.get_preparation_data("p")

    executors._launching.script_free = True
    try:
        hidden = spawn.get_preparation_data("p")
        other = threading.Thread(target=elsewhere)
        other.start()
        other.join()
    finally:
        executors._launching.script_free = False
    assert hidden == {k: v for k, v in normal.items() if k not in keys}
    assert seen["data"] == normal  # another thread launches as always
    assert spawn.get_preparation_data("p") == normal


@pytest.mark.parametrize("method", ["fork", "Spawn", None])
def test_script_free_context_names_the_allowed_methods(method):
    with pytest.raises(ValueError, match=r"method must be one of \['forkserver', 'spawn'\]"):
        script_free_context(method)


def test_slurm_watch_hashes_a_task_only_when_the_queue_is_checked(monkeypatch):
    """Plumbing: the task key (a hash of the pickled arguments) is computed lazily, once, and
    equals executorlib's own; a handed-back task is forgotten."""
    import executorlib.standalone.serialize as serialize

    from pyiron_appmlip.executors import _SlurmWatch

    calls = []
    real = serialize.serialize_funct

    def counting(**kwargs):
        calls.append(kwargs["fn_args"])
        return real(**kwargs)

    monkeypatch.setattr(serialize, "serialize_funct", counting)
    watch = _SlurmWatch({"cache_directory": "unused"}, sum)
    watch.add("a", ([1, 2],))
    watch.add("b", ([3],))
    assert calls == []  # submitting hashes nothing
    key = watch.task_key("a")
    assert key == real(fn=sum, fn_args=[[1, 2]], fn_kwargs={})[0]
    assert watch.task_key("a") == key and len(calls) == 1
    watch.forget("a")
    watch.forget("b")
    assert not watch.args and not watch.task_keys


def _started_then_sleeps(path, seconds):
    """Writes its pid to ``path``, then sleeps (a task that runs long)."""
    import time

    with open(path, "w") as fh:
        fh.write(str(os.getpid()))
    time.sleep(seconds)
    return "finished"


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (an ended worker is reaped by the pool's join)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_an_error_in_the_caller_ends_a_local_pools_running_tasks_at_once(tmp_path):
    """Ctrl-C (KeyboardInterrupt) while a local pool runs a 120 s task: leaving the block takes
    seconds, not the task's 120 s, and the worker that ran it is gone."""
    import time

    marker = tmp_path / "pid"
    with pytest.raises(KeyboardInterrupt):
        with open_executor({"kind": "local", "max_workers": 2}) as executor:
            future = executor.submit(_started_then_sleeps, str(marker), 120)
            deadline = time.monotonic() + 60
            while not marker.exists() or not marker.read_text():
                assert time.monotonic() < deadline, "the task never started"
                time.sleep(0.05)
            start = time.monotonic()
            raise KeyboardInterrupt
    assert time.monotonic() - start < 30
    assert not _alive(int(marker.read_text()))
    assert future.done()  # broken off, not finished
