"""Findings on a synthetic dataset whose answers are known: labels that are exactly linear in the
qSNAP descriptors (computed with LAMMPS), and a lower level that differs by a constant per atom."""

import numpy as np
import pytest
from ase.build import bulk

from pyiron_appmlip.datasets.store import LabelledDataset, LevelData
from pyiron_appmlip.descriptors import compute_qsnap_blocks
from pyiron_appmlip.structures.conversion import configuration_id
from pyiron_appmlip.study.findings import (
    FindingsSettings,
    measure_findings,
    read_report_table3,
    table3,
    write_report,
)

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


def test_findings_of_exactly_linear_labels(linear_dataset, tmp_path):
    settings = FindingsSettings(
        twojmax=(4,),
        twojmax_tables=4,
        weights=(150.0, 12.0),
        subset_sizes=(8, 12),
        repetitions=2,
        train_levels=("1", "2"),
        truth_level="2",
    )
    f = measure_findings(linear_dataset, settings)
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
