"""Analysis of a sweep table: figures (the paper's Figs. 4-8), the recommendation of MLIP
settings for an application, and the plan of which configurations to label.

Plots need matplotlib and are imported on first use, so ``from pyiron_appmlip.study import
recommend`` stays light.
"""

from importlib import import_module

from .recommend import (
    Recommendation,
    acquisition_plan,
    budget_scan,
    recommend,
)

_PLOTS = ("plot_weight_sweep", "plot_learning_curves", "plot_pareto", "plot_pareto_cost")

__all__ = [
    "Recommendation",
    "recommend",
    "budget_scan",
    "acquisition_plan",
    *_PLOTS,
]


def __getattr__(name):
    if name in _PLOTS:
        value = getattr(import_module(".plots", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_PLOTS))
