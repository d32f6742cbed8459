"""qSNAP descriptor blocks from LAMMPS ``compute snap`` (the default backend).

One block per structure, shape ``(1 + 3N [+ 6], p)``:

* row 0: the energy row, the descriptors summed over atoms (total, not per atom);
* rows 1..3N: atom by atom (input order) x, y, z, minus the derivatives of the energy row with
  respect to that atom's coordinate, so that predicted forces are ``rows @ beta``;
* with ``virial=True``, six more rows: the ``compute snap`` virial rows (xx, yy, zz, yz, xz, xy,
  eV, LAMMPS' sign convention), rotated back like a tensor.

Everything is in the structure's own Cartesian frame (LAMMPS' lower-triangular frame is undone,
see :mod:`.frames`). Columns: see :mod:`.settings` (per element the K linear and K(K+1)/2
quadratic ``compute snap`` columns, then atom-count columns for elements 2..n); no constant
column.

One LAMMPS instance per process (:mod:`.lammps_session`) is reused for all structures (``clear``
and redefine the box).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from ..structures.checks import DEFAULT_MIN_DISTANCE
from ..structures.conversion import configuration_id, to_ase
from .frames import derivative_rows_from_lammps, min_distance, to_lammps, virial_rows_from_lammps
from .lammps_session import close_lammps
from .lammps_session import lammps_instance as _lammps
from .settings import QSnapSettings

__all__ = [
    "compute_qsnap_blocks",
    "iter_qsnap_blocks",
    "compute_block",
    "prepare_structure",
    "PreparedStructure",
    "close_lammps",
    "DEFAULT_MIN_DISTANCE",
]


@dataclass
class PreparedStructure:
    """A structure in the LAMMPS frame, ready for ``compute snap``.

    Attributes:
        positions: (N, 3) wrapped, LAMMPS frame.
        cell: (3, 3) lower-triangular rows a, b, c.
        rotation: Q: structure frame -> LAMMPS frame is ``x @ Q``.
        types: (N,) 1-based LAMMPS types (index in settings.elements + 1).
        counts: (n_elements,) atoms per element.
    """

    positions: np.ndarray
    cell: np.ndarray
    rotation: np.ndarray
    types: np.ndarray
    counts: np.ndarray

    @property
    def n_atoms(self) -> int:
        return len(self.types)


def prepare_structure(
    structure, settings: QSnapSettings, min_dist: float | None = DEFAULT_MIN_DISTANCE, label=""
) -> PreparedStructure:
    """Validate a structure and bring it into the LAMMPS frame.

    Args:
        structure: ASE or pyiron structure.
        settings: :class:`QSnapSettings` with ``elements`` set.
        min_dist: smallest allowed interatomic distance, Angstrom; None or 0 disables the check.
        label: how the structure is named in error messages.

    Raises:
        ValueError: for an empty structure, an element not in ``settings.elements``, or two
            atoms (periodic images included) closer than ``min_dist`` Angstrom.
    """
    atoms = to_ase(structure)
    where = f"structure {label}" if label != "" else "structure"
    if len(atoms) == 0:
        raise ValueError(f"{where} has no atoms")
    elements = settings.elements
    if elements is None:
        raise ValueError("settings.elements is not set: use settings.for_structures(structures)")
    index = {e: i for i, e in enumerate(elements)}
    symbols = atoms.get_chemical_symbols()
    unknown = sorted(set(symbols) - set(index))
    if unknown:
        raise ValueError(f"unknown element(s) {unknown} in {where}: elements are {list(elements)}")
    types = np.array([index[s] + 1 for s in symbols], dtype=np.int64)
    pbc = atoms.get_pbc()
    cell = np.asarray(atoms.get_cell(), dtype=float)
    try:
        pos, lower, q = to_lammps(atoms.get_positions(), cell, pbc, settings.cutoff())
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    if min_dist:
        close = min_distance(pos, lower, float(min_dist))
        if close is not None:
            d, i, j = close
            what = f"atoms {i} and {j}" if i != j else f"atom {i} and its periodic image"
            raise ValueError(
                f"overlapping atoms in {where} (id {configuration_id(atoms)}): {what} are "
                f"{d:.4f} Angstrom apart, below min_distance={min_dist}"
            )
    counts = np.bincount(types - 1, minlength=len(elements))
    return PreparedStructure(pos, lower, q, types, counts)


def _snap_command(settings: QSnapSettings) -> str:
    elements = settings.elements
    radii = " ".join(repr(settings.radius(e)) for e in elements)
    weights = " ".join(repr(settings.weight(e)) for e in elements)
    return (
        f"compute snap all snap {settings.rcutfac!r} {settings.rfac0!r} {settings.twojmax} "
        f"{radii} {weights} rmin0 {settings.rmin0!r} bzeroflag {settings.bzeroflag} "
        f"quadraticflag {settings.quadraticflag} switchflag {settings.switchflag}"
    )


def create_structure(lmp, prep: PreparedStructure, n_types: int) -> None:
    """Box and atoms of a prepared structure in a fresh LAMMPS instance (atom ids 1..n)."""
    n = prep.n_atoms
    lmp.commands_list(_box_commands(prep, n_types))
    lmp.create_atoms(n, list(range(1, n + 1)), prep.types.tolist(), prep.positions.ravel().tolist())
    if int(lmp.get_natoms()) != n:
        raise RuntimeError(f"LAMMPS created {lmp.get_natoms()} of {n} atoms")


def _box_commands(prep: PreparedStructure, n_types: int) -> list[str]:
    cell = prep.cell
    xhi, yhi, zhi = (float(cell[i, i]) for i in range(3))
    xy, xz, yz = float(cell[1, 0]), float(cell[2, 0]), float(cell[2, 1])
    return [
        "clear",
        "units metal",
        "atom_style atomic",
        "atom_modify map array",
        "boundary p p p",
        f"region box prism 0 {xhi!r} 0 {yhi!r} 0 {zhi!r} {xy!r} {xz!r} {yz!r} units box",
        f"create_box {n_types} box",
    ]


def _setup_commands(settings: QSnapSettings) -> list[str]:
    # pair_style zero only provides the neighbour list; its cutoff must cover the SNAP cutoff.
    return [
        "mass * 1.0",
        f"pair_style zero {settings.cutoff() + 1e-3!r}",
        "pair_coeff * *",
        "neighbor 0.1 bin",
        _snap_command(settings),
        "thermo_style custom step",
        "run 0 post no",
    ]


def assemble_block(
    energy_row: np.ndarray,
    force_rows: np.ndarray,
    virial_rows: np.ndarray | None,
    prep: PreparedStructure,
    settings: QSnapSettings,
) -> np.ndarray:
    """A block from LAMMPS-frame rows (compute snap columns only): rotate back, add counts."""
    n = prep.n_atoms
    n_count = settings.n_count_columns()
    p_snap = energy_row.shape[-1]
    n_rows = 1 + 3 * n + (6 if virial_rows is not None else 0)
    block = np.zeros((n_rows, p_snap + n_count))
    block[0, :p_snap] = energy_row
    block[1 : 1 + 3 * n, :p_snap] = derivative_rows_from_lammps(force_rows, prep.rotation)
    if virial_rows is not None:
        block[1 + 3 * n :, :p_snap] = virial_rows_from_lammps(virial_rows, prep.rotation)
    if n_count:
        block[0, p_snap:] = prep.counts[1:]
    return block


def compute_block(
    structure,
    settings: QSnapSettings,
    virial: bool = False,
    min_dist: float | None = DEFAULT_MIN_DISTANCE,
    label="",
) -> np.ndarray:
    """The block of one structure with this process' LAMMPS instance (``settings.elements`` set)."""
    prep = structure if isinstance(structure, PreparedStructure) else None
    if prep is None:
        prep = prepare_structure(structure, settings, min_dist, label=label)
    n = prep.n_atoms
    lmp = _lammps()
    try:
        create_structure(lmp, prep, len(settings.elements))
        lmp.commands_list(_setup_commands(settings))
        raw = np.array(lmp.numpy.extract_compute("snap", 0, 2), dtype=float, copy=True)
    except Exception:
        close_lammps()  # start the next structure from a fresh instance
        raise
    p_snap = len(settings.elements) * settings.n_per_element
    expected = (1 + 3 * n + 6, p_snap + 1)
    if raw.shape != expected:
        raise RuntimeError(f"compute snap array has shape {raw.shape}, expected {expected}")
    raw = raw[:, :p_snap]  # drop the reference-potential column (zero with pair_style zero)
    return assemble_block(
        raw[0], raw[1 : 1 + 3 * n], raw[1 + 3 * n :] if virial else None, prep, settings
    )


def _resolve(structures, twojmax, hyperparameters):
    from ase import Atoms

    from ..structures.conversion import to_ase_list

    if isinstance(structures, Atoms):
        raise TypeError("structures must be a list of structures, got a single Atoms object")
    atoms_list = to_ase_list(structures)
    settings = QSnapSettings.make(twojmax, **hyperparameters).for_structures(atoms_list)
    return atoms_list, settings


def iter_qsnap_blocks(
    structures: Iterable,
    twojmax,
    *,
    virial: bool = False,
    min_distance: float | None = DEFAULT_MIN_DISTANCE,
    **hyperparameters,
) -> Iterator[np.ndarray]:
    """Like :func:`compute_qsnap_blocks`, one block at a time."""
    atoms_list, settings = _resolve(structures, twojmax, hyperparameters)
    for i, atoms in enumerate(atoms_list):
        yield compute_block(atoms, settings, virial=virial, min_dist=min_distance, label=i)


def compute_qsnap_blocks(
    structures: Iterable,
    twojmax,
    *,
    virial: bool = False,
    min_distance: float | None = DEFAULT_MIN_DISTANCE,
    **hyperparameters,
) -> list[np.ndarray]:
    """qSNAP descriptor blocks, one ``(1 + 3N, p)`` array per structure (see module docstring).

    Args:
        structures: ASE or pyiron structures (a non-empty list).
        twojmax: 2Jmax (even positive int), or a :class:`QSnapSettings`.
        virial: append the six virial rows.
        min_distance: reject structures with two atoms closer than this (Angstrom); None
            disables.
        **hyperparameters: overrides of :class:`QSnapSettings` fields (rcutfac, radelem, wj,
            elements, ...). Without ``elements`` the element order is inferred from all
            structures (sorted by atomic number); pass it explicitly to keep columns identical
            across calls.
    """
    return list(
        iter_qsnap_blocks(
            structures, twojmax, virial=virial, min_distance=min_distance, **hyperparameters
        )
    )
