"""Multi-fidelity and Delta fits from streamed statistics against dense least squares."""

import numpy as np
import pytest
import scipy.linalg

from pyiron_appmlip.core import SufficientStatistics, fit_statistics_levels
from pyiron_appmlip.core.multi_fidelity import (
    EnergyFactors,
    check_energy_subset,
    fit_delta,
    fit_level_pair,
    training_calculations,
    training_cost,
)

P = 7


def configurations(n, seed=0, levels=("lo", "hi")):
    """Random blocks and labels at two levels that differ by a smooth shift (as DFT levels do)."""
    rng = np.random.default_rng(seed)
    truth = rng.standard_normal(P + 1)
    shift = 0.2 * rng.standard_normal(P + 1)
    out = []
    for m in range(n):
        n_atoms = int(rng.integers(2, 5))
        block = rng.standard_normal((1 + 3 * n_atoms, P))
        block[0] *= n_atoms
        labels = {}
        for k, lv in enumerate(levels):
            c = truth + k * shift
            e = n_atoms * c[0] + block[0] @ c[1:] + 0.05 * rng.standard_normal()
            f = (block[1:] @ c[1:] + 0.05 * rng.standard_normal(3 * n_atoms)).reshape(-1, 3)
            labels[lv] = (e, f)
        out.append((block, labels, f"c{m}"))
    return out


def stats_of(confs, levels=("lo", "hi")):
    s = SufficientStatistics(P, levels)
    for block, labels, cid in confs:
        s.add(block, labels, config_id=cid)
    return s


def dense_rows(confs, energy_level, force_level, columns=None, target=None):
    """Energy rows (per atom) and force rows with a constant column, built directly."""
    cols = np.arange(P) if columns is None else np.asarray(columns)
    ae, ye, af, yf = [], [], [], []
    for block, labels, _ in confs:
        n = (block.shape[0] - 1) // 3
        if energy_level is not None:
            ae.append(np.r_[1.0, block[0, cols] / n])
            ye.append(target(labels, "e") / n if target else labels[energy_level][0] / n)
        if force_level is not None:
            af.append(np.hstack([np.zeros((3 * n, 1)), block[1:, cols]]))
            yf.append(target(labels, "f") if target else labels[force_level][1].ravel())
    return ae, ye, af, yf


def lstsq(blocks_weights):
    a = np.vstack([w * np.atleast_2d(x) for x, _, w in blocks_weights])
    y = np.concatenate([w * np.atleast_1d(t) for _, t, w in blocks_weights])
    return scipy.linalg.lstsq(a, y)[0]


def test_level_pair_equals_dense_lstsq_with_rows_from_two_levels():
    confs = configurations(12)
    s = stats_of(confs)
    model = fit_level_pair(s, "hi", "lo", 5.0, 1.0)
    ae, ye, _, _ = dense_rows(confs, "hi", None)
    _, _, af, yf = dense_rows(confs, None, "lo")
    expected = lstsq([(np.vstack(ae), np.array(ye), 5.0), (np.vstack(af), np.concatenate(yf), 1.0)])
    np.testing.assert_allclose(model.coefficients, expected, rtol=1e-9, atol=1e-11)
    assert model.level == ("hi", "lo")
    # a mixed fit is not either single-level fit (the test could not pass by accident)
    single = fit_statistics_levels(s, 5.0, 1.0, ["lo", "hi"])
    for lv in ("lo", "hi"):
        assert np.abs(single[lv].coefficients - model.coefficients).max() > 1e-4
    # the same level twice is the single-level fit
    np.testing.assert_allclose(
        fit_level_pair(s, "lo", "lo", 5.0, 1.0).coefficients,
        single["lo"].coefficients,
        rtol=1e-9,
        atol=1e-11,
    )


def test_energy_rows_from_a_smaller_nested_subset():
    confs = configurations(15, seed=1)
    s = SufficientStatistics(P, ("lo", "hi"))
    snapshot = None
    for k, (block, labels, cid) in enumerate(confs):
        s.add(block, labels, config_id=cid)
        if k + 1 == 6:
            snapshot = EnergyFactors.of(s)
    assert snapshot.n_configs == 6
    model = fit_level_pair(s, "hi", "lo", 3.0, 1.0, energy_statistics=snapshot)
    ae, ye, _, _ = dense_rows(confs[:6], "hi", None)
    _, _, af, yf = dense_rows(confs, None, "lo")
    expected = lstsq([(np.vstack(ae), np.array(ye), 3.0), (np.vstack(af), np.concatenate(yf), 1.0)])
    np.testing.assert_allclose(model.coefficients, expected, rtol=1e-9, atol=1e-11)


def test_energy_rows_from_separate_statistics_of_other_configurations():
    confs = configurations(14, seed=2)
    forces, energies = confs[:10], confs[8:]  # overlapping, neither inside the other
    model = fit_level_pair(
        stats_of(forces), "hi", "lo", 2.0, 1.0, energy_statistics=stats_of(energies)
    )
    ae, ye, _, _ = dense_rows(energies, "hi", None)
    _, _, af, yf = dense_rows(forces, None, "lo")
    expected = lstsq([(np.vstack(ae), np.array(ye), 2.0), (np.vstack(af), np.concatenate(yf), 1.0)])
    np.testing.assert_allclose(model.coefficients, expected, rtol=1e-9, atol=1e-11)


def test_delta_model_correction_on_a_column_subset_and_its_sum():
    confs = configurations(16, seed=3)
    base_confs, delta_confs = confs, confs[:9]
    columns = [0, 2, 3, 6]
    model = fit_delta(
        stats_of(base_confs),
        "lo",
        "hi",
        4.0,
        1.0,
        delta_statistics=stats_of(delta_confs),
        columns=columns,
    )
    # base: dense fit to the low level on every configuration
    ae, ye, af, yf = dense_rows(base_confs, "lo", "lo")
    base = lstsq([(np.vstack(ae), np.array(ye), 4.0), (np.vstack(af), np.concatenate(yf), 1.0)])
    np.testing.assert_allclose(model.base.coefficients, base, rtol=1e-9, atol=1e-11)

    # correction: dense fit of (hi - lo) on the column subset, delta configurations only
    def diff(labels, what):
        k = 0 if what == "e" else 1
        d = np.asarray(labels["hi"][k]) - np.asarray(labels["lo"][k])
        return d if what == "e" else d.ravel()

    ae, ye, af, yf = dense_rows(delta_confs, "hi", "hi", columns=columns, target=diff)
    corr = lstsq([(np.vstack(ae), np.array(ye), 4.0), (np.vstack(af), np.concatenate(yf), 1.0)])
    np.testing.assert_allclose(model.correction.coefficients, corr, rtol=1e-9, atol=1e-11)
    # the sum predicts base + correction on any block
    blocks = [b for b, _, _ in configurations(3, seed=9)]
    e_sum, f_sum = model.predict(blocks)
    e_base, f_base = model.base.predict(blocks)
    for m, b in enumerate(blocks):
        n = (b.shape[0] - 1) // 3
        e_corr = n * corr[0] + b[0, columns] @ corr[1:]
        f_corr = (b[1:, columns] @ corr[1:]).reshape(n, 3)
        assert e_sum[m] == pytest.approx(e_base[m] + e_corr, abs=1e-10)
        np.testing.assert_allclose(f_sum[m], f_base[m] + f_corr, atol=1e-10)
    assert model.as_linear_model().level == "hi"


def test_training_cost_counts_each_calculation_once():
    energy_ids, force_ids = ["a", "b"], ["a", "b", "c", "d"]
    cost = {"lo": 1.0, "hi": 10.0}
    # nested energies at a higher level: 4 cheap + 2 expensive calculations
    parts = [(energy_ids, "hi"), (force_ids, "lo")]
    assert training_calculations(parts) == {
        ("a", "hi"),
        ("b", "hi"),
        ("a", "lo"),
        ("b", "lo"),
        ("c", "lo"),
        ("d", "lo"),
    }
    assert training_cost(parts, lambda c, lv: cost[lv]) == 24.0
    # one level for both: energies and forces of one calculation cost one
    assert training_cost([(energy_ids, "lo"), (force_ids, "lo")], lambda c, lv: cost[lv]) == 4.0
    # a mapping works too, and a missing calculation is a KeyError naming it
    table = {(c, lv): cost[lv] for c in force_ids for lv in cost}
    assert training_cost(parts, table) == 24.0
    with pytest.raises(KeyError):
        training_cost([(["z"], "hi")], table)


def test_bad_input_is_named():
    confs = configurations(6, seed=4)
    s = stats_of(confs)
    with pytest.raises(ValueError, match=r"energy_level 'mid' has no labels.*'hi', 'lo'"):
        fit_level_pair(s, "mid", "lo", 1.0, 1.0)
    with pytest.raises(ValueError, match="force_level 'mid'"):
        fit_level_pair(s, "hi", "mid", 1.0, 1.0)
    with pytest.raises(ValueError, match="columns must lie in 0..6"):
        fit_delta(s, "lo", "hi", 1.0, 1.0, columns=[0, 7])
    with pytest.raises(ValueError, match="must not repeat"):
        fit_delta(s, "lo", "hi", 1.0, 1.0, columns=[1, 1])
    only_lo = SufficientStatistics(P, ("lo", "hi"))
    for block, labels, cid in confs:
        only_lo.add(block, {"lo": labels["lo"]}, config_id=cid)
    with pytest.raises(ValueError, match="labelled at both 'lo' and 'hi'"):
        fit_delta(s, "lo", "hi", 1.0, 1.0, delta_statistics=only_lo)
    with pytest.raises(ValueError, match="nested=True but 1 of 2 energy configurations"):
        check_energy_subset(["a", "z"], ["a", "b", "c"], nested=True)
    check_energy_subset(["a", "z"], ["a", "b", "c"], nested=False)
    with pytest.raises(ValueError, match="energy_statistics must be"):
        fit_level_pair(s, "hi", "lo", 1.0, 1.0, energy_statistics=[1, 2])
