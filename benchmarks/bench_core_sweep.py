"""Benchmark: the paper's training sweep, streamed core vs. the naive method.

Design (paper sec. 3): 6 DFT levels x 11 subset sizes x 6 energy/force weights x repetitions x
3 samplers (regular leverage, block leverage, random), trained on half of the configurations
and tested on the other half against every level.

- streamed: ``pyiron_appmlip.core``: one pass per sampling order with R-factor snapshots at
  the 11 sizes; one small QR + SVD per (size, weight) serves all 6 levels; errors from the
  statistics. Leverage: the pool's R factors (weight independent) + one scoring pass per weight.
- naive (as the paper's scripts): for every fit build the full weighted matrix of the subset
  and call ``scipy.linalg.lstsq``; test errors from the data; leverage from
  ``numpy.linalg.svd`` of the full weighted pool matrix. The naive side uses the same
  column scaling and rcond so that results must agree. A full naive run takes hours, so a
  stratified sample of fits is timed and the per-size mean cost is extrapolated to the design.

Synthetic qSNAP-like blocks: per-atom radial descriptors B_k (scales 0.1 .. 1e3, B_0 nearly
constant like B_000) in random periodic cells, quadratic products B_k B_l (B_k^2 / 2 on the
diagonal) -> p = K + K (K + 1) / 2 (495 at 2Jmax = 6), analytic force rows, a non-linear
"true" energy and level-dependent energy bias / noise and force noise (paper Table 3 sizes).

Usage: python benchmarks/bench_core_sweep.py [--small] [--configs 2000] [--atoms 50]
       [--twojmax 6] [--repetitions 2] [--naive-fits-per-size 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.linalg

from pyiron_appmlip.core import (
    DEFAULT_RCOND,
    LeverageProjector,
    SufficientStatistics,
    direct_errors,
    sampling_order,
    subset_fits,
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
        energy = float(e_atom.sum())
        labels = {}
        shape = rng.standard_normal()
        for lv in LEVELS:
            bias, e_noise, f_noise = LEVEL_ERRORS[lv]
            e = energy + n * (bias * (1 + 0.3 * shape) + e_noise * rng.standard_normal())
            labels[lv] = (e, forces + f_noise * rng.standard_normal((n, 3)))
        return block, labels


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
        "--leverage-ratio",
        type=float,
        default=None,
        help="compute leverage once at w_E/w_F = this ratio and share the sampling orders "
        "across all fit weights (default: leverage of each fit's own weighted matrix)",
    )
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.small:
        args.configs, args.atoms, args.twojmax, args.repetitions = 200, 20, 4, 1

    gen = SyntheticQSNAP(args.twojmax, args.atoms, args.seed)
    t0 = time.perf_counter()
    data = [gen.configuration(i) for i in range(args.configs)]
    t_gen = time.perf_counter() - t0
    n_train = args.configs // 2
    train, test = data[:n_train], data[n_train:]
    train_blocks = [b for b, _ in train]
    sizes = [max(1, n_train // 100)] + [n_train * i // 10 for i in range(1, 11)]
    weights = [(r, 1.0) for r in RATIOS]
    p = gen.p
    print(
        f"pool: {args.configs} configurations x {args.atoms} atoms, 2Jmax={args.twojmax}, "
        f"p={p} (+1 constant); train {n_train}, test {args.configs - n_train}; "
        f"generated in {t_gen:.1f} s"
    )
    print(
        f"design: {len(LEVELS)} levels x {len(sizes)} sizes {sizes} x {len(weights)} weights x "
        f"{args.repetitions} repetitions x {len(SAMPLERS)} samplers = "
        f"{len(LEVELS) * len(sizes) * len(weights) * args.repetitions * len(SAMPLERS)} fits"
    )

    # ---------------------------------------------------------------- streamed
    t_start = time.perf_counter()
    test_stats = SufficientStatistics(p, LEVELS)
    test_stats.add_many([b for b, _ in test], [lab for _, lab in test], partition="test")
    pool_stats = SufficientStatistics(p)
    pool_stats.add_many(train_blocks)
    t_stats = time.perf_counter() - t_start
    t0 = time.perf_counter()
    leverage = {}
    lev_weights = weights if args.leverage_ratio is None else [(args.leverage_ratio, 1.0)]
    for w in lev_weights:
        leverage[w] = LeverageProjector(pool_stats, *w).scores(train_blocks)
    t_lev = time.perf_counter() - t0
    t0 = time.perf_counter()
    records = {}  # (sampler, rep, w, size, level) -> SubsetFit
    orders = {}
    n_passes = 0
    for sampler in SAMPLERS:
        for rep in range(args.repetitions):
            seed = [args.seed, SAMPLERS.index(sampler), rep]
            if sampler == "random":
                jobs = [(weights, None)]
            elif args.leverage_ratio is None:
                jobs = [([w], w) for w in weights]  # leverage depends on the weights
            else:
                jobs = [(weights, lev_weights[0])]
            for fit_weights, lev_w in jobs:
                reg, blk = leverage[lev_w] if lev_w else (None, None)
                order = sampling_order(
                    sampler, n_train, leverage=reg, block_leverage=blk, seed=seed
                )
                for w in fit_weights:
                    orders[(sampler, rep, w)] = order
                stream = ((train[i][0], train[i][1]) for i in order)
                n_passes += 1
                for rec in subset_fits(
                    stream, sizes, fit_weights, LEVELS, test_statistics=test_stats
                ):
                    key = (sampler, rep, (rec.energy_weight, rec.force_weight))
                    records[key + (rec.subset_size, rec.level)] = rec
    t_sweep = time.perf_counter() - t0
    t_ours = time.perf_counter() - t_start
    n_fits = len(records)
    print(
        f"\nstreamed: {t_ours:.1f} s total = statistics {t_stats:.1f} s + leverage "
        f"({len(lev_weights)} weights) {t_lev:.1f} s + {n_passes} passes / {n_fits} fits "
        f"{t_sweep:.1f} s"
    )

    # ---------------------------------------------------------------- naive
    n_lev = max(1, min(args.naive_leverage_weights, len(lev_weights)))
    t0 = time.perf_counter()
    lev_diff = 0.0
    for w in lev_weights[:n_lev]:
        reg, blk = naive_leverage(train_blocks, *w)
        lev_diff = max(
            lev_diff, np.max(np.abs(reg - leverage[w][0])), np.max(np.abs(blk - leverage[w][1]))
        )
    t_naive_lev = (time.perf_counter() - t0) / n_lev * len(lev_weights)
    rng = np.random.default_rng(args.seed + 1)
    keys = list(records)
    per_size_time = {}
    max_diff = {"train E": 0.0, "train F": 0.0, "test E": 0.0, "test E shifted": 0.0, "test F": 0.0}
    test_blocks = [b for b, _ in test]
    n_naive = 0
    for size in sizes:
        cand = [k for k in keys if k[3] == size]
        chosen = [cand[i] for i in rng.choice(len(cand), args.naive_fits_per_size, replace=False)]
        times = []
        for sampler, rep, w, _, level in chosen:
            rec = records[(sampler, rep, w, size, level)]
            t1 = time.perf_counter()
            idx = orders[(sampler, rep, w)][:size]
            sub = [train[i][0] for i in idx]
            e = [train[i][1][level][0] for i in idx]
            f = [train[i][1][level][1] for i in idx]
            coef = naive_fit(sub, e, f, *w)
            tr = direct_errors(coef, sub, e, f)
            te = {
                tl: direct_errors(
                    coef,
                    test_blocks,
                    [lab[tl][0] for _, lab in test],
                    [lab[tl][1] for _, lab in test],
                )
                for tl in LEVELS
            }
            times.append(time.perf_counter() - t1)
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
        per_size_time[size] = float(np.mean(times))
        print(f"  naive fit + errors at size {size:5d}: {per_size_time[size]:.3f} s per fit")
    fits_per_size = n_fits // len(sizes)
    t_naive_fits = sum(t * fits_per_size for t in per_size_time.values())
    t_naive = t_naive_fits + t_naive_lev
    print(
        f"naive: {n_naive} fits timed (stratified over sizes) and {n_lev} leverage SVDs; "
        f"extrapolated to the design: fits {t_naive_fits:.0f} s + leverage {t_naive_lev:.0f} s "
        f"= {t_naive:.0f} s ({t_naive / 3600:.2f} h)"
    )
    print(f"\nspeed ratio naive / streamed: {t_naive / t_ours:.0f}x")
    print(
        "largest |RMSE difference| over the timed fits (meV/atom, meV/Angstrom): "
        + ", ".join(f"{k} {v:.2e}" for k, v in max_diff.items())
    )
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


if __name__ == "__main__":
    main()
