"""The paper's findings measured on a labelled dataset, and a Markdown report beside its numbers.

Run on the shipped Be dataset (a few minutes on one core)::

    python -m pyiron_appmlip.reproduction.findings --out pyiron_appmlip/datasets/data/be_findings.md

The work is split in three steps:

* measuring (:mod:`pyiron_appmlip.reproduction.findings_measure`): :func:`measure_findings` computes,
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
* rendering (:mod:`pyiron_appmlip.reproduction.findings_render`): :func:`write_report` turns the findings
  and the paper's numbers (:mod:`pyiron_appmlip.reproduction.paper_values`) into Markdown;
  :mod:`pyiron_appmlip.reproduction.findings_figures` draws the same results as PNG figures
  beside the report (``--figures``), which the Markdown links to;
* this module: the command line (:func:`main`) and :func:`read_report_table3`, which reads the
  measured Table 3 back from a written report (to check a shipped report against its dataset).
"""

from __future__ import annotations

import argparse
import os
import sys

from .findings_figures import FigureWriter
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
        prog="python -m pyiron_appmlip.reproduction.findings", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--dataset", default=None, help="dataset file (default: the shipped one)")
    parser.add_argument("--out", default=None, help="Markdown report (default: print)")
    parser.add_argument(
        "--figures",
        default=None,
        metavar="DIR",
        help="folder of the report's PNG figures, linked from the report by relative paths "
        "(default: OUT's name without .md plus _figures, beside --out; none when printing)",
    )
    parser.add_argument(
        "--no-figures", action="store_true", help="write the report without figures"
    )
    parser.add_argument(
        "--repetitions",
        type=int,
        default=FindingsSettings.repetitions,
        help="sampling seeds per sampler for the learning curves",
    )
    parser.add_argument(
        "--paper-results",
        default=None,
        help="folder of the paper authors' published results tables (not shipped): adds them to "
        "the like-for-like sections and checks the paper's statements against them",
    )
    parser.add_argument(
        "--wbe",
        default=None,
        help="the Be-only groups of the W-Be SNAP training set (FitSNAP JSON folder, from "
        "FitSNAP's examples/WBe_PRB2019/JSON): adds them to the like-for-like sections",
    )
    parser.add_argument(
        "--like-twojmax",
        type=int,
        nargs="+",
        default=[4],
        help="2Jmax values of the like-for-like sections (default 4)",
    )
    parser.add_argument(
        "--like-repetitions",
        type=int,
        default=50,
        help="repetitions per sampler and size in the like-for-like sections (default 50)",
    )
    parser.add_argument(
        "--source-twojmax",
        nargs="+",
        default=None,
        metavar="SOURCE=2J,2J",
        help="2Jmax values of one like-for-like source instead of --like-twojmax, e.g. "
        "wbe=4,6,8 large=4,6,8 (sources: small, large, wbe)",
    )
    parser.add_argument(
        "--like-repetitions-at",
        nargs="+",
        default=None,
        metavar="2JMAX=N",
        help="at most N repetitions at that 2Jmax in the like-for-like sections (e.g. 8=10)",
    )
    parser.add_argument("--cache", default=None, help="folder of cached like-for-like results")
    parser.add_argument(
        "--executor", default="serial", help="where sweep units run: 'serial', 'local' or a count"
    )
    return parser


def figures_folder(out: str | None, figures: str | None = None) -> str | None:
    """The folder of the report's figures: ``figures`` if given, else beside the report ``out``
    (its name without ``.md`` plus ``_figures``), else None (no figures)."""
    if figures:
        return figures
    if out is None:
        return None
    stem = out[:-3] if out.endswith(".md") else out
    return f"{stem}_figures"


def like_for_like_lines(args, say, figures: FigureWriter | None = None) -> list[str]:
    """The like-for-like sections and the shipped datasets' cost tables of the report.

    Args:
        args: The parsed command line (:func:`main`).
        say: Called with progress messages.
        figures: Draws the sections' figures from the same results (None: no figures).
    """
    from .be_dataset import CAMPAIGNS, LARGE_DATASET_FILE, load_be_dataset
    from .like_for_like import (
        MIN_TEST,
        StudyConventions,
        application_sections,
        collect_results,
        dataset_cost_lines,
        default_levels,
        parse_repetitions_at,
        parse_twojmax_of,
        render_sections,
    )

    shipped = {"small": load_be_dataset(campaign="small")}
    if os.path.exists(LARGE_DATASET_FILE):
        shipped["large"] = load_be_dataset(campaign="large")
    datasets = ["small"]
    if "large" in shipped:
        # once its training pool is labelled at the levels below its reference level
        large = shipped["large"]
        truth, below = default_levels(large)
        tested = len(large.common_ids([truth], large.test_ids)) >= MIN_TEST
        if tested and truth not in below and len(large.common_ids(below, large.train_ids)) >= 30:
            datasets.append("large")
    executor = int(args.executor) if str(args.executor).isdigit() else args.executor
    conv = StudyConventions(
        repetitions=args.like_repetitions, front_repetitions=args.like_repetitions
    )
    results = collect_results(
        args.paper_results,
        datasets,
        args.wbe,
        args.like_twojmax,
        conv,
        cache=args.cache,
        executor=executor,
        progress=say,
        authors_fit=True,
        twojmax_of={
            k: v
            for k, v in parse_twojmax_of(args.source_twojmax).items()
            if k in datasets or (k == "wbe" and args.wbe)
        },
        repetitions_at=parse_repetitions_at(args.like_repetitions_at),
    )
    lines = [
        "## 6. Figs. 6 and 7 like for like (the paper authors' conventions)",
        "",
        "The same analysis for every source. The external data are not shipped; get them from "
        "their public repositories and give their folders on the command line: the authors' "
        "tables are the folder `data/` of github.com/IlgarBaghishov/DFTprecisionMLIP "
        "(`--paper-results`), the W-Be data the 24 Be-only groups of "
        "`examples/WBe_PRB2019/JSON` in github.com/FitSNAP/FitSNAP (`--wbe`).",
        "",
    ]
    if not args.paper_results:
        lines += [
            "The paper authors' published tables were not given (`--paper-results`); their "
            "column is left out.",
            "",
        ]
    if not args.wbe:
        lines += ["The W-Be data were not given (`--wbe`); their column is left out.", ""]
    drawn = None if figures is None else figures.like_for_like(results, conv)
    sections = render_sections(results, conv, application_sections(results, conv), figures=drawn)
    lines += [ln.replace("## ", "### ", 1) if ln.startswith("## ") else ln for ln in sections]
    lines += ["## 7. The shipped datasets' DFT cost", ""]
    if "large" in shipped and "large" not in datasets:
        lines += [
            "The large dataset's campaign is still running: its training pool is not yet "
            "labelled at every level below its highest tested one, so it is not in section 6. "
            "What it holds so far (part of these wall times were measured on shared cores and "
            "overstate the cost, see the README):",
            "",
        ]
    for name, dataset in shipped.items():
        lines += dataset_cost_lines(dataset, f"GPAW {name} ({CAMPAIGNS[name]['file']})")
    return lines


def main(argv=None) -> int:
    """Measure the findings on a dataset and write or print the report.

    Args:
        argv: Command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status (0).
    """
    args = _parser().parse_args(argv)
    from .be_dataset import load_be_dataset

    dataset = load_be_dataset(args.dataset)
    settings = FindingsSettings(repetitions=args.repetitions)
    say = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    folder = None if args.no_figures else figures_folder(args.out, args.figures)
    figures = None if folder is None else FigureWriter(folder, report=args.out)
    findings = measure_findings(dataset, settings, progress=say)
    extra = like_for_like_lines(args, say, figures=figures)
    command = "python -m pyiron_appmlip.reproduction.findings" + (
        f" --out {args.out}" if args.out else ""
    )
    for flag in ("paper_results", "wbe"):
        if getattr(args, flag):
            command += f" --{flag.replace('_', '-')} PATH"
    if list(args.like_twojmax) != [4]:
        command += " --like-twojmax " + " ".join(str(t) for t in args.like_twojmax)
    if args.like_repetitions != 50:
        command += f" --like-repetitions {args.like_repetitions}"
    if args.source_twojmax:
        command += " --source-twojmax " + " ".join(args.source_twojmax)
    if args.like_repetitions_at:
        command += " --like-repetitions-at " + " ".join(args.like_repetitions_at)
    if args.no_figures:
        command += " --no-figures"
    elif args.figures:
        command += f" --figures {args.figures}"
    text = write_report(findings, args.out, command=command, extra=extra, figures=figures)
    if args.out is None:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
