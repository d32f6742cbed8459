"""The paper's study in one command on a small stand-in in the authors' layout: LAMMPS
descriptors, the fits, the report and figures; a second run reuses every stored result. The
whole-pool model of level 6 is compared with a numpy least-squares fit of blocks computed
separately, and the leverage comparison with hat-matrix diagonals from a numpy QR."""

import os
import warnings

import numpy as np
import pandas as pd
import pytest

from pyiron_appmlip.datasets.formats.paper_hdf import paper_split_ids, read_paper_dataset
from pyiron_appmlip.descriptors import compute_qsnap_blocks
from pyiron_appmlip.reproduction.paper import main
from pyiron_appmlip.reproduction.paper_standin import write_standin
from pyiron_appmlip.reproduction.paper_values import TABLE_3
from pyiron_appmlip.structures.candidates import minimum_distance

W_E, W_F = 150.0, 1.0


def _weighted(block, n, constant):
    """Rows of one configuration as the fit weighs them: energy row w_E / N, forces w_F."""
    x = np.asarray(block[: 1 + 3 * n], dtype=float)
    if constant:
        x = np.hstack([np.r_[n, np.zeros(3 * n)][:, None], x])
    w = np.r_[W_E / n, np.full(3 * n, W_F)]
    return w[:, None] * x, w


def _hat_diagonals(blocks, sizes, constant=True):
    """Regular and block leverage from the Q of a numpy QR."""
    rows = [_weighted(b, n, constant)[0] for b, n in zip(blocks, sizes, strict=True)]
    q, _ = np.linalg.qr(np.vstack(rows))
    h = np.sum(q**2, axis=1)
    starts = np.cumsum([0] + [len(r) for r in rows])
    lev = np.array([h[s] for s in starts[:-1]])
    block = np.array([h[s:e].sum() for s, e in zip(starts[:-1], starts[1:], strict=True)])
    return lev, block


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    folder = tmp_path_factory.mktemp("paper") / "data"
    write_standin(folder, n=200, seed=3)
    return folder


def test_paper_study_end_to_end_and_resumed(standin, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the stand-in's configurations with a gap
        dataset = read_paper_dataset(standin)
    train, test = paper_split_ids(dataset)
    n_atoms = {i: len(dataset.structure(i)) for i in train + test}
    ids = train + test
    blocks = dict(
        zip(ids, compute_qsnap_blocks([dataset.structure(i) for i in ids], 4), strict=True)
    )
    # the authors' file: no constant column, an unnamed index column first
    lev, block_lev = _hat_diagonals(
        [blocks[i] for i in train], [n_atoms[i] for i in train], constant=False
    )
    leverage_file = tmp_path / "df_leverage.csv"
    pd.DataFrame({"lev": lev, "block_lev": block_lev}).to_csv(leverage_file)
    with_constant = _hat_diagonals([blocks[i] for i in train], [n_atoms[i] for i in train])
    out = tmp_path / "out"
    argv = [
        "--data", str(standin), "--out", str(out), "--twojmax", "4", "--sizes", "20", "50",
        "--repetitions", "2", "--executor", "serial", "--leverage-file", str(leverage_file),
    ]  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = main(argv)
    assert run.pool == len(train) and run.test == len(test)
    # the stages' times add up (the rest: labels, rows read back) and the peak memory is known
    t = run.timings
    stages = t["read"] + t["descriptors"][4] + t["fits"][4] + t["leverage"] + t["report"]
    assert all(v > 0 for v in (t["read"], t["descriptors"][4], t["fits"][4], t["report"]))
    assert stages <= t["total"] < stages + 0.2 * t["total"] + 5.0
    assert t["after_descriptors"] == pytest.approx(t["total"] - t["read"] - t["descriptors"][4])
    assert 0.05 < run.peak_memory_gib["process"] < 8
    assert "after the descriptors" in run.summary() and "2Jmax 4: descriptors" in run.summary()
    assert run.computed[4] == len(run.rows) > 0
    names = {os.path.basename(p) for p in run.figures}
    assert names == {
        "fig4_weight_sweep.png",
        "fig5_weight_sweep_per_twojmax.png",
        "fig6_learning_curves.png",
        "fig7_pareto.png",
        "fig8_force_vs_dft.png",
    }
    assert all(os.path.getsize(p) > 10_000 for p in run.figures)
    report = open(run.report).read()
    for part in ("Table 3", "Tables 4/5", "Fig. 6", "Fig. 7/8", "Leverage scores", "497.05"):
        assert part in report
    # the samplers at both sizes and the whole pool at 6 levels x 17 weights
    rows = run.rows
    assert set(rows["sampler"]) == {"leverage", "block_leverage", "random", "all"}
    assert len(rows[rows["sampler"] == "all"]) == 6 * 17
    assert set(rows.loc[rows["sampler"] == "random", "subset_size"]) == {20, 50}

    # the whole-pool model of level 6 at w_E/w_F 150, the authors' fit: numpy lstsq
    level6 = dataset.level("6")
    a, b = [], []
    for i in train:
        x, w = _weighted(blocks[i], n_atoms[i], constant=False)
        k = level6.index(i)
        a.append(x)
        b.append(w * np.r_[level6.energy[k], level6.forces[k].ravel()])
    beta = np.linalg.lstsq(np.vstack(a), np.concatenate(b), rcond=1e-13)[0]
    e_err = [(blocks[i][0] @ beta - level6.energy[level6.index(i)]) / n_atoms[i] for i in test]
    f_err = np.concatenate(
        [
            blocks[i][1 : 1 + 3 * n_atoms[i]] @ beta - level6.forces[level6.index(i)].ravel()
            for i in test
        ]
    )
    whole = rows[
        (rows["sampler"] == "all") & (rows["train_level"] == "6") & np.isclose(rows["weight_ratio"], W_E)
    ].iloc[0]  # fmt: skip
    assert whole["energy_rmse_test_truth"] == pytest.approx(
        1000 * np.sqrt(np.mean(np.square(e_err))), rel=1e-4
    )
    assert whole["force_rmse_test_truth"] == pytest.approx(
        1000 * np.sqrt(np.mean(f_err**2)), rel=1e-4
    )
    # the authors' matrix: equal up to rounding, same ranks
    for col in ("lev", "block_lev"):
        assert run.leverage["authors"][col]["spearman"] > 0.9999
        assert run.leverage["authors"][col]["max_relative_difference"] < 1e-6
    # the package's matrix has the constant column: its sum is one more (full rank)
    package = run.leverage["package"]
    assert package["block_lev"]["sum_ours"] == pytest.approx(block_lev.sum() + 1, rel=1e-6)
    assert package["lev"]["sum_ours"] == pytest.approx(with_constant[0].sum(), rel=1e-6)

    # a second run reuses every stored row, descriptor block and leverage score
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = main(argv)
    assert again.computed == {4: 0}
    key = ["sampler", "repetition", "subset_size", "weight_ratio", "train_level"]
    first = run.rows.sort_values(key).reset_index(drop=True)
    second = again.rows.sort_values(key).reset_index(drop=True)
    np.testing.assert_allclose(
        second["energy_rmse_test_truth"], first["energy_rmse_test_truth"], rtol=1e-12
    )
    # one more repetition computes only the new units' rows
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        more = main(
            [
                ("3" if a == "2" and argv[k - 1] == "--repetitions" else a)
                for k, a in enumerate(argv)
            ]
        )
    n_new = len(more.rows) - len(run.rows)
    assert more.computed[4] == n_new > 0


def test_standin_files_are_in_the_layout_with_table3_differences(tmp_path):
    summary = write_standin(tmp_path / "data", n=150, seed=1, n_incomplete=3)
    with pytest.warns(UserWarning, match="3 of 150 configurations"):
        ds = read_paper_dataset(tmp_path / "data")
    assert len(ds.ids) == 147 and ds.level_names == ["1", "2", "3", "4", "5", "6"]
    train, test = paper_split_ids(ds)
    assert len(train) == 73 and len(test) == 74
    assert all(44 <= len(a) <= 54 and minimum_distance(a) >= 1.5 for a in ds.structures)
    table3 = {r["level"]: r for r in TABLE_3}
    six = ds.level("6")
    for level in range(1, 6):
        data, row = ds.level(str(level)), table3[level]
        ids = data.ids
        n = np.array([len(ds.structure(i)) for i in ids])
        de = (data.energy - np.array([six.energy[six.index(i)] for i in ids])) / n
        df = np.concatenate([data.forces[k] - six.forces[six.index(i)] for k, i in enumerate(ids)])
        # the summary is what the labels say, and near Table 3 (150 configurations)
        got = summary["rmsd_to_level6"][level]
        assert 1000 * np.sqrt(np.mean(de**2)) == pytest.approx(got["energy_unshifted"], rel=0.05)
        assert 1000 * np.sqrt(np.mean(df**2)) == pytest.approx(got["force"], rel=0.05)
        assert got["energy_unshifted"] == pytest.approx(
            row["energy_unshifted_mev_per_atom"], rel=0.25
        )
        assert got["force"] == pytest.approx(row["force_mev_per_angstrom"], rel=0.1)
    # level 6 energies near -3.7 eV/atom, stresses stored in bar with the pressure sign
    e6 = six.energy / np.array([len(ds.structure(i)) for i in six.ids])
    assert np.mean(e6) == pytest.approx(-3.7, abs=0.01)
    raw = pd.read_hdf(tmp_path / "data" / "Be_prec_6.h5")
    k = int(raw["index"].iloc[0])
    stress = ds.level("6").stress[ds.level("6").index(f"paper{k:011d}")]
    assert raw["stress"].iloc[0][0, 0] == pytest.approx(-stress[0] * 1.6021766208e6, rel=1e-9)


def test_float32_descriptor_stores_change_errors_by_rounding_only(standin, tmp_path):
    base = [
        "--data", str(standin), "--twojmax", "4", "--sizes", "20", "--repetitions", "1",
        "--weights", "150", "--executor", "serial", "--no-figures",
    ]  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f64 = main([*base, "--out", str(tmp_path / "f64")])
        f32 = main(
            [*base, "--out", str(tmp_path / "f32"), "--descriptor-dtype", "float32"]
            + ["--drop-descriptors"]
        )
    assert not os.path.exists(tmp_path / "f32" / "descriptors" / "be_2j4_float32.h5")
    assert os.path.exists(tmp_path / "f64" / "descriptors" / "be_2j4.h5")
    key = ["sampler", "repetition", "subset_size", "weight_ratio", "train_level"]
    a = f64.rows.sort_values(key).reset_index(drop=True)
    b = f32.rows.sort_values(key).reset_index(drop=True)
    assert len(a) == len(b) > 100
    for col in ("energy_rmse_test_truth", "force_rmse_test_truth"):
        rel = np.abs(b[col] - a[col]) / a[col]
        assert rel.max() < 1e-3  # rounding of 6e-8 per value; a wrong block would be far off
    # the rows are complete: a second run needs no descriptors and computes nothing
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = main(
            [*base, "--out", str(tmp_path / "f32"), "--descriptor-dtype", "float32"]
            + ["--drop-descriptors"]
        )
    assert again.computed == {4: 0}
    assert not os.path.exists(tmp_path / "f32" / "descriptors" / "be_2j4_float32.h5")


def test_scatter_engine_gives_the_rows_of_the_units(standin, tmp_path, monkeypatch):
    """Both engines on the same descriptors (LAMMPS, 2Jmax 4): every row's errors agree."""
    import shutil

    from pyiron_appmlip.core import subset_scatter

    routes = []
    original = subset_scatter.scatter_subset_statistics

    def recording(*args, **kwargs):
        for info in original(*args, **kwargs):
            routes.append((info.route, info.condition))
            yield info

    monkeypatch.setattr(subset_scatter, "scatter_subset_statistics", recording)

    def run(engine, out):
        argv = [
            "--data", str(standin), "--out", str(out), "--twojmax", "4", "--sizes", "20", "50",
            "80", "--repetitions", "3", "--executor", "serial", "--no-figures",
            "--engine", engine,
        ]  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return main(argv)

    units = run("units", tmp_path / "units")
    shutil.copytree(tmp_path / "units" / "descriptors", tmp_path / "scatter" / "descriptors")
    assert not routes
    scatter = run("scatter", tmp_path / "scatter")
    assert scatter.computed[4] == units.computed[4] == len(units.rows)
    key = ["sampler", "repetition", "subset_size", "weight_ratio", "train_level"]
    a = units.rows.sort_values(key).reset_index(drop=True)
    b = scatter.rows.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a[key], b[key])
    # every subset from the scatter engine: the curve (3 samplers x 3 repetitions x sizes 20,
    # 50, 80), the front (3 repetitions x 3 sizes) and the whole pool
    assert len(routes) == 3 * 3 * 3 + 3 * 3 + 1
    assert {route for route, _ in routes} == {"gram"}  # conditions ~1e6 at 2Jmax 4
    assert set(a["repetition"]) == {0, 1, 2} and len(set(a["subset_size"])) >= 3
    for col in (
        "energy_rmse_test_truth",
        "force_rmse_test_truth",
        "energy_rmse_test",
        "force_rmse_test",
        "energy_rmse_train",
        "force_rmse_train",
    ):
        np.testing.assert_allclose(b[col], a[col], rtol=1e-7, err_msg=col)
