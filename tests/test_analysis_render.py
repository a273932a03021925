"""Tests of spec_o3.analysis.render_window: the zoom view the vision-language model sees."""

import astropy.units as u
import numpy as np
import pytest
from astropy.modeling.models import Gaussian1D
from astropy.nddata import StdDevUncertainty
from astropy.table import QTable
from PIL import Image
from specutils import SpectralRegion, Spectrum

import spec_o3  # noqa: F401  (registers the LAMOST reader)
from spec_o3.analysis import identify_lines, render_window
from spec_o3.analysis.render import (
    _MARKER,
    _SHADE,
    _SHADE_ALPHA,
    _SHADE_EDGE,
    _SHADE_INK,
    _SPECTRUM,
)

LINE_CENTRE = 6564.61


def make_spectrum(mask=None, flux=None, redshift=0.0, n=1200):
    """Flat continuum with an H alpha absorption line, optionally redshifted, on a 0.5 Å grid."""
    wavelength = np.linspace(6300, 6900, n) * (1 + redshift)
    if flux is None:
        line = Gaussian1D(amplitude=0.6, mean=LINE_CENTRE * (1 + redshift), stddev=5)
        flux = 1 - line(wavelength) + np.random.default_rng(3).normal(0, 0.01, n)
    return Spectrum(
        flux=flux * u.Jy,
        spectral_axis=wavelength * u.AA,
        uncertainty=StdDevUncertainty(np.full(n, 0.01)),
        mask=mask,
    )


def colour_mask(image, colour, tolerance=0):
    pixels = np.asarray(image, dtype=int)
    return np.all(np.abs(pixels - np.array(colour)) <= tolerance, axis=-1)


def longest_gap(columns):
    """Longest run of columns without the colour, between the first and last with it."""
    present = np.flatnonzero(columns)
    return int(np.max(np.diff(present))) - 1 if present.size > 1 else 0


@pytest.fixture(scope="module")
def spectrum():
    return make_spectrum()


@pytest.mark.parametrize(
    ("region", "size"),
    [
        (None, (800, 480)),
        ((6540, 6580), (480, 320)),
        ((6500, 6600), (560, 360)),
        ((6400, 6800), (640, 400)),
        ((5000, 7000), (720, 440)),
    ],
)
def test_default_size_follows_window_width(spectrum, region, size):
    window = None if region is None else region * u.AA
    image = render_window(spectrum, window)
    assert isinstance(image, Image.Image)
    assert image.mode == "RGB"
    assert image.size == size


def test_explicit_size(spectrum):
    assert render_window(spectrum, size=(640, 300)).size == (640, 300)


def test_spectrum_is_drawn_in_blue_across_the_window(spectrum):
    image = render_window(spectrum, (6500, 6620) * u.AA)
    blue = colour_mask(image, _SPECTRUM)
    columns = blue.any(axis=0)
    # The line spans the whole axes box: from near the left to near the right of the image.
    assert columns[: image.width // 5].any() and columns[-image.width // 5 :].any()
    assert longest_gap(columns) <= 2
    # The absorption line dips far below the continuum: blue pixels cover much of the height.
    rows = np.flatnonzero(blue.any(axis=1))
    assert rows.max() - rows.min() > 0.5 * image.height


def test_masked_pixels_leave_a_gap():
    mask = np.zeros(1200, dtype=bool)
    mask[300:420] = True  # 6450-6510 Å, 10 % of the 6300-6900 Å window
    image = render_window(make_spectrum(mask=mask), (6300, 6900) * u.AA)
    columns = colour_mask(image, _SPECTRUM).any(axis=0)
    assert longest_gap(columns) > 0.08 * image.width


def test_non_finite_flux_leaves_a_gap():
    spectrum = make_spectrum()
    flux = spectrum.flux.value.copy()
    flux[300:420] = np.nan
    image = render_window(make_spectrum(flux=flux), (6300, 6900) * u.AA)
    assert longest_gap(colour_mask(image, _SPECTRUM).any(axis=0)) > 0.08 * image.width


def test_cosmic_ray_does_not_flatten_the_plot(spectrum):
    flux = spectrum.flux.value.copy()
    flux[700] = 500.0  # one pixel, 500 times the continuum
    clean = render_window(spectrum, (6500, 6700) * u.AA)
    spiked = render_window(make_spectrum(flux=flux), (6500, 6700) * u.AA)

    def depth_rows(image):
        rows = np.flatnonzero(colour_mask(image, _SPECTRUM).any(axis=1))
        return rows.max() - rows.min()

    # With the spike setting the scale the line would shrink to a few pixels.
    assert depth_rows(spiked) > 0.5 * depth_rows(clean)


def test_rest_frame_puts_the_line_where_the_rest_window_says():
    z = 0.05
    spectrum = make_spectrum(redshift=z)
    image = render_window(spectrum, (LINE_CENTRE - 50, LINE_CENTRE + 50) * u.AA, redshift=z)
    blue = colour_mask(image, _SPECTRUM)
    rows, columns = np.nonzero(blue)
    deepest = columns[rows == rows.max()].mean()
    plotted = np.flatnonzero(blue.any(axis=0))
    assert deepest == pytest.approx((plotted[0] + plotted[-1]) / 2, abs=0.04 * image.width)
    with pytest.raises(ValueError, match="rest frame"):
        render_window(spectrum, (7000, 7100) * u.AA, redshift=z)  # observed 7350-7455 Å


def test_region_units_are_converted(spectrum):
    in_angstrom = np.asarray(render_window(spectrum, (6500, 6620) * u.AA))
    in_nm = np.asarray(render_window(spectrum, (650, 662) * u.nm))
    in_region = np.asarray(render_window(spectrum, SpectralRegion(0.65 * u.um, 0.662 * u.um)))
    assert np.array_equal(in_angstrom, in_nm)
    assert np.array_equal(in_angstrom, in_region)
    # Frequencies work too (bounds in increasing frequency).
    hz = (6620 * u.AA).to(u.Hz, u.spectral()), (6500 * u.AA).to(u.Hz, u.spectral())
    assert render_window(spectrum, hz).size == (560, 360)


def test_several_subregions_are_shown_from_lowest_to_highest(spectrum):
    region = SpectralRegion([(6500 * u.AA, 6520 * u.AA), (6600 * u.AA, 6620 * u.AA)])
    expected = np.asarray(render_window(spectrum, (6500, 6620) * u.AA))
    assert np.array_equal(np.asarray(render_window(spectrum, region)), expected)


def test_line_markers_from_a_mapping_a_table_and_names(spectrum):
    window = (6500, 6620) * u.AA
    plain = render_window(spectrum, window)
    assert not colour_mask(plain, _MARKER[None]).any()
    marked = render_window(spectrum, window, lines={"H alpha": LINE_CENTRE * u.AA})
    assert colour_mask(marked, _MARKER[None]).sum() > 50
    by_name = render_window(spectrum, window, lines=["H alpha"])
    assert colour_mask(by_name, _MARKER[None]).sum() > 50
    found = identify_lines(spectrum, window)
    assert list(found["kind"]) == ["absorption"]
    measured = render_window(spectrum, window, lines=found)
    assert colour_mask(measured, _MARKER["absorption"]).sum() > 50
    catalogue = QTable({"name": ["H alpha"], "rest_wavelength": [LINE_CENTRE] * u.AA})
    assert colour_mask(render_window(spectrum, window, lines=catalogue), _MARKER[None]).any()


def test_markers_outside_the_window_are_skipped(spectrum):
    image = render_window(spectrum, (6500, 6540) * u.AA, lines={"H alpha": LINE_CENTRE * u.AA})
    assert not colour_mask(image, _MARKER[None]).any()


def test_title_changes_the_header_only(spectrum):
    window = (6500, 6620) * u.AA
    default = np.asarray(render_window(spectrum, window))
    titled = np.asarray(render_window(spectrum, window, title="H alpha core"))
    changed_rows = np.flatnonzero(np.any(default != titled, axis=(1, 2)))
    assert changed_rows.size and changed_rows.max() < 30


@pytest.mark.parametrize(
    ("region", "message"),
    [
        ((6600, 6500) * u.AA, "not below"),
        ((7000, 7100) * u.AA, "7000.0–7100.0 Å does not overlap the data; the data cover 6300.0"),
        ((6500.2, 6500.3) * u.AA, "valid pixel"),
        ((1, 2) * u.s, "spectral Quantity"),
        ((6500, 6600), "spectral Quantity"),
        ("6500-6600", "SpectralRegion or a"),
    ],
)
def test_bad_windows_raise(spectrum, region, message):
    with pytest.raises(ValueError, match=message):
        render_window(spectrum, region)


def test_other_bad_input_raises(spectrum):
    window = (6500, 6600) * u.AA
    with pytest.raises(ValueError, match="too small"):
        render_window(spectrum, window, size=(100, 50))
    with pytest.raises(ValueError, match="not in the catalogue"):
        render_window(spectrum, window, lines=["H omega"])
    with pytest.raises(ValueError, match="1-D spectrum"):
        render_window(Spectrum(flux=np.ones((2, 50)) * u.Jy, spectral_axis=np.arange(50) * u.AA))
    with pytest.raises(ValueError, match="cannot be converted to wavelength"):
        render_window(Spectrum(flux=np.ones(50) * u.Jy, spectral_axis=np.arange(50) * u.pix))
    with pytest.raises(ValueError, match="redshift"):
        render_window(spectrum, redshift=-1)


def test_real_lamost_spectrum(real_data):
    spectrum = Spectrum.read(real_data / "lamost_lrs_dr1_grd349/spec-55862-B6212_sp06-049.fits")
    whole = render_window(spectrum)
    assert whole.size == (800, 480)
    assert colour_mask(whole, _SPECTRUM).sum() > 2000
    zoom = render_window(spectrum, (5850, 5950) * u.AA, lines=["Na I D2", "Na I D1"])
    assert colour_mask(zoom, _SPECTRUM).any() and colour_mask(zoom, _MARKER[None]).any()


def shade_on(colour):
    """What a highlighted window turns ``colour`` into."""
    return Image.blend(
        Image.new("RGB", (1, 1), colour), Image.new("RGB", (1, 1), _SHADE), _SHADE_ALPHA
    ).getpixel((0, 0))


def columns_with(image, colour):
    return np.flatnonzero(colour_mask(image, colour).any(axis=0))


def test_highlight_shades_the_window_where_the_axis_puts_it(spectrum):
    window = (6540, 6590) * u.AA
    edges = {"": window[0], " ": window[1]}  # unlabelled markers at the window's edges
    image = render_window(spectrum, (6500, 6620) * u.AA, lines=edges, highlight=window)
    marked = columns_with(image, _MARKER[None])
    assert list(columns_with(image, _SHADE_EDGE)) == list(marked)
    shaded = columns_with(image, shade_on((255, 255, 255)))
    assert (shaded.min(), shaded.max()) == (marked[0] + 1, marked[1] - 1)
    # Translucent: the grid shows through; the spectrum is drawn on top.
    assert colour_mask(image, shade_on((222, 222, 222)))[:, shaded].any()
    assert colour_mask(image, _SPECTRUM)[:, shaded].any()
    assert colour_mask(image, _SHADE_INK).any()  # the number "1"


def test_highlight_in_the_rest_frame():
    z = 0.05
    spectrum = make_spectrum(redshift=z)
    window = (6540, 6590) * u.AA  # rest frame, like the region
    edges = {"": window[0], " ": window[1]}
    image = render_window(spectrum, (6500, 6620) * u.AA, redshift=z, lines=edges, highlight=window)
    assert list(columns_with(image, _SHADE_EDGE)) == list(columns_with(image, _MARKER[None]))


def test_highlight_forms_agree(spectrum):
    window = (6450, 6700) * u.AA
    first, second = (6500 * u.AA, 6520 * u.AA), (656 * u.nm, 658 * u.nm)

    def image(highlight):
        return np.asarray(render_window(spectrum, window, highlight=highlight))

    numbered = image([first, second])
    in_angstrom = (second[0].to(u.AA), second[1].to(u.AA))
    assert np.array_equal(numbered, image(SpectralRegion([first, in_angstrom])))
    assert np.array_equal(numbered, image([("1", first), ("2", second)]))
    # A window outside the view is left out but keeps its number.
    outside = (6000 * u.AA, 6100 * u.AA)
    assert np.array_equal(image([outside, first]), image([("2", first)]))
    # Unlabelled windows: shade and edges only.
    bare = image([(None, first), ("", second)])
    assert not colour_mask(bare, _SHADE_INK).any() and colour_mask(numbered, _SHADE_INK).any()
    assert np.array_equal(image(first), image([first]))


def test_labels_of_close_windows_do_not_overlap(spectrum):
    close = [("H alpha core", (6555, 6575) * u.AA), ("H alpha wings", (6540, 6590) * u.AA)]
    image = render_window(spectrum, (6500, 6620) * u.AA, highlight=close)
    rows = np.flatnonzero(colour_mask(image, _SHADE_INK).any(axis=1))
    assert rows.max() - rows.min() > 1.5 * 12  # two rows of 12 px labels


@pytest.mark.parametrize("highlight", ["6500-6600", [(6500, 6600)], [("core", "6500-6600")], 3])
def test_bad_highlight_raises(spectrum, highlight):
    with pytest.raises(ValueError, match="highlight must be"):
        render_window(spectrum, highlight=highlight)
