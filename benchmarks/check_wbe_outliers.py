"""Which W-Be test configurations carry the whole-pool test energy error, per group and volume.

The like-for-like study (``pyiron_appmlip.reproduction.like_for_like``) splits the Be part of the W-Be
SNAP training set in halves by configuration id and fits the whole training half; at 2Jmax 8
its test energy RMSE is far above the training one. This script repeats that fit (same groups
left out, same split, ZBL reference, package fit at w_E/w_F = 150) and prints, for the training
and the test half, the energy RMSE per group, the configurations with the largest errors with
their volume per atom, and the training half's volume range per group, so that extrapolation
beyond the training volumes can be seen. The data are not part of the package::

    .venv/bin/python benchmarks/check_wbe_outliers.py /path/to/WBe_PRB2019/JSON --twojmax 8

(LAMMPS descriptors of 5,995 configurations: about 2 min at 2Jmax 8 on one core.)
"""

from __future__ import annotations

import argparse
import fnmatch

import numpy as np
import pandas as pd

from pyiron_appmlip.core.fit import fit_weighted
from pyiron_appmlip.datasets.importers import read_dataset
from pyiron_appmlip.datasets.store import select_configurations
from pyiron_appmlip.descriptors import compute_qsnap_blocks
from pyiron_appmlip.potential.reference import ReferencePotential
from pyiron_appmlip.reproduction.like_for_like import WBE_EXCLUDED_GROUPS, StudyConventions
from pyiron_appmlip.training.labels import split_by_configuration


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("wbe", help="the W-Be set's JSON folder (FitSNAP examples/WBe_PRB2019/JSON)")
    ap.add_argument("--twojmax", type=int, default=8)
    ap.add_argument("--weight", type=float, default=StudyConventions.curve_weight, help="w_E/w_F")
    ap.add_argument("--top", type=int, default=8, help="largest errors listed per half")
    args = ap.parse_args()

    ds = read_dataset(args.wbe, duplicates="drop", stress_unit="kbar")
    keep = [
        i
        for i, g in zip(ds.ids, ds.group, strict=True)
        if not any(fnmatch.fnmatchcase(g, pat) for pat in WBE_EXCLUDED_GROUPS)
    ]
    ds = select_configurations(ds, keep)
    group = dict(zip(ds.ids, ds.group, strict=True))
    # the study's split: halves by configuration id with the conventions' seed
    train, test = split_by_configuration(ds.ids, test_fraction=0.5, seed=StudyConventions.seed)
    ids = list(train) + list(test)
    structures = {i: ds.structure(i) for i in ids}
    reference = ReferencePotential.zbl(("Be",), 4.0, 4.8)
    labels = reference.subtract(ds.labels(ds.level_names[0], ids), structures)
    computed = compute_qsnap_blocks([structures[i] for i in ids], args.twojmax)
    blocks = dict(zip(ids, computed, strict=True))
    model = fit_weighted(
        [blocks[i] for i in train],
        [labels.energies[i] for i in train],
        [labels.forces[i] for i in train],
        args.weight,
        1.0,
    )
    volume = {i: structures[i].get_volume() / len(structures[i]) for i in ids}
    for name, part in (("training half", train), ("test half", test)):
        energies, _ = model.predict([blocks[i] for i in part])
        n = np.array([len(structures[i]) for i in part])
        table = pd.DataFrame(
            {
                "group": [group[i] for i in part],
                "error_meV_per_atom": 1000.0 * (energies - [labels.energies[i] for i in part]) / n,
                "atoms": n,
                "volume_per_atom": [volume[i] for i in part],
            }
        )
        rmse = np.sqrt(np.mean(table.error_meV_per_atom**2))
        print(f"\n{name}: energy RMSE {rmse:.1f} meV/atom; per group:")
        per_group = table.groupby("group").error_meV_per_atom.agg(lambda x: np.sqrt(np.mean(x**2)))
        print(per_group.round(1).to_string())
        largest = table.error_meV_per_atom.abs().sort_values(ascending=False).index[: args.top]
        print(f"largest errors:\n{table.loc[largest].round(3).to_string()}")
    ranges = pd.DataFrame(
        {"group": [group[i] for i in train], "volume": [volume[i] for i in train]}
    ).groupby("group")["volume"]
    print("\ntraining half's volume per atom (Angstrom^3), min and max per group:")
    print(ranges.agg(["min", "max"]).round(2).to_string())


if __name__ == "__main__":
    main()
