"""DFT convergence levels and the k-point rule shared by every engine.

A :class:`ConvergenceLevel` fixes the parameters that decide the precision (and the cost) of a DFT
single-point calculation: the k-point spacing, the plane-wave cut-off, the smearing width and the
exchange-correlation functional. :data:`PAPER_LEVELS` holds the six levels of the paper (Table 1),
:func:`get_level` turns a level number, a dict or a level into a :class:`ConvergenceLevel`, and
:func:`kmesh` turns a cell and a k-point spacing into a Gamma-centred Monkhorst-Pack mesh.

Units: ``kspacing`` in 1/Angstrom with the factor 2*pi included (VASP's KSPACING convention),
``encut`` and ``sigma`` in eV. Smearing is Methfessel-Paxton of order 1 (VASP ISMEAR = 1).

Bounds: ``kspacing`` at least :data:`MIN_KSPACING` (0.01 1/Angstrom; a 3 Angstrom cubic cell
then has a 210 x 210 x 210 k-mesh) and ``encut`` from :data:`MIN_ENCUT` (50 eV) to
:data:`MAX_ENCUT` (5000 eV). A level finer than :data:`LARGE_KSPACING` (0.05) or above
:data:`LARGE_ENCUT` (1500 eV) warns with the predicted k-points or plane waves (the paper's finest
level 6 has 0.10 and 900 eV).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np

__all__ = [
    "ConvergenceLevel",
    "PAPER_LEVELS",
    "get_level",
    "kmesh",
    "level_label",
    "level_order",
    "SUPPORTED_XC",
    "MIN_KSPACING",
    "LARGE_KSPACING",
    "MIN_ENCUT",
    "MAX_ENCUT",
    "LARGE_ENCUT",
]

SUPPORTED_XC = ("PBE",)
_FIELDS = ("kspacing", "encut", "sigma", "xc", "name", "paper_seconds")
#: Smallest k-point spacing accepted (1/Angstrom, 2*pi included).
MIN_KSPACING = 0.01
#: Spacings below this warn with the predicted k-mesh.
LARGE_KSPACING = 0.05
#: Range of plane-wave cut-offs accepted (eV).
MIN_ENCUT, MAX_ENCUT = 50.0, 5000.0
#: Cut-offs above this warn with the predicted number of plane waves.
LARGE_ENCUT = 1500.0
#: hbar^2 / (2 m_e) in eV Angstrom^2: a plane wave of wave number k has kinetic energy
#: _HBAR2_2M * k^2.
_HBAR2_2M = 3.80998


def _kpoint_note(kspacing: float) -> str:
    n = kmesh(3.0 * np.eye(3), kspacing)[0]
    return (
        f"a 3 Angstrom cubic cell gets a {n} x {n} x {n} k-mesh ({n**3:,} k-points per single "
        f"point; the paper's finest level, 0.10, gives 21 x 21 x 21)"
    )


def _plane_waves_per_volume(encut: float) -> float:
    """Plane waves per Angstrom^3 of cell below the cut-off ``encut`` (eV)."""
    return (encut / _HBAR2_2M) ** 1.5 / (6.0 * math.pi**2)


@dataclass(frozen=True)
class ConvergenceLevel:
    """Parameters of one DFT convergence level.

    Attributes:
        kspacing: k-point spacing in 1/Angstrom, 2*pi included (as VASP's KSPACING); ``None`` means
            the Gamma point only. At least 0.01; below 0.05 a warning gives the predicted k-mesh.
        encut: plane-wave cut-off energy in eV, from 50 to 5000; above 1500 a warning gives the
            predicted number of plane waves.
        sigma: Methfessel-Paxton (order 1) smearing width in eV.
        xc: exchange-correlation functional; only ``"PBE"`` is supported.
        name: optional label, e.g. ``"level 3"``.
        paper_seconds: the paper's measured average run time per configuration (Table 1: VASP on one
            NVIDIA A100 GPU, about 50 Be atoms per configuration). Metadata only; it takes no part
            in a calculation and is not compared by :meth:`same_parameters`.
    """

    kspacing: float | None
    encut: float
    sigma: float = 0.2
    xc: str = "PBE"
    name: str | None = None
    paper_seconds: float | None = field(default=None, compare=False)

    def __post_init__(self):
        if self.kspacing is not None:
            if isinstance(self.kspacing, bool) or not isinstance(
                self.kspacing, int | float | np.number
            ):
                raise ValueError(
                    f"kspacing must be a positive number (1/Angstrom, 2*pi included) or None for "
                    f"the Gamma point only, got {self.kspacing!r}"
                )
            if not math.isfinite(self.kspacing) or self.kspacing <= 0:
                raise ValueError(
                    f"kspacing must be a positive number (1/Angstrom, 2*pi included) or None for "
                    f"the Gamma point only, got {self.kspacing!r}"
                )
            object.__setattr__(self, "kspacing", float(self.kspacing))
            if self.kspacing < MIN_KSPACING:
                raise ValueError(
                    f"kspacing must be >= {MIN_KSPACING} (1/Angstrom, 2*pi included) or None for "
                    f"the Gamma point only, got {self.kspacing!r}: "
                    f"{_kpoint_note(self.kspacing)}"
                )
            if self.kspacing < LARGE_KSPACING:
                warnings.warn(
                    f"kspacing={self.kspacing!r} 1/Angstrom is a very fine k-point sampling: "
                    f"{_kpoint_note(self.kspacing)}",
                    UserWarning,
                    stacklevel=3,
                )
        for key in ("encut", "sigma"):
            value = getattr(self, key)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float | np.number)
                or not math.isfinite(value)
                or value <= 0
            ):
                raise ValueError(f"{key} must be a positive number in eV, got {value!r}")
            object.__setattr__(self, key, float(value))
        if not MIN_ENCUT <= self.encut <= MAX_ENCUT:
            raise ValueError(
                f"encut must be a plane-wave cut-off from {MIN_ENCUT:g} to {MAX_ENCUT:g} eV, got "
                f"{self.encut!r}"
            )
        if self.encut > LARGE_ENCUT:
            n, n_paper = _plane_waves_per_volume(self.encut), _plane_waves_per_volume(900.0)
            warnings.warn(
                f"encut={self.encut:g} eV is a very high cut-off: about {n:.0f} plane waves per "
                f"Angstrom^3 of cell, {n / n_paper:.1f} times as many as at 900 eV (the paper's "
                f"finest level), and the cost of a single point grows at least as fast",
                UserWarning,
                stacklevel=3,
            )
        if not isinstance(self.xc, str) or self.xc.upper() not in SUPPORTED_XC:
            raise ValueError(f"xc must be one of {list(SUPPORTED_XC)}, got {self.xc!r}")
        object.__setattr__(self, "xc", self.xc.upper())
        if self.name is not None and not isinstance(self.name, str):
            raise ValueError(f"name must be a string or None, got {self.name!r}")
        if self.paper_seconds is not None:
            object.__setattr__(self, "paper_seconds", float(self.paper_seconds))

    @property
    def gamma_only(self) -> bool:
        """True if only the Gamma point is sampled."""
        return self.kspacing is None

    def kmesh(self, cell) -> tuple[int, int, int]:
        """The k-point mesh of this level for ``cell`` (see :func:`kmesh`)."""
        return kmesh(cell, self.kspacing)

    def to_dict(self) -> dict:
        """Plain dict of all fields (``kspacing`` None for Gamma only)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> ConvergenceLevel:
        """Inverse of :meth:`to_dict`; unknown keys raise a ValueError naming them."""
        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise ValueError(
                f"level dict has unknown keys {unknown}; allowed keys are {list(_FIELDS)}"
            )
        if "encut" not in data or "kspacing" not in data:
            raise ValueError(
                f"level dict needs the keys 'kspacing' (None for Gamma only) and 'encut', "
                f"got {sorted(data)}"
            )
        kwargs = dict(data)
        # HDF5 round trips may turn None into NaN or a numpy scalar; normalise both.
        ks = kwargs["kspacing"]
        if ks is not None and not isinstance(ks, str):
            ks = float(ks)
            kwargs["kspacing"] = None if math.isnan(ks) else ks
        for key in ("name", "paper_seconds"):
            value = kwargs.get(key)
            if isinstance(value, float) and math.isnan(value):
                kwargs[key] = None
            elif isinstance(value, bytes):
                kwargs[key] = value.decode()
        for key in ("encut", "sigma"):
            if key in kwargs and isinstance(kwargs[key], np.generic):
                kwargs[key] = kwargs[key].item()
        return cls(**kwargs)

    def same_parameters(self, other: ConvergenceLevel) -> bool:
        """True if ``other`` gives the same calculation (name and metadata ignored)."""
        return (self.kspacing, self.encut, self.sigma, self.xc) == (
            other.kspacing,
            other.encut,
            other.sigma,
            other.xc,
        )


#: The six convergence levels of the paper (Table 1), with its measured average run times.
PAPER_LEVELS: dict[int, ConvergenceLevel] = {
    1: ConvergenceLevel(kspacing=None, encut=300.0, name="level 1", paper_seconds=8.33),
    2: ConvergenceLevel(kspacing=1.00, encut=300.0, name="level 2", paper_seconds=10.02),
    3: ConvergenceLevel(kspacing=0.75, encut=400.0, name="level 3", paper_seconds=14.80),
    4: ConvergenceLevel(kspacing=0.50, encut=500.0, name="level 4", paper_seconds=19.18),
    5: ConvergenceLevel(kspacing=0.25, encut=700.0, name="level 5", paper_seconds=91.99),
    6: ConvergenceLevel(kspacing=0.10, encut=900.0, name="level 6", paper_seconds=996.14),
}


def get_level(level) -> ConvergenceLevel:
    """Return a :class:`ConvergenceLevel` for ``level``.

    Args:
        level: a paper level number 1..6, a :class:`ConvergenceLevel`, or a dict with the keys of
            :meth:`ConvergenceLevel.to_dict` (at least ``kspacing`` and ``encut``).

    Raises:
        ValueError: for an unknown level number or an invalid dict.
    """
    if isinstance(level, ConvergenceLevel):
        return level
    if isinstance(level, Mapping):
        return ConvergenceLevel.from_dict(level)
    if isinstance(level, int | np.integer) and not isinstance(level, bool):
        if int(level) in PAPER_LEVELS:
            return PAPER_LEVELS[int(level)]
    raise ValueError(
        f"level must be one of the paper levels {sorted(PAPER_LEVELS)}, a ConvergenceLevel or a "
        f"dict with 'kspacing' and 'encut', got {level!r}"
    )


def level_label(level) -> str:
    """The one name of a convergence level, used in job names, tables, datasets and plots.

    A paper level is named by its number: ``3``, ``"3"``, ``PAPER_LEVELS[3]``, a level with the
    same parameters as ``PAPER_LEVELS[3]`` (whatever its name) and the preset's name
    ``"level 3"`` all give ``"3"``. Any other :class:`ConvergenceLevel` (or its dict) is named by
    its ``name``, or by its parameters when it has none. Any other string is taken as a label
    already (e.g. a level of an imported dataset).

    Args:
        level: a level number, a :class:`ConvergenceLevel`, a level dict or a label string.

    Returns:
        The label, a non-empty string.

    Raises:
        ValueError: for anything else (booleans, floats, empty strings, unknown numbers).
    """
    if isinstance(level, bytes):
        level = level.decode()
    if isinstance(level, str):
        text = level.strip()
        if not text:
            raise ValueError("level must be a level number, a ConvergenceLevel or a name, got ''")
        for number, preset in PAPER_LEVELS.items():
            if text == preset.name:
                return str(number)
        return text
    if isinstance(level, int | np.integer) and not isinstance(level, bool):
        get_level(level)  # unknown numbers raise, naming the allowed ones
        return str(int(level))
    if isinstance(level, ConvergenceLevel | Mapping):
        resolved = get_level(level)
        for number, preset in PAPER_LEVELS.items():
            if resolved.same_parameters(preset):
                return str(number)
        if resolved.name:
            return resolved.name
        ks = "gamma" if resolved.kspacing is None else f"{resolved.kspacing:g}"
        return f"kspacing={ks},encut={resolved.encut:g}"
    raise ValueError(
        f"level must be a level number {sorted(PAPER_LEVELS)}, a ConvergenceLevel, a level dict "
        f"or a name, got {level!r}"
    )


def level_order(level) -> tuple:
    """Sort key of a level: numbered levels by number ("2" before "10"), then named ones by name.

    Accepts anything :func:`level_label` accepts, so ``sorted(levels, key=level_order)`` works on
    a mix of numbers, presets and labels.
    """
    label = level_label(level)
    if label.isdigit():
        return (0, int(label), "")
    return (1, 0, label)


def kmesh(cell, kspacing: float | None) -> tuple[int, int, int]:
    """Gamma-centred k-point mesh for a cell and a k-point spacing (VASP KSPACING rule).

    ``n_i = max(1, ceil(|b_i| / kspacing))`` where ``b_i`` are the reciprocal lattice vectors
    *including* the factor 2*pi (``b_i . a_j = 2*pi*delta_ij``), in 1/Angstrom. ``kspacing=None``
    returns ``(1, 1, 1)`` (the Gamma point only). Every engine uses this function, so that the same
    level samples the Brillouin zone identically in GPAW and VASP.

    Args:
        cell: 3x3 cell matrix in Angstrom, lattice vectors as rows (ASE convention), or an
            ``ase.cell.Cell``.
        kspacing: spacing in 1/Angstrom (2*pi included) or None.
    """
    if kspacing is None:
        return (1, 1, 1)
    if (
        isinstance(kspacing, bool)
        or not isinstance(kspacing, int | float | np.number)
        or not kspacing > 0
    ):
        raise ValueError(
            f"kspacing must be a positive number (1/Angstrom, 2*pi included) or None, "
            f"got {kspacing!r}"
        )
    cell = np.asarray(cell, dtype=float).reshape(3, 3)
    volume = abs(np.linalg.det(cell))
    if volume < 1e-12:
        raise ValueError("cell must have three linearly independent lattice vectors (volume 0)")
    reciprocal = 2.0 * np.pi * np.linalg.inv(cell).T  # rows b_i with b_i . a_j = 2 pi delta_ij
    lengths = np.linalg.norm(reciprocal, axis=1)
    # Tiny tolerance so that |b|/dk = 3.0000000001 from round-off does not jump to 4.
    return tuple(max(1, math.ceil(length / kspacing - 1e-9)) for length in lengths)
