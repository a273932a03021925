"""The expert's fast paths give the numbers of the plain formulas they replace.

Every verdict and evidence text of a catalogue run must stay the same when the measurements are
made faster, so each shortcut is checked here against the formula it replaces on noisy spectra and
on the edge cases the shortcut reasons about (pixels exactly on a window edge, masked pixels, even
and odd pixel counts): bit for bit, or to rounding where a shortcut sums in another order (the
band windows, all summed in one pass).
"""

import pickle

import astropy.units as u
import numpy as np
import pytest
from astropy.nddata import InverseVariance
from specutils import Spectrum

from spec_o3.agent.expert_rules import Measurement, RuleTable
from spec_o3.agent.expert_rules.toolkit import (
    BANDS,
    H_BETA,
    LINES,
    TIO5,
    BandIndex,
    RestSpectrum,
    _depths,
    _LineProfile,
    _median,
    _side_means,
    make_measurement,
)
from spec_o3.analysis.arrays import pixel_widths, spectrum_arrays
from spec_o3.analysis.bands import window_means

#: The LAMOST LRS grid: log-linear, 69 km/s per pixel, 3700-9100 Å.
LAMOST = 10 ** (3.5682 + 1e-4 * np.arange(3900))


def noisy_spectrum(seed, mask=None):
    rng = np.random.default_rng(seed)
    flux = 1 + 0.3 * np.sin(LAMOST / 300) + rng.normal(0, 0.05, LAMOST.size)
    ivar = rng.uniform(100, 400, LAMOST.size)
    return Spectrum(
        flux=flux * u.Unit("1e-17 erg / (s cm2 Angstrom)"),
        spectral_axis=LAMOST * u.AA,
        uncertainty=InverseVariance(ivar * u.Unit("1e+34 cm4 Angstrom2 s2 / erg2")),
        mask=mask,
    )


# --- measurements --------------------------------------------------------------------------------


def test_a_measurement_keeps_floats_and_gives_quantities():
    tio5 = Measurement("TiO5", 0.312 * u.one, 0.004 * u.one)
    assert (tio5.number, tio5.error, tio5.unit) == (0.312, 0.004, u.one)
    assert tio5.value == 0.312 * u.one and tio5.uncertainty == 0.004 * u.one
    # the uncertainty is kept in the value's unit
    width = Measurement("H beta FWHM", 42 * u.AA, 0.2 * u.nm)
    assert width.error == pytest.approx(2.0) and width.uncertainty.unit == u.AA
    assert str(width) == "H beta FWHM 42 ± 2 Å"


def test_measurements_compare_hash_and_pickle_by_value_and_are_immutable():
    made = make_measurement("H beta EW", 12.5, 0.5, u.AA)
    given = Measurement("H beta EW", 12.5 * u.AA, 0.5 * u.AA)
    assert made == given and hash(made) == hash(given)
    assert made != make_measurement("H beta EW", 12.5, 0.6, u.AA)
    assert pickle.loads(pickle.dumps(made)) == made
    with pytest.raises(AttributeError, match="immutable"):
        made.number = 3.0


# --- rest-frame reduction and band windows -------------------------------------------------------


@pytest.mark.parametrize("masked", [False, True])
def test_band_window_means_equal_those_from_the_windows_own_pixel_widths(masked):
    mask = np.zeros(LAMOST.size, bool)
    if masked:
        mask[np.random.default_rng(1).choice(LAMOST.size, 400, replace=False)] = True
    arrays = spectrum_arrays(noisy_spectrum(0, mask))
    good = arrays.good & np.isfinite(arrays.sigma)
    # window edges on pixels and between them, at the grid's ends too; windows of 0, 1, 2 and 3
    # pixels; windows overlapping and given in any order
    bounds = [
        (LAMOST[0], LAMOST[30]),
        (5000.0, 5030.0),
        (LAMOST[500], LAMOST[531] - 1e-9),
        (7040.0, 7046.0),
        (LAMOST[-40], LAMOST[-1]),
        (LAMOST[10], LAMOST[11]),
        (LAMOST[12], LAMOST[14]),
        (LAMOST[7], LAMOST[7]),
        (4000.3, 4000.4),
        (LAMOST[-1], np.inf),
        (5010.0, 5020.0),
    ]
    lo, hi = np.array(bounds).T
    # All windows at once, and each on its own (summed with other alignments: equal to rounding).
    together = np.array(window_means(arrays, arrays.sigma, good, lo, hi))
    alone = np.hstack(
        [window_means(arrays, arrays.sigma, good, lo[[i]], hi[[i]]) for i in range(lo.size)]
    )
    np.testing.assert_allclose(together, alone, rtol=1e-14)
    for (lo_i, hi_i), mean, variance, centre, n in zip(bounds, *together, strict=True):
        inside = (arrays.wavelength >= lo_i) & (arrays.wavelength <= hi_i)
        keep = inside & good
        assert n == keep.sum()
        if n < 2:
            assert np.isnan([mean, variance, centre]).all()
            continue
        width = pixel_widths(arrays.wavelength[inside])[good[inside]]
        total = width.sum()
        # Summed in another order than a dot product sums: equal to rounding.
        np.testing.assert_allclose(
            [mean, variance, centre],
            [
                np.dot(arrays.flux[keep], width) / total,
                np.dot(arrays.sigma[keep] ** 2, width**2) / total**2,
                np.dot(arrays.wavelength[keep], width) / total,
            ],
            rtol=1e-13,
        )


def test_the_expert_measures_its_bands_together_as_each_band_alone():
    rest = RestSpectrum(noisy_spectrum(6), 0.01)
    alone = RestSpectrum(noisy_spectrum(6), 0.01)
    measured = 0
    for band in BANDS:
        depth, single = band.depth(rest), _depths(alone, (band,))[0]
        assert (depth is None) == (single is None)
        if depth is not None:
            np.testing.assert_allclose(depth, single, rtol=1e-13, atol=1e-15)
            measured += 1
    assert measured > len(BANDS) / 2
    # a band of a task file's is measured on its own
    own = BandIndex("own", (5000.0, 5030.0), ((4960.0, 4990.0),))
    assert own.depth(rest) is not None and own.depth(rest) == _depths(alone, (own,))[0]


def test_the_noise_of_a_scaled_inverse_variance_is_converted_as_astropy_converts_it():
    spectrum = noisy_spectrum(2)
    ivar = spectrum.uncertainty.array * spectrum.uncertainty.unit
    expected = 1 / np.sqrt(ivar.to_value(spectrum.flux.unit**-2))
    assert np.array_equal(spectrum_arrays(spectrum).sigma, expected)
    rescaled = Spectrum(
        flux=spectrum.flux.to(u.erg / u.s / u.cm**2 / u.AA),
        spectral_axis=spectrum.spectral_axis,
        uncertainty=spectrum.uncertainty,
    )
    ivar_cgs = ivar.to_value(rescaled.flux.unit**-2)
    assert np.array_equal(spectrum_arrays(rescaled).sigma, 1 / np.sqrt(ivar_cgs))


def test_shared_measurements_are_made_once_per_reduction():
    rest = RestSpectrum(noisy_spectrum(3), 0.0)
    assert TIO5.depth(rest) is TIO5.depth(rest)
    assert H_BETA.absorption(rest) is H_BETA.absorption(rest)
    assert RestSpectrum(rest, 0.0) is rest
    with pytest.raises(ValueError, match="reduced at redshift 0.0"):
        RestSpectrum(rest, 0.1)


# --- line profiles -------------------------------------------------------------------------------


def _masked_mean(offset, normalized, noise, lo, hi):
    """The mean over |offset| in [lo, hi] by a mask, as the expert first computed it."""
    inside = (np.abs(offset) >= lo) & (np.abs(offset) <= hi)
    if inside.sum() < 2:
        return np.nan, np.nan
    return float(np.mean(normalized[inside])), float(
        np.sqrt(np.sum(noise[inside] ** 2)) / inside.sum()
    )


@pytest.mark.parametrize("center", [4862.0, 4861.5, 4862.7])
def test_profile_means_over_offset_ranges_equal_masked_means(center):
    rng = np.random.default_rng(4)
    # a uniform grid puts pixels exactly at the range edges for the integer centre
    wave = np.concatenate([np.arange(4800.0, 4925.0, 1.0), np.sort(rng.uniform(4925, 4930, 9))])
    normalized, noise = rng.normal(1, 0.1, wave.size), rng.uniform(0.01, 0.1, wave.size)
    profile = _LineProfile(wave, normalized, noise, center)
    for lo, hi in [(0, 4), (20, 40), (4, 10), (0, 2.5), (1.0, 1.0), (0, 0), (60, 70), (0, 100)]:
        expected = _masked_mean(wave - center, normalized, noise, lo, hi)
        # running sums: the masked sums to rounding; nan where both are
        np.testing.assert_allclose(profile.mean(lo, hi), expected, rtol=1e-13)
    for half_width in (6.0, 15.0, 0.5):
        near = np.abs(wave - center) < half_width
        assert np.array_equal(
            np.flatnonzero(near), np.arange(wave.size)[profile.within(half_width)]
        )


def test_lines_are_normalised_as_by_their_continuum_evaluated_at_every_pixel():
    # All lines are normalised in one pass: each as by the plain formulas of that line alone.
    parities = set()
    for seed, line in enumerate(LINES):
        rest = RestSpectrum(noisy_spectrum(seed), 0.0003 * seed)
        wave, flux, sigma = rest.window(line.left[0], line.right[1])
        parities.add(wave.size % 2)  # the median of an odd and of an even count of pixels
        profile = line._normalized(rest)
        sides = []
        for lo, hi in (line.left, line.right):
            inside = (wave >= lo) & (wave <= hi)
            error = np.sqrt(np.sum(sigma[inside] ** 2)) / inside.sum()
            sides.append((np.mean(wave[inside]), np.mean(flux[inside]), error))
        # The side windows of all lines, summed in one pass: as each window's sums, to rounding.
        together = _side_means(rest, LINES)[LINES.index(line)]
        np.testing.assert_allclose(together, sides, rtol=1e-14)
        # From those means on, the profile is the plain formulas' to the last bit.
        (x1, y1, e1), (x2, y2, e2) = together
        level = y1 + (y2 - y1) * (wave - x1) / (x2 - x1)
        inner = (wave > line.left[1]) & (wave < line.right[0])
        noise = np.hypot(sigma / level, max(e1, e2) / np.median(level))[inner]
        assert np.array_equal(profile.normalized, (flux / level)[inner])
        assert np.array_equal(profile.noise, noise)
        # its pixel widths are sliced from those of the whole spectrum, but for its edges
        assert np.array_equal(profile.step, pixel_widths(wave[inner]))
        assert profile.step_error == 2 * np.median(pixel_widths(wave[inner]))
    assert parities == {0, 1}


def test_coverage_counts_the_good_pixels_of_the_window():
    mask = np.zeros(LAMOST.size, bool)
    mask[500:700] = mask[::7] = True
    rest = RestSpectrum(noisy_spectrum(3, mask), 0.002)
    grid, (start, end) = rest._grid, rest.full_range
    for lo, hi in [(4000, 4500), (4950, 5300), (3000, 3800), (8900, 9500), (9300, 9400)]:
        pixels = np.count_nonzero((grid >= lo) & (grid < hi))
        good = np.count_nonzero((rest.wave >= lo) & (rest.wave < hi))
        inside = (min(hi, end) - max(lo, start)) / (hi - lo)
        expected = inside * good / pixels if pixels >= 2 else 0.0
        assert rest.coverage(lo, hi) == expected


def test_side_windows_on_a_grid_with_pixels_on_their_edges_take_the_lines_pixels():
    # A library grid of whole Å steps puts pixels exactly on the window edges: the right side
    # window ends before the line's right edge, as the line's own pixels do.
    wave = np.arange(3600.0, 9000.0)
    flux = 1 + 0.3 * np.sin(wave / 300) + np.random.default_rng(4).normal(0, 0.05, wave.size)
    rest = RestSpectrum(Spectrum(flux=flux * u.Jy, spectral_axis=wave * u.AA), 0.0)
    for line, together in zip(LINES, _side_means(rest, LINES), strict=True):
        window, window_flux, sigma = rest.window(line.left[0], line.right[1])
        assert window[-1] < line.right[1] <= window[-1] + 1
        sides = []
        for lo, hi in (line.left, line.right):
            inside = (window >= lo) & (window <= hi)
            error = np.sqrt(np.sum(sigma[inside] ** 2)) / inside.sum()
            sides.append((np.mean(window[inside]), np.mean(window_flux[inside]), error))
        np.testing.assert_allclose(together, sides, rtol=1e-14)


def test_median_is_numpys():
    rng = np.random.default_rng(5)
    for size in (1, 2, 3, 10, 11, 800, 3901):
        values = rng.normal(size=size)
        assert _median(values) == np.median(values)


# --- rule tables ---------------------------------------------------------------------------------


def test_compiled_conditions_evaluate_as_python_and_record_threshold_comparisons():
    table = RuleTable.from_dict(
        {
            "thresholds": {"deep": 0.2, "wide": 10.0},
            "rules": [
                {
                    "name": "band",
                    "when": "0 < depth < deep * 2 and not (n > 3 or -depth > max(deep, 1))",
                    "verdict": "YES",
                    "evidence": "{depth:.2f}",
                },
                {
                    "name": "width",
                    "when": "abs(width - wide) < 1",
                    "verdict": "YES",
                    "evidence": "w",
                },
                {"name": "default", "when": "True", "verdict": "NO", "evidence": "none"},
            ],
        }
    )
    copy = pickle.loads(pickle.dumps(table))
    cases = [
        ({"depth": 0.3, "n": 1, "width": 0.0}, "band", 0.25),
        ({"depth": 0.5, "n": 1, "width": 10.5}, "width", 0.2),
        ({"depth": 0.3, "n": 5, "width": 0.0}, "default", 0.25),
        ({"depth": -0.1, "n": 1, "width": 30.0}, "default", 0.95),
    ]
    for facts, rule, margin in cases:
        for t in (table, copy):
            decision = t.decide(facts)
            assert decision.rule.name == rule
            assert decision.margin == pytest.approx(margin)
