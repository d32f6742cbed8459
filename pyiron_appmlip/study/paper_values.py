"""Moved to :mod:`pyiron_appmlip.reproduction.paper_values`;
the old import path still works but warns."""

import warnings


def _new_place():
    from ..reproduction import paper_values as new_place

    return new_place


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    value = getattr(_new_place(), name)
    warnings.warn(
        f"pyiron_appmlip.study.paper_values.{name} has moved to "
        f"pyiron_appmlip.reproduction.paper_values.{name}",
        DeprecationWarning,
        stacklevel=2,
    )
    return value
