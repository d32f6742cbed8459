import numpy as np
import pytest
from matplotlib.figure import Figure
from test_recommend import synthetic_table

from pyiron_appmlip.core.pareto import pareto_mask
from pyiron_appmlip.study import (
    plot_learning_curves,
    plot_pareto,
    plot_pareto_cost,
    plot_weight_sweep,
)

MIN_PNG_BYTES = 5_000


@pytest.fixture(scope="module")
def table():
    return synthetic_table()


def saved(path):
    assert path.exists()
    size = path.stat().st_size
    assert size > MIN_PNG_BYTES, f"{path.name} is only {size} bytes"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return size


def visible_axes(fig):
    return [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]


def test_weight_sweep_lines_per_level_and_panel(table, tmp_path):
    fig = plot_weight_sweep(table, vs="both", path=tmp_path / "weights.png")
    assert isinstance(fig, Figure)
    saved(tmp_path / "weights.png")
    axes = visible_axes(fig)
    assert [ax.get_title() for ax in axes] == [
        f"2Jmax = {tj}, 400 configurations" for tj in (4, 6, 8)
    ]
    for ax in axes:
        lines = ax.get_lines()
        assert len(lines) == 4 * 2  # four levels, vs truth and vs own
        assert sorted({ln.get_linestyle() for ln in lines}) == ["-", ":"]
        # three weights per line, in increasing w_E/w_F
        assert all(len(ln.get_xdata()) == 3 for ln in lines)
        assert ax.get_xscale() == "log"
    # one 2Jmax, one subset size, truth only; the points are the repetition means
    fig = plot_weight_sweep(table, twojmax=6, subset_size=50, vs="truth", sampler="leverage")
    (ax,) = visible_axes(fig)
    rows = table.query(
        "twojmax == 6 and subset_size == 50 and sampler == 'leverage' and train_level == '4'"
    )
    means = rows.groupby("weight_ratio")["energy_rmse_test_truth"].mean().to_numpy()
    level4 = [ln for ln in ax.get_lines() if ln.get_label() == "level 4"][0]
    assert np.allclose(level4.get_ydata(), means)


def test_learning_curves_mean_and_band(table, tmp_path):
    path = tmp_path / "learning.png"
    fig = plot_learning_curves(table, 8, "5", 50.0, quantity="force", path=path)
    saved(path)
    (ax,) = visible_axes(fig)
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert labels == ["leverage", "block_leverage", "random", "all configurations"]
    rows = table.query(
        "twojmax == 8 and train_level == '5' and weight_ratio == 50 and sampler == 'random'"
    )
    expected = rows.groupby("subset_size")["force_rmse_test_truth"].mean()
    random_line = ax.get_lines()[2]
    assert np.allclose(random_line.get_xdata(), expected.index)
    assert np.allclose(random_line.get_ydata(), expected.to_numpy())
    assert len(ax.collections) == 3  # one band per subsampling sampler
    fig = plot_learning_curves(
        table, 8, 5, 50, quantity="energy", spread="std", samplers=["leverage"], vs="own"
    )
    assert len(visible_axes(fig)[0].collections) == 1


def test_pareto_shows_only_the_front_per_panel(table, tmp_path):
    path = tmp_path / "pareto.png"
    fig = plot_pareto(table, path=path)
    saved(path)
    axes = visible_axes(fig)
    assert len(axes) == 3
    cols = ["energy_rmse_test_truth", "force_rmse_test_truth", "dft_seconds"]
    for ax, tj in zip(axes, (4, 6, 8), strict=True):
        panel = table[table["twojmax"] == tj]
        front = panel[pareto_mask(panel[cols].to_numpy())]
        points = np.concatenate([c.get_offsets() for c in ax.collections])
        assert len(points) == len(front)
        # x = force, y = energy
        assert sorted(points[:, 0]) == pytest.approx(sorted(front["force_rmse_test_truth"]))
        assert sorted(points[:, 1]) == pytest.approx(sorted(front["energy_rmse_test_truth"]))
        norm = ax.collections[0].norm
        assert type(norm).__name__ == "LogNorm"
    # the colour scale spans the plotted costs of all panels
    assert norm.vmin > 0 and norm.vmax / norm.vmin > 10


def test_pareto_cost_axes_and_units(table, tmp_path):
    path = tmp_path / "pareto_cost.png"
    fig = plot_pareto_cost(table, time_unit="h", path=path)
    saved(path)
    ax = visible_axes(fig)[2]
    assert "(h)" in ax.get_xlabel() and "meV/Å" in ax.get_ylabel()
    panel = table[table["twojmax"] == 8]
    cols = ["energy_rmse_test_truth", "force_rmse_test_truth", "dft_seconds"]
    front = panel[pareto_mask(panel[cols].to_numpy())]
    points = np.concatenate([c.get_offsets() for c in ax.collections])
    assert sorted(points[:, 0]) == pytest.approx(sorted(front["dft_seconds"] / 3600.0))
    colors = np.concatenate([c.get_array() for c in ax.collections])
    assert sorted(colors) == pytest.approx(sorted(front["energy_rmse_test_truth"]))


def test_plots_work_with_nan_own_level_errors(table, tmp_path):
    t = table.assign(force_rmse_test=np.nan, energy_rmse_test=np.nan)
    plot_weight_sweep(t, twojmax=4, vs="truth")
    with pytest.raises(ValueError, match="nothing to plot"):
        plot_weight_sweep(t, twojmax=4, vs="own")


def test_plot_errors(table):
    with pytest.raises(ValueError, match=r"vs must be one of \['truth', 'own', 'both'\]"):
        plot_weight_sweep(table, vs="self")
    with pytest.raises(ValueError, match=r"needs the column\(s\) \['force_rmse_test_truth'\]"):
        plot_weight_sweep(table.drop(columns="force_rmse_test_truth"))
    with pytest.raises(ValueError, match="table is empty"):
        plot_pareto(table.iloc[:0])
    with pytest.raises(ValueError, match=r"quantity must be one of \['energy', 'force'\]"):
        plot_learning_curves(table, 8, "5", 50.0, quantity="stress")
    with pytest.raises(ValueError, match=r"no rows with level='9'; available: \['2', '3'"):
        plot_learning_curves(table, 8, "9", 50.0)
    with pytest.raises(ValueError, match="no rows with twojmax=10"):
        plot_weight_sweep(table, twojmax=10)
    with pytest.raises(ValueError, match="time_unit must be one of"):
        plot_pareto_cost(table, time_unit="days")
    with pytest.raises(ValueError, match=r"needs the column\(s\) \['cost'\]"):
        plot_pareto(table, color="cost")
    with pytest.raises(ValueError, match="spread must be one of"):
        plot_learning_curves(table, 8, "5", 50.0, spread="iqr")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"vs": "truth", "twojmax": 6},  # one narrow panel: the old legend ran into the title
        {"vs": "both", "twojmax": 6},
        {"vs": "own", "twojmax": [4, 6]},
        {"vs": "both"},
    ],
    ids=["one-panel", "one-panel-both", "two-panels", "three-panels"],
)
def test_weight_sweep_legend_covers_neither_title_nor_panels(table, kwargs):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = plot_weight_sweep(table, **kwargs)
    FigureCanvasAgg(fig)
    fig.canvas.draw()  # runs the constrained layout
    renderer = fig.canvas.get_renderer()
    (legend,) = fig.legends
    box = legend.get_window_extent(renderer)
    title = fig._suptitle.get_window_extent(renderer)
    assert not box.overlaps(title)
    for ax in visible_axes(fig):
        assert not box.overlaps(ax.title.get_window_extent(renderer))
        assert not box.overlaps(ax.get_tightbbox(renderer))  # axes, ticks, labels
    for b in (box, title):  # both inside the figure
        assert fig.bbox.x0 <= b.x0 and b.x1 <= fig.bbox.x1
        assert fig.bbox.y0 <= b.y0 and b.y1 <= fig.bbox.y1
    n_levels = len(set(table["train_level"]))
    assert len(legend.get_texts()) == n_levels + (2 if kwargs["vs"] == "both" else 0)
