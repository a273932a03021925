"""``spec-o3 evaluate``: score a backend on labelled suites and print the paper's Table 1.

Examples::

    spec-o3 simulate --task cc --n 40 --out suite/cc      # one directory per task
    spec-o3 evaluate --suite suite/cc --suite suite/wd --bootstrap 1000 --output results/
    # a trained model beside its teacher, the scripted expert, on the same questions
    spec-o3 evaluate --suite suite/cc --backend transformers --model runs/grpo --compare expert

Exit status: 0 when every question was scored; 1 when the backend fails to run (a server that
cannot be reached); 2 for usage errors; 3 when at least one question failed (its spectrum could
not be read or vetted) and was left out of the scores, as ``spec-o3 vet`` does for failed inputs.
"""

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from spec_o3.agent.result import ANSWERED, FAILED, NO_ANSWER
from spec_o3.commands._backends import add_backend_arguments, backend_options, text_only_backends
from spec_o3.commands.vet import EXIT_FAILED_INPUTS

__all__ = ["add_arguments", "run"]

#: The table of ``--compare``, in the output directory.
COMPARISON_FILE = "comparison.ecsv"
#: How many questions of each kind of error to list on the terminal (all are in predictions.ecsv).
_ERRORS_SHOWN = 20
#: What the terminal says of the questions with an error, by status.
_ERROR_HEADINGS = {
    NO_ANSWER: "gave no answer and are scored as wrong",
    FAILED: "failed and are not scored",
}


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


_positive_int.__name__ = "positive integer"  # argparse names the type in its error message


def _non_negative_int(text):
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


_non_negative_int.__name__ = "non-negative integer"


def add_arguments(parser):
    """Attach the ``evaluate`` options to ``parser``."""
    parser.add_argument(
        "--suite",
        action="append",
        required=True,
        type=Path,
        metavar="PATH",
        help="labelled questions: a 'spec-o3 simulate' directory, or a .fits/.parquet table "
        "(a saved suite or SpecVI-Bench-style rows); repeat to combine tasks",
    )
    parser.add_argument(
        "--task",
        action="append",
        metavar="TASK",
        help="evaluate only this task (id or code; repeatable)",
    )
    parser.add_argument(
        "--limit",
        type=_positive_int,
        metavar="N",
        help="at most N questions per task, chosen at random (--seed)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("spec-o3-evaluation"),
        metavar="DIR",
        help="directory for scores.ecsv, predictions.ecsv and scores.png (default: %(default)s)",
    )
    parser.add_argument(
        "--bootstrap",
        type=_non_negative_int,
        default=0,
        metavar="K",
        help="bootstrap resamples for 95%% confidence intervals (default: none)",
    )
    parser.add_argument(
        "--images",
        action=argparse.BooleanOptionalAction,
        help="render the plots the model looks at (default: on, except for the backends that "
        f"measure the spectrum themselves: {text_only_backends()})",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of --limit and --bootstrap (default: 0)"
    )
    parser.add_argument(
        "--batch-size",
        type=_positive_int,
        default=16,
        metavar="N",
        help="questions per batch (default: 16)",
    )
    parser.add_argument(
        "--compare",
        choices=("expert",),
        help="also run the scripted expert -- the teacher of the SFT data -- on the same "
        "questions and print its scores beside the evaluated backend's, with the difference "
        "in F1 (paired bootstrap intervals with --bootstrap); its outputs go to "
        "OUTPUT/compare-expert/ and the table to OUTPUT/comparison.ecsv",
    )
    # last, so that the command's own options keep their flags
    add_backend_arguments(parser)


def _fail(message, status=2):
    print(f"spec-o3 evaluate: error: {message}", file=sys.stderr)
    return status


def _check_writable(directory):
    """Create ``directory`` and prove a file can be written there, before any question is asked."""
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=directory):
        pass


def _load_suite(args):
    from spec_o3.bench import Suite

    suite = Suite.concatenate([Suite.read(path) for path in args.suite])
    if args.task:
        suite = suite.select(args.task)
        if len(suite) == 0:
            raise ValueError(f"the suite holds no questions for {', '.join(args.task)}")
    if args.limit:
        suite = suite.sample(args.limit, seed=args.seed)
    return suite


def _print_errors(result):
    errors = result.errors
    for status, heading in _ERROR_HEADINGS.items():
        listed = errors[errors["status"] == status]
        if not len(listed):
            continue
        print(f"\n{len(listed)} question(s) {heading}:")
        for row in listed[:_ERRORS_SHOWN]:
            print(f"  {row['task']} {row['id']}: {row['error']}")
        if len(listed) > _ERRORS_SHOWN:
            print(f"  ... and {len(listed) - _ERRORS_SHOWN} more (see predictions.ecsv)")


def run(args):
    """Evaluate, print the table and write the outputs; return the exit status."""
    from spec_o3.agent import BackendError
    from spec_o3.tasks import get_task

    try:
        for task in args.task or ():
            get_task(task)
        suite = _load_suite(args)
    except (OSError, ValueError) as error:
        return _fail(error)
    try:
        _check_writable(args.output)
    except OSError as error:
        return _fail(f"cannot write to output directory {args.output}: {error}")

    try:
        result = _evaluate(suite, args.backend, args, backend_options(args), args.images)
        reference = _evaluate(suite, args.compare, args, {}, None) if args.compare else None
    except (ValueError, TypeError) as error:
        return _fail(error)
    except BackendError as error:
        return _fail(error, status=1)
    except _NothingScored as error:
        return _fail(error, status=EXIT_FAILED_INPUTS)

    _print_scores(result, suite)
    if reference:
        _print_comparison(result, reference, args)
    _print_errors(result)
    written = result.write(args.output)
    # a question that failed is not scored; one without an answer is scored as wrong
    wrong = int(np.sum(~np.ma.filled(result.predictions["correct"], True)))
    print(
        f"wrote {', '.join(path.name for path in written.values())} to {args.output}; next: "
        + (
            f"read the {wrong} wrong answer(s) with their evidence: the rows of "
            f"{written['predictions']} whose 'correct' is False"
            if wrong
            else "no wrong answer: score a harder suite, fainter spectra for instance "
            "(spec-o3 simulate --task TASK --n 200 --snr 3 10 --out harder)"
        )
    )
    failed = result.counts[FAILED] + (reference.counts[FAILED] if reference else 0)
    if failed:
        print(
            f"spec-o3 evaluate: {failed} question(s) failed and are not scored (exit "
            f"status {EXIT_FAILED_INPUTS})",
            file=sys.stderr,
        )
        return EXIT_FAILED_INPUTS
    return 0


class _NothingScored(Exception):
    """Every question failed: nothing to score (exit status 3, as for failed inputs)."""


def _evaluate(suite, backend, args, options, images):
    """Run one backend over the suite; ValueError/TypeError for a backend that cannot be built."""
    from spec_o3.agent import get_backend
    from spec_o3.agent.backends import backend_declaration
    from spec_o3.bench import evaluate

    try:
        policy = get_backend(backend, **options)
    except (ValueError, TypeError) as error:
        raise ValueError(f"backend {backend!r}: {error}") from None
    try:
        return evaluate(
            suite,
            policy,
            render_images=backend_declaration(backend).needs_images if images is None else images,
            n_resamples=args.bootstrap,
            seed=args.seed,
            batch_size=args.batch_size,
            progress=True,
        )
    except ValueError as error:  # every question failed
        raise _NothingScored(error) from None
    finally:
        policy.close()


def _print_scores(result, suite):
    counts = result.counts
    print(
        f"\n{result.backend} on {len(suite)} questions: {counts[ANSWERED]} answered, "
        f"{counts[NO_ANSWER]} without an answer, {counts[FAILED]} failed"
    )
    print(result)
    macro_f1, accuracy = result.macro_f1.value, result.mean_accuracy.value
    print(f"\nmacro-F1 {macro_f1:.1f} %, mean accuracy {accuracy:.1f} %")
    if result.mean_confidence is not None:
        print(
            "mean confidence: "
            + ", ".join(
                f"{mean:.2f} of the {n} {name} verdict(s)"
                for name, (mean, n) in result.mean_confidence.items()
                if n
            )
        )
    for task in result.scores["task"][:-1][result.scores["n_yes"][:-1] == 0]:
        print(f"note: {task} has no YES question, so its F1 is 0 by convention")
    for task in suite.tasks:
        if task not in result.scores["task"]:
            print(f"note: every {task} question failed, so {task} has no score")


def _print_comparison(result, reference, args):
    """The two backends side by side, the macro-F1 gap, and the reference's outputs written."""
    from spec_o3.bench import format_comparison

    comparison = result.compare(reference, n_resamples=args.bootstrap, seed=args.seed)
    average = comparison[-1]
    print(
        f"\n{result.backend} beside {reference.backend} on the same {average['n']} scored "
        "questions:"
    )
    print(format_comparison(comparison))
    gap = f"{average['f1_difference'].value:+.1f}"
    if "f1_difference_lo" in comparison.colnames:
        low, high = average["f1_difference_lo"].value, average["f1_difference_hi"].value
        gap += f" [{low:+.1f}, {high:+.1f}]"
    print(
        f"\nmacro-F1 {average['f1'].value:.1f} % against {reference.backend}'s "
        f"{average['reference_f1'].value:.1f} %: {gap} points"
    )
    folder = args.output / f"compare-{args.compare}"
    reference.write(folder)
    comparison.write(args.output / COMPARISON_FILE, format="ascii.ecsv", overwrite=True)
    print(f"wrote {reference.backend}'s outputs to {folder} and the table to {COMPARISON_FILE}")
