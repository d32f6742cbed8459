"""Weighted test sets in the sweep: the rows' test RMSEs against a plain numpy loop over the
test configurations with the same weights, no weights against the plain RMSEs, and bad weights."""

import numpy as np
import pytest

from pyiron_appmlip.training.labels import Labels
from pyiron_appmlip.training.sweep import InMemoryBlocks, SweepGrid, run_sweep


def _data(m=40, p=4, seed=0):
    rng = np.random.default_rng(seed)
    blocks, energies, forces = {}, {}, {}
    beta = rng.normal(size=p)
    for k in range(m):
        n = int(rng.integers(1, 5))
        b = rng.normal(size=(1 + 3 * n, p))
        b[0] *= n
        blocks[f"c{k:02d}"] = b
        scale = 5.0 if k % 7 == 0 else 0.3  # a few configurations far off the model
        energies[f"c{k:02d}"] = b[0] @ beta - 2.0 * n + scale * rng.normal() * n
        forces[f"c{k:02d}"] = (b[1:] @ beta).reshape(n, 3) + scale * rng.normal(size=(n, 3))
    return blocks, Labels(energies, forces, {i: 1.0 for i in blocks})


def _weighted_rmse(c, blocks, labels, ids, w):
    """Energy (meV/atom) and force (meV/Angstrom) RMSE, weighted, by a loop over configurations."""
    se, sf, nf = [], [], []
    for i in ids:
        b, n = blocks[i], len(labels.forces[i])
        se.append(((c[0] * n + b[0] @ c[1:] - labels.energies[i]) / n) ** 2)
        r = b[1:] @ c[1:] - labels.forces[i].ravel()
        sf.append(r @ r)
        nf.append(r.size)
    w = np.asarray(w, dtype=float)
    return (
        1000 * np.sqrt(np.sum(w * np.array(se)) / w.sum()),
        1000 * np.sqrt(np.sum(w * np.array(sf)) / np.sum(w * np.array(nf))),
    )


@pytest.mark.parametrize("engine", ["units", "scatter"])
def test_weighted_test_rmse_equals_a_loop_over_configurations(engine):
    blocks, labels = _data()
    ids = sorted(blocks)
    train, test = ids[:28], ids[28:]
    weights = np.random.default_rng(3).lognormal(0.0, 1.0, size=len(test))
    grid = SweepGrid(["1"], subset_sizes=[12, 28], weights=[(30.0, 1.0)], samplers=["random"])
    src = {4: InMemoryBlocks(blocks)}
    rows = run_sweep(
        src,
        {"1": labels},
        train,
        test,
        grid,
        "1",
        test_weights=dict(zip(test, weights, strict=True)),
        engine=engine,
    )
    plain = run_sweep(src, {"1": labels}, train, test, grid, "1", engine=engine)
    assert len(rows) == len(plain) == 2
    for row, ref in zip(rows, plain, strict=True):
        c = np.asarray(row["coefficients"])
        np.testing.assert_allclose(c, ref["coefficients"])  # the fits do not change
        e, f = _weighted_rmse(c, blocks, labels, test, weights)
        assert row["energy_rmse_test"] == pytest.approx(e, rel=1e-8)
        assert row["force_rmse_test"] == pytest.approx(f, rel=1e-8)
        e1, f1 = _weighted_rmse(c, blocks, labels, test, np.ones(len(test)))
        assert ref["energy_rmse_test"] == pytest.approx(e1, rel=1e-8)
        assert ref["force_rmse_test"] == pytest.approx(f1, rel=1e-8)
        assert abs(f / f1 - 1) > 1e-3  # the weights change the result
    # weights given as a list in the order of the test ids: the same rows
    listed = run_sweep(src, {"1": labels}, train, test, grid, "1", test_weights=list(weights))
    assert [r["force_rmse_test"] for r in listed] == pytest.approx(
        [r["force_rmse_test"] for r in rows], rel=1e-12
    )


@pytest.mark.parametrize(
    "weights, message",
    [
        ([1.0, 2.0], r"one weight per test id \(12\), got 2"),
        ([1.0] * 11 + [-2.0], "test_weights must be finite numbers > 0; test id 'c39'"),
        ([1.0] * 11 + [float("nan")], "test_weights must be finite numbers > 0"),
        ({"c28": 1.0}, "test_weights has no weight for 11 test configuration"),
    ],
)
def test_bad_test_weights_are_refused_naming_them(weights, message):
    blocks, labels = _data()
    ids = sorted(blocks)
    grid = SweepGrid(["1"], subset_sizes=[12], weights=[(30.0, 1.0)], samplers=["random"])
    with pytest.raises(ValueError, match=message):
        run_sweep(
            {4: InMemoryBlocks(blocks)},
            {"1": labels},
            ids[:28],
            ids[28:],
            grid,
            "1",
            test_weights=weights,
        )
