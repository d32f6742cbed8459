"""Sweep with stresses and per-group weights: rows against scipy.linalg.lstsq on the explicit
weighted matrix and against brute-force stress errors; defaults reproduce the sweep without
stresses bitwise."""

import numpy as np
import pytest
import scipy.linalg

from pyiron_appmlip.core import DEFAULT_RCOND
from pyiron_appmlip.core.units import EV_PER_A3_TO_GPA
from pyiron_appmlip.training.labels import Labels, parse_group_weights
from pyiron_appmlip.training.sweep import InMemoryBlocks, SweepGrid, fit_table, run_sweep
from pyiron_appmlip.training.table import COLUMN_NAMES

GROUPS = ("bulk", "surface", "md")
GROUP_WEIGHTS = {"surface": (2.0, 0.5, 3.0), "md": (0.5, 1.0, 0.0)}


def _data(m=40, p=6, seed=0):
    """Blocks with virial rows; level "1" with stresses for most configurations, level "2"
    without stresses; groups and volumes."""
    rng = np.random.default_rng(seed)
    beta = rng.normal(size=p + 1)
    blocks, raw = {}, {"1": {}, "2": {}}
    volumes, groups = {}, {}
    for k in range(m):
        n = int(rng.integers(1, 4))
        b = rng.normal(size=(1 + 3 * n + 6, p))
        b[-6:] *= 5.0 * n
        cid = f"c{k:03d}"
        blocks[cid] = b
        volumes[cid] = 11.0 * n * (1.0 + 0.1 * rng.random())
        groups[cid] = GROUPS[k % 3]
        e = beta[0] * n + b[0] @ beta[1:]
        f = (b[1 : 1 + 3 * n] @ beta[1:]).reshape(n, 3)
        s = -(b[-6:] @ beta[1:]) / volumes[cid] + 0.03
        for lv, noise in (("1", 0.1), ("2", 0.01)):
            stress = s + noise * rng.normal(size=6) if k % 7 else np.full(6, np.nan)
            raw[lv][cid] = (
                e + noise * rng.normal(),
                f + noise * rng.normal(size=f.shape),
                2.0 * n,
                stress,
            )
    labels = {}
    for lv, d in raw.items():
        ids = list(d)
        labels[lv] = Labels.from_arrays(
            ids,
            [v[0] for v in d.values()],
            [v[1] for v in d.values()],
            [v[2] for v in d.values()],
            stresses=[v[3] for v in d.values()] if lv == "1" else None,
            volumes=[volumes[i] for i in ids],
            groups=[groups[i] for i in ids],
        )
    ids = sorted(blocks)
    return blocks, labels, ids[:30], ids[30:]


def _without_stress(blocks, labels):
    """The same data as today's sweep sees it: no virial rows, no stresses, volumes, groups."""
    plain_blocks = {cid: b[: 1 + 3 * len(labels["1"].forces[cid])] for cid, b in blocks.items()}
    plain = {
        lv: Labels(dict(lab.energies), dict(lab.forces), dict(lab.wall_times))
        for lv, lab in labels.items()
    }
    return plain_blocks, plain


def _explicit(blocks, lab, ids, w_e, w_f, w_s, group_weights):
    rows, ys = [], []
    for cid in ids:
        b, e, f = blocks[cid], lab.energies[cid], lab.forces[cid]
        n = len(f)
        fe, ff, fs = group_weights.get(lab.groups[cid], (1.0, 1.0, 1.0))
        rows.append(w_e * fe * np.r_[1.0, b[0] / n])
        ys.append(w_e * fe * e / n)
        rows.extend(w_f * ff * np.c_[np.zeros(3 * n), b[1 : 1 + 3 * n]])
        ys.extend(w_f * ff * f.ravel())
        s = lab.stress(cid)
        if s is not None:
            rows.extend(w_s * fs * np.c_[np.zeros(6), -b[-6:] / lab.volumes[cid]])
            ys.extend(w_s * fs * s)
    a, y = np.array(rows), np.array(ys)
    d = 1.0 / np.linalg.norm(a, axis=0)
    return d * scipy.linalg.lstsq(a * d, y, cond=DEFAULT_RCOND)[0]


def _stress_rmse(coefficients, blocks, lab, ids):
    sq = []
    for cid in ids:
        s = lab.stress(cid)
        if s is None:
            continue
        predicted = -(blocks[cid][-6:] @ coefficients[1:]) / lab.volumes[cid]
        sq.extend((predicted - s) ** 2)
    return EV_PER_A3_TO_GPA * np.sqrt(np.mean(sq)) if sq else np.nan


@pytest.mark.parametrize("stress_weight", [0.0, 4.0])
def test_sweep_rows_with_stresses_and_group_weights_equal_lstsq(stress_weight):
    blocks, labels, train, test = _data()
    grid = SweepGrid(
        ["1", "2"],
        [12, 30],
        [150, (3.0, 2.0)],
        samplers=["random", "all"],
        stress_weight=stress_weight if stress_weight else 0.0,
    )
    rows = run_sweep(
        {4: InMemoryBlocks(blocks)}, labels, train, test, grid, "1", group_weights=GROUP_WEIGHTS
    )
    assert len(rows) == (2 + 1) * 2 * 2
    for r in rows:
        assert list(r)[: len(COLUMN_NAMES)] == list(COLUMN_NAMES)
        lab = labels[r["train_level"]]
        ids = list(r["training_ids"])
        w_s = stress_weight if r["train_level"] == "1" else 0.0  # level "2" has no stresses
        ref = _explicit(blocks, lab, ids, r["energy_weight"], r["force_weight"], w_s, GROUP_WEIGHTS)
        scale = np.abs(ref).max()
        assert np.abs(r["coefficients"] - ref).max() <= 1e-9 * scale
        assert r["stress_weight"] == stress_weight
        c = r["coefficients"]
        truth = _stress_rmse(c, blocks, labels["1"], test)
        assert r["stress_rmse_test_truth"] == pytest.approx(truth, rel=1e-9)
        if r["train_level"] == "1":
            assert r["stress_rmse_test"] == pytest.approx(truth, rel=1e-9)
            assert r["stress_rmse_train"] == pytest.approx(
                _stress_rmse(c, blocks, lab, ids), rel=1e-9
            )
        else:  # no stresses at level "2": NaN
            assert np.isnan(r["stress_rmse_train"]) and np.isnan(r["stress_rmse_test"])


def test_defaults_give_the_sweep_without_stresses_bitwise():
    blocks, labels, train, test = _data(seed=1)
    plain_blocks, plain = _without_stress(blocks, labels)
    grid = SweepGrid(
        ["1", "2"], [10, 20], [150, 12], samplers=["leverage", "block_leverage", "random", "all"]
    )
    with_stress = run_sweep({4: InMemoryBlocks(blocks)}, labels, train, test, grid, "2")
    today = run_sweep({4: InMemoryBlocks(plain_blocks)}, plain, train, test, grid, "2")
    ones = run_sweep(
        {4: InMemoryBlocks(blocks)},
        labels,
        train,
        test,
        grid,
        "2",
        group_weights={"bulk": (1, 1, 1)},
    )
    assert len(with_stress) == len(today) == len(ones)
    for a, b, c in zip(with_stress, today, ones, strict=True):
        assert a["training_ids"] == b["training_ids"] == c["training_ids"]
        assert np.array_equal(a["coefficients"], b["coefficients"])
        assert np.array_equal(c["coefficients"], b["coefficients"])
        for col in COLUMN_NAMES:
            if col.startswith("stress_rmse"):
                assert np.isnan(b[col])
                continue
            assert a[col] == b[col] or (np.isnan(a[col]) and np.isnan(b[col])), col
        assert a["stress_weight"] == 0.0
        # stresses are reported where recorded, at the training level "1" only
        if a["train_level"] == "1":
            assert np.isfinite(a["stress_rmse_train"]) and np.isfinite(a["stress_rmse_test"])
        assert np.isnan(a["stress_rmse_test_truth"])  # level "2" has no stresses


def test_fit_table_passes_stress_weight_and_group_weights():
    blocks, labels, train, test = _data(seed=2)
    rows = fit_table(
        blocks,
        labels,
        train,
        test,
        [(10.0, 1.0)],
        train_levels=["1"],
        truth_level="1",
        stress_weight=2.0,
        group_weights=GROUP_WEIGHTS,
    )
    assert len(rows) == 1
    ref = _explicit(blocks, labels["1"], train, 10.0, 1.0, 2.0, GROUP_WEIGHTS)
    assert np.abs(rows[0]["coefficients"] - ref).max() <= 1e-9 * np.abs(ref).max()


def test_sweep_stress_and_group_errors():
    blocks, labels, train, test = _data(seed=3)
    source = {4: InMemoryBlocks(blocks)}
    grid = SweepGrid(["1"], [5], [150], samplers=["random"])
    with pytest.raises(ValueError, match=r"'slab'.*groups present: \['bulk', 'md', 'surface'\]"):
        run_sweep(source, labels, train, test, grid, "1", group_weights={"slab": (1, 1, 1)})
    with pytest.raises(ValueError, match="group_weights\\['md'\\] must be three"):
        run_sweep(source, labels, train, test, grid, "1", group_weights={"md": (1, -1, 1)})
    plain_blocks, plain = _without_stress(blocks, labels)
    with pytest.raises(ValueError, match=r"groups present: \[\]"):
        run_sweep(
            {4: InMemoryBlocks(plain_blocks)},
            plain,
            train,
            test,
            grid,
            "1",
            group_weights={"md": (1, 1, 1)},
        )
    stress_grid = SweepGrid(["1"], [5], [150], samplers=["random"], stress_weight=1.0)
    with pytest.raises(ValueError, match="no training configuration has a recorded stress"):
        run_sweep({4: InMemoryBlocks(plain_blocks)}, plain, train, test, stress_grid, "1")
    # stresses in the labels but blocks without virial rows
    with pytest.raises(ValueError, match="virial=True"):
        run_sweep({4: InMemoryBlocks(plain_blocks)}, labels, train, test, stress_grid, "1")
    # a stress without a volume
    lab = labels["1"]
    no_volume = {
        "1": Labels(lab.energies, lab.forces, lab.wall_times, stresses=lab.stresses),
        "2": labels["2"],
    }
    with pytest.raises(ValueError, match="no cell volume"):
        run_sweep(source, no_volume, train, test, grid, "1")
    # a block whose rows fit neither N nor N with virial rows
    bad = dict(blocks)
    bad[test[0]] = blocks[test[0]][:-1]
    with pytest.raises(ValueError, match=f"configuration {test[0]}: its descriptor block has"):
        run_sweep({4: InMemoryBlocks(bad)}, labels, train, test, grid, "1")
    with pytest.raises(ValueError, match="stress_weight must be a finite number >= 0"):
        SweepGrid(["1"], [5], [150], stress_weight=-1.0)
    assert SweepGrid(["1"], [5], [150], stress_weight=3).to_dict()["stress_weight"] == 3.0


def test_labels_stresses_volumes_and_groups():
    lab = Labels.from_arrays(
        ["a", "b", "c"],
        [1.0, 2.0, 3.0],
        [np.zeros((1, 3))] * 3,
        stresses=[np.arange(6.0), None, np.arange(9.0).reshape(3, 3)],
        volumes=[10, 20, 30],
        groups=["x", None, "y"],
    )
    assert lab.stress("b") is None
    assert np.array_equal(lab.stress("a"), np.arange(6.0))
    assert np.allclose(lab.stress("c"), [0, 4, 8, 6, 4, 2])  # symmetric part, Voigt order
    assert lab.volumes == {"a": 10.0, "b": 20.0, "c": 30.0}
    assert lab.groups == {"a": "x", "c": "y"}
    assert Labels({"a": 1.0}, {"a": np.zeros((1, 3))}).stress("a") is None
    with pytest.raises(ValueError, match="stresses has 1 entries"):
        Labels.from_arrays(["a", "b"], [1, 2], [np.zeros((1, 3))] * 2, stresses=[None])
    with pytest.raises(ValueError, match="six Voigt components"):
        Labels({"a": 1.0}, {"a": np.zeros((1, 3))}, stresses={"a": [1.0, 2.0]})
    assert parse_group_weights(None) == {}
    assert parse_group_weights({"x": [1, 2, 0]}) == {"x": (1.0, 2.0, 0.0)}
    with pytest.raises(ValueError, match="group_weights"):
        parse_group_weights("x")
