"""The paper's independent-draw design at full size: one pass over the pool for all subsets
(``core.subset_scatter``) against the per-subset route of the paper command's sweep units.

Synthetic blocks of the paper's shapes (50 atoms, 151 rows, p = 495 at 2Jmax 6 or p = 1,595 at
2Jmax 8, six label levels; random numbers, generated from the configuration's index on the fly,
never stored), a pool of 9,990 training and 9,990 test configurations, and the design:

- 12 subset sizes (100 ... 9,990) x 50 repetitions, each drawn afresh without replacement with
  probability proportional to a random stand-in for the leverage; fitted at 6 levels x 6
  weights, test errors at level 6;
- the sampler comparison: 3 samplers x 50 repetitions, one draw of 3,000 each, its 9 prefixes
  of sizes <= 3,000, fitted at level 6 and w_E/w_F 150.

Parts, each in its own process (peak RSS = that process's maximum resident set):

1. ``test``: the test set's statistics (one pass, streamed R factors).
2. ``scatter``: the whole design by ``scatter_subset_statistics`` and one
   ``statistics_fits`` per subset (the test statistics are built in the same process).
3. ``units``: the per-subset route (``core.shared_subset_fits``, as ``IndependentUnit`` runs
   it, one repetition of the 12 sizes per unit) on ``--unit-repetitions`` repetitions of the
   sizes <= ``--unit-max-size``, and the scatter route on the same subsets: the measured ratio.

Every time printed is measured in this run; full-size numbers for a fraction are extrapolated
linearly (stated as such). One BLAS thread unless OPENBLAS_NUM_THREADS says otherwise.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_paper_pooled.py        # 2Jmax 6
    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_paper_pooled.py --twojmax 8 \\
        --fraction 0.1                                # one tenth of the subsets at 2Jmax 8
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

POOL = 9990
TEST = 9990
args_test = [TEST]
ATOMS = 50
LEVELS = (1, 2, 3, 4, 5, 6)
SIZES = (100, 200, 350, 500, 750, 1000, 1500, 2250, 3000, 5000, 7500, 9990)
WEIGHTS = [(w, 1.0) for w in (5.0, 10.0, 12.25, 50.0, 150.0, 300.0)]
P_OF = {4: 119, 6: 495, 8: 1595}


def item(index: int, p: int, offset: int = 0):
    """``(block, labels)`` of synthetic configuration ``index`` (the same every call)."""
    rng = np.random.default_rng(offset + index)
    block = rng.normal(size=(1 + 3 * ATOMS, p))
    beta = np.random.default_rng(12345).normal(size=p) / np.sqrt(p)
    base_e = block[0] @ beta
    base_f = (block[1:] @ beta).reshape(ATOMS, 3)
    noise = rng.normal(size=(len(LEVELS), 1 + 3 * ATOMS))
    labels = {
        lv: (base_e + noise[j, 0] / lv, base_f + noise[j, 1:].reshape(ATOMS, 3) * 0.1 / lv)
        for j, lv in enumerate(LEVELS)
    }
    return block, labels


def design(repetitions: int, seed: int = 0):
    """``(main subsets [(size, rep, indices)], sampler subsets [(sampler, rep, size, idx)])``."""
    rng = np.random.default_rng(seed)
    score = rng.random(POOL) + 0.05  # stand-in for leverage
    prob = score / score.sum()
    main = []
    for rep in range(repetitions):
        for size in SIZES:
            idx = np.arange(POOL) if size >= POOL else rng.choice(POOL, size, False, p=prob)
            main.append((size, rep, idx))
    curve = [s for s in SIZES if s <= 3000]
    samplers = []
    for sampler in ("leverage", "block_leverage", "random"):
        for rep in range(repetitions):
            weights = prob if sampler != "random" else None
            order = rng.choice(POOL, max(curve), False, p=weights)
            samplers += [(sampler, rep, size, order[:size]) for size in curve]
    return main, samplers


def test_statistics(p: int):
    from pyiron_appmlip.core import SufficientStatistics

    stats = SufficientStatistics(p, LEVELS)
    for i in range(args_test[0]):
        block, labels = item(i, p, offset=10**7)
        stats.add(block, labels, partition="test")
    stats.release_buffers()
    return stats


def scatter_route(p, main, samplers, test, memory_limit):
    from pyiron_appmlip.core import scatter_subset_statistics
    from pyiron_appmlip.core.fit import statistics_fits

    subsets = [s[2] for s in main] + [s[3] for s in samplers]
    n_main = len(main)

    def configurations():
        return ((i, *item(i, p)) for i in range(POOL))

    n_fits = 0
    routes = {"gram": 0, "qr": 0}
    for info in scatter_subset_statistics(
        configurations,
        subsets,
        LEVELS,
        n_descriptors=p,
        n_pool=POOL,
        memory_limit=memory_limit,
    ):
        routes[info.route] += 1
        if info.index < n_main:
            fits = statistics_fits(
                info.statistics, WEIGHTS, LEVELS, test_statistics=test, test_levels=[6]
            )
        else:
            fits = statistics_fits(
                info.statistics, [(150.0, 1.0)], [6], test_statistics=test, test_levels=[6]
            )
        n_fits += len(fits)
    return n_fits, routes


def units_route(p, main, test):
    from pyiron_appmlip.core import shared_subset_fits, statistics_budget

    def read(indices):
        return [item(int(i), p) for i in indices]

    by_rep: dict[int, list] = {}
    for size, rep, idx in main:
        by_rep.setdefault(rep, []).append((size, idx))
    n_fits = 0
    for entries in by_rep.values():
        records = shared_subset_fits(
            [idx for _, idx in entries],
            [[size] for size, _ in entries],
            read,
            WEIGHTS,
            LEVELS,
            n_pool=POOL,
            max_statistics=statistics_budget(p, len(LEVELS)),
            test_statistics=test,
            test_levels=[6],
        )
        n_fits += sum(len(r) for r in records)
    return n_fits


def generation_seconds(p: int, n: int = 100) -> tuple[float, float]:
    """Seconds per configuration to generate a block, and to generate it and form its Gram
    (what every pass of the scatter route costs per pool configuration)."""
    from scipy.linalg import blas

    start = time.perf_counter()
    for i in range(n):
        item(i, p)
    generate = (time.perf_counter() - start) / n
    start = time.perf_counter()
    for i in range(n):
        block, labels = item(i, p)
        z = np.column_stack([block[1:]] + [labels[lv][1].reshape(-1) for lv in LEVELS])
        blas.dsyrk(1.0, z, trans=1, lower=0)
    return generate, (time.perf_counter() - start) / n


def passes(p: int, n_subsets: int, memory_limit: float) -> int:
    m = p + len(LEVELS)
    row = 8 * (m * (m + 1) // 2)
    buffer = max(1, min(256, int(memory_limit // 4 // row)))
    per_pass = int((memory_limit - buffer * row) // row)
    return -(-n_subsets // per_pass)


def part(args):
    """One measurement in this process; prints one JSON line."""
    p = P_OF[args.twojmax]
    args_test[0] = args.test
    out = {"p": p, "test": args.test}
    main, samplers = design(args.repetitions)
    if args.fraction < 1.0:  # every k-th subset of each list
        step = int(round(1.0 / args.fraction))
        main, samplers = main[::step], samplers[::step]
    start = time.perf_counter()
    test = test_statistics(p)
    out["test_seconds"] = time.perf_counter() - start
    if args.part == "scatter":
        start = time.perf_counter()
        out["fits"], out["routes"] = scatter_route(p, main, samplers, test, args.memory_limit)
        out["seconds"] = time.perf_counter() - start
        out["subsets"] = len(main) + len(samplers)
        out["accumulated"] = int(sum(s[2].size for s in main) + sum(s[3].size for s in samplers))
    elif args.part == "units":
        main = [s for s in main if s[0] <= args.unit_max_size and s[1] < args.unit_repetitions]
        start = time.perf_counter()
        out["fits"] = units_route(p, main, test)
        out["seconds"] = time.perf_counter() - start
        start = time.perf_counter()
        out["scatter_fits"], _ = scatter_route(p, main, [], test, args.memory_limit)
        out["scatter_seconds"] = time.perf_counter() - start
        out["subsets"] = len(main)
        out["accumulated"] = int(sum(s[2].size for s in main))
    out["generation_seconds_per_config"], out["pass_seconds_per_config"] = generation_seconds(p)
    out["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print("RESULT " + json.dumps(out), flush=True)


def run_part(args, name, extra=()):
    cmd = [sys.executable, __file__, "--part", name, "--twojmax", str(args.twojmax)]
    cmd += ["--repetitions", str(args.repetitions), "--fraction", str(args.fraction)]
    cmd += ["--memory-limit", str(args.memory_limit)]
    cmd += ["--unit-max-size", str(args.unit_max_size)]
    cmd += ["--unit-repetitions", str(args.unit_repetitions), "--test", str(args.test), *extra]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    line = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--twojmax", type=int, default=6, choices=sorted(P_OF))
    parser.add_argument("--repetitions", type=int, default=50)
    parser.add_argument("--fraction", type=float, default=1.0, help="of the design's subsets")
    parser.add_argument("--memory-limit", type=float, default=3 * 2**30, help="bytes")
    parser.add_argument("--unit-max-size", type=int, default=1000)
    parser.add_argument("--test", type=int, default=TEST, help="test configurations")
    parser.add_argument("--unit-repetitions", type=int, default=1)
    parser.add_argument("--part", choices=("scatter", "units", "all"), default="all")
    parser.add_argument("--skip-units", action="store_true")
    args = parser.parse_args(argv)
    if args.part != "all":
        part(args)
        return
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    print(f"2Jmax {args.twojmax}, p {P_OF[args.twojmax]}, OPENBLAS_NUM_THREADS={threads}")
    s = run_part(args, "scatter")
    scale = 1.0 / args.fraction
    print(
        f"scatter, {s['subsets']} subsets ({args.fraction:g} of the design), "
        f"{s['accumulated']:,} configurations drawn, {s['fits']:,} fits: "
        f"{s['seconds']:.0f} s (routes {s['routes']}); test statistics {s['test_seconds']:.0f} s; "
        f"peak RSS {s['peak_rss_gib']:.2f} GiB; block generation "
        f"{1e3 * s['generation_seconds_per_config']:.2f} ms/configuration (included)"
    )
    if args.fraction < 1.0:
        # per pass every pool configuration is generated and its Gram formed once more
        n_full = round(s["subsets"] * scale)
        k_run, k_full = (passes(s["p"], n, args.memory_limit) for n in (s["subsets"], n_full))
        fixed = POOL * s["pass_seconds_per_config"]
        full = k_full * fixed + (s["seconds"] - k_run * fixed) * scale
        print(
            f"  whole design ({n_full} subsets, {k_full} passes at this memory limit; "
            f"{fixed:.0f} s per pass to generate the blocks and form their Grams, measured): "
            f"{full / 60:.0f} min, extrapolated ({k_run} pass(es) measured, the rest "
            "scaled by the fraction of subsets)"
        )
    if args.skip_units:
        return
    u = run_part(args, "units")
    print(
        f"same subsets ({u['subsets']}: {args.unit_repetitions} repetition(s), sizes <= "
        f"{args.unit_max_size}, {u['accumulated']:,} configurations drawn, {u['fits']} fits): "
        f"units {u['seconds']:.1f} s, scatter {u['scatter_seconds']:.1f} s, ratio "
        f"{u['seconds'] / u['scatter_seconds']:.1f}"
    )
    per_config = u["seconds"] / u["accumulated"]
    full = per_config * s["accumulated"] * scale
    print(
        f"units route at the scatter run's design, extrapolated by configurations drawn "
        f"({1e3 * per_config:.2f} ms each, fits included): {full / 60:.0f} min; measured "
        f"speed-up {full / (s['seconds'] * scale):.1f}x"
    )


if __name__ == "__main__":
    main()
