"""Two labelled dataset files side by side: per level, the largest label differences of the
configurations both hold, and their summed wall and CPU time.

Shows, for instance, that recomputed calculations reproduce the earlier labels and how much
of the earlier wall time was waiting for the cores:

    git show 5f436e9:pyiron_appmlip/datasets/data/be_gpaw_large.h5 > /tmp/before.h5
    .venv/bin/python benchmarks/compare_dataset_files.py /tmp/before.h5 \\
        pyiron_appmlip/datasets/data/be_gpaw_large.h5
"""

from __future__ import annotations

import argparse

import numpy as np

from pyiron_appmlip.datasets.store import load_dataset


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("first", help="dataset file (e.g. the earlier export)")
    ap.add_argument("second", help="dataset file (e.g. the later export)")
    args = ap.parse_args(argv)
    a, b = load_dataset(args.first), load_dataset(args.second)
    for name in b.level_names:
        if name not in a.levels:
            print(f"level {name}: only in {args.second}")
            continue
        la, lb = a.level(name), b.level(name)
        common = [i for i in lb.ids if i in set(la.ids)]
        if not common:
            print(f"level {name}: no configuration in both files")
            continue
        ia, ib = [la.index(i) for i in common], [lb.index(i) for i in common]
        n_atoms = np.array([len(b.structure(i)) for i in common])
        de = np.abs(la.energy[ia] - lb.energy[ib]) / n_atoms
        df = max(
            float(np.abs(la.forces[i] - lb.forces[j]).max()) for i, j in zip(ia, ib, strict=True)
        )
        hours = [
            la.wall_time[ia].sum() / 3600,
            lb.wall_time[ib].sum() / 3600,
            np.nansum(lb.cpu_time[ib]) / 3600,
        ]
        print(
            f"level {name}: {len(common)} configurations in both, largest |dE| "
            f"{de.max() * 1e3:.3g} meV/atom, largest |dF| {df * 1e3:.3g} meV/Angstrom; wall "
            f"{hours[0]:.2f} h (first) {hours[1]:.2f} h (second), CPU {hours[2]:.2f} h (second, "
            f"{int(np.isfinite(lb.cpu_time[ib]).sum())} recorded)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
