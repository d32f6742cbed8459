"""Differences between the DFT levels of a labelled dataset (the paper's Table 3 for any data)."""

from __future__ import annotations

__all__ = ["compare_dataset_levels"]


def compare_dataset_levels(dataset, truth_level=None, levels=None, bulk_id=None):
    """How far each DFT level of a labelled dataset is from a reference level.

    Each level is compared on the configurations labelled at both it and ``truth_level`` (for
    a reference level computed on a test subset only, that subset), with
    :func:`~pyiron_appmlip.core.comparison.compare_levels`: energies per atom unshifted,
    shifted by the bulk reference's difference and shifted by the mean difference, and force
    components.

    Args:
        dataset: A :class:`~pyiron_appmlip.datasets.store.LabelledDataset`.
        truth_level: Reference level (default: the highest).
        levels: Levels to compare (default: all others).
        bulk_id: Configuration id of the bulk reference (default: ``dataset.metadata["bulk_id"]``;
            without one the bulk-shifted column is NaN).

    Returns:
        A DataFrame with ``level``, ``truth_level``, ``n_configs``, ``energy_unshifted``,
        ``energy_bulk_shifted``, ``energy_mean_shifted`` (meV/atom) and ``force``
        (meV/Angstrom), one row per level.

    Raises:
        ValueError: If no configuration is labelled at both a level and the truth level.
    """
    import pandas as pd

    from ..core.comparison import compare_levels

    names = dataset.level_names
    truth = str(names[-1] if truth_level is None else truth_level)
    levels = [lv for lv in names if lv != truth] if levels is None else [str(v) for v in levels]
    bulk_id = dataset.metadata.get("bulk_id") if bulk_id is None else bulk_id
    ref = dataset.level(truth)
    rows = []
    for lv in levels:
        data = dataset.level(lv)
        ids = dataset.common_ids([lv, truth])
        if not ids:
            raise ValueError(f"no configuration is labelled at both level {lv} and {truth}")
        a = [data.index(i) for i in ids]
        b = [ref.index(i) for i in ids]
        cmp = compare_levels(
            data.energy[a],
            [data.forces[k] for k in a],
            ref.energy[b],
            [ref.forces[k] for k in b],
            bulk_id=bulk_id if bulk_id in ids else None,
            config_ids=ids,
        )
        rows.append({"level": lv, "truth_level": truth, **cmp.as_dict()})
    return pd.DataFrame(rows)
