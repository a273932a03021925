"""Score the scripted expert's rules on every real spectrum of the project: F1 with bootstrap CIs.

Real spectra with known classes (read-only, under ``shared/data``; override the location with
SPEC_O3_SHARED_DATA), the ``--sets``:

* ``miles``, ``stelib``: MILES (air wavelengths, 2.5 Å FWHM, 3540-7410 Å) and STELIB (~3 Å FWHM,
  3200-9850 Å) stars with spectral types: M giants, M dwarfs, MS/S stars, K giants, A/B and
  horizontal-branch stars, O/B and Wolf-Rayet emission-line stars;
* ``wd``: 13 white-dwarf flux standards (11 DA, a DB, a DO; vacuum, 1 Å grid);
* ``survey``: real LAMOST DR1 and SDSS spectra (pipeline-classified ordinary stars, a Be star, SDSS
  M dwarfs), as observed;
* ``real_extra``: 64 spectra of rare classes and their confusers from public repositories
  (white dwarfs DA/DB/DC/DZ/DAO, Miras and M giants, classical novae; hot subdwarfs, O/B/A stars,
  K giants, M dwarfs and subdwarfs, a red supergiant, Wolf-Rayet averages, DESI quasars at their
  redshift); readers, resolutions and labels in ``tests/reference_spectra.py``.

Library and ``real_extra`` spectra are converted to vacuum where the source is in air, degraded
from their own resolution to R = 1800, rebinned onto the LAMOST log-linear grid (3690-9104 Å,
Δlog10 λ = 1e-4) and given Gaussian noise at the chosen S/N (poorer at the blue end, as in LAMOST)
with the matching inverse-variance uncertainty, one realisation per seed and spectrum (each
spectrum draws its own noise, so that one unlucky draw does not hit every star of a kind at the
same pixels); LAMOST/SDSS files are
scored once, as observed. Labels follow the catalogued types; a spectrum whose class is uncertain
for a task is "unlabelled" for it, listed, not counted.

``--ebv`` puts every degraded spectrum behind that much more E(B-V) of dust before it is
degraded, at its observed wavelengths, as the simulator puts its own spectra (CCM89 reddening with
R_V = 3.1, and the interstellar Na D and Ca II H&K lines): the libraries and standards are mostly
nearby, unreddened stars, while many survey targets lie behind Galactic dust (E(B-V) 0.3 lowers
F(4000-4500)/F(5500-6000) by ~30 %).

Printed per S/N: a confusion table per set; for all sets together per-task F1 with a bootstrap
95% CI (each task's labelled spectra resampled with replacement, all seeds of a spectrum kept
together, 1000 draws, fixed seed), the macro-F1 over the tasks with positives, recall per subtype
of the positives and the false-positive rate per subtype of the negatives; with several S/N values,
a summary line per S/N.

Run: ``python benchmarks/validate_expert_real.py [--snr 5 10 30 50] [--seeds 2] [--sets ...]
[--ebv 0.3] [--list-errors]``
"""

import argparse
import csv
import functools
import os
import re
import sys
import time
import warnings
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.table import Table
from specutils import Spectrum

from spec_o3.agent.expert_rules import assess
from spec_o3.io import read_survey_spectrum
from spec_o3.tasks import task_ids

# The readers of the reference spectra are the test suite's (tests/reference_spectra.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import reference_spectra as extra  # noqa: E402

SHARED = Path(
    os.environ.get("SPEC_O3_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
TASKS = ("carbon_star", "cataclysmic_variable", "m_giant", "s_star", "white_dwarf")
#: Bootstrap draws and the seed of their generator.
BOOTSTRAP_DRAWS, BOOTSTRAP_SEED = 1000, 20240614


# --- labels and subtypes ------------------------------------------------------------------------


def _lum_class(spectral_type):
    """'giant', 'dwarf' or None from a spectral type string (or a label saying "dwarf")."""
    st = spectral_type.replace(" ", "")
    if re.search(r"(Ia|Ib|II|III)", st):
        return "giant"
    if re.search(r"(IV|V|VI)(?![a-z])", st) or st.startswith(("sd", "d")) or "dwarf" in st:
        return "dwarf"
    return None


def _luminosity(spectral_type, logg):
    """`_lum_class`, or from log g for a bare type (giant below 2.5, dwarf above 4)."""
    lum = _lum_class(spectral_type)
    if lum is None and np.isfinite(logg):
        lum = "giant" if logg < 2.5 else "dwarf" if logg > 4 else None
    return lum


#: Library stars whose catalogued type disagrees with what their spectrum plainly shows, or whose
#: spectrum lacks what the task is decided on; scored as unlabelled for the tasks named, and
#: listed. The three "K/M" stars show ZrO 6474/5551 heads as deep as the MS stars HD 7351 and
#: HD 30959 (0.23-0.35 at 6474, 0.09-0.21 at 5551; normal M giants <= 0.17 and <= 0.05). The
#: expert's TiO5 (degraded to S/N 200) is 0.70-0.83 for the other 14 K5 III stars of MILES,
#: 0.88-0.95 for its K3 III stars and 0.43-0.48 for the two M2 III stars of STELIB.
AMBIGUOUS = {
    "HD119667": ("s_star", "m_giant"),  # typed K5: ZrO 6474 0.23, ZrO 5551 0.09
    "HD199799": ("s_star", "m_giant"),  # typed M1: ZrO 6474 0.35, ZrO 5551 0.21
    "HD200527": ("s_star", "m_giant"),  # typed M3Ib-II: ZrO 6474 0.27, ZrO 5551 0.13
    "Feige110": ("white_dwarf",),  # STELIB "DA:", a hot subdwarf (sdOB) in the literature
    "HD120933": ("m_giant",),  # typed K5III: TiO5 0.48, an M2 giant's
    "HD147923": ("m_giant",),  # typed "M...": TiO5 0.98, TiO 6159 head 0.05: no TiO at all
    "HD112300": ("m_giant",),  # M3 III, but STELIB holds only 3200-4751 and 7849-9900 Å: no TiO
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
    lum = _luminosity(st, logg) if m_type else _lum_class(st)
    # Cluster members typed only by evolutionary phase (GB, AGB, HB) have no spectral class.
    known = st and st not in ("GB", "AGB", "HB", "RGB") and (not m_type or lum)
    labels["m_giant"] = (m_type and lum == "giant" and not s_type) if known else None
    if s_type:
        labels["s_star"], labels["m_giant"] = True, False
    if st.startswith(("DA", "DB", "DO", "DC", "DZ")):
        labels["white_dwarf"] = True
    return labels


#: Subtypes recognised by a pattern of the type or label text, tried in order.
_SUBTYPE_PATTERNS = (
    (r"recurrent nova", "recurrent nova"),
    (r"nova", "classical nova"),
    (r"QSO", "QSO"),
    (r"Mira", "Mira"),
    (r"^W[NCR]", "WR"),
    (r"cool[ _]DA", "cool DA"),
    (r"^DAO", "DAO"),
    (r"^sd:?[OB]", "sdB/sdO"),
    (r"^[eu]?sdM", "M subdwarf"),
    (r"^[eu]?sd", "sdA-K"),
    (r"^M\S{0,2}S", "S/MS"),
    (r"^(A?GB|RGB|HB)$", "GB/AGB/HB"),  # cluster members typed by evolutionary phase only
    (r"^$", "untyped"),
)
_LETTER_SUBTYPES = {"O": "O", "B": "A/B", "A": "A/B", "F": "F/G", "G": "F/G"}


def subtype(spectral_type, logg=np.nan):
    """Coarse class of a spectrum for the per-subtype tables, from its type or label text.

    White dwarfs by spectral class (DA, DB, DO, DC, DZ, DAO, cool DA), K and M stars by luminosity
    ("M I" supergiant, "M III" giant, "M V" dwarf, "M ?" unknown), O, A/B, F/G, hot subdwarfs
    (sdB/sdO), S/MS, Mira, classical/recurrent nova, QSO, WR, cluster GB/AGB/HB members, untyped;
    "other" for the rest.
    """
    st = spectral_type.strip()
    for pattern, name in _SUBTYPE_PATTERNS:
        if re.search(pattern, st):
            return name
    if wd := re.match(r"D([ABOCZQ])", st):
        return f"D{wd.group(1)}"
    letter = st[:1]
    if letter in _LETTER_SUBTYPES:
        return _LETTER_SUBTYPES[letter]
    if letter not in ("K", "M"):
        return "other"
    lum = _luminosity(st, logg)
    if lum == "giant":
        return f"{letter} I" if re.search(r"I[ab]|(?<![IV])I(?![IV])", st) else f"{letter} III"
    return f"{letter} {'V' if lum == 'dwarf' else '?'}"


# --- the sets -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One spectrum to score: its name, type, subtype, labels (True/False/None per task), the
    redshift given to the expert and whether it is scored as observed (once, whatever the seed)."""

    name: str
    spectral_type: str
    subtype: str
    spectrum: Spectrum
    labels: dict
    redshift: float = 0.0
    observed: bool = False


def noise_seed(spectrum, seed):
    """The seed of the noise given to ``spectrum`` (a file or entry name) in realisation
    ``seed``: its own for every spectrum, the same in every run."""
    return zlib.crc32(f"{spectrum}/{seed}".encode())


def miles_rows(snr, seed, ebv=0.0):
    """MILES stars degraded to LAMOST quality."""
    params = Table.read(SHARED / "libraries" / "miles" / "miles_params.ecsv")
    for row in params:
        spectral_type = "" if np.ma.is_masked(row["spectral_type"]) else str(row["spectral_type"])
        if re.match(r"^[OB][0-9.]+.*\s\d$", spectral_type):  # parameters mangled by a space
            spectral_type = spectral_type.split()[0]
        logg = float(row["logg"])
        yield Row(
            f"MILES {row['name']}",
            spectral_type,
            subtype(spectral_type, logg),
            extra.library_star(
                SHARED / "libraries" / "miles" / row["file"],
                snr=snr,
                seed=noise_seed(row["file"], seed),
                ebv=ebv,
            ),
            library_labels(row["name"], spectral_type, logg),
        )


def stelib_rows(snr, seed, ebv=0.0):
    """STELIB stars degraded to LAMOST quality."""
    types = Table.read(SHARED / "libraries" / "stelib" / "stelib_types.ecsv")
    for row in types:
        spectral_type = str(row["spectral_type"])
        yield Row(
            f"STELIB {row['name']}",
            spectral_type,
            subtype(spectral_type),
            extra.library_star(
                SHARED / "libraries" / "stelib" / row["file"],
                snr=snr,
                seed=noise_seed(row["file"], seed),
                ebv=ebv,
            ),
            library_labels(row["name"], spectral_type, np.nan),
        )


def wd_rows(snr, seed, ebv=0.0):
    """The white-dwarf flux standards degraded to LAMOST quality (all YES for white_dwarf)."""
    for path in sorted((SHARED / "real" / "wd_standards").glob("*.ecsv")):
        kind = re.search(r"white_dwarf (D[A-Z]+)", Table.read(path).meta["comments"][0]).group(1)
        labels = dict.fromkeys(TASKS, False) | {"white_dwarf": True}
        spectrum = extra.white_dwarf_standard(
            path, snr=snr, seed=noise_seed(path.name, seed), ebv=ebv
        )
        yield Row(f"WD {path.stem}", kind, subtype(kind), spectrum, labels)


def _read_or_report(read, path, *args):
    """``read(path, *args)``, or None after printing why the file cannot be read."""
    try:
        return read(path, *args)
    except Exception as error:  # report, keep going
        print(f"  cannot read {path}: {error}")
        return None


def survey_rows(snr=None, seed=0, ebv=0.0):
    """Real LAMOST/SDSS files read with the package's loaders, as observed (seed 0 only, whatever
    ``snr`` and ``ebv``)."""
    import spec_o3  # noqa: F401  (registers the readers)

    if seed:
        return
    with open(SHARED / "real" / "manifest.csv", newline="") as handle:
        manifest = list(csv.DictReader(handle))
    for entry in manifest:
        label = entry["label"]
        labels = dict.fromkeys(TASKS, False)
        if "M0" in label.split("|")[0] and "LAMOST" in entry["survey_format"]:
            labels["m_giant"] = None  # luminosity class unknown
        if "M6III" in label:
            labels["m_giant"] = None  # SDSS M6III vs expert L0: conflicting labels
        spectrum = _read_or_report(read_survey_spectrum, SHARED / "real" / entry["file"])
        if spectrum is None:
            continue
        spectral_type = re.search(r"\b[OBAFGKML]\d[\w.]*", label).group(0)
        if "Dwarf" in label:  # PyHammer's luminosity class
            spectral_type += " (dwarf)"
        name = f"REAL {Path(entry['file']).name}"
        yield Row(name, spectral_type, subtype(spectral_type), spectrum, labels, observed=True)


def real_extra_rows(snr, seed, ebv=0.0):
    """The 64 spectra of ``real_extra``: degraded to LAMOST quality, LAMOST files as observed."""
    for entry in extra.manifest(SHARED / "real_extra"):
        read = _read_or_report(
            functools.partial(
                extra.real_extra_spectrum,
                snr=snr,
                seed=seed,
                noise_seed=noise_seed(extra.short_name(entry), seed),
                ebv=ebv,
            ),
            SHARED / "real_extra",
            entry,
        )
        if read is None:
            continue
        spectrum, redshift, observed = read
        yield Row(
            f"EXTRA {extra.short_name(entry)}",
            entry["label_subtype"].split(" (")[0],
            subtype(entry["label_subtype"]),
            spectrum,
            extra.labels(entry, TASKS),
            redshift,
            observed,
        )


SETS = {
    "miles": miles_rows,
    "stelib": stelib_rows,
    "wd": wd_rows,
    "survey": survey_rows,
    "real_extra": real_extra_rows,
}


# --- scoring ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """The expert's verdict (True: YES) on one spectrum, one seed, one task, with its label."""

    set_name: str
    name: str
    seed: int
    spectral_type: str
    subtype: str
    task: str
    label: bool | None
    verdict: bool


@dataclass
class Run:
    """All outcomes at one S/N and the time spent in the expert."""

    snr: float
    outcomes: list = field(default_factory=list)
    seconds: float = 0.0
    calls: int = 0


def score(run, set_name, seed, rows, tasks):
    """Assess every row for every task, appending `Outcome` s to ``run``."""
    for row in rows:
        for task in tasks:
            start = time.perf_counter()
            verdict = assess(row.spectrum, task, row.redshift).verdict == "YES"
            run.seconds += time.perf_counter() - start
            run.calls += 1
            run.outcomes.append(
                Outcome(
                    set_name,
                    row.name,
                    seed,
                    row.spectral_type,
                    row.subtype,
                    task,
                    row.labels.get(task),
                    verdict,
                )
            )


def confusion(outcomes):
    """TP, FP, TN, FN of labelled outcomes."""
    counts = defaultdict(int)
    for o in outcomes:
        if o.label is not None:
            counts[("t" if o.verdict == o.label else "f") + ("p" if o.verdict else "n")] += 1
    return tuple(counts[k] for k in ("tp", "fp", "tn", "fn"))


def f1_score(tp, fp, fn):
    """F1 on YES; nan when there is nothing to find and nothing was claimed (works on arrays)."""
    tp, fp, fn = (np.asarray(x, float) for x in (tp, fp, fn))
    with np.errstate(invalid="ignore", divide="ignore"):
        return 2 * tp / (2 * tp + fp + fn)


def bootstrap_f1(outcomes, tasks, draws=BOOTSTRAP_DRAWS, seed=BOOTSTRAP_SEED):
    """F1 samples per task: each task's labelled spectra resampled with replacement.

    The seeds of one spectrum stay together (a spectrum is the unit resampled). Returns
    ``{task: (f1, samples)}``.
    """
    rng = np.random.default_rng(seed)
    result = {}
    for task in tasks:
        per_spectrum = defaultdict(lambda: np.zeros(3))
        for o in outcomes:
            if o.task == task and o.label is not None:
                per_spectrum[(o.set_name, o.name)] += (
                    o.verdict and o.label,
                    o.verdict and not o.label,
                    o.label and not o.verdict,
                )
        counts = np.array(list(per_spectrum.values())).reshape(-1, 3)
        if not len(counts):
            result[task] = (np.nan, np.full(draws, np.nan))
            continue
        sample = counts[rng.integers(0, len(counts), size=(draws, len(counts)))].sum(axis=1)
        total = counts.sum(axis=0)
        result[task] = (float(f1_score(*total)), f1_score(*sample.T))
    return result


def _interval(samples):
    """The 2.5 and 97.5 percentiles of the defined samples."""
    if np.all(np.isnan(samples)):
        return np.nan, np.nan
    return tuple(np.nanpercentile(samples, [2.5, 97.5]))


def _fmt(value, digits=3):
    return "--" if np.isnan(value) else f"{value:.{digits}f}"


_ROW = "{:22s} {:>5} {:>5} {:>6} {:>5} {:>9} {:>7} {:>6} {:>8}"


def print_table(outcomes, tasks):
    """One row per task: confusion counts, precision, recall and F1 on YES, accuracy."""
    print(_ROW.format("task", "TP", "FP", "TN", "FN", "precision", "recall", "F1", "accuracy"))
    for task in tasks:
        tp, fp, tn, fn = confusion(o for o in outcomes if o.task == task)
        precision = tp / (tp + fp) if tp + fp else np.nan
        recall = tp / (tp + fn) if tp + fn else np.nan
        accuracy = (tp + tn) / max(tp + fp + tn + fn, 1)
        scores = (_fmt(precision), _fmt(recall), _fmt(float(f1_score(tp, fp, fn))), _fmt(accuracy))
        print(_ROW.format(task, tp, fp, tn, fn, *scores))


def summarise(outcomes, tasks):
    """Per-task F1 with CI and macro-F1 (over tasks with positives) with CI; printed, returned.

    Returns ``{task: (f1, lo, hi)}`` with the macro-F1 under ``"macro"``.
    """
    boot = bootstrap_f1(outcomes, tasks)
    positive = [t for t in tasks if any(o.task == t and o.label for o in outcomes)]
    print(f"{'task':22s} {'spectra':>7} {'positive':>8} {'F1':>6}  95% CI")
    summary = {}
    for task in tasks:
        f1, samples = boot[task]
        lo, hi = _interval(samples)
        labelled = {
            (o.set_name, o.name) for o in outcomes if o.task == task and o.label is not None
        }
        positives = {(o.set_name, o.name) for o in outcomes if o.task == task and o.label}
        ci = f"[{_fmt(lo)}, {_fmt(hi)}]" if np.isfinite(lo) else "--"
        print(f"{task:22s} {len(labelled):>7} {len(positives):>8} {_fmt(f1):>6}  {ci}")
        summary[task] = (f1, lo, hi)
    if positive:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # draws without any positive
            macro = np.nanmean(np.array([boot[t][1] for t in positive]), axis=0)
        f1 = float(np.mean([boot[t][0] for t in positive]))
        lo, hi = _interval(macro)
        print(f"{'macro-F1':22s} {'':>7} {'':>8} {_fmt(f1):>6}  [{_fmt(lo)}, {_fmt(hi)}]")
        print(f"  (macro over the tasks with positives: {', '.join(positive)})")
        summary["macro"] = (f1, lo, hi)
    return summary


def _yes_counts(outcomes, label):
    """``{(task, subtype): [yes, n]}`` over the outcomes with that label."""
    counts = defaultdict(lambda: [0, 0])
    for o in outcomes:
        if o.label is label:
            counts[(o.task, o.subtype)][0] += o.verdict
            counts[(o.task, o.subtype)][1] += 1
    return counts


def print_subtypes(outcomes, tasks):
    """Recall per subtype of each task's positives; FP rate per subtype of the negatives."""
    print("\nrecall per subtype (positives; spectra x seeds)")
    for (task, kind), (yes, n) in sorted(_yes_counts(outcomes, True).items()):
        print(f"  {task:22s} {kind:16s} {yes:>4}/{n:<4} {yes / n:6.3f}")
    negatives = _yes_counts(outcomes, False)
    kinds = sorted({kind for _, kind in negatives})
    print("\nfalse-positive rate per subtype (negatives: YES / spectra x seeds)")
    print(f"  {'subtype':16s}" + "".join(f" {t[:20]:>20s}" for t in tasks))
    for kind in kinds:
        cells = []
        for task in tasks:
            yes, n = negatives.get((task, kind), (0, 0))
            cells.append(f"{yes}/{n} ({yes / n:.2f})" if n else "--")
        print(f"  {kind:16s}" + "".join(f" {c:>20s}" for c in cells))


def _by_spectrum(outcomes):
    """``{(task, set, name, type, subtype, label): [verdicts...]}`` over seeds."""
    grouped = defaultdict(list)
    for o in outcomes:
        key = (o.task, o.set_name, o.name, o.spectral_type, o.subtype, o.label)
        grouped[key].append(o.verdict)
    return grouped


def print_listing(outcomes, *, errors):
    """Every misclassified (``errors``) or unlabelled spectrum, with its subtype and verdict.

    With several seeds a verdict that changes is given as, e.g., "NO in 2/3 seeds" (for an error:
    how often it was wrong).
    """
    word = "wrong" if errors else "unlabelled"
    for (task, _, name, st, kind, label), verdicts in sorted(_by_spectrum(outcomes).items()):
        if (label is None) == errors:
            continue
        said = "NO" if label else "YES"  # the wrong verdict (YES for unlabelled ones)
        count = sum(v != bool(label) for v in verdicts)
        if errors and not count:
            continue
        if 0 < count < len(verdicts):
            said += f" in {count}/{len(verdicts)} seeds"
        elif not count:
            said = "NO"
        print(f"  {word}: {task:20s} {name[:44]:44s} {st[:18]:18s} [{kind}] -> {said}")


def run_snr(snr, sets, seeds, tasks, ebv=0.0):
    """Score every set at one S/N (degraded spectra reddened by ``ebv`` more); print the per-set
    tables; return the `Run`."""
    run = Run(snr)
    for set_name in sets:
        start, calls, before = run.seconds, run.calls, len(run.outcomes)
        for seed in range(seeds):
            score(run, set_name, seed, SETS[set_name](snr, seed, ebv), tasks)
        set_outcomes = run.outcomes[before:]
        per_call = (run.seconds - start) / max(run.calls - calls, 1)
        spectra = len({o.name for o in set_outcomes})
        print(
            f"\n== {set_name} (S/N {snr:g}, {seeds} seed(s); {spectra} spectra): "
            f"{per_call * 1e3:.1f} ms per assessment"
        )
        print_table(set_outcomes, tasks)
    return run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--snr",
        type=float,
        nargs="+",
        default=[30.0],
        help="median S/N per pixel of the degraded spectra; several values sweep (e.g. 5 10 30 50)",
    )
    parser.add_argument(
        "--seeds", type=int, default=1, help="noise realisations per degraded spectrum"
    )
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument(
        "--ebv",
        type=float,
        default=0.0,
        help="put every degraded spectrum behind this much more E(B-V) of dust (CCM89 reddening, "
        "interstellar Na D and Ca II H&K) before it is degraded: how the verdicts hold for stars "
        "behind Galactic dust",
    )
    parser.add_argument(
        "--list-errors", action="store_true", help="print every misclassified spectrum"
    )
    args = parser.parse_args(argv)
    tasks = [t for t in TASKS if t in task_ids()]
    sweep = {}
    for snr in args.snr:
        start = time.perf_counter()
        reddened = f", E(B-V) +{args.ebv:g}" if args.ebv else ""
        print(f"\n######## S/N {snr:g}{reddened} ({', '.join(args.sets)})")
        run = run_snr(snr, args.sets, args.seeds, tasks, args.ebv)
        print(f"\n== all sets, S/N {snr:g} (observed files as observed)")
        print_table(run.outcomes, tasks)
        print(f"\nF1 with bootstrap 95% CI ({BOOTSTRAP_DRAWS} draws of the labelled spectra)")
        sweep[snr] = summarise(run.outcomes, tasks)
        print_subtypes(run.outcomes, tasks)
        print()
        if args.list_errors:
            print_listing(run.outcomes, errors=True)
        print_listing(run.outcomes, errors=False)
        print(f"\n(S/N {snr:g}: {time.perf_counter() - start:.0f} s)")
    if len(sweep) > 1:
        print("\n== F1 per S/N (95% CI)")
        print(f"{'S/N':>5} " + " ".join(f"{t[:20]:>22s}" for t in [*tasks, "macro"]))
        for snr, summary in sweep.items():
            cells = [summary.get(t, (np.nan, np.nan, np.nan)) for t in [*tasks, "macro"]]
            print(
                f"{snr:>5g} "
                + " ".join(
                    f"{_fmt(f, 2)} [{_fmt(lo, 2)},{_fmt(hi, 2)}]".rjust(22) for f, lo, hi in cells
                )
            )


if __name__ == "__main__":
    main()
