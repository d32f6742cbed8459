"""Moved to :mod:`pyiron_appmlip.reproduction.be_dataset`;
the old import path and command still work but warn."""

import warnings


def _new_place():
    from ..reproduction import be_dataset as new_place

    return new_place


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    value = getattr(_new_place(), name)
    warnings.warn(
        f"pyiron_appmlip.datasets.be.{name} has moved to "
        f"pyiron_appmlip.reproduction.be_dataset.{name}",
        DeprecationWarning,
        stacklevel=2,
    )
    return value


if __name__ == "__main__":
    import sys

    warnings.warn(
        "python -m pyiron_appmlip.datasets.be has moved to "
        "python -m pyiron_appmlip.reproduction.be_dataset",
        DeprecationWarning,
        stacklevel=1,
    )
    sys.exit(_new_place().main())
