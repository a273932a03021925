"""Catalogue-scale vetting: catalogues, output formats, error rows, no overwrite, crash and resume,
worker processes, a Dask cluster, bounded concurrency against a loopback model server."""

import argparse
import contextlib
import gc
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import astropy.units as u
import numpy as np
import pyarrow.parquet as pq
import pytest
from astropy.io import fits
from astropy.nddata import InverseVariance
from astropy.table import QTable, Table
from specutils import Spectrum
from test_backend_openai import FakeServer, zoom_then_answer

import spec_o3.agent
from spec_o3.agent import BackendError, Policy
from spec_o3.agent.protocol import format_answer, format_assistant
from spec_o3.batch import COLUMNS, Catalog, CatalogEntry, vet_catalog
from spec_o3.commands import vet as vet_command

N_FILES = 12
SUBCLASSES = ["C", "K5", "BAD"]  # the scripted policy says YES to C, NO to K5, crashes on BAD
SURE_OF_C = 0.875  # its confidence in a YES; none given with a NO


def write_spectrum(path, subclass, redshift=0.0):
    wavelength = 10 ** (3.5682 + 2e-4 * np.arange(1800)) * u.AA
    flux = 1 + 0.01 * np.random.default_rng(len(str(path))).standard_normal(1800)
    Spectrum(
        flux=flux * u.one,
        spectral_axis=wavelength,
        uncertainty=InverseVariance(np.full(1800, 1e4)),
        meta={"class": "STAR", "subclass": subclass, "redshift": redshift},
    ).write(path, format="spec-o3 LAMOST-LRS")
    return str(path)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """N_FILES readable LAMOST files (C, K5 and BAD subclasses in turn), then two unreadable."""
    folder = tmp_path_factory.mktemp("spectra")
    paths = [
        write_spectrum(folder / f"spec-{i:02d}.fits", SUBCLASSES[i % 3]) for i in range(N_FILES)
    ]
    (folder / "broken.fits").write_text("not a FITS file")
    return paths + [str(folder / "broken.fits"), str(folder / "missing.fits")]


class Scripted(Policy):
    """Answers at once from the file's subclass, with a confidence in YES only; counts the spectra
    it is asked about."""

    name = "scripted"

    def __init__(self, crash_after=None):
        self.seen, self.crash_after = [], crash_after

    def respond(self, episodes):
        if self.crash_after is not None and len(self.seen) >= self.crash_after:
            raise KeyboardInterrupt  # the run dies here, as under kill -9 between two writes
        texts = []
        for episode in episodes:
            subclass = episode.spectrum.meta["subclass"]
            if subclass == "BAD":
                raise RuntimeError("cannot make sense of this spectrum")
            self.seen.append(episode.trajectory.source)
            verdict = "YES" if subclass == "C" else "NO"
            episode.state["confidence"] = SURE_OF_C if verdict == "YES" else None
            texts.append(format_assistant("Read it.", format_answer(verdict, f"{subclass}.")))
        return texts


class Down(Policy):
    name = "scripted"

    def respond(self, episodes):
        raise BackendError("http://127.0.0.1:9/v1/chat/completions failed after 5 attempts")


def expected_verdicts(files):
    """Every third spectrum fails in the policy, and the last two files cannot be read: no
    verdict (masked) for them."""
    verdicts = [("YES", "NO", None)[i % 3] for i in range(N_FILES)]
    return verdicts + [None, None]


def verdicts_of(table):
    return [None if np.ma.is_masked(verdict) else str(verdict) for verdict in table["verdict"]]


def run(files, output, task="cc", **options):
    options = {"backend": Scripted(), "progress": False, "render_images": False, **options}
    return vet_catalog(files, task, output, **options)


def check_complete(table, files):
    """One row per catalogue entry, in catalogue order, with the scripted verdicts and
    confidences."""
    assert list(table["file"]) == files
    assert verdicts_of(table) == expected_verdicts(files)
    confidences = [None if np.ma.is_masked(value) else value for value in table["confidence"]]
    assert confidences == [SURE_OF_C if v == "YES" else None for v in expected_verdicts(files)]
    failed = [verdict is None for verdict in expected_verdicts(files)]
    assert list(table["status"]) == ["failed" if fail else "answered" for fail in failed]
    errors = ["" if np.ma.is_masked(error) else str(error) for error in table["error"]]
    assert [bool(error) for error in errors] == failed
    for index in [*range(2, N_FILES, 3), N_FILES, N_FILES + 1]:  # each names its file
        assert errors[index].startswith(f"{files[index]}: ")
    assert all("cannot vet (RuntimeError: " in error for error in errors[2:N_FILES:3])
    assert errors[-1].endswith("missing.fits: no such file")
    assert "not a readable FITS file" in errors[-2]


# -- catalogues ---------------------------------------------------------------------------------


def test_text_list_skips_comments_and_resolves_relative_paths(tmp_path):
    listing = tmp_path / "list.txt"
    listing.write_text("# candidates\n\nspec-1.fits\n  /data/spec-2.fits  \n")
    assert list(Catalog.read(listing)) == [
        CatalogEntry(0, str(tmp_path / "spec-1.fits")),
        CatalogEntry(1, "/data/spec-2.fits"),
    ]
    assert not Catalog.read(listing).has_ids


@pytest.mark.parametrize("extension", ["csv", "ecsv", "fits"])
def test_tables_with_path_redshift_and_id_columns(tmp_path, extension):
    table = Table(
        {"ObsID": [101, 102, 103], "Z": [0.001, np.nan, 0.2], "Path": ["a b.fits", "/d/b", "c"]}
    )
    table.write(tmp_path / f"cat.{extension}")
    catalog = Catalog.read(tmp_path / f"cat.{extension}")
    assert catalog.has_ids
    assert list(catalog) == [
        CatalogEntry(0, str(tmp_path / "a b.fits"), 0.001, "101"),
        CatalogEntry(1, "/d/b", None, "102"),
        CatalogEntry(2, str(tmp_path / "c"), 0.2, "103"),
    ]


def test_csv_saved_by_a_spreadsheet(tmp_path):
    (tmp_path / "cat.csv").write_bytes("\ufeffFile,Z\r\n/a.fits,0.5\r\n".encode())
    assert list(Catalog.read(tmp_path / "cat.csv")) == [CatalogEntry(0, "/a.fits", 0.5)]


def test_named_columns_and_comma_ecsv(tmp_path):
    table = Table({"spectrum": ["/a.fits"], "zbest": [0.5], "designation": ["J1234+5678"]})
    table.write(tmp_path / "cat.ecsv", delimiter=",")
    catalog = Catalog.read(
        tmp_path / "cat.ecsv",
        path_column="spectrum",
        redshift_column="zbest",
        id_column="designation",
    )
    assert list(catalog) == [CatalogEntry(0, "/a.fits", 0.5, "J1234+5678")]


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("cat.csv", "obsid,z\n1,0.1\n", r"no path column \(looked for path, file"),
        ("cat.xlsx", "", "cannot tell the format of catalogue"),
        ("cat.csv", "path,z\na.fits,high\n", "entry 1: redshift 'high' is not a number"),
        ("cat.ecsv", "path\na.fits\n", "is not ECSV"),
    ],
)
def test_bad_catalogues(tmp_path, name, content, message):
    (tmp_path / name).write_text(content)
    with pytest.raises(ValueError, match=message):
        list(Catalog.read(tmp_path / name))


def test_missing_catalogue_and_unknown_column(tmp_path):
    with pytest.raises(FileNotFoundError, match="catalogue .*nope.txt does not exist"):
        Catalog.read(tmp_path / "nope.txt")
    (tmp_path / "cat.csv").write_text("path\na.fits\n")
    with pytest.raises(ValueError, match="has no column 'file_name'"):
        Catalog.read(tmp_path / "cat.csv", path_column="file_name")


def test_fits_catalogue_without_table(tmp_path):
    fits.PrimaryHDU(np.zeros(3)).writeto(tmp_path / "cat.fits")
    with pytest.raises(ValueError, match="holds no table HDU"):
        Catalog.read(tmp_path / "cat.fits")


# -- running --------------------------------------------------------------------------------------


@pytest.mark.parametrize("extension", ["ecsv", "csv", "parquet"])
def test_one_row_per_file_in_catalogue_order_with_errors_as_rows(files, tmp_path, extension):
    output = tmp_path / f"results.{extension}"
    summary = run(files, output, chunk_size=5, batch_size=2)
    table = QTable.read(output)
    assert table.colnames == list(COLUMNS)
    check_complete(table, files)
    assert (summary.total, summary.yes, summary.no, summary.no_answer, summary.failed) == (
        14,
        4,
        4,
        0,
        6,
    )
    assert summary.vetted == 14 and summary.rate > 0 / u.s
    assert summary.first_errors[0] == (files[2], table["error"][2])
    assert str(summary).startswith(
        "14 spectra: 4 YES, 4 NO, 0 without an answer, 6 failed; 14 vetted in "
    )
    if extension != "csv":
        assert table["seconds"].unit == u.s
    assert not (tmp_path / f"results.{extension}.journal").exists()


def test_catalogue_redshift_and_ids_reach_the_rows(files, tmp_path):
    catalogue = tmp_path / "cat.csv"
    Table({"id": ["a", "b"], "path": files[:2], "redshift": [0.01, np.nan]}).write(catalogue)
    seen = {}

    class Recorder(Scripted):
        def respond(self, episodes):
            seen.update({episode.trajectory.source: episode.redshift for episode in episodes})
            return super().respond(episodes)

    run(catalogue, tmp_path / "out.ecsv", backend=Recorder())
    table = QTable.read(tmp_path / "out.ecsv")
    assert table.colnames == ["id", *COLUMNS] and list(table["id"]) == ["a", "b"]
    assert seen == {files[0]: 0.01, files[1]: 0.0}  # no catalogue redshift: the file's own


def test_episodes_reach_the_policy_in_batches(files, tmp_path):
    """A batching backend (transformers: one generate per turn) sees batch_size episodes a call."""
    sizes = []

    class Batching(Scripted):
        def respond(self, episodes):
            sizes.append(len(episodes))
            return super().respond(episodes)

    run(
        files[:2] + files[3:5] + files[6:8],
        tmp_path / "out.ecsv",
        backend=Batching(),
        batch_size=4,
        chunk_size=6,
    )  # readable files without BAD: every batch goes through
    assert sizes == [4, 2]


@pytest.mark.parametrize("frozen_before", [False, True])
def test_a_run_sets_the_garbage_collector_for_vetting_and_back(files, tmp_path, frozen_before):
    seen = []

    class Watcher(Scripted):
        def respond(self, episodes):
            seen.append((gc.get_freeze_count(), gc.get_threshold()))
            return super().respond(episodes)

    thresholds = gc.get_threshold()
    if frozen_before:  # an application's own freeze is left as it is
        gc.freeze()
    try:
        run(files[:2], tmp_path / "out.ecsv", backend=Watcher())
        # while vetting: the heap found frozen, the youngest generation collected less often
        assert all(frozen > 0 and during[0] >= 7000 for frozen, during in seen)
        assert (gc.get_freeze_count() > 0) == frozen_before and gc.get_threshold() == thresholds
    finally:
        gc.unfreeze()


def test_text_utf8_cannot_hold_does_not_stop_the_run(files, tmp_path):
    class Garbled(Policy):
        name = "garbled"

        def respond(self, episodes):
            return [format_assistant("Hm.", format_answer("YES", "bands \ud800 é"))] * len(episodes)

    run(files[:1], tmp_path / "out.ecsv", backend=Garbled())
    assert QTable.read(tmp_path / "out.ecsv")["evidence"][0] == "bands ? é"


def test_existing_output_is_never_overwritten_silently(files, tmp_path):
    output = tmp_path / "results.ecsv"
    output.write_text("keep me")
    with pytest.raises(FileExistsError, match="exists; pass overwrite"):
        run(files, output)
    assert output.read_text() == "keep me"
    with pytest.raises(FileExistsError, match="is complete"):
        run(files, output, resume=True)
    assert output.read_text() == "keep me"
    run(files, output, overwrite=True)
    check_complete(QTable.read(output), files)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"workers": 0}, "workers must be a whole number of at least 1"),
        ({"chunk_size": 2.5}, "chunk_size must be a whole number"),
        ({"workers": 2, "concurrency": 2}, "concurrency applies to a run in this process"),
        ({"workers": 2}, "a policy instance can only vet in this process"),
        ({"workers": 2, "scheduler": "tcp://x:1"}, "a Dask cluster has its own"),
    ],
)
def test_bad_settings(files, tmp_path, options, message):
    with pytest.raises(ValueError, match=message):
        run(files, tmp_path / "out.ecsv", **options)
    with pytest.raises(ValueError, match=r"use \.ecsv, \.csv or \.parquet"):
        run(files, tmp_path / "out.fits")
    assert list(tmp_path.iterdir()) == []


def test_parquet_output_without_pyarrow_is_refused_before_vetting(files, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r"pip install 'spec-o3\[parquet\]'"):
        run(files, tmp_path / "out.parquet")
    assert list(tmp_path.iterdir()) == []  # no journal: nothing was vetted


def test_resume_after_a_crash_with_a_torn_journal(files, tmp_path):
    output = tmp_path / "results.parquet"
    journal = tmp_path / "results.parquet.journal"
    crashing = Scripted(crash_after=3)
    with pytest.raises(KeyboardInterrupt):
        run(files, output, backend=crashing, chunk_size=2, batch_size=1)
    assert not output.exists()
    lines = journal.read_bytes().splitlines(keepends=True)
    assert len(lines) == 1 + 4  # header, then the two chunks finished before the crash
    with journal.open("ab") as file:  # the kill came in the middle of writing the next chunk
        file.write(b'{"index": 4, "file": "')
    # without resume, the interrupted run is not silently thrown away
    with pytest.raises(FileExistsError, match="interrupted run left its journal"):
        run(files, output)
    # nor is it resumed with another task or catalogue
    with pytest.raises(ValueError, match="another task"):
        vet_catalog(files, "wd", output, backend=Scripted(), resume=True, progress=False)
    with pytest.raises(ValueError, match="another catalog"):
        run(files[:-1], output, resume=True)
    finishing = Scripted()
    summary = run(files, output, backend=finishing, resume=True, chunk_size=2)
    check_complete(QTable.read(output), files)
    assert summary.vetted == len(files) - 4 and summary.total == len(files)
    assert not set(crashing.seen) & set(finishing.seen)  # nothing vetted twice
    assert not journal.exists()


def test_backend_failure_writes_the_rows_and_keeps_the_journal(files, tmp_path):
    output = tmp_path / "results.ecsv"
    with pytest.raises(BackendError, match="0 of 14 spectra have a result"):
        run(files, output, backend=Down(), chunk_size=4)
    table = QTable.read(output)
    assert list(table["file"]) == files
    assert all(
        error == f"{file}: backend failed: http://127.0.0.1:9/v1/chat/completions failed after 5 "
        "attempts"
        for file, error in zip(table["file"], table["error"], strict=True)
    )
    assert set(table["status"]) == {"failed"} and all(np.ma.getmaskarray(table["verdict"]))
    summary = run(files, output, resume=True)  # the backend is back
    check_complete(QTable.read(output), files)
    assert summary.vetted == len(files)


@pytest.mark.parametrize("interrupted", [False, True], ids=["finished", "interrupted"])
def test_failed_rows_are_retried_only_when_asked(files, tmp_path, interrupted):
    late = tmp_path / "late.fits"
    files = [*files[:-1], str(late)]  # a file still missing at the first run
    output = tmp_path / "results.ecsv"
    journal = tmp_path / "results.ecsv.journal"
    if interrupted:
        with pytest.raises(KeyboardInterrupt):
            run(files, output, backend=Scripted(crash_after=6), chunk_size=3, batch_size=1)
        summary = run(files, output, resume=True)
    else:
        summary = run(files, output)
    assert summary.failed == 6
    late.write_bytes(Path(files[0]).read_bytes())  # the missing file turns up
    with pytest.raises(ValueError, match="retry_failed=True retries the failed rows"):
        run(files, output, retry_failed=True)
    if not interrupted:  # a finished run is not resumed by accident
        with pytest.raises(FileExistsError, match="pass retry_failed=True"):
            run(files, output, resume=True)
    again = Scripted()
    summary = run(files, output, backend=again, resume=True, retry_failed=True)
    assert set(again.seen) == {str(late)}  # the policy still fails the BAD ones
    assert (summary.yes, summary.no, summary.failed, summary.vetted) == (5, 4, 5, 6)
    table = QTable.read(output)
    assert list(table["status"])[-1] == "answered" and table["verdict"][-1] == "YES"
    assert verdicts_of(table)[:-1] == expected_verdicts(files)[:-1] and not journal.exists()


def test_parquet_schema_holds_the_longest_texts_of_the_rows_kept(files, tmp_path):
    """The output is written in one pass with the longest texts the journal saw, in two when a
    retried row replaced one (it may have held the longest): the schema is the same as for the
    rows written from scratch."""
    from spec_o3.batch.results import read_rows, write_table

    late = tmp_path / ("late-" + "x" * 200 + ".fits")  # the longest error while it is missing
    files = [*files[:-1], str(late)]
    output = tmp_path / "results.parquet"

    def schema_of_its_rows():
        rows = list(read_rows(output, COLUMNS))
        write_table(lambda: iter(rows), tmp_path / "again.parquet", COLUMNS)
        return pq.read_schema(tmp_path / "again.parquet")

    run(files, output)
    assert QTable.read(output)["error"].dtype.itemsize > 4 * len(str(late))  # 4 bytes a letter
    assert pq.read_schema(output) == schema_of_its_rows()
    late.write_bytes(Path(files[0]).read_bytes())
    run(files, output, resume=True, retry_failed=True)
    assert QTable.read(output)["error"].dtype.itemsize < 4 * len(str(late))
    assert pq.read_schema(output) == schema_of_its_rows()


def odd_rows(n=23):
    """Rows with masked values, long numbers and texts that CSV, ECSV and UTF-8 must escape."""
    texts = ["", "a b", 'say "no"', "x,y", "Hα 6563 Å", " padded ", "two\nlines"]
    return [
        {
            "file": f"dir with space/{i}.fits",
            "targetid": None if i % 3 else 2**62 + i,
            "task": "carbon_star",
            "status": "failed" if i % 4 == 0 else "answered",
            "verdict": None if i % 4 == 0 else ("YES", "NO")[i % 2],
            "confidence": None if i % 5 == 0 else (0.1 + 0.2, 1e-7, 1.0)[i % 3],
            "evidence": texts[i % len(texts)],
            "n_steps": i % 9,
            "windows": "4950-5250;6480-6650" if i % 2 else "",
            "redshift": None if i % 4 == 0 else -1e-4 * i,
            "redshift_source": "file",
            "error": texts[(i + 3) % len(texts)],
            "seconds": 0.001 * i,
        }
        for i in range(n)
    ]


@pytest.mark.parametrize("extension", ["ecsv", "csv"])
def test_text_tables_are_written_as_astropy_writes_them(tmp_path, monkeypatch, extension):
    """Block by block, with the masked columns given to astropy as its own texts for them, the
    output is byte for byte astropy's writing of the whole table."""
    from spec_o3.batch import results

    rows = odd_rows()
    monkeypatch.setattr(results, "_BLOCK", 5)  # several blocks, the last one short
    output = tmp_path / f"out.{extension}"
    results.write_table(lambda: iter(rows), output, COLUMNS)
    whole = tmp_path / f"whole.{extension}"
    results._block_table(rows, COLUMNS).write(whole, format=results.table_format(whole))
    assert output.read_bytes() == whole.read_bytes()


def test_parquet_tables_are_astropy_s_without_pandas(tmp_path, monkeypatch):
    """Block by block, the parquet output holds astropy's writing of the whole table (its schema
    and metadata too), and is written without importing pandas, which ``pyarrow.array`` imports
    (0.2 s at the end of a run)."""
    from spec_o3.batch import results

    rows = odd_rows()
    monkeypatch.setattr(results, "_BLOCK", 5)
    output, whole = tmp_path / "out.parquet", tmp_path / "whole.parquet"
    results.write_table(lambda: iter(rows), output, COLUMNS)
    results._block_table(rows, COLUMNS).write(whole, format="parquet")
    assert pq.read_table(output).equals(pq.read_table(whole), check_metadata=True)
    assert pq.read_schema(output).metadata == pq.read_schema(whole).metadata
    (tmp_path / "rows.json").write_text(json.dumps(rows))
    check = textwrap.dedent(
        f"""
        import json, sys
        from pathlib import Path
        from spec_o3.batch import COLUMNS
        from spec_o3.batch.results import write_table
        rows = json.loads(Path({str(tmp_path / "rows.json")!r}).read_text())
        write_table(lambda: iter(rows), Path({str(tmp_path / "fresh.parquet")!r}), COLUMNS)
        print("pandas" in sys.modules)
        """
    )
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    found = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, env=environment, check=True
    )
    assert found.stdout.split() == ["False"]


def test_trajectories_are_saved_and_not_overwritten(files, tmp_path):
    saved = tmp_path / "runs"
    run(files[:2], tmp_path / "a.ecsv", save_trajectories=saved)
    assert sorted(path.name for path in saved.iterdir()) == ["spec-00", "spec-01"]
    with pytest.raises(FileExistsError, match="trajectories are already saved"):
        run(files[:2], tmp_path / "b.ecsv", save_trajectories=saved)


def test_dask_local_cluster(files, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        summary = vet_catalog(
            files,
            "cc",
            tmp_path / "dask.ecsv",
            scheduler=cluster.scheduler_address,
            render_images=False,
            chunk_size=3,
            progress=False,
        )
    run(files, tmp_path / "local.ecsv", backend="expert", chunk_size=3)
    on_cluster, local = QTable.read(tmp_path / "dask.ecsv"), QTable.read(tmp_path / "local.ecsv")
    assert list(on_cluster["file"]) == files and summary.vetted == len(files)
    for name in ("verdict", "evidence", "windows", "error"):
        assert list(on_cluster[name]) == list(local[name])


def test_concurrency_bounds_requests_to_a_model_server(files, tmp_path):
    with FakeServer(zoom_then_answer, delay=0.1) as server:
        summary = run(
            files[:9],
            tmp_path / "results.ecsv",
            backend="openai",
            backend_options={"base_url": server.base_url, "model": "m", "api_key": "k"},
            concurrency=3,
            chunk_size=1,
        )
    assert summary.yes == 9
    assert len(server.requests) == 2 * 9  # one zoom, one answer per spectrum
    assert server.max_in_flight == 3  # the server was kept busy, never beyond the bound


# -- the command line -----------------------------------------------------------------------------


def vet_cli(*argv):
    parser = argparse.ArgumentParser(prog="spec-o3 vet")
    vet_command.add_arguments(parser)
    return vet_command.run(parser.parse_args([str(arg) for arg in argv]))


@pytest.fixture
def listing(files, tmp_path):
    path = tmp_path / "candidates.txt"
    path.write_text("\n".join(files) + "\n")
    return path


def test_cli_catalogue_crash_and_resume(monkeypatch, listing, files, tmp_path, capsys):
    policies = iter([Scripted(crash_after=5)])  # then a working one for each later run
    monkeypatch.setattr(
        spec_o3.agent, "get_backend", lambda name, **options: next(policies, None) or Scripted()
    )
    output = tmp_path / "results.parquet"
    argv = ["--task", "cc", "--catalog", listing, "--output", output, "--chunk-size", "2"]
    assert vet_cli(*argv, "--batch-size", "1") == 130
    assert "rerun with --resume" in capsys.readouterr().err
    assert vet_cli(*argv) == 2  # neither resumed nor overwritten by accident
    assert "pass --resume to finish it or --overwrite" in capsys.readouterr().err
    assert vet_cli(*argv, "--resume") == vet_command.EXIT_FAILED_INPUTS == 3
    check_complete(QTable.read(output), files)
    out, err = capsys.readouterr()
    assert out.startswith("14 spectra: 4 YES, 4 NO, 0 without an answer, 6 failed; 8 vetted in ")
    assert "spec-02.fits: cannot vet (RuntimeError: cannot make sense" in err
    assert "6 input(s) failed and have no verdict (exit status 3)" in err
    assert vet_cli(*argv, "--resume") == 2  # complete: nothing to resume
    assert "is complete" in capsys.readouterr().err
    assert vet_cli(*argv, "--retry-failed") == 2
    assert "--retry-failed retries the failed rows of a run: add --resume" in (
        capsys.readouterr().err
    )
    assert vet_cli(*argv, "--resume", "--retry-failed") == 3  # the same six fail again
    assert "0 without an answer, 6 failed; 6 vetted in " in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--task", "cc"], "nothing to vet"),
        (["--task", "cc", "a.fits", "--catalog", "c.txt"], "not both"),
        (["--task", "cc", "a.fits", "--resume"], "--resume finishes the run written to --output"),
        (["--task", "cc", "--catalog", "none.txt"], "catalogue none.txt does not exist"),
        (["--task", "cc", "a.fits", "-o", "r.ecsv", "--resume", "--overwrite"], "choose one"),
        (["--task", "cc", "a.fits", "-o", "r.ecsv", "--concurrency", "0"], "at least 1"),
    ],
)
def test_cli_usage_errors(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert vet_cli(*argv) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


# -- processes and kill -9 ------------------------------------------------------------------------

KILLABLE_RUN = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {tests!r})
    from test_batch import Scripted, run

    class Slow(Scripted):
        def respond(self, episodes):
            time.sleep(0.05)
            return super().respond(episodes)

    if __name__ == "__main__":
        run({files!r}, {output!r}, backend=Slow(), chunk_size=1, resume=True)
    """
)


def journal_rows(journal):
    try:
        return journal.read_bytes().count(b"\n") - 1
    except FileNotFoundError:
        return 0


@pytest.mark.slow
def test_kill_9_at_any_moment_then_resume(files, tmp_path):
    """SIGKILL a real run twice, wherever it is, then resume: every row once, none missing."""
    many = files[:N_FILES] * 5 + files[N_FILES:]  # 62 spectra (repeated files are still rows)
    output, journal = tmp_path / "results.csv", tmp_path / "results.csv.journal"
    script = tmp_path / "run.py"
    script.write_text(
        KILLABLE_RUN.format(tests=os.path.dirname(__file__), files=many, output=str(output))
    )
    for kill_at in (5, 25):
        process = subprocess.Popen([sys.executable, str(script)])
        deadline = time.monotonic() + 120
        while journal_rows(journal) < kill_at and time.monotonic() < deadline:
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert journal_rows(journal) >= kill_at and not output.exists()
    run(many, output, resume=True)
    table = QTable.read(output)
    assert list(table["file"]) == many and not journal.exists()
    expected = [("YES", "NO", None)[i % 3] for i in range(60)] + [None] * 2
    assert verdicts_of(table) == expected


@pytest.mark.slow
def test_workers_are_forked_from_a_process_without_threads():
    """As in ``spec-o3 vet``: no thread but the main one, so the workers are forked at once."""
    script = (
        "from spec_o3.batch.workers import _process_pool\n"
        "with _process_pool(2) as pool:\n"
        "    print(pool._mp_context.get_start_method())\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.stdout.split() == ["fork"], result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("other_thread", [False, True], ids=["alone", "beside a thread"])
def test_worker_processes(files, tmp_path, other_thread):
    """Workers vet as this process does; beside another thread (which may hold a lock when a
    worker is forked) they come from the fork server."""
    from spec_o3.batch.workers import _process_pool

    with contextlib.ExitStack() as stack:
        if other_thread:
            release = threading.Event()
            thread = threading.Thread(target=release.wait)
            thread.start()
            stack.callback(thread.join)
            stack.callback(release.set)
            with _process_pool(2) as pool:
                assert pool._mp_context.get_start_method() == "forkserver"
        summary = vet_catalog(
            files,
            "cc",
            tmp_path / "processes.ecsv",
            workers=2,
            chunk_size=2,
            render_images=False,
            progress=False,
        )
    run(files, tmp_path / "local.ecsv", backend="expert")
    processes, local = (
        QTable.read(tmp_path / "processes.ecsv"),
        QTable.read(tmp_path / "local.ecsv"),
    )
    assert summary.vetted == len(files)
    for name in ("file", "verdict", "evidence", "windows"):
        assert list(processes[name]) == list(local[name])


# -- files of many targets (DESI) ---------------------------------------------------------------

DESI_TARGETS = [39627652591847724 + i for i in range(5)]


@pytest.fixture(scope="module")
def desi_file(tmp_path_factory):
    """A DESI coadd of five flat targets whose redrock SUBTYPE drives `Scripted`: C, K5, BAD, C,
    K5 (the third crashes the policy)."""
    from spec_o3.io import DESI_ARMS, write_desi_coadd

    unit = u.Unit("1e-17 erg / (s cm2 Angstrom)")
    arms = []
    for band, (low, high) in DESI_ARMS.items():
        wavelength = low + 0.8 * np.arange(round((high - low) / 0.8) + 1)
        flux = 10 + np.random.default_rng(1).normal(0, 0.1, (5, wavelength.size))
        arms.append(
            Spectrum(
                flux=flux * unit,
                spectral_axis=wavelength * u.AA,
                uncertainty=InverseVariance(np.full(flux.shape, 100.0) * unit**-2),
                meta={"band": band},
            )
        )
    arms[0].meta["fibermap"] = Table({"TARGETID": np.array(DESI_TARGETS, dtype=np.int64)})
    redrock = Table(
        {
            "TARGETID": DESI_TARGETS,
            "Z": [0.0] * 5,
            "ZWARN": [0] * 5,
            "SPECTYPE": ["STAR"] * 5,
            "SUBTYPE": ["C", "K5", "BAD", "C", "K5"],
        }
    )
    path = tmp_path_factory.mktemp("desi") / "coadd-main-dark-1.fits"
    write_desi_coadd(path, arms, redshifts=redrock)
    return str(path)


def test_a_desi_file_gives_a_row_per_target_between_other_files(files, desi_file, tmp_path):
    catalogue = [files[0], desi_file, files[1]]
    summary = run(catalogue, tmp_path / "out.parquet")
    table = Table.read(tmp_path / "out.parquet")
    assert summary.total == len(table) == 7 and summary.failed == 1
    assert list(table["file"]) == [files[0], *[desi_file] * 5, files[1]]
    assert list(table["targetid"].filled(0)) == [0, *DESI_TARGETS, 0]
    assert list(np.ma.getmaskarray(table["targetid"])) == [True, *[False] * 5, True]
    assert verdicts_of(table) == ["YES", "YES", "NO", None, "YES", "NO", "NO"]
    assert table["error"][3].startswith(f"{desi_file}#{DESI_TARGETS[2]}: cannot vet (RuntimeError")


def test_retrying_a_failed_target_vets_that_target_again(files, desi_file, tmp_path):
    output = tmp_path / "out.ecsv"
    run([desi_file, files[0]], output)
    again = FailsTask()
    run([desi_file, files[0]], output, resume=True, retry_failed=True, backend=again)
    assert again.seen == [(f"{desi_file}#{DESI_TARGETS[2]}", "carbon_star")]  # its file read
    table = Table.read(output)
    assert list(table["targetid"][:5]) == DESI_TARGETS and len(table) == 6
    assert verdicts_of(table) == ["YES", "NO", "NO", "YES", "NO", "YES"]


def test_desi_files_on_a_dask_cluster(desi_file, files, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        vet_catalog(
            [desi_file, files[0], desi_file],
            "cc",
            tmp_path / "dask.ecsv",
            scheduler=cluster.scheduler_address,
            render_images=False,
            chunk_size=1,
            progress=False,
        )
    run([desi_file, files[0], desi_file], tmp_path / "local.ecsv", backend="expert")
    on_cluster, local = Table.read(tmp_path / "dask.ecsv"), Table.read(tmp_path / "local.ecsv")
    assert len(on_cluster) == 11
    for name in ("file", "targetid", "verdict", "evidence", "redshift_source"):
        assert list(on_cluster[name]) == list(local[name])


# -- several tasks in one pass ------------------------------------------------------------------


def test_several_tasks_read_each_file_once_and_give_a_row_per_task(files, tmp_path, monkeypatch):
    import spec_o3.io

    read, iter_targets = [], spec_o3.io.iter_targets
    monkeypatch.setattr(
        spec_o3.io,
        "iter_targets",
        lambda path, *args: read.append(path) or iter_targets(path, *args),
    )
    catalogue = files[:3] + files[-1:]
    summary = vet_catalog(
        catalogue, "cc,wd", tmp_path / "out.ecsv", progress=False, render_images=False
    )
    assert read == catalogue
    table = Table.read(tmp_path / "out.ecsv")
    assert list(table["file"]) == [path for path in catalogue for _ in range(2)]
    assert list(table["task"]) == ["carbon_star", "white_dwarf"] * 4
    assert summary.total == 8 and summary.failed == 2 and summary.tasks == 2
    assert "8 rows (2 tasks per spectrum)" in str(summary)
    assert all(str(error).endswith("missing.fits: no such file") for error in table["error"][-2:])
    for task in ("cc", "wd"):  # the expert's rows are those of a run per task
        alone = Table.read(_run_expert(catalogue[:3], task, tmp_path / f"{task}.ecsv"))
        rows = table[table["task"] == alone["task"][0]][:3]
        for name in ("verdict", "evidence", "confidence", "windows"):
            assert list(rows[name]) == list(alone[name])


def _run_expert(files, task, output):
    vet_catalog(files, task, output, progress=False, render_images=False)
    return output


def test_several_tasks_resume_and_retry_an_entry_s_rows_together(files, desi_file, tmp_path):
    catalogue = [files[0], desi_file, files[1], files[2]]
    output = tmp_path / "out.csv"
    with pytest.raises(KeyboardInterrupt):  # dies after the first file's five rows
        run(catalogue, output, task="all", backend=Scripted(crash_after=5), chunk_size=1)
    with pytest.raises(ValueError, match="another task"):
        run(catalogue, output, resume=True, task="cc")
    summary = run(catalogue, output, resume=True, task="all")
    table = Table.read(output)
    assert summary.total == len(table) == 5 * 8 and summary.vetted == 5 * 7
    assert list(table["task"][:5]) == ["carbon_star", "cataclysmic_variable", "m_giant"] + [
        "s_star",
        "white_dwarf",
    ]
    assert (
        list(table["targetid"].filled(0))
        == [0] * 5 + [target for target in DESI_TARGETS for _ in range(5)] + [0] * 10
    )
    assert summary.failed == 10  # the DESI target and the file the policy cannot read
    again = FailsTask()
    summary = run(catalogue, output, resume=True, retry_failed=True, task="all", backend=again)
    assert {source for source, _ in again.seen} == {f"{desi_file}#{DESI_TARGETS[2]}", files[2]}
    assert summary.vetted == 5 * 2 and len(Table.read(output)) == 5 * 8 and summary.failed == 0
    assert list(Table.read(output)["task"]) == list(table["task"])


def test_cli_all_tasks(files, tmp_path, capsys):
    output = tmp_path / "out.ecsv"
    assert vet_cli(files[0], files[1], "--task", "all", "--no-images", "-o", str(output)) == 0
    assert list(Table.read(output)["task"][:5]) == [
        "carbon_star",
        "cataclysmic_variable",
        "m_giant",
        "s_star",
        "white_dwarf",
    ]
    assert "10 rows (5 tasks per spectrum)" in capsys.readouterr().out
    assert vet_cli(files[0], "--task", "cc,wd", "--no-images") == 0  # rows on the terminal
    shown = capsys.readouterr().out.splitlines()
    assert shown[0].startswith("2 rows (2 tasks per spectrum): 0 YES, 2 NO")
    assert [line.split("\t")[:2] for line in shown[1:3]] == [
        [files[0], "carbon_star"],
        [files[0], "white_dwarf"],
    ]
    assert vet_cli(files[0], "--task", "cc,nope", "-o", str(tmp_path / "x.ecsv")) == 2
    assert "unknown task 'nope'" in capsys.readouterr().err


class FailsTask(Policy):
    """Answers NO at once, except for the tasks in ``failing``, whose episodes crash; records the
    (file, task) pairs it answers, and dies after ``crash_after`` of them."""

    name = "scripted"

    def __init__(self, failing=(), crash_after=None):
        self.failing, self.seen, self.crash_after = set(failing), [], crash_after

    def respond(self, episodes):
        if self.crash_after is not None and len(self.seen) >= self.crash_after:
            raise KeyboardInterrupt
        if any(episode.task.id in self.failing for episode in episodes):
            raise RuntimeError("cannot make sense of this task")
        self.seen += [(episode.trajectory.source, episode.task.id) for episode in episodes]
        return [format_assistant("Read it.", format_answer("NO", "Plain.")) for _ in episodes]


def test_retrying_failed_rows_vets_only_their_tasks(files, desi_file, tmp_path):
    catalogue = [files[0], desi_file, files[1]]
    output = tmp_path / "out.ecsv"
    summary = run(catalogue, output, task="cc,wd", backend=FailsTask({"white_dwarf"}))
    assert summary.failed == 7 and summary.no == 7  # wd fails on every target
    before = Table.read(output)
    again = FailsTask()
    summary = run(catalogue, output, task="cc,wd", backend=again, resume=True, retry_failed=True)
    assert {task for _, task in again.seen} == {"white_dwarf"} and len(again.seen) == 7
    assert summary.vetted == 7 and summary.failed == 0 and summary.no == 14
    after = Table.read(output)
    assert list(after["task"]) == list(before["task"])
    assert list(after["targetid"].filled(0)) == list(before["targetid"].filled(0))
    kept = after["task"] == "carbon_star"
    assert list(after["seconds"][kept]) == list(before["seconds"][kept])  # not vetted again
    assert set(after["status"]) == {"answered"}


def test_retrying_failed_rows_of_an_interrupted_run(files, desi_file, tmp_path):
    catalogue = [files[0], desi_file, files[1]]
    output = tmp_path / "out.ecsv"
    dying = FailsTask({"white_dwarf"}, crash_after=3)  # after the first file and 2 DESI targets
    with pytest.raises(KeyboardInterrupt):
        run(catalogue, output, task="cc,wd", backend=dying, chunk_size=1)
    again = FailsTask()
    summary = run(catalogue, output, task="cc,wd", backend=again, resume=True, retry_failed=True)
    assert (files[0], "carbon_star") not in again.seen and (files[0], "white_dwarf") in again.seen
    assert len(again.seen) == 1 + 10 + 2 and summary.failed == 0 and summary.total == 14
    assert list(Table.read(output)["task"]) == ["carbon_star", "white_dwarf"] * 7
