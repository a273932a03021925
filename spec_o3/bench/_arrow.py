"""Parquet columns to and from numpy, with pyarrow only (optional: the ``spec-o3[parquet]`` extra).

Astropy's own Parquet reader needs pandas and cannot hold arrays of varying length per row;
benchmark rows carry whole spectra, so list-valued columns are converted here directly.
"""

import numpy as np

__all__ = ["read_parquet", "write_parquet"]


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.compute
        import pyarrow.parquet
    except ImportError as error:
        raise ImportError(
            "reading or writing Parquet needs pyarrow; install it with: "
            "pip install 'spec-o3[parquet]'"
        ) from error
    return pyarrow


def _column_to_numpy(pa, column):
    """A scalar column as a numpy array (masked where null); a list column as a list of arrays."""
    column = column.combine_chunks()
    if (
        pa.types.is_list(column.type)
        or pa.types.is_large_list(column.type)
        or pa.types.is_fixed_size_list(column.type)
    ):
        if column.null_count:
            raise ValueError("list-valued Parquet columns must not hold null rows")
        values = column.flatten().to_numpy(zero_copy_only=False)
        lengths = pa.compute.list_value_length(column).to_numpy(zero_copy_only=False)
        return np.split(values, np.cumsum(lengths)[:-1])
    values = column.to_numpy(zero_copy_only=False)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        values = np.array(["" if value is None else value for value in values], dtype=str)
    if column.null_count:
        mask = column.is_null().to_numpy(zero_copy_only=False)
        return np.ma.MaskedArray(values, mask=mask)
    return values


def read_parquet(path):
    """Read every column of a Parquet file.

    Returns
    -------
    columns : dict
        Column name -> numpy array (scalar columns, masked where null) or list of 1-D arrays
        (list-valued columns).
    units : dict
        Column name -> unit string, from the ``unit`` field metadata where present.
    """
    pa = _pyarrow()
    table = pa.parquet.read_table(path)
    columns = {name: _column_to_numpy(pa, table.column(name)) for name in table.column_names}
    units = {
        field.name: field.metadata[b"unit"].decode()
        for field in table.schema
        if field.metadata and b"unit" in field.metadata
    }
    return columns, units


def write_parquet(path, columns, units=None):
    """Write columns (numpy arrays, or lists of 1-D arrays when list-valued) to a Parquet file.

    ``units`` maps column names to unit strings, stored as the fields' ``unit`` metadata.
    """
    pa = _pyarrow()
    units = units or {}
    arrays, fields = [], []
    for name, values in columns.items():
        if isinstance(values, list):
            lengths = np.array([len(row) for row in values], dtype=np.int64)
            offsets = pa.array(np.concatenate([[0], np.cumsum(lengths)]))
            flat = np.concatenate(values) if values else np.array([], dtype=float)
            array = pa.LargeListArray.from_arrays(offsets, pa.array(flat))
        else:
            mask = np.ma.getmaskarray(values) if np.ma.isMaskedArray(values) else None
            array = pa.array(np.asarray(np.ma.getdata(values)), mask=mask)
        metadata = {"unit": str(units[name])} if name in units else None
        arrays.append(array)
        fields.append(pa.field(name, array.type, metadata=metadata))
    pa.parquet.write_table(pa.Table.from_arrays(arrays, schema=pa.schema(fields)), path)
