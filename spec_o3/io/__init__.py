"""
Survey readers and writer for `specutils.Spectrum`, registered on import.

After ``import spec_o3``, ``Spectrum.read(path)`` also reads LAMOST LRS files (every public layout,
plain or gzipped) and SDSS DR1–DR7 ``spSpec`` files, which specutils alone does not recognise;
what it returns for any file specutils reads itself is unchanged. The readers are registered under
spec-o3's own format names (``format="spec-o3 LAMOST-LRS"``, ``"spec-o3 SDSS-spec"``, ...), and
`read_for_inspection` reads every survey file with them. ``spectrum.write(path, format="spec-o3
LAMOST-LRS")`` writes the LAMOST image layout. See :doc:`/io`.
"""

from .desi import *  # noqa: F401,F403
from .desi import __all__ as _desi_all
from .lamost import *  # noqa: F401,F403
from .lamost import __all__ as _lamost_all
from .sdss import *  # noqa: F401,F403
from .sdss import __all__ as _sdss_all
from .survey import read_for_inspection, read_survey_spectrum

__all__ = ["read_for_inspection", "read_survey_spectrum", *_lamost_all, *_sdss_all, *_desi_all]
