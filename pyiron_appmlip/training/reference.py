"""Moved to :mod:`pyiron_appmlip.potential.reference`; the old import path still works but warns."""

import warnings


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    from ..potential import reference as new_place

    value = getattr(new_place, name)
    warnings.warn(
        f"pyiron_appmlip.training.reference.{name} has moved to pyiron_appmlip.potential.reference.{name}",
        DeprecationWarning,
        stacklevel=2,
    )
    return value
