"""The selector and multi-fidelity report on a small synthetic dataset: its numbers against
independent computations (numpy percentiles of the rows, brute-force scans of the table), its
figures, its W-Be sentence and its cache.

The descriptor blocks here are fake (random numbers, no LAMMPS): the report's plumbing and
summaries are under test, not the descriptors or the fits (tested in their own modules)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from ase import Atoms

from pyiron_appmlip.datasets.store import LabelledDataset, LevelData
from pyiron_appmlip.reproduction import selectors_and_fidelity as sf
from pyiron_appmlip.reproduction import selectors_and_fidelity_measure as sfm
from pyiron_appmlip.reproduction.selectors_and_fidelity_render import (
    TARGET_MARGINS,
    figure_names,
    write_report,
)
from pyiron_appmlip.structures.conversion import configuration_id

P = 6  # fake descriptor columns
SECONDS = {"1": 1.0, "2": 3.0, "3": 20.0}  # DFT seconds per atom of each level
NOISE = {"1": 0.2, "2": 0.05, "3": 0.0}  # eV per atom of the level's error against the truth


def _level(name, ids, energies, forces, n_atoms):
    k = len(ids)
    return LevelData(
        name=name,
        level={"kspacing": None, "encut": 300.0, "sigma": 0.2, "xc": "PBE"},
        engine="gpaw",
        engine_version="test",
        ids=list(ids),
        energy=np.asarray(energies, dtype=float),
        energy_zero=np.asarray(energies, dtype=float),
        forces=[np.asarray(f) for f in forces],
        stress=np.zeros((k, 6)),
        wall_time=SECONDS[name] * np.asarray(n_atoms, dtype=float),
        n_kpoints=np.ones(k, dtype=np.int64),
        n_scf_iterations=np.full(k, 10),
        kmesh=np.ones((k, 3), dtype=np.int64),
        job_id=np.full(k, 1),
        child_id=np.arange(k) + 2,
    )


@pytest.fixture(scope="module")
def synthetic():
    """60 configurations of 1-3 atoms, fake blocks, three levels: level 3 is exactly linear in
    the blocks, levels 1 and 2 add per-configuration noise."""
    rng = np.random.default_rng(7)
    structures, fake_blocks = [], {}
    for k in range(60):
        n = 1 + k % 3
        a = Atoms("Be" * n, positions=rng.uniform(0, 4, (n, 3)), cell=[5, 5, 5], pbc=True)
        structures.append(a)
        fake_blocks[configuration_id(a)] = rng.normal(size=(1 + 3 * n, P))
    ids = [configuration_id(a) for a in structures]
    beta = rng.normal(size=P)
    n_atoms = [len(a) for a in structures]
    levels = {}
    for name in ("1", "2", "3"):
        energies, forces = [], []
        for cid, n in zip(ids, n_atoms, strict=True):
            b = fake_blocks[cid]
            energies.append(-3.0 * n + b[0] @ beta + NOISE[name] * n * rng.normal())
            forces.append((b[1:] @ beta).reshape(-1, 3) + NOISE[name] * rng.normal(size=(n, 3)))
        levels[name] = _level(name, ids, energies, forces, n_atoms)
    subset = ["test" if k % 4 == 0 else "train" for k in range(len(ids))]
    ds = LabelledDataset(
        ids=ids,
        structures=structures,
        subset=subset,
        generator=["crystal"] * len(ids),
        levels=levels,
        metadata={},
    )
    return ds, fake_blocks


SETTINGS = sfm.StudySettings(
    repetitions=4,
    samplers=("leverage", "random", "maxvol", "fps"),
    n_sizes=3,
    front_weights=(10.0, 1.0),
    curve_weight=10.0,
    level_pairs=(("2", "1"),),
    delta_pairs=(("1", "2"),),
    energy_fractions=(0.25, 1.0),
)


@pytest.fixture(scope="module")
def measured(synthetic):
    ds, fake_blocks = synthetic
    return sfm.measure_source(ds, SETTINGS, name="synthetic", blocks=fake_blocks, twojmax=2)


def test_rows_have_every_sampler_kind_and_the_cost_of_each_calculation_once(measured, synthetic):
    ds, _ = synthetic
    info = measured.info
    assert info["truth_level"] == "3" and info["train_levels"] == ["1", "2"]
    assert info["pool"] == 45 and info["test"] == 15
    curves, front = measured.curves, measured.front
    assert set(curves["sampler"]) == {"leverage", "random", "maxvol", "fps", "all"}
    assert set(front["model_kind"]) == {"single", "level_pair", "delta"}
    assert info["energy_sizes"] == [11, 45]
    # a whole-pool level pair: every configuration at the force level (1) and the energy level
    # (2), each calculation once: (1 + 3) s per atom of the pool
    pool_atoms = sum(len(ds.structure(i)) for i in ds.common_ids(["1", "2"], ds.train_ids))
    pair = front[
        (front["model_kind"] == "level_pair")
        & (front["subset_size"] == 45)
        & (front["n_energy"] == 45)
    ]
    assert len(pair) > 0
    np.testing.assert_allclose(pair["dft_seconds"], (SECONDS["1"] + SECONDS["2"]) * pool_atoms)
    single = front[(front["model_kind"] == "single") & (front["subset_size"] == 45)]
    for level, g in single.groupby("train_level"):
        np.testing.assert_allclose(g["dft_seconds"], SECONDS[level] * pool_atoms)


def test_curve_bands_are_numpy_percentiles_of_the_rows(measured):
    bands = sf.curve_bands(measured.curves)
    rows = measured.curves[measured.curves["sampler"] != "all"]
    assert len(bands) == rows.groupby(["sampler", "subset_size"]).ngroups
    for _, b in bands.iterrows():
        g = rows[(rows["sampler"] == b["sampler"]) & (rows["subset_size"] == b["subset_size"])]
        for col in (*sfm.ERRORS, "dft_seconds"):
            v = g[col].to_numpy()
            assert b[f"{col}_center"] == pytest.approx(np.median(v))
            assert b[f"{col}_lo"] == pytest.approx(np.percentile(v, 16))
            assert b[f"{col}_hi"] == pytest.approx(np.percentile(v, 84))
        assert b["core_hours"] == pytest.approx(np.median(g["dft_seconds"]) / 3600)
        # a deterministic selector has one order (one unit), the others one per repetition
        assert b["n_repetitions"] == len(g) == (1 if b["sampler"] == "maxvol" else 4)


def _brute_settings(front):
    """{setting: (median core-hours, median energy error, median force error)} by a loop."""
    groups = {}
    for _, r in front.iterrows():
        key = tuple(r[k] for k in sf.MODEL_KEYS)
        groups.setdefault(key, []).append(
            (r["dft_seconds"], r["energy_rmse_test_truth"], r["force_rmse_test_truth"])
        )
    return {k: tuple(np.median(np.array(v), axis=0) / [3600, 1, 1]) for k, v in groups.items()}


def test_cheapest_model_reaching_a_target_against_a_brute_force_scan(measured):
    table = sf.model_settings(measured.front)
    brute = _brute_settings(measured.front)
    assert len(table) == len(brute)
    # targets: the best single-level setting at the largest size, scored by normalised errors
    single = {k: v for k, v in brute.items() if k[0] == "single"}
    largest = max(k[5] for k in single)
    at = {k: v for k, v in single.items() if k[5] == largest}
    e_min = min(v[1] for v in at.values())
    f_min = min(v[2] for v in at.values())
    best = min(at, key=lambda k: at[k][1] / e_min + at[k][2] / f_min)
    for margin in TARGET_MARGINS:
        t = sf.error_targets(table, margin)
        assert t["energy"] == pytest.approx(at[best][1] * (1 + margin))
        assert t["force"] == pytest.approx(at[best][2] * (1 + margin))
        for kinds in (("single",), ("single", "level_pair"), None):
            ok = [
                v
                for k, v in brute.items()
                if (kinds is None or k[0] in kinds) and v[1] <= t["energy"] and v[2] <= t["force"]
            ]
            got = sf.cheapest_reaching(table, t["energy"], t["force"], kinds)
            assert got is not None
            assert got["core_hours"] == pytest.approx(min(v[0] for v in ok))
    assert sf.cheapest_reaching(table, 0.0, 0.0) is None


def test_budget_winners_against_a_brute_force_scan(measured):
    table = sf.model_settings(measured.front)
    brute = _brute_settings(measured.front)
    budgets = sf.default_budgets(table, 4)
    costs = [v[0] for v in brute.values()]
    assert budgets[0] == pytest.approx(min(costs)) and budgets[-1] == pytest.approx(max(costs))
    won = sf.budget_winners(table, [*budgets, 0.5 * min(costs)])
    for (_, r), b in zip(won.iterrows(), [*budgets, 0.5 * min(costs)], strict=True):
        within = [v for v in brute.values() if v[0] <= b]
        assert r["n_within"] == len(within)
        if not within:
            assert r["energy_model"] is None and np.isnan(r["energy_rmse"])
            continue
        assert r["energy_rmse"] == pytest.approx(min(v[1] for v in within))
        assert r["force_rmse"] == pytest.approx(min(v[2] for v in within))


def test_front_is_the_nondominated_settings_by_brute_force(measured):
    table = sf.model_settings(measured.front)
    front = sf.cost_front(table)
    points = table[["core_hours", "energy_rmse_test_truth_center", "force_rmse_test_truth_center"]]
    v = points.to_numpy()
    dominated = [
        any(np.all(v[j] <= v[i]) and np.any(v[j] < v[i]) for j in range(len(v)))
        for i in range(len(v))
    ]
    assert sorted(front.index) == sorted(points.index[~np.array(dominated)])


def _results(measured, wbe=False):
    sources = [measured]
    if wbe:
        sources.append(
            sfm.SourceRows(
                name="W-Be (Be part)",
                description="fake one-level source",
                curves=measured.curves,
                front=None,
                info=measured.info,
            )
        )
    return sf.StudyResults(settings=SETTINGS, sources=sources, wbe_given=wbe)


def test_report_figures_are_written_and_referenced_and_numbers_match(measured, tmp_path):
    path = str(tmp_path / "out" / "report.md")
    text = write_report(_results(measured), path, command="cmd")
    names = figure_names("report", "synthetic")
    for name in names.values():
        assert f"]({name})" in text
        with open(tmp_path / "out" / name, "rb") as fh:
            assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    with open(path) as fh:
        assert fh.read() == text
    table = sf.model_settings(measured.front)
    t = sf.error_targets(table, TARGET_MARGINS[0])
    single = sf.cheapest_reaching(table, t["energy"], t["force"], ("single",))
    assert f"reaching {t['energy']:.1f} meV/atom and {t['force']:.0f} meV/Angstrom" in text
    assert f"takes {single['core_hours']:.3g} core-hours with single levels only" in text
    assert "The W-Be data were not given (`--wbe`)" in text


def test_report_with_wbe_has_its_curves_and_no_missing_sentence(measured, tmp_path):
    text = write_report(_results(measured, wbe=True), str(tmp_path / "r.md"))
    assert "### W-Be (Be part)" in text
    assert "were not given" not in text
    assert os.path.exists(tmp_path / figure_names("r", "W-Be (Be part)")["curves"])
    assert not os.path.exists(tmp_path / figure_names("r", "W-Be (Be part)")["front"])


def test_command_without_wbe_leaves_its_section_out(measured, tmp_path):
    calls = []

    def fake_collect(settings, wbe=None, cache=None, executor="serial", progress=None):
        calls.append((settings, wbe, cache, executor))
        return _results(measured)

    out = str(tmp_path / "report.md")
    assert sf.main(["--out", out, "--repetitions", "3"], collect=fake_collect) == 0
    settings, wbe, cache, executor = calls[0]
    assert wbe is None and cache is None and executor == "serial"
    assert settings.repetitions == 3
    text = open(out).read()
    assert "--repetitions 3" in text
    assert "The W-Be data were not given" in text


def test_a_cached_result_is_reused_only_for_an_equal_key(tmp_path):
    n = []

    def compute():
        n.append(1)
        return {"value": len(n)}

    assert sfm.cached(str(tmp_path), {"a": 1}, compute) == {"value": 1}
    assert sfm.cached(str(tmp_path), {"a": 1}, compute) == {"value": 1}
    assert sfm.cached(str(tmp_path), {"a": 2}, compute) == {"value": 2}
    assert sfm.cached(None, {"a": 1}, compute) == {"value": 3}


def test_code_digest_leaves_out_summaries_and_rendering(tmp_path):
    root = tmp_path / "pkg"
    (root / "reproduction").mkdir(parents=True)
    files = {
        "core.py": "x = 1\n",
        "reproduction/selectors_and_fidelity_measure.py": "y = 1\n",
        "reproduction/selectors_and_fidelity.py": "z = 1\n",
        "reproduction/selectors_and_fidelity_render.py": "w = 1\n",
    }
    for name, text in files.items():
        (root / name).write_text(text)
    first = sfm.code_digest(str(root))
    for name in sfm.NOT_IN_DIGEST:
        (root / name).write_text("changed = True\n")
    assert sfm.code_digest(str(root)) == first
    (root / "reproduction/selectors_and_fidelity_measure.py").write_text("y = 2\n")
    assert sfm.code_digest(str(root)) != first


def test_subset_sizes_are_overdetermined_by_brute_force():
    rows = [4, 4, 7, 10, 4, 7, 10, 13] * 5
    sizes = sfm.subset_sizes(rows, 30, 5)
    fewest = np.sort(rows)
    for s in sizes:
        assert fewest[:s].sum() >= 30 and s < len(rows)
    smallest = next(s for s in range(1, len(rows) + 1) if fewest[:s].sum() >= 30)
    assert sizes[0] == smallest
    assert sfm.energy_sizes(90, (0.1, 0.25, 1.0)) == [9, 22, 90]
    with pytest.raises(ValueError, match="no subset smaller than the pool"):
        sfm.subset_sizes([4, 4], 30, 5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"twojmax": 3}, "twojmax must be an even positive integer"),
        ({"twojmax": 0}, "twojmax must be a positive integer"),
        ({"wbe_twojmax": 5}, "wbe_twojmax must be an even positive integer"),
        ({"repetitions": 0}, "repetitions must be a positive integer"),
        ({"wbe_repetitions": 1.5}, "wbe_repetitions must be a positive integer"),
        ({"n_sizes": 1}, "n_sizes must be an integer >= 2"),
        ({"wbe_configurations": -1}, "wbe_configurations must be 0"),
        ({"samplers": ()}, "samplers must name at least one of"),
        ({"samplers": ("leverage", "best")}, "samplers must be taken from"),
        ({"front_sampler": "all"}, "front_sampler must be one of"),
        ({"curve_weight": 0.0}, "curve_weight must be a positive number"),
        ({"front_weights": (10.0, -1.0)}, "front_weights must be positive numbers"),
        ({"energy_fractions": (0.0,)}, r"energy_fractions must be numbers in \(0, 1\]"),
        ({"energy_fractions": (1.5,)}, r"energy_fractions must be numbers in \(0, 1\]"),
        ({"level_pairs": (("4", "4"),)}, "level_pairs must be pairs of two different"),
        ({"delta_pairs": (("1", "2", "4"),)}, "delta_pairs must be pairs of two different"),
    ],
)
def test_settings_reject_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sfm.StudySettings(**kwargs)


def test_targets_need_single_models_and_a_nonnegative_margin(measured):
    table = sf.model_settings(measured.front)
    with pytest.raises(ValueError, match="margin must be a fraction >= 0"):
        sf.error_targets(table, -0.1)
    with pytest.raises(ValueError, match="no single-level models"):
        sf.error_targets(table[table["model_kind"] != "single"], 0.1)


def test_a_bad_truth_level_is_named(synthetic):
    ds, fake_blocks = synthetic
    with pytest.raises(ValueError, match="truth_level must be one of the dataset's levels"):
        sfm.measure_source(ds, SETTINGS, name="s", blocks=fake_blocks, truth_level="9")


def test_rows_are_plain_tables(measured):
    assert isinstance(measured.curves, pd.DataFrame)
    assert "coefficients" not in measured.front.columns
