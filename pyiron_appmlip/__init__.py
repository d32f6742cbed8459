"""pyiron_appmlip: application-specific machine-learned interatomic potentials.

DFT reference data at several convergence levels, qSNAP descriptors, leverage sampling, the
energy/force-weighted linear fit, errors, sweeps, the Pareto front and a recommendation, as
pyiron jobs in a Project. ``from pyiron_appmlip import Project`` gives a pyiron_atomistics
Project in which this package's job classes are registered (``pr.create.job.Appmlip...``).
"""

import importlib.util
import sys
from importlib import import_module
from importlib.abc import MetaPathFinder

try:
    from ._version import __version__  # written by hatch-vcs on build
except ImportError:  # pragma: no cover - editable install without a build hook
    try:
        from importlib.metadata import version as _version

        __version__ = _version("pyiron_appmlip")
    except Exception:
        __version__ = "0.0.0"

# Job classes, registered with pyiron following its plugin convention.
JOB_CLASSES = {
    "AppmlipSinglePoint": "pyiron_appmlip.jobs.labelling",
    "AppmlipLabelling": "pyiron_appmlip.jobs.labelling",
    "AppmlipDescriptors": "pyiron_appmlip.jobs.descriptors",
    "AppmlipFit": "pyiron_appmlip.jobs.fit",
    "AppmlipSweep": "pyiron_appmlip.jobs.sweep",
    "AppmlipEvaluationCost": "pyiron_appmlip.jobs.evaluation_cost",
    "AppmlipCandidates": "pyiron_appmlip.jobs.candidates",
    "AppmlipDataset": "pyiron_appmlip.jobs.dataset",
    "AppmlipPlan": "pyiron_appmlip.jobs.plan",
    "AppmlipGradedLammps": "pyiron_appmlip.jobs.graded_md",
    "AppmlipActiveLoop": "pyiron_appmlip.jobs.active_loop",
}


def _register_job_classes(pyiron_base) -> None:
    pyiron_base.JOB_CLASS_DICT.update(JOB_CLASSES)


class _RegisterWhenPyironLoads(MetaPathFinder):
    """Registers :data:`JOB_CLASSES` right after ``pyiron_base`` is imported, whoever imports it.

    Importing this package (the numerical core, a sweep unit in a SLURM job or a local worker)
    therefore does not import pyiron_base, which takes longer than numpy and scipy together;
    ``pr.create.job.Appmlip...`` still finds every job class, whether ``pyiron_base`` was
    imported before or after this package."""

    def find_spec(self, name, path=None, target=None):
        if name != "pyiron_base":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)  # once; the other finders locate pyiron_base
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            exec_module = spec.loader.exec_module

            def exec_and_register(module):
                exec_module(module)
                _register_job_classes(module)

            spec.loader.exec_module = exec_and_register
        return spec


if "pyiron_base" in sys.modules:
    _register_job_classes(sys.modules["pyiron_base"])
else:
    sys.meta_path.insert(0, _RegisterWhenPyironLoads())

# Public API: name -> module (imported on first use, so that the numerical core stays light).
_LAZY = {
    "Project": "pyiron_atomistics",
    # convergence levels
    "ConvergenceLevel": "pyiron_appmlip.dft.levels",
    "PAPER_LEVELS": "pyiron_appmlip.dft.levels",
    "kmesh": "pyiron_appmlip.dft.levels",
    "level_label": "pyiron_appmlip.dft.levels",
    "level_order": "pyiron_appmlip.dft.levels",
    # the fitted potential: the model with its settings, its export to LAMMPS
    "SnapModel": "pyiron_appmlip.potential.model",
    "write_snap_potential": "pyiron_appmlip.potential",
    "snap_potential_dataframe": "pyiron_appmlip.potential",
    # training: the fit table's columns, the sweep
    "COLUMNS": "pyiron_appmlip.training.table",
    "describe_columns": "pyiron_appmlip.training.table",
    "SweepGrid": "pyiron_appmlip.training.sweep",
    "run_sweep": "pyiron_appmlip.training.sweep",
    "fit_table": "pyiron_appmlip.training.sweep",
    # numerical core
    "fit_weighted": "pyiron_appmlip.core",
    "leverage_scores": "pyiron_appmlip.core",
    # descriptors
    "compute_qsnap_blocks": "pyiron_appmlip.descriptors",
    "QSnapSettings": "pyiron_appmlip.descriptors",
    "descriptor_presets": "pyiron_appmlip.descriptors",
    # structures
    "configuration_id": "pyiron_appmlip.structures.conversion",
    "read_dataset": "pyiron_appmlip.datasets.importers",
    "rattled_strained_cells": "pyiron_appmlip.structures.candidates",
    # labelled datasets (files of structures with labels; pr.create.job.AppmlipDataset uses them)
    "LabelledDataset": "pyiron_appmlip.datasets.store",
    "load_dataset": "pyiron_appmlip.datasets.store",
    "write_dataset": "pyiron_appmlip.datasets.store",
    "run_quickstart": "pyiron_appmlip.quickstart",
    "install_lammps_executable": "pyiron_appmlip.lammps_executable",
    # study: Pareto front, recommendation, acquisition plan
    "pareto_front": "pyiron_appmlip.core.pareto",
    "recommend": "pyiron_appmlip.study",
    "acquisition_plan": "pyiron_appmlip.study",
}
__all__ = list(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'pyiron_appmlip' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
