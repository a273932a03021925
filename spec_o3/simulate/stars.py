"""Ordinary stars, their emission-line variants and the M giants.

FGK dwarfs and giants, CN-strong and barium giants, M dwarfs and dMe flare stars, A/B and Be stars,
blue horizontal-branch stars, and M0–M10 giants.
"""

import numpy as np

from ..catalog import rest_wavelengths
from .emission import disc_lines, gaussian_lines
from .photosphere import Photosphere
from .priors import Priors, observing_conditions
from .registry import SpectralClass
from .spectral_types import (
    DWARF_TEFF,
    GIANT_TEFF,
    choose_subtype,
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


def _common(rng, priors):
    return {"radial_velocity": priors.draw(rng, "radial velocity")}


def _finish(params):
    params["redshift"] = radial_velocity_redshift(params.get("radial_velocity", 0.0))
    return params


# ---- FGK stars
# --------------------------------------------------------------------------------------


def _draw_fgk_dwarf(rng):
    priors = Priors("fgk_dwarf")
    teff = priors.draw(rng, "teff")
    fast = teff > priors.value("Kraft break")
    vsini = priors.draw(rng, f"vsini ({'above' if fast else 'below'} the Kraft break)")
    p = {
        "teff": teff,
        # log g falls from 4.6 at K7 V to 4.2 at F0 V along the main sequence.
        "logg": float(4.6 - 0.4 * (teff - 4000) / 3300 + priors.draw(rng, "logg scatter")),
        "metallicity": priors.draw(rng, "metallicity"),
        "microturbulence": priors.value("microturbulence"),
        "broadening": _broadening(vsini),
        **_common(rng, priors),
    }
    p["subtype"] = spectral_type(teff, DWARF_TEFF) + "V"
    return _finish(p)


def _fixed_broadening(priors):
    """`_broadening` of a class whose rotation and macroturbulence are fixed in its priors."""
    return _broadening(priors.value("vsini"), priors.value("macroturbulence"))


def _draw_gk_giant(rng):
    priors = Priors("gk_giant")
    teff = priors.draw(rng, "teff")
    p = {
        "teff": teff,
        # log g rises from 1.5 at K5 III (3915 K) to 2.5 at G8-K0 III (4815 K) along the red-giant
        # branch: medians of the MILES giants (Cenarro et al. 2007, MNRAS 374, 664).
        "logg": float(1.5 + (teff - 3915) / 900 + priors.draw(rng, "logg scatter")),
        "metallicity": priors.draw(rng, "metallicity"),
        "microturbulence": priors.value("microturbulence"),
        "broadening": _fixed_broadening(priors),
        **_common(rng, priors),
    }
    p["subtype"] = spectral_type(teff, GIANT_TEFF) + "III"
    return _finish(p)


def _draw_cn_giant(rng):
    priors = Priors("cn_strong_giant")
    p = _draw_gk_giant(rng)
    p.update(nitrogen=priors.draw(rng, "nitrogen"), c_to_o=priors.draw(rng, "c_to_o"))
    p["subtype"] += " CN+"
    return p


def _draw_barium_star(rng):
    priors = Priors("barium_star")
    teff = priors.draw(rng, "teff")
    s = priors.draw(rng, "s_process")
    p = {
        "teff": teff,
        "logg": priors.draw(rng, "logg"),
        "metallicity": priors.draw(rng, "metallicity"),
        "microturbulence": priors.value("microturbulence"),
        "broadening": _fixed_broadening(priors),
        "s_process": s,
        "c_to_o": priors.draw(rng, "c_to_o"),
        "abundances": {el: s for el in ("Sr", "Y", "Zr", "Ba", "La")},
        **_common(rng, priors),
    }
    p["subtype"] = f"{spectral_type(teff, GIANT_TEFF)}III Ba{int(np.clip(round(s * 4), 1, 5))}"
    return _finish(p)


def _render_photosphere(grid, params):
    return photosphere_flux(grid, params)[0]


# ---- M dwarfs and flare stars
# -----------------------------------------------------------------------


def _draw_m_dwarf(rng, subtype=None):
    priors = Priors("m_dwarf")
    subtype = choose_subtype(rng, priors.weights(), subtype)
    index = int(subtype[1])
    subdwarf = priors.draw(rng, "subdwarf")
    p = {
        "teff": float(DWARF_TEFF[subtype] + priors.draw(rng, "teff scatter")),
        "logg": float(4.7 + 0.05 * index + priors.draw(rng, "logg scatter")),
        "metallicity": priors.draw(rng, "metallicity (subdwarf)" if subdwarf else "metallicity"),
        "microturbulence": priors.value("microturbulence"),
        "broadening": _fixed_broadening(priors),
        "molecule_scale": {"TiO": priors.draw(rng, "TiO scale")},
        **_common(rng, priors),
    }
    p["subtype"] = ("sd" if subdwarf else "") + subtype + "V"
    return _finish(p)


def _draw_dme(rng):
    priors = Priors("dme_star")
    p = _draw_m_dwarf(rng)
    late = p["teff"] < priors.value("late Teff")
    flare = priors.draw(rng, "flare")
    halpha = priors.draw(
        rng, "H alpha EW (flare)" if flare else "H alpha EW (late)" if late else "H alpha EW"
    )
    hb = halpha * priors.draw(rng, "H beta / H alpha")
    hg = hb * priors.draw(rng, "H gamma / H beta")
    p["emission"] = {
        "H alpha": halpha,
        "H beta": hb,
        "H gamma": hg,
        "H delta": hg * priors.value("H delta / H gamma"),
        "H epsilon": hg * priors.value("H epsilon / H gamma"),
        "Ca II K": priors.draw(rng, "Ca II K EW"),
        "Ca II H": priors.draw(rng, "Ca II H EW"),
    }
    if flare:
        p["emission"]["He I 5876"] = halpha * priors.draw(rng, "He I 5876 / H alpha (flare)")
    p["emission_sigma"] = priors.draw(rng, "emission sigma")
    p["subtype"] += "e" + (" flare" if flare else "")
    return p


def _render_with_emission(grid, params):
    flux, continuum = photosphere_flux(grid, params)
    names = list(params["emission"])
    centres = rest_wavelengths(names)
    ews = [params["emission"][name] for name in names]
    df = 1.0 + params["redshift"]
    if "disc_v_inner" in params:  # Be-star discs
        be = Priors("be_star")
        lines = disc_lines(
            grid.wavelength,
            continuum,
            df,
            centres,
            ews,
            params["disc_v_inner"],
            params["disc_r_ratio"],
            be.value("disc emissivity index"),
            smoothing_kms=be.value("disc line smoothing"),
        )
    else:
        lines = gaussian_lines(
            grid.wavelength, continuum, df, centres, ews, params["emission_sigma"]
        )
    return flux + lines


# ---- hot stars
# --------------------------------------------------------------------------------------


def _draw_ab_star(rng, subtype=None):
    priors = Priors("ab_star")
    subtype = choose_subtype(rng, priors.weights(), subtype)
    teff = DWARF_TEFF[subtype] * priors.draw(rng, "teff factor")
    p = {
        "teff": float(teff),
        "logg": priors.draw(rng, "logg"),
        "metallicity": priors.draw(rng, "metallicity"),
        "microturbulence": priors.value("microturbulence"),
        "broadening": _broadening(priors.draw(rng, "vsini")),
        **_common(rng, priors),
    }
    p["subtype"] = subtype + ("V" if p["logg"] > priors.value("dwarf logg") else "IV")
    return _finish(p)


def _draw_be_star(rng):
    priors = Priors("be_star")
    teff = priors.draw(rng, "teff")
    sin_i = np.sin(np.arccos(rng.uniform(0.0, 1.0)))  # isotropic orientations
    vsini = priors.value("critical velocity") * sin_i * priors.draw(rng, "rotation / critical")
    halpha = priors.draw(rng, "H alpha EW")
    p = {
        "teff": teff,
        "logg": priors.draw(rng, "logg"),
        "metallicity": priors.value("metallicity"),
        "microturbulence": priors.value("microturbulence"),
        "broadening": _broadening(vsini),
        "disc_v_inner": float(
            max(
                priors.value("disc inner velocity") * sin_i,
                priors.value("disc inner velocity floor"),
            )
        ),
        "disc_r_ratio": priors.draw(rng, "disc radius ratio"),
        "emission": {
            "H alpha": halpha,
            "H beta": halpha * priors.draw(rng, "H beta / H alpha"),
            "H gamma": halpha * priors.draw(rng, "H gamma / H alpha"),
        },
        **_common(rng, priors),
    }
    if halpha > priors.value("H alpha EW of Fe II emitters"):
        for name in ("Fe II 5169", "Fe II 5317", "O I 8446"):
            p["emission"][name] = priors.draw(rng, f"{name} EW")
    p["subtype"] = spectral_type(teff, DWARF_TEFF) + "e"
    return _finish(p)


def _draw_bhb(rng):
    priors = Priors("bhb_star")
    teff = priors.draw(rng, "teff")
    p = {
        "teff": teff,
        "logg": priors.draw(rng, "logg"),
        "metallicity": priors.draw(rng, "metallicity"),
        "microturbulence": priors.value("microturbulence"),
        "broadening": _broadening(priors.draw(rng, "vsini")),
        **_common(rng, priors),
    }
    p["subtype"] = spectral_type(teff, DWARF_TEFF) + " BHB"
    return _finish(p)


# ---- M giants
# ---------------------------------------------------------------------------------------


def _draw_m_giant(rng, subtype=None):
    priors = Priors("m_giant")
    subtype = choose_subtype(rng, priors.weights(), subtype)
    index = int(subtype[1:])
    p = {
        "teff": float(GIANT_TEFF[subtype] + priors.draw(rng, "teff scatter")),
        "logg": float(1.6 - 0.2 * index + priors.draw(rng, "logg scatter")),
        "metallicity": priors.draw(rng, "metallicity"),
        "microturbulence": priors.value("microturbulence"),
        "broadening": _fixed_broadening(priors),
        "molecule_scale": {"TiO": priors.draw(rng, "TiO scale")},
        **_common(rng, priors),
    }
    p["subtype"] = subtype + "III"
    # Mira variables show Balmer emission, Hδ strongest (TiO absorbs Hβ and Hα above the shock).
    if index >= priors.value("earliest Mira subtype") and priors.draw(rng, "Mira", subtype):
        hdelta = priors.draw(rng, "H delta EW (Mira)")
        p["emission"] = {"H delta": hdelta} | {
            name: hdelta * priors.value(f"{name} / H delta (Mira)")
            for name in ("H gamma", "H beta", "H epsilon")
        }
        p["emission_sigma"] = priors.value("emission sigma (Mira)")
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
        "M0-M10 III giants (TiO rising with subtype; late ones with VO, some Miras)",
        _draw_m_giant,
        _render_m_giant,
        positive_for="m_giant",
        optional=PHOTOSPHERE_PARAMETERS,
        conditions=observing_conditions("m_giant"),
    ),
    SpectralClass(
        "fgk_dwarf",
        "F0-K7 main-sequence stars",
        _draw_fgk_dwarf,
        _render_photosphere,
        optional=PHOTOSPHERE_PARAMETERS,
        conditions=observing_conditions("fgk_dwarf"),
    ),
    SpectralClass(
        "gk_giant",
        "G5-K5 giants",
        _draw_gk_giant,
        _render_photosphere,
        optional=PHOTOSPHERE_PARAMETERS,
        conditions=observing_conditions("gk_giant"),
    ),
    SpectralClass(
        "cn_strong_giant",
        "K giants with strong CN bands (nitrogen-enhanced)",
        _draw_cn_giant,
        _render_photosphere,
        optional=PHOTOSPHERE_PARAMETERS,
        conditions=observing_conditions("cn_strong_giant"),
    ),
    SpectralClass(
        "barium_star",
        "G/K giants with enhanced s-process lines and CH (Ba stars)",
        _draw_barium_star,
        _render_photosphere,
        optional=PHOTOSPHERE_PARAMETERS,
        conditions=observing_conditions("barium_star"),
    ),
    SpectralClass(
        "m_dwarf",
        "M0-M9 dwarfs (strong CaH, Na I 8190), a few metal-poor subdwarfs",
        _draw_m_dwarf,
        _render_photosphere,
        optional=PHOTOSPHERE_PARAMETERS,
        conditions=observing_conditions("m_dwarf"),
    ),
    SpectralClass(
        "dme_star",
        "M dwarfs with narrow Balmer and Ca II emission (dMe, flares)",
        _draw_dme,
        _render_with_emission,
        optional=PHOTOSPHERE_PARAMETERS,
        conditions=observing_conditions("dme_star"),
    ),
    SpectralClass(
        "ab_star",
        "B5-A7 main-sequence stars (narrower Balmer lines, Ca II K, Mg II 4481)",
        _draw_ab_star,
        _render_photosphere,
        optional=PHOTOSPHERE_PARAMETERS,
        conditions=observing_conditions("ab_star"),
    ),
    SpectralClass(
        "be_star",
        "B stars with disc Balmer emission (Be)",
        _draw_be_star,
        _render_with_emission,
        optional=PHOTOSPHERE_PARAMETERS,
        conditions=observing_conditions("be_star"),
    ),
    SpectralClass(
        "bhb_star",
        "Blue horizontal-branch stars (metal-poor, low gravity)",
        _draw_bhb,
        _render_photosphere,
        optional=PHOTOSPHERE_PARAMETERS,
        conditions=observing_conditions("bhb_star"),
    ),
)
