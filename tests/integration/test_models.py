"""Fitted models carry their descriptor settings: a model taken from a sweep or fit job, fitted on
descriptors with non-default hyperparameters, is exported with no extra argument and LAMMPS
``pair_style snap`` reproduces its predictions; AppmlipFit is the sweep's simplest case with the
same columns; a level has one label however it is given."""

import numpy as np
import pytest

from pyiron_appmlip.dft.levels import PAPER_LEVELS
from pyiron_appmlip.training.table import COLUMN_NAMES

RCUTFAC, RFAC0 = 4.3, 0.95


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """Ten 1-2 atom Be cells labelled with GPAW at level 1; descriptors at 2Jmax 4 with
    non-default rcutfac and rfac0."""
    from pyiron_base import state

    state.update()
    from pyiron_appmlip import Project
    from pyiron_appmlip.structures.candidates import rattled_strained_cells

    pr = Project(str(tmp_path_factory.mktemp("models") / "pr"))
    structures = list(rattled_strained_cells(14, seed=11, max_atoms=2))[:10]
    lab = pr.create.job.AppmlipLabelling("labels_1")
    lab.structures = structures
    lab.input.level = 1
    lab.run()
    desc = pr.create.job.AppmlipDescriptors("desc_4")
    desc.structures = structures
    desc.input.twojmax = 4
    desc.input.hyperparameters = {"rcutfac": RCUTFAC, "rfac0": RFAC0}
    desc.input.executor = "serial"
    desc.run()
    return pr, lab, desc


def _lammps_predictions(structures, coeff_file, param_file):
    from ase.calculators.lammpslib import LAMMPSlib

    calc = LAMMPSlib(
        lmpcmds=["pair_style snap", f"pair_coeff * * {coeff_file} {param_file} Be"],
        atom_types={"Be": 1},
        keep_alive=True,
        lammps_header=["units metal", "atom_style atomic", "atom_modify map array sort 0 0"],
    )
    out = []
    for s in structures:
        a = s.copy()
        a.calc = calc
        out.append((a.get_potential_energy(), a.get_forces()))
    return out


def test_model_from_a_sweep_job_exports_its_own_settings_and_lammps_reproduces_it(study, tmp_path):
    from pyiron_appmlip.descriptors import compute_qsnap_blocks
    from pyiron_appmlip.potential import write_snap_potential
    from pyiron_appmlip.structures.candidates import rattled_strained_cells

    pr, lab, desc = study
    assert desc.settings.rcutfac == RCUTFAC and desc.settings.rfac0 == RFAC0
    job = pr.create.job.AppmlipSweep("sweep")
    job.add_descriptors(desc)
    job.add_labels(lab)
    job.input.subset_sizes = [4]
    job.input.samplers = ["leverage", "all"]
    job.input.weights = [[150.0, 1.0], [1.0, 1.0]]
    job.run()
    table = job.get_table()
    assert list(table.columns) == list(COLUMN_NAMES)
    row = table.index[(table["sampler"] == "leverage") & (table["weight_ratio"] == 1.0)][0]
    model = job.get_model(row)
    assert model.settings == desc.settings  # every hyperparameter, the elements, the flags
    assert model.train_level == "1" and model.energy_weight == 1.0
    assert len(model.training_ids) == 4 and set(model.training_ids) <= set(desc.configuration_ids)
    np.testing.assert_array_equal(model.coefficients, job.get_coefficients(row))
    assert job.get_model(table.loc[row]).coefficients.tobytes() == model.coefficients.tobytes()

    coeff_file, param_file = model.write_lammps(tmp_path)  # no settings passed
    params = dict(ln.split() for ln in open(param_file) if ln.strip() and not ln.startswith("#"))
    assert float(params["rcutfac"]) == RCUTFAC and float(params["rfac0"]) == RFAC0
    assert params["twojmax"] == "4"

    fresh = list(rattled_strained_cells(6, seed=99, max_atoms=4))
    pred_e, pred_f = model.predict(compute_qsnap_blocks(fresh, desc.settings))
    for e, f, (e_lmp, f_lmp) in zip(
        pred_e, pred_f, _lammps_predictions(fresh, coeff_file, param_file), strict=True
    ):
        assert abs(e_lmp - e) < 1e-6 * max(1.0, abs(e))
        np.testing.assert_allclose(f_lmp, f, rtol=0, atol=1e-6)
    # with the default settings LAMMPS would give other numbers: the check above can fail
    default_e, _ = model.linear_model.predict(
        compute_qsnap_blocks(fresh, type(desc.settings).make(desc.settings, rcutfac=4.812302818))
    )
    assert np.max(np.abs(default_e - pred_e)) > 1e-3

    # the bare coefficients have no settings: exporting them says what to pass
    with pytest.raises(ValueError, match=r"pass settings=QSnapSettings"):
        write_snap_potential(job.get_coefficients(row), ["Be"], tmp_path / "bare")
    df = model.potential_dataframe(tmp_path / "pot")
    assert df.Species[0] == ["Be"]


def test_fit_job_is_the_sweeps_simplest_case(study):
    from pyiron_appmlip.core import fit_weighted

    pr, lab, desc = study
    fit = pr.create.job.AppmlipFit("fit")
    fit.set_descriptors(desc)
    fit.add_labels(lab)
    fit.weights = [150, 12]
    fit.run()
    table = fit.get_table()
    assert list(table.columns) == list(COLUMN_NAMES)
    assert (table["sampler"] == "all").all() and len(table) == 2
    assert set(table["descriptors_job"]) == {desc.job_id}
    assert set(table["labelling_job"]) == {lab.job_id}

    sweep = pr.create.job.AppmlipSweep("sweep_all")
    sweep.add_descriptors(desc)
    sweep.add_labels(lab)
    sweep.input.samplers = ["all"]
    sweep.input.subset_sizes = []
    sweep.input.weights = [[150.0, 1.0], [12.0, 1.0]]
    sweep.run()
    pd_testing = pytest.importorskip("pandas.testing")
    pd_testing.assert_frame_equal(table, sweep.get_table())

    # independent: the in-memory fit on the job's training ids
    train = list(fit.output.train_ids)
    data = lab.get_labels()
    pos = {cid: k for k, cid in enumerate(data["ids"])}
    train = [i for i in train if i in pos]
    for k in range(len(table)):
        model = fit.get_model(k)
        assert set(model.training_ids) == set(train)
        ref = fit_weighted(
            desc.get_blocks(train),
            [data["energies"][pos[i]] for i in train],
            [data["forces"][pos[i]] for i in train],
            model.energy_weight,
            model.force_weight,
        )
        np.testing.assert_allclose(model.coefficients, ref.coefficients, rtol=1e-9, atol=1e-12)

    # a level given as a number or as the equal paper preset is the same level and row
    fit2 = pr.create.job.AppmlipFit("fit_preset")
    fit2.set_descriptors(desc)
    fit2.add_labels(lab, level=PAPER_LEVELS[1])
    fit2.weights = [150, 12]
    fit2.input.truth_level = PAPER_LEVELS[1].to_dict()
    fit2.run()
    assert list(fit2.input.labelling_jobs) == ["1"]
    t2 = fit2.get_table()
    assert (t2["train_level"] == "1").all() and (t2["truth_level"] == "1").all()
    drop = ["descriptors_job", "labelling_job", "truth_labelling_job"]
    pd_testing.assert_frame_equal(table.drop(columns=drop), t2.drop(columns=drop))


def test_claims_that_contradict_the_jobs_are_refused(study):
    pr, lab, desc = study
    job = pr.create.job.AppmlipSweep("wrong_claims")
    with pytest.raises(ValueError, match=r"level=3 .* differs from the labelling job's own level"):
        job.add_labels(lab, level=3)
    with pytest.raises(ValueError, match="differs from the descriptors job's own 2Jmax 4"):
        job.add_descriptors(desc, twojmax=6)
    job.add_labels(lab, level="level 1")  # the preset's name is the same level
    assert list(job.input.labelling_jobs) == ["1"]


def test_one_labelling_job_per_level_unless_merged_by_configuration_id(study, monkeypatch):
    from pyiron_appmlip.jobs.labelling import AppmlipLabelling

    pr, lab, desc = study
    structures = lab.structures[:3]
    extra = pr.create.job.AppmlipLabelling("labels_1_again")
    extra.structures = structures  # the same configurations at the same level
    extra.input.level = 1
    extra.run()
    job = pr.create.job.AppmlipSweep("merge")
    job.add_descriptors(desc)
    job.add_labels(lab)
    with pytest.raises(ValueError, match=r"level '1' already has the labelling job\(s\)"):
        job.add_labels(extra)
    job.add_labels(extra, merge=True)
    assert job.input.labelling_jobs["1"] == [lab.job_id, extra.job_id]
    merged = job._load_labels("1")
    single = pr.create.job.AppmlipSweep("single")
    single.add_labels(lab)
    assert merged.energies == single._load_labels("1").energies  # same labels, merged by id

    # a configuration labelled differently by the two jobs is refused (labels perturbed by a
    # fake get_labels of the second job)
    real = AppmlipLabelling.get_labels

    def fake_perturbed_get_labels(self, *args, **kwargs):
        data = real(self, *args, **kwargs)
        if self.job_id == extra.job_id:
            data["energies"] = np.asarray(data["energies"]) + 1e-3
        return data

    monkeypatch.setattr(AppmlipLabelling, "get_labels", fake_perturbed_get_labels)
    with pytest.raises(ValueError, match="is labelled differently by labelling jobs"):
        job._load_labels("1")


def test_a_sweep_on_top_of_zbl_exports_reference_plus_snap_that_lammps_reproduces(study, tmp_path):
    from ase.calculators.lammpslib import LAMMPSlib

    from pyiron_appmlip.descriptors import compute_qsnap_blocks
    from pyiron_appmlip.potential.export import pair_commands
    from pyiron_appmlip.potential.reference import ReferencePotential
    from pyiron_appmlip.structures.candidates import rattled_strained_cells

    pr, lab, desc = study
    zbl = ReferencePotential.zbl(("Be",))
    job = pr.create.job.AppmlipFit("fit_zbl")
    job.set_descriptors(desc)
    job.add_labels(lab)
    job.weights = [1.0]
    job.reference_potential = zbl
    job.run()
    plain = pr.create.job.AppmlipFit("fit_plain")
    plain.set_descriptors(desc)
    plain.add_labels(lab)
    plain.weights = [1.0]
    plain.run()
    model = job.get_model(0)
    assert model.reference == zbl
    assert not np.allclose(model.coefficients, plain.get_model(0).coefficients)
    coeff_file, param_file = model.write_lammps(tmp_path)
    lines = pair_commands(coeff_file, param_file, ["Be"], reference=zbl)
    assert lines[0] == "pair_style hybrid/overlay zbl 4.0 4.8 snap"
    fresh = list(rattled_strained_cells(4, seed=7, max_atoms=4))
    e_ref, f_ref, _ = zbl.evaluate(fresh)
    e_snap, f_snap = model.predict(compute_qsnap_blocks(fresh, desc.settings))
    calc = LAMMPSlib(
        lmpcmds=lines,
        atom_types={"Be": 1},
        keep_alive=True,
        lammps_header=["units metal", "atom_style atomic", "atom_modify map array sort 0 0"],
    )
    for k, atoms in enumerate(fresh):
        a = atoms.copy()
        a.calc = calc
        assert abs(a.get_potential_energy() - (e_ref[k] + e_snap[k])) < 1e-6
        np.testing.assert_allclose(a.get_forces(), f_ref[k] + f_snap[k], rtol=0, atol=1e-6)
