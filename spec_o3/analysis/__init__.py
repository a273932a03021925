"""The inspection tools as specutils-style analysis functions: look, find lines, measure bands.

Each takes a :class:`~specutils.Spectrum` and, as its second (positional) argument, the window
to work on (a :class:`~specutils.SpectralRegion` or a ``(lo, hi)`` Quantity pair, `None` for the
whole spectrum), and returns an image, a table or a Quantity. The agent's tools wrap these thinly.
"""

import importlib

__all__ = ["render_window", "identify_lines", "band_strength"]

#: function -> its module, imported on first use (PEP 562): text-only vetting, which computes on
#: `spec_o3.analysis.arrays` directly, then never loads the renderer or the line finder.
_MODULES = {"render_window": "render", "identify_lines": "lines", "band_strength": "bands"}


def __getattr__(name):
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_MODULES[name]}", __name__), name)


def __dir__():
    return sorted([*globals(), *__all__])
