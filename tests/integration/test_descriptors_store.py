"""HDF5 block store: round trip, chunked reads by id, crash safety, resumable parallel filling."""

import os
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest
from ase.build import bulk

from pyiron_appmlip.descriptors import (
    BlockStore,
    QSnapSettings,
    compute_qsnap_blocks,
    compute_to_store,
)
from pyiron_appmlip.descriptors import compute as compute_module
from pyiron_appmlip.descriptors import store as store_module
from pyiron_appmlip.structures.conversion import configuration_id


def random_blocks(n, p=7, seed=0):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 5, size=n)
    return [f"c{i:03d}" for i in range(n)], [rng.standard_normal((1 + 3 * k, p)) for k in sizes]


def test_round_trip_and_chunks(tmp_path):
    ids, blocks = random_blocks(23)
    store = BlockStore.create(tmp_path / "b.h5", 7, {"twojmax": 4}, chunk_rows=5)
    store.append(ids[0], blocks[0])
    store.append_many(ids[1:10], blocks[1:10])
    store.append_many(ids[10:], blocks[10:])
    again = BlockStore(tmp_path / "b.h5")
    assert len(again) == 23 and again.ids == ids
    assert again.metadata == {"twojmax": 4}
    np.testing.assert_array_equal(again.n_atoms, [(b.shape[0] - 1) // 3 for b in blocks])
    for got, want in zip(again.iter_blocks(chunk_size=4), blocks, strict=True):
        np.testing.assert_array_equal(got, want)
    order = [ids[k] for k in (17, 3, 4, 5, 22, 0)]
    chunks = list(again.iter_chunks(4, ids=order))
    assert [c[0] for c in chunks] == [order[:4], order[4:]]
    for cid, b in zip(order, [b for c in chunks for b in c[1]], strict=True):
        np.testing.assert_array_equal(b, blocks[ids.index(cid)])
    np.testing.assert_array_equal(again.get_block("c005"), blocks[5])
    assert "c005" in again and "nope" not in again
    with pytest.raises(KeyError):
        again.get_blocks(["nope"])
    with pytest.raises(ValueError, match="already stored"):
        again.append("c001", blocks[1])
    with pytest.raises(ValueError, match="shape"):
        again.append("new", np.zeros((4, 3)))


def test_open_or_create_checks_settings(tmp_path):
    path = tmp_path / "b.h5"
    BlockStore.open_or_create(path, 7, {"a": 1})
    assert len(BlockStore.open_or_create(path, 7, {"a": 1})) == 0
    with pytest.raises(ValueError, match="other settings"):
        BlockStore.open_or_create(path, 7, {"a": 2})
    with pytest.raises(ValueError, match="other settings"):
        BlockStore.open_or_create(path, 8, {"a": 1})


def test_killed_append_is_not_counted(tmp_path):
    """A process killed after writing rows but before the commit leaves only complete entries."""
    path = tmp_path / "b.h5"
    ids, blocks = random_blocks(5, seed=3)
    store = BlockStore.create(path, 7)
    store.append_many(ids[:3], blocks[:3])
    np.save(tmp_path / "b3.npy", blocks[3])
    code = textwrap.dedent(
        f"""
        import os, numpy as np
        from pyiron_appmlip.descriptors.store import BlockStore
        def die(*args, **kwargs):
            os._exit(17)
        BlockStore._commit = staticmethod(die)
        BlockStore({str(path)!r}).append("c003", np.load({str(tmp_path / "b3.npy")!r}))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert proc.returncode == 17, proc.stderr.decode()
    with h5py.File(path, "r") as f:  # the uncommitted rows did reach the file
        assert f["ids"].shape[0] == 4
    reopened = BlockStore(path)
    assert reopened.ids == ids[:3] and reopened.done_ids() == set(ids[:3])
    reopened.trim()
    reopened.append_many(ids[3:], blocks[3:])
    for got, want in zip(reopened.iter_blocks(), blocks, strict=True):
        np.testing.assert_array_equal(got, want)


def small_structures(n=6):
    out = []
    for i in range(n):
        a = bulk("Be", "hcp", a=2.2858, c=3.5843).repeat((2, 1, 1))
        a.rattle(0.08, seed=i)
        out.append(a)
    return out


def test_compute_to_store_parallel_matches_serial_and_resumes(tmp_path, monkeypatch):
    structs = small_structures(7)
    structs.append(structs[2].copy())  # a duplicate is computed once
    settings = QSnapSettings(4)
    ref = compute_qsnap_blocks(structs[:7], 4)
    ids = [configuration_id(s) for s in structs[:7]]

    par = compute_to_store(structs, settings, tmp_path / "par.h5", executor=2, chunk_size=2)
    assert par.ids == ids  # input order
    for got, want in zip(par.iter_blocks(), ref, strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * np.abs(want).max())

    # interrupted serial run: the third chunk fails, two chunks are stored
    calls = []
    real = compute_module._compute_chunk

    def flaky(arrays, *args):
        calls.append(len(arrays["n_atoms"]))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(arrays, *args)

    monkeypatch.setattr(compute_module, "_compute_chunk", flaky)
    path = tmp_path / "ser.h5"
    with pytest.raises(KeyboardInterrupt):
        compute_to_store(structs, settings, path, executor="serial", chunk_size=2, progress=False)
    assert BlockStore(path).ids == ids[:4]
    calls.clear()
    done = compute_to_store(
        structs, settings, path, executor="serial", chunk_size=2, progress=False
    )
    assert sum(calls) == 3  # only the missing configurations were computed
    assert done.ids == ids
    for got, want in zip(done.iter_blocks(), ref, strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * np.abs(want).max())
    # other settings for the same file are refused
    with pytest.raises(ValueError, match="other settings"):
        compute_to_store(structs, QSnapSettings(6), path, executor="serial")


def test_compute_to_store_errors(tmp_path):
    structs = small_structures(3)
    with pytest.raises(ValueError, match="backend"):
        compute_to_store(structs, QSnapSettings(4), tmp_path / "x.h5", backend="nope")
    with pytest.raises(ValueError, match="non-empty"):
        compute_to_store([], QSnapSettings(4), tmp_path / "x.h5")
    with pytest.raises(ValueError, match="unknown element"):
        compute_to_store(structs, QSnapSettings(4, elements=("W",)), tmp_path / "x.h5")
    bad = structs[1].copy()
    bad.positions[1] = bad.positions[0] + [0.1, 0.0, 0.0]
    with pytest.raises(ValueError, match="overlapping atoms"):
        compute_to_store(
            [structs[0], bad], QSnapSettings(4), tmp_path / "y.h5", executor=2, chunk_size=1
        )
    assert os.path.exists(tmp_path / "y.h5")
    for kwargs, match in (
        ({"executor": "cluster"}, "executor must be None or 'local'"),
        ({"executor": 0}, "executor as a number of local workers must be >= 1"),
        ({"max_in_flight": 0}, "max_in_flight must be a positive integer"),
        ({"n_processes": 0}, "n_processes must be >= 1"),
    ):
        with pytest.raises(ValueError, match=match):
            compute_to_store(structs, QSnapSettings(4), tmp_path / "z.h5", **kwargs)
    assert not os.path.exists(tmp_path / "z.h5")  # refused before anything was written


def test_n_processes_still_works_and_warns_and_the_old_import_place_too(tmp_path):
    structs = small_structures(3)
    report = {}
    with pytest.warns(DeprecationWarning, match=r"n_processes=n\) is deprecated: use executor=n"):
        store = compute_to_store(
            structs, QSnapSettings(2), tmp_path / "a.h5", n_processes=1, report=report
        )
    assert report["workers"] == "1 local worker"  # in this process
    want = compute_qsnap_blocks(structs, 2)
    for got, w in zip(store.iter_blocks(), want, strict=True):
        np.testing.assert_allclose(got, w, rtol=0, atol=1e-12 * np.abs(w).max())
    with pytest.warns(DeprecationWarning, match=r"moved to pyiron_appmlip\.descriptors\.compute"):
        from pyiron_appmlip.descriptors.store import compute_to_store as old_place
    assert old_place is compute_to_store
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        store_module.nothing  # noqa: B018
