"""
Readers and writer for LAMOST low-resolution (LRS) spectra, in every public layout.

* ``spec-o3 LAMOST-LRS``: the primary image of 5 rows used from DR1 to DR7. The header names the
  rows (``EXTEN0 = 'Flux Inverse Subcontinuum Andmask Ormask'`` in DR1, ``'Flux, Inverse,
  Wavelength, Andmask, Ormask'`` in DR6 and DR7). DR1 (pipeline v2.6.4) has a
  continuum-subtracted spectrum in row 2 and the wavelengths only as the log-linear grid
  ``10**(COEFF0 + COEFF1 * i)``; later releases (pipeline v2.9.7) store the wavelengths in row 2.
* ``spec-o3 LAMOST-LRS-table``: the binary table in HDU 1 of later releases (DR8 and after, e.g.
  DR10 v2.0), with columns FLUX, IVAR, WAVELENGTH, ANDMASK, ORMASK and NORMALIZATION, either as
  one row of arrays or as one pixel per row.

Wavelengths are vacuum and heliocentric, in Å; the flux is relative (dimensionless unless the file
has a BUNIT). Medium-resolution (MRS) files are not read here.

Data model: http://dr1.lamost.org/doc/data-production-description (section 2) and the
``lr-data-production-description`` page of each later release (e.g. http://dr7.lamost.org/).
"""

import re

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.nddata import InverseVariance
from astropy.utils.decorators import format_doc
from specutils.io.registers import custom_writer, data_loader

from ._fits import (
    LOADER_PARAMETERS,
    build_spectrum,
    flux_unit,
    header_redshift,
    header_text,
    identifier_header,
    log_linear_grid,
    next_header,
    source_name,
    source_path,
    table_columns,
)
from ._onepass import primary_and_table, primary_image

__all__ = ["identify_lamost_lrs_image", "identify_lamost_lrs_table", "lamost_lrs_image_loader",
           "lamost_lrs_table_loader", "write_lamost_lrs"]

#: Canonical row names, keyed by the first word of the names LAMOST headers give the image rows
#: (lower case, letters only).
_ROW_NAMES = {"flux": "flux", "inverse": "ivar", "inversevariance": "ivar", "ivar": "ivar",
              "invvar": "ivar", "wavelength": "wavelength", "wave": "wavelength",
              "subcontinuum": "subcontinuum", "andmask": "andmask", "ormask": "ormask"}
#: What each row of every public image release holds; row 2 is told apart by its content.
_PUBLIC_ROWS = ("flux", "inverse variance", "wavelength or subcontinuum", "andmask", "ormask")
_EXPECTED_ROWS = f"{len(_PUBLIC_ROWS)} rows ({', '.join(_PUBLIC_ROWS)})"
#: Range (Å) that a LAMOST LRS wavelength row lies within (the data cover about 3700–9100 Å).
_WAVELENGTH_RANGE = (3000.0, 10000.0)
_WRITTEN_ROWS = "Flux Inverse Wavelength Andmask Ormask"
_TABLE_COLUMNS = ("FLUX", "IVAR", "WAVELENGTH")
#: Header keywords the writer owns: dropped from a copied ``meta["header"]`` before being set anew.
_WRITER_KEYS = {"SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND", "BSCALE", "BZERO",
                "BUNIT", "TELESCOP", "N_EXTEN", "EXTEN0", "NWORDER", "WFITTYPE", "COEFF0",
                "COEFF1", "CRVAL1", "CD1_1", "CDELT1", "CRPIX1", "CTYPE1", "DC-FLAG", "WAT0_001",
                "WAT1_001", "CLASS", "SUBCLASS", "Z"}
_WRITER_KEY_PATTERN = re.compile(r"(EXTEN|ROW)\d+|SNR?_?[UGRIZ]")
_SNR_KEYS = {band: (f"SN_{band.upper()}", f"SNR{band.upper()}") for band in "ugriz"}


def _is_lamost(header):
    return str(header.get("TELESCOP", "")).strip().upper() == "LAMOST"


def identify_lamost_lrs_image(origin, *args, **kwargs):
    """True for a LAMOST file whose spectrum is the primary image (DR1–DR7 layout).

    Decided from the first 2880-byte header block, without parsing the file as FITS.
    """
    if origin != "read":
        return False
    header = identifier_header(args)
    return _is_lamost(header) and header.get("NAXIS", 0) > 0


def identify_lamost_lrs_table(origin, *args, **kwargs):
    """True for a LAMOST LRS file whose spectrum is the HDU 1 binary table (DR8+ layout).

    Decided from the first header block, and for LAMOST files without a primary image from the
    header of HDU 1 too (raw cards, no data read).
    """
    if origin != "read":
        return False
    header = identifier_header(args)
    if not _is_lamost(header) or header.get("NAXIS", 0) != 0:
        return False
    table_header = next_header(args)
    return (table_header.get("XTENSION") == "BINTABLE"
            and {"FLUX", "WAVELENGTH"} <= table_columns(table_header))


@data_loader("spec-o3 LAMOST-LRS", identifier=identify_lamost_lrs_image,
             extensions=["fits", "fit", "fits.gz"], priority=10)
@format_doc(None, loader_parameters=LOADER_PARAMETERS)
def lamost_lrs_image_loader(file_obj, mask_zero_ivar=True):
    """
    Read a LAMOST LRS spectrum stored as a 5-row primary image (DR1 to DR7).

    Parameters
    ----------
    {loader_parameters}

    Returns
    -------
    `~specutils.Spectrum`
        Vacuum wavelengths in Å, inverse-variance uncertainty, bad pixels masked, header and
        pipeline labels in ``meta`` (see :doc:`/io`).
    """
    with primary_image(file_obj) as (origin, header, image):  # header: its HeaderValues
        name = source_name(origin)
        if np.ndim(image) != 2:
            raise ValueError(f"{name}: LAMOST LRS image has shape {np.shape(image)}; "
                             f"expected {_EXPECTED_ROWS}")
        rows = _image_rows(header, image, name)
        missing = [label for row, label in (("flux", "flux"), ("ivar", "inverse variance"))
                   if row not in rows]
        if missing:
            raise ValueError(f"{name}: LAMOST LRS image of shape {image.shape} has no "
                             f"{' or '.join(missing)} row; expected {_EXPECTED_ROWS}")
        if "wavelength" in rows:
            wavelength = image[rows["wavelength"]]
        else:
            wavelength = log_linear_grid(header, image.shape[1], name)
        bad = (image[rows["andmask"]] != 0 if "andmask" in rows
               else np.zeros(image.shape[1], bool))
        return build_spectrum(origin, flux=image[rows["flux"]], ivar=image[rows["ivar"]],
                              wavelength=wavelength, bad=bad,
                              unit=flux_unit(header, u.dimensionless_unscaled, name),
                              meta=_lamost_meta(header, origin),
                              mask_zero_ivar=mask_zero_ivar)


@data_loader("spec-o3 LAMOST-LRS-table", identifier=identify_lamost_lrs_table,
             extensions=["fits", "fit", "fits.gz"], priority=10)
@format_doc(None, loader_parameters=LOADER_PARAMETERS)
def lamost_lrs_table_loader(file_obj, mask_zero_ivar=True):
    """
    Read a LAMOST LRS spectrum stored as the HDU 1 binary table (DR8 and later).

    The columns may hold one row of arrays (shape ``(1, N)``) or one pixel per row.

    Parameters
    ----------
    {loader_parameters}

    Returns
    -------
    `~specutils.Spectrum`
        As for :func:`lamost_lrs_image_loader`.
    """
    with primary_and_table(file_obj, _TABLE_COLUMNS, {"ANDMASK"}) as (origin, header, table,
                                                                        present):
        name = source_name(origin)
        missing = [column for column in _TABLE_COLUMNS if column not in present]
        if missing:
            raise ValueError(f"{name}: LAMOST LRS table lacks column(s) {', '.join(missing)}")
        if len(table) > 1 and table["FLUX"].ndim > 1:
            raise ValueError(f"{name}: LAMOST LRS table holds {len(table)} rows of array columns; "
                             "expected one spectrum")
        flux = np.ravel(table["FLUX"])
        bad = (np.ravel(table["ANDMASK"]) != 0 if "ANDMASK" in present
               else np.zeros(flux.shape, bool))
        return build_spectrum(origin, flux=flux, ivar=np.ravel(table["IVAR"]),
                              wavelength=np.ravel(table["WAVELENGTH"]), bad=bad,
                              unit=flux_unit(header, u.dimensionless_unscaled, name),
                              meta=_lamost_meta(header, origin),
                              mask_zero_ivar=mask_zero_ivar)


def _image_rows(header, image, name):
    """Map row name -> row index, from the header's row names or else from the rows' content."""
    names = _row_names(header, image.shape[0])
    if names is None:
        return _rows_by_content(header, image, name)
    return {row: index for index, row in enumerate(names)}


def _row_names(header, nrows):
    """Canonical names of the ``nrows`` image rows as the header gives them, or `None`.

    Either one keyword lists them all (``EXTEN0 = 'Flux Inverse Subcontinuum Andmask Ormask'``,
    separated by blanks, commas or semicolons) or one keyword names each row (``EXTEN`` or
    ``ROW`` numbered from 0 or 1, e.g. ``ROW1``..``ROW5``), in any case. A list of the wrong
    length, an unknown name or a name given twice counts as no naming.
    """
    for labels in _row_labels(header, nrows):
        if len(labels) != nrows or None in labels:
            continue
        names = [_ROW_NAMES.get(re.sub("[^a-z]", "", label.split()[0].lower()))
                 for label in labels]
        if None not in names and len(set(names)) == nrows:
            return names
    return None


def _row_labels(header, nrows):
    """The candidate row labels of `_row_names`, in order, each read only if the ones before
    it did not name the rows (every header lookup parses a card)."""
    listed = header_text(header, "EXTEN0") or ""
    for separators in (r"[,;]", r"[\s,;]+"):  # 'Inverse Variance' is one name
        yield [piece for piece in re.split(separators, listed) if piece.strip()]
    for prefix in ("EXTEN", "ROW"):
        for first in (0, 1):
            yield [header_text(header, f"{prefix}{first + row}") for row in range(nrows)]


def _rows_by_content(header, image, name):
    """Map row name -> row index for the public row order, once the content shows it fits.

    Row 2 is the wavelength when it strictly increases within `_WAVELENGTH_RANGE` (pipeline
    v2.9.7) and the continuum-subtracted spectrum of DR1 (v2.6.4) when it neither increases nor
    lies in that range.
    """
    problems = _public_order_problems(image)
    if problems:
        named = header_text(header, "EXTEN0")
        raise ValueError(f"{name}: the header does not name the rows of this LAMOST LRS image "
                         f"({f'EXTEN0 = {named!r}' if named else 'no EXTEN0'}) and their content "
                         f"does not fit the public order of {_EXPECTED_ROWS}: "
                         f"{'; '.join(problems)}")
    third = "wavelength" if _is_wavelength(image[2]) else "subcontinuum"
    return {"flux": 0, "ivar": 1, third: 2, "andmask": 3, "ormask": 4}


def _public_order_problems(image):
    """What in ``image`` contradicts the public row order; empty when nothing does."""
    if image.shape[0] != len(_PUBLIC_ROWS):
        return [f"the image has shape {image.shape}"]
    low, high = _WAVELENGTH_RANGE
    problems = [f"row {index} ({_PUBLIC_ROWS[index]}) holds wavelengths" for index in (0, 1)
                if _is_wavelength(image[index])]
    if np.any(image[1] < 0):
        problems.append("row 1 (inverse variance) has negative values")
    if _is_increasing(image[2]) != _in_wavelength_range(image[2]):
        problems.append(f"row 2 runs from {image[2][0]:g} to {image[2][-1]:g}, neither "
                        f"wavelengths (strictly increasing within {low:g}–{high:g} Å) nor a "
                        "spectrum")
    problems += [f"row {index} ({_PUBLIC_ROWS[index]}) is not integer-valued" for index in (3, 4)
                 if not np.array_equal(image[index], np.round(image[index]))]
    return problems


def _is_increasing(values):
    return values[0] > 0 and bool(np.all(np.diff(values) > 0))


def _in_wavelength_range(values):
    low, high = _WAVELENGTH_RANGE
    return bool(np.all((values >= low) & (values <= high)))


def _is_wavelength(values):
    return _is_increasing(values) and _in_wavelength_range(values)


def _lamost_meta(header, source):
    """The meta of a LAMOST spectrum, from the `HeaderValues` of its primary header."""
    snr = {}
    for band, keys in _SNR_KEYS.items():
        key = next((key for key in keys if key in header), None)
        if key is not None:
            snr[band] = float(header[key])
    return {"header": header.header, "survey": "LAMOST", "source": source_path(source),
            "redshift": header_redshift(header.get("Z")), "class": header_text(header, "CLASS"),
            "subclass": header_text(header, "SUBCLASS"), "snr": snr}


@custom_writer("spec-o3 LAMOST-LRS")
def write_lamost_lrs(spectrum, file_name, overwrite=False, dtype=None):
    """
    Write a spectrum as a LAMOST LRS file: the 5-row primary image of DR2–DR7.

    Rows are flux, inverse variance, vacuum wavelength (Å), andmask and ormask (both 1 where
    ``spectrum.mask`` is set). A log-linear grid also gets the LAMOST header solution
    (``COEFF0``/``COEFF1``). The ``meta`` entries ``class``, ``subclass``, ``redshift`` and ``snr``
    become ``CLASS``, ``SUBCLASS``, ``Z`` and ``SN_U``..``SN_Z``; other cards of ``meta["header"]``
    are copied. Reading the file back with ``Spectrum.read`` returns the same arrays, mask
    and labels.

    Parameters
    ----------
    spectrum : `~specutils.Spectrum`
        A 1-D spectrum with an uncertainty (converted to inverse variance).
    file_name : str or path-like
        Output path; a ``.gz`` suffix compresses.
    overwrite : bool, optional
        Replace an existing file.
    dtype : numpy dtype, optional
        Data type of the image. By default float32 when that loses nothing, else float64, so the
        file always reads back exactly; pass ``numpy.float32`` for survey-sized files.

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from astropy.nddata import InverseVariance
    >>> from specutils import Spectrum
    >>> wave = 10 ** (3.5682 + 1e-4 * np.arange(3909)) * u.AA
    >>> spec = Spectrum(flux=np.ones(3909) * u.one, spectral_axis=wave,
    ...                 uncertainty=InverseVariance(np.full(3909, 100.0)),
    ...                 meta={"class": "STAR", "subclass": "M0", "redshift": 1e-4})
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "spec-test.fits"
    >>> spec.write(path, format="spec-o3 LAMOST-LRS")
    >>> Spectrum.read(path).meta["subclass"]
    'M0'
    """
    name = str(file_name)
    if spectrum.flux.ndim != 1:
        raise ValueError(f"{name}: LAMOST LRS files hold one 1-D spectrum, got flux of shape "
                         f"{spectrum.flux.shape}")
    wavelength = spectrum.spectral_axis.to_value(u.AA, equivalencies=u.spectral())
    if not _is_increasing(wavelength):
        raise ValueError(f"{name}: the spectral axis must increase in wavelength to be written")
    mask = np.zeros(wavelength.shape) if spectrum.mask is None else np.asarray(spectrum.mask, float)
    image = np.vstack([spectrum.flux.value, _inverse_variance(spectrum, name), wavelength, mask,
                       mask])
    if dtype is None:
        exact = np.array_equal(image.astype(np.float32), image, equal_nan=True)
        dtype = np.float32 if exact else np.float64
    hdu = fits.PrimaryHDU(image.astype(dtype))
    _fill_lamost_header(hdu.header, spectrum, wavelength)
    hdu.writeto(file_name, overwrite=overwrite)


def _inverse_variance(spectrum, name):
    """Inverse variance in flux unit**-2; a zero standard deviation becomes 0 (unknown), not inf."""
    if spectrum.uncertainty is None:
        raise ValueError(f"{name}: LAMOST LRS files need an inverse-variance row, but the spectrum "
                         "has no uncertainty")
    ivar = spectrum.uncertainty
    if not isinstance(ivar, InverseVariance):
        with np.errstate(divide="ignore"):
            ivar = ivar.represent_as(InverseVariance)
    values = ivar.array if ivar.unit is None else ivar.quantity.to_value(spectrum.flux.unit ** -2)
    return np.where(np.isposinf(values), 0.0, values)


def _fill_lamost_header(header, spectrum, wavelength):
    """Add the LAMOST keywords, the labels of ``spectrum.meta`` and its other header cards."""
    # Before the copied cards: identifiers read only the first 2880-byte block.
    header["TELESCOP"] = ("LAMOST", "LAMOST LRS layout")
    header["EXTEN0"] = (_WRITTEN_ROWS, "Rows of the primary image")
    copied = spectrum.meta.get("header")
    header.extend(card for card in (copied.cards if copied is not None else ())
                  if card.keyword not in _WRITER_KEYS
                  and not _WRITER_KEY_PATTERN.fullmatch(card.keyword))
    header.setdefault("VACUUM", True)
    if spectrum.flux.unit != u.dimensionless_unscaled:
        header["BUNIT"] = (spectrum.flux.unit.to_string(), "Flux unit")
    loglam = np.log10(wavelength)
    step = (loglam[-1] - loglam[0]) / max(len(loglam) - 1, 1)
    if np.allclose(loglam, loglam[0] + step * np.arange(len(loglam)), rtol=0, atol=1e-3 * step):
        header.update({"NWORDER": 2, "WFITTYPE": "LOG-LINEAR", "COEFF0": loglam[0],
                       "COEFF1": step, "CRVAL1": loglam[0], "CD1_1": step, "CRPIX1": 1,
                       "CTYPE1": "LINEAR", "DC-FLAG": 1})
    meta = spectrum.meta
    for key, value in (("CLASS", meta.get("class")), ("SUBCLASS", meta.get("subclass"))):
        if value is not None:
            header[key] = str(value)
    redshift = meta.get("redshift")
    if redshift is not None:
        header["Z"] = (float(redshift), "Redshift of object")
    for band, value in (meta.get("snr") or {}).items():
        header[f"SN_{band.upper()}"] = (float(value), f"SNR of {band} filter")
