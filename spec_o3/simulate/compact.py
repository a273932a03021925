"""Compact stars: white dwarfs (DA, DB, DZ, DC, magnetic DA, DQ) and hot subdwarfs."""

import numpy as np
from scipy.special import voigt_profile

from ..catalog import rest_wavelengths
from .constants import C_CGS, G_CGS, M_SUN_G
from .continuum import planck
from .molecules import Chemistry, molecular_transmission
from .priors import Priors, observing_conditions
from .registry import SpectralClass
from .spectral_types import choose_subtype, radial_velocity_redshift
from .stars import PHOTOSPHERE_PARAMETERS, photosphere_flux

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
    if subtype in ("DB", "DZ", "DC", "DQ"):  # helium atmospheres
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
    velocity = draw("radial velocity") + _gravitational_redshift_kms(logg, _wd_mass(logg))
    p["radial_velocity"] = float(velocity)
    p["redshift"] = radial_velocity_redshift(velocity)
    return p


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


def _render_white_dwarf(grid, params):
    kind = params["subtype"]
    df = 1 + params["redshift"]
    if kind in ("DA", "DAH", "DB"):
        return photosphere_flux(grid, params)[0]
    continuum = planck(grid.wavelength / df, params["teff"])
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
        "White dwarfs: DA over temperature, DB, DZ, DC, magnetic DA (DAH), DQ",
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
