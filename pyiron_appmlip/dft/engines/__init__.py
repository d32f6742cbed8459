"""DFT engines: one single-point calculation each, returning a :class:`SinglePointResult`.

No pyiron job logic lives here (see :mod:`pyiron_appmlip.jobs.labelling` for the jobs). Units and
conventions of the result record are documented in :mod:`pyiron_appmlip.dft.engines.base`.
"""

from .base import SinglePointResult, failed_result
from .gpaw import MissingSetupError, check_setups, run_gpaw

__all__ = [
    "ENGINES",
    "SinglePointResult",
    "failed_result",
    "MissingSetupError",
    "check_setups",
    "check_engine",
    "run_gpaw",
]

#: Engines a labelling job accepts.
ENGINES = ("gpaw", "vasp")


def check_engine(engine) -> str:
    """Return ``engine`` lower-cased, or raise a ValueError naming the allowed engines."""
    if not isinstance(engine, str) or engine.lower() not in ENGINES:
        raise ValueError(f"engine must be one of {list(ENGINES)}, got {engine!r}")
    return engine.lower()
