"""The inputs of an in-memory sweep on a labelled dataset file: its labels (less a reference
potential, where one is given) and its qSNAP descriptor blocks, both by configuration id.

The findings, like-for-like, selector and pilot-validation reports all read the shipped and
external datasets this way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["dataset_labels", "dataset_blocks"]


def dataset_labels(dataset, levels: Iterable, ids: Sequence[str], reference=None) -> dict:
    """``{level: Labels}`` of ``dataset`` at ``levels``.

    Args:
        dataset: a :class:`~pyiron_appmlip.datasets.store.LabelledDataset`.
        levels: the level labels (repeats are dropped).
        ids: the configurations used (the pool and the test set); with a ``reference`` only
            their labels are kept, with the reference potential's energies, forces and
            stresses subtracted.
        reference: a :class:`~pyiron_appmlip.potential.reference.ReferencePotential`, or None.
    """
    levels = list(dict.fromkeys(levels))
    if reference is None:
        return {lv: dataset.labels(lv) for lv in levels}
    ids = list(ids)
    structures = {i: dataset.structure(i) for i in ids}
    return {lv: reference.subtract(dataset.labels(lv, ids), structures) for lv in levels}


def dataset_blocks(dataset, ids: Sequence[str], twojmax: int) -> dict:
    """``{configuration id: block}``: the qSNAP blocks of ``ids`` at ``twojmax`` (LAMMPS)."""
    from ..descriptors import compute_qsnap_blocks

    ids = list(ids)
    blocks = compute_qsnap_blocks([dataset.structure(i) for i in ids], twojmax)
    return dict(zip(ids, blocks, strict=True))
