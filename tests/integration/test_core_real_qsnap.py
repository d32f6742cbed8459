"""The streamed fit and leverage on real qSNAP blocks (LAMMPS compute snap, bzeroflag 1,
quadraticflag 1: badly scaled, nearly collinear columns) against the full explicit weighted
matrix solved by scipy.linalg.lstsq and numpy's full SVD."""

import numpy as np
import pytest
import scipy.linalg

from pyiron_appmlip.core import DEFAULT_RCOND, fit_weighted, leverage_scores
from pyiron_appmlip.descriptors import compute_qsnap_blocks
from pyiron_appmlip.structures.candidates import rattled_strained_cells


@pytest.fixture(scope="module")
def real_data():
    structures = rattled_strained_cells(40, seed=11, max_atoms=8)
    blocks = compute_qsnap_blocks(structures, 4)
    rng = np.random.default_rng(3)
    # labels from a smooth "true" model plus noise (any labels do for the algebra)
    true = np.r_[-3.7, 1e-3 * rng.standard_normal(blocks[0].shape[1])]
    energies = [
        true[0] * len(s) + b[0] @ true[1:] + 0.01 * rng.normal()
        for s, b in zip(structures, blocks, strict=True)
    ]
    forces = [
        (b[1:] @ true[1:]).reshape(-1, 3) + 0.05 * rng.normal(size=(len(s), 3))
        for s, b in zip(structures, blocks, strict=True)
    ]
    return blocks, energies, forces


def _weighted_matrix(blocks, energies, forces, w_e, w_f):
    rows, y = [], []
    for b, e, f in zip(blocks, energies, forces, strict=True):
        n = (b.shape[0] - 1) // 3
        rows.append(np.r_[1.0, b[0] / n] * w_e)
        y.append(e / n * w_e)
        rows.extend(np.c_[np.zeros(3 * n), b[1:]] * w_f)
        y.extend(np.ravel(f) * w_f)
    return np.array(rows), np.array(y)


def test_columns_really_are_badly_scaled(real_data):
    blocks, _, _ = real_data
    energy_rows = np.array([b[0] / ((b.shape[0] - 1) // 3) for b in blocks])
    span = np.abs(energy_rows).max(axis=0)
    assert span.max() / span[span > 0].min() > 1e4


@pytest.mark.parametrize("w_e, w_f", [(150.0, 1.0), (12.0, 1.0)])
def test_fit_predictions_equal_lstsq_on_full_matrix(real_data, w_e, w_f):
    blocks, energies, forces = real_data
    a, y = _weighted_matrix(blocks, energies, forces, w_e, w_f)
    c = 1.0 / np.linalg.norm(a, axis=0)  # same column scaling and cutoff convention
    ref = c * scipy.linalg.lstsq(a * c, y, cond=DEFAULT_RCOND)[0]
    model = fit_weighted(blocks, energies, forces, w_e, w_f)
    pred = a @ model.coefficients
    np.testing.assert_allclose(pred, a @ ref, rtol=0, atol=1e-8 * np.abs(a @ ref).max())


def test_leverage_equals_full_svd(real_data):
    blocks, energies, forces = real_data
    a, _ = _weighted_matrix(blocks, energies, forces, 150.0, 1.0)
    a = a * (1.0 / np.linalg.norm(a, axis=0))
    u, s, _ = np.linalg.svd(a, full_matrices=False)
    k = int(np.count_nonzero(s > DEFAULT_RCOND * s[0]))
    h = np.sum(u[:, :k] ** 2, axis=1)
    starts = np.cumsum([0] + [b.shape[0] for b in blocks])
    regular_ref = h[starts[:-1]]
    block_ref = np.add.reduceat(h, starts[:-1])
    regular, block = leverage_scores(blocks, 150.0, 1.0)
    np.testing.assert_allclose(regular, regular_ref, atol=1e-8)
    np.testing.assert_allclose(block, block_ref, atol=1e-8)
    assert block.sum() == pytest.approx(k, rel=1e-8)  # trace of the hat matrix is the rank
