"""Which selector and which DFT level pair give the best model per core-hour: a comparison on
the shipped GPAW datasets and, when given, the Be part of the W-Be SNAP training set.

Run (about a quarter of an hour on one core; ``--cache`` makes it resumable)::

    python -m pyiron_appmlip.reproduction.selectors_and_fidelity \\
        --out pyiron_appmlip/datasets/data/selectors_and_fidelity.md [--wbe PATH] [--cache DIR]

The report (Markdown, PNG figures beside it) has three parts:

(a) learning curves (median and 16-84 % band over repetitions of the test energy and force
    RMSE against the reference level, vs training-set size) of every sampler: regular and
    block leverage, random, and the label-free selectors (MaxVol, D-optimal, CUR, FPS, dataset
    entropy), on both GPAW datasets and on the W-Be Be data;
(b) on both GPAW datasets, the (DFT core-hours, energy error, force error) front of
    single-level models, level pairs (energies from a dear level on a few configurations,
    forces from a cheap one) and Delta models (a cheap level plus a correction to a dear one);
(c) which model wins for which budget, and on the large GPAW dataset the fewest DFT
    core-hours reaching a stated energy and force error with single levels only, with level
    pairs and with Delta models.

The work is split in three modules: measuring (sweep rows, cache) in
:mod:`pyiron_appmlip.reproduction.selectors_and_fidelity_measure`; the summaries of the rows
and the command line here; Markdown and figures in
:mod:`pyiron_appmlip.reproduction.selectors_and_fidelity_render`.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field, replace

import numpy as np

from .like_for_like.conventions import WBE_EXCLUDED_GROUPS, wbe_excluded
from .selectors_and_fidelity_measure import (
    CURVE_SAMPLERS,
    ERRORS,
    RESULT_FORMAT,
    SourceRows,
    StudySettings,
    cached,
    code_digest,
    measure_source,
    settings_key,
)

__all__ = [
    "StudySettings",
    "SourceRows",
    "StudyResults",
    "CURVE_SAMPLERS",
    "MODEL_KEYS",
    "curve_bands",
    "model_settings",
    "cost_front",
    "error_targets",
    "cheapest_reaching",
    "budget_winners",
    "default_budgets",
    "describe_model",
    "collect_results",
    "main",
]

#: The columns that make one model setting of the front (its repetitions are summarised).
MODEL_KEYS = [
    "model_kind",
    "train_level",
    "energy_level",
    "force_level",
    "weight_ratio",
    "subset_size",
    "n_energy",
]
#: The default margin of the error targets over the best single-level model (10 %).
TARGET_MARGIN = 0.10


@dataclass
class StudyResults:
    """Everything the report shows.

    Attributes:
        settings: the :class:`StudySettings`.
        sources: one :class:`SourceRows` per source (GPAW small, GPAW large, W-Be).
        wbe_given: whether the W-Be data were given.
        notes: sentences on how the sources were prepared (e.g. a subsample).
    """

    settings: StudySettings
    sources: list
    wbe_given: bool = False
    notes: list = field(default_factory=list)


# -- summaries ---------------------------------------------------------------------------------
def curve_bands(rows, band=(16.0, 84.0)):
    """Median and band of the test errors (and DFT cost) per sampler and size.

    Args:
        rows: learning-curve rows (:attr:`SourceRows.curves`); the whole pool (sampler "all")
            is left out.
        band: lower and upper percentiles.

    Returns:
        A DataFrame with ``sampler``, ``subset_size``, ``n_repetitions`` and, for the two test
        errors and ``dft_seconds``, ``*_center`` (median), ``*_lo``, ``*_hi``, ``*_mean``,
        ``*_median``, ``*_min``, ``*_max``; plus ``core_hours`` (median DFT core-hours).
    """
    from ..core.learning_curves import summarize_repetitions

    sampled = rows[rows["sampler"] != "all"]
    out = summarize_repetitions(
        sampled, ["sampler", "subset_size"], [*ERRORS, "dft_seconds"], center="median", band=band
    )
    out["core_hours"] = out["dft_seconds_center"] / 3600.0
    return out


def model_settings(rows, band=(16.0, 84.0)):
    """One row per model setting of the front (:data:`MODEL_KEYS`) with the median and band over
    repetitions of the test errors and the DFT cost, and ``core_hours`` (median / 3600)."""
    from ..core.learning_curves import summarize_repetitions

    out = summarize_repetitions(
        rows, MODEL_KEYS, [*ERRORS, "dft_seconds"], center="median", band=band
    )
    out["core_hours"] = out["dft_seconds_center"] / 3600.0
    return out


def cost_front(settings_table):
    """The settings on the Pareto front of (core-hours, energy error, force error), by cost."""
    from ..core.pareto import pareto_front

    objectives = ["core_hours", f"{ERRORS[0]}_center", f"{ERRORS[1]}_center"]
    return pareto_front(settings_table, objectives).sort_values("core_hours")


def error_targets(settings_table, margin: float = TARGET_MARGIN) -> dict:
    """Energy and force targets: the best single-level model at the largest training size,
    plus ``margin``.

    "Best" is the single-level setting at the largest ``subset_size`` with the smallest sum of
    its energy and force errors each divided by the smallest of those settings (ties: the
    first in table order).

    Args:
        settings_table: :func:`model_settings` output.
        margin: fraction added to the best model's errors (0.1: 10 %).

    Returns:
        A dict: ``energy`` (meV/atom) and ``force`` (meV/Angstrom) targets, ``model`` (the
        best setting, a Series) and ``margin``.

    Raises:
        ValueError: for a negative margin or a table without single-level models.
    """
    if not (np.isfinite(margin) and margin >= 0):
        raise ValueError(f"margin must be a fraction >= 0, got {margin!r}")
    single = settings_table[settings_table["model_kind"] == "single"]
    if single.empty:
        raise ValueError("the table has no single-level models (model_kind 'single')")
    largest = single[single["subset_size"] == single["subset_size"].max()]
    e, f = largest[f"{ERRORS[0]}_center"], largest[f"{ERRORS[1]}_center"]
    score = (e / e.min() + f / f.min()).to_numpy()
    best = largest.iloc[int(np.argmin(score))]
    return {
        "energy": float(best[f"{ERRORS[0]}_center"]) * (1.0 + margin),
        "force": float(best[f"{ERRORS[1]}_center"]) * (1.0 + margin),
        "model": best,
        "margin": float(margin),
    }


def cheapest_reaching(settings_table, energy: float, force: float, kinds=None):
    """The cheapest setting whose median errors are at most both targets.

    Args:
        settings_table: :func:`model_settings` output.
        energy: energy target (meV/atom).
        force: force target (meV/Angstrom).
        kinds: ``model_kind`` values allowed (default: all).

    Returns:
        The setting (a pandas Series; ties in cost: the smaller energy error), or None if no
        setting reaches both targets.
    """
    t = settings_table
    if kinds is not None:
        t = t[t["model_kind"].isin(list(kinds))]
    ok = t[(t[f"{ERRORS[0]}_center"] <= energy) & (t[f"{ERRORS[1]}_center"] <= force)]
    if ok.empty:
        return None
    return ok.sort_values(["core_hours", f"{ERRORS[0]}_center"], kind="stable").iloc[0]


def default_budgets(settings_table, n: int = 5) -> list[float]:
    """``n`` core-hour budgets, geometric from the cheapest setting to the dearest one."""
    cost = settings_table["core_hours"].to_numpy(dtype=float)
    cost = cost[np.isfinite(cost) & (cost > 0)]
    if cost.size == 0:
        return []
    lo, hi = float(cost.min()), float(cost.max())
    if hi <= lo:
        return [hi]
    return [float(b) for b in np.geomspace(lo, hi, int(n))]


def budget_winners(settings_table, budgets, label=None):
    """Per budget, the setting with the smallest median energy error and the one with the
    smallest median force error among those costing at most the budget.

    Args:
        settings_table: :func:`model_settings` or :func:`curve_bands` output (``core_hours``
            and the ``*_center`` errors).
        budgets: core-hour budgets.
        label: callable naming a setting (default :func:`describe_model`).

    Returns:
        A DataFrame with ``budget_core_hours``, ``n_within``, ``energy_model``,
        ``energy_rmse`` (meV/atom), ``energy_core_hours``, ``force_model``, ``force_rmse``
        (meV/Angstrom) and ``force_core_hours`` (None / NaN where nothing fits the budget).
    """
    import pandas as pd

    name = describe_model if label is None else label
    out = []
    for b in budgets:
        within = settings_table[settings_table["core_hours"] <= float(b)]
        row = {"budget_core_hours": float(b), "n_within": len(within)}
        for kind, col in zip(("energy", "force"), ERRORS, strict=True):
            if within.empty:
                row.update({f"{kind}_model": None, f"{kind}_rmse": np.nan})
                row[f"{kind}_core_hours"] = np.nan
                continue
            best = within.loc[within[f"{col}_center"].idxmin()]
            row[f"{kind}_model"] = name(best)
            row[f"{kind}_rmse"] = float(best[f"{col}_center"])
            row[f"{kind}_core_hours"] = float(best["core_hours"])
        out.append(row)
    return pd.DataFrame(out)


def describe_model(s) -> str:
    """A short name of a model setting (a row of :func:`model_settings`)."""
    kind, n, w = s["model_kind"], int(s["subset_size"]), float(s["weight_ratio"])
    if kind == "level_pair":
        text = (
            f"level pair: forces at {s['force_level']} on {n}, energies at {s['energy_level']} "
            f"on {int(s['n_energy'])}"
        )
    elif kind == "delta":
        text = (
            f"Delta: level {s['force_level']} on {n} + correction to {s['energy_level']} on "
            f"{int(s['n_energy'])}"
        )
    else:
        text = f"level {s['train_level']} on {n}"
    return f"{text} (w_E/w_F {w:g})"


# -- collecting --------------------------------------------------------------------------------
def _file_digest(path: str):
    from ..datasets.importers import file_sha256

    if os.path.isdir(path):
        import glob

        return sorted(
            (os.path.relpath(f, path), file_sha256(f))
            for f in glob.glob(os.path.join(path, "**", "*"), recursive=True)
            if os.path.isfile(f)
        )
    return file_sha256(path)


#: Reference potential subtracted from the W-Be labels before fitting (as FitSNAP's fit).
WBE_REFERENCE = (4.0, 4.8)


def _load_wbe(path: str, settings: StudySettings):
    """:func:`load_wbe` with the report's settings."""
    return load_wbe(path, settings.wbe_configurations, settings.seed)


def load_wbe(path: str, n_configurations: int | None = None, seed: int = 0):
    """The W-Be Be set without the groups of
    :data:`~pyiron_appmlip.reproduction.like_for_like.conventions.WBE_EXCLUDED_GROUPS`,
    subsampled to ``n_configurations`` (seeded; None or more than there are: all), split in
    halves by configuration id.

    Returns:
        ``(dataset, train ids, test ids, number of Be configurations before subsampling)``.
    """
    from ..datasets.importers import read_dataset
    from ..datasets.labels import split_by_configuration
    from ..datasets.store import select_configurations

    ds = read_dataset(path, duplicates="drop", stress_unit="kbar")
    keep = [i for i, g in zip(ds.ids, ds.group, strict=True) if not wbe_excluded(g)]
    n_all = len(keep)
    if n_configurations and n_configurations < n_all:
        rng = np.random.default_rng(seed)
        chosen = set(rng.choice(n_all, size=n_configurations, replace=False).tolist())
        keep = [i for k, i in enumerate(keep) if k in chosen]
    ds = select_configurations(ds, keep)
    train, test = split_by_configuration(ds.ids, test_fraction=0.5, seed=seed)
    return ds, train, test, n_all


def _gpaw_key(settings: StudySettings) -> dict:
    key = settings_key(settings)
    for k in ("wbe_configurations", "wbe_twojmax", "wbe_repetitions"):
        key.pop(k)
    return key


def _wbe_key(settings: StudySettings) -> dict:
    return {
        "samplers": list(settings.samplers),
        "curve_weight": settings.curve_weight,
        "n_sizes": settings.n_sizes,
        "seed": settings.seed,
        "wbe_configurations": settings.wbe_configurations,
        "wbe_twojmax": settings.wbe_twojmax,
        "wbe_repetitions": settings.wbe_repetitions,
        "excluded": list(WBE_EXCLUDED_GROUPS),
        "reference": list(WBE_REFERENCE),
    }


def collect_results(
    settings: StudySettings | None = None,
    wbe: str | None = None,
    cache: str | None = None,
    executor="serial",
    progress=None,
    datasets: dict | None = None,
) -> StudyResults:
    """Measure (or take from ``cache``) every source of the report.

    Args:
        settings: the :class:`StudySettings` (default: the shipped report's).
        wbe: the W-Be Be-only FitSNAP JSON folder (FitSNAP's ``examples/WBe_PRB2019/JSON``
            Be groups); None leaves its section out.
        cache: folder of cached results; a result is reused only if the dataset files
            (SHA-256), the settings, the package version, the result format and the package
            sources that compute rows (:func:`~.selectors_and_fidelity_measure.code_digest`)
            are the same.
        executor: where the sweep units run (:mod:`pyiron_appmlip.executors`).
        progress: optional callable receiving messages.
        datasets: ``{name: dataset file}`` of the GPAW sources (default: the shipped small and
            large datasets).

    Returns:
        The :class:`StudyResults`.
    """
    from .. import __version__
    from ..datasets.store import load_dataset
    from .be_dataset import CAMPAIGNS, DATASET_FILE, LARGE_DATASET_FILE

    settings = StudySettings() if settings is None else settings
    say = progress or (lambda m: None)
    if datasets is None:
        datasets = {
            "GPAW small": DATASET_FILE,
            "GPAW large": LARGE_DATASET_FILE,
        }
    descriptions = {
        "GPAW small": f"the shipped GPAW dataset '{CAMPAIGNS['small']['file']}' "
        f"({CAMPAIGNS['small']['description']})",
        "GPAW large": f"the shipped GPAW dataset '{CAMPAIGNS['large']['file']}' "
        f"({CAMPAIGNS['large']['description']})",
    }
    code = code_digest() if cache else None
    sources, notes = [], []
    for name, path in datasets.items():
        key = {
            "source": _file_digest(path),
            "kind": "gpaw",
            "settings": _gpaw_key(settings),
            "version": __version__,
            "code": code,
            "format": RESULT_FORMAT,
        }

        def compute(path=path, name=name):
            return measure_source(
                load_dataset(path),
                settings,
                name=name,
                description=descriptions.get(name, os.path.basename(path)),
                executor=executor,
                progress=say,
            )

        say(f"{name}: {path}")
        sources.append(cached(cache, key, compute))
    if wbe:
        key = {
            "source": _file_digest(wbe),
            "kind": "wbe",
            "settings": _wbe_key(settings),
            "version": __version__,
            "code": code,
            "format": RESULT_FORMAT,
        }

        def compute_wbe():
            from ..potential.reference import ReferencePotential

            say(f"W-Be: reading {wbe}")
            ds, train, test, n_all = _load_wbe(wbe, settings)
            result = measure_source(
                ds,
                settings,
                name="W-Be (Be part)",
                description=(
                    "VASP (PBE) labels of the Be-only groups of the W-Be SNAP training set (Wood "
                    "et al., Phys. Rev. B 99, 184305 (2019); FitSNAP examples/WBe_PRB2019), one "
                    "DFT level, without the groups "
                    + ", ".join(WBE_EXCLUDED_GROUPS)
                    + ", halves split "
                    "by configuration id, ZBL reference subtracted before fitting"
                ),
                twojmax=settings.wbe_twojmax,
                front=False,
                train_ids=train,
                test_ids=test,
                reference=ReferencePotential.zbl(("Be",), *WBE_REFERENCE),
                repetitions=settings.wbe_repetitions,
                executor=executor,
                progress=say,
            )
            result.info["subsample"] = {"drawn": len(ds.ids), "of": n_all}
            return result

        sources.append(cached(cache, key, compute_wbe))
        sub = sources[-1].info.get("subsample")
        if sub and sub["drawn"] < sub["of"]:
            notes.append(
                f"The W-Be pool is a seeded random subsample of {sub['drawn']} of its "
                f"{sub['of']} configurations (without {', '.join(WBE_EXCLUDED_GROUPS)}), to keep its "
                "part within minutes on one core."
            )
    return StudyResults(settings=settings, sources=sources, wbe_given=bool(wbe), notes=notes)


# -- command line ------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pyiron_appmlip.reproduction.selectors_and_fidelity",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("--out", default=None, help="Markdown report (default: print)")
    parser.add_argument(
        "--wbe",
        default=None,
        help="the Be-only groups of the W-Be SNAP training set (FitSNAP JSON folder, from "
        "FitSNAP's examples/WBe_PRB2019/JSON); without it its section is left out",
    )
    parser.add_argument("--cache", default=None, help="folder of cached results (resumable)")
    parser.add_argument(
        "--executor", default="serial", help="where sweep units run: 'serial', 'local' or a count"
    )
    parser.add_argument(
        "--repetitions",
        type=int,
        default=StudySettings.repetitions,
        help=f"repetitions per sampler and size (default {StudySettings.repetitions})",
    )
    parser.add_argument(
        "--twojmax",
        type=int,
        default=StudySettings.twojmax,
        help=f"2Jmax of the GPAW datasets (default {StudySettings.twojmax})",
    )
    parser.add_argument(
        "--wbe-configurations",
        type=int,
        default=StudySettings.wbe_configurations,
        help="configurations drawn from the W-Be set, both halves (0: all; default "
        f"{StudySettings.wbe_configurations})",
    )
    return parser


def main(argv=None, collect=collect_results) -> int:
    """Measure every source and write (or print) the report.

    Args:
        argv: command-line arguments (default: ``sys.argv[1:]``).
        collect: the function measuring the sources (:func:`collect_results`).

    Returns:
        The exit status (0).
    """
    from .selectors_and_fidelity_render import write_report

    args = _parser().parse_args(argv)
    settings = replace(
        StudySettings(),
        repetitions=args.repetitions,
        twojmax=args.twojmax,
        wbe_configurations=args.wbe_configurations,
    )
    executor = int(args.executor) if str(args.executor).isdigit() else args.executor
    say = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    results = collect(settings, wbe=args.wbe, cache=args.cache, executor=executor, progress=say)
    command = "python -m pyiron_appmlip.reproduction.selectors_and_fidelity"
    if args.out:
        command += f" --out {args.out}"
    if args.wbe:
        command += " --wbe PATH"
    for flag, default in (
        ("repetitions", StudySettings.repetitions),
        ("twojmax", StudySettings.twojmax),
        ("wbe_configurations", StudySettings.wbe_configurations),
    ):
        if getattr(args, flag) != default:
            command += f" --{flag.replace('_', '-')} {getattr(args, flag)}"
    text = write_report(results, args.out, command=command)
    if args.out is None:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
