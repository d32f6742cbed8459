"""A fitted qSNAP model together with everything that made it.

:class:`SnapModel` holds the coefficients *and* the descriptor settings of the blocks it was
fitted to (every hyperparameter, the elements and their order, linear or quadratic), the
energy/force weights, the training level, the training subset and the fit options. Its export
(:meth:`SnapModel.write_lammps`, :meth:`SnapModel.potential_dataframe`) therefore writes exactly
the settings the descriptors were computed with; nothing is inferred from the number of
coefficients. Jobs hand out models by table row (``job.get_model(row)``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..core.fit import LinearModel
from ..descriptors.settings import QSnapSettings

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

    def predict(self, blocks: Sequence) -> tuple[np.ndarray, list[np.ndarray]]:
        """Energies (eV) and forces (eV/Angstrom) from descriptor blocks of these settings."""
        return self.linear_model.predict(blocks)

    def write_lammps(self, folder: str = ".", name: str = "appmlip") -> tuple[str, str]:
        """Write ``<name>.snapcoeff`` and ``<name>.snapparam``; return their paths."""
        from ..descriptors.export import write_snap_potential

        return write_snap_potential(self, folder=folder, name=name)

    def potential_dataframe(self, folder: str = ".", name: str = "appmlip"):
        """The files of :meth:`write_lammps` as a pyiron potential DataFrame.

        Usage: ``lammps_job.potential = model.potential_dataframe(...)``.
        """
        from ..descriptors.export import snap_potential_dataframe

        return snap_potential_dataframe(self, folder=folder, name=name)

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
        )
