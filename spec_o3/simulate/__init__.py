"""Physically grounded, labelled LAMOST-like spectra of the rare classes and their confusers.

`simulate_spectrum` draws one spectrum of a registered class; `draw_suite` (or `iter_suite`) draws a
labelled suite for a vetting task; `CLASSES` lists what can be simulated and which task each class
is a positive for; `confusers` names the classes that mimic a task's positives. See
:doc:`/simulate`.
"""

from .carbon import CARBON_CLASSES
from .cataclysmic import CATACLYSMIC_CLASSES
from .compact import COMPACT_CLASSES
from .core import DEFAULT_SNR, FLUX_UNIT, simulate_spectrum
from .degraded import DEGRADED_CLASSES
from .extragalactic import EXTRAGALACTIC_CLASSES
from .peculiar import PECULIAR_CLASSES
from .registry import CLASSES, SpectralClass, get_class, register_class
from .stars import STAR_CLASSES
from .suite import confusers, draw_suite, iter_suite, positives

__all__ = [
    "simulate_spectrum",
    "draw_suite",
    "iter_suite",
    "confusers",
    "positives",
    "CLASSES",
    "SpectralClass",
    "get_class",
    "register_class",
    "FLUX_UNIT",
    "DEFAULT_SNR",
]

for _spectral_class in (
    *STAR_CLASSES,
    *CARBON_CLASSES,
    *PECULIAR_CLASSES,
    *COMPACT_CLASSES,
    *CATACLYSMIC_CLASSES,
    *EXTRAGALACTIC_CLASSES,
    *DEGRADED_CLASSES,
):
    register_class(_spectral_class)
del _spectral_class
