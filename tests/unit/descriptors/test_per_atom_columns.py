"""Per-atom model columns from linear bispectrum components against a brute-force loop over
the column labels of the settings (which name every product), and the errors for bad input."""

import re

import numpy as np
import pytest

from pyiron_appmlip.descriptors.per_atom import model_columns_from_bispectrum, sna_atom_command
from pyiron_appmlip.descriptors.settings import QSnapSettings, bispectrum_indices


def _brute_force(b, settings, symbols):
    """Every column from its label: ``E:B(..)``, ``E:B(..)*B(..)``, ``E:B(..)^2/2``, ``n_E``."""
    index = {
        "B({},{},{})".format(*t): k for k, t in enumerate(bispectrum_indices(settings.twojmax))
    }
    rows = np.zeros((len(b), 1 + settings.n_columns()))
    rows[:, 0] = 1.0
    for j, label in enumerate(settings.column_labels()):
        for i, symbol in enumerate(symbols):
            if label.startswith("n_"):
                rows[i, 1 + j] = float(label[2:] == symbol)
                continue
            element, term = label.split(":")
            if element != symbol:
                continue
            names = re.findall(r"B\(\d+,\d+,\d+\)", term)
            value = np.prod([b[i, index[n]] for n in names])
            rows[i, 1 + j] = value**2 / 2 if term.endswith("^2/2") else value
    return rows


@pytest.mark.parametrize("quadraticflag", [0, 1])
@pytest.mark.parametrize("elements", [("Be",), ("Be", "Mg", "W")])
def test_columns_equal_a_loop_over_the_column_labels(quadraticflag, elements):
    settings = QSnapSettings(4, quadraticflag=quadraticflag, elements=elements)
    rng = np.random.default_rng(0)
    symbols = [elements[i % len(elements)] for i in range(7)]
    b = rng.normal(size=(7, settings.n_linear))
    types = symbols if len(elements) > 1 else None
    got = model_columns_from_bispectrum(b, settings, types)
    np.testing.assert_allclose(got, _brute_force(b, settings, symbols), rtol=1e-14, atol=0)


def test_bad_input_is_named():
    settings = QSnapSettings(2, elements=("Be",))
    b = np.ones((2, settings.n_linear))
    with pytest.raises(ValueError, match="settings must be QSnapSettings"):
        model_columns_from_bispectrum(b, {"twojmax": 2})
    with pytest.raises(ValueError, match="settings.elements is not set"):
        model_columns_from_bispectrum(b, QSnapSettings(2))
    with pytest.raises(ValueError, match="types has 3 entries but b_linear has 2 rows"):
        model_columns_from_bispectrum(b, settings, [1, 1, 1])
    with pytest.raises(ValueError, match=r"types\[1\] = 'W' is not one of the elements"):
        model_columns_from_bispectrum(b, settings, ["Be", "W"])
    with pytest.raises(ValueError, match="group must be a LAMMPS ID"):
        sna_atom_command(settings, group="")
