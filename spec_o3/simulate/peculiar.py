"""Chemically peculiar giants and symbiotic binaries: S stars (MS, S, SC) and symbiotic stars (an M
giant ionised by a hot companion). Carbon stars are in :mod:`~spec_o3.simulate.carbon`.
"""

import numpy as np

from .continuum import planck
from .emission import gaussian_lines
from .registry import SpectralClass
from .spectral_types import GIANT_TEFF, choose_subtype, log_uniform, radial_velocity_redshift
from .stars import PHOTOSPHERE_PARAMETERS, oxides_at_type, photosphere_flux

__all__ = ["PECULIAR_CLASSES"]

_S_ELEMENTS = ("Sr", "Y", "Zr", "Ba", "La")


_BALMER_CENTRES = {"H alpha": 6564.61, "H beta": 4862.68, "H gamma": 4341.68, "H delta": 4102.89}


def _balmer_emission(grid, continuum, params, sigma):
    names = list(params["emission"])
    return gaussian_lines(
        grid.wavelength,
        continuum,
        1 + params["redshift"],
        [_BALMER_CENTRES[n] for n in names],
        [params["emission"][n] for n in names],
        sigma,
    )


# ---- S stars
# -----------------------------------------------------------------------------------------

# subtype -> (probability, C/O range, [s/Fe] range)
_S_SUBTYPES = {
    "MS": (0.35, (0.6, 0.85), (0.4, 1.0)),
    "S": (0.45, (0.85, 0.97), (0.8, 1.5)),
    "SC": (0.2, (0.97, 1.0), (1.0, 1.6)),
}


def _draw_s_star(rng, subtype=None):
    subtype = choose_subtype(rng, {name: row[0] for name, row in _S_SUBTYPES.items()}, subtype)
    _, c_to_o, s = _S_SUBTYPES[subtype]
    s_value = float(rng.uniform(*s))
    p = {
        "subtype": subtype,
        "teff": float(rng.uniform(3000.0, 3800.0)),
        "logg": float(rng.uniform(0.0, 1.5)),
        "metallicity": float(rng.normal(-0.1, 0.2)),
        "c_to_o": float(rng.uniform(*c_to_o)),
        "s_process": s_value,
        "abundances": {el: s_value for el in _S_ELEMENTS},
        "microturbulence": 2.5,
        "broadening": 12.0,
        "radial_velocity": float(rng.normal(0.0, 40.0)),
    }
    if rng.uniform() < 0.15:  # Mira S stars show Balmer emission
        p["emission"] = {
            "H delta": log_uniform(rng, 2.0, 12.0),
            "H gamma": log_uniform(rng, 1.0, 8.0),
        }
    p["redshift"] = radial_velocity_redshift(p["radial_velocity"])
    return p


def _render_s_star(grid, params):
    flux, continuum = photosphere_flux(grid, oxides_at_type(params))
    if "emission" in params:
        flux = flux + _balmer_emission(grid, continuum, params, 25.0)
    return flux


# ---- symbiotic stars
# ---------------------------------------------------------------------------------

_SYMBIOTIC_LINES = {
    "H alpha": 6564.61,
    "H beta": 4862.68,
    "H gamma": 4341.68,
    "H delta": 4102.89,
    "He I 5876": 5877.25,
    "He I 6678": 6679.99,
    "He I 7065": 7067.14,
    "He II 4686": 4687.02,
    "[O III] 5007": 5008.24,
    "[O III] 4959": 4960.30,
    "[Ne III] 3869": 3869.86,
}


def _draw_symbiotic(rng):
    index = int(rng.integers(2, 7))
    halpha = log_uniform(rng, 20.0, 300.0)
    heii = log_uniform(rng, 1.0, 20.0)
    oiii = log_uniform(rng, 0.5, 40.0) if rng.uniform() < 0.7 else 0.0
    p = {
        "subtype": f"M{index}III+hot",
        "teff": float(GIANT_TEFF[f"M{index}"] + rng.normal(0, 50)),
        "logg": float(1.2 - 0.2 * index),
        "metallicity": float(rng.normal(-0.2, 0.3)),
        "microturbulence": 2.5,
        "broadening": 12.0,
        "hot_fraction": float(rng.uniform(0.05, 0.6)),
        "emission": {
            "H alpha": halpha,
            "H beta": halpha * rng.uniform(0.15, 0.4),
            "H gamma": halpha * rng.uniform(0.05, 0.15),
            "H delta": halpha * rng.uniform(0.02, 0.08),
            "He I 5876": halpha * rng.uniform(0.02, 0.1),
            "He I 6678": halpha * rng.uniform(0.01, 0.04),
            "He I 7065": halpha * rng.uniform(0.01, 0.04),
            "He II 4686": heii,
            "[O III] 5007": oiii,
            "[O III] 4959": oiii / 3,
            "[Ne III] 3869": oiii * rng.uniform(0, 0.3),
        },
        "raman_ovi": log_uniform(rng, 3.0, 30.0) if rng.uniform() < 0.5 else 0.0,
        "radial_velocity": float(rng.normal(0.0, 50.0)),
    }
    p["redshift"] = radial_velocity_redshift(p["radial_velocity"])
    return p


def _render_symbiotic(grid, params):
    giant, continuum = photosphere_flux(grid, params)
    df = 1 + params["redshift"]
    rest = grid.wavelength / df
    # The hot component: a ~100 000 K white dwarf plus nebular continuum, scaled at 4000 Å.
    hot = planck(rest, 1e5)
    hot = (
        hot
        / np.interp(4000.0, rest, hot)
        * np.interp(4000.0, rest, continuum)
        * params["hot_fraction"]
        * 5
    )
    total_continuum = continuum + hot
    names = list(params["emission"])
    lines = gaussian_lines(
        grid.wavelength,
        total_continuum,
        df,
        [_SYMBIOTIC_LINES[n] for n in names],
        [params["emission"][n] for n in names],
        45.0,
    )
    # Raman-scattered O VI 1032 Å appears as a broad band at 6825 Å (and 7082 Å), unique to
    # symbiotics.
    raman = gaussian_lines(
        grid.wavelength,
        total_continuum,
        df,
        [6830.0, 7088.0],
        [params["raman_ovi"], params["raman_ovi"] * 0.25],
        400.0,
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
        conditions={"ebv": (0.0, 0.5)},
    ),
    SpectralClass(
        "symbiotic",
        "Symbiotic stars: M giant with Balmer, He II, [O III] and Raman O VI 6825 emission",
        _draw_symbiotic,
        _render_symbiotic,
        optional=PHOTOSPHERE_PARAMETERS,
        conditions={"ebv": (0.0, 0.5)},
    ),
)
