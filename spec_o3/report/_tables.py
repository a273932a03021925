"""Results and decisions tables on disk: the format follows the file name's extension."""

from pathlib import Path

import numpy as np
from astropy.table import Table

__all__ = ["read_table", "write_table", "text_column"]

#: astropy format by file extension; anything else is left to astropy's own detection.
_FORMATS = {".ecsv": "ascii.ecsv", ".csv": "ascii.csv", ".parquet": "parquet"}


def _format(path):
    return _FORMATS.get(Path(path).suffix.lower())


def read_table(path):
    """Read a table (ECSV, CSV, Parquet, or anything astropy recognises); OSError if it cannot."""
    path = Path(path)
    if not path.is_file():
        raise OSError(f"{path}: no such file")
    try:
        return Table.read(path, format=_format(path))
    except Exception as error:  # astropy's readers raise many kinds; the caller wants one
        raise OSError(
            f"cannot read a table from {path}: {type(error).__name__}: {error}"
        ) from error


def write_table(table, path, *, overwrite=False):
    """Write ``table`` in the format of ``path``'s extension; FileExistsError unless overwrite."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass --overwrite to replace it")
    table.write(path, format=_format(path), overwrite=overwrite)


def text_column(table, name):
    """Column ``name`` as a list of str: masked or missing values (and a missing column) are ""."""
    if name not in table.colnames:
        return [""] * len(table)
    column = table[name]
    mask = np.ma.getmaskarray(column)
    return ["" if masked else str(value) for value, masked in zip(column, mask, strict=True)]
