"""The one parser of energy/force (and per-group) weights; the DFT labels and the split by
configuration they are applied to live in :mod:`pyiron_appmlip.datasets.labels` and are
importable from here as well.

Pure functions (no pyiron).
"""

from __future__ import annotations

import numpy as np

from ..core.validation import WeightPair
from ..datasets.labels import COST_CLOCKS, Labels, check_test_fraction, split_by_configuration

__all__ = [
    "Labels",
    "split_by_configuration",
    "check_test_fraction",
    "parse_weights",
    "parse_group_weights",
    "COST_CLOCKS",
]


def parse_weights(weights) -> list[tuple[float, float]]:
    """Normalise energy/force weights to a list of ``(energy_weight, force_weight)`` pairs.

    Args:
        weights: a number r (meaning w_E/w_F = r with w_F = 1), a tuple ``(w_E, w_F)``, or a
            list whose items are numbers (ratios) or pairs: ``[150, 12]`` means the two ratios
            150 and 12, ``(150, 12)`` the single pair w_E = 150, w_F = 12.

    Returns:
        The ``(energy_weight, force_weight)`` pairs as
        :class:`~pyiron_appmlip.core.validation.WeightPair` objects (tuples of two floats).
    """
    if weights is None:
        raise ValueError("weights must be a positive number w_E/w_F or (w_E, w_F) pairs, got None")
    if np.isscalar(weights) or (
        isinstance(weights, tuple) and all(np.isscalar(w) for w in weights)
    ):
        weights = [weights]
    out = []
    for w in weights:
        pair = (w, 1.0) if np.isscalar(w) else tuple(w)
        try:
            pair = tuple(float(x) for x in pair)
        except (TypeError, ValueError):
            pair = ()
        if len(pair) != 2 or not all(np.isfinite(x) and x > 0 for x in pair):
            raise ValueError(
                f"weights must be positive finite numbers w_E/w_F or (w_E, w_F) pairs, got {w!r}"
            )
        out.append(WeightPair(*pair))
    if not out:
        raise ValueError("weights must contain at least one (w_E, w_F) pair, got an empty list")
    return out


def parse_group_weights(group_weights) -> dict[str, tuple[float, float, float]]:
    """Normalise per-group weight factors to ``{group: (energy, force, stress)}``.

    Args:
        group_weights: None or a mapping group name -> three finite numbers >= 0 that multiply
            the energy, force and stress weights of that group's configurations.

    Returns:
        The factors as float triples (empty for None).
    """
    if group_weights is None:
        return {}
    if not isinstance(group_weights, dict):
        try:
            group_weights = dict(group_weights)
        except (TypeError, ValueError):
            raise ValueError(
                "group_weights must map group names to (energy, force, stress) factors, got "
                f"{group_weights!r}"
            ) from None
    out = {}
    for name, factors in group_weights.items():
        try:
            triple = tuple(float(x) for x in factors)
        except (TypeError, ValueError):
            triple = ()
        if len(triple) != 3 or not all(np.isfinite(x) and x >= 0 for x in triple):
            raise ValueError(
                f"group_weights[{name!r}] must be three finite numbers >= 0 (energy, force, "
                f"stress factors), got {factors!r}"
            )
        out[str(name)] = triple
    return out
