"""The like-for-like study's conventions and results: how learning curves and Pareto fronts are
drawn and summarised (:class:`StudyConventions`, defaults: the paper authors'), the authors'
tables as read (:class:`PaperTables`) and one source's measured result (:class:`SourceResult`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SAMPLER_NAMES = {"Random": "random", "Leverage": "leverage", "Block Leverage": "block_leverage"}
CURVE_SAMPLERS = ("leverage", "block_leverage", "random")
ERRORS = ("energy_rmse_test_truth", "force_rmse_test_truth")
COSTS = ("dft_seconds", "dft_seconds_mean_x_n")
DOMINANCE = ("standard", "strict")
#: Groups of the W-Be set left out of the study: the 256-atom defect cells' energies per atom
#: spread by up to 3.7 eV/atom within one group (-3.3 to +0.4 eV/atom), far beyond any defect
#: formation energy, and FitSNAP's published fit of that set weights the energies of the defect
#: and liquid groups 40 to 12,000 times less than those of the MD snapshots.
WBE_EXCLUDED_GROUPS = ("Defect_*", "Liquids")


def wbe_excluded(group: str) -> bool:
    """Whether a W-Be configuration of ``group`` is left out (:data:`WBE_EXCLUDED_GROUPS`).

    The group is matched by its last path component, so that the same configurations are left
    out whether the data were read from FitSNAP's ``JSON`` folder (group ``Defect_BSplit``) or
    from a folder above it (group ``JSON/Defect_BSplit``).
    """
    import fnmatch

    name = str(group).replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(name, pat) for pat in WBE_EXCLUDED_GROUPS)


#: Fewest test configurations of a default reference level (:func:`measure_dataset`).
MIN_TEST = 10
#: Version of what a cached :class:`SourceResult` holds (part of the cache key).
RESULT_FORMAT = 2
#: w_E/w_F of the weight sweep on the whole pool (Fig. 4; the authors' 2D_pareto table's values).
SWEEP_WEIGHTS = (
    0.01,
    0.1,
    1.0,
    5.0,
    10.0,
    12.25,
    20.0,
    50.0,
    100.0,
    150.0,
    200.0,
    300.0,
    500.0,
    750.0,
    1000.0,
    1500.0,
    2000.0,
)


@dataclass
class StudyConventions:
    """How learning curves and Pareto fronts are drawn and summarised (defaults: the authors').

    Attributes:
        repetitions: repetitions per sampler and size of the learning curves (>= 1; the authors
            used 50).
        front_repetitions: repetitions of the leverage-sampled models of the Pareto front.
        draws: "independent" (every size drawn afresh, as the authors) or "nested".
        center: "median" (the authors) or "mean" of the repetitions.
        band: percentiles of the spread band.
        weights: w_E/w_F ratios of the front (the authors' six).
        curve_weight: w_E/w_F of the learning curves and of the leverage scores.
        energy_tolerance: meV/atom above the whole pool's energy error (Fig. 6 criterion).
        force_tolerance: meV/Angstrom above the whole pool's force error (Fig. 6 criterion).
        relative_tolerance: the same criterion as a fraction of the whole pool's error (for
            errors far above the absolute tolerances).
        fit_convention: "package" or "authors" (no constant column, ``lstsq`` cond 1e-13); see
            :data:`~pyiron_appmlip.training.sweep.FIT_CONVENTIONS`.
        test_fraction: ``None`` keeps the dataset's own train/test split; a number re-splits by
            configuration id (0.5: the authors' halves).
        n_sizes: number of subset sizes of our own sweeps (geometric, overdetermined ones only).
        seed: root seed of the sampling orders and of a re-split.
        front_range: ``(energy factor, force factor)``: the levels on the front are also listed
            for the models whose median errors are at most these factors times the best
            median errors on the front (a figure's drawn range; the paper gives its ranges
            only graphically).
    """

    repetitions: int = 50
    front_repetitions: int = 50
    draws: str = "independent"
    center: str = "median"
    band: tuple = (16.0, 84.0)
    weights: tuple = (5.0, 10.0, 12.25, 50.0, 150.0, 300.0)
    curve_weight: float = 150.0
    energy_tolerance: float = 1.0
    force_tolerance: float = 10.0
    relative_tolerance: float = 0.1
    fit_convention: str = "package"
    test_fraction: float | None = None
    n_sizes: int = 9
    seed: int = 0
    front_range: tuple = (3.0, 1.3)

    def __post_init__(self):
        from ...core.learning_curves import CENTERS
        from ...training.sweep import DRAWS, FIT_CONVENTIONS

        for name in ("repetitions", "front_repetitions", "n_sizes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.draws not in DRAWS:
            raise ValueError(f"draws must be one of {DRAWS}, got {self.draws!r}")
        if self.center not in CENTERS:
            raise ValueError(f"center must be one of {CENTERS}, got {self.center!r}")
        if self.fit_convention not in FIT_CONVENTIONS:
            raise ValueError(
                f"fit_convention must be one of {tuple(FIT_CONVENTIONS)}, got "
                f"{self.fit_convention!r}"
            )
        if self.test_fraction is not None and not 0.0 < self.test_fraction < 1.0:
            raise ValueError(
                f"test_fraction must be None (the dataset's split) or in (0, 1), got "
                f"{self.test_fraction!r}"
            )
        for name in ("energy_tolerance", "force_tolerance", "relative_tolerance"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.curve_weight not in self.weights:
            raise ValueError(
                f"curve_weight must be one of weights {list(self.weights)}, got "
                f"{self.curve_weight!r}"
            )


@dataclass
class PaperTables:
    """The authors' published results as sweep-like rows (errors in meV/atom, meV/Angstrom).

    Attributes:
        sampling: ``sampling_methods_comparison``: level 6, w_E/w_F 150, three samplers.
        pareto: ``3D_pareto``: leverage subsets x weights x training levels.
        weights: ``2D_pareto``: the whole training pool, every weight and level.
        path: the folder they were read from.
    """

    sampling: object
    pareto: object
    weights: object
    path: str


@dataclass
class SourceResult:
    """Everything the report prints about one source.

    Attributes:
        name: short name of the source (a report column).
        description: one line on what the source is.
        twojmax: 2Jmax of the models.
        curves: :func:`curve_summary` curves.
        needed: :func:`curve_summary` sizes needed per sampler.
        fronts: :func:`front_summary` of the front rows.
        full: whole-pool test errors ``{"energy", "force"}`` at the curve setting.
        info: pool and test sizes, levels, coefficients, repetitions, etc.
        rows: the rows of the front (leverage-sampled and whole-pool models of every level
            and weight) for further use; for our datasets with their ranks.
        weight_sweep: whole-pool models of every training level at :data:`SWEEP_WEIGHTS`:
            ``train_level``, ``weight_ratio`` and the test errors against the reference level.
    """

    name: str
    description: str
    twojmax: int
    curves: object
    needed: object
    fronts: dict
    full: dict
    info: dict = field(default_factory=dict)
    rows: object = None
    weight_sweep: object = None


# -- the authors' tables -----------------------------------------------------------------------


def _check_repetitions_at(repetitions_at) -> dict:
    """``{2Jmax: repetitions}`` with positive integers, else a ValueError naming the parameter."""
    out = {}
    for t, n in (repetitions_at or {}).items():
        ok = all(
            isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= 1 for v in (t, n)
        )
        if not ok:
            raise ValueError(
                "repetitions_at must map 2Jmax values to positive repetition counts, e.g. "
                f"{{8: 10}}; got {repetitions_at!r}"
            )
        out[int(t)] = int(n)
    return out
