"""Benchmark: a sweep with level pairs and Delta models against the same sweep with single
levels only, side by side.

Both sweeps have the same training levels, subset sizes, weights, sampler and repetitions
(:class:`~pyiron_appmlip.training.sweep.SweepGrid`); the second adds ``level_pairs``,
``delta_pairs`` and ``energy_sizes``. Every model of a level pair or Delta model comes from the
R factors the sweep already keeps per subset (energy rows and force rows apart), so the second
sweep adds small p x p solves and no further pass over the descriptor blocks. The blocks are
served by a source that counts every block it yields: both sweeps must read the same number.

Blocks: ``--blocks synthetic`` (default) random qSNAP-sized blocks (fake descriptors, exactly
linear labels plus level noise: the timing does not depend on the values); ``--blocks shipped``
the real qSNAP blocks (LAMMPS) of the shipped large GPAW dataset at ``--twojmax``.

Usage: python benchmarks/bench_multi_fidelity_sweep.py [--blocks synthetic|shipped]
       [--configs 400] [--p 495] [--repetitions 5] [--twojmax 4]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pyiron_appmlip.datasets.labels import Labels
from pyiron_appmlip.training.sweep import BlockSource, InMemoryBlocks, SweepGrid, run_sweep


class CountingBlocks(BlockSource):
    """A block source that counts the blocks it yields (``reads``) and the passes begun."""

    def __init__(self, blocks):
        self._inner = InMemoryBlocks(blocks)
        self.ids = self._inner.ids
        self.reads = 0
        self.passes = 0

    def iter_blocks(self, ids):
        self.passes += 1
        for block in self._inner.iter_blocks(ids):
            self.reads += 1
            yield block


def synthetic(n_configs: int, p: int, seed: int = 0):
    """Random blocks of 4-16 atoms and four levels of labels (level 5: the truth)."""
    rng = np.random.default_rng(seed)
    beta = rng.normal(size=p)
    blocks, labels = {}, {str(k): ({}, {}, {}) for k in range(1, 6)}
    noise = {"1": 0.2, "2": 0.1, "3": 0.05, "4": 0.02, "5": 0.0}
    seconds = {"1": 1.0, "2": 2.0, "3": 4.0, "4": 10.0, "5": 50.0}
    for m in range(n_configs):
        n = int(rng.integers(4, 17))
        cid = f"c{m:05d}"
        b = rng.normal(size=(1 + 3 * n, p))
        blocks[cid] = b
        for lv, (e, f, t) in labels.items():
            e[cid] = float(b[0] @ beta + noise[lv] * n * rng.normal())
            f[cid] = (b[1:] @ beta).reshape(n, 3) + noise[lv] * rng.normal(size=(n, 3))
            t[cid] = seconds[lv] * n
    return blocks, {lv: Labels(e, f, t) for lv, (e, f, t) in labels.items()}


def shipped(twojmax: int):
    """Real qSNAP blocks (LAMMPS) and labels of the shipped large GPAW dataset."""
    from pyiron_appmlip.descriptors import compute_qsnap_blocks
    from pyiron_appmlip.reproduction.be_dataset import load_be_dataset

    ds = load_be_dataset(campaign="large")
    pool = ds.common_ids(["1", "2", "3", "4"], ds.train_ids)
    test = ds.common_ids(["5"], ds.test_ids)
    ids = pool + test
    blocks = dict(
        zip(ids, compute_qsnap_blocks([ds.structure(i) for i in ids], twojmax), strict=True)
    )
    labels = {lv: ds.labels(lv) for lv in ("1", "2", "3", "4", "5")}
    return blocks, labels, pool, test


def run(blocks, labels, pool, test, grid):
    source = CountingBlocks(blocks)
    t0, c0 = time.perf_counter(), time.process_time()
    rows = run_sweep({4: source}, labels, pool, test, grid, "5")
    return {
        "wall": time.perf_counter() - t0,
        "cpu": time.process_time() - c0,
        "reads": source.reads,
        "passes": source.passes,
        "rows": len(rows),
        "kinds": {
            k: sum(r["model_kind"] == k for r in rows) for k in ("single", "level_pair", "delta")
        },
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", choices=("synthetic", "shipped"), default="synthetic")
    parser.add_argument("--configs", type=int, default=400, help="synthetic configurations")
    parser.add_argument("--p", type=int, default=495, help="synthetic descriptor columns")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--twojmax", type=int, default=4, help="2Jmax of --blocks shipped")
    args = parser.parse_args(argv)

    if args.blocks == "synthetic":
        blocks, labels = synthetic(args.configs, args.p)
        ids = list(blocks)
        test = ids[::4]
        pool = [i for i in ids if i not in set(test)]
    else:
        blocks, labels, pool, test = shipped(args.twojmax)
    p = next(iter(blocks.values())).shape[1]
    n = len(pool)
    sizes = sorted({int(round(f * n)) for f in (0.3, 0.5, 0.7, 0.85)} | {n})
    sizes = [s for s in sizes if s * 4 > p] or [n]
    common = dict(
        train_levels=["1", "2", "3", "4"],
        subset_sizes=sizes,
        weights=[150.0, 12.0],
        samplers=["leverage"],
        repetitions=args.repetitions,
        leverage_weights=(150.0, 1.0),
    )
    single = SweepGrid(**common)
    mixed = SweepGrid(
        **common,
        level_pairs=[("4", "1"), ("4", "2")],
        delta_pairs=[("1", "4"), ("2", "4")],
        energy_sizes=sorted({max(1, int(round(f * n))) for f in (0.1, 0.25, 0.5)}),
    )
    print(
        f"{args.blocks} blocks: pool {n}, test {len(test)}, p = {p}, sizes {sizes}, "
        f"{args.repetitions} repetitions, weights 150 and 12, leverage sampling"
    )
    a = run(blocks, labels, pool, test, single)
    b = run(blocks, labels, pool, test, mixed)
    print(f"{'':>28} {'single levels':>14} {'+ pairs, Delta':>15}")
    for key, label in (
        ("rows", "fits (table rows)"),
        ("reads", "block reads"),
        ("passes", "passes begun"),
        ("cpu", "CPU time (s)"),
        ("wall", "wall time (s)"),
    ):
        fmt = "{:>14.2f} {:>15.2f}" if key in ("cpu", "wall") else "{:>14d} {:>15d}"
        print(f"{label:>28} " + fmt.format(a[key], b[key]))
    print(f"{'models by kind':>28} {a['kinds']} {b['kinds']}")
    extra = b["rows"] - a["rows"]
    print(
        f"CPU ratio {b['cpu'] / a['cpu']:.2f}; {extra} more fits for "
        f"{b['cpu'] - a['cpu']:.2f} s more CPU ({1e3 * (b['cpu'] - a['cpu']) / max(extra, 1):.2f} "
        f"ms each); block reads {'equal' if a['reads'] == b['reads'] else 'DIFFER'}"
    )


if __name__ == "__main__":
    main()
