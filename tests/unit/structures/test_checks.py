"""The one rule for structure sets: overlapping atoms refused (closest pair checked against a
brute-force loop over periodic images), duplicate configurations kept once with a warning, and
clear messages for what is not a list of structures."""

import itertools
import warnings

import numpy as np
import pytest
from ase import Atom, Atoms
from ase.build import bulk

from pyiron_appmlip.structures.checks import (
    DEFAULT_MIN_DISTANCE,
    DuplicateStructuresWarning,
    check_min_distance,
    check_structures,
    closest_pair,
)
from pyiron_appmlip.structures.conversion import configuration_id, to_ase_list


def brute_force_pairs(atoms, reach=3):
    """``{(i, j): smallest distance}`` over all atom pairs ``i <= j`` and periodic images
    ``|n| <= reach`` along the periodic axes (an atom and its own images as ``(i, i)``)."""
    pos = atoms.get_positions()
    cell = np.asarray(atoms.get_cell())
    ranges = [range(-reach, reach + 1) if p else range(1) for p in atoms.get_pbc()]
    best = {}
    for shift in itertools.product(*ranges):
        t = np.asarray(shift, dtype=float) @ cell
        for i in range(len(atoms)):
            for j in range(i, len(atoms)):
                if i == j and not any(shift):
                    continue
                d = float(np.linalg.norm(pos[j] + t - pos[i]))
                best[(i, j)] = min(best.get((i, j), np.inf), d)
    return best


def random_cells(seed=0, n=12):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        cell = np.diag(rng.uniform(2.0, 4.0, 3)) + rng.uniform(-0.6, 0.6, (3, 3))
        k = int(rng.integers(1, 5))
        atoms = Atoms(f"Be{k}", scaled_positions=rng.uniform(0, 1, (k, 3)), cell=cell)
        atoms.pbc = [bool(x) for x in rng.integers(0, 2, 3)] if rng.uniform() < 0.3 else True
        out.append(atoms)
    return out


@pytest.mark.parametrize("atoms", random_cells(), ids=lambda a: f"{len(a)}atoms")
def test_closest_pair_equals_a_brute_force_search(atoms):
    pairs = brute_force_pairs(atoms)
    if not pairs:  # one atom, not periodic: no pair at all
        assert closest_pair(atoms, 100.0) is None
        return
    d_ref = min(pairs.values())
    found = closest_pair(atoms, d_ref + 1e-6)
    assert found is not None
    d, i, j = found
    assert d == pytest.approx(d_ref, abs=1e-9)
    assert i <= j and pairs[(i, j)] == pytest.approx(d, abs=1e-9)  # the pair named is that close
    assert closest_pair(atoms, d_ref - 1e-6) is None  # nothing closer than the closest pair


def test_overlapping_atoms_are_refused_naming_structure_pair_and_distance():
    good = bulk("Be", "hcp", a=2.29, c=3.58)
    close = Atoms("Be3", positions=[[0, 0, 0], [1.6, 0, 0], [0.1, 0.0, 0.0]], cell=[4, 4, 4])
    close.pbc = True
    image = Atoms("Be2", positions=[[0, 0, 0], [2.95, 0, 0]], cell=[3.0, 3.1, 3.2], pbc=True)
    self_image = Atoms("Be", positions=[[0, 0, 0]], cell=[0.3, 3.0, 3.0], pbc=True)
    cid = configuration_id(close)
    with pytest.raises(ValueError) as err:
        check_structures([good, close, image, self_image])
    text = str(err.value)
    assert f"structures[1] (id {cid}): atoms 0 and 2 are 0.1000 Angstrom apart" in text
    assert "structures[2]" in text and "atoms 0 and 1 are 0.0500 Angstrom apart" in text
    assert "structures[3]" in text and "atom 0 and its periodic image are 0.3000" in text
    assert "structures[0]" not in text
    assert f"below min_distance={DEFAULT_MIN_DISTANCE}" in text and "min_distance=None" in text
    # the threshold is the caller's, None switches the check off
    assert check_structures([good, close], min_distance=0.05) == [0, 1]
    assert check_structures([good, close, image, self_image], min_distance=None) == [0, 1, 2, 3]
    # names and hint are the caller's
    with pytest.raises(ValueError, match=r"^cfg B: atoms 0 and 2 .*below min_distance=0.5 .*off!"):
        check_structures([close], names=["cfg B"], hint="off!")
    # more than five offenders: five are listed and the rest counted
    with pytest.raises(ValueError, match=r"structures\[4\].*; and 2 more, below"):
        check_structures([close.copy() for _ in range(7)], ids=[str(k) for k in range(7)])


def test_min_distance_must_be_a_positive_number_or_none():
    for bad in (0, -1.0, float("nan"), float("inf"), "0.5", True, [0.5]):
        with pytest.raises(ValueError, match="min_distance must be a positive number of Angstrom"):
            check_structures([bulk("Be")], min_distance=bad)
    assert check_min_distance(1) == 1.0 and check_min_distance(None) is None


def test_periodic_cell_without_volume_is_named():
    flat = Atoms("Be2", positions=[[0, 0, 0], [1, 0, 0]], pbc=True)
    with pytest.raises(ValueError, match=r"structures\[0\] \(id .*\): .*zero volume"):
        check_structures([flat])
    molecule = Atoms("Be2", positions=[[0, 0, 0], [0.2, 0, 0]])  # no cell, not periodic
    with pytest.raises(ValueError, match="atoms 0 and 1 are 0.2000 Angstrom apart"):
        check_structures([molecule])


def test_duplicates_are_kept_once_with_a_warning_naming_them():
    a = bulk("Be", "hcp", a=2.29, c=3.58)
    b = a.copy()
    b.rattle(0.05, seed=1)
    shifted = a.copy()
    shifted.positions += 1e-10  # below the id's rounding: the same configuration
    with pytest.warns(DuplicateStructuresWarning) as record:
        kept = check_structures([a, b, shifted, b.copy(), a.copy()], what="my set")
    assert kept == [0, 1]
    (message,) = [str(w.message) for w in record]
    assert message.startswith("my set: 3 duplicate configuration(s) of 2 structure(s)")
    assert f"id {configuration_id(a)} at position 0, position 2, position 4" in message
    assert f"id {configuration_id(b)} at position 1, position 3" in message
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_structures([a, b]) == [0, 1]  # no duplicates: no warning


def test_a_single_structure_or_atoms_are_named_in_the_message():
    atoms = bulk("Be", "hcp", a=2.29, c=3.58)
    with pytest.raises(TypeError, match="got a single Atoms object: pass a list of structures"):
        to_ase_list(atoms)
    assert len(to_ase_list(atoms, single=True)) == 1
    with pytest.raises(TypeError, match=r"structures\[0\] is a single atom \(ase.Atom\)"):
        to_ase_list(list(atoms))
    with pytest.raises(TypeError, match=r"job.structures\[1\]: structure must be an ase.Atoms"):
        to_ase_list([atoms, "POSCAR"], "job.structures")
    with pytest.raises(TypeError, match="must be a list of structures .* got str"):
        to_ase_list("POSCAR")
    with pytest.raises(TypeError, match="got Atom"):
        to_ase_list(Atom("Be"))
