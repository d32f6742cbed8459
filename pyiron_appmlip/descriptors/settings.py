"""qSNAP hyperparameters and the column layout of the descriptor blocks.

Defaults are the paper's (sec. 2.2): ``rcutfac`` 4.812302818, ``rfac0`` 0.99363, ``rmin0`` 0,
radius 0.5 and weight 1 for every element, ``bzeroflag`` 1, ``quadraticflag`` 1. ``twojmax``
(2Jmax) is the complexity knob (4, 6, 8, 10 in the paper; any even integer from 2 to
:data:`MAX_TWOJMAX` = 20 works). Above 10 the settings warn with the predicted block width and the
memory of the fit's normal matrix: a quadratic block has 4,277 columns per element at 2Jmax 10,
10,010 at 12 and 128,777 at 20.

Named presets (:meth:`QSnapSettings.preset`, listed by :func:`descriptor_presets`):

* ``"paper_qsnap"``: the paper's qSNAP at 2Jmax 6, i.e. these defaults (quadratic,
  ``bzeroflag`` 1);
* ``"fitsnap_linear"``: the defaults of FitSNAP's BISPECTRUM section (fitsnap3 3.1): linear SNAP
  (``quadraticflag`` 0) at 2Jmax 6 with ``rcutfac`` 4.67637, ``rfac0`` 0.99363, ``rmin0`` 0,
  radius 0.5, weight 1, ``switchflag`` 1 and FitSNAP's ``bzeroflag`` 0 (LAMMPS' own default is
  1). FitSNAP's per-element constant column is the constant column the fit adds here.

Column layout of a block (see :mod:`pyiron_appmlip.descriptors.lammps_snap`): for each element,
in the order of :attr:`QSnapSettings.elements`, the ``compute snap`` columns of that element (K
linear components B_k, then with ``quadraticflag`` the K(K+1)/2 products in LAMMPS' order
``B_1^2/2, B_1 B_2, ..., B_1 B_K, B_2^2/2, ..., B_K^2/2``); then, for two or more elements and
``element_counts=True``, one column per element after the first holding the number of atoms of
that element on the energy row (0 on force and virial rows). The fit adds the constant column
(N on the energy row), so element 1's reference energy is the constant and element e's is the
constant plus the coefficient of its count column.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

__all__ = [
    "QSnapSettings",
    "bispectrum_indices",
    "n_bispectrum",
    "DESCRIPTOR_PRESETS",
    "descriptor_presets",
    "check_twojmax",
    "check_hyperparameters",
    "MAX_TWOJMAX",
    "LARGE_TWOJMAX",
]

PAPER_RCUTFAC = 4.812302818
PAPER_RFAC0 = 0.99363
#: Largest 2Jmax accepted (a quadratic block then has 128,777 columns per element).
MAX_TWOJMAX = 20
#: 2Jmax above this (the paper's largest) warns with the predicted cost.
LARGE_TWOJMAX = 10

#: Named descriptor settings: name -> (QSnapSettings fields, one-line description).
#: Use :meth:`QSnapSettings.preset`; :func:`descriptor_presets` lists the names.
DESCRIPTOR_PRESETS: Mapping[str, tuple[Mapping, str]] = MappingProxyType(
    {
        "paper_qsnap": (
            MappingProxyType(
                {
                    "twojmax": 6,
                    "rcutfac": PAPER_RCUTFAC,
                    "rfac0": PAPER_RFAC0,
                    "rmin0": 0.0,
                    "radelem": 0.5,
                    "wj": 1.0,
                    "bzeroflag": 1,
                    "quadraticflag": 1,
                    "switchflag": 1,
                }
            ),
            "the paper's qSNAP: quadratic, 2Jmax 6, rcutfac 4.812302818, rfac0 0.99363, "
            "rmin0 0, bzeroflag 1 (this package's defaults)",
        ),
        "fitsnap_linear": (
            MappingProxyType(
                {
                    "twojmax": 6,
                    "rcutfac": 4.67637,
                    "rfac0": 0.99363,
                    "rmin0": 0.0,
                    "radelem": 0.5,
                    "wj": 1.0,
                    "bzeroflag": 0,
                    "quadraticflag": 0,
                    "switchflag": 1,
                }
            ),
            "FitSNAP's defaults: linear SNAP, 2Jmax 6, rcutfac 4.67637, rfac0 0.99363, rmin0 0, "
            "bzeroflag 0 (FitSNAP's default; LAMMPS' is 1)",
        ),
    }
)


def descriptor_presets() -> dict[str, str]:
    """The names of the descriptor presets, each with a one-line description.

    Returns:
        ``{name: description}``, e.g. ``{"paper_qsnap": "the paper's qSNAP: ...", ...}``.
        :meth:`QSnapSettings.preset` turns a name into settings.
    """
    return {name: description for name, (_, description) in DESCRIPTOR_PRESETS.items()}


def _preset_fields(name) -> dict:
    """The QSnapSettings fields of preset ``name``; a ValueError lists the names for others."""
    if not isinstance(name, str) or name not in DESCRIPTOR_PRESETS:
        raise ValueError(
            f"unknown descriptor preset {name!r}; preset must be one of "
            f"{sorted(DESCRIPTOR_PRESETS)}"
        )
    return dict(DESCRIPTOR_PRESETS[name][0])


def bispectrum_indices(twojmax: int) -> list[tuple[int, int, int]]:
    """The (2j1, 2j2, 2j) triples of the bispectrum components, in LAMMPS' column order."""
    out = []
    for j1 in range(twojmax + 1):
        for j2 in range(j1 + 1):
            for j in range(j1 - j2, min(twojmax, j1 + j2) + 1, 2):
                if j >= j1:
                    out.append((j1, j2, j))
    return out


def n_bispectrum(twojmax: int) -> int:
    """Number K of linear bispectrum components (14, 30, 55, 91 for 2Jmax 4, 6, 8, 10)."""
    return len(bispectrum_indices(twojmax))


def check_twojmax(value) -> int:
    """Return 2Jmax as an int: an even integer from 2 to :data:`MAX_TWOJMAX` (20).

    A number with an integral value (``6``, ``6.0``, ``numpy.int64(6)``) is accepted; text,
    booleans, odd numbers and numbers outside the range are refused. Above
    :data:`LARGE_TWOJMAX` (10) a :class:`UserWarning` predicts the cost (see
    :func:`twojmax_cost_note`).

    Raises:
        ValueError: naming ``twojmax`` and the allowed values.
    """
    allowed = f"an even integer from 2 to {MAX_TWOJMAX} (4, 6, 8, 10 in the paper)"
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )
    if not ok or not np.isfinite(value) or int(value) != value:
        raise ValueError(f"twojmax must be {allowed}, got {value!r}")
    value = int(value)
    if value <= 0 or value % 2:
        raise ValueError(f"twojmax must be {allowed}, got {value}")
    if value > MAX_TWOJMAX:
        k = n_bispectrum(MAX_TWOJMAX)
        raise ValueError(
            f"twojmax must be {allowed}, got {value} (already 2Jmax {MAX_TWOJMAX} gives "
            f"{k + k * (k + 1) // 2:,} quadratic descriptor columns per element)"
        )
    if value > LARGE_TWOJMAX:
        warnings.warn(twojmax_cost_note(value), UserWarning, stacklevel=3)
    return value


def twojmax_cost_note(twojmax: int) -> str:
    """A sentence on the cost of a large 2Jmax: columns per element and the fit's memory."""
    k = n_bispectrum(twojmax)
    p = k + k * (k + 1) // 2
    gigabytes = 8.0 * (p + 1) ** 2 / 1e9
    return (
        f"twojmax={twojmax} is above the paper's largest ({LARGE_TWOJMAX}): {p:,} descriptor "
        f"columns per element with quadraticflag 1 ({k} with quadraticflag 0); a configuration "
        f"of N atoms has a (1 + 3 N) x {p:,} block, and the fit's normal matrix takes "
        f"{gigabytes:.3g} GB per element (2Jmax {LARGE_TWOJMAX}: 4,277 columns, 0.15 GB); "
        "LAMMPS' compute snap is also much slower"
    )


def check_hyperparameters(hyperparameters) -> dict:
    """Check further :class:`QSnapSettings` fields given as a mapping (a job's
    ``input.hyperparameters``) and return them as a plain dict.

    Every key must be a field of :class:`QSnapSettings` other than ``twojmax`` (which a job takes
    from its own input), and the values must be valid for it; ``None`` means no further fields.

    Raises:
        ValueError: naming the unknown or invalid field and the allowed values.
    """
    if hyperparameters is None:
        return {}
    if hasattr(hyperparameters, "to_builtin"):
        hyperparameters = hyperparameters.to_builtin()
    if not isinstance(hyperparameters, Mapping):
        raise ValueError(
            "hyperparameters must be a mapping of QSnapSettings fields to values, e.g. "
            f"{{'quadraticflag': 0}}, got {hyperparameters!r}"
        )
    hyperparameters = dict(hyperparameters)
    if "twojmax" in hyperparameters:
        raise ValueError(
            "hyperparameters must not contain twojmax: set it as the job's own input "
            "(job.input.twojmax)"
        )
    try:
        QSnapSettings.make(2, **hyperparameters)  # unknown fields and bad values raise, named
    except ValueError as err:
        raise ValueError(f"hyperparameters: {err}") from None
    return hyperparameters


def _check_symbol(symbol) -> str:
    from ase.data import atomic_numbers

    if not isinstance(symbol, str) or symbol not in atomic_numbers or symbol == "X":
        raise ValueError(f"unknown element {symbol!r}: not a chemical symbol")
    return symbol


def _per_element(value, name: str, elements):
    """Normalise a per-element parameter to a float or a sorted tuple of (symbol, float) pairs."""
    if isinstance(value, Mapping):
        pairs = []
        for k, v in value.items():
            v = float(v)
            if not v > 0:
                raise ValueError(f"{name}[{k!r}] must be positive, got {v}")
            pairs.append((_check_symbol(k), v))
        return tuple(sorted(pairs))
    if isinstance(value, Sequence) and not isinstance(value, str):
        if value and all(isinstance(v, Sequence) and len(v) == 2 for v in value):
            return _per_element(dict(value), name, elements)  # already (symbol, value) pairs
        if elements is None or len(value) != len(elements):
            raise ValueError(
                f"{name} given as a list needs `elements` of the same length, got {len(value)} "
                f"values for elements {elements}"
            )
        return _per_element(dict(zip(elements, value, strict=True)), name, elements)
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or a mapping element -> number") from None
    if not v > 0:
        raise ValueError(f"{name} must be positive, got {v}")
    return v


@dataclass(frozen=True)
class QSnapSettings:
    """Hyperparameters of qSNAP descriptors (LAMMPS ``compute snap`` / ``pair_style snap``).

    Attributes:
        twojmax: 2Jmax, an even integer from 2 to 20 (see :func:`check_twojmax`; above 10 a
            warning predicts the number of columns and the fit's memory).
        rcutfac: as in LAMMPS; the cutoff between elements i and j is
            ``rcutfac * (radelem_i + radelem_j)``.
        rfac0: as in LAMMPS.
        rmin0: as in LAMMPS.
        radelem: one number for all elements, a mapping ``{symbol: value}``, or a list aligned
            with ``elements``. A mapping must cover every element present.
        wj: given like ``radelem``: one number for all elements, a mapping
            ``{symbol: value}``, or a list aligned with ``elements``. A mapping must cover
            every element present.
        bzeroflag: 0 or 1, as in LAMMPS.
        quadraticflag: 0 or 1, as in LAMMPS.
        switchflag: 0 or 1, as in LAMMPS.
        elements: element order of the columns (and LAMMPS atom types). ``None``: inferred from
            the structures (sorted by atomic number) by :meth:`for_structures`.
        element_counts: with two or more elements, append per-element atom-count columns for
            elements 2..n (see module docstring).
    """

    twojmax: int
    rcutfac: float = PAPER_RCUTFAC
    rfac0: float = PAPER_RFAC0
    rmin0: float = 0.0
    radelem: float | tuple = 0.5
    wj: float | tuple = 1.0
    bzeroflag: int = 1
    quadraticflag: int = 1
    switchflag: int = 1
    elements: tuple[str, ...] | None = None
    element_counts: bool = True

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "twojmax", check_twojmax(self.twojmax))
        elements = self.elements
        if elements is not None:
            if isinstance(elements, str):
                elements = (elements,)
            elements = tuple(_check_symbol(e) for e in elements)
            if len(elements) == 0:
                raise ValueError("elements must not be empty")
            if len(set(elements)) != len(elements):
                raise ValueError(f"elements must not repeat a symbol, got {elements}")
            set_(self, "elements", elements)
        for name in ("rcutfac", "rfac0"):
            v = float(getattr(self, name))
            if not v > 0:
                raise ValueError(f"{name} must be positive, got {v}")
            set_(self, name, v)
        rmin0 = float(self.rmin0)
        if rmin0 < 0:
            raise ValueError(f"rmin0 must be >= 0, got {rmin0}")
        set_(self, "rmin0", rmin0)
        for name in ("bzeroflag", "quadraticflag", "switchflag"):
            v = getattr(self, name)
            if v not in (0, 1, True, False):
                raise ValueError(f"{name} must be 0 or 1, got {v!r}")
            set_(self, name, int(v))
        set_(self, "element_counts", bool(self.element_counts))
        set_(self, "radelem", _per_element(self.radelem, "radelem", elements))
        set_(self, "wj", _per_element(self.wj, "wj", elements))
        if elements is not None:
            for e in elements:  # raise early for a mapping that misses an element
                self.radius(e)
                self.weight(e)

    # -- per-element parameters ---------------------------------------------------------------
    def _lookup(self, name: str, element: str) -> float:
        value = getattr(self, name)
        if isinstance(value, tuple):
            d = dict(value)
            if element not in d:
                raise ValueError(
                    f"unknown element {element!r}: no {name} given for it "
                    f"({name} is set for {sorted(d)})"
                )
            return d[element]
        return value

    def radius(self, element: str) -> float:
        """``radelem`` of ``element``."""
        return self._lookup("radelem", element)

    def weight(self, element: str) -> float:
        """``wj`` of ``element``."""
        return self._lookup("wj", element)

    def cutoff(self) -> float:
        """Largest pair cutoff ``rcutfac * (R_i + R_j)`` over :attr:`elements` (Angstrom)."""
        elements = self._require_elements()
        return self.rcutfac * 2.0 * max(self.radius(e) for e in elements)

    # -- column layout ------------------------------------------------------------------------
    @property
    def n_linear(self) -> int:
        """K, the number of linear bispectrum components."""
        return n_bispectrum(self.twojmax)

    @property
    def n_per_element(self) -> int:
        """``compute snap`` columns per element: K, plus K(K+1)/2 with ``quadraticflag``."""
        k = self.n_linear
        return k + k * (k + 1) // 2 if self.quadraticflag else k

    def n_count_columns(self, n_elements: int | None = None) -> int:
        """Number of per-element atom-count columns (elements 2..n)."""
        n = len(self._require_elements()) if n_elements is None else int(n_elements)
        return n - 1 if (self.element_counts and n > 1) else 0

    def n_columns(self, n_elements: int | None = None) -> int:
        """Width p of a block (no constant column), for ``n_elements`` (default: elements)."""
        n = len(self._require_elements()) if n_elements is None else int(n_elements)
        return n * self.n_per_element + self.n_count_columns(n)

    def column_labels(self) -> list[str]:
        """A label per block column, e.g. ``Be:B(2,2,2)``, ``Be:B(0,0,0)*B(2,2,2)``, ``n_W``."""
        idx = bispectrum_indices(self.twojmax)
        names = ["B({},{},{})".format(*t) for t in idx]
        per = list(names)
        if self.quadraticflag:
            for a in range(len(names)):
                for b in range(a, len(names)):
                    per.append(f"{names[a]}^2/2" if a == b else f"{names[a]}*{names[b]}")
        elements = self._require_elements()
        labels = [f"{e}:{c}" for e in elements for c in per]
        if self.n_count_columns():
            labels += [f"n_{e}" for e in elements[1:]]
        return labels

    def column_subset(self, smaller: QSnapSettings) -> np.ndarray:
        """Where the columns of ``smaller`` (a smaller 2Jmax, all else equal) sit in these.

        A bispectrum component ``B(2j1, 2j2, 2j)`` does not depend on 2Jmax (nor does its
        isolated-atom value subtracted with ``bzeroflag``), so the components of a smaller 2Jmax
        are some of a larger one's, and so are their products (``quadraticflag``) and the
        element-count columns. ``block[:, settings.column_subset(smaller)]`` therefore equals
        the block ``smaller`` gives for the same structure (tested against LAMMPS). This is
        the column mapping of a Delta model's correction at a smaller 2Jmax
        (:func:`pyiron_appmlip.core.multi_fidelity.fit_delta`).

        Args:
            smaller: settings with a 2Jmax at most this one's and every other field equal.

        Returns:
            (p_smaller,) indices into this block's p columns, increasing.

        Raises:
            ValueError: if 2Jmax is larger or another field differs (the message names it).
        """
        if not isinstance(smaller, QSnapSettings):
            raise ValueError(f"smaller must be QSnapSettings, got {type(smaller).__name__}")
        if smaller.twojmax > self.twojmax:
            raise ValueError(
                f"smaller.twojmax ({smaller.twojmax}) must be at most twojmax ({self.twojmax})"
            )
        mine, theirs = self.to_dict(), smaller.to_dict()
        differ = sorted(k for k in mine if k != "twojmax" and mine[k] != theirs.get(k))
        if differ:
            raise ValueError(
                f"the settings differ in {differ} besides twojmax: their columns do not map"
            )
        large = {t: i for i, t in enumerate(bispectrum_indices(self.twojmax))}
        lin = np.array([large[t] for t in bispectrum_indices(smaller.twojmax)], dtype=np.intp)
        per = list(lin)
        if self.quadraticflag:
            k_large = len(large)

            def pair(a: int, b: int) -> int:  # row-major upper triangle incl. diagonal
                return k_large + a * k_large - a * (a - 1) // 2 + (b - a)

            per += [pair(lin[a], lin[b]) for a in range(len(lin)) for b in range(a, len(lin))]
        per = np.array(per, dtype=np.intp)
        elements = self._require_elements()
        n_per = self.n_per_element
        cols = [e * n_per + per for e in range(len(elements))]
        n_counts = self.n_count_columns()
        if n_counts:
            cols.append(len(elements) * n_per + np.arange(n_counts))
        return np.concatenate(cols)

    # -- elements -----------------------------------------------------------------------------
    def _require_elements(self) -> tuple[str, ...]:
        if self.elements is None:
            raise ValueError(
                "elements is not set: pass elements=(...) or use settings.for_structures(structures)"
            )
        return self.elements

    def for_structures(self, structures: Iterable) -> QSnapSettings:
        """These settings with :attr:`elements` inferred from (or checked against) ``structures``.

        Inferred: the symbols present, sorted by atomic number. Given: every symbol present must
        be in ``elements``. Either way each element needs a radius and a weight.
        """
        from ase.data import atomic_numbers

        from ..structures.conversion import to_ase

        present = set()
        for s in structures:
            present.update(to_ase(s).get_chemical_symbols())
        if self.elements is None:
            if not present:
                raise ValueError("structures contain no atoms: cannot infer elements")
            settings = dataclasses.replace(
                self, elements=tuple(sorted(present, key=lambda e: atomic_numbers[e]))
            )
        else:
            unknown = sorted(present - set(self.elements))
            if unknown:
                raise ValueError(
                    f"unknown element(s) {unknown}: not in elements {list(self.elements)}"
                )
            settings = self
        for e in settings.elements:
            settings.radius(e)
            settings.weight(e)
        return settings

    # -- serialisation ------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Plain dict (JSON- and HDF5-friendly); inverse of :meth:`from_dict`."""
        d = dataclasses.asdict(self)
        for name in ("radelem", "wj"):
            v = getattr(self, name)
            d[name] = dict(v) if isinstance(v, tuple) else v
        d["elements"] = list(self.elements) if self.elements is not None else None
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> QSnapSettings:
        d = dict(d)
        if d.get("elements") is not None:
            d["elements"] = tuple(d["elements"])
        return cls(**d)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> QSnapSettings:
        return cls.from_dict(json.loads(text))

    @classmethod
    def preset(cls, name: str, /, **overrides) -> QSnapSettings:
        """Settings of a named preset, with optional keyword overrides.

        Args:
            name: ``"paper_qsnap"`` (the paper's quadratic SNAP, 2Jmax 6) or
                ``"fitsnap_linear"`` (FitSNAP's linear SNAP defaults, 2Jmax 6, ``bzeroflag``
                0); :func:`descriptor_presets` lists them with their values.
            **overrides: any :class:`QSnapSettings` field, e.g. ``twojmax=4`` or
                ``elements=("Be", "W")``; it replaces the preset's value.

        Returns:
            The settings (``elements`` unset unless given).

        Raises:
            ValueError: for an unknown preset name (the message lists the names), an unknown
                field or an invalid value.

        Example::

            QSnapSettings.preset("fitsnap_linear", twojmax=8)
        """
        fields = _preset_fields(name)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown qSNAP hyperparameter(s) {unknown}; known: {sorted(known)}")
        return cls(**{**fields, **overrides})

    @classmethod
    def make(cls, base=None, /, **hyperparameters) -> QSnapSettings:
        """Settings from ``base`` (a QSnapSettings, its dict, or 2Jmax) plus keyword overrides."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(hyperparameters) - known)
        if unknown:
            raise ValueError(f"unknown qSNAP hyperparameter(s) {unknown}; known: {sorted(known)}")
        if isinstance(base, QSnapSettings):
            return dataclasses.replace(base, **hyperparameters) if hyperparameters else base
        if isinstance(base, Mapping):
            return cls.from_dict({**base, **hyperparameters})
        if base is None:
            if "twojmax" not in hyperparameters:
                raise ValueError("twojmax must be given")
            return cls(**hyperparameters)
        if "twojmax" in hyperparameters:
            raise ValueError(f"twojmax given twice: {base!r} and {hyperparameters['twojmax']!r}")
        return cls(twojmax=base, **hyperparameters)
