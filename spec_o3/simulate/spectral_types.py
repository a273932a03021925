"""MK spectral types and effective temperatures of dwarfs and giants."""

import numpy as np

from .constants import C_KMS
from .tables import read_table

__all__ = [
    "DWARF_TEFF",
    "GIANT_TEFF",
    "spectral_type",
    "choose_subtype",
    "radial_velocity_redshift",
]


def _teff_scale(luminosity_class):
    table = read_table("simulate_teff_scale.ecsv")
    rows = table[table["luminosity_class"] == luminosity_class]
    return {str(row["subtype"]): int(row["teff"]) for row in rows}


#: Main-sequence Teff (K) by subtype (Pecaut & Mamajek 2013, ApJS 208, 9), from
#: ``data/simulate_teff_scale.ecsv``.
DWARF_TEFF = _teff_scale("V")
#: Giant Teff (K) by subtype (G–K: Alonso et al. 1999; M: van Belle et al. 1999 and Perrin et al.
#: 1998), from ``data/simulate_teff_scale.ecsv``.
GIANT_TEFF = _teff_scale("III")


def spectral_type(teff, table):
    """The subtype of ``table`` whose Teff is closest to ``teff``.

    Examples
    --------
    >>> spectral_type(5750.0, DWARF_TEFF)
    'G2'
    """
    return min(table, key=lambda key: abs(table[key] - teff))


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
