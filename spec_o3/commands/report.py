"""``spec-o3 report``: build the review report of a results table, or merge the decisions back.

Two forms::

    spec-o3 report RESULTS --trajectories DIR --out report/ [--verdict CHOICE] [--sort-by KEY]
    spec-o3 report --merge DECISIONS RESULTS [--output OUT]

Exit status: 0 on success, 2 for usage errors and unreadable inputs (with a message on stderr).
"""

import sys
import warnings
from pathlib import Path

from spec_o3.report.build import VERDICT_CHOICES

__all__ = ["add_arguments", "run"]

#: Options of the build form only (the merge form refuses them).
_BUILD_OPTIONS = ("trajectories", "out", "sort_by", "decisions", "title")


def add_arguments(parser):
    """Attach the ``report`` options to ``parser``."""
    parser.add_argument(
        "results",
        type=Path,
        metavar="RESULTS",
        help="results table of spec-o3 vet (ECSV, CSV or Parquet)",
    )
    build = parser.add_argument_group("building the report")
    build.add_argument(
        "--trajectories",
        type=Path,
        metavar="DIR",
        help="where spec-o3 vet --save-trajectories saved the inspections (zoom images, labels)",
    )
    build.add_argument("--out", type=Path, metavar="DIR", help="report folder to write")
    build.add_argument(
        "--verdict",
        default="YES",
        type=_verdict_choice,
        choices=VERDICT_CHOICES,
        help="rows to show: by agent verdict (YES, the default, or NO), those without an answer "
        "(no_answer), those that could not be read or vetted (failed), or all",
    )
    build.add_argument(
        "--sort-by",
        metavar="KEY",
        help="order: 'snr' (median S/N per pixel), 'confidence' (the least sure verdicts first) "
        "or another column of RESULTS (default: table order)",
    )
    build.add_argument("--descending", action="store_true", help="sort in descending order")
    build.add_argument(
        "--decisions",
        type=Path,
        metavar="FILE",
        help="decisions exported earlier (CSV/ECSV), shown as already made",
    )
    build.add_argument(
        "--title", metavar="TEXT", help="title of the report pages (default: the results file name)"
    )
    build.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="processes drawing the images (default 1)",
    )
    merge = parser.add_argument_group("merging decisions")
    merge.add_argument(
        "--merge",
        type=Path,
        metavar="DECISIONS",
        help="fold this decisions export (CSV/ECSV) into RESULTS instead of building a report",
    )
    merge.add_argument(
        "--output",
        type=Path,
        metavar="OUT",
        help="merged table to write (default: RESULTS with '-reviewed' before the extension)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing report folder or --output"
    )


def _verdict_choice(text):
    """``text`` spelt as its choice of ``VERDICT_CHOICES`` (any case), else as given."""
    return next((choice for choice in VERDICT_CHOICES if choice.lower() == text.lower()), text)


def run(args):
    """Run ``spec-o3 report`` with parsed ``args``; return the exit status."""
    try:
        if args.merge is not None:
            return _merge(args)
        return _build(args)
    except (OSError, ValueError) as error:
        print(f"spec-o3 report: error: {error}", file=sys.stderr)
        return 2


def _build(args):
    from spec_o3.report import build_report

    if args.out is None:
        raise ValueError("--out DIR is required to build a report (or pass --merge DECISIONS)")
    if args.output is not None:
        raise ValueError("--output goes with --merge; the report folder is --out")
    index = build_report(
        args.results,
        args.out,
        trajectories=args.trajectories,
        verdict=args.verdict,
        sort_by=args.sort_by,
        descending=args.descending,
        decisions=args.decisions,
        title=args.title,
        workers=args.workers,
        overwrite=args.overwrite,
    )
    print(
        f"wrote the review report {index}; next: open it in a web browser, review the "
        "candidates (press ? for the keys), export the decisions and fold them into the "
        f"results: spec-o3 report --merge decisions.csv {args.results}"
    )
    return 0


def _merge(args):
    from spec_o3.report import merge_decisions, read_decisions
    from spec_o3.report._tables import read_table, write_table

    given = [f"--{name.replace('_', '-')}" for name in _BUILD_OPTIONS if getattr(args, name)]
    if given:
        raise ValueError(f"{', '.join(given)} cannot be combined with --merge")
    output = args.output or args.results.with_name(
        f"{args.results.stem}-reviewed{args.results.suffix}"
    )
    if output.exists() and not args.overwrite:
        raise ValueError(f"{output} exists; pass --overwrite to replace it")
    decisions = read_decisions(args.merge)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        merged = merge_decisions(read_table(args.results), decisions)
    for warning in caught:
        print(f"spec-o3 report: warning: {warning.message}", file=sys.stderr)
    write_table(merged, output, overwrite=args.overwrite)
    decided = sum(bool(value) for value in merged["decision"])
    print(
        f"wrote {output}: {decided} of {len(merged)} rows have a decision; next: build the "
        f"report from it to go on reviewing (spec-o3 report {output} --out DIR)"
    )
    return 0
