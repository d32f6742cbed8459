"""Measuring the selector and multi-fidelity comparison: the sweep rows of every source.

Everything here turns a labelled dataset into plain tables of fits (one row per fitted model,
the columns of :data:`~pyiron_appmlip.training.table.COLUMNS` without coefficients):

* :func:`measure_curves`: learning curves of every sampler (leverage, block leverage, random
  and the label-free selectors of :mod:`pyiron_appmlip.core.selectors`) at one training level
  and weight, with test errors against the reference (truth) level;
* :func:`measure_front`: single-level models of every training level, level pairs (energies
  from one level, forces from another) and Delta models (a cheap level plus a correction to
  a dear one) at several training and energy subset sizes, with their DFT cost.

:func:`cached` stores a result under a key of everything it depends on (the dataset files,
the settings and the package's sources except the modules that only summarise or render), so
an interrupted report resumes and a re-rendered report reuses every sweep. Nothing here writes
Markdown or figures; that is :mod:`pyiron_appmlip.reproduction.selectors_and_fidelity_render`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import numpy as np

from .dataset_inputs import dataset_blocks, dataset_labels
from .result_cache import cached  # noqa: F401  (part of this module's interface)
from .result_cache import code_digest as _code_digest

__all__ = [
    "CURVE_SAMPLERS",
    "ERRORS",
    "StudySettings",
    "SourceRows",
    "subset_sizes",
    "energy_sizes",
    "measure_curves",
    "measure_front",
    "measure_source",
    "code_digest",
    "cached",
    "RESULT_FORMAT",
]

#: Samplers of the learning curves: the leverage samplers, random sampling and the label-free
#: selectors.
CURVE_SAMPLERS = (
    "leverage",
    "block_leverage",
    "random",
    "maxvol",
    "d_optimal",
    "cur",
    "fps",
    "entropy",
)
#: Test errors against the reference level (meV/atom, meV/Angstrom).
ERRORS = ("energy_rmse_test_truth", "force_rmse_test_truth")
#: Version of what a cached result holds (part of the cache key).
RESULT_FORMAT = 1
#: Modules left out of :func:`code_digest`: they only summarise rows that are already computed,
#: or write Markdown and figures, so editing them keeps every cached result valid.
NOT_IN_DIGEST = (
    "reproduction/selectors_and_fidelity.py",
    "reproduction/selectors_and_fidelity_render.py",
)


def _positive_int(name, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class StudySettings:
    """What the comparison computes (defaults: the shipped report's settings).

    Attributes:
        twojmax: 2Jmax of the qSNAP descriptors of the GPAW datasets (4 or 6 keep the whole
            command within minutes).
        repetitions: sampling repetitions per sampler and size (the deterministic selectors
            "maxvol", "d_optimal" and "cur" have one order whatever this is).
        samplers: samplers of the learning curves, from :data:`CURVE_SAMPLERS`.
        curve_weight: w_E/w_F of the learning curves and of the leverage scores.
        front_weights: w_E/w_F ratios of the cost-error front.
        front_sampler: sampler of the training subsets of the front.
        n_sizes: number of training-subset sizes (geometric, overdetermined ones only; the
            whole pool is added on the front).
        level_pairs: ``(energy_level, force_level)`` pairs of the front.
        delta_pairs: ``(low_level, high_level)`` pairs of Delta models on the front.
        energy_fractions: energy-subset (Delta: correction-set) sizes as fractions of the
            training pool, each in (0, 1].
        seed: root seed of the sampling orders and of the W-Be subsample.
        wbe_configurations: configurations drawn from the W-Be Be set (train and test halves
            together; 0: all of them).
        wbe_twojmax: 2Jmax of the W-Be learning curves.
        wbe_repetitions: repetitions of the W-Be learning curves.

    Raises:
        ValueError: naming the attribute and its allowed values, for a bad value.
    """

    twojmax: int = 4
    repetitions: int = 15
    samplers: tuple = CURVE_SAMPLERS
    curve_weight: float = 150.0
    front_weights: tuple = (150.0, 12.0)
    front_sampler: str = "leverage"
    n_sizes: int = 8
    level_pairs: tuple = (("4", "1"), ("4", "2"))
    delta_pairs: tuple = (("1", "4"), ("2", "4"))
    energy_fractions: tuple = (0.1, 0.25, 0.5, 1.0)
    seed: int = 0
    wbe_configurations: int = 3000
    wbe_twojmax: int = 4
    wbe_repetitions: int = 10

    def __post_init__(self):
        for name in ("twojmax", "wbe_twojmax"):
            value = _positive_int(name, getattr(self, name))
            if value % 2:
                raise ValueError(f"{name} must be an even positive integer, got {value!r}")
        _positive_int("repetitions", self.repetitions)
        _positive_int("wbe_repetitions", self.wbe_repetitions)
        if self.n_sizes is None or _positive_int("n_sizes", self.n_sizes) < 2:
            raise ValueError(f"n_sizes must be an integer >= 2, got {self.n_sizes!r}")
        if isinstance(self.wbe_configurations, bool) or not (
            isinstance(self.wbe_configurations, int | np.integer) and self.wbe_configurations >= 0
        ):
            raise ValueError(
                "wbe_configurations must be 0 (all) or a positive integer, got "
                f"{self.wbe_configurations!r}"
            )
        samplers = tuple(self.samplers)
        if not samplers:
            raise ValueError(f"samplers must name at least one of {CURVE_SAMPLERS}, got none")
        for s in samplers:
            if s not in CURVE_SAMPLERS:
                raise ValueError(f"samplers must be taken from {CURVE_SAMPLERS}, got {s!r}")
        object.__setattr__(self, "samplers", samplers)
        if self.front_sampler not in CURVE_SAMPLERS:
            raise ValueError(
                f"front_sampler must be one of {CURVE_SAMPLERS}, got {self.front_sampler!r}"
            )
        for name in ("curve_weight",):
            w = getattr(self, name)
            if not (isinstance(w, int | float) and np.isfinite(w) and w > 0):
                raise ValueError(f"{name} must be a positive number (w_E/w_F), got {w!r}")
        weights = tuple(float(w) for w in self.front_weights)
        if not weights or not all(np.isfinite(w) and w > 0 for w in weights):
            raise ValueError(
                f"front_weights must be positive numbers (w_E/w_F), got {self.front_weights!r}"
            )
        object.__setattr__(self, "front_weights", weights)
        fractions = tuple(float(f) for f in self.energy_fractions)
        if not fractions or not all(0.0 < f <= 1.0 for f in fractions):
            raise ValueError(
                f"energy_fractions must be numbers in (0, 1], got {self.energy_fractions!r}"
            )
        object.__setattr__(self, "energy_fractions", fractions)
        for name in ("level_pairs", "delta_pairs"):
            pairs = tuple(tuple(str(v) for v in p) for p in getattr(self, name))
            for p in pairs:
                if len(p) != 2 or p[0] == p[1]:
                    raise ValueError(
                        f"{name} must be pairs of two different level names, got {p!r}"
                    )
            object.__setattr__(self, name, pairs)


@dataclass
class SourceRows:
    """The measured rows of one source.

    Attributes:
        name: short name of the source (a report column).
        description: one line on the source.
        curves: learning-curve rows (one per sampler, size and repetition; ``sampler`` "all"
            is the whole pool), a pandas DataFrame.
        front: cost-error rows (single levels, level pairs, Delta models), or None.
        info: ``pool``, ``test``, ``truth_level``, ``train_levels``, ``curve_level``,
            ``twojmax``, ``n_descriptors``, ``sizes``, ``energy_sizes``, ``repetitions``,
            ``cost_source`` and, for a subsampled source, ``subsample``.
    """

    name: str
    description: str
    curves: object
    front: object = None
    info: dict = field(default_factory=dict)


def subset_sizes(pool_rows, n_coefficients: int, n_sizes: int) -> list[int]:
    """Geometric training-subset sizes below the pool size whose fits are overdetermined.

    Args:
        pool_rows: equations per pool configuration (1 + 3 N).
        n_coefficients: coefficients of the fit (p + 1).
        n_sizes: number of sizes asked for (fewer where sizes coincide).

    Raises:
        ValueError: if no subset of the pool is overdetermined.
    """
    from ..core.learning_curves import overdetermined_sizes

    pool = len(pool_rows)
    ok = overdetermined_sizes(range(1, pool + 1), list(pool_rows), n_coefficients) if pool else []
    if not ok or ok[0] >= pool:
        raise ValueError(
            f"no subset smaller than the pool of {pool} configurations is overdetermined for "
            f"{n_coefficients} coefficients; use a smaller twojmax or a larger pool"
        )
    grid = np.unique(np.round(np.geomspace(ok[0], pool, n_sizes + 1)).astype(int))
    return [int(s) for s in grid if s < pool]


def energy_sizes(pool: int, fractions) -> list[int]:
    """The energy-subset sizes of the front: ``round(f * pool)`` (at least 1) per fraction."""
    return sorted({max(1, int(round(float(f) * pool))) for f in fractions})


def _frame(rows):
    import pandas as pd

    df = pd.DataFrame(rows)
    return df.drop(columns=[c for c in ("coefficients", "training_ids") if c in df.columns])


def measure_curves(
    blocks: dict,
    labels: dict,
    pool: list,
    test: list,
    curve_level: str,
    truth: str,
    sizes: list,
    settings: StudySettings,
    *,
    twojmax: int,
    repetitions: int | None = None,
    executor="serial",
    progress=None,
):
    """Learning curves of every sampler of ``settings`` (plus the whole pool).

    Args:
        blocks: ``{configuration id: descriptor block}`` of the pool and the test set.
        labels: ``{level: Labels}`` with the curve and truth levels.
        pool: training pool ids.
        test: test ids (labelled at ``truth``).
        curve_level: training level.
        truth: reference level of the test errors.
        sizes: training-subset sizes.
        settings: the :class:`StudySettings` (samplers, weight, seed).
        twojmax: 2Jmax of the blocks (the ``twojmax`` column).
        repetitions: repetitions (default ``settings.repetitions``).
        executor: where the sweep units run.
        progress: optional callable receiving messages.

    Returns:
        The sweep rows as a DataFrame (coefficients dropped).
    """
    from ..training.sweep import InMemoryBlocks, SweepGrid, run_sweep

    grid = SweepGrid(
        [curve_level],
        subset_sizes=sizes,
        weights=[settings.curve_weight],
        samplers=(*settings.samplers, "all"),
        repetitions=settings.repetitions if repetitions is None else repetitions,
        seed=settings.seed,
        leverage_weights=(settings.curve_weight, 1.0),
    )
    rows = run_sweep(
        {int(twojmax): InMemoryBlocks(blocks)},
        labels,
        pool,
        test,
        grid,
        truth,
        executor=executor,
        progress=progress,
    )
    return _frame(rows)


def measure_front(
    blocks: dict,
    labels: dict,
    pool: list,
    test: list,
    train_levels: list,
    truth: str,
    sizes: list,
    settings: StudySettings,
    *,
    twojmax: int,
    executor="serial",
    progress=None,
):
    """Single-level, level-pair and Delta models at every size, weight and repetition.

    The training subsets are the first n of one sampling order of ``settings.front_sampler``
    per repetition; level pairs and Delta models take their energy (correction) subsets as the
    first configurations of each training subset (:class:`~pyiron_appmlip.training.sweep.
    SweepGrid` ``energy_sizes``), so one pass over the blocks per repetition gives every model.

    Args:
        blocks: ``{configuration id: descriptor block}`` of the pool and the test set.
        labels: ``{level: Labels}`` of every level used.
        pool: training pool ids (labelled at every level used).
        test: test ids (labelled at ``truth``).
        train_levels: levels of the single-level models.
        truth: reference level of the test errors.
        sizes: training-subset sizes (the pool size is added).
        settings: the :class:`StudySettings`.
        twojmax: 2Jmax of the blocks (the ``twojmax`` column).
        executor: where the sweep units run.
        progress: optional callable receiving messages.

    Returns:
        The sweep rows as a DataFrame (coefficients dropped), with ``dft_seconds`` counting
        every (configuration, level) calculation once.
    """
    from ..training.sweep import InMemoryBlocks, SweepGrid, run_sweep

    levels = set(train_levels)
    pairs = [p for p in settings.level_pairs if set(p) <= levels]
    deltas = [p for p in settings.delta_pairs if set(p) <= levels]
    n_energy = energy_sizes(len(pool), settings.energy_fractions) if pairs or deltas else []
    grid = SweepGrid(
        list(train_levels),
        subset_sizes=sorted({*sizes, len(pool)}),
        weights=list(settings.front_weights),
        samplers=[settings.front_sampler],
        repetitions=settings.repetitions,
        seed=settings.seed,
        leverage_weights=(settings.curve_weight, 1.0),
        level_pairs=pairs,
        delta_pairs=deltas,
        energy_sizes=n_energy,
    )
    rows = run_sweep(
        {int(twojmax): InMemoryBlocks(blocks)},
        labels,
        pool,
        test,
        grid,
        truth,
        executor=executor,
        progress=progress,
    )
    return _frame(rows)


def measure_source(
    dataset,
    settings: StudySettings,
    *,
    name: str,
    description: str = "",
    twojmax: int | None = None,
    front: bool = True,
    truth_level: str | None = None,
    train_ids=None,
    test_ids=None,
    blocks: dict | None = None,
    reference=None,
    repetitions: int | None = None,
    executor="serial",
    progress=None,
) -> SourceRows:
    """Learning curves (and, with ``front``, the cost-error models) of one labelled dataset.

    The reference level is ``truth_level`` (default: the highest level); the training levels
    are the levels below it (a dataset with one level trains and tests on it); the curves are
    at the highest training level.

    Args:
        dataset: a :class:`~pyiron_appmlip.datasets.store.LabelledDataset`.
        settings: the :class:`StudySettings`.
        name: short name of the source.
        description: one line on the source.
        twojmax: 2Jmax of the descriptors (default ``settings.twojmax``).
        front: also measure the single-level, level-pair and Delta models.
        truth_level: reference level (default: the highest).
        train_ids: training partition (default: the dataset's).
        test_ids: test partition (default: the dataset's).
        blocks: ``{configuration id: block}`` if already computed (else LAMMPS computes them).
        reference: a :class:`~pyiron_appmlip.potential.reference.ReferencePotential`
            subtracted from the labels before fitting.
        repetitions: repetitions of the curves (default ``settings.repetitions``).
        executor: where the sweep units run.
        progress: optional callable receiving messages.

    Raises:
        ValueError: if the training pool or the test set is empty, or no subset is
            overdetermined.
    """
    from ..dft.levels import level_order

    say = progress or (lambda m: None)
    twojmax = int(settings.twojmax if twojmax is None else twojmax)
    names = [str(n) for n in dataset.level_names]
    truth = str(truth_level or names[-1])
    if truth not in names:
        raise ValueError(f"truth_level must be one of the dataset's levels {names}, got {truth!r}")
    train_levels = [n for n in names if level_order(n) < level_order(truth)] or [truth]
    train_ids = dataset.train_ids if train_ids is None else list(train_ids)
    test_ids = dataset.test_ids if test_ids is None else list(test_ids)
    curve_level = train_levels[-1]
    pool = dataset.common_ids(train_levels, train_ids)
    test = dataset.common_ids([truth], test_ids)
    if not pool:
        raise ValueError(
            f"{name}: the training pool is empty (no training configuration "
            f"labelled at every level of {train_levels})"
        )
    if not test:
        raise ValueError(f"{name}: no test configuration is labelled at the truth level {truth}")
    if reference is not None:
        say(f"{name}: reference potential subtracted: {reference}")
    labels = dataset_labels(dataset, [*train_levels, truth], pool + test, reference)
    if blocks is None:
        say(f"{name}: descriptors 2Jmax={twojmax} ({len(pool) + len(test)} structures)")
        blocks = dataset_blocks(dataset, pool + test, twojmax)
    p = int(next(iter(blocks.values())).shape[1])
    rows_per_config = [1 + 3 * len(dataset.structure(i)) for i in pool]
    sizes = subset_sizes(rows_per_config, p + 1, settings.n_sizes)
    reps = settings.repetitions if repetitions is None else int(repetitions)
    say(f"{name}: learning curves, sizes {sizes}, {reps} repetitions")
    curves = measure_curves(
        blocks,
        labels,
        pool,
        test,
        curve_level,
        truth,
        sizes,
        settings,
        twojmax=twojmax,
        repetitions=reps,
        executor=executor,
        progress=progress,
    )
    front_rows = None
    if front:
        say(f"{name}: single levels, level pairs and Delta models")
        front_rows = measure_front(
            blocks,
            labels,
            pool,
            test,
            train_levels,
            truth,
            sizes,
            settings,
            twojmax=twojmax,
            executor=executor,
            progress=progress,
        )
    source = curves["dft_cost_source"].iloc[0] if "dft_cost_source" in curves else ""
    return SourceRows(
        name=name,
        description=description,
        curves=curves,
        front=front_rows,
        info={
            "pool": len(pool),
            "test": len(test),
            "truth_level": truth,
            "train_levels": train_levels,
            "curve_level": curve_level,
            "twojmax": twojmax,
            "n_descriptors": p,
            "sizes": sizes,
            "energy_sizes": energy_sizes(len(pool), settings.energy_fractions) if front else [],
            "repetitions": reps,
            "cost_source": str(source),
        },
    )


# -- cache -------------------------------------------------------------------------------------
def code_digest(root: str | None = None) -> str:
    """SHA-256 of the package's Python sources that can change a measured row: every module
    except those of :data:`NOT_IN_DIGEST` (summaries, Markdown and figures of this report).

    Args:
        root: the package folder (default: this installed package).
    """
    return _code_digest(NOT_IN_DIGEST, root)


def settings_key(settings: StudySettings) -> dict:
    """The settings as a JSON-friendly dict (part of every cache key)."""
    return json.loads(json.dumps(asdict(settings), default=list))
