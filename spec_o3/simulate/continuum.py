"""Continuum shapes: black bodies, a steady accretion disc, power laws."""

import numpy as np

from .constants import HC_OVER_K

__all__ = ["planck", "accretion_disc", "power_law"]


def planck(wavelength, teff):
    """Black-body f_λ (arbitrary units, 1 at 5500 Å) at the rest wavelengths ``wavelength`` (Å).

    Examples
    --------
    >>> import numpy as np
    >>> round(float(planck(np.array([5500.0]), 6000.0)[0]), 6)
    1.0
    >>> bool(planck(np.array([4000.0]), 20000.0)[0] > planck(np.array([4000.0]), 4000.0)[0])
    True
    """
    wavelength = np.asarray(wavelength, dtype=float)

    def shape(w):
        return w**-5 / np.expm1(np.minimum(HC_OVER_K / (w * teff), 700.0))

    return shape(wavelength) / shape(5500.0)


def accretion_disc(wavelength, t_inner, r_ratio=30.0, n_rings=24):
    """Steady optically thick disc: black-body annuli with T ∝ r^(−3/4) (Shakura & Sunyaev 1973).

    Parameters
    ----------
    wavelength : array-like
        Rest wavelengths (Å).
    t_inner : float
        Temperature (K) at the inner edge of the annuli (near the maximum of the steady profile).
    r_ratio : float
        Outer over inner radius.

    Returns
    -------
    flux : `numpy.ndarray`
        f_λ, 1 at 5500 Å.

    Examples
    --------
    >>> import numpy as np
    >>> f = accretion_disc(np.array([4000.0, 8000.0]), 30000.0)
    >>> bool(f[0] > f[1])  # blue
    True
    """
    wavelength = np.asarray(wavelength, dtype=float)
    radii = np.geomspace(1.0, r_ratio, n_rings + 1)
    mid = np.sqrt(radii[1:] * radii[:-1])
    area = np.pi * (radii[1:] ** 2 - radii[:-1] ** 2)
    temperature = t_inner * mid**-0.75

    def shape(w):
        w = np.atleast_1d(w)[:, None]
        planck = w**-5 / np.expm1(np.minimum(HC_OVER_K / (w * temperature), 700.0))
        return (area * planck).sum(axis=1)

    # The sum of black bodies is smooth: evaluate it on a coarse log grid and interpolate.
    lo, hi = np.log10(wavelength.min()), np.log10(wavelength.max())
    nodes = np.logspace(lo, hi, 256) if hi > lo else np.atleast_1d(wavelength)
    return np.interp(wavelength, nodes, shape(nodes)) / shape(5500.0)[0]


def power_law(wavelength, alpha_nu):
    """f_λ of a power law f_ν ∝ ν^α_ν (f_λ ∝ λ^(−2−α_ν)), 1 at 5500 Å.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(power_law(np.array([2750.0]), -0.44)[0]), 3)  # a quasar rises to the blue
    2.949
    """
    return (np.asarray(wavelength, dtype=float) / 5500.0) ** (-2.0 - alpha_nu)
