"""White-dwarf rules: DC/DZ/DQ and cool DA without Balmer wings, and stars they must not pass."""

import astropy.units as u
import pytest
from rule_tables import (
    assert_reads_only_measured_facts,
    assert_rule_decides,
    assert_table_is_sound,
)

from spec_o3.agent.expert_rules import assess, white_dwarf
from spec_o3.agent.expert_rules.white_dwarf import RULES
from spec_o3.simulate import simulate_spectrum


def _simulated(kind, **params):
    return simulate_spectrum(kind, **({"seed": 3, "snr": 40} | params))


def _verdict(kind, **params):
    spectrum = _simulated(kind, **params)
    return assess(spectrum, "white_dwarf", spectrum.meta["redshift"])


@pytest.mark.parametrize(
    ("subtype", "teff", "word"),
    [("DC", 4500.0, "DC"), ("DZ", 6000.0, "DZ"), ("DQ", 6000.0, "DQ"), ("DA", 7000.0, "cool DA")],
)
def test_white_dwarfs_without_broad_balmer_wings_are_yes(subtype, teff, word):
    assessment = _verdict("white_dwarf", subtype=subtype, teff=teff)
    assert assessment.verdict == "YES"
    assert word in assessment.conclusion


@pytest.mark.parametrize("kind", ["fgk_dwarf", "bhb_star", "ab_star", "hot_subdwarf"])
def test_ordinary_and_subdwarf_stars_stay_no(kind):
    assert _verdict(kind).verdict == "NO"


def test_a_noisy_featureless_spectrum_is_not_called_a_dc():
    spectrum = simulate_spectrum("white_dwarf", seed=3, snr=6, subtype="DC", teff=6000.0)
    assert assess(spectrum, "white_dwarf", spectrum.meta["redshift"]).verdict == "NO"


def test_dense_photospheres_keep_h_gamma_near_h_beta():
    from spec_o3.simulate.stark import hydrogen_lines, stark_opacity_parameters

    beta, gamma = hydrogen_lines()[1:3]
    white_dwarf, _ = stark_opacity_parameters((beta, gamma), 20000.0, 8.0)
    a_star, _ = stark_opacity_parameters((beta, gamma), 9500.0, 4.0)
    assert white_dwarf[1] / white_dwarf[0] > 2 * a_star[1] / a_star[0]


def _he_i_4471_ew(spectrum):
    from spec_o3.agent.expert_rules.toolkit import HE_I_4471, RestSpectrum

    rest = RestSpectrum(spectrum, spectrum.meta.get("redshift", 0.0))
    return HE_I_4471.absorption(rest)["ew"].value.value


def test_a_cool_db_shows_he_i_as_lds_749b_does(reference_star):
    # Helium atmospheres keep so little continuous opacity that He I stays strong down to ~12 kK.
    real = reference_star("wd", "LDS749B", snr=80)
    simulated = simulate_spectrum(
        "white_dwarf", seed=3, snr=80, subtype="DB", teff=13575.0, logg=8.05, hydrogen=-5.0
    )
    assert _he_i_4471_ew(real) > 3.0
    assert 0.67 < _he_i_4471_ew(simulated) / _he_i_4471_ew(real) < 1.5


@pytest.mark.parametrize("teff", [14000.0, 20000.0, 26000.0])
def test_dbs_are_white_dwarfs_whatever_their_he_i_troughs_do_to_the_balmer_windows(teff):
    # He I 4922/6678 troughs fill the red windows of H beta/H alpha: no Balmer "emission" veto.
    assessment = _verdict("white_dwarf", subtype="DB", teff=teff, hydrogen=-5.0)
    assert assessment.verdict == "YES"
    assert "DB" in assessment.conclusion


@pytest.mark.parametrize("star", ["drpy_okestan/fg138_31.dat", "drpy_okestan/fg60_54.dat"])
def test_real_cool_da_with_only_h_alpha_left_is_yes(reference_star, star):
    """G 138-31 and G 60-54 (Oke 1990): H alpha, hardly any H beta, no metal lines."""
    assessment = assess(reference_star("extra", star, snr=30), "white_dwarf")
    assert assessment.verdict == "YES" and "cool DA" in assessment.conclusion


@pytest.mark.parametrize(
    "nova",
    [
        "cne_external/GQMUSE_Williams_Optical_Spectra.csv",
        "cne_external/V4169SGE_Williams_Optical_Spectra.csv",
    ],
)
def test_novae_are_not_white_dwarfs(reference_star, nova):
    """Dips between their emission lines read as He I or broad Balmer absorption; He II 4686 in
    emission, which no white dwarf shows, rules them out."""
    assessment = assess(reference_star("extra", nova, snr=30), "white_dwarf")
    assert assessment.verdict == "NO" and "He II 4686 emission" in assessment.conclusion


def test_a_da_s_balmer_wings_do_not_fake_he_ii_emission(reference_star):
    """HZ 4's H beta and H gamma wings depress both side windows of He II 4686: the flux between
    reads as 3 Å of emission at S/N 50, which neither peaks nor reaches a nova's."""
    assessment = assess(reference_star("wd", "HZ4", snr=50), "white_dwarf")
    assert assessment.verdict == "YES" and assessment.rule == "broad_balmer", assessment.conclusion


@pytest.mark.parametrize("star", ["0777", "0272", "0058"])
def test_f_stars_with_h_alpha_are_no_fading_da(reference_star, star):
    """The colour and H alpha of a cool DA, but the metal lines of an F star, even metal-poor
    (MILES BD+04 4551 F7 [Fe/H] -1.6, BD+00 2058A sd:F, HD 8829 F0 V)."""
    assert assess(reference_star("miles", star, snr=15), "white_dwarf").verdict == "NO"


VAN_MAANEN_2 = "truecolortools/_wolf28_20210824_047_Leadbeater.fit"

#: A spectrum each rule of data/rules/white_dwarf.yaml decides, so that none is shadowed.
DECIDED_BY = {
    # the file's redshift puts a quasar's rest frame where its lines miss the windows looked at
    "extragalactic": lambda star: _simulated("quasar"),
    "balmer_not_covered": lambda star: _simulated("white_dwarf", subtype="DA")[5500 * u.AA :],
    "too_noisy": lambda star: _simulated("white_dwarf", subtype="DA", teff=20000.0, snr=3),
    "da_m_dwarf_pair": lambda star: _simulated("white_dwarf", subtype="DA+dM", seed=2),
    "emission_lines": lambda star: _simulated("cataclysmic_variable"),
    "dz": lambda star: _simulated("white_dwarf", subtype="DZ", teff=6000.0),
    # van Maanen 2 at S/N 10: its Ca II K is strong, no other feature can be ruled out alone.
    "dz_joint_absence": lambda star: star("extra", VAN_MAANEN_2, snr=10),
    "dq": lambda star: _simulated("white_dwarf", subtype="DQ", teff=6000.0),
    "metal_lines": lambda star: _simulated("gk_giant", seed=0),
    "broad_balmer": lambda star: star("wd", "GD71", snr=30),
    "cool_da": lambda star: _simulated("white_dwarf", subtype="DA", teff=7000.0),
    "fading_da": lambda star: star("extra", "drpy_okestan/fg138_31.dat", snr=30),
    "hot_da": lambda star: _simulated("white_dwarf", seed=1, snr=30, subtype="DA", teff=69000.0),
    "narrow_balmer_hot": lambda star: star("extra", "drpy_okestan/fhz44.dat", snr=30),
    "narrow_balmer": lambda star: _simulated("ab_star"),
    "do": lambda star: star("wd", "HZ21", snr=30),
    "db": lambda star: star("wd", "LDS749B", snr=30),
    # BD+25 4655 at S/N 30: He I 4471 of 3 Å, as a DB's, but He II 4686 beside it.
    "helium_sdo": lambda star: star("extra", "drpy_okestan/fbd25d4655.dat", snr=30),
    # A hot DB at S/N 5: He I 4471 EW ~14 Å at 20 sigma, the G band and Ca I unmeasurable.
    "db_low_snr": lambda star: _simulated("white_dwarf", seed=2, snr=5, subtype="DB"),
    # GD 248 at S/N 10: no feature can be ruled out alone, all of them together can.
    "dc_joint_absence": lambda star: star("extra", "drpy_okestan/fgd248.dat", snr=10),
    "weak_balmer": lambda star: _simulated("carbon_star", seed=7),
    # GD 248 at S/N 30: each feature is ruled out alone, though one shows at 3 sigma.
    "dc": lambda star: star("extra", "drpy_okestan/fgd248.dat", snr=30),
    "no_signature": lambda star: _simulated("carbon_star", seed=3),
}


def test_the_rule_table_is_sound():
    assert_table_is_sound(RULES, DECIDED_BY)


@pytest.mark.parametrize("rule", DECIDED_BY)
def test_every_rule_decides_some_spectrum(reference_star, rule):
    spectrum = DECIDED_BY[rule](reference_star)
    assert_rule_decides("white_dwarf", rule, spectrum, spectrum.meta.get("redshift", 0.0))


def test_the_rules_read_only_measured_facts(monkeypatch):
    spectrum = _simulated("white_dwarf", subtype="DA", teff=7000.0)
    assert_reads_only_measured_facts(
        monkeypatch, white_dwarf, "white_dwarf", spectrum, spectrum.meta["redshift"]
    )


@pytest.mark.parametrize(("cls", "seed"), [("m_giant", s) for s in range(4)] + [("fgk_dwarf", 3)])
def test_a_cool_star_is_not_ruled_out_by_fake_emission(cls, seed):
    """TiO, MgH and metal bands beside He II 4686 and H beta fake emission on a red continuum."""
    star = simulate_spectrum(cls, seed=seed, snr=40)
    assessment = assess(star, "wd", star.meta["redshift"])
    assert assessment.verdict == "NO" and assessment.rule != "emission_lines", assessment.conclusion


@pytest.mark.parametrize(
    ("library", "star"),
    [("extra", "drpy_okestan/fhz44.dat"), ("miles", "0777"), ("miles", "0058"), ("miles", "0272")],
)
def test_noise_does_not_make_an_ordinary_star_featureless(reference_star, library, star):
    """At S/N 7 the lines of the sdO HZ 44 and of F stars are each too noisy to be ruled in or
    out, but not all of them together: the joint absence does not take them for a DC or DZ."""
    for seed in range(3):
        assessment = assess(reference_star(library, star, snr=7, seed=seed), "white_dwarf")
        assert assessment.rule not in ("dc_joint_absence", "dz_joint_absence")


def test_noisy_narrow_balmer_lines_are_no_da(reference_star):
    """At S/N 5 noise in their cores inflates the effective widths of the sdO BD+28 4211's Balmer
    lines (46-54 Å) past a DA's, but none of them is wide (FWHM 5-11 Å)."""
    for seed in range(6):
        spectrum = reference_star("extra", "drpy_okestan/fbd28d4211.dat", snr=5, seed=seed)
        assessment = assess(spectrum, "white_dwarf")
        assert assessment.rule != "broad_balmer", assessment.conclusion


@pytest.mark.parametrize("kind", ["hot_subdwarf", "ab_star", "bhb_star", "be_star", "quasar"])
def test_no_low_snr_confuser_passes_for_a_db(kind):
    for seed in range(6):
        spectrum = _simulated(kind, seed=seed, snr=5)
        result = assess(spectrum, "white_dwarf", spectrum.meta["redshift"])
        assert result.rule != "db_low_snr", (kind, seed, result.conclusion)


@pytest.mark.parametrize("seed", range(3))
def test_a_hot_subdwarf_is_no_do_white_dwarf(seed):
    """An sdO's He II 4686 is as strong as a DO's but narrower (lower gravity) and comes with
    Balmer lines: a hot subdwarf, not a DO."""
    assessment = _verdict("hot_subdwarf", seed=seed, subtype="sdO", snr=30)
    assert assessment.verdict == "NO" and "hot subdwarf" in assessment.conclusion


@pytest.mark.parametrize("kind", ["m_dwarf", "dme_star", "cataclysmic_variable", "symbiotic"])
def test_an_m_dwarf_without_a_white_dwarf_is_no_pair(kind):
    """TiO with narrow or emission-filled Balmer lines (an M dwarf, a dMe star, a CV's companion, a
    symbiotic's giant) is no white dwarf + M dwarf pair: the pair needs broad Balmer lines too."""
    for seed in range(5):
        assert _verdict(kind, seed=seed, snr=20).rule != "da_m_dwarf_pair"


@pytest.mark.parametrize(
    ("wing", "core", "winged"),
    [
        # HD 23924 (A7V) at S/N 10: H beta wing/core 0.21, within the noise of an A star's 0.18
        ((0.11, 0.02), (0.54, 0.03), False),
        # GD 50 (DA) at S/N 10: H beta wing/core 0.52, far beyond it
        ((0.10, 0.01), (0.19, 0.02), True),
    ],
)
def test_wings_must_beat_an_a_stars_beyond_the_noise(wing, core, winged):
    from spec_o3.agent.expert_rules.toolkit import make_measurement

    profile = {
        "wing": make_measurement("H beta wing depth", *wing),
        "core": make_measurement("H beta core depth", *core),
    }
    assert wing[0] / core[0] > RULES["wing_to_core_da"]
    assert white_dwarf._winged(profile) is winged
