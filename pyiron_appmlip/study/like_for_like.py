"""Moved to :mod:`pyiron_appmlip.reproduction.like_for_like`;
the old import path and command still work but warn."""

import warnings


def _new_place():
    from ..reproduction import like_for_like as new_place

    return new_place


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    value = getattr(_new_place(), name)
    warnings.warn(
        f"pyiron_appmlip.study.like_for_like.{name} has moved to "
        f"pyiron_appmlip.reproduction.like_for_like.{name}",
        DeprecationWarning,
        stacklevel=2,
    )
    return value


if __name__ == "__main__":
    import sys

    warnings.warn(
        "python -m pyiron_appmlip.study.like_for_like has moved to "
        "python -m pyiron_appmlip.reproduction.like_for_like",
        DeprecationWarning,
        stacklevel=1,
    )
    sys.exit(_new_place().main())
