"""Metal absorption lines: strong diagnostic lines one by one, the unresolved forest statistically.

Each line's integrated opacity is fixed by its equivalent width in a reference star (the Sun, or an
A0 V star for lines of hot atmospheres; the table ``spec_o3/data/simulate_metal_lines.ecsv`` gives
them with their sources) and scaled to other stars with the LTE population ratio of
:func:`~spec_o3.simulate.atmosphere.relative_strength`. The equivalent width then follows from a
Voigt curve of growth with the star's Doppler and van der Waals widths, so saturation and the
pressure-broadened wings of Na I, Mg I b, Ca I and Ca II grow with gravity as they do in dwarfs.
Positions of lines present in the shipped catalogue (:func:`spec_o3.catalog.atomic_lines`) are taken
from it.

The thousands of weaker lines that blanket the blue spectra of cool stars are represented by a fixed
statistical line list (positions, species and solar strengths drawn once from a seeded generator,
with a density rising towards the blue as the solar blanketing does); they respond to temperature,
gravity and metallicity through the same physics but are not individual identifications.
"""

from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy.special import voigt_profile

from . import atmosphere
from .constants import AMU_G, C_KMS, K_B_CGS
from .grid import air_to_vacuum
from .profiles import curve_of_growth, deposit, render_strength, smooth
from .tables import read_table

__all__ = [
    "MetalLine",
    "catalogue_wavelength",
    "strong_lines",
    "metal_line_opacity",
    "forest_opacity",
    "doppler_width",
]

#: Reference stars: (teff, logg, microturbulence km/s).
REFERENCE_STARS = {"sun": (5777.0, 4.44, 1.0), "a0v": (9500.0, 4.0, 2.0)}
#: Van der Waals damping half widths (Å) in the Sun by line class.
_DAMPING = {"strong": 0.05, "medium": 0.02, "weak": 0.005, "gravity": 0.05}
#: How the van der Waals width grows with gravity (exponent of g): the alkali and Ca I lines that
#: astronomers use as luminosity criteria in K and M stars respond more steeply than the rest.
_GRAVITY_SLOPE = {"strong": 0.3, "medium": 0.3, "weak": 0.3, "gravity": 0.8}

_SPECIES_NAME = {0: "I", 1: "II", 2: "III"}


@dataclass(frozen=True)
class MetalLine:
    """A metal line with its solar-scaled strength.

    Attributes
    ----------
    name, element : str
    stage : int
        0 neutral, 1 singly ionised.
    wavelength : float
        Vacuum rest wavelength (Å): the catalogue's where it lists the line.
    chi : float
        Lower-level energy (eV).
    strength_ref : float
        Integrated opacity (Å) in the reference star.
    reference_ratio : float
        Population-over-opacity ratio in the reference star.
    damping : float
        Van der Waals half width (Å) in the Sun.
    damping_slope : float
        Exponent of its growth with gravity.
    """

    name: str
    element: str
    stage: int
    wavelength: float
    chi: float
    strength_ref: float
    reference_ratio: float
    damping: float
    damping_slope: float


def doppler_width(wavelength, element, teff, microturbulence):
    """Doppler width Δλ_D = λ/c √(2kT/m + ξ²) in Å (``element``: a symbol, or atomic masses in u).

    Examples
    --------
    >>> round(float(doppler_width(5000.0, "Fe", 5777.0, 1.0)), 3)
    0.028
    """
    mass = atmosphere.ATOMIC_MASS[element] if isinstance(element, str) else np.asarray(element)
    thermal2 = 2 * K_B_CGS * teff / (mass * AMU_G) / 1e10  # (km/s)^2
    return wavelength / C_KMS * np.sqrt(thermal2 + microturbulence**2)


def _damping_width(damping_sun, teff, logg, slope=0.3):
    """Van der Waals width scaled with gravity and T^0.3.

    The gas pressure of cool photospheres grows as g^0.6, but strong lines form higher in giants'
    extended atmospheres and their wings keep more strength than that predicts: g^0.3 reproduces the
    Na D and Mg b strengths of MILES dwarfs and giants together; the luminosity-criterion lines
    (``slope`` 0.8) keep the steep response that separates M dwarfs from giants.
    """
    return damping_sun * 10 ** (slope * (logg - 4.44)) * (teff / 5777.0) ** 0.3


@cache
def _catalogue_lines():
    """(name, species, vacuum wavelength) of the lines of the shipped catalogue."""
    from ..catalog import atomic_lines

    table = atomic_lines()
    return tuple(
        (str(name), str(species), float(wavelength))
        for name, species, wavelength in zip(
            table["name"], table["species"], table["rest_wavelength"].to_value("AA"), strict=True
        )
    )


def catalogue_wavelength(species, wavelength, tolerance=1.0):
    """The catalogue's wavelength of a ``species`` line within ``tolerance`` Å, else ``wavelength``.

    Examples
    --------
    >>> round(catalogue_wavelength("H I", 6564.70), 2)
    6564.61
    """
    matches = [
        w for _, s, w in _catalogue_lines() if s == species and abs(w - wavelength) < tolerance
    ]
    return min(matches, key=lambda w: abs(w - wavelength)) if matches else float(wavelength)


@cache
def strong_lines():
    """The individually modelled metal lines, positions matched to the shipped catalogue.

    Examples
    --------
    >>> lines = {line.name: line for line in strong_lines()}
    >>> round(lines["Na I D2"].wavelength, 1)
    5891.6
    """
    lines = []
    for row in read_table("simulate_metal_lines.ecsv"):
        element, stage, chi = str(row["element"]), int(row["stage"]), float(row["chi"])
        damping = str(row["damping"])
        wavelength = catalogue_wavelength(
            f"{element} {_SPECIES_NAME[stage]}", float(air_to_vacuum(float(row["air_wavelength"])))
        )
        teff, logg, xi = REFERENCE_STARS[str(row["reference_star"])]
        gamma = _damping_width(_DAMPING[damping], teff, logg, _GRAVITY_SLOPE[damping])
        doppler = doppler_width(wavelength, element, teff, xi)
        # The integrated opacity that gives the reference equivalent width with the true Doppler
        # width.
        strength = float(render_strength(float(row["reference_ew"]), doppler, gamma)[0])
        ratio = atmosphere.line_to_continuum([element], [stage], [chi], teff, logg)[0]
        lines.append(
            MetalLine(
                str(row["name"]),
                element,
                stage,
                wavelength,
                chi,
                strength,
                ratio,
                _DAMPING[damping],
                _GRAVITY_SLOPE[damping],
            )
        )
    return tuple(lines)


@cache
def _line_arrays():
    lines = strong_lines()
    return (
        np.array([line.wavelength for line in lines]),
        [line.element for line in lines],
        np.array([line.stage for line in lines]),
        np.array([line.chi for line in lines]),
        np.array([line.strength_ref / line.reference_ratio for line in lines]),
        np.array([line.damping for line in lines]),
        np.array([line.damping_slope for line in lines]),
        np.array([atmosphere.ATOMIC_MASS[line.element] for line in lines]),
    )


def metal_line_opacity(
    grid_wavelength,
    doppler_factor,
    teff,
    logg,
    abundances,
    *,
    microturbulence=1.0,
    broadening=10.0,
    scale=None,
):
    """Opacity of the strong metal lines on the observed-frame model grid.

    Parameters
    ----------
    grid_wavelength : `numpy.ndarray`
        Observed-frame wavelengths (Å).
    doppler_factor : float
        1 + z: rest wavelengths are multiplied by it.
    teff, logg : float
        Effective temperature (K) and log surface gravity (cgs).
    abundances : callable
        ``abundances(element) -> [X/H]`` in dex.
    microturbulence : float
        km/s, for the curve of growth.
    broadening : float
        Gaussian σ (km/s) of the drawn line cores (macroturbulence, rotation and the grid sampling).
    scale : mapping, optional
        Extra multiplicative factors on the integrated opacity of named lines (e.g. chromospheric
        fill-in).

    Returns
    -------
    tau : `numpy.ndarray`
        Optical depth on the grid; the caller turns it into flux with a residual-core depth.
    """
    wavelength, elements, stages, chis, per_ratio, damping, slope, mass = _line_arrays()
    tau = np.zeros_like(grid_wavelength)
    ratio = atmosphere.line_to_continuum(elements, stages, chis, teff, logg)
    strength = per_ratio * ratio * 10 ** np.array([abundances(element) for element in elements])
    if scale:
        names = [line.name for line in strong_lines()]
        strength *= np.array([scale.get(name, 1.0) for name in names])
    gamma = _damping_width(damping, teff, logg, slope)
    doppler = doppler_width(wavelength, mass, teff, microturbulence)
    ew = curve_of_growth(strength, doppler, gamma)
    sigma = wavelength * broadening / C_KMS
    visible = ew > 1e-3
    drawn = render_strength(ew[visible], sigma[visible] * np.sqrt(2), gamma[visible])
    for centre, s, sig, g in zip(
        wavelength[visible] * doppler_factor,
        drawn,
        sigma[visible] * doppler_factor,
        gamma[visible] * doppler_factor,
        strict=False,
    ):
        half = np.clip(max(6 * sig, np.sqrt(s * g / (np.pi * 1e-3))), 2.0, 400.0)
        lo, hi = np.searchsorted(grid_wavelength, [centre - half, centre + half])
        tau[lo:hi] += s * voigt_profile(grid_wavelength[lo:hi] - centre, sig, g)
    return tau


# ---- the statistical forest
# -------------------------------------------------------------------------

#: Fraction of the continuum the forest removes in the Sun, b(λ) = FOREST_BLANKETING (λ/4300 Å)^-4,
#: on top of the strong lines (calibrated with the MILES Mg b and Na D pseudo-equivalent widths).
FOREST_BLANKETING = 0.12
_FOREST_SIZE = 4000
_FOREST_SEED = 20260101
_CHI_BINS = np.arange(0.0, 5.01, 0.5)


@cache
def _forest():
    """The fixed statistical line list: rest wavelengths, species groups, solar strengths."""
    rng = np.random.default_rng(_FOREST_SEED)
    lo, hi = 3300.0, 9400.0
    # Positions from the density ∝ λ^-4 (inverse CDF of λ^-3).
    u = rng.uniform(size=_FOREST_SIZE)
    wavelength = (lo**-3 - u * (lo**-3 - hi**-3)) ** (-1 / 3)
    kind = rng.choice(3, size=_FOREST_SIZE, p=[0.7, 0.2, 0.1])  # Fe I, Fe II, Ti I-like
    chi = np.where(
        kind == 1, rng.uniform(2.0, 4.0, _FOREST_SIZE), rng.uniform(0.0, 5.0, _FOREST_SIZE)
    )
    chi_bin = np.clip(np.digitize(chi, _CHI_BINS) - 1, 0, _CHI_BINS.size - 2)
    # Solar equivalent widths: log-uniform between 2 mÅ and 0.12 Å, then normalised to the
    # blanketing law.
    ew = 10 ** rng.uniform(np.log10(0.002), np.log10(0.12), _FOREST_SIZE)
    expected = FOREST_BLANKETING * (wavelength / 4300.0) ** -4
    density = _FOREST_SIZE * 3 * wavelength**-4 / (lo**-3 - hi**-3)  # lines per Å
    ew *= expected / (density * ew.mean())
    teff, logg, xi = REFERENCE_STARS["sun"]
    element = np.where(kind == 2, "Ti", "Fe")
    doppler = doppler_width(wavelength, "Fe", teff, xi)
    strength = render_strength(ew, doppler, np.full(ew.shape, _DAMPING["weak"]))
    return wavelength, kind, element, chi_bin, strength


_FOREST_SPECIES = (("Fe", 0), ("Fe", 1), ("Ti", 0))


def _forest_factors(teff, logg):
    """Strength of each forest species and excitation bin relative to the Sun."""
    chis = np.tile(0.5 * (_CHI_BINS[1:] + _CHI_BINS[:-1]), len(_FOREST_SPECIES))
    elements = [el for el, _ in _FOREST_SPECIES for _ in range(_CHI_BINS.size - 1)]
    stages = [st for _, st in _FOREST_SPECIES for _ in range(_CHI_BINS.size - 1)]
    sun = atmosphere.SUN
    ratio = atmosphere.line_to_continuum(
        elements, stages, chis, teff, logg
    ) / atmosphere.line_to_continuum(elements, stages, chis, sun["teff"], sun["logg"])
    return ratio.reshape(len(_FOREST_SPECIES), -1)


def forest_opacity(
    grid, doppler_factor, teff, logg, metallicity, *, microturbulence=1.0, broadening=10.0
):
    """Optical depth of the statistical metal-line forest on a `~spec_o3.simulate.grid.ModelGrid`.

    Lines are placed as equivalent-width deltas and smoothed with the line broadening: they are
    optically thin once drawn, their saturation having been taken into account through the curve of
    growth.
    """
    wavelength, kind, element, chi_bin, strength = _forest()
    s = strength * _forest_factors(teff, logg)[kind, chi_bin] * 10**metallicity
    gamma = _damping_width(_DAMPING["weak"], teff, logg)
    ew = curve_of_growth(s, doppler_width(wavelength, "Fe", teff, microturbulence), gamma)
    positions = grid.index(wavelength * doppler_factor)
    tau = deposit(positions, ew, grid.wavelength.size) / (
        grid.wavelength * np.log(10) * grid.dloglam
    )
    return smooth(tau, broadening / grid.pixel_velocity)
