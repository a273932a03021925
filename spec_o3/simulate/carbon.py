"""Carbon stars: C-R, C-N, C-J (13C, SiC2), C-H (metal-poor, strong CH) and dwarf carbons (dC)."""

import numpy as np

from .molecules import Chemistry, molecular_transmission
from .peculiar import _S_ELEMENTS, _balmer_emission
from .priors import Priors, observing_conditions
from .registry import SpectralClass
from .spectral_types import choose_subtype, radial_velocity_redshift
from .stars import PHOTOSPHERE_PARAMETERS, photosphere_flux

__all__ = ["CARBON_CLASSES"]

#: Solar A(O) (Asplund et al. 2009): the simulator scales oxygen with [Fe/H] from it.
_SOLAR_OXYGEN = 8.69
#: Weakest C2 Swan optical depth (head of a weight-1 band) of a star catalogued as carbon. Carbon
#: stars are classified on visible Swan bands (every C type of Keenan 1993, PASP 105, 905 carries a
#: C2 index; the LAMOST carbon stars were selected on C2 and CN bands, Ji et al. 2016, ApJS 226, 1;
#: Li et al. 2018, ApJS 234, 31), and a star whose Swan heads are no deeper than the metal-line
#: blanketing of a K giant is catalogued as a K giant (as were about 40 % of the "early-R" stars
#: of Zamora et al. 2009, A&A 508, 909). τ = 0.4 gives C2 head steps of about 0.2 at 5165 Å and
#: 0.12 at 5636 Å at R ≈ 1800, against 0.13 and 0.07 in K giants.
VISIBLE_SWAN_DEPTH = 0.4
#: The band depths do not depend on the grid: evaluate them on a single pixel.
_ONE_PIXEL = np.array([5000.0])


def _swan_depth(params, c_to_o):
    """C2 Swan optical depth of the photosphere in ``params`` with this C/O."""
    chemistry = Chemistry(
        teff=params["teff"],
        logg=params["logg"],
        metallicity=params["metallicity"],
        c_to_o=c_to_o,
        c13_fraction=params["c13_fraction"],
    )
    return molecular_transmission(_ONE_PIXEL, 1.0, chemistry)[1]["C2"]


def _visible_c_to_o(params, ceiling=100.0):
    """Lowest C/O (up to ``ceiling``) at which the Swan bands reach `VISIBLE_SWAN_DEPTH`."""
    lo, hi = 1.0, ceiling
    if _swan_depth(params, hi) < VISIBLE_SWAN_DEPTH:
        return hi
    while hi / lo > 1.001:  # bisection in log C/O: the depth rises monotonically with C/O
        mid = np.sqrt(lo * hi)
        lo, hi = (mid, hi) if _swan_depth(params, mid) < VISIBLE_SWAN_DEPTH else (lo, mid)
    return hi


def _carbon_to_oxygen(params, subtype, carbon, draw):
    """C/O from the subtype's carbon range and a uniform ``draw``, at least the visibility floor.

    The carbon range is C/O, except for the CH stars, whose carbon is an absolute abundance A(C):
    the plateau that AGB mass transfer leaves at every [Fe/H], so that [C/Fe] rises from about +0.5
    at [Fe/H] = -0.8 to +1.7 at -2. A floor above the whole range gives the floor itself: the most
    carbon-poor star of that photosphere that would still be catalogued as a carbon star.
    """
    lo, hi = carbon
    if subtype == "C-H":  # A(C) range -> C/O against the [Fe/H]-scaled oxygen
        lo, hi = (10 ** (a - _SOLAR_OXYGEN - params["metallicity"]) for a in carbon)
    lo = max(lo, _visible_c_to_o(params))
    hi = max(hi, lo)
    return float(lo + draw * (hi - lo))


def _draw_carbon_star(rng, subtype=None):
    priors = Priors("carbon_star")
    subtype = choose_subtype(rng, priors.weights(), subtype)

    def draw(name):
        return priors.draw(rng, name, subtype)

    # The carbon draw is made here and resolved once the 13C fraction (which the floor needs) is.
    p = {
        "subtype": subtype,
        "teff": draw("teff"),
        "logg": draw("logg"),
        "metallicity": draw("metallicity"),
    }
    carbon_draw = float(rng.uniform())
    s_value = draw("s_process")
    p["c13_fraction"] = draw("c13_fraction")
    p["violet_opacity"] = draw("violet opacity")
    p["c_to_o"] = _carbon_to_oxygen(p, subtype, priors.range("carbon", subtype), carbon_draw)
    p.update(
        {
            "s_process": s_value,
            "microturbulence": draw("microturbulence"),
            "broadening": draw("broadening"),
            "abundances": {el: s_value for el in _S_ELEMENTS},
            "radial_velocity": draw("radial velocity"),
        }
    )
    # Carbon Miras (of the cool subtypes) show Balmer emission.
    if priors.has("Mira", subtype) and draw("Mira"):
        p["emission"] = {name: draw(f"{name} EW (Mira)") for name in ("H alpha", "H beta")}
    p["redshift"] = radial_velocity_redshift(p["radial_velocity"])
    return p


def _violet_depression(rest_wavelength, amplitude):
    """Blanketing of the blue in cool carbon stars (C3, CN and CH line haze): τ = A (4400 Å/λ)^8."""
    return np.exp(-amplitude * (4400.0 / rest_wavelength) ** 8)


def _render_carbon_star(grid, params):
    flux, continuum = photosphere_flux(grid, params)
    depression = _violet_depression(
        grid.wavelength / (1 + params["redshift"]), params["violet_opacity"]
    )
    flux = flux * depression
    if "emission" in params:
        flux = flux + _balmer_emission(grid, continuum * depression, params, "carbon_star")
    return flux


CARBON_CLASSES = (
    SpectralClass(
        "carbon_star",
        "Carbon stars: C-R, C-N, C-J (13C, SiC2), C-H (metal-poor, strong CH) and dwarfs (dC)",
        _draw_carbon_star,
        _render_carbon_star,
        positive_for="carbon_star",
        optional=PHOTOSPHERE_PARAMETERS,
        conditions=observing_conditions("carbon_star"),
    ),
)
