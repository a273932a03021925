"""Ordinary stars, their emission-line variants and the M giants.

FGK dwarfs and giants, CN-strong and barium giants, M dwarfs and dMe flare stars, A/B and Be stars,
blue horizontal-branch stars, and M0–M8 giants.
"""

import numpy as np

from .emission import disc_lines, gaussian_lines
from .photosphere import Photosphere
from .registry import SpectralClass
from .spectral_types import (
    DWARF_TEFF,
    GIANT_TEFF,
    choose_subtype,
    log_uniform,
    radial_velocity_redshift,
    spectral_type,
)

__all__ = ["STAR_CLASSES", "photosphere_flux", "oxides_at_type", "PHOTOSPHERE_PARAMETERS"]

_PHOTOSPHERE_KEYS = (
    "teff",
    "logg",
    "metallicity",
    "microturbulence",
    "broadening",
    "c_to_o",
    "s_process",
    "nitrogen",
    "c13_fraction",
    "hydrogen",
    "helium",
    "metal_lines",
    "zeeman_field",
)
_OXIDES = ("TiO", "VO", "ZrO", "LaO", "YO")
_BALMER = {
    "H alpha": 6564.61,
    "H beta": 4862.68,
    "H gamma": 4341.68,
    "H delta": 4102.89,
    "H epsilon": 3971.20,
}


#: Parameters of classes rendered from one photosphere (all may be overridden in simulate_spectrum).
PHOTOSPHERE_PARAMETERS = (*_PHOTOSPHERE_KEYS, "abundances", "line_scale", "molecule_scale")


def photosphere_flux(grid, params, **overrides):
    """Flux and continuum of the photosphere described by ``params`` (keys of `Photosphere`)."""
    kwargs = {key: params[key] for key in _PHOTOSPHERE_KEYS if key in params}
    for key in ("abundances", "line_scale", "molecule_scale"):
        if key in params:
            kwargs[key] = dict(params[key])
    kwargs.update(overrides)
    return Photosphere(**kwargs).spectrum(grid, 1.0 + params["redshift"])


def _broadening(vsini, macro=4.0):
    """Gaussian σ (km/s) mimicking rotation plus macroturbulence, never below the grid sampling."""
    return float(max(np.hypot(0.6 * vsini, macro), 12.0))


def _common(rng, rv_sigma):
    return {"radial_velocity": float(rng.normal(0.0, rv_sigma))}


def _finish(params):
    params["redshift"] = radial_velocity_redshift(params.get("radial_velocity", 0.0))
    return params


# ---- FGK stars
# --------------------------------------------------------------------------------------


def _draw_fgk_dwarf(rng):
    teff = rng.uniform(4000.0, 7300.0)
    vsini = rng.uniform(2, 60) if teff > 6300 else rng.uniform(1, 8)
    p = {
        "teff": teff,
        "logg": float(4.6 - 0.4 * (teff - 4000) / 3300 + rng.normal(0, 0.1)),
        "metallicity": float(np.clip(rng.normal(-0.2, 0.3), -2.0, 0.5)),
        "microturbulence": 1.2,
        "broadening": _broadening(vsini),
        **_common(rng, 35.0),
    }
    p["subtype"] = spectral_type(teff, DWARF_TEFF) + "V"
    return _finish(p)


def _draw_gk_giant(rng):
    teff = rng.uniform(3950.0, 5200.0)
    p = {
        "teff": teff,
        "logg": float(1.0 + 2.0 * (teff - 3950) / 1250 + rng.normal(0, 0.25)),
        "metallicity": float(np.clip(rng.normal(-0.3, 0.3), -2.5, 0.4)),
        "microturbulence": 2.0,
        "broadening": _broadening(3.0, 5.0),
        **_common(rng, 50.0),
    }
    p["subtype"] = spectral_type(teff, GIANT_TEFF) + "III"
    return _finish(p)


def _draw_cn_giant(rng):
    p = _draw_gk_giant(rng)
    p.update(nitrogen=float(rng.uniform(0.5, 1.2)), c_to_o=float(rng.uniform(0.6, 0.9)))
    p["subtype"] += " CN+"
    return p


def _draw_barium_star(rng):
    teff = rng.uniform(4200.0, 5300.0)
    s = float(rng.uniform(0.5, 1.3))
    p = {
        "teff": teff,
        "logg": float(rng.uniform(1.8, 3.0)),
        "metallicity": float(rng.normal(-0.2, 0.2)),
        "microturbulence": 2.0,
        "broadening": _broadening(3.0, 5.0),
        "s_process": s,
        "c_to_o": float(rng.uniform(0.7, 0.95)),
        "abundances": {el: s for el in ("Sr", "Y", "Zr", "Ba", "La")},
        **_common(rng, 40.0),
    }
    p["subtype"] = f"{spectral_type(teff, GIANT_TEFF)}III Ba{int(np.clip(round(s * 4), 1, 5))}"
    return _finish(p)


def _render_photosphere(grid, params):
    return photosphere_flux(grid, params)[0]


# ---- M dwarfs and flare stars
# -----------------------------------------------------------------------

_M_SUBTYPES = [f"M{i}" for i in range(10)]
_M_DWARF_WEIGHTS = np.array([18, 16, 15, 14, 11, 8, 7, 5, 4, 2], float)


def _draw_m_dwarf(rng, subtype=None):
    weights = dict(zip(_M_SUBTYPES, _M_DWARF_WEIGHTS, strict=True))
    index = int(choose_subtype(rng, weights, subtype)[1])
    subdwarf = rng.uniform() < 0.05
    p = {
        "teff": float(DWARF_TEFF[_M_SUBTYPES[index]] + rng.normal(0, 60)),
        "logg": float(4.7 + 0.05 * index + rng.normal(0, 0.05)),
        "metallicity": float(
            rng.uniform(-1.8, -1.0) if subdwarf else np.clip(rng.normal(-0.1, 0.25), -1, 0.4)
        ),
        "microturbulence": 1.0,
        "broadening": _broadening(3.0, 3.0),
        "molecule_scale": {"TiO": float(rng.lognormal(0, 0.1))},
        **_common(rng, 30.0),
    }
    p["subtype"] = ("sd" if subdwarf else "") + _M_SUBTYPES[index] + "V"
    return _finish(p)


def _draw_dme(rng):
    p = _draw_m_dwarf(rng)
    late = p["teff"] < 3100
    flare = rng.uniform() < 0.08
    halpha = log_uniform(rng, 20.0, 60.0) if flare else log_uniform(rng, 1.5, 12.0 if late else 6.0)
    hb = halpha * rng.uniform(0.4, 1.0)
    hg = hb * rng.uniform(0.5, 0.9)
    p["emission"] = {
        "H alpha": halpha,
        "H beta": hb,
        "H gamma": hg,
        "H delta": hg * 0.8,
        "H epsilon": hg * 0.5,
        "Ca II K": log_uniform(rng, 1.0, 15.0),
        "Ca II H": log_uniform(rng, 1.0, 12.0),
    }
    if flare:
        p["emission"]["He I 5876"] = halpha * rng.uniform(0.03, 0.1)
    p["emission_sigma"] = float(rng.uniform(20.0, 45.0))
    p["subtype"] += "e" + (" flare" if flare else "")
    return p


_EMISSION_CENTRES = {
    **_BALMER,
    "Ca II K": 3934.78,
    "Ca II H": 3969.59,
    "He I 5876": 5877.25,
    "Fe II 5169": 5170.47,
    "Fe II 5317": 5318.0,
    "O I 8446": 8448.7,
}


def _render_with_emission(grid, params):
    flux, continuum = photosphere_flux(grid, params)
    names = list(params["emission"])
    centres = [_EMISSION_CENTRES[name] for name in names]
    ews = [params["emission"][name] for name in names]
    df = 1.0 + params["redshift"]
    if "disc_v_inner" in params:
        lines = disc_lines(
            grid.wavelength,
            continuum,
            df,
            centres,
            ews,
            params["disc_v_inner"],
            params["disc_r_ratio"],
            2.0,
            smoothing_kms=30.0,
        )
    else:
        lines = gaussian_lines(
            grid.wavelength, continuum, df, centres, ews, params["emission_sigma"]
        )
    return flux + lines


# ---- hot stars
# --------------------------------------------------------------------------------------

_AB_TYPES = ("B5", "B8", "B9", "A0", "A2", "A5", "A7")


def _draw_ab_star(rng, subtype=None):
    subtype = choose_subtype(rng, dict.fromkeys(_AB_TYPES, 1.0), subtype)
    teff = DWARF_TEFF[subtype] * rng.normal(1.0, 0.03)
    p = {
        "teff": float(teff),
        "logg": float(rng.uniform(3.6, 4.3)),
        "metallicity": float(rng.normal(0.0, 0.2)),
        "microturbulence": 2.0,
        "broadening": _broadening(rng.uniform(30, 250)),
        **_common(rng, 20.0),
    }
    p["subtype"] = subtype + ("V" if p["logg"] > 3.9 else "IV")
    return _finish(p)


def _draw_be_star(rng):
    teff = rng.uniform(12000.0, 25000.0)
    sin_i = np.sin(np.arccos(rng.uniform(0.0, 1.0)))
    vsini = 400.0 * sin_i * rng.uniform(0.7, 0.95)
    halpha = log_uniform(rng, 3.0, 50.0)
    p = {
        "teff": float(teff),
        "logg": float(rng.uniform(3.5, 4.1)),
        "metallicity": 0.0,
        "microturbulence": 3.0,
        "broadening": _broadening(vsini),
        "disc_v_inner": float(max(450.0 * sin_i, 60.0)),
        "disc_r_ratio": float(rng.uniform(5.0, 20.0)),
        "emission": {
            "H alpha": halpha,
            "H beta": halpha * rng.uniform(0.08, 0.25),
            "H gamma": halpha * rng.uniform(0.0, 0.06),
        },
        **_common(rng, 20.0),
    }
    if halpha > 20:
        p["emission"].update(
            {
                "Fe II 5169": rng.uniform(0.3, 1.5),
                "Fe II 5317": rng.uniform(0.3, 1.2),
                "O I 8446": rng.uniform(0.5, 3.0),
            }
        )
    p["subtype"] = spectral_type(teff, DWARF_TEFF) + "e"
    return _finish(p)


def _draw_bhb(rng):
    teff = rng.uniform(7500.0, 11000.0)
    p = {
        "teff": float(teff),
        "logg": float(rng.uniform(2.9, 3.6)),
        "metallicity": float(rng.uniform(-2.5, -1.2)),
        "microturbulence": 2.0,
        "broadening": _broadening(rng.uniform(5, 30)),
        **_common(rng, 120.0),
    }
    p["subtype"] = spectral_type(teff, DWARF_TEFF) + " BHB"
    return _finish(p)


# ---- M giants
# ---------------------------------------------------------------------------------------

_M_GIANT_WEIGHTS = np.array([16, 15, 15, 14, 12, 10, 8, 6, 4], float)
_MIRA_LINES = {"H delta": 1.0, "H gamma": 0.7, "H beta": 0.25, "H epsilon": 0.5}


def _draw_m_giant(rng, subtype=None):
    weights = dict(zip(_M_SUBTYPES[:9], _M_GIANT_WEIGHTS, strict=True))
    index = int(choose_subtype(rng, weights, subtype)[1])
    subtype = f"M{index}"
    p = {
        "teff": float(GIANT_TEFF[subtype] + rng.normal(0, 50)),
        "logg": float(1.6 - 0.2 * index + rng.normal(0, 0.2)),
        "metallicity": float(np.clip(rng.normal(-0.1, 0.2), -1.5, 0.4)),
        "microturbulence": 2.5,
        "broadening": _broadening(3.0, 6.0),
        "molecule_scale": {"TiO": float(rng.lognormal(0, 0.12))},
        **_common(rng, 60.0),
    }
    p["subtype"] = subtype + "III"
    if index >= 6 and rng.uniform() < 0.3:  # Mira variables show Balmer emission, Hδ strongest
        strength = log_uniform(rng, 2.0, 20.0)
        p["emission"] = {name: strength * r for name, r in _MIRA_LINES.items()}
        p["emission_sigma"] = 30.0
        p["subtype"] += "e"
    return _finish(p)


def oxides_at_type(params):
    """``params`` with the oxide bands (TiO, VO, ZrO, LaO, YO) scaled back to solar metallicity.

    M and S types are assigned from the depth of the oxide bands (Keenan & McNeil 1989; Keenan &
    Boeshaar 1980), so at a given type those bands, not Teff, are fixed: a metal-poor giant of that
    type is a cooler one. Without this, a metal-poor "M0 III" would show the TiO of a K5 III.

    Examples
    --------
    >>> scaled = oxides_at_type({"metallicity": -1.0, "molecule_scale": {"TiO": 1.2}})
    >>> scaled["molecule_scale"]["TiO"], scaled["molecule_scale"]["VO"]
    (12.0, 10.0)
    """
    scale = dict(params.get("molecule_scale", {}))
    factor = 10 ** -params.get("metallicity", 0.0)
    for molecule in _OXIDES:
        scale[molecule] = scale.get(molecule, 1.0) * factor
    return {**params, "molecule_scale": scale}


def _render_m_giant(grid, params):
    params = oxides_at_type(params)
    return (
        _render_with_emission(grid, params)
        if "emission" in params
        else _render_photosphere(grid, params)
    )


STAR_CLASSES = (
    SpectralClass(
        "m_giant",
        "M0-M8 III giants (TiO rising with subtype; late ones with VO, some Miras)",
        _draw_m_giant,
        _render_m_giant,
        positive_for="m_giant",
        optional=PHOTOSPHERE_PARAMETERS,
        conditions={"ebv": (0.0, 0.6)},
    ),
    SpectralClass(
        "fgk_dwarf",
        "F0-K7 main-sequence stars",
        _draw_fgk_dwarf,
        _render_photosphere,
        optional=PHOTOSPHERE_PARAMETERS,
        conditions={"ebv": (0.0, 0.2)},
    ),
    SpectralClass(
        "gk_giant",
        "G5-K5 giants",
        _draw_gk_giant,
        _render_photosphere,
        optional=PHOTOSPHERE_PARAMETERS,
        conditions={"ebv": (0.0, 0.5)},
    ),
    SpectralClass(
        "cn_strong_giant",
        "K giants with strong CN bands (nitrogen-enhanced)",
        _draw_cn_giant,
        _render_photosphere,
        optional=PHOTOSPHERE_PARAMETERS,
        conditions={"ebv": (0.0, 0.5)},
    ),
    SpectralClass(
        "barium_star",
        "G/K giants with enhanced s-process lines and CH (Ba stars)",
        _draw_barium_star,
        _render_photosphere,
        optional=PHOTOSPHERE_PARAMETERS,
        conditions={"ebv": (0.0, 0.4)},
    ),
    SpectralClass(
        "m_dwarf",
        "M0-M9 dwarfs (strong CaH, Na I 8190), a few metal-poor subdwarfs",
        _draw_m_dwarf,
        _render_photosphere,
        optional=PHOTOSPHERE_PARAMETERS,
        conditions={"ebv": (0.0, 0.1)},
    ),
    SpectralClass(
        "dme_star",
        "M dwarfs with narrow Balmer and Ca II emission (dMe, flares)",
        _draw_dme,
        _render_with_emission,
        optional=PHOTOSPHERE_PARAMETERS,
        conditions={"ebv": (0.0, 0.1)},
    ),
    SpectralClass(
        "ab_star",
        "B5-A7 main-sequence stars (narrower Balmer lines, Ca II K, Mg II 4481)",
        _draw_ab_star,
        _render_photosphere,
        optional=PHOTOSPHERE_PARAMETERS,
        conditions={"ebv": (0.0, 0.4)},
    ),
    SpectralClass(
        "be_star",
        "B stars with disc Balmer emission (Be)",
        _draw_be_star,
        _render_with_emission,
        optional=PHOTOSPHERE_PARAMETERS,
        conditions={"ebv": (0.0, 0.8)},
    ),
    SpectralClass(
        "bhb_star",
        "Blue horizontal-branch stars (metal-poor, low gravity)",
        _draw_bhb,
        _render_photosphere,
        optional=PHOTOSPHERE_PARAMETERS,
        conditions={"ebv": (0.0, 0.1)},
    ),
)
