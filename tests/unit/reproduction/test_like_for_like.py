"""Figs. 6/7 like for like: the authors' table format read back, the sizes needed and the fronts
checked against brute-force loops, and a real (tiny) run on the shipped GPAW dataset."""

import os

import numpy as np
import pandas as pd
import pytest

from pyiron_appmlip.reproduction import like_for_like as lfl

OWN, TRUTH = "(train precision)", "(6th precision)"


def _write_authors_tables(root, rng):
    """Small tables in the authors' format (errors in eV): 2 weights, levels 1-2 + 6, 3 reps."""
    cols = lambda pre: {  # noqa: E731
        f"{pre} Energy RMSE {OWN}": None,
        f"{pre} Force RMSE {OWN}": None,
        f"{pre} Energy RMSE {TRUTH}": None,
        f"{pre} Force RMSE {TRUTH}": None,
    }
    rows = []
    for w in (5.0, 150.0):
        for lv in (1, 2, 6):
            r = {"Energy Weight": w, "2Jmax": 6, "Train Precision": lv}
            for pre in ("Training", "Testing"):
                r.update({k: rng.uniform(0.001, 0.01) for k in cols(pre)})
            rows.append(r)
    os.makedirs(root / "2D_pareto")
    pd.DataFrame(rows).to_csv(root / "2D_pareto" / "results.csv")
    for n in (100, 200):
        rows = []
        for _rep in range(3):
            for w in (5.0, 150.0):
                for lv in (1, 2, 6):
                    r = {"Subsample size": n, "Energy Weight": w, "2Jmax": 6, "Train Precision": lv}
                    for pre in ("Subsampled", "Training", "Testing"):
                        r.update({k: rng.uniform(0.001, 0.01) for k in cols(pre)})
                    rows.append(r)
        os.makedirs(root / "3D_pareto" / str(n))
        pd.DataFrame(rows).to_csv(root / "3D_pareto" / str(n) / "results.csv")
        rows = []
        for method in ("Random", "Leverage", "Block Leverage"):
            for _rep in range(3):
                rows.append(
                    {
                        "Subsample size": n,
                        "Energy Weight": 150,
                        "2Jmax": 6,
                        "Train Precision": 6,
                        "Error Precision": 6,
                        "Sampling Method": method,
                        "Testing Energy RMSE": rng.uniform(0.001, 0.02),
                        "Testing Force RMSE": rng.uniform(0.1, 0.2),
                    }
                )
        os.makedirs(root / "sampling_methods_comparison" / str(n))
        pd.DataFrame(rows).to_csv(root / "sampling_methods_comparison" / str(n) / "results.csv")


def test_authors_tables_are_read_in_mev_with_repetitions_in_file_order(tmp_path):
    rng = np.random.default_rng(0)
    _write_authors_tables(tmp_path, rng)
    t = lfl.load_paper_tables(str(tmp_path))
    raw = pd.read_csv(tmp_path / "3D_pareto" / "200" / "results.csv", index_col=0)
    mine = t.pareto[t.pareto["subset_size"] == 200].reset_index(drop=True)
    assert mine["repetition"].tolist() == [k // 6 for k in range(18)]
    np.testing.assert_allclose(
        mine["force_rmse_test_truth"], 1e3 * raw[f"Testing Force RMSE {TRUTH}"], rtol=1e-15
    )
    # Table 1 mean seconds (level 1: 8.33 s) x N
    assert mine.loc[0, "dft_seconds_mean_x_n"] == pytest.approx(8.33 * 200)
    s = t.sampling
    assert sorted(s["sampler"].unique()) == ["block_leverage", "leverage", "random"]
    assert s.groupby(["sampler", "subset_size"])["repetition"].apply(list).map(tuple).unique()[
        0
    ] == (0, 1, 2)
    with pytest.raises(FileNotFoundError, match="2D_pareto"):
        lfl.load_paper_tables(str(tmp_path / "nothing"))


def test_sizes_needed_against_a_brute_force_loop():
    rng = np.random.default_rng(3)
    sizes = [10, 20, 40, 80]
    rows = pd.DataFrame(
        [
            {
                "sampler": s,
                "subset_size": n,
                "energy_rmse_test_truth": 5
                + 40 / n * (1 if s == "random" else 0.3)
                + rng.normal(scale=0.2),
                "force_rmse_test_truth": 100 + 300 / n + rng.normal(scale=1.0),
            }
            for s in lfl.CURVE_SAMPLERS
            for n in sizes
            for _ in range(7)
        ]
    )
    full = {"energy": 5.0, "force": 100.0}
    conv = lfl.StudyConventions()
    curves, needed = lfl.curve_summary(rows, full, conv)
    for s in lfl.CURVE_SAMPLERS:
        for kind, col, tol in (
            ("energy", "energy_rmse_test_truth", 1.0),
            ("force", "force_rmse_test_truth", 10.0),
        ):
            med = [
                np.median(rows[(rows.sampler == s) & (rows.subset_size == n)][col]) for n in sizes
            ]
            expect = None
            for k in range(len(sizes)):
                if all(m <= full[kind] + tol for m in med[k:]):
                    expect = sizes[k]
                    break
            got = needed[needed.sampler == s].iloc[0][f"{kind}_median"]
            assert (got is None or np.isnan(got)) if expect is None else got == expect
    lev = needed[needed.sampler == "leverage"].iloc[0]
    rnd = needed[needed.sampler == "random"].iloc[0]
    assert lev["energy_median_vs_random"] == pytest.approx(
        rnd["energy_median"] / lev["energy_median"]
    )
    assert curves["n_repetitions"].unique().tolist() == [7]


def test_front_of_the_medians_against_brute_force():
    rng = np.random.default_rng(4)
    rows = pd.DataFrame(
        [
            {
                "twojmax": 6,
                "subset_size": n,
                "weight_ratio": w,
                "train_level": lv,
                "repetition": r,
                "energy_rmse_test_truth": rng.uniform(1, 10),
                "force_rmse_test_truth": rng.uniform(50, 100),
                "dft_seconds_mean_x_n": n * float(lv),
                "dft_seconds": n * float(lv) * rng.uniform(0.9, 1.1),
            }
            for n in (10, 20)
            for w in (5.0, 150.0, 7.0)  # 7 is not a front weight: left out
            for lv in ("1", "2", "3")
            for r in range(5)
        ]
    )
    fronts = lfl.front_summary(rows, lfl.StudyConventions())
    med = rows[rows.weight_ratio != 7.0].groupby(["subset_size", "weight_ratio", "train_level"])
    med = med[["energy_rmse_test_truth", "force_rmse_test_truth", "dft_seconds_mean_x_n"]].median()
    v = med[["dft_seconds_mean_x_n", "energy_rmse_test_truth", "force_rmse_test_truth"]].to_numpy()
    keep = [
        not any(np.all(v[j] <= v[i]) and np.any(v[j] < v[i]) for j in range(len(v)))
        for i in range(len(v))
    ]
    expect = med[keep].reset_index()["train_level"].value_counts().to_dict()
    got = fronts[("dft_seconds_mean_x_n", "standard")]
    assert got["counts"] == expect and got["n_settings"] == 12
    strict = fronts[("dft_seconds_mean_x_n", "strict")]
    assert sum(strict["counts"].values()) >= sum(got["counts"].values())


def test_conventions_reject_bad_values():
    with pytest.raises(ValueError, match="repetitions must be a positive integer"):
        lfl.StudyConventions(repetitions=0)
    with pytest.raises(ValueError, match="draws must be one of"):
        lfl.StudyConventions(draws="fresh")
    with pytest.raises(ValueError, match="test_fraction must be None"):
        lfl.StudyConventions(test_fraction=1.0)
    with pytest.raises(ValueError, match="curve_weight must be one of weights"):
        lfl.StudyConventions(curve_weight=12.0)


def test_a_real_run_on_the_shipped_dataset_is_overdetermined_and_reported(tmp_path, monkeypatch):
    """LAMMPS descriptors at 2Jmax 2 and the sweep with the authors' conventions (3 repetitions)."""
    from pyiron_appmlip.reproduction.be_dataset import load_be_dataset

    seen = []
    real = lfl.energy_error_concentration

    def recorded(errors, groups=None, **kwargs):
        seen.append(list(groups))
        return real(errors, groups, **kwargs)

    monkeypatch.setattr(lfl.measuring, "energy_error_concentration", recorded)
    dataset = load_be_dataset()
    conv = lfl.StudyConventions(repetitions=3, front_repetitions=2, n_sizes=4)
    r = lfl.measure_dataset(dataset, 2, conv, name="GPAW small")
    # the shipped dataset has no source groups: outliers are named by their generator
    assert seen and set(seen[0]) <= set(dataset.generator) and "" not in seen[0]
    rows = r.rows
    # every fit has at least as many equations as coefficients (no underdetermined fit)
    assert r.info["min_rank"] == r.info["n_coefficients"]
    assert min(r.info["sizes"]) >= 1 and len(r.info["sizes"]) <= 4
    assert set(rows["sampler"]) == {"leverage", "all"}
    lev = rows[rows["sampler"] == "leverage"]
    per_setting = lev.groupby(["subset_size", "weight_ratio", "train_level"]).size()
    assert per_setting.unique().tolist() == [2]  # front_repetitions, curve rows reused once
    assert len(per_setting) == len(r.info["sizes"]) * 6 * 4
    assert r.curves["n_repetitions"].unique().tolist() == [3]
    assert set(r.needed["sampler"]) == set(lfl.CURVE_SAMPLERS)
    for (cost, rule), f in r.fronts.items():
        assert cost in lfl.COSTS and rule in lfl.DOMINANCE and f["levels"]
    # the whole pool's test energy errors evaluated configuration by configuration from the
    # blocks give the sweep's RMSE (computed from the test statistics)
    conc = r.info["energy_outliers"]
    assert conc["rmse"] == pytest.approx(r.full["energy"], rel=1e-8)
    ws = r.weight_sweep
    assert len(ws) == len(lfl.SWEEP_WEIGHTS) * 4 and set(ws["sampler"]) == {"all"}
    assert (ws["subset_size"] == r.info["pool"]).all()
    text = lfl.render_report([r], conv)
    assert "## Fig. 4" in text and "## Fig. 6" in text and "## Fig. 7" in text
    assert "GPAW small" in text


def test_paper_statements_are_computed_from_the_tables(tmp_path):
    rng = np.random.default_rng(1)
    _write_authors_tables(tmp_path, rng)
    tables = lfl.load_paper_tables(str(tmp_path))
    paper = lfl.paper_source(tables)
    statements = lfl.paper_statements(paper)
    assert len(statements) == 8
    assert {d["follows"] for d in statements} <= {"yes", "no", "partly"}
    # make level 2's energy error fall monotonically with the weight: "rises" must not follow
    w = tables.weights
    w.loc[w["train_level"] == "2", "energy_rmse_test_truth"] = [9.0, 1.0]
    first = lfl.paper_statements(lfl.paper_source(tables))[0]
    assert first["follows"] == "no" and "level 2: 9.00 at 5" in first["tables"]
    w.loc[w["train_level"] == "2", "energy_rmse_test_truth"] = [1.0, 9.0]
    assert lfl.paper_statements(lfl.paper_source(tables))[0]["follows"] == "yes"


def test_a_cached_result_is_reused_only_for_an_equal_key(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"n": len(calls)}

    key = {"source": "abc", "twojmax": 4, "code": lfl.code_digest()}
    assert lfl._cached(str(tmp_path), key, compute) == {"n": 1}
    assert lfl._cached(str(tmp_path), dict(key), compute) == {"n": 1}  # reused
    assert lfl._cached(str(tmp_path), {**key, "code": "edited"}, compute) == {"n": 2}
    assert lfl._cached(str(tmp_path), {**key, "twojmax": 6}, compute) == {"n": 3}
    for p in tmp_path.glob("*.pkl"):  # a damaged file is recomputed, not used
        p.write_bytes(b"garbage")
    assert lfl._cached(str(tmp_path), key, compute) == {"n": 4}
    assert len(lfl.code_digest()) == 64 and lfl.code_digest() == lfl.code_digest()


def test_editing_a_rendering_module_keeps_the_digest_and_editing_the_code_changes_it(tmp_path):
    import shutil

    import pyiron_appmlip

    root = tmp_path / "pkg"
    shutil.copytree(
        os.path.dirname(pyiron_appmlip.__file__),
        root,
        ignore=shutil.ignore_patterns("__pycache__", "*.h5", "*.png", "*.md", "*.json"),
    )
    first = lfl.code_digest(str(root))
    assert first == lfl.code_digest()  # the copy digests like the package itself
    for module in lfl.RENDERING_MODULES:
        path = root / module
        path.write_text((path.read_text() if path.exists() else "") + "\n# layout edited\n")
        assert lfl.code_digest(str(root)) == first, module
    fit = root / "core" / "fit.py"
    fit.write_text(fit.read_text() + "\n# fit edited\n")
    edited = lfl.code_digest(str(root))
    assert edited != first
    (root / "core" / "new_module.py").write_text("X = 1\n")
    assert lfl.code_digest(str(root)) not in (first, edited)


def test_an_empty_training_pool_is_named():
    from pyiron_appmlip.reproduction.be_dataset import load_be_dataset

    ds = load_be_dataset()
    block = {ds.ids[0]: np.zeros((4, 20))}
    with pytest.raises(ValueError, match="the training pool is empty"):
        # level 5 labels the test subset only: no training configuration has it
        lfl.measure_dataset(ds, 4, train_levels=["1", "5"], truth_level="5", blocks=block)


def test_2jmax_per_source_and_fewer_repetitions_at_a_dear_2jmax(tmp_path, monkeypatch):
    """W-Be at its own 2Jmax values (``twojmax_of``); ``repetitions_at`` lowers the repetitions at one 2Jmax only,
    and a result's key holds the conventions it was computed with."""
    import json

    from ase.build import bulk

    (tmp_path / "wbe" / "EOS_HCP").mkdir(parents=True)
    for k, a in enumerate((2.2, 2.3)):  # two FitSNAP JSON files, as in FitSNAP's examples
        cell = bulk("Be", "hcp", a=a, c=3.6)
        config = {
            "NumAtoms": len(cell),
            "Lattice": np.asarray(cell.cell).tolist(),
            "Energy": -7.0 + k,
            "Stress": np.eye(3).tolist(),
            "AtomTypes": cell.get_chemical_symbols(),
            "Positions": cell.positions.tolist(),
            "Forces": np.zeros((len(cell), 3)).tolist(),
        }
        text = json.dumps({"Dataset": {"EnergyStyle": "electronvolt", "Data": [config]}})
        (tmp_path / "wbe" / "EOS_HCP" / f"c{k}.json").write_text("# test\n" + text)
    calls = []

    def recorded(dataset, twojmax, conv, name="", **kwargs):
        calls.append((name, twojmax, conv.repetitions, conv.front_repetitions))
        return lfl.SourceResult(name, "", twojmax, None, None, {}, {})

    monkeypatch.setattr(lfl.sources, "measure_dataset", recorded)
    conv = lfl.StudyConventions(repetitions=5, front_repetitions=4)
    results = lfl.collect_results(
        None,
        ["small"],
        str(tmp_path / "wbe"),
        [2, 8],
        conv,
        twojmax_of={"wbe": [4, 8]},
        repetitions_at={8: 2},
    )
    assert calls == [
        ("GPAW small, 2Jmax 2", 2, 5, 4),
        ("GPAW small, 2Jmax 8", 8, 2, 2),
        ("W-Be (Be part), 2Jmax 4", 4, 5, 4),
        ("W-Be (Be part), 2Jmax 8", 8, 2, 2),
    ]
    assert [r.twojmax for r in results] == [2, 8, 4, 8]
    for bad in ({8: 0}, {"8": 2}, {8: 2.5}):
        with pytest.raises(ValueError, match="repetitions_at must map 2Jmax values"):
            lfl.collect_results(None, [], None, [4], conv, repetitions_at=bad)
    with pytest.raises(ValueError, match=r"twojmax_of names sources \['large'\]"):
        lfl.collect_results(None, ["small"], None, [4], conv, twojmax_of={"large": [8]})
    assert lfl.parse_twojmax_of(["wbe=4,6,8", "large=8"]) == {"wbe": [4, 6, 8], "large": [8]}
    with pytest.raises(ValueError, match="SOURCE=2J,2J pairs"):
        lfl.parse_twojmax_of(["wbe:4"])
    assert lfl.parse_repetitions_at(["8=10", "10=3"]) == {8: 10, 10: 3}
    with pytest.raises(ValueError, match="2JMAX=N pairs"):
        lfl.parse_repetitions_at(["8:10"])


def test_energy_error_concentration_against_a_loop():
    rng = np.random.default_rng(3)
    errors = rng.normal(0.0, 5.0, 200)
    errors[[3, 70]] = [400.0, -900.0]
    groups = ["EOS"] * 100 + ["MD"] * 100
    got = lfl.energy_error_concentration(errors, groups)
    med = np.median(np.abs(errors))
    out = [k for k in range(200) if abs(errors[k]) > lfl.OUTLIER_FACTOR * med]
    rest = [errors[k] for k in range(200) if k not in out]
    assert got["count"] == len(out) >= 2
    assert got["share"] == pytest.approx(sum(errors[k] ** 2 for k in out) / sum(errors**2))
    assert got["rmse_without"] == pytest.approx(np.sqrt(np.mean(np.square(rest))))
    assert got["rmse"] == pytest.approx(np.sqrt(np.mean(errors**2)))
    assert got["groups"]["EOS"] == sum(1 for k in out if k < 100)
    assert lfl.energy_error_concentration(np.ones(5))["count"] == 0
