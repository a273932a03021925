"""``spec-o3 report``: the review report of a real run, escaping, and the decisions round trip."""

import argparse
import json
import re
import shutil
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from PIL import Image
from specutils import Spectrum

from spec_o3.agent import Trajectory
from spec_o3.analysis import render_window
from spec_o3.analysis.render import _MARKER, _SHADE_EDGE
from spec_o3.commands import report as report_command
from spec_o3.commands import vet as vet_command
from spec_o3.report import (
    DECISION_COLUMNS,
    build_report,
    merge_decisions,
    read_decisions,
    render_overview,
)
from spec_o3.tasks import get_task

#: Real LAMOST DR1 spectra: an F9 dwarf, an M0 star and an A2 star with H alpha emission.
FILES = (
    "lamost_lrs_dr1_grd349/spec-55862-B6212_sp06-003.fits",
    "lamost_lrs_dr1_grd349/spec-55862-B6212_sp06-049.fits",
    "lamost_lrs_podondra_emission/spec-56351-GAC108N13V4_sp14-219.fits",
)
ATTACK = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"> & </b>'


def cli(module, *argv):
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return module.run(parser.parse_args([str(arg) for arg in argv]))


@pytest.fixture(scope="module")
def run(real_data, tmp_path_factory):
    """A real ``spec-o3 vet`` run (expert backend) over three LAMOST files, with trajectories."""
    folder = tmp_path_factory.mktemp("run")
    status, outputs = vet_m_giants([real_data / name for name in FILES], folder)
    assert status == 0
    return outputs


def vet_m_giants(files, folder):
    """``spec-o3 vet --task m_giant`` with saved trajectories: its exit status and outputs."""
    results, trajectories = folder / "results.ecsv", folder / "trajectories"
    argv = ["--task", "m_giant", *files, "--output", results]
    return cli(vet_command, *argv, "--save-trajectories", trajectories), (results, trajectories)


@pytest.fixture(scope="module")
def failing_run(real_data, tmp_path_factory):
    """A real run of four files: an F9 dwarf; the M0 star without its redshift (inspected at the
    assumed z = 0); a missing file; and the M0 star with a flux of zero (cannot be vetted)."""
    folder = tmp_path_factory.mktemp("failing")
    no_z, blank = folder / "no-z.fits", folder / "blank.fits"
    with fits.open(real_data / FILES[1]) as hdus:
        del hdus[0].header["Z"]
        hdus.writeto(no_z)
        hdus[0].data[0] = 0.0
        hdus.writeto(blank)
    files = [real_data / FILES[0], no_z, folder / "missing.fits", blank]
    status, outputs = vet_m_giants(files, folder)
    assert status == vet_command.EXIT_FAILED_INPUTS
    return outputs


@pytest.fixture
def hostile(run, tmp_path):
    """The run's results with model output and a comment that try to inject markup."""
    results, trajectories = run
    table = Table.read(results, format="ascii.ecsv")
    table["evidence"] = [ATTACK, *table["evidence"][1:]]
    table["verdict"] = ["NO", "YES", "NO"]
    path = tmp_path / "hostile.ecsv"
    table.write(path, format="ascii.ecsv")
    return path, trajectories


def read_data(path):
    """The object a data/*.js file hands to the page."""
    text = path.read_text(encoding="utf-8")
    match = re.fullmatch(
        r"(?:window\.SPEC_O3_REPORT = |specO3Report\.receive\(\d+, )(.*?)\)?;\n", text, flags=re.S
    )
    return json.loads(match.group(1))


def records(out):
    return [
        record for chunk in sorted((out / "data").glob("chunk-*.js")) for record in read_data(chunk)
    ]


def test_report_of_a_real_run(run, tmp_path):
    results, trajectories = run
    out = tmp_path / "report"
    assert (
        cli(
            report_command,
            results,
            "--trajectories",
            trajectories,
            "--out",
            out,
            "--verdict",
            "all",
        )
        == 0
    )
    for name in (
        "index.html",
        "summary.html",
        "assets/report.js",
        "assets/report.css",
        "data/report.js",
        "images/summary-verdicts.png",
        "images/summary-snr.png",
    ):
        assert (out / name).is_file(), name
    index = read_data(out / "data/report.js")
    assert [entry["file"] for entry in index["candidates"]] == list(
        Table.read(results, format="ascii.ecsv")["file"]
    )
    assert index["summary"]["verdict_counts"] == {
        "m_giant": {"YES": 0, "NO": 3, "no_answer": 0, "failed": 0, "error": 0}
    }
    assert index["summary"]["outcomes"] == ["YES", "NO"]
    assert [entry["confidence"] for entry in index["candidates"]] == list(
        Table.read(results, format="ascii.ecsv")["confidence"]
    )
    for record in records(out):
        trajectory = Trajectory.load(trajectories / record["id"])
        assert record["task"] == "m_giant" and record["verdict"] == trajectory.verdict
        assert record["outcome"] == record["verdict"] == "NO"
        # the LAMOST pipeline's redshift, as the agent used it
        assert record["redshift"] == trajectory.redshift != 0
        assert (record["redshift_source"], record["redshift_note"]) == ("file", "from the file")
        assert record["evidence"] == trajectory.answer_text
        assert 0 <= record["confidence"] <= 1  # the expert's, from the results table
        assert record["snr"] > 5 and record["survey_snr"]["r"] > 0 and record["pipeline_class"]
        # the zoom images in inspection order, with the agent's labels, at the saved size
        assert [w["label"] for w in record["windows"]] == [
            step.label for step in trajectory.steps if step.window is not None
        ]
        assert [(w["lo"], w["hi"]) for w in record["windows"]] == [
            (w.lower.value, w.upper.value) for w in trajectory.windows
        ]
        for window, image in zip(
            record["windows"],
            (s.image for s in trajectory.steps if s.window is not None),
            strict=True,
        ):
            with Image.open(out / window["image"]) as written:
                assert written.size == image.size
        with Image.open(out / record["spectrum_image"]) as spectrum:
            assert spectrum.size == (1100, 380)
        assert len(record["transcript"]) == len(trajectory.steps)
        assert record["transcript"][-1]["action"] == "answer: NO"
        assert not record["notes"]
    # the report lists the lines identified in the inspected windows: the M0 star's Na I
    # 8183/8195 doublet in its 8120-8260 Å window; none in the F9 star's M-giant windows
    assert "Na I 8195" in [line["name"] for line in records(out)[1]["lines"]]
    assert not records(out)[0]["lines"]
    # worker processes build the same report
    parallel = tmp_path / "parallel"
    build_report(
        results, parallel, trajectories=trajectories, verdict="all", workers=2, progress=False
    )
    assert records(parallel) == records(out)


def test_selection_and_order(run, hostile, tmp_path):
    results, trajectories = hostile
    out = tmp_path / "yes"
    build_report(results, out, trajectories=trajectories, progress=False)
    assert [e["verdict"] for e in read_data(out / "data/report.js")["candidates"]] == ["YES"]

    out = tmp_path / "by-snr"
    build_report(
        results,
        out,
        trajectories=trajectories,
        verdict="all",
        sort_by="snr",
        descending=True,
        progress=False,
    )
    snr = [e["snr"] for e in read_data(out / "data/report.js")["candidates"]]
    assert snr == sorted(snr, reverse=True)
    # image folders are named after the results row, whatever the order
    assert {r["spectrum_image"].split("/")[1] for r in records(out)} == {
        "r000000",
        "r000001",
        "r000002",
    }

    out = tmp_path / "by-id"
    build_report(results, out, verdict="all", sort_by="id", descending=True, progress=False)
    ids = [e["id"] for e in read_data(out / "data/report.js")["candidates"]]
    assert ids == sorted(ids, reverse=True)

    with pytest.raises(ValueError, match="cannot sort by 'colour'"):
        build_report(results, tmp_path / "x", sort_by="colour", progress=False)
    with pytest.raises(ValueError, match="verdict must be one of"):
        build_report(results, tmp_path / "x", verdict="maybe", progress=False)


def test_untrusted_text_stays_text(hostile, tmp_path):
    results, trajectories = hostile
    out = tmp_path / "report"
    build_report(
        results,
        out,
        trajectories=trajectories,
        verdict="all",
        progress=False,
        title="<b>M giants</b>",
    )
    for path in (out / "data").glob("*.js"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"[<>]", text), path.name  # no markup at all, only \u003c escapes
    assert records(out)[0]["evidence"] == ATTACK  # ... yet the text itself is intact
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "<b>M giants</b>" not in page and "&lt;b&gt;M giants&lt;/b&gt;" in page
    # the page script builds the DOM from text nodes only
    script = (out / "assets/report.js").read_text(encoding="utf-8")
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(", script)


def decisions_file(path, rows, columns=DECISION_COLUMNS):
    """A decisions export as the page writes it: every field quoted."""
    lines = [",".join(f'"{c}"' for c in columns)]
    lines += [",".join('"' + str(v).replace('"', '""') + '"' for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_decisions_round_trip(run, tmp_path, capsys):
    results, trajectories = run
    files = list(Table.read(results, format="ascii.ecsv")["file"])
    decisions = decisions_file(
        tmp_path / "decisions.csv",
        [
            (
                "a",
                files[0],
                "m_giant",
                "NO",
                "reject",
                'an F9 dwarf, "clearly"',
                "2025-03-01T10:00:00Z",
            ),
            (
                "b",
                files[1],
                "m_giant",
                "NO",
                "accept",
                "TiO bands\nlook giant",
                "2025-03-01T10:01:00Z",
            ),
        ],
    )
    output = tmp_path / "reviewed.ecsv"
    assert cli(report_command, "--merge", decisions, results, "--output", output) == 0
    assert "2 of 3 rows have a decision" in capsys.readouterr().out
    merged = Table.read(output, format="ascii.ecsv")
    assert merged.colnames[: len(vet_command.COLUMNS)] == list(vet_command.COLUMNS)
    assert list(merged["decision"].filled("")) == ["reject", "accept", ""]
    assert merged["comment"][0] == 'an F9 dwarf, "clearly"'
    assert merged["comment"][1] == "TiO bands\nlook giant"
    assert merged["decided_at"][1] == "2025-03-01T10:01:00Z"

    # merging again is refused without --overwrite; the default output sits beside RESULTS
    assert cli(report_command, "--merge", decisions, results, "--output", output) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err
    local = shutil.copy(results, tmp_path / "results.ecsv")
    assert cli(report_command, "--merge", decisions, local) == 0
    assert (tmp_path / "results-reviewed.ecsv").is_file()

    # a report of the merged table shows the decisions as made, and so does --decisions
    for source, extra in ((output, ()), (results, ("--decisions", decisions))):
        out = tmp_path / f"report-{source.stem}"
        assert (
            cli(
                report_command,
                source,
                "--trajectories",
                trajectories,
                "--out",
                out,
                "--verdict",
                "all",
                *extra,
            )
            == 0
        )
        entries = read_data(out / "data/report.js")["candidates"]
        assert [e["decision"] for e in entries] == ["reject", "accept", ""]
        assert (out / "images/summary-agreement.png").is_file()


def test_ecsv_and_parquet(run, tmp_path):
    results, _ = run
    pytest.importorskip("pyarrow")
    parquet = tmp_path / "results.parquet"
    table = Table.read(results, format="ascii.ecsv")
    table["id"] = ["one", "two", "three"]  # catalogue runs may carry an id column
    table.write(parquet)
    ecsv = tmp_path / "decisions.ecsv"
    ecsv.write_text(
        "# %ECSV 1.0\n# ---\n# delimiter: ','\n# datatype:\n"
        + "".join(f"# - {{name: {c}, datatype: string}}\n" for c in DECISION_COLUMNS)
        + "# schema: astropy-2.0\n"
        + ",".join(DECISION_COLUMNS)
        + "\n"
        + f'"two","{table["file"][1]}","m_giant","NO","unsure","",""\n',
        encoding="utf-8",
    )
    decisions = read_decisions(ecsv)
    assert list(decisions["comment"]) == [""]
    merged = merge_decisions(Table.read(parquet), decisions)
    assert list(merged["decision"]) == ["", "unsure", ""]
    out = tmp_path / "report"
    build_report(parquet, out, verdict="all", progress=False)
    assert [e["id"] for e in read_data(out / "data/report.js")["candidates"]] == [
        "one",
        "two",
        "three",
    ]


def test_bad_decisions(run, tmp_path, capsys):
    results, _ = run
    files = list(Table.read(results, format="ascii.ecsv")["file"])
    wrong = decisions_file(
        tmp_path / "wrong.csv",
        [("a", "elsewhere.fits", "m_giant", "NO", "reject", "", "2025-03-01T10:00:00Z")],
    )
    assert cli(report_command, "--merge", wrong, results, "--output", tmp_path / "m.ecsv") == 2
    assert "1 decision(s) match no row of the results table: elsewhere.fits" in (
        capsys.readouterr().err
    )
    odd = decisions_file(tmp_path / "odd.csv", [("a", files[0], "m_giant", "NO", "maybe", "", "")])
    with pytest.raises(ValueError, match="unknown decision.*'maybe'"):
        read_decisions(odd)
    short = decisions_file(tmp_path / "short.csv", [("a", files[0])], columns=("id", "file"))
    with pytest.raises(ValueError, match="lacks the column.*task, agent_verdict"):
        read_decisions(short)
    table = Table.read(results)
    table["decision"] = ["accept", "maybe", ""]
    table.write(tmp_path / "edited.ecsv")
    with pytest.raises(ValueError, match="the decision column of .*edited.ecsv holds 'maybe'"):
        build_report(tmp_path / "edited.ecsv", tmp_path / "edited", progress=False)
    # a decision made on a verdict the table no longer holds is merged, with a warning
    changed = decisions_file(
        tmp_path / "changed.csv",
        [("a", files[0], "m_giant", "YES", "accept", "", "2025-03-01T10:00:00Z")],
    )
    with pytest.warns(UserWarning, match="another agent verdict"):
        merged = merge_decisions(Table.read(results), read_decisions(changed))
    assert merged["decision"][0] == "accept"
    assert cli(report_command, "--merge", changed, results, "--output", tmp_path / "m.ecsv") == 0
    assert "warning: 1 decision(s) were made on another agent verdict" in capsys.readouterr().err


def test_usage_errors(run, tmp_path, capsys):
    results, trajectories = run
    assert cli(report_command, results) == 2
    assert "--out DIR is required" in capsys.readouterr().err
    assert cli(report_command, "--merge", results, results, "--out", tmp_path) == 2
    assert "--out cannot be combined with --merge" in capsys.readouterr().err
    assert cli(report_command, tmp_path / "missing.ecsv", "--out", tmp_path / "r") == 2
    assert "missing.ecsv: no such file" in capsys.readouterr().err
    assert (
        cli(
            report_command, results, "--out", tmp_path / "r", "--trajectories", tmp_path / "nowhere"
        )
        == 2
    )
    assert "not a directory of saved trajectories" in capsys.readouterr().err


def test_rebuild_needs_overwrite_and_drops_stale_files(run, tmp_path, capsys):
    results, trajectories = run
    out = tmp_path / "report"
    build_report(results, out, trajectories=trajectories, verdict="all", progress=False)
    (out / "notes.txt").write_text("mine")
    assert cli(report_command, results, "--out", out, "--verdict", "all") == 2
    assert "not empty; pass --overwrite" in capsys.readouterr().err
    table = Table.read(results, format="ascii.ecsv")
    table["verdict"] = ["NO", "NO", "YES"]
    table.write(tmp_path / "one-yes.ecsv", format="ascii.ecsv")
    build_report(
        tmp_path / "one-yes.ecsv", out, trajectories=trajectories, overwrite=True, progress=False
    )
    assert sorted(p.name for p in (out / "images").glob("r*")) == ["r000002"]
    assert (out / "notes.txt").read_text() == "mine"


def test_missing_inputs_become_notes(run, tmp_path):
    """No trajectories: windows from the table, their zooms drawn now; no spectrum file: the
    agent's overview."""
    results, trajectories = run
    out = tmp_path / "bare"
    build_report(results, out, verdict="all", progress=False)
    record = records(out)[0]
    assert [(w["lo"], w["hi"]) for w in record["windows"]] == [
        tuple(map(float, part.split("-")))
        for part in Table.read(results, format="ascii.ecsv")["windows"][0].split(";")
    ]
    labels = {w.lower.value: w.label for w in get_task(record["task"]).windows}
    # the task's labels, where the windows are the task's
    assert [w["label"] for w in record["windows"]] == [
        labels.get(w["lo"], "") for w in record["windows"]
    ]
    assert any(w["label"] for w in record["windows"])
    for window in record["windows"]:  # a zoom drawn from the spectrum
        with Image.open(out / window["image"]) as zoom:
            assert zoom.width >= 560  # as the agent's zoom tool draws it
    assert "No saved inspection" in record["notes"][0]
    assert (out / record["spectrum_image"]).is_file()

    moved = tmp_path / "moved"
    shutil.copytree(trajectories, moved)
    table = Table.read(results, format="ascii.ecsv")
    table["file"] = [str(tmp_path / "gone" / table["file"][0].split("/")[-1]), *table["file"][1:]]
    table.write(tmp_path / "gone.ecsv", format="ascii.ecsv")
    out = tmp_path / "gone-report"
    build_report(tmp_path / "gone.ecsv", out, trajectories=moved, verdict="all", progress=False)
    record = records(out)[0]
    assert record["spectrum_image"].endswith("overview.png") and record["windows"][0]["image"]
    assert any("could not be read" in note for note in record["notes"])
    assert record["snr"] is None


def test_overview_is_the_whole_spectrum_with_the_windows_highlighted():
    wavelength = np.linspace(4000, 7000, 1500) * u.AA
    spectrum = Spectrum(flux=np.ones(1500) * u.Jy, spectral_axis=wavelength)
    windows = [(4600, 4800) * u.AA, (6500, 6600) * u.AA]
    edges = {"": 4600 * u.AA, " ": 4800 * u.AA}  # unlabelled line markers at a window's edges
    image = render_overview(spectrum, windows, lines=edges)
    whole = (4000 * u.AA, 7000 * u.AA)
    expected = render_window(spectrum, whole, lines=edges, size=(1100, 380), highlight=windows)
    assert np.array_equal(np.asarray(image), np.asarray(expected))
    # the first window's edges lie where the axis puts its bounds: on the markers
    edge = (np.asarray(image) == _SHADE_EDGE).all(axis=-1).any(axis=0)
    marked = (np.asarray(image) == _MARKER[None]).all(axis=-1).any(axis=0)
    assert list(np.flatnonzero(marked)) == list(np.flatnonzero(edge)[:2])
    with pytest.raises(ValueError, match="valid pixels"):
        render_overview(Spectrum(flux=np.full(3, np.nan) * u.Jy, spectral_axis=[1, 2, 3] * u.AA))


def test_failed_rows_are_shown_as_failed_never_as_no(failing_run, tmp_path):
    results, trajectories = failing_run
    table = Table.read(results)
    assert list(table["status"]) == ["answered", "answered", "failed", "failed"]
    out = tmp_path / "failed"
    argv = (results, "--trajectories", trajectories, "--out")
    assert cli(report_command, *argv, out, "--verdict", "FAILED") == 0
    index = read_data(out / "data/report.js")
    assert [(e["id"], e["outcome"], e["verdict"]) for e in index["candidates"]] == [
        ("missing", "failed", ""),
        ("blank", "failed", ""),
    ]
    assert index["summary"]["verdict_counts"] == {
        "m_giant": {"YES": 0, "NO": 2, "no_answer": 0, "failed": 2, "error": 0}
    }
    assert index["summary"]["outcomes"] == ["YES", "NO", "failed"]
    assert index["outcome_labels"]["failed"] == "failed"
    missing, blank = records(out)
    # the error names the file; no inspection, no spectrum to draw, and no crash
    assert missing["error"] == f"{table['file'][2]}: no such file"
    assert blank["error"] == f"{table['file'][3]}: its flux is zero at every valid pixel"
    assert missing["windows"] == missing["transcript"] == [] and missing["spectrum_image"] is None
    assert missing["notes"] == []  # the error says why the file cannot be read: said once
    # a spectrum that can be read is drawn, so the reviewer sees why it failed
    assert blank["notes"] == [] and (out / blank["spectrum_image"]).is_file()

    out = tmp_path / "no"
    assert cli(report_command, *argv, out, "--verdict", "no") == 0
    assert [e["id"] for e in read_data(out / "data/report.js")["candidates"]] == [
        Path(FILES[0]).stem,
        "no-z",
    ]


def test_redshift_and_its_source_on_each_card(failing_run, tmp_path):
    results, trajectories = failing_run
    out = tmp_path / "all"
    build_report(results, out, trajectories=trajectories, verdict="all", progress=False)
    dwarf, no_z, missing, blank = records(out)
    assert (dwarf["redshift_source"], dwarf["redshift_note"]) == ("file", "from the file")
    assert dwarf["redshift"] == pytest.approx(Table.read(results)["redshift"][0]) != 0
    assert (no_z["redshift"], no_z["redshift_source"]) == (0, "assumed")
    assert no_z["redshift_note"] == "assumed: no redshift in the file"
    assert no_z["evidence"].endswith("it was inspected at the task's assumed z = 0.")
    # a failed row was inspected at no redshift: its card has none
    assert (missing["redshift"], missing["redshift_source"], missing["redshift_note"]) == (
        None,
        "",
        "",
    )
    # ... unless its spectrum is read now: then the frame it is drawn in
    assert (blank["redshift"], blank["redshift_source"]) == (0, "assumed")


def test_rows_without_an_answer(failing_run, tmp_path):
    results, trajectories = failing_run
    table = Table.read(results)
    table["status"] = ["answered", "no_answer", "failed", "failed"]
    table["verdict"].mask[1] = True
    table["error"][1] = "no answer within 8 assistant turns"
    table.write(tmp_path / "unanswered.ecsv")
    out = tmp_path / "report"
    build_report(
        tmp_path / "unanswered.ecsv",
        out,
        trajectories=trajectories,
        verdict="no_answer",
        progress=False,
    )
    (entry,) = read_data(out / "data/report.js")["candidates"]
    assert (entry["id"], entry["outcome"], entry["verdict"]) == ("no-z", "no_answer", "")
    assert entry["error"] == "no answer within 8 assistant turns"
    assert read_data(out / "data/report.js")["summary"]["outcomes"] == [
        "YES",
        "NO",
        "no_answer",
        "failed",
    ]


def test_tables_written_before_the_status_column(failing_run, tmp_path):
    """Such a table gave a failed row the verdict NO and an error: it is an error, not a NO."""
    results, trajectories = failing_run
    table = Table.read(results)
    table["verdict"] = table["verdict"].filled("NO")
    table.remove_columns(["status", "redshift", "redshift_source"])
    table.write(tmp_path / "old.ecsv")
    shown = {}
    for verdict in ("NO", "failed", "no_answer"):
        out = tmp_path / verdict
        build_report(
            tmp_path / "old.ecsv", out, trajectories=trajectories, verdict=verdict, progress=False
        )
        index = read_data(out / "data/report.js")
        shown[verdict] = [(e["id"], e["outcome"]) for e in index["candidates"]]
    assert shown["NO"] == [(Path(FILES[0]).stem, "NO"), ("no-z", "NO")]
    assert shown["failed"] == shown["no_answer"] == [("missing", "error"), ("blank", "error")]
    assert index["summary"]["outcomes"] == ["YES", "NO", "error"]
    # the redshift and its source come from the saved inspections
    out = tmp_path / "NO"
    assert [r["redshift_source"] for r in records(out)] == ["file", "assumed"]


def test_verdict_choices(run, tmp_path):
    results, _ = run
    with pytest.raises(SystemExit):
        cli(report_command, results, "--out", tmp_path / "r", "--verdict", "maybe")
    with pytest.raises(ValueError, match="verdict must be one of YES, NO, no_answer, failed, all"):
        build_report(results, tmp_path / "r", verdict="maybe", progress=False)


def test_sorted_by_confidence_least_sure_first(run, tmp_path):
    results, trajectories = run
    table = Table.read(results, format="ascii.ecsv")
    table["confidence"] = np.ma.masked_array([0.93, 0.0, 0.41], mask=[False, True, False])
    path = tmp_path / "results.ecsv"
    table.write(path, format="ascii.ecsv")
    out = tmp_path / "report"
    argv = ["--trajectories", trajectories, "--out", out, "--verdict", "all"]
    assert cli(report_command, path, *argv, "--sort-by", "confidence") == 0
    index = read_data(out / "data/report.js")
    # the backend gave none for the middle row: shown, last, with no confidence on its card
    assert [entry["confidence"] for entry in index["candidates"]] == [0.41, 0.93, None]
    assert [record["confidence"] for record in records(out)] == [0.41, 0.93, None]
    assert [entry["file"] for entry in index["candidates"]] == list(table["file"][[2, 0, 1]])
