"""QSnapSettings: defaults, validation, column counts (checked against LAMMPS), serialisation."""

import dataclasses

import numpy as np
import pytest
from ase.build import bulk

from pyiron_appmlip.descriptors import QSnapSettings, compute_qsnap_blocks, n_bispectrum


def test_paper_defaults():
    s = QSnapSettings(twojmax=6)
    assert s.rcutfac == 4.812302818
    assert s.rfac0 == 0.99363
    assert s.rmin0 == 0.0
    assert s.radelem == 0.5 and s.wj == 1.0
    assert s.bzeroflag == 1 and s.quadraticflag == 1
    assert s.elements is None


@pytest.mark.parametrize("bad", [3, -4, 0, 5.0, 4.5, "6", True, None])
def test_twojmax_validation(bad):
    with pytest.raises(ValueError, match="twojmax"):
        QSnapSettings(twojmax=bad)


def test_other_validation():
    with pytest.raises(ValueError, match="rcutfac"):
        QSnapSettings(4, rcutfac=0)
    with pytest.raises(ValueError, match="bzeroflag"):
        QSnapSettings(4, bzeroflag=2)
    with pytest.raises(ValueError, match="unknown element"):
        QSnapSettings(4, elements=("Be", "Xx"))
    with pytest.raises(ValueError, match="repeat"):
        QSnapSettings(4, elements=("Be", "Be"))
    with pytest.raises(ValueError, match="unknown qSNAP hyperparameter"):
        QSnapSettings.make(4, rcut=5.0)
    # a radius mapping must cover every element in use
    with pytest.raises(ValueError, match="unknown element 'W'"):
        QSnapSettings(4, elements=("Be", "W"), radelem={"Be": 0.5})


def test_linear_counts_match_paper_table():
    # K linear components and, with quadraticflag, K + K(K+1)/2 columns per element
    assert [n_bispectrum(t) for t in (4, 6, 8, 10)] == [14, 30, 55, 91]
    per = [QSnapSettings(t).n_per_element for t in (4, 6, 8, 10)]
    assert per == [119, 495, 1595, 4277]
    # Table 2 lists the number of quadratic products K(K+1)/2
    assert [k * (k + 1) // 2 for k in (14, 30, 55, 91)] == [105, 465, 1540, 4186]


@pytest.mark.parametrize("twojmax,quadratic", [(2, 1), (4, 1), (4, 0), (6, 1)])
def test_n_columns_matches_lammps(twojmax, quadratic):
    atoms = bulk("Be", "hcp", a=2.29, c=3.58)
    s = QSnapSettings(twojmax, quadraticflag=quadratic, elements=("Be",))
    (block,) = compute_qsnap_blocks([atoms], s)
    assert block.shape == (1 + 3 * len(atoms), s.n_columns())
    assert len(s.column_labels()) == s.n_columns()


def test_multi_element_columns_and_labels():
    s = QSnapSettings(4, elements=("Be", "W"), radelem={"Be": 0.5, "W": 0.6})
    assert s.n_columns() == 2 * 119 + 1
    labels = s.column_labels()
    assert labels[0] == "Be:B(0,0,0)" and labels[119] == "W:B(0,0,0)" and labels[-1] == "n_W"
    assert labels[14] == "Be:B(0,0,0)^2/2" and labels[15] == "Be:B(0,0,0)*B(1,0,1)"
    assert QSnapSettings(4, elements=("Be", "W"), element_counts=False).n_columns() == 238
    assert s.cutoff() == pytest.approx(4.812302818 * 1.2)


def test_for_structures_infers_and_checks_elements():
    from ase import Atoms

    be = bulk("Be", "hcp", a=2.29, c=3.58)
    bew = Atoms("WBe", positions=[[0, 0, 0], [1.5, 1.5, 1.5]], cell=[3, 3, 3], pbc=True)
    s = QSnapSettings(4).for_structures([bew, be])
    assert s.elements == ("Be", "W")  # sorted by atomic number
    with pytest.raises(ValueError, match="unknown element"):
        QSnapSettings(4, elements=("Be",)).for_structures([bew])


def test_serialisation_round_trip():
    s = QSnapSettings(8, elements=("Be", "W"), radelem=[0.5, 0.7], wj={"Be": 1.0, "W": 0.9})
    assert s.radius("W") == 0.7 and s.weight("W") == 0.9
    assert QSnapSettings.from_json(s.to_json()) == s
    assert QSnapSettings.from_dict(s.to_dict()) == s
    assert QSnapSettings.make(s.to_dict(), twojmax=4).twojmax == 4
    hash(s)  # frozen and hashable
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.twojmax = 4
    np.testing.assert_equal(s.n_linear, 55)


def test_twojmax_bounds_and_the_warning_of_large_ones():
    import warnings

    from pyiron_appmlip.descriptors.settings import MAX_TWOJMAX, check_twojmax

    with pytest.raises(ValueError, match=r"twojmax must be an even integer from 2 to 20.*got 100"):
        QSnapSettings(twojmax=100)
    with pytest.raises(ValueError, match="got 22"):
        QSnapSettings(twojmax=MAX_TWOJMAX + 2)
    # columns per element: K linear + K (K + 1) / 2 products; K counted by brute force
    k = sum(
        1
        for j1 in range(13)
        for j2 in range(j1 + 1)
        for j in range(j1 - j2, min(12, j1 + j2) + 1, 2)
        if j >= j1
    )
    columns = k + k * (k + 1) // 2
    with pytest.warns(UserWarning, match=rf"{columns:,} descriptor columns per element"):
        settings = QSnapSettings(twojmax=12, elements=("Be",))
    assert settings.n_columns() == columns
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for t in (2, 4, 6, 8, 10):
            QSnapSettings(twojmax=t)
    assert check_twojmax(np.int64(6)) == 6 and check_twojmax(6.0) == 6


def test_hyperparameters_are_checked_as_the_settings_check_them():
    from pyiron_appmlip.descriptors.settings import check_hyperparameters

    assert check_hyperparameters({"quadraticflag": 0}) == {"quadraticflag": 0}
    assert check_hyperparameters(None) == {}
    for bad, message in [
        ({"rcutfac": -1.0}, "hyperparameters: rcutfac must be positive"),
        ({"quadratic": 0}, r"hyperparameters: unknown qSNAP hyperparameter\(s\) \['quadratic'\]"),
        ({"twojmax": 4}, "must not contain twojmax"),
        (6, "hyperparameters must be a mapping"),
    ]:
        with pytest.raises(ValueError, match=message):
            check_hyperparameters(bad)
