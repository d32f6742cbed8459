"""AppmlipCandidates: seeded candidate structures (:mod:`pyiron_appmlip.structures.candidates`) as a pyiron job.

The job calls one generator of :mod:`pyiron_appmlip.structures.candidates` with the job's input, optionally
rescales the structures to another lattice constant, and stores them in HDF5 with their
configuration ids and per-structure metadata (``atoms.info``, e.g. ``generator`` and
``prototype``). The structures are exactly those of the direct function call, and the same input
always gives the same structures.

Example::

    cand = pr.create.job.AppmlipCandidates("candidates")
    cand.input.generator = "diverse"     # "rattled_strained", "vacancy", "slab", "random"
    cand.input.n_structures = 200
    cand.input.seed = 0
    cand.input.options = {"max_atoms": 16}
    cand.run()
    cand.get_table()                     # id, n_atoms, generator, min_distance, volume_per_atom

    lab = pr.create.job.AppmlipLabelling("level_2")
    lab.structures = cand.structures
"""

from __future__ import annotations

import inspect
import json

import numpy as np
import pandas as pd
from pyiron_base import PythonTemplateJob

from ..structures import candidates
from ..structures.conversion import as_strings, structures_from_arrays, structures_to_arrays
from ._common import LeftoverSafeSave, PlainOutput, plain, save_then_set_status

__all__ = ["AppmlipCandidates", "GENERATORS"]

#: ``input.generator`` -> function of :mod:`pyiron_appmlip.structures.candidates`.
GENERATORS = {
    "diverse": "diverse_candidates",
    "rattled_strained": "rattled_strained_cells",
    "vacancy": "vacancy_cells",
    "slab": "slab_cells",
    "random": "random_packings",
}
# Arguments set by the job's own input, not by ``input.options``.
_FIXED = ("n_structures", "element", "seed")
# HDF5 sorts dict keys; the key order of ``input.options`` (it matters for ``fractions``) is kept
# as JSON next to the input.
_OPTIONS_ORDER_NODE = "options_order"


def _generator_function(name):
    return getattr(candidates, GENERATORS[name])


def allowed_options(generator: str) -> list[str]:
    """Keyword arguments of ``generator`` that ``input.options`` may set."""
    parameters = inspect.signature(_generator_function(generator)).parameters
    return [p for p in parameters if p not in _FIXED]


def _is_int(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _is_length(value) -> bool:
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool | np.bool_)
        and bool(np.isfinite(value))
        and value > 0
    )


def _reorder(value, template):
    """``value`` with its dict keys in the order of ``template`` (same keys), recursively."""
    if isinstance(value, dict) and isinstance(template, dict) and set(value) == set(template):
        return {k: _reorder(value[k], template[k]) for k in template}
    return value


class AppmlipCandidates(PlainOutput, LeftoverSafeSave, PythonTemplateJob):
    """Seeded candidate structures from one generator of :mod:`pyiron_appmlip.structures.candidates`.

    Read the output with :attr:`structures`, :attr:`configuration_ids` and :meth:`get_table`.

    Input (``job.input``):
        generator: "diverse" (default), "rattled_strained", "vacancy", "slab" or "random"
            (:func:`~pyiron_appmlip.structures.candidates.diverse_candidates`,
            ``rattled_strained_cells``, ``vacancy_cells``, ``slab_cells``, ``random_packings``).
        n_structures: number of structures (positive integer).
        element: chemical symbol (default "Be").
        seed: non-negative integer; the same input always gives the same structures.
        options: dict of further keyword arguments of the generator (e.g. ``max_atoms``,
            ``min_distance``, ``fractions``); :func:`allowed_options` lists them.
        rescale_from: lattice constant (Angstrom) to rescale from; set both ``rescale_from``
            and ``rescale_to`` or neither. If set, the structures are rescaled by
            ``rescale_to / rescale_from``
            (:func:`~pyiron_appmlip.structures.candidates.rescale_structures`).
        rescale_to: lattice constant (Angstrom) to rescale to (see ``rescale_from``).

    Output (``job.output``):
        structures: arrays with configuration ids, see
            :func:`~pyiron_appmlip.structures.conversion.structures_to_arrays`.
        generator: per structure: its ``atoms.info["generator"]``, else ``input.generator``.
        info: per structure: ``atoms.info`` as JSON; arrays become lists, values that are not
            plain data are left out.
        min_distance: Angstrom, periodic images included.
        volume_per_atom: Angstrom^3.
    """

    def __init__(self, project, job_name):
        super().__init__(project, job_name)
        self.input.generator = "diverse"
        self.input.n_structures = 10
        self.input.element = "Be"
        self.input.seed = 0
        self.input.options = {}
        self.input.rescale_from = None
        self.input.rescale_to = None

    # -- input --------------------------------------------------------------------------------
    def _options(self) -> dict:
        return plain(self.input.options) if self.input.options is not None else {}

    def _validate_input(self):
        generator = self.input.generator
        if not isinstance(generator, str) or generator not in GENERATORS:
            raise ValueError(f"generator must be one of {list(GENERATORS)}, got {generator!r}")
        n = self.input.n_structures
        if not _is_int(n) or n < 1:
            raise ValueError(f"n_structures must be a positive integer, got {n!r}")
        from ase.data import chemical_symbols

        element = self.input.element
        if not isinstance(element, str) or element not in chemical_symbols[1:]:
            raise ValueError(
                f"element must be a chemical symbol such as 'Be' or 'W', got {element!r}"
            )
        seed = self.input.seed
        if not _is_int(seed) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        options = self._options()
        if not isinstance(options, dict):
            raise ValueError(f"options must be a dict of generator arguments, got {options!r}")
        allowed = allowed_options(generator)
        unknown = [k for k in options if k not in allowed]
        if unknown:
            raise ValueError(
                f"options has unknown keys {unknown} for generator {generator!r}; "
                f"allowed: {allowed} (n_structures, element and seed are set by the job's input)"
            )
        try:
            json.dumps(options)
        except TypeError as error:
            raise ValueError(
                f"options must hold plain values (numbers, strings, lists, dicts): {error}"
            ) from None
        r_from, r_to = self.input.rescale_from, self.input.rescale_to
        if (r_from is None) != (r_to is None):
            raise ValueError(
                "rescale_from and rescale_to must be set together (or both left None), got "
                f"rescale_from={r_from!r}, rescale_to={r_to!r}"
            )
        if r_from is not None and not (_is_length(r_from) and _is_length(r_to)):
            raise ValueError(
                "rescale_from and rescale_to must be positive lattice constants in Angstrom, "
                f"got {r_from!r}, {r_to!r}"
            )

    def validate_ready_to_run(self):
        self._validate_input()
        super().validate_ready_to_run()

    def generate(self) -> list:
        """Call the generator (and the rescaling) with this job's input; nothing is stored."""
        self._validate_input()
        function = _generator_function(self.input.generator)
        structures = function(
            int(self.input.n_structures),
            element=str(self.input.element),
            seed=int(self.input.seed),
            **self._options(),
        )
        if self.input.rescale_from is not None:
            structures = candidates.rescale_structures(
                structures, float(self.input.rescale_from), float(self.input.rescale_to)
            )
        return structures

    # -- run ----------------------------------------------------------------------------------
    def run_static(self):
        self.status.running = True
        structures = self.generate()
        infos = [{k: plain(v) for k, v in a.info.items()} for a in structures]
        infos = [{k: v for k, v in info.items() if _json_ok(v)} for info in infos]
        default = str(self.input.generator)
        self.output.structures = structures_to_arrays(structures)
        self.output.generator = [str(info.get("generator", default)) for info in infos]
        self.output.info = [json.dumps(info) for info in infos]
        self.output.min_distance = np.array(
            [candidates.minimum_distance(a) for a in structures], dtype=float
        )
        self.output.volume_per_atom = np.array(
            [a.get_volume() / len(a) for a in structures], dtype=float
        )
        save_then_set_status(self)

    # -- HDF5: keep the key order of input.options --------------------------------------------
    def to_hdf(self, hdf=None, group_name=None):
        super().to_hdf(hdf=hdf, group_name=group_name)
        try:
            order = json.dumps(self._options())
        except TypeError:  # not plain values: rejected by _validate_input before a run
            return
        self.project_hdf5[_OPTIONS_ORDER_NODE] = order

    def from_hdf(self, hdf=None, group_name=None):
        super().from_hdf(hdf=hdf, group_name=group_name)
        if _OPTIONS_ORDER_NODE in self.project_hdf5.list_nodes() and self.input.options:
            template = json.loads(self.project_hdf5[_OPTIONS_ORDER_NODE])
            self.input.options = _reorder(plain(self.input.options), template)

    # -- output -------------------------------------------------------------------------------
    def _output_arrays(self) -> dict | None:
        data = self.output.get("structures")
        if data is None:
            return None
        return {k: np.asarray(data[k]) for k in data.keys()}

    @property
    def structures(self) -> list:
        """The generated structures as ASE Atoms with their ``info`` (empty before the run)."""
        arrays = self._output_arrays()
        if arrays is None:
            return []
        structures = structures_from_arrays(arrays)
        for atoms, info in zip(structures, as_strings(self.output.info), strict=True):
            atoms.info.update(json.loads(info))
        return structures

    @property
    def configuration_ids(self) -> list[str]:
        """Configuration ids of the structures, in order (empty before the run)."""
        arrays = self._output_arrays()
        return [] if arrays is None else as_strings(arrays["ids"])

    def get_table(self) -> pd.DataFrame:
        """One row per structure: id, n_atoms, generator, min_distance, volume_per_atom."""
        arrays = self._output_arrays()
        if arrays is None:
            raise ValueError(f"job {self.job_name!r} has no output yet: run it first")
        return pd.DataFrame(
            {
                "id": as_strings(arrays["ids"]),
                "n_atoms": np.asarray(arrays["n_atoms"], dtype=np.int64),
                "generator": as_strings(self.output.generator),
                "min_distance": np.asarray(self.output.min_distance, dtype=float),
                "volume_per_atom": np.asarray(self.output.volume_per_atom, dtype=float),
            }
        )


def _json_ok(value) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
