"""The paper's study on the authors' Be data (or a stand-in in their layout), in one command.

::

    python -m pyiron_appmlip.reproduction.paper --data DIR [--twojmax 4 6 8 10] \\
        [--executor local|serial|slurm] [--workers N] [--out DIR] [--sizes ...] \\
        [--repetitions 50] [--leverage-file df_leverage.csv] [--engine scatter|units]

``DIR`` holds ``Be_structures.h5`` and ``Be_prec_1.h5`` .. ``Be_prec_6.h5`` (the folder
``data/`` of github.com/IlgarBaghishov/DFTprecisionMLIP, or
:mod:`~pyiron_appmlip.reproduction.paper_standin`), read by
:func:`~pyiron_appmlip.datasets.formats.paper_hdf.read_paper_dataset`.

The design, by default the authors' (:class:`PaperDesign`; every choice is an option):

* the authors' 50/50 split (:func:`~pyiron_appmlip.datasets.formats.paper_hdf.paper_split`,
  seed 58) of the configurations labelled at every level;
* training subsets of :data:`SIZES` configurations (100 ... 9,990; sizes above the pool are
  dropped, the whole pool is always fitted too), each drawn afresh per repetition with
  probability proportional to its leverage (``draws="independent"``), 50 repetitions;
* w_E/w_F 5, 10, 12.25, 50, 150, 300; training levels 1-6; test errors against level 6;
* the sampler comparison (Fig. 6): regular and block leverage and random sampling at level 6,
  w_E/w_F 150, sizes up to 3,000;
* the whole training pool at every level and at the weights of the Fig. 4 sweep
  (:data:`~pyiron_appmlip.reproduction.like_for_like.conventions.SWEEP_WEIGHTS`), which also
  gives Tables 4/5;
* the authors' fit (no constant column, ``lstsq`` cond 1e-13; ``--fit-convention package``
  for the package's); leverage of the matrix weighted with w_E/w_F 150;
* DFT cost of a training set: its size times the level's mean time per configuration of the
  paper's Table 1 (the data carry no times).

Stages, each resumable:

1. descriptors: one :class:`~pyiron_appmlip.descriptors.store.BlockStore` per 2Jmax in
   ``OUT/descriptors`` (:func:`~pyiron_appmlip.descriptors.compute.compute_to_store`: an
   interrupted run continues with the configurations not yet stored; every block is
   checksummed);
2. fits: :func:`~pyiron_appmlip.training.sweep.run_sweep`, the three grids (sampler
   comparison, front, whole pool) as one batch of units per 2Jmax; with ``--engine scatter`` (the
   default) all independently drawn subsets come from passes over the training pool that
   read each configuration once (:mod:`~pyiron_appmlip.core.subset_scatter`), with
   ``--engine units`` one unit per sampler and repetition reads its own; the rows of every
   finished unit (one sampler and repetition) are written at once to
   ``OUT/rows/<2Jmax>-<key>/`` (the key hashes the data files, the design and the package's
   code that computes rows), and a run computes only the units whose rows are missing;
3. leverage comparison (with ``--leverage-file``): our scores of the training pool in the
   authors' order beside theirs (Spearman rank correlation, largest relative difference),
   both of the package's weighted matrix (with the constant column) and of the authors' (none;
   :func:`leverage_without_constant`), at 2Jmax 6 (the authors' file) when it is run; cached
   in ``OUT/cache``;
4. report: ``OUT/paper_report.md`` with Tables 3-5 and the Fig. 6-8 statements beside the
   published values (:mod:`~pyiron_appmlip.reproduction.paper_values`), and figures like
   Figs. 4-8 in ``OUT/figures`` (:mod:`~pyiron_appmlip.reproduction.paper_render`), drawn from
   the stored rows.

Disk: a descriptor store holds float64 blocks; 19,980 configurations of 50 atoms take about
3 GB at 2Jmax 4, 12 GB at 6, 39 GB at 8 and 104 GB at 10 (measured per configuration). ``--drop-descriptors`` deletes a 2Jmax's store
once all of its rows are stored (the rows are kept), so the disk holds one 2Jmax at a time,
and ``--descriptor-dtype float32`` halves each store (values rounded once to a relative error
of at most 6e-8; the fits stay float64). ``benchmarks/bench_paper_scale.py`` measures the sizes,
times and the float32 rounding's effect on the errors (docs/paper_reproduction.md).
"""

from __future__ import annotations

import argparse
import functools
import glob
import hashlib
import json
import os
import pickle
import resource
import time
import uuid
from dataclasses import asdict, dataclass, field

import numpy as np

from ..datasets.formats.paper_hdf import paper_split, paper_split_ids, read_paper_dataset
from ..training.table import KEY_COLUMNS, row_key
from .like_for_like.conventions import SWEEP_WEIGHTS
from .result_cache import cached, code_digest

__all__ = [
    "SIZES",
    "PaperDesign",
    "PaperRun",
    "paper_split",
    "executor_spec",
    "run_paper",
    "compare_leverage",
    "leverage_without_constant",
    "main",
]

#: Training subset sizes of the authors' design (those above the pool are dropped).
SIZES = (100, 200, 350, 500, 750, 1000, 1500, 2250, 3000, 5000, 7500, 9990)
#: Modules that only render or describe results: left out of the rows' key, so editing a
#: figure keeps the stored rows.
RENDERING_MODULES = (
    "reproduction/paper.py",
    "reproduction/paper_render.py",
    "reproduction/paper_standin.py",
    "reproduction/paper_values.py",
    "reproduction/findings_render.py",
    "reproduction/findings_figures.py",
    "reproduction/like_for_like/rendering.py",
    "study/plots.py",
)
_EXECUTORS = ("local", "serial", "slurm")
_ROW_DROP = ("training_ids",)


@dataclass
class PaperDesign:
    """The design of the study (defaults: the authors').

    Attributes:
        twojmax: 2Jmax values of the models.
        sizes: training subset sizes (those above the pool are dropped).
        repetitions: draws per sampler, size and setting.
        weights: w_E/w_F of the leverage-sampled models (Figs. 7/8).
        levels: training levels.
        truth_level: the level the test errors are measured against.
        curve_level: training level of the sampler comparison (Fig. 6).
        curve_weight: w_E/w_F of the sampler comparison and of the leverage scores.
        curve_max_size: largest size of the sampler comparison.
        samplers: samplers of the comparison.
        sweep_weights: w_E/w_F of the whole-pool fits (Figs. 4/5, Tables 4/5).
        fit_convention: "authors" (no constant column, lstsq cond 1e-13) or "package".
        draws: "independent" (each size drawn afresh, the authors') or "nested".
        seed: root seed of the sampling orders.
    """

    twojmax: tuple = (4, 6, 8, 10)
    sizes: tuple = SIZES
    repetitions: int = 50
    weights: tuple = (5.0, 10.0, 12.25, 50.0, 150.0, 300.0)
    levels: tuple = ("1", "2", "3", "4", "5", "6")
    truth_level: str = "6"
    curve_level: str = "6"
    curve_weight: float = 150.0
    curve_max_size: int = 3000
    samplers: tuple = ("leverage", "block_leverage", "random")
    sweep_weights: tuple = SWEEP_WEIGHTS
    fit_convention: str = "authors"
    draws: str = "independent"
    seed: int = 0

    def __post_init__(self):
        from ..descriptors.settings import check_twojmax
        from ..training.sweep import DRAWS, FIT_CONVENTIONS

        self.twojmax = tuple(sorted({check_twojmax(t) for t in self.twojmax}))
        if not self.twojmax:
            raise ValueError("twojmax must name at least one 2Jmax value, e.g. [4, 6, 8, 10]")
        sizes = []
        for s in self.sizes:
            if isinstance(s, bool) or not isinstance(s, int | np.integer) or s < 1:
                raise ValueError(f"sizes must be positive integers, got {list(self.sizes)!r}")
            sizes.append(int(s))
        self.sizes = tuple(sorted(set(sizes)))
        r = self.repetitions
        if isinstance(r, bool) or not isinstance(r, int | np.integer) or r < 1:
            raise ValueError(f"repetitions must be a positive integer, got {r!r}")
        if self.fit_convention not in FIT_CONVENTIONS:
            raise ValueError(
                f"fit_convention must be one of {tuple(FIT_CONVENTIONS)}, got "
                f"{self.fit_convention!r}"
            )
        if self.draws not in DRAWS:
            raise ValueError(f"draws must be one of {DRAWS}, got {self.draws!r}")
        self.levels = tuple(str(v) for v in self.levels)
        self.truth_level, self.curve_level = str(self.truth_level), str(self.curve_level)
        if self.curve_level not in self.levels:
            raise ValueError(
                f"curve_level must be one of the training levels {list(self.levels)}, got "
                f"{self.curve_level!r}"
            )
        self.weights = tuple(float(w) for w in self.weights)
        if self.curve_weight not in self.weights:
            raise ValueError(
                f"curve_weight must be one of weights {list(self.weights)}, got "
                f"{self.curve_weight!r}"
            )


@dataclass
class PaperRun:
    """What :func:`run_paper` did and found.

    Attributes:
        out: the output folder.
        report: path of the Markdown report.
        figures: paths of the figures written.
        rows: one DataFrame of every fit (all 2Jmax), without coefficients.
        table3: the DFT differences of every level to the truth level.
        pool: training pool size; test: test set size.
        computed: per 2Jmax, the number of rows computed in this run (0: all reused).
        leverage: the leverage comparison (None without ``leverage_file``).
        design: the :class:`PaperDesign`.
        timings: wall-clock seconds of the stages of this run: ``read`` (the data files),
            ``descriptors`` and ``fits`` (``{2Jmax: s}``; descriptors reused from an earlier run
            take seconds), ``leverage`` (the comparison, when run), ``report`` (report and
            figures), ``after_descriptors`` (everything but reading and descriptors) and
            ``total``.
        peak_memory_gib: the largest resident memory (GiB) of this process and of its largest
            finished child process (local workers) over the run (``getrusage``), as
            ``{"process": ..., "children": ...}``.
    """

    out: str
    report: str
    figures: list
    rows: object
    table3: object
    pool: int
    test: int
    computed: dict = field(default_factory=dict)
    leverage: dict | None = None
    design: PaperDesign | None = None
    timings: dict = field(default_factory=dict)
    peak_memory_gib: dict = field(default_factory=dict)

    def summary(self) -> str:
        """One line per stage with its time, and the peak memory."""
        t = self.timings
        lines = [f"read the data files: {t.get('read', 0.0):.1f} s"]
        for k in sorted(t.get("descriptors", {})):
            lines.append(
                f"2Jmax {k}: descriptors {t['descriptors'][k]:.1f} s, fits "
                f"{t.get('fits', {}).get(k, 0.0):.1f} s ({self.computed.get(k, 0)} rows computed)"
            )
        if "leverage" in t:
            lines.append(f"leverage comparison: {t['leverage']:.1f} s")
        lines.append(f"report and figures: {t.get('report', 0.0):.1f} s")
        lines.append(
            f"after the descriptors: {t.get('after_descriptors', 0.0):.1f} s "
            f"({t.get('after_descriptors', 0.0) / 60:.1f} min); whole command "
            f"{t.get('total', 0.0):.1f} s"
        )
        m = self.peak_memory_gib
        if m:
            lines.append(
                f"peak resident memory: {m['process']:.2f} GiB (this process), "
                f"{m['children']:.2f} GiB (largest finished worker process)"
            )
        return "\n".join(lines)


def _peak_memory_gib() -> dict:
    """``ru_maxrss`` of this process and its largest finished child (KiB on Linux)."""
    kib = 1024.0**2
    return {
        "process": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / kib,
        "children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / kib,
    }


def executor_spec(name: str, out: str, partition: str | None = None, workers: int | None = None):
    """The executor of ``--executor``: ``"local"`` (all local cores), ``"serial"`` or
    ``"slurm"`` (every unit a SLURM job through executorlib, its cache in ``OUT/executor``).

    Args:
        name: ``"local"``, ``"serial"`` or ``"slurm"``.
        out: the output folder (the SLURM executor's cache goes to ``out/executor``).
        partition: SLURM partition of the jobs (``"slurm"`` only; default: the cluster's).
        workers: at most this many tasks (descriptor chunks, sweep units) run at once: the
            local pool's size, or for ``"slurm"`` the number of SLURM jobs submitted at once
            (the next one is submitted when one has finished). None: all local cores, or
            every task submitted at once to SLURM. ``"serial"`` runs one at a time.

    Raises:
        ValueError: for another name, listing the allowed ones, or for a ``workers`` that is
            not a positive integer (or not 1 with ``"serial"``).
    """
    if name not in _EXECUTORS:
        raise ValueError(f"executor must be one of {_EXECUTORS}, got {name!r}")
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int | np.integer) or workers < 1
    ):
        raise ValueError(
            f"workers must be a positive integer (tasks run at once) or None, got {workers!r}"
        )
    if name == "serial" and workers not in (None, 1):
        raise ValueError(
            f"workers must be 1 or None with executor 'serial' (one task at a time), got "
            f"{workers!r}; use executor 'local' or 'slurm' for more"
        )
    if name == "local" and workers is not None:
        return {"kind": "local", "max_workers": int(workers)}
    if name != "slurm":
        return name
    resources = {"cores": 1}
    if partition:
        resources["partition"] = partition
    spec = {
        "kind": "slurm_cluster",
        "cache_directory": os.path.join(os.path.abspath(out), "executor"),
        "resource_dict": resources,
    }
    if workers is not None:
        spec["max_workers"] = int(workers)
    return spec


class _PaperBlocks:
    """A sweep block source over a block store keyed by structure, addressed by paper ids."""

    def __init__(self, store, store_id_of: dict):
        self.store = store
        self.store_id_of = store_id_of
        self.ids = list(store_id_of)
        self.settings = None

    def iter_blocks(self, ids):
        yield from self.store.iter_blocks([self.store_id_of[i] for i in ids])


def _sizes(design: PaperDesign, pool: int) -> list[int]:
    sizes = [s for s in design.sizes if s < pool]
    if not sizes:
        raise ValueError(
            f"sizes: every size {list(design.sizes)} is at least the training pool ({pool} "
            "configurations); give smaller --sizes"
        )
    return sizes


def _grids(design: PaperDesign, sizes: list[int]):
    from ..training.sweep import SweepGrid

    common = {
        "draws": design.draws,
        "fit_convention": design.fit_convention,
        "seed": design.seed,
        "leverage_weights": (design.curve_weight, 1.0),
        "repetitions": design.repetitions,
    }
    curve_sizes = [s for s in sizes if s <= design.curve_max_size] or sizes[:1]
    return {
        "samplers": SweepGrid(
            [design.curve_level],
            curve_sizes,
            [design.curve_weight],
            samplers=design.samplers,
            **common,
        ),
        "front": SweepGrid(
            list(design.levels), sizes, list(design.weights), samplers=("leverage",), **common
        ),
        "whole_pool": SweepGrid(
            list(design.levels), [], list(design.sweep_weights), samplers=["all"], **common
        ),
    }


def _rows_folder(out, t, key) -> str:
    text = json.dumps(key, sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    folder = os.path.join(out, "rows", f"2j{t}-{digest}")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "key.json")
    if not os.path.exists(path):
        with open(path, "w") as fh:
            fh.write(text)
    return folder


def _load_rows(folder) -> list[dict]:
    rows = []
    for path in sorted(glob.glob(os.path.join(folder, "unit-*.pkl"))):
        try:
            with open(path, "rb") as fh:
                rows.extend(pickle.load(fh))
        except Exception as err:  # a damaged file: its unit is computed again
            print(f"rows file {path} unreadable ({err}); its unit is computed again")
    return rows


def _store_rows(folder, unit, rows) -> None:
    keep = []
    for r in rows:
        r = {k: v for k, v in r.items() if k not in _ROW_DROP}
        if r["sampler"] != "all":
            r.pop("coefficients", None)  # only the whole-pool models are kept whole
        keep.append(r)
    name = f"unit-{unit[1]}-{unit[2]}-{uuid.uuid4().hex[:8]}.pkl"
    tmp = os.path.join(folder, name + ".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(keep, fh)
    os.replace(tmp, os.path.join(folder, name))


def _table3(dataset, levels, truth, ids) -> object:
    """Energy (meV/atom, unshifted and mean-shifted) and force (meV/Angstrom) RMSD of every
    level to the truth level over ``ids``."""
    import pandas as pd

    ref = dataset.level(truth)
    n = np.array([len(dataset.structure(i)) for i in ids], dtype=float)
    e_ref = np.array([ref.energy[ref.index(i)] for i in ids]) / n
    f_ref = np.concatenate([ref.forces[ref.index(i)].ravel() for i in ids])
    out = []
    for lv in levels:
        if lv == truth:
            continue
        data = dataset.level(lv)
        de = np.array([data.energy[data.index(i)] for i in ids]) / n - e_ref
        df = np.concatenate([data.forces[data.index(i)].ravel() for i in ids]) - f_ref
        out.append(
            {
                "level": lv,
                "energy_unshifted": 1000.0 * float(np.sqrt(np.mean(de**2))),
                "energy_mean_shifted": 1000.0 * float(np.std(de)),
                "force": 1000.0 * float(np.sqrt(np.mean(df**2))),
            }
        )
    return pd.DataFrame(out)


def compare_leverage(ours: dict, leverage_file: str) -> dict:
    """Our leverage scores beside the authors' ``df_leverage.csv``.

    Args:
        ours: ``{"lev": (M,), "block_lev": (M,)}`` in the authors' training order.
        leverage_file: their CSV (columns ``lev`` and ``block_lev``; row i is the i-th
            training configuration of their shuffled order).

    Returns:
        Per column: ``spearman`` (rank correlation), ``max_relative_difference`` (largest
        ``|ours - theirs| / theirs``), the same after scaling both to sum 1
        (``max_relative_difference_normalised``), both sums, and ``n``.

    Raises:
        ValueError: if the file lacks a column or its row count is not the pool's.
    """
    import pandas as pd
    from scipy.stats import spearmanr

    theirs = pd.read_csv(leverage_file)
    missing = [c for c in ("lev", "block_lev") if c not in theirs.columns]
    if missing:
        raise ValueError(
            f"leverage_file {leverage_file!r} lacks the columns {missing} (has "
            f"{list(theirs.columns)})"
        )
    out = {}
    for col in ("lev", "block_lev"):
        a, b = np.asarray(ours[col], dtype=float), theirs[col].to_numpy(dtype=float)
        if len(a) != len(b):
            raise ValueError(
                f"leverage_file {leverage_file!r} has {len(b)} rows, the training pool "
                f"{len(a)} configurations: not the same training set"
            )
        rel = np.abs(a - b) / np.maximum(np.abs(b), np.finfo(float).tiny)
        an, bn = a / a.sum(), b / b.sum()
        reln = np.abs(an - bn) / np.maximum(np.abs(bn), np.finfo(float).tiny)
        out[col] = {
            "n": int(len(a)),
            "spearman": float(spearmanr(a, b).statistic),
            "max_relative_difference": float(rel.max()),
            "max_relative_difference_normalised": float(reln.max()),
            "sum_ours": float(a.sum()),
            "sum_theirs": float(b.sum()),
        }
    return out


def run_paper(
    data,
    out: str = "paper_reproduction",
    design: PaperDesign | None = None,
    *,
    executor="local",
    leverage_file: str | None = None,
    leverage_twojmax: int | None = None,
    drop_descriptors: bool = False,
    descriptor_dtype: str = "float64",
    figures: bool = True,
    progress=None,
    engine: str = "scatter",
) -> PaperRun:
    """Run the study (see the module docstring) and write its report and figures.

    Args:
        data: the folder in the authors' layout.
        out: output folder (descriptor stores, rows, report, figures).
        design: the :class:`PaperDesign` (default: the authors').
        executor: where descriptors and fits run (:mod:`pyiron_appmlip.executors`; see
            :func:`executor_spec` for the command line's names).
        leverage_file: the authors' ``df_leverage.csv``, compared with our leverage.
        leverage_twojmax: 2Jmax of that comparison (default: 6, the 2Jmax of the authors'
            file, if it is run, else the largest run).
        drop_descriptors: delete each 2Jmax's descriptor store once its rows are all stored.
        descriptor_dtype: ``"float64"`` (default) or ``"float32"``: how the descriptor stores
            keep the blocks (float32: half the disk, each value rounded once to a relative
            error of at most 6e-8; the fits are computed in float64 either way).
        figures: draw the figures.
        progress: callable receiving messages.
        engine: ``"scatter"`` (default): the independently drawn subsets of all repetitions
            from passes over the training pool that read each configuration once, in this
            process (:func:`~pyiron_appmlip.training.sweep.scatter_unit_fits`); ``"units"``:
            one sweep unit per sampler and repetition, each reading its own subsets, run by
            ``executor``. Both give the same rows up to rounding.

    Returns:
        A :class:`PaperRun`.
    """
    import pandas as pd

    from ..descriptors.compute import compute_to_store
    from ..descriptors.settings import QSnapSettings
    from ..dft.levels import PAPER_LEVELS
    from ..structures.conversion import configuration_id
    from ..training.sweep import run_sweep
    from . import paper_render
    from .dataset_inputs import dataset_labels

    design = PaperDesign() if design is None else design
    say = progress or (lambda m: None)
    if leverage_file is not None and not os.path.isfile(leverage_file):
        raise FileNotFoundError(f"leverage_file: no file at {leverage_file!r}")
    if leverage_twojmax is not None and leverage_twojmax not in design.twojmax:
        raise ValueError(
            f"leverage_twojmax must be one of the 2Jmax values run {list(design.twojmax)}, got "
            f"{leverage_twojmax!r}"
        )
    if engine not in _engines():
        raise ValueError(
            f"engine must be {' or '.join(repr(e) for e in _engines())}, got {engine!r}"
        )
    if descriptor_dtype not in ("float64", "float32"):
        raise ValueError(
            f"descriptor_dtype must be 'float64' or 'float32', got {descriptor_dtype!r}"
        )
    out = os.path.abspath(out)
    os.makedirs(out, exist_ok=True)
    started = time.perf_counter()
    timings: dict = {"descriptors": {}, "fits": {}}
    dataset = read_paper_dataset(data, [int(v) for v in design.levels + (design.truth_level,)])
    train, test = paper_split_ids(dataset)
    pool = dataset.common_ids(design.levels, train)
    test = dataset.common_ids([design.truth_level], test)
    sizes = _sizes(design, len(pool))
    say(f"data: {len(pool)} training and {len(test)} test configurations; sizes {sizes}")
    timings["read"] = time.perf_counter() - started
    levels = list(dict.fromkeys([*design.levels, design.truth_level]))
    labels = dataset_labels(dataset, levels, pool + test)
    level_costs = {
        lv: {"per_configuration": PAPER_LEVELS[int(lv)].paper_seconds}
        for lv in levels
        if int(lv) in PAPER_LEVELS
    }
    store_id = {i: configuration_id(dataset.structure(i)) for i in pool + test}
    digest = code_digest(RENDERING_MODULES)
    grids = _grids(design, sizes)
    all_rows, computed, leverage = [], {}, None
    lev_t = leverage_twojmax
    if lev_t is None:  # the authors' file is at 2Jmax 6
        lev_t = 6 if 6 in design.twojmax else max(design.twojmax)
    for t in design.twojmax:
        settings = QSnapSettings(twojmax=t, elements=("Be",))
        key = {
            "data": dataset.metadata["import"]["files_sha256"],
            "twojmax": t,
            "settings": settings.to_json(),
            "descriptor_dtype": descriptor_dtype,
            # what changes a row's values beyond its key (sizes, weights, levels and the
            # number of repetitions do not: a larger design reuses every stored row)
            "fits": {
                k: v
                for k, v in grids["front"].to_dict().items()
                if k not in ("train_levels", "subset_sizes", "weights", "samplers", "repetitions")
            },
            "truth": design.truth_level,
            "level_costs": level_costs,
            "pool": hashlib.sha256("\n".join(pool).encode()).hexdigest(),
            "test": hashlib.sha256("\n".join(test).encode()).hexdigest(),
            "code": digest,
        }
        folder = _rows_folder(out, t, key)
        stored = _load_rows(folder)
        done = {row_key(r) for r in stored}
        expected = _expected(grids, t)
        suffix = "" if descriptor_dtype == "float64" else "_float32"
        store_path = os.path.join(out, "descriptors", f"be_2j{t}{suffix}.h5")
        need_blocks = not expected <= _settings_of(done) or (
            leverage_file is not None and t == lev_t
        )
        new_rows: list[dict] = []
        if need_blocks:
            say(f"2Jmax {t}: descriptors of {len(pool) + len(test)} configurations")
            clock = time.perf_counter()
            report = {}
            store = compute_to_store(
                [dataset.structure(i) for i in pool + test],
                settings,
                store_path,
                executor=executor,
                progress=False,
                report=report,
                dtype=descriptor_dtype,
                min_distance=None,  # checked when the data were read
            )
            say(f"2Jmax {t}: {report.get('n_reused', 0)} blocks reused, "
                f"{report.get('n_computed', 0)} computed")  # fmt: skip
            timings["descriptors"][t] = time.perf_counter() - clock
            clock = time.perf_counter()
            source = {t: _PaperBlocks(store, store_id)}
            listed = ", ".join(f"{name} ({len(g.units([t]))} units)" for name, g in grids.items())
            say(f"2Jmax {t}: grids {listed} as one batch")
            new_rows += run_sweep(
                source,
                labels,
                pool,
                test,
                list(grids.values()),  # one batch: no worker waits between grids
                design.truth_level,
                done=done,
                on_unit_done=functools.partial(_store_rows, folder),
                executor=executor,
                level_costs=level_costs,
                progress=say,
                engine=engine,
            )
            done |= {row_key(r) for r in new_rows}
            timings["fits"][t] = time.perf_counter() - clock
            if leverage_file is not None and t == lev_t:
                clock = time.perf_counter()
                n_atoms = {i: len(dataset.structure(i)) for i in train}
                scores = _leverage(out, key, source[t], train, pool, design, n_atoms, say)
                leverage = {
                    "twojmax": t,
                    **{k: compare_leverage(v, leverage_file) for k, v in scores.items()},
                }
                timings["leverage"] = time.perf_counter() - clock
            if drop_descriptors and expected <= _settings_of(done):
                os.remove(store_path)
                say(f"2Jmax {t}: all rows stored, descriptor store deleted")
        computed[t] = len(new_rows)
        rows = _load_rows(folder)
        all_rows += [{k: v for k, v in r.items() if k != "coefficients"} for r in rows]
        say(f"2Jmax {t}: {len(rows)} rows ({len(new_rows)} computed in this run)")
    clock = time.perf_counter()
    table = pd.DataFrame(all_rows)
    table3 = _table3(dataset, levels, design.truth_level, pool + test)
    result = PaperRun(
        out=out,
        report=os.path.join(out, "paper_report.md"),
        figures=[],
        rows=table,
        table3=table3,
        pool=len(pool),
        test=len(test),
        computed=computed,
        leverage=leverage,
        design=design,
    )
    if figures:
        result.figures = paper_render.draw_figures(result, os.path.join(out, "figures"))
    paper_render.write_report(result)
    timings["report"] = time.perf_counter() - clock
    timings["total"] = time.perf_counter() - started
    timings["after_descriptors"] = (
        timings["total"] - timings["read"] - sum(timings["descriptors"].values())
    )
    result.timings = timings
    result.peak_memory_gib = _peak_memory_gib()
    say(f"report: {result.report}")
    return result


def _expected(grids, t) -> set:
    """``(sampler, repetition, size or None, w_E, w_F, level)`` of every fit of the grids."""
    out = set()
    for grid in grids.values():
        for _, sampler, rep in grid.units([t]):
            sizes = [None] if sampler == "all" else grid.subset_sizes
            for size in sizes:
                for w_e, w_f in grid.weights:
                    for lv in grid.train_levels:
                        out.add((sampler, rep, size, round(w_e, 9), round(w_f, 9), lv))
    return out


def _settings_of(done) -> set:
    """The row keys of ``done`` in the form of :func:`_expected`."""
    out = set()
    for key in done:
        row = dict(zip(KEY_COLUMNS, key, strict=True))
        size = None if row["sampler"] == "all" else int(row["subset_size"])
        out.add(
            (
                row["sampler"],
                int(row["repetition"]),
                size,
                round(float(row["energy_weight"]), 9),
                round(float(row["force_weight"]), 9),
                str(row["train_level"]),
            )
        )
    return out


def leverage_without_constant(
    make_blocks, n_atoms, energy_weight: float, force_weight: float = 1.0, rcond: float = 1e-13
) -> dict:
    """Regular and block leverage of the weighted matrix without a constant column (the
    authors' convention: energy rows times w_E / N, force rows times w_F).

    Two passes over the blocks: the R factor of the column-scaled weighted rows (numpy QR of
    growing stacks), then ``h_i = ||x_i D V S^-1||^2`` from the SVD ``R D = U S V^T``
    truncated at ``s > rcond * s_max``.

    Args:
        make_blocks: callable returning a fresh iterable over the blocks (called twice).
        n_atoms: atoms of each configuration, in the same order.
        energy_weight, force_weight: w_E and w_F.
        rcond: relative singular-value cutoff (the authors' lstsq: 1e-13).

    Returns:
        ``{"lev": (M,), "block_lev": (M,)}``.
    """
    from scipy.linalg import qr

    n_atoms = [int(n) for n in n_atoms]

    def weighted():
        for b, n in zip(make_blocks(), n_atoms, strict=True):
            w = np.r_[energy_weight / n, np.full(3 * n, force_weight)]
            yield w[:, None] * np.asarray(b, dtype=float)[: 1 + 3 * n]

    r, buffer = None, []
    for x in weighted():
        buffer.append(x)
        if sum(len(b) for b in buffer) >= 4096:
            stack = np.vstack(buffer if r is None else [r, *buffer])
            r, buffer = qr(stack, mode="r", check_finite=False)[0][: stack.shape[1]], []
    if buffer:
        stack = np.vstack(buffer if r is None else [r, *buffer])
        r = qr(stack, mode="r", check_finite=False)[0][: stack.shape[1]]
    norms = np.linalg.norm(r, axis=0)
    d = 1.0 / np.where(norms > 0, norms, 1.0)
    _, sv, vt = np.linalg.svd(r * d, full_matrices=False)
    keep = sv > rcond * sv[0]
    projection = (vt[keep].T * d[:, None]) / sv[keep]
    lev, block = [], []
    for x in weighted():
        h = np.sum((x @ projection) ** 2, axis=1)
        lev.append(h[0])
        block.append(h.sum())
    return {"lev": np.array(lev), "block_lev": np.array(block)}


def _leverage(out, key, source, train, pool, design, n_atoms, say) -> dict:
    """Leverage of the authors' training set in their order, with and without the constant
    column (``{"package": scores, "authors": scores}``)."""
    from ..core.leverage import leverage_scores_streamed

    order = [i for i in train if i in set(pool)]
    if len(order) != len(train):
        raise ValueError(
            f"the leverage comparison needs every training configuration in the pool; "
            f"{len(train) - len(order)} lack a training level"
        )

    def compute():
        say(f"leverage of {len(order)} training configurations (w_E/w_F {design.curve_weight})")
        regular, block = leverage_scores_streamed(
            lambda: source.iter_blocks(order), design.curve_weight, 1.0
        )
        authors = leverage_without_constant(
            lambda: source.iter_blocks(order), [n_atoms[i] for i in order], design.curve_weight
        )
        return {"package": {"lev": regular, "block_lev": block}, "authors": authors}

    return cached(
        os.path.join(out, "cache"),
        {"leverage": key, "weights": design.curve_weight, "version": 2},
        compute,
    )


def _engines() -> tuple:
    """The sweep's engines (:data:`~pyiron_appmlip.training.sweep.ENGINES`), the command's
    default ``"scatter"`` first."""
    from ..training.sweep import ENGINES

    return ("scatter", *(e for e in ENGINES if e != "scatter"))


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m pyiron_appmlip.reproduction.paper",
        description=(
            "The paper's study on the authors' Be data (or a stand-in in their layout): "
            "descriptors, fits, report and figures, resumable."
        ),
    )
    parser.add_argument("--data", required=True, help="folder with Be_structures.h5, Be_prec_*")
    parser.add_argument("--out", default="paper_reproduction", help="output folder")
    parser.add_argument("--twojmax", type=int, nargs="+", default=list(PaperDesign.twojmax))
    parser.add_argument("--executor", default="local", help=f"one of {_EXECUTORS}")
    parser.add_argument("--partition", default=None, help="SLURM partition (--executor slurm)")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="at most N tasks at once: local pool size, or SLURM jobs submitted at once "
        "(default: all local cores; every task at once on SLURM)",
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--repetitions", type=int, default=PaperDesign.repetitions)
    parser.add_argument("--weights", type=float, nargs="+", default=list(PaperDesign.weights))
    parser.add_argument(
        "--fit-convention", default=PaperDesign.fit_convention, help="authors or package"
    )
    parser.add_argument("--draws", default=PaperDesign.draws, help="independent or nested")
    parser.add_argument("--seed", type=int, default=PaperDesign.seed)
    parser.add_argument("--leverage-file", default=None, help="the authors' df_leverage.csv")
    parser.add_argument("--leverage-twojmax", type=int, default=None)
    parser.add_argument(
        "--drop-descriptors",
        action="store_true",
        help="delete each 2Jmax's descriptor store once its rows are stored",
    )
    parser.add_argument(
        "--descriptor-dtype",
        default="float64",
        help="float64 or float32 (half the disk) for the descriptor stores",
    )
    parser.add_argument(
        "--engine",
        default="scatter",
        choices=_engines(),
        help="scatter: all independent draws from passes over the pool (default); units: "
        "one unit per sampler and repetition",
    )
    parser.add_argument("--no-figures", action="store_true")
    return parser


def main(argv=None) -> PaperRun:
    """The command line (see the module docstring and ``--help``)."""
    args = _parser().parse_args(argv)
    design = PaperDesign(
        twojmax=tuple(args.twojmax),
        sizes=tuple(args.sizes),
        repetitions=args.repetitions,
        weights=tuple(args.weights),
        fit_convention=args.fit_convention,
        draws=args.draws,
        seed=args.seed,
    )
    run = run_paper(
        args.data,
        args.out,
        design,
        executor=executor_spec(args.executor, args.out, args.partition, args.workers),
        leverage_file=args.leverage_file,
        leverage_twojmax=args.leverage_twojmax,
        drop_descriptors=args.drop_descriptors,
        descriptor_dtype=args.descriptor_dtype,
        figures=not args.no_figures,
        progress=print,
        engine=args.engine,
    )
    print(run.summary())
    print(json.dumps({"report": run.report, "computed_rows": run.computed}, default=str))
    return run


def design_dict(design: PaperDesign) -> dict:
    """The design as a JSON-ready dict."""
    return json.loads(json.dumps(asdict(design), default=str))


if __name__ == "__main__":
    main()
