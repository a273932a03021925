"""Speed of the expert on LAMOST files, against the floor: reading the bytes (issue 18).

Each figure is a CPU time per file, printed next to its ratio to ``astropy.io.fits.getdata`` on
the same files, in one run:

- ``fits.getdata`` (the floor: the bytes are read and decoded), ``Spectrum.read`` with the format
  named and with auto-identification, and `spec_o3.io.read_for_inspection` (what ``spec-o3 vet``
  reads with);
- the expert's measurements, spectrum in memory: `~spec_o3.agent.expert_rules.assess` per task,
  all five tasks one by one, and all five with `~spec_o3.agent.expert_rules.assess_all`;
- the whole inspection, text only, spectrum in memory: `spec_o3.vet` per task, one task at a
  time for all five, and ``spec_o3.vet(spectrum, "all")`` (one pass); and one task with images;
- what a ``spec-o3 vet --task all`` worker does per file: read it, vet it for the five tasks in
  one pass, without message texts (no trajectory is kept), and make its rows
  (`spec_o3.batch.workers.vet_chunk`, one file at a time).

Target (issue 18): the expert's measurements for all five tasks within 4 ``fits.getdata``. Run
from the repository root::

    python benchmarks/bench_vet.py                 # the real LAMOST files in ../shared/data
    python benchmarks/bench_vet.py FILE ... -n 5
    python benchmarks/bench_vet.py --expert        # fits.getdata and the expert's figures only

Each figure is the median over ``-n`` rounds (after a warm-up round) of this process's CPU time
(user and system) over all files, divided by the number of files; each round times every figure
once, in turn. On a machine shared with other jobs, CPU time counts the work done rather than the
wait for a core, and the rounds spread a change of load over all figures alike.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from astropy.io import fits
from specutils import Spectrum

import spec_o3  # noqa: F401  (registers the survey readers)
from spec_o3.agent import vet
from spec_o3.agent.expert_rules import assess, assess_all
from spec_o3.batch.workers import Item, Settings, build_inspector, vet_chunk
from spec_o3.defaults import MAX_TURNS
from spec_o3.io import read_for_inspection
from spec_o3.tasks import get_tasks

DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "shared/data/real/lamost_lrs_dr1_grd349"
TARGET = 4  # all five tasks' measurements, in fits.getdata times


def cpu_seconds_per_file(function, items):
    """CPU time of this process (user and system) of ``function(item)`` over all ``items``, per
    item."""
    start = time.process_time()
    for item in items:
        function(item)
    return (time.process_time() - start) / len(items)


def seconds_per_file(figures, repeats):
    """``{name: CPU seconds per item}`` of ``figures`` (``{name: (function, items)}``): the
    median over ``repeats`` rounds, after a warm-up round, each round timing every figure once."""
    for function, items in figures.values():
        cpu_seconds_per_file(function, items)
    times = {name: [] for name in figures}
    for _ in range(repeats):
        for name, (function, items) in figures.items():
            times[name].append(cpu_seconds_per_file(function, items))
    return {name: statistics.median(values) for name, values in times.items()}


def expert_figures(spectra, tasks):
    """The expert's measurements, spectra in memory: ``{name: (function, items)}`` for `assess`
    per task, all tasks one by one, and `assess_all` (``spectra`` are ``(spectrum, path)``)."""

    def redshift(spectrum):
        return spectrum.meta.get("redshift") or 0.0

    figures = {}
    for task in tasks:
        figures[f"assess, {task.code}"] = (
            lambda item, task=task: assess(item[0], task, redshift(item[0])),
            spectra,
        )
    figures[f"assess, {len(tasks)} tasks one by one"] = (
        lambda item: [assess(item[0], task, redshift(item[0])) for task in tasks],
        spectra,
    )
    figures[f"assess_all, {len(tasks)} tasks"] = (
        lambda item: assess_all(item[0], tasks, redshift(item[0])),
        spectra,
    )
    return figures


def reading_figures(paths):
    """Reading the files: ``{name: (function, items)}``."""
    return {
        "Spectrum.read(format=...)": (
            lambda path: Spectrum.read(path, format="spec-o3 LAMOST-LRS"),
            paths,
        ),
        "Spectrum.read (auto-identified)": (Spectrum.read, paths),
        "read_for_inspection": (read_for_inspection, paths),
    }


def inspection_figures(spectra, paths, tasks):
    """The whole inspection, spectra in memory, and a ``spec-o3 vet`` worker's read and vetting
    of each file: ``{name: (function, items)}``."""
    figures = {}
    figures["vet, cc, text only"] = (
        lambda item: vet(item[0], "cc", render_images=False),
        spectra,
    )
    figures["vet, 5 tasks one by one, text only"] = (
        lambda item: [vet(item[0], task, render_images=False) for task in tasks],
        spectra,
    )
    figures['vet(spectrum, "all"), text only'] = (
        lambda item: vet(item[0], "all", render_images=False),
        spectra,
    )
    figures["vet, cc, with images"] = (lambda item: vet(item[0], "cc"), spectra)
    settings = Settings(
        token="bench",
        tasks=tasks,
        backend="expert",
        backend_options={},
        toolset=None,
        max_turns=MAX_TURNS,
        render_images=False,
        batch_size=1,
        overwrite_trajectories=False,
        texts=False,
    )
    inspector = build_inspector(settings)
    figures["spec-o3 vet worker: read + 5 tasks"] = (
        lambda path: vet_chunk([Item(0, str(path), None, None, None, None)], settings, inspector),
        paths,
    )
    return figures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="LAMOST LRS FITS files")
    parser.add_argument("-n", "--repeats", type=int, default=5, help="timed runs per figure")
    parser.add_argument(
        "--expert", action="store_true", help="time fits.getdata and the expert's figures only"
    )
    args = parser.parse_args(argv)
    paths = args.files or sorted(DEFAULT_FOLDER.glob("*.fits"))
    tasks = get_tasks("all")
    spectra = [(read_for_inspection(path), path) for path in paths]
    figures = {"fits.getdata": (fits.getdata, paths)}
    if not args.expert:
        figures.update(reading_figures(paths))
    figures.update(expert_figures(spectra, tasks))
    if not args.expert:
        figures.update(inspection_figures(spectra, paths, tasks))
    print(
        f"{len(paths)} files from {paths[0].parent}, CPU time per file, median of "
        f"{args.repeats} rounds, load average {os.getloadavg()[0]:.1f}"
    )
    measured = seconds_per_file(figures, args.repeats)
    floor = measured["fits.getdata"]
    for name, seconds in measured.items():
        print(f"{name:38s} {1e3 * seconds:8.2f} ms  {seconds / floor:7.1f} x fits.getdata")
    ratio = measured["assess_all, 5 tasks"] / floor
    print(f"the expert, all five tasks: {ratio:.1f} x fits.getdata (target <= {TARGET})")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
