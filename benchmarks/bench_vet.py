"""Speed of vetting one LAMOST file with the scripted expert, against the cost of reading it.

Target (issue 4): without images, the expert's inspection costs at most 3x reading the file. With
images, the per-file time is reported. Run from the repository root::

    python benchmarks/bench_vet.py                      # first real LAMOST file in ../shared/data
    python benchmarks/bench_vet.py FILE --task cc -n 20

Each figure is the median of ``-n`` runs after one warm-up run (imports, catalogue caches).
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

from specutils import Spectrum

import spec_o3  # noqa: F401  (registers the survey readers)
from spec_o3.agent import vet

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "shared/data/real/lamost_lrs_dr1_grd349"


def median_seconds(function, repeats):
    """Median wall-clock time of ``function()`` over ``repeats`` runs, after one warm-up run."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, help="a LAMOST LRS FITS file")
    parser.add_argument(
        "--task", default="carbon_star", help="task id or code (default carbon_star)"
    )
    parser.add_argument("--backend", default="expert", help="backend (default expert)")
    parser.add_argument("-n", "--repeats", type=int, default=10, help="timed runs per figure")
    args = parser.parse_args(argv)
    path = args.file or min(DEFAULT_FILE.glob("*.fits"))

    spectrum = Spectrum.read(path)
    read = median_seconds(lambda: Spectrum.read(path), args.repeats)
    text_only = median_seconds(
        lambda: vet(spectrum, args.task, args.backend, render_images=False), args.repeats
    )
    with_images = median_seconds(lambda: vet(spectrum, args.task, args.backend), args.repeats)
    end_to_end = median_seconds(lambda: vet(path, args.task, args.backend), args.repeats)
    result = vet(spectrum, args.task, args.backend, render_images=False)

    print(f"file: {path.name}  task: {args.task}  backend: {args.backend}  runs: {args.repeats}")
    print(f"verdict {result.verdict} after {result.n_steps} turns, {len(result.windows)} windows")
    print(f"read the file                   {1e3 * read:8.1f} ms")
    ratio = text_only / read
    print(f"vet, text only (no images)      {1e3 * text_only:8.1f} ms  = {ratio:.2f} x read")
    print(f"vet, with images                {1e3 * with_images:8.1f} ms")
    print(f"vet(path) with images, per file {1e3 * end_to_end:8.1f} ms")
    return 0 if text_only <= 3 * read else 1


if __name__ == "__main__":
    sys.exit(main())
