"""Measuring the pilot validation: a pilot chosen from one source's pool, the fits of its own
subsets, and the fits of the whole pool that its predictions are checked against.

For one labelled source (a dataset with a training pool, a test set and one or more levels):

1. the pool's configurations are put in a leverage order (qSNAP descriptors from LAMMPS, the
   leverage of the weighted energy and force rows); the pilot's training configurations are the
   first ``n_train`` of it, labelled at every training level, and its test configurations
   ``n_test`` seeded draws from the test set, labelled at the reference level only: uniform
   (``"random"``) or by leverage with weights (``"leverage"``, the draw of
   :func:`~pyiron_appmlip.planning.pilot.draw_test_set`, each test configuration's block
   leverage with respect to the descriptors of all candidates, pool and test set). Both test
   sets are
   measured; the settings say which one the report's pilot uses. The labels
   are the dataset's recorded ones, as if the pilot had computed them, and the pilot's DFT cost
   is the recorded time of exactly its distinct calculations (:func:`recorded_pilot`);
2. the pilot's subsets (several sizes up to ``n_train``, repetitions) are fitted at every
   setting (training level x weight ratio x 2Jmax) and tested on the pilot's test set
   (:func:`pilot_rows`): the only input of the error model;
3. the same settings are fitted on leverage-sampled subsets of the whole pool (at the sizes the
   budgets afford, and the pool itself) and tested on the whole test set (:func:`truth_rows`):
   the truth the predictions are compared with.

Nothing here fits error models, plans or writes Markdown; that is
:mod:`pyiron_appmlip.reproduction.pilot_validation`. :func:`measure_source` is cached by the
command under a key of the data, the settings and the package sources that compute rows.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from ..planning.pilot import TEST_SELECTIONS
from .dataset_inputs import dataset_blocks, dataset_labels
from .result_cache import cached  # noqa: F401  (part of this module's interface)
from .result_cache import code_digest as _code_digest

__all__ = [
    "ValidationSettings",
    "SourceMeasurement",
    "SETTING_COLUMNS",
    "recorded_pilot",
    "leverage_order",
    "pilot_sizes",
    "mean_cost_per_configuration",
    "default_available",
    "affordable_size",
    "truth_sizes",
    "restrict_labels",
    "pilot_rows",
    "truth_rows",
    "test_draws",
    "measure_source",
    "code_digest",
    "RESULT_FORMAT",
]

#: The fit-table columns that make one setting of the validation.
SETTING_COLUMNS = ("train_level", "weight_ratio", "twojmax")
#: Version of what a cached measurement holds (part of the cache key).
RESULT_FORMAT = 2
_SECONDS_PER_HOUR = 3600.0


def _positive_int(name, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _fraction(name, value, low_open=True) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in (0, 1], got {value!r}") from None
    if not (0.0 < x <= 1.0):
        raise ValueError(f"{name} must be a number in (0, 1], got {value!r}")
    return x


@dataclass(frozen=True)
class ValidationSettings:
    """What the pilot validation computes (defaults: the shipped report's settings).

    Attributes:
        twojmax: 2Jmax values of the settings (even positive integers).
        weights: w_E/w_F ratios of the settings (> 0).
        leverage_weight: w_E/w_F of the rows whose leverage orders the pool (w_F = 1).
        pilot_train: training configurations of the GPAW pilot (labelled at every level).
        pilot_test: test configurations of the GPAW pilot (labelled at the reference level).
        size_fractions: sizes of the pilot's subsets as fractions of its training set, each in
            (0, 1] (1 is the whole pilot); sizes whose fits are not overdetermined at the
            largest 2Jmax are dropped.
        pilot_sampler: how the pilot's subsets are drawn ("random" or "leverage").
        pilot_test_selection: which of the two measured test sets the report's pilot uses:
            "random" (uniform) or "leverage" (by block leverage, weighted test errors).
        test_mixture: the uniform share alpha of the leverage draw, in (0, 1].
        pilot_repetitions: independent subsets per size of the pilot.
        truth_repetitions: leverage-sampled subsets of the whole pool per size (the truth at
            a size is their median).
        n_budgets: budgets planned for per source.
        preferences: preferences between energy (1) and force (0) errors of the plans.
        wbe_fraction: share of the W-Be pool in the pilot's training set, in (0, 1].
        wbe_test_fraction: share of the W-Be test set in the pilot's test set, in (0, 1].
        wbe_configurations: configurations drawn from the W-Be Be set (0: all of them).
        seed: root seed of the orders, the draws and the W-Be split.

    Raises:
        ValueError: naming the attribute and its allowed values, for a bad value.
    """

    twojmax: tuple = (4, 6)
    weights: tuple = (150.0, 50.0, 12.0, 5.0)
    leverage_weight: float = 150.0
    pilot_train: int = 20
    pilot_test: int = 5
    size_fractions: tuple = (0.4, 0.5, 0.6, 0.7, 0.85, 1.0)
    pilot_sampler: str = "random"
    pilot_test_selection: str = "random"
    test_mixture: float = 0.5
    pilot_repetitions: int = 10
    truth_repetitions: int = 5
    n_budgets: int = 4
    preferences: tuple = (0.0, 0.5, 1.0)
    wbe_fraction: float = 0.05
    wbe_test_fraction: float = 0.02
    wbe_configurations: int = 0
    seed: int = 0

    def __post_init__(self):
        tj = tuple(int(_positive_int("twojmax", t)) for t in self.twojmax)
        if not tj or any(t % 2 for t in tj):
            raise ValueError(f"twojmax must be even positive integers, got {self.twojmax!r}")
        object.__setattr__(self, "twojmax", tuple(sorted(set(tj))))
        try:
            weights = tuple(float(w) for w in self.weights)
        except (TypeError, ValueError):
            raise ValueError(
                f"weights must be positive numbers (w_E/w_F), got {self.weights!r}"
            ) from None
        if not weights or not all(math.isfinite(w) and w > 0 for w in weights):
            raise ValueError(f"weights must be positive numbers (w_E/w_F), got {self.weights!r}")
        object.__setattr__(self, "weights", weights)
        lw = self.leverage_weight
        if isinstance(lw, bool) or not isinstance(lw, int | float) or not lw > 0:
            raise ValueError(f"leverage_weight must be a positive number (w_E/w_F), got {lw!r}")
        for name in (
            "pilot_train",
            "pilot_test",
            "pilot_repetitions",
            "truth_repetitions",
            "n_budgets",
        ):
            _positive_int(name, getattr(self, name))
        fractions = tuple(_fraction("size_fractions", f) for f in self.size_fractions)
        if not fractions:
            raise ValueError("size_fractions must hold at least one number in (0, 1]")
        object.__setattr__(self, "size_fractions", tuple(sorted(set(fractions))))
        if self.pilot_sampler not in ("random", "leverage"):
            raise ValueError(
                f"pilot_sampler must be 'random' or 'leverage', got {self.pilot_sampler!r}"
            )
        if self.pilot_test_selection not in TEST_SELECTIONS:
            raise ValueError(
                f"pilot_test_selection must be one of {list(TEST_SELECTIONS)}, got "
                f"{self.pilot_test_selection!r}"
            )
        _fraction("test_mixture", self.test_mixture)
        prefs = tuple(float(p) for p in self.preferences)
        if not prefs or not all(0.0 <= p <= 1.0 for p in prefs):
            raise ValueError(
                f"preferences must be numbers in [0, 1] (0 forces, 1 energies), got "
                f"{self.preferences!r}"
            )
        object.__setattr__(self, "preferences", prefs)
        _fraction("wbe_fraction", self.wbe_fraction)
        _fraction("wbe_test_fraction", self.wbe_test_fraction)
        c = self.wbe_configurations
        if isinstance(c, bool) or not isinstance(c, int | np.integer) or c < 0:
            raise ValueError(f"wbe_configurations must be 0 (all) or a positive integer, got {c!r}")


@dataclass
class SourceMeasurement:
    """The measured rows of one source.

    Attributes:
        name: short name of the source.
        description: one line on the source.
        pilot: the :class:`~pyiron_appmlip.planning.pilot.PilotDesign` (its ``seconds`` are
            the recorded costs of its calculations).
        pilot_rows: fits of the pilot's subsets, tested on the pilot's test set (DataFrame).
        truth_rows: fits of leverage-sampled subsets of the whole pool (and of the pool),
            tested on the whole test set (DataFrame).
        pool_ids: the training pool, in leverage order (the first ``n_train`` are the pilot's).
        test_ids: the whole test set.
        train_levels: the training levels.
        truth_level: the reference level.
        pool_cost: ``{level: mean seconds per configuration over the pool}`` (the truth's cost
            per configuration).
        available_seconds: the budgets planned for, as seconds left after the pilot.
        cost_unit: ``"core-hours"`` (recorded times) or ``"calculations"`` (no recorded times:
            every calculation costs one unit, stored as 3600 s).
        pool_on_pilot_test: fits of the whole pool tested on the pilot's test set only
            (DataFrame): what the prediction would be compared with if the whole test set were
            the pilot's.
        info: ``pool``, ``test``, ``n_descriptors``, ``pilot_sizes``, ``truth_sizes``,
            ``min_size`` and, for a subsampled source, ``subsample``.
        test_sets: ``{selection: {"pilot", "pilot_rows", "pool_on_pilot_test"}}`` for each
            way of drawing the test set (:data:`TEST_SELECTIONS`); ``pilot``, ``pilot_rows``
            and ``pool_on_pilot_test`` above are those of the settings' selection.
        truth_at_pilot_sizes: fits of leverage samples of the whole pool at the pilot's
            subset sizes (as many repetitions as the pilot's), tested on the whole test set
            (DataFrame): the rows of an ideal pilot, drawn afresh from the pool for every fit
            and tested on every test configuration, so the same error model fitted to them
            shows what the extrapolation from those sizes alone costs.
    """

    name: str
    description: str
    pilot: object
    pilot_rows: object
    truth_rows: object
    pool_ids: list
    test_ids: list
    train_levels: list
    truth_level: str
    pool_cost: dict
    available_seconds: list
    cost_unit: str = "core-hours"
    pool_on_pilot_test: object = None
    info: dict = field(default_factory=dict)
    test_sets: dict = field(default_factory=dict)
    truth_at_pilot_sizes: object = None


# -- pieces ------------------------------------------------------------------------------------
def recorded_pilot(
    dataset, train_ids, test_ids, levels, reference_level, *, unit_cost=None, sampler="leverage"
):
    """The pilot as a :class:`~pyiron_appmlip.planning.pilot.PilotDesign` whose cost of each
    distinct calculation is its recorded time in ``dataset``.

    Args:
        dataset: a :class:`~pyiron_appmlip.datasets.store.LabelledDataset`.
        train_ids: the pilot's training configurations (labelled at every level of
            ``levels``), in order.
        test_ids: the pilot's test configurations (labelled at ``reference_level``).
        levels: the training levels.
        reference_level: the reference level.
        unit_cost: None: each calculation costs its recorded time (CPU time where recorded
            for every calculation of the level, else the wall time; seconds); a number: every
            calculation costs that many seconds (for data without recorded times).
        sampler: the sampler that ordered the training configurations (for the record).

    Returns:
        The design; ``total_seconds`` is the pilot's whole DFT cost (a training
        configuration that is also labelled at the reference level counts once there).

    Raises:
        ValueError: if a calculation is not in the dataset or its recorded time is not finite.
    """
    from ..planning.pilot import PilotDesign

    levels = [str(lv) for lv in levels]
    reference = str(reference_level)
    parts = [(list(train_ids), lv) for lv in levels] + [(list(test_ids), reference)]
    seconds = {}
    for ids, lv in parts:
        data = dataset.level(lv)
        cost = data.cost_seconds()
        known = set(data.ids)
        for cid in ids:
            if (cid, lv) in seconds:
                continue
            if cid not in known:
                raise ValueError(f"configuration {cid} has no label at level {lv}")
            value = float(unit_cost) if unit_cost is not None else float(cost[data.index(cid)])
            if not math.isfinite(value):
                raise ValueError(
                    f"configuration {cid} at level {lv} has no recorded time; give unit_cost"
                )
            seconds[(cid, lv)] = value
    return PilotDesign(
        train_ids=tuple(train_ids),
        test_ids=tuple(test_ids),
        levels=tuple(levels),
        reference_level=reference,
        seconds=seconds,
        sampler=sampler,
    )


def leverage_order(blocks, pool, weight_ratio: float, seed: int) -> list:
    """The pool in a leverage-sampling order (scores of the ``(w_E, 1)``-weighted rows).

    Args:
        blocks: ``{configuration id: descriptor block}`` (energy and force rows only).
        pool: configuration ids.
        weight_ratio: w_E/w_F of the rows.
        seed: seed of the order.
    """
    from ..core.leverage import leverage_scores_streamed
    from ..core.sampling import sampling_order

    pool = list(pool)
    lev, _ = leverage_scores_streamed(lambda: (blocks[i] for i in pool), float(weight_ratio), 1.0)
    order = sampling_order("leverage", len(pool), leverage=lev, seed=int(seed))
    return [pool[k] for k in order]


def test_draws(blocks, pool, test, n_test: int, settings: ValidationSettings) -> dict:
    """The pilot's test set drawn from ``test`` both ways.

    ``"random"``: ``n_test`` distinct configurations, uniformly (the seeded draw of earlier
    reports). ``"leverage"``: ``n_test`` draws with replacement by
    :func:`~pyiron_appmlip.planning.pilot.draw_test_set`, the scores being each test
    configuration's block leverage (summed over its rows) with respect to the
    ``(leverage_weight, 1)``-weighted design of all candidates (pool and test set, descriptors
    only).

    Args:
        blocks: ``{configuration id: block}`` of the pool and the test set.
        pool: the training pool's ids.
        test: the test set's ids.
        n_test: configurations (uniform) or draws (leverage).
        settings: the :class:`ValidationSettings` (seed, weight, mixture).

    Returns:
        ``{"random": (ids, None), "leverage": (ids, weights)}``.
    """
    from ..core.leverage import leverage_scores_streamed
    from ..planning.pilot import draw_test_set

    test = list(test)
    rng = np.random.default_rng(np.random.SeedSequence([settings.seed, 2]))
    uniform = [test[k] for k in np.sort(rng.choice(len(test), size=n_test, replace=False))]
    ids = list(pool) + test
    _, blev = leverage_scores_streamed(
        lambda: (blocks[i] for i in ids), float(settings.leverage_weight), 1.0
    )
    rng = np.random.default_rng(np.random.SeedSequence([settings.seed, 3]))
    picked, weights = draw_test_set(
        np.arange(len(test)), n_test, rng, blev[len(pool) :], settings.test_mixture
    )
    return {"random": (uniform, None), "leverage": ([test[k] for k in picked], weights)}


def pilot_sizes(n_train: int, fractions, rows_per_configuration, n_coefficients: int) -> list:
    """The pilot's subset sizes: ``round(f * n_train)`` per fraction, kept where a fit of the
    configurations with the fewest rows is still overdetermined (``n_train`` always kept when
    it is).

    Raises:
        ValueError: if not even the whole pilot is overdetermined.
    """
    from ..core.learning_curves import overdetermined_sizes

    wanted = sorted({max(1, int(round(float(f) * n_train))) for f in fractions} | {n_train})
    ok = overdetermined_sizes(wanted, list(rows_per_configuration), int(n_coefficients))
    if n_train not in ok:
        raise ValueError(
            f"the pilot's {n_train} training configurations give fewer equations than the "
            f"{n_coefficients} coefficients; use a larger pilot or a smaller twojmax"
        )
    return ok


def mean_cost_per_configuration(dataset, ids, levels, unit_cost=None) -> dict:
    """``{level: mean recorded seconds per configuration of ids}`` (``unit_cost`` if given)."""
    out = {}
    for lv in levels:
        if unit_cost is not None:
            out[str(lv)] = float(unit_cost)
            continue
        data = dataset.level(lv)
        cost = data.cost_seconds()
        out[str(lv)] = float(np.mean([cost[data.index(i)] for i in ids]))
    return out


def default_available(pool_cost: dict, pool: int, n: int) -> list:
    """``n`` budgets as seconds left after the pilot: geometric from the whole pool at the
    cheapest level (or an eighth of the pool at the dearest level, if less) to the whole pool
    at the dearest level (one budget: the dearest)."""
    hi = max(pool_cost.values()) * pool
    lo = min(min(pool_cost.values()) * pool, hi / 8.0)
    if n == 1 or hi <= lo:
        return [float(hi)]
    return [float(x) for x in np.geomspace(lo, hi, int(n))]


def affordable_size(available_seconds: float, per_configuration: float, pool: int) -> int:
    """The largest training set the seconds afford, at most ``pool`` (as the plan counts it)."""
    return min(int(pool), int(math.floor(available_seconds / per_configuration + 1e-9)))


def truth_sizes(available, costs, pool: int, min_size: int) -> list:
    """Every training-set size a plan or the truth can choose for these budgets: the affordable
    size (and the one below it) of each level under each cost model, within
    ``[min_size, pool]``, and the pool itself.

    Args:
        available: seconds left after the pilot, one per budget.
        costs: cost models, each ``{level: seconds per configuration}``.
        pool: the pool size.
        min_size: the smallest size with an overdetermined fit.
    """
    sizes = {int(pool)}
    for a in available:
        for cost in costs:
            for per in cost.values():
                n = affordable_size(a, per, pool)
                sizes.update(s for s in (n - 1, n) if min_size <= s <= pool)
    return sorted(sizes)


def restrict_labels(labels, ids):
    """The labels of ``ids`` only (what a pilot computed at that level)."""
    from dataclasses import replace

    keep = set(ids)

    def only(mapping):
        return None if mapping is None else {k: v for k, v in mapping.items() if k in keep}

    return replace(
        labels,
        energies=only(labels.energies),
        forces=only(labels.forces),
        wall_times=only(labels.wall_times),
        stresses=only(labels.stresses),
        volumes=only(labels.volumes),
        groups=only(labels.groups),
        n_kpoints=only(labels.n_kpoints),
    )


def _frame(rows):
    import pandas as pd

    df = pd.DataFrame(rows)
    df = df.drop(columns=[c for c in ("coefficients", "training_ids") if c in df.columns])
    if "train_level" in df:
        df["train_level"] = df["train_level"].astype(str)
    return df


def pilot_rows(
    blocks_by_twojmax, labels, pilot, settings: ValidationSettings, sizes, progress=None
):
    """Fits of the pilot's subsets at every setting, tested on the pilot's test set.

    Args:
        blocks_by_twojmax: ``{2Jmax: {configuration id: block}}`` with the pilot's configurations.
        labels: ``{level: Labels}``; only the pilot's calculations are used.
        pilot: the :class:`~pyiron_appmlip.planning.pilot.PilotDesign`.
        settings: the :class:`ValidationSettings` (weights, sampler, repetitions, seed).
        sizes: ``{2Jmax: subset sizes}`` (each at most the pilot's training set).
        progress: optional callable receiving messages.

    Returns:
        The sweep rows (DataFrame, coefficients dropped).
    """
    from ..training.sweep import InMemoryBlocks, SweepGrid, run_sweep

    own = {
        lv: restrict_labels(labels[lv], pilot.ids_at(lv))
        for lv in dict.fromkeys([*pilot.levels, pilot.reference_level])
    }
    rows = []
    for t in sorted(blocks_by_twojmax):
        grid = SweepGrid(
            list(pilot.levels),
            subset_sizes=list(sizes[t]),
            weights=list(settings.weights),
            samplers=(settings.pilot_sampler,),
            repetitions=settings.pilot_repetitions,
            seed=settings.seed,
            leverage_weights=(settings.leverage_weight, 1.0),
        )
        rows += run_sweep(
            {int(t): InMemoryBlocks(blocks_by_twojmax[t])},
            own,
            list(pilot.train_ids),
            list(pilot.test_ids),
            grid,
            pilot.reference_level,
            progress=progress,
            test_weights=getattr(pilot, "test_weights", None),
        )
    return _frame(rows)


def truth_rows(
    blocks_by_twojmax,
    labels,
    pool,
    test,
    train_levels,
    truth,
    settings: ValidationSettings,
    sizes,
    progress=None,
    test_weights=None,
):
    """Fits of leverage-sampled subsets of the whole pool (and the pool itself) at every setting,
    tested on the whole test set.

    Args:
        blocks_by_twojmax: ``{2Jmax: {configuration id: block}}`` of the pool and the test set.
        labels: ``{level: Labels}`` of the training levels and ``truth``.
        pool: training pool ids.
        test: test ids (labelled at ``truth``).
        train_levels: the training levels.
        truth: the reference level.
        settings: the :class:`ValidationSettings`.
        sizes: ``{2Jmax: subset sizes}`` (the pool size included).
        progress: optional callable receiving messages.
        test_weights: one weight per test id (weighted test RMSEs), or None.

    Returns:
        The sweep rows (DataFrame, coefficients dropped).
    """
    from ..training.sweep import InMemoryBlocks, SweepGrid, run_sweep

    rows = []
    for t in sorted(blocks_by_twojmax):
        grid = SweepGrid(
            list(train_levels),
            subset_sizes=list(sizes[t]),
            weights=list(settings.weights),
            samplers=("leverage",),
            repetitions=settings.truth_repetitions,
            seed=settings.seed,
            leverage_weights=(settings.leverage_weight, 1.0),
        )
        rows += run_sweep(
            {int(t): InMemoryBlocks(blocks_by_twojmax[t])},
            labels,
            list(pool),
            list(test),
            grid,
            truth,
            progress=progress,
            test_weights=test_weights,
        )
    return _frame(rows)


def measure_source(
    dataset,
    settings: ValidationSettings,
    *,
    name: str,
    description: str = "",
    n_train: int,
    n_test: int,
    train_ids=None,
    test_ids=None,
    truth_level: str | None = None,
    blocks_by_twojmax: dict | None = None,
    reference=None,
    unit_cost: float | None = None,
    progress=None,
) -> SourceMeasurement:
    """The pilot, its rows and the truth's rows of one labelled dataset.

    The reference level is ``truth_level`` (default: the highest); the training levels are the
    levels below it (a dataset with one level trains and tests on it).

    Args:
        dataset: a :class:`~pyiron_appmlip.datasets.store.LabelledDataset`.
        settings: the :class:`ValidationSettings`.
        name: short name of the source.
        description: one line on the source.
        n_train: the pilot's training configurations (1 .. pool size).
        n_test: the pilot's test configurations (1 .. test-set size).
        train_ids: training partition (default: the dataset's).
        test_ids: test partition (default: the dataset's).
        truth_level: reference level (default: the highest).
        blocks_by_twojmax: ``{2Jmax: {id: block}}`` if already computed (else LAMMPS computes
            them for every 2Jmax of ``settings``).
        reference: a :class:`~pyiron_appmlip.potential.reference.ReferencePotential`
            subtracted from the labels before fitting.
        unit_cost: seconds of every calculation for data without recorded times (budgets are
            then counted in calculations); None uses the recorded times.
        progress: optional callable receiving messages.

    Raises:
        ValueError: naming the argument, for an empty pool or test set, pilot sizes out of
            range or a pilot too small to fit.
    """
    from ..dft.levels import level_order

    say = progress or (lambda m: None)
    names = [str(n) for n in dataset.level_names]
    truth = str(truth_level or names[-1])
    if truth not in names:
        raise ValueError(f"truth_level must be one of the dataset's levels {names}, got {truth!r}")
    train_levels = [n for n in names if level_order(n) < level_order(truth)] or [truth]
    train_ids = dataset.train_ids if train_ids is None else list(train_ids)
    test_ids = dataset.test_ids if test_ids is None else list(test_ids)
    pool = dataset.common_ids(train_levels, train_ids)
    test = dataset.common_ids([truth], test_ids)
    if not pool or not test:
        raise ValueError(
            f"{name}: the training pool ({len(pool)}) and the test set at level {truth} "
            f"({len(test)}) must both be non-empty"
        )
    if isinstance(n_train, bool) or not 1 <= int(n_train) < len(pool):
        raise ValueError(f"n_train must be an integer in [1, {len(pool) - 1}], got {n_train!r}")
    if isinstance(n_test, bool) or not 1 <= int(n_test) <= len(test):
        raise ValueError(f"n_test must be an integer in [1, {len(test)}], got {n_test!r}")
    n_train, n_test = int(n_train), int(n_test)
    if reference is not None:
        say(f"{name}: reference potential subtracted: {reference}")
    labels = dataset_labels(dataset, [*train_levels, truth], pool + test, reference)
    if blocks_by_twojmax is None:
        blocks_by_twojmax = {}
        for t in settings.twojmax:
            say(f"{name}: descriptors 2Jmax={t} ({len(pool) + len(test)} structures)")
            blocks_by_twojmax[int(t)] = dataset_blocks(dataset, pool + test, t)
    first = min(blocks_by_twojmax)
    order = leverage_order(blocks_by_twojmax[first], pool, settings.leverage_weight, settings.seed)
    pilots = {}
    for how, (ids, weights) in test_draws(
        blocks_by_twojmax[first], pool, test, n_test, settings
    ).items():
        pilots[how] = replace(
            recorded_pilot(dataset, order[:n_train], ids, train_levels, truth, unit_cost=unit_cost),
            test_selection=how,
            test_weights=None if weights is None else tuple(float(w) for w in weights),
        )
    pilot = pilots[settings.pilot_test_selection]
    say(f"{name}: pilot {n_train} + {n_test} configurations, {pilot.total_seconds:.4g} s")
    rows_of = {i: 1 + 3 * len(dataset.structure(i)) for i in pool}
    p = {t: int(next(iter(b.values())).shape[1]) for t, b in blocks_by_twojmax.items()}
    sizes_pilot = {
        t: pilot_sizes(
            n_train, settings.size_fractions, [rows_of[i] for i in order[:n_train]], p[t] + 1
        )
        for t in blocks_by_twojmax
    }
    from ..core.learning_curves import overdetermined_sizes

    min_size = max(
        overdetermined_sizes(range(1, len(pool) + 1), list(rows_of.values()), p[t] + 1)[0]
        for t in blocks_by_twojmax
    )
    pool_cost = mean_cost_per_configuration(dataset, pool, train_levels, unit_cost)
    pilot_cost = mean_cost_per_configuration(dataset, pilot.train_ids, train_levels, unit_cost)
    available = default_available(pool_cost, len(pool), settings.n_budgets)
    sizes_truth = truth_sizes(available, [pool_cost, pilot_cost], len(pool), min_size)
    say(f"{name}: pilot subsets {sizes_pilot}, {settings.pilot_repetitions} repetitions")
    test_sets = {}
    for how, design in pilots.items():
        say(f"{name}: pilot with the {how} test set ({len(design.test_ids)} configurations)")
        test_sets[how] = {
            "pilot": design,
            "pilot_rows": pilot_rows(
                blocks_by_twojmax, labels, design, settings, sizes_pilot, progress=progress
            ),
        }

    def pool_rows(sizes, test_ids, repetitions, test_weights=None):
        return truth_rows(
            blocks_by_twojmax,
            labels,
            order,
            test_ids,
            train_levels,
            truth,
            replace(settings, truth_repetitions=repetitions),
            sizes,
            progress=progress,
            test_weights=test_weights,
        )

    say(f"{name}: whole pool ({len(pool)}) at sizes {sizes_truth}")
    trow = pool_rows(
        dict.fromkeys(blocks_by_twojmax, sizes_truth), test, settings.truth_repetitions
    )
    say(f"{name}: leverage samples of the whole pool at the pilot's sizes {sizes_pilot}")
    at_pilot_sizes = pool_rows(sizes_pilot, test, settings.pilot_repetitions)
    for how, part in test_sets.items():
        say(f"{name}: whole pool tested on the pilot's {how} test set")
        part["pool_on_pilot_test"] = pool_rows(
            dict.fromkeys(blocks_by_twojmax, [len(pool)]),
            list(part["pilot"].test_ids),
            1,
            test_weights=part["pilot"].test_weights,
        )
    chosen = test_sets[settings.pilot_test_selection]
    return SourceMeasurement(
        name=name,
        description=description,
        pilot=pilot,
        pilot_rows=chosen["pilot_rows"],
        truth_rows=trow,
        pool_ids=list(order),
        test_ids=list(test),
        train_levels=list(train_levels),
        truth_level=truth,
        pool_cost=pool_cost,
        available_seconds=available,
        cost_unit="calculations" if unit_cost is not None else "core-hours",
        pool_on_pilot_test=chosen["pool_on_pilot_test"],
        test_sets=test_sets,
        truth_at_pilot_sizes=at_pilot_sizes,
        info={
            "pool": len(pool),
            "test": len(test),
            "n_descriptors": p,
            "pilot_sizes": sizes_pilot,
            "truth_sizes": sizes_truth,
            "min_size": int(min_size),
        },
    )


# -- cache key ---------------------------------------------------------------------------------
#: Sources of the package that cannot change a measured row (summaries, plans, Markdown).
NOT_IN_DIGEST = ("reproduction/pilot_validation.py",)


def code_digest(root: str | None = None) -> str:
    """SHA-256 of the package's Python sources except :data:`NOT_IN_DIGEST` (the modules that
    only fit error models to measured rows, plan and render)."""
    return _code_digest(NOT_IN_DIGEST, root)


def settings_key(settings: ValidationSettings) -> dict:
    """The settings as a JSON-friendly dict (part of every cache key)."""
    import json

    return json.loads(json.dumps(asdict(settings), default=list))
