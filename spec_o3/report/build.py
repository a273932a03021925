"""Write the review report: a static folder that any browser opens from disk.

Layout of the folder::

    index.html            the review page (one candidate at a time, keyboard driven)
    summary.html          counts, distributions and agent/reviewer agreement
    assets/               report.js, report.css (the package's static files)
    data/report.js        the candidate list and summary numbers (one small record per candidate)
    data/chunk-NNNNN.js   the details of CHUNK_SIZE candidates each, loaded when shown
    images/rNNNNNN/       spectrum.png and step-NN.png of the results row NNNNNN
    images/summary-*.png  the summary plots

Data travel as JavaScript files loaded with ``<script src>``, since browsers refuse ``fetch`` of
local files; every string in them is JSON with ``<``, ``>`` and ``&`` escaped, and the page puts
text on screen only as text (never as HTML), so model output cannot inject markup or scripts.
"""

import datetime
import hashlib
import html
import json
import math
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from importlib.resources import files
from pathlib import Path
from string import Template

import numpy as np

from spec_o3.agent.result import FAILED, NO_ANSWER

from ._tables import read_table, text_column
from .candidates import CandidateJob, _target_file, find_trajectories, prepare_candidate
from .merge import DECISIONS, REVIEW_COLUMNS, merge_decisions, read_decisions
from .summary import (
    OUTCOMES,
    agreement_counts,
    plot_agreement,
    plot_snr,
    plot_verdicts,
    row_outcome,
    shown_outcomes,
    verdict_counts,
)

__all__ = ["CHUNK_SIZE", "VERDICT_CHOICES", "build_report", "js_literal"]

#: Candidates per lazily loaded data file.
CHUNK_SIZE = 50

#: Values of ``verdict``: which rows the report shows, by what the agent made of them (see
#: `~spec_o3.report.summary.OUTCOMES`).
VERDICT_CHOICES = ("YES", "NO", NO_ANSWER, FAILED, "all")

_PAGES = ("index.html", "summary.html")
_ASSETS = ("report.js", "report.css")
#: What a rebuild replaces in an existing report folder (other files there are left alone).
_GENERATED = (*_PAGES, "assets", "data", "images")
_JS_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def js_literal(value):
    """JSON text of ``value`` that is safe anywhere in a script, even inside an HTML page.

    Examples
    --------
    >>> print(js_literal({"evidence": "</script><b>"}))
    {"evidence":"\\u003c/script\\u003e\\u003cb\\u003e"}
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return "".join(_JS_ESCAPES.get(char, char) for char in text)


def build_report(
    results,
    out,
    *,
    trajectories=None,
    verdict="YES",
    sort_by=None,
    descending=False,
    decisions=None,
    title=None,
    workers=1,
    overwrite=False,
    progress=True,
):
    """Write a browsable review report of a ``spec-o3 vet`` results table.

    Parameters
    ----------
    results : str or path-like
        The results table (ECSV, CSV or Parquet; extra columns are kept, an ``id`` column names
        the candidates). Earlier decisions merged into it (``decision``, ``comment``,
        ``decided_at``) are shown as made.
    out : str or path-like
        The report folder (created).
    trajectories : str or path-like, optional
        Where ``spec-o3 vet --save-trajectories`` saved the inspections: the zoom images, their
        labels and the agent's reasoning come from there. Without it the report shows the full
        spectrum with the windows of the results table.
    verdict : {"YES", "NO", "no_answer", "failed", "all"}
        Which candidates to show, by agent verdict (default ``"YES"``: the ones to confirm), or
        the rows without one: those the model gave no answer for, and those whose spectrum
        could not be read or vetted (in a table without a ``status`` column, written before
        spec-o3 told them apart, a row with an error is shown for either).
    sort_by : str, optional
        Order of the candidates: a column of the results table, or ``"snr"`` (median S/N per
        pixel). ``"confidence"`` puts the verdicts the backend was least sure of first, and those
        without a confidence last. Default: the table's order.
    descending : bool
        Sort in descending order.
    decisions : str or path-like, optional
        A decisions file exported from a report, shown as already made.
    title : str, optional
        Title of the pages (default: the results file name).
    workers : int
        Processes drawing the images (reading spectra, finding lines, plotting).
    overwrite : bool
        Replace a report already in ``out``.
    progress : bool
        Show a progress bar on stderr (when it is a terminal).

    Returns
    -------
    index : pathlib.Path
        The report's ``index.html``.

    Raises
    ------
    OSError
        If the results, trajectories or decisions cannot be read.
    FileExistsError
        If ``out`` holds files and ``overwrite`` is false.
    ValueError
        For an unknown ``verdict`` or ``sort_by``, a results table without ``file``, ``task``
        and ``verdict`` columns or with decisions other than ``DECISIONS``, or
        decisions that do not fit the table (see `~spec_o3.report.merge_decisions`).
    """
    results = Path(results)
    out = Path(out)
    verdict = _check_verdict(verdict)
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    table = read_table(results)
    for name in ("file", "task", "verdict"):
        if name not in table.colnames:
            raise ValueError(
                f"{results} has no {name!r} column; is it a spec-o3 vet results table?"
            )
    if sort_by is not None and sort_by not in (*table.colnames, "snr", "id"):
        raise ValueError(
            f"cannot sort by {sort_by!r}: choose 'snr' or a column of {results} "
            f"({', '.join(table.colnames)})"
        )
    if decisions is not None:
        table = merge_decisions(table, read_decisions(decisions))
    unknown = sorted(set(text_column(table, "decision")) - {"", *DECISIONS})
    if unknown:
        raise ValueError(
            f"the decision column of {results} holds {', '.join(map(repr, unknown))}; "
            f"expected {', '.join(DECISIONS)} or nothing"
        )
    found = {} if trajectories is None else find_trajectories(trajectories)
    _prepare_folder(out, overwrite)

    rows = _rows(table)
    order = [i for i, row in enumerate(rows) if _selected(row["outcome"], verdict)]
    # S/N, and the id when the table has none, are known once the candidates are prepared
    sort_records = sort_by is not None and sort_by not in table.colnames
    if sort_by is not None and not sort_records:
        order = _sorted(order, [row[sort_by] for row in rows], descending)
    jobs = [
        CandidateJob(i, rows[i], _trajectory_for(rows[i], found), out, results.parent)
        for i in order
    ]
    records = _prepare_all(jobs, workers, progress)
    if sort_records:
        values = [record[sort_by] for record in records]
        records = [records[i] for i in _sorted(range(len(records)), values, descending)]

    title = title or results.name
    summary = _write_summary(out, rows, records)
    _write_data(out, records, summary, title=title, results=results, verdict=verdict)
    _write_pages(out, title)
    return out / "index.html"


def _selected(outcome, verdict):
    """Whether a row of ``outcome`` is shown for the ``verdict`` choice."""
    either = outcome == "error" and verdict in (NO_ANSWER, FAILED)
    return verdict in ("all", outcome) or either


def _check_verdict(verdict):
    for choice in VERDICT_CHOICES:
        if str(verdict).lower() == choice.lower():
            return choice
    raise ValueError(f"verdict must be one of {', '.join(VERDICT_CHOICES)}, got {verdict!r}")


def _prepare_folder(out, overwrite):
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} exists and is not a folder")
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{out} is not empty; pass --overwrite to replace the report")
        for name in _GENERATED:
            path = out / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    (out / "images").mkdir(parents=True, exist_ok=True)


def _rows(table):
    """The table's rows as dicts: text columns as str ("" when masked), numbers as float/int
    (None when masked), and the row's ``outcome`` (see `~spec_o3.report.summary.row_outcome`)."""
    columns = {}
    for name in table.colnames:
        column = table[name]
        if column.dtype.kind in "iuf":
            mask = np.ma.getmaskarray(column)
            # integers as they are: a DESI TARGETID (~4e16) has more digits than a float keeps
            values = np.asarray(column, dtype=float if column.dtype.kind == "f" else None)
            convert = int if column.dtype.kind in "iu" else float
            columns[name] = [
                None if m or not math.isfinite(v) else convert(v)
                for v, m in zip(values, mask, strict=True)
            ]
        else:
            columns[name] = text_column(table, name)
    for name in REVIEW_COLUMNS:
        columns.setdefault(name, [""] * len(table))
    rows = [
        dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)
    ]
    for row in rows:
        row["outcome"] = row_outcome(row)
    return rows


def _sorted(indices, values, descending):
    """``indices`` ordered by ``values[i]``, missing values (None) last in either direction."""
    present = [i for i in indices if values[i] is not None]
    missing = [i for i in indices if values[i] is None]
    return sorted(present, key=lambda i: values[i], reverse=descending) + missing


def _trajectory_for(row, found):
    file = _target_file(row)  # a DESI target's trajectory names FILE#TARGETID
    return found.get((file, row["task"])) or found.get((Path(file).name, row["task"]))


def _prepare_all(jobs, workers, progress):
    from spec_o3._progress import progress_bar

    bar = progress_bar(total=len(jobs), desc="drawing the report", unit="candidate", show=progress)
    with bar:
        if workers == 1 or len(jobs) < 2:
            records = []
            for job in jobs:
                records.append(prepare_candidate(job))
                bar.update()
            return records
        with ProcessPoolExecutor(max_workers=workers) as executor:
            records = []
            for record in executor.map(prepare_candidate, jobs, chunksize=4):
                records.append(record)
                bar.update()
            return records


def _write_summary(out, rows, records):
    """Draw the summary plots; return the numbers the summary page shows."""
    counts = verdict_counts(rows)
    plots = {"verdicts": plot_verdicts(counts), "snr": plot_snr(records)}
    agreement = agreement_counts(records)
    if any(agreement[v][d] for v in agreement for d in agreement[v] if d):
        plots["agreement"] = plot_agreement(agreement)
    images = {}
    for name, figure in plots.items():
        images[name] = f"images/summary-{name}.png"
        figure.savefig(out / images[name])
    return {
        "verdict_counts": counts,
        "outcomes": shown_outcomes(counts),
        "rows": len(rows),
        "images": images,
    }


def _write_data(out, records, summary, *, title, results, verdict):
    data = out / "data"
    data.mkdir()
    index_fields = ("key", "id", "file", "task", "verdict", "confidence", "outcome", "snr")
    index_fields += ("evidence", "error")  # what the list shows and filters on
    report = {
        "title": title,
        "results": str(results),
        "verdict": verdict,
        "generated": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        # Decisions are kept in the browser under this name: one per results table, so rebuilding
        # the report (other filters, more candidates) keeps the decisions made so far.
        "storage_key": "spec-o3-review:"
        + hashlib.sha256(os.fsencode(results.resolve())).hexdigest()[:16],
        "chunk_size": CHUNK_SIZE,
        "outcome_labels": OUTCOMES,
        "summary": summary,
        "candidates": [
            {name: record[name] for name in (*index_fields, *REVIEW_COLUMNS)} for record in records
        ],
    }
    (data / "report.js").write_text(
        f"window.SPEC_O3_REPORT = {js_literal(report)};\n", encoding="utf-8"
    )
    for n, start in enumerate(range(0, len(records), CHUNK_SIZE)):
        chunk = js_literal(records[start : start + CHUNK_SIZE])
        (data / f"chunk-{n:05d}.js").write_text(
            f"specO3Report.receive({n}, {chunk});\n", encoding="utf-8"
        )


def _write_pages(out, title):
    static = files("spec_o3.report")
    (out / "assets").mkdir()
    for name in _ASSETS:
        (out / "assets" / name).write_text(static.joinpath(name).read_text("utf-8"), "utf-8")
    for name in _PAGES:
        template = Template(static.joinpath(name).read_text("utf-8"))
        (out / name).write_text(template.substitute(title=html.escape(title)), "utf-8")
