"""Inputs of AppmlipFit, AppmlipSweep and AppmlipDescriptors are checked when they are set, after
a job is saved and loaded, and again at run time (values written to HDF5 by other means); the
level of each labelling job is checked at run time."""

import concurrent.futures

import h5py
import numpy as np
import pytest
from pyiron_base import DataContainer

from pyiron_appmlip.jobs._input import CheckedInput
from pyiron_appmlip.jobs.sweep import _check_level_of
from pyiron_appmlip.potential.reference import ReferencePotential

BAD_FIT_INPUTS = [
    ("test_fraction", 1.5, r"test_fraction must be a number with 0 <= test_fraction < 1"),
    ("test_fraction", 1.0, r"test_fraction must be a number with 0 <= test_fraction < 1"),
    ("test_fraction", -0.1, r"test_fraction must be a number with 0 <= test_fraction < 1"),
    ("test_fraction", "a", r"test_fraction must be a number with 0 <= test_fraction < 1"),
    ("split_seed", 1.5, r"split_seed must be an integer"),
    ("split_seed", "0", r"split_seed must be an integer"),
    ("seed", -1, r"seed must be an integer >= 0"),
    ("seed", 2.0, r"seed must be an integer >= 0"),
    ("repetitions", 0, r"repetitions must be an integer >= 1"),
    ("repetitions", True, r"repetitions must be an integer >= 1"),
    ("ridge", -1e-3, r"ridge must be a finite number >= 0"),
    ("ridge", float("inf"), r"ridge must be a finite number >= 0"),
    ("stress_weight", -1.0, r"stress_weight must be a finite number >= 0"),
    ("stress_weight", "high", r"stress_weight must be a finite number >= 0"),
    ("weights", [150, -1], r"weights must be positive finite numbers w_E/w_F or \(w_E, w_F\)"),
    ("weights", [], r"weights must contain at least one"),
    ("weights", [[1, 2, 3]], r"weights must be positive finite numbers"),
    ("leverage_weights", [1.0], r"leverage_weights must be None .* or one pair"),
    ("leverage_weights", [1.0, 0.0], r"leverage_weights: force_weight must be a finite number"),
    ("train_levels", [9], r"train_levels: level must be one of the paper levels"),
    ("train_levels", [], r"train_levels must be None"),
    ("truth_level", 2.5, r"truth_level: level must be"),
    ("executor", "gpu", r"executor must be None or 'local'"),
    ("executor", 0, r"executor as a number of local workers must be >= 1"),
    ("group_weights", {"bulk": [1, 2]}, r"group_weights\['bulk'\] must be three finite numbers"),
    ("atom_steps_per_second", {4: -1.0}, r"atom_steps_per_second must map 2Jmax values"),
    ("measure_evaluation_cost", "yes", r"measure_evaluation_cost must be True or False"),
    ("reference_potential", "zbl", r"reference_potential must be None, a ReferencePotential"),
    ("labelling_jobs", {"1": "x"}, r"labelling_jobs\['1'\] must be a job id"),
    ("descriptors_jobs", {"four": 1}, r"descriptors_jobs keys must be 2Jmax values"),
    ("level_costs", {3: {"per_atom": -1}}, r"level_costs\['3'\]\['per_atom'\] must be a finite"),
]
BAD_SWEEP_INPUTS = [
    ("subset_sizes", [10, 2.5], r"subset_sizes must be a list of positive integers"),
    ("subset_sizes", [0], r"subset_sizes must be a list of positive integers"),
    ("subset_sizes", ["10"], r"subset_sizes must be a list of positive integers"),
    ("samplers", ["leverage", "greedy"], r"samplers must name one or more of \['leverage'"),
    ("samplers", [], r"samplers must name one or more of"),
]


@pytest.mark.parametrize("key, value, message", BAD_FIT_INPUTS)
def test_bad_fit_input_is_refused_when_set(project, key, value, message):
    job = project.create.job.AppmlipFit("fit")
    before = job.input[key]
    with pytest.raises(ValueError, match=message):
        job.input[key] = value
    with pytest.raises(ValueError, match=message):
        setattr(job.input, key, value)
    assert job.input[key] == before  # nothing stored


@pytest.mark.parametrize("key, value, message", BAD_FIT_INPUTS + BAD_SWEEP_INPUTS)
def test_bad_sweep_input_is_refused_when_set(project, key, value, message):
    job = project.create.job.AppmlipSweep("sweep")
    with pytest.raises(ValueError, match=message):
        job.input[key] = value


def test_fit_samplers_are_the_whole_pool(project):
    job = project.create.job.AppmlipFit("fit")
    with pytest.raises(ValueError, match=r"samplers of AppmlipFit must be \['all'\]"):
        job.input.samplers = ["leverage"]
    job.input.samplers = "all"
    assert list(job.input.samplers) == ["all"]


def test_good_values_are_stored_normalised(project):
    job = project.create.job.AppmlipSweep("sweep")
    job.input.weights = [150, (10, 2)]  # a ratio and a pair
    assert job.input.weights == [[150.0, 1.0], [10.0, 2.0]]
    job.input.weights = (150, 12)  # one pair w_E = 150, w_F = 12
    assert job.input.weights == [[150.0, 12.0]]
    job.input.samplers = "random"
    job.input.subset_sizes = 5
    job.input.train_levels = 3
    job.input.truth_level = "level 4"
    job.input.test_fraction = 0
    job.input.seed = np.int64(3)
    job.input.reference_potential = ReferencePotential.zbl(("Be",))
    assert job.input.samplers == ["random"] and job.input.subset_sizes == [5]
    assert job.input.train_levels == ["3"] and job.input.truth_level == "4"
    assert job.input.test_fraction == 0.0 and job.input.seed == 3
    assert job.reference_potential == ReferencePotential.zbl(("Be",))
    job.input.train_levels = None
    job.input.stress_weight = None  # no stress rows
    assert job.input.stress_weight == 0.0


def test_a_running_executor_belongs_to_job_executor(project):
    job = project.create.job.AppmlipFit("fit")
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        with pytest.raises(ValueError, match="assign a running Executor to job.executor"):
            job.input.executor = pool
        job.executor = pool
        assert job.executor is pool and job.input.executor is None
    job.executor = "serial"
    assert job.input.executor == "serial"


def _input_type_in_file(job) -> str:
    found = []
    with h5py.File(job.project_hdf5.file_name, "r") as f:
        storage = f[job.job_name]["storage"]
        for name in storage:
            if name.startswith("input"):
                found.append(storage[name]["TYPE"][()])
    (value,) = found
    if isinstance(value, bytes):
        return value.decode()
    return bytes(np.asarray(value, dtype=np.uint8)).decode()  # h5io's way of storing text


def test_loaded_and_copied_jobs_still_check(project):
    job = project.create.job.AppmlipFit("fit")
    job.input.test_fraction = 0.0
    job.weights = [150, 5]
    job.input.train_levels = [2, 3]
    job.save()
    assert _input_type_in_file(job) == str(DataContainer)  # readable by any version
    loaded = project.load("fit")
    assert isinstance(loaded.input, CheckedInput)
    assert loaded.input.test_fraction == 0.0 and loaded.weights == [(150.0, 1.0), (5.0, 1.0)]
    assert list(loaded.input.train_levels) == ["2", "3"]
    with pytest.raises(ValueError, match="test_fraction must be a number"):
        loaded.input.test_fraction = 1.5
    with pytest.raises(ValueError, match=r"samplers of AppmlipFit must be \['all'\]"):
        loaded.input.samplers = ["random"]
    copied = loaded.copy()
    with pytest.raises(ValueError, match="repetitions must be an integer >= 1"):
        copied.input.repetitions = 0


def test_values_stored_by_other_means_are_checked_at_run_time(project):
    job = project.create.job.AppmlipFit("fit")
    with job.input.unchecked():  # as if the HDF5 file had been edited by hand
        job.input.test_fraction = 1.5
    job.save()
    loaded = project.load("fit")  # loading does not check ...
    assert loaded.input.test_fraction == 1.5
    with pytest.raises(ValueError, match="test_fraction must be a number"):
        loaded._validate_input()  # ... the run does, before anything else
    with pytest.raises(ValueError, match="test_fraction must be a number"):
        loaded.run()


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("twojmax", "6", r"twojmax must be an even integer from 2 to 20"),
        ("twojmax", 7, r"twojmax must be an even integer from 2 to 20"),
        ("twojmax", 100, r"twojmax must be an even integer from 2 to 20"),
        ("hyperparameters", {"rcutfac": -1}, r"hyperparameters: rcutfac must be positive"),
        ("hyperparameters", {"quadratic": 0}, r"hyperparameters: unknown qSNAP hyperparameter"),
        ("backend", "pace", r"backend must be one of \['lammps', 'fitsnap'\]"),
        ("chunk_size", 0, r"chunk_size must be an integer >= 1"),
        ("n_processes", 0, r"n_processes must be an integer >= 1 .* or None"),
        ("executor", {"kind": "cloud"}, r"executor kind must be one of"),
        ("min_distance", -0.5, r"min_distance must be a positive number of Angstrom or None"),
        ("store_file", "../blocks.h5", r"store_file must be a plain file name"),
        ("progress", "no", r"progress must be True or False"),
    ],
)
def test_bad_descriptors_input_is_refused_when_set(project, key, value, message):
    job = project.create.job.AppmlipDescriptors("desc")
    with pytest.raises(ValueError, match=message):
        job.input[key] = value


def test_descriptors_input_checks_survive_save_and_load(project):
    from pyiron_appmlip.descriptors.settings import QSnapSettings
    from pyiron_appmlip.structures.candidates import rattled_strained_cells

    job = project.create.job.AppmlipDescriptors("desc")
    job.structures = rattled_strained_cells(2, seed=0, max_atoms=2)
    job.input.twojmax = 4.0
    assert job.input.twojmax == 4 and isinstance(job.input.twojmax, int)
    # the same rule as the settings class
    with pytest.raises(ValueError, match="twojmax") as from_settings:
        QSnapSettings(twojmax="6")
    with pytest.raises(ValueError, match="twojmax") as from_job:
        job.input.twojmax = "6"
    assert str(from_job.value) == str(from_settings.value)
    with job.input.unchecked():
        job.input.chunk_size = 0
    job.save()
    loaded = project.load("desc")
    with pytest.raises(ValueError, match="twojmax must be an even integer"):
        loaded.input.twojmax = "6"
    with pytest.raises(ValueError, match="chunk_size must be an integer >= 1"):
        loaded._validate_input()


class FakeLabellingJob:
    """Stands in for a labelling job: one level, get_labels without ``level``."""

    job_name = "fake_labels"

    def __init__(self, level_name):
        self.level_name = level_name

    def get_labels(self, only_finished=True):
        raise AssertionError("not needed")


class FakeDatasetJob:
    """Stands in for a dataset job: several levels, get_labels with ``level``."""

    job_name = "fake_dataset"
    level_names = ["1", "2", "pbe_d3"]

    def get_labels(self, only_finished=True, level=None):
        raise AssertionError("not needed")


def test_the_level_of_each_labelling_job_is_checked():
    _check_level_of(FakeLabellingJob("2"), "2", 7)
    with pytest.raises(ValueError, match=r"labelling_jobs\['1'\] = 7: job 'fake_labels' "):
        _check_level_of(FakeLabellingJob("2"), "1", 7)
    _check_level_of(FakeDatasetJob(), "pbe_d3", 8)
    with pytest.raises(ValueError, match=r"provides the levels \['1', '2', 'pbe_d3'\], not level"):
        _check_level_of(FakeDatasetJob(), "3", 8)
    with pytest.raises(ValueError, match="no job with that id"):
        _check_level_of(None, "3", 99)
