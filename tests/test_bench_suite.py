"""Suites: building, selecting, saving and loading (FITS, Parquet), and SpecVI-Bench-style rows."""

import sys

import astropy.units as u
import numpy as np
import pytest
from astropy.nddata import InverseVariance, StdDevUncertainty
from astropy.table import Table
from specutils import Spectrum

from spec_o3.bench import Suite
from spec_o3.bench.specvi import parse_label, task_from_text

FLUX_UNIT = u.erg / u.s / u.cm**2 / u.AA


def _spectrum(n, seed, *, uncertainty=True):
    rng = np.random.default_rng(seed)
    ivar = np.full(n, 4.0)
    ivar[2] = 0  # a bad pixel, masked as LAMOST files mark them
    return Spectrum(
        spectral_axis=np.geomspace(3700, 9100, n) * u.AA,
        flux=rng.normal(1, 0.1, n) * FLUX_UNIT,
        uncertainty=InverseVariance(ivar * FLUX_UNIT**-2) if uncertainty else None,
        mask=ivar == 0,
    )


@pytest.fixture
def suite():
    spectra = [
        _spectrum(40, 0),
        _spectrum(55, 1),
        _spectrum(47, 2),
        _spectrum(40, 3, uncertainty=False),
    ]
    return Suite.from_spectra(
        spectra,
        ["cc", "carbon_star", "wd", "white_dwarf"],
        ["YES", "no", True, "\\boxed{NO}"],
        redshift=[0.0, 0.001, 0.0, 0.002],
        ids=["a", "b", "c", "d"],
        snr=[10.0, 20.0, 30.0, 40.0],
    )


def test_from_spectra_normalises_tasks_and_labels(suite):
    assert list(suite.table.colnames[:4]) == ["id", "task", "label", "redshift"]
    assert list(suite.table["task"]) == ["carbon_star", "carbon_star", "white_dwarf", "white_dwarf"]
    assert list(suite.table["label"]) == ["YES", "NO", "YES", "NO"]
    assert suite.tasks == ("carbon_star", "white_dwarf")
    assert repr(suite) == "<Suite of 4 questions: carbon_star 2 (1 YES), white_dwarf 2 (1 YES)>"
    assert len(suite.spectrum(1).flux) == 55


def test_redshift_defaults_to_the_spectrum_meta():
    spectrum = _spectrum(20, 0)
    spectrum.meta["redshift"] = 0.5
    assert Suite.from_spectra([spectrum], "cv", ["NO"]).table["redshift"][0] == 0.5


def test_bad_suites_are_rejected():
    with pytest.raises(ValueError, match="unknown task 'xx'"):
        Suite.from_spectra([_spectrum(10, 0)], "xx", ["YES"])
    with pytest.raises(ValueError, match="YES/NO label"):
        Suite.from_spectra([_spectrum(10, 0)], "cc", ["perhaps"])
    with pytest.raises(ValueError, match="spectrum column or a file column"):
        Suite(Table({"task": ["cc"], "label": ["YES"]}))
    with pytest.raises(ValueError, match="missing: label"):
        Suite(Table({"task": ["cc"], "file": ["x.fits"]}))


def test_indexing_selection_and_sampling(suite):
    assert isinstance(suite[0], Suite) and len(suite[0]) == 1
    assert list(suite[1:3].table["id"]) == ["b", "c"]
    assert list(suite.select("wd").table["id"]) == ["c", "d"]
    sample = suite.sample(1, seed=4)
    assert sorted(sample.table["task"]) == ["carbon_star", "white_dwarf"]
    assert list(sample.table["id"]) == list(suite.sample(1, seed=4).table["id"])
    assert len(suite.sample(10)) == 4
    with pytest.raises(ValueError, match="limit must be a positive integer"):
        suite.sample(0)


def _assert_same_spectra(original, loaded):
    assert len(original) == len(loaded)
    for column in ("id", "task", "label", "redshift", "snr"):
        assert list(original.table[column]) == list(loaded.table[column])
    for i in range(len(original)):
        a, b = original.spectrum(i), loaded.spectrum(i)
        assert u.allclose(a.spectral_axis, b.spectral_axis)
        assert u.allclose(a.flux, b.flux)
        assert np.array_equal(a.mask, b.mask)
        if a.uncertainty is None:
            assert b.uncertainty is None
        else:
            assert u.allclose(a.uncertainty.quantity, b.uncertainty.quantity)
        assert b.meta["redshift"] == original.table["redshift"][i]


@pytest.mark.parametrize("name", ["suite.fits", "suite.parquet"])
def test_write_read_round_trip(suite, tmp_path, name):
    if name.endswith(".parquet"):
        pytest.importorskip("pyarrow")
    suite.write(tmp_path / name)
    _assert_same_spectra(suite, Suite.read(tmp_path / name))
    with pytest.raises(OSError, match="exists"):
        suite.write(tmp_path / name)
    suite.write(tmp_path / name, overwrite=True)


def test_write_converts_flux_units_and_uncertainties(tmp_path):
    per_hz = Spectrum(
        spectral_axis=np.linspace(4000, 5000, 10) * u.AA,
        flux=np.full(10, 3.0) * u.mJy,
        uncertainty=StdDevUncertainty(np.full(10, 0.5)),
    )
    suite = Suite.from_spectra([_spectrum(10, 0), per_hz], "cc", ["YES", "NO"])
    suite.write(tmp_path / "mixed.fits")
    loaded = Suite.read(tmp_path / "mixed.fits").spectrum(1)
    expected = per_hz.flux.to(FLUX_UNIT, equivalencies=u.spectral_density(per_hz.spectral_axis))
    assert u.allclose(loaded.flux, expected)
    # sigma scales like the flux
    sigma = 1 / np.sqrt(loaded.uncertainty.quantity)
    assert u.allclose(sigma, expected / 6)

    with pytest.raises(ValueError, match="question 1: flux unit differs"):
        Suite.from_spectra(
            [
                _spectrum(10, 0),
                Spectrum(
                    flux=np.ones(5) * u.count, spectral_axis=np.arange(5.0) * u.AA + 4000 * u.AA
                ),
            ],
            "cc",
            ["YES", "NO"],
        ).write(tmp_path / "bad.fits")


def test_unknown_file_types_are_refused(suite, tmp_path):
    with pytest.raises(ValueError, match=r"\.fits or \.parquet"):
        suite.write(tmp_path / "suite.csv")
    (tmp_path / "suite.csv").write_text("x\n")
    with pytest.raises(ValueError, match="expected a directory"):
        Suite.read(tmp_path / "suite.csv")
    with pytest.raises(OSError, match="does not exist"):
        Suite.read(tmp_path / "nowhere.fits")


def test_parquet_without_pyarrow_names_the_extra(suite, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # makes `import pyarrow` fail
    with pytest.raises(ImportError, match=r"spec-o3\[parquet\]"):
        suite.write(tmp_path / "suite.parquet")


def _write_simulation_dir(directory, task, labels, tmp_spectra=None):
    """A stand-in for `spec-o3 simulate` output: spectra files plus labels.ecsv."""
    directory.mkdir()
    files = []
    for i, _ in enumerate(labels):
        name = f"{task}-{i:04d}.fits"
        _spectrum(30, i, uncertainty=False).write(directory / name, format="tabular-fits")
        files.append(name)
    table = Table(
        {
            "file": files,
            "task": [task] * len(labels),
            "label": labels,
            "class": ["x"] * len(labels),
            "snr": np.arange(len(labels), dtype=float),
            "redshift": np.zeros(len(labels)),
        }
    )
    table.meta["task"] = task  # differs between directories: must not break stacking
    table.write(directory / "labels.ecsv")


def test_from_simulation_directories(tmp_path):
    _write_simulation_dir(tmp_path / "cc", "cc", ["YES", "NO", "NO"])
    _write_simulation_dir(tmp_path / "wd", "white_dwarf", ["NO", "YES"])
    suite = Suite.from_simulation(tmp_path / "cc", tmp_path / "wd")
    assert len(suite) == 5
    assert list(suite.table["id"]) == [
        "cc-0000",
        "cc-0001",
        "cc-0002",
        "white_dwarf-0000",
        "white_dwarf-0001",
    ]
    assert suite.table["file"][3] == str(tmp_path / "wd" / "white_dwarf-0000.fits")
    assert suite.tasks == ("carbon_star", "white_dwarf")
    assert "class" in suite.table.colnames
    assert suite.table["spectrum"][0] is None  # read lazily
    assert Suite.read(tmp_path / "wd").table["id"][1] == "white_dwarf-0001"


def test_from_simulation_reports_missing_parts(tmp_path):
    with pytest.raises(OSError, match="does not exist"):
        Suite.from_simulation(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(OSError, match="no label table"):
        Suite.from_simulation(tmp_path / "empty")


def test_unreadable_file_raises_oserror(tmp_path):
    (tmp_path / "junk.fits").write_bytes(b"not a fits file")
    suite = Suite(Table({"task": ["cc"], "label": ["YES"], "file": [str(tmp_path / "junk.fits")]}))
    with pytest.raises(OSError):
        suite.spectrum(0)


# -- SpecVI-Bench-style rows ----------------------------------------------------------------------


def _write_specvi_parquet(path, **overrides):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rng = np.random.default_rng(0)
    lengths = (30, 31, 29)
    columns = {
        "obsid": pa.array([101, 102, 103]),
        "question": pa.array(
            [
                "Analyze the provided spectrum to determine if it is a Carbon Star (C-type).",
                "Analyze the provided spectrum to determine if it is a White Dwarf.",
                "Analyze the provided spectrum to determine if it is a M-type Giant.",
            ]
        ),
        "Answer": pa.array(["<answer>\\boxed{YES}</answer>", "\\boxed{NO}", "yes"]),
        "Wavelength": pa.array(
            [np.geomspace(3700, 9100, n) for n in lengths], type=pa.list_(pa.float32())
        ),
        "flux": pa.array([rng.normal(1, 0.1, n) for n in lengths]),
        "flux_err": pa.array([np.full(n, 0.5) for n in lengths]),
        "z": pa.array([0.0, 0.1, -0.0002]),
        "image": pa.array([{"bytes": b"png", "path": "x.png"}] * 3),  # plots: not spectra, dropped
        "snr_g": pa.array([5.0, 6.0, 7.0]),
    }
    columns.update(overrides)
    pq.write_table(
        pa.table({name: value for name, value in columns.items() if value is not None}), path
    )


def test_specvi_parquet_rows(tmp_path):
    _write_specvi_parquet(tmp_path / "specvi.parquet")
    suite = Suite.read(tmp_path / "specvi.parquet")
    assert list(suite.table["id"]) == ["101", "102", "103"]
    assert list(suite.table["task"]) == ["carbon_star", "white_dwarf", "m_giant"]
    assert list(suite.table["label"]) == ["YES", "NO", "YES"]
    assert list(suite.table["redshift"]) == [0.0, 0.1, -0.0002]
    assert list(suite.table["snr_g"]) == [5.0, 6.0, 7.0]
    assert "image" not in suite.table.colnames
    spectrum = suite.spectrum(1)
    assert len(spectrum.flux) == 31 and spectrum.spectral_axis.unit == u.AA
    assert np.allclose(spectrum.uncertainty.represent_as(InverseVariance).array, 4.0)


def test_specvi_loglam_and_task_override(tmp_path):
    pa = pytest.importorskip("pyarrow")
    _write_specvi_parquet(
        tmp_path / "wd.parquet",
        question=None,
        Wavelength=None,
        loglam=pa.array([np.linspace(3.57, 3.96, n) for n in (30, 31, 29)]),
    )
    suite = Suite.read(tmp_path / "wd.parquet", task="wd")
    assert set(suite.table["task"]) == {"white_dwarf"}
    assert suite.spectrum(0).spectral_axis[0].to_value(u.AA) == pytest.approx(10**3.57)


@pytest.mark.parametrize(
    ("drop", "message"),
    [
        ("flux", "no flux column"),
        ("Answer", "no label column"),
        ("question", "no task column; accepted names"),
    ],
)
def test_specvi_missing_columns_list_accepted_names(tmp_path, drop, message):
    _write_specvi_parquet(tmp_path / "bad.parquet", **{drop: None})
    with pytest.raises(ValueError, match=message):
        Suite.read(tmp_path / "bad.parquet")


def test_label_and_task_parsing():
    assert [parse_label(value) for value in ("Yes", "FALSE", 1, np.False_)] == [
        "YES",
        "NO",
        "YES",
        "NO",
    ]
    with pytest.raises(ValueError, match="cannot read a YES/NO label"):
        parse_label("YES or NO")
    assert task_from_text("S-type Star") == "s_star"
    assert task_from_text("Is it a cataclysmic variable?") == "cataclysmic_variable"
    with pytest.raises(ValueError, match="several tasks"):
        task_from_text("a carbon star or a white dwarf")
    with pytest.raises(ValueError, match="no registered task"):
        task_from_text("a quasar")
