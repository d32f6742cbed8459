"""MD throughput of exported qSNAP potentials (LAMMPS pair_style snap, 1 process) per 2Jmax.

    python benchmarks/bench_evaluation_cost.py [--repeat 4 4 4] [--steps 200] [--twojmax 4 6 8 10]

The paper (Table 2, from Wood and Thompson 2018) quotes 4e5, 1e5, 4e4 and 2e4 atom-steps/s for
2Jmax 4, 6, 8, 10 on other hardware. Random coefficients are used (the cost does not depend on
their values). 2Jmax 8 and 10 run 1/4 and 1/10 of ``--steps`` (at least 20) to keep the run short.
"""

from __future__ import annotations

import argparse

PAPER = {4: 4e5, 6: 1e5, 8: 4e4, 10: 2e4}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, nargs=3, default=(4, 4, 4))
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--twojmax", type=int, nargs="+", default=[4, 6, 8, 10])
    parser.add_argument("--ensemble", default="nve", choices=("nve", "nvt"))
    args = parser.parse_args(argv)

    from pyiron_appmlip.potential import measure_evaluation_cost

    print(f"{'2Jmax':>5s} {'coeffs':>7s} {'atoms':>6s} {'steps':>6s} {'seconds':>8s} "
          f"{'atom-steps/s':>13s} {'paper':>8s}")  # fmt: skip
    for twojmax in args.twojmax:
        steps = args.steps if twojmax <= 6 else max(20, args.steps // (4 if twojmax == 8 else 10))
        r = measure_evaluation_cost(
            twojmax=twojmax, repeat=args.repeat, n_steps=steps, ensemble=args.ensemble
        )
        paper = PAPER.get(twojmax)
        print(
            f"{twojmax:5d} {r['n_coefficients']:7d} {r['n_atoms']:6d} {r['n_steps']:6d} "
            f"{r['seconds']:8.2f} {r['atom_steps_per_second']:13.3g} "
            f"{paper if paper else float('nan'):8.1g}"
        )


if __name__ == "__main__":
    main()
