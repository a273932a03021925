"""Scale of the review report: build time, size on disk, and page speed for thousands of candidates.

A real ``spec-o3 vet`` run over three LAMOST DR1 files (expert backend, trajectories saved) is
replicated into ``--number`` candidates (each a link to one of the real files with its own name
and a copy of its trajectory), so that every candidate costs the report what a real one does:
read the spectrum, identify the lines in the inspected windows, draw the full spectrum, convert
the zoom images. Then, when Playwright and Debian's Chromium are available, the report is opened
from disk and timed: first candidate on screen, stepping through candidates with the keyboard,
and filtering the whole list.

Run from the repository root::

    python benchmarks/bench_report.py [--number 2000] [--workers 2] [--keep DIR]
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from astropy.table import Table

from spec_o3.commands import vet as vet_command
from spec_o3.report import build_report

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from chromium import launch_chromium  # noqa: E402  (the browser tests' launcher)

DATA = Path(
    os.environ.get("SPEC_O3_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared/data")
)
FILES = (
    "real/lamost_lrs_dr1_grd349/spec-55862-B6212_sp06-003.fits",
    "real/lamost_lrs_dr1_grd349/spec-55862-B6212_sp06-049.fits",
    "real/lamost_lrs_podondra_emission/spec-56351-GAC108N13V4_sp14-219.fits",
)


def vetted_run(folder, number):
    """Results table and trajectories of ``number`` candidates made from three real ones."""
    parser = argparse.ArgumentParser()
    vet_command.add_arguments(parser)
    seed_results, seed_trajectories = folder / "seed.ecsv", folder / "seed"
    files = [str(DATA / name) for name in FILES]
    args = parser.parse_args(
        [
            "--task",
            "gm",
            *files,
            "--output",
            str(seed_results),
            "--save-trajectories",
            str(seed_trajectories),
        ]
    )
    assert vet_command.run(args) == 0
    seed = Table.read(seed_results, format="ascii.ecsv")
    spectra, trajectories = folder / "spectra", folder / "trajectories"
    spectra.mkdir()
    rows = []
    for i in range(number):
        row = dict(zip(seed.colnames, seed[i % len(seed)], strict=True))
        original = Path(row["file"])
        link = spectra / f"{original.stem}-{i:05d}.fits"
        link.symlink_to(original)
        target = trajectories / link.stem
        shutil.copytree(seed_trajectories / original.stem, target)
        record = json.loads((target / "trajectory.json").read_text())
        record["source"] = str(link)
        (target / "trajectory.json").write_text(json.dumps(record))
        row["file"] = str(link)
        row["verdict"] = "YES" if i % 4 else "NO"  # a catalogue run's YES candidates, mostly
        rows.append(row)
    results = folder / "results.ecsv"
    Table(rows=rows, names=seed.colnames).write(results, format="ascii.ecsv")
    return results, trajectories


def folder_size(path):
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def browse(index, steps=50):
    """Seconds to the first candidate, per keyboard step, and per filter change."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        began = time.perf_counter()
        page.goto(index.as_uri())
        page.wait_for_selector(".spectrum img")
        page.wait_for_function("document.querySelector('.spectrum img').complete")
        first = time.perf_counter() - began
        step_times = []
        for _ in range(steps):
            shown = page.inner_text(".detail-head h2")
            began = time.perf_counter()
            page.keyboard.press("j")
            page.wait_for_function(
                "shown => { const h = document.querySelector('.detail-head h2');"
                " const img = document.querySelector('.spectrum img');"
                " return h && h.textContent !== shown && img && img.complete; }",
                arg=shown,
            )
            step_times.append(time.perf_counter() - began)
        filter_times = []
        for value in ("YES", "NO", ""):
            began = time.perf_counter()
            page.select_option("#filter-verdict", value)
            page.wait_for_selector(".detail-head h2")
            filter_times.append(time.perf_counter() - began)
        browser.close()
    return first, step_times, filter_times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="build the report here and keep it")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        results, trajectories = vetted_run(folder, options.number)
        out = options.keep or folder / "report"
        began = time.perf_counter()
        index = build_report(
            results,
            out,
            trajectories=trajectories,
            verdict="all",
            workers=options.workers,
            overwrite=True,
        )
        seconds = time.perf_counter() - began
        print(
            f"{options.number} candidates, {options.workers} worker(s): built in {seconds:.1f} s "
            f"({1000 * seconds / options.number:.0f} ms per candidate)"
        )
        print(
            f"report on disk: {folder_size(out) / 1e6:.1f} MB "
            f"({folder_size(out) / options.number / 1e3:.0f} kB per candidate); "
            f"candidate list data/report.js {(out / 'data/report.js').stat().st_size / 1e3:.0f} kB"
        )
        try:
            first, steps, filters = browse(index)
        except ImportError:
            print("playwright is not installed: page speed not measured", file=sys.stderr)
            return
        print(
            f"Chromium from file://: first candidate shown in {first:.2f} s; next candidate "
            f"(keyboard, images loaded) median {1000 * statistics.median(steps):.0f} ms, "
            f"max {1000 * max(steps):.0f} ms; filter over all candidates "
            f"max {1000 * max(filters):.0f} ms"
        )


if __name__ == "__main__":
    main()
