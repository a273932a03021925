"""Score the scripted expert's rules on real spectra and print precision/recall/F1 per task.

Real spectra with known classes (read-only, under ``shared/data``; override the location with
SPEC_O3_SHARED_DATA):

* MILES (air wavelengths, 2.5 Å FWHM, 3540-7410 Å) and STELIB (~3 Å FWHM, 3200-9850 Å) stars with
  spectral types: M giants, M dwarfs, MS/S stars, K giants, A/B and horizontal-branch stars, O/B
  and Wolf-Rayet emission-line stars;
* 13 white-dwarf flux standards (11 DA, a DB, a DO) on a 1 Å grid;
* real LAMOST DR1 and SDSS spectra (pipeline-classified ordinary stars, a Be star, SDSS M dwarfs).

Library spectra are converted to vacuum, degraded to R = 1800, rebinned onto the LAMOST log-linear
grid (Δlog10 λ = 1e-4) and given Gaussian noise at a chosen S/N (poorer at the blue end, as in
LAMOST) with the matching inverse-variance uncertainty. Labels follow the catalogued spectral
types; rows whose class is uncertain for a task (e.g. M0 LAMOST stars of unknown luminosity class
for ``m_giant``) are scored as "unlabelled" and listed, not counted.

Run: ``python benchmarks/validate_expert_real.py [--snr 30] [--seeds 2] [--list-errors]``
"""

import argparse
import csv
import os
import re
import time
import warnings
from collections import defaultdict
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.nddata import InverseVariance
from astropy.table import Table
from specutils import Spectrum
from specutils.utils.wcs_utils import air_to_vac

from spec_o3.agent.expert_rules import assess
from spec_o3.tasks import task_ids

SHARED = Path(
    os.environ.get("SPEC_O3_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
#: LAMOST LRS wavelength grid (vacuum Å).
LAMOST_GRID = 10 ** (np.log10(3690.0) + 1e-4 * np.arange(3923))
C_KMS = 299792.458
TASKS = ("carbon_star", "cataclysmic_variable", "m_giant", "s_star", "white_dwarf")


def to_survey(wave_vac, flux, fwhm_aa, *, snr, seed, resolution=1800.0, grid=LAMOST_GRID):
    """Degrade a library spectrum to a LAMOST-like `Spectrum` with noise at median S/N ``snr``.

    Zero or non-finite input pixels (gaps) stay masked on the output grid.
    """
    good = np.isfinite(flux) & (flux != 0)
    lo, hi = wave_vac[good].min(), wave_vac[good].max()
    out = grid[(grid >= lo) & (grid <= hi)]
    # Convolve on a fine log grid with the Gaussian that takes the library to the target resolution.
    fine = 10 ** np.arange(np.log10(out[0]) - 2e-3, np.log10(out[-1]) + 2e-3, 1e-5)
    fine_flux = np.interp(fine, wave_vac[good], flux[good])
    v_in = C_KMS * fwhm_aa / np.sqrt(lo * hi)
    sigma_kms = np.sqrt(max((C_KMS / resolution) ** 2 - v_in**2, 1.0)) / 2.3548
    sigma_pix = sigma_kms / (C_KMS * np.log(10) * 1e-5)
    x = np.arange(-int(5 * sigma_pix) - 1, int(5 * sigma_pix) + 2)
    kernel = np.exp(-0.5 * (x / sigma_pix) ** 2)
    smooth = np.convolve(fine_flux, kernel / kernel.sum(), mode="same")
    rebinned = np.interp(out, fine, smooth)
    gap = np.interp(out, wave_vac, (~good).astype(float)) > 0.01
    # LAMOST-like S/N profile: poorer at the blue end.
    noise = (
        np.nanmedian(rebinned)
        / snr
        * np.interp(out, [3700, 4500, 6000, 9000], [3.0, 1.3, 1.0, 1.2])
    )
    rng = np.random.default_rng(seed)
    noisy = rebinned + rng.normal(size=out.size) * noise
    return Spectrum(
        flux=noisy * u.Unit("1e-17 erg / (s cm2 Angstrom)"),
        spectral_axis=out * u.AA,
        uncertainty=InverseVariance(1 / noise**2),
        mask=gap,
    )


#: Resolution (FWHM, Å) of the libraries whose headers do not give it (STELIB).
_LIBRARY_FWHM = {"miles": 2.5, "stelib": 3.0}


def library_star(path, *, snr, seed):
    """A MILES or STELIB star (air wavelengths, linear grid) as a LAMOST-like survey spectrum."""
    path = Path(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # STELIB headers carry non-standard keywords
        with fits.open(path) as hdul:
            flux, header = hdul[0].data.astype(float), hdul[0].header
    air = header["CRVAL1"] + header["CDELT1"] * (np.arange(flux.size) + 1 - header.get("CRPIX1", 1))
    fwhm = header.get("FWHM", _LIBRARY_FWHM["stelib" if "STELIB" in path.name else "miles"])
    return to_survey(air_to_vac(air * u.AA).value, flux, fwhm, snr=snr, seed=seed)


def white_dwarf_standard(path, *, snr, seed):
    """A white-dwarf flux standard (vacuum Å on a 1 Å grid) as a LAMOST-like survey spectrum."""
    table = Table.read(path)
    flux = np.asarray(table["flux"], float)
    return to_survey(table["wavelength"].value, flux, 1.0, snr=snr, seed=seed)


def _lum_class(spectral_type):
    """'giant', 'dwarf' or None from a spectral type string."""
    st = spectral_type.replace(" ", "")
    if re.search(r"(Ia|Ib|II|III)", st):
        return "giant"
    if re.search(r"(IV|V|VI)(?![a-z])", st) or st.startswith(("sd", "d")):
        return "dwarf"
    return None


#: Library stars whose catalogued type disagrees with what their spectrum plainly shows; scored as
#: unlabelled for the tasks named, and listed. The three "K/M" stars show ZrO 6474/5551 heads as
#: deep as the MS stars HD 7351 and HD 30959 (0.23-0.35 at 6474, 0.09-0.21 at 5551; normal M
#: giants <= 0.17 and <= 0.05).
AMBIGUOUS = {
    "HD119667": ("s_star", "m_giant"),  # typed K5: ZrO 6474 0.23, ZrO 5551 0.09
    "HD199799": ("s_star", "m_giant"),  # typed M1: ZrO 6474 0.35, ZrO 5551 0.21
    "HD200527": ("s_star", "m_giant"),  # typed M3Ib-II: ZrO 6474 0.27, ZrO 5551 0.13
    "Feige110": ("white_dwarf",),  # STELIB "DA:", a hot subdwarf (sdOB) in the literature
}


def library_labels(name, spectral_type, logg):
    """Per-task labels (True/False/None) of a library star from its type (log g for bare types)."""
    labels = _type_labels(spectral_type, logg)
    for task in AMBIGUOUS.get(name, ()):
        labels[task] = None
    return labels


def _type_labels(spectral_type, logg):
    st = spectral_type.strip()
    labels = {
        "carbon_star": False,
        "cataclysmic_variable": False,
        "white_dwarf": False,
        "s_star": False,
    }
    m_type = st.startswith("M")
    s_type = "S" in st[1:4] and m_type
    lum = _lum_class(st)
    if lum is None and m_type and np.isfinite(logg):
        lum = "giant" if logg < 2.5 else "dwarf" if logg > 4 else None
    # Cluster members typed only by evolutionary phase (GB, AGB, HB) have no spectral class.
    known = st and st not in ("GB", "AGB", "HB", "RGB") and (not m_type or lum)
    labels["m_giant"] = (m_type and lum == "giant" and not s_type) if known else None
    if s_type:
        labels["s_star"], labels["m_giant"] = True, False
    if st.startswith(("DA", "DB", "DO", "DC", "DZ")):
        labels["white_dwarf"] = True
    return labels


def miles_rows(snr, seed):
    params = Table.read(SHARED / "libraries" / "miles" / "miles_params.ecsv")
    for row in params:
        spectral_type = "" if np.ma.is_masked(row["spectral_type"]) else str(row["spectral_type"])
        if re.match(
            r"^[OB][0-9.]+.*\s\d$", spectral_type
        ):  # parameters mangled by a space in the type
            spectral_type = spectral_type.split()[0]
        spectrum = library_star(SHARED / "libraries" / "miles" / row["file"], snr=snr, seed=seed)
        yield (
            f"MILES {row['name']}",
            spectral_type,
            spectrum,
            0.0,
            library_labels(row["name"], spectral_type, float(row["logg"])),
        )


def stelib_rows(snr, seed):
    types = Table.read(SHARED / "libraries" / "stelib" / "stelib_types.ecsv")
    for row in types:
        spectral_type = str(row["spectral_type"])
        spectrum = library_star(SHARED / "libraries" / "stelib" / row["file"], snr=snr, seed=seed)
        yield (
            f"STELIB {row['name']}",
            spectral_type,
            spectrum,
            0.0,
            library_labels(row["name"], spectral_type, np.nan),
        )


def wd_rows(snr, seed):
    for path in sorted((SHARED / "real" / "wd_standards").glob("*.ecsv")):
        kind = re.search(r"white_dwarf (D[A-Z]+)", Table.read(path).meta["comments"][0]).group(1)
        spectrum = white_dwarf_standard(path, snr=snr, seed=seed)
        labels = dict.fromkeys(TASKS, False) | {"white_dwarf": True}
        yield f"WD {path.stem}", kind, spectrum, 0.0, labels


def survey_rows():
    """Real LAMOST/SDSS files read with the package's loaders (needs spec_o3.io)."""
    import spec_o3  # noqa: F401  (registers the readers)

    with open(SHARED / "real" / "manifest.csv", newline="") as handle:
        manifest = list(csv.DictReader(handle))
    for entry in manifest:
        label = entry["label"]
        labels = dict.fromkeys(TASKS, False)
        if "M0" in label.split("|")[0] and "LAMOST" in entry["survey_format"]:
            labels["m_giant"] = None  # luminosity class unknown
        if "M6III" in label:
            labels["m_giant"] = None  # SDSS M6III vs expert L0: conflicting labels
        try:
            spectrum = Spectrum.read(SHARED / "real" / entry["file"])
        except Exception as error:  # report, keep going
            print(f"  cannot read {entry['file']}: {error}")
            continue
        yield f"REAL {Path(entry['file']).name}", label.split("|")[0].strip(), spectrum, 0.0, labels


def score(rows, tasks):
    """Assess every row for every task; confusion counts, unlabelled rows, errors, time per call."""
    counts = {t: defaultdict(int) for t in tasks}
    unlabelled = []
    errors = []
    seconds = 0.0
    n_assess = 0
    for name, spectral_type, spectrum, redshift, labels in rows:
        for task in tasks:
            start = time.perf_counter()
            verdict = assess(spectrum, task, redshift).verdict == "YES"
            seconds += time.perf_counter() - start
            n_assess += 1
            label = labels.get(task)
            if label is None:
                unlabelled.append((task, name, spectral_type, "YES" if verdict else "NO"))
                continue
            key = ("t" if verdict == label else "f") + ("p" if verdict else "n")
            counts[task][key] += 1
            if verdict != label:
                errors.append((task, name, spectral_type, "YES" if verdict else "NO"))
    return counts, unlabelled, errors, seconds / max(n_assess, 1)


_ROW = "{:22s} {:>4} {:>4} {:>5} {:>4} {:>9} {:>7} {:>6} {:>8}"


def print_table(counts):
    """One row per task: confusion counts, precision, recall and F1 on YES, accuracy."""
    print(_ROW.format("task", "TP", "FP", "TN", "FN", "precision", "recall", "F1", "accuracy"))
    for task, c in counts.items():
        tp, fp, tn, fn = (c[k] for k in ("tp", "fp", "tn", "fn"))
        precision = tp / (tp + fp) if tp + fp else float("nan")
        recall = tp / (tp + fn) if tp + fn else float("nan")
        if tp:
            f1 = 2 * precision * recall / (precision + recall)
        else:
            f1 = 0.0 if fp + fn else float("nan")  # nan: no positives to find, none claimed
        accuracy = (tp + tn) / max(tp + fp + tn + fn, 1)
        scores = (f"{precision:.3f}", f"{recall:.3f}", f"{f1:.3f}", f"{accuracy:.3f}")
        print(_ROW.format(task, tp, fp, tn, fn, *scores))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--snr", type=float, default=30.0, help="median S/N per pixel of degraded library spectra"
    )
    parser.add_argument(
        "--seeds", type=int, default=1, help="noise realisations per library spectrum"
    )
    parser.add_argument(
        "--sets",
        nargs="+",
        default=["miles", "stelib", "wd", "survey"],
        choices=["miles", "stelib", "wd", "survey"],
    )
    parser.add_argument(
        "--list-errors", action="store_true", help="print every misclassified spectrum"
    )
    args = parser.parse_args(argv)
    tasks = [t for t in TASKS if t in task_ids()]
    sources = {"miles": miles_rows, "stelib": stelib_rows, "wd": wd_rows}
    total = {t: defaultdict(int) for t in tasks}
    for name in args.sets:
        for seed in range(args.seeds if name != "survey" else 1):
            rows = survey_rows() if name == "survey" else sources[name](args.snr, seed)
            counts, unlabelled, errors, per_call = score(rows, tasks)
            for task in tasks:
                for key, value in counts[task].items():
                    total[task][key] += value
            snr = f"S/N {args.snr:g}" if name != "survey" else "as observed"
            print(f"\n== {name} (seed {seed}, {snr}): {per_call * 1e3:.1f} ms per assessment")
            print_table(counts)
            if args.list_errors:
                for task, row, spectral_type, verdict in errors:
                    print(f"  wrong: {task:20s} {row:32s} {spectral_type:14s} -> {verdict}")
            for task, row, spectral_type, verdict in unlabelled:
                print(f"  unlabelled: {task:20s} {row:32s} {spectral_type:14s} -> {verdict}")
    print("\n== all sets")
    print_table(total)


if __name__ == "__main__":
    main()
