"""Job inputs checked when they are set.

``job.input`` of the package's jobs is a :class:`CheckedInput`: a pyiron ``DataContainer`` with a
table of checks, one per input name. ``job.input.test_fraction = 1.5`` then raises a
``ValueError`` naming the input and its allowed values at once, instead of an aborted job in the
middle of ``run()``. A check may also normalise what it stores (e.g. the weights ``[150, 12]``
as the pairs ``[[150.0, 1.0], [12.0, 1.0]]``). The run keeps its own checks: a value written to
the job's HDF5 file by other means is checked there.

The container is written to HDF5 as a plain ``DataContainer`` (files look as before and any
version reads them); loading a job (``pr.load``, ``job.copy()``) fills the job's own checked
container, so a loaded job's input is checked as well. Only values assigned to an input name are
checked (``job.input.weights = ...``); changes inside a nested value (``job.input.weights[0] =
...``) are seen by the run's checks.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping

import numpy as np
from pyiron_base import DataContainer

from ._common import plain

__all__ = [
    "CheckedInput",
    "CheckedInputJob",
    "check_bool",
    "check_integer",
    "check_number",
    "check_choice",
    "check_storable_executor",
]


class CheckedInput(DataContainer):
    """A ``DataContainer`` that runs ``checks[name](value)`` whenever ``name`` is set and stores
    the value the check returns (a check raises a ``ValueError`` for a bad value)."""

    def __new__(cls, *args, **kwargs):
        instance = super().__new__(cls, *args, **kwargs)
        object.__setattr__(instance, "_checks", {})
        object.__setattr__(instance, "_checking", True)
        return instance

    def set_checks(self, checks: Mapping[str, Callable]) -> None:
        """Use ``checks`` (input name -> check) from now on."""
        object.__setattr__(self, "_checks", dict(checks))

    @property
    def checks(self) -> dict:
        """The checks, input name -> function of the value."""
        return dict(self._checks)

    @contextlib.contextmanager
    def unchecked(self):
        """Set values without their checks within a ``with`` block (loading stored input)."""
        before = self._checking
        object.__setattr__(self, "_checking", False)
        try:
            yield self
        finally:
            object.__setattr__(self, "_checking", before)

    def __setitem__(self, key, val):
        if self._checking and isinstance(key, str) and key in self._checks:
            val = self._checks[key](val)
        super().__setitem__(key, val)

    @classmethod
    def _wrap_val(cls, val, blacklist):
        # nested groups are plain containers: the checks belong to the input names
        return DataContainer._wrap_val(val, blacklist)

    def create_group(self, name):
        if name not in self:
            self[name] = DataContainer()
        value = self[name]
        if not isinstance(value, DataContainer):
            raise ValueError(f"{name!r} already exists in the input and is not a group")
        return value

    def _type_to_dict(self):
        # stored as a plain DataContainer: the checks are the job's, not the file's
        type_dict = super()._type_to_dict()
        for key in ("NAME", "OBJECT"):
            if key in type_dict:
                type_dict[key] = DataContainer.__name__
        if "TYPE" in type_dict:
            type_dict["TYPE"] = str(DataContainer)
        return type_dict


class CheckedInputJob:
    """Mixin of a pyiron template job: ``job.input`` is a :class:`CheckedInput` with the checks
    of :meth:`_input_checks`, installed in ``__init__`` and kept when the job is loaded."""

    def __init__(self, project, job_name):
        super().__init__(project, job_name)
        checked = CheckedInput()
        checked.set_checks(self._input_checks())
        with checked.unchecked():
            for key, value in self.storage["input"].items():
                checked[key] = value
        self.storage["input"] = checked
        self._checked_input = checked

    def _input_checks(self) -> dict:
        """Input name -> check; each takes a value and returns the value to store."""
        return {}

    def _from_dict(self, obj_dict, version=None):
        with self._checked_input.unchecked():
            super()._from_dict(obj_dict, version=version)

    def from_hdf(self, hdf=None, group_name=None):
        checked = self._checked_input
        with checked.unchecked():
            super().from_hdf(hdf=hdf, group_name=group_name)
            loaded = self.storage["input"]
            if loaded is not checked:  # pyiron read a new container: refill the checked one
                with checked.unlocked():
                    checked.clear()
                    for key, value in loaded.items():
                        checked[key] = value
                if loaded.read_only:
                    checked.lock()
                self.storage["input"] = checked


# ------------------------------------------------------------------------------------ checks
def _is_number(value) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def check_integer(name: str, minimum: int | None = None, meaning: str = "") -> Callable:
    """A check: ``value`` must be an integer (``numpy`` integers too) of at least ``minimum``."""
    allowed = "an integer" + ("" if minimum is None else f" >= {minimum}") + meaning

    def check(value):
        if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
            raise ValueError(f"{name} must be {allowed}, got {value!r}")
        if minimum is not None and value < minimum:
            raise ValueError(f"{name} must be {allowed}, got {value!r}")
        return int(value)

    return check


def check_number(
    name: str, minimum: float, allow_none: bool = False, unit: str = "", meaning: str = ""
) -> Callable:
    """A check: ``value`` must be a finite number ``>= minimum`` (or None if allowed)."""
    allowed = f"a finite number >= {minimum:g}" + (f" {unit}" if unit else "") + meaning
    allowed += " or None" if allow_none else ""

    def check(value):
        if value is None and allow_none:
            return None
        if not _is_number(value) or not math.isfinite(value) or value < minimum:
            raise ValueError(f"{name} must be {allowed}, got {value!r}")
        return float(value)

    return check


def check_bool(name: str, meaning: str = "") -> Callable:
    """A check: ``value`` must be True or False (0 and 1 too: HDF5 may store a flag so)."""

    def check(value):
        ok = isinstance(value, bool | np.bool_) or (
            isinstance(value, int | np.integer) and value in (0, 1)
        )
        if not ok:
            raise ValueError(f"{name} must be True or False{meaning}, got {value!r}")
        return bool(value)

    return check


def check_choice(name: str, allowed) -> Callable:
    """A check: ``value`` must be one of ``allowed``."""
    allowed = tuple(allowed)

    def check(value):
        if not isinstance(value, str) or value not in allowed:
            raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
        return value

    return check


def check_storable_executor(value):
    """A check of ``input.executor``: a storable executor spec (see
    :mod:`pyiron_appmlip.executors`); a running executor belongs in ``job.executor``."""
    from concurrent.futures import Executor

    from ..executors import check_executor

    if isinstance(value, Executor):
        raise ValueError(
            "input.executor must be a storable executor spec (None, 'local', 'serial', a number "
            "of local workers or a dict {'kind': ...}); assign a running Executor to "
            "job.executor instead"
        )
    value = plain(value)
    check_executor(value)
    return value
