"""What the Spectral Vetting plugin draws on a spectrum viewer: inspected windows, identified lines.

Four bqplot marks per viewer, created once and redrawn in place: shaded windows with their labels
at the top of the plot, and vertical lines with their names at the bottom. The vertical extent uses
a fixed 0-1 scale, so only the spectral axis depends on the display unit; `Overlay.draw` takes
observed-frame quantities and converts them to whatever unit the viewer shows. Labels that would
overlap at the viewer's current zoom are stacked in rows.
"""

import astropy.units as u
import numpy as np
from bqplot import Label, LinearScale, Lines

__all__ = ["Overlay", "VettingLabels", "VettingLines", "VettingWindows", "label_rows"]

WINDOW_COLOR = "#2c7fb8"
LINE_COLOR = "#c75d2c"

#: Width of the plot area assumed when spacing labels (pixels), and the room one character of a
#: label takes along the spectral axis: its width written across, its height written upright.
_PLOT_WIDTH_PX = 1000
_CHARACTER_PX = {"across": 7.5, "upright": 15}
#: Height of a row of labels, in the 0-1 vertical scale, and the most rows (then they repeat).
_ROW_HEIGHTS = {"across": 0.04, "upright": 0.16}
_MAX_ROWS = 4


class VettingWindows(Lines):
    """Shaded spectral windows the agent inspected (one closed path per window)."""


class VettingLines(Lines):
    """Vertical markers at the observed wavelengths of identified lines."""


class VettingLabels(Label):
    """Names written beside the windows or lines."""


class Overlay:
    """The Spectral Vetting marks on one spectrum viewer.

    Parameters
    ----------
    viewer : jdaviz spectrum viewer
        Any viewer with bqplot ``scales`` and ``figure`` (the marks are appended to its figure)
        and a glue ``state`` (its ``x_min`` and ``x_max`` space the labels).

    Attributes
    ----------
    windows, lines : `VettingWindows`, `VettingLines`
    window_labels, line_labels : `VettingLabels`
    """

    def __init__(self, viewer):
        self.viewer = viewer
        # The marks are widgets: create them in the thread that owns the kernel, draw from any.
        scales = {"x": viewer.scales["x"], "y": LinearScale(min=0, max=1)}
        self.windows = VettingWindows(
            x=[],
            y=[],
            scales=scales,
            colors=[WINDOW_COLOR],
            fill="inside",
            stroke_width=0,
        )
        self.window_labels = VettingLabels(
            x=[],
            y=[],
            text=[],
            scales=scales,
            colors=[WINDOW_COLOR],
            font_size=12,
            align="start",
            x_offset=3,
        )
        self.lines = VettingLines(
            x=[],
            y=[],
            scales=scales,
            colors=[LINE_COLOR],
            line_style="dashed",
            stroke_width=1,
        )
        self.line_labels = VettingLabels(
            x=[],
            y=[],
            text=[],
            scales=scales,
            colors=[LINE_COLOR],
            font_size=11,
            rotate_angle=-90,
            align="start",
            x_offset=-3,
        )
        self.marks = [self.windows, self.window_labels, self.lines, self.line_labels]
        viewer.figure.marks = [*viewer.figure.marks, *self.marks]

    def draw(self, windows, window_labels, lines, line_labels, unit):
        """Show ``windows`` and ``lines`` (observed frame) in ``unit``, replacing what was shown.

        Parameters
        ----------
        windows : `~astropy.units.Quantity`, shape (n, 2)
            Lower and upper edges of each window, any spectral unit.
        window_labels : list of str
        lines : `~astropy.units.Quantity`, shape (m,)
            Observed wavelengths of the lines.
        line_labels : list of str
        unit : `~astropy.units.Unit` or str
            The viewer's spectral display unit.
        """
        unit = u.Unit(unit)
        edges = np.sort(u.Quantity(windows).reshape(-1, 2).to_value(unit, u.spectral()), axis=1)
        positions = u.Quantity(lines).ravel().to_value(unit, u.spectral())
        pixel = self._pixel_size(np.concatenate([edges.ravel(), positions]))
        window_rows = label_rows(
            edges[:, 0], [len(text) * _CHARACTER_PX["across"] * pixel for text in window_labels]
        )
        line_rows = label_rows(positions, [_CHARACTER_PX["upright"] * pixel] * len(positions))
        with self.windows.hold_sync():
            self.windows.x = [[lo, lo, hi, hi] for lo, hi in edges]
            self.windows.y = [[0, 1, 1, 0]] * len(edges)
            # bqplot fills only the paths that have a fill colour and opacity of their own
            self.windows.fill_colors = [WINDOW_COLOR] * len(edges)
            self.windows.fill_opacities = [0.15] * len(edges)
        with self.window_labels.hold_sync():
            self.window_labels.x = edges[:, 0]
            self.window_labels.y = 0.96 - _ROW_HEIGHTS["across"] * (window_rows % _MAX_ROWS)
            self.window_labels.text = list(window_labels)
        with self.lines.hold_sync():
            self.lines.x = [[x, x] for x in positions]
            self.lines.y = [[0, 1]] * len(positions)
        with self.line_labels.hold_sync():
            self.line_labels.x = positions
            self.line_labels.y = 0.03 + _ROW_HEIGHTS["upright"] * (line_rows % _MAX_ROWS)
            self.line_labels.text = list(line_labels)

    def _pixel_size(self, drawn):
        """About one screen pixel along the spectral axis, in display units, at the current zoom
        (or, before the viewer has limits, over what is ``drawn``)."""
        limits = [self.viewer.state.x_min, self.viewer.state.x_max]
        if None in limits and drawn.size:
            limits = [drawn.min(), drawn.max()]
        span = abs(limits[1] - limits[0]) if None not in limits else 0.0
        return span / _PLOT_WIDTH_PX

    def clear(self):
        """Remove every window and line from the plot (the marks stay, empty)."""
        self.draw(np.empty((0, 2)) * u.AA, [], np.empty(0) * u.AA, [], u.AA)


def label_rows(starts, widths):
    """Row of each label (0 the first), so that labels that would overlap go to different rows.

    Parameters
    ----------
    starts : array-like
        Where each label starts along the axis.
    widths : array-like
        How far along the axis each label reaches.

    Returns
    -------
    rows : `~numpy.ndarray` of int

    Examples
    --------
    >>> label_rows([6497, 6563, 4861, 6680], [100, 100, 100, 100]).tolist()
    [0, 1, 0, 0]
    """
    starts, widths = np.asarray(starts, dtype=float), np.asarray(widths, dtype=float)
    rows = np.zeros(starts.size, dtype=int)
    ends = []  # where the last label of each row ends
    for i in np.argsort(starts, kind="stable"):
        row = next((r for r, end in enumerate(ends) if starts[i] > end), len(ends))
        if row == len(ends):
            ends.append(0.0)
        ends[row] = starts[i] + widths[i]
        rows[i] = row
    return rows
