"""The labelled-dataset file (write/load round trip, atomicity, validation) and the export of a
real (tiny) GPAW campaign from a pyiron project."""

import dataclasses
import os

import h5py
import numpy as np
import pytest
from ase.build import bulk

from pyiron_appmlip.datasets.store import (
    LabelledDataset,
    LevelData,
    load_dataset,
    write_dataset,
)
from pyiron_appmlip.structures.conversion import configuration_id


def _structures():
    rng = np.random.default_rng(0)
    out = []
    for rep in ((1, 1, 1), (2, 1, 1), (1, 2, 1)):
        a = bulk("Be", "hcp", a=2.27, c=3.58).repeat(rep)
        a.positions += rng.normal(scale=0.05, size=a.positions.shape)
        out.append(a)
    return out


def _level(name, structures, ids, seed):
    rng = np.random.default_rng(seed)
    k = len(ids)
    n = {configuration_id(a): len(a) for a in structures}
    return LevelData(
        name=name,
        level={"kspacing": 0.5, "encut": 500.0, "sigma": 0.2, "xc": "PBE"},
        engine="gpaw",
        engine_version="26.7.0",
        ids=list(ids),
        energy=rng.normal(size=k),
        energy_zero=rng.normal(size=k),
        forces=[rng.normal(size=(n[i], 3)) for i in ids],
        stress=rng.normal(size=(k, 6)),
        wall_time=rng.uniform(1, 2, size=k),
        cpu_time=rng.uniform(0.5, 1, size=k),
        n_kpoints=np.arange(k) + 1,
        n_scf_iterations=np.arange(k) + 10,
        kmesh=np.ones((k, 3), dtype=np.int64),
        job_id=np.full(k, 7),
        child_id=np.arange(k) + 100,
    )


def _dataset():
    structures = _structures()
    ids = [configuration_id(a) for a in structures]
    return LabelledDataset(
        ids=ids,
        structures=structures,
        subset=["train", "train", "test"],
        generator=["crystal", "crystal", "slab"],
        levels={"1": _level("1", structures, ids, 1), "5": _level("5", structures, ids[2:], 2)},
        metadata={"bulk_id": ids[0]},
    )


def test_round_trip_keeps_every_array(tmp_path):
    ds = _dataset()
    path = write_dataset(str(tmp_path / "d.h5"), ds, description="test")
    back = load_dataset(path)
    assert back.ids == ds.ids and back.subset == ds.subset and back.generator == ds.generator
    assert back.metadata == ds.metadata
    assert back.level_names == ["1", "5"]
    for a, b in zip(ds.structures, back.structures, strict=True):
        np.testing.assert_array_equal(a.positions, b.positions)
        np.testing.assert_array_equal(a.cell[:], b.cell[:])
        assert configuration_id(b) == configuration_id(a)
    for name in ("1", "5"):
        x, y = ds.levels[name], back.levels[name]
        assert x.ids == y.ids and x.level == y.level and x.engine_version == y.engine_version
        for key in ("energy", "energy_zero", "stress", "wall_time", "cpu_time", "kmesh"):
            np.testing.assert_array_equal(getattr(x, key), getattr(y, key))
        np.testing.assert_array_equal(x.child_id, y.child_id)
        for fx, fy in zip(x.forces, y.forces, strict=True):
            np.testing.assert_array_equal(fx, fy)
    assert back.train_ids == ds.ids[:2] and back.test_ids == ds.ids[2:]
    assert back.common_ids(["1", "5"]) == ds.ids[2:]
    labels = back.labels(1)
    assert labels.ids == set(ds.ids) and labels.job_id == 7
    np.testing.assert_array_equal(labels.forces[ds.ids[1]], ds.levels["1"].forces[1])
    table = back.table()
    assert len(table) == 4 and set(table["level"]) == {"1", "5"}


def test_write_is_atomic_and_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    path = str(tmp_path / "d.h5")
    write_dataset(path, _dataset())
    before = open(path, "rb").read()
    bad = _dataset()
    bad.levels["1"].stress = object()  # not an array: h5py fails half-way through the write
    with pytest.raises(TypeError):
        write_dataset(path, bad)
    assert open(path, "rb").read() == before
    assert os.listdir(tmp_path) == ["d.h5"]  # no temporary file left behind
    load_dataset(path)


def test_bad_input_names_the_problem(tmp_path):
    ds = _dataset()
    with pytest.raises(ValueError, match="subset entries must be 'train' or 'test'"):
        LabelledDataset(ds.ids, ds.structures, ["train", "x", "test"], ds.generator, {})
    with pytest.raises(ValueError, match="level must be one of"):
        ds.level(3)
    lv = ds.levels["1"]
    with pytest.raises(ValueError, match="forces has 1 entries for 3"):
        dataclasses.replace(lv, forces=lv.forces[:1])
    wrong = _dataset()
    wrong.ids = list(reversed(wrong.ids))
    with pytest.raises(ValueError, match="do not match their structures"):
        write_dataset(str(tmp_path / "w.h5"), wrong)
    with pytest.raises(FileNotFoundError):
        load_dataset(str(tmp_path / "missing.h5"))
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.attrs["format"] = "something else"
    with pytest.raises(ValueError, match="is not a labelled dataset"):
        load_dataset(str(tmp_path / "other.h5"))


def test_overlapping_atoms_are_not_written_and_duplicates_are_kept_once(tmp_path):
    from pyiron_appmlip.structures.checks import DuplicateStructuresWarning

    ds = _dataset()
    close = ds.structures[1].copy()
    close.positions[1] = close.positions[0] + [0.0, 0.0, 0.3]
    ds.structures[1] = close
    ds.ids[1] = configuration_id(close)
    ds.levels = {}
    with pytest.raises(ValueError, match=r"configuration 1 \(id .*\): atoms 0 and 1 are 0.3000"):
        write_dataset(str(tmp_path / "close.h5"), ds)
    assert not os.path.exists(tmp_path / "close.h5")
    write_dataset(str(tmp_path / "close.h5"), ds, min_distance=None)
    assert load_dataset(str(tmp_path / "close.h5")).ids == ds.ids
    # a configuration given twice: the first copy is kept, with a warning naming it
    s = _structures()
    ids = [configuration_id(a) for a in s]
    with pytest.warns(DuplicateStructuresWarning, match=rf"id {ids[0]} at position 0, position 3"):
        twice = LabelledDataset(
            ids + ids[:1], s + s[:1], ["train"] * 4, ["a", "b", "c", "d"], {}, group=list("wxyz")
        )
    assert twice.ids == ids and twice.generator == ["a", "b", "c"] and twice.group == list("wxy")
    with pytest.raises(ValueError, match=rf"configuration {ids[0]} is given twice.*both subsets"):
        LabelledDataset(ids + ids[:1], s + s[:1], ["train"] * 3 + ["test"], ["a"] * 4, {})


def test_export_of_a_real_tiny_gpaw_campaign(project, tmp_path):
    """Level 1 (Gamma only) on three campaign structures plus the bulk reference, with GPAW."""
    from pyiron_appmlip.datasets import be

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
    from pyiron_appmlip.datasets import be

    with pytest.raises(SystemExit, match="--parts must be a positive integer, got 0"):
        be.main(["generate", "--project", str(tmp_path / "p"), "--parts", "0"])
    with pytest.raises(ValueError, match="part must be in 0..1 for n_parts=2, got 2"):
        be.run_campaign(str(tmp_path / "p"), part=2, n_parts=2, n_structures=3)


def test_a_campaign_continues_from_an_exported_file_on_a_fresh_project(tmp_path):
    """The partial export of one machine is all a fresh machine needs to go on (level 1, GPAW)."""
    from pyiron_appmlip import Project
    from pyiron_appmlip.datasets import be
    from pyiron_appmlip.datasets.store import load_dataset

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


def test_merge_datasets_refuses_other_levels_and_splits(tmp_path):
    from dataclasses import replace

    from pyiron_appmlip.datasets.store import merge_datasets

    ds = _dataset()
    other = replace(ds.levels["1"], level={**ds.levels["1"].level, "encut": 999.0})
    with pytest.raises(ValueError, match="level '1' differs between the datasets"):
        merge_datasets(ds, replace(ds, levels={"1": other}))
    flipped = replace(ds, subset=["train" if s == "test" else "test" for s in ds.subset])
    with pytest.raises(ValueError, match="the datasets use different splits"):
        merge_datasets(ds, flipped)
    # first wins where both label a configuration; the union elsewhere
    structures = _structures()
    ids = [configuration_id(a) for a in structures]
    one = replace(ds, levels={"1": _level("1", structures, ids[:1], 9)})
    merged = merge_datasets(one, ds)
    assert merged.ids == ds.ids and merged.level_names == ["1", "5"]
    assert merged.level(1).ids == [ids[0], ids[1], ids[2]]
    assert merged.level(1).energy[0] == one.level(1).energy[0] != ds.level(1).energy[0]
    np.testing.assert_array_equal(merged.level(1).energy[1:], ds.level(1).energy[1:])
    np.testing.assert_array_equal(merged.level(1).forces[2], ds.level(1).forces[2])
    np.testing.assert_array_equal(merged.level(5).stress, ds.level(5).stress)


def test_select_configurations_keeps_their_labels_bitwise():
    from pyiron_appmlip.datasets.store import select_configurations

    ds = _dataset()
    part = select_configurations(ds, [ds.ids[2], ds.ids[0]])
    assert part.ids == [ds.ids[0], ds.ids[2]] and part.subset == ["train", "test"]
    assert part.level(1).ids == [ds.ids[0], ds.ids[2]] and part.level(5).ids == [ds.ids[2]]
    np.testing.assert_array_equal(part.level(1).forces[1], ds.level(1).forces[2])
    assert part.level(1).energy[1] == ds.level(1).energy[2]
    np.testing.assert_array_equal(part.level(1).kmesh, ds.level(1).kmesh[[0, 2]])
    assert select_configurations(ds, [ds.ids[0]]).level_names == ["1"]
    with pytest.raises(ValueError, match="ids names configurations the dataset lacks"):
        select_configurations(ds, ["nope"])


def test_a_file_without_cpu_times_loads_with_nan(tmp_path):
    """Files written before CPU times were recorded (e.g. the shipped small dataset)."""
    path = write_dataset(str(tmp_path / "d.h5"), _dataset())
    with h5py.File(path, "a") as f:
        for name in f["levels"]:
            del f["levels"][name]["cpu_time"]
    back = load_dataset(path)
    assert np.isnan(back.level(1).cpu_time).all() and len(back.level(1).cpu_time) == 3
    assert np.isfinite(back.level(1).wall_time).all()
    assert back.level(1).cost_clock() == "wall"  # nothing else to take


def test_the_cost_of_a_level_is_its_cpu_time_only_where_every_calculation_has_one():
    ds = _dataset()
    level = ds.level(1)
    assert level.cost_clock() == "cpu"
    np.testing.assert_array_equal(level.cost_seconds(), level.cpu_time)
    labels = ds.labels(1)
    assert labels.wall_times == dict(zip(level.ids, level.cpu_time.tolist(), strict=True))
    walls = ds.labels(1, clock="wall").wall_times
    assert walls == dict(zip(level.ids, level.wall_time.tolist(), strict=True))
    level.cpu_time[0] = np.nan  # one calculation without a CPU time: the whole level uses wall
    assert level.cost_clock() == "wall"
    np.testing.assert_array_equal(level.cost_seconds(), level.wall_time)
    with pytest.raises(ValueError, match="clock must be one of"):
        level.cost_seconds("cpu_seconds")
