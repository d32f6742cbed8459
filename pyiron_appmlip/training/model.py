"""Moved to :mod:`pyiron_appmlip.potential.model`; the old import path still works but warns."""

import warnings


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    from ..potential import model as new_place

    value = getattr(new_place, name)
    warnings.warn(
        f"pyiron_appmlip.training.model.{name} has moved to pyiron_appmlip.potential.model.{name}",
        DeprecationWarning,
        stacklevel=2,
    )
    return value
