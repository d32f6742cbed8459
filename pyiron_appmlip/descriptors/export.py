"""Moved to :mod:`pyiron_appmlip.potential.export`; the old import path still works but warns."""

import warnings


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    from ..potential import export as new_place

    value = getattr(new_place, name)
    warnings.warn(
        f"pyiron_appmlip.descriptors.export.{name} has moved to pyiron_appmlip.potential.export.{name}",
        DeprecationWarning,
        stacklevel=2,
    )
    return value
