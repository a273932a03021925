"""Speed of the inspection tools on a real LAMOST spectrum (about 3,900 pixels).

1. ``render_window`` against the released tool's way of drawing the same window: a fresh pyplot
   figure with the same information (blue line with gaps at masked pixels, grid, axis labels,
   title, text box with the number of points and the wavelength and flux ranges), saved with
   ``savefig(png, dpi=80, bbox_inches="tight")``. Ours is timed as an image in memory (what a
   local model takes) and as PNG bytes at zlib level 1 (what an OpenAI-compatible server
   receives; encoding then costs more than drawing); the ratios are pyplot / ours. The last
   case is the review report's overview: the whole spectrum with four inspected windows shaded
   and numbered (``highlight``; ``axvspan`` and ``text`` with pyplot).
2. ``identify_lines`` over the whole spectrum and ``band_strength`` for one band and for all
   catalogue bands.
3. Cutting a window with specutils' ``extract_region`` against the ``np.searchsorted`` slicing
   the tools use.

Run from the repository root::

    python benchmarks/bench_analysis.py [FILE] [--number 30] [--save DIR]

Each figure is the best (and the median) of ``--number`` calls after a warm-up call; the
machine's load shows in the medians. ``--save`` writes each window drawn both ways as PNGs.
"""

import argparse
import io
import os
import statistics
import time
from functools import partial
from pathlib import Path

import astropy.units as u
import matplotlib
import numpy as np
from specutils import SpectralRegion, Spectrum
from specutils.manipulation import extract_region

import spec_o3  # noqa: F401  (registers the LAMOST reader)
from spec_o3.analysis import band_strength, identify_lines, render_window
from spec_o3.analysis.arrays import check_window, spectrum_arrays
from spec_o3.analysis.render import _default_size
from spec_o3.catalog import molecular_bands

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)

SHARED = Path(
    os.environ.get("SPEC_O3_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
DEFAULT_FILE = SHARED / "real" / "lamost_lrs_dr1_grd349" / "spec-55862-B6212_sp06-049.fits"
#: Inspected windows (Å) shaded in the last case, as on the review report's overview.
INSPECTED = [(6950, 7300), (6100, 6450), (6765, 6895), (8120, 8260)]
#: (label, window in Å or None for the whole spectrum, windows to highlight): one per figure
#: size of the released tool, and the whole spectrum with the inspected windows shaded.
WINDOWS = [
    ("whole spectrum", None, None),
    ("H alpha, 40 Å", (6545, 6585), None),
    ("Na D, 120 Å", (5840, 5960), None),
    ("TiO 7054, 500 Å", (6900, 7400), None),
    ("blue half, 2000 Å", (4000, 6000), None),
    ("whole, 4 shaded", None, INSPECTED),
]


def timings(function, number):
    """Best and median seconds of ``number`` calls after one warm-up call."""
    function()
    times = []
    for _ in range(number):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def pyplot_window(spectrum, window, title, highlight=None):
    """The released tool's drawing: a new pyplot figure per window, saved as a PNG (bytes).

    ``highlight`` windows are shaded with ``axvspan`` and numbered at the top of the axes.
    """
    arrays = spectrum_arrays(spectrum)
    if window is None:
        valid = arrays.wavelength[arrays.good]
        lo, hi = valid[0], valid[-1]
    else:
        lo, hi = window
    pixels = check_window(arrays, lo, hi)
    wavelength = arrays.wavelength[pixels]
    flux = np.where(arrays.good[pixels], arrays.flux[pixels], np.nan)  # gaps at masked pixels
    shown = flux[np.isfinite(flux)]
    width, height = _default_size(hi - lo, window is None)
    figure, axes = plt.subplots(figsize=(width / 80, height / 80))
    axes.plot(wavelength, flux, color="tab:blue", linewidth=1.5)
    axes.set_xlim(lo, hi)
    axes.set_xlabel("Wavelength (Å)")
    axes.set_ylabel("Flux")
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    for number, (w_lo, w_hi) in enumerate(highlight or (), start=1):
        axes.axvspan(w_lo, w_hi, color="orange", alpha=0.25, zorder=0)
        axes.text(
            (w_lo + w_hi) / 2,
            0.97,
            str(number),
            transform=axes.get_xaxis_transform(),
            ha="center",
            va="top",
            fontweight="bold",
        )
    info = (
        f"{shown.size} points\nλ {wavelength[0]:.1f}–{wavelength[-1]:.1f} Å\n"
        f"flux {shown.min():.4g} – {shown.max():.4g}"
    )
    axes.text(
        0.02,
        0.97,
        info,
        transform=axes.transAxes,
        va="top",
        fontsize=9,
        bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.8},
    )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def png_bytes(image):
    """PNG bytes at zlib level 1: encoding dominates the cost, and level 1 is the fastest."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def render_png(spectrum, region, title, highlight):
    return png_bytes(render_window(spectrum, region, title=title, highlight=highlight))


def bench_render(spectrum, number, save):
    print("render_window vs pyplot + savefig(png, dpi=80, bbox_inches='tight'), best (median) ms")
    print(
        f"{'window':20} {'size':>9} {'pyplot':>15} {'render':>13} {'ratio':>6} "
        f"{'render+PNG':>13} {'ratio':>6}"
    )
    totals = np.zeros(2)
    for label, window, shaded in WINDOWS:
        region = None if window is None else window * u.AA
        highlight = None if shaded is None else [w * u.AA for w in shaded]
        pyplot = timings(partial(pyplot_window, spectrum, window, label, shaded), number)
        draw = partial(render_window, spectrum, region, title=label, highlight=highlight)
        ours = timings(draw, number)
        with_png = timings(partial(render_png, spectrum, region, label, highlight), number)
        image = draw()
        totals += pyplot[0], ours[0]
        print(
            f"{label:20} {image.width:>4}x{image.height:<4} "
            f"{pyplot[0] * 1e3:6.1f} ({pyplot[1] * 1e3:6.1f}) "
            f"{ours[0] * 1e3:5.2f} ({ours[1] * 1e3:5.2f}) {pyplot[0] / ours[0]:5.0f}x "
            f"{with_png[0] * 1e3:5.2f} ({with_png[1] * 1e3:5.2f}) {pyplot[0] / with_png[0]:5.0f}x"
        )
        if save:
            stem = label.split(",")[0].replace(" ", "_")
            image.save(save / f"{stem}_render_window.png")
            (save / f"{stem}_pyplot.png").write_bytes(
                pyplot_window(spectrum, window, label, shaded)
            )
    print(
        f"all {len(WINDOWS)} windows: pyplot {totals[0] * 1e3:.0f} ms, render_window "
        f"{totals[1] * 1e3:.1f} ms: {totals[0] / totals[1]:.0f}x (best times)"
    )


def bench_measurements(spectrum, number):
    print("\nmeasurements on the whole spectrum, best (median)")
    names = list(molecular_bands()["name"])
    valid = [name for name in names if _measurable(spectrum, name)]
    cases = [
        ("identify_lines(spectrum)", lambda: identify_lines(spectrum), 1e3, "ms"),
        (
            "band_strength(spectrum, 'TiO_7054')",
            lambda: band_strength(spectrum, "TiO_7054"),
            1e6,
            "µs",
        ),
        (
            f"band_strength for {len(valid)} catalogue bands",
            lambda: [band_strength(spectrum, name) for name in valid],
            1e3,
            "ms",
        ),
    ]
    for label, function, scale, unit in cases:
        best, median = timings(function, number)
        print(f"  {label:42} {best * scale:8.2f} ({median * scale:8.2f}) {unit}")
    print(f"  ({len(identify_lines(spectrum))} lines detected)")


def _measurable(spectrum, name):
    try:
        band_strength(spectrum, name)
    except ValueError:
        return False
    return True


def bench_window_cut(spectrum, number):
    print("\ncutting a 120 Å window, best (median) µs")
    region = SpectralRegion(5840 * u.AA, 5960 * u.AA)

    def by_searchsorted():
        arrays = spectrum_arrays(spectrum)
        pixels = check_window(arrays, 5840, 5960)
        return arrays.flux[pixels][arrays.good[pixels]]

    for label, function in [
        ("specutils extract_region", lambda: extract_region(spectrum, region)),
        ("spectrum_arrays + np.searchsorted", by_searchsorted),
    ]:
        best, median = timings(function, number)
        print(f"  {label:42} {best * 1e6:8.1f} ({median * 1e6:8.1f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--number", type=int, default=30, help="timed calls per figure")
    parser.add_argument("--save", type=Path, help="folder for the images drawn both ways")
    args = parser.parse_args()
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
    spectrum = Spectrum.read(args.file)
    print(f"{args.file.name}: {spectrum.flux.size} pixels, {os.cpu_count()} CPUs\n")
    bench_render(spectrum, args.number, args.save)
    bench_measurements(spectrum, args.number)
    bench_window_cut(spectrum, args.number)


if __name__ == "__main__":
    main()
