"""Import labelled data written by other codes (FitSNAP JSON, extxyz, ASE, TrainingContainer).

The formats live in :mod:`pyiron_appmlip.datasets.formats`, one module per format with a
registry (its docstring describes each format and how to add one); this module keeps the names
scripts import from here::

    from pyiron_appmlip.datasets.importers import read_dataset

    ds = read_dataset("WBe_PRB2019/JSON", duplicates="drop")
"""

from __future__ import annotations

from .formats import (
    FORMATS,
    UNITS,
    file_sha256,
    group_summary,
    guess_format,
    manifest_sha256,
    read_dataset,
)

__all__ = [
    "FORMATS",
    "UNITS",
    "read_dataset",
    "guess_format",
    "group_summary",
    "manifest_sha256",
    "file_sha256",
]
