"""A pilot with real parts: designed from a descriptors job, labelled with GPAW, its sweep."""

import numpy as np
import pytest


def _candidates(tmp_path, name: str, n: int):
    """A project and a run descriptors job (2Jmax 2, linear) of ``n`` small candidate cells."""
    from pyiron_base import state

    state.update()
    from pyiron_appmlip import Project
    from pyiron_appmlip.structures.candidates import rattled_strained_cells

    pr = Project(str(tmp_path / name))
    desc = pr.create.job.AppmlipDescriptors("cand_desc")
    desc.structures = list(rattled_strained_cells(14, seed=7, max_atoms=2))[:n]
    desc.input.twojmax = 2
    desc.input.hyperparameters = {"quadraticflag": 0}
    desc.input.executor = "serial"
    desc.run()
    return pr, desc


@pytest.mark.slow
def test_pilot_designed_labelled_and_swept(tmp_path):
    pr, desc = _candidates(tmp_path, "pilot", 10)
    from pyiron_appmlip.jobs.pilot import (
        design_pilot_from_descriptors,
        pilot_sweep,
        run_pilot_labelling,
    )

    costs = {1: {"per_atom": 1.0}, 2: {"per_atom": 4.0}}
    with pytest.raises(ValueError, match="more than max_budget_fraction"):
        design_pilot_from_descriptors(
            desc, [1], 2, costs, n_train=5, n_test=2, budget_core_hours=1e-4
        )
    design = design_pilot_from_descriptors(desc, [1], 2, costs, n_train=5, n_test=2, seed=1)
    atoms = dict(zip(desc.configuration_ids, (len(s) for s in desc.structures), strict=True))
    assert design.total_seconds == pytest.approx(
        sum(atoms[i] for i in design.train_ids) + 4 * sum(atoms[i] for i in design.test_ids)
    )
    jobs = run_pilot_labelling(pr, design, desc, executor="serial")
    assert sorted(jobs) == ["1", "2"]
    assert sorted(jobs["1"].configuration_ids) == sorted(design.train_ids)
    assert sorted(jobs["2"].configuration_ids) == sorted(design.test_ids)
    # running it again loads the finished jobs instead of computing anything
    again = run_pilot_labelling(pr, design, desc)
    assert {k: j.job_id for k, j in again.items()} == {k: j.job_id for k, j in jobs.items()}
    sweep = pilot_sweep(pr, design, jobs, desc, subset_sizes=[3, 5], repetitions=2)
    sweep.input.executor = "serial"
    sweep.run()
    sweep = pr.load("pilot_sweep")
    table = sweep.get_table()
    assert sorted(str(i) for i in sweep.output.test_ids) == sorted(design.test_ids)
    assert (table["n_test"] == 2).all() and set(table["truth_level"]) == {"2"}
    # the test set is labelled at the reference level only: errors against the training level
    # are NaN, errors against the reference level are measured
    assert table["energy_rmse_test"].isna().all()
    assert table["energy_rmse_test_truth"].notna().all()
    full = table[table["subset_size"] == 5]
    assert all(
        set(ids) == set(design.train_ids)
        for ids in full.index.map(lambda k: sweep.get_model(int(k)).training_ids)
    )
    with pytest.raises(ValueError, match="test_ids must not repeat"):
        sweep.input.test_ids = ["a", "a"]

    # the plan from the pilot: a job in the project, reloaded, within its budget
    pilot_hours = (
        sum(float(np.nansum(list(j.get_labels()["wall_times"]))) for j in jobs.values()) / 3600
    )
    plan = pr.create.job.AppmlipPlan("plan")
    plan.set_pilot(sweep)
    plan.input.budget_core_hours = 20 * pilot_hours
    plan.input.preference = 1.0
    plan.run()
    plan = pr.load("plan")
    assert plan.output.spent_core_hours == pytest.approx(pilot_hours, rel=1e-6)
    best = plan.best
    assert best["train_level"] == "1" and 1 <= best["subset_size"] <= 10
    cand = plan.get_candidates()
    assert (cand["dft_core_hours"] <= 19 * pilot_hours * (1 + 1e-9)).all()
    # the configurations to label next are candidates not yet labelled at that level
    todo = plan.to_label()
    assert all(lv == "1" for _, lv in todo)
    assert not {i for i, _ in todo} & set(design.train_ids)
    assert len(todo) == best["subset_size"] - len(design.train_ids) or best["subset_size"] <= 5
    assert "Plan for" in plan.summary()
    plan.plot(tmp_path / "plan.png")
    other = pr.create.job.AppmlipPlan("plan_cheap_model")
    other.set_pilot(sweep)
    other.input.budget_core_hours = 20 * pilot_hours
    other.input.max_twojmax = 0
    with pytest.raises(ValueError, match="max_twojmax=0: the pilot has no setting"):
        other.run()
    assert (tmp_path / "plan.png").stat().st_size > 0


@pytest.mark.slow
def test_pilot_with_a_leverage_test_set_has_weighted_test_errors(tmp_path):
    """A pilot whose test set is drawn by leverage: its weights reach the sweep job, and the
    table's test RMSEs equal the weighted RMSEs of the stored coefficients computed here
    configuration by configuration from the descriptors job's blocks and GPAW's labels."""
    pr, desc = _candidates(tmp_path, "pilot_lev", 12)
    from pyiron_appmlip.jobs.pilot import (
        design_pilot_from_descriptors,
        pilot_sweep,
        run_pilot_labelling,
    )

    costs = {1: {"per_atom": 1.0}, 2: {"per_atom": 4.0}}
    design = design_pilot_from_descriptors(
        desc, [1], 2, costs, n_train=5, n_test=4, seed=2, test_selection="leverage"
    )
    assert design.test_selection == "leverage" and len(design.test_weights) == len(design.test_ids)
    jobs = run_pilot_labelling(pr, design, desc, executor="serial")
    sweep = pilot_sweep(pr, design, jobs, desc, subset_sizes=[5], repetitions=1)
    assert sweep.input.test_weights == list(design.test_weights)
    sweep.input.executor = "serial"
    sweep.run()
    sweep = pr.load("pilot_sweep")
    table = sweep.get_table()
    ids = [str(i) for i in sweep.output.test_ids]
    weight = dict(zip(design.test_ids, design.test_weights, strict=True))
    w = np.array([weight[i] for i in ids])
    truth = jobs["2"].get_labels()
    pos = {cid: k for k, cid in enumerate(truth["ids"])}
    blocks = desc.get_blocks(ids, virial=False)
    for row in table.index:
        c = sweep.get_coefficients(row)
        se, sf, nf = [], [], []
        for cid, b in zip(ids, blocks, strict=True):
            f = np.asarray(truth["forces"][pos[cid]])
            n = len(f)
            se.append(((n * c[0] + b[0] @ c[1:] - truth["energies"][pos[cid]]) / n) ** 2)
            r = b[1 : 1 + 3 * n] @ c[1:] - f.ravel()
            sf.append(r @ r)
            nf.append(r.size)
        energy = 1000 * np.sqrt(np.sum(w * se) / w.sum())
        force = 1000 * np.sqrt(np.sum(w * sf) / np.sum(w * np.array(nf)))
        assert table.loc[row, "energy_rmse_test_truth"] == pytest.approx(energy, rel=1e-8)
        assert table.loc[row, "force_rmse_test_truth"] == pytest.approx(force, rel=1e-8)
    with pytest.raises(ValueError, match="test_weights must be finite numbers > 0"):
        sweep.input.test_weights = [1.0, -1.0]
    # weights without the test set they belong to: refused, naming both inputs
    orphan = pilot_sweep(pr, design, jobs, desc, subset_sizes=[5], repetitions=1, name="orphan")
    orphan.input.executor = "serial"
    orphan.input.test_ids = None
    with pytest.raises(ValueError, match="test_weights needs test_ids"):
        orphan.run()
