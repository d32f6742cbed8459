"""Fit linear (or quadratic) SNAP to FitSNAP JSON data with this package and with FitSNAP itself.

The data is the Be part of the W-Be SNAP training set of M. A. Wood et al., Phys. Rev. B 99,
184305 (2019), in FitSNAP's repository under ``examples/WBe_PRB2019/JSON/`` (any FitSNAP JSON
folder of one element works). It is not part of this package; give its path::

    .venv/bin/python benchmarks/check_fitsnap_wbe.py /path/to/WBe_PRB2019/JSON
    .venv/bin/python benchmarks/check_fitsnap_wbe.py JSON --twojmax 8 --groups 'EOS_*'
    .venv/bin/python benchmarks/check_fitsnap_wbe.py JSON --quadratic 1 --limit 100

Default subset (5,294 configurations, about a minute on 2 cores at 2Jmax 4): every
configuration of the EOS_* and Elast_* groups (2-4-atom cells) and the first 300 files of
DFTMD_300K (48 atoms), in the importer's natural file order. ``--groups`` takes names or
shell patterns, each optionally with ``:N`` (the first N files of that group); ``--limit N``
caps every group.

Both sides solve the same weighted least-squares problem:

- Descriptors: FitSNAP's W-Be settings (rcutfac 4.812302818, rfac0 0.99363, rmin0 0, wj(Be)
  0.9590493408, radelem(Be) 0.417932464, switchflag 1), linear SNAP (``--quadratic 1``:
  quadratic), 2Jmax from ``--twojmax``. The package's blocks come from
  ``compute_qsnap_blocks``; FitSNAP runs LAMMPS ``compute snap`` itself.
- Reference: ZBL (``pair_style zbl 4.0 4.8``, Z = 4) subtracted from energies and forces;
  ``ReferencePotential.zbl(("Be",))`` in the package, FitSNAP's REFERENCE section (its
  ``compute snap`` reference column) on the other side. Stresses are not fitted (the W-Be
  JSON stresses are kbar although declared bar, see ``pyiron_appmlip.datasets.formats.fitsnap_json``).
- Constant column: ``bzeroflag 0`` on both sides (the default here). FitSNAP then adds its
  one-hot column (the fraction of atoms of the element: 1 on every per-atom energy row, 0 on
  force rows), which is exactly the package's constant per-atom energy column
  (``coefficients[0]``, N on the total-energy row = 1 on the per-atom row). The two
  coefficient vectors then have the same layout, [constant, B_1 ... B_K (, products)].
  ``--bzeroflag 1`` uses FitSNAP's own W-Be choice on both sides: FitSNAP then has no
  constant column (its isolated-atom energy is pinned to 0), the package keeps its free
  constant, the problems differ by that column and only predictions are compared.
- Weights: FitSNAP's group table (``group = training_size testing_size eweight fweight
  vweight``) with the eweight/fweight of FitSNAP's W-Be fit
  (``examples/WBe_PRB2019/20May21_Standard/WBe-example.in``), ``--weights unit`` for all 1.
  FitSNAP multiplies its per-atom energy row by eweight and every force row by fweight
  (``w * A``, ``w * b``); the package's energy rows are per atom too, with weight
  ``w_E * f_E``, and its force rows ``w_F * f_F``. So ``w_E = w_F = 1`` and per-configuration
  factors ``(f_E, f_F, f_S) = (eweight, fweight, 0)`` of its group give FitSNAP's matrix
  row for row (``fit_weighted(..., factors=...)``).
- Configurations: both read the same files. The importer merges copies of one structure with
  equal labels and (``duplicates="drop"``) leaves out copies with different labels; FitSNAP is
  given only the files the importer kept (symbolic links in a temporary folder), so it does
  not count a merged copy twice. No test split: FitSNAP's training_size 1.0, testing_size 0.
- Solvers: FitSNAP's SVD solver is ``scipy.linalg.lstsq(w A, w b, cond=1e-13)`` on the
  unscaled matrix; the package's is a QR of the weighted rows, columns scaled to unit norm,
  and an SVD truncated at rcond 1e-10. For a full-rank problem both give its unique solution,
  up to rounding (~ condition number x machine epsilon).

Printed: the problem sizes and times, the agreement of the training targets (labels minus
ZBL) and of the descriptor matrices, the coefficients, the weighted residual norms of both
solutions on FitSNAP's matrix, the prediction differences (SNAP plus ZBL, every configuration,
forces in each file's own frame), unweighted RMSEs of both (and FitSNAP's own error table),
per-group RMSEs; the LAST line is the largest prediction difference and both RMSEs.
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import io
import os
import re
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

#: FitSNAP's hyperparameters of the W-Be fit for Be (``WBe-example.in``; 2Jmax is an option).
WBE_HYPERPARAMETERS = {
    "rcutfac": 4.812302818,
    "rfac0": 0.99363,
    "rmin0": 0.0,
    "radelem": 0.417932464,
    "wj": 0.9590493408,
    "switchflag": 1,
}

_SURFACE = (41.9393253217912, 68.9623173495202)
_DEFECT = (11.6129704286138, 20.1327190878775)
_ELAST_SHEAR = (178.350842653746, 793.596683274656)
_ELAST_VOL = (178.350842653746, 1553.7039315755)
#: (eweight, fweight) of the Be groups in FitSNAP's W-Be fit (``WBe-example.in``, 20May21).
WBE_GROUP_WEIGHTS = {
    "001FreeSurf": _SURFACE,
    "010FreeSurf": _SURFACE,
    "100FreeSurf": _SURFACE,
    "Defect_BCrowd": _DEFECT,
    "Defect_BOct": _DEFECT,
    "Defect_BSplit": _DEFECT,
    "Defect_BTetra": _DEFECT,
    "Defect_Crowd": _DEFECT,
    "Defect_Oct": _DEFECT,
    "Defect_Tet": _DEFECT,
    "Defect_Vacancy": _DEFECT,
    "DFTMD_1000K": (436.46713269739, 25.9225848378898),
    "DFTMD_300K": (436.46713269739, 25.9225848378898),
    "Elast_BCC_Shear": _ELAST_SHEAR,
    "Elast_BCC_Vol": _ELAST_VOL,
    "Elast_FCC_Shear": _ELAST_SHEAR,
    "Elast_FCC_Vol": _ELAST_VOL,
    "Elast_HCP_Shear": _ELAST_SHEAR,
    "Elast_HCP_Vol": _ELAST_VOL,
    "EOS_BCC": (338.213923534691, 1553.7039315755),
    "EOS_FCC": (338.213923534691, 1553.7039315755),
    "EOS_HCP": (338.213923534691, 1553.7039315755),
    "StackFaults": (11.6129704286138, 793.596683274656),
    "Liquids": (0.0353125583595375, 25.9225848378898),
}

DEFAULT_GROUPS = ("EOS_*", "Elast_*", "DFTMD_300K:300")
FITSNAP_RCOND = 1e-13  # the cond of FitSNAP's SVD solver (fitsnap3lib/solvers/svd.py)


def _natural(text: str):
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


# --------------------------------------------------------------------------- selection
def select_files(root: str, specs, limit: int | None = None) -> dict[str, list[str]]:
    """The files of each selected group, in natural order.

    Args:
        root: a FitSNAP JSON folder (one sub-folder per group).
        specs: group names or shell patterns, each optionally followed by ``:N`` (the first N
            files of each matching group).
        limit: at most this many files per group (None: no cap).

    Returns:
        ``{group: [file names]}`` in the order of the folder listing (groups) and natural order
        (files).

    Raises:
        ValueError: for a pattern that matches no group or a malformed ``:N``.
    """
    groups = sorted(
        d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)) and d[0] != "."
    )
    chosen: dict[str, int | None] = {}
    for spec in specs:
        pattern, _, count = spec.partition(":")
        if count and not count.isdigit():
            raise ValueError(f"group spec {spec!r}: the count after ':' must be an integer")
        matches = [g for g in groups if fnmatch.fnmatchcase(g, pattern)]
        if not matches:
            raise ValueError(f"group spec {spec!r} matches no sub-folder of {root} ({groups})")
        for g in matches:
            chosen[g] = int(count) if count else None
    out = {}
    for g, count in chosen.items():
        names = sorted(
            (n for n in os.listdir(os.path.join(root, g)) if n.endswith(".json")), key=_natural
        )
        for cap in (count, limit):
            if cap is not None:
                names = names[:cap]
        out[g] = names
    return out


def link_tree(root: str, files: dict[str, list[str]], dest: str) -> str:
    """A FitSNAP JSON folder of symbolic links to the given files.

    Args:
        root: the source folder.
        files: ``{group: [file names]}``.
        dest: an empty or missing folder to create the links in.

    Returns:
        ``dest`` (absolute, without a trailing separator, as FitSNAP's JSON scraper needs).
    """
    dest = os.path.abspath(dest).rstrip(os.sep)
    for group, names in files.items():
        os.makedirs(os.path.join(dest, group), exist_ok=True)
        for name in names:
            os.symlink(
                os.path.abspath(os.path.join(root, group, name)), os.path.join(dest, group, name)
            )
    return dest


# --------------------------------------------------------------------------- results
@dataclass
class FitResult:
    """One side's fit and its predictions, per configuration keyed by ``group/file``.

    Attributes:
        coefficients: fitted coefficients (constant first when the problem has one).
        energy: predicted energies per atom, SNAP plus reference (eV/atom).
        forces: predicted forces, SNAP plus reference, in the file's frame (eV/Angstrom).
        target_energy: training target, (label - reference) / N (eV/atom).
        target_forces: training target, label - reference, in the file's frame (eV/Angstrom).
        label_energy: the label per atom (eV/atom).
        label_forces: the label forces (eV/Angstrom).
        seconds: wall time of each stage.
        extra: side-specific results (matrices, error tables, rank, ...).
    """

    coefficients: np.ndarray
    energy: dict = field(default_factory=dict)
    forces: dict = field(default_factory=dict)
    target_energy: dict = field(default_factory=dict)
    target_forces: dict = field(default_factory=dict)
    label_energy: dict = field(default_factory=dict)
    label_forces: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- the package
def run_package(dataset, settings, reference, group_weights, rcond=None) -> FitResult:
    """Fit with this package: blocks, reference subtracted, weighted fit, predictions.

    Args:
        dataset: a :class:`~pyiron_appmlip.datasets.store.LabelledDataset` from
            ``read_dataset`` of a FitSNAP JSON folder (one level).
        settings: the :class:`~pyiron_appmlip.descriptors.QSnapSettings` (elements set).
        reference: the :class:`~pyiron_appmlip.potential.reference.ReferencePotential`.
        group_weights: ``{group: (eweight, fweight)}`` in FitSNAP's convention.
        rcond: the solver's relative singular-value cutoff (None: the package default).

    Returns:
        A :class:`FitResult` keyed by each configuration's file (``group/file``).
    """
    from pyiron_appmlip.core.fit import DEFAULT_RCOND, fit_weighted
    from pyiron_appmlip.descriptors import compute_qsnap_blocks

    level = dataset.level(dataset.level_names[0])
    origin = level.source["origin"]
    ids = list(dataset.ids)
    structures = dict(zip(dataset.ids, dataset.structures, strict=True))
    labels = level.labels(ids)
    seconds = {}

    start = time.perf_counter()
    residual = reference.subtract(labels, structures)
    seconds["reference"] = time.perf_counter() - start

    start = time.perf_counter()
    blocks = compute_qsnap_blocks([structures[c] for c in ids], settings)
    seconds["descriptors"] = time.perf_counter() - start

    group = dict(zip(dataset.ids, dataset.group, strict=True))
    factors = [(*group_weights[group[c]], 0.0) for c in ids]
    start = time.perf_counter()
    model = fit_weighted(
        blocks,
        [residual.energies[c] for c in ids],
        [residual.forces[c] for c in ids],
        1.0,
        1.0,
        rcond=DEFAULT_RCOND if rcond is None else rcond,
        factors=factors,
    )
    seconds["fit"] = time.perf_counter() - start

    energies, forces = model.predict(blocks)
    out = FitResult(coefficients=model.coefficients.copy(), seconds=seconds)
    for k, cid in enumerate(ids):
        key = origin[cid]
        n = len(structures[cid])
        ref_e = labels.energies[cid] - residual.energies[cid]
        ref_f = labels.forces[cid] - residual.forces[cid]
        out.energy[key] = (energies[k] + ref_e) / n
        out.forces[key] = forces[k] + ref_f
        out.target_energy[key] = residual.energies[cid] / n
        out.target_forces[key] = residual.forces[cid]
        out.label_energy[key] = labels.energies[cid] / n
        out.label_forces[key] = labels.forces[cid]
    n_e = len(blocks)
    n_f = sum(b.shape[0] - 1 for b in blocks)
    out.extra.update(
        model=model,
        blocks=dict(zip((origin[c] for c in ids), blocks, strict=True)),
        rank=model.rank,
        n_columns=model.coefficients.shape[0],
        rows=(n_e, n_f),
        groups={origin[c]: group[c] for c in ids},
        errors=model.errors(
            blocks, [residual.energies[c] for c in ids], [residual.forces[c] for c in ids]
        ),
    )
    return out


# --------------------------------------------------------------------------- FitSNAP
def fitsnap_input(data_path, settings, reference, group_weights) -> dict:
    """FitSNAP's input (as a dict) for the same problem as :func:`run_package`.

    Args:
        data_path: the FitSNAP JSON folder (no trailing separator).
        settings: the :class:`~pyiron_appmlip.descriptors.QSnapSettings`.
        reference: the reference potential; its pair style and ``pair_coeff`` lines go to the
            REFERENCE section.
        group_weights: ``{group: (eweight, fweight)}``, one entry per sub-folder to read.

    Returns:
        The dict for ``FitSnap(input, arglist=["--overwrite"])``.
    """
    from pyiron_appmlip.descriptors.fitsnap import bispectrum_section

    ref = {"units": "metal", "atom_style": "atomic", "pair_style": reference.pair_style}
    for k, line in enumerate(reference.pair_coeff):
        ref[f"pair_coeff{k + 1}"] = line
    return {
        "BISPECTRUM": bispectrum_section(settings),
        "CALCULATOR": {"calculator": "LAMMPSSNAP", "energy": 1, "force": 1, "stress": 0},
        "SOLVER": {"solver": "SVD", "compute_testerrs": 1, "detailed_errors": 1},
        "SCRAPER": {"scraper": "JSON"},
        "PATH": {"dataPath": data_path},
        "OUTFILE": {"metrics": "metrics.md", "potential": "pot"},
        "REFERENCE": ref,
        "GROUPS": {
            "group_sections": "name training_size testing_size eweight fweight vweight",
            "group_types": "str float float float float float",
            "smartweights": 0,
            "random_sampling": 0,
            **{g: f"1.0 0.0 {ew!r} {fw!r} 0.0" for g, (ew, fw) in group_weights.items()},
        },
    }


def run_fitsnap(data_path, settings, reference, group_weights) -> FitResult:
    """Fit with FitSNAP (fitsnap3lib, serial): scrape, descriptors, SVD solve, predictions.

    FitSNAP's JSON scraper rotates every cell into LAMMPS' frame; its force rows, targets and
    predictions are rotated back here (``F_file = F_lammps @ Rotation``) so that they can be
    compared with the package's in each file's frame.

    Args:
        data_path: the FitSNAP JSON folder (the files :func:`run_package` used).
        settings: as for :func:`fitsnap_input`.
        reference: as for :func:`fitsnap_input`.
        group_weights: as for :func:`fitsnap_input`.

    Returns:
        A :class:`FitResult`; ``extra`` holds FitSNAP's matrix ``a``, targets ``b`` and row
        weights ``w``, its own error table and each configuration's first row, atom count and
        rotation.
    """
    from fitsnap3lib.fitsnap import FitSnap

    here = os.getcwd()
    log = io.StringIO()
    seconds = {}
    with tempfile.TemporaryDirectory(prefix="fitsnap-") as tmp:
        os.chdir(tmp)  # FitSNAP writes files into the working directory
        try:
            with contextlib.redirect_stdout(log), warnings.catch_warnings():
                # pandas' FutureWarning about FitSNAP's groupby().apply (error table)
                warnings.filterwarnings("ignore", category=FutureWarning, module="fitsnap3lib")
                fs = FitSnap(
                    fitsnap_input(data_path, settings, reference, group_weights),
                    arglist=["--overwrite"],
                )
                section = fs.config.sections["BISPECTRUM"]
                for name, value in list(vars(section).items()):
                    if isinstance(value, bool):  # LAMMPS wants 0/1, not True/False
                        setattr(section, name, int(value))
                start = time.perf_counter()
                fs.scrape_configs()
                seconds["scrape"] = time.perf_counter() - start
                start = time.perf_counter()
                fs.process_configs()
                seconds["descriptors"] = time.perf_counter() - start
                start = time.perf_counter()
                fs.perform_fit()
                seconds["fit"] = time.perf_counter() - start
        finally:
            os.chdir(here)
    a = np.array(fs.pt.shared_arrays["a"].array)
    b = np.array(fs.pt.shared_arrays["b"].array)
    w = np.array(fs.pt.shared_arrays["w"].array)
    df = fs.solver.df
    preds = np.asarray(df["preds"], dtype=float)
    row_type = list(df["Row_Type"])
    coefficients = np.asarray(fs.solver.fit, dtype=float).ravel()
    out = FitResult(coefficients=coefficients, seconds=seconds)
    rows, groups, row = {}, {}, 0
    for d in fs.data:  # serial FitSNAP: rows in the order of fs.data
        n = int(d["NumAtoms"])
        key = f"{d['Group']}/{d['File']}"
        if row_type[row] != "Energy" or set(row_type[row + 1 : row + 1 + 3 * n]) != {"Force"}:
            raise RuntimeError(f"unexpected row layout of FitSNAP's matrix at {key}")
        rot = np.asarray(d["Rotation"], dtype=float)
        e_label = float(d["Energy"]) / n
        f_label = np.asarray(d["Forces"], dtype=float).reshape(n, 3)  # LAMMPS frame
        f_target = b[row + 1 : row + 1 + 3 * n].reshape(n, 3)
        f_pred = preds[row + 1 : row + 1 + 3 * n].reshape(n, 3)
        out.energy[key] = preds[row] + e_label - b[row]
        out.forces[key] = (f_pred + f_label - f_target) @ rot
        out.target_energy[key] = b[row]
        out.target_forces[key] = f_target @ rot
        out.label_energy[key] = e_label
        out.label_forces[key] = f_label @ rot
        rows[key] = (row, n, rot)
        groups[key] = d["Group"]
        row += 1 + 3 * n
    if row != a.shape[0]:
        raise RuntimeError(f"FitSNAP's matrix has {a.shape[0]} rows, the configurations {row}")
    errors = fs.solver.errors
    own = {}
    for kind in ("Energy", "Force"):
        with contextlib.suppress(KeyError):
            own[kind] = float(errors.loc[("*ALL", "Unweighted", "Training", kind), "rmse"])
    out.extra.update(
        a=a,
        b=b,
        w=w,
        rows=rows,
        groups=groups,
        own_rmse=own,
        n_columns=a.shape[1],
        row_counts=(row_type.count("Energy"), row_type.count("Force")),
        log=log.getvalue(),
    )
    del fs  # frees FitSNAP's shared arrays
    return out


# --------------------------------------------------------------------------- comparison
def _max_abs(values) -> float:
    values = [np.max(np.abs(v)) if np.size(v) else 0.0 for v in values]
    return float(max(values, default=0.0))


def rmse(result: FitResult, keys) -> tuple[float, float]:
    """Unweighted RMSEs of one side's predictions against the labels.

    Args:
        result: a :class:`FitResult`.
        keys: the configurations to include.

    Returns:
        ``(energy RMSE meV/atom, force-component RMSE meV/Angstrom)``.
    """
    de = np.array([result.energy[k] - result.label_energy[k] for k in keys])
    df = np.concatenate([(result.forces[k] - result.label_forces[k]).ravel() for k in keys])
    return 1e3 * float(np.sqrt(np.mean(de**2))), 1e3 * float(np.sqrt(np.mean(df**2)))


def compare(pkg: FitResult, fsr: FitResult, same_problem: bool) -> dict:
    """Every comparison the script prints.

    Args:
        pkg: the package's result.
        fsr: FitSNAP's result.
        same_problem: the two coefficient vectors have the same layout (bzeroflag 0).

    Returns:
        A dict of named numbers (see :func:`report`).
    """
    keys = sorted(pkg.energy, key=_natural)
    if sorted(fsr.energy, key=_natural) != keys:
        missing = sorted(set(pkg.energy) ^ set(fsr.energy))
        raise RuntimeError(f"the two sides read different configurations, e.g. {missing[:5]}")
    r = {"n_configs": len(keys)}
    r["n_atoms"] = sum(len(pkg.forces[k]) for k in keys)
    r["label_energy"] = _max_abs(pkg.label_energy[k] - fsr.label_energy[k] for k in keys)
    r["label_forces"] = _max_abs(pkg.label_forces[k] - fsr.label_forces[k] for k in keys)
    r["target_energy"] = _max_abs(pkg.target_energy[k] - fsr.target_energy[k] for k in keys)
    r["target_forces"] = _max_abs(pkg.target_forces[k] - fsr.target_forces[k] for k in keys)

    # descriptor rows: the package's [1, X_0 / N] and X_force (file frame, rotated to LAMMPS')
    # against FitSNAP's unweighted rows, where the layouts agree
    a_fs, w = fsr.extra["a"], fsr.extra["w"]
    aw, bw = w[:, None] * a_fs, w * fsr.extra["b"]
    if same_problem:
        a_pkg = np.zeros_like(a_fs)
        for k in keys:
            row, n, rot = fsr.extra["rows"][k]
            block = pkg.extra["blocks"][k]
            a_pkg[row, 0] = 1.0
            a_pkg[row, 1:] = block[0] / n
            forces = block[1 : 1 + 3 * n].reshape(n, 3, -1)
            a_pkg[row + 1 : row + 1 + 3 * n, 1:] = np.einsum("ij,njp->nip", rot, forces).reshape(
                3 * n, -1
            )
        r["descriptor_rows"] = float(np.max(np.abs(a_pkg - a_fs)) / np.max(np.abs(a_fs)))
    s = np.linalg.svd(aw, compute_uv=False)
    r["fitsnap_rank"] = int(np.sum(s > FITSNAP_RCOND * s[0]))
    r["cond"] = float(s[0] / s[-1]) if s[-1] > 0 else float("inf")
    scaled = aw / np.where(np.linalg.norm(aw, axis=0) > 0, np.linalg.norm(aw, axis=0), 1.0)
    s2 = np.linalg.svd(scaled, compute_uv=False)
    r["cond_scaled"] = float(s2[0] / s2[-1]) if s2[-1] > 0 else float("inf")
    r["package_rank"] = pkg.extra["rank"]
    r["n_columns"] = (pkg.extra["n_columns"], fsr.extra["n_columns"])
    r["rows"] = (pkg.extra["rows"], fsr.extra["row_counts"])

    c_pkg, c_fs = pkg.coefficients, fsr.coefficients
    if same_problem:
        diff = np.abs(c_pkg - c_fs)
        r["coef_max_abs"] = float(diff.max())
        r["coef_max_rel"] = float(np.max(diff / np.maximum(np.abs(c_fs), 1e-300)))
        r["coef_norm_rel"] = float(np.linalg.norm(c_pkg - c_fs) / np.linalg.norm(c_fs))
        r["constant"] = (float(c_pkg[0]), float(c_fs[0]))
        loss = [float(np.linalg.norm(aw @ c - bw)) for c in (c_pkg, c_fs)]
        r["loss"] = tuple(loss)
    else:
        # FitSNAP (bzeroflag 1) writes 0 as its constant: its descriptor coefficients follow
        c_fs_desc = c_fs[1:] if c_fs.shape[0] == c_pkg.shape[0] else c_fs
        r["constant"] = (float(c_pkg[0]), 0.0)
        r["coef_norm_rel"] = float(
            np.linalg.norm(c_pkg[1:] - c_fs_desc) / np.linalg.norm(c_fs_desc)
        )

    r["pred_energy"] = _max_abs(pkg.energy[k] - fsr.energy[k] for k in keys)
    r["pred_forces"] = _max_abs(pkg.forces[k] - fsr.forces[k] for k in keys)
    r["pred_energy_rel"] = r["pred_energy"] / _max_abs(fsr.energy[k] for k in keys)
    r["pred_forces_rel"] = r["pred_forces"] / _max_abs(fsr.forces[k] for k in keys)
    r["rmse_package"] = rmse(pkg, keys)
    r["rmse_fitsnap"] = rmse(fsr, keys)
    e = pkg.extra["errors"]
    r["rmse_package_errors"] = (e.energy_rmse, e.force_rmse)
    own = fsr.extra["own_rmse"]
    r["rmse_fitsnap_own"] = (1e3 * own.get("Energy", np.nan), 1e3 * own.get("Force", np.nan))
    per_group = {}
    for g in dict.fromkeys(pkg.extra["groups"][k] for k in keys):
        gk = [k for k in keys if pkg.extra["groups"][k] == g]
        per_group[g] = (len(gk), rmse(pkg, gk), rmse(fsr, gk))
    r["per_group"] = per_group
    return r


def report(r: dict, pkg: FitResult, fsr: FitResult, args) -> str:
    """The printed table; its last line is the summary line.

    Args:
        r: the output of :func:`compare`.
        pkg: the package's result (for timings).
        fsr: FitSNAP's result (for timings).
        args: the parsed command line (for the header).

    Returns:
        The text to print.
    """
    lines = []
    add = lines.append
    kind = "quadratic" if args.quadratic else "linear"
    add(
        f"{kind} SNAP, 2Jmax {args.twojmax}, bzeroflag {args.bzeroflag}, weights {args.weights}, "
        f"{r['n_configs']} configurations, {r['n_atoms']} atoms"
    )
    (pe, pf), (fe, ff) = r["rows"]
    add(
        f"rows: package {pe} energy + {pf} force, FitSNAP {fe} energy + {ff} force; columns: "
        f"package {r['n_columns'][0]}, FitSNAP {r['n_columns'][1]}"
    )
    add(
        "time (s): package "
        + ", ".join(f"{k} {v:.1f}" for k, v in pkg.seconds.items())
        + "; FitSNAP "
        + ", ".join(f"{k} {v:.1f}" for k, v in fsr.seconds.items())
    )
    add(
        f"weighted matrix (FitSNAP's): cond {r['cond']:.3g}, columns scaled to unit norm "
        f"{r['cond_scaled']:.3g}; rank FitSNAP (cond 1e-13, unscaled) {r['fitsnap_rank']}, "
        f"package (rcond 1e-10, scaled) {r['package_rank']}"
    )
    add("")
    w = 44
    add(f"{'quantity':<{w}} {'package vs FitSNAP':>22}")

    def pair(name, x, y, fmt=".2e"):
        add(f"{name:<{w}} {x:>10{fmt}} {y:>11{fmt}}")

    pair("labels, max |diff| E (eV/atom), F (eV/A)", r["label_energy"], r["label_forces"])
    pair("targets (labels - ZBL), max |diff|", r["target_energy"], r["target_forces"])
    if "descriptor_rows" in r:
        add(f"{'descriptor rows, max |diff| / max |entry|':<{w}} {r['descriptor_rows']:>10.2e}")
    if "coef_max_abs" in r:
        add(f"{'coefficients, max |diff|':<{w}} {r['coef_max_abs']:>10.2e}")
        add(f"{'coefficients, max |diff| / |FitSNAP coef|':<{w}} {r['coef_max_rel']:>10.2e}")
    add(f"{'coefficients (descriptor part), rel. norm':<{w}} {r['coef_norm_rel']:>10.2e}")
    pair("constant (eV/atom): package, FitSNAP", *r["constant"], fmt=".6f")
    if "loss" in r:
        lp, lf = r["loss"]
        pair("weighted residual norm: package, FitSNAP", lp, lf, fmt=".6g")
        add(f"{'  relative difference':<{w}} {(lp - lf) / lf:>10.2e}")
    pair("predictions, max |diff| E (eV/atom), F (eV/A)", r["pred_energy"], r["pred_forces"])
    pair("  relative to max |prediction|", r["pred_energy_rel"], r["pred_forces_rel"])
    add("")
    add(f"{'RMSE (meV/atom, meV/A)':<{w}} {'energy':>10} {'force':>11}")
    for name, (e, f) in (
        ("package", r["rmse_package"]),
        ("package (its ErrorSummary)", r["rmse_package_errors"]),
        ("FitSNAP", r["rmse_fitsnap"]),
        ("FitSNAP (its own error table)", r["rmse_fitsnap_own"]),
    ):
        pair(name, e, f, fmt=".4f")
    add("")
    head = ("configs", "E pkg", "E FitSNAP", "F pkg", "F FitSNAP")
    add(f"{'group':<18} {head[0]:>7} " + " ".join(f"{h:>10}" for h in head[1:]))
    for g, (n, (ep, fp), (ef, ff_)) in r["per_group"].items():
        add(f"{g:<18} {n:>7} {ep:>10.4f} {ef:>10.4f} {fp:>10.4f} {ff_:>10.4f}")
    add("")
    (ep, fp), (ef, ff_) = r["rmse_package"], r["rmse_fitsnap"]
    add(
        f"largest prediction difference: {r['pred_energy']:.3e} eV/atom, "
        f"{r['pred_forces']:.3e} eV/Angstrom; RMSE package {ep:.4f} meV/atom "
        f"{fp:.4f} meV/Angstrom, FitSNAP {ef:.4f} meV/atom {ff_:.4f} meV/Angstrom"
    )
    return "\n".join(lines)


# --------------------------------------------------------------------------- main
def snap_settings(twojmax: int, quadratic: int, bzeroflag: int, element: str = "Be"):
    """The package's descriptor settings with FitSNAP's W-Be hyperparameters.

    Args:
        twojmax: 2Jmax.
        quadratic: quadraticflag (0: linear SNAP).
        bzeroflag: bzeroflag of both sides.
        element: the one element.

    Returns:
        A :class:`~pyiron_appmlip.descriptors.QSnapSettings`.
    """
    from pyiron_appmlip.descriptors import QSnapSettings

    h = dict(WBE_HYPERPARAMETERS)
    return QSnapSettings(
        twojmax=twojmax,
        rcutfac=h["rcutfac"],
        rfac0=h["rfac0"],
        rmin0=h["rmin0"],
        radelem={element: h["radelem"]},
        wj={element: h["wj"]},
        bzeroflag=bzeroflag,
        quadraticflag=quadratic,
        switchflag=h["switchflag"],
        elements=(element,),
    )


def main(argv=None) -> int:
    """Run both fits on the selected configurations and print the comparison.

    Args:
        argv: command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status (0).
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="FitSNAP JSON folder (one sub-folder per group)")
    parser.add_argument(
        "--groups",
        nargs="+",
        default=list(DEFAULT_GROUPS),
        help="group names or patterns, each optionally NAME:N (first N files); "
        f"default {' '.join(DEFAULT_GROUPS)}",
    )
    parser.add_argument("--limit", type=int, default=None, help="at most N files per group")
    parser.add_argument("--twojmax", type=int, default=4)
    parser.add_argument("--quadratic", type=int, choices=(0, 1), default=0)
    parser.add_argument("--bzeroflag", type=int, choices=(0, 1), default=0)
    parser.add_argument("--weights", choices=("wbe", "unit"), default="wbe")
    parser.add_argument(
        "--reference",
        choices=("zbl", "none"),
        default="zbl",
        help="zbl (FitSNAP's W-Be choice) or none (pair_style zero 4.5 on both sides)",
    )
    args = parser.parse_args(argv)

    from pyiron_appmlip.datasets.importers import read_dataset
    from pyiron_appmlip.potential.reference import ReferencePotential

    root = os.path.abspath(args.path)
    files = select_files(root, args.groups, args.limit)
    if args.weights == "wbe":
        unknown = sorted(set(files) - set(WBE_GROUP_WEIGHTS))
        if unknown:
            raise SystemExit(f"no W-Be weights for groups {unknown}: use --weights unit")
        weights = {g: WBE_GROUP_WEIGHTS[g] for g in files}
    else:
        weights = {g: (1.0, 1.0) for g in files}
    settings = snap_settings(args.twojmax, args.quadratic, args.bzeroflag)
    if args.reference == "zbl":
        reference = ReferencePotential.zbl(("Be",), inner=4.0, outer=4.8)
    else:  # no reference: a pair style that contributes nothing
        reference = ReferencePotential("zero 4.5", ["* *"], ("Be",))  # covers the SNAP cutoff
    print(
        "groups: " + ", ".join(f"{g} {len(v)}" for g, v in files.items()) + f" (from {root})",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="check-fitsnap-") as tmp:
        start = time.perf_counter()
        selected = link_tree(root, files, os.path.join(tmp, "selected"))
        ds = read_dataset(selected, duplicates="drop")
        seconds = time.perf_counter() - start
        summary = ds.metadata["import"]
        print(
            f"read_dataset: {summary['n_read']} files, {summary['n_configurations']} kept "
            f"({summary['n_duplicates_merged']} equal copies merged, {summary['n_left_out']} "
            f"copies with different labels left out), {seconds:.1f} s",
            flush=True,
        )
        kept: dict[str, list[str]] = {}
        for rel in ds.level(ds.level_names[0]).source["origin"].values():
            group, name = rel.split("/")
            kept.setdefault(group, []).append(name)
        fitsnap_root = link_tree(root, kept, os.path.join(tmp, "kept"))
        pkg = run_package(ds, settings, reference, weights)
        print(
            f"package done: {', '.join(f'{k} {v:.1f} s' for k, v in pkg.seconds.items())}",
            flush=True,
        )
        fsr = run_fitsnap(fitsnap_root, settings, reference, {g: weights[g] for g in kept})
        print(
            f"FitSNAP done: {', '.join(f'{k} {v:.1f} s' for k, v in fsr.seconds.items())}",
            flush=True,
        )
    r = compare(pkg, fsr, same_problem=args.bzeroflag == 0)
    print()
    print(report(r, pkg, fsr, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
