"""A synthetic stand-in for the paper authors' Be dataset, in their file layout.

The authors' data (``Be_structures.h5``, ``Be_prec_1.h5`` .. ``Be_prec_6.h5``, see
:mod:`pyiron_appmlip.datasets.formats.paper_hdf`) are not shipped. :func:`write_standin`
writes files in exactly that layout so that the reproduction command
(:mod:`pyiron_appmlip.reproduction.paper`) runs end to end without them::

    python -m pyiron_appmlip.reproduction.paper_standin --out standin          # 20,000 cells
    python -m pyiron_appmlip.reproduction.paper_standin --out small --n 300    # a small one

What it holds (deterministic for a seed; each configuration from its own random stream, so
the first configurations of a large stand-in equal those of a small one):

* structures: Be cells of 44 to 54 atoms (hcp 3x3x3, bcc 3x3x3 and fcc 2x2x3 supercells at
  the Be density, strained by up to 6 %, sheared by up to 3 %, rattled by 0.03-0.15 Angstrom,
  with 0-4 vacancies), no two atoms closer than 1.5 Angstrom;
* level 6: a Morse pair potential of Be evaluated by LAMMPS
  (:data:`REFERENCE`, D = 0.4 eV, alpha = 1.3 1/Angstrom, r0 = 2.22 Angstrom, cutoff 5
  Angstrom), its energies shifted by one constant per atom to about -3.7 eV/atom;
* levels 1-5: level 6 plus deviations of the size of the paper's Table 3
  (:data:`~pyiron_appmlip.reproduction.paper_values.TABLE_3`): per configuration an energy
  deviation per atom ``c_L + m_L (0.6 z_v + 0.8 z)`` with ``c_L = sqrt(U_L^2 - m_L^2)`` (U the
  unshifted, m the mean-shifted RMSD; z_v the configuration's standardised volume per atom, z
  standard normal noise), and force deviations ``a_L F_6 + noise`` whose two parts each carry
  half of the mean square of Table 3's force RMSD. The level-to-level differences thus have the
  published sizes, half of each learnable from the structure and half noise. The energies of
  levels 1-5 are not the integrals of their forces (nor are the paper's, at low k-point
  density);
* stresses: the reference's, in bar with the pressure sign (positive under compression), as
  the authors' FitSNAP inputs declare, and never fitted;
* a few configurations (``n_incomplete``, default 20) lack the label of one level, as in the
  authors' data (about 19,980 of their 20,000 configurations have every level).

Units: Angstrom, eV, eV/Angstrom; stresses bar.
"""

from __future__ import annotations

import argparse
import math
import os
import warnings

import numpy as np

__all__ = ["REFERENCE", "DEFAULT_N", "write_standin", "standin_structures", "main"]

#: The default size: 19,980 configurations labelled at every level plus 20 with one gap.
DEFAULT_N = 20000
#: LAMMPS pair style of the level-6 labels: ``(pair_style, pair_coeff)``.
REFERENCE = ("morse 5.0", ("* * 0.4 1.3 2.22",))
_BE_A, _BE_C = 2.29, 3.58
_EV_PER_A3_TO_BAR = 1.6021766208e6
_ENERGY_PER_ATOM = -3.7
_MIN_DISTANCE = 1.5
_MIX = (0.6, 0.8)  # shares of volume and noise in the energy deviation (squares sum to 1)


def _cell(rng):
    from ase.build import bulk

    kind = rng.integers(3)
    if kind == 0:
        atoms = bulk("Be", "hcp", a=_BE_A, c=_BE_C) * (3, 3, 3)
    else:
        volume = math.sqrt(3) / 2 * _BE_A**2 * _BE_C / 2  # per atom, as hcp
        if kind == 1:
            atoms = bulk("Be", "bcc", a=(2 * volume) ** (1 / 3), cubic=True) * (3, 3, 3)
        else:
            atoms = bulk("Be", "fcc", a=(4 * volume) ** (1 / 3), cubic=True) * (2, 2, 3)
    return atoms


def _one_structure(seed: int, k: int):
    from ..structures.candidates import minimum_distance

    rng = np.random.default_rng([int(seed), int(k)])
    while True:
        atoms = _cell(rng)
        strain = np.eye(3) + np.diag(rng.uniform(-0.06, 0.06, 3))
        shear = rng.uniform(-0.03, 0.03, 3)
        strain[0, 1] = strain[1, 0] = shear[0]
        strain[0, 2] = strain[2, 0] = shear[1]
        strain[1, 2] = strain[2, 1] = shear[2]
        atoms.set_cell(np.asarray(atoms.get_cell()) @ strain, scale_atoms=True)
        n_vacancies = int(rng.integers(0, 5))
        if n_vacancies:
            del atoms[list(rng.choice(len(atoms), n_vacancies, replace=False))]
        atoms.positions += rng.normal(scale=rng.uniform(0.03, 0.15), size=atoms.positions.shape)
        atoms.wrap()
        if minimum_distance(atoms) >= _MIN_DISTANCE:
            return atoms


def standin_structures(n: int, seed: int = 0) -> list:
    """The stand-in's ``n`` structures (ASE ``Atoms``, 44-54 Be atoms each)."""
    return [_one_structure(seed, k) for k in range(int(n))]


def _check_n(n, n_incomplete):
    for name, value, low in (("n", n, 2), ("n_incomplete", n_incomplete, 0)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if n_incomplete >= n:
        raise ValueError(f"n_incomplete must be smaller than n ({n}), got {n_incomplete}")


def write_standin(
    folder, n: int = DEFAULT_N, seed: int = 0, n_incomplete: int | None = None, progress=None
) -> dict:
    """Write the stand-in (see the module docstring) into ``folder``.

    Args:
        folder: where ``Be_structures.h5`` and ``Be_prec_1.h5`` .. ``Be_prec_6.h5`` go
            (created; existing files of these names are replaced).
        n: number of configurations (>= 2; default 20,000).
        seed: root seed; the same seed gives the same files.
        n_incomplete: configurations lacking the label of one level (default: 20 for the full
            size, ``n // 100`` otherwise); each lacks one level 1-6 chosen at random.
        progress: optional callable receiving messages.

    Returns:
        A summary: ``n``, ``n_incomplete``, the files written and, per level 1-5, the realised
        RMSD to level 6 (``energy_unshifted``, ``energy_mean_shifted`` in meV/atom, ``force``
        in meV/Angstrom) beside Table 3's.

    Raises:
        ValueError: for ``n`` below 2 or ``n_incomplete`` negative or not below ``n``.
    """
    import pandas as pd

    from ..potential.reference import ReferencePotential
    from .paper_values import TABLE_3

    if n_incomplete is None:
        n_incomplete = min(20, int(n) // 100) if n != DEFAULT_N else 20
    _check_n(n, n_incomplete)
    say = progress or (lambda m: None)
    say(f"stand-in: {n} structures (seed {seed})")
    structures = standin_structures(n, seed)
    reference = ReferencePotential(REFERENCE[0], REFERENCE[1], ("Be",), cutoff=5.0)
    say("stand-in: level 6 from the reference potential (LAMMPS)")
    energies, forces, stresses = reference.evaluate(structures)
    n_atoms = np.array([len(a) for a in structures])
    energies = energies + n_atoms * (_ENERGY_PER_ATOM - float(np.mean(energies / n_atoms)))
    volume = np.array([a.get_volume() / len(a) for a in structures])
    z_volume = (volume - volume.mean()) / (volume.std() or 1.0)
    rms_force = float(np.sqrt(np.mean(np.concatenate(forces) ** 2)))
    rng = np.random.default_rng([int(seed), 2**31])
    gaps = rng.choice(int(n), int(n_incomplete), replace=False)
    gap_level = dict(
        zip(gaps.tolist(), rng.integers(1, 7, int(n_incomplete)).tolist(), strict=True)
    )
    os.makedirs(folder, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pytables pickles the object columns
        pd.DataFrame({"ASEatoms": structures}).to_hdf(
            os.path.join(folder, "Be_structures.h5"), key="df"
        )
    table3 = {row["level"]: row for row in TABLE_3}
    realised = {}
    stress_bar = [-_EV_PER_A3_TO_BAR * _voigt_to_matrix(s) for s in stresses]
    for level in range(1, 7):
        if level == 6:
            e, f = energies, forces
        else:
            row = table3[level]
            u = row["energy_unshifted_mev_per_atom"] / 1000.0
            m = row["energy_mean_shifted_mev_per_atom"] / 1000.0
            level_rng = np.random.default_rng([int(seed), level])
            noise = level_rng.standard_normal(int(n))
            per_atom = math.sqrt(max(u**2 - m**2, 0.0)) + m * (_MIX[0] * z_volume + _MIX[1] * noise)
            e = energies + per_atom * n_atoms
            force_rmsd = row["force_mev_per_angstrom"] / 1000.0
            scale = math.sqrt(0.5) * force_rmsd / rms_force
            f = [
                fk * (1.0 + scale)
                + level_rng.normal(scale=math.sqrt(0.5) * force_rmsd, size=fk.shape)
                for fk in forces
            ]
            de = (e - energies) / n_atoms
            df = np.concatenate(f) - np.concatenate(forces)
            realised[level] = {
                "energy_unshifted": 1000 * float(np.sqrt(np.mean(de**2))),
                "energy_mean_shifted": 1000 * float(np.std(de)),
                "force": 1000 * float(np.sqrt(np.mean(df**2))),
                "table3": {
                    "energy_unshifted": row["energy_unshifted_mev_per_atom"],
                    "energy_mean_shifted": row["energy_mean_shifted_mev_per_atom"],
                    "force": row["force_mev_per_angstrom"],
                },
            }
        keep = [k for k in range(int(n)) if gap_level.get(k) != level]
        table = pd.DataFrame(
            {
                "index": keep,
                "energy": [float(e[k]) for k in keep],
                "forces": [np.asarray(f[k]) for k in keep],
                "stress": [stress_bar[k] for k in keep],
            }
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table.to_hdf(os.path.join(folder, f"Be_prec_{level}.h5"), key="df")
        say(f"stand-in: level {level} written ({len(keep)} configurations)")
    return {
        "n": int(n),
        "n_incomplete": int(n_incomplete),
        "seed": int(seed),
        "folder": os.path.abspath(folder),
        "files": ["Be_structures.h5"] + [f"Be_prec_{lv}.h5" for lv in range(1, 7)],
        "rmsd_to_level6": realised,
    }


def _voigt_to_matrix(s) -> np.ndarray:
    xx, yy, zz, yz, xz, xy = s
    return np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])


def main(argv=None) -> dict:
    """Command line: ``python -m pyiron_appmlip.reproduction.paper_standin --out DIR``."""
    parser = argparse.ArgumentParser(
        prog="python -m pyiron_appmlip.reproduction.paper_standin",
        description="Write a synthetic stand-in of the paper authors' Be data in their layout.",
    )
    parser.add_argument("--out", required=True, help="folder of the files")
    parser.add_argument("--n", type=int, default=DEFAULT_N, help="configurations (20,000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--incomplete", type=int, default=None, help="configurations with a gap")
    args = parser.parse_args(argv)
    summary = write_standin(args.out, args.n, args.seed, args.incomplete, progress=print)
    for level, r in summary["rmsd_to_level6"].items():
        t = r["table3"]
        print(
            f"level {level}: energy RMSD {r['energy_unshifted']:.2f} (Table 3: "
            f"{t['energy_unshifted']}) meV/atom, mean-shifted {r['energy_mean_shifted']:.2f} "
            f"({t['energy_mean_shifted']}), force {r['force']:.1f} ({t['force']}) meV/Angstrom"
        )
    return summary


if __name__ == "__main__":
    main()
