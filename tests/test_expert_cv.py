"""The scripted expert's cataclysmic-variable rules on real library spectra and simulated CVs."""

import string
from functools import partial

import astropy.units as u
import numpy as np
import pytest
from specutils import Spectrum

from spec_o3.agent.expert_rules import assess, cataclysmic_variable
from spec_o3.agent.expert_rules.rules import builtin_rule_table
from spec_o3.agent.expert_rules.toolkit import decide
from spec_o3.simulate import simulate_spectrum

RULES = builtin_rule_table("cataclysmic_variable")

MILES_B8III = "0875"  # HD 220575
MILES_M6E = "0890"  # G171-010, dMe


def _with_lines(spectrum, lines):
    """Add Gaussian emission lines given as (centre Å, EW Å against the local flux, FWHM Å)."""
    wave = spectrum.spectral_axis.to_value(u.AA)
    flux = spectrum.flux.value.copy()
    for centre, ew, fwhm in lines:
        sigma = fwhm / 2.3548
        local = np.median(flux[np.abs(wave - centre) < 150])
        flux += local * ew * np.exp(-0.5 * ((wave - centre) / sigma) ** 2) / (sigma * 2.5066)
    return Spectrum(
        flux=flux * spectrum.flux.unit,
        spectral_axis=spectrum.spectral_axis,
        uncertainty=spectrum.uncertainty,
        mask=spectrum.mask,
    )


#: A polar: strong Balmer lines dominated by a narrow component, He II 4686 ~ 0.6 H beta.
POLAR = [(6564.6, 60, 9), (4862.7, 40, 8), (4687.0, 25, 8), (5877.3, 6, 8)]


def test_polar_with_narrow_balmer_and_he_ii_is_yes(reference_star):
    cv = assess(_with_lines(reference_star("miles", MILES_B8III), POLAR), "cv")
    assert cv.verdict == "YES", cv.conclusion
    assert "He II 4686" in cv.conclusion


def test_he_ii_like_bump_on_a_red_dme_star_is_no(reference_star):
    dme = _with_lines(reference_star("miles", MILES_M6E), POLAR)
    assessment = assess(dme, "cv")
    assert assessment.verdict == "NO", assessment.conclusion


@pytest.mark.parametrize("star", ["HD033133", "HD086161", "HD092740", "HD092809", "HD269698"])
def test_wolf_rayet_and_of_stars_are_not_cvs(reference_star, star):
    assessment = assess(reference_star("stelib", star), "cv")
    assert assessment.verdict == "NO", assessment.conclusion


def test_emission_cores_in_white_dwarf_troughs_make_a_cv(reference_star):
    white_dwarf = reference_star("wd", "GD71")
    assert assess(white_dwarf, "cv").verdict == "NO"
    cores = [(6564.6, 20, 25), (4862.7, 6, 15)]
    cv = assess(_with_lines(white_dwarf, cores), "cv")
    assert cv.verdict == "YES", cv.conclusion
    assert "core" in cv.conclusion


def test_simulated_outburst_shows_shallow_troughs_with_emission_cores():
    spectrum = simulate_spectrum(
        "cataclysmic_variable",
        seed=11,
        snr=40,
        subtype="outburst/nova-like",
        emission={"H alpha": 30.0, "H beta": 12.0, "H gamma": 6.0, "He II 4686": 5.0},
    )
    cv = assess(spectrum, "cv")
    assert cv.verdict == "YES", cv.conclusion
    measured = cv.measurements
    assert measured["H beta core above trough"].value > 0.05
    # Rotationally smeared disc absorption: far shallower than an A star's H beta (depth ~0.5).
    wave = spectrum.spectral_axis.to_value(u.AA)
    flux = spectrum.flux.value
    trough = flux[np.abs(wave - 4862.7 - 25) < 5].mean()
    continuum = flux[np.abs(wave - 5010) < 10].mean()
    assert trough / continuum > 0.6


#: Classical novae of the Open Nova Catalog (R. E. Williams' CTIO survey) in their nebular phase:
#: broad [O III] 4959/5007 beside broad H alpha.
NEBULAR_NOVAE = [
    "cne_external/V705CASC_Williams_Optical_Spectra.csv",
    "cne_external/V351PUPI_Williams_Optical_Spectra.csv",
    "cne_external/V443SCTG_Williams_Optical_Spectra.csv",
]


@pytest.mark.parametrize("nova", NEBULAR_NOVAE)
def test_a_nebular_nova_is_a_cv_for_its_broad_forbidden_lines(reference_star, nova):
    assessment = assess(reference_star("extra", nova, snr=30), "cv")
    assert assessment.verdict == "YES"
    assert "classical nova in its nebular phase" in assessment.conclusion


def test_a_nova_with_strong_he_ii_is_no_wolf_rayet(reference_star):
    """V2214 Oph: He II 4686 three times H beta, but H alpha six times He II: not a WN wind."""
    nova = reference_star("extra", "cne_external/V2214OPU_Williams_Optical_Spectra.csv", snr=30)
    assert assess(nova, "cv").verdict == "YES"


@pytest.mark.parametrize("average", ["truecolortools/WR_N.datA", "truecolortools/WR_C.datA"])
def test_wolf_rayet_averages_stay_no(reference_star, average):
    assessment = assess(reference_star("extra", average, snr=30), "cv")
    assert assessment.verdict == "NO" and "Wolf-Rayet" in assessment.conclusion


def test_narrow_o_iii_is_still_a_nebula():
    """A planetary nebula's [O III] is unresolved: the nova rule must not open for it."""
    wave = np.geomspace(3700, 9000, 3900)
    rng = np.random.default_rng(5)
    flux = 1 + 0.02 * rng.standard_normal(wave.size)
    nebula = _with_lines(
        Spectrum(flux=flux * u.Jy, spectral_axis=wave * u.AA),
        [(6564.6, 60, 4), (4862.7, 20, 4), (5008.2, 120, 4), (4960.3, 40, 4)],
    )
    assessment = assess(nebula, "cv")
    assert assessment.verdict == "NO" and "nebula" in assessment.conclusion


def test_simulated_nebular_novae_are_cvs_and_no_white_dwarfs():
    for seed in range(6):
        nova = simulate_spectrum("cataclysmic_variable", seed=seed, subtype="classical nova")
        assert nova.meta["subtype"] == "classical nova (nebular)"
        z = nova.meta["redshift"]
        assert assess(nova, "cv", z).verdict == "YES"
        assert assess(nova, "wd", z).verdict == "NO"


def _simulated(kind, seed, snr):
    spectrum = simulate_spectrum(kind, seed=seed, snr=snr)
    return spectrum, spectrum.meta["redshift"]


def _wolf_rayet():
    """A WN-like wind on a hot star: He II 4686 far above H beta and above 0.6 x H alpha."""
    hot = simulate_spectrum("hot_subdwarf", seed=0, snr=30)
    return _with_lines(hot, [(4687.0, 60, 12), (6562.0, 40, 12), (4862.7, 8, 10)]), 0.0


#: A spectrum on which each rule of data/rules/cataclysmic_variable.yaml decides, in table order.
RULE_CASES = {
    "extragalactic": partial(_simulated, "emission_line_galaxy", 0, 30),
    "too_noisy": partial(_simulated, "ab_star", 0, 4),
    "no_balmer_emission": partial(_simulated, "ab_star", 0, 30),
    "wolf_rayet": _wolf_rayet,
    "nebular_nova": partial(_simulated, "cataclysmic_variable", 4, 30),
    "forbidden_lines": partial(_simulated, "symbiotic", 6, 30),
    "magnetic": partial(_simulated, "cataclysmic_variable", 0, 30),
    "narrow_dme": partial(_simulated, "dme_star", 0, 30),
    "narrow_emission": partial(_simulated, "be_star", 1, 4),
    "balmer_and_helium": partial(_simulated, "cataclysmic_variable", 2, 30),
    "balmer_pair": partial(_simulated, "cataclysmic_variable", 3, 30),
    "halpha_and_hbeta_core": partial(_simulated, "cataclysmic_variable", 2, 4),
    "disc_in_outburst": partial(_simulated, "cataclysmic_variable", 17, 30),
    "cool_chromosphere": partial(_simulated, "dme_star", 3, 30),
    "single_line": partial(_simulated, "be_star", 0, 4),
}


def test_every_rule_has_a_case():
    assert [rule.name for rule in RULES.rules] == list(RULE_CASES)


@pytest.mark.parametrize("rule", RULE_CASES)
def test_every_rule_decides_somewhere(rule):
    spectrum, redshift = RULE_CASES[rule]()
    assessment = assess(spectrum, "cv", redshift)
    assert assessment.rule == rule, assessment.conclusion


def test_the_rules_read_only_measured_facts(monkeypatch):
    facts = {}

    def recording(book, table, overview, measured, noisy_region):
        facts.update(measured)
        return decide(book, table, overview, measured, noisy_region)

    monkeypatch.setattr(cataclysmic_variable, "decide", recording)
    spectrum, redshift = RULE_CASES["magnetic"]()
    assess(spectrum, "cv", redshift)
    fields = {
        field.split(".")[0].split("[")[0]
        for rule in RULES.rules
        for _, field, _, _ in string.Formatter().parse(rule.evidence)
        if field
    }
    known = facts.keys() | RULES.thresholds.keys() | {"min_snr", "too_noisy"}
    assert RULES.fact_names | fields <= known


@pytest.mark.parametrize(("cls", "seed"), [("dme_star", 2), ("dme_star", 14), ("symbiotic", 0)])
def test_m_star_bands_are_not_wolf_rayet_wind_lines(cls, seed):
    """TiO around 5800 Å depresses the C IV 5806 side windows of an M star: the flux between reads
    as emission, which counts only off a red continuum."""
    star = simulate_spectrum(cls, seed=seed, snr=30)
    assessment = assess(star, "cv", star.meta["redshift"])
    assert assessment.verdict == "NO" and assessment.rule != "wolf_rayet", assessment.conclusion


def test_a_real_flare_star_is_a_chromosphere_not_a_wind(reference_star):
    assessment = assess(reference_star("extra", "truecolortools/YZ_CMi.txtA", snr=30), "cv")
    assert assessment.verdict == "NO" and "Wolf-Rayet" not in assessment.conclusion


def test_a_be_star_is_not_called_a_dme_star():
    """A TiO-like step on a hot star's continuum is no TiO: Be stars are not dMe stars."""
    for seed in range(40):
        star = simulate_spectrum("be_star", seed=seed, snr=30)
        assert assess(star, "cv", star.meta["redshift"]).rule != "narrow_dme", seed
