"""The Spectral Vetting plugin: its tray plugin, its overlays on the spectrum viewer, its log."""

from .log import *  # noqa: F401,F403
from .log import __all__ as _log_all
from .overlays import *  # noqa: F401,F403
from .overlays import __all__ as _overlays_all
from .vetting import *  # noqa: F401,F403
from .vetting import __all__ as _vetting_all

__all__ = [*_vetting_all, *_overlays_all, *_log_all]
