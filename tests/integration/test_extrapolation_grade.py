"""Extrapolation grades of models with real LAMMPS descriptors of small Be cells: training
configurations grade low, clearly foreign structures (a strongly compressed cell, another
crystal, random positions) above ``collect``; the grade of a fit job survives ``pr.load()`` and
equals the one rebuilt from a sweep's stored blocks; a model without one says how to get it."""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from pyiron_appmlip.core.extrapolation import leverage_grade
from pyiron_appmlip.core.fit import fit_weighted
from pyiron_appmlip.descriptors.lammps_snap import compute_qsnap_blocks
from pyiron_appmlip.descriptors.per_atom import per_atom_rows
from pyiron_appmlip.descriptors.settings import QSnapSettings
from pyiron_appmlip.potential.model import SnapModel


def _hcp_cells(n, seed):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        a, c = 2.29 * rng.uniform(0.97, 1.03), 3.58 * rng.uniform(0.97, 1.03)
        atoms = bulk("Be", "hcp", a=a, c=c).repeat((2, 1, 1))
        atoms.rattle(0.08, seed=int(rng.integers(1 << 30)))
        out.append(atoms)
    return out


def _foreign():
    """A cell compressed to 0.85 of its lattice constants, diamond Be at hcp's density and
    eight atoms at random positions (none closer than 1.6 Angstrom)."""
    volume = bulk("Be", "hcp", a=2.29, c=3.58).get_volume() / 2
    compressed = bulk("Be", "hcp", a=2.29 * 0.85, c=3.58 * 0.85).repeat((2, 1, 1))
    compressed.rattle(0.05, seed=3)
    diamond = bulk("Be", "diamond", a=(8 * volume) ** (1 / 3))
    diamond.rattle(0.05, seed=4)
    rng = np.random.default_rng(7)
    positions = []
    while len(positions) < 8:
        x = rng.uniform(0, 4.2, 3)
        d = [np.linalg.norm((x - y + 2.1) % 4.2 - 2.1) for y in positions]
        if min(d, default=9.0) > 1.6:
            positions.append(x)
    random = Atoms("Be8", positions=positions, cell=[4.2] * 3, pbc=True)
    return {"compressed": compressed, "diamond": diamond, "random": random}


def _model(settings, train):
    """A model fitted to made-up labels (a grade does not depend on the labels)."""
    blocks = compute_qsnap_blocks(train, settings)
    rng = np.random.default_rng(0)
    energies = [-3.7 * len(a) + 0.01 * rng.normal() for a in train]
    forces = [0.1 * rng.normal(size=(len(a), 3)) for a in train]
    fitted = fit_weighted(blocks, energies, forces, 100.0, 1.0)
    return SnapModel(fitted.coefficients, settings, 100.0, 1.0, "made-up"), blocks


@pytest.mark.parametrize(
    "kind,twojmax,quadraticflag,n_train",
    [("leverage", 4, 1, 60), ("maxvol", 4, 1, 60), ("maxvol", 6, 0, 20)],
    ids=["leverage_2j4_quadratic", "maxvol_2j4_quadratic", "maxvol_2j6_linear"],
)
def test_training_configurations_grade_low_and_foreign_ones_above_collect(
    kind, twojmax, quadraticflag, n_train
):
    settings = QSnapSettings(twojmax, quadraticflag=quadraticflag, elements=("Be",))
    train = _hcp_cells(n_train, seed=1)
    model, blocks = _model(settings, train)
    if kind == "leverage":
        graded = model.with_leverage_grade(train, blocks=blocks)
    else:
        graded = model.with_maxvol_grade(train)
    grade = graded.grade
    assert grade.kind == kind
    np.testing.assert_array_equal(graded.coefficients, model.coefficients)
    train_grades = graded.grade_structures(train)
    assert grade.level(np.concatenate(train_grades)) == "ok"
    assert max(g.max() for g in train_grades) == pytest.approx(grade.training_max)
    foreign = _foreign()
    for name, g in zip(foreign, graded.grade_structures(list(foreign.values())), strict=True):
        assert g.max() > grade.thresholds.collect, (name, g.max(), grade.thresholds)
    if kind == "leverage":  # unseen cells of the training distribution stay below collect
        held_out = graded.grade_structures(_hcp_cells(5, seed=2))
        assert max(g.max() for g in held_out) <= grade.thresholds.collect


def test_leverage_grade_of_a_model_equals_the_dense_weighted_design():
    settings = QSnapSettings(4, quadraticflag=0, elements=("Be",))
    train = _hcp_cells(10, seed=5)
    model, blocks = _model(settings, train)
    model = model.with_leverage_grade(train, factors=[(2.0, 0.5)] * 3 + [(1.0, 1.0)] * 7)
    rows = []
    for i, b in enumerate(blocks):
        f_e, f_f = (2.0, 0.5) if i < 3 else (1.0, 1.0)
        n = (b.shape[0] - 1) // 3
        rows.append(100.0 * f_e * np.r_[1.0, b[0] / n])
        rows += [f_f * np.r_[0.0, r] for r in b[1:]]
    gram = np.array(rows).T @ np.array(rows)
    probe = per_atom_rows(_hcp_cells(2, seed=6), settings)
    expected = [np.einsum("ij,jk,ik->i", r, np.linalg.inv(gram), r) for r in probe]
    got = model.grade_structures(_hcp_cells(2, seed=6))
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-6)


def test_model_without_grade_says_how_to_get_one_and_round_trips():
    settings = QSnapSettings(2, quadraticflag=0, elements=("Be",))
    train = _hcp_cells(4, seed=8)
    model, _ = _model(settings, train)
    with pytest.raises(ValueError, match=r"grade: .*with_leverage_grade\(training_structures\)"):
        model.grade_structures(train)
    graded = model.with_maxvol_grade(train)
    with pytest.raises(ValueError, match="kind='leverage' but the model carries a maxvol grade"):
        graded.grade_structures(train, kind="leverage")
    with pytest.raises(ValueError, match=r"kind must be None or one of"):
        graded.grade_structures(train, kind="gamma")
    back = SnapModel.from_dict(graded.to_dict())
    np.testing.assert_array_equal(
        back.grade_structures(train)[0], graded.grade_structures(train)[0]
    )
    old = model.to_dict()
    assert "grade" not in old and SnapModel.from_dict(old).grade is None  # older dicts load
    _, blocks = _model(settings, train)
    with pytest.raises(ValueError, match="blocks has 3 entries but training_structures has 4"):
        model.with_leverage_grade(train, blocks=blocks[:3])
    with pytest.raises(ValueError, match="blocks has 3 entries but training_structures has 4"):
        model.with_leverage_grade(train, blocks=iter(blocks[:3]))
    with pytest.raises(ValueError, match="factors has 1 entries"):
        model.with_leverage_grade(train, factors=[(1.0, 1.0)])
    other = leverage_grade(np.eye(3), thresholds=(1, 2, 3))
    with pytest.raises(ValueError, match="grade has 3 columns but the model has"):
        model.with_grade(other)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """Eight 1-2 atom Be cells labelled with GPAW at level 1, descriptors at 2Jmax 2, an
    AppmlipFit and a sweep on the same split."""
    from pyiron_base import state

    state.update()
    from pyiron_appmlip import Project
    from pyiron_appmlip.structures.candidates import rattled_strained_cells

    pr = Project(str(tmp_path_factory.mktemp("grade") / "pr"))
    structures = list(rattled_strained_cells(12, seed=3, max_atoms=2))[:8]
    lab = pr.create.job.AppmlipLabelling("labels_1")
    lab.structures = structures
    lab.input.level = 1
    lab.run()
    desc = pr.create.job.AppmlipDescriptors("desc_2")
    desc.structures = structures
    desc.input.twojmax = 2
    desc.input.executor = "serial"
    desc.run()
    fit = pr.create.job.AppmlipFit("fit")
    fit.set_descriptors(desc)
    fit.add_labels(lab)
    fit.weights = [150.0, 1.0]
    fit.input.executor = "serial"
    fit.run()
    sweep = pr.create.job.AppmlipSweep("sweep")
    sweep.add_descriptors(desc)
    sweep.add_labels(lab)
    sweep.input.samplers = ["all"]
    sweep.input.subset_sizes = []
    sweep.input.weights = [[150.0, 1.0], [1.0, 1.0]]
    sweep.input.executor = "serial"
    sweep.run()
    return pr, structures, fit, sweep


def test_fit_job_models_carry_their_grade_also_after_reload(fitted):
    pr, structures, fit, sweep = fitted
    table = fit.get_table()
    for row in range(len(table)):
        model = fit.get_model(row)
        assert model.grade is not None and model.grade.kind == "leverage"
        assert model.grade.n_columns == model.coefficients.size
        assert fit.get_model(row, grade=False).grade is None
        loaded = pr.load("fit").get_model(row)
        by_id = dict(zip(pr.load("desc_2").configuration_ids, structures, strict=True))
        train = [by_id[i] for i in model.training_ids]
        np.testing.assert_array_equal(
            np.concatenate(loaded.grade_structures(train)),
            np.concatenate(model.grade_structures(train)),
        )
        assert loaded.grade.thresholds == model.grade.thresholds
        # the training atoms grade at most warn (the thresholds were calibrated on them)
        assert model.grade.level(np.concatenate(model.grade_structures(train))) == "ok"
        # the same grade, rebuilt from the sweep's blocks of the same training set
        key = table.iloc[row]
        match = sweep.get_table()
        same = match.index[
            (match["energy_weight"] == key["energy_weight"])
            & (match["force_weight"] == key["force_weight"])
        ][0]
        assert sweep.get_model(same).grade is None  # a sweep computes one only when asked
        rebuilt = sweep.get_model(same, grade=True)
        assert set(rebuilt.training_ids) == set(model.training_ids)
        probe = structures + [_foreign()["compressed"]]
        np.testing.assert_allclose(
            np.concatenate(rebuilt.grade_structures(probe)),
            np.concatenate(model.grade_structures(probe)),
            rtol=1e-6,
        )
        np.testing.assert_allclose(
            rebuilt.grade.thresholds.as_tuple(), model.grade.thresholds.as_tuple(), rtol=1e-6
        )
    with pytest.raises(ValueError, match="grade must be None, True or False"):
        fit.get_model(0, grade="yes")


def test_a_fit_whose_grade_cannot_be_built_still_finishes(fitted, monkeypatch):
    import pyiron_appmlip.jobs._grade as grade_module

    pr, _, fit, _ = fitted

    def fails(*args, **kwargs):
        raise RuntimeError("LAMMPS is not available (made up)")

    monkeypatch.setattr(grade_module, "training_grade_output", fails)
    again = pr.create.job.AppmlipFit("fit_without_grade")
    again.set_descriptors(pr.load("desc_2"))
    again.add_labels(pr.load("labels_1"))
    again.weights = [150.0, 1.0]
    again.input.executor = "serial"
    with pytest.warns(UserWarning, match="no extrapolation grade .*made up"):
        again.run()
    assert again.status.finished
    model = again.get_model(0)
    assert model.grade is None
    np.testing.assert_allclose(model.coefficients, fit.get_model(0).coefficients, rtol=1e-12)
