"""AppmlipFit: the energy/force-weighted linear fit as a pyiron job.

Inputs are references to an :class:`AppmlipDescriptors` job (one 2Jmax) and to
:class:`AppmlipLabelling` jobs (one per convergence level); the job joins them by configuration
id, splits by configuration (seeded), fits every training level x weight pair and stores a table
of errors and the coefficients. The ids of the jobs it used are stored with the output, so
``pr.job_table()`` plus this job's output give the full provenance of every number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyiron_base import PythonTemplateJob

from ..training.labels import Labels, fit_table, parse_weights, split_by_configuration

__all__ = ["AppmlipFit"]


def table_to_hdf_dict(table: pd.DataFrame) -> dict:
    """Columns of a DataFrame as HDF5-storable arrays (text columns as fixed-width bytes)."""
    return {
        c: (
            np.array([str(v) for v in table[c]], dtype="S")
            if table[c].dtype == object
            else table[c].to_numpy()
        )
        for c in table.columns
    }


def table_from_hdf_dict(table) -> pd.DataFrame:
    """Inverse of :func:`table_to_hdf_dict`."""
    df = pd.DataFrame({k: np.asarray(table[k]) for k in table.keys()})
    for c in df.columns:
        if df[c].dtype.kind in "SO":
            df[c] = [v.decode() if isinstance(v, bytes) else v for v in df[c]]
    return df


def _job_id(job_or_ref, project):
    """Database id of a job given as a job object, a job id or a job name."""
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


class AppmlipFit(PythonTemplateJob):
    """Energy/force-weighted qSNAP fit (paper eq. 1-3) for several levels and weights.

    Input
    -----
    descriptors_job : id of the AppmlipDescriptors job (set with :meth:`set_descriptors`)
    labelling_jobs : level -> id of an AppmlipLabelling job (set with :meth:`add_labels`)
    weights : list of (w_E, w_F) pairs (set with :attr:`weights` as numbers w_E/w_F or pairs)
    train_levels : levels to train on (default: all)
    truth_level : level the test errors are also measured against (default: the highest)
    test_fraction, split_seed : the seeded split by configuration
    ridge : optional ridge term

    Output
    ------
    table : one row per fit (see :func:`pyiron_appmlip.training.labels.fit_table`), also as
        :meth:`get_table` (a DataFrame)
    coefficients : (n_fits, p + 1), constant per-atom energy first
    train_ids, test_ids : the configuration ids of the split
    provenance : ids of the descriptor and labelling jobs used
    """

    def __init__(self, project, job_name):
        super().__init__(project, job_name)
        self.input.descriptors_job = None
        self.input.labelling_jobs = {}
        self.input.weights = [[150.0, 1.0], [12.0, 1.0]]
        self.input.train_levels = None
        self.input.truth_level = None
        self.input.test_fraction = 0.25
        self.input.split_seed = 0
        self.input.ridge = 0.0

    # -- input helpers ------------------------------------------------------------------------
    def set_descriptors(self, job):
        """Use the descriptor blocks of ``job`` (object, id or name)."""
        self.input.descriptors_job = _job_id(job, self.project)

    def add_labels(self, job, level=None):
        """Use the labels of labelling ``job`` (object, id or name) under its level (or ``level``)."""
        job_id = _job_id(job, self.project)
        if level is None:
            loaded = self.project.load(job_id)
            level = loaded.input.level
            level = level if isinstance(level, int | np.integer) else str(loaded.level_name)
        self.input.labelling_jobs[str(level)] = job_id

    @property
    def weights(self):
        return [tuple(w) for w in self.input.weights]

    @weights.setter
    def weights(self, value):
        self.input.weights = [list(w) for w in parse_weights(value)]

    # -- run ----------------------------------------------------------------------------------
    def _validate_input(self):
        if self.input.descriptors_job is None:
            raise ValueError("descriptors_job is not set: call job.set_descriptors(descriptor_job)")
        if not self.input.labelling_jobs:
            raise ValueError("labelling_jobs is empty: call job.add_labels(labelling_job)")
        parse_weights([tuple(w) for w in self.input.weights])

    def validate_ready_to_run(self):
        self._validate_input()
        super().validate_ready_to_run()

    def run_static(self):
        self._validate_input()
        desc_job = self.project.load(int(self.input.descriptors_job))
        labels = {}
        for level, job_id in self.input.labelling_jobs.items():
            lab_job = self.project.load(int(job_id))
            data = lab_job.get_labels(only_finished=True)
            key = int(level) if str(level).isdigit() else level
            labels[key] = Labels.from_arrays(data["ids"], data["energies"], data["forces"])
        all_label_ids = set().union(*(lab.ids for lab in labels.values()))
        desc_ids = [str(i) for i in desc_job.configuration_ids]
        ids = [i for i in desc_ids if i in all_label_ids]
        blocks = dict(zip(ids, desc_job.get_blocks(ids=ids), strict=True))
        train_ids, test_ids = split_by_configuration(
            ids, test_fraction=float(self.input.test_fraction), seed=int(self.input.split_seed)
        )
        train_levels = self.input.train_levels
        if train_levels is not None:
            train_levels = [int(v) if str(v).isdigit() else v for v in train_levels]
        truth = self.input.truth_level
        truth = int(truth) if truth is not None and str(truth).isdigit() else truth
        rows, coefficients = fit_table(
            blocks,
            labels,
            train_ids,
            test_ids,
            [tuple(w) for w in self.input.weights],
            train_levels=train_levels,
            truth_level=truth,
            ridge=float(self.input.ridge),
        )
        twojmax = int(desc_job.input.twojmax)
        for row in rows:
            row["twojmax"] = twojmax
            row["descriptors_job"] = int(self.input.descriptors_job)
            row["labelling_job"] = int(self.input.labelling_jobs[str(row["train_level"])])
            row["truth_labelling_job"] = int(self.input.labelling_jobs[str(row["truth_level"])])
            row["train_level"] = str(row["train_level"])
            row["truth_level"] = str(row["truth_level"])
        table = pd.DataFrame(rows)
        self.output.table = table_to_hdf_dict(table)
        self.output.coefficients = np.asarray(coefficients)
        self.output.train_ids = np.array(train_ids, dtype="S16")
        self.output.test_ids = np.array(test_ids, dtype="S16")
        self.output.provenance = {
            "descriptors_job": int(self.input.descriptors_job),
            "labelling_jobs": {k: int(v) for k, v in self.input.labelling_jobs.items()},
        }
        # output first, status last: a crash while writing never leaves a "finished" job
        self.to_hdf()
        self.status.finished = True
        self.project_hdf5["status"] = self.status.string

    # -- output -------------------------------------------------------------------------------
    def get_table(self) -> pd.DataFrame:
        """The error table (one row per fit) as a DataFrame."""
        return table_from_hdf_dict(self.output.table)

    def get_coefficients(self, index: int = 0) -> np.ndarray:
        """Coefficients of fit ``index`` (row of :meth:`get_table`), constant first."""
        return np.asarray(self.output.coefficients)[index]
