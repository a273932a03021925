"""Render a window of a spectrum as the image a vision-language model inspects."""

import math
from collections.abc import Mapping
from functools import cache, lru_cache

import astropy.units as u
import numpy as np
from astropy.table import Table
from matplotlib import font_manager
from matplotlib.ticker import MaxNLocator
from PIL import Image, ImageDraw, ImageFont
from specutils import SpectralRegion

from ..defaults import IMAGE_DPI, SPECTRUM_IMAGE_SIZE, ZOOM_IMAGE_SIZES
from .arrays import check_window, format_range, parse_region, spectrum_arrays

__all__ = ["render_window"]

_MIN_SIZE = (240, 160)

_WHITE = (255, 255, 255)
_INK = (0, 0, 0)
_SOFT_INK = (60, 60, 60)
_GRID = (222, 222, 222)
_SPECTRUM = (31, 119, 180)  # matplotlib's default blue
_HALO = (170, 204, 228)
_MARKER = {"absorption": (214, 39, 40), "emission": (44, 160, 44), None: (148, 103, 189)}
#: Highlighted windows: amber laid at _SHADE_ALPHA over the background and grid, darker edges
#: and labels.
_SHADE, _SHADE_ALPHA = (255, 196, 50), 0.32
_SHADE_EDGE = (228, 166, 30)
_SHADE_INK = (140, 88, 0)

_TICK_PX, _LABEL_PX, _TITLE_PX, _INFO_PX, _MARKER_PX, _SHADE_PX = 13, 14, 15, 12, 12, 12
_HEADER_PX = 8 + _TITLE_PX + 6 + _INFO_PX + 12  # title line and text box above the axes
_LABEL_ROW_PX = _MARKER_PX + 5  # one row of line-marker labels between the header and the axes
_MAX_LABEL_ROWS = 3
_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


@cache
def _font(px, weight="normal"):
    properties = font_manager.FontProperties(family="DejaVu Sans", weight=weight)
    path = font_manager.findfont(properties)
    # Labels are Latin text and numbers: the basic layout is enough and faster than Raqm.
    return ImageFont.truetype(path, px, layout_engine=ImageFont.Layout.BASIC)


@cache
def _text_mask(text, px, vertical=False):
    """Text as an 8-bit mask, optionally rotated by 90 degrees; cached as axis labels repeat."""
    font = _font(px)
    left, top, right, bottom = font.getbbox(text)
    mask = Image.new("L", (right - left, bottom - top), 0)
    ImageDraw.Draw(mask).text((-left, -top), text, fill=255, font=font)
    return mask.transpose(Image.Transpose.ROTATE_90) if vertical else mask


@lru_cache(maxsize=1024)  # tick labels and titles repeat; a window's info line rarely does
def _anchored_mask(text, px, anchor, weight="normal", stroke=0):
    """Text as an 8-bit mask and its offset from the anchor point (Pillow's text anchors)."""
    font = _font(px, weight)
    left, top, right, bottom = font.getbbox(text, anchor=anchor, stroke_width=stroke)
    mask = Image.new("L", (right - left, bottom - top), 0)
    ImageDraw.Draw(mask).text(
        (-left, -top), text, fill=255, font=font, anchor=anchor, stroke_width=stroke
    )
    return mask, left, top


def _text(image, xy, text, px, colour, anchor="la", weight="normal", halo=None):
    """Draw ``text`` as ``ImageDraw.text`` would (with a 1-px ``halo`` colour as its stroke), from
    cached masks: rasterising the glyphs was the largest cost of a window."""
    for stroke, ink in ((1, halo), (0, colour)) if halo else ((0, colour),):
        mask, left, top = _anchored_mask(text, px, anchor, weight, stroke)
        image.paste(ink, (round(xy[0]) + left, round(xy[1]) + top), mask)


def _default_size(width, whole):
    if whole:
        inches = SPECTRUM_IMAGE_SIZE
    else:
        inches = next(size for limit, size in ZOOM_IMAGE_SIZES if width < limit)
    return round(inches[0] * IMAGE_DPI), round(inches[1] * IMAGE_DPI)


def _check_size(size):
    try:
        width, height = (int(v) for v in size)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"size must be a (width, height) pair of pixels, got {size!r}") from exc
    if width < _MIN_SIZE[0] or height < _MIN_SIZE[1]:
        raise ValueError(f"size {size!r} is too small to be legible; use at least {_MIN_SIZE}")
    return width, height


@cache
def _locator(bins):
    """A tick locator per bin count: building one costs more than placing the ticks."""
    return MaxNLocator(nbins=bins, steps=[1, 2, 2.5, 5, 10])


@lru_cache(maxsize=1024)  # a task's windows come back spectrum after spectrum
def _ticks(lo, hi, n):
    """About ``n`` round tick values inside ``[lo, hi]``, at least three where the range allows
    (read-only: they are cached)."""
    slack = 1e-9 * (hi - lo)
    for bins in (n, 2 * n):
        ticks = _locator(bins).tick_values(lo, hi)
        ticks = ticks[(ticks >= lo - slack) & (ticks <= hi + slack)]
        if ticks.size >= 3:
            break
    ticks.flags.writeable = False
    return ticks


def _tick_labels(ticks):
    """Plain decimal labels with as many decimals as the tick step needs, minus as U+2212."""
    if len(ticks) < 2:
        decimals = 1
    else:
        step = ticks[1] - ticks[0]
        decimals = max(0, -math.floor(math.log10(step) + 1e-9))
        if abs(round(step, decimals) - step) > 1e-9 * step:  # steps such as 0.25
            decimals += 1
    return [f"{t:.{decimals}f}".replace("-", "−") if abs(t) > 1e-12 else "0" for t in ticks]


def _flux_scale(lo, hi):
    """Power of ten factored out of the flux tick labels (0 when the numbers read well as is)."""
    top = max(abs(lo), abs(hi))
    if top == 0 or 1e-2 <= top < 1e5:
        return 0
    return math.floor(math.log10(top))


def _flux_label(unit, exponent):
    scale = f"10{str(exponent).translate(_SUPERSCRIPTS)}" if exponent else ""
    unit_text = "" if unit == u.dimensionless_unscaled else unit.to_string("unicode")
    inside = " ".join(part for part in (scale, unit_text) if part)
    return f"Flux ({inside})" if inside else "Flux"


def _y_limits(flux):
    """Robust flux limits: ignore lone one-pixel spikes (cosmic rays), keep real line peaks.

    The envelope is taken from the 3-pixel running median, which drops single-pixel outliers. A raw
    extreme is still shown when it lies within half the envelope's range of it: a narrow but real
    emission or absorption line is two or three pixels wide and only slightly above its median.
    """
    if flux.size >= 3:
        a, b, c = flux[:-2], flux[1:-1], flux[2:]
        median = np.maximum(np.minimum(a, b), np.minimum(np.maximum(a, b), c))
        low, high = median.min(), median.max()
        span = high - low
        raw_low, raw_high = flux.min(), flux.max()
        if raw_low >= low - 0.5 * span:
            low = raw_low
        if raw_high <= high + 0.5 * span:
            high = raw_high
    else:
        low, high = flux.min(), flux.max()
    pad = 0.06 * (high - low) if high > low else max(abs(high) * 0.05, 1e-30)
    return low - pad, high + pad


def _catalogue_positions(names):
    """Rest wavelengths (Å) of catalogue lines or band heads, by name."""
    from ..catalog import atomic_lines, molecular_bands

    lines, bands = atomic_lines(), molecular_bands()
    known = dict(zip(lines["name"], lines["rest_wavelength"].to_value(u.AA), strict=True))
    known.update(zip(bands["name"], bands["bandhead"].to_value(u.AA), strict=True))
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(
            f"line markers {unknown} are not in the catalogue (see spec_o3.catalog.atomic_lines() "
            "and molecular_bands())"
        )
    return [known[name] for name in names]


def _markers(lines, redshift):
    """``(wavelength in the displayed frame [Å], label, kind)`` for each requested line marker."""
    if lines is None:
        return []
    if isinstance(lines, Table):
        if "observed_wavelength" in lines.colnames:
            # Measured positions (identify_lines) are observed; show them in the displayed frame.
            wavelength = u.Quantity(lines["observed_wavelength"]).to_value(u.AA)
            wavelength = wavelength / (1 + (redshift or 0))
        elif "rest_wavelength" in lines.colnames:
            wavelength = u.Quantity(lines["rest_wavelength"]).to_value(u.AA)
        else:
            raise ValueError(
                "a line table needs an 'observed_wavelength' or 'rest_wavelength' column; got "
                f"{lines.colnames}"
            )
        kinds = lines["kind"] if "kind" in lines.colnames else [None] * len(lines)
        return [
            (float(w), str(name), kind if kind in _MARKER else None)
            for w, name, kind in zip(wavelength, lines["name"], kinds, strict=True)
        ]
    if isinstance(lines, Mapping):
        return [
            (
                float(u.Quantity(w).to_value(u.AA, equivalencies=u.spectral())),
                str(name),
                None,
            )
            for name, w in lines.items()
        ]
    if isinstance(lines, str):
        lines = [lines]
    names = [str(name) for name in lines]
    return [(w, name, None) for w, name in zip(_catalogue_positions(names), names, strict=True)]


@lru_cache(maxsize=1024)
def _text_width(text, font):
    left, _, right, _ = font.getbbox(text)
    return right - left


class _Plot:
    """Where the axes box sits in the image and how data map to pixels (origin top left)."""

    def __init__(self, box, xlim, ylim, xticks, yticks, exponent, x_label, y_label):
        self.left, self.top, self.right, self.bottom = box
        self.xlim, self.ylim = xlim, ylim
        self.xticks, self.yticks, self.exponent = xticks, yticks, exponent
        self.x_label, self.y_label = x_label, y_label
        self._xscale = (self.right - self.left - 1) / (xlim[1] - xlim[0])
        self._yscale = (self.bottom - self.top - 1) / (ylim[1] - ylim[0])

    @classmethod
    def layout(cls, size, xlim, ylim, flux_unit, redshift, label_rows=0):
        """Fit the margins to the labels: header and marker labels above, flux labels left."""
        width, height = size
        exponent = _flux_scale(*ylim)
        y_label = _text_mask(_flux_label(flux_unit, exponent), _LABEL_PX, vertical=True)
        top = _HEADER_PX + label_rows * _LABEL_ROW_PX
        bottom = height - (8 + _LABEL_PX + 8 + _TICK_PX + 8)
        yticks = _ticks(*ylim, max(3, (bottom - top) // 45))
        tick_font = _font(_TICK_PX)
        ytick_width = max(_text_width(t, tick_font) for t in _tick_labels(yticks / 10.0**exponent))
        left = 8 + y_label.width + 8 + ytick_width + 8
        right = width - 16
        xticks = _ticks(*xlim, max(3, (right - left) // 85))
        x_label = "Wavelength (Å)" if redshift is None else "Rest-frame wavelength (Å)"
        return cls(
            (left, top, right, bottom), xlim, ylim, xticks, yticks, exponent, x_label, y_label
        )

    def x(self, wavelength):
        """Pixel column(s) of wavelength(s) in Å."""
        return self.left + (wavelength - self.xlim[0]) * self._xscale

    def y(self, flux):
        """Pixel row(s) of flux value(s)."""
        return self.top + (self.ylim[1] - flux) * self._yscale

    def draw_grid(self, draw):
        for x in self.x(self.xticks).round():
            draw.line((x, self.top, x, self.bottom), fill=_GRID)
        for y in self.y(self.yticks).round():
            draw.line((self.left, y, self.right, y), fill=_GRID)

    def draw_axes(self, image, draw):
        """Clear the margins (the spectrum may run off the box); draw frame, ticks and labels."""
        width, height = image.size
        for box in (
            (0, 0, width, self.top - 1),
            (0, 0, self.left - 1, height),
            (self.right + 1, 0, width, height),
        ):
            draw.rectangle(box, fill=_WHITE)
        draw.rectangle((self.left - 1, self.top - 1, self.right, self.bottom), outline=_INK)
        x_axis = _x_axis(
            (width, height - self.bottom - 1),
            tuple(self.x(self.xticks).round().tolist()),
            tuple(_tick_labels(self.xticks)),
            self.x_label,
            (self.left, self.right),
        )
        image.paste(x_axis, (0, self.bottom + 1))
        yticks = zip(
            self.y(self.yticks).round(),
            _tick_labels(self.yticks / 10.0**self.exponent),
            strict=True,
        )
        for y, text in yticks:
            draw.line((self.left - 5, y, self.left - 1, y), fill=_INK)
            _text(image, (self.left - 7, y), text, _TICK_PX, _INK, anchor="rm")
        image.paste(_INK, (8, (self.top + self.bottom - self.y_label.height) // 2), self.y_label)


@lru_cache(maxsize=64)  # a task's windows come back spectrum after spectrum
def _x_axis(size, positions, labels, x_label, span):
    """The strip under the axes: wavelength tick marks from the frame down, their labels and the
    axis label ``x_label`` centred under the axes' ``span`` (left and right columns)."""
    strip = Image.new("RGB", size, _WHITE)
    draw = ImageDraw.Draw(strip)
    for x, text in zip(positions, labels, strict=True):
        draw.line((x, -1, x, 3), fill=_INK)  # the frame's row is -1
        _text(strip, (x, 5), text, _TICK_PX, _INK, anchor="mt")
    mask = _text_mask(x_label, _LABEL_PX)
    strip.paste(_INK, ((sum(span) - mask.width) // 2, size[1] - 8 - mask.height), mask)
    return strip


def _draw_spectrum(draw, plot, wavelength, flux, good):
    """Draw the spectrum as a 1-px polyline with a light halo; masked pixels break the line.

    The halo (the same line shifted by one pixel right and down, in a pale blue) gives the
    thickness and softness of an antialiased 1.5 px line at a fraction of the cost of Pillow's
    wide lines or of supersampling. Where several points share a pixel column, only those that
    shape the line there are drawn (`_column_extremes`).
    """
    x = plot.x(wavelength)
    # Far-off points are pulled in so that Pillow's integer coordinates cannot overflow.
    y = np.clip(plot.y(flux), -10_000, 10_000)
    kept = _column_extremes(x, y, good)
    x, y, good = x[kept], y[kept], good[kept]
    strokes = [
        (np.column_stack((x + dx, y + dy)).ravel().tolist(), colour)
        for dx, dy, colour in ((1, 0, _HALO), (0, 1, _HALO), (0, 0, _SPECTRUM))
    ]
    edges = np.flatnonzero(np.diff(np.concatenate(([False], good, [False])).astype(np.int8)))
    for start, stop in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        for xy, colour in strokes:
            if stop - start == 1:
                draw.point(xy[2 * start : 2 * stop], fill=colour)
            else:
                draw.line(xy[2 * start : 2 * stop], fill=colour, width=1)


def _column_extremes(x, y, good):
    """Indices of the points that draw the same 1-px polyline: in each pixel column, the first,
    lowest, highest and last point of a run of valid ones (the M4 reduction), and every masked
    point (they break the line)."""
    column = np.floor(x).astype(np.int64)
    breaks = np.flatnonzero((column[1:] != column[:-1]) | (good[1:] != good[:-1])) + 1
    if 4 * (breaks.size + 1) >= x.size:  # under four points a column: nothing to gain
        return np.arange(x.size)
    starts = np.concatenate(([0], breaks))
    group = np.repeat(np.arange(starts.size), np.diff(np.concatenate((starts, [x.size]))))
    height = np.where(good, y, 0.0)
    kept = np.zeros(x.size, dtype=bool)
    kept[starts] = kept[np.concatenate((breaks, [x.size])) - 1] = True
    for extreme in (np.minimum, np.maximum):  # the first point at each group's extreme height
        at = np.flatnonzero(height == extreme.reduceat(height, starts)[group])
        kept[at[np.concatenate(([True], group[at][1:] != group[at][:-1]))]] = True
    kept |= ~good
    return np.flatnonzero(kept)


def _place_labels(plot, markers, max_rows, font):
    """Left edge and row of each label: rows fill greedily so that no two labels overlap.

    ``markers`` are ``(wavelength, label, kind)``, each label centred on its wavelength and kept
    inside the axes. Returns ``(left, row, label, kind)`` for the labels that fit in
    ``max_rows`` rows and the number of rows used; markers without room are left unlabelled.
    """
    row_ends = []  # right edge of the last label in each row
    placed = []
    for wavelength, label, kind in sorted(markers):
        label_width = _text_width(label, font) + 4
        left = round(float(plot.x(wavelength))) - label_width // 2
        left = min(max(left, plot.left), plot.right - label_width)
        row = next((i for i, end in enumerate(row_ends) if end < left), len(row_ends))
        if row == max_rows:
            continue
        if row == len(row_ends):
            row_ends.append(0)
        row_ends[row] = left + label_width
        placed.append((left, row, label, kind))
    return placed, len(row_ends)


def _draw_marker_labels(image, plot, placed):
    """Marker labels in rows above the axes, the first row nearest to them."""
    for left, row, label, kind in placed:
        top = plot.top - (row + 1) * _LABEL_ROW_PX
        _text(image, (left + 2, top + 1), label, _MARKER_PX, _MARKER[kind])


def _is_window(value):
    """Whether ``value`` is one window: a SpectralRegion or a pair of scalar Quantities."""
    if isinstance(value, SpectralRegion):
        return True
    if isinstance(value, u.Quantity):
        return value.shape == (2,)
    return (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, u.Quantity) and v.isscalar for v in value)
    )


def _highlights(highlight):
    """``(lo, hi, label)`` in Å of each window to shade, in the order given.

    Windows are numbered from 1 by their place in ``highlight`` unless labelled; a `None` or
    empty label draws none. A window given as a region with several sub-regions is shaded from
    its lowest to its highest bound, except at the top level, where each sub-region is a window.
    """
    if highlight is None:
        return []
    if isinstance(highlight, SpectralRegion):
        return [(lo, hi, str(n)) for n, (lo, hi) in enumerate(parse_region(highlight), start=1)]
    items = [highlight] if _is_window(highlight) else highlight
    windows = []
    try:
        for n, item in enumerate(items, start=1):
            labelled = (
                isinstance(item, (tuple, list))
                and len(item) == 2
                and (item[0] is None or isinstance(item[0], str))
            )
            label, window = item if labelled else (str(n), item)
            bounds = parse_region(window)
            windows.append((min(b[0] for b in bounds), max(b[1] for b in bounds), label or ""))
    except (TypeError, ValueError) as exc:
        raise ValueError(
            "highlight must be a SpectralRegion, a list of (lo, hi) Quantity pairs or a list of "
            f"(label, window) pairs; got {highlight!r} ({exc})"
        ) from exc
    return windows


def _visible(plot, highlights):
    """The highlighted windows that overlap the axes, clipped to them."""
    lo, hi = plot.xlim
    return [
        (max(w_lo, lo), min(w_hi, hi), label, w_lo >= lo, w_hi <= hi)
        for w_lo, w_hi, label in highlights
        if w_hi > lo and w_lo < hi
    ]


def _draw_shades(image, draw, plot, windows):
    """Lay each window's shade over the background and grid; darker edges where it ends."""
    for lo, hi, _, lo_inside, hi_inside in windows:
        x0, x1 = (round(float(x)) for x in plot.x(np.array([lo, hi])))
        box = (x0, plot.top, x1 + 1, plot.bottom)
        behind = image.crop(box)
        shade = Image.new("RGB", behind.size, _SHADE)
        image.paste(Image.blend(behind, shade, _SHADE_ALPHA), box[:2])
        for x, inside in ((x0, lo_inside), (x1, hi_inside)):
            if inside:  # a window cut by the axes has no edge of its own there
                draw.line((x, plot.top, x, plot.bottom - 1), fill=_SHADE_EDGE)


def _draw_shade_labels(image, plot, windows):
    """Window labels in rows at the top inside the axes.

    A thin halo of the shade's colour keeps them legible where the spectrum or a marker crosses.
    """
    font = _font(_SHADE_PX, "bold")
    halo = _blend(_WHITE, _SHADE, _SHADE_ALPHA)
    marks = [((lo + hi) / 2, label, None) for lo, hi, label, _, _ in windows if label]
    for left, row, label, _ in _place_labels(plot, marks, _MAX_LABEL_ROWS, font)[0]:
        top = plot.top + 3 + row * (_SHADE_PX + 4)
        _text(image, (left + 2, top), label, _SHADE_PX, _SHADE_INK, weight="bold", halo=halo)


def _blend(colour, over, alpha):
    """``over`` laid at opacity ``alpha`` on ``colour`` (RGB tuples), as `PIL.Image.blend` does."""
    return tuple(round(c + (o - c) * alpha) for c, o in zip(colour, over, strict=True))


def _draw_header(image, draw, left, title, info):
    """Title line, then the text box of the released tool (points, wavelength and flux ranges)."""
    _text(image, (left, 8), title, _TITLE_PX, _INK)
    top = 8 + _TITLE_PX + 6
    box = (left - 1, top - 2, left + _text_width(info, _font(_INFO_PX)) + 8, top + _INFO_PX + 4)
    draw.rectangle(box, fill=(245, 245, 245), outline=(190, 190, 190))
    _text(image, (left + 4, top), info, _INFO_PX, _SOFT_INK)


def _dashed_vline(draw, x, top, bottom, colour, dash=5, gap=4):
    x = round(float(x))
    for y in range(top, bottom, dash + gap):
        draw.line((x, y, x, min(y + dash, bottom)), fill=colour, width=1)


def render_window(
    spectrum,
    region=None,
    *,
    lines=None,
    redshift=None,
    size=None,
    title=None,
    highlight=None,
    style="spec-o3",
):
    """Draw a window of a spectrum as an image: the zoom view of the inspection agent.

    The image shows the flux as a blue line (masked and non-finite pixels leave gaps), a grid,
    wavelength tick labels in Å, a flux axis with tick labels and unit, a header with the title and
    a text box giving the number of points and the wavelength and flux ranges, optional labelled
    line markers and optional shaded windows. It is drawn directly with Pillow (tick positions from
    :class:`matplotlib.ticker.MaxNLocator`), some 50-180 times faster than a matplotlib figure
    saved to PNG, so an agent can zoom as often as it likes.

    Parameters
    ----------
    spectrum : `~specutils.Spectrum`
        A 1-D spectrum. Masked pixels, pixels with non-finite flux and pixels with a non-positive or
        non-finite uncertainty are not drawn.
    region : `~specutils.SpectralRegion` or `~astropy.units.Quantity` pair, optional
        The window to show, in the displayed frame (rest frame when ``redshift`` is given), in any
        spectral unit (converted to Å). A region with several sub-regions is shown from its lowest
        to its highest bound. `None` (default) shows the whole spectrum.
    lines : `~astropy.table.Table`, mapping, or list of str, optional
        Line markers to draw: a table such as :func:`~spec_o3.analysis.identify_lines` returns
        (markers at the measured ``observed_wavelength``, coloured by ``kind``: red absorption,
        green emission) or the catalogue's (markers at ``rest_wavelength``); a mapping of label to
        wavelength Quantity in the displayed frame; or names from the catalogue
        (:func:`~spec_o3.catalog.atomic_lines` lines, or :func:`~spec_o3.catalog.molecular_bands`
        bands, marked at their band head), drawn at their rest wavelength.
    redshift : float, optional
        `None` (default): show the spectrum as stored (observed frame). A number ``z``: show the
        rest frame, wavelength / (1 + z); ``region`` is then in rest-frame wavelengths.
    size : tuple of int, optional
        ``(width, height)`` of the image in pixels. By default it follows the released Spec-o3 tool
        at 80 dpi: 480 x 320 for windows narrower than 50 Å, 560 x 360 up to 200 Å, 640 x 400 up
        to 1000 Å, 720 x 440 beyond, and 800 x 480 for the whole spectrum.
    title : str, optional
        First header line, e.g. what the window examines. By default the window's range.
    highlight : `~specutils.SpectralRegion` or list, optional
        Windows to shade behind the spectrum (e.g. those already inspected), in the displayed
        frame like ``region``, in any spectral unit: a `~specutils.SpectralRegion` (one window
        per sub-region), a ``(lo, hi)`` Quantity pair, a list of such windows, or a list of
        ``(label, window)`` pairs. Windows are drawn as translucent amber bands with darker
        edges and labelled at the top of the axes: with their label, or numbered from 1 by
        their place in the list (a `None` or empty label draws none). Windows outside the view
        are left out but keep their number.
    style : {"spec-o3", "release"}, optional
        ``"spec-o3"`` (default): the plot described here, for people and models trained here.
        ``"release"``: the released Spec-o3 tool's matplotlib plot, which the released checkpoints
        were trained on (`~spec_o3.analysis.render_release.render_release`); it takes no
        ``lines``, ``size``, ``title`` or ``highlight``.

    Returns
    -------
    image : `PIL.Image.Image`
        An RGB image.

    Raises
    ------
    ValueError
        If the window is empty or reversed, does not overlap the data, holds fewer than two valid
        pixels, or is not in spectral units; if ``size`` is too small; if a marker name is not in
        the catalogue; if ``highlight`` is not made of windows. The message names the window and
        the range the data cover.

    Notes
    -----
    The flux axis ignores lone one-pixel spikes (cosmic rays): its range is set by the 3-pixel
    running median, widened to a raw extreme only when that extreme lies within half the range of
    the median's. Spikes beyond it run off the plot instead of flattening the spectrum.

    Examples
    --------
    >>> import numpy as np
    >>> import astropy.units as u
    >>> from astropy.modeling.models import Gaussian1D
    >>> from specutils import Spectrum, SpectralRegion
    >>> from spec_o3.analysis import render_window
    >>> wavelength = np.linspace(6400, 6700, 300) * u.AA
    >>> line = Gaussian1D(amplitude=0.6, mean=6564.6, stddev=4)
    >>> spectrum = Spectrum(flux=(1 - line(wavelength.value)) * u.Jy, spectral_axis=wavelength)
    >>> image = render_window(spectrum, SpectralRegion(6520 * u.AA, 6610 * u.AA),
    ...                       lines={"H alpha": 6564.6 * u.AA}, title="H alpha")
    >>> image.size
    (560, 360)

    The whole spectrum with two inspected windows shaded and labelled:

    >>> inspected = [("core", (6550, 6580) * u.AA), ("red wing", (6600, 6650) * u.AA)]
    >>> render_window(spectrum, highlight=inspected).size
    (800, 480)
    """
    if style == "release":
        return _render_release(spectrum, region, redshift, lines, size, title, highlight)
    if style != "spec-o3":
        raise ValueError(f"style must be 'spec-o3' or 'release', got {style!r}")
    arrays = spectrum_arrays(spectrum, redshift)
    if region is None:
        valid = arrays.wavelength[arrays.good]
        if valid.size < 2:
            raise ValueError(f"the spectrum has {valid.size} valid pixels; nothing to draw")
        lo, hi = valid[0], valid[-1]
    else:
        windows = parse_region(region)
        lo, hi = min(w[0] for w in windows), max(w[1] for w in windows)
    pixels = check_window(arrays, lo, hi)
    width, height = _default_size(hi - lo, region is None) if size is None else _check_size(size)

    good = arrays.good[pixels]
    shown_flux, shown_wavelength = arrays.flux[pixels][good], arrays.wavelength[pixels][good]
    layout = ((width, height), (lo, hi), _y_limits(shown_flux), arrays.flux_unit, arrays.redshift)
    plot = _Plot.layout(*layout)
    markers = [m for m in _markers(lines, arrays.redshift) if lo <= m[0] <= hi]
    marker_font = _font(_MARKER_PX)
    label_rows = 0
    if markers:  # make room for the labels above the axes; they are placed on the final axes
        label_rows = _place_labels(plot, markers, _MAX_LABEL_ROWS, marker_font)[1]
        plot = _Plot.layout(*layout, label_rows=label_rows)
    shaded = _visible(plot, _highlights(highlight))
    image = Image.new("RGB", (width, height), _WHITE)
    draw = ImageDraw.Draw(image)

    plot.draw_grid(draw)
    _draw_shades(image, draw, plot, shaded)
    for wavelength, _, kind in markers:
        _dashed_vline(draw, plot.x(wavelength), plot.top, plot.bottom, _MARKER[kind])
    # One pixel beyond each end so that the line reaches the frame; draw_axes clears the margins.
    start, stop = max(pixels.start - 1, 0), min(pixels.stop + 1, arrays.wavelength.size)
    _draw_spectrum(
        draw, plot, *(a[start:stop] for a in (arrays.wavelength, arrays.flux, arrays.good))
    )
    plot.draw_axes(image, draw)
    _draw_shade_labels(image, plot, shaded)
    _draw_marker_labels(image, plot, _place_labels(plot, markers, label_rows, marker_font)[0])

    if title is None:
        what = "Whole spectrum" if region is None else "Window"
        title = f"{what} {format_range(lo, hi, arrays.redshift)}"
    info = (
        f"{shown_flux.size} points   λ {shown_wavelength[0]:.1f}–{shown_wavelength[-1]:.1f} Å   "
        f"flux {shown_flux.min():.4g} – {shown_flux.max():.4g}"
    )
    _draw_header(image, draw, plot.left, title, info.replace("-", "−"))
    return image


def _render_release(spectrum, region, redshift, *unsupported):
    """`render_window` in the released tool's style (which draws no extras)."""
    from .render_release import render_release

    if any(option is not None for option in unsupported):
        raise ValueError("style='release' draws no lines, size, title or highlight")
    if region is not None:
        windows = parse_region(region)
        region = min(w[0] for w in windows), max(w[1] for w in windows)
    return render_release(spectrum, region, redshift=redshift)
