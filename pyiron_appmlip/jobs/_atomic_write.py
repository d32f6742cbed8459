"""Saving a job without leaving its HDF5 file half-written, and with its status written last."""

from __future__ import annotations

import os
import shutil
import time

__all__ = [
    "LOCKED_FILE_ATTEMPTS",
    "save_new_job",
    "save_then_set_status",
    "write_job_atomically",
]


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
