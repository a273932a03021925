"""Measure the depth of a molecular band against its pseudo-continuum."""

from functools import cache

import astropy.units as u
import numpy as np

from .arrays import format_range, noise_sigma, spectrum_arrays, window_pixels, window_sums

__all__ = ["band_strength"]

_WINDOWS = {
    "band": ("band_min", "band_max"),
    "blue continuum": ("blue_continuum_min", "blue_continuum_max"),
    "red continuum": ("red_continuum_min", "red_continuum_max"),
}


def _windows_of(row):
    """``{window: (lo, hi)}`` in Å from a band's row; windows without finite bounds are left out."""
    windows = {}
    for window, (lower, upper) in _WINDOWS.items():
        lo, hi = (u.Quantity(row[key]).to_value(u.AA) for key in (lower, upper))
        if np.isfinite(lo) and np.isfinite(hi):
            windows[window] = (lo, hi)
    return windows


@cache
def band_windows(name):
    """``{"band" / "blue continuum" / "red continuum": (lo, hi) in Å}`` of a catalogue band."""
    from ..catalog import get_band

    return _windows_of(get_band(name))


def _band(band):
    """``(name, windows)`` of a band given by catalogue name or as a row of the catalogue."""
    if isinstance(band, str):
        return band, band_windows(band)
    try:
        return str(band["name"]), _windows_of(band)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(
            "band must be a name from spec_o3.catalog.molecular_bands() or one of its rows, "
            f"got {band!r}"
        ) from exc


def window_means(arrays, sigma, good, lo, hi):
    """Width-weighted mean flux, its variance, mean wavelength and valid pixel count of windows.

    ``lo`` and ``hi`` (arrays, Å) bound the windows; each window's pixels are weighted by their
    widths from their neighbours (the grid is usually log-linear, not uniform), as `pixel_widths`
    of the window's own pixels gives them: the grid's, one-sided at the window's two edges. Only
    valid pixels (``good``) count. Returns four arrays, one value per window: ``mean``,
    ``variance``, ``centre`` (NaN for windows with fewer than two valid pixels) and ``n``.

    All windows are summed in one pass (`numpy.ufunc.reduceat` over their pixels gathered one
    window after the other), which costs little more than one window alone; it adds the pixels in
    another order than `numpy.dot` does, so a mean may differ from a dot product's in its last bits.
    """
    wave = arrays.wavelength
    pixel, offset, size = window_pixels(wave, lo, hi)
    keep = good[pixel]
    # Widths from the neighbours, one-sided at each window's two edge pixels; none where not valid.
    width = arrays.widths[pixel]
    ends = size >= 2
    head, tail = offset[ends], offset[ends] + size[ends] - 1
    first, last = pixel[head], pixel[tail]
    width[head] = wave[first + 1] - wave[first]
    width[tail] = wave[last] - wave[last - 1]
    width = np.where(keep, width, 0.0)
    # Flux, noise² and wavelength weighted, the width and the pixel count.
    sums = window_sums(
        np.array(
            [
                np.where(keep, arrays.flux[pixel], 0.0) * width,
                np.where(keep, sigma[pixel], 0.0) ** 2 * width**2,
                wave[pixel] * width,
                width,
                keep,
            ]
        ),
        offset,
        size,
    )
    n = sums[4].astype(int)
    valid = n >= 2
    mean, variance, centre = (np.full(n.size, np.nan) for _ in range(3))
    total = sums[3]
    np.divide(sums[0], total, out=mean, where=valid)
    np.divide(sums[1], total**2, out=variance, where=valid)
    np.divide(sums[2], total, out=centre, where=valid)
    return mean, variance, centre, n


def band_strength(spectrum, band, *, redshift=None):
    """Depth of a molecular band below its pseudo-continuum.

    The depth is ``1 - <F_band> / F_cont``: the mean flux in the band window over the
    pseudo-continuum at the band's centre, interpolated linearly in wavelength between the mean
    fluxes of the blue and red continuum windows (taken at their own centres). Means are
    weighted by pixel width and use valid pixels only; centres are the mean wavelengths of those
    pixels. 0 means no band; 0.3 means the band removes 30 % of the light.

    Parameters
    ----------
    spectrum : `~specutils.Spectrum`
        A 1-D spectrum. Masked pixels and pixels with non-finite flux or non-positive uncertainty
        are ignored.
    band : str or `~astropy.table.Row`
        A band of :func:`spec_o3.catalog.molecular_bands`, by name (e.g. ``"C2_5165"``,
        ``"TiO_7054"``, ``"ZrO_6474"``) or as a row of that table (or of any table with its window
        columns).
    redshift : float, optional
        The band's rest-frame windows are looked for at ``(1 + redshift)`` times their
        wavelengths; `None` means 0.

    Returns
    -------
    depth : `~astropy.units.Quantity`
        Dimensionless depth. Its ``info.meta`` holds ``"uncertainty"`` (1-sigma Quantity,
        propagated from the spectrum's uncertainty or, without one, from the noise estimated
        from the pixel-to-pixel scatter), ``"band"`` (name), ``"n_pixels"`` (valid pixels in the
        band window), ``"continuum"`` (``"blue and red"``, or the one side used) and ``"noise"``
        (where the noise came from). ``info.meta`` does not survive arithmetic: read it first.

    Raises
    ------
    ValueError
        If the band is unknown, if its band window holds fewer than two valid pixels, if neither
        continuum window does (the message names the band, its windows and the data range), or
        if the pseudo-continuum is not positive.

    Notes
    -----
    When only one continuum window has valid pixels (the other beyond the data or masked), the
    continuum is taken flat at that window's mean and ``info.meta["continuum"]`` says which side
    was used; on a sloping spectrum that biases the depth, so check it. The uncertainty
    propagates the band mean's and the continuum means' variances, pixels taken as independent.

    Examples
    --------
    >>> import numpy as np
    >>> import astropy.units as u
    >>> from astropy.modeling.models import Box1D
    >>> from astropy.nddata import StdDevUncertainty
    >>> from specutils import Spectrum
    >>> from spec_o3.analysis import band_strength
    >>> wavelength = np.linspace(4900, 5300, 400) * u.AA
    >>> band = Box1D(amplitude=0.3, x_0=5143, width=44)  # 30 % deep over the C2 5165 window
    >>> flux = 1 - band(wavelength.value)
    >>> spectrum = Spectrum(flux=flux * u.Jy, spectral_axis=wavelength,
    ...                     uncertainty=StdDevUncertainty(np.full(400, 0.02)))
    >>> depth = band_strength(spectrum, "C2_5165")
    >>> print(f"{depth:.2f}", f"{depth.info.meta['uncertainty']:.3f}")
    0.30 0.004
    """
    name, windows = _band(band)
    arrays = spectrum_arrays(spectrum, redshift)
    sigma, noise = noise_sigma(arrays)
    depth, variance, n_pixels, used = measure_depth(arrays, sigma, name, windows)
    result = u.Quantity(depth, u.dimensionless_unscaled)
    result.info.meta = {
        "uncertainty": u.Quantity(np.sqrt(variance), u.dimensionless_unscaled),
        "band": name,
        "n_pixels": n_pixels,
        "continuum": used,
        "noise": noise,
    }
    return result


def measure_depth(arrays, sigma, name, windows, good=None):
    """The arithmetic of `band_strength` on a reduced spectrum.

    ``arrays`` is a `~spec_o3.analysis.arrays.SpectrumArrays`, ``sigma`` its per-pixel noise and
    ``windows`` the band's ``{window: (lo, hi)}`` (`band_windows`); ``good``, the valid pixels
    (``arrays.good & np.isfinite(sigma)``), may be passed by callers that measure many bands on
    one reduction. Returns ``(depth, variance, valid pixels in the band window, continuum sides
    used)``; raises `ValueError` as `band_strength` does.
    """
    if good is None:
        good = arrays.good & np.isfinite(sigma)
    (result,) = band_depths(arrays, sigma, good, [windows])
    if isinstance(result, str):
        if not result.startswith("the pseudo-continuum"):
            described = "; ".join(
                f"{window} {format_range(*windows[window], arrays.redshift)}" for window in windows
            )
            result = f"{result} ({described}); the data cover {arrays.data_range}"
        raise ValueError(f"band {name}: {result}")
    return result


_SIDES = ("blue continuum", "red continuum")


def band_depths(arrays, sigma, good, bands):
    """`measure_depth` of several bands on one reduced spectrum, their windows measured in one pass.

    ``bands`` is a sequence of ``{window: (lo, hi)}`` (`band_windows`), ``good`` the valid pixels.
    Returns, per band, ``(depth, variance, valid pixels in the band window, continuum sides
    used)``, or the reason it cannot be measured (a str).
    """
    names = [list(windows) for windows in bands]
    lo, hi = np.array([windows[w] for windows in bands for w in windows], float).reshape(-1, 2).T
    means = window_means(arrays, sigma, good, lo, hi)
    stats = zip(*(values.tolist() for values in means), strict=True)
    return [_depth({window: next(stats) for window in windows}) for windows in names]


def _depth(stats):
    """The depth of a band from its windows' ``(mean, variance, centre, n)``, as `measure_depth`
    gives it, or why it cannot be measured."""
    band = stats.get("band")
    if band is None or band[3] < 2:
        return "the band window holds fewer than two valid pixels"
    sides = [side for side in _SIDES if side in stats and stats[side][3] >= 2]
    if not sides:
        return "neither continuum window holds two valid pixels"
    flux, flux_var, centre, n_pixels = band
    if len(sides) == 2:
        (blue, blue_var, blue_at, _), (red, red_var, red_at, _) = (stats[s] for s in sides)
        red_weight = (centre - blue_at) / (red_at - blue_at)
        continuum = blue + red_weight * (red - blue)
        continuum_var = (1 - red_weight) ** 2 * blue_var + red_weight**2 * red_var
        used = "blue and red"
    else:
        continuum, continuum_var, _, _ = stats[sides[0]]
        used = sides[0].split()[0] + " only"
    if not continuum > 0:
        return f"the pseudo-continuum ({continuum:.4g}) is not positive"
    depth = 1 - flux / continuum
    variance = flux_var / continuum**2 + (flux / continuum**2) ** 2 * continuum_var
    return depth, variance, n_pixels, used
