"""Compact stars: white dwarfs (DA, DAZ, DO, DB, DZ, DC, magnetic DA, DQ, DA + dM pairs) and hot
subdwarfs."""

import numpy as np
from scipy.special import voigt_profile

from ..catalog import rest_wavelengths
from .constants import C_CGS, G_CGS, M_SUN_G
from .continuum import planck
from .molecules import Chemistry, molecular_transmission
from .priors import Priors, observing_conditions
from .registry import SpectralClass
from .spectral_types import choose_subtype, radial_velocity_redshift
from .stars import (
    PHOTOSPHERE_PARAMETERS,
    _draw_m_dwarf,
    _render_with_emission,
    photosphere_flux,
)

__all__ = ["COMPACT_CLASSES"]


def _gravitational_redshift_kms(logg, mass_msun=0.6):
    """v = G M / (R c) with R from the gravity: the ~30–60 km/s shift of white-dwarf lines."""
    mass = mass_msun * M_SUN_G
    radius = np.sqrt(G_CGS * mass / 10**logg)
    return G_CGS * mass / (radius * C_CGS) / 1e5


def _wd_mass(logg):
    # The mass–gravity relation of carbon-oxygen white dwarfs near 10 000 K (Bergeron et al.
    # models), rounded.
    return float(np.interp(logg, [7.5, 8.0, 8.5, 9.0], [0.39, 0.60, 0.90, 1.18]))


# ---- white dwarfs
# ----------------------------------------------------------------------------------

#: Abundance offset (dex) of an element absent from an atmosphere (H in a DB, He in a DA).
_ABSENT = -5.0


def _draw_white_dwarf(rng, subtype=None):
    priors = Priors("white_dwarf")
    subtype = choose_subtype(rng, priors.weights(), subtype)

    def draw(name):
        return priors.draw(rng, name, subtype)

    logg = draw("logg")
    p = {
        "subtype": subtype,
        "teff": draw("teff"),
        "logg": logg,
        "metal_lines": False,
        "broadening": draw("broadening"),
    }
    if subtype in ("DB", "DZ", "DC", "DQ", "DO"):  # helium atmospheres
        dba = subtype == "DB" and not draw("hydrogen-free")
        p["hydrogen"] = draw("hydrogen (DBA)") if dba else _ABSENT
    else:
        p["helium"] = _ABSENT
    if subtype == "DAH":
        p["zeeman_field"] = draw("field")
    if subtype == "DZ":
        p["calcium_ew"] = draw("Ca II EW")
        p["magnesium_ew"] = draw("Mg I EW") if draw("Mg I") else 0.0
        sodium = p["teff"] < priors.value("Na I teff", subtype) and draw("Na I")
        p["sodium_ew"] = draw("Na I EW") if sodium else 0.0
    if subtype == "DQ":
        p["c2_scale"] = draw("C2 scale")
    if subtype == "DAZ":
        p["calcium_ew"] = draw("Ca II EW")
    if subtype == "DO":
        p["he_ii_ew"] = draw("He II 4686 EW")
        p["he_ii_ratio"] = draw("He II 5411 / 4686")
    velocity = draw("radial velocity") + _gravitational_redshift_kms(logg, _wd_mass(logg))
    p["radial_velocity"] = float(velocity)
    p["redshift"] = radial_velocity_redshift(velocity)
    if subtype == "DA+dM":
        p["companion"] = _draw_companion(rng, priors)
        p["companion_ratio"] = draw("M dwarf / white dwarf (6000-7000 A)")
    return p


def _draw_companion(rng, priors):
    """The M dwarf of a post-common-envelope pair, its Balmer lines lit by the white dwarf."""
    companion = _draw_m_dwarf(rng)
    if priors.draw(rng, "irradiated", "DA+dM"):
        halpha = priors.draw(rng, "H alpha EW (irradiated)", "DA+dM")
        companion["emission"] = {
            "H alpha": halpha,
            "H beta": halpha * priors.value("H beta / H alpha (irradiated)", "DA+dM"),
        }
        companion["emission_sigma"] = priors.value("emission sigma (irradiated)", "DA+dM")
        companion["subtype"] += "e"
    return companion


def _dz_lines(wavelength, params, doppler_factor):
    """Pressure-broadened metal lines of a cool helium-atmosphere DZ: Ca II H&K, Mg I b, Na I D."""
    absorbed = np.ones_like(wavelength)
    # (EW, the lines with their shares of it, Lorentzian half width in Å)
    groups = (
        (params["calcium_ew"], {"Ca II K": 1.0, "Ca II H": 0.8}, 6.0),
        (params["magnesium_ew"], {"Mg I b4": 0.3, "Mg I b2": 0.33, "Mg I b1": 0.37}, 2.0),
        (params["sodium_ew"], {"Na I D2": 0.55, "Na I D1": 0.45}, 3.0),
    )
    for ew, lines, gamma in groups:
        for centre, share in zip(rest_wavelengths(list(lines)), lines.values(), strict=True):
            # Saturated Lorentzian wings: τ = S γ / (π Δλ²) far out, W ≈ 2√(Sγ).
            strength = (ew * share / 2.0) ** 2 / gamma
            tau = strength * voigt_profile(wavelength - centre * doppler_factor, 0.5, gamma)
            absorbed *= 1.0 - 0.95 * -np.expm1(-tau)
    return absorbed


def _weak_lines(wavelength, lines, doppler_factor):
    """Transmission of lines on the linear part of the curve of growth.

    ``lines`` maps a catalogue line name to (EW in Å, Lorentzian half width in Å): τ = W V(Δλ),
    so a line keeps its EW until its core saturates.
    """
    centres = rest_wavelengths(list(lines)) * doppler_factor
    tau = np.zeros_like(wavelength)
    for centre, (ew, gamma) in zip(centres, lines.values(), strict=True):
        tau += ew * voigt_profile(wavelength - centre, 0.5, gamma)
    return np.exp(-tau)


def _daz_lines(params):
    """Narrow Ca II K and H of the metals a DAZ accretes (H at the DZ's 0.8 of K)."""
    ew = params["calcium_ew"]
    return {"Ca II K": (ew, 0.5), "Ca II H": (0.8 * ew, 0.5)}


def _do_lines(params):
    """The broad, shallow He II lines of a DO; 4541 at 0.4 of 5411, as in sdO and O stars.

    The half widths give HZ 21's FWHM at R = 1800: 45 Å at 4686, 56 Å at 5411.
    """
    ew_5411 = params["he_ii_ew"] * params["he_ii_ratio"]
    return {
        "He II 4686": (params["he_ii_ew"], 24.0),
        "He II 5411": (ew_5411, 30.0),
        "He II 4541": (0.4 * ew_5411, 30.0),
    }


def _band_mean(grid, flux, band=(6000.0, 7000.0)):
    inside = (grid.wavelength > band[0]) & (grid.wavelength < band[1])
    return float(flux[inside].mean())


def _pair_flux(grid, params):
    """A DA and its M dwarf, the M dwarf ``companion_ratio`` times the DA's flux at 6000-7000 Å."""
    white_dwarf = photosphere_flux(grid, params)[0]
    companion = params["companion"]
    m_dwarf = (
        _render_with_emission(grid, companion)
        if "emission" in companion
        else photosphere_flux(grid, companion)[0]
    )
    ratio = params["companion_ratio"]
    return white_dwarf / _band_mean(grid, white_dwarf) + ratio * m_dwarf / _band_mean(grid, m_dwarf)


def _render_white_dwarf(grid, params):
    kind = params["subtype"]
    df = 1 + params["redshift"]
    if kind in ("DA", "DAH", "DB"):
        return photosphere_flux(grid, params)[0]
    if kind == "DAZ":
        lines = _weak_lines(grid.wavelength, _daz_lines(params), df)
        return photosphere_flux(grid, params)[0] * lines
    if kind == "DA+dM":
        return _pair_flux(grid, params)
    continuum = planck(grid.wavelength / df, params["teff"])
    if kind == "DO":
        return continuum * _weak_lines(grid.wavelength, _do_lines(params), df)
    if kind == "DZ":
        return continuum * _dz_lines(grid.wavelength, params, df)
    if kind == "DQ":
        # Swan bands in a dense helium atmosphere: C2 from dredged-up carbon at 5000–10 000 K.
        chemistry = Chemistry(teff=min(params["teff"], 5000.0), logg=4.5, c_to_o=1.5)
        transmission, _ = molecular_transmission(
            grid.wavelength,
            df,
            chemistry,
            extra={"C2": params["c2_scale"], "CN": 0.0, "CH": 0.0, "SiC2": 0.0, "13C12C": 0.0},
        )
        return continuum * transmission
    return continuum  # DC: featureless


# ---- hot subdwarfs
# ---------------------------------------------------------------------------------


def _draw_hot_subdwarf(rng, subtype=None):
    priors = Priors("hot_subdwarf")
    subtype = choose_subtype(rng, priors.weights(), subtype)
    p = {"subtype": subtype}
    for name in ("teff", "logg", "helium", "metallicity", "microturbulence", "broadening"):
        p[name] = priors.draw(rng, name, subtype)
    p["radial_velocity"] = priors.draw(rng, "radial velocity")
    p["redshift"] = radial_velocity_redshift(p["radial_velocity"])
    return p


def _render_photosphere(grid, params):
    return photosphere_flux(grid, params)[0]


COMPACT_CLASSES = (
    SpectralClass(
        "white_dwarf",
        "White dwarfs: DA over temperature, DAZ, DO, DB, DZ, DC, magnetic DA (DAH), DQ, DA + dM",
        _draw_white_dwarf,
        _render_white_dwarf,
        positive_for="white_dwarf",
        optional=PHOTOSPHERE_PARAMETERS,
        conditions=observing_conditions("white_dwarf"),
    ),
    SpectralClass(
        "hot_subdwarf",
        "Hot subdwarfs: sdB (Balmer, weak He I) and sdO (He II 4686)",
        _draw_hot_subdwarf,
        _render_photosphere,
        optional=PHOTOSPHERE_PARAMETERS,
        conditions=observing_conditions("hot_subdwarf"),
    ),
)
