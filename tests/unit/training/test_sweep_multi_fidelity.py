"""Multi-fidelity sweep rows (level pairs, Delta models, energy subsets) against dense
``scipy.linalg.lstsq`` on each row's own training configurations, and their DFT cost."""

import numpy as np
import pytest
import scipy.linalg

from pyiron_appmlip.training.labels import Labels
from pyiron_appmlip.training.sweep import InMemoryBlocks, SweepGrid, run_sweep
from pyiron_appmlip.training.table import COLUMN_NAMES, complete_older_columns, row_key

P = 5
COST = {"1": 2.0, "2": 30.0}  # seconds per configuration


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    ids = [f"c{k:03d}" for k in range(n)]
    blocks = {}
    labels = {lv: ({}, {}, {}) for lv in COST}
    beta = rng.normal(size=P)
    shift = 0.3 * rng.normal(size=P)
    for i in ids:
        n_atoms = int(rng.integers(1, 4))
        b = rng.normal(size=(1 + 3 * n_atoms, P)) * np.geomspace(1, 30, P)
        blocks[i] = b
        for k, lv in enumerate(COST):
            c = beta + k * shift
            e, f, t = labels[lv]
            e[i] = float(b[0] @ c + (0.3 + 0.1 * k) * n_atoms + rng.normal(scale=0.05))
            f[i] = (b[1:] @ c + rng.normal(scale=0.05, size=3 * n_atoms)).reshape(-1, 3)
            t[i] = COST[lv]
    return ids, blocks, {lv: Labels(*v) for lv, v in labels.items()}


def _rows(energy_ids, energy_level, force_ids, force_level, blocks, labels, columns=None):
    """Dense weighted rows: per-atom energy rows with a constant column, then force rows."""
    ae, ye, af, yf = [], [], [], []
    for i in energy_ids:
        b = blocks[i]
        n = (b.shape[0] - 1) // 3
        ae.append(np.r_[1.0, b[0] / n])
        ye.append(energy_level(i) / n)
    for i in force_ids:
        b = blocks[i]
        af.append(np.hstack([np.zeros((b.shape[0] - 1, 1)), b[1:]]))
        yf.append(np.ravel(force_level(i)))
    return np.vstack(ae), np.array(ye), np.vstack(af), np.concatenate(yf)


def _lstsq(ae, ye, af, yf, w_e):
    a = np.vstack([w_e * ae, af])
    y = np.r_[w_e * ye, yf]
    return scipy.linalg.lstsq(a, y)[0]


def _sweep(grid, n=40):
    ids, blocks, labels = _data(n)
    rows = run_sweep({4: InMemoryBlocks(blocks)}, labels, ids[:30], ids[30:], grid, "2")
    return rows, blocks, labels


def test_level_pair_and_delta_rows_equal_dense_lstsq_and_cost_each_calculation_once():
    grid = SweepGrid(
        ["1", "2"],
        [10, 20],
        [50.0, 2.0],
        samplers=["leverage", "random"],
        repetitions=2,
        level_pairs=[("2", "1")],
        delta_pairs=[("1", "2")],
        energy_sizes=[6, 10],
    )
    rows, blocks, labels = _sweep(grid)
    kinds = {}
    for r in rows:
        kinds.setdefault(r["model_kind"], []).append(r)
    # per unit (2 samplers x 2 repetitions), per weight (2): size 10 -> 2 single + 2 pair
    # (n_energy 6, 10) + 2 delta; size 20 -> the same
    assert len(kinds["single"]) == 4 * 2 * 2 * 2
    assert len(kinds["level_pair"]) == len(kinds["delta"]) == 4 * 2 * 2 * 2
    assert len({row_key(r) for r in rows}) == len(rows)
    e1, f1 = labels["1"].energies.get, labels["1"].forces.get
    e2, f2 = labels["2"].energies.get, labels["2"].forces.get
    for r in kinds["level_pair"]:
        ids, n = list(r["training_ids"]), r["n_energy"]
        assert r["train_level"] == "E2+F1" and (r["energy_level"], r["force_level"]) == ("2", "1")
        ref = _lstsq(*_rows(ids[:n], e2, ids, f1, blocks, labels), r["weight_ratio"])
        np.testing.assert_allclose(r["coefficients"], ref, rtol=1e-8, atol=1e-10)
        # forces at level 1 on every configuration, energies at level 2 on the first n
        assert r["dft_seconds"] == pytest.approx(len(ids) * COST["1"] + n * COST["2"])
    for r in kinds["delta"]:
        ids, n = list(r["training_ids"]), r["n_energy"]
        assert r["train_level"] == "1+delta(2)"
        base = _lstsq(*_rows(ids, e1, ids, f1, blocks, labels), r["weight_ratio"])

        def de(i):
            return e2(i) - e1(i)

        def df(i):
            return f2(i) - f1(i)

        corr = _lstsq(*_rows(ids[:n], de, ids[:n], df, blocks, labels), r["weight_ratio"])
        np.testing.assert_allclose(r["coefficients"], base + corr, rtol=1e-7, atol=1e-9)
        assert r["dft_seconds"] == pytest.approx(len(ids) * COST["1"] + n * COST["2"])
    for r in kinds["single"]:
        assert r["n_energy"] == r["subset_size"]
        assert r["energy_level"] == r["force_level"] == r["train_level"]
        assert r["dft_seconds"] == pytest.approx(r["subset_size"] * COST[r["train_level"]])
    # the delta model's own test errors are against the high level (the truth here)
    for r in kinds["delta"]:
        assert r["energy_rmse_test"] == pytest.approx(r["energy_rmse_test_truth"])


def test_resumed_sweep_computes_only_the_new_multi_fidelity_rows():
    plain = SweepGrid(["1", "2"], [10, 20], [50.0], samplers=["random"])
    first, _, _ = _sweep(plain)
    grid = SweepGrid(["1", "2"], [10, 20], [50.0], samplers=["random"], level_pairs=[("2", "1")])
    ids, blocks, labels = _data()
    new = run_sweep(
        {4: InMemoryBlocks(blocks)},
        labels,
        ids[:30],
        ids[30:],
        grid,
        "2",
        done=[row_key(r) for r in first],
    )
    assert {r["model_kind"] for r in new} == {"level_pair"} and len(new) == 2


def test_older_tables_are_completed_as_single_level_fits():
    rows, _, _ = _sweep(SweepGrid(["1"], [10], [50.0], samplers=["random"]))
    old = {c: [r[c] for r in rows] for c in COLUMN_NAMES}
    for c in ("model_kind", "energy_level", "force_level", "n_energy"):
        del old[c]
    filled = complete_older_columns(old, len(rows))
    assert list(filled["model_kind"]) == ["single"] * len(rows)
    assert list(filled["n_energy"]) == [r["subset_size"] for r in rows]
    assert list(filled["force_level"]) == [r["train_level"] for r in rows]
    # a key of a row stored without n_energy is the key of the same single-level row now
    r = dict(rows[0])
    full = row_key(r)
    del r["n_energy"]
    assert row_key(r) == full


def test_bad_multi_fidelity_input_is_named():
    with pytest.raises(ValueError, match="names one level twice"):
        SweepGrid(["1"], [10], [50.0], level_pairs=[("1", "1")])
    with pytest.raises(ValueError, match=r"list of \(level, level\) pairs"):
        SweepGrid(["1"], [10], [50.0], level_pairs=["12"])
    with pytest.raises(ValueError, match="need draws='nested'"):
        SweepGrid(["1"], [10], [50.0], level_pairs=[("2", "1")], draws="independent")
    with pytest.raises(ValueError, match="no level_pairs or delta_pairs use it"):
        SweepGrid(["1"], [10], [50.0], energy_sizes=[5])
    with pytest.raises(ValueError, match=r"energy_sizes \[30\] larger than every subset size"):
        SweepGrid(["1"], [10, 20], [50.0], level_pairs=[("2", "1")], energy_sizes=[5, 30])
    with pytest.raises(ValueError, match="energy_sizes must be positive integers"):
        SweepGrid(["1"], [10], [50.0], level_pairs=[("2", "1")], energy_sizes=[0])
    ids, blocks, labels = _data()
    grid = SweepGrid(["1"], [10], [50.0], level_pairs=[("3", "1")])
    with pytest.raises(ValueError, match=r"level_pairs names level\(s\) \['3'\]"):
        run_sweep({4: InMemoryBlocks(blocks)}, labels, ids[:30], ids[30:], grid, "2")


def test_delta_correction_on_the_columns_of_a_smaller_twojmax():
    """Blocks of a fake 2Jmax 4 layout (one element, linear): the correction uses only the
    columns of 2Jmax 2, and equals dense lstsq on those columns."""
    from pyiron_appmlip.descriptors.settings import QSnapSettings

    settings = QSnapSettings(4, elements=("Be",), quadraticflag=0)
    small = QSnapSettings(2, elements=("Be",), quadraticflag=0)
    cols = settings.column_subset(small)
    p = settings.n_columns()
    rng = np.random.default_rng(3)
    ids = [f"c{k:03d}" for k in range(40)]
    blocks, raw = {}, {"1": ({}, {}, {}), "2": ({}, {}, {})}
    beta = rng.normal(size=p)
    for i in ids:
        n_atoms = int(rng.integers(1, 4))
        b = rng.normal(size=(1 + 3 * n_atoms, p))
        blocks[i] = b
        for k, lv in enumerate(("1", "2")):
            e, f, t = raw[lv]
            e[i] = float(b[0] @ beta + k * 0.3 * b[0, cols[1]] + rng.normal(scale=0.05))
            f[i] = (b[1:] @ beta + rng.normal(scale=0.05, size=3 * n_atoms)).reshape(-1, 3)
            t[i] = 1.0
    labels = {lv: Labels(*v) for lv, v in raw.items()}
    grid = SweepGrid(
        ["1"], [30], [10.0], samplers=["random"], delta_pairs=[("1", "2")], delta_twojmax=2
    )
    with pytest.raises(ValueError, match="needs the descriptor settings"):
        run_sweep({4: InMemoryBlocks(blocks)}, labels, ids[:30], ids[30:], grid, "2")
    rows = run_sweep(
        {4: InMemoryBlocks(blocks, settings=settings)}, labels, ids[:30], ids[30:], grid, "2"
    )
    (row,) = [r for r in rows if r["model_kind"] == "delta"]
    assert row["train_level"] == "1+delta(2, 2J2)"
    train = list(row["training_ids"])
    e1, f1 = labels["1"].energies.get, labels["1"].forces.get
    e2, f2 = labels["2"].energies.get, labels["2"].forces.get
    base = _lstsq(*_rows(train, e1, train, f1, blocks, labels), 10.0)
    small_blocks = {i: b[:, cols] for i, b in blocks.items()}
    corr = _lstsq(
        *_rows(
            train,
            lambda i: e2(i) - e1(i),
            train,
            lambda i: f2(i) - f1(i),
            small_blocks,
            labels,
        ),
        10.0,
    )
    expected = base.copy()
    expected[0] += corr[0]
    expected[1 + cols] += corr[1:]
    np.testing.assert_allclose(row["coefficients"], expected, rtol=1e-7, atol=1e-9)
    with pytest.raises(ValueError, match="delta_twojmax is set but there are no delta_pairs"):
        SweepGrid(["1"], [30], [10.0], delta_twojmax=2)
    big = SweepGrid(["1"], [30], [10.0], delta_pairs=[("1", "2")], delta_twojmax=6)
    with pytest.raises(
        ValueError, match=r"larger than the descriptors' 2Jmax 4; allowed: at most 4"
    ):
        run_sweep(
            {4: InMemoryBlocks(blocks, settings=settings)}, labels, ids[:30], ids[30:], big, "2"
        )


def test_energies_apart_from_the_training_subset_equal_dense_lstsq():
    """energy_draw='apart': forces at level 1 on the subset, energies at level 2 on the n
    configurations after it in the same sampling order; cost counts both sets."""
    grid = SweepGrid(
        ["1"],
        [10, 20],
        [50.0],
        samplers=["leverage", "random"],
        repetitions=2,
        level_pairs=[("2", "1")],
        energy_sizes=[4, 9],
        energy_draw="apart",
    )
    rows, blocks, labels = _sweep(grid)
    pairs = [r for r in rows if r["model_kind"] == "level_pair"]
    assert len(pairs) == 4 * 2 * 2 and {r["train_level"] for r in pairs} == {"E2+F1 apart"}
    e2, f1 = labels["2"].energies.get, labels["1"].forces.get
    nested = {
        (r["sampler"], r["repetition"], r["subset_size"]): r
        for r in rows
        if r["model_kind"] == "single"
    }
    for r in pairs:
        size, n = r["subset_size"], r["n_energy"]
        ids = list(r["training_ids"])
        assert len(ids) == size + n
        force_ids, energy_ids = ids[:size], ids[size:]
        # the force subset is the single-level row's subset of the same unit and size
        single = nested[(r["sampler"], r["repetition"], size)]
        assert list(single["training_ids"]) == force_ids
        assert not set(force_ids) & set(energy_ids)
        ref = _lstsq(*_rows(energy_ids, e2, force_ids, f1, blocks, labels), 50.0)
        np.testing.assert_allclose(r["coefficients"], ref, rtol=1e-8, atol=1e-10)
        assert r["dft_seconds"] == pytest.approx(size * COST["1"] + n * COST["2"])
    with pytest.raises(ValueError, match="energy_draw must be one of"):
        SweepGrid(["1"], [10], [50.0], level_pairs=[("2", "1")], energy_draw="far")
    with pytest.raises(ValueError, match="needs level_pairs and energy_sizes"):
        SweepGrid(["1"], [10], [50.0], level_pairs=[("2", "1")], energy_draw="apart")


def test_apart_rows_do_not_ask_for_energies_beyond_the_pool():
    grid = SweepGrid(
        ["1"],
        [25, 30],
        [50.0],
        samplers=["random"],
        level_pairs=[("2", "1")],
        energy_sizes=[3, 8],
        energy_draw="apart",
    )
    assert ("E2+F1 apart", 8) not in grid.row_specs(25, n_pool=30)
    assert ("E2+F1 apart", 3) in grid.row_specs(25, n_pool=30)
    assert grid.row_specs(30, n_pool=30) == [("1", 30)]
    rows, _, _ = _sweep(grid)
    got = {(r["subset_size"], r["n_energy"]) for r in rows if r["model_kind"] == "level_pair"}
    assert got == {(25, 3)}
    # a resumed sweep finds nothing missing
    ids, blocks, labels = _data()
    again = run_sweep(
        {4: InMemoryBlocks(blocks)},
        labels,
        ids[:30],
        ids[30:],
        grid,
        "2",
        done=[row_key(r) for r in rows],
    )
    assert again == []
