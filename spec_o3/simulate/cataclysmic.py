"""Cataclysmic variables: quiescent dwarf novae, magnetic systems, outbursts and nova-likes, and
classical novae in their nebular phase."""

import numpy as np

from .continuum import accretion_disc
from .emission import disc_lines, gaussian_lines
from .profiles import smooth
from .registry import SpectralClass
from .spectral_types import DWARF_TEFF, choose_subtype, log_uniform, radial_velocity_redshift
from .stars import PHOTOSPHERE_PARAMETERS, photosphere_flux

__all__ = ["CATACLYSMIC_CLASSES"]


_CV_LINES = {
    "H alpha": 6564.61,
    "H beta": 4862.68,
    "H gamma": 4341.68,
    "H delta": 4102.89,
    "H epsilon": 3971.20,
    "H8": 3890.17,
    "He I 4471": 4472.73,
    "He I 4922": 4923.30,
    "He I 5016": 5017.08,
    "He I 5876": 5877.25,
    "He I 6678": 6679.99,
    "He I 7065": 7067.14,
    "He II 4686": 4687.02,
    "Bowen 4640": 4641.9,
    "Fe II 5169": 5170.47,
    "Ca II 8498": 8500.36,
    "Ca II 8542": 8544.44,
    "Ca II 8662": 8664.52,
    "[Ne III] 3869": 3869.86,
    "[O III] 4959": 4960.30,
    "[O III] 5007": 5008.24,
    "[N II] 5755": 5756.24,
}
_CV_SUBTYPES = {
    "dwarf nova (quiescence)": 0.5,
    "magnetic (polar/IP)": 0.22,
    "outburst/nova-like": 0.18,
    "classical nova (nebular)": 0.1,
}


def _balmer_series(rng, halpha, decrement):
    hb = halpha * decrement
    hg = hb * rng.uniform(0.6, 0.9)
    hd = hg * rng.uniform(0.6, 0.9)
    return {
        "H alpha": halpha,
        "H beta": hb,
        "H gamma": hg,
        "H delta": hd,
        "H epsilon": hd * 0.7,
        "H8": hd * 0.5,
    }


def _draw_cv(rng, subtype=None):
    subtype = choose_subtype(rng, _CV_SUBTYPES, subtype)
    p = {
        "subtype": subtype,
        "wd_teff": float(rng.uniform(10000, 22000)),
        "wd_logg": float(rng.normal(8.1, 0.2)),
        "donor": f"M{rng.integers(2, 7)}",
        "radial_velocity": float(rng.normal(0, 50)),
    }
    inclination = np.arccos(rng.uniform(0.05, 1.0))
    if subtype.startswith("dwarf"):
        halpha = log_uniform(rng, 30.0, 250.0)
        lines = _balmer_series(rng, halpha, rng.uniform(0.4, 0.9))
        lines.update(
            {
                "He I 5876": halpha * rng.uniform(0.08, 0.25),
                "He II 4686": lines["H beta"] * rng.uniform(0, 0.15),
            }
        )
        lines.update(
            {
                "He I 6678": lines["He I 5876"] * 0.5,
                "He I 7065": lines["He I 5876"] * 0.35,
                "He I 4471": lines["H beta"] * rng.uniform(0.12, 0.3),
            }
        )
        lines.update(
            {
                "He I 4922": lines["He I 4471"] * 0.5,
                "He I 5016": lines["He I 4471"] * 0.4,
                "Fe II 5169": lines["H beta"] * rng.uniform(0, 0.08),
            }
        )
        if rng.uniform() < 0.3:
            lines.update(
                {name: rng.uniform(1, 5) for name in ("Ca II 8498", "Ca II 8542", "Ca II 8662")}
            )
        p.update(
            wd_fraction=float(0.05 + 0.35 * rng.uniform() ** 2),
            donor_fraction=float(rng.uniform(0.0, 0.4)),
            disc_teff=float(rng.uniform(7000, 14000)),
            v_outer=float(rng.uniform(500, 1000) * np.sin(inclination)),
            r_ratio=float(rng.uniform(10, 40)),
        )
    elif subtype.startswith("magnetic"):
        halpha = log_uniform(rng, 20.0, 150.0)
        lines = _balmer_series(rng, halpha, rng.uniform(0.5, 1.0))
        heii = lines["H beta"] * rng.uniform(0.3, 0.9)
        lines.update(
            {
                "He II 4686": heii,
                "Bowen 4640": heii * rng.uniform(0.2, 0.6),
                "He I 5876": halpha * rng.uniform(0.05, 0.15),
                "He I 4471": lines["H beta"] * rng.uniform(0.1, 0.2),
            }
        )
        lines["He I 6678"] = lines["He I 5876"] * 0.5
        p.update(
            wd_fraction=float(rng.uniform(0.1, 0.5)),
            donor_fraction=float(rng.uniform(0.0, 0.5)),
            disc_teff=float(rng.uniform(8000, 15000)),
            sigma_broad=float(rng.uniform(400, 800)),
            sigma_narrow=float(rng.uniform(60, 150)),
            field_mg=log_uniform(rng, 10.0, 70.0),
            cyclotron=float(rng.uniform(0.0, 0.8)),
        )
    elif subtype.startswith("classical nova"):
        # Months after eruption the expanding ejecta outshine the binary: broad (FWHM ~600-2000
        # km/s) H alpha hundreds to thousands of Å in EW, He II 4686 and nebular [O III], [N II]
        # and [Ne III] lines as broad. Ranges from the seven classical novae of the Open Nova
        # Catalog (R. E. Williams' CTIO survey) measured at R~1800: H alpha EW 170-2800 Å, H beta
        # 0.03-0.16 of it, He II 4686 0.03-0.3 and He I 5876 0.01-0.06 of H alpha, [O III] 5007
        # EW 30-400 Å once nebular.
        halpha = log_uniform(rng, 150.0, 3000.0)
        hb = halpha * rng.uniform(0.03, 0.15)
        oiii = log_uniform(rng, 25.0, 400.0)
        lines = {
            "H alpha": halpha,
            "H beta": hb,
            "H gamma": hb * rng.uniform(0.35, 0.55),
            "H delta": hb * rng.uniform(0.2, 0.3),
            "He II 4686": halpha * rng.uniform(0.03, 0.3),
            "He I 5876": halpha * rng.uniform(0.01, 0.06),
            "[O III] 5007": oiii,
            "[O III] 4959": oiii / 2.98,  # the 3:1 ratio of the doublet's transition probabilities
            "[N II] 5755": oiii * rng.uniform(0.05, 0.3),
            "[Ne III] 3869": oiii * rng.uniform(0.1, 0.4),
        }
        lines["He I 6678"] = lines["He I 5876"] * 0.3
        p.update(
            wd_fraction=0.0,
            donor_fraction=float(rng.uniform(0.0, 0.1)),
            disc_teff=float(rng.uniform(15000, 30000)),
            sigma_ejecta=float(rng.uniform(600, 2000) / 2.3548),
        )
    else:
        # Dwarf novae in outburst and nova-likes: broad disc absorption with emission cores. Nearly
        # all of the 48 outburst spectra of Morales-Rueda & Marsh (2002, MNRAS 332, 814) show
        # H alpha in emission and emission cores in the absorption troughs of H beta-H delta; 20
        # show He II 4686 emission.
        halpha = log_uniform(rng, 5.0, 40.0)
        hb = halpha * rng.uniform(0.3, 0.6)
        hg = hb * rng.uniform(0.5, 0.8)
        lines = {
            "H alpha": halpha,
            "H beta": hb,
            "H gamma": hg,
            "H delta": hg * rng.uniform(0.5, 0.8),
            "He I 5876": halpha * rng.uniform(0.0, 0.15),
        }
        if rng.uniform() < 0.4:
            lines["He II 4686"] = rng.uniform(1.0, 8.0)
        p.update(
            wd_fraction=float(rng.uniform(0.0, 0.1)),
            donor_fraction=0.0,
            disc_teff=float(rng.uniform(20000, 45000)),
            disc_line_teff=float(rng.uniform(12000, 20000)),
            disc_line_logg=float(rng.uniform(3.5, 4.5)),
            disc_rotation=float(rng.uniform(400, 1200) * np.sin(inclination) + 200),
            v_outer=float(rng.uniform(300, 700) * np.sin(inclination) + 100),
            # The cores come from the outer disc (and wind): narrower than the absorption troughs.
            r_ratio=float(rng.uniform(2.0, 5.0)),
        )
    p["emission"] = {k: float(v) for k, v in lines.items()}
    p["inclination_deg"] = float(np.degrees(inclination))
    p["redshift"] = radial_velocity_redshift(p["radial_velocity"])
    return p


def _normalised(flux, rest, at=5500.0):
    return flux / np.interp(at, rest, flux)


def _cyclotron(rest, field_mg, amplitude):
    """Cyclotron humps of a polar: harmonics of λ_c = 2π m_e c²/(e B) = 1.071e6 Å / B[MG]."""
    hump = np.zeros_like(rest)
    fundamental = 1.071e6 / field_mg
    for n in range(2, 12):
        centre = fundamental / n
        if 3500 < centre < 9500:
            hump += amplitude * (2.0 / n) * np.exp(-0.5 * ((rest - centre) / (0.04 * centre)) ** 2)
    return hump


def _render_cv(grid, params):
    df = 1 + params["redshift"]
    rest = grid.wavelength / df
    wd_params = {
        "teff": params["wd_teff"],
        "logg": params["wd_logg"],
        "metal_lines": False,
        "helium": -5.0,
        "broadening": 15.0,
        "redshift": params["redshift"],
    }
    wd, wd_continuum = photosphere_flux(grid, wd_params)
    wd, wd_continuum = _normalised(wd, rest), wd_continuum / np.interp(5500.0, rest, wd)
    donor_params = {
        "teff": DWARF_TEFF[params["donor"]],
        "logg": 4.9,
        "broadening": 60.0,
        "redshift": params["redshift"],
    }
    donor = photosphere_flux(grid, donor_params)[0]
    donor = donor / np.interp(8000.0, rest, donor) * np.interp(8000.0, rest, wd)
    disc = disc_continuum = accretion_disc(rest, params["disc_teff"])
    kind = params["subtype"]
    if kind.startswith("outburst"):
        # The optically thick disc shows broad, rotationally smeared Balmer absorption.
        line_params = {
            "teff": params["disc_line_teff"],
            "logg": params["disc_line_logg"],
            "metal_lines": False,
            "broadening": params["disc_rotation"],
            "redshift": params["redshift"],
            "helium": -0.5,
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
    centres = [_CV_LINES[n] for n in names]
    ews = [params["emission"][n] for n in names]
    if kind.startswith("classical nova"):
        return total + gaussian_lines(
            grid.wavelength, reference, df, centres, ews, params["sigma_ejecta"]
        )
    if kind.startswith("magnetic"):
        broad = gaussian_lines(
            grid.wavelength, reference, df, centres, np.multiply(ews, 0.6), params["sigma_broad"]
        )
        narrow = gaussian_lines(
            grid.wavelength, reference, df, centres, np.multiply(ews, 0.4), params["sigma_narrow"]
        )
        return total + broad + narrow
    v_inner = max(params["v_outer"], 80.0) * np.sqrt(params["r_ratio"])
    return total + disc_lines(
        grid.wavelength, reference, df, centres, ews, v_inner, params["r_ratio"], 1.5
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
        conditions={"ebv": (0.0, 0.2)},
    ),
)
