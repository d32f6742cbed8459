"""Where heavy work runs: one rule for every job and every pure function that takes ``executor=``.

Heavy steps (one DFT single point, one descriptor chunk, one sweep unit) are plain functions
submitted to a :class:`concurrent.futures.Executor`. An *executor spec* says which one:

- ``None`` or ``"local"``: a local process pool with one worker per available core, each
  worker limited to one BLAS/OpenMP thread (the default);
- a positive int ``n``: a local process pool of ``n`` workers;
- ``"serial"``: in the calling process, one task after the other;
- a dict ``{"kind": ..., **options}`` for executorlib: ``kind`` one of ``"local"``,
  ``"serial"``, ``"single_node"`` (``executorlib.SingleNodeExecutor``), ``"slurm_cluster"``
  (``SlurmClusterExecutor``: every task its own SLURM job, submitted through pysqa),
  ``"slurm_job"`` (``SlurmJobExecutor``: ``srun`` inside the current allocation) or
  ``"flux_job"`` (``FluxJobExecutor``). The other keys are passed to the executorlib class
  (``max_workers``, ``cache_directory``, ``resource_dict`` with e.g. ``cores``,
  ``run_time_max``, ``partition``; see executorlib's documentation). For the local pool:
  ``max_workers``.
- an :class:`~concurrent.futures.Executor` instance: used as it is, and left open (its owner
  shuts it down). Jobs cannot store an instance in HDF5: assign it to ``job.executor`` before
  ``job.run()``.

Jobs hold a storable spec in ``job.input.executor``. Results never depend on the executor: the
same functions run with the same arguments, and results are put back in the order of the input.
"""

from __future__ import annotations

import concurrent.futures
import os
from collections.abc import Iterator, Mapping
from concurrent.futures import Executor, Future
from contextlib import contextmanager

__all__ = [
    "EXECUTOR_KINDS",
    "SerialExecutor",
    "available_cores",
    "check_executor",
    "describe_executor",
    "open_executor",
    "run_tasks",
]

EXECUTOR_KINDS = ("local", "serial", "single_node", "slurm_cluster", "slurm_job", "flux_job")
_EXECUTORLIB = {
    "single_node": "SingleNodeExecutor",
    "slurm_cluster": "SlurmClusterExecutor",
    "slurm_job": "SlurmJobExecutor",
    "flux_job": "FluxJobExecutor",
}
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def available_cores() -> int:
    """Cores this process may use (its CPU affinity where the system reports it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class SerialExecutor(Executor):
    """Runs each task at submission, in the calling process (no parallelism, no pickling)."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        kwargs.pop("resource_dict", None)
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(err)
        return future


def _one_thread_per_worker() -> None:
    for name in _THREAD_VARIABLES:
        os.environ[name] = "1"
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pass


class _LocalPool(concurrent.futures.ProcessPoolExecutor):
    """A process pool (spawned workers, one BLAS thread each) that ignores ``resource_dict``."""

    def __init__(self, max_workers: int):
        import multiprocessing

        super().__init__(
            max_workers=max_workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_one_thread_per_worker,
        )

    def submit(self, fn, /, *args, **kwargs):
        kwargs.pop("resource_dict", None)
        return super().submit(fn, *args, **kwargs)


def _normalise(spec) -> dict | Executor:
    if isinstance(spec, Executor):
        return spec
    if spec is None or spec == "local":
        return {"kind": "local"}
    if spec == "serial":
        return {"kind": "serial"}
    if isinstance(spec, int) and not isinstance(spec, bool):
        if spec < 1:
            raise ValueError(f"executor as a number of local workers must be >= 1, got {spec}")
        return {"kind": "local", "max_workers": int(spec)}
    if hasattr(spec, "to_builtin"):
        spec = spec.to_builtin()
    if isinstance(spec, Mapping):
        spec = dict(spec)
        kind = spec.get("kind")
        if kind not in EXECUTOR_KINDS:
            raise ValueError(
                f"executor kind must be one of {list(EXECUTOR_KINDS)}, got {kind!r} "
                f"(executor={spec!r})"
            )
        workers = spec.get("max_workers")
        if workers is not None and (
            isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
        ):
            raise ValueError(f"executor max_workers must be a positive integer, got {workers!r}")
        if kind in ("local", "serial"):
            extra = sorted(set(spec) - {"kind", "max_workers", "resource_dict"})
            if extra:
                raise ValueError(
                    f"executor options {extra} do not apply to kind {kind!r}; allowed: max_workers"
                )
        return spec
    raise ValueError(
        "executor must be None or 'local' (all local cores), a number of local workers, "
        "'serial', a dict {'kind': one of "
        f"{list(EXECUTOR_KINDS)}, ...}} or a concurrent.futures.Executor, got {spec!r}"
    )


def check_executor(spec) -> None:
    """Raise a ValueError naming what is wrong with an executor spec (see the module docs)."""
    _normalise(spec)


def describe_executor(spec, n_tasks: int | None = None) -> str:
    """A short description for logs, e.g. ``"2 local workers"``."""
    spec = _normalise(spec)
    if isinstance(spec, Executor):
        return type(spec).__name__
    if spec["kind"] == "serial":
        return "1 worker (serial, in this process)"
    if spec["kind"] == "local":
        n = _local_workers(spec, n_tasks)
        return f"{n} local worker{'s' if n != 1 else ''}"
    workers = spec.get("max_workers")
    return f"executorlib {_EXECUTORLIB[spec['kind']]}" + (
        f" ({workers} workers)" if workers else ""
    )


def _local_workers(spec: dict, n_tasks: int | None) -> int:
    n = spec.get("max_workers") or available_cores()
    if n_tasks is not None:
        n = min(n, max(1, n_tasks))
    return int(n)


@contextmanager
def open_executor(spec, n_tasks: int | None = None) -> Iterator[Executor]:
    """The executor of ``spec``, shut down on exit unless it was passed in as an instance.

    Args:
        spec: an executor spec (see the module docstring).
        n_tasks: number of tasks about to be submitted; a local pool starts no more workers.

    Yields:
        A :class:`concurrent.futures.Executor`.
    """
    spec = _normalise(spec)
    if isinstance(spec, Executor):
        yield spec
        return
    kind = spec["kind"]
    if kind == "serial" or (kind == "local" and _local_workers(spec, n_tasks) == 1):
        yield SerialExecutor()
        return
    if kind == "local":
        executor: Executor = _LocalPool(_local_workers(spec, n_tasks))
    else:
        import executorlib

        options = {k: v for k, v in spec.items() if k != "kind"}
        executor = getattr(executorlib, _EXECUTORLIB[kind])(**options)
    try:
        yield executor
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def run_tasks(spec, fn, tasks: Mapping, return_exceptions: bool = False) -> Iterator[tuple]:
    """Run ``fn(*args)`` for every ``key: args`` of ``tasks``; yield ``(key, result)`` as each
    task completes.

    With the serial executor each task runs when the previous one has been handed back, so a
    caller that stores every result as it arrives loses at most the running task on an
    interruption, whatever the executor. An exception of a task is raised here, and the tasks
    not yet started are cancelled.

    Args:
        spec: an executor spec (see the module docstring).
        fn: a plain, picklable function.
        tasks: ``{key: tuple of arguments}``.
        return_exceptions: yield a task's exception as its result (e.g. a calculation cancelled
            on the cluster) instead of raising it.

    Yields:
        ``(key, result)`` pairs in order of completion (submission order when serial).
    """
    with open_executor(spec, n_tasks=len(tasks)) as executor:
        if isinstance(executor, SerialExecutor):
            for key, args in tasks.items():
                try:
                    result = fn(*args)
                except Exception as err:
                    if not return_exceptions:
                        raise
                    result = err
                yield key, result
            return
        futures = {executor.submit(fn, *args): key for key, args in tasks.items()}
        for future in concurrent.futures.as_completed(futures):
            try:
                result = future.result()
            except Exception as err:
                if not return_exceptions:
                    raise
                result = err
            yield futures[future], result
