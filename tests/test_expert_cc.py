"""Carbon-star vetting: simulated C-R/N/J/H stars, low S/N, DQ white dwarfs, real K stars."""

import numpy as np
import pytest
from specutils import Spectrum

from spec_o3.agent.expert_rules import assess
from spec_o3.simulate import simulate_spectrum
from spec_o3.simulate.carbon import (
    VISIBLE_SWAN_DEPTH,
    _draw_carbon_star,
    _swan_depth,
)
from spec_o3.simulate.priors import Priors


def _verdict(spectrum):
    return assess(spectrum, "carbon_star", spectrum.meta["redshift"])


@pytest.mark.parametrize("subtype", ["C-R", "C-N", "C-J", "C-H"])
def test_every_drawn_carbon_star_shows_its_swan_bands(subtype):
    rng = np.random.default_rng(7)
    for _ in range(20):
        params = _draw_carbon_star(rng, subtype)
        assert _swan_depth(params, params["c_to_o"]) >= VISIBLE_SWAN_DEPTH * 0.999


def test_ch_stars_carry_the_cemp_carbon_plateau():
    rng = np.random.default_rng(3)
    lo, hi = Priors("carbon_star").range("carbon", "C-H")
    for _ in range(20):
        params = _draw_carbon_star(rng, "C-H")
        carbon = np.log10(params["c_to_o"]) + 8.69 + params["metallicity"]  # A(C)
        assert lo - 1e-6 <= carbon <= hi + 1e-6


@pytest.mark.parametrize("subtype", ["C-R", "C-H"])
def test_warm_carbon_stars_are_yes(subtype):
    result = _verdict(simulate_spectrum("carbon_star", seed=11, snr=30, subtype=subtype))
    assert result.verdict == "YES", result.conclusion
    assert "C2 5165 head depth" in result.conclusion


def test_deep_swan_bands_survive_low_snr_but_noise_does_not():
    cool = simulate_spectrum("carbon_star", seed=4, snr=3.5, subtype="C-N", teff=2900.0)
    result = _verdict(cool)
    assert result.verdict == "YES", result.conclusion
    assert "Despite the low S/N" in result.conclusion
    for kind in ("gk_giant", "m_giant", "cn_strong_giant", "low_snr"):
        assert _verdict(simulate_spectrum(kind, seed=4, snr=3.5)).verdict == "NO"


@pytest.mark.parametrize(("subtype", "seed"), [("C-R", 1), ("C-J", 1)])
def test_swan_heads_together_decide_at_snr_5(subtype, seed):
    # In the blue of a red carbon star (S/N 3-5 per pixel) each Swan head stands only 3-7 sigma
    # out; their mean depth is known to ~0.03 (these two were "too noisy" with two loud heads).
    star = simulate_spectrum("carbon_star", seed=seed, snr=4.5, subtype=subtype)
    result = _verdict(star)
    assert result.verdict == "YES", result.conclusion
    assert "C2 Swan mean head depth" in result.conclusion
    for kind in ("gk_giant", "cn_strong_giant", "barium_star", "s_star", "m_giant"):
        for confuser_seed in range(4):
            confuser = simulate_spectrum(kind, seed=confuser_seed, snr=4.5)
            assert _verdict(confuser).verdict == "NO", (kind, confuser_seed)


@pytest.mark.parametrize(("subtype", "seed"), [("C-N", 3), ("C-J", 17), ("C-R", 23)])
def test_loud_swan_bands_blanket_the_tio_6159_window(subtype, seed):
    # At S/N 4.5 the C2 6191 step is too narrow to prove that the depth in the TiO 6159 window is
    # carbon's; with the Swan and CN bands 5 sigma deep and no TiO 7054 head it must be ("too noisy"
    # before, the 6159 window read as TiO).
    star = simulate_spectrum("carbon_star", seed=seed, snr=4.5, subtype=subtype)
    result = _verdict(star)
    assert result.rule == "unmistakable_at_low_snr", result.conclusion
    assert "no TiO head" in result.conclusion


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_dq_white_dwarfs_are_not_carbon_stars(seed):
    dq = simulate_spectrum("white_dwarf", seed=seed, snr=40, subtype="DQ", teff=5500.0)
    result = _verdict(dq)
    assert result.verdict == "NO", result.conclusion


def test_barium_and_cn_strong_giants_are_not_carbon_stars():
    for kind in ("barium_star", "cn_strong_giant"):
        for seed in range(3):
            assert _verdict(simulate_spectrum(kind, seed=seed, snr=60)).verdict == "NO"


def test_real_late_k_stars_with_tio_6159_only_stay_no(real_data):
    # LAMOST K7 and M0 stars whose TiO 6159 head shows before TiO 7054 (no C2 step at 6191 Å).
    import spec_o3  # noqa: F401  (registers the survey readers)

    for name in ("spec-55862-B6212_sp06-074.fits", "spec-55862-B6212_sp06-232.fits"):
        spectrum = Spectrum.read(real_data / "lamost_lrs_dr1_grd349" / name)
        assert assess(spectrum, "carbon_star").verdict == "NO"


def test_one_swan_step_without_its_sister_heads_is_no():
    # A CN-strong giant with a single deep step at the 5165 head (a glitch): the other Swan heads
    # show nothing, so the step is not C2 even though CN red bands are present.
    giant = simulate_spectrum("cn_strong_giant", seed=2, snr=60)
    rest = giant.spectral_axis.to_value("AA") / (1 + giant.meta["redshift"])
    step = np.where((rest > 5130) & (rest < 5163), 0.65, 1.0)
    glitch = Spectrum(
        flux=giant.flux * step,
        spectral_axis=giant.spectral_axis,
        uncertainty=giant.uncertainty,
        mask=giant.mask,
    )
    result = assess(glitch, "carbon_star", giant.meta["redshift"])
    assert result.verdict == "NO", result.conclusion
    assert "C2 5165 head depth 0.3" in result.conclusion
