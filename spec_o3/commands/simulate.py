"""``spec-o3 simulate``: write a labelled suite of synthetic LAMOST-like spectra for one task.

Example::

    spec-o3 simulate --task cc --n 200 --out suite/cc --seed 1
    spec-o3 simulate --task wd --n 1100 --out suite/wd --positive-fraction 0.0909 --snr 5 40
    spec-o3 simulate --task gm --n 60 --out suite/gm-desi --survey desi   # DESI coadd files
"""

import sys
import tempfile
from pathlib import Path

__all__ = ["add_arguments", "run"]

#: Name of the label table written beside the spectra.
LABEL_FILE = "labels.ecsv"


def add_arguments(parser):
    """Attach the ``simulate`` options to ``parser``."""
    parser.add_argument(
        "--task",
        required=True,
        help="task id or code (carbon_star/cc, cataclysmic_variable/cv, "
        "m_giant/gm, s_star/ss, white_dwarf/wd)",
    )
    parser.add_argument("--n", required=True, type=int, help="number of spectra to write")
    parser.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="DIR",
        help="output directory for the FITS files and labels.ecsv",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the suite (default: %(default)s)"
    )
    parser.add_argument(
        "--positive-fraction",
        type=float,
        default=0.5,
        metavar="F",
        help="fraction of YES spectra (default: %(default)s; 0.0909 for the survey-like 1:10)",
    )
    parser.add_argument(
        "--snr",
        type=float,
        nargs=2,
        default=None,
        metavar=("LO", "HI"),
        help="S/N per pixel range, drawn log-uniformly (default: 5 80)",
    )
    parser.add_argument(
        "--survey",
        choices=("lamost", "desi"),
        default="lamost",
        help="file layout: one LAMOST LRS file per spectrum (default), or DESI coadd files of "
        "several targets (b/r/z arms, 3600-9824 A) with a redrock redshift file beside each",
    )
    parser.add_argument(
        "--targets-per-file",
        type=int,
        default=20,
        metavar="K",
        help="targets in each DESI coadd file (default: %(default)s)",
    )


def _fail(message, status=2):
    print(f"spec-o3 simulate: error: {message}", file=sys.stderr)
    return status


def _check_arguments(args):
    from spec_o3.simulate.suite import DEFAULT_SUITE_SNR, confusers

    confusers(args.task)  # unknown task -> ValueError naming the known ones
    if args.n <= 0:
        raise ValueError(f"--n must be a positive number of spectra, got {args.n}")
    if not 0.0 <= args.positive_fraction <= 1.0:
        raise ValueError(f"--positive-fraction must lie in [0, 1], got {args.positive_fraction}")
    snr = tuple(args.snr) if args.snr is not None else DEFAULT_SUITE_SNR
    if not (0 < snr[0] <= snr[1]):
        raise ValueError(f"--snr LO HI needs 0 < LO <= HI, got {snr[0]:g} {snr[1]:g}")
    if args.seed < 0:
        raise ValueError(f"--seed must be non-negative, got {args.seed}")
    if args.targets_per_file < 1:
        raise ValueError(f"--targets-per-file must be at least 1, got {args.targets_per_file}")
    return snr


def _check_writable(directory):
    """Create ``directory`` and prove a file can be written there before simulating anything."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as error:
        raise OSError(
            f"cannot write to output directory {directory}: {error.strerror or error}"
        ) from None


def run(args):
    """Simulate and write the suite; return the exit status."""
    try:
        snr = _check_arguments(args)
        _check_writable(args.out)
    except (OSError, ValueError) as error:
        return _fail(error)

    from spec_o3._progress import progress_bar
    from spec_o3.simulate.files import label_table
    from spec_o3.simulate.suite import iter_suite
    from spec_o3.tasks import get_task

    task = get_task(args.task)
    rows = []
    spectra = iter_suite(
        task.id, args.n, positive_fraction=args.positive_fraction, snr=snr, seed=args.seed
    )
    width = len(str(args.n - 1))
    bar = progress_bar(spectra, total=args.n, desc=f"simulating {task.name}", unit="spectrum")
    pending, pattern = [], "coadd-*.fits" if args.survey == "desi" else "*.fits"
    for index, spectrum in enumerate(bar):
        if args.survey == "desi":  # several targets per file: written when the file is full
            pending.append(spectrum)
            if len(pending) < args.targets_per_file and index < args.n - 1:
                continue
            name = (
                f"coadd-sim{task.code}-{args.seed}-{index // args.targets_per_file:0{width}d}.fits"
            )
        else:
            name, pending = f"sim-{task.code}-{args.seed}-{index:0{width}d}.fits", [spectrum]
        try:
            rows += _write(args.survey, pending, args.out / name, len(rows))
        except OSError as error:
            return _fail(f"cannot write {args.out / name}: {error}")
        pending = []
    label_table(
        rows,
        survey=args.survey.upper(),
        task=task.id,
        seed=args.seed,
        positive_fraction=args.positive_fraction,
        snr=list(snr),
    ).write(args.out / LABEL_FILE, format="ascii.ecsv", overwrite=True)
    n_yes = sum(row["label"] == "YES" for row in rows)
    task_files = "".join(f" --task-file {path}" for path in getattr(args, "task_files", None) or ())
    print(
        f"wrote {len(rows)} spectra ({n_yes} YES, {len(rows) - n_yes} NO: {task.name}) and their "
        f"labels ({LABEL_FILE}) to {args.out}; next: spec-o3 vet --task {task.id}{task_files} "
        f"{args.out / pattern} --output {args.out / 'results.ecsv'}"
    )
    return 0


def _write(survey, spectra, path, written):
    """Write one file of ``spectra`` (one spectrum for LAMOST) after ``written`` others; return
    their label rows."""
    from spec_o3.simulate.files import FIRST_TARGETID, label_row, write_desi_file, write_survey_file

    if survey == "lamost":
        write_survey_file(spectra[0], path)
        return [label_row(spectra[0], path.name)]
    targetids, band_snr = write_desi_file(spectra, path, first_targetid=FIRST_TARGETID + written)
    return [
        label_row(spectrum, path.name, targetid=targetid, band_snr=snr)
        for spectrum, targetid, snr in zip(spectra, targetids, band_snr, strict=True)
    ]
