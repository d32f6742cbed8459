"""Delta models in LAMMPS: the column mapping of a smaller 2Jmax, and one exported potential."""

import numpy as np
import pytest
from test_export import evaluation_structures, labels, lammps_predictions, training_structures

from pyiron_appmlip.core import SufficientStatistics
from pyiron_appmlip.core.multi_fidelity import fit_delta
from pyiron_appmlip.descriptors import QSnapSettings, compute_qsnap_blocks
from pyiron_appmlip.potential import write_snap_potential


@pytest.mark.parametrize(
    "settings",
    [
        QSnapSettings(6, elements=("Be",)),
        QSnapSettings(6, elements=("Be",), quadraticflag=0, bzeroflag=0),
        QSnapSettings(6, elements=("Be", "Al"), radelem={"Be": 0.5, "Al": 0.55}),
    ],
    ids=["qsnap", "linear-no-bzero", "two-elements"],
)
def test_columns_of_a_smaller_twojmax_are_a_subset_in_lammps(settings):
    symbols = 13 if len(settings.elements) == 2 else None
    structures = training_structures(symbols=symbols, n=2) + evaluation_structures(symbols)
    smaller = QSnapSettings(**{**settings.to_dict(), "twojmax": 4})
    cols = settings.column_subset(smaller)
    assert cols.shape == (smaller.n_columns(),) and np.all(np.diff(cols) > 0)
    big = compute_qsnap_blocks(structures, settings)
    small = compute_qsnap_blocks(structures, smaller)
    for b, s in zip(big, small, strict=True):
        scale = np.abs(s).max()
        np.testing.assert_allclose(b[:, cols], s, rtol=0, atol=1e-10 * scale)
    # the columns left out are not copies of the kept ones (the mapping is not vacuous)
    rest = np.setdiff1d(np.arange(settings.n_columns()), cols)
    assert rest.size and np.abs(big[0][:, rest]).max() > 0
    with pytest.raises(ValueError, match=r"must be at most twojmax \(4\)"):
        smaller.column_subset(settings)
    with pytest.raises(ValueError, match=r"differ in \['rcutfac'\]"):
        settings.column_subset(QSnapSettings(**{**smaller.to_dict(), "rcutfac": 4.0}))


def test_delta_model_exports_as_one_snap_potential(tmp_path):
    """A base at 2Jmax 6 on cheap labels plus a 2Jmax 4 correction to expensive ones: LAMMPS
    with the one written potential reproduces the sum of the two parts."""
    settings = QSnapSettings(6, elements=("Be",))
    smaller = QSnapSettings(**{**settings.to_dict(), "twojmax": 4})
    train = training_structures(n=24)
    blocks = compute_qsnap_blocks(train, settings)
    energies, forces = labels(train)
    stats = SufficientStatistics(settings.n_columns(), ("lo", "hi"))
    for m, (b, e, f, a) in enumerate(zip(blocks, energies, forces, train, strict=True)):
        # the "expensive" level: the cheap one plus a smooth per-atom and volume-dependent shift
        e_hi = e + 0.01 * len(a) + 0.002 * a.get_volume()
        stats.add(b, {"lo": (e, f), "hi": (e_hi, 1.02 * f)}, config_id=m)
    model = fit_delta(stats, "lo", "hi", 10.0, 1.0, columns=settings.column_subset(smaller))
    tests = evaluation_structures()
    test_blocks = compute_qsnap_blocks(tests, settings)
    small_blocks = compute_qsnap_blocks(tests, smaller)
    combined = model.as_linear_model()
    combined.settings = settings
    coeff_file, param_file = write_snap_potential(combined, folder=tmp_path, name="delta")
    assert "twojmax 6" in open(param_file).read()
    got = lammps_predictions(tests, coeff_file, param_file, ["Be"])
    e_base, f_base = model.base.predict(test_blocks)
    e_corr, f_corr = model.correction.predict(small_blocks)  # the correction on its own 2Jmax
    assert np.abs(e_corr).max() > 1e-3  # the correction does something
    for m, (e_lmp, f_lmp) in enumerate(got):
        assert e_lmp == pytest.approx(e_base[m] + e_corr[m], abs=1e-6)
        np.testing.assert_allclose(f_lmp, f_base[m] + f_corr[m], rtol=0, atol=1e-6)
