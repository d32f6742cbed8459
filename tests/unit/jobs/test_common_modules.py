"""The shared pieces of the job classes live in one module per concern; ``jobs._common`` still
hands out every one of them (the same objects, so state such as the held run locks is shared)."""

import importlib

import pyiron_appmlip.jobs._common as common

MODULES = ("_plain", "_plain_output", "_atomic_write", "_rerun", "_leftovers", "_run_lock")


def test_every_name_of_common_is_the_object_of_exactly_one_concern_module():
    modules = [importlib.import_module(f"pyiron_appmlip.jobs.{m}") for m in MODULES]
    for name in common.__all__:
        owners = [m.__name__ for m in modules if name in getattr(m, "__all__", ())]
        assert len(owners) == 1, (name, owners)
        owner = importlib.import_module(owners[0])
        assert getattr(common, name) is getattr(owner, name), name
    # nothing of a concern module is left out of the re-exports
    exported = {n for m in modules for n in m.__all__} - {"as_text"}
    assert exported == set(common.__all__)


def test_plain_values_and_tables_round_trip():
    import numpy as np
    import pandas as pd

    assert common.plain({1: (np.int64(2), np.array([1.5]))}) == {"1": [2, [1.5]]}
    table = pd.DataFrame({"a": [1.0, 2.0], "s": ["x", "yz"]})
    stored = common.table_to_hdf_dict(table)
    assert stored["s"].dtype.kind == "S"
    back = common.table_from_hdf_dict(stored, columns=["s"])
    assert list(back.columns) == ["s", "a"]
    assert list(back["s"]) == ["x", "yz"] and list(back["a"]) == [1.0, 2.0]
