"""DESI coadd and spectra files: read through specutils' own loaders, arms joined per target,
the redshift from the redrock (or zbest) file beside them, one verdict and one row per target."""

import argparse
import json
import shutil

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.nddata import InverseVariance
from astropy.table import Table
from specutils import Spectrum, SpectrumList

import spec_o3
from spec_o3 import UnvettableSpectrum
from spec_o3.analysis import band_strength
from spec_o3.batch import Catalog, vet_catalog
from spec_o3.batch.catalog import scan
from spec_o3.commands import simulate as simulate_command
from spec_o3.commands import vet as vet_command
from spec_o3.io import (
    DESI_ARMS,
    desi_format,
    desi_targets,
    iter_targets,
    join_arms,
    read_for_inspection,
    redshift_catalogue,
    write_desi_coadd,
)
from spec_o3.simulate import simulate_spectrum
from spec_o3.simulate.files import write_desi_file

UNIT = u.Unit("1e-17 erg / (s cm2 Angstrom)")
TARGETS = np.array([39627652591847724, 39627652591847731, 39627652591847745], dtype=np.int64)


def arm(band, flux, ivar, mask=None, step=0.8):
    """One arm of a DESI file: rows of flux on the arm's 0.8 Å grid."""
    low, high = DESI_ARMS[band]
    wavelength = low + step * np.arange(round((high - low) / step) + 1)
    flux = np.broadcast_to(np.asarray(flux, float)[:, None], (len(flux), wavelength.size)).copy()
    ivar = np.broadcast_to(np.asarray(ivar, float)[:, None], flux.shape).copy()
    return Spectrum(
        flux=flux * UNIT,
        spectral_axis=wavelength * u.AA,
        uncertainty=InverseVariance(ivar * UNIT**-2),
        mask=np.zeros(flux.shape, bool) if mask is None else mask,
        meta={"band": band},
    )


def three_targets():
    """Arms of three targets of constant flux 1, 2, 3 (b ivar 1, r ivar 4, z ivar 9)."""
    weights = zip("brz", (1, 4, 9), strict=True)
    arms = SpectrumList(arm(band, [1, 2, 3], [weight] * 3) for band, weight in weights)
    arms[0].meta["fibermap"] = Table({"TARGETID": TARGETS})
    return arms


def redrock_table(zwarn=(0, 0, 0)):
    return Table(
        {
            "TARGETID": TARGETS,
            "Z": [1e-4, 0.7, 2e-4],
            "ZERR": [1e-5] * 3,
            "ZWARN": list(zwarn),
            "SPECTYPE": ["STAR", "GALAXY", "STAR"],
            "SUBTYPE": ["WD", "", "K"],
        }
    )


@pytest.fixture
def coadd(tmp_path):
    """A coadd of three targets in the official layout, with its redrock file."""
    path = tmp_path / "coadd-sv1-bright-10378.fits"
    write_desi_coadd(path, three_targets(), redshifts=redrock_table(zwarn=(0, 0, 4)))
    return path


def test_written_file_has_the_official_layout_and_specutils_reads_it(coadd):
    with fits.open(coadd) as hdulist:
        names = [hdu.name for hdu in hdulist]
        assert "INFIL000" in hdulist[0].header  # what specutils' coadd identifier looks for
        assert hdulist["B_FLUX"].header["BUNIT"] and hdulist["B_IVAR"].header["BUNIT"]
    assert names[:2] == ["PRIMARY", "FIBERMAP"] and names[-1] == "SCORES"
    for band in "BRZ":
        assert [f"{band}_{kind}" in names for kind in ("WAVELENGTH", "FLUX", "IVAR", "MASK")]
    arms = SpectrumList.read(coadd, format="DESI coadd")  # specutils' own loader
    assert [spectrum.meta["band"] for spectrum in arms] == ["b", "r", "z"]
    assert arms[0].flux.shape == (3, 2751) and list(arms[0].meta["fibermap"]["TARGETID"]) == list(
        TARGETS
    )


def test_arms_join_on_one_axis_weighted_by_inverse_variance():
    targetids, wavelength, flux, ivar, mask = join_arms(three_targets())
    assert list(targetids) == list(TARGETS)
    assert wavelength[0] == 3600 and wavelength[-1] == 9824
    assert np.all(np.diff(wavelength) > 0) and wavelength.size == 7781  # no pixel twice
    assert np.allclose(flux, [[1], [2], [3]]) and not mask.any()
    overlap = (wavelength >= 5760) & (wavelength <= 5800)
    assert np.allclose(ivar[:, overlap], 1 + 4) and np.allclose(ivar[:, wavelength < 5760], 1)
    assert np.allclose(ivar[:, (wavelength >= 7520) & (wavelength <= 7620)], 4 + 9)


def test_overlap_mean_is_weighted_and_a_masked_arm_gives_way():
    arms = three_targets()
    arms[1] = arm("r", [10, 10, 10], [4] * 3)  # r says 10 where b says 1, 2, 3
    arms[2].mask[1] = True  # target 2's z arm is bad everywhere
    _, wavelength, flux, ivar, mask = join_arms(arms)
    overlap = (wavelength >= 5760) & (wavelength <= 5800)
    assert np.allclose(flux[0, overlap], (1 * 1 + 10 * 4) / 5)
    red_overlap = (wavelength >= 7520) & (wavelength <= 7620)
    assert np.allclose(flux[1, red_overlap], 10) and np.allclose(ivar[1, red_overlap], 4)
    assert mask[1, wavelength > 7620].all() and not mask[0].any()


def test_arms_off_each_others_grid_are_interpolated():
    blue = arm("b", [1.0], [1.0])
    red = Spectrum(
        flux=np.full(50, 3.0) * UNIT,
        spectral_axis=(5760.4 + 0.8 * np.arange(50)) * u.AA,
        uncertainty=InverseVariance(np.ones(50) * UNIT**-2),
    )
    _, wavelength, flux, _, _ = join_arms(SpectrumList([red, blue]))  # any order
    assert np.all(np.diff(wavelength) > 0)
    assert np.allclose(flux[0, (wavelength > 5761) & (wavelength < 5800)], 2.0)


def test_exposures_of_a_spectra_file_are_averaged_like_arms(tmp_path):
    arms = SpectrumList(arm(band, [1, 3, 5], [1, 1, 2]) for band in "brz")
    arms[0].meta["fibermap"] = Table({"TARGETID": [7, 8, 7]})
    targetids, _, flux, ivar, _ = join_arms(arms)
    assert list(targetids) == [7, 8]
    assert np.allclose(flux[0, :100], (1 * 1 + 5 * 2) / 3) and np.allclose(ivar[0, :100], 3)


def test_targets_carry_the_redrock_redshift_by_targetid(coadd):
    spectra = dict(desi_targets(coadd))
    assert list(spectra) == list(TARGETS)
    first = spectra[TARGETS[0]]
    assert first.meta["survey"] == "DESI" and first.meta["targetid"] == TARGETS[0]
    assert first.meta["redshift"] == 1e-4 and first.meta["redshift_source"] == "redrock"
    assert first.meta["class"] == "STAR" and first.meta["subclass"] == "WD"
    assert first.meta["redshift_file"].endswith("redrock-sv1-bright-10378.fits")
    assert first.spectral_axis.unit == u.AA and first.flux.unit == UNIT
    assert set(first.meta["snr"]) == {"b", "r", "z"}
    flagged = spectra[TARGETS[2]]  # ZWARN = 4: the redshift is not used
    assert "redshift" not in flagged.meta and flagged.meta["zwarn"] == 4


def test_the_older_zbest_file_is_read_too(tmp_path):
    path = tmp_path / "coadd-main-dark-1.fits"
    write_desi_coadd(path, three_targets())
    hdus = [fits.PrimaryHDU(), fits.BinTableHDU(redrock_table(), name="ZBEST")]
    fits.HDUList(hdus).writeto(tmp_path / "zbest-main-dark-1.fits")
    assert redshift_catalogue(path)[int(TARGETS[1])]["redshift"] == 0.7


def test_a_real_zbest_file(test_data, tmp_path):
    """A zbest file of DESI's SV 'Andes' reduction, from the DESI High teaching repository (its
    coadd beside it is a simplified table, one column per target, not the official layout)."""
    real = test_data / "real_extra" / "desihigh" / "zbest-mws-66003-20200315.fits"
    shutil.copy(real, tmp_path / "zbest-mws-66003.fits")
    found = redshift_catalogue(tmp_path / "coadd-mws-66003.fits")
    m_dwarf = found[35191325334702408]
    assert m_dwarf["class"] == "STAR" and m_dwarf["subclass"] == "M"
    assert m_dwarf["redshift"] == pytest.approx(-8.774e-5, rel=1e-3)


def test_a_broken_redshift_file_is_named(coadd):
    coadd.with_name("redrock-sv1-bright-10378.fits").write_bytes(b"not fits")
    with pytest.raises(UnvettableSpectrum, match="redrock-sv1-bright-10378.fits"):
        list(iter_targets(coadd))


def test_vet_wants_a_target_for_a_file_of_several(coadd):
    with pytest.raises(ValueError, match="3 targets.*target=.*vet_targets"):
        spec_o3.vet(coadd, "wd", render_images=False)
    result = spec_o3.vet(coadd, "wd", target=int(TARGETS[1]), render_images=False)
    assert result.target_id == TARGETS[1] and result.redshift_source == "redrock"
    assert result.redshift == 0.7 and "target_id=" in repr(result)
    with pytest.raises(UnvettableSpectrum, match="no TARGETID 5"):
        spec_o3.vet(coadd, "wd", target=5, render_images=False)


def test_vet_targets_gives_one_result_per_target(coadd, tmp_path):
    results = spec_o3.vet_targets([coadd, coadd], "cc", render_images=False)
    assert [result.target_id for result in results] == [*TARGETS, *TARGETS]
    assert [result.trajectory.source for result in results[:3]] == [
        f"{coadd}#{target}" for target in TARGETS
    ]
    assert [result.redshift_source for result in results[:3]] == ["redrock", "redrock", "assumed"]
    arms = SpectrumList.read(coadd, format="DESI coadd")
    from_arms = spec_o3.vet_targets(arms, "cc", render_images=False)
    assert [result.verdict for result in from_arms] == [result.verdict for result in results[:3]]


def test_a_file_of_one_target_reads_as_one_spectrum(tmp_path):
    arms = SpectrumList(arm(band, [1.0], [4.0]) for band in "brz")
    arms[0].meta["fibermap"] = Table({"TARGETID": TARGETS[:1]})
    path = tmp_path / "coadd-main-bright-2.fits"
    write_desi_coadd(path, arms)
    spectrum = read_for_inspection(path)
    assert spectrum.meta["targetid"] == TARGETS[0] and spectrum.flux.size == 7781
    assert spec_o3.vet(path, "wd", render_images=False).target_id == TARGETS[0]


def test_target_is_refused_for_a_file_of_one_spectrum(tmp_path):
    spectrum = Spectrum(flux=np.ones(10) * UNIT, spectral_axis=np.linspace(4000, 5000, 10) * u.AA)
    with pytest.raises(UnvettableSpectrum, match="single target"):
        list(iter_targets(spectrum, target=3))


def vet_main(*argv):
    parser = argparse.ArgumentParser(prog="spec-o3 vet")
    vet_command.add_arguments(parser)
    return vet_command.run(parser.parse_args([str(arg) for arg in argv]))


#: Simulated targets of known class for the white-dwarf task, and the right verdicts.
KNOWN = (
    ("white_dwarf", {"subtype": "DA"}, "YES"),
    ("ab_star", {}, "NO"),
    ("white_dwarf", {"subtype": "DB"}, "YES"),
    ("m_giant", {}, "NO"),
    ("quasar", {}, "NO"),
)


@pytest.fixture(scope="module")
def simulated_coadd(tmp_path_factory):
    """One coadd in the official layout holding the KNOWN targets, and its redrock file."""
    path = tmp_path_factory.mktemp("desi") / "coadd-main-bright-26000.fits"
    spectra = [
        simulate_spectrum(kind, seed=number, snr=40, task="wd", **params)
        for number, (kind, params, _) in enumerate(KNOWN)
    ]
    targetids, _ = write_desi_file(spectra, path)
    return path, targetids, spectra


def test_spec_o3_vet_gives_one_clean_row_per_target_with_the_right_verdicts(
    simulated_coadd, capsys
):
    """The issue's check: `spec-o3 vet` on a coadd of simulated targets of known class."""
    path, targetids, spectra = simulated_coadd
    output = path.with_name("results.ecsv")
    assert vet_main("--task", "wd", path, "--output", output, "--no-images", "--overwrite") == 0
    table = Table.read(output)
    assert list(table["file"]) == [str(path)] * len(KNOWN)
    assert list(table["targetid"]) == targetids
    assert list(table["status"]) == ["answered"] * len(KNOWN)
    assert list(table["verdict"]) == [verdict for *_, verdict in KNOWN]
    assert set(table["redshift_source"]) == {"redrock"}
    assert np.allclose(table["redshift"], [spectrum.meta["redshift"] for spectrum in spectra])
    assert all(error == "" for error in table["error"].filled(""))


def test_a_catalogue_may_name_one_target(simulated_coadd, tmp_path):
    path, targetids, _ = simulated_coadd
    catalogue = tmp_path / "catalogue.csv"
    catalogue.write_text(f"file,targetid\n{path},{targetids[2]}\n{path},\n")
    entries = list(Catalog.read(catalogue))
    assert [entry.targetid for entry in entries] == [targetids[2], None]
    summary = vet_catalog(
        catalogue, "wd", tmp_path / "out.csv", render_images=False, progress=False
    )
    table = Table.read(tmp_path / "out.csv")
    assert summary.total == 1 + len(KNOWN) == len(table)
    assert list(table["targetid"]) == [targetids[2], *targetids]
    assert list(table["verdict"][:2]) == ["YES", "YES"]


def test_a_resume_keeps_whole_files_and_drops_a_torn_one(simulated_coadd, tmp_path):
    path, targetids, _ = simulated_coadd
    output, catalog = tmp_path / "out.ecsv", Catalog([path, path])
    run = dict(render_images=False, progress=False, chunk_size=1)
    vet_catalog(catalog, "wd", output, **run)
    complete = Table.read(output)
    output.unlink()
    # The journal of a run killed while writing file 2: file 1 whole, two of its five rows.
    header = {
        "format": "spec-o3 vet journal 1",
        "task": "white_dwarf",
        "backend": "expert",
        "catalog": scan(catalog)[1],
        "entries": 2,
        "columns": complete.colnames,
    }
    rows, n = list(complete.iterrows()), len(KNOWN)
    records = [
        {"index": index, "part": part, "parts": n, **_plain(rows[index * n + part], header)}
        for index, parts in ((0, n), (1, 2))
        for part in range(parts)
    ]
    journal = output.with_name(output.name + ".journal")
    journal.write_text("".join(json.dumps(line) + "\n" for line in [header, *records]))
    summary = vet_catalog(catalog, "wd", output, resume=True, **run)
    assert summary.vetted == n and summary.total == 2 * n and not journal.exists()
    resumed = Table.read(output)
    assert list(resumed["targetid"]) == [*targetids, *targetids]
    assert list(resumed["verdict"]) == list(complete["verdict"])


def _plain(row, header):
    """A table row as the journal holds it (None where masked)."""
    values = {}
    for name, value in zip(header["columns"], row, strict=True):
        if np.ma.is_masked(value):
            value = None
        elif isinstance(value, np.generic):
            value = value.item()
        values[name] = value
    return values


def test_a_target_that_cannot_be_vetted_is_its_own_failed_row(tmp_path):
    path = tmp_path / "coadd-main-bright-3.fits"
    spectrum = simulate_spectrum("white_dwarf", seed=1, snr=40, subtype="DA")
    write_desi_file([spectrum, spectrum], path)
    with fits.open(path, mode="update") as hdulist:  # the second target has no valid pixel
        for band in "BRZ":
            hdulist[f"{band}_IVAR"].data[1] = 0
    summary = vet_catalog([path], "wd", tmp_path / "out.csv", render_images=False, progress=False)
    table = Table.read(tmp_path / "out.csv")
    assert summary.failed == 1 and list(table["status"]) == ["answered", "failed"]
    assert table["targetid"][1] == table["targetid"][0] + 1
    assert table["error"][1].startswith(f"{path}#{table['targetid'][1]}: ")


def test_simulate_writes_desi_coadds_that_evaluate_scores(tmp_path):
    parser = argparse.ArgumentParser(prog="spec-o3 simulate")
    simulate_command.add_arguments(parser)
    argv = ["--task", "cc", "--n", "5", "--out", tmp_path, "--survey", "desi"]
    argv += ["--targets-per-file", "3", "--seed", "3"]
    assert simulate_command.run(parser.parse_args([str(arg) for arg in argv])) == 0
    labels = Table.read(tmp_path / "labels.ecsv")
    assert labels.colnames[:2] == ["file", "targetid"] and len(labels) == 5
    assert len(set(labels["targetid"])) == 5 and len(set(labels["file"])) == 2
    assert sorted(p.name for p in tmp_path.glob("redrock-*.fits")) == [
        name.replace("coadd-", "redrock-") for name in sorted(set(labels["file"]))
    ]
    from spec_o3.bench import Suite, evaluate

    suite = Suite.read(tmp_path)
    assert len(set(suite.table["id"])) == 5
    spectrum = suite.spectrum(4)
    assert spectrum.meta["targetid"] == labels["targetid"][4]
    assert spectrum.spectral_axis[-1] > 9800 * u.AA  # DESI's z arm, beyond LAMOST's 9100 Å
    result = evaluate(suite, "expert", render_images=False)
    assert set(result.predictions["status"]) == {"answered"}


def test_a_fibermap_that_does_not_match_the_spectra_is_named(tmp_path):
    path = tmp_path / "coadd-main-dark-5.fits"
    write_desi_coadd(path, three_targets())
    with fits.open(path, mode="update") as hdulist:
        hdulist["FIBERMAP"] = fits.BinTableHDU(Table({"TARGETID": TARGETS[:1]}), name="FIBERMAP")
    with pytest.raises(UnvettableSpectrum, match="FIBERMAP has 1 rows for 3 spectra"):
        spec_o3.vet_targets(path, "wd", render_images=False)


def test_arms_in_any_order_with_the_fibermap_on_any_arm():
    arms = three_targets()
    reordered = SpectrumList([arms[2], arms[0], arms[1]])
    assert [target for target, _ in iter_targets(reordered)] == list(TARGETS)


def test_desi_observes_the_objects_lamost_does(tmp_path):
    """The same simulated object through both instruments: its molecular bands as deep in DESI's
    joined arms as on the LAMOST grid (realism of the DESI instrument model), within 8 %: at DESI's
    higher resolution a sharp bandhead such as C2 5165 reads a few per cent deeper (7 % for this
    unsaturated N star)."""
    objects = [
        (simulate_spectrum("m_giant", seed=0, snr=60), "TiO_7054"),
        (simulate_spectrum("m_dwarf", seed=1, snr=60), "TiO_6159"),
        (simulate_spectrum("carbon_star", seed=2, snr=60), "C2_5165"),
    ]
    path = tmp_path / "coadd-main-bright-4.fits"
    write_desi_file([spectrum for spectrum, _ in objects], path)
    for (lamost, band), (_, desi) in zip(objects, desi_targets(path), strict=True):
        assert desi.spectral_axis[-1] > 9800 * u.AA and not desi.mask[-500:].all()
        depths = [band_strength(spectrum, band).value for spectrum in (lamost, desi)]
        assert depths[0] > 0.2 and depths[1] == pytest.approx(depths[0], rel=0.08)


def test_a_spectra_file_gives_one_spectrum_per_target_over_its_exposures(tmp_path):
    arms = SpectrumList(arm(band, [1, 3, 5], [1, 1, 2]) for band in "brz")
    arms[0].meta["fibermap"] = Table({"TARGETID": TARGETS[[0, 1, 0]]})
    path = tmp_path / "spectra-main-dark-7.fits"
    write_desi_coadd(path, arms, redshifts=redrock_table())
    with fits.open(path, mode="update") as hdulist:
        del hdulist[0].header["INFIL000"]  # what tells a coadd from a spectra file
    with fits.open(path) as hdulist:
        assert desi_format(hdulist) == "DESI spectra"
    spectra = dict(desi_targets(path))
    assert list(spectra) == list(TARGETS[:2])
    assert np.allclose(spectra[TARGETS[0]].flux.value, (1 * 1 + 5 * 2) / 3)
    assert spectra[TARGETS[1]].meta["redshift"] == 0.7  # the redrock file beside spectra-*.fits


def test_the_report_shows_each_target_and_merges_decisions_per_target(simulated_coadd, tmp_path):
    from spec_o3.report import build_report, merge_decisions

    path, targetids, _ = simulated_coadd
    results = tmp_path / "results.ecsv"
    vet_catalog([path], "wd", results, render_images=False, progress=False)
    build_report(results, tmp_path / "report", verdict="all", progress=False)
    text = (tmp_path / "report" / "data" / "chunk-00000.js").read_text()
    records = json.loads(text[text.index("[") : text.rindex("]") + 1])
    assert [record["file"] for record in records] == [f"{path}#{target}" for target in targetids]
    assert len({record["key"] for record in records}) == len(KNOWN)
    assert all(record["spectrum_image"] for record in records)  # each target's own spectrum
    decisions = Table(
        {
            "id": ["a", "b"],
            "file": [f"{path}#{targetids[1]}", f"{path}#{targetids[3]}"],
            "task": ["white_dwarf"] * 2,
            "agent_verdict": ["NO", "NO"],
            "decision": ["accept", "reject"],
            "comment": ["", ""],
            "decided_at": ["", ""],
        }
    )
    merged = merge_decisions(Table.read(results), decisions)
    assert list(merged["decision"]) == ["", "accept", "", "reject", ""]
