"""Per-atom descriptor rows in a fitted model's column order (for extrapolation grades).

A model's per-atom row of atom i is ``[1, d_i]``: the constant 1 (the per-atom reference
energy), then its descriptor columns laid out as in the descriptor blocks (see
:mod:`.settings`): for every element the ``compute snap`` columns of that element, i.e. the
atom's K linear bispectrum components ``B_k`` (isolated-atom values subtracted with
``bzeroflag`` 1) and, with ``quadraticflag``, the K(K+1)/2 products ``B_1^2/2, B_1 B_2, ...,
B_K^2/2`` in LAMMPS' order, all in the block of the atom's own element and zero in the
others; then, for several elements with ``element_counts``, a 1 in the count column of the
atom's element (elements 2..n). The predicted energy of the atom is ``row @ coefficients``,
and the rows of a structure's atoms sum to ``[N, energy row of its block]``.

The linear components come from LAMMPS ``compute sna/atom`` (:func:`sna_atom_command` writes
the compute line of the settings; a graded MD run uses the same line), the products and the
element layout from :func:`model_columns_from_bispectrum`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from ..structures.checks import DEFAULT_MIN_DISTANCE
from .lammps_session import close_lammps
from .lammps_session import lammps_instance as _lammps
from .lammps_snap import PreparedStructure, create_structure, prepare_structure
from .settings import QSnapSettings

__all__ = [
    "sna_atom_command",
    "model_columns_from_bispectrum",
    "per_atom_bispectrum",
    "per_atom_rows",
    "iter_per_atom_rows",
]


def _checked_settings(settings) -> QSnapSettings:
    if not isinstance(settings, QSnapSettings):
        raise ValueError(
            f"settings must be QSnapSettings (e.g. model.settings), got {type(settings).__name__}"
        )
    if settings.elements is None:
        raise ValueError(
            "settings.elements is not set: use settings.for_structures(structures) or the "
            "model's settings"
        )
    return settings


def sna_atom_command(settings: QSnapSettings, compute_id: str = "appmlip_sna", group="all") -> str:
    """The LAMMPS ``compute sna/atom`` line of the linear bispectrum components of ``settings``.

    The compute gives every atom its K linear components with the settings' cutoff, radii,
    weights, ``rmin0``, ``switchflag`` and ``bzeroflag`` (``quadraticflag 0``: the products are
    formed by :func:`model_columns_from_bispectrum`). Atom types 1..n are ``settings.elements``
    in order.

    Args:
        settings: the descriptor settings of the model (``elements`` set).
        compute_id: the compute's ID.
        group: the LAMMPS group of the atoms to compute.

    Returns:
        One LAMMPS command, e.g. ``"compute appmlip_sna all sna/atom 4.81 0.99363 6 0.5 1.0
        rmin0 0.0 bzeroflag 1 quadraticflag 0 switchflag 1"``.

    Raises:
        ValueError: naming ``settings``, ``compute_id`` or ``group`` for bad values.
    """
    settings = _checked_settings(settings)
    for name, value in (("compute_id", compute_id), ("group", group)):
        if not isinstance(value, str) or not value or any(c.isspace() for c in value):
            raise ValueError(f"{name} must be a LAMMPS ID (a word without spaces), got {value!r}")
    elements = settings.elements
    radii = " ".join(repr(settings.radius(e)) for e in elements)
    weights = " ".join(repr(settings.weight(e)) for e in elements)
    return (
        f"compute {compute_id} {group} sna/atom {settings.rcutfac!r} {settings.rfac0!r} "
        f"{settings.twojmax} {radii} {weights} rmin0 {settings.rmin0!r} "
        f"bzeroflag {settings.bzeroflag} quadraticflag 0 switchflag {settings.switchflag}"
    )


def _types(types, n_atoms: int, elements: tuple[str, ...]) -> np.ndarray:
    """0-based element indices from LAMMPS types (1..n) or element symbols."""
    if types is None:
        if len(elements) > 1:
            raise ValueError(
                f"types must be given for settings with several elements {list(elements)}: the "
                "LAMMPS type (1..n) or the element symbol of every atom"
            )
        return np.zeros(n_atoms, dtype=np.intp)
    t = list(types.tolist() if isinstance(types, np.ndarray) else types)
    if len(t) != n_atoms:
        raise ValueError(f"types has {len(t)} entries but b_linear has {n_atoms} rows")
    index = {e: i for i, e in enumerate(elements)}
    out = np.empty(n_atoms, dtype=np.intp)
    for i, v in enumerate(t):
        if isinstance(v, str):
            if v not in index:
                raise ValueError(f"types[{i}] = {v!r} is not one of the elements {list(elements)}")
            out[i] = index[v]
        elif (
            isinstance(v, int | np.integer) and not isinstance(v, bool) and 1 <= v <= len(elements)
        ):
            out[i] = int(v) - 1
        else:
            raise ValueError(
                f"types[{i}] must be a LAMMPS type 1..{len(elements)} or an element symbol of "
                f"{list(elements)}, got {v!r}"
            )
    return out


def model_columns_from_bispectrum(b_linear, settings: QSnapSettings, types=None) -> np.ndarray:
    """Per-atom rows ``[1, d_i]`` in the model's column order from linear bispectrum components.

    Args:
        b_linear: (n_atoms, K) linear components per atom as ``compute sna/atom`` gives them
            with the settings' ``bzeroflag`` (:func:`sna_atom_command`).
        settings: the model's descriptor settings (``elements`` set).
        types: for several elements, every atom's LAMMPS type (1..n, the order of
            ``settings.elements``) or element symbol; may be omitted for one element.

    Returns:
        (n_atoms, 1 + p) rows, ``p = settings.n_columns()``: the constant 1, then the block
        columns (see the module docstring). Their sum over a structure's atoms is ``[N,
        energy row of its block]``.

    Raises:
        ValueError: naming ``b_linear`` or ``types`` when the shapes do not match the settings.
    """
    settings = _checked_settings(settings)
    b = np.asarray(b_linear, dtype=float)
    k = settings.n_linear
    if b.ndim != 2 or b.shape[1] != k:
        raise ValueError(
            f"b_linear must have shape (n_atoms, {k}) (the linear components of 2Jmax "
            f"{settings.twojmax}), got {b.shape}"
        )
    n_atoms = b.shape[0]
    elements = settings.elements
    element = _types(types, n_atoms, elements)
    n_per = settings.n_per_element
    if settings.quadraticflag:
        upper_a, upper_b = np.triu_indices(k)
        products = b[:, upper_a] * b[:, upper_b]
        products[:, upper_a == upper_b] *= 0.5
        per = np.hstack([b, products])
    else:
        per = b
    out = np.zeros((n_atoms, 1 + settings.n_columns()))
    out[:, 0] = 1.0
    for e in range(len(elements)):
        mine = element == e
        out[mine, 1 + e * n_per : 1 + (e + 1) * n_per] = per[mine]
    if settings.n_count_columns():
        start = 1 + len(elements) * n_per
        for e in range(1, len(elements)):
            out[element == e, start + e - 1] = 1.0
    return out


def _bispectrum_of(prep: PreparedStructure, settings: QSnapSettings) -> np.ndarray:
    n = prep.n_atoms
    lmp = _lammps()
    try:
        create_structure(lmp, prep, len(settings.elements))
        lmp.commands_list(
            [
                "mass * 1.0",
                f"pair_style zero {settings.cutoff() + 1e-3!r}",
                "pair_coeff * *",
                "neighbor 0.1 bin",
                sna_atom_command(settings, "sna"),
                "run 0 post no",
            ]
        )
        raw = np.array(lmp.numpy.extract_compute("sna", 1, 2), dtype=float, copy=True)
        ids = np.array(lmp.numpy.extract_atom("id"), dtype=np.int64, copy=True)[:n]
    except Exception:
        close_lammps()
        raise
    raw = raw.reshape(n, -1)
    if raw.shape != (n, settings.n_linear) or sorted(ids.tolist()) != list(range(1, n + 1)):
        raise RuntimeError(
            f"compute sna/atom gave shape {raw.shape} for ids {ids[:5]}..., expected "
            f"({n}, {settings.n_linear})"
        )
    out = np.empty_like(raw)
    out[ids - 1] = raw  # LAMMPS may hold the atoms in another order than their ids
    return out


def per_atom_bispectrum(
    structures: Iterable,
    settings: QSnapSettings,
    *,
    min_distance: float | None = DEFAULT_MIN_DISTANCE,
) -> list[np.ndarray]:
    """Linear bispectrum components of every atom (LAMMPS ``compute sna/atom``).

    Args:
        structures: ASE or pyiron structures (a list).
        settings: descriptor settings with ``elements`` set (e.g. ``model.settings``).
        min_distance: reject structures with two atoms closer than this (Angstrom); None
            disables the check.

    Returns:
        One (n_atoms, K) array per structure, atoms in input order.
    """
    from ase import Atoms

    from ..structures.conversion import to_ase_list

    settings = _checked_settings(settings)
    if isinstance(structures, Atoms):
        raise ValueError("structures must be a list of structures, got a single Atoms object")
    out = []
    for i, atoms in enumerate(to_ase_list(structures)):
        prep = prepare_structure(atoms, settings, min_distance, label=i)
        out.append(_bispectrum_of(prep, settings))
    return out


def iter_per_atom_rows(
    structures: Sequence,
    settings: QSnapSettings,
    *,
    min_distance: float | None = DEFAULT_MIN_DISTANCE,
) -> Iterator[np.ndarray]:
    """Like :func:`per_atom_rows`, one structure at a time (for training sets too large to
    hold all their rows)."""
    from ase import Atoms

    from ..structures.conversion import to_ase_list

    settings = _checked_settings(settings)
    if isinstance(structures, Atoms):
        raise ValueError("structures must be a list of structures, got a single Atoms object")
    index = {e: i + 1 for i, e in enumerate(settings.elements)}
    for i, atoms in enumerate(to_ase_list(structures)):
        prep = prepare_structure(atoms, settings, min_distance, label=i)
        types = [index[s] for s in atoms.get_chemical_symbols()]
        yield model_columns_from_bispectrum(_bispectrum_of(prep, settings), settings, types)


def per_atom_rows(
    structures: Sequence,
    settings: QSnapSettings,
    *,
    min_distance: float | None = DEFAULT_MIN_DISTANCE,
) -> list[np.ndarray]:
    """Per-atom rows ``[1, d_i]`` of every atom in the model's column order (see the module
    docstring), for :class:`~pyiron_appmlip.core.extrapolation.ExtrapolationGrade`.

    Args:
        structures: ASE or pyiron structures (a list).
        settings: descriptor settings with ``elements`` set (e.g. ``model.settings``); every
            element of the structures must be one of them.
        min_distance: reject structures with two atoms closer than this (Angstrom); None
            disables the check.

    Returns:
        One (n_atoms, 1 + p) array per structure, atoms in input order; the rows of a
        structure sum to ``[N, energy row of its descriptor block]``.
    """
    return list(iter_per_atom_rows(structures, settings, min_distance=min_distance))
