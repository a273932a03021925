"""Reviewer decisions exported by the report, and their merge back into the results table."""

import warnings

from astropy.table import Table

from spec_o3.io import target_name

from ._tables import read_table, text_column

__all__ = ["DECISIONS", "DECISION_COLUMNS", "REVIEW_COLUMNS", "merge_decisions", "read_decisions"]

#: Columns of an exported decisions file, in order.
DECISION_COLUMNS = ("id", "file", "task", "agent_verdict", "decision", "comment", "decided_at")

#: Columns a merge adds to (or updates in) the results table.
REVIEW_COLUMNS = ("decision", "comment", "decided_at")

#: The reviewer's possible decisions: the object belongs (``accept``) or does not belong
#: (``reject``) to the task's class, or the reviewer cannot tell (``unsure``).
DECISIONS = ("accept", "reject", "unsure")


def read_decisions(path):
    """Read a decisions file exported by the report (CSV or ECSV).

    Parameters
    ----------
    path : str or path-like
        A file with the columns of ``DECISION_COLUMNS`` (extra columns are kept).

    Returns
    -------
    decisions : `~astropy.table.Table`
        Every ``DECISION_COLUMNS`` column as text, empty values as ``""``.

    Raises
    ------
    OSError
        If the file cannot be read.
    ValueError
        If a column is missing or a decision is not one of ``DECISIONS`` (or empty).
    """
    table = read_table(path)
    missing = [name for name in DECISION_COLUMNS if name not in table.colnames]
    if missing:
        raise ValueError(
            f"{path} is not a decisions file: it lacks the column(s) {', '.join(missing)} "
            f"(expected {', '.join(DECISION_COLUMNS)})"
        )
    for name in DECISION_COLUMNS:
        table[name] = Table.Column(text_column(table, name), dtype=str)
    unknown = sorted(set(table["decision"]) - {"", *DECISIONS})
    if unknown:
        raise ValueError(
            f"{path}: unknown decision(s) {', '.join(map(repr, unknown))}; "
            f"expected one of {', '.join(DECISIONS)}"
        )
    return table


def merge_decisions(results, decisions):
    """Fold reviewer decisions into a results table, matching rows on ``file`` and ``task``.

    A target of a DESI file is named ``FILE#TARGETID`` in the decisions, as the report names it.

    Parameters
    ----------
    results : `~astropy.table.Table`
        A ``spec-o3 vet`` results table (with ``file``, ``task`` and ``verdict`` columns; any
        others are kept).
    decisions : `~astropy.table.Table`
        As returned by `read_decisions`. Rows with neither a decision nor a comment are skipped.

    Returns
    -------
    merged : `~astropy.table.Table`
        A copy of ``results`` with the ``REVIEW_COLUMNS`` columns; rows without a decision keep the
        values they had (empty when the results had no decisions yet).

    Raises
    ------
    ValueError
        If a decision matches no row of the results (the decisions come from another run), or
        two decisions are about the same row.

    Warns
    -----
    UserWarning
        When the agent verdict a decision was made on differs from the verdict in ``results``
        (the candidates were vetted again since the review).

    Examples
    --------
    >>> from astropy.table import Table
    >>> results = Table({"file": ["a.fits", "b.fits"], "task": ["carbon_star"] * 2,
    ...                  "verdict": ["YES", "NO"]})
    >>> decisions = Table({"id": ["a"], "file": ["a.fits"], "task": ["carbon_star"],
    ...                    "agent_verdict": ["YES"], "decision": ["reject"],
    ...                    "comment": ["a K giant"], "decided_at": ["2025-01-01T10:00:00Z"]})
    >>> merged = merge_decisions(results, decisions)
    >>> merged["decision"].tolist(), merged["comment"].tolist()
    (['reject', ''], ['a K giant', ''])
    """
    for name in ("file", "task", "verdict"):
        if name not in results.colnames:
            raise ValueError(f"the results table has no {name!r} column")
    files = [
        target_name(file, targetid or None)
        for file, targetid in zip(
            text_column(results, "file"), text_column(results, "targetid"), strict=True
        )
    ]
    rows = {key: i for i, key in enumerate(zip(files, text_column(results, "task"), strict=True))}
    merged = results.copy()
    review = {name: text_column(results, name) for name in REVIEW_COLUMNS}
    verdicts = text_column(results, "verdict")
    seen, unmatched, changed = set(), [], []
    for decision in decisions:
        if not (decision["decision"] or decision["comment"]):
            continue
        key = (decision["file"], decision["task"])
        if key in seen:
            raise ValueError(f"two decisions about {key[0]} ({key[1]})")
        seen.add(key)
        if key not in rows:
            unmatched.append(key)
            continue
        i = rows[key]
        for name in REVIEW_COLUMNS:
            review[name][i] = decision[name]
        if decision["agent_verdict"] and decision["agent_verdict"] != verdicts[i]:
            changed.append(key)
    if unmatched:
        listed = "; ".join(f"{file} ({task})" for file, task in unmatched[:3])
        more = f" and {len(unmatched) - 3} more" if len(unmatched) > 3 else ""
        raise ValueError(
            f"{len(unmatched)} decision(s) match no row of the results table: {listed}{more}"
        )
    if changed:
        warnings.warn(
            f"{len(changed)} decision(s) were made on another agent verdict than the results "
            f"table holds now (first: {changed[0][0]}); they are merged as made",
            UserWarning,
            stacklevel=2,
        )
    for name in REVIEW_COLUMNS:
        merged[name] = Table.Column(review[name], dtype=str)
    return merged
