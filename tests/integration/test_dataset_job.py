"""AppmlipDataset: an imported dataset as a label source for the descriptors, fit and sweep jobs.

A FitSNAP JSON folder of EMT copper cells (two groups, some stresses not recorded, one
duplicate file) is written here, imported by a dataset job and then deleted; descriptors,
fits and sweeps are run from the job alone and compared with scipy.linalg.lstsq on the explicit
weighted matrix built from the values read straight from the files' bytes. The shipped Be
dataset goes through the same job (several levels in one job). Nothing needs /work/shared.
"""

import hashlib
import json
import os
import shutil

import numpy as np
import pytest
import scipy.linalg
from ase import Atoms
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.units import bar

from pyiron_appmlip.core import DEFAULT_RCOND, fit_weighted
from pyiron_appmlip.datasets.store import LabelledDataset, LevelData
from pyiron_appmlip.structures.conversion import configuration_id
from pyiron_appmlip.training.table import COLUMN_NAMES

LEVEL = "imported:cu_json"
HYPER = {"quadraticflag": 0}  # 2Jmax 2, linear: p = 5 columns, a well-posed tiny fit


# -------------------------------------------------------------------------------- the files
def _cells():
    """Eight Cu cells: four strained primitive cells ("bulk"), four rattled and strained cubic
    cells ("rattled"); seeded."""
    rng = np.random.default_rng(7)
    out = []
    for k, strain in enumerate([-0.03, 0.0, 0.02, 0.04]):
        atoms = bulk("Cu", "fcc", a=3.6)
        cell = np.asarray(atoms.cell) @ (
            np.eye(3) * (1 + strain) + 0.01 * k * np.triu(np.ones(3), 1)
        )
        atoms.set_cell(cell, scale_atoms=True)
        out.append(("bulk", atoms))
    for k in range(4):
        atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
        atoms.set_cell(np.asarray(atoms.cell) * (0.98 + 0.015 * k), scale_atoms=True)
        atoms.positions += 0.06 * rng.standard_normal(atoms.positions.shape)
        out.append(("rattled", atoms))
    return out


def _write_json(path, atoms, energy, forces, stress_bar):
    config = {
        "NumAtoms": len(atoms),
        "Lattice": np.asarray(atoms.cell).tolist(),
        "Positions": atoms.positions.tolist(),
        "AtomTypes": atoms.get_chemical_symbols(),
        "Energy": energy,
        "Forces": np.asarray(forces).tolist(),
    }
    if stress_bar is not None:
        config["Stress"] = np.asarray(stress_bar).tolist()
    dataset = {
        "Dataset": {
            "Data": [config],
            "LatticeStyle": "angstrom",
            "EnergyStyle": "electronvolt",
            "StressStyle": "bar",
            "PositionsStyle": "angstrom",
            "ForcesStyle": "electronvoltperangstrom",
            "AtomTypeStyle": "chemicalsymbol",
        }
    }
    with open(path, "w") as handle:
        handle.write("# EMT copper, written by the test\n" + json.dumps(dataset))


def _parse(raw: bytes):
    """One configuration straight from a file's bytes (no package code): structure, total
    energy, forces, ASE stress (eV/Angstrom^3) or None."""
    data = json.loads(raw.decode().split("\n", 1)[1])["Dataset"]["Data"][0]
    atoms = Atoms(data["AtomTypes"], positions=data["Positions"], cell=data["Lattice"], pbc=True)
    stress = None
    if "Stress" in data:
        s = np.asarray(data["Stress"], dtype=float)  # bar, positive under compression
        stress = -bar * np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])
    return atoms, float(data["Energy"]), np.asarray(data["Forces"], dtype=float), stress


@pytest.fixture(scope="module")
def cu_files(tmp_path_factory):
    """The FitSNAP folder ``cu_json/{bulk,rattled}/*.json`` (EMT labels; stresses of three
    configurations not recorded; ``rattled/r0_copy.json`` repeats ``rattled/r0.json``), with the
    bytes of every file and the values parsed from them, keyed by configuration id."""
    root = tmp_path_factory.mktemp("source") / "cu_json"
    no_stress = {("bulk", 1), ("rattled", 0), ("rattled", 3)}
    count = {"bulk": 0, "rattled": 0}
    for group, atoms in _cells():
        k = count[group]
        count[group] += 1
        atoms.calc = EMT()
        stress = None
        if (group, k) not in no_stress:
            sigma = atoms.get_stress(voigt=False)  # eV/Angstrom^3, ASE sign
            stress = -sigma / bar  # FitSNAP: bar, pressure sign
        (root / group).mkdir(parents=True, exist_ok=True)
        _write_json(
            root / group / f"{group[0]}{k}.json",
            atoms,
            float(atoms.get_potential_energy()),
            atoms.get_forces(),
            stress,
        )
    shutil.copyfile(root / "rattled" / "r0.json", root / "rattled" / "r0_copy.json")
    files = {os.path.relpath(p, root): p.read_bytes() for p in sorted(root.rglob("*.json"))}
    values = {}
    for rel, raw in files.items():
        atoms, energy, forces, stress = _parse(raw)
        cid = configuration_id(atoms)
        values.setdefault(
            cid,
            {
                "group": rel.split("/")[0],
                "n": len(atoms),
                "energy": energy,
                "forces": forces,
                "stress": stress,
                "volume": abs(np.linalg.det(np.asarray(atoms.cell))),
                "origin": rel,
            },
        )
    return str(root), files, values


@pytest.fixture(scope="module")
def cu_study(cu_files, tmp_path_factory):
    """The dataset job (source folder deleted after the import) and a descriptors job with
    virial rows computed from the dataset job's structures."""
    from pyiron_base import state

    state.update()
    from pyiron_appmlip import Project

    root, _, _ = cu_files
    pr = Project(str(tmp_path_factory.mktemp("dataset_job") / "pr"))
    data = pr.create.job.AppmlipDataset("cu_import")
    data.input.path = root
    data.run()
    shutil.rmtree(root)  # everything below works from the job alone
    desc = pr.create.job.AppmlipDescriptors("cu_2j2")
    desc.structures = data.structures
    desc.input.twojmax = 2
    desc.input.hyperparameters = HYPER
    desc.input.virial = True
    desc.input.executor = "serial"
    desc.input.progress = False
    desc.run()
    return pr, data, desc


# -------------------------------------------------------------------------------- reference
def _explicit_fit(blocks, values, ids, w_e, w_f, w_s=0.0, group_weights=None):
    """scipy.linalg.lstsq on the explicit weighted matrix (energies per atom, forces, stress
    rows -virial/volume where recorded), columns scaled to unit norm as the package does."""
    group_weights = group_weights or {}
    rows, ys = [], []
    for cid in ids:
        v, b = values[cid], blocks[cid]
        n = v["n"]
        fe, ff, fs = group_weights.get(v["group"], (1.0, 1.0, 1.0))
        rows.append(w_e * fe * np.r_[1.0, b[0] / n])
        ys.append(w_e * fe * v["energy"] / n)
        rows.extend(w_f * ff * np.c_[np.zeros(3 * n), b[1 : 1 + 3 * n]])
        ys.extend(w_f * ff * v["forces"].ravel())
        if w_s and v["stress"] is not None:
            rows.extend(w_s * fs * np.c_[np.zeros(6), -b[-6:] / v["volume"]])
            ys.extend(w_s * fs * v["stress"])
    a, y = np.array(rows), np.array(ys)
    d = 1.0 / np.linalg.norm(a, axis=0)
    return d * scipy.linalg.lstsq(a * d, y, cond=DEFAULT_RCOND)[0]


def _blocks(desc):
    ids = desc.configuration_ids
    return dict(zip(ids, desc.get_blocks(ids), strict=True))


def _ids(array):
    return [i.decode() if isinstance(i, bytes) else str(i) for i in np.asarray(array)]


def _assert_same_fit(coefficients, reference):
    scale = np.abs(reference).max()
    assert np.abs(np.asarray(coefficients) - reference).max() <= 1e-8 * scale


# -------------------------------------------------------------------------------- import
def test_import_provenance_in_the_job_output(cu_files, cu_study):
    _, files, values = cu_files
    pr, data, _ = cu_study
    row = pr.job_table().set_index("job").loc["cu_import"]
    assert row["hamilton"] == "AppmlipDataset" and row["status"] == "finished"
    out = data.output
    summary = out.summary
    assert summary["format"] == "fitsnap-json" and summary["level"] == LEVEL
    assert summary["n_files"] == 9 and summary["n_read"] == 9
    assert summary["n_configurations"] == 8 and summary["n_duplicates_merged"] == 1
    assert summary["n_stress_recorded"] == 5
    # every file read, with its SHA-256, and the manifest checksum (as sha256sum would print it)
    hashes = {rel: hashlib.sha256(raw).hexdigest() for rel, raw in files.items()}
    root = summary["root"]
    assert list(out.files["path"]) == [os.path.join(root, rel) for rel in sorted(hashes)]
    assert list(out.files["sha256"]) == [hashes[rel] for rel in sorted(hashes)]
    manifest = "".join(f"{hashes[p]}  {p}\n" for p in sorted(hashes))
    assert summary["files_sha256"] == hashlib.sha256(manifest.encode()).hexdigest()
    # the importer's description: declared units, sign, origins, the duplicate
    source = data.provenance["levels"][LEVEL]["source"]
    assert source["declared_units"]["StressStyle"] == ["bar"]
    assert source["stress_sign"] == "pressure"
    assert source["origin"] == {cid: v["origin"] for cid, v in values.items()}
    (duplicate,) = source["duplicates"]
    assert duplicate["copies"] == ["rattled/r0.json", "rattled/r0_copy.json"]
    assert duplicate["labels"] == "agree" and duplicate["kept"] == "rattled/r0.json"
    assert data.provenance["input"]["path"] == root
    assert list(out.n_labelled) == [8] and list(out.n_stress_recorded) == [5]
    # the dataset file in the working directory and its recorded checksum
    with open(data.dataset_path, "rb") as handle:
        assert out.dataset_sha256 == hashlib.sha256(handle.read()).hexdigest()
    assert data.verify() == out.dataset_sha256


def test_reloaded_job_gives_the_file_values_after_the_source_is_gone(cu_files, cu_study):
    root, _, values = cu_files
    pr, data, _ = cu_study
    assert not os.path.exists(root)
    job = pr.load(data.job_id)
    assert type(job).__name__ == "AppmlipDataset" and job.status.finished
    assert job.level_name == LEVEL and job.level_names == [LEVEL]
    assert job.configuration_ids == [configuration_id(a) for a in job.structures]
    assert sorted(job.configuration_ids) == sorted(values)
    labels = job.get_labels()
    assert set(labels) >= {
        "ids",
        "energies",
        "forces",
        "n_atoms",
        "stress",
        "wall_times",
        "status",
        "groups",
    }
    assert labels["ids"] == job.configuration_ids
    assert labels["stress"].shape == (8, 6) and np.isnan(labels["wall_times"]).all()
    assert labels["status"] == ["finished"] * 8
    for k, cid in enumerate(labels["ids"]):
        v = values[cid]
        assert labels["energies"][k] == v["energy"]
        assert labels["n_atoms"][k] == v["n"]
        np.testing.assert_array_equal(labels["forces"][k], v["forces"])
        assert labels["groups"][k] == v["group"]
        if v["stress"] is None:
            assert np.isnan(labels["stress"][k]).all()
        else:
            np.testing.assert_allclose(labels["stress"][k], v["stress"], rtol=1e-12, atol=0)
    table = job.get_table()
    assert list(table["origin"]) == [values[cid]["origin"] for cid in labels["ids"]]
    assert int(table["stress_recorded"].sum()) == 5


# -------------------------------------------------------------------------------- the fit
def test_descriptors_and_fit_from_the_dataset_job_equal_lstsq_on_the_file_values(
    cu_files, cu_study
):
    _, _, values = cu_files
    pr, data, desc = cu_study
    assert desc.configuration_ids == data.configuration_ids  # one structure, one id
    fit = pr.create.job.AppmlipFit("cu_fit")
    fit.set_descriptors(desc)
    fit.add_labels(data)
    fit.weights = [150, 12]
    fit.run()
    join = fit.output.join_report["2"]
    assert join["pool"] + join["test"] == 8  # every configuration joined
    assert len(join["without_labels"]) == 0 and len(join["without_descriptors"]) == 0
    train = _ids(fit.output.train_ids)
    table = fit.get_table()
    assert list(table["train_level"]) == [LEVEL, LEVEL]
    blocks = _blocks(desc)
    for k, r in table.iterrows():
        ref = _explicit_fit(blocks, values, train, r["energy_weight"], r["force_weight"])
        _assert_same_fit(fit.get_coefficients(k), ref)
        # the package's own solver on the same arrays read from the files agrees as well
        model = fit_weighted(
            [blocks[i][: 1 + 3 * values[i]["n"]] for i in train],
            [values[i]["energy"] for i in train],
            [values[i]["forces"] for i in train],
            r["energy_weight"],
            r["force_weight"],
        )
        _assert_same_fit(model.coefficients, ref)
    assert fit.get_model(0).train_level == LEVEL


def _sweep(pr, name, data, desc, **inputs):
    sweep = pr.create.job.AppmlipSweep(name)
    sweep.add_descriptors(desc)
    sweep.add_labels(data)
    sweep.input.samplers = ["all", "random"]
    sweep.input.subset_sizes = [4]
    sweep.input.weights = [[150.0, 1.0]]
    sweep.input.repetitions = 1
    sweep.input.executor = "serial"
    for key, value in inputs.items():
        sweep.input[key] = value
    sweep.run()
    return sweep


def _check_rows(sweep, blocks, values, w_s=0.0, group_weights=None):
    table = sweep.get_table()
    assert sorted(table["sampler"]) == ["all", "random"]
    for k, r in table.iterrows():
        ids = list(sweep.get_model(k).training_ids)
        assert len(ids) == (6 if r["sampler"] == "all" else 4)
        ref = _explicit_fit(
            blocks, values, ids, r["energy_weight"], r["force_weight"], w_s, group_weights
        )
        _assert_same_fit(sweep.get_coefficients(k), ref)
    return table


def test_sweep_group_weights_and_stresses_change_the_fit_as_weighted_lstsq_predicts(
    cu_files, cu_study
):
    _, _, values = cu_files
    pr, data, desc = cu_study
    blocks = _blocks(desc)
    plain = _sweep(pr, "cu_sweep", data, desc)
    _check_rows(plain, blocks, values)
    factors = {"rattled": (2.0, 1.0, 1.0)}
    weighted = _sweep(pr, "cu_sweep_groups", data, desc, group_weights={"rattled": [2.0, 1.0, 1.0]})
    _check_rows(weighted, blocks, values, group_weights=factors)
    changed = np.abs(weighted.get_coefficients(0) - plain.get_coefficients(0)).max()
    assert changed > 1e-6 * np.abs(plain.get_coefficients(0)).max()
    # stresses from the files (bar, pressure sign -> eV/Angstrom^3, ASE sign), missing ones
    # left out row by row
    stressed = _sweep(
        pr,
        "cu_sweep_stress",
        data,
        desc,
        group_weights={"rattled": [2.0, 1.0, 1.0]},
        stress_weight=50.0,
    )
    _check_rows(stressed, blocks, values, w_s=50.0, group_weights=factors)
    assert np.isfinite(stressed.get_table()["stress_rmse_train"]).all()
    changed = np.abs(stressed.get_coefficients(0) - weighted.get_coefficients(0)).max()
    assert changed > 1e-6 * np.abs(weighted.get_coefficients(0)).max()


# -------------------------------------------------------------------------------- group errors
def _brute_force_group_errors(blocks, values, ids, partition, coefficients, w, factors):
    """The per-group error rows by a loop over the dense matrix of ``ids`` built from the
    values read from the files: energies per atom, force components, recorded stresses
    (``-virial / volume``), each row with its weight ``w[quantity]`` times the group factor."""
    a, y, weights, meta = [], [], [], []
    for cid in ids:
        v, b = values[cid], blocks[cid]
        n = v["n"]
        f_e, f_f, f_s = factors.get(v["group"], (1.0, 1.0, 1.0))
        rows = [(np.r_[1.0, b[0] / n], v["energy"] / n, w["energy"] * f_e, "energy")]
        rows += [
            (np.r_[0.0, b[1 + j]], v["forces"].ravel()[j], w["force"] * f_f, "force")
            for j in range(3 * n)
        ]
        if v["stress"] is not None:
            rows += [
                (np.r_[0.0, -b[-6 + j] / v["volume"]], v["stress"][j], w["stress"] * f_s, "stress")
                for j in range(6)
            ]
        for row, label, weight, quantity in rows:
            a.append(row)
            y.append(label)
            weights.append(weight)
            meta.append((v["group"], quantity, cid))
    weights = np.array(weights)
    residual = np.array(a) @ coefficients - np.array(y)
    scale = {"energy": 1000.0, "force": 1000.0, "stress": 160.21766208}
    out = {}
    for group in ["*ALL", *sorted({m[0] for m in meta})]:
        for quantity in ("energy", "force", "stress"):
            mask = np.array([m[1] == quantity and group in ("*ALL", m[0]) for m in meta])
            if not mask.any():
                continue
            r, ww = residual[mask], weights[mask]
            out[(partition, group, quantity)] = {
                "n_config": len({m[2] for m, keep in zip(meta, mask, strict=True) if keep}),
                "n_rows": int(mask.sum()),
                "mae": scale[quantity] * np.mean(np.abs(r)),
                "rmse": scale[quantity] * np.sqrt(np.mean(r**2)),
                "n_weighted_rows": int(np.count_nonzero(ww)),
                "weighted_mae": np.mean(np.abs(ww * r)),
                "weighted_rmse": np.sqrt(np.sum((ww * r) ** 2) / np.count_nonzero(ww)),
            }
    return out


def test_group_errors_of_every_row_equal_a_brute_force_loop_over_the_file_values(
    cu_files, cu_study
):
    _, _, values = cu_files
    pr, data, desc = cu_study
    blocks = _blocks(desc)
    factors = {"rattled": (2.0, 1.0, 0.5)}
    sweep = _sweep(
        pr,
        "cu_group_errors",
        data,
        desc,
        group_weights={"rattled": [2.0, 1.0, 0.5]},
        stress_weight=50.0,
    )
    table = sweep.get_table()
    test = _ids(sweep.output.test_ids)
    for k, r in table.iterrows():
        errors = sweep.get_group_errors(k)
        assert errors.attrs["row"] == k and errors.attrs["test_level"] == LEVEL
        assert set(errors["level"]) == {LEVEL}
        c = sweep.get_coefficients(k)
        w = {"energy": r["energy_weight"], "force": r["force_weight"], "stress": 50.0}
        train = list(sweep.get_model(k).training_ids)
        expected = _brute_force_group_errors(blocks, values, train, "train", c, w, factors)
        expected |= _brute_force_group_errors(blocks, values, test, "test", c, w, factors)
        got = {(e.partition, e.group, e.quantity): e for e in errors.itertuples()}
        assert set(got) == set(expected)
        assert {key[1] for key in got} >= {"*ALL", "bulk", "rattled"}
        for key, ref in expected.items():
            for name, value in ref.items():
                if name.startswith("n_"):
                    assert getattr(got[key], name) == value, (k, key, name)
                else:
                    assert getattr(got[key], name) == pytest.approx(value, rel=1e-9), (key, name)
        # "*ALL" rows: the table's columns of that row; the groups add up to them
        for (partition, quantity), part in errors.groupby(["partition", "quantity"]):
            every = part[part["group"] == "*ALL"].iloc[0]
            groups = part[part["group"] != "*ALL"]
            assert groups["n_rows"].sum() == every["n_rows"]
            assert groups["n_config"].sum() == every["n_config"]
            column = f"{quantity}_rmse_train" if partition == "train" else f"{quantity}_rmse_test"
            assert every["rmse"] == pytest.approx(r[column], rel=1e-9)
        # the truth level (here the training level) by name, and a level this job has not
        truth = sweep.get_group_errors(r.to_dict(), test_level=r["truth_level"])
        assert np.allclose(truth["rmse"], errors["rmse"], rtol=1e-12)
    with pytest.raises(ValueError, match=r"test_level 3 .* has no labelling job"):
        sweep.get_group_errors(0, test_level=3)
    with pytest.raises(ValueError, match="row must be an index"):
        sweep.get_group_errors(len(table))


# -------------------------------------------------------------------------------- DFT cost
def test_level_costs_give_imported_labels_a_dft_cost_and_every_output_names_it(cu_files, cu_study):
    from pyiron_appmlip.dft.cost import CostModel
    from pyiron_appmlip.study import recommend
    from pyiron_appmlip.training.costs import cost_is_unknown

    _, _, values = cu_files
    pr, data, desc = cu_study
    sweep = _sweep(pr, "cu_costs", data, desc)
    table = sweep.get_table()
    # no recorded times and no given cost: 0 s, and said so in the table and the recommendation
    assert (table["dft_seconds"] == 0.0).all()
    assert all(cost_is_unknown(s) for s in table["dft_cost_source"])
    text = recommend(table).summary()
    assert "DFT cost source     unknown" in text and "is unknown" in text
    # a cost per atom, given afterwards: no fit is recomputed, every row gets its cost
    sweep.input.level_costs = {LEVEL: {"per_atom": 3.0}}
    sweep.resume()
    sweep = pr.load("cu_costs")
    assert sweep.output.resume_report["computed_rows"] == 0
    table = sweep.get_table()
    assert (table["dft_cost_source"] == "given: 3 s per atom").all()
    for k, r in table.iterrows():
        atoms = sum(values[i]["n"] for i in sweep.get_model(k).training_ids)
        assert r["dft_seconds"] == pytest.approx(3.0 * atoms, rel=1e-12)
        assert r["n_train_atoms"] == atoms
    # a table stored before the column existed gets it, saying so
    stored = pr.load("cu_costs")
    del stored.output.table["dft_cost_source"]
    old = stored.get_table()
    assert list(old.columns) == list(COLUMN_NAMES)
    assert old["dft_cost_source"].str.startswith("not recorded").all()
    result = recommend(table)
    assert result.cost_sources == {LEVEL: "given: 3 s per atom"}
    assert "DFT cost source     given: 3 s per atom" in result.summary()
    assert not any("unknown" in note for note in result.notes)
    # a CostModel object is stored in its plain form; N only (its K exponent is 0)
    model = CostModel(2.0, 1.5, 0.0, 3, 0.1, fixed=("kpoint_exponent",))
    fit = pr.create.job.AppmlipFit("cu_costs_model")
    fit.set_descriptors(desc)
    fit.add_labels(data)
    fit.weights = [150]
    fit.input.level_costs = {LEVEL: {"model": model}}
    fit.run()
    fit = pr.load("cu_costs_model")
    assert dict(fit.input.level_costs[LEVEL]["model"])["prefactor"] == 2.0
    (r,) = fit.get_table().to_dict("records")
    train = _ids(fit.output.train_ids)
    assert r["dft_seconds"] == pytest.approx(sum(2.0 * values[i]["n"] ** 1.5 for i in train))
    assert r["dft_cost_source"].startswith("given: cost model 2 s x N^1.5 x K^0")


def test_bad_level_costs_are_refused_naming_the_parameter(cu_study):
    pr, data, desc = cu_study
    job = pr.create.job.AppmlipSweep("cu_bad_costs")
    job.add_descriptors(desc)
    job.add_labels(data)
    for spec, message in (
        ({LEVEL: {"per_atom": -3.0}}, r"level_costs\['imported:cu_json'\]\['per_atom'\] must be"),
        ({LEVEL: {"per_atom": float("nan")}}, r"\['per_atom'\] must be a finite number"),
        ({LEVEL: {"per_minute": 3.0}}, r"unknown kind 'per_minute'; allowed kinds"),
    ):
        with pytest.raises(ValueError, match=message):  # refused when set
            job.input.level_costs = spec
        with job.input.unchecked():  # and at run time, where it reached the input unchecked
            job.input.level_costs = spec
        with pytest.raises(ValueError, match=message):
            job.validate_ready_to_run()
    # whether a level has labels is known at run time
    job.input.level_costs = {"3": {"per_atom": 3.0}}
    with pytest.raises(ValueError, match=r"level_costs names the level\(s\) \['3'\], which have"):
        job.validate_ready_to_run()


# -------------------------------------------------------------------------------- input checks
def test_input_checks(cu_study, tmp_path):
    from pyiron_appmlip.jobs.dataset import DatasetFileError, allowed_options

    pr, data, _ = cu_study
    job = pr.create.job.AppmlipDataset("nothing")
    with pytest.raises(ValueError, match="input.path"):
        job.validate_ready_to_run()
    job.input.path = str(tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="absent"):
        job.validate_ready_to_run()
    job.input.path = str(tmp_path)
    job.input.options = {"duplicate": "drop"}
    with pytest.raises(ValueError, match=r"'duplicate'.*allowed"):
        job.validate_ready_to_run()
    assert "duplicates" in allowed_options() and "path" not in allowed_options()
    job.input.options = {}
    job.input.format = "csv"
    with pytest.raises(ValueError, match="format"):
        job.validate_ready_to_run()
    job.input.format = None
    job.dataset = data.dataset
    with pytest.raises(ValueError, match="not both"):
        job.validate_ready_to_run()
    with pytest.raises(ValueError, match="LabelledDataset"):
        job.dataset = {"ids": []}
    with pytest.raises(ValueError, match="saved already"):
        data.dataset = data.dataset
    # an unknown level of the dataset
    with pytest.raises(ValueError, match=r"not a level.*imported:cu_json"):
        data.get_labels(level="3")
    # a changed or missing dataset file is refused, naming the file
    copy = pr.create.job.AppmlipDataset("copy")
    copy.dataset = data.dataset
    copy.run()
    assert copy.output.source == "dataset" and copy.level_name == LEVEL
    with open(copy.dataset_path, "r+b") as handle:
        handle.seek(100)
        byte = handle.read(1)
        handle.seek(100)
        handle.write(bytes([byte[0] ^ 0xFF]))
    reloaded = pr.load(copy.job_id)
    with pytest.raises(DatasetFileError, match="SHA-256"):
        reloaded.get_labels()
    os.remove(copy.dataset_path)
    with pytest.raises(DatasetFileError, match="no dataset file"):
        pr.load(copy.job_id).structures  # noqa: B018


# -------------------------------------------------------------------------------- Be dataset
def _subset(dataset: LabelledDataset, ids) -> LabelledDataset:
    """The configurations ``ids`` of ``dataset`` with their labels at every level."""
    keep = set(ids)
    positions = [k for k, cid in enumerate(dataset.ids) if cid in keep]
    levels = {}
    for name, data in dataset.levels.items():
        rows = [k for k, cid in enumerate(data.ids) if cid in keep]
        arrays = {
            key: np.asarray(getattr(data, key))[rows]
            for key in (
                "energy",
                "energy_zero",
                "stress",
                "wall_time",
                "n_kpoints",
                "n_scf_iterations",
                "kmesh",
                "job_id",
                "child_id",
            )
        }
        levels[name] = LevelData(
            name=name,
            level=data.level,
            engine=data.engine,
            engine_version=data.engine_version,
            ids=[data.ids[k] for k in rows],
            forces=[data.forces[k] for k in rows],
            source=data.source,
            **arrays,
        )
    return LabelledDataset(
        ids=[dataset.ids[k] for k in positions],
        structures=[dataset.structures[k] for k in positions],
        subset=[dataset.subset[k] for k in positions],
        generator=[dataset.generator[k] for k in positions],
        levels=levels,
        metadata=dataset.metadata,
        group=[dataset.group[k] for k in positions],
    )


def test_be_dataset_levels_through_one_dataset_job_into_a_fit(project):
    from pyiron_appmlip.reproduction.be_dataset import load_be_dataset

    be = load_be_dataset()
    small = [cid for cid, n in zip(be.ids, be.n_atoms, strict=True) if n <= 2][:12]
    dataset = _subset(be, small)
    assert len(dataset.ids) == 12
    job = project.create.job.AppmlipDataset("be_small")
    job.dataset = dataset
    job.run()
    assert job.level_names == ["1", "2", "3", "4", "5"]
    with pytest.raises(ValueError, match=r"provides the levels"):
        job.level_name  # noqa: B018
    desc = project.create.job.AppmlipDescriptors("be_2j2")
    desc.structures = job.structures
    desc.input.twojmax = 2
    desc.input.hyperparameters = HYPER
    desc.input.executor = "serial"
    desc.input.progress = False
    desc.run()
    fit = project.create.job.AppmlipFit("be_fit")
    fit.set_descriptors(desc)
    with pytest.raises(ValueError, match="provides the levels"):
        fit.add_labels(job)
    with pytest.raises(ValueError, match="not a level"):
        fit.add_labels(job, level=6)
    fit.add_labels(job, level=1)
    fit.add_labels(job, level="level 2")  # any spelling of the level
    fit.weights = [150]
    fit.run()
    assert dict(fit.input.labelling_jobs) == {"1": job.job_id, "2": job.job_id}
    table = fit.get_table().set_index("train_level")
    assert sorted(table.index) == ["1", "2"] and set(table["truth_level"]) == {"2"}
    train = _ids(fit.output.train_ids)
    blocks = dict(zip(desc.configuration_ids, desc.get_blocks(), strict=True))
    for level in ("1", "2"):
        labels = be.labels(level, train)
        model = fit_weighted(
            [blocks[i] for i in train],
            [labels.energies[i] for i in train],
            [labels.forces[i] for i in train],
            150.0,
            1.0,
        )
        k = int(np.flatnonzero(fit.get_table()["train_level"] == level)[0])
        _assert_same_fit(fit.get_coefficients(k), model.coefficients)
        assert table.loc[level, "dft_seconds"] == pytest.approx(
            sum(labels.wall_times[i] for i in train), rel=1e-12
        )


# ------------------------------------------------------------------ one rule for structures
def test_overlapping_atoms_are_refused_by_every_job_with_the_same_rule(cu_study, tmp_path):
    """Two Cu atoms 0.1 Angstrom apart: refused by the import, by a given dataset, by the
    descriptors and labelling jobs, each naming the atoms and the distance; None lets it pass."""
    from pyiron_appmlip.datasets.importers import read_dataset

    pr, data, _ = cu_study
    root = tmp_path / "close_json"
    close = bulk("Cu", "fcc", a=3.6, cubic=True)
    close.positions[2] = close.positions[0] + [0.06, 0.08, 0.0]  # 0.1 Angstrom from atom 0
    d_numpy = float(np.linalg.norm(close.positions[2] - close.positions[0]))
    assert d_numpy == pytest.approx(0.1, abs=1e-12)
    ok = bulk("Cu", "fcc", a=3.6)
    for name, atoms in (("ok", ok), ("close", close)):
        atoms.calc = EMT()
        (root / "g").mkdir(parents=True, exist_ok=True)
        _write_json(
            root / "g" / f"{name}.json",
            atoms,
            atoms.get_potential_energy(),
            atoms.get_forces(),
            None,
        )
    cid = configuration_id(close)
    rule = rf"\(id {cid}\): atoms 0 and 2 are {d_numpy:.4f} Angstrom apart, below min_distance=0\.5"

    job = pr.create.job.AppmlipDataset("close_import")
    job.input.path = str(root)
    assert job.input.min_distance == 0.5
    with pytest.raises(ValueError, match=rf"close.json {rule}.*job.input.min_distance"):
        job.run()
    job = pr.create.job.AppmlipDataset("close_import_unchecked")
    job.input.path = str(root)
    job.input.min_distance = None
    job.run()
    assert cid in job.configuration_ids
    job.input.options = {"min_distance": 0.2}
    with pytest.raises(ValueError, match=r"'min_distance'.*job's own input"):
        job._validate_input()

    dataset = read_dataset(str(root), min_distance=None)
    given = pr.create.job.AppmlipDataset("close_given")
    with pytest.raises(ValueError, match=rf"dataset configuration 0 {rule}"):
        given.dataset = dataset
    given.input.min_distance = None
    given.dataset = dataset

    desc = pr.create.job.AppmlipDescriptors("close_desc")
    desc.structures = [ok, close]
    desc.input.twojmax = 2
    desc.input.executor = "serial"
    with pytest.raises(ValueError, match=rf"configuration 1 {rule}"):
        desc.run()
    assert not os.path.exists(desc.store_path)  # refused before anything was computed

    labels = pr.create.job.AppmlipLabelling("close_labels")
    labels.structures = [ok, close]
    with pytest.raises(ValueError, match=rf"configuration 1 {rule}"):
        labels.run()


def test_a_job_of_the_wrong_kind_is_named_by_the_fit_and_the_sweep(cu_study):
    pr, data, desc = cu_study
    lab = pr.create.job.AppmlipLabelling("never_run_labels")
    lab.structures = data.structures[:1]
    lab.save()
    fit = pr.create.job.AppmlipFit("wrong_kinds_fit")
    sweep = pr.create.job.AppmlipSweep("wrong_kinds_sweep")
    fit.set_descriptors(desc)
    for call, job, kind in (
        (fit.set_descriptors, lab, "AppmlipLabelling"),
        (fit.set_descriptors, data, "AppmlipDataset"),
        (sweep.add_descriptors, lab.job_name, "AppmlipLabelling"),
        (sweep.add_descriptors, data.job_id, "AppmlipDataset"),
    ):
        name = call.__name__
        with pytest.raises(
            ValueError,
            match=rf"{name}\(\) takes an AppmlipDescriptors job .*got job '{job_name(pr, job)}' "
            rf"\(id \d+\) of type {kind}; it holds labels: pass it to add_labels\(\)",
        ):
            call(job)
    assert dict(fit.input.descriptors_jobs) == {"2": desc.job_id}  # the earlier one is kept
    for owner in (fit, sweep):
        with pytest.raises(
            ValueError,
            match=rf"add_labels\(\) takes a label source.*got job 'cu_2j2' \(id {desc.job_id}\) "
            r"of type AppmlipDescriptors; it holds descriptors: pass it to add_descriptors\(\)",
        ):
            owner.add_labels(desc)
        with pytest.raises(ValueError, match=r"add_descriptors\(\) takes a job .* got list"):
            owner.add_descriptors([desc])
    assert not fit.input.labelling_jobs and not sweep.input.descriptors_jobs


def job_name(pr, job) -> str:
    return (
        job
        if isinstance(job, str)
        else pr.load(job if isinstance(job, int) else job.job_id).job_name
    )
