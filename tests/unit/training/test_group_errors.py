"""Per-group error table: against a brute-force loop over the dense weighted matrix of a fit
with groups, group weights and stresses, against FitSNAP's own error function, and against the
fit table's RMSE columns."""

import numpy as np
import pandas as pd
import pytest

from pyiron_appmlip.core.units import EV_PER_A3_TO_GPA
from pyiron_appmlip.training.group_errors import (
    ALL_GROUPS,
    ERROR_COLUMNS,
    NO_GROUP,
    PREDICTION_COLUMNS,
    group_error_table,
    prediction_frame,
)
from pyiron_appmlip.training.labels import Labels
from pyiron_appmlip.training.sweep import fit_table

GROUP_WEIGHTS = {"surface": (2.0, 0.5, 3.0), "md": (0.0, 1.0, 0.5)}
W_E, W_F, W_S = 40.0, 1.0, 5.0


def _data(m=36, p=5, seed=3):
    """Blocks with virial rows (some without), labels with groups (some configurations in no
    group), stresses (some missing, one with a NaN component) and volumes."""
    rng = np.random.default_rng(seed)
    beta = rng.normal(size=p + 1)
    blocks, energies, forces, stresses, volumes, groups = {}, {}, {}, {}, {}, {}
    for k in range(m):
        n = int(rng.integers(1, 4))
        cid = f"c{k:03d}"
        b = rng.normal(size=(1 + 3 * n + 6, p))
        b[-6:] *= 4.0 * n
        if k % 9 == 4:  # a block without virial rows
            b = b[: 1 + 3 * n]
        blocks[cid] = b
        volumes[cid] = 10.0 * n * (1.0 + 0.2 * rng.random())
        energies[cid] = beta[0] * n + b[0] @ beta[1:] + 0.05 * rng.normal()
        forces[cid] = (b[1 : 1 + 3 * n] @ beta[1:]).reshape(n, 3) + 0.05 * rng.normal(size=(n, 3))
        if len(b) > 1 + 3 * n and k % 5:
            s = -(b[-6:] @ beta[1:]) / volumes[cid] + 0.01 * rng.normal(size=6)
            if k % 7 == 1:
                s[3] = np.nan
            stresses[cid] = s
        groups[cid] = ("bulk", "surface", "md", None)[k % 4]
    ids = sorted(blocks)
    labels = Labels.from_arrays(
        ids,
        [energies[i] for i in ids],
        [forces[i] for i in ids],
        stresses=[stresses.get(i) for i in ids],
        volumes=[volumes[i] for i in ids],
        groups=[groups[i] for i in ids],
    )
    return blocks, labels, ids[:27], ids[27:]


def _dense(blocks, labels, ids, partition, coefficients):
    """Every row of the weighted problem stacked: the dense matrix (constant column first),
    labels, weights and what each row is; the residuals from one matrix product."""
    a, y, w, meta = [], [], [], []
    for cid in ids:
        b = blocks[cid]
        n = len(labels.forces[cid])
        group = labels.groups.get(cid) or NO_GROUP
        fe, ff, fs = GROUP_WEIGHTS.get(group, (1.0, 1.0, 1.0))
        a.append(np.r_[1.0, b[0] / n])
        y.append(labels.energies[cid] / n)
        w.append(W_E * fe)
        meta.append((partition, group, "energy", cid))
        for j in range(3 * n):
            a.append(np.r_[0.0, b[1 + j]])
            y.append(labels.forces[cid].ravel()[j])
            w.append(W_F * ff)
            meta.append((partition, group, "force", cid))
        s = labels.stress(cid)
        if s is not None and len(b) == 1 + 3 * n + 6:
            for j in range(6):
                if np.isfinite(s[j]):
                    a.append(np.r_[0.0, -b[1 + 3 * n + j] / labels.volumes[cid]])
                    y.append(s[j])
                    w.append(W_S * fs)
                    meta.append((partition, group, "stress", cid))
    a, y, w = np.array(a), np.array(y), np.array(w)
    return a, y, w, meta, a @ coefficients - y


def _brute_force(parts):
    """The table by loops over masks of the stacked rows (FitSNAP's definitions)."""
    scale = {"energy": 1000.0, "force": 1000.0, "stress": EV_PER_A3_TO_GPA}
    out = {}
    for partition, _, _, w, meta, res in parts:
        groups = sorted({m[1] for m in meta})
        for group in [ALL_GROUPS, *groups]:
            for quantity in ("energy", "force", "stress"):
                mask = np.array(
                    [m[2] == quantity and group in (ALL_GROUPS, m[1]) for m in meta], dtype=bool
                )
                if not mask.any():
                    continue
                r, ww = res[mask], w[mask]
                configs = {m[3] for m, keep in zip(meta, mask, strict=True) if keep}
                nz = np.count_nonzero(ww)
                out[(partition, group, quantity)] = {
                    "n_config": len(configs),
                    "n_rows": int(mask.sum()),
                    "mae": scale[quantity] * np.abs(r).sum() / mask.sum(),
                    "rmse": scale[quantity] * np.sqrt((r**2).sum() / mask.sum()),
                    "n_weighted_rows": nz,
                    "weighted_mae": np.abs(ww * r).sum() / mask.sum(),
                    "weighted_rmse": np.sqrt(((ww * r) ** 2).sum() / nz) if nz else np.nan,
                }
    return out


@pytest.fixture(scope="module")
def fitted():
    blocks, labels, train, test = _data()
    (row,) = fit_table(
        blocks,
        {"1": labels},
        train,
        test,
        [(W_E, W_F)],
        stress_weight=W_S,
        group_weights=GROUP_WEIGHTS,
    )
    c = np.asarray(row["coefficients"])
    options = dict(
        energy_weight=W_E, force_weight=W_F, stress_weight=W_S, group_weights=GROUP_WEIGHTS
    )
    frames = [
        prediction_frame(c, ((i, blocks[i]) for i in ids), labels, partition, **options)
        for partition, ids in (("train", row["training_ids"]), ("test", test))
    ]
    table = group_error_table(pd.concat(frames, ignore_index=True))
    parts = [
        (partition, *_dense(blocks, labels, ids, partition, c))
        for partition, ids in (("train", list(row["training_ids"])), ("test", test))
    ]
    return row, frames, table, parts


def test_the_table_equals_a_brute_force_loop_over_the_dense_matrix(fitted):
    row, frames, table, parts = fitted
    assert list(table.columns) == list(ERROR_COLUMNS)
    expected = _brute_force(parts)
    got = {(r.partition, r.group, r.quantity): r for r in table.itertuples()}
    assert set(got) == set(expected)
    # every group is there, the configurations without one under NO_GROUP, both partitions
    assert {k[1] for k in got} == {ALL_GROUPS, "bulk", "surface", "md", NO_GROUP}
    assert {k[2] for k in got} == {"energy", "force", "stress"}
    for key, ref in expected.items():
        r = got[key]
        for name in ("n_config", "n_rows", "n_weighted_rows"):
            assert getattr(r, name) == ref[name], (key, name)
        for name in ("mae", "rmse", "weighted_mae", "weighted_rmse"):
            if np.isnan(ref[name]):
                assert np.isnan(getattr(r, name)), (key, name)
            else:
                assert getattr(r, name) == pytest.approx(ref[name], rel=1e-10), (key, name)
    # the md group's energies have weight factor 0: no weighted rows, weighted RMSE NaN
    md = got[("train", "md", "energy")]
    assert md.n_weighted_rows == 0 and md.n_rows > 0 and np.isnan(md.weighted_rmse)
    units = {q: u for q, u in zip(table["quantity"], table["unit"], strict=True)}
    assert units == {"energy": "meV/atom", "force": "meV/Angstrom", "stress": "GPa"}
    # sorted: train before test, "*ALL" first, NO_GROUP last, energy, force, stress
    train = table[table["partition"] == "train"]
    assert list(table["partition"]) == ["train"] * len(train) + ["test"] * (len(table) - len(train))
    assert list(dict.fromkeys(train["group"])) == [ALL_GROUPS, "bulk", "md", "surface", NO_GROUP]


def test_the_weights_are_those_the_fit_minimised(fitted):
    """The fit's coefficients solve the least-squares problem of the rows weighted as the table
    weights them: the gradient of the weighted loss vanishes there (and only with these
    weights: without the group factors it does not)."""
    row, frames, table, parts = fitted
    _, a, y, w, meta, res = parts[0]
    gradient = a.T @ (w**2 * res)
    scale = np.abs(a.T) @ (w**2 * np.abs(y))
    assert np.abs(gradient).max() <= 1e-8 * scale.max()
    plain_w = np.array([{"energy": W_E, "force": W_F, "stress": W_S}[m[2]] for m in meta])
    wrong = np.abs(a.T @ (plain_w**2 * res)).max()
    assert wrong > 1e-4 * scale.max()
    # the rows of prediction_frame carry exactly these weights and residuals
    train = frames[0]
    np.testing.assert_array_equal(train["weight"].to_numpy(), w)
    np.testing.assert_allclose(
        train["prediction"] - train["label"], res, rtol=0, atol=1e-12 * np.abs(y).max()
    )


def test_counts_add_up_and_all_rows_equal_the_fit_table(fitted):
    row, _, table, _ = fitted
    for (partition, quantity), part in table.groupby(["partition", "quantity"]):
        every = part[part["group"] == ALL_GROUPS].iloc[0]
        groups = part[part["group"] != ALL_GROUPS]
        assert groups["n_rows"].sum() == every["n_rows"]
        assert groups["n_config"].sum() == every["n_config"]
        assert groups["n_weighted_rows"].sum() == every["n_weighted_rows"]
        column = {"train": f"{quantity}_rmse_train", "test": f"{quantity}_rmse_test_truth"}
        assert every["rmse"] == pytest.approx(row[column[partition]], rel=1e-9)
    train_energy = table.query("partition == 'train' and group == '*ALL' and quantity == 'energy'")
    assert int(train_energy["n_config"].iloc[0]) == row["subset_size"]
    test_energy = table.query("partition == 'test' and group == '*ALL' and quantity == 'energy'")
    assert int(test_energy["n_config"].iloc[0]) == row["n_test"]


def test_fitsnap_gives_the_same_numbers():
    """FitSNAP's own error function (fitsnap3lib 3.1) on the rows of each group."""
    solver = pytest.importorskip("fitsnap3lib.solvers.solver")
    rng = np.random.default_rng(1)
    k = 40
    frame = pd.DataFrame(
        {
            "partition": rng.choice(["train", "test"], k),
            "group": rng.choice(["a", "b"], k),
            "quantity": rng.choice(["energy", "force", "stress"], k),
            "configuration": [f"x{i % 9}" for i in range(k)],
            "prediction": rng.normal(size=k),
            "label": rng.normal(size=k),
            "weight": rng.choice([0.0, 0.5, 3.0], k),
        }
    )
    table = group_error_table(frame)
    scale = {"energy": 1000.0, "force": 1000.0, "stress": EV_PER_A3_TO_GPA}
    for r in table.itertuples():
        part = frame[(frame["partition"] == r.partition) & (frame["quantity"] == r.quantity)]
        if r.group != ALL_GROUPS:
            part = part[part["group"] == r.group]
        g = pd.DataFrame(
            {"truths": part["label"], "preds": part["prediction"], "weights": part["weight"]}
        )
        with np.errstate(divide="ignore", invalid="ignore"):  # its R^2 of all-zero weights
            ref = solver.Solver._ncount_mae_rmse_rsq_unweighted_and_weighted(None, g)
        assert r.n_rows == ref["ncount"] and r.n_weighted_rows == ref["w_ncount"]
        assert r.mae == pytest.approx(scale[r.quantity] * ref["mae"], rel=1e-12)
        assert r.rmse == pytest.approx(scale[r.quantity] * ref["rmse"], rel=1e-12)
        assert r.weighted_mae == pytest.approx(ref["w_mae"], rel=1e-12)
        if ref["w_ncount"]:
            assert r.weighted_rmse == pytest.approx(ref["w_rmse"], rel=1e-12)


def test_only_training_rows_without_a_test_partition():
    blocks, labels, train, _ = _data()
    (row,) = fit_table(blocks, {"1": labels}, train, train[:3], [(W_E, W_F)])
    frame = prediction_frame(row["coefficients"], ((i, blocks[i]) for i in train), labels, "train")
    table = group_error_table(frame)
    assert set(table["partition"]) == {"train"}


def test_bad_input_is_named():
    blocks, labels, train, _ = _data()
    c = np.zeros(6)
    with pytest.raises(ValueError, match=r"partition must be one of \('train', 'test'\)"):
        prediction_frame(c, [], labels, "validation")
    with pytest.raises(ValueError, match="has no labels"):
        prediction_frame(c, [("absent", blocks[train[0]])], labels, "train")
    with pytest.raises(ValueError, match="model has 4 coefficients"):
        prediction_frame(np.zeros(4), [(train[0], blocks[train[0]])], labels, "train")
    with pytest.raises(ValueError, match="rows, but its labels have"):
        prediction_frame(c, [(train[0], blocks[train[0]][:-1])], labels, "train")
    frame = prediction_frame(c, [(train[0], blocks[train[0]])], labels, "train")
    assert list(frame.columns) == list(PREDICTION_COLUMNS)
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['weight'\]"):
        group_error_table(frame.drop(columns="weight"))
    with pytest.raises(ValueError, match="quantity must be one of"):
        group_error_table(frame.assign(quantity="virial"))
    with pytest.raises(ValueError, match="finite"):
        group_error_table(frame.assign(label=np.nan))
    with pytest.raises(ValueError, match="DataFrame"):
        group_error_table(frame.to_dict())
