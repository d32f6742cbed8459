"""The paper command's design, options and leverage comparison, and the stand-in's
structures: bad input is refused naming the parameter, and the leverage comparison is checked
against scipy on known numbers. The stand-in's labels are tested in
tests/integration/test_paper_reproduction.py (they come from LAMMPS)."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from pyiron_appmlip.reproduction.paper import (
    PaperDesign,
    _expected,
    _grids,
    _settings_of,
    compare_leverage,
    executor_spec,
    leverage_without_constant,
    main,
    run_paper,
)
from pyiron_appmlip.reproduction.paper_standin import standin_structures, write_standin


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"twojmax": (5,)}, "twojmax"),
        ({"twojmax": ()}, "twojmax must name at least one"),
        ({"sizes": (0, 10)}, "sizes must be positive integers"),
        ({"repetitions": 0}, "repetitions must be a positive integer"),
        ({"fit_convention": "mine"}, r"fit_convention must be one of \('package', 'authors'\)"),
        ({"draws": "some"}, "draws must be one of"),
        ({"curve_level": "7"}, "curve_level must be one of the training levels"),
        ({"curve_weight": 7.0}, "curve_weight must be one of weights"),
    ],
)
def test_a_bad_design_names_the_parameter(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PaperDesign(**kwargs)


def test_the_default_design_is_the_authors():
    d = PaperDesign()
    assert d.twojmax == (4, 6, 8, 10) and d.repetitions == 50
    assert d.weights == (5.0, 10.0, 12.25, 50.0, 150.0, 300.0)
    assert d.levels == ("1", "2", "3", "4", "5", "6") and d.truth_level == "6"
    assert d.sizes[0] == 100 and d.sizes[-1] == 9990 and d.draws == "independent"
    grids = _grids(d, [s for s in d.sizes if s < 9990])
    assert max(grids["samplers"].subset_sizes) == 3000
    assert grids["samplers"].train_levels == ["6"]
    assert [tuple(w) for w in grids["samplers"].weights] == [(150.0, 1.0)]


def test_expected_fits_are_recognised_in_row_keys():
    d = PaperDesign(twojmax=(4,), sizes=(10, 20), repetitions=2, weights=(5.0, 150.0))
    grids = _grids(d, [10, 20])
    expected = _expected(grids, 4)
    # front: 2 reps x 2 sizes x 2 weights x 6 levels; samplers: block and random add 2x2x2x1;
    # whole pool: 17 weights x 6 levels (5 and 150 among them)
    assert len(expected) == 48 + 8 + 17 * 6
    keys = {
        (4, s, r, 99 if s == "all" else size, w, 1.0, lv, 99 if s == "all" else size)
        for s, r, size, w, _, lv in expected
    }
    assert _settings_of(keys) == expected


def test_executor_names_and_bad_names():
    assert executor_spec("local", "out") == "local"
    slurm = executor_spec("slurm", "out", "debug")
    assert slurm["kind"] == "slurm_cluster" and slurm["resource_dict"]["partition"] == "debug"
    with pytest.raises(ValueError, match=r"executor must be one of \('local', 'serial', 'slurm'\)"):
        executor_spec("cloud", "out")


def test_workers_bound_the_local_pool_and_the_slurm_jobs_submitted_at_once(tmp_path):
    from pyiron_appmlip.executors import check_executor, worker_count

    assert "max_workers" not in executor_spec("slurm", "out")
    slurm = executor_spec("slurm", str(tmp_path), "debug", workers=2)
    assert slurm["max_workers"] == 2 and slurm["resource_dict"] == {
        "cores": 1,
        "partition": "debug",
    }
    assert slurm["cache_directory"] == str(tmp_path / "executor")
    local = executor_spec("local", "out", workers=3)
    assert worker_count(local, n_tasks=10) == 3 and worker_count(slurm) == 2
    assert executor_spec("serial", "out", workers=1) == "serial"
    for spec in (slurm, local):
        check_executor(spec)
    for bad in (0, -2, 1.5, True, "2"):
        with pytest.raises(ValueError, match="workers must be a positive integer"):
            executor_spec("slurm", "out", workers=bad)
    with pytest.raises(ValueError, match="workers must be 1 or None with executor 'serial'"):
        executor_spec("serial", "out", workers=2)
    # the command line passes --workers on, and a bad value stops it before any work
    from pyiron_appmlip.reproduction.paper import _parser, main

    args = _parser().parse_args(["--data", "d", "--executor", "slurm", "--workers", "4"])
    assert args.workers == 4
    out = tmp_path / "never"
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        main(["--data", str(tmp_path), "--out", str(out), "--executor", "slurm", "--workers", "0"])
    assert not out.exists()


def test_leverage_comparison_against_scipy(tmp_path):
    rng = np.random.default_rng(0)
    theirs = pd.DataFrame({"lev": rng.uniform(0.01, 1, 50), "block_lev": rng.uniform(1, 5, 50)})
    path = tmp_path / "df_leverage.csv"
    theirs.to_csv(path, index=False)
    ours = {"lev": theirs["lev"].to_numpy() * 1.1, "block_lev": theirs["block_lev"].to_numpy()}
    ours["block_lev"] = ours["block_lev"] + rng.normal(scale=0.5, size=50)
    out = compare_leverage(ours, str(path))
    assert out["lev"]["spearman"] == pytest.approx(1.0)
    assert out["lev"]["max_relative_difference"] == pytest.approx(0.1)
    assert out["lev"]["max_relative_difference_normalised"] == pytest.approx(0.0, abs=1e-12)
    expected = spearmanr(ours["block_lev"], theirs["block_lev"]).statistic
    assert out["block_lev"]["spearman"] == pytest.approx(expected)
    rel = np.abs(ours["block_lev"] - theirs["block_lev"]) / theirs["block_lev"]
    assert out["block_lev"]["max_relative_difference"] == pytest.approx(rel.max())
    with pytest.raises(ValueError, match="has 50 rows, the training pool 49"):
        compare_leverage({k: v[:49] for k, v in ours.items()}, str(path))
    theirs.drop(columns=["block_lev"]).to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"lacks the columns \['block_lev'\]"):
        compare_leverage(ours, str(path))


def test_the_command_refuses_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError):
        main(["--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")])
    with pytest.raises(ValueError, match="executor must be one of"):
        main(["--data", str(tmp_path), "--executor", "cloud", "--out", str(tmp_path / "o")])
    with pytest.raises(ValueError, match="descriptor_dtype must be 'float64' or 'float32'"):
        main(["--data", str(tmp_path), "--descriptor-dtype", "half", "--out", str(tmp_path)])
    with pytest.raises(FileNotFoundError, match="leverage_file"):
        main(["--data", str(tmp_path), "--leverage-file", str(tmp_path / "x.csv")])
    with pytest.raises(ValueError, match="engine must be 'scatter' or 'units', got 'fast'"):
        run_paper(str(tmp_path), str(tmp_path / "o"), engine="fast")


def test_standin_is_deterministic_and_a_prefix_of_larger_ones():
    a, b = standin_structures(3, seed=5), standin_structures(5, seed=5)
    for x, y in zip(a, b[:3], strict=True):
        np.testing.assert_array_equal(x.positions, y.positions)
    with pytest.raises(ValueError, match="n must be an integer >= 2"):
        write_standin("unused", n=1)
    with pytest.raises(ValueError, match="n_incomplete must be smaller than n"):
        write_standin("unused", n=5, n_incomplete=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(standin_structures(1, seed=0)) == 1


@pytest.mark.parametrize("n_configs", [3, 400])  # 400: more rows than one QR stack
def test_leverage_without_constant_equals_a_numpy_qr(n_configs):
    rng = np.random.default_rng(n_configs)
    sizes = rng.integers(2, 6, n_configs)
    scales = 10.0 ** rng.integers(-2, 5, 9)  # badly scaled columns, as qSNAP's
    blocks = [rng.normal(size=(1 + 3 * n, 9)) * scales for n in sizes]
    out = leverage_without_constant(lambda: iter(blocks), sizes, 150.0)
    weighted = [
        np.r_[150.0 / n, np.ones(3 * n)][:, None] * b for b, n in zip(blocks, sizes, strict=True)
    ]
    q, _ = np.linalg.qr(np.vstack(weighted))
    h = np.sum(q**2, axis=1)
    starts = np.cumsum([0] + [len(w) for w in weighted])
    np.testing.assert_allclose(out["lev"], h[starts[:-1]], rtol=1e-8)
    block = [h[a:b].sum() for a, b in zip(starts[:-1], starts[1:], strict=True)]
    np.testing.assert_allclose(out["block_lev"], block, rtol=1e-8)
    assert out["block_lev"].sum() == pytest.approx(9.0)  # the rank
