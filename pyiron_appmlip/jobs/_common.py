"""Shared pieces of the job classes, one module per concern; this module re-exports them.

- :mod:`._plain`: plain values from pyiron containers, job ids, tables as HDF5 columns.
- :mod:`._plain_output`: job output that reads back as it was written (:class:`PlainOutput`).
- :mod:`._atomic_write`: saving a job without half-written HDF5 files, status written last.
- :mod:`._rerun`: running a job again in place (:func:`rerun_in_place`).
- :mod:`._leftovers`: removing files left by killed processes (:class:`LeftoverWarning`).
- :mod:`._run_lock`: the run lock of the process that runs a job (:func:`run_lock`).
"""

from __future__ import annotations

from ._atomic_write import (
    LOCKED_FILE_ATTEMPTS,
    save_new_job,
    save_then_set_status,
    write_job_atomically,
)
from ._leftovers import (
    LeftoverSafeSave,
    LeftoverWarning,
    note,
    remove_job_files,
    remove_leftover_hdf5,
)
from ._plain import job_id_of, plain, table_from_hdf_dict, table_to_hdf_dict
from ._plain_output import OUTPUT_LAYOUT_NODE, PlainOutput, output_value
from ._rerun import rerun_in_place
from ._run_lock import (
    RUN_LOCK_NAME,
    JobRunningError,
    process_gone_message,
    run_lock,
    run_lock_holder,
    run_lock_path,
)

__all__ = [
    "plain",
    "job_id_of",
    "table_to_hdf_dict",
    "table_from_hdf_dict",
    "OUTPUT_LAYOUT_NODE",
    "output_value",
    "PlainOutput",
    "LOCKED_FILE_ATTEMPTS",
    "save_new_job",
    "save_then_set_status",
    "write_job_atomically",
    "rerun_in_place",
    "LeftoverWarning",
    "note",
    "remove_leftover_hdf5",
    "LeftoverSafeSave",
    "remove_job_files",
    "RUN_LOCK_NAME",
    "JobRunningError",
    "run_lock_path",
    "run_lock_holder",
    "run_lock",
    "process_gone_message",
]
