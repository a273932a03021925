"""What the Spectral Vetting plugin draws on a spectrum viewer: inspected windows, identified lines.

Four bqplot marks per viewer, created once and redrawn in place: shaded windows with their labels
at the top of the plot, and vertical lines with their names at the bottom. The vertical extent uses
a fixed 0-1 scale, so only the spectral axis depends on the display unit; `Overlay.draw` takes
observed-frame quantities and converts them to whatever unit the viewer shows.
"""

import astropy.units as u
import numpy as np
from bqplot import Label, LinearScale, Lines

__all__ = ["Overlay", "VettingLabels", "VettingLines", "VettingWindows"]

WINDOW_COLOR = "#2c7fb8"
LINE_COLOR = "#c75d2c"


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
        Any viewer with bqplot ``scales`` and ``figure`` (the marks are appended to its figure).

    Attributes
    ----------
    windows, lines : `VettingWindows`, `VettingLines`
    window_labels, line_labels : `VettingLabels`
    """

    def __init__(self, viewer):
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
        with self.windows.hold_sync():
            self.windows.x = [[lo, lo, hi, hi] for lo, hi in edges]
            self.windows.y = [[0, 1, 1, 0]] * len(edges)
            # bqplot fills only the paths that have a fill colour and opacity of their own
            self.windows.fill_colors = [WINDOW_COLOR] * len(edges)
            self.windows.fill_opacities = [0.15] * len(edges)
        with self.window_labels.hold_sync():
            # Three rows of labels, so that neighbouring windows' labels rarely overlap.
            self.window_labels.x = edges[:, 0]
            self.window_labels.y = 0.96 - 0.04 * (np.arange(len(edges)) % 3)
            self.window_labels.text = list(window_labels)
        with self.lines.hold_sync():
            self.lines.x = [[x, x] for x in positions]
            self.lines.y = [[0, 1]] * len(positions)
        with self.line_labels.hold_sync():
            self.line_labels.x, self.line_labels.y = positions, np.full(len(positions), 0.03)
            self.line_labels.text = list(line_labels)

    def clear(self):
        """Remove every window and line from the plot (the marks stay, empty)."""
        self.draw(np.empty((0, 2)) * u.AA, [], np.empty(0) * u.AA, [], u.AA)
