"""Figures and report of :mod:`pyiron_appmlip.reproduction.paper`, drawn from its stored rows.

Figures (PNG, one panel per 2Jmax where the paper has one): ``fig4_weight_sweep.png`` (test
energy vs force RMSE of the whole-pool models along the w_E/w_F sweep, one line per training
level, at the largest 2Jmax), ``fig5_weight_sweep_per_twojmax.png`` (the same per 2Jmax),
``fig6_learning_curves.png`` (median and 16-84 % band of each sampler's test errors vs subset
size at the comparison's level and weight; dashed: the whole pool), ``fig7_pareto.png`` (the
Pareto front over DFT cost, energy and force error of the leverage-sampled models, median per
setting; colour: DFT hours, marker: training level) and ``fig8_force_vs_dft.png`` (force error
vs DFT hours of the same front; colour: energy error).

The report (``paper_report.md``) puts our numbers beside the published ones of
:mod:`~pyiron_appmlip.reproduction.paper_values`: Table 3 (DFT differences to level 6), Tables
4/5 (whole-pool models at w_E/w_F 150 and 12.25, the latter for the paper's 12), the sizes each
sampler needs (Fig. 6), the levels on the Pareto fronts (Fig. 7) and, with a leverage file,
the comparison of leverage scores.
"""

from __future__ import annotations

import os

import numpy as np

from .paper_values import FIG_6, FIG_7, TABLE_3, TABLES_4_5
from .result_cache import write_text

__all__ = ["draw_figures", "write_report", "front_rows", "curve_rows"]

_E, _F = "energy_rmse_test_truth", "force_rmse_test_truth"
_LEVEL_MARKERS = {"1": "v", "2": "^", "3": "s", "4": "D", "5": "p", "6": "o"}


def _conventions(design):
    from .like_for_like.conventions import StudyConventions

    return StudyConventions(
        repetitions=design.repetitions,
        front_repetitions=design.repetitions,
        weights=tuple(design.weights),
        curve_weight=design.curve_weight,
        fit_convention=design.fit_convention,
    )


def _near(values, target) -> np.ndarray:
    return np.isclose(np.asarray(values, dtype=float), float(target))


def curve_rows(run, t):
    """Rows of the sampler comparison at 2Jmax ``t`` and the whole pool's errors there."""
    d, rows = run.design, run.rows
    at = rows[(rows["twojmax"] == t) & (rows["train_level"] == d.curve_level)]
    at = at[_near(at["weight_ratio"], d.curve_weight)]
    whole = at[at["sampler"] == "all"]
    full = {"energy": float(whole[_E].iloc[0]), "force": float(whole[_F].iloc[0])}
    sampled = at[at["sampler"].isin(d.samplers)]
    sampled = sampled[sampled["subset_size"] <= d.curve_max_size]
    return sampled, full


def front_rows(run, t):
    """The leverage-sampled rows of the front's design at 2Jmax ``t``."""
    rows = run.rows
    rows = rows[(rows["twojmax"] == t) & (rows["sampler"] == "leverage")]
    return rows[rows["weight_ratio"].apply(lambda w: any(np.isclose(w, run.design.weights)))]


def _fronts(run, t):
    from .like_for_like.measuring import front_summary

    return front_summary(front_rows(run, t), _conventions(run.design), costs=("dft_seconds",))


def _panels(n):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.8), squeeze=False)
    return fig, axes[0]


def _save(fig, folder, name, written):
    import matplotlib.pyplot as plt

    path = os.path.join(folder, name)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)


def _weight_panel(ax, run, t):
    rows = run.rows
    whole = rows[(rows["twojmax"] == t) & (rows["sampler"] == "all")]
    for lv, g in whole.groupby("train_level"):
        g = g.sort_values("weight_ratio")
        ax.plot(g[_E], g[_F], marker=_LEVEL_MARKERS.get(str(lv), "o"), ms=3, label=f"level {lv}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("test energy RMSE (meV/atom)")
    ax.set_ylabel("test force RMSE (meV/Angstrom)")
    ax.set_title(f"2Jmax {t}: whole pool, w_E/w_F sweep")
    ax.legend(fontsize=7)


def draw_figures(run, folder: str) -> list[str]:
    """Draw the figures of ``run`` (a :class:`~pyiron_appmlip.reproduction.paper.PaperRun`)
    into ``folder``; return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    from ..core.learning_curves import summarize_repetitions

    os.makedirs(folder, exist_ok=True)
    d, written = run.design, []
    ts = list(d.twojmax)
    fig, axes = _panels(1)
    _weight_panel(axes[0], run, ts[-1])
    _save(fig, folder, "fig4_weight_sweep.png", written)
    fig, axes = _panels(len(ts))
    for ax, t in zip(axes, ts, strict=True):
        _weight_panel(ax, run, t)
    _save(fig, folder, "fig5_weight_sweep_per_twojmax.png", written)

    fig, axes = plt.subplots(2, len(ts), figsize=(4.2 * len(ts), 7.0), squeeze=False)
    for k, t in enumerate(ts):
        sampled, full = curve_rows(run, t)
        curves = summarize_repetitions(sampled, ["sampler", "subset_size"], [_E, _F])
        for row, (col, kind, unit) in enumerate(
            ((_E, "energy", "meV/atom"), (_F, "force", "meV/Angstrom"))
        ):
            ax = axes[row][k]
            for sampler, g in curves.groupby("sampler"):
                g = g.sort_values("subset_size")
                ax.plot(g["subset_size"], g[f"{col}_center"], marker="o", ms=3, label=sampler)
                ax.fill_between(g["subset_size"], g[f"{col}_lo"], g[f"{col}_hi"], alpha=0.2)
            ax.axhline(full[kind], color="k", ls="--", lw=1, label="whole pool")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("training configurations")
            ax.set_ylabel(f"test {kind} RMSE ({unit})")
            ax.set_title(f"2Jmax {t}, level {d.curve_level}, w_E/w_F {d.curve_weight:g}")
            ax.legend(fontsize=7)
    _save(fig, folder, "fig6_learning_curves.png", written)

    for name, x, y, colour, clabel in (
        ("fig7_pareto.png", _E, _F, "dft", "DFT time (hours)"),
        ("fig8_force_vs_dft.png", "dft", _F, _E, "test energy RMSE (meV/atom)"),
    ):
        fig, axes = _panels(len(ts))
        for ax, t in zip(axes, ts, strict=True):
            fronts = _fronts(run, t)
            key = ("dft_seconds", "standard")
            if key not in fronts:
                continue
            front = fronts[key]["front"].copy()
            front["dft_center"] = front["dft_seconds_center"] / 3600.0
            cx, cy = f"{x}_center", f"{y}_center"
            cc = front[f"{colour}_center"]
            sc = None
            for lv, g in front.groupby("train_level"):
                sc = ax.scatter(
                    g[cx],
                    g[cy],
                    c=cc.loc[g.index],
                    cmap="viridis",
                    norm=LogNorm(vmin=cc.min(), vmax=max(cc.max(), cc.min() * 1.0001)),
                    marker=_LEVEL_MARKERS.get(str(lv), "o"),
                    s=18,
                    label=f"level {lv}",
                )
            if sc is not None:
                fig.colorbar(sc, ax=ax, label=clabel)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("DFT time (hours)" if x == "dft" else "test energy RMSE (meV/atom)")
            ax.set_ylabel("test force RMSE (meV/Angstrom)")
            ax.set_title(f"2Jmax {t}: Pareto front")
            ax.legend(fontsize=7)
        _save(fig, folder, name, written)
    return written


# -- the report --------------------------------------------------------------------------------


def _f(value, digits=2) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    return f"{value:.{digits}f}"


def _n(value) -> str:
    """A size, or "None" where a sampler never gets within the tolerance."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "None"
    return str(int(value))


def _table3(run) -> list[str]:
    paper = {str(r["level"]): r for r in TABLE_3}
    lines = [
        "| level | energy RMSD (ours) | (paper) | mean-shifted (ours) | (paper) | force RMSD "
        "(ours) | (paper) |",
        "|---|---|---|---|---|---|---|",
    ]
    for _, r in run.table3.iterrows():
        p = paper.get(str(r["level"]), {})
        lines.append(
            f"| {r['level']} | {_f(r['energy_unshifted'])} | "
            f"{_f(p.get('energy_unshifted_mev_per_atom'))} | {_f(r['energy_mean_shifted'])} | "
            f"{_f(p.get('energy_mean_shifted_mev_per_atom'))} | {_f(r['force'], 1)} | "
            f"{_f(p.get('force_mev_per_angstrom'), 1)} |"
        )
    return lines


def _tables45(run) -> list[str]:
    rows, t = run.rows, max(run.design.twojmax)
    whole = rows[(rows["twojmax"] == t) & (rows["sampler"] == "all")]
    lines = []
    for key, ratio in (("higher_energy_weight", 150.0), ("higher_force_weight", 12.25)):
        model = TABLES_4_5["models"][key]
        paper = {str(r["level"]): r for r in model["rows"]}
        at = whole[_near(whole["weight_ratio"], ratio)]
        if at.empty:
            lines.append(f"(w_E/w_F {ratio:g} is not among the whole-pool weights)")
            continue
        lines += [
            "",
            f"w_E/w_F {ratio:g} (paper: {model['w_e_over_w_f']:g}), 2Jmax {t} (paper: "
            f"{TABLES_4_5['two_jmax']}), ours / paper:",
            "",
            "| level | E train | E test self | E test L6 | E test L6 shifted | F train | "
            "F test self | F test L6 |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for _, r in at.sort_values("train_level").iterrows():
            p = paper.get(str(r["train_level"]), {})
            cells = [
                (r["energy_rmse_train"], p.get("energy_train_mev_per_atom")),
                (r["energy_rmse_test"], p.get("energy_test_self_mev_per_atom")),
                (r[_E], p.get("energy_test_level6_unshifted_mev_per_atom")),
                (
                    r.get("energy_rmse_test_truth_shifted"),
                    p.get("energy_test_level6_shifted_mev_per_atom"),
                ),
                (r["force_rmse_train"], p.get("force_train_mev_per_angstrom")),
                (r["force_rmse_test"], p.get("force_test_self_mev_per_angstrom")),
                (r[_F], p.get("force_test_level6_mev_per_angstrom")),
            ]
            lines.append(
                f"| {r['train_level']} | "
                + " | ".join(f"{_f(a)} / {_f(b)}" for a, b in cells)
                + " |"
            )
    return lines


def _fig6(run) -> list[str]:
    from .like_for_like.measuring import curve_summary

    lines = [
        "Configurations each sampler needs until its median test error stays within 1 meV/atom "
        "(energy) or 10 meV/Angstrom (force) of the whole pool's (None: not within the sizes "
        "run).",
        "",
        "| 2Jmax | sampler | energy | force | energy: random / this | force: random / this |",
        "|---|---|---|---|---|---|",
    ]
    for t in run.design.twojmax:
        sampled, full = curve_rows(run, t)
        _, needed = curve_summary(sampled, full, _conventions(run.design))
        for _, r in needed.iterrows():
            lines.append(
                f"| {t} | {r['sampler']} | {_n(r['energy_median'])} | {_n(r['force_median'])} | "
                f"{_f(r['energy_median_vs_random'], 1)} | {_f(r['force_median_vs_random'], 1)} |"
            )
    lines += [
        "",
        f"Paper (Fig. 6, 2Jmax {FIG_6['two_jmax']}): leverage sampling needs about "
        f"{FIG_6['energy_cost_reduction_vs_random']}x fewer configurations than random "
        f"sampling for energies and {FIG_6['force_configuration_reduction_vs_random'][0]}-"
        f"{FIG_6['force_configuration_reduction_vs_random'][1]}x fewer for forces; regular "
        f"leverage is better for energies, block leverage for forces.",
    ]
    return lines


def _fig7(run) -> list[str]:
    lines = [
        "| 2Jmax | levels on the front (models per level) | settings |",
        "|---|---|---|",
    ]
    for t in run.design.twojmax:
        fronts = _fronts(run, t)
        f = fronts.get(("dft_seconds", "standard"))
        if f is None:
            continue
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(f["counts"].items()))
        lines.append(f"| {t} | {counts} | {f['n_settings']} |")
    lines += [
        "",
        f"Paper (Fig. 7): levels {FIG_7['levels_on_front']} on the fronts, "
        f"{FIG_7['levels_absent_from_front']} absent, level 6 mostly absent.",
    ]
    return lines


def _leverage(run) -> list[str]:
    if not run.leverage:
        return ["No leverage file given (--leverage-file)."]
    lines = [
        f"Our leverage at 2Jmax {run.leverage['twojmax']} (w_E/w_F "
        f"{run.design.curve_weight:g}) against the authors' file, row by row in their order; "
        "'package': our weighted matrix with its constant column, 'authors': the same without "
        "it, as the authors' fit:",
        "",
        "| matrix | score | n | Spearman | largest relative difference | the same, both scaled "
        "to sum 1 | sum (ours) | sum (theirs) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for kind in ("authors", "package"):
        for col in ("lev", "block_lev"):
            r = run.leverage[kind][col]
            lines.append(
                f"| {kind} | {col} | {r['n']} | {r['spearman']:.4f} | "
                f"{r['max_relative_difference']:.3g} | "
                f"{r['max_relative_difference_normalised']:.3g} | {r['sum_ours']:.4g} | "
                f"{r['sum_theirs']:.4g} |"
            )
    lines += [
        "",
        "Why they can differ: the constant column (the per-atom reference energy) adds one "
        "direction to every hat-matrix diagonal, most on the energy rows; their descriptors "
        "came from FitSNAP (energy rows per atom, times w_E) and ours from LAMMPS directly "
        "(energy rows summed, times w_E / N: the same rows); they used an untruncated SVD, we "
        "cut singular values below 1e-13 of the largest; and the file holds 2Jmax 6 only. "
        "The rank correlation is what decides the sampling.",
    ]
    return lines


def write_report(run) -> str:
    """Write the Markdown report of ``run`` to ``run.report``; return its text."""
    d = run.design
    figs = [os.path.relpath(p, os.path.dirname(run.report)) for p in run.figures]
    lines = [
        "# The paper's study, reproduced",
        "",
        f"Training pool {run.pool}, test set {run.test} configurations (the authors' split); "
        f"2Jmax {list(d.twojmax)}; sizes {[s for s in d.sizes if s < run.pool]} and the whole "
        f"pool; {d.repetitions} repetitions ({d.draws} draws); w_E/w_F {list(d.weights)}; "
        f"training levels {list(d.levels)}; test level {d.truth_level}; fit convention "
        f"{d.fit_convention!r}. Rows computed in this run per 2Jmax: {run.computed}.",
        "",
        "## Table 3: DFT differences to level 6 (meV/atom, meV/Angstrom)",
        "",
        *_table3(run),
        "",
        "The bulk-shifted column is left out: the data hold no bulk reference.",
        "",
        "## Tables 4/5: whole-pool models (meV/atom, meV/Angstrom)",
        *_tables45(run),
        "",
        "## Fig. 6: samplers",
        "",
        *_fig6(run),
        "",
        "## Fig. 7/8: Pareto fronts (DFT cost: size x Table 1 time per configuration)",
        "",
        *_fig7(run),
        "",
        "## Leverage scores",
        "",
        *_leverage(run),
        "",
        "## Figures",
        "",
        *[f"![{os.path.basename(p)}]({p})" for p in figs],
        "",
    ]
    text = "\n".join(lines)
    write_text(run.report, text)
    return text
