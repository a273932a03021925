"""``spec-o3 vet``: one row per file, failures as rows without a verdict (exit status 3), usage
errors as exit status 2."""

import argparse
import json
import subprocess
import sys

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import QTable

import spec_o3.agent
from spec_o3.agent import BackendError, Policy, Trajectory
from spec_o3.agent.protocol import format_answer, format_assistant, format_tool_call
from spec_o3.commands import vet as vet_command

COLUMNS = list(vet_command.COLUMNS)  # documented in docs/cli.rst


def write_lamost_dr7(path, *, redshift=0.0, band=False):
    """A small LAMOST DR7-layout file: 5-row image (flux, ivar, wavelength, andmask, ormask)."""
    loglam = 3.5682 + 1e-4 * np.arange(3900)
    wavelength = 10**loglam
    flux = 100 + np.random.default_rng(0).normal(0, 1, wavelength.size)
    if band:
        flux[(wavelength > 5000 * (1 + redshift)) & (wavelength < 5165 * (1 + redshift))] *= 0.6
    image = np.vstack(
        [flux, np.ones_like(flux), wavelength, np.zeros_like(flux), np.zeros_like(flux)]
    )
    header = fits.Header(
        {
            "TELESCOP": "LAMOST",
            "COEFF0": 3.5682,
            "COEFF1": 1e-4,
            "Z": redshift,
            "CLASS": "STAR",
            "SUBCLASS": "K5",
        }
    )
    fits.PrimaryHDU(image.astype(np.float32), header).writeto(path)
    return path


class ZoomThenAnswer(Policy):
    name = "scripted"

    def respond(self, episodes):
        zoom = format_tool_call(
            "spectral_visualization_tool", {"wavelength_range": [4950, 5250], "label": "C2"}
        )
        script = [
            format_assistant("Zoom.", zoom),
            format_assistant("Seen.", format_answer("YES", "Bands at 5165 Å.")),
        ]
        return [script[len(episode.trajectory.steps)] for episode in episodes]


class Down(Policy):
    name = "down"

    def respond(self, episodes):
        raise BackendError("http://127.0.0.1:9/v1/chat/completions failed after 5 attempts")


@pytest.fixture
def scripted(monkeypatch):
    """Make every backend name build the scripted policy (the expert has its own test)."""
    monkeypatch.setattr(spec_o3.agent, "get_backend", lambda name, **options: ZoomThenAnswer())


@pytest.fixture
def files(tmp_path):
    good = [
        write_lamost_dr7(tmp_path / f"spec-{i}.fits", redshift=0.001 * i, band=True)
        for i in range(3)
    ]
    broken = tmp_path / "broken.fits"
    broken.write_text("not a FITS file")
    return good + [broken, tmp_path / "missing.fits"]


def main(*argv):
    parser = argparse.ArgumentParser(prog="spec-o3 vet")
    vet_command.add_arguments(parser)
    return vet_command.run(parser.parse_args([str(arg) for arg in argv]))


#: What ``spec-o3 vet`` must not import before its workers start: each process imports it again
#: at start-up (with the expert, text only: no renderer, line finder, training or report stack;
#: pandas and pyarrow only to write the table at the end).
NOT_AT_START_UP = (
    "pandas",
    "pyarrow",
    "scipy.ndimage",
    "torch",
    "transformers",
    "trl",
    "distributed",
    "tqdm",
    "PIL.ImageDraw",
    "spec_o3.analysis.lines",
    "spec_o3.analysis.render",
    "spec_o3.bench",
    "spec_o3.commands.report",
    "spec_o3.report",
    "spec_o3.simulate",
    "spec_o3.training",
)


def test_start_up_imports_what_vetting_needs_only():
    """Checked in a fresh interpreter: importing spec-o3 and parsing a ``vet`` command line
    leaves the modules above out, and registers the survey readers with specutils."""
    script = (
        "import json, sys\n"
        "from astropy.io import registry\n"
        "from specutils import Spectrum\n"
        "import spec_o3.cli\n"
        "spec_o3.cli.build_parser('vet').parse_args(['vet', '--task', 'all', 'f.fits'])\n"
        "formats = [str(f) for f in registry.get_formats(Spectrum)['Format']]\n"
        "print(json.dumps({'modules': sorted(sys.modules), 'formats': formats}))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    loaded = json.loads(result.stdout.splitlines()[-1])
    imported = set(loaded["modules"])
    assert [name for name in NOT_AT_START_UP if name in imported] == []
    assert {"spec-o3 LAMOST-LRS", "spec-o3 SDSS-spec"} <= set(loaded["formats"])


def test_the_program_leaves_what_it_loaded_out_of_the_shutdown_collection(monkeypatch):
    """``spec-o3`` itself (``main()`` reading ``sys.argv``) freezes the garbage collector as its
    interpreter shuts down, which spares a scan of everything loaded (~0.4 s); ``main(argv)``,
    called by an application or a test that goes on, leaves the collector alone."""
    import gc

    import spec_o3.cli

    registered = []
    monkeypatch.setattr(spec_o3.cli.atexit, "register", registered.append)
    monkeypatch.setattr(sys, "argv", ["spec-o3", "--version"])
    with pytest.raises(SystemExit):
        spec_o3.cli.main()
    assert registered == [gc.freeze]
    registered.clear()
    with pytest.raises(SystemExit):
        spec_o3.cli.main(["--version"])
    assert registered == []


def test_rows_per_file_with_failures_as_rows(scripted, files, tmp_path, capsys):
    output = tmp_path / "results.ecsv"
    argv = ["--task", "cc", *files, "--output", output, "--no-images", "--batch-size", "2"]
    assert main(*argv) == vet_command.EXIT_FAILED_INPUTS
    table = QTable.read(output, format="ascii.ecsv")
    assert table.colnames == COLUMNS
    assert COLUMNS[1] == "targetid" and COLUMNS[3:5] == ["status", "verdict"]
    assert "redshift_source" in COLUMNS and np.ma.getmaskarray(table["targetid"]).all()
    assert list(table["file"]) == [str(path) for path in files]
    assert list(table["status"]) == ["answered"] * 3 + ["failed"] * 2
    assert list(table["verdict"][:3]) == ["YES"] * 3
    assert list(np.ma.getmaskarray(table["verdict"])) == [False] * 3 + [True] * 2  # not "NO"
    assert list(table["task"]) == ["carbon_star"] * 5
    assert list(table["n_steps"]) == [2, 2, 2, 0, 0]
    assert list(table["windows"][:3]) == ["4950-5250"] * 3
    assert list(table["evidence"][:3]) == ["Bands at 5165 Å."] * 3
    assert list(table["redshift"][:3]) == pytest.approx([0.0, 0.001, 0.002])
    assert list(table["redshift_source"][:3]) == ["file"] * 3
    # an empty error is written as "" and read back as missing
    assert list(np.ma.getmaskarray(table["error"])) == [True, True, True, False, False]
    assert table["error"][3].startswith(f"{files[3]}: cannot be read: not a readable FITS file")
    assert table["error"][4] == f"{files[4]}: no such file"
    assert table["seconds"].unit == "s" and all(table["seconds"] > 0)
    out, err = capsys.readouterr()
    assert "5 spectra: 3 YES, 0 NO, 0 without an answer, 2 failed" in out
    assert f"{files[3]}: cannot be read" in err and "(exit status 3)" in err


def test_rows_on_the_terminal_without_output(scripted, files, capsys):
    assert main("--task", "cc", files[0], files[4], "--no-images") == 3
    out = capsys.readouterr().out
    assert "2 spectra: 1 YES, 0 NO, 0 without an answer, 1 failed" in out
    assert f"{files[0]}\tYES\tBands at 5165 Å." in out
    assert f"{files[4]}\tFAILED\t{files[4]}: no such file" in out


def test_output_is_never_overwritten_silently(scripted, files, tmp_path, capsys):
    output = tmp_path / "results.ecsv"
    output.write_text("keep me")
    assert main("--task", "cc", files[0], "--output", output) == 2
    assert output.read_text() == "keep me"
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert main("--task", "cc", files[0], "--output", output, "--overwrite", "--no-images") == 0
    assert len(QTable.read(output, format="ascii.ecsv")) == 1


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--task", "quasar"], "unknown task 'quasar'"),
        (
            ["--task", "cc", "--base-url", "http://x/v1"],
            "--base-url applies to the openai backend only",
        ),
        (
            ["--task", "cc", "--model", "m"],
            "--model applies to the transformers and openai backends",
        ),
        (["--task", "cc", "--max-turns", "0"], "at least 1"),
    ],
)
def test_usage_errors(argv, message, files, capsys):
    assert main(*argv, files[0]) == 2
    assert message in capsys.readouterr().err


def test_save_trajectories(scripted, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    files = [
        write_lamost_dr7(tmp_path / "a" / "spec.fits"),
        write_lamost_dr7(tmp_path / "b" / "spec.fits"),
    ]
    saved = tmp_path / "trajectories"
    assert main("--task", "cc", *files, "--save-trajectories", saved) == 0
    assert sorted(p.name for p in saved.iterdir()) == ["spec", "spec-2"]
    trajectory = Trajectory.load(saved / "spec-2")
    assert trajectory.source == str(files[1]) and trajectory.verdict == "YES"
    assert trajectory.overview is not None and trajectory.steps[0].image is not None
    # a second run would replace them: refused without --overwrite
    assert main("--task", "cc", *files, "--save-trajectories", saved) == 2
    assert main("--task", "cc", *files, "--save-trajectories", saved, "--overwrite") == 0


def test_backend_failure_fills_the_rows_and_exits_1(monkeypatch, files, tmp_path, capsys):
    monkeypatch.setattr(spec_o3.agent, "get_backend", lambda name, **options: Down())
    output = tmp_path / "results.ecsv"
    assert main("--task", "wd", *files, "--output", output, "--no-images", "--batch-size", "2") == 1
    table = QTable.read(output, format="ascii.ecsv")
    assert len(table) == len(files) and set(table["status"]) == {"failed"}
    assert all(
        "backend failed: http://127.0.0.1:9/v1/chat/completions" in error
        for error in table["error"]
    )


def test_backend_options_reach_the_backend(monkeypatch, files):
    seen = {}

    def fake(name, **options):
        seen.update(options, name=name)
        return ZoomThenAnswer()

    monkeypatch.setattr(spec_o3.agent, "get_backend", fake)
    assert (
        main(
            "--task",
            "cc",
            files[0],
            "--backend",
            "openai",
            "--model",
            "spec-o3-3b",
            "--base-url",
            "http://localhost:8000/v1",
            "--no-images",
        )
        == 0
    )
    assert seen == {"name": "openai", "model": "spec-o3-3b", "base_url": "http://localhost:8000/v1"}


def test_real_lamost_files(scripted, real_data, tmp_path):
    files = sorted((real_data / "lamost_lrs_dr1_grd349").glob("*.fits"))[:2]
    output = tmp_path / "results.ecsv"
    assert main("--task", "carbon_star", *files, "--output", output, "--no-images") == 0
    table = QTable.read(output, format="ascii.ecsv")
    assert list(table["file"]) == [str(path) for path in files]
    assert all(np.ma.getmaskarray(table["error"]))


def test_expert_end_to_end(tmp_path):
    """The default backend, with images and saved trajectories, through the real readers."""
    files = [write_lamost_dr7(tmp_path / "cand.fits", redshift=0.0003, band=True)]
    output, saved = tmp_path / "results.ecsv", tmp_path / "runs"
    assert main("--task", "cc", *files, "--output", output, "--save-trajectories", saved) == 0
    row = QTable.read(output, format="ascii.ecsv")[0]
    assert row["verdict"] in ("YES", "NO") and np.ma.is_masked(row["error"])
    assert row["n_steps"] >= 2 and row["windows"] and row["evidence"]
    trajectory = Trajectory.load(saved / "cand")
    assert trajectory.redshift == pytest.approx(0.0003)
    assert trajectory.steps[0].tool_name == "spectral_visualization_tool"
    assert len(trajectory.images) == len(
        trajectory.steps
    )  # overview + one per zoom, none for the answer


@pytest.mark.parametrize(
    ("options", "images"),
    [
        ((), False),  # the expert measures the spectrum itself
        (("--save-trajectories", "saved"), True),  # the trajectories keep the images
        (("--no-images", "--save-trajectories", "saved"), False),
    ],
)
def test_images_are_rendered_only_when_something_looks_at_them(
    monkeypatch, files, tmp_path, options, images
):
    import spec_o3.batch

    asked = {}

    def vet_catalog(*args, **options):
        asked.update(options)
        raise ValueError("stop here")

    monkeypatch.setattr(spec_o3.batch, "vet_catalog", vet_catalog)
    options = [tmp_path / option if option == "saved" else option for option in options]
    assert main("--task", "all", files[0], *options) == 2
    assert asked["render_images"] is images
