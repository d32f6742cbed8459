"""Shared pieces of the job classes: plain values from pyiron containers, in-place re-runs."""

from __future__ import annotations

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
    job.to_hdf()
    job.status.created = True
    job.project_hdf5["status"] = job.status.string
    job.run()


def save_then_set_status(job, status: str = "finished") -> None:
    """Write the job's HDF5 output, then set and store its status.

    The order is the point: a crash while the output is written never leaves a job marked
    ``finished`` (or any final status) with missing or partial output.

    Args:
        job: a pyiron job whose ``run_static`` has filled ``job.output``.
        status: the final status, e.g. ``"finished"``, ``"aborted"``, ``"not_converged"``.
    """
    job.to_hdf()
    setattr(job.status, status, True)
    job.project_hdf5["status"] = job.status.string


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


def table_from_hdf_dict(table):
    """Inverse of :func:`table_to_hdf_dict`: a DataFrame with text columns as ``str``."""
    import pandas as pd

    df = pd.DataFrame({k: np.asarray(table[k]) for k in table.keys()})
    for c in df.columns:
        if df[c].dtype.kind in "SO":
            df[c] = [v.decode() if isinstance(v, bytes) else v for v in df[c]]
    return df
