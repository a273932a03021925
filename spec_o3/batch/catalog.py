"""Catalogues of spectra to vet: a list of files, or a text list or table (CSV, ECSV, FITS) read
as a stream, so that a million entries never sit in memory."""

import csv
import hashlib
import itertools
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = [
    "ID_COLUMNS",
    "PATH_COLUMNS",
    "REDSHIFT_COLUMNS",
    "TARGETID_COLUMNS",
    "Catalog",
    "CatalogEntry",
    "scan",
]

#: Catalogue column names found without being named (case-insensitively), in order of preference.
PATH_COLUMNS = ("path", "file", "filename", "filepath")
REDSHIFT_COLUMNS = ("redshift", "z")
ID_COLUMNS = ("id", "obsid", "specobjid", "objid", "name")
TARGETID_COLUMNS = ("targetid",)

_TEXT_LIST_SUFFIXES = ("", ".txt", ".lst", ".list")
_BLOCK = 2048  # rows of a FITS catalogue read at a time


class CatalogEntry(NamedTuple):
    """One file to vet: its position in the catalogue, file, redshift, id and the DESI TARGETID
    of the one target to vet in it (`None`: every spectrum of the file)."""

    index: int
    path: str
    redshift: float | None = None
    id: str | None = None
    targetid: int | None = None


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
            lambda: ((path, None, None, None) for path in paths), "the list of files", None, False
        )

    def _setup(self, records, name, base, has_ids):
        self._records, self.name, self._base, self.has_ids = records, name, base, has_ids

    @classmethod
    def read(
        cls, source, *, path_column=None, redshift_column=None, id_column=None, targetid_column=None
    ):
        """Stream a catalogue file: a text list of paths, or a CSV, ECSV or FITS table.

        A text list (``.txt``, ``.lst``, ``.list`` or no extension) holds one path per line; blank
        lines and lines starting with ``#`` are skipped. A table (``.csv``, ``.ecsv``, ``.fits``)
        has a path column and optionally a redshift column (empty or NaN: the file's own redshift),
        an id column and a ``targetid`` column (a DESI file's one target to vet; empty: all of its
        targets). Relative paths are taken relative to the catalogue's folder.

        Parameters
        ----------
        source : str or path-like
            The catalogue file.
        path_column, redshift_column, id_column, targetid_column : str, optional
            Column names; by default the first of ``PATH_COLUMNS``, ``REDSHIFT_COLUMNS``,
            ``ID_COLUMNS`` and ``TARGETID_COLUMNS`` the table has (case-insensitively).

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
        CatalogEntry(index=0, path='/data/a.fits', redshift=0.001, id='101', targetid=None)
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
            _column(names, targetid_column, TARGETID_COLUMNS, source),
        )

        def records():
            with _closing(rows(source)) as table_rows:
                next(table_rows)  # the column names
                for row in table_rows:
                    yield tuple(None if i is None else row[i] for i in positions)

        catalog._setup(records, str(source), source.parent, positions[2] is not None)
        return catalog

    def __iter__(self):
        for index, (path, redshift, identifier, targetid) in enumerate(self._records()):
            yield CatalogEntry(
                index,
                self._path(path, index),
                self._redshift(redshift, index),
                None if not self.has_ids else _text(identifier),
                self._targetid(targetid, index),
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

    def _targetid(self, value, index):
        text = _text(value)
        if not text or text.lower() in ("nan", "--"):
            return None
        try:
            return int(text)
        except ValueError:
            raise ValueError(
                f"{self.name}, entry {index + 1}: targetid {value!r} is not a whole number"
            ) from None

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
    with open(source, encoding="utf-8-sig") as file:
        for line in file:
            line = line.strip()
            if line and not line.startswith("#"):
                yield line, None, None, None


def _csv_rows(source):
    """The rows of a CSV file as lists of strings, the column names first."""
    with open(source, newline="", encoding="utf-8-sig") as file:  # spreadsheets add a BOM
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


def scan(catalog):
    """Number of entries and a fingerprint of ``catalog`` (so that a resume vets the same list)."""
    digest, count = hashlib.sha256(), 0
    for entry in catalog:
        digest.update(f"{entry.path}\0{entry.redshift}\0{entry.id}\0{entry.targetid}\n".encode())
        count += 1
    if not count:
        raise ValueError(f"{catalog.name} lists no spectra")
    return count, digest.hexdigest()
