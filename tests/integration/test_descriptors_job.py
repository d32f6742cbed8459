"""AppmlipDescriptors job: run (2 processes), reload, accessors, validation, resume, presets,
virial rows by default and added to a job computed without them."""

import os

import numpy as np
import pytest
from ase.build import bulk

from pyiron_appmlip.descriptors import QSnapSettings, compute_qsnap_blocks
from pyiron_appmlip.descriptors import compute as compute_module
from pyiron_appmlip.structures.conversion import configuration_id


def structures(n=6):
    out = []
    for i in range(n):
        a = bulk("Be", "hcp", a=2.2858, c=3.5843).repeat((2, 1, 1))
        a.rattle(0.08, seed=i)
        out.append(a)
    return out


def test_run_reload_and_blocks(project):
    structs = structures(6)
    job = project.create.job.AppmlipDescriptors("desc4")
    job.structures = structs
    job.input.twojmax = 4
    job.input.executor = 2
    job.input.chunk_size = 2
    job.input.progress = False
    job.run()
    assert job.status.finished
    ids = [configuration_id(s) for s in structs]
    assert job.configuration_ids == ids
    assert job.p == 119
    np.testing.assert_array_equal(job.n_atoms, [4] * 6)
    # the six virial rows are stored by default; the accessors leave them out unless asked
    assert job.input.virial is None and job.output.virial is True and job.has_virial_rows
    ref = compute_qsnap_blocks(structs, 4)
    with_virial = compute_qsnap_blocks(structs, 4, virial=True)
    assert [b.shape[0] for b in job.get_store().get_blocks()] == [1 + 3 * 4 + 6] * 6
    for got, want in zip(job.get_blocks(virial=True), with_virial, strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * np.abs(want).max())
    (_, chunk), *_ = job.iter_chunks(6, virial=True)
    assert [b.shape[0] for b in chunk] == [1 + 3 * 4 + 6] * 6
    (_, chunk), *_ = job.iter_chunks(6)
    assert [b.shape[0] for b in chunk] == [1 + 3 * 4] * 6
    with pytest.raises(ValueError, match="virial must be True, False or None"):
        job.get_blocks(virial="yes")

    from pyiron_appmlip import Project

    reloaded = Project(project.path).load("desc4")
    assert reloaded.configuration_ids == ids
    assert reloaded.settings.elements == ("Be",) and reloaded.settings.twojmax == 4
    blocks = reloaded.get_blocks()
    for got, want in zip(blocks, ref, strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * np.abs(want).max())
    picked = reloaded.get_blocks(ids=[ids[4], ids[1]])
    np.testing.assert_array_equal(picked[0], blocks[4])
    np.testing.assert_array_equal(picked[1], blocks[1])
    assert sum(1 for _ in reloaded.iter_blocks()) == 6
    assert [c[0] for c in reloaded.iter_chunks(4)] == [ids[:4], ids[4:]]
    assert [s.get_chemical_symbols() for s in reloaded.structures] == [
        s.get_chemical_symbols() for s in structs
    ]


def test_invalid_input(project):
    job = project.create.job.AppmlipDescriptors("bad")
    job.structures = structures(1)
    with pytest.raises(ValueError, match="backend must be one of"):
        job.input.backend = "gpu"  # refused when set
    with job.input.unchecked():  # as if written to the job's file by other means
        job.input.backend = "gpu"
    with pytest.raises(ValueError, match="backend"):
        job.run()
    job2 = project.create.job.AppmlipDescriptors("bad2")
    job2.structures = structures(1)
    with pytest.raises(ValueError, match="twojmax must be an even integer"):
        job2.input.twojmax = 3
    with job2.input.unchecked():
        job2.input.twojmax = 3
    with pytest.raises(ValueError, match="twojmax"):
        job2.run()
    job3 = project.create.job.AppmlipDescriptors("bad3")
    with pytest.raises(ValueError, match="structures"):
        job3.run()
    job4 = project.create.job.AppmlipDescriptors("bad4")
    job4.structures = structures(1)
    job4.input.hyperparameters = {"elements": ["W"]}
    with pytest.raises(ValueError, match="unknown element"):
        job4.run()
    job5 = project.create.job.AppmlipDescriptors("bad5")
    job5.structures = structures(1)
    with pytest.raises(ValueError, match=r"virial must be None .* True .* or False"):
        job5.input.virial = "yes"
    with job5.input.unchecked():
        job5.input.virial = "yes"
    with pytest.raises(ValueError, match=r"virial must be None .* True .* or False"):
        job5.run()


def test_resume_after_interruption(project, monkeypatch):
    structs = structures(5)
    calls = []
    fail = [True]
    real = compute_module._compute_chunk

    def flaky(arrays, *args):
        calls.append(len(arrays["n_atoms"]))
        if len(calls) == 2 and fail[0]:
            raise RuntimeError("interrupted")
        return real(arrays, *args)

    monkeypatch.setattr(compute_module, "_compute_chunk", flaky)
    job = project.create.job.AppmlipDescriptors("resumable")
    job.structures = structs
    job.input.twojmax = 4
    job.input.executor = "serial"
    job.input.chunk_size = 2
    job.input.progress = False
    with pytest.raises(RuntimeError, match="interrupted"):
        job.run()
    assert job.status.aborted
    assert len(job.get_store()) == 2  # the first chunk was committed

    calls.clear()
    fail[0] = False
    job = project.load("resumable")
    job.resume()
    assert job.status.finished
    assert calls == [2, 1]  # only the three missing configurations
    ref = compute_qsnap_blocks(structs, 4)
    for got, want in zip(job.get_blocks(), ref, strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * np.abs(want).max())


def test_descriptor_chunks_on_an_executorlib_executor_equal_the_serial_blocks(project):
    from pyiron_appmlip.structures.candidates import rattled_strained_cells

    structures = list(rattled_strained_cells(6, seed=21, max_atoms=4))
    blocks = {}
    for name, executor in (
        ("serial", "serial"),
        ("single_node", {"kind": "single_node", "max_workers": 2}),
    ):
        job = project.create.job.AppmlipDescriptors(f"desc_{name}")
        job.structures = structures
        job.input.twojmax = 4
        job.input.chunk_size = 2
        job.input.executor = executor
        job.run()
        assert job.status.finished
        blocks[name] = job.get_blocks()
    assert job.output.workers.startswith("executorlib SingleNodeExecutor")
    # the same arithmetic in other processes: equal up to rounding
    for a, b in zip(blocks["serial"], blocks["single_node"], strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-12 * np.abs(a).max())


def test_n_processes_is_a_deprecated_synonym_for_a_local_pool(project):
    import warnings

    structs = structures(3)
    job = project.create.job.AppmlipDescriptors("desc_n_processes")
    job.structures = structs
    job.input.twojmax = 2
    job.input.chunk_size = 1
    job.input.progress = False
    job.input.n_processes = 2
    with pytest.warns(DeprecationWarning, match=r"input.n_processes is deprecated.*executor = 2"):
        job.run()
    assert job.status.finished and job.output.workers == "2 local workers"
    want = compute_qsnap_blocks(structs, 2)
    for got, w in zip(job.get_blocks(), want, strict=True):
        np.testing.assert_allclose(got, w, rtol=0, atol=1e-12 * np.abs(w).max())
    # an executor of its own wins, without the warning
    job = project.create.job.AppmlipDescriptors("desc_n_processes_serial")
    job.structures = structs
    job.input.twojmax = 2
    job.input.progress = False
    job.input.n_processes = 2
    job.input.executor = "serial"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        job.run()
    assert not [w for w in caught if "n_processes" in str(w.message)]
    assert job.status.finished and job.output.workers.startswith("1 worker (serial")
    for got, w in zip(job.get_blocks(), want, strict=True):
        np.testing.assert_allclose(got, w, rtol=0, atol=1e-12 * np.abs(w).max())


def test_use_preset_sets_the_input_and_the_blocks_follow(project):
    structs = structures(2)
    job = project.create.job.AppmlipDescriptors("desc_preset")
    job.structures = structs
    job.input.hyperparameters = {"elements": ["Be"]}
    job.input.executor = "serial"
    job.input.progress = False
    with pytest.raises(ValueError, match=r"unknown descriptor preset 'linear'.*'paper_qsnap'"):
        job.use_preset("linear")
    with pytest.raises(ValueError, match="twojmax"):
        job.use_preset("fitsnap_linear", twojmax=3)
    assert dict(job.input.hyperparameters) == {"elements": ["Be"]} and job.input.twojmax == 6
    job.use_preset("fitsnap_linear", twojmax=4)
    assert job.input.twojmax == 4
    hyper = dict(job.input.hyperparameters)
    assert hyper["elements"] == ["Be"]  # kept
    assert hyper["rcutfac"] == 4.67637 and hyper["bzeroflag"] == 0 and hyper["quadraticflag"] == 0
    job.run()
    settings = QSnapSettings.preset("fitsnap_linear", twojmax=4, elements=("Be",))
    assert job.settings == settings and job.p == 14
    for got, ref in zip(job.get_blocks(), compute_qsnap_blocks(structs, settings), strict=True):
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12 * np.abs(ref).max())


def test_virial_rows_added_to_a_job_computed_without_them(project):
    """A job computed with virial False (the default of earlier versions): setting virial True
    and resuming computes the blocks again with the virial rows and keeps the old store."""
    structs = structures(3)
    job = project.create.job.AppmlipDescriptors("desc_no_virial")
    job.structures = structs
    job.input.twojmax = 4
    job.input.virial = False
    job.input.executor = "serial"
    job.input.progress = False
    job.run()
    assert not job.has_virial_rows
    without = job.get_blocks()
    assert all(b.shape == (1 + 3 * 4, 119) for b in without)
    with pytest.raises(ValueError, match=r"job.input.virial = True and call job.resume\(\)"):
        job.get_blocks(virial=True)
    job = project.load("desc_no_virial")
    job.input.virial = True
    job.resume()
    job = project.load("desc_no_virial")
    assert job.status.finished and job.has_virial_rows and job.output.n_recomputed == 3
    ref = compute_qsnap_blocks(structs, 4, virial=True)
    for got, want, old in zip(job.get_blocks(), ref, without, strict=True):
        assert got.shape == (1 + 3 * 4 + 6, 119)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * np.abs(want).max())
        np.testing.assert_allclose(got[:13], old, rtol=0, atol=1e-12 * np.abs(old).max())
    assert os.path.isfile(job.store_path + ".without_virial")
    # the other way round (virial rows stored, input says False) is refused as before
    job.input.virial = False
    with pytest.raises(ValueError, match="virial True"):
        job.resume()
