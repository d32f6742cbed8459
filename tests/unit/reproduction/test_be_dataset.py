"""The shipped Be dataset and its findings report: shapes, units, finished calculations, and a
Table 3 row recomputed from the stored labels against the report's printed value."""

import math
import os

import numpy as np
import pytest

from pyiron_appmlip.dft.levels import PAPER_LEVELS
from pyiron_appmlip.reproduction.be_dataset import CAMPAIGN, DATASET_FILE, load_be_dataset
from pyiron_appmlip.structures.conversion import configuration_id

REPORT = os.path.join(os.path.dirname(DATASET_FILE), "be_findings.md")


@pytest.fixture(scope="module")
def dataset():
    return load_be_dataset()


def _hand_kmesh(cell, kspacing):
    if kspacing is None:
        return (1, 1, 1)
    reciprocal = 2.0 * math.pi * np.linalg.inv(np.asarray(cell, dtype=float)).T
    return tuple(max(1, math.ceil(np.linalg.norm(b) / kspacing - 1e-9)) for b in reciprocal)


def test_dataset_has_the_campaign_levels_and_subsets(dataset):
    levels = [str(v) for v in CAMPAIGN["levels"] + CAMPAIGN["test_levels"]]
    assert dataset.level_names == levels
    assert len(dataset.ids) >= 200 and len(set(dataset.ids)) == len(dataset.ids)
    assert set(dataset.subset) == {"train", "test"}
    # every structure's id is the content hash of the stored structure
    assert [configuration_id(a) for a in dataset.structures] == dataset.ids
    n = dataset.n_atoms
    assert n.min() >= 1 and n.max() <= 16
    bulk = dataset.metadata["bulk_id"]
    assert bulk in dataset.test_ids
    for lv in levels:
        assert set(dataset.level(lv).ids) <= set(dataset.ids)
    # the test subset (and the bulk reference) is labelled at every level, up to the highest
    for lv in levels:
        assert set(dataset.test_ids) <= set(dataset.level(lv).ids), lv
    # the training pool is labelled at the training levels
    for lv in CAMPAIGN["levels"]:
        assert len(dataset.common_ids([str(lv)], dataset.train_ids)) >= 150


@pytest.mark.parametrize("level", ["1", "2", "3", "4", "5"])
def test_every_stored_calculation_finished_with_units(dataset, level):
    data = dataset.level(level)
    expected = PAPER_LEVELS[int(level)]
    assert data.engine == "gpaw" and data.engine_version
    assert data.level["encut"] == expected.encut and data.level["kspacing"] == expected.kspacing
    assert data.level["sigma"] == 0.2
    k = len(data.ids)
    assert data.energy.shape == data.energy_zero.shape == data.wall_time.shape == (k,)
    assert data.stress.shape == (k, 6) and data.kmesh.shape == (k, 3)
    assert np.all(np.isfinite(data.energy)) and np.all(np.isfinite(data.stress))
    assert np.all(data.wall_time > 0)
    # converged SCF (the engine's limit is 200 iterations) and real job ids
    assert np.all(data.n_scf_iterations >= 1) and np.all(data.n_scf_iterations < 200)
    assert np.all(data.job_id > 0) and np.all(data.child_id > 0)
    for i, cid in enumerate(data.ids):
        atoms = dataset.structure(cid)
        forces = data.forces[i]
        assert forces.shape == (len(atoms), 3) and np.all(np.isfinite(forces))
        assert tuple(data.kmesh[i]) == _hand_kmesh(atoms.cell[:], expected.kspacing)
        # time-reversal symmetry at most halves the mesh
        assert np.prod(data.kmesh[i]) / 2 <= data.n_kpoints[i] <= np.prod(data.kmesh[i])
    # eV per atom: GPAW energies are relative to isolated atoms; Be binds by a few eV per atom
    per_atom = data.energy / np.array([len(dataset.structure(i)) for i in data.ids])
    if level != "1":  # the Gamma point alone is far off for cells this small
        assert -6.0 < per_atom.min() and per_atom.max() < 3.0
        # eV/Angstrom: forces of rattled cells are O(1 eV/Angstrom), not O(1000)
        assert 0.01 < np.sqrt(np.mean(np.concatenate(data.forces) ** 2)) < 10.0


def test_report_table3_row_equals_a_recomputation_from_the_stored_labels(dataset):
    from pyiron_appmlip.reproduction.findings import read_report_table3

    printed = read_report_table3(REPORT)
    assert set(printed) == {"1", "2", "3", "4"}
    a, ref = dataset.level("3"), dataset.level("5")
    ids = [i for i in ref.ids if i in set(a.ids)]
    n = np.array([len(dataset.structure(i)) for i in ids])
    e = np.array([a.energy[a.index(i)] for i in ids])
    e_ref = np.array([ref.energy[ref.index(i)] for i in ids])
    d = (e - e_ref) / n * 1000.0  # meV/atom
    bulk = ids.index(dataset.metadata["bulk_id"])
    df = np.concatenate([a.forces[a.index(i)] - ref.forces[ref.index(i)] for i in ids]) * 1000.0
    ours = (
        np.sqrt(np.mean(d**2)),
        np.sqrt(np.mean((d - d[bulk]) ** 2)),
        np.std(d),
        np.sqrt(np.mean(df**2)),
    )
    np.testing.assert_allclose(printed["3"], ours, atol=0.006, rtol=0)


def test_report_prints_the_paper_beside_ours():
    from pyiron_appmlip.reproduction import paper_values as pv

    text = open(REPORT).read()
    for section in ("## 1. Table 3", "## 2. Tables 4/5", "## 3. Fig. 6", "## 4. Fig. 7"):
        assert section in text
    assert text.count("(paper)") >= 8
    for row in pv.TABLE_3[:4]:
        assert f"{row['energy_unshifted_mev_per_atom']:.2f}" in text
    assert "Why our numbers differ" in text


def test_the_shipped_large_dataset_is_the_large_campaign_so_far():
    """The partial export of the 16-32-atom campaign: only its structures, its split, its levels,
    and only finished calculations (finite labels of the right shapes)."""
    from pyiron_appmlip.reproduction.be_dataset import (
        LARGE_CAMPAIGN,
        bulk_reference,
        campaign_split,
    )
    from pyiron_appmlip.reproduction.be_dataset import campaign_structures as structures_of
    from pyiron_appmlip.structures.conversion import configuration_id

    ds = load_be_dataset(campaign="large")
    candidates = {configuration_id(a): a for a in structures_of(campaign="large")}
    bulk = configuration_id(bulk_reference())
    assert set(ds.ids) <= set(candidates) | {bulk}
    _, test = campaign_split(list(candidates), campaign="large")
    assert set(ds.test_ids) == (set(test) & set(ds.ids)) | ({bulk} & set(ds.ids))
    assert len(test) == 20
    assert set(ds.level_names) <= {
        str(v) for v in LARGE_CAMPAIGN["levels"] + LARGE_CAMPAIGN["test_levels"]
    }
    assert set(ds.level("5").ids) <= set(ds.test_ids) if "5" in ds.levels else True
    for name in ds.level_names:
        level = ds.level(name)
        for k, cid in enumerate(level.ids):
            n = len(ds.structure(cid))
            assert cid == bulk or 16 <= n <= 32
            assert level.forces[k].shape == (n, 3) and np.isfinite(level.forces[k]).all()
            assert np.isfinite(level.energy[k]) and level.wall_time[k] > 0
