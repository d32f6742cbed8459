"""The findings report's figures: PNG files beside the report, drawn from the same results its
tables are rendered from, and linked from its Markdown by relative paths.

:class:`FigureWriter` draws, into one folder,

* ``weight_sweep.png``: the weight sweep of the findings' own dataset (section 2, as the paper's
  Fig. 4): test energy and force RMSE against the reference level vs w_E/w_F, one line per
  training level;
* per 2Jmax of the like-for-like sources, every source side by side in one panel column each:
  ``weight_sweeps_2jmaxN.png`` (as Fig. 4, on the whole training pool),
  ``learning_curves_2jmaxN.png`` (as Fig. 6: the median test error of every sampler vs the
  training subset size with its 16-84 % band, and the whole pool's error) and
  ``pareto_fronts_2jmaxN.png`` (as Fig. 7: the models on the Pareto front of DFT cost, energy
  and force error, energy vs force error with the DFT cost as colour and the training level as
  marker, and the drawn range of the report's tables).

Every figure is built without ``pyplot`` (no display needed); each panel's label
(``Axes.get_label()``) is ``"<source>: energy"``, ``"<source>: force"`` or ``"<source>: front"``. Units: energy RMSE in meV/atom,
force RMSE in meV/Angstrom, DFT cost in core-hours.
"""

from __future__ import annotations

import os

import numpy as np
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from ..study.plots import _level_styles, _log_axes
from .like_for_like.conventions import CURVE_SAMPLERS, ERRORS

__all__ = [
    "FigureWriter",
    "FRONT",
    "DPI",
    "weight_sweep_figure",
    "learning_curves_figure",
    "pareto_fronts_figure",
    "source_title",
]

#: Resolution of the written PNG files (dots per inch).
DPI = 100
#: Colours of the written PNG files (a palette keeps the files small).
COLORS = 128
#: The front drawn in the Pareto figures: DFT cost as the level's mean time per configuration
#: times N (the only cost every source has, the authors' tables included) and the standard
#: dominance rule.
FRONT = ("dft_seconds_mean_x_n", "standard")
#: Sampler colours and names in the learning-curve figures.
SAMPLER_STYLES = {
    "leverage": ("tab:blue", "regular leverage"),
    "block_leverage": ("tab:orange", "block leverage"),
    "random": ("tab:green", "random"),
}
_KINDS = (
    ("energy", ERRORS[0], "energy RMSE (meV/atom)"),
    ("force", ERRORS[1], "force RMSE (meV/Å)"),
)


def source_title(name: str) -> str:
    """A like-for-like source's name without its 2Jmax (the figure's title names it)."""
    return name.split(", 2Jmax")[0]


def _level_key(level) -> tuple:
    text = str(level)
    return (0, int(text), text) if text.isdigit() else (1, 0, text)


def _plain(value, _pos=None) -> str:
    return f"{value:g}"


def _log(ax) -> None:
    """Log axes with plain-number ticks; an axis spanning few decades (the y axis up to 2.5,
    the narrower x axis up to 1.8) also gets labelled ticks at 2 and 5 times each power of
    ten."""
    _log_axes(ax)
    for axis, widest in ((ax.xaxis, 60.0), (ax.yaxis, 300.0)):
        lo, hi = axis.get_view_interval()
        if lo > 0 and 30.0 <= hi / lo < widest:
            axis.set_minor_locator(LogLocator(base=10.0, subs=(2.0, 5.0)))
            axis.set_minor_formatter(FuncFormatter(_plain))


def _colorbar(fig, mappable, ax, label: str) -> None:
    """A colour bar with plain-number ticks (labelled minor ticks within 2.5 decades)."""
    bar = fig.colorbar(mappable, ax=ax, shrink=0.9)
    bar.set_label(label, fontsize=8)
    bar.ax.yaxis.set_major_formatter(FuncFormatter(_plain))
    vmin, vmax = mappable.norm.vmin, mappable.norm.vmax
    span = vmax / vmin if vmin and vmin > 0 else np.inf
    if span < 300.0:
        if span >= 10.0:
            bar.ax.yaxis.set_minor_locator(LogLocator(base=10.0, subs=(2.0, 5.0)))
        bar.ax.yaxis.set_minor_formatter(FuncFormatter(_plain))
    else:
        bar.ax.yaxis.set_minor_formatter(NullFormatter())
    bar.ax.tick_params(labelsize=7, which="both")


def _levels(values) -> list[str]:
    return sorted({str(v) for v in values}, key=_level_key)


def _grid(ncols: int, nrows: int = 2, size=(3.3, 2.7)):
    fig = Figure(figsize=(size[0] * ncols + 0.6, size[1] * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def _sweep_panels(axes_column, name, table, truth, styles) -> None:
    """Energy (top) and force (bottom) test RMSE vs w_E/w_F, one line per training level."""
    for ax, (kind, column, label) in zip(axes_column, _KINDS, strict=True):
        ax.set_label(f"{name}: {kind}")
        for lv in _levels(table["train_level"]):
            g = table[table["train_level"].astype(str) == lv].sort_values("weight_ratio")
            g = g[np.isfinite(g[column].to_numpy(dtype=float))]
            if len(g) == 0:
                continue
            ax.plot(
                g["weight_ratio"].to_numpy(dtype=float),
                g[column].to_numpy(dtype=float),
                marker=styles[lv]["marker"],
                color=styles[lv]["color"],
                ms=3,
                lw=1.2,
                label=f"level {lv}",
            )
        _log(ax)
        ax.set_xlabel("$w_E/w_F$")
        ax.set_ylabel(f"test {label}" + (f"\nvs level {truth}" if truth else ""), fontsize=8)
        ax.grid(True, which="major", alpha=0.3)


def _level_legend(fig, levels, styles, what: str = "training level") -> None:
    handles = [
        Line2D([], [], color=styles[lv]["color"], marker=styles[lv]["marker"], label=f"level {lv}")
        for lv in levels
    ]
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=min(len(handles), 8),
        fontsize=8,
        title=what,
        title_fontsize=8,
    )


def weight_sweep_figure(panels, title: str) -> Figure:
    """Test energy and force RMSE vs w_E/w_F per training level (the paper's Fig. 4).

    Args:
        panels: ``[(title, table, reference level)]``, one column each; a table has
            ``train_level``, ``weight_ratio`` and the test errors against the reference level
            (``energy_rmse_test_truth`` in meV/atom, ``force_rmse_test_truth`` in meV/Angstrom),
            one row per level and weight.
        title: The figure's title.

    Returns:
        The figure: energy RMSE in the top row, force RMSE in the bottom row (for one source:
        side by side), one line per training level (labelled ``level N``), log axes.
    """
    levels = _levels(v for _, t, _ in panels for v in t["train_level"])
    styles = _level_styles(levels)
    if len(panels) == 1:  # one source: energy and force side by side
        fig, axes = _grid(2, nrows=1, size=(4.0, 3.2))
        name, table, truth = panels[0]
        _sweep_panels(axes[0], name, table, truth, styles)
        for ax in axes[0]:
            ax.set_title(name, fontsize=9)
    else:
        fig, axes = _grid(len(panels))
        for k, (name, table, truth) in enumerate(panels):
            _sweep_panels(axes[:, k], name, table, truth, styles)
            axes[0, k].set_title(name, fontsize=9)
    _level_legend(fig, levels, styles)
    fig.suptitle(title, fontsize=10)
    return fig


def learning_curves_figure(results, conventions, title: str) -> Figure:
    """Learning curves of like-for-like sources side by side (the paper's Fig. 6).

    Args:
        results: :class:`~.like_for_like.conventions.SourceResult` objects, one column each.
        conventions: Their :class:`~.like_for_like.conventions.StudyConventions` (center and
            band names).
        title: The figure's title.

    Returns:
        The figure: per source the test energy (top) and force (bottom) RMSE against its
        reference level vs the training subset size, one line per sampler (the ``center`` of the
        repetitions, labelled by sampler) with its band, and the whole pool's error as a dashed
        line (labelled ``whole pool``); log axes.
    """
    fig, axes = _grid(len(results))
    lo_p, hi_p = conventions.band
    for k, r in enumerate(results):
        for ax, (kind, column, label) in zip(axes[:, k], _KINDS, strict=True):
            ax.set_label(f"{source_title(r.name)}: {kind}")
            for sampler in CURVE_SAMPLERS:
                g = r.curves[r.curves["sampler"] == sampler].sort_values("subset_size")
                if len(g) == 0:
                    continue
                color, name = SAMPLER_STYLES[sampler]
                x = g["subset_size"].to_numpy(dtype=float)
                ax.fill_between(
                    x,
                    g[f"{column}_lo"].to_numpy(dtype=float),
                    g[f"{column}_hi"].to_numpy(dtype=float),
                    color=color,
                    alpha=0.18,
                    lw=0,
                    label=f"{name} band",
                )
                ax.plot(
                    x,
                    g[f"{column}_center"].to_numpy(dtype=float),
                    color=color,
                    marker="o",
                    ms=2.5,
                    lw=1.2,
                    label=name,
                )
            ax.axhline(r.full[kind], color="0.25", ls="--", lw=1, label="whole pool")
            _log(ax)
            ax.set_xlabel("training configurations")
            ax.set_ylabel(f"test {label}\nvs level {r.info['truth_level']}", fontsize=8)
            ax.grid(True, which="major", alpha=0.3)
        axes[0, k].set_title(
            f"{source_title(r.name)}\nlevel {r.info['curve_level']}, "
            f"{r.info['repetitions']} repetitions",
            fontsize=9,
        )
    handles = [
        Line2D([], [], color=c, marker="o", ms=3, label=n) for c, n in SAMPLER_STYLES.values()
    ]
    handles.append(Line2D([], [], color="0.25", ls="--", label="whole pool"))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8)
    fig.suptitle(
        f"{title}: {conventions.center} over repetitions, band {lo_p:g}-{hi_p:g} %", fontsize=10
    )
    return fig


def pareto_fronts_figure(results, title: str, front=FRONT) -> Figure:
    """Pareto fronts of like-for-like sources side by side (the paper's Fig. 7).

    Args:
        results: :class:`~.like_for_like.conventions.SourceResult` objects, one panel each;
            a source without the ``front`` gets an empty panel saying so.
        title: The figure's title.
        front: ``(cost, dominance rule)``: the key of the source's ``fronts`` to draw.

    Returns:
        The figure: per source the models on the front, median energy (y) vs median force (x)
        test RMSE, one scatter per training level (labelled ``level N``, marker by level) with
        the DFT cost (core-hours) as colour, and the drawn range of the report's tables as
        dotted lines; log axes.

    Raises:
        ValueError: For a ``front`` that is not a (cost, dominance rule) pair of the study.
    """
    from .like_for_like.conventions import COSTS, DOMINANCE

    allowed = [(c, d) for c in COSTS for d in DOMINANCE]
    if tuple(front) not in allowed:
        raise ValueError(f"front must be one of {allowed}, got {front!r}")
    cost, _rule = front
    fronts = [r.fronts.get(tuple(front)) for r in results]
    levels = _levels(v for f in fronts if f is not None for v in f["front"]["train_level"])
    styles = _level_styles(levels)
    fig, axes = _grid(len(results), nrows=1, size=(3.6, 3.3))
    for ax, r, f in zip(axes[0], results, fronts, strict=True):
        ax.set_label(f"{source_title(r.name)}: front")
        if f is None:
            ax.text(0.5, 0.5, "no such cost", ha="center", va="center", transform=ax.transAxes)
            ax.set_title(source_title(r.name), fontsize=9)
            continue
        rows = f["front"]
        hours = rows[f"{cost}_center"].to_numpy(dtype=float) / 3600.0
        finite = hours[np.isfinite(hours) & (hours > 0)]
        norm = (
            LogNorm(vmin=finite.min(), vmax=max(finite.max(), finite.min() * 1.0001))
            if len(finite)
            else Normalize()
        )
        mappable = None
        for lv in _levels(rows["train_level"]):
            keep = (rows["train_level"].astype(str) == lv).to_numpy()
            mappable = ax.scatter(
                rows[f"{ERRORS[1]}_center"].to_numpy(dtype=float)[keep],
                rows[f"{ERRORS[0]}_center"].to_numpy(dtype=float)[keep],
                c=hours[keep],
                norm=norm,
                cmap="viridis",
                marker=styles[lv]["marker"],
                s=22,
                edgecolors="k",
                linewidths=0.3,
                label=f"level {lv}",
            )
        e_max, f_max = f["range"]
        ax.axhline(e_max, color="0.4", ls=":", lw=1)
        ax.axvline(f_max, color="0.4", ls=":", lw=1)
        _log(ax)
        ax.set_xlabel(f"test force RMSE (meV/Å)\nvs level {r.info['truth_level']}", fontsize=8)
        ax.set_ylabel(f"test energy RMSE (meV/atom)\nvs level {r.info['truth_level']}", fontsize=8)
        ax.grid(True, which="major", alpha=0.3)
        ax.set_title(f"{source_title(r.name)}\n{len(rows)} models on the front", fontsize=9)
        if mappable is not None:
            _colorbar(fig, mappable, ax, "DFT cost (core-hours)")
    handles = [
        Line2D([], [], ls="", marker=styles[lv]["marker"], color="0.4", label=f"level {lv}")
        for lv in levels
    ]
    handles.append(Line2D([], [], color="0.4", ls=":", label="drawn range"))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8)
    fig.suptitle(title, fontsize=10)
    return fig


class FigureWriter:
    """Draws the report's figures into a folder and hands out their links.

    Args:
        folder: Where the PNG files are written (created if missing).
        report: The report's path; links are relative to its folder (None: to the current one).
        dpi: Resolution of the PNG files (dots per inch, a positive integer).

    Raises:
        ValueError: For an empty ``folder`` or a ``dpi`` that is not a positive integer.

    Attributes:
        figures: ``{file name: matplotlib Figure}`` of everything drawn so far.
    """

    def __init__(self, folder: str, report: str | None = None, dpi: int = DPI):
        if not isinstance(folder, str | os.PathLike) or not str(folder):
            raise ValueError(f"folder must be a non-empty path, got {folder!r}")
        if isinstance(dpi, bool) or not isinstance(dpi, int | np.integer) or dpi < 1:
            raise ValueError(f"dpi must be a positive integer (dots per inch), got {dpi!r}")
        self.folder = folder
        self.report = report
        self.dpi = dpi
        self.figures: dict = {}

    def link(self, path: str) -> str:
        """The Markdown link target of ``path``: relative to the report's folder."""
        base = os.path.dirname(os.path.abspath(self.report)) if self.report else os.getcwd()
        return os.path.relpath(os.path.abspath(path), base).replace(os.sep, "/")

    def _save(self, fig: Figure, name: str) -> str:
        """Write ``fig`` as a PNG of at most :data:`COLORS` colours (a few tens of KB)."""
        import io

        from PIL import Image

        os.makedirs(self.folder, exist_ok=True)
        path = os.path.join(self.folder, name)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=self.dpi)
        buffer.seek(0)
        with Image.open(buffer) as image:
            image.convert("RGB").quantize(colors=COLORS, dither=Image.Dither.NONE).save(
                path, optimize=True
            )
        self.figures[name] = fig
        return self.link(path)

    def like_for_like(self, results, conventions) -> dict:
        """The like-for-like figures, one of each kind per 2Jmax.

        Args:
            results: The like-for-like sources (:class:`~.like_for_like.conventions.SourceResult`).
            conventions: Their :class:`~.like_for_like.conventions.StudyConventions`.

        Returns:
            ``{"weights" | "curves" | "fronts": {2Jmax: link}}``.
        """
        out = {"weights": {}, "curves": {}, "fronts": {}}
        for t in sorted({int(r.twojmax) for r in results}):
            group = [r for r in results if int(r.twojmax) == t]
            swept = [r for r in group if r.weight_sweep is not None and len(r.weight_sweep)]
            if swept:
                panels = [
                    (source_title(r.name), r.weight_sweep, r.info.get("truth_level")) for r in swept
                ]
                fig = weight_sweep_figure(panels, f"Weight sweep on the whole pool, 2Jmax {t}")
                out["weights"][t] = self._save(fig, f"weight_sweeps_2jmax{t}.png")
            curved = [r for r in group if r.curves is not None and len(r.curves)]
            if curved:
                fig = learning_curves_figure(curved, conventions, f"Learning curves, 2Jmax {t}")
                out["curves"][t] = self._save(fig, f"learning_curves_2jmax{t}.png")
            fronted = [r for r in group if r.fronts.get(FRONT) is not None]
            if fronted:  # a source without DFT times (one level) has no such front
                fig = pareto_fronts_figure(
                    fronted, f"Pareto fronts (DFT cost as mean time x N), 2Jmax {t}"
                )
                out["fronts"][t] = self._save(fig, f"pareto_fronts_2jmax{t}.png")
        return out

    def findings(self, findings) -> dict:
        """The figures of the findings measured on one dataset.

        Args:
            findings: :class:`~.findings_measure.Findings`.

        Returns:
            ``{"weights": link}`` (the weight sweep of section 2).
        """
        s, d = findings.settings, findings.dataset_summary
        name = f"{d['n_train_pool']} training configurations" if "n_train_pool" in d else ""
        panels = [(name, findings.weight_table, d.get("truth_level"))]
        fig = weight_sweep_figure(
            panels, f"Weight sweep on the whole pool, 2Jmax {s.twojmax_tables}"
        )
        return {"weights": self._save(fig, "weight_sweep.png")}
