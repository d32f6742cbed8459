"""AppmlipGradedLammps: pyiron's Lammps job, graded as it runs (collect and stop).

A ``Lammps`` job (``calc_md``, ``calc_minimize``, ``calc_static`` or your own
``job.input.control``) whose run grades every atom every ``job.input.grade_every`` steps with the
model's extrapolation grade, writes frames above the ``collect`` threshold and ends the run
cleanly above ``stop`` (:mod:`pyiron_appmlip.potential.graded_md` does the work, in a separate
Python process that drives LAMMPS through its library interface).

Usage::

    job = pr.create.job.AppmlipGradedLammps("md")
    job.structure = structure
    job.model = model  # a SnapModel with a grade: sets the potential too
    job.input.grade_every = 10
    job.calc_md(temperature=600, n_ionic_steps=10000)
    job.run()
    job.stopped_at, job.stop_reason
    frames = job.get_collected_structures()  # candidates for DFT
"""

from __future__ import annotations

import os
import sys

import numpy as np
from pyiron_atomistics.lammps.base import Input
from pyiron_atomistics.lammps.lammps import Lammps

from ..potential.graded_md import (
    CONFIG_FILE,
    RESULT_FILE,
    GradedRun,
    check_grade_every,
    check_thresholds,
    config_text,
    count_steps,
    flatten_paths,
    split_commands,
    unflatten_paths,
)
from ._plain import plain

__all__ = ["AppmlipGradedLammps", "GradedInput", "parse_graded_lammps_output"]

_GROUP = "graded_md"


def _plain_tree(value):
    """Plain values of what pyiron's HDF5 reader hands back (containers as dicts, str not
    bytes)."""
    if hasattr(value, "to_builtin"):
        value = value.to_builtin()
    if isinstance(value, dict):
        return {str(k): _plain_tree(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.decode()
    return value


class GradedInput(Input):
    """pyiron's Lammps input plus the grading.

    Attributes:
        grade_every: grade every this many steps, an integer >= 1 [10].
        thresholds: ``(warn, collect, stop)`` on the largest per-atom grade of a step,
            ``0 < warn <= collect <= stop``; None for the grade's own [None].
    """

    def __init__(self):
        super().__init__()
        self._grade_every = 10
        self._thresholds = None
        self.model_dict = None

    @property
    def grade_every(self) -> int:
        return self._grade_every

    @grade_every.setter
    def grade_every(self, value):
        self._grade_every = check_grade_every(value)

    @property
    def thresholds(self):
        return self._thresholds

    @thresholds.setter
    def thresholds(self, value):
        self._thresholds = None if value is None else check_thresholds(value)

    def to_dict(self):
        data = super().to_dict()
        data[f"{_GROUP}/grade_every"] = int(self._grade_every)
        data[f"{_GROUP}/thresholds"] = (
            np.zeros(0) if self._thresholds is None else np.array(self._thresholds, dtype=float)
        )
        if self.model_dict is not None:
            data.update(
                {f"{_GROUP}/model/{k}": v for k, v in flatten_paths(self.model_dict).items()}
            )
        return data

    def from_dict(self, obj_dict):
        super().from_dict(obj_dict=obj_dict)
        group = obj_dict.get(_GROUP)
        if group is None:
            return
        group = _plain_tree(group)
        self._grade_every = int(group["grade_every"])
        t = np.asarray(group.get("thresholds", []), dtype=float).ravel()
        self._thresholds = tuple(float(v) for v in t) if t.size else None
        model = group.get("model")
        self.model_dict = unflatten_paths(flatten_paths(model)) if model else None


def parse_graded_lammps_output(working_directory: str, **kwargs) -> dict:
    """pyiron's Lammps output plus the grading (``grades``, ``collected``, ``stopped_at``,
    ``stop_reason``) from the files of :mod:`pyiron_appmlip.potential.graded_md`."""
    from lammpsparser.output import parse_lammps_output

    out = parse_lammps_output(working_directory=working_directory, **kwargs)
    run = GradedRun.load(os.path.join(working_directory, RESULT_FILE))
    data = run.to_dict()
    prism = kwargs.get("prism")
    collected = data["collected"]
    if prism is not None and len(collected["steps"]):
        # LAMMPS' orientation and cell vectors -> those of the job's structure (as pyiron's own
        # output)
        collected["positions"] = collected["positions"] @ np.asarray(prism.R).T
        collected["cells"] = np.array([prism.unfold_cell(c) for c in collected["cells"]])
    out["grades"] = {
        "steps": data["steps"],
        "max": data["max_grade"],
        "atom_grades": data["atom_grades"],
        "thresholds": data["thresholds"],
        "grade_every": data["grade_every"],
    }
    out["collected"] = data["collected"]
    out["stopped"] = bool(run.stopped)
    out["stopped_at"] = data["stopped_at"]
    out["stop_reason"] = data["stop_reason"]
    return out


class AppmlipGradedLammps(Lammps):
    """LAMMPS MD or minimization with a qSNAP model, graded as it runs.

    Everything of pyiron's ``Lammps`` job works as usual (``structure``, ``calc_md``,
    ``calc_minimize``, ``input.control`` for your own LAMMPS lines, ``output``); the run
    additionally grades every atom every ``input.grade_every`` steps with the model's
    extrapolation grade (:mod:`pyiron_appmlip.core.extrapolation`), records the grades, collects
    frames whose largest grade is above ``collect`` and ends the run cleanly when it is above
    ``stop``. The grading adds no force: the trajectory is the one of the plain run.

    Input:
        model: the :class:`~pyiron_appmlip.potential.model.SnapModel` (with ``grade``); setting
            it sets ``potential`` too (files in ``<project>/<job_name>_potential``).
        input.grade_every: grade every this many steps (MD steps or minimizer iterations),
            an integer >= 1 [10]. The run must be at least this long.
        input.thresholds: ``(warn, collect, stop)`` on the largest per-atom grade,
            ``0 < warn <= collect <= stop`` [None: the model's ``grade.thresholds``].

    Output (also after ``pr.load``):
        ``output/grades/steps``, ``output/grades/max`` (largest grade per graded step),
        ``output/grades/atom_grades`` (graded steps x atoms, atoms in structure order),
        ``output/collected/...`` (steps, positions in Angstrom, cells, numbers, grades of the
        collected frames; :meth:`get_collected_structures`), ``output/stopped`` (bool),
        ``output/stopped_at`` (-1 if the run was not stopped; :attr:`stopped_at` gives None)
        and ``output/stop_reason``. :attr:`graded_run` gives all of it as a
        :class:`~pyiron_appmlip.potential.graded_md.GradedRun`. The job's status is
        ``finished`` also for a stopped run; the working directory keeps ``grades.txt`` (one
        line per graded step, written as the run goes) and ``collected.extxyz`` (in LAMMPS'
        orientation; the output has them in the structure's).

    The run uses one process (no MPI); ``server.cores`` above 1 is refused.
    """

    def __init__(self, project, job_name):
        super().__init__(project, job_name)
        self.input = GradedInput()
        self._collect_output_funct = parse_graded_lammps_output
        self._model_cache = None

    # ------------------------------------------------------------------------------ model
    @property
    def model(self):
        """The :class:`~pyiron_appmlip.potential.model.SnapModel` that runs and grades."""
        if self._model_cache is None and self.input.model_dict is not None:
            from ..potential.model import SnapModel

            self._model_cache = SnapModel.from_dict(self.input.model_dict)
        return self._model_cache

    @model.setter
    def model(self, model):
        from ..potential.model import SnapModel

        if not isinstance(model, SnapModel):
            raise TypeError(f"model must be a SnapModel, got {type(model).__name__}")
        if getattr(model, "grade", None) is None:
            raise ValueError(
                "model.grade is None: the model has no training statistics, so it cannot grade "
                "atoms. Use AppmlipFit.get_model(row) or AppmlipSweep.get_model(row, grade=True), "
                "or model.with_leverage_grade(training_structures)"
            )
        folder = os.path.join(self.project.path, f"{self.job_name}_potential")
        self.potential = model.potential_dataframe(folder)
        self.input.model_dict = model.to_dict()
        self._model_cache = model

    @property
    def grade(self):
        """The model's extrapolation grade."""
        model = self.model
        return None if model is None else model.grade

    @property
    def thresholds(self) -> tuple[float, float, float]:
        """``(warn, collect, stop)`` the run uses: ``input.thresholds`` or the grade's."""
        if self.input.thresholds is not None:
            return tuple(self.input.thresholds)
        grade = self.grade
        if grade is None:
            raise ValueError("thresholds: set job.model (a SnapModel with a grade) first")
        return check_thresholds(grade.thresholds)

    # ------------------------------------------------------------------------------- run
    def _control_lines(self) -> list[str]:
        return split_commands("".join(self.input.control.get_string_lst()))

    def validate_ready_to_run(self):
        if self.input.model_dict is None:
            raise ValueError("model: set job.model (a SnapModel with a grade) before running")
        if self.grade is None:
            raise ValueError(
                "grade: the model has no training statistics (model.grade is None); use "
                "AppmlipFit.get_model(row) or AppmlipSweep.get_model(row, grade=True), or "
                "model.with_leverage_grade(training_structures)"
            )
        check_thresholds(self.thresholds)
        steps = count_steps(self._control_lines())
        if steps is not None and steps < self.input.grade_every:
            raise ValueError(
                f"grade_every={self.input.grade_every} is longer than the run ({steps} steps): "
                "the run never reaches the grading step; lower input.grade_every or run longer"
            )
        if int(self.server.cores) > 1:
            raise ValueError(
                f"server.cores must be 1 for a graded run (one LAMMPS process), got "
                f"{self.server.cores}"
            )
        super().validate_ready_to_run()

    @property
    def calculate_kwargs(self) -> dict:
        kwargs = super().calculate_kwargs
        model = self.model
        kwargs["input_parameter_dict"]["files_to_create"][CONFIG_FILE] = config_text(
            grade=model.grade,
            settings=model.settings,
            commands="".join(self.input.control.get_string_lst()),
            grade_every=self.input.grade_every,
            thresholds=self.thresholds,
        )
        kwargs["executable_script"] = [
            sys.executable,
            "-m",
            "pyiron_appmlip.potential.graded_md",
            CONFIG_FILE,
        ]
        kwargs["shell_parameter"] = False
        return kwargs

    # ---------------------------------------------------------------------------- output
    @property
    def graded_run(self) -> GradedRun:
        """Everything the grading recorded (:class:`~pyiron_appmlip.potential.graded_md.
        GradedRun`)."""
        out = _plain_tree(self.project_hdf5["output"].read_dict_from_hdf(recursive=True))
        g = out["grades"]
        return GradedRun.from_dict(
            {
                "steps": g["steps"],
                "max_grade": g["max"],
                "atom_grades": g["atom_grades"],
                "thresholds": g["thresholds"],
                "grade_every": g["grade_every"],
                "stopped_at": out["stopped_at"],
                "stop_reason": out["stop_reason"],
                "elements": list(self.model.elements),
                "collected": out["collected"],
            }
        )

    @property
    def stopped_at(self) -> int | None:
        """The step at which the grade stopped the run; None if it ran to its end."""
        value = int(self.content["output/stopped_at"])
        return None if value < 0 else value

    @property
    def stop_reason(self) -> str:
        """Why the run was stopped ("" if it was not)."""
        return plain(self.content["output/stop_reason"])

    def get_collected_structures(self) -> list:
        """The collected frames as pyiron structures (Angstrom; per-atom array ``grade``,
        ``info`` ``step`` and ``max_grade``), in the orientation of ``job.structure``."""
        from pyiron_atomistics import ase_to_pyiron

        out = []
        for atoms in self.graded_run.collected:
            structure = ase_to_pyiron(atoms)
            structure.info.update(atoms.info)
            out.append(structure)
        return out
