"""The like-for-like report in Markdown: the side-by-side sections of learning curves, weight
sweeps and Pareto fronts, the paper's statements checked against its authors' tables, the
application-specific fronts and the DFT cost of the shipped datasets.
"""

from __future__ import annotations

import numpy as np

from .conventions import (
    COSTS,
    CURVE_SAMPLERS,
    DOMINANCE,
    ERRORS,
    SWEEP_WEIGHTS,
    SourceResult,
    StudyConventions,
)
from .measuring import (
    OUTLIER_FACTOR,
    application_front,
    md_throughput,
)


def _section_application(name: str, front, choice, cost: str) -> list[str]:
    cost_name = "DFT core-seconds (mean x N)" if cost != "subset_size" else "configurations"
    lines = [
        f"### The application-specific front: {name}",
        "",
        "Models on the front of energy error, force error, MLIP MD cost (measured with LAMMPS, "
        f"128-atom hcp Be, one core) and {cost_name}; medians over repetitions per setting. Per "
        "2Jmax: how many front models, their best errors and the MD cost.",
        "",
        "| 2Jmax | models on the front | best energy RMSE | best force RMSE | MD cost (us/atom-step) "
        f"| fewest {cost_name} |",
        "|---|---|---|---|---|---|",
    ]
    c = f"{cost}_center"
    for t, g in front.groupby("twojmax"):
        lines.append(
            f"| {t} | {len(g)} | {g['energy_rmse_test_truth_center'].min():.2f} | "
            f"{g['force_rmse_test_truth_center'].min():.1f} | "
            f"{g['md_microseconds_per_atom_step_center'].iloc[0]:.1f} | {g[c].min():,.0f} |"
        )
    lines += [
        "",
        f"Recommended (equal weight on energy and force errors): 2Jmax {int(choice['twojmax'])}, "
        f"level {choice['train_level']}, w_E/w_F = {choice['weight_ratio']:g}, "
        f"{int(choice['subset_size']):,} configurations: energy "
        f"{choice['energy_rmse_test_truth_center']:.2f} meV/atom, force "
        f"{choice['force_rmse_test_truth_center']:.1f} meV/Angstrom, MD cost "
        f"{choice['md_microseconds_per_atom_step_center']:.1f} us/atom-step.",
        "",
    ]
    return lines


# -- report ------------------------------------------------------------------------------------
def _n(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "never"
    return f"{int(value):,}"


def _ratio(value) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{value:.1f}x"


def _figure_lines(links, what: str) -> list[str]:
    """Markdown images of ``{2Jmax: link}`` (nothing without links)."""
    lines = []
    for t, link in sorted((links or {}).items()):
        lines += [f"![{what}, 2Jmax {t}]({link})", ""]
    return lines


def _curve_numbers(results: list[SourceResult], conv: StudyConventions) -> list[str]:
    """The learning curves' numbers as drawn in the figures, in a collapsed block."""
    lo, hi = conv.band
    lines = [
        "<details>",
        f"<summary>The learning curves as drawn: {conv.center} test error and its {lo:g}-{hi:g} "
        "% band per subset size</summary>",
        "",
        "| source | sampler | configurations | energy RMSE (meV/atom) | force RMSE (meV/Å) |",
        "|---|---|---|---|---|",
    ]
    e, f = ERRORS
    for r in results:
        if r.curves is None or len(r.curves) == 0:
            continue
        for sampler in CURVE_SAMPLERS:
            g = r.curves[r.curves["sampler"] == sampler].sort_values("subset_size")
            for _, row in g.iterrows():
                lines.append(
                    f"| {r.name} | {sampler} | {int(row['subset_size']):,} | "
                    f"{row[f'{e}_center']:.2f} [{row[f'{e}_lo']:.2f}-{row[f'{e}_hi']:.2f}] | "
                    f"{row[f'{f}_center']:.1f} [{row[f'{f}_lo']:.1f}-{row[f'{f}_hi']:.1f}] |"
                )
    return lines + ["", "</details>", ""]


def _section_curves(
    results: list[SourceResult], conv: StudyConventions, figures: dict | None = None
) -> list[str]:
    lines = [
        "## Fig. 6: how many configurations each sampler needs",
        "",
        f"Each source's learning curves at w_E/w_F = {conv.curve_weight:g}: every subset size "
        f"drawn {'afresh' if conv.draws == 'independent' else 'as a prefix of one order'} per "
        f"repetition, summarised by the {conv.center} and the "
        f"{conv.band[0]:g}-{conv.band[1]:g} % band. A sampler needs N configurations when its "
        f"{conv.center} (or mean) test error stays, from N on, within {conv.energy_tolerance:g} "
        f"meV/atom (energies) or {conv.force_tolerance:g} meV/Angstrom (forces) of the whole "
        f"pool's (the authors' criterion), or within {100 * conv.relative_tolerance:g} % of it "
        "(for errors far above those tolerances). 'never' means not within the sizes drawn. "
        "Sizes start where even the configurations with the fewest atoms give as many equations "
        "as coefficients; a fit can still have a lower numerical rank when its configurations "
        "are symmetric (zero forces) or alike, and the smallest rank is listed.",
        "",
    ]
    if figures:
        lines += [
            f"The figures draw each source's curves: the {conv.center} test error per sampler "
            f"and size with its {conv.band[0]:g}-{conv.band[1]:g} % band, and the whole "
            "pool's error (dashed); their numbers are listed below the table.",
            "",
        ]
        lines += _figure_lines(figures, "Learning curves")
    header = "| | " + " | ".join(r.name for r in results) + " |"
    lines += [header, "|---" * (len(results) + 1) + "|"]

    def info_row(label, fn):
        return f"| {label} | " + " | ".join(fn(r) for r in results) + " |"

    lines.append(info_row("2Jmax", lambda r: str(r.twojmax)))
    lines.append(
        info_row("pool / test configurations", lambda r: f"{r.info['pool']:,} / {r.info['test']:,}")
    )
    lines.append(
        info_row(
            "level trained / tested", lambda r: f"{r.info['curve_level']} / {r.info['truth_level']}"
        )
    )
    lines.append(info_row("repetitions per size", lambda r: str(r.info["repetitions"])))
    lines.append(
        info_row(
            "coefficients / smallest numerical rank of any fit",
            lambda r: (
                f"{r.info['n_coefficients']} / {r.info['min_rank']}"
                if r.info.get("n_coefficients")
                else "-"
            ),
        )
    )
    lines.append(
        info_row("sizes", lambda r: f"{min(r.info['sizes']):,} - {max(r.info['sizes']):,}")
    )
    lines.append(
        info_row(
            "whole pool: energy / force test RMSE",
            lambda r: f"{r.full['energy']:.2f} / {r.full['force']:.1f}",
        )
    )

    def outliers(r):
        c = r.info.get("energy_outliers")
        if not c:
            return "-"
        if not c["count"]:
            return "none"
        where = ", ".join(f"{g or 'no group'} {n}" for g, n in list(c["groups"].items())[:3])
        return (
            f"{c['count']} ({where}) carry {100 * c['share']:.0f} % of the squared error; "
            f"the others {c['rmse_without']:.2f}"
        )

    lines.append(
        info_row(
            f"whole pool: test configurations with energy errors above {OUTLIER_FACTOR:g}x the "
            "median (meV/atom)",
            outliers,
        )
    )
    for kind, unit in (("energy", "meV/atom"), ("force", "meV/Angstrom")):
        for sampler in CURVE_SAMPLERS:
            for how in ("median", "mean", "median_rel"):

                def cell(r, sampler=sampler, key=f"{kind}_{how}"):
                    g = r.needed[r.needed["sampler"] == sampler]
                    if g.empty:
                        return "-"
                    v = g.iloc[0][key]
                    ratio = g.iloc[0][f"{key}_vs_random"]
                    if sampler == "random" or not np.isfinite(ratio):
                        extra = ""
                    elif ratio >= 1.0:
                        extra = f" ({_ratio(ratio)} fewer than random)"
                    else:
                        extra = f" ({_ratio(1.0 / ratio)} more than random)"
                    return _n(
                        None if v is None or (isinstance(v, float) and np.isnan(v)) else v
                    ) + (extra if np.isfinite(ratio) else "")

                what = (
                    f"by median, within {100 * conv.relative_tolerance:g} %"
                    if how == "median_rel"
                    else f"by {how}"
                )
                lines.append(info_row(f"{kind} ({unit}), {sampler}, {what}", cell))
    lines.append("")
    if figures:
        lines += _curve_numbers(results, conv)
    return lines


def _section_weights(results: list[SourceResult], figures: dict | None = None) -> list[str]:
    lines = [
        "## Fig. 4: the weight sweep on the whole training pool",
        "",
        "Models trained on each source's whole pool at every w_E/w_F of "
        f"{', '.join(f'{w:g}' for w in SWEEP_WEIGHTS)}, tested against the source's reference "
        "level. Per training level: the ratio with the lowest energy and the lowest force error, "
        "and the energy and force errors at a high energy weight (300) and a high force weight "
        "(5).",
        "",
        *_figure_lines(figures, "Test errors vs w_E/w_F per training level"),
        "| source | level | lowest energy RMSE (at w_E/w_F) | lowest force RMSE (at w_E/w_F) "
        "| energy at 300 / 5 | force at 300 / 5 |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        t = r.weight_sweep
        if t is None or len(t) == 0:
            continue
        for lv in sorted(
            t["train_level"].unique(), key=lambda v: int(v) if str(v).isdigit() else 0
        ):
            g = t[t["train_level"] == lv]
            e, f = g["energy_rmse_test_truth"], g["force_rmse_test_truth"]
            at = {w: g[np.isclose(g["weight_ratio"], w)] for w in (300.0, 5.0)}
            if any(len(v) == 0 for v in at.values()):
                continue
            lines.append(
                f"| {r.name} | {lv} | {e.min():.2f} ({g['weight_ratio'][e.idxmin()]:g}) | "
                f"{f.min():.1f} ({g['weight_ratio'][f.idxmin()]:g}) | "
                f"{at[300.0]['energy_rmse_test_truth'].iloc[0]:.2f} / "
                f"{at[5.0]['energy_rmse_test_truth'].iloc[0]:.2f} | "
                f"{at[300.0]['force_rmse_test_truth'].iloc[0]:.1f} / "
                f"{at[5.0]['force_rmse_test_truth'].iloc[0]:.1f} |"
            )
    return lines + [""]


def _section_fronts(
    results: list[SourceResult], conv: StudyConventions, figures: dict | None = None
) -> list[str]:
    lines = [
        "## Fig. 7: training levels on the Pareto front",
        "",
        "The front over DFT cost, test energy error and test force error (against each "
        f"source's reference level) of the {conv.center} leverage-sampled model per setting "
        "(level, size, weight), with the standard dominance rule and with the authors' strict "
        "one (a model is dominated only by one better in all three objectives). DFT cost as the "
        "measured time of the chosen configurations (their CPU time where the level records it "
        "for every calculation, else their wall time) and as the level's mean time per "
        "configuration times N; the authors' tables give only the latter (with the paper's "
        "Table 1 times). Counts are models on the front per level. The drawn range keeps the "
        f"front's models with errors at most {conv.front_range[0]:g} times (energy) and "
        f"{conv.front_range[1]:g} times (force) the best on the front; the paper draws a "
        "range like this but gives it only graphically.",
        "",
    ]
    if figures:
        lines += [
            "The figures draw the front with the DFT cost as mean time x N and the standard "
            "rule (the row 'mean time x N, standard rule' below): median energy vs median force "
            "error of each model on it, its DFT cost in colour, its training level as marker; "
            "the dotted lines bound the drawn range. Sources without that cost are left out.",
            "",
        ]
        lines += _figure_lines(figures, "Pareto fronts")
    header = "| | " + " | ".join(r.name for r in results) + " |"
    lines += [header, "|---" * (len(results) + 1) + "|"]
    lines.append(
        "| levels trained | " + " | ".join(", ".join(r.info["levels"]) for r in results) + " |"
    )

    def whole(f):
        return (
            ", ".join(f"{lv} ({f['counts'][lv]})" for lv in f["levels"])
            + f" of {f['n_settings']} settings"
        )

    def drawn(f):
        counts = f["range_counts"]
        levels = sorted(counts, key=lambda v: int(v) if str(v).isdigit() else v)
        return (", ".join(f"{lv} ({counts[lv]})" for lv in levels) or "none") + (
            f" (energy <= {f['range'][0]:.1f}, force <= {f['range'][1]:.0f})"
        )

    for cost in COSTS:
        label = "measured time" if cost == "dft_seconds" else "mean time x N"
        for rule in DOMINANCE:
            for suffix, cell, missing in (
                ("", whole, "no such cost"),
                (", drawn range", drawn, "-"),
            ):
                cells = [
                    missing if r.fronts.get((cost, rule)) is None else cell(r.fronts[(cost, rule)])
                    for r in results
                ]
                lines.append(f"| {label}, {rule} rule{suffix} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def paper_statements(paper: SourceResult) -> list[dict]:
    """What the paper states about Figs. 6 and 7, checked against the authors' own tables.

    Args:
        paper: :func:`paper_source` of the authors' tables.

    Returns:
        One dict per statement: ``statement`` (our wording, with the paper's reference),
        ``tables`` (what the tables give) and ``follows`` ("yes", "no" or "partly").
    """
    from .. import paper_values as pv

    fig4, fig6, fig7 = pv.FIG_4, pv.FIG_6, pv.FIG_7
    n = paper.needed.set_index("sampler")
    out = []
    ws = paper.weight_sweep
    if ws is not None and len(ws):
        for key, what in (
            ("levels_energy_error_rises_with_energy_weight", "rises with the energy weight"),
            ("levels_energy_overfit_at_high_energy_weight", "rises again at the highest weights"),
        ):
            levels = [str(v) for v in fig4[key]]
            cells, verdicts = [], []
            for lv in levels:
                g = ws[ws["train_level"] == lv].sort_values("weight_ratio")
                if g.empty:
                    continue
                e = g["energy_rmse_test_truth"].to_numpy()
                w = g["weight_ratio"].to_numpy()
                best = int(np.argmin(e))
                up = e[-1] > 1.02 * e[best]
                if key == "levels_energy_error_rises_with_energy_weight":
                    # rising from the force-weighted end on: yes; only past an interior minimum: partly
                    verdicts.append(
                        "yes" if up and best <= len(e) // 3 else ("partly" if up else "no")
                    )
                else:
                    verdicts.append("yes" if up and 0 < best < len(e) - 1 else "no")
                cells.append(
                    f"level {lv}: {e[0]:.2f} at {w[0]:g}, lowest {e[best]:.2f} at {w[best]:g}, "
                    f"{e[-1]:.2f} at {w[-1]:g}"
                )
            out.append(
                {
                    "statement": f"for training levels {', '.join(levels)} the energy error "
                    f"against the highest level {what} ({fig4['ref']}, 2Jmax {fig4['two_jmax']})",
                    "tables": "; ".join(cells) + f" (2Jmax {paper.twojmax}, whole pool)",
                    "follows": "yes"
                    if verdicts and all(v == "yes" for v in verdicts)
                    else ("no" if all(v == "no" for v in verdicts) else "partly"),
                }
            )

    def ratio(sampler, key):
        v = n.loc[sampler, f"{key}_vs_random"] if sampler in n.index else np.nan
        return float(v) if np.isfinite(v) else None

    want = float(fig6["energy_cost_reduction_vs_random"])
    got = {how: ratio("leverage", f"energy_{how}") for how in ("median", "mean")}
    out.append(
        {
            "statement": f"leverage sampling needs about {want:g}x fewer configurations than "
            f"random for energies within {fig6['energy_tolerance_to_full_set_mev_per_atom']:g} "
            f"meV/atom of the whole set ({fig6['ref']}, 2Jmax {fig6['two_jmax']})",
            "tables": f"{_ratio(got['median'])} by median, {_ratio(got['mean'])} by mean "
            f"(2Jmax {paper.twojmax}; sizes up to {max(paper.info['sizes']):,})",
            "follows": "yes"
            if all(v is not None and v >= want / 1.5 for v in got.values())
            else (
                "partly" if any(v is not None and v >= want / 1.5 for v in got.values()) else "no"
            ),
        }
    )
    lo, hi = fig6["force_configuration_reduction_vs_random"]
    best = {
        how: max(
            (ratio(s, f"force_{how}") or 0.0 for s in ("leverage", "block_leverage")), default=0.0
        )
        for how in ("median", "mean")
    }
    out.append(
        {
            "statement": f"for forces within {fig6['force_tolerance_to_limit_mev_per_angstrom']:g} "
            f"meV/Angstrom of the limit, leverage sampling needs {lo}-{hi}x fewer configurations "
            f"than random ({fig6['ref']})",
            "tables": f"best leverage sampler {_ratio(best['median'])} by median, "
            f"{_ratio(best['mean'])} by mean",
            "follows": "yes"
            if all(v >= lo * 0.75 for v in best.values())
            else ("partly" if any(v >= lo * 0.75 for v in best.values()) else "no"),
        }
    )
    for kind, claim in (("energy", fig6["better_for_energy"]), ("force", fig6["better_for_force"])):
        sizes = {
            s: n.loc[s, f"{kind}_median"] for s in ("leverage", "block_leverage") if s in n.index
        }
        finite = {s: v for s, v in sizes.items() if v is not None and np.isfinite(v)}
        winner = min(finite, key=finite.get) if finite else None
        name = "leverage" if claim == "regular" else "block_leverage"
        tie = len(set(finite.values())) == 1 and len(finite) == 2
        out.append(
            {
                "statement": f"{claim} leverage is the better sampler for {kind} errors "
                f"({fig6['ref']})",
                "tables": ", ".join(f"{s} {_n(v)}" for s, v in sizes.items())
                + " configurations (median)",
                "follows": "partly" if tie else ("yes" if winner == name else "no"),
            }
        )
    front = paper.fronts.get(("dft_seconds_mean_x_n", "standard"))
    if front is not None:
        absent = [str(v) for v in fig7["levels_absent_from_front"]]
        on_whole = [lv for lv in absent if lv in front["counts"]]
        in_range = [lv for lv in absent if lv in front["range_counts"]]
        cheap = front["front"][front["front"]["train_level"].isin(on_whole)]
        out.append(
            {
                "statement": f"levels {', '.join(absent)} are not on the Pareto front "
                f"({fig7['ref']})",
                "tables": (
                    f"on the whole 3-D front: levels {', '.join(on_whole)} with "
                    f"{len(cheap)} models, the cheapest ones, with energy errors of "
                    f"{cheap['energy_rmse_test_truth_center'].min():.0f}-"
                    f"{cheap['energy_rmse_test_truth_center'].max():.0f} meV/atom"
                    if on_whole
                    else "absent from the whole 3-D front"
                )
                + (
                    f"; in the drawn range: levels {', '.join(in_range)}"
                    if in_range
                    else "; absent from the drawn range"
                ),
                "follows": "partly" if on_whole and not in_range else ("no" if in_range else "yes"),
            }
        )
        top = str(max(int(v) for v in front["counts"]))
        share = front["counts"].get(top, 0) / max(1, sum(front["counts"].values()))
        best_e = front["front"]["energy_rmse_test_truth_center"].min()
        top_rows = front["front"][front["front"]["train_level"] == top]
        out.append(
            {
                "statement": f"the highest level ({top}) is mostly absent from the front, except "
                f"at the edge of the lowest errors ({fig7['ref']})",
                "tables": f"{front['counts'].get(top, 0)} of {sum(front['counts'].values())} "
                f"front models ({100 * share:.0f} %), energy errors "
                f"{top_rows['energy_rmse_test_truth_center'].min():.1f}-"
                f"{top_rows['energy_rmse_test_truth_center'].max():.1f} meV/atom (best on the "
                f"front {best_e:.1f})"
                if len(top_rows)
                else "absent",
                "follows": "yes" if share < 0.2 else "partly",
            }
        )
    return out


def _section_statements(paper: SourceResult) -> list[str]:
    lines = [
        "## The paper's statements against the authors' own tables",
        "",
        "Each statement in our words; 'tables' is what the authors' published results give "
        "with the conventions above. The tables are for 2Jmax 6 only; where the paper's figure "
        "is for another 2Jmax the comparison is the nearest one possible.",
        "",
        "| statement | tables | follows |",
        "|---|---|---|",
    ]
    lines += [
        f"| {d['statement']} | {d['tables']} | {d['follows']} |" for d in paper_statements(paper)
    ]
    return lines + [""]


def dataset_cost_lines(dataset, name: str) -> list[str]:
    """A Markdown table of a dataset's DFT cost: calculations and core-hours per level."""
    from ..findings_measure import dataset_summary

    d = dataset_summary(dataset)
    lines = [
        f"{name}: {d['n_configurations']} configurations of {d['n_atoms_range'][0]}-"
        f"{d['n_atoms_range'][1]} atoms ({len(dataset.train_ids)} training pool, "
        f"{len(dataset.test_ids)} test); wall time on one core, and the calculations' own CPU "
        "time where it was recorded (wall time grows when other work shares the cores, CPU "
        "time does not). The Pareto fronts take the CPU time as the cost of a level that "
        "records it for every calculation, else the wall time (last column):",
        "",
        "| level | calculations | mean per configuration (s) | total (core-hours) "
        "| CPU time recorded for | CPU core-hours of those | cost on the fronts |",
        "|---|---|---|---|---|---|---|",
    ]

    def cpu(lv):
        return "-" if d["cpu_seconds"][lv] is None else f"{d['cpu_seconds'][lv] / 3600:.2f}"

    for lv in d["levels"]:
        lines.append(
            f"| {lv} | {d['n_calculations'][lv]} | "
            f"{d['mean_seconds_per_configuration'][lv]:.1f} | {d['core_seconds'][lv] / 3600:.2f} "
            f"| {d['n_cpu_recorded'][lv]} | {cpu(lv)} | {dataset.level(lv).cost_clock()} |"
        )
    total = sum(d["core_seconds"].values()) / 3600
    cpu_total = sum(v for v in d["cpu_seconds"].values() if v is not None) / 3600
    lines.append(
        f"| all | {sum(d['n_calculations'].values())} | | {total:.2f} | "
        f"{sum(d['n_cpu_recorded'].values())} | {cpu_total:.2f} | |"
    )
    return lines + [""]


def application_sections(results: list[SourceResult], conventions, atom_steps_per_second=None):
    """The application-specific front of every one of our datasets over its 2Jmax values
    (MD throughput measured with :func:`md_throughput` unless given)."""
    groups: dict[str, list] = {}
    for r in results:
        if r.name != "authors' tables":
            groups.setdefault(r.name.split(", 2Jmax")[0], []).append(r)
    if not groups:
        return []
    twojmax = sorted({r.twojmax for g in groups.values() for r in g})
    aps = dict(atom_steps_per_second or md_throughput(twojmax))
    lines = []
    for name, group in groups.items():
        front, choice, cost = application_front(group, aps, conventions)
        lines += _section_application(name, front, choice, cost)
    return lines


def render_sections(
    results: list[SourceResult], conventions: StudyConventions, applications=None, figures=None
) -> list[str]:
    """The report's sections (without a title): sources, Fig. 6, Fig. 7 (with
    ``applications``, lines of :func:`application_sections`, after it) and, with the authors'
    tables among the sources, their statements checked.

    ``figures`` (e.g. from :meth:`pyiron_appmlip.reproduction.findings_figures.FigureWriter.like_for_like`)
    maps ``"weights"``, ``"curves"`` and ``"fronts"`` to ``{2Jmax: link}``: the sections show
    those images, and the learning-curve section lists the numbers drawn."""
    lines = ["Sources:", ""]
    lines += [f"- **{r.name}**: {r.description}" for r in results]
    lines += [""]
    figures = figures or {}
    lines += _section_weights(results, figures.get("weights"))
    lines += _section_curves(results, conventions, figures.get("curves"))
    lines += _section_fronts(results, conventions, figures.get("fronts"))
    lines += list(applications or [])
    for r in results:
        if r.name == "authors' tables":
            lines += _section_statements(r)
    return lines


def render_report(
    results: list[SourceResult],
    conventions: StudyConventions,
    command: str = "",
    applications=None,
):
    """The Markdown report of the sources side by side (see :func:`render_sections`)."""
    lines = [
        "# Figs. 6 and 7 like for like",
        "",
        "Regenerate with:",
        "",
        f"    {command}"
        if command
        else "    python -m pyiron_appmlip.reproduction.like_for_like --help",
        "",
    ]
    lines += render_sections(results, conventions, applications)
    return "\n".join(lines) + "\n"
