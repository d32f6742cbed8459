"""Input checks and bookkeeping of graded LAMMPS runs (no LAMMPS is started).

Every bad input is refused before LAMMPS starts, with a message naming the parameter; the
result round-trips through its file exactly.
"""

import numpy as np
import pytest
from ase import Atoms

from pyiron_appmlip.core.extrapolation import ExtrapolationGrade, GradeThresholds
from pyiron_appmlip.descriptors import QSnapSettings
from pyiron_appmlip.potential.graded_md import (
    GradedRun,
    _decode,
    _encode,
    check_grade_every,
    check_thresholds,
    count_steps,
    run_graded_lammps,
    split_commands,
)

SETTINGS = QSnapSettings(twojmax=2, quadraticflag=0, elements=("Be",))
MD = ["units metal", "velocity all create 300 1", "fix 1 all nve", "run 100"]


def _grade(thresholds=(1.0, 2.0, 10.0)):
    n = SETTINGS.n_columns() + 1
    return ExtrapolationGrade(
        kind="leverage",
        thresholds=thresholds,
        n_columns=n,
        scale=np.ones(n),
        basis=np.eye(n),
        transform=np.ones(n),
        cutoff=1e-8,
    )


@pytest.mark.parametrize("value", [0, -3, 2.5, "10", None, True])
def test_grade_every_below_one_or_not_an_integer_is_refused(value):
    with pytest.raises(ValueError, match="grade_every"):
        check_grade_every(value)
    with pytest.raises(ValueError, match="grade_every"):
        run_graded_lammps(MD, _grade(), SETTINGS, grade_every=value)


def test_grade_every_accepts_integers():
    assert check_grade_every(1) == 1
    assert check_grade_every(np.int64(25)) == 25
    assert check_grade_every(10.0) == 10


@pytest.mark.parametrize(
    "value", [(2.0, 1.0, 3.0), (1.0, 3.0, 2.0), (0.0, 1.0, 2.0), (1.0, 2.0), "abc", {"warn": 1}]
)
def test_thresholds_out_of_order_or_malformed_are_refused(value):
    with pytest.raises(ValueError, match="thresholds"):
        check_thresholds(value)
    with pytest.raises(ValueError, match="thresholds"):
        run_graded_lammps(MD, _grade(), SETTINGS, thresholds=value)


def test_thresholds_in_every_accepted_form():
    expected = (1.0, 2.0, 5.0)
    for value in ([1, 2, 5], {"warn": 1, "collect": 2, "stop": 5}, GradeThresholds(1, 2, 5)):
        assert check_thresholds(value) == expected


def test_a_model_without_training_statistics_is_refused():
    with pytest.raises(ValueError, match="grade is None"):
        run_graded_lammps(MD, None, SETTINGS)


@pytest.mark.parametrize(
    "commands, steps",
    [(["run 5"], 5), (["minimize 0 1e-6 8 100"], 8), (["run 4", "run 5"], 9)],
)
def test_a_run_shorter_than_grade_every_never_reaches_the_grading_step(commands, steps):
    assert count_steps(commands) == steps
    with pytest.raises(ValueError, match="never reaches the grading step"):
        run_graded_lammps(["units metal", *commands], _grade(), SETTINGS, grade_every=10)


def test_inputs_the_grading_cannot_serve_are_refused():
    with pytest.raises(ValueError, match="no 'run' or 'minimize'"):
        run_graded_lammps(["units metal"], _grade(), SETTINGS)
    with pytest.raises(ValueError, match=r"'label' \(loops\)"):
        run_graded_lammps(["label a", "run 100", "jump SELF a"], _grade(), SETTINGS)


def test_commands_are_split_into_whole_lines():
    text = "# comment\nunits metal\n\nvelocity all create 300 1 &\n  dist gaussian\nrun ${n}\n"
    assert split_commands(text) == [
        "units metal",
        "velocity all create 300 1    dist gaussian",
        "run ${n}",
    ]
    assert count_steps(split_commands(text)) is None  # not a plain number: not checked
    assert split_commands(["units metal", "run 10 # ten"]) == ["units metal", "run 10 # ten"]
    assert count_steps(["run 10 # ten"]) == 10


def test_levels_of_a_run_follow_the_thresholds():
    run = GradedRun(
        steps=np.array([0, 10, 20, 30]),
        max_grade=np.array([0.5, 1.5, 2.5, 11.0]),
        atom_grades=np.zeros((4, 2)),
        thresholds=(1.0, 2.0, 10.0),
        grade_every=10,
    )
    assert run.levels == ["ok", "warn", "collect", "stop"]
    assert run.levels == list(_grade().levels(run.max_grade))  # as the grade names them


def test_a_result_round_trips_through_its_file(tmp_path):
    rng = np.random.default_rng(1)
    frames = []
    for step in (10, 30):
        a = Atoms("Be3", positions=rng.random((3, 3)), cell=np.diag([3.0, 3.1, 3.2]), pbc=True)
        a.arrays["grade"] = rng.random(3)
        a.info.update(step=step, max_grade=float(a.arrays["grade"].max()))
        frames.append(a)
    run = GradedRun(
        steps=np.array([0, 10, 20, 30]),
        max_grade=rng.random(4),
        atom_grades=rng.random((4, 3)),
        thresholds=(1.0, 2.0, 10.0),
        grade_every=10,
        collected_steps=np.array([10, 30]),
        collected=frames,
        stopped_at=30,
        stop_reason="largest grade above the stop threshold",
        elements=("Be",),
    )
    loaded = GradedRun.load(run.save(str(tmp_path / "r.npz")))
    assert loaded.stopped_at == 30 and loaded.stop_reason == run.stop_reason
    assert loaded.thresholds == run.thresholds and loaded.elements == ("Be",)
    np.testing.assert_array_equal(loaded.atom_grades, run.atom_grades)
    np.testing.assert_array_equal(loaded.collected_steps, [10, 30])
    for a, b in zip(loaded.collected, frames, strict=True):
        np.testing.assert_array_equal(a.positions, b.positions)
        np.testing.assert_array_equal(a.arrays["grade"], b.arrays["grade"])
        assert a.info == b.info
    empty = GradedRun(np.zeros(0, int), np.zeros(0), np.zeros((0, 0)), (1.0, 2.0, 3.0), 5)
    again = GradedRun.load(empty.save(str(tmp_path / "e.npz")))
    assert again.steps.size == 0 and again.collected == [] and not again.stopped


def test_the_grade_travels_to_the_separate_process_exactly():
    grade = _grade()
    data = grade.to_dict()
    data["basis"] = np.random.default_rng(0).random(data["basis"].shape)
    back = _decode(_encode(data))
    for key, value in data.items():
        np.testing.assert_array_equal(np.asarray(back[key]), np.asarray(value))
