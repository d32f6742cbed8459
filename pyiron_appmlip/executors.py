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

The local pools (and the descriptor jobs' own pool) start their workers with
:func:`script_free_context`: a worker never runs the script that started it, so a plain script
without an ``if __name__ == "__main__":`` guard runs its body once, however many workers it
starts. Only a task that needs a function or class defined in the script itself makes its worker
import the script, as ``multiprocessing`` always does; such a script needs the guard.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import multiprocessing.context
import os
import sys
import threading
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
    "script_free_context",
    "LostTaskError",
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


# -- worker processes that do not run the calling script -----------------------------------------
#
# A process started by "spawn" or "forkserver" receives the parent's "preparation data" first;
# its keys ``init_main_from_path`` / ``init_main_from_name`` make the child run the parent's main
# script (as ``__mp_main__``) before it does anything else. The processes below are launched with
# those keys left out: multiprocessing.spawn.get_preparation_data is wrapped once, and the wrapper
# drops them only while this thread launches one of these processes (a thread-local switch), so
# every other process of the program is started exactly as before. The parent's __main__ module
# is never touched. The child gets the left-out keys with the process object and imports the
# script only when something it unpickles names a function or class of the script.

_MAIN_KEYS = ("init_main_from_name", "init_main_from_path")
_launching = threading.local()
_wrap_lock = threading.Lock()


def _wrap_preparation_data() -> None:
    from multiprocessing import spawn

    with _wrap_lock:
        original = spawn.get_preparation_data
        if getattr(original, "_appmlip_script_free", False):
            return

        def get_preparation_data(name):
            data = original(name)
            if getattr(_launching, "script_free", False):
                for key in _MAIN_KEYS:
                    data.pop(key, None)
            return data

        get_preparation_data.__wrapped__ = original
        get_preparation_data.__doc__ = original.__doc__
        get_preparation_data._appmlip_script_free = True
        spawn.get_preparation_data = get_preparation_data


def _main_script() -> dict:
    """How a standard child would import this process' main script (the preparation keys)."""
    from multiprocessing import spawn

    data = spawn.get_preparation_data("main")
    return {key: data[key] for key in _MAIN_KEYS if key in data}


def _launch_script_free(process, launch):
    """Start ``process`` with ``launch`` without the main script in its preparation data."""
    _wrap_preparation_data()
    process._appmlip_main_script = _main_script()
    before = getattr(_launching, "script_free", False)
    _launching.script_free = True
    try:
        return launch(process)
    finally:
        _launching.script_free = before


def _import_script_on_demand(script: dict | None) -> None:
    """In a child: give ``__main__`` a module ``__getattr__`` that imports the parent's script
    (as ``multiprocessing`` would have done at start-up) the first time a name is missing."""
    if not script:
        return
    placeholder = sys.modules["__main__"]
    loading = []

    def __getattr__(name):
        if (name.startswith("__") and name.endswith("__")) or loading:
            raise AttributeError(name)
        from multiprocessing import process, spawn

        loading.append(name)
        current = process.current_process()
        # as while a child starts: a script without the main guard that starts processes stops
        # with multiprocessing's error naming the guard instead of starting more
        current._inheriting = True
        try:
            spawn.prepare(dict(script))
        finally:
            del current._inheriting
        module = sys.modules["__main__"]
        if module is placeholder:  # e.g. a package's __main__.py, never re-run by a child
            raise AttributeError(f"module '__main__' has no attribute {name!r}")
        return getattr(module, name)

    placeholder.__getattr__ = __getattr__


class _ScriptFreeSpawnProcess(multiprocessing.context.SpawnProcess):
    @staticmethod
    def _Popen(process_obj):
        return _launch_script_free(process_obj, multiprocessing.context.SpawnProcess._Popen)

    def _after_fork(self):
        _import_script_on_demand(getattr(self, "_appmlip_main_script", None))


class _ScriptFreeSpawnContext(multiprocessing.context.SpawnContext):
    Process = _ScriptFreeSpawnProcess


_CONTEXTS = {"spawn": _ScriptFreeSpawnContext}

if hasattr(multiprocessing.context, "ForkServerProcess"):  # not on Windows

    class _ScriptFreeForkServerProcess(multiprocessing.context.ForkServerProcess):
        @staticmethod
        def _Popen(process_obj):
            return _launch_script_free(
                process_obj, multiprocessing.context.ForkServerProcess._Popen
            )

        def _after_fork(self):
            super()._after_fork()
            _import_script_on_demand(getattr(self, "_appmlip_main_script", None))

    class _ScriptFreeForkServerContext(multiprocessing.context.ForkServerContext):
        Process = _ScriptFreeForkServerProcess

    _CONTEXTS["forkserver"] = _ScriptFreeForkServerContext


def script_free_context(method: str = "spawn") -> multiprocessing.context.BaseContext:
    """A ``multiprocessing`` context whose processes do not run the script that started them.

    With the standard ``"spawn"`` and ``"forkserver"`` start methods every new process first runs
    the main script (as ``__mp_main__``), so that a script without an
    ``if __name__ == "__main__":`` guard runs its whole body again in every worker. Processes of
    this context skip that; they import the script only if a task needs a function or class
    defined in it (then, as always, the script needs the guard). Everything else, the parent's
    ``__main__`` module included, is left as it is.

    Use it for your own pool, e.g. ``ProcessPoolExecutor(4, mp_context=script_free_context())``
    assigned to ``job.executor``.

    Args:
        method: the start method, ``"spawn"`` or (not on Windows) ``"forkserver"``.

    Returns:
        A context to pass as ``mp_context`` to :class:`concurrent.futures.ProcessPoolExecutor`
        (or to use like the ``multiprocessing`` module).

    Raises:
        ValueError: for another start method.
    """
    if method not in _CONTEXTS:
        raise ValueError(f"method must be one of {sorted(_CONTEXTS)}, got {method!r}")
    context = _CONTEXTS[method]()
    context._check_available()
    return context


class _LocalPool(concurrent.futures.ProcessPoolExecutor):
    """A process pool (spawned workers that do not run the calling script, one BLAS thread
    each) that ignores ``resource_dict``."""

    def __init__(self, max_workers: int):
        super().__init__(
            max_workers=max_workers,
            mp_context=script_free_context("spawn"),
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
        # a lost cluster task never completes: do not wait for it
        lost = getattr(executor, "_appmlip_lost", False)
        executor.shutdown(wait=not lost, cancel_futures=True)


class LostTaskError(RuntimeError):
    """A task whose cluster job ended (cancelled, killed, out of time) without a result."""


#: Seconds between checks for lost SLURM tasks, and how long a task's job may be gone from
#: the queue before the task counts as lost (its result file may still be on its way).
LOST_TASK_POLL_SECONDS = 5.0
LOST_TASK_GRACE_SECONDS = 20.0


def run_tasks(
    spec, fn, tasks, return_exceptions: bool = False, n_tasks: int | None = None
) -> Iterator[tuple]:
    """Run ``fn(*args)`` for every ``key: args`` of ``tasks``; yield ``(key, result)`` as each
    task completes.

    With the serial executor each task runs when the previous one has been handed back, so a
    caller that stores every result as it arrives loses at most the running task on an
    interruption, whatever the executor. An exception of a task is raised here, and the tasks
    not yet started are cancelled.

    On executorlib's ``slurm_cluster`` executor a task whose SLURM job leaves the queue without
    writing a result (``scancel``, a node failure, the time limit) would be waited for forever;
    such a task is given up after :data:`LOST_TASK_GRACE_SECONDS` with a
    :class:`LostTaskError` naming its SLURM job.

    Args:
        spec: an executor spec (see the module docstring).
        fn: a plain, picklable function.
        tasks: ``{key: tuple of arguments}``, or an iterable of ``(key, arguments)`` pairs
            consumed lazily: each task is submitted as soon as the iterable hands it over (e.g.
            while the caller still prepares the next ones).
        return_exceptions: yield a task's exception as its result (e.g. a calculation cancelled
            on the cluster) instead of raising it.
        n_tasks: the number of tasks when ``tasks`` is an iterable (sizes a local pool).

    Yields:
        ``(key, result)`` pairs in order of completion (submission order when serial).
    """
    normalised = _normalise(spec)
    watch = isinstance(normalised, dict) and normalised["kind"] == "slurm_cluster"
    lost_any = False
    pairs = tasks.items() if isinstance(tasks, Mapping) else tasks
    if n_tasks is None and isinstance(tasks, Mapping):
        n_tasks = len(tasks)
    with open_executor(spec, n_tasks=n_tasks) as executor:
        if isinstance(executor, SerialExecutor):
            for key, args in pairs:
                try:
                    result = fn(*args)
                except Exception as err:
                    if not return_exceptions:
                        raise
                    result = err
                yield key, result
            return
        futures, submitted = {}, {}
        for key, args in pairs:
            futures[executor.submit(fn, *args)] = key
            submitted[key] = args
        watcher = _SlurmWatch(normalised, fn, submitted) if watch else None
        pending = set(futures)
        while pending:
            done, _ = concurrent.futures.wait(
                pending,
                timeout=LOST_TASK_POLL_SECONDS if watcher else None,
                return_when=concurrent.futures.FIRST_COMPLETED,
            )
            finished = [(f, None) for f in done]
            if watcher is not None and not done:
                keys = {futures[f]: f for f in pending}
                finished = [(keys[k], err) for k, err in watcher.lost(list(keys)).items()]
            for future, lost in finished:
                pending.discard(future)
                if lost is not None:
                    lost_any = True
                    if not return_exceptions:
                        executor._appmlip_lost = True
                        raise lost
                    yield futures[future], lost
                    continue
                try:
                    result = future.result()
                except Exception as err:
                    if not return_exceptions:
                        raise
                    result = err
                yield futures[future], result
        if lost_any:
            executor._appmlip_lost = True


class _SlurmWatch:
    """Finds tasks of executorlib's file-based SLURM executor whose SLURM job is gone without
    a result: the task key is executorlib's (function name + hash of function and arguments),
    the SLURM job id is in the task's input file, the result would be its ``_o.h5`` file."""

    def __init__(self, spec: dict, fn, tasks: Mapping):
        from executorlib.standalone.serialize import serialize_funct

        self.cache = os.path.abspath(spec.get("cache_directory") or "executorlib_cache")
        self.task_keys = {
            key: serialize_funct(fn=fn, fn_args=list(args), fn_kwargs={})[0]
            for key, args in tasks.items()
        }
        self.gone_since: dict = {}

    def _files(self) -> dict:
        found = {}
        for folder, _, names in os.walk(self.cache):
            for name in names:
                if name.endswith(("_i.h5", "_o.h5")):
                    found[name] = os.path.join(folder, name)
        return found

    def lost(self, keys) -> dict:
        """``{key: LostTaskError}`` of the given pending tasks that are lost."""
        import subprocess
        import time

        from executorlib.standalone.hdf import get_queue_id

        files = self._files()
        queue_ids = {}
        for key in keys:
            task_key = self.task_keys[key]
            if task_key + "_o.h5" in files or task_key + "_i.h5" not in files:
                continue  # a result is there (or the task is not submitted yet)
            qid = get_queue_id(files[task_key + "_i.h5"])
            if qid is not None:
                queue_ids[key] = int(qid)
        if not queue_ids:
            return {}
        try:
            out = subprocess.run(
                ["squeue", "-h", "-o", "%i", "-j", ",".join(str(q) for q in queue_ids.values())],
                capture_output=True,
                text=True,
                timeout=30,
            ).stdout.split()
        except (OSError, subprocess.SubprocessError):
            return {}
        queued = {int(x) for x in out if x.isdigit()}
        now = time.monotonic()
        lost = {}
        for key, qid in queue_ids.items():
            if qid in queued:
                self.gone_since.pop(key, None)
                continue
            since = self.gone_since.setdefault(key, now)
            if now - since >= LOST_TASK_GRACE_SECONDS:
                lost[key] = LostTaskError(
                    f"SLURM job {qid} of this task left the queue without a result "
                    "(cancelled, killed or out of time)"
                )
        return lost
