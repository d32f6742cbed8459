"""ReferencePotential: LAMMPS energies, forces and stresses in the structure's own frame, checked
against an independent evaluation (a direct Python ZBL from the formula of the LAMMPS docs, ASE's
LAMMPSlib with its own frame handling, finite differences of the energy), and its subtraction from
labels. A SNAP model fitted to labels minus ZBL and exported with it (``pair_style hybrid/overlay
zbl ... snap``) reproduces ZBL + SNAP in LAMMPS on fresh structures; exported without it, not."""

import os
import sys

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.neighborlist import neighbor_list
from scipy.spatial.transform import Rotation

from pyiron_appmlip.potential.reference import ReferencePotential
from pyiron_appmlip.training.labels import Labels

A, C = 2.2858, 3.5843
INNER, OUTER = 4.0, 4.8

# ZBL as documented for LAMMPS pair_style zbl (metal units: e^2 / (4 pi eps0) = 14.399645 eV A)
QQR2E = 14.399645
PHI_C = (0.18175, 0.50986, 0.28022, 0.02817)
PHI_D = (3.19980, 0.94229, 0.40290, 0.20162)


def _zbl_bare(r, zi, zj):
    """E, dE/dr, d2E/dr2 of the unswitched ZBL pair energy."""
    a = 0.46850 / (zi**0.23 + zj**0.23)
    k = QQR2E * zi * zj
    phi = sum(c * np.exp(-d * r / a) for c, d in zip(PHI_C, PHI_D, strict=True))
    dphi = sum(-c * d / a * np.exp(-d * r / a) for c, d in zip(PHI_C, PHI_D, strict=True))
    d2phi = sum(c * (d / a) ** 2 * np.exp(-d * r / a) for c, d in zip(PHI_C, PHI_D, strict=True))
    e = k * phi / r
    de = k * (dphi / r - phi / r**2)
    d2e = k * (d2phi / r - 2 * dphi / r**2 + 2 * phi / r**3)
    return e, de, d2e


def zbl_pair(r, zi, zj, r1=INNER, rc=OUTER):
    """ZBL with the lj/gromacs switching function S(r): E(r) + S(r) for r < rc, else 0.

    S = C below r1, A/3 t^3 + B/4 t^4 + C above (t = r - r1), with A, B, C such that energy,
    force and curvature vanish at rc. Returns (energy, dE/dr).
    """
    r = np.asarray(r, dtype=float)
    ec, dec, d2ec = _zbl_bare(rc, zi, zj)
    w = rc - r1
    a_ = (-3 * dec + w * d2ec) / w**2
    b_ = (2 * dec - w * d2ec) / w**3
    c_ = -ec + w * dec / 2 - w**2 * d2ec / 12
    e, de, _ = _zbl_bare(r, zi, zj)
    t = np.clip(r - r1, 0.0, None)
    e = e + a_ / 3 * t**3 + b_ / 4 * t**4 + c_
    de = de + a_ * t**2 + b_ * t**3
    inside = r < rc
    return np.where(inside, e, 0.0), np.where(inside, de, 0.0)


def zbl_python(atoms):
    """Energy, forces and ASE stress of ZBL by a direct sum over pairs (periodic images too)."""
    i, j, d, vec = neighbor_list("ijdD", atoms, OUTER)  # every pair twice, vec = r_j - r_i
    z = atoms.numbers
    e, de = zbl_pair(d, z[i].astype(float), z[j].astype(float))
    energy = 0.5 * e.sum()
    forces = np.zeros((len(atoms), 3))
    np.add.at(forces, i, (de / d)[:, None] * vec)
    if atoms.pbc.all():
        tensor = 0.5 * np.einsum("p,pa,pb->ab", de / d, vec, vec) / atoms.get_volume()
        stress = tensor[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
    else:
        stress = np.full(6, np.nan)
    return energy, forces, stress


def structures():
    """Periodic cells: plain hcp, a rotated sheared triclinic one, a left-handed one, one with a
    close pair inside the ZBL core, a two-element one; and a non-periodic cluster."""
    rot = Rotation.from_euler("xyz", [25, -40, 75], degrees=True).as_matrix()
    shear = np.array([[1.0, 0.15, 0.1], [0.0, 1.0, 0.2], [0.0, 0.0, 1.05]])
    plain = bulk("Be", "hcp", a=A, c=C).repeat((2, 2, 1))
    plain.rattle(0.05, seed=1)
    tri = bulk("Be", "hcp", a=A, c=C).repeat((2, 1, 2))
    tri.rattle(0.1, seed=2)
    tri.set_cell(tri.cell @ shear @ rot.T, scale_atoms=True)
    left = tri.copy()
    left.set_cell(left.cell[[1, 0, 2]], scale_atoms=False)  # same lattice, left-handed basis
    close = bulk("Be", "hcp", a=A, c=C).repeat((2, 2, 1))
    close.positions[1] = close.positions[0] + [0.9, 0.2, 0.1]  # deep in the repulsive core
    close.set_cell(close.cell @ rot.T, scale_atoms=True)
    mixed = bulk("Be", "hcp", a=A, c=C).repeat((2, 2, 2))
    mixed.rattle(0.08, seed=3)
    mixed.numbers[[0, 3, 6]] = 13
    mixed.set_cell(mixed.cell @ shear.T @ rot, scale_atoms=True)
    cluster = Atoms("Be4", positions=[[0, 0, 0], [1.9, 0.1, 0], [0.3, 2.0, 0.2], [1.0, 1.0, 1.7]])
    cluster.set_cell(np.eye(3) * 3.0)
    cluster.pbc = False
    return {
        "plain": plain,
        "tri": tri,
        "left": left,
        "close": close,
        "mixed": mixed,
        "cluster": cluster,
    }


def _zbl_for(atoms):
    return ReferencePotential.zbl(("Be", "Al") if 13 in atoms.numbers else ("Be",))


@pytest.mark.parametrize("name", ["plain", "tri", "left", "close", "mixed", "cluster"])
def test_zbl_matches_the_documented_formula(name):
    atoms = structures()[name]
    (e,), (f,), (s,) = _zbl_for(atoms).evaluate([atoms])
    e_py, f_py, s_py = zbl_python(atoms)
    assert abs(e) > 1e-3  # the reference matters in every case
    assert e == pytest.approx(e_py, rel=1e-9, abs=1e-9)
    np.testing.assert_allclose(f, f_py, rtol=0, atol=1e-8 * max(1.0, np.abs(f_py).max()))
    if atoms.pbc.all():
        np.testing.assert_allclose(s, s_py, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("name", ["tri", "close", "mixed"])
def test_forces_are_minus_the_energy_gradient(name):
    atoms = structures()[name]
    ref = _zbl_for(atoms)
    _, (f,), _ = ref.evaluate([atoms])
    h = 1e-5
    displaced = []
    for k in range(len(atoms)):
        for x in range(3):
            for sign in (1, -1):
                a = atoms.copy()
                a.positions[k, x] += sign * h
                displaced.append(a)
    e, _, _ = ref.evaluate(displaced)
    fd = -(e[0::2] - e[1::2]) / (2 * h)
    np.testing.assert_allclose(f.ravel(), fd, rtol=0, atol=1e-6 * max(1.0, np.abs(f).max()))


def _lammpslib(ref):
    from ase.calculators.lammpslib import LAMMPSlib

    return LAMMPSlib(
        lmpcmds=ref.commands(),
        atom_types={e: i + 1 for i, e in enumerate(ref.elements)},
        keep_alive=True,
        lammps_header=["units metal", "atom_style atomic", "atom_modify map array sort 0 0"],
    )


@pytest.mark.parametrize(
    "ref",
    [
        ReferencePotential.zbl(("Be", "Al")),
        ReferencePotential("lj/cut 4.5", ["* * 0.05 2.0"], ("Be", "Al"), cutoff=4.5),
        ReferencePotential(
            "morse 5.0", ["1 1 0.3 1.4 2.2", "1 2 0.2 1.3 2.4", "2 2 0.4 1.2 2.8"], ("Be", "Al")
        ),
    ],
    ids=["zbl", "lj", "morse"],
)
def test_any_pair_style_matches_ase_lammpslib(ref):
    calc = _lammpslib(ref)
    cells = [v for k, v in structures().items() if k in ("plain", "tri", "left", "mixed")]
    energies, forces, stresses = ref.evaluate(cells)
    for atoms, e, f, s in zip(cells, energies, forces, stresses, strict=True):
        a = atoms.copy()
        a.calc = calc
        assert e == pytest.approx(a.get_potential_energy(), rel=1e-10, abs=1e-10)
        np.testing.assert_allclose(f, a.get_forces(), rtol=0, atol=1e-9)
        # ASE converts LAMMPS' bar with its own constants: agreement to ~1e-7 relative
        np.testing.assert_allclose(s, a.get_stress(), rtol=1e-6, atol=1e-10)


def test_stress_is_the_strain_derivative_of_the_energy():
    atoms = structures()["tri"]
    ref = ReferencePotential.zbl("Be")
    _, _, (s,) = ref.evaluate([atoms])
    h = 1e-6
    voigt = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]
    fd = []
    for i, j in voigt:
        es = []
        for sign in (1, -1):
            eps = np.eye(3)  # symmetric strain: dE = V sigma_ij h for diagonal and shear
            eps[i, j] += sign * h / (1 if i == j else 2)
            if i != j:
                eps[j, i] += sign * h / 2
            a = atoms.copy()
            a.set_cell(a.cell @ eps, scale_atoms=True)
            es.append(ref.evaluate([a])[0][0])
        fd.append((es[0] - es[1]) / (2 * h) / atoms.get_volume())
    np.testing.assert_allclose(s, fd, rtol=1e-5, atol=1e-8)


def test_subtract_removes_the_reference_from_labels():
    cells = structures()
    ids = ["plain", "tri", "close"]
    ref = ReferencePotential.zbl("Be")
    e_ref, f_ref, s_ref = ref.evaluate([cells[i] for i in ids])
    rng = np.random.default_rng(0)
    labels = Labels.from_arrays(
        ids,
        energies=[-10.0, -20.0, -5.0],
        forces=[rng.standard_normal((len(cells[i]), 3)) for i in ids],
        wall_times=[1.0, 2.0, 3.0],
        job_id=7,
        stresses=[rng.standard_normal(6) * 1e-3, None, np.full(6, np.nan)],
        volumes=[cells[i].get_volume() for i in ids],
        groups=["bulk", "sheared", "short"],
    )
    before = {i: labels.forces[i].copy() for i in ids}
    out = ref.subtract(labels, {i: cells[i] for i in ids + ["cluster"]})
    for k, i in enumerate(ids):
        assert out.energies[i] == pytest.approx(labels.energies[i] - e_ref[k], abs=1e-12)
        np.testing.assert_allclose(out.forces[i], labels.forces[i] - f_ref[k], atol=1e-12)
        np.testing.assert_array_equal(labels.forces[i], before[i])  # input unchanged
    np.testing.assert_allclose(out.stresses["plain"], labels.stresses["plain"] - s_ref[0])
    assert out.stress("tri") is None and out.stress("close") is None  # not recorded stays so
    assert out.wall_times == labels.wall_times and out.job_id == 7
    assert out.volumes == labels.volumes and out.groups == labels.groups
    # structures given as a list are matched by configuration id
    from pyiron_appmlip.structures.conversion import configuration_id

    by_cid = Labels.from_arrays([configuration_id(cells["tri"])], [1.0], [np.zeros((8, 3))])
    (e_tri,) = ref.subtract(by_cid, [cells["tri"], cells["plain"]]).energies.values()
    assert e_tri == pytest.approx(1.0 - e_ref[1], abs=1e-12)
    with pytest.raises(KeyError, match="no structure"):
        ref.subtract(labels, {"plain": cells["plain"]})
    with pytest.raises(ValueError, match="forces on 4 atoms but its structure has 8"):
        ref.subtract(Labels.from_arrays(["x"], [0.0], [np.zeros((4, 3))]), {"x": cells["tri"]})


def test_checks_and_round_trip():
    ref = ReferencePotential.zbl(("Be", "Al"), inner=3.5, outer=4.2)
    assert ref.pair_style == "zbl 3.5 4.2" and ref.cutoff == 4.2
    assert ref.pair_coeff == ("1 1 4 4", "1 2 4 13", "2 2 13 13")
    assert ref.overlay_coeff_lines()[1] == "pair_coeff 1 2 zbl 4 13"
    assert ReferencePotential.from_dict(ref.to_dict()) == ref
    assert ReferencePotential.from_json(ref.to_json().encode()) == ref
    plain = ReferencePotential("pair_style  zbl 4.0 4.8", "pair_coeff * * 4 4", "Be")
    assert plain == ReferencePotential("zbl 4.0 4.8", ["* * 4 4"], ("Be",))
    assert plain.cutoff is None and ReferencePotential.from_dict(plain.to_dict()) == plain
    with pytest.raises(ValueError, match="cannot be a reference"):
        ReferencePotential("hybrid/overlay zbl 4 4.8 lj/cut 3", ["* * zbl 4 4"], ("Be",))
    with pytest.raises(ValueError, match="single LAMMPS line"):
        ReferencePotential("zbl 4.0 4.8\nrun 10", ["* * 4 4"], ("Be",))
    with pytest.raises(ValueError, match="two atom types"):
        ReferencePotential("zbl 4.0 4.8", ["4"], ("Be",))
    with pytest.raises(ValueError, match="inner < outer"):
        ReferencePotential.zbl("Be", inner=5.0, outer=4.8)
    with pytest.raises(ValueError, match="not chemical symbols"):
        ReferencePotential.zbl("Xx")
    with pytest.raises(ValueError, match="not a chemical symbol"):
        ReferencePotential("zbl 4.0 4.8", ["* * 4 4"], ("Bx",))
    with pytest.raises(ValueError, match=r"unknown element\(s\) \['Al'\]"):
        ReferencePotential.zbl("Be").evaluate([structures()["mixed"]])
    cluster = structures()["cluster"]
    with pytest.raises(ValueError, match="not periodic in every direction"):
        plain.evaluate([cluster])
    with pytest.raises(TypeError, match="single Atoms"):
        plain.evaluate(cluster)


# What each line gives when evaluated without the check: "larger" (ZBL with W's Z for Be gives a
# repulsion far above Be's), "error" (LAMMPS refuses it at evaluation) or None (not evaluated:
# the wrong line concerns a type pair the test structure does not have).
LINE_CHECKS = {
    "zbl-W-for-Be": (
        ("zbl 4 4.8", ["* * 74 74"], ("Be",)),
        r"pair_coeff\[0\] '\* \* 74 74'.*atom type 1 is Be \(Z = 4\), not Z = 74",
        "larger",
    ),
    "zbl-cross": (
        ("zbl 4 4.8", ["1 1 4 4", "1 2 4 74", "2 2 13 13"], ("Be", "Al")),
        r"pair_coeff\[1\] '1 2 4 74'.*atom type 2 is Al \(Z = 13\), not Z = 74",
        None,
    ),
    "zbl-range": (
        ("zbl 4 4.8", ["1 1 4 4", "1*2 2 4 13"], ("Be", "Al")),
        r"pair_coeff\[1\] '1\*2 2 4 13'.*atom type 2 is Al \(Z = 13\), not Z = 4",
        None,
    ),
    "unknown-style": (
        ("not_a_style 3.0", ["* *"], ("Be",)),
        r"pair_style 'not_a_style 3.0' was refused by LAMMPS: LAMMPS says \"ERROR: Unrecognized",
        "error",
    ),
    "style-args": (
        ("zbl 4.0", ["* * 4 4"], ("Be",)),
        r"pair_style 'zbl 4.0' was refused by LAMMPS: LAMMPS says \"ERROR: Illegal",
        "error",
    ),
    "no-such-type": (
        ("zbl 4 4.8", ["* * 4 4", "1 2 4 4"], ("Be",)),
        r"pair_coeff\[1\] '1 2 4 4' was refused by LAMMPS.*\"ERROR: Numeric index 2 is out of "
        r"bounds.*atom types 1..1 are the elements \['Be'\]",
        "error",
    ),
    "coeff-args": (
        ("lj/cut 4.5", ["* * 0.05"], ("Be",)),
        r"pair_coeff\[0\] '\* \* 0.05' was refused by LAMMPS.*\"ERROR: Incorrect args",
        "error",
    ),
    "pair-unset": (
        ("zbl 4 4.8", ["1 1 4 4"], ("Be", "Al")),
        r"\"ERROR: All pair coeffs are not set.*no pair_coeff line sets the type pair\(s\) "
        r"\['1 2 \(Be-Al\)', '2 2 \(Al-Al\)'\]",
        "error",
    ),
    "no-file": (
        ("eam/alloy", ["* * /no/such/file.eam.alloy Be"], ("Be",)),
        r"pair_coeff\[0\] .* was refused by LAMMPS.*\"ERROR.*cannot open",
        "error",
    ),
}


@pytest.mark.parametrize("case", list(LINE_CHECKS))
def test_lines_are_checked_in_lammps_when_the_reference_is_created(case):
    args, match, unchecked_gives = LINE_CHECKS[case]
    with pytest.raises(ValueError, match=match):
        ReferencePotential(*args)
    # the same lines without the check fail later, or silently give the wrong reference
    unchecked = ReferencePotential(*args, check=False)
    pair = Atoms("Be2", positions=[[0, 0, 0], [1.2, 0.3, 0.2]], cell=np.eye(3) * 6.0, pbc=True)
    if unchecked_gives == "larger":
        (e_wrong,), _, _ = unchecked.evaluate([pair])
        (e_be,), _, _ = ReferencePotential.zbl("Be").evaluate([pair])
        assert e_be == pytest.approx(zbl_python(pair)[0], rel=1e-9)
        assert e_wrong > 5 * e_be > 0
    elif unchecked_gives == "error":
        with pytest.raises(Exception, match="ERROR"):
            unchecked.evaluate([pair])


def test_checked_references_still_evaluate_and_reload_without_lammps_files(tmp_path):
    # accepted: lj/cut mixes the cross pair; ranges of types; a tabulated file that exists
    mixed = ReferencePotential("lj/cut 4.5", ["1 1 0.05 2.0", "2 2 0.1 2.2"], ("Be", "Al"))
    ranged = ReferencePotential("zbl 4.0 4.8", ["1*1 1* 4 4"], ("Be",))
    table = tmp_path / "pair.table"
    r = np.linspace(0.5, 5.0, 200)
    rows = "\n".join(
        f"{k + 1} {x:.17g} {np.exp(-x):.17g} {np.exp(-x):.17g}" for k, x in enumerate(r)
    )
    table.write_text(f"EXP\nN 200\n\n{rows}\n")
    tabulated = ReferencePotential("table linear 200", [f"* * {table} EXP 5.0"], ("Be",))
    atoms = structures()["plain"]
    for ref in (mixed, ranged, tabulated):
        (e,), _, _ = ref.evaluate([atoms])
        assert np.isfinite(e) and e != 0.0
    assert ranged.evaluate([atoms])[0][0] == pytest.approx(zbl_python(atoms)[0], rel=1e-9)
    # a stored reference is read without running LAMMPS: its file may be gone
    stored = tabulated.to_dict()
    table.unlink()
    back = ReferencePotential.from_dict(stored)
    assert back == tabulated
    with pytest.raises(ValueError, match="cannot open"):
        ReferencePotential(back.pair_style, back.pair_coeff, back.elements)


def test_zbl_without_elements_says_so():
    for empty in ((), []):
        with pytest.raises(ValueError, match="no elements were given"):
            ReferencePotential.zbl(empty)


# -- export with the reference ---------------------------------------------------------------


def _export_helpers():
    sys.path.insert(0, os.path.dirname(__file__))
    import test_export

    return test_export


def _lammps_lines(structures, lines, elements):
    """Energies and forces of LAMMPS (through ASE's LAMMPSlib) with the given pair lines."""
    from ase.calculators.lammpslib import LAMMPSlib

    calc = LAMMPSlib(
        lmpcmds=list(lines),
        atom_types={e: i + 1 for i, e in enumerate(elements)},
        keep_alive=True,
        lammps_header=["units metal", "atom_style atomic", "atom_modify map array sort 0 0"],
    )
    energies, forces = [], []
    for s in structures:
        a = s.copy()
        a.calc = calc
        energies.append(a.get_potential_energy())
        forces.append(a.get_forces())
    return np.array(energies), forces


def _fit_on_top_of(reference, train, settings):
    """A SnapModel fitted to (LJ + reference) - reference: the residual labels."""
    from pyiron_appmlip.core import fit_weighted
    from pyiron_appmlip.descriptors import compute_qsnap_blocks
    from pyiron_appmlip.potential.model import SnapModel

    e_lj, f_lj = _export_helpers().labels(train)
    e_ref, f_ref, _ = reference.evaluate(train)
    ids = [f"c{i}" for i in range(len(train))]
    full = Labels.from_arrays(
        ids, np.add(e_lj, e_ref), [f + g for f, g in zip(f_lj, f_ref, strict=True)]
    )
    residual = reference.subtract(full, dict(zip(ids, train, strict=True)))
    np.testing.assert_allclose([residual.energies[i] for i in ids], e_lj, rtol=0, atol=1e-9)
    blocks = compute_qsnap_blocks(train, settings)
    fit = fit_weighted(
        blocks, [residual.energies[i] for i in ids], [residual.forces[i] for i in ids], 1.0, 1.0
    )
    return SnapModel(fit.coefficients, settings, 1.0, 1.0, "lj", training_ids=ids)


@pytest.mark.parametrize("elements", [("Be",), ("Be", "Al")], ids=["Be", "BeAl"])
def test_model_fitted_on_top_of_zbl_is_reproduced_by_lammps_hybrid_overlay(elements, tmp_path):
    from pyiron_appmlip.descriptors import QSnapSettings, compute_qsnap_blocks
    from pyiron_appmlip.potential.export import pair_commands, snap_potential_dataframe
    from pyiron_appmlip.potential.model import SnapModel

    helpers = _export_helpers()
    symbols = 13 if len(elements) == 2 else None
    settings = QSnapSettings(4, elements=elements)
    reference = ReferencePotential.zbl(elements, inner=INNER, outer=OUTER)
    bare = _fit_on_top_of(reference, helpers.training_structures(symbols), settings)
    model = bare.with_reference(reference)
    assert model.reference is reference and bare.reference is None
    back = SnapModel.from_dict(model.to_dict())
    assert back.reference == reference and back.settings == settings
    assert SnapModel.from_dict(bare.to_dict()).reference is None

    coeff_file, param_file = model.write_lammps(tmp_path, name="be_zbl")
    lines = pair_commands(coeff_file, param_file, elements, reference)
    if len(elements) == 1:
        assert lines == [
            f"pair_style hybrid/overlay zbl {INNER!r} {OUTER!r} snap",
            "pair_coeff * * zbl 4 4",
            f"pair_coeff * * snap {coeff_file} {param_file} Be",
        ]
    else:
        assert lines[1:4] == [
            "pair_coeff 1 1 zbl 4 4",
            "pair_coeff 1 2 zbl 4 13",
            "pair_coeff 2 2 zbl 13 13",
        ]
    mod_file = os.path.join(tmp_path, "be_zbl.mod")
    assert [ln for ln in open(mod_file).read().splitlines() if not ln.startswith("#")] == lines
    assert "hybrid/overlay zbl" in open(coeff_file).read()  # the file says what it needs

    tests = helpers.evaluation_structures(symbols)  # not used in the fit
    expected_e, expected_f = model.predict_structures(tests)
    snap_e, snap_f = model.predict(compute_qsnap_blocks(tests, settings))
    ref_e, ref_f, _ = reference.evaluate(tests)
    np.testing.assert_allclose(expected_e, snap_e + ref_e, rtol=0, atol=1e-12)
    for got_e, got_f in (
        _lammps_lines(tests, lines, elements),
        _lammps_lines(tests, [f"include {mod_file}"], elements),
    ):
        np.testing.assert_allclose(got_e, expected_e, rtol=0, atol=1e-6)
        for f, g in zip(got_f, expected_f, strict=True):
            np.testing.assert_allclose(f, g, rtol=0, atol=1e-6)

    # exported without its reference, LAMMPS gives the SNAP part only: far from the labels' model
    bare_coeff, bare_param = bare.write_lammps(tmp_path / "bare", name="be")
    assert "hybrid" not in open(os.path.join(tmp_path, "bare", "be.mod")).read()
    alone_e, alone_f = _lammps_lines(
        tests, pair_commands(bare_coeff, bare_param, elements), elements
    )
    np.testing.assert_allclose(alone_e, snap_e, rtol=0, atol=1e-6)
    assert np.abs(alone_e - expected_e).min() > 1.0
    assert max(np.abs(f - g).max() for f, g in zip(alone_f, expected_f, strict=True)) > 0.1

    # pyiron's potential DataFrame carries the hybrid lines; reference=False drops them
    df = snap_potential_dataframe(model, folder=tmp_path / "df", name="pot")
    assert df.Config[0] == [
        line + "\n" for line in pair_commands("pot.snapcoeff", "pot.snapparam", elements, reference)
    ]
    assert df.Name[0].endswith("_zbl")
    df0 = snap_potential_dataframe(model, folder=tmp_path / "df0", name="pot", reference=False)
    assert df0.Config[0][0] == "pair_style snap\n"


def test_reference_must_share_the_model_elements(tmp_path):
    from pyiron_appmlip.descriptors import QSnapSettings
    from pyiron_appmlip.potential import write_snap_potential
    from pyiron_appmlip.potential.export import pair_commands
    from pyiron_appmlip.potential.model import SnapModel

    s = QSnapSettings(4, elements=("Be", "Al"))
    c = np.zeros(s.n_columns() + 1)
    with pytest.raises(ValueError, match="elements"):
        SnapModel(c, s, 1.0, 1.0, "1", reference=ReferencePotential.zbl(("Al", "Be")))
    with pytest.raises(ValueError, match="differ"):
        write_snap_potential(c, folder=tmp_path, settings=s, reference=ReferencePotential.zbl("Be"))
    with pytest.raises(ValueError, match="differ"):
        pair_commands("a", "b", ["Be"], ReferencePotential.zbl(("Be", "Al")))
    m = SnapModel(c, s, 1.0, 1.0, "1", reference=ReferencePotential.zbl(("Be", "Al")).to_dict())
    assert m.reference == ReferencePotential.zbl(("Be", "Al"))


def test_pyiron_lammps_job_runs_the_hybrid_potential(project, tmp_path):
    pytest.importorskip("pyiron_atomistics")
    from pyiron_appmlip.descriptors import QSnapSettings
    from pyiron_appmlip.potential.model import SnapModel

    helpers = _export_helpers()
    helpers._install_lammps_executable()
    structure = project.create.structure.bulk("Be", a=A, c=C).repeat([2, 2, 1])
    structure.rattle(0.05, seed=3)
    s = QSnapSettings(4, elements=("Be",))
    rng = np.random.default_rng(4)
    model = SnapModel(
        np.r_[-3.7, 1e-3 * rng.standard_normal(s.n_columns())],
        s,
        1.0,
        1.0,
        "1",
        reference=ReferencePotential.zbl("Be"),
    )
    job = project.create.job.Lammps("snap_zbl_static")
    job.structure = structure
    job.potential = model.potential_dataframe(tmp_path / "pot")
    job.calc_static()
    job.run()
    assert job.status.finished
    (e,), (f,) = model.predict_structures([structure])
    assert job.output.energy_pot[-1] == pytest.approx(e, abs=1e-5)
    np.testing.assert_allclose(job.output.forces[-1], f, rtol=0, atol=1e-5)
