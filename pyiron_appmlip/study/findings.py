"""The paper's findings measured on a labelled dataset, and a Markdown report beside its numbers.

Run on the shipped Be dataset (a few minutes on one core)::

    python -m pyiron_appmlip.study.findings --out pyiron_appmlip/datasets/data/be_findings.md

:func:`measure_findings` computes, with the paper's definitions,

1. **Table 3**: RMS differences of every level against the highest level on the test subset
   (energy per atom unshifted, bulk-shifted, mean-shifted; forces);
2. **Tables 4/5, Fig. 4**: test errors against the highest level of models trained on each
   level with a high energy weight and a high force weight, and along the whole weight sweep;
3. **Fig. 6**: learning curves of regular and block leverage sampling against random sampling
   (several seeds), and the smallest subset whose test energy error is within a tolerance
   (1 meV/atom) of the full-pool error;
4. **Fig. 7**: the training levels on the Pareto front of DFT cost vs test energy and force errors,

all from the streamed sweep (:func:`pyiron_appmlip.training.sweep.run_sweep`) on qSNAP descriptors computed
with LAMMPS. :func:`write_report` writes the Markdown report with the paper's values
(:mod:`pyiron_appmlip.study.paper_values`) beside the measured ones.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "FindingsSettings",
    "Findings",
    "measure_findings",
    "table3",
    "write_report",
    "read_report_table3",
    "main",
]


@dataclass
class FindingsSettings:
    """What the findings are computed for (defaults: the shipped report's settings).

    twojmax: 2Jmax values of the sweep; ``twojmax_tables`` the one of Tables 4/5 and Fig. 6
    (default 4: its 120 qSNAP descriptors are determined by a few hundred configurations about
    as well as the paper's 4186 of 2Jmax 10 by its 10 000; 2Jmax 6 has 495).
    weights: w_E/w_F ratios of the weight sweep (Fig. 4); ``high_energy_weight`` and
    ``high_force_weight`` are the two ratios of Tables 4/5.
    subset_sizes: training-subset sizes of the learning curves (the full pool is added).
    repetitions: sampling repetitions (seeds) per sampler; seed: root seed.
    curve_level / curve_weight: training level and w_E/w_F of the learning curves and of the
    leverage scores (default: the highest training level and the high-energy weight, as the
    paper's Fig. 6).
    tolerance: meV/atom, "within tolerance of the full-pool error" for Fig. 6 (the paper's);
    relative_tolerance: the same as a fraction of the full-pool error (for errors far above
    1 meV/atom).
    """

    twojmax: tuple = (2, 4, 6)
    twojmax_tables: int = 4
    weights: tuple = (300.0, 150.0, 50.0, 12.25, 12.0, 10.0, 5.0)
    high_energy_weight: float = 150.0
    high_force_weight: float = 12.0
    subset_sizes: tuple = (4, 6, 8, 10, 15, 20, 30, 40, 60, 80, 120)
    repetitions: int = 10
    seed: int = 0
    curve_level: str | None = None
    curve_weight: float | None = None
    tolerance: float = 1.0
    relative_tolerance: float = 0.1
    train_levels: tuple | None = None
    truth_level: str | None = None

    def __post_init__(self):
        if self.twojmax_tables not in self.twojmax:
            raise ValueError(
                f"twojmax_tables must be one of twojmax {list(self.twojmax)}, "
                f"got {self.twojmax_tables!r}"
            )
        for name in ("high_energy_weight", "high_force_weight"):
            if getattr(self, name) not in self.weights:
                raise ValueError(
                    f"{name} must be one of weights {list(self.weights)}, got {getattr(self, name)!r}"
                )
        if not self.tolerance > 0:
            raise ValueError(
                f"tolerance must be a positive number in meV/atom, got {self.tolerance!r}"
            )


@dataclass
class Findings:
    """Measured tables (pandas DataFrames) and the settings and data they came from."""

    settings: FindingsSettings
    table3: object
    weight_table: object
    learning_curves: object
    subsets_needed: object
    pareto: object
    pareto_levels: dict
    sweep: object
    by_generator: object = None
    dataset_summary: dict = field(default_factory=dict)


def table3(dataset, truth_level=None, levels=None, bulk_id=None):
    """Paper Table 3 on ``dataset``: every level against ``truth_level`` (default: the highest)
    on the configurations labelled at both (the test subset for the highest level).

    Returns a DataFrame with ``level``, ``n_configs``, ``energy_unshifted``,
    ``energy_bulk_shifted``, ``energy_mean_shifted`` (meV/atom) and ``force`` (meV/Angstrom).
    """
    import pandas as pd

    from ..core.comparison import compare_levels

    names = dataset.level_names
    truth = str(names[-1] if truth_level is None else truth_level)
    levels = [lv for lv in names if lv != truth] if levels is None else [str(v) for v in levels]
    bulk_id = dataset.metadata.get("bulk_id") if bulk_id is None else bulk_id
    ref = dataset.level(truth)
    rows = []
    for lv in levels:
        data = dataset.level(lv)
        ids = dataset.common_ids([lv, truth])
        if not ids:
            raise ValueError(f"no configuration is labelled at both level {lv} and {truth}")
        a = [data.index(i) for i in ids]
        b = [ref.index(i) for i in ids]
        cmp = compare_levels(
            data.energy[a],
            [data.forces[k] for k in a],
            ref.energy[b],
            [ref.forces[k] for k in b],
            bulk_id=bulk_id if bulk_id in ids else None,
            config_ids=ids,
        )
        rows.append({"level": lv, "truth_level": truth, **cmp.as_dict()})
    return pd.DataFrame(rows)


def _blocks(dataset, ids, twojmax):
    from ..descriptors import compute_qsnap_blocks

    blocks = compute_qsnap_blocks([dataset.structure(i) for i in ids], twojmax)
    return dict(zip(ids, blocks, strict=True))


def _first_staying_within(sizes, errors, limit):
    """The first size from which every later mean error is at most ``limit`` (None if never)."""
    within = np.asarray(errors) <= limit
    for k in range(len(sizes)):
        if within[k:].all():
            return int(sizes[k])
    return None


def _subsets_needed(curves, full, tolerance, relative_tolerance):
    """Smallest subset size from which the mean test energy error stays within ``tolerance``
    (meV/atom) and within ``relative_tolerance`` (fraction) of the full pool's, per (sampler,
    error)."""
    import pandas as pd

    rows = []
    for sampler, g in curves.groupby("sampler"):
        g = g.sort_values("subset_size")
        sizes = g["subset_size"].to_numpy()
        for col in ("energy_rmse_test", "energy_rmse_test_truth"):
            target = float(full[col])
            errors = g[col + "_mean"].to_numpy()
            rows.append(
                {
                    "sampler": sampler,
                    "error": col,
                    "full_pool_error": target,
                    "stays_within_from": _first_staying_within(sizes, errors, target + tolerance),
                    "stays_within_relative_from": _first_staying_within(
                        sizes, errors, target * (1.0 + relative_tolerance)
                    ),
                }
            )
    return pd.DataFrame(rows)


def _errors_by_generator(dataset, blocks, labels, test_ids, truth, full_pool_rows):
    """Test energy/force RMSE against ``truth`` per kind of structure, for the whole-pool models
    of ``full_pool_rows`` (sweep rows with their coefficients)."""
    import pandas as pd

    from ..core import LinearModel

    kind = dict(zip(dataset.ids, dataset.generator, strict=True))
    ref = labels[truth]
    rows = []
    for row in full_pool_rows:
        model = LinearModel(coefficients=row["coefficients"])
        for g in sorted({kind[i] for i in test_ids}):
            ids = [i for i in test_ids if kind[i] == g]
            e, f = model.rmse(
                [blocks[i] for i in ids],
                [ref.energies[i] for i in ids],
                [ref.forces[i] for i in ids],
            )
            rows.append(
                {
                    "generator": g,
                    "n_test": len(ids),
                    "train_level": row["train_level"],
                    "weight_ratio": row["weight_ratio"],
                    "energy_rmse_test_truth": e,
                    "force_rmse_test_truth": f,
                }
            )
    return pd.DataFrame(rows)


def measure_findings(dataset, settings: FindingsSettings | None = None, progress=None):
    """Compute all findings on ``dataset`` (a :class:`~pyiron_appmlip.datasets.store.
    LabelledDataset`); see the module docstring."""
    import pandas as pd

    from ..core.pareto import pareto_front
    from ..training.sweep import InMemoryBlocks, SweepGrid, row_key, run_sweep

    settings = FindingsSettings() if settings is None else settings
    say = progress or (lambda msg: None)
    names = dataset.level_names
    truth = str(settings.truth_level or names[-1])
    train_levels = [str(v) for v in (settings.train_levels or [n for n in names if n != truth])]
    curve_level = str(settings.curve_level or train_levels[-1])
    curve_weight = float(settings.curve_weight or settings.high_energy_weight)
    say("Table 3")
    t3 = table3(dataset, truth_level=truth, levels=[lv for lv in names if lv != truth])

    train_pool = dataset.common_ids(train_levels, dataset.train_ids)
    test_ids = dataset.common_ids([truth], dataset.test_ids)
    labels = {lv: dataset.labels(lv) for lv in train_levels + [truth]}
    pool = len(train_pool)
    sizes = sorted({int(s) for s in settings.subset_sizes if s < pool} | {pool})
    # Two grids on the same descriptors and sampling orders: (a) every level, weight and size with
    # leverage sampling and the whole pool, for every 2Jmax (Tables 4/5, Figs. 4/7); (b) the
    # learning curves (Fig. 6): all samplers and seeds at one 2Jmax, level and weight. Together
    # they are the factorial sweep's cells the findings read, at a fraction of its cost.
    study = SweepGrid(
        train_levels=train_levels,
        subset_sizes=sizes,
        weights=list(settings.weights),
        samplers=("leverage", "all"),
        repetitions=1,
        seed=settings.seed,
        leverage_weights=(curve_weight, 1.0),
    )
    curves_grid = SweepGrid(
        train_levels=[curve_level],
        subset_sizes=sizes,
        weights=[curve_weight],
        samplers=("leverage", "block_leverage", "random", "all"),
        repetitions=settings.repetitions,
        seed=settings.seed,
        leverage_weights=(curve_weight, 1.0),
    )
    rows = []
    for t in settings.twojmax:
        say(f"descriptors 2Jmax={t} ({len(train_pool) + len(test_ids)} structures)")
        blocks = _blocks(dataset, train_pool + test_ids, t)
        source = {int(t): InMemoryBlocks(blocks)}
        say(f"sweep 2Jmax={t}")
        new = run_sweep(source, labels, train_pool, test_ids, study, truth)
        if int(t) == int(settings.twojmax_tables):
            say(f"learning curves 2Jmax={t}")
            done = {row_key(r) for r in new}
            new += run_sweep(source, labels, train_pool, test_ids, curves_grid, truth, done=done)
            ratios = (settings.high_energy_weight, settings.high_force_weight)
            full_pool_rows = [
                r
                for r in new
                if r["sampler"] == "all"
                and r["train_level"] == train_levels[-1]
                and any(np.isclose(r["weight_ratio"], w) for w in ratios)
            ]
            by_generator = _errors_by_generator(
                dataset, blocks, labels, test_ids, truth, full_pool_rows
            )
        rows += new
    sweep = pd.DataFrame(rows).drop(columns=["coefficients"])
    sweep["train_level"] = sweep["train_level"].astype(str)

    full = sweep[sweep["sampler"] == "all"]
    wt = full[full["twojmax"] == settings.twojmax_tables].copy()
    weight_table = wt[
        [
            "train_level",
            "weight_ratio",
            "energy_rmse_test_truth",
            "energy_rmse_test_truth_shifted",
            "force_rmse_test_truth",
            "energy_rmse_test",
            "force_rmse_test",
            "energy_rmse_train",
            "force_rmse_train",
        ]
    ].sort_values(["train_level", "weight_ratio"], ascending=[True, False])

    sub = sweep[
        (sweep["twojmax"] == settings.twojmax_tables)
        & (sweep["train_level"] == curve_level)
        & np.isclose(sweep["weight_ratio"], curve_weight)
    ]
    cols = ["energy_rmse_test", "energy_rmse_test_truth", "force_rmse_test"]
    sampled = sub[sub["sampler"] != "all"]
    curves = sampled.groupby(["sampler", "subset_size"])[cols].agg(["mean", "min", "max"])
    curves.columns = [f"{a}_{b}" for a, b in curves.columns]
    curves = curves.reset_index()
    full_row = sub[sub["sampler"] == "all"].iloc[0]
    needed = _subsets_needed(curves, full_row, settings.tolerance, settings.relative_tolerance)

    # Fig. 7: Pareto front over DFT cost and test errors against the highest level, all 2Jmax
    objectives = ["dft_seconds", "energy_rmse_test_truth", "force_rmse_test_truth"]
    front = pareto_front(sweep, objectives)
    pareto_levels = {
        "all": sorted(front["train_level"].unique(), key=int),
        **{
            f"2Jmax={t}": sorted(
                pareto_front(sweep[sweep["twojmax"] == t], objectives)["train_level"].unique(),
                key=int,
            )
            for t in settings.twojmax
        },
    }
    summary = {
        "n_configurations": len(dataset.ids),
        "n_train_pool": pool,
        "n_test": len(test_ids),
        "levels": names,
        "truth_level": truth,
        "train_levels": train_levels,
        "n_atoms_range": [int(dataset.n_atoms.min()), int(dataset.n_atoms.max())],
        "n_calculations": {lv: len(dataset.level(lv).ids) for lv in names},
        "core_seconds": {lv: float(np.sum(dataset.level(lv).wall_time)) for lv in names},
        "mean_seconds_per_configuration": {
            lv: float(np.mean(dataset.level(lv).wall_time)) for lv in names
        },
        "engine_version": {lv: dataset.level(lv).engine_version for lv in names},
    }
    return Findings(
        settings=settings,
        table3=t3,
        weight_table=weight_table,
        learning_curves=curves,
        subsets_needed=needed,
        pareto=front,
        pareto_levels=pareto_levels,
        sweep=sweep,
        by_generator=by_generator,
        dataset_summary=summary,
    )


# -- report ------------------------------------------------------------------------------------
def _f(value, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    return f"{float(value):.{digits}f}"


def _table(header, rows) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def _paper_rows(model: str) -> dict:
    from . import paper_values as pv

    return {r["level"]: r for r in pv.TABLES_4_5["models"][model]["rows"]}


def _weight_rows(findings, ratio):
    wt = findings.weight_table
    return wt[np.isclose(wt["weight_ratio"], ratio)].set_index("train_level")


def _force_weighting_verdicts(findings):
    """Per training level: does the high force weight lower the test errors vs the highest level?"""
    s = findings.settings
    hi_e, hi_f = (
        _weight_rows(findings, s.high_energy_weight),
        _weight_rows(findings, s.high_force_weight),
    )
    paper_e, paper_f = _paper_rows("higher_energy_weight"), _paper_rows("higher_force_weight")
    rows = []
    for lv in hi_e.index:
        ours_f = hi_f.loc[lv, "force_rmse_test_truth"] < hi_e.loc[lv, "force_rmse_test_truth"]
        ours_e = (
            hi_f.loc[lv, "energy_rmse_test_truth_shifted"]
            < hi_e.loc[lv, "energy_rmse_test_truth_shifted"]
        )
        pe, pf = paper_e.get(int(lv)), paper_f.get(int(lv))
        paper_force = (
            None
            if pe is None
            else (
                pf["force_test_level6_mev_per_angstrom"] < pe["force_test_level6_mev_per_angstrom"]
            )
        )
        paper_energy = (
            None
            if pe is None
            else (
                pf["energy_test_level6_shifted_mev_per_atom"]
                < pe["energy_test_level6_shifted_mev_per_atom"]
            )
        )
        rows.append((lv, bool(ours_f), paper_force, bool(ours_e), paper_energy))
    return rows


def _yes(value) -> str:
    return "–" if value is None else ("yes" if value else "no")


def write_report(findings: Findings, path: str | None = None, command: str = "") -> str:
    """The Markdown report (paper values beside measured ones); written atomically to ``path``."""
    from . import paper_values as pv

    s, d = findings.settings, findings.dataset_summary
    truth = d["truth_level"]
    lines = [
        "# The paper's findings on the Be dataset labelled by pyiron_appmlip",
        "",
        "Generated by `" + (command or "python -m pyiron_appmlip.study.findings") + "` from the "
        "dataset `pyiron_appmlip/datasets/data/be_gpaw_levels.h5` (load it with "
        "`pyiron_appmlip.datasets.be.load_be_dataset()`). Every number in the *ours* columns is "
        "measured by that command; the *paper* columns are the published values "
        "(`pyiron_appmlip/study/paper_values.py`). Energies in meV/atom, forces in meV/Å.",
        "",
        "## The two studies",
        "",
    ]
    lines += _table(
        ["", "paper", "ours"],
        [
            (
                "configurations",
                f"{pv.SETUP['dataset']['n_configurations_total']} (10 000 train + 10 000 test)",
                f"{d['n_configurations']} ({d['n_train_pool']} training pool + {d['n_test']} test)",
            ),
            (
                "atoms per configuration",
                "about 50",
                f"{d['n_atoms_range'][0]}-{d['n_atoms_range'][1]}",
            ),
            (
                "DFT code",
                "VASP (PAW, PBE)",
                "GPAW "
                + ", ".join(sorted(set(v for v in d["engine_version"].values())))
                + " (PAW, PBE, plane waves)",
            ),
            ("highest (reference) level", "6", truth + " (test subset only)"),
            ("training levels", "1-6", ", ".join(d["train_levels"])),
            ("qSNAP 2Jmax", "4, 6, 8, 10", ", ".join(str(t) for t in s.twojmax)),
            (
                "weights w_E/w_F",
                "5, 10, 12.25, 50, 150, 300 (Tables 4/5: 150, 12)",
                ", ".join(f"{w:g}" for w in s.weights),
            ),
        ],
    )
    lines += ["", "Our DFT calculations (wall time on one core):", ""]
    lines += _table(
        ["level", "calculations", "mean per configuration (s)", "total (core-hours)"],
        [
            (
                lv,
                d["n_calculations"][lv],
                _f(d["mean_seconds_per_configuration"][lv], 1),
                _f(d["core_seconds"][lv] / 3600.0),
            )
            for lv in d["levels"]
        ]
        + [
            (
                "all",
                sum(d["n_calculations"].values()),
                "",
                _f(sum(d["core_seconds"].values()) / 3600.0),
            )
        ],
    )
    lines += [
        "",
        f"## 1. Table 3: DFT levels against level {truth}",
        "",
        "RMS differences on the configurations labelled at both levels (the test subset plus the "
        "ideal hcp cell, which is the bulk reference). The paper compares with its level 6; its "
        "level 5 differs from level 6 by 0.54 meV/atom and 10.17 meV/Å.",
        "",
    ]
    paper3 = {r["level"]: r for r in pv.TABLE_3}
    rows = []
    for _, r in findings.table3.iterrows():
        p = paper3.get(int(r["level"]), {})
        rows.append(
            (
                r["level"],
                int(r["n_configs"]),
                _f(r["energy_unshifted"]),
                _f(p.get("energy_unshifted_mev_per_atom")),
                _f(r["energy_bulk_shifted"]),
                _f(p.get("energy_bulk_shifted_mev_per_atom")),
                _f(r["energy_mean_shifted"]),
                _f(p.get("energy_mean_shifted_mev_per_atom")),
                _f(r["force"]),
                _f(p.get("force_mev_per_angstrom")),
            )
        )
    lines += _table(
        [
            "level",
            "n",
            "E unshifted (ours)",
            "(paper)",
            "E bulk-shifted (ours)",
            "(paper)",
            "E mean-shifted (ours)",
            "(paper)",
            "F (ours)",
            "(paper)",
        ],
        rows,
    )
    lines += ["", _table3_verdict(findings), ""]

    lines += [
        f"## 2. Tables 4/5 and Fig. 4: test errors against level {truth}",
        "",
        f"Models trained on the whole training pool at each level, 2Jmax = {s.twojmax_tables} "
        f"(paper: 2Jmax = 10, 10 000 configurations; both about 1.5-2.5 training configurations "
        f"per descriptor), tested on the test subset against level {truth} (paper: level 6). "
        "E shifted: the mean energy error removed.",
        "",
    ]
    for model, ratio in (
        ("higher_energy_weight", s.high_energy_weight),
        ("higher_force_weight", s.high_force_weight),
    ):
        ours, paper = _weight_rows(findings, ratio), _paper_rows(model)
        lines += [f"**w_E/w_F = {ratio:g}** ({'Table 4' if 'energy' in model else 'Table 5'})", ""]
        rows = []
        for lv, r in ours.iterrows():
            p = paper.get(int(lv), {})
            rows.append(
                (
                    lv,
                    _f(r["energy_rmse_test_truth"]),
                    _f(p.get("energy_test_level6_unshifted_mev_per_atom")),
                    _f(r["energy_rmse_test_truth_shifted"]),
                    _f(p.get("energy_test_level6_shifted_mev_per_atom")),
                    _f(r["force_rmse_test_truth"]),
                    _f(p.get("force_test_level6_mev_per_angstrom")),
                    _f(r["energy_rmse_test"]),
                    _f(p.get("energy_test_self_mev_per_atom")),
                    _f(r["force_rmse_test"]),
                    _f(p.get("force_test_self_mev_per_angstrom")),
                )
            )
        lines += _table(
            [
                "train level",
                "E vs top (ours)",
                "(paper)",
                "E vs top shifted (ours)",
                "(paper)",
                "F vs top (ours)",
                "(paper)",
                "E vs own (ours)",
                "(paper)",
                "F vs own (ours)",
                "(paper)",
            ],
            rows,
        )
        lines.append("")
    lines += [
        f"Does the force weight ({s.high_force_weight:g}) lower the errors against the highest "
        f"level compared with the energy weight ({s.high_energy_weight:g})?",
        "",
    ]
    lines += _table(
        ["train level", "F: ours", "F: paper", "E shifted: ours", "E shifted: paper"],
        [
            (lv, _yes(a), _yes(b), _yes(c), _yes(e))
            for lv, a, b, c, e in _force_weighting_verdicts(findings)
        ],
    )
    lines += ["", "Fig. 4, the whole weight sweep (ours; E and F against the highest level):", ""]
    wt = findings.weight_table
    ratios = sorted(wt["weight_ratio"].unique(), reverse=True)
    rows = []
    for lv, g in wt.groupby("train_level"):
        g = g.set_index("weight_ratio")
        rows.append(
            [lv]
            + [
                f"{_f(g.loc[w, 'energy_rmse_test_truth'], 1)} / "
                f"{_f(g.loc[w, 'force_rmse_test_truth'], 0)}"
                for w in ratios
            ]
        )
    lines += _table(["train level"] + [f"{w:g}" for w in ratios], rows)
    lines += ["", "Paper, Fig. 4: " + " ".join(f"“{q}”" for q in pv.FIG_4["quotes"][:2]), ""]

    curve_level = s.curve_level or d["train_levels"][-1]
    curve_weight = s.curve_weight or s.high_energy_weight
    lines += [
        "## 3. Fig. 6: leverage vs random sampling",
        "",
        f"Training level {curve_level}, w_E/w_F = {curve_weight:g}, 2Jmax = {s.twojmax_tables}, "
        f"{s.repetitions} sampling seeds; leverage scores of the weighted descriptor matrix of the "
        f"training pool ({d['n_train_pool']} configurations), sampling proportional to them "
        f"without replacement. Mean test energy RMSE against the training level (meV/atom), "
        f"min-max over seeds in brackets; the last row is the whole pool.",
        "",
    ]
    cur = findings.learning_curves
    samplers = ["leverage", "block_leverage", "random"]
    rows = []
    for size in sorted(cur["subset_size"].unique()):
        row = [int(size)]
        for smp in samplers:
            g = cur[(cur["sampler"] == smp) & (cur["subset_size"] == size)]
            if g.empty:
                row.append("–")
                continue
            g = g.iloc[0]
            row.append(
                f"{_f(g['energy_rmse_test_mean'])} "
                f"[{_f(g['energy_rmse_test_min'], 1)}-{_f(g['energy_rmse_test_max'], 1)}]"
            )
        rows.append(row)
    lines += _table(["subset size", "regular leverage", "block leverage", "random"], rows)
    lines += [
        "",
        f"Smallest subset from which the mean error stays within {s.tolerance:g} meV/atom "
        f"(the paper's criterion) and within {100 * s.relative_tolerance:g}% of the whole "
        "pool's error:",
        "",
    ]
    need = findings.subsets_needed

    def size(value):
        return "–" if value is None or not np.isfinite(value) else int(value)

    rows = [
        (
            r["sampler"],
            "own level" if r["error"] == "energy_rmse_test" else f"level {truth}",
            _f(r["full_pool_error"]),
            size(r["stays_within_from"]),
            size(r["stays_within_relative_from"]),
        )
        for _, r in need.iterrows()
    ]
    lines += _table(
        [
            "sampler",
            "energy error vs",
            "whole pool (meV/atom)",
            f"within {s.tolerance:g} meV/atom",
            f"within {100 * s.relative_tolerance:g}%",
        ],
        rows,
    )
    lines += ["", _fig6_verdict(findings), ""]
    lines += [
        "Paper, Fig. 6: " + " ".join(f"“{q}”" for q in pv.FIG_6["quotes"][:2]),
        "",
        "## 4. Fig. 7: which levels are on the Pareto front",
        "",
        "Pareto front of (DFT wall time of the training subset, test energy RMSE, test force "
        f"RMSE against level {truth}) over every model: each training level, weight and 2Jmax "
        "with leverage-sampled subsets of every size and the whole pool (as the paper's Fig. 7), "
        "plus the learning-curve models:",
        "",
    ]
    rows = [(key, ", ".join(v)) for key, v in findings.pareto_levels.items()]
    rows.append(
        (
            "paper (Figs. 7/8)",
            "levels "
            + ", ".join(str(v) for v in pv.FIG_7["levels_on_front"])
            + " (6 only at the very edge); never 1 or 2",
        )
    )
    lines += _table(["models", "training levels on the front"], rows)
    front = findings.pareto
    counts = front.groupby("train_level").size()
    lines += [
        "",
        "Models on the whole front per training level: "
        + ", ".join(f"level {k}: {v}" for k, v in counts.items())
        + ".",
        "",
        _fig7_verdict(findings),
        "",
        "## Why our numbers differ from the paper's",
        "",
        *_by_generator_lines(findings),
        _model_error_line(findings),
        f"- **Cell sizes.** Our configurations have {d['n_atoms_range'][0]}-"
        f"{d['n_atoms_range'][1]} atoms (the paper's about 50). The k-mesh rule n = ceil(|b|/dk) "
        "rounds up: for a 1-4-atom cell that oversamples by up to a factor of 2 per direction, "
        "while a 50-atom cell gets the Gamma point alone at level 2 in most directions. The same "
        "level therefore samples our cells and the paper's differently, and its k-point error "
        "is not the paper's.",
        f"- **Reference level.** Our highest level is {truth} on the test subset only; the "
        "paper's is 6. "
        "The paper's own level 5 is within 0.54 meV/atom and 10.17 meV/Å of its level 6.",
        f"- **Pool size and complexity.** A training pool of {d['n_train_pool']} configurations "
        f"instead of 10 000, and 2Jmax up to {max(s.twojmax)} instead of 10 (the quadratic "
        "descriptors of 2Jmax 8 would outnumber a few hundred configurations' energies many "
        "times over): the model error at the top levels is larger relative to the DFT "
        "differences, and the learning curves are shorter.",
        "- **DFT code.** GPAW's Be PAW setup instead of VASP's Be potential: the error of a "
        "plane-wave cut-off (300-700 eV here) depends on the setup, so the cut-off part of a "
        "level's error differs too.",
        "- **Level 1.** Gamma-point-only sampling of cells this small is a much worse "
        "approximation than for 50-atom cells; level-1 differences are accordingly far larger.",
        "",
    ]
    text = "\n".join(lines)
    if path is not None:
        tmp = f"{path}.tmp-{os.getpid()}"
        with open(tmp, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    return text


def _model_error_line(findings) -> str:
    s, d = findings.settings, findings.dataset_summary
    level = d["train_levels"][-1]
    wt = _weight_rows(findings, s.high_force_weight)
    own = float(wt.loc[level, "energy_rmse_test"])
    t3 = findings.table3.set_index("level")
    dft = float(t3.loc[level, "energy_mean_shifted"]) if level in t3.index else float("nan")
    worst = ""
    bg = findings.by_generator
    if bg is not None and len(bg):
        g = bg[np.isclose(bg["weight_ratio"], s.high_force_weight)]
        top = g.sort_values("energy_rmse_test_truth").iloc[-1]
        worst = (
            f" The largest errors are those of the {top['generator']} structures "
            f"({int(top['n_test'])} of {d['n_test']} test configurations, "
            f"{_f(top['energy_rmse_test_truth'], 0)} meV/atom)."
        )
    return (
        f"- **Model error.** Trained on level {level} (w_E/w_F = {s.high_force_weight:g}, 2Jmax "
        f"= {s.twojmax_tables}), the model's test energy error against its own level is "
        f"{_f(own, 1)} meV/atom, against a mean-shifted DFT difference of {_f(dft, 1)} meV/atom "
        f"between level {level} and level {d['truth_level']}. Where the model error dominates, "
        "the training level matters less for the energies than in the paper, whose models reach "
        "5-8 meV/atom." + worst
    )


def _by_generator_lines(findings) -> list[str]:
    bg = findings.by_generator
    if bg is None or len(bg) == 0:
        return []
    s, d = findings.settings, findings.dataset_summary
    level = bg["train_level"].iloc[0]
    ratios = list(dict.fromkeys(bg["weight_ratio"]))
    rows = []
    for g, grp in bg.groupby("generator", sort=False):
        grp = grp.set_index("weight_ratio")
        rows.append(
            [g, int(grp["n_test"].iloc[0])]
            + [
                f"{_f(grp.loc[r, 'energy_rmse_test_truth'], 1)} / "
                f"{_f(grp.loc[r, 'force_rmse_test_truth'], 0)}"
                for r in ratios
            ]
        )
    return [
        f"Test errors against level {d['truth_level']} by kind of structure (training level "
        f"{level}, whole pool, 2Jmax = {s.twojmax_tables}; E meV/atom / F meV/Å):",
        "",
        *_table(["kind", "n test"] + [f"w_E/w_F = {r:g}" for r in ratios], rows),
        "",
    ]


def _table3_verdict(findings) -> str:
    from . import paper_values as pv

    t3 = findings.table3.set_index("level")
    ours = t3["energy_unshifted"].to_numpy()
    monotone = bool(np.all(np.diff(ours) < 0))
    paper3 = {r["level"]: r for r in pv.TABLE_3}
    worse = [lv for lv, r in t3.iterrows() if r["energy_bulk_shifted"] > r["energy_unshifted"]]
    paper_worse = [
        lv
        for lv, r in paper3.items()
        if r["energy_bulk_shifted_mev_per_atom"] > r["energy_unshifted_mev_per_atom"]
    ]
    return (
        f"Measured: the unshifted energy difference {'falls' if monotone else 'does not fall'} "
        f"monotonically with the level (paper: it does). Bulk shifting increases the difference "
        f"for levels {', '.join(map(str, worse)) or 'none'} (paper: levels "
        f"{', '.join(map(str, paper_worse))}, 'often detrimental'); mean shifting never increases "
        f"it, by construction."
    )


def _fig6_verdict(findings) -> str:
    s = findings.settings
    need = findings.subsets_needed
    own = need[need["error"] == "energy_rmse_test"].set_index("sampler")
    sentences = []
    for column, what in (
        ("stays_within_from", f"{s.tolerance:g} meV/atom"),
        ("stays_within_relative_from", f"{100 * s.relative_tolerance:g}%"),
    ):
        parts = []
        for smp in ("leverage", "block_leverage"):
            a, b = own[column].get(smp), own[column].get("random")
            if a is None or b is None or not np.isfinite(a) or not np.isfinite(b):
                parts.append(f"{smp}: not reached within the pool")
                continue
            ratio = b / a
            parts.append(
                f"{smp} {int(a)} configurations vs random {int(b)} "
                + (f"({ratio:.1f}x fewer)" if ratio >= 1 else f"({1 / ratio:.1f}x more)")
            )
        sentences.append(f"within {what}: " + "; ".join(parts))
    return (
        "Measured, "
        + ". Measured, ".join(sentences)
        + ". Paper: leverage sampling reaches 1 meV/atom of the full set with about 10x fewer "
        "configurations than random sampling."
    )


def _fig7_verdict(findings) -> str:
    from . import paper_values as pv

    ours = set(findings.pareto_levels["all"])
    paper_absent = {str(v) for v in pv.FIG_7["levels_absent_from_front"]}
    on = sorted(ours, key=int)
    agree = not (ours & paper_absent)
    return f"Measured: on the front: level(s) {', '.join(on)}. " + (
        "As in the paper, levels 1 and 2 are not."
        if agree
        else "Unlike the paper, level(s) "
        + ", ".join(sorted(ours & paper_absent, key=int))
        + " appear on it."
    )


def read_report_table3(path: str):
    """The measured Table 3 values from a report: ``{level: (unshifted, bulk-shifted,
    mean-shifted, force)}`` as printed (meV/atom, meV/Angstrom)."""
    out = {}
    with open(path) as fh:
        lines = fh.read().splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("## 1. Table 3"))
    for ln in lines[start + 1 :]:
        if ln.startswith("## "):
            break
        cells = [c.strip() for c in ln.strip().strip("|").split("|")]
        if len(cells) == 10 and cells[0].isdigit():
            out[cells[0]] = tuple(float(cells[k]) for k in (2, 4, 6, 8))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pyiron_appmlip.study.findings", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--dataset", default=None, help="dataset file (default: the shipped one)")
    parser.add_argument("--out", default=None, help="Markdown report (default: print)")
    parser.add_argument("--repetitions", type=int, default=FindingsSettings.repetitions)
    args = parser.parse_args(argv)
    from ..datasets.be import load_be_dataset

    dataset = load_be_dataset(args.dataset)
    settings = FindingsSettings(repetitions=args.repetitions)
    findings = measure_findings(dataset, settings, progress=lambda m: print(m, file=sys.stderr))
    command = "python -m pyiron_appmlip.study.findings" + (f" --out {args.out}" if args.out else "")
    text = write_report(findings, args.out, command=command)
    if args.out is None:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
