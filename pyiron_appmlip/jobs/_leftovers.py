"""Files left by killed processes: removed with a :class:`LeftoverWarning` naming them."""

from __future__ import annotations

import os
import shutil
import warnings

__all__ = [
    "LeftoverWarning",
    "note",
    "remove_leftover_hdf5",
    "LeftoverSafeSave",
    "remove_job_files",
]


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
