"""Benchmark: the paper's training sweep, streamed core vs. the naive method, in one run.

Design (paper sec. 3): 6 DFT levels x 11 subset sizes x 6 energy/force weights x repetitions x
3 samplers (regular leverage, block leverage, random), trained on half of the configurations
and tested on the other half against every level.

- streamed: ``pyiron_appmlip.core``: one pass per sampling order with R-factor snapshots at
  the 11 sizes; per snapshot one shared decomposition gives all weights and all 6 levels
  (``subset_fits`` -> ``fit_statistics_weights``); errors of all fits from one matrix product
  per factor. Leverage: the pool's R factors, one decomposition for all leverage weights and
  one scoring pass (``SharedLeverageProjector``). The 100 % subset of every order is the whole
  pool: its fits come once from the pool statistics (``statistics_fits``), so each pass stops
  at 90 %.
- naive (as the paper's scripts): for every fit build the full weighted matrix of the subset
  and call ``scipy.linalg.lstsq``; errors from the data; leverage from ``numpy.linalg.svd``
  of the full weighted pool matrix. Same column scaling and rcond, so the answers must agree.
  A full naive run takes hours to weeks, so a stratified sample of fits is timed and the
  per-size mean cost is extrapolated to the design.

``--stream`` (default at 2Jmax >= 10, where 2,000 blocks would take 10 GB) regenerates the
configurations from their seeds in every pass instead of keeping them; the generation time is
reported apart and left out of the ratio. The naive side then times fits only at the sizes
whose dense matrix fits in ``--naive-max-gib`` and extrapolates the per-fit cost linearly in
the number of rows (least squares over the timed sizes; dense ``gelsd`` costs ~ m p^2 + p^3),
and its test errors are read from the test statistics (the direct evaluation over the test
set is timed once and added per fit).

Synthetic qSNAP-like blocks: per-atom radial descriptors B_k (scales 0.1 .. 1e3, B_0 nearly
constant like B_000) in random periodic cells, quadratic products B_k B_l (B_k^2 / 2 on the
diagonal) -> p = K + K (K + 1) / 2 (495 at 2Jmax = 6), analytic force rows, a non-linear
"true" energy and level-dependent energy bias / noise and force noise (paper Table 3 sizes).

Usage: python benchmarks/bench_core_sweep.py [--small] [--configs 2000] [--atoms 50]
       [--twojmax 6] [--repetitions 2] [--naive-fits-per-size 3] [--leverage-ratio R]
       [--stream]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import scipy.linalg

from pyiron_appmlip.core import (
    DEFAULT_RCOND,
    SharedLeverageProjector,
    SufficientStatistics,
    direct_errors,
    plan_statistics,
    plan_subsets,
    sampling_order,
    shared_subset_fits,
    statistics_budget,
    statistics_errors,
    statistics_fits,
)

K_OF_TWOJMAX = {4: 14, 6: 30, 8: 55, 10: 91}
LEVELS = (1, 2, 3, 4, 5, 6)
RATIOS = (5.0, 10.0, 12.25, 50.0, 150.0, 300.0)  # w_E / w_F, paper Fig. 7
SAMPLERS = ("leverage", "block_leverage", "random")
# (energy bias eV/atom, energy noise eV/atom, force noise eV/Angstrom) relative to level 6
LEVEL_ERRORS = {
    1: (0.45, 0.22, 0.42),
    2: (0.045, 0.047, 0.16),
    3: (0.003, 0.015, 0.078),
    4: (0.0015, 0.0054, 0.051),
    5: (0.0002, 0.0005, 0.010),
    6: (0.0, 0.0, 0.0),
}


def level_labels(energy: float, forces: np.ndarray, rng) -> dict:
    """{level: (energy, forces)}: the "true" (level 6) labels plus the errors of
    :data:`LEVEL_ERRORS` (a per-configuration bias shape, energy and force noise)."""
    n = len(forces)
    labels = {}
    shape = rng.standard_normal()
    for lv in LEVELS:
        bias, e_noise, f_noise = LEVEL_ERRORS[lv]
        e = energy + n * (bias * (1 + 0.3 * shape) + e_noise * rng.standard_normal())
        labels[lv] = (e, forces + f_noise * rng.standard_normal((n, 3)))
    return labels


class SyntheticQSNAP:
    """Deterministic generator: configuration i is rebuilt identically from (seed, i)."""

    def __init__(self, twojmax: int = 6, n_atoms: int = 50, seed: int = 0):
        self.k = K_OF_TWOJMAX[twojmax]
        self.n_atoms = n_atoms
        self.seed = seed
        self.p = self.k + self.k * (self.k + 1) // 2
        rng = np.random.default_rng([seed, 10**9])
        self.scales = np.logspace(-1, 3, self.k)
        self.scales[0] = 1.0
        self.length0 = (n_atoms / 0.123) ** (1 / 3)  # hcp Be density, atoms / Angstrom^3
        self.rc = min(4.2, 0.49 * 0.9 * self.length0)
        self.mu = np.linspace(1.5, 0.95 * self.rc, self.k)
        self.eta = rng.uniform(10.0, 40.0, self.k)
        self.a = rng.standard_normal(self.k) * 0.05
        c = rng.standard_normal((self.k, self.k)) * 0.002
        self.c = c + c.T
        self.b = rng.standard_normal(self.k) * 0.7
        self.amp = 0.15
        self.iu = np.triu_indices(self.k)

    def configuration(self, index: int):
        """Return (block (1 + 3N, p), {level: (energy eV, forces (N, 3))})."""
        rng = np.random.default_rng([self.seed, index])
        n = self.n_atoms
        side = int(np.ceil(n ** (1 / 3)))
        length = self.length0 * rng.uniform(0.9, 1.15)
        grid = np.stack(np.meshgrid(*[np.arange(side)] * 3, indexing="ij"), -1).reshape(-1, 3)
        pos = (grid[rng.permutation(len(grid))[:n]] + 0.5) * (length / side)
        pos += rng.normal(0.0, rng.uniform(0.1, 0.45), (n, 3))
        rc = self.rc
        d = pos[None, :, :] - pos[:, None, :]  # r_j - r_i
        d -= length * np.round(d / length)
        r = np.linalg.norm(d, axis=-1)
        ii, jj = np.nonzero((r < rc) & (r > 0))
        rij = np.maximum(r[ii, jj], 0.8)
        u = d[ii, jj] / rij[:, None]
        fc = 0.5 * (np.cos(np.pi * rij / rc) + 1.0)
        dfc = -0.5 * np.pi / rc * np.sin(np.pi * rij / rc)
        x = rij[:, None] - self.mu
        gauss = np.exp(-self.eta * x**2)
        g = gauss * fc[:, None]
        dg = gauss * (-2 * self.eta * x) * fc[:, None] + gauss * dfc[:, None]
        g[:, 0] = 0.01 * fc  # B_0: 1 + a small smooth term, nearly constant
        dg[:, 0] = 0.01 * dfc
        b = np.zeros((n, self.k))
        np.add.at(b, ii, g * self.scales)
        b[:, 0] += 1.0
        # dd[i, j, k, c] = d B_ik / d x_jc
        term = (dg * self.scales)[:, :, None] * u[:, None, :]
        dd = np.zeros((n, n, self.k, 3))
        np.add.at(dd, (ii, jj), term)
        np.add.at(dd, (ii, ii), -term)
        # linear part
        energy_lin = b.sum(axis=0)
        force_lin = -dd.sum(axis=0).transpose(0, 2, 1).reshape(3 * n, self.k)
        # quadratic part: T[j, c, k, l] = sum_i dB_ik/dx_jc B_il
        t = (dd.transpose(1, 3, 2, 0).reshape(-1, n) @ b).reshape(n, 3, self.k, self.k)
        dq = t + t.transpose(0, 1, 3, 2)
        k_idx, l_idx = self.iu
        diag = k_idx == l_idx
        force_quad = -dq[:, :, k_idx, l_idx]
        force_quad[:, :, diag] *= 0.5
        gram = b.T @ b
        energy_quad = gram[k_idx, l_idx]
        energy_quad[diag] *= 0.5
        block = np.empty((1 + 3 * n, self.p))
        block[0, : self.k] = energy_lin
        block[0, self.k :] = energy_quad
        block[1:, : self.k] = force_lin
        block[1:, self.k :] = force_quad.reshape(3 * n, -1)
        # "true" (level 6) energy: non-linear in the normalised descriptors z = B / s
        z = b / self.scales
        e_atom = -3.0 + z @ self.a + 0.5 * np.einsum("ik,kl,il->i", z, self.c, z)
        e_atom += self.amp * np.sin(z @ self.b)
        de_dz = self.a + z @ self.c + self.amp * np.cos(z @ self.b)[:, None] * self.b
        forces = -np.einsum("ik,ijkc->jc", de_dz / self.scales, dd)
        return block, level_labels(float(e_atom.sum()), forces, rng)


class LammpsQSNAP:
    """Real qSNAP blocks from LAMMPS ``compute snap`` (the package's descriptors) of Be cells,
    labelled with a Morse pair potential (ASE) as the "true" level 6 plus the level errors of
    :data:`LEVEL_ERRORS`; configuration i is rebuilt identically from (seed, i).

    Half the cells are strained, rattled hcp supercells with vacancies (54 sites), half random
    sequential packings at the density of hcp Be, both with ``n_atoms`` atoms no closer than
    1.7 (hcp) or 1.6 (packings) Angstrom. All blocks are computed at once (:meth:`prepare`), in memory: 2,000 x 50 atoms
    take 1.2 GB at 2Jmax 6, 3.9 GB at 2Jmax 8 and 10.3 GB at 2Jmax 10 (LAMMPS: ~0.24 s per cell
    at 2Jmax 10).
    """

    def __init__(self, twojmax: int = 6, n_atoms: int = 50, seed: int = 0):
        from pyiron_appmlip.descriptors.settings import n_bispectrum

        self.twojmax = twojmax
        self.n_atoms = n_atoms
        self.seed = seed
        k = n_bispectrum(twojmax)
        self.p = k + k * (k + 1) // 2  # the block's columns: linear and quadratic
        self.cache = {}

    def structure(self, index: int):
        from ase import Atoms
        from ase.build import bulk

        rng = np.random.default_rng([self.seed, index, 7])
        n = self.n_atoms
        if index % 2 == 0:
            atoms = bulk("Be", "hcp", a=2.29, c=3.58).repeat((3, 3, 3))  # 54 sites
            del atoms[list(rng.choice(len(atoms), len(atoms) - n, replace=False))]
            strain = np.eye(3) + rng.uniform(-0.04, 0.04, (3, 3))
            atoms.set_cell(atoms.cell @ (0.5 * (strain + strain.T)), scale_atoms=True)
            for _ in range(100):
                trial = atoms.positions + rng.normal(0.0, rng.uniform(0.03, 0.15), (n, 3))
                probe = atoms.copy()
                probe.positions = trial
                if n < 2 or probe.get_all_distances(mic=True)[np.triu_indices(n, 1)].min() > 1.7:
                    atoms.positions = trial
                    break
            return atoms
        length = (n / 0.123) ** (1 / 3) * rng.uniform(0.97, 1.08)
        cell = np.diag([length] * 3)
        positions = []
        while len(positions) < n:
            x = rng.uniform(0.0, length, 3)
            d = np.array(positions) - x if positions else np.zeros((0, 3))
            d -= length * np.round(d / length)
            if not len(d) or np.min(np.linalg.norm(d, axis=1)) > 1.6:
                positions.append(x)
        return Atoms("Be" * n, positions=positions, cell=cell, pbc=True)

    def prepare(self, indices):
        """Compute the blocks (LAMMPS) and labels (Morse) of ``indices`` not computed yet."""
        from ase.calculators.morse import MorsePotential

        from pyiron_appmlip.descriptors import compute_qsnap_blocks

        todo = [int(i) for i in indices if int(i) not in self.cache]
        if not todo:
            return
        structures = [self.structure(i) for i in todo]
        blocks = compute_qsnap_blocks(structures, self.twojmax)
        calc = MorsePotential(epsilon=0.35, r0=2.0, rho0=4.0, rcut1=4.0, rcut2=4.8)
        for i, atoms, block in zip(todo, structures, blocks, strict=True):
            atoms.calc = calc
            energy = float(atoms.get_potential_energy())
            forces = atoms.get_forces().copy()
            labels = level_labels(energy, forces, np.random.default_rng([self.seed, i, 8]))
            self.cache[i] = (np.ascontiguousarray(block), labels)

    def configuration(self, index: int):
        """Return (block (1 + 3N, p), {level: (energy eV, forces (N, 3))})."""
        self.prepare([index])
        return self.cache[int(index)]


def weighted_matrix(blocks, energies, forces, w_e, w_f):
    """Explicit W [c | X] and W y of eq. 2-3."""
    rows = sum(b.shape[0] for b in blocks)
    a = np.empty((rows, blocks[0].shape[1] + 1))
    y = np.empty(rows) if energies is not None else None
    r = 0
    for m, b in enumerate(blocks):
        n = (b.shape[0] - 1) // 3
        a[r, 0] = w_e
        a[r, 1:] = b[0] * (w_e / n)
        a[r + 1 : r + b.shape[0], 0] = 0.0
        a[r + 1 : r + b.shape[0], 1:] = b[1:] * w_f
        if y is not None:
            y[r] = energies[m] * (w_e / n)
            y[r + 1 : r + b.shape[0]] = forces[m].ravel() * w_f
        r += b.shape[0]
    return a, y


def naive_fit(blocks, energies, forces, w_e, w_f, rcond=DEFAULT_RCOND):
    a, y = weighted_matrix(blocks, energies, forces, w_e, w_f)
    norms = np.linalg.norm(a, axis=0)
    c = 1.0 / np.where(norms > 0, norms, 1.0)
    a *= c
    z = scipy.linalg.lstsq(a, y, cond=rcond, check_finite=False)[0]
    return c * z


def naive_leverage(blocks, w_e, w_f):
    a, _ = weighted_matrix(blocks, None, None, w_e, w_f)
    a /= np.linalg.norm(a, axis=0)
    u, s, _ = np.linalg.svd(a, full_matrices=False)
    h = np.sum(u[:, s > DEFAULT_RCOND * s[0]] ** 2, axis=1)
    starts = np.cumsum([0] + [b.shape[0] for b in blocks[:-1]])
    return h[starts], np.add.reduceat(h, starts)


class Pool:
    """Configurations by index: kept in memory, or regenerated from their seed (``stream``)."""

    def __init__(self, gen: SyntheticQSNAP, n: int, stream: bool):
        self.gen = gen
        self.stream = stream
        self.t_gen = 0.0
        self.data = None if stream else [self._make(i) for i in range(n)]

    def _make(self, i):
        t0 = time.perf_counter()
        out = self.gen.configuration(i)
        self.t_gen += time.perf_counter() - t0
        return out

    def get(self, i):
        return self._make(i) if self.stream else self.data[i]

    def iterate(self, indices):
        for i in indices:
            yield self.get(int(i))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--small", action="store_true", help="quick run: 200 x 20 atoms, 2Jmax 4")
    ap.add_argument("--configs", type=int, default=2000)
    ap.add_argument("--atoms", type=int, default=50)
    ap.add_argument("--twojmax", type=int, default=6, choices=sorted(K_OF_TWOJMAX))
    ap.add_argument("--repetitions", type=int, default=2)
    ap.add_argument("--naive-fits-per-size", type=int, default=3)
    ap.add_argument("--naive-leverage-weights", type=int, default=2, help="weights timed naively")
    ap.add_argument(
        "--naive-max-gib",
        type=float,
        default=4.0,
        help="largest dense weighted matrix the naive side builds (GiB); larger sizes are "
        "extrapolated from the timed ones",
    )
    ap.add_argument(
        "--leverage-ratio",
        type=float,
        default=None,
        help="compute leverage once at w_E/w_F = this ratio and share the sampling orders "
        "across all fit weights (default: leverage of each fit's own weighted matrix)",
    )
    ap.add_argument(
        "--stream",
        action="store_true",
        default=None,
        help="regenerate configurations in every pass (default for synthetic blocks at 2Jmax "
        ">= 10; not with --blocks lammps)",
    )
    ap.add_argument(
        "--factorization",
        choices=("auto", "shared", "per_weight"),
        default="auto",
        help="subset_fits' factorization: auto (results of one solve per weight, shared "
        "decomposition where it proves full rank), shared (truncation at one reference weight "
        "for all weights), per_weight (one QR + SVD per size and weight)",
    )
    ap.add_argument(
        "--blocks",
        choices=("synthetic", "lammps"),
        default="synthetic",
        help="synthetic qSNAP-like blocks (default), or real qSNAP blocks from LAMMPS of Be "
        "cells labelled with a Morse potential (in memory: 10 GB at 2Jmax 10)",
    )
    ap.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="print the N functions of the streamed side with the most own time (cProfile)",
    )
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.small:
        args.configs, args.atoms, args.twojmax, args.repetitions = 200, 20, 4, 1
    if args.blocks == "lammps" and args.stream:
        ap.error("--blocks lammps keeps the blocks in memory: not with --stream")
    default_stream = args.twojmax >= 10 and args.blocks == "synthetic"
    stream = default_stream if args.stream is None else args.stream

    if args.blocks == "lammps":
        gen = LammpsQSNAP(args.twojmax, args.atoms, args.seed)
        t0 = time.perf_counter()
        gen.prepare(range(args.configs))
        print(f"LAMMPS qSNAP blocks and Morse labels: {time.perf_counter() - t0:.1f} s")
    else:
        gen = SyntheticQSNAP(args.twojmax, args.atoms, args.seed)
    pool = Pool(gen, args.configs, stream)
    n_train = args.configs // 2
    train_idx = np.arange(n_train)
    test_idx = np.arange(n_train, args.configs)
    sizes = [max(1, n_train // 100)] + [n_train * i // 10 for i in range(1, 11)]
    weights = [(r, 1.0) for r in RATIOS]
    p = gen.p
    n_fits_design = len(LEVELS) * len(sizes) * len(weights) * args.repetitions * len(SAMPLERS)
    print(
        f"pool: {args.configs} configurations x {args.atoms} atoms, 2Jmax={args.twojmax}, "
        f"{args.blocks} blocks, "
        f"p={p} (+1 constant); train {n_train}, test {args.configs - n_train}; "
        + ("regenerated in every pass" if stream else f"generated in {pool.t_gen:.1f} s"),
        flush=True,
    )
    print(
        f"factorization: {args.factorization}; OPENBLAS_NUM_THREADS="
        f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}"
    )
    print(
        f"design: {len(LEVELS)} levels x {len(sizes)} sizes {sizes} x {len(weights)} weights x "
        f"{args.repetitions} repetitions x {len(SAMPLERS)} samplers = {n_fits_design} fits",
        flush=True,
    )

    # ---------------------------------------------------------------- streamed
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    gen_before = pool.t_gen
    t_start = time.perf_counter()
    test_stats = SufficientStatistics(p, LEVELS)
    for b, lab in pool.iterate(test_idx):
        test_stats.add(b, lab, partition="test")
    t_stats = time.perf_counter() - t_start
    print(f"  test statistics: {t_stats:.1f} s", flush=True)

    def read(indices):
        return pool.iterate(indices)

    fit_options = dict(test_statistics=test_stats, factorization=args.factorization)
    records = {}  # (sampler, rep, w, size, level) -> SubsetFit
    orders = {}
    below = sizes[:-1] if sizes[-1] == n_train else sizes
    # the random orders need no leverage: they come first, with the whole pool (the largest
    # size of every order, the same fits for all) built from one of their 90 % subsets; its
    # statistics then give the leverage
    t0 = time.perf_counter()
    random_orders = []
    for rep in range(args.repetitions):
        seed = [args.seed, SAMPLERS.index("random"), rep]
        random_orders.append(sampling_order("random", n_train, seed=seed))
        for w in weights:
            orders[("random", rep, w)] = random_orders[-1]
    budget = statistics_budget(p, len(LEVELS))  # accumulators alive at once, in 2 GiB
    plan_a = plan_subsets(
        random_orders + [train_idx],
        [below] * len(random_orders) + [[n_train]],
        n_train,
        max_statistics=budget,
    )
    whole = {}
    pool_stats = None
    for targets, stats in plan_statistics(plan_a, read, LEVELS, n_descriptors=p):
        recs = statistics_fits(stats, weights, LEVELS, **fit_options)
        for k, _ in targets:
            for rec in recs:
                w = (rec.energy_weight, rec.force_weight)
                if k == len(random_orders):
                    whole[(w, rec.level)] = rec
                else:
                    records[("random", k, w, rec.subset_size, rec.level)] = rec
        if any(k == len(random_orders) for k, _ in targets):
            pool_stats = stats
    t_random = time.perf_counter() - t0
    print(
        f"  random orders and the whole pool: {t_random:.1f} s ({plan_a.reads} configurations "
        f"read, {plan_a.separate_reads} with one pass each)",
        flush=True,
    )
    t0 = time.perf_counter()
    lev_weights = weights if args.leverage_ratio is None else [(args.leverage_ratio, 1.0)]
    projector = SharedLeverageProjector(
        pool_stats,
        lev_weights,
        factorization="shared" if args.factorization == "shared" else "auto",
    )
    leverage = projector.scores(b for b, _ in pool.iterate(train_idx))
    t_lev = time.perf_counter() - t0
    print(
        f"  leverage for {len(lev_weights)} weights (one scoring pass; "
        + (
            "the inverse R factor, full rank proven"
            if projector.triangular
            else f"{sum(projector.shared.values())} from the shared decomposition"
        )
        + f", rank {projector.rank}): {t_lev:.1f} s",
        flush=True,
    )
    t0 = time.perf_counter()
    lev_orders, lev_keys, own = [], [], {}
    for sampler in SAMPLERS:
        if sampler == "random":
            continue
        for rep in range(args.repetitions):
            seed = [args.seed, SAMPLERS.index(sampler), rep]
            if args.leverage_ratio is None:  # leverage (and the order) depends on the weight
                jobs = [([w], w) for w in weights]
            else:
                jobs = [(weights, lev_weights[0])]
            for fit_weights, lev_w in jobs:
                reg, blk = leverage[lev_w]
                order = sampling_order(
                    sampler, n_train, leverage=reg, block_leverage=blk, seed=seed
                )
                if args.leverage_ratio is None:
                    own[len(lev_orders)] = fit_weights
                lev_orders.append(order)
                lev_keys.append((sampler, rep))
                for w in fit_weights:
                    orders[(sampler, rep, w)] = order
    plan_b = plan_subsets(lev_orders, below, n_train, max_statistics=budget)
    for (sampler, rep), recs in zip(
        lev_keys,
        shared_subset_fits(
            lev_orders, below, read, weights, LEVELS, order_weights=own, plan=plan_b,
            n_descriptors=p, **fit_options,
        ),
        strict=True,
    ):  # fmt: skip
        for rec in recs:
            w = (rec.energy_weight, rec.force_weight)
            records[(sampler, rep, w, rec.subset_size, rec.level)] = rec
    for sampler, rep, w in orders:  # every order's 100 %: the whole pool's fits
        for lv in LEVELS:
            if below is not sizes:
                records[(sampler, rep, w, n_train, lv)] = whole[(w, lv)]
    t_lev_orders = time.perf_counter() - t0
    print(
        f"  {len(lev_orders)} leverage orders: {t_lev_orders:.1f} s ({plan_b.reads} "
        f"configurations read, {plan_b.separate_reads} with one pass each; {plan_b.n_merges} "
        f"intersections, at most {plan_b.peak_statistics} accumulators)",
        flush=True,
    )
    t_gen_streamed = pool.t_gen - gen_before
    t_ours = time.perf_counter() - t_start - t_gen_streamed
    n_fits = len(records)
    n_read = len(test_idx) + plan_a.reads + n_train + plan_b.reads
    n_separate = len(test_idx) + plan_a.separate_reads + n_train + plan_b.separate_reads
    print(
        f"\nstreamed: {t_ours:.1f} s total = test statistics {t_stats:.1f} s + random orders and "
        f"the whole pool {t_random:.1f} s + leverage ({len(lev_weights)} weights) {t_lev:.1f} s + "
        f"leverage orders {t_lev_orders:.1f} s; {len(random_orders) + len(lev_orders)} orders, "
        f"{n_fits} fits, {n_read} configurations read ({n_separate} with one pass per order)"
        + (f" (generation {t_gen_streamed:.1f} s left out)" if stream else ""),
        flush=True,
    )
    if below is not sizes:
        print(
            f"  the {len(whole)} fits of the whole pool ({n_train} configurations) come once from "
            f"its statistics; the orders stop at {below[-1]}",
            flush=True,
        )
    models = [r.model for r in records.values()]
    by_basis = sum(not np.isnan(m.truncation_weight) for m in models)
    by_triangle = sum(m.singular_values is None for m in models)
    print(
        f"fits: {by_triangle} by back substitution (full rank proven), {by_basis} from a shared "
        f"decomposition, {len(models) - by_triangle - by_basis} by their own truncated SVD",
        flush=True,
    )
    if profiler is not None:
        import pstats

        profiler.disable()
        print("\nprofile of the streamed side (profiling overhead included):")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.profile)

    # ---------------------------------------------------------------- naive
    row_bytes = 8 * (p + 1) * (1 + 3 * args.atoms)
    max_configs = int(args.naive_max_gib * 2**30 / row_bytes)
    n_lev = max(1, min(args.naive_leverage_weights, len(lev_weights)))
    lev_diff = 0.0
    if n_train <= max_configs:
        train_blocks = [b for b, _ in pool.iterate(train_idx)]
        t0 = time.perf_counter()
        for w in lev_weights[:n_lev]:
            reg, blk = naive_leverage(train_blocks, *w)
            lev_diff = max(
                lev_diff,
                np.max(np.abs(reg - leverage[w][0])),
                np.max(np.abs(blk - leverage[w][1])),
            )
        t_naive_lev = (time.perf_counter() - t0) / n_lev * len(lev_weights)
        lev_note = f"{n_lev} leverage SVDs timed"
        del train_blocks
    else:  # SVD of sub-pools, linear in the rows
        subs = [max_configs // 4, max_configs // 2]
        times = []
        for m in subs:
            blocks = [b for b, _ in pool.iterate(train_idx[:m])]
            t0 = time.perf_counter()
            naive_leverage(blocks, *lev_weights[0])
            times.append(time.perf_counter() - t0)
            del blocks
        slope = (times[1] - times[0]) / (subs[1] - subs[0])
        t_naive_lev = (times[1] + slope * (n_train - subs[1])) * len(lev_weights)
        lev_note = f"leverage SVDs timed on sub-pools of {subs} and extrapolated"
    rng = np.random.default_rng(args.seed + 1)
    keys = list(records)
    per_size_time = {}
    max_diff = {"train E": 0.0, "train F": 0.0, "test E": 0.0, "test E shifted": 0.0, "test F": 0.0}
    test_data = None if stream else [pool.get(int(i)) for i in test_idx]
    t_direct_test = None
    n_naive = 0
    for size in sizes:
        if size > max_configs:
            continue
        cand = [k for k in keys if k[3] == size]
        n_pick = min(args.naive_fits_per_size, len(cand))
        chosen = [cand[i] for i in rng.choice(len(cand), n_pick, replace=False)]
        times = []
        for sampler, rep, w, _, level in chosen:
            rec = records[(sampler, rep, w, size, level)]
            idx = orders[(sampler, rep, w)][:size]
            data = [pool.get(int(i)) for i in idx]
            t1 = time.perf_counter()
            sub = [d[0] for d in data]
            e = [d[1][level][0] for d in data]
            f = [d[1][level][1] for d in data]
            coef = naive_fit(sub, e, f, *w)
            tr = direct_errors(coef, sub, e, f)
            if test_data is not None:
                te = {
                    tl: direct_errors(
                        coef,
                        [b for b, _ in test_data],
                        [lab[tl][0] for _, lab in test_data],
                        [lab[tl][1] for _, lab in test_data],
                    )
                    for tl in LEVELS
                }
                times.append(time.perf_counter() - t1)
            else:
                times.append(time.perf_counter() - t1)
                te = {tl: statistics_errors(test_stats, coef, tl, "test") for tl in LEVELS}
            del data, sub
            n_naive += 1
            max_diff["train E"] = max(
                max_diff["train E"], abs(tr.energy_rmse - rec.train.energy_rmse)
            )
            max_diff["train F"] = max(
                max_diff["train F"], abs(tr.force_rmse - rec.train.force_rmse)
            )
            for tl in LEVELS:
                a, b = te[tl], rec.test[tl]
                max_diff["test E"] = max(max_diff["test E"], abs(a.energy_rmse - b.energy_rmse))
                max_diff["test E shifted"] = max(
                    max_diff["test E shifted"], abs(a.energy_rmse_shifted - b.energy_rmse_shifted)
                )
                max_diff["test F"] = max(max_diff["test F"], abs(a.force_rmse - b.force_rmse))
        if test_data is None:
            if t_direct_test is None:  # one direct evaluation over the test set, all levels
                t_direct_test = 0.0
                for b, lab in pool.iterate(test_idx):
                    t1 = time.perf_counter()
                    for tl in LEVELS:
                        direct_errors(coef, [b], [lab[tl][0]], [lab[tl][1]])
                    t_direct_test += time.perf_counter() - t1
                print(f"  naive direct test errors (6 levels): {t_direct_test:.2f} s per fit")
            times = [t + t_direct_test for t in times]
        per_size_time[size] = float(np.mean(times))
        print(
            f"  naive fit + errors at size {size:5d}: {per_size_time[size]:.3f} s per fit",
            flush=True,
        )
    timed = sorted(per_size_time)
    if len(timed) < len(sizes):  # linear in the rows, from the timed sizes
        if len(timed) >= 2:
            slope, icpt = np.polyfit(timed, [per_size_time[s] for s in timed], 1)
        else:
            slope, icpt = per_size_time[timed[0]] / timed[0], 0.0
        for size in sizes:
            if size not in per_size_time:
                per_size_time[size] = float(icpt + slope * size)
                print(
                    f"  naive fit + errors at size {size:5d}: {per_size_time[size]:.3f} s "
                    "per fit (extrapolated)"
                )
    fits_per_size = n_fits // len(sizes)
    t_naive_fits = sum(t * fits_per_size for t in per_size_time.values())
    t_naive = t_naive_fits + t_naive_lev
    print(
        f"naive: {n_naive} fits timed (stratified over sizes {timed}) and {lev_note}; "
        f"extrapolated to the design: fits {t_naive_fits:.0f} s + leverage {t_naive_lev:.0f} s "
        f"= {t_naive:.0f} s ({t_naive / 3600:.2f} h)"
    )
    if lev_note.endswith("extrapolated"):
        print("leverage vs numpy SVD: not compared (the pool matrix is too large)")
    else:
        print(f"largest |leverage difference| vs numpy SVD: {lev_diff:.2e}")
    best = min(
        (r for r in records.values() if r.level == 6),
        key=lambda r: r.test[6].force_rmse,
    )
    print(
        f"(sanity) best level-6 test force RMSE {best.test[6].force_rmse:.1f} meV/A, energy "
        f"{best.test[6].energy_rmse:.2f} meV/atom at size {best.subset_size}, w_E/w_F "
        f"{best.energy_weight / best.force_weight:g}"
    )
    print(
        "largest |RMSE difference| over the timed fits (meV/atom, meV/Angstrom): "
        + ", ".join(f"{k} {v:.2e}" for k, v in max_diff.items())
    )
    print(
        f"speed ratio naive / streamed: {t_naive / t_ours:.0f}x ({t_naive:.0f} s / "
        f"{t_ours:.1f} s); largest RMSE difference {max(max_diff.values()):.2e} meV"
    )


if __name__ == "__main__":
    main()
