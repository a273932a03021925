"""Plumbing shared by the inspection tools: a spectrum as plain arrays in Å, and window parsing."""

import functools
from dataclasses import dataclass

import astropy.units as u
import numpy as np
from astropy.nddata import InverseVariance, StdDevUncertainty, VarianceUncertainty
from specutils import SpectralRegion

__all__ = [
    "SpectrumArrays",
    "spectrum_arrays",
    "noise_sigma",
    "parse_region",
    "check_window",
    "check_inspectable",
    "format_range",
    "pixel_widths",
]

#: Pixels of the running median that smooths the noise estimated without an uncertainty.
_NOISE_WINDOW = 101
#: Fewest valid pixels worth inspecting: one diagnostic window holds about 50 LAMOST pixels.
MIN_VALID_PIXELS = 20
#: Fewest valid pixels of a window that `check_window` lets through by default.
MIN_WINDOW_PIXELS = 2
#: A reference wavelength at which a flux unit is tested for being a flux density.
_ANY_OPTICAL_WAVELENGTH = 5500 * u.AA
#: Units of raw or relative fluxes (counts, detector units), accepted besides flux densities.
_COUNT_UNITS = (u.count, u.adu, u.electron, u.photon)


def pixel_widths(wavelength):
    """Width of each pixel from its neighbours' wavelengths (one-sided at the ends).

    The same numbers as ``np.gradient(wavelength)`` (``edge_order=1``, unit spacing) without its
    generality, which costs more than the arithmetic on the windows of a few dozen pixels the
    measurements take it of, thousands of times per spectrum. Needs at least two pixels.

    Examples
    --------
    >>> import numpy as np
    >>> from spec_o3.analysis.arrays import pixel_widths
    >>> pixel_widths(np.array([4000.0, 4001.0, 4003.0, 4006.0]))
    array([1. , 1.5, 2.5, 3. ])
    """
    width = np.empty(wavelength.size)
    width[0] = wavelength[1] - wavelength[0]
    width[-1] = wavelength[-1] - wavelength[-2]
    width[1:-1] = (wavelength[2:] - wavelength[:-2]) / 2.0
    return width


def window_pixels(wavelength, lo, hi):
    """The pixels of many windows ``[lo[i], hi[i]]`` of a sorted grid, one window after the other.

    Returns ``(pixel, offset, size)``: window ``i`` holds the ``size[i]`` pixels
    ``pixel[offset[i]:offset[i] + size[i]]`` of ``wavelength``, which measurements of many small
    windows gather in one go (a few NumPy calls in all, not a few per window).

    Examples
    --------
    >>> import numpy as np
    >>> pixel, offset, size = window_pixels(np.arange(10.0), [2, 7, 20], [4, 8, 30])
    >>> pixel, offset, size
    (array([2, 3, 4, 7, 8]), array([0, 3, 5]), array([3, 2, 0]))
    >>> window_sums(np.array([np.arange(10.0)[pixel]]), offset, size)
    array([[ 9., 15.,  0.]])
    """
    start = wavelength.searchsorted(lo, "left")
    size = np.maximum(wavelength.searchsorted(hi, "right") - start, 0)
    offset = np.cumsum(size) - size
    pixel = np.arange(size.sum()) + np.repeat(start - offset, size)
    return pixel, offset, size


def window_sums(rows, offset, size):
    """Per-window sums of ``rows`` (values of the pixels of `window_pixels`, one row per
    quantity): one `numpy.ufunc.reduceat` for all windows, zero for empty windows."""
    padded = np.zeros((rows.shape[0], rows.shape[1] + 1))  # empty windows may start at the end
    padded[:, :-1] = rows
    return np.where(size > 0, np.add.reduceat(padded, offset, axis=1), 0.0)


@dataclass(frozen=True)
class SpectrumArrays:
    """A 1-D spectrum reduced to the arrays the tools compute on.

    ``wavelength`` is in Å, increasing, in the rest frame when a redshift was given (otherwise as
    stored); ``sigma`` is the 1-sigma flux uncertainty (``None`` when the spectrum has none);
    ``good`` marks unmasked pixels with finite flux (and positive finite uncertainty), but for
    a flux of exactly zero without a variance (a survey's fill value).
    """

    wavelength: np.ndarray
    flux: np.ndarray
    sigma: np.ndarray | None
    good: np.ndarray
    flux_unit: u.UnitBase
    redshift: float | None

    @functools.cached_property
    def widths(self):
        """`pixel_widths` of the whole grid: a window's widths are its slice of these, but for
        its two edge pixels (measured one-sided)."""
        return pixel_widths(self.wavelength)

    @functools.cached_property
    def good_before(self):
        """How many valid pixels come before each pixel, and in all: pixels ``start:stop`` hold
        ``good_before[stop] - good_before[start]`` valid ones."""
        return np.concatenate(([0], np.cumsum(self.good)))

    def window_valid(self, lo, hi):
        """First and end pixel of the windows ``[lo, hi]`` Å, and how many valid pixels each holds
        (less than none where ``hi < lo``).

        ``lo`` and ``hi`` are numbers, or arrays of the edges of many windows (one NumPy call for
        them all, not a few per window).
        """
        start = self.wavelength.searchsorted(lo, "left")
        stop = self.wavelength.searchsorted(hi, "right")
        return start, stop, self.good_before[stop] - self.good_before[start]

    @property
    def data_range(self):
        """Text of the wavelength range covered by valid pixels, for error messages."""
        valid = self.wavelength[self.good]
        if valid.size == 0:
            return "no valid pixels"
        return format_range(valid[0], valid[-1], self.redshift)


def format_range(lo, hi, redshift=None):
    """``"6500.0–6600.0 Å"``, with the frame named when the wavelengths are rest-frame."""
    frame = "" if redshift is None else f" (rest frame, z = {redshift:g})"
    return f"{lo:.1f}–{hi:.1f} Å{frame}"


def _sigma(uncertainty, flux_unit):
    """1-sigma uncertainty in the flux unit from any of astropy's three uncertainty classes."""
    # Each class stores its array in its own unit (flux, flux**2 or flux**-2); None: as the flux.
    kinds = {
        StdDevUncertainty: (1, lambda a: a),
        VarianceUncertainty: (2, np.sqrt),
        InverseVariance: (-2, lambda a: 1 / np.sqrt(a)),
    }
    for cls, (power, to_sigma) in kinds.items():
        if isinstance(uncertainty, cls):
            array = np.asarray(uncertainty.array, dtype=float)
            if uncertainty.unit is not None:
                scale = _scale(uncertainty.unit, flux_unit, power)
                # As Quantity.to_value converts: no multiplication where the scale is one.
                array = array if scale == 1.0 else array * scale
            with np.errstate(divide="ignore", invalid="ignore"):
                return to_sigma(array)
    raise ValueError(
        f"unsupported uncertainty type {type(uncertainty).__name__}; use StdDevUncertainty, "
        "VarianceUncertainty or InverseVariance"
    )


@functools.lru_cache(maxsize=64)  # unit algebra costs more than the arithmetic on the array
def _scale(unit, flux_unit, power):
    """The factor from ``unit`` to ``flux_unit**power``: 1.0 where
    `~astropy.units.Quantity.to_value` leaves the values as they are (equal up to rounding)."""
    return u.Quantity(1.0, unit).to_value(flux_unit**power)


def _redshift(redshift):
    if redshift is None:
        return None
    z = float(redshift)
    if not np.isfinite(z) or z <= -1:
        raise ValueError(f"redshift must be a finite number above -1, got {redshift!r}")
    return z


def _fill_missing_sigma(sigma, good):
    """Give unmasked pixels without a variance estimate the noise of their nearest neighbours.

    Surveys leave zero inverse variance on real flux (LAMOST DR1 does so at emission-line peaks
    and absorption cores; see :ref:`zero-ivar`). Such pixels are still data; interpolating the
    noise across them keeps their flux in the measurement with a sensible weight.
    """
    known = np.isfinite(sigma) & (sigma > 0)
    missing = good & ~known
    if not missing.any() or not known.any():
        return sigma
    index = np.arange(sigma.size)
    filled = sigma.copy()
    filled[missing] = np.interp(index[missing], index[known], sigma[known])
    return filled


def spectrum_arrays(spectrum, redshift=None):
    """Reduce a 1-D `~specutils.Spectrum` to `SpectrumArrays` (Å, increasing, rest frame if z)."""
    if spectrum.flux.ndim != 1:
        raise ValueError(
            "the inspection tools take a 1-D spectrum; this one has flux of shape "
            f"{spectrum.flux.shape}"
        )
    axis = spectrum.spectral_axis
    try:
        # SpectralCoord.to_value is slow (Doppler bookkeeping); a plain Quantity converts at once.
        wavelength = u.Quantity(axis.value, axis.unit).to_value(u.AA, equivalencies=u.spectral())
    except u.UnitConversionError as exc:
        raise ValueError(
            f"spectral axis in {spectrum.spectral_axis.unit} cannot be converted to wavelength"
        ) from exc
    flux_unit = spectrum.flux.unit
    flux = np.asarray(spectrum.flux.value, dtype=float)
    good = np.isfinite(flux) & np.isfinite(wavelength)
    if spectrum.mask is not None:
        good &= ~np.asarray(spectrum.mask, dtype=bool)
    # A flux of exactly zero with no variance to it is a survey's fill value for missing pixels
    # (LAMOST's zeroed dichroic gap and red end, also in arrays passed on without their inverse
    # variance, as in released rows), not a measurement.
    sigma = None
    if spectrum.uncertainty is not None:
        sigma = _sigma(spectrum.uncertainty, flux_unit)
        good &= (flux != 0) | (np.isfinite(sigma) & (sigma > 0))
        sigma = _fill_missing_sigma(sigma, good)
        good &= np.isfinite(sigma) & (sigma > 0)
    else:
        good &= flux != 0
    # Frequency or energy axes come out decreasing in wavelength.
    if wavelength.size > 1 and wavelength[0] > wavelength[-1]:
        wavelength, flux, good = wavelength[::-1], flux[::-1], good[::-1]
        sigma = None if sigma is None else sigma[::-1]
    z = _redshift(redshift)
    if z is not None:
        wavelength = wavelength / (1 + z)
    return SpectrumArrays(wavelength, flux, sigma, good, flux_unit, z)


def _estimated_sigma(flux, good):
    """Per-pixel noise from the pixel-to-pixel scatter (DER_SNR, Stoehr et al. 2008), smoothed.

    The DER_SNR statistic, 1.482602 / sqrt(6) |2 F_i - F_{i-2} - F_{i+2}|, is unbiased for white
    noise and blind to features broader than a few pixels; its running median follows the noise
    level along the spectrum.
    """
    from scipy.ndimage import median_filter  # spectra with an uncertainty never need it

    valid = flux[good]
    sigma = np.full(flux.shape, np.nan)
    if valid.size < 5:
        return sigma
    scatter = 1.482602 / np.sqrt(6) * np.abs(2 * valid[2:-2] - valid[:-4] - valid[4:])
    smooth = median_filter(scatter, size=min(_NOISE_WINDOW, scatter.size), mode="nearest")
    sigma[good] = np.concatenate((smooth[:2], smooth, smooth[-2:])) if smooth.size else np.nan
    return sigma


def noise_sigma(arrays):
    """Per-pixel 1-sigma noise and where it came from: the uncertainty, or estimated."""
    if arrays.sigma is not None:
        return arrays.sigma, "from the spectrum's uncertainty"
    return _estimated_sigma(arrays.flux, arrays.good), (
        "estimated from the pixel-to-pixel scatter (DER_SNR): the spectrum has no uncertainty"
    )


def _to_angstrom(value, what):
    try:
        return u.Quantity(value).to_value(u.AA, equivalencies=u.spectral())
    except (u.UnitConversionError, TypeError) as exc:
        raise ValueError(
            f"{what} {value!r} must be a spectral Quantity (wavelength, frequency, energy or "
            "wavenumber), e.g. [6500, 6600] * u.AA"
        ) from exc


def parse_region(region):
    """Return the window(s) of ``region`` as a list of ``(lo, hi)`` pairs in Å.

    ``region`` is a `~specutils.SpectralRegion` (one pair per sub-region) or a ``(lo, hi)`` pair
    of spectral Quantities (or a Quantity of two values). Bounds given in frequency or energy are
    sorted after conversion.
    """
    if isinstance(region, SpectralRegion):
        pairs = [(lower, upper) for lower, upper in region.subregions]
    else:
        try:
            lower, upper = region
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"region must be a SpectralRegion or a (lo, hi) pair of Quantities, got {region!r}"
            ) from exc
        pairs = [(lower, upper)]
    windows = []
    for lower, upper in pairs:
        lo, hi = _to_angstrom(lower, "region bound"), _to_angstrom(upper, "region bound")
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError(f"region bounds must be finite, got {lower!r}, {upper!r}")
        # Compare in the given unit: a frequency window (lo < hi) maps to hi < lo in wavelength.
        upper_q = u.Quantity(upper)
        if u.Quantity(lower).to_value(upper_q.unit, equivalencies=u.spectral()) >= upper_q.value:
            raise ValueError(f"region lower bound {lower} is not below its upper bound {upper}")
        windows.append((min(lo, hi), max(lo, hi)))
    return windows


def check_inspectable(arrays):
    """Raise `ValueError`, in words a user can act on, if ``arrays`` hold nothing to inspect.

    A spectrum is inspectable when its wavelengths are finite and strictly increasing, its flux is
    a flux density, a count or a relative (dimensionless) flux, and at least
    ``MIN_VALID_PIXELS`` pixels are valid (finite flux, unmasked, positive finite uncertainty, and
    not a zero flux without a variance, a survey's fill value) with a flux that is not zero
    everywhere.

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from specutils import Spectrum
    >>> nan = Spectrum(flux=np.full(100, np.nan) * u.Jy,
    ...                spectral_axis=np.linspace(4000, 5000, 100) * u.AA)
    >>> check_inspectable(spectrum_arrays(nan))
    Traceback (most recent call last):
    ...
    ValueError: every flux value is NaN or infinite
    """
    wavelength, flux, good = arrays.wavelength, arrays.flux, arrays.good
    if wavelength.size == 0:
        raise ValueError("the spectrum holds no pixels")
    if not np.isfinite(wavelength).all():
        raise ValueError(
            f"{np.count_nonzero(~np.isfinite(wavelength))} of its {wavelength.size} wavelengths "
            "are NaN or infinite"
        )
    steps = np.diff(wavelength)
    if (steps <= 0).any():
        back = int(np.argmax(steps <= 0))
        raise ValueError(
            "its wavelengths are not strictly monotonic (pixel "
            f"{back + 1} at {wavelength[back + 1]:.2f} Å follows {wavelength[back]:.2f} Å): "
            "sort the pixels or drop the repeated ones"
        )
    if not _is_flux_unit(arrays.flux_unit):
        raise ValueError(
            f"its flux is in {arrays.flux_unit.to_string() or 'no unit'!s}, which is not a flux: "
            "give a flux density (e.g. erg / (s cm2 Angstrom) or Jy), counts or a dimensionless "
            "relative flux"
        )
    n_valid = int(np.count_nonzero(good))
    if n_valid < MIN_VALID_PIXELS:
        finite = np.isfinite(flux)
        if not finite.any():
            problem = "every flux value is NaN or infinite"
        elif not flux[finite].any():
            problem = "its flux is zero at every valid pixel"
        elif (
            arrays.sigma is not None
            and not (np.isfinite(arrays.sigma) & (arrays.sigma > 0))[finite].any()
        ):
            problem = (
                "its inverse variance (uncertainty) is zero, negative or missing at every pixel "
                "with a finite flux"
            )
        else:
            problem = (
                f"only {n_valid} of its {flux.size} pixels are valid (finite, unmasked, with a "
                "positive uncertainty, and not a zero flux without one, a fill value); at least "
                f"{MIN_VALID_PIXELS} are needed"
            )
        raise ValueError(problem)
    if not flux[good].any():
        raise ValueError("its flux is zero at every valid pixel")


@functools.lru_cache(maxsize=64)  # spectral_density's equivalency costs ~3 ms per call
def _is_flux_unit(unit):
    if unit.physical_type == "dimensionless":
        return True
    if unit.is_equivalent(
        u.erg / u.s / u.cm**2 / u.AA, equivalencies=u.spectral_density(_ANY_OPTICAL_WAVELENGTH)
    ):
        return True
    return any(base in _COUNT_UNITS for base in unit.decompose().bases)


def check_window(arrays, lo, hi, *, min_pixels=MIN_WINDOW_PIXELS):
    """Slice of the pixels in ``[lo, hi]``; ValueError if fewer than ``min_pixels`` are valid."""
    start, stop, n_valid = arrays.window_valid(lo, hi)
    n_valid = max(int(n_valid), 0)
    if n_valid < min_pixels:
        outside = hi < arrays.wavelength[0] or lo > arrays.wavelength[-1]
        problem = (
            "does not overlap the data"
            if outside
            else f"holds {n_valid} valid pixel{'s' if n_valid != 1 else ''} "
            f"(at least {min_pixels} needed)"
        )
        raise ValueError(
            f"window {format_range(lo, hi, arrays.redshift)} {problem}; the data cover "
            f"{arrays.data_range}"
        )
    return slice(start, stop)
