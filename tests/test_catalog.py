"""Tests of the shipped line list and molecular-band catalogue (spec_o3.catalog)."""

import re

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import QTable, Row
from specutils.utils.wcs_utils import air_to_vac, vac_to_air

from spec_o3.catalog import atomic_lines, get_band, molecular_bands

LINE_GROUPS = {
    "balmer", "paschen", "helium", "calcium", "sodium", "magnesium", "potassium", "iron", "oxygen",
    "s_process", "lithium", "forbidden", "bowen", "sky",
}
BAND_WAVELENGTHS = [
    "bandhead", "band_min", "band_max", "blue_continuum_min", "blue_continuum_max",
    "red_continuum_min", "red_continuum_max",
]
# Everything must be observable by LAMOST (3690-9100 A, vacuum).
LAMOST_RANGE = (3690 * u.AA, 9100 * u.AA)


@pytest.fixture(scope="module")
def lines():
    return atomic_lines()


@pytest.fixture(scope="module")
def bands():
    return molecular_bands()


# ---------------------------------------------------------------- atomic lines


def test_lines_schema(lines):
    assert isinstance(lines, QTable)
    assert lines.colnames == [
        "name", "species", "rest_wavelength", "group", "typical_kind", "reference",
    ]
    assert lines["rest_wavelength"].unit == u.AA
    assert len(set(lines["name"])) == len(lines)
    assert set(lines["group"]) <= LINE_GROUPS
    assert set(lines["typical_kind"]) <= {"absorption", "emission", "both"}
    assert all(name.isascii() and name.strip() == name for name in lines["name"])
    assert all(ref for ref in lines["reference"])
    wavelengths = lines["rest_wavelength"]
    assert np.all((wavelengths > LAMOST_RANGE[0]) & (wavelengths < LAMOST_RANGE[1]))


@pytest.mark.parametrize(
    ("name", "vacuum"),
    [
        # vacuum values quoted by SDSS and NIST, independent of the conversion that built the file
        ("H alpha", 6564.61), ("H beta", 4862.68), ("Ca II K", 3934.78), ("Ca II H", 3969.59),
        ("Na I D2", 5891.58), ("Mg I b2", 5174.12), ("Ca II 8542", 8544.44),
        ("[O III] 5007", 5008.24),
        ("He II 4686", 4687.02), ("sky [O I] 5577", 5578.89),
    ],
)
def test_lines_are_vacuum(lines, name, vacuum):
    row = lines[lines["name"] == name][0]
    assert u.isclose(row["rest_wavelength"], vacuum * u.AA, atol=0.02 * u.AA)


def test_converted_lines_match_their_quoted_air_wavelength(lines):
    converted = [row for row in lines if "converted to vacuum" in row["reference"]]
    assert len(converted) > 30
    for row in converted:
        air = float(re.search(r"air (\d+\.\d+)", row["reference"]).group(1)) * u.AA
        assert u.isclose(vac_to_air(row["rest_wavelength"]), air, atol=0.01 * u.AA), row["name"]


def test_sky_lines_are_marked(lines):
    sky = lines[lines["group"] == "sky"]
    assert {"sky [O I] 5577", "sky Na I D", "sky [O I] 6300", "sky [O I] 6364"} <= set(sky["name"])
    assert set(sky["typical_kind"]) == {"emission"}


# ------------------------------------------------------------- molecular bands


def test_bands_schema(bands):
    assert isinstance(bands, QTable)
    assert bands.colnames == [
        "name", "molecule", "system", *BAND_WAVELENGTHS, "degraded", "reference", "note",
    ]
    for column in BAND_WAVELENGTHS:
        assert bands[column].unit == u.AA
        assert np.all((bands[column] > LAMOST_RANGE[0]) & (bands[column] < LAMOST_RANGE[1]))
    assert len(set(bands["name"])) == len(bands)
    assert set(bands["degraded"]) <= {"blue", "red"}
    assert {"C2_5165", "C2_4737", "CN_4216", "CH_4300", "TiO_7054", "TiO_6159", "VO_7400",
            "CaH_6382", "ZrO_6474", "LaO_7403"} <= set(bands["name"])


def test_band_names_follow_the_air_head(bands):
    for band in bands:
        molecule, designation = band["name"].split("_")
        assert molecule == band["molecule"]
        # the name carries the conventional air wavelength, the table the vacuum head
        head_air = vac_to_air(band["bandhead"]).to_value(u.AA)
        assert abs(head_air - int(designation)) < 20, band["name"]
        assert band["bandhead"] > head_air * u.AA  # vacuum is redder than air in the optical


def test_band_windows_are_ordered_and_disjoint(bands):
    for band in bands:
        name = band["name"]
        assert band["blue_continuum_min"] < band["blue_continuum_max"] <= band["band_min"], name
        assert band["band_min"] < band["band_max"] <= band["red_continuum_min"], name
        assert band["red_continuum_min"] < band["red_continuum_max"], name


def test_band_window_lies_on_the_degraded_side_of_the_head(bands):
    for band in bands:
        if band["degraded"] == "blue":
            assert band["band_max"] <= band["bandhead"] <= band["red_continuum_min"], band["name"]
        else:
            assert band["band_min"] >= band["bandhead"] >= band["blue_continuum_max"], band["name"]


def test_swan_bands_degraded_to_violet_and_tio_to_red(bands):
    assert set(bands[bands["molecule"] == "C2"]["degraded"]) == {"blue"}
    assert set(bands[bands["molecule"] == "TiO"]["degraded"]) == {"red"}


# ------------------------------------------------------------------- accessors


def test_tables_are_fresh_copies():
    lines = atomic_lines()
    lines["rest_wavelength"][0] = 0 * u.AA
    lines.remove_row(1)
    bands = molecular_bands()
    bands["bandhead"][:] = 0 * u.AA
    assert atomic_lines()["rest_wavelength"][0] > 0 * u.AA
    assert len(atomic_lines()) == len(lines) + 1
    assert np.all(molecular_bands()["bandhead"] > 0 * u.AA)


def test_get_band():
    band = get_band("TiO_7054")
    assert isinstance(band, Row)
    assert band["molecule"] == "TiO"
    assert u.isclose(band["bandhead"], air_to_vac(7054 * u.AA), atol=0.01 * u.AA)
    band["bandhead"] = 0 * u.AA
    assert get_band("TiO_7054")["bandhead"] > 0 * u.AA


def test_get_band_unknown_lists_known_names():
    with pytest.raises(ValueError, match=r"unknown molecular band 'TiO_9999'.*C2_5165.*TiO_7054"):
        get_band("TiO_9999")


# ------------------------------------------------------ windows on real spectra


def _miles_spectrum(test_data, miles_id):
    """A MILES library star as (vacuum wavelength, flux); MILES is in air, 0.9 A pixels."""
    path = test_data / "libraries" / "miles" / f"MILES_res2.50_star_m{miles_id}V.fits"
    with fits.open(path) as hdul:
        header, flux = hdul[0].header, hdul[0].data.astype(float)
    air = header["CRVAL1"] + header["CDELT1"] * (np.arange(flux.size) + 1 - header["CRPIX1"])
    return air_to_vac(air * u.AA), flux


def _depth(spectrum, band):
    """1 - <F_band> / continuum interpolated linearly between the two continuum windows' means."""
    wavelength, flux = spectrum

    def window(lo, hi):
        inside = (wavelength >= band[lo]) & (wavelength <= band[hi])
        return (band[lo] + band[hi]) / 2, flux[inside].mean()

    blue, red, core = (window("blue_continuum_min", "blue_continuum_max"),
                       window("red_continuum_min", "red_continuum_max"),
                       window("band_min", "band_max"))
    continuum = np.interp(core[0], [blue[0], red[0]], [blue[1], red[1]])
    return 1 - core[1] / continuum


# MILES ids: HD172380 M4-5 II, HD173740 M5 V, HD003574 K5 III, HD010307 G2 V
M_GIANT, M_DWARF, K_GIANT, G_DWARF = "0685", "0690", "0024", "0066"


@pytest.fixture(scope="module")
def library(test_data):
    stars = (M_GIANT, M_DWARF, K_GIANT, G_DWARF)
    return {star: _miles_spectrum(test_data, star) for star in stars}


def test_tio_deep_in_m_giant_absent_in_g_dwarf(library):
    for name in ("TiO_4954", "TiO_5167", "TiO_6159", "TiO_7054"):
        band = get_band(name)
        assert _depth(library[M_GIANT], band) > 0.3, name
        assert abs(_depth(library[G_DWARF], band)) < 0.05, name
        assert _depth(library[K_GIANT], band) < 0.15, name


def test_cah_separates_m_dwarf_from_m_giant(library):
    band = get_band("CaH_6382")
    assert _depth(library[M_DWARF], band) > 0.1
    assert abs(_depth(library[M_GIANT], band)) < 0.05


def test_carbon_bands_near_zero_in_normal_stars(library):
    # no carbon star in the offline libraries: check the windows stay quiet where C2 is absent
    for name in ("C2_5165", "C2_5636", "C2_6122"):
        for star in (G_DWARF, K_GIANT):
            assert abs(_depth(library[star], get_band(name))) < 0.07, (name, star)
    # the red continuum of C2_5165 sits in TiO 5167, so an M giant reads as "anti-carbon"
    assert _depth(library[M_GIANT], get_band("C2_5165")) < -0.2


def test_g_band_and_violet_cn_in_k_giant(library):
    assert _depth(library[K_GIANT], get_band("CH_4300")) > 0.1
    assert _depth(library[K_GIANT], get_band("CN_4216")) > 0.1
    assert abs(_depth(library[G_DWARF], get_band("CN_4216"))) < 0.1
