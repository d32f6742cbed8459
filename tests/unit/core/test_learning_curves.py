import numpy as np
import pandas as pd
import pytest

from pyiron_appmlip.core.learning_curves import (
    first_size_within,
    overdetermined_sizes,
    summarize_repetitions,
)


def test_median_and_band_by_hand():
    # 101 repetitions 0..100 of one setting: percentiles are the values themselves
    table = pd.DataFrame(
        {
            "sampler": ["a"] * 101 + ["b"] * 3,
            "subset_size": [10] * 104,
            "err": list(np.arange(101.0)[::-1]) + [1.0, 2.0, 9.0],
        }
    )
    out = summarize_repetitions(table, ["sampler", "subset_size"], ["err"])
    a = out[out["sampler"] == "a"].iloc[0]
    assert (a["n_repetitions"], a["err_center"], a["err_lo"], a["err_hi"]) == (101, 50, 16, 84)
    b = out[out["sampler"] == "b"].iloc[0]
    assert b["err_median"] == 2.0 and b["err_mean"] == 4.0 and b["err_max"] == 9.0
    mean = summarize_repetitions(table, ["sampler"], ["err"], center="mean")
    assert mean["err_center"].tolist() == [50.0, 4.0]
    with pytest.raises(ValueError, match=r"center must be one of \('median', 'mean'\)"):
        summarize_repetitions(table, ["sampler"], ["err"], center="mode")
    with pytest.raises(ValueError, match="band must be two percentiles"):
        summarize_repetitions(table, ["sampler"], ["err"], band=(84, 16))
    with pytest.raises(ValueError, match=r"columns \['nope'\] are not in the table"):
        summarize_repetitions(table, ["sampler"], ["nope"])


def test_overdetermined_sizes_for_the_worst_draw():
    # rows per configuration: 1 + 3 N for N = 1, 1, 2, 4 -> sorted 4, 4, 7, 13
    rows = [1 + 3 * n for n in (4, 1, 2, 1)]
    assert overdetermined_sizes([1, 2, 3, 4], rows, 8) == [2, 3, 4]
    assert overdetermined_sizes([1, 2, 3, 4], rows, 15) == [3, 4]
    assert overdetermined_sizes([1, 2, 3, 4, 5], rows, 29) == []  # 28 equations at most


def test_first_size_within():
    assert first_size_within([1, 2, 4, 8], [5.0, 1.0, 3.0, 1.0], 2.0) == 8
    assert first_size_within([1, 2, 4, 8], [5.0, 1.0, 1.5, 1.0], 2.0) == 2
    assert first_size_within([1, 2], [5.0, 3.0], 2.0) is None
    with pytest.raises(ValueError, match="sizes must increase"):
        first_size_within([2, 1], [1.0, 1.0], 2.0)
