import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from test_core_synthetic import assert_rel, random_dataset  # noqa: E402

from pyiron_appmlip.core import (  # noqa: E402
    SufficientStatistics,
    fit_statistics_levels,
    statistics_errors,
)


def _fill(stats, blocks, labels, ids=None, partition_of=lambda i: "train"):
    for i, (b, lab) in enumerate(zip(blocks, labels, strict=True)):
        stats.add(b, lab, partition_of(i), None if ids is None else ids[i])


def _summaries(stats, coefficients):
    out = []
    for part in stats.partitions:
        for lv in stats.levels:
            out.append(statistics_errors(stats, coefficients, lv, part))
    return out


def _assert_same(a, b):
    assert a.partitions == b.partitions
    for part in a.partitions:
        for lv in a.levels:
            assert a.n_configs(part, lv) == b.n_configs(part, lv)
            assert a.n_atoms(part, lv) == b.n_atoms(part, lv)
            assert a.n_force_components(part, lv) == b.n_force_components(part, lv)
    fits_a = fit_statistics_levels(a, 7.0, 1.0)
    fits_b = fit_statistics_levels(b, 7.0, 1.0)
    for lv in a.levels:
        assert_rel(fits_a[lv].coefficients, fits_b[lv].coefficients, 1e-10)
        for sa, sb in zip(
            _summaries(a, fits_a[lv].coefficients),
            _summaries(b, fits_a[lv].coefficients),
            strict=True,
        ):
            assert sa.n_configs == sb.n_configs
            assert np.isclose(sa.energy_rmse, sb.energy_rmse, rtol=1e-10)
            assert np.isclose(sa.energy_rmse_shifted, sb.energy_rmse_shifted, rtol=1e-8)
            assert np.isclose(sa.force_rmse, sb.force_rmse, rtol=1e-10)


def _split(i):
    return "train" if i % 4 else "test"


def test_merge_equals_one_accumulator():
    blocks, labels = random_dataset(20, n_configs=40, p=8, levels=(1, 2))
    labels = [lab if i % 5 else {1: lab[1]} for i, lab in enumerate(labels)]  # two label masks
    ids = [f"c{i}" for i in range(40)]
    whole = SufficientStatistics(8, levels=(1, 2))
    _fill(whole, blocks, labels, ids, _split)
    a = SufficientStatistics(8, levels=(1, 2))
    b = SufficientStatistics(8, levels=(1, 2))
    _fill(a, blocks[:13], labels[:13], ids[:13], _split)
    _fill(b, blocks[13:], labels[13:], ids[13:], lambda i: _split(i + 13))
    merged = a.merge(b)
    _assert_same(merged, whole)
    assert sorted(merged.config_ids("train") + merged.config_ids("test")) == sorted(ids)
    # inputs unchanged
    assert a.n_configs() == 13 and b.n_configs() == 27


def test_merge_rejects_overlap_and_mismatch():
    blocks, labels = random_dataset(21, n_configs=6, p=5)
    a = SufficientStatistics(5, levels=(1, 2))
    b = SufficientStatistics(5, levels=(1, 2))
    _fill(a, blocks[:4], labels[:4], ids=[0, 1, 2, 3])
    _fill(b, blocks[3:], labels[3:], ids=[3, 4, 5])
    with pytest.raises(ValueError, match="in both statistics"):
        a.merge(b)
    with pytest.raises(ValueError, match="levels"):
        a.merge(SufficientStatistics(5, levels=(1,)))
    with pytest.raises(ValueError, match="n_descriptors"):
        a.merge(SufficientStatistics(6, levels=(1, 2)))
    with pytest.raises(ValueError, match="already added"):
        a.add(blocks[0], labels[0], config_id=0)


def test_save_load_round_trip():
    blocks, labels = random_dataset(22, n_configs=25, p=6, levels=(1, "six"))
    labels = [lab if i % 3 else {"six": lab["six"]} for i, lab in enumerate(labels)]
    stats = SufficientStatistics(6, levels=(1, "six"))
    _fill(stats, blocks, labels, ids=[f"id{i}" for i in range(25)], partition_of=_split)
    data = stats.to_dict()
    assert all(isinstance(v, np.ndarray) for v in data.values())
    assert all(isinstance(k, str) for k in data)
    loaded = SufficientStatistics.from_dict({k: v.copy() for k, v in data.items()})
    assert loaded.levels == (1, "six")
    assert loaded.config_ids("test") == stats.config_ids("test")
    _assert_same(loaded, stats)
    # loaded statistics keep accumulating like the original
    more, more_labels = random_dataset(23, n_configs=5, p=6, levels=(1, "six"))
    for s in (stats, loaded):
        _fill(s, more, more_labels)
    _assert_same(loaded, stats)


def test_save_load_through_hdf5(tmp_path):
    h5py = pytest.importorskip("h5py")
    blocks, labels = random_dataset(24, n_configs=10, p=5)
    stats = SufficientStatistics(5, levels=(1, 2))
    _fill(stats, blocks, labels, partition_of=_split)
    with h5py.File(tmp_path / "s.h5", "w") as h:
        for k, v in stats.to_dict().items():
            h[k] = v
    with h5py.File(tmp_path / "s.h5", "r") as h:
        loaded = SufficientStatistics.from_dict({k: h[k][()] for k in h})
    _assert_same(loaded, stats)


def test_result_does_not_depend_on_chunking():
    blocks, labels = random_dataset(25, n_configs=30, p=7, atoms=(1, 12))
    small = SufficientStatistics(7, levels=(1, 2), chunk_rows=5)  # blocks larger than a chunk
    large = SufficientStatistics(7, levels=(1, 2), chunk_rows=100000)
    _fill(small, blocks, labels)
    _fill(large, blocks, labels)
    _assert_same(small, large)


def test_memory_is_independent_of_the_number_of_configurations():
    blocks, labels = random_dataset(26, n_configs=60, p=6)
    stats = SufficientStatistics(6, levels=(1, 2), chunk_rows=64)

    def nbytes(s):
        total = 0
        for g in s._groups.values():
            for part in (g.energy, g.force):
                total += part.r.nbytes + (0 if part._buf is None else part._buf.nbytes)
        return total

    _fill(stats, blocks[:10], labels[:10])
    first = nbytes(stats)
    _fill(stats, blocks[10:], labels[10:])
    assert nbytes(stats) == first


def test_counts_and_bad_input():
    blocks, labels = random_dataset(27, n_configs=4, p=3, atoms=(2, 3))
    stats = SufficientStatistics(3, levels=(1, 2))
    _fill(stats, blocks, labels)
    assert stats.n_configs() == 4 and stats.n_atoms() == 8 and stats.n_force_components() == 24
    with pytest.raises(ValueError, match="allowed levels"):
        stats.add(blocks[0], {3: labels[0][1]})
    with pytest.raises(ValueError, match="n_atoms=3 requires"):
        stats.add(blocks[0], n_atoms=3)
    with pytest.raises(ValueError, match="partition must be a non-empty string"):
        stats.add(blocks[0], partition="")
    with pytest.raises(ValueError, match="levels must be unique"):
        SufficientStatistics(3, levels=(1, 1))
    with pytest.raises(ValueError, match="n_descriptors"):
        SufficientStatistics(0)
    with pytest.raises(ValueError, match="meta_json"):
        SufficientStatistics.from_dict({})


def test_a_pickle_holds_the_factors_and_pending_rows_not_the_row_buffers():
    """What an executor sends to each task: the R factors and only the rows still pending, not
    the chunk_rows-row scratch buffers; unpickled statistics give the same fits and errors
    and keep accumulating like the original, with rows pending or not."""
    import pickle

    p = 40
    blocks, labels = random_dataset(26, n_configs=30, p=p, levels=(1, 2))
    stats = SufficientStatistics(p, levels=(1, 2), chunk_rows=4000)
    _fill(stats, blocks[:20], labels[:20], partition_of=_split)
    pending = pickle.loads(pickle.dumps(stats))  # rows still in the buffers
    _assert_same(pending, stats)
    stats.flush()
    flushed = pickle.dumps(stats)
    n = p + 1 + 2
    factors = sum(g.energy.r.nbytes + g.force.r.nbytes for g in stats._groups.values())
    assert factors >= 2 * n * n * 8
    # the factors' upper triangles (a 4000-row buffer alone would be 4000 n * 8 bytes)
    assert len(flushed) < 0.7 * factors
    loaded = pickle.loads(flushed)
    for g, h in zip(stats._groups.values(), loaded._groups.values(), strict=True):
        for a, b in ((g.energy, h.energy), (g.force, h.force)):
            assert np.array_equal(a.r, b.r) and b.r.flags.f_contiguous
    _assert_same(loaded, stats)
    for s in (stats, loaded, pending):
        _fill(s, blocks[20:], labels[20:])
    _assert_same(loaded, stats)
    _assert_same(pending, stats)


def test_a_factor_with_entries_below_its_diagonal_is_pickled_whole():
    import pickle

    from pyiron_appmlip.core.statistics import _StreamedR

    r = _StreamedR(4, 10)
    r.r[...] = np.arange(16.0).reshape(4, 4)  # not upper triangular: kept as it is
    back = pickle.loads(pickle.dumps(r))
    assert np.array_equal(back.r, r.r)
