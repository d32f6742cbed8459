"""qSNAP descriptors: blocks for the linear fit, their HDF5 store, and export to LAMMPS.

Block of a structure with N atoms: shape ``(1 + 3N, p)``; row 0 the descriptors summed over atoms,
then atom by atom (input order) x, y, z force rows (minus derivatives; predicted forces are
``rows @ beta``), all in the structure's own Cartesian frame; optional six virial rows. Columns:
per element the ``compute snap`` columns (K linear, then K(K+1)/2 quadratic products), then for
several elements the atom counts of elements 2..n on the energy row; no constant column.

Named settings: ``QSnapSettings.preset("paper_qsnap")`` or ``QSnapSettings.preset(
"fitsnap_linear")``; :func:`descriptor_presets` lists the names.

Backends: :func:`compute_qsnap_blocks` (LAMMPS ``compute snap``, default) and
:func:`compute_qsnap_blocks_fitsnap` (FitSNAP); they give the same blocks.
"""

from .evaluation_cost import measure_evaluation_cost
from .export import snap_element_coefficients, snap_potential_dataframe, write_snap_potential
from .fitsnap import compute_qsnap_blocks_fitsnap
from .frames import lammps_frame
from .lammps_snap import compute_qsnap_blocks, iter_qsnap_blocks
from .settings import (
    DESCRIPTOR_PRESETS,
    QSnapSettings,
    bispectrum_indices,
    descriptor_presets,
    n_bispectrum,
)
from .store import BlockStore, compute_to_store

__all__ = [
    "QSnapSettings",
    "DESCRIPTOR_PRESETS",
    "descriptor_presets",
    "bispectrum_indices",
    "n_bispectrum",
    "compute_qsnap_blocks",
    "iter_qsnap_blocks",
    "compute_qsnap_blocks_fitsnap",
    "lammps_frame",
    "write_snap_potential",
    "snap_potential_dataframe",
    "snap_element_coefficients",
    "BlockStore",
    "compute_to_store",
    "measure_evaluation_cost",
]
