"""Running a job again in place."""

from __future__ import annotations

from ._atomic_write import write_job_atomically

__all__ = ["rerun_in_place"]


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
