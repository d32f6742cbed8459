"""The registry of dataset formats: every entry is complete, unknown names are refused with the
list of names, the old import place still works, each format recognises its own files, and a
format added as one module plus one registry entry is read with the shared duplicate rule and
provenance. Values are compared with the file written here and with hashlib."""

import hashlib
import inspect
import json
import types

import ase.db
import ase.io
import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator

from pyiron_appmlip.datasets import formats, importers
from pyiron_appmlip.datasets.formats import common
from pyiron_appmlip.structures.conversion import configuration_id


def test_every_registered_format_has_a_name_a_detector_and_a_reader():
    assert formats.FORMATS == tuple(formats.REGISTRY)
    assert set(formats.FORMATS) == {
        "paper-hdf",
        "fitsnap-json",
        "extxyz",
        "ase",
        "training-container",
    }
    for name, fmt in formats.REGISTRY.items():
        assert isinstance(fmt, formats.DatasetFormat)
        assert fmt.name == name and name.strip() == name and name
        assert isinstance(fmt.description, str) and fmt.description.strip()
        for function in (fmt.recognise, fmt.read, fmt.check_options):
            assert callable(function)
        assert list(inspect.signature(fmt.recognise).parameters) == ["source"]
        assert list(inspect.signature(fmt.read).parameters) == ["path", "options", "problems"]
        module = __import__(fmt.module, fromlist=["NAME"])
        assert module.NAME == name and module.read is fmt.read
        assert module.recognise is fmt.recognise
        assert module.__doc__ and f'``"{name}"``' in module.__doc__


def test_an_unknown_format_name_is_refused_with_the_registered_names(tmp_path):
    (tmp_path / "a.xyz").write_text("")
    for call in (
        lambda: formats.read_dataset(str(tmp_path / "a.xyz"), format="vasp"),
        lambda: importers.read_dataset(str(tmp_path / "a.xyz"), format="vasp"),
        lambda: formats.get_format("vasp"),
        lambda: formats.get_format(None),
    ):
        with pytest.raises(ValueError, match="format must be one of") as err:
            call()
        for name in formats.REGISTRY:
            assert repr(name) in str(err.value)


def test_old_names_import_from_importers_and_are_the_new_ones():
    for name in importers.__all__:
        assert getattr(importers, name) is getattr(formats, name), name
    from pyiron_appmlip import read_dataset
    from pyiron_appmlip.datasets.importers import (  # noqa: F401
        FORMATS,
        UNITS,
        file_sha256,
        group_summary,
        guess_format,
        manifest_sha256,
    )

    assert read_dataset is formats.read_dataset and FORMATS == formats.FORMATS


def labelled(atoms, energy):
    atoms = atoms.copy()
    forces = np.arange(3 * len(atoms), dtype=float).reshape(-1, 3) * 0.01
    atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces, stress=np.zeros(6))
    return atoms


class FakeContainer:
    """The part of a TrainingContainer that format detection looks at: to_pandas()."""

    def to_pandas(self):
        raise AssertionError("detection must not read the container")


def test_each_format_recognises_its_own_files_and_detection_follows_the_registry(tmp_path):
    cell = labelled(bulk("Be", "hcp", a=2.29, c=3.58), -7.5)
    (tmp_path / "json" / "Bulk").mkdir(parents=True)
    (tmp_path / "json" / "Bulk" / "c.json").write_text('# x\n{"Dataset": {"Data": []}}')
    ase.io.write(str(tmp_path / "a.xyz"), [cell])
    ase.io.write(str(tmp_path / "a.traj"), [cell])
    with ase.db.connect(str(tmp_path / "a.db")) as db:
        db.write(cell)
    (tmp_path / "xyzs").mkdir()
    ase.io.write(str(tmp_path / "xyzs" / "b.extxyz"), [cell])
    samples = {
        str(tmp_path / "json"): "fitsnap-json",
        str(tmp_path / "json" / "Bulk" / "c.json"): "fitsnap-json",
        str(tmp_path / "a.xyz"): "extxyz",
        str(tmp_path / "xyzs"): "extxyz",
        str(tmp_path / "a.traj"): "ase",
        str(tmp_path / "a.db"): "ase",
    }
    for path, expected in samples.items():
        source = common.Source(path)
        claims = [n for n, f in formats.REGISTRY.items() if f.recognise(source)]
        assert claims and claims[0] == expected, (path, claims)
        assert formats.guess_format(path) == expected
    assert formats.REGISTRY["training-container"].recognise(common.Source(FakeContainer()))
    assert formats.guess_format(FakeContainer()) == "training-container"
    (tmp_path / "notes.txt").write_text("x")
    assert not any(
        f.recognise(common.Source(str(tmp_path / "notes.txt"))) for f in formats.REGISTRY.values()
    )
    with pytest.raises(ValueError, match="cannot tell the format") as err:
        formats.guess_format(str(tmp_path / "notes.txt"))
    for fmt in formats.REGISTRY.values():
        assert fmt.name in str(err.value) and fmt.description in str(err.value)


def _fake_lines_format():
    """A format as a new module would define it: one JSON object per line of a ``.fakelines``
    file, energies in meV (so the reader must convert), forces in eV/Angstrom."""
    module = types.ModuleType("fake_lines_format")
    module.NAME = "fake-lines"
    module.DESCRIPTION = "*.fakelines files, one configuration per line"

    def recognise(source):
        return source.name.endswith(".fakelines")

    def read(path, options, problems):
        path = common.existing_path(path)
        entries = []
        with open(path) as handle:
            for k, line in enumerate(handle):
                row = json.loads(line)
                try:
                    atoms = common.make_atoms(row["symbols"], row["positions"], row["cell"], True)
                    energy = common.as_number(row["energy_meV"], "energy_meV") / 1000.0
                    n = len(atoms)
                    forces = common.as_array(row["forces"], "forces", (n, 3), "(n, 3)")
                except common.BadField as exc:
                    problems.add(f"{path}@{k}", str(exc))
                    continue
                entry = common.Entry(
                    f"data.fakelines@{k}", "fake", atoms, energy, np.nan, forces, np.full(6, np.nan)
                )
                entries.append(entry)
        files = {"data.fakelines": common.file_sha256(path)}
        return common.ReadResult(entries, files, {"declared_units": "meV, eV/Angstrom"})

    module.recognise, module.read = recognise, read
    return module


def test_a_format_added_as_one_module_is_read_with_the_shared_rules(tmp_path, monkeypatch):
    fake = formats.DatasetFormat.from_module(_fake_lines_format())
    monkeypatch.setattr(formats, "REGISTRY", {**formats.REGISTRY, fake.name: fake})
    cells = [bulk("Be", "hcp", a=2.29, c=3.58), bulk("Be", "bcc", a=2.55)]
    rows = []
    for k, atoms in enumerate(cells + cells[:1]):  # the third line repeats the first
        rows.append(
            {
                "symbols": atoms.get_chemical_symbols(),
                "positions": atoms.positions.tolist(),
                "cell": np.asarray(atoms.cell).tolist(),
                "energy_meV": -7500.0 + 10.0 * (k % 2),
                "forces": (0.1 * np.ones((len(atoms), 3))).tolist(),
            }
        )
    path = tmp_path / "data.fakelines"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    assert formats.guess_format(str(path)) == "fake-lines"
    ds = formats.read_dataset(str(path))
    level = ds.levels["imported:data.fakelines"]
    assert ds.ids == [configuration_id(a) for a in cells]
    np.testing.assert_allclose(level.energy, [-7.5, -7.49], rtol=0, atol=1e-12)
    np.testing.assert_allclose(level.forces[0], 0.1 * np.ones((2, 3)), rtol=0, atol=1e-15)
    summary = ds.metadata["import"]
    assert summary["format"] == "fake-lines" and summary["n_read"] == 3
    assert summary["n_duplicates_merged"] == 1 and summary["n_configurations"] == 2
    file_hash = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest = f"{file_hash}  data.fakelines\n".encode()
    assert summary["files_sha256"] == hashlib.sha256(manifest).hexdigest()
    assert level.source["declared_units"] == "meV, eV/Angstrom"

    with pytest.raises(ValueError, match="fake-lines"):
        formats.read_dataset(str(path), format="nope")
    rows[1]["energy_meV"] = "a lot"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(ValueError, match=r"data.fakelines@1: field 'energy_meV'"):
        formats.read_dataset(str(path))
