import numpy as np
import pandas as pd
import pytest

from pyiron_appmlip.core.pareto import pareto_front
from pyiron_appmlip.core.sampling import sampling_order
from pyiron_appmlip.study import Recommendation, acquisition_plan, budget_scan, recommend

LEVELS = ("2", "3", "4", "5")
SECONDS_PER_CONFIG = {"2": 10.0, "3": 15.0, "4": 19.0, "5": 92.0}
DFT_ENERGY_ERROR = {"2": 40.0, "3": 11.0, "4": 6.0, "5": 0.5}  # meV/atom vs truth
DFT_FORCE_ERROR = {"2": 120.0, "3": 40.0, "4": 15.0, "5": 2.0}  # meV/Angstrom vs truth
ENERGY_FLOOR = {4: 20.0, 6: 10.0, 8: 5.0}
FORCE_FLOOR = {4: 260.0, 6: 160.0, 8: 105.0}
N_DESCRIPTORS = {4: 119, 6: 495, 8: 1595}
THROUGHPUT = {4: 4.0e5, 6: 1.0e5, 8: 4.0e4}


def synthetic_table(seed=0, twojmax=(4, 6, 8), ratios=(5.0, 50.0, 300.0), sizes=(25, 50, 100, 200)):
    """A plausible sweep table: errors fall with 2Jmax and subset size, low levels carry DFT
    errors into the truth-level errors (more so at high energy weight), leverage beats random,
    DFT cost grows with level and size."""
    rng = np.random.default_rng(seed)
    rows = []
    for tj in twojmax:
        complexity = {4: 0.3, 6: 0.6, 8: 1.0}[tj]
        for lv in LEVELS:
            for ratio in ratios:
                r = np.log(ratio / ratios[0]) / np.log(ratios[-1] / ratios[0])
                units = [("all", 0, 400)]
                for sampler in ("leverage", "block_leverage", "random"):
                    for rep in range(3):
                        units += [(sampler, rep, s) for s in sizes]
                for sampler, rep, size in units:
                    penalty = {"random": 2.5, "block_leverage": 1.1}.get(sampler, 1.0)
                    conv = np.sqrt(200.0 / size) * penalty
                    noise = rng.normal(1.0, 0.03, size=4)
                    e_own = ENERGY_FLOOR[tj] * (1.3 - 0.4 * r) + 3.0 * conv
                    f_own = FORCE_FLOOR[tj] * (0.9 + 0.3 * r) + 15.0 * conv
                    e_truth = e_own + DFT_ENERGY_ERROR[lv] * complexity * (0.3 + 0.7 * r)
                    f_truth = f_own + DFT_FORCE_ERROR[lv] * complexity * 0.5
                    seconds = size * SECONDS_PER_CONFIG[lv] * rng.uniform(0.9, 1.1)
                    rows.append(
                        {
                            "twojmax": tj,
                            "n_descriptors": N_DESCRIPTORS[tj],
                            "sampler": sampler,
                            "repetition": rep,
                            "subset_size": size,
                            "energy_weight": ratio,
                            "force_weight": 1.0,
                            "weight_ratio": ratio,
                            "train_level": lv,
                            "truth_level": "6",
                            "energy_rmse_train": 0.8 * e_own * noise[0],
                            "force_rmse_train": 0.9 * f_own * noise[1],
                            "energy_rmse_test": e_own * noise[0],
                            "energy_rmse_test_shifted": 0.9 * e_own * noise[0],
                            "force_rmse_test": f_own * noise[1],
                            "energy_rmse_test_truth": e_truth * noise[2],
                            "energy_rmse_test_truth_shifted": 0.9 * e_truth * noise[2],
                            "force_rmse_test_truth": f_truth * noise[3],
                            "dft_seconds": seconds,
                            "n_train_atoms": 8 * size,
                            "atom_steps_per_second": THROUGHPUT[tj],
                            "descriptors_job": 10 + tj,
                            "labelling_job": 20 + int(lv),
                            "truth_labelling_job": 26,
                        }
                    )
    return pd.DataFrame(rows)


def hand_table():
    """Seven models whose best choice under each constraint is known by construction."""
    rows = [
        # name, 2Jmax, level, w_E, w_F, size, E, F, seconds, throughput
        ("A", 4, "3", 1.0, 1.0, 10, 10.0, 100.0, 360.0, 4e5),
        ("B", 4, "4", 1.0, 1.0, 10, 8.0, 90.0, 3600.0, 4e5),
        ("C", 8, "4", 1.0, 1.0, 10, 5.0, 60.0, 3600.0, 4e4),
        ("D", 8, "5", 1.0, 1.0, 20, 4.0, 50.0, 36000.0, 4e4),
        ("E", 8, "5", 10.0, 1.0, 20, 3.0, 70.0, 36000.0, 4e4),
        ("F", 8, "3", 1.0, 1.0, 10, 20.0, 200.0, 720.0, 4e4),
        ("G", 8, "5", 1.0, 10.0, 20, 6.0, 45.0, 36000.0, 4e4),
    ]
    df = pd.DataFrame(
        rows,
        columns=[
            "name",
            "twojmax",
            "train_level",
            "energy_weight",
            "force_weight",
            "subset_size",
            "energy_rmse_test_truth",
            "force_rmse_test_truth",
            "dft_seconds",
            "atom_steps_per_second",
        ],
    )
    df["sampler"] = "leverage"
    df["repetition"] = 0
    df["truth_level"] = "6"
    df["weight_ratio"] = df["energy_weight"] / df["force_weight"]
    return df.set_index("name")


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({}, "D"),
        ({"preference": 0.0}, "G"),
        ({"preference": 1.0}, "E"),
        ({"max_twojmax": 6}, "B"),
        ({"min_atom_steps_per_second": 1e5}, "B"),
        ({"dft_budget_core_hours": 2.0}, "C"),  # C dominates B at the same cost
        ({"dft_budget_core_hours": 2.0, "cores_per_calculation": 4}, "A"),
        ({"dft_budget_core_hours": 0.15}, "A"),
        ({"energy_target": 4.5}, "D"),
        ({"energy_target": 4.5, "preference": 1.0}, "E"),
        ({"energy_target": 5.5, "force_target": 55.0}, "D"),
        ({"force_target": 95.0, "max_twojmax": 4}, "B"),
    ],
)
def test_recommend_picks_known_best_under_each_constraint(kwargs, expected):
    result = recommend(hand_table(), **kwargs)
    assert isinstance(result, Recommendation)
    assert result.model_index == expected
    assert result.targets_met
    assert expected in [r[0] for r in result.candidates["rows"]]


def test_recommend_result_contents_and_summary():
    table = hand_table()
    result = recommend(table, dft_budget_core_hours=2.0, cores_per_calculation=1)
    assert result.settings == {
        "train_level": "4",
        "twojmax": 8,
        "energy_weight": 1.0,
        "force_weight": 1.0,
        "weight_ratio": 1.0,
        "sampler": "leverage",
        "subset_size": 10,
        "truth_level": "6",
    }
    assert result.expected_errors == {"energy_rmse": 5.0, "force_rmse": 60.0}
    assert result.costs["dft_seconds"] == 3600.0
    assert result.costs["dft_core_hours"] == pytest.approx(1.0)
    assert result.costs["atom_steps_per_second"] == 4e4
    # the candidate set is the Pareto front of the rows within the budget (A, C; B and F dominated)
    assert sorted(r[0] for r in result.candidates["rows"]) == ["A", "C"]
    assert result.candidates["score"].is_monotonic_increasing
    text = result.summary()
    for piece in ("training level      4", "2Jmax               8", "meV/atom", "meV/Angstrom"):
        assert piece in text
    assert "core-hours" in text and "dft_budget_core_hours=2" in text


def test_recommend_closest_when_targets_unreachable():
    result = recommend(hand_table(), energy_target=1.0)
    assert not result.targets_met
    assert result.model_index == "E"  # smallest energy shortfall
    assert "no model meets the targets" in result.summary()
    result = recommend(hand_table(), energy_target=1.0, force_target=1.0, max_twojmax=4)
    assert not result.targets_met and result.model_index in ("A", "B")


def test_recommend_tie_goes_to_the_cheaper_training_set():
    df = pd.DataFrame(
        {
            "twojmax": [6, 6],
            "train_level": ["4", "3"],
            "energy_weight": [1.0, 1.0],
            "force_weight": [1.0, 2.0],
            "sampler": ["leverage", "leverage"],
            "subset_size": [50, 50],
            "energy_rmse_test_truth": [4.0, 6.0],
            "force_rmse_test_truth": [60.0, 40.0],
            "dft_seconds": [100.0, 50.0],
        }
    )
    # relative excess: row 0 = 0.5 * 0 + 0.5 * (60/40 - 1) = 0.25 = row 1 = 0.5 * (6/4 - 1)
    assert recommend(df, preference=0.5).model_index == 1
    df.loc[1, "dft_seconds"] = 200.0
    assert recommend(df, preference=0.5).model_index == 0


def test_recommend_averages_repetitions():
    base = {
        "twojmax": 6,
        "train_level": "4",
        "energy_weight": 1.0,
        "force_weight": 1.0,
        "sampler": "random",
        "subset_size": 50,
        "dft_seconds": 100.0,
    }
    df = pd.DataFrame(
        [
            {**base, "repetition": 0, "energy_rmse_test_truth": 2.0, "force_rmse_test_truth": 50},
            {**base, "repetition": 1, "energy_rmse_test_truth": 8.0, "force_rmse_test_truth": 70},
            {
                **base,
                "sampler": "leverage",
                "repetition": 0,
                "energy_rmse_test_truth": 4.0,
                "force_rmse_test_truth": 55.0,
            },
        ]
    )
    # the lucky random repetition (row 0) wins on its own, but not on average
    assert recommend(df, aggregate=None).model_index == 0
    result = recommend(df)
    assert result.settings["sampler"] == "leverage" and result.model_index == 2
    # leverage (4, 55) dominates the random mean (5, 60) at equal cost
    assert len(result.candidates) == 1
    df.loc[2, "dft_seconds"] = 1000.0
    result = recommend(df, preference=0.0)
    front = result.candidates.set_index("sampler")
    assert front.loc["random", "energy_rmse_test_truth"] == pytest.approx(5.0)
    assert front.loc["random", "n_repetitions"] == 2
    assert front.loc["random", "rows"] == (0, 1)


def test_recommend_on_synthetic_sweep_follows_the_budget():
    table = synthetic_table()
    full = recommend(table, preference=0.5)
    # expected errors are means over repetitions; the best model is Pareto-optimal on average
    assert full.settings["twojmax"] == 8
    cheap = recommend(table, preference=0.5, dft_budget_core_hours=0.5)
    assert cheap.costs["dft_core_hours"] <= 0.5
    assert cheap.expected_errors["energy_rmse"] >= full.expected_errors["energy_rmse"]
    slow = recommend(table, min_atom_steps_per_second=2e5)
    assert slow.settings["twojmax"] == 4
    scan = budget_scan(table, [0.01, 0.2, 1.0, 100.0])
    assert scan["train_level"].iloc[0] is None  # below the cheapest training set
    e = scan["energy_rmse"].iloc[1:].to_numpy()
    assert np.all(np.diff(e) <= 1e-12)  # more budget never hurts
    assert scan["dft_core_hours"].iloc[1] <= 0.2


def test_recommend_errors():
    table = hand_table()
    with pytest.raises(ValueError, match="table is empty"):
        recommend(table.iloc[:0])
    with pytest.raises(ValueError, match=r"dft_seconds"):
        recommend(table.drop(columns="dft_seconds"))
    with pytest.raises(ValueError, match=r"\['not_a_column'\]"):
        recommend(table, energy_column="not_a_column")
    for bad in (-0.1, 1.5, "x", True):
        with pytest.raises(ValueError, match="preference must be a number in \\[0, 1\\]"):
            recommend(table, preference=bad)
    with pytest.raises(ValueError, match="max_twojmax=2.*smallest 2Jmax in the table is 4"):
        recommend(table, max_twojmax=2)
    with pytest.raises(ValueError, match="min_atom_steps_per_second=1e\\+06.*4e\\+05 atom-steps"):
        recommend(table, min_atom_steps_per_second=1e6)
    with pytest.raises(ValueError, match="dft_budget_core_hours=0.01.*0.1 core-hours"):
        recommend(table, dft_budget_core_hours=0.01)
    with pytest.raises(ValueError, match="energy_target must be a number > 0"):
        recommend(table, energy_target=-1)
    with pytest.raises(ValueError, match="cores_per_calculation must be a positive integer"):
        recommend(table, cores_per_calculation=0)
    with pytest.raises(ValueError, match="aggregate must be one of"):
        recommend(table, aggregate="median")
    no_aps = table.assign(atom_steps_per_second=np.nan)
    with pytest.raises(ValueError, match="atom_steps_per_second is not measured"):
        recommend(no_aps, min_atom_steps_per_second=1.0)
    two_truths = table.assign(truth_level=["5", "6", "6", "6", "6", "6", "6"])
    with pytest.raises(ValueError, match="several truth levels"):
        recommend(two_truths)
    assert recommend(two_truths, truth_level="5").model_index == "A"
    with pytest.raises(ValueError, match="no row has finite values"):
        recommend(table.assign(force_rmse_test_truth=np.nan))


def test_recommend_ignores_nan_rows_and_says_so():
    table = hand_table()
    table.loc["D", "energy_rmse_test_truth"] = np.nan
    result = recommend(table)
    assert result.model_index != "D"
    assert any("1 row(s)" in n for n in result.notes)


def test_recommend_refuses_infinite_errors_and_costs():
    for column, value in (("energy_rmse_test_truth", np.inf), ("dft_seconds", -np.inf)):
        table = hand_table()
        table.loc["D", column] = value
        with pytest.raises(ValueError, match=r"\+-inf in .* at rows \['D'\]"):
            recommend(table)


def test_acquisition_plan_reproducible_and_proportional():
    ids = [f"cfg{i}" for i in range(6)]
    lev = np.array([8.0, 4.0, 2.0, 1.0, 1.0, 0.0])
    a = acquisition_plan(ids, lev, 4, level=3, seed=7)
    b = acquisition_plan(ids, lev, 4, level=3, seed=7)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == [
        "order",
        "configuration_id",
        "pool_index",
        "leverage",
        "level",
        "sampler",
    ]
    assert a["level"].eq("3").all() and a["order"].tolist() == [0, 1, 2, 3]
    expected = sampling_order("leverage", 6, leverage=lev, seed=7)[:4]
    assert a["pool_index"].tolist() == expected.tolist()
    assert a["configuration_id"].tolist() == [ids[i] for i in expected]
    # zero leverage is never drawn while positive scores remain
    assert "cfg5" not in acquisition_plan(ids, lev, 5, level=3, seed=1)["configuration_id"].tolist()
    # first draw proportional to leverage: P(cfg0) = 8 / 16
    firsts = [
        acquisition_plan(ids, lev, 1, level=1, seed=s)["pool_index"].iloc[0] for s in range(600)
    ]
    freq = np.bincount(firsts, minlength=6) / len(firsts)
    assert np.allclose(freq, lev / lev.sum(), atol=0.06)


def test_acquisition_plan_block_random_and_costs():
    ids = ["a", "b", "c"]
    block = np.array([1.0, 5.0, 2.0])
    cost = np.array([10.0, 20.0, 30.0])
    plan = acquisition_plan(
        ids, None, 3, level=4, sampler="block_leverage", block_leverage=block, dft_seconds=cost
    )
    assert sorted(plan["configuration_id"]) == ids
    assert plan["estimated_dft_seconds"].tolist() == cost[plan["pool_index"]].tolist()
    assert plan["cumulative_dft_seconds"].iloc[-1] == pytest.approx(60.0)
    assert plan["block_leverage"].tolist() == block[plan["pool_index"]].tolist()
    random = acquisition_plan(ids, None, 2, level="5", sampler="random", seed=3)
    assert random["pool_index"].tolist() == sampling_order("random", 3, seed=3)[:2].tolist()


def test_acquisition_plan_errors():
    ids = ["a", "b"]
    with pytest.raises(ValueError, match="sampler must be one of"):
        acquisition_plan(ids, [1, 1], 1, level=1, sampler="best")
    with pytest.raises(ValueError, match=r"n must be an integer in \[1, 2\]"):
        acquisition_plan(ids, [1, 1], 3, level=1)
    with pytest.raises(ValueError, match="leverage must have one score per configuration"):
        acquisition_plan(ids, [1, 1, 1], 1, level=1)
    with pytest.raises(ValueError, match="needs the regular leverage"):
        acquisition_plan(ids, None, 1, level=1)
    with pytest.raises(ValueError, match="unique"):
        acquisition_plan(["a", "a"], [1, 1], 1, level=1)
    with pytest.raises(ValueError, match="dft_seconds must have one estimate"):
        acquisition_plan(ids, [1, 1], 1, level=1, dft_seconds=[1.0])
    with pytest.raises(ValueError, match="level must be"):
        acquisition_plan(ids, [1, 1], 1, level=None)


def test_synthetic_table_has_the_sweep_columns_and_a_front():
    table = synthetic_table()
    front = pareto_front(table, ["energy_rmse_test_truth", "force_rmse_test_truth", "dft_seconds"])
    assert 0 < len(front) < len(table)
    assert set(table["sampler"]) == {"leverage", "block_leverage", "random", "all"}


def test_recommend_and_plots_accept_a_table_from_run_sweep(tmp_path):
    from pyiron_appmlip.study import plot_pareto
    from pyiron_appmlip.training.labels import Labels
    from pyiron_appmlip.training.sweep import InMemoryBlocks, SweepGrid, run_sweep

    rng = np.random.default_rng(0)
    ids = [f"c{i}" for i in range(30)]
    n_atoms = rng.integers(1, 4, size=len(ids))
    blocks = {i: rng.normal(size=(1 + 3 * n, 6)) for i, n in zip(ids, n_atoms, strict=True)}
    beta = rng.normal(size=6)
    labels = {}
    for level, noise in (("1", 0.3), ("2", 0.05), ("3", 0.01)):
        energies = [blocks[i][0] @ beta + noise * rng.normal() for i in ids]
        forces = [
            (blocks[i][1:] @ beta + noise * rng.normal(size=3 * n))
            for i, n in zip(ids, n_atoms, strict=True)
        ]
        labels[level] = Labels.from_arrays(
            ids, energies, forces, wall_times=float(level) * n_atoms, job_id=int(level)
        )
    grid = SweepGrid(
        train_levels=["1", "2", "3"],
        subset_sizes=[8, 16],
        weights=[1, 100],
        samplers=["leverage", "random", "all"],
        repetitions=2,
    )
    sources = {
        2: InMemoryBlocks(blocks),
        4: InMemoryBlocks({i: b[:, :4] for i, b in blocks.items()}),
    }
    table = pd.DataFrame(
        run_sweep(sources, labels, ids[:22], ids[22:], grid, "3", atom_steps_per_second={2: 1e6})
    )
    result = recommend(table, preference=0.5)
    assert result.model_index in table.index
    chosen = table.loc[result.model_index]
    for key in ("twojmax", "sampler", "subset_size", "train_level"):
        assert chosen[key] == result.settings[key]
    assert "truth level 3" in result.summary()
    with pytest.raises(ValueError, match="min_atom_steps_per_second=1e\\+07"):
        recommend(table, min_atom_steps_per_second=1e7)
    assert recommend(table, min_atom_steps_per_second=1e5).settings["twojmax"] == 2
    plot_pareto(table, path=tmp_path / "pareto.png")
    assert (tmp_path / "pareto.png").stat().st_size > 5000


def _cost_table(wall_times, level_costs=None):
    """A fit table of two levels from run_sweep; ``wall_times(level, n_atoms)`` gives the
    recorded times (None: none recorded, as for imported labels)."""
    from pyiron_appmlip.training.labels import Labels
    from pyiron_appmlip.training.sweep import InMemoryBlocks, SweepGrid, run_sweep

    rng = np.random.default_rng(4)
    ids = [f"c{i}" for i in range(24)]
    n_atoms = rng.integers(1, 4, size=len(ids))
    blocks = {i: rng.normal(size=(1 + 3 * n, 5)) for i, n in zip(ids, n_atoms, strict=True)}
    beta = rng.normal(size=5)
    labels = {}
    for level, noise in (("1", 0.3), ("2", 0.01)):
        labels[level] = Labels.from_arrays(
            ids,
            [blocks[i][0] @ beta + noise * rng.normal() for i in ids],
            [
                blocks[i][1:] @ beta + noise * rng.normal(size=3 * n)
                for i, n in zip(ids, n_atoms, strict=True)
            ],
            wall_times=wall_times(level, n_atoms),
        )
    grid = SweepGrid(["1", "2"], [6, 12], [1, 100], samplers=["random", "all"], repetitions=2)
    rows = run_sweep(
        {2: InMemoryBlocks(blocks)}, labels, ids[:18], ids[18:], grid, "2", level_costs=level_costs
    )
    return pd.DataFrame(rows)


def test_the_recommendation_names_the_cost_source():
    measured = _cost_table(lambda level, n: 10.0 * float(level) * n)
    result = recommend(measured)
    assert result.costs["dft_cost_source"] == "measured wall time"
    assert result.cost_sources == {"1": "measured wall time", "2": "measured wall time"}
    assert "DFT cost source     measured wall time" in result.summary()
    assert not any("DFT cost" in note for note in result.notes)
    # imported labels without times and no given cost: said, not silently 0 s
    unknown = _cost_table(lambda level, n: None)
    assert (unknown["dft_seconds"] == 0.0).all()
    result = recommend(unknown)
    assert result.costs["dft_cost_source"].startswith("unknown")
    text = result.summary()
    assert "DFT cost source     unknown" in text
    assert "Note: the DFT cost of level(s) ['1', '2'] is unknown" in text
    assert "level_costs" in text
    # a cost given for one level, the other measured: both named, and the mix noted
    given = _cost_table(
        lambda level, n: None if level == "1" else 30.0 * n, level_costs={"1": {"per_atom": 2.0}}
    )
    result = recommend(given, dft_budget_core_hours=1e3)
    assert result.cost_sources == {"1": "given: 2 s per atom", "2": "measured wall time"}
    assert any(
        "different sources" in note and "given: 2 s per atom" in note for note in result.notes
    )
    assert f"DFT cost source     {result.cost_sources[result.settings['train_level']]}" in (
        result.summary()
    )
    scan = budget_scan(given, [1e-3, 1e3])
    assert scan["dft_cost_source"].iloc[-1] in ("given: 2 s per atom", "measured wall time")
    # a table without the column (made elsewhere) says that the source is not recorded
    result = recommend(measured.drop(columns="dft_cost_source"))
    assert result.cost_sources == {}
    assert "DFT cost source     not recorded in the table" in result.summary()


def test_a_text_column_as_an_objective_is_named():
    from pyiron_appmlip.study import plot_pareto

    table = hand_table()
    with pytest.raises(ValueError, match=r"recommend: objective 'sampler' holds str 'leverage'"):
        recommend(table, energy_column="sampler")
    with pytest.raises(
        ValueError, match=r"plot_pareto: objective 'sampler' holds str 'leverage' \(row 'A'\)"
    ):
        plot_pareto(table, color="sampler")


def brute_force_recommendation(table, max_e, max_f, preference):
    """Index of the row recommend(aggregate=None) should choose: filter by the limits, Pareto
    front of (E, F, cost) by pairwise comparison, lowest relative score, ties to the cheapest."""
    rows = [
        (idx, float(e), float(f), float(c))
        for idx, e, f, c in zip(
            table.index,
            table["energy_rmse_test_truth"],
            table["force_rmse_test_truth"],
            table["dft_seconds"],
            strict=True,
        )
        if e <= max_e and f <= max_f
    ]
    if not rows:
        return None
    front = [
        r
        for r in rows
        if not any(
            all(o[k] <= r[k] for k in (1, 2, 3)) and any(o[k] < r[k] for k in (1, 2, 3))
            for o in rows
        )
    ]
    e_min, f_min = min(r[1] for r in front), min(r[2] for r in front)

    def key(r):
        score = preference * (r[1] / e_min - 1) + (1 - preference) * (r[2] / f_min - 1)
        return (round(score, 12), r[3])

    return min(front, key=key)[0]


def test_error_limits_match_a_brute_force_filter_of_a_small_table():
    table = synthetic_table(twojmax=(4, 6), sizes=(50, 200)).sample(90, random_state=3)
    e, f = table["energy_rmse_test_truth"], table["force_rmse_test_truth"]
    checked = 0
    for max_e in (e.quantile(0.2), e.quantile(0.6), np.inf):
        for max_f in (f.quantile(0.3), f.quantile(0.7), np.inf):
            for preference in (0.0, 0.1, 0.5, 0.9, 1.0):
                expected = brute_force_recommendation(table, max_e, max_f, preference)
                kwargs = {
                    "max_energy_rmse": None if np.isinf(max_e) else max_e,
                    "max_force_rmse": None if np.isinf(max_f) else max_f,
                }
                if expected is None:
                    with pytest.raises(ValueError, match="no model satisfies max_"):
                        recommend(table, preference=preference, aggregate=None, **kwargs)
                    continue
                result = recommend(table, preference=preference, aggregate=None, **kwargs)
                assert result.model_index == expected
                assert (result.candidates["energy_rmse_test_truth"] <= max_e).all()
                assert (result.candidates["force_rmse_test_truth"] <= max_f).all()
                checked += 1
    assert checked >= 30
    # with repetitions averaged the limits apply to the means
    mean = recommend(synthetic_table(), max_energy_rmse=25.0, max_force_rmse=230.0)
    assert (mean.candidates["energy_rmse_test_truth"] <= 25.0).all()
    assert (mean.candidates["force_rmse_test_truth"] <= 230.0).all()
    assert "max_force_rmse=230" in mean.summary()


def test_error_limits_that_leave_nothing_name_the_limit_and_the_best_value():
    table = hand_table()  # best energy 3 (E), best force 45 (G); within 2Jmax 4: 8 and 90 (B)
    with pytest.raises(ValueError, match=r"max_energy_rmse=2 meV/atom: the smallest .* is 3 "):
        recommend(table, max_energy_rmse=2.0)
    with pytest.raises(
        ValueError,
        match=r"max_force_rmse=80 meV/Angstrom: the smallest force_rmse_test_truth \(mean over "
        r"repetitions\) among the remaining models under max_twojmax=4 is 90 meV/Angstrom",
    ):
        recommend(table, max_twojmax=4, max_force_rmse=80.0)
    with pytest.raises(ValueError, match=r"under max_energy_rmse=3.5 is 70 meV/Angstrom"):
        recommend(table, max_energy_rmse=3.5, max_force_rmse=60.0)  # only E is left
    for bad in (0, -1.0, "x", np.nan):
        with pytest.raises(ValueError, match="max_force_rmse must be a number > 0"):
            recommend(table, max_force_rmse=bad)
    # a budget scan gives no recommendation for budgets that cannot meet the limit
    scan = budget_scan(table, [0.15, 20.0], max_force_rmse=55.0)
    assert scan["train_level"].iloc[0] is None and scan["force_rmse"].iloc[1] <= 55.0


def test_preference_trades_relative_errors_at_the_documented_rate():
    def two(energy_b):
        return pd.DataFrame(
            {
                "twojmax": [6, 6],
                "train_level": ["3", "3"],
                "energy_weight": [100.0, 1.0],
                "force_weight": [1.0, 1.0],
                "sampler": ["all", "all"],
                "subset_size": [50, 50],
                "energy_rmse_test_truth": [1.0, energy_b],  # A: best energy
                "force_rmse_test_truth": [14.0, 10.0],  # A: forces 40 % above B's
                "dft_seconds": [100.0, 100.0],
            },
            index=["A", "B"],
        )

    # preference 0.1: 1 % of force error is worth 9 % of energy error, 40 % worth 360 %
    assert recommend(two(4.7), preference=0.1).model_index == "A"  # B's energy 370 % above
    assert recommend(two(4.5), preference=0.1).model_index == "B"  # 350 % above
    assert recommend(two(1.45), preference=0.5).model_index == "A"  # 45 % > 40 %
    assert recommend(two(1.35), preference=0.5).model_index == "B"
    assert recommend(two(100.0), preference=0.0).model_index == "B"
    # a hard limit on the force error excludes A whatever the preference
    assert recommend(two(4.7), preference=0.1, max_force_rmse=12.0).model_index == "B"


@pytest.mark.parametrize("value", [-1.0, np.nan])
def test_negative_or_missing_dft_seconds_are_refused_naming_the_rows(value):
    table = hand_table()
    table.loc[["C", "F"], "dft_seconds"] = value
    with pytest.raises(ValueError, match=r"dft_seconds must be .* >= 0.*rows \['C', 'F'\]"):
        recommend(table, dft_budget_core_hours=100.0)
    with pytest.raises(ValueError, match=r"rows \['C', 'F'\]"):
        recommend(table)
