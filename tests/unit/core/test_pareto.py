import numpy as np
import pandas as pd
import pytest

from pyiron_appmlip.core.pareto import pareto_front, pareto_mask


def brute_force(v):
    v = np.asarray(v, float)
    keep = []
    for i, x in enumerate(v):
        if np.isnan(x).any():
            keep.append(False)
            continue
        dominated = any(
            np.all(y <= x) and np.any(y < x)
            for j, y in enumerate(v)
            if j != i and not np.isnan(y).any()
        )
        keep.append(not dominated)
    return np.array(keep)


def test_hand_made_2d_front():
    # energy, force RMSE; the front is known by construction: rows 0, 1, 3, 6 (6 duplicates 3)
    table = np.array(
        [
            [1.0, 10.0],  # 0 front (best energy)
            [2.0, 5.0],  # 1 front
            [2.5, 6.0],  # 2 dominated by 1
            [4.0, 2.0],  # 3 front
            [4.0, 3.0],  # 4 dominated by 3 (equal energy, worse force)
            [5.0, 2.0],  # 5 dominated by 3
            [4.0, 2.0],  # 6 duplicate of 3: kept
            [np.nan, 0.0],  # 7 NaN never on the front
        ]
    )
    assert np.flatnonzero(pareto_mask(table)).tolist() == [0, 1, 3, 6]


def test_hand_made_3d_front_with_cost():
    df = pd.DataFrame(
        {
            "e": [1, 1, 2, 3, 3],
            "f": [5, 5, 4, 1, 2],
            "cost": [100, 50, 10, 10, 10],
        }
    )
    front = pareto_front(df, ["e", "f", "cost"])
    # row 0 dominated by row 1 (same errors, cheaper); row 4 dominated by row 3
    assert sorted(front.index) == [1, 2, 3]


def test_maximize_flag():
    v = np.array([[1.0, 100.0], [1.0, 200.0], [0.5, 50.0]])
    # minimise error, maximise throughput
    assert np.flatnonzero(pareto_mask(v, maximize=[False, True])).tolist() == [1, 2]


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_random_against_brute_force(k):
    rng = np.random.default_rng(k)
    v = rng.integers(0, 6, size=(150, k)).astype(float)  # many ties
    assert np.array_equal(pareto_mask(v), brute_force(v))


def test_errors():
    with pytest.raises(ValueError, match="objectives"):
        pareto_front(pd.DataFrame({"a": [1]}), ["b"])
    with pytest.raises(ValueError, match="maximize"):
        pareto_mask(np.zeros((3, 2)), maximize=[True])


def test_infinite_values_and_a_string_of_objectives_are_refused():
    import pandas as pd

    from pyiron_appmlip.core.pareto import pareto_front

    v = np.array([[1.0, 2.0], [2.0, 1.0], [np.inf, 0.5], [0.1, -np.inf]])
    with pytest.raises(ValueError, match=r"rows \[2, 3\] hold \+-inf"):
        pareto_mask(v)
    assert pareto_mask(np.array([[1.0, np.nan], [2.0, 1.0]])).tolist() == [False, True]
    table = pd.DataFrame({"e": [1.0, 2.0], "f": [2.0, 1.0]})
    with pytest.raises(ValueError, match=r"list of column names, e.g. \['ef'\]"):
        pareto_front(table, "ef")
    assert len(pareto_front(table, ["e", "f"])) == 2


def brute_force_strict(v):
    v = np.asarray(v, float)
    ok = ~np.isnan(v).any(axis=1)
    return np.array(
        [
            ok[i] and not any(ok[j] and np.all(v[j] < v[i]) for j in range(len(v)))
            for i in range(len(v))
        ]
    )


@pytest.mark.parametrize("k", [2, 3, 4])
def test_strict_dominance_against_brute_force(k):
    rng = np.random.default_rng(10 + k)
    v = rng.integers(0, 6, size=(150, k)).astype(float)
    v[::17, 0] = np.nan
    strict = pareto_mask(v, dominance="strict")
    assert np.array_equal(strict, brute_force_strict(v))
    assert np.all(strict >= pareto_mask(v))  # the strict front contains the standard one
    assert strict.sum() > pareto_mask(v).sum()  # and, with ties, more


def test_strict_dominance_keeps_a_tie_in_one_objective():
    table = pd.DataFrame({"e": [1.0, 1.0, 2.0], "f": [1.0, 2.0, 3.0]})
    assert list(pareto_front(table, ["e", "f"]).index) == [0]
    assert list(pareto_front(table, ["e", "f"], dominance="strict").index) == [0, 1]
    with pytest.raises(ValueError, match=r"dominance must be one of \('standard', 'strict'\)"):
        pareto_mask(table.to_numpy(), dominance="weak")


def test_a_text_objective_is_named_with_the_numeric_columns():
    df = pd.DataFrame(
        {
            "e": [1.0, 2.0, 3.0],
            "f": [3.0, 1.0, 2.0],
            "sampler": ["leverage", "random", "all"],
            "cost": ["10", "20", None],  # numbers read as text (e.g. from a file), one missing
        }
    )
    with pytest.raises(
        ValueError,
        match=r"pareto_front: objective 'sampler' holds str 'leverage' \(row 0\), not a number; "
        r"objectives are numeric columns to minimise, e.g. \['e', 'f'\]",
    ):
        pareto_front(df, ["e", "sampler"])
    # text that reads as numbers is taken as numbers; the missing one is never on the front
    front = pareto_front(df, ["e", "f", "cost"])
    expected = pareto_mask(np.array([[1, 3, 10], [2, 1, 20], [3, 2, np.nan]], dtype=float))
    assert sorted(front.index) == np.flatnonzero(expected).tolist() == [0, 1]
    with pytest.raises(ValueError, match="values must be numbers"):
        pareto_mask([["a", 1.0]])
