"""Error models fitted to a small pilot, checked against the paper authors' published tables.

The authors' ``3D_pareto`` tables (2Jmax 6; levels 1-6; weight ratios 5 ... 300; leverage
subsets of 100 ... 9,990 configurations, up to 50 repetitions) are held-out truth that nothing
in this package produced. The error model (:func:`pyiron_appmlip.core.error_model.fit_error_model`)
sees only the rows at the pilot's sizes (by default N = 100, 1 % of the pool) and predicts
the median test errors against level 6 at every larger size. This module measures

* the relative error of the predicted medians at N >= 1,000 (median and 90th percentile over
  settings and sizes, per quantity);
* planning: for DFT budgets on a log grid from 10 to 10,000 minutes (cost = the paper's mean
  time per configuration of the level x N) and preferences 0, 0.5 and 1, the setting (level,
  weight ratio, N) that :func:`pyiron_appmlip.study.recommend` picks from the predicted medians
  against the one it picks from the true medians; a case is within tolerance when the picked
  setting's true errors exceed the truly best setting's by at most 0.5 meV/atom and
  5 meV/Angstrom;
* the planned level per budget, beside the paper's statement on the best level per budget
  (made for 2Jmax 10; these tables are 2Jmax 6);

and writes them as Markdown with a figure of predicted and true learning curves::

    python -m pyiron_appmlip.reproduction.planner_validation \\
        --paper-results /path/to/paper-results --out planner_validation.md

The tables give errors in eV/atom and eV/Angstrom; everything here is in meV/atom and
meV/Angstrom.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..core.error_model import EXPONENT_PRIOR, ErrorModel, fit_error_model
from ..dft.levels import PAPER_LEVELS
from ..study.recommend import recommend
from .paper_values import FIG_8, TABLE_3

__all__ = [
    "read_paper_results",
    "fit_pilot",
    "predicted_medians",
    "true_medians",
    "prediction_errors",
    "planning_cases",
    "Variant",
    "ValidationResult",
    "validate",
    "render_report",
    "plot_learning_curves",
    "main",
    "BUDGETS_MINUTES",
    "PREFERENCES",
    "ENERGY_TOLERANCE",
    "FORCE_TOLERANCE",
]

#: DFT budgets of the planning check (minutes): 13 points, 4 per decade, 10 ... 10,000.
BUDGETS_MINUTES = tuple(float(x) for x in np.logspace(1.0, 4.0, 13))
#: Preferences of the planning check (0 forces only, 0.5 both, 1 energies only).
PREFERENCES = (0.0, 0.5, 1.0)
#: A planned setting counts as right when its true errors are within these of the best setting.
ENERGY_TOLERANCE = 0.5  # meV/atom
FORCE_TOLERANCE = 5.0  # meV/Angstrom
#: Smallest N whose medians are compared.
LARGE_N = 1000

_EV_TO_MEV = 1000.0
_COLUMNS = {
    "energy_test_truth": "Testing Energy RMSE (6th precision)",
    "force_test_truth": "Testing Force RMSE (6th precision)",
    "energy_test_self": "Testing Energy RMSE (train precision)",
    "force_test_self": "Testing Force RMSE (train precision)",
    "energy_train_self": "Subsampled Energy RMSE (train precision)",
    "force_train_self": "Subsampled Force RMSE (train precision)",
}
_QUANTITIES = ("energy", "force")
_UNITS = {"energy": "meV/atom", "force": "meV/Angstrom"}


def read_paper_results(path: str) -> pd.DataFrame:
    """The authors' ``3D_pareto/<N>/results.csv`` tables as one DataFrame (errors in meV).

    Args:
        path: the ``paper-results`` folder (holding ``3D_pareto``) or ``3D_pareto`` itself.

    Returns:
        One row per fit: ``level``, ``weight_ratio``, ``twojmax``, ``subset_size``,
        ``repetition`` (0, 1, ... within a setting and size) and the errors
        ``energy_test_truth``, ``force_test_truth`` (against level 6), ``energy_test_self``,
        ``force_test_self`` (against the training level) and ``energy_train_self``,
        ``force_train_self`` (on the N training configurations, against the training level).

    Raises:
        ValueError: if no table is found or a column is missing.
    """
    root = (
        os.path.join(path, "3D_pareto") if os.path.isdir(os.path.join(path, "3D_pareto")) else path
    )
    files = sorted(glob.glob(os.path.join(root, "*", "results.csv")))
    if not files:
        raise ValueError(
            f"paper_results: no 3D_pareto/<N>/results.csv under {path!r}; give the folder of the "
            "authors' tables (it holds 3D_pareto/)"
        )
    frames = []
    for f in files:
        t = pd.read_csv(f, index_col=0)
        t.columns = [c.strip() for c in t.columns]
        need = ["Subsample size", "Energy Weight", "2Jmax", "Train Precision", *_COLUMNS.values()]
        missing = [c for c in need if c not in t.columns]
        if missing:
            raise ValueError(f"paper_results: {f} lacks the column(s) {missing}")
        out = pd.DataFrame(
            {
                "level": t["Train Precision"].astype(int),
                "weight_ratio": t["Energy Weight"].astype(float),
                "twojmax": t["2Jmax"].astype(int),
                "subset_size": t["Subsample size"].astype(int),
            }
        )
        for name, column in _COLUMNS.items():
            out[name] = t[column].astype(float) * _EV_TO_MEV
        frames.append(out)
    rows = pd.concat(frames, ignore_index=True)
    rows["repetition"] = rows.groupby(["level", "weight_ratio", "subset_size"]).cumcount()
    return rows


def fit_pilot(
    rows: pd.DataFrame,
    pilot_sizes: Sequence[int] = (100,),
    sampling_bias="auto",
    use_distances: bool = True,
    hidden_levels: Sequence[int] = (),
    **options,
) -> ErrorModel:
    """Fit the error model to the rows at ``pilot_sizes``.

    Args:
        rows: the table of :func:`read_paper_results`.
        pilot_sizes: the training-set sizes the model may see.
        sampling_bias: ``sampling_bias`` of
            :func:`~pyiron_appmlip.core.error_model.fit_error_model`.
        use_distances: give the model the paper's Table 3 distances of levels 1-5 to level 6
            (energy unshifted, forces) as ``distances``.
        hidden_levels: levels whose errors against level 6 are hidden from the model; their
            floors then come from level 6's and the Table 3 distance in quadrature (implies
            ``use_distances``).
        **options: further options of
            :func:`~pyiron_appmlip.core.error_model.fit_error_model` (e.g. ``exponent_range``,
            ``size_offset``).

    Returns:
        The fitted :class:`~pyiron_appmlip.core.error_model.ErrorModel`; settings are
        ``(level, weight_ratio)``.
    """
    pilot = rows[rows["subset_size"].isin(list(pilot_sizes))]
    if pilot.empty:
        raise ValueError(
            f"pilot_sizes: no rows at sizes {list(pilot_sizes)}; the table has sizes "
            f"{sorted(rows['subset_size'].unique().tolist())}"
        )
    settings = list(zip(pilot["level"].tolist(), pilot["weight_ratio"].tolist(), strict=True))
    hidden = pilot["level"].isin(list(hidden_levels)).to_numpy()
    test = {}
    for q in _QUANTITIES:
        v = pilot[f"{q}_test_truth"].to_numpy(dtype=float).copy()
        v[hidden] = np.nan
        test[q] = v
    kwargs = {}
    if use_distances or len(hidden_levels):
        table3 = {row["level"]: row for row in TABLE_3}
        column = {"energy": "energy_unshifted_mev_per_atom", "force": "force_mev_per_angstrom"}
        kwargs["distances"] = {
            ((lv, w), q): float(table3[lv][column[q]])
            for lv, w in set(settings)
            if lv in table3
            for q in _QUANTITIES
        }
        kwargs["truth_setting"] = _level_6
    return fit_error_model(
        settings,
        pilot["subset_size"].to_numpy(),
        test,
        train={q: pilot[f"{q}_train_self"].to_numpy() for q in _QUANTITIES},
        test_self={q: pilot[f"{q}_test_self"].to_numpy() for q in _QUANTITIES},
        sampling_bias=sampling_bias,
        **kwargs,
        **options,
    )


def _level_6(setting):
    return (6, setting[1])


def true_medians(rows: pd.DataFrame) -> pd.DataFrame:
    """Median test errors against level 6 per (level, weight_ratio, subset_size), with the
    16th and 84th percentiles (``*_low``, ``*_high``) and ``n_repetitions``."""
    g = rows.groupby(["level", "weight_ratio", "subset_size"])
    out = pd.DataFrame({"n_repetitions": g.size()})
    for q in _QUANTITIES:
        c = g[f"{q}_test_truth"]
        out[q] = c.median()
        out[f"{q}_low"] = c.quantile(0.16)
        out[f"{q}_high"] = c.quantile(0.84)
    return out.reset_index()


def predicted_medians(model: ErrorModel, index: pd.DataFrame) -> pd.DataFrame:
    """The model's medians (and band) at the (level, weight_ratio, subset_size) of ``index``."""
    out = index[["level", "weight_ratio", "subset_size"]].copy().reset_index(drop=True)
    for q in _QUANTITIES:
        med, lo, hi = [], [], []
        for lv, w, n in zip(out["level"], out["weight_ratio"], out["subset_size"], strict=True):
            c = model.curve((int(lv), float(w)), q)
            med.append(float(c.median(n)))
            try:
                band = c.band(n)
                lo.append(float(band[0]))
                hi.append(float(band[1]))
            except ValueError:
                lo.append(np.nan)
                hi.append(np.nan)
        out[q], out[f"{q}_low"], out[f"{q}_high"] = med, lo, hi
    return out


def prediction_errors(
    truth: pd.DataFrame, predicted: pd.DataFrame, min_size: int = LARGE_N
) -> dict:
    """``{quantity: (median, 90th percentile)}`` of ``abs(predicted / true - 1)`` of the medians at
    sizes >= ``min_size`` (fractions)."""
    big = truth["subset_size"].to_numpy() >= min_size
    out = {}
    for q in _QUANTITIES:
        r = np.abs(predicted[q].to_numpy()[big] / truth[q].to_numpy()[big] - 1.0)
        out[q] = (float(np.median(r)), float(np.percentile(r, 90)))
    return out


def _cost_seconds(table: pd.DataFrame) -> np.ndarray:
    return np.array(
        [
            PAPER_LEVELS[int(lv)].paper_seconds * n
            for lv, n in zip(table["level"], table["subset_size"], strict=True)
        ],
        dtype=float,
    )


def _as_fit_table(medians: pd.DataFrame) -> pd.DataFrame:
    """Medians in the layout :func:`pyiron_appmlip.study.recommend` reads."""
    return pd.DataFrame(
        {
            "twojmax": 6,
            "train_level": medians["level"].astype(int).to_numpy(),
            "energy_weight": medians["weight_ratio"].to_numpy(dtype=float),
            "force_weight": 1.0,
            "sampler": "leverage",
            "subset_size": medians["subset_size"].astype(int).to_numpy(),
            "energy_rmse_test_truth": medians["energy"].to_numpy(dtype=float),
            "force_rmse_test_truth": medians["force"].to_numpy(dtype=float),
            "dft_seconds": _cost_seconds(medians),
        }
    )


def planning_cases(
    truth: pd.DataFrame,
    predicted: pd.DataFrame,
    budgets_minutes: Sequence[float] = BUDGETS_MINUTES,
    preferences: Sequence[float] = PREFERENCES,
) -> pd.DataFrame:
    """The setting recommended from the predicted and from the true medians per budget and
    preference (budgets below the cheapest setting give no case).

    Returns:
        One row per (budget, preference): ``budget_minutes``, ``preference``, the planned and
        the best ``*_level``, ``*_weight_ratio``, ``*_size``, their true errors
        (``planned_energy``, ``best_energy``, ... in meV) and ``within`` (planned true errors
        exceed the best ones by at most :data:`ENERGY_TOLERANCE` and :data:`FORCE_TOLERANCE`).
    """
    true_table = _as_fit_table(truth)
    pred_table = _as_fit_table(predicted)
    rows = []
    for budget in budgets_minutes:
        core_hours = float(budget) / 60.0
        if true_table["dft_seconds"].min() / 3600.0 > core_hours:
            continue
        for pref in preferences:
            best = recommend(
                true_table, dft_budget_core_hours=core_hours, preference=pref, aggregate=None
            )
            plan = recommend(
                pred_table, dft_budget_core_hours=core_hours, preference=pref, aggregate=None
            )
            b, p = best.best, plan.best
            key = (
                (true_table["train_level"] == p["train_level"])
                & (true_table["energy_weight"] == p["energy_weight"])
                & (true_table["subset_size"] == p["subset_size"])
            )
            p_true = true_table[key].iloc[0]
            row = {"budget_minutes": float(budget), "preference": float(pref)}
            for name, r, errs in (("planned", p, p_true), ("best", b, b)):
                row[f"{name}_level"] = int(r["train_level"])
                row[f"{name}_weight_ratio"] = float(r["energy_weight"])
                row[f"{name}_size"] = int(r["subset_size"])
                row[f"{name}_energy"] = float(errs["energy_rmse_test_truth"])
                row[f"{name}_force"] = float(errs["force_rmse_test_truth"])
            row["within"] = bool(
                row["planned_energy"] - row["best_energy"] <= ENERGY_TOLERANCE
                and row["planned_force"] - row["best_force"] <= FORCE_TOLERANCE
            )
            rows.append(row)
    return pd.DataFrame(rows)


@dataclass
class Variant:
    """One way of fitting the error model, and what it reached."""

    name: str
    description: str
    errors: dict
    cases: pd.DataFrame
    predicted: pd.DataFrame
    model: ErrorModel | None = None

    @property
    def fraction_within(self) -> float:
        return float(self.cases["within"].mean()) if len(self.cases) else float("nan")


@dataclass
class ValidationResult:
    """Everything the report shows."""

    truth: pd.DataFrame
    variants: list = field(default_factory=list)
    n_rows: int = 0
    source: str = ""


def validate(rows: pd.DataFrame, pilot_size: int = 100) -> ValidationResult:
    """Fit the variants of the report and measure them against the true medians.

    Variants: the pilot at ``pilot_size`` with the Table 3 distances (the main result); the
    same without them (training and test errors only); the same with Table 3 floors instead of
    the errors of levels 1-5 against level 6; the pilot medians carried forward unchanged (the
    reference); and the rows at sizes up to 350 with fitted exponents.
    """
    truth = true_medians(rows)
    sizes = sorted(rows["subset_size"].unique().tolist())
    small = [n for n in sizes if n <= 350]
    result = ValidationResult(truth=truth, n_rows=len(rows))

    def add(name, description, model=None, predicted=None):
        if predicted is None:
            predicted = predicted_medians(model, truth)
        result.variants.append(
            Variant(
                name=name,
                description=description,
                errors=prediction_errors(truth, predicted),
                cases=planning_cases(truth, predicted),
                predicted=predicted,
                model=model,
            )
        )

    model = fit_pilot(rows, [pilot_size])
    bias, slope = model.sampling_biases, model.noise_slopes
    add(
        f"pilot N = {pilot_size}",
        "rows at one size and the Table 3 distances; excess the larger of the training-test "
        f"estimate (sampling bias from the pilot: energy {bias['energy']:.2f}, force "
        f"{bias['force']:.2f}) and the label-distance estimate (c: energy "
        f"{slope['energy']:.3f}, force {slope['force']:.3f}); b = 1",
        model=model,
    )
    plain = fit_pilot(rows, [pilot_size], use_distances=False)
    add(
        f"pilot N = {pilot_size}, no distances",
        "as above without the Table 3 distances: the training-test estimate alone",
        model=plain,
    )
    add(
        f"pilot N = {pilot_size}, Table 3 floors",
        "as the first, but levels 1-5 without their errors against level 6: floors from level "
        "6's floor and the Table 3 distance in quadrature",
        model=fit_pilot(rows, [pilot_size], hidden_levels=(1, 2, 3, 4, 5)),
    )
    carried = truth[["level", "weight_ratio", "subset_size"]].copy()
    at_pilot = truth[truth["subset_size"] == pilot_size].set_index(["level", "weight_ratio"])
    for q in _QUANTITIES:
        carried[q] = [
            at_pilot.loc[(lv, w), q]
            for lv, w in zip(carried["level"], carried["weight_ratio"], strict=True)
        ]
    add(
        f"constant from N = {pilot_size}",
        "the pilot medians carried forward (reference)",
        predicted=carried,
    )
    if len(small) >= 3:
        add(
            f"sizes {small[0]}-{small[-1]}",
            "rows at several sizes and the Table 3 distances; exponents fitted, shared per "
            "quantity",
            model=fit_pilot(rows, small),
        )
        add(
            f"sizes {small[0]}-{small[-1]}, prior and offset",
            "as above, the exponents within the prior range "
            f"{EXPONENT_PRIOR[0]:g}-{EXPONENT_PRIOR[1]:g} and a size offset N0 fitted with them "
            "(as the pilot validation fits a pilot)",
            model=fit_pilot(rows, small, exponent_range=EXPONENT_PRIOR, size_offset="fit"),
        )
    return result


def _paper_level(budget: float) -> str:
    for r in FIG_8["two_jmax_10"]["optimal_level_by_budget_minutes"]:
        hi = r["budget_max"]
        if budget >= r["budget_min"] and (hi is None or budget <= hi):
            return " or ".join(str(lv) for lv in r["levels"])
    return "-"


def render_report(result: ValidationResult, figure: str | None = None) -> str:
    """The Markdown report of :func:`validate`."""
    main = result.variants[0]
    lines = [
        "# Error models from a pilot, checked against the paper authors' tables",
        "",
        f"Generated by `python -m pyiron_appmlip.reproduction.planner_validation` from "
        f"{result.n_rows} rows of the authors' `3D_pareto` tables (2Jmax 6, levels 1-6, "
        f"{result.truth['weight_ratio'].nunique()} weight ratios, sizes "
        f"{', '.join(str(n) for n in sorted(result.truth['subset_size'].unique()))}). Errors are test "
        "errors against level 6; medians over repetitions. The error model sees only the rows named "
        "in the first column.",
        "",
        f"## Predicted medians at N >= {LARGE_N:,} (relative error, median / 90th percentile)",
        "",
        "| model | what it uses | energy | force | planning within tolerance |",
        "|---|---|---|---|---|",
    ]
    for v in result.variants:
        e, f = v.errors["energy"], v.errors["force"]
        lines.append(
            f"| {v.name} | {v.description} | {100 * e[0]:.1f} % / {100 * e[1]:.1f} % | "
            f"{100 * f[0]:.1f} % / {100 * f[1]:.1f} % | {100 * v.fraction_within:.0f} % "
            f"({int(v.cases['within'].sum())} of {len(v.cases)}) |"
        )
    lines += [
        "",
        "Targets: at most 5 % (median) and 15 % (90th percentile) per quantity, and at least 90 % "
        "of the planning cases within tolerance.",
        "",
        "## Planning",
        "",
        f"Budgets {BUDGETS_MINUTES[0]:g} to {BUDGETS_MINUTES[-1]:,.0f} minutes (4 per decade), "
        "DFT cost = the paper's mean time per configuration of the level x N; preferences 0 "
        "(forces only), 0.5 and 1 (energies only), scored as `recommend` does. A case is within "
        f"tolerance when the planned setting's true errors exceed the truly best setting's by at "
        f"most {ENERGY_TOLERANCE:g} meV/atom and {FORCE_TOLERANCE:g} meV/Angstrom. Budgets below "
        "the cheapest setting (level 1, N = 100: 13.9 minutes) have no case.",
        "",
        f"Planned (from {main.name}) and truly best setting per budget, as level / w_E:w_F / N:",
        "",
        "| budget (min) | paper's best level (2Jmax 10) | preference | planned | best | planned errors (true) | best errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for _, r in main.cases.iterrows():
        lines.append(
            f"| {r['budget_minutes']:,.0f} | {_paper_level(r['budget_minutes'])} | "
            f"{r['preference']:g} | {r['planned_level']} / {r['planned_weight_ratio']:g} / "
            f"{r['planned_size']} | {r['best_level']} / {r['best_weight_ratio']:g} / "
            f"{r['best_size']} | {r['planned_energy']:.2f}, {r['planned_force']:.1f} | "
            f"{r['best_energy']:.2f}, {r['best_force']:.1f} |{'' if r['within'] else ' missed'}"
        )
    lines += [
        "",
        "The paper's statement on the best level per budget is made for 2Jmax 10; these tables "
        "are 2Jmax 6. Errors in the last two columns: meV/atom, meV/Angstrom.",
    ]
    if figure:
        lines += [
            "",
            "## Learning curves",
            "",
            f"![Predicted (lines, band shaded) and true (points, 16-84 % bars) learning curves]({figure})",
        ]
    return "\n".join(lines) + "\n"


def plot_learning_curves(result: ValidationResult, path: str, settings=None) -> str:
    """A figure of predicted and true learning curves for a few settings; returns ``path``."""
    from matplotlib.figure import Figure

    main = result.variants[0]
    truth = result.truth
    if settings is None:
        settings = [(6, 150.0), (4, 12.25), (3, 50.0), (2, 5.0)]
    available = set(zip(truth["level"], truth["weight_ratio"], strict=True))
    settings = [s for s in settings if s in available] or sorted(available)[:4]
    fig = Figure(figsize=(10, 4.2))
    axes = fig.subplots(1, 2)
    colours = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]
    for ax, q in zip(axes, _QUANTITIES, strict=True):
        for colour, (lv, w) in zip(colours, settings, strict=False):
            t = truth[(truth["level"] == lv) & (truth["weight_ratio"] == w)]
            n_grid = np.geomspace(t["subset_size"].min(), t["subset_size"].max(), 60)
            c = main.model.curve((lv, w), q)
            ax.plot(n_grid, c.median(n_grid), color=colour, label=f"level {lv}, w_E/w_F {w:g}")
            try:
                lo, hi = c.band(n_grid)
                ax.fill_between(n_grid, lo, hi, color=colour, alpha=0.15, linewidth=0)
            except ValueError:
                pass
            ax.errorbar(
                t["subset_size"],
                t[q],
                yerr=[t[q] - t[f"{q}_low"], t[f"{q}_high"] - t[q]],
                fmt="o",
                ms=3,
                color=colour,
                capsize=2,
            )
        ax.set_xscale("log")
        ax.set_xlabel("training-set size N (configurations)")
        ax.set_ylabel(f"test {q} RMSE vs level 6 ({_UNITS[q]})")
    axes[0].legend(fontsize=7)
    fig.suptitle(
        f"Predicted from {main.name} (lines, 16-84 % band) vs the authors' medians (points)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pyiron_appmlip.reproduction.planner_validation",
        description=(
            "Fit error models to the paper authors' rows at a pilot size and compare the "
            "predicted learning curves and plans with their full tables."
        ),
    )
    parser.add_argument("--paper-results", required=True, help="folder holding 3D_pareto/")
    parser.add_argument("--out", default=None, help="Markdown file to write (default: print)")
    parser.add_argument(
        "--figure", default=None, help="PNG of the learning curves (default: beside --out)"
    )
    parser.add_argument("--pilot-size", type=int, default=100, help="the pilot's N (default 100)")
    return parser


def main(argv=None) -> int:
    """Command line: see ``--help``."""
    args = _parser().parse_args(argv)
    rows = read_paper_results(args.paper_results)
    if args.pilot_size not in set(rows["subset_size"].tolist()):
        raise SystemExit(
            f"--pilot-size must be one of the table's sizes "
            f"{sorted(set(rows['subset_size'].tolist()))}, got {args.pilot_size}"
        )
    result = validate(rows, args.pilot_size)
    figure = args.figure
    if figure is None and args.out:
        figure = os.path.splitext(args.out)[0] + ".png"
    link = None
    if figure:
        plot_learning_curves(result, figure)
        link = (
            os.path.relpath(figure, os.path.dirname(os.path.abspath(args.out)))
            if args.out
            else figure
        )
    text = render_report(result, link)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
