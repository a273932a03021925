"""Tests of spec_o3.analysis.identify_lines: real detections, measured against a local continuum."""

import astropy.units as u
import numpy as np
import pytest
from astropy.modeling.models import Gaussian1D, Lorentz1D
from astropy.nddata import InverseVariance, StdDevUncertainty, VarianceUncertainty
from astropy.table import QTable
from specutils import SpectralRegion, Spectrum

import spec_o3  # noqa: F401  (registers the LAMOST reader)
from spec_o3.analysis import identify_lines
from spec_o3.catalog import atomic_lines
from spec_o3.io import read_for_inspection
from spec_o3.simulate import simulate_spectrum

#: The LAMOST LRS grid: log-linear, 69 km/s per pixel, 3700-9100 Å.
LAMOST = 10 ** (3.5682 + 1e-4 * np.arange(3900))
COLUMNS = [
    "name",
    "rest_wavelength",
    "observed_wavelength",
    "kind",
    "significance",
    "equivalent_width",
    "fwhm",
    "blend",
]
H_BETA, H_ALPHA = 4862.68, 6564.61


def make_spectrum(profile=None, noise=0.01, seed=0, uncertainty="stddev", redshift=0.0, mask=None):
    """Unit continuum times (1 + profile) with Gaussian noise, on the LAMOST grid."""
    wavelength = LAMOST * (1 + redshift)
    shape = 0.0 if profile is None else profile(LAMOST)
    flux = 1 + shape + np.random.default_rng(seed).normal(0, noise, LAMOST.size)
    sigma = np.full(LAMOST.size, noise)
    kinds = {
        "stddev": StdDevUncertainty(sigma),
        "variance": VarianceUncertainty(sigma**2),
        "ivar": InverseVariance(sigma**-2),
        None: None,
    }
    return Spectrum(
        flux=flux * u.Jy,
        spectral_axis=wavelength * u.AA,
        uncertainty=kinds[uncertainty],
        mask=mask,
    )


def only(table, name):
    rows = table[table["name"] == name]
    assert len(rows) == 1, f"{name} not found once in\n{table}"
    return rows[0]


@pytest.mark.parametrize("stddev", [1.5, 4.0, 12.0])
@pytest.mark.parametrize("amplitude", [-0.5, 0.8])
def test_gaussian_line_is_recovered(stddev, amplitude):
    table = identify_lines(make_spectrum(Gaussian1D(amplitude, H_BETA, stddev)))
    row = only(table, "H beta")
    true_ew = -amplitude * stddev * np.sqrt(2 * np.pi)
    assert row["kind"] == ("absorption" if amplitude < 0 else "emission")
    assert row["equivalent_width"].to_value(u.AA) == pytest.approx(true_ew, rel=0.05)
    assert row["fwhm"].to_value(u.AA) == pytest.approx(2.3548 * stddev, rel=0.1)
    assert row["observed_wavelength"].to_value(u.AA) == pytest.approx(H_BETA, abs=0.3)
    assert row["rest_wavelength"] == H_BETA * u.AA
    assert row["significance"] > 30
    assert row["blend"] == ""


def test_lorentzian_line_width_and_most_of_its_equivalent_width():
    fwhm = 20.0
    table = identify_lines(make_spectrum(Lorentz1D(-0.5, H_BETA, fwhm)))
    row = only(table, "H beta")
    assert row["fwhm"].to_value(u.AA) == pytest.approx(fwhm, rel=0.1)
    # Wings beyond the measuring window are not counted: about 80 % of the total.
    true_ew = 0.5 * np.pi * fwhm / 2
    assert 0.7 * true_ew < row["equivalent_width"].to_value(u.AA) < true_ew


def test_table_layout_and_units():
    table = identify_lines(make_spectrum(Gaussian1D(-0.5, H_ALPHA, 4)))
    assert isinstance(table, QTable)
    assert table.colnames == COLUMNS
    for column in ("rest_wavelength", "observed_wavelength", "equivalent_width", "fwhm"):
        assert table[column].unit == u.AA
    assert table.meta["noise"] == "from the spectrum's uncertainty"
    assert table.meta["min_significance"] == 5


def test_nothing_detected_gives_an_empty_table_with_the_columns():
    table = identify_lines(make_spectrum(), (6400, 6700) * u.AA)
    assert len(table) == 0
    assert table.colnames == COLUMNS
    assert table["equivalent_width"].unit == u.AA


def test_significance_scales_with_signal_to_noise():
    line = Gaussian1D(-0.2, H_ALPHA, 5)
    noisy = only(identify_lines(make_spectrum(line, noise=0.02)), "H alpha")
    clean = only(identify_lines(make_spectrum(line, noise=0.01)), "H alpha")
    assert clean["significance"] / noisy["significance"] == pytest.approx(2, rel=0.25)


def test_pure_noise_gives_no_detection():
    """Stated false-alarm level: no detection at 5 sigma in hundreds of pure-noise spectra."""
    detections = sum(len(identify_lines(make_spectrum(seed=seed))) for seed in range(200))
    assert detections == 0


@pytest.mark.parametrize("uncertainty", ["variance", "ivar"])
def test_uncertainty_classes_agree(uncertainty):
    line = Gaussian1D(-0.3, H_ALPHA, 5)
    reference = identify_lines(make_spectrum(line))
    other = identify_lines(make_spectrum(line, uncertainty=uncertainty))
    assert np.allclose(other["significance"], reference["significance"])
    assert np.allclose(other["equivalent_width"], reference["equivalent_width"])


def test_without_uncertainty_the_noise_is_estimated_and_said_so():
    line = Gaussian1D(-0.3, H_ALPHA, 5)
    table = identify_lines(make_spectrum(line, uncertainty=None))
    assert "estimated" in table.meta["noise"]
    with_sigma = only(identify_lines(make_spectrum(line)), "H alpha")
    # DER_SNR recovers white noise; the line's own curvature raises the estimate a little
    # around it, so the significance comes out somewhat lower (conservative), never higher.
    ratio = only(table, "H alpha")["significance"] / with_sigma["significance"]
    assert 0.7 < ratio < 1.05


def test_rest_frame():
    z = 0.05
    spectrum = make_spectrum(Gaussian1D(-0.5, H_ALPHA, 4), redshift=z)
    assert len(identify_lines(spectrum, line_list=["H alpha"])) == 0
    row = only(identify_lines(spectrum, redshift=z), "H alpha")
    assert row["observed_wavelength"].to_value(u.AA) == pytest.approx(H_ALPHA * (1 + z), abs=0.5)
    # Equivalent width and FWHM are rest-frame values.
    assert row["equivalent_width"].to_value(u.AA) == pytest.approx(0.5 * 4 * 2.5066, rel=0.05)
    assert row["fwhm"].to_value(u.AA) == pytest.approx(2.3548 * 4, rel=0.1)
    window = (6500, 6600) * u.AA  # rest frame
    assert list(identify_lines(spectrum, window, redshift=z)["name"]) == ["H alpha"]


def test_masked_pixels_are_excluded():
    line = Gaussian1D(-0.5, H_ALPHA, 4)
    spiked = make_spectrum(line)
    flux = spiked.flux.value.copy()
    spike = np.searchsorted(LAMOST, H_BETA)
    flux[spike] = 30.0  # a cosmic ray right on H beta
    mask = np.zeros(LAMOST.size, dtype=bool)
    mask[spike] = True
    masked = Spectrum(
        flux=flux * u.Jy,
        spectral_axis=spiked.spectral_axis,
        uncertainty=spiked.uncertainty,
        mask=mask,
    )
    table = identify_lines(masked)
    assert list(table["name"]) == ["H alpha"]
    clean = identify_lines(make_spectrum(line))
    ew = only(table, "H alpha")["equivalent_width"].value
    assert ew == pytest.approx(only(clean, "H alpha")["equivalent_width"].value, rel=1e-9)


def test_region_selects_lines_and_may_be_several_windows():
    profile = Gaussian1D(-0.5, H_BETA, 4) + Gaussian1D(-0.5, H_ALPHA, 4)
    spectrum = make_spectrum(profile)
    assert list(identify_lines(spectrum, (6500, 6600) * u.AA)["name"]) == ["H alpha"]
    # A window just around the line still measures it whole (pixels outside are used).
    narrow = only(identify_lines(spectrum, (6560, 6570) * u.AA), "H alpha")
    assert narrow["equivalent_width"].to_value(u.AA) == pytest.approx(0.5 * 4 * 2.5066, rel=0.05)
    both = SpectralRegion([(480 * u.nm, 490 * u.nm), (650 * u.nm, 660 * u.nm)])
    assert list(identify_lines(spectrum, both)["name"]) == ["H beta", "H alpha"]


def test_blended_lines_are_one_feature():
    # Ca II H and H epsilon are 1.6 Å apart: one feature at R ~ 1800 (H beta shows that
    # hydrogen absorbs).
    table = identify_lines(make_spectrum(Gaussian1D(-0.5, 3970.0, 3) + Gaussian1D(-0.5, H_BETA, 3)))
    assert list(table["name"]) in (["Ca II H", "H beta"], ["H epsilon", "H beta"])
    assert {table["name"][0], table["blend"][0]} == {"Ca II H", "H epsilon"}
    # The Na D doublet is one absorption feature, not two; the sky line between them is emission
    # only, so it is no member of an absorption feature.
    sodium = identify_lines(
        make_spectrum(Gaussian1D(-0.5, 5891.58, 2) + Gaussian1D(-0.4, 5897.55, 2), noise=0.005)
    )
    assert len(sodium) == 1 and sodium["kind"][0] == "absorption"
    assert {sodium["name"][0], sodium["blend"][0]} == {"Na I D2", "Na I D1"}


def test_neighbour_in_a_flank_does_not_fake_a_line():
    """Strong Na D absorption must not turn He I 5876 into emission (it lies in its flank)."""
    sodium = Gaussian1D(-0.6, 5891.58, 2) + Gaussian1D(-0.5, 5897.55, 2)
    table = identify_lines(make_spectrum(sodium, noise=0.005))
    assert "He I 5876" not in table["name"]
    # A real He I emission line beside Na D is found, with the sodium absorption.
    table = identify_lines(make_spectrum(sodium + Gaussian1D(0.4, 5877.25, 4), noise=0.01))
    assert only(table, "He I 5876")["kind"] == "emission"
    assert set(table["kind"]) == {"emission", "absorption"}


def test_gap_between_absorption_lines_is_not_emission():
    """The continuum left between H9 and H8 must not read as [Ne III] 3869 emission."""
    balmer = sum(
        (Gaussian1D(-0.6, centre, 5) for centre in (3836.48, 3890.15, H_BETA)), Gaussian1D(0)
    )
    table = identify_lines(make_spectrum(balmer), (3800, 3900) * u.AA)
    assert set(table["name"]) == {"H9", "H8"}
    assert set(table["kind"]) == {"absorption"}


@pytest.mark.parametrize("name", ["[O III] 5007", "sky [O I] 5577", "[S II] 6716"])
def test_forbidden_and_sky_lines_are_never_absorption(name):
    """Forbidden and sky lines are emission only: a dip there is another line."""
    (rest,) = atomic_lines()[atomic_lines()["name"] == name]["rest_wavelength"].to_value(u.AA)
    assert len(identify_lines(make_spectrum(Gaussian1D(-0.4, rest, 1.5)))) == 0
    emission = only(identify_lines(make_spectrum(Gaussian1D(0.4, rest, 1.5))), name)
    assert emission["kind"] == "emission"


def test_weak_lines_need_their_species_strongest_line():
    """He I 4922 without He I 4471 or 5876, or [O III] 4363 without 5007, is another line."""
    he_4922 = Gaussian1D(-0.3, 4923.30, 2)
    assert len(identify_lines(make_spectrum(he_4922))) == 0
    # A hot star: He I 4471 is there too; it is measured even outside the window.
    hot = make_spectrum(he_4922 + Gaussian1D(-0.4, 4472.73, 2))
    assert list(identify_lines(hot, (4900, 4950) * u.AA)["name"]) == ["He I 4922"]
    # ... with the same kind: emission at 4471 does not vouch for absorption at 4922.
    mixed = make_spectrum(he_4922 + Gaussian1D(0.4, 4472.73, 2))
    assert list(identify_lines(mixed)["name"]) == ["He I 4471"]
    auroral = Gaussian1D(0.3, 4364.44, 1.5)
    assert len(identify_lines(make_spectrum(auroral))) == 0
    nebula = identify_lines(make_spectrum(auroral + Gaussian1D(3.0, 5008.24, 1.5)))
    assert list(nebula["name"]) == ["[O III] 4363", "[O III] 5007"]
    # Where the leading lines are outside the data the rule cannot be applied.
    blue = make_spectrum(Gaussian1D(-0.5, 3836.48, 4))[:400]  # 3700-4060 Å: no H beta
    assert list(identify_lines(blue)["name"]) == ["H9"]


def test_band_head_is_not_a_line():
    """A TiO band head (M stars) right at Mg b is the band; without the band Mg b is found."""
    head, length, depth = 5168.44, 100.0, 0.3  # TiO 5167: sharp head, recovering redwards

    def band(wavelength):
        inside = (wavelength > head) & (wavelength < head + length)
        return np.where(inside, -depth * (1 - (wavelength - head) / length), 0.0)

    assert len(identify_lines(make_spectrum(band))) == 0
    mg_b = Gaussian1D(-0.4, 5174.12, 3)
    assert "Mg I b2" in identify_lines(make_spectrum(mg_b))["name"]
    # A shallow "band" (atomic lines in the band window) does not hide the line.
    shallow = np.where((LAMOST > 5188) & (LAMOST < 5231), -0.05, 0.0)
    banded = make_spectrum(lambda wavelength: shallow + mg_b(wavelength))
    assert "Mg I b2" in identify_lines(banded)["name"]


def test_fwhm_tells_broad_from_narrow_balmer_lines():
    white_dwarf = only(identify_lines(make_spectrum(Lorentz1D(-0.6, H_BETA, 60))), "H beta")
    a_star = only(identify_lines(make_spectrum(Gaussian1D(-0.5, H_BETA, 4))), "H beta")
    assert white_dwarf["fwhm"] > 50 * u.AA > 4 * a_star["fwhm"]


def test_max_offset_in_wavelength_or_velocity():
    shifted = make_spectrum(Gaussian1D(-0.5, H_ALPHA + 4, 3))  # 180 km/s redward
    assert "H alpha" in identify_lines(shifted)["name"]
    assert "H alpha" not in identify_lines(shifted, max_offset=1 * u.AA)["name"]
    assert "H alpha" not in identify_lines(shifted, max_offset=50 * u.km / u.s)["name"]
    assert "H alpha" in identify_lines(shifted, max_offset=300 * u.km / u.s)["name"]
    with pytest.raises(ValueError, match="max_offset"):
        identify_lines(shifted, max_offset=3 * u.s)


def test_line_list_options():
    spectrum = make_spectrum(Gaussian1D(-0.5, H_BETA, 3) + Gaussian1D(-0.5, H_ALPHA, 3))
    assert list(identify_lines(spectrum, line_list=["H alpha"])["name"]) == ["H alpha"]
    custom = QTable({"name": ["my line"], "rest_wavelength": [486.268] * u.nm})
    assert list(identify_lines(spectrum, line_list=custom)["name"]) == ["my line"]
    with pytest.raises(ValueError, match="not in the catalogue"):
        identify_lines(spectrum, line_list=["H omega"])
    with pytest.raises(ValueError, match="rest_wavelength"):
        identify_lines(spectrum, line_list=QTable({"name": ["x"]}))


def test_region_errors():
    spectrum = make_spectrum()
    outside = "9500.0–9600.0 Å does not overlap the data; the data cover 3700.0–9080.3 Å"
    with pytest.raises(ValueError, match=outside):
        identify_lines(spectrum, (9500, 9600) * u.AA)
    with pytest.raises(ValueError, match="not below"):
        identify_lines(spectrum, (6600, 6500) * u.AA)
    with pytest.raises(ValueError, match="spectral Quantity"):
        identify_lines(spectrum, (1, 2) * u.kg)


def test_real_lamost_a_star(real_data):
    spectrum = Spectrum.read(real_data / "lamost_lrs_dr1_grd349/spec-55862-B6212_sp06-018.fits")
    table = identify_lines(spectrum)  # pipeline class A4V
    balmer = ["H alpha", "H beta", "H gamma", "H delta"]
    for name in balmer:
        row = only(table, name)
        assert row["kind"] == "absorption"
        assert 10 * u.AA < row["fwhm"] < 35 * u.AA
        assert row["equivalent_width"] > 5 * u.AA
    assert "emission" not in table["kind"]


def test_real_lamost_m_dwarf(real_data):
    spectrum = Spectrum.read(real_data / "lamost_lrs_dr1_grd349/spec-55862-B6212_sp06-049.fits")
    table = identify_lines(spectrum)  # pipeline class M0
    sodium = table[np.isin(table["name"], ["Na I D1", "Na I D2"])]
    assert len(sodium) == 1 and sodium["kind"][0] == "absorption"
    assert "Ca II 8542" in table["name"]
    # The continuum humps between TiO bands are not emission lines; M0 shows no Balmer lines.
    assert "emission" not in table["kind"]
    assert not {"H alpha", "H beta"} & set(table["name"])


def test_pixels_without_variance_estimate_take_their_neighbours_noise():
    """Zero inverse variance on real flux (LAMOST DR1 emission peaks) must not hide the line."""
    emission = Gaussian1D(1.0, H_ALPHA, 3.0)
    spectrum = make_spectrum(emission, uncertainty="ivar")
    core = np.abs(LAMOST - H_ALPHA) < 8
    spectrum.uncertainty.array[core] = 0.0
    row = only(identify_lines(spectrum), "H alpha")
    reference = only(identify_lines(make_spectrum(emission, uncertainty="ivar")), "H alpha")
    assert row["kind"] == "emission"
    assert row["equivalent_width"].value == pytest.approx(reference["equivalent_width"].value)
    assert row["significance"] == pytest.approx(reference["significance"], rel=0.05)


def lines_in(real_data, path):
    """identify_lines over a real file read as the inspection agent reads it (pipeline z)."""
    spectrum = read_for_inspection(real_data / path)
    return identify_lines(spectrum, redshift=spectrum.meta.get("redshift"))


def names_of(table, kind):
    return set(table["name"][table["kind"] == kind]) | {
        name for blend in table["blend"][table["kind"] == kind] for name in blend.split(", ")
    }


@pytest.mark.parametrize(
    ("path", "absorption", "not_found"),
    [
        (  # F9: metal-line blends at [O III] 4959 and He I 5016, a continuum peak at 4363
            "lamost_lrs_dr1_grd349/spec-55862-B6212_sp06-003.fits",
            {"Ca II K", "Ca II H", "H beta", "Mg I b2", "Na I D2", "H alpha", "Ca II 8542"},
            {"[O III] 4363", "He I 4922", "[O III] 4959", "He I 5016", "sky [O I] 6300"},
        ),
        (  # G5: Ca I 6718 is no [S II]; Fe blends are no He I / He II; CN 4216 head hides Sr II
            "lamost_lrs_dr1_grd349/spec-55862-B6212_sp06-246.fits",
            {"Ca II K", "Ca I 4227", "Mg I b2", "Na I D1", "Ca II 8542", "Ca II 8662"},
            {"He I 5016", "He II 5411", "[S II] 6716", "[O I] 6364", "He I 7065", "Sr II 4216"},
        ),
        (  # K5: Mg b stays although C2 5165 windows read 7 % (not a band)
            "lamost_lrs_dr1_grd349/spec-55862-B6212_sp06-130.fits",
            {"Mg I b2", "Na I D2", "Ca II 8542", "Ca II 8662"},
            {"He I 4922", "sky [O I] 6300"},
        ),
        (  # M4 dwarf: TiO heads at 7054 and 8432, humps between TiO bands
            "sdss_boss_pyhammer_testcase/spec-1123-52882-0065.fits",
            {"Na I D1", "K I 7699"},
            {"He I 4922", "He II 5411", "He I 7065", "Ca II 8498", "sky [O I] 5577"},
        ),
        (  # M1 dwarf: the Ca II triplet is there; He I 4922 "emission" is the gap between bands
            "sdss_boss_pyhammer_testcase/spec-0618-52049-0372.fits",
            {"Na I D2", "Ca II 8498", "Ca II 8542", "Ca II 8662"},
            {"He I 4922", "He I 5016", "He I 7065"},
        ),
    ],
)
def test_real_stars_keep_their_lines_and_lose_false_identifications(
    real_data, path, absorption, not_found
):
    table = lines_in(real_data, path)
    assert absorption <= names_of(table, "absorption")
    assert not not_found & set(table["name"])


@pytest.mark.parametrize(
    "path",
    [
        "lamost_lrs_dr1_grd349/spec-55862-B6212_sp06-119.fits",  # G5: a continuum peak at 6585
        "lamost_lrs_dr1_grd349/spec-55862-B6212_sp06-145.fits",  # K7: negative flux at 3700 Å
        "lamost_lrs_dr1_grd349/spec-55862-B6212_sp06-225.fits",  # F9: a continuum peak at 4364
        "lamost_lrs_podondra_emission/spec-55903-B90306_sp06-163.fits",  # A7III: same
        "sdss_boss_pyhammer_testcase/spec-1079-52621-0509.fits",  # M1: humps between bands
    ],
)
def test_real_stars_without_emission_lines_show_none(real_data, path):
    assert "emission" not in lines_in(real_data, path)["kind"]


def test_real_be_star(real_data):
    """H alpha emission (zero ivar at its peak in DR1) above a Balmer absorption spectrum."""
    table = lines_in(real_data, "lamost_lrs_podondra_emission/spec-56351-GAC108N13V4_sp14-219.fits")
    assert list(table["name"][table["kind"] == "emission"]) == ["H alpha"]
    assert only(table, "H alpha")["equivalent_width"] < -4 * u.AA
    assert {"H beta", "H gamma", "H delta", "H8"} <= names_of(table, "absorption")


def white_dwarf(test_data, name):
    """A WD flux standard (1 Å grid) on the LAMOST grid, S/N 50, as a LAMOST-like spectrum."""
    standard = QTable.read(test_data / "real" / "wd_standards" / f"{name}.ecsv")
    wavelength = standard["wavelength"].to_value(u.AA)
    grid = LAMOST[(LAMOST > wavelength[0]) & (LAMOST < wavelength[-1])]
    flux = np.interp(grid, wavelength, np.asarray(standard["flux"], dtype=float))
    sigma = np.full(grid.size, np.median(flux) / 50)
    noisy = flux + np.random.default_rng(0).normal(0, sigma)
    return Spectrum(
        flux=noisy * u.Jy, spectral_axis=grid * u.AA, uncertainty=StdDevUncertainty(sigma)
    )


DA_STANDARDS = "EG274 G93-48 GD153 GD50 GD71 Grwp705824 HZ2 HZ4 LB227 LTT3218 LTT7987".split()


@pytest.mark.parametrize("name", DA_STANDARDS)
def test_real_da_white_dwarfs_show_broad_balmer_lines(test_data, name):
    """Pressure-broadened Balmer lines, wider than an A star's 15-25 Å at LAMOST resolution."""
    table = identify_lines(white_dwarf(test_data, name))
    assert set(table["kind"]) == {"absorption"}
    for line in ("H beta", "H gamma"):
        assert only(table, line)["fwhm"] > 30 * u.AA


def test_real_db_and_do_white_dwarfs_show_helium(test_data):
    db = identify_lines(white_dwarf(test_data, "LDS749B"))
    # Weaker He I lines are kept beside the strong ones.
    assert {"He I 4026", "He I 4471", "He I 4922", "He I 5876"} <= names_of(db, "absorption")
    assert not {"H alpha", "H beta", "H gamma", "H8"} & set(db["name"])  # 3889 Å is He I
    do = identify_lines(white_dwarf(test_data, "HZ21"))
    assert "He II 4686" in names_of(do, "absorption")


@pytest.mark.parametrize(
    ("kind", "seed", "line"),
    [
        ("carbon_star", 12, "[O III] 5007"),
        ("carbon_star", 11, "[Ne III] 3869"),
        ("m_dwarf", 21, "Li I 6708"),
    ],
)
def test_band_structure_of_cool_stars_is_no_emission_line(kind, seed, line):
    """The hump between the C2 Swan sequences, a gap inside the CN 3883 band and one inside the TiO
    6651 band were reported as emission lines before the band spans were checked."""
    star = simulate_spectrum(kind, seed=seed)
    found = identify_lines(star, redshift=star.meta["redshift"])
    assert line not in list(found["name"])


def test_a_nebular_novas_forbidden_lines_are_kept():
    """Broad [O III] with no molecular bands around it: the nova's ejecta."""
    nova = simulate_spectrum("cataclysmic_variable", seed=4, subtype="classical nova")
    found = identify_lines(nova, redshift=nova.meta["redshift"])
    assert {"[O III] 5007", "[Ne III] 3869"} <= set(found["name"][found["kind"] == "emission"])
