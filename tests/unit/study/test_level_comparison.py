"""Level-vs-level differences of a labelled dataset, against loops over its configurations."""

from pathlib import Path

import numpy as np
import pytest

import pyiron_appmlip
from pyiron_appmlip.datasets.store import load_dataset
from pyiron_appmlip.study.level_comparison import compare_dataset_levels

SHIPPED = Path(pyiron_appmlip.__file__).parent / "datasets" / "data" / "be_gpaw_levels.h5"


def _by_loops(dataset, level, truth, bulk_id):
    own, ref = dataset.level(level), dataset.level(truth)
    common = [i for i in ref.ids if i in set(own.ids)]
    d, forces = [], []
    for cid in common:
        a, b = own.index(cid), ref.index(cid)
        n = len(own.forces[a])
        d.append((own.energy[a] - ref.energy[b]) / n)
        forces.extend((np.asarray(own.forces[a]) - np.asarray(ref.forces[b])).ravel())
    d = np.array(d)
    bulk = d[common.index(bulk_id)]
    rms = lambda x: 1000.0 * float(np.sqrt(np.mean(np.square(x))))  # noqa: E731
    return len(common), rms(d), rms(d - bulk), rms(d - d.mean()), rms(forces)


def test_every_level_against_the_highest_equals_a_loop_over_the_shared_configurations():
    dataset = load_dataset(str(SHIPPED))
    table = compare_dataset_levels(dataset)
    truth = dataset.level_names[-1]
    assert list(table["level"]) == dataset.level_names[:-1]
    assert set(table["truth_level"]) == {truth}
    bulk_id = dataset.metadata["bulk_id"]
    for _, row in table.iterrows():
        n, unshifted, bulk, mean, force = _by_loops(dataset, row["level"], truth, bulk_id)
        assert row["n_configs"] == n
        np.testing.assert_allclose(
            [row["energy_unshifted"], row["energy_bulk_shifted"], row["energy_mean_shifted"]],
            [unshifted, bulk, mean],
            rtol=1e-9,
        )
        np.testing.assert_allclose(row["force"], force, rtol=1e-9)
    assert table["energy_unshifted"].iloc[0] > table["energy_mean_shifted"].iloc[0] > 0


def test_a_chosen_reference_and_levels_and_an_unknown_reference():
    dataset = load_dataset(str(SHIPPED))
    table = compare_dataset_levels(dataset, truth_level=3, levels=[1, 2])
    assert list(table["level"]) == ["1", "2"] and set(table["truth_level"]) == {"3"}
    n, unshifted, *_ = _by_loops(dataset, "1", "3", dataset.metadata["bulk_id"])
    assert table["n_configs"].iloc[0] == n
    np.testing.assert_allclose(table["energy_unshifted"].iloc[0], unshifted, rtol=1e-9)
    subset = dataset.level("5").ids
    only_train = [i for i in dataset.level("1").ids if i not in set(subset)]
    from pyiron_appmlip.datasets.store import select_configurations

    part = select_configurations(dataset, only_train)
    with pytest.raises(ValueError, match=r"level must be one of \['1', '2', '3', '4'\], got '5'"):
        compare_dataset_levels(part, truth_level=5, levels=[1])
