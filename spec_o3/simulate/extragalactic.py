"""Extragalactic confusers: quasars over redshift, emission-line galaxies (star-forming and AGN)."""

import numpy as np

from ..catalog import rest_wavelengths
from .constants import RYDBERG_H
from .continuum import power_law
from .emission import gaussian_lines
from .priors import Priors, observing_conditions, quasar_lines
from .profiles import smooth
from .registry import SpectralClass
from .stars import photosphere_flux

__all__ = ["EXTRAGALACTIC_CLASSES"]


def _redshift(rng, priors):
    """A redshift from the low, middle or high range, with the low and high shares of the table."""
    u = rng.uniform()
    if u < priors.value("low-redshift share"):
        return priors.draw(rng, "redshift (low)")
    if priors.has("high-redshift share") and u > 1 - priors.value("high-redshift share"):
        return priors.draw(rng, "redshift (high)")
    return priors.draw(rng, "redshift")


def _draw_quasar(rng):
    priors = Priors("quasar")
    z = _redshift(rng, priors)
    fwhm = priors.draw(rng, "FWHM")
    lines = quasar_lines()
    scatter = priors.get("line strength scatter")
    scatter = rng.normal(scatter.a, scatter.b, len(lines))
    # Below z = 0.3 the host galaxy shows: a Seyfert 1 nucleus rather than a quasar.
    seyfert = z < priors.range("redshift (low)")[1]
    p = {
        "subtype": "Seyfert 1" if seyfert else "QSO",
        "redshift": float(z),
        "alpha_nu": priors.draw(rng, "alpha_nu"),
        "fwhm_kms": fwhm,
        "line_scale": {name: float(10**s) for (name, *_), s in zip(lines, scatter, strict=True)},
        "oiii_scale": priors.draw(rng, "[O III] scale"),
        "feii": priors.draw(rng, "Fe II"),
        "host_fraction": priors.draw(rng, "host share") if seyfert else 0.0,
        "structure_seed": int(rng.integers(2**31)),
    }
    return p


def _lyman_forest(rest, z, seed):
    """Lyα forest and Lyman-limit absorption blueward of 1216 Å in the rest frame.

    The mean effective optical depth follows τ_eff = 0.0018 (1 + z_abs)^3.92 (Faucher-Giguère et al.
    2008); its fluctuations are a fixed-seed random field smoothed over a few absorbers.
    """
    ly_alpha = next(rest for name, rest, *_ in quasar_lines() if name == "Ly alpha")
    transmission = np.ones_like(rest)
    forest = rest < ly_alpha
    if not forest.any():
        return transmission
    z_abs = rest[forest] * (1 + z) / ly_alpha - 1
    tau_eff = 0.0018 * (1 + z_abs) ** 3.92
    rng = np.random.default_rng(seed)
    fluctuations = smooth(rng.gamma(0.5, 2.0, forest.sum()), 1.5)
    transmission[forest] = np.exp(-tau_eff * fluctuations)
    transmission[rest < 1e8 / RYDBERG_H] *= 0.1  # beyond the Lyman limit
    return transmission


def _render_quasar(grid, params):
    priors = Priors("quasar")
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
    for name, centre, ew, width in quasar_lines():
        scale = params["line_scale"][name] * (
            params["oiii_scale"] if name.startswith("[O III]") else 1.0
        )
        sigma = sigma_broad * width if width else priors.value("narrow line sigma")
        flux += gaussian_lines(grid.wavelength, continuum, 1 + z, [centre], [ew * scale], sigma)
    if params["host_fraction"] > 0:
        host = {
            "teff": priors.value("host teff"),
            "logg": priors.value("host logg"),
            "broadening": priors.value("host dispersion"),
            "redshift": z,
        }
        host = photosphere_flux(grid, host)[0]
        host = host / np.interp(5500.0, rest, host) * np.interp(5500.0, rest, continuum)
        flux = (1 - params["host_fraction"]) * flux + params["host_fraction"] * host
    return flux * _lyman_forest(rest, z, params["structure_seed"])


def _draw_galaxy(rng):
    priors = Priors("emission_line_galaxy")
    subtype = "AGN (Seyfert 2/LINER)" if priors.draw(rng, "AGN") else "star-forming"

    def draw(name):
        return priors.draw(rng, name, subtype)

    def value(name):
        return priors.value(name, subtype)

    z = _redshift(rng, priors)
    gas_ebv = draw("gas E(B-V)")
    # Hα/Hβ: case B (2.86, Osterbrock & Ferland 2006) reddened with CCM89 (k(Hβ) - k(Hα) = 1.17).
    decrement = 2.86 * 10 ** (0.4 * 1.17 * gas_ebv)
    if subtype.startswith("AGN"):
        n2 = draw("[N II] 6583 / H alpha")
        o3 = draw("[O III] 5007 / H beta")
    else:
        o3 = draw("[O III] 5007 / H beta")
        # The star-forming sequence of the BPT diagram: log [N II]/Hα ≈ -0.5 - 0.4 log [O III]/Hβ.
        scatter = draw("[N II] 6583 / H alpha scatter")
        n2 = float(np.clip(10 ** (-0.5 - 0.4 * np.log10(o3) + scatter), 0.03, 0.6))
    s2, o1, o2 = (draw(f"{n} / {by}") for n, by in _LOW_IONISATION)
    hb = 1.0 / decrement
    ratios = {
        "H alpha": 1.0,
        "H beta": hb,
        "H gamma": hb * value("H gamma / H beta"),
        "H delta": hb * value("H delta / H beta"),
        "[N II] 6583": n2,
        "[N II] 6548": n2 / value("[N II] 6583 / [N II] 6548"),
        "[O III] 5007": o3 * hb,
        "[O III] 4959": o3 * hb / value("[O III] 5007 / [O III] 4959"),
        "[S II] 6716": s2 * value("[S II] 6716 / [S II]"),
        "[S II] 6731": s2 * value("[S II] 6731 / [S II]"),
        "[O I] 6300": o1,
        "[O II] 3726": o2 * hb * value("[O II] 3726 / [O II]"),
        "[O II] 3729": o2 * hb * value("[O II] 3729 / [O II]"),
        "[Ne III] 3869": o3 * hb * value("[Ne III] 3869 / [O III] 5007"),
        "He I 5876": hb * value("He I 5876 / H beta"),
    }
    return {
        "subtype": subtype,
        "redshift": float(z),
        "halpha_ew": draw("H alpha EW"),
        "line_ratios": ratios,
        "young_fraction": draw("young share"),
        "dispersion_kms": draw("stellar dispersion"),
        "gas_sigma_kms": draw("gas dispersion"),
        "gas_ebv": float(gas_ebv),
    }


#: Low-ionisation line strengths drawn per galaxy: [S II] and [O I] against Hα, [O II] against Hβ.
_LOW_IONISATION = (("[S II]", "H alpha"), ("[O I] 6300", "H alpha"), ("[O II]", "H beta"))


def _render_galaxy(grid, params):
    z = params["redshift"]
    rest = grid.wavelength / (1 + z)
    priors = Priors("emission_line_galaxy")

    def population(age):
        photosphere = {
            "teff": priors.value(f"{age} population teff"),
            "logg": priors.value(f"{age} population logg"),
            "broadening": params["dispersion_kms"],
            "redshift": z,
        }
        flux = photosphere_flux(grid, photosphere)[0]
        return flux / np.interp(5500.0, rest, flux)

    old, young = population("old"), population("young")
    stars = (1 - params["young_fraction"]) * old + params["young_fraction"] * young
    halpha_flux = params["halpha_ew"] * np.interp(rest_wavelengths(["H alpha"])[0], rest, stars)
    names = list(params["line_ratios"])
    fluxes = [params["line_ratios"][n] * halpha_flux for n in names]
    lines = gaussian_lines(
        grid.wavelength,
        np.ones_like(rest),
        1 + z,
        rest_wavelengths(names),
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
        conditions=observing_conditions("quasar"),
    ),
    SpectralClass(
        "emission_line_galaxy",
        "Star-forming and AGN galaxies at z < 0.45 (narrow [O III], [N II], [S II], Balmer)",
        _draw_galaxy,
        _render_galaxy,
        pipeline_class="GALAXY",
        conditions=observing_conditions("emission_line_galaxy"),
    ),
)
