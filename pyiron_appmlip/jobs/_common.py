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
