"""Throughput of the simulator: spectra per minute in one process, per class and for suites.

Run from the repository root::

    python benchmarks/bench_simulate.py            # 200 suite spectra + 10 of each class
    python benchmarks/bench_simulate.py --n 1000

The rate printed is single-process; on a machine with k cores, k processes (one suite each,
different seeds) scale nearly linearly, since spectra are independent.
"""

import argparse
import time

import numpy as np

from spec_o3.simulate import CLASSES, draw_suite, simulate_spectrum
from spec_o3.tasks import task_ids


def _rate(count, seconds):
    return 60.0 * count / seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--n", type=int, default=200, help="suite spectra to time (default: %(default)s)"
    )
    parser.add_argument(
        "--per-class", type=int, default=10, help="spectra per class (default: %(default)s)"
    )
    args = parser.parse_args(argv)

    simulate_spectrum(
        "fgk_dwarf", seed=0
    )  # build the cached tables (curve of growth, templates) once
    print(f"{'class':24s} {'ms/spectrum':>12s} {'spectra/min':>12s}")
    for name in sorted(CLASSES):
        start = time.perf_counter()
        for seed in range(args.per_class):
            simulate_spectrum(name, seed=seed)
        elapsed = time.perf_counter() - start
        print(
            f"{name:24s} {1000 * elapsed / args.per_class:12.1f} "
            f"{_rate(args.per_class, elapsed):12.0f}"
        )

    per_task = max(args.n // len(task_ids()), 1)
    start = time.perf_counter()
    total = 0
    for i, task in enumerate(task_ids()):
        total += len(draw_suite(task, per_task, seed=i))
    elapsed = time.perf_counter() - start
    print(
        f"\nsuites over all tasks: {total} spectra in {elapsed:.1f} s = "
        f"{_rate(total, elapsed):.0f} spectra/min "
        f"(single process; {np.round(1000 * elapsed / total, 1)} ms each)"
    )


if __name__ == "__main__":
    main()
