"""Stress rows and per-configuration weight factors in the streamed statistics, the fit and the
errors, against the explicit weighted matrix solved by scipy.linalg.lstsq and a brute-force loop."""

import os
import sys

import numpy as np
import pytest
import scipy.linalg

sys.path.insert(0, os.path.dirname(__file__))
from test_core_synthetic import assert_rel, random_dataset  # noqa: E402

from pyiron_appmlip.core import (  # noqa: E402
    DEFAULT_RCOND,
    SufficientStatistics,
    direct_errors,
    fit_statistics,
    fit_statistics_levels,
    fit_weighted,
    iter_checkpoints,
    statistics_errors,
    subset_fits,
)
from pyiron_appmlip.core.units import EV_PER_A3_TO_GPA  # noqa: E402

LEVELS = (1, 2)
FACTORS = [(1.0, 1.0, 1.0), (2.0, 0.5, 3.0), (0.5, 1.5, 0.0)]
_DATA = os.path.join(os.path.dirname(__file__), "data", "statistics_v1.npz")


def stress_dataset(seed, n_configs=30, p=8, atoms=(1, 5)):
    """Random blocks with six virial rows, volumes, labels at levels 1 and 2 (stresses offset
    from the energy/force model, so that stress rows change a fit) with stresses missing for some configurations (None), for some levels only, and one NaN component;
    weight factors from three groups."""
    rng = np.random.default_rng(seed)
    beta = rng.standard_normal(p)
    configs = []
    for m in range(n_configs):
        n = int(rng.integers(atoms[0], atoms[1]))
        b = rng.standard_normal((1 + 3 * n + 6, p))
        b[0] *= n
        b[-6:] *= 10.0 * n  # virial rows: eV, grow with the cell
        volume = float(12.0 * n * (1.0 + 0.2 * rng.random()))
        labels = {}
        for j, lv in enumerate(LEVELS):
            e = -3.0 * n + b[0] @ beta + 0.1 * (j + 1) * rng.standard_normal() * n
            f = (b[1 : 1 + 3 * n] @ beta).reshape(n, 3) + 0.05 * rng.standard_normal((n, 3))
            s = -(b[-6:] @ beta) / volume + 0.05 * (j + 1) + 0.01 * rng.standard_normal(6)
            if m % 5 == 0 or (lv == 2 and m % 3 == 0):
                s = None  # not recorded (at this level)
            elif m == 7:
                s = s.copy()
                s[3] = np.nan  # one component not recorded
            labels[lv] = (e, f, s)
        if m % 6 == 1:
            labels = {1: labels[1]}  # a second label mask
        configs.append(
            {
                "block": b,
                "labels": labels,
                "volume": volume,
                "factors": FACTORS[m % 3],
                "n": n,
            }
        )
    return configs


def _fill(stats, configs, partition_of=lambda m: "train", factors=True, stress=True):
    for m, c in enumerate(configs):
        labels = c["labels"]
        if not stress:
            labels = {lv: v[:2] for lv, v in labels.items()}
        stats.add(
            c["block"],
            labels,
            partition_of(m),
            f"c{m}",
            virial=True,
            volume=c["volume"],
            factors=c["factors"] if factors else None,
        )
    return stats


def explicit_system(configs, level, w_e, w_f, w_s, factors=True):
    """The weighted matrix W A and W y with energy, force and stress rows, row by row."""
    rows, ys = [], []
    for c in configs:
        if level not in c["labels"]:
            continue
        b, n, vol = c["block"], c["n"], c["volume"]
        e, f, s = c["labels"][level]
        fe, ff, fs = c["factors"] if factors else (1.0, 1.0, 1.0)
        rows.append(w_e * fe * np.r_[1.0, b[0] / n])
        ys.append(w_e * fe * e / n)
        for k in range(3 * n):
            rows.append(w_f * ff * np.r_[0.0, b[1 + k]])
            ys.append(w_f * ff * f.ravel()[k])
        for k in range(6):
            if s is not None and np.isfinite(s[k]):
                rows.append(w_s * fs * np.r_[0.0, -b[1 + 3 * n + k] / vol])
                ys.append(w_s * fs * s[k])
    return np.array(rows), np.array(ys)


def lstsq_scaled(a, y, rcond=DEFAULT_RCOND):
    norms = np.linalg.norm(a, axis=0)
    d = np.where(norms > 0, 1.0 / np.where(norms > 0, norms, 1.0), 1.0)
    z, _, rank, _ = scipy.linalg.lstsq(a * d, y, cond=rcond)
    return d * z, rank


@pytest.mark.parametrize("w_e, w_f, w_s", [(1.0, 1.0, 1.0), (150.0, 1.0, 30.0), (3.0, 1.0, 2.0)])
@pytest.mark.parametrize("level", LEVELS)
def test_stress_fit_equals_lstsq_on_explicit_matrix(w_e, w_f, w_s, level):
    configs = stress_dataset(1)
    stats = _fill(SufficientStatistics(8, levels=LEVELS, chunk_rows=11), configs)
    a, y = explicit_system(configs, level, w_e, w_f, w_s)
    ref, rank = lstsq_scaled(a, y)
    models = fit_statistics_levels(stats, w_e, w_f, stress_weight=w_s)
    model = models[level]
    assert model.rank == rank == 9
    assert model.stress_weight == w_s
    assert_rel(model.coefficients, ref, 1e-9)
    assert_rel(a @ model.coefficients, a @ ref, 1e-9)
    # the stress rows matter: without them the fit is another one
    without = fit_statistics(stats, w_e, w_f, level)
    assert np.max(np.abs(without.coefficients - model.coefficients)) > 1e-4


def test_stress_fit_with_ridge_and_without_column_scaling():
    configs = stress_dataset(2, n_configs=20, p=6)
    stats = _fill(SufficientStatistics(6, levels=LEVELS), configs)
    a, y = explicit_system(configs, 2, 12.0, 1.0, 5.0)
    reg = np.zeros((6, 7))
    reg[np.arange(6), 1 + np.arange(6)] = np.sqrt(0.3)
    ref = scipy.linalg.lstsq(np.vstack([a, reg]), np.r_[y, np.zeros(6)], cond=1e-12)[0]
    model = fit_statistics(
        stats, 12.0, 1.0, 2, stress_weight=5.0, ridge=0.3, rcond=1e-12, scale_columns=False
    )
    assert_rel(model.coefficients, ref, 1e-10)


def test_group_factors_equal_explicitly_scaled_rows_and_leave_errors_plain():
    configs = stress_dataset(3)
    weighted = _fill(SufficientStatistics(8, levels=LEVELS), configs)
    plain = _fill(SufficientStatistics(8, levels=LEVELS), configs, factors=False)
    for w in ((12.0, 1.0, 3.0), (1.0, 2.0, 0.0)):
        a, y = explicit_system(configs, 1, *w)
        ref, _ = lstsq_scaled(a, y)
        got = fit_statistics(weighted, w[0], w[1], 1, stress_weight=w[2])
        assert_rel(got.coefficients, ref, 1e-9)
        a0, y0 = explicit_system(configs, 1, *w, factors=False)
        assert_rel(
            fit_statistics(plain, w[0], w[1], 1, stress_weight=w[2]).coefficients,
            lstsq_scaled(a0, y0)[0],
            1e-9,
        )
        assert np.max(np.abs(got.coefficients - lstsq_scaled(a0, y0)[0])) > 1e-4
    # the factors weight the fit, not the errors
    c = np.linspace(-0.2, 0.3, 9)
    for lv in LEVELS:
        a, b = statistics_errors(weighted, c, lv, "train"), statistics_errors(plain, c, lv, "train")
        for name in ("energy_rmse", "energy_rmse_shifted", "force_rmse", "stress_rmse"):
            assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-10)
        assert a.n_stress_components == b.n_stress_components > 0


def test_stress_weight_zero_and_unit_factors_are_todays_fit_bitwise():
    configs = stress_dataset(4)
    with_stress = _fill(SufficientStatistics(8, levels=LEVELS), configs, factors=False)
    # the same rows without virial rows or stresses: today's statistics
    today = SufficientStatistics(8, levels=LEVELS)
    for m, c in enumerate(configs):
        labels = {lv: v[:2] for lv, v in c["labels"].items()}
        today.add(c["block"][: 1 + 3 * c["n"]], labels, "train", f"c{m}")
    for w in ((150.0, 1.0), (12.0, 1.0)):
        for ridge in (0.0, 0.1):
            a = fit_statistics_levels(with_stress, *w, ridge=ridge)
            b = fit_statistics_levels(today, *w, ridge=ridge, stress_weight=0.0)
            ones = fit_statistics_levels(
                _fill(SufficientStatistics(8, levels=LEVELS), configs, factors=False),
                *w,
                ridge=ridge,
            )
            for lv in LEVELS:
                assert np.array_equal(a[lv].coefficients, b[lv].coefficients)
                assert np.array_equal(ones[lv].coefficients, b[lv].coefficients)
                ea = statistics_errors(with_stress, a[lv].coefficients, lv, "train")
                eb = statistics_errors(today, b[lv].coefficients, lv, "train")
                assert (ea.energy_rmse, ea.force_rmse) == (eb.energy_rmse, eb.force_rmse)
                assert np.isnan(eb.stress_rmse) and eb.n_stress_components == 0


def _brute_force_stress_rmse(coefficients, configs, level):
    sq, count = 0.0, 0
    for c in configs:
        if level not in c["labels"]:
            continue
        s = c["labels"][level][2]
        if s is None:
            continue
        n, vol = c["n"], c["volume"]
        for k in range(6):
            if np.isfinite(s[k]):
                predicted = -float(c["block"][1 + 3 * n + k] @ coefficients[1:]) / vol
                sq += (predicted - s[k]) ** 2
                count += 1
    return EV_PER_A3_TO_GPA * np.sqrt(sq / count), count


def test_stress_errors_equal_a_brute_force_loop():
    configs = stress_dataset(5, n_configs=40)
    part = lambda m: "train" if m % 4 else "test"  # noqa: E731
    stats = _fill(SufficientStatistics(8, levels=LEVELS), configs, part)
    model = fit_statistics(stats, 12.0, 1.0, 1, stress_weight=2.0)
    for partition in ("train", "test"):
        subset = [c for m, c in enumerate(configs) if part(m) == partition]
        for lv in LEVELS:
            got = statistics_errors(stats, model.coefficients, lv, partition)
            want, count = _brute_force_stress_rmse(model.coefficients, subset, lv)
            assert got.stress_rmse == pytest.approx(want, rel=1e-9)
            assert got.n_stress_components == count == stats.n_stress_components(partition, lv)
            with_level = [c for c in subset if lv in c["labels"]]
            direct = direct_errors(
                model.coefficients,
                [c["block"] for c in with_level],
                [c["labels"][lv][0] for c in with_level],
                [c["labels"][lv][1] for c in with_level],
                [c["labels"][lv][2] for c in with_level],
                [c["volume"] for c in with_level],
            )
            assert direct.stress_rmse == pytest.approx(want, rel=1e-12)
            assert direct.n_stress_components == count
            assert direct.force_rmse == pytest.approx(got.force_rmse, rel=1e-9)
            n_cfg = sum(1 for c in with_level if c["labels"][lv][2] is not None)
            assert stats.n_stress_configs(partition, lv) == n_cfg
    # the model's stress prediction is the stress row of the fit
    c = configs[1]
    s = model.predict_stress([c["block"]], [c["volume"]])[0]
    n = c["n"]
    assert np.allclose(s, -(c["block"][1 + 3 * n :] @ model.coefficients[1:]) / c["volume"])
    energies, forces = model.predict([c["block"]], virial=True)
    assert forces[0].shape == (n, 3)


def test_fit_weighted_with_stresses_equals_lstsq():
    configs = [c for c in stress_dataset(6) if 1 in c["labels"]]
    blocks = [c["block"] for c in configs]
    e = [c["labels"][1][0] for c in configs]
    f = [c["labels"][1][1] for c in configs]
    s = [c["labels"][1][2] for c in configs]
    vol = [c["volume"] for c in configs]
    fac = [c["factors"] for c in configs]
    model = fit_weighted(
        blocks, e, f, 20.0, 1.0, stress_weight=4.0, stresses=s, volumes=vol, factors=fac
    )
    a, y = explicit_system(configs, 1, 20.0, 1.0, 4.0)
    assert_rel(model.coefficients, lstsq_scaled(a, y)[0], 1e-9)
    errors = model.errors(blocks, e, f, s, vol)
    assert errors.stress_rmse == pytest.approx(
        _brute_force_stress_rmse(model.coefficients, configs, 1)[0], rel=1e-12
    )


def test_stress_statistics_round_trip_merge_and_copy():
    configs = stress_dataset(7, n_configs=36)
    part = lambda m: "train" if m % 3 else "test"  # noqa: E731
    whole = _fill(SufficientStatistics(8, levels=LEVELS), configs, part)
    first = _fill(SufficientStatistics(8, levels=LEVELS), configs[:15], part)
    second = SufficientStatistics(8, levels=LEVELS)
    for m, c in enumerate(configs[15:], start=15):
        second.add(
            c["block"],
            c["labels"],
            part(m),
            f"c{m}",
            virial=True,
            volume=c["volume"],
            factors=c["factors"],
        )
    merged = first.merge(second)
    loaded = SufficientStatistics.from_dict({k: v.copy() for k, v in whole.to_dict().items()})
    copied = whole.copy()
    meta = bytes(whole.to_dict()["meta_json"]).decode()
    assert '"version": 2' in meta
    for other in (merged, loaded, copied):
        for lv in LEVELS:
            for partition in ("train", "test"):
                assert other.n_stress_components(partition, lv) == whole.n_stress_components(
                    partition, lv
                )
                assert other.n_stress_configs(partition, lv) == whole.n_stress_configs(
                    partition, lv
                )
        assert other.n_stress_configs() == whole.n_stress_configs() > 0
        assert other.n_stress_components() == whole.n_stress_components()
        a = fit_statistics_levels(whole, 10.0, 1.0, stress_weight=3.0)
        b = fit_statistics_levels(other, 10.0, 1.0, stress_weight=3.0)
        for lv in LEVELS:
            assert_rel(b[lv].coefficients, a[lv].coefficients, 1e-10)
            ea = statistics_errors(whole, a[lv].coefficients, lv, "test")
            eb = statistics_errors(other, a[lv].coefficients, lv, "test")
            np.testing.assert_allclose(eb.stress_rmse, ea.stress_rmse, rtol=1e-10)
            assert eb.energy_rmse == pytest.approx(ea.energy_rmse, rel=1e-10)
    assert np.isnan(statistics_errors(whole, a[2].coefficients, 2, "test").stress_rmse)
    # loaded statistics keep accumulating like the original
    more = stress_dataset(8, n_configs=5)
    for m, c in enumerate(more):
        for s in (whole, loaded):
            s.add(
                c["block"],
                c["labels"],
                "train",
                f"more{m}",
                virial=True,
                volume=c["volume"],
                factors=c["factors"],
            )
    assert_rel(
        fit_statistics(loaded, 3.0, 1.0, 1, stress_weight=1.0).coefficients,
        fit_statistics(whole, 3.0, 1.0, 1, stress_weight=1.0).coefficients,
        1e-10,
    )


def _close_to_stored(actual, stored, rel=1e-12):
    """Every entry within ``rel`` times the largest entry of the stored array."""
    scale = max(float(np.max(np.abs(stored), initial=0.0)), 1e-300)
    return bool(np.all(np.abs(np.asarray(actual) - stored) <= rel * scale))


def test_version_1_statistics_still_load():
    """statistics_v1.npz was written by the version-1 code (before stresses) from
    random_dataset(41, n_configs=12, p=4, atoms=(1, 4), levels=(1, "six")), every fourth
    configuration with level "six" only, every third in "test"."""
    with np.load(_DATA) as data:
        old = SufficientStatistics.from_dict({k: data[k] for k in data.files})
    assert '"version": 1' in bytes(np.load(_DATA)["meta_json"]).decode()
    blocks, labels = random_dataset(41, n_configs=12, p=4, atoms=(1, 4), levels=(1, "six"))
    labels = [lab if i % 4 else {"six": lab["six"]} for i, lab in enumerate(labels)]
    now = SufficientStatistics(4, levels=(1, "six"))
    for i, (b, lab) in enumerate(zip(blocks, labels, strict=True)):
        now.add(b, lab, "train" if i % 3 else "test", f"c{i}")
    assert old.config_ids("test") == now.config_ids("test")
    assert old.n_stress_components() == 0
    # the rows are accumulated as by the version-1 code: the same arrays up to rounding (the
    # file was written on another machine, whose BLAS may round differently)
    with np.load(_DATA) as data:
        written = now.to_dict()
        keys = [key for key in data.files if key != "meta_json"]
        assert sorted(keys) == sorted(k for k in written if k != "meta_json")
        for key in keys:
            assert written[key].shape == data[key].shape, key
            assert _close_to_stored(written[key], data[key]), key
        # the tolerance still catches a real change: one entry off by 1e-9 of the array's scale
        key = keys[0]
        changed = written[key].copy()
        k = np.argmax(np.abs(changed))
        changed.flat[k] += 1e-9 * np.abs(changed).max()
        assert not _close_to_stored(changed, data[key])
    for lv in (1, "six"):
        a = fit_statistics(old, 7.0, 1.0, lv)
        b = fit_statistics(now, 7.0, 1.0, lv)
        assert_rel(a.coefficients, b.coefficients, 1e-12)
        for part in ("train", "test"):
            ea = statistics_errors(old, a.coefficients, lv, part)
            eb = statistics_errors(now, a.coefficients, lv, part)
            assert (ea.n_configs, ea.n_force_components) == (eb.n_configs, eb.n_force_components)
            assert ea.energy_rmse == pytest.approx(eb.energy_rmse, rel=1e-12)
            assert ea.force_rmse == pytest.approx(eb.force_rmse, rel=1e-12)
            assert np.isnan(ea.stress_rmse)
    # and can be extended with stresses and written as version 2
    c = stress_dataset(9, n_configs=2, p=4)[1]
    old.add(c["block"], {1: c["labels"][1]}, "train", "new", virial=True, volume=c["volume"])
    again = SufficientStatistics.from_dict(old.to_dict())
    assert again.n_stress_components("train", 1) == old.n_stress_components("train", 1) > 0


def test_iter_checkpoints_and_subset_fits_pass_options():
    configs = stress_dataset(10, n_configs=20)
    stream = [
        (
            c["block"],
            c["labels"],
            f"c{m}",
            {"virial": True, "volume": c["volume"], "factors": c["factors"]},
        )
        for m, c in enumerate(configs)
    ]
    records = subset_fits(stream, [10, 20], [(5.0, 1.0)], [1], stress_weight=2.0)
    for rec in records:
        sub = configs[: rec.subset_size]
        a, y = explicit_system(sub, 1, 5.0, 1.0, 2.0)
        assert_rel(rec.model.coefficients, lstsq_scaled(a, y)[0], 1e-9)
        assert rec.stress_weight == 2.0
        want, _ = _brute_force_stress_rmse(rec.model.coefficients, sub, 1)
        assert rec.train.stress_rmse == pytest.approx(want, rel=1e-9)
    sizes = [size for size, _ in iter_checkpoints(stream, [5, 12], LEVELS)]
    assert sizes == [5, 12]


def test_stress_input_errors():
    c = stress_dataset(11, n_configs=2)[0]
    b, n, vol = c["block"], c["n"], c["volume"]
    e, f, s = c["labels"][1]
    s = np.arange(6) * 0.01
    stats = SufficientStatistics(8, levels=LEVELS)
    with pytest.raises(ValueError, match="virial rows"):
        stats.add(b[: 1 + 3 * n], {1: (e, f, s)})
    with pytest.raises(ValueError, match="volume"):
        stats.add(b, {1: (e, f, s)}, virial=True)
    with pytest.raises(ValueError, match="volume must be a finite number > 0"):
        stats.add(b, {1: (e, f, s)}, virial=True, volume=-1.0)
    with pytest.raises(ValueError, match=r"1 \+ 3 N \+ 6 rows"):
        stats.add(b[:-1], {1: (e, f)}, virial=True)
    with pytest.raises(ValueError, match="stress must be six numbers"):
        stats.add(b, {1: (e, f, [1.0, 2.0])}, virial=True, volume=vol)
    with pytest.raises(ValueError, match="inf"):
        stats.add(b, {1: (e, f, np.r_[np.inf, s[1:]])}, virial=True, volume=vol)
    with pytest.raises(ValueError, match="factors must be three finite numbers >= 0"):
        stats.add(b, {1: (e, f)}, virial=True, factors=(1.0, -1.0, 1.0))
    with pytest.raises(ValueError, match="pair"):
        stats.add(b, {1: (e,)}, virial=True)
    assert stats.n_configs() == 0
    # a 3x3 stress is its Voigt components; all-NaN is "not recorded"
    stats.add(b, {1: (e, f, np.full(6, np.nan))}, virial=True)
    tensor = np.array([[s[0], s[5], s[4]], [s[5], s[1], s[3]], [s[4], s[3], s[2]]])
    a = SufficientStatistics(8, levels=LEVELS)
    a.add(b, {1: (e, f, tensor)}, virial=True, volume=vol)
    v = SufficientStatistics(8, levels=LEVELS)
    v.add(b, {1: (e, f, s)}, virial=True, volume=vol)
    coefficients = np.linspace(0.1, 0.9, 9)
    assert statistics_errors(a, coefficients, 1, "train") == statistics_errors(
        v, coefficients, 1, "train"
    )
    assert stats.n_stress_components() == 0
    with pytest.raises(ValueError, match="stress_weight must be a finite number >= 0"):
        fit_statistics(v, 1.0, 1.0, 1, stress_weight=-1.0)
