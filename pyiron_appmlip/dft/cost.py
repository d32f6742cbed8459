"""DFT cost of labelling: recorded wall times per level and a fitted cost model.

The cost model of one convergence level is a power law in the number of atoms ``N`` and the number
of k-points ``K`` of the mesh (``K = prod(kmesh)``, before any symmetry reduction, so that GPAW and
VASP records count the same way):

    t = a * N**alpha * K**beta        (seconds per configuration)

fitted by least squares on ``log t = log a + alpha log N + beta log K``. Plane-wave DFT scales
roughly as N^2..N^3 at fixed K (alpha between 1 and 3 for small cells, where the FFTs and the
subspace diagonalisation compete) and linearly in K (beta close to 1). The cut-off energy of a level
enters through ``a``, which is why a model belongs to one level. If ``N`` (or ``K``) does not vary in
the data, for example Gamma-only level 1 where ``K = 1`` always, its exponent cannot be determined:
it is fixed at 0 and listed in ``CostModel.fixed``.

Inputs are either plain arrays (``wall_times``, ``n_atoms``, ``n_kpoints``, ``levels``) or
:class:`~pyiron_appmlip.jobs.labelling.AppmlipLabelling` jobs, whose finished records are used.

Labels without recorded times (imported data) get a cost from a :class:`LevelCost`: seconds per
configuration, seconds per atom, or a :class:`CostModel`, given per level
(:func:`parse_level_costs`; the sweep and fit jobs take them as ``job.input.level_costs``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from .levels import get_level, kmesh, level_label

__all__ = [
    "CostModel",
    "fit_cost_model",
    "fit_cost_models",
    "cost_summary",
    "records_from_jobs",
    "predict_labelling_cost",
    "COST_KINDS",
    "LevelCost",
    "parse_level_costs",
]


@dataclass(frozen=True)
class CostModel:
    """``t = prefactor * n_atoms**atom_exponent * n_kpoints**kpoint_exponent`` (seconds).

    Attributes:
        prefactor: ``a``, in seconds.
        atom_exponent: ``alpha``, the exponent of the number of atoms.
        kpoint_exponent: ``beta``, the exponent of the number of k-points.
        n_samples: number of finished calculations the model was fitted on.
        rms_log_residual: root-mean-square residual of ``log t``; exp of it is a typical
            multiplicative error.
        fixed: exponents fixed at 0 because their variable did not vary in the data.
        level: the level dict the times belong to (optional; not compared).
    """

    prefactor: float
    atom_exponent: float
    kpoint_exponent: float
    n_samples: int
    rms_log_residual: float
    fixed: tuple[str, ...] = ()
    level: dict | None = field(default=None, compare=False)

    def predict(self, n_atoms, n_kpoints=1) -> np.ndarray:
        """Predicted seconds per configuration (array broadcast over the inputs).

        Args:
            n_atoms: atoms per configuration (>= 1).
            n_kpoints: k-points of the mesh per configuration (``prod(kmesh)``, >= 1).
        """
        n_atoms = np.asarray(n_atoms, dtype=float)
        n_kpoints = np.asarray(n_kpoints, dtype=float)
        if np.any(n_atoms < 1) or np.any(n_kpoints < 1):
            raise ValueError("n_atoms and n_kpoints must be >= 1")
        return self.prefactor * n_atoms**self.atom_exponent * n_kpoints**self.kpoint_exponent

    def to_dict(self) -> dict:
        data = asdict(self)
        data["fixed"] = list(self.fixed)
        return data

    @classmethod
    def from_dict(cls, data: Mapping) -> CostModel:
        data = dict(data)
        data["fixed"] = tuple(data.get("fixed", ()))
        return cls(**data)


def _clean(wall_times, n_atoms, n_kpoints):
    t = np.asarray(wall_times, dtype=float).reshape(-1)
    n = np.asarray(n_atoms, dtype=float).reshape(-1)
    k = np.broadcast_to(np.asarray(n_kpoints, dtype=float), t.shape).reshape(-1)
    if not (t.shape == n.shape == k.shape):
        raise ValueError(
            f"wall_times, n_atoms and n_kpoints must have the same length, got {t.size}, "
            f"{n.size}, {k.size}"
        )
    keep = np.isfinite(t)  # failed calculations carry NaN: left out
    t, n, k = t[keep], n[keep], k[keep]
    if np.any(t <= 0):
        raise ValueError("wall_times must be positive (seconds); NaN marks a missing time")
    if np.any(n < 1) or np.any(k < 1):
        raise ValueError("n_atoms and n_kpoints must be >= 1")
    return t, n, k


def fit_cost_model(wall_times, n_atoms, n_kpoints=1, level=None) -> CostModel:
    """Fit ``t = a N^alpha K^beta`` in log space (one level's records).

    Args:
        wall_times: seconds per configuration; NaN entries (failed calculations) are ignored.
        n_atoms: atoms per configuration.
        n_kpoints: k-points of the mesh per configuration (``prod(kmesh)``), or a scalar.
        level: the level the times belong to (stored in the model, optional).

    Raises:
        ValueError: mismatched lengths, non-positive times, or fewer samples than free parameters.
    """
    t, n, k = _clean(wall_times, n_atoms, n_kpoints)
    columns, names, fixed = [np.ones_like(t)], ["prefactor"], []
    for values, name in ((n, "atom_exponent"), (k, "kpoint_exponent")):
        logs = np.log(values)
        if logs.size and np.ptp(logs) > 1e-12:
            columns.append(logs)
            names.append(name)
        else:
            fixed.append(name)
    if t.size < len(names):
        raise ValueError(
            f"need at least {len(names)} finished calculations to fit {names}, got {t.size}"
        )
    design = np.column_stack(columns)
    coef, *_ = np.linalg.lstsq(design, np.log(t), rcond=None)
    residual = np.log(t) - design @ coef
    values = dict(zip(names, coef, strict=True))
    level_dict = None if level is None else get_level(level).to_dict()
    return CostModel(
        prefactor=float(math.exp(values["prefactor"])),
        atom_exponent=float(values.get("atom_exponent", 0.0)),
        kpoint_exponent=float(values.get("kpoint_exponent", 0.0)),
        n_samples=int(t.size),
        rms_log_residual=float(np.sqrt(np.mean(residual**2))) if t.size else float("nan"),
        fixed=tuple(fixed),
        level=level_dict,
    )


def records_from_jobs(jobs) -> dict:
    """Finished records of labelling jobs as flat arrays.

    Args:
        jobs: one ``AppmlipLabelling`` job or an iterable of them.

    Returns:
        dict with ``level`` (level name per record, e.g. ``"2"``), ``ids``, ``wall_times`` (s),
        ``n_atoms``, ``n_kpoints`` (``prod(kmesh)``), ``job`` (job name per record), and ``levels``
        ``{level name: level dict}``.
    """
    if hasattr(jobs, "get_labels"):
        jobs = [jobs]
    out = {k: [] for k in ("level", "ids", "wall_times", "n_atoms", "n_kpoints", "job")}
    levels = {}
    for job in jobs:
        data = job.get_labels(only_finished=True)
        name = str(job.level_name)
        levels[name] = dict(data["level"])
        m = len(data["ids"])
        out["level"] += [name] * m
        out["ids"] += list(data["ids"])
        out["wall_times"] += list(np.asarray(data["wall_times"], dtype=float))
        out["n_atoms"] += list(np.asarray(data["n_atoms"], dtype=int))
        out["n_kpoints"] += list(np.prod(np.asarray(data["kmesh"]).reshape(-1, 3), axis=1))
        out["job"] += [job.job_name] * m
    result = {
        "level": out["level"],
        "ids": out["ids"],
        "job": out["job"],
        "wall_times": np.asarray(out["wall_times"], dtype=float),
        "n_atoms": np.asarray(out["n_atoms"], dtype=np.int64),
        "n_kpoints": np.asarray(out["n_kpoints"], dtype=np.int64),
        "levels": levels,
    }
    return result


def cost_summary(wall_times=None, n_atoms=None, levels=None, jobs=None):
    """Wall-time statistics per level: a pandas DataFrame indexed by level.

    Give either ``jobs`` or the arrays ``wall_times``, ``n_atoms`` and ``levels``. NaN wall times
    (failed) are ignored.

    Args:
        wall_times: seconds per configuration.
        n_atoms: atoms per configuration.
        levels: one level label per configuration.
        jobs: labelling jobs (instead of the arrays).

    Returns:
        DataFrame with the columns ``n_configurations``, ``n_atoms_total``, ``total_seconds``,
        ``mean_seconds``, ``median_seconds`` (per configuration), ``mean_seconds_per_atom``,
        ``median_seconds_per_atom``, and ``paper_seconds`` (Table 1, per ~50-atom configuration
        on one A100 GPU; NaN for levels that are not paper levels).
    """
    import pandas as pd

    level_dicts = {}
    if jobs is not None:
        records = records_from_jobs(jobs)
        wall_times, n_atoms, levels = records["wall_times"], records["n_atoms"], records["level"]
        level_dicts = records["levels"]
    if wall_times is None or n_atoms is None or levels is None:
        raise ValueError("give jobs, or all of wall_times, n_atoms and levels")
    t = np.asarray(wall_times, dtype=float).reshape(-1)
    n = np.asarray(n_atoms, dtype=float).reshape(-1)
    labels = [str(v) for v in levels]
    if not (t.size == n.size == len(labels)):
        raise ValueError(
            f"wall_times, n_atoms and levels must have the same length, got {t.size}, {n.size}, "
            f"{len(labels)}"
        )
    rows = {}
    for label in dict.fromkeys(labels):
        mask = np.array([lv == label for lv in labels]) & np.isfinite(t)
        tt, nn = t[mask], n[mask]
        paper = float("nan")
        if label in level_dicts and level_dicts[label].get("paper_seconds") is not None:
            paper = float(level_dicts[label]["paper_seconds"])
        elif label.isdigit():
            try:
                paper = get_level(int(label)).paper_seconds or float("nan")
            except ValueError:
                pass
        rows[label] = {
            "n_configurations": int(mask.sum()),
            "n_atoms_total": int(nn.sum()),
            "total_seconds": float(tt.sum()),
            "mean_seconds": float(tt.mean()) if tt.size else float("nan"),
            "median_seconds": float(np.median(tt)) if tt.size else float("nan"),
            "mean_seconds_per_atom": float((tt / nn).mean()) if tt.size else float("nan"),
            "median_seconds_per_atom": float(np.median(tt / nn)) if tt.size else float("nan"),
            "paper_seconds": paper,
        }
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "level"
    return frame


def fit_cost_models(jobs) -> dict[str, CostModel]:
    """``{level name: CostModel}`` fitted on the finished records of labelling jobs."""
    records = records_from_jobs(jobs)
    models = {}
    labels = records["level"]
    for label in dict.fromkeys(labels):
        mask = np.array([lv == label for lv in labels])
        models[label] = fit_cost_model(
            records["wall_times"][mask],
            records["n_atoms"][mask],
            records["n_kpoints"][mask],
            level=records["levels"][label],
        )
    return models


def predict_labelling_cost(structures: Sequence | Iterable, level, model: CostModel) -> dict:
    """Predicted DFT cost of labelling ``structures`` at ``level`` with a fitted ``model``.

    The k-point mesh of each structure comes from :func:`pyiron_appmlip.dft.levels.kmesh`, as in the
    engines.

    Args:
        structures: ASE or pyiron structures.
        level: the convergence level (anything :func:`~pyiron_appmlip.dft.levels.get_level`
            accepts).
        model: the :class:`CostModel` of that level.

    Returns:
        dict with ``seconds`` (per structure), ``total_seconds``, ``n_atoms`` and ``n_kpoints``.
    """
    from ..structures.conversion import to_ase_list

    level = get_level(level)
    if model.level is not None and not get_level(model.level).same_parameters(level):
        raise ValueError(
            f"model was fitted for level {model.level} but level is {level.to_dict()}; "
            f"fit one model per level"
        )
    atoms_list = to_ase_list(structures)
    n_atoms = np.array([len(a) for a in atoms_list], dtype=np.int64)
    n_kpoints = np.array(
        [int(np.prod(kmesh(a.get_cell(), level.kspacing))) for a in atoms_list], dtype=np.int64
    )
    seconds = model.predict(n_atoms, n_kpoints)
    return {
        "seconds": seconds,
        "total_seconds": float(seconds.sum()),
        "n_atoms": n_atoms,
        "n_kpoints": n_kpoints,
    }


#: The kinds of a given cost of a level (:class:`LevelCost`).
COST_KINDS = ("per_configuration", "per_atom", "model")
_MODEL_KEYS = (
    "prefactor",
    "atom_exponent",
    "kpoint_exponent",
    "n_samples",
    "rms_log_residual",
    "fixed",
    "level",
)
_SPEC_HELP = (
    "{'per_configuration': seconds}, {'per_atom': seconds} or {'model': CostModel or its to_dict()}"
)


def _positive_seconds(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{name} must be a number of seconds > 0, got {value!r}")
    x = float(value)
    if not math.isfinite(x) or x <= 0:
        raise ValueError(f"{name} must be a finite number of seconds > 0, got {value!r}")
    return x


def _cost_model(value, name: str) -> CostModel:
    if isinstance(value, CostModel):
        data = value.to_dict()
    elif isinstance(value, Mapping):
        data = dict(value)
    else:
        raise ValueError(f"{name} must be a CostModel or its to_dict(), got {value!r}")
    unknown = sorted(set(data) - set(_MODEL_KEYS))
    needed = [k for k in _MODEL_KEYS[:3] if k not in data]
    if unknown or needed:
        raise ValueError(
            f"{name} must have the keys {list(_MODEL_KEYS[:3])} (optional "
            f"{list(_MODEL_KEYS[3:])}); missing {needed}, unknown {unknown}"
        )
    prefactor = _positive_seconds(data["prefactor"], f"{name}['prefactor']")
    exponents = {}
    for key in ("atom_exponent", "kpoint_exponent"):
        x = data[key]
        if isinstance(x, bool) or not isinstance(x, int | float | np.integer | np.floating):
            raise ValueError(f"{name}[{key!r}] must be a finite number, got {x!r}")
        if not math.isfinite(float(x)):
            raise ValueError(f"{name}[{key!r}] must be a finite number, got {x!r}")
        exponents[key] = float(x)
    return CostModel(
        prefactor=prefactor,
        n_samples=int(data.get("n_samples", 0)),
        rms_log_residual=float(data.get("rms_log_residual", float("nan"))),
        fixed=tuple(str(f) for f in (data.get("fixed") or ())),
        level=data.get("level") or None,
        **exponents,
    )


@dataclass(frozen=True)
class LevelCost:
    """The DFT cost of one level's calculations, given by the user instead of measured times.

    Attributes:
        kind: one of :data:`COST_KINDS`: ``"per_configuration"`` (``seconds`` per
            configuration), ``"per_atom"`` (``seconds`` per atom) or ``"model"`` (the
            :class:`CostModel` ``model`` of the level, in the number of atoms and k-points).
        seconds: seconds per configuration or per atom (NaN for a model).
        model: the cost model (None for the other kinds).
    """

    kind: str
    seconds: float = float("nan")
    model: CostModel | None = None

    @classmethod
    def from_spec(cls, spec, name: str = "level_cost") -> LevelCost:
        """A cost from ``{"per_configuration": s}``, ``{"per_atom": s}`` or ``{"model": m}``
        (``m`` a :class:`CostModel` or its :meth:`~CostModel.to_dict`); a :class:`LevelCost`
        or a :class:`CostModel` is taken as it is.

        Args:
            spec: the cost.
            name: how the messages name the parameter (e.g. ``"level_costs['3']"``).

        Raises:
            ValueError: naming ``name`` and the allowed forms, for anything else: another
                kind, several kinds, seconds that are not a finite number > 0, a model without
                a finite prefactor > 0 and finite exponents.
        """
        if isinstance(spec, LevelCost):
            return spec
        if isinstance(spec, CostModel):
            spec = {"model": spec}
        if not isinstance(spec, Mapping) or len(spec) != 1:
            raise ValueError(f"{name} must be one of {_SPEC_HELP}, got {spec!r}")
        ((kind, value),) = spec.items()
        if kind not in COST_KINDS:
            raise ValueError(
                f"{name} has the unknown kind {kind!r}; allowed kinds: {list(COST_KINDS)} "
                f"({_SPEC_HELP})"
            )
        if kind == "model":
            return cls(kind, model=_cost_model(value, f"{name}['model']"))
        return cls(kind, seconds=_positive_seconds(value, f"{name}[{kind!r}]"))

    @property
    def needs_kpoints(self) -> bool:
        """Whether the cost depends on the number of k-points (a model with K in it)."""
        return self.kind == "model" and self.model.kpoint_exponent != 0.0

    def predict(self, n_atoms, n_kpoints=None) -> np.ndarray:
        """Seconds per configuration.

        Args:
            n_atoms: atoms per configuration.
            n_kpoints: k-points of the mesh per configuration; needed only by a model with a
                k-point exponent other than 0.

        Raises:
            ValueError: a model that needs the k-points without them.
        """
        n = np.asarray(n_atoms, dtype=float)
        if self.kind == "per_configuration":
            return np.full(n.shape, self.seconds)
        if self.kind == "per_atom":
            return self.seconds * n
        if n_kpoints is None:
            if self.needs_kpoints:
                raise ValueError(
                    f"the cost model depends on the number of k-points (kpoint_exponent "
                    f"{self.model.kpoint_exponent:g}), which is not known here"
                )
            n_kpoints = 1
        return self.model.predict(n, n_kpoints)

    def describe(self) -> str:
        """How the cost was given, e.g. ``"given: 3 s per atom"``."""
        if self.kind == "per_configuration":
            return f"given: {self.seconds:g} s per configuration"
        if self.kind == "per_atom":
            return f"given: {self.seconds:g} s per atom"
        m = self.model
        return (
            f"given: cost model {m.prefactor:.4g} s x N^{m.atom_exponent:.3g} x "
            f"K^{m.kpoint_exponent:.3g} (N atoms, K k-points)"
        )

    def to_spec(self) -> dict:
        """The plain form :meth:`from_spec` reads (HDF5- and JSON-friendly)."""
        if self.kind == "model":
            data = self.model.to_dict()
            if data["level"] is None:
                del data["level"]
            return {"model": data}
        return {self.kind: self.seconds}


def parse_level_costs(level_costs, levels=None, name: str = "level_costs") -> dict[str, LevelCost]:
    """Normalise given DFT costs per level to ``{level label: LevelCost}``.

    Args:
        level_costs: None or a mapping level (any spelling :func:`~pyiron_appmlip.dft.levels.
            level_label` reads: ``3``, ``"3"``, ``"imported:wbe"``) -> a cost
            (:meth:`LevelCost.from_spec`): ``{"per_configuration": 120.0}``,
            ``{"per_atom": 3.0}`` or ``{"model": cost_model}``.
        levels: if given, the levels that have labels; a cost of another level is refused.
        name: how the messages name the parameter.

    Returns:
        The costs by level label (empty for None).

    Raises:
        ValueError: naming the parameter, for a malformed cost (see
            :meth:`LevelCost.from_spec`), two spellings of one level, or a level not in
            ``levels`` (the message lists them).
    """
    if level_costs is None:
        return {}
    if not isinstance(level_costs, Mapping):
        raise ValueError(f"{name} must map levels to costs ({_SPEC_HELP}), got {level_costs!r}")
    out: dict[str, LevelCost] = {}
    for level, spec in level_costs.items():
        try:
            label = level_label(level)
        except (TypeError, ValueError) as err:
            raise ValueError(
                f"{name} names the level {level!r}, which is not a level: {err}"
            ) from None
        if label in out:
            raise ValueError(f"{name} names level {label!r} twice (as {level!r} and before)")
        out[label] = LevelCost.from_spec(spec, f"{name}[{label!r}]")
    if levels is not None:
        known = [level_label(lv) for lv in levels]
        unknown = [lv for lv in out if lv not in known]
        if unknown:
            raise ValueError(
                f"{name} names the level(s) {unknown}, which have no labels here; levels with "
                f"labels: {known}"
            )
    return out
