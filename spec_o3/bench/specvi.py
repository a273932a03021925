"""Tolerant reading of benchmark rows in the SpecVI-Bench shape (one YES/NO question per row).

The released SpecVI-Bench data could not be inspected offline, so this reader is **untested on the
real release**: it accepts the column names such rows are likely to use (case-insensitive, see
:data:`COLUMN_ALIASES`) and fails with a message listing them when a required column is missing. It
also reads the suites :meth:`spec_o3.bench.Suite.write` saves, whose columns use the canonical
names.
"""

import re

import astropy.units as u
import numpy as np
from astropy.table import Column, Table

from ..tasks import TASKS, get_task

__all__ = ["COLUMN_ALIASES", "normalise_columns", "parse_label", "task_from_text"]

#: Canonical column -> accepted names (case-insensitive; the first present wins). ``task`` may
#: instead be inferred from a ``question`` text; ``ivar`` may instead come from an ``error``
#: (1-sigma) column; ``wavelength`` may instead come from ``loglam`` (log10 of the wavelength in Å).
COLUMN_ALIASES = {
    "id": ("id", "obsid", "uid", "sample_id", "question_id", "idx"),
    "task": ("task", "task_id", "task_name", "category"),
    "question": ("question", "prompt", "problem", "query", "instruction"),
    "label": ("label", "answer", "solution", "ground_truth", "gt", "target"),
    "redshift": ("redshift", "z"),
    "wavelength": ("wavelength", "wave", "wavelengths", "lambda", "lam"),
    "loglam": ("loglam", "log_wavelength", "log10_wavelength"),
    "flux": ("flux", "fluxes", "spectrum", "spec"),
    "ivar": ("ivar", "inverse_variance", "flux_ivar"),
    "error": ("error", "err", "flux_err", "flux_error", "sigma", "uncertainty"),
    "mask": ("mask", "pixel_mask", "and_mask", "bad_pixel"),
    "file": ("file", "filename", "file_name", "path"),
}

_YES_NO = re.compile(r"\b(YES|NO|TRUE|FALSE)\b", re.IGNORECASE)


def parse_label(value):
    """Read a YES/NO answer from the forms benchmark files use.

    Accepts ``"YES"``/``"NO"`` in any case, answers wrapped in text such as
    ``"<answer>\\boxed{YES}</answer>"``, ``"true"``/``"false"``, booleans and the integers 1/0.

    Examples
    --------
    >>> parse_label("<answer>\\\\boxed{yes}</answer>"), parse_label(0), parse_label(np.True_)
    ('YES', 'NO', 'YES')
    """
    if isinstance(value, (bool, np.bool_)):
        return "YES" if value else "NO"
    if isinstance(value, (int, np.integer)) and value in (0, 1):
        return "YES" if value else "NO"
    if isinstance(value, (str, np.str_)):
        found = {match.upper() for match in _YES_NO.findall(value)}
        found = {"YES" if word in ("YES", "TRUE") else "NO" for word in found}
        if len(found) == 1:
            return found.pop()
    raise ValueError(f"cannot read a YES/NO label from {value!r}")


def _normalise_text(text):
    return " ".join(re.sub(r"[^a-z0-9]+", " ", str(text).lower()).split())


def task_from_text(text):
    """Id of the registered task a task name or question text refers to.

    The text may be a task id or code (``"cc"``), a task name (``"White Dwarf"``) or a whole
    question ("Analyze the provided spectrum to determine if it is a Carbon Star (C-type)").

    Examples
    --------
    >>> task_from_text("Is this an M-type Giant?")
    'm_giant'
    """
    try:
        return get_task(str(text).strip()).id
    except ValueError:
        pass
    normalised = f" {_normalise_text(text)} "
    matches = {
        task.id
        for task in TASKS.values()
        if f" {_normalise_text(task.name)} " in normalised
        or f" {_normalise_text(task.id)} " in normalised
    }
    if len(matches) != 1:
        found = "several tasks: " + ", ".join(sorted(matches)) if matches else "no registered task"
        raise ValueError(f"cannot tell the task of {str(text)[:80]!r}: it names {found}")
    return matches.pop()


def _find(columns, canonical):
    """The (name, values) of the first column present under one of the canonical column's names."""
    by_lower = {name.lower(): name for name in columns}
    for alias in COLUMN_ALIASES[canonical]:
        if alias in by_lower:
            name = by_lower[alias]
            return name, columns[name]
    return None, None


def _missing(*canonicals):
    accepted = ", ".join(name for key in canonicals for name in COLUMN_ALIASES[key])
    return ValueError(f"no {canonicals[0]} column; accepted names (any case): {accepted}")


def _rows(values, name):
    """A spectrum-valued column (list/object array of 1-D arrays, or 2-D array) as float arrays."""
    array_like = (
        isinstance(values, list) or np.ndim(values) == 2 or np.asarray(values).dtype == object
    )
    if not array_like:
        raise ValueError(f"column {name!r} must hold one array per row")
    return [np.asarray(row, dtype=float) for row in values]


def normalise_columns(columns, *, units=None, task=None):
    """Map benchmark columns with any accepted names onto a question table in the canonical shape.

    Parameters
    ----------
    columns : dict
        Column name -> values: scalar columns as 1-D arrays, spectra as a list (or object array) of
        1-D arrays, or 2-D arrays with one spectrum per row.
    units : dict, optional
        Column name -> unit; the wavelength unit defaults to Å and the flux to dimensionless.
    task : str, optional
        Task of every row, overriding any task or question column (for files holding a single task).

    Returns
    -------
    table : `~astropy.table.Table`
        Columns ``id``, ``task`` (registered id), ``label`` (YES/NO), ``redshift``, the spectra as
        object columns ``wavelength`` (Å), ``flux`` (with its unit), ``ivar`` and ``mask`` (True
        where bad), then ``file``, ``question`` and the remaining scalar columns under their own
        names.

    Examples
    --------
    >>> table = normalise_columns({"question": ["... a White Dwarf?"], "answer": ["\\\\boxed{NO}"],
    ...                            "wave": [np.arange(4000., 4010.)], "flux": [np.ones(10)],
    ...                            "z": [0.1]})
    >>> print(table["id", "task", "label", "redshift"])
     id     task    label redshift
    --- ----------- ----- --------
      0 white_dwarf    NO      0.1
    """
    units = {key.lower(): u.Unit(value) for key, value in (units or {}).items()}
    used = set()

    def find(canonical):
        name, values = _find(columns, canonical)
        if name is not None:
            used.add(name)
        return name, values

    flux_name, flux = find("flux")
    if flux is None:
        raise _missing("flux")
    flux = _rows(flux, flux_name)
    flux_unit = units.get(flux_name.lower(), u.dimensionless_unscaled)
    n = len(flux)

    wave_name, wavelength = find("wavelength")
    if wavelength is not None:
        wave_unit = units.get(wave_name.lower(), u.AA)
        wavelength = [
            (row * wave_unit).to_value(u.AA, equivalencies=u.spectral())
            for row in _rows(wavelength, wave_name)
        ]
    else:
        loglam_name, loglam = find("loglam")
        if loglam is None:
            raise _missing("wavelength", "loglam")
        wavelength = [10**row for row in _rows(loglam, loglam_name)]

    ivar_name, ivar = find("ivar")
    error_name, error = find("error")
    if ivar is not None:
        ivar = _rows(ivar, ivar_name)
    elif error is not None:
        ivar = [
            np.divide(1, row**2, out=np.zeros_like(row), where=row > 0)
            for row in _rows(error, error_name)
        ]
    else:  # unknown uncertainty
        ivar = [np.full(len(row), np.nan) for row in flux]

    _, mask = find("mask")
    if mask is not None:
        mask = [np.asarray(row) != 0 for row in mask]
    else:
        mask = [np.zeros(len(row), bool) for row in flux]

    for what, rows in (("wavelength", wavelength), ("ivar", ivar), ("mask", mask)):
        bad = [
            i
            for i, (row, reference) in enumerate(zip(rows, flux, strict=False))
            if len(row) != len(reference)
        ]
        if len(rows) != n or bad:
            raise ValueError(f"{what} and flux columns differ in length (rows {bad[:5]})")

    _, task_values = find("task")
    _, question = find("question")
    if task is not None:
        tasks = [get_task(task).id] * n
    elif task_values is not None:
        tasks = [task_from_text(value) for value in task_values]
    elif question is not None:
        tasks = [task_from_text(value) for value in question]
    else:
        raise _missing("task", "question")

    _, labels = find("label")
    if labels is None:
        raise _missing("label")
    _, redshift = find("redshift")
    _, ids = find("id")
    _, files = find("file")

    table = Table()
    table["id"] = (
        np.asarray(ids).astype(str) if ids is not None else np.array([str(i) for i in range(n)])
    )
    table["task"] = tasks
    table["label"] = [parse_label(value) for value in labels]
    table["redshift"] = np.full(n, np.nan) if redshift is None else np.asarray(redshift, float)
    for name, rows, unit in (
        ("wavelength", wavelength, u.AA),
        ("flux", flux, flux_unit),
        ("ivar", ivar, flux_unit**-2),
        ("mask", mask, None),
    ):
        cells = np.empty(n, dtype=object)
        for i, row in enumerate(
            rows
        ):  # element-wise: equal-length rows would otherwise broadcast to 2-D
            cells[i] = row
        table[name] = Column(cells, unit=unit)
    if files is not None:
        table["file"] = np.asarray(files).astype(str)
    if question is not None:
        table["question"] = np.asarray(question).astype(str)
    for name, values in columns.items():
        if name not in used and name not in table.colnames and _is_scalar_column(values, n):
            table[name] = values
    return table


def _is_scalar_column(values, n):
    return (
        not isinstance(values, list)
        and np.ndim(values) == 1
        and len(values) == n
        and (np.asarray(values).dtype.kind in "biufUS")
    )
