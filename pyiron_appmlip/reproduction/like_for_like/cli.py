"""The like-for-like command line: ``python -m pyiron_appmlip.reproduction.like_for_like``
writes the side-by-side Markdown report of the sources it is given (see ``--help``).
"""

from __future__ import annotations

import argparse
import sys

from ..result_cache import write_text
from . import __doc__ as _STUDY_DOC
from .conventions import (
    StudyConventions,
    _check_repetitions_at,
)
from .rendering import (
    application_sections,
    render_report,
)
from .sources import (
    collect_results,
)


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m pyiron_appmlip.reproduction.like_for_like",
        description=_STUDY_DOC.split("\n\n")[0],
    )
    parser.add_argument("--paper-results", default=None, help="folder of the authors' tables")
    parser.add_argument(
        "--dataset",
        action="append",
        default=[],
        help="a labelled dataset file, or 'small' / 'large' for the shipped GPAW files "
        "(repeatable)",
    )
    parser.add_argument(
        "--wbe",
        default=None,
        help="the W-Be SNAP set's Be configurations (FitSNAP JSON folder, from FitSNAP's "
        "examples/WBe_PRB2019/JSON); split 50/50 by configuration id",
    )
    parser.add_argument("--twojmax", type=int, nargs="+", default=[4])
    parser.add_argument("--repetitions", type=int, default=StudyConventions.repetitions)
    parser.add_argument("--front-repetitions", type=int, default=StudyConventions.front_repetitions)
    parser.add_argument(
        "--source-twojmax",
        nargs="+",
        default=None,
        metavar="SOURCE=2J,2J",
        help="2Jmax values of one source instead of --twojmax, e.g. wbe=4,6,8 large=4,6,8 "
        "(sources: wbe, small, large or a --dataset file as given)",
    )
    parser.add_argument(
        "--repetitions-at",
        nargs="+",
        default=None,
        metavar="2JMAX=N",
        help="at most N repetitions at that 2Jmax (e.g. 8=10 for the dear 2Jmax 8 models)",
    )
    parser.add_argument("--executor", default="serial", help="'serial', 'local' or a worker count")
    parser.add_argument("--cache", default=None, help="folder of cached results (reused if equal)")
    parser.add_argument("--out", default=None, help="Markdown report (default: print)")
    return parser


def parse_repetitions_at(items) -> dict:
    """``["8=10", ...]`` (the command-line form) as ``{8: 10, ...}``."""
    out = {}
    for item in items or ():
        left, sep, right = str(item).partition("=")
        if not sep or not left.strip().isdigit() or not right.strip().isdigit():
            raise ValueError(f"--repetitions-at takes 2JMAX=N pairs such as 8=10, got {item!r}")
        out[int(left)] = int(right)
    return _check_repetitions_at(out)


def parse_twojmax_of(items) -> dict:
    """``["wbe=4,6,8", ...]`` (the command-line form) as ``{"wbe": [4, 6, 8], ...}``."""
    out = {}
    for item in items or ():
        name, sep, values = str(item).partition("=")
        parts = [v.strip() for v in values.split(",")]
        if not sep or not name.strip() or not all(v.isdigit() for v in parts):
            raise ValueError(
                f"--source-twojmax takes SOURCE=2J,2J pairs such as wbe=4,6,8, got {item!r}"
            )
        out[name.strip()] = [int(v) for v in parts]
    return out


def main(argv=None) -> int:
    """Write the side-by-side report of the sources named on the command line."""
    args = _parser().parse_args(argv)
    executor = int(args.executor) if str(args.executor).isdigit() else args.executor
    conv = StudyConventions(repetitions=args.repetitions, front_repetitions=args.front_repetitions)
    results = collect_results(
        args.paper_results,
        args.dataset,
        args.wbe,
        args.twojmax,
        conv,
        cache=args.cache,
        executor=executor,
        progress=lambda m: print(m, file=sys.stderr, flush=True),
        twojmax_of=parse_twojmax_of(args.source_twojmax),
        repetitions_at=parse_repetitions_at(args.repetitions_at),
    )
    command = "python -m pyiron_appmlip.reproduction.like_for_like " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    text = render_report(
        results, conv, command=command, applications=application_sections(results, conv)
    )
    if args.out:
        write_text(args.out, text)
    else:
        print(text)
    return 0
