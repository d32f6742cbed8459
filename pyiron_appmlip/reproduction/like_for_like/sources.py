"""Where the like-for-like results come from: the paper authors' published tables
(:func:`load_paper_tables`, :func:`paper_source`) and every source of a report, measured or taken
from the cache (:func:`collect_results`).
"""

from __future__ import annotations

import glob
import os
from dataclasses import asdict, replace

import numpy as np

from .cache import (
    _cached,
    code_digest,
)
from .conventions import (
    RESULT_FORMAT,
    SAMPLER_NAMES,
    WBE_EXCLUDED_GROUPS,
    PaperTables,
    SourceResult,
    StudyConventions,
    _check_repetitions_at,
    wbe_excluded,
)
from .measuring import (
    curve_summary,
    front_summary,
    measure_dataset,
)


def _read_csv(path):
    import pandas as pd

    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path} is missing: paper_results must be the folder holding the authors' "
            "2D_pareto/, 3D_pareto/<N>/ and sampling_methods_comparison/<N>/ results.csv files"
        )
    return pd.read_csv(path, index_col=0)


def _level_costs():
    from ...dft.levels import PAPER_LEVELS

    return {str(k): float(v.paper_seconds) for k, v in PAPER_LEVELS.items()}


def load_paper_tables(path: str) -> PaperTables:
    """Read the paper authors' ``results.csv`` files into sweep-like rows.

    Repetitions are numbered in file order: in ``3D_pareto`` one repetition is one leverage draw
    with all weights and levels fitted on it (36 rows), in ``sampling_methods_comparison`` the
    rows of one sampler in order. Errors are converted from eV to meV. ``dft_seconds_mean_x_n``
    is the paper's Table 1 mean time per configuration of the training level times N.

    Args:
        path: the folder with ``2D_pareto``, ``3D_pareto`` and ``sampling_methods_comparison``.

    Raises:
        FileNotFoundError: naming the first missing file.
        ValueError: if a table does not have the expected columns.
    """
    import pandas as pd

    cost = _level_costs()
    weights = _read_csv(os.path.join(path, "2D_pareto", "results.csv"))
    pareto_parts, sampling_parts = [], []
    for folder in sorted(glob.glob(os.path.join(path, "3D_pareto", "*", "results.csv"))):
        t = _read_csv(folder)
        per_draw = t["Energy Weight"].nunique() * t["Train Precision"].nunique()
        t = t.assign(repetition=np.arange(len(t)) // per_draw)
        pareto_parts.append(t)
    for folder in sorted(
        glob.glob(os.path.join(path, "sampling_methods_comparison", "*", "*.csv"))
    ):
        t = _read_csv(folder)
        t = t.assign(repetition=t.groupby("Sampling Method").cumcount())
        sampling_parts.append(t)
    if not pareto_parts or not sampling_parts:
        raise FileNotFoundError(
            f"{path} has no 3D_pareto/<N>/results.csv or sampling_methods_comparison/<N>/"
            "results.csv files"
        )
    own, truth = "(train precision)", "(6th precision)"

    def errors(t, suffix_own, suffix_truth, prefix="Testing"):
        try:
            return {
                "energy_rmse_test": 1e3 * t[f"{prefix} Energy RMSE {suffix_own}"].to_numpy(),
                "force_rmse_test": 1e3 * t[f"{prefix} Force RMSE {suffix_own}"].to_numpy(),
                "energy_rmse_test_truth": 1e3
                * t[f"{prefix} Energy RMSE {suffix_truth}"].to_numpy(),
                "force_rmse_test_truth": 1e3 * t[f"{prefix} Force RMSE {suffix_truth}"].to_numpy(),
            }
        except KeyError as err:
            raise ValueError(f"an authors' table lacks the column {err}") from None

    w = pd.DataFrame(
        {
            "sampler": "all",
            "subset_size": 9990,
            "repetition": 0,
            "twojmax": weights["2Jmax"].astype(int).to_numpy(),
            "weight_ratio": weights["Energy Weight"].astype(float).to_numpy(),
            "train_level": weights["Train Precision"].astype(int).astype(str).to_numpy(),
            "truth_level": "6",
            **errors(weights, own, truth),
        }
    )
    p = pd.concat(pareto_parts, ignore_index=True)
    pareto = pd.DataFrame(
        {
            "sampler": "leverage",
            "subset_size": p["Subsample size"].astype(int).to_numpy(),
            "repetition": p["repetition"].to_numpy(),
            "twojmax": p["2Jmax"].astype(int).to_numpy(),
            "weight_ratio": p["Energy Weight"].astype(float).to_numpy(),
            "train_level": p["Train Precision"].astype(int).astype(str).to_numpy(),
            "truth_level": "6",
            **errors(p, own, truth),
        }
    )
    pareto["dft_seconds_mean_x_n"] = pareto["train_level"].map(cost) * pareto["subset_size"]
    pareto["dft_seconds"] = np.nan  # the authors' tables hold no measured times
    s = pd.concat(sampling_parts, ignore_index=True)
    unknown = sorted(set(s["Sampling Method"]) - set(SAMPLER_NAMES))
    if unknown:
        raise ValueError(f"unknown sampling methods {unknown} in the authors' tables")
    sampling = pd.DataFrame(
        {
            "sampler": s["Sampling Method"].map(SAMPLER_NAMES).to_numpy(),
            "subset_size": s["Subsample size"].astype(int).to_numpy(),
            "repetition": s["repetition"].to_numpy(),
            "twojmax": s["2Jmax"].astype(int).to_numpy(),
            "weight_ratio": s["Energy Weight"].astype(float).to_numpy(),
            "train_level": s["Train Precision"].astype(int).astype(str).to_numpy(),
            "truth_level": s["Error Precision"].astype(int).astype(str).to_numpy(),
            "energy_rmse_test_truth": 1e3 * s["Testing Energy RMSE"].to_numpy(),
            "force_rmse_test_truth": 1e3 * s["Testing Force RMSE"].to_numpy(),
        }
    )
    return PaperTables(sampling=sampling, pareto=pareto, weights=w, path=os.path.abspath(path))


def paper_source(tables: PaperTables, conventions: StudyConventions | None = None) -> SourceResult:
    """The authors' tables summarised with ``conventions`` (their own by default)."""
    conv = StudyConventions() if conventions is None else conventions
    s = tables.sampling
    level, weight = s["train_level"].iloc[0], float(s["weight_ratio"].iloc[0])
    full_row = tables.weights[
        (tables.weights["train_level"] == level)
        & np.isclose(tables.weights["weight_ratio"], weight)
    ]
    full = {
        "energy": float(full_row["energy_rmse_test_truth"].iloc[0]),
        "force": float(full_row["force_rmse_test_truth"].iloc[0]),
    }
    curves, needed = curve_summary(s, full, conv)
    fronts = front_summary(tables.pareto, conv, costs=("dft_seconds_mean_x_n",))
    return SourceResult(
        name="authors' tables",
        description=(
            "the paper authors' published results (Be, VASP levels 1-6, 9,990 training and "
            "9,990 test configurations, 2Jmax 6)"
        ),
        twojmax=int(s["twojmax"].iloc[0]),
        curves=curves,
        needed=needed,
        fronts=fronts,
        full=full,
        info={
            "pool": 9990,
            "test": 9990,
            "curve_level": level,
            "truth_level": "6",
            "curve_weight": weight,
            "repetitions": int(s.groupby(["sampler", "subset_size"]).size().min()),
            "front_repetitions": int(
                tables.pareto.groupby("subset_size")["repetition"].nunique().min()
            ),
            "sizes": sorted(int(v) for v in s["subset_size"].unique()),
            "front_sizes": sorted(int(v) for v in tables.pareto["subset_size"].unique()),
            "levels": sorted(tables.pareto["train_level"].unique(), key=int),
            "n_coefficients": None,
        },
        rows=tables.pareto,
        weight_sweep=tables.weights,
    )


# -- summaries ---------------------------------------------------------------------------------


def collect_results(
    paper_results: str | None = None,
    datasets=(),
    wbe: str | None = None,
    twojmax_values=(4,),
    conventions: StudyConventions | None = None,
    cache: str | None = None,
    executor="serial",
    progress=None,
    authors_fit: bool = False,
    twojmax_of: dict | None = None,
    repetitions_at: dict | None = None,
) -> list[SourceResult]:
    """Every source's :class:`SourceResult`, computed or taken from ``cache``.

    Args:
        paper_results: folder of the authors' tables (None: left out).
        datasets: labelled dataset files, or "small" / "large" for the shipped GPAW files.
        wbe: the W-Be SNAP set's Be-only FitSNAP JSON folder (None: left out); imported with
            :func:`~pyiron_appmlip.datasets.importers.read_dataset` and split in halves.
        twojmax_values: 2Jmax values of our sources (the authors' tables are 2Jmax 6).
        conventions: the :class:`StudyConventions`.
        cache: folder of cached results: a result is reused only if the source's files
            (SHA-256), 2Jmax, conventions, package version and package sources
            (:func:`code_digest`) are the same.
        executor: where the sweep units run.
        progress: optional callable receiving messages.
        authors_fit: also analyse the first of ``datasets`` with the authors' fit (no
            constant column, ``lstsq`` cond 1e-13), as a column of its own.
        twojmax_of: ``{source: 2Jmax values}`` for sources with values of their own (default:
            ``twojmax_values``); a source is named as given (``"small"``, ``"large"``, a file)
            or ``"wbe"``, e.g. ``{"wbe": [4, 6, 8]}``: at 2Jmax 8 (1,596 coefficients) only a
            pool with enough equations in its smallest subsets has a learning curve.
        repetitions_at: ``{2Jmax: n}``: at most ``n`` repetitions (curves and fronts) at that
            2Jmax, for the dear models; every column of the report states its repetitions.
    """
    from ... import __version__
    from ...datasets.importers import file_sha256
    from ..be_dataset import _DATA, CAMPAIGNS, load_be_dataset

    conv = StudyConventions() if conventions is None else conventions
    say = progress or (lambda m: None)
    repetitions_at = _check_repetitions_at(repetitions_at)
    twojmax_of = dict(twojmax_of or {})
    known = [*datasets, *(["wbe"] if wbe else [])]
    unknown = sorted(set(twojmax_of) - set(known))
    if unknown:
        raise ValueError(
            f"twojmax_of names sources {unknown} that are not given; the sources are {known}"
        )
    results = []
    if paper_results:
        results.append(paper_source(load_paper_tables(paper_results), conv))
    sources = []
    for spec in datasets:
        if spec in CAMPAIGNS:
            path = os.path.join(_DATA, CAMPAIGNS[spec]["file"])
            sources.append(
                (
                    f"GPAW {spec}",
                    spec,
                    path,
                    lambda spec=spec: load_be_dataset(campaign=spec),
                    conv,
                    f"the shipped GPAW dataset '{spec}' ({CAMPAIGNS[spec]['description']}; "
                    "trained on the levels below the reference level, see the tables)",
                )
            )
        else:
            from ...datasets.store import load_dataset

            sources.append(
                (
                    os.path.basename(spec),
                    spec,
                    spec,
                    lambda spec=spec: load_dataset(spec),
                    conv,
                    spec,
                )
            )
    if authors_fit and sources:
        name, spec, path, load, source_conv, description = sources[0]
        sources.insert(
            1,
            (
                f"{name} (authors' fit)",
                spec,
                path,
                load,
                replace(source_conv, fit_convention="authors"),
                description + "; fitted as the authors: no constant column, lstsq cond 1e-13",
            ),
        )
    if wbe:

        def load_wbe():
            from ...datasets.importers import read_dataset
            from ...datasets.store import select_configurations

            ds = read_dataset(wbe, duplicates="drop", stress_unit="kbar")
            keep = [i for i, g in zip(ds.ids, ds.group, strict=True) if not wbe_excluded(g)]
            return select_configurations(ds, keep)

        sources.append(
            (
                "W-Be (Be part)",
                "wbe",
                wbe,
                load_wbe,
                replace(conv, test_fraction=0.5),
                "VASP (PBE) labels of the Be-only groups of the W-Be SNAP training set (Wood et "
                "al., Phys. Rev. B 99, 184305 (2019); FitSNAP examples/WBe_PRB2019) without the "
                f"groups {', '.join(WBE_EXCLUDED_GROUPS)} (their energies per atom spread by up "
                "to 3.7 eV/atom within a group, and FitSNAP's own fit nearly ignores them); one "
                "DFT level, halves split by configuration id, ZBL reference (zbl 4.0 4.8, as in "
                "FitSNAP's fit of that set) subtracted before fitting",
            )
        )
    references = {"W-Be (Be part)": "zbl 4.0 4.8"}
    code = code_digest() if cache else None
    for name, spec, path, load, source_conv, description in sources:
        if os.path.isdir(path):
            digest = sorted(
                (os.path.relpath(f, path), file_sha256(f))
                for f in glob.glob(os.path.join(path, "**", "*"), recursive=True)
                if os.path.isfile(f)
            )
        else:
            digest = file_sha256(path)
        loaded = []
        for twojmax in twojmax_of.get(spec, twojmax_values):
            conv_at = source_conv
            if int(twojmax) in repetitions_at:
                n = repetitions_at[int(twojmax)]
                conv_at = replace(
                    source_conv,
                    repetitions=min(source_conv.repetitions, n),
                    front_repetitions=min(source_conv.front_repetitions, n),
                )
            key = {
                "source": digest,
                "twojmax": int(twojmax),
                "conventions": asdict(conv_at),
                "version": __version__,
                "code": code,
                "reference": references.get(name),
                "excluded": list(WBE_EXCLUDED_GROUPS) if name.startswith("W-Be") else None,
                "format": RESULT_FORMAT,
            }

            def compute(
                twojmax=twojmax,
                load=load,
                conv=conv_at,
                text=description,
                loaded=loaded,
                name=name,
            ):
                from ...potential.reference import ReferencePotential

                if not loaded:
                    loaded.append(load())
                ref = references.get(name)
                return measure_dataset(
                    loaded[0],
                    int(twojmax),
                    conv,
                    name=f"{name}, 2Jmax {twojmax}",
                    description=text,
                    executor=executor,
                    progress=say,
                    reference=None
                    if ref is None
                    else ReferencePotential.zbl(("Be",), *map(float, ref.split()[1:])),
                )

            say(f"{name} 2Jmax {twojmax}")
            result = _cached(cache, key, compute)
            result.description = description  # the text is not part of what was computed
            results.append(result)
    return results
