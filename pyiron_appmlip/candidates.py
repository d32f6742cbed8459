"""Candidate structures for users who have none: rattled and strained crystal cells.

All generators are seeded and reproducible, and every structure passes a minimum-distance filter
(periodic images included), so that no DFT or descriptor calculation is wasted on overlapping atoms.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BE_LATTICE", "small_cells", "rattled_strained_cells", "minimum_distance"]

# Lattice parameters in Angstrom for beryllium (PBE-like values; bcc/fcc at about the hcp volume).
BE_LATTICE = {"hcp": {"a": 2.265, "c": 3.575}, "bcc": {"a": 2.55}, "fcc": {"a": 3.20}}

_PROTOTYPES = ("hcp", "bcc", "fcc")
# (prototype, cubic, repeat) choices giving 1..8 atoms
_SMALL_CELLS = (
    ("bcc", False, (1, 1, 1)),  # 1 atom
    ("fcc", False, (1, 1, 1)),  # 1
    ("hcp", False, (1, 1, 1)),  # 2
    ("bcc", True, (1, 1, 1)),  # 2
    ("fcc", False, (2, 1, 1)),  # 2
    ("fcc", True, (1, 1, 1)),  # 4
    ("hcp", False, (2, 1, 1)),  # 4
    ("bcc", True, (2, 1, 1)),  # 4
    ("hcp", False, (1, 1, 2)),  # 4
    ("hcp", False, (2, 2, 1)),  # 8
    ("bcc", True, (2, 2, 1)),  # 8
    ("fcc", True, (2, 1, 1)),  # 8
)


def _bulk(element: str, prototype: str, cubic: bool, lattice: dict):
    from ase.build import bulk

    if prototype == "hcp":
        return bulk(element, "hcp", a=lattice["hcp"]["a"], c=lattice["hcp"]["c"])
    return bulk(element, prototype, a=lattice[prototype]["a"], cubic=cubic)


def minimum_distance(atoms) -> float:
    """Smallest interatomic distance in Angstrom, periodic images included (inf for one atom
    in a large non-periodic box)."""
    from ase.neighborlist import neighbor_list

    if len(atoms) == 0:
        return float("inf")
    cutoff = 3.0
    while True:
        d = neighbor_list("d", atoms, cutoff, self_interaction=False)
        if len(d) > 0 or cutoff > 20.0:
            return float(d.min()) if len(d) else float("inf")
        cutoff *= 2.0


def rattled_strained_cells(
    n_structures: int,
    element: str = "Be",
    seed: int = 0,
    max_atoms: int = 8,
    strain: float = 0.05,
    rattle: float = 0.08,
    min_distance: float = 1.5,
    lattice: dict | None = None,
):
    """Rattled and strained hcp/bcc/fcc cells of 1..``max_atoms`` atoms.

    Parameters
    ----------
    n_structures : number of structures (>= 1)
    element : chemical symbol placed on every site
    seed : seed of the random generator; the same arguments always give the same structures
    max_atoms : largest cell (1..8 available from the built-in prototypes)
    strain : largest magnitude of each component of the random symmetric strain (0.05 = 5 %)
    rattle : standard deviation of the Gaussian displacement of every atom, Angstrom
    min_distance : structures with two atoms closer than this (Angstrom) are redrawn
    lattice : lattice parameters per prototype; defaults to :data:`BE_LATTICE`
    """
    if not isinstance(n_structures, int | np.integer) or n_structures < 1:
        raise ValueError(f"n_structures must be a positive integer, got {n_structures!r}")
    if not 1 <= max_atoms:
        raise ValueError(f"max_atoms must be >= 1, got {max_atoms!r}")
    if strain < 0 or rattle < 0:
        raise ValueError(f"strain and rattle must be >= 0, got strain={strain}, rattle={rattle}")
    lattice = BE_LATTICE if lattice is None else lattice
    choices = []
    for proto, cubic, rep in _SMALL_CELLS:
        cell = _bulk(element, proto, cubic, lattice).repeat(rep)
        if len(cell) <= max_atoms:
            choices.append(cell)
    if not choices:
        raise ValueError(f"max_atoms={max_atoms} admits no built-in cell (smallest has 1 atom)")
    rng = np.random.default_rng(seed)
    out = []
    attempts = 0
    while len(out) < n_structures:
        attempts += 1
        if attempts > 100 * n_structures:
            raise RuntimeError(
                f"could not generate {n_structures} structures with min_distance={min_distance} "
                f"Angstrom; lower rattle or strain"
            )
        base = choices[len(out) % len(choices)].copy()
        eps = rng.uniform(-strain, strain, size=(3, 3))
        eps = 0.5 * (eps + eps.T)
        deform = np.eye(3) + eps
        base.set_cell(np.asarray(base.get_cell()) @ deform, scale_atoms=True)
        base.positions += rng.normal(0.0, rattle, size=base.positions.shape)
        base.wrap()
        if minimum_distance(base) < min_distance:
            continue
        base.info["prototype"] = base.get_chemical_formula()
        out.append(base)
    return out


def small_cells(element: str = "Be", lattice: dict | None = None):
    """The unperturbed prototype cells (1..8 atoms) used by :func:`rattled_strained_cells`."""
    lattice = BE_LATTICE if lattice is None else lattice
    return [_bulk(element, p, c, lattice).repeat(r) for p, c, r in _SMALL_CELLS]
