"""Moved to :mod:`pyiron_appmlip.potential.evaluation_cost`; the old import path still works but warns."""

import warnings


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    from ..potential import evaluation_cost as new_place

    value = getattr(new_place, name)
    warnings.warn(
        f"pyiron_appmlip.descriptors.evaluation_cost.{name} has moved to pyiron_appmlip.potential.evaluation_cost.{name}",
        DeprecationWarning,
        stacklevel=2,
    )
    return value
