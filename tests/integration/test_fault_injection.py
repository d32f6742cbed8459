"""Fault injection: the labelling, descriptors and sweep jobs killed with SIGKILL at many seeded
random moments, resumed each time, end with exactly the results of an uninterrupted run; nothing
is stuck, and nothing that had finished before a kill is computed again."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

pytestmark = pytest.mark.slow

_STAGE = textwrap.dedent(
    """
    import atexit, json, os, signal, sys
    stage, path, log, die_at = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    import h5py
    import pyiron_appmlip.jobs.labelling as labelling
    import pyiron_appmlip.training.sweep as sweep
    from pyiron_appmlip import Project
    from pyiron_appmlip.structures.candidates import rattled_strained_cells

    def note(kind, key):
        with open(log, "a") as fh:
            fh.write(json.dumps([kind, key]) + "\\n")
            fh.flush()

    real_gpaw, real_fits = labelling.run_gpaw, sweep.unit_fits

    def logged_gpaw(atoms, *args, **kwargs):
        from pyiron_appmlip.structures.conversion import configuration_id
        note("dft", configuration_id(atoms))
        return real_gpaw(atoms, *args, **kwargs)

    def logged_fits(unit):
        note("unit", [len(unit.ordered_ids), unit.ordered_ids[0]])
        return real_fits(unit)

    labelling.run_gpaw, sweep.unit_fits = logged_gpaw, logged_fits

    # count HDF5 and unit-file writes; with die_at > 0 the process kills itself at that write
    writes = [0]

    def counted(fn):
        def wrapper(*args, **kwargs):
            writes[0] += 1
            if writes[0] == die_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return fn(*args, **kwargs)
        return wrapper

    h5py.Group.create_dataset = counted(h5py.Group.create_dataset)
    h5py.Dataset.__setitem__ = counted(h5py.Dataset.__setitem__)
    os.replace = counted(os.replace)
    atexit.register(lambda: note("writes", writes[0]))
    pr = Project(path)
    structures = list(rattled_strained_cells(8, seed=4, max_atoms=2))
    if stage == "labelling":
        if pr.get_job_id("lab") is None:
            job = pr.create.job.AppmlipLabelling("lab")
            job.structures = structures
            job.input.level = 1
            job.input.progress = False
            job.input.executor = "serial"
            job.run()
        else:
            pr.load("lab").rerun_failed()
    elif stage == "descriptors":
        if pr.get_job_id("desc") is None:
            job = pr.create.job.AppmlipDescriptors("desc")
            job.structures = structures * 1
            job.input.twojmax = 6
            job.input.chunk_size = 1
            job.input.executor = "serial"
            job.input.progress = False
            job.run()
        else:
            pr.load("desc").resume()
    else:
        if pr.get_job_id("sweep") is None:
            job = pr.create.job.AppmlipSweep("sweep")
            job.add_descriptors(pr.load("desc"))
            job.add_labels(pr.load("lab"))
            job.input.subset_sizes = [2, 3, 4]
            job.input.samplers = ["leverage", "block_leverage", "random"]
            job.input.repetitions = 3
            job.input.executor = "serial"
            job.run()
        else:
            pr.load("sweep").resume()
    """
)


def _run(stage, path, log, kill_after=None, die_at=-1):
    """Run ``stage`` in a subprocess; it is killed with SIGKILL after ``kill_after`` seconds, or
    kills itself at its ``die_at``-th write.

    Returns True if the stage completed (it was not killed first).
    """
    proc = subprocess.Popen(
        [sys.executable, "-c", _STAGE, stage, path, log, str(die_at)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, err = proc.communicate(timeout=kill_after)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        return False
    if proc.returncode == -signal.SIGKILL:
        return False
    assert proc.returncode == 0, err[-3000:]
    return True


def _events(log, kind):
    if not os.path.exists(log):
        return []
    with open(log) as fh:
        return [json.loads(line)[1] for line in fh if line.strip() and json.loads(line)[0] == kind]


def _finished_children(pr):
    table = pr.job_table()
    done = table[(table.status == "finished") & table.job.str.startswith("sp_")]
    return {name[len("sp_") :] for name in done.job}


def _killed_until_done(pr, stage, log, rng, seconds, writes, n_kills, after_kill):
    """Kill ``stage`` ``n_kills`` times (alternately at a random time within its clean duration
    and at a random write of its clean run), then let it finish; return the number of kills.

    A resumed run reuses what was stored before the kill, so less work is left after every kill:
    both windows shrink by a factor 0.8 per pair of kills, so that the kills keep landing while
    the stage still runs (a run that finishes first ends the stage's kills)."""
    kills = 0
    for k in range(n_kills):
        shrink = 0.8 ** (k // 2)
        if k % 2:
            last = max(2, int(writes * shrink) // 2)
            done = _run(stage, pr.path, log, die_at=int(rng.integers(1, last)))
        else:
            done = _run(
                stage, pr.path, log, kill_after=float(rng.uniform(0.3, 0.9) * seconds * shrink)
            )
        if done:
            return kills
        kills += 1
        after_kill()
    assert _run(stage, pr.path, log)
    return kills


def test_killed_at_random_moments_resumed_equals_an_uninterrupted_run(tmp_path_factory):
    from pyiron_base import state

    state.update()
    from pyiron_appmlip import Project

    clean = Project(str(tmp_path_factory.mktemp("clean") / "pr"))
    clean_log = str(tmp_path_factory.mktemp("log") / "clean.log")
    seconds, writes = {}, {}
    for stage in ("labelling", "descriptors", "sweep"):
        t0 = time.perf_counter()
        assert _run(stage, clean.path, clean_log)
        seconds[stage] = time.perf_counter() - t0
        writes[stage] = _events(clean_log, "writes")[-1]

    pr = Project(str(tmp_path_factory.mktemp("killed") / "pr"))
    log = str(tmp_path_factory.mktemp("log") / "killed.log")
    rng = np.random.default_rng(2026)
    total_kills = 0

    # labelling: a configuration finished (stored as finished) before a kill is never computed
    # again after it
    kills = []

    def after_kill_labelling():
        kills.append((len(_events(log, "dft")), _finished_children(pr)))

    total_kills += _killed_until_done(
        pr,
        "labelling",
        log,
        rng,
        seconds["labelling"],
        writes["labelling"],
        10,
        after_kill_labelling,
    )
    dft = _events(log, "dft")
    for n_before, finished in kills:
        assert not set(dft[n_before:]) & finished, (n_before, finished)
    assert pr.load("lab").status.finished
    assert len(dft) >= 8
    # descriptors: committed configurations are reused, the store ends equal to the clean run's
    # (computed in other processes: up to rounding)
    total_kills += _killed_until_done(
        pr, "descriptors", log, rng, seconds["descriptors"], writes["descriptors"], 12, lambda: None
    )
    desc = pr.load("desc")
    assert desc.status.finished
    clean_desc = clean.load("desc")
    assert clean_desc.configuration_ids == desc.configuration_ids
    for a, b in zip(clean_desc.get_blocks(), desc.get_blocks(), strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-12 * np.abs(a).max())
    # sweep: units written before a kill are reused
    total_kills += _killed_until_done(
        pr, "sweep", log, rng, seconds["sweep"], writes["sweep"], 12, lambda: None
    )
    print(f"{total_kills} SIGKILLs")
    assert total_kills >= 20
    sweep = pr.load("sweep")
    assert sweep.status.finished
    a, b = clean.load("sweep").get_table(), sweep.get_table()
    assert len(a) == len(b) == 3 * 3 * 3 * 2  # samplers x repetitions x sizes x weights
    keys = ["twojmax", "sampler", "repetition", "subset_size", "energy_weight", "train_level"]
    assert a[keys].astype(str).values.tolist() == b[keys].astype(str).values.tolist()
    # every error equal up to rounding: both runs fit the same labels in other processes (the
    # DFT wall times of the training sets naturally differ between runs)
    errors = [c for c in a.columns if "_rmse_" in c]
    np.testing.assert_allclose(
        b[errors].to_numpy(float), a[errors].to_numpy(float), rtol=1e-7, atol=1e-9
    )
    lab_clean, lab = clean.load("lab").get_labels(), pr.load("lab").get_labels()
    assert lab_clean["ids"] == lab["ids"]
    np.testing.assert_allclose(lab_clean["energies"], lab["energies"], rtol=0, atol=1e-10)
    units = _events(log, "unit")
    assert len(units) >= 9  # 3 samplers x 3 repetitions at least once
    # nothing stuck: no job left running or half-saved
    table = pr.job_table()
    assert set(table.status) <= {"finished"}, table[["job", "status"]]
