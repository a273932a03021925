"""The inspection tools as specutils-style analysis functions: look, find lines, measure bands.

Each takes a :class:`~specutils.Spectrum` and, as its second (positional) argument, the window
to work on (a :class:`~specutils.SpectralRegion` or a ``(lo, hi)`` Quantity pair, `None` for the
whole spectrum), and returns an image, a table or a Quantity. The agent's tools wrap these thinly.
"""

from .bands import band_strength
from .lines import identify_lines
from .render import render_window

__all__ = ["render_window", "identify_lines", "band_strength"]
