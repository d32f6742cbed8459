"""The result record of one DFT single-point calculation, shared by every engine.

Conventions (the same for every engine):

- ``energy``: the electronic *free* energy in eV (VASP's ``free energy TOTEN``, ASE's
  ``get_potential_energy(force_consistent=True)``, pyiron's ``energy_pot`` for VASP). It is the
  energy whose derivatives the forces are, so energies and forces of one record are consistent.
- ``energy_zero``: the energy extrapolated to zero smearing width in eV (VASP's
  ``energy(sigma->0)``, ASE's default ``get_potential_energy()``). Stored for reference.
- ``forces``: (N, 3) in eV/Angstrom, in the order of the input atoms.
- ``stress``: (6,) Voigt order xx, yy, zz, yz, xz, xy in eV/Angstrom^3 with ASE's sign
  (positive = tensile; a compressed cell has negative stress). Multiply by
  :data:`pyiron_appmlip.core.units.EV_PER_A3_TO_GPA` for GPa.
- ``wall_time``: seconds spent in the engine for this calculation.
- ``cpu_time``: CPU seconds of the calculating process (all its threads) for this calculation,
  NaN where unknown (e.g. an external VASP run). Unlike the wall time it does not grow when
  other work shares the cores, so it is the cost of the calculation.
- ``status``: ``"finished"`` (all quantities present and the SCF converged) or ``"failed"``
  (``error`` says why; energy, forces and stress are then None - a failed calculation never
  carries data).
"""

from __future__ import annotations

import math
import traceback
from dataclasses import dataclass, field, fields

import numpy as np

__all__ = ["SinglePointResult", "STATUSES", "failed_result", "format_exception"]

STATUSES = ("finished", "failed")


@dataclass
class SinglePointResult:
    """One DFT single-point result (see the module docstring for units and conventions)."""

    status: str
    engine: str
    engine_version: str = ""
    n_atoms: int = 0
    energy: float | None = None
    energy_zero: float | None = None
    forces: np.ndarray | None = None
    stress: np.ndarray | None = None
    wall_time: float = 0.0
    cpu_time: float = float("nan")
    n_kpoints: int = 0
    kmesh: tuple[int, int, int] = (1, 1, 1)
    n_scf_iterations: int = -1
    converged: bool = False
    pseudopotentials: str = ""
    level: dict = field(default_factory=dict)
    error: str = ""

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {list(STATUSES)}, got {self.status!r}")
        if self.forces is not None:
            self.forces = np.asarray(self.forces, dtype=float).reshape(-1, 3)
        if self.stress is not None:
            self.stress = np.asarray(self.stress, dtype=float).reshape(6)
        self.kmesh = tuple(int(k) for k in self.kmesh)
        if self.status == "finished":
            problems = []
            if self.energy is None or not math.isfinite(self.energy):
                problems.append("energy missing or not finite")
            if self.forces is None or not np.all(np.isfinite(self.forces)):
                problems.append("forces missing or not finite")
            elif self.forces.shape != (self.n_atoms, 3):
                problems.append(f"forces shape {self.forces.shape} != ({self.n_atoms}, 3)")
            if self.stress is not None and not np.all(np.isfinite(self.stress)):
                problems.append("stress not finite")
            if not self.converged:
                problems.append("SCF not converged")
            if problems:
                # Never let incomplete data pass as a result.
                self.status = "failed"
                self.error = "; ".join(problems) + (f"; {self.error}" if self.error else "")
        if self.status == "failed":
            self.energy = None
            self.energy_zero = None
            self.forces = None
            self.stress = None

    @property
    def ok(self) -> bool:
        """True for a finished calculation."""
        return self.status == "finished"

    def to_dict(self) -> dict:
        """HDF5-friendly dict: missing values become NaN arrays of the right shape."""
        n = int(self.n_atoms)
        return {
            "status": self.status,
            "engine": self.engine,
            "engine_version": self.engine_version,
            "n_atoms": n,
            "energy": float("nan") if self.energy is None else float(self.energy),
            "energy_zero": float("nan") if self.energy_zero is None else float(self.energy_zero),
            "forces": np.full((n, 3), np.nan) if self.forces is None else self.forces,
            "stress": np.full(6, np.nan) if self.stress is None else self.stress,
            "wall_time": float(self.wall_time),
            "cpu_time": float(self.cpu_time),
            "n_kpoints": int(self.n_kpoints),
            "kmesh": np.array(self.kmesh, dtype=np.int64),
            "n_scf_iterations": int(self.n_scf_iterations),
            "converged": bool(self.converged),
            "pseudopotentials": self.pseudopotentials,
            "level": dict(self.level),
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data) -> SinglePointResult:
        """Inverse of :meth:`to_dict` (NaN placeholders become None again)."""
        names = {f.name for f in fields(cls)}
        kw = {k: data[k] for k in names if k in data}
        for key in ("energy", "energy_zero"):
            if key in kw:
                value = float(kw[key])
                kw[key] = None if math.isnan(value) else value
        for key in ("forces", "stress"):
            if key in kw and kw[key] is not None:
                arr = np.asarray(kw[key], dtype=float)
                kw[key] = None if (arr.size and np.all(np.isnan(arr))) else arr
        if "level" in kw:
            kw["level"] = dict(kw["level"])
        for key in ("n_atoms", "n_kpoints", "n_scf_iterations"):
            if key in kw:
                kw[key] = int(kw[key])
        if "converged" in kw:
            kw["converged"] = bool(kw["converged"])
        for key in ("wall_time", "cpu_time"):
            if key in kw:
                kw[key] = float(kw[key])
        for key in ("status", "engine", "engine_version", "pseudopotentials", "error"):
            if key in kw and isinstance(kw[key], bytes):
                kw[key] = kw[key].decode()
        return cls(**kw)


def format_exception(exc: BaseException) -> str:
    """``Type: message`` plus the innermost traceback line, for the ``error`` field."""
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" (at {tb[-1].filename}:{tb[-1].lineno})" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}"


def failed_result(engine: str, error: str, **kwargs) -> SinglePointResult:
    """A failed record with the reason ``error``."""
    return SinglePointResult(status="failed", engine=engine, error=error, **kwargs)
