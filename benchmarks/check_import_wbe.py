"""Import a real FitSNAP JSON folder with ``read_dataset`` and check it against FitSNAP itself.

The data is the W-Be SNAP training set of M. A. Wood et al., Phys. Rev. B 99, 184305 (2019),
in FitSNAP's repository under ``examples/WBe_PRB2019/JSON/`` (any FitSNAP JSON folder works).
It is not part of this package; give its path on the command line::

    .venv/bin/python benchmarks/check_import_wbe.py /path/to/WBe_PRB2019/JSON

Prints the per-group counts (configurations, atoms, stresses recorded), the duplicates, the
time taken, a write/load round trip, an estimate of the stress unit from the equation-of-state
groups (pressure against -dE/dV), and an independent check of every file: FitSNAP's own JSON
scraper (fitsnap3lib, run serially; ``--reader json`` uses ``json.load`` of the raw files
instead) reads the same files, its rotation into LAMMPS' frame is undone, its stress (bar,
pressure sign) is converted by hand (1 bar = 1e5 Pa, 1 eV/A^3 = 1.6021766208e11 Pa), and
energies, forces and stresses are compared with the import. The last line is the largest
difference.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

BAR_IN_EV_PER_A3 = 1e5 / 1.6021766208e11  # by hand: Pa per bar / Pa per eV/Angstrom^3
VOIGT = ([0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1])


def fitsnap_scrape(root: str, groups: list[str]) -> dict:
    """(group, file name) -> FitSNAP's scraped data, forces and stress back in the file's frame."""
    from fitsnap3lib.fitsnap import FitSnap

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
        "PATH": {"dataPath": root},
        "OUTFILE": {"metrics": "metrics.md", "potential": "pot"},
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
            **{g: "1.0 0.0 1.0 1.0 1.0" for g in groups},
        },
    }
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # FitSNAP may write files to the working directory
        try:
            fs = FitSnap(settings, arglist=["--overwrite"])
            fs.scraper.scrape_groups()
            fs.scraper.divvy_up_configs()
            scraped = fs.scraper.scrape_configs()
        finally:
            os.chdir(here)
    out = {}
    for d in scraped:
        rot = d["Rotation"]  # FitSNAP: F_lammps = F @ rot.T, S_lammps = rot @ S @ rot.T
        out[f"{d['Group']}/{d['File']}"] = {
            "energy": float(d["Energy"]),
            "forces": np.asarray(d["Forces"]) @ rot,
            "stress_bar": rot.T @ np.asarray(d["Stress"]) @ rot,
        }
    return out


def raw_json(root: str, files: list[str]) -> dict:
    out = {}
    for rel in files:
        with open(os.path.join(root, rel)) as handle:
            first = handle.readline()
            text = handle.read() if not first.lstrip().startswith("{") else first + handle.read()
        config = json.loads(text)["Dataset"]["Data"][0]
        out[rel] = {
            "energy": float(config["Energy"]),
            "forces": np.asarray(config["Forces"], dtype=float),
            "stress_bar": np.asarray(config["Stress"], dtype=float),
        }
    return out


def eos_stress_ratio(ds, level) -> list[tuple[str, float, int]]:
    """Per EOS group: median of recorded pressure / (-dE/dV) (local quadratic fits of E(V))."""
    data = ds.level(level)
    rows = []
    for group in sorted(set(ds.group)):
        if not group.upper().startswith("EOS"):
            continue
        points = []
        for cid, g, atoms in zip(ds.ids, ds.group, ds.structures, strict=True):
            if g != group:
                continue
            k = data.index(cid)
            s = data.stress[k]
            if np.all(np.isfinite(s)):
                n = len(atoms)
                points.append((atoms.get_volume() / n, data.energy[k] / n, -s[:3].mean()))
        points.sort()
        v, e, p = (np.array(c) for c in zip(*points, strict=True))
        ratios = []
        for i in range(3, len(v) - 3):
            window = slice(i - 3, i + 4)
            if np.ptp(v[window]) <= 0:
                continue
            c2, c1, _ = np.polyfit(v[window], e[window], 2)
            slope = -(2 * c2 * v[i] + c1)  # -dE/dV, eV/Angstrom^3
            if abs(slope) > 1e-3:  # away from the minimum, where the ratio is defined
                ratios.append(p[i] / slope)
        if ratios:
            rows.append((group, float(np.median(ratios)), len(ratios)))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="FitSNAP JSON folder (one sub-folder per group)")
    parser.add_argument("--duplicates", default="drop", choices=("error", "first", "drop"))
    parser.add_argument("--stress-unit", default=None, help="override the files' StressStyle")
    parser.add_argument("--reader", default="fitsnap", choices=("fitsnap", "json"))
    args = parser.parse_args(argv)

    from pyiron_appmlip.datasets.importers import group_summary, read_dataset
    from pyiron_appmlip.datasets.store import load_dataset, write_dataset

    root = os.path.abspath(args.path)
    start = time.perf_counter()
    ds = read_dataset(root, duplicates=args.duplicates, stress_unit=args.stress_unit)
    seconds = time.perf_counter() - start
    level = ds.level_names[0]
    data = ds.level(level)
    summary = ds.metadata["import"]
    print(f"read_dataset({root!r}, duplicates={args.duplicates!r}): {seconds:.2f} s")
    print(
        f"files {summary['n_files']}, configurations read {summary['n_read']}, kept "
        f"{summary['n_configurations']}, atoms {int(ds.n_atoms.sum())}, level {level!r}"
    )
    print(f"files_sha256 {summary['files_sha256']}")
    print(f"declared units: {data.source['declared_units']}")
    print()
    table = group_summary(ds, level)
    files_per_group = {}
    for rel in data.source["files"]:
        group = os.path.dirname(rel) or os.path.basename(root)
        files_per_group[group] = files_per_group.get(group, 0) + 1
    table.insert(1, "files", [files_per_group.get(g, 0) for g in table["group"]])
    print(table.to_string(index=False))
    print(
        f"total: {table['files'].sum()} files, {table['configurations'].sum()} configurations, "
        f"{table['atoms_total'].sum()} atoms, {table['stress_recorded'].sum()} stresses recorded"
    )
    print()
    dups = data.source["duplicates"]
    agree = [d for d in dups if d["labels"] == "agree"]
    differ = [d for d in dups if d["labels"] == "differ"]
    print(
        f"duplicates: {summary['n_duplicates_merged']} copies merged into {len(agree)} "
        f"configurations (labels agree within {data.source['label_tolerance']}); "
        f"{len(differ)} structures with different labels ({args.duplicates}: "
        f"{summary['n_left_out']} files left out)"
    )
    cross = [d for d in agree if len({c.split("/")[0] for c in d["copies"]}) > 1]
    print(
        f"  merged copies across groups: {len(cross)}, e.g. {cross[0]['copies'] if cross else '-'}"
    )
    for d in differ:
        diff = {k: (f"{v:.3g}" if v is not None else None) for k, v in d["max_difference"].items()}
        print(f"  differ: {d['copies']} largest differences {diff}")
    print()

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        back = load_dataset(write_dataset(os.path.join(tmp, "wbe.h5"), ds))
        size = os.path.getsize(os.path.join(tmp, "wbe.h5"))
    same = (
        back.ids == ds.ids
        and back.group == ds.group
        and back.metadata == ds.metadata
        and back.level(level).source == data.source
        and all(
            np.array_equal(getattr(back.level(level), k), getattr(data, k), equal_nan=True)
            for k in ("energy", "energy_zero", "stress")
        )
        and all(
            np.array_equal(a, b) for a, b in zip(back.level(level).forces, data.forces, strict=True)
        )
    )
    print(
        f"write_dataset/load_dataset round trip: {'exact' if same else 'DIFFERS'} "
        f"({size / 1e6:.1f} MB, {time.perf_counter() - start:.2f} s)"
    )
    for group, ratio, n in eos_stress_ratio(ds, level):
        print(
            f"stress unit check {group}: recorded pressure / (-dE/dV) = {ratio:.4g} "
            f"(median of {n} points; 1 if stresses and energies agree)"
        )
    print()

    origin_of = {origin: cid for cid, origin in data.source["origin"].items()}
    merged_into = {}
    for d in agree:
        for c in d["copies"]:
            merged_into[c] = d["id"]
    files = sorted(data.source["files"])
    start = time.perf_counter()
    if args.reader == "fitsnap":
        try:
            groups = sorted({os.path.dirname(f) for f in files})
            reference = fitsnap_scrape(root, groups)
            reader = "FitSNAP's JSON scraper (fitsnap3lib)"
        except ImportError:
            reference, reader = raw_json(root, files), "json.load (fitsnap3lib not installed)"
    else:
        reference, reader = raw_json(root, files), "json.load"
    print(
        f"independent reader: {reader}, {len(reference)} files, {time.perf_counter() - start:.2f} s"
    )
    if sorted(reference) != files:
        print(f"  files read differ: {sorted(set(files) ^ set(reference))[:5]}")

    worst = {"kept": [0.0, 0.0, 0.0], "merged": [0.0, 0.0, 0.0]}
    flag_mismatch = unchecked = 0
    for rel in files:
        cid = origin_of.get(rel, merged_into.get(rel))
        if cid is None:  # a copy with different labels, left out
            unchecked += 1
            continue
        k = data.index(cid)
        ref = reference[rel]
        kind = "kept" if rel in origin_of else "merged"
        expected = -ref["stress_bar"][VOIGT] * BAR_IN_EV_PER_A3
        if args.stress_unit is not None:
            expected = expected * {"kbar": 1e3, "kb": 1e3, "gpa": 1e4}.get(
                args.stress_unit.lower(), 1.0
            )
        recorded = bool(np.any(ref["stress_bar"] != 0))
        flag_mismatch += recorded != bool(np.all(np.isfinite(data.stress[k])))
        diffs = [
            abs(ref["energy"] - data.energy[k]),
            float(np.max(np.abs(ref["forces"] - data.forces[k]))),
            float(np.max(np.abs(expected - data.stress[k]))) if recorded else 0.0,
        ]
        worst[kind] = [max(a, b) for a, b in zip(worst[kind], diffs, strict=True)]
    print(
        f"compared {len(files) - unchecked} files ({unchecked} conflicting copies left out, "
        f"{flag_mismatch} disagreements on whether a stress is recorded)"
    )
    e, f, s = worst["merged"]
    print(
        f"merged duplicate copies vs the kept copy: energy {e:.3g} eV, forces {f:.3g} eV/A, "
        f"stress {s:.3g} eV/A^3 (the data's own spread, within the tolerance)"
    )
    e, f, s = worst["kept"]
    print(
        f"largest difference (import vs {reader.split(' (')[0]}, every kept file): energy "
        f"{e:.3g} eV, forces {f:.3g} eV/A, stress {s:.3g} eV/A^3"
    )
    return 0 if same and flag_mismatch == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
