"""Survey files of the plain layout read in one pass, bypassing `astropy.io.fits.open`.

A LAMOST or SDSS file given by its path is read whole, its headers' layout cards taken from the
raw text, its primary header parsed by `astropy.io.fits.Header` and its data viewed with
`numpy.frombuffer`; a file of any other layout, a file object or an HDUList goes through
`astropy.io.fits.open`, as before. Either way the loaders get the same header, values and data.
"""

import contextlib
import gzip
import os
import re

import numpy as np
from astropy.io import fits

from ._fits import (
    _TFORM_DTYPES,
    _block_cards,
    _RawCards,
    _row_layout,
    hdu_data,
    open_fits,
    source_name,
)

__all__ = []  # private helpers of spec_o3.io

#: Big-endian dtypes of the floating-point BITPIX values, whose data astropy returns unscaled.
_FLOAT_BITPIX = {-32: ">f4", -64: ">f8"}
#: Primary-header keywords that make astropy scale or reshape the data: such files go to astropy.
_SCALING_KEYWORDS = ("BSCALE", "BZERO", "BLANK", "GROUPS", "PCOUNT", "GCOUNT")
#: Raw value texts that astropy's card parser reads as this module does: a plain integer, a real
#: with an upper-case exponent, a string of printable characters (quotes doubled), then a comment.
_PLAIN_INTEGER = re.compile(r" *([+-]?\d+) *(?:/.*)?$")
_PLAIN_REAL = re.compile(r" *([+-]?(?:\d+\.?\d*|\.\d+)(?:E[+-]?\d+)?) *(?:/.*)?$")
_PLAIN_STRING = re.compile(r" *'((?:[ -&(-~]|'')*)' *(?:/.*)?$")


@contextlib.contextmanager
def primary_image(source):
    """Yield ``(origin, values, data)`` of the primary HDU of a path, file object or HDUList.

    ``origin`` is what `source_name` and `source_path` name the spectrum by: the path, or the
    `~astropy.io.fits.HDUList` opened; ``values`` are the header's `HeaderValues`. A path is read
    with `read_primary_image` when its layout allows, anything else with `open_fits` and
    `hdu_data`, which say what is wrong with a bad file.
    """
    image = read_primary_image(source) if isinstance(source, (str, os.PathLike)) else None
    if image is not None:
        yield (source, *image)
        return
    with open_fits(source) as hdulist:
        yield (hdulist, HeaderValues(hdulist[0].header),
               hdu_data(hdulist[0], source_name(hdulist)))


@contextlib.contextmanager
def primary_and_table(source, required, optional=()):
    """Yield ``(origin, values, table, names)`` of a file whose spectrum is the table of HDU 1.

    As `primary_image`, with the binary table of HDU 1 (``table[NAME]`` gives a column by its
    upper-case name, at least for the ``required`` and ``optional`` ones it has) and the
    upper-case names of its columns. A path is read with `read_first_table` when its layout
    allows.
    """
    read = (read_first_table(source, required, optional)
            if isinstance(source, (str, os.PathLike)) else None)
    if read is not None:
        yield (source, *read)
        return
    with open_fits(source) as hdulist:
        values = HeaderValues(hdulist[0].header)
        table = hdu_data(hdulist[1], source_name(hdulist))
        yield hdulist, values, table, {name.upper() for name in table.columns.names}


def read_primary_image(path):
    """The primary header's `HeaderValues` and image of the FITS file at ``path``, read in one
    pass; `None` unless the file has the plain layout below.

    `astropy.io.fits.open` builds an HDU list, HDU objects and a memory map before it reads the
    data (~0.3 ms a LAMOST file, as much as `astropy.io.fits.getdata` reads). Here the file
    (gzip-compressed or not) is read whole, its header parsed by `astropy.io.fits.Header` (the
    same header, cards and all, that `~astropy.io.fits.open` gives) and its data viewed with
    `numpy.frombuffer`. Taken only: an ASCII header ending in a standard END card, a
    floating-point BITPIX without scaling or blank keywords (data astropy returns as stored),
    and a data unit that is all there; HDUs after it only when ``EXTEND = T``, which astropy
    would otherwise set in the header. Any other file is left to astropy.
    """
    primary = _plain_primary(path)
    if primary is None:
        return None
    data, cards, header_size = primary
    dtype = _FLOAT_BITPIX.get(cards.get("BITPIX"))
    if dtype is None:
        return None
    naxis = cards.get("NAXIS")
    shape = tuple(cards.get(f"NAXIS{axis}") for axis in range(naxis, 0, -1)) \
        if isinstance(naxis, int) else ()
    if not shape or not all(isinstance(size, int) and size > 0 for size in shape):
        return None
    count = int(np.prod(shape))
    data_end = header_size + count * np.dtype(dtype).itemsize
    more_hdus = len(data) > data_end + -data_end % 2880  # beyond the data's padding block
    if len(data) < data_end or (more_hdus and cards.get("EXTEND") != "T"):
        return None
    image = np.frombuffer(data, dtype, count, header_size).reshape(shape)
    return _header_values(data, cards, header_size), image


def read_first_table(path, required, optional=()):
    """The primary header's `HeaderValues`, the binary table of HDU 1 and the upper-case names
    of its columns, for the FITS file at ``path`` read in one pass; `None` unless the layout is
    plain.

    As `read_primary_image`, for files whose primary HDU has no data and whose spectrum is the
    table in HDU 1 (`astropy.io.fits` builds a column object per column and converts the table,
    ~2 ms a LAMOST DR8 file). The table is a `numpy` record array of the ``required`` and the
    ``optional`` columns present (upper-case names), viewed at their byte offsets in each row:
    the values and shapes astropy gives. Taken only: plain headers as for `read_primary_image`
    (``EXTEND = T`` in the primary), a table without heap whose column names differ in upper
    case and has the ``required`` columns, these columns numeric without scaling or dimensions
    (TSCAL, TZERO, TDIM), and all rows there.
    """
    primary = _plain_primary(path)
    if primary is None:
        return None
    data, cards, header_size = primary
    if cards.get("NAXIS") != 0 or cards.get("EXTEND") != "T":
        return None
    extension = _plain_header(data, header_size, b"XTENSION=")
    if extension is None:
        return None
    table_cards, table_start = extension
    layout = _table_layout(table_cards, {*required, *optional})
    if layout is None or not set(required) <= set(layout[1].names):
        return None
    names, dtype, rows = layout
    if len(data) < table_start + dtype.itemsize * rows:
        return None
    table = np.frombuffer(data, dtype, rows, table_start)
    return _header_values(data, cards, header_size), table, names


def _table_layout(cards, wanted):
    """Upper-case column names, record dtype of the ``wanted`` columns and row count of a plain
    binary-table header (raw cards); `None` for any other."""
    fixed = {"XTENSION": "BINTABLE", "BITPIX": 8, "NAXIS": 2, "PCOUNT": 0, "GCOUNT": 1}
    if any(cards.get(keyword) != value for keyword, value in fixed.items()):
        return None
    try:
        fields, row_size = _row_layout(cards, wanted)
    except (AttributeError, KeyError, TypeError):  # a TFORM or TFIELDS this reading skips
        return None
    names = [str(cards.get(f"TTYPE{number}", "")).upper()
             for number in range(1, cards.get("TFIELDS", 0) + 1)]
    rows = cards.get("NAXIS2")
    plain = all(code in _TFORM_DTYPES and repeat > 0
                and not any(f"{key}{number}" in cards for key in ("TSCAL", "TZERO", "TDIM"))
                for number, _, code, repeat in fields.values())
    if (not plain or len(set(names)) != len(names) or not isinstance(row_size, int)
            or not isinstance(rows, int) or rows < 0):
        return None
    try:
        dtype = np.dtype({
            "names": list(fields),
            "formats": [(_TFORM_DTYPES[code], (repeat,)) if repeat > 1 else _TFORM_DTYPES[code]
                        for _, _, code, repeat in fields.values()],
            "offsets": [offset for _, offset, _, _ in fields.values()],
            "itemsize": row_size,
        })
    except ValueError:  # columns that do not fit in NAXIS1 bytes: astropy says what is wrong
        return None
    return set(names), dtype, rows


def _plain_primary(path):
    """The bytes of the FITS file at ``path``, its primary header's raw cards and the offset where
    that header ends; `None` unless the header is plain (`_plain_header`), says ``SIMPLE = T``
    and has no keyword that makes astropy scale or reshape the data."""
    data = _file_bytes(path)
    primary = _plain_header(data, 0, b"SIMPLE  =")
    if primary is None:
        return None
    cards, header_size = primary
    if cards.get("SIMPLE") != "T" or any(keyword in cards for keyword in _SCALING_KEYWORDS):
        return None
    return data, cards, header_size


def _file_bytes(path):
    """The bytes of the file at ``path``, decompressed if gzipped; `None` when unreadable."""
    try:
        with open(path, "rb", buffering=0) as file:  # read whole: no buffer to copy through
            data = file.read()
        return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    except (OSError, EOFError):  # unreadable, or a corrupt archive: astropy says which
        return None


def _plain_header(data, start, first):
    """Raw cards of the header at byte ``start`` of ``data`` and the offset where it ends; `None`
    unless it starts with ``first`` and is plain ASCII closed by a standard END card and blanks.
    """
    if data is None or not data.startswith(first, start):
        return None
    cards = _RawCards()  # the layout from raw cards: astropy's Header parses a card in ~15 µs
    for end in range(start + 2880, len(data) + 1, 2880):
        end_card = _block_cards(data[end - 2880:end], cards)
        if end_card is not None:
            break
    else:
        return None
    header = data[start:end]
    if header[len(header) - 2880 + end_card:].strip(b" ") != b"END" or not header.isascii():
        return None  # an END card with more on it, non-blank padding or non-ASCII text
    return cards, end


def _header_values(data, cards, size):
    """`HeaderValues` of the primary header, the first ``size`` bytes of ``data``."""
    return HeaderValues(fits.Header.fromstring(data[:size].decode("ascii")), cards)


class HeaderValues:
    """The values of a `~astropy.io.fits.Header` (``.header``), each as the Header gives it:
    ``values[keyword]``, ``values.get(keyword)`` and ``keyword in values``.

    astropy parses a card when its value is first asked for, at ~15 µs a card (a LAMOST file's
    meta and row names ask for ten). A value whose raw card text (``cards``, a `_RawCards` of the
    same header) is a plain integer, real or string, which astropy's parser reads exactly as
    `_plain_value` does, is read from that text; the Header answers for any other (a logical,
    complex, continued or record-valued string, a lower-case exponent, a card given twice...).
    """

    def __init__(self, header, cards=None):
        self.header = header
        self.cards = cards if cards is not None else _RawCards()

    def __getitem__(self, keyword):
        value = _plain_value(self.cards.texts.get(keyword))
        return self.header[keyword] if value is None else value

    def __contains__(self, keyword):
        # A keyword of a valued raw card is in the Header too; asking the Header costs ~1 µs.
        return keyword in self.cards.texts or keyword in self.header

    def get(self, keyword, default=None):
        return self[keyword] if keyword in self.header else default


def _plain_value(text):
    """The value of a raw card text that is a plain number or string, as astropy gives it; `None`
    for other or no text."""
    if text is None:
        return None
    if number := _PLAIN_INTEGER.match(text):
        return int(number.group(1))
    if number := _PLAIN_REAL.match(text):
        return float(number.group(1))
    string = _PLAIN_STRING.match(text)
    if string is None:
        return None
    value = string.group(1).replace("''", "'")
    if value.endswith("&") or ":" in value:  # continued by CONTINUE cards, or record-valued
        return None
    return value.rstrip() if fits.conf.strip_header_whitespace else value
