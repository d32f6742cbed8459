"""Extrapolation grades of a linear (q)SNAP model: how far an atom's environment lies outside
what the training data determine.

Both grades work on *per-atom rows* ``b`` in the model's column order: the constant 1 first
(the per-atom reference energy), then the atom's descriptor columns (its linear bispectrum
components, their products with ``quadraticflag``, and for several elements the element
blocks and count columns; :func:`pyiron_appmlip.descriptors.per_atom.per_atom_rows`). The
predicted energy of the atom is ``b @ coefficients``, and the energy row of a configuration's
descriptor block is the sum of its atoms' rows.

Leverage grade (``kind="leverage"``, :func:`leverage_grade`)
    ``g = b^T (A^T A)^-1 b`` with ``A`` the fit's *weighted* training design: per-atom energy
    rows ``w_E [1, X_m[0] / N_m]``, force rows ``w_F [0, X_m[1:]]`` (and stress rows and
    weight factors where the fit had them). With the weights read as inverse label noise,
    ``g`` is the fit's own predictive variance of the atom's energy in units of that noise
    (the variance of ``b @ beta`` when every weighted residual has unit variance; for the
    training rows themselves ``w_E^2 g`` is the usual leverage, at most 1). It is computed
    from any matrix ``F`` with ``F^T F = A^T A``: the R factor the streamed statistics keep
    (:func:`leverage_grade_from_statistics`), the dense weighted matrix itself, or the Gram
    matrix. Columns are scaled to unit norm as the fit scales them, and directions whose
    singular value is at most ``rcond`` times the largest are those the fit does not determine
    (:data:`~pyiron_appmlip.core.DEFAULT_RCOND`, the fit's cutoff). A component ``r`` of the
    scaled row outside the kept directions adds ``||r||^2 / s_cut^2`` with ``s_cut = rcond *
    s_max``: it grades as if the direction were determined no better than the cutoff allows,
    so a row outside the training span grades high, never zero (a plain pseudo-inverse would
    ignore that component). For a row inside the span the grade equals ``b^T pinv(A^T A) b``.
    The unit is that of a squared per-atom energy over the squared weight scale (eV^2 when
    the weights are 1/eV).

MaxVol grade (``kind="maxvol"``, :func:`maxvol_grade`)
    pacemaker's extrapolation grade gamma: MaxVol (:func:`~pyiron_appmlip.core.selectors.
    maxvol_rows`, pacemaker's tolerance 1.001) chooses an *active set* of training atoms whose
    rows span the largest volume; an atom's row is expanded in the active rows, ``b = c
    A_act``, and ``gamma = max_j |c_j|``. Inside the training data gamma is at most 1 (the
    active rows themselves have exactly 1; every training atom at most the tolerance).
    Columns are scaled to unit norm over the training atoms and, when the training atoms span
    fewer dimensions than there are columns (fewer atoms than columns, or dependent columns),
    the expansion works in their numerical row space (rank ``r``, ``r`` active atoms); a
    component ``r`` outside it gives ``||r|| / s_cut``, ``s_cut = rcond`` times the largest
    singular value of the active rows, so again it grades high. gamma is dimensionless.

How they relate: with ``A`` the active rows alone, ``b^T (A^T A)^-1 b = ||c||^2``, which lies
between ``gamma^2`` and ``r gamma^2``. The leverage grade weighs every training row (energies
and forces, with the fit's weights) and is quadratic in the row; the MaxVol grade uses the most
diverse training atoms only and is linear in it. Thresholds of the two therefore correspond as
squares.

Thresholds (:class:`GradeThresholds`) ``warn <= collect <= stop``; :meth:`ExtrapolationGrade.
level` names the highest one a grade exceeds (``"ok"`` at or below ``warn``). Defaults,
calibrated on the training atoms (``training_rows``) with ``tau`` the largest training-atom
grade:

* leverage: ``warn = tau``, ``collect = 4 tau``, ``stop = 100 tau``
  (:data:`LEVERAGE_MULTIPLES`; the squares of MaxVol's 1, 2, 10);
* MaxVol: ``warn = max(tau, 1)``, ``collect = 2 warn``, ``stop = 10 warn``
  (:data:`MAXVOL_MULTIPLES`, the thresholds MTP and pacemaker use for selecting and stopping;
  ``tau`` is 1 up to the MaxVol tolerance).

A training atom therefore grades at most ``warn``; an atom beyond ``collect`` is worth a DFT
calculation (an active-learning loop adds it), and beyond ``stop`` the model's predictions are
not to be trusted (a graded MD run stops).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from ._linalg import DEFAULT_RCOND
from .selectors import MAXVOL_MAX_ITERS, MAXVOL_TOL, maxvol_rows
from .validation import check_rcond, check_ridge, check_stress_weight, check_weights

__all__ = [
    "GRADE_KINDS",
    "GRADE_LEVELS",
    "LEVERAGE_MULTIPLES",
    "MAXVOL_MULTIPLES",
    "GradeThresholds",
    "ExtrapolationGrade",
    "leverage_grade",
    "leverage_grade_from_statistics",
    "maxvol_grade",
]

#: The kinds of grade.
GRADE_KINDS = ("leverage", "maxvol")
#: The levels :meth:`ExtrapolationGrade.level` returns, lowest first.
GRADE_LEVELS = ("ok", "warn", "collect", "stop")
#: Default leverage thresholds as multiples of the largest training-atom grade.
LEVERAGE_MULTIPLES = (1.0, 4.0, 100.0)
#: Default MaxVol thresholds as multiples of ``max(1, largest training-atom gamma)``.
MAXVOL_MULTIPLES = (1.0, 2.0, 10.0)


@dataclass(frozen=True)
class GradeThresholds:
    """The three thresholds of an extrapolation grade, ``0 < warn <= collect <= stop``.

    Attributes:
        warn: above it an atom is outside the training data (the largest training-atom grade
            by default).
        collect: above it the structure is worth labelling and adding to the training set.
        stop: above it the model's predictions are not to be trusted.

    Raises:
        ValueError: naming ``thresholds`` and the order required, for values that are not
            finite positive numbers in that order.
    """

    warn: float
    collect: float
    stop: float

    def __post_init__(self):
        values = []
        for name in ("warn", "collect", "stop"):
            v = getattr(self, name)
            ok = isinstance(v, int | float | np.integer | np.floating) and not isinstance(
                v, bool | np.bool_
            )
            if not ok or not math.isfinite(float(v)):
                raise ValueError(
                    f"thresholds must be finite numbers with 0 < warn <= collect <= stop, got "
                    f"{name}={v!r}"
                )
            values.append(float(v))
        warn, collect, stop = values
        if not (0.0 < warn <= collect <= stop):
            raise ValueError(
                "thresholds must satisfy 0 < warn <= collect <= stop, got "
                f"warn={warn}, collect={collect}, stop={stop}"
            )
        for name, v in zip(("warn", "collect", "stop"), values, strict=True):
            object.__setattr__(self, name, v)

    @classmethod
    def make(cls, value) -> GradeThresholds:
        """Thresholds from a :class:`GradeThresholds`, a mapping with the three keys or a
        sequence ``(warn, collect, stop)``.

        Raises:
            ValueError: naming ``thresholds`` for anything else.
        """
        if isinstance(value, GradeThresholds):
            return value
        if isinstance(value, Mapping):
            missing = [k for k in ("warn", "collect", "stop") if k not in value]
            if missing:
                raise ValueError(
                    f"thresholds must have the keys warn, collect and stop; missing {missing}"
                )
            return cls(value["warn"], value["collect"], value["stop"])
        if isinstance(value, Sequence | np.ndarray) and not isinstance(value, str | bytes):
            if len(value) == 3:
                return cls(*(v.item() if isinstance(v, np.generic) else v for v in value))
        raise ValueError(
            "thresholds must be GradeThresholds, a mapping {warn, collect, stop} or three "
            f"numbers (warn, collect, stop) with 0 < warn <= collect <= stop, got {value!r}"
        )

    def as_tuple(self) -> tuple[float, float, float]:
        """``(warn, collect, stop)``."""
        return (self.warn, self.collect, self.stop)

    def level(self, grade: float) -> str:
        """The level of one grade: ``"ok"`` (at most ``warn``), ``"warn"`` (above ``warn``),
        ``"collect"`` (above ``collect``) or ``"stop"`` (above ``stop``)."""
        if grade > self.stop:
            return "stop"
        if grade > self.collect:
            return "collect"
        if grade > self.warn:
            return "warn"
        return "ok"

    def to_dict(self) -> dict:
        return {"warn": self.warn, "collect": self.collect, "stop": self.stop}

    @classmethod
    def from_dict(cls, data: Mapping) -> GradeThresholds:
        return cls.make(data)


def _check_kind(kind) -> str:
    if kind not in GRADE_KINDS:
        raise ValueError(f"kind must be one of {list(GRADE_KINDS)}, got {kind!r}")
    return kind


@dataclass(frozen=True, eq=False)
class ExtrapolationGrade:
    """An extrapolation grade of one model (see the module docstring for the definitions).

    Build it with :func:`leverage_grade`, :func:`leverage_grade_from_statistics` or
    :func:`maxvol_grade`; store it with :meth:`to_dict` and rebuild it with
    :meth:`from_dict`.

    Attributes:
        kind: ``"leverage"`` or ``"maxvol"``.
        thresholds: the :class:`GradeThresholds`.
        n_columns: number of columns of a per-atom row, the constant column included (the
            number of the model's coefficients).
        scale: (n_columns,) column scaling applied to a row first.
        basis: (n_columns, k) orthonormal basis of the directions the training data determine
            (scaled coordinates).
        transform: leverage: (k,) singular values of those directions; MaxVol: (k, k) inverse
            of the active rows in basis coordinates.
        cutoff: ``s_cut``, the singular value a component outside ``basis`` is graded with.
        training_max: the largest grade of the training atoms the thresholds were calibrated
            on (NaN if they were given).
        n_training: number of training rows behind the grade (MaxVol: training atoms;
            leverage: rows of the weighted design, -1 if unknown).
        active_set: MaxVol: indices of the active training atoms in the order the rows were
            given; leverage: empty.
    """

    kind: str
    thresholds: GradeThresholds
    n_columns: int
    scale: np.ndarray
    basis: np.ndarray
    transform: np.ndarray
    cutoff: float
    training_max: float = float("nan")
    n_training: int = -1
    active_set: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=int))

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "kind", _check_kind(self.kind))
        set_(self, "thresholds", GradeThresholds.make(self.thresholds))
        n = int(self.n_columns)
        if n < 1:
            raise ValueError(f"n_columns must be >= 1, got {self.n_columns!r}")
        set_(self, "n_columns", n)
        scale = np.array(self.scale, dtype=float).reshape(-1)
        basis = np.array(self.basis, dtype=float)
        transform = np.array(self.transform, dtype=float)
        if basis.ndim != 2 or scale.shape != (n,) or basis.shape[0] != n:
            raise ValueError(
                f"scale must have shape ({n},) and basis ({n}, k), got {scale.shape} and "
                f"{basis.shape}"
            )
        k = basis.shape[1]
        expected = (k,) if self.kind == "leverage" else (k, k)
        if transform.shape != expected:
            raise ValueError(
                f"transform of a {self.kind} grade must have shape {expected}, got "
                f"{transform.shape}"
            )
        cutoff = float(self.cutoff)
        if not cutoff > 0 or not math.isfinite(cutoff):
            raise ValueError(f"cutoff must be a positive number, got {self.cutoff!r}")
        for arr in (scale, basis, transform):
            arr.setflags(write=False)
        set_(self, "scale", scale)
        set_(self, "basis", basis)
        set_(self, "transform", transform)
        set_(self, "cutoff", cutoff)
        set_(self, "training_max", float(self.training_max))
        set_(self, "n_training", int(self.n_training))
        active = np.array(self.active_set, dtype=np.int64).reshape(-1)
        active.setflags(write=False)
        set_(self, "active_set", active)

    @property
    def rank(self) -> int:
        """Number of directions the training data determine."""
        return int(self.basis.shape[1])

    def _rows(self, rows, name: str = "rows") -> np.ndarray:
        x = np.asarray(rows, dtype=float)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.n_columns:
            raise ValueError(
                f"{name} must have shape (n_atoms, {self.n_columns}) (the constant column 1 "
                f"first, then the model's descriptor columns), got {np.shape(rows)}"
            )
        if not np.isfinite(x).all():
            raise ValueError(f"{name} must be finite")
        return x

    def per_atom(self, rows) -> np.ndarray:
        """The grade of every atom.

        Args:
            rows: (n_atoms, n_columns) per-atom rows in the model's column order, the constant
                column of 1 first.

        Returns:
            (n_atoms,) grades (leverage: squared-energy units, see the module docstring;
            MaxVol: dimensionless gamma).
        """
        z = self._rows(rows) * self.scale
        y = z @ self.basis
        outside = np.linalg.norm(z - y @ self.basis.T, axis=1) / self.cutoff
        if self.kind == "leverage":
            inside = np.sum((y / self.transform) ** 2, axis=1) if self.rank else 0.0
            return inside + outside**2
        inside = np.abs(y @ self.transform).max(axis=1) if self.rank else 0.0
        return np.maximum(inside, outside)

    def per_structure(self, rows_list: Sequence) -> np.ndarray:
        """The largest atom grade of each structure.

        Args:
            rows_list: one (n_atoms, n_columns) array of per-atom rows per structure.

        Returns:
            (n_structures,) grades.
        """
        if isinstance(rows_list, np.ndarray) and rows_list.ndim == 2:
            raise ValueError(
                "rows_list must be a list of (n_atoms, n_columns) arrays, one per structure; "
                "for the atoms of one structure use per_atom(rows)"
            )
        out = np.empty(len(rows_list))
        for i, rows in enumerate(rows_list):
            g = self.per_atom(self._rows(rows, f"rows_list[{i}]"))
            out[i] = g.max() if g.size else 0.0
        return out

    def level(self, grades) -> str:
        """The level of a grade, or of the largest of several grades.

        Returns:
            ``"ok"`` (at most ``warn``), ``"warn"`` (above ``warn``), ``"collect"`` (above
            ``collect``) or ``"stop"`` (above ``stop``).
        """
        g = np.asarray(grades, dtype=float)
        if g.size == 0:
            return "ok"
        if np.isnan(g).any():
            raise ValueError("grades must not contain NaN")
        return self.thresholds.level(float(g.max()))

    def levels(self, grades) -> np.ndarray:
        """The level of each grade (an array of the names of :meth:`level`)."""
        g = np.asarray(grades, dtype=float)
        index = np.searchsorted(self.thresholds.as_tuple(), g, "left")
        return np.asarray(GRADE_LEVELS, dtype=object)[index]

    def calibrated(self, training_max: float, multiples=None) -> ExtrapolationGrade:
        """This grade with thresholds calibrated on the largest training-atom grade.

        Use it when the training atoms are graded in pieces (``training_max`` the largest of
        :meth:`per_atom` over all of them); the builders' ``training_rows`` do the same in one
        go.

        Args:
            training_max: the largest grade of the training atoms.
            multiples: ``(warn, collect, stop)`` multiples of ``training_max`` (MaxVol: of
                ``max(training_max, 1)``); default :data:`LEVERAGE_MULTIPLES` or
                :data:`MAXVOL_MULTIPLES`.

        Raises:
            ValueError: naming ``training_max`` when it is not a positive number, or
                ``multiples``.
        """
        if multiples is None:
            multiples = LEVERAGE_MULTIPLES if self.kind == "leverage" else MAXVOL_MULTIPLES
        multiples = _check_multiples(multiples, "multiples")
        tau = float(training_max)
        base = max(tau, 1.0) if self.kind == "maxvol" else tau
        if not base > 0 or not math.isfinite(base):
            raise ValueError(
                f"training_max must be a positive number (the training atoms' largest grade), "
                f"got {training_max!r}: the thresholds cannot be calibrated; give thresholds"
            )
        return dataclasses.replace(
            self, thresholds=GradeThresholds(*(m * base for m in multiples)), training_max=tau
        )

    def with_thresholds(self, thresholds) -> ExtrapolationGrade:
        """This grade with other thresholds (a :class:`GradeThresholds`, mapping or triple)."""
        return dataclasses.replace(self, thresholds=GradeThresholds.make(thresholds))

    def to_dict(self) -> dict:
        """Plain arrays and scalars (storable in pyiron's HDF5 and in ``numpy.savez``);
        inverse of :meth:`from_dict`."""
        return {
            "kind": self.kind,
            "thresholds": np.array(self.thresholds.as_tuple()),
            "n_columns": self.n_columns,
            "scale": np.array(self.scale),
            "basis": np.array(self.basis),
            "transform": np.array(self.transform),
            "cutoff": self.cutoff,
            "training_max": self.training_max,
            "n_training": self.n_training,
            "active_set": np.array(self.active_set),
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> ExtrapolationGrade:
        """Rebuild a grade stored with :meth:`to_dict`."""
        kind = data["kind"]
        if isinstance(kind, bytes):
            kind = kind.decode()
        n = int(data["n_columns"])
        basis = np.asarray(data["basis"], dtype=float).reshape(n, -1)
        k = basis.shape[1]
        transform = np.asarray(data["transform"], dtype=float)
        transform = transform.reshape((k,) if str(kind) == "leverage" else (k, k))
        return cls(
            kind=str(kind),
            thresholds=GradeThresholds.make(np.asarray(data["thresholds"], dtype=float)),
            n_columns=n,
            scale=np.asarray(data["scale"], dtype=float),
            basis=basis,
            transform=transform,
            cutoff=float(data["cutoff"]),
            training_max=float(data.get("training_max", float("nan"))),
            n_training=int(data.get("n_training", -1)),
            active_set=np.asarray(data.get("active_set", np.zeros(0)), dtype=np.int64),
        )

    def __repr__(self) -> str:
        t = self.thresholds
        return (
            f"ExtrapolationGrade(kind={self.kind!r}, n_columns={self.n_columns}, "
            f"rank={self.rank}, thresholds=(warn={t.warn:.4g}, collect={t.collect:.4g}, "
            f"stop={t.stop:.4g}))"
        )


# -- builders ----------------------------------------------------------------------------------
def _stack_rows(rows, n_columns: int | None, name: str) -> np.ndarray:
    """Per-atom rows given as one 2-D array or a list of them, stacked (m, n)."""
    if isinstance(rows, np.ndarray) and rows.ndim == 2:
        parts = [rows]
    else:
        parts = [np.asarray(r, dtype=float) for r in rows]
        parts = [p[None, :] if p.ndim == 1 else p for p in parts]
    if not parts:
        raise ValueError(f"{name} must hold at least one per-atom row")
    x = np.vstack([np.asarray(p, dtype=float) for p in parts])
    expected = x.shape[1] if n_columns is None else n_columns
    if x.ndim != 2 or x.shape[1] != expected or x.shape[0] == 0:
        raise ValueError(
            f"{name} must be per-atom rows of shape (n_atoms, {expected}) (the constant column "
            f"1 first), got {x.shape}"
        )
    if not np.isfinite(x).all():
        raise ValueError(f"{name} must be finite")
    return x


def _check_grade_rcond(rcond) -> float:
    try:
        x = check_rcond(rcond)
    except ValueError:
        x = 0.0
    if not x > 0.0:
        raise ValueError(f"rcond must be a number in (0, 1), got {rcond!r}")
    return x


def _unit_scale(norms: np.ndarray) -> np.ndarray:
    scale = np.ones_like(norms)
    np.divide(1.0, norms, out=scale, where=norms > 0)
    return scale


def _check_multiples(multiples, name: str) -> tuple[float, float, float]:
    try:
        GradeThresholds.make(multiples)
    except ValueError:
        raise ValueError(
            f"{name} must be three numbers 0 < warn <= collect <= stop, got {multiples!r}"
        ) from None
    return tuple(float(m) for m in multiples)


def _calibrated(grade: ExtrapolationGrade, thresholds, training_rows, multiples):
    """``grade`` with the given thresholds, or with thresholds calibrated on training rows."""
    if thresholds is not None:
        if training_rows is not None:
            x = _stack_rows(training_rows, grade.n_columns, "training_rows")
            grade = dataclasses.replace(grade, training_max=float(grade.per_atom(x).max()))
        return grade.with_thresholds(thresholds)
    if training_rows is None:
        raise ValueError(
            "thresholds must be given, or training_rows (the per-atom rows of the training "
            "atoms) to calibrate them on"
        )
    x = _stack_rows(training_rows, grade.n_columns, "training_rows")
    return grade.calibrated(float(grade.per_atom(x).max()), multiples)


def leverage_grade(
    factor=None,
    *,
    gram=None,
    training_rows=None,
    thresholds=None,
    rcond: float = DEFAULT_RCOND,
    multiples: Sequence[float] = LEVERAGE_MULTIPLES,
    n_training: int = -1,
) -> ExtrapolationGrade:
    """The leverage grade ``b^T (A^T A)^-1 b`` of a weighted training design ``A``.

    Give either ``factor``, any (m, n) matrix ``F`` with ``F^T F = A^T A`` (the R factor of
    the weighted design, or the weighted design itself), or ``gram = A^T A``. Columns are
    the model's: the constant first, then the descriptor columns.

    Args:
        factor: (m, n) with ``factor.T @ factor == A^T A``.
        gram: (n, n) ``A^T A`` instead of ``factor`` (its square root is taken: less accurate
            for ill-conditioned designs).
        training_rows: per-atom rows of the training atoms ((m, n) or a list of (n_atoms, n)
            arrays) to calibrate the thresholds on (see the module docstring).
        thresholds: explicit :class:`GradeThresholds` (or ``(warn, collect, stop)``) instead
            of calibrated ones.
        rcond: directions with a singular value (of the column-scaled factor) at most
            ``rcond`` times the largest are not determined by the training data (the fit's
            cutoff by default).
        multiples: ``(warn, collect, stop)`` multiples of the largest training-atom grade.
        n_training: number of rows of ``A``, recorded in the grade.

    Returns:
        The :class:`ExtrapolationGrade` (``kind="leverage"``).

    Raises:
        ValueError: naming the argument, for a missing or malformed matrix, missing
            thresholds and training rows, or bad thresholds.
    """
    rcond = _check_grade_rcond(rcond)
    multiples = _check_multiples(multiples, "multiples")
    if (factor is None) == (gram is None):
        raise ValueError("give exactly one of factor (F with F^T F = A^T A) and gram (A^T A)")
    if factor is not None:
        f = np.asarray(factor, dtype=float)
        if f.ndim != 2 or f.shape[1] == 0:
            raise ValueError(f"factor must be a 2-D array (m, n_columns), got shape {f.shape}")
        if not np.isfinite(f).all():
            raise ValueError("factor must be finite")
        n = f.shape[1]
        scale = _unit_scale(np.linalg.norm(f, axis=0))
        if f.shape[0]:
            _, s, vt = scipy.linalg.svd(f * scale, full_matrices=False, check_finite=False)
        else:
            s, vt = np.zeros(0), np.zeros((0, n))
    else:
        g = np.asarray(gram, dtype=float)
        if g.ndim != 2 or g.shape[0] != g.shape[1] or g.shape[0] == 0:
            raise ValueError(f"gram must be a square (n_columns, n_columns) array, got {g.shape}")
        if not np.isfinite(g).all():
            raise ValueError("gram must be finite")
        g = 0.5 * (g + g.T)
        n = g.shape[0]
        diag = np.diag(g)
        if (diag < 0).any():
            raise ValueError("gram must be positive semi-definite (A^T A)")
        scale = _unit_scale(np.sqrt(diag))
        w, v = scipy.linalg.eigh(g * np.outer(scale, scale), check_finite=False)
        order = np.argsort(w)[::-1]
        s = np.sqrt(np.clip(w[order], 0.0, None))
        vt = v[:, order].T
    if not s.size or not s[0] > 0:
        raise ValueError("the training design is empty or zero: there is nothing to grade against")
    keep = s > rcond * s[0]
    grade = ExtrapolationGrade(
        kind="leverage",
        thresholds=(1.0, 1.0, 1.0),
        n_columns=n,
        scale=scale,
        basis=vt[keep].T,
        transform=s[keep],
        cutoff=rcond * s[0],
        n_training=n_training,
    )
    return _calibrated(grade, thresholds, training_rows, multiples)


def leverage_grade_from_statistics(
    stats,
    energy_weight: float,
    force_weight: float,
    *,
    stress_weight: float = 0.0,
    ridge: float = 0.0,
    partition: str = "train",
    level=None,
    training_rows=None,
    thresholds=None,
    rcond: float = DEFAULT_RCOND,
    multiples: Sequence[float] = LEVERAGE_MULTIPLES,
) -> ExtrapolationGrade:
    """The leverage grade of a fit from its streamed statistics.

    The weighted design is stacked exactly as the fit stacks it
    (:func:`~pyiron_appmlip.core.fit.fit_statistics_levels`): every group's energy and force R
    factors times ``w_E f_E`` and ``w_F f_F`` (``f``: the group's weight factors), stress
    factors times ``w_S f_S`` when ``stress_weight > 0``, and ``sqrt(ridge)`` rows on the
    descriptor columns with a ridge term (the grade is then the ridge fit's posterior
    variance).

    Args:
        stats: :class:`~pyiron_appmlip.core.statistics.SufficientStatistics` of the training
            configurations (labels are not needed).
        energy_weight: w_E of the fit.
        force_weight: w_F of the fit.
        stress_weight: w_S of the fit.
        ridge: the fit's ridge term.
        partition: the partition of ``stats`` the model was fitted to.
        level: only the configurations with labels at this level (the fit's training set when
            not every configuration carries it); None: every configuration of the partition.
        training_rows, thresholds, rcond, multiples: as in :func:`leverage_grade`.

    Returns:
        The :class:`ExtrapolationGrade` (``kind="leverage"``), ``n_columns = p + 1``.
    """
    w_e, w_f = check_weights(energy_weight, force_weight)
    w_s = check_stress_weight(stress_weight)
    ridge = check_ridge(ridge)
    groups = stats._groups_for(partition, level, require_level=level is not None)
    p = stats.n_descriptors
    parts = []
    n_rows = 0
    for g in groups:
        f_e, f_f, f_s = g.factors
        weighted = [(g.energy, w_e * f_e), (g.force, w_f * f_f)]
        if w_s > 0:
            weighted += [(sp, w_s * f_s) for sp in g.stress.values()]
        for part, w in weighted:
            if part.rows_seen and w > 0:
                parts.append(w * part.used()[:, : p + 1])
                n_rows += int(part.rows_seen)
    if ridge > 0:
        reg = np.zeros((p, p + 1))
        reg[np.arange(p), 1 + np.arange(p)] = np.sqrt(ridge)
        parts.append(reg)
    if not parts:
        raise ValueError(f"partition {partition!r} has no weighted rows to grade against")
    return leverage_grade(
        np.vstack(parts),
        training_rows=training_rows,
        thresholds=thresholds,
        rcond=rcond,
        multiples=multiples,
        n_training=n_rows,
    )


def maxvol_grade(
    training_atom_rows,
    *,
    thresholds=None,
    rcond: float = DEFAULT_RCOND,
    multiples: Sequence[float] = MAXVOL_MULTIPLES,
    tol: float = MAXVOL_TOL,
    max_iters: int = MAXVOL_MAX_ITERS,
) -> ExtrapolationGrade:
    """pacemaker's MaxVol grade gamma from the per-atom rows of the training atoms.

    Args:
        training_atom_rows: per-atom rows of the training atoms, (m, n) or a list of
            (n_atoms, n) arrays (one per training structure), the constant column 1 first.
        thresholds: explicit thresholds instead of the calibrated ``max(1, tau)`` times
            ``multiples``.
        rcond: relative singular-value cutoff of the training atoms' row space.
        multiples: ``(warn, collect, stop)`` multiples (1, 2, 10 by default).
        tol: MaxVol tolerance (pacemaker's 1.001); every training atom grades at most this.
        max_iters: MaxVol swap limit.

    Returns:
        The :class:`ExtrapolationGrade` (``kind="maxvol"``); ``active_set`` indexes the
        stacked training rows.
    """
    rcond = _check_grade_rcond(rcond)
    multiples = _check_multiples(multiples, "multiples")
    x = _stack_rows(training_atom_rows, None, "training_atom_rows")
    scale = _unit_scale(np.linalg.norm(x, axis=0))
    z = x * scale
    _, s, vt = scipy.linalg.svd(z, full_matrices=False, check_finite=False)
    if not s.size or not s[0] > 0:
        raise ValueError("training_atom_rows are all zero: there is nothing to grade against")
    keep = s > rcond * s[0]
    basis = vt[keep].T
    y = z @ basis
    active = maxvol_rows(y, tol=tol, max_iters=max_iters)
    a_act = y[active]
    inverse = scipy.linalg.inv(a_act, check_finite=False)
    cutoff = rcond * float(np.linalg.norm(a_act, 2))
    grade = ExtrapolationGrade(
        kind="maxvol",
        thresholds=(1.0, 1.0, 1.0),
        n_columns=x.shape[1],
        scale=scale,
        basis=basis,
        transform=inverse,
        cutoff=cutoff,
        n_training=x.shape[0],
        active_set=active,
    )
    return _calibrated(grade, thresholds, x, multiples)
