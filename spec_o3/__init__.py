"""Vet rare celestial-object candidates from their 1-D optical spectra the way an astronomer does.

Importing :mod:`spec_o3` registers its LAMOST and SDSS readers with :class:`specutils.Spectrum`
under its own format names (``"spec-o3 LAMOST-LRS"``, ...), so ``Spectrum.read(path)`` also reads
the survey files specutils alone does not recognise; what it returns for any other file is
unchanged (see :doc:`/io`).
"""

try:
    from ._version import version as __version__
except ImportError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

from . import io  # noqa: F401  (registers the survey readers on import)
from .agent import TASKS, VettingResult, load_task_file, vet, vet_targets
from .exceptions import UnvettableSpectrum

__all__ = [
    "TASKS",
    "UnvettableSpectrum",
    "VettingResult",
    "__version__",
    "load_task_file",
    "vet",
    "vet_targets",
]
