"""Cataclysmic variables: quiescent dwarf novae, magnetic systems, outbursts and nova-likes, and
classical novae in their nebular phase."""

import numpy as np

from ..catalog import rest_wavelengths
from .constants import CYCLOTRON_WAVELENGTH_MG
from .continuum import accretion_disc
from .emission import disc_lines, gaussian_lines
from .priors import Priors, observing_conditions
from .profiles import smooth
from .registry import SpectralClass
from .spectral_types import DWARF_TEFF, choose_subtype, radial_velocity_redshift
from .stars import PHOTOSPHERE_PARAMETERS, photosphere_flux

__all__ = ["CATACLYSMIC_CLASSES"]


#: Lines drawn as a ratio to another, in the order drawn: (line, the line it is scaled to).
_SCALED_LINES = {
    "dwarf nova (quiescence)": (
        ("He I 5876", "H alpha"),
        ("He II 4686", "H beta"),
        ("He I 6678", "He I 5876"),
        ("He I 7065", "He I 5876"),
        ("He I 4471", "H beta"),
        ("He I 4922", "He I 4471"),
        ("He I 5016", "He I 4471"),
        ("Fe II 5169", "H beta"),
    ),
    "magnetic (polar/IP)": (
        ("He II 4686", "H beta"),
        ("Bowen 4640", "He II 4686"),
        ("He I 5876", "H alpha"),
        ("He I 4471", "H beta"),
        ("He I 6678", "He I 5876"),
    ),
}


def _balmer_series(rng, priors, subtype, halpha):
    hb = halpha * priors.draw(rng, "H beta / H alpha", subtype)
    hg = hb * priors.draw(rng, "H gamma / H beta", subtype)
    hd = hg * priors.draw(rng, "H delta / H gamma", subtype)
    return {
        "H alpha": halpha,
        "H beta": hb,
        "H gamma": hg,
        "H delta": hd,
        "H epsilon": hd * priors.value("H epsilon / H delta", subtype),
        "H8": hd * priors.value("H8 / H delta", subtype),
    }


def _scaled(rng, priors, subtype, lines, name, by):
    """``lines[by]`` times the drawn ``"<name> / <by>"`` ratio."""
    return lines[by] * priors.draw(rng, f"{name} / {by}", subtype)


def _draw_cv(rng, subtype=None):
    priors = Priors("cataclysmic_variable")
    subtype = choose_subtype(rng, priors.weights(), subtype)
    p = {
        "subtype": subtype,
        "wd_teff": priors.draw(rng, "white dwarf teff"),
        "wd_logg": priors.draw(rng, "white dwarf logg"),
        "donor": f"M{priors.draw(rng, 'donor M subtype')}",
        "radial_velocity": priors.draw(rng, "radial velocity"),
    }
    inclination = np.arccos(priors.draw(rng, "cos inclination"))
    sin_i = np.sin(inclination)

    def draw(name):
        return priors.draw(rng, name, subtype)

    def scaled(name, by):
        return _scaled(rng, priors, subtype, lines, name, by)

    halpha = draw("H alpha EW")
    if subtype.startswith("dwarf"):
        lines = _balmer_series(rng, priors, subtype, halpha)
        for name, by in _SCALED_LINES[subtype]:
            lines[name] = scaled(name, by)
        if draw("Ca II triplet"):
            for name in ("Ca II 8498", "Ca II 8542", "Ca II 8662"):
                lines[name] = draw("Ca II triplet EW")
        # Quiescent discs outshine the white dwarf: its share is skewed towards its 5 % floor.
        p.update(
            wd_fraction=float(0.05 + 0.35 * rng.uniform() ** 2),
            donor_fraction=draw("donor share"),
            disc_teff=draw("disc teff"),
            v_outer=float(draw("outer disc velocity") * sin_i),
            r_ratio=draw("disc radius ratio"),
        )
    elif subtype.startswith("magnetic"):
        lines = _balmer_series(rng, priors, subtype, halpha)
        for name, by in _SCALED_LINES[subtype]:
            lines[name] = scaled(name, by)
        p.update(
            wd_fraction=draw("white dwarf share"),
            donor_fraction=draw("donor share"),
            disc_teff=draw("disc teff"),
            sigma_broad=draw("broad line sigma"),
            sigma_narrow=draw("narrow line sigma"),
            field_mg=draw("field"),
            cyclotron=draw("cyclotron amplitude"),
        )
    elif subtype.startswith("classical nova"):
        # Months after eruption the expanding ejecta outshine the binary: broad Hα hundreds to
        # thousands of Å in EW, He II 4686 and nebular [O III], [N II] and [Ne III] lines as broad.
        lines = {"H alpha": halpha}
        lines["H beta"] = scaled("H beta", "H alpha")
        oiii = draw("[O III] 5007 EW")
        lines["H gamma"] = scaled("H gamma", "H beta")
        lines["H delta"] = scaled("H delta", "H beta")
        lines["He II 4686"] = scaled("He II 4686", "H alpha")
        lines["He I 5876"] = scaled("He I 5876", "H alpha")
        lines["[O III] 5007"] = oiii
        lines["[O III] 4959"] = oiii / priors.value("[O III] 5007 / [O III] 4959", subtype)
        lines["[N II] 5755"] = scaled("[N II] 5755", "[O III] 5007")
        lines["[Ne III] 3869"] = scaled("[Ne III] 3869", "[O III] 5007")
        lines["He I 6678"] = scaled("He I 6678", "He I 5876")
        p.update(
            wd_fraction=draw("white dwarf share"),
            donor_fraction=draw("donor share"),
            disc_teff=draw("disc teff"),
            sigma_ejecta=draw("ejecta FWHM") / 2.3548,
        )
    else:
        # Dwarf novae in outburst and nova-likes: broad disc absorption with emission cores in the
        # absorption troughs of Hβ-Hδ (Morales-Rueda & Marsh 2002, MNRAS 332, 814).
        lines = {"H alpha": halpha}
        lines["H beta"] = scaled("H beta", "H alpha")
        lines["H gamma"] = scaled("H gamma", "H beta")
        lines["H delta"] = scaled("H delta", "H gamma")
        lines["He I 5876"] = scaled("He I 5876", "H alpha")
        if draw("He II 4686"):
            lines["He II 4686"] = draw("He II 4686 EW")
        p.update(
            wd_fraction=draw("white dwarf share"),
            donor_fraction=draw("donor share"),
            disc_teff=draw("disc teff"),
            disc_line_teff=draw("disc absorption teff"),
            disc_line_logg=draw("disc absorption logg"),
            disc_rotation=float(draw("disc rotation") * sin_i + draw("disc rotation floor")),
            v_outer=float(draw("outer disc velocity") * sin_i + draw("outer disc velocity floor")),
            # The cores come from the outer disc (and wind): narrower than the absorption troughs.
            r_ratio=draw("disc radius ratio"),
        )
    p["emission"] = {k: float(v) for k, v in lines.items()}
    p["inclination_deg"] = float(np.degrees(inclination))
    p["redshift"] = radial_velocity_redshift(p["radial_velocity"])
    return p


def _normalised(flux, rest, at=5500.0):
    return flux / np.interp(at, rest, flux)


def _cyclotron(rest, field_mg, amplitude):
    """Cyclotron humps of a polar: harmonics of λ_c = 2π m_e c²/(e B) ≈ 1.071e6 Å / B[MG]."""
    hump = np.zeros_like(rest)
    fundamental = CYCLOTRON_WAVELENGTH_MG / field_mg
    for n in range(2, 12):
        centre = fundamental / n
        if 3500 < centre < 9500:
            hump += amplitude * (2.0 / n) * np.exp(-0.5 * ((rest - centre) / (0.04 * centre)) ** 2)
    return hump


def _render_cv(grid, params):
    priors, kind = Priors("cataclysmic_variable"), params["subtype"]
    df = 1 + params["redshift"]
    rest = grid.wavelength / df
    wd_params = {
        "teff": params["wd_teff"],
        "logg": params["wd_logg"],
        "metal_lines": False,
        "helium": -5.0,  # a DA: no helium
        "broadening": priors.value("white dwarf broadening"),
        "redshift": params["redshift"],
    }
    wd, wd_continuum = photosphere_flux(grid, wd_params)
    wd, wd_continuum = _normalised(wd, rest), wd_continuum / np.interp(5500.0, rest, wd)
    donor_params = {
        "teff": DWARF_TEFF[params["donor"]],
        "logg": priors.value("donor logg"),
        "broadening": priors.value("donor broadening"),
        "redshift": params["redshift"],
    }
    donor = photosphere_flux(grid, donor_params)[0]
    donor = donor / np.interp(8000.0, rest, donor) * np.interp(8000.0, rest, wd)
    disc = disc_continuum = accretion_disc(rest, params["disc_teff"])
    if kind.startswith("outburst"):
        # The optically thick disc shows broad, rotationally smeared Balmer absorption.
        line_params = {
            "teff": params["disc_line_teff"],
            "logg": params["disc_line_logg"],
            "metal_lines": False,
            "broadening": params["disc_rotation"],
            "redshift": params["redshift"],
            "helium": priors.value("disc absorption helium", kind),
        }
        lines, continuum = photosphere_flux(grid, line_params)
        # The photosphere model does not rotate its H and He lines: smear the normalised absorption
        # with the Keplerian velocities of the disc (troughs ~2000-4000 km/s wide in outburst).
        disc = disc * smooth(lines / continuum, params["disc_rotation"] / grid.pixel_velocity)
    f_wd, f_donor = params["wd_fraction"], params["donor_fraction"]
    total = (1 - f_wd - f_donor) * disc + f_wd * wd + f_donor * donor
    # Equivalent widths are against the continuum, not the floor of the white dwarf's or the
    # disc's absorption troughs (an emission core in a trough is weaker in flux than its EW says
    # otherwise).
    reference = (1 - f_wd - f_donor) * disc_continuum + f_wd * wd_continuum + f_donor * donor
    if kind.startswith("magnetic"):
        cyclotron = _cyclotron(rest, params["field_mg"], params["cyclotron"])
        total, reference = total + cyclotron, reference + cyclotron
    names = list(params["emission"])
    centres = rest_wavelengths(names)
    ews = [params["emission"][n] for n in names]
    if kind.startswith("classical nova"):
        return total + gaussian_lines(
            grid.wavelength, reference, df, centres, ews, params["sigma_ejecta"]
        )
    if kind.startswith("magnetic"):
        for component in ("broad", "narrow"):
            share = priors.value(f"{component} line share", kind)
            total = total + gaussian_lines(
                grid.wavelength,
                reference,
                df,
                centres,
                np.multiply(ews, share),
                params[f"sigma_{component}"],
            )
        return total
    v_inner = max(params["v_outer"], priors.value("inner disc velocity floor")) * np.sqrt(
        params["r_ratio"]
    )
    emissivity = priors.value("disc emissivity index")
    return total + disc_lines(
        grid.wavelength, reference, df, centres, ews, v_inner, params["r_ratio"], emissivity
    )


CATACLYSMIC_CLASSES = (
    SpectralClass(
        "cataclysmic_variable",
        "Cataclysmic variables: quiescent dwarf novae (double-peaked disc lines), "
        "magnetic systems (strong He II 4686), outbursts and nova-likes (broad Balmer absorption), "
        "classical novae in their nebular phase (broad [O III] beside broad Balmer lines)",
        _draw_cv,
        _render_cv,
        positive_for="cataclysmic_variable",
        optional=PHOTOSPHERE_PARAMETERS,
        conditions=observing_conditions("cataclysmic_variable"),
    ),
)
