"""Argument checks shared by the core modules. Every failure is a ``ValueError`` that names the
parameter and what is allowed."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "WeightPair",
    "as_weight_pairs",
    "check_weights",
    "check_stress_weight",
    "check_factors",
    "check_ridge",
    "check_rcond",
    "check_nonempty",
    "check_block",
    "check_labels",
    "check_stress",
    "check_volume",
    "check_subset_size",
    "VOIGT",
]

#: Voigt order of the six stress components and virial rows: xx, yy, zz, yz, xz, xy, as
#: ``(rows, columns)`` index arrays into a 3x3 tensor.
VOIGT = ((0, 1, 2, 1, 0, 0), (0, 1, 2, 2, 2, 1))


def _positive_finite(value, name: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}") from None
    if not math.isfinite(x) or x <= 0.0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return x


class WeightPair(tuple):
    """An energy and force weight ``(w_E, w_F)`` as floats, both finite and > 0.

    Checked when made, so code that receives a ``WeightPair`` need not check it again. It is a
    tuple: ``w_e, w_f = pair`` works and it equals the plain tuple of its two floats.

    Args:
        energy_weight: w_E, the weight of the energy rows (finite, > 0).
        force_weight: w_F, the weight of the force rows (finite, > 0).

    Raises:
        ValueError: naming ``energy_weight`` or ``force_weight`` if it is not a finite
            number > 0.
    """

    __slots__ = ()

    def __new__(cls, energy_weight, force_weight):
        return super().__new__(
            cls,
            (
                _positive_finite(energy_weight, "energy_weight"),
                _positive_finite(force_weight, "force_weight"),
            ),
        )

    def __getnewargs__(self):
        return tuple(self)

    @property
    def energy(self) -> float:
        """w_E."""
        return self[0]

    @property
    def force(self) -> float:
        """w_F."""
        return self[1]


def check_optional_positive(value, name: str, unit: str) -> float | None:
    """``value`` as a finite float > 0, or None.

    Raises:
        ValueError: naming ``name`` and ``unit`` for anything else (text, NaN, 0, negative).
    """
    if value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number > 0 ({unit}) or None, got {value!r}") from None
    if not math.isfinite(x) or x <= 0:
        raise ValueError(f"{name} must be a number > 0 ({unit}) or None, got {value!r}")
    return x


def check_weights(energy_weight, force_weight) -> WeightPair:
    """Return ``(energy_weight, force_weight)`` as a :class:`WeightPair` of floats; both must
    be finite and > 0."""
    return WeightPair(energy_weight, force_weight)


def as_weight_pairs(weights) -> list[WeightPair]:
    """``(w_E, w_F)`` pairs as :class:`WeightPair` objects; pairs that already are one are
    taken as they are (they were checked when made), the others are checked."""
    out = []
    for w in weights:
        if not isinstance(w, WeightPair):
            energy_weight, force_weight = w
            w = WeightPair(energy_weight, force_weight)
        out.append(w)
    return out


def check_stress_weight(stress_weight) -> float:
    """Return ``stress_weight`` as a float; must be finite and >= 0 (0: no stress rows)."""
    try:
        x = float(stress_weight)
    except (TypeError, ValueError):
        raise ValueError(
            f"stress_weight must be a finite number >= 0, got {stress_weight!r}"
        ) from None
    if not math.isfinite(x) or x < 0.0:
        raise ValueError(f"stress_weight must be a finite number >= 0, got {stress_weight!r}")
    return x


def check_factors(factors, name: str = "factors") -> tuple[float, float, float]:
    """Return per-configuration weight factors ``(energy, force, stress)`` as floats.

    Each factor multiplies the global weight of that kind of row; all must be finite and >= 0.

    Args:
        factors: three numbers, or None for ``(1.0, 1.0, 1.0)``.
        name: how the factors are called in error messages.
    """
    if factors is None:
        return (1.0, 1.0, 1.0)
    try:
        out = tuple(float(x) for x in factors)
    except (TypeError, ValueError):
        out = ()
    if len(out) != 3 or not all(math.isfinite(x) and x >= 0.0 for x in out):
        raise ValueError(
            f"{name} must be three finite numbers >= 0 (energy, force, stress factors), "
            f"got {factors!r}"
        )
    return out


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
    block,
    n_descriptors: int | None = None,
    n_atoms: int | None = None,
    name: str = "block",
    *,
    virial: bool = False,
) -> tuple[np.ndarray, int]:
    """Validate one descriptor block and return ``(block as float64, N)``.

    The block must be 2-D with ``1 + 3 N`` rows (energy row, then x, y, z rows per atom), or
    with ``virial=True`` ``1 + 3 N + 6`` rows (then the six virial rows xx, yy, zz, yz, xz, xy),
    ``p == n_descriptors`` columns when given, and only finite entries. Whether a block has
    virial rows cannot be told from its shape (6 rows are 2 atoms' worth), so it is never guessed.

    Args:
        block: the descriptor block.
        n_descriptors: the expected number of columns p (not checked when None).
        n_atoms: the expected N (default: taken from the number of rows).
        name: how the block is called in error messages.
        virial: whether the block ends with six virial rows.
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
    extra = 6 if virial else 0
    if n_atoms is None:
        if rows < 4 + extra or (rows - 1) % 3 != 0:
            if virial:
                raise ValueError(
                    f"{name} must have 1 + 3 N + 6 rows (energy row, 3 force rows per atom, "
                    f"6 virial rows), got {rows} rows"
                )
            raise ValueError(
                f"{name} must have 1 + 3 N rows (energy row, then 3 force rows per atom), "
                f"got {rows} rows"
            )
        n_atoms = (rows - 1 - extra) // 3
    else:
        n_atoms = int(n_atoms)
        if n_atoms < 1:
            raise ValueError(f"n_atoms must be >= 1, got {n_atoms}")
        if rows != 1 + 3 * n_atoms + extra:
            what = "1 + 3 N + 6" if virial else "1 + 3 N"
            raise ValueError(
                f"{name} has {rows} rows but n_atoms={n_atoms} requires {what} = "
                f"{1 + 3 * n_atoms + extra} rows"
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


def check_stress(stress, name: str = "stress") -> np.ndarray | None:
    """Validate one configuration's stress and return it in Voigt order, or None.

    Args:
        stress: None (not recorded), six numbers (Voigt xx, yy, zz, yz, xz, xy) or a 3x3 tensor
            (its symmetric part is used), in eV/Angstrom^3 with ASE's sign (positive under
            tension). NaN components are "not recorded" (those rows are left out).
        name: how the configuration is called in error messages.

    Returns:
        A float64 (6,) array (NaN where not recorded), or None when no component is recorded.
    """
    if stress is None:
        return None
    try:
        s = np.asarray(stress, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name}: stress must be six numbers (Voigt xx yy zz yz xz xy) or a 3x3 tensor in "
            f"eV/Angstrom^3, got {stress!r}"
        ) from None
    if s.shape == (3, 3):
        s = 0.5 * (s + s.T)[VOIGT]
    if s.shape != (6,):
        raise ValueError(
            f"{name}: stress must be six numbers (Voigt xx yy zz yz xz xy) or a 3x3 tensor in "
            f"eV/Angstrom^3, got shape {s.shape}"
        )
    if np.isinf(s).any():
        raise ValueError(f"{name}: stress contains inf entries (use NaN for 'not recorded')")
    if np.isnan(s).all():
        return None
    return s


def check_volume(volume, name: str = "volume") -> float:
    """Return a cell volume (Angstrom^3) as a float; must be finite and > 0."""
    return _positive_finite(volume, name)


def check_subset_size(subset_size, pool_size: int) -> int:
    """Return ``subset_size`` as int; must satisfy 1 <= subset_size <= pool_size."""
    k = int(subset_size)
    if k != subset_size or k < 1:
        raise ValueError(f"subset_size must be a positive integer, got {subset_size!r}")
    if k > pool_size:
        raise ValueError(f"subset_size={k} is larger than the pool of {pool_size} configurations")
    return k
