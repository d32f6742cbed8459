"""Cartesian frames: a structure's own frame and LAMMPS' lower-triangular one.

LAMMPS needs a cell with ``a`` along x and ``b`` in the xy plane. With ``cell.T = Q R`` (QR
decomposition, signs chosen so that ``diag(R) > 0``), ``L = R.T = cell @ Q`` is that cell;
positions (row vectors) map as ``pos @ Q`` and a LAMMPS-frame row vector ``v_L`` maps back as
``v_L @ Q.T``. ``Q`` is a proper rotation: a left-handed cell is first replaced by the same
lattice with its third vector negated. Tilt factors are then reduced (``|xy| <= xhi/2`` etc.)
by adding lattice vectors, which leaves the lattice, and hence all periodic images, unchanged.

Non-periodic directions are made periodic with a vector orthogonal to the periodic ones and long
enough that no atom sees an image across it (:func:`effective_cell`), so one LAMMPS set-up
(``boundary p p p``) serves bulk, slabs, wires and clusters alike.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "lammps_frame",
    "effective_cell",
    "to_lammps",
    "derivative_rows_from_lammps",
    "virial_rows_from_lammps",
    "vectors_from_lammps",
    "min_distance",
]

_EPS = 1e-10


def lammps_frame(cell) -> tuple[np.ndarray, np.ndarray]:
    """``(L, Q)``: the lower-triangular LAMMPS cell (rows a, b, c) and the rotation ``Q``.

    ``L`` spans the same lattice as ``cell @ Q`` (possibly with another basis: third vector
    negated for a left-handed cell, tilts reduced); ``Q`` is a proper rotation (det +1).
    """
    cell = np.array(cell, dtype=float).reshape(3, 3)
    det = np.linalg.det(cell)
    scale = max(np.abs(cell).max(), 1.0)
    if abs(det) < _EPS * scale**3:
        raise ValueError(f"cell is singular (volume {det:.3g} Angstrom^3): {cell.tolist()}")
    if det < 0:
        cell[2] = -cell[2]
    q, r = np.linalg.qr(cell.T)
    signs = np.sign(np.diag(r))
    signs[signs == 0] = 1.0
    q = q * signs  # columns
    lower = cell @ q
    lower[0, 1:] = 0.0
    lower[1, 2] = 0.0
    # Reduce tilt factors to LAMMPS' preferred range by lattice-vector additions.
    lower[1] -= np.round(lower[1, 0] / lower[0, 0]) * lower[0]
    lower[2] -= np.round(lower[2, 1] / lower[1, 1]) * lower[1]
    lower[2] -= np.round(lower[2, 0] / lower[0, 0]) * lower[0]
    return lower, q


def effective_cell(cell, pbc, positions, cutoff: float, margin: float = 1.0) -> np.ndarray:
    """A fully periodic cell equivalent to ``(cell, pbc)`` for interactions up to ``cutoff``.

    Periodic cell vectors are kept. Each non-periodic one is replaced by a vector orthogonal to
    the periodic ones, as long as the atoms' extent along it plus ``cutoff + margin``, so that
    images along it never come within ``cutoff`` of an atom.
    """
    cell = np.array(cell, dtype=float).reshape(3, 3)
    pbc = np.asarray(pbc, dtype=bool).reshape(3)
    if pbc.all():
        return cell
    positions = np.asarray(positions, dtype=float).reshape(-1, 3)
    periodic = cell[pbc]
    k = periodic.shape[0]
    if k:
        s = np.linalg.svd(periodic, compute_uv=False)
        if s.min() < _EPS * max(s.max(), 1.0):
            raise ValueError(f"periodic cell vectors are degenerate: {periodic.tolist()}")
    _, _, vt = np.linalg.svd(np.vstack([periodic, np.zeros((3 - k, 3))]) if k else np.eye(3))
    complement = vt[k:] if k else np.eye(3)
    out = cell.copy()
    for slot, normal in zip(np.flatnonzero(~pbc), complement, strict=True):
        proj = positions @ normal if len(positions) else np.zeros(1)
        length = float(proj.max() - proj.min()) + cutoff + margin
        out[slot] = length * normal
    return out


def to_lammps(positions, cell, pbc=(True, True, True), cutoff: float = 0.0):
    """Positions and cell in the LAMMPS frame: ``(pos_L wrapped into L, L, Q)``."""
    positions = np.asarray(positions, dtype=float).reshape(-1, 3)
    full = effective_cell(cell, pbc, positions, cutoff)
    lower, q = lammps_frame(full)
    pos = positions @ q
    frac = np.linalg.solve(lower.T, pos.T).T
    frac -= np.floor(frac)
    frac[frac >= 1.0] -= 1.0
    return frac @ lower, lower, q


def vectors_from_lammps(vectors, q) -> np.ndarray:
    """Row vectors (..., 3) from the LAMMPS frame back to the structure's frame."""
    return np.asarray(vectors) @ np.asarray(q).T


def derivative_rows_from_lammps(rows, q) -> np.ndarray:
    """Force/derivative rows (3N, p), atom by atom x, y, z, rotated back to the structure's frame."""
    rows = np.asarray(rows)
    n3, p = rows.shape
    per_atom = rows.reshape(n3 // 3, 3, p)
    return np.einsum("ij,njp->nip", np.asarray(q), per_atom).reshape(n3, p)


_VOIGT = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))  # LAMMPS order xx yy zz yz xz xy


def virial_rows_from_lammps(rows, q) -> np.ndarray:
    """Six virial rows (xx, yy, zz, yz, xz, xy; p columns) rotated back: ``S = Q S_L Q^T``."""
    rows = np.asarray(rows)
    p = rows.shape[1]
    tensor = np.zeros((3, 3, p))
    for r, (i, j) in enumerate(_VOIGT):
        tensor[i, j] = rows[r]
        tensor[j, i] = rows[r]
    q = np.asarray(q)
    rotated = np.einsum("ia,abp,jb->ijp", q, tensor, q)
    return np.array([rotated[i, j] for i, j in _VOIGT])


def min_distance(positions_lammps, cell_lammps, threshold: float):
    """Closest pair closer than ``threshold`` (periodic images included), or None.

    Works on wrapped positions in a fully periodic cell (as from :func:`to_lammps`).

    Args:
        positions_lammps: (N, 3) wrapped positions in the LAMMPS frame.
        cell_lammps: (3, 3) the LAMMPS cell (rows a, b, c).
        threshold: distance in Angstrom.

    Returns:
        ``(distance, i, j)``, or None when no pair is closer than ``threshold``.
    """
    from scipy.spatial import cKDTree

    pos = np.asarray(positions_lammps, dtype=float)
    cell = np.asarray(cell_lammps, dtype=float)
    n = len(pos)
    if n == 0:
        return None
    # Wrapped fractional coordinates differ by less than 1, so |shift| <= ceil(threshold / d)
    # along each axis (d: spacing of the lattice planes) covers every pair within threshold.
    volume = abs(np.linalg.det(cell))
    spacing = [
        volume / np.linalg.norm(np.cross(cell[(i + 1) % 3], cell[(i + 2) % 3])) for i in range(3)
    ]
    reps = [max(1, int(np.ceil(threshold / d))) for d in spacing]
    shifts = np.array(
        [
            (a, b, c)
            for a in range(-reps[0], reps[0] + 1)
            for b in range(-reps[1], reps[1] + 1)
            for c in range(-reps[2], reps[2] + 1)
        ],
        dtype=float,
    )
    images = (pos[None, :, :] + (shifts @ cell)[:, None, :]).reshape(-1, 3)
    pairs = cKDTree(pos).sparse_distance_matrix(cKDTree(images), threshold, output_type="ndarray")
    if len(pairs) == 0:
        return None
    zero = np.flatnonzero((shifts == 0).all(axis=1))[0]
    self_pair = (pairs["i"] == pairs["j"] - zero * n) & (pairs["j"] // n == zero)
    pairs = pairs[~self_pair & (pairs["v"] < threshold)]
    if len(pairs) == 0:
        return None
    k = int(np.argmin(pairs["v"]))
    return float(pairs["v"][k]), int(pairs["i"][k]), int(pairs["j"][k] % n)
