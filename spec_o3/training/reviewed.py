"""Reviewers' decisions as training data: vet, review, retrain.

A results table of ``spec-o3 vet`` merged with the decisions of a review (``spec-o3 report
--merge``: columns ``decision`` and ``comment``) labels the spectra it holds: ``accept`` means the
object belongs to the task's class (YES), ``reject`` that it does not (NO), whatever the agent said.
`reviewed_sft_dataset` turns the saved inspections of those rows into cold-start SFT
conversations -- the ones the reviewer agreed with as they are, the others corrected to the
reviewer's verdict -- and `reviewed_suite` makes the rows labelled questions for the GRPO stage.

Rows without a decision, marked ``unsure``, or whose vetting failed are left out of both;
`ReviewedRows` counts them.

Needs the ``datasets`` package (training extra) for `reviewed_sft_dataset`.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from spec_o3.agent import Trajectory
from spec_o3.agent.protocol import format_answer, format_assistant, parse_response
from spec_o3.agent.result import ANSWERED, FAILED, STATUSES
from spec_o3.agent.trajectory import Step
from spec_o3.io import target_name
from spec_o3.report import DECISIONS
from spec_o3.report._tables import read_table, text_column
from spec_o3.report.candidates import find_trajectories
from spec_o3.tasks import get_task

from .data import to_sft_example

__all__ = [
    "REVIEW_LABELS",
    "ReviewedRows",
    "corrected_messages",
    "is_reviewed_table",
    "reviewed_rows",
    "reviewed_sft_dataset",
    "reviewed_suite",
]
__doctest_requires__ = {"reviewed_sft_dataset": ["datasets"]}

#: The true answer each review decision gives (``unsure`` gives none).
REVIEW_LABELS = {"accept": "YES", "reject": "NO"}

#: Columns a reviewed results table needs (``status`` is optional, see `reviewed_rows`).
_NEEDED = ("file", "task", "verdict", "decision", "comment")


@dataclass
class ReviewedRows:
    """The rows of a reviewed results table that a decision labels, and what was left out.

    Attributes
    ----------
    table : `~astropy.table.Table`
        The whole results table.
    rows : list of int
        Row numbers of the labelled rows, in table order.
    labels : list of str
        The reviewer's answer of each labelled row, ``"YES"`` or ``"NO"``.
    left_out : dict
        How many rows were left out and why: ``"no decision"``, ``"unsure"`` and ``"failed"``
        (the vetting failed: never a training example, whatever the decision).
    """

    table: object
    rows: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    left_out: dict = field(default_factory=dict)

    def describe_left_out(self):
        """The rows left out, in words (``""`` when none was).

        Examples
        --------
        >>> ReviewedRows(None, left_out={"no decision": 3, "failed": 1}).describe_left_out()
        'left out: 3 without a decision, 1 whose vetting failed'
        """
        parts = [f"{n} {_LEFT_OUT_WORDS[why]}" for why, n in self.left_out.items() if n]
        return "left out: " + ", ".join(parts) if parts else ""


#: `ReviewedRows.left_out` keys in words.
_LEFT_OUT_WORDS = {
    "no decision": "without a decision",
    "unsure": "marked unsure",
    "failed": "whose vetting failed",
}


def reviewed_rows(results):
    """Read a results table merged with review decisions and find the rows they label.

    Parameters
    ----------
    results : str, path-like or `~astropy.table.Table`
        The table written by ``spec-o3 report --merge`` (ECSV, CSV or Parquet), or that table.

    Returns
    -------
    `ReviewedRows`

    Raises
    ------
    OSError
        If the file cannot be read.
    ValueError
        If the table has no review columns (it was not merged) or lacks a column of ``spec-o3
        vet``'s results, a decision or status is unknown, or no row is labelled.

    Examples
    --------
    >>> from astropy.table import Table
    >>> table = Table({"file": ["a.fits", "b.fits", "c.fits"], "task": ["carbon_star"] * 3,
    ...                "status": ["answered", "answered", "failed"], "verdict": ["YES", "NO", ""],
    ...                "decision": ["reject", "", "accept"], "comment": ["a K giant", "", ""]})
    >>> reviewed = reviewed_rows(table)
    >>> reviewed.rows, reviewed.labels, reviewed.describe_left_out()
    ([0], ['NO'], 'left out: 1 without a decision, 1 whose vetting failed')
    """
    table = results if hasattr(results, "colnames") else read_table(results)
    where = "the results table" if hasattr(results, "colnames") else str(results)
    if "decision" not in table.colnames:
        raise ValueError(
            f"{where} holds no review decisions (no 'decision' column): fold the reviewers' "
            "export into it first, spec-o3 report --merge decisions.csv RESULTS"
        )
    missing = [name for name in _NEEDED if name not in table.colnames]
    if missing:
        raise ValueError(f"{where} is not a reviewed results table: no {', '.join(missing)} column")
    decisions = text_column(table, "decision")
    unknown = sorted(set(decisions) - {"", *DECISIONS})
    if unknown:
        raise ValueError(
            f"{where}: unknown decision(s) {', '.join(map(repr, unknown))}; expected "
            f"{', '.join(DECISIONS)}"
        )
    status = _statuses(table, where)
    reviewed = ReviewedRows(table, left_out={"no decision": 0, "unsure": 0, "failed": 0})
    for row, (decision, outcome) in enumerate(zip(decisions, status, strict=True)):
        why = _why_left_out(decision, outcome)
        if why:
            reviewed.left_out[why] += 1
        else:
            reviewed.rows.append(row)
            reviewed.labels.append(REVIEW_LABELS[decision])
    if not reviewed.rows:
        raise ValueError(
            f"no row of {where} is labelled by a review decision: {reviewed.describe_left_out()}"
        )
    return reviewed


def _why_left_out(decision, outcome):
    """The `ReviewedRows.left_out` key of a row that is no training example, else None."""
    if not decision:
        return "no decision"
    if decision not in REVIEW_LABELS:
        return "unsure"
    if outcome == FAILED:  # a failure is never a verdict, nor training data
        return "failed"
    return None


def _statuses(table, where):
    """Each row's outcome; a table written before spec-o3 recorded a ``status`` marks a row
    without an answer or that failed by its ``error`` only, so such rows count as failed."""
    if "status" not in table.colnames:
        return [FAILED if error else ANSWERED for error in text_column(table, "error")]
    status = text_column(table, "status")
    unknown = sorted(set(status) - set(STATUSES))
    if unknown:
        raise ValueError(
            f"{where}: unknown status {', '.join(map(repr, unknown))}; expected "
            f"{', '.join(STATUSES)}"
        )
    return status


def corrected_messages(trajectory, label, comment=""):
    """An inspection with its last turn replaced by the reviewer's answer.

    The earlier turns -- the zooms, their plots and the thinking about them -- stay as the agent
    wrote them; the last one becomes ``<think>`` the justification ``</think>`` and the protocol's
    ``<answer>\\boxed{LABEL} justification</answer>``, as the scripted expert concludes. The
    justification is the reviewer's comment or, without one, a sentence giving the verdict.

    Parameters
    ----------
    trajectory : `~spec_o3.agent.Trajectory`
        The saved inspection.
    label : {"YES", "NO"}
        The reviewer's answer.
    comment : str
        The reviewer's comment.

    Returns
    -------
    messages : list of dict
        As :meth:`~spec_o3.agent.Trajectory.to_messages`.

    Raises
    ------
    ValueError
        If the inspection has no turn, or the comment breaks the answer format (it holds answer
        tags or a ``\\boxed{}`` of its own).

    Examples
    --------
    >>> from spec_o3.agent.trajectory import Step
    >>> inspection = Trajectory("carbon_star", system="...", prompt="Is it a carbon star?")
    >>> inspection.steps.append(Step(1, "<think>C2.</think>\\n<answer>\\\\boxed{YES} C2.</answer>"))
    >>> corrected_messages(inspection, "NO", "A K giant.")[-1]["content"][0]["text"]
    '<think>A K giant.</think>\\n<answer>\\\\boxed{NO} A K giant.</answer>'
    """
    if not trajectory.steps:
        raise ValueError(f"the inspection of {trajectory.source} has no turn to correct")
    justification = " ".join(str(comment).split()) or _verdict_sentence(trajectory.task, label)
    text = format_assistant(justification, format_answer(label, justification))
    parsed = parse_response(text)
    if parsed.answers != [label] or parsed.errors:
        raise ValueError(
            f"the review comment on {trajectory.source} breaks the answer format: {comment!r}"
        )
    last = trajectory.steps[-1]
    messages = trajectory.to_messages()
    # the last turn's assistant message, and its tool response if it called a tool (turn limit)
    del messages[len(messages) - (1 if last.result_text is None else 2) :]
    messages.extend(Step(last.index, text).to_messages())
    return messages


def _verdict_sentence(task, label):
    task = get_task(task)
    negation = "" if label == "YES" else "not "
    return f"On review of these plots, it is {negation}{task.article} {task.name}."


def reviewed_sft_dataset(results, trajectories):
    """SFT conversations from the saved inspections of a reviewed results table.

    An inspection whose verdict the reviewer shares is kept as it is (in a report of YES
    candidates: the accepted ones); any other -- a rejected YES, an accepted NO, an episode without
    an answer -- becomes the corrected conversation of `corrected_messages`, the reviewer's verdict
    and comment as its answer. Rows without a decision, marked ``unsure`` or whose vetting failed
    are left out (`reviewed_rows`).

    Parameters
    ----------
    results : str, path-like or `~astropy.table.Table`
        The table written by ``spec-o3 report --merge``.
    trajectories : str or path-like
        Where ``spec-o3 vet --save-trajectories`` saved the inspections of that run; each row is
        matched to the inspection of its file and task, as the report matches them.

    Returns
    -------
    dataset : `datasets.Dataset`
        Columns ``messages`` and ``images`` (see `~spec_o3.training.data.to_sft_example`), ``id``,
        ``task``, ``label`` (the reviewer's answer), ``verdict`` (the conversation's answer: the
        label), ``source``, ``n_turns``, ``agent_verdict`` (empty without an answer),
        ``decision``, ``comment`` and ``corrected``.
    reviewed : `ReviewedRows`
        The labelled rows and the rows left out.

    Raises
    ------
    OSError
        If the table or an inspection cannot be read, or a labelled row has no saved inspection.
    ValueError
        As `reviewed_rows`, or when an inspection does not match its row (another verdict: it comes
        from another run).
    """
    from datasets import Dataset

    reviewed = reviewed_rows(results)
    table = reviewed.table
    found = find_trajectories(trajectories)
    ids, files = _ids(table), _target_files(table)
    tasks, verdicts = text_column(table, "task"), text_column(table, "verdict")
    decisions, comments = text_column(table, "decision"), text_column(table, "comment")
    examples = []
    for row, label in zip(reviewed.rows, reviewed.labels, strict=True):
        trajectory = _saved_inspection(found, files[row], tasks[row], verdicts[row], trajectories)
        corrected = trajectory.verdict != label
        messages = (
            corrected_messages(trajectory, label, comments[row])
            if corrected
            else trajectory.to_messages()
        )
        examples.append(
            to_sft_example(
                messages,
                id=ids[row],
                task=trajectory.task,
                label=label,
                verdict=label,
                source=files[row],
                n_turns=sum(message["role"] == "assistant" for message in messages),
                agent_verdict=verdicts[row],
                decision=decisions[row],
                comment=comments[row],
                corrected=corrected,
            )
        )
    return Dataset.from_list(examples), reviewed


def _saved_inspection(found, file, task, verdict, directory):
    """The inspection saved for a row (`find_trajectories` index ``found``), checked against the
    row's verdict."""
    folder = found.get((file, task)) or found.get((Path(file).name, task))
    if folder is None:
        raise OSError(
            f"no saved inspection of {file} ({task}) under {directory}: give the "
            "--save-trajectories directory of the run that wrote the results table"
        )
    trajectory = Trajectory.load(folder)
    if (trajectory.verdict or "") != verdict:
        raise ValueError(
            f"the inspection saved in {folder} ended with {trajectory.verdict or 'no answer'} but "
            f"the results table gives {file} ({task}) {verdict or 'no answer'}: the trajectories "
            "come from another run"
        )
    return trajectory


def _ids(table):
    """Each row's id: the table's ``id`` column, else the file name without its extension (and
    ``-TARGETID`` for a target of a DESI file)."""
    if "id" in table.colnames:
        return text_column(table, "id")
    return [
        Path(file).name.split(".")[0] + (f"-{targetid}" if targetid else "")
        for file, targetid in zip(
            text_column(table, "file"), text_column(table, "targetid"), strict=True
        )
    ]


def _target_files(table):
    """Each row's file as its inspection names it (``FILE#TARGETID`` for a target of a DESI
    file)."""
    return [
        target_name(file, targetid or None)
        for file, targetid in zip(
            text_column(table, "file"), text_column(table, "targetid"), strict=True
        )
    ]


def reviewed_suite(results):
    """The labelled rows of a reviewed results table as GRPO questions: the reviewers' decisions
    are the labels of the outcome reward.

    Spectra are read from the rows' files when a rollout needs them: a relative path as given
    (from the working directory, where ``spec-o3 vet`` was run), else from the table's directory.

    Parameters
    ----------
    results : str or path-like
        The table written by ``spec-o3 report --merge``.

    Returns
    -------
    suite : `~spec_o3.bench.Suite`
        One question per labelled row, with the table's ``id`` (or the file name), ``task``,
        ``redshift`` (NaN where the table has none: the file's own is used), ``file``,
        ``targetid`` for DESI targets, and ``agent_verdict`` and ``comment``.
    reviewed : `ReviewedRows`
        The labelled rows and the rows left out.

    Raises
    ------
    OSError, ValueError
        As `reviewed_rows`.
    """
    from astropy.table import Table

    from spec_o3.bench import Suite

    reviewed = reviewed_rows(results)
    table, rows = reviewed.table, reviewed.rows
    columns = {
        name: text_column(table, name)
        for name in ("task", "file", "targetid", "redshift", "verdict", "comment")
    }
    ids, base = _ids(table), Path(results).parent
    targets = [columns["targetid"][row] for row in rows]
    questions = Table(
        {
            "id": [ids[row] for row in rows],
            "task": [columns["task"][row] for row in rows],
            "label": reviewed.labels,
            "redshift": [_redshift(columns["redshift"][row]) for row in rows],
            "file": [_resolved(columns["file"][row], base) for row in rows],
            "agent_verdict": [columns["verdict"][row] for row in rows],
            "comment": [columns["comment"][row] for row in rows],
        }
    )
    if any(targets):
        questions["targetid"] = np.ma.masked_array(
            [int(target or 0) for target in targets], mask=[not target for target in targets]
        )
    return Suite(questions), reviewed


def _redshift(text):
    """A redshift cell as a float, NaN where the table has none (the file's own is then used)."""
    return float(text) if text else np.nan


def _resolved(file, base):
    path = Path(file)
    if path.is_absolute() or path.exists() or not (base / path).exists():
        return file
    return os.fspath(base / path)


def is_reviewed_table(path):
    """Whether ``path`` is a results table with review decisions rather than a suite file.

    ECSV and CSV files are results tables (suites are directories, FITS or Parquet); a Parquet
    file is one when it has a ``decision`` column.

    Examples
    --------
    >>> is_reviewed_table("results-reviewed.ecsv"), is_reviewed_table("suites/cc")
    (True, False)
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".ecsv", ".csv"):
        return True
    if suffix == ".parquet" and path.is_file():
        import pyarrow.parquet as pq

        return "decision" in pq.read_schema(path).names
    return False
