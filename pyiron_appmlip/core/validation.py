"""Argument checks shared by the core modules. Every failure is a ``ValueError`` that names the
parameter and what is allowed."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "check_weights",
    "check_ridge",
    "check_rcond",
    "check_nonempty",
    "check_block",
    "check_labels",
    "check_subset_size",
]


def _positive_finite(value, name: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}") from None
    if not math.isfinite(x) or x <= 0.0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return x


def check_weights(energy_weight, force_weight) -> tuple[float, float]:
    """Return ``(energy_weight, force_weight)`` as floats; both must be finite and > 0."""
    return (
        _positive_finite(energy_weight, "energy_weight"),
        _positive_finite(force_weight, "force_weight"),
    )


def check_ridge(ridge) -> float:
    """Return ``ridge`` as a float; must be finite and >= 0."""
    try:
        x = float(ridge)
    except (TypeError, ValueError):
        raise ValueError(f"ridge must be a finite number >= 0, got {ridge!r}") from None
    if not math.isfinite(x) or x < 0.0:
        raise ValueError(f"ridge must be a finite number >= 0, got {ridge!r}")
    return x


def check_rcond(rcond) -> float:
    """Return ``rcond`` as a float; must satisfy 0 <= rcond < 1."""
    try:
        x = float(rcond)
    except (TypeError, ValueError):
        raise ValueError(f"rcond must be a number in [0, 1), got {rcond!r}") from None
    if not (0.0 <= x < 1.0):
        raise ValueError(f"rcond must be a number in [0, 1), got {rcond!r}")
    return x


def check_nonempty(seq, name: str) -> Sequence:
    """Raise if ``seq`` is empty (``name`` is used in the message)."""
    if seq is None or len(seq) == 0:
        raise ValueError(f"{name} must contain at least one configuration, got an empty list")
    return seq


def check_block(
    block, n_descriptors: int | None = None, n_atoms: int | None = None, name: str = "block"
) -> tuple[np.ndarray, int]:
    """Validate one descriptor block and return ``(block as float64 (1 + 3N, p), N)``.

    The block must be 2-D with ``1 + 3 N`` rows (energy row, then x, y, z rows per atom; no
    virial rows), ``p == n_descriptors`` columns when given, and only finite entries.

    Args:
        block: the descriptor block.
        n_descriptors: the expected number of columns p (not checked when None).
        n_atoms: the expected N (default: taken from the number of rows).
        name: how the block is called in error messages.
    """
    arr = np.asarray(block, dtype=float)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of shape (1 + 3 N, p), got shape {arr.shape}")
    rows, p = arr.shape
    if n_descriptors is not None and p != n_descriptors:
        raise ValueError(
            f"{name} has {p} descriptor columns but {n_descriptors} were expected "
            "(all blocks must share the same p)"
        )
    if n_atoms is None:
        if rows < 4 or (rows - 1) % 3 != 0:
            raise ValueError(
                f"{name} must have 1 + 3 N rows (energy row, then 3 force rows per atom), "
                f"got {rows} rows"
            )
        n_atoms = (rows - 1) // 3
    else:
        n_atoms = int(n_atoms)
        if n_atoms < 1:
            raise ValueError(f"n_atoms must be >= 1, got {n_atoms}")
        if rows != 1 + 3 * n_atoms:
            raise ValueError(
                f"{name} has {rows} rows but n_atoms={n_atoms} requires 1 + 3 N = "
                f"{1 + 3 * n_atoms} rows"
            )
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or inf entries")
    return arr, n_atoms


def check_labels(energy, forces, n_atoms: int, name: str = "labels") -> tuple[float, np.ndarray]:
    """Validate one configuration's total energy (eV) and forces ``(N, 3)`` (eV/Angstrom).

    Args:
        energy: total energy in eV.
        forces: (N, 3) in eV/Angstrom.
        n_atoms: N, the number of atoms of the configuration's block.
        name: how the configuration is called in error messages.

    Returns:
        ``(energy as float, forces as float64 (N, 3))``.
    """
    try:
        e = float(energy)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name}: energy must be a number (total energy in eV), got {energy!r}"
        ) from None
    if not math.isfinite(e):
        raise ValueError(f"{name}: energy is NaN or inf")
    f = np.asarray(forces, dtype=float)
    if f.shape != (n_atoms, 3):
        raise ValueError(
            f"{name}: forces must have shape (N, 3) = ({n_atoms}, 3) to match the block, "
            f"got {f.shape}"
        )
    if not np.isfinite(f).all():
        raise ValueError(f"{name}: forces contain NaN or inf entries")
    return e, f


def check_subset_size(subset_size, pool_size: int) -> int:
    """Return ``subset_size`` as int; must satisfy 1 <= subset_size <= pool_size."""
    k = int(subset_size)
    if k != subset_size or k < 1:
        raise ValueError(f"subset_size must be a positive integer, got {subset_size!r}")
    if k > pool_size:
        raise ValueError(f"subset_size={k} is larger than the pool of {pool_size} configurations")
    return k
