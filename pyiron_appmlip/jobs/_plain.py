"""Plain values from pyiron containers, job ids, and tables stored as HDF5 columns."""

from __future__ import annotations

import numpy as np

__all__ = ["plain", "job_id_of", "table_to_hdf_dict", "table_from_hdf_dict", "as_text"]


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
            df[c] = [as_text(v) if isinstance(v, bytes | np.str_) else v for v in df[c]]
    return df


def as_text(value) -> str:
    """``value`` as ``str``: bytes decoded as UTF-8 (undecodable bytes kept as surrogates)."""
    if isinstance(value, bytes | np.bytes_):
        return bytes(value).decode("utf-8", "surrogateescape")
    return str(value)
