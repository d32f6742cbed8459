"""Block stores kept in float32: values come back as float64 equal to numpy's float32 rounding
of what was appended (relative error at most 2**-24), checksums still catch a changed value,
the file's rows are float32, and a store of the other precision is refused."""

import h5py
import numpy as np
import pytest

from pyiron_appmlip.descriptors.store import BlockStore, DamagedStoreError


def _blocks(rng, n=5, p=7):
    # values over many decades, as qSNAP columns have
    return [rng.normal(size=(1 + 3 * k, p)) * 10.0 ** rng.integers(-2, 6, p) for k in range(1, n)]


def test_float32_store_rounds_once_and_returns_float64(tmp_path):
    rng = np.random.default_rng(1)
    blocks = _blocks(rng)
    ids = [f"c{k}" for k in range(len(blocks))]
    store = BlockStore.create(tmp_path / "s.h5", 7, {"dtype": "float32"})
    store.append_many(ids, blocks)
    with h5py.File(tmp_path / "s.h5", "r") as f:
        assert f["rows"].dtype == np.float32
    again = BlockStore(tmp_path / "s.h5")
    assert again.dtype == "float32"
    for b, got in zip(blocks, again.get_blocks(ids), strict=True):
        assert got.dtype == np.float64
        np.testing.assert_array_equal(got, b.astype(np.float32).astype(np.float64))
        assert np.max(np.abs(got - b) / np.abs(b)) <= 2.0**-24
    assert again.verify()["n_verified"] == len(ids)
    # a float64 store keeps the values exactly
    exact = BlockStore.create(tmp_path / "d.h5", 7)
    exact.append_many(ids, blocks)
    assert exact.dtype == "float64"
    np.testing.assert_array_equal(exact.get_block("c2"), blocks[2])
    assert (tmp_path / "s.h5").stat().st_size < 0.75 * (tmp_path / "d.h5").stat().st_size


def test_a_changed_float32_value_is_detected(tmp_path):
    blocks = _blocks(np.random.default_rng(2))
    store = BlockStore.create(tmp_path / "s.h5", 7, {"dtype": "float32"})
    store.append_many(["a", "b", "c", "d"], blocks)
    with h5py.File(tmp_path / "s.h5", "a") as f:
        f["rows"][5, 3] = f["rows"][5, 3] * 1.5
    with pytest.raises(DamagedStoreError, match="'b'"):
        BlockStore(tmp_path / "s.h5").get_blocks()


def test_the_other_precision_and_bad_names_are_refused(tmp_path):
    BlockStore.create(tmp_path / "s.h5", 7, {"dtype": "float32"})
    with pytest.raises(ValueError, match="written with other settings"):
        BlockStore.open_or_create(tmp_path / "s.h5", 7, {})
    with pytest.raises(ValueError, match=r"dtype must be one of \('float64', 'float32'\)"):
        BlockStore.create(tmp_path / "t.h5", 7, {"dtype": "float16"})
