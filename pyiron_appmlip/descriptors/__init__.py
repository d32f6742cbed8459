"""qSNAP descriptors: blocks for the linear fit and their HDF5 store.

Block of a structure with N atoms: shape ``(1 + 3N, p)``; row 0 the descriptors summed over atoms,
then atom by atom (input order) x, y, z force rows (minus derivatives; predicted forces are
``rows @ beta``), all in the structure's own Cartesian frame; optional six virial rows. Columns:
per element the ``compute snap`` columns (K linear, then K(K+1)/2 quadratic products), then for
several elements the atom counts of elements 2..n on the energy row; no constant column.

Named settings: ``QSnapSettings.preset("paper_qsnap")`` or ``QSnapSettings.preset(
"fitsnap_linear")``; :func:`descriptor_presets` lists the names.

Backends: :func:`compute_qsnap_blocks` (LAMMPS ``compute snap``, default) and
:func:`compute_qsnap_blocks_fitsnap` (FitSNAP); they give the same blocks.

The export of a fitted model to LAMMPS and the MD evaluation cost are in
:mod:`pyiron_appmlip.potential`; importing them from here still works but warns.
"""

import warnings

from .compute import compute_to_store
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
from .store import BlockStore

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
    "BlockStore",
    "compute_to_store",
]

_MOVED_TO_POTENTIAL = (
    "write_snap_potential",
    "snap_potential_dataframe",
    "snap_element_coefficients",
    "measure_evaluation_cost",
)


def __getattr__(name):
    if name not in _MOVED_TO_POTENTIAL:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .. import potential

    warnings.warn(
        f"pyiron_appmlip.descriptors.{name} has moved to pyiron_appmlip.potential.{name}",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(potential, name)
