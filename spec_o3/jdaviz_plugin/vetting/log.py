"""The vetting log: one row per vetted spectrum and task, appended to an ECSV file on export.

A row holds how the vetting ended and the agent's verdict, if it gave one, next to the
astronomer's own decision; a spectrum that could not be vetted has a row too, without a verdict.
Exporting appends the rows that are new or changed since the last export to the same file and
never rewrites earlier rows, so one file can collect a whole vetting campaign; when a spectrum was
exported twice (say before and after the decision), its latest row is the one with the latest
``timestamp``.
"""

import math
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

from astropy.table import Table, vstack

__all__ = ["COLUMNS", "DECISIONS", "VettingLog"]

#: Column names of the log, in order.
COLUMNS = (
    "file",
    "label",
    "task",
    "backend",
    "redshift",
    "redshift_source",
    "status",
    "verdict",
    "decision",
    "comment",
    "windows",
    "error",
    "timestamp",
)

#: The astronomer's possible decisions ("" while undecided).
DECISIONS = ("accept", "reject", "unsure")

_DESCRIPTIONS = {
    "file": "file the spectrum was read from (empty if not loaded from a file)",
    "label": "data label in Jdaviz",
    "redshift": "redshift of the rest frame inspected (NaN when the vetting failed)",
    "redshift_source": "where the redshift came from: file, user, measured or assumed",
    "status": "how the vetting ended: answered, no_answer (no valid answer from the model) or "
    "failed (the spectrum could not be vetted)",
    "verdict": "the agent's answer, YES or NO; empty without an answer",
    "decision": "the astronomer's decision on the candidate: accept, reject, unsure or empty",
    "windows": "rest-frame windows the agent inspected, in Angstrom, 'min-max' separated by '; '",
    "error": "why there is no verdict: the model's mistake or the failure (empty if answered)",
    "timestamp": "UTC time the row was last changed (ISO 8601)",
}


class VettingLog:
    """The rows of one session, keyed by (data label, task).

    Examples
    --------
    >>> log = VettingLog()
    >>> log.record("star", "carbon_star", file="star.fits", backend="expert", redshift=0.0,
    ...            redshift_source="assumed", status="answered", verdict="NO",
    ...            windows="4950-5250", error="")
    >>> log.update("star", "carbon_star", decision="reject", comment="no C2 bands")
    >>> print(log.table()["label", "task", "status", "verdict", "decision"])
    label     task     status  verdict decision
    ----- ----------- -------- ------- --------
     star carbon_star answered      NO   reject
    """

    def __init__(self):
        self._rows = {}
        self._versions = {}
        self._exported = {}  # resolved path -> {key: version written}

    def __len__(self):
        return len(self._rows)

    def record(self, label, task, **fields):
        """Add the row of a new vetting of ``label`` for ``task``, replacing the previous one.

        ``fields`` are the other columns; the decision and comment start empty.
        """
        _check_columns(fields)
        row = {**dict.fromkeys(COLUMNS, ""), "redshift": math.nan, **fields}
        row.update(label=label, task=task, decision="", comment="")
        self._store((label, task), row)

    def update(self, label, task, **fields):
        """Change fields (``decision``, ``comment``) of an existing row."""
        key = (label, task)
        if key not in self._rows:
            raise ValueError(f"no vetting of {label!r} for {task!r} in the log")
        _check_columns(fields)
        if "decision" in fields and fields["decision"] not in ("", *DECISIONS):
            raise ValueError(
                f"decision must be one of {', '.join(DECISIONS)} (or '' to clear), "
                f"got {fields['decision']!r}"
            )
        self._store(key, {**self._rows[key], **fields})

    def _store(self, key, row):
        row["timestamp"] = datetime.now(UTC).isoformat(timespec="seconds")
        self._rows[key] = row
        self._versions[key] = self._versions.get(key, 0) + 1

    def table(self, keys=None):
        """The rows (all, or those of ``keys``) as a `~astropy.table.Table` with the ``COLUMNS``."""
        keys = list(self._rows) if keys is None else keys
        table = Table(
            rows=[[self._rows[key][name] for name in COLUMNS] for key in keys] or None,
            names=COLUMNS,
            dtype=[float if name == "redshift" else str for name in COLUMNS],
        )
        for name, description in _DESCRIPTIONS.items():
            table[name].description = description
        return table

    def export(self, path):
        """Append the rows new or changed since the last export to ``path`` (ECSV).

        Parameters
        ----------
        path : str or path-like
            Created if missing; an existing file must be a vetting log (same columns).

        Returns
        -------
        table : `~astropy.table.Table`
            Everything the file now holds, earlier rows first.

        Raises
        ------
        ValueError
            If ``path`` exists but is not a vetting log.
        """
        path = Path(path).expanduser().resolve()
        exported = self._exported.setdefault(path, {})
        keys = [key for key in self._rows if exported.get(key) != self._versions[key]]
        table = self.table(keys)
        if path.exists():
            try:
                earlier = Table.read(path, format="ascii.ecsv")
            except Exception as error:  # any reader failure means: not a log we may append to
                raise ValueError(
                    f"{path} exists and is not an ECSV vetting log ({error})"
                ) from None
            if tuple(earlier.colnames) != COLUMNS:
                raise ValueError(
                    f"{path} exists and is not a vetting log: its columns are "
                    f"{earlier.colnames}, a vetting log has {list(COLUMNS)}"
                )
            if not keys:
                return earlier
            table = vstack([earlier, table])
        _write_atomically(table, path)
        exported.update((key, self._versions[key]) for key in keys)
        return table


def _check_columns(fields):
    unknown = sorted(set(fields) - set(COLUMNS))
    if unknown:
        raise ValueError(f"{', '.join(unknown)}: not columns of the vetting log {list(COLUMNS)}")


def _write_atomically(table, path):
    """Write ``table`` as ECSV next to ``path``, then rename: the file is never half written."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        table.write(temporary, format="ascii.ecsv")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
