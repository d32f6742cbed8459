"""Executor specs: validation, the serial and local paths, and results in input order."""

import json
import multiprocessing
import os
import subprocess
import sys
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
