"""DFT engines: one single-point calculation each, returning a :class:`SinglePointResult`.

No pyiron job logic lives here (see :mod:`pyiron_appmlip.jobs.labelling` for the jobs). Units and
conventions of the result record are documented in :mod:`pyiron_appmlip.dft.engines.base`.
"""

import numpy as np

from .base import SinglePointResult, failed_result
from .gpaw import MissingSetupError, check_setups, run_gpaw

__all__ = [
    "ENGINES",
    "SinglePointResult",
    "failed_result",
    "MissingSetupError",
    "check_setups",
    "check_engine",
    "allowed_engine_options",
    "check_engine_options",
    "run_gpaw",
]

#: Engines a labelling job accepts.
ENGINES = ("gpaw", "vasp")


def check_engine(engine) -> str:
    """Return ``engine`` lower-cased, or raise a ValueError naming the allowed engines."""
    if not isinstance(engine, str) or engine.lower() not in ENGINES:
        raise ValueError(f"engine must be one of {list(ENGINES)}, got {engine!r}")
    return engine.lower()


#: Options whose values must be positive integers.
_POSITIVE_INTEGERS = ("maxiter", "cores", "blas_threads")


def allowed_engine_options(engine) -> list[str]:
    """Names accepted in a job's ``engine_options`` for ``engine``, sorted.

    GPAW: :func:`~pyiron_appmlip.dft.engines.gpaw.gpaw_option_names` (the keywords of
    ``gpaw.calculator.GPAW``); VASP: :func:`~pyiron_appmlip.dft.engines.vasp.vasp_option_names`.

    Raises:
        ValueError: unknown engine.
    """
    engine = check_engine(engine)
    if engine == "gpaw":
        from .gpaw import gpaw_option_names

        return gpaw_option_names()
    from .vasp import vasp_option_names

    return vasp_option_names()


def check_engine_options(engine, options, name: str = "engine_options") -> dict:
    """Return ``options`` as a plain dict after checking them against ``engine``.

    Args:
        engine: ``"gpaw"`` or ``"vasp"``.
        options: dict of engine options (None: no options).
        name: how the options are named in error messages (e.g. ``"engine_options"`` or
            ``"engine_options_by_id['<id>']"``).

    Raises:
        ValueError: ``options`` is not a dict, has keys the engine does not accept (the message
            names them and the allowed ones, see :func:`allowed_engine_options`), or ``maxiter``,
            ``cores`` or ``blas_threads`` is not a positive integer.
    """
    if options is None:
        return {}
    if hasattr(options, "to_builtin"):
        options = options.to_builtin()
    if not isinstance(options, dict):
        raise ValueError(f"{name} must be a dict of engine keyword arguments, got {options!r}")
    allowed = allowed_engine_options(engine)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        what = f"option {unknown[0]!r}" if len(unknown) == 1 else f"options {unknown}"
        raise ValueError(f"{name}: unknown {check_engine(engine)} {what}; allowed: {allowed}")
    for key in _POSITIVE_INTEGERS:
        if key in options and options[key] is not None:
            value = options[key]
            integral = isinstance(value, int | np.integer) and not isinstance(value, bool)
            if not integral or value < 1:
                raise ValueError(f"{name}[{key!r}] must be a positive integer, got {value!r}")
    return dict(options)
