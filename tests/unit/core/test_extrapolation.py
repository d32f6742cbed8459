"""Extrapolation grades against independent dense computations: ``b^T inv(A^T A) b`` and
``b^T pinv(A^T A) b`` (numpy) from the dense weighted design built row by row here, and
MaxVol's gamma from ``np.linalg.solve`` on the active rows."""

import numpy as np
import pytest

from pyiron_appmlip.core.extrapolation import (
    ExtrapolationGrade,
    GradeThresholds,
    leverage_grade,
    leverage_grade_from_statistics,
    maxvol_grade,
)
from pyiron_appmlip.core.statistics import SufficientStatistics


def _blocks(m=30, p=6, max_atoms=4, seed=1):
    rng = np.random.default_rng(seed)
    scales = rng.uniform(0.1, 10.0, p)  # badly scaled columns, as real descriptors
    out = []
    for _ in range(m):
        n = int(rng.integers(1, max_atoms + 1))
        out.append(rng.normal(size=(1 + 3 * n, p)) * scales)
    return out


def _dense_weighted(blocks, w_e, w_f, factors=None):
    """The fit's weighted design, one row at a time: w_E f_E [1, X0/N], w_F f_F [0, X]."""
    rows = []
    for i, b in enumerate(blocks):
        f_e, f_f = (1.0, 1.0) if factors is None else factors[i][:2]
        n = (b.shape[0] - 1) // 3
        rows.append(w_e * f_e * np.r_[1.0, b[0] / n])
        for r in b[1:]:
            rows.append(w_f * f_f * np.r_[0.0, r])
    return np.array(rows)


def _direct(a, b, ridge=0.0):
    gram = a.T @ a
    gram[1:, 1:] += ridge * np.eye(gram.shape[0] - 1)
    return np.array([row @ np.linalg.solve(gram, row) for row in np.atleast_2d(b)])


def _atom_rows(m=20, p=6, seed=3):
    rng = np.random.default_rng(seed)
    return np.c_[np.ones(m), rng.normal(size=(m, p)) * rng.uniform(0.1, 10.0, p)]


# -- thresholds ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "values", [(0.0, 1.0, 2.0), (2.0, 1.0, 3.0), (1.0, 3.0, 2.0), (1.0, float("inf"), 2.0)]
)
def test_thresholds_out_of_order_are_refused(values):
    with pytest.raises(ValueError, match=r"thresholds.*0 < warn <= collect <= stop"):
        GradeThresholds(*values)


def test_thresholds_reject_text_and_wrong_length():
    with pytest.raises(ValueError, match="thresholds"):
        GradeThresholds("1", 2.0, 3.0)
    with pytest.raises(ValueError, match="thresholds"):
        GradeThresholds.make((1.0, 2.0))
    with pytest.raises(ValueError, match="missing"):
        GradeThresholds.make({"warn": 1.0, "stop": 2.0})
    assert GradeThresholds.make({"warn": 1, "collect": 1, "stop": 5}).as_tuple() == (1, 1, 5)


# -- leverage --------------------------------------------------------------------------------
@pytest.mark.parametrize("w_e,w_f", [(1.0, 1.0), (150.0, 1.0), (5.0, 0.3)])
def test_leverage_from_statistics_equals_dense_inverse(w_e, w_f):
    blocks = _blocks()
    stats = SufficientStatistics(6)
    for b in blocks:
        stats.add(b)
    a = _dense_weighted(blocks, w_e, w_f)
    probe = _atom_rows(10, seed=7)
    expected = _direct(a, probe)
    grade = leverage_grade_from_statistics(stats, w_e, w_f, thresholds=(1, 2, 3))
    np.testing.assert_allclose(grade.per_atom(probe), expected, rtol=1e-8)
    # the same from the dense matrix itself and from its Gram matrix
    np.testing.assert_allclose(
        leverage_grade(a, thresholds=(1, 2, 3)).per_atom(probe), expected, rtol=1e-8
    )
    np.testing.assert_allclose(
        leverage_grade(gram=a.T @ a, thresholds=(1, 2, 3)).per_atom(probe), expected, rtol=1e-6
    )
    # a training energy row graded: w_E^2 g is its leverage, between 0 and 1
    h = w_e**2 * grade.per_atom(np.r_[1.0, blocks[0][0] / ((blocks[0].shape[0] - 1) // 3)])
    hat = a @ np.linalg.pinv(a)
    assert h[0] == pytest.approx(hat[0, 0], rel=1e-8)
    assert 0 < h[0] <= 1 + 1e-12


def test_leverage_with_weight_factors_ridge_and_levels():
    blocks = _blocks(seed=4)
    factors = [(2.0, 0.5, 1.0) if i % 3 == 0 else (1.0, 1.0, 1.0) for i in range(len(blocks))]
    stats = SufficientStatistics(6, levels=("a", "b"))
    rng = np.random.default_rng(0)
    for i, b in enumerate(blocks):
        n = (b.shape[0] - 1) // 3
        labels = {"a": (rng.normal(), rng.normal(size=(n, 3)))}
        if i % 4:  # configurations 0, 4, 8, ... only carry level "a"
            labels["b"] = (rng.normal(), rng.normal(size=(n, 3)))
        stats.add(b, labels, factors=factors[i])
    probe = _atom_rows(6, seed=9)
    a = _dense_weighted(blocks, 10.0, 1.0, factors)
    grade = leverage_grade_from_statistics(stats, 10.0, 1.0, ridge=0.3, thresholds=(1, 2, 3))
    np.testing.assert_allclose(grade.per_atom(probe), _direct(a, probe, 0.3), rtol=1e-8)
    keep = [i for i in range(len(blocks)) if i % 4]
    a_b = _dense_weighted([blocks[i] for i in keep], 10.0, 1.0, [factors[i] for i in keep])
    grade_b = leverage_grade_from_statistics(stats, 10.0, 1.0, level="b", thresholds=(1, 2, 3))
    np.testing.assert_allclose(grade_b.per_atom(probe), _direct(a_b, probe), rtol=1e-8)


def test_rank_deficient_design_inside_span_is_pinv_outside_grades_high():
    rng = np.random.default_rng(5)
    base = rng.normal(size=(40, 4)) * [1.0, 3.0, 0.2, 7.0]
    a = np.c_[base, base[:, 1] - 2.0 * base[:, 2]]  # column 4 depends on columns 1 and 2
    inside = rng.normal(size=(5, 4))
    inside = np.c_[inside, inside[:, 1] - 2.0 * inside[:, 2]]
    outside = inside.copy()
    outside[:, 4] += 0.01 * np.abs(inside[:, 4]).max()
    grade = leverage_grade(a, thresholds=(1, 2, 3))
    assert grade.rank == 4
    pinv = np.linalg.pinv(a.T @ a)
    expected = np.einsum("ij,jk,ik->i", inside, pinv, inside)
    np.testing.assert_allclose(grade.per_atom(inside), expected, rtol=1e-6)
    # a plain pseudo-inverse would give the outside rows a modest value; the grade is huge
    plain = np.einsum("ij,jk,ik->i", outside, pinv, outside)
    assert np.all(grade.per_atom(outside) > 1e8 * plain)


def test_leverage_thresholds_calibrated_on_training_atoms():
    blocks = _blocks(seed=2)
    stats = SufficientStatistics(6)
    for b in blocks:
        stats.add(b)
    train = _atom_rows(15, seed=11)
    grade = leverage_grade_from_statistics(stats, 100.0, 1.0, training_rows=[train[:7], train[7:]])
    tau = _direct(_dense_weighted(blocks, 100.0, 1.0), train).max()
    assert grade.training_max == pytest.approx(tau, rel=1e-8)
    assert grade.thresholds.as_tuple() == pytest.approx((tau, 4 * tau, 100 * tau), rel=1e-8)
    assert grade.level(grade.per_atom(train)) == "ok"
    assert grade.level(1.5 * tau) == "warn"
    assert grade.level(5 * tau) == "collect"
    assert grade.level(101 * tau) == "stop"
    assert list(grade.levels([0.5 * tau, 2 * tau, 50 * tau, 200 * tau])) == [
        "ok",
        "warn",
        "collect",
        "stop",
    ]


def test_leverage_needs_thresholds_or_training_rows_and_one_matrix():
    a = _dense_weighted(_blocks(), 1.0, 1.0)
    with pytest.raises(ValueError, match="thresholds must be given, or training_rows"):
        leverage_grade(a)
    with pytest.raises(ValueError, match="exactly one of factor"):
        leverage_grade(a, gram=a.T @ a, thresholds=(1, 2, 3))
    with pytest.raises(ValueError, match="rcond"):
        leverage_grade(a, thresholds=(1, 2, 3), rcond=0.0)
    with pytest.raises(ValueError, match="training_rows"):
        leverage_grade(a, training_rows=np.ones((3, 5)))
    with pytest.raises(ValueError, match="multiples"):
        leverage_grade(a, training_rows=np.ones((3, 7)), multiples=(1, 0.5, 2))


# -- MaxVol ----------------------------------------------------------------------------------
def test_maxvol_gamma_equals_solve_on_active_rows():
    train = _atom_rows(60, seed=12)
    grade = maxvol_grade([train[:25], train[25:]])
    assert grade.rank == train.shape[1]
    active = train[grade.active_set]
    probe = np.vstack([_atom_rows(8, seed=13), 3.0 * _atom_rows(2, seed=14)])
    expected = np.abs(np.linalg.solve(active.T, probe.T)).max(axis=0)
    np.testing.assert_allclose(grade.per_atom(probe), expected, rtol=1e-8)
    gamma_train = grade.per_atom(train)
    assert gamma_train.max() <= 1.001 + 1e-9
    np.testing.assert_allclose(grade.per_atom(active), 1.0, rtol=1e-9)
    assert grade.thresholds.as_tuple() == pytest.approx((1.0, 2.0, 10.0), rel=1e-3)


def test_maxvol_fewer_atoms_than_columns_grades_outside_span_high():
    train = _atom_rows(4, p=6, seed=15)  # 4 atoms, 7 columns: rank 4
    grade = maxvol_grade(train)
    assert grade.rank == 4
    inside = np.array([[0.3, -0.2, 0.6, 0.3]]) @ train
    coefficients = np.linalg.lstsq(train.T, inside.T, rcond=None)[0]
    assert grade.per_atom(inside)[0] == pytest.approx(np.abs(coefficients).max(), rel=1e-8)
    outside = inside + 1e-3 * np.r_[0, 1, 0, 0, 0, 0, 0] * np.abs(train[:, 1]).max()
    assert grade.per_atom(outside)[0] > 1e4


# -- the grade object ------------------------------------------------------------------------
def test_round_trip_per_structure_and_errors(tmp_path):
    train = _atom_rows(40, seed=16)
    for grade in (
        maxvol_grade(train),
        leverage_grade(_dense_weighted(_blocks(), 3.0, 1.0), training_rows=train),
    ):
        stored = grade.to_dict()
        np.savez(tmp_path / "g.npz", **stored)  # plain arrays and scalars only
        with np.load(tmp_path / "g.npz") as data:
            back = ExtrapolationGrade.from_dict({k: data[k] for k in data.files})
        probe = _atom_rows(5, seed=17)
        np.testing.assert_allclose(back.per_atom(probe), grade.per_atom(probe), rtol=1e-12)
        assert back.kind == grade.kind and back.thresholds == grade.thresholds
        structures = [probe[:2], probe[2:]]
        expected = [grade.per_atom(probe[:2]).max(), grade.per_atom(probe[2:]).max()]
        np.testing.assert_allclose(grade.per_structure(structures), expected)
        with pytest.raises(ValueError, match=r"rows must have shape \(n_atoms, 7\)"):
            grade.per_atom(probe[:, 1:])
        with pytest.raises(ValueError, match="rows_list must be a list"):
            grade.per_structure(probe)
        with pytest.raises(ValueError, match="thresholds"):
            grade.with_thresholds((3.0, 2.0, 1.0))
    with pytest.raises(ValueError, match=r"kind must be one of \['leverage', 'maxvol'\]"):
        ExtrapolationGrade("gamma", (1, 2, 3), 2, np.ones(2), np.eye(2), np.ones(2), 1.0)


def test_calibrated_in_pieces_equals_calibrated_at_once():
    a = _dense_weighted(_blocks(seed=6), 20.0, 1.0)
    train = _atom_rows(30, seed=18)
    at_once = leverage_grade(a, training_rows=train)
    placeholder = leverage_grade(a, thresholds=(1.0, 1.0, 1.0))
    tau = max(placeholder.per_atom(train[:10]).max(), placeholder.per_atom(train[10:]).max())
    pieces = placeholder.calibrated(tau)
    assert pieces.thresholds.as_tuple() == pytest.approx(at_once.thresholds.as_tuple(), rel=1e-12)
    assert pieces.training_max == pytest.approx(at_once.training_max, rel=1e-12)
    gamma = maxvol_grade(train).calibrated(0.5)  # MaxVol: never below 1, 2, 10
    assert gamma.thresholds.as_tuple() == (1.0, 2.0, 10.0)
    with pytest.raises(ValueError, match="training_max must be a positive number"):
        placeholder.calibrated(0.0)
    with pytest.raises(ValueError, match="multiples"):
        placeholder.calibrated(1.0, multiples=(1.0, 2.0))
