"""Tests of the simulator: determinism, labels, the physics of each class, files and the CLI."""

from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table
from specutils import Spectrum

import spec_o3  # noqa: F401  (registers the LAMOST reader and writer)
from spec_o3.analysis import band_strength
from spec_o3.catalog import atomic_lines, molecular_bands
from spec_o3.cli import main
from spec_o3.simulate import CLASSES, confusers, draw_suite, positives, priors, simulate_spectrum
from spec_o3.simulate.extinction import redden
from spec_o3.simulate.files import survey_view, write_survey_file
from spec_o3.simulate.grid import lamost_wavelength
from spec_o3.simulate.instrument import degrade_to_survey, interstellar_absorption
from spec_o3.simulate.molecules import bands
from spec_o3.simulate.priors import Priors, prior_table, quasar_lines
from spec_o3.simulate.spectral_types import DWARF_TEFF, GIANT_TEFF
from spec_o3.simulate.tables import read_table
from spec_o3.tasks import task_ids

# Clean observing conditions for physics tests: no calibration error, reddening or dichroic gap.
CLEAN = {
    "ebv": 0.0,
    "calibration": np.zeros(5),
    "arm_step": 0.0,
    "dichroic_gap": None,
    "sky_level": 0.01,
}


def _depth(spectrum, band):
    return float(band_strength(spectrum, band).value)


def _line_width(spectrum, centre, half_window=150.0):
    """Equivalent width (Å, positive for absorption) and FWHM (Å) against a straight continuum."""
    wave = spectrum.spectral_axis.to_value(u.AA)
    flux = spectrum.flux.value
    good = ~spectrum.mask
    side = (np.abs(np.abs(wave - centre) - half_window) < 15) & good
    fit = np.polyfit(wave[side], flux[side], 1)
    inside = (np.abs(wave - centre) < half_window) & good
    normalised = flux[inside] / np.polyval(fit, wave[inside])
    w = wave[inside]
    ew = np.trapezoid(1 - normalised, w)
    depth = 1 - normalised[np.argmin(np.abs(w - centre))] if ew > 0 else normalised.max() - 1
    profile = (1 - normalised) if ew > 0 else (normalised - 1)
    above = w[profile > depth / 2]
    return ew, above.max() - above.min()


def test_same_seed_same_spectrum():
    a = simulate_spectrum("carbon_star", seed=42)
    b = simulate_spectrum("carbon_star", seed=42)
    c = simulate_spectrum("carbon_star", seed=43)
    assert np.array_equal(a.flux, b.flux)
    assert np.array_equal(a.uncertainty.array, b.uncertainty.array)
    assert np.array_equal(a.mask, b.mask)
    assert a.meta["params"] == b.meta["params"] and a.meta["seed"] == 42
    assert not np.array_equal(a.flux, c.flux)


def test_rng_draws_a_reproducible_seed():
    spectrum = simulate_spectrum("fgk_dwarf", rng=np.random.default_rng(5))
    again = simulate_spectrum(
        "fgk_dwarf", seed=spectrum.meta["seed"], snr=spectrum.meta["target_snr"]
    )
    assert np.array_equal(spectrum.flux, again.flux)


def test_overriding_a_parameter_changes_only_that_parameter():
    base = simulate_spectrum("m_giant", seed=3)
    hotter = simulate_spectrum("m_giant", seed=3, teff=base.meta["params"]["teff"] + 300)
    assert hotter.meta["params"]["logg"] == base.meta["params"]["logg"]
    assert hotter.meta["conditions"] == base.meta["conditions"]


@pytest.mark.parametrize("kind", sorted(CLASSES))
def test_every_class_gives_a_finite_labelled_lamost_spectrum(kind):
    spectrum = simulate_spectrum(kind, seed=7, snr=30)
    assert u.allclose(spectrum.spectral_axis, lamost_wavelength())
    assert spectrum.flux.unit.is_equivalent(u.erg / u.s / u.cm**2 / u.AA)
    assert np.all(np.isfinite(spectrum.flux)) and np.all(np.isfinite(spectrum.uncertainty.array))
    assert np.all(spectrum.uncertainty.array >= 0)
    assert np.all(spectrum.uncertainty.array[spectrum.mask] == 0)
    assert spectrum.mask.mean() < 0.3
    meta = spectrum.meta
    assert meta["class"] == kind and meta["seed"] == 7 and meta["target_snr"] > 0
    assert set(meta["snr"]) == set("ugriz")
    assert set(meta["labels"]) == set(task_ids())
    yes = [task for task, label in meta["labels"].items() if label == "YES"]
    assert yes == ([CLASSES[kind].positive_for] if CLASSES[kind].positive_for else [])


def test_task_label_follows_the_class():
    assert simulate_spectrum("white_dwarf", seed=1, task="wd").meta["label"] == "YES"
    assert simulate_spectrum("ab_star", seed=1, task="white_dwarf").meta["label"] == "NO"


def test_achieved_snr_is_near_the_target():
    spectrum = simulate_spectrum("fgk_dwarf", seed=2, snr=40, **CLEAN)
    good = ~spectrum.mask
    achieved = np.median(
        np.abs(spectrum.flux.value[good]) * np.sqrt(spectrum.uncertainty.array[good])
    )
    assert 30 < achieved < 50


def test_carbon_star_swan_bands_are_deeper_than_tio():
    spectrum = simulate_spectrum(
        "carbon_star",
        seed=1,
        snr=100,
        teff=3000.0,
        logg=0.0,
        c_to_o=1.3,
        violet_opacity=0.5,
        metallicity=0.0,
        **CLEAN,
    )
    assert _depth(spectrum, "C2_5165") > 0.3
    assert _depth(spectrum, "C2_5165") > _depth(spectrum, "TiO_7054") + 0.2


def test_m_giant_tio_deepens_with_subtype():
    m1, m6 = (
        simulate_spectrum(
            "m_giant", seed=2, snr=100, teff=GIANT_TEFF[t], logg=g, metallicity=0.0, **CLEAN
        )
        for t, g in (("M1", 1.4), ("M6", 0.4))
    )
    assert _depth(m6, "TiO_7054") > _depth(m1, "TiO_7054") + 0.2


def test_m_dwarfs_have_cah_that_m_giants_lack():
    dwarf = simulate_spectrum(
        "m_dwarf", seed=4, snr=100, teff=DWARF_TEFF["M4"], logg=4.9, metallicity=0.0, **CLEAN
    )
    giant = simulate_spectrum(
        "m_giant", seed=4, snr=100, teff=GIANT_TEFF["M4"], logg=0.8, metallicity=0.0, **CLEAN
    )
    assert _depth(dwarf, "CaH_6830") > _depth(giant, "CaH_6830") + 0.05


def test_s_star_zro_exceeds_that_of_an_m_giant():
    kwargs = dict(seed=5, snr=100, teff=3400.0, logg=0.8, metallicity=0.0, **CLEAN)
    s_star = simulate_spectrum(
        "s_star",
        c_to_o=0.95,
        s_process=1.2,
        abundances={el: 1.2 for el in ("Sr", "Y", "Zr", "Ba", "La")},
        **kwargs,
    )
    m_giant = simulate_spectrum("m_giant", **kwargs)
    assert _depth(s_star, "ZrO_6474") > _depth(m_giant, "ZrO_6474") + 0.1
    assert _depth(s_star, "TiO_7054") < _depth(m_giant, "TiO_7054")


def test_white_dwarf_balmer_lines_are_far_broader_than_an_a_stars():
    wd = simulate_spectrum(
        "white_dwarf", seed=1, snr=200, subtype="DA", teff=15000.0, logg=8.0, **CLEAN
    )
    a_star = simulate_spectrum(
        "ab_star", seed=1, snr=200, teff=9500.0, logg=4.0, broadening=40.0, **CLEAN
    )
    ew_wd, fwhm_wd = _line_width(wd, 4862.7, 200.0)
    ew_a, fwhm_a = _line_width(a_star, 4862.7, 200.0)
    assert fwhm_wd > 2.5 * fwhm_a and ew_wd > ew_a
    assert 8 < fwhm_a < 40


def test_cataclysmic_variable_has_broad_balmer_emission():
    cv = simulate_spectrum(
        "cataclysmic_variable",
        seed=1,
        snr=60,
        **CLEAN,
        subtype="dwarf nova (quiescence)",
        v_outer=600.0,
        emission={"H alpha": 80.0, "H beta": 50.0, "He I 5876": 10.0},
    )
    ew, fwhm = _line_width(cv, 6564.6, 120.0)
    assert ew < -40  # emission
    assert 15 < fwhm < 60  # ~700-2700 km/s


def test_dme_emission_is_narrow():
    dme = simulate_spectrum("dme_star", seed=1, snr=80, emission={"H alpha": 10.0}, **CLEAN)
    ew, fwhm = _line_width(dme, 6564.6, 60.0)
    assert ew < -5 and fwhm < 8


def test_quasar_lines_sit_at_their_redshift():
    qso = simulate_spectrum("quasar", seed=1, snr=50, redshift=1.0, **CLEAN)
    wave, flux = qso.spectral_axis.to_value(u.AA), qso.flux.value
    near = np.abs(wave - 2798.75 * 2.0) < 150
    assert abs(wave[near][np.argmax(flux[near])] - 5597.5) < 40


def test_reddening_reddens():
    blue, red = (simulate_spectrum("ab_star", seed=2, snr=100, ebv=ebv) for ebv in (0.0, 1.0))
    ratio = [
        np.median(s.flux.value[:300]) / np.median(s.flux.value[-600:-300]) for s in (blue, red)
    ]
    assert ratio[1] < 0.5 * ratio[0]


def test_bands_follow_the_catalogue():
    drawn = {band.name: band for band in bands()}
    for row in molecular_bands():
        if row["name"] in drawn:
            assert drawn[row["name"]].degraded == row["degraded"]
            assert drawn[row["name"]].head == pytest.approx(row["bandhead"].to_value(u.AA))


# ---- the priors as data


def test_every_prior_is_sourced_and_well_formed():
    table = prior_table()
    assert set(table["class"]) == set(CLASSES)  # every class draws from the table, no stray rows
    keys = list(zip(table["class"], table["subtype"], table["parameter"], strict=True))
    assert len(set(keys)) == len(keys)
    for row in table:
        a, b, kind = row["a"], row["b"], row["distribution"]
        assert row["reference"].strip(), keys
        assert kind in priors.DISTRIBUTIONS
        if kind in ("uniform", "log_uniform", "uniform_dex", "integer"):
            assert a < b, row
        if kind == "log_uniform":
            assert a > 0, row
        if kind in ("normal", "lognormal"):
            assert b >= 0, row
        if kind == "probability":
            assert 0 <= a <= 1, row
        if kind == "weight":
            assert a > 0, row


@pytest.mark.parametrize(
    "filename",
    [
        "simulate_priors.ecsv",
        "quasar_lines.ecsv",
        "simulate_metal_lines.ecsv",
        "simulate_molecules.ecsv",
        "simulate_bands.ecsv",
        "simulate_teff_scale.ecsv",
        "simulate_elements.ecsv",
        "simulate_oscillator_strengths.ecsv",
        "simulate_helium_lines.ecsv",
    ],
)
def test_every_simulator_table_row_cites_its_source(filename):
    table = read_table(filename)
    assert len(table) > 0
    assert all(str(reference).strip() for reference in table["reference"])


def test_subtype_shares_follow_the_table():
    weights = Priors("white_dwarf").weights()
    rng = np.random.default_rng(5)
    drawn = [CLASSES["white_dwarf"].draw(rng)["subtype"] for _ in range(2000)]
    for subtype, weight in weights.items():
        assert drawn.count(subtype) / 2000 == pytest.approx(
            weight / sum(weights.values()), abs=0.03
        )


def test_editing_the_table_changes_the_draws(monkeypatch):
    table = prior_table().copy()
    row = (table["class"] == "white_dwarf") & (table["subtype"] == "DA")
    row &= table["parameter"] == "teff"
    table["a"][row], table["b"][row] = 20000.0, 20001.0
    monkeypatch.setattr(priors, "prior_table", lambda: table)
    priors._class_rows.cache_clear()
    try:
        teff = [
            CLASSES["white_dwarf"].draw(np.random.default_rng(s), "DA")["teff"] for s in range(5)
        ]
    finally:
        priors._class_rows.cache_clear()
    assert all(20000.0 <= value <= 20001.0 for value in teff)


def test_unknown_priors_raise_clear_errors():
    with pytest.raises(KeyError, match="no prior 'colour' for class 'white_dwarf'"):
        Priors("white_dwarf").draw(np.random.default_rng(0), "colour")
    with pytest.raises(ValueError, match="no rows for class 'pulsar'"):
        Priors("pulsar").weights()
    with pytest.raises(ValueError, match="use Priors.weights"):
        Priors("white_dwarf").draw(np.random.default_rng(0), "subtype", "DA")


def test_emission_lines_are_catalogue_lines_by_name():
    catalogue = set(atomic_lines()["name"])
    rng = np.random.default_rng(0)
    names = set()
    for kind in ("dme_star", "be_star", "m_giant", "s_star", "symbiotic", "emission_line_galaxy"):
        for _ in range(60):
            params = CLASSES[kind].draw(rng)
            names |= set(params.get("emission", {})) | set(params.get("line_ratios", {}))
    for subtype in Priors("cataclysmic_variable").weights():
        names |= set(CLASSES["cataclysmic_variable"].draw(rng, subtype)["emission"])
    assert {"O I 8446", "Fe II 5317", "[N II] 5755", "[O II] 3726", "H8"} <= names
    assert names <= catalogue


def test_quasar_lines_take_the_catalogue_wavelength_where_it_lists_the_line():
    lines = atomic_lines()
    catalogue = dict(zip(lines["name"], lines["rest_wavelength"].to_value(u.AA), strict=True))
    for name, rest, _, _ in quasar_lines():
        if name in catalogue:
            assert rest == catalogue[name]
        else:  # ultraviolet lines, below what LAMOST sees at rest, and the [O II] blend
            assert rest < 3690.0 or name.startswith("[O II]"), name


def test_no_simulator_module_types_the_speed_of_light():
    import spec_o3.simulate

    sources = sorted(Path(spec_o3.simulate.__file__).parent.glob("*.py"))
    assert sources
    assert [path.name for path in sources if "299792" in path.read_text()] == []


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="unknown simulated class 'pulsar'"):
        simulate_spectrum("pulsar", seed=1)
    with pytest.raises(ValueError, match="unknown parameter 'colour'"):
        simulate_spectrum("fgk_dwarf", seed=1, colour="blue")
    with pytest.raises(ValueError, match="either seed or rng"):
        simulate_spectrum("fgk_dwarf", seed=1, rng=np.random.default_rng(1))
    with pytest.raises(ValueError, match="snr must be a positive"):
        simulate_spectrum("fgk_dwarf", seed=1, snr=-3)


def test_suite_labels_and_mix():
    suite = draw_suite("s_star", 20, positive_fraction=0.25, seed=3)
    labels = [s.meta["label"] for s in suite]
    assert labels.count("YES") == 5
    for spectrum in suite:
        assert spectrum.meta["task"] == "s_star"
        assert (spectrum.meta["label"] == "YES") == (spectrum.meta["class"] in positives("ss"))
        if spectrum.meta["label"] == "NO":
            assert (
                spectrum.meta["class"] in confusers("ss")
                or CLASSES[spectrum.meta["class"]].positive_for
            )
    again = draw_suite("s_star", 20, positive_fraction=0.25, seed=3)
    assert [s.meta["seed"] for s in suite] == [s.meta["seed"] for s in again]


@pytest.mark.parametrize("task", sorted(task_ids()))
def test_every_task_has_simulated_positives_and_confusers(task):
    assert positives(task)
    assert all(name in CLASSES and CLASSES[name].positive_for is None for name in confusers(task))


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(n=0), "positive integer"),
        (dict(positive_fraction=1.5), r"\[0, 1\]"),
        (dict(snr=(10, 5)), "0 < lo <= hi"),
    ],
)
def test_suite_rejects_bad_arguments(bad, message):
    kwargs = dict(n=2, positive_fraction=0.5, snr=(5, 50)) | bad
    with pytest.raises(ValueError, match=message):
        draw_suite("cv", kwargs.pop("n"), **kwargs)


def test_file_round_trip_keeps_data_but_not_the_answer(tmp_path):
    spectrum = simulate_spectrum("s_star", seed=8, snr=20)
    path = tmp_path / "spec.fits"
    write_survey_file(spectrum, path)
    read = Spectrum.read(path)
    assert np.allclose(read.flux.value, spectrum.flux.value.astype(np.float32))
    assert np.array_equal(read.mask, spectrum.mask)
    assert np.allclose(read.uncertainty.array, spectrum.uncertainty.array.astype(np.float32))
    assert read.meta["redshift"] == pytest.approx(spectrum.meta["redshift"])
    assert read.meta["class"] == "STAR" == survey_view(spectrum).meta["class"]
    assert "s_star" not in repr(read.meta["header"])


def test_cli_writes_a_readable_suite(tmp_path, capsys):
    out = tmp_path / "suite"
    assert (
        main(
            [
                "simulate",
                "--task",
                "wd",
                "--n",
                "4",
                "--out",
                str(out),
                "--seed",
                "2",
                "--snr",
                "10",
                "20",
            ]
        )
        == 0
    )
    table = Table.read(out / "labels.ecsv")
    for column in ("file", "task", "label", "class", "subtype", "snr", "redshift", "seed"):
        assert column in table.colnames
    assert list(table["label"]).count("YES") == 2 and set(table["task"]) == {"white_dwarf"}
    assert all(10 <= snr <= 20 for snr in table["snr"])
    for name in table["file"]:
        assert Spectrum.read(out / name).flux.size == 3921
    assert "wrote 4 spectra" in capsys.readouterr().out


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--task", "pulsar", "--n", "2"], "unknown task 'pulsar'"),
        (["--task", "cc", "--n", "0"], "--n must be a positive"),
        (["--task", "cc", "--n", "2", "--positive-fraction", "1.2"], r"\[0, 1\]"),
        (["--task", "cc", "--n", "2", "--snr", "30", "10"], "0 < LO <= HI"),
    ],
)
def test_cli_usage_errors_exit_2_with_a_message(tmp_path, capsys, arguments, message):
    assert main(["simulate", *arguments, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "spec-o3 simulate: error:" in err and "Traceback" not in err
    assert __import__("re").search(message, err)


def test_cli_unwritable_directory_exits_2(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert main(["simulate", "--task", "cc", "--n", "1", "--out", str(blocker / "suite")]) == 2
    assert "cannot write to output directory" in capsys.readouterr().err


def test_degraded_real_spectra_go_behind_dust_as_simulated_ones_do():
    """``degrade_to_survey(..., ebv=)``: the simulator's reddening, and its interstellar Na D
    with their equivalent width, on a flat spectrum of 2 Å pixels (Oke 1990's)."""
    wave = np.arange(3500.0, 9500.0, 2.0)
    flat = np.ones_like(wave)
    clear, dusty = (
        degrade_to_survey(wave, flat, 7.0, snr=1e6, seed=0, ebv=ebv) for ebv in (0.0, 0.3)
    )
    out = clear.spectral_axis.to_value(u.AA)
    ratio = dusty.flux.value / clear.flux.value
    continuum = (out > 6000) & (out < 6500)
    np.testing.assert_allclose(ratio[continuum], redden(out[continuum], 0.3), rtol=1e-3)
    na_d = (out > 5870) & (out < 5920)
    absorbed = np.sum((1 - ratio[na_d] / redden(out[na_d], 0.3)) * np.gradient(out)[na_d])
    fine = np.linspace(5870.0, 5920.0, 50001)
    expected = np.trapezoid(1 - interstellar_absorption(fine, 0.3), fine)
    assert expected > 1.0
    assert absorbed == pytest.approx(expected, rel=0.02)
