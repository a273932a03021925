"""M giants (task gm): real M giants YES, M dwarfs NO at any TiO strength; simulated late types."""

import astropy.units as u
import pytest
from rule_tables import (
    assert_reads_only_measured_facts,
    assert_rule_decides,
    assert_table_is_sound,
)
from specutils import Spectrum

from spec_o3.agent.expert_rules import assess, m_giant
from spec_o3.agent.expert_rules.m_giant import RULES, _cah1_limit
from spec_o3.simulate import simulate_spectrum

MILES_M45II = "0685"  # HD 172380, M4-5 II, TiO5 0.33
MILES_M5V = "0690"  # HD 173740, M5 V, TiO5 0.45
MILES_M6V = "0884"  # BD+19 5116B, M6 V, TiO5 0.44
MILES_M6E = "0890"  # G171-010, M6e, TiO5 0.28
#: SDSS BOSS fibre at RA 129.2, Dec +40.0 (r = 22.9, i - z = 1.7): its pipeline subclass
#: "M6III (148783)" names the best-fitting template star (HD 148783, g Her), not the object, which
#: PyHammer types L0; essentially no flux below 7000 Å.
SDSS_TEMPLATE_M6III = "sdss_boss_pyhammer_testcase/spec-3764-55514-0972.fits"


def test_real_late_m_giant_is_yes(reference_star):
    assessment = assess(reference_star("miles", MILES_M45II, snr=30), "m_giant")
    assert assessment.verdict == "YES"
    assert "CaH1" in assessment.conclusion


@pytest.mark.parametrize("star", [MILES_M5V, MILES_M6V, MILES_M6E])
def test_real_late_m_dwarfs_are_no(reference_star, star):
    assessment = assess(reference_star("miles", star, snr=30), "m_giant")
    assert assessment.verdict == "NO"
    assert "dwarf" in assessment.conclusion



def test_low_tio5_without_the_6159_head_is_not_called_tio(reference_star):
    # STELIB HD 92809, a WC star: its emission lines lower TiO5 to ~0.4 without any TiO band.
    assessment = assess(reference_star("stelib", "HD092809", snr=30), "m_giant")
    assert assessment.verdict == "NO"
    assert "is low, but no TiO 6159 head confirms it as TiO" in assessment.conclusion
    assert "too weak" not in assessment.conclusion

def test_sdss_fibre_typed_by_a_giant_template_is_not_confirmed(real_data):
    from spec_o3.io import read_survey_spectrum  # SDSS spec files too, with their redshift

    spectrum = read_survey_spectrum(real_data / SDSS_TEMPLATE_M6III)
    assert assess(spectrum, "m_giant").verdict == "NO"


def test_cah1_limit_follows_the_dwarf_locus():
    # MILES/STELIB/SDSS M dwarfs (TiO5, CaH1) lie below the limit, giants (CaH1 >= 1.01) above it.
    for tio5, cah1 in ((0.28, 0.83), (0.45, 0.78), (0.63, 0.86), (0.69, 0.82), (0.81, 0.90)):
        assert cah1 < _cah1_limit(tio5)
    assert _cah1_limit(0.3) < _cah1_limit(0.65) <= _cah1_limit(0.9) == RULES["cah1_giant"]


@pytest.mark.parametrize(
    ("kind", "subtype", "verdict"),
    [("m_giant", "M0", "YES"), ("m_giant", "M8", "YES"), ("m_dwarf", "M6", "NO")],
)
def test_simulated_m_stars(kind, subtype, verdict):
    spectrum = simulate_spectrum(kind, seed=1, snr=40, subtype=subtype)
    assert assess(spectrum, "m_giant", spectrum.meta["redshift"]).verdict == verdict


@pytest.mark.parametrize("snr", [10, 30])
def test_mira_at_minimum_is_a_giant_by_its_decisive_cah_excess(reference_star, snr):
    """o Ceti at minimum (M9e): TiO fills its CaH1 window (a dwarf-side 0.88) but its CaH2+CaH3
    lies far above any M dwarf's: the tie goes to the decisive index. At S/N 10 noise deepens
    two Swan head windows, which its TiO explains: no carbon veto."""
    mira = reference_star("extra", "truecolortools/mira_minimum.txtA", snr=snr)
    assessment = assess(mira, "gm")
    assert assessment.verdict == "YES" and "far on the giants' side" in assessment.conclusion


def test_a_wolf_rayet_wind_is_no_m_giant(reference_star):
    """The WC average's emission lines fake TiO5 0.53; its He II 4686 wind line gives it away."""
    wind = reference_star("extra", "truecolortools/WR_C.datA", snr=30)
    assessment = assess(wind, "gm")
    assert assessment.verdict == "NO" and "Wolf-Rayet" in assessment.conclusion


MIRA_MINIMUM = "truecolortools/mira_minimum.txtA"


def _simulated(kind, within=(3000, 10000), masked=(0, 0), **params):
    """A simulated star (seed 1, S/N 40 unless given) cut to the rest range ``within`` with the rest
    range ``masked`` masked (Å): a survey spectrum with short coverage or a gap."""
    spectrum = simulate_spectrum(kind, **({"seed": 1, "snr": 40} | params))
    rest = spectrum.spectral_axis.to_value(u.AA) / (1 + spectrum.meta["redshift"])
    keep = (rest > within[0]) & (rest < within[1])
    return Spectrum(
        flux=spectrum.flux[keep],
        spectral_axis=spectrum.spectral_axis[keep],
        uncertainty=spectrum.uncertainty[keep],
        mask=(spectrum.mask | ((rest > masked[0]) & (rest < masked[1])))[keep],
        meta=spectrum.meta,
    )


#: A spectrum each rule of data/rules/m_giant.yaml decides, so that none is shadowed by the rules
#: above it. The gravity votes tie only where one of the three indices is not covered.
DECIDED_BY = {
    "tio_not_covered": lambda star: _simulated("m_giant", within=(3700, 6000)),
    "too_noisy": lambda star: _simulated("m_giant", snr=3),
    "tio_too_weak": lambda star: _simulated("gk_giant"),
    # HD 3574, K5 III (TiO5 0.81 at S/N 50), whose noise at S/N 8 brings TiO5 below 0.71
    "tio_not_significant": lambda star: star("miles", "0024", snr=8, seed=39),
    "wolf_rayet_wind": lambda star: star("extra", "truecolortools/WR_C.datA", snr=30),
    "carbon_star": lambda star: _simulated("carbon_star", seed=8),  # a C-N star with TiO5 < 0.71
    "s_star": lambda star: star("miles", "0164", snr=30),  # HD 30959, M3S
    "no_gravity_index": lambda star: _simulated("m_giant", within=(6950, 7600)),
    "giant_gravity": lambda star: _simulated("m_giant", subtype="M0"),
    "decisive_giant_vote": lambda star: star("extra", MIRA_MINIMUM, snr=30),
    # an M1 V whose CaH2+CaH3 scatters to the giants' side, its Na I 8189 far on the dwarfs'
    "decisive_dwarf_vote": lambda star: _simulated("m_dwarf", masked=(6330, 6420), seed=30),
    "gravity_undecided": lambda star: _simulated("m_dwarf", within=(3700, 8000), seed=30),
    "dwarf_gravity": lambda star: _simulated("m_dwarf", subtype="M6"),
}


def test_the_rule_table_is_sound():
    assert_table_is_sound(RULES, DECIDED_BY)


@pytest.mark.parametrize("rule", DECIDED_BY)
def test_every_rule_decides_some_spectrum(reference_star, rule):
    spectrum = DECIDED_BY[rule](reference_star)
    assert_rule_decides("m_giant", rule, spectrum, spectrum.meta.get("redshift", 0.0))


def test_the_rules_read_only_measured_facts(monkeypatch):
    spectrum = _simulated("m_giant", subtype="M0")
    assert_reads_only_measured_facts(
        monkeypatch, m_giant, "m_giant", spectrum, spectrum.meta["redshift"]
    )
