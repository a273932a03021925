"""MK spectral types and effective temperatures of dwarfs and giants."""

import numpy as np

from .constants import C_KMS

__all__ = [
    "DWARF_TEFF",
    "GIANT_TEFF",
    "spectral_type",
    "choose_subtype",
    "log_uniform",
    "radial_velocity_redshift",
]

#: Main-sequence Teff (K) by subtype (Pecaut & Mamajek 2013, ApJS 208, 9; their table as updated
#: online).
DWARF_TEFF = {
    "B1": 25400,
    "B3": 18500,
    "B5": 15700,
    "B8": 12300,
    "B9": 10700,
    "A0": 9700,
    "A2": 8840,
    "A5": 8080,
    "A7": 7800,
    "F0": 7220,
    "F2": 6810,
    "F5": 6510,
    "F8": 6170,
    "G0": 5920,
    "G2": 5770,
    "G5": 5660,
    "G8": 5490,
    "K0": 5280,
    "K2": 5040,
    "K3": 4830,
    "K5": 4450,
    "K7": 4050,
    "M0": 3850,
    "M1": 3660,
    "M2": 3560,
    "M3": 3430,
    "M4": 3210,
    "M5": 3060,
    "M6": 2810,
    "M7": 2680,
    "M8": 2570,
    "M9": 2380,
}
#: Giant Teff (K) by subtype (G–K: Alonso et al. 1999; M: van Belle et al. 1999 and Perrin et al.
#: 1998).
GIANT_TEFF = {
    "G5": 5050,
    "G8": 4900,
    "K0": 4750,
    "K1": 4600,
    "K2": 4450,
    "K3": 4300,
    "K4": 4150,
    "K5": 4000,
    "M0": 3850,
    "M1": 3780,
    "M2": 3700,
    "M3": 3620,
    "M4": 3520,
    "M5": 3400,
    "M6": 3250,
    "M7": 3100,
    "M8": 2900,
}


def spectral_type(teff, table):
    """The subtype of ``table`` whose Teff is closest to ``teff``.

    Examples
    --------
    >>> spectral_type(5750.0, DWARF_TEFF)
    'G2'
    """
    return min(table, key=lambda key: abs(table[key] - teff))


def log_uniform(rng, lo, hi):
    """A draw uniform in log between ``lo`` and ``hi``."""
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def radial_velocity_redshift(velocity_kms):
    """1 + z of a line-of-sight velocity (relativistic Doppler), minus one.

    Examples
    --------
    >>> round(radial_velocity_redshift(299.792458), 6)
    0.001001
    """
    beta = velocity_kms / C_KMS
    return float(np.sqrt((1 + beta) / (1 - beta)) - 1)


def choose_subtype(rng, weights, requested=None):
    """Draw a subtype from ``weights`` (name -> weight), or return the ``requested`` one.

    The random number is consumed either way, so requesting a subtype leaves the other draws
    unchanged. A request matches a name it starts with (``"DA3.4"`` → ``"DA"``, the longest such
    name) or that starts with it (``"magnetic"`` → ``"magnetic (polar/IP)"``), ignoring case.

    Examples
    --------
    >>> import numpy as np
    >>> choose_subtype(np.random.default_rng(0), {"DA": 0.8, "DAH": 0.2}, "DAH1.5")
    'DAH'
    """
    names = list(weights)
    p = np.array([weights[n] for n in names], dtype=float)
    drawn = names[rng.choice(len(names), p=p / p.sum())]
    if requested is None:
        return drawn
    text = str(requested).lower()
    matches = [n for n in names if text.startswith(n.lower())] or [
        n for n in names if n.lower().startswith(text)
    ]
    if not matches:
        raise ValueError(f"unknown subtype {requested!r}; known: {', '.join(names)}")
    return max(matches, key=len)
