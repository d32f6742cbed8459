"""Figures of a sweep table (the paper's figures 4-8).

Every function takes the sweep table (one row per fit, see
:meth:`pyiron_appmlip.jobs.sweep.AppmlipSweep.get_table`), returns a
:class:`matplotlib.figure.Figure` and, with ``path=``, also saves it. Figures are built without
``pyplot`` (no global state, no display needed), so they work on headless machines; in a
notebook the returned figure displays itself.

- :func:`plot_weight_sweep` (Figs. 4, 5): energy vs force RMSE along the energy/force weight
  sweep, one line per training level, one panel per 2Jmax.
- :func:`plot_learning_curves` (Fig. 6): RMSE vs training subset size per sampler, mean and
  spread over repetitions.
- :func:`plot_pareto` (Fig. 7): Pareto-optimal models (energy, force, DFT cost) per 2Jmax,
  DFT cost as colour and training level as marker.
- :func:`plot_pareto_cost` (Fig. 8): force RMSE vs DFT time of the Pareto-optimal models, energy
  RMSE as colour.

Units: energy RMSE in meV/atom, force RMSE in meV/Angstrom, DFT cost from ``dft_seconds`` (sum
of the recorded times of the training subset: wall, or CPU where every calculation of the level
has it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from ..core.pareto import objective_values, pareto_mask
from ..dft.levels import level_order
from ..training.table import check_table

__all__ = [
    "plot_weight_sweep",
    "plot_learning_curves",
    "plot_pareto",
    "plot_pareto_cost",
    "series_levels",
    "LABELS",
]

#: Axis labels of the error and cost columns.
LABELS = {
    "energy_rmse_train": "energy RMSE, train (meV/atom)",
    "force_rmse_train": "force RMSE, train (meV/Å)",
    "energy_rmse_test": "energy RMSE vs own level (meV/atom)",
    "energy_rmse_test_shifted": "shifted energy RMSE vs own level (meV/atom)",
    "force_rmse_test": "force RMSE vs own level (meV/Å)",
    "energy_rmse_test_truth": "energy RMSE vs truth (meV/atom)",
    "energy_rmse_test_truth_shifted": "shifted energy RMSE vs truth (meV/atom)",
    "force_rmse_test_truth": "force RMSE vs truth (meV/Å)",
    "dft_seconds": "DFT time of the training set (s)",
    "atom_steps_per_second": "MLIP throughput (atom-steps/s)",
    "n_train_atoms": "training atoms",
    "subset_size": "training subset size (configurations)",
}
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p")
_VS = ("truth", "own", "both")
_QUANTITIES = ("energy", "force")
_SPREADS = ("minmax", "std", None)
_TIME_UNITS = {"s": 1.0, "min": 60.0, "h": 3600.0}


def _label(column: str) -> str:
    return LABELS.get(column, column)


def _choice(value, name: str, allowed: Sequence) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")


def _sorted_levels(values) -> list:
    return sorted(pd.unique(values), key=lambda v: level_order(str(v)))


def _sorted_values(values, column: str) -> list:
    """Distinct values of a table column, levels in level order, anything else sorted."""
    if column in ("train_level", "truth_level"):
        return _sorted_levels(values)
    return sorted(pd.unique(values), key=lambda v: (isinstance(v, str), v))


def _panels(n: int, ncols: int | None = None, size=(4.2, 3.6)):
    ncols = min(n, 2 if n == 4 else 3) if ncols is None else ncols
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(size[0] * ncols + 1.2, size[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, list(axes[:n])


def _plain(value, _pos=None) -> str:
    return f"{value:g}"


def _log_axes(ax, x: bool = True, y: bool = True) -> None:
    """Logarithmic axes with plain-number tick labels.

    Intermediate ticks (2, 3, 5 x 10^n) are labelled only when an axis spans less than about one
    and a half decades.
    """
    if x:
        ax.set_xscale("log")
    if y:
        ax.set_yscale("log")
    ax.autoscale_view()
    for use, axis in ((x, ax.xaxis), (y, ax.yaxis)):
        if not use:
            continue
        lo, hi = axis.get_view_interval()
        axis.set_major_formatter(FuncFormatter(_plain))
        if lo > 0 and hi / lo < 30:
            axis.set_minor_locator(LogLocator(base=10.0, subs=(2.0, 3.0, 5.0)))
            axis.set_minor_formatter(FuncFormatter(_plain))
        else:
            axis.set_minor_formatter(NullFormatter())


def _save(fig: Figure, path) -> Figure:
    if path is not None:
        fig.savefig(path, dpi=150)
    return fig


def series_levels(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with one ``train_level`` per plotted series: a multi-fidelity label whose
    energy subsets are not the whole training subset (``n_energy`` below ``subset_size``) is
    shown per energy subset size, e.g. ``"E4+F1 (energies on 20)"``; other rows unchanged.

    The plots call it, so each line or point of a level pair or Delta model is one energy
    subset size, not a mean over several.
    """
    needed = ("n_energy", "subset_size", "train_level")
    if any(c not in table.columns for c in needed) or len(table) == 0:
        return table
    n_energy = pd.to_numeric(table["n_energy"], errors="coerce")
    size = pd.to_numeric(table["subset_size"], errors="coerce")
    label = table["train_level"].astype(str)
    partial = {
        lv for lv in label[(n_energy != size) & n_energy.notna()] if "(energies on" not in lv
    }
    if not partial:
        return table
    out = table.copy()
    mask = label.isin(partial)
    out.loc[mask, "train_level"] = [
        f"{lv} (energies on {int(n)})" for lv, n in zip(label[mask], n_energy[mask], strict=True)
    ]
    return out


def _select(table: pd.DataFrame, column: str, value, name: str) -> pd.DataFrame:
    """Rows where ``column`` equals ``value`` (levels compared as text, numbers with isclose)."""
    col = table[column]
    if column in ("train_level", "truth_level", "sampler"):
        keep = col.astype(str) == str(value)
    else:
        keep = np.isclose(col.astype(float), float(value), rtol=1e-9, atol=0.0)
    out = table[keep]
    if len(out) == 0:
        available = _sorted_values(col, column)
        raise ValueError(f"no rows with {name}={value!r}; available: {available}")
    return out


def _twojmax_values(table: pd.DataFrame, twojmax) -> list[int]:
    if twojmax is None:
        return sorted(int(v) for v in pd.unique(table["twojmax"]))
    values = [twojmax] if np.isscalar(twojmax) else list(twojmax)
    for v in values:
        _select(table, "twojmax", v, "twojmax")
    return [int(v) for v in values]


def _level_styles(levels) -> dict:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return {
        lv: {"color": cmap(i % 10), "marker": _MARKERS[i % len(_MARKERS)]}
        for i, lv in enumerate(levels)
    }


def _sampler_choice(table: pd.DataFrame, sampler):
    if sampler is not None:
        return sampler
    present = list(pd.unique(table["sampler"]))
    for s in ("all", "leverage", "block_leverage", "random"):
        if s in present:
            return s
    return present[0]


def plot_weight_sweep(
    table: pd.DataFrame,
    twojmax=None,
    subset_size: int | None = None,
    vs: str = "truth",
    *,
    sampler: str | None = None,
    levels: Sequence | None = None,
    shifted: bool = False,
    log: bool = True,
    path=None,
) -> Figure:
    """Energy vs force test RMSE along the energy/force weight sweep (Figs. 4 and 5).

    One panel per 2Jmax, one line per training level through the weights (sorted by
    ``weight_ratio`` = w_E/w_F, annotated at both ends); solid lines are errors against the truth
    level, dotted lines against the training level itself. Repetitions are averaged. The
    legend (levels, and line styles for ``vs="both"``) is below the panels.

    Args:
        table: the sweep table.
        twojmax: one 2Jmax, a list, or None for every 2Jmax in the table.
        subset_size: training subset size; None takes the largest size of each panel (the
            paper's figures use the full training set).
        vs: ``"truth"`` (solid), ``"own"`` (dotted) or ``"both"``.
        sampler: sampler to show; default ``"all"`` if present, else ``"leverage"``.
        levels: training levels to show (default: all).
        shifted: use the mean-shifted energy RMSE.
        log: logarithmic axes.
        path: file to save the figure to.

    Returns:
        The figure (also saved to ``path`` if given).
    """
    _choice(vs, "vs", _VS)
    e_suffix = "_shifted" if shifted else ""
    columns = {
        "truth": (f"energy_rmse_test_truth{e_suffix}", "force_rmse_test_truth", "-"),
        "own": (f"energy_rmse_test{e_suffix}", "force_rmse_test", ":"),
    }
    kinds = ["truth", "own"] if vs == "both" else [vs]
    needed = ["twojmax", "train_level", "weight_ratio", "subset_size", "sampler"]
    for k in kinds:
        needed += list(columns[k][:2])
    check_table(table, needed, "plot_weight_sweep")
    table = series_levels(table)
    sampler = _sampler_choice(table, sampler)
    data = _select(table, "sampler", sampler, "sampler")
    if levels is not None:
        data = data[data["train_level"].astype(str).isin([str(lv) for lv in levels])]
        if len(data) == 0:
            raise ValueError(f"no rows for levels={list(levels)}")
    values = _twojmax_values(data, twojmax)
    all_levels = _sorted_levels(data["train_level"])
    styles = _level_styles(all_levels)
    fig, axes = _panels(len(values))
    plotted = False
    for ax, tj in zip(axes, values, strict=True):
        panel = _select(data, "twojmax", tj, "twojmax")
        size = int(panel["subset_size"].max()) if subset_size is None else subset_size
        panel = _select(panel, "subset_size", size, f"subset_size (2Jmax={tj})")
        for lv in _sorted_levels(panel["train_level"]):
            rows = panel[panel["train_level"].astype(str) == str(lv)]
            for k in kinds:
                e_col, f_col, ls = columns[k]
                curve = rows.groupby("weight_ratio")[[e_col, f_col]].mean().sort_index().dropna()
                if len(curve) == 0:
                    continue
                plotted = True
                ax.plot(
                    curve[f_col],
                    curve[e_col],
                    ls=ls,
                    marker=styles[lv]["marker"],
                    color=styles[lv]["color"],
                    ms=4,
                    label=f"level {lv}" if k == kinds[0] else None,
                )
                if k == kinds[0] and len(curve) > 1:
                    for pos in (0, -1):
                        ax.annotate(
                            f"{curve.index[pos]:g}",
                            (curve[f_col].iloc[pos], curve[e_col].iloc[pos]),
                            fontsize=6,
                            color=styles[lv]["color"],
                            xytext=(3, 3),
                            textcoords="offset points",
                        )
        ax.set_title(f"2Jmax = {tj}, {size} configurations")
        ax.set_xlabel(
            _label(columns[kinds[0]][1]).replace(" vs truth", "").replace(" vs own level", "")
        )
        ax.set_ylabel(
            _label(columns[kinds[0]][0]).replace(" vs truth", "").replace(" vs own level", "")
        )
        if log:
            _log_axes(ax)
        ax.grid(True, which="major", alpha=0.3)
    if not plotted:
        raise ValueError(
            f"nothing to plot: the error columns for vs={vs!r} are NaN in the selected rows"
        )
    handles = [
        Line2D([], [], color=styles[lv]["color"], marker=styles[lv]["marker"], label=f"level {lv}")
        for lv in all_levels
    ]
    if vs == "both":
        handles += [
            Line2D([], [], color="k", ls="-", label="vs truth"),
            Line2D([], [], color="k", ls=":", label="vs own level"),
        ]
    # below the panels: beside them, the legend of a narrow figure ran into the title
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4), fontsize=8)
    fig.suptitle(f"Energy/force weight sweep (labels: w_E/w_F), sampler {sampler}")
    return _save(fig, path)


def plot_learning_curves(
    table: pd.DataFrame,
    twojmax: int,
    level,
    weight_ratio: float,
    quantity: str = "energy",
    *,
    vs: str = "truth",
    spread: str | None = "minmax",
    samplers: Sequence[str] | None = None,
    log: bool = True,
    path=None,
) -> Figure:
    """Test RMSE vs training subset size per sampler (Fig. 6).

    The line is the mean over repetitions, the band their spread (``"minmax"`` or ``"std"``, one
    standard deviation; None for no band). Rows of sampler ``"all"`` (the whole training pool)
    are drawn as a horizontal reference line.

    Args:
        table: the sweep table.
        twojmax: the 2Jmax to show.
        level: the training level to show.
        weight_ratio: the w_E/w_F to show.
        quantity: ``"energy"`` (meV/atom) or ``"force"`` (meV/Angstrom).
        vs: ``"truth"`` or ``"own"`` (errors against the training level).
        spread: ``"minmax"``, ``"std"`` or None.
        samplers: samplers to show (default: all in the table).
        log: logarithmic axes.
        path: file to save the figure to.

    Returns:
        The figure (also saved to ``path`` if given).
    """
    _choice(quantity, "quantity", _QUANTITIES)
    _choice(vs, "vs", ("truth", "own"))
    _choice(spread, "spread", _SPREADS)
    column = f"{quantity}_rmse_test" + ("_truth" if vs == "truth" else "")
    check_table(
        table,
        ["twojmax", "train_level", "weight_ratio", "sampler", "subset_size", column],
        "plot_learning_curves",
    )
    table = series_levels(table)
    data = _select(table, "twojmax", twojmax, "twojmax")
    data = _select(data, "train_level", level, "level")
    data = _select(data, "weight_ratio", weight_ratio, "weight_ratio")
    present = list(pd.unique(data["sampler"]))
    if samplers is None:
        samplers = [s for s in ("leverage", "block_leverage", "random", "all") if s in present]
        samplers += [s for s in present if s not in samplers]
    else:
        missing = [s for s in samplers if s not in present]
        if missing:
            raise ValueError(f"samplers {missing} have no rows here; available: {present}")
    fig, (ax,) = _panels(1, size=(5.5, 4.0))
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    drawn = False
    for i, s in enumerate(samplers):
        rows = data[data["sampler"] == s].dropna(subset=[column])
        if len(rows) == 0:
            continue
        drawn = True
        g = rows.groupby("subset_size")[column]
        mean = g.mean()
        color = cmap(i % 10)
        if s == "all":
            ax.axhline(float(mean.mean()), color=color, ls="--", label="all configurations")
            continue
        ax.plot(mean.index, mean.to_numpy(), marker="o", ms=4, color=color, label=s)
        if spread == "minmax":
            lo, hi = g.min(), g.max()
        elif spread == "std":
            sd = g.std(ddof=0).fillna(0.0)
            lo, hi = mean - sd, mean + sd
        if spread is not None:
            ax.fill_between(mean.index, lo.to_numpy(), hi.to_numpy(), color=color, alpha=0.2)
    if not drawn:
        raise ValueError(f"nothing to plot: {column} is NaN in every selected row")
    if log:
        _log_axes(ax)
    ax.set_xlabel(_label("subset_size"))
    ax.set_ylabel(_label(column))
    band = {"minmax": "band: min-max", "std": "band: ±1 std", None: ""}[spread]
    ax.set_title(
        f"2Jmax = {int(twojmax)}, level {level}, w_E/w_F = {float(weight_ratio):g}"
        + (f" ({band} over repetitions)" if band else ""),
        fontsize=9,
    )
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def _norm(values: np.ndarray, log: bool | None):
    v = values[np.isfinite(values)]
    lo, hi = float(v.min()), float(v.max())
    if log is None:
        log = lo > 0 and hi / lo > 10.0
    if log and lo > 0:
        return LogNorm(vmin=lo, vmax=hi if hi > lo else lo * 1.0001)
    return Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1.0)


def _pareto_panels(table, by, front_columns, extra, what):
    check_table(table, [by, "train_level", *front_columns, *extra], what)
    table = series_levels(table)
    values = _sorted_values(table[by], by)
    fronts = []
    for v in values:
        panel = table[table[by] == v]
        mask = pareto_mask(objective_values(panel, list(front_columns), what))
        fronts.append((v, panel[mask]))
    if all(len(f) == 0 for _, f in fronts):
        raise ValueError(f"no Pareto-optimal rows: {list(front_columns)} are NaN in every row")
    return fronts


def _finish_level_panels(fig, axes, mappable, color_label, styles, levels, path) -> Figure:
    """Colour bar (if anything was drawn), one legend of the level markers below, save."""
    if mappable is not None:
        fig.colorbar(mappable, ax=axes, label=color_label, shrink=0.8)
    handles = [
        Line2D([], [], ls="", marker=styles[lv]["marker"], color="0.4", label=f"level {lv}")
        for lv in levels
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 6), fontsize=8)
    return _save(fig, path)


def _by_title(by: str, value) -> str:
    return f"2Jmax = {value}" if by == "twojmax" else f"{by} = {value}"


def plot_pareto(
    table: pd.DataFrame,
    objectives: Sequence[str] = ("energy_rmse_test_truth", "force_rmse_test_truth"),
    color: str = "dft_seconds",
    by: str = "twojmax",
    *,
    log_color: bool = True,
    log: bool = True,
    path=None,
) -> Figure:
    """Pareto-optimal models per panel (Fig. 7): energy RMSE (y) vs force RMSE (x).

    In every panel (one per value of ``by``, default 2Jmax) only the models that are
    non-dominated in the two ``objectives`` and in ``color`` (the DFT cost by default) are shown;
    the colour is on a logarithmic scale shared by all panels and the marker shape is the
    training level.

    Args:
        table: the sweep table.
        objectives: ``(y column, x column)``, both minimised; default energy and force RMSE vs
            the truth level.
        color: column for the colour, minimised as a third objective (default ``dft_seconds``).
        by: column with one panel per value.
        log_color: logarithmic colour scale (needs positive values).
        log: logarithmic axes.
        path: file to save the figure to.

    Returns:
        The figure (also saved to ``path`` if given).
    """
    objectives = list(objectives)
    if len(objectives) != 2:
        raise ValueError(f"objectives must name two columns (y, x), got {objectives}")
    front_columns = list(dict.fromkeys([*objectives, color]))
    table = series_levels(table)
    fronts = _pareto_panels(table, by, front_columns, [], "plot_pareto")
    all_levels = _sorted_levels(table["train_level"])
    styles = _level_styles(all_levels)
    cvals = np.concatenate([f[color].to_numpy(dtype=float) for _, f in fronts])
    norm = _norm(cvals, True if log_color else False)
    fig, axes = _panels(len(fronts))
    mappable = None
    for ax, (v, front) in zip(axes, fronts, strict=True):
        for lv in _sorted_levels(front["train_level"]) if len(front) else []:
            rows = front[front["train_level"].astype(str) == str(lv)]
            mappable = ax.scatter(
                rows[objectives[1]],
                rows[objectives[0]],
                c=rows[color].to_numpy(dtype=float),
                norm=norm,
                cmap="viridis",
                marker=styles[lv]["marker"],
                s=28,
                edgecolors="k",
                linewidths=0.3,
            )
        ax.set_title(f"{_by_title(by, v)} ({len(front)} Pareto-optimal)")
        ax.set_xlabel(_label(objectives[1]))
        ax.set_ylabel(_label(objectives[0]))
        if log:
            _log_axes(ax)
        ax.grid(True, which="major", alpha=0.3)
    return _finish_level_panels(fig, axes, mappable, _label(color), styles, all_levels, path)


def plot_pareto_cost(
    table: pd.DataFrame,
    force: str = "force_rmse_test_truth",
    energy: str = "energy_rmse_test_truth",
    cost: str = "dft_seconds",
    by: str = "twojmax",
    *,
    time_unit: str = "min",
    log: bool = True,
    path=None,
) -> Figure:
    """Force RMSE vs DFT time of the Pareto-optimal models (Fig. 8), energy RMSE as colour.

    Pareto optimality is over (energy, force, DFT cost) within each panel (one per value of
    ``by``); marker shape is the training level.

    Args:
        table: the sweep table.
        force: force error column (meV/Angstrom).
        energy: energy error column (meV/atom).
        cost: DFT cost column (seconds).
        by: column with one panel per value.
        time_unit: unit of the time axis, ``"s"``, ``"min"`` or ``"h"``.
        log: logarithmic axes.
        path: file to save the figure to.

    Returns:
        The figure (also saved to ``path`` if given).
    """
    _choice(time_unit, "time_unit", list(_TIME_UNITS))
    table = series_levels(table)
    fronts = _pareto_panels(table, by, [energy, force, cost], [], "plot_pareto_cost")
    all_levels = _sorted_levels(table["train_level"])
    styles = _level_styles(all_levels)
    evals = np.concatenate([f[energy].to_numpy(dtype=float) for _, f in fronts])
    norm = _norm(evals, None)
    scale = _TIME_UNITS[time_unit]
    fig, axes = _panels(len(fronts))
    mappable = None
    for ax, (v, front) in zip(axes, fronts, strict=True):
        for lv in _sorted_levels(front["train_level"]) if len(front) else []:
            rows = front[front["train_level"].astype(str) == str(lv)]
            mappable = ax.scatter(
                rows[cost].to_numpy(dtype=float) / scale,
                rows[force],
                c=rows[energy].to_numpy(dtype=float),
                norm=norm,
                cmap="plasma",
                marker=styles[lv]["marker"],
                s=28,
                edgecolors="k",
                linewidths=0.3,
            )
        ax.set_title(f"{_by_title(by, v)} ({len(front)} Pareto-optimal)")
        ax.set_xlabel(f"DFT time of the training set ({time_unit})")
        ax.set_ylabel(_label(force))
        if log:
            _log_axes(ax)
        ax.grid(True, which="major", alpha=0.3)
    return _finish_level_panels(fig, axes, mappable, _label(energy), styles, all_levels, path)
