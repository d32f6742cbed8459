"""The paper's findings measured on a labelled dataset, and a Markdown report beside its numbers.

Run on the shipped Be dataset (a few minutes on one core)::

    python -m pyiron_appmlip.study.findings --out pyiron_appmlip/datasets/data/be_findings.md

The work is split in three steps:

* measuring (:mod:`pyiron_appmlip.study.findings_measure`): :func:`measure_findings` computes,
  with the paper's definitions,

  1. **Table 3**: RMS differences of every level against the highest level on the test subset
     (energy per atom unshifted, bulk-shifted, mean-shifted; forces);
  2. **Tables 4/5, Fig. 4**: test errors against the highest level of models trained on each
     level with a high energy weight and a high force weight, and along the whole weight sweep;
  3. **Fig. 6**: learning curves of regular and block leverage sampling against random sampling
     (several seeds), and the smallest subset whose test energy error is within a tolerance
     (1 meV/atom) of the full-pool error;
  4. **Fig. 7**: the training levels on the Pareto front of DFT cost vs test energy and force
     errors,

  all from the streamed sweep (:func:`pyiron_appmlip.training.sweep.run_sweep`) on qSNAP
  descriptors computed with LAMMPS; :func:`observe` reads the facts the report states off them;
* rendering (:mod:`pyiron_appmlip.study.findings_render`): :func:`write_report` turns the findings
  and the paper's numbers (:mod:`pyiron_appmlip.study.paper_values`) into Markdown;
* this module: the command line (:func:`main`) and :func:`read_report_table3`, which reads the
  measured Table 3 back from a written report (to check a shipped report against its dataset).
"""

from __future__ import annotations

import argparse
import sys

from .findings_measure import (
    Findings,
    FindingsSettings,
    Observations,
    measure_findings,
    observe,
    table3,
)
from .findings_render import render_report, write_report

__all__ = [
    "FindingsSettings",
    "Findings",
    "Observations",
    "measure_findings",
    "observe",
    "table3",
    "render_report",
    "write_report",
    "read_report_table3",
    "main",
]


def read_report_table3(path: str) -> dict:
    """The measured Table 3 values of a written report, as printed.

    Args:
        path: A report written by :func:`write_report`.

    Returns:
        ``{level: (unshifted, bulk-shifted, mean-shifted, force)}`` in meV/atom and meV/Angstrom.

    Raises:
        StopIteration: If the report has no Table 3 section.
    """
    out = {}
    with open(path) as fh:
        lines = fh.read().splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("## 1. Table 3"))
    for ln in lines[start + 1 :]:
        if ln.startswith("## "):
            break
        cells = [c.strip() for c in ln.strip().strip("|").split("|")]
        if len(cells) == 10 and cells[0].isdigit():
            out[cells[0]] = tuple(float(cells[k]) for k in (2, 4, 6, 8))
    return out


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pyiron_appmlip.study.findings", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--dataset", default=None, help="dataset file (default: the shipped one)")
    parser.add_argument("--out", default=None, help="Markdown report (default: print)")
    parser.add_argument(
        "--repetitions",
        type=int,
        default=FindingsSettings.repetitions,
        help="sampling seeds per sampler for the learning curves",
    )
    return parser


def main(argv=None) -> int:
    """Measure the findings on a dataset and write or print the report.

    Args:
        argv: Command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status (0).
    """
    args = _parser().parse_args(argv)
    from ..datasets.be import load_be_dataset

    dataset = load_be_dataset(args.dataset)
    settings = FindingsSettings(repetitions=args.repetitions)
    findings = measure_findings(dataset, settings, progress=lambda m: print(m, file=sys.stderr))
    command = "python -m pyiron_appmlip.study.findings" + (f" --out {args.out}" if args.out else "")
    text = write_report(findings, args.out, command=command)
    if args.out is None:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
