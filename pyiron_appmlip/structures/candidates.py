"""Candidate structures for users who have none: rattled and strained crystal cells.

All generators are seeded and reproducible, and every structure passes a minimum-distance filter
(periodic images included), so that no DFT or descriptor calculation is wasted on overlapping atoms.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "BE_LATTICE",
    "small_cells",
    "rattled_strained_cells",
    "vacancy_cells",
    "slab_cells",
    "random_packings",
    "diverse_candidates",
    "supercell_candidates",
    "rescale_structures",
    "minimum_distance",
]

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
    """Smallest interatomic distance in Angstrom, periodic images included.

    Returns inf for one atom in a large non-periodic box.
    """
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

    Args:
        n_structures: number of structures (>= 1).
        element: chemical symbol placed on every site.
        seed: seed of the random generator; the same arguments always give the same structures.
        max_atoms: largest cell (1..8 available from the built-in prototypes).
        strain: largest magnitude of each component of the random symmetric strain
            (0.05 = 5 %).
        rattle: standard deviation of the Gaussian displacement of every atom, Angstrom.
        min_distance: structures with two atoms closer than this (Angstrom) are redrawn.
        lattice: lattice parameters per prototype; defaults to :data:`BE_LATTICE`.
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

    def make(k):
        atoms = _perturb(choices[k % len(choices)].copy(), rng, strain, rattle)
        atoms.info["prototype"] = atoms.get_chemical_formula()
        return atoms

    return _draw(
        n_structures,
        make,
        min_distance,
        100 * n_structures,
        f"could not generate {n_structures} structures with min_distance={min_distance} "
        "Angstrom; lower rattle or strain",
    )


def small_cells(element: str = "Be", lattice: dict | None = None):
    """The unperturbed prototype cells (1..8 atoms) used by :func:`rattled_strained_cells`."""
    lattice = BE_LATTICE if lattice is None else lattice
    return [_bulk(element, p, c, lattice).repeat(r) for p, c, r in _SMALL_CELLS]


def _draw(n_structures: int, make, min_distance: float, max_tries: int, failure: str) -> list:
    """Draw ``n_structures`` structures that pass the distance filter.

    Calls ``make(k)`` for the k-th structure until ``n_structures`` of them have no two atoms
    closer than ``min_distance``.

    Raises:
        RuntimeError: (``failure``) after ``max_tries`` draws.
    """
    out, attempts = [], 0
    while len(out) < n_structures:
        attempts += 1
        if attempts > max_tries:
            raise RuntimeError(failure)
        atoms = make(len(out))
        if minimum_distance(atoms) >= min_distance:
            out.append(atoms)
    return out


def _check_count(n, name="n_structures"):
    if not isinstance(n, int | np.integer) or n < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {n!r}")


def _perturb(atoms, rng, strain, rattle, shear=0.0):
    eps = rng.uniform(-strain, strain, size=(3, 3))
    eps = 0.5 * (eps + eps.T)
    if shear:
        i, j = rng.choice(3, size=2, replace=False)
        gamma = rng.uniform(-shear, shear)
        eps[i, j] += gamma
    atoms.set_cell(np.asarray(atoms.get_cell()) @ (np.eye(3) + eps), scale_atoms=True)
    atoms.positions += rng.normal(0.0, rattle, size=atoms.positions.shape)
    atoms.wrap()
    return atoms


def vacancy_cells(
    n_structures: int,
    element: str = "Be",
    seed: int = 0,
    max_atoms: int = 16,
    strain: float = 0.03,
    rattle: float = 0.05,
    min_distance: float = 1.5,
    lattice: dict | None = None,
):
    """Supercells of hcp/bcc/fcc with one atom removed, strained and rattled (3..max_atoms atoms)."""
    _check_count(n_structures)
    lattice = BE_LATTICE if lattice is None else lattice
    supercells = [
        _bulk(element, "hcp", False, lattice).repeat((2, 2, 2)),  # 16 -> 15
        _bulk(element, "bcc", True, lattice).repeat((2, 2, 2)),  # 16 -> 15
        _bulk(element, "fcc", True, lattice).repeat((2, 1, 1)),  # 8 -> 7
        _bulk(element, "hcp", False, lattice).repeat((2, 2, 1)),  # 8 -> 7
        _bulk(element, "fcc", True, lattice),  # 4 -> 3
    ]
    supercells = [c for c in supercells if len(c) - 1 <= max_atoms]
    if n_structures and not supercells:
        raise ValueError(
            f"max_atoms={max_atoms} admits no vacancy supercell (smallest has 3 atoms)"
        )
    rng = np.random.default_rng(seed)

    def make(k):
        atoms = supercells[k % len(supercells)].copy()
        del atoms[int(rng.integers(len(atoms)))]
        return _perturb(atoms, rng, strain, rattle)

    return _draw(
        n_structures,
        make,
        min_distance,
        100 * n_structures,
        "could not generate vacancy cells passing min_distance; lower rattle",
    )


def slab_cells(
    n_structures: int,
    element: str = "Be",
    seed: int = 0,
    vacuum: float = 6.0,
    rattle: float = 0.08,
    min_distance: float = 1.5,
    lattice: dict | None = None,
):
    """Thin periodic slabs (hcp(0001), fcc(111), fcc(100), bcc(110); 4-12 atoms), rattled.

    Vacuum along z. The slab is periodic in all three directions (vacuum separates images).
    """
    from ase.build import bcc110, fcc100, fcc111, hcp0001

    _check_count(n_structures)
    lattice = BE_LATTICE if lattice is None else lattice
    a_h, c_h = lattice["hcp"]["a"], lattice["hcp"]["c"]
    builders = [
        lambda: hcp0001(element, size=(2, 2, 3), a=a_h, c=c_h, vacuum=vacuum / 2, orthogonal=False),
        lambda: fcc111(element, size=(2, 2, 3), a=lattice["fcc"]["a"], vacuum=vacuum / 2),
        lambda: fcc100(element, size=(2, 2, 2), a=lattice["fcc"]["a"], vacuum=vacuum / 2),
        lambda: bcc110(element, size=(2, 2, 2), a=lattice["bcc"]["a"], vacuum=vacuum / 2),
        lambda: hcp0001(element, size=(1, 1, 4), a=a_h, c=c_h, vacuum=vacuum / 2),
    ]
    rng = np.random.default_rng(seed)

    def make(k):
        atoms = builders[k % len(builders)]()
        atoms.pbc = True
        atoms.positions += rng.normal(0.0, rattle, size=atoms.positions.shape)
        atoms.wrap()
        return atoms

    return _draw(
        n_structures,
        make,
        min_distance,
        100 * n_structures,
        "could not generate slabs passing min_distance; lower rattle",
    )


def random_packings(
    n_structures: int,
    element: str = "Be",
    seed: int = 0,
    n_atoms: tuple = (2, 12),
    volume_per_atom: tuple = (6.5, 11.0),
    min_distance: float = 1.6,
):
    """Random dense packings: atoms placed uniformly at random in a random triclinic cell.

    A packing is kept only when no two atoms are closer than ``min_distance`` (Angstrom).

    Args:
        n_structures: number of structures.
        element: chemical symbol of every atom.
        seed: seed of the random generator.
        n_atoms: (low, high) range of the number of atoms.
        volume_per_atom: (low, high) range, Angstrom^3; Be's equilibrium is about 8 A^3/atom.
        min_distance: smallest allowed interatomic distance, Angstrom.
    """
    from ase import Atoms

    _check_count(n_structures)
    lo, hi = n_atoms
    if not 1 <= lo <= hi:
        raise ValueError(
            f"n_atoms must be a (low, high) range with 1 <= low <= high, got {n_atoms!r}"
        )
    rng = np.random.default_rng(seed)

    def make(k):
        n = int(rng.integers(lo, hi + 1))
        vol = n * rng.uniform(*volume_per_atom)
        shape = np.eye(3) + rng.uniform(-0.25, 0.25, size=(3, 3))
        cell = shape * (vol / abs(np.linalg.det(shape))) ** (1 / 3)
        return Atoms([element] * n, scaled_positions=rng.random((n, 3)), cell=cell, pbc=True)

    return _draw(
        n_structures,
        make,
        min_distance,
        2000 * max(1, n_structures),
        "could not generate random packings; lower min_distance or raise volume",
    )


def _split_counts(n_structures, fractions, allowed, what, drop_zero=False):
    """``(names, counts)``: ``n_structures`` split over the kinds of ``fractions`` by share
    (remainders to the first kinds), after checking the kinds and shares."""
    unknown = set(fractions) - set(allowed)
    if unknown:
        raise ValueError(
            f"fractions has unknown {what} {sorted(unknown)}; allowed: {sorted(allowed)}"
        )
    total = sum(fractions.values())
    if total <= 0 or any(v < 0 for v in fractions.values()):
        raise ValueError(f"fractions must be non-negative with a positive sum, got {fractions!r}")
    names = [k for k in fractions if fractions[k] > 0 or not drop_zero]
    counts = [int(np.floor(n_structures * fractions[k] / total)) for k in names]
    for i in range(n_structures - sum(counts)):
        counts[i % len(counts)] += 1
    return names, counts


def _sequential_packing(element, n, rng, min_distance, volume_per_atom=(7.0, 11.0)):
    """Random sequential addition of ``n`` atoms into a random triclinic cell.

    Each atom is placed at a uniformly random point at least ``max(min_distance, 1.6)`` Angstrom
    from every atom placed before (periodic images included); a cell that fills up is redrawn.
    """
    from ase import Atoms

    d_min = max(min_distance, 1.6)
    for _ in range(1000):
        vol = n * rng.uniform(*volume_per_atom)
        shape = np.eye(3) + rng.uniform(-0.2, 0.2, size=(3, 3))
        cell = shape * (vol / abs(np.linalg.det(shape))) ** (1 / 3)
        frac = np.empty((0, 3))
        for _ in range(200 * n):
            if len(frac) == n:
                break
            trial = rng.random(3)
            diff = frac - trial
            diff -= np.round(diff)
            if len(frac) == 0 or np.min(np.linalg.norm(diff @ cell, axis=1)) >= d_min:
                frac = np.vstack([frac, trial])
        if len(frac) == n:
            atoms = Atoms([element] * n, scaled_positions=frac, cell=cell, pbc=True)
            if minimum_distance(atoms) >= min_distance:
                return atoms
    raise RuntimeError(f"could not place {n} atoms at least {d_min} Angstrom apart")


def diverse_candidates(
    n_structures: int,
    element: str = "Be",
    seed: int = 0,
    fractions: dict | None = None,
    max_atoms: int = 16,
    min_distance: float = 1.5,
):
    """A diverse, seeded mix of candidate structures.

    Rattled/strained/sheared crystals, vacancies, slabs and random packings.

    Args:
        n_structures: number of structures.
        element: chemical symbol of every atom.
        seed: seed of the random generators.
        fractions: maps generator name ("crystal", "sheared", "vacancy", "slab", "random") to
            its share (default 0.35, 0.15, 0.15, 0.15, 0.20).
        max_atoms: largest number of atoms per structure.
        min_distance: smallest allowed interatomic distance, Angstrom.
    """
    _check_count(n_structures)
    fractions = fractions or {
        "crystal": 0.35,
        "sheared": 0.15,
        "vacancy": 0.15,
        "slab": 0.15,
        "random": 0.20,
    }
    names, counts = _split_counts(
        n_structures, fractions, {"crystal", "sheared", "vacancy", "slab", "random"}, "generators"
    )
    seeds = np.random.SeedSequence(seed).spawn(len(names))
    out = []
    for name, count, ss in zip(names, counts, seeds, strict=True):
        s = int(ss.generate_state(1)[0])
        if count == 0:
            continue
        if name == "crystal":
            new = rattled_strained_cells(
                count, element, s, max_atoms=min(8, max_atoms), min_distance=min_distance
            )
        elif name == "sheared":
            rng = np.random.default_rng(s)
            base = rattled_strained_cells(
                count,
                element,
                s + 1,
                max_atoms=min(8, max_atoms),
                rattle=0.0,
                strain=0.0,
                min_distance=min_distance,
            )
            new = [_perturb(a, rng, 0.03, 0.06, shear=0.15) for a in base]
            new = [a for a in new if minimum_distance(a) >= min_distance]
        elif name == "vacancy":
            new = vacancy_cells(count, element, s, max_atoms=max_atoms, min_distance=min_distance)
        elif name == "slab":
            new = slab_cells(count, element, s, min_distance=min_distance)
        else:
            new = random_packings(
                count,
                element,
                s,
                n_atoms=(2, min(12, max_atoms)),
                min_distance=max(min_distance, 1.6),
            )
        for a in new:
            a.info["generator"] = name
        out.extend(new)
    return out


# (prototype, cubic, repeat) supercells of 16..32 atoms for :func:`supercell_candidates`
_SUPERCELLS = (
    ("hcp", False, (2, 2, 2)),  # 16
    ("hcp", False, (2, 2, 3)),  # 24
    ("hcp", False, (3, 2, 2)),  # 24
    ("hcp", False, (2, 2, 4)),  # 32
    ("bcc", True, (2, 2, 2)),  # 16
    ("bcc", True, (2, 2, 3)),  # 24
    ("bcc", True, (2, 2, 4)),  # 32
    ("fcc", True, (2, 2, 1)),  # 16
    ("fcc", True, (3, 2, 1)),  # 24
    ("fcc", True, (2, 2, 2)),  # 32
    ("fcc", False, (3, 3, 3)),  # 27
)


def supercell_candidates(
    n_structures: int,
    element: str = "Be",
    seed: int = 0,
    n_atoms: tuple = (16, 32),
    fractions: dict | None = None,
    min_distance: float = 1.5,
    lattice: dict | None = None,
):
    """A seeded mix of larger cells (16..32 atoms by default), closer to production training sets.

    Kinds (``fractions`` maps each to its share; default in brackets):

    - ``"crystal"`` (0.30): hcp/bcc/fcc supercells, random strain up to 5 %, rattle 0.08 Angstrom;
    - ``"hot"`` (0.20): hcp supercells with large thermal-like displacements (0.12-0.22 Angstrom)
      and strain up to 3 %, the kind of snapshot a molecular-dynamics run gives;
    - ``"vacancy"`` (0.15): supercells of ``n_atoms[0] + 1`` or more atoms with one or two atoms
      removed, strained and rattled;
    - ``"slab"`` (0.15): hcp(0001), fcc(111), fcc(100) and bcc(110) slabs with 6 Angstrom vacuum;
    - ``"random"`` (0.20): random dense packings (:func:`random_packings`).

    Args:
        n_structures: number of structures.
        element: chemical symbol of every atom.
        seed: seed of the random generators; the same arguments always give the same structures.
        n_atoms: (low, high) range of the number of atoms of every structure.
        fractions: shares of the kinds above.
        min_distance: smallest allowed interatomic distance, Angstrom.
        lattice: lattice parameters per prototype; defaults to :data:`BE_LATTICE`.
    """
    from ase.build import bcc110, fcc100, fcc111, hcp0001

    _check_count(n_structures)
    lo, hi = n_atoms
    if not 1 <= lo <= hi:
        raise ValueError(
            f"n_atoms must be a (low, high) range with 1 <= low <= high, got {n_atoms!r}"
        )
    lattice = BE_LATTICE if lattice is None else lattice
    fractions = dict(
        fractions or {"crystal": 0.30, "hot": 0.20, "vacancy": 0.15, "slab": 0.15, "random": 0.20}
    )
    names, counts = _split_counts(
        n_structures, fractions, {"crystal", "hot", "vacancy", "slab", "random"}, "kinds", True
    )
    cells = [_bulk(element, p, c, lattice).repeat(r) for p, c, r in _SUPERCELLS]
    crystals = [c for c in cells if lo <= len(c) <= hi]
    hcp = [c for c in crystals if len(set(np.round(c.cell.angles(), 3))) > 1] or crystals
    holes = [c for c in cells if lo + 1 <= len(c) <= hi + 2]
    a_h, c_h, a_f, a_b = (
        lattice["hcp"]["a"],
        lattice["hcp"]["c"],
        lattice["fcc"]["a"],
        lattice["bcc"]["a"],
    )
    v = 3.0  # half the vacuum, Angstrom
    slabs = [
        hcp0001(element, size=(2, 2, k), a=a_h, c=c_h, vacuum=v, orthogonal=False)
        for k in (4, 6, 8)
    ]
    slabs += [fcc111(element, size=(2, 2, k), a=a_f, vacuum=v) for k in (4, 6, 8)]
    slabs += [fcc100(element, size=(2, 2, k), a=a_f, vacuum=v) for k in (4, 6, 8)]
    slabs += [bcc110(element, size=(2, 2, k), a=a_b, vacuum=v) for k in (4, 6, 8)]
    slabs = [s for s in slabs if lo <= len(s) <= hi]
    pools = {"crystal": crystals, "hot": hcp, "vacancy": holes, "slab": slabs}
    for kind, pool in pools.items():
        if fractions.get(kind, 0) > 0 and not pool:
            raise ValueError(
                f"n_atoms={n_atoms!r} admits no {kind!r} cell; widen n_atoms or set "
                f"fractions[{kind!r}] = 0"
            )
    seeds = np.random.SeedSequence(seed).spawn(len(names))
    out = []
    for name, count, ss in zip(names, counts, seeds, strict=True):
        if count == 0:
            continue
        rng = np.random.default_rng(ss)
        if name == "random":
            new = [
                _sequential_packing(element, int(rng.integers(lo, hi + 1)), rng, min_distance)
                for _ in range(count)
            ]
        else:
            pool = pools[name]

            def make(k, pool=pool, name=name, rng=rng):
                atoms = pool[k % len(pool)].copy()
                atoms.pbc = True
                if name == "crystal":
                    return _perturb(atoms, rng, 0.05, 0.08)
                if name == "hot":
                    return _perturb(atoms, rng, 0.03, float(rng.uniform(0.12, 0.22)))
                if name == "vacancy":
                    n_remove = int(rng.integers(1, min(2, len(atoms) - lo) + 1))
                    n_remove = max(n_remove, len(atoms) - hi)
                    for i in sorted(rng.choice(len(atoms), n_remove, replace=False))[::-1]:
                        del atoms[int(i)]
                    return _perturb(atoms, rng, 0.03, 0.05)
                atoms.positions += rng.normal(0.0, 0.08, size=atoms.positions.shape)
                atoms.wrap()
                return atoms

            new = _draw(
                count,
                make,
                min_distance,
                100 * count,
                f"could not generate {name!r} cells passing min_distance={min_distance}; "
                "lower min_distance",
            )
        for a in new:
            a.info["generator"] = name
        out.extend(new)
    return out


def rescale_structures(structures, from_lattice: float, to_lattice: float):
    """Uniformly rescale structures from one lattice constant to another.

    Cells and positions are scaled by ``to_lattice / from_lattice``, as the paper rescaled W
    configurations to Be.
    """
    from .conversion import to_ase

    if not (
        np.isfinite(from_lattice)
        and from_lattice > 0
        and np.isfinite(to_lattice)
        and to_lattice > 0
    ):
        raise ValueError(
            f"from_lattice and to_lattice must be positive lengths in Angstrom, got {from_lattice!r}, {to_lattice!r}"
        )
    factor = to_lattice / from_lattice
    out = []
    for s in structures:
        a = to_ase(s)
        a.set_cell(np.asarray(a.get_cell()) * factor, scale_atoms=True)
        out.append(a)
    return out
