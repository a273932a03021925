"""Chemically peculiar giants and symbiotic binaries: S stars (MS, S, SC) and symbiotic stars (an M
giant ionised by a hot companion). Carbon stars are in :mod:`~spec_o3.simulate.carbon`.
"""

import numpy as np

from ..catalog import rest_wavelengths
from .continuum import planck
from .emission import gaussian_lines
from .priors import Priors, observing_conditions
from .registry import SpectralClass
from .spectral_types import GIANT_TEFF, choose_subtype, radial_velocity_redshift
from .stars import PHOTOSPHERE_PARAMETERS, oxides_at_type, photosphere_flux

__all__ = ["PECULIAR_CLASSES"]

_S_ELEMENTS = ("Sr", "Y", "Zr", "Ba", "La")


def _balmer_emission(grid, continuum, params, kind):
    """The Balmer emission of a Mira of class ``kind`` (its priors give the line width)."""
    sigma = Priors(kind).value("emission sigma (Mira)")
    names = list(params["emission"])
    return gaussian_lines(
        grid.wavelength,
        continuum,
        1 + params["redshift"],
        rest_wavelengths(names),
        [params["emission"][n] for n in names],
        sigma,
    )


# ---- S stars
# -----------------------------------------------------------------------------------------


def _draw_s_star(rng, subtype=None):
    priors = Priors("s_star")
    subtype = choose_subtype(rng, priors.weights(), subtype)

    def draw(name):
        return priors.draw(rng, name, subtype)

    s_value = draw("s_process")
    p = {
        "subtype": subtype,
        "teff": draw("teff"),
        "logg": draw("logg"),
        "metallicity": draw("metallicity"),
        "c_to_o": draw("c_to_o"),
        "s_process": s_value,
        "abundances": {el: s_value for el in _S_ELEMENTS},
        "microturbulence": draw("microturbulence"),
        "broadening": draw("broadening"),
        "radial_velocity": draw("radial velocity"),
    }
    if draw("Mira"):  # Mira S stars show Balmer emission
        p["emission"] = {name: draw(f"{name} EW (Mira)") for name in ("H delta", "H gamma")}
    p["redshift"] = radial_velocity_redshift(p["radial_velocity"])
    return p


def _render_s_star(grid, params):
    flux, continuum = photosphere_flux(grid, oxides_at_type(params))
    if "emission" in params:
        flux = flux + _balmer_emission(grid, continuum, params, "s_star")
    return flux


# ---- symbiotic stars
# ---------------------------------------------------------------------------------


def _draw_symbiotic(rng):
    priors = Priors("symbiotic")

    def draw(name):
        return priors.draw(rng, name)

    index = draw("giant M subtype")
    halpha = draw("H alpha EW")
    heii = draw("He II 4686 EW")
    oiii = draw("[O III] 5007 EW") if draw("[O III]") else 0.0
    p = {
        "subtype": f"M{index}III+hot",
        "teff": float(GIANT_TEFF[f"M{index}"] + draw("teff scatter")),
        "logg": float(1.2 - 0.2 * index),
        "metallicity": draw("metallicity"),
        "microturbulence": draw("microturbulence"),
        "broadening": draw("broadening"),
        "hot_fraction": draw("hot share"),
        "emission": {"H alpha": halpha},
    }
    for name in ("H beta", "H gamma", "H delta", "He I 5876", "He I 6678", "He I 7065"):
        p["emission"][name] = halpha * draw(f"{name} / H alpha")
    p["emission"].update(
        {
            "He II 4686": heii,
            "[O III] 5007": oiii,
            "[O III] 4959": oiii / priors.value("[O III] 5007 / [O III] 4959"),
            "[Ne III] 3869": oiii * draw("[Ne III] 3869 / [O III] 5007"),
        }
    )
    p["raman_ovi"] = draw("Raman O VI 6825 EW") if draw("Raman O VI") else 0.0
    p["radial_velocity"] = draw("radial velocity")
    p["redshift"] = radial_velocity_redshift(p["radial_velocity"])
    return p


def _render_symbiotic(grid, params):
    priors = Priors("symbiotic")
    giant, continuum = photosphere_flux(grid, params)
    df = 1 + params["redshift"]
    rest = grid.wavelength / df
    # The hot component: a ~100 000 K white dwarf plus nebular continuum, scaled at 4000 Å.
    hot = planck(rest, priors.value("hot component teff"))
    hot = (
        hot
        / np.interp(4000.0, rest, hot)
        * np.interp(4000.0, rest, continuum)
        * params["hot_fraction"]
        * priors.value("hot component scale")
    )
    total_continuum = continuum + hot
    names = list(params["emission"])
    lines = gaussian_lines(
        grid.wavelength,
        total_continuum,
        df,
        rest_wavelengths(names),
        [params["emission"][n] for n in names],
        priors.value("emission sigma"),
    )
    # Raman-scattered O VI 1032 Å appears as a broad band at 6825 Å (and 7082 Å), unique to
    # symbiotics.
    raman = gaussian_lines(
        grid.wavelength,
        total_continuum,
        df,
        [priors.value("Raman O VI 6825 centre"), priors.value("Raman O VI 7082 centre")],
        [params["raman_ovi"], params["raman_ovi"] * priors.value("Raman O VI 7082 / 6825")],
        priors.value("Raman O VI sigma"),
    )
    return giant + hot + lines + raman


PECULIAR_CLASSES = (
    SpectralClass(
        "s_star",
        "S stars: MS (TiO + ZrO), S (ZrO, LaO), SC (C/O near 1)",
        _draw_s_star,
        _render_s_star,
        positive_for="s_star",
        optional=PHOTOSPHERE_PARAMETERS,
        conditions=observing_conditions("s_star"),
    ),
    SpectralClass(
        "symbiotic",
        "Symbiotic stars: M giant with Balmer, He II, [O III] and Raman O VI 6825 emission",
        _draw_symbiotic,
        _render_symbiotic,
        optional=PHOTOSPHERE_PARAMETERS,
        conditions=observing_conditions("symbiotic"),
    ),
)
