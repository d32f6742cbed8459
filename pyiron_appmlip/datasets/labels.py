"""DFT labels keyed by configuration id and the seeded train/test split by configuration.

Stresses are Voigt (xx, yy, zz, yz, xz, xy) in eV/Angstrom^3 with ASE's sign (positive under
tension), NaN where not recorded; the fit needs the cell volume next to each stress (the
virial rows of the descriptors are turned into stress rows with it).

Pure functions of arrays (no pyiron). Labels and descriptors meet only in the fit
(:mod:`pyiron_appmlip.training.sweep`), joined by configuration id. The labelled-dataset files
(:mod:`pyiron_appmlip.datasets.store`) hand out their labels as :class:`Labels`.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Labels", "split_by_configuration", "check_test_fraction", "COST_CLOCKS"]

#: The clocks a recorded DFT time can come from (``Labels.cost_clock``).
COST_CLOCKS = ("wall", "cpu")


@dataclass
class Labels:
    """DFT labels of one convergence level, keyed by configuration id.

    Only finished calculations belong here: failed ones are excluded before a ``Labels`` is built.

    Attributes:
        energies: total energies in eV.
        forces: (N, 3) arrays in eV/Angstrom.
        wall_times: recorded time (s) of each calculation, taken as its DFT cost: the wall time,
            or the CPU time where a dataset records it for every calculation of the level
            (:meth:`~pyiron_appmlip.datasets.store.LevelData.cost_seconds`); NaN or a missing
            id: not recorded.
        job_id: the labelling job they came from.
        stresses: optional ``{id: (6,) Voigt stress}`` in eV/Angstrom^3, ASE's sign (NaN or a
            missing id: not recorded).
        volumes: optional ``{id: cell volume in Angstrom^3}``, needed where a stress is used.
        groups: optional ``{id: group name}`` (e.g. the kind of structure), for per-group
            weight factors of the fit.
        cost_clock: which time ``wall_times`` holds, ``"wall"`` (default) or ``"cpu"``; named
            in the fit table's ``dft_cost_source``.
        n_kpoints: optional ``{id: k-points of the mesh}`` (``prod(kmesh)``), for a given cost
            model of the level (:class:`~pyiron_appmlip.dft.cost.LevelCost`).
    """

    energies: dict
    forces: dict
    wall_times: dict = field(default_factory=dict)
    job_id: int | None = None
    stresses: dict | None = None
    volumes: dict | None = None
    groups: dict | None = None
    cost_clock: str = "wall"
    n_kpoints: dict | None = None

    def __post_init__(self):
        if self.cost_clock not in COST_CLOCKS:
            raise ValueError(f"cost_clock must be one of {COST_CLOCKS}, got {self.cost_clock!r}")
        if self.stresses is not None:
            out = {}
            for cid, s in self.stresses.items():
                if s is None:
                    continue
                s = np.asarray(s, dtype=float)
                if s.shape == (3, 3):
                    s = 0.5 * (s + s.T)[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
                if s.shape != (6,):
                    raise ValueError(
                        f"stresses[{cid!r}] must be six Voigt components (xx yy zz yz xz xy) or "
                        f"a 3x3 tensor in eV/Angstrom^3, got shape {s.shape}"
                    )
                out[cid] = s
            self.stresses = out
        if self.volumes is not None:
            self.volumes = {cid: float(v) for cid, v in self.volumes.items()}
        if self.groups is not None:
            self.groups = {cid: str(g) for cid, g in self.groups.items()}
        if self.n_kpoints is not None:
            self.n_kpoints = {cid: int(k) for cid, k in self.n_kpoints.items() if int(k) >= 1}

    @classmethod
    def from_arrays(
        cls,
        ids,
        energies,
        forces,
        wall_times=None,
        job_id=None,
        *,
        stresses=None,
        volumes=None,
        groups=None,
        cost_clock="wall",
        n_kpoints=None,
    ):
        """Labels from aligned arrays.

        Args:
            ids: configuration ids (str or bytes).
            energies: total energies in eV.
            forces: per configuration (N, 3) in eV/Angstrom (or flat).
            wall_times: DFT times in s (default: not recorded, NaN).
            job_id: the labelling job.
            stresses: optional per configuration Voigt (6,) or 3x3 stress in eV/Angstrom^3,
                ASE's sign (NaN or None: not recorded).
            volumes: optional cell volumes in Angstrom^3.
            groups: optional group names.
            cost_clock: ``"wall"`` or ``"cpu"``: which time ``wall_times`` holds.
            n_kpoints: optional k-points of the mesh (values < 1: not recorded).
        """
        ids = [i.decode() if isinstance(i, bytes) else str(i) for i in ids]
        if not (len(ids) == len(energies) == len(forces)):
            raise ValueError(
                f"ids, energies and forces must have equal lengths, got {len(ids)}, "
                f"{len(energies)}, {len(forces)}"
            )
        optional = (("stresses", stresses), ("volumes", volumes), ("groups", groups))
        for name, seq in (*optional, ("n_kpoints", n_kpoints)):
            if seq is not None and len(seq) != len(ids):
                raise ValueError(f"{name} has {len(seq)} entries but there are {len(ids)} ids")
        wt = np.full(len(ids), np.nan) if wall_times is None else np.asarray(wall_times, float)
        return cls(
            energies={i: float(e) for i, e in zip(ids, energies, strict=True)},
            forces={
                i: np.asarray(f, dtype=float).reshape(-1, 3)
                for i, f in zip(ids, forces, strict=True)
            },
            wall_times={i: float(t) for i, t in zip(ids, wt, strict=True)},
            job_id=job_id,
            stresses=None
            if stresses is None
            else {i: s for i, s in zip(ids, stresses, strict=True) if s is not None},
            volumes=None if volumes is None else dict(zip(ids, volumes, strict=True)),
            groups=None
            if groups is None
            else {i: g for i, g in zip(ids, groups, strict=True) if g is not None},
            cost_clock=cost_clock,
            n_kpoints=None if n_kpoints is None else dict(zip(ids, n_kpoints, strict=True)),
        )

    def stress(self, config_id) -> np.ndarray | None:
        """The recorded stress of one configuration (Voigt, eV/Angstrom^3), None if none."""
        if not self.stresses:
            return None
        s = self.stresses.get(config_id)
        if s is None or np.isnan(s).all():
            return None
        return s

    @property
    def ids(self) -> set:
        return set(self.energies)


def split_by_configuration(ids: Sequence[str], test_fraction: float = 0.25, seed: int = 0):
    """Seeded train/test split by configuration id.

    A configuration's side depends only on its id and ``seed`` (a hash), not on the other
    configurations, so adding structures to a study never moves existing ones between train and
    test.

    How many are held out, for ``n`` distinct ids: ``test_fraction = 0`` holds out none (every
    configuration is for training; the test list is empty). Otherwise ``round(test_fraction *
    n)`` (Python's ``round``: halves go to the even number), but at least 1 and at most
    ``n - 1``, so that both sides are non-empty. A positive fraction that rounds to 0 (below
    ``0.5 / n``) still holds out one configuration, with a :class:`UserWarning` saying so.

    Args:
        ids: configuration ids.
        test_fraction: fraction of configurations held out for testing, ``0 <= test_fraction
            < 1``.
        seed: seed of the hash that decides each configuration's side.

    Returns:
        ``(train_ids, test_ids)`` as sorted lists; with ``test_fraction = 0`` the test list is
        empty, otherwise both are non-empty.

    Raises:
        ValueError: for a ``test_fraction`` outside [0, 1), no ids, or a positive
            ``test_fraction`` with fewer than two ids.
    """
    test_fraction = check_test_fraction(test_fraction)
    ids = sorted(set(str(i) for i in ids))
    if test_fraction == 0.0:
        if not ids:
            raise ValueError("ids must contain at least one configuration id, got none")
        return ids, []
    if len(ids) < 2:
        raise ValueError(
            f"at least 2 configurations are needed for a train/test split, got {len(ids)}; "
            "test_fraction = 0 trains on all of them without a test set"
        )

    def u(i):
        h = hashlib.sha256(f"{seed}:{i}".encode()).digest()
        return int.from_bytes(h[:8], "big") / 2.0**64

    keyed = sorted(ids, key=u)
    n_test = int(round(test_fraction * len(ids)))
    if n_test == 0:
        warnings.warn(
            f"test_fraction={test_fraction!r} of {len(ids)} configurations rounds to 0 held "
            f"out; 1 configuration is held out for testing (a positive fraction holds out at "
            f"least one). Set test_fraction = 0 to train on all {len(ids)} without a test set.",
            UserWarning,
            stacklevel=2,
        )
    n_test = min(max(1, n_test), len(ids) - 1)
    test = sorted(keyed[:n_test])
    train = sorted(keyed[n_test:])
    return train, test


def check_test_fraction(test_fraction) -> float:
    """Return ``test_fraction`` as a float; it must be a number with ``0 <= test_fraction < 1``.

    0 means no test set (train on every configuration); see :func:`split_by_configuration` for
    how a fraction becomes a number of held-out configurations.

    Raises:
        ValueError: naming the parameter and the allowed values.
    """
    ok = isinstance(test_fraction, int | float | np.integer | np.floating) and not isinstance(
        test_fraction, bool | np.bool_
    )
    if not ok or not 0.0 <= float(test_fraction) < 1.0:
        raise ValueError(
            "test_fraction must be a number with 0 <= test_fraction < 1 (the fraction of "
            "configurations held out for testing; 0: none held out, train on all), got "
            f"{test_fraction!r}"
        )
    return float(test_fraction)
