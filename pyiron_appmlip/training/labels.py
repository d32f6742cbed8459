"""Training: join descriptors and DFT labels by configuration id, split by configuration, fit
the energy/force-weighted linear model for each training level and weight, and measure errors.

Pure functions of arrays (no pyiron): the :class:`~pyiron_appmlip.jobs.fit.AppmlipFit` job is a
thin shell around :func:`fit_table`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Labels", "split_by_configuration", "fit_table", "parse_weights"]


@dataclass
class Labels:
    """DFT labels of one convergence level, keyed by configuration id.

    energies: total energies in eV; forces: (N, 3) arrays in eV/Angstrom; wall_times: recorded
    wall time (s) of each calculation (the DFT cost); job_id: the labelling job they came from.
    Only finished calculations belong here: failed ones are excluded before a ``Labels`` is built.
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
    test. Returns ``(train_ids, test_ids)`` as sorted lists; both are non-empty when len(ids) >= 2.
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

    Accepts a number r (meaning w_E/w_F = r with w_F = 1), a tuple ``(w_E, w_F)``, or a list
    whose items are numbers (ratios) or pairs: ``[150, 12]`` means the two ratios 150 and 12,
    ``(150, 12)`` the single pair w_E = 150, w_F = 12.
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


def fit_table(
    blocks: Mapping[str, np.ndarray],
    labels: Mapping,
    train_ids: Sequence[str],
    test_ids: Sequence[str],
    weights,
    train_levels: Sequence | None = None,
    truth_level=None,
    ridge: float = 0.0,
):
    """Fit every (training level, weight) pair and measure errors.

    Parameters
    ----------
    blocks : configuration id -> descriptor block (1 + 3N, p)
    labels : level -> :class:`Labels`
    train_ids, test_ids : configuration ids of the two partitions
    weights : see :func:`parse_weights`
    train_levels : levels to train on (default: all levels in ``labels``)
    truth_level : level the test errors are also measured against (default: highest level)
    ridge : optional ridge term of the fit

    Returns
    -------
    rows : list of dicts (one per fit) with the settings and RMSEs (meV/atom, meV/Angstrom):
        ``energy_rmse_train``, ``force_rmse_train`` (against the training level),
        ``energy_rmse_test``, ``force_rmse_test`` (test set, training level),
        ``energy_rmse_test_truth``, ``energy_rmse_test_truth_shifted``, ``force_rmse_test_truth``
        (test set against ``truth_level``; shifted = mean energy error removed).
    coefficients : array (n_fits, p + 1), constant per-atom energy first.
    """
    from ..core import fit_weighted

    if not labels:
        raise ValueError("labels must map at least one level to its Labels, got none")
    levels = sorted(labels, key=_level_sort_key)
    train_levels = levels if train_levels is None else list(train_levels)
    for lv in train_levels:
        if lv not in labels:
            raise ValueError(f"train level {lv!r} has no labels; available levels: {levels}")
    truth_level = levels[-1] if truth_level is None else truth_level
    if truth_level not in labels:
        raise ValueError(f"truth_level {truth_level!r} has no labels; available levels: {levels}")
    pairs = parse_weights(weights)
    rows, coefs = [], []
    truth = labels[truth_level]
    test_truth = [i for i in test_ids if i in truth.ids and i in blocks]
    if not test_truth:
        raise ValueError(f"no test configuration has labels at truth level {truth_level!r}")
    for lv in train_levels:
        lab = labels[lv]
        train = [i for i in train_ids if i in lab.ids and i in blocks]
        test = [i for i in test_ids if i in lab.ids and i in blocks]
        if not train:
            raise ValueError(f"no training configuration has labels at level {lv!r}")

        def data(ids, lab=lab):
            return (
                [blocks[i] for i in ids],
                [lab.energies[i] for i in ids],
                [lab.forces[i] for i in ids],
            )

        tr_b, tr_e, tr_f = data(train)
        te_b, te_e, te_f = data(test) if test else ([], [], [])
        tt_b, tt_e, tt_f = data(test_truth, truth)
        for w_e, w_f in pairs:
            model = fit_weighted(tr_b, tr_e, tr_f, w_e, w_f, ridge=ridge)
            e_tr, f_tr = model.rmse(tr_b, tr_e, tr_f)
            e_te, f_te = model.rmse(te_b, te_e, te_f) if test else (np.nan, np.nan)
            e_tt, f_tt = model.rmse(tt_b, tt_e, tt_f)
            e_tt_s, _ = model.rmse(tt_b, tt_e, tt_f, shift=True)
            rows.append(
                {
                    "train_level": lv,
                    "truth_level": truth_level,
                    "energy_weight": w_e,
                    "force_weight": w_f,
                    "weight_ratio": w_e / w_f,
                    "n_train": len(train),
                    "n_test": len(test),
                    "energy_rmse_train": e_tr,
                    "force_rmse_train": f_tr,
                    "energy_rmse_test": e_te,
                    "force_rmse_test": f_te,
                    "energy_rmse_test_truth": e_tt,
                    "energy_rmse_test_truth_shifted": e_tt_s,
                    "force_rmse_test_truth": f_tt,
                }
            )
            coefs.append(np.asarray(model.coefficients, dtype=float))
    return rows, np.array(coefs)


def _level_sort_key(level):
    if isinstance(level, int | np.integer):
        return (0, int(level), "")
    return (1, 0, str(level))
