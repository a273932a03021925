"""Real reference spectra as the expert sees them: library stars, white-dwarf standards and the
spectra of ``real_extra``, degraded to LAMOST quality by
`spec_o3.simulate.instrument.degrade_to_survey`.

The test fixture ``reference_star`` reads them from ``tests/data`` (the few files the tests use);
``benchmarks/validate_expert_real.py`` and ``benchmarks/realism_check.py`` from the whole of
``shared/data``. Both folders have the same layout.

``real_extra/manifest.csv`` has one row per spectrum (one per ``TARGET<id>`` column of the
multi-object DESI files) with its format, object, ``label_class`` (``white_dwarf``, ``m_giant``,
``cataclysmic_variable``, ``carbon_star``, ``s_star`` or ``confuser:<kind>``), ``label_subtype``
and notes. `FORMATS` maps each file pattern to a small reader and to what the source is like:

=========================  =====  ================  ============================================
files                      air?   FWHM (Å)          reader
=========================  =====  ================  ============================================
desihigh/coadd-*.fits      no     1.8 (R~2000-5000)  TARGET<id> column; redshift from zbest-*.fits
mdwarfmachine/*.fits.gz    --     --                LAMOST DR6: the package's reader, as observed
drpy_okestan/f*.dat        yes    bin (7 / 13)      Oke 1990: F_lambda in 1e-16 erg/s/cm2/Å
specreduce_snf/*.dat       yes    bin (4.2)         SNfactory (Hamuy): AB mag -> F_nu -> F_lambda
truecolortools/h_stis_*    no     5.5 (R~1000)      HST/STIS NGSL (vacuum)
truecolortools/*.txtA      yes    2 x step          Å, F_lambda (Krisciunas 2017, Boyd, Kowalski)
truecolortools/*.datA      yes    2 x step (2)      WR averages on a 1-Å grid (ADPS)
truecolortools/*.txt       yes    2 x step (4.8)    Reid 2000: wavelengths in NANOMETRES
truecolortools/*.fit       yes    λ / SPE_RPOW      amateur 1-D FITS, linear WCS (R~500: 11 Å)
cne_external/*.csv         yes    2 x dispersion    Open Nova Catalog: Å, F_lambda, no header
=========================  =====  ================  ============================================

"2 x step": the source does not state its resolution, so the spectrum is taken as Nyquist-sampled.
A FWHM coarser than LAMOST's (≈3.1 Å at 5500 Å) leaves the spectrum unsmoothed whatever its value:
only DESI and the WR averages are actually convolved down to R = 1800.
"""

import csv
import fnmatch
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.constants import c
from astropy.io import fits
from astropy.table import Table
from specutils import Spectrum
from specutils.utils.wcs_utils import air_to_vac

from spec_o3.io import read_survey_spectrum
from spec_o3.simulate.instrument import degrade_to_survey

#: Speed of light in Å/s (F_nu -> F_lambda).
C_AA = c.to_value(u.AA / u.s)
#: Resolution (FWHM, Å) of the libraries whose headers do not give it (STELIB).
_LIBRARY_FWHM = {"miles": 2.5, "stelib": 3.0}


def library_star(path, *, snr, seed, ebv=0.0):
    """A MILES or STELIB star (air wavelengths, linear grid) as a LAMOST-like survey spectrum,
    behind ``ebv`` more dust."""
    path = Path(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # STELIB headers carry non-standard keywords
        with fits.open(path) as hdul:
            flux, header = hdul[0].data.astype(float), hdul[0].header
    air = header["CRVAL1"] + header["CDELT1"] * (np.arange(flux.size) + 1 - header.get("CRPIX1", 1))
    fwhm = header.get("FWHM", _LIBRARY_FWHM["stelib" if "STELIB" in path.name else "miles"])
    vacuum = air_to_vac(air * u.AA).value
    return degrade_to_survey(vacuum, flux, fwhm, snr=snr, seed=seed, ebv=ebv)


def white_dwarf_standard(path, *, snr, seed, ebv=0.0):
    """A white-dwarf flux standard (vacuum Å on a 1 Å grid) as a LAMOST-like survey spectrum,
    behind ``ebv`` more dust."""
    table = Table.read(path)
    flux = np.asarray(table["flux"], float)
    return degrade_to_survey(table["wavelength"].value, flux, 1.0, snr=snr, seed=seed, ebv=ebv)


@dataclass(frozen=True)
class Raw:
    """A spectrum as read: wavelength (Å), F_lambda, its FWHM (Å) and redshift where known."""

    wave: np.ndarray
    flux: np.ndarray
    fwhm: float | None = None
    redshift: float = 0.0


@dataclass(frozen=True)
class Format:
    """How to read the files matching ``pattern`` (relative to ``real_extra``).

    ``read(path, entry)`` returns a `Raw` (or a survey `~specutils.Spectrum` when ``observed``);
    ``air``: its wavelengths are in air; ``fwhm``: resolution FWHM (Å) when the reader gives none
    (``None``: twice the median sampling step).
    """

    pattern: str
    read: Callable
    air: bool = True
    fwhm: float | None = None
    observed: bool = False


def _columns(path, *columns, **kwargs):
    """Columns of a whitespace- (or ``delimiter``-) separated text file, ``#`` lines skipped."""
    return np.loadtxt(path, usecols=columns, comments="#", unpack=True, **kwargs)


def read_columns(path, entry):
    """Two columns: wavelength (Å) and F_lambda (TrueColorTools ``.txtA``/``.datA``)."""
    wave, flux = _columns(path, 0, 1)
    return Raw(wave, flux)


def read_nanometres(path, entry):
    """Two columns with the wavelength in nm (TrueColorTools Reid 2000 ``.txt``)."""
    wave, flux = _columns(path, 0, 1)
    return Raw(wave * 10.0, flux)


def read_oke(path, entry):
    """Oke (1990) ``f*.dat``: Å, F_lambda (1e-16 erg/s/cm2/Å), F_nu, bin; the bin is the FWHM."""
    wave, flux, width = _columns(path, 0, 1, 3)
    return Raw(wave, flux * 1e-16, fwhm=float(np.median(width)))


def read_snfactory(path, entry):
    """SNfactory ``.dat``: Å, AB mag, bin; F_nu = 10^(-0.4 (AB + 48.6)), F_lambda = F_nu c / λ²."""
    wave, ab, width = _columns(path, 0, 1, 2)
    f_nu = 10 ** (-0.4 * (ab + 48.6))
    return Raw(wave, f_nu * C_AA / wave**2, fwhm=float(np.median(width)))


def read_linear_fits(path, entry):
    """1-D FITS image with a linear WCS; FWHM from the resolving power SPE_RPOW when given."""
    with fits.open(path) as hdul:
        flux, header = hdul[0].data.astype(float), hdul[0].header
    pixel = np.arange(flux.size) + 1 - header.get("CRPIX1", 1)
    wave = header["CRVAL1"] + header["CDELT1"] * pixel
    power = header.get("SPE_RPOW") or header.get("BSS_ITRP")
    return Raw(wave, flux, fwhm=float(np.median(wave) / power) if power else None)


def read_desi(path, entry):
    """One ``TARGET<id>`` column of a DESI High coadd; its redshift from the matching zbest file."""
    target = int(re.search(r"TARGETID (\d+)", entry["object_name"]).group(1))
    table = Table.read(path)
    zbest = Table.read(Path(path).with_name(Path(path).name.replace("coadd-", "zbest-")))
    (redshift,) = zbest["Z"][zbest["TARGETID"] == target]
    wave = np.asarray(table["WAVELENGTH"], float)
    return Raw(wave, np.asarray(table[f"TARGET{target}"], float), redshift=float(redshift))


def read_lamost(path, entry):
    """A LAMOST LRS spec file read with the package's reader (already survey quality)."""
    return read_survey_spectrum(path)


def read_nova(path, entry):
    """Open Nova Catalog CSV (Å, F_lambda, no header): the first epoch, FWHM 2 x its dispersion.

    A file may concatenate several epochs, each restarting the wavelength scale: only the first
    increasing run is kept. The dispersion (Å/pixel) comes from the ``*_MetaData.csv`` row naming
    this file. (The eight files of ``real_extra`` hold one epoch each.)
    """
    wave, flux = _columns(path, 0, 1, delimiter=",")
    restart = np.flatnonzero(np.diff(wave) <= 0)
    end = restart[0] + 1 if restart.size else wave.size
    return Raw(wave[:end], flux[:end], fwhm=2.0 * _nova_dispersion(Path(path)))


def _nova_dispersion(path):
    """Dispersion (Å/pixel) of an Open Nova Catalog spectrum from its directory's metadata files."""
    for meta in path.parent.glob("*_MetaData.csv"):
        with open(meta, newline="") as handle:
            for row in csv.DictReader(handle):
                if row["#FILENAME"] == path.name:
                    return float(row["DISPERSION"])
    raise LookupError(f"no *_MetaData.csv row names {path.name}")


#: Reader and source properties per file pattern; the first match wins (see the module docstring).
FORMATS = (
    Format("desihigh/coadd-*.fits", read_desi, air=False, fwhm=1.8),
    Format("mdwarfmachine/*.fits.gz", read_lamost, observed=True),
    Format("drpy_okestan/f*.dat", read_oke),
    Format("specreduce_snf/*.dat", read_snfactory),
    Format("truecolortools/h_stis_*.txtA", read_columns, air=False, fwhm=5.5),
    Format("truecolortools/*.txtA", read_columns),
    Format("truecolortools/*.datA", read_columns),
    Format("truecolortools/*.txt", read_nanometres),
    Format("truecolortools/*.fit", read_linear_fits),
    Format("cne_external/*.csv", read_nova),
)


def format_of(file):
    """The `Format` of a manifest ``file`` (path relative to ``real_extra``)."""
    for fmt in FORMATS:
        if fnmatch.fnmatch(file, fmt.pattern):
            return fmt
    raise ValueError(f"no reader for {file}")


def read(root, entry):
    """A manifest entry as a `Raw` in vacuum Å, increasing, flux scaled to median 1; or, for
    survey files read as observed, a `~specutils.Spectrum`."""
    fmt = format_of(entry["file"])
    raw = fmt.read(Path(root) / entry["file"], entry)
    if fmt.observed:
        return raw
    wave, index = np.unique(raw.wave, return_index=True)  # sorted, duplicate points dropped
    flux = raw.flux[index]
    good = np.isfinite(wave) & np.isfinite(flux)
    wave, flux = wave[good], flux[good]
    if fmt.air:
        wave = air_to_vac(wave * u.AA).value
    fwhm = raw.fwhm or fmt.fwhm or 2.0 * float(np.median(np.diff(wave)))
    scale = np.median(flux[flux > 0])
    return Raw(wave, flux / scale, fwhm, raw.redshift)


def real_extra_spectrum(root, entry, *, snr, seed, noise_seed=None, ebv=0.0):
    """A ``real_extra`` manifest entry as the expert sees it: ``(spectrum, redshift, observed)``;
    behind ``ebv`` more dust (at the observed wavelengths, where Galactic dust acts) and degraded
    to LAMOST quality with the noise of ``noise_seed`` (default ``seed``), or read as
    observed (LAMOST files; `None` for realisation ``seed`` > 0)."""
    raw = read(root, entry)
    if isinstance(raw, Spectrum):
        return None if seed else (raw, 0.0, True)
    noise_seed = seed if noise_seed is None else noise_seed
    spectrum = degrade_to_survey(raw.wave, raw.flux, raw.fwhm, snr=snr, seed=noise_seed, ebv=ebv)
    return spectrum, raw.redshift, False


def real_extra_star(root, file, *, snr, seed=0):
    """The first object of the ``real_extra`` file ``file`` (as named in its manifest), degraded
    as `real_extra_spectrum` degrades it: ``(spectrum, redshift)``."""
    entry = next(e for e in manifest(root) if e["file"] == file)
    spectrum, redshift, _ = real_extra_spectrum(root, entry, snr=snr, seed=seed)
    return spectrum, redshift


def manifest(root):
    """Rows of ``real_extra/manifest.csv`` as dicts."""
    with open(Path(root) / "manifest.csv", newline="") as handle:
        return list(csv.DictReader(handle))


#: Entries (by file; all objects of that file) whose label for a task is genuinely ambiguous:
#: scored as unlabelled (None) for those tasks and listed.
AMBIGUOUS = {
    # V3890 Sgr: a symbiotic recurrent nova (M5 III donor). A nova is a CV, but the project's
    # taxonomy makes symbiotic stars CV confusers; and the giant's TiO may legitimately show.
    "cne_external/V3890SGD_Williams_Optical_Spectra.csv": ("cataclysmic_variable", "m_giant"),
    # Betelgeuse (M1-2 Ia-Iab): a confuser in the manifest, but the MILES/STELIB labels count M
    # supergiants (luminosity classes I-III) as M giants.
    "truecolortools/hr2061_final.txtA": ("m_giant",),
    # Feige 110: sdOB ("sometimes DOp"), "DA:" in STELIB, unlabelled there too.
    "drpy_okestan/ffeige110.dat": ("white_dwarf",),
    # Gacrux (M3.5 III): the wavelengths of this blue-only spectrum are compressed red of 5400 Å,
    # its TiO heads found 6 Å (5448), 22 Å (5847) and 43 Å (6159) blueward of where they are, so
    # the bands fall outside the windows that decide both tasks.
    "truecolortools/hr4763_blue_fin.txtA": ("m_giant", "carbon_star"),
}


def labels(entry, tasks):
    """Per-task labels (True/False/None) of a manifest entry.

    A positive is YES for its ``label_class`` and NO for the other tasks; a ``confuser:<kind>`` is
    NO for every task; `AMBIGUOUS` entries are None for the tasks named.
    """
    label_class = entry["label_class"]
    if label_class not in tasks and not label_class.startswith("confuser:"):
        raise ValueError(f"{entry['file']}: unknown label_class {label_class!r}")
    result = {task: task == label_class for task in tasks}
    for task in AMBIGUOUS.get(entry["file"], ()):
        result[task] = None
    return result


def short_name(entry):
    """``<source directory>: <object>`` without bracketed remarks, e.g. ``drpy_okestan: GD 248``."""
    obj = re.sub(r"\s*\([^)]*\)", "", entry["object_name"]).strip()
    return f"{entry['file'].split('/')[0]}: {obj}"
