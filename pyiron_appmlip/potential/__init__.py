"""The fitted potential: the model with the descriptor settings it was fitted with
(:class:`SnapModel`), a fixed reference potential under it (:class:`ReferencePotential`, e.g.
ZBL), its export to LAMMPS (``pair_style snap`` files, pyiron potential DataFrames) and the MD
evaluation cost of a potential in LAMMPS (atom-steps per second).

Between the descriptors (whose settings a model carries) and the training (which fits models);
no pyiron job here: the jobs in :mod:`pyiron_appmlip.jobs` use these.
"""

from .evaluation_cost import measure_evaluation_cost
from .export import (
    pair_commands,
    snap_element_coefficients,
    snap_potential_dataframe,
    write_snap_potential,
)
from .model import SnapModel
from .reference import ReferencePotential

__all__ = [
    "SnapModel",
    "ReferencePotential",
    "write_snap_potential",
    "snap_potential_dataframe",
    "snap_element_coefficients",
    "pair_commands",
    "measure_evaluation_cost",
]
