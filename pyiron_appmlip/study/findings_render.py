"""Moved to :mod:`pyiron_appmlip.reproduction.findings_render`;
the old import path still works but warns."""

import warnings


def _new_place():
    from ..reproduction import findings_render as new_place

    return new_place


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    value = getattr(_new_place(), name)
    warnings.warn(
        f"pyiron_appmlip.study.findings_render.{name} has moved to "
        f"pyiron_appmlip.reproduction.findings_render.{name}",
        DeprecationWarning,
        stacklevel=2,
    )
    return value
