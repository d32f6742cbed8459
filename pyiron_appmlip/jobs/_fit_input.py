"""The checks of the inputs of :class:`~pyiron_appmlip.jobs.sweep.AppmlipSweep` and
:class:`~pyiron_appmlip.jobs.fit.AppmlipFit` (see :mod:`pyiron_appmlip.jobs._input`).

Each check takes a value as a user assigns it (or as the job's HDF5 file returns it) and returns
the value to store, or raises a ``ValueError`` naming the input and its allowed values. Whether a
level has a labelling job is not known when a level is named; the run checks it.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.validation import check_ridge, check_stress_weight, check_weights
from ..dft.cost import parse_level_costs
from ..dft.levels import level_label
from ..training.labels import check_test_fraction, parse_group_weights, parse_weights
from ..training.sweep import SWEEP_SAMPLERS, parse_level_pairs
from ._common import plain
from ._input import (
    check_bool,
    check_integer,
    check_storable_executor,
)

__all__ = ["sweep_input_checks", "fit_input_checks"]


def _builtin(value):
    """Plain Python values from pyiron containers and numpy arrays (tuples stay tuples)."""
    if hasattr(value, "to_builtin"):
        value = value.to_builtin()
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bytes):
        value = value.decode()
    return value


def _is_integral(value) -> bool:
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool | np.bool_)
        and np.isfinite(value)
        and int(value) == value
    )


def _as_list(value) -> list:
    """``value`` as a list of plain values: a list or tuple item by item, anything else as a
    list of one."""
    value = _builtin(value)
    if isinstance(value, list | tuple):
        return [_builtin(v) for v in value]
    return [value]


def check_weight_pairs(value) -> list[list[float]]:
    """``weights``: numbers w_E/w_F (w_F = 1) or (w_E, w_F) pairs, stored as pairs."""
    value = _builtin(value)
    if isinstance(value, list):
        value = [tuple(_builtin(w)) if isinstance(_builtin(w), list) else w for w in value]
    return [list(pair) for pair in parse_weights(value)]


def check_leverage_weights(value):
    """``leverage_weights``: None (the first weight pair) or one (w_E, w_F) pair."""
    value = _builtin(value)
    if value is None:
        return None
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(
            "leverage_weights must be None (the first weight pair) or one pair (w_E, w_F) of "
            f"positive numbers, got {value!r}"
        )
    try:
        return list(check_weights(*value))
    except ValueError as err:
        raise ValueError(f"leverage_weights: {err}") from None


def check_subset_sizes(value) -> list[int]:
    """``subset_sizes``: positive integers (training configurations per subset); None: none."""
    if _builtin(value) is None:
        return []
    sizes = _as_list(value)
    message = (
        "subset_sizes must be a list of positive integers (training configurations per "
        f"subset), got {_builtin(value)!r}"
    )
    if not all(_is_integral(s) and s >= 1 for s in sizes):
        raise ValueError(message)
    return [int(s) for s in sizes]


def check_samplers(value) -> list[str]:
    """``samplers``: one or more of :data:`~pyiron_appmlip.training.sweep.SWEEP_SAMPLERS`."""
    samplers = _as_list(value)
    if not samplers or not all(isinstance(s, str) and s in SWEEP_SAMPLERS for s in samplers):
        raise ValueError(
            f"samplers must name one or more of {list(SWEEP_SAMPLERS)}, got {_builtin(value)!r}"
        )
    return samplers


def _level(value, name: str) -> str:
    try:
        return level_label(value)
    except ValueError as err:
        raise ValueError(f"{name}: {err}") from None


def check_train_levels(value):
    """``train_levels``: None (every labelled level) or level names (stored as labels)."""
    if _builtin(value) is None:
        return None
    levels = _as_list(value)
    if not levels:
        raise ValueError(
            "train_levels must be None (every level with a labelling job) or one or more "
            f"levels (numbers 1-6, names or ConvergenceLevels), got {_builtin(value)!r}"
        )
    return [_level(v, "train_levels") for v in levels]


def check_truth_level(value):
    """``truth_level``: None (the highest labelled level) or one level (stored as its label)."""
    value = _builtin(value)
    return None if value is None else _level(value, "truth_level")


def check_atom_steps_per_second(value) -> dict:
    """``atom_steps_per_second``: {2Jmax: measured LAMMPS MD atom-steps per second}."""
    value = _builtin(value)
    if value is None:
        return {}
    message = (
        "atom_steps_per_second must map 2Jmax values to measured LAMMPS MD throughputs in "
        f"atom-steps per second (positive numbers), e.g. {{4: 1.25e4}}, got {value!r}"
    )
    if not isinstance(value, dict):
        raise ValueError(message)
    out = {}
    for key, speed in value.items():
        key, speed = _builtin(key), _builtin(speed)
        if isinstance(key, str) and key.strip().isdigit():
            key = int(key)
        ok = _is_integral(key) and isinstance(speed, int | float) and not isinstance(speed, bool)
        if not ok or not (np.isfinite(speed) and speed > 0):
            raise ValueError(message)
        out[str(int(key))] = float(speed)
    return out


def check_group_weights(value) -> dict:
    """``group_weights``: {group: (energy, force, stress) factors}, finite numbers >= 0."""
    value = _builtin(value)
    return {k: list(v) for k, v in parse_group_weights(value or {}).items()}


def check_reference_potential(value):
    """``reference_potential``: None, a ReferencePotential or its JSON text (stored as text)."""
    from ..potential.reference import ReferencePotential

    value = _builtin(value)
    if value is None or value == "":
        return None
    if isinstance(value, ReferencePotential):
        return value.to_json()
    message = (
        "reference_potential must be None, a ReferencePotential (e.g. "
        f"ReferencePotential.zbl(('Be',))) or its to_json() text, got {value!r}"
    )
    if not isinstance(value, str):
        raise ValueError(message)
    try:
        ReferencePotential.from_json(value)
    except (ValueError, TypeError, KeyError) as err:
        raise ValueError(f"{message} ({err})") from None
    return value


def _job_id(value, name: str) -> int:
    value = _builtin(value)
    if not _is_integral(value) or value < 0:
        raise ValueError(f"{name} must be a job id (an integer >= 0), got {value!r}")
    return int(value)


def check_descriptors_jobs(value) -> dict:
    """``descriptors_jobs``: {2Jmax: descriptors job id} (set with ``add_descriptors``)."""
    value = _builtin(value)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(
            "descriptors_jobs must map 2Jmax to a descriptors job id (use "
            f"job.add_descriptors(descriptors_job)), got {value!r}"
        )
    out = {}
    for key, job_id in value.items():
        key = _builtin(key)
        if isinstance(key, str) and key.strip().isdigit():
            key = int(key)
        if not _is_integral(key):
            raise ValueError(f"descriptors_jobs keys must be 2Jmax values, got {key!r}")
        out[str(int(key))] = _job_id(job_id, f"descriptors_jobs[{key!r}]")
    return out


def check_labelling_jobs(value) -> dict:
    """``labelling_jobs``: {level label: job id or list of ids} (set with ``add_labels``)."""
    value = _builtin(value)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(
            "labelling_jobs must map levels to labelling job ids (use "
            f"job.add_labels(labelling_job)), got {value!r}"
        )
    out = {}
    for key, ids in value.items():
        label = _level(_builtin(key), "labelling_jobs")
        ids = _builtin(ids)
        name = f"labelling_jobs[{label!r}]"
        if isinstance(ids, list | tuple):
            if not ids:
                raise ValueError(f"{name} must be a job id or a non-empty list of ids, got []")
            out[label] = [_job_id(i, name) for i in ids]
        else:
            out[label] = _job_id(ids, name)
    return out


def check_level_costs(value) -> dict:
    """``level_costs``: {level: cost} of levels without recorded times (see
    :func:`~pyiron_appmlip.dft.cost.parse_level_costs`), stored in their plain form. Whether
    each level has labels is checked by the run."""
    costs = parse_level_costs(plain(value) or {}, name="level_costs")
    return {label: cost.to_spec() for label, cost in costs.items()}


def checkparse_level_pairs(name: str):
    """The check of ``level_pairs`` / ``delta_pairs``: a list of two different levels each,
    stored as level labels."""

    def check(value):

        pairs = _builtin(value)
        if pairs is None:
            return []
        if isinstance(pairs, str) or not isinstance(pairs, list | tuple):
            raise ValueError(f"{name} must be a list of [level, level] pairs, got {pairs!r}")
        return [list(p) for p in parse_level_pairs([_builtin(p) for p in pairs], name)]

    return check


def check_test_ids(value):
    """``test_ids``: None (a random split) or a non-empty list of distinct configuration ids."""
    ids = _builtin(value)
    if ids is None:
        return None
    if isinstance(ids, str) or not isinstance(ids, list | tuple):
        raise ValueError(
            f"test_ids must be None (a random split) or a list of configuration ids, got {ids!r}"
        )
    ids = [_builtin(i) for i in ids]
    if not ids or not all(isinstance(i, str) and i for i in ids):
        raise ValueError("test_ids must be a non-empty list of configuration ids (strings)")
    if len(set(ids)) != len(ids):
        raise ValueError("test_ids must not repeat a configuration id")
    return list(ids)


def check_test_weights(value):
    """``test_weights``: None (every test configuration counts once) or one finite weight > 0
    per id of ``test_ids``, in its order."""
    weights = _builtin(value)
    if weights is None:
        return None
    if isinstance(weights, str) or not isinstance(weights, list | tuple):
        raise ValueError(
            f"test_weights must be None or a list of numbers > 0 (one per test id), got {weights!r}"
        )
    out = []
    for w in weights:
        w = _builtin(w)
        if isinstance(w, bool) or not isinstance(w, int | float) or not math.isfinite(w) or w <= 0:
            raise ValueError(
                f"test_weights must be finite numbers > 0 (one per test id), got {weights!r}"
            )
        out.append(float(w))
    if not out:
        raise ValueError("test_weights must be None or a non-empty list of numbers > 0")
    return out


def check_delta_twojmax(value):
    """``delta_twojmax``: None or an allowed 2Jmax (an even integer)."""
    from ..descriptors.settings import check_twojmax

    value = _builtin(value)
    return None if value is None else check_twojmax(value)


def check_energy_draw(value) -> str:
    """``energy_draw``: one of :data:`~pyiron_appmlip.training.sweep.ENERGY_DRAWS`."""
    from ..training.sweep import ENERGY_DRAWS

    value = _builtin(value)
    if value not in ENERGY_DRAWS:
        raise ValueError(f"energy_draw must be one of {ENERGY_DRAWS}, got {value!r}")
    return value


def check_energy_sizes(value) -> list[int]:
    """``energy_sizes``: positive integers (sizes of energy subsets), sorted."""
    sizes = _builtin(value)
    sizes = [] if sizes is None else sizes
    if isinstance(sizes, str) or not isinstance(sizes, list | tuple):
        raise ValueError(f"energy_sizes must be a list of positive integers, got {sizes!r}")
    out = []
    for n in sizes:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"energy_sizes must be positive integers, got {sizes!r}")
        out.append(int(n))
    return sorted(set(out))


def _stress_weight(value):
    value = _builtin(value)
    return 0.0 if value is None else check_stress_weight(value)


def sweep_input_checks() -> dict:
    """Input name -> check, for ``AppmlipSweep.input``."""
    return {
        "descriptors_jobs": check_descriptors_jobs,
        "labelling_jobs": check_labelling_jobs,
        "train_levels": check_train_levels,
        "truth_level": check_truth_level,
        "subset_sizes": check_subset_sizes,
        "weights": check_weight_pairs,
        "samplers": check_samplers,
        "repetitions": check_integer(
            "repetitions", 1, " (independent sampling orders per sampler)"
        ),
        "seed": check_integer("seed", 0, " (root seed of the sampling orders)"),
        "leverage_weights": check_leverage_weights,
        "test_fraction": check_test_fraction,
        "split_seed": check_integer(
            "split_seed", None, " (seed of the train/test split by configuration)"
        ),
        "ridge": lambda value: check_ridge(_builtin(value)),
        "atom_steps_per_second": check_atom_steps_per_second,
        "measure_evaluation_cost": check_bool("measure_evaluation_cost"),
        "executor": check_storable_executor,
        "reference_potential": check_reference_potential,
        "stress_weight": _stress_weight,
        "group_weights": check_group_weights,
        "level_costs": check_level_costs,
        "level_pairs": checkparse_level_pairs("level_pairs"),
        "delta_pairs": checkparse_level_pairs("delta_pairs"),
        "energy_sizes": check_energy_sizes,
        "energy_draw": check_energy_draw,
        "delta_twojmax": check_delta_twojmax,
        "test_ids": check_test_ids,
        "test_weights": check_test_weights,
    }


def check_fit_samplers(value) -> list[str]:
    """``AppmlipFit.input.samplers``: always ``["all"]`` (the whole training pool)."""
    samplers = _as_list(value)
    if samplers != ["all"]:
        raise ValueError(
            "samplers of AppmlipFit must be ['all'] (it fits the whole training pool); use "
            f"AppmlipSweep for subsets, got {_builtin(value)!r}"
        )
    return samplers


def fit_input_checks() -> dict:
    """Input name -> check, for ``AppmlipFit.input``."""
    return {**sweep_input_checks(), "samplers": check_fit_samplers}
