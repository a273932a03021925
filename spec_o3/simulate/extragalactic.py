"""Extragalactic confusers: quasars over redshift, emission-line galaxies (star-forming and AGN)."""

import numpy as np

from .continuum import power_law
from .emission import gaussian_lines
from .profiles import smooth
from .registry import SpectralClass
from .stars import photosphere_flux

__all__ = ["EXTRAGALACTIC_CLASSES"]

# Quasar emission lines: vacuum rest wavelength (Å), rest equivalent width (Å) of the SDSS composite
# (Vanden Berk et al. 2001, AJ 122, 549, table 2, rounded), and FWHM relative to the broad Balmer
# lines (0 marks narrow forbidden lines).
_QSO_LINES = (
    ("Ly alpha", 1215.67, 75.0, 1.0),
    ("N V", 1240.14, 20.0, 1.0),
    ("Si IV+O IV]", 1399.8, 8.0, 1.0),
    ("C IV", 1549.06, 24.0, 1.0),
    ("He II 1640", 1640.42, 2.0, 1.0),
    ("C III]", 1908.73, 21.0, 1.0),
    ("Mg II", 2798.75, 32.0, 0.8),
    ("[Ne V]", 3426.84, 1.2, 0.0),
    ("[O II]", 3728.48, 1.6, 0.0),
    ("[Ne III]", 3869.85, 1.4, 0.0),
    ("H delta", 4102.89, 6.0, 1.0),
    ("H gamma", 4341.68, 13.0, 1.0),
    ("H beta", 4862.68, 46.0, 1.0),
    ("[O III] 4959", 4960.30, 4.4, 0.0),
    ("[O III] 5007", 5008.24, 13.0, 0.0),
    ("He I 5876", 5877.25, 6.0, 1.0),
    ("H alpha", 6564.61, 195.0, 1.0),
    ("[N II] 6583", 6585.27, 3.0, 0.0),
    ("[S II] 6716", 6718.29, 1.5, 0.0),
    ("[S II] 6731", 6732.67, 1.5, 0.0),
)


def _draw_quasar(rng):
    u = rng.uniform()
    z = (
        rng.uniform(0.08, 0.3)
        if u < 0.15
        else (rng.uniform(2.5, 4.2) if u > 0.85 else rng.uniform(0.3, 2.5))
    )
    fwhm = float(np.exp(rng.uniform(np.log(2000.0), np.log(9000.0))))
    scatter = rng.normal(0.0, 0.25, len(_QSO_LINES))
    p = {
        "subtype": "QSO" if z > 0.3 else "Seyfert 1",
        "redshift": float(z),
        "alpha_nu": float(rng.normal(-0.44, 0.3)),
        "fwhm_kms": fwhm,
        "line_scale": {
            name: float(10**s) for (name, *_), s in zip(_QSO_LINES, scatter, strict=True)
        },
        "oiii_scale": float(10 ** rng.uniform(-1.0, 0.5)),
        "feii": float(rng.uniform(0.0, 0.3)),
        "host_fraction": float(rng.uniform(0.2, 0.6)) if z < 0.3 else 0.0,
        "structure_seed": int(rng.integers(2**31)),
    }
    return p


def _lyman_forest(rest, z, seed):
    """Lyα forest and Lyman-limit absorption blueward of 1216 Å in the rest frame.

    The mean effective optical depth follows τ_eff = 0.0018 (1 + z_abs)^3.92 (Faucher-Giguère et al.
    2008); its fluctuations are a fixed-seed random field smoothed over a few absorbers.
    """
    transmission = np.ones_like(rest)
    forest = rest < 1215.67
    if not forest.any():
        return transmission
    z_abs = rest[forest] * (1 + z) / 1215.67 - 1
    tau_eff = 0.0018 * (1 + z_abs) ** 3.92
    rng = np.random.default_rng(seed)
    fluctuations = smooth(rng.gamma(0.5, 2.0, forest.sum()), 1.5)
    transmission[forest] = np.exp(-tau_eff * fluctuations)
    transmission[rest < 912.0] *= 0.1
    return transmission


def _render_quasar(grid, params):
    z = params["redshift"]
    rest = grid.wavelength / (1 + z)
    continuum = power_law(rest, params["alpha_nu"])
    # The Fe II pseudo-continuum and Balmer continuum ("small blue bump") near 2200-4000 Å, and
    # optical Fe II.
    bump = params["feii"] * (
        np.exp(-0.5 * ((rest - 3000.0) / 500.0) ** 2)
        + 0.5 * np.exp(-0.5 * ((rest - 4570.0) / 120.0) ** 2)
        + 0.4 * np.exp(-0.5 * ((rest - 5250.0) / 150.0) ** 2)
    )
    continuum = continuum * (1 + bump)
    sigma_broad = params["fwhm_kms"] / 2.3548
    flux = continuum.copy()
    for name, centre, ew, width in _QSO_LINES:
        scale = params["line_scale"][name] * (
            params["oiii_scale"] if name.startswith("[O III]") else 1.0
        )
        sigma = sigma_broad * width if width else 150.0
        flux += gaussian_lines(grid.wavelength, continuum, 1 + z, [centre], [ew * scale], sigma)
    if params["host_fraction"] > 0:
        host = photosphere_flux(
            grid, {"teff": 4800.0, "logg": 2.5, "broadening": 150.0, "redshift": z}
        )[0]
        host = host / np.interp(5500.0, rest, host) * np.interp(5500.0, rest, continuum)
        flux = (1 - params["host_fraction"]) * flux + params["host_fraction"] * host
    return flux * _lyman_forest(rest, z, params["structure_seed"])


# Narrow emission lines of galaxies: vacuum rest wavelengths.
_GALAXY_LINES = {
    "[O II] 3727": 3727.09,
    "[O II] 3729": 3729.88,
    "[Ne III] 3869": 3869.86,
    "H delta": 4102.89,
    "H gamma": 4341.68,
    "H beta": 4862.68,
    "[O III] 4959": 4960.30,
    "[O III] 5007": 5008.24,
    "He I 5876": 5877.25,
    "[O I] 6300": 6302.05,
    "[N II] 6548": 6549.86,
    "H alpha": 6564.61,
    "[N II] 6583": 6585.27,
    "[S II] 6716": 6718.29,
    "[S II] 6731": 6732.67,
}


def _draw_galaxy(rng):
    agn = rng.uniform() < 0.3
    u = rng.uniform()
    z = rng.uniform(0.005, 0.05) if u < 0.15 else rng.uniform(0.05, 0.45)
    gas_ebv = rng.uniform(0.0, 0.6)
    decrement = 2.86 * 10 ** (
        0.4 * 1.17 * gas_ebv
    )  # Hα/Hβ: case B (Osterbrock) reddened with CCM89
    if agn:
        n2 = rng.uniform(0.6, 2.0)
        o3 = rng.uniform(3.0, 12.0)
        s2, o1, o2 = rng.uniform(0.3, 0.8), rng.uniform(0.1, 0.4), rng.uniform(1.0, 4.0)
    else:
        o3 = 10 ** rng.uniform(-0.7, 0.8)
        n2 = float(np.clip(10 ** (-0.5 - 0.4 * np.log10(o3) + rng.normal(0, 0.15)), 0.03, 0.6))
        s2, o1, o2 = rng.uniform(0.15, 0.45), rng.uniform(0.01, 0.06), rng.uniform(1.0, 4.0)
    hb = 1.0 / decrement
    ratios = {
        "H alpha": 1.0,
        "H beta": hb,
        "H gamma": hb * 0.47,
        "H delta": hb * 0.26,
        "[N II] 6583": n2,
        "[N II] 6548": n2 / 3.0,
        "[O III] 5007": o3 * hb,
        "[O III] 4959": o3 * hb / 3.0,
        "[S II] 6716": s2 * 0.55,
        "[S II] 6731": s2 * 0.45,
        "[O I] 6300": o1,
        "[O II] 3727": o2 * hb * 0.45,
        "[O II] 3729": o2 * hb * 0.55,
        "[Ne III] 3869": o3 * hb * 0.1,
        "He I 5876": hb * 0.11,
    }
    return {
        "subtype": "AGN (Seyfert 2/LINER)" if agn else "star-forming",
        "redshift": float(z),
        "halpha_ew": float(10 ** rng.uniform(np.log10(5.0), np.log10(150.0))),
        "line_ratios": ratios,
        "young_fraction": float(rng.uniform(0.05, 0.6)),
        "dispersion_kms": float(rng.uniform(60.0, 200.0)),
        "gas_sigma_kms": float(rng.uniform(40.0, 120.0)),
        "gas_ebv": float(gas_ebv),
    }


def _render_galaxy(grid, params):
    z = params["redshift"]
    rest = grid.wavelength / (1 + z)
    broad = params["dispersion_kms"]
    old = photosphere_flux(grid, {"teff": 4600.0, "logg": 2.5, "broadening": broad, "redshift": z})[
        0
    ]
    young = photosphere_flux(
        grid, {"teff": 9000.0, "logg": 4.0, "broadening": broad, "redshift": z}
    )[0]
    old, young = old / np.interp(5500.0, rest, old), young / np.interp(5500.0, rest, young)
    stars = (1 - params["young_fraction"]) * old + params["young_fraction"] * young
    halpha_flux = params["halpha_ew"] * np.interp(6564.61, rest, stars)
    names = list(params["line_ratios"])
    fluxes = [params["line_ratios"][n] * halpha_flux for n in names]
    lines = gaussian_lines(
        grid.wavelength,
        np.ones_like(rest),
        1 + z,
        [_GALAXY_LINES[n] for n in names],
        fluxes,
        params["gas_sigma_kms"],
    )
    return stars + lines


EXTRAGALACTIC_CLASSES = (
    SpectralClass(
        "quasar",
        "Quasars and Seyfert 1 nuclei at z = 0.08-4.2 (broad redshifted lines, Lyα forest)",
        _draw_quasar,
        _render_quasar,
        pipeline_class="QSO",
        conditions={"ebv": (0.0, 0.1)},
    ),
    SpectralClass(
        "emission_line_galaxy",
        "Star-forming and AGN galaxies at z < 0.45 (narrow [O III], [N II], [S II], Balmer)",
        _draw_galaxy,
        _render_galaxy,
        pipeline_class="GALAXY",
        conditions={"ebv": (0.0, 0.1)},
    ),
)
