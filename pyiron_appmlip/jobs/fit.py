"""AppmlipFit: the energy/force-weighted fit of the whole training pool as a pyiron job.

The simplest case of :class:`~pyiron_appmlip.jobs.sweep.AppmlipSweep`: one descriptors job (one
2Jmax), the sampler ``"all"`` (every training configuration) and every training level x weight
pair. It runs the same code as the sweep and gives the same table columns
(:data:`pyiron_appmlip.training.table.COLUMNS`), so recommendations, Pareto fronts and plots take
either table, and :meth:`get_model` hands out any row's model with its descriptor settings.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..structures.conversion import as_strings
from ..training.labels import parse_weights
from ._fit_input import fit_input_checks
from .sweep import AppmlipSweep

__all__ = ["AppmlipFit"]


class AppmlipFit(AppmlipSweep):
    """Energy/force-weighted qSNAP fit (paper eq. 1-3) for several levels and weights.

    Every training configuration is fitted (the sampler ``"all"``) for each training level x
    weight pair; the errors are measured on the held-out test configurations against the
    training level and against the truth level. Every input below is checked when it is set
    (``job.input.test_fraction = 1.5`` raises a ``ValueError`` naming the input and its allowed
    values) and again when the job runs.

    Input (``job.input``; default in brackets):
        descriptors_jobs: the one descriptors job (one 2Jmax), set with
            :meth:`set_descriptors` [``{}``].
        labelling_jobs: ``{level label: job id}``, set with :meth:`add_labels` (a labelling job
            per level, or a dataset job once per level used) [``{}``]. The run checks that each
            job provides the level it is filed under.
        weights: the energy/force weights, set with :attr:`weights`: numbers w_E/w_F (w_F = 1)
            or ``(w_E, w_F)`` pairs, positive; one fit per pair
            [``[[150.0, 1.0], [12.0, 1.0]]``]. w_E multiplies per-atom energy residuals
            (eV/atom), w_F force-component residuals (eV/Angstrom); without stresses and ridge
            only their ratio matters.
        train_levels: the levels to train on (numbers 1-6, level names or ConvergenceLevels,
            stored as their labels) [None: every level with a labelling job].
        truth_level: the reference level of the ``*_test_truth`` errors [None: the highest
            level with a labelling job].
        test_fraction: fraction of the configurations held out for testing, ``0 <= f < 1``
            [0.25]. Of n configurations ``round(f * n)`` are held out, at least one and at most
            n - 1; a positive fraction that rounds to none still holds out one, with a warning.
            ``0`` trains on every configuration, as FitSNAP does: the table then holds training
            errors only (``*_train``), its test-error columns are NaN (``n_test`` 0),
            ``output.has_test_set`` is False and the run warns.
        split_seed: seed of the split by configuration id, an integer [0]. A configuration's
            side depends only on its id and the seed.
        ridge: ridge term, ``ridge * ||beta||^2`` (descriptor coefficients, not the reference
            energy) added to the weighted squared residuals; finite, >= 0 [0.0].
        stress_weight: weight w_S of the stress rows, on stress residuals in eV/Angstrom^3
            (ASE's sign), finite, >= 0 [0.0: stresses are not fitted, their errors are still
            reported where the descriptors have virial rows]. FitSNAP's ``vweight`` (on bar) is
            ``stress_weight / 1.6021765e6``. Uses the virial rows descriptors jobs store by
            default, the labels' stresses and the cell volumes.
        group_weights: ``{group: (energy, force, stress) factors}`` multiplying w_E, w_F and w_S
            for the configurations of a group (groups come with dataset jobs, e.g. FitSNAP's
            JSON folders), finite, >= 0 [``{}``].
        reference_potential: a fixed potential (e.g. ZBL) subtracted from every label before
            the fit and written into the exported model; set with :attr:`reference_potential`
            (a :class:`~pyiron_appmlip.potential.reference.ReferencePotential`; stored as JSON)
            [None].
        level_costs: the DFT cost of levels whose labels have no recorded times (imported
            data), ``{level: {"per_configuration": seconds}}``, ``{level: {"per_atom":
            seconds}}`` or ``{level: {"model": cost_model.to_dict()}}`` (a
            :class:`~pyiron_appmlip.dft.cost.CostModel`) [``{}``]; a given cost wins over
            recorded times, and the table's ``dft_cost_source`` names the source of every
            level's cost (:mod:`pyiron_appmlip.training.costs`). Changing it recomputes no fit:
            the next :meth:`resume` only sets the costs anew.
        atom_steps_per_second: ``{2Jmax: measured LAMMPS MD throughput}`` in atom-steps per
            second, copied into the table [``{}``]; or ``measure_evaluation_cost = True`` to
            measure it with LAMMPS [False].
        executor: where the fits run, a storable spec (:mod:`pyiron_appmlip.executors`: None or
            ``"local"`` for all local cores, ``"serial"``, a number of local workers, or
            ``{"kind": ..., ...}`` for executorlib) [None]; a running executor goes to
            ``job.executor``.
        samplers, subset_sizes: fixed to ``["all"]`` and ``[]`` (use
            :class:`~pyiron_appmlip.jobs.sweep.AppmlipSweep` for subsets).

    Output: as :class:`~pyiron_appmlip.jobs.sweep.AppmlipSweep` (:meth:`get_table`,
    :meth:`get_model`, :meth:`get_coefficients`, :meth:`get_group_errors`, ``train_ids``,
    ``test_ids``, ``has_test_set``, the descriptor settings and the provenance), with
    ``sampler == "all"`` in every row. Errors in meV/atom (energy), meV/Angstrom (forces), GPa (stress).
    The models of :meth:`get_model` carry the leverage extrapolation grade of their fit
    (``model.grade``, ``model.grade_structures(structures)``; see
    :mod:`pyiron_appmlip.core.extrapolation`): the run stores the training configurations'
    energy and force R factors and, per weight pair, the thresholds calibrated on the training
    atoms in ``output.grade``.
    """

    def __init__(self, project, job_name):
        super().__init__(project, job_name)
        self.input.samplers = ["all"]
        self.input.subset_sizes = []

    def _input_checks(self) -> dict:
        return fit_input_checks()

    def set_descriptors(self, job):
        """Use the descriptor blocks of ``job`` (object, id or name); replaces any earlier one.

        Raises:
            ValueError: for anything but an ``AppmlipDescriptors`` job, naming what was given
                (the earlier descriptors job is then kept).
        """
        job_id, twojmax = self._descriptor_source(job, "set_descriptors")
        self.input.descriptors_jobs = {str(twojmax): job_id}

    @property
    def weights(self):
        """The (w_E, w_F) pairs of the fits."""
        return [tuple(w) for w in self.input.weights]

    @weights.setter
    def weights(self, value):
        self.input.weights = [list(w) for w in parse_weights(value)]

    def _store_grade(self, labels, grid, desc_ids) -> None:
        """Store the training statistics and calibrated thresholds of the models' leverage
        grades (``output.grade``, see :mod:`pyiron_appmlip.jobs._grade`)."""
        from ..training.sweep import _group_factors
        from ._grade import training_grade_output

        orders = self.output.get("training_orders") or {}
        if not orders:
            return
        ids = max((as_strings(np.asarray(v)) for v in orders.values()), key=len)
        (job_id,) = desc_ids.values()
        factors_of = _group_factors(labels, grid.pool_levels, self._group_weights())
        try:
            self.output.grade = training_grade_output(
                self.project.load(int(job_id)),
                ids,
                [tuple(w) for w in grid.weights],
                float(self.input.ridge),
                factors_of,
            )
        except (ValueError, RuntimeError) as err:  # the fits stand without a grade
            message = (
                f"{self.job_name}: the models get no extrapolation grade ({err}); attach one "
                "with model.with_leverage_grade(training_structures)"
            )
            self._logger.warning(message)
            warnings.warn(message, UserWarning, stacklevel=2)

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
