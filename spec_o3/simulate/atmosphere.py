"""Line strengths from LTE populations: Saha–Boltzmann fractions over the continuous opacity.

A line's optical depth relative to the continuum scales with the number of absorbers in its lower
level per unit continuous opacity. Both are evaluated at one characteristic photospheric point per
star (temperature ``teff``, electron pressure from :func:`electron_pressure`) — the classic textbook
estimate (Gray 2005, *The Observation and Analysis of Stellar Photospheres*, ch. 8 and 13). It
reproduces the shapes that matter for classification: Balmer lines peaking near A0 in dwarfs and
near 12 000 K in white dwarfs, neutral-metal lines growing towards cool stars, ionised lines
favouring giants, He I in B stars and He II in O stars and hot subdwarfs. Absolute strengths are set
per line against the Sun.
"""

import numpy as np

from .constants import SIGMA_T_CGS
from .tables import read_table

__all__ = [
    "ELEMENTS",
    "ATOMIC_MASS",
    "electron_pressure",
    "ionisation_fractions",
    "hydrogen_ionised_fraction",
    "continuum_opacity",
    "h_minus_opacity",
    "line_to_continuum",
    "relative_strength",
    "SUN",
]


def _elements():
    table = read_table("simulate_elements.ecsv")
    return {
        str(row["element"]): (
            float(row["log_eps"]),
            (float(row["chi_1"]), float(row["chi_2"])),
            (float(row["u_1"]), float(row["u_2"]), float(row["u_3"])),
        )
        for row in table
    }


#: element -> (log eps solar [Asplund et al. 2009], ionisation energies of stages I and II in eV
#: [NIST], partition functions of stages I, II, III at photospheric temperatures [Gray 2005, app. D,
#: rounded]), from ``data/simulate_elements.ecsv``.
ELEMENTS = _elements()
#: Atomic masses (u) by element, from the same table.
ATOMIC_MASS = {
    str(row["element"]): float(row["atomic_mass"]) for row in read_table("simulate_elements.ecsv")
}

# log10 Pe (dyn cm^-2) near tau ~ 2/3 at log g = 4.44 against log10 Teff, read off model atmospheres
# (Gray 2005 tables; Kurucz/ATLAS and Koester white-dwarf models for the hot end), and its gravity
# slope.
_LOGT_ANCHORS = np.log10([2400, 3500, 4500, 5777, 7000, 8000, 9500, 12000, 20000, 40000, 100000])
_LOGPE_ANCHORS = np.array([-0.6, 0.0, 0.67, 1.4, 2.1, 2.7, 3.2, 3.4, 4.0, 4.2, 4.3])
# d log Pe / d log g: electrons from partially ionised metals and hydrogen (Pe ∝ Pg^0.35) in cool
# atmospheres, from nearly fully ionised hydrogen (Pe ∝ Pg^0.6) in hot ones.
_SLOPE_LOGT = np.log10([6000.0, 15000.0])
_SLOPE = np.array([0.35, 0.6])


def electron_pressure(teff, logg):
    """Characteristic photospheric electron pressure in dyn cm⁻² (interpolated between anchors).

    Examples
    --------
    >>> round(float(np.log10(electron_pressure(5777, 4.44))), 1)
    1.4
    """
    logt = np.log10(teff)
    slope = np.interp(logt, _SLOPE_LOGT, _SLOPE)
    logpe = np.interp(logt, _LOGT_ANCHORS, _LOGPE_ANCHORS) + slope * (logg - 4.44)
    return 10**logpe


def _saha_phi(teff, chi, u_lower, u_upper):
    """Saha factor N_upper/N_lower × Pe in dyn cm⁻² (Gray 2005 eq. 1.20)."""
    theta = 5040.0 / teff
    return 0.6665 * (u_upper / u_lower) * teff**2.5 * 10 ** (-theta * chi)


def ionisation_fractions(element, teff, pe):
    """Fractions of an element in its neutral, singly and doubly ionised stages.

    Examples
    --------
    >>> f = ionisation_fractions("Fe", 5777, electron_pressure(5777, 4.44))
    >>> bool(f[1] > f[0])  # iron is mostly singly ionised in the Sun
    True
    """
    _, (chi1, chi2), (u1, u2, u3) = ELEMENTS[element]
    r1 = _saha_phi(teff, chi1, u1, u2) / pe
    r2 = _saha_phi(teff, chi2, u2, u3) / pe if np.isfinite(chi2) else 0.0
    n1 = 1.0
    n2 = r1
    n3 = r1 * r2
    total = n1 + n2 + n3
    return np.array([n1, n2, n3]) / total


def hydrogen_ionised_fraction(teff, pe):
    """Fraction of hydrogen that is ionised."""
    return ionisation_fractions("H", teff, pe)[1]


def h_minus_opacity(teff, pe):
    """H⁻ bound-free opacity per neutral H atom (cm²): σ ≈ 4e-17 cm² times n(H⁻)/n(H) (Saha)."""
    theta = 5040.0 / teff
    return 4e-17 * pe / (2 * 0.6665 * teff**2.5 * 10 ** (-0.754 * theta))


def continuum_opacity(teff, pe):
    """Continuous opacity per hydrogen nucleus (cm²) near 5000 Å: H⁻, H I bound-free and electrons.

    H⁻ bound-free uses σ ≈ 4e-17 cm² and the H⁻ Saha equation (binding 0.754 eV); H I bound-free the
    Kramers cross-section from n = 3 (σ ≈ 5.4e-18 cm² at 5000 Å, n = 3 population 9 × 10^(−12.09 θ)
    of the neutral atoms); Thomson scattering σ_T per free electron from hydrogen.
    """
    theta = 5040.0 / teff
    f_neutral = 1.0 - hydrogen_ionised_fraction(teff, pe)
    kappa_hminus = h_minus_opacity(teff, pe)
    kappa_hbf = 5.4e-18 * 9.0 * 10 ** (-12.09 * theta)
    return f_neutral * (kappa_hminus + kappa_hbf) + SIGMA_T_CGS * (1.0 - f_neutral)


def line_to_continuum(elements, stages, chis, teff, logg):
    """Lower-level populations per H nucleus over the continuous opacity, for many lines at once.

    Parameters
    ----------
    elements : sequence of str
        Element symbols (keys of `ELEMENTS`).
    stages : array-like of int
        0 neutral, 1 singly ionised, 2 doubly ionised.
    chis : array-like
        Lower-level excitation energies (eV).
    teff, logg : float
        Effective temperature (K) and log surface gravity (cgs).

    Returns
    -------
    ratio : `numpy.ndarray`
        In cm⁻² per hydrogen nucleus, up to each line's constant atomic factor.
    """
    pe = electron_pressure(teff, logg)
    stages = np.asarray(stages, dtype=int)
    chis = np.asarray(chis, dtype=float)
    populations = np.empty(chis.shape)
    fractions = {}
    for i, element in enumerate(elements):
        if element not in fractions:
            fractions[element] = ionisation_fractions(element, teff, pe)
        log_eps, _, partition = ELEMENTS[element]
        populations[i] = 10 ** (log_eps - 12) * fractions[element][stages[i]] / partition[stages[i]]
    return populations * 10 ** (-5040.0 / teff * chis) / continuum_opacity(teff, pe)


#: The Sun's parameters, the reference for most lines' absolute strengths.
SUN = {"teff": 5777.0, "logg": 4.44}


def relative_strength(element, stage, chi_exc, teff, logg, abundance=0.0):
    """Line-to-continuum opacity ratio relative to the Sun.

    Parameters
    ----------
    element : str
        Element symbol, a key of `ELEMENTS`.
    stage : int
        0 for the neutral atom, 1 for the singly ionised ion, 2 for the doubly ionised.
    chi_exc : float
        Excitation energy of the lower level in eV.
    teff, logg : float
        Effective temperature (K) and log surface gravity (cgs).
    abundance : float
        [X/H] in dex.

    Examples
    --------
    >>> round(float(relative_strength("Fe", 0, 1.0, 5777, 4.44)), 3)
    1.0
    >>> a0, sun = (relative_strength("H", 0, 10.2, t, g) for t, g in ((9500, 4.0), (5777, 4.44)))
    >>> bool(a0 > 20 * sun)
    True
    """
    ratio = line_to_continuum([element], [stage], [chi_exc], teff, logg)[0]
    reference = line_to_continuum([element], [stage], [chi_exc], SUN["teff"], SUN["logg"])[0]
    return ratio / reference * 10**abundance
