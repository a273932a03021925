"""The full-spectrum image of a candidate: inspected windows shaded and numbered, lines marked."""

import astropy.units as u
import numpy as np

from spec_o3.analysis import render_window
from spec_o3.analysis.arrays import spectrum_arrays

__all__ = ["median_snr", "render_overview"]

#: Default size (pixels) of the full-spectrum image: the width of the report's detail panel.
OVERVIEW_SIZE = (1100, 380)


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

    The image is `~spec_o3.analysis.render_window` over the whole valid range with the windows
    as its ``highlight``, so it matches the agent's zoom views.

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
        ``(width, height)`` in pixels (default ``OVERVIEW_SIZE``).
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
    return render_window(
        spectrum,
        (valid[0] * u.AA, valid[-1] * u.AA),
        lines=lines,
        redshift=redshift,
        size=OVERVIEW_SIZE if size is None else size,
        title=title,
        highlight=list(windows),
    )
