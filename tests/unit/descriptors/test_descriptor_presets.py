"""Named descriptor presets: names, values (the paper's qSNAP and FitSNAP's BISPECTRUM defaults,
written out here as documented), overrides, column counts and errors."""

import dataclasses

import pytest

from pyiron_appmlip import descriptor_presets as top_level_presets
from pyiron_appmlip.descriptors import DESCRIPTOR_PRESETS, QSnapSettings, descriptor_presets

# The documented values, written out independently of the package's constants.
PAPER_QSNAP = {
    "twojmax": 6,
    "rcutfac": 4.812302818,
    "rfac0": 0.99363,
    "rmin0": 0.0,
    "radelem": 0.5,
    "wj": 1.0,
    "bzeroflag": 1,
    "quadraticflag": 1,
    "switchflag": 1,
}
# fitsnap3 3.1, fitsnap3lib/io/sections/calculator_sections/bispectrum.py: the defaults of the
# BISPECTRUM section (twojmax "6", rcutfac "4.67637", rfac0 "0.99363", rmin0 "0.0", wj "1.0",
# radelem "0.5", bzeroflag "0", quadraticflag "0", switchflag "1").
FITSNAP_LINEAR = {
    "twojmax": 6,
    "rcutfac": 4.67637,
    "rfac0": 0.99363,
    "rmin0": 0.0,
    "radelem": 0.5,
    "wj": 1.0,
    "bzeroflag": 0,
    "quadraticflag": 0,
    "switchflag": 1,
}


def test_names_and_descriptions():
    listing = descriptor_presets()
    assert sorted(listing) == ["fitsnap_linear", "paper_qsnap"]
    assert all(isinstance(text, str) and text for text in listing.values())
    assert "bzeroflag 0" in listing["fitsnap_linear"] and "linear" in listing["fitsnap_linear"]
    assert top_level_presets() == listing
    assert sorted(DESCRIPTOR_PRESETS) == sorted(listing)


@pytest.mark.parametrize(
    "name,values", [("paper_qsnap", PAPER_QSNAP), ("fitsnap_linear", FITSNAP_LINEAR)]
)
def test_preset_values_are_the_documented_ones(name, values):
    settings = QSnapSettings.preset(name)
    got = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}
    assert {k: got[k] for k in values} == values
    # what the preset does not set keeps the class defaults
    assert settings.elements is None and settings.element_counts is True


def test_paper_preset_is_the_package_default():
    assert QSnapSettings.preset("paper_qsnap") == QSnapSettings(twojmax=6)


def test_fitsnap_preset_differs_from_the_lammps_bzeroflag_default():
    assert QSnapSettings.preset("fitsnap_linear").bzeroflag == 0
    assert QSnapSettings(twojmax=6).bzeroflag == 1


@pytest.mark.parametrize(
    "name,twojmax,columns",
    [
        # K linear components (14 at 2Jmax 4, 30 at 6) and, quadratic, K + K(K+1)/2
        ("fitsnap_linear", 6, 30),
        ("fitsnap_linear", 4, 14),
        ("paper_qsnap", 6, 30 + 30 * 31 // 2),
        ("paper_qsnap", 4, 14 + 14 * 15 // 2),
    ],
)
def test_column_counts_of_one_element(name, twojmax, columns):
    settings = QSnapSettings.preset(name, twojmax=twojmax, elements=("Be",))
    assert settings.n_columns() == columns
    assert len(settings.column_labels()) == columns
    # two elements: the columns per element twice plus one atom-count column
    two = QSnapSettings.preset(name, twojmax=twojmax, elements=("Be", "W"))
    assert two.n_columns() == 2 * columns + 1


def test_overrides_replace_the_preset_values_only():
    settings = QSnapSettings.preset("fitsnap_linear", twojmax=8, radelem={"Be": 0.45})
    assert settings.twojmax == 8 and settings.radius("Be") == 0.45
    assert settings.rcutfac == 4.67637 and settings.quadraticflag == 0 and settings.bzeroflag == 0


@pytest.mark.parametrize("bad", ["qsnap", "Paper_QSNAP", "", None, 6, ("paper_qsnap",)])
def test_unknown_preset_name_lists_the_names(bad):
    with pytest.raises(ValueError, match="unknown descriptor preset") as err:
        QSnapSettings.preset(bad)
    assert "['fitsnap_linear', 'paper_qsnap']" in str(err.value)


def test_bad_overrides():
    with pytest.raises(ValueError, match=r"unknown qSNAP hyperparameter\(s\) \['rcut'\]"):
        QSnapSettings.preset("paper_qsnap", rcut=5.0)
    with pytest.raises(ValueError, match="twojmax"):
        QSnapSettings.preset("paper_qsnap", twojmax=5)
    with pytest.raises(ValueError, match="bzeroflag"):
        QSnapSettings.preset("fitsnap_linear", bzeroflag=2)


def test_presets_cannot_be_changed_in_place():
    with pytest.raises(TypeError):
        DESCRIPTOR_PRESETS["mine"] = ({}, "")
    with pytest.raises(TypeError):
        DESCRIPTOR_PRESETS["paper_qsnap"][0]["twojmax"] = 8
    assert QSnapSettings.preset("paper_qsnap").twojmax == 6
