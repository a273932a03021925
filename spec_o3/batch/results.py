"""The results: their rows, the journal that keeps them as they finish, and the output table.

A catalogue entry gets one row per spectrum its file holds: one for a LAMOST or SDSS file, one per
target of a DESI file (its ``targetid``; masked for formats of one spectrum), unless the catalogue
names the target. Every row has a ``status``: ``answered`` (``verdict`` YES or NO), ``no_answer``
(the model gave no valid answer; no verdict) or ``failed`` (the spectrum could not be read or
vetted; no verdict, and ``error`` names the file and the reason). A missing verdict is ``None`` in
the journal and masked in the table, never "NO". ``confidence`` is the backend's probability that
the verdict is right (the expert's calibrated one, a model's probability of its answer), masked
where there is no verdict or the backend gives none.
"""

import importlib.util
import io
import itertools
import json
import os
from pathlib import Path

import astropy.units as u
import numpy as np

from spec_o3.agent.result import ANSWERED, FAILED, NO_ANSWER
from spec_o3.tasks import get_task

__all__ = [
    "COLUMNS",
    "Journal",
    "Tally",
    "failed_row",
    "read_rows",
    "result_row",
    "table_format",
    "write_results",
]

#: Columns of the results table, in order (a catalogue with ids adds ``id`` in front).
COLUMNS = (
    "file",
    "targetid",
    "task",
    "status",
    "verdict",
    "confidence",
    "evidence",
    "n_steps",
    "windows",
    "redshift",
    "redshift_source",
    "error",
    "seconds",
)
_NUMERIC = {
    "targetid": np.int64,
    "confidence": float,
    "n_steps": int,
    "redshift": float,
    "seconds": float,
}  # else text
# None in a row: no target id, verdict, confidence, redshift
_MASKED = ("targetid", "verdict", "confidence", "redshift")
_OUTCOMES = ("YES", "NO", NO_ANSWER, FAILED)
_BLOCK = 2048  # rows per block when writing tables
_ERRORS_KEPT = 10  # errors quoted in the summary (all are in the table)


def result_row(path, result):
    """The results-table row of one `~spec_o3.agent.VettingResult` (a dict, see ``COLUMNS``)."""
    windows = ";".join(
        f"{window.lower.to_value(u.AA):.0f}-{window.upper.to_value(u.AA):.0f}"
        for window in result.windows
    )
    return {
        "file": str(path),
        "targetid": result.target_id,
        "task": result.task,
        "status": result.status,
        "verdict": result.verdict,
        "confidence": result.confidence,
        "evidence": _encodable(result.evidence),
        "n_steps": result.n_steps,
        "windows": windows,
        "redshift": result.redshift,
        "redshift_source": result.redshift_source,
        "error": _encodable(result.error or ""),
        "seconds": result.seconds,
    }


def _encodable(text):
    """``text`` with what UTF-8 cannot hold (lone surrogates a model server may send) as '?'."""
    return text.encode("utf-8", errors="replace").decode("utf-8")


def failed_row(path, task, message, seconds, targetid=None):
    """The row of a spectrum that could not be read or vetted: no verdict, and the reason.

    ``targetid`` names the DESI target that failed; `None` when the whole file did.

    Examples
    --------
    >>> from spec_o3.batch import failed_row
    >>> row = failed_row("gone.fits", "cc", "gone.fits: no such file", 0.0)
    >>> row["status"], row["verdict"], row["error"]
    ('failed', None, 'gone.fits: no such file')
    """
    return {
        "file": str(path),
        "targetid": targetid,
        "task": get_task(task).id,
        "status": FAILED,
        "verdict": None,
        "confidence": None,
        "evidence": "",
        "n_steps": 0,
        "windows": "",
        "redshift": None,
        "redshift_source": "",
        "error": message,
        "seconds": seconds,
    }


def outcome(row):
    """What a row counts as in a tally: ``"YES"``, ``"NO"``, ``"no_answer"`` or ``"failed"``."""
    return row["verdict"] if row["status"] == ANSWERED else row["status"]


# -- the journal ---------------------------------------------------------------------------------


_ENCODER = json.JSONEncoder(allow_nan=False)  # what json.dumps(allow_nan=False) builds per call
_DECODER = json.JSONDecoder()


def json_line(record):
    return _ENCODER.encode(record).encode("ascii") + b"\n"


def fsync_folder(folder):
    """Make a rename or a new file in ``folder`` durable (POSIX; Windows has no directory fsync)."""
    if os.name == "nt":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class Journal:
    """Rows finished so far: a JSON header line, then one JSON line per row, synced chunk by chunk.

    ``offsets[i]`` is where the rows of catalogue entry ``i`` start in the file (-1: no row yet);
    an entry's rows (one per target of a DESI file) are consecutive lines, each numbered ``part``
    of ``parts``, written in one chunk. A later set of rows of the same entry (a retried failure)
    replaces the earlier one. ``widths`` holds the length of the longest text of each column
    over the rows kept, so that a table can be written in one pass over them (`None` once rows
    were replaced: theirs may have been the longest).
    """

    def __init__(self, path, header, size):
        self.path, self.header = Path(path), header
        self.offsets = np.full(size, -1, dtype=np.int64)
        self.counts = dict.fromkeys(_OUTCOMES, 0)
        # index into _OUTCOMES of an entry's one row (-1: no row yet); for an entry of several
        # rows, the outcome "failed" if any failed, and the counts of its rows in _multiple
        self._outcomes = np.full(size, -1, dtype=np.int8)
        self._multiple = {}
        self.widths = dict.fromkeys(_texts(header["columns"]), 1)
        self._descriptor = self._size = None

    def failed(self, index):
        """Whether a row of catalogue entry ``index`` is a failed one."""
        return self._outcomes[index] == _OUTCOMES.index(FAILED)

    @property
    def done(self):
        """Entries with rows."""
        return int(np.count_nonzero(self.offsets >= 0))

    @classmethod
    def create(cls, path, header, size):
        journal = cls(path, header, size)
        temporary = journal.path.with_name(journal.path.name + ".tmp")
        with open(temporary, "wb") as file:  # the header appears whole, or not at all
            file.write(json_line(header))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, journal.path)
        fsync_folder(journal.path.parent)
        journal._open()
        return journal

    @classmethod
    def recover(cls, path, header, size):
        """Open the journal of an interrupted run, dropping the rows of an entry whose last lines
        the interruption tore off or never wrote."""
        journal = cls(path, header, size)
        with open(journal.path, "rb") as file:
            first = file.readline()
            journal._check(first)
            end = kept = len(first)
            entry = []  # the lines read so far of the entry being read
            for line in file:
                if not line.endswith(b"\n"):
                    break  # written in part when the run was killed: vetted again
                try:
                    record = json.loads(line)
                    entry.append(record)
                    if record.get("part", 0) == record.get("parts", 1) - 1:
                        journal._note(record["index"], entry, kept)
                        entry, kept = [], end + len(line)
                except (ValueError, KeyError, TypeError, IndexError):
                    raise ValueError(
                        f"journal {journal.path} is corrupt at byte {end}; "
                        "pass overwrite=True to start the run again"
                    ) from None
                end += len(line)
        os.truncate(journal.path, kept)
        journal._open()
        return journal

    def _check(self, line):
        try:
            found = json.loads(line)
        except ValueError:
            found = {}
        if found.get("format") != self.header["format"]:
            raise ValueError(f"{self.path} is not a spec-o3 vet journal")
        for key in ("task", "backend", "catalog", "entries", "columns"):
            if found.get(key) != self.header[key]:
                raise ValueError(
                    f"journal {self.path} belongs to a run with another {key} "
                    f"({found.get(key)!r}, not {self.header[key]!r}); resume with the same "
                    "settings and catalogue, or pass overwrite=True to start again"
                )

    def _note(self, index, rows, offset):
        """Record the rows of entry ``index``, starting at ``offset``."""
        if not 0 <= index < self.offsets.size or any(row["index"] != index for row in rows):
            raise IndexError(index)
        if self.offsets[index] >= 0:
            self.widths = None
        elif self.widths is not None:
            for row in rows:
                _widen(self.widths, row)
        for kind, count in self._entry_counts(index).items():
            self.counts[kind] -= count
        kinds = [outcome(row) for row in rows]
        self.offsets[index] = offset
        self._outcomes[index] = _OUTCOMES.index(FAILED if FAILED in kinds else kinds[0])
        self._multiple.pop(index, None)
        if len(rows) > 1:
            self._multiple[index] = {kind: kinds.count(kind) for kind in set(kinds)}
        for kind in kinds:
            self.counts[kind] += 1

    def _entry_counts(self, index):
        if index in self._multiple:
            return self._multiple[index]
        if self._outcomes[index] < 0:
            return {}
        return {_OUTCOMES[self._outcomes[index]]: 1}

    def _open(self):
        self._descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        self._size = os.fstat(self._descriptor).st_size

    def append(self, rows):
        """Add the ``(index, row)`` pairs of a finished chunk, each entry's rows together: one
        write, then ``fsync``."""
        entries = [
            [
                {"index": index, "part": part, "parts": len(group), **row}
                for part, (index, row) in enumerate(group)
            ]
            for group in _grouped(rows)
        ]
        lines = [[json_line(record) for record in entry] for entry in entries]
        data = memoryview(b"".join(line for entry in lines for line in entry))
        while data:  # a regular file takes it in one write unless the disk fills up
            data = data[os.write(self._descriptor, data) :]
        os.fsync(self._descriptor)
        for entry, entry_lines in zip(entries, lines, strict=True):
            self._note(entry[0]["index"], entry, self._size)
            self._size += sum(len(line) for line in entry_lines)

    def rows(self, entries):
        """Yield ``(entry, row)`` for ``entries`` in their order, one pair per row of the entry;
        ``row`` is None if the entry was not vetted."""
        with open(self.path, "rb") as file:
            for entry in entries:
                offset = self.offsets[entry.index]
                if offset < 0:
                    yield entry, None
                    continue
                file.seek(offset)
                parts = 1
                while parts:
                    row = _DECODER.decode(file.readline().decode("utf-8"))
                    parts = row.pop("parts", 1) - row.pop("part", 0) - 1
                    del row["index"]
                    yield entry, row

    def close(self):
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None


def _texts(columns):
    """The text columns among ``columns``."""
    return [name for name in columns if name not in _NUMERIC]


def _widen(widths, row):
    """Widen ``widths`` (text column -> length of its longest text so far) to ``row``'s texts."""
    for name, width in widths.items():
        length = len(row[name] or "")
        if length > width:
            widths[name] = length


def _grouped(pairs):
    """``(index, row)`` pairs grouped into lists of consecutive pairs of one index."""
    return [list(group) for _, group in itertools.groupby(pairs, key=lambda pair: pair[0])]


# -- the results table ---------------------------------------------------------------------------


def table_format(path):
    """The astropy format of the output table ``path``, told by its extension.

    Raises `ImportError` for a Parquet table where pyarrow is not installed, so that a run learns
    it before it vets anything, not when it writes its results.
    """
    formats = {".ecsv": "ascii.ecsv", ".csv": "ascii.csv", ".parquet": "parquet"}
    if path.suffix.lower() not in formats:
        raise ValueError(
            f"cannot tell the table format of {path} from its extension: "
            "use .ecsv, .csv or .parquet"
        )
    if formats[path.suffix.lower()] == "parquet" and importlib.util.find_spec("pyarrow") is None:
        raise ImportError(
            f"{path}: Parquet tables need pyarrow: pip install 'spec-o3[parquet]', "
            "or write .ecsv or .csv"
        )
    return formats[path.suffix.lower()]


def _filled(rows, name):
    """The values of column ``name``, ``None`` replaced by an empty value, and where it was."""
    kind = _NUMERIC.get(name, str)
    values = [row[name] for row in rows]
    return [kind() if value is None else value for value in values], [v is None for v in values]


def _block_table(rows, columns, masked_as_text=False):
    """The rows as a table; the ``_MASKED`` columns are masked where a row holds ``None``, or
    with ``masked_as_text``, the texts astropy's ASCII writers write for them: each value's
    ``str``, and an empty text where it is masked."""
    from astropy.table import MaskedColumn, Table

    table = Table()
    for name in columns:
        values, missing = _filled(rows, name)
        column = np.array(values, dtype=_NUMERIC.get(name, str))
        if name not in _MASKED:
            table[name] = column
        elif masked_as_text:
            texts = zip(column, missing, strict=True)
            table[name] = ["" if gone else str(value) for value, gone in texts]
        else:
            table[name] = MaskedColumn(column, mask=missing)
    table["seconds"].unit = u.s
    return table


def _blocks(rows):
    iterator = iter(rows)
    while block := list(itertools.islice(iterator, _BLOCK)):
        yield block


def _write_ascii(rows, path, columns, astropy_format):
    """Write block by block; astropy formats each block, whose own header is dropped. The blocks
    hold the masked columns as the texts astropy writes for them (it reads a masked column item
    by item, which took most of the time)."""

    def text(table):
        buffer = io.StringIO()
        table.write(buffer, format=astropy_format)
        return buffer.getvalue()

    with open(path, "w", encoding="utf-8", newline="") as file:
        file.write(text(_block_table([], columns)))
        for block in _blocks(rows()):
            table = _block_table(block, columns, masked_as_text=True)
            file.write(text(table).split("\n", text(table[:0]).count("\n"))[-1])


def _write_parquet(rows, path, columns, widths=None):
    """Write block by block, under the schema astropy gives a table of the same columns (units,
    string widths), so that `~astropy.table.Table.read` reads it back as astropy wrote it. The
    arrays are made from their buffers (`_arrow_array`): ``pyarrow.array`` imports pandas on its
    first call, 0.2 s at the end of every run."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if widths is None:  # astropy records the widest string of each column
        widths = dict.fromkeys(_texts(columns), 1)
        for row in rows():
            _widen(widths, row)
    prototype = _block_table(
        [{name: "x" * widths[name] if name in widths else 0 for name in columns}], columns
    )
    for name in _MASKED:  # astropy writes the mask of a column only when something is masked
        prototype[name].mask = True
    schema = _parquet_schema(prototype)
    with pq.ParquetWriter(path, schema) as writer:
        for block in _blocks(rows()):
            arrays = []
            for name in columns:  # astropy keeps a masked column's mask as a column of its own
                values, missing = _filled(block, name)
                arrays.append(_arrow_array(values, _NUMERIC.get(name, str)))
                if name in _MASKED:
                    arrays.append(_arrow_array(missing, bool))
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))


def _parquet_schema(table):
    """The schema `astropy.io.misc.parquet` writes ``table`` under: its columns as astropy
    serializes them (a masked column's mask a column of its own), with the width of each text
    column and the table's YAML header in the metadata."""
    import pyarrow as pa
    from astropy.table import meta, serialize
    from astropy.utils.data_info import serialize_context_as

    with serialize_context_as("parquet"):
        encoded = serialize.represent_mixins_as_columns(table)
    header = "\n".join(meta.get_yaml_from_table(encoded))
    fields, metadata = [], {}
    for name in encoded.colnames:
        dtype = encoded[name].dtype
        fields.append((name, pa.from_numpy_dtype(dtype.type)))
        if dtype.kind == "U":
            metadata[f"table::len::{name}"] = str(dtype.itemsize // 4)
        metadata.setdefault("table_meta_yaml", header)  # where astropy puts it among the keys
    return pa.schema(fields, {key.encode(): value.encode() for key, value in metadata.items()})


def _arrow_array(values, kind):
    """The pyarrow array of ``values`` (a list without None) as numpy's ``kind`` holds them,
    made from its buffers: UTF-8 texts and their offsets, bits, or the numbers themselves."""
    import pyarrow as pa

    if kind is str:
        texts = [value.encode() for value in values]
        offsets = np.zeros(len(texts) + 1, np.int32)
        np.cumsum([len(text) for text in texts], out=offsets[1:])
        buffers = [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(texts))]
        return pa.Array.from_buffers(pa.string(), len(texts), buffers)
    array = np.array(values, dtype=kind)
    if kind is bool:
        bits = np.packbits(array, bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), array.size, [None, pa.py_buffer(bits)])
    type_ = pa.from_numpy_dtype(array.dtype)
    return pa.Array.from_buffers(type_, array.size, [None, pa.py_buffer(array)])


def write_table(rows, path, columns, widths=None):
    """Write the rows of ``rows()`` to ``path`` atomically; ``rows()`` is called once, or twice
    when the table's format needs the longest text of each column and ``widths`` does not say
    it (column -> length)."""
    astropy_format = table_format(path)
    temporary = path.with_name(path.name + ".tmp")
    if astropy_format == "parquet":
        _write_parquet(rows, temporary, columns, widths)
    else:
        _write_ascii(rows, temporary, columns, astropy_format)
    with open(temporary, "rb+") as file:
        os.fsync(file.fileno())
    os.replace(temporary, path)
    fsync_folder(path.parent)


def read_rows(path, columns):
    """The rows of a results table written by a finished run, as its journal held them.

    Raises `ValueError` if the table's columns are not ``columns``.
    """
    from astropy.table import Table

    table = Table.read(path, format=table_format(path))
    if table.colnames != list(columns):
        raise ValueError(
            f"{path} has the columns {', '.join(table.colnames)}, not those of this run "
            f"({', '.join(columns)})"
        )
    for values in table.iterrows():
        row = {}
        for name, value in zip(columns, values, strict=True):
            if np.ma.is_masked(value):
                value = None if name in _MASKED else _NUMERIC.get(name, str)()
            row[name] = value.item() if isinstance(value, np.generic) else value
        yield row


class Tally:
    """Counts of the rows written by outcome, and the first errors (failures first)."""

    def __init__(self):
        self.counts = dict.fromkeys(_OUTCOMES, 0)
        self.first_failures, self.first_no_answers = [], []

    def add(self, row):
        kind = outcome(row)
        self.counts[kind] += 1
        kept = {FAILED: self.first_failures, NO_ANSWER: self.first_no_answers}.get(kind)
        if kept is not None and len(kept) < _ERRORS_KEPT:
            kept.append((row["file"], row["error"]))

    @property
    def first_errors(self):
        return (self.first_failures + self.first_no_answers)[:_ERRORS_KEPT]


def write_results(catalog, journal, output, columns, tasks, missing):
    """Write the results table from the journal in catalogue order; entries not in the journal
    get a row per task with the error ``missing``, failed. Return the ``Tally`` of what was
    written."""
    tally = Tally()

    def rows():
        nonlocal tally
        tally = Tally()  # writers may read the rows twice; count the last pass
        for entry, found in journal.rows(catalog):
            for row in [found] if found is not None else _missing_rows(entry, tasks, missing):
                tally.add(row)
                yield row

    complete = journal.done == journal.offsets.size  # else the missing rows' texts count too
    write_table(rows, output, columns, journal.widths if complete else None)
    return tally


def _missing_rows(entry, tasks, missing):
    """The failed rows, one per task, of a catalogue entry that was not vetted."""
    for task in tasks:
        row = failed_row(entry.path, task, f"{entry.path}: {missing}", 0.0, entry.targetid)
        yield row if entry.id is None else {"id": entry.id, **row}
