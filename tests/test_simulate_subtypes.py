"""The subtypes issue 14 added to the simulator: DO, DAZ and DA + dM white dwarfs, dwarf carbon
stars and M9-M10 giants, each shown by the feature that defines it.

The real spectra are the DO standard HZ 21 and o Ceti at minimum light (M9e III) of ``tests/data``,
degraded to LAMOST quality (the ``reference_star`` fixture); see :doc:`/simulate`, section
"Subtypes added for issue 14".
"""

import astropy.units as u
import numpy as np
import pytest

from spec_o3.agent.expert_rules.toolkit import TIO5, BandIndex, RestSpectrum, index_value
from spec_o3.analysis import band_strength
from spec_o3.simulate import CLASSES, simulate_spectrum
from spec_o3.simulate.grid import ModelGrid
from spec_o3.simulate.priors import Priors

CLEAN = {"ebv": 0.0, "calibration": np.zeros(5), "arm_step": 0.0, "dichroic_gap": None}
#: He II 4686 pseudo-equivalent width window (Å): line, blue and red continuum.
HE_II_4686 = ((4635.0, 4740.0), (4595.0, 4630.0), (4745.0, 4765.0))
#: A narrow Ca II K index between H8 and H epsilon.
CA_II_K = BandIndex("Ca II K", (3929.0, 3940.0), ((3918.0, 3926.0), (3943.0, 3951.0)))
NA_D = BandIndex("Na D", (5886.0, 5902.0), ((5860.0, 5875.0), (5910.0, 5925.0)))


def _pseudo_ew(spectrum, windows):
    """Equivalent width (Å, rest frame) against a straight line through two continuum windows."""
    (b0, b1), (c0, c1), (d0, d1) = windows
    wave = spectrum.spectral_axis.to_value(u.AA) / (1 + spectrum.meta.get("redshift", 0.0))
    flux = spectrum.flux.value

    def inside(lo, hi):
        return (wave > lo) & (wave < hi)

    blue, red, band = inside(c0, c1), inside(d0, d1), inside(b0, b1)
    continuum = np.interp(
        wave[band], [wave[blue].mean(), wave[red].mean()], [flux[blue].mean(), flux[red].mean()]
    )
    return float(np.trapezoid(1 - flux[band] / continuum, wave[band]))


def _depth(index, spectrum):
    return index.depth(RestSpectrum(spectrum, spectrum.meta["redshift"]))[0]


def test_do_white_dwarfs_show_he_ii_like_hz21_and_no_balmer_lines(reference_star):
    hz21 = _pseudo_ew(reference_star("wd", "HZ21", snr=100), HE_II_4686)
    assert 6.0 < hz21 < 7.5  # the real DO: 6.6-6.8 Å at S/N 100
    ews = []
    for seed in range(6):
        do = simulate_spectrum("white_dwarf", seed=seed, snr=100, subtype="DO", **CLEAN)
        assert do.meta["params"]["teff"] >= 45000.0 and do.meta["labels"]["white_dwarf"] == "YES"
        ews.append(_pseudo_ew(do, HE_II_4686))
        # The 4686 line without the hydrogen of a DA: H beta is no deeper than the noise.
        assert abs(_pseudo_ew(do, ((4840.0, 4885.0), (4800.0, 4830.0), (4895.0, 4920.0)))) < 1.0
    assert min(ews) > 1.5
    assert min(ews) < hz21 < max(ews)
    # A DA of the same temperature shows none of it.
    da = simulate_spectrum("white_dwarf", seed=0, snr=100, subtype="DA", teff=60000.0, **CLEAN)
    assert abs(_pseudo_ew(da, HE_II_4686)) < 1.0


def test_daz_white_dwarfs_add_narrow_ca_ii_k_to_a_da():
    for seed in range(4):
        daz = simulate_spectrum("white_dwarf", seed=seed, snr=200, subtype="DAZ", **CLEAN)
        twin = simulate_spectrum(
            "white_dwarf", seed=seed, snr=200, subtype="DAZ", calcium_ew=0.0, **CLEAN
        )
        ew = daz.meta["params"]["calcium_ew"]
        # About the EW spread over the 11 Å index window; at least a few per cent deep.
        assert _depth(CA_II_K, daz) - _depth(CA_II_K, twin) > 0.4 * min(ew, 2.0) / 11.0
        assert daz.meta["params"]["helium"] < -2  # on a hydrogen atmosphere


@pytest.mark.parametrize(("ratio", "m_dwarf_dominates"), [(0.1, False), (10.0, True)])
def test_white_dwarf_m_dwarf_pairs_show_both_stars(ratio, m_dwarf_dominates):
    pair = simulate_spectrum(
        "white_dwarf", seed=5, snr=100, subtype="DA+dM", companion_ratio=ratio, **CLEAN
    )
    companion = pair.meta["params"]["companion"]
    assert companion["subtype"].startswith("M") or companion["subtype"].startswith("sdM")
    tio = float(band_strength(pair, "TiO_7054").value)
    wave = pair.spectral_axis.to_value(u.AA)
    blue = pair.flux.value[(wave > 4000) & (wave < 4400)].mean()
    red = pair.flux.value[(wave > 6000) & (wave < 7000)].mean()
    if m_dwarf_dominates:
        assert tio > 0.08
    else:
        assert tio < 0.03 and blue > red  # the white dwarf's blue continuum
    # The DA's broad H beta is there either way (over 10 Å of EW even diluted).
    assert _pseudo_ew(pair, ((4800.0, 4925.0), (4700.0, 4740.0), (4990.0, 5030.0))) > 3.0
    labels = pair.meta["labels"]
    assert labels["white_dwarf"] == "YES"
    assert labels["m_giant"] == labels["cataclysmic_variable"] == "NO"


def test_irradiated_companions_have_narrow_balmer_emission():
    draws = [CLASSES["white_dwarf"].draw(np.random.default_rng(s), "DA+dM") for s in range(200)]
    lit = [d["companion"] for d in draws if "emission" in d["companion"]]
    assert 0.25 < len(lit) / len(draws) < 0.55
    assert all(c["subtype"].endswith("e") and c["emission"]["H alpha"] >= 1.0 for c in lit)


def test_dwarf_carbon_stars_have_swan_bands_and_dwarf_gravity():
    for seed in range(3):
        dwarf = simulate_spectrum("carbon_star", seed=seed, snr=200, subtype="dC", **CLEAN)
        giant = simulate_spectrum(
            "carbon_star", seed=seed, snr=200, subtype="dC", logg=2.0, **CLEAN
        )
        assert dwarf.meta["labels"]["carbon_star"] == "YES"
        assert float(band_strength(dwarf, "C2_5165").value) > 0.15  # K giants: 0.13
        # At dwarf gravity CN is weaker and Na D deeper than in the same star as a giant.
        cn_dwarf, cn_giant = (float(band_strength(s, "CN_7088").value) for s in (dwarf, giant))
        assert cn_dwarf < cn_giant - 0.1
        assert _depth(NA_D, dwarf) > _depth(NA_D, giant) + 0.01


@pytest.mark.parametrize(("subtype", "teff"), [("M9", 2670.0), ("M10", 2500.0)])
def test_latest_m_giants_are_cooler_with_deeper_tio_and_vo(subtype, teff, reference_star):
    late = simulate_spectrum("m_giant", seed=1, snr=200, subtype=subtype, **CLEAN)
    m8 = simulate_spectrum("m_giant", seed=1, snr=200, subtype="M8", **CLEAN)
    assert late.meta["subtype"].startswith(subtype + "III")
    assert abs(late.meta["params"]["teff"] - teff) < 250.0
    for band in ("VO_7400", "TiO_6159"):
        assert band_strength(late, band) > band_strength(m8, band)
    tio5 = index_value(TIO5, RestSpectrum(late, late.meta["redshift"])).value.value
    mira = reference_star("extra", "truecolortools/mira_minimum.txtA", snr=100)
    real = index_value(TIO5, RestSpectrum(mira, 0.0)).value.value
    assert 0.15 < real < 0.2  # o Ceti at minimum light (M9e III): 0.175
    assert abs(tio5 - real) < 0.07


def test_latest_m_giants_are_mostly_miras():
    draws = [CLASSES["m_giant"].draw(np.random.default_rng(s), "M10") for s in range(100)]
    miras = sum("emission" in d for d in draws)
    assert 65 <= miras <= 95


@pytest.mark.parametrize(
    ("kind", "new"), [("white_dwarf", ("DAZ", "DO", "DA+dM")), ("carbon_star", ("dC",))]
)
def test_new_subtypes_are_drawn_in_the_stated_proportions(kind, new):
    weights = Priors(kind).weights()
    total = sum(weights.values())
    rng = np.random.default_rng(14)
    drawn = [CLASSES[kind].draw(rng)["subtype"] for _ in range(3000)]
    for subtype in new:
        share = drawn.count(subtype) / len(drawn)
        expected = weights[subtype] / total
        assert abs(share - expected) < 4 * np.sqrt(expected * (1 - expected) / len(drawn))


def test_m9_m10_giants_are_drawn_in_the_stated_proportions():
    weights = Priors("m_giant").weights()
    rng = np.random.default_rng(14)
    drawn = [CLASSES["m_giant"].draw(rng)["subtype"].rstrip("e") for _ in range(3000)]
    share = sum(s in ("M9III", "M10III") for s in drawn) / len(drawn)
    expected = (weights["M9"] + weights["M10"]) / sum(weights.values())
    assert abs(share - expected) < 4 * np.sqrt(expected / len(drawn))


def test_a_pair_is_reproduced_from_its_seed_and_recorded_params():
    a = simulate_spectrum("white_dwarf", seed=9, snr=30, subtype="DA+dM")
    b = simulate_spectrum("white_dwarf", seed=9, snr=30, subtype="DA+dM")
    assert np.array_equal(a.flux, b.flux)
    params = a.meta["params"]
    assert {"companion", "companion_ratio"} <= set(params)
    rerendered = CLASSES["white_dwarf"].render(ModelGrid(), params)
    assert np.all(np.isfinite(rerendered))
