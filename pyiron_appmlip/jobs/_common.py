"""Shared pieces of the job classes: plain values from pyiron containers, in-place re-runs, the
run lock of a job's process and the clean-up of HDF5 files left by killed processes.

Run lock
    :func:`run_lock` marks the process that runs a job: the file ``appmlip_run.lock`` in the job's
    working directory holds the process id, host and start time and is locked with ``flock``
    while the job runs. The kernel releases that lock when the process ends in any way (also
    ``kill -9``), so "a live process runs the job" is "someone holds the lock"
    (:func:`run_lock_holder`). A lock file whose lock is free was left by a process that is gone:
    the next run takes it over with a note. On the same host a recorded process id that no longer
    exists also counts as gone (a lock inherited by a forked helper process). On file systems
    without ``flock`` the recorded process id decides on the same host, and a lock recorded by
    another host counts as held (remove the file by hand if that process is gone). Lustre mounted
    with ``localflock`` shares no locks between hosts: there, a job run on another host looks
    gone from this one.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import socket
import time
import warnings
from datetime import datetime

import numpy as np


def plain(value):
    """DataContainer / nested mappings -> plain Python objects (dicts, lists, numbers)."""
    if hasattr(value, "to_builtin"):
        value = value.to_builtin()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def rerun_in_place(job, run_mode: str | None = None) -> None:
    """Run ``job`` again from any status, keeping its working directory and database entry.

    Input changes made before the call are saved first; the job's ``run_static`` is responsible
    for reusing what finished (child jobs, stored units, stored blocks). ``run_mode`` as in
    ``job.run`` (default: the job's current run mode). A job never saved is simply run.
    """
    if job.job_id is None:
        job.run(run_mode=run_mode)
        return
    job._validate_input()
    if run_mode is not None:
        job.server.run_mode = run_mode
    write_job_atomically(job, {"status": "created"})
    job.status.created = True
    job.run()


LOCKED_FILE_ATTEMPTS = 6
"""How often :func:`save_new_job` tries a save that HDF5 could not lock the file for."""


def save_new_job(job, attempts: int = LOCKED_FILE_ATTEMPTS, delay: float = 0.1) -> None:
    """``job.save()`` of a job that has no database row yet, tried again where HDF5 could not
    lock the job's file before that row was written.

    A process forked by another thread of this process (an executor handing a task to SLURM,
    say) starts with copies of every file descriptor open at that moment, and with them HDF5's
    ``flock`` of an open file, until it closes them to execute its program. A save that reopens
    the file in that window fails with ``BlockingIOError`` ("unable to lock file"). Until the
    database row exists, pyiron's save has written nothing but the job's HDF5 file, which the
    next attempt writes again; a failure after it is raised, as is the last attempt's.

    Args:
        job: a pyiron job that has not been saved (``job.job_id`` is None).
        attempts: saves to try in all.
        delay: seconds before the second attempt, growing linearly after it.
    """
    for attempt in range(attempts):
        try:
            job.save()
            return
        except BlockingIOError:
            if job.job_id is not None or attempt == attempts - 1:
                raise
            time.sleep(delay * (attempt + 1))


def save_then_set_status(job, status: str = "finished") -> None:
    """Write the job's HDF5 output, then set and store its status.

    The order is the point: the database entry, which pyiron reads a job's status from, is
    written last, after the output and the status in the HDF5 file. A crash at any moment before
    it leaves the job with its earlier status (recomputed when resumed), never ``finished`` (or
    any final status) with missing output or with an HDF5 file that a write in progress left
    unreadable.

    Args:
        job: a pyiron job whose ``run_static`` has filled ``job.output``.
        status: the final status, e.g. ``"finished"``, ``"aborted"``, ``"not_converged"``.
    """
    write_job_atomically(job, {"status": status})
    setattr(job.status, status, True)


def write_job_atomically(job, extra: dict | None = None) -> None:
    """Write the job's HDF5 content (``job.to_hdf()``, plus ``extra`` nodes) without ever leaving
    its file half-written.

    HDF5 files are updated in place and are not journaled: a process killed while writing leaves
    a file that HDF5 refuses to open ("already open for write") or that is truncated, and pyiron
    can no longer load the job. Here the content is written into a copy of the file, which then
    replaces the original in one rename; a kill at any moment leaves either the old or the new
    file (and at most a stray ``<job>__writing.h5`` copy, overwritten next time).

    Args:
        job: a pyiron job.
        extra: further nodes below the job's group, e.g. ``{"status": "finished"}``.
    """
    hdf = job.project_hdf5
    path = hdf.file_name
    if not os.path.exists(path):
        job.to_hdf()
        for key, value in (extra or {}).items():
            hdf[key] = value
        return
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, os.path.splitext(name)[0] + "__writing.h5")
    shutil.copyfile(path, tmp)
    copy = type(hdf)(project=job.project, file_name=os.path.basename(tmp), h5_path=hdf.h5_path)
    if os.path.abspath(copy.file_name) != os.path.abspath(tmp):
        os.remove(tmp)
        raise RuntimeError(f"cannot write {path} through a copy ({copy.file_name} != {tmp})")
    try:
        job.to_hdf(hdf=copy)
        for key, value in (extra or {}).items():
            copy[key] = value
    finally:
        job._hdf5 = hdf  # to_hdf(hdf=...) re-points the job; it stays bound to its own file
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def job_id_of(job_or_ref, project) -> int:
    """Database id of a job given as a job object, a job id or a job name.

    Raises:
        ValueError: if the job was never saved or no job of that name exists in ``project``.
    """
    if hasattr(job_or_ref, "job_id"):
        if job_or_ref.job_id is None:
            raise ValueError(f"job {job_or_ref.job_name!r} has not been saved/run yet")
        return int(job_or_ref.job_id)
    if isinstance(job_or_ref, int | np.integer):
        return int(job_or_ref)
    job = project.inspect(job_or_ref)
    if job is None:
        raise ValueError(f"no job named {job_or_ref!r} in project {project.path}")
    return int(job.job_id)


def table_to_hdf_dict(table) -> dict:
    """Columns of a DataFrame as HDF5-storable arrays (text columns as fixed-width bytes)."""
    return {
        c: (
            np.array([str(v) for v in table[c]], dtype="S")
            if table[c].dtype == object
            else table[c].to_numpy()
        )
        for c in table.columns
    }


def table_from_hdf_dict(table, columns=None):
    """Inverse of :func:`table_to_hdf_dict`: a DataFrame with text columns as ``str``.

    Args:
        table: the stored columns (a mapping of column name to values).
        columns: the column order to restore: the names given come first, in this order, the
            others after them in stored order. None keeps the stored order.
    """
    import pandas as pd

    names = list(table.keys())
    if columns is not None:
        wanted = [c for c in columns if c in table]
        names = wanted + [c for c in names if c not in wanted]
    df = pd.DataFrame({k: np.asarray(table[k]) for k in names})
    for c in df.columns:
        if df[c].dtype.kind in "SOU":
            df[c] = [_as_text(v) if isinstance(v, bytes | np.str_) else v for v in df[c]]
    return df


# ------------------------------------------------------------------ output as it was written
#: Node beside a job's storage that records what HDF5 does not keep of its output: which
#: entries are booleans and the key order of the dicts.
OUTPUT_LAYOUT_NODE = "output_layout"


def _as_text(value) -> str:
    if isinstance(value, bytes | np.bytes_):
        return bytes(value).decode("utf-8", "surrogateescape")
    return str(value)


def output_value(value):
    """An output value in the form a job hands it out, before and after ``pr.load()``: text as
    ``str`` (an array of bytes becomes a list of ``str``, nested for 2-d arrays), NumPy scalars
    as Python numbers, tuples as lists, dicts entry by entry; numeric arrays as they are."""
    if isinstance(value, dict):
        return {k: output_value(v) for k, v in value.items()}
    if isinstance(value, np.ndarray) and value.dtype.kind == "S":
        return _decode_nested(value.tolist())
    if isinstance(value, bytes | np.bytes_):
        return _as_text(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return [output_value(v) for v in value]
    return value


def _decode_nested(values):
    if isinstance(values, list):
        return [_decode_nested(v) for v in values]
    return _as_text(values)


def _text_array(values: list):
    """A non-empty (nested, rectangular) list of ``str`` as an array of UTF-8 bytes, else None.

    HDF5 stores such an array as one dataset; pyiron stores a list of strings element by
    element, which takes minutes for 10^5 configuration ids.
    """
    if not values:
        return None
    try:
        array = np.array(values)
    except ValueError:  # ragged
        return None
    if array.dtype.kind != "U" or array.ndim == 0 or array.tolist() != values:
        return None  # not all text, or text that NumPy would change (trailing NUL)
    flat = [s.encode("utf-8", "surrogateescape") for s in array.ravel().tolist()]
    return np.array(flat, dtype=bytes).reshape(array.shape)


def _stored_value(value):
    """``value`` (in :func:`output_value` form) as written to HDF5: text lists as byte arrays."""
    if isinstance(value, dict):
        return {k: _stored_value(v) for k, v in value.items()}
    if isinstance(value, list):
        text = _text_array(value)
        if text is not None:
            return text
    return value


def _layout(value):
    """What HDF5 does not keep of ``value``: ``"bool"`` for a boolean, the key order (and the
    inner layouts) of a dict, the layouts of the items of a list that hold any; else None."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, dict):
        return {"keys": [[str(k), _layout(v)] for k, v in value.items()]}
    if isinstance(value, list):
        items = []
        for index, item in enumerate(value):
            if isinstance(item, bool | dict | list):
                inner = _layout(item)
                if inner is not None:
                    items.append([index, inner])
        return {"items": items} if items else None
    return None


def _restore(value, layout):
    """``value`` as read from HDF5, with what :func:`_layout` recorded put back."""
    if layout == "bool":
        return bool(value) if isinstance(value, int | float) else value
    if not isinstance(layout, dict):
        return value
    if isinstance(value, dict) and "keys" in layout:
        inner = {name: node for name, node in layout["keys"]}
        by_name = {str(k): k for k in value}
        if set(by_name) == set(inner):
            keys = [by_name[name] for name in inner]
        else:  # not the recorded dict: keep what was read
            keys = list(value)
        return {k: _restore(value[k], inner.get(str(k))) for k in keys}
    if isinstance(value, list) and "items" in layout:
        value = list(value)
        for index, node in layout["items"]:
            if 0 <= index < len(value):
                value[index] = _restore(value[index], node)
    return value


class PlainOutput:
    """Mixin for every job of the package: ``job.output`` holds the same values, of the same
    types, in the same order, in the job that ran and in the job ``pr.load()`` returns.

    HDF5 through pyiron returns text arrays as bytes, Python booleans as integers, and sorts the
    keys of dicts. Here every output entry is kept in :func:`output_value` form (text as
    ``str``, lists of text as lists of ``str``), written with text lists as byte arrays (one
    dataset each, fast for many configurations), and the booleans and dict key orders are
    recorded beside it (:data:`OUTPUT_LAYOUT_NODE`) and restored when the job is loaded. Jobs
    written before that record existed come back with text as ``str`` and dicts in stored order.
    """

    def to_hdf(self, hdf=None, group_name=None):
        """Write the job (see pyiron's ``to_hdf``) with its output in the form described above."""
        output = self.output
        layout = {}
        written = {}
        for key in list(output.keys()):
            value = output_value(output[key])
            output[key] = value
            node = _layout(value)
            if node is not None:
                layout[key] = node
            stored = _stored_value(value)
            if stored is not value:
                written[key] = value
                output[key] = stored
        try:
            super().to_hdf(hdf=hdf, group_name=group_name)
        finally:
            for key, value in written.items():
                output[key] = value
        self.project_hdf5[OUTPUT_LAYOUT_NODE] = json.dumps({"entries": layout})

    def from_hdf(self, hdf=None, group_name=None):
        """Read the job (see pyiron's ``from_hdf``) with its output as it was written."""
        super().from_hdf(hdf=hdf, group_name=group_name)
        layout = {}
        if OUTPUT_LAYOUT_NODE in self.project_hdf5.list_nodes():
            try:
                layout = json.loads(self.project_hdf5[OUTPUT_LAYOUT_NODE])["entries"]
            except (TypeError, ValueError, KeyError):
                layout = {}
        output = self.output
        for key in list(output.keys()):
            output[key] = _restore(output_value(output[key]), layout.get(key))


# -------------------------------------------------------------------------------- notes
class LeftoverWarning(UserWarning):
    """A file left by a killed process was removed, or a stale run lock was taken over."""


def note(message: str) -> None:
    """Tell the user about something repaired, as a :class:`LeftoverWarning`."""
    warnings.warn(message, LeftoverWarning, stacklevel=3)


# -------------------------------------------------------------- files left by killed processes
def _in_use(path: str) -> bool:
    """True if a live process holds ``path`` open through HDF5 (which ``flock``s its files)."""
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:  # no flock on this file system: cannot tell, assume not in use
        return False
    finally:
        os.close(fd)
    return False


def _hdf5_problem(path: str) -> str:
    """Why h5py cannot open ``path`` ("" if it can)."""
    import h5py

    try:
        with h5py.File(path, "r"):
            return ""
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def remove_leftover_hdf5(job) -> str | None:
    """Remove the HDF5 file of a job not yet saved if no database entry owns it.

    pyiron's ``save`` writes a job's HDF5 file before the job gets its database entry. A process
    killed in between leaves the file, usually truncated or still flagged as open for write, and
    every later save of a job of that name fails in h5py ("file is already open for write",
    "truncated file"). Without a database entry the file belongs to no job, so it is removed
    (with a :class:`LeftoverWarning` naming it). Nothing is removed for a job that has a
    database id, while the database is disabled, or while a live process has the file open.

    Args:
        job: a pyiron job about to be saved.

    Returns:
        The path of the removed file, or None.
    """
    from pyiron_base import state

    if job.job_id is not None or state.database.database_is_disabled:
        return None
    path = job.project_hdf5.file_name
    if not os.path.isfile(path) or job.project.get_job_id(job.job_name) is not None:
        return None
    if _in_use(path):
        return None
    problem = _hdf5_problem(path) or "readable"
    os.remove(path)
    note(
        f"removed {path}: the HDF5 file of job {job.job_name!r} has no database entry (left by "
        f"a process killed while saving the job; {problem}); the job is saved anew"
    )
    return path


class LeftoverSafeSave:
    """Mixin for every job of the package: ``save`` first removes an HDF5 file of the job's name
    that no database entry owns (see :func:`remove_leftover_hdf5`), so a job whose first save
    was killed can be created and run again under the same name."""

    def save(self):
        """Save the job (see pyiron's ``save``) after removing a leftover HDF5 file of its name."""
        remove_leftover_hdf5(self)
        return super().save()


def remove_job_files(project, job_name: str, reason: str) -> list[str]:
    """Remove the database entry and files of job ``job_name`` in ``project`` by hand.

    For a job pyiron cannot load or remove (its HDF5 file missing, truncated or flagged as open
    by a killed process): deletes its database row and those of its sub-jobs, ``<job_name>.h5``
    and the folder ``<job_name>_hdf5`` (working directory and sub-jobs' files), with a
    :class:`LeftoverWarning` naming them and ``reason``.

    Returns:
        The removed paths.
    """
    job_id = project.get_job_id(job_name)
    if job_id is not None:
        for sub_job in project.db.get_items_dict({"masterid": int(job_id)}):
            project.db.delete_item(int(sub_job["id"]))
        project.db.delete_item(job_id)
    removed = []
    for path in (
        os.path.join(project.path, job_name + ".h5"),
        os.path.join(project.path, job_name + "_hdf5"),
    ):
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        elif os.path.exists(path):
            os.remove(path)
            removed.append(path)
    note(
        f"removed job {job_name!r} (database id {job_id}, files {removed}): {reason}; it is "
        f"computed again"
    )
    return removed


# ------------------------------------------------------------------------------- run lock
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
