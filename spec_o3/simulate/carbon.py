"""Carbon stars: C-R, C-N, C-J (13C, SiC2) and C-H (metal-poor, strong CH)."""

import numpy as np

from .peculiar import _S_ELEMENTS, _balmer_emission
from .registry import SpectralClass
from .spectral_types import choose_subtype, log_uniform, radial_velocity_redshift
from .stars import PHOTOSPHERE_PARAMETERS, photosphere_flux

__all__ = ["CARBON_CLASSES"]

# subtype -> (probability, Teff range, log g range, [Fe/H] range, C/O range, [s/Fe] range,
#             13C fraction range, violet-opacity range)
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
    # CH stars: metal-poor halo giants, very strong CH G band, Ba-rich, weaker C2.
    "C-H": (
        0.2,
        (4300, 5200),
        (1.2, 2.4),
        (-2.0, -0.8),
        (2.0, 6.0),
        (1.0, 2.0),
        (0.02, 0.1),
        (0.0, 0.05),
    ),
}


def _draw_carbon_star(rng, subtype=None):
    subtype = choose_subtype(rng, {name: row[0] for name, row in _CARBON_SUBTYPES.items()}, subtype)
    _, teff, logg, feh, c_to_o, s, c13, violet = _CARBON_SUBTYPES[subtype]
    s_value = float(rng.uniform(*s))
    p = {
        "subtype": subtype,
        "teff": float(rng.uniform(*teff)),
        "logg": float(rng.uniform(*logg)),
        "metallicity": float(rng.uniform(*feh)),
        "c_to_o": float(rng.uniform(*c_to_o)),
        "s_process": s_value,
        "c13_fraction": float(rng.uniform(*c13)),
        "violet_opacity": float(rng.uniform(*violet)),
        "microturbulence": 2.5,
        "broadening": 14.0,
        "abundances": {el: s_value for el in _S_ELEMENTS},
        "radial_velocity": float(rng.normal(0.0, 50.0)),
    }
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
