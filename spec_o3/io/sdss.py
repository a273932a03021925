"""
Readers for SDSS optical spectra: ``spec-PLATE-MJD-FIBER.fits`` files (SDSS-I/II, SEGUE, BOSS and
eBOSS spectra from idlspec2d v5) and the ``spSpec-MJD-PLATE-FIBER.fit`` files of DR1–DR7.

specutils ships loaders for both ("SDSS-III/IV spec", "SDSS-I/II spSpec"), but they fall short of
what vetting needs: the spec loader masks every ``and_mask`` bit, informational ones included, and
keeps no redshift or class; the spSpec identifier expects 5 image rows where the files have 4. The
loaders here read the same columns with the masks and labels below, under spec-o3's own format
names, without changing what ``Spectrum.read`` returns where specutils reads a file itself:

* ``spec-o3 SDSS-spec`` is reached only by name (``format="spec-o3 SDSS-spec"``) or through
  `~spec_o3.io.read_for_inspection`; ``Spectrum.read(path)`` keeps specutils' "SDSS-III/IV spec".
* ``spec-o3 SDSS-spSpec`` is identified for the 4-row files specutils does not recognise; 5-row
  files stay with specutils' "SDSS-I/II spSpec".

Bad pixels: zero inverse variance, or one of `SDSS_BAD_PIXEL_BITS` in the and-mask. Wavelengths are
vacuum, in Å; flux in 10^-17 erg/s/cm²/Å.

Data model: https://data.sdss.org/datamodel/files/BOSS_SPECTRO_REDUX/RUN2D/spectra/PLATE4/spec.html,
http://classic.sdss.org/dr7/dm/flatFiles/spSpec.html; mask bits:
https://www.sdss3.org/dr10/algorithms/bitmask_sppixmask.php
"""

import astropy.units as u
import numpy as np
from astropy.utils.decorators import format_doc
from specutils.io.registers import data_loader

from ._fits import (
    LOADER_PARAMETERS,
    build_spectrum,
    flux_unit,
    header_redshift,
    header_text,
    identifier_header,
    log_linear_grid,
    next_header,
    read_table_row,
    source_name,
    source_path,
    table_columns,
)
from ._onepass import primary_and_table, primary_image

__all__ = ["SDSS_BAD_PIXEL_BITS", "identify_sdss_spec", "identify_sdss_spspec", "sdss_spec_loader",
           "sdss_spspec_loader"]

#: SDSS pixel-mask bits that make a pixel unusable: failed fibre calibration, and pixels rejected,
#: without sky or data, under bright sky or badly flux-calibrated. Informational bits (e.g.
#: NEARBADPIXEL, BADSKYCHI, and the spSpec EMLINE bit 30 that marks emission lines) are not here.
SDSS_BAD_PIXEL_BITS = {"NOPLUG": 0, "BADTRACE": 1, "BADFLAT": 2, "BADARC": 3, "FULLREJECT": 18,
                       "NOSKY": 22, "BRIGHTSKY": 23, "NODATA": 24, "COMBINEREJ": 25,
                       "BADFLUXFACTOR": 26}
_BAD_BITS = sum(1 << bit for bit in SDSS_BAD_PIXEL_BITS.values())
_SDSS_FLUX_UNIT = u.Unit("1e-17 erg / (s cm2 Angstrom)")
_SDSS_TELESCOPE = "SDSS 2.5-M"
#: The columns of the coadded spectrum (HDU 1) that the spec loader needs.
_COADD_COLUMNS = {"FLUX", "IVAR", "LOGLAM"}
#: spSpec SPEC_CLN codes as (class, subclass), named like the CLASS of later releases.
_SPEC_CLN = {0: ("UNKNOWN", None), 1: ("STAR", None), 2: ("GALAXY", None), 3: ("QSO", None),
             4: ("QSO", "HIZ_QSO"), 5: ("SKY", None), 6: ("STAR", "STAR_LATE"),
             7: ("GALAXY", "GAL_EM")}


def _is_sdss_fibre(header):
    return (str(header.get("TELESCOP", "")).strip() == _SDSS_TELESCOPE
            and header.get("FIBERID", 0) > 0)


def identify_sdss_spec(origin, *args, **kwargs):
    """True for an SDSS ``spec`` file of idlspec2d v5 (HDU 1 table with flux, loglam, ivar).

    `~spec_o3.io.read_for_inspection` uses it on the file it has opened; it is not registered for
    ``Spectrum.read`` without a format, where specutils' own loader reads these files.
    """
    if origin != "read":
        return False
    header = identifier_header(args, whole=True)  # FIBERID and VERS2D lie beyond the first block
    if not (_is_sdss_fibre(header) and header.get("NAXIS", 0) == 0
            and str(header.get("VERS2D", "")).startswith("v5")):
        return False
    table_header = next_header(args)
    return (table_header.get("XTENSION") == "BINTABLE"
            and {"FLUX", "LOGLAM", "IVAR"} <= table_columns(table_header))


def identify_sdss_spspec(origin, *args, **kwargs):
    """True for an SDSS DR1–DR7 ``spSpec`` file of 4 rows (primary image, one fibre).

    Decided from the first 2880-byte header block, without parsing the file as FITS. Files of 5
    rows are what specutils' own "SDSS-I/II spSpec" identifies, so they are left to it.
    """
    if origin != "read":
        return False
    header = identifier_header(args)
    return (str(header.get("TELESCOP", "")).strip() == _SDSS_TELESCOPE
            and header.get("NAXIS", 0) == 2 and header.get("NAXIS2") == 4)


def _named_only(origin, *args, **kwargs):
    """Identifier of a format that is read only when named: never chosen by the registry."""
    return False


@data_loader("spec-o3 SDSS-spec", identifier=_named_only, extensions=["fits", "fits.gz"])
@format_doc(None, loader_parameters=LOADER_PARAMETERS)
def sdss_spec_loader(file_obj, mask_zero_ivar=True):
    """
    Read an SDSS ``spec-PLATE-MJD-FIBER.fits`` file (coadded spectrum of HDU 1).

    Parameters
    ----------
    {loader_parameters}

    Returns
    -------
    `~specutils.Spectrum`
        Vacuum wavelengths in Å, inverse-variance uncertainty, bad pixels masked, the primary
        header and the pipeline redshift, class and median S/N of HDU 2 in ``meta``. A file
        without HDU 2 reads too, taking ``Z`` and ``CLASS`` from the primary header if there:
        without them ``meta`` has no ``redshift``, ``class`` is `None` and ``snr`` is empty.
    """
    with primary_and_table(file_obj, _COADD_COLUMNS, {"AND_MASK"}) as (origin, header, coadd,
                                                                        columns):
        name = source_name(origin)
        and_mask = (coadd["AND_MASK"] if "AND_MASK" in columns
                    else np.zeros(len(coadd), np.int64))
        summary = read_table_row(origin, 2, {"Z", "CLASS", "SUBCLASS", "SN_MEDIAN"})
        snr = summary.get("SN_MEDIAN", ())
        meta = {"header": header.header, "survey": "SDSS", "source": source_path(origin),
                "redshift": header_redshift(summary.get("Z", header.get("Z"))),
                "class": summary.get("CLASS") or header_text(header, "CLASS"),
                "subclass": summary.get("SUBCLASS") or header_text(header, "SUBCLASS"),
                "snr": {band: float(value) for band, value in zip("ugriz", snr, strict=False)}}
        return build_spectrum(origin, flux=coadd["FLUX"], ivar=coadd["IVAR"],
                              wavelength=10.0 ** np.asarray(coadd["LOGLAM"], dtype=float),
                              bad=(and_mask & _BAD_BITS) != 0,
                              unit=flux_unit(header, _SDSS_FLUX_UNIT, name), meta=meta,
                              mask_zero_ivar=mask_zero_ivar)


@data_loader("spec-o3 SDSS-spSpec", identifier=identify_sdss_spspec,
             extensions=["fit", "fits", "fit.gz"], priority=10)
@format_doc(None, loader_parameters=LOADER_PARAMETERS)
def sdss_spspec_loader(file_obj, mask_zero_ivar=True):
    """
    Read an SDSS DR1–DR7 ``spSpec`` file.

    The primary image holds flux, continuum-subtracted flux, standard deviation and pixel mask;
    wavelengths come from the header's log-linear solution.

    Parameters
    ----------
    {loader_parameters}

    Returns
    -------
    `~specutils.Spectrum`
        As for :func:`sdss_spec_loader`; the class comes from ``SPEC_CLN``.
    """
    with primary_image(file_obj) as (origin, header, image):  # header: its HeaderValues
        name = source_name(origin)
        if np.ndim(image) != 2 or image.shape[0] < 4:
            raise ValueError(f"{name}: spSpec image has shape {np.shape(image)}; expected 4 rows "
                             "(flux, continuum-subtracted flux, error, mask)")
        sigma = np.asarray(image[2], dtype=float)
        ivar = np.zeros_like(sigma)
        ivar[sigma > 0] = sigma[sigma > 0] ** -2
        spec_class, subclass = _SPEC_CLN.get(header.get("SPEC_CLN"), (None, None))
        meta = {"header": header.header, "survey": "SDSS", "source": source_path(origin),
                "redshift": header_redshift(header.get("Z")), "class": spec_class,
                "subclass": subclass,
                "snr": {band: float(header[f"SN_{band.upper()}"]) for band in "ugriz"
                        if f"SN_{band.upper()}" in header}}
        return build_spectrum(origin, flux=image[0], ivar=ivar,
                              wavelength=log_linear_grid(header, image.shape[1], name),
                              bad=(image[3].astype(np.int64) & _BAD_BITS) != 0,
                              unit=flux_unit(header, _SDSS_FLUX_UNIT, name), meta=meta,
                              mask_zero_ivar=mask_zero_ivar)
