"""Structures: conversion to ASE and the stable configuration id.

Descriptors (which depend on structures and 2Jmax) and DFT labels (which depend on structures and
a convergence level) are computed independently and joined by :func:`configuration_id`, a content
hash of the structure. It does not depend on where or when a structure was created, only on its
chemical symbols, positions, cell and periodicity, rounded to 1e-8 Angstrom.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = [
    "to_ase",
    "to_ase_list",
    "configuration_id",
    "configuration_ids",
    "structures_to_arrays",
    "structures_from_arrays",
    "as_strings",
]

_ROUND = 8  # decimals (Angstrom) kept in the configuration id


def to_ase(structure):
    """Return an :class:`ase.Atoms` copy of an ASE or pyiron structure (no calculator attached)."""
    from ase import Atoms

    if isinstance(structure, Atoms) and type(structure) is Atoms:
        atoms = structure.copy()
        atoms.calc = None
        return atoms
    # pyiron_atomistics Atoms is a subclass of ase.Atoms; pyiron_base-free duck typing otherwise.
    for meth in ("to_ase", "get_ase"):
        if hasattr(structure, meth):
            try:
                atoms = getattr(structure, meth)()
                if isinstance(atoms, Atoms):
                    atoms = Atoms(
                        symbols=atoms.get_chemical_symbols(),
                        positions=atoms.get_positions(),
                        cell=np.asarray(atoms.get_cell()),
                        pbc=atoms.get_pbc(),
                    )
                    return atoms
            except Exception:  # pragma: no cover - fall through to the generic path
                pass
    if isinstance(structure, Atoms):
        return Atoms(
            symbols=structure.get_chemical_symbols(),
            positions=structure.get_positions(),
            cell=np.asarray(structure.get_cell()),
            pbc=structure.get_pbc(),
        )
    raise TypeError(
        f"structure must be an ase.Atoms or a pyiron Atoms object, got {type(structure).__name__}"
    )


def to_ase_list(structures: Iterable, name: str = "structures", single: bool = False) -> list:
    """Convert an iterable of structures to a list of ASE Atoms; raise on an empty set.

    Args:
        structures: a list (or any iterable) of ASE or pyiron structures.
        name: how the argument is named in error messages.
        single: accept one structure as a list of one (otherwise a single structure is
            refused: iterating over it would give its atoms).

    Raises:
        ValueError: for None or an empty set.
        TypeError: for a single structure (unless ``single``), or an entry that is not a
            structure, naming its position and type.
    """
    from ase import Atom, Atoms

    if structures is None:
        raise ValueError(f"{name} must be a non-empty list of structures, got None")
    if isinstance(structures, Atoms):
        if single:
            return [to_ase(structures)]
        raise TypeError(
            f"{name} must be a list of structures, got a single {type(structures).__name__} "
            f"object: pass a list of structures, e.g. [atoms]"
        )
    if isinstance(structures, str | bytes | Atom):
        raise TypeError(
            f"{name} must be a list of structures (ASE or pyiron Atoms), got "
            f"{type(structures).__name__}"
        )
    out = []
    for k, s in enumerate(structures):
        if isinstance(s, Atom):
            raise TypeError(
                f"{name}[{k}] is a single atom (ase.Atom), not a structure: pass a list of "
                "structures (ASE or pyiron Atoms), e.g. [atoms] for one structure"
            )
        try:
            out.append(to_ase(s))
        except TypeError as err:
            raise TypeError(f"{name}[{k}]: {err}; pass a list of structures") from None
    if len(out) == 0:
        raise ValueError(f"{name} must be a non-empty list of structures, got an empty list")
    return out


def configuration_id(structure) -> str:
    """Stable content hash (16 hex digits) of a structure's symbols, positions, cell and pbc."""
    atoms = to_ase(structure)
    h = hashlib.sha256()
    h.update("|".join(atoms.get_chemical_symbols()).encode())
    for arr in (atoms.get_positions(), np.asarray(atoms.get_cell())):
        rounded = np.round(np.asarray(arr, dtype=float), _ROUND) + 0.0  # +0.0 folds -0.0 into 0.0
        h.update(np.ascontiguousarray(rounded).tobytes())
    h.update(np.asarray(atoms.get_pbc(), dtype=bool).tobytes())
    return h.hexdigest()[:16]


def configuration_ids(structures: Sequence) -> list[str]:
    """Configuration ids of a sequence of structures, in order."""
    return [configuration_id(s) for s in structures]


def structures_to_arrays(structures: Sequence) -> dict:
    """Flatten a list of structures into a dict of plain arrays (HDF5-friendly).

    Returns:
        dict with the keys ``numbers`` (sum N,), ``positions`` (sum N, 3), ``n_atoms`` (M,),
        ``cells`` (M, 3, 3), ``pbc`` (M, 3), ``ids`` (M,) configuration ids as fixed-width
        bytes.
    """
    atoms_list = [to_ase(s) for s in structures]
    n_atoms = np.array([len(a) for a in atoms_list], dtype=np.int64)
    if len(atoms_list) == 0:
        numbers = np.zeros(0, dtype=np.int64)
        positions = np.zeros((0, 3))
    else:
        numbers = np.concatenate([a.get_atomic_numbers() for a in atoms_list]).astype(np.int64)
        positions = np.concatenate([a.get_positions() for a in atoms_list]).astype(float)
    return {
        "numbers": numbers,
        "positions": positions,
        "n_atoms": n_atoms,
        "cells": np.array([np.asarray(a.get_cell()) for a in atoms_list], dtype=float).reshape(
            -1, 3, 3
        ),
        "pbc": np.array([a.get_pbc() for a in atoms_list], dtype=bool).reshape(-1, 3),
        "ids": np.array([configuration_id(a) for a in atoms_list], dtype="S16"),
    }


def structures_from_arrays(arrays: dict) -> list:
    """Inverse of :func:`structures_to_arrays`: a list of ASE Atoms."""
    from ase import Atoms

    n_atoms = np.asarray(arrays["n_atoms"], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(n_atoms)])
    numbers = np.asarray(arrays["numbers"])
    positions = np.asarray(arrays["positions"], dtype=float).reshape(-1, 3)
    cells = np.asarray(arrays["cells"], dtype=float).reshape(-1, 3, 3)
    pbc = np.asarray(arrays["pbc"], dtype=bool).reshape(-1, 3)
    return [
        Atoms(
            numbers=numbers[offsets[m] : offsets[m + 1]],
            positions=positions[offsets[m] : offsets[m + 1]],
            cell=cells[m],
            pbc=pbc[m],
        )
        for m in range(len(n_atoms))
    ]


def as_strings(values) -> list[str]:
    """Strings from stored values (HDF5 returns ids and names as bytes)."""
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]
