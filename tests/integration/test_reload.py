"""A job loaded with ``pr.load()`` hands out what the job that ran handed out.

One tiny real job of every job class registered by the package (GPAW level 1 and 2 on 1-2 atom
Be cells, LAMMPS descriptors at 2Jmax 2, fits, a sweep, an MD timing, candidates and an
imported FitSNAP JSON folder) is run; then every output entry, every public property and every
public method without required arguments of the live job is compared with the same of the job
loaded by name and by id: same types (``str`` not bytes, ``bool`` not int, dict not container),
same key and column order, same dtypes, equal values. The walk finds the members itself, so a
new output or getter is compared without changing this file. Round trips through a file
written by the same process are exact, so values are compared exactly.
"""

import dataclasses
import inspect
import os
import sys

import numpy as np
import pandas as pd
import pytest
from ase import Atoms
from ase.calculators.emt import EMT
from ase.units import bar

import pyiron_appmlip

#: Public members that change the job or run it: never called by the walk.
_ACTIONS = {
    "run_static",
    "resume",
    "rerun_failed",
    "save",
    "to_hdf",
    "from_hdf",
    "validate_ready_to_run",
    "plot",  # draws a figure of data the walk compares as outputs
}


def _tiny_be():
    return [
        Atoms("Be", positions=[[0, 0, 0]], cell=[3.0, 3.15, 2.85], pbc=True),
        Atoms("Be", positions=[[0.2, 0, 0]], cell=[3.4, 3.3, 3.6], pbc=True),
        Atoms("Be", positions=[[0.1, 0.3, 0]], cell=[3.2, 3.1, 3.5], pbc=True),
        Atoms("Be2", positions=[[0, 0, 0], [1.0, 1.2, 1.1]], cell=[3.5, 3.6, 3.3], pbc=True),
        Atoms("Be2", positions=[[0, 0, 0], [1.1, 1.0, 1.3]], cell=[3.4, 3.7, 3.2], pbc=True),
        Atoms("Be2", positions=[[0, 0, 0], [1.2, 1.3, 0.9]], cell=[3.6, 3.4, 3.5], pbc=True),
    ]


def _fitsnap_folder(root):
    """Four EMT Cu cells as FitSNAP JSON files in the groups ``bulk`` and ``rattled``."""
    sys.path.insert(0, os.path.dirname(__file__))
    import test_dataset_job

    count = {}
    for group, atoms in test_dataset_job._cells()[2:6]:
        k = count[group] = count.get(group, -1) + 1
        atoms.calc = EMT()
        stress = None if k == 0 else -atoms.get_stress(voigt=False) / bar  # FitSNAP: bar
        os.makedirs(root / group, exist_ok=True)
        test_dataset_job._write_json(
            root / group / f"{group}{k}.json",
            atoms,
            float(atoms.get_potential_energy()),
            atoms.get_forces(),
            stress,
        )
    return str(root)


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    """Every job class, run once on tiny real input; ``{job name: live job}`` and the project."""
    from pyiron_base import state

    state.update()
    from pyiron_appmlip import Project

    tmp = tmp_path_factory.mktemp("reload")
    pr = Project(str(tmp / "pr"))
    structures = _tiny_be()
    live = {}

    sp = pr.create.job.AppmlipSinglePoint("single_point")
    sp.structure = structures[3]
    sp.level = 1
    sp.run()
    live[sp.job_name] = sp

    labels = {}
    for level in (1, 2):
        job = pr.create.job.AppmlipLabelling(f"labels_{level}")
        job.structures = structures
        job.level = level
        job.input.executor = "serial"
        job.input.progress = False
        job.run()
        labels[level] = live[job.job_name] = job

    desc = pr.create.job.AppmlipDescriptors("descriptors")
    desc.structures = structures
    desc.input.twojmax = 2
    desc.input.hyperparameters = {"quadraticflag": 0}
    desc.input.virial = True
    desc.input.executor = "serial"
    desc.input.progress = False
    desc.run()
    live[desc.job_name] = desc

    fit = pr.create.job.AppmlipFit("fit")
    fit.set_descriptors(desc)
    for job in labels.values():
        fit.add_labels(job)
    fit.weights = [150, 12]
    fit.input.executor = "serial"
    fit.run()
    live[fit.job_name] = fit

    sweep = pr.create.job.AppmlipSweep("sweep")
    sweep.add_descriptors(desc)
    for job in labels.values():
        sweep.add_labels(job)
    sweep.input.subset_sizes = [3, 4]
    sweep.input.weights = [[150.0, 1.0], [12.0, 1.0]]
    sweep.input.samplers = ["leverage", "random"]
    sweep.input.executor = "serial"
    sweep.run()
    live[sweep.job_name] = sweep

    from pyiron_atomistics import ase_to_pyiron

    graded = pr.create.job.AppmlipGradedLammps("graded_md")
    graded.structure = ase_to_pyiron(structures[3])
    graded.model = fit.get_model(0)  # the fit's leverage grade comes with it
    graded.input.grade_every = 5
    graded.input.thresholds = (1e-12, 1e-12, 1e12)  # every graded frame collected
    graded.calc_md(temperature=300, n_ionic_steps=10, n_print=5, seed=1)
    graded.run()
    live[graded.job_name] = graded

    cost = pr.create.job.AppmlipEvaluationCost("evaluation_cost")
    cost.input.twojmax = [2]
    cost.input.repeat = [1, 1, 1]
    cost.input.n_steps = 5
    cost.run()
    live[cost.job_name] = cost

    cand = pr.create.job.AppmlipCandidates("candidates")
    cand.input.n_structures = 3
    cand.input.options = {"max_atoms": 4}
    cand.run()
    live[cand.job_name] = cand

    plan = pr.create.job.AppmlipPlan("plan")
    plan.set_pilot(sweep)
    plan.input.budget_core_hours = 1.0
    plan.run()
    live[plan.job_name] = plan

    loop = pr.create.job.AppmlipActiveLoop("active_loop")
    loop.set_plan(plan)
    loop.set_application(structures[4], temperature=300, n_steps=20, grade_every=10)
    loop.input.budget_core_hours = 0.01
    loop.input.max_iterations = 1
    loop.input.executor = "serial"
    loop.run()
    live[loop.job_name] = loop

    data = pr.create.job.AppmlipDataset("dataset")
    data.input.path = _fitsnap_folder(tmp / "cu_json")
    data.run()
    live[data.job_name] = data

    for job in live.values():
        assert job.status.finished, (job.job_name, job.status)
    return pr, live


# ---------------------------------------------------------------------- the generic walk
def public_values(job) -> dict:
    """Every output entry (``output.<key>``), public property and public method without
    required arguments (``<name>()``) of the package's job classes, evaluated on ``job``;
    generators are read to the end."""
    if hasattr(job.output, "keys"):
        values = {f"output.{key}": job.output[key] for key in job.output.keys()}
    else:  # pyiron's atomistic output (a Lammps job): the entries of its HDF5 group
        values = {}
        groups = [""] + [f"{g}/" for g in job.content["output"].list_groups()]
        for group in groups:
            for key in job.content[f"output/{group}"].list_nodes():
                values[f"output.{group}{key}"] = job.content[f"output/{group}{key}"]
    seen = set()
    for cls in type(job).__mro__:
        if not cls.__module__.startswith("pyiron_appmlip."):
            continue
        for name, member in vars(cls).items():
            if name.startswith("_") or name in _ACTIONS or name in seen:
                continue
            seen.add(name)
            if isinstance(member, property):
                values[name] = getattr(job, name)
            elif inspect.isfunction(member):
                parameters = list(inspect.signature(member).parameters.values())[1:]
                if all(
                    p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                    for p in parameters
                ):
                    values[f"{name}()"] = getattr(job, name)()
    return {k: list(v) if inspect.isgenerator(v) else v for k, v in values.items()}


def assert_same(a, b, where: str) -> None:
    """``a`` and ``b`` are of the same type, order and value (exactly; NaN equals NaN)."""
    from pyiron_base import Project as BaseProject

    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, pd.DataFrame):
        assert list(a.columns) == list(b.columns), f"{where}: column order differs"
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=where)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True, obj=where)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, f"{where}: {a.dtype}{a.shape}"
        if a.dtype.kind in "fc":
            assert np.array_equal(a, b, equal_nan=True), f"{where}: values differ"
        else:
            assert np.array_equal(a, b), f"{where}: values differ"
    elif isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} != {list(b)}"
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), f"{where}: length {len(a)} != {len(b)}"
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{k}]")
        if type(a) not in (list, tuple):  # a list subclass: its own attributes too
            assert_same(_attributes(a), _attributes(b), f"{where}.__dict__")
    elif isinstance(a, float):
        assert a == b or (np.isnan(a) and np.isnan(b)), f"{where}: {a!r} != {b!r}"
    elif isinstance(a, Atoms):
        assert a == b, f"{where}: structures differ"
        assert_same(a.info, b.info, f"{where}.info")
    elif dataclasses.is_dataclass(a):
        for field in dataclasses.fields(a):
            assert_same(getattr(a, field.name), getattr(b, field.name), f"{where}.{field.name}")
    elif isinstance(a, BaseProject):
        assert a.path == b.path, f"{where}: {a.path} != {b.path}"
    elif isinstance(a, str | bytes | int | bool | type(None) | np.generic):
        assert a == b, f"{where}: {a!r} != {b!r}"
    else:
        assert_same(_attributes(a), _attributes(b), f"{where}.__dict__")


def assert_no_bytes(value, where: str) -> None:
    """Text in ``value`` (nested in dicts, lists, tables and objects) is ``str``, never bytes."""
    assert not isinstance(value, bytes | np.bytes_), f"{where}: bytes {value!r}"
    if isinstance(value, np.ndarray):
        assert value.dtype.kind != "S", f"{where}: array of bytes"
        if value.dtype == object:
            for k, item in enumerate(value.ravel()):
                assert_no_bytes(item, f"{where}[{k}]")
    elif isinstance(value, pd.DataFrame):
        for column in value.columns:
            assert_no_bytes(value[column].to_numpy(), f"{where}[{column!r}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            assert_no_bytes(key, f"{where} key")
            assert_no_bytes(item, f"{where}[{key!r}]")
    elif isinstance(value, list | tuple):
        for k, item in enumerate(value):
            assert_no_bytes(item, f"{where}[{k}]")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            assert_no_bytes(getattr(value, field.name), f"{where}.{field.name}")


def _attributes(obj) -> dict:
    """Public instance attributes (those of an object without a value comparison), from its
    ``__dict__`` and the ``__slots__`` of its classes (a tuple subclass such as ``WeightPair``
    has slots only)."""
    names = list(getattr(obj, "__dict__", {}))
    for klass in type(obj).__mro__:
        slots = klass.__dict__.get("__slots__", ())
        names += [slots] if isinstance(slots, str) else list(slots)
    return {k: getattr(obj, k) for k in names if not k.startswith("_") and hasattr(obj, k)}


def test_the_comparison_sees_what_a_reload_used_to_change():
    """The walk's comparison fails for each difference a reload through HDF5 made before."""
    cases = [
        (["04eca1194ebea435"], [b"04eca1194ebea435"]),  # ids as bytes
        (True, 1),  # a flag as an integer
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}),  # dict keys sorted
        (pd.DataFrame({"b": [1], "a": [2]}), pd.DataFrame({"a": [2], "b": [1]})),
        (pd.DataFrame({"a": [1]}), pd.DataFrame({"a": [1.0]})),  # dtype
        (np.array([1.0, np.nan]), np.array([1.0, 2.0])),
        ([1, 2], (1, 2)),
    ]
    for live, loaded in cases:
        with pytest.raises(AssertionError):
            assert_same(live, loaded, "case")
    for value in ([b"a"], {"ids": np.array([b"a"])}, pd.DataFrame({"id": [b"a"]})):
        with pytest.raises(AssertionError):
            assert_no_bytes(value, "case")
    assert_same({"x": [np.array([np.nan])]}, {"x": [np.array([np.nan])]}, "equal")


# ---------------------------------------------------------------------- every job class
JOB_NAMES = [
    "single_point",
    "labels_1",
    "descriptors",
    "fit",
    "sweep",
    "evaluation_cost",
    "candidates",
    "dataset",
    "plan",
    "graded_md",
]


def test_every_registered_job_class_is_covered(jobs):
    _, live = jobs
    covered = {type(job).__name__ for job in live.values()}
    assert set(pyiron_appmlip.JOB_CLASSES) <= covered
    assert set(JOB_NAMES) <= set(live)


@pytest.mark.parametrize("name", JOB_NAMES)
def test_loaded_job_hands_out_what_the_live_job_did(jobs, name):
    pr, live = jobs
    job = live[name]
    expected = public_values(job)
    outputs = [k for k in expected if k.startswith("output.")]
    getters = [k for k in expected if not k.startswith("output.")]
    assert outputs and getters, (outputs, getters)  # the walk found something
    for key, value in expected.items():
        assert_no_bytes(value, f"{name}: {key}")
    for how, ref in (("name", job.job_name), ("id", job.job_id)):
        loaded = pr.load(ref)
        assert type(loaded) is type(job)
        got = public_values(loaded)
        assert list(got) == list(expected), f"pr.load by {how}: other members"
        for key, value in expected.items():
            assert_same(value, got[key], f"{name} loaded by {how}: {key}")


def test_output_text_is_str_and_matches_the_jobs_own_ids(jobs):
    """Ids and names come out as ``str`` (as the package's own ids), never as bytes; a
    dataset job's ``output.groups`` is a plain list, also after loading."""
    pr, live = jobs
    structures = _tiny_be()
    from pyiron_appmlip.structures.conversion import configuration_id

    ids = [configuration_id(s) for s in structures]
    desc = pr.load("descriptors")
    assert desc.output.ids == ids and desc.output.recomputed_ids == ids
    assert desc.output.virial is True
    sweep = pr.load("sweep")
    assert sorted(sweep.output.train_ids + sweep.output.test_ids) == sorted(ids)
    for order in sweep.output.training_orders.values():
        assert set(order) <= set(sweep.output.train_ids)

    data_live, data = live["dataset"], pr.load("dataset")
    dataset = data.dataset
    assert data.output.ids == list(dataset.ids)
    assert data.output.configuration_groups == list(dataset.group)
    assert sorted(set(dataset.group)) == ["bulk", "rattled"]
    for job in (data_live, data):
        assert isinstance(job.output.groups, list)
        assert list(job.output.groups) == list(dataset.group)
        assert job.output.list_groups() == []  # the container's own listing still works
    labels = data.get_labels()
    assert list(labels["groups"]) == list(dataset.group)
    assert labels["ids"] and set(labels["ids"]) <= set(data.output.ids)

    table = pr.load("sweep").get_table()
    from pyiron_appmlip.training.table import COLUMN_NAMES

    assert list(table.columns) == list(COLUMN_NAMES)
    assert all(type(v) is str for v in table["sampler"])


def test_output_written_before_the_layout_was_recorded_reads_as_str(jobs):
    """A job file without the recorded layout (as written by earlier versions: ids as byte
    arrays, dicts sorted) is read with text as ``str`` and tables in their column order."""
    import h5py

    from pyiron_appmlip.jobs._common import output_value

    pr, _ = jobs
    sweep = pr.load("sweep")
    expected = sweep.get_table()
    stored_ids = list(sweep.output.train_ids)
    with h5py.File(sweep.project_hdf5.file_name, "a") as f:
        del f[f"{sweep.job_name}/output_layout"]
    old = pr.load("sweep")
    assert old.output.train_ids == stored_ids
    assert list(old.output.table) == sorted(old.output.table)  # stored order: sorted
    assert_same(expected, old.get_table(), "sweep table without the recorded layout")
    assert output_value(np.array([b"ab", b"c"])) == ["ab", "c"]
