"""The paper authors' Be data layout (pandas HDF tables): small files written here in exactly
that layout (``DataFrame.to_hdf`` with an ``ASEatoms`` object column; label tables with
``index``, ``energy``, ``forces``, ``stress`` in unsorted order, one label missing) are read
back and compared with the values written, the authors' split is compared with their
algorithm written out here, and bad input is refused naming the parameter."""

import random
import warnings

import numpy as np
import pandas as pd
import pytest
from ase import units
from ase.build import bulk

from pyiron_appmlip.datasets.formats import guess_format, paper_hdf, read_dataset
from pyiron_appmlip.datasets.formats.paper_hdf import (
    IncompleteLabelsWarning,
    paper_id,
    paper_split,
    paper_split_ids,
    read_paper_dataset,
)
from pyiron_appmlip.structures.conversion import configuration_id

N_CONFIG = 9
MISSING = (4, 2)  # (configuration number, level) without a label


def _structure(k):
    atoms = bulk("Be", "hcp", a=2.29, c=3.58) * (2, 1, 1)
    rng = np.random.default_rng(k)
    atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
    return atoms


def _labels(k, level):
    """Energy (eV), forces (eV/A) and stress (bar, 3x3) of configuration k at a level."""
    rng = np.random.default_rng(100 * k + level)
    n = len(_structure(k))
    stress = rng.normal(scale=1e3, size=(3, 3))
    return -3.7 * n + 0.01 * level + k, rng.normal(size=(n, 3)), stress + stress.T


def write_layout(folder, levels=(1, 2, 3), numbers=None, missing=(MISSING,)):
    """The authors' files: structures indexed by number (shuffled rows), labels unsorted."""
    folder.mkdir(exist_ok=True)
    numbers = list(range(N_CONFIG)) if numbers is None else list(numbers)
    rows = numbers[::-1]  # rows not in number order
    table = pd.DataFrame({"ASEatoms": [_structure(k) for k in rows]}, index=rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pytables pickles object columns
        table.to_hdf(folder / "Be_structures.h5", key="df")
        for level in levels:
            order = [k for k in numbers if (k, level) not in missing]
            random.Random(level).shuffle(order)
            labels = [_labels(k, level) for k in order]
            pd.DataFrame(
                {
                    "index": order,
                    "energy": [e for e, _, _ in labels],
                    "forces": [f for _, f, _ in labels],
                    "stress": [s for _, _, s in labels],
                }
            ).to_hdf(folder / f"Be_prec_{level}.h5", key="df")
    return folder


def authors_split(n):
    """The authors' train_test_split, written out (global random state, as in their code)."""
    random.seed(58)
    idx = list(range(n))
    random.shuffle(idx)
    n_train = int(n * 0.5)
    return idx[:n_train], idx[n_train:]


@pytest.mark.parametrize("n", [0, 1, 7, 100, 19980])
def test_paper_split_is_the_authors_algorithm(n):
    state = random.getstate()
    try:
        expected = authors_split(n)
    finally:
        random.setstate(state)
    before = random.getstate()
    assert paper_split(n) == expected
    assert random.getstate() == before  # the global state is not touched
    train, test = paper_split(n)
    assert sorted(train + test) == list(range(n)) and len(train) == n // 2


def test_every_level_is_read_joined_by_index(tmp_path):
    folder = write_layout(tmp_path / "data")
    assert guess_format(str(folder)) == "paper-hdf"
    with pytest.warns(IncompleteLabelsWarning, match=r"level 2: 1 \(index \[4\]\)"):
        ds = read_paper_dataset(folder)
    complete = [k for k in range(N_CONFIG) if k != MISSING[0]]
    assert ds.ids == [paper_id(k) for k in complete]
    assert ds.level_names == ["1", "2", "3"]
    assert ds.levels["3"].level["encut"] == 400.0  # the paper's level 3
    for k in complete:
        cid = paper_id(k)
        atoms = ds.structure(cid)
        np.testing.assert_allclose(atoms.positions, _structure(k).positions, atol=1e-12)
        for level in (1, 2, 3):
            data = ds.level(str(level))
            i = data.index(cid)
            energy, forces, stress = _labels(k, level)
            assert data.energy[i] == pytest.approx(energy, abs=1e-12)
            np.testing.assert_allclose(data.forces[i], forces, atol=1e-12)
            # bar, pressure sign -> eV/A^3, ASE sign; Voigt xx yy zz yz xz xy
            voigt = [stress[0, 0], stress[1, 1], stress[2, 2], stress[1, 2], stress[0, 2],
                     stress[0, 1]]  # fmt: skip
            np.testing.assert_allclose(data.stress[i], -np.array(voigt) * units.bar, rtol=1e-9)
    train, test = paper_split(len(complete))
    assert paper_split_ids(ds) == (
        [paper_id(complete[p]) for p in train],
        [paper_id(complete[p]) for p in test],
    )
    assert ds.train_ids == sorted(paper_split_ids(ds)[0])
    assert ds.metadata["import"]["incomplete"] == {"2": {"count": 1, "first_index": [4]}}


def test_incomplete_configurations_can_be_kept_outside_the_split(tmp_path):
    folder = write_layout(tmp_path / "data")
    with pytest.warns(IncompleteLabelsWarning, match="kept outside the train/test split"):
        ds = read_paper_dataset(folder, incomplete="keep")
    cid = paper_id(MISSING[0])
    assert cid in ds.ids and cid not in ds.level("2").ids and cid in ds.level("3").ids
    train, test = paper_split_ids(ds)
    assert cid not in train + test and len(train) + len(test) == N_CONFIG - 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # levels 1 and 3 are complete: no warning
        assert len(read_paper_dataset(folder, levels=[1, 3]).ids) == N_CONFIG


def test_the_registry_reads_the_finest_level(tmp_path):
    folder = write_layout(tmp_path / "data")
    ds = read_dataset(str(folder))
    assert ds.level_names == ["imported:paper level 3"]
    data = ds.level(ds.level_names[0])
    by_structure = {configuration_id(_structure(k)): k for k in range(N_CONFIG)}
    assert set(data.ids) == set(by_structure)
    for i, cid in enumerate(data.ids):
        energy, forces, _ = _labels(by_structure[cid], 3)
        assert data.energy[i] == pytest.approx(energy, abs=1e-12)
        np.testing.assert_allclose(data.forces[i], forces, atol=1e-12)
    ignored = read_dataset(str(folder), stress_unit="ignore")
    assert np.isnan(ignored.level(ignored.level_names[0]).stress).all()


def test_bad_arguments_name_the_parameter(tmp_path):
    folder = write_layout(tmp_path / "data", missing=())
    with pytest.raises(ValueError, match=r"incomplete must be one of \('drop', 'keep'\)"):
        read_paper_dataset(folder, incomplete="skip")
    with pytest.raises(ValueError, match=r"levels: no labels file for level 7.*\[1, 2, 3\]"):
        read_paper_dataset(folder, levels=[7])
    with pytest.raises(ValueError, match="stress_sign must be 'ase'"):
        read_paper_dataset(folder, stress_sign="up")
    with pytest.raises(ValueError, match="stress_unit must be one of"):
        read_paper_dataset(folder, stress_unit="furlong")
    with pytest.raises(ValueError, match="n must be a non-negative integer"):
        paper_split(-1)
    with pytest.raises(ValueError, match=r"train_fraction must be in \(0, 1\)"):
        paper_split(10, train_fraction=1.0)
    with pytest.raises(FileNotFoundError):
        read_paper_dataset(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="exactly one <prefix>_structures.h5"):
        read_paper_dataset(tmp_path / "empty")
    with pytest.raises(ValueError, match="'paper_split'"):
        paper_split_ids(read_dataset(str(folder)))


def _rewrite_level(folder, level, change):
    table = pd.read_hdf(folder / f"Be_prec_{level}.h5")
    table = change(table)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table.to_hdf(folder / f"Be_prec_{level}.h5", key="df")


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda t: t.drop(columns=["forces"]), r"columns \['forces'\] missing"),
        (lambda t: t.assign(index=[0] * len(t)), r"field 'index' repeats the numbers \[0\]"),
        (lambda t: t.assign(index=t["index"] + 100), "label rows name configurations"),
        (
            lambda t: t.assign(forces=[f[:-1] for f in t["forces"]]),
            r"field 'forces' has \d+ numbers, expected 3 x 4 atoms",
        ),
        (lambda t: t.assign(stress=[s[:1] for s in t["stress"]]), "field 'stress' has 3"),
    ],
)
def test_bad_files_are_refused_naming_file_and_field(tmp_path, change, message):
    folder = write_layout(tmp_path / "data", missing=())
    _rewrite_level(folder, 2, change)
    with pytest.raises(ValueError, match=message) as err:
        read_paper_dataset(folder)
    assert "Be_prec_2.h5" in str(err.value)


def test_the_format_module_is_documented():
    assert '``"paper-hdf"``' in paper_hdf.__doc__ and "bar" in paper_hdf.__doc__
