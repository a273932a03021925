"""S stars (task ss): real MS/S stars YES; M giants, CN-strong and barium giants NO."""

import pytest

from spec_o3.agent.expert_rules import assess
from spec_o3.agent.expert_rules.rules import builtin_rule_table
from spec_o3.agent.expert_rules.s_star import _zro_systems
from spec_o3.agent.expert_rules.toolkit import make_measurement
from spec_o3.simulate import simulate_spectrum

RULES = builtin_rule_table("s_star")

MILES_M3S = "0164"  # HD 30959, M3S
MILES_M2S = "0053"  # HD 7351, M2S
MILES_M45II = "0685"  # HD 172380, M4-5 II


@pytest.mark.parametrize("star", [MILES_M3S, MILES_M2S])
def test_real_ms_stars_are_yes(reference_star, star):
    assessment = assess(reference_star("miles", star, snr=30), "s_star")
    assert assessment.verdict == "YES"
    assert "ZrO 6474" in assessment.conclusion


def test_real_m_giant_is_no(reference_star):
    assert assess(reference_star("miles", MILES_M45II, snr=30), "s_star").verdict == "NO"


def _heads(**depths):
    return [make_measurement(f"ZrO {head} head depth", d, 0.01) for head, d in depths.items()]


def test_cn_like_steps_need_the_5551_head():
    # CN-strong K giants: steps at 6474 and 6345 but none at 5551.
    zro = _heads(**{"6474": 0.4, "5551": 0.0, "6345": 0.25})
    seen = [m for m in zro if m.value.value > 0.1]
    assert not _zro_systems(zro, seen, m_type=False, confirmation=None)
    # In an M-type (TiO) spectrum CN is negligible: 6474 with 6345 is an MS star.
    assert _zro_systems(zro, seen, m_type=True, confirmation=None)
    with_5551 = _heads(**{"6474": 0.3, "5551": 0.15, "6345": 0.05})
    assert _zro_systems(with_5551, with_5551[:2], m_type=False, confirmation=None)


def test_the_5551_and_6345_heads_confirm_6474_together_in_m_type_spectra_only():
    zro = _heads(**{"6474": 0.3, "5551": 0.05, "6345": 0.08})  # neither seen alone
    joint = make_measurement("ZrO 5551+6345 mean head depth", 0.12, 0.035)
    assert _zro_systems(zro, zro[:1], m_type=True, confirmation=joint)
    assert not _zro_systems(zro, zro[:1], m_type=False, confirmation=joint)
    assert not _zro_systems(zro, zro[:1], m_type=True, confirmation=None)


@pytest.mark.parametrize(("star", "seed"), [(MILES_M3S, 24), (MILES_M2S, 1)])
def test_real_ms_stars_at_snr_5_by_the_joint_heads(reference_star, star, seed):
    # At S/N 5 the 5551 and 6345 heads are each seen about one time in two; together they
    # confirm 6474, for the S-star task and against the M-giant task alike.
    spectrum = reference_star("miles", star, snr=5, seed=seed)
    assessment = assess(spectrum, "s_star")
    assert assessment.verdict == "YES"
    assert "ZrO 5551+6345 mean head depth" in assessment.conclusion
    assert assess(spectrum, "m_giant").verdict == "NO"


@pytest.mark.parametrize(
    ("kind", "subtype", "verdict"),
    [
        ("s_star", "MS", "YES"),
        ("s_star", "S", "YES"),
        ("s_star", "SC", "YES"),
        ("m_giant", "M8", "NO"),
        ("cn_strong_giant", None, "NO"),
        ("barium_star", None, "NO"),
    ],
)
def test_simulated_s_stars_and_confusers(kind, subtype, verdict):
    extra = {"subtype": subtype} if subtype else {}
    spectrum = simulate_spectrum(kind, seed=1, snr=40, **extra)
    assert assess(spectrum, "s_star", spectrum.meta["redshift"]).verdict == verdict


#: A simulated spectrum (class, seed, S/N) on which each rule of data/rules/s_star.yaml decides,
#: in table order.
RULE_CASES = {
    "zro_not_covered": ("quasar", 0, 30),
    "too_noisy": ("ab_star", 0, 4),
    "carbon_star": ("carbon_star", 0, 30),
    "ms_star": ("s_star", 2, 30),
    "s_star": ("s_star", 0, 30),
    "unconfirmed_zro": ("cn_strong_giant", 0, 30),
    "no_zro": ("ab_star", 0, 30),
}


def test_every_rule_has_a_case():
    assert [rule.name for rule in RULES.rules] == list(RULE_CASES)


@pytest.mark.parametrize(("rule", "case"), RULE_CASES.items())
def test_every_rule_decides_somewhere(rule, case):
    # No condition joins terms with and/or, so each rule that decides has read every fact the rules
    # above it name, and has filled its evidence: a missing fact would raise a KeyError.
    kind, seed, snr = case
    spectrum = simulate_spectrum(kind, seed=seed, snr=snr)
    assessment = assess(spectrum, "s_star", spectrum.meta["redshift"])
    assert assessment.rule == rule, assessment.conclusion
