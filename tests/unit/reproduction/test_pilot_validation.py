"""The pilot validation on a small synthetic dataset: its numbers against independent
computations (the recorded times summed by a loop, numpy medians and percentiles of the rows,
brute-force scans for the truly best setting per budget), its figure, its W-Be sentence and its
settings' errors.

The descriptor blocks here are fake (random numbers, no LAMMPS): the command's pieces are under
test, not the descriptors, the fits or the error model (tested in their own modules)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from ase import Atoms

from pyiron_appmlip.core.error_model import fit_error_model
from pyiron_appmlip.datasets.store import LabelledDataset, LevelData
from pyiron_appmlip.reproduction import pilot_validation as pv
from pyiron_appmlip.reproduction import pilot_validation_measure as pvm
from pyiron_appmlip.structures.conversion import configuration_id

COLUMNS = {2: 6, 4: 9}  # fake descriptor columns per "2Jmax"
SECONDS = {"1": 1.0, "2": 3.0, "3": 20.0}  # DFT seconds per atom of each level
NOISE = {"1": 0.2, "2": 0.05, "3": 0.0}  # eV per atom of the level's error against the truth


def _level(name, ids, energies, forces, n_atoms, rng):
    k = len(ids)
    wall = SECONDS[name] * np.asarray(n_atoms, dtype=float)
    return LevelData(
        name=name,
        level={"kspacing": None, "encut": 300.0, "sigma": 0.2, "xc": "PBE"},
        engine="gpaw",
        engine_version="test",
        ids=list(ids),
        energy=np.asarray(energies, dtype=float),
        energy_zero=np.asarray(energies, dtype=float),
        forces=[np.asarray(f) for f in forces],
        stress=np.zeros((k, 6)),
        wall_time=wall,
        cpu_time=wall * rng.uniform(0.5, 0.9, size=k),  # the cost: recorded for every one
        n_kpoints=np.ones(k, dtype=np.int64),
        n_scf_iterations=np.full(k, 10),
        kmesh=np.ones((k, 3), dtype=np.int64),
        job_id=np.full(k, 1),
        child_id=np.arange(k) + 2,
    )


@pytest.fixture(scope="module")
def synthetic():
    """64 configurations of 1-3 atoms with fake blocks at two "2Jmax" values; levels 1 and 2
    label every configuration, the reference level 3 only the test set (as in the GPAW data)."""
    rng = np.random.default_rng(11)
    structures = []
    for k in range(64):
        n = 1 + k % 3
        structures.append(
            Atoms("Be" * n, positions=rng.uniform(0, 4, (n, 3)), cell=[5, 5, 5], pbc=True)
        )
    ids = [configuration_id(a) for a in structures]
    n_atoms = [len(a) for a in structures]
    blocks = {
        t: {cid: rng.normal(size=(1 + 3 * n, p)) for cid, n in zip(ids, n_atoms, strict=True)}
        for t, p in COLUMNS.items()
    }
    beta = rng.normal(size=COLUMNS[4])
    subset = ["test" if k % 4 == 0 else "train" for k in range(len(ids))]
    levels = {}
    for name in ("1", "2", "3"):
        chosen = [k for k in range(len(ids)) if name != "3" or subset[k] == "test"]
        energies, forces = [], []
        for k in chosen:
            b, n = blocks[4][ids[k]], n_atoms[k]
            energies.append(-3.0 * n + b[0] @ beta + NOISE[name] * n * rng.normal())
            forces.append((b[1:] @ beta).reshape(-1, 3) + NOISE[name] * rng.normal(size=(n, 3)))
        levels[name] = _level(
            name, [ids[k] for k in chosen], energies, forces, [n_atoms[k] for k in chosen], rng
        )
    ds = LabelledDataset(
        ids=ids,
        structures=structures,
        subset=subset,
        generator=["crystal"] * len(ids),
        levels=levels,
        metadata={},
    )
    return ds, blocks


SETTINGS = pvm.ValidationSettings(
    twojmax=(2, 4),
    weights=(10.0, 1.0),
    leverage_weight=10.0,
    size_fractions=(0.5, 0.75, 1.0),
    pilot_repetitions=4,
    truth_repetitions=3,
    n_budgets=3,
)


@pytest.fixture(scope="module")
def measured(synthetic):
    ds, blocks = synthetic
    return pvm.measure_source(
        ds, SETTINGS, name="synthetic", n_train=12, n_test=4, blocks_by_twojmax=blocks
    )


@pytest.fixture(scope="module")
def evaluated(measured):
    return pv.evaluate(measured, SETTINGS)


def test_pilot_cost_is_the_sum_of_its_recorded_calculations(measured, synthetic):
    ds = synthetic[0]
    p = measured.pilot
    total, count = 0.0, 0
    for lv in ("1", "2"):
        data = ds.level(lv)
        for cid in p.train_ids:
            total += data.cpu_time[data.ids.index(cid)]
            count += 1
    data = ds.level("3")
    for cid in p.test_ids:
        total += data.cpu_time[data.ids.index(cid)]
        count += 1
    assert len(p.seconds) == count == 2 * 12 + 4
    assert p.total_seconds == pytest.approx(total, rel=1e-12)
    # the CPU time is the cost where it is recorded for every calculation, not the wall time
    wall = sum(ds.level(lv).wall_time[ds.level(lv).ids.index(c)] for c, lv in p.seconds)
    assert p.total_seconds < 0.95 * wall


def test_pilot_of_unrecorded_data_counts_calculations(synthetic, measured):
    ds = synthetic[0]
    p = measured.pilot
    q = pvm.recorded_pilot(ds, p.train_ids, p.test_ids, ["1", "2"], "3", unit_cost=3600.0)
    assert q.total_seconds == pytest.approx(3600.0 * (2 * len(p.train_ids) + len(p.test_ids)))


def test_pilot_is_the_first_of_the_leverage_order_and_test_set_is_held_out(measured, synthetic):
    ds = synthetic[0]
    p = measured.pilot
    assert list(p.train_ids) == measured.pool_ids[:12]
    assert sorted(measured.pool_ids) == sorted(ds.train_ids)
    assert set(p.test_ids) <= set(ds.test_ids) and len(set(p.test_ids)) == 4
    # the pilot's rows used only the pilot: its subsets lie in the pilot and it has 4 tests
    rows = measured.pilot_rows
    assert set(rows["n_test"]) == {4}
    assert rows["subset_size"].max() == 12
    assert set(measured.truth_rows["n_test"]) == {len(ds.test_ids)}
    assert measured.truth_rows["subset_size"].max() == len(ds.train_ids)


def test_truth_medians_are_numpy_medians_and_percentiles(measured):
    med = pv.truth_medians(measured.truth_rows)
    rows = measured.truth_rows
    for _, r in med.sample(5, random_state=0).iterrows():
        sel = rows[
            (rows["train_level"] == r["train_level"])
            & np.isclose(rows["weight_ratio"], r["weight_ratio"])
            & (rows["twojmax"] == r["twojmax"])
            & (rows["subset_size"] == r["subset_size"])
        ]
        for q, col in (("energy", "energy_rmse_test_truth"), ("force", "force_rmse_test_truth")):
            v = sel[col].to_numpy()
            assert r[f"{q}_median"] == pytest.approx(np.median(v))
            assert r[f"{q}_low"] == pytest.approx(np.percentile(v, 16))
            assert r[f"{q}_high"] == pytest.approx(np.percentile(v, 84))
        assert r["n_repetitions"] == len(sel) == SETTINGS.truth_repetitions


def test_whole_pool_comparison_and_its_summary_against_numpy(evaluated, measured):
    t = evaluated.comparison
    pool = measured.info["pool"]
    assert len(t) == 2 * 2 * 2  # levels x weights x 2Jmax
    rows = measured.truth_rows[measured.truth_rows["subset_size"] == pool]
    # independent error-model fits of the same pilot rows, one per 2Jmax
    models = {}
    for tj, pr in measured.pilot_rows.groupby("twojmax"):
        keys = [
            (str(a), float(b), int(c))
            for a, b, c in pr[["train_level", "weight_ratio", "twojmax"]].to_numpy()
        ]
        models[tj] = fit_error_model(
            keys,
            pr["subset_size"].to_numpy(float),
            {"energy": pr["energy_rmse_test_truth"], "force": pr["force_rmse_test_truth"]},
            train={"energy": pr["energy_rmse_train"], "force": pr["force_rmse_train"]},
            exponent_range=(0.25, 1.2),
            size_offset="fit",
        )
        assert 0.25 <= min(models[tj].exponents.values())
        assert max(models[tj].exponents.values()) <= 1.2
        assert evaluated.offsets[tj] == models[tj].offsets
    assert (measured.pilot_rows["rank"] == measured.pilot_rows["n_descriptors"] + 1).all()
    for _, r in t.iterrows():
        key = (r["train_level"], r["weight_ratio"], r["twojmax"])
        sel = rows[
            (rows["train_level"] == key[0])
            & np.isclose(rows["weight_ratio"], key[1])
            & (rows["twojmax"] == key[2])
        ]
        for q in ("energy", "force"):
            true = np.median(sel[f"{q}_rmse_test_truth"])
            pred = models[key[2]].predict(key, [pool], band=False)[q]["median"][0]
            assert r[f"{q}_true"] == pytest.approx(true)
            assert r[f"{q}_predicted"] == pytest.approx(pred)
            assert r[f"{q}_relative_error"] == pytest.approx(pred / true - 1.0)
    own = measured.pool_on_pilot_test
    assert set(own["n_test"]) == {4} and set(own["subset_size"]) == {pool}
    for _, r in t.iterrows():
        sel = own[
            (own["train_level"] == r["train_level"])
            & np.isclose(own["weight_ratio"], r["weight_ratio"])
            & (own["twojmax"] == r["twojmax"])
        ]
        assert len(sel) == 1
        assert r["force_true_pilot_test"] == pytest.approx(sel["force_rmse_test_truth"].iloc[0])
        rel = r["force_predicted"] / sel["force_rmse_test_truth"].iloc[0] - 1
        assert r["force_relative_error_pilot_test"] == pytest.approx(rel)
    s = evaluated.summary
    e = np.abs(t["energy_predicted"] / t["energy_true"] - 1)
    f = np.abs(t["force_predicted"] / t["force_true"] - 1)
    assert s["energy"]["median"] == pytest.approx(np.median(e))
    assert s["force"]["max"] == pytest.approx(np.max(f))
    assert s["both"]["median"] == pytest.approx(np.median(np.r_[e, f]))
    assert s["both"]["within"] == pytest.approx(np.mean(np.r_[e, f] <= 0.1))
    # the report's fit is the last of the compared ones; the first is the free exponent
    names = list(pv.CURVE_VARIANTS)
    assert evaluated.variants[names[-1]]["summary"] == s
    assert pv.CURVE_VARIANTS[names[-1]] == pv.MODEL_OPTIONS and pv.CURVE_VARIANTS[names[0]] == {}
    # the limit of the pilot's test set: the pool's own fits on it against the whole test set
    limit = np.abs(t["force_true_pilot_test"] / t["force_true"] - 1)
    assert s["force_test_set"]["median"] == pytest.approx(np.median(limit))


def test_truth_model_takes_the_largest_measured_size_not_above_n(measured):
    med = pv.truth_medians(measured.truth_rows)
    truth = pv.TruthModel(med)
    key = ("2", 10.0, 4)
    g = med[
        (med["train_level"] == "2") & np.isclose(med["weight_ratio"], 10) & (med["twojmax"] == 4)
    ]
    sizes = sorted(g["subset_size"])
    for n in range(sizes[0], sizes[-1] + 3):
        below = max(s for s in sizes if s <= n)
        want = g[g["subset_size"] == below]["force_median"].iloc[0]
        assert truth.predict(key, [n])["force"]["median"][0] == want
    with pytest.raises(ValueError, match="no measured size"):
        truth.predict(key, [sizes[0] - 1])
    with pytest.raises(ValueError, match="no measured rows"):
        truth.predict(("9", 1.0, 4), [sizes[0]])


def test_budgets_the_pilot_share_and_the_truly_best_setting_by_brute_force(evaluated, measured):
    b = evaluated.budgets
    p = measured.pilot
    spent = p.total_seconds / 3600.0
    assert len(b) == SETTINGS.n_budgets * len(SETTINGS.preferences)
    assert np.allclose(b["pilot_share"], spent / b["budget"])
    assert np.allclose(b["budget"] - spent, np.repeat(measured.available_seconds, 3) / 3600.0)
    truth = pv.TruthModel(pv.truth_medians(measured.truth_rows))
    keys = sorted({k for k in pv.setting_keys(measured.truth_rows)})
    pilot_cost = {
        lv: np.mean([p.seconds[(i, lv)] for i in p.train_ids]) for lv in measured.train_levels
    }
    pool = measured.info["pool"]
    for _, r in b.iterrows():
        left = (r["budget"] - spent) * 3600.0
        # the plan never exceeds what is left of its budget (at its own cost model)
        key, n = r["planned_key"], r["planned_size"]
        assert n * pilot_cost[key[0]] <= left * (1 + 1e-9)
        # brute force: every setting at the largest size the pool's cost affords
        best = {}
        for k in keys:
            m = min(pool, int(np.floor(left / measured.pool_cost[k[0]] + 1e-9)))
            if m >= measured.info["min_size"]:
                best[k] = {q: truth.predict(k, [m])[q]["median"][0] for q in ("energy", "force")}
        if r["preference"] == 0.0:
            assert r["force_best_true"] == pytest.approx(min(v["force"] for v in best.values()))
        if r["preference"] == 1.0:
            assert r["energy_best_true"] == pytest.approx(min(v["energy"] for v in best.values()))
        assert r["energy_planned_true"] == pytest.approx(
            truth.predict(key, [n])["energy"]["median"][0]
        )
        excess = r["force_planned_true"] - r["force_best_true"]
        assert r["force_excess"] == pytest.approx(excess)
        ok = r["energy_excess"] <= 0.5 and r["force_excess"] <= 5.0
        assert bool(r["within_tolerance"]) == ok
        ok = all(r[f"{q}_planned_true"] <= 1.1 * r[f"{q}_best_true"] for q in ("energy", "force"))
        assert bool(r["within_relative"]) == ok


def _results(evaluated, wbe=False):
    return pv.ValidationResults(settings=SETTINGS, sources=[evaluated], wbe_given=wbe)


def test_report_figure_is_written_and_referenced_and_numbers_match(evaluated, tmp_path):
    out = str(tmp_path / "report.md")
    text = pv.write_report(_results(evaluated), out, command="python -m x")
    name = pv.figure_name("report", "synthetic")
    assert os.path.getsize(tmp_path / name) > 1000
    assert f"]({name})" in text
    assert open(out).read() == text
    s = evaluated.summary
    assert (
        f"{100 * s['energy']['median']:.0f} %" in text
        or f"{100 * s['energy']['median']:.1f} %" in text
    )
    t = evaluated.comparison
    first = t.iloc[0]
    assert f"| {first['energy_predicted']:.3g} | {first['energy_true']:.3g} |" in text
    assert "python -m x" in text


def test_command_without_wbe_leaves_its_section_out_with_a_sentence(evaluated, tmp_path):
    calls = {}

    def fake_collect(settings, wbe=None, cache=None, progress=None):
        calls["wbe"] = wbe
        return _results(evaluated, wbe=bool(wbe))

    out = str(tmp_path / "r.md")
    assert pv.main(["--out", out], collect=fake_collect) == 0
    text = open(out).read()
    assert calls["wbe"] is None
    assert "W-Be Be data were not given" in text and "## W-Be" not in text
    out2 = str(tmp_path / "r2.md")
    assert pv.main(["--out", out2, "--wbe", "/some/path"], collect=fake_collect) == 0
    text2 = open(out2).read()
    assert "were not given" not in text2 and "--wbe PATH" in text2 and "/some/path" not in text2


def test_sizes_and_budgets_against_hand_computation():
    assert pvm.affordable_size(100.0, 7.0, 50) == 14
    assert pvm.affordable_size(1e6, 7.0, 50) == 50
    # from the whole pool at the cheapest level, or an eighth of it at the dearest if less
    got = pvm.default_available({"1": 2.0, "2": 8.0}, 10, 3)
    assert got == pytest.approx([10.0, np.sqrt(10.0 * 80.0), 80.0])
    got = pvm.default_available({"1": 3.0, "2": 4.0}, 10, 2)
    assert got == pytest.approx([5.0, 40.0])
    assert pvm.default_available({"1": 1.0}, 80, 4) == pytest.approx([10.0, 20.0, 40.0, 80.0])
    sizes = pvm.truth_sizes([20.0, 80.0], [{"1": 2.0, "2": 8.0}], pool=10, min_size=2)
    assert sizes == [2, 9, 10]  # 20 s: 10 at level 1 (and 9), 2 at level 2 (and 1 < min)
    rows = [4, 4, 7, 7, 10]
    assert pvm.pilot_sizes(5, (0.4, 0.6, 1.0), rows, 10) == [3, 5]  # 2 configs: 8 < 10 rows
    with pytest.raises(ValueError, match="fewer equations"):
        pvm.pilot_sizes(5, (1.0,), rows, 100)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"twojmax": (3,)}, "twojmax must be even"),
        ({"weights": ()}, "weights must be positive"),
        ({"weights": (-1.0,)}, "weights must be positive"),
        ({"leverage_weight": 0}, "leverage_weight must be a positive"),
        ({"pilot_train": 0}, "pilot_train must be a positive integer"),
        ({"pilot_repetitions": 1.5}, "pilot_repetitions must be a positive integer"),
        ({"size_fractions": (0.0,)}, r"size_fractions must be a number in \(0, 1\]"),
        ({"pilot_sampler": "fps"}, "pilot_sampler must be 'random' or 'leverage'"),
        ({"preferences": (1.5,)}, r"preferences must be numbers in \[0, 1\]"),
        ({"wbe_fraction": 2.0}, r"wbe_fraction must be a number in \(0, 1\]"),
        ({"wbe_configurations": -1}, "wbe_configurations must be 0"),
        ({"pilot_test_selection": "fps"}, "pilot_test_selection must be one of"),
        ({"test_mixture": 0.0}, r"test_mixture must be a number in \(0, 1\]"),
    ],
)
def test_settings_reject_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        pvm.ValidationSettings(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_train": 0}, r"n_train must be an integer in \[1, 47\]"),
        ({"n_train": 48}, r"n_train must be an integer in \[1, 47\]"),
        ({"n_test": 17}, r"n_test must be an integer in \[1, 16\]"),
        ({"truth_level": "9"}, "truth_level must be one of"),
    ],
)
def test_measure_source_names_bad_arguments(synthetic, kwargs, message):
    ds, blocks = synthetic
    args = {"n_train": 12, "n_test": 4, **kwargs}
    with pytest.raises(ValueError, match=message):
        pvm.measure_source(ds, SETTINGS, name="s", blocks_by_twojmax=blocks, **args)


def test_code_digest_leaves_out_the_summaries_and_report(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "reproduction").mkdir(parents=True)
    (pkg / "a.py").write_text("x = 1\n")
    (pkg / "reproduction" / "pilot_validation.py").write_text("y = 1\n")
    first = pvm.code_digest(str(pkg))
    (pkg / "reproduction" / "pilot_validation.py").write_text("y = 2\n")
    assert pvm.code_digest(str(pkg)) == first
    (pkg / "a.py").write_text("x = 2\n")
    assert pvm.code_digest(str(pkg)) != first


def test_restricted_labels_hold_only_the_pilot(synthetic):
    ds = synthetic[0]
    lab = ds.labels("1")
    ids = ds.train_ids[:3]
    sub = pvm.restrict_labels(lab, ids)
    assert sub.ids == set(ids)
    assert all(sub.energies[i] == lab.energies[i] for i in ids)
    assert set(sub.wall_times) == set(ids)


def test_full_rank_rows_drop_every_size_with_a_rank_deficient_fit():
    rows = pd.DataFrame(
        {
            "twojmax": [4, 4, 4, 4, 6, 6, 6, 6],
            "subset_size": [5, 5, 9, 9, 5, 5, 9, 9],
            "n_descriptors": [3, 3, 3, 3, 7, 7, 7, 7],
            "rank": [4, 3, 4, 4, 8, 8, 7, 8],
        }
    )
    kept = pv.full_rank_rows(rows)
    want = []  # brute force: a (2Jmax, size) pair stays if all its fits have rank p + 1
    for k, r in rows.iterrows():
        same = rows[(rows["twojmax"] == r["twojmax"]) & (rows["subset_size"] == r["subset_size"])]
        if (same["rank"] == same["n_descriptors"] + 1).all():
            want.append(k)
    assert kept.equals(rows.loc[want].reset_index(drop=True))
    assert list(zip(kept["twojmax"], kept["subset_size"], strict=True)) == [
        (4, 9),
        (4, 9),
        (6, 5),
        (6, 5),
    ]


def test_grouped_model_answers_like_the_model_of_its_2jmax(measured):
    model, seconds = pv.fit_pilot_model(measured.pilot_rows)
    assert seconds >= 0 and set(model.models) == {2, 4}
    plain, _ = pv.fit_pilot_model(measured.pilot_rows, variant="as-planned")
    key = ("2", 10.0, 4)
    assert model.predict(key, [30])["energy"]["median"][0] == pytest.approx(
        model.models[4].predict(key, [30])["energy"]["median"][0]
    )
    assert set(plain.settings) == set(pv.setting_keys(measured.pilot_rows))
    with pytest.raises(ValueError, match="variant must be one of"):
        pv.fit_pilot_model(measured.pilot_rows, variant="other")
    bad = measured.pilot_rows.assign(rank=measured.pilot_rows["rank"] - 1)
    with pytest.raises(ValueError, match="no subset size with full-rank fits at 2Jmax"):
        pv.fit_pilot_model(bad)
    with pytest.raises(ValueError, match="no pilot rows at 2Jmax 8"):
        model.predict(("2", 10.0, 8), [30])


def test_pilot_cost_floor_against_the_pilots_recorded_calculations(evaluated, measured):
    floor = pv.pilot_cost_floor(evaluated)
    p = measured.pilot
    ref = p.reference_level
    test = sum(p.seconds[(i, ref)] for i in p.test_ids) / 3600.0
    assert floor["test"] == pytest.approx(test)
    assert floor["test"] + floor["training"] == pytest.approx(p.total_seconds / 3600.0)
    means = {lv: np.mean([p.seconds[(i, lv)] for i in p.train_ids]) / 3600.0 for lv in p.levels}
    cheapest = min(means, key=means.get)
    assert floor["cheapest"] == cheapest
    rows = measured.pilot_rows
    top = rows[rows["twojmax"] == rows["twojmax"].max()]
    full = top.groupby("subset_size")["rank"].min() >= top["n_descriptors"].iloc[0] + 1
    assert floor["full_rank"] == int(full[full].index.min())
    minimum = floor["full_rank"] * means[cheapest] + test / len(p.test_ids)
    assert floor["minimum"] == pytest.approx(minimum)
    assert floor["minimum_budget"] == pytest.approx(minimum / pv.TARGET_PILOT_SHARE)


def test_leverage_test_set_is_the_draw_by_the_candidates_leverage(measured, synthetic):
    """The leverage test set redone by hand: each test configuration's block leverage with
    respect to the weighted design of pool and test set, the seeded draw with replacement, weights
    k_i / (n pi_i); the pilot's rows and the pool's fits on it use those weights."""
    from pyiron_appmlip.core.leverage import leverage_scores

    ds, blocks = synthetic
    part = measured.test_sets["leverage"]
    design = part["pilot"]
    pool = ds.common_ids(["1", "2"], ds.train_ids)
    test = ds.common_ids(["3"], ds.test_ids)
    b = blocks[min(blocks)]
    _, blev = leverage_scores([b[i] for i in pool + test], SETTINGS.leverage_weight, 1.0)
    g = blev[len(pool) :]
    alpha = SETTINGS.test_mixture
    pi = alpha / len(test) + (1 - alpha) * g / g.sum()
    rng = np.random.default_rng(np.random.SeedSequence([SETTINGS.seed, 3]))
    draws = rng.choice(len(test), size=4, replace=True, p=pi / pi.sum())
    k, counts = np.unique(draws, return_counts=True)
    want = dict(zip((test[j] for j in k), counts / (4 * pi[k]), strict=True))
    assert sorted(design.test_ids) == sorted(want)
    for cid, w in zip(design.test_ids, design.test_weights, strict=True):
        assert w == pytest.approx(want[cid], rel=1e-9)
    assert design.test_selection == "leverage"
    assert set(part["pilot_rows"]["n_test"]) == {len(want)}
    assert set(part["pool_on_pilot_test"]["n_test"]) == {len(want)}
    # the uniform test set is the report's pilot here, its rows the measurement's own
    assert measured.test_sets["random"]["pilot"] == measured.pilot
    assert measured.test_sets["random"]["pilot_rows"] is measured.pilot_rows


def test_report_compares_the_two_test_sets(evaluated, tmp_path):
    assert set(evaluated.test_sets) == {"random", "leverage"}
    for v in evaluated.test_sets.values():
        assert v["draws"] == 4 and 1 <= v["distinct"] <= 4
        assert "energy_test_set" in v["summary"]
    assert evaluated.test_sets["random"]["weights"] is None
    text = pv.render_report(_results(evaluated), str(tmp_path / "r.md"))
    assert "### Test sets compared" in text
    row = next(line for line in text.splitlines() if line.startswith("| leverage-weighted |"))
    s = evaluated.test_sets["leverage"]["summary"]
    assert f"{100 * s['force']['median']:.1f} %" in row


def test_ideal_pilot_rows_are_pool_samples_at_the_pilots_sizes_and_their_fit_is_reported(
    evaluated, measured, synthetic, tmp_path
):
    """The ideal pilot: leverage samples of the whole pool at the pilot's own sizes (not
    subsets of the pilot's configurations), tested on the whole test set; its summary is the
    same error model's fit to those rows against the truth, redone here by hand."""
    ds = synthetic[0]
    ideal = measured.truth_at_pilot_sizes
    assert set(ideal["n_test"]) == {len(ds.test_ids)}
    for t, sizes in measured.info["pilot_sizes"].items():
        assert sorted(set(ideal[ideal["twojmax"] == t]["subset_size"])) == sorted(sizes)
    per = ideal.groupby(["twojmax", "subset_size", "train_level", "energy_weight"]).size()
    assert set(per) == {SETTINGS.pilot_repetitions}
    model, _ = pv.fit_pilot_model(ideal)
    table = pv.whole_pool_comparison(
        model, pv.truth_medians(measured.truth_rows), measured.info["pool"]
    )
    e = np.abs(table["energy_predicted"] / table["energy_true"] - 1)
    f = np.abs(table["force_predicted"] / table["force_true"] - 1)
    assert evaluated.ideal["energy"]["median"] == pytest.approx(np.median(e))
    assert evaluated.ideal["force"]["max"] == pytest.approx(np.max(f))
    # every compared fit has its ideal pilot too; the report's fit is the last
    names = list(pv.CURVE_VARIANTS)
    assert evaluated.variants[names[-1]]["ideal"] == evaluated.ideal
    free, _ = pv.fit_pilot_model(ideal, options=pv.CURVE_VARIANTS[names[0]])
    t0 = pv.whole_pool_comparison(
        free, pv.truth_medians(measured.truth_rows), measured.info["pool"]
    )
    f0 = np.abs(t0["force_predicted"] / t0["force_true"] - 1)
    assert evaluated.variants[names[0]]["ideal"]["force"]["median"] == pytest.approx(np.median(f0))
    text = pv.render_report(_results(evaluated), str(tmp_path / "r.md"))
    ideal0 = evaluated.variants[names[0]]["ideal"]
    assert (
        f"| {pv._pct(ideal0['energy']['median'])} / {pv._pct(ideal0['force']['median'])} |" in text
    )
    s = evaluated.summary
    if not (s["energy"]["median"] <= 0.1 and s["force"]["median"] <= 0.1):
        assert "An ideal pilot at the same sizes" in text
        assert f"{pv._pct(evaluated.ideal['energy']['median'])} (energy)" in text
