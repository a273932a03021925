"""The full-spectrum image of a candidate: inspected windows shaded and numbered, lines marked."""

from functools import cache

import astropy.units as u
import numpy as np
from matplotlib import font_manager
from PIL import Image, ImageDraw, ImageFont
from specutils import SpectralRegion

from spec_o3.analysis import render_window
from spec_o3.analysis._region import spectrum_arrays

__all__ = ["median_snr", "render_overview"]

#: Default size (pixels) of the full-spectrum image: the width of the report's detail panel.
OVERVIEW_SIZE = (1100, 380)

_SHADE = (255, 236, 179)  # pale amber behind the spectrum
_SHADE_EDGE = (230, 170, 40)
_NUMBER = (150, 95, 0)


@cache
def _font(px):
    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans", weight="bold"))
    return ImageFont.truetype(path, px)


def median_snr(spectrum):
    """Median signal-to-noise ratio per pixel of a spectrum, over its valid pixels.

    Parameters
    ----------
    spectrum : `~specutils.Spectrum`
        With an uncertainty (any of astropy's three kinds); masked pixels and pixels without a
        positive uncertainty are ignored.

    Returns
    -------
    snr : float
        ``median(flux / sigma)``; NaN when the spectrum has no uncertainty or no valid pixel.

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from astropy.nddata import StdDevUncertainty
    >>> from specutils import Spectrum
    >>> spectrum = Spectrum(flux=np.full(50, 20.0) * u.Jy, spectral_axis=np.arange(50) * u.AA,
    ...                     uncertainty=StdDevUncertainty(np.full(50, 0.5)))
    >>> float(median_snr(spectrum))
    40.0
    """
    arrays = spectrum_arrays(spectrum)
    if arrays.sigma is None or not arrays.good.any():
        return float("nan")
    return float(np.median(arrays.flux[arrays.good] / arrays.sigma[arrays.good]))


def render_overview(spectrum, windows=(), *, lines=None, redshift=None, size=None, title=None):
    """Draw a whole spectrum with the inspected windows shaded and numbered in order.

    The spectrum, axes and line markers are drawn by `~spec_o3.analysis.render_window` (so the
    image matches the agent's zoom views); each window is then shaded behind the spectrum and
    labelled with its number at the top of the axes.

    Parameters
    ----------
    spectrum : `~specutils.Spectrum`
        A 1-D spectrum.
    windows : sequence of `~specutils.SpectralRegion` or (lo, hi) Quantity pairs
        The inspected windows, in the displayed frame (rest frame when ``redshift`` is given),
        numbered from 1 in this order. Windows outside the data are left out of the image but
        keep their number.
    lines : optional
        Line markers, as `~spec_o3.analysis.render_window` takes them (e.g. the table of
        `~spec_o3.analysis.identify_lines`).
    redshift : float, optional
        Show the rest frame for this redshift (default: the observed frame).
    size : tuple of int, optional
        ``(width, height)`` in pixels (default `OVERVIEW_SIZE`).
    title : str, optional
        First header line of the image.

    Returns
    -------
    image : `PIL.Image.Image`

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from specutils import Spectrum
    >>> wavelength = np.linspace(4000, 7000, 1500) * u.AA
    >>> spectrum = Spectrum(flux=np.ones(1500) * u.Jy, spectral_axis=wavelength)
    >>> image = render_overview(spectrum, [(4600 * u.AA, 4800 * u.AA), (6500 * u.AA, 6600 * u.AA)])
    >>> image.size
    (1100, 380)
    """
    arrays = spectrum_arrays(spectrum, redshift)
    valid = arrays.wavelength[arrays.good]
    if valid.size < 2:
        raise ValueError(f"the spectrum has {valid.size} valid pixels; nothing to draw")
    lo, hi = float(valid[0]), float(valid[-1])
    image = render_window(
        spectrum,
        (lo * u.AA, hi * u.AA),
        lines=lines,
        redshift=redshift,
        size=OVERVIEW_SIZE if size is None else size,
        title=title,
    )
    left, top, right, bottom = _axes_box(image)
    scale = (right - left - 1) / (hi - lo)
    pixels = np.array(image)
    plot = pixels[top:bottom]  # a view of the inside of the axes frame
    white = (plot[..., 0] & plot[..., 1] & plot[..., 2]) == 255
    numbers = []
    for number, window in enumerate(windows, start=1):
        w_lo, w_hi = _edges(window)
        if w_hi <= lo or w_lo >= hi:
            continue
        x0 = round(left + (max(w_lo, lo) - lo) * scale)
        x1 = round(left + (min(w_hi, hi) - lo) * scale)
        inside = plot[:, x0 : x1 + 1]
        inside[white[:, x0 : x1 + 1]] = _SHADE  # only background: spectrum and markers stay on top
        for x in (x0, x1):
            plot[white[:, x], x] = _SHADE_EDGE
        numbers.append(((x0 + x1) / 2, str(number)))
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    for x, text in numbers:
        draw.text((x, top + 4), text, fill=_NUMBER, font=_font(12), anchor="mt")
    return image


def _edges(window):
    """``(lo, hi)`` in Å of a SpectralRegion or a Quantity pair."""
    if isinstance(window, SpectralRegion):
        lo, hi = window.lower, window.upper
    else:
        lo, hi = window
    return tuple(u.Quantity(edge).to_value(u.AA, equivalencies=u.spectral()) for edge in (lo, hi))


def _axes_box(image):
    """Pixel box ``(left, top, right, bottom)`` of the plotting area drawn by render_window.

    render_window draws the axes as a one-pixel black frame (``left - 1`` to ``right``, ``top - 1``
    to ``bottom``) whose horizontal edges are the only black runs spanning most of the image
    (tick labels may touch them, hence the longest run rather than the first black pixel).
    """
    pixels = np.asarray(image)
    black = (pixels[..., 0] | pixels[..., 1] | pixels[..., 2]) == 0
    rows = np.flatnonzero(black.sum(axis=1) > 0.5 * image.width)
    if rows.size < 2:
        raise RuntimeError("cannot find the axes frame of the rendered spectrum")
    edges = np.flatnonzero(np.diff(np.concatenate(([0], black[rows[-1]].astype(np.int8), [0]))))
    starts, stops = edges[::2], edges[1::2]
    longest = np.argmax(stops - starts)
    return int(starts[longest]) + 1, int(rows[0]) + 1, int(stops[longest]) - 1, int(rows[-1])
