"""What the paper command (``python -m pyiron_appmlip.reproduction.paper``) costs at full size.

Measured on a sample of stand-in configurations (``reproduction.paper_standin``, 44-54 Be
atoms), per 2Jmax, on one core:

1. descriptor time per configuration (LAMMPS ``compute snap`` into a block store) and the
   store's bytes per configuration in float64 and float32;
2. the float32 rounding's effect on a whole-pool fit: test energy and force RMSE of the authors'
   fit (no constant column, ``lstsq`` cond 1e-13, w_E/w_F 150) from float64 and from
   float32-rounded blocks of the same sample;
3. the core rates of a sweep: accumulating one configuration's rows into the R factor of the
   statistics, and one p x p SVD (the authors' fit solves one per level and weight).

It then prints the full-size extrapolations (19,980 configurations, 9,990 in the pool): disk
per 2Jmax, descriptor core-hours, the sweep time of the default design from the rates
(configurations accumulated x rate + fits x SVD time) and their sum, the whole design's time,
with how each part is derived from the measured numbers; and checks the model against a
measured sweep of a small design on a stand-in (``--check-size``, 2Jmax 4). Extrapolations
are estimates; every number printed under "measured" was measured in this run.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_paper_scale.py            # ~10 min
    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_paper_scale.py --twojmax 4 6 \\
        --sample 20 --check-size 200                                                    # ~2 min
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import warnings

import numpy as np

FULL_CONFIGS = 19980
FULL_POOL = 9990


def _descriptors(structures, t, folder, dtype):
    from pyiron_appmlip.descriptors.compute import compute_to_store
    from pyiron_appmlip.descriptors.settings import QSnapSettings

    path = os.path.join(folder, f"s{t}_{dtype}.h5")
    start = time.perf_counter()
    store = compute_to_store(
        structures,
        QSnapSettings(twojmax=t, elements=("Be",)),
        path,
        executor="serial",
        progress=False,
        dtype=dtype,
    )
    seconds = time.perf_counter() - start
    return store, seconds, os.path.getsize(path)


def _fit_errors(blocks, labels, train, test, n_atoms):
    """Test energy (meV/atom) and force (meV/A) RMSE of the authors' fit at w_E/w_F 150."""
    a, b = [], []
    for i in train:
        n = n_atoms[i]
        w = np.r_[150.0 / n, np.ones(3 * n)]
        a.append(w[:, None] * blocks[i][: 1 + 3 * n])
        b.append(w * np.r_[labels[i][0], labels[i][1].ravel()])
    beta = np.linalg.lstsq(np.vstack(a), np.concatenate(b), rcond=1e-13)[0]
    e = [(blocks[i][0] @ beta - labels[i][0]) / n_atoms[i] for i in test]
    f = np.concatenate(
        [blocks[i][1 : 1 + 3 * n_atoms[i]] @ beta - labels[i][1].ravel() for i in test]
    )
    return 1000 * np.sqrt(np.mean(np.square(e))), 1000 * np.sqrt(np.mean(f**2))


def _rates(p, n_atoms=50, repeats=3):
    """Seconds to accumulate one configuration's rows, and one p x p SVD."""
    from pyiron_appmlip.core import SufficientStatistics

    rng = np.random.default_rng(0)
    block = rng.normal(size=(1 + 3 * n_atoms, p))
    stats = SufficientStatistics(p)
    n = max(20, int(2e9 / (p * p * (1 + 3 * n_atoms))))
    start = time.perf_counter()
    for _ in range(n):
        stats.add(block)
    stats.flush()  # rows are folded into the R factor in chunks
    accumulate = (time.perf_counter() - start) / n
    m = rng.normal(size=(p, p))
    start = time.perf_counter()
    for _ in range(repeats):
        np.linalg.svd(m)
    return accumulate, (time.perf_counter() - start) / repeats


def _design_counts(pool, sizes, reps, levels=6, weights=6, sweep_weights=17, curve_max=3000):
    sizes = [s for s in sizes if s < pool]
    curve = [s for s in sizes if s <= curve_max]
    accumulated = reps * sum(sizes) + 2 * reps * sum(curve) + pool  # front + block, random
    accumulated += 2 * pool  # leverage: two passes
    fits = reps * len(sizes) * levels * weights + 2 * reps * len(curve) + levels * sweep_weights
    return accumulated, fits


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--twojmax", type=int, nargs="+", default=[4, 6, 8, 10])
    parser.add_argument("--sample", type=int, default=60, help="configurations measured")
    parser.add_argument("--check-size", type=int, default=300, help="stand-in of the check")
    parser.add_argument("--repetitions", type=int, default=50)
    args = parser.parse_args(argv)

    tmp = tempfile.mkdtemp(prefix="bench_paper_")
    try:
        _measure(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _measure(args, tmp):
    from pyiron_appmlip.datasets.formats.paper_hdf import read_paper_dataset
    from pyiron_appmlip.executors import available_cores
    from pyiron_appmlip.reproduction.paper import SIZES, PaperDesign, run_paper
    from pyiron_appmlip.reproduction.paper_standin import write_standin
    from pyiron_appmlip.structures.conversion import configuration_id

    data = os.path.join(tmp, "data")
    write_standin(data, n=max(args.sample, args.check_size), seed=11)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = read_paper_dataset(data)
    ids = ds.ids[: args.sample]
    structures = [ds.structure(i) for i in ids]
    n_atoms = {i: len(ds.structure(i)) for i in ids}
    six = ds.level("6")
    labels = {i: (six.energy[six.index(i)], six.forces[six.index(i)]) for i in ids}
    train, test = ids[: len(ids) // 2], ids[len(ids) // 2 :]
    print(
        f"measured on {len(ids)} stand-in configurations, mean {np.mean(list(n_atoms.values())):.1f} atoms, one core"
    )
    print(
        "| 2Jmax | p | s/config | store MB/config f64 | f32 | E RMSE f64 -> f32 (meV/atom) | "
        "F RMSE f64 -> f32 (meV/A) | accumulate s/config | SVD s |"
    )
    measured = {}
    for t in args.twojmax:
        store64, seconds, bytes64 = _descriptors(structures, t, tmp, "float64")
        _, _, bytes32 = _descriptors(structures, t, tmp, "float32")
        keys = [configuration_id(a) for a in structures]  # the store's ids
        b64 = dict(zip(ids, store64.get_blocks(keys), strict=True))
        b32 = {i: b.astype(np.float32).astype(np.float64) for i, b in b64.items()}
        e64, f64 = _fit_errors(b64, labels, train, test, n_atoms)
        e32, f32 = _fit_errors(b32, labels, train, test, n_atoms)
        p = store64.n_columns
        acc, svd = _rates(p, repeats=3 if p < 2000 else 1)  # one SVD at 2Jmax 10: minutes
        measured[t] = {
            "p": p,
            "seconds": seconds / len(ids),
            "mb64": bytes64 / len(ids) / 1e6,
            "mb32": bytes32 / len(ids) / 1e6,
            "acc": acc,
            "svd": svd,
        }
        m = measured[t]
        print(
            f"| {t} | {p} | {m['seconds']:.3f} | {m['mb64']:.3f} | {m['mb32']:.3f} | "
            f"{e64:.3f} -> {e32:.3f} | {f64:.2f} -> {f32:.2f} | {acc:.2e} | {svd:.2e} |",
            flush=True,
        )
    accumulated, fits = _design_counts(FULL_POOL, SIZES, args.repetitions)
    print(
        f"\nestimated at full size ({FULL_CONFIGS} configurations, pool {FULL_POOL}, "
        f"{args.repetitions} repetitions: {accumulated:,} configurations accumulated, "
        f"{fits:,} fits per 2Jmax):"
    )
    print(
        "(sweep: configurations accumulated x the accumulation rate + fits x one p x p SVD; "
        "the SVD is an upper bound of a fit's solve, which is a back substitution where the "
        "R factor is proven of full rank)"
    )
    print(
        "| 2Jmax | disk f64 GB | disk f32 GB | descriptors core-h | sweep core-h | "
        "whole design core-h |"
    )
    for t, m in measured.items():
        m["sweep_h"] = (accumulated * m["acc"] + fits * m["svd"]) / 3600
        m["descriptors_h"] = m["seconds"] * FULL_CONFIGS / 3600
        print(
            f"| {t} | {m['mb64'] * FULL_CONFIGS / 1e3:.1f} | {m['mb32'] * FULL_CONFIGS / 1e3:.1f} "
            f"| {m['descriptors_h']:.1f} | {m['sweep_h']:.1f} | "
            f"{m['descriptors_h'] + m['sweep_h']:.1f} |"
        )
    cores = available_cores()
    for t, m in measured.items():
        total = m["descriptors_h"] + m["sweep_h"]
        print(
            f"2Jmax {t}, the whole design (an estimate): descriptors {m['seconds']:.3g} s per "
            f"configuration (measured) x {FULL_CONFIGS:,} = {m['descriptors_h']:.3g} core-h, plus "
            f"fits {accumulated:,} configurations accumulated x {m['acc']:.3g} s (measured) + "
            f"{fits:,} fits x {m['svd']:.3g} s per p x p SVD (measured, p = {m['p']}) = "
            f"{m['sweep_h']:.3g} core-h; total {total:.3g} core-h ({total / cores:.3g} h of "
            f"wall time on this machine's {cores} cores if both parts spread perfectly)"
        )

    # the model against a measured sweep on a small stand-in (2Jmax 4)
    t = 4
    if t in measured:
        design = PaperDesign(twojmax=(t,), sizes=(20, 50, 100), repetitions=2)
        out = os.path.join(tmp, "check")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run_paper(data, out, design, executor="serial", figures=False)  # descriptors
            for folder in os.listdir(os.path.join(out, "rows")):
                for name in os.listdir(os.path.join(out, "rows", folder)):
                    if name.startswith("unit-"):
                        os.remove(os.path.join(out, "rows", folder, name))
            start = time.perf_counter()
            run = run_paper(data, out, design, executor="serial", figures=False)
            seconds = time.perf_counter() - start
        acc_n, fit_n = _design_counts(run.pool, design.sizes, design.repetitions)
        model = acc_n * measured[t]["acc"] + fit_n * measured[t]["svd"]
        print(
            f"\ncheck, 2Jmax {t}, pool {run.pool}, sizes {list(design.sizes)}, "
            f"{design.repetitions} repetitions: measured sweep {seconds:.1f} s (descriptors "
            f"reused), model {model:.1f} s ({len(run.rows)} rows; the measured time includes "
            "reading the data, the test errors and writing the rows, which the model leaves out)"
        )


if __name__ == "__main__":
    main()
