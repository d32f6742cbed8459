"""The rule for every set of structures that enters the package: overlapping atoms and duplicates.

One rule, applied by :func:`check_structures` wherever structures come in: the labelling and
descriptors jobs (``job.structures = ...`` and the check before a run), the importers
(:func:`pyiron_appmlip.datasets.importers.read_dataset`), the dataset file
(:func:`pyiron_appmlip.datasets.store.write_dataset`, :class:`~pyiron_appmlip.datasets.store.
LabelledDataset`) and the ``AppmlipDataset`` job:

1. **Overlapping atoms are refused.** No two atoms, periodic images included, may be closer than
   ``min_distance`` (Angstrom; default :data:`DEFAULT_MIN_DISTANCE` = 0.5). Such atoms give DFT
   energies tens of eV off and descriptors far outside anything a model is fitted to. The
   ValueError names each structure (position, configuration id or source file), the two atoms
   and their distance. ``min_distance=None`` switches the check off.
2. **Duplicate configurations are kept once.** Structures with the same
   :func:`~pyiron_appmlip.structures.conversion.configuration_id` (same symbols, positions
   within 1e-8 Angstrom, cell and periodicity) are the same configuration: the first copy is
   kept, later copies are dropped, and a :class:`DuplicateStructuresWarning` names every
   duplicated id and the positions (or files) of its copies. Imported copies whose *labels*
   differ are a separate question, decided by ``read_dataset(duplicates=...)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

__all__ = [
    "DEFAULT_MIN_DISTANCE",
    "DuplicateStructuresWarning",
    "check_min_distance",
    "check_structures",
    "checked_structure_arrays",
    "closest_pair",
    "warn_duplicates",
]

#: Smallest allowed distance between two atoms (periodic images included), Angstrom.
DEFAULT_MIN_DISTANCE = 0.5
_SHOWN = 5  # structures or duplicates listed in one message


class DuplicateStructuresWarning(UserWarning):
    """Copies of one configuration were given; all but the first were dropped."""


def check_min_distance(value) -> float | None:
    """``min_distance`` as a float, or None; anything but a positive finite number is refused.

    Raises:
        ValueError: naming the parameter and the allowed values.
    """
    if value is None:
        return None
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )
    if not ok or not (np.isfinite(value) and value > 0):
        raise ValueError(
            f"min_distance must be a positive number of Angstrom or None (no check), got {value!r}"
        )
    return float(value)


def closest_pair(atoms, threshold: float) -> tuple[float, int, int] | None:
    """The closest two atoms of a structure if they are closer than ``threshold``, else None.

    Periodic images count along the periodic directions: an atom closer than ``threshold`` to
    an image of itself is reported as ``(distance, i, i)``.

    Args:
        atoms: ASE or pyiron structure.
        threshold: distance in Angstrom.

    Returns:
        ``(distance, i, j)`` with ``i <= j`` (atom indices), or None.

    Raises:
        ValueError: for a structure periodic along a direction whose cell vectors do not span
            a volume (the periodic images are then undefined).
    """
    from ase.neighborlist import neighbor_list

    from .conversion import to_ase

    atoms = to_ase(atoms)
    if len(atoms) == 0:
        return None
    cell = np.asarray(atoms.get_cell(), dtype=float)
    pbc = np.asarray(atoms.get_pbc(), dtype=bool)
    if pbc.any() and abs(np.linalg.det(cell)) < 1e-10 * max(float(np.abs(cell).max()), 1.0) ** 3:
        raise ValueError(
            f"the structure is periodic (pbc={pbc.tolist()}) but its cell {cell.tolist()} has "
            "zero volume: give three independent cell vectors, or pbc=False"
        )
    i, j, d = neighbor_list("ijd", atoms, float(threshold), self_interaction=False)
    close = d < threshold
    if not close.any():
        return None
    k = int(np.argmin(np.where(close, d, np.inf)))
    a, b = sorted((int(i[k]), int(j[k])))
    return float(d[k]), a, b


def _listed(items: list[str]) -> str:
    more = f"; and {len(items) - _SHOWN} more" if len(items) > _SHOWN else ""
    return "; ".join(items[:_SHOWN]) + more


def warn_duplicates(copies: dict, what: str = "structures", action: str = "", stacklevel=3):
    """Warn (:class:`DuplicateStructuresWarning`) about duplicate configurations.

    Args:
        copies: ``{configuration id: [where each copy was, the kept one first]}`` (positions
            or file names), only ids with more than one copy.
        what: what the structures are, for the message (e.g. ``"job.structures"``).
        action: what was done, default: the first copy is kept, the others are dropped.
        stacklevel: passed to :func:`warnings.warn`.
    """
    if not copies:
        return
    action = action or "the first copy of each is kept, the later ones are dropped"
    items = [f"id {cid} at {', '.join(map(str, where))}" for cid, where in copies.items()]
    n = sum(len(where) - 1 for where in copies.values())
    warnings.warn(
        f"{what}: {n} duplicate configuration(s) of {len(copies)} structure(s) ({action}): "
        f"{_listed(items)}",
        DuplicateStructuresWarning,
        stacklevel=stacklevel,
    )


def check_structures(
    structures: Sequence,
    min_distance: float | None = DEFAULT_MIN_DISTANCE,
    *,
    ids: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
    what: str = "structures",
    hint: str = "min_distance=None switches the check off",
) -> list[int]:
    """Apply the package's rule to a set of structures (see the module docstring).

    Args:
        structures: ASE or pyiron structures.
        min_distance: smallest allowed distance between two atoms (periodic images included),
            a positive number of Angstrom; None: no check.
        ids: the structures' configuration ids if already known (computed otherwise).
        names: how each structure is named in messages (default ``"<what>[k] (id <id>)"``).
        what: what the structures are (e.g. ``"job.structures"``), for the messages.
        hint: how the caller switches the distance check off, appended to its message.

    Returns:
        The positions of the structures kept, in order: all but the later copies of a
        configuration given more than once (those are dropped with a
        :class:`DuplicateStructuresWarning` naming them).

    Raises:
        ValueError: for a bad ``min_distance``, or structures with atoms closer than
            ``min_distance`` (each named with the two atoms and their distance; the first
            five, and how many more).
    """
    from .conversion import configuration_id, to_ase

    threshold = check_min_distance(min_distance)
    structures = list(structures)
    ids = [configuration_id(s) for s in structures] if ids is None else [str(i) for i in ids]
    if len(ids) != len(structures):
        raise ValueError(f"ids has {len(ids)} entries for {len(structures)} structures")
    if names is None:
        names = [f"{what}[{k}] (id {cid})" for k, cid in enumerate(ids)]
    first: dict[str, int] = {}
    copies: dict[str, list] = {}
    kept = []
    for k, cid in enumerate(ids):
        if cid in first:
            copies.setdefault(cid, [first[cid]]).append(k)
        else:
            first[cid] = k
            kept.append(k)
    if threshold is not None:
        problems = []
        for k in kept:
            try:
                close = closest_pair(to_ase(structures[k]), threshold)
            except ValueError as err:
                raise ValueError(f"{names[k]}: {err}") from None
            if close is None:
                continue
            d, i, j = close
            pair = f"atoms {i} and {j} are" if i != j else f"atom {i} and its periodic image are"
            problems.append(f"{names[k]}: {pair} {d:.4f} Angstrom apart")
        if problems:
            raise ValueError(
                f"{_listed(problems)}, below min_distance={min_distance} (Angstrom; overlapping "
                f"atoms give meaningless labels and descriptors; {hint})"
            )
    warn_duplicates({cid: [f"position {k}" for k in ks] for cid, ks in copies.items()}, what)
    return kept


def checked_structure_arrays(structures, what: str = "job.structures") -> dict:
    """Structures given to a job's ``structures`` input as the arrays it stores, after the
    package's duplicate rule (:func:`check_structures` without the distance check, which the
    job applies with its own ``min_distance`` when it runs).

    Args:
        structures: one ASE/pyiron structure or a list of them.
        what: how the input is named in messages.

    Returns:
        :func:`~pyiron_appmlip.structures.conversion.structures_to_arrays` of the structures,
        each configuration once.
    """
    from .conversion import as_strings, structures_to_arrays, to_ase_list

    atoms = to_ase_list(structures, what, single=True)
    arrays = structures_to_arrays(atoms)
    kept = check_structures(atoms, None, ids=as_strings(arrays["ids"]), what=what)
    if len(kept) < len(atoms):
        arrays = structures_to_arrays([atoms[k] for k in kept])
    return arrays
