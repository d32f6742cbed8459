"""Grading a LAMMPS run as it goes: extrapolation grades every n steps, collect and stop.

A qSNAP model with an extrapolation grade (:class:`~pyiron_appmlip.core.extrapolation.
ExtrapolationGrade`, ``model.grade``) tells how far each atom's environment lies outside what the
model was fitted on. :func:`run_graded_lammps` runs a LAMMPS input (MD, minimization, any input
made of LAMMPS commands) through the ``lammps`` Python module and, every ``grade_every`` steps,

1. computes every atom's bispectrum components (``compute sna/atom`` with the model's settings)
   and grades each atom (:meth:`ExtrapolationGrade.per_atom`);
2. records the step, the largest grade and the grade of every atom (atom-id order), and appends
   ``step max_grade level`` to ``grades.txt`` as the run goes;
3. writes a frame whose largest grade is above the ``collect`` threshold (positions, cell,
   species, the per-atom grades as the array ``grade``) to ``collected.extxyz``;
4. ends the run cleanly when the largest grade is above the ``stop`` threshold (as LAMMPS'
   ``fix halt ... error soft`` does); commands after it are not run, and the result records
   the step and the reason.

The grading never changes the dynamics: it is called from a ``fix external`` that adds no force,
and the ``compute sna/atom`` is evaluated only at graded steps. During a minimization LAMMPS may
evaluate several trial configurations at one iteration (line search); the first one of each
graded iteration is graded and recorded (LAMMPS evaluates a compute once per step). Step 0 (the
set-up of the first run or minimization) is graded too.

:func:`run_graded_md` is the same for a structure and a model: it writes the structure, the
potential files and the set-up lines, then runs your control lines (``velocity``, ``fix``,
``run`` ...). The pyiron job :class:`~pyiron_appmlip.jobs.graded_md.AppmlipGradedLammps` runs
pyiron's ``Lammps`` input (``calc_md``, ``calc_minimize`` or your own control) this way, in a
separate process (``python -m pyiron_appmlip.potential.graded_md <config>``).

Thresholds compare the largest per-atom grade of a step: above ``warn`` the step's level is
``"warn"``, above ``collect`` the frame is written, above ``stop`` the run ends. Units of the
grade: see :mod:`pyiron_appmlip.core.extrapolation` (dimensionless). Positions in Angstrom.

Not supported: several MPI ranks (the grading runs serially) and inputs that use ``jump`` or
``label`` (the commands are run one by one).
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..core.extrapolation import GradeThresholds

__all__ = [
    "GradedRun",
    "GradedMDError",
    "run_graded_lammps",
    "run_graded_md",
    "check_grade_every",
    "check_thresholds",
    "split_commands",
    "count_steps",
    "GRADES_LOG",
    "COLLECTED_FILE",
    "RESULT_FILE",
    "CONFIG_FILE",
    "SETUP_COMMANDS",
]

#: The LAMMPS lines :func:`run_graded_md` puts before the user's commands: the structure it
#: writes to ``structure.data`` and the model's potential file ``appmlip.mod``.
SETUP_COMMANDS = (
    "units metal",
    "atom_style atomic",
    "atom_modify map array",
    "boundary p p p",
    "read_data structure.data",
    "include appmlip.mod",
)

#: One line per graded step (``step max_grade level``), written as the run goes.
GRADES_LOG = "grades.txt"
#: Frames above the ``collect`` threshold, extended XYZ (per-atom array ``grade``).
COLLECTED_FILE = "collected.extxyz"
#: The whole result (:meth:`GradedRun.save`), written when the run ends.
RESULT_FILE = "graded_md.npz"
#: Input of the separate process (:func:`config_text`, :func:`main`).
CONFIG_FILE = "graded_md_config.json"

#: LAMMPS ids of what the grading adds to an input.
COMPUTE_ID = "appmlip_sna"
FIX_ID = "appmlip_grade"
HALT_ID = "appmlip_halt"
STOP_VARIABLE = "appmlip_stop"

_LEVELS = ("ok", "warn", "collect", "stop")


class GradedMDError(RuntimeError):
    """The grading failed during the run (the run was stopped at that step)."""


# ------------------------------------------------------------------------------ input checks
def check_grade_every(value) -> int:
    """``grade_every`` as an int >= 1, or a ``ValueError`` naming it."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        if isinstance(value, float) and value.is_integer() and value >= 1:
            return int(value)
        raise ValueError(f"grade_every must be an integer >= 1 (MD steps), got {value!r}")
    if value < 1:
        raise ValueError(f"grade_every must be an integer >= 1 (MD steps), got {value!r}")
    return int(value)


def check_thresholds(value) -> tuple[float, float, float]:
    """``(warn, collect, stop)`` as floats with ``0 < warn <= collect <= stop``.

    Accepts a ``GradeThresholds``, a mapping with the keys ``warn``, ``collect``, ``stop`` or a
    sequence of three numbers. Raises a ``ValueError`` naming ``thresholds`` otherwise.
    """
    return GradeThresholds.make(value).as_tuple()


def _check_grade(grade):
    if grade is None:
        raise ValueError(
            "grade is None: the model has no training statistics, so it cannot grade atoms. "
            "Use AppmlipFit.get_model(row) or AppmlipSweep.get_model(row, grade=True), or "
            "model.with_leverage_grade(training_structures)"
        )
    if not callable(getattr(grade, "per_atom", None)):
        raise TypeError(
            f"grade must be an ExtrapolationGrade (with per_atom), got {type(grade).__name__}"
        )
    return grade


# ------------------------------------------------------------------------- LAMMPS commands
def split_commands(text_or_lines) -> list[str]:
    """LAMMPS input as single commands: continuation lines (``&``) joined, blank lines and
    comment-only lines dropped. Accepts a string (the file's text) or a sequence of lines."""
    if isinstance(text_or_lines, str):
        raw = text_or_lines.splitlines()
    else:
        raw = []
        for line in text_or_lines:
            raw.extend(str(line).splitlines() or [""])
    out, pending = [], ""
    for line in raw:
        stripped = line.rstrip()
        if stripped.endswith("&"):
            pending += stripped[:-1] + " "
            continue
        line = pending + stripped
        pending = ""
        if line.strip() and not line.strip().startswith("#"):
            out.append(line.strip())
    if pending.strip():
        out.append(pending.strip())
    return out


def _words(command: str) -> list[str]:
    text = command.split("#", 1)[0] if '"' not in command and "'" not in command else command
    try:
        return shlex.split(text, comments=True)
    except ValueError:
        return text.split()


def _keyword(command: str) -> str:
    words = _words(command)
    return words[0] if words else ""


def count_steps(commands: Sequence[str]) -> int | None:
    """Steps of the ``run`` commands plus iterations of the ``minimize`` commands (their
    ``maxiter``); None if a count is not a plain number (a ``${variable}``) or there is none."""
    total, found = 0, False
    for command in commands:
        words = _words(command)
        if not words or words[0] not in ("run", "minimize"):
            continue
        found = True
        word = words[1] if words[0] == "run" and len(words) > 1 else None
        if words[0] == "minimize":
            word = words[3] if len(words) > 3 else None
        try:
            total += int(float(word))
        except (TypeError, ValueError):
            return None
    return total if found else None


def _check_commands(commands: Sequence[str], grade_every: int) -> int:
    """Index of the first run/minimize command; errors for what the grading cannot serve."""
    first = None
    for i, command in enumerate(commands):
        key = _keyword(command)
        if key in ("jump", "label", "next"):
            raise ValueError(
                f"commands: '{key}' (loops) is not supported by graded runs, which run the "
                f"commands one by one; got {command!r}"
            )
        if key in ("run", "minimize", "rerun") and first is None:
            if key == "rerun":
                raise ValueError("commands: 'rerun' cannot be graded; use run or minimize")
            first = i
    if first is None:
        raise ValueError("commands contain no 'run' or 'minimize' command: nothing to grade")
    steps = count_steps(commands)
    if steps is not None and steps < grade_every:
        raise ValueError(
            f"grade_every={grade_every} is longer than the run ({steps} steps in total): the "
            "run never reaches the grading step; lower grade_every or run longer"
        )
    return first


def grading_commands(settings, grade_every: int) -> list[str]:
    """The LAMMPS lines the grading adds before the first ``run``/``minimize``."""
    from ..descriptors.per_atom import sna_atom_command

    return [
        sna_atom_command(settings, compute_id=COMPUTE_ID, group="all"),
        f"variable {STOP_VARIABLE} internal 0",
        f"fix {FIX_ID} all external pf/callback {grade_every} {grade_every}",
        f"fix {HALT_ID} all halt 1 v_{STOP_VARIABLE} > 0.5 error soft message no",
    ]


def _model_rows(b_linear, settings, types):
    from ..descriptors.per_atom import model_columns_from_bispectrum

    return model_columns_from_bispectrum(b_linear, settings, types)


# --------------------------------------------------------------------------------- result
@dataclass
class GradedRun:
    """What a graded run recorded.

    Attributes:
        steps: (n,) the graded steps (MD steps or minimizer iterations).
        max_grade: (n,) the largest per-atom grade of each graded step.
        atom_grades: (n, n_atoms) every atom's grade, atoms in LAMMPS id order (= the order of
            the input structure).
        thresholds: ``(warn, collect, stop)`` used.
        grade_every: steps between gradings.
        collected_steps: (m,) steps whose frame was collected (largest grade above
            ``collect``).
        collected: the collected frames (ASE ``Atoms``, per-atom array ``grade``, ``info``
            ``step`` and ``max_grade``); positions and cell in Angstrom, in the orientation of
            the input structure when it is known, else in LAMMPS' (lower-triangular cell).
        stopped_at: the step at which the run was stopped, None if it ran to its end.
        stop_reason: why it was stopped ("" if it was not).
        elements: element of each LAMMPS atom type.
    """

    steps: np.ndarray
    max_grade: np.ndarray
    atom_grades: np.ndarray
    thresholds: tuple[float, float, float]
    grade_every: int
    collected_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    collected: list = field(default_factory=list)
    stopped_at: int | None = None
    stop_reason: str = ""
    elements: tuple[str, ...] = ()

    @property
    def stopped(self) -> bool:
        """Whether the run was stopped before its end."""
        return self.stopped_at is not None

    @property
    def levels(self) -> list[str]:
        """``"ok"``, ``"warn"``, ``"collect"`` or ``"stop"`` for each graded step."""
        thresholds = GradeThresholds(*self.thresholds)
        return [thresholds.level(float(g)) for g in self.max_grade]

    @property
    def collected_max_grade(self) -> np.ndarray:
        """(m,) largest grade of each collected frame."""
        return np.array([a.info["max_grade"] for a in self.collected], dtype=float)

    def to_dict(self) -> dict:
        """Plain arrays and scalars (for HDF5 and :meth:`save`); inverse of :meth:`from_dict`."""
        grades = np.asarray(self.atom_grades)
        n_atoms = grades.shape[1] if grades.ndim == 2 else 0
        frames = self.collected
        m = len(frames)
        if m:
            n_atoms = len(frames[0])
        return {
            "steps": np.asarray(self.steps, dtype=int),
            "max_grade": np.asarray(self.max_grade, dtype=float),
            "atom_grades": np.asarray(self.atom_grades, dtype=float).reshape(
                len(self.steps), n_atoms
            ),
            "thresholds": np.asarray(self.thresholds, dtype=float),
            "grade_every": int(self.grade_every),
            "stopped_at": -1 if self.stopped_at is None else int(self.stopped_at),
            "stop_reason": str(self.stop_reason),
            "elements": list(self.elements),
            "collected": {
                "steps": np.asarray(self.collected_steps, dtype=int),
                "max_grade": self.collected_max_grade,
                "positions": np.array([a.positions for a in frames], dtype=float).reshape(
                    m, n_atoms, 3
                ),
                "cells": np.array([a.cell.array for a in frames], dtype=float).reshape(m, 3, 3),
                "numbers": np.array([a.numbers for a in frames], dtype=int).reshape(m, n_atoms),
                "atom_grades": np.array([a.arrays["grade"] for a in frames], dtype=float).reshape(
                    m, n_atoms
                ),
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> GradedRun:
        """Inverse of :meth:`to_dict`."""
        from ase import Atoms

        c = data["collected"]
        frames = []
        for k in range(len(np.atleast_1d(c["steps"]))):
            atoms = Atoms(
                numbers=np.asarray(c["numbers"][k], dtype=int),
                positions=np.asarray(c["positions"][k], dtype=float),
                cell=np.asarray(c["cells"][k], dtype=float),
                pbc=True,
            )
            atoms.arrays["grade"] = np.asarray(c["atom_grades"][k], dtype=float)
            atoms.info["step"] = int(c["steps"][k])
            atoms.info["max_grade"] = float(c["max_grade"][k])
            frames.append(atoms)
        stopped = int(data["stopped_at"])
        reason = data["stop_reason"]
        elements = [e.decode() if isinstance(e, bytes) else str(e) for e in data["elements"]]
        return cls(
            steps=np.asarray(data["steps"], dtype=int).ravel(),
            max_grade=np.asarray(data["max_grade"], dtype=float).ravel(),
            atom_grades=np.asarray(data["atom_grades"], dtype=float),
            thresholds=tuple(float(t) for t in np.asarray(data["thresholds"]).ravel()),
            grade_every=int(data["grade_every"]),
            collected_steps=np.asarray(c["steps"], dtype=int).ravel(),
            collected=frames,
            stopped_at=None if stopped < 0 else stopped,
            stop_reason=reason.decode() if isinstance(reason, bytes) else str(reason),
            elements=tuple(elements),
        )

    def save(self, path: str) -> str:
        """Write :meth:`to_dict` to an ``.npz`` file (read with :meth:`load`)."""
        flat = flatten_paths(self.to_dict())
        tmp = path + ".tmp.npz"
        np.savez(tmp, **{k.replace("/", "__"): np.asarray(v) for k, v in flat.items()})
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str) -> GradedRun:
        """Read a file written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            flat = {k.replace("__", "/"): data[k] for k in data.files}
        out = unflatten_paths(flat)
        for key in ("grade_every", "stopped_at"):
            out[key] = int(out[key])
        out["stop_reason"] = str(out["stop_reason"])
        out["elements"] = [str(e) for e in np.atleast_1d(out["elements"])]
        return cls.from_dict(out)


def flatten_paths(data: Mapping, prefix: str = "") -> dict:
    """Nested mappings as one flat dict keyed by ``/``-joined paths (as HDF5 groups name them)."""
    out = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten_paths(value, name + "/"))
        else:
            out[name] = value
    return out


def unflatten_paths(flat: Mapping) -> dict:
    """The nested dict of :func:`flatten_paths`' flat ``/``-joined keys."""
    out: dict = {}
    for key, value in flat.items():
        node = out
        *parents, last = str(key).split("/")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return out


# ------------------------------------------------------------------------------- grading
class _Grader:
    """The fix-external callback: grades every atom, records, collects, stops."""

    def __init__(self, lmp, grade, settings, thresholds, grade_every, rotation, folder):
        self.lmp = lmp
        self.grade = grade
        self.settings = settings
        self.thresholds = thresholds
        self.levels_of = GradeThresholds(*thresholds)  # one grade -> "ok" .. "stop"
        self.grade_every = grade_every
        self.rotation = rotation
        self.elements = tuple(settings.elements)
        self.steps: list[int] = []
        self.max_grade: list[float] = []
        self.atom_grades: list[np.ndarray] = []
        self.collected: list = []
        self.pending = None
        self.stopped_at = None
        self.stop_reason = ""
        self.error = None
        self.log_path = os.path.join(folder, GRADES_LOG)
        self.collected_path = os.path.join(folder, COLLECTED_FILE)
        for path in (self.log_path, self.collected_path):
            if os.path.exists(path):
                os.remove(path)
        with open(self.log_path, "w") as f:
            f.write(
                "# step max_grade level  (thresholds warn {:g}, collect {:g}, stop {:g})\n".format(
                    *thresholds
                )
            )

    def __call__(self, caller, step, nlocal, tag, x, fext):
        if self.error is not None or self.stopped_at is not None:
            return
        if self.pending is not None and self.pending[0] == int(step):
            return  # a minimizer's further evaluation at this step: LAMMPS computes once a step
        try:
            self._grade(int(step), int(nlocal), tag, x)
        except BaseException as err:  # an exception must not cross the C callback
            self.error = err
            self.stopped_at = int(step)
            self.stop_reason = f"grading failed at step {int(step)}: {err!r}"
            self._request_stop()

    def _request_stop(self):
        self.lmp.set_internal_variable(STOP_VARIABLE, 1.0)

    def _grade(self, step, nlocal, tag, x):
        from lammps import LMP_STYLE_ATOM, LMP_TYPE_ARRAY

        b = np.array(
            self.lmp.numpy.extract_compute(COMPUTE_ID, LMP_STYLE_ATOM, LMP_TYPE_ARRAY),
            dtype=float,
            copy=True,
        ).reshape(nlocal, -1)
        ids = np.array(tag, dtype=np.int64).ravel()[:nlocal]
        order = np.argsort(ids, kind="stable")
        types = np.array(self.lmp.numpy.extract_atom("type"), dtype=int).ravel()[:nlocal][order]
        rows = _model_rows(b[order], self.settings, types)
        g = np.asarray(self.grade.per_atom(rows), dtype=float).ravel()
        if g.shape != (nlocal,):
            raise ValueError(f"the grade gave {g.shape} values for {nlocal} atoms")
        if self.atom_grades and g.shape != self.atom_grades[0].shape:
            raise ValueError(
                f"the number of atoms changed from {self.atom_grades[0].size} to {g.size}; "
                "graded runs need a fixed number of atoms"
            )
        positions = np.array(x, dtype=float, copy=True).reshape(nlocal, 3)[order]
        boxlo, boxhi, xy, yz, xz, _, _ = self.lmp.extract_box()
        lo = np.asarray(boxlo, dtype=float)
        hi = np.asarray(boxhi, dtype=float)
        cell = np.array(
            [[hi[0] - lo[0], 0.0, 0.0], [xy, hi[1] - lo[1], 0.0], [xz, yz, hi[2] - lo[2]]]
        )
        self._finish_pending()
        gmax = float(g.max()) if g.size else 0.0
        self.pending = (step, g, gmax, positions - lo, cell, types)
        if self.levels_of.level(gmax) == "stop":
            self.stopped_at = step
            self.stop_reason = (
                f"largest grade {gmax:.6g} above the stop threshold {self.thresholds[2]:g} "
                f"at step {step}"
            )
            self._request_stop()

    def _finish_pending(self):
        if self.pending is None:
            return
        step, g, gmax, positions, cell, types = self.pending
        self.pending = None
        self.steps.append(step)
        self.max_grade.append(gmax)
        self.atom_grades.append(g)
        level = self.levels_of.level(gmax)
        with open(self.log_path, "a") as f:
            f.write(f"{step} {gmax:.10g} {level}\n")
        if level in ("collect", "stop"):
            self._collect(step, g, positions, cell, types, gmax)

    def _collect(self, step, g, positions, cell, types, gmax):
        from ase import Atoms
        from ase.io import write

        if self.rotation is not None:
            positions = positions @ self.rotation.T
            cell = cell @ self.rotation.T
        atoms = Atoms(
            symbols=[self.elements[t - 1] for t in types], positions=positions, cell=cell, pbc=True
        )
        atoms.arrays["grade"] = np.array(g)
        atoms.info["step"] = int(step)
        atoms.info["max_grade"] = gmax
        write(self.collected_path, atoms, format="extxyz", append=True)
        self.collected.append(atoms)

    def result(self) -> GradedRun:
        self._finish_pending()
        atom_grades = np.array(self.atom_grades, dtype=float) if self.atom_grades else None
        return GradedRun(
            steps=np.array(self.steps, dtype=int),
            max_grade=np.array(self.max_grade, dtype=float),
            atom_grades=np.zeros((0, 0)) if atom_grades is None else atom_grades,
            thresholds=tuple(self.thresholds),
            grade_every=self.grade_every,
            collected_steps=np.array([a.info["step"] for a in self.collected], dtype=int),
            collected=list(self.collected),
            stopped_at=self.stopped_at,
            stop_reason=self.stop_reason,
            elements=self.elements,
        )


@contextlib.contextmanager
def _in_folder(folder: str):
    old = os.getcwd()
    os.makedirs(folder, exist_ok=True)
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(old)


def run_graded_lammps(
    commands,
    grade,
    settings,
    *,
    grade_every: int = 10,
    thresholds=None,
    working_directory: str = ".",
    rotation=None,
    log_file: str = "log.lammps",
    screen: bool = False,
) -> GradedRun:
    """Run LAMMPS commands and grade the run every ``grade_every`` steps.

    The commands are run in ``working_directory`` (relative file names in them, e.g.
    ``read_data structure.inp`` or ``include potential.inp``, are found there), one by one,
    through the ``lammps`` Python module in this process. The grading (``compute sna/atom``, a
    ``fix external`` that grades and a ``fix halt``) is added before the first ``run`` or
    ``minimize``; the box, the atoms and the pair style must be defined by then. After a stop
    the remaining commands are not run.

    Args:
        commands: LAMMPS input: the text of an input file, or a list of lines.
        grade: the model's :class:`~pyiron_appmlip.core.extrapolation.ExtrapolationGrade`
            (``model.grade``); None raises a ``ValueError``.
        settings: the model's :class:`~pyiron_appmlip.descriptors.settings.QSnapSettings`
            (with ``elements``: LAMMPS atom type i is ``elements[i - 1]``).
        grade_every: grade every this many steps (>= 1) [10].
        thresholds: ``(warn, collect, stop)`` on the largest per-atom grade of a step, a
            ``GradeThresholds`` or a dict; default: ``grade.thresholds``.
        working_directory: folder of the run and its output files (``grades.txt``,
            ``collected.extxyz``, ``graded_md.npz``, the LAMMPS log).
        rotation: optional (3, 3) rotation ``Q`` of the input structure into LAMMPS' frame
            (``pos_lammps = pos @ Q``); collected frames are rotated back with it.
        log_file: LAMMPS log file name (in ``working_directory``); "none" for no log.
        screen: whether LAMMPS prints to standard output.

    Returns:
        The :class:`GradedRun` (also saved as ``graded_md.npz``).

    Raises:
        ValueError: for ``grade`` None, ``grade_every`` < 1, thresholds not ordered
            ``0 < warn <= collect <= stop``, commands without ``run``/``minimize``, loops
            (``jump``/``label``), or a run shorter than ``grade_every``.
        GradedMDError: if grading failed during the run (the run was stopped there; what was
            recorded until then is saved).
    """
    from lammps import lammps

    grade = _check_grade(grade)
    grade_every = check_grade_every(grade_every)
    if thresholds is None:
        thresholds = getattr(grade, "thresholds", None)
        if thresholds is None:
            raise ValueError("thresholds: the grade has none; give (warn, collect, stop)")
    thresholds = check_thresholds(thresholds)
    if getattr(settings, "elements", None) is None:
        raise ValueError("settings.elements must be set: the element of each LAMMPS atom type")
    lines = split_commands(commands)
    first = _check_commands(lines, grade_every)
    setup = grading_commands(settings, grade_every)
    rotation = None if rotation is None else np.asarray(rotation, dtype=float).reshape(3, 3)
    folder = os.path.abspath(working_directory)
    cmdargs = ["-nocite", "-log", log_file]
    if not screen:
        cmdargs[:0] = ["-screen", "none"]
    with _in_folder(folder):
        lmp = lammps(cmdargs=cmdargs)
        try:
            grader = _Grader(lmp, grade, settings, thresholds, grade_every, rotation, folder)
            for i, line in enumerate(lines):
                if i == first:
                    for extra in setup:
                        lmp.command(extra)
                    lmp.set_fix_external_callback(FIX_ID, grader)
                lmp.command(line)
                if grader.stopped_at is not None and _keyword(line) in ("run", "minimize"):
                    break
        finally:
            try:
                if "grader" in locals():
                    result = grader.result()
                    result.save(os.path.join(folder, RESULT_FILE))
            finally:
                lmp.close()
    if grader.error is not None:
        raise GradedMDError(result.stop_reason) from grader.error
    return result


def run_graded_md(
    model,
    structure,
    commands,
    *,
    grade_every: int = 10,
    thresholds=None,
    working_directory: str = ".",
    grade=None,
) -> GradedRun:
    """Graded LAMMPS run of a structure with a model: set-up lines written for you.

    Writes ``structure.data`` (the structure in LAMMPS' frame), the model's potential files
    (:meth:`SnapModel.write_lammps`) and runs ``units metal``, ``atom_style atomic``,
    ``boundary p p p``, ``read_data``, the masses and the pair lines, then ``commands``, with
    :func:`run_graded_lammps`. Collected frames are in the structure's own orientation.

    Args:
        model: a :class:`~pyiron_appmlip.potential.model.SnapModel` with a grade.
        structure: ASE or pyiron structure (periodic; its elements among the model's).
        commands: your LAMMPS lines after the set-up, e.g. ``["velocity all create 600 1",
            "fix md all nve", "timestep 0.001", "run 1000"]``.
        grade_every: grade every this many steps [10].
        thresholds: ``(warn, collect, stop)``; default: the grade's.
        working_directory: folder of the run and its files.
        grade: the grade to use instead of ``model.grade``.

    Returns:
        The :class:`GradedRun`.
    """
    from ase.data import atomic_masses, atomic_numbers

    from ..descriptors.frames import to_lammps
    from ..structures.conversion import to_ase

    grade = _check_grade(grade if grade is not None else getattr(model, "grade", None))
    atoms = to_ase(structure)
    settings = model.settings
    elements = tuple(settings.elements)
    unknown = sorted(set(atoms.get_chemical_symbols()) - set(elements))
    if unknown:
        raise ValueError(
            f"structure has elements {unknown} that the model does not know (model: "
            f"{list(elements)})"
        )
    if not np.all(atoms.get_pbc()):
        raise ValueError("structure must be periodic in all three directions for a graded run")
    folder = os.path.abspath(working_directory)
    os.makedirs(folder, exist_ok=True)
    pos, cell, q = to_lammps(atoms.get_positions(), atoms.get_cell(), atoms.get_pbc())
    pos, cell = pos.tolist(), cell.tolist()
    types = [elements.index(s) + 1 for s in atoms.get_chemical_symbols()]
    data = [
        "structure written by pyiron_appmlip",
        "",
        f"{len(atoms)} atoms",
        f"{len(elements)} atom types",
        "",
        f"0.0 {cell[0][0]!r} xlo xhi",
        f"0.0 {cell[1][1]!r} ylo yhi",
        f"0.0 {cell[2][2]!r} zlo zhi",
        f"{cell[1][0]!r} {cell[2][0]!r} {cell[2][1]!r} xy xz yz",
        "",
        "Masses",
        "",
        *(f"{i + 1} {float(atomic_masses[atomic_numbers[e]])!r}" for i, e in enumerate(elements)),
        "",
        "Atoms # atomic",
        "",
        *(
            f"{k + 1} {t} {p[0]!r} {p[1]!r} {p[2]!r}"
            for k, (t, p) in enumerate(zip(types, pos, strict=True))
        ),
    ]
    with open(os.path.join(folder, "structure.data"), "w") as f:
        f.write("\n".join(data) + "\n")
    model.write_lammps(folder, name="appmlip")
    setup = list(SETUP_COMMANDS)
    return run_graded_lammps(
        setup + split_commands(commands),
        grade,
        settings,
        grade_every=grade_every,
        thresholds=thresholds,
        working_directory=folder,
        rotation=q,
    )


# ------------------------------------------------------------------- the separate process
def _encode(value):
    if isinstance(value, np.ndarray):
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(value), allow_pickle=False)
        return {"__npy__": base64.b64encode(buffer.getvalue()).decode("ascii")}
    if isinstance(value, Mapping):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode()
    return value


def _decode(value):
    if isinstance(value, dict):
        if set(value) == {"__npy__"}:
            raw = base64.b64decode(value["__npy__"].encode("ascii"))
            return np.load(io.BytesIO(raw), allow_pickle=False)
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def config_text(
    *,
    grade,
    settings,
    commands,
    grade_every: int,
    thresholds,
    rotation=None,
    log_file: str = "log.lammps",
) -> str:
    """The input of a graded run for :func:`main` as JSON text (arrays exactly, as ``.npy``
    bytes in base64)."""
    config = {
        "grade": _encode(grade.to_dict()),
        "settings": settings.to_json(),
        "commands": list(split_commands(commands)),
        "grade_every": check_grade_every(grade_every),
        "thresholds": list(check_thresholds(thresholds)),
        "rotation": None if rotation is None else np.asarray(rotation, float).tolist(),
        "log_file": log_file,
    }
    return json.dumps(config, indent=1)


def read_config(path: str) -> dict:
    """Inverse of :func:`config_text` (read from a file): the keyword arguments of
    :func:`run_graded_lammps`."""
    from ..core.extrapolation import ExtrapolationGrade
    from ..descriptors.settings import QSnapSettings

    with open(path) as f:
        config = json.load(f)
    return {
        "commands": config["commands"],
        "grade": ExtrapolationGrade.from_dict(_decode(config["grade"])),
        "settings": QSnapSettings.from_json(config["settings"]),
        "grade_every": int(config["grade_every"]),
        "thresholds": tuple(config["thresholds"]),
        "rotation": config["rotation"],
        "log_file": config["log_file"],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pyiron_appmlip.potential.graded_md <config>``: run a graded run in the
    config's folder (written from :func:`config_text`); exit code 0 also for a stopped run."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m pyiron_appmlip.potential.graded_md <config.json>")
        return 2
    path = os.path.abspath(args[0])
    kwargs = read_config(path)
    result = run_graded_lammps(working_directory=os.path.dirname(path), **kwargs)
    print(
        f"graded {len(result.steps)} steps, collected {len(result.collected)} frames"
        + (f", stopped at step {result.stopped_at}: {result.stop_reason}" if result.stopped else "")
    )
    return 0


if __name__ == "__main__":  # pragma: no cover - run as a separate process
    raise SystemExit(main())
