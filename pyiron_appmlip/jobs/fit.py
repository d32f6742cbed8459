"""AppmlipFit: the energy/force-weighted fit of the whole training pool as a pyiron job.

The simplest case of :class:`~pyiron_appmlip.jobs.sweep.AppmlipSweep`: one descriptors job (one
2Jmax), the sampler ``"all"`` (every training configuration) and every training level x weight
pair. It runs the same code as the sweep and gives the same table columns
(:data:`pyiron_appmlip.training.table.COLUMNS`), so recommendations, Pareto fronts and plots take
either table, and :meth:`get_model` hands out any row's model with its descriptor settings.
"""

from __future__ import annotations

from ..training.labels import parse_weights
from .sweep import AppmlipSweep

__all__ = ["AppmlipFit"]


class AppmlipFit(AppmlipSweep):
    """Energy/force-weighted qSNAP fit (paper eq. 1-3) for several levels and weights.

    Input (``job.input``): ``descriptors_jobs`` (set with :meth:`set_descriptors`),
    ``labelling_jobs`` (level -> job id, set with :meth:`add_labels`), ``weights`` (set with
    :attr:`weights` as numbers w_E/w_F or pairs), ``train_levels`` (default: all),
    ``truth_level`` (default: the highest), ``test_fraction`` and ``split_seed`` (the seeded
    split by configuration), ``ridge``, and as for the sweep ``stress_weight``,
    ``group_weights`` and ``level_costs`` (the DFT cost of levels without recorded times).

    Output: as :class:`~pyiron_appmlip.jobs.sweep.AppmlipSweep` (:meth:`get_table`,
    :meth:`get_model`, :meth:`get_coefficients`, :meth:`get_group_errors`, ``train_ids``,
    ``test_ids``, the descriptor settings and the provenance), with ``sampler == "all"`` in
    every row.
    """

    def __init__(self, project, job_name):
        super().__init__(project, job_name)
        self.input.samplers = ["all"]
        self.input.subset_sizes = []

    def set_descriptors(self, job):
        """Use the descriptor blocks of ``job`` (object, id or name); replaces any earlier one."""
        self.input.descriptors_jobs = {}
        self.add_descriptors(job)

    @property
    def weights(self):
        """The (w_E, w_F) pairs of the fits."""
        return [tuple(w) for w in self.input.weights]

    @weights.setter
    def weights(self, value):
        self.input.weights = [list(w) for w in parse_weights(value)]

    def _validate_input(self):
        if list(self.input.samplers) != ["all"]:
            raise ValueError(
                f"AppmlipFit fits the whole training pool (samplers ['all']), got samplers "
                f"{list(self.input.samplers)}; use AppmlipSweep for subsets"
            )
        if len(self.input.descriptors_jobs) > 1:
            raise ValueError(
                "AppmlipFit takes one descriptors job (one 2Jmax), got "
                f"{sorted(self.input.descriptors_jobs)}; use AppmlipSweep for several"
            )
        super()._validate_input()
