"""Nothing wrong is ever used as data: damaged or edited descriptor stores are named, never read,
and repaired by ``resume()`` to blocks bitwise equal to a clean run (real LAMMPS, 2Jmax 4)."""

import logging
import os
import shutil

import h5py
import numpy as np
import pytest

from pyiron_appmlip.descriptors import QSnapSettings, compute_to_store
from pyiron_appmlip.descriptors.store import BlockStore
from pyiron_appmlip.structures.candidates import rattled_strained_cells


def _structures(n=8, seed=3):
    return rattled_strained_cells(n, seed=seed, max_atoms=4)


def _job(project, name, structs, twojmax=4, run=True, unchecked=False, **inputs):
    job = project.create.job.AppmlipDescriptors(name)
    job.structures = structs
    job.input.twojmax = twojmax
    job.input.executor = "serial"
    job.input.chunk_size = 2
    job.input.progress = False
    for key, value in inputs.items():
        if unchecked:  # as if written to the job's file by other means
            with job.input.unchecked():
                setattr(job.input, key, value)
        else:
            setattr(job.input, key, value)
    if run:
        job.run()
    return job


def _entry(path, k):
    """(first row, row count) of the k-th configuration in the store file."""
    with h5py.File(path, "r") as f:
        return int(f["offsets"][k]), int(f["n_rows"][k])


def _file_offset_of_row(path, row):
    """Byte offset in the file of the first value of ``row`` of the ``rows`` dataset."""
    with h5py.File(path, "r") as f:
        rows = f["rows"]
        chunk_rows, p = rows.chunks
        info = rows.id.get_chunk_info_by_coord((row // chunk_rows * chunk_rows, 0))
        return info.byte_offset + (row % chunk_rows) * p * rows.dtype.itemsize


def _assert_bitwise_equal(job, clean):
    assert job.configuration_ids == clean.configuration_ids
    for got, want in zip(job.get_blocks(), clean.get_blocks(), strict=True):
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.tobytes() == want.tobytes()


# -- case 1: damaged chunks --------------------------------------------------------------------
def test_random_bytes_in_the_data_are_named_never_returned_and_recomputed(project):
    structs = _structures()
    clean = _job(project, "clean", structs)
    job = _job(project, "hit", structs)
    path = job.store_path
    ids = job.get_store().ids
    k = 5  # a 4-atom cell in the middle of the data
    assert _entry(path, k)[1] == 1 + 3 * 4 + 6  # with the virial rows (default)
    _damage_one_block(path, k)

    with pytest.raises(ValueError, match="damaged") as err:
        job.get_blocks()
    message = str(err.value)
    assert path in message and ids[k] in message
    for i in ids[:k] + ids[k + 1 :]:  # the damaged configuration is the only one named
        assert i not in message
    with pytest.raises(ValueError, match=ids[k]):
        list(job.iter_blocks(ids=[ids[k]]))
    with pytest.raises(ValueError, match=ids[k]):
        job.get_store().get_block(ids[k])
    # the undamaged configurations stay readable and exact
    others = [i for i in ids if i != ids[k]]
    for got, want in zip(job.get_blocks(others), clean.get_blocks(others), strict=True):
        assert got.tobytes() == want.tobytes()
    report = job.get_store().verify()
    assert report["damaged"] == [ids[k]] and report["n_verified"] == len(ids) - 1

    job = project.load("hit")
    job.resume()
    assert job.status.finished
    assert job.output.n_reused == len(ids) - 1 and job.output.n_recomputed == 1
    assert job.output.recomputed_ids == [ids[k]]
    assert os.path.exists(path + ".damaged")
    _assert_bitwise_equal(job, clean)
    assert job.get_store().verify()["damaged"] == []


def _damage_one_block(path, k, seed=0):
    first, _ = _entry(path, k)
    with open(path, "r+b") as fh:
        fh.seek(_file_offset_of_row(path, first + 2) + 40)
        fh.write(np.random.default_rng(seed).bytes(64))


def test_a_sweep_over_a_damaged_store_stops_with_the_error(project):
    from pyiron_appmlip.training.labels import Labels
    from pyiron_appmlip.training.sweep import SweepGrid, run_sweep

    structs = _structures()
    job = _job(project, "swept", structs)
    ids = job.configuration_ids
    rng = np.random.default_rng(4)
    labels = {
        "1": Labels.from_arrays(
            ids,
            [-3.7 * len(s) + 0.01 * rng.normal() for s in structs],
            [0.1 * rng.normal(size=(len(s), 3)) for s in structs],
            [1.0] * len(structs),
        )
    }
    grid = SweepGrid(["1"], [3], [150], samplers=["all"])
    _damage_one_block(job.store_path, 5)
    with pytest.raises(ValueError, match="damaged") as err:
        run_sweep({4: job.get_store()}, labels, ids[:6], ids[6:], grid, "1")
    assert ids[5] in str(err.value)


def test_one_rewritten_value_is_caught_by_the_checksum_and_recomputed(project):
    structs = _structures()
    clean = _job(project, "clean", structs)
    job = _job(project, "edited", structs)
    path = job.store_path
    ids = job.get_store().ids
    k = 2
    first, n_rows = _entry(path, k)
    with h5py.File(path, "r+") as f:  # a valid HDF5 file with one number changed by one ulp
        value = f["rows"][first + 1, 3]
        assert value != 0
        f["rows"][first + 1, 3] = np.nextafter(value, np.inf)

    with pytest.raises(ValueError, match="damaged") as err:
        list(job.iter_chunks(chunk_size=4))
    message = str(err.value)
    assert path in message and ids[k] in message and "chunk" in message

    job = project.load("edited")
    job.resume()
    assert job.output.n_reused == len(ids) - 1 and job.output.n_recomputed == 1
    assert job.output.recomputed_ids == [ids[k]]
    _assert_bitwise_equal(job, clean)


def test_store_level_checks_name_file_chunk_and_ids(tmp_path):
    rng = np.random.default_rng(1)
    ids = [f"c{i}" for i in range(10)]
    blocks = [rng.standard_normal((1 + 3 * (1 + i % 3), 5)) for i in range(10)]
    store = BlockStore.create(tmp_path / "s.h5", 5, chunk_rows=8)
    store.append_many(ids[:4], blocks[:4])
    store.append_many(ids[4:], blocks[4:])
    assert BlockStore(tmp_path / "s.h5").verify()["damaged"] == []
    first, _ = _entry(tmp_path / "s.h5", 6)
    with h5py.File(tmp_path / "s.h5", "r+") as f:
        f["rows"][first, 0] = 0.0
    store = BlockStore(tmp_path / "s.h5")
    chunks = store.iter_chunks(chunk_size=3)
    for want in (ids[0:3], ids[3:6]):
        assert next(chunks)[0] == want
    with pytest.raises(ValueError, match="damaged") as err:
        next(chunks)
    message = str(err.value)
    assert str(tmp_path / "s.h5") in message and "c6" in message
    assert "chunk 2" in message and "c7" not in message
    assert store.verify()["damaged"] == ["c6"]


def test_an_unreadable_file_is_named_set_aside_and_recomputed(project):
    structs = _structures(4)
    clean = _job(project, "clean", structs)
    job = _job(project, "header", structs)
    with open(job.store_path, "r+b") as fh:  # the HDF5 superblock
        fh.write(np.random.default_rng(2).bytes(64))
    with pytest.raises(ValueError, match="damaged") as err:
        job.get_blocks()
    assert job.store_path in str(err.value)
    job = project.load("header")
    job.resume()
    assert job.output.n_reused == 0 and job.output.n_recomputed == 4
    assert os.path.exists(job.store_path + ".damaged")
    _assert_bitwise_equal(job, clean)


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def log_records():
    """Messages logged by pyiron jobs and by this package (pytest's own capture is off)."""
    handler = _Records()
    loggers = [logging.getLogger("pyiron_log"), logging.getLogger("pyiron_appmlip")]
    for lg in loggers:
        lg.addHandler(handler)
    yield handler.messages
    for lg in loggers:
        lg.removeHandler(handler)


def test_store_without_checksums_is_read_with_a_warning_and_recomputed_on_resume(
    project, log_records
):
    structs = _structures(4)
    clean = _job(project, "clean", structs)
    job = _job(project, "old", structs)
    with h5py.File(job.store_path, "r+") as f:  # as written before checksums existed
        f.pop("sha256", None)
        f.attrs.pop("format_version", None)
    _assert_bitwise_equal(job, clean)
    assert any("unverified" in m and job.store_path in m for m in log_records)
    job = project.load("old")
    job.resume()
    assert job.output.n_reused == 0 and job.output.n_recomputed == 4
    assert os.path.exists(job.store_path + ".unverified")
    _assert_bitwise_equal(job, clean)
    assert job.get_store().verify()["damaged"] == []


# -- case 2: blocks of other settings ----------------------------------------------------------
def test_store_of_other_settings_is_refused_on_read_and_resume(project):
    structs = _structures(3)
    _job(project, "desc6", structs, twojmax=6)
    _job(project, "desc4nv", structs, twojmax=4, virial=False)
    j4 = _job(project, "desc4", structs, twojmax=4)
    clean = j4.get_blocks()
    shutil.copyfile(project.load("desc6").store_path, j4.store_path)  # another job's store
    j4 = project.load("desc4")
    for read in (j4.get_store, j4.get_blocks, lambda: list(j4.iter_chunks())):
        with pytest.raises(ValueError, match="other settings") as err:
            read()
        message = str(err.value)
        assert j4.store_path in message
        assert '"twojmax": 6' in message and '"twojmax": 4' in message
        assert "n_columns 495" in message and "n_columns 119" in message
    with pytest.raises(ValueError, match="delete"):
        j4.resume()
    j4 = project.load("desc4")
    assert j4.status.finished and os.path.exists(j4.store_path)  # nothing changed
    # the store of a job without the virial rows (stored by default)
    shutil.copyfile(project.load("desc4nv").store_path, j4.store_path)
    with pytest.raises(ValueError, match="virial False"):
        j4.get_blocks()
    # input changed after the run: resume refuses; deleting the store recomputes it
    j6 = project.load("desc6")
    j6.input.twojmax = 4
    with pytest.raises(ValueError, match='"twojmax": 6'):
        j6.resume()
    os.remove(j6.store_path)
    j6.resume()
    j6 = project.load("desc6")
    assert j6.settings.twojmax == 4 and j6.p == 119
    for got, want in zip(j6.get_blocks(), clean, strict=True):
        assert got.tobytes() == want.tobytes()


# -- case 3: resume of a finished job ----------------------------------------------------------
def test_resume_of_a_finished_job_verifies_its_store_and_reports(project, log_records):
    structs = _structures(6)
    clean = _job(project, "clean", structs)
    _job(project, "fin", structs)
    job = project.load("fin")
    assert job.output.n_reused == 0 and job.output.n_recomputed == 6  # the first run
    mtime = os.path.getmtime(job.store_path)
    job.resume()
    job = project.load("fin")
    assert job.status.finished
    assert job.output.n_reused == 6 and job.output.n_recomputed == 0
    assert os.path.getmtime(job.store_path) == mtime  # an intact store is only read
    assert any("6 reused, 0 recomputed" in m for m in log_records)
    # two configurations missing (as if their commit never happened)
    with h5py.File(job.store_path, "r+") as f:
        f["committed"][:] = [4, int(f["offsets"][4])]
    job.resume()
    job = project.load("fin")
    assert job.output.n_reused == 4 and job.output.n_recomputed == 2
    assert job.output.recomputed_ids == clean.configuration_ids[4:]
    assert any("4 reused, 2 recomputed" in m for m in log_records)
    _assert_bitwise_equal(job, clean)


# -- case 4: input checks ----------------------------------------------------------------------
@pytest.mark.parametrize("value", [-1, 0, -0.5, float("nan"), float("inf"), "0.5", True])
def test_min_distance_must_be_a_positive_number_or_none(project, value, tmp_path):
    with pytest.raises(ValueError, match="min_distance must be a positive number of Angstrom or "):
        _job(project, "md_set", _structures(1), run=False, min_distance=value)
    job = _job(project, "md", _structures(1), run=False, unchecked=True, min_distance=value)
    with pytest.raises(ValueError, match="min_distance must be a positive number of Angstrom or "):
        job.run()
    with pytest.raises(ValueError, match="min_distance must be a positive number"):
        compute_to_store(_structures(1), QSnapSettings(4), tmp_path / "x.h5", min_distance=value)
    assert not os.path.exists(tmp_path / "x.h5")


def test_min_distance_none_and_positive_are_accepted(project):
    for name, value in (("md_none", None), ("md_int", 1)):
        job = _job(project, name, _structures(2), min_distance=value)
        assert job.status.finished and len(job.get_blocks()) == 2


@pytest.mark.parametrize(
    "name", ["ABSOLUTE", "../x.h5", "sub/x.h5", "a/../../x.h5", "", ".", "..", " x.h5", 3]
)
def test_store_file_must_be_a_plain_file_name_in_the_job_folder(project, name, tmp_path):
    outside = str(tmp_path / "elsewhere.h5")
    name = outside if name == "ABSOLUTE" else name
    with pytest.raises(ValueError, match="store_file must be a plain file name inside the job"):
        _job(project, "sf_set", _structures(1), run=False, store_file=name)
    job = _job(project, "sf", _structures(1), run=False, unchecked=True, store_file=name)
    with pytest.raises(ValueError, match="store_file must be a plain file name inside the job"):
        job.run()
    assert not os.path.exists(outside)
    assert not os.path.exists(os.path.join(project.path, "x.h5"))


def _entry_byte_offset(path, name, k):
    """File offset of entry ``k`` of the one-chunk index dataset ``name``."""
    with h5py.File(path, "r") as f:
        ds = f[name]
        return ds.id.get_chunk_info(0).byte_offset + k * ds.dtype.itemsize, ds.dtype.itemsize


@pytest.mark.parametrize("dataset", ["ids", "sha256", "offsets", "n_rows", "n_atoms"])
def test_random_bytes_in_an_index_entry_damage_only_that_configuration(project, dataset):
    structs = _structures(6)
    clean = _job(project, "clean", structs)
    job = _job(project, "index", structs)
    ids = job.get_store().ids
    k = 3
    offset, size = _entry_byte_offset(job.store_path, dataset, k)
    with open(job.store_path, "r+b") as fh:
        fh.seek(offset)
        fh.write(np.random.default_rng(5).bytes(size))
    # a damaged id leaves the configuration missing, any other field fails its checksum
    with pytest.raises(KeyError if dataset == "ids" else ValueError, match="damaged"):
        job.get_blocks()
    assert len(job.get_store().verify()["damaged"]) == 1
    job = project.load("index")
    job.resume()
    assert job.output.n_reused == 5 and job.output.n_recomputed == 1
    assert job.output.recomputed_ids == [ids[k]]
    _assert_bitwise_equal(job, clean)


def test_a_damaged_commit_record_is_named_and_everything_recomputed(project):
    structs = _structures(4)
    clean = _job(project, "clean", structs)
    job = _job(project, "commit", structs)
    size = os.path.getsize(job.store_path)
    with h5py.File(job.store_path, "r") as f:
        offset = f["committed"].id.get_offset()
    with open(job.store_path, "r+b") as fh:
        fh.seek(offset)
        fh.write(np.array([10**12, 7], dtype="<i8").tobytes())
    with pytest.raises(ValueError, match="commit record"):
        job.get_blocks()
    job = project.load("commit")
    job.resume()
    assert job.output.n_reused == 0 and job.output.n_recomputed == 4
    assert os.path.getsize(job.store_path + ".damaged") == size  # set aside as it was
    _assert_bitwise_equal(job, clean)
