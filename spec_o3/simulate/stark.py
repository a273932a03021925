"""Pressure-broadened hydrogen and helium lines: Balmer, Paschen, He I and He II series.

Hydrogen and helium lines are broadened by the electric microfield of the plasma (linear Stark
effect), so their widths grow with the electron density: narrow in supergiants and horizontal-branch
stars, broad in main-sequence A stars, very broad in white dwarfs. Each line's opacity follows
``stark_profile`` with a half width

    w = w_ref (λ/λ_Hβ)² (n_u² − n_l²)/12 (N_e / N_e,ref)^p,

and an integrated strength ∝ g f λ² times the LTE lower-level population over the continuous opacity
(:mod:`~spec_o3.simulate.atmosphere`). Levels that the microfield dissolves (Hummer & Mihalas 1988)
are suppressed above the Inglis & Teller (1939) limit, which is why white dwarfs show few lines
above Hε. The reference width, exponent p and strengths are calibrated against MILES A0–A2 V stars
and the white- dwarf standards at R = 1800 (``benchmarks/realism_check.py``).
"""

from dataclasses import dataclass
from functools import cache

import numpy as np

from .atmosphere import (
    ELEMENTS,
    _saha_phi,
    continuum_opacity,
    electron_pressure,
    hydrogen_ionised_fraction,
    ionisation_fractions,
)
from .atomic import catalogue_wavelength
from .constants import AMU_G, K_B_CGS, RYDBERG_H, RYDBERG_HE_II, SIGMA_T_CGS
from .tables import read_table

__all__ = [
    "StarkLine",
    "core_depth",
    "hydrogen_lines",
    "helium_lines",
    "stark_opacity_parameters",
]


def _oscillator_strengths(species, n_lower):
    """``{n_upper: f}`` of a series, from ``data/simulate_oscillator_strengths.ecsv``."""
    table = read_table("simulate_oscillator_strengths.ecsv")
    rows = table[(table["species"] == species) & (table["n_lower"] == n_lower)]
    return {int(row["n_upper"]): float(row["f"]) for row in rows}


# Absorption oscillator strengths f(l -> u) of the Balmer and Paschen series (Wiese & Fuhr 2009);
# an n^-3 tail beyond the last listed.
_F_BALMER = _oscillator_strengths("H I", 2)
_F_PASCHEN = _oscillator_strengths("H I", 3)
#: Excitation energy (eV) of hydrogen's n = 2 level, the lower level of the Balmer series.
_BALMER_CHI = 10.199

#: Stark half width (Å) of Hβ at the reference electron density, the density exponent, and the
#: reference density (that of an A0 V photosphere).
W_REF = 0.58
DENSITY_EXPONENT = 0.60
NE_REF = 1.2e15
#: Neutral hydrogen atoms counted per perturbing electron (resonance broadening), calibrated on the
#: Sun's Hβ and the cool DA white dwarf LTT 3218.
NEUTRAL_WEIGHT = 3e-3


@dataclass(frozen=True)
class StarkLine:
    """One pressure-broadened line.

    Attributes
    ----------
    name : str
    element : str
        ``"H"`` or ``"He"``.
    stage : int
        0 for H I / He I, 1 for He II.
    wavelength : float
        Vacuum rest wavelength in Å.
    chi : float
        Lower-level excitation energy in eV.
    gf_lambda2 : float
        g_l f λ² (Å²): the atomic part of the integrated opacity.
    stark_factor : float
        Width relative to Hβ at the same density, before the (λ/λ_Hβ)² scaling.
    n_upper : int
        Principal quantum number of the upper level (for level dissolution).
    """

    name: str
    element: str
    stage: int
    wavelength: float
    chi: float
    gf_lambda2: float
    stark_factor: float
    n_upper: int


def _oscillator_strength(table, n):
    last = max(table)
    return table.get(n, table[last] * (last / n) ** 3)


@cache
def hydrogen_lines():
    """Balmer (Hα to H16) and Paschen (P10 to P20) lines inside the LAMOST range.

    Wavelengths follow the Rydberg formula, replaced by the catalogue's where it lists the line.

    Examples
    --------
    >>> lines = hydrogen_lines()
    >>> round(lines[0].wavelength, 1), lines[0].name
    (6564.6, 'H3-2')
    """
    lines = []
    for n_lower, table, n_range, chi in (
        (2, _F_BALMER, range(3, 17), _BALMER_CHI),
        (3, _F_PASCHEN, range(10, 21), 12.088),
    ):
        for n in n_range:
            wavelength = catalogue_wavelength(
                "H I", 1e8 / (RYDBERG_H * (1 / n_lower**2 - 1 / n**2))
            )
            f = _oscillator_strength(table, n)
            lines.append(
                StarkLine(
                    f"H{n}-{n_lower}",
                    "H",
                    0,
                    wavelength,
                    chi,
                    2 * n_lower**2 * f * wavelength**2,
                    (n**2 - n_lower**2) / 12.0,
                    n,
                )
            )
    return tuple(lines)


# He I lines of B stars, DB white dwarfs and hot subdwarfs are in data/simulate_helium_lines.ecsv;
# the He II lines of O stars, sdO and DO white dwarfs: f of each drawn (n_lower, n_upper).
_HE_II_F = {
    (int(row["n_lower"]), int(row["n_upper"])): float(row["f"])
    for row in read_table("simulate_oscillator_strengths.ecsv")
    if row["species"] == "He II"
}
#: He I/He II widths relative to hydrogen lines at the same density (quadratic-Stark lines are
#: narrower).
_HE_I_STARK = 0.35
_HE_II_STARK = 0.8


@cache
def helium_lines():
    """He I and He II lines inside the LAMOST range.

    Examples
    --------
    >>> [line.name for line in helium_lines()][:2]
    ['He I 4027', 'He I 4389']
    """
    lines = [
        StarkLine(
            name,
            "He",
            0,
            catalogue_wavelength("He I", wavelength),
            chi,
            10**loggf * wavelength**2,
            _HE_I_STARK,
            0,
        )
        for name, wavelength, chi, loggf in (
            (str(row["name"]), float(row["wavelength"]), float(row["chi"]), float(row["log_gf"]))
            for row in read_table("simulate_helium_lines.ecsv")
        )
    ]
    for (n_lower, n_upper), f in _HE_II_F.items():
        wavelength = catalogue_wavelength(
            "He II", 1e8 / (4 * RYDBERG_HE_II * (1 / n_lower**2 - 1 / n_upper**2))
        )
        chi = ELEMENTS["He"][1][1] * (1 - 1 / n_lower**2)  # He II ionisation energy, scaled
        lines.append(
            StarkLine(
                f"He II {wavelength:.0f}",
                "He",
                1,
                wavelength,
                chi,
                2 * n_lower**2 * f * wavelength**2,
                _HE_II_STARK * (n_upper**2 - n_lower**2) / 12.0 / 4,
                n_upper,
            )
        )
    return tuple(lines)


#: Power-law index of the empirical fading of hydrogen lines with temperature (see below).
HOT_FADE_POWER = 2.33
#: Largest fractional depth of a saturated Stark-line core (the residual flux of its source
#: function).
CORE_DEPTH = 0.625
#: The largest core depths of Hα and Hγ (by upper level) relative to Hβ's: at R = 1800 the 26
#: MILES/STELIB A/B dwarfs have Hα cores 0.74-0.81 and Hγ cores 1.09-1.14 times as deep as Hβ, the
#: eleven DA white-dwarf standards 0.63-0.87 and 0.99-1.27 (``benchmarks/realism_check.py``), where
#: one depth for all made Hα as deep as Hβ and Hγ shallower.
BALMER_CORE_SCALE = {3: 0.78, 5: 1.1}


def core_depth(line):
    """Largest fractional core depth of a `StarkLine`."""
    if line.element == "H" and line.chi == _BALMER_CHI:
        return CORE_DEPTH * BALMER_CORE_SCALE.get(line.n_upper, 1.0)
    return CORE_DEPTH


def _population_over_opacity(element, stage, chi, teff, pe, abundance):
    """Lower-level population per H nucleus over the continuous opacity, with a hot-side fading.

    Between A and B stars the hydrogen bound-free opacity follows the neutral-hydrogen fraction just
    as the lines do, so the simple ratio stays nearly flat; the observed fading of Balmer lines in B
    stars and hot white dwarfs (lines formed higher, electron scattering, non-LTE cores) is taken as
    a power law in temperature, calibrated with the rest.
    """
    log_eps, _, partition = ELEMENTS[element]
    fraction = ionisation_fractions(element, teff, pe)[stage]
    population = (
        10 ** (log_eps - 12 + abundance)
        * fraction
        * 10 ** (-5040.0 / teff * chi)
        / partition[stage]
    )
    fade = (teff / 1e4) ** -HOT_FADE_POWER if element == "H" else 1.0
    return population / continuum_opacity(teff, pe) * fade


#: Integrated opacity (Å) per unit g f λ² per unit population/opacity ratio, fixed by the A0 V
#: calibration.
STRENGTH_SCALE = 1.22e-21

#: Hydrogen abundance offset (dex) below which an atmosphere is helium-dominated (DB white dwarfs).
HELIUM_ATMOSPHERE = -2.0
#: He⁻ free-free opacity per neutral helium atom per unit electron pressure near 4500 Å
#: (cm⁴ dyn⁻¹; John 1994), the continuum of cool helium atmospheres.
HE_MINUS_FF = 1e-26
#: Its rise with wavelength, κ_ff ∝ λ^p: free-free absorption grows as λ² to λ³ (Kramers). With a
#: flat continuum the DB flux standard LDS 749B's He I 6678 came out 3× too strong (11.9 Å against
#: 3.9 at R = 1800); p = 3 gives 5.1 Å with He I 4471 unchanged (4.8 Å, real 4.7) and He I 4922
#: 1.5 Å (real 1.8), ``benchmarks/realism_check.py``.
HE_MINUS_FF_POWER = 3.0
#: Scale of He I line strengths in helium atmospheres, calibrated on the DB flux standard LDS 749B
#: (Teff 13,575 K, log g 8.05: He I 4471 EW 4.6 Å; Bohlin & Koester 2008).
HELIUM_ATMOSPHERE_SCALE = 2.5
#: He I bound-free opacity near 4500 Å from the n = 3 levels (statistical weight 36, ~23.0 eV):
#: 36 × σ with σ ≈ 3e-18 cm² (the n = 2 edges lie blueward, at 2600-3700 Å).
HE_I_BF_N3 = (1e-16, 23.0)
_M_HE = 4.002602 * AMU_G  # g: the standard atomic weight of helium (CIAAW)


def _helium_atmosphere_ratio(teff, logg, wavelength):
    """He I population over the continuous opacity at ``wavelength`` (Å), per helium atom and
    unit Boltzmann factor 10^(-θχ) of the lower level, in a helium atmosphere.

    Its cool continuum is He⁻ free-free absorption, ∝ the electron pressure, and the few electrons
    come from helium itself: with Pe = √(Φ P) (Saha, mostly neutral gas) and the photosphere at
    τ ≈ 2/3, P = (2/3 g m_He / (κ_ff √Φ))^(2/3). So little opacity is left in a cool helium
    atmosphere that its He I lines stay strong down to ~12,000 K, where those of B stars (hydrogen
    continuum) have long gone. Above ~20,000 K the bound-free absorption of the excited He I levels
    takes over and the ratio levels off, as the Balmer lines of A stars do.
    """
    _, (chi_ion, _), (u_neutral, u_ion, _) = ELEMENTS["He"]
    phi = _saha_phi(teff, chi_ion, u_neutral, u_ion)
    pressure = (2.0 / 3.0 * 10**logg * _M_HE / (HE_MINUS_FF * np.sqrt(phi))) ** (2.0 / 3.0)
    pe = min(np.sqrt(phi * pressure), pressure / 2.0)
    neutral = 1.0 / (1.0 + phi / pe)
    cross_section, chi_n3 = HE_I_BF_N3
    bound_free = cross_section * 10 ** (-5040.0 / teff * chi_n3) / u_neutral
    free_free = HE_MINUS_FF * pe * (wavelength / 4500.0) ** HE_MINUS_FF_POWER
    opacity = neutral * (free_free + bound_free) + (1.0 - neutral) * SIGMA_T_CGS
    return HELIUM_ATMOSPHERE_SCALE * neutral / u_neutral / opacity


#: Factor by which the density of the layers that form the cores of the high series members is
#: below the characteristic one: DA white dwarfs of log g = 8 show the Balmer series to H9–H10
#: (Bergeron, Saffer & Liebert 1992), i.e. Inglis–Teller densities of ~1e16 cm⁻³, not ~5e17.
DISSOLUTION_DILUTION = 30.0
#: Decades of electron density above that of an A0 V photosphere over which the Balmer lines become
#: saturated alike (cool DA white dwarfs, with few electrons, keep their steep Balmer decrement),
#: and the largest strength gain of a high member (Hε and up stay weaker).
SATURATION_DECADES = 2.0
SATURATION_MAX_GAIN = 10.0
#: g f λ² of Hβ, the line the others are pulled towards.
_HBETA_GF_LAMBDA2 = 2 * 4 * _F_BALMER[4] * 4862.68**2


def _saturation_boost(line, n_e):
    """Strength factor of a hydrogen line in a dense photosphere, relative to the g f λ² scaling.

    In white dwarfs the Balmer lines Hα–Hε are optically thick far into their wings and their depths
    are set by the temperature structure rather than by g f: the white-dwarf standards (GD 71, HZ 2,
    LTT 7987 at R = 1800) have Hγ and Hδ as deep as Hβ, with EW ratios Hγ/Hβ ≈ 0.85 and Hδ/Hβ ≈ 0.6,
    where the g f λ² scaling of a single slab gives 0.3 and 0.05. The strengths are therefore pulled
    towards Hβ's, fully at 100 times the A0 V density: the higher lines up, Hα down (left ten times
    stronger, it stayed saturated in DAs hotter than 25,000 K, whose Hβ is optically thin, and read
    2-7 times deeper than Hβ where the standards show 0.7-0.9); A/B stars and horizontal-branch
    stars are untouched.
    """
    weight = np.clip(np.log10(n_e / NE_REF) / SATURATION_DECADES, 0.0, 1.0)
    gain = (_HBETA_GF_LAMBDA2 / line.gf_lambda2) ** weight
    return float(np.clip(gain, 1 / SATURATION_MAX_GAIN, SATURATION_MAX_GAIN))


def stark_opacity_parameters(lines, teff, logg, *, helium_abundance=0.0, hydrogen_abundance=0.0):
    """Integrated opacities (Å) and Stark half widths (Å) of ``lines`` in a photosphere.

    Parameters
    ----------
    lines : sequence of `StarkLine`
    teff, logg : float
        Effective temperature (K) and log surface gravity (cgs).
    helium_abundance, hydrogen_abundance : float
        Abundance offsets in dex (e.g. −5 for hydrogen in a DB white dwarf).

    Returns
    -------
    strength, half_width : `numpy.ndarray`

    Examples
    --------
    >>> s_a0, w_a0 = stark_opacity_parameters(hydrogen_lines()[:2], 9500, 4.0)
    >>> s_wd, w_wd = stark_opacity_parameters(hydrogen_lines()[:2], 13000, 8.0)
    >>> bool(w_wd[1] > 3 * w_a0[1])  # white-dwarf Hβ is far broader than an A star's
    True
    """
    pe = electron_pressure(teff, logg)
    n_e = pe / (K_B_CGS * teff)
    # Inglis & Teller (1939) at the density of the upper layers where the high members form.
    n_max = 10 ** ((23.26 - np.log10(n_e / DISSOLUTION_DILUTION)) / 7.5)
    # Neutral hydrogen broadens hydrogen lines too (resonance broadening): it dominates in cool
    # dense atmospheres (the Sun, cool DA white dwarfs), counted as NEUTRAL_WEIGHT perturbers per
    # atom.
    x = hydrogen_ionised_fraction(teff, pe)
    n_neutral = pe * (1 - x) / (max(x, 1e-12) * K_B_CGS * teff)
    n_broadening = n_e + NEUTRAL_WEIGHT * n_neutral
    strength = np.empty(len(lines))
    width = np.empty(len(lines))
    helium_atmosphere = hydrogen_abundance < HELIUM_ATMOSPHERE
    for i, line in enumerate(lines):
        abundance = hydrogen_abundance if line.element == "H" else helium_abundance
        if line.element == "He" and line.stage == 0 and helium_atmosphere:
            ratio = _helium_atmosphere_ratio(teff, logg, line.wavelength) * 10 ** (
                -5040.0 / teff * line.chi
            )
        else:
            ratio = _population_over_opacity(
                line.element, line.stage, line.chi, teff, pe, abundance
            )
        survival = 1.0 / (1.0 + (line.n_upper / n_max) ** 8) if line.n_upper else 1.0
        strength[i] = STRENGTH_SCALE * line.gf_lambda2 * ratio * survival
        density = n_broadening if line.element == "H" else n_e
        if line.element == "H":
            strength[i] *= _saturation_boost(line, n_e)
        width[i] = (
            W_REF
            * (line.wavelength / 4862.68) ** 2
            * line.stark_factor
            * (density / NE_REF) ** DENSITY_EXPONENT
        )
    return strength, width
