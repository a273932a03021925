"""The scripted-astronomer backend: verdicts on real spectra, message format, robustness."""

import astropy.units as u
import numpy as np
import pytest
from astropy.nddata import InverseVariance
from specutils import Spectrum

from spec_o3.agent import Inspector, parse_response
from spec_o3.agent.backends import get_backend
from spec_o3.agent.backends.expert import ExpertPolicy
from spec_o3.agent.expert_rules import assess
from spec_o3.simulate.grid import lamost_wavelength


def _real(real_data, path):
    from spec_o3.io import read_survey_spectrum  # SDSS spec files too, with their redshift

    return read_survey_spectrum(real_data / path)


def _with_flux(spectrum, flux):
    return Spectrum(
        flux=flux * spectrum.flux.unit,
        spectral_axis=spectrum.spectral_axis,
        uncertainty=spectrum.uncertainty,
        mask=spectrum.mask,
    )


LAMOST_K3 = "lamost_lrs_dr1_grd349/spec-55862-B6212_sp06-012.fits"
LAMOST_A4V = "lamost_lrs_dr1_grd349/spec-55862-B6212_sp06-018.fits"
LAMOST_BE = "lamost_lrs_podondra_emission/spec-56351-GAC108N13V4_sp14-219.fits"
SDSS_M4V = "sdss_boss_pyhammer_testcase/spec-1123-52882-0065.fits"
MILES_M3S = "0164"  # HD 30959, MS/S star
MILES_M45II = "0685"  # HD 172380, M4-5 II
MILES_A0V = "0698"  # HD 174567
MILES_M6E = "0890"  # G171-010, dMe
MILES_B8III = "0875"  # HD 220575


# ---------------------------------------------------------------------------------------------
# Verdicts on real spectra (and, for the classes with no real spectrum offline, real spectra with
# the class's features imposed)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("star", ["GD71", "HZ4", "LTT3218", "LDS749B"])
def test_white_dwarfs_are_yes(reference_star, star):
    assessment = assess(reference_star("wd", star), "white_dwarf")
    assert assessment.verdict == "YES", assessment.conclusion


def test_a_stars_are_not_white_dwarfs(reference_star, real_data):
    assert assess(reference_star("miles", MILES_A0V), "wd").verdict == "NO"
    lamost_a = _real(real_data, LAMOST_A4V)
    assessment = assess(lamost_a, "white_dwarf", lamost_a.meta["redshift"])
    assert assessment.verdict == "NO"
    assert "too narrow" in assessment.conclusion


def test_m_giant_yes_and_m_dwarf_no(reference_star, real_data):
    giant = assess(reference_star("stelib", "HD012479"), "m_giant")  # M2 III with red coverage
    assert giant.verdict == "YES", giant.conclusion
    dwarf_spectrum = _real(real_data, SDSS_M4V)
    dwarf = assess(dwarf_spectrum, "gm", dwarf_spectrum.meta["redshift"])
    assert dwarf.verdict == "NO"
    assert "dwarf" in dwarf.conclusion
    assert {"CaH1", "Na I 8189"} <= set(dwarf.measurements)


def test_s_star_yes_and_m_giant_no(reference_star):
    assert assess(reference_star("miles", MILES_M3S), "s_star").verdict == "YES"
    m_giant = reference_star("miles", MILES_M45II)
    assert assess(m_giant, "s_star").verdict == "NO"
    assert assess(m_giant, "m_giant").verdict == "YES"  # MILES ends at 7410 Å: no Na I, CaH decides


def _imposed_c2(spectrum, depth=0.35, heads=(4737.0, 5165.0, 5636.0)):
    """Multiply in blue-degraded C2 Swan bands: full depth at each head, fading 120 Å blueward."""
    wave = spectrum.spectral_axis.to_value(u.AA)
    absorption = np.ones_like(wave)
    for head in heads:
        inside = (wave <= head) & (wave > head - 120)
        absorption[inside] *= 1 - depth * (1 - (head - wave[inside]) / 120)
    return _with_flux(spectrum, spectrum.flux.value * absorption)


def test_carbon_star_yes_only_with_c2_bands(real_data):
    k_star = _real(real_data, LAMOST_K3)
    assert assess(k_star, "cc").verdict == "NO"
    carbon = assess(_imposed_c2(k_star), "carbon_star")
    assert carbon.verdict == "YES", carbon.conclusion
    assert "C2 5165 head" in carbon.conclusion


def test_c2_swan_delta_v_minus_2_is_not_mistaken_for_tio(real_data):
    # N-type carbon stars show the C2 (0,2) and (1,3) heads (6192.9, 6123.8 Å vacuum) across the TiO
    # 6159 window; the blue-degraded step at 6193 Å must not veto the carbon star as TiO.
    k_star = _real(real_data, LAMOST_K3)
    carbon = assess(
        _imposed_c2(k_star, heads=(4737.0, 5165.0, 5636.0, 6123.8, 6192.9)), "carbon_star"
    )
    assert carbon.verdict == "YES", carbon.conclusion
    assert "TiO heads are present" not in carbon.conclusion


def test_m_stars_are_not_carbon_stars(reference_star, real_data):
    dwarf = _real(real_data, SDSS_M4V)
    assert assess(dwarf, "carbon_star").verdict == "NO"
    assert assess(reference_star("miles", MILES_M45II), "carbon_star").verdict == "NO"


def _imposed_emission(spectrum, lines):
    """Add Gaussian emission lines given as (centre Å, equivalent width Å, FWHM Å)."""
    wave = spectrum.spectral_axis.to_value(u.AA)
    flux = spectrum.flux.value.copy()
    continuum = np.nanmedian(flux)
    for centre, ew, fwhm in lines:
        sigma = fwhm / 2.3548
        profile = np.exp(-0.5 * ((wave - centre) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
        flux += continuum * ew * profile
    return _with_flux(spectrum, flux)


def test_cataclysmic_variable_needs_broad_balmer_and_helium(reference_star):
    hot = reference_star("miles", MILES_B8III)
    disc = [(6564.6, 45, 35), (4862.7, 25, 30), (5877.3, 8, 30), (4687.0, 8, 30)]
    cv = assess(_imposed_emission(hot, disc), "cataclysmic_variable")
    assert cv.verdict == "YES", cv.conclusion
    narrow = [(6564.6, 20, 6), (4862.7, 5, 5)]  # a Be star's narrow emission
    assert assess(_imposed_emission(hot, narrow), "cv").verdict == "NO"
    with_oiii = disc + [(5008.2, 40, 6), (4960.3, 13, 6)]
    galaxy = assess(_imposed_emission(hot, with_oiii), "cv")
    assert galaxy.verdict == "NO" and "Forbidden" in galaxy.conclusion
    assert assess(_imposed_emission(hot, disc), "cv", redshift=0.1).verdict == "NO"


def test_real_emission_line_stars_are_not_cvs(reference_star, real_data):
    be_star = _real(real_data, LAMOST_BE)
    assert assess(be_star, "cv", be_star.meta["redshift"]).verdict == "NO"
    assert assess(reference_star("miles", MILES_M6E), "cv").verdict == "NO"


# ---------------------------------------------------------------------------------------------
# The policy in the loop
# ---------------------------------------------------------------------------------------------


def _run(spectrum, task, **options):
    inspector = Inspector(ExpertPolicy(), render_images=False, **options)
    episode = inspector.start(spectrum, task, redshift=0.0)
    return inspector.run_episodes([episode])[0], episode


def test_messages_follow_the_released_format(reference_star):
    result, episode = _run(reference_star("stelib", "HD012479"), "m_giant")
    assert result.error is None and result.verdict == "YES"
    steps = result.trajectory.steps
    assert len(steps) >= 3
    for step in steps[:-1]:
        parsed = parse_response(step.text)
        assert parsed.think and not parsed.errors and not parsed.answers
        (call,) = parsed.tool_calls
        assert call.name == "spectral_visualization_tool"
        assert set(call.arguments) == {"wavelength_range", "label"}
        assert step.error is None  # every window lies inside the data
    final = parse_response(steps[-1].text)
    assert final.answers == ["YES"] and final.think and not final.tool_calls
    assert "TiO5" in result.evidence
    assert steps[-1].measurements["policy"]["TiO5"]["unit"] == ""


def test_get_backend_builds_the_expert():
    assert isinstance(get_backend("expert"), ExpertPolicy)


def test_same_spectrum_same_words_other_spectra_other_words(reference_star):
    spectrum = reference_star("miles", MILES_M3S)
    first, _ = _run(spectrum, "s_star")
    again, _ = _run(spectrum, "s_star")
    assert [s.text for s in first.trajectory.steps] == [s.text for s in again.trajectory.steps]
    openings = set()
    for seed in range(6):
        result, _ = _run(reference_star("miles", MILES_M3S, seed=seed), "s_star")
        openings.add(result.trajectory.steps[0].text.split(".")[0])
    assert len(openings) > 1


def test_low_snr_is_no_and_says_why(reference_star):
    noisy = reference_star("stelib", "HD012479", snr=2)
    result, _ = _run(noisy, "m_giant")
    assert result.verdict == "NO"
    assert "too low" in result.evidence


def test_windows_outside_the_data_are_named_not_called(reference_star):
    result, _ = _run(reference_star("miles", MILES_M45II), "m_giant")  # MILES stops at 7410 Å
    first = result.trajectory.steps[0].text
    assert "Na I 8183/8195" in first and "outside the data" in first
    assert all(step.error is None for step in result.trajectory.steps)
    assert all(step.window.upper <= 7410 * u.AA for step in result.trajectory.steps if step.window)


def test_masked_and_nan_windows(reference_star):
    spectrum = reference_star("wd", "GD71")
    flux = spectrum.flux.value.copy()
    wave = spectrum.spectral_axis.to_value(u.AA)
    flux[(wave > 4000) & (wave < 4450)] = np.nan  # H gamma and H delta windows lost
    mask = spectrum.mask | ((wave > 6400) & (wave < 6730))  # H alpha masked
    gappy = Spectrum(
        flux=flux * spectrum.flux.unit,
        spectral_axis=spectrum.spectral_axis,
        uncertainty=spectrum.uncertainty,
        mask=mask,
    )
    result, _ = _run(gappy, "white_dwarf")
    assert result.error is None
    assert all(step.error is None for step in result.trajectory.steps)
    labels = [step.label for step in result.trajectory.steps if step.label]
    assert "H beta" in labels and "H alpha" not in labels


def test_turn_limit_is_respected(reference_star):
    result, _ = _run(reference_star("stelib", "HD012479"), "m_giant", max_turns=2)
    assert result.error is None
    assert len(result.trajectory.steps) == 2


def test_spectrum_without_uncertainty():
    rng = np.random.default_rng(3)
    wave = lamost_wavelength()
    flux = (1 + 0.02 * rng.standard_normal(wave.size)) * u.Jy
    assessment = assess(Spectrum(flux=flux, spectral_axis=wave), "white_dwarf")
    assert assessment.verdict == "NO"


def test_unknown_task_is_refused():
    from spec_o3.tasks import DiagnosticWindow, Task, register_task, unregister_task

    register_task(
        Task(
            "be_star",
            "be",
            "Be star",
            ("H alpha emission",),
            (DiagnosticWindow("H alpha", 6480 * u.AA, 6650 * u.AA),),
        )
    )
    try:
        wave = np.linspace(4000, 8000, 500) * u.AA
        flat = Spectrum(
            flux=np.ones(500) * u.Jy,
            spectral_axis=wave,
            uncertainty=InverseVariance(np.full(500, 1e4) / u.Jy**2),
        )
        with pytest.raises(ValueError, match="no rules for task 'be_star'"):
            Inspector(ExpertPolicy(), render_images=False).run(flat, "be", redshift=0)
    finally:
        unregister_task("be_star")


def test_a_failed_plot_is_acknowledged(reference_star):
    import random

    from spec_o3.agent.backends.expert import _Narration
    from spec_o3.tasks import get_task

    assessment = assess(reference_star("wd", "GD71"), "white_dwarf")
    narration = _Narration(assessment, get_task("wd"), random.Random(0), max_windows=3)
    text, measurements = narration.message(1, tool_error="window holds 1 valid pixel")
    assert "could not be drawn (window holds 1 valid pixel)" in text
    assert parse_response(text).tool_calls or parse_response(text).answers
    assert measurements
