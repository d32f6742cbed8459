"""Structures: conversion between ASE/pyiron structures and arrays, configuration ids, and seeded
candidate generators.

``conversion``: ``to_ase``, array round trips for HDF5 storage, :func:`configuration_id` (the
stable key that joins descriptors and labels). ``checks``: the rule every set of structures
follows (overlapping atoms refused, duplicate configurations kept once). ``candidates``:
rattled, strained and sheared crystals, vacancies, slabs, random dense packings and the
distance filter.
"""

from .conversion import (
    as_strings,
    configuration_id,
    structures_from_arrays,
    structures_to_arrays,
    to_ase,
    to_ase_list,
)

__all__ = [
    "as_strings",
    "configuration_id",
    "structures_from_arrays",
    "structures_to_arrays",
    "to_ase",
    "to_ase_list",
]
