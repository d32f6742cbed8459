"""The AppmlipSweep job with stresses: GPAW labels (stresses, ASE's sign) and LAMMPS descriptors
with virial rows; the job's rows equal run_sweep on the same labels and blocks, and its new
inputs (stress_weight, group_weights) reach the fit and the resume context."""

import numpy as np
import pytest

from pyiron_appmlip.training.labels import Labels
from pyiron_appmlip.training.sweep import SweepGrid, run_sweep
from pyiron_appmlip.training.table import COLUMN_NAMES


@pytest.fixture(scope="module")
def stress_study(tmp_path_factory):
    """Eight 1-2 atom strained Be cells labelled with GPAW at level 1, descriptors at 2Jmax 4
    with and without virial rows."""
    from pyiron_base import state

    state.update()
    from pyiron_appmlip import Project
    from pyiron_appmlip.structures.candidates import rattled_strained_cells

    pr = Project(str(tmp_path_factory.mktemp("stress") / "pr"))
    structures = list(rattled_strained_cells(12, seed=5, max_atoms=2, strain=0.08))[:8]
    lab = pr.create.job.AppmlipLabelling("labels_1")
    lab.structures = structures
    lab.input.level = 1
    lab.run()
    descriptors = {}
    for virial in (True, False):
        desc = pr.create.job.AppmlipDescriptors(f"desc_4_{virial}")
        desc.structures = structures
        desc.input.twojmax = 4
        desc.input.executor = "serial"
        desc.input.virial = virial
        desc.run()
        descriptors[virial] = desc
    return pr, lab, descriptors, structures


def _sweep(pr, name, lab, desc, stress_weight=None, group_weights=None):
    job = pr.create.job.AppmlipSweep(name)
    job.add_descriptors(desc)
    job.add_labels(lab)
    job.input.subset_sizes = []
    job.input.weights = [[150.0, 1.0]]
    job.input.samplers = ["all"]
    job.input.test_fraction = 0.25
    if stress_weight is not None:
        job.input.stress_weight = stress_weight
    if group_weights is not None:
        job.input.group_weights = group_weights
    return job


def test_sweep_job_fits_gpaw_stresses(stress_study):
    pr, lab, descriptors, structures = stress_study
    data = lab.get_labels()
    assert np.isfinite(data["stress"]).all()
    job = _sweep(pr, "with_stress", lab, descriptors[True], stress_weight=20.0)
    assert _sweep(pr, "defaults", lab, descriptors[True]).input.stress_weight == 0.0
    job.run()
    table = job.get_table()
    assert list(table.columns) == list(COLUMN_NAMES)
    assert (table["stress_weight"] == 20.0).all()
    assert np.isfinite(table[["stress_rmse_train", "stress_rmse_test_truth"]].to_numpy()).all()
    # the same fit from the labels and blocks directly
    volumes = {
        cid: s.get_volume() for cid, s in zip(lab.configuration_ids, structures, strict=True)
    }
    labels = Labels.from_arrays(
        data["ids"],
        data["energies"],
        data["forces"],
        data["wall_times"],
        stresses=list(data["stress"]),
        volumes=[volumes[i] for i in data["ids"]],
    )
    store = descriptors[True].get_store()
    train = list(job.output.train_ids)
    test = list(job.output.test_ids)
    grid = SweepGrid(["1"], [], [(150.0, 1.0)], samplers=["all"], stress_weight=20.0)
    rows = run_sweep({4: store}, {"1": labels}, train, test, grid, "1")
    assert len(rows) == len(table) == 1
    np.testing.assert_allclose(job.get_coefficients(0), rows[0]["coefficients"], rtol=1e-12)
    assert table["stress_rmse_test_truth"].iloc[0] == pytest.approx(
        rows[0]["stress_rmse_test_truth"], rel=1e-12
    )
    # FitSNAP's error table of the row: one group (none recorded), its "*ALL" rows the table's
    errors = job.get_group_errors(0).set_index(["partition", "group", "quantity"])
    assert set(errors.index.get_level_values("group")) == {"*ALL", "(no group)"}
    for partition, suffix in (("train", "train"), ("test", "test_truth")):
        for quantity in ("energy", "force", "stress"):
            every = errors.loc[(partition, "*ALL", quantity)]
            # (the fit is underdetermined: its training errors are 0 up to rounding)
            assert every["rmse"] == pytest.approx(
                table[f"{quantity}_rmse_{suffix}"].iloc[0], rel=1e-9, abs=1e-6
            )
            assert every["n_rows"] == errors.loc[(partition, "(no group)", quantity), "n_rows"]
        n = errors.loc[(partition, "*ALL", "energy"), "n_config"]
        assert errors.loc[(partition, "*ALL", "stress"), "n_rows"] == 6 * n
    assert errors.loc[("train", "*ALL", "energy"), "n_config"] == len(train)
    # without stress weight the fit is another one, with stress errors still reported
    plain = _sweep(pr, "no_stress_weight", lab, descriptors[True])
    plain.run()
    other = plain.get_table()
    assert other["stress_weight"].iloc[0] == 0.0
    assert np.isfinite(other["stress_rmse_test_truth"].iloc[0])
    assert other["stress_rmse_train"].iloc[0] > table["stress_rmse_train"].iloc[0]
    # descriptors without virial rows: stress errors are NaN
    no_virial = _sweep(pr, "no_virial", lab, descriptors[False])
    no_virial.run()
    assert np.isnan(no_virial.get_table()["stress_rmse_test_truth"].iloc[0])
    np.testing.assert_array_equal(no_virial.get_coefficients(0), plain.get_coefficients(0))


def test_sweep_job_group_weights_and_stress_weight_checks(stress_study):
    pr, lab, descriptors, _ = stress_study
    job = _sweep(pr, "bad_groups", lab, descriptors[True], group_weights={"slab": [1, 1, 1]})
    with pytest.raises(ValueError, match=r"'slab'.*groups present: \[\]"):
        job.run()
    # refused when set ...
    with pytest.raises(ValueError, match=r"group_weights\['slab'\] must be three"):
        _sweep(pr, "bad_factors", lab, descriptors[True], group_weights={"slab": [1, -1]})
    with pytest.raises(ValueError, match="stress_weight must be a finite number >= 0"):
        _sweep(pr, "bad_weight", lab, descriptors[True], stress_weight=-1.0)
    # ... and at run time, where a value reached the input without its check
    for name, key, value in (
        ("bad_factors", "group_weights", {"slab": [1, -1]}),
        ("bad_weight", "stress_weight", -1.0),
    ):
        job = _sweep(pr, name, lab, descriptors[True])
        with job.input.unchecked():
            job.input[key] = value
        with pytest.raises(ValueError, match=key):
            job.validate_ready_to_run()


def test_unit_files_written_before_the_stress_columns_still_load(tmp_path):
    import pyiron_appmlip.jobs.sweep as sweep_job

    row = {c: 0.5 for c in COLUMN_NAMES}
    row.update(twojmax=4, sampler="all", repetition=0, subset_size=2, train_level="1")
    row.update(truth_level="1", coefficients=np.ones(3), training_ids=("a", "b"))
    row.update(dft_cost_source="given: 3 s per atom")
    old = {k: v for k, v in row.items() if not k.startswith("stress_") and k != "dft_cost_source"}
    path = sweep_job._write_unit(str(tmp_path), (4, "all", 0), [old], context="ctx")
    context, rows = sweep_job._read_unit(path)
    assert context == "ctx" and len(rows) == 1
    assert rows[0]["stress_weight"] == 0.0
    assert np.isnan(rows[0]["stress_rmse_train"]) and np.isnan(rows[0]["stress_rmse_test_truth"])
    assert rows[0]["dft_cost_source"].startswith("not recorded")
    _, again = sweep_job._read_unit(sweep_job._write_unit(str(tmp_path), (4, "all", 0), [row]))
    assert again[0]["stress_rmse_test"] == 0.5
    assert again[0]["dft_cost_source"] == "given: 3 s per atom"


# -- virial rows by default -----------------------------------------------------------------------
def _descriptors_job(pr, name, structures, **inputs):
    desc = pr.create.job.AppmlipDescriptors(name)
    desc.structures = structures
    desc.input.twojmax = 2  # 20 columns: the stacked problem below is overdetermined
    desc.input.executor = "serial"
    desc.input.progress = False
    for key, value in inputs.items():
        desc.input[key] = value
    desc.run()
    return desc


def _fit(pr, name, lab, desc, stress_weight):
    fit = pr.create.job.AppmlipFit(name)
    fit.set_descriptors(desc)
    fit.add_labels(lab)
    fit.weights = [(150.0, 1.0)]
    fit.input.stress_weight = stress_weight
    return fit


def _dense_lstsq(desc, lab, structures, ids, w_e, w_f, w_s):
    """scipy.linalg.lstsq on the stacked weighted rows: energy per atom [1, B/N], forces
    [0, dB], stresses [0, -virial/V] against ASE's stress, columns scaled to unit norm."""
    import scipy.linalg

    from pyiron_appmlip.core import DEFAULT_RCOND

    data = lab.get_labels()
    at = {cid: k for k, cid in enumerate(data["ids"])}
    volume = {cid: s.get_volume() for cid, s in zip(lab.configuration_ids, structures, strict=True)}
    blocks = dict(zip(desc.configuration_ids, desc.get_blocks(virial=True), strict=True))
    rows, ys = [], []
    for cid in ids:
        b, k = blocks[cid], at[cid]
        n = len(data["forces"][k])
        assert b.shape[0] == 1 + 3 * n + 6
        rows.append(w_e * np.r_[1.0, b[0] / n])
        ys.append(w_e * data["energies"][k] / n)
        rows.extend(w_f * np.c_[np.zeros(3 * n), b[1 : 1 + 3 * n]])
        ys.extend(w_f * np.asarray(data["forces"][k]).ravel())
        rows.extend(w_s * np.c_[np.zeros(6), -b[-6:] / volume[cid]])
        ys.extend(w_s * np.asarray(data["stress"][k]))
    a, y = np.array(rows), np.array(ys)
    if w_s:  # the stress rows make this small problem full rank
        assert a.shape[0] > a.shape[1] and np.linalg.matrix_rank(a) == a.shape[1]
    d = 1.0 / np.linalg.norm(a, axis=0)
    return d * scipy.linalg.lstsq(a * d, y, cond=DEFAULT_RCOND)[0]


def test_descriptors_job_with_default_input_serves_a_stress_fit(stress_study):
    pr, lab, _, structures = stress_study
    desc = _descriptors_job(pr, "desc_2_default", structures)  # no virial setting
    assert desc.has_virial_rows
    fit = _fit(pr, "fit_default_stress", lab, desc, stress_weight=20.0)
    fit.run()
    assert fit.status.finished
    table = fit.get_table()
    assert table["stress_weight"].iloc[0] == 20.0
    assert np.isfinite(table["stress_rmse_train"].iloc[0])
    train = list(fit.output.train_ids)
    ref = _dense_lstsq(desc, lab, structures, train, 150.0, 1.0, 20.0)
    got = fit.get_coefficients(0)
    assert np.abs(got - ref).max() <= 1e-8 * np.abs(ref).max()
    # the stress rows matter: without them the fit is another one
    no_stress = _dense_lstsq(desc, lab, structures, train, 150.0, 1.0, 0.0)
    assert np.abs(no_stress - ref).max() > 1e-4 * np.abs(ref).max()


def test_stress_fit_on_blocks_without_virial_rows_names_the_fix(stress_study):
    pr, lab, _, structures = stress_study
    old = _descriptors_job(pr, "desc_2_old", structures, virial=False)
    assert not old.has_virial_rows
    # energies and forces only: fine
    plain = _fit(pr, "fit_old_no_stress", lab, old, stress_weight=0.0)
    plain.run()
    assert plain.status.finished and np.isnan(plain.get_table()["stress_rmse_train"].iloc[0])
    # a stress fit is refused before it starts, naming the job and the fix
    fit = _fit(pr, "fit_old_stress", lab, old, stress_weight=20.0)
    with pytest.raises(ValueError, match="stress_weight=20.0") as err:
        fit.run()
    message = str(err.value)
    assert f"'desc_2_old' (id {old.job_id}, 2Jmax 2)" in message
    assert "job.input.virial = True and job.resume()" in message
    assert "stress_weight to 0" in message
    assert fit.job_id is None  # nothing was run or saved
    # following the message: the blocks get their virial rows and the fit runs
    old = pr.load("desc_2_old")
    old.input.virial = True
    old.resume()
    fit = _fit(pr, "fit_old_stress_after_fix", lab, pr.load("desc_2_old"), stress_weight=20.0)
    fit.run()
    train = list(fit.output.train_ids)
    ref = _dense_lstsq(pr.load("desc_2_old"), lab, structures, train, 150.0, 1.0, 20.0)
    assert np.abs(fit.get_coefficients(0) - ref).max() <= 1e-8 * np.abs(ref).max()
