"""The findings report's figures: written as PNG files, linked from the Markdown by relative
paths that exist, and drawing the numbers the report's tables print (read back from the figures'
artists), which are checked against numpy medians, percentiles and a brute-force front of the
raw tables."""

import dataclasses
import os
import re
import sys

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from pyiron_appmlip.reproduction import like_for_like as lfl
from pyiron_appmlip.reproduction.findings import figures_folder
from pyiron_appmlip.reproduction.findings_figures import (
    FRONT,
    SAMPLER_STYLES,
    FigureWriter,
    pareto_fronts_figure,
    source_title,
)

sys.path.insert(0, os.path.dirname(__file__))
from test_like_for_like import _write_authors_tables  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    """Two sources at 2Jmax 6 (different tables) and one at 2Jmax 4, drawn and rendered."""
    root = tmp_path_factory.mktemp("figures")
    sources, tables = [], {}
    for seed, name, twojmax in ((1, "authors' tables", 6), (2, "GPAW small", 6), (3, "W-Be", 4)):
        folder = root / f"tables{seed}"
        _write_authors_tables(folder, np.random.default_rng(seed))
        t = lfl.load_paper_tables(str(folder))
        # a third weight (300, the report's high energy weight) with its own errors
        high = t.weights[t.weights["weight_ratio"] == 150.0].copy()
        high["weight_ratio"] = 300.0
        rng = np.random.default_rng(10 + seed)
        for column in ("energy_rmse_test_truth", "force_rmse_test_truth"):
            high[column] = rng.uniform(1.0, 10.0, len(high))
        t.weights = pd.concat([t.weights, high], ignore_index=True)
        r = lfl.paper_source(t)
        if name != "authors' tables":
            r = dataclasses.replace(r, name=f"{name}, 2Jmax {twojmax}", twojmax=twojmax)
        sources.append(r)
        tables[source_title(r.name)] = t
    conv = lfl.StudyConventions()
    report = root / "out" / "report.md"
    os.makedirs(report.parent)
    writer = FigureWriter(figures_folder(str(report)), report=str(report))
    links = writer.like_for_like(sources, conv)
    text = "\n".join(lfl.render_sections(sources, conv, figures=links))
    report.write_text(text)
    return {"writer": writer, "links": links, "text": text, "report": report, "tables": tables}


def _axes(fig, source: str, *kinds):
    """The panels of one source, by their labels."""
    out = []
    for kind in kinds:
        (ax,) = [ax for ax in fig.axes if ax.get_label() == f"{source}: {kind}"]
        out.append(ax)
    return out


def _line(ax, label):
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == label]
    return line.get_xdata(), line.get_ydata()


def _band(ax, label):
    """Lower and upper edge of a fill_between band, per x."""
    (poly,) = [c for c in ax.collections if c.get_label() == label]
    v = poly.get_paths()[0].vertices
    xs = np.unique(v[:, 0])
    return {x: (v[v[:, 0] == x, 1].min(), v[v[:, 0] == x, 1].max()) for x in xs}


def test_the_figures_are_pngs_linked_by_existing_relative_paths(drawn):
    folder = drawn["report"].parent / "report_figures"
    names = sorted(os.listdir(folder))
    assert names == sorted(
        f"{kind}_2jmax{t}.png"
        for kind in ("weight_sweeps", "learning_curves", "pareto_fronts")
        for t in (4, 6)
    )
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", drawn["text"])
    assert sorted(linked) == sorted(f"report_figures/{n}" for n in names)
    for link in linked:
        assert not os.path.isabs(link)
        path = drawn["report"].parent / link
        assert path.read_bytes()[:8] == PNG
        image = imread(path)
        assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 300
    assert sum(p.stat().st_size for p in folder.iterdir()) < 600_000


def _curve_table(text) -> dict:
    """The report's table of the learning curves as drawn: (source, sampler, size) -> numbers."""
    block = text.split("<details>", 1)[1].split("</details>", 1)[0]
    out = {}
    pattern = r"\| (.+?) \| (\w+) \| ([\d,]+) \| ([\d.]+) \[([\d.]+)-([\d.]+)\] \| ([\d.]+) \[([\d.]+)-([\d.]+)\] \|"
    for m in re.finditer(pattern, block):
        key = (m.group(1), m.group(2), int(m.group(3).replace(",", "")))
        out[key] = [float(m.group(k)) for k in range(4, 10)]
    return out


def test_the_learning_curves_draw_the_tables_medians_and_bands(drawn):
    table = _curve_table(drawn["text"])
    assert len(table) == 3 * 3 * 2  # sources x samplers x sizes
    checked = 0
    for (name, sampler, size), numbers in table.items():
        t = int(name.rsplit(" ", 1)[1]) if "2Jmax" in name else 6
        fig = drawn["writer"].figures[f"learning_curves_2jmax{t}.png"]
        raw = drawn["tables"][source_title(name)].sampling
        raw = raw[(raw["sampler"] == sampler) & (raw["subset_size"] == size)]
        for ax, kind, tol, (median, lo, hi) in zip(
            _axes(fig, source_title(name), "energy", "force"),
            ("energy", "force"),
            (0.005, 0.05),
            (numbers[:3], numbers[3:]),
            strict=True,
        ):
            x, y = _line(ax, SAMPLER_STYLES[sampler][1])
            drawn_median = y[list(x).index(size)]
            drawn_lo, drawn_hi = _band(ax, f"{SAMPLER_STYLES[sampler][1]} band")[size]
            assert drawn_median == pytest.approx(median, abs=tol)
            assert drawn_lo == pytest.approx(lo, abs=tol) and drawn_hi == pytest.approx(hi, abs=tol)
            # independently: numpy's median and percentiles of the repetitions in the tables
            values = raw[f"{kind}_rmse_test_truth"].to_numpy()
            assert len(values) == 3
            assert drawn_median == pytest.approx(np.median(values), rel=1e-12)
            assert drawn_lo == pytest.approx(np.percentile(values, 16), rel=1e-12)
            assert drawn_hi == pytest.approx(np.percentile(values, 84), rel=1e-12)
            checked += 1
    assert checked == 36


def test_the_weight_sweeps_draw_the_tables_values(drawn):
    text = drawn["text"]
    rows = re.findall(
        r"\| (.+?) \| (\d) \| ([\d.]+) \(([\d.]+)\) \| ([\d.]+) \(([\d.]+)\) \| "
        r"([\d.]+) / ([\d.]+) \| ([\d.]+) / ([\d.]+) \|",
        text,
    )
    assert len(rows) == 3 * 3  # sources x levels
    for name, level, e_min, _, f_min, _, e300, e5, f300, f5 in rows:
        t = int(name.rsplit(" ", 1)[1]) if "2Jmax" in name else 6
        fig = drawn["writer"].figures[f"weight_sweeps_2jmax{t}.png"]
        energy_ax, force_ax = _axes(fig, source_title(name), "energy", "force")
        raw = drawn["tables"][source_title(name)].weights
        raw = raw[raw["train_level"] == level].sort_values("weight_ratio")
        for ax, lowest, at300, at5, tol, column in (
            (energy_ax, e_min, e300, e5, 0.005, "energy_rmse_test_truth"),
            (force_ax, f_min, f300, f5, 0.05, "force_rmse_test_truth"),
        ):
            x, y = _line(ax, f"level {level}")
            np.testing.assert_allclose(x, raw["weight_ratio"].to_numpy(), rtol=1e-12)
            np.testing.assert_allclose(y, raw[column].to_numpy(), rtol=1e-12)
            assert y.min() == pytest.approx(float(lowest), abs=tol)
            assert y[list(x).index(5.0)] == pytest.approx(float(at5), abs=tol)
            assert y[list(x).index(300.0)] == pytest.approx(float(at300), abs=tol)


def test_the_pareto_fronts_draw_the_tables_front(drawn):
    text = drawn["text"]
    row = next(ln for ln in text.splitlines() if ln.startswith("| mean time x N, standard rule |"))
    cells = [c.strip() for c in row.strip("|").split("|")][1:]
    names = re.search(r"\| \| (.+) \|\n\|---", text.split("## Fig. 7", 1)[1]).group(1)
    for name, cell in zip(names.split(" | "), cells, strict=True):
        counts = {lv: int(n) for lv, n in re.findall(r"(\d+) \((\d+)\)", cell.split(" of ")[0])}
        t = int(name.rsplit(" ", 1)[1]) if "2Jmax" in name else 6
        fig = drawn["writer"].figures[f"pareto_fronts_2jmax{t}.png"]
        (ax,) = _axes(fig, source_title(name), "front")
        points = {
            c.get_label().split()[1]: c.get_offsets()
            for c in ax.collections
            if c.get_label().startswith("level ")
        }
        assert {lv: len(p) for lv, p in points.items()} == counts
        # independently: the medians per setting of the raw rows and a brute-force front
        raw = drawn["tables"][source_title(name)].pareto
        med = raw.groupby(["subset_size", "weight_ratio", "train_level"]).median(numeric_only=True)
        objectives = med[
            ["dft_seconds_mean_x_n", "energy_rmse_test_truth", "force_rmse_test_truth"]
        ].to_numpy()
        on_front = [
            k
            for k in range(len(objectives))
            if not any(
                np.all(objectives[j] <= objectives[k]) and np.any(objectives[j] < objectives[k])
                for j in range(len(objectives))
            )
        ]
        expected = sorted(
            (
                str(med.index[k][2]),
                round(objectives[k][2], 9),
                round(objectives[k][1], 9),
            )
            for k in on_front
        )
        got = sorted(
            (lv, round(float(x), 9), round(float(y), 9)) for lv, p in points.items() for x, y in p
        )
        assert got == expected


def test_figure_options_are_checked():
    with pytest.raises(ValueError, match="dpi must be a positive integer"):
        FigureWriter("x", dpi=0)
    with pytest.raises(ValueError, match="folder must be a non-empty path"):
        FigureWriter("")
    with pytest.raises(ValueError, match="front must be one of"):
        pareto_fronts_figure([], "t", front=("wall_seconds", "standard"))
    assert FRONT in {(c, r) for c in lfl.COSTS for r in lfl.DOMINANCE}


def test_the_figures_folder_is_beside_the_report_unless_given():
    assert figures_folder(os.path.join("a", "be.md")) == os.path.join("a", "be_figures")
    assert figures_folder("be.txt") == "be.txt_figures"
    assert figures_folder("be.md", "elsewhere") == "elsewhere"
    assert figures_folder(None) is None
