"""Fast reading of survey files for catalogue runs, bypassing specutils' full format search."""

import contextlib
import os

from specutils import Spectrum

from spec_o3.exceptions import UnvettableSpectrum

from ._fits import open_fits, source_name
from .lamost import (
    identify_lamost_lrs_image,
    identify_lamost_lrs_table,
    lamost_lrs_image_loader,
    lamost_lrs_table_loader,
)
from .sdss import identify_sdss_spec, identify_sdss_spspec, sdss_spec_loader, sdss_spspec_loader

__all__ = ["read_for_inspection", "read_survey_spectrum"]

#: (identifier, loader) of every survey format; at most one identifier accepts a given file.
_SURVEY_READERS = ((identify_lamost_lrs_image, lamost_lrs_image_loader),
                   (identify_lamost_lrs_table, lamost_lrs_table_loader),
                   (identify_sdss_spec, sdss_spec_loader),
                   (identify_sdss_spspec, sdss_spspec_loader))


def read_survey_spectrum(source, *, mask_zero_ivar=True):
    """
    Read a spectrum as ``Spectrum.read`` would, faster for LAMOST and SDSS files.

    ``Spectrum.read(path)`` without a format runs the identifier of every registered format, and
    specutils' own identifiers open the file again each time: 50–900 ms per survey file. This
    function opens the file once, tries only the survey formats of ``spec_o3.io``, and hands
    anything else (or anything that is not FITS) to ``Spectrum.read``.

    Parameters
    ----------
    source : str, path-like, file-like or `~astropy.io.fits.HDUList`
        The file to read.
    mask_zero_ivar : bool, optional
        Passed to the survey loaders (see :ref:`zero-ivar`); other formats ignore it.

    Returns
    -------
    `~specutils.Spectrum`
        The same spectrum as ``Spectrum.read(source)``.

    Examples
    --------
    >>> from spec_o3.io import read_survey_spectrum
    >>> spectrum = read_survey_spectrum("spec-55862-B6212_sp06-003.fits")  # doctest: +SKIP
    >>> spectrum.meta["survey"], spectrum.meta["subclass"]  # doctest: +SKIP
    ('LAMOST', 'F9')
    """
    with contextlib.ExitStack() as stack:
        try:
            hdulist = stack.enter_context(open_fits(source))
        except OSError:  # not FITS: specutils may know the format, or will say why not
            hdulist = None
        for identify, load in _SURVEY_READERS if hdulist is not None else ():
            if identify("read", None, None, hdulist):
                return load(hdulist, mask_zero_ivar=mask_zero_ivar)
    return Spectrum.read(source)


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
    name = source_name(source)
    if isinstance(source, (str, os.PathLike)) and not os.path.exists(source):
        raise UnvettableSpectrum(name, "no such file")
    try:
        return read_survey_spectrum(source, mask_zero_ivar=False)
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
