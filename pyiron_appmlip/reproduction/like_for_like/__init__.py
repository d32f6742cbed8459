"""Figures 6 and 7 like for like: one set of conventions for the paper authors' published tables,
the package's GPAW datasets and an imported dataset (e.g. the Be part of the W-Be SNAP set).

The paper authors summarise their sweeps in a particular way (their README and notebooks,
described in the README of their results tables). :class:`StudyConventions` holds those choices
as options, and the same functions are applied to every source:

* **learning curves** (Fig. 6): regular leverage, block leverage and random sampling at one
  level and weight; each subset size drawn afresh per repetition (``draws="independent"``);
  50 repetitions summarised by the median and a 16-84 % band; only sizes whose fits are
  overdetermined whichever configurations are drawn. :func:`curve_summary` reads off how many
  configurations each sampler needs until its median (or mean) test error stays within a
  tolerance of the whole pool's (1 meV/atom for energies, 10 meV/Angstrom for forces);
* **Pareto fronts** (Fig. 7): leverage-sampled models of every training level, size and weight
  (5, 10, 12.25, 50, 150, 300), the median over repetitions per setting, and the front over DFT
  cost and the test errors against the reference level. The DFT cost is taken both as the
  measured time of the chosen configurations (their CPU time where the level records it for
  every calculation, else their wall time) and as the level's mean time per
  configuration times N (how the paper's Table 1 is used); the front is taken with the standard
  dominance rule and with the authors' strict one (:mod:`pyiron_appmlip.core.pareto`).
  :func:`front_summary` lists the levels on each front.

Sources: :func:`load_paper_tables` reads the authors' ``results.csv`` files (from a path the user
gives; they are not shipped) into sweep-like rows; :func:`measure_dataset` runs the sweep
(:func:`~pyiron_appmlip.training.sweep.run_sweep`) on a
:class:`~pyiron_appmlip.datasets.store.LabelledDataset` with the conventions. The command line
(:func:`main`) writes the side-by-side Markdown report.

The study is split by concern: :mod:`.conventions` (the conventions and result types),
:mod:`.sources` (the authors' tables and every source of a report), :mod:`.measuring` (the
summaries and the sweep on a dataset), :mod:`.rendering` (Markdown), :mod:`.cache` (stored
results) and :mod:`.cli` (``python -m pyiron_appmlip.reproduction.like_for_like``).
"""

# Every name of the submodules is importable from here, as it was from the single module.
# ruff: noqa: F401

from .cache import (
    RENDERING_MODULES,
    _cached,
    code_digest,
)
from .cli import (
    _parser,
    main,
    parse_repetitions_at,
    parse_twojmax_of,
)
from .conventions import (
    COSTS,
    CURVE_SAMPLERS,
    DOMINANCE,
    ERRORS,
    MIN_TEST,
    RESULT_FORMAT,
    SAMPLER_NAMES,
    SWEEP_WEIGHTS,
    WBE_EXCLUDED_GROUPS,
    PaperTables,
    SourceResult,
    StudyConventions,
    _check_repetitions_at,
)
from .measuring import (
    OUTLIER_FACTOR,
    _levels_below,
    _sizes,
    _test_energy_errors,
    application_front,
    curve_summary,
    default_levels,
    energy_error_concentration,
    front_summary,
    md_throughput,
    measure_dataset,
)
from .rendering import (
    _n,
    _ratio,
    _section_application,
    _section_curves,
    _section_fronts,
    _section_statements,
    _section_weights,
    application_sections,
    dataset_cost_lines,
    paper_statements,
    render_report,
    render_sections,
)
from .sources import (
    _level_costs,
    _read_csv,
    collect_results,
    load_paper_tables,
    paper_source,
)

__all__ = [
    "StudyConventions",
    "PaperTables",
    "SourceResult",
    "load_paper_tables",
    "paper_source",
    "curve_summary",
    "front_summary",
    "measure_dataset",
    "render_report",
    "render_sections",
    "collect_results",
    "default_levels",
    "application_front",
    "md_throughput",
    "application_sections",
    "paper_statements",
    "dataset_cost_lines",
    "main",
]
