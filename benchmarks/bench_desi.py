"""Speed of reading a DESI coadd file one target at a time.

A coadd of ``--targets`` targets (500 in a real healpix file) is written in the official layout
with random data, then timed:

1. specutils' ``DESI coadd`` loader alone (``SpectrumList.read(path, format="DESI coadd")``);
2. `spec_o3.io.join_arms` on its arms (every target's b, r and z joined at once);
3. `spec_o3.io.desi_targets`: both, then one `~specutils.Spectrum` per target with its meta.

Run from the repository root::

    python benchmarks/bench_desi.py [--targets 500] [--number 3]

Each figure is the best of ``--number`` runs.
"""

import argparse
import tempfile
import time
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.nddata import InverseVariance
from astropy.table import Table
from specutils import Spectrum, SpectrumList

from spec_o3.io import DESI_ARMS, desi_targets, join_arms, write_desi_coadd

UNIT = u.Unit("1e-17 erg / (s cm2 Angstrom)")


def random_coadd(path, targets, rng):
    """Write a coadd of ``targets`` noisy flat spectra, 1 % of their pixels masked."""
    arms = SpectrumList()
    for band, (low, high) in DESI_ARMS.items():
        wavelength = low + 0.8 * np.arange(round((high - low) / 0.8) + 1)
        shape = (targets, wavelength.size)
        arms.append(
            Spectrum(
                flux=rng.normal(10, 1, shape) * UNIT,
                spectral_axis=wavelength * u.AA,
                uncertainty=InverseVariance(np.ones(shape) * UNIT**-2),
                mask=rng.uniform(size=shape) < 0.01,
                meta={"band": band},
            )
        )
    arms[0].meta["fibermap"] = Table({"TARGETID": 39627652591847724 + np.arange(targets)})
    write_desi_coadd(path, arms)


def best(function, number):
    times = []
    for _ in range(number):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=500)
    parser.add_argument("--number", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "coadd-main-dark-1.fits"
        random_coadd(path, args.targets, np.random.default_rng(0))
        arms = SpectrumList.read(path, format="DESI coadd")
        timings = {
            "specutils DESI coadd loader": best(
                lambda: SpectrumList.read(path, format="DESI coadd"), args.number
            ),
            "join_arms (all targets)": best(lambda: join_arms(arms), args.number),
            "desi_targets (read, join, Spectrum each)": best(
                lambda: list(desi_targets(path)), args.number
            ),
        }
    for name, seconds in timings.items():
        per_target = seconds / args.targets * 1e3
        print(f"{name:42s} {seconds * 1e3:8.0f} ms  {per_target:6.2f} ms per target")


if __name__ == "__main__":
    main()
