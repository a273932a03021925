"""Shared machinery of the survey readers: opening FITS with clear errors, headers, validation."""

import collections.abc
import contextlib
import functools
import os
import re

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.nddata import InverseVariance
from astropy.utils.data import get_readable_fileobj
from astropy.utils.exceptions import AstropyUserWarning
from specutils import Spectrum
from specutils.io.parsing_utils import read_fileobj_or_hdulist
from specutils.utils.wcs_utils import gwcs_from_array

__all__ = []  # private helpers of spec_o3.io

#: The parameters every survey loader takes, inserted in their docstrings with
#: `~astropy.utils.decorators.format_doc`.
LOADER_PARAMETERS = """file_obj : str, file-like or `~astropy.io.fits.HDUList`
        The file, plain or gzip-compressed.
    mask_zero_ivar : bool, optional
        Mask every pixel with zero inverse variance (the default). With ``False``, only those whose
        flux is zero too are masked; see :ref:`zero-ivar`."""

#: What astropy raises on bytes that are not (or no longer) a FITS file: truncated data reads as a
#: too-small buffer (TypeError) after a truncation warning, which test runs turn into an error.
_CORRUPT_FITS_ERRORS = (OSError, EOFError, ValueError, TypeError, AstropyUserWarning)

#: Byte sizes of binary-table TFORM codes (FITS standard 4.0, table 18); X counts bits.
_TFORM_BYTES = {"L": 1, "B": 1, "I": 2, "J": 4, "K": 8, "A": 1, "E": 4, "D": 8, "C": 8, "M": 16,
                "P": 8, "Q": 16}
_TFORM_DTYPES = {"B": "u1", "I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4", "D": ">f8"}
_TFORM = re.compile(r"\s*(\d*)([LXBIJKAEDCMPQ])")
#: Keywords of commentary cards, which have no value however they are written.
_COMMENTARY = frozenset({"", "COMMENT", "HISTORY"})
#: Characters that may follow "END" in a longer keyword; any other makes the card the END card.
_KEYWORD_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
_QUOTED = re.compile(r"'((?:[^']|'')*)'")
#: (size, first, last wavelength) -> (grid, its lookup-table WCS), for `grid_wcs`.
_GRID_WCS = {}
_GRID_WCS_SIZE = 64


def source_path(source):
    """The file behind a path, file object or `~astropy.io.fits.HDUList`; `None` when in memory."""
    if isinstance(source, fits.HDUList):
        return source.filename()
    if isinstance(source, os.PathLike):  # a pathlib.Path's ``name`` is only its last part
        return os.fspath(source)
    name = getattr(source, "name", source)
    return str(name) if isinstance(name, (str, os.PathLike)) else None


def source_name(source):
    """How error messages name ``source``."""
    return source_path(source) or f"<{type(source).__name__}>"


def identifier_header(args, *, whole=False):
    """The primary header a registry identifier decides from, given its ``(path, fileobj, *rest)``.

    An `~astropy.io.fits.HDUList` passed to ``Spectrum.read`` gives its own parsed header.
    Otherwise only the file's first 2880-byte header block is read (every block of the primary
    header when ``whole``), as raw cards, from the file object astropy's registry opened
    (decompressed where gzipped) or else from the path, and the file position is restored:
    `astropy.io.fits.open` would parse the whole header first (~0.5 ms). Bytes that do not start a
    FITS file give an empty mapping, which no identifier accepts.
    """
    return _identifier_cards(args, hdu=0, whole=whole)


def next_header(args):
    """The cards of HDU 1's header (all of it), for a file whose primary HDU has no data.

    For identifiers that must see the table in HDU 1 (read as raw cards, or taken from an
    `~astropy.io.fits.HDUList` argument); an empty mapping when there is no such header.
    """
    return _identifier_cards(args, hdu=1, whole=True)


def _identifier_cards(args, *, hdu, whole):
    hdulist = next((arg for arg in args if isinstance(arg, fits.HDUList)), None)
    if hdulist is not None:
        try:
            return hdulist[hdu].header  # len() would read every HDU's header of a lazy HDUList
        except IndexError:
            return {}
    fileobj = next((arg for arg in args if hasattr(arg, "read") and hasattr(arg, "seek")), None)
    with contextlib.ExitStack() as stack:
        if fileobj is None:
            if not (args and isinstance(args[0], (str, os.PathLike))):
                return {}
            fileobj = stack.enter_context(get_readable_fileobj(os.fspath(args[0]),
                                                               encoding="binary"))
        position = fileobj.tell()
        try:
            if fileobj.read(9) != b"SIMPLE  =":
                return {}
            fileobj.seek(position)
            if hdu == 0 and not whole:
                cards = _RawCards()
                block = fileobj.read(2880)
                if len(block) == 2880:
                    _block_cards(block, cards)
                return cards
            for _ in range(hdu):  # headers before HDU ``hdu``, which hold no data here
                _raw_header_cards(fileobj)
            return _raw_header_cards(fileobj)
        finally:
            fileobj.seek(position)


@contextlib.contextmanager
def open_fits(source):
    """Open a path, file object or HDUList as FITS; other bytes raise `OSError` naming the file."""
    with contextlib.ExitStack() as stack:
        if isinstance(source, (str, os.PathLike)):
            # Opened here, so that it is closed even when astropy raises half-way through
            # `fits.open` (a truncation warning raised as an error leaks the file otherwise).
            source = stack.enter_context(open(source, "rb"))
        try:
            hdulist = stack.enter_context(read_fileobj_or_hdulist(source))
        except _CORRUPT_FITS_ERRORS as exc:
            raise OSError(f"{source_name(source)}: not a readable FITS file ({exc})") from exc
        yield hdulist


def hdu_data(hdu, source):
    """The data of ``hdu``; a truncated or corrupt data unit raises `OSError` naming the file."""
    try:
        return hdu.data
    except _CORRUPT_FITS_ERRORS as exc:
        raise OSError(f"{source_name(source)}: truncated or corrupt FITS data in HDU {hdu.name!r} "
                      f"({exc})") from exc


def header_text(header, key):
    """A header string without FITS padding, or `None` when absent or blank."""
    value = header.get(key)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def header_redshift(value):
    """A pipeline redshift as a float; `None` when missing, blank, not a number or a failure
    sentinel (z <= -1, such as LAMOST's -9999)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if np.isfinite(value) and value > -1 else None


@functools.lru_cache(maxsize=64)
def parse_flux_unit(bunit):
    """Parse a survey BUNIT such as SDSS's '1E-17 erg/cm^2/s/Ang'.

    Repairs the SDSS spellings ('Ang', the spSpec '/cm/s/Ang') and divides slash by slash, because
    astropy warns about chained slashes.
    """
    text = re.sub(r"Ang(?!strom)", "Angstrom", bunit.replace("/cm/s/Ang", "/cm^2/s/Ang"))
    numerator, *denominators = text.split("/")
    unit = u.Unit(numerator)
    for denominator in denominators:
        unit /= u.Unit(denominator)
    return unit


def flux_unit(header, default, source):
    """The flux unit from BUNIT, or ``default`` when the header has none."""
    bunit = header_text(header, "BUNIT")
    if bunit is None:
        return default
    try:
        return parse_flux_unit(bunit)
    except ValueError as exc:
        raise ValueError(f"{source_name(source)}: cannot parse BUNIT {bunit!r} ({exc})") from exc


def log_linear_grid(header, npix, name):
    """Wavelengths in Å from the header's log10-linear solution ``10**(COEFF0 + COEFF1 * i)``."""
    start, step = header.get("COEFF0"), header.get("COEFF1")
    if start is None or step is None:
        raise ValueError(f"{name}: no wavelength row or column, and the header has no "
                         "COEFF0/COEFF1 log-linear wavelength solution")
    return 10.0 ** (start + step * np.arange(npix))


def table_columns(header):
    """Upper-case column names declared by a binary-table header (no data read)."""
    return {str(header.get(f"TTYPE{number}", "")).strip().upper()
            for number in range(1, header.get("TFIELDS", 0) + 1)}


def read_table_row(source, index, names):
    """Selected fields of the first row of the binary table in HDU ``index`` of an
    `~astropy.io.fits.HDUList` or of the file at a path.

    Fields absent from the table (or a missing HDU) are left out. The HDU's header and row are
    read as raw bytes: astropy parses ~0.1 ms per header value and builds every column, which
    costs 50–90 ms on the 126- to 232-column summary table of SDSS spec files. In a file given
    by its path, the HDUs before are skipped by the data sizes their raw headers give.
    """
    if isinstance(source, fits.HDUList):
        filename = source.filename()
        if filename is None:  # in-memory HDUList: nothing to seek in, so pay for astropy's columns
            try:
                table = source[index].data
            except IndexError:
                return {}
            return {name: table[name][0] for name in names if name in table.columns.names}
        previous = source[index - 1].fileinfo()
        start = previous["datLoc"] + previous["datSpan"]
    else:
        filename, start = os.fspath(source), None
    with get_readable_fileobj(filename, encoding="binary") as fileobj:
        if start is None:
            for _ in range(index):
                _skip_hdu(fileobj)
        else:
            fileobj.seek(start)
        cards = _raw_header_cards(fileobj)
        if cards.get("XTENSION") != "BINTABLE":
            return {}
        fields, row_size = _row_layout(cards, names)
        row = fileobj.read(row_size)
    if len(row) < row_size:
        raise OSError(f"{filename}: truncated FITS data in HDU {index}")
    return {name: _decode_field(cards, row, *layout) for name, layout in fields.items()}


def _skip_hdu(fileobj):
    """Move past the HDU at the file position, by the data size its raw header gives (FITS
    standard 4.0, section 4.4.1)."""
    cards = _raw_header_cards(fileobj)
    axes = [cards.get(f"NAXIS{axis}", 0) for axis in range(1, cards.get("NAXIS", 0) + 1)]
    size = (abs(cards.get("BITPIX", 8)) // 8 * cards.get("GCOUNT", 1)
            * (cards.get("PCOUNT", 0) + int(np.prod(axes)))) if axes else 0
    fileobj.seek(size + -size % 2880, os.SEEK_CUR)


def _raw_header_cards(fileobj):
    """Keyword -> value of the header starting at the file position; empty at end of file."""
    cards = _RawCards()
    while len(block := fileobj.read(2880)) == 2880:
        if _block_cards(block, cards) is not None:
            return cards
    return {}


class _RawCards(collections.abc.Mapping):
    """Keyword -> value of raw header cards; a value is parsed only when looked up (an
    identifier looks at 2 or 3 of the 36 cards of a block)."""

    def __init__(self):
        self.texts = {}  # upper-case keyword -> value text of its first card, as astropy finds

    def __getitem__(self, keyword):
        return _card_value(self.texts[keyword])

    def __contains__(self, keyword):
        return keyword in self.texts

    def __iter__(self):
        return iter(self.texts)

    def __len__(self):
        return len(self.texts)


def _block_cards(block, cards):
    """Add the valued cards of one 2880-byte header block to ``cards`` (a `_RawCards`).

    Returns the offset of the END card in the block, `None` when there is none. As for
    astropy, a card is the END card when it starts with END followed by anything that cannot
    continue a keyword.
    """
    text = block.decode("ascii", "replace")
    for start in range(0, 2880, 80):
        if text.startswith("END", start) and text[start + 3] not in _KEYWORD_CHARACTERS:
            return start
        if text[start + 8:start + 10] == "= ":
            keyword = text[start:start + 8].rstrip().upper()
            if keyword not in _COMMENTARY:  # astropy keeps "= ..." as the text of such cards
                cards.texts.setdefault(keyword, text[start + 10:start + 80])
    return None


def _card_value(text):
    text = text.strip()
    quoted = _QUOTED.match(text)
    if quoted is not None:
        return quoted.group(1).replace("''", "'").rstrip()
    value = text.split("/", 1)[0].strip()
    for number in (int, float):
        with contextlib.suppress(ValueError):
            return number(value)
    return value  # logical or complex: not needed to locate table fields



def _row_layout(cards, names):
    """Byte offset, TFORM code and repeat count of the requested columns (the first of a name),
    and the row size."""
    fields = {}
    offset = 0
    row_size = cards.get("NAXIS1")
    for number in range(1, cards.get("TFIELDS", 0) + 1):
        if row_size is not None and len(fields) == len(names):
            break  # the columns after the requested ones are not needed (SDSS: 126-232 of them)
        match = _TFORM.match(cards[f"TFORM{number}"])
        repeat = int(match.group(1) or 1)
        code = match.group(2)
        name = str(cards.get(f"TTYPE{number}", "")).upper()
        if name in names:
            fields.setdefault(name, (number, offset, code, repeat))
        offset += (repeat + 7) // 8 if code == "X" else repeat * _TFORM_BYTES[code]
    return fields, offset if row_size is None else row_size


def _decode_field(cards, row, number, offset, code, repeat):
    if code == "A":
        return row[offset:offset + repeat].decode("ascii", "replace").rstrip(" \x00")
    values = np.frombuffer(row, dtype=_TFORM_DTYPES[code], count=repeat, offset=offset)
    values = values * cards.get(f"TSCAL{number}", 1) + cards.get(f"TZERO{number}", 0)
    return values[0] if repeat == 1 else values


def build_spectrum(source, *, flux, ivar, wavelength, bad, unit, meta, mask_zero_ivar=True):
    """Validate survey arrays and assemble the `~specutils.Spectrum` every reader returns.

    ``flux``, ``ivar`` and ``wavelength`` (Å) are 1-D arrays; ``bad`` flags pixels the survey marks
    bad. Non-finite flux or inverse variance is masked too, and so is zero inverse variance: all of
    it when ``mask_zero_ivar`` is true, otherwise only where the flux is zero as well (the zeroed
    dichroic gap of early LAMOST releases and other dropouts), keeping real flux that merely has
    no variance estimate. ``meta["redshift"]``, when known, also becomes the spectrum's redshift
    (slicing and arithmetic keep it); when `None` the key is left out, so that ``meta`` only
    holds a redshift the file gives.
    """
    name = source_name(source)
    flux = np.asarray(flux, dtype=float)
    ivar = np.array(ivar, dtype=float)  # a copy of its own, which the uncertainty keeps as is
    wavelength = np.asarray(wavelength, dtype=float)
    lengths = {"flux": flux.shape, "inverse variance": ivar.shape, "wavelength": wavelength.shape,
               "mask": np.shape(bad)}
    if len(set(lengths.values())) != 1 or flux.ndim != 1:
        raise ValueError(f"{name}: flux, inverse variance, wavelength and mask must be 1-D arrays "
                         f"of one length, got shapes {lengths}")
    if wavelength.size == 0:
        raise ValueError(f"{name}: the spectrum is empty (no wavelength pixels)")
    if not (np.all(np.isfinite(wavelength)) and wavelength[0] > 0
            and np.all(np.diff(wavelength) > 0)):
        raise ValueError(f"{name}: wavelength must be positive, finite and strictly increasing "
                         f"(first {wavelength[0]:g} Å, last {wavelength[-1]:g} Å)")
    finite_flux = np.isfinite(flux)
    if not finite_flux.any():
        raise ValueError(f"{name}: flux has no finite values")
    no_variance = ~(ivar > 0)  # ~(>) also catches NaN ivar
    if not mask_zero_ivar:
        no_variance &= ~np.isfinite(ivar) | (flux == 0)
    mask = np.asarray(bad, dtype=bool) | ~finite_flux | no_variance
    redshift = meta.get("redshift")
    if redshift is None:
        meta = {key: value for key, value in meta.items() if key != "redshift"}
    return Spectrum(flux=u.Quantity(flux, unit, copy=False),
                    spectral_axis=u.Quantity(wavelength, u.AA, copy=False),
                    wcs=grid_wcs(wavelength),
                    uncertainty=InverseVariance(ivar, unit=_inverse_variance_unit(unit),
                                                copy=False), mask=mask,
                    meta=meta, redshift=redshift)


@functools.lru_cache(maxsize=64)
def _inverse_variance_unit(unit):
    """``unit ** -2``, made once per flux unit (astropy composes a new unit on every call)."""
    return unit ** -2


def grid_wcs(wavelength):
    """The lookup-table WCS that `~specutils.Spectrum` builds for a spectral axis of
    ``wavelength`` (Å), made once per wavelength grid and shared by the spectra on it.

    Building it costs as much as reading the file (~0.3 ms); a survey has few grids (LAMOST DR1:
    one start and step, a few lengths). The WCS maps pixels to the same wavelengths as
    specutils' own; its lookup table is a read-only copy of the grid, not the spectrum's
    `~specutils.SpectralAxis`, so it stays right whatever is done to one spectrum.
    """
    key = (wavelength.size, wavelength[0], wavelength[-1])
    grid, wcs = _GRID_WCS.get(key, (None, None))
    if grid is None or not np.array_equal(grid, wavelength):
        grid = wavelength.copy()
        grid.flags.writeable = False
        wcs = gwcs_from_array(u.Quantity(grid, u.AA, copy=False), grid.shape)
        if len(_GRID_WCS) >= _GRID_WCS_SIZE:  # a catalogue of many grids: keep memory bounded
            _GRID_WCS.clear()
        _GRID_WCS[key] = grid, wcs
    return wcs
