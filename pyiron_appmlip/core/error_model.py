"""Error models: learning curves with a floor, fitted to a pilot, that predict test errors at any
training-set size.

A pilot fits a few models per setting (a setting is e.g. a convergence level and a weight ratio)
on small training sets, repeated on independent draws, and measures their test errors. The model
here turns those rows into the median test error, and a 16-84 % band over repetitions, at any
training-set size ``N``.

The learning curve of one setting and one quantity (energy or force RMSE) is

    ``err(N)^2 = floor^2 + A * N^(-b)``

in mean squared error: a floor (what an infinite training set reaches: the model's
misspecification plus the distance between the training labels and the truth labels), plus an
excess that falls with ``N``. The floor is added in squares because independent error sources
add in mean square, so the excess can be subtracted exactly from a measured error; and for a
linear least-squares fit the excess is the estimation variance, which falls as ``1/N``
(``b = 1``). :func:`fit_error_model` works in two regimes:

* **Several sizes per setting**: the exponent ``b`` is shared by all settings of a quantity and
  fitted on a grid (relative residuals of the medians); floor and amplitude of each setting
  are then a non-negative linear least-squares fit of the squared medians.
* **One size per setting** (a pilot at a single ``N``): a power law is underdetermined, so two
  facts of ordinary least squares with ``n`` equations and ``p`` coefficients are used. The
  expected mean squared training error is ``s^2 (1 - p/n)`` and the expected test error
  ``s^2 (1 + p/n)``, with ``s^2`` the limit at infinite ``n``. Their difference is twice the
  excess, so ``excess = (test^2 - train^2 / B) / 2`` (zero if negative), where train and test
  are measured against the training labels and ``B`` (``sampling_bias``) is how much harder the
  sampled training configurations are than typical ones (1 for random sampling; leverage
  sampling picks unusual configurations, so ``B > 1``). By default ``B`` is estimated from the
  pilot: every setting's ratio ``train^2 / test^2`` is at most ``B``, and the setting that
  overfits least comes closest, so ``B`` is the largest ratio (at least 1), per quantity.
  The excess is the same for errors measured against the truth labels, so the truth-level
  floor is ``median^2 - excess``; ``b`` is 1 unless given.

  With the distances of the training labels to the truth labels (``distances``, e.g. the energy
  and force RMSE between a convergence level and the reference level, measured on the same
  configurations), a second estimate comes from the levels: a fit to labels that differ from the
  truth by noise of mean square ``d^2`` has the floors ``floor_truth^2 + floor_self^2 =
  2 F + d^2`` (``F``: the truth-label setting's floor squared) and an excess larger by
  ``c d^2``. At the pilot's size this gives ``c`` as the slope of
  ``(test_truth^2 + test_self^2 - d^2) / 2 - test_truth(truth setting)^2`` over ``d^2``. The
  truth setting's own residual counts as noise too, so its excess is ``c F`` and a setting's
  ``c (F + d^2)``. Label differences that a fit partly learns, or that correlate with its
  residual, only steepen the slope, so ``c`` is the smallest over the groups of settings
  sharing a truth setting. Both estimates tend to be too small, so the larger is used.

Two options make the several-sizes regime hold up when a pilot's sizes span only a factor of
two or three (a short lever arm to extrapolate from):

* ``exponent_range``: the shared ``b`` is searched only within these bounds, a prior on how
  fast an excess may fall. :data:`EXPONENT_PRIOR` (0.25 to 1.2) spans the exponents of the
  authors' tables of the paper's qSNAP fits of beryllium (2Jmax 6, levels 1-6, six weight
  ratios, 100 to 9990 configurations): shared by all settings, 0.75 for energies and 0.25 for
  forces; fitted setting by setting, the middle half lies at 0.39-1.03 (energies) and
  0.24-0.40 (forces). A fit of a few small sizes otherwise often runs to the end of the grid
  (``b = 3``), which no least-squares fit of more data follows.
* ``size_offset``: the excess is ``A (N - N0)^(-b)`` with a size offset ``N0`` below the
  smallest size, shared like ``b`` by all settings of a quantity and fitted on a grid of
  fractions of the smallest size (:data:`OFFSET_FRACTIONS`). A least-squares fit whose number
  of equations approaches the number of coefficients has a test error that grows without bound
  (for ordinary least squares with ``n`` equations and ``p`` coefficients the excess is
  ``s^2 p / (n - p - 1)``); ``N0`` is the training-set size where that happens, so the steep
  fall of the errors just above it is not mistaken for a large exponent.

Predictions at the pilot's own sizes equal the pilot's medians (one size) or their fit (several
sizes). The band: the pilot's 16th and 84th percentiles as offsets from the median in squared
error, shrinking as ``N^(-band_exponent)`` (1/2 by default: the spread of a mean over ``N``
configurations).

Where a setting has no test errors against the truth labels, but the distance of its training
labels to the truth labels is known (e.g. the energy and force RMSE between a convergence level
and the reference level), its truth-level floor is the truth level's floor at the same other
settings and that distance in quadrature: ``floor^2 = floor_truth^2 + distance^2``.

Units are those of the input (meV/atom and meV/Angstrom throughout this package). Plain numpy.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "LearningCurve",
    "ErrorModel",
    "fit_error_model",
    "DEFAULT_EXPONENT",
    "AUTO",
    "DEFAULT_BAND_EXPONENT",
    "EXPONENT_GRID",
    "EXPONENT_PRIOR",
    "OFFSET_FRACTIONS",
    "FIT",
]

#: Exponent ``b`` of the excess when it cannot be fitted (least-squares variance falls as 1/N).
DEFAULT_EXPONENT = 1.0
#: Exponent of the band's shrinking with ``N`` (the spread of a mean over N configurations).
DEFAULT_BAND_EXPONENT = 0.5
#: ``sampling_bias`` value that estimates the bias from the pilot (see :func:`fit_error_model`).
AUTO = "auto"
#: Exponents tried when ``b`` is fitted from several training-set sizes.
EXPONENT_GRID = tuple(float(x) for x in np.round(np.arange(0.05, 3.0001, 0.05), 4))
#: Plausible exponents of a qSNAP learning curve (``exponent_range``): the span of the exponents
#: fitted to the authors' tables of the paper's beryllium fits (see the module docstring).
EXPONENT_PRIOR = (0.25, 1.2)
#: Below this ratio of the largest to the smallest pilot size of a setting, a fitted model says
#: that its learning curves are extrapolated from a narrow range of sizes (a note).
NARROW_SIZE_SPAN = 1.5
#: Size offsets tried by ``size_offset="fit"``, as fractions of the smallest size of the fit.
OFFSET_FRACTIONS = tuple(float(x) for x in np.round(np.arange(0.0, 0.9501, 0.05), 4))
#: ``size_offset`` value that fits the offset (see :func:`fit_error_model`).
FIT = "fit"


@dataclass(frozen=True)
class LearningCurve:
    """The learning curve of one setting and one error quantity.

    ``err(N)^2 = floor^2 + amplitude * (N - offset)^(-exponent)`` for the median (``offset`` is
    0 unless fitted); the band's offsets in squared error are ``band_low`` and ``band_high`` at
    ``reference_size`` and scale as ``(reference_size / N)^band_exponent``.

    Attributes:
        floor: the error at infinite training-set size (same unit as the input errors).
        amplitude: coefficient of the excess in squared error (unit^2 * configurations^b).
        exponent: ``b``.
        reference_size: training-set size at which the band was measured.
        band_low: ``median^2 - p16^2`` at ``reference_size`` (>= 0), NaN if not known.
        band_high: ``p84^2 - median^2`` at ``reference_size`` (>= 0), NaN if not known.
        band_exponent: how fast the band shrinks with ``N``.
        sizes: the training-set sizes of the pilot rows behind the curve.
        source: ``"sizes"`` (fitted to several sizes), ``"train-test"`` (one size, from the
            training and test errors) or ``"distance"`` (floor from the truth level's floor and
            the distance of the labels to the truth).
        offset: ``N0``, the training-set size (configurations) at which the excess would grow
            without bound; sizes at or below it are predicted as infinite errors.
    """

    floor: float
    amplitude: float
    exponent: float
    reference_size: float
    band_low: float = math.nan
    band_high: float = math.nan
    band_exponent: float = DEFAULT_BAND_EXPONENT
    sizes: tuple = ()
    source: str = "sizes"
    offset: float = 0.0

    def median(self, n) -> np.ndarray:
        """Predicted median error at training-set size(s) ``n`` (> 0); infinite at sizes not
        above ``offset``."""
        n = _check_sizes(n, "n")
        return np.sqrt(
            self.floor**2 + self.amplitude * _excess_shape(n, self.offset, self.exponent)
        )

    def band(self, n) -> tuple[np.ndarray, np.ndarray]:
        """Predicted 16th and 84th percentiles over repetitions at size(s) ``n`` (> 0).

        Raises:
            ValueError: if the pilot had fewer than 2 repetitions per size (no band).
        """
        if not (math.isfinite(self.band_low) and math.isfinite(self.band_high)):
            raise ValueError(
                "repetitions: a band needs at least 2 repetitions at a training-set size of the "
                "pilot; this curve was fitted from single fits"
            )
        n = _check_sizes(n, "n")
        m2 = self.median(n) ** 2
        scale = (self.reference_size / n) ** self.band_exponent
        lo = np.sqrt(np.maximum(m2 - self.band_low * scale, 0.0))
        hi = np.sqrt(m2 + self.band_high * scale)
        return lo, hi


@dataclass
class ErrorModel:
    """Learning curves of every setting and quantity of a pilot.

    Attributes:
        curves: ``{(setting, quantity): LearningCurve}``.
        exponents: ``{quantity: b}`` (shared by all settings of the quantity).
        quantities: the error quantities (e.g. ``("energy", "force")``).
        settings: the settings, in order of first appearance.
        notes: remarks on the fit (e.g. a floor set to zero).
        sampling_biases: ``{quantity: B}`` used by the one-size regime.
        noise_slopes: ``{quantity: c}``, the excess per unit of squared label distance of the
            one-size regime (0 without ``distances``).
        offsets: ``{quantity: N0}``, the size offset of the several-sizes regime (0 unless
            ``size_offset`` was given).
    """

    curves: dict
    exponents: dict
    quantities: tuple
    settings: list
    notes: list = field(default_factory=list)
    sampling_biases: dict = field(default_factory=dict)
    noise_slopes: dict = field(default_factory=dict)
    offsets: dict = field(default_factory=dict)

    def curve(self, setting, quantity: str) -> LearningCurve:
        """The learning curve of ``setting`` for ``quantity``."""
        if quantity not in self.quantities:
            raise ValueError(f"quantity must be one of {list(self.quantities)}, got {quantity!r}")
        key = (_key(setting), quantity)
        if key not in self.curves:
            raise ValueError(
                f"setting {setting!r} has no pilot rows; settings: {self.settings[:10]}"
                f"{' ...' if len(self.settings) > 10 else ''}"
            )
        return self.curves[key]

    def predict(self, setting, n, band: bool = True) -> dict:
        """Predicted errors of ``setting`` at training-set size(s) ``n``.

        Returns:
            ``{quantity: {"median": array, "low": array, "high": array}}`` (``low``/``high``,
            the 16-84 % band, only with ``band=True``).
        """
        out = {}
        for q in self.quantities:
            c = self.curve(setting, q)
            d = {"median": c.median(n)}
            if band:
                d["low"], d["high"] = c.band(n)
            out[q] = d
        return out

    def floors(self) -> dict:
        """``{(setting, quantity): floor}``: the errors at infinite training-set size."""
        return {k: c.floor for k, c in self.curves.items()}


def _excess_shape(n: np.ndarray, offset: float, exponent: float) -> np.ndarray:
    """``(n - offset)^(-exponent)``, infinite where ``n <= offset``."""
    d = np.asarray(n, dtype=float) - float(offset)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d > 0, np.abs(d) ** (-np.asarray(exponent, dtype=float)), np.inf)


def _key(setting) -> Hashable:
    if isinstance(setting, list | np.ndarray):
        return tuple(np.asarray(setting).tolist())
    if isinstance(setting, np.generic):
        return setting.item()
    return setting


def _check_sizes(n, name: str) -> np.ndarray:
    try:
        a = np.asarray(n, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be training-set sizes > 0, got {n!r}") from None
    if a.size == 0 or not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ValueError(f"{name} must be training-set sizes > 0 (finite), got {n!r}")
    return a


def _errors(values, name: str, n_rows: int) -> np.ndarray:
    try:
        a = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numbers (errors >= 0), got {values!r}") from None
    if a.shape != (n_rows,):
        raise ValueError(f"{name} must have one value per row ({n_rows},), got shape {a.shape}")
    bad = ~np.isfinite(a) | (a < 0)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise ValueError(
            f"{name} must be finite errors >= 0 in every row; rows {rows[:10].tolist()} hold "
            f"{a[rows[:5]].tolist()} (drop failed fits before fitting the error model)"
        )
    return a


def _per_quantity(value, quantities, name: str, default: float, positive: bool = True) -> dict:
    if value is None:
        return dict.fromkeys(quantities, default)
    if isinstance(value, Mapping):
        unknown = set(value) - set(quantities)
        if unknown:
            raise ValueError(
                f"{name} names unknown quantities {sorted(unknown)}; {list(quantities)}"
            )
        out = {q: value.get(q, default) for q in quantities}
    else:
        out = dict.fromkeys(quantities, value)
    for q, v in out.items():
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} must be a number > 0 (or one per quantity), got {v!r}"
            ) from None
        if not math.isfinite(x) or (positive and x <= 0):
            raise ValueError(f"{name} must be a number > 0 (or one per quantity), got {v!r}")
        out[q] = x
    return out


def _sampling_biases(value, quantities) -> dict:
    if isinstance(value, str) and value == AUTO:
        return dict.fromkeys(quantities, AUTO)
    if isinstance(value, Mapping):
        auto = {q for q, v in value.items() if isinstance(v, str) and v == AUTO}
        rest = _per_quantity(
            {q: v for q, v in value.items() if q not in auto}, quantities, "sampling_bias", 1.0
        )
        return {q: AUTO if q in auto else rest[q] for q in quantities}
    if isinstance(value, str):
        raise ValueError(f"sampling_bias must be a number > 0 or {AUTO!r}, got {value!r}")
    return _per_quantity(value, quantities, "sampling_bias", 1.0)


def _nnls2(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float, float]:
    """Non-negative weighted least squares of y ~ c0 + c1 x; returns (c0, c1, weighted SSE)."""
    best = None
    sw = np.sqrt(w)
    a = np.c_[np.ones_like(x), x] * sw[:, None]
    c, *_ = np.linalg.lstsq(a, y * sw, rcond=None)
    candidates = [c] if np.all(c >= 0) else []
    # boundary solutions: one coefficient zero
    c0 = max(float(np.sum(w * y) / np.sum(w)), 0.0)
    candidates.append(np.array([c0, 0.0]))
    xx = float(np.sum(w * x * x))
    c1 = max(float(np.sum(w * x * y) / xx), 0.0) if xx > 0 else 0.0
    candidates.append(np.array([0.0, c1]))
    for cand in candidates:
        sse = float(np.sum(w * (y - cand[0] - cand[1] * x) ** 2))
        if best is None or sse < best[2]:
            best = (float(cand[0]), float(cand[1]), sse)
    return best


def fit_error_model(
    settings: Sequence,
    subset_size,
    test: Mapping[str, Sequence[float]],
    *,
    train: Mapping[str, Sequence[float]] | None = None,
    test_self: Mapping[str, Sequence[float]] | None = None,
    exponent=None,
    sampling_bias=AUTO,
    band_exponent: float = DEFAULT_BAND_EXPONENT,
    band: tuple[float, float] = (16.0, 84.0),
    distances: Mapping | None = None,
    truth_setting=None,
    exponent_range=None,
    size_offset=None,
) -> ErrorModel:
    """Fit learning curves to pilot rows (one row per fitted model).

    See the module docstring for the model ``err(N)^2 = floor^2 + A N^(-b)`` and the two
    regimes (several training-set sizes per setting, or one).

    Args:
        settings: one setting per row (any hashable, e.g. ``(level, weight_ratio)``); rows of
            the same setting and size are repetitions (independent draws).
        subset_size: training-set size ``N`` of each row (configurations, > 0).
        test: ``{quantity: errors}``, the test RMSE of each row against the truth labels (e.g.
            ``{"energy": meV/atom, "force": meV/Angstrom}``).
        train: ``{quantity: errors}``, the training RMSE of each row against its own training
            labels. Needed for settings with rows at a single size.
        test_self: ``{quantity: errors}``, the test RMSE against the training labels (for
            training labels that are not the truth, e.g. a lower convergence level). Defaults
            to ``test`` (training labels are the truth).
        exponent: ``b``, a number or ``{quantity: b}``; None fits it when some setting has rows
            at 3 or more sizes, else uses :data:`DEFAULT_EXPONENT`.
        sampling_bias: ``B`` of the one-size regime, a number or ``{quantity: B}`` (> 0): the
            mean squared error of the converged model on the sampled training configurations
            over that on typical ones (1 for random sampling). ``"auto"`` (default) takes the
            largest ratio of mean squared training to test error (against the training labels) over
            the pilot's settings and sizes, at least 1: since the excess is never negative,
            every ratio is a lower bound of ``B``, and the setting that overfits least gives
            the tightest one (useful when all settings share one sampler).
        band_exponent: the band's offsets in squared error shrink as ``N^(-band_exponent)``.
        band: percentiles of the band (default 16 and 84).
        distances: optional ``{(setting, quantity): distance}``, the RMS distance of the
            setting's training labels to the truth labels (same unit as the errors; 0 or absent
            for settings trained on the truth labels). With ``test_self`` it gives the second
            excess estimate of the one-size regime; a setting listed here whose ``test`` errors
            are all NaN gets its floor from the distance (see the module docstring).
        truth_setting: optional function ``setting -> setting`` giving the setting with the same
            weights trained on the truth labels (whose floor the distance is added to).
        exponent_range: ``(low, high)`` bounds of a fitted ``b`` (0 < low <= high), e.g.
            :data:`EXPONENT_PRIOR`; None searches all of :data:`EXPONENT_GRID`. Exponents of
            that grid within the bounds are tried (the bounds themselves if none is).
        size_offset: ``N0`` of the excess ``A (N - N0)^(-b)`` in the several-sizes regime:
            None or 0 (no offset), a number of configurations below every setting's smallest
            size, or ``"fit"``: shared by all settings of a quantity and fitted together with
            ``b`` over :data:`OFFSET_FRACTIONS` of the smallest size of the settings with
            several sizes.

    Returns:
        An :class:`ErrorModel`.

    Raises:
        ValueError: for empty or mismatched rows, sizes <= 0, NaN or negative errors, a setting
            at a single size without ``train`` errors, or bad ``exponent``, ``sampling_bias``,
            ``band``, ``exponent_range`` or ``size_offset``.
    """
    grid = _exponent_grid(exponent_range)
    keys = [_key(s) for s in settings]
    n_rows = len(keys)
    if n_rows == 0:
        raise ValueError("settings: the pilot has no rows; give at least one row per setting")
    sizes = _check_sizes(subset_size, "subset_size")
    if sizes.shape != (n_rows,):
        raise ValueError(
            f"subset_size must have one value per row ({n_rows},), got shape {sizes.shape}"
        )
    if not isinstance(test, Mapping) or not test:
        raise ValueError(
            "test must be a non-empty mapping {quantity: errors}, e.g. {'energy': ..., "
            f"'force': ...}}, got {type(test).__name__}"
        )
    quantities = tuple(test)
    has_distance = set()
    dist: dict = {}
    if distances is not None:
        if truth_setting is None:
            raise ValueError("distances need truth_setting (setting -> its truth-label setting)")
        for key, d in distances.items():
            try:
                s_, q_ = key
                d = float(d)
            except (TypeError, ValueError):
                raise ValueError(
                    f"distances must map (setting, quantity) to a distance >= 0, got {key!r}: {d!r}"
                ) from None
            if not math.isfinite(d) or d < 0:
                raise ValueError(
                    f"distances must map (setting, quantity) to a distance >= 0, got {key!r}: {d!r}"
                )
            dist[(_key(s_), q_)] = d
        has_distance = {k for (k, _q) in dist}
    nan_ok = np.array([k in has_distance for k in keys])
    tests = {}
    for q in quantities:
        raw = np.asarray(test[q], dtype=float)
        if raw.shape == (n_rows,) and nan_ok.any():
            check = np.where(nan_ok & np.isnan(raw), 0.0, raw)
            _errors(check, f"test[{q!r}]", n_rows)
            tests[q] = raw
        else:
            tests[q] = _errors(test[q], f"test[{q!r}]", n_rows)
    trains = selfs = None
    for name, given in (("train", train), ("test_self", test_self)):
        if given is None:
            continue
        if not isinstance(given, Mapping) or set(given) != set(quantities):
            raise ValueError(f"{name} must be a mapping with the quantities {list(quantities)}")
        arrays = {q: _errors(given[q], f"{name}[{q!r}]", n_rows) for q in quantities}
        if name == "train":
            trains = arrays
        else:
            selfs = arrays
    if selfs is None:
        selfs = tests
    exponents_given = _per_quantity(exponent, quantities, "exponent", math.nan) if exponent else {}
    biases = _sampling_biases(sampling_bias, quantities)
    try:
        band_exponent = float(band_exponent)
    except (TypeError, ValueError):
        raise ValueError(f"band_exponent must be a number >= 0, got {band_exponent!r}") from None
    if not math.isfinite(band_exponent) or band_exponent < 0:
        raise ValueError(f"band_exponent must be a number >= 0, got {band_exponent!r}")
    lo_pct, hi_pct = (float(b) for b in band)
    if not 0.0 <= lo_pct < 50.0 < hi_pct <= 100.0:
        raise ValueError(f"band must be two percentiles 0 <= lo < 50 < hi <= 100, got {band!r}")

    order = list(dict.fromkeys(keys))
    rows_of = {k: [] for k in order}
    for i, k in enumerate(keys):
        rows_of[k].append(i)
    rows_of = {k: np.asarray(v) for k, v in rows_of.items()}
    notes: list[str] = []
    curves: dict = {}
    exponents: dict = {}
    offsets: dict = {}
    slopes: dict = {}
    for q in quantities:
        stats = {}
        for k in order:
            idx = rows_of[k]
            if k in has_distance and np.all(np.isnan(tests[q][idx])):
                continue
            per_n = []
            for n in np.unique(sizes[idx]):
                j = idx[sizes[idx] == n]
                v = tests[q][j]
                entry = {
                    "n": float(n),
                    "reps": j.size,
                    "median": float(np.median(v)),
                    "lo": float(np.percentile(v, lo_pct)),
                    "hi": float(np.percentile(v, hi_pct)),
                    "self_ms": float(np.mean(selfs[q][j] ** 2)),
                }
                if trains is not None:
                    entry["train_ms"] = float(np.mean(trains[q][j] ** 2))
                per_n.append(entry)
            stats[k] = per_n
        multi = [k for k, v in stats.items() if len(v) >= 2]
        smallest = min((v[0]["n"] for v in stats.values() if len(v) >= 2), default=math.inf)
        offsets_tried = _offset_grid(size_offset, smallest)
        if q in exponents_given:
            b, n0 = _fit_exponent([stats[k] for k in multi], (exponents_given[q],), offsets_tried)
        elif any(len(v) >= 3 for v in stats.values()):
            b, n0 = _fit_exponent([stats[k] for k in multi], grid, offsets_tried)
        else:
            b = (
                min(max(DEFAULT_EXPONENT, grid[0]), grid[-1])
                if exponent_range
                else DEFAULT_EXPONENT
            )
            n0 = offsets_tried[0] if len(multi) else 0.0
            if multi:
                notes.append(
                    f"{q}: no setting has pilot rows at 3 or more sizes, so the exponent is not "
                    f"fitted (b = {b:g} assumed); rows at more sizes fit it"
                )
        exponents[q] = b
        offsets[q] = n0
        spans = [stats[k][-1]["n"] / stats[k][0]["n"] for k in multi]
        if spans and max(spans) < NARROW_SIZE_SPAN:
            low = min(stats[k][0]["n"] for k in multi)
            high = max(stats[k][-1]["n"] for k in multi)
            notes.append(
                f"{q}: the pilot's sizes span a factor {max(spans):.2f} only (N = {low:g} to "
                f"{high:g}), so a prediction far beyond N = {high:g} rests on a narrow slope "
                f"and may be far off; a pilot with more training configurations, or a smaller "
                "2Jmax whose fits reach full rank at smaller N, widens the span"
            )
        if biases[q] == AUTO:
            ratios = [
                e["train_ms"] / e["self_ms"]
                for per_n in stats.values()
                for e in per_n
                if "train_ms" in e and e["self_ms"] > 0
            ]
            biases[q] = max([1.0, *ratios])
        slope = 0.0
        if dist and test_self is not None:
            slope = _noise_slope(stats, dist, truth_setting, q)
        slopes[q] = slope
        for k, per_n in stats.items():
            ref = per_n[-1]
            if len(per_n) >= 2:
                n = np.array([e["n"] for e in per_n])
                m2 = np.array([e["median"] for e in per_n]) ** 2
                f2, a, _ = _nnls2(_excess_shape(n, n0, b), m2, 1.0 / np.maximum(m2, 1e-300) ** 2)
                source = "sizes"
                curve_offset = n0
            else:
                if trains is None:
                    raise ValueError(
                        f"train: setting {k!r} has pilot rows at one training-set size only "
                        f"(N = {ref['n']:g}); a learning curve from one size needs the training "
                        "errors (train=...) or rows at more sizes"
                    )
                excess = max(0.0, (ref["self_ms"] - ref["train_ms"] / biases[q]) / 2.0)
                base = stats.get(_key(truth_setting(k))) if slope > 0 else None
                if base is not None and len(base) == 1 and base[0]["n"] == ref["n"]:
                    d2 = dist.get((k, q), 0.0) ** 2
                    base_m2 = base[0]["median"] ** 2
                    excess = max(excess, slope * base_m2 / (1.0 + slope) + slope * d2)
                m2 = ref["median"] ** 2
                if excess > m2:
                    notes.append(
                        f"{q} of {k!r}: the excess from training and test errors exceeds the "
                        "median squared test error against the truth; floor set to 0"
                    )
                excess = min(excess, m2)
                f2, a = m2 - excess, excess * ref["n"] ** b
                source = "train-test"
                curve_offset = 0.0
            # the band from the largest size whose repetitions differ: at a pilot's whole
            # training set every repetition fits the same configurations (no spread)
            ref = next((e for e in reversed(per_n) if e["reps"] >= 2 and e["hi"] > e["lo"]), ref)
            med2 = ref["median"] ** 2
            has_band = ref["reps"] >= 2
            curves[(k, q)] = LearningCurve(
                floor=math.sqrt(max(f2, 0.0)),
                amplitude=float(a),
                exponent=b,
                reference_size=ref["n"],
                band_low=max(med2 - ref["lo"] ** 2, 0.0) if has_band else math.nan,
                band_high=max(ref["hi"] ** 2 - med2, 0.0) if has_band else math.nan,
                band_exponent=band_exponent,
                sizes=tuple(int(e["n"]) if float(e["n"]).is_integer() else e["n"] for e in per_n),
                source=source,
                offset=float(curve_offset),
            )
        # settings known only through their distance to the truth labels
        for k in order:
            if (k, q) in curves:
                continue
            d = dist.get((k, q))
            if d is None:
                raise ValueError(
                    f"test[{q!r}]: setting {k!r} has no test errors and no distance to the "
                    "truth labels in distances"
                )
            t = _key(truth_setting(k))
            if (t, q) not in curves:
                raise ValueError(
                    f"truth_setting: {k!r} maps to {t!r}, which has no pilot test errors for {q}"
                )
            base = curves[(t, q)]
            curves[(k, q)] = LearningCurve(
                floor=math.sqrt(base.floor**2 + float(d) ** 2),
                amplitude=base.amplitude,
                exponent=base.exponent,
                reference_size=base.reference_size,
                band_low=base.band_low,
                band_high=base.band_high,
                band_exponent=base.band_exponent,
                sizes=(),
                source="distance",
                offset=base.offset,
            )
    return ErrorModel(
        curves=curves,
        exponents=exponents,
        sampling_biases=biases,
        noise_slopes=slopes,
        offsets=offsets,
        quantities=quantities,
        settings=order,
        notes=notes,
    )


def _noise_slope(stats: dict, dist: dict, truth_setting, q: str) -> float:
    """The excess per unit of squared label distance, ``c`` (see :func:`fit_error_model`)."""
    groups: dict = {}
    for k, per_n in stats.items():
        d = dist.get((k, q), 0.0)
        t = _key(truth_setting(k))
        if d <= 0 or t == k or len(per_n) != 1 or len(stats.get(t, ())) != 1:
            continue
        e, base = per_n[0], stats[t][0]
        if e["n"] != base["n"]:
            continue
        y = (e["median"] ** 2 + e["self_ms"] - d * d) / 2.0 - base["median"] ** 2
        groups.setdefault(t, []).append((d * d, y))
    slopes = []
    for pairs in groups.values():
        x = np.array([p[0] for p in pairs])
        y = np.array([p[1] for p in pairs])
        slopes.append(max(0.0, float(np.sum(x * y) / np.sum(x * x))))
    return min(slopes) if slopes else 0.0


def _exponent_grid(exponent_range) -> tuple:
    """The exponents a fit tries: :data:`EXPONENT_GRID` within ``exponent_range``."""
    if exponent_range is None:
        return EXPONENT_GRID
    message = (
        "exponent_range must be two numbers (low, high) with 0 < low <= high, e.g. "
        f"EXPONENT_PRIOR {EXPONENT_PRIOR}, got {exponent_range!r}"
    )
    try:
        low, high = (float(x) for x in exponent_range)
    except (TypeError, ValueError):
        raise ValueError(message) from None
    if not (math.isfinite(low) and math.isfinite(high) and 0 < low <= high):
        raise ValueError(message)
    inside = tuple(b for b in EXPONENT_GRID if low - 1e-12 <= b <= high + 1e-12)
    return inside or tuple(dict.fromkeys((low, high)))


def _offset_grid(size_offset, smallest: float) -> tuple:
    """The size offsets a fit tries (``smallest``: the smallest size of the settings with
    several sizes)."""
    if size_offset is None:
        return (0.0,)
    if isinstance(size_offset, str):
        if size_offset != FIT:
            raise ValueError(
                f"size_offset must be None, a number of configurations >= 0 or {FIT!r}, got "
                f"{size_offset!r}"
            )
        if not math.isfinite(smallest):
            return (0.0,)
        return tuple(f * smallest for f in OFFSET_FRACTIONS)
    try:
        value = float(size_offset)
    except (TypeError, ValueError):
        raise ValueError(
            f"size_offset must be None, a number of configurations >= 0 or {FIT!r}, got "
            f"{size_offset!r}"
        ) from None
    if not math.isfinite(value) or value < 0 or (math.isfinite(smallest) and value >= smallest):
        raise ValueError(
            f"size_offset must be a number of configurations >= 0 and below the smallest size "
            f"of the settings with several sizes ({smallest:g}), got {size_offset!r}"
        )
    return (value,)


def _nnls2_sse(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The weighted SSE of :func:`_nnls2` for every row of ``x`` (candidates x sizes) at once."""
    sw, swx, swy = w.sum(), x @ w, float(w @ y)
    swxx, swxy = (x * x) @ w, x @ (w * y)
    det = sw * swxx - swx * swx
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        c0 = (swxx * swy - swx * swxy) / det
        c1 = (sw * swxy - swx * swy) / det
        slope = np.where(swxx > 0, np.maximum(swxy / swxx, 0.0), 0.0)

    def sse(a, b):
        with np.errstate(invalid="ignore", over="ignore"):
            r = y[None, :] - np.asarray(a, float)[..., None] - np.asarray(b, float)[..., None] * x
            return np.sum(w * r * r, axis=1)

    ok = (c0 >= 0) & (c1 >= 0) & np.isfinite(c0) & np.isfinite(c1)
    both = np.where(ok, sse(np.where(ok, c0, 0.0), np.where(ok, c1, 0.0)), np.inf)
    floor_only = sse(np.full(len(x), max(swy / sw, 0.0)), np.zeros(len(x)))
    return np.minimum(np.minimum(both, floor_only), sse(np.zeros(len(x)), slope))


def _fit_exponent(groups: list[list[dict]], grid=EXPONENT_GRID, offsets=(0.0,)):
    """The shared ``(b, N0)`` minimising relative squared residuals of the medians of all
    settings (``b`` from ``grid``, ``N0`` from ``offsets``; the first of equal fits)."""
    best_b, best_n0, best_sse = DEFAULT_EXPONENT, 0.0, math.inf
    if not groups:
        return (grid[0] if len(grid) == 1 else DEFAULT_EXPONENT), float(offsets[0])
    exponents = np.asarray(grid, dtype=float)
    for n0 in offsets:
        sse = np.zeros(len(exponents))
        for per_n in groups:
            n = np.array([e["n"] for e in per_n])
            m2 = np.array([e["median"] for e in per_n]) ** 2
            x = _excess_shape(n[None, :], n0, exponents[:, None])
            sse += _nnls2_sse(x, m2, 1.0 / np.maximum(m2, 1e-300) ** 2)
        k = int(np.argmin(sse))  # the first of equal fits
        if sse[k] < best_sse:
            best_b, best_n0, best_sse = float(exponents[k]), float(n0), float(sse[k])
    return best_b, best_n0
