"""
Survey readers and writer for `specutils.Spectrum`, registered on import.

After ``import spec_o3``, ``Spectrum.read(path)`` reads LAMOST LRS files (every public layout, plain
or gzipped) and SDSS ``spec``/``spSpec`` files without a ``format`` argument, and
``spectrum.write(path, format="LAMOST-LRS")`` writes the LAMOST image layout. See :doc:`/io`.
"""

from . import unreadable  # noqa: F401  (registers the explanatory reader for corrupt FITS files)
from .lamost import *  # noqa: F401,F403
from .lamost import __all__ as _lamost_all
from .sdss import *  # noqa: F401,F403
from .sdss import __all__ as _sdss_all
from .survey import read_for_inspection, read_survey_spectrum

__all__ = ["read_for_inspection", "read_survey_spectrum", *_lamost_all, *_sdss_all]
