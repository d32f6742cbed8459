"""Moved to :mod:`pyiron_appmlip.reproduction.findings`;
the old import path and command still work but warn."""

import warnings


def _new_place():
    from ..reproduction import findings as new_place

    return new_place


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    value = getattr(_new_place(), name)
    warnings.warn(
        f"pyiron_appmlip.study.findings.{name} has moved to "
        f"pyiron_appmlip.reproduction.findings.{name}",
        DeprecationWarning,
        stacklevel=2,
    )
    return value


if __name__ == "__main__":
    import sys

    warnings.warn(
        "python -m pyiron_appmlip.study.findings has moved to "
        "python -m pyiron_appmlip.reproduction.findings",
        DeprecationWarning,
        stacklevel=1,
    )
    sys.exit(_new_place().main())
