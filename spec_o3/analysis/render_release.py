"""The released Spec-o3 tool's plot of a spectrum window, as the released checkpoints saw it.

The released models were trained on matplotlib figures (see :ref:`protocol-profiles`): title
always "Spectrum", a rounded white box of statistics inside the axes, bold "Wavelength (Å)" and
"Flux" labels, a blue line at alpha 0.8, inward ticks with minor ticks, a major and a minor grid,
80 dpi, cropped to a tight bounding box. `render_release` draws that figure with matplotlib's
object-oriented API on one reused figure per size, so an image costs one draw, not a new figure.
"""

import threading

import numpy as np
from PIL import Image

from ..defaults import IMAGE_DPI, SPECTRUM_IMAGE_SIZE, ZOOM_IMAGE_SIZES
from .arrays import spectrum_arrays

__all__ = ["release_figure_size", "release_pixels", "render_release"]

# Major tick spacing (Å) by window width: (widest window, spacing) pairs; minor ticks at a fifth.
_TICK_SPACINGS = ((50, 5), (200, 20), (1000, 100), (np.inf, 500))
_figures = {}
_lock = threading.Lock()  # the figures are shared: one drawing at a time


def release_figure_size(width=None):
    """Figure size in inches of a window ``width`` Å wide (``None``: the whole spectrum).

    Examples
    --------
    >>> release_figure_size(300), release_figure_size()
    ((8, 5), (10, 6))
    """
    if width is None:
        return SPECTRUM_IMAGE_SIZE
    return next(size for widest, size in ZOOM_IMAGE_SIZES if width < widest)


def release_pixels(arrays, lo, hi):
    """Slice of the pixels of `~spec_o3.analysis.arrays.SpectrumArrays` in ``[lo, hi]``, masked
    ones included as the released tool drew them; ValueError unless ``lo < hi`` and at least two
    pixels lie there."""
    start = np.searchsorted(arrays.wavelength, lo, side="left")
    stop = np.searchsorted(arrays.wavelength, hi, side="right")
    if not lo < hi or stop - start < 2:
        raise ValueError(
            f"the window {lo:g}-{hi:g} Å holds {max(stop - start, 0)} pixels of the "
            f"{arrays.wavelength[0]:.1f}-{arrays.wavelength[-1]:.1f} Å data (at least 2 needed)"
        )
    return slice(start, stop)


def _tick_spacing(width):
    return next(spacing for widest, spacing in _TICK_SPACINGS if width < widest)


def _figure(size):
    """The reused (figure, axes, line, text box) of one size, built on first use."""
    if size not in _figures:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import AutoMinorLocator

        figure = Figure(figsize=size, dpi=IMAGE_DPI, layout="tight")
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        (line,) = axes.plot([], [], color="blue", linewidth=1, alpha=0.8)
        axes.set_title("Spectrum", fontsize=14, fontweight="bold", pad=20)
        axes.set_xlabel("Wavelength (Å)", fontsize=12, fontweight="bold")
        axes.set_ylabel("Flux", fontsize=12, fontweight="bold")
        axes.grid(True, which="major", alpha=0.3)
        axes.grid(True, which="minor", alpha=0.1)
        axes.yaxis.set_minor_locator(AutoMinorLocator())
        axes.tick_params(which="both", direction="in")
        box = axes.text(
            0.02,
            0.98,
            "",
            transform=axes.transAxes,
            verticalalignment="top",
            bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.8},
        )
        _figures[size] = figure, axes, line, box
    return _figures[size]


def render_release(spectrum, region=None, *, redshift=None):
    """Draw a window of a spectrum as the released Spec-o3 tool did.

    Every pixel in the window is drawn, masked ones at their stored value (the released tool did
    not mask); only non-finite flux leaves a gap. Use it through
    ``render_window(..., style="release")``.

    Parameters
    ----------
    spectrum : `~specutils.Spectrum`
        A 1-D spectrum.
    region : tuple of float, optional
        ``(lo, hi)`` in Å, in the displayed frame; `None` (default) shows the whole spectrum.
    redshift : float, optional
        Show the rest frame, wavelength / (1 + z); `None` shows the spectrum as stored.

    Returns
    -------
    image : `PIL.Image.Image`
        An RGB image, e.g. 632 x 392 pixels for a 300 Å window.

    Raises
    ------
    ValueError
        If the window is reversed or holds fewer than two pixels.

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from specutils import Spectrum
    >>> wavelength = np.linspace(4000, 6000, 800) * u.AA
    >>> spectrum = Spectrum(flux=np.ones(800) * u.Jy, spectral_axis=wavelength)
    >>> render_release(spectrum, (4900, 5200)).size
    (632, 392)
    """
    from matplotlib.ticker import MultipleLocator

    arrays = spectrum_arrays(spectrum, redshift)
    if region is None:
        pixels = slice(0, arrays.wavelength.size)
        width = None
    else:
        pixels = release_pixels(arrays, *region)
        width = region[1] - region[0]
    wavelength, flux = arrays.wavelength[pixels], arrays.flux[pixels]
    spacing = _tick_spacing(wavelength[-1] - wavelength[0] if width is None else width)
    finite = flux[np.isfinite(flux)]
    with _lock:
        figure, axes, line, box = _figure(release_figure_size(width))
        line.set_data(wavelength, flux)
        axes.xaxis.set_major_locator(MultipleLocator(spacing))
        axes.xaxis.set_minor_locator(MultipleLocator(spacing / 5))
        axes.relim()
        axes.autoscale_view()
        box.set_text(
            f"Data points: {wavelength.size}\n"
            f"λ range: {wavelength[0]:.1f} - {wavelength[-1]:.1f} Å\n"
            f"Flux range: {finite.min():.2e} - {finite.max():.2e}"
        )
        figure.canvas.draw()
        pixels = np.asarray(figure.canvas.buffer_rgba())
        # what savefig(bbox_inches="tight") keeps: the artists' box and 0.1 inch around it
        box = figure.get_tightbbox().padded(0.1)
    height = pixels.shape[0]
    x0, x1 = round(box.x0 * IMAGE_DPI), round(box.x1 * IMAGE_DPI)
    y0, y1 = height - round(box.y1 * IMAGE_DPI), height - round(box.y0 * IMAGE_DPI)
    return Image.fromarray(pixels[max(y0, 0) : y1, max(x0, 0) : x1, :3])
