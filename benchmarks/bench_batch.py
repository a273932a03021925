"""Catalogue-scale vetting speed: the expert backend over simulated LAMOST files (issue 7).

Measures, each in a fresh process (so that peak memory is that of the job alone):

- reading every file with ``Spectrum.read`` in one process (the issue's baseline; specutils runs
  every registered format identifier on each file) and with ``read_for_inspection`` (what the
  vetting workers use);
- ``spec_o3.batch.vet_catalog`` with the expert backend, text-only tool results, for each
  ``--workers`` count: wall time, throughput, and peak memory of the whole process tree (parent,
  fork server, workers; shared pages counted once), sampled from ``/proc`` (Linux);
- optionally (``--memory-check``) the same run on half the catalogue: flat memory means the same
  peak (the first ~1,500 files warm the workers up, so compare runs longer than that).

Target: vetting with 2 workers takes at most 1.5x the ``Spectrum.read`` time. The files are
``--distinct`` spectra drawn by ``spec_o3.simulate`` (every registered class in turn), copied until
there are ``--n`` of them (every copy is a file of its own, read from the page cache like the
baseline). They go to ``--folder`` (default: a folder under /tmp) and are kept for the next run;
delete it to draw them again. Run from the repository root::

    python benchmarks/bench_batch.py                           # 10,000 files, 1 and 2 workers
    python benchmarks/bench_batch.py --n 2000 --read-sample 500 --memory-check

``--read-sample K`` times ``Spectrum.read`` on K files and scales to ``--n`` (it takes ~0.1 s a
file); the report says when it did.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

DEFAULT_FOLDER = Path(tempfile.gettempdir()) / "spec-o3-bench-batch"


def prepare(folder, n, distinct):
    """Simulate ``distinct`` spectra once (every registered class in turn), copy them to ``n``
    files; return the list file."""
    import numpy as np

    from spec_o3.simulate import CLASSES, simulate_spectrum

    simulated = folder / "simulated"
    simulated.mkdir(parents=True, exist_ok=True)
    kinds, sources = sorted(CLASSES), []
    for i in range(distinct):
        path = simulated / f"sim-{i:05d}.fits"
        if not path.exists():
            spectrum = simulate_spectrum(kinds[i % len(kinds)], seed=i)
            spectrum.write(path, format="spec-o3 LAMOST-LRS", dtype=np.float32)  # survey size
        sources.append(path)
    files = folder / "files"
    files.mkdir(exist_ok=True)
    paths = []
    for i in range(n):
        path = files / f"spec-{i:06d}.fits"
        if not path.exists():
            shutil.copyfile(sources[i % distinct], path)
        paths.append(str(path))
    listing = folder / f"list-{n}.txt"
    listing.write_text("\n".join(paths) + "\n")
    return listing


def tree_memory():
    """Memory (bytes) of this process and all its descendants: the sum of their proportional set
    sizes (pages shared by forked workers counted once), from /proc (Linux)."""
    children = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except OSError:  # the process ended meanwhile
            continue
        children.setdefault(parent, []).append(pid)
    total, todo = 0, [str(os.getpid())]
    while todo:
        pid = todo.pop()
        todo += children.get(int(pid), [])
        total += _pss_bytes(pid)
    return total


def _pss_bytes(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            kib = next(line.split()[1] for line in rollup if line.startswith("Pss:"))
    except (OSError, StopIteration):  # ended meanwhile
        return 0
    return int(kib) * 1024


class PeakMemory:
    """Samples `tree_memory` every ``interval`` s in a thread; ``peak`` is the largest seen."""

    def __init__(self, interval=1.0):
        self.interval, self.peak = interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_memory())
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()


def measure(kind, listing, task, workers, chunk_size, limit):
    """One measurement in this process: seconds, files, peak memory; printed as JSON.

    ``limit`` reads only the first files of the list (vetting takes the whole list)."""
    import spec_o3  # noqa: F401  (registers the survey readers)

    paths = listing.read_text().split()[:limit]
    with PeakMemory() as memory:
        start = time.perf_counter()
        if kind == "vet":
            from spec_o3.batch import vet_catalog

            output = listing.with_name(f"results-{len(paths)}-{workers}.parquet")
            summary = vet_catalog(
                listing,
                task,
                output,
                workers=workers,
                chunk_size=chunk_size,
                render_images=False,
                overwrite=True,
                progress=False,
            )
            assert summary.total == len(paths), "the benchmark vets the whole list"
            detail = str(summary)
        else:
            if kind == "Spectrum.read":
                from specutils import Spectrum

                read = Spectrum.read
            else:
                from spec_o3.io import read_for_inspection as read
            for path in paths:
                read(path)
            detail = ""
        seconds = time.perf_counter() - start
    print(
        json.dumps({"seconds": seconds, "files": len(paths), "peak": memory.peak, "detail": detail})
    )


def run_measurement(kind, listing, task, workers=1, chunk_size=32, limit=None):
    """Run `measure` in a fresh Python process and return its JSON result."""
    command = [sys.executable, __file__, "--measure", kind, "--listing", str(listing)]
    command += ["--task", task, "--workers", str(workers), "--chunk-size", str(chunk_size)]
    if limit is not None:
        command += ["--limit", str(limit)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="files to vet (default 10,000)")
    parser.add_argument("--distinct", type=int, default=500, help="simulated spectra (500)")
    parser.add_argument("--task", default="cc", help="task id or code (default cc)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="default: 1 2")
    parser.add_argument("--chunk-size", type=int, default=32, help="default 32")
    parser.add_argument("--read-sample", type=int, help="time Spectrum.read on this many files")
    parser.add_argument("--memory-check", action="store_true", help="also vet n/2 files")
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER, help="where files go")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # internal: one measurement
    parser.add_argument("--listing", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        return measure(
            args.measure, args.listing, args.task, args.workers[0], args.chunk_size, args.limit
        )

    from spec_o3.simulate import CLASSES

    listing = prepare(args.folder, args.n, args.distinct)
    print(
        f"{args.n} files ({args.distinct} distinct simulated spectra of {len(CLASSES)} classes), "
        f"task {args.task}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    sample = args.read_sample or args.n
    read = run_measurement("Spectrum.read", listing, args.task, limit=sample)
    read_seconds = read["seconds"] * args.n / read["files"]
    scaled = f" (timed on {read['files']} files, scaled)" if read["files"] < args.n else ""
    print(
        f"Spectrum.read, 1 process        {read_seconds:8.1f} s  "
        f"{args.n / read_seconds:7.1f} files/s{scaled}"
    )
    fast = run_measurement("read_for_inspection", listing, args.task)
    print(
        f"read_for_inspection, 1 process  {fast['seconds']:8.1f} s  "
        f"{args.n / fast['seconds']:7.1f} files/s"
    )
    vet_seconds = {}
    for workers in args.workers:
        result = run_measurement("vet", listing, args.task, workers, args.chunk_size)
        vet_seconds[workers] = result["seconds"]
        print(
            f"vet, {workers} worker(s)               {result['seconds']:8.1f} s  "
            f"{args.n / result['seconds']:7.1f} files/s  peak memory "
            f"{result['peak'] / 2**20:6.0f} MiB  x{result['seconds'] / read_seconds:.2f} "
            f"Spectrum.read, x{result['seconds'] / fast['seconds']:.2f} read_for_inspection"
        )
    if 1 in vet_seconds and 2 in vet_seconds:
        print(f"scaling 1 -> 2 workers: x{vet_seconds[1] / vet_seconds[2]:.2f}")
    if args.memory_check:
        workers = max(args.workers)
        half = prepare(args.folder, args.n // 2, args.distinct)
        small = run_measurement("vet", half, args.task, workers, args.chunk_size)
        print(
            f"memory check: peak {small['peak'] / 2**20:.0f} MiB vetting {small['files']} files "
            f"with {workers} worker(s)"
        )
    if 2 in vet_seconds:
        return 0 if vet_seconds[2] <= 1.5 * read_seconds else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
