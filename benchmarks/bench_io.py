"""Milliseconds per read of a LAMOST and an SDSS file, and per LAMOST-LRS write.

Run from the repository root::

    python benchmarks/bench_io.py [--number 20]

Uses the real spectra in ``../shared/data/real`` (override with ``SPEC_O3_SHARED_DATA``). Each line
gives the best and the median of five repeats; ``Spectrum.read`` without a format is timed with
fewer calls because specutils runs every registered identifier on every file.
"""

import argparse
import os
import statistics
import tempfile
import timeit
import warnings
from functools import partial
from pathlib import Path

from specutils import Spectrum

from spec_o3.io import read_survey_spectrum

REAL = Path(os.environ.get("SPEC_O3_SHARED_DATA",
                           Path(__file__).resolve().parents[2] / "shared" / "data")) / "real"
FILES = {
    "LAMOST DR1 image": ("lamost_lrs_dr1_grd349/spec-55862-B6212_sp06-003.fits", "LAMOST-LRS"),
    "SDSS spec (16 HDUs)": ("sdss_boss_pyhammer_testcase/spec-0618-52049-0372.fits", "SDSS-spec"),
    "SDSS spSpec": ("sdss_spSpec_thehammer/spSpec-52885-1117-201.fit", "SDSS-spSpec"),
}


def milliseconds(function, number):
    """Best and median time of one call, in ms, over five repeats of ``number`` calls."""
    function()  # warm caches and lazy imports
    times = [t / number * 1e3 for t in timeit.repeat(function, number=number, repeat=5)]
    return min(times), statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20, help="calls per repeat")
    number = parser.parse_args().number
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for label, (name, fmt) in FILES.items():
        path = REAL / name
        cases = {"read_survey_spectrum": (partial(read_survey_spectrum, path), number),
                 f"Spectrum.read(format={fmt!r})": (partial(Spectrum.read, path, format=fmt),
                                                    number),
                 "Spectrum.read (no format)": (partial(Spectrum.read, path), max(number // 10, 1))}
        for case, (function, calls) in cases.items():
            best, median = milliseconds(function, calls)
            print(f"{label:22s} {case:36s} {best:8.1f} ms (median {median:.1f})")
    spectrum = read_survey_spectrum(REAL / FILES["LAMOST DR1 image"][0])
    with tempfile.TemporaryDirectory() as directory:
        for suffix in (".fits", ".fits.gz"):
            write = partial(spectrum.write, Path(directory) / f"spec{suffix}", format="LAMOST-LRS",
                            overwrite=True)
            best, median = milliseconds(write, number)
            print(f"{'LAMOST-LRS write':22s} {suffix:36s} {best:8.1f} ms (median {median:.1f})")

if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # specutils' own identifiers warn on files they reject
        main()
