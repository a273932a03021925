"""Carbon stars: C-R, C-N, C-J (13C, SiC2) and C-H (metal-poor, strong CH)."""

import numpy as np

from .molecules import Chemistry, molecular_transmission
from .peculiar import _S_ELEMENTS, _balmer_emission
from .registry import SpectralClass
from .spectral_types import choose_subtype, log_uniform, radial_velocity_redshift
from .stars import PHOTOSPHERE_PARAMETERS, photosphere_flux

__all__ = ["CARBON_CLASSES"]

# subtype -> (probability, Teff range, log g range, [Fe/H] range, carbon range, [s/Fe] range,
#             13C fraction range, violet-opacity range); the carbon range is C/O, except for the CH
#             stars, whose carbon is an absolute abundance A(C) (see `_carbon_to_oxygen`).
_CARBON_SUBTYPES = {
    # Warm early-R stars: strong C2 and CN, blue flux still present, no s-process enhancement.
    "C-R": (
        0.25,
        (4200, 5000),
        (1.5, 2.6),
        (-0.3, 0.1),
        (1.1, 1.6),
        (0.0, 0.2),
        (0.05, 0.15),
        (0.02, 0.15),
    ),
    # Cool AGB N stars: very red, saturated Swan bands, s-process rich, blue flux nearly gone.
    "C-N": (
        0.4,
        (2600, 3300),
        (-0.5, 0.6),
        (-0.3, 0.1),
        (1.05, 1.5),
        (0.5, 1.2),
        (0.01, 0.04),
        (0.5, 2.0),
    ),
    # J stars: 13C-rich (strong 13C12C heads), SiC2 Merrill-Sanford bands, no s-process excess.
    "C-J": (
        0.15,
        (2700, 3300),
        (-0.5, 0.6),
        (-0.3, 0.1),
        (1.02, 1.3),
        (0.0, 0.2),
        (0.15, 0.35),
        (0.5, 2.0),
    ),
    # CH stars: metal-poor halo giants (Keenan's C-H0 to C-H4, about 5000-4000 K), very strong CH
    # G band, Ba-rich, Swan bands present. Carbon: A(C) = 7.7-8.6, the plateau of absolute carbon
    # that AGB mass transfer leaves at every [Fe/H] (CEMP-s "Group I" of Yoon et al. 2016, ApJ 833,
    # 20; CH giants near [Fe/H] = -1 of Karinkuzhi & Goswami 2015, MNRAS 446, 2348), so that [C/Fe]
    # rises from about +0.5 at [Fe/H] = -0.8 to +1.7 at -2.
    "C-H": (
        0.2,
        (4200, 5000),
        (1.2, 2.4),
        (-2.0, -0.8),
        (7.7, 8.6),
        (1.0, 2.0),
        (0.02, 0.1),
        (0.0, 0.05),
    ),
}
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

    A floor above the whole range gives the floor itself: the most carbon-poor star of that
    photosphere that would still be catalogued as a carbon star.
    """
    lo, hi = carbon
    if subtype == "C-H":  # A(C) range -> C/O against the [Fe/H]-scaled oxygen
        lo, hi = (10 ** (a - _SOLAR_OXYGEN - params["metallicity"]) for a in carbon)
    lo = max(lo, _visible_c_to_o(params))
    hi = max(hi, lo)
    return float(lo + draw * (hi - lo))


def _draw_carbon_star(rng, subtype=None):
    subtype = choose_subtype(rng, {name: row[0] for name, row in _CARBON_SUBTYPES.items()}, subtype)
    _, teff, logg, feh, carbon, s, c13, violet = _CARBON_SUBTYPES[subtype]
    # The carbon draw is made here and resolved once the 13C fraction (which the floor needs) is.
    p = {
        "subtype": subtype,
        "teff": float(rng.uniform(*teff)),
        "logg": float(rng.uniform(*logg)),
        "metallicity": float(rng.uniform(*feh)),
    }
    carbon_draw = float(rng.uniform())
    s_value = float(rng.uniform(*s))
    p["c13_fraction"] = float(rng.uniform(*c13))
    p["violet_opacity"] = float(rng.uniform(*violet))
    p["c_to_o"] = _carbon_to_oxygen(p, subtype, carbon, carbon_draw)
    p.update(
        {
            "s_process": s_value,
            "microturbulence": 2.5,
            "broadening": 14.0,
            "abundances": {el: s_value for el in _S_ELEMENTS},
            "radial_velocity": float(rng.normal(0.0, 50.0)),
        }
    )
    if subtype in ("C-N", "C-J") and rng.uniform() < 0.2:  # carbon Miras show Balmer emission
        p["emission"] = {
            "H alpha": log_uniform(rng, 2.0, 15.0),
            "H beta": log_uniform(rng, 1.0, 8.0),
        }
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
        flux = flux + _balmer_emission(grid, continuum * depression, params, 25.0)
    return flux


CARBON_CLASSES = (
    SpectralClass(
        "carbon_star",
        "Carbon stars: C-R, C-N, C-J (13C, SiC2) and C-H (metal-poor, strong CH)",
        _draw_carbon_star,
        _render_carbon_star,
        positive_for="carbon_star",
        optional=PHOTOSPHERE_PARAMETERS,
        conditions={"ebv": (0.0, 0.5)},
    ),
)
