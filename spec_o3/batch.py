"""Catalogue-scale vetting: stream a list of spectra through workers, resumably.

`vet_catalog` vets every spectrum of a `Catalog` for one task and writes one row per spectrum to a
table (``.ecsv``, ``.csv`` or ``.parquet``), in catalogue order. It is built for 10⁴–10⁶ files:

- the catalogue is streamed (a first pass counts and fingerprints it) and each spectrum is read by
  the worker that vets it, so memory stays flat whatever the catalogue's length;
- work goes out in chunks of ``chunk_size`` spectra, a bounded number at a time, to this process,
  to worker processes (``workers``), to threads waiting on a model server (``concurrency``) or to
  a Dask distributed cluster (``scheduler``);
- each finished chunk is appended to a journal next to the output (``OUT.journal``: a JSON header
  line, then one JSON line per row) in one write followed by ``fsync``. A run killed at any moment
  loses only the chunks in flight: ``resume=True`` drops a torn last line, vets what has no row,
  and the table is then written from the journal to a temporary file renamed over the output, so
  no row is missing or duplicated;
- a spectrum that cannot be read or vetted becomes a row with its ``error``; the run goes on.

See :doc:`/batch`.
"""

import contextlib
import csv
import functools
import hashlib
import io
import itertools
import json
import multiprocessing
import os
import threading
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import astropy.units as u
import numpy as np

from spec_o3.tasks import get_task

__all__ = [
    "COLUMNS",
    "BatchSummary",
    "Catalog",
    "CatalogEntry",
    "error_row",
    "result_row",
    "vet_catalog",
]

#: Columns of the results table, in order (a catalogue with ids adds ``id`` in front).
COLUMNS = ("file", "task", "verdict", "evidence", "n_steps", "windows", "error", "seconds")
_NUMERIC = {"n_steps": int, "seconds": float}  # every other column is text

#: Catalogue column names found without being named (case-insensitively), in order of preference.
PATH_COLUMNS = ("path", "file", "filename", "filepath")
REDSHIFT_COLUMNS = ("redshift", "z")
ID_COLUMNS = ("id", "obsid", "specobjid", "objid", "name")

_TEXT_LIST_SUFFIXES = ("", ".txt", ".lst", ".list")
_BLOCK = 2048  # rows per block when reading FITS catalogues and writing tables
_ERRORS_KEPT = 10  # errors quoted in the summary (all are in the table)


# -- catalogues ------------------------------------------------------------------------------------


class CatalogEntry(NamedTuple):
    """One spectrum to vet: its position in the catalogue, file, redshift and id (or `None`)."""

    index: int
    path: str
    redshift: float | None = None
    id: str | None = None


class Catalog:
    """The spectra to vet, read again from their source each time the catalogue is iterated.

    Parameters
    ----------
    paths : iterable of str or path-like
        Spectrum files (held in memory; use `Catalog.read` for a long list kept in a file).

    Attributes
    ----------
    name : str
        How error messages call the catalogue.
    has_ids : bool
        Whether entries carry an ``id`` (then the results table has an ``id`` column).

    Examples
    --------
    >>> from spec_o3.batch import Catalog
    >>> for entry in Catalog(["spec-1.fits", "spec-2.fits"]):
    ...     print(entry.index, entry.path, entry.redshift)
    0 spec-1.fits None
    1 spec-2.fits None
    """

    def __init__(self, paths):
        paths = [os.fspath(path) for path in paths]
        self._setup(
            lambda: ((path, None, None) for path in paths), "the list of files", None, False
        )

    def _setup(self, records, name, base, has_ids):
        self._records, self.name, self._base, self.has_ids = records, name, base, has_ids

    @classmethod
    def read(cls, source, *, path_column=None, redshift_column=None, id_column=None):
        """Stream a catalogue file: a text list of paths, or a CSV, ECSV or FITS table.

        A text list (``.txt``, ``.lst``, ``.list`` or no extension) holds one path per line; blank
        lines and lines starting with ``#`` are skipped. A table (``.csv``, ``.ecsv``, ``.fits``)
        has a path column and optionally a redshift column (empty or NaN: the file's own redshift)
        and an id column. Relative paths are taken relative to the catalogue's folder.

        Parameters
        ----------
        source : str or path-like
            The catalogue file.
        path_column, redshift_column, id_column : str, optional
            Column names; by default the first of `PATH_COLUMNS`, `REDSHIFT_COLUMNS` and
            `ID_COLUMNS` the table has (case-insensitively).

        Returns
        -------
        `Catalog`

        Raises
        ------
        FileNotFoundError
            If ``source`` does not exist.
        ValueError
            For an unknown extension, or a table without the named (or any) path column.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from spec_o3.batch import Catalog
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     table = Path(folder) / "candidates.csv"
        ...     _ = table.write_text("obsid,z,path\\n101,0.001,/data/a.fits\\n102,,/data/b.fits\\n")
        ...     entries = list(Catalog.read(table))
        >>> entries[0]
        CatalogEntry(index=0, path='/data/a.fits', redshift=0.001, id='101')
        >>> entries[1].redshift is None
        True
        """
        source = Path(source)
        if not source.is_file():
            raise FileNotFoundError(f"catalogue {source} does not exist")
        suffix = "".join(source.suffixes[-2:]) if source.suffix == ".gz" else source.suffix
        suffix = suffix.lower()
        catalog = cls.__new__(cls)
        if suffix in _TEXT_LIST_SUFFIXES:
            catalog._setup(lambda: _text_list(source), str(source), source.parent, False)
            return catalog
        if suffix not in _TABLE_READERS:
            raise ValueError(
                f"cannot tell the format of catalogue {source}: use a text list of paths "
                "(.txt, .lst) or a .csv, .ecsv or .fits table"
            )
        rows = _TABLE_READERS[suffix]
        with _closing(rows(source)) as header_rows:
            names = [str(name) for name in next(header_rows, ())]
        positions = (
            _column(names, path_column, PATH_COLUMNS, source, "path"),
            _column(names, redshift_column, REDSHIFT_COLUMNS, source),
            _column(names, id_column, ID_COLUMNS, source),
        )

        def records():
            with _closing(rows(source)) as table_rows:
                next(table_rows)  # the column names
                for row in table_rows:
                    yield tuple(None if i is None else row[i] for i in positions)

        catalog._setup(records, str(source), source.parent, positions[2] is not None)
        return catalog

    def __iter__(self):
        for index, (path, redshift, identifier) in enumerate(self._records()):
            yield CatalogEntry(
                index,
                self._path(path, index),
                self._redshift(redshift, index),
                None if not self.has_ids else _text(identifier),
            )

    def __repr__(self):
        return f"<Catalog {self.name}>"

    def _path(self, value, index):
        path = _text(value)
        if not path:
            raise ValueError(f"{self.name}, entry {index + 1}: no file path")
        if self._base is not None and not os.path.isabs(path):
            path = os.path.join(self._base, path)
        return path

    def _redshift(self, value, index):
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        try:
            redshift = float(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"{self.name}, entry {index + 1}: redshift {value!r} is not a number"
            ) from None
        return None if np.isnan(redshift) else redshift


def _text(value):
    """A catalogue cell as stripped text (FITS byte strings decoded, integers without '.0')."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("ascii", errors="replace")
    elif isinstance(value, np.integer):
        value = int(value)
    return str(value).strip()


def _column(names, requested, candidates, source, required=None):
    """Position of the requested column, or of the first candidate present (None if optional)."""
    lower = [name.lower() for name in names]
    for name in (requested,) if requested is not None else candidates:
        if name.lower() in lower:
            return lower.index(name.lower())
    if requested is not None:
        raise ValueError(f"catalogue {source} has no column {requested!r}; it has {names}")
    if required is not None:
        raise ValueError(
            f"catalogue {source} has no {required} column (looked for "
            f"{', '.join(candidates)}); it has {names}: name the column to use"
        )
    return None


class _closing:
    """Close a generator on leaving the block (so its file is closed at once, not at collection)."""

    def __init__(self, generator):
        self.generator = generator

    def __enter__(self):
        return self.generator

    def __exit__(self, *exc_info):
        self.generator.close()


def _text_list(source):
    with open(source, encoding="utf-8") as file:
        for line in file:
            line = line.strip()
            if line and not line.startswith("#"):
                yield line, None, None


def _csv_rows(source):
    """The rows of a CSV file as lists of strings, the column names first."""
    with open(source, newline="", encoding="utf-8") as file:
        yield from csv.reader(file)


def _ecsv_rows(source):
    """The rows of an ECSV file as lists of strings, the column names first."""
    from astropy.table.meta import get_header_from_yaml

    with open(source, newline="", encoding="utf-8") as file:
        header, line = [], ""
        for line in file:
            if not line.startswith("#"):
                break
            header.append(line[2:])
        if not header or not header[0].startswith("%ECSV"):
            raise ValueError(f"catalogue {source} is not ECSV (no '# %ECSV' first line)")
        delimiter = get_header_from_yaml(header[1:]).get("delimiter", " ")
        lines = itertools.chain([line], file)
        yield from csv.reader(lines, delimiter=delimiter, skipinitialspace=delimiter == " ")


def _fits_rows(source):
    """The rows of the first table HDU of a FITS file as tuples, the column names first."""
    from astropy.io import fits

    with fits.open(source, memmap=True) as hdulist:
        hdu = next(
            (hdu for hdu in hdulist if isinstance(hdu, (fits.BinTableHDU, fits.TableHDU))), None
        )
        if hdu is None:
            raise ValueError(f"catalogue {source} holds no table HDU")
        yield hdu.columns.names
        for start in range(0, hdu.data.shape[0], _BLOCK):  # memory-mapped: one block at a time
            block = hdu.data[start : start + _BLOCK]
            yield from zip(*(block[name] for name in hdu.columns.names), strict=True)


_TABLE_READERS = {
    ".csv": _csv_rows,
    ".ecsv": _ecsv_rows,
    ".fits": _fits_rows,
    ".fit": _fits_rows,
    ".fits.gz": _fits_rows,
}


def _scan(catalog):
    """Number of entries and a fingerprint of the catalogue (so a resume vets the same list)."""
    digest, count = hashlib.sha256(), 0
    for entry in catalog:
        digest.update(f"{entry.path}\0{entry.redshift}\0{entry.id}\n".encode())
        count += 1
    if not count:
        raise ValueError(f"{catalog.name} lists no spectra")
    return count, digest.hexdigest()


def _trajectory_folders(entries, root):
    """Pair each entry with its trajectory folder, ``root/<file stem>`` (numbered if repeated)."""
    used = set()
    for entry in entries:
        if root is None:
            yield entry, None
            continue
        stem = Path(entry.path).stem
        name, n = stem, 1
        while name in used:
            n += 1
            name = f"{stem}-{n}"
        used.add(name)
        yield entry, os.path.join(root, name)


# -- rows ------------------------------------------------------------------------------------------


def result_row(path, result):
    """The results-table row of one `~spec_o3.agent.VettingResult` (a dict, see `COLUMNS`)."""
    windows = ";".join(
        f"{window.lower.to_value(u.AA):.0f}-{window.upper.to_value(u.AA):.0f}"
        for window in result.windows
    )
    return {
        "file": str(path),
        "task": result.task,
        "verdict": result.verdict,
        "evidence": result.evidence,
        "n_steps": result.n_steps,
        "windows": windows,
        "error": result.error or "",
        "seconds": result.seconds,
    }


def error_row(path, task, message, seconds):
    """The row of a spectrum that could not be vetted: verdict ``"NO"`` and the reason.

    Examples
    --------
    >>> from spec_o3.batch import error_row
    >>> error_row("gone.fits", "cc", "cannot read: FileNotFoundError", 0.0)["verdict"]
    'NO'
    """
    return {
        "file": str(path),
        "task": get_task(task).id,
        "verdict": "NO",
        "evidence": "",
        "n_steps": 0,
        "windows": "",
        "error": message,
        "seconds": seconds,
    }


# -- the work sent to workers --------------------------------------------------------------------


class _Item(NamedTuple):
    """A catalogue entry as a worker gets it, with the folder to save its trajectory in."""

    index: int
    path: str
    redshift: float | None
    id: str | None
    folder: str | None


@dataclass(frozen=True)
class _Settings:
    """Everything a worker needs to vet a chunk; ``token`` names the run's policy in each worker."""

    token: str
    task: object
    backend: str | None
    backend_options: dict
    toolset: str | None
    max_turns: int
    render_images: bool
    batch_size: int
    overwrite_trajectories: bool


_INSPECTORS = {}  # token -> Inspector, one per run in each worker process
_INSPECTORS_LOCK = threading.Lock()


def _build_inspector(settings, policy=None):
    import spec_o3.agent as agent  # looked up at call time, so tests can replace get_backend

    if policy is None:
        try:
            policy = agent.get_backend(settings.backend, **settings.backend_options)
        except TypeError as error:  # an option the backend's constructor does not take
            raise ValueError(f"backend {settings.backend!r}: {error}") from None
    return agent.Inspector(
        policy,
        toolset=settings.toolset,
        max_turns=settings.max_turns,
        render_images=settings.render_images,
    )


def _worker_inspector(settings):
    with _INSPECTORS_LOCK:
        if settings.token not in _INSPECTORS:
            _INSPECTORS[settings.token] = _build_inspector(settings)
        return _INSPECTORS[settings.token]


def _release_inspector(token):
    """Close the policy a worker built for run ``token`` (model weights, connections)."""
    with _INSPECTORS_LOCK:
        inspector = _INSPECTORS.pop(token, None)
    if inspector is not None:
        inspector.policy.close()


def _vet_chunk(items, settings, inspector=None):
    """Vet a chunk of items in batches; return ``[(index, row), ...]`` in the items' order."""
    inspector = inspector or _worker_inspector(settings)
    rows = []
    for start in range(0, len(items), settings.batch_size):
        rows += _vet_batch(items[start : start + settings.batch_size], settings, inspector)
    return rows


def _vet_batch(items, settings, inspector):
    from spec_o3.io import read_for_inspection

    task, rows, read, jobs = settings.task, {}, [], []
    for item in items:
        began = time.perf_counter()
        try:
            spectrum = read_for_inspection(item.path)
        except Exception as error:  # readers fail in many ways; each failure is a row, not a crash
            message = f"cannot read: {type(error).__name__}: {error}"
            rows[item] = error_row(item.path, task, message, time.perf_counter() - began)
            continue
        read.append((item, time.perf_counter() - began))
        jobs.append((spectrum, task, item.redshift))
    outcomes = _inspect(inspector, jobs, [item.path for item, _ in read])
    for (item, read_seconds), outcome in zip(read, outcomes, strict=True):
        if isinstance(outcome, Exception):
            message = f"cannot vet: {type(outcome).__name__}: {outcome}"
            rows[item] = error_row(item.path, task, message, read_seconds)
            continue
        rows[item] = result_row(item.path, outcome)
        rows[item]["seconds"] += read_seconds
        if item.folder is not None:
            outcome.trajectory.save(item.folder, overwrite=settings.overwrite_trajectories)
    return [
        (item.index, rows[item] if item.id is None else {"id": item.id, **rows[item]})
        for item in items
    ]


def _inspect(inspector, jobs, sources):
    """Results of ``inspector.run_many``; if the batch fails, each spectrum alone (its exception
    in place of its result), so one pathological spectrum costs one row, not the batch."""
    from spec_o3.agent import BackendError

    try:
        return inspector.run_many(jobs, sources=sources)
    except BackendError:
        raise
    except Exception:  # noqa: BLE001 (isolated below, spectrum by spectrum)
        outcomes = []
        for job, source in zip(jobs, sources, strict=True):
            try:
                outcomes.append(inspector.run_many([job], sources=[source])[0])
            except BackendError:
                raise
            except Exception as error:  # a bug or odd data in one spectrum: a row with the error
                outcomes.append(error)
        return outcomes


# -- running chunks: in this process, in threads, in processes, on a Dask cluster ----------------


class _Inline:
    """Runs each chunk when it is submitted, in this thread."""

    limit = 1

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        pass

    def submit(self, function, *args):
        future = Future()
        try:
            future.set_result(function(*args))
        except Exception as error:  # handed over like an executor would, through the future
            future.set_exception(error)
        return future

    def wait(self, pending):
        return set(pending), set()


class _Executor:
    """A `concurrent.futures` executor holding at most ``limit`` chunks."""

    def __init__(self, executor, limit):
        self.executor, self.limit = executor, limit

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.executor.shutdown(cancel_futures=True)

    def submit(self, function, *args):
        return self.executor.submit(function, *args)

    def wait(self, pending):
        return wait_futures(pending, return_when=FIRST_COMPLETED)


class _Dask:
    """A Dask distributed cluster holding at most two chunks per worker thread."""

    def __init__(self, scheduler, token):
        from distributed import Client

        self.own = not isinstance(scheduler, Client)
        self.client = Client(scheduler) if self.own else scheduler
        self.token = token
        self.limit = 2 * max(1, sum(self.client.nthreads().values()))

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        try:
            self.client.run(_release_inspector, self.token)
        finally:
            if self.own:
                self.client.close()

    def submit(self, function, *args):
        return self.client.submit(function, *args, pure=False)

    def wait(self, pending):
        from distributed import wait

        done, not_done = wait(list(pending), return_when="FIRST_COMPLETED")
        return set(done), set(not_done)


def _pool(workers, scheduler, concurrency, token):
    if scheduler is not None:
        return _Dask(scheduler, token)
    if workers > 1:
        return _Executor(ProcessPoolExecutor(workers, mp_context=_worker_context()), 2 * workers)
    if concurrency > 1:
        executor = ThreadPoolExecutor(concurrency, thread_name_prefix="spec-o3-vet")
        return _Executor(executor, 2 * concurrency)
    return _Inline()


def _worker_context():
    """Start worker processes from a fork server that has imported spec-o3 once: as fast as fork
    (importing specutils takes seconds) and safe in a process with threads (spawn on Windows)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["spec_o3.batch", "spec_o3.agent", "spec_o3.io"])
    return context


def _run_chunks(pool, work, chunks):
    """Yield the rows of each chunk as it finishes, with at most ``pool.limit`` chunks in flight."""
    pending = set()
    try:
        while True:
            for chunk in itertools.islice(chunks, pool.limit - len(pending)):
                pending.add(pool.submit(work, chunk))
            if not pending:
                return
            done, pending = pool.wait(pending)
            failed = [future for future in done if future.exception() is not None]
            for future in done:  # finished chunks reach the journal before a failure stops the run
                if future not in failed:
                    yield future.result()
            if failed:
                failed[0].result()
    finally:
        for future in pending:
            future.cancel()


def _chunks(items, size):
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# -- the journal ---------------------------------------------------------------------------------


def _json_line(record):
    return json.dumps(record, ensure_ascii=False, allow_nan=False).encode() + b"\n"


def _fsync_folder(folder):
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class _Journal:
    """Rows finished so far: a JSON header line, then one JSON line per row, synced chunk by chunk.

    ``offsets[i]`` is where the row of catalogue entry ``i`` starts in the file (-1: no row yet).
    """

    def __init__(self, path, header, size):
        self.path, self.header = Path(path), header
        self.offsets = np.full(size, -1, dtype=np.int64)
        self.counts = {"YES": 0, "NO": 0, "errors": 0}
        self._descriptor = self._size = None

    @property
    def done(self):
        """Entries with a row."""
        return int(np.count_nonzero(self.offsets >= 0))

    @classmethod
    def create(cls, path, header, size):
        journal = cls(path, header, size)
        temporary = journal.path.with_name(journal.path.name + ".tmp")
        with open(temporary, "wb") as file:  # the header appears whole, or not at all
            file.write(_json_line(header))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, journal.path)
        _fsync_folder(journal.path.parent)
        journal._open()
        return journal

    @classmethod
    def recover(cls, path, header, size):
        """Open the journal of an interrupted run, dropping a last line torn by the interruption."""
        journal = cls(path, header, size)
        with open(journal.path, "rb") as file:
            first = file.readline()
            journal._check(first)
            end = len(first)
            for line in file:
                if not line.endswith(b"\n"):
                    break  # written in part when the run was killed: vetted again
                try:
                    record = json.loads(line)
                    journal._note(record["index"], record, end)
                except (ValueError, KeyError, TypeError, IndexError):
                    raise ValueError(
                        f"journal {journal.path} is corrupt at byte {end}; "
                        "pass overwrite=True to start the run again"
                    ) from None
                end += len(line)
        os.truncate(journal.path, end)
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

    def _note(self, index, row, offset):
        if not 0 <= index < self.offsets.size:
            raise IndexError(index)
        self.offsets[index] = offset
        key = "errors" if row["error"] else row["verdict"]
        self.counts[key] += 1

    def _open(self):
        self._descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        self._size = os.fstat(self._descriptor).st_size

    def append(self, rows):
        """Add the ``(index, row)`` pairs of a finished chunk: one write, then ``fsync``."""
        lines = [_json_line({"index": index, **row}) for index, row in rows]
        data = memoryview(b"".join(lines))
        while data:  # a regular file takes it in one write unless the disk fills up
            data = data[os.write(self._descriptor, data) :]
        os.fsync(self._descriptor)
        for (index, row), line in zip(rows, lines, strict=True):
            self._note(index, row, self._size)
            self._size += len(line)

    def rows(self, entries):
        """Yield ``(entry, row)`` for ``entries`` in their order; ``row`` is None if not vetted."""
        with open(self.path, "rb") as file:
            for entry in entries:
                offset = self.offsets[entry.index]
                if offset < 0:
                    yield entry, None
                    continue
                file.seek(offset)
                row = json.loads(file.readline())
                del row["index"]
                yield entry, row

    def close(self):
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None


# -- the results table ---------------------------------------------------------------------------


def _table_format(path):
    formats = {".ecsv": "ascii.ecsv", ".csv": "ascii.csv", ".parquet": "parquet"}
    if path.suffix.lower() not in formats:
        raise ValueError(
            f"cannot tell the table format of {path} from its extension: "
            "use .ecsv, .csv or .parquet"
        )
    return formats[path.suffix.lower()]


def _block_table(rows, columns):
    from astropy.table import Table

    table = Table(
        [[row[name] for row in rows] for name in columns],
        names=columns,
        dtype=[_NUMERIC.get(name, str) for name in columns],
    )
    table["seconds"].unit = u.s
    return table


def _blocks(rows):
    iterator = iter(rows)
    while block := list(itertools.islice(iterator, _BLOCK)):
        yield block


def _write_ascii(rows, path, columns, table_format):
    """Write block by block; astropy formats each block, whose repeated header is dropped."""

    def text(block):
        buffer = io.StringIO()
        _block_table(block, columns).write(buffer, format=table_format)
        return buffer.getvalue()

    header = text([])
    header_lines = header.count("\n")
    with open(path, "w", encoding="utf-8", newline="") as file:
        file.write(header)
        for block in _blocks(rows()):
            file.write(text(block).split("\n", header_lines)[-1])


def _write_parquet(rows, path, columns, table_format):
    """Write block by block, under the schema astropy gives a table of the same columns (units,
    string widths), so that `~astropy.table.Table.read` reads it back as astropy wrote it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    widths = {name: 1 for name in columns if name not in _NUMERIC}
    for row in rows():  # astropy records the widest string of each column
        for name in widths:
            widths[name] = max(widths[name], len(row[name]))
    prototype = {name: "x" * widths[name] if name in widths else 0 for name in columns}
    _block_table([prototype], columns).write(path, format=table_format, overwrite=True)
    schema = pq.read_schema(path)
    with pq.ParquetWriter(path, schema) as writer:
        for block in _blocks(rows()):
            writer.write_table(pa.Table.from_pylist(block, schema=schema))


def _write_table(rows, path, columns):
    """Write the rows of ``rows()`` (called once or twice) to ``path`` atomically."""
    table_format = _table_format(path)
    writer = _write_parquet if table_format == "parquet" else _write_ascii
    temporary = path.with_name(path.name + ".tmp")
    writer(rows, temporary, columns, table_format)
    with open(temporary, "rb+") as file:
        os.fsync(file.fileno())
    os.replace(temporary, path)
    _fsync_folder(path.parent)


@dataclass(frozen=True)
class BatchSummary:
    """What a catalogue run produced.

    Attributes
    ----------
    output : `pathlib.Path`
        The results table.
    total : int
        Rows in it, one per catalogue entry.
    yes, no : int
        Concluded verdicts (rows without an error).
    errors : int
        Rows with an ``error`` (unreadable files, inspections that could not conclude).
    vetted : int
        Spectra vetted by this run (the others came from the journal of an interrupted run).
    elapsed : `~astropy.units.Quantity`
        Wall-clock time of this run.
    first_errors : tuple of (str, str)
        ``(file, error)`` of the first few rows with an error, in catalogue order.
    """

    output: Path
    total: int
    yes: int
    no: int
    errors: int
    vetted: int
    elapsed: u.Quantity
    first_errors: tuple = ()

    @property
    def rate(self):
        """Spectra vetted per second by this run."""
        if self.vetted == 0:
            return 0 / u.s
        return (self.vetted / self.elapsed).to(1 / u.s)

    def __str__(self):
        return (
            f"{self.total} spectra: {self.yes} YES, {self.no} NO, {self.errors} with errors; "
            f"{self.vetted} vetted in {self.elapsed.to_value(u.s):.1f} s "
            f"({self.rate.to_value(1 / u.s):.1f} spectra/s); results in {self.output}"
        )


class _Tally:
    """Verdict counts of the rows written, and the first errors."""

    def __init__(self):
        self.yes = self.no = self.errors = 0
        self.first_errors = []

    def add(self, row):
        if row["error"]:
            self.errors += 1
            if len(self.first_errors) < _ERRORS_KEPT:
                self.first_errors.append((row["file"], row["error"]))
        elif row["verdict"] == "YES":
            self.yes += 1
        else:
            self.no += 1


def _write_output(catalog, journal, output, columns, task, missing):
    """Write the results table from the journal in catalogue order; rows not in the journal get
    the error ``missing``. Return the `_Tally` of what was written."""
    tally = _Tally()

    def rows():
        nonlocal tally
        tally = _Tally()  # writers may read the rows twice; count the last pass
        for entry, row in journal.rows(catalog):
            if row is None:
                row = error_row(entry.path, task, missing, 0.0)
                row = row if entry.id is None else {"id": entry.id, **row}
            tally.add(row)
            yield row

    _write_table(rows, output, columns)
    return tally


# -- the run -------------------------------------------------------------------------------------


def vet_catalog(
    catalog,
    task,
    output,
    *,
    backend="expert",
    backend_options=None,
    workers=1,
    scheduler=None,
    concurrency=1,
    chunk_size=32,
    batch_size=8,
    resume=False,
    overwrite=False,
    toolset=None,
    max_turns=8,
    render_images=True,
    save_trajectories=None,
    progress=True,
):
    """Vet every spectrum of a catalogue for one task; write one row per spectrum to ``output``.

    Parameters
    ----------
    catalog : `Catalog`, str, path-like or iterable of paths
        The spectra: a `Catalog`, a catalogue file (see `Catalog.read`) or a list of files.
    task : str or `~spec_o3.tasks.Task`
        Task id or code (``"carbon_star"``, ``"cc"``, ...).
    output : str or path-like
        The results table; its extension picks the format (``.ecsv``, ``.csv``, ``.parquet``).
        Rows are in catalogue order with the columns `COLUMNS` (``id`` first when the
        catalogue has ids). Its journal, ``output`` + ``".journal"``, lives next to it until the
        run completes.
    backend : str or `~spec_o3.agent.Policy`
        Backend name (each worker builds its policy with ``backend_options``), or a policy
        instance (for a run in this process only: ``workers=1``, no ``scheduler``).
    backend_options : dict, optional
        Constructor options of the backend (``model=``, ``base_url=``, ...).
    workers : int
        Worker processes on this machine; 1 vets in this process.
    scheduler : str or `distributed.Client`, optional
        A Dask distributed scheduler address (``"tcp://host:8786"``) or client: chunks are vetted
        by the cluster's workers, which need spec-o3 installed and the files at the same paths.
    concurrency : int
        Spectra vetted at once in this process, one per thread: with a backend that waits on a
        server (``openai``) this bounds the requests in flight.
    chunk_size : int
        Spectra per unit of work sent to a worker (and per journal write).
    batch_size : int
        Spectra a worker inspects together, so that the backend can batch its model calls (one
        ``generate`` per turn for ``transformers``); 1 when ``concurrency`` is above 1.
    resume : bool
        Finish an interrupted run: keep the rows in the journal, vet only the other spectra.
    overwrite : bool
        Start again: replace ``output``, an interrupted run's journal and saved trajectories.
    toolset, max_turns, render_images
        See `~spec_o3.agent.Inspector`.
    save_trajectories : str or path-like, optional
        Save each inspection under this folder, in a sub-folder named after the file.
    progress : bool
        Show a progress bar with rate and time left (on a terminal).

    Returns
    -------
    summary : `BatchSummary`

    Raises
    ------
    FileExistsError
        If ``output`` or an interrupted run's journal exists and neither ``resume`` nor
        ``overwrite`` is set, or if ``resume`` finds ``output`` complete.
    ValueError
        For bad settings, or a journal left by a run with another task, backend or catalogue.
    BackendError
        If the backend fails. ``output`` is written all the same (spectra not vetted carry the
        error) and the journal is kept: ``resume=True`` finishes the run once the backend works.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from spec_o3.batch import vet_catalog
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     summary = vet_catalog(["missing.fits"], "cc", Path(folder) / "out.csv", progress=False)
    >>> summary.total, summary.errors
    (1, 1)
    >>> summary.first_errors[0][1].split(": ")[:2]
    ['cannot read', 'FileNotFoundError']
    """
    from spec_o3.agent import BackendError, Policy

    task, output = get_task(task), Path(output)
    if not isinstance(catalog, Catalog):
        is_file = isinstance(catalog, (str, os.PathLike))
        catalog = Catalog.read(catalog) if is_file else Catalog(catalog)
    _check_settings(
        output, workers, scheduler, concurrency, chunk_size, batch_size, resume, overwrite
    )
    local = workers == 1 and scheduler is None
    if isinstance(backend, Policy) and not local:
        raise ValueError(
            "a policy instance can only vet in this process: give a backend name "
            "(and backend_options) to use workers or a scheduler"
        )
    size, fingerprint = _scan(catalog)
    columns = ("id", *COLUMNS) if catalog.has_ids else COLUMNS
    journal_path = output.with_name(output.name + ".journal")
    _check_existing(output, journal_path, catalog, save_trajectories, resume, overwrite)
    settings = _Settings(
        token=uuid.uuid4().hex,
        task=task,
        backend=None if isinstance(backend, Policy) else backend,
        backend_options=dict(backend_options or {}),
        toolset=toolset,
        max_turns=max_turns,
        render_images=render_images,
        batch_size=1 if concurrency > 1 else batch_size,
        overwrite_trajectories=overwrite or resume,
    )
    header = {
        "format": "spec-o3 vet journal 1",
        "task": task.id,
        "backend": backend.name if isinstance(backend, Policy) else backend,
        "catalog": fingerprint,
        "entries": size,
        "columns": list(columns),
    }
    started, vetted, failure = time.perf_counter(), 0, None
    with contextlib.ExitStack() as stack:
        inspector = None
        if local:  # one policy, built here (so that bad options fail now), shared by the threads
            inspector = _build_inspector(settings, backend if settings.backend is None else None)
            if inspector.policy is not backend:
                stack.callback(inspector.policy.close)
        pool = stack.enter_context(_pool(workers, scheduler, concurrency, settings.token))
        if resume and journal_path.exists():
            journal = _Journal.recover(journal_path, header, size)
        else:
            journal = _Journal.create(journal_path, header, size)
        stack.callback(journal.close)
        bar = stack.enter_context(_progress_bar(size, journal.done, task, progress))
        work = functools.partial(_vet_chunk, settings=settings, inspector=inspector)
        todo = (
            _Item(entry.index, entry.path, entry.redshift, entry.id, folder)
            for entry, folder in _trajectory_folders(catalog, save_trajectories)
            if journal.offsets[entry.index] < 0
        )
        try:
            for rows in _run_chunks(pool, work, _chunks(todo, chunk_size)):
                journal.append(rows)
                vetted += len(rows)
                bar.update(len(rows))
                bar.set_postfix(journal.counts, refresh=False)
        except BackendError as error:
            failure = error
    missing = f"backend failed: {failure}" if failure else "not vetted"
    tally = _write_output(catalog, journal, output, columns, task, missing)
    if failure is not None:
        raise BackendError(
            f"{failure}; {journal.done} of {size} spectra have a result in {output}, the others "
            "carry this error: fix the backend and pass resume=True to finish the run"
        ) from failure
    journal.path.unlink()
    return BatchSummary(
        output=output,
        total=size,
        yes=tally.yes,
        no=tally.no,
        errors=tally.errors,
        vetted=vetted,
        elapsed=(time.perf_counter() - started) * u.s,
        first_errors=tuple(tally.first_errors),
    )


def _progress_bar(total, done, task, progress):
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        initial=done,
        unit="spectrum",
        desc=f"vet {task.id}",
        disable=None if progress else True,  # None: only on a terminal
        dynamic_ncols=True,
    )


def _check_settings(
    output, workers, scheduler, concurrency, chunk_size, batch_size, resume, overwrite
):
    for name, value in (
        ("workers", workers),
        ("concurrency", concurrency),
        ("chunk_size", chunk_size),
        ("batch_size", batch_size),
    ):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a whole number of at least 1, got {value!r}")
    if resume and overwrite:
        raise ValueError(
            "resume=True keeps the finished rows, overwrite=True discards them: choose one"
        )
    if scheduler is not None and workers > 1:
        raise ValueError("workers applies to a run on this machine; a Dask cluster has its own")
    if concurrency > 1 and (workers > 1 or scheduler is not None):
        raise ValueError(
            "concurrency applies to a run in this process; with worker processes or a Dask "
            "cluster, each worker thread vets one chunk at a time"
        )
    _table_format(output)
    if not output.parent.is_dir():
        raise FileNotFoundError(f"the folder {output.parent} of the output does not exist")


def _check_existing(output, journal, catalog, save_trajectories, resume, overwrite):
    """Refuse to replace earlier results silently."""
    if overwrite:
        journal.unlink(missing_ok=True)
        return
    if resume:
        if output.exists() and not journal.exists():
            raise FileExistsError(
                f"{output} is complete (no interrupted run's journal {journal.name} next to it); "
                "pass overwrite=True to vet again"
            )
        return
    if output.exists():
        raise FileExistsError(f"{output} exists; pass overwrite=True to replace it")
    if journal.exists():
        raise FileExistsError(
            f"an interrupted run left its journal {journal}; pass resume=True to finish it "
            "or overwrite=True to start again"
        )
    if save_trajectories is not None:
        for _, folder in _trajectory_folders(catalog, save_trajectories):
            if os.path.exists(os.path.join(folder, "trajectory.json")):
                raise FileExistsError(
                    f"trajectories are already saved in {save_trajectories}; "
                    "pass overwrite=True to replace them"
                )
