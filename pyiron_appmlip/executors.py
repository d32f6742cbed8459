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
  ``max_workers``. ``slurm_cluster`` submits every task as its own SLURM job and executorlib
  takes no ``max_workers`` there: the key is kept here instead and bounds the tasks
  :func:`run_tasks` has submitted and not yet handed back, so that at most that many SLURM
  jobs of one call are queued or running at once.
- an :class:`~concurrent.futures.Executor` instance: used as it is, and left open (its owner
  shuts it down). Jobs cannot store an instance in HDF5: assign it to ``job.executor`` before
  ``job.run()``.

Jobs hold a storable spec in ``job.input.executor``. Results never depend on the executor: the
same functions run with the same arguments, and results are put back in the order of the input.

:func:`run_tasks` submits the tasks and hands the results back. With ``ordered=True`` it hands
them back in input order (a result that arrives early waits for the ones before it), so that a
caller can write them to a file in order as they come; ``max_in_flight`` bounds the tasks
submitted but not yet handed back (running, queued, or waiting for their turn), so that a long
list of tasks never has more than that many results in memory. ``preload`` names modules the
workers of a local pool import once when they start (e.g. the LAMMPS bindings of the
descriptors), instead of with their first task.

The local pools start their workers with
:func:`script_free_context`: a worker never runs the script that started it, so a plain script
without an ``if __name__ == "__main__":`` guard runs its body once, however many workers it
starts. Only a task that needs a function or class defined in the script itself makes its worker
import the script, as ``multiprocessing`` always does; such a script needs the guard.
"""

from __future__ import annotations

import concurrent.futures
import importlib
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
    "worker_count",
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
        """Call ``fn(*args, **kwargs)`` now, in this process.

        Args:
            fn: The callable.
            *args: Its positional arguments.
            **kwargs: Its keyword arguments; a ``resource_dict`` (executorlib's per-task
                resources) is accepted and ignored.

        Returns:
            A finished future holding the result, or the exception ``fn`` raised.
        """
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


def _start_worker(preload: tuple = ()) -> None:
    """In a new worker of the local pool: one BLAS/OpenMP thread, then import ``preload``."""
    _one_thread_per_worker()
    for name in preload:
        importlib.import_module(name)


def _check_preload(preload) -> tuple:
    """``preload`` as a tuple of module names, else a ValueError naming the allowed values."""
    if isinstance(preload, str):
        preload = (preload,)
    try:
        names = tuple(preload)
    except TypeError:
        names = None
    if names is None or not all(isinstance(n, str) and n.strip() for n in names):
        raise ValueError(
            "preload must be a sequence of module names to import in every local worker, e.g. "
            f"['pyiron_appmlip.descriptors.lammps_snap'], got {preload!r}"
        )
    return names


class _LocalPool(concurrent.futures.ProcessPoolExecutor):
    """A process pool (spawned workers that do not run the calling script, one BLAS thread
    each, importing ``preload`` once at start) that ignores ``resource_dict``."""

    def __init__(self, max_workers: int, preload: tuple = ()):
        super().__init__(
            max_workers=max_workers,
            mp_context=script_free_context("spawn"),
            initializer=_start_worker,
            initargs=(tuple(preload),),
        )

    def submit(self, fn, /, *args, **kwargs):
        kwargs.pop("resource_dict", None)
        return super().submit(fn, *args, **kwargs)

    def terminate(self) -> None:
        """Stop at once: cancel the pending tasks and end the workers, running tasks included
        (their results would not be collected)."""
        workers = list((getattr(self, "_processes", None) or {}).values())
        self.shutdown(wait=False, cancel_futures=True)
        for process in workers:
            if process.is_alive():
                process.terminate()
        for process in workers:
            process.join(timeout=10)


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


def worker_count(spec, n_tasks: int | None = None) -> int | None:
    """How many tasks the executor of ``spec`` runs at once, where that is known.

    Args:
        spec: an executor spec or an :class:`~concurrent.futures.Executor` (see the module
            docstring).
        n_tasks: number of tasks about to be submitted; a local pool starts no more workers.

    Returns:
        The number of workers: 1 for ``"serial"``, the local pool's size, an executorlib spec's
        ``max_workers`` or a running executor's own count; None where the spec does not say
        (e.g. ``slurm_cluster`` without ``max_workers``).
    """
    spec = _normalise(spec)
    if isinstance(spec, Executor):
        if isinstance(spec, SerialExecutor):
            return 1
        workers = getattr(spec, "_max_workers", None)
        return workers if isinstance(workers, int) and workers > 0 else None
    if spec["kind"] == "serial":
        return 1
    if spec["kind"] == "local":
        return _local_workers(spec, n_tasks)
    return spec.get("max_workers")


def _local_workers(spec: dict, n_tasks: int | None) -> int:
    n = spec.get("max_workers") or available_cores()
    if n_tasks is not None:
        n = min(n, max(1, n_tasks))
    return int(n)


@contextmanager
def open_executor(spec, n_tasks: int | None = None, preload=()) -> Iterator[Executor]:
    """The executor of ``spec``, shut down on exit unless it was passed in as an instance.

    Args:
        spec: an executor spec (see the module docstring). A ``slurm_cluster`` spec's
            ``max_workers`` is not passed to executorlib (which refuses it); only
            :func:`run_tasks` keeps to it.
        n_tasks: number of tasks about to be submitted; a local pool starts no more workers.
        preload: module names every worker of a local pool imports once when it starts, before
            its first task (e.g. ``["pyiron_appmlip.descriptors.lammps_snap"]``). Other
            executors import them with the first task that needs them.

    Yields:
        A :class:`concurrent.futures.Executor`.

    Raises:
        ValueError: for an invalid spec or ``preload``.
    """
    preload = _check_preload(preload)
    spec = _normalise(spec)
    if isinstance(spec, Executor):
        yield spec
        return
    kind = spec["kind"]
    if kind == "serial" or (kind == "local" and _local_workers(spec, n_tasks) == 1):
        yield SerialExecutor()
        return
    if kind == "local":
        executor: Executor = _LocalPool(_local_workers(spec, n_tasks), preload)
    else:
        import executorlib

        options = {k: v for k, v in spec.items() if k != "kind"}
        if _submission_bound(spec) is not None:
            del options["max_workers"]  # run_tasks bounds the submissions instead
        executor = getattr(executorlib, _EXECUTORLIB[kind])(**options)
    try:
        yield executor
    except BaseException:
        # an error or Ctrl-C in the caller: nothing collects the running tasks' results, so a
        # local pool's workers are ended instead of finishing them (cluster jobs keep running:
        # their results are cached for a rerun)
        if isinstance(executor, _LocalPool):
            executor.terminate()
        raise
    finally:
        # a lost cluster task never completes: do not wait for it
        lost = getattr(executor, "_appmlip_lost", False)
        executor.shutdown(wait=not lost, cancel_futures=True)


def _submission_bound(spec) -> int | None:
    """``max_workers`` of a file-based ``slurm_cluster`` spec (executorlib refuses the key
    there; :func:`run_tasks` keeps at most that many tasks submitted), else None."""
    if isinstance(spec, Mapping) and spec.get("kind") == "slurm_cluster":
        if not spec.get("block_allocation"):
            return spec.get("max_workers")
    return None


class LostTaskError(RuntimeError):
    """A task whose cluster job ended (cancelled, killed, out of time) without a result."""


#: Seconds between checks for lost SLURM tasks, and how long a task's job may be gone from
#: the queue before the task counts as lost (its result file may still be on its way).
LOST_TASK_POLL_SECONDS = 5.0
LOST_TASK_GRACE_SECONDS = 20.0


def run_tasks(
    spec,
    fn,
    tasks,
    return_exceptions: bool = False,
    n_tasks: int | None = None,
    *,
    ordered: bool = False,
    max_in_flight: int | None = None,
    preload=(),
) -> Iterator[tuple]:
    """Run ``fn(*args)`` for every ``key: args`` of ``tasks``; yield ``(key, result)`` as each
    task completes (or, with ``ordered``, in input order).

    With the serial executor each task runs when the previous one has been handed back, so a
    caller that stores every result as it arrives loses at most the running task on an
    interruption, whatever the executor. An exception of a task is raised here as soon as it
    is known (with ``ordered`` too, before the results ahead of it), and the tasks not yet
    started are cancelled; so are they when the caller stops iterating early.

    On executorlib's ``slurm_cluster`` executor a task whose SLURM job leaves the queue without
    writing a result (``scancel``, a node failure, the time limit) would be waited for forever;
    such a task is given up after :data:`LOST_TASK_GRACE_SECONDS` with a
    :class:`LostTaskError` naming its SLURM job.

    Args:
        spec: an executor spec (see the module docstring).
        fn: a plain, picklable function.
        tasks: ``{key: tuple of arguments}``, or an iterable of ``(key, arguments)`` pairs
            consumed lazily: each task is submitted as soon as the iterable hands it over (e.g.
            while the caller still prepares the next ones) and ``max_in_flight`` allows it.
        return_exceptions: yield a task's exception as its result (e.g. a calculation cancelled
            on the cluster) instead of raising it.
        n_tasks: the number of tasks when ``tasks`` is an iterable (sizes a local pool).
        ordered: yield the results in the order of ``tasks``; a result that completes early is
            kept until those before it are handed back.
        max_in_flight: at most this many tasks submitted and not yet handed back (running,
            queued, or completed and waiting for their turn); the next task is submitted when
            one is handed back. None: no bound (every task is submitted at once). A
            ``slurm_cluster`` spec's ``max_workers`` bounds it too (the smaller one counts).
        preload: module names every worker of a local pool imports once at start (see
            :func:`open_executor`).

    Yields:
        ``(key, result)`` pairs in order of completion (submission order when serial or
        ``ordered``).

    Raises:
        ValueError: for an invalid spec, ``max_in_flight`` or ``preload``.
    """
    normalised = _normalise(spec)
    if max_in_flight is not None and (
        isinstance(max_in_flight, bool) or not isinstance(max_in_flight, int) or max_in_flight < 1
    ):
        raise ValueError(
            f"max_in_flight must be a positive integer (tasks submitted and not yet handed back) "
            f"or None (no bound), got {max_in_flight!r}"
        )
    preload = _check_preload(preload)
    bound = _submission_bound(normalised)
    if bound is not None:
        max_in_flight = bound if max_in_flight is None else min(max_in_flight, bound)
    watch = isinstance(normalised, dict) and normalised["kind"] == "slurm_cluster"
    pairs = tasks.items() if isinstance(tasks, Mapping) else tasks
    if n_tasks is None and isinstance(tasks, Mapping):
        n_tasks = len(tasks)
    with open_executor(spec, n_tasks=n_tasks, preload=preload) as executor:
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
        watcher = _SlurmWatch(normalised, fn) if watch else None
        outstanding: dict = {}  # future -> key, submission order, not yet handed back
        try:
            yield from _submit_and_collect(
                executor, fn, iter(pairs), outstanding, watcher,
                return_exceptions, ordered, max_in_flight,
            )  # fmt: skip
        finally:
            for future in outstanding:  # an error or a caller that stopped early
                future.cancel()


def _submit_and_collect(
    executor, fn, pairs, outstanding, watcher, return_exceptions, ordered, max_in_flight
) -> Iterator[tuple]:
    """The loop of :func:`run_tasks` for a real executor (see there)."""
    lost: dict = {}  # future -> LostTaskError of a lost SLURM task
    exhausted = False
    while True:
        while not exhausted and (max_in_flight is None or len(outstanding) < max_in_flight):
            try:
                key, args = next(pairs)
            except StopIteration:
                exhausted = True
                break
            outstanding[executor.submit(fn, *args)] = key
            if watcher is not None:
                watcher.add(key, args)
        if not outstanding:
            return
        if ordered:
            head = next(iter(outstanding))
            ready = [head] if head.done() or head in lost else []
        else:
            ready = [f for f in outstanding if f.done() or f in lost]
        if not ready:
            if ordered and not return_exceptions:  # an error is raised as soon as it is known
                for future in outstanding:
                    if future in lost:
                        raise lost[future]
                    if future.done() and not future.cancelled() and future.exception():
                        raise future.exception()
            waiting = [f for f in outstanding if not f.done() and f not in lost]
            done, _ = concurrent.futures.wait(
                waiting,
                timeout=LOST_TASK_POLL_SECONDS if watcher else None,
                return_when=concurrent.futures.FIRST_COMPLETED,
            )
            if watcher is not None and not done:
                keys = {outstanding[f]: f for f in waiting}
                for key, err in watcher.lost(list(keys)).items():
                    lost[keys[key]] = err
                    executor._appmlip_lost = True
            continue
        for future in ready:
            key = outstanding.pop(future)
            if watcher is not None:
                watcher.forget(key)
            if future in lost:
                result = lost.pop(future)
                if not return_exceptions:
                    raise result
            else:
                try:
                    result = future.result()
                except Exception as err:
                    if not return_exceptions:
                        raise
                    result = err
            yield key, result


class _SlurmWatch:
    """Finds tasks of executorlib's file-based SLURM executor whose SLURM job is gone without
    a result: the task key is executorlib's (function name + hash of function and arguments),
    the SLURM job id is in the task's input file, the result would be its ``_o.h5`` file.

    The task key hashes the pickled arguments, which costs about as much as the submission
    itself; it is computed only for a task still pending when the queue is checked (after
    :data:`LOST_TASK_POLL_SECONDS` without any result), never for the many that finish sooner.
    """

    def __init__(self, spec: dict, fn):
        self.cache = os.path.abspath(spec.get("cache_directory") or "executorlib_cache")
        self.fn = fn
        self.args: dict = {}  # pending task -> its arguments (until its key is computed)
        self.task_keys: dict = {}
        self.gone_since: dict = {}

    def add(self, key, args) -> None:
        """Watch the task ``key`` submitted with ``args``."""
        self.args[key] = args

    def forget(self, key) -> None:
        """The task ``key`` is handed back: stop watching it."""
        for held in (self.args, self.task_keys, self.gone_since):
            held.pop(key, None)

    def task_key(self, key) -> str:
        """executorlib's key of the task ``key`` (computed once)."""
        from executorlib.standalone.serialize import serialize_funct

        if key not in self.task_keys:
            args = self.args.pop(key)
            self.task_keys[key] = serialize_funct(fn=self.fn, fn_args=list(args), fn_kwargs={})[0]
        return self.task_keys[key]

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
            task_key = self.task_key(key)
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
