"""Tests of spec_o3.analysis.band_strength: molecular band depth against a pseudo-continuum."""

import astropy.units as u
import numpy as np
import pytest
from astropy.nddata import StdDevUncertainty
from specutils import Spectrum

import spec_o3  # noqa: F401  (registers the LAMOST reader)
from spec_o3.analysis import band_strength
from spec_o3.catalog import get_band

#: The LAMOST LRS grid: log-linear, 69 km/s per pixel, 3700-9100 Å.
LAMOST = 10 ** (3.5682 + 1e-4 * np.arange(3900))


def window(band, which):
    return tuple(band[f"{which}_{end}"].to_value(u.AA) for end in ("min", "max"))


def make_spectrum(band, depth, slope=0.0, noise=0.01, seed=0, redshift=0.0, mask=None):
    """A continuum ``1 + slope * (λ - 6000 Å)`` with the band window ``depth`` below it."""
    continuum = 1 + slope * (LAMOST - 6000)
    lo, hi = window(band, "band")
    inside = (LAMOST >= lo) & (LAMOST <= hi)
    flux = continuum * np.where(inside, 1 - depth, 1)
    flux += np.random.default_rng(seed).normal(0, noise, LAMOST.size)
    return Spectrum(
        flux=flux * u.Jy,
        spectral_axis=LAMOST * (1 + redshift) * u.AA,
        uncertainty=StdDevUncertainty(np.full(LAMOST.size, noise)),
        mask=mask,
    )


@pytest.fixture(scope="module")
def tio():
    return get_band("TiO_7054")


def test_depth_is_recovered(tio):
    depth = band_strength(make_spectrum(tio, 0.3, noise=0.001), "TiO_7054")
    assert depth.unit == u.dimensionless_unscaled
    assert depth.value == pytest.approx(0.3, abs=0.003)
    meta = depth.info.meta
    assert meta["band"] == "TiO_7054"
    assert meta["continuum"] == "blue and red"
    assert meta["n_pixels"] > 20
    assert meta["uncertainty"].unit == u.dimensionless_unscaled


def test_sloped_continuum_is_interpolated(tio):
    # A continuum falling by 20 % across the windows: linear interpolation removes the slope.
    depth = band_strength(make_spectrum(tio, 0.25, slope=-4e-4, noise=0.001), tio)
    assert depth.value == pytest.approx(0.25, abs=0.005)


def test_no_band_gives_zero_within_the_uncertainty(tio):
    depth = band_strength(make_spectrum(tio, 0.0), "TiO_7054")
    assert abs(depth.value) < 3 * depth.info.meta["uncertainty"].value


def test_uncertainty_matches_monte_carlo(tio):
    depths = [band_strength(make_spectrum(tio, 0.2, seed=seed), tio).value for seed in range(200)]
    reported = band_strength(make_spectrum(tio, 0.2), tio).info.meta["uncertainty"].value
    assert np.std(depths) == pytest.approx(reported, rel=0.12)


def test_without_uncertainty_the_noise_is_estimated(tio):
    spectrum = make_spectrum(tio, 0.2)
    bare = Spectrum(flux=spectrum.flux, spectral_axis=spectrum.spectral_axis)
    depth = band_strength(bare, tio)
    assert "estimated" in depth.info.meta["noise"]
    reference = band_strength(spectrum, tio).info.meta["uncertainty"]
    assert depth.info.meta["uncertainty"].value == pytest.approx(reference.value, rel=0.2)


def test_rest_frame(tio):
    z = 0.02
    spectrum = make_spectrum(tio, 0.3, noise=0.001, redshift=z)
    assert band_strength(spectrum, tio, redshift=z).value == pytest.approx(0.3, abs=0.003)
    assert band_strength(spectrum, tio).value < 0.2  # windows misplaced without the redshift


def test_masked_pixels_are_excluded(tio):
    lo, hi = window(tio, "band")
    inside = np.flatnonzero((LAMOST >= lo) & (LAMOST <= hi))
    spectrum = make_spectrum(tio, 0.3, noise=0.001)
    flux = spectrum.flux.value.copy()
    flux[inside[:5]] = 100.0  # junk the pipeline flagged
    mask = np.zeros(LAMOST.size, dtype=bool)
    mask[inside[:5]] = True
    masked = Spectrum(
        flux=flux * u.Jy,
        spectral_axis=spectrum.spectral_axis,
        uncertainty=spectrum.uncertainty,
        mask=mask,
    )
    depth = band_strength(masked, tio)
    assert depth.value == pytest.approx(0.3, abs=0.003)
    assert depth.info.meta["n_pixels"] == band_strength(spectrum, tio).info.meta["n_pixels"] - 5


def test_one_continuum_window_falls_back_to_a_flat_continuum(tio):
    blue_lo, blue_hi = window(tio, "blue_continuum")
    mask = (LAMOST >= blue_lo) & (LAMOST <= blue_hi)
    depth = band_strength(make_spectrum(tio, 0.3, noise=0.001, mask=mask), tio)
    assert depth.info.meta["continuum"] == "red only"
    assert depth.value == pytest.approx(0.3, abs=0.003)


def test_errors(tio):
    spectrum = make_spectrum(tio, 0.3)
    with pytest.raises(ValueError, match="unknown molecular band"):
        band_strength(spectrum, "TiO_9999")
    short = Spectrum(flux=spectrum.flux[:2000], spectral_axis=spectrum.spectral_axis[:2000])
    with pytest.raises(
        ValueError, match=r"band TiO_7054: the band window .* the data cover 3700.0–5862.7 Å"
    ):
        band_strength(short, "TiO_7054")
    lo, hi = window(tio, "band")
    masked = make_spectrum(tio, 0.3, mask=(LAMOST >= lo - 1) & (LAMOST <= hi + 1))
    with pytest.raises(ValueError, match="band window holds fewer than two valid pixels"):
        band_strength(masked, "TiO_7054")
    with pytest.raises(ValueError, match="band must be a name"):
        band_strength(spectrum, 7054)
    blue, red = window(tio, "blue_continuum"), window(tio, "red_continuum")
    no_continuum = ((LAMOST >= blue[0]) & (LAMOST <= blue[1])) | (LAMOST >= red[0])
    with pytest.raises(ValueError, match="neither continuum window"):
        band_strength(make_spectrum(tio, 0.3, mask=no_continuum), tio)


def test_real_m_dwarf_has_deeper_tio_than_an_a_star(real_data):
    folder = real_data / "lamost_lrs_dr1_grd349"
    m_dwarf = Spectrum.read(folder / "spec-55862-B6212_sp06-049.fits")  # pipeline class M0
    a_star = Spectrum.read(folder / "spec-55862-B6212_sp06-018.fits")  # pipeline class A4V
    for name in ("TiO_4761", "TiO_7054"):
        m, a = band_strength(m_dwarf, name), band_strength(a_star, name)
        combined = np.hypot(m.info.meta["uncertainty"], a.info.meta["uncertainty"])
        assert m - a > 3 * combined
        assert abs(a) < 0.05
