"""Reading LAMOST and SDSS files, as ratios to `astropy.io.fits.getdata` on the same file.

Run from the repository root::

    python benchmarks/bench_io.py [--number 20]

Uses the real spectra of ``tests/data/real``. Per file, one run prints the CPU milliseconds per
call and the ratio to ``fits.getdata`` (the floor: the bytes read and decoded) of

* ``Spectrum.read(path, format=...)``, the format named;
* ``Spectrum.read(path)``, the format found by running every identifier of the registry;
* the identifiers of the registry alone, split into spec-o3's and everyone else's (specutils'
  own open each file with `astropy.io.fits.open`);
* ``Spectrum.read(hdulist)`` without a format, the file opened once by `astropy.io.fits.open`
  and that HDUList handed to every identifier: what ``Spectrum.read(path)`` would cost if the
  registry shared one opened file among the identifiers;
* `spec_o3.io.read_for_inspection` (what the vetting reads with, through
  `spec_o3.io.iter_targets`);

and the milliseconds per write of the LAMOST layout. Each figure is the median over five rounds
(after a warm-up call) of this process's CPU time, each round timing every figure of the file in
turn: on a machine shared with other jobs, CPU time counts the work done rather than the wait for
a core, and the rounds spread a change of load over all figures alike.
"""

import argparse
import os
import tempfile
import warnings
from functools import partial
from pathlib import Path

from astropy.io import fits
from astropy.utils.data import get_readable_fileobj
from bench_vet import seconds_per_file  # a benchmark beside this one (run as scripts)
from specutils import Spectrum

from spec_o3.io import iter_targets, read_for_inspection

REAL = Path(__file__).resolve().parents[1] / "tests" / "data" / "real"
FILES = {
    "LAMOST DR1 image": (
        "lamost_lrs_dr1_grd349/spec-55862-B6212_sp06-003.fits",
        "spec-o3 LAMOST-LRS",
    ),
    "SDSS spec (lite)": (
        "sdss_boss_pyhammer_testcase/spec-0618-52049-0372.fits",
        "SDSS-III/IV spec",  # specutils' own: spec-o3 leaves these files to it
    ),
    "SDSS spSpec": ("sdss_spSpec_thehammer/spSpec-52885-1117-201.fit", "spec-o3 SDSS-spSpec"),
}


def milliseconds(cases, rounds=5):
    """``{name: CPU ms per call}`` of ``cases`` (``{name: (function, calls)}``), timed as
    `bench_vet.seconds_per_file` times its figures: the median over ``rounds`` rounds, after a
    warm-up round, each round making ``calls`` calls of every case in turn."""
    figures = {
        name: (lambda _, function=function: function(), range(calls))
        for name, (function, calls) in cases.items()
    }
    return {name: 1e3 * seconds for name, seconds in seconds_per_file(figures, rounds).items()}


def read_opened(path):
    """``Spectrum.read`` without a format on the file opened once: every identifier gets the
    same HDUList."""
    with fits.open(path) as hdulist:
        return Spectrum.read(hdulist)


def identifiers(path, ours):
    """Call every identifier of ``Spectrum``'s registry on ``path`` as ``Spectrum.read`` does:
    spec-o3's (``ours``) or everyone else's."""
    registry = Spectrum.read.registry
    with get_readable_fileobj(str(path), encoding="binary") as fileobj:
        for (label, cls), identify in registry._identifiers.items():
            reader = registry._readers[(label, cls)][0]
            if cls is Spectrum and reader.__module__.startswith("spec_o3") == ours:
                identify("read", str(path), fileobj, fileobj)


def spec_o3_formats():
    """Labels of the ``Spectrum`` readers that spec-o3 registers."""
    registry = Spectrum.read.registry
    return sorted(
        label
        for (label, cls), (reader, _) in registry._readers.items()
        if cls is Spectrum and reader.__module__.startswith("spec_o3")
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20, help="calls per repeat")
    number = parser.parse_args().number
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"spec-o3 formats: {', '.join(spec_o3_formats())}")
    few = max(number // 10, 1)  # every identifier of the registry is slow: fewer calls
    for label, (name, fmt) in FILES.items():
        path = REAL / name
        cases = {
            "fits.getdata": (partial(fits.getdata, path), number),
            f"Spectrum.read(format={fmt!r})": (partial(Spectrum.read, path, format=fmt), number),
            "Spectrum.read (no format)": (partial(Spectrum.read, path), few),
            "  spec-o3's identifiers": (partial(identifiers, path, True), number),
            "  the other identifiers": (partial(identifiers, path, False), few),
            "Spectrum.read(HDUList) (no format)": (partial(read_opened, path), few),
            "read_for_inspection": (partial(read_for_inspection, path), number),
            "iter_targets": (lambda path=path: list(iter_targets(path)), number),
        }
        times = milliseconds(cases)
        for case, ms in times.items():
            print(f"{label:18s} {case:44s} {ms:7.2f} ms {ms / times['fits.getdata']:4.1f}")
    spectrum = read_for_inspection(REAL / FILES["LAMOST DR1 image"][0])
    with tempfile.TemporaryDirectory() as directory:
        writes = {
            suffix: (
                partial(
                    spectrum.write,
                    Path(directory) / f"spec{suffix}",
                    format="spec-o3 LAMOST-LRS",
                    overwrite=True,
                ),
                number,
            )
            for suffix in (".fits", ".fits.gz")
        }
        for suffix, ms in milliseconds(writes).items():
            print(f"{'LAMOST write':18s} {suffix:44s} {ms:7.2f} ms")


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # specutils' own identifiers warn on files they reject
        main()
