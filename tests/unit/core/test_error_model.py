"""Error models (learning curves with a floor) fitted to pilot rows.

Synthetic learning curves come from the model itself with known parameters and noise (the fit
must recover them), and from real ordinary least-squares fits of random data computed here with
numpy (the one-size rule must find the limit that large fits reach).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pyiron_appmlip.core.error_model import (
    DEFAULT_EXPONENT,
    EXPONENT_GRID,
    EXPONENT_PRIOR,
    FIT,
    OFFSET_FRACTIONS,
    ErrorModel,
    LearningCurve,
    fit_error_model,
)

SIZES = (50, 100, 200, 400, 800, 1600)
# (floor, amplitude) per setting and quantity; shared exponents per quantity
TRUE = {
    ("a", "energy"): (3.0, 400.0),
    ("b", "energy"): (5.0, 900.0),
    ("c", "energy"): (8.0, 200.0),
    ("a", "force"): (100.0, 2.0e5),
    ("b", "force"): (120.0, 4.0e5),
    ("c", "force"): (90.0, 1.0e5),
}
EXPONENTS = {"energy": 0.7, "force": 0.9}


def synthetic_rows(sizes, reps, rng, spread=0.15, truth=TRUE, exponents=EXPONENTS):
    """Rows whose squared errors are the model's plus a lognormal factor on the excess and a
    symmetric composition term (median of the squared error = the model's)."""
    settings, n_col, test = [], [], {"energy": [], "force": []}
    for s in sorted({k[0] for k in truth}):
        for n in sizes:
            for _ in range(reps):
                settings.append(s)
                n_col.append(n)
                for q in test:
                    floor, amp = truth[(s, q)]
                    excess = amp * n ** (-exponents[q])
                    # one draw per row: multiplicative noise on the excess, plus noise on the
                    # floor's share that shrinks as 1/sqrt(n) (median 0)
                    m2 = floor**2 + excess * math.exp(rng.normal(0.0, 0.1))
                    m2 += spread * floor**2 * rng.normal() * math.sqrt(100.0 / n)
                    test[q].append(math.sqrt(max(m2, 0.0)))
    return settings, np.array(n_col), {q: np.array(v) for q, v in test.items()}


def test_fit_recovers_exponents_floors_and_amplitudes():
    rng = np.random.default_rng(1)
    settings, n, test = synthetic_rows(SIZES, 41, rng, spread=0.05)
    model = fit_error_model(settings, n, test)
    assert isinstance(model, ErrorModel)
    for q, b in EXPONENTS.items():
        assert model.exponents[q] == pytest.approx(b, abs=0.1)
    for (s, q), (floor, amp) in TRUE.items():
        c = model.curve(s, q)
        assert c.source == "sizes"
        assert c.floor == pytest.approx(floor, rel=0.03)
        # the excess at the pilot's sizes (what the amplitude means there) within 15 %
        mid = 300.0
        true_excess = amp * mid ** (-EXPONENTS[q])
        assert c.amplitude * mid ** (-c.exponent) == pytest.approx(true_excess, rel=0.15)
        # extrapolation to 20x the largest size: within 2 % of the true median
        far = 32000.0
        true_far = math.sqrt(floor**2 + amp * far ** (-EXPONENTS[q]))
        assert float(c.median(far)) == pytest.approx(true_far, rel=0.02)


def test_fit_with_wrong_exponent_is_detectably_worse():
    # the recovery test above can fail: a fixed, wrong exponent misses the far medians
    rng = np.random.default_rng(2)
    settings, n, test = synthetic_rows(SIZES[:4], 101, rng, spread=0.05)
    good = fit_error_model(settings, n, test)
    bad = fit_error_model(settings, n, test, exponent={"energy": 2.5, "force": 2.5})
    floor, amp = TRUE[("b", "energy")]
    true_far = math.sqrt(floor**2 + amp * 3200.0 ** (-EXPONENTS["energy"]))
    err_good = abs(float(good.curve("b", "energy").median(3200)) / true_far - 1)
    err_bad = abs(float(bad.curve("b", "energy").median(3200)) / true_far - 1)
    assert err_good < 0.03 < err_bad


def test_prediction_at_pilot_sizes_equals_pilot_medians():
    rng = np.random.default_rng(3)
    settings, n, test = synthetic_rows(SIZES, 21, rng)
    model = fit_error_model(settings, n, test)
    settings = np.array(settings)
    for s, q in TRUE:
        for size in SIZES:
            sel = (settings == s) & (n == size)
            median = float(np.median(test[q][sel]))
            assert float(model.curve(s, q).median(size)) == pytest.approx(median, rel=0.03)
    # one size: exactly the pilot median
    one = n == 100
    train = {q: v[one] * 0.9 for q, v in test.items()}
    m1 = fit_error_model(
        list(settings[one]), n[one], {q: v[one] for q, v in test.items()}, train=train
    )
    for s, q in TRUE:
        median = float(np.median(test[q][one & (settings == s)]))
        assert float(m1.curve(s, q).median(100)) == pytest.approx(median, rel=1e-12)
        assert m1.curve(s, q).source == "train-test"
        assert m1.exponents[q] == DEFAULT_EXPONENT


def _ols_errors(n_rows, p, sigma, rng, n_test=20000, misspec=0.0):
    """Train and test RMSE of an ordinary least-squares fit of random Gaussian rows."""
    beta = rng.normal(size=p)
    x = rng.normal(size=(n_rows, p))
    xt = rng.normal(size=(n_test, p))

    def labels(a):
        return a @ beta + misspec * (a[:, 0] ** 2 - 1.0) + sigma * rng.normal(size=len(a))

    y, yt = labels(x), labels(xt)
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    train = math.sqrt(np.mean((x @ coef - y) ** 2))
    test = math.sqrt(np.mean((xt @ coef - yt) ** 2))
    return train, test


def test_one_size_rule_finds_the_limit_of_real_least_squares_fits():
    # limit: sigma^2 + misspec^2 * Var(x0^2 - 1) = 1 + 0.25 * 2 = 1.5 (independent of n)
    rng = np.random.default_rng(4)
    p, sigma, misspec, n_pilot, reps = 12, 1.0, 0.5, 150, 60
    pilot = [_ols_errors(n_pilot, p, sigma, rng, misspec=misspec) for _ in range(reps)]
    train = np.array([t for t, _ in pilot])
    test = np.array([e for _, e in pilot])
    model = fit_error_model(
        ["ols"] * reps, [n_pilot] * reps, {"energy": test}, train={"energy": train}
    )
    curve = model.curve("ols", "energy")
    assert curve.floor == pytest.approx(math.sqrt(1.5), rel=0.03)
    # the decline from the pilot's test error is the excess: the pilot is clearly above
    assert float(np.median(test)) > 1.03 * math.sqrt(1.5)
    # larger fits, computed independently, land on the prediction
    for n_big in (600, 2400):
        big = np.median([_ols_errors(n_big, p, sigma, rng, misspec=misspec)[1] for _ in range(15)])
        assert float(curve.median(n_big)) == pytest.approx(big, rel=0.03)


def test_excess_is_shared_with_errors_against_other_labels():
    # training labels = truth + a fixed offset d: errors against the truth are
    # sqrt(err_self^2 + d^2); the floor against the truth keeps d, the excess is the same
    rng = np.random.default_rng(5)
    pilot = [_ols_errors(150, 12, 1.0, rng) for _ in range(60)]
    train = np.array([t for t, _ in pilot])
    test_self = np.array([e for _, e in pilot])
    d = 2.0
    test_truth = np.sqrt(test_self**2 + d**2)
    model = fit_error_model(
        ["low"] * 60,
        [150] * 60,
        {"energy": test_truth},
        train={"energy": train},
        test_self={"energy": test_self},
    )
    assert model.curve("low", "energy").floor == pytest.approx(math.sqrt(1.0 + d**2), rel=0.02)


def test_auto_sampling_bias_is_the_largest_training_to_test_ratio():
    # training configurations B times harder than typical ones: train^2 = B s^2 (1 - k),
    # test^2 = s^2 (1 + k); the setting with k = 0 reveals B, the others then get their floor
    rng = np.random.default_rng(8)
    b_true, reps = 1.6, 30
    kappas = {"none": 0.0, "some": 0.2, "much": 0.6}
    floors = {"none": 10.0, "some": 8.0, "much": 6.0}
    settings, train, test = [], [], []
    for s, k in kappas.items():
        for _ in range(reps):
            noise = math.exp(rng.normal(0.0, 0.01))
            settings.append(s)
            train.append(math.sqrt(b_true * floors[s] ** 2 * (1 - k)) * noise)
            test.append(math.sqrt(floors[s] ** 2 * (1 + k)) * noise)
    model = fit_error_model(
        settings, [100] * len(settings), {"energy": np.array(test)}, train={"energy": train}
    )
    assert model.sampling_biases["energy"] == pytest.approx(b_true, rel=0.01)
    for s, floor in floors.items():
        assert model.curve(s, "energy").floor == pytest.approx(floor, rel=0.01)
    # without the bias the floors of the overfitted settings come out too high
    plain = fit_error_model(
        settings,
        [100] * len(settings),
        {"energy": np.array(test)},
        train={"energy": train},
        sampling_bias=1.0,
    )
    assert plain.curve("much", "energy").floor > 1.05 * floors["much"]


def test_label_distances_give_the_excess_of_noisy_labels():
    # truth setting: residual F; lower levels: labels at RMS distance d from the truth, a share
    # phi of it learned by the fit; excess c (F + d^2) at the pilot size; training errors show
    # only a fifth of the excess, so the training-test estimate alone is too small
    c, f, phi, n0 = 0.08, 100.0, 0.3, 100
    d = {"t": 0.0, "l1": 4.0, "l2": 9.0, "l3": 20.0}
    settings, truth_err, self_err, train_err = [], [], [], []
    for s, dist in d.items():
        excess = c * (f + dist**2)
        floor_truth2 = f + phi * dist**2
        floor_self2 = f + (1 - phi) * dist**2
        for eps in (-0.002, 0.0, 0.002):
            settings.append(s)
            truth_err.append(math.sqrt(floor_truth2 + excess) * (1 + eps))
            self_err.append(math.sqrt(floor_self2 + excess) * (1 + eps))
            train_err.append(math.sqrt(floor_self2 + excess - 0.4 * excess) * (1 + eps))
    kwargs = dict(
        test={"energy": truth_err},
        train={"energy": train_err},
        test_self={"energy": self_err},
    )
    distances = {(s, "energy"): v for s, v in d.items() if v > 0}
    model = fit_error_model(
        settings, [n0] * len(settings), **kwargs, distances=distances, truth_setting=lambda s: "t"
    )
    assert model.noise_slopes["energy"] == pytest.approx(c, rel=0.01)
    plain = fit_error_model(settings, [n0] * len(settings), **kwargs)
    assert plain.noise_slopes["energy"] == 0.0
    for s, dist in d.items():
        floor = math.sqrt(f + phi * dist**2)
        assert model.curve(s, "energy").floor == pytest.approx(floor, rel=0.01)
        assert plain.curve(s, "energy").floor > 1.02 * floor  # the check can fail
        far = math.sqrt(floor**2 + c * (f + dist**2) * n0 / 5000)
        assert float(model.curve(s, "energy").median(5000)) == pytest.approx(far, rel=0.01)


def test_band_covers_about_68_percent_of_synthetic_repetitions():
    rng = np.random.default_rng(6)
    settings, n, test = synthetic_rows((100, 200, 400), 400, rng, spread=0.3)
    model = fit_error_model(settings, n, test)
    for size in (400, 1600):
        _, n_new, fresh = synthetic_rows((size,), 800, rng, spread=0.3)
        s_new = np.repeat(sorted({k[0] for k in TRUE}), 800)
        for q in ("energy", "force"):
            inside = []
            for s in ("a", "b", "c"):
                lo, hi = model.curve(s, q).band(size)
                v = fresh[q][s_new == s]
                inside.append(np.mean((v >= lo) & (v <= hi)))
            assert np.mean(inside) == pytest.approx(0.68, abs=0.06), (size, q, inside)


def test_distance_gives_the_floor_of_settings_without_truth_errors():
    rng = np.random.default_rng(7)
    settings, n, test = synthetic_rows(SIZES, 11, rng)
    settings = list(settings) + ["a-low"] * 3
    n = np.r_[n, [100, 200, 400]]
    test = {q: np.r_[v, [np.nan] * 3] for q, v in test.items()}
    model = fit_error_model(
        settings,
        n,
        test,
        distances={("a-low", "energy"): 4.0, ("a-low", "force"): 50.0},
        truth_setting=lambda s: s.split("-")[0],
    )
    for q, d in (("energy", 4.0), ("force", 50.0)):
        base = model.curve("a", q)
        low = model.curve("a-low", q)
        assert low.source == "distance"
        assert low.floor == pytest.approx(math.hypot(base.floor, d), rel=1e-12)


def test_learning_curve_formula():
    c = LearningCurve(
        floor=3.0,
        amplitude=160.0,
        exponent=1.0,
        reference_size=10.0,
        band_low=4.0,
        band_high=9.0,
        band_exponent=0.5,
    )
    assert float(c.median(40.0)) == pytest.approx(math.sqrt(9.0 + 4.0))
    lo, hi = c.band(40.0)
    assert float(lo) == pytest.approx(math.sqrt(13.0 - 2.0))
    assert float(hi) == pytest.approx(math.sqrt(13.0 + 4.5))


# ------------------------------------------------------------------------------- bad input


def _small():
    return ["a", "a", "b", "b"], [100, 100, 100, 100], {"energy": [1.0, 1.2, 2.0, 2.1]}


def test_unknown_setting_is_named():
    s, n, t = _small()
    model = fit_error_model(s, n, t, train={"energy": [0.9, 1.0, 1.8, 1.9]})
    with pytest.raises(ValueError, match="setting 'z' has no pilot rows"):
        model.curve("z", "energy")
    with pytest.raises(ValueError, match="quantity must be one of"):
        model.curve("a", "stress")


def test_no_rows_is_an_error():
    with pytest.raises(ValueError, match="settings: the pilot has no rows"):
        fit_error_model([], [], {"energy": []})


@pytest.mark.parametrize("bad", [0, -5, np.nan])
def test_sizes_must_be_positive(bad):
    s, n, t = _small()
    n[1] = bad
    with pytest.raises(ValueError, match="subset_size must be training-set sizes > 0"):
        fit_error_model(s, n, t, train={"energy": [1, 1, 1, 1]})


def test_predicting_at_a_bad_size_is_an_error():
    s, n, t = _small()
    model = fit_error_model(s, n, t, train={"energy": [0.9, 1.0, 1.8, 1.9]})
    with pytest.raises(ValueError, match="n must be training-set sizes > 0"):
        model.predict("a", [100, 0])


@pytest.mark.parametrize("bad", [np.nan, -1.0, np.inf])
def test_nan_or_negative_errors_are_named(bad):
    s, n, t = _small()
    t["energy"][2] = bad
    with pytest.raises(
        ValueError, match=r"test\['energy'\] must be finite errors >= 0.*rows \[2\]"
    ):
        fit_error_model(s, n, t, train={"energy": [1, 1, 1, 1]})
    s, n, t = _small()
    with pytest.raises(ValueError, match=r"train\['energy'\] must be finite"):
        fit_error_model(s, n, t, train={"energy": [1, bad, 1, 1]})


def test_one_size_without_training_errors_says_what_to_give():
    s, n, t = _small()
    with pytest.raises(ValueError, match="train: setting 'a' has pilot rows at one training-set"):
        fit_error_model(s, n, t)


def test_band_needs_two_repetitions():
    model = fit_error_model(["a", "a"], [100, 200], {"energy": [2.0, 1.5]}, exponent=1.0)
    assert float(model.curve("a", "energy").median(200)) == pytest.approx(1.5, rel=1e-9)
    with pytest.raises(ValueError, match="repetitions: a band needs at least 2 repetitions"):
        model.predict("a", 400)
    assert set(model.predict("a", 400, band=False)["energy"]) == {"median"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"exponent": -1.0}, "exponent must be a number > 0"),
        ({"exponent": {"stress": 1.0}}, "exponent names unknown quantities"),
        ({"sampling_bias": 0.0}, "sampling_bias must be a number > 0"),
        ({"sampling_bias": "guess"}, "sampling_bias must be a number > 0 or 'auto'"),
        ({"band": (50, 84)}, "band must be two percentiles"),
        ({"band_exponent": -0.5}, "band_exponent must be a number >= 0"),
        ({"test_self": {"force": [1, 1, 1, 1]}}, "test_self must be a mapping with the quantit"),
        ({"distances": {("a", "energy"): 1.0}}, "distances need truth_setting"),
        (
            {"distances": {("a", "energy"): -1.0}, "truth_setting": str},
            "distances must map",
        ),
    ],
)
def test_bad_options_are_named(kwargs, message):
    s, n, t = _small()
    with pytest.raises(ValueError, match=message):
        fit_error_model(s, n, t, train={"energy": [1, 1, 1, 1]}, **kwargs)


def test_mismatched_lengths_are_named():
    with pytest.raises(ValueError, match=r"subset_size must have one value per row \(3,\)"):
        fit_error_model(["a"] * 3, [100, 100], {"energy": [1, 1, 1]})
    with pytest.raises(ValueError, match=r"test\['energy'\] must have one value per row"):
        fit_error_model(["a"] * 3, [100] * 3, {"energy": [1, 1]})
    with pytest.raises(ValueError, match="test must be a non-empty mapping"):
        fit_error_model(["a"], [100], [1.0])


def test_floor_and_amplitude_match_scipy_nnls():
    # with the exponent given, each setting's (floor^2, A) is the non-negative least-squares fit
    # of the squared medians, relative weights; computed here with scipy for comparison
    from scipy.optimize import nnls

    rng = np.random.default_rng(9)
    sizes = np.array([60, 120, 250, 500, 1000])
    for trial in range(20):
        medians = np.sqrt(
            rng.uniform(1, 30) ** 2
            + rng.uniform(-50, 800) * sizes**-0.8
            + rng.normal(0, 2.0, sizes.size)
        )
        medians = np.abs(medians)
        model = fit_error_model(["s"] * sizes.size, sizes, {"energy": medians}, exponent=0.8)
        c = model.curve("s", "energy")
        m2 = medians**2
        w = 1.0 / m2  # sqrt of the weights 1 / m2^2
        coef, _ = nnls(np.c_[np.ones(sizes.size), sizes**-0.8] * w[:, None], m2 * w)
        assert c.floor**2 == pytest.approx(coef[0], rel=1e-6, abs=1e-9), trial
        assert c.amplitude == pytest.approx(coef[1], rel=1e-6, abs=1e-9), trial


def test_band_comes_from_the_largest_size_whose_repetitions_differ():
    """At a pilot's whole training set every repetition fits the same configurations: the band
    is taken from the next smaller size, where the repetitions differ."""
    rng = np.random.default_rng(5)
    settings, sizes, energy, force = [], [], [], []
    for n in (4, 8, 16):
        for _ in range(20):
            spread = 0.0 if n == 16 else 0.2
            settings.append("a")
            sizes.append(n)
            energy.append(np.sqrt(1.0 + 50.0 / n) * (1 + spread * rng.standard_normal()))
            force.append(np.sqrt(4.0 + 80.0 / n) * (1 + spread * rng.standard_normal()))
    energy, force = np.abs(energy), np.abs(force)
    model = fit_error_model(settings, sizes, {"energy": energy, "force": force})
    curve = model.curve("a", "energy")
    assert curve.reference_size == 8
    at8 = energy[np.array(sizes) == 8]
    lo, hi = curve.band([8])
    med = curve.median([8])
    # the offsets in squared error are the pilot's at N = 8, moved onto the fitted median
    p16, p84 = np.percentile(at8, [16, 84])
    np.testing.assert_allclose(med**2 - lo**2, np.median(at8) ** 2 - p16**2, rtol=1e-9)
    np.testing.assert_allclose(hi**2 - med**2, p84**2 - np.median(at8) ** 2, rtol=1e-9)
    assert hi[0] > lo[0]


# -- a prior range of exponents and a size offset (pilots with a short span of sizes) ----------
# sizes spanning a factor 7.5 from just above the offset: b and N0 are identifiable
SHORT_SIZES = (8, 10, 14, 20, 30, 45, 60)
OFFSET_TRUE = {
    ("a", "energy"): (30.0, 4.0e4),
    ("b", "energy"): (50.0, 9.0e4),
    ("a", "force"): (300.0, 3.0e6),
    ("b", "force"): (400.0, 5.0e6),
}


def offset_rows(n0, exponent, reps=31, seed=7):
    """Rows of ``err^2 = floor^2 + A (N - n0)^-b`` with a lognormal factor on the excess."""
    rng = np.random.default_rng(seed)
    settings, sizes, test = [], [], {"energy": [], "force": []}
    for s in ("a", "b"):
        for n in SHORT_SIZES:
            for _ in range(reps):
                settings.append(s)
                sizes.append(n)
                for q in test:
                    floor, amp = OFFSET_TRUE[(s, q)]
                    excess = amp * (n - n0) ** (-exponent) * math.exp(rng.normal(0.0, 0.05))
                    test[q].append(math.sqrt(floor**2 + excess))
    return settings, np.array(sizes, float), {q: np.array(v) for q, v in test.items()}


def test_prior_and_offset_recover_a_synthetic_curve_with_known_parameters():
    settings, n, test = offset_rows(n0=6.0, exponent=0.8)
    model = fit_error_model(settings, n, test, exponent_range=EXPONENT_PRIOR, size_offset=FIT)
    for q in ("energy", "force"):
        assert model.exponents[q] == pytest.approx(0.8, abs=0.1)
        assert model.offsets[q] == pytest.approx(6.0, abs=0.8)  # grid step 0.4
    for (s, q), (floor, amp) in OFFSET_TRUE.items():
        c = model.curve(s, q)
        assert c.offset == model.offsets[q]
        far = 300.0  # a 5x extrapolation
        true_far = math.sqrt(floor**2 + amp * (far - 6.0) ** (-0.8))
        assert float(c.median(far)) == pytest.approx(true_far, rel=0.02)
    # without the offset the same rows are fitted with a far too steep exponent
    plain = fit_error_model(settings, n, test)
    assert plain.exponents["force"] > 1.5


def test_steep_pilot_curves_are_held_to_the_prior_range():
    settings, n, test = offset_rows(n0=0.0, exponent=2.5)
    free = fit_error_model(settings, n, test)
    bounded = fit_error_model(settings, n, test, exponent_range=EXPONENT_PRIOR)
    for q in ("energy", "force"):
        assert free.exponents[q] == pytest.approx(2.5, abs=0.15)
        assert bounded.exponents[q] == EXPONENT_PRIOR[1]
        assert EXPONENT_PRIOR[0] <= bounded.exponents[q] <= EXPONENT_PRIOR[1]
    # a range between two grid points still gives an exponent in it
    narrow = fit_error_model(settings, n, test, exponent_range=(0.72, 0.74))
    assert 0.72 <= narrow.exponents["energy"] <= 0.74


def test_shared_exponent_and_offset_equal_a_brute_force_least_squares_over_the_grid():
    from scipy.optimize import nnls

    settings, n, test = offset_rows(n0=4.0, exponent=0.6, reps=5, seed=11)
    model = fit_error_model(settings, n, test, exponent_range=(0.3, 1.2), size_offset=FIT)
    settings = np.array(settings)
    grid = [b for b in EXPONENT_GRID if 0.3 - 1e-9 <= b <= 1.2 + 1e-9]
    offsets = [f * min(SHORT_SIZES) for f in OFFSET_FRACTIONS]
    for q in ("energy", "force"):
        medians = {
            s: np.array([np.median(test[q][(settings == s) & (n == m)]) for m in SHORT_SIZES])
            for s in ("a", "b")
        }
        best = None
        for n0 in offsets:
            for b in grid:
                sse, coef = 0.0, {}
                for s, med in medians.items():
                    y = med**2
                    w = 1.0 / y  # sqrt of the weights 1 / y^2
                    a = np.c_[np.ones(len(y)), (np.array(SHORT_SIZES) - n0) ** (-b)]
                    c, _ = nnls(a * w[:, None], y * w)
                    sse += float(np.sum(((a @ c - y) * w) ** 2))
                    coef[s] = c
                if best is None or sse < best[0] - 1e-9 * best[0]:
                    best = (sse, b, n0, coef)
        _, b, n0, coef = best
        assert model.exponents[q] == pytest.approx(b)
        assert model.offsets[q] == pytest.approx(n0)
        for s, (f2, amp) in coef.items():
            c = model.curve(s, q)
            assert c.floor**2 == pytest.approx(f2, rel=1e-6, abs=1e-6 * medians[s][-1] ** 2)
            assert c.amplitude == pytest.approx(amp, rel=1e-6)


def test_sizes_at_or_below_the_offset_are_infinite_errors():
    c = LearningCurve(floor=2.0, amplitude=100.0, exponent=1.0, reference_size=20, offset=5.0)
    assert np.isinf(c.median([4.0, 5.0])).all()
    assert float(c.median(15.0)) == pytest.approx(math.sqrt(4.0 + 100.0 / 10.0))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"exponent_range": (1.2, 0.3)}, "exponent_range"),
        ({"exponent_range": (0.0, 1.0)}, "exponent_range"),
        ({"exponent_range": ("a", 1.0)}, "exponent_range"),
        ({"exponent_range": 1.0}, "exponent_range"),
        ({"size_offset": "yes"}, "size_offset"),
        ({"size_offset": -1.0}, "size_offset"),
        ({"size_offset": 8.0}, "size_offset"),
        ({"size_offset": "many"}, "'fit'"),
    ],
)
def test_bad_prior_or_offset_is_named(kwargs, message):
    settings, n, test = offset_rows(n0=0.0, exponent=1.0, reps=3)
    with pytest.raises(ValueError, match=message):
        fit_error_model(settings, n, test, **kwargs)


def test_a_narrow_span_of_sizes_and_an_assumed_exponent_are_noted():
    rng = np.random.default_rng(5)
    settings, n, test = synthetic_rows((128, 150), 4, rng)
    notes = fit_error_model(settings, n, test).notes
    assert sum("span a factor 1.17 only (N = 128 to 150)" in m for m in notes) == 2
    assert sum("exponent is not fitted (b = 1 assumed)" in m for m in notes) == 2
    # given exponent: no exponent note; a wide span of 3 sizes: no note at all
    notes = fit_error_model(settings, n, test, exponent=0.8).notes
    assert not any("exponent is not fitted" in m for m in notes)
    settings, n, test = synthetic_rows((50, 100, 200), 4, rng)
    assert fit_error_model(settings, n, test).notes == []
