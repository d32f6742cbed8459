import numpy as np
import pytest
from ase.build import bulk

from pyiron_appmlip.structures.candidates import (
    diverse_candidates,
    minimum_distance,
    random_packings,
    rattled_strained_cells,
    rescale_structures,
    slab_cells,
    vacancy_cells,
)


def test_rattled_strained_cells_seeded_and_filtered():
    a = rattled_strained_cells(15, seed=3)
    b = rattled_strained_cells(15, seed=3)
    c = rattled_strained_cells(15, seed=4)
    assert [len(x) for x in a] == [len(x) for x in b]
    assert all(
        np.allclose(x.positions, y.positions) and np.allclose(x.cell, y.cell)
        for x, y in zip(a, b, strict=False)
    )
    assert not all(np.allclose(x.positions, y.positions) for x, y in zip(a, c, strict=False))
    assert {len(x) for x in a} <= set(range(1, 9))
    assert min(minimum_distance(x) for x in a) >= 1.5


def test_minimum_distance_against_hand_value():
    fcc = bulk("Cu", "fcc", a=3.6)  # nearest neighbour a / sqrt(2)
    assert minimum_distance(fcc) == pytest.approx(3.6 / np.sqrt(2), rel=1e-12)


def test_generators_sizes_and_min_distance():
    vac = vacancy_cells(5, seed=1)
    assert all(len(x) in (3, 7, 15) for x in vac)
    slabs = slab_cells(5, seed=1)
    for x in slabs:  # vacuum gap between periodic images of the slab, about 6 Angstrom
        z = x.positions[:, 2]
        assert x.cell[2, 2] - (z.max() - z.min()) > 5.0
    rnd = random_packings(5, seed=1, n_atoms=(2, 6))
    assert all(2 <= len(x) <= 6 for x in rnd)
    for x in vac + slabs + rnd:
        assert minimum_distance(x) >= 1.5


def test_diverse_candidates_mix_and_reproducible():
    a = diverse_candidates(20, seed=7)
    b = diverse_candidates(20, seed=7)
    assert len(a) == 20
    assert {x.info["generator"] for x in a} == {"crystal", "sheared", "vacancy", "slab", "random"}
    assert all(np.allclose(x.positions, y.positions) for x, y in zip(a, b, strict=False))
    with pytest.raises(ValueError, match="fractions"):
        diverse_candidates(5, fractions={"liquid": 1.0})


def test_rescale_structures():
    w = bulk("W", "bcc", a=3.16, cubic=True)
    (be,) = rescale_structures([w], 3.16, 2.55)
    assert np.allclose(be.cell.lengths(), 2.55)
    assert np.allclose(be.get_scaled_positions(), w.get_scaled_positions())
    with pytest.raises(ValueError, match="from_lattice"):
        rescale_structures([w], -1.0, 2.0)


def test_bad_counts():
    with pytest.raises(ValueError, match="n_structures"):
        rattled_strained_cells(0)
    with pytest.raises(ValueError, match="n_structures"):
        vacancy_cells(-1)


def test_supercell_candidates_sizes_kinds_and_reproducible():
    from pyiron_appmlip.structures.candidates import supercell_candidates

    a = supercell_candidates(24, seed=5)
    b = supercell_candidates(24, seed=5)
    assert len(a) == 24
    assert {x.info["generator"] for x in a} == {"crystal", "hot", "vacancy", "slab", "random"}
    assert all(16 <= len(x) <= 32 for x in a)
    assert min(minimum_distance(x) for x in a) >= 1.5
    assert all(
        np.array_equal(x.positions, y.positions) and np.array_equal(x.cell, y.cell)
        for x, y in zip(a, b, strict=True)
    )
    vac = [x for x in a if x.info["generator"] == "vacancy"]
    assert all(len(x) not in (16, 24, 27, 32) for x in vac)  # one or two atoms removed
    for x in (x for x in a if x.info["generator"] == "slab"):
        z = x.positions[:, 2]
        assert x.cell[2, 2] - (z.max() - z.min()) > 5.0
    small = supercell_candidates(6, seed=1, n_atoms=(8, 12), fractions={"random": 1.0})
    assert all(8 <= len(x) <= 12 for x in small)
    with pytest.raises(ValueError, match="n_atoms=\\(40, 50\\) admits no 'crystal' cell"):
        supercell_candidates(3, n_atoms=(40, 50))
    with pytest.raises(ValueError, match="fractions has unknown kinds"):
        supercell_candidates(3, fractions={"liquid": 1.0})
