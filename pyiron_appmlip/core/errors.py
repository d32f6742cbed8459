"""Energy, force and stress RMSEs, from streamed statistics (no pass over the data) or directly.

Energy errors are per atom, ``(E^_m - E_m) / N_m``, in meV/atom; the mean-shifted variant
removes the mean per-atom error over the configurations (a constant offset) first. Force errors
are per Cartesian component, in meV/Angstrom. Stress errors are per recorded Voigt component
(xx, yy, zz, yz, xz, xy; each off-diagonal component counted once), in GPa; the model's stress
is ``-virial rows @ beta / volume`` (ASE's sign, see :mod:`.statistics`). Errors are plain
RMSEs: the weights and weight factors of a fit do not enter them. Configurations added to the
statistics with a weight (``SufficientStatistics.add(..., weight=w)``, e.g. 1 / pi for a test
configuration drawn with probability pi) count w times: the RMSEs are then weighted means of
the squared errors (energies per configuration, forces and stresses per component), which
estimate the errors of the pool the configurations were drawn from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, astuple, dataclass

import numpy as np

from .statistics import SufficientStatistics
from .units import EV_PER_A3_TO_GPA, MEV_PER_EV
from .validation import check_block, check_labels, check_nonempty, check_stress, check_volume

__all__ = [
    "ErrorSummary",
    "statistics_errors",
    "statistics_errors_batch",
    "direct_errors",
    "rmse_from_statistics",
]


@dataclass(frozen=True)
class ErrorSummary:
    """Errors of one model on one set of labelled configurations (prediction minus label).

    Attributes:
        energy_rmse: per-atom energy RMSE, meV/atom.
        energy_rmse_shifted: per-atom energy RMSE after removing the mean per-atom error,
            meV/atom.
        force_rmse: force-component RMSE, meV/Angstrom.
        energy_mean_error: mean per-atom energy error, meV/atom.
        n_configs: number of configurations.
        n_force_components: number of force components.
        stress_rmse: stress-component RMSE, GPa (NaN when no stress is recorded).
        n_stress_components: number of recorded stress components.
    """

    energy_rmse: float
    energy_rmse_shifted: float
    force_rmse: float
    energy_mean_error: float
    n_configs: int
    n_force_components: int
    stress_rmse: float = float("nan")
    n_stress_components: int = 0

    def __eq__(self, other) -> bool:
        """Field by field, with NaN equal to NaN (a missing stress RMSE is NaN)."""
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(
            x == y or (x != x and y != y)
            for x, y in zip(astuple(self), astuple(other), strict=True)
        )

    def __hash__(self) -> int:
        return hash(tuple(None if x != x else x for x in astuple(self)))

    def as_dict(self) -> dict:
        return asdict(self)


def _summary(
    sse_e, sum_e, m, sse_f, nf, shifted_mse=None, sse_s=0.0, ns=0, weighted=None
) -> ErrorSummary:
    """``weighted``: the weighted counts ``(configurations, force components, stress
    components)`` that divide the sums (default: the counts themselves)."""
    wm, wf, ws = (m, nf, ns) if weighted is None else weighted
    mse = sse_e / wm
    mean = sum_e / wm
    if shifted_mse is None:
        shifted_mse = max(mse - mean * mean, 0.0)
    return ErrorSummary(
        energy_rmse=MEV_PER_EV * float(np.sqrt(mse)),
        energy_rmse_shifted=MEV_PER_EV * float(np.sqrt(shifted_mse)),
        force_rmse=MEV_PER_EV * float(np.sqrt(sse_f / wf)),
        energy_mean_error=MEV_PER_EV * float(mean),
        n_configs=int(m),
        n_force_components=int(nf),
        stress_rmse=EV_PER_A3_TO_GPA * float(np.sqrt(sse_s / ws)) if ns else float("nan"),
        n_stress_components=int(ns),
    )


def _coefficients(coefficients, n_descriptors: int) -> np.ndarray:
    c = np.asarray(coefficients, dtype=float)
    if c.shape != (n_descriptors + 1,):
        raise ValueError(
            f"coefficients must have shape (p + 1,) = ({n_descriptors + 1},) "
            f"(reference energy first), got {c.shape}"
        )
    if not np.isfinite(c).all():
        raise ValueError("coefficients contain NaN or inf entries")
    return c


def statistics_errors(
    stats: SufficientStatistics, coefficients, level=None, partition: str = "test"
) -> ErrorSummary:
    """Errors of ``coefficients`` (p + 1,) on a partition's statistics against ``level``'s labels.

    Uses ``||R [beta; -1]||^2`` for the sums of squared residuals (energy, force and stress
    factors) and the stored column sums of the per-atom energy rows for the mean error; costs
    O(n^2), independent of the data size.

    Args:
        stats: the streamed statistics.
        coefficients: (p + 1,), per-atom reference energy first.
        level: the label level; may be omitted when the statistics hold a single level.
        partition: the partition of ``stats`` to evaluate.

    Returns:
        The :class:`ErrorSummary`.
    """
    p = stats.n_descriptors
    c = _coefficients(coefficients, p)
    level = stats._resolve_level(level)
    sse_e = sum_e = sse_f = sse_s = 0.0
    m = nf = ns = 0
    wm = wf = ws = 0.0
    for g in stats._groups_for(partition, level, require_level=True):
        j = g.label_columns[level]
        re = g.energy.used()
        res = re[:, : p + 1] @ c - re[:, j]
        sse_e += float(res @ res)
        sum_e += float(g.energy_sum[: p + 1] @ c - g.energy_sum[j])
        rf = g.force.used()
        res = rf[:, : p + 1] @ c - rf[:, j]
        sse_f += float(res @ res)
        m += int(g.counts[0])
        nf += int(g.counts[2])
        wm += g.energy.weight_seen
        wf += g.force.weight_seen
        for part in g.stress_parts(level):
            rs = part.used()
            res = rs[:, : p + 1] @ c - rs[:, j]
            sse_s += float(res @ res)
            ns += part.rows_seen
            ws += part.weight_seen
    return _summary(sse_e, sum_e, m, sse_f, nf, sse_s=sse_s, ns=ns, weighted=(wm, wf, ws))


def rmse_from_statistics(
    stats: SufficientStatistics,
    coefficients,
    level=None,
    partition: str = "test",
    shift: bool = False,
) -> tuple[float, float]:
    """``(energy RMSE meV/atom, force RMSE meV/Angstrom)`` on a partition's statistics.

    Args:
        stats: the streamed statistics.
        coefficients: (p + 1,), per-atom reference energy first.
        level: the label level; may be omitted when the statistics hold a single level.
        partition: the partition of ``stats`` to evaluate.
        shift: remove the mean offset from the energy errors.
    """
    s = statistics_errors(stats, coefficients, level, partition)
    return (s.energy_rmse_shifted if shift else s.energy_rmse), s.force_rmse


def direct_errors(
    coefficients,
    blocks: Sequence,
    energies: Sequence,
    forces: Sequence,
    stresses: Sequence | None = None,
    volumes: Sequence | None = None,
) -> ErrorSummary:
    """Errors computed configuration by configuration from the data (reference for tests).

    Args:
        coefficients: (p + 1,), per-atom reference energy first.
        blocks: list of (1 + 3 N_m, p), or (1 + 3 N_m + 6, p) with virial rows when
            ``stresses`` is given.
        energies: total energies (eV).
        forces: list of (N_m, 3).
        stresses: optional per-configuration stresses (Voigt or 3x3, eV/Angstrom^3, ASE's
            sign; None or NaN where not recorded). When given, every block must have its six
            virial rows.
        volumes: cell volumes (Angstrom^3), needed with ``stresses``.

    Returns:
        The :class:`ErrorSummary`.
    """
    check_nonempty(blocks, "blocks")
    if len(energies) != len(blocks) or len(forces) != len(blocks):
        raise ValueError(
            f"blocks, energies and forces must have the same length, got {len(blocks)}, "
            f"{len(energies)} and {len(forces)}"
        )
    virial = stresses is not None
    if virial and (volumes is None or len(stresses) != len(blocks) or len(volumes) != len(blocks)):
        raise ValueError(
            "stresses need volumes, one stress and one volume per block "
            f"(got {len(stresses)} stresses, {None if volumes is None else len(volumes)} volumes "
            f"for {len(blocks)} blocks)"
        )
    p = np.shape(blocks[0])[-1]
    c = _coefficients(coefficients, p)
    de = np.empty(len(blocks))
    sse_f = sse_s = 0.0
    nf = ns = 0
    for i, (b, e, f) in enumerate(zip(blocks, energies, forces, strict=True)):
        x, n = check_block(b, p, name=f"blocks[{i}]", virial=virial)
        e, f = check_labels(e, f, n, name=f"configuration {i}")
        de[i] = (n * c[0] + x[0] @ c[1:] - e) / n
        r = x[1 : 1 + 3 * n] @ c[1:] - f.reshape(-1)
        sse_f += float(r @ r)
        nf += r.size
        if virial:
            s = check_stress(stresses[i], name=f"configuration {i}")
            if s is not None:
                volume = check_volume(volumes[i], name=f"volumes[{i}]")
                keep = np.isfinite(s)
                r = (-(x[1 + 3 * n :] @ c[1:]) / volume - s)[keep]
                sse_s += float(r @ r)
                ns += r.size
    d = de - de.mean()
    return _summary(
        float(de @ de),
        float(de.sum()),
        de.size,
        sse_f,
        nf,
        float(d @ d) / de.size,
        sse_s=sse_s,
        ns=ns,
    )


def statistics_errors_batch(
    stats: SufficientStatistics, coefficients, levels: Sequence, partition: str = "test"
) -> list[dict]:
    """:func:`statistics_errors` of many coefficient vectors against several levels at once.

    Each factor is read once and multiplied by all coefficient vectors in one matrix product,
    so K vectors cost about as much as one matrix-matrix product instead of K matrix-vector
    products (the difference matters at 2Jmax 8 and 10, where one factor is 20-150 MB).

    Args:
        stats: the streamed statistics.
        coefficients: (p + 1, K), one coefficient vector per column (reference energy first).
        levels: the label levels to evaluate every vector against.
        partition: the partition of ``stats`` to evaluate.

    Returns:
        For every column a ``{level: ErrorSummary}``, equal to :func:`statistics_errors`.
    """
    p = stats.n_descriptors
    c = np.asarray(coefficients, dtype=float)
    if c.ndim != 2 or c.shape[0] != p + 1:
        raise ValueError(
            f"coefficients must have shape (p + 1, K) = ({p + 1}, K) (reference energy first), "
            f"got {c.shape}"
        )
    if not np.isfinite(c).all():
        raise ValueError("coefficients contain NaN or inf entries")
    levels = [stats._resolve_level(lv) for lv in levels]
    k = c.shape[1]
    acc = {lv: np.zeros((4, k)) for lv in levels}  # sse_e, sum_e, sse_f, sse_s
    counts = {lv: np.zeros(3, dtype=np.int64) for lv in levels}  # configs, force, stress rows
    weighted = {lv: np.zeros(3) for lv in levels}  # the same, each counted with its weight
    for lv in levels:
        stats._groups_for(partition, lv, require_level=True)  # the same errors as one by one
    for g in stats._groups_for(partition):
        present = [lv for lv in levels if lv in g.label_columns]
        if not present:
            continue
        re = g.energy.used()
        rf = g.force.used()
        pe = re[:, : p + 1] @ c
        pf = rf[:, : p + 1] @ c
        pm = g.energy_sum[: p + 1] @ c
        stress_products = {}
        for lv in present:
            j = g.label_columns[lv]
            a = acc[lv]
            res = pe - re[:, j][:, None]
            a[0] += np.einsum("ij,ij->j", res, res)
            a[1] += pm - g.energy_sum[j]
            res = pf - rf[:, j][:, None]
            a[2] += np.einsum("ij,ij->j", res, res)
            counts[lv] += (int(g.counts[0]), int(g.counts[2]), 0)
            weighted[lv] += (g.energy.weight_seen, g.force.weight_seen, 0.0)
            for part in g.stress_parts(lv):
                rs = part.used()
                ps = stress_products.get(id(part))
                if ps is None:
                    ps = stress_products[id(part)] = rs[:, : p + 1] @ c
                res = ps - rs[:, j][:, None]
                a[3] += np.einsum("ij,ij->j", res, res)
                counts[lv][2] += part.rows_seen
                weighted[lv][2] += part.weight_seen
    out = [{} for _ in range(k)]
    for lv in levels:
        a = acc[lv]
        m, nf, ns = (int(x) for x in counts[lv])
        wm, wf, ws = (float(x) for x in weighted[lv])
        for i in range(k):
            out[i][lv] = _summary(
                a[0, i], a[1, i], m, a[2, i], nf, sse_s=a[3, i], ns=ns, weighted=(wm, wf, ws)
            )
    return out
