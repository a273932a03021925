"""``spec-o3 vet``: vet spectrum files for one or more tasks and write a result row per file and
task (each file is read once: ``--task cc,wd`` or ``--task all`` gives its rows for every task).

Rows have the columns of ``COLUMNS``; each has a ``status``: ``answered`` (verdict YES or NO),
``no_answer`` (the model gave no valid answer: no verdict) or ``failed`` (the file could not be read
or vetted: no verdict, and the ``error`` names the file and the reason).

Exit status:

- 0: every spectrum was vetted (answered or without an answer);
- 1: the backend failed to run at all (e.g. an unreachable server, whose error then fills the rows
  of the files not yet vetted; ``--resume`` finishes the run later);
- 2: usage error (bad arguments, an existing ``--output`` without ``--overwrite`` or ``--resume``);
- 3: the run finished, but at least one input failed (``--resume --retry-failed`` vets those again);
- 130: interrupted (``--resume`` finishes the run).

Every run goes through :func:`spec_o3.batch.vet_catalog`: a list of files and a catalogue of a
million are vetted the same way, streamed, in parallel and resumably (see :doc:`/batch`).
"""

import sys
import tempfile
from pathlib import Path

from spec_o3.batch import COLUMNS, failed_row, result_row
from spec_o3.commands._backends import add_backend_arguments, backend_options, text_only_backends

__all__ = ["COLUMNS", "EXIT_FAILED_INPUTS", "add_arguments", "failed_row", "result_row", "run"]

#: Exit status of a finished run in which at least one input failed.
EXIT_FAILED_INPUTS = 3


def add_arguments(parser):
    """Attach the ``vet`` options to ``parser``."""
    parser.add_argument(
        "files", nargs="*", metavar="FILE", help="spectrum files (LAMOST, SDSS, ...)"
    )
    parser.add_argument(
        "--catalog",
        type=Path,
        metavar="LIST",
        help="vet the spectra listed here instead: a text file of paths, or a CSV, ECSV or "
        "FITS table with a path column (path, file, filename or filepath) and optional "
        "redshift (redshift, z) and id (id, obsid, specobjid, objid, name) columns",
    )
    parser.add_argument(
        "--task",
        "-t",
        required=True,
        help="task id or code: carbon_star (cc), cataclysmic_variable (cv), m_giant (gm), "
        "s_star (ss), white_dwarf (wd), or one defined with --task-file; several separated by "
        "commas (cc,wd), or all (the five built-in tasks): each file is read once and gets a row "
        "per task",
    )
    parser.add_argument(
        "--output",
        "-o",
        type=Path,
        help="write the results table here; the extension picks the format: .ecsv, .csv or "
        ".parquet (a journal, OUTPUT.journal, keeps finished rows until the run completes)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing --output, an interrupted run's journal and saved trajectories",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="finish the interrupted run whose journal is next to --output: vet only the "
        "spectra without a result",
    )
    parser.add_argument(
        "--retry-failed",
        action="store_true",
        help="with --resume, vet the spectra of failed rows again too (also of a finished run)",
    )
    parser.add_argument(
        "--save-trajectories",
        type=Path,
        metavar="DIR",
        help="save each inspection (JSON + PNG) under DIR/<file stem>/",
    )
    parser.add_argument(
        "--no-images",
        dest="render_images",
        action="store_false",
        default=None,
        help="text-only tool results (fast; the default for backends that measure the spectrum "
        f"themselves, {text_only_backends()}, unless --save-trajectories keeps the images)",
    )
    parser.add_argument(
        "--max-turns", type=int, default=8, help="most assistant turns per spectrum (default 8)"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=8,
        help="spectra inspected together, so the backend can batch them (default 8)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes on this machine (default 1: vet in this process)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="vet on a Dask distributed cluster, e.g. tcp://host:8786 (needs spec-o3[dask]; "
        "the workers must see the files at the same paths)",
    )
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=32,
        metavar="K",
        help="spectra per unit of work sent to a worker (default 32)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=1,
        metavar="C",
        help="spectra vetted at once in this process, one thread each: with --backend openai, "
        "the requests kept in flight (default 1)",
    )
    # last, so that the command's own options keep their flags
    add_backend_arguments(parser, short_flags={"backend": "-b", "model": "-m"})


def run(args):
    """Run ``spec-o3 vet`` with parsed ``args``; return the exit status."""
    from spec_o3.agent import BackendError
    from spec_o3.batch import vet_catalog
    from spec_o3.tasks import get_tasks

    try:
        tasks = get_tasks(args.task)
        options = backend_options(args)
        catalog = _catalog(args)
        if args.max_turns < 1 or args.batch_size < 1:
            raise ValueError("--max-turns and --batch-size must be at least 1")
        if args.resume and args.output is None:
            raise ValueError("--resume finishes the run written to --output; give --output")
        if args.retry_failed and not args.resume:
            raise ValueError("--retry-failed retries the failed rows of a run: add --resume")
    except (ValueError, OSError) as error:
        return _usage_error(error)
    with tempfile.TemporaryDirectory() as scratch:
        try:
            summary = vet_catalog(
                catalog,
                tasks,
                args.output or Path(scratch) / "results.ecsv",
                backend=args.backend,
                backend_options=options,
                workers=args.workers,
                scheduler=args.scheduler,
                concurrency=args.concurrency,
                chunk_size=args.chunk_size,
                batch_size=args.batch_size,
                resume=args.resume,
                retry_failed=args.retry_failed,
                overwrite=args.overwrite,
                max_turns=args.max_turns,
                render_images=_render_images(args),
                save_trajectories=args.save_trajectories,
            )
        except (ValueError, OSError, ImportError) as error:  # ImportError: --scheduler without dask
            return _usage_error(error)
        except BackendError as error:
            print(f"spec-o3 vet: backend failed: {_options_named(error)}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print(
                "spec-o3 vet: interrupted; the finished rows are kept: rerun with --resume to "
                f"vet the others{'' if args.output else ' (next time, give --output)'}",
                file=sys.stderr,
            )
            return 130
        _print_summary(summary, print_rows=args.output is None, trajectories=args.save_trajectories)
    return EXIT_FAILED_INPUTS if summary.failed else 0


def _render_images(args):
    """Whether the tools render images: as asked, else when the backend looks at them or the
    saved trajectories keep them."""
    from spec_o3.agent.backends import backend_declaration

    if args.render_images is not None:
        return args.render_images
    needed = backend_declaration(args.backend).needs_images
    return needed or args.save_trajectories is not None


def _catalog(args):
    """The catalogue to vet: ``--catalog`` or the files on the command line (not both)."""
    from spec_o3.batch import Catalog

    if args.catalog is not None and args.files:
        raise ValueError("give spectrum files or --catalog, not both")
    if args.catalog is not None:
        return Catalog.read(args.catalog)
    if not args.files:
        raise ValueError("nothing to vet: give spectrum files or --catalog LIST")
    return Catalog(args.files)


def _options_named(error):
    """The library's message, naming the command-line options instead of its keywords."""
    replacements = {
        "retry_failed=True": "--retry-failed",
        "overwrite=True": "--overwrite",
        "resume=True": "--resume",
    }
    message = str(error)
    for keyword, option in replacements.items():
        message = message.replace(keyword, option)
    return message


def _usage_error(error):
    print(f"spec-o3 vet: error: {_options_named(error)}", file=sys.stderr)
    return 2


def _print_summary(summary, print_rows, trajectories=None):
    import numpy as np
    from astropy.table import Table

    from spec_o3.agent.result import ANSWERED

    # A file that cannot be read fails every task the same way: say so once.
    shown_errors = dict.fromkeys(
        error if error.startswith(file) else f"{file}: {error}"
        for file, error in summary.first_errors
    )
    for error in shown_errors:
        print(error, file=sys.stderr)
    if summary.errors > len(summary.first_errors):
        print(f"... and {summary.errors - len(summary.first_errors)} more errors", file=sys.stderr)
    if print_rows:  # no --output: the results go to the terminal
        rows = "spectra" if summary.tasks == 1 else f"rows ({summary.tasks} tasks per spectrum)"
        print(
            f"{summary.total} {rows}: {summary.yes} YES, {summary.no} NO, "
            f"{summary.no_answer} without an answer, {summary.failed} failed"
        )
        for row in Table.read(summary.output, format="ascii.ecsv"):
            shown = row["verdict"] if row["status"] == ANSWERED else row["status"].upper()
            target = "" if np.ma.is_masked(row["targetid"]) else f"#{row['targetid']}"
            task = "" if summary.tasks == 1 else f"\t{row['task']}"
            evidence = row["evidence"] or row["error"] or ""
            print(f"{row['file']}{target}{task}\t{shown}\t{evidence}")
        print("next: give --output FILE to keep the results and review them in a report")
    else:
        report = f"spec-o3 report {summary.output} --out {summary.output.parent / 'report'}"
        saved = "" if trajectories is None else f" --trajectories {trajectories}"
        print(f"{summary}; next: {report}{saved}")
    if summary.failed:
        failed = f"{summary.failed} input(s)" if summary.tasks == 1 else f"{summary.failed} rows"
        print(
            f"spec-o3 vet: {failed} failed and have no verdict (exit status {EXIT_FAILED_INPUTS})",
            file=sys.stderr,
        )
