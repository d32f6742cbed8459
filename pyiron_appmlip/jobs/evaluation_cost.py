"""AppmlipEvaluationCost: MLIP evaluation cost (LAMMPS MD throughput) per 2Jmax as a pyiron job.

The cost of ``pair_style snap`` per step depends on 2Jmax, the cutoff and the neighbour density,
not on the coefficient values, so one measurement per 2Jmax serves every model of a sweep
(``AppmlipSweep.input.atom_steps_per_second``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyiron_base import PythonTemplateJob

from ._common import (
    LeftoverSafeSave,
    PlainOutput,
    plain,
    save_then_set_status,
    table_from_hdf_dict,
    table_to_hdf_dict,
)

__all__ = ["AppmlipEvaluationCost"]

#: Columns of :meth:`AppmlipEvaluationCost.get_table`, in order.
_COLUMNS = ("twojmax", "n_coefficients", "n_atoms", "n_steps", "atom_steps_per_second")


class AppmlipEvaluationCost(PlainOutput, LeftoverSafeSave, PythonTemplateJob):
    """Measure atom-steps per second of LAMMPS MD with qSNAP potentials.

    Input (``job.input``):
        twojmax: 2Jmax values (list).
        repeat: hcp Be supercell, default (4, 4, 4) = 128 atoms.
        n_steps: MD steps per timing.
        ensemble: "nve" | "nvt".
        repetitions: number of timings; the best of several timings is kept.

    Output: :meth:`get_table` with ``twojmax``, ``n_coefficients``, ``n_atoms``,
    ``atom_steps_per_second``; :meth:`atom_steps_per_second` as a {2Jmax: value} dict.
    """

    def __init__(self, project, job_name):
        super().__init__(project, job_name)
        self.input.twojmax = [4, 6, 8, 10]
        self.input.repeat = [4, 4, 4]
        self.input.n_steps = 200
        self.input.ensemble = "nve"
        self.input.repetitions = 1

    def _validate_input(self):
        from ..descriptors.settings import QSnapSettings

        values = list(np.atleast_1d(self.input.twojmax))
        if not values:
            raise ValueError("twojmax must list at least one even positive integer")
        for t in values:
            QSnapSettings(int(t)) if isinstance(t, int | np.integer) else QSnapSettings(t)
        if self.input.ensemble not in ("nve", "nvt"):
            raise ValueError(f"ensemble must be 'nve' or 'nvt', got {self.input.ensemble!r}")
        if int(self.input.n_steps) < 1 or int(self.input.repetitions) < 1:
            raise ValueError("n_steps and repetitions must be positive integers")
        repeat = list(np.atleast_1d(self.input.repeat))
        if len(repeat) != 3 or not all(
            isinstance(r, int | np.integer) and not isinstance(r, bool) and r >= 1 for r in repeat
        ):
            raise ValueError(
                "repeat must be three positive integers (the supercell of the hcp Be cell along "
                f"a, b, c), got {plain(self.input.repeat)!r}"
            )

    def validate_ready_to_run(self):
        self._validate_input()
        super().validate_ready_to_run()

    def run_static(self):
        from ..potential.evaluation_cost import measure_evaluation_cost

        self.status.running = True
        self._validate_input()
        rows = []
        for t in np.atleast_1d(self.input.twojmax):
            best = None
            for _ in range(int(self.input.repetitions)):
                res = measure_evaluation_cost(
                    twojmax=int(t),
                    repeat=tuple(int(r) for r in self.input.repeat),
                    n_steps=int(self.input.n_steps),
                    ensemble=str(self.input.ensemble),
                )
                if best is None or res["atom_steps_per_second"] > best["atom_steps_per_second"]:
                    best = res
            rows.append(
                {  # the keys of _COLUMNS, in order
                    "twojmax": int(t),
                    "n_coefficients": int(best["n_coefficients"]),
                    "n_atoms": int(best["n_atoms"]),
                    "n_steps": int(best["n_steps"]),
                    "atom_steps_per_second": float(best["atom_steps_per_second"]),
                }
            )
        self.output.table = table_to_hdf_dict(pd.DataFrame(rows))
        save_then_set_status(self)

    def get_table(self) -> pd.DataFrame:
        """One row per 2Jmax: ``twojmax``, ``n_coefficients``, ``n_atoms``, ``n_steps``,
        ``atom_steps_per_second`` (LAMMPS MD throughput, atom-steps per second)."""
        return table_from_hdf_dict(self.output.table, columns=_COLUMNS)

    def atom_steps_per_second(self) -> dict:
        t = self.get_table()
        return dict(
            zip(t["twojmax"].astype(int), t["atom_steps_per_second"].astype(float), strict=True)
        )
