import math
import warnings

import numpy as np
import pytest

from pyiron_appmlip.dft.levels import PAPER_LEVELS, ConvergenceLevel, get_level, kmesh


def test_paper_levels_match_table_1():
    expected = {
        1: (None, 300.0, 8.33),
        2: (1.00, 300.0, 10.02),
        3: (0.75, 400.0, 14.80),
        4: (0.50, 500.0, 19.18),
        5: (0.25, 700.0, 91.99),
        6: (0.10, 900.0, 996.14),
    }
    assert sorted(PAPER_LEVELS) == [1, 2, 3, 4, 5, 6]
    for number, (kspacing, encut, seconds) in expected.items():
        level = PAPER_LEVELS[number]
        assert level.kspacing == kspacing
        assert level.encut == encut
        assert level.sigma == 0.2
        assert level.xc == "PBE"
        assert level.paper_seconds == seconds


def test_level_1_is_gamma_only():
    level = get_level(1)
    assert level.gamma_only
    cell = np.diag([2.0, 50.0, 0.3])
    assert kmesh(cell, level.kspacing) == (1, 1, 1)
    assert level.kmesh(cell) == (1, 1, 1)


def test_kmesh_triclinic_by_hand():
    # a1 = (3, 0, 0), a2 = (1, 4, 0), a3 = (0.5, 1, 5).  Reciprocal vectors b_i (with 2 pi),
    # b_i . a_j = 2 pi delta_ij, worked out by hand (V = 3*4*5 = 60):
    #   b1 = 2 pi (a2 x a3) / V = 2 pi (20, -5, 0) / 60     -> |b1| = 2 pi sqrt(425) / 60
    #   b2 = 2 pi (a3 x a1) / V = 2 pi (0, 15, -3) / 60     -> |b2| = 2 pi sqrt(234) / 60
    #   b3 = 2 pi (a1 x a2) / V = 2 pi (0, 0, 12) / 60      -> |b3| = 2 pi 12 / 60
    cell = np.array([[3.0, 0.0, 0.0], [1.0, 4.0, 0.0], [0.5, 1.0, 5.0]])
    b1 = 2 * np.pi * np.array([20.0, -5.0, 0.0]) / 60.0
    b2 = 2 * np.pi * np.array([0.0, 15.0, -3.0]) / 60.0
    b3 = 2 * np.pi * np.array([0.0, 0.0, 12.0]) / 60.0
    for b, a in zip((b1, b2, b3), cell, strict=True):
        assert np.dot(b, a) == pytest.approx(2 * np.pi)
    lengths = [2 * np.pi * math.sqrt(425) / 60, 2 * np.pi * math.sqrt(234) / 60, 2 * np.pi * 0.2]
    # |b| = 2.1590, 1.6019, 1.2566 1/Angstrom
    assert kmesh(cell, 1.0) == (3, 2, 2)
    assert kmesh(cell, 0.5) == (5, 4, 3)
    assert kmesh(cell, 0.25) == (9, 7, 6)
    assert kmesh(cell, 5.0) == (1, 1, 1)
    for dk in (1.0, 0.75, 0.5, 0.25, 0.1):
        assert kmesh(cell, dk) == tuple(max(1, math.ceil(n / dk)) for n in lengths)


def test_kmesh_accepts_ase_cell_and_rejects_bad_input():
    from ase.build import bulk

    atoms = bulk("Be")  # hcp a=2.29, c=3.58: |b1|=|b2|=3.168, |b3|=1.751
    assert kmesh(atoms.cell, 1.0) == (4, 4, 2)
    assert kmesh(atoms.get_cell(), 0.5) == (7, 7, 4)
    with pytest.raises(ValueError, match="kspacing"):
        kmesh(atoms.cell, -1.0)
    with pytest.raises(ValueError, match="volume"):
        kmesh(np.zeros((3, 3)), 1.0)


def test_get_level_inputs_and_errors():
    assert get_level(3) is PAPER_LEVELS[3]
    assert get_level(np.int64(2)) is PAPER_LEVELS[2]
    custom = ConvergenceLevel(kspacing=0.3, encut=450, name="custom")
    assert get_level(custom) is custom
    assert get_level(custom.to_dict()) == custom
    assert get_level({"kspacing": None, "encut": 300}).gamma_only
    # HDF5 round trips may bring NaN for None
    assert get_level({"kspacing": float("nan"), "encut": 300.0}).gamma_only
    for bad in (0, 7, "3", 2.0, True, None):
        with pytest.raises(ValueError, match=r"level must be one of the paper levels \[1, 2, 3"):
            get_level(bad)
    with pytest.raises(ValueError, match="unknown keys"):
        get_level({"kspacing": 1.0, "encut": 300, "ecut": 3})


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"kspacing": 0.0, "encut": 300}, "kspacing"),
        ({"kspacing": "1", "encut": 300}, "kspacing"),
        ({"kspacing": 1.0, "encut": -300}, "encut"),
        ({"kspacing": 1.0, "encut": 300, "sigma": 0}, "sigma"),
        ({"kspacing": 1.0, "encut": 300, "xc": "LDA"}, r"xc must be one of \['PBE'\]"),
    ],
)
def test_level_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ConvergenceLevel(**kwargs)


def test_level_is_frozen_and_comparable():
    level = ConvergenceLevel(kspacing=1, encut=300)
    with pytest.raises(AttributeError):
        level.encut = 400
    assert level.kspacing == 1.0 and isinstance(level.kspacing, float)
    assert level.same_parameters(PAPER_LEVELS[2])
    assert level != PAPER_LEVELS[2]  # different name
    assert not level.same_parameters(PAPER_LEVELS[3])


def test_one_label_and_one_order_per_level():
    from pyiron_appmlip.dft.levels import level_label, level_order

    for n, preset in PAPER_LEVELS.items():
        same = [n, np.int64(n), str(n), preset, preset.to_dict(), preset.name]
        same.append(ConvergenceLevel(preset.kspacing, preset.encut, name="my copy"))
        assert {level_label(v) for v in same} == {str(n)}, n
    custom = ConvergenceLevel(kspacing=0.3, encut=450.0)
    assert level_label(custom) == "kspacing=0.3,encut=450"
    assert level_label(ConvergenceLevel(kspacing=None, encut=250.0, name="cheap")) == "cheap"
    assert level_label("imported: wbe vasp") == "imported: wbe vasp"
    mixed = ["10", PAPER_LEVELS[2], "b", 1, "a", "level 3"]
    assert [level_label(v) for v in sorted(mixed, key=level_order)] == [
        "1",
        "2",
        "3",
        "10",
        "a",
        "b",
    ]
    for bad in (True, 2.5, "", None, 7, [1]):
        with pytest.raises(ValueError, match="level"):
            level_label(bad)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"kspacing": 1e-6, "encut": 300}, r"kspacing must be >= 0.01 .* 2094396 x 2094396"),
        ({"kspacing": 0.009, "encut": 300}, r"kspacing must be >= 0.01"),
        ({"kspacing": 0.5, "encut": 1e9}, r"encut must be a plane-wave cut-off from 50 to 5000"),
        ({"kspacing": 0.5, "encut": 10}, r"encut must be a plane-wave cut-off from 50 to 5000"),
    ],
)
def test_absurd_levels_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ConvergenceLevel(**kwargs)


def test_large_levels_warn_with_the_predicted_cost():
    # k-mesh of a 3 Angstrom cubic cell at 0.03 1/Angstrom: ceil(2 pi / 3 / 0.03) = 70
    n = math.ceil(2 * math.pi / 3.0 / 0.03)
    assert kmesh(3.0 * np.eye(3), 0.03) == (n, n, n)
    with pytest.warns(UserWarning, match=rf"{n} x {n} x {n} k-mesh \({n**3:,} k-points"):
        ConvergenceLevel(kspacing=0.03, encut=300)
    # plane waves below the cut-off, per Angstrom^3: k_max^3 / (6 pi^2), hbar^2 k^2 / 2m = E
    hbar2_2m = 1.0545718e-34**2 / (2 * 9.1093837e-31) / 1.602176634e-19 * 1e20  # eV A^2
    per_volume = (2000.0 / hbar2_2m) ** 1.5 / (6 * math.pi**2)
    with pytest.warns(UserWarning, match=rf"about {per_volume:.0f} plane waves per Angstrom\^3"):
        ConvergenceLevel(kspacing=0.5, encut=2000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for level in PAPER_LEVELS.values():  # the paper's levels are neither refused nor large
            ConvergenceLevel.from_dict(level.to_dict())
        ConvergenceLevel(kspacing=0.05, encut=1500)  # the bounds themselves do not warn
