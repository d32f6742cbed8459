"""The scatter engine's Gram route on real LAMMPS qSNAP descriptors at 2Jmax 8, where the
column-scaled force Gram of a small subset has a condition estimate above 1e10: its training and
test RMSEs against those of a dense ``scipy.linalg.lstsq`` fit of the stacked weighted rows,
evaluated by a loop over the configurations."""

import warnings

import numpy as np
import pytest
import scipy.linalg

from pyiron_appmlip.core import SufficientStatistics
from pyiron_appmlip.core.subset_scatter import DEFAULT_CONDITION_LIMIT, scatter_subset_fits
from pyiron_appmlip.datasets.formats.paper_hdf import read_paper_dataset
from pyiron_appmlip.descriptors import compute_qsnap_blocks
from pyiron_appmlip.reproduction.paper_standin import write_standin

LEVELS = (1, 6)
WEIGHTS = [(5.0, 1.0), (300.0, 1.0)]  # w_E/w_F 5 and 300, as in the paper's design
RCOND = 1e-10
N_POOL = 13


@pytest.fixture(scope="module")
def configurations(tmp_path_factory):
    """(block, {level: (energy eV, forces eV/Angstrom)}) of 16 stand-in cells of 44-54 Be
    atoms, qSNAP blocks at 2Jmax 8 (p = 1595) from LAMMPS."""
    folder = tmp_path_factory.mktemp("scatter8") / "data"
    write_standin(folder, n=16, seed=5, n_incomplete=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = read_paper_dataset(folder, list(LEVELS))
    ids = list(dataset.ids)
    blocks = compute_qsnap_blocks([dataset.structure(i) for i in ids], 8, elements=("Be",))
    labels = {lv: dataset.labels(lv, ids) for lv in LEVELS}
    return [
        (b, {lv: (labels[lv].energies[i], np.asarray(labels[lv].forces[i])) for lv in LEVELS})
        for i, b in zip(ids, blocks, strict=True)
    ]


def dense_coefficients(configs, w_e, w_f):
    """Column-scaled lstsq (QR with column pivoting) of the stacked weighted rows, one column of
    coefficients per level (constant first)."""
    rows, rhs = [], []
    for block, labels in configs:
        n = (block.shape[0] - 1) // 3
        rows.append(w_e * np.r_[1.0, block[0] / n][None, :])
        rows.append(w_f * np.c_[np.zeros(3 * n), block[1:]])
        rhs.append(w_e * np.array([[labels[lv][0] / n for lv in LEVELS]]))
        rhs.append(w_f * np.column_stack([labels[lv][1].reshape(-1) for lv in LEVELS]))
    a, y = np.vstack(rows), np.vstack(rhs)
    d = 1.0 / np.linalg.norm(a, axis=0)
    return d[:, None] * scipy.linalg.lstsq(a * d, y, cond=RCOND, lapack_driver="gelsy")[0]


def loop_rmse(configs, beta, level):
    """(energy RMSE meV/atom, force RMSE meV/Angstrom), one configuration at a time."""
    de, df = [], []
    for block, labels in configs:
        n = (block.shape[0] - 1) // 3
        e, f = labels[level]
        de.append((n * beta[0] + block[0] @ beta[1:] - e) / n)
        df.append(block[1:] @ beta[1:] - f.reshape(-1))
    de, df = np.array(de), np.concatenate(df)
    return 1000 * np.sqrt(np.mean(de**2)), 1000 * np.sqrt(np.mean(df**2))


def test_gram_route_above_the_old_limit_gives_the_rmses_of_dense_lstsq(configurations):
    pool, tests = configurations[:N_POOL], configurations[N_POOL:]
    p = pool[0][0].shape[1]
    test_stats = SufficientStatistics(p, LEVELS)
    for block, labels in tests:
        test_stats.add(block, labels, partition="test")
    subset = np.r_[np.arange(N_POOL), [2, 7, 7]]  # 16 draws, two configurations repeated
    ((info, fits),) = scatter_subset_fits(
        [(k, b, lab) for k, (b, lab) in enumerate(pool)],
        [subset],
        WEIGHTS,
        LEVELS,
        n_descriptors=p,
        n_pool=N_POOL,
        test_statistics=test_stats,
        rcond=RCOND,
    )
    assert info.route == "gram"
    # about 2.4e12: above the earlier limit of 1e10, which sent it to the streamed route
    assert 1e10 < info.condition <= DEFAULT_CONDITION_LIMIT, info.condition
    drawn = [pool[k] for k in subset]
    assert len(fits) == len(WEIGHTS) * len(LEVELS)
    for w_e, w_f in WEIGHTS:
        ref = dense_coefficients(drawn, w_e, w_f)
        for j, lv in enumerate(LEVELS):
            (fit,) = (f for f in fits if f.energy_weight == w_e and f.level == lv)
            train = loop_rmse(drawn, ref[:, j], lv)
            assert fit.train.energy_rmse == pytest.approx(train[0], rel=1e-6)
            assert fit.train.force_rmse == pytest.approx(train[1], rel=1e-6)
            for test_level in LEVELS:
                test = loop_rmse(tests, ref[:, j], test_level)
                assert fit.test[test_level].energy_rmse == pytest.approx(test[0], rel=1e-6)
                assert fit.test[test_level].force_rmse == pytest.approx(test[1], rel=1e-6)
