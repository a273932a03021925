"""Interstellar reddening: Cardelli, Clayton & Mathis (1989) with O'Donnell's (1994) optical fit."""

import numpy as np

__all__ = ["extinction_ccm89", "redden"]

# O'Donnell (1994, ApJ 422, 158) coefficients of a(y) and b(y), y = x - 1.82, for 1.1 <= x <= 3.3
# /um.
_A_OPT = np.array([1.0, 0.104, -0.609, 0.701, 1.137, -1.718, -0.827, 1.647, -0.505])
_B_OPT = np.array([0.0, 1.952, 2.908, -3.989, -7.985, 11.102, 5.491, -10.805, 3.347])


def extinction_ccm89(wavelength, r_v=3.1):
    """Return A(λ)/A(V) of the CCM89 law (optical part from O'Donnell 1994).

    Parameters
    ----------
    wavelength : array-like
        Wavelengths in Å between 3030 Å and 3.3 µm (the optical and near-infrared branches).
    r_v : float
        Total-to-selective extinction ratio R_V = A(V)/E(B−V).

    Returns
    -------
    ratio : `numpy.ndarray`
        A(λ)/A(V).

    Examples
    --------
    >>> import numpy as np
    >>> np.round(extinction_ccm89([4400.0, 5500.0, 9000.0]), 2)
    array([1.32, 1.  , 0.48])
    """
    x = 1e4 / np.asarray(wavelength, dtype=float)
    if np.any((x < 0.3) | (x > 3.3)):
        raise ValueError("wavelength outside the 3030 Å - 3.3 µm range of the CCM89 optical/IR law")
    a = np.empty_like(x)
    b = np.empty_like(x)
    infrared = x < 1.1
    a[infrared] = 0.574 * x[infrared] ** 1.61
    b[infrared] = -0.527 * x[infrared] ** 1.61
    y = x[~infrared] - 1.82
    a[~infrared] = np.polynomial.polynomial.polyval(y, _A_OPT)
    b[~infrared] = np.polynomial.polynomial.polyval(y, _B_OPT)
    return a + b / r_v


def redden(wavelength, ebv, r_v=3.1):
    """Return the multiplicative transmission 10^(−0.4 A(λ)) for a colour excess E(B−V).

    Examples
    --------
    >>> float(redden([5500.0], 0.0)[0])
    1.0
    """
    return 10 ** (-0.4 * ebv * r_v * extinction_ccm89(wavelength, r_v))
