"""How well a small pilot predicts the whole campaign: error models fitted to a pilot's own
subsets against the fits of the whole pool, on the large shipped GPAW dataset and, when given,
the Be part of the W-Be SNAP training set.

Run (a few minutes on one core; ``--cache`` makes it resumable)::

    python -m pyiron_appmlip.reproduction.pilot_validation \\
        --out pyiron_appmlip/datasets/data/pilot_validation.md [--wbe PATH] [--cache DIR]

For each source the pilot is the first configurations of a leverage order of the training pool,
labelled at every training level, plus a few test configurations at the reference level
(:mod:`.pilot_validation_measure`; the labels and the recorded DFT times are the dataset's, as if
the pilot had computed them). The error model
(:func:`~pyiron_appmlip.core.error_model.fit_error_model`) is fitted to the pilot's subsets only
and predicts the test errors of every setting (training level x weight ratio x 2Jmax) trained on
the whole pool; these are compared with the fits of the whole pool tested on the whole test set.
The planner (:func:`~pyiron_appmlip.planning.plan.plan_campaign`) then plans for a few budgets
and preferences, and the true errors of the planned setting are compared with those of the
setting that is truly best within the same budget (the same planner run on the measured errors).

The report (Markdown, one PNG figure per source beside it) gives the predicted and true errors
per setting, their median and largest relative error, the pilot's DFT cost as a share of each
budget, and the seconds that fitting the error model and planning took.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from dataclasses import dataclass, field, replace

import numpy as np

from ..core.error_model import EXPONENT_PRIOR
from .pilot_validation_measure import (
    RESULT_FORMAT,
    SETTING_COLUMNS,
    SourceMeasurement,
    ValidationSettings,
    code_digest,
    measure_source,
    settings_key,
)
from .result_cache import write_text

__all__ = [
    "ValidationSettings",
    "SourceMeasurement",
    "SourceResult",
    "ValidationResults",
    "QUANTITIES",
    "TARGET_RELATIVE_ERROR",
    "TARGET_PILOT_SHARE",
    "TOLERANCE",
    "setting_keys",
    "full_rank_rows",
    "GroupedErrorModel",
    "MODEL_VARIANTS",
    "fit_pilot_model",
    "truth_medians",
    "TruthModel",
    "whole_pool_comparison",
    "relative_error_summary",
    "pilot_cost_floor",
    "MODEL_OPTIONS",
    "CURVE_VARIANTS",
    "plan_settings",
    "budget_comparison",
    "evaluate",
    "collect_results",
    "render_report",
    "write_report",
    "figure_name",
    "main",
]

#: Error quantities: (name, test-error column, training-error column, own-level test column).
QUANTITIES = (
    ("energy", "energy_rmse_test_truth", "energy_rmse_train", "energy_rmse_test"),
    ("force", "force_rmse_test_truth", "force_rmse_train", "force_rmse_test"),
)
#: Predicted whole-pool errors should be within this relative error of the true ones.
TARGET_RELATIVE_ERROR = 0.10
#: The pilot's DFT cost should be at most this share of the budget it plans for.
TARGET_PILOT_SHARE = 0.10
#: A planned setting counts as good when its true errors exceed the truly best setting's by at
#: most these (meV/atom, meV/Angstrom).
TOLERANCE = {"energy": 0.5, "force": 5.0}
_SECONDS_PER_HOUR = 3600.0


@dataclass
class SourceResult:
    """The validation of one source.

    Attributes:
        measurement: the :class:`SourceMeasurement` (pilot, rows).
        comparison: :func:`whole_pool_comparison` (one row per setting).
        summary: :func:`relative_error_summary` of ``comparison``.
        budgets: :func:`budget_comparison` (one row per budget and preference).
        fit_seconds: seconds fitting the error model took.
        plan_seconds: seconds all plans of ``budgets`` took together.
        n_plans: the number of plans made.
        model_notes: remarks of the error-model fit.
        plain_summary: :func:`relative_error_summary` of the ``"as-planned"`` variant of
            :func:`fit_pilot_model`.
        exponents: the fitted exponents ``{2Jmax: {quantity: b}}``.
        offsets: the fitted size offsets ``{2Jmax: {quantity: N0}}`` (configurations).
        variants: the same measures for each fit of :data:`CURVE_VARIANTS` (with ``ideal``,
            as the attribute ``ideal`` below, for that fit).
        test_sets: per way of drawing the pilot's test set (``"random"``, ``"leverage"``):
            ``summary`` (:func:`relative_error_summary` of its pilot's predictions), ``draws``,
            ``distinct`` (test calculations) and ``weights`` (None or the weights' range).
        ideal: :func:`relative_error_summary` of the same error model fitted to the
            measurement's ``truth_at_pilot_sizes`` (an ideal pilot at the pilot's sizes), or
            ``{"error": message}`` where no 2Jmax has full-rank fits there; None without them.
    """

    measurement: SourceMeasurement
    comparison: object
    summary: dict
    budgets: object
    fit_seconds: float
    plan_seconds: float
    n_plans: int
    model_notes: list = field(default_factory=list)
    plain_summary: dict = field(default_factory=dict)
    exponents: dict = field(default_factory=dict)
    offsets: dict = field(default_factory=dict)
    variants: dict = field(default_factory=dict)
    test_sets: dict = field(default_factory=dict)
    ideal: dict | None = None


@dataclass
class ValidationResults:
    """Everything the report shows.

    Attributes:
        settings: the :class:`ValidationSettings`.
        sources: one :class:`SourceResult` per source.
        wbe_given: whether the W-Be data were given.
        notes: sentences on how the sources were prepared.
    """

    settings: ValidationSettings
    sources: list
    wbe_given: bool = False
    notes: list = field(default_factory=list)


# -- error model and truth ---------------------------------------------------------------------
def setting_keys(rows) -> list:
    """One ``(train_level, weight_ratio, twojmax)`` key per row (plain Python values)."""
    return [
        (str(lv), float(w), int(t))
        for lv, w, t in zip(*(rows[c] for c in SETTING_COLUMNS), strict=True)
    ]


def full_rank_rows(rows):
    """The pilot rows at the (2Jmax, size) pairs where every repetition's fit has full rank.

    A fit whose weighted least-squares problem is rank-deficient (``rank`` below the
    ``n_descriptors + 1`` coefficients) interpolates its training set: its test error reflects
    which configurations were drawn, not how the error falls with more data, so such sizes are
    left out of the learning curves.
    """
    full = rows["rank"].to_numpy() >= rows["n_descriptors"].to_numpy() + 1
    ok = (
        rows.assign(_full=full)
        .groupby(["twojmax", "subset_size"])["_full"]
        .transform("all")
        .to_numpy(bool)
    )
    return rows[ok].reset_index(drop=True)


class GroupedErrorModel:
    """Error models fitted separately per 2Jmax (settings of one 2Jmax share the exponents),
    answering ``predict(key, n)`` like one :class:`~pyiron_appmlip.core.error_model.ErrorModel`.

    Attributes:
        models: ``{2Jmax: ErrorModel}``.
    """

    def __init__(self, models: dict):
        self.models = dict(models)

    def _model(self, setting):
        t = int(setting[2])
        if t not in self.models:
            raise ValueError(f"setting {setting!r}: no pilot rows at 2Jmax {t}")
        return self.models[t]

    def predict(self, setting, n, band: bool = True) -> dict:
        """As :meth:`~pyiron_appmlip.core.error_model.ErrorModel.predict`."""
        return self._model(setting).predict(setting, n, band=band)

    def curve(self, setting, quantity: str):
        """The learning curve of ``setting`` for ``quantity``."""
        return self._model(setting).curve(setting, quantity)

    @property
    def exponents(self) -> dict:
        """``{2Jmax: {quantity: b}}``."""
        return {t: dict(m.exponents) for t, m in self.models.items()}

    @property
    def offsets(self) -> dict:
        """``{2Jmax: {quantity: N0}}``, the size offsets (configurations)."""
        return {t: dict(m.offsets) for t, m in self.models.items()}

    @property
    def notes(self) -> list:
        """The remarks of every model."""
        return [f"2Jmax {t}: {n}" for t, m in self.models.items() for n in m.notes]


#: Options of :func:`~pyiron_appmlip.core.error_model.fit_error_model` for a pilot's rows at
#: several sizes: exponents within the prior range
#: (:data:`~pyiron_appmlip.core.error_model.EXPONENT_PRIOR`), and a size offset fitted with them.
MODEL_OPTIONS = {"exponent_range": EXPONENT_PRIOR, "size_offset": "fit"}


#: The fits the report compares (``{name: fit_error_model options}``), the report's last.
CURVE_VARIANTS = {
    "free exponent (0.05-3)": {},
    "exponent prior": {"exponent_range": EXPONENT_PRIOR},
    "size offset, free exponent": {"size_offset": "fit"},
    "exponent prior and size offset": MODEL_OPTIONS,
}


def _fit(rows, options=None):
    from ..core.error_model import fit_error_model

    test = {q: rows[col].to_numpy(float) for q, col, _, _ in QUANTITIES}
    train = {q: rows[col].to_numpy(float) for q, _, col, _ in QUANTITIES}
    own = {
        q: rows[col].to_numpy(float) if col in rows else np.full(len(rows), np.nan)
        for q, _, _, col in QUANTITIES
    }
    has_own = all(np.isfinite(v).all() for v in own.values())
    return fit_error_model(
        setting_keys(rows),
        rows["subset_size"].to_numpy(float),
        test,
        train=train,
        test_self=own if has_own else None,
        **(MODEL_OPTIONS if options is None else options),
    )


#: How the pilot's rows become error models (:func:`fit_pilot_model`): ``"per-2Jmax"`` (the
#: report's, and the ``AppmlipPlan`` job's: full-rank sizes only, one model per 2Jmax) or
#: ``"as-planned"`` (every row, rank-deficient fits included, one model over every 2Jmax; the
#: name is kept for existing scripts).
MODEL_VARIANTS = ("per-2Jmax", "as-planned")


def fit_pilot_model(rows, variant: str = "per-2Jmax", options: dict | None = None):
    """The error model of the pilot's rows, and the seconds its fit took.

    Test errors are against the reference level on the pilot's test set; training errors are
    on the subsets; errors against the training level on the test set are used where the rows
    have them.

    Args:
        rows: the pilot's sweep rows.
        variant: ``"per-2Jmax"``: the sizes of :func:`full_rank_rows` only and one model per
            2Jmax (a :class:`GroupedErrorModel`); ``"as-planned"``: every row in one model.
        options: options of :func:`~pyiron_appmlip.core.error_model.fit_error_model`
            (default :data:`MODEL_OPTIONS`).

    Returns:
        ``(model, seconds)``.

    Raises:
        ValueError: for an unknown ``variant``, or a 2Jmax without full-rank sizes.
    """
    if variant not in MODEL_VARIANTS:
        raise ValueError(f"variant must be one of {MODEL_VARIANTS}, got {variant!r}")
    start = time.perf_counter()
    if variant == "as-planned":
        model = _fit(rows, options)
    else:
        usable = full_rank_rows(rows)
        lacking = sorted(set(rows["twojmax"]) - set(usable["twojmax"]))
        if lacking:
            raise ValueError(
                f"the pilot has no subset size with full-rank fits at 2Jmax {lacking}; use a "
                "larger pilot or a smaller twojmax"
            )
        model = GroupedErrorModel(
            {int(t): _fit(g.reset_index(drop=True), options) for t, g in usable.groupby("twojmax")}
        )
    return model, time.perf_counter() - start


def truth_medians(rows):
    """Median, 16th and 84th percentile over repetitions of the test errors per setting and
    training-set size.

    Returns:
        A DataFrame with the setting columns, ``subset_size``, ``n_repetitions``, and per
        quantity ``<q>_median``, ``<q>_low``, ``<q>_high`` (meV/atom, meV/Angstrom).
    """
    import pandas as pd

    out = []
    keys = setting_keys(rows)
    frame = rows.assign(_key=keys)
    for (key, n), g in frame.groupby(["_key", "subset_size"], sort=True):
        row = dict(zip(SETTING_COLUMNS, key, strict=True))
        row.update(subset_size=int(n), n_repetitions=len(g))
        for q, col, _, _ in QUANTITIES:
            v = g[col].to_numpy(float)
            row[f"{q}_median"] = float(np.median(v))
            row[f"{q}_low"] = float(np.percentile(v, 16.0))
            row[f"{q}_high"] = float(np.percentile(v, 84.0))
        out.append(row)
    return pd.DataFrame(out)


class TruthModel:
    """The measured errors in the form of an error model (``predict(key, n)``), so that the
    planner can choose from the truth as it chooses from predictions.

    The errors at ``n`` are those measured at the largest measured size not above ``n``.

    Args:
        medians: :func:`truth_medians` output.
    """

    def __init__(self, medians):
        self._by_key = {}
        for key, g in medians.assign(_key=setting_keys(medians)).groupby("_key"):
            self._by_key[key] = g.sort_values("subset_size")

    def predict(self, setting, n, band: bool = True) -> dict:
        """``{quantity: {"median", "low", "high"}}`` at size(s) ``n``."""
        if setting not in self._by_key:
            raise ValueError(f"setting {setting!r} has no measured rows")
        g = self._by_key[setting]
        sizes = g["subset_size"].to_numpy()
        n = np.atleast_1d(np.asarray(n, dtype=float))
        pos = np.searchsorted(sizes, n, side="right") - 1
        if np.any(pos < 0):
            raise ValueError(
                f"setting {setting!r}: no measured size at or below {n[pos < 0].tolist()} "
                f"(smallest {int(sizes[0])})"
            )
        out = {}
        for q, *_ in QUANTITIES:
            d = {"median": g[f"{q}_median"].to_numpy()[pos]}
            if band:
                d["low"] = g[f"{q}_low"].to_numpy()[pos]
                d["high"] = g[f"{q}_high"].to_numpy()[pos]
            out[q] = d
        return out


def whole_pool_comparison(model, medians, pool: int, on_pilot_test=None):
    """Predicted and true whole-pool test errors per setting.

    Args:
        model: the pilot's error model.
        medians: :func:`truth_medians` of the truth's rows.
        pool: the pool size (the training-set size predicted at).
        on_pilot_test: optional :func:`truth_medians` of the whole pool's fits tested on the
            pilot's test set only.

    Returns:
        A DataFrame with the setting columns and per quantity ``<q>_predicted``, ``<q>_true``
        (at ``subset_size == pool``), ``<q>_relative_error`` (predicted / true - 1) and, with
        ``on_pilot_test``, ``<q>_true_pilot_test`` and ``<q>_relative_error_pilot_test`` (the
        same against the errors on the pilot's test set), sorted by 2Jmax, level and weight
        ratio.
    """
    import pandas as pd

    whole = medians[medians["subset_size"] == int(pool)]
    own = None
    if on_pilot_test is not None:
        sel = on_pilot_test[on_pilot_test["subset_size"] == int(pool)]
        own = dict(zip(setting_keys(sel), (r for _, r in sel.iterrows()), strict=True))
    rows = []
    for key, (_, r) in zip(setting_keys(whole), whole.iterrows(), strict=True):
        pred = model.predict(key, np.array([float(pool)]), band=False)
        row = dict(zip(SETTING_COLUMNS, key, strict=True))
        for q, *_ in QUANTITIES:
            p, t = float(pred[q]["median"][0]), float(r[f"{q}_median"])
            row[f"{q}_predicted"] = p
            row[f"{q}_true"] = t
            row[f"{q}_relative_error"] = p / t - 1.0
            if own is not None:
                t_own = float(own[key][f"{q}_median"])
                row[f"{q}_true_pilot_test"] = t_own
                row[f"{q}_relative_error_pilot_test"] = p / t_own - 1.0
        rows.append(row)
    table = pd.DataFrame(rows)
    return table.sort_values(
        ["twojmax", "train_level", "weight_ratio"], ascending=[True, True, False]
    ).reset_index(drop=True)


def relative_error_summary(table) -> dict:
    """Median and largest absolute relative error of the predictions.

    Returns:
        ``{"energy": {"median", "max", "within"}, "force": {...}, "both": {...}}``; ``within``
        is the share of settings within :data:`TARGET_RELATIVE_ERROR`; ``both`` pools the
        energy and force errors; ``both_pilot_test`` (where the table has them) pools the
        relative errors against the whole pool's errors on the pilot's test set, and
        ``<q>_test_set`` holds the same statistics of the whole pool's errors on the pilot's
        test set against those on the whole test set: how far even an exact prediction of the
        pilot's test errors is from the truth, the limit a test set of that size sets.
    """
    out = {}
    parts = {q: np.abs(table[f"{q}_relative_error"].to_numpy(float)) for q, *_ in QUANTITIES}
    parts["both"] = np.concatenate([parts[q] for q, *_ in QUANTITIES])
    if all(f"{q}_relative_error_pilot_test" in table for q, *_ in QUANTITIES):
        parts["both_pilot_test"] = np.concatenate(
            [
                np.abs(table[f"{q}_relative_error_pilot_test"].to_numpy(float))
                for q, *_ in QUANTITIES
            ]
        )
    if all(f"{q}_true_pilot_test" in table for q, *_ in QUANTITIES):
        for q, *_ in QUANTITIES:
            own = table[f"{q}_true_pilot_test"].to_numpy(float)
            parts[f"{q}_test_set"] = np.abs(own / table[f"{q}_true"].to_numpy(float) - 1.0)
    for name, v in parts.items():
        out[name] = {
            "median": float(np.median(v)),
            "max": float(np.max(v)),
            "within": float(np.mean(v <= TARGET_RELATIVE_ERROR)),
        }
    return out


def plan_settings(keys, per_configuration: dict):
    """The :class:`~pyiron_appmlip.planning.plan.PlanSetting` of each key, costed at its
    level's seconds per configuration."""
    from ..planning.plan import PlanSetting

    return [
        PlanSetting(
            key,
            float(per_configuration[key[0]]),
            description=dict(zip(SETTING_COLUMNS, key, strict=True)) | {"level": key[0]},
        )
        for key in keys
    ]


def describe(key, n=None) -> str:
    """A short name of a setting: level, w_E/w_F, 2Jmax (and training-set size)."""
    level = f"L{key[0]}" if str(key[0]).isdigit() else str(key[0])
    text = f"{level} w{float(key[1]):g} 2J{int(key[2])}"
    return text if n is None else f"{text} N={int(n)}"


def budget_comparison(model, medians, measurement: SourceMeasurement, preferences):
    """Plans from the error model against plans from the measured errors, per budget and
    preference.

    The budget is the pilot's cost plus each of ``measurement.available_seconds``; both plans
    spend at most what is left after the pilot. The planned settings are costed at the
    pilot's mean recorded seconds per configuration of their level, the truly best ones at the
    pool's.

    Returns:
        ``(table, seconds)``: one row per budget and preference with ``budget`` and ``spent``
        (core-hours, or calculations for sources without recorded times), ``pilot_share``,
        ``preference``, ``planned`` / ``best`` (:func:`describe`), ``planned_key``,
        ``planned_size``, ``<q>_predicted``, ``<q>_planned_true``, ``<q>_best_true``,
        ``<q>_excess`` (planned true - best true), ``within_tolerance`` (excesses at most
        :data:`TOLERANCE`) and ``within_relative`` (planned true errors at most
        :data:`TARGET_RELATIVE_ERROR` above the best's); and the seconds the
        plans from the error model took.
    """
    import pandas as pd

    from ..planning.plan import plan_campaign

    pilot = measurement.pilot
    keys = list(dict.fromkeys(setting_keys(medians)))
    pilot_cost = {}
    for lv in measurement.train_levels:
        pilot_cost[lv] = float(np.mean([pilot.seconds[(i, lv)] for i in pilot.train_ids]))
    planned_settings = plan_settings(keys, pilot_cost)
    true_settings = plan_settings(keys, measurement.pool_cost)
    truth = TruthModel(medians)
    spent = pilot.total_seconds / _SECONDS_PER_HOUR
    pool = int(measurement.info["pool"])
    min_size = int(measurement.info["min_size"])
    rows, seconds = [], 0.0
    for available in measurement.available_seconds:
        budget = spent + float(available) / _SECONDS_PER_HOUR
        for preference in preferences:
            common = dict(
                max_size=pool, preference=float(preference), spent_core_hours=spent,
                min_size=min_size, alternatives=(),
            )  # fmt: skip
            start = time.perf_counter()
            plan = plan_campaign(model, planned_settings, budget, **common)
            seconds += time.perf_counter() - start
            best = plan_campaign(truth, true_settings, budget, **common).best
            key, n = plan.best["key"], int(plan.best["subset_size"])
            planned_true = truth.predict(key, np.array([n]), band=False)
            row = {
                "budget": budget,
                "spent": spent,
                "pilot_share": spent / budget,
                "preference": float(preference),
                "planned": describe(key, n),
                "planned_key": key,
                "planned_size": n,
                "best": describe(best["key"], best["subset_size"]),
            }
            for q, *_ in QUANTITIES:
                row[f"{q}_predicted"] = float(plan.best[f"{q}_rmse"])
                row[f"{q}_planned_true"] = float(planned_true[q]["median"][0])
                row[f"{q}_best_true"] = float(best[f"{q}_rmse"])
                row[f"{q}_excess"] = row[f"{q}_planned_true"] - row[f"{q}_best_true"]
            row["within_tolerance"] = all(row[f"{q}_excess"] <= TOLERANCE[q] for q in TOLERANCE)
            row["within_relative"] = all(
                row[f"{q}_planned_true"] <= (1.0 + TARGET_RELATIVE_ERROR) * row[f"{q}_best_true"]
                for q in TOLERANCE
            )
            rows.append(row)
    return pd.DataFrame(rows), seconds


def evaluate(measurement: SourceMeasurement, settings: ValidationSettings) -> SourceResult:
    """Fit the error model to the pilot, compare it with the truth and plan per budget (and
    summarise the ``"as-planned"`` variant's predictions too)."""
    model, fit_seconds = fit_pilot_model(measurement.pilot_rows)
    medians = truth_medians(measurement.truth_rows)
    plain, _ = fit_pilot_model(measurement.pilot_rows, variant="as-planned")
    plain_summary = relative_error_summary(
        whole_pool_comparison(plain, medians, measurement.info["pool"])
    )
    own = measurement.pool_on_pilot_test
    comparison = whole_pool_comparison(
        model,
        medians,
        measurement.info["pool"],
        on_pilot_test=None if own is None else truth_medians(own),
    )
    budgets, plan_seconds = budget_comparison(model, medians, measurement, settings.preferences)
    return SourceResult(
        measurement=measurement,
        comparison=comparison,
        summary=relative_error_summary(comparison),
        budgets=budgets,
        fit_seconds=fit_seconds,
        plan_seconds=plan_seconds,
        n_plans=len(budgets),
        model_notes=list(model.notes),
        plain_summary=plain_summary,
        exponents=model.exponents,
        offsets=model.offsets,
        variants=_variant_summaries(measurement, medians, settings),
        test_sets=_test_set_summaries(measurement, medians, settings),
        ideal=_ideal_summary(measurement, medians),
    )


def _ideal_summary(measurement, medians, options: dict | None = None) -> dict | None:
    """The error model (``options`` of :func:`fit_pilot_model`) fitted to leverage samples of
    the whole pool at the pilot's sizes, tested on the whole test set, against the truth (see
    :attr:`SourceResult.ideal`)."""
    rows = getattr(measurement, "truth_at_pilot_sizes", None)
    if rows is None or len(rows) == 0:
        return None
    try:
        model, _ = fit_pilot_model(rows, options=options)
    except ValueError as err:
        return {"error": str(err)}
    return relative_error_summary(whole_pool_comparison(model, medians, measurement.info["pool"]))


def _test_set_summaries(measurement, medians, settings) -> dict:
    """The predictions of the pilot with each measured test set (same training rows, same
    error model), against the truth and against the whole pool's fits on that test set."""
    out = {}
    n_test = None
    for how, part in (measurement.test_sets or {}).items():
        model, _ = fit_pilot_model(part["pilot_rows"])
        table = whole_pool_comparison(
            model,
            medians,
            measurement.info["pool"],
            on_pilot_test=truth_medians(part["pool_on_pilot_test"]),
        )
        design = part["pilot"]
        weights = getattr(design, "test_weights", None)
        if weights is None:
            n_test = len(design.test_ids)
        out[how] = {
            "summary": relative_error_summary(table),
            "distinct": len(design.test_ids),
            "weights": None if weights is None else (float(min(weights)), float(max(weights))),
        }
    for part in out.values():
        part["draws"] = n_test
    return out


def _variant_summaries(measurement, medians, settings) -> dict:
    """``{name: {"summary": relative_error_summary, "within_tolerance": share,
    "within_relative": share}}`` of each of :data:`CURVE_VARIANTS`."""
    own = measurement.pool_on_pilot_test
    out = {}
    for name, options in CURVE_VARIANTS.items():
        model, _ = fit_pilot_model(measurement.pilot_rows, options=options)
        table = whole_pool_comparison(
            model,
            medians,
            measurement.info["pool"],
            on_pilot_test=None if own is None else truth_medians(own),
        )
        budgets, _ = budget_comparison(model, medians, measurement, settings.preferences)
        out[name] = {
            "summary": relative_error_summary(table),
            "within_tolerance": float(np.mean(budgets["within_tolerance"].to_numpy(bool))),
            "within_relative": float(np.mean(budgets["within_relative"].to_numpy(bool))),
            "ideal": _ideal_summary(measurement, medians, options),
        }
    return out


# -- collecting --------------------------------------------------------------------------------
def _file_digest(path: str):
    from .selectors_and_fidelity import _file_digest as digest

    return digest(path)


def _load_wbe(path: str, settings: ValidationSettings):
    """The W-Be Be set without the groups the selector report leaves out, optionally
    subsampled, split in halves by configuration id
    (:func:`~.selectors_and_fidelity.load_wbe`)."""
    from .selectors_and_fidelity import load_wbe

    return load_wbe(path, settings.wbe_configurations, settings.seed)


def collect_results(
    settings: ValidationSettings | None = None,
    wbe: str | None = None,
    cache: str | None = None,
    progress=None,
    datasets: dict | None = None,
) -> ValidationResults:
    """Measure (or take from ``cache``) every source and evaluate the pilots.

    Args:
        settings: the :class:`ValidationSettings` (default: the shipped report's).
        wbe: the W-Be Be-only FitSNAP JSON folder (FitSNAP's ``examples/WBe_PRB2019/JSON``
            Be groups); None leaves its section out.
        cache: folder of cached measurements; one is reused only if the dataset files
            (SHA-256), the settings, the package version, the result format and the package
            sources that compute rows are the same. The error models and plans are always
            computed afresh (they take seconds).
        progress: optional callable receiving messages.
        datasets: ``{name: dataset file}`` of the GPAW sources (default: the shipped large
            dataset).

    Returns:
        The :class:`ValidationResults`.
    """
    from .. import __version__
    from ..datasets.store import load_dataset
    from .be_dataset import CAMPAIGNS, LARGE_DATASET_FILE
    from .selectors_and_fidelity_measure import cached

    settings = ValidationSettings() if settings is None else settings
    say = progress or (lambda m: None)
    if datasets is None:
        datasets = {"GPAW large": LARGE_DATASET_FILE}
    code = code_digest() if cache else None
    base = {
        "settings": settings_key(settings),
        "version": __version__,
        "code": code,
        "format": RESULT_FORMAT,
    }
    sources, notes = [], []
    for name, path in datasets.items():
        description = (
            f"the shipped GPAW dataset '{CAMPAIGNS['large']['file']}' "
            f"({CAMPAIGNS['large']['description']})"
            if path == LARGE_DATASET_FILE
            else os.path.basename(path)
        )

        def compute(path=path, name=name, description=description):
            return measure_source(
                load_dataset(path),
                settings,
                name=name,
                description=description,
                n_train=settings.pilot_train,
                n_test=settings.pilot_test,
                progress=say,
            )

        say(f"{name}: {path}")
        key = {"source": _file_digest(path), "kind": "gpaw", **base}
        sources.append(evaluate(cached(cache, key, compute), settings))
    if wbe:

        def compute_wbe():
            from ..potential.reference import ReferencePotential
            from .like_for_like.conventions import WBE_EXCLUDED_GROUPS
            from .selectors_and_fidelity import WBE_REFERENCE

            say(f"W-Be: reading {wbe}")
            ds, train, test, n_all = _load_wbe(wbe, settings)
            pool = ds.common_ids(ds.level_names, train)
            tests = ds.common_ids(ds.level_names, test)
            result = measure_source(
                ds,
                settings,
                name="W-Be (Be part)",
                description=(
                    "VASP (PBE) labels of the Be-only groups of the W-Be SNAP training set (Wood "
                    "et al., Phys. Rev. B 99, 184305 (2019); FitSNAP examples/WBe_PRB2019), one "
                    "DFT level, without the groups "
                    + ", ".join(WBE_EXCLUDED_GROUPS)
                    + ", halves split "
                    "by configuration id, ZBL reference subtracted before fitting"
                ),
                n_train=max(1, int(round(settings.wbe_fraction * len(pool)))),
                n_test=max(1, int(round(settings.wbe_test_fraction * len(tests)))),
                train_ids=train,
                test_ids=test,
                reference=ReferencePotential.zbl(("Be",), *WBE_REFERENCE),
                unit_cost=_SECONDS_PER_HOUR,
                progress=say,
            )
            result.info["subsample"] = {"drawn": len(ds.ids), "of": n_all}
            return result

        key = {"source": _file_digest(wbe), "kind": "wbe", **base}
        sources.append(evaluate(cached(cache, key, compute_wbe), settings))
        sub = sources[-1].measurement.info.get("subsample")
        if sub and sub["drawn"] < sub["of"]:
            notes.append(
                f"The W-Be pool is a seeded random subsample of {sub['drawn']} of its "
                f"{sub['of']} configurations."
            )
    return ValidationResults(settings=settings, sources=sources, wbe_given=bool(wbe), notes=notes)


# -- report ------------------------------------------------------------------------------------
def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def figure_name(stem: str, source_name: str) -> str:
    """The figure file name of one source."""
    return f"{stem}_{_slug(source_name)}.png"


def _pct(x) -> str:
    v = 100.0 * float(x)
    return f"{v:.0f} %" if abs(v) >= 100.0 else f"{v:.1f} %"


def _signed_pct(x) -> str:
    return f"{100.0 * float(x):+.0f} %"


def _amount(value, unit: str) -> str:
    v = float(value)
    if unit == "calculations":
        return f"{v:.0f}"
    return f"{v:.3g}"


def _front_mask(table, prefix: str, cost) -> np.ndarray:
    from ..core.pareto import pareto_mask

    objectives = np.c_[table[f"energy_{prefix}"], table[f"force_{prefix}"], cost]
    return pareto_mask(objectives)


def _plot(result: SourceResult, path: str) -> None:
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    from .selectors_and_fidelity_render import _log_axes

    m = result.measurement
    t = result.comparison
    cost = np.array([m.pool_cost[str(lv)] for lv in t["train_level"]])
    levels = list(m.train_levels)
    colours = colormaps["viridis"](np.linspace(0.0, 0.85, max(len(levels), 1)))
    markers = {tj: mk for tj, mk in zip(sorted(set(t["twojmax"])), "osD^v", strict=False)}
    fig = Figure(figsize=(13.0, 5.0), layout="constrained")
    axes = fig.subplots(1, 3)
    lims = []
    for ax, prefix, title in (
        (axes[0], "predicted", "predicted from the pilot"),
        (axes[1], "true", "true (whole pool)"),
    ):
        front = _front_mask(t, prefix, cost)
        for k, lv in enumerate(levels):
            for tj, mk in markers.items():
                sel = (t["train_level"] == lv).to_numpy() & (t["twojmax"] == tj).to_numpy()
                if not sel.any():
                    continue
                ax.scatter(
                    t.loc[sel, f"force_{prefix}"],
                    t.loc[sel, f"energy_{prefix}"],
                    marker=mk,
                    color=colours[k],
                    s=28,
                    label=f"level {lv}, 2Jmax {tj}",
                )
        ax.scatter(
            t.loc[front, f"force_{prefix}"],
            t.loc[front, f"energy_{prefix}"],
            s=110,
            facecolors="none",
            edgecolors="r",
            label="front (cost, energy, force)",
        )
        _log_axes(ax)
        ax.set_xlabel("force RMSE vs reference (meV/Å)")
        ax.set_ylabel("energy RMSE vs reference (meV/atom)")
        ax.set_title(f"{m.name}: {title}", fontsize=10)
        lims.append((ax.get_xlim(), ax.get_ylim()))
    lo_x = min(a[0][0] for a in lims)
    hi_x = max(a[0][1] for a in lims)
    lo_y = min(a[1][0] for a in lims)
    hi_y = max(a[1][1] for a in lims)
    for ax in axes[:2]:
        ax.set_xlim(lo_x, hi_x)
        ax.set_ylim(lo_y, hi_y)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=5, fontsize=8)
    ax = axes[2]
    for q, mk in (("energy", "o"), ("force", "s")):
        ax.scatter(t[f"{q}_true"], t[f"{q}_predicted"], marker=mk, s=22, label=q)
    both = np.r_[t["energy_true"], t["force_true"], t["energy_predicted"], t["force_predicted"]]
    both = both[np.isfinite(both) & (both > 0)]
    x = np.geomspace(both.min() / 1.5, both.max() * 1.5, 50)
    ax.plot(x, x, "k-", lw=1, label="predicted = true")
    ax.fill_between(
        x, x * (1 - TARGET_RELATIVE_ERROR), x * (1 + TARGET_RELATIVE_ERROR), color="0.85",
        label=f"±{100 * TARGET_RELATIVE_ERROR:g} %",
    )  # fmt: skip
    _log_axes(ax)
    ax.set_xlabel("true whole-pool RMSE (meV/atom, meV/Å)")
    ax.set_ylabel("predicted from the pilot")
    ax.set_title("predicted vs true, every setting", fontsize=10)
    ax.legend(fontsize=7)
    fig.savefig(path, dpi=110)


def _setting_table(result: SourceResult) -> list[str]:
    t = result.comparison
    own = "energy_true_pilot_test" in t
    extra = " true on the pilot's tests E / F |" if own else ""
    lines = [
        "| level | w_E/w_F | 2Jmax | energy predicted | energy true | rel. error | "
        "force predicted | force true | rel. error |" + extra,
        "|---|---|---|---|---|---|---|---|---|" + ("---|" if own else ""),
    ]
    for _, r in t.iterrows():
        cell = (
            f" {r['energy_true_pilot_test']:.3g} / {r['force_true_pilot_test']:.3g} |"
            if own
            else ""
        )
        lines.append(
            f"| {r['train_level']} | {float(r['weight_ratio']):g} | {int(r['twojmax'])} | "
            f"{r['energy_predicted']:.3g} | {r['energy_true']:.3g} | "
            f"{_signed_pct(r['energy_relative_error'])} | {r['force_predicted']:.3g} | "
            f"{r['force_true']:.3g} | {_signed_pct(r['force_relative_error'])} |" + cell
        )
    return lines


def _budget_table(result: SourceResult) -> list[str]:
    m, b = result.measurement, result.budgets
    unit = m.cost_unit
    lines = [
        f"| budget ({unit}) | pilot's share | preference | planned | predicted E / F | "
        "planned's true E / F | truly best | best's true E / F | within 0.5 / 5 | within 10 % |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in b.iterrows():
        lines.append(
            f"| {_amount(r['budget'], unit)} | {_pct(r['pilot_share'])} | "
            f"{r['preference']:g} | {r['planned']} | "
            f"{r['energy_predicted']:.3g} / {r['force_predicted']:.3g} | "
            f"{r['energy_planned_true']:.3g} / {r['force_planned_true']:.3g} | {r['best']} | "
            f"{r['energy_best_true']:.3g} / {r['force_best_true']:.3g} | "
            f"{'yes' if r['within_tolerance'] else 'no'} | "
            f"{'yes' if r['within_relative'] else 'no'} |"
        )
    return lines


def _pilot_lines(result: SourceResult) -> list[str]:
    m = result.measurement
    p = m.pilot
    unit = m.cost_unit
    info = m.info
    cost = (
        f"{p.total_seconds:.0f} s of recorded CPU time = "
        f"{p.total_seconds / _SECONDS_PER_HOUR:.3g} core-hours"
        if unit == "core-hours"
        else f"{len(p.seconds)} calculations (the source records no DFT times: budgets are "
        "counted in calculations)"
    )
    by_level = ", ".join(
        f"level {lv}: {len(p.ids_at(lv))}" for lv in dict.fromkeys([*p.levels, p.reference_level])
    )
    sizes = "; ".join(f"2Jmax {t}: {s}" for t, s in sorted(info["pilot_sizes"].items()))
    usable = full_rank_rows(m.pilot_rows)
    used = "; ".join(
        f"2Jmax {t}: {sorted(int(n) for n in set(g['subset_size']))}"
        for t, g in usable.groupby("twojmax")
    )
    exps = "; ".join(
        f"2Jmax {t}: "
        + ", ".join(
            f"{q} b {b:g}, N0 {result.offsets.get(t, {}).get(q, 0.0):.3g}" for q, b in e.items()
        )
        for t, e in sorted(result.exponents.items())
    )
    prior = MODEL_OPTIONS.get("exponent_range")
    prior_text = f" (b within {prior[0]:g}-{prior[1]:g})" if prior else ""
    return [
        f"Source: {m.description}. Training pool {info['pool']} configurations, test set "
        f"{info['test']} at level {m.truth_level}; descriptors per 2Jmax: "
        + ", ".join(f"{t}: {n}" for t, n in sorted(info["n_descriptors"].items()))
        + ".",
        "",
        f"Pilot: the first {len(p.train_ids)} configurations of a leverage order of the pool "
        f"at level(s) {', '.join(p.levels)}, and {len(p.test_ids)} test configurations drawn "
        f"from the test set at level {p.reference_level}{_test_draw_text(result)}: "
        f"{len(p.seconds)} distinct "
        f"calculations ({by_level}), {cost}. The error model saw only the fits of the pilot's "
        f"subsets (sizes {sizes}; {result.measurement.pilot_rows['repetition'].nunique()} "
        "repetitions each) tested on the pilot's test set, one model per 2Jmax from the sizes "
        f"at which every fit has full rank ({used}). Each model fits err(N)^2 = floor^2 + "
        f"A (N - N0)^-b, b and N0 shared by the settings of a 2Jmax{prior_text}: {exps}.",
        "",
        f"The truth: fits of leverage-sampled subsets of the whole pool (median of "
        f"{result.measurement.truth_rows['repetition'].nunique()} repetitions per size) and of "
        "the pool itself, tested on the whole test set.",
    ]


def _test_draw_text(result: SourceResult) -> str:
    p = result.measurement.pilot
    weights = getattr(p, "test_weights", None)
    if weights is None:
        return " (uniformly, each counting once)"
    draws = (result.test_sets.get("leverage") or {}).get("draws")
    return (
        f" (by leverage{'' if draws is None else f', {draws} draws with replacement'}, "
        f"weights {min(weights):.3g}-{max(weights):.3g} in the test RMSEs)"
    )


def _variant_lines(result: SourceResult) -> list[str]:
    lines = [
        "The same pilot rows fitted four ways (one model per 2Jmax from the full-rank sizes). "
        "The last column compares with the whole pool's fits tested on the pilot's own test "
        "configurations, which isolates the extrapolation in N from the test set's sampling. "
        "The ideal pilot's column is the same fit of leverage samples of the whole pool at the "
        "pilot's sizes, tested on the whole test set.",
        "",
        "| learning-curve fit | median rel. error E / F | largest E / F | plans within "
        "0.5 meV/atom, 5 meV/Å | plans within 10 % | median rel. error on the pilot's tests "
        "| ideal pilot: median rel. error E / F |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, v in result.variants.items():
        s = v["summary"]
        own = _pct(s["both_pilot_test"]["median"]) if "both_pilot_test" in s else "-"
        ideal = v.get("ideal")
        ideal = (
            f"{_pct(ideal['energy']['median'])} / {_pct(ideal['force']['median'])}"
            if ideal and "error" not in ideal
            else "-"
        )
        lines.append(
            f"| {name} | {_pct(s['energy']['median'])} / {_pct(s['force']['median'])} | "
            f"{_pct(s['energy']['max'])} / {_pct(s['force']['max'])} | "
            f"{_pct(v['within_tolerance'])} | {_pct(v['within_relative'])} | {own} | {ideal} |"
        )
    names = list(result.variants)
    errors = {n: result.variants[n]["summary"]["both"]["median"] for n in names}
    plans = {n: result.variants[n]["within_tolerance"] for n in names}
    best_error = min(names, key=errors.get)
    best_plans = [n for n in names if plans[n] == max(plans.values())]
    lines += [
        "",
        f"Smallest median relative error (energy and force together): {best_error} "
        f"({_pct(errors[best_error])}); most plans within tolerance: {', '.join(best_plans)} "
        f"({_pct(max(plans.values()))}). The report and the `AppmlipPlan` job use the last fit.",
    ]
    return lines


_TEST_SET_NAMES = {"random": "random (uniform)", "leverage": "leverage-weighted"}


def _test_set_lines(result: SourceResult, settings: ValidationSettings) -> list[str]:
    lines = [
        "The same pilot (training configurations, subsets, error model) with its test set drawn "
        "two ways from the test set: uniformly, every test configuration counting once, or by "
        "leverage (probability alpha / M + (1 - alpha) g_i / sum g, g_i a configuration's "
        "block leverage with respect to the weighted design of all candidates, from descriptors "
        f"only; alpha = {settings.test_mixture:g}; draws with replacement), each "
        "test configuration weighted by k_i / (n pi_i) in the test RMSEs. The last two columns "
        "are the limit the test set sets: the whole pool's fits on the pilot's test set against "
        "the whole test set.",
        "",
        "| pilot's test set | draws / distinct calculations | weights | median rel. error E / F "
        "| largest E / F | whole pool's fits on the pilot's tests: median rel. error E / F | "
        "largest E / F |",
        "|---|---|---|---|---|---|---|",
    ]
    for how, v in result.test_sets.items():
        s = v["summary"]
        w = v["weights"]
        lines.append(
            f"| {_TEST_SET_NAMES.get(how, how)} | {v['draws']} / {v['distinct']} | "
            f"{'1' if w is None else f'{w[0]:.3g}-{w[1]:.3g}'} | "
            f"{_pct(s['energy']['median'])} / {_pct(s['force']['median'])} | "
            f"{_pct(s['energy']['max'])} / {_pct(s['force']['max'])} | "
            f"{_pct(s['energy_test_set']['median'])} / {_pct(s['force_test_set']['median'])} | "
            f"{_pct(s['energy_test_set']['max'])} / {_pct(s['force_test_set']['max'])} |"
        )
    if {"random", "leverage"} <= set(result.test_sets):
        u, v = (result.test_sets[k]["summary"] for k in ("random", "leverage"))

        def pair(x, key):
            return f"{_pct(x[f'energy{key}']['median'])} / {_pct(x[f'force{key}']['median'])}"

        target = 100 * TARGET_RELATIVE_ERROR
        reached = [q for q in ("energy", "force") if v[q]["median"] <= TARGET_RELATIVE_ERROR]
        lines += [
            "",
            f"With the leverage-weighted test set the predictions' median relative error is "
            f"{pair(v, '')} (energy / force; uniform test set: {pair(u, '')}), and the whole "
            f"pool's own fits on the pilot's tests differ from the whole test set by a median "
            f"{pair(v, '_test_set')} (uniform: {pair(u, '_test_set')}). The {target:g} % target "
            + (
                f"is met for {' and '.join(reached)} with the leverage-weighted test set."
                if reached
                else "is missed for both with the leverage-weighted test set."
            )
            + " Each row is one seeded draw of the test set, so part of the difference between "
            "the rows is the luck of the draw.",
        ]
    return lines


def _met(ok: bool) -> str:
    return "met" if ok else "missed"


def pilot_cost_floor(result: SourceResult) -> dict:
    """What a pilot of this source must cost at least (core-hours, or calculations).

    Returns:
        A dict with the keys ``test`` (the pilot's reference-level test calculations),
        ``test_each`` (one of them), ``training`` (its training calculations), ``full_rank``
        (the smallest pilot size whose fits have full rank at the largest 2Jmax), ``cheapest``
        (the cheapest training level), ``minimum`` (that many configurations at the cheapest
        level plus one test calculation) and ``minimum_budget`` (the smallest budget of which
        the minimum is at most :data:`TARGET_PILOT_SHARE`).
    """
    m = result.measurement
    p = m.pilot
    ref = p.reference_level
    test = sum(p.seconds[(i, ref)] for i in p.test_ids) / _SECONDS_PER_HOUR
    training = p.total_seconds / _SECONDS_PER_HOUR - test
    per_level = {
        lv: float(np.mean([p.seconds[(i, lv)] for i in p.train_ids])) / _SECONDS_PER_HOUR
        for lv in p.levels
    }
    cheapest = min(per_level, key=per_level.get)
    usable = full_rank_rows(m.pilot_rows)
    top = usable[usable["twojmax"] == usable["twojmax"].max()]
    full_rank = int(top["subset_size"].min()) if len(top) else len(p.train_ids)
    each = test / max(len(p.test_ids), 1)
    minimum = full_rank * per_level[cheapest] + each
    return {
        "test": test,
        "test_each": each,
        "training": training,
        "full_rank": full_rank,
        "cheapest": cheapest,
        "minimum": minimum,
        "minimum_budget": minimum / TARGET_PILOT_SHARE,
    }


def _cost_floor_text(result: SourceResult, needed: float, whole: float) -> str:
    m = result.measurement
    unit = m.cost_unit
    floor = pilot_cost_floor(result)
    budgets = sorted(set(result.budgets["budget"].to_numpy(float)))
    out_of_reach = [b for b in budgets if b < floor["minimum_budget"]]
    text = (
        f"the pilot's {len(m.pilot.test_ids)} reference-level test calculations cost "
        f"{_amount(floor['test'], unit)} {unit} ({_amount(floor['test_each'], unit)} each), its "
        f"training calculations {_amount(floor['training'], unit)}; a pilot worth "
        f"{100 * TARGET_PILOT_SHARE:g} % of its budget needs a budget of "
        f"{_amount(needed, unit)} {unit}"
    )
    if needed > whole:
        text += (
            f", more than labelling the whole pool of {m.info['pool']} configurations at every "
            f"training level costs ({_amount(whole, unit)} {unit})"
        )
    text += (
        f". Even a pilot of {floor['full_rank']} training configurations (its smallest subset "
        "size whose fits all have full rank at the largest 2Jmax) at the cheapest level "
        f"({floor['cheapest']}) and a single test calculation costs "
        f"{_amount(floor['minimum'], unit)} {unit}: such a pilot cannot meet the target for "
        f"budgets below {_amount(floor['minimum_budget'], unit)} {unit}"
    )
    if out_of_reach:
        text += (
            f", which are {len(out_of_reach)} of the {len(budgets)} budgets here "
            f"({', '.join(_amount(b, unit) for b in out_of_reach)} {unit})"
        )
    if floor["test_each"] > TARGET_PILOT_SHARE * budgets[-1]:
        text += (
            f"; one reference-level calculation alone is more than "
            f"{100 * TARGET_PILOT_SHARE:g} % of every budget"
        )
    return text + "."


def _target_lines(result: SourceResult) -> list[str]:
    s, b = result.summary, result.budgets
    m = result.measurement
    unit = m.cost_unit
    shares = b["pilot_share"].to_numpy(float)
    budgets = b["budget"].to_numpy(float)
    within = float(np.mean(b["within_tolerance"].to_numpy(bool)))
    within_rel = float(np.mean(b["within_relative"].to_numpy(bool)))
    e_ok = s["energy"]["median"] <= TARGET_RELATIVE_ERROR
    f_ok = s["force"]["median"] <= TARGET_RELATIVE_ERROR
    pilot_amount = m.pilot.total_seconds / _SECONDS_PER_HOUR
    needed = pilot_amount / TARGET_PILOT_SHARE
    whole = sum(m.pool_cost[lv] for lv in m.train_levels) * m.info["pool"] / _SECONDS_PER_HOUR
    lines = [
        f"- Predicted whole-pool errors within {100 * TARGET_RELATIVE_ERROR:g} %: median relative "
        f"error {_pct(s['energy']['median'])} for energies (target {_met(e_ok)}) and "
        f"{_pct(s['force']['median'])} for forces (target {_met(f_ok)}); largest "
        f"{_pct(s['energy']['max'])} and {_pct(s['force']['max'])}; "
        f"{_pct(s['both']['within'])} of all predictions are within "
        f"{100 * TARGET_RELATIVE_ERROR:g} %.",
    ]
    if shares.max() <= TARGET_PILOT_SHARE:
        cost = "target met at every budget."
    elif (shares <= TARGET_PILOT_SHARE).any():
        cost = (
            f"target met for the budgets of at least {_amount(needed, unit)} {unit} and missed "
            f"for the {len(set(budgets[budgets < needed]))} smaller ones."
        )
    else:
        cost = "target missed at every budget."
    lines.append(
        f"- The pilot's whole DFT cost ({_amount(pilot_amount, unit)} {unit}) is "
        f"{_pct(shares.min())} to {_pct(shares.max())} of the budgets planned for: {cost}"
    )
    if shares.max() > TARGET_PILOT_SHARE:
        lines.append(f"- Why the cost target is missed: {_cost_floor_text(result, needed, whole)}")
    lines += [
        f"- Fitting the error model took {result.fit_seconds:.2g} s; {result.n_plans} plans "
        f"took {result.plan_seconds:.2g} s together (target met: seconds, not a sweep).",
        f"- The planned setting's true errors are within {TOLERANCE['energy']:g} meV/atom and "
        f"{TOLERANCE['force']:g} meV/Å of the truly best setting's in {_pct(within)} of the "
        f"(budget, preference) cases, and within {100 * TARGET_RELATIVE_ERROR:g} % of them in "
        f"{_pct(within_rel)}.",
    ]
    if result.plain_summary:
        ps = result.plain_summary
        lines.append(
            "- Fitted from every pilot row in one model over every 2Jmax (rank-deficient fits "
            "included; the report and the `AppmlipPlan` job fit one model per 2Jmax from "
            "full-rank sizes), the median relative error is "
            f"{_pct(ps['energy']['median'])} (energy) and {_pct(ps['force']['median'])} "
            f"(force), the largest {_pct(ps['energy']['max'])} and {_pct(ps['force']['max'])}."
        )
    if not (e_ok and f_ok):
        worst = result.comparison.assign(
            _w=np.maximum(
                np.abs(result.comparison["energy_relative_error"]),
                np.abs(result.comparison["force_relative_error"]),
            )
        ).sort_values("_w", ascending=False)
        top = worst.iloc[0]
        why = (
            "- Why the error target is missed: the learning curves are extrapolated by a "
            f"factor {m.info['pool'] / len(m.pilot.train_ids):.2g} in N, from subsets of the "
            f"pilot's {len(m.pilot.train_ids)} leverage-chosen configurations to leverage "
            "samples of the whole pool, and each is measured on the pilot's "
            f"{len(m.pilot.test_ids)} test configurations."
        )
        if "both_pilot_test" in s:
            why += (
                " Against the whole pool's errors on those same test configurations the median "
                f"relative error (energy and force together) is "
                f"{_pct(s['both_pilot_test']['median'])}, against the whole test set "
                f"{_pct(s['both']['median'])}: the difference is what the small test set adds, "
                "the rest is the extrapolation."
            )
        if "energy_test_set" in s:
            why += (
                " Even an exact prediction of the pilot's test errors would miss: the whole "
                f"pool's own fits, tested on the pilot's {len(m.pilot.test_ids)} test "
                "configurations, differ from their errors on the whole test set by a median "
                f"{_pct(s['energy_test_set']['median'])} (energy) and "
                f"{_pct(s['force_test_set']['median'])} (force), the limit a test set of this "
                "size sets."
            )
        ideal = result.ideal
        if ideal and "error" not in ideal:
            why += (
                " An ideal pilot at the same sizes, its subsets drawn afresh from the whole "
                "pool for every fit and tested on the whole test set, fitted with the same "
                f"error model, predicts with a median relative error of "
                f"{_pct(ideal['energy']['median'])} (energy) and "
                f"{_pct(ideal['force']['median'])} (force), largest "
                f"{_pct(ideal['energy']['max'])} and {_pct(ideal['force']['max'])}: what the "
                "extrapolation from these sizes costs without the pilot's fixed configurations "
                "and small test set."
            )
        elif ideal:
            why += f" An ideal pilot at the same sizes could not be fitted: {ideal['error']}."
        why += (
            " The worst setting is "
            f"{describe((top['train_level'], top['weight_ratio'], top['twojmax']))} "
            f"({_signed_pct(top['energy_relative_error'])} energy, "
            f"{_signed_pct(top['force_relative_error'])} force)."
        )
        lines.append(why)
    return lines


def render_report(results: ValidationResults, path: str | None = None, command: str = "") -> str:
    """The report as Markdown; figures are written beside ``path`` (none without a path).

    Args:
        results: the :class:`ValidationResults`.
        path: the Markdown file the report will be written to (figures go to its folder).
        command: the command line that made the report (printed in it).
    """
    folder = os.path.dirname(os.path.abspath(path)) if path else None
    stem = os.path.splitext(os.path.basename(path))[0] if path else "pilot_validation"
    s = results.settings
    lines = [
        "# Pilot validation: errors predicted from a small pilot against the whole pool",
        "",
        "Can a pilot of a few configurations tell, before the campaign, which errors every "
        "setting will reach on the whole pool and which setting to choose for a budget? Here "
        "the pilot's labels and DFT times are taken from finished datasets, so the prediction "
        "can be checked against fits of the whole pool.",
        "",
    ]
    if command:
        lines += ["Made by:", "", "```", command, "```", ""]
    lines += [
        f"Settings: training levels x w_E/w_F {', '.join(f'{w:g}' for w in s.weights)} x "
        f"2Jmax {', '.join(str(t) for t in s.twojmax)}; leverage order at w_E/w_F "
        f"{s.leverage_weight:g}; the pilot's subsets drawn by '{s.pilot_sampler}' sampling; "
        f"the pilot's test set drawn by '{s.pilot_test_selection}' (see 'Test sets compared'); "
        f"plans for preferences {', '.join(f'{p:g}' for p in s.preferences)} (0: forces only, "
        "1: energies only). Errors are test RMSE against the reference level: energies in "
        "meV/atom, forces in meV/Å; relative error = predicted / true - 1.",
        "",
        "Each budget is the pilot's cost plus what is left for the campaign; the planned setting "
        "is costed at the pilot's mean DFT time per configuration of its level, the truly best "
        "one at the pool's, and both spend at most what is left (the pilot's own calculations "
        "are not counted as reusable). The truly best setting is what the same planner picks "
        "from the measured errors instead of the predicted ones.",
        "",
        "## Targets",
        "",
        "| source | median rel. error E / F | largest E / F | pilot's share of the budgets | "
        "fit / plans (s) | plans within 0.5 meV/atom, 5 meV/Å of the best | "
        "plans within 10 % of the best |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results.sources:
        sh = r.budgets["pilot_share"].to_numpy(float)
        lines.append(
            f"| {r.measurement.name} | {_pct(r.summary['energy']['median'])} / "
            f"{_pct(r.summary['force']['median'])} | {_pct(r.summary['energy']['max'])} / "
            f"{_pct(r.summary['force']['max'])} | {_pct(sh.min())} - {_pct(sh.max())} | "
            f"{r.fit_seconds:.2g} / {r.plan_seconds:.2g} | "
            f"{_pct(np.mean(r.budgets['within_tolerance'].to_numpy(bool)))} | "
            f"{_pct(np.mean(r.budgets['within_relative'].to_numpy(bool)))} |"
        )
    lines += [
        "",
        f"Targets: predicted whole-pool errors within {100 * TARGET_RELATIVE_ERROR:g} %; the pilot's "
        f"DFT cost at most {100 * TARGET_PILOT_SHARE:g} % of the budget it plans for; fitting and "
        "planning in seconds.",
        "",
    ]
    if not results.wbe_given:
        lines += [
            "The W-Be Be data were not given (`--wbe PATH`, the Be groups of FitSNAP's "
            "examples/WBe_PRB2019/JSON), so their section is left out.",
            "",
        ]
    lines += [f"{n}" for n in results.notes] + ([""] if results.notes else [])
    for r in results.sources:
        m = r.measurement
        lines += [f"## {m.name}", ""]
        lines += _pilot_lines(r) + [""]
        if folder:
            name = figure_name(stem, m.name)
            _plot(r, os.path.join(folder, name))
            lines += [
                f"![Predicted and true whole-pool errors, {m.name}]({name})",
                "",
                "Left: every setting's whole-pool errors as the pilot predicts them; middle: as "
                "the whole pool's fits measure them (red rings: the Pareto front of DFT cost, "
                "energy and force error); right: predicted against true, with the "
                f"±{100 * TARGET_RELATIVE_ERROR:g} % band.",
                "",
            ]
        lines += ["### Predicted and true whole-pool errors per setting", ""]
        lines += _setting_table(r) + [""]
        lines += ["### Plans per budget", ""]
        lines += _budget_table(r) + [""]
        lines += ["### Against the targets", ""]
        lines += _target_lines(r) + [""]
        if r.variants:
            lines += ["### Learning-curve fits compared", ""]
            lines += _variant_lines(r) + [""]
        if r.test_sets:
            lines += ["### Test sets compared", ""]
            lines += _test_set_lines(r, s) + [""]
        if r.model_notes:
            lines += [f"Error-model remarks: {'; '.join(r.model_notes)}.", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_report(results: ValidationResults, path: str | None, command: str = "") -> str:
    """Render the report and write it (and its figures) to ``path``; return the Markdown."""
    text = render_report(results, path, command=command)
    if path:
        write_text(path, text)
    return text


# -- command line ------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pyiron_appmlip.reproduction.pilot_validation",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("--out", default=None, help="Markdown report (default: print)")
    parser.add_argument(
        "--wbe",
        default=None,
        help="the Be-only groups of the W-Be SNAP training set (FitSNAP JSON folder, from "
        "FitSNAP's examples/WBe_PRB2019/JSON); without it its section is left out",
    )
    parser.add_argument("--cache", default=None, help="folder of cached results (resumable)")
    parser.add_argument(
        "--wbe-configurations",
        type=int,
        default=ValidationSettings.wbe_configurations,
        help="configurations drawn from the W-Be set, both halves (0: all; default "
        f"{ValidationSettings.wbe_configurations})",
    )
    return parser


def main(argv=None, collect=collect_results) -> int:
    """Measure every source, evaluate the pilots and write (or print) the report.

    Args:
        argv: command-line arguments (default: ``sys.argv[1:]``).
        collect: the function measuring and evaluating the sources (:func:`collect_results`).

    Returns:
        The exit status (0).
    """
    args = _parser().parse_args(argv)
    settings = replace(ValidationSettings(), wbe_configurations=args.wbe_configurations)
    say = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    results = collect(settings, wbe=args.wbe, cache=args.cache, progress=say)
    command = "python -m pyiron_appmlip.reproduction.pilot_validation"
    if args.out:
        command += f" --out {args.out}"
    if args.wbe:
        command += " --wbe PATH"
    if args.wbe_configurations != ValidationSettings.wbe_configurations:
        command += f" --wbe-configurations {args.wbe_configurations}"
    text = write_report(results, args.out, command=command)
    if args.out is None:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
