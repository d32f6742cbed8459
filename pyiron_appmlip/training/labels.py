"""DFT labels keyed by configuration id, the seeded split by configuration, and the one parser
of energy/force weights.

Pure functions of arrays (no pyiron). Labels and descriptors meet only in the fit
(:mod:`pyiron_appmlip.training.sweep`), joined by configuration id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Labels", "split_by_configuration", "parse_weights"]


@dataclass
class Labels:
    """DFT labels of one convergence level, keyed by configuration id.

    Only finished calculations belong here: failed ones are excluded before a ``Labels`` is built.

    Attributes:
        energies: total energies in eV.
        forces: (N, 3) arrays in eV/Angstrom.
        wall_times: recorded wall time (s) of each calculation (the DFT cost).
        job_id: the labelling job they came from.
    """

    energies: dict
    forces: dict
    wall_times: dict = field(default_factory=dict)
    job_id: int | None = None

    @classmethod
    def from_arrays(cls, ids, energies, forces, wall_times=None, job_id=None):
        ids = [i.decode() if isinstance(i, bytes) else str(i) for i in ids]
        if not (len(ids) == len(energies) == len(forces)):
            raise ValueError(
                f"ids, energies and forces must have equal lengths, got {len(ids)}, "
                f"{len(energies)}, {len(forces)}"
            )
        wt = np.zeros(len(ids)) if wall_times is None else np.asarray(wall_times, dtype=float)
        return cls(
            energies={i: float(e) for i, e in zip(ids, energies, strict=True)},
            forces={
                i: np.asarray(f, dtype=float).reshape(-1, 3)
                for i, f in zip(ids, forces, strict=True)
            },
            wall_times={i: float(t) for i, t in zip(ids, wt, strict=True)},
            job_id=job_id,
        )

    @property
    def ids(self) -> set:
        return set(self.energies)


def split_by_configuration(ids: Sequence[str], test_fraction: float = 0.25, seed: int = 0):
    """Seeded train/test split by configuration id.

    A configuration's side depends only on its id and ``seed`` (a hash), not on the other
    configurations, so adding structures to a study never moves existing ones between train and
    test.

    Args:
        ids: configuration ids.
        test_fraction: fraction of configurations held out for testing.
        seed: seed of the hash that decides each configuration's side.

    Returns:
        ``(train_ids, test_ids)`` as sorted lists; both are non-empty when len(ids) >= 2.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(
            f"test_fraction must be between 0 and 1 (exclusive), got {test_fraction!r}"
        )
    ids = sorted(set(str(i) for i in ids))
    if len(ids) < 2:
        raise ValueError(
            f"at least 2 configurations are needed for a train/test split, got {len(ids)}"
        )

    def u(i):
        h = hashlib.sha256(f"{seed}:{i}".encode()).digest()
        return int.from_bytes(h[:8], "big") / 2.0**64

    keyed = sorted(ids, key=u)
    n_test = min(max(1, int(round(test_fraction * len(ids)))), len(ids) - 1)
    test = sorted(keyed[:n_test])
    train = sorted(keyed[n_test:])
    return train, test


def parse_weights(weights) -> list[tuple[float, float]]:
    """Normalise energy/force weights to a list of ``(energy_weight, force_weight)`` pairs.

    Args:
        weights: a number r (meaning w_E/w_F = r with w_F = 1), a tuple ``(w_E, w_F)``, or a
            list whose items are numbers (ratios) or pairs: ``[150, 12]`` means the two ratios
            150 and 12, ``(150, 12)`` the single pair w_E = 150, w_F = 12.

    Returns:
        The ``(energy_weight, force_weight)`` pairs as floats.
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
        out.append(pair)
    if not out:
        raise ValueError("weights must contain at least one (w_E, w_F) pair, got an empty list")
    return out
