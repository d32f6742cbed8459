"""Markdown and PNG figures of the selector and multi-fidelity comparison.

:func:`render_report` turns :class:`~pyiron_appmlip.reproduction.selectors_and_fidelity.
StudyResults` into Markdown and writes the figures beside the report; :func:`write_report`
also writes the Markdown file. Every number printed comes from the summaries of
:mod:`pyiron_appmlip.reproduction.selectors_and_fidelity`.
"""

from __future__ import annotations

import os
import re

import numpy as np

from .result_cache import write_text
from .selectors_and_fidelity import (
    ERRORS,
    budget_winners,
    cheapest_reaching,
    cost_front,
    curve_bands,
    default_budgets,
    describe_model,
    error_targets,
    model_settings,
)

__all__ = ["render_report", "write_report", "figure_names", "TARGET_MARGINS"]

#: Margins over the best single-level model's errors at which the cheapest models are compared.
TARGET_MARGINS = (0.10, 0.25, 0.50)
#: The models allowed in each column of the cheapest-model table.
ALLOWED_KINDS = (
    ("single levels only", ("single",)),
    ("with level pairs", ("single", "level_pair")),
    ("with level pairs and Delta models", ("single", "level_pair", "delta")),
)
_KIND_STYLE = {
    "single": ("o", "single level"),
    "level_pair": ("s", "level pair (energies / forces)"),
    "delta": ("^", "Delta model"),
}


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def figure_names(stem: str, source_name: str) -> dict:
    """The figure file names of one source: ``{"curves": ..., "front": ...}``."""
    s = _slug(source_name)
    return {"curves": f"{stem}_curves_{s}.png", "front": f"{stem}_front_{s}.png"}


def _hours(value) -> str:
    v = float(value)
    if not np.isfinite(v):
        return "n/a"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def _log_axes(ax, xticks=None) -> None:
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_xscale("log")
    ax.set_yscale("log")
    plain = FuncFormatter(lambda v, _pos=None: f"{v:g}")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(plain)
        axis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    if xticks is not None:
        ax.set_xticks(list(xticks))
    else:
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.grid(True, which="both", alpha=0.3)


def _plot_curves(bands, title: str, path: str) -> None:
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4), layout="constrained")
    axes = fig.subplots(1, 2)
    samplers = list(dict.fromkeys(bands["sampler"]))
    colors = colormaps["tab10"]
    for k, sampler in enumerate(samplers):
        g = bands[bands["sampler"] == sampler].sort_values("subset_size")
        x = g["subset_size"].to_numpy(dtype=float)
        for ax, col in zip(axes, ERRORS, strict=True):
            c = colors(k % 10)
            ax.plot(x, g[f"{col}_center"], "-o", ms=3, color=c, label=sampler)
            ax.fill_between(x, g[f"{col}_lo"], g[f"{col}_hi"], color=c, alpha=0.12)
    sizes = sorted({int(v) for v in bands["subset_size"]})
    for ax, what in zip(axes, ("energy RMSE (meV/atom)", "force RMSE (meV/Angstrom)"), strict=True):
        _log_axes(ax, sizes)
        ax.set_xlabel("training configurations")
        ax.set_ylabel(f"test {what}")
    axes[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=110)


def _plot_front(settings_table, front, title: str, path: str) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4), layout="constrained")
    axes = fig.subplots(1, 2)
    on_front = set(front.index)
    for kind, (marker, label) in _KIND_STYLE.items():
        g = settings_table[settings_table["model_kind"] == kind]
        if g.empty:
            continue
        inside = g[g.index.isin(on_front)]
        for ax, col in zip(axes, ERRORS, strict=True):
            ax.scatter(
                g["core_hours"], g[f"{col}_center"], marker=marker, s=12, alpha=0.25, color="grey"
            )
            ax.scatter(
                inside["core_hours"],
                inside[f"{col}_center"],
                marker=marker,
                s=28,
                label=f"{label}, on the front",
            )
    for ax, what in zip(axes, ("energy RMSE (meV/atom)", "force RMSE (meV/Angstrom)"), strict=True):
        _log_axes(ax)
        ax.set_xlabel("DFT core-hours (median over repetitions)")
        ax.set_ylabel(f"test {what}")
    axes[0].legend(fontsize=7)
    fig.suptitle(title + " (grey: every setting)", fontsize=10)
    fig.savefig(path, dpi=110)


def _curve_lines(src, bands, settings) -> list[str]:
    from ..training.costs import cost_is_unknown

    info = src.info
    known = bool(info["cost_source"]) and not cost_is_unknown(info["cost_source"])
    cost_text = (
        f"core-hours: median DFT cost of the training set ({info['cost_source']})."
        if known
        else "no DFT times are recorded for this source, so no costs are shown."
    )
    lines = [
        f"Pool {info['pool']} configurations, test {info['test']}; trained on level "
        f"{info['curve_level']}, errors against level {info['truth_level']}; 2Jmax "
        f"{info['twojmax']} ({info['n_descriptors']} descriptors); w_E/w_F "
        f"{settings.curve_weight:g}; {info['repetitions']} repetitions per sampler and size "
        "(MaxVol, D-optimal and CUR are deterministic: one order, no band). Median (16-84 %) of "
        "the test RMSE; " + cost_text,
        "",
        "| sampler | size | energy (meV/atom) | force (meV/Angstrom) |"
        + (" core-hours |" if known else ""),
        "|---|---:|---:|---:|" + ("---:|" if known else ""),
    ]
    for _, r in bands.sort_values(["sampler", "subset_size"]).iterrows():
        e, f = ERRORS
        several = int(r["n_repetitions"]) > 1  # one order: no band
        e_band = f" ({r[e + '_lo']:.1f}-{r[e + '_hi']:.1f})" if several else ""
        f_band = f" ({r[f + '_lo']:.0f}-{r[f + '_hi']:.0f})" if several else ""
        lines.append(
            f"| {r['sampler']} | {int(r['subset_size'])} | {r[e + '_center']:.1f}{e_band} | "
            f"{r[f + '_center']:.0f}{f_band} |" + (f" {_hours(r['core_hours'])} |" if known else "")
        )
    whole = src.curves[src.curves["sampler"] == "all"]
    if not whole.empty:
        w = whole.iloc[0]
        lines += [
            "",
            f"Whole pool ({info['pool']} configurations): {w[ERRORS[0]]:.1f} meV/atom, "
            f"{w[ERRORS[1]]:.0f} meV/Angstrom.",
        ]
    largest = bands[bands["subset_size"] == bands["subset_size"].max()]
    best_e = largest.loc[largest[f"{ERRORS[0]}_center"].idxmin()]
    best_f = largest.loc[largest[f"{ERRORS[1]}_center"].idxmin()]
    wins = {}
    for _, g in bands.groupby("subset_size"):
        s = str(g.loc[g[f"{ERRORS[0]}_center"].idxmin(), "sampler"])
        wins[s] = wins.get(s, 0) + 1
    lines += [
        "",
        f"At the largest size ({int(best_e['subset_size'])}) the lowest median energy error is "
        f"{best_e[ERRORS[0] + '_center']:.1f} meV/atom ({best_e['sampler']}), the lowest median "
        f"force error {best_f[ERRORS[1] + '_center']:.0f} meV/Angstrom ({best_f['sampler']}). "
        "Lowest median energy error, sizes won: "
        + ", ".join(f"{k} {v}" for k, v in sorted(wins.items(), key=lambda kv: -kv[1]))
        + f" (of {bands['subset_size'].nunique()}).",
        "",
    ]
    budgets = default_budgets(bands) if known else []
    if budgets:
        won = budget_winners(
            bands, budgets, label=lambda r: f"{r['sampler']} on {int(r['subset_size'])}"
        )
        lines += _budget_table(won, "sampler and size")
    return lines


def _budget_table(won, what: str) -> list[str]:
    lines = [
        f"Best {what} per DFT budget (median core-hours of the training set at most the budget):",
        "",
        "| budget (core-hours) | lowest energy error | meV/atom | lowest force error | "
        "meV/Angstrom |",
        "|---:|---|---:|---|---:|",
    ]
    for _, r in won.iterrows():
        if r["energy_model"] is None:
            lines.append(f"| {_hours(r['budget_core_hours'])} | none within | | none within | |")
            continue
        lines.append(
            f"| {_hours(r['budget_core_hours'])} | {r['energy_model']} | {r['energy_rmse']:.1f} "
            f"| {r['force_model']} | {r['force_rmse']:.0f} |"
        )
    return lines + [""]


def _front_lines(src, table, front, settings) -> list[str]:
    info = src.info
    pairs = sorted(
        {
            (r.energy_level, r.force_level)
            for r in table.itertuples()
            if r.model_kind == "level_pair"
        }
    )
    deltas = sorted(
        {(r.force_level, r.energy_level) for r in table.itertuples() if r.model_kind == "delta"}
    )
    lines = [
        f"Training sets: the first n of one {settings.front_sampler} order per repetition, n in "
        f"{sorted({*info['sizes'], info['pool']})}; single levels {info['train_levels']}; level "
        "pairs (energy level, force level) "
        + ", ".join(f"({a}, {b})" for a, b in pairs)
        + "; Delta models (low, high) "
        + ", ".join(f"({a}, {b})" for a, b in deltas)
        + f"; energy (correction) subsets: the first {info['energy_sizes']} configurations of "
        "each training set. A calculation at a level is counted once, whatever it is used for "
        "(a configuration with energies at the high level and forces at the low one costs one "
        "calculation at each). Errors against level "
        f"{info['truth_level']}; medians over {info['repetitions']} repetitions.",
        "",
        f"{len(front)} of {len(table)} settings are on the front of (core-hours, energy error, "
        "force error): "
        + ", ".join(
            f"{int((front['model_kind'] == k).sum())} {_KIND_STYLE[k][1]}" for k in _KIND_STYLE
        )
        + ".",
        "",
        "| core-hours | model | energy (meV/atom) | force (meV/Angstrom) |",
        "|---:|---|---:|---:|",
    ]
    for _, r in front.iterrows():
        lines.append(
            f"| {_hours(r['core_hours'])} | {describe_model(r)} | "
            f"{r[ERRORS[0] + '_center']:.1f} | {r[ERRORS[1] + '_center']:.0f} |"
        )
    return lines + [""]


def _target_lines(src, table) -> list[str]:
    lines = []
    base = error_targets(table, 0.0)
    lines += [
        f"Targets: the best single-level model at the largest training set, "
        f"{describe_model(base['model'])}: {base['energy']:.1f} meV/atom and "
        f"{base['force']:.0f} meV/Angstrom at {_hours(base['model']['core_hours'])} core-hours, "
        "plus a margin. Cheapest setting whose median errors reach both targets:",
        "",
        "| margin | energy target | force target | "
        + " | ".join(name for name, _ in ALLOWED_KINDS)
        + " |",
        "|---:|---:|---:|" + "---|" * len(ALLOWED_KINDS),
    ]
    for margin in TARGET_MARGINS:
        t = error_targets(table, margin)
        cells = []
        for _, kinds in ALLOWED_KINDS:
            r = cheapest_reaching(table, t["energy"], t["force"], kinds)
            cells.append(
                "not reached"
                if r is None
                else f"{_hours(r['core_hours'])} core-hours: {describe_model(r)}"
            )
        lines.append(
            f"| {margin:.0%} | {t['energy']:.1f} | {t['force']:.0f} | " + " | ".join(cells) + " |"
        )
    return lines + [""]


def _statement(src, table) -> list[str]:
    t = error_targets(table, TARGET_MARGINS[0])
    found = {
        name: cheapest_reaching(table, t["energy"], t["force"], k) for name, k in ALLOWED_KINDS
    }
    single, pairs, delta = (found[name] for name, _ in ALLOWED_KINDS)

    def cost(r):
        return "not reached" if r is None else f"{_hours(r['core_hours'])} core-hours"

    text = (
        f"On {src.name}, reaching {t['energy']:.1f} meV/atom and {t['force']:.0f} meV/Angstrom "
        f"(the best single-level model + {t['margin']:.0%}) takes {cost(single)} with single "
        f"levels only, {cost(pairs)} with level pairs and {cost(delta)} with level pairs and "
        "Delta models."
    )
    if single is not None and delta is not None:
        if float(delta["core_hours"]) < float(single["core_hours"]):
            text += (
                f" Multi-fidelity saves {1 - float(delta['core_hours']) / float(single['core_hours']):.0%}"
                f" ({describe_model(delta)})."
            )
        else:
            text += " Multi-fidelity saves nothing at this target: a single level is cheapest."
    return [text, ""]


def render_report(results, path: str | None = None, command: str = "") -> str:
    """The report's Markdown; with ``path``, its figures are written beside ``path``.

    Args:
        results: :class:`~pyiron_appmlip.reproduction.selectors_and_fidelity.StudyResults`.
        path: where the report will be written (figures go to its folder, named after it);
            None: no figures.
        command: the command line that made the report.
    """
    settings = results.settings
    stem = os.path.splitext(os.path.basename(path))[0] if path else None
    folder = os.path.dirname(os.path.abspath(path)) if path else None
    if folder:
        os.makedirs(folder, exist_ok=True)
    lines = [
        "# Selectors and multi-fidelity training sets: best model per DFT core-hour",
        "",
        "Made by `"
        + (command or "python -m pyiron_appmlip.reproduction.selectors_and_fidelity")
        + "`. Test errors are RMSEs against the reference level (energies meV/atom, force "
        "components meV/Angstrom); costs are the recorded DFT times of the training "
        "calculations in core-hours.",
        "",
    ]
    lines += [n + "\n" for n in results.notes]
    gpaw = [s for s in results.sources if s.front is not None]
    wbe = [s for s in results.sources if s.front is None]
    # (a)
    lines += ["## (a) Learning curves of every selector", ""]
    for src in results.sources:
        lines += [f"### {src.name}", "", src.description + ".", ""]
        bands = curve_bands(src.curves)
        if stem:
            name = figure_names(stem, src.name)["curves"]
            _plot_curves(bands, f"{src.name}: learning curves", os.path.join(folder, name))
            lines += [f"![learning curves, {src.name}]({name})", ""]
        lines += _curve_lines(src, bands, settings)
    if not results.wbe_given:
        lines += [
            "The W-Be data were not given (`--wbe`); their learning curves are left out. Get "
            "the Be-only groups of `examples/WBe_PRB2019/JSON` from github.com/FitSNAP/FitSNAP "
            "and give their folder.",
            "",
        ]
    # (b)
    lines += ["## (b) Single levels, level pairs and Delta models on the cost-error front", ""]
    tables = {}
    for src in gpaw:
        table = model_settings(src.front)
        front = cost_front(table)
        tables[src.name] = table
        lines += [f"### {src.name}", ""]
        if stem:
            name = figure_names(stem, src.name)["front"]
            _plot_front(table, front, f"{src.name}: cost-error front", os.path.join(folder, name))
            lines += [f"![cost-error front, {src.name}]({name})", ""]
        lines += _front_lines(src, table, front, settings)
    # (c)
    lines += ["## (c) What wins for which budget", ""]
    for src in gpaw:
        table = tables[src.name]
        lines += [f"### {src.name}", ""]
        lines += _statement(src, table)
        lines += _target_lines(src, table)
        lines += _budget_table(budget_winners(table, default_budgets(table)), "model")
    if wbe:
        lines += [
            "The W-Be data have one DFT level: no level pairs or Delta models; section (a) "
            "compares their selectors.",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def write_report(results, path: str | None, command: str = "") -> str:
    """Render the report and, with ``path``, write it and its figures; returns the Markdown."""
    text = render_report(results, path, command)
    if path:
        write_text(path, text)
    return text
