"""Reading the simulator's tables: ECSV files of the package data (``spec_o3/data``), each once."""

from functools import cache
from importlib.resources import files

from astropy.table import Table

__all__ = ["read_table"]


@cache
def read_table(filename):
    """A table of the package data (``spec_o3/data/<filename>``, ECSV), read once; do not modify it.

    Examples
    --------
    >>> "reference" in read_table("quasar_lines.ecsv").colnames
    True
    """
    text = files("spec_o3.data").joinpath(filename).read_text(encoding="utf-8")
    return Table.read(text, format="ascii.ecsv")
