"""AppmlipPlan: the campaign plan from a pilot's sweep, as a pyiron job.

It reads the pilot's fit table (an ``AppmlipSweep`` of the pilot's subsets, e.g. from
:func:`~pyiron_appmlip.jobs.pilot.pilot_sweep`), fits the learning curves of every setting
(:func:`~pyiron_appmlip.core.error_model.fit_error_model`: training level, weight ratio, 2Jmax and
sampler), and plans the campaign for a budget (:func:`~pyiron_appmlip.planning.plan.plan_campaign`).
The learning curves of a pilot's several subset sizes have their exponent within
:data:`~pyiron_appmlip.core.error_model.EXPONENT_PRIOR` and a size offset fitted with it (shared
by the settings of one 2Jmax): a pilot's sizes span too short a range to fit either freely (the
pilot validation report in ``datasets/data/pilot_validation.md`` measures the difference).
The DFT cost per configuration of each level is the pilot's measured one (its labels' recorded
times) unless given; what the pilot spent is taken off the budget. The plan, its candidates,
the learning curves and the configurations to label next are stored in the job; the pilot's
sweep job is named in the input, so the job table shows where the plan came from.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyiron_base import PythonTemplateJob

from ..dft.cost import LevelCost
from ..planning.plan import ModelsByGroup, PlanSetting, plan_campaign
from ._common import (
    LeftoverSafeSave,
    PlainOutput,
    plain,
    save_then_set_status,
    table_from_hdf_dict,
    table_to_hdf_dict,
)

__all__ = ["AppmlipPlan", "SETTING_KEYS"]

#: The fit-table columns that make one setting of the plan (``n_energy`` only for level pairs:
#: their energies are the first ``n_energy`` configurations whatever the training-set size).
SETTING_KEYS = ("train_level", "weight_ratio", "twojmax", "sampler", "n_energy")


class AppmlipPlan(PlainOutput, LeftoverSafeSave, PythonTemplateJob):
    """Plan a DFT campaign from a pilot (see the module docstring).

    Input (``job.input``):
        sweep_job: id of the pilot's finished ``AppmlipSweep`` job (or set with
            :meth:`set_pilot`).
        budget_core_hours: the campaign's DFT budget in core-hours (> 0).
        preference: in [0, 1]; 0 optimises forces only, 1 energies only [0.5].
        energy_target: predicted median energy RMSE to reach, meV/atom [None].
        force_target: predicted median force RMSE to reach, meV/Angstrom [None].
        cores_per_calculation: cores per DFT calculation [1].
        level_costs: ``{level: {"per_configuration": s} | {"per_atom": s} | {"model": ...}}``
            instead of the pilot's measured times [``{}``]; a per-atom cost uses the pilot's
            mean number of atoms.
        spent_core_hours: what the pilot cost [None: the recorded times of its labels, each
            calculation once].
        max_size: the largest training set (the number of candidates) [None: the candidates
            of the sweep's first descriptors job].
        seed: seed of the order of the configurations to label next [0].
        max_twojmax: the most expensive model the application can evaluate [None: any].
        min_atom_steps_per_second: the slowest MD the application accepts, atom-steps per
            second (the pilot sweep's ``atom_steps_per_second``, measured per 2Jmax) [None].

    Output: :meth:`get_candidates` (one row per setting at its planned size, best first),
    :attr:`best`, :meth:`get_curves` (the learning curves), :meth:`to_label` (the
    configurations to label next, with their level), :meth:`summary`, :meth:`plot`.
    """

    def __init__(self, project, job_name):
        super().__init__(project, job_name)
        self.input.sweep_job = None
        self.input.budget_core_hours = None
        self.input.preference = 0.5
        self.input.energy_target = None
        self.input.force_target = None
        self.input.cores_per_calculation = 1
        self.input.level_costs = {}
        self.input.spent_core_hours = None
        self.input.max_size = None
        self.input.seed = 0
        self.input.max_twojmax = None
        self.input.min_atom_steps_per_second = None

    def set_pilot(self, sweep_job) -> None:
        """Plan from this pilot sweep (a finished ``AppmlipSweep`` job or its id)."""
        job_id = sweep_job if isinstance(sweep_job, int | np.integer) else sweep_job.job_id
        if job_id is None:
            raise ValueError("sweep_job must be saved (run) before a plan can use it")
        self.input.sweep_job = int(job_id)

    def _validate_input(self):
        if self.input.sweep_job is None:
            raise ValueError("sweep_job is not set: job.set_pilot(pilot_sweep_job)")
        budget = self.input.budget_core_hours
        if budget is None or not float(budget) > 0:
            raise ValueError(
                f"budget_core_hours must be a number > 0 (core-hours), got {plain(budget)!r}"
            )
        p = self.input.preference
        if isinstance(p, bool) or not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"preference must be a number in [0, 1], got {plain(p)!r}")

    def validate_ready_to_run(self):
        self._validate_input()
        super().validate_ready_to_run()

    # -- the work ------------------------------------------------------------------------------
    def _pilot(self):
        sweep = self.project.load(int(self.input.sweep_job))
        if sweep is None:
            raise ValueError(f"sweep_job {self.input.sweep_job} is not a job of this project")
        return sweep

    def run_static(self):
        from ..core.error_model import EXPONENT_PRIOR, FIT, fit_error_model

        self.status.running = True
        self._validate_input()
        sweep = self._pilot()
        table = sweep.get_table()
        if "model_kind" in table.columns:  # single levels and level pairs (not Delta models)
            table = table[table["model_kind"].isin(["single", "level_pair"])]
        else:
            table = table.assign(model_kind="single")
        if "n_energy" not in table.columns:
            table = table.assign(n_energy=table["subset_size"])
        table = table[table["sampler"] != "all"].reset_index(drop=True)
        table = self._application_constraints(table)
        if table.empty:
            raise ValueError(
                "the pilot sweep has no subset rows of single levels; run it with subset_sizes "
                "and samplers other than 'all'"
            )
        # only fits of full rank: an underdetermined fit's error says little about the
        # learning curve (it interpolates)
        full = table["rank"].astype(int) >= table["n_descriptors"].astype(int) + 1
        notes = []
        if not full.all():
            notes.append(
                f"{int((~full).sum())} of {len(table)} pilot fits are not of full rank "
                "(fewer equations than coefficients) and are left out of the learning curves"
            )
        table = table[full].reset_index(drop=True)
        if table.empty:
            raise ValueError(
                "every fit of the pilot sweep is underdetermined (rank below the number of "
                "coefficients); give the pilot sweep larger subset sizes or use a smaller 2Jmax"
            )
        keys = [_setting_key(r) for _, r in table.iterrows()]
        models = {}
        for twojmax in sorted(set(table["twojmax"].astype(int))):  # one model per 2Jmax
            part = table["twojmax"].astype(int).to_numpy() == twojmax
            sub = table[part]

            def column(name, sub=sub):
                return sub[name].to_numpy(float)

            own = {"energy": column("energy_rmse_test"), "force": column("force_rmse_test")}
            models[twojmax] = fit_error_model(
                [k for k, use in zip(keys, part, strict=True) if use],
                column("subset_size"),
                {
                    "energy": column("energy_rmse_test_truth"),
                    "force": column("force_rmse_test_truth"),
                },
                train={"energy": column("energy_rmse_train"), "force": column("force_rmse_train")},
                # errors against the training levels need the test set labelled at them (a
                # pilot's test set is labelled at the reference level only); the learning
                # curves of several pilot sizes do not need them
                test_self=own if all(np.isfinite(v).all() for v in own.values()) else None,
                exponent_range=EXPONENT_PRIOR,
                size_offset=FIT,
            )
        model = ModelsByGroup(models, lambda key: int(key[2]))
        levels = set(table.loc[table["model_kind"] == "single", "train_level"].astype(str))
        for kind, e, f in zip(
            table["model_kind"],
            table.get("energy_level", table["train_level"]),
            table.get("force_level", table["train_level"]),
            strict=True,
        ):
            if kind == "level_pair":
                levels |= {str(e), str(f)}
        labels = {lv: sweep._load_labels(lv) for lv in sorted(levels)}
        truth = str(table["truth_level"].iloc[0])
        per_config = self._seconds_per_configuration(labels)
        settings = []
        first = {}
        for key, (_, r) in zip(keys, table.iterrows(), strict=True):
            first.setdefault(key, r)
        # the pilot's training configurations are the first of the campaign's order: at the
        # levels they are labelled at they cost nothing more (its test set stays a test set)
        test_ids = {str(i) for i in sweep.output.get("test_ids", [])}
        n_labelled = {lv: len(set(lab.ids) - test_ids) for lv, lab in labels.items()}
        for key, r in first.items():
            description = dict(zip(SETTING_KEYS, key, strict=True))
            if r["model_kind"] == "level_pair":
                e_level, f_level = str(r["energy_level"]), str(r["force_level"])
                n_energy = int(r["n_energy"])
                settings.append(
                    PlanSetting(
                        key,
                        per_config[f_level],
                        fixed=max(n_energy - n_labelled[e_level], 0) * per_config[e_level],
                        description=description | {"level": f_level, "energy_level": e_level},
                        min_size=n_energy,
                        labelled=n_labelled[f_level],
                    )
                )
            else:
                level = str(key[0])
                settings.append(
                    PlanSetting(
                        key,
                        per_config[level],
                        description=description | {"level": level},
                        labelled=n_labelled[level],
                    )
                )
        desc = self.project.load(int(next(iter(sweep.input.descriptors_jobs.values()))))
        candidates = list(desc.configuration_ids)
        order = [c for c in self._label_order(desc, candidates) if c not in test_ids]
        labelled = {lv: sorted(set(lab.ids) - test_ids) for lv, lab in labels.items()}
        spent = self.input.spent_core_hours
        if spent is None:
            spent = self._pilot_core_hours(sweep, truth, labels)
        plan = plan_campaign(
            model,
            settings,
            float(self.input.budget_core_hours),
            max_size=int(self.input.max_size or len(candidates) - len(test_ids)),
            preference=float(self.input.preference),
            energy_target=_none_or_float(self.input.energy_target),
            force_target=_none_or_float(self.input.force_target),
            spent_core_hours=float(spent),
            cores_per_calculation=int(self.input.cores_per_calculation),
            candidate_ids=order,
            labelled=labelled,
        )
        out = plan.candidates.copy()
        out["key"] = [str(k) for k in out["key"]]
        self.output.candidates = table_to_hdf_dict(out)
        self.output.best = {k: _plain_value(v) for k, v in plan.best.items() if k != "key"}
        self.output.to_label_ids = [i for i, _ in plan.to_label]
        self.output.to_label_levels = [str(lv) for _, lv in plan.to_label]
        self.output.spent_core_hours = float(spent)
        self.output.summary = plan.summary() + "".join(f"\nNote: {n}" for n in notes)
        self.output.notes = notes + list(plan.notes)
        self.output.curves = table_to_hdf_dict(
            pd.DataFrame(
                [
                    {
                        "setting": str(k[0]),
                        "quantity": k[1],
                        "floor": c.floor,
                        "amplitude": c.amplitude,
                        "exponent": c.exponent,
                        "offset": c.offset,
                        "source": c.source,
                    }
                    for m in models.values()
                    for k, c in m.curves.items()
                ]
            )
        )
        self.output.alternatives = {
            f"{factor:g}": {k: _plain_value(v) for k, v in alt.best.items() if k != "key"}
            for factor, alt in plan.alternatives.items()
        }
        save_then_set_status(self)

    def _application_constraints(self, table: pd.DataFrame) -> pd.DataFrame:
        """The rows of the 2Jmax values the application can afford to evaluate."""
        max_t = self.input.max_twojmax
        if max_t is not None:
            keep = table["twojmax"].astype(int) <= int(max_t)
            if not keep.any():
                raise ValueError(
                    f"max_twojmax={max_t}: the pilot has no setting at 2Jmax <= {max_t}; its "
                    f"2Jmax values: {sorted(set(table['twojmax'].astype(int)))}"
                )
            table = table[keep]
        min_aps = self.input.min_atom_steps_per_second
        if min_aps is not None:
            aps = pd.to_numeric(table["atom_steps_per_second"], errors="coerce")
            if aps.isna().all():
                raise ValueError(
                    "min_atom_steps_per_second cannot be applied: the pilot sweep has no "
                    "measured atom_steps_per_second (measure_evaluation_cost = True); use "
                    "max_twojmax"
                )
            keep = aps >= float(min_aps)
            if not keep.any():
                raise ValueError(
                    f"min_atom_steps_per_second={min_aps}: the fastest 2Jmax of the pilot "
                    f"reaches {aps.max():.4g} atom-steps/s"
                )
            table = table[keep]
        return table.reset_index(drop=True)

    def _seconds_per_configuration(self, labels) -> dict:
        """Mean DFT seconds per configuration per level: given, or the pilot's recorded."""
        given = {str(k): v for k, v in plain(self.input.level_costs or {}).items()}
        out = {}
        for lv, lab in labels.items():
            n_atoms = np.array([len(f) for f in lab.forces.values()], dtype=float)
            if lv in given:
                cost = LevelCost.from_spec(given[lv], f"level_costs[{lv!r}]")
                out[lv] = float(np.mean(cost.predict(n_atoms)))
                continue
            times = np.array([t for t in lab.wall_times.values() if np.isfinite(t)], dtype=float)
            if times.size == 0:
                raise ValueError(
                    f"level {lv!r}: the pilot's labels record no DFT time; give its cost in "
                    "job.input.level_costs"
                )
            out[lv] = float(times.mean())
        return out

    def _pilot_core_hours(self, sweep, truth, labels) -> float:
        levels = dict(labels)
        if truth not in levels:
            levels[truth] = sweep._load_labels(truth)
        seconds = sum(float(np.nansum(list(lab.wall_times.values()))) for lab in levels.values())
        return seconds / 3600.0 * int(self.input.cores_per_calculation)

    def _label_order(self, desc, candidates) -> list:
        from ..core.leverage import leverage_scores_streamed
        from ..core.sampling import sampling_order

        lev, _ = leverage_scores_streamed(
            lambda: desc.iter_blocks(candidates, virial=False), 150.0, 1.0
        )
        order = sampling_order("leverage", len(candidates), leverage=lev, seed=int(self.input.seed))
        return [candidates[k] for k in order]

    # -- output --------------------------------------------------------------------------------
    def get_candidates(self) -> pd.DataFrame:
        """One row per setting at its planned size, best first (see
        :class:`~pyiron_appmlip.planning.plan.CampaignPlan`)."""
        return table_from_hdf_dict(self.output.candidates)

    def get_curves(self) -> pd.DataFrame:
        """The fitted learning curves: ``setting``, ``quantity``, ``floor``, ``amplitude``,
        ``exponent``, ``offset`` (``err(N)^2 = floor^2 + amplitude (N - offset)^-exponent``),
        ``source``."""
        return table_from_hdf_dict(self.output.curves)

    @property
    def best(self) -> dict:
        """The planned setting, training-set size, cost and predicted errors."""
        return dict(plain(self.output.best))

    def to_label(self) -> list[tuple[str, str]]:
        """``[(configuration id, level)]`` to label next, in order."""
        # an empty list may not survive the HDF5 round trip
        ids = [str(i) for i in plain(self.output.get("to_label_ids", None) or [])]
        levels = [str(lv) for lv in plain(self.output.get("to_label_levels", None) or [])]
        return list(zip(ids, levels, strict=True))

    def summary(self) -> str:
        """The plan as text."""
        return str(plain(self.output.summary))

    def plot(self, path=None):
        """The predicted front (every setting at its planned size, with its 16-84 % band) and
        the pilot's measured points, energy vs force RMSE against the truth level."""
        from matplotlib.figure import Figure

        cand = self.get_candidates()
        pilot = self._pilot().get_table()
        fig = Figure(figsize=(6.0, 4.5), layout="constrained")
        ax = fig.subplots()
        ax.scatter(
            pilot["force_rmse_test_truth"],
            pilot["energy_rmse_test_truth"],
            s=12,
            c="0.7",
            label="pilot fits (measured)",
        )
        ax.errorbar(
            cand["force_rmse"],
            cand["energy_rmse"],
            xerr=[
                cand["force_rmse"] - cand["force_rmse_low"],
                cand["force_rmse_high"] - cand["force_rmse"],
            ],
            yerr=[
                cand["energy_rmse"] - cand["energy_rmse_low"],
                cand["energy_rmse_high"] - cand["energy_rmse"],
            ],
            fmt="o",
            ms=4,
            label="planned settings (predicted)",
        )
        best = cand.iloc[0]
        ax.scatter(
            [best["force_rmse"]],
            [best["energy_rmse"]],
            s=120,
            facecolors="none",
            edgecolors="r",
            label="plan",
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("force RMSE vs truth (meV/Å)")
        ax.set_ylabel("energy RMSE vs truth (meV/atom)")
        ax.set_title(f"Plan for {float(self.input.budget_core_hours):g} core-hours")
        ax.legend(fontsize=8)
        if path is not None:
            fig.savefig(path, dpi=120)
        return fig


def _setting_key(row) -> tuple:
    """A row's setting: its :data:`SETTING_KEYS` values (``n_energy`` None for one level)."""
    return tuple(
        (None if row["model_kind"] != "level_pair" else int(row["n_energy"]))
        if c == "n_energy"
        else _plain_value(row[c])
        for c in SETTING_KEYS
    )


def _plain_value(value):
    if isinstance(value, np.generic):
        return value.item()
    return value


def _none_or_float(value):
    return None if value is None else float(value)
