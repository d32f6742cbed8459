"""Named descriptor presets in the real codes: FitSNAP's own BISPECTRUM defaults are the
``fitsnap_linear`` preset, and LAMMPS ``compute snap`` (both backends) runs with each preset."""

import contextlib
import io
import os

import numpy as np
import pytest
from ase.build import bulk

from pyiron_appmlip.descriptors import (
    QSnapSettings,
    compute_qsnap_blocks,
    compute_qsnap_blocks_fitsnap,
    descriptor_presets,
)

A, C = 2.2858, 3.5843


def _cells():
    hcp = bulk("Be", "hcp", a=A, c=C).repeat((2, 1, 1))
    hcp.rattle(0.08, seed=3)
    bcc = bulk("Be", "bcc", a=2.55, cubic=True)
    bcc.rattle(0.05, seed=4)
    return [hcp, bcc]


def test_fitsnap_linear_preset_equals_fitsnaps_own_defaults(tmp_path):
    """A FitSNAP input that sets no hyperparameter: FitSNAP fills in its defaults."""
    pytest.importorskip("fitsnap3lib")
    from fitsnap3lib.fitsnap import FitSnap

    config = {
        "BISPECTRUM": {"numTypes": 1, "type": "Be"},
        "CALCULATOR": {"calculator": "LAMMPSSNAP", "energy": 1, "force": 1, "stress": 0},
        "SOLVER": {"solver": "SVD"},
        "REFERENCE": {"units": "metal", "atom_style": "atomic", "pair_style": "zero 6.0"},
    }
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        with contextlib.redirect_stdout(io.StringIO()):
            fs = FitSnap(config, arglist=["--overwrite"])
    finally:
        os.chdir(cwd)
    section = fs.config.sections["BISPECTRUM"]
    preset = QSnapSettings.preset("fitsnap_linear", elements=("Be",))
    assert [int(t) for t in section.twojmax] == [preset.twojmax]
    assert float(section.rcutfac) == preset.rcutfac
    assert float(section.rfac0) == preset.rfac0
    assert float(section.rmin0) == preset.rmin0
    assert [float(r) for r in section.radelem] == [preset.radius("Be")]
    assert [float(w) for w in section.wj] == [preset.weight("Be")]
    for flag in ("bzeroflag", "quadraticflag", "switchflag"):
        assert int(getattr(section, flag)) == getattr(preset, flag), flag
    # FitSNAP's descriptor count per element is the preset's column count
    assert len(section.blist) == preset.n_columns() == 30


@pytest.mark.parametrize("name", sorted(descriptor_presets()))
@pytest.mark.parametrize("twojmax", [4, 6])
def test_compute_snap_runs_with_each_preset(name, twojmax):
    settings = QSnapSettings.preset(name, twojmax=twojmax, elements=("Be",))
    cells = _cells()
    blocks = compute_qsnap_blocks(cells, settings, virial=True)
    for atoms, block in zip(cells, blocks, strict=True):
        assert block.shape == (1 + 3 * len(atoms) + 6, settings.n_columns())
        assert np.isfinite(block).all() and np.abs(block[0]).max() > 0
    # the FitSNAP backend passes the same hyperparameters to LAMMPS and gives the same blocks
    pytest.importorskip("fitsnap3lib")
    fitsnap_blocks = compute_qsnap_blocks_fitsnap(cells, settings, virial=True)
    for ref, got in zip(blocks, fitsnap_blocks, strict=True):
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-10 * np.abs(ref).max())


def test_fitsnap_bzeroflag_leaves_the_isolated_atom_values_in():
    """bzeroflag 0 (FitSNAP's default) vs 1 (LAMMPS', the paper's): the energy rows differ by N
    times one vector, the isolated atom's descriptors; force and virial rows are the same."""
    linear = QSnapSettings.preset("fitsnap_linear", twojmax=4, elements=("Be",))
    shifted = QSnapSettings.make(linear, bzeroflag=1)
    cells = _cells()
    raw = compute_qsnap_blocks(cells, linear, virial=True)
    sub = compute_qsnap_blocks(cells, shifted, virial=True)
    per_atom = [(r[0] - s[0]) / len(a) for r, s, a in zip(raw, sub, cells, strict=True)]
    assert np.abs(per_atom[0]).max() > 1e-3  # the flag reached LAMMPS
    np.testing.assert_allclose(per_atom[1], per_atom[0], rtol=1e-10, atol=1e-12)
    for r, s in zip(raw, sub, strict=True):
        np.testing.assert_allclose(r[1:], s[1:], rtol=0, atol=1e-12 * np.abs(s).max())
