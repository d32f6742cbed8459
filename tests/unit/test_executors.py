"""Executor specs: validation, the serial and local paths, and results in input order."""

import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from pyiron_appmlip.executors import (
    SerialExecutor,
    available_cores,
    check_executor,
    describe_executor,
    open_executor,
    run_tasks,
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
