"""Numerical core (numpy/scipy only): streamed statistics, weighted fits, errors, leverage
scores, sampling orders, label-free selectors, DFT-vs-DFT comparisons and learning-curve error
models for linear (q)SNAP models.

Data model: configuration m has a descriptor block (1 + 3 N_m, p): the total-energy row (sum over
atoms), then force rows x, y, z atom by atom (predicted forces = rows @ beta), optionally six
virial rows (xx, yy, zz, yz, xz, xy; predicted stress = -rows @ beta / volume, ASE's sign).
Energies are total energies in eV, forces (N_m, 3) in eV/Angstrom, stresses in eV/Angstrom^3
(positive under tension). Coefficients have length p + 1, the per-atom reference energy first.
Errors are reported in meV/atom, meV/Angstrom and GPa. Stress rows and per-configuration weight
factors: see :mod:`.statistics`.
"""

from ._linalg import DEFAULT_RCOND
from .comparison import LevelComparison, compare_levels, comparison_table
from .error_model import ErrorModel, LearningCurve, fit_error_model
from .errors import (
    ErrorSummary,
    direct_errors,
    rmse_from_statistics,
    statistics_errors,
    statistics_errors_batch,
)
from .extrapolation import (
    ExtrapolationGrade,
    GradeThresholds,
    leverage_grade,
    leverage_grade_from_statistics,
    maxvol_grade,
)
from .fit import (
    LinearModel,
    SubsetFit,
    fit_statistics,
    fit_statistics_levels,
    fit_statistics_weights,
    fit_weighted,
    statistics_fits,
    subset_fits,
)
from .leverage import (
    LeverageProjector,
    SharedLeverageProjector,
    leverage_scores,
    leverage_scores_streamed,
    leverage_scores_weights,
)
from .multi_fidelity import (
    DeltaModel,
    EnergyFactors,
    fit_delta,
    fit_level_pair,
    training_calculations,
    training_cost,
)
from .sampling import (
    SAMPLERS,
    random_order,
    repeated_orders,
    sample_subset,
    sampling_order,
    weighted_order,
)
from .selectors import (
    DETERMINISTIC_SELECTORS,
    FIRST_POINT_SELECTORS,
    SELECTORS,
    cur_order,
    d_optimal_order,
    dataset_entropy,
    entropy_order,
    feature_rows,
    fps_order,
    maxvol_order,
    maxvol_rows,
    standardized,
)
from .shared_subsets import (
    PlanNode,
    SubsetPlan,
    plan_statistics,
    plan_subsets,
    shared_subset_fits,
    statistics_budget,
)
from .statistics import SufficientStatistics, iter_checkpoints
from .subset_scatter import SubsetStatistics, scatter_subset_fits, scatter_subset_statistics

__all__ = [
    "SubsetStatistics",
    "scatter_subset_fits",
    "scatter_subset_statistics",
    "DeltaModel",
    "EnergyFactors",
    "fit_delta",
    "fit_level_pair",
    "training_calculations",
    "training_cost",
    "DEFAULT_RCOND",
    "SufficientStatistics",
    "iter_checkpoints",
    "LinearModel",
    "fit_weighted",
    "fit_statistics",
    "fit_statistics_levels",
    "fit_statistics_weights",
    "SubsetFit",
    "statistics_fits",
    "subset_fits",
    "PlanNode",
    "SubsetPlan",
    "plan_subsets",
    "plan_statistics",
    "shared_subset_fits",
    "statistics_budget",
    "ErrorModel",
    "LearningCurve",
    "fit_error_model",
    "ErrorSummary",
    "statistics_errors",
    "statistics_errors_batch",
    "rmse_from_statistics",
    "direct_errors",
    "LeverageProjector",
    "SharedLeverageProjector",
    "leverage_scores",
    "leverage_scores_weights",
    "leverage_scores_streamed",
    "SAMPLERS",
    "weighted_order",
    "random_order",
    "sampling_order",
    "sample_subset",
    "repeated_orders",
    "SELECTORS",
    "DETERMINISTIC_SELECTORS",
    "FIRST_POINT_SELECTORS",
    "feature_rows",
    "standardized",
    "maxvol_rows",
    "maxvol_order",
    "d_optimal_order",
    "cur_order",
    "fps_order",
    "dataset_entropy",
    "entropy_order",
    "LevelComparison",
    "compare_levels",
    "comparison_table",
    "ExtrapolationGrade",
    "GradeThresholds",
    "leverage_grade",
    "leverage_grade_from_statistics",
    "maxvol_grade",
]
