"""Moved to :mod:`pyiron_appmlip.reproduction.findings_measure`;
the old import path still works but warns."""

import warnings


def _new_place():
    from ..reproduction import findings_measure as new_place

    return new_place


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    value = getattr(_new_place(), name)
    warnings.warn(
        f"pyiron_appmlip.study.findings_measure.{name} has moved to "
        f"pyiron_appmlip.reproduction.findings_measure.{name}",
        DeprecationWarning,
        stacklevel=2,
    )
    return value
