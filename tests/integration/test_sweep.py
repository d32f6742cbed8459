"""Sweep: pure function against independent fits; the AppmlipSweep job on tiny real data with an
interruption, a resume that recomputes nothing finished, and an extended grid."""

import numpy as np
import pytest

import pyiron_appmlip.jobs.sweep as sweep_job_module
import pyiron_appmlip.training.sweep as sweep_module
from pyiron_appmlip.core import fit_weighted
from pyiron_appmlip.training.labels import Labels
from pyiron_appmlip.training.sweep import InMemoryBlocks, SweepGrid, row_key, run_sweep


def _synthetic(m=40, p=6, seed=0):
    rng = np.random.default_rng(seed)
    beta = rng.normal(size=p + 1)
    blocks, raw = {}, {"1": {}, "2": {}}
    for k in range(m):
        n = int(rng.integers(1, 4))
        b = rng.normal(size=(1 + 3 * n, p))
        cid = f"c{k:03d}"
        blocks[cid] = b
        e = beta[0] * n + b[0] @ beta[1:]
        f = (b[1:] @ beta[1:]).reshape(n, 3)
        for lv, noise in (("1", 0.1), ("2", 0.01)):
            raw[lv][cid] = (e + noise * rng.normal(), f + noise * rng.normal(size=f.shape), 2.0 * n)
    labels = {
        lv: Labels.from_arrays(
            list(d),
            [v[0] for v in d.values()],
            [v[1] for v in d.values()],
            [v[2] for v in d.values()],
        )
        for lv, d in raw.items()
    }
    ids = sorted(blocks)
    return blocks, labels, ids[:30], ids[30:]


def test_sweep_rows_equal_independent_fits():
    blocks, labels, train, test = _synthetic()
    grid = SweepGrid(
        ["1", "2"], [10, 20], [150, 12], samplers=["leverage", "random", "all"], repetitions=2
    )
    rows = run_sweep({4: InMemoryBlocks(blocks)}, labels, train, test, grid, "2")
    # 2 samplers x 2 reps x 2 sizes x 2 weights x 2 levels + 'all' x 2 weights x 2 levels
    assert len(rows) == 2 * 2 * 2 * 2 * 2 + 2 * 2
    te_b = [blocks[i] for i in test]
    for r in rows:
        if r["sampler"] != "all":
            continue
        lab = labels[r["train_level"]]
        model = fit_weighted(
            [blocks[i] for i in train],
            [lab.energies[i] for i in train],
            [lab.forces[i] for i in train],
            r["energy_weight"],
            r["force_weight"],
        )
        e, f = model.rmse(
            te_b, [labels["2"].energies[i] for i in test], [labels["2"].forces[i] for i in test]
        )
        assert r["energy_rmse_test_truth"] == pytest.approx(e, rel=1e-8)
        assert r["force_rmse_test_truth"] == pytest.approx(f, rel=1e-8)
        assert r["dft_seconds"] == pytest.approx(sum(lab.wall_times[i] for i in train))
    # nested subsets: a random-order subset's DFT cost grows with its size
    rnd = sorted(
        (r for r in rows if r["sampler"] == "random" and r["repetition"] == 0),
        key=lambda r: r["subset_size"],
    )
    assert rnd[0]["dft_seconds"] < rnd[-1]["dft_seconds"]
    # nothing is recomputed when every row is done
    again = run_sweep(
        {4: InMemoryBlocks(blocks)}, labels, train, test, grid, "2", done=[row_key(r) for r in rows]
    )
    assert again == []


def test_sweep_errors():
    blocks, labels, train, test = _synthetic()
    with pytest.raises(ValueError, match="empty"):
        SweepGrid(["1"], [], [150])
    with pytest.raises(ValueError, match="weights"):
        SweepGrid(["1"], [5], [])
    with pytest.raises(ValueError, match="sampler"):
        SweepGrid(["1"], [5], [150], samplers=["greedy"])
    with pytest.raises(ValueError, match="subset_size"):
        run_sweep(
            {4: InMemoryBlocks(blocks)}, labels, train, test, SweepGrid(["1"], [31], [150]), "2"
        )
    with pytest.raises(ValueError, match="truth_level"):
        run_sweep(
            {4: InMemoryBlocks(blocks)}, labels, train, test, SweepGrid(["1"], [5], [150]), "6"
        )
    with pytest.raises(ValueError, match="train level"):
        run_sweep(
            {4: InMemoryBlocks(blocks)}, labels, train, test, SweepGrid(["5"], [5], [150]), "2"
        )


@pytest.fixture(scope="module")
def tiny_study(tmp_path_factory):
    """Eight 1-2 atom Be cells labelled with GPAW at levels 1 and 2, descriptors at 2Jmax 4."""
    from pyiron_base import state

    state.update()
    from pyiron_appmlip import Project
    from pyiron_appmlip.structures.candidates import rattled_strained_cells

    pr = Project(str(tmp_path_factory.mktemp("sweep") / "pr"))
    structures = [s for s in rattled_strained_cells(12, seed=5, max_atoms=2)][:8]
    labels = {}
    for level in (1, 2):
        job = pr.create.job.AppmlipLabelling(f"labels_{level}")
        job.structures = structures
        job.input.level = level
        job.run()
        labels[level] = job
    desc = pr.create.job.AppmlipDescriptors("desc_4")
    desc.structures = structures
    desc.input.twojmax = 4
    desc.input.executor = "serial"
    desc.run()
    return pr, labels, desc


def _new_sweep(pr, name, labels, desc, sizes):
    job = pr.create.job.AppmlipSweep(name)
    job.add_descriptors(desc)
    for lj in labels.values():
        job.add_labels(lj)
    job.input.subset_sizes = sizes
    job.input.weights = [[150.0, 1.0], [12.0, 1.0]]
    job.input.samplers = ["leverage", "random"]
    job.input.repetitions = 1
    job.input.test_fraction = 0.25
    return job


@pytest.mark.slow
def test_sweep_job_interrupted_resumed_extended(tiny_study, monkeypatch):
    pr, labels, desc = tiny_study
    calls = []
    real_subset_fits = sweep_module.subset_fits

    def counting(*args, **kwargs):
        calls.append(list(args[1]))
        return real_subset_fits(*args, **kwargs)

    monkeypatch.setattr(sweep_module, "subset_fits", counting)
    real_write = sweep_job_module._write_unit
    written = []

    def write_then_die(folder, unit, rows, *context):
        real_write(folder, unit, rows, *context)
        written.append(unit)
        raise KeyboardInterrupt("simulated interruption after the first unit")

    job = _new_sweep(pr, "sweep", labels, desc, [2, 4])
    job.input.executor = "serial"  # the counting and the interruption live in this process
    monkeypatch.setattr(sweep_job_module, "_write_unit", write_then_die)
    with pytest.raises(KeyboardInterrupt):
        job.run()
    assert len(written) == 1 and len(calls) == 1
    monkeypatch.setattr(sweep_job_module, "_write_unit", real_write)

    job = pr.load("sweep")
    job.resume()
    assert len(calls) == 2  # only the unit that had not finished was computed
    job = pr.load("sweep")
    table = job.get_table()
    assert len(table) == 2 * 2 * 2 * 2  # samplers x sizes x weights x levels
    assert set(table["train_level"]) == {"1", "2"}
    assert (table["truth_level"] == "2").all()
    assert np.isfinite(table["energy_rmse_test_truth"]).all()
    # the DFT cost of every row, read back or computed: the GPAW wall times of its subset
    walls = {}
    for level, lj in labels.items():
        data = lj.get_labels()
        walls[str(level)] = dict(zip(data["ids"], data["wall_times"], strict=True))
    assert (table["dft_cost_source"] == "measured wall time").all()
    for k, r in table.iterrows():
        subset = job.get_model(k).training_ids
        expected = sum(walls[r["train_level"]][i] for i in subset)
        assert expected > 0 and r["dft_seconds"] == pytest.approx(expected, rel=1e-12)
    # provenance points at existing jobs
    ids = set(pr.job_table()["id"])
    assert set(table["descriptors_job"]) <= ids
    assert set(table["labelling_job"]) <= ids and set(table["truth_labelling_job"]) <= ids
    # the stored coefficients reproduce the row's test error through an independent evaluation
    row = table.index[(table["sampler"] == "random") & (table["subset_size"] == 4)][0]
    coef = job.get_coefficients(row)
    assert coef.shape == (desc.p + 1,)
    from pyiron_appmlip.core import direct_errors

    test_ids = list(job.output.test_ids)
    truth = labels[2].get_labels()
    pos = {cid: k for k, cid in enumerate(truth["ids"])}
    test_ids = [i for i in test_ids if i in pos]
    err = direct_errors(
        coef,
        desc.get_blocks(test_ids),
        [truth["energies"][pos[i]] for i in test_ids],
        [truth["forces"][pos[i]] for i in test_ids],
    )
    assert table.loc[row, "energy_rmse_test_truth"] == pytest.approx(err.energy_rmse, rel=1e-8)
    assert table.loc[row, "force_rmse_test_truth"] == pytest.approx(err.force_rmse, rel=1e-8)

    # a larger grid computes only the new cells
    n_before = len(calls)
    job.input.subset_sizes = [2, 4, 6]
    job.resume()
    job = pr.load("sweep")
    assert len(pr.load("sweep").get_table()) == 2 * 3 * 2 * 2
    new_calls = calls[n_before:]
    # 6 is the whole training pool: one fit of it serves both units
    assert new_calls == [[6]]


_ERRORS = ["energy_rmse_test_truth", "force_rmse_test_truth", "energy_rmse_train"]


def _errors_close(got, want, rtol=1e-9):
    """The errors (meV/atom, meV/Angstrom) of two tables equal up to rounding: the units of
    different runs are computed in different worker processes."""
    got, want = got[_ERRORS].to_numpy(float), want[_ERRORS].to_numpy(float)
    return got.shape == want.shape and np.allclose(got, want, rtol=rtol, atol=0.0, equal_nan=True)


@pytest.mark.slow
def test_resume_reuses_only_rows_of_the_same_inputs(tiny_study):
    pr, labels, desc = tiny_study
    job = _new_sweep(pr, "sweep_ctx", labels, desc, [2, 4])
    job.run()
    first = pr.load("sweep_ctx").get_table()
    assert pr.load("sweep_ctx").output.resume_report["computed_rows"] == len(first)
    for key, value in (("split_seed", 1), ("ridge", 1e-3), ("seed", 7)):
        job = pr.load("sweep_ctx")
        setattr(job.input, key, value)
        job.resume()
        job = pr.load("sweep_ctx")
        changed = job.get_table()
        report = job.output.resume_report
        assert report["reused_rows"] == 0 and report["computed_rows"] == len(first), key
        fresh = _new_sweep(pr, f"sweep_fresh_{key}", labels, desc, [2, 4])
        setattr(fresh.input, key, value)
        fresh.run()
        expected = pr.load(f"sweep_fresh_{key}").get_table()
        assert _errors_close(changed, expected), key
        assert not _errors_close(changed, first), key  # other inputs, other errors
        job.input.split_seed, job.input.ridge, job.input.seed = 0, 0.0, 0
        job.resume()
        job = pr.load("sweep_ctx")
        assert job.output.resume_report["computed_rows"] == 0  # the first inputs' units reused
        np.testing.assert_array_equal(  # the stored rows themselves: bitwise
            job.get_table()[_ERRORS].to_numpy(), first[_ERRORS].to_numpy()
        )


@pytest.mark.slow
def test_damaged_or_edited_unit_files_are_named_set_aside_and_recomputed(tiny_study):
    import glob
    import os

    pr, labels, desc = tiny_study
    job = _new_sweep(pr, "sweep_damage", labels, desc, [2, 4])
    job.run()
    clean = pr.load("sweep_damage").get_table()
    files = sorted(glob.glob(os.path.join(job.unit_folder, "unit_*.npz")))
    assert len(files) == 2
    # 64 random bytes into the first file
    rng = np.random.default_rng(0)
    with open(files[0], "r+b") as fh:
        fh.seek(os.path.getsize(files[0]) // 2)
        fh.write(rng.bytes(64))
    # an edited value in the second, written back as a valid archive with the old checksum
    with np.load(files[1]) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["col__energy_rmse_train"] = arrays["col__energy_rmse_train"] * 0.5
    np.savez(files[1], **arrays)
    job = pr.load("sweep_damage")
    job.resume()
    job = pr.load("sweep_damage")
    report = job.output.resume_report
    assert sorted(report["damaged_files"]) == [os.path.basename(f) for f in files]
    assert report["computed_rows"] == len(clean) and report["reused_rows"] == 0
    assert all(os.path.exists(f + ".damaged") for f in files)
    assert _errors_close(job.get_table(), clean)


@pytest.mark.slow
def test_sweep_units_on_two_local_workers_give_the_serial_table(tiny_study):
    pr, labels, desc = tiny_study
    tables = {}
    for executor in ("serial", 2):
        job = _new_sweep(pr, f"sweep_exec_{executor}", labels, desc, [2, 4])
        job.input.samplers = ["leverage", "block_leverage", "random"]
        job.input.repetitions = 2
        job.input.executor = executor
        job.run()
        tables[executor] = pr.load(job.job_name)
    a, b = tables["serial"], tables[2]
    pd_testing = pytest.importorskip("pandas.testing")
    cols = [c for c in a.get_table().columns if not c.endswith("_job")]
    # the same fits in this process and in two worker processes: equal up to rounding
    pd_testing.assert_frame_equal(
        a.get_table()[cols], b.get_table()[cols], check_exact=False, rtol=1e-9, atol=0.0
    )
    for k in range(len(a.get_table())):
        want = a.get_coefficients(k)
        np.testing.assert_allclose(
            b.get_coefficients(k), want, rtol=0, atol=1e-7 * np.abs(want).max()
        )


def _loop_rmse(coefficients, blocks, energies, forces):
    """Energy (meV/atom) and force (meV/Angstrom) RMSE of a model, configuration by
    configuration."""
    de, df = [], []
    for b, e, f in zip(blocks, energies, forces, strict=True):
        n = len(f)
        de.append((coefficients[0] * n + b[0] @ coefficients[1:] - e) / n)
        df.extend(b[1:] @ coefficients[1:] - np.ravel(f))
    return 1000 * np.sqrt(np.mean(np.square(de))), 1000 * np.sqrt(np.mean(np.square(df)))


@pytest.mark.slow
def test_fit_with_test_fraction_zero_trains_on_every_configuration(tiny_study):
    from pyiron_appmlip.study import recommend

    pr, labels, _ = tiny_study
    # linear SNAP at 2Jmax 4: 15 coefficients for the 8 cells' 8 + 3 N equations
    desc = pr.create.job.AppmlipDescriptors("desc_linear_4")
    desc.structures = labels[1].structures
    desc.input.twojmax = 4
    desc.input.hyperparameters = {"quadraticflag": 0}
    desc.input.executor = "serial"
    desc.run()
    fit = pr.create.job.AppmlipFit("fit_all")
    fit.set_descriptors(desc)
    for job in labels.values():
        fit.add_labels(job)
    fit.weights = [150, 12]
    fit.input.test_fraction = 0
    fit.input.executor = "serial"
    with pytest.warns(UserWarning, match="no configuration is held out"):
        fit.run()
    fit = pr.load("fit_all")
    table = fit.get_table()
    assert not fit.output.has_test_set
    assert len(fit.output.test_ids) == 0
    ids = desc.configuration_ids
    assert sorted(str(i) for i in fit.output.train_ids) == sorted(ids)
    assert (table["n_test"] == 0).all() and (table["subset_size"] == len(ids)).all()
    test_columns = [c for c in table.columns if "_rmse_test" in c]
    assert table[test_columns].isna().all().all()
    blocks = desc.get_blocks(ids)
    for k, row in table.iterrows():
        data = labels[int(row["train_level"])].get_labels()
        pos = {cid: j for j, cid in enumerate(data["ids"])}
        e, f = _loop_rmse(
            fit.get_coefficients(k),
            blocks,
            [data["energies"][pos[i]] for i in ids],
            [data["forces"][pos[i]] for i in ids],
        )
        assert row["energy_rmse_train"] == pytest.approx(e, rel=1e-6)
        assert row["force_rmse_train"] == pytest.approx(f, rel=1e-6)
        assert row["energy_rmse_train"] > 1e-3  # an overdetermined fit: a real training error
    with pytest.raises(ValueError, match="no configuration was held out"):
        recommend(table)


@pytest.mark.slow
def test_a_labelling_job_filed_under_another_level_is_refused_at_run_time(tiny_study):
    pr, labels, desc = tiny_study
    job = _new_sweep(pr, "sweep_wrong_level", labels, desc, [2, 4])
    job.input.labelling_jobs["1"] = labels[2].job_id  # edited by hand: a level-2 job as level 1
    with pytest.raises(ValueError, match=r"labelling_jobs\['1'\] = \d+: job 'labels_2' provides"):
        job.run()
    assert not pr.load("sweep_wrong_level").status.finished


@pytest.mark.slow
def test_sweep_job_with_level_pairs_and_delta_models_reloads_and_exports(tiny_study, tmp_path):
    """Real GPAW labels at levels 1 and 2: the job's level-pair and Delta rows, after pr.load,
    equal dense least squares on their training ids; the model of a pair row exports, and its
    group errors compare energies with level 2 and forces with level 1."""
    import scipy.linalg

    pr, labels, desc = tiny_study
    job = _new_sweep(pr, "sweep_pairs", labels, desc, [4, 6])
    job.input.samplers = ["random"]
    job.input.weights = [[12.0, 1.0]]
    job.input.train_levels = [1]
    job.input.level_pairs = [[2, 1]]
    job.input.delta_pairs = [[1, 2]]
    job.input.energy_sizes = [3]
    with pytest.raises(ValueError, match="energy_sizes must be positive integers"):
        job.input.energy_sizes = [0]
    with pytest.raises(ValueError, match="names one level twice"):
        job.input.level_pairs = [[1, 1]]
    job.input.executor = "serial"
    job.run()
    job = pr.load("sweep_pairs")
    table = job.get_table()
    assert set(table["model_kind"]) == {"single", "level_pair", "delta"}
    assert set(table["train_level"]) == {"1", "E2+F1", "1+delta(2)"}
    data = {lv: labels[lv].get_labels() for lv in (1, 2)}
    pos = {lv: {cid: j for j, cid in enumerate(d["ids"])} for lv, d in data.items()}
    ids_all = desc.configuration_ids
    blocks = dict(zip(ids_all, desc.get_blocks(ids_all), strict=True))

    def rows(ids, lv, what):
        a, y = [], []
        for i in ids:
            b = blocks[i][: 1 + 3 * len(data[lv]["forces"][pos[lv][i]])]
            n = (b.shape[0] - 1) // 3
            if what == "e":
                a.append(np.r_[1.0, b[0] / n][None, :])
                y.append([data[lv]["energies"][pos[lv][i]] / n])
            else:
                a.append(np.hstack([np.zeros((3 * n, 1)), b[1:]]))
                y.append(np.ravel(data[lv]["forces"][pos[lv][i]]))
        return np.vstack(a), np.concatenate(y)

    for k, r in table[table["model_kind"] == "level_pair"].iterrows():
        model = job.get_model(k)
        ids = list(model.training_ids)
        ae, ye = rows(ids[: int(r["n_energy"])], 2, "e")
        af, yf = rows(ids, 1, "f")
        a, y = np.vstack([12.0 * ae, af]), np.r_[12.0 * ye, yf]
        scale = np.linalg.norm(a, axis=0)
        scale[scale == 0] = 1.0
        ref = scipy.linalg.lstsq(a / scale, y, cond=1e-10)[0] / scale
        np.testing.assert_allclose(job.get_coefficients(k), ref, rtol=1e-6, atol=1e-8)
        assert r["dft_seconds"] > 0
    k = int(np.flatnonzero(table["model_kind"] == "level_pair")[0])
    model = job.get_model(k)
    model.write_lammps(tmp_path / "pot")
    assert (tmp_path / "pot").exists()
    errors = job.get_group_errors(k)
    assert errors.attrs["train_level"] == "E2+F1"
    train = errors[(errors["partition"] == "train") & (errors["group"] == "*ALL")]
    e_row = train[train["quantity"] == "energy"].iloc[0]
    assert e_row["rmse"] == pytest.approx(table.loc[k, "energy_rmse_train"], rel=1e-6)
    f_row = train[train["quantity"] == "force"].iloc[0]
    assert f_row["rmse"] == pytest.approx(table.loc[k, "force_rmse_train"], rel=1e-6)


@pytest.mark.slow
def test_sweep_job_with_energies_apart_reloads_and_costs_both_sets(tiny_study):
    """energy_draw='apart' in the job: after pr.load the rows' training ids are the subset and
    then its energy configurations, and their DFT cost is the sum over both calculations."""
    pr, labels, desc = tiny_study
    job = _new_sweep(pr, "sweep_apart", labels, desc, [4])
    job.input.samplers = ["random"]
    job.input.weights = [[12.0, 1.0]]
    job.input.train_levels = [1]
    job.input.level_pairs = [[2, 1]]
    job.input.energy_sizes = [2]
    job.input.energy_draw = "apart"
    with pytest.raises(ValueError, match="energy_draw must be one of"):
        job.input.energy_draw = "elsewhere"
    job.input.executor = "serial"
    job.run()
    job = pr.load("sweep_apart")
    table = job.get_table()
    (k,) = np.flatnonzero(table["model_kind"] == "level_pair")
    r = table.iloc[k]
    assert r["train_level"] == "E2+F1 apart" and int(r["n_energy"]) == 2
    order = job.output.training_orders
    (ids,) = [list(v) for v in order.values()]
    force_ids, energy_ids = ids[:4], ids[4:6]
    assert list(job.get_model(int(k)).training_ids) == force_ids
    t1 = dict(zip(*(labels[1].get_labels()[c] for c in ("ids", "wall_times")), strict=True))
    t2 = dict(zip(*(labels[2].get_labels()[c] for c in ("ids", "wall_times")), strict=True))
    expected = sum(t1[i] for i in force_ids) + sum(t2[i] for i in energy_ids)
    assert r["dft_seconds"] == pytest.approx(expected, rel=1e-9)
