"""
DESI coadd and spectra files, read one target at a time.

specutils reads DESI ``coadd-*.fits`` and ``spectra-*.fits`` files (formats ``DESI coadd`` and
``DESI spectra``) into a `~specutils.SpectrumList` of the spectrograph arms b, r and z, each
holding every row of the file as a row of a 2-D flux array. This module reads them through those
loaders, named explicitly, and joins the arms of each target into one `~specutils.Spectrum` on one
monotonic wavelength axis: where the arms overlap, each pixel is the inverse-variance weighted
mean of the arms that hold valid data there, so a pixel masked in one arm takes the other arm's
value and no pixel appears twice. A spectra file's several exposures of a target are averaged in
the same way (a plain coadd, without the resolution matrices).

The redshift comes from the redrock file beside the spectra (``coadd-X.fits`` ->
``redrock-X.fits``, or the older ``zbest-X.fits``), matched by ``TARGETID``.

Data model: https://desidatamodel.readthedocs.io (``healpix/.../coadd-SURVEY-PROGRAM-PIXNUM`` and
``redrock-SURVEY-PROGRAM-PIXNUM``).
"""

import contextlib
import io
import os
import re
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.nddata import InverseVariance
from specutils import SpectrumList

from ._fits import (
    _CORRUPT_FITS_ERRORS,
    build_spectrum,
    header_redshift,
    open_fits,
    source_name,
    source_path,
)

__all__ = [
    "DESI_ARMS",
    "desi_format",
    "desi_targets",
    "iter_targets",
    "join_arms",
    "read_target",
    "redshift_catalogue",
    "target_name",
    "write_desi_coadd",
]

#: Wavelength range (Å) of each DESI spectrograph arm on the common 0.8 Å grid (desidatamodel).
DESI_ARMS = {"b": (3600.0, 5800.0), "r": (5760.0, 7620.0), "z": (7520.0, 9824.0)}
#: Redshift catalogues that may sit beside a DESI file, by name prefix, with their table HDU.
_REDSHIFT_FILES = (("redrock", "REDSHIFTS"), ("zbest", "ZBEST"))
_SPECTRA_PREFIX = re.compile(r"^(coadd|spectra)-")
#: Flux and inverse-variance units of DESI files.
_FLUX_UNIT = u.Unit("1e-17 erg / (s cm2 Angstrom)")


def desi_format(hdulist):
    """The specutils format of a DESI file, ``"DESI coadd"`` or ``"DESI spectra"``; else `None`.

    A DESI file has its FIBERMAP table in HDU 1 (looked at first, so that other files cost one
    header more), a SCORES table and a ``<ARM>_FLUX`` image per arm; a coadd's primary header names
    its input spectra files (``INFIL000``), as specutils' identifiers check. A truncated or corrupt
    file is no DESI file here: its reader says what is wrong with it.
    """
    try:
        if hdulist[1].name != "FIBERMAP":
            return None
        names = {hdu.name for hdu in hdulist}
    except (IndexError, *_CORRUPT_FITS_ERRORS):
        return None
    if "SCORES" not in names or not any(name.endswith("_FLUX") for name in names):
        return None
    return "DESI coadd" if "INFIL000" in hdulist[0].header else "DESI spectra"


def _read_arms(source):
    """The arms of a DESI file as specutils reads them, and the file's path (`None` in memory)."""
    if isinstance(source, SpectrumList):
        return source, None
    with open_fits(source) as hdulist:
        path = source_path(source)
        format = desi_format(hdulist)
        if format is None:
            raise ValueError(f"{source_name(source)}: not a DESI coadd or spectra file (no "
                             "FIBERMAP and SCORES tables with <ARM>_FLUX images)")
        return SpectrumList.read(hdulist, format=format), path


def _meta(arms, key):
    """A file-wide entry of the arms' meta (specutils puts them on the first arm read)."""
    return next((arm.meta[key] for arm in arms if key in arm.meta), None)


def _targetids(arms):
    """TARGETID of each row of the arms' flux (row numbers when there is no FIBERMAP)."""
    fibermap = _meta(arms, "fibermap")
    rows = 1 if arms[0].flux.ndim == 1 else arms[0].flux.shape[0]
    if fibermap is None:
        return np.arange(rows)
    if len(fibermap) != rows:
        raise ValueError(f"the FIBERMAP has {len(fibermap)} rows for {rows} spectra")
    return np.asarray(fibermap["TARGETID"], dtype=np.int64)


def _arm_arrays(arm):
    """Wavelength (Å) and 2-D flux, inverse variance (1e-17 erg s⁻¹ cm⁻² Å⁻¹ and its inverse
    square) and good-pixel flags of an arm."""
    wavelength = arm.spectral_axis.to_value(u.AA, equivalencies=u.spectral())
    if arm.uncertainty is None:
        raise ValueError(f"the {arm.meta.get('band', '')} arm has no inverse variance")
    scale = u.Quantity(np.ones(wavelength.size), arm.flux.unit).to_value(
        _FLUX_UNIT, u.spectral_density(wavelength * u.AA))
    flux = np.atleast_2d(arm.flux.value) * scale
    ivar = np.atleast_2d(_inverse_variance(arm).to_value(arm.flux.unit**-2)) / scale**2
    good = np.isfinite(flux) & (ivar > 0)
    if arm.mask is not None:
        good &= ~np.atleast_2d(arm.mask)
    return wavelength, flux, np.where(good, ivar, 0.0), good


def _inverse_variance(arm):
    """The arm's inverse variance as a quantity (converted from another uncertainty type)."""
    uncertainty = arm.uncertainty
    if not isinstance(uncertainty, InverseVariance):
        uncertainty = uncertainty.represent_as(InverseVariance)
    return uncertainty.quantity


def _joined_axis(wavelengths):
    """One monotonic axis: the first arm's pixels, then each next arm's pixels beyond the last."""
    axis = wavelengths[0]
    for wavelength in wavelengths[1:]:
        axis = np.concatenate([axis, wavelength[wavelength > axis[-1] * (1 + 1e-9)]])
    return axis


def _on_axis(wavelength, axis):
    """Where an arm's pixels lie on ``axis``: the axis pixels it covers, and for each the two arm
    pixels around it and the fraction of the way between them.

    Pixels the arms share (DESI's arms lie on one 0.8 Å grid) are taken as they are; elsewhere the
    two neighbouring arm pixels are interpolated linearly.
    """
    inside = (axis >= wavelength[0]) & (axis <= wavelength[-1])
    position = np.interp(axis[inside], wavelength, np.arange(wavelength.size))
    position = np.where(np.abs(position - np.round(position)) < 1e-6, np.round(position), position)
    low = np.minimum(np.floor(position).astype(int), wavelength.size - 1)
    high = np.minimum(low + 1, wavelength.size - 1)
    return inside, low, high, position - low


def join_arms(arms, rows=None):
    """Join the arms of DESI spectra into one spectrum per target.

    Parameters
    ----------
    arms : `~specutils.SpectrumList`
        The arms, in any order, as the ``DESI coadd`` or ``DESI spectra`` loaders return them (2-D
        flux, one row per spectrum, the FIBERMAP in one arm's ``meta["fibermap"]``) or one
        target's 1-D arms.
    rows : array-like of int, optional
        The rows to join (default: all).

    Returns
    -------
    targetids : `numpy.ndarray` of int64
        One per target, in the order of their first row (row numbers without a FIBERMAP).
    wavelength : `numpy.ndarray`
        The joined axis in Å.
    flux, ivar : `numpy.ndarray`
        Targets x pixels, the flux in 1e-17 erg s⁻¹ cm⁻² Å⁻¹; ``ivar`` is 0 where no arm holds
        valid data.
    mask : `numpy.ndarray` of bool
        True where no arm (and no exposure) holds valid data.

    Examples
    --------
    Two arms overlapping on one pixel, the first arm masked there:

    >>> import numpy as np, astropy.units as u
    >>> from astropy.nddata import InverseVariance
    >>> from specutils import Spectrum, SpectrumList
    >>> unit = u.Unit("1e-17 erg / (s cm2 Angstrom)")
    >>> blue = Spectrum(flux=[1.0, 2.0, 3.0] * unit, spectral_axis=[4000, 4001, 4002] * u.AA,
    ...                 uncertainty=InverseVariance([1.0, 1, 1] * unit**-2),
    ...                 mask=[False, False, True])
    >>> red = Spectrum(flux=[5.0, 6.0] * unit, spectral_axis=[4002, 4003] * u.AA,
    ...                uncertainty=InverseVariance([4.0, 4] * unit**-2))
    >>> _, wavelength, flux, ivar, mask = join_arms(SpectrumList([blue, red]))
    >>> wavelength, flux[0], ivar[0]
    (array([4000., 4001., 4002., 4003.]), array([1., 2., 5., 6.]), array([1., 1., 4., 4.]))
    """
    arms = sorted(arms, key=lambda arm: arm.spectral_axis[0].to_value(u.AA, u.spectral()))
    targetids = _targetids(arms)
    rows = np.arange(targetids.size) if rows is None else np.asarray(rows, dtype=int)
    arrays = [_arm_arrays(arm) for arm in arms]
    axis = _joined_axis([wavelength for wavelength, *_ in arrays])
    weight = np.zeros((rows.size, axis.size))
    weighted = np.zeros((rows.size, axis.size))
    for wavelength, flux, ivar, good in arrays:
        inside, low, high, fraction = _on_axis(wavelength, axis)
        flux, ivar, good = flux[rows], ivar[rows], good[rows]
        ok = good[:, low] & (good[:, high] | (fraction == 0))
        arm_ivar = np.where(ok, ivar[:, low] * (1 - fraction) + ivar[:, high] * fraction, 0.0)
        arm_flux = np.where(ok, flux[:, low] * (1 - fraction) + flux[:, high] * fraction, 0.0)
        weight[:, inside] += arm_ivar
        weighted[:, inside] += arm_ivar * arm_flux
    ids, first, inverse = np.unique(targetids[rows], return_index=True, return_inverse=True)
    order = np.argsort(first)
    if ids.size < rows.size:  # a spectra file's exposures of a target are summed like its arms
        members = (np.arange(ids.size)[:, None] == inverse[None, :])[order].astype(float)
        weight, weighted = members @ weight, members @ weighted
    mask = weight <= 0
    flux = np.divide(weighted, weight, out=np.zeros_like(weighted), where=~mask)
    return ids[order], axis, flux, weight, mask


def _fibermap_rows(arms):
    """Row numbers of each TARGETID (the first row of a target holds its FIBERMAP entry)."""
    rows = {}
    for row, target in enumerate(_targetids(arms)):
        rows.setdefault(int(target), row)
    return rows


def desi_targets(source, targets=None):
    """Yield ``(TARGETID, Spectrum)`` for the targets of a DESI file, arms joined.

    Parameters
    ----------
    source : str, path-like, `~astropy.io.fits.HDUList` or `~specutils.SpectrumList`
        A DESI coadd or spectra file (read with specutils' ``DESI coadd`` or ``DESI spectra``
        loader), or the arms it was read into.
    targets : sequence of int, optional
        Only these TARGETIDs, in this order (default: every target of the file, in file order).

    Yields
    ------
    targetid : int
    spectrum : `~specutils.Spectrum`
        Vacuum wavelengths in Å, flux in 1e-17 erg s⁻¹ cm⁻² Å⁻¹, inverse-variance uncertainty,
        mask, and in ``meta``: ``survey`` ("DESI"), ``source``, ``targetid``, ``header`` (the
        primary header), ``fibermap`` (the target's FIBERMAP row as a dict), ``snr`` (median S/N
        per pixel of each arm), and when a redrock or zbest file beside the source gives a
        trustworthy redshift (``ZWARN == 0``): ``redshift``, ``redshift_source`` ("redrock"),
        ``redshift_file``, ``class`` (SPECTYPE) and ``subclass`` (SUBTYPE).

    Raises
    ------
    ValueError
        If the source is not a DESI file, or a requested TARGETID is not in it.

    Examples
    --------
    >>> from spec_o3.io import desi_targets
    >>> for targetid, spectrum in desi_targets("coadd-sv1-bright-10378.fits"):  # doctest: +SKIP
    ...     print(targetid, spectrum.meta["redshift"], spectrum.meta["class"])
    """
    arms, path = _read_arms(source)
    name = path or source_name(source)
    rows_of = _fibermap_rows(arms)
    if not rows_of:
        raise ValueError(f"{name}: the file holds no targets")
    wanted = list(rows_of) if targets is None else [int(target) for target in targets]
    missing = [target for target in wanted if target not in rows_of]
    if missing:
        raise ValueError(f"{name}: no TARGETID {', '.join(map(str, missing))} among the "
                         f"{len(rows_of)} targets of this file")
    all_ids = _targetids(arms)
    rows = np.flatnonzero(np.isin(all_ids, wanted))
    ids, wavelength, flux, ivar, mask = join_arms(arms, rows)
    position = {int(target): index for index, target in enumerate(ids)}
    redshifts = redshift_catalogue(path) if path is not None else {}
    fibermap, ranges = _meta(arms, "fibermap"), _arm_ranges(arms)
    for target in wanted:
        index = position[target]
        meta = {"survey": "DESI", "source": path, "targetid": target if fibermap else None,
                "header": _meta(arms, "header"),
                "fibermap": _row_dict(fibermap, rows_of[target]),
                "snr": _arm_snr(ranges, wavelength, flux[index], ivar[index], mask[index])}
        meta.update(redshifts.get(target, {}))
        yield target, build_spectrum(name, flux=flux[index], ivar=ivar[index],
                                     wavelength=wavelength, bad=mask[index], unit=_FLUX_UNIT,
                                     meta=meta)


def _row_dict(table, row):
    if table is None:
        return {}
    return {name: value.item() if isinstance(value, np.generic) else value
            for name, value in zip(table.colnames, table[row], strict=True)}


def _arm_ranges(arms):
    """Arm name -> (first, last) wavelength in Å."""
    return {
        arm.meta.get("band", str(number)): tuple(
            arm.spectral_axis[[0, -1]].to_value(u.AA, u.spectral())
        )
        for number, arm in enumerate(arms)
    }


def _arm_snr(ranges, wavelength, flux, ivar, mask):
    """Median S/N per valid pixel of a joined spectrum over the range of each arm."""
    snr = {}
    for band, (low, high) in ranges.items():
        inside = (wavelength >= low) & (wavelength <= high) & ~mask
        values = np.abs(flux[inside]) * np.sqrt(ivar[inside])
        snr[band] = float(np.median(values)) if values.size else 0.0
    return snr


def redshift_catalogue(path):
    """Redshifts of the targets of a DESI file from the redrock (or zbest) file beside it.

    ``coadd-X.fits`` and ``spectra-X.fits`` look for ``redrock-X.fits``, then ``zbest-X.fits``, in
    the same folder; a redshift flagged by redrock (``ZWARN != 0``) is not used.

    Parameters
    ----------
    path : str or path-like
        The DESI spectra or coadd file.

    Returns
    -------
    dict
        TARGETID -> ``meta`` entries: ``redshift``, ``redshift_source`` ("redrock"),
        ``redshift_file``, ``class`` and ``subclass`` for trustworthy redshifts; only
        ``redshift_file``, ``zwarn``, ``class`` and ``subclass`` for flagged ones. Empty when no
        catalogue lies beside the file.

    Raises
    ------
    ValueError
        If the catalogue beside the file cannot be read.

    Examples
    --------
    >>> from spec_o3.io import redshift_catalogue
    >>> redshift_catalogue("no-such-coadd.fits")
    {}
    """
    path = Path(path)
    if not _SPECTRA_PREFIX.match(path.name):
        return {}
    for prefix, extension in _REDSHIFT_FILES:
        catalogue = path.with_name(_SPECTRA_PREFIX.sub(f"{prefix}-", path.name))
        if catalogue.is_file():
            return _read_redshifts(catalogue, extension)
    return {}


def _read_redshifts(catalogue, extension):
    try:
        with fits.open(catalogue) as hdulist:
            table = hdulist[extension].data
            columns = {name: np.asarray(table[name]) for name in
                       ("TARGETID", "Z", "ZWARN", "SPECTYPE", "SUBTYPE")
                       if name in table.columns.names}
    except (OSError, KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{catalogue}: cannot read the {extension} table of this redshift "
                         f"catalogue ({error})") from error
    missing = {"TARGETID", "Z", "ZWARN"} - set(columns)
    if missing:
        raise ValueError(f"{catalogue}: the {extension} table lacks {', '.join(sorted(missing))}")
    found = {}
    for index, target in enumerate(columns["TARGETID"]):
        entry = {"redshift_file": str(catalogue)}
        for column, key in (("SPECTYPE", "class"), ("SUBTYPE", "subclass")):
            if column in columns:
                entry[key] = str(columns[column][index]).strip() or None
        redshift = header_redshift(columns["Z"][index])
        if int(columns["ZWARN"][index]) == 0 and redshift is not None:
            entry.update(redshift=redshift, redshift_source="redrock")
        else:
            entry["zwarn"] = int(columns["ZWARN"][index])
        found[int(target)] = entry
    return found


def iter_targets(source, target=None):
    """Yield ``(TARGETID, Spectrum)`` for every spectrum a file or object holds, for inspection.

    A DESI file or `~specutils.SpectrumList` of arms yields each target (see `desi_targets`); any
    other file yields ``(None, spectrum)`` once, read by `~spec_o3.io.read_for_inspection`, and a
    `~specutils.Spectrum` yields itself.

    Parameters
    ----------
    source : str, path-like, `~specutils.Spectrum` or `~specutils.SpectrumList`
    target : int, optional
        Only this TARGETID (DESI only).

    Raises
    ------
    UnvettableSpectrum
        If the file cannot be read, or ``target`` is not in it or given for a file of one spectrum.

    Examples
    --------
    >>> from spec_o3.io import iter_targets
    >>> [targetid for targetid, _ in iter_targets("coadd-main-dark-1.fits")]  # doctest: +SKIP
    [39627652591847724, 39627652591847731]
    """
    from spec_o3.exceptions import UnvettableSpectrum

    from .survey import read_for_inspection, read_format_for_inspection, survey_format

    name = source_name(source)
    format_name = survey_format(source) if target is None else None
    if format_name is not None:  # a LAMOST or SDSS file, not DESI: read it directly
        yield None, read_format_for_inspection(source, format_name)
        return
    with contextlib.ExitStack() as stack:
        arms = source if isinstance(source, SpectrumList) else None
        readable = isinstance(source, (str, os.PathLike, fits.HDUList, io.IOBase))
        if readable:
            with contextlib.suppress(OSError):  # missing or not FITS: read_for_inspection says so
                hdulist = stack.enter_context(open_fits(source))
                arms = hdulist if desi_format(hdulist) is not None else None
                source = hdulist  # read once
        if arms is None:
            if target is not None:
                raise UnvettableSpectrum(name, "target= selects a target of a DESI file; this "
                                         "spectrum is a single target")
            yield None, read_for_inspection(source) if readable else source
            return
        try:  # read while the file is open; the arms of all targets are joined at once
            spectra = list(desi_targets(arms, None if target is None else [target]))
        except (OSError, ValueError, KeyError) as error:
            raise UnvettableSpectrum(name, " ".join(str(error).removeprefix(f"{name}: ").split())) \
                from error
    yield from spectra


def target_name(source, targetid):
    """How messages, rows and trajectories name a spectrum: its file, then ``#TARGETID`` for a
    target of a DESI file.

    Examples
    --------
    >>> target_name("coadd-main-dark-1.fits", 39627652591847724)
    'coadd-main-dark-1.fits#39627652591847724'
    >>> target_name("spec-55862-B6212_sp06-003.fits", None)
    'spec-55862-B6212_sp06-003.fits'
    """
    if source is None or targetid is None or str(source).endswith(f"#{targetid}"):
        return source
    return f"{source}#{targetid}"


def read_target(source, target=None):
    """The one spectrum of a file or object to vet: its only target, or TARGETID ``target``.

    Raises
    ------
    ValueError
        If a DESI source holds several targets and ``target`` is not given (the message names how
        many, and `spec_o3.agent.vet_targets` which vets them all).
    UnvettableSpectrum
        As `iter_targets`.
    """
    spectra = iter_targets(source, target)
    first = next(spectra)
    rest = sum(1 for _ in spectra)
    if rest:
        name = "the arms" if isinstance(source, SpectrumList) else source_name(source)
        raise ValueError(f"{name}: a DESI file of {rest + 1} targets, not one spectrum: pass "
                         "target=<TARGETID> to vet one, or spec_o3.vet_targets(...) to vet "
                         "them all")
    return first[1]


def write_desi_coadd(path, arms, *, overwrite=False, redshifts=None):
    """Write DESI arms as a coadd file in the official layout (and optionally its redrock file).

    The layout is the ``coadd-SURVEY-PROGRAM-PIXNUM.fits`` data model: an empty primary HDU naming
    its input (``INFIL000``), ``FIBERMAP``, then ``<ARM>_WAVELENGTH``, ``_FLUX``, ``_IVAR`` and
    ``_MASK`` per arm, then ``SCORES``; specutils' ``DESI coadd`` loader reads it back.

    Parameters
    ----------
    path : str or path-like
        Output file, named ``coadd-*.fits`` so that a redrock file can sit beside it.
    arms : `~specutils.SpectrumList`
        One `~specutils.Spectrum` per arm with ``meta["band"]`` ("b", "r", "z"), flux of shape
        (targets, pixels) in a flux-density unit and an inverse-variance uncertainty; the first
        arm's ``meta["fibermap"]`` is a table with a ``TARGETID`` column.
    overwrite : bool, optional
        Replace existing files.
    redshifts : `~astropy.table.Table`, optional
        Columns TARGETID, Z, ZERR, ZWARN, SPECTYPE and SUBTYPE: written as the ``REDSHIFTS`` HDU
        of ``redrock-*.fits`` beside ``path``.

    Examples
    --------
    >>> import numpy as np, astropy.units as u, pathlib, tempfile
    >>> from astropy.nddata import InverseVariance
    >>> from astropy.table import Table
    >>> from specutils import Spectrum, SpectrumList
    >>> unit = u.Unit("1e-17 erg / (s cm2 Angstrom)")
    >>> arms = SpectrumList(
    ...     Spectrum(flux=np.ones((2, 5)) * unit, spectral_axis=(start + 0.8 * np.arange(5)) * u.AA,
    ...              uncertainty=InverseVariance(np.ones((2, 5)) * unit**-2), meta={"band": band})
    ...     for band, start in (("b", 3600), ("r", 3602.4)))
    >>> arms[0].meta["fibermap"] = Table({"TARGETID": [11, 12]})
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "coadd-sv1-bright-1.fits"
    >>> write_desi_coadd(path, arms)
    >>> [targetid for targetid, _ in desi_targets(path)]
    [11, 12]
    """
    path = Path(path)
    fibermap = arms[0].meta["fibermap"]
    primary = fits.PrimaryHDU()
    primary.header["INFIL000"] = _SPECTRA_PREFIX.sub("spectra-", path.name)
    hdus = [primary, fits.BinTableHDU(fibermap, name="FIBERMAP")]
    for arm in arms:
        band = arm.meta["band"].upper()
        flux = arm.flux.to(_FLUX_UNIT, u.spectral_density(arm.spectral_axis))
        ivar = _inverse_variance(arm)
        mask = np.zeros(flux.shape, np.int32) if arm.mask is None else arm.mask.astype(np.int32)
        for kind, data, unit in (
            ("WAVELENGTH", arm.spectral_axis.to_value(u.AA), u.AA),
            ("FLUX", flux.value.astype(np.float32), _FLUX_UNIT),
            ("IVAR", ivar.to_value(_FLUX_UNIT**-2).astype(np.float32), _FLUX_UNIT**-2),
            ("MASK", mask, None),
        ):
            hdu = fits.ImageHDU(data, name=f"{band}_{kind}")
            if unit is not None:
                hdu.header["BUNIT"] = unit.to_string("fits")
            hdus.append(hdu)
    scores = {"TARGETID": np.asarray(fibermap["TARGETID"], np.int64)}
    hdus.append(fits.BinTableHDU.from_columns(
        [fits.Column(name="TARGETID", format="K", array=scores["TARGETID"])], name="SCORES"))
    fits.HDUList(hdus).writeto(path, overwrite=overwrite)
    if redshifts is not None:
        redrock = path.with_name(_SPECTRA_PREFIX.sub("redrock-", path.name))
        fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU(redshifts, name="REDSHIFTS")]).writeto(
            redrock, overwrite=overwrite)
