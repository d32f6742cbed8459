"""The Be campaigns that made the shipped datasets, run for real on a few tiny cells with GPAW."""

import numpy as np
import pytest

from pyiron_appmlip.structures.conversion import configuration_id


def test_export_of_a_real_tiny_gpaw_campaign(project, tmp_path):
    """Level 1 (Gamma only) on three campaign structures plus the bulk reference, with GPAW."""
    from pyiron_appmlip.reproduction import be_dataset as be

    path = project.path.rstrip("/")
    be.run_campaign(path, n_structures=3, levels=(1,), test_levels=(), log=lambda m: None)
    be.run_bulk_reference(path, levels=(1,), log=lambda m: None)
    out = str(tmp_path / "tiny.h5")
    ds = be.export_campaign(path, out, n_structures=3, log=lambda m: None)
    back = be.load_be_dataset(out)
    structures = be.campaign_structures(3)
    ids = sorted(
        [configuration_id(a) for a in structures] + [configuration_id(be.bulk_reference())]
    )
    assert back.ids == ids == ds.ids
    assert back.level_names == ["1"]
    _, test = be.campaign_split([configuration_id(a) for a in structures])
    assert set(back.test_ids) == set(test) | {back.metadata["bulk_id"]}
    assert back.metadata["campaign"]["n_structures"] == 3
    # the stored labels are the jobs' labels, joined by configuration id
    pr = project
    level = back.level(1)
    jobs = {j: pr.load(j) for j in pr.job_table(recursive=False)["job"]}
    for job in jobs.values():
        lab = job.get_labels()
        for k, cid in enumerate(lab["ids"]):
            i = level.index(cid)
            assert level.energy[i] == lab["energies"][k]
            np.testing.assert_array_equal(level.forces[i], lab["forces"][k])
            assert level.job_id[i] == job.job_id
            assert level.child_id[i] == lab["child_ids"][k]
            assert level.wall_time[i] > 0 and level.n_kpoints[i] == 1
            assert 0 < level.cpu_time[i] < 10 * level.wall_time[i]  # recorded by the job
    assert back.generator[back.ids.index(back.metadata["bulk_id"])] == "bulk_reference"
    # an interrupted job: left out by default, its finished calculations kept with partial=True
    train_job = pr.load("be_L1_train_p0")
    expected = {cid: child for cid, _, child in train_job.finished_calculations()}
    train_job.status.aborted = True
    from_children = {c: k for c, _, k in pr.load("be_L1_train_p0").finished_calculations()}
    assert from_children == expected and len(expected) == len(train_job.configuration_ids)
    skipped = be.export_campaign(path, str(tmp_path / "a.h5"), n_structures=3, log=lambda m: None)
    assert set(skipped.level(1).ids) == set(back.level(1).ids) - set(expected)
    kept = be.export_campaign(
        path, str(tmp_path / "b.h5"), n_structures=3, partial=True, log=lambda m: None
    )
    assert kept.level(1).ids == back.level(1).ids
    np.testing.assert_array_equal(kept.level(1).energy, back.level(1).energy)
    with pytest.raises(ValueError, match="no finished campaign jobs"):
        be.export_campaign(str(tmp_path / "empty_project"), str(tmp_path / "x.h5"))


def test_generate_rejects_a_bad_number_of_parts(tmp_path):
    from pyiron_appmlip.reproduction import be_dataset as be

    with pytest.raises(SystemExit, match="--parts must be a positive integer, got 0"):
        be.main(["generate", "--project", str(tmp_path / "p"), "--parts", "0"])
    with pytest.raises(ValueError, match="part must be in 0..1 for n_parts=2, got 2"):
        be.run_campaign(str(tmp_path / "p"), part=2, n_parts=2, n_structures=3)


def test_a_campaign_continues_from_an_exported_file_on_a_fresh_project(tmp_path):
    """The partial export of one machine is all a fresh machine needs to go on (level 1, GPAW)."""
    from pyiron_appmlip import Project
    from pyiron_appmlip.datasets.store import load_dataset
    from pyiron_appmlip.reproduction import be_dataset as be

    quiet = {"log": lambda m: None, "campaign": "large"}
    first = str(tmp_path / "first")
    be.run_campaign(first, n_structures=2, levels=(1,), test_levels=(), **quiet)
    shipped = str(tmp_path / "shipped.h5")
    be.export_campaign(first, shipped, n_structures=2, partial=True, **quiet)
    # a fresh project, one more structure: only the new one is computed
    fresh = str(tmp_path / "fresh")
    be.run_campaign(
        fresh, n_structures=3, levels=(1,), test_levels=(), resume_from=shipped, **quiet
    )
    table = Project(fresh).job_table()
    children = table[table["hamilton"] != "AppmlipLabelling"]
    assert len(children) == 1
    out = str(tmp_path / "merged.h5")
    merged = be.export_campaign(fresh, out, n_structures=3, resume_from=shipped, **quiet)
    old, back = load_dataset(shipped), load_dataset(out)
    assert len(back.level(1).ids) == 3 == len(merged.ids)
    for cid in old.level(1).ids:  # the shipped labels are kept bitwise
        i, j = old.level(1).index(cid), back.level(1).index(cid)
        assert old.level(1).energy[i] == back.level(1).energy[j]
        np.testing.assert_array_equal(old.level(1).forces[i], back.level(1).forces[j])
    assert back.metadata["continues"]["file"] == "shipped.h5"
    structures = be.campaign_structures(3, campaign="large")
    assert sorted(configuration_id(a) for a in structures) == sorted(back.ids)
    assert all(16 <= n <= 32 for n in back.n_atoms)
