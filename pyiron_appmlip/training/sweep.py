"""Sweep: the factorial study (level x subset size x weight x 2Jmax x sampler x repetition)
from descriptor blocks and DFT labels, with the streaming core, and the plain fit of the whole
training pool as its simplest case (:func:`fit_table`).

Work is organised in *units*: one (2Jmax, sampler, repetition) triple is one sampling order of
the training pool and one pass over its blocks, from which the fits of every subset size, weight
pair and training level follow as small p x p problems (:func:`pyiron_appmlip.core.subset_fits`).
Rows already computed (same unit, size, weights and level) are never computed again, so an
interrupted sweep resumes where it stopped and a larger grid computes only the new cells.
A subset as large as the training pool is the pool itself whatever the sampling order, so its
fits are computed once for all units that have that size: in the "all" sampler's unit when it
runs, otherwise in a task of their own where that reads fewer configurations than every unit
streaming the pool to its end (always with independent draws). Each unit's rows still carry its
own sampler, repetition and sampling order.

:func:`run_sweep` works per 2Jmax in four stages: :func:`join_configurations` (descriptors x
labels by configuration id), :func:`plan_units` (the units with missing rows, each a
:class:`NestedUnit` or :class:`IndependentUnit` holding all it needs, and the shared fit of the
whole pool), :func:`execute_units` (each unit is the single argument of :func:`unit_fits` on
the executor) and :func:`tabulate` (fit records -> table rows).

Stresses: with descriptor blocks that carry the six virial rows (``virial=True``, the default of
``AppmlipDescriptors`` jobs) and labels with stresses and cell volumes, the stress errors are
reported (GPa) and, with ``SweepGrid.stress_weight > 0``, the stresses are fitted (see
:mod:`pyiron_appmlip.core.statistics` for the convention). Whether a block has virial rows is read from its row count and the atom
count of its labels. Per-group weight factors (``group_weights``) multiply the weights of the
training configurations of a group (:attr:`~pyiron_appmlip.training.labels.Labels.groups`); they
are fixed for a sweep and do not change the errors.

Pure numpy (no pyiron); :class:`~pyiron_appmlip.jobs.sweep.AppmlipSweep` is the job shell.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ..core import (
    DEFAULT_RCOND,
    DETERMINISTIC_SELECTORS,
    SAMPLERS,
    SELECTORS,
    EnergyFactors,
    SubsetFit,
    SufficientStatistics,
    feature_rows,
    fit_delta,
    fit_level_pair,
    iter_checkpoints,
    leverage_scores_streamed,
    repeated_orders,
    shared_subset_fits,
    statistics_budget,
    statistics_errors_batch,
    statistics_fits,
    subset_fits,
)
from ..core.validation import WeightPair, as_weight_pairs, check_stress_weight, check_weights
from ..dft.levels import level_label, level_order
from ..executors import describe_executor, run_tasks
from .costs import dft_costs, row_dft_cost
from .labels import parse_group_weights, parse_weights
from .table import (
    KEY_COLUMNS,
    delta_label,
    energies_apart,
    fit_key,
    level_pair_label,
    make_row,
    row_key,
)

__all__ = [
    "SweepGrid",
    "BlockSource",
    "InMemoryBlocks",
    "run_sweep",
    "fit_table",
    "UnitKey",
    "FitSettings",
    "NestedUnit",
    "IndependentUnit",
    "unit_fits",
    "multi_fidelity_fits",
    "parse_level_pairs",
    "Join",
    "Plan",
    "join_configurations",
    "plan_units",
    "unit_row_keys",
    "execute_units",
    "tabulate",
    "row_key",
    "KEY_COLUMNS",
    "SWEEP_SAMPLERS",
    "FIT_CONVENTIONS",
    "DRAWS",
    "ENERGY_DRAWS",
]

SWEEP_SAMPLERS = (*SAMPLERS, "all")

#: How each fit is solved (``SweepGrid.fit_convention``): the keywords of
#: :func:`~pyiron_appmlip.core.subset_fits`. "package": an explicit constant column (the per-atom
#: reference energy), unit-norm column scaling and the package's singular-value cutoff;
#: "authors": the paper authors' scripts, no constant column and ``lstsq(A, y, cond=1e-13)``.
FIT_CONVENTIONS = {
    "package": {"rcond": DEFAULT_RCOND, "scale_columns": True, "constant": True},
    "authors": {"rcond": 1e-13, "scale_columns": False, "constant": False},
}
#: ``SweepGrid.draws``: "nested" subsets are prefixes of one sampling order per repetition (one
#: pass gives every size); "independent" draws every size afresh, as the paper authors did.
DRAWS = ("nested", "independent")
#: ``SweepGrid.energy_draw``: a level pair's energies on the first ``n_energy`` configurations
#: of its training subset ("nested") or on the ``n_energy`` after it ("apart").
ENERGY_DRAWS = ("nested", "apart")


@dataclass
class SweepGrid:
    """The factorial design.

    Attributes:
        train_levels: levels to train on (names as in the labels mapping).
        subset_sizes: training subset sizes (positive ints, each at most the pool size).
        weights: (energy_weight, force_weight) pairs; a number r means (r, 1).
        samplers: "leverage" (regular), "block_leverage", "random", the label-free selectors
            "maxvol", "d_optimal", "cur", "fps" and "entropy"
            (:mod:`pyiron_appmlip.core.selectors`), and/or "all" (the whole pool, one unit
            regardless of repetitions and sizes).
        repetitions: independent sampling orders per sampler (leverage and random). The
            deterministic selectors "maxvol", "d_optimal" and "cur" have one order: one unit
            (repetition 0) whatever ``repetitions`` is. "fps" and "entropy" start repetition 0
            from their deterministic first configuration, the others from one drawn at random.
        seed: root seed; repetition r of a sampler uses the r-th child of SeedSequence(seed),
            so results do not depend on how many repetitions are asked for.
        leverage_weights: (w_E, w_F) of the weighted matrix whose leverage drives the samplers
            and whose rows the "d_optimal" selector weighs (default: the first weight pair).
        stress_weight: weight w_S of the stress rows of every fit (finite, >= 0; default 0:
            stresses are not fitted, only their errors reported where available).
        draws: "nested" (default; the subsets of one repetition are prefixes of one sampling
            order) or "independent" (every subset size of every repetition is a fresh draw, as
            in the paper authors' scripts; one pass per size instead of one per repetition).
        fit_convention: a key of :data:`FIT_CONVENTIONS` ("package" or "authors").
        level_pairs: ``(energy_level, force_level)`` pairs of multi-fidelity fits: energy rows
            from the first level, force (and stress) rows from the second
            (:func:`~pyiron_appmlip.core.multi_fidelity.fit_level_pair`). Rows have
            ``model_kind`` "level_pair" and ``train_level`` "E<a>+F<b>"; they need labels at
            both levels for every pool configuration, like the training levels.
        delta_pairs: ``(low_level, high_level)`` pairs of Delta models: a fit to the low level
            on the training subset plus a correction fitted to ``high - low`` on its first
            ``n_energy`` configurations (:func:`~pyiron_appmlip.core.multi_fidelity.fit_delta`),
            one linear model. Rows have ``model_kind`` "delta" and ``train_level``
            "<low>+delta(<high>)".
        energy_sizes: sizes of the energy subset of level pairs and of the correction set of
            Delta models: the first n configurations of the training subset (so they lie inside
            it and cost one calculation more each). Each size up to the training subset's gives
            a row; empty (default): the whole training subset. Needs ``draws="nested"``.
        energy_draw: where a level pair's energies come from: ``"nested"`` (default; the
            first ``n_energy`` configurations of its training subset) or ``"apart"`` (the
            ``n_energy`` configurations after the training subset in the same sampling order:
            other configurations, each costing one calculation at the energy level only).
            Delta corrections are always nested.
        delta_twojmax: the 2Jmax of the Delta models' corrections, at most each source's 2Jmax
            (its bispectrum columns are some of the larger 2Jmax's; the sum is one potential at
            the source's 2Jmax). Needs the descriptor settings of every source (a source's
            ``settings``); None (default): the source's own 2Jmax. Rows' ``train_level`` is then
            "<low>+delta(<high>, 2J<t>)".
    """

    train_levels: Sequence
    subset_sizes: Sequence[int]
    weights: Sequence
    samplers: Sequence[str] = ("leverage", "block_leverage", "random")
    repetitions: int = 1
    seed: int = 0
    leverage_weights: tuple | None = None
    stress_weight: float = 0.0
    draws: str = "nested"
    fit_convention: str = "package"
    level_pairs: Sequence = ()
    delta_pairs: Sequence = ()
    energy_sizes: Sequence[int] = ()
    delta_twojmax: int | None = None
    energy_draw: str = "nested"

    def __post_init__(self):
        self.train_levels = list(dict.fromkeys(level_label(lv) for lv in self.train_levels))
        if not self.train_levels:
            raise ValueError("train_levels must name at least one level; the grid is empty")
        sizes = []
        for s in self.subset_sizes:
            if isinstance(s, bool) or not isinstance(s, int | float | np.number) or s != int(s):
                raise ValueError(
                    f"subset_sizes must be positive integers, got {list(self.subset_sizes)!r}"
                )
            sizes.append(int(s))
        if not sizes and any(s != "all" for s in self.samplers):
            raise ValueError("subset_sizes must contain at least one size; the grid is empty")
        if any(s < 1 for s in sizes):
            raise ValueError(
                f"subset_sizes must be positive integers, got {list(self.subset_sizes)!r}"
            )
        self.subset_sizes = sorted(set(sizes))
        self.weights = list(dict.fromkeys(parse_weights(list(self.weights))))
        self.samplers = list(dict.fromkeys(self.samplers))
        if not self.samplers:
            raise ValueError(
                f"samplers must name at least one of {SWEEP_SAMPLERS}; the grid is empty"
            )
        for s in self.samplers:
            if s not in SWEEP_SAMPLERS:
                raise ValueError(f"sampler must be one of {SWEEP_SAMPLERS}, got {s!r}")
        if not isinstance(self.repetitions, int | np.integer) or self.repetitions < 1:
            raise ValueError(f"repetitions must be a positive integer, got {self.repetitions!r}")
        self.repetitions = int(self.repetitions)
        self.seed = int(self.seed)
        lw = self.weights[0] if self.leverage_weights is None else self.leverage_weights
        self.leverage_weights = check_weights(*lw)
        self.stress_weight = check_stress_weight(self.stress_weight)
        if self.draws not in DRAWS:
            raise ValueError(f"draws must be one of {DRAWS}, got {self.draws!r}")
        if self.fit_convention not in FIT_CONVENTIONS:
            raise ValueError(
                f"fit_convention must be one of {tuple(FIT_CONVENTIONS)}, got "
                f"{self.fit_convention!r}"
            )
        self.level_pairs = parse_level_pairs(self.level_pairs, "level_pairs")
        self.delta_pairs = parse_level_pairs(self.delta_pairs, "delta_pairs")
        energy_sizes = []
        for n in self.energy_sizes:
            if isinstance(n, bool) or not isinstance(n, int | float | np.number) or n != int(n):
                raise ValueError(
                    f"energy_sizes must be positive integers, got {list(self.energy_sizes)!r}"
                )
            if n < 1:
                raise ValueError(
                    f"energy_sizes must be positive integers, got {list(self.energy_sizes)!r}"
                )
            energy_sizes.append(int(n))
        self.energy_sizes = sorted(set(energy_sizes))
        if self.delta_twojmax is not None:
            from ..descriptors.settings import check_twojmax

            if not self.delta_pairs:
                raise ValueError(
                    "delta_twojmax is set but there are no delta_pairs; give delta_pairs or "
                    "leave delta_twojmax None"
                )
            self.delta_twojmax = check_twojmax(self.delta_twojmax)
        if self.energy_draw not in ENERGY_DRAWS:
            raise ValueError(f"energy_draw must be one of {ENERGY_DRAWS}, got {self.energy_draw!r}")
        if self.energy_draw == "apart" and not (self.level_pairs and self.energy_sizes):
            raise ValueError(
                "energy_draw='apart' needs level_pairs and energy_sizes (how many configurations "
                "after each training subset carry the energies)"
            )
        mixed = bool(self.level_pairs or self.delta_pairs)
        if self.energy_sizes and not mixed:
            raise ValueError(
                "energy_sizes is set but no level_pairs or delta_pairs use it; give level_pairs "
                "(energies and forces from two levels) or delta_pairs, or leave energy_sizes empty"
            )
        if mixed and self.draws != "nested":
            raise ValueError(
                "level_pairs and delta_pairs need draws='nested' (an energy subset is a prefix "
                f"of its training subset's sampling order); got draws={self.draws!r}"
            )
        if self.energy_sizes and self.subset_sizes and "all" not in self.samplers:
            too_big = [n for n in self.energy_sizes if n > max(self.subset_sizes)]
            if too_big:
                raise ValueError(
                    f"energy_sizes {too_big} larger than every subset size "
                    f"({max(self.subset_sizes)} at most): an energy subset lies inside its "
                    "training subset"
                )

    @property
    def pool_levels(self) -> list:
        """Every level a pool configuration needs labels at: the training levels and those of
        ``level_pairs`` and ``delta_pairs``."""
        pairs = [lv for pair in (*self.level_pairs, *self.delta_pairs) for lv in pair]
        return list(dict.fromkeys([*self.train_levels, *pairs]))

    def row_specs(self, size: int, n_pool: int | None = None) -> list[tuple[str, int]]:
        """``(train_level label, n_energy)`` of every row of one subset size and weight pair:
        the training levels, then the level pairs and Delta models at each energy size. With
        ``energy_draw="apart"`` a level pair's energy sizes are those that fit after the subset
        in a pool of ``n_pool`` configurations (all of them when ``n_pool`` is None)."""
        out = [(lv, int(size)) for lv in self.train_levels]
        sizes = [n for n in self.energy_sizes if n <= size] or [int(size)]
        if self.energy_draw == "apart":
            room = None if n_pool is None else int(n_pool) - int(size)
            apart = [n for n in self.energy_sizes if room is None or n <= room]
            out += [
                (level_pair_label(e, f, apart=True), n) for e, f in self.level_pairs for n in apart
            ]
        else:
            out += [(level_pair_label(e, f), n) for e, f in self.level_pairs for n in sizes]
        dt = self.delta_twojmax
        out += [(delta_label(lo, hi, dt), n) for lo, hi in self.delta_pairs for n in sizes]
        return out

    def units(self, twojmax_values) -> list[UnitKey]:
        """The units of the grid for the given 2Jmax values: one per sampler and repetition
        (one for "all" and the deterministic selectors), as :class:`UnitKey` tuples
        ``(twojmax, sampler, repetition)``."""
        out = []
        for t in twojmax_values:
            for s in self.samplers:
                one = s == "all" or s in DETERMINISTIC_SELECTORS
                reps = [0] if one else range(self.repetitions)
                out.extend(UnitKey(int(t), s, int(r)) for r in reps)
        return out

    def to_dict(self) -> dict:
        return {
            "train_levels": list(self.train_levels),
            "subset_sizes": list(self.subset_sizes),
            "weights": [list(w) for w in self.weights],
            "samplers": list(self.samplers),
            "repetitions": self.repetitions,
            "seed": self.seed,
            "leverage_weights": list(self.leverage_weights),
            "stress_weight": self.stress_weight,
            # recorded only when not the default, so that stored sweeps keep their identity
            **({"draws": self.draws} if self.draws != "nested" else {}),
            **({"fit_convention": self.fit_convention} if self.fit_convention != "package" else {}),
            **({"level_pairs": [list(p) for p in self.level_pairs]} if self.level_pairs else {}),
            **({"delta_pairs": [list(p) for p in self.delta_pairs]} if self.delta_pairs else {}),
            **({"energy_sizes": list(self.energy_sizes)} if self.energy_sizes else {}),
            **({"delta_twojmax": self.delta_twojmax} if self.delta_twojmax is not None else {}),
            **({"energy_draw": self.energy_draw} if self.energy_draw != "nested" else {}),
        }

    def order_seed(self, size: int | None = None):
        """Seed of the sampling orders: ``seed`` for nested draws, ``[seed, size]`` for the
        independent draws of one subset size."""
        return self.seed if size is None or self.draws == "nested" else [self.seed, int(size)]


def parse_level_pairs(pairs, name: str = "level_pairs") -> list[tuple[str, str]]:
    """``pairs`` as distinct ``(level label, level label)`` tuples of two different levels."""
    out = []
    for pair in pairs or ():
        if isinstance(pair, str) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise ValueError(f"{name} must be a list of (level, level) pairs, got {list(pairs)!r}")
        a, b = (level_label(lv) for lv in pair)
        if a == b:
            raise ValueError(
                f"{name}: the pair ({a!r}, {b!r}) names one level twice; a single level is a "
                "train level (train_levels)"
            )
        out.append((a, b))
    return list(dict.fromkeys(out))


class BlockSource:
    """What the sweep needs of a descriptor set: ``ids`` and ``iter_blocks(ids)``."""

    ids: Sequence[str]

    def iter_blocks(self, ids: Iterable[str]) -> Iterable[np.ndarray]:  # pragma: no cover
        raise NotImplementedError


class InMemoryBlocks(BlockSource):
    """A :class:`BlockSource` over a dict ``{configuration id: block}`` (tests, small sets).

    Args:
        blocks: the blocks by configuration id.
        settings: the descriptor settings the blocks were computed with (optional; Delta
            models on a smaller 2Jmax need them for the column mapping).
    """

    def __init__(self, blocks: Mapping[str, np.ndarray], settings=None):
        self._blocks = {str(k): v for k, v in blocks.items()}
        self.ids = list(self._blocks)
        self.settings = settings

    def iter_blocks(self, ids):
        for i in ids:
            yield self._blocks[i]


def run_sweep(
    sources: Mapping[int, BlockSource],
    labels: Mapping,
    train_ids: Sequence[str],
    test_ids: Sequence[str],
    grid: SweepGrid | Sequence[SweepGrid],
    truth_level,
    *,
    done: Iterable[tuple] = (),
    on_unit_done: Callable[[tuple, list[dict]], None] | None = None,
    atom_steps_per_second: Mapping[int, float] | None = None,
    ridge: float = 0.0,
    progress: Callable[[str], None] | None = None,
    join_report: dict | None = None,
    executor="serial",
    group_weights: Mapping | None = None,
    level_costs: Mapping | None = None,
    engine: str = "units",
    test_weights=None,
    reuse: dict | None = None,
) -> list[dict]:
    """Run every unit of ``grid`` whose rows are not all in ``done``; return the new rows.

    Memory: the labels (small) plus, per unit running, one accumulator of p x p R factors
    (nested draws) or at most the 2 GiB of :func:`~pyiron_appmlip.core.statistics_budget`
    (independent draws, whose sizes are built from each other); blocks are streamed from the
    sources in sampling order.

    Args:
        sources: 2Jmax -> :class:`BlockSource` (e.g. a descriptor job's block store). A source
            with a ``job_id`` attribute has it recorded in the ``descriptors_job`` column.
        labels: level -> :class:`~pyiron_appmlip.training.labels.Labels`; levels are named by
            :func:`~pyiron_appmlip.dft.levels.level_label`.
        train_ids: training partition; the training pool is the training ids that have
            descriptors and finished labels at every training level.
        test_ids: test partition; empty for no test set (every configuration trains): then
            every test-error column is NaN and ``n_test`` is 0.
        grid: the :class:`SweepGrid`, or several: their units are handed to the executor as
            one batch per 2Jmax (largest first), so no worker waits for the last unit of one
            grid before the next grid starts; the rows come grid by grid, in the order given.
            A row an earlier grid produces is not repeated by a later one (as with one call
            per grid, each given the rows before it as ``done``).
        truth_level: the level test errors are also measured against (the reference level).
        done: row keys (:func:`~pyiron_appmlip.training.table.row_key`) already computed.
        on_unit_done: called with ``(unit, rows)`` after each unit, e.g. to store rows
            atomically.
        atom_steps_per_second: 2Jmax -> measured MLIP MD throughput, copied into the rows.
        ridge: ridge term of every fit.
        progress: called with a message per unit.
        join_report: if given, filled per 2Jmax with how descriptors and labels were joined:
            ``descriptors``, ``pool``, ``test`` (counts), ``without_labels`` (descriptor
            configurations left out because a needed level has no finished label, or a test
            configuration none at the truth level) and ``without_descriptors`` (labelled
            configurations the descriptors lack). With several grids these are the first
            grid's, and ``per_grid`` holds the same entry for every grid in order (grids
            needing other levels may leave out other configurations).
        executor: where the units run, an executor spec (:mod:`pyiron_appmlip.executors`);
            ``"serial"`` (default) runs them here one after the other, ``"local"`` on all
            local cores. Rows do not depend on it.
        group_weights: ``{group: (energy_factor, force_factor, stress_factor)}`` multiplying
            ``w_E``, ``w_F`` and ``w_S`` for the training configurations of that group (the
            labels' ``groups``); groups not named keep factors 1.
        level_costs: a given DFT cost per level, ``{level: {"per_configuration": s}}``,
            ``{level: {"per_atom": s}}`` or ``{level: {"model": CostModel}}``
            (:func:`~pyiron_appmlip.dft.cost.parse_level_costs`), for labels without recorded
            times (imported data). It wins over recorded times. Each row's ``dft_seconds`` is
            the sum over its training configurations and ``dft_cost_source`` says where the
            cost comes from (:mod:`pyiron_appmlip.training.costs`).
        engine: ``"units"`` (default: every unit on its own, with ``executor``) or
            ``"scatter"``: the units of independent draws without ridge, stresses and weight
            factors all together in this process, from passes over the pool that read each
            configuration once (:func:`scatter_unit_fits`; the same rows up to rounding, in
            far less time for many repetitions; accumulators up to 3 GiB).
        test_weights: how many configurations each test configuration counts as in the test
            errors: ``{configuration id: weight}`` for every test id, or one weight per test id
            in the order of ``test_ids`` (finite numbers > 0; e.g. the weights of a pilot's
            test set drawn by leverage, :class:`~pyiron_appmlip.planning.pilot.PilotDesign`
            ``test_weights``). The test RMSEs are then weighted means of the squared errors
            (energies per configuration, forces per component). None (default): every test
            configuration counts once.
        reuse: a dict the caller keeps between calls on the same sources and labels (e.g. one
            grid after another): the test set's statistics and the pool's leverage scores are
            computed once and taken from it by later calls. Entries are keyed by everything
            they depend on (the source and label objects, the configuration ids in order, the
            levels, the test weights, the leverage weights), so a call that differs in any of
            them computes its own. None (default): nothing is kept.

    Returns:
        One dict per fit with the columns of :data:`~pyiron_appmlip.training.table.COLUMNS`
        plus ``coefficients`` (constant first) and ``training_ids`` (the subset, in sampling
        order).

    Raises:
        ValueError: besides malformed input, if ``group_weights`` names a group no
            configuration has (the message names the groups present), a configuration's block
            has neither 1 + 3 N nor 1 + 3 N + 6 rows for its N labelled atoms, a used stress has
            no cell volume, ``grid.stress_weight > 0`` while no training configuration has a
            recorded stress, or ``level_costs`` is malformed or names a level without labels.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    grids = [grid] if isinstance(grid, SweepGrid) else list(grid) if _is_sequence(grid) else None
    if not grids or not all(isinstance(g, SweepGrid) for g in grids):
        raise ValueError(
            f"grid must be a SweepGrid or a non-empty sequence of SweepGrids, got {grid!r}"
        )
    labels = {level_label(k): v for k, v in labels.items()}
    truth = level_label(truth_level)
    for g in grids:
        _check_sweep_input(sources, labels, train_ids, g, truth)
    weights_of = weights_by_test_id(test_weights, test_ids)
    done_rows = set(done)  # shared: a row of an earlier grid is not repeated by a later one
    shared = {} if reuse is None else reuse
    factors = parse_group_weights(group_weights)
    sweeps = []
    for g in grids:
        all_levels = list(dict.fromkeys([*g.pool_levels, truth]))
        sweeps.append(
            _Sweep(
                grid=g,
                labels=labels,
                truth=truth,
                all_levels=all_levels,
                factors_of=_group_factors(labels, all_levels, factors),
                costs=dft_costs(labels, train_ids, g.pool_levels, level_costs),
                volumes=_volumes(labels, all_levels),
                aps=dict(atom_steps_per_second or {}),
                ridge=ridge,
                done=done_rows,
                test_weights=weights_of,
                reuse=shared,
            )
        )
    log = progress or (lambda msg: None)
    rows_out: list[dict] = []
    for twojmax in sorted(sources):
        source = sources[twojmax]
        plans, ahead = {}, set()
        for k, sweep in enumerate(sweeps):
            g = sweep.grid
            join = join_configurations(twojmax, source, labels, train_ids, test_ids, g, truth)
            if join_report is not None:
                if k == 0:
                    join_report[int(twojmax)] = join.report()
                if len(sweeps) > 1:
                    join_report[int(twojmax)].setdefault("per_grid", []).append(join.report())
            if k == 0:
                first_join = join
            differs = k > 0 and (join.pool, join.test) != (first_join.pool, first_join.test)
            if (join.without_labels or join.without_descriptors) and (k == 0 or differs):
                log(
                    f"2Jmax {twojmax}{f' (grid {k})' if differs else ''}: "
                    f"{len(join.without_labels)} configurations with "
                    f"descriptors left out (no finished label at a needed level), "
                    f"{len(join.without_descriptors)} labelled configurations have no descriptors"
                )
            join.check(g, truth)
            if not join.test and k == 0:
                log(
                    f"2Jmax {twojmax}: no test set (no configuration held out): the test-error "
                    "columns are NaN, the *_train columns are errors on the training subset"
                )
            plan = plan_units(twojmax, source, join, sweep, log, ahead)
            if plan is None:
                log(f"2Jmax {twojmax}: all {len(g.units([twojmax]))} units done earlier")
                continue
            plans[k] = plan
            if len(grids) > 1:  # a later grid does not plan what this one computes
                ahead.update(
                    key for unit in plan.todo for key in unit_row_keys(unit, g, len(join.pool))
                )
        if not plans:
            continue
        n_units = sum(len(p.units) for p in plans.values())
        shares = [len(p.pool_users) for p in plans.values() if p.pool_users]
        pooled = f"; the whole pool fitted once for {sum(shares)} units" if shares else ""
        log(f"2Jmax {twojmax}: {n_units} units ({describe_executor(executor, n_units)})" + pooled)
        finished = {(k, key): [] for k, p in plans.items() for key in p.todo}
        batch = plans if len(grids) > 1 else plans[0]
        for tagged, records in execute_units(batch, executor, engine):
            k, key = tagged if len(grids) > 1 else (0, tagged)
            plan, sweep = plans[k], sweeps[k]
            sizes = sorted({r.subset_size for r in records})
            for served in plan.served_by(key):
                unit_rows = tabulate(served, records, plan, sweep)
                sweep.done.update(row_key(r) for r in unit_rows)
                log(f"2Jmax {twojmax}: {served[1]} repetition {served[2]} done, sizes {sizes}")
                if on_unit_done is not None:
                    on_unit_done(served, unit_rows)
                finished[(k, served)] += unit_rows
        for k, plan in plans.items():
            for key in plan.todo:
                rows_out.extend(sorted(finished[(k, key)], key=lambda r: r["subset_size"]))
    return rows_out


def _is_sequence(value) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def _check_sweep_input(sources, labels: dict, train_ids, grid: SweepGrid, truth: str) -> None:
    """Refuse levels without labels, no sources, and a stress fit without stresses."""
    if truth not in labels:
        raise ValueError(
            f"truth_level {truth!r} has no labelling job; levels with labels: {sorted(labels)}"
        )
    for lv in grid.train_levels:
        if lv not in labels:
            raise ValueError(
                f"train level {lv!r} has no labelling job; levels with labels: {sorted(labels)}"
            )
    for name in ("level_pairs", "delta_pairs"):
        for pair in getattr(grid, name):
            lacking = [lv for lv in pair if lv not in labels]
            if lacking:
                raise ValueError(
                    f"{name} names level(s) {lacking} in {pair}, which have no labels; levels "
                    f"with labels: {sorted(labels)}"
                )
    if not sources:
        raise ValueError("sources must map at least one 2Jmax to its descriptors; got none")
    if grid.stress_weight > 0 and not any(
        labels[lv].stresses and any(labels[lv].stress(i) is not None for i in train_ids)
        for lv in grid.train_levels
    ):
        raise ValueError(
            f"stress_weight={grid.stress_weight} but no training configuration has a recorded "
            f"stress at the training levels {grid.train_levels}; set stress_weight to 0 or "
            "provide stresses (and cell volumes) in the labels"
        )


@dataclass
class _Sweep:
    """What every 2Jmax of one :func:`run_sweep` call shares; ``done`` grows as rows come."""

    grid: SweepGrid
    labels: dict
    truth: str
    all_levels: list
    factors_of: dict
    costs: dict
    volumes: dict
    aps: dict
    ridge: float
    done: set
    test_weights: dict = field(default_factory=dict)
    reuse: dict = field(default_factory=dict)

    def reused(self, what: str, depends_on: tuple, compute: Callable):
        """``compute()``, or its stored value when ``depends_on`` (objects compared by identity,
        the rest by value) is the same as in an earlier call."""
        objects = tuple(o for o in depends_on if not isinstance(o, str | int | float | tuple))
        key = (what, tuple(id(o) for o in objects)) + tuple(
            o for o in depends_on if isinstance(o, str | int | float | tuple)
        )
        hit = self.reuse.get(key)
        if hit is not None and all(a is b for a, b in zip(hit[0], objects, strict=True)):
            return hit[1]
        value = compute()
        self.reuse[key] = (objects, value)  # holding the objects keeps their ids unique
        return value


def weights_by_test_id(test_weights, test_ids) -> dict:
    """``{test id: weight}`` from ``test_weights`` (a mapping by id, or one weight per id of
    ``test_ids`` in order); ``{}`` for None (every weight 1).

    Raises:
        ValueError: naming ``test_weights``, for a sequence of the wrong length, a mapping
            without a weight for some test id, or a weight that is not a finite number > 0.
    """
    if test_weights is None:
        return {}
    ids = [str(i) for i in test_ids]
    if isinstance(test_weights, Mapping):
        given = {str(k): v for k, v in test_weights.items()}
        lacking = [i for i in ids if i not in given]
        if lacking:
            raise ValueError(
                f"test_weights has no weight for {len(lacking)} test configuration(s), e.g. "
                f"{lacking[:3]}: give one weight per test id"
            )
        values = [given[i] for i in ids]
    else:
        values = list(test_weights)
        if len(values) != len(ids):
            raise ValueError(
                f"test_weights must hold one weight per test id ({len(ids)}), got {len(values)}"
            )
    try:
        w = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            f"test_weights must be finite numbers > 0, got {values[:5]!r}..."
        ) from None
    bad = ~np.isfinite(w) | (w <= 0)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"test_weights must be finite numbers > 0; test id {ids[k]!r} has {values[k]!r}"
        )
    return dict(zip(ids, (float(x) for x in w), strict=True))


# -- stage 1: join -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Join:
    """Descriptors and labels of one 2Jmax joined by configuration id.

    Attributes:
        twojmax: the 2Jmax of the descriptors.
        n_descriptors: how many configurations have descriptors.
        pool: the training pool: training ids with descriptors and finished labels at every
            training level, in the order of the training ids.
        test: test ids with descriptors and a label at the truth level.
        without_labels: configurations of the split with descriptors left out (a needed level
            has no finished label).
        without_descriptors: labelled configurations the descriptors lack.
        n_test_ids: how many configurations the test partition has (0: no test set).
    """

    twojmax: int
    n_descriptors: int
    pool: tuple[str, ...]
    test: tuple[str, ...]
    without_labels: tuple[str, ...]
    without_descriptors: tuple[str, ...]
    n_test_ids: int = 0

    def report(self) -> dict:
        """The entry of ``run_sweep``'s ``join_report`` (counts and id lists)."""
        return {
            "descriptors": self.n_descriptors,
            "pool": len(self.pool),
            "test": len(self.test),
            "without_labels": list(self.without_labels),
            "without_descriptors": list(self.without_descriptors),
        }

    def check(self, grid: SweepGrid, truth: str) -> None:
        """Refuse an empty pool or test set, and subset sizes larger than the pool."""
        if not self.pool:
            raise ValueError(
                f"2Jmax {self.twojmax}: no training configuration has descriptors and finished "
                f"labels at every needed level {grid.pool_levels}"
            )
        if not self.test and self.n_test_ids:
            raise ValueError(
                f"2Jmax {self.twojmax}: none of the {self.n_test_ids} test configurations has "
                f"descriptors and labels at truth level {truth!r}"
            )
        too_big = [s for s in grid.subset_sizes if s > len(self.pool)]
        too_big += [s for s in grid.energy_sizes if s > len(self.pool) and s not in too_big]
        if too_big and any(s != "all" for s in grid.samplers):
            raise ValueError(
                f"subset_size {too_big} larger than the training pool ({len(self.pool)} "
                f"configurations for 2Jmax {self.twojmax}); allowed: 1..{len(self.pool)}"
            )


def join_configurations(
    twojmax, source: BlockSource, labels: Mapping, train_ids, test_ids, grid: SweepGrid, truth
) -> Join:
    """Join the descriptors of one 2Jmax with the labels by configuration id.

    Args:
        twojmax: the 2Jmax of ``source`` (named in messages).
        source: the descriptors (:class:`BlockSource`).
        labels: level label -> :class:`~pyiron_appmlip.training.labels.Labels`.
        train_ids: the training partition.
        test_ids: the test partition.
        grid: the :class:`SweepGrid` (its training levels).
        truth: the label of the truth level.

    Returns:
        The :class:`Join`.

    Raises:
        ValueError: if the descriptors and the labels share no configuration id.
    """
    all_levels = list(dict.fromkeys([*grid.pool_levels, truth]))
    source_ids = set(source.ids)
    ids_of = {lv: labels[lv].ids for lv in all_levels}  # built once: a set per call otherwise
    pool = [
        i for i in train_ids if i in source_ids and all(i in ids_of[lv] for lv in grid.pool_levels)
    ]
    test = [i for i in test_ids if i in source_ids and i in ids_of[truth]]
    labelled = set().union(*ids_of.values())
    if not source_ids & labelled:
        raise ValueError(
            f"2Jmax {twojmax}: the descriptors ({len(source_ids)} configurations) and the "
            f"labels (levels {all_levels}, {len(labelled)} configurations) share no "
            "configuration id; ids are content hashes of the structures, so the two were "
            "computed for different structures"
        )
    in_split = set(train_ids) | set(test_ids)
    used = set(pool) | set(test)
    return Join(
        twojmax=twojmax,
        n_descriptors=len(source_ids),
        pool=tuple(pool),
        test=tuple(test),
        without_labels=tuple(sorted(i for i in source_ids & in_split if i not in used)),
        without_descriptors=tuple(sorted(labelled - source_ids)),
        n_test_ids=len(test_ids),
    )


# -- the work units ------------------------------------------------------------------------------
class UnitKey(NamedTuple):
    """Names a sweep unit: one sampling order (or, with independent draws, one set of draws)
    of the training pool. ``sampler`` is ``"pool"`` for the task that fits the whole pool once
    for several units."""

    twojmax: int
    sampler: str
    repetition: int


@dataclass(frozen=True)
class FitSettings:
    """What every fit of the units of one 2Jmax shares.

    Attributes:
        weights: the ``(w_E, w_F)`` pairs, already checked.
        train_levels: the training levels.
        test_statistics: streamed statistics of the test configurations.
        test_levels: the levels the test errors are measured against.
        ridge: ridge term of every fit.
        n_descriptors: number of descriptor columns p.
        stress_weight: weight w_S of the stress rows (0: stresses not fitted).
        fit_options: keywords of :func:`~pyiron_appmlip.core.subset_fits` (``rcond``,
            ``scale_columns``, ``constant``), e.g. a value of :data:`FIT_CONVENTIONS`.
        level_pairs: ``(energy_level, force_level)`` pairs (:attr:`SweepGrid.level_pairs`).
        delta_pairs: ``(low_level, high_level)`` pairs (:attr:`SweepGrid.delta_pairs`).
        energy_sizes: energy subset sizes (:attr:`SweepGrid.energy_sizes`).
        delta_columns: the descriptor columns of the Delta corrections (None: all).
        delta_twojmax: their 2Jmax (None: the source's), named in the rows.
        energy_draw: :attr:`SweepGrid.energy_draw`.
    """

    weights: tuple[WeightPair, ...]
    train_levels: tuple
    test_statistics: SufficientStatistics | None
    test_levels: tuple | None
    ridge: float
    n_descriptors: int
    stress_weight: float = 0.0
    fit_options: Mapping = field(default_factory=dict)
    level_pairs: tuple = ()
    delta_pairs: tuple = ()
    energy_sizes: tuple = ()
    delta_columns: tuple | None = None
    delta_twojmax: int | None = None
    energy_draw: str = "nested"

    def keywords(self) -> dict:
        """The keywords a unit passes to :func:`~pyiron_appmlip.core.subset_fits` (nested
        draws) or :func:`~pyiron_appmlip.core.shared_subset_fits` (independent draws)."""
        return dict(
            test_statistics=self.test_statistics,
            test_levels=None if self.test_levels is None else list(self.test_levels),
            ridge=self.ridge,
            n_descriptors=self.n_descriptors,
            stress_weight=self.stress_weight,
            **(self.fit_options or {}),
        )


@dataclass(frozen=True)
class NestedUnit:
    """One sweep unit of nested draws: the subsets are prefixes of one sampling order, and one
    pass over its blocks gives the fits of every size, weight pair and training level.

    Picklable (a block store is opened by path), so an executor can run it anywhere.

    Attributes:
        source: the :class:`BlockSource` of the blocks.
        ordered_ids: configuration ids in sampling order, as many as the largest size.
        labels: ``{configuration id: {level: (energy, forces)}}`` of those ids, or
            ``(energy, forces, stress)`` where a stress is recorded (eV, eV/Angstrom,
            eV/Angstrom^3).
        sizes: subset sizes (prefix lengths of ``ordered_ids``).
        settings: the :class:`FitSettings`.
        options: ``{configuration id: {"n_atoms": N, "volume": V, "factors": (f_E, f_F,
            f_S)}}`` (all optional): with ``n_atoms`` a block of 1 + 3 N + 6 rows is read as
            having virial rows; ``volume`` in Angstrom^3.
    """

    source: BlockSource
    ordered_ids: tuple[str, ...]
    labels: Mapping
    sizes: tuple[int, ...]
    settings: FitSettings
    options: Mapping = field(default_factory=dict)

    def run(self) -> list:
        """The :class:`~pyiron_appmlip.core.fit.SubsetFit` records of every size, weight pair
        and training level.

        Raises:
            ValueError: if ``stress_weight > 0`` and no configuration of the unit has both a
                recorded stress and virial rows.
        """
        s = self.settings
        with_stress = [0]
        items = _unit_items(self.source, self.ordered_ids, self.labels, self.options, with_stress)
        if s.level_pairs or s.delta_pairs:
            records = multi_fidelity_fits(
                items, list(self.sizes), s, n_stream=len(self.ordered_ids)
            )
        else:
            records = subset_fits(
                items, list(self.sizes), list(s.weights), list(s.train_levels), **s.keywords()
            )
        _check_unit_stress(s.stress_weight, with_stress[0], len(self.ordered_ids))
        return records


@dataclass(frozen=True)
class IndependentUnit:
    """One sweep unit of independent draws: every subset size on its own sampling order.

    The draws of different sizes share configurations; their statistics are built from each
    other (:func:`~pyiron_appmlip.core.plan_subsets`), so the unit reads fewer configurations
    than one pass per size. Picklable.

    Attributes:
        source: the :class:`BlockSource` of the blocks.
        orders: ``{size: ordered ids}``, as many ids as the size.
        labels: as for :class:`NestedUnit`, for every id of ``orders``.
        settings: the :class:`FitSettings`.
        options: as for :class:`NestedUnit`.
    """

    source: BlockSource
    orders: Mapping[int, tuple[str, ...]]
    labels: Mapping
    settings: FitSettings
    options: Mapping = field(default_factory=dict)

    @property
    def ordered_ids(self) -> tuple[str, ...]:
        """Every configuration id the unit reads, in order of first use."""
        return tuple(dict.fromkeys(c for ordered in self.orders.values() for c in ordered))

    def run(self) -> list:
        """The records of every subset size, weight pair and training level (see
        :meth:`NestedUnit.run`)."""
        s = self.settings
        ids = list(self.ordered_ids)
        local = {c: i for i, c in enumerate(ids)}
        sizes = list(self.orders)
        index_orders = [
            np.array([local[c] for c in self.orders[size]], dtype=np.int64) for size in sizes
        ]
        with_stress = [0]

        def read(indices):
            chosen = [ids[i] for i in indices]
            return _unit_items(self.source, chosen, self.labels, self.options, with_stress)

        per_size = shared_subset_fits(
            index_orders,
            [[size] for size in sizes],
            read,
            list(s.weights),
            list(s.train_levels),
            n_pool=len(ids),
            max_statistics=statistics_budget(
                s.n_descriptors,
                len(set(s.train_levels)),
                stresses=any(len(v) == 3 for lab in self.labels.values() for v in lab.values()),
            ),
            **s.keywords(),
        )
        _check_unit_stress(s.stress_weight, with_stress[0], len(ids))
        return [r for records in per_size for r in records]


_SETTING_ARGUMENTS = (
    "weights",
    "train_levels",
    "test_stats",
    "test_levels",
    "ridge",
    "p",
    "stress_weight",
    "unit_options",
    "fit_options",
)


def _unit_from_arguments(cls, n_head: int, args: tuple, kwargs: dict):
    """A unit from the positional arguments :func:`unit_fits` and
    :func:`independent_unit_fits` took before the units were objects."""
    head = args[:n_head]
    values = dict(zip(_SETTING_ARGUMENTS, args[n_head:], strict=False))
    values.update(kwargs)
    test_levels = values["test_levels"]
    settings = FitSettings(
        weights=tuple(as_weight_pairs(values["weights"])),
        train_levels=tuple(values["train_levels"]),
        test_statistics=values["test_stats"],
        test_levels=None if test_levels is None else tuple(test_levels),
        ridge=values["ridge"],
        n_descriptors=values["p"],
        stress_weight=values.get("stress_weight", 0.0),
        fit_options=dict(values.get("fit_options") or {}),
    )
    return cls(*head, settings=settings, options=dict(values.get("unit_options") or {}))


def unit_fits(unit, *args, **kwargs) -> list:
    """Run one sweep unit (the task an executor runs).

    Args:
        unit: a :class:`NestedUnit` or :class:`IndependentUnit`. The positional form of
            earlier versions, ``unit_fits(source, ordered_ids, unit_labels, sizes, weights,
            train_levels, test_stats, test_levels, ridge, p, stress_weight=0.0,
            unit_options=None, fit_options=None)``, is still taken and runs a
            :class:`NestedUnit`.

    Returns:
        The unit's :class:`~pyiron_appmlip.core.fit.SubsetFit` records.
    """
    if args or kwargs:
        unit = _unit_from_arguments(NestedUnit, 4, (unit, *args), kwargs)
    return unit.run()


def independent_unit_fits(unit, *args, **kwargs) -> list:
    """Run one sweep unit of independent draws: ``unit`` is an :class:`IndependentUnit`, or
    the positional form of earlier versions ``(source, orders, unit_labels, weights, ...)``
    (the arguments of :func:`unit_fits` without ``sizes``, ``orders`` mapping a size to its
    ordered ids)."""
    if args or kwargs:
        unit = _unit_from_arguments(IndependentUnit, 3, (unit, *args), kwargs)
    return unit.run()


# -- stage 2: plan -------------------------------------------------------------------------------
@dataclass
class Plan:
    """The work of one 2Jmax: the units to run and what their rows need.

    Attributes:
        twojmax: the 2Jmax.
        source: its descriptors.
        join: the :class:`Join` of its descriptors and labels.
        n_descriptors: number of descriptor columns p.
        todo: the units with rows still missing -> their subset sizes.
        units: the work handed to the executor, by key: the units of ``todo`` (without the
            pool size where the pool is fitted once) and, where shared, the pool fit.
        pool_unit: key of the task that fits the whole pool for ``pool_users``.
        pool_users: units whose fits of the pool size come from ``pool_unit``.
        orders: ``{(sampler, size or None): (repetitions, n_pool) sampling orders}``.
    """

    twojmax: int
    source: BlockSource
    join: Join
    n_descriptors: int
    todo: dict
    units: dict
    pool_unit: UnitKey
    pool_users: list
    orders: dict
    draws: str

    def order_of(self, sampler: str, rep: int, size: int) -> np.ndarray:
        """The sampling order (pool indices) of one unit and subset size."""
        nested = sampler == "all" or self.draws == "nested"
        return self.orders[(sampler, None if nested else size)][rep]

    def served_by(self, key) -> list:
        """The units of ``todo`` whose rows come from the work of ``key``."""
        served = [key] if key in self.todo else []
        if key == self.pool_unit:
            served += self.pool_users
        return served


def _test_statistics(source, test: list, sweep: _Sweep):
    """The :class:`SufficientStatistics` of the test set at every level of ``sweep`` (None for
    no test set)."""
    labels, truth = sweep.labels, sweep.truth
    test_stats = None
    ids_of = {lv: labels[lv].ids for lv in sweep.all_levels}  # one set per level, not per call
    for cid, block in zip(test, source.iter_blocks(test), strict=True):
        if test_stats is None:
            test_stats = SufficientStatistics(block.shape[1], levels=sweep.all_levels)
        lab = {lv: _label(labels[lv], cid) for lv in sweep.all_levels if cid in ids_of[lv]}
        n = len(labels[truth].forces[cid])
        volume = sweep.volumes.get(cid)
        lab, options = _add_options(block, lab, cid, {"n_atoms": n, "volume": volume})
        test_stats.add(
            block, lab, "test", cid, weight=sweep.test_weights.get(str(cid), 1.0), **options
        )
    if test_stats is not None:
        test_stats.flush()
    return test_stats


def unit_row_keys(unit, grid: SweepGrid, n_pool: int) -> Iterator[tuple]:
    """The keys (:func:`~pyiron_appmlip.training.table.fit_key`) of every fit of ``unit``
    (a ``(twojmax, sampler, repetition)`` triple of ``grid``) on a pool of ``n_pool``."""
    twojmax, sampler, rep = unit
    for size in [n_pool] if sampler == "all" else grid.subset_sizes:
        for w in grid.weights:
            for lv, n_energy in grid.row_specs(size, n_pool):
                yield fit_key(twojmax, sampler, rep, size, w[0], w[1], lv, n_energy)


def plan_units(
    twojmax, source: BlockSource, join: Join, sweep: _Sweep, log, ahead: Iterable = ()
) -> Plan | None:
    """Plan the work of one 2Jmax: the units with missing rows, the test statistics, the
    sampling orders, whether the whole pool is fitted once, and one :class:`NestedUnit` or
    :class:`IndependentUnit` per task. None if every row is done.

    ``ahead``: row keys other work of the same batch computes (they count as done here)."""
    grid, labels, truth = sweep.grid, sweep.labels, sweep.truth
    pool, test = list(join.pool), list(join.test)
    ahead = set(ahead)
    todo = {}
    for unit in grid.units([twojmax]):
        missing = {
            key[3]
            for key in unit_row_keys(unit, grid, len(pool))
            if key not in sweep.done and key not in ahead
        }
        if missing:
            todo[unit] = sorted(missing)
    if not todo:
        return None

    test_stats = sweep.reused(
        "test statistics",
        (source, *(labels[lv] for lv in sweep.all_levels), tuple(test), tuple(sweep.all_levels),
         truth, tuple(sorted(sweep.test_weights.items()))),
        lambda: _test_statistics(source, test, sweep),
    )  # fmt: skip
    if test_stats is not None:
        p = test_stats.n_descriptors
    else:  # no test set: the width from a training block
        for block in source.iter_blocks(pool[:1]):
            p = np.shape(block)[1]

    lev = blev = None
    pool_atoms = [len(labels[grid.train_levels[0]].forces[i]) for i in pool]
    if any(u[1] in ("leverage", "block_leverage") for u in todo):

        def scores():
            log(f"2Jmax {twojmax}: leverage scores of {len(pool)} pool configurations")
            return leverage_scores_streamed(
                lambda: _without_virial_rows(source.iter_blocks(pool), pool_atoms),
                *grid.leverage_weights,
            )

        lev, blev = sweep.reused(
            "leverage",
            (source, tuple(pool), tuple(pool_atoms),
             tuple(float(w) for w in grid.leverage_weights)),
            scores,
        )  # fmt: skip
    selector_inputs = _selector_inputs(todo, source, pool, pool_atoms, grid, log, twojmax)
    orders = {}
    for unit, unit_sizes in todo.items():
        sampler = unit[1]
        if sampler == "all":
            orders[(sampler, None)] = np.arange(len(pool))[None, :]
            continue
        for size in [None] if grid.draws == "nested" else unit_sizes:
            if (sampler, size) in orders:
                continue
            if sampler in DETERMINISTIC_SELECTORS:  # one order, whatever the seed and size
                known = next((o for (s, _), o in orders.items() if s == sampler), None)
                orders[(sampler, size)] = (
                    known
                    if known is not None
                    else repeated_orders(sampler, 1, len(pool), **selector_inputs)
                )
                continue
            orders[(sampler, size)] = repeated_orders(
                sampler,
                grid.repetitions,
                len(pool),
                leverage=lev,
                block_leverage=blev,
                seed=grid.order_seed(size),
                **(selector_inputs if sampler in SELECTORS else {}),
            )

    n_pool = len(pool)
    # the whole pool is the same training set in every unit: fit it once
    task_sizes = {u: list(sizes) for u, sizes in todo.items()}
    pool_users = [u for u in todo if u[1] != "all" and n_pool in todo[u]]
    all_unit = UnitKey(twojmax, "all", 0)
    pool_unit = all_unit if all_unit in todo else UnitKey(twojmax, "pool", 0)
    if _share_pool_fits(pool_unit in todo, pool_users, todo, n_pool):
        for unit in pool_users:
            task_sizes[unit].remove(n_pool)
        task_sizes[pool_unit] = [n_pool]
    else:
        pool_users = []
    plan = Plan(
        twojmax=twojmax,
        source=source,
        join=join,
        n_descriptors=p,
        todo=todo,
        units={},
        pool_unit=pool_unit,
        pool_users=pool_users,
        orders=orders,
        draws=grid.draws,
    )
    settings = FitSettings(
        weights=tuple(grid.weights),
        train_levels=tuple(grid.train_levels),
        test_statistics=test_stats,
        # the levels the test configurations have labels at (a test set labelled at the
        # truth level only, e.g. a pilot's, has NaN errors against the training levels)
        test_levels=tuple(
            lv
            for lv in sweep.all_levels
            if test_stats is not None and test_stats.n_configs("test", lv) > 0
        )
        or None,
        ridge=sweep.ridge,
        n_descriptors=p,
        stress_weight=grid.stress_weight,
        fit_options=dict(FIT_CONVENTIONS[grid.fit_convention]),
        level_pairs=tuple(grid.level_pairs),
        delta_pairs=tuple(grid.delta_pairs),
        energy_sizes=tuple(grid.energy_sizes),
        delta_columns=_delta_columns(twojmax, source, grid.delta_twojmax),
        delta_twojmax=grid.delta_twojmax,
        energy_draw=grid.energy_draw,
    )

    def unit_order(unit, size):
        if unit[1] == "pool":
            return np.arange(n_pool)
        return plan.order_of(unit[1], unit[2], size)

    for unit, sizes in task_sizes.items():
        if not sizes:
            continue
        if grid.draws == "independent":  # one order per size (the pool's is its nested order)
            size_orders = {
                size: tuple(pool[k] for k in unit_order(unit, size)[:size]) for size in sizes
            }
            ordered_ids = list(dict.fromkeys(c for ids in size_orders.values() for c in ids))
        else:
            length = max(sizes)
            if grid.energy_draw == "apart":  # the energies after the largest subset too
                length = min(len(pool), length + max(grid.energy_sizes))
            ordered_ids = [pool[k] for k in unit_order(unit, max(sizes))[:length]]
        unit_labels = {
            cid: {lv: _label(labels[lv], cid) for lv in grid.pool_levels} for cid in ordered_ids
        }
        unit_options = {}
        for cid in ordered_ids:
            opts = {"n_atoms": len(labels[grid.train_levels[0]].forces[cid])}
            if cid in sweep.volumes:
                opts["volume"] = sweep.volumes[cid]
            if cid in sweep.factors_of:
                opts["factors"] = sweep.factors_of[cid]
            unit_options[cid] = opts
        if grid.draws == "independent":
            plan.units[unit] = IndependentUnit(
                source, size_orders, unit_labels, settings, unit_options
            )
        else:
            plan.units[unit] = NestedUnit(
                source, tuple(ordered_ids), unit_labels, tuple(sizes), settings, unit_options
            )
    return plan


# -- stage 3: execute ----------------------------------------------------------------------------
ENGINES = ("units", "scatter")
"""How :func:`run_sweep` fits units of independent draws: ``"units"``, each unit on its own
(:meth:`IndependentUnit.run`), or ``"scatter"``, all of them from passes over the pool that
read each configuration once (:func:`~pyiron_appmlip.core.scatter_subset_statistics`)."""


def execute_units(
    plan, executor, engine: str = "units", memory_limit: float | None = None
) -> Iterator[tuple]:
    """Run the units of ``plan`` with ``executor`` (:func:`unit_fits` each); yield ``(key,
    records)`` as each finishes.

    ``plan`` is one :class:`Plan`, or ``{name: Plan}`` of several grids at one 2Jmax whose
    units run as one batch: then the keys are ``(name, key)``. The executor gets the units
    largest first (configurations read times training levels), so a large unit does not start
    last while the other workers idle.

    With ``engine="scatter"`` the units of independent draws without ridge, stresses or weight
    factors are fitted together in this process, per plan (:func:`scatter_unit_fits`; the
    executor runs the others).
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    several = isinstance(plan, Mapping)
    plans = plan if several else {None: plan}
    rest = {}
    for name, one in plans.items():
        together = {}
        if engine == "scatter":
            together = {k: u for k, u in one.units.items() if _scatter_eligible(u)}
        if together:
            for key, records in scatter_unit_fits(together, memory_limit=memory_limit):
                yield ((name, key) if several else key), records
        for key, unit in one.units.items():
            if key not in together:
                rest[(name, key) if several else key] = (unit,)
    if rest:
        largest_first = sorted(rest, key=lambda k: -_unit_work(rest[k][0]))
        yield from run_tasks(executor, unit_fits, {k: rest[k] for k in largest_first})


def _unit_work(unit) -> int:
    """A unit's work for ordering: the configurations it reads times its training levels."""
    if isinstance(unit, IndependentUnit):
        reads = sum(len(ordered) for ordered in unit.orders.values())
    else:
        reads = len(unit.ordered_ids)
    return reads * max(1, len(unit.settings.train_levels))


def _scatter_eligible(unit) -> bool:
    """An :class:`IndependentUnit` without ridge, stress rows, recorded stresses or weight
    factors (what :func:`scatter_unit_fits` computes exactly as the unit would)."""
    if not isinstance(unit, IndependentUnit):
        return False
    s = unit.settings
    if s.ridge != 0.0 or s.stress_weight != 0.0 or s.level_pairs or s.delta_pairs:
        return False
    for options in (unit.options or {}).values():
        factors = (options or {}).get("factors")
        if factors is not None and tuple(float(f) for f in factors) != (1.0, 1.0, 1.0):
            return False
    for values in unit.labels.values():
        for v in values.values():
            if len(v) == 3 and v[2] is not None and np.isfinite(np.asarray(v[2], float)).any():
                return False
    return True


def scatter_unit_fits(units: Mapping, memory_limit: float | None = None) -> Iterator[tuple]:
    """The records of :class:`IndependentUnit` objects (all on one block source) from passes
    over the union of their configurations, each read once per pass
    (:func:`~pyiron_appmlip.core.scatter_subset_statistics`); yields ``(key, records)`` per unit
    with the records :meth:`IndependentUnit.run` gives, up to rounding.

    Args:
        units: ``{key: IndependentUnit}`` without ridge, stress rows or weight factors.
        memory_limit: bytes for the subset accumulators (default
            :data:`~pyiron_appmlip.core.subset_scatter.DEFAULT_MEMORY_LIMIT`, 3 GiB).
    """
    from ..core.subset_scatter import DEFAULT_MEMORY_LIMIT, scatter_subset_statistics

    units = dict(units)
    first = next(iter(units.values()))
    source = first.source
    levels = list(dict.fromkeys(lv for u in units.values() for lv in u.settings.train_levels))
    ids = list(dict.fromkeys(c for u in units.values() for c in u.ordered_ids))
    local = {c: i for i, c in enumerate(ids)}
    labels_of: dict = {}
    for u in units.values():
        for c in u.ordered_ids:
            labels_of.setdefault(c, {}).update(u.labels[c])
    subsets, owners = [], []
    for key, u in units.items():
        for size, ordered in u.orders.items():
            subsets.append(np.array([local[c] for c in ordered], dtype=np.int64))
            owners.append((key, size))

    def configurations():
        for i, (cid, block) in enumerate(zip(ids, source.iter_blocks(ids), strict=True)):
            lab = {lv: labels_of[cid][lv][:2] for lv in levels}
            n = np.shape(lab[levels[0]][1])[0]
            yield i, np.asarray(block)[: 1 + 3 * n], lab  # virial rows are not fitted here

    done: dict = {key: {} for key in units}
    p = first.settings.n_descriptors
    for info in scatter_subset_statistics(
        configurations,
        subsets,
        levels,
        n_descriptors=p,
        n_pool=len(ids),
        memory_limit=DEFAULT_MEMORY_LIMIT if memory_limit is None else memory_limit,
    ):
        key, size = owners[info.index]
        s = units[key].settings
        options = s.keywords()
        options.pop("n_descriptors")
        done[key][size] = statistics_fits(
            info.statistics, list(s.weights), list(s.train_levels), **options
        )
        if len(done[key]) == len(units[key].orders):
            records = done.pop(key)
            yield key, [r for size in units[key].orders for r in records[size]]


# -- stage 4: tabulate ---------------------------------------------------------------------------
def tabulate(unit, records, plan: Plan, sweep: _Sweep) -> list[dict]:
    """The table rows of ``unit`` from fit records (those already done are skipped).

    Returns:
        One dict per record with the columns of :data:`~pyiron_appmlip.training.table.COLUMNS`
        plus ``coefficients`` (constant first) and ``training_ids`` (in sampling order).
    """
    grid, labels, truth, costs = sweep.grid, sweep.labels, sweep.truth, sweep.costs
    twojmax, pool, source = plan.twojmax, plan.join.pool, plan.source
    _, sampler, rep = unit
    unit_rows = []
    for rec in records:
        lv = rec.level
        n_energy = rec.subset_size if rec.energy_size is None else int(rec.energy_size)
        key = fit_key(
            twojmax, sampler, rep, rec.subset_size, rec.energy_weight, rec.force_weight, lv,
            n_energy,
        )  # fmt: skip
        if key in sweep.done:
            continue
        order = plan.order_of(sampler, rep, rec.subset_size)
        chosen = order[: rec.subset_size]
        ids = [pool[k] for k in chosen]
        energy_ids = None
        if energies_apart(lv):  # the energies of the configurations after the subset
            energy_ids = [pool[k] for k in order[rec.subset_size : rec.subset_size + n_energy]]
        e_level = lv if rec.energy_level is None else rec.energy_level
        f_level = lv if rec.force_level is None else rec.force_level
        dft_seconds, cost_source = row_dft_cost(
            rec.kind, e_level, f_level, ids, n_energy, costs, energy_ids=energy_ids
        )
        own = rec.test.get(lv)
        tt = rec.test.get(truth)  # None without a test set
        row = make_row(
            {
                "twojmax": twojmax,
                "n_descriptors": plan.n_descriptors,
                "sampler": sampler,
                "repetition": rep,
                "seed": grid.seed,
                "subset_size": rec.subset_size,
                "energy_weight": rec.energy_weight,
                "force_weight": rec.force_weight,
                "weight_ratio": rec.energy_weight / rec.force_weight,
                "stress_weight": rec.stress_weight,
                "train_level": lv,
                "model_kind": rec.kind,
                "energy_level": e_level,
                "force_level": f_level,
                "n_energy": n_energy,
                "truth_level": truth,
                "n_test": tt.n_configs if tt else 0,
                "rank": rec.model.rank,
                "energy_rmse_train": rec.train.energy_rmse,
                "force_rmse_train": rec.train.force_rmse,
                "stress_rmse_train": rec.train.stress_rmse,
                "energy_rmse_test": own.energy_rmse if own else np.nan,
                "energy_rmse_test_shifted": own.energy_rmse_shifted if own else np.nan,
                "force_rmse_test": own.force_rmse if own else np.nan,
                "stress_rmse_test": own.stress_rmse if own else np.nan,
                "energy_rmse_test_truth": tt.energy_rmse if tt else np.nan,
                "energy_rmse_test_truth_shifted": tt.energy_rmse_shifted if tt else np.nan,
                "force_rmse_test_truth": tt.force_rmse if tt else np.nan,
                "stress_rmse_test_truth": tt.stress_rmse if tt else np.nan,
                "dft_seconds": dft_seconds,
                "dft_cost_source": cost_source,
                "n_train_atoms": sum(len(labels[f_level].forces[i]) for i in ids),
                "atom_steps_per_second": sweep.aps.get(int(twojmax), np.nan),
                "descriptors_job": _job(getattr(source, "job_id", None)),
                "labelling_job": _job(labels[f_level].job_id),
                "truth_labelling_job": _job(labels[truth].job_id),
            }
        )
        row["coefficients"] = np.asarray(rec.model.coefficients, dtype=float)
        # the subset in sampling order (and, for energies apart, their configurations after it)
        row["training_ids"] = tuple(ids) + tuple(energy_ids or ())
        unit_rows.append(row)
    return unit_rows


def _selector_inputs(todo, source, pool, pool_atoms, grid, log, twojmax) -> dict:
    """The keywords of :func:`~pyiron_appmlip.core.repeated_orders` for the label-free
    selectors of ``todo``: the pool's per-atom energy rows (one pass over its blocks) where a
    selector needs them, a reader of its blocks for "d_optimal", the leverage weights, and
    orders as long as the largest subset size."""
    samplers = {u[1] for u in todo} & set(SELECTORS)
    if not samplers:
        return {}
    inputs = {
        "weights": tuple(grid.leverage_weights),
        "n_select": min(max(grid.subset_sizes), len(pool)),
    }
    if samplers - {"d_optimal"}:
        log(f"2Jmax {twojmax}: feature rows of {len(pool)} pool configurations")
        inputs["features"] = feature_rows(
            _without_virial_rows(source.iter_blocks(pool), pool_atoms)
        )
    if "d_optimal" in samplers:

        def read(indices):
            indices = list(indices)
            ids = [pool[i] for i in indices]
            atoms = [pool_atoms[i] for i in indices]
            return _without_virial_rows(source.iter_blocks(ids), atoms)

        inputs["blocks"] = read
    log(f"2Jmax {twojmax}: selector orders ({', '.join(sorted(samplers))})")
    return inputs


def _share_pool_fits(pool_task_needed_anyway, users, todo, n_pool) -> bool:
    """Whether the whole pool's fits are computed once for the ``users`` (units that have the
    pool size among their sizes) instead of once in each: always when the "all" sampler's unit
    runs anyway; otherwise when the configurations it saves streaming exceed the pool. Within
    a unit the pool is built from the unit's next smaller subset, nested (the order's prefix)
    or independent (the largest other draw, :class:`IndependentUnit`), so a unit saves
    the pool size minus that size."""
    if not users:
        return False
    if pool_task_needed_anyway:
        return True
    saved = 0
    for unit in users:
        smaller = [s for s in todo[unit] if s < n_pool]
        saved += n_pool - (max(smaller) if smaller else 0)
    return saved > n_pool


def _unit_items(source, ids, unit_labels, unit_options, with_stress):
    """The stream items of ``ids`` (blocks from ``source``, in that order); counts in
    ``with_stress[0]`` the configurations with a recorded stress and virial rows."""
    unit_options = unit_options or {}
    ids = list(ids)
    for cid, block in zip(ids, source.iter_blocks(ids), strict=True):
        labels, options = _add_options(block, unit_labels[cid], cid, unit_options.get(cid))
        if options.get("virial") and any(len(v) == 3 for v in labels.values()):
            with_stress[0] += 1
        yield (block, labels, cid, options) if options else (block, labels, cid)


def multi_fidelity_fits(
    items, sizes: Sequence[int], settings: FitSettings, n_stream: int | None = None
) -> list:
    """The records of one nested unit with level pairs or Delta models: the single-level fits
    of :func:`~pyiron_appmlip.core.subset_fits` plus, at every subset size, weight pair and
    energy size, one multi-fidelity fit per level pair and one Delta model per Delta pair.

    One pass over ``items`` (in sampling order): at each energy size the energy factors (and,
    for Delta models, the statistics) of the prefix are kept, so every further fit is a small
    p x p solve from statistics already streamed. With ``energy_draw="apart"`` the energies of
    a level pair are those of the ``n`` configurations after the training subset in the same
    order (the stream goes on to ``n_stream``): their per-atom energy rows are kept as they
    pass and factored once.

    Training errors are on the training subset: energies against the energy level and forces
    against the force level for a level pair, both against the high level for a Delta model.
    The record's test errors at its own label (``test[record.level]``) are the same mix.
    """
    s = settings
    kw = s.keywords()
    test_stats, test_levels = kw.pop("test_statistics"), kw.pop("test_levels")
    p, ridge, w_s = kw.pop("n_descriptors"), kw.pop("ridge"), kw.pop("stress_weight")
    options = kw  # rcond, scale_columns, constant
    pairs = [lv for pair in (*s.level_pairs, *s.delta_pairs) for lv in pair]
    levels = list(dict.fromkeys([*s.train_levels, *pairs]))
    sizes = sorted(set(sizes))
    apart = s.energy_draw == "apart" and bool(s.level_pairs)
    checkpoints = set(sizes) | {n for n in s.energy_sizes if n <= sizes[-1]}
    energy_rows: list = []
    if apart:
        n_stream = sizes[-1] if n_stream is None else int(n_stream)
        checkpoints |= {z + n for z in sizes for n in s.energy_sizes if z + n <= n_stream}
        items = _tap_energy_rows(items, levels, p, energy_rows)
    last = max(checkpoints)
    energy_snapshots: dict = {}
    snapshots: dict = {}
    force_snapshots: dict = {}
    records: list = []

    def add_records(stats, size, fits):
        if not fits:
            return
        coefficients = np.column_stack([f[-1].coefficients for f in fits])
        train = statistics_errors_batch(stats, coefficients, levels, "train")
        test = (
            statistics_errors_batch(test_stats, coefficients, test_levels, "test")
            if test_stats is not None
            else None
        )
        for i, (kind, label, e_level, f_level, n, (w_e, w_f), model) in enumerate(fits):
            own = (e_level, f_level) if kind == "level_pair" else (e_level, e_level)
            test_i = {}
            if test is not None:
                test_i = dict(test[i])
                if all(lv in test_i for lv in own):
                    test_i[label] = _mixed_summary(test_i[own[0]], test_i[own[1]])
            records.append(
                SubsetFit(
                    subset_size=size,
                    energy_weight=w_e,
                    force_weight=w_f,
                    level=label,
                    model=model,
                    train=_mixed_summary(train[i][own[0]], train[i][own[1]]),
                    test=test_i,
                    stress_weight=w_s if kind == "level_pair" else 0.0,
                    energy_size=n,
                    energy_level=e_level,
                    force_level=f_level,
                    kind=kind,
                )
            )

    for size, stats in iter_checkpoints(items, sorted(checkpoints), levels, n_descriptors=p):
        if size in s.energy_sizes and size < sizes[-1]:  # needed by a larger subset
            if s.level_pairs and not apart:
                energy_snapshots[size] = EnergyFactors.of(stats)
            if s.delta_pairs:
                snapshots[size] = stats.copy()
        if size not in sizes:
            continue
        if apart:
            force_snapshots[size] = stats.copy() if size < last else stats
        records += statistics_fits(
            stats,
            list(s.weights),
            list(s.train_levels),
            test_statistics=test_stats,
            test_levels=test_levels,
            ridge=ridge,
            stress_weight=w_s,
            **options,
        )
        n_list = [n for n in s.energy_sizes if n <= size] or [size]
        fits = []  # (kind, label, energy level, force level, n_energy, weights, model)
        for w_e, w_f in s.weights:
            for e_level, f_level in s.level_pairs if not apart else ():
                for n in n_list:
                    model = fit_level_pair(
                        stats,
                        e_level,
                        f_level,
                        w_e,
                        w_f,
                        energy_statistics=None if n == size else energy_snapshots[n],
                        stress_weight=w_s,
                        ridge=ridge,
                        **options,
                    )
                    label = level_pair_label(e_level, f_level)
                    fits.append(("level_pair", label, e_level, f_level, n, (w_e, w_f), model))
            for low, high in s.delta_pairs:
                for n in n_list:
                    delta = fit_delta(
                        stats,
                        low,
                        high,
                        w_e,
                        w_f,
                        delta_statistics=None if n == size else snapshots[n],
                        columns=None if s.delta_columns is None else list(s.delta_columns),
                        ridge=ridge,
                        **options,
                    )
                    model = delta.as_linear_model()
                    label = delta_label(low, high, s.delta_twojmax)
                    fits.append(("delta", label, high, low, n, (w_e, w_f), model))
        add_records(stats, size, fits)
    if apart:  # the energies after each training subset, now that the stream has passed them
        for size in sizes:
            stats = force_snapshots[size]
            fits = []
            for n in s.energy_sizes:
                if size + n > len(energy_rows):
                    continue
                energy = _energy_factors(energy_rows[size : size + n], levels, p)
                for w_e, w_f in s.weights:
                    for e_level, f_level in s.level_pairs:
                        model = fit_level_pair(
                            stats,
                            e_level,
                            f_level,
                            w_e,
                            w_f,
                            energy_statistics=energy,
                            stress_weight=w_s,
                            ridge=ridge,
                            **options,
                        )
                        label = level_pair_label(e_level, f_level, apart=True)
                        fits.append(("level_pair", label, e_level, f_level, n, (w_e, w_f), model))
            add_records(stats, size, fits)
    return records


def _tap_energy_rows(items, levels, p: int, rows: list):
    """``items`` unchanged, appending each configuration's weighted per-atom energy row
    ``f_E [1, x_0 / N, E_level / N ...]`` (NaN where a level has no label) to ``rows``."""
    for item in items:
        block, labels = item[0], item[1]
        options = item[3] if len(item) > 3 else {}
        virial = bool(options.get("virial", False))
        n_atoms = (np.shape(block)[0] - 1 - (6 if virial else 0)) // 3
        f_e = float((options.get("factors") or (1.0, 1.0, 1.0))[0])
        row = np.empty(p + 1 + len(levels))
        row[0] = 1.0
        row[1 : p + 1] = np.asarray(block)[0] / n_atoms
        for j, lv in enumerate(levels):
            row[p + 1 + j] = labels[lv][0] / n_atoms if lv in labels else np.nan
        rows.append(f_e * row)
        yield item


def _energy_factors(rows: list, levels, p: int) -> EnergyFactors:
    """:class:`~pyiron_appmlip.core.EnergyFactors` of energy rows (one group; every level
    labelled, as in a sweep's pool)."""
    from ..core._linalg import r_factor

    matrix = np.vstack(rows)
    columns = {lv: p + 1 + j for j, lv in enumerate(levels)}
    return EnergyFactors(p, ((columns, 1.0, r_factor(matrix), len(rows)),), len(rows))


def _delta_columns(twojmax, source, delta_twojmax) -> tuple | None:
    """The columns of the Delta corrections in the blocks of ``source`` (2Jmax ``twojmax``):
    those of ``delta_twojmax`` (:meth:`~pyiron_appmlip.descriptors.settings.QSnapSettings.
    column_subset`); None for the source's own 2Jmax.

    Raises:
        ValueError: if the source carries no descriptor settings, or ``delta_twojmax`` is larger
            than its 2Jmax.
    """
    if delta_twojmax is None or int(delta_twojmax) == int(twojmax):
        return None
    settings = getattr(source, "settings", None)
    if settings is None:
        raise ValueError(
            f"delta_twojmax={delta_twojmax} needs the descriptor settings of the 2Jmax "
            f"{twojmax} blocks to map their columns: give the source its settings (e.g. "
            "InMemoryBlocks(blocks, settings=QSnapSettings(...)))"
        )
    if int(delta_twojmax) > int(twojmax):
        raise ValueError(
            f"delta_twojmax={delta_twojmax} is larger than the descriptors' 2Jmax {twojmax}; "
            f"allowed: at most {twojmax}"
        )
    import dataclasses

    smaller = dataclasses.replace(settings, twojmax=int(delta_twojmax))
    return tuple(int(c) for c in settings.column_subset(smaller))


def _mixed_summary(energy, force):
    """An :class:`~pyiron_appmlip.core.ErrorSummary` with the energy errors of ``energy`` and
    the force and stress errors of ``force``."""
    from dataclasses import replace

    return replace(
        energy,
        force_rmse=force.force_rmse,
        n_force_components=force.n_force_components,
        stress_rmse=force.stress_rmse,
        n_stress_components=force.n_stress_components,
    )


def _check_unit_stress(stress_weight, n_with_stress, n_configs) -> None:
    if stress_weight > 0 and n_with_stress == 0:
        raise ValueError(
            f"stress_weight={stress_weight} but none of the {n_configs} training "
            "configurations of this unit has both a recorded stress and the six virial rows in "
            "its descriptor block (compute the descriptors with virial=True; an "
            "AppmlipDescriptors job stores them by default, one computed without them gets them "
            "with job.input.virial = True and job.resume())"
        )


def _label(labels, cid) -> tuple:
    """``(energy, forces)`` or, with a recorded stress, ``(energy, forces, stress)``."""
    stress = labels.stress(cid)
    if stress is None:
        return (labels.energies[cid], labels.forces[cid])
    return (labels.energies[cid], labels.forces[cid], stress)


def _add_options(block, labels: dict, cid, options: Mapping | None) -> tuple[dict, dict]:
    """The labels and :meth:`SufficientStatistics.add` keywords of one configuration.

    A block with 1 + 3 N + 6 rows (N from ``options["n_atoms"]``) has virial rows; the
    stresses of a block without them are dropped. Without virial rows and factors no keywords
    are returned (the call of before).
    """
    options = dict(options or {})
    n = options.pop("n_atoms", None)
    volume = options.pop("volume", None)
    factors = options.pop("factors", None)
    virial = False
    if n is not None:
        rows = np.shape(block)[0]
        if rows == 1 + 3 * n + 6:
            virial = True
        elif rows != 1 + 3 * n:
            raise ValueError(
                f"configuration {cid}: its descriptor block has {rows} rows, but its labels have "
                f"{n} atoms (1 + 3 N = {1 + 3 * n} rows, or {1 + 3 * n + 6} with virial rows)"
            )
    out: dict = {}
    if virial:
        out["virial"] = True
        if any(len(v) == 3 for v in labels.values()):
            if volume is None:
                raise ValueError(
                    f"configuration {cid} has a recorded stress but no cell volume in its "
                    "labels (Labels.volumes); the stress rows need it"
                )
            out["volume"] = volume
    else:
        labels = {lv: v[:2] for lv, v in labels.items()}
    if factors is not None:
        out["factors"] = factors
    return labels, out


def _without_virial_rows(blocks: Iterable, n_atoms: Sequence[int]) -> Iterator[np.ndarray]:
    """The blocks without their virial rows (leverage scores use energy and force rows)."""
    for block, n in zip(blocks, n_atoms, strict=True):
        yield block if np.shape(block)[0] == 1 + 3 * n else block[: 1 + 3 * n]


def _group_factors(labels: Mapping, levels: Sequence, group_weights: dict) -> dict:
    """``{configuration id: factors}`` of the configurations whose group has weight factors.

    Raises:
        ValueError: naming the groups of ``group_weights`` no configuration has (and the groups
            present), or a configuration put in two groups by two levels' labels.
    """
    group_of: dict = {}
    for lv in levels:
        for cid, name in (labels[lv].groups or {}).items():
            if group_of.setdefault(cid, name) != name:
                raise ValueError(
                    f"configuration {cid} is in group {group_of[cid]!r} in one level's labels "
                    f"and in {name!r} at level {lv!r}"
                )
    present = sorted(set(group_of.values()))
    unknown = sorted(set(group_weights) - set(present))
    if unknown:
        raise ValueError(
            f"group_weights names the group(s) {unknown}, which no configuration has; groups "
            f"present: {present}"
        )
    return {
        cid: group_weights[name]
        for cid, name in group_of.items()
        if name in group_weights and group_weights[name] != (1.0, 1.0, 1.0)
    }


def _volumes(labels: Mapping, levels: Sequence) -> dict:
    """Cell volumes by configuration id from the labels of any level."""
    out: dict = {}
    for lv in levels:
        for cid, v in (labels[lv].volumes or {}).items():
            out.setdefault(cid, v)
    return out


def _job(job_id) -> int:
    return -1 if job_id is None else int(job_id)


def fit_table(
    blocks: Mapping[str, np.ndarray],
    labels: Mapping,
    train_ids: Sequence[str],
    test_ids: Sequence[str],
    weights,
    train_levels: Sequence | None = None,
    truth_level=None,
    ridge: float = 0.0,
    twojmax: int = 0,
    *,
    stress_weight: float = 0.0,
    group_weights: Mapping | None = None,
    level_costs: Mapping | None = None,
) -> list[dict]:
    """Fit the whole training pool for every (training level, weight) pair.

    The sweep's simplest case (sampler ``"all"``), with the same table columns.

    Args:
        blocks: configuration id -> descriptor block (1 + 3N, p).
        labels: level -> :class:`~pyiron_appmlip.training.labels.Labels`.
        train_ids: configuration ids of the training partition.
        test_ids: configuration ids of the test partition (empty: no test set, the test-error
            columns are NaN).
        weights: see :func:`~pyiron_appmlip.training.labels.parse_weights`.
        train_levels: levels to train on (default: every level in ``labels``).
        truth_level: level the ``*_truth`` test errors are measured against (default: the
            highest level).
        ridge: optional ridge term of the fit.
        twojmax: 2Jmax recorded in the rows (the blocks do not know it).
        stress_weight: weight w_S of the stress rows (see :class:`SweepGrid`).
        group_weights: per-group weight factors (see :func:`run_sweep`).
        level_costs: given DFT costs per level (see :func:`run_sweep`).

    Returns:
        The rows (:data:`~pyiron_appmlip.training.table.COLUMNS`, plus ``coefficients`` and
        ``training_ids``), sorted by :func:`~pyiron_appmlip.training.table.row_key`. The
        training pool is the training ids with labels at every training level.
    """
    if not labels:
        raise ValueError("labels must map at least one level to its Labels, got none")
    labels = {level_label(k): v for k, v in labels.items()}
    levels = sorted(labels, key=level_order)
    train_levels = levels if train_levels is None else [level_label(v) for v in train_levels]
    truth = levels[-1] if truth_level is None else level_label(truth_level)
    grid = SweepGrid(
        train_levels=train_levels,
        subset_sizes=[],
        weights=weights,
        samplers=["all"],
        stress_weight=stress_weight,
    )
    rows = run_sweep(
        {int(twojmax): InMemoryBlocks(blocks)},
        labels,
        train_ids,
        test_ids,
        grid,
        truth,
        ridge=ridge,
        group_weights=group_weights,
        level_costs=level_costs,
    )
    return sorted(rows, key=row_key)
