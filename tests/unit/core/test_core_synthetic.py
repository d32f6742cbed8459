"""Synthetic descriptor blocks and labels for the core tests, and the explicit (naive) weighted
matrix the streamed engine must reproduce. Imported by the other ``test_core_*`` modules."""

import numpy as np
import scipy.linalg


def random_dataset(seed, n_configs=25, p=10, atoms=(1, 7), levels=(1, 2)):
    """Well-conditioned random blocks with varied N_m and labels at several levels."""
    rng = np.random.default_rng(seed)
    blocks, labels = [], []
    beta = rng.standard_normal(p)
    for _ in range(n_configs):
        n = int(rng.integers(atoms[0], atoms[1]))
        b = rng.standard_normal((1 + 3 * n, p))
        b[0] *= n  # energy row is a sum over atoms
        lab = {}
        for j, lv in enumerate(levels):
            e = -3.0 * n + b[0] @ beta + 0.1 * (j + 1) * rng.standard_normal() * n
            f = (b[1:] @ beta).reshape(n, 3) + 0.05 * rng.standard_normal((n, 3))
            lab[lv] = (e, f)
        blocks.append(b)
        labels.append(lab)
    return blocks, labels


def qsnap_like_dataset(seed, n_configs=40, p=24, atoms=(2, 9)):
    """Badly scaled, nearly collinear blocks imitating qSNAP: column scales 1e-2 .. 1e6, a
    near-constant per-atom column (like B_000) and its square / 2 (numerically in the span of
    the constant and B_000: a singular value ~1e-14 relative, well below rcond)."""
    rng = np.random.default_rng(seed)
    scales = np.logspace(-2, 6, p - 2)
    rng.shuffle(scales)
    beta = rng.standard_normal(p) / np.r_[1.0, 1.0, scales]
    blocks, energies, forces = [], [], []
    for _ in range(n_configs):
        n = int(rng.integers(atoms[0], atoms[1]))
        delta = 1e-7 * rng.standard_normal(n)  # per-atom B_000 - 1
        d_delta = 1e-7 * rng.standard_normal((n, 3 * n))  # d(delta_i)/d(x_j): per atom, per dof
        b = np.empty((1 + 3 * n, p))
        b[0, 0] = np.sum(1.0 + delta)
        b[0, 1] = np.sum((1.0 + delta) ** 2 / 2)
        b[1:, 0] = -d_delta.sum(axis=0)
        b[1:, 1] = -((1.0 + delta)[:, None] * d_delta).sum(axis=0)
        b[0, 2:] = n * scales * (1.0 + 0.3 * rng.standard_normal(p - 2))
        b[1:, 2:] = scales * rng.standard_normal((3 * n, p - 2))
        e = -3.0 * n + b[0] @ beta + 1e-3 * n * rng.standard_normal()
        f = (b[1:] @ beta).reshape(n, 3) + 1e-2 * rng.standard_normal((n, 3))
        blocks.append(b)
        energies.append(e)
        forces.append(f)
    return blocks, energies, forces


def weighted_system(blocks, energies, forces, energy_weight, force_weight):
    """Explicit weighted matrix W [c | X] (M rows per block) and W y, as eq. 2-3."""
    rows, ys = [], []
    for b, e, f in zip(blocks, energies, forces, strict=True):
        b = np.asarray(b, dtype=float)
        n = (b.shape[0] - 1) // 3
        a = np.zeros((b.shape[0], b.shape[1] + 1))
        a[0, 0] = n
        a[:, 1:] = b
        w = np.r_[energy_weight / n, np.full(3 * n, force_weight)]
        rows.append(a * w[:, None])
        if e is not None:
            ys.append(np.r_[e, np.asarray(f).ravel()] * w)
    return np.vstack(rows), (np.concatenate(ys) if ys else None)


def naive_fit(blocks, energies, forces, energy_weight, force_weight, rcond, scale=True):
    """scipy.linalg.lstsq on the explicit weighted (column-scaled) matrix."""
    a, y = weighted_system(blocks, energies, forces, energy_weight, force_weight)
    norms = np.linalg.norm(a, axis=0)
    c = (
        np.where(norms > 0, 1.0 / np.where(norms > 0, norms, 1.0), 1.0)
        if scale
        else np.ones(a.shape[1])
    )
    z, _, rank, _ = scipy.linalg.lstsq(a * c, y, cond=rcond)
    return c * z, rank


def predictions(coefficients, blocks):
    """Stacked [energies; forces] predicted by coefficients (reference energy first)."""
    out = []
    for b in blocks:
        n = (b.shape[0] - 1) // 3
        out.append(np.r_[n * coefficients[0] + b[0] @ coefficients[1:], b[1:] @ coefficients[1:]])
    return np.concatenate(out)


def level_lists(labels, level):
    """(energies, forces) lists of one level."""
    return [lab[level][0] for lab in labels], [lab[level][1] for lab in labels]


def assert_rel(actual, expected, tol):
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    scale = max(np.max(np.abs(expected)), 1e-300)
    err = np.max(np.abs(actual - expected)) / scale
    assert err <= tol, f"relative difference {err:.3e} > {tol:.1e}"


def test_weighted_system_rows_match_eq1():
    blocks, labels = random_dataset(0, n_configs=3)
    e, f = level_lists(labels, 1)
    a, y = weighted_system(blocks, e, f, 2.0, 0.5)
    beta = np.arange(a.shape[1], dtype=float)
    loss = 0.0
    for b, ei, fi in zip(blocks, e, f, strict=True):
        n = (b.shape[0] - 1) // 3
        loss += 4.0 * (n * beta[0] + b[0] @ beta[1:] - ei) ** 2 / n**2
        loss += 0.25 * np.sum((b[1:] @ beta[1:] - fi.ravel()) ** 2)
    assert np.isclose(np.sum((a @ beta - y) ** 2), loss)


def test_qsnap_like_dataset_is_badly_conditioned():
    blocks, e, f = qsnap_like_dataset(0)
    a, _ = weighted_system(blocks, e, f, 1.0, 1.0)
    s = np.linalg.svd(a / np.linalg.norm(a, axis=0), compute_uv=False)
    assert s[-1] / s[0] < 1e-12 < s[-2] / s[0]
    col = np.abs(a[:, 1:]).max(axis=0)
    assert col.max() / col.min() > 1e6
