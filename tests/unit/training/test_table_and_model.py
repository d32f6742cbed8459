"""The fit-table schema and the model that carries its settings (no engines)."""

import numpy as np
import pytest

from pyiron_appmlip.descriptors.settings import QSnapSettings
from pyiron_appmlip.potential.model import SnapModel
from pyiron_appmlip.training.table import COLUMN_NAMES, COLUMNS, check_table, make_row


def _values():
    return {c.name: {"int": 1, "float": 0.5, "str": "x"}[c.kind] for c in COLUMNS}


def test_rows_have_exactly_the_declared_columns_in_order():
    row = make_row(dict(reversed(list(_values().items()))))
    assert list(row) == list(COLUMN_NAMES)
    assert isinstance(row["twojmax"], int) and isinstance(row["train_level"], str)
    assert len(set(COLUMN_NAMES)) == len(COLUMN_NAMES)
    for c in COLUMNS:
        assert c.kind in ("int", "float", "str") and c.description
        if c.name.startswith("energy_rmse"):
            assert c.unit == "meV/atom"
        if c.name.startswith("force_rmse"):
            assert c.unit == "meV/Angstrom"
    values = _values()
    del values["rank"]
    with pytest.raises(ValueError, match=r"missing \['rank'\]"):
        make_row(values)
    with pytest.raises(ValueError, match=r"undeclared \['typo'\]"):
        make_row({**_values(), "typo": 1})
    import pandas as pd

    table = pd.DataFrame([make_row(_values())])
    check_table(table, COLUMN_NAMES, "test")
    with pytest.raises(ValueError, match=r"mine needs the column\(s\) \['cost'\]"):
        check_table(table, ["twojmax", "cost"], "mine")
    with pytest.raises(ValueError, match="table is empty"):
        check_table(table.iloc[:0], ["twojmax"], "mine")
    with pytest.raises(ValueError, match="must be a pandas DataFrame"):
        check_table(table.to_dict(), ["twojmax"], "mine")


def test_model_checks_its_coefficients_against_its_settings_and_round_trips():
    s = QSnapSettings(4, rcutfac=4.3, rfac0=0.95, elements=("Be",))
    c = np.r_[-3.7, np.arange(s.n_columns()) * 1e-3]
    m = SnapModel(c, s, 150.0, 1.0, 3, training_ids=["a", "b"])
    assert m.train_level == "3" and m.twojmax == 4 and m.elements == ("Be",)
    back = SnapModel.from_dict(m.to_dict())
    assert back.settings == s and back.training_ids == ("a", "b")
    np.testing.assert_array_equal(back.coefficients, c)
    with pytest.raises(ValueError, match="do not match the settings"):
        SnapModel(c[:-1], s, 1.0, 1.0, "1")
    with pytest.raises(ValueError, match="elements must be set"):
        SnapModel(c, QSnapSettings(4), 1.0, 1.0, "1")
    with pytest.raises(ValueError, match="NaN"):
        SnapModel(np.r_[np.nan, c[1:]], s, 1.0, 1.0, "1")
    with pytest.raises(ValueError):
        m.coefficients[0] = 1.0  # read-only: the model is what was fitted
