"""DFT-vs-DFT differences between convergence levels (paper Table 3).

For the same configurations labelled at two levels, with per-atom energy differences
``d_m = (E_m - E_ref,m) / N_m``:

- unshifted: ``sqrt(mean(d^2))``
- bulk shifted: ``sqrt(mean((d - d_bulk)^2))``, ``d_bulk`` the difference of a named bulk
  reference configuration
- mean shifted: ``sqrt(mean((d - mean(d))^2))``
- forces: RMS over all force components of ``F - F_ref``.

Energies in meV/atom, forces in meV/Angstrom.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .units import MEV_PER_EV
from .validation import check_labels, check_nonempty

__all__ = ["LevelComparison", "compare_levels", "comparison_table"]


@dataclass(frozen=True)
class LevelComparison:
    """RMS differences of one level relative to a reference level.

    Attributes:
        energy_unshifted: meV/atom.
        energy_bulk_shifted: meV/atom; NaN when no bulk configuration was named.
        energy_mean_shifted: meV/atom.
        force: meV/Angstrom.
        energy_mean_difference: mean per-atom energy difference, meV/atom.
        n_configs: number of configurations compared.
        n_force_components: number of force components compared.
    """

    energy_unshifted: float
    energy_bulk_shifted: float
    energy_mean_shifted: float
    force: float
    energy_mean_difference: float
    n_configs: int
    n_force_components: int

    def as_dict(self) -> dict:
        return asdict(self)


def _bulk_position(n, bulk_index, bulk_id, config_ids) -> int | None:
    if bulk_index is not None and bulk_id is not None:
        raise ValueError("give either bulk_index or bulk_id, not both")
    if bulk_id is not None:
        if config_ids is None:
            raise ValueError("bulk_id needs config_ids (one id per configuration)")
        ids = list(config_ids)
        if len(ids) != n:
            raise ValueError(f"config_ids has {len(ids)} entries but there are {n} configurations")
        if bulk_id not in ids:
            raise ValueError(f"bulk_id {bulk_id!r} is not in config_ids")
        return ids.index(bulk_id)
    if bulk_index is not None:
        i = int(bulk_index)
        if i != bulk_index or not -n <= i < n:
            raise ValueError(f"bulk_index must be an integer in [0, {n}), got {bulk_index!r}")
        return i % n
    return None


def compare_levels(
    energies: Sequence,
    forces: Sequence,
    reference_energies: Sequence,
    reference_forces: Sequence,
    *,
    bulk_index: int | None = None,
    bulk_id=None,
    config_ids: Sequence | None = None,
) -> LevelComparison:
    """RMS differences of (energies, forces) relative to (reference_energies, reference_forces).

    The bulk reference is named by its position ``bulk_index`` or by ``bulk_id`` looked up in
    ``config_ids``.

    Args:
        energies: (M,) total energies in eV.
        forces: list of (N_m, 3) in eV/Angstrom (N_m is taken from these).
        reference_energies: (M,) total energies in eV.
        reference_forces: list of (N_m, 3) in eV/Angstrom.
        bulk_index: position of the bulk reference configuration.
        bulk_id: id of the bulk reference configuration, looked up in ``config_ids``.
        config_ids: one id per configuration (needed with ``bulk_id``).

    Returns:
        The :class:`LevelComparison`.
    """
    check_nonempty(energies, "energies")
    m = len(energies)
    for name, seq in (
        ("forces", forces),
        ("reference_energies", reference_energies),
        ("reference_forces", reference_forces),
    ):
        if len(seq) != m:
            raise ValueError(f"{name} has {len(seq)} entries but energies has {m}")
    d = np.empty(m)
    sq_f = 0.0
    n_f = 0
    for i in range(m):
        f = np.asarray(forces[i], dtype=float)
        if f.ndim != 2 or f.shape[1] != 3 or f.shape[0] < 1:
            raise ValueError(f"forces[{i}] must have shape (N, 3), got {f.shape}")
        n = f.shape[0]
        e, f = check_labels(energies[i], f, n, name=f"configuration {i}")
        e_ref, f_ref = check_labels(
            reference_energies[i], reference_forces[i], n, name=f"reference configuration {i}"
        )
        d[i] = (e - e_ref) / n
        diff = (f - f_ref).reshape(-1)
        sq_f += float(diff @ diff)
        n_f += diff.size
    bulk = _bulk_position(m, bulk_index, bulk_id, config_ids)
    mean = d.mean()
    bulk_rmsd = np.nan if bulk is None else float(np.sqrt(np.mean((d - d[bulk]) ** 2)))
    return LevelComparison(
        energy_unshifted=MEV_PER_EV * float(np.sqrt(np.mean(d**2))),
        energy_bulk_shifted=MEV_PER_EV * bulk_rmsd,
        energy_mean_shifted=MEV_PER_EV * float(np.sqrt(np.mean((d - mean) ** 2))),
        force=MEV_PER_EV * float(np.sqrt(sq_f / n_f)),
        energy_mean_difference=MEV_PER_EV * float(mean),
        n_configs=m,
        n_force_components=n_f,
    )


def comparison_table(
    labels: Mapping,
    reference_level,
    *,
    bulk_index: int | None = None,
    bulk_id=None,
    config_ids: Sequence | None = None,
) -> dict:
    """``{level: LevelComparison}`` of every level against ``reference_level`` (Table 3).

    Args:
        labels: ``{level: (energies (M,), forces [ (N_m, 3) ])}`` over the same configurations.
        reference_level: the level the others are compared with; a key of ``labels``.
        bulk_index: as in :func:`compare_levels`.
        bulk_id: as in :func:`compare_levels`.
        config_ids: as in :func:`compare_levels`.
    """
    if reference_level not in labels:
        raise ValueError(
            f"reference_level {reference_level!r} is not in labels; levels: {list(labels)!r}"
        )
    ref_e, ref_f = labels[reference_level]
    return {
        lv: compare_levels(
            e, f, ref_e, ref_f, bulk_index=bulk_index, bulk_id=bulk_id, config_ids=config_ids
        )
        for lv, (e, f) in labels.items()
        if lv != reference_level
    }
