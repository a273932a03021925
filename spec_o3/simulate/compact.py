"""Compact objects: white dwarfs (DA, DB, DZ, DC, magnetic DA, DQ), hot subdwarfs and cataclysmic
variables (quiescent dwarf novae, magnetic systems, outbursts and nova-likes)."""

import numpy as np
from scipy.special import voigt_profile

from .continuum import accretion_disc, planck
from .emission import disc_lines, gaussian_lines
from .molecules import Chemistry, molecular_transmission
from .registry import SpectralClass
from .spectral_types import DWARF_TEFF, choose_subtype, log_uniform, radial_velocity_redshift
from .stars import PHOTOSPHERE_PARAMETERS, photosphere_flux

__all__ = ["COMPACT_CLASSES"]

_G_CGS = 6.674e-8


def _gravitational_redshift_kms(logg, mass_msun=0.6):
    """v = G M / (R c) with R from the gravity: the ~30–60 km/s shift of white-dwarf lines."""
    mass = mass_msun * 1.989e33
    radius = np.sqrt(_G_CGS * mass / 10**logg)
    return _G_CGS * mass / (radius * 2.998e10) / 1e5


def _wd_mass(logg):
    # The mass–gravity relation of carbon-oxygen white dwarfs near 10 000 K (Bergeron et al.
    # models), rounded.
    return float(np.interp(logg, [7.5, 8.0, 8.5, 9.0], [0.39, 0.60, 0.90, 1.18]))


# ---- white dwarfs
# ----------------------------------------------------------------------------------

_WD_SUBTYPES = {"DA": 0.58, "DB": 0.08, "DZ": 0.07, "DC": 0.12, "DAH": 0.08, "DQ": 0.07}


def _draw_white_dwarf(rng, subtype=None):
    subtype = choose_subtype(rng, _WD_SUBTYPES, subtype)
    logg = float(np.clip(rng.normal(8.0, 0.25), 7.3, 9.2))
    teff_range = {
        "DA": (6000, 80000),
        "DB": (12000, 32000),
        "DZ": (5000, 11000),
        "DC": (4000, 11000),
        "DAH": (7000, 30000),
        "DQ": (5000, 10000),
    }[subtype]
    p = {
        "subtype": subtype,
        "teff": log_uniform(rng, *teff_range),
        "logg": logg,
        "metal_lines": False,
        "broadening": 15.0,
    }
    if subtype in ("DB", "DZ", "DC", "DQ"):
        p["hydrogen"] = -5.0 if subtype != "DB" or rng.uniform() < 0.6 else -3.0
    else:
        p["helium"] = -5.0
    if subtype == "DAH":
        p["zeeman_field"] = log_uniform(rng, 1.0, 80.0)
    if subtype == "DZ":
        p["calcium_ew"] = log_uniform(rng, 5.0, 60.0)
        p["magnesium_ew"] = log_uniform(rng, 0.5, 6.0) if rng.uniform() < 0.5 else 0.0
        p["sodium_ew"] = (
            log_uniform(rng, 0.5, 8.0) if p["teff"] < 7000 and rng.uniform() < 0.5 else 0.0
        )
    if subtype == "DQ":
        p["c2_scale"] = log_uniform(rng, 0.3, 3.0)
    velocity = rng.normal(0.0, 40.0) + _gravitational_redshift_kms(logg, _wd_mass(logg))
    p["radial_velocity"] = float(velocity)
    p["redshift"] = radial_velocity_redshift(velocity)
    return p


def _dz_lines(wavelength, params, doppler_factor):
    """Pressure-broadened metal lines of a cool helium-atmosphere DZ: Ca II H&K, Mg I b, Na I D."""
    absorbed = np.ones_like(wavelength)
    groups = (
        (params["calcium_ew"], ((3934.78, 1.0), (3969.59, 0.8)), 6.0),
        (params["magnesium_ew"], ((5168.76, 0.3), (5174.12, 0.33), (5185.05, 0.37)), 2.0),
        (params["sodium_ew"], ((5891.58, 0.55), (5897.56, 0.45)), 3.0),
    )
    for ew, lines, gamma in groups:
        for centre, share in lines:
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
    if choose_subtype(rng, {"sdB": 0.7, "sdO": 0.3}, subtype) == "sdB":
        p = {
            "subtype": "sdB",
            "teff": float(rng.uniform(22000, 38000)),
            "logg": float(rng.uniform(5.2, 6.0)),
            "helium": float(rng.uniform(-3.0, -1.0)),
        }
    else:
        p = {
            "subtype": "sdO",
            "teff": float(rng.uniform(38000, 60000)),
            "logg": float(rng.uniform(5.3, 6.2)),
            "helium": float(rng.uniform(-1.0, 1.0)),
        }
    p.update(
        metallicity=-0.5,
        microturbulence=2.0,
        broadening=15.0,
        radial_velocity=float(rng.normal(0, 80)),
    )
    p["redshift"] = radial_velocity_redshift(p["radial_velocity"])
    return p


def _render_photosphere(grid, params):
    return photosphere_flux(grid, params)[0]


# ---- cataclysmic variables
# -------------------------------------------------------------------------

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
}
_CV_SUBTYPES = {
    "dwarf nova (quiescence)": 0.55,
    "magnetic (polar/IP)": 0.25,
    "outburst/nova-like": 0.2,
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
    else:
        lines = {"H alpha": rng.uniform(0.0, 10.0)}
        if rng.uniform() < 0.4:
            lines["He II 4686"] = rng.uniform(1.0, 5.0)
        p.update(
            wd_fraction=float(rng.uniform(0.0, 0.1)),
            donor_fraction=0.0,
            disc_teff=float(rng.uniform(20000, 45000)),
            disc_line_teff=float(rng.uniform(12000, 20000)),
            disc_line_logg=float(rng.uniform(3.5, 4.5)),
            disc_rotation=float(rng.uniform(400, 1200) * np.sin(inclination) + 200),
            v_outer=float(rng.uniform(300, 700) * np.sin(inclination) + 100),
            r_ratio=20.0,
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
    wd = _normalised(photosphere_flux(grid, wd_params)[0], rest)
    donor_params = {
        "teff": DWARF_TEFF[params["donor"]],
        "logg": 4.9,
        "broadening": 60.0,
        "redshift": params["redshift"],
    }
    donor = photosphere_flux(grid, donor_params)[0]
    donor = donor / np.interp(8000.0, rest, donor) * np.interp(8000.0, rest, wd)
    disc = accretion_disc(rest, params["disc_teff"])
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
        disc = disc * lines / continuum
    f_wd, f_donor = params["wd_fraction"], params["donor_fraction"]
    total = (1 - f_wd - f_donor) * disc + f_wd * wd + f_donor * donor
    if kind.startswith("magnetic"):
        total = total + _cyclotron(rest, params["field_mg"], params["cyclotron"])
    names = list(params["emission"])
    centres = [_CV_LINES[n] for n in names]
    ews = [params["emission"][n] for n in names]
    if kind.startswith("magnetic"):
        broad = gaussian_lines(
            grid.wavelength, total, df, centres, np.multiply(ews, 0.6), params["sigma_broad"]
        )
        narrow = gaussian_lines(
            grid.wavelength, total, df, centres, np.multiply(ews, 0.4), params["sigma_narrow"]
        )
        return total + broad + narrow
    v_inner = max(params["v_outer"], 80.0) * np.sqrt(params["r_ratio"])
    return total + disc_lines(
        grid.wavelength, total, df, centres, ews, v_inner, params["r_ratio"], 1.5
    )


COMPACT_CLASSES = (
    SpectralClass(
        "white_dwarf",
        "White dwarfs: DA over temperature, DB, DZ, DC, magnetic DA (DAH), DQ",
        _draw_white_dwarf,
        _render_white_dwarf,
        positive_for="white_dwarf",
        optional=PHOTOSPHERE_PARAMETERS,
        conditions={"ebv": (0.0, 0.05)},
    ),
    SpectralClass(
        "cataclysmic_variable",
        "Cataclysmic variables: quiescent dwarf novae (double-peaked disc lines), "
        "magnetic systems (strong He II 4686), outbursts and nova-likes (broad Balmer absorption)",
        _draw_cv,
        _render_cv,
        positive_for="cataclysmic_variable",
        optional=PHOTOSPHERE_PARAMETERS,
        conditions={"ebv": (0.0, 0.2)},
    ),
    SpectralClass(
        "hot_subdwarf",
        "Hot subdwarfs: sdB (Balmer, weak He I) and sdO (He II 4686)",
        _draw_hot_subdwarf,
        _render_photosphere,
        optional=PHOTOSPHERE_PARAMETERS,
        conditions={"ebv": (0.0, 0.15)},
    ),
)
