"""The run lock of a job's process.

:func:`run_lock` marks the process that runs a job: the file ``appmlip_run.lock`` in the job's
working directory holds the process id, host and start time and is locked with ``flock`` while
the job runs. The kernel releases that lock when the process ends in any way (also ``kill -9``),
so "a live process runs the job" is "someone holds the lock" (:func:`run_lock_holder`). A lock
file whose lock is free was left by a process that is gone: the next run takes it over with a
note. On the same host a recorded process id that no longer exists also counts as gone (a lock
inherited by a forked helper process). On file systems without ``flock`` the recorded process id
decides on the same host, and a lock recorded by another host counts as held (remove the file by
hand if that process is gone). Lustre mounted with ``localflock`` shares no locks between hosts:
there, a job run on another host looks gone from this one.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import time
from datetime import datetime

from ._leftovers import note

__all__ = [
    "RUN_LOCK_NAME",
    "JobRunningError",
    "run_lock_path",
    "run_lock_holder",
    "run_lock",
    "process_gone_message",
]

#: Name of the run lock file in a job's working directory.
RUN_LOCK_NAME = "appmlip_run.lock"

# Locks held by this process: real path -> [file descriptor, depth, process id].
_HELD: dict[str, list] = {}


class JobRunningError(RuntimeError):
    """Another live process runs the job."""


def run_lock_path(job) -> str:
    """Path of the run lock file of ``job`` (in its working directory)."""
    return os.path.join(job.working_directory, RUN_LOCK_NAME)


def _read_record(path: str) -> dict:
    try:
        with open(path) as handle:
            text = handle.read()
    except OSError:
        return {}
    try:
        record = json.loads(text) if text.strip() else {}
    except ValueError:
        return {"unreadable": text[:200]}
    return record if isinstance(record, dict) else {}


def _pid_alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError, TypeError):
        return True
    return True


def _gone_on_this_host(record: dict) -> bool:
    """True if ``record`` names a process of this host that no longer exists."""
    return (
        record.get("host") == socket.gethostname()
        and record.get("pid") is not None
        and not _pid_alive(record["pid"])
    )


def _describe(record: dict) -> str:
    if not record:
        return "a process that left no record"
    return (
        f"process {record.get('pid', '?')} on host {record.get('host', '?')} (started "
        f"{record.get('started', '?')})"
    )


def run_lock_holder(job) -> dict | None:
    """The record of the live process that runs ``job``, or None if no live process does.

    The record is a dict with ``pid``, ``host``, ``started``, ``job`` and ``job_id`` (``{}`` if
    the holder wrote none). See the module docstring for the rule.
    """
    import fcntl

    path = os.path.realpath(run_lock_path(job))
    held = _HELD.get(path)
    if held is not None and held[2] == os.getpid():
        return _read_record(path)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        record = _read_record(path)
        return None if _gone_on_this_host(record) else record
    except OSError:  # no flock here: the recorded process decides
        record = _read_record(path)
        if not record or _gone_on_this_host(record):
            return None
        return record
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _running_message(job, record: dict, path: str) -> str:
    return (
        f"job {job.job_name!r} (id {job.job_id}) is being run by {_describe(record)}: its run "
        f"lock {path} is held. Wait until that run ends (e.g. pr.wait_for_job(job)); running "
        f"it a second time at once would compute the same calculations twice. If that process "
        f"is gone, remove the lock file."
    )


def _acquire(job, path: str, wait: float) -> int | None:
    """Lock ``path`` for this process; return its file descriptor (None without ``flock``)."""
    import fcntl

    deadline = time.monotonic() + wait
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            record = _read_record(path)
            if _gone_on_this_host(record):
                # held through a descriptor inherited by a helper of a process that is gone:
                # start a new lock file (whoever still holds the old one holds nothing)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                note(f"run lock {path} of {_describe(record)}, which is gone, taken over")
                continue
            if time.monotonic() < deadline:
                time.sleep(0.2)
                continue
            raise JobRunningError(_running_message(job, record, path)) from None
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.ENOLCK, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                raise
            record = _read_record(path)
            if record and not _gone_on_this_host(record) and record.get("pid") != os.getpid():
                if time.monotonic() < deadline:
                    time.sleep(0.2)
                    continue
                raise JobRunningError(_running_message(job, record, path)) from None
            _write_record(job, path, None, record)
            return None
        try:
            same_file = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same_file = False
        if not same_file:  # removed by its previous holder meanwhile: lock the new one
            os.close(fd)
            continue
        _write_record(job, path, fd, _read_record(path))
        return fd


def _write_record(job, path: str, fd: int | None, previous: dict) -> None:
    if previous:
        note(
            f"run lock {path} left by {_describe(previous)}, which is gone, taken over by "
            f"process {os.getpid()}"
        )
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.now().isoformat(timespec="seconds"),
        "job": job.job_name,
        "job_id": None if job.job_id is None else int(job.job_id),
    }
    data = json.dumps(record).encode()
    if fd is None:
        with open(path, "wb") as handle:
            handle.write(data)
        return
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)


@contextlib.contextmanager
def run_lock(job, wait: float = 0.0):
    """Hold the run lock of ``job`` for the duration of a ``with`` block.

    Re-entrant within one process. The lock file is removed when the outermost block ends.

    Args:
        job: a pyiron job (its working directory is created if missing).
        wait: seconds to wait for another holder to finish before giving up (0: at once).

    Raises:
        JobRunningError: another live process holds the lock (the message names it).
    """
    path = os.path.realpath(run_lock_path(job))
    held = _HELD.get(path)
    if held is not None and held[2] == os.getpid():
        held[1] += 1
        try:
            yield
        finally:
            held[1] -= 1
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = _acquire(job, path, wait)
    _HELD[path] = [fd, 1, os.getpid()]
    try:
        yield
    finally:
        del _HELD[path]
        with contextlib.suppress(OSError):
            os.unlink(path)
        if fd is not None:
            os.close(fd)


def process_gone_message(job, how_to_continue: str) -> str:
    """Message for a job whose status is ``running`` while no live process runs it."""
    return (
        f"job {job.job_name!r} (id {job.job_id}) has status 'running', but the process that "
        f"ran it is gone (killed or crashed: no live process holds its run lock "
        f"{run_lock_path(job)}); its status is set to 'aborted'. {how_to_continue}"
    )
