"""Sweep inputs: subset sizes must be integers, and the join of descriptors and labels by
configuration id is reported (no engines)."""

import numpy as np
import pytest

from pyiron_appmlip.training.labels import Labels
from pyiron_appmlip.training.sweep import InMemoryBlocks, SweepGrid, run_sweep


def _data(ids, p=3, seed=0):
    rng = np.random.default_rng(seed)
    blocks = {i: rng.normal(size=(1 + 3 * 2, p)) for i in ids}
    labels = Labels(
        {i: float(rng.normal()) for i in ids}, {i: rng.normal(size=(2, 3)) for i in ids}
    )
    return blocks, labels


def test_subset_sizes_must_be_integers():
    with pytest.raises(ValueError, match=r"subset_sizes must be positive integers, got \[2.7\]"):
        SweepGrid(["1"], [2.7], [150])
    for bad in (["3"], [True], [0], [-2]):
        with pytest.raises(ValueError, match="subset_sizes must be positive integers"):
            SweepGrid(["1"], bad, [150])
    assert SweepGrid(["1"], [4.0, 2], [150]).subset_sizes == [2, 4]


def test_join_of_descriptors_and_labels_is_reported():
    ids = [f"c{k:02d}" for k in range(12)]
    blocks, labels = _data(ids)
    # labels of two descriptor configurations are missing; one label has no descriptors
    for cid in ("c00", "c01"):
        del labels.energies[cid], labels.forces[cid]
    labels.energies["extra"], labels.forces["extra"] = 0.0, np.zeros((2, 3))
    train, test = ids[:9], ids[9:]
    report, messages = {}, []
    grid = SweepGrid(["1"], [], [150], samplers=["all"])
    rows = run_sweep(
        {4: InMemoryBlocks(blocks)},
        {"1": labels},
        train,
        test,
        grid,
        "1",
        join_report=report,
        progress=messages.append,
    )
    assert rows[0]["subset_size"] == 7
    assert report[4]["without_labels"] == ["c00", "c01"]
    assert report[4]["without_descriptors"] == ["extra"]
    assert (report[4]["pool"], report[4]["test"], report[4]["descriptors"]) == (7, 3, 12)
    assert any("2 configurations with descriptors left out" in m for m in messages)


def test_no_common_configuration_is_named_as_such():
    blocks, _ = _data(["a1", "a2", "a3"])
    _, labels = _data(["b1", "b2", "b3"])
    with pytest.raises(ValueError, match="share no configuration id"):
        run_sweep(
            {4: InMemoryBlocks(blocks)},
            {"1": labels},
            ["a1", "a2"],
            ["a3"],
            SweepGrid(["1"], [], [150], samplers=["all"]),
            "1",
        )
