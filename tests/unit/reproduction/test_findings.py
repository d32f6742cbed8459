"""Findings on a synthetic dataset whose answers are known: labels that are exactly linear in the
qSNAP descriptors (computed with LAMMPS), and a lower level that differs by a constant per atom."""

import dataclasses

import numpy as np
import pytest
from ase.build import bulk

from pyiron_appmlip.datasets.store import LabelledDataset, LevelData
from pyiron_appmlip.descriptors import compute_qsnap_blocks
from pyiron_appmlip.reproduction import paper_values as pv
from pyiron_appmlip.reproduction.findings import (
    Findings,
    FindingsSettings,
    Observations,
    measure_findings,
    observe,
    read_report_table3,
    render_report,
    table3,
    write_report,
)
from pyiron_appmlip.structures.conversion import configuration_id

OFFSET = 0.05  # eV/atom between the two levels


def _level(name, structures, energies, forces):
    k = len(structures)
    return LevelData(
        name=name,
        level={"kspacing": None, "encut": 300.0, "sigma": 0.2, "xc": "PBE"},
        engine="gpaw",
        engine_version="test",
        ids=[configuration_id(a) for a in structures],
        energy=np.asarray(energies, dtype=float),
        energy_zero=np.asarray(energies, dtype=float),
        forces=[np.asarray(f) for f in forces],
        stress=np.zeros((k, 6)),
        wall_time=np.array([10.0 * len(a) for a in structures]) * (2.0 if name == "2" else 1.0),
        n_kpoints=np.ones(k, dtype=np.int64),
        n_scf_iterations=np.full(k, 10),
        kmesh=np.ones((k, 3), dtype=np.int64),
        job_id=np.full(k, 1),
        child_id=np.arange(k) + 2,
    )


@pytest.fixture(scope="module")
def linear_dataset():
    rng = np.random.default_rng(3)
    structures = [bulk("Be", "hcp", a=2.27, c=3.58).repeat((1, 1, 1))]  # the bulk reference
    for k in range(29):
        a = bulk("Be", "hcp", a=2.27, c=3.58).repeat((1 + k % 2, 1 + (k // 2) % 2, 1))
        a.positions += rng.normal(scale=0.08, size=a.positions.shape)
        structures.append(a)
    blocks = compute_qsnap_blocks(structures, 4)
    beta = rng.normal(size=blocks[0].shape[1])
    e0 = -3.5
    energies, forces = [], []
    for a, b in zip(structures, blocks, strict=True):
        energies.append(e0 * len(a) + b[0] @ beta)
        forces.append((b[1:] @ beta).reshape(-1, 3))
    ids = [configuration_id(a) for a in structures]
    subset = ["test" if k % 3 == 0 else "train" for k in range(len(ids))]
    levels = {
        "1": _level(
            "1",
            structures,
            [e + OFFSET * len(a) for e, a in zip(energies, structures, strict=True)],
            forces,
        ),
        "2": _level("2", structures, energies, forces),
    }
    return LabelledDataset(
        ids=ids,
        structures=structures,
        subset=subset,
        generator=["crystal"] * len(ids),
        levels=levels,
        metadata={"bulk_id": ids[0]},
    )


def test_table3_of_a_constant_per_atom_offset(linear_dataset):
    row = table3(linear_dataset).iloc[0]
    assert row["level"] == "1" and row["truth_level"] == "2"
    assert row["energy_unshifted"] == pytest.approx(1000 * OFFSET, abs=1e-6)
    assert row["energy_mean_shifted"] == pytest.approx(0.0, abs=1e-6)
    assert row["energy_bulk_shifted"] == pytest.approx(0.0, abs=1e-6)
    assert row["force"] == pytest.approx(0.0, abs=1e-12)


SETTINGS = FindingsSettings(
    twojmax=(4,),
    twojmax_tables=4,
    weights=(150.0, 12.0),
    subset_sizes=(8, 12),
    repetitions=2,
    train_levels=("1", "2"),
    truth_level="2",
)


@pytest.fixture(scope="module")
def linear_findings(linear_dataset):
    return measure_findings(linear_dataset, SETTINGS)


def test_findings_of_exactly_linear_labels(linear_findings, tmp_path):
    f = linear_findings
    wt = f.weight_table.set_index(["train_level", "weight_ratio"])
    # level 2 is the truth and exactly linear: every error vanishes
    for w in (150.0, 12.0):
        assert wt.loc[("2", w), "energy_rmse_test_truth"] < 1e-3
        assert wt.loc[("2", w), "force_rmse_test_truth"] < 1e-3
        # level 1 is off by a constant per atom, which the free per-atom reference energy absorbs
        # in the fit; against level 2 the error is that constant, and it shifts away exactly
        assert wt.loc[("1", w), "energy_rmse_test"] < 1e-3
        assert wt.loc[("1", w), "energy_rmse_test_truth"] == pytest.approx(1000 * OFFSET, rel=1e-6)
        # (the shifted RMSE comes from streamed sums: cancellation leaves ~1e-8 of 50 meV/atom)
        assert wt.loc[("1", w), "energy_rmse_test_truth_shifted"] < 1e-2
    # DFT cost: level 2 calculations cost twice as much, so level 1 models are on the cost front
    assert "1" in f.pareto_levels["all"]
    assert f.dataset_summary["n_test"] == 10 and f.dataset_summary["n_train_pool"] == 20
    report = str(tmp_path / "r.md")
    text = write_report(f, report)
    assert "| 1 | 30 | 50.00 | 497.05 | 0.00 | 437.96 | 0.00 | 221.72 | 0.00 | 417.76 |" in text
    assert read_report_table3(report) == {"1": (50.0, 0.0, 0.0, 0.0)}


def test_findings_settings_reject_bad_values():
    with pytest.raises(ValueError, match="twojmax_tables must be one of twojmax"):
        FindingsSettings(twojmax=(4,), twojmax_tables=6)
    with pytest.raises(ValueError, match="high_force_weight must be one of weights"):
        FindingsSettings(weights=(150.0, 10.0))
    with pytest.raises(ValueError, match="tolerance must be a positive number"):
        FindingsSettings(tolerance=0.0)


def test_measuring_returns_plain_results(linear_findings, linear_dataset):
    f = linear_findings
    assert isinstance(f, Findings) and f.settings is SETTINGS
    assert list(f.table3["level"]) == ["1"]
    assert {"n_configs", "energy_unshifted", "energy_bulk_shifted", "force"} <= set(f.table3)
    # one whole-pool model per training level and weight
    pairs = zip(f.weight_table["train_level"], f.weight_table["weight_ratio"], strict=True)
    assert sorted(pairs) == [
        ("1", 12.0),
        ("1", 150.0),
        ("2", 12.0),
        ("2", 150.0),
    ]
    # learning curves: every sampler at every overdetermined size below the pool, and the pool
    # itself; 8 of these 1-8-atom cells can give fewer equations than the 120 coefficients
    from pyiron_appmlip.core.learning_curves import overdetermined_sizes

    pool = f.dataset_summary["n_train_pool"]
    ds = linear_dataset
    rows = [1 + 3 * len(ds.structure(i)) for i in ds.common_ids(["1", "2"], ds.train_ids)]
    expected = overdetermined_sizes(SETTINGS.subset_sizes, rows, 120) + [pool]
    assert set(f.learning_curves["sampler"]) == {"leverage", "block_leverage", "random"}
    assert sorted(set(f.learning_curves["subset_size"])) == expected == [12, 20]
    assert len(f.subsets_needed) == 3 * 2
    assert set(f.pareto_levels) == {"all", "2Jmax=4"}
    # the whole-pool models of the highest training level at the two weights, per kind
    assert list(f.by_generator["generator"]) == ["crystal", "crystal"]
    assert list(f.by_generator["n_test"]) == [10, 10]
    assert sorted(f.by_generator["weight_ratio"]) == [12.0, 150.0]
    d = f.dataset_summary
    assert d["n_configurations"] == 30 and d["levels"] == ["1", "2"]
    assert d["n_calculations"] == {"1": 30, "2": 30}
    assert d["core_seconds"]["2"] == pytest.approx(2.0 * d["core_seconds"]["1"])
    assert d["encut_range_ev"] == [300.0, 300.0]
    assert d["n_descriptors"] == {4: _be_descriptors_at_2jmax_4()}

    obs = observe(f)
    assert isinstance(obs, Observations)
    assert obs.table3_falls_monotonically  # one level: trivially
    assert obs.levels_raised_by_bulk_shift == []  # the bulk shift removes the offset exactly
    assert [r["level"] for r in obs.force_weighting] == ["1", "2"]
    assert {(r["criterion"], r["sampler"]) for r in obs.sampling_savings} == {
        (c, s) for c in ("absolute", "relative") for s in ("leverage", "block_leverage")
    }
    assert sum(obs.pareto_counts.values()) == len(f.pareto)
    assert obs.levels_on_front == f.pareto_levels["all"]
    assert obs.model_error["level"] == "2" and obs.model_error["own_energy_rmse"] < 1e-3


def _be_descriptors_at_2jmax_4():
    """Number of qSNAP descriptors at 2Jmax = 4 for Be."""
    return compute_qsnap_blocks([bulk("Be", "hcp", a=2.27, c=3.58)], 4)[0].shape[1]


def _row(*cells):
    return "| " + " | ".join(str(c) for c in cells) + " |"


def test_report_prints_the_measured_numbers(linear_findings):
    f = linear_findings
    text = render_report(f)
    d = f.dataset_summary
    assert f"| 30 ({d['n_train_pool']} training pool + {d['n_test']} test) |" in text
    for lv in ("1", "2"):
        assert (
            _row(
                lv,
                30,
                f"{d['mean_seconds_per_configuration'][lv]:.1f}",
                f"{d['core_seconds'][lv] / 3600:.2f}",
            )
            in text
        )
    assert "2Jmax = 4 (paper: 2Jmax = 10, 10 000 configurations; both about 0.2-2.5 " in text
    assert "plane-wave cut-off (300 eV here)" in text
    for ratio, model in ((150.0, "higher_energy_weight"), (12.0, "higher_force_weight")):
        paper = {r["level"]: r for r in pv.TABLES_4_5["models"][model]["rows"]}
        for _, r in f.weight_table[np.isclose(f.weight_table["weight_ratio"], ratio)].iterrows():
            p = paper[int(r["train_level"])]
            assert (
                _row(
                    r["train_level"],
                    f"{r['energy_rmse_test_truth']:.2f}",
                    f"{p['energy_test_level6_unshifted_mev_per_atom']:.2f}",
                    f"{r['energy_rmse_test_truth_shifted']:.2f}",
                    f"{p['energy_test_level6_shifted_mev_per_atom']:.2f}",
                    f"{r['force_rmse_test_truth']:.2f}",
                    f"{p['force_test_level6_mev_per_angstrom']:.2f}",
                    f"{r['energy_rmse_test']:.2f}",
                    f"{p['energy_test_self_mev_per_atom']:.2f}",
                    f"{r['force_rmse_test']:.2f}",
                    f"{p['force_test_self_mev_per_angstrom']:.2f}",
                )
                in text
            )
    for _, r in f.learning_curves.iterrows():
        assert (
            f"{r['energy_rmse_test_mean']:.2f} "
            f"[{r['energy_rmse_test_min']:.1f}-{r['energy_rmse_test_max']:.1f}]" in text
        )
    counts = f.pareto.groupby("train_level").size()
    assert (
        "Models on the whole front per training level: "
        + ", ".join(f"level {k}: {v}" for k, v in counts.items())
        + "."
    ) in text
    # changing a measured number changes the report
    t3 = f.table3.copy()
    t3.loc[0, "energy_unshifted"] = 12.3456
    changed = render_report(dataclasses.replace(f, table3=t3))
    assert "| 1 | 30 | 12.35 | 497.05 |" in changed and "| 1 | 30 | 50.00 |" not in changed


def test_report_takes_the_paper_numbers_from_paper_values(linear_findings, monkeypatch):
    monkeypatch.setitem(pv.SETUP["dataset"], "mean_atoms_per_configuration", 77)
    monkeypatch.setitem(pv.TABLE_3[4], "force_mev_per_angstrom", 99.99)
    monkeypatch.setitem(pv.FIG_6, "energy_cost_reduction_vs_random", 7)
    monkeypatch.setitem(pv.FIG_7, "levels_absent_from_front", [2])
    text = render_report(linear_findings)
    assert "| atoms per configuration | about 77 |" in text
    assert "a 77-atom cell" in text and "for 77-atom cells" in text and "50-atom" not in text
    assert text.count("99.99 meV/Å") == 2 and "10.17" not in text
    assert "about 7x fewer configurations than random sampling" in text
    assert "never 2" in text
    assert "Unlike the paper, level(s) 2 appear on it." in text
    assert "(paper: it does)" in text
    monkeypatch.setitem(pv.TABLE_3[4], "energy_unshifted_mev_per_atom", 600.0)
    assert "(paper: it does not)" in render_report(linear_findings)


def test_the_weight_sweep_figure_draws_the_reports_table(linear_findings, tmp_path):
    import re

    from pyiron_appmlip.reproduction.findings_figures import FigureWriter

    f = linear_findings
    report = tmp_path / "report.md"
    writer = FigureWriter(str(tmp_path / "report_figures"), report=str(report))
    text = write_report(f, str(report), figures=writer)
    (link,) = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert link == "report_figures/weight_sweep.png"
    assert (tmp_path / link).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the section's table: one row per level, "E / F" per weight ratio
    section = text.split("Fig. 4, the whole weight sweep", 1)[1]
    header = next(ln for ln in section.splitlines() if ln.startswith("| train level |"))
    ratios = [float(c) for c in header.strip("|").split("|")[1:]]
    fig = writer.figures["weight_sweep.png"]
    panels = {ax.get_label().rsplit(": ", 1)[-1]: ax for ax in fig.axes}
    wt = f.weight_table
    for lv in ("1", "2"):
        row = next(ln for ln in section.splitlines() if ln.startswith(f"| {lv} |"))
        cells = [c.strip().split(" / ") for c in row.strip("|").split("|")[1:]]
        for kind, k, tol in (("energy", 0, 0.05), ("force", 1, 0.5)):
            (line,) = [ln for ln in panels[kind].get_lines() if ln.get_label() == f"level {lv}"]
            drawn = dict(zip(line.get_xdata(), line.get_ydata(), strict=True))
            assert sorted(drawn) == sorted(ratios)
            for w, cell in zip(ratios, cells, strict=True):
                assert drawn[w] == pytest.approx(float(cell[k]), abs=tol)
                # and the sweep's own number, unrounded
                g = wt[(wt["train_level"] == lv) & np.isclose(wt["weight_ratio"], w)]
                assert drawn[w] == g[f"{kind}_rmse_test_truth"].iloc[0]
