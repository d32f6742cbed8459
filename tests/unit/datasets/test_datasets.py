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
