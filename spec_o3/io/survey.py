"""Fast reading of survey files for catalogue runs, bypassing specutils' full format search."""

import contextlib
import gzip
import os
import re

import astropy.units as u
from specutils import Spectrum

from spec_o3.exceptions import UnvettableSpectrum

from ._fits import open_fits, source_name
from .desi import desi_format, read_target
from .lamost import identify_lamost_lrs_image, identify_lamost_lrs_table
from .sdss import identify_sdss_spec, identify_sdss_spspec

__all__ = ["read_for_inspection", "read_survey_spectrum"]

#: (identifier, format name) of every spec-o3 survey format; at most one accepts a given file.
_SURVEY_FORMATS = ((identify_lamost_lrs_image, "spec-o3 LAMOST-LRS"),
                   (identify_lamost_lrs_table, "spec-o3 LAMOST-LRS-table"),
                   (identify_sdss_spec, "spec-o3 SDSS-spec"),
                   (identify_sdss_spspec, "spec-o3 SDSS-spSpec"))
#: The reader registered under each of these format names, looked up once: calling it is
#: ``Spectrum.read(path, format=name)`` without the registry's lookup (~30 µs a file).
_READERS = {name: Spectrum.read.registry.get_reader(name, Spectrum) for _, name in _SURVEY_FORMATS}
#: Unit spellings of real spectrum files that astropy's FITS unit parser rejects (STELIB's BUNIT
#: "erg /s /cm2 /angstroms"), read as the units they name.
_UNIT_ALIASES = {"angstroms": u.AA, "Angstroms": u.AA}
#: File names that promise FITS: when such a file does not open as FITS, that is the problem to
#: report, rather than specutils' "format could not be identified".
_FITS_NAME = re.compile(r"\.(fits?|fts)(\.(gz|bz2|xz))?$", re.IGNORECASE)


def read_survey_spectrum(source, *, mask_zero_ivar=True):
    """
    Read a spectrum as ``Spectrum.read`` would, faster for LAMOST and SDSS files.

    ``Spectrum.read(path)`` without a format runs the identifier of every registered format, and
    specutils' own identifiers open the file again each time. This function tries only the survey
    formats of ``spec_o3.io`` (on a path, from its first header block; else on the file opened
    once) and reads a file one of them identifies with that format named; SDSS ``spec`` files
    too, which ``Spectrum.read`` leaves to specutils' own loader. Anything else goes to
    ``Spectrum.read``, but for a file named ``*.fits`` (``.fit``, ``.fts``, maybe compressed)
    that does not open as FITS, which raises an `OSError` saying why.

    Parameters
    ----------
    source : str, path-like, file-like or `~astropy.io.fits.HDUList`
        The file to read.
    mask_zero_ivar : bool, optional
        Passed to the survey loaders (see :ref:`zero-ivar`); other formats ignore it.

    Returns
    -------
    `~specutils.Spectrum`
        The same spectrum as ``Spectrum.read(source)``, or as ``Spectrum.read(source,
        format="spec-o3 SDSS-spec")`` for an SDSS ``spec`` file.

    Examples
    --------
    >>> from spec_o3.io import read_survey_spectrum
    >>> spectrum = read_survey_spectrum("spec-55862-B6212_sp06-003.fits")  # doctest: +SKIP
    >>> spectrum.meta["survey"], spectrum.meta["subclass"]  # doctest: +SKIP
    ('LAMOST', 'F9')
    """
    return _read_survey(source, survey_format(source), mask_zero_ivar)


def _read_survey(source, format_name, mask_zero_ivar):
    """`read_survey_spectrum`, given the `survey_format` of ``source``."""
    if format_name is not None:  # read with the format's reader: no HDUList to open here
        return _READERS[format_name](source, mask_zero_ivar=mask_zero_ivar)
    with contextlib.ExitStack() as stack:
        try:
            hdulist = stack.enter_context(open_fits(source))
        except OSError:  # not FITS: specutils may know the format, or will say why not
            if _FITS_NAME.search(source_name(source)):
                raise
            hdulist = None
        for identify, format_name in _SURVEY_FORMATS if hdulist is not None else ():
            if identify("read", None, None, hdulist):
                return Spectrum.read(hdulist, format=format_name, mask_zero_ivar=mask_zero_ivar)
        if hdulist is not None and desi_format(hdulist) is not None:  # specutils reads a list
            return read_target(hdulist)
    with u.add_enabled_aliases(_UNIT_ALIASES):
        return Spectrum.read(source)


def survey_format(source):
    """The spec-o3 survey format of the file at path ``source``, or `None`.

    Decided by the identifiers of `_SURVEY_FORMATS` from the first header blocks, read raw (plain
    or gzip-compressed) as ``Spectrum.read`` would hand them the file; `None` for a source that is
    not the path of a readable file, for a file none of them identifies, and for one they cannot
    decide on (garbled cards): the full reading of such a file says what is wrong with it.
    """
    if not isinstance(source, (str, os.PathLike)):
        return None
    try:
        with open(source, "rb") as file:
            gzipped = file.read(2) == b"\x1f\x8b"
            file.seek(0)
            fileobj = gzip.GzipFile(fileobj=file) if gzipped else file
            return next((format_name for identify, format_name in _SURVEY_FORMATS
                         if identify("read", source, fileobj)), None)
    # Identifiers fail in many ways on odd bytes (a corrupt archive, a text where a number goes)
    except Exception:  # noqa: BLE001
        return None


def read_for_inspection(source):
    """
    Read a spectrum as the inspection agent sees it.

    Like :func:`read_survey_spectrum`, but pixels that carry real flux without a variance
    estimate stay unmasked (``mask_zero_ivar=False``): LAMOST DR1 leaves zero inverse variance on
    the peaks of strong emission lines, which are what a vetting looks for (see :ref:`zero-ivar`);
    and every way a file can fail to read raises one error that names it.

    Parameters
    ----------
    source : str, path-like, file-like or `~astropy.io.fits.HDUList`
        The file to read.

    Returns
    -------
    `~specutils.Spectrum`

    Raises
    ------
    UnvettableSpectrum
        If the file is missing, unreadable, not a spectrum format specutils knows, or corrupt.

    Examples
    --------
    >>> from spec_o3.io import read_for_inspection
    >>> read_for_inspection("no-such-spectrum.fits")
    Traceback (most recent call last):
    ...
    spec_o3.exceptions.UnvettableSpectrum: no-such-spectrum.fits: no such file
    """
    return read_format_for_inspection(source, survey_format(source))


def read_format_for_inspection(source, format_name):
    """`read_for_inspection`, given the `survey_format` of ``source`` (found once by a caller
    that needs it too)."""
    name = source_name(source)
    if isinstance(source, (str, os.PathLike)) and not os.path.exists(source):
        raise UnvettableSpectrum(name, "no such file")
    try:
        return _read_survey(source, format_name, mask_zero_ivar=False)
    # Readers (ours, specutils', astropy's) fail in many ways on odd bytes; all mean "unreadable".
    except Exception as error:  # noqa: BLE001
        raise UnvettableSpectrum(name, _reading_problem(error, name)) from error


def _reading_problem(error, name):
    """The reader's complaint on one line, without the file name it may already start with."""
    from astropy.io.registry import IORegistryError

    if isinstance(error, IORegistryError):  # its message goes on to list every format it knows
        return (
            "cannot be read: not a spectrum file that spec-o3 or specutils recognises (LAMOST and "
            "SDSS FITS files are read as they are; for another format, read it with "
            "Spectrum.read(path, format=...) and vet the Spectrum)"
        )
    message = " ".join(str(error).removeprefix(f"{name}: ").split())
    if isinstance(error, (OSError, ValueError)) and message:
        return f"cannot be read: {message}"
    return f"cannot be read ({type(error).__name__}: {message or 'no message'})"
