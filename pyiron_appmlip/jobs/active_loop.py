"""AppmlipActiveLoop: the active-learning loop after a plan, as one pyiron job.

Starting from a plan (:class:`~pyiron_appmlip.jobs.plan.AppmlipPlan`: the level, weight ratio
and 2Jmax predicted best, and the pilot it was made from), each iteration

1. fits the model with the planned weights and 2Jmax on every training label so far (the
   pilot's labels at the planned level first);
2. runs the application with it, graded as it runs (a LAMMPS MD run of the application's
   structure as an ``AppmlipGradedLammps`` job): every atom's MaxVol extrapolation grade against
   the atoms of the training structures (:mod:`pyiron_appmlip.core.extrapolation`), the largest
   per graded step;
3. collects the frames whose grade passes the ``"collect"`` threshold (the run ends at the
   first step above ``"stop"``: what would follow is not trusted);
4. chooses among them by D-optimality against the current training set
   (:func:`~pyiron_appmlip.core.selectors.d_optimal_order` with the training set as prior);
5. labels the chosen frames with DFT at the level the plan ranks best among those the remaining
   budget pays (:func:`~pyiron_appmlip.planning.active_loop.plan_labels`), and the next few at
   the reference level as a growing held-out test set;
6. computes their descriptors, and fits again.

It stops (:func:`~pyiron_appmlip.planning.active_loop.stop_reason`) when the grade stays below
``"collect"`` over a whole application run and the held-out errors meet the targets, when the
budget does not pay another calculation, or after ``max_iterations``. Every calculation is costed
before it runs, and a labelling job is started only if the predicted cost of all its
calculations fits into what is left of the budget.

Every step is a child job in ``job.child_project`` (the sub-project ``<name>_hdf5``), named by
iteration: ``it0_md`` (the application run), ``it0_frames`` (the frames' descriptors),
``it0_train_L1`` (training labels at level 1), ``it0_test_L3`` (test labels at the reference
level 3). Running the loop again after an interruption (:meth:`AppmlipActiveLoop.resume`, or
the same script again) loads the finished child jobs instead of computing them again, continues
an interrupted labelling job with the calculations it lacks, and takes every decision again
from the same data, so it arrives at the same state.

Example::

    loop = pr.create.job.AppmlipActiveLoop("loop")
    loop.set_plan(plan)                       # a finished AppmlipPlan
    loop.set_application(cell_with_vacancy, temperature=1500, n_steps=400, grade_every=20)
    loop.input.budget_core_hours = 2.0
    loop.input.thresholds = {"collect": 1.5, "stop": 50.0}
    loop.input.max_iterations = 3
    loop.run()
    loop.get_table()                          # one row per iteration
    model = loop.get_model()                  # the last model, ready for LAMMPS
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from pyiron_base import PythonTemplateJob

from ..core.fit import LinearModel, fit_weighted
from ..core.selectors import d_optimal_order
from ..dft.cost import LevelCost, fit_cost_model
from ..dft.levels import get_level, kmesh, level_label
from ..planning.active_loop import (
    check_budget,
    check_thresholds,
    plan_labels,
    stop_reason,
)
from ..potential.model import SnapModel
from ..structures.conversion import (
    configuration_id,
    structures_from_arrays,
    structures_to_arrays,
    to_ase,
)
from ._common import (
    LeftoverSafeSave,
    PlainOutput,
    plain,
    rerun_in_place,
    save_then_set_status,
    table_from_hdf_dict,
    table_to_hdf_dict,
)

__all__ = ["AppmlipActiveLoop", "APPLICATION_KEYS", "TABLE_COLUMNS"]

#: The settings of the application run (:meth:`AppmlipActiveLoop.set_application`).
APPLICATION_KEYS = ("structure", "temperature", "n_steps", "timestep", "grade_every", "seed")

#: Columns of :meth:`AppmlipActiveLoop.get_table`, one row per iteration.
TABLE_COLUMNS = {
    "iteration": "iteration, from 0",
    "n_train": "training configurations of this iteration's model",
    "n_test": "held-out reference-level test configurations when the model was tested",
    "max_grade": "largest grade over the application run (frames up to a stop)",
    "n_frames": "graded frames of the application run",
    "n_collected": "frames above the 'collect' threshold",
    "stopped": "whether the application stopped at a frame above 'stop'",
    "energy_rmse_test": "energy RMSE on the test set of that time, meV/atom",
    "force_rmse_test": "force-component RMSE on the test set of that time, meV/Angstrom",
    "energy_rmse_final_test": "energy RMSE on the final test set, meV/atom",
    "force_rmse_final_test": "force-component RMSE on the final test set, meV/Angstrom",
    "train_level": "level of the training labels added after this iteration's run",
    "n_train_added": "training labels added",
    "test_level": "level of the test labels added (the reference level)",
    "n_test_added": "test labels added",
    "dft_core_hours": "DFT core-hours of the labels added (recorded times)",
    "dft_core_hours_total": "DFT core-hours of the loop so far",
    "decision": "'continue' or why the loop stopped",
}

_DEFAULT_APPLICATION = {
    "structure": None,
    "temperature": 300.0,
    "n_steps": 0,
    "timestep": 1.0,
    "grade_every": 10,
    "seed": 1,
}


def _positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _positive_number(value, name: str, unit: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float | np.integer | np.floating)
        or not math.isfinite(float(value))
        or float(value) <= 0
    ):
        raise ValueError(f"{name} must be a number > 0 ({unit}), got {value!r}")
    return float(value)


def check_application(application: Mapping) -> dict:
    """The application settings, checked (see :meth:`AppmlipActiveLoop.set_application`).

    Raises:
        ValueError: naming the setting: no structure, unknown keys, ``n_steps`` below 1 (an
            application without steps), ``grade_every`` outside ``[1, n_steps]``, a
            temperature or time step that is not a number > 0.
    """
    app = dict(_DEFAULT_APPLICATION, **dict(application or {}))
    unknown = sorted(set(app) - set(APPLICATION_KEYS))
    if unknown:
        raise ValueError(
            f"application has the unknown setting(s) {unknown}; settings: {list(APPLICATION_KEYS)}"
        )
    if app["structure"] is None:
        raise ValueError("application has no structure: job.set_application(structure, ...)")
    n = app["n_steps"]
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(
            f"the application has no steps: application n_steps must be an integer >= 1, got {n!r}"
        )
    every = app["grade_every"]
    if isinstance(every, bool) or not isinstance(every, int | np.integer) or not 1 <= every <= n:
        raise ValueError(
            f"application grade_every must be an integer in [1, n_steps={n}], got {every!r}"
        )
    _positive_number(app["temperature"], "application temperature", "K")
    _positive_number(app["timestep"], "application timestep", "fs")
    _positive_int(app["seed"], "application seed")
    return app


class AppmlipActiveLoop(PlainOutput, LeftoverSafeSave, PythonTemplateJob):
    """Active learning after a plan: fit, run the application graded, label what it needs, fit
    again (see the module docstring).

    Input (``job.input``; default in brackets):
        plan_job: id of the finished :class:`~pyiron_appmlip.jobs.plan.AppmlipPlan` (set with
            :meth:`set_plan`). Its best setting gives the level, the weight ratio w_E/w_F and
            the 2Jmax; its pilot gives the first training set (the pilot's labels at the
            planned level), the held-out test set (the pilot's test set at the reference
            level) and the descriptor settings.
        application: the application run (set with :meth:`set_application`): a structure, an
            MD temperature (K), the number of MD steps, the time step (fs), how often a frame is
            graded (every ``grade_every`` steps) and the velocity seed.
        budget_core_hours: the loop's DFT budget in core-hours (> 0; the pilot is not in it).
            It must pay at least one calculation of the application's structure at the
            cheapest level.
        thresholds: ``{"collect": c, "stop": s}`` on the MaxVol extrapolation grade gamma
            of the atoms (:func:`~pyiron_appmlip.core.extrapolation.maxvol_grade`, from the
            per-atom rows of the training structures; gamma <= 1 inside the training data),
            ``0 < c < s`` [``{"collect": 2.0, "stop": 10.0}``, the thresholds pacemaker and
            MTP use for selecting and stopping].
        max_iterations: the most iterations (application runs) [3].
        n_select: training frames chosen per iteration [4].
        n_test: reference-level test frames added per iteration [1].
        test_share: the largest share of the remaining budget spent on test labels per
            iteration, in [0, 1) [0.25].
        energy_target: held-out energy RMSE to reach, meV/atom [None: no target].
        force_target: held-out force RMSE to reach, meV/Angstrom [None: no target].
        cores_per_calculation: cores per DFT calculation (core-hours = seconds x cores / 3600)
            [1].
        cost_margin: factor (>= 1) on every predicted DFT cost before it is compared with the
            budget [1.25].
        level_costs: ``{level: {"per_configuration": s} | {"per_atom": s} | {"model": ...}}``
            instead of the cost models fitted to the recorded times [``{}``].
        engine_options: options of the DFT engine of the labelling jobs [``{}``].
        executor: where the DFT calculations and descriptors run (an executor spec of
            :mod:`pyiron_appmlip.executors`) [None: all local cores].

    Output: :meth:`get_table` (one row per iteration, :data:`TABLE_COLUMNS`),
    :meth:`get_model` (the model of any iteration), ``output.stop_reason``,
    ``output.dft_core_hours`` (spent by the loop), ``output.train_ids`` / ``output.test_ids``.
    """

    def __init__(self, project, job_name):
        super().__init__(project, job_name)
        self.input.plan_job = None
        self.input.application = dict(_DEFAULT_APPLICATION)
        self.input.budget_core_hours = None
        self.input.thresholds = {"collect": 2.0, "stop": 10.0}
        self.input.max_iterations = 3
        self.input.n_select = 4
        self.input.n_test = 1
        self.input.test_share = 0.25
        self.input.energy_target = None
        self.input.force_target = None
        self.input.cores_per_calculation = 1
        self.input.cost_margin = 1.25
        self.input.level_costs = {}
        self.input.engine_options = {}
        self.input.executor = None

    # -- input --------------------------------------------------------------------------------
    def set_plan(self, plan_job) -> None:
        """Follow this plan (a finished ``AppmlipPlan`` job or its id)."""
        job_id = plan_job if isinstance(plan_job, int | np.integer) else plan_job.job_id
        if job_id is None:
            raise ValueError("plan_job must be saved (run) before the loop can use it")
        self.input.plan_job = int(job_id)

    def set_application(
        self,
        structure,
        *,
        temperature: float = 300.0,
        n_steps: int,
        timestep: float = 1.0,
        grade_every: int = 10,
        seed: int = 1,
    ) -> None:
        """The application: an MD run of ``structure`` with the model (LAMMPS, NVT).

        Args:
            structure: an ASE or pyiron structure (e.g. a cell with a vacancy or a surface).
            temperature: MD temperature, K.
            n_steps: MD steps (>= 1).
            timestep: MD time step, fs.
            grade_every: a frame is written and graded every this many steps.
            seed: seed of the initial velocities.

        Raises:
            ValueError: naming the setting (see :func:`check_application`).
        """
        app = {
            "structure": structures_to_arrays([to_ase(structure)]),
            "temperature": temperature,
            "n_steps": n_steps,
            "timestep": timestep,
            "grade_every": grade_every,
            "seed": seed,
        }
        check_application(app)
        self.input.application = app

    def _application(self) -> dict:
        return check_application(plain(self.input.application))

    def _validate_input(self):
        if self.input.plan_job is None:
            raise ValueError("plan_job is not set: job.set_plan(plan_job)")
        self._application()
        check_thresholds(plain(self.input.thresholds))
        _positive_int(self.input.max_iterations, "max_iterations")
        _positive_int(self.input.n_select, "n_select")
        _positive_int(self.input.n_test, "n_test", minimum=0)
        _positive_int(self.input.cores_per_calculation, "cores_per_calculation")
        share = self.input.test_share
        if isinstance(share, bool) or not 0.0 <= float(share) < 1.0:
            raise ValueError(f"test_share must be a number in [0, 1), got {share!r}")
        margin = self.input.cost_margin
        if isinstance(margin, bool) or not float(margin) >= 1.0:
            raise ValueError(f"cost_margin must be a number >= 1, got {margin!r}")
        for name in ("energy_target", "force_target"):
            value = self.input[name]
            if value is not None:
                _positive_number(value, name, "meV/atom" if name[0] == "e" else "meV/Angstrom")
        budget = self.input.budget_core_hours
        if budget is None:
            raise ValueError("budget_core_hours is not set (the loop's DFT budget, core-hours)")
        _positive_number(budget, "budget_core_hours", "core-hours")

    def validate_ready_to_run(self):
        self._validate_input()
        super().validate_ready_to_run()

    # -- children -----------------------------------------------------------------------------
    @property
    def child_project(self):
        """The sub-project holding the loop's child jobs (``<job name>_hdf5``)."""
        return self.project.open(self.job_name + "_hdf5")

    # -- the plan and the pilot ---------------------------------------------------------------
    def _plan_context(self) -> dict:
        plan = self.project.load(int(self.input.plan_job))
        if plan is None or not plan.status.finished:
            raise ValueError(
                f"plan_job {self.input.plan_job} is not a finished job of this project"
            )
        best = plan.best
        sweep = plan._pilot()
        twojmax = int(best["twojmax"])
        level = str(best.get("level", best["train_level"]))
        desc_jobs = plain(sweep.input.descriptors_jobs)
        desc = self.project.load(int(desc_jobs[str(twojmax)]))
        truth = str(sweep._truth())
        test_ids = [str(i) for i in plain(sweep.output.get("test_ids", None) or [])]
        labels_by_level = {}
        for lv, ref in plain(sweep.input.labelling_jobs).items():
            ids = ref if isinstance(ref, list) else [ref]
            labels_by_level[str(lv)] = [self.project.load(int(i)) for i in ids]
        cand = plan.get_candidates()
        ranked = [level]
        same = cand
        if "twojmax" in cand:
            same = cand[cand["twojmax"].astype(int) == twojmax]
        for lv in same.get("level", pd.Series([], dtype=str)).astype(str):
            if lv not in ranked and lv in labels_by_level and "+" not in lv:
                ranked.append(lv)
        return {
            "plan": plan,
            "weights": (float(best["weight_ratio"]), 1.0),
            "twojmax": twojmax,
            "level": level,
            "ranked_levels": ranked,
            "desc": desc,
            "truth": truth,
            "test_ids": test_ids,
            "labels_by_level": labels_by_level,
        }

    # -- costs --------------------------------------------------------------------------------
    def _cost_models(self, ctx, loop_jobs) -> dict:
        """``{level: LevelCost}`` for every level the loop may label at."""
        given = {level_label(k): v for k, v in plain(self.input.level_costs or {}).items()}
        out = {}
        for lv in dict.fromkeys([*ctx["ranked_levels"], ctx["truth"]]):
            if lv in given:
                out[lv] = LevelCost.from_spec(given[lv], f"level_costs[{lv!r}]")
                continue
            wall, n_atoms, n_k = [], [], []
            for job in [*ctx["labels_by_level"].get(lv, []), *loop_jobs.get(lv, [])]:
                lab = job.get_labels()
                keep = np.isfinite(lab["wall_times"])
                wall += list(lab["wall_times"][keep])
                n_atoms += list(lab["n_atoms"][keep])
                n_k += list(lab["n_kpoints"][keep])
            if not wall:
                raise ValueError(
                    f"level {lv!r} has no recorded DFT times to cost it; give its cost in "
                    "job.input.level_costs"
                )
            if len(set(n_atoms)) > 1 and len(wall) >= 3:
                model = fit_cost_model(wall, n_atoms, n_k)
                out[lv] = LevelCost("model", model=model)
            else:
                per_atom = float(np.mean(np.asarray(wall) / np.asarray(n_atoms)))
                out[lv] = LevelCost("per_atom", seconds=per_atom)
        return out

    def _core_hours(self, cost: LevelCost, level: str, structures) -> list[float]:
        lv = get_level(int(level) if level.isdigit() else level)
        factor = float(self.input.cost_margin) * int(self.input.cores_per_calculation) / 3600.0
        out = []
        for atoms in structures:
            k = int(np.prod(kmesh(atoms.get_cell(), lv.kspacing)))
            out.append(float(cost.predict([len(atoms)], [k])[0]) * factor)
        return out

    @staticmethod
    def _recorded_core_hours(job, cores: int) -> float:
        lab = job.get_labels()
        return float(np.nansum(lab["wall_times"])) * cores / 3600.0

    # -- the run ------------------------------------------------------------------------------
    def run_static(self):
        self.status.running = True
        self._validate_input()
        app = self._application()
        thresholds = check_thresholds(plain(self.input.thresholds))
        ctx = self._plan_context()
        desc = ctx["desc"]
        self._plan_desc = desc
        settings = desc.settings
        w_e, w_f = ctx["weights"]
        start = structures_from_arrays(app["structure"])[0]

        # the first training set: the pilot's labels at the planned level (not its test set)
        train, test = {}, {}
        pilot_ids = set(desc.configuration_ids)
        for job in ctx["labels_by_level"].get(ctx["level"], []):
            lab = job.get_labels()
            for cid, e, f in zip(lab["ids"], lab["energies"], lab["forces"], strict=True):
                if cid in pilot_ids and cid not in ctx["test_ids"]:
                    train[cid] = (e, f, ctx["level"])
        for job in ctx["labels_by_level"].get(ctx["truth"], []):
            lab = job.get_labels()
            for cid, e, f in zip(lab["ids"], lab["energies"], lab["forces"], strict=True):
                if cid in ctx["test_ids"]:
                    test[cid] = (e, f)
        if not train:
            raise ValueError(
                f"the plan's pilot has no training labels at the planned level {ctx['level']!r}"
            )
        structures = dict(zip(desc.configuration_ids, desc.structures, strict=True))
        blocks = dict(zip(train, desc.get_blocks(list(train), virial=False), strict=True))
        if test:
            blocks.update(zip(test, desc.get_blocks(list(test), virial=False), strict=True))

        loop_jobs: dict[str, list] = {}
        costs = self._cost_models(ctx, loop_jobs)
        cheapest = min(self._core_hours(c, lv, [start])[0] for lv, c in costs.items())
        budget = check_budget(float(self.input.budget_core_hours), cheapest)

        rows, coefficients = [], {}
        spent = 0.0
        reason = None
        for k in range(int(self.input.max_iterations)):
            model = self._fit(train, blocks, w_e, w_f, settings, ctx["level"])
            coefficients[str(k)] = model.coefficients
            e_rmse, f_rmse = self._test_errors(model, test, blocks)
            run = self._application_run(k, model, app, settings, train, structures, thresholds)
            row = {
                "iteration": k,
                "n_train": len(train),
                "n_test": len(test),
                "max_grade": run["max_grade"],
                "n_frames": run["n_frames"],
                "n_collected": len(run["collected"]),
                "stopped": run["stopped"],
                "energy_rmse_test": e_rmse,
                "force_rmse_test": f_rmse,
                "train_level": "",
                "n_train_added": 0,
                "test_level": "",
                "n_test_added": 0,
                "dft_core_hours": 0.0,
                "dft_core_hours_total": spent,
            }
            reason = stop_reason(
                max_grade=run["max_grade"],
                collect=thresholds["collect"],
                energy_rmse=e_rmse,
                force_rmse=f_rmse,
                energy_target=self.input.energy_target,
                force_target=self.input.force_target,
                remaining_core_hours=budget - spent,
                cheapest_core_hours=cheapest,
                iteration=k,
                max_iterations=int(self.input.max_iterations),
                n_collected=len(run["collected"]),
            )
            if reason is None:
                added = self._label_iteration(
                    k, run, ctx, costs, budget - spent, train, test, blocks, w_e, w_f
                )
                structures.update({c: a for c, a, _ in run["collected"] + run["others"]})
                row.update(added["row"])
                for lv, job in added["jobs"]:
                    loop_jobs.setdefault(lv, []).append(job)
                spent += row["dft_core_hours"]
                row["dft_core_hours_total"] = spent
                if added["row"]["n_train_added"] == 0:
                    reason = "budget"
                else:
                    costs = self._cost_models(ctx, loop_jobs)
            row["decision"] = reason or "continue"
            rows.append(row)
            if reason is not None:
                break

        table = pd.DataFrame(rows)
        final = [
            self._test_errors(self._model_of(c, settings, w_e, w_f, ctx["level"]), test, blocks)
            for c in coefficients.values()
        ]
        table["energy_rmse_final_test"] = [e for e, _ in final]
        table["force_rmse_final_test"] = [f for _, f in final]
        table = table[list(TABLE_COLUMNS)]
        self.output.table = table_to_hdf_dict(table)
        self.output.coefficients = {k: np.asarray(c) for k, c in coefficients.items()}
        self.output.settings = settings.to_json()
        self.output.weights = [w_e, w_f]
        self.output.train_level = ctx["level"]
        self.output.stop_reason = str(reason)
        self.output.dft_core_hours = float(spent)
        self.output.train_ids = list(train)
        self.output.test_ids = list(test)
        save_then_set_status(self)

    # -- the steps ----------------------------------------------------------------------------
    @staticmethod
    def _model_of(coefficients, settings, w_e, w_f, level) -> SnapModel:
        return SnapModel(
            coefficients=np.asarray(coefficients, dtype=float),
            settings=settings,
            energy_weight=float(w_e),
            force_weight=float(w_f),
            train_level=str(level),
            sampler="active_loop",
        )

    def _fit(self, train, blocks, w_e, w_f, settings, level) -> SnapModel:
        ids = list(train)
        fit = fit_weighted(
            [blocks[i] for i in ids],
            [train[i][0] for i in ids],
            [train[i][1] for i in ids],
            w_e,
            w_f,
        )
        model = self._model_of(fit.coefficients, settings, w_e, w_f, level)
        return dataclasses.replace(model, training_ids=tuple(ids), rank=int(fit.rank))

    @staticmethod
    def _test_errors(model: SnapModel, test, blocks) -> tuple[float, float]:
        if not test:
            return float("nan"), float("nan")
        ids = list(test)
        lm = LinearModel(np.asarray(model.coefficients))
        e, f = lm.rmse(
            [blocks[i] for i in ids], [test[i][0] for i in ids], [test[i][1] for i in ids]
        )
        return float(e), float(f)

    def _descriptors_job(self, name: str, structures):
        """A finished descriptors child of ``structures`` with the plan's settings."""
        pr = self.child_project
        job = None
        if pr.get_job_id(name) is not None:
            job = pr.load(name)
            if job.status.finished:
                return job
            job.resume()
            return pr.load(name)
        ctx_desc = self._plan_desc
        job = pr.create.job.AppmlipDescriptors(name)
        job.structures = structures
        job.input.twojmax = int(ctx_desc.input.twojmax)
        job.input.hyperparameters = plain(ctx_desc.input.hyperparameters or {})
        job.input.executor = self.input.executor if self.input.executor is not None else "serial"
        job.input.progress = False
        job.master_id = self.job_id
        job.run()
        return pr.load(name)

    def _application_run(self, k, model, app, settings, train, structures, thresholds) -> dict:
        """Run (or load) iteration ``k``'s graded MD (``AppmlipGradedLammps``) and read its
        grades and frames."""
        from pyiron_atomistics import ase_to_pyiron

        pr = self.child_project
        name = f"it{k}_md"
        job = None
        if pr.get_job_id(name) is not None:
            job = pr.load(name)
            if not job.status.finished:
                pr.remove_job(name)  # interrupted: run it again
                job = None
        if job is None:
            job = pr.create.job.AppmlipGradedLammps(name)
            job.structure = ase_to_pyiron(structures_from_arrays(app["structure"])[0])
            job.model = model.with_maxvol_grade([structures[i] for i in train])
            job.input.grade_every = int(app["grade_every"])
            job.input.thresholds = (
                thresholds["collect"],
                thresholds["collect"],
                thresholds["stop"],
            )
            job.calc_md(
                temperature=float(app["temperature"]),
                n_ionic_steps=int(app["n_steps"]),
                n_print=int(app["grade_every"]),
                time_step=float(app["timestep"]),
                seed=int(app["seed"]),
            )
            job.master_id = self.job_id
            job.run()
            job = pr.load(name)
        graded = job.graded_run
        grade_of = dict(zip(np.asarray(graded.steps).tolist(), graded.max_grade, strict=True))
        # the collected frames (above "collect", up to and with the frame above "stop"), then
        # the other written frames, highest grade first: test frames when the collected ones
        # are all chosen for training
        frames, grades = [], []
        for atoms in graded.collected:
            frames.append(_plain_atoms(atoms))
            grades.append(float(atoms.info["max_grade"]))
        n_collected = len(frames)
        others = []
        every = int(app["grade_every"])
        for i in range(len(job.output.energy_pot)):
            g = grade_of.get(i * every)
            if g is not None and g <= thresholds["collect"]:
                others.append((float(g), _plain_atoms(job.get_structure(i).to_ase())))
        for g, atoms in sorted(others, key=lambda t: -t[0]):
            frames.append(atoms)
            grades.append(g)
        ids = [configuration_id(a) for a in frames]
        keep = [
            i
            for i in range(len(frames))
            if ids[i] not in train and ids[i] not in ids[:i] and _physical(frames[i])
        ]
        frame_blocks = {}
        if keep:
            desc = self._descriptors_job(f"it{k}_frames", [frames[i] for i in keep])
            frame_blocks = dict(
                zip(desc.configuration_ids, desc.get_blocks(virial=False), strict=True)
            )
        max_grade = float(np.max(graded.max_grade)) if len(graded.max_grade) else float("nan")
        return {
            "max_grade": max_grade,
            "n_frames": int(len(graded.steps)),
            "stopped": bool(graded.stopped),
            "collected": [
                (ids[i], frames[i], frame_blocks[ids[i]]) for i in keep if i < n_collected
            ],
            "others": [(ids[i], frames[i], frame_blocks[ids[i]]) for i in keep if i >= n_collected],
            "job": job,
        }

    def _label_iteration(self, k, run, ctx, costs, remaining, train, test, blocks, w_e, w_f):
        """Choose, cost and label iteration ``k``'s frames; add them to ``train``/``test``."""
        cand = [c for c in run["collected"] if c[0] not in test]
        prior = [blocks[i] for i in train]
        order = d_optimal_order(
            [b for _, _, b in cand],
            len(cand),
            energy_weight=w_e,
            force_weight=w_f,
            prior=prior,
        )
        n_sel = min(int(self.input.n_select), len(cand))
        chosen = [cand[i] for i in order[:n_sel]]
        rest = [cand[i] for i in order[n_sel:]]
        rest += [c for c in run["others"] if c[0] not in test]
        rest = rest[: int(self.input.n_test)]
        train_costs = {
            lv: self._core_hours(costs[lv], lv, [a for _, a, _ in chosen])
            for lv in ctx["ranked_levels"]
        }
        test_costs = self._core_hours(costs[ctx["truth"]], ctx["truth"], [a for _, a, _ in rest])
        plan = plan_labels(
            remaining,
            ctx["ranked_levels"],
            train_costs,
            test_costs,
            test_share=float(self.input.test_share),
        )
        row = {
            "train_level": "",
            "n_train_added": 0,
            "test_level": "",
            "n_test_added": 0,
            "dft_core_hours": 0.0,
        }
        jobs = []
        if plan.level is None:
            return {"row": row, "jobs": jobs}
        cores = int(self.input.cores_per_calculation)
        todo = [(plan.level, "train", chosen[: plan.n_train])]
        if plan.n_test:
            todo.append((ctx["truth"], "test", rest[: plan.n_test]))
        spent = 0.0
        for lv, kind, frames in todo:
            job = self._labelling_job(f"it{k}_{kind}_L{lv}", lv, [a for _, a, _ in frames])
            jobs.append((lv, job))
            spent += self._recorded_core_hours(job, cores)
            lab = job.get_labels()
            by_id = {
                c: (e, f)
                for c, e, f in zip(lab["ids"], lab["energies"], lab["forces"], strict=True)
            }
            for cid, _, block in frames:
                if cid not in by_id:
                    continue  # a failed calculation: recorded in the labelling job
                blocks[cid] = block
                if kind == "train":
                    train[cid] = (*by_id[cid], lv)
                else:
                    test[cid] = by_id[cid]
            row[f"{kind}_level"] = lv
            row[f"n_{kind}_added"] = len([c for c, _, _ in frames if c in by_id])
        row["dft_core_hours"] = spent
        return {"row": row, "jobs": jobs}

    def _labelling_job(self, name: str, level: str, structures):
        pr = self.child_project
        if pr.get_job_id(name) is not None:
            job = pr.load(name)
            if job.status.finished or job.status.not_converged:
                return job
            job.rerun_failed()
            return pr.load(name)
        job = pr.create.job.AppmlipLabelling(name)
        job.structures = structures
        job.input.level = int(level) if level.isdigit() else get_level(level).to_dict()
        if self.input.engine_options:
            job.input.engine_options = plain(self.input.engine_options)
        if self.input.executor is not None:
            job.input.executor = plain(self.input.executor)
        job.input.progress = False
        job.master_id = self.job_id
        job.run()
        return pr.load(name)

    # -- output -------------------------------------------------------------------------------
    def resume(self, run_mode: str | None = None):
        """Run the loop again after an interruption: finished child jobs are loaded, an
        interrupted labelling job computes only what it lacks."""
        rerun_in_place(self, run_mode)

    def get_table(self) -> pd.DataFrame:
        """One row per iteration (columns :data:`TABLE_COLUMNS`)."""
        return table_from_hdf_dict(self.output.table, columns=list(TABLE_COLUMNS))

    def get_model(self, iteration: int = -1) -> SnapModel:
        """The model fitted in ``iteration`` (default: the last), ready for LAMMPS
        (``model.write_lammps(folder)``)."""
        from ..descriptors.settings import QSnapSettings

        coefficients = plain(self.output.coefficients)
        keys = sorted(coefficients, key=int)
        if not -len(keys) <= int(iteration) < len(keys):
            raise ValueError(f"iteration must be in [0, {len(keys)}), got {iteration!r}")
        c = coefficients[keys[int(iteration)]]
        w_e, w_f = plain(self.output.weights)
        settings = QSnapSettings.from_json(str(plain(self.output.settings)))
        n_train = int(self.get_table()["n_train"].iloc[int(iteration)])
        ids = tuple(str(i) for i in plain(self.output.train_ids)[:n_train])
        model = self._model_of(c, settings, w_e, w_f, str(plain(self.output.train_level)))
        return dataclasses.replace(model, training_ids=ids)


def _physical(atoms) -> bool:
    """No two atoms closer than the package's minimum distance (DFT of such frames is
    meaningless and the labelling job refuses them)."""
    from ..structures.checks import DEFAULT_MIN_DISTANCE

    if len(atoms) < 2:
        return True
    d = atoms.get_all_distances(mic=True)
    return bool(d[np.triu_indices(len(atoms), 1)].min() >= DEFAULT_MIN_DISTANCE)


def _plain_atoms(atoms):
    """An ASE Atoms with positions, cell, numbers and pbc only (no calculator, no velocities)."""
    from ase import Atoms

    return Atoms(
        numbers=atoms.get_atomic_numbers(),
        positions=atoms.get_positions(),
        cell=atoms.get_cell(),
        pbc=atoms.get_pbc(),
    )
