"""Survey readers and the LAMOST writer: every real file, each layout synthesised, bad input."""

import csv
import gzip
import json
import subprocess
import sys
import warnings
from functools import partial

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.io.fits.card import UNDEFINED
from astropy.io.registry import IORegistryError
from astropy.nddata import InverseVariance, StdDevUncertainty
from astropy.table import QTable
from astropy.utils.exceptions import AstropyWarning
from specutils import SpectralRegion, Spectrum, SpectrumList
from specutils.manipulation import extract_region

import spec_o3  # noqa: F401  (registers the readers)
from spec_o3 import UnvettableSpectrum
from spec_o3.io import (
    SDSS_BAD_PIXEL_BITS,
    identify_lamost_lrs_image,
    identify_sdss_spspec,
    iter_targets,
    read_for_inspection,
    read_survey_spectrum,
)
from spec_o3.io._fits import _block_cards, _RawCards, grid_wcs
from spec_o3.io._onepass import HeaderValues, read_first_table, read_primary_image
from spec_o3.io.survey import survey_format

SDSS_FLUX = u.Unit("1e-17 erg / (s cm2 Angstrom)")
N_PIX = 300
COEFF0, COEFF1 = 3.5682, 1e-4
WAVELENGTH = 10 ** (COEFF0 + COEFF1 * np.arange(N_PIX))
LAMOST_CARDS = {
    "TELESCOP": "LAMOST",
    "CLASS": "STAR",
    "SUBCLASS": "K5",
    "Z": 1.5e-4,
    "SN_U": 3.0,
    "SN_G": 30.5,
    "SN_R": 40.25,
    "COEFF0": COEFF0,
    "COEFF1": COEFF1,
}
WAVELENGTH_ROWS = "Flux Inverse Wavelength Andmask Ormask"
READERS = [
    pytest.param(Spectrum.read, id="Spectrum.read"),
    pytest.param(read_survey_spectrum, id="read_survey_spectrum"),
]


# ---------------------------------------------------------------------------- real survey files


@pytest.fixture(scope="module")
def manifest(real_data):
    with open(real_data / "manifest.csv", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["file"].endswith((".fits", ".fit"))]
    return {real_data / row["file"]: row for row in rows}


def test_manifest_lists_every_real_spectrum_file(real_data, manifest):
    on_disk = {path for path in real_data.glob("*/*") if path.suffix in (".fits", ".fit")}
    assert on_disk == set(manifest)


def test_reads_every_real_file(manifest):
    for path, row in manifest.items():
        spectrum = read_survey_spectrum(path)
        survey = "LAMOST" if row["file"].startswith("lamost") else "SDSS"
        wave = spectrum.spectral_axis
        ivar = spectrum.uncertainty
        assert spectrum.meta["survey"] == survey, path
        assert spectrum.meta["source"] == str(path)
        assert wave.unit == u.AA
        assert np.all(np.diff(wave.value) > 0), path
        low, high = (
            ((3650, 3750), (9000, 9150)) if survey == "LAMOST" else ((3550, 3850), (9150, 10450))
        )
        assert low[0] < wave[0].value < low[1] and high[0] < wave[-1].value < high[1], path
        assert isinstance(ivar, InverseVariance) and ivar.unit == spectrum.flux.unit**-2
        assert spectrum.mask.dtype == bool and spectrum.mask.shape == spectrum.flux.shape
        assert np.all(spectrum.mask[ivar.array <= 0]), f"{path}: zero-ivar pixels not masked"
        assert spectrum.mask.mean() < 0.6, path  # the blue end of cool DR1 stars has ivar = 0
        assert spectrum.meta["header"]["TELESCOP"].strip() == (
            "LAMOST" if survey == "LAMOST" else "SDSS 2.5-M"
        )
        redshift = spectrum.meta["redshift"]
        assert isinstance(redshift, float) and abs(redshift) < 2e-3, path  # all stars
        assert spectrum.redshift.value == pytest.approx(redshift, abs=1e-12)
        assert set(spectrum.meta["snr"]) <= set("ugriz") and spectrum.meta["snr"]
        label = row["label"].split("|")[0].split(";")[0].split()
        assert spectrum.meta["class"] == label[0], path
        if not label[1].startswith("("):  # spSpec labels give SPEC_CLN, not a subtype
            assert spectrum.meta["subclass"] == " ".join(label[1:]), path


@pytest.mark.parametrize(
    "name, survey, flux_unit, format_name",
    [
        ("lamost_lrs_dr1_grd349/spec-55862-B6212_sp06-003.fits", "LAMOST", u.one, "LAMOST-LRS"),
        ("sdss_spSpec_thehammer/spSpec-52885-1117-201.fit", "SDSS", SDSS_FLUX, "SDSS-spSpec"),
    ],
)
def test_spectrum_read_without_format_uses_our_loaders_where_specutils_has_none(
    real_data, name, survey, flux_unit, format_name
):
    path = real_data / name
    assert _priorities(path) == {f"spec-o3 {format_name}": 10}
    spectrum = Spectrum.read(path)
    fast = read_survey_spectrum(path)
    assert spectrum.meta["survey"] == survey and spectrum.flux.unit == flux_unit
    assert np.array_equal(spectrum.flux, fast.flux) and np.array_equal(spectrum.mask, fast.mask)
    assert np.array_equal(spectrum.spectral_axis, fast.spectral_axis)


def test_sdss_spec_files_stay_with_specutils_unless_named(real_data):
    path = real_data / "sdss_boss_pyhammer_testcase/spec-1123-52882-0065.fits"
    assert _priorities(path) == {"SDSS-III/IV spec": 10}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)  # specutils' loader warns about BUNIT
        assert "survey" not in Spectrum.read(path).meta
    named = Spectrum.read(path, format="spec-o3 SDSS-spec")
    fast = read_survey_spectrum(path)
    assert named.meta["survey"] == fast.meta["survey"] == "SDSS"
    assert np.array_equal(named.flux, fast.flux) and np.array_equal(named.mask, fast.mask)


@pytest.mark.parametrize(
    "name, identify",
    [
        ("lamost_lrs_dr1_grd349/spec-55862-B6212_sp06-003.fits", identify_lamost_lrs_image),
        ("sdss_spSpec_thehammer/spSpec-52885-1117-201.fit", identify_sdss_spspec),
    ],
)
def test_identifiers_read_only_the_first_header_block(real_data, tmp_path, name, identify):
    """The first 2880 bytes decide (the header goes on for blocks more, which astropy could not
    open), and the registry's file object is left where it was."""
    path = tmp_path / "first-block.fits"
    path.write_bytes((real_data / name).read_bytes()[:2880])
    with pytest.raises(OSError):
        fits.getheader(path)
    with open(path, "rb") as fileobj:
        assert identify("read", str(path), fileobj, fileobj)
        assert fileobj.tell() == 0
    assert identify("read", str(path))  # a path alone is opened and read the same way


#: Reads every file named on its command line with ``Spectrum.read`` and prints, per file, the
#: formats the registry identifies and a digest of what it returns (or the error's type): run
#: once without and once with ``spec_o3`` imported.
_READ_AS_THE_HOST = """
import hashlib, json, sys, warnings
import numpy as np
from specutils import Spectrum
if sys.argv[1] == "with":
    import spec_o3
warnings.simplefilter("ignore")
registry = Spectrum.read.registry
seen = {}
for path in sys.argv[2:]:
    try:
        formats = registry.identify_format("read", Spectrum, path, None, [], {})
        spectrum = Spectrum.read(path)
    except Exception as error:
        seen[path] = type(error).__name__
        continue
    digest = hashlib.sha256()
    for array in (spectrum.flux, spectrum.spectral_axis, spectrum.mask, spectrum.uncertainty):
        values = getattr(array, "array", array)
        digest.update(b"None" if values is None else np.asarray(values).tobytes())
    meta = {key: repr(value) for key, value in spectrum.meta.items() if key != "header"}
    seen[path] = [sorted(formats), digest.hexdigest(), str(spectrum.flux.unit), meta]
print(json.dumps(seen))
"""


def _read_as_the_host(paths):
    """What the host reads from ``paths`` without and with spec_o3 imported (two processes)."""
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", _READ_AS_THE_HOST, imported, *map(str, paths)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for imported in ("without", "with")
    ]
    outputs = [run.communicate() for run in runs]
    for run, (_, stderr) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, stderr
    return [json.loads(stdout) for stdout, _ in outputs]


def test_importing_spec_o3_changes_nothing_specutils_reads(real_data, tmp_path):
    """specutils' own SDSS reading, and its generic FITS and ECSV readers, return the same with
    spec_o3 imported; only files it cannot read (LAMOST, 4-row spSpec) gain a reader."""
    spectrum = Spectrum(
        flux=np.arange(1.0, 11.0) * u.Jy, spectral_axis=np.linspace(4000, 5000, 10) * u.AA
    )
    generic = {"tabular.fits": "tabular-fits", "table.ecsv": "ECSV", "wcs1d.fits": "wcs1d-fits"}
    spectrum.write(tmp_path / "tabular.fits", format="tabular-fits")
    QTable({"wavelength": u.Quantity(spectrum.spectral_axis), "flux": spectrum.flux}).write(
        tmp_path / "table.ecsv"
    )
    linear = {"CRVAL1": 4000.0, "CDELT1": 2.0, "CRPIX1": 1, "CTYPE1": "WAVE", "CUNIT1": "Angstrom"}
    fits.PrimaryHDU(np.ones(50), header=fits.Header(linear)).writeto(tmp_path / "wcs1d.fits")
    survey = {
        "sdss_boss_pyhammer_testcase/spec-1123-52882-0065.fits": "SDSS-III/IV spec",
        "sdss_boss_pyhammer_testcase/spec-0618-52049-0372.fits": "SDSS-III/IV spec",
        "lamost_lrs_dr1_grd349/spec-55862-B6212_sp06-003.fits": None,
        "sdss_spSpec_thehammer/spSpec-52885-1117-201.fit": None,
    }
    paths = [str(real_data / name) for name in survey] + [str(tmp_path / name) for name in generic]
    alone, beside = _read_as_the_host(paths)
    for path, format_name in zip(paths, [*survey.values(), *generic.values()], strict=True):
        if format_name is None:  # specutils alone cannot read it; spec_o3 adds a reader
            assert alone[path] == "IORegistryError" and beside[path][0][0].startswith("spec-o3")
        else:
            assert alone[path][0] == [format_name], (path, alone[path])
            assert beside[path] == alone[path], path


def test_lamost_dr1_wavelength_comes_from_coeff_not_the_subcontinuum_row(real_data):
    path = real_data / "lamost_lrs_dr1_grd349/spec-55862-B6212_sp06-003.fits"
    header = fits.getheader(path)
    spectrum = read_survey_spectrum(path)
    expected = 10 ** (header["COEFF0"] + header["COEFF1"] * np.arange(header["NAXIS1"]))
    assert header["EXTEN0"].split()[2] == "Subcontinuum"
    assert np.array_equal(spectrum.spectral_axis.value, expected)
    assert spectrum.meta["snr"] == {"u": 14.02, "g": 71.41, "r": 99.0, "i": 99.0, "z": 99.0}


def test_sdss_spec_masks_only_bad_bits_and_reads_hdu2(real_data):
    path = real_data / "sdss_boss_pyhammer_testcase/spec-3764-55514-0972.fits"
    spectrum = read_survey_spectrum(path)
    with fits.open(path) as hdulist:
        and_mask = hdulist[1].data["and_mask"]
        summary = hdulist[2].data
        bad = sum(1 << bit for bit in SDSS_BAD_PIXEL_BITS.values())
        assert np.array_equal(spectrum.mask, (and_mask & bad != 0) | (hdulist[1].data["ivar"] == 0))
        assert np.any(and_mask[~spectrum.mask] & (1 << 16))  # NEARBADPIXEL alone stays usable
        assert spectrum.meta["redshift"] == float(summary["Z"][0])
        assert spectrum.meta["subclass"] == summary["SUBCLASS"][0].strip()
        assert list(spectrum.meta["snr"].values()) == [float(x) for x in summary["SN_MEDIAN"][0]]


def test_sdss_spspec_uses_inverse_variance_and_ignores_emission_line_bit(real_data):
    path = real_data / "sdss_spSpec_thehammer/spSpec-52885-1117-201.fit"
    spectrum = read_survey_spectrum(path)
    image = fits.getdata(path)
    sigma = image[2].astype(float)
    assert np.allclose(spectrum.uncertainty.array[sigma > 0], sigma[sigma > 0] ** -2)
    assert np.all(spectrum.uncertainty.array[sigma == 0] == 0)
    emission_only = image[3].astype(np.int64) == 1 << 30
    assert emission_only.any() and not spectrum.mask[emission_only & (sigma > 0)].any()


def test_in_memory_hdulist_reads_like_the_file(real_data):
    path = real_data / "sdss_boss_pyhammer_testcase/spec-1123-52882-0065.fits"
    with fits.open(path) as hdulist:
        in_memory = fits.HDUList([hdu.copy() for hdu in hdulist[:3]])
    from_memory = read_survey_spectrum(in_memory)
    from_file = read_survey_spectrum(path)
    assert from_memory.meta["source"] is None
    assert from_memory.meta["redshift"] == from_file.meta["redshift"]
    assert from_memory.meta["snr"] == from_file.meta["snr"]
    assert np.array_equal(from_memory.flux, from_file.flux)


@pytest.mark.parametrize(
    "name, write",
    [
        ("generic.fits", lambda spectrum, path: spectrum.write(path, format="tabular-fits")),
        (
            "generic.ecsv",
            lambda spectrum, path: QTable(
                {"wavelength": u.Quantity(spectrum.spectral_axis), "flux": spectrum.flux}
            ).write(path),
        ),
    ],
)
def test_read_survey_spectrum_hands_other_files_to_specutils(tmp_path, name, write):
    spectrum = Spectrum(
        flux=np.arange(1.0, 11.0) * u.Jy, spectral_axis=np.linspace(4000, 5000, 10) * u.AA
    )
    path = tmp_path / name
    write(spectrum, path)
    again = read_survey_spectrum(path)
    assert "survey" not in again.meta
    assert np.array_equal(again.flux, spectrum.flux)


def test_spectrum_list_read_uses_the_same_loaders(real_data):
    spectra = SpectrumList.read(real_data / "lamost_lrs_dr1_grd349/spec-55862-B6212_sp06-012.fits")
    assert len(spectra) == 1 and spectra[0].meta["survey"] == "LAMOST"


def test_redshift_survives_slicing_and_arithmetic(real_data):
    path = real_data / "lamost_lrs_dr1_grd349/spec-55862-B6212_sp06-125.fits"
    spectrum = read_survey_spectrum(path)
    redshift = spectrum.meta["redshift"]
    assert spectrum[100:200].redshift.value == pytest.approx(redshift, abs=1e-12)
    window = extract_region(spectrum, SpectralRegion(5000 * u.AA, 6000 * u.AA))
    assert window.redshift.value == pytest.approx(redshift, abs=1e-12)
    with np.errstate(divide="ignore"):  # astropy propagates ivar = 0 through 1 / ivar
        doubled = spectrum + spectrum
    assert np.allclose(doubled.flux, 2 * spectrum.flux, equal_nan=True)
    assert doubled.redshift.value == pytest.approx(redshift, abs=1e-12)


def _priorities(path):
    """Priority of every format whose identifier accepts ``path``."""
    registry = Spectrum.read.registry
    formats = registry.identify_format("read", Spectrum, str(path), None, [], {})
    # astropy keeps reader priorities only in its private (reader, priority) table
    return {label: registry._readers[(label, Spectrum)][1] for label in formats}


# ----------------------------------------------------------------- synthetic files of each layout


@pytest.fixture(scope="module")
def pixels():
    """Flux, ivar and andmask with a zeroed dichroic gap, a flagged pixel and a NaN."""
    rng = np.random.default_rng(42)
    flux = rng.normal(100.0, 5.0, N_PIX).astype(np.float32)
    ivar = np.full(N_PIX, 0.04, np.float32)
    andmask = np.zeros(N_PIX, np.float32)
    flux[50:60] = ivar[50:60] = 0.0
    andmask[100] = 4.0
    flux[200] = np.nan
    expected_mask = np.zeros(N_PIX, bool)
    expected_mask[[*range(50, 60), 100, 200]] = True
    return flux, ivar, andmask, expected_mask


def _image(pixels, third_row, rows_cards):
    flux, ivar, andmask, _ = pixels
    header = fits.Header({**LAMOST_CARDS, **rows_cards})
    data = np.vstack([flux, ivar, third_row, andmask, andmask]).astype(np.float32)
    return fits.HDUList([fits.PrimaryHDU(data, header=header)])


def dr1_image(pixels):
    subcontinuum = np.random.default_rng(1).normal(1.0, 0.05, N_PIX)
    return _image(pixels, subcontinuum, {"EXTEN0": "Flux Inverse Subcontinuum Andmask Ormask"})


def dr7_image(pixels, rows_cards):
    return _image(pixels, WAVELENGTH, rows_cards)


def table(pixels, one_row_of_arrays):
    flux, ivar, andmask, _ = pixels
    values = {
        "FLUX": flux,
        "IVAR": ivar,
        "WAVELENGTH": WAVELENGTH.astype(np.float32),
        "ANDMASK": andmask,
        "ORMASK": andmask,
        "NORMALIZATION": np.ones(N_PIX),
    }
    form = f"{N_PIX}E" if one_row_of_arrays else "E"
    columns = [
        fits.Column(name=name, format=form, array=array[None] if one_row_of_arrays else array)
        for name, array in values.items()
    ]
    primary = fits.PrimaryHDU(header=fits.Header({**LAMOST_CARDS, "SNRG": 30.5}))
    return fits.HDUList([primary, fits.BinTableHDU.from_columns(columns)])


LAYOUTS = {
    "dr1-subcontinuum": (dr1_image, {}),
    "dr7-rows-listed": (dr7_image, {"rows_cards": {"EXTEN0": WAVELENGTH_ROWS}}),
    "dr7-row-per-exten": (
        dr7_image,
        {
            "rows_cards": {
                f"EXTEN{i}": name
                for i, name in enumerate(["Flux", "Inverse", "Wavelength", "Andmask", "Ormask"])
            }
        },
    ),
    "dr7-row-per-row": (
        dr7_image,
        {
            "rows_cards": {
                f"ROW{i + 1}": name
                for i, name in enumerate(["FLUX", "IVAR", "WAVELENGTH", "ANDMASK", "ORMASK"])
            }
        },
    ),
    "dr7-rows-unnamed": (dr7_image, {"rows_cards": {}}),
    "table-1xN-arrays": (table, {"one_row_of_arrays": True}),
    "table-flat-columns": (table, {"one_row_of_arrays": False}),
}


@pytest.mark.parametrize("suffix", [".fits", ".fits.gz"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_reads_each_lamost_layout(tmp_path, pixels, layout, suffix):
    build, options = LAYOUTS[layout]
    path = tmp_path / f"spec-{layout}{suffix}"
    build(pixels, **options).writeto(path)
    spectrum = Spectrum.read(path)
    flux, ivar, _, expected_mask = pixels
    expected_wave = WAVELENGTH if layout.startswith("dr1") else WAVELENGTH.astype(np.float32)
    assert np.array_equal(spectrum.spectral_axis.value, expected_wave)
    assert np.array_equal(spectrum.flux.value, flux, equal_nan=True)
    assert spectrum.flux.unit == u.one
    assert np.array_equal(spectrum.uncertainty.array, ivar)
    assert np.array_equal(spectrum.mask, expected_mask)
    assert spectrum.meta["source"] == str(path)
    assert (spectrum.meta["class"], spectrum.meta["subclass"]) == ("STAR", "K5")
    assert spectrum.meta["redshift"] == 1.5e-4
    assert spectrum.meta["snr"]["g"] == 30.5


def test_lamost_table_loader_outranks_generic_tabular_fits(tmp_path, pixels):
    path = tmp_path / "spec.fits"
    table(pixels, one_row_of_arrays=True).writeto(path)
    assert _priorities(path) == {"tabular-fits": 6, "spec-o3 LAMOST-LRS-table": 10}


def test_lamost_bunit_sets_the_flux_unit(tmp_path, pixels):
    hdulist = dr1_image(pixels)
    hdulist[0].header["BUNIT"] = "1E-17 erg/cm^2/s/Ang"
    spectrum = Spectrum.read(hdulist)
    assert spectrum.flux.unit == SDSS_FLUX
    assert spectrum.uncertainty.unit == SDSS_FLUX**-2


# ------------------------------------------------------- header variants of real LAMOST files

#: Row names of the real files' EXTEN0: DR1 (v2.6.4) and DR6 (v2.9.7, the DR7 pipeline).
ROW_NAMES = {
    "DR1": ["Flux", "Inverse", "Subcontinuum", "Andmask", "Ormask"],
    "DR6": ["Flux", "Inverse", "Wavelength", "Andmask", "Ormask"],
}
#: Header cards to set in a copy of a real file, as a function of its row names (None deletes).
ROW_NAME_VARIANTS = {
    "blanks": lambda names: {"EXTEN0": " ".join(names)},
    "commas": lambda names: {"EXTEN0": ", ".join(names)},
    "semicolons": lambda names: {"EXTEN0": ";".join(names)},
    "lower-case": lambda names: {"EXTEN0": " ".join(names).lower()},
    "mixed-separators-stray-blanks": lambda names: {
        "EXTEN0": f" {names[0].upper()} ,{names[1]};  {names[2].lower()} {names[3]},,{names[4]} "
    },
    "two-word-name": lambda names: {
        "EXTEN0": ", ".join([names[0], "Inverse Variance", *names[2:]])
    },
    "EXTEN0-EXTEN4": lambda names: {f"EXTEN{i}": name for i, name in enumerate(names)},
    "ROW0-ROW4-lower-case": lambda names: {
        "EXTEN0": None,
        **{f"ROW{i}": name.lower() for i, name in enumerate(names)},
    },
    "ROW1-ROW5-upper-case": lambda names: {
        "EXTEN0": None,
        **{f"ROW{i + 1}": name.upper() for i, name in enumerate(names)},
    },
    # names that cannot be parsed: the public order, told by content
    "missing": lambda names: {"EXTEN0": None},
    "wrong-count": lambda names: {"EXTEN0": " ".join(names[:2])},
    "unknown-words": lambda names: {"EXTEN0": "Spectrum Error Lambda Mask Mask"},
    "garbled": lambda names: {"EXTEN0": "#&*!"},
    "row-named-twice": lambda names: {"EXTEN0": " ".join([names[0], *names[:4]])},
}


@pytest.fixture(scope="module")
def lamost_files(test_data):
    """A real DR1 file (subcontinuum row) and a real gzipped DR6 file (wavelength row)."""
    return {
        "DR1": test_data / "real/lamost_lrs_dr1_grd349/spec-55862-B6212_sp06-003.fits",
        "DR6": test_data / "real_extra/mdwarfmachine/spec-55863-M31_011N40_B1_sp07-211.fits.gz",
    }


def _copy(source, path, edit=None, **cards):
    """Write ``source`` to ``path`` (gzipped for .gz) after ``edit(hdulist)`` and setting ``cards``
    in the primary header (None deletes a card)."""
    with fits.open(source) as hdulist:
        if edit is not None:
            hdulist = edit(hdulist)
        header = hdulist[0].header
        for key, value in cards.items():
            if value is None:
                header.remove(key, ignore_missing=True)
            else:
                header[key] = value
        hdulist.writeto(path)
    return path


def _assert_same_spectrum(spectrum, reference):
    assert np.array_equal(spectrum.spectral_axis, reference.spectral_axis)
    assert np.array_equal(spectrum.flux, reference.flux)
    assert np.array_equal(spectrum.uncertainty.array, reference.uncertainty.array)
    assert np.array_equal(spectrum.mask, reference.mask)
    for key in ("survey", "class", "subclass", "redshift", "snr"):
        assert spectrum.meta[key] == reference.meta[key], key


def test_reads_the_real_dr6_files_whose_exten0_has_commas(test_data):
    paths = sorted((test_data / "real_extra/mdwarfmachine").glob("spec-*.fits.gz"))
    assert len(paths) == 3
    for path in paths:
        spectrum = read_survey_spectrum(path)
        with fits.open(path) as hdulist:
            header, image = hdulist[0].header, hdulist[0].data
        assert header["EXTEN0"] == "Flux, Inverse, Wavelength, Andmask, Ormask"
        assert np.array_equal(spectrum.spectral_axis.value, image[2])
        assert np.array_equal(spectrum.flux.value, image[0])
        assert np.array_equal(spectrum.uncertainty.array, image[1])
        assert (spectrum.meta["class"], spectrum.meta["subclass"]) == ("STAR", header["SUBCLASS"])
        assert spectrum.meta["snr"]["r"] == header["SNRR"]
        if header["Z"] == -9999:  # spec-...-sp08-093: the pipeline's failure value
            assert "redshift" not in spectrum.meta and spectrum.redshift == 0
        else:
            assert spectrum.meta["redshift"] == header["Z"]


@pytest.mark.parametrize("suffix", [".fits", ".fits.gz"])
@pytest.mark.parametrize("variant", ROW_NAME_VARIANTS)
@pytest.mark.parametrize("release", ROW_NAMES)
def test_reads_lamost_row_names_written_any_way(tmp_path, lamost_files, release, variant, suffix):
    source = lamost_files[release]
    cards = ROW_NAME_VARIANTS[variant](ROW_NAMES[release])
    path = _copy(source, tmp_path / f"spec-{variant}{suffix}", **cards)
    spectrum = Spectrum.read(path)
    _assert_same_spectrum(spectrum, read_survey_spectrum(source))
    _assert_same_spectrum(read_survey_spectrum(path), spectrum)
    if release == "DR1":  # no wavelength row: the log-linear solution
        header = spectrum.meta["header"]
        expected = 10 ** (header["COEFF0"] + header["COEFF1"] * np.arange(header["NAXIS1"]))
        assert np.array_equal(spectrum.spectral_axis.value, expected)


def test_reads_row_keywords_written_in_lower_case(tmp_path, lamost_files):
    path = _copy(
        lamost_files["DR6"],
        tmp_path / "spec-lower-keywords.fits",
        EXTEN0=None,
        **{f"ROW{i + 1}": name for i, name in enumerate(ROW_NAMES["DR6"])},
    )
    data = path.read_bytes()
    for i in range(1, 6):
        data = data.replace(f"ROW{i}    =".encode(), f"row{i}    =".encode())
    path.write_bytes(data)
    _assert_same_spectrum(Spectrum.read(path), read_survey_spectrum(lamost_files["DR6"]))


def _negative_ivar(image):
    image[1, 10] = -1.0


def _swapped_rows(image):
    image[[1, 2]] = image[[2, 1]]


def _wavelength_in_nm(image):
    image[2] /= 10


def _shuffled_wavelength(image):
    image[2, [10, 11]] = image[2, [11, 10]]


def _fractional_mask(image):
    image[3, 5] = 0.5


def _changed_image(change):
    """Edit applying ``change`` to a copy of the primary image."""

    def edit(hdulist):
        image = hdulist[0].data.copy()
        change(image)
        hdulist[0].data = image
        return hdulist

    return edit


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(
    "change, exten0, message",
    [
        (_negative_ivar, None, r"row 1 \(inverse variance\) has negative values"),
        (_swapped_rows, None, r"row 1 \(inverse variance\) holds wavelengths"),
        (_wavelength_in_nm, "#&*!", "row 2 runs from 369.999 to 906.359, neither wavelengths"),
        (_shuffled_wavelength, None, "row 2 runs from 3699.99 to 9063.59, neither wavelengths"),
        (_fractional_mask, None, r"row 3 \(andmask\) is not integer-valued"),
    ],
)
def test_unnamed_rows_that_do_not_fit_the_public_order_raise(
    tmp_path, lamost_files, reader, change, exten0, message
):
    path = _copy(
        lamost_files["DR6"], tmp_path / "spec-odd.fits", _changed_image(change), EXTEN0=exten0
    )
    with pytest.raises(ValueError, match=message) as info:
        reader(path)
    text = str(info.value)
    assert text.startswith(f"{path}: the header does not name the rows")
    assert ("EXTEN0 = '#&*!'" if exten0 else "(no EXTEN0)") in text
    assert "does not fit the public order of 5 rows (flux, inverse variance," in text


def _as_dr8_table(names):
    """Edit turning a 5-row image file into the DR8+ layout: one row of array columns in HDU 1."""

    def edit(hdulist):
        image = hdulist[0].data
        header = hdulist[0].header.copy()
        for key in ("EXTEN0", "N_EXTEN", "EXTNAME"):
            header.remove(key, ignore_missing=True)
        rows = [*image, np.ones(image.shape[1], np.float32)]
        columns = [
            fits.Column(name=name, format=f"{image.shape[1]}E", array=row[None])
            for name, row in zip(names, rows, strict=True)
        ]
        return fits.HDUList(
            [fits.PrimaryHDU(header=header), fits.BinTableHDU.from_columns(columns, name="COADD")]
        )

    return edit


TABLE_COLUMN_NAMES = ["FLUX", "IVAR", "WAVELENGTH", "ANDMASK", "ORMASK", "NORMALIZATION"]


@pytest.mark.parametrize("suffix", [".fits", ".fits.gz"])
@pytest.mark.parametrize(
    "names",
    [
        TABLE_COLUMN_NAMES,
        [name.lower() for name in TABLE_COLUMN_NAMES],
        [name.title() for name in TABLE_COLUMN_NAMES],
    ],
    ids=["upper", "lower", "title"],
)
def test_reads_the_dr8_table_layout_of_a_real_file(tmp_path, lamost_files, names, suffix):
    source = lamost_files["DR6"]
    path = _copy(source, tmp_path / f"spec-dr8{suffix}", _as_dr8_table(names))
    assert fits.getheader(path)["NAXIS"] == 0
    assert fits.getheader(path, 1)["TFORM1"] == "3892E"
    for reader in (Spectrum.read, read_survey_spectrum):
        _assert_same_spectrum(reader(path), read_survey_spectrum(source))


# ------------------------------------------------------------------------ files without a redshift


def _without_redshift(spectrum):
    assert "redshift" not in spectrum.meta
    assert spectrum.redshift == 0 and spectrum.radial_velocity == 0 * u.km / u.s


@pytest.mark.parametrize(
    "z", [None, -9999.0, UNDEFINED, "NULL"], ids=["no-Z", "-9999", "blank", "text"]
)
@pytest.mark.parametrize("layout", ["image", "table"])
def test_lamost_without_a_pipeline_redshift(tmp_path, lamost_files, layout, z):
    source = lamost_files["DR6"]
    edit = _as_dr8_table(TABLE_COLUMN_NAMES) if layout == "table" else None
    path = _copy(source, tmp_path / "spec-no-z.fits", edit, Z=z)
    for reader in (Spectrum.read, read_survey_spectrum):
        spectrum = reader(path)
        _without_redshift(spectrum)
        assert (spectrum.meta["class"], spectrum.meta["subclass"]) == ("STAR", "M0")


def _hdus_0_and_1_without_z(hdulist):
    header = hdulist[0].header.copy()
    for key in [key for key in header if key.startswith("Z")]:
        del header[key]
    return fits.HDUList([fits.PrimaryHDU(header=header), hdulist[1].copy()])


@pytest.mark.parametrize("suffix", [".fits", ".fits.gz", "in-memory"])
def test_sdss_spec_without_hdu2_reads_without_redshift_or_class(tmp_path, real_data, suffix):
    source = real_data / "sdss_boss_pyhammer_testcase/spec-1123-52882-0065.fits"
    reference = read_survey_spectrum(source)
    if suffix == "in-memory":
        with fits.open(source) as hdulist:
            readable = _hdus_0_and_1_without_z(hdulist)
    else:
        readable = _copy(source, tmp_path / f"spec-no-hdu2{suffix}", _hdus_0_and_1_without_z)
        with fits.open(readable) as hdulist:
            assert len(hdulist) == 2
    for reader in (read_survey_spectrum, partial(Spectrum.read, format="spec-o3 SDSS-spec")):
        spectrum = reader(readable)
        _without_redshift(spectrum)
        assert spectrum.meta["survey"] == "SDSS"
        assert spectrum.meta["class"] is None and spectrum.meta["subclass"] is None
        assert spectrum.meta["snr"] == {}
        assert np.array_equal(spectrum.flux, reference.flux)
        assert np.array_equal(spectrum.spectral_axis, reference.spectral_axis)
        assert np.array_equal(spectrum.mask, reference.mask)


def test_sdss_spspec_without_z_reads_without_redshift(tmp_path, real_data):
    source = real_data / "sdss_spSpec_thehammer/spSpec-52885-1117-201.fit"
    path = _copy(source, tmp_path / "spSpec-no-z.fit", Z=None, Z_ERR=None)
    spectrum = read_survey_spectrum(path)
    _without_redshift(spectrum)
    assert spectrum.meta["class"] == "STAR"


# --------------------------------------------------------------------- one-pass reading of a path


def _read_from_hdulist(path):
    """``path`` read by the loaders from the HDUList astropy opens, as for any other source."""
    with fits.open(path) as hdulist:
        return read_survey_spectrum(hdulist)


def _assert_identical(spectrum, reference):
    """Same arrays, units, redshift, meta (header card for card) and WCS, to the last bit."""
    for attribute in ("flux", "spectral_axis"):
        got, expected = getattr(spectrum, attribute), getattr(reference, attribute)
        assert got.unit == expected.unit and np.array_equal(got, expected, equal_nan=True)
    assert type(spectrum.uncertainty) is type(reference.uncertainty)
    assert spectrum.uncertainty.unit == reference.uncertainty.unit
    assert np.array_equal(spectrum.uncertainty.array, reference.uncertainty.array, equal_nan=True)
    assert np.array_equal(spectrum.mask, reference.mask)
    assert spectrum.redshift == reference.redshift
    assert spectrum.meta.keys() == reference.meta.keys()
    for key, value in reference.meta.items():
        if key == "header":
            assert spectrum.meta[key].tostring() == value.tostring()
        else:
            assert spectrum.meta[key] == value, key
    pixels = np.arange(len(reference.flux))
    assert np.array_equal(spectrum.wcs.pixel_to_world(pixels), reference.wcs.pixel_to_world(pixels))


@pytest.mark.parametrize(
    "name",
    [
        "real/lamost_lrs_dr1_grd349/spec-55862-B6212_sp06-003.fits",
        "real_extra/mdwarfmachine/spec-55863-M31_011N40_B1_sp07-211.fits.gz",
        "real/sdss_spSpec_thehammer/spSpec-52885-1117-201.fit",
    ],
)
def test_a_plain_image_file_is_read_in_one_pass_as_astropy_reads_it(test_data, name):
    path = test_data / name
    assert survey_format(path) is not None  # identified from the raw header, gzipped or not
    values, image = read_primary_image(path)
    with fits.open(path) as hdulist:
        header = hdulist[0].header
        assert values.header.tostring() == header.tostring()
        for keyword in header:  # every value as astropy parses it, type and all
            assert (values[keyword], type(values[keyword])) == (
                header[keyword],
                type(header[keyword]),
            )
        assert image.dtype == hdulist[0].data.dtype
        assert np.array_equal(image, hdulist[0].data, equal_nan=True)
    _assert_identical(read_survey_spectrum(path), _read_from_hdulist(path))


def _table_file(source, path, columns, extra=()):
    """A LAMOST DR8-layout file at ``path`` of the rows of the DR6 file ``source`` as
    ``columns(name, row)`` (fits.Column arguments), plus the ``extra`` columns."""
    with fits.open(source) as hdulist:
        header, image = hdulist[0].header.copy(), hdulist[0].data
    header.remove("EXTEN0")
    rows = dict(zip(["FLUX", "IVAR", "WAVELENGTH", "ANDMASK", "ORMASK"], image, strict=True))
    table = fits.BinTableHDU.from_columns(
        [*extra, *(fits.Column(**columns(name, row)) for name, row in rows.items())]
    )
    fits.HDUList([fits.PrimaryHDU(header=header), table]).writeto(path)
    return path


TABLE_LAYOUTS = {
    "one-row-of-arrays": (
        lambda name, row: dict(name=name, format=f"{row.size}E", array=row[None])
    ),
    "pixel-per-row": (lambda name, row: dict(name=name, format="E", array=row)),
    "lower-case-names": (
        lambda name, row: dict(name=name.lower(), format=f"{row.size}E", array=row[None])
    ),
    # left to astropy: a scaled column, a column with dimensions, a logical mask
    "scaled-flux": (
        lambda name, row: dict(
            name=name,
            format=f"{row.size}E",
            array=row[None],
            bscale=2.0 if name == "FLUX" else None,
        )
    ),
    "dimensions": (
        lambda name, row: dict(
            name=name, format=f"{row.size}E", array=row[None], dim=f"({row.size})"
        )
    ),
    "logical-andmask": (
        lambda name, row: (
            dict(name=name, format=f"{row.size}L", array=row[None] != 0)
            if name == "ANDMASK"
            else dict(name=name, format=f"{row.size}E", array=row[None])
        )
    ),
}


@pytest.mark.parametrize("suffix", [".fits", ".fits.gz"])
@pytest.mark.parametrize("layout", TABLE_LAYOUTS)
def test_a_table_file_is_read_in_one_pass_where_plain_as_astropy_reads_it(
    tmp_path, lamost_files, layout, suffix
):
    path = _table_file(
        lamost_files["DR6"],
        tmp_path / f"spec-dr8{suffix}",
        TABLE_LAYOUTS[layout],
        extra=[fits.Column(name="OBJNAME", format="8A", array=np.array(["a star"]))],
    )
    assert survey_format(path) == "spec-o3 LAMOST-LRS-table"
    one_pass = read_first_table(path, {"FLUX", "IVAR", "WAVELENGTH"}, {"ANDMASK"}) is not None
    assert one_pass == (layout in ("one-row-of-arrays", "pixel-per-row", "lower-case-names"))
    _assert_identical(read_survey_spectrum(path), _read_from_hdulist(path))


@pytest.mark.parametrize("suffix", [".fits", ".fits.gz"])
def test_an_sdss_spec_file_is_read_in_one_pass_as_astropy_reads_it(tmp_path, real_data, suffix):
    raw = (real_data / "sdss_boss_pyhammer_testcase/spec-1123-52882-0065.fits").read_bytes()
    path = tmp_path / f"spec-1123-52882-0065{suffix}"
    path.write_bytes(gzip.compress(raw) if suffix.endswith(".gz") else raw)
    assert survey_format(path) == "spec-o3 SDSS-spec"
    assert read_first_table(path, {"FLUX", "IVAR", "LOGLAM"}, {"AND_MASK"}) is not None
    spectrum = read_survey_spectrum(path)
    assert spectrum.meta["class"] and spectrum.meta["snr"]  # from the summary table of HDU 2
    _assert_identical(spectrum, _read_from_hdulist(path))


def _replace_card(raw, keyword, card):
    """``raw`` FITS bytes with the first card of ``keyword`` replaced by the text ``card``."""
    start = raw.index(keyword.ljust(8).encode())
    return raw[:start] + card.ljust(80).encode() + raw[start + 80 :]


def _with_extension(raw):
    extension = fits.ImageHDU(np.zeros(3, np.float32))
    return raw + extension.header.tostring().encode() + extension.data.astype(">f4").tobytes()


@pytest.mark.parametrize(
    "edit, one_pass",
    [
        pytest.param(lambda raw: raw + b"\0" * 700, True, id="bytes-after-the-data"),
        pytest.param(_with_extension, True, id="extension-with-EXTEND"),
        # astropy sets EXTEND = T in the header it reads: left to astropy
        pytest.param(
            lambda raw: _with_extension(_replace_card(raw, "EXTEND", "EXTEND  = F")),
            False,
            id="extension-with-EXTEND-F",
        ),
        pytest.param(
            lambda raw: _replace_card(raw, "VACUUM", "BSCALE  = 2.0"), False, id="scaled-data"
        ),
        pytest.param(lambda raw: _replace_card(raw, "END", "END xx"), False, id="odd-END-card"),
        pytest.param(lambda raw: raw[: len(raw) - 3000], False, id="truncated-data"),
    ],
)
def test_other_layouts_are_left_to_astropy_with_the_same_result(
    tmp_path, lamost_files, edit, one_pass
):
    path = tmp_path / "spec-edited.fits"
    path.write_bytes(edit(lamost_files["DR1"].read_bytes()))
    assert (read_primary_image(path) is not None) == one_pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)  # astropy's notes on the odd files
        try:
            reference = _read_from_hdulist(path)
        except OSError as error:  # the same error, naming the file the same way
            with pytest.raises(OSError) as info:
                read_survey_spectrum(path)
            assert str(info.value) == str(error)
            return
        _assert_identical(read_survey_spectrum(path), reference)


def test_a_file_the_identifiers_cannot_decide_on_gets_the_full_reading(tmp_path, real_data):
    """A garbled card (text where the fibre number goes) fails spec-o3's identifiers: the file is
    read the full way, which names it in an UnvettableSpectrum, never a TypeError."""
    raw = (real_data / "sdss_boss_pyhammer_testcase/spec-1123-52882-0065.fits").read_bytes()
    path = tmp_path / "spec-garbled.fits"
    path.write_bytes(_replace_card(raw, "FIBERID", "FIBERID = 'x'"))
    assert survey_format(path) is None
    for read in (read_for_inspection, lambda path: list(iter_targets(path))):
        with pytest.raises(UnvettableSpectrum, match="spec-garbled.fits: cannot be read"):
            read(path)


CARD_VALUES = [
    "12",
    "-0012 / a comment",
    "+3.25",
    "1.5E-03/no space before the comment",
    "1E5",
    ".5",
    "1.5e-03",  # lower case: astropy's business
    "1.5D-03",
    "T",
    "(1.0, 2.0)",
    "'LAMOST  '",
    "'it''s'   / quoted quote",
    "''",
    "'  leading'",
    "'AXIS.1: 1'",  # a record-valued keyword card
    "'A long string value that goes on &'",
    ("'A long string value that goes on &'", "CONTINUE  'in the next card'"),
]


@pytest.mark.parametrize("value", CARD_VALUES)
def test_header_values_are_astropys_values(value):
    value, *continued = (value,) if isinstance(value, str) else value
    cards = [
        f"KEY     = {value}",
        *continued,
        "OTHER   = 'x'",
        "key     = 7",
        "COMMENT = 'a comment, not a value'",
        "END",
    ]
    block = "".join(card.ljust(80) for card in cards).ljust(2880).encode()
    header = fits.Header.fromstring(block.decode())
    cards = _RawCards()
    _block_cards(block, cards)
    values = HeaderValues(header, cards)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)  # astropy's notes on odd cards
        for keyword in ("KEY", "OTHER", "COMMENT"):
            assert values[keyword] == header[keyword]
            assert type(values[keyword]) is type(header[keyword])
    assert values.get("MISSING") is None and "KEY" in values and "MISSING" not in values


def test_spectra_on_one_wavelength_grid_share_its_wcs(real_data):
    folder = real_data / "lamost_lrs_dr1_grd349"
    first, second = (
        read_survey_spectrum(folder / f"spec-55862-B6212_sp06-{n}.fits") for n in ("003", "008")
    )
    other_grid = read_survey_spectrum(real_data / "sdss_spSpec_thehammer/spSpec-52885-1117-201.fit")
    assert np.array_equal(first.spectral_axis, second.spectral_axis)
    assert first.wcs is second.wcs and other_grid.wcs is not first.wcs
    for spectrum in (first, other_grid):
        pixels = np.arange(len(spectrum.flux))
        assert np.array_equal(spectrum.wcs.pixel_to_world(pixels), spectrum.spectral_axis)


def test_grids_that_differ_inside_get_their_own_wcs():
    """The shared WCS is looked up by size and end points, and used only for an equal grid."""
    grid = np.linspace(4000.0, 5000.0, 50)
    other = grid.copy()
    other[20] += 1e-9
    wcs = grid_wcs(grid)
    assert grid_wcs(grid.copy()) is wcs
    other_wcs = grid_wcs(other)
    assert other_wcs is not wcs
    pixels = np.arange(50)
    assert np.array_equal(other_wcs.pixel_to_world(pixels).value, other)
    grid[0] = 1.0  # the caller's array may change: the WCS keeps its own copy
    assert wcs.pixel_to_world(pixels)[0].value == 4000.0


# ------------------------------------------------------------------------------------- bad input


def _truncated(tmp_path, pixels):
    path = tmp_path / "spec-truncated.fits"
    dr1_image(pixels).writeto(path)
    path.write_bytes(path.read_bytes()[: 2880 + 1000])
    return path


def _header_cut(tmp_path, pixels):
    path = tmp_path / "spec-header-cut.fits"
    dr1_image(pixels).writeto(path)
    path.write_bytes(path.read_bytes()[:1000])
    return path


def _not_fits(tmp_path, pixels):
    path = tmp_path / "spec-not-fits.fits"
    path.write_bytes(b"this is not a FITS file\n" * 200)
    return path


def _bad_gzip(tmp_path, pixels):
    path = tmp_path / "spec-bad.fits.gz"
    path.write_bytes(gzip.compress(b"\x00" * 5000)[:200])
    return path


def _one_row(tmp_path, pixels):
    path = tmp_path / "spec-one-row.fits"
    fits.PrimaryHDU(pixels[0][None], header=fits.Header(LAMOST_CARDS)).writeto(path)
    return path


def _mismatched(tmp_path, pixels):
    flux, ivar, _, _ = pixels
    columns = [
        fits.Column(name="FLUX", format=f"{N_PIX}E", array=flux[None]),
        fits.Column(name="IVAR", format=f"{N_PIX}E", array=ivar[None]),
        fits.Column(name="WAVELENGTH", format=f"{N_PIX - 10}E", array=WAVELENGTH[None, :-10]),
    ]
    path = tmp_path / "spec-mismatched.fits"
    fits.HDUList(
        [fits.PrimaryHDU(header=fits.Header(LAMOST_CARDS)), fits.BinTableHDU.from_columns(columns)]
    ).writeto(path)
    return path


def _all_nan(tmp_path, pixels):
    path = tmp_path / "spec-all-nan.fits"
    nan_pixels = (np.full(N_PIX, np.nan, np.float32), *pixels[1:])
    dr7_image(nan_pixels, {"EXTEN0": WAVELENGTH_ROWS}).writeto(path)
    return path


def _empty(tmp_path, pixels):
    columns = [
        fits.Column(name=name, format="E", array=np.zeros(0))
        for name in ("FLUX", "IVAR", "WAVELENGTH")
    ]
    path = tmp_path / "spec-empty.fits"
    fits.HDUList(
        [fits.PrimaryHDU(header=fits.Header(LAMOST_CARDS)), fits.BinTableHDU.from_columns(columns)]
    ).writeto(path)
    return path


def _non_monotonic(tmp_path, pixels):
    path = tmp_path / "spec-non-monotonic.fits"
    hdulist = dr7_image(pixels, {"EXTEN0": WAVELENGTH_ROWS})
    hdulist[0].data[2, [10, 11]] = hdulist[0].data[2, [11, 10]]
    hdulist.writeto(path)
    return path


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(
    "make, error, message",
    [
        (_truncated, OSError, "truncated or corrupt FITS data"),
        (_one_row, ValueError, r"not fit the public order .* has shape \(1, 300\)"),
        (_mismatched, ValueError, "of one length"),
        (_all_nan, ValueError, "flux has no finite values"),
        (_empty, ValueError, "spectrum is empty"),
        (_non_monotonic, ValueError, "strictly increasing"),
    ],
)
def test_bad_input_raises_a_clear_error_naming_the_file(
    tmp_path, pixels, reader, make, error, message
):
    path = make(tmp_path, pixels)
    # astropy warns about corrupt files before failing; as errors, its warnings would leak file
    # handles and replace the failure the user sees
    with warnings.catch_warnings(), pytest.raises(error, match=message) as info:
        warnings.simplefilter("ignore", AstropyWarning)
        reader(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("make", [_header_cut, _not_fits, _bad_gzip])
def test_a_fits_name_on_other_bytes_is_explained_by_spec_o3_not_by_a_catch_all(
    tmp_path, pixels, make
):
    """No loader of spec_o3 claims such files, so ``Spectrum.read`` answers as specutils does;
    spec-o3's own reading path says why the bytes are not FITS."""
    path = make(tmp_path, pixels)
    with pytest.raises(IORegistryError, match="Format could not be identified"):
        Spectrum.read(path)
    with pytest.raises(OSError, match="not a readable FITS file") as info:
        read_survey_spectrum(path)
    assert str(info.value).startswith(f"{path}: ")
    with pytest.raises(UnvettableSpectrum, match="cannot be read: not a readable FITS file"):
        read_for_inspection(path)


# ------------------------------------------------------------------------------------- the writer


@pytest.fixture
def simulated():
    rng = np.random.default_rng(7)
    n = 3909
    wave = 10 ** (COEFF0 + COEFF1 * np.arange(n)) * u.AA
    ivar = rng.uniform(50, 150, n)
    ivar[1000:1020] = 0
    mask = ivar == 0
    mask[2000] = True
    meta = {
        "class": "STAR",
        "subclass": "M5III",
        "redshift": 1.2345678901234e-4,
        "snr": {"g": 12.5, "r": 20.25},
    }
    return Spectrum(
        flux=rng.normal(1, 0.1, n) * u.one,
        spectral_axis=wave,
        uncertainty=InverseVariance(ivar),
        mask=mask,
        meta=meta,
    )


@pytest.mark.parametrize("suffix", [".fits", ".fits.gz"])
def test_writer_round_trips_exactly(tmp_path, simulated, suffix):
    path = tmp_path / f"spec-sim{suffix}"
    simulated.write(path, format="spec-o3 LAMOST-LRS")
    spectrum = Spectrum.read(path)
    assert spectrum.meta["survey"] == "LAMOST"
    assert np.array_equal(spectrum.flux, simulated.flux)
    assert np.array_equal(spectrum.spectral_axis, simulated.spectral_axis)
    assert np.array_equal(spectrum.uncertainty.array, simulated.uncertainty.array)
    assert np.array_equal(spectrum.mask, simulated.mask)
    for key in ("class", "subclass", "redshift", "snr"):
        assert spectrum.meta[key] == simulated.meta[key]
    header = spectrum.meta["header"]
    assert header["TELESCOP"] == "LAMOST" and header["COEFF1"] == pytest.approx(COEFF1)
    assert header["COEFF0"] == pytest.approx(COEFF0)


def test_writer_keeps_float32_data_compact_and_units(tmp_path, simulated):
    flux = simulated.flux.value.astype(np.float32) * SDSS_FLUX
    spectrum = Spectrum(
        flux=flux,
        spectral_axis=simulated.spectral_axis.value.astype(np.float32) * u.AA,
        uncertainty=StdDevUncertainty(np.full(flux.shape, 0.5)),
    )
    path = tmp_path / "spec-f32.fits"
    spectrum.write(path, format="spec-o3 LAMOST-LRS")
    again = Spectrum.read(path)
    assert fits.getheader(path)["BITPIX"] == -32
    assert again.flux.unit == SDSS_FLUX and np.array_equal(again.flux, spectrum.flux)
    assert np.array_equal(again.uncertainty.array, np.full(flux.shape, 4.0))


def test_writer_round_trips_a_real_dr1_file(tmp_path, real_data):
    original = read_survey_spectrum(
        real_data / "lamost_lrs_dr1_grd349/spec-55862-B6212_sp06-049.fits"
    )
    path = tmp_path / "copy.fits"
    original.write(path, format="spec-o3 LAMOST-LRS")
    copy = Spectrum.read(path)
    assert np.array_equal(copy.spectral_axis, original.spectral_axis)
    assert np.array_equal(copy.flux, original.flux) and np.array_equal(copy.mask, original.mask)
    assert copy.meta["header"]["DESIG"] == original.meta["header"]["DESIG"]  # other cards copied
    assert copy.meta["header"]["EXTEN0"].split()[2] == "Wavelength"
    for key in ("class", "subclass", "redshift", "snr"):
        assert copy.meta[key] == original.meta[key]


def test_writer_linear_grid_has_no_log_solution(tmp_path, simulated):
    wave = np.linspace(3700, 9100, 500) * u.AA
    spectrum = Spectrum(
        flux=np.ones(500) * u.one, spectral_axis=wave, uncertainty=InverseVariance(np.ones(500))
    )
    path = tmp_path / "linear.fits"
    spectrum.write(path, format="spec-o3 LAMOST-LRS")
    assert "COEFF0" not in fits.getheader(path)
    assert np.array_equal(Spectrum.read(path).spectral_axis, wave)


def test_writer_overwrite_and_bad_input(tmp_path, simulated):
    path = tmp_path / "spec.fits"
    simulated.write(path, format="spec-o3 LAMOST-LRS")
    with pytest.raises(OSError, match="already exists"):
        simulated.write(path, format="spec-o3 LAMOST-LRS")
    simulated.write(path, format="spec-o3 LAMOST-LRS", overwrite=True)
    bare = Spectrum(flux=simulated.flux, spectral_axis=simulated.spectral_axis)
    with pytest.raises(ValueError, match="has no uncertainty"):
        bare.write(tmp_path / "bare.fits", format="spec-o3 LAMOST-LRS")


# ------------------------------------------------------------- zero inverse variance on real flux


@pytest.mark.parametrize("layout", ["dr1-subcontinuum", "table-1xN-arrays"])
def test_mask_zero_ivar_false_keeps_real_flux_without_variance(tmp_path, pixels, layout):
    flux, ivar, andmask, expected_mask = pixels
    ivar = ivar.copy()
    ivar[150:155] = 0.0  # real flux, no variance estimate (LAMOST DR1 emission-line peaks)
    build, options = LAYOUTS[layout]
    path = tmp_path / "spec-zero-ivar.fits"
    build((flux, ivar, andmask, expected_mask), **options).writeto(path)

    assert Spectrum.read(path).mask[150:155].all()
    kept = Spectrum.read(path, mask_zero_ivar=False)
    assert not kept.mask[150:155].any()
    assert np.array_equal(kept.uncertainty.array[150:155], np.zeros(5))
    # dropouts (flux and ivar both zero), flagged and NaN pixels stay masked either way
    assert np.array_equal(kept.mask, expected_mask)
    assert np.array_equal(read_survey_spectrum(path, mask_zero_ivar=False).mask, expected_mask)


def test_read_for_inspection_shows_the_emission_peak_lamost_dr1_leaves_without_variance(real_data):
    path = real_data / "lamost_lrs_podondra_emission" / "spec-56351-GAC108N13V4_sp14-219.fits"
    default, inspected = Spectrum.read(path), read_for_inspection(path)
    wavelength = default.spectral_axis.to_value(u.AA)
    peak = (wavelength > 6559) & (wavelength < 6571)  # H alpha emission, ivar == 0 in the file
    assert default.mask[peak].all()
    assert not inspected.mask[peak].any()
    continuum = np.median(inspected.flux[(wavelength > 6450) & (wavelength < 6540)])
    assert inspected.flux[peak].max() > 1.8 * continuum


@pytest.mark.filterwarnings("ignore::astropy.io.fits.verify.VerifyWarning")  # STELIB's cards
@pytest.mark.filterwarnings("ignore::astropy.wcs.FITSFixedWarning")
@pytest.mark.filterwarnings("ignore::astropy.units.UnitsWarning")  # "erg /s /cm2 /angstroms"
def test_a_stelib_file_whose_unit_spells_angstroms_is_read(test_data):
    # BUNIT "erg /s /cm2 /angstroms": astropy's FITS unit parser knows only "Angstrom".
    spectrum = read_for_inspection(test_data / "libraries/stelib/STELIB_v3.2_HD012479.fits")
    assert spectrum.flux.unit == u.erg / u.s / u.cm**2 / u.AA
    assert spectrum.spectral_axis[0].to_value(u.AA) == pytest.approx(3200.99)
