"""Calibrate the expert's confidence on simulated suites; check it on fresh and on real spectra.

Fits, per task, the logistic model of `spec_o3.agent.expert_rules.confidence` (the deciding rule,
log10 S/N and the decision's margin -> probability that the verdict is right) on simulated suites
(``--fit-seed``, ``--n`` spectra per task, the survey-like S/N range 5-80) and writes it to
``spec_o3/data/expert_confidence.ecsv``. Then it scores the calibration where it was not fitted:
fresh simulated suites (``--check-seed``) and every labelled real spectrum of
``validate_expert_real.py`` at S/N 10 and 30. Printed per check set: a reliability table (mean
confidence and accuracy per confidence bin), the expected calibration error (ECE, weighted by bin)
and the Brier score next to that of a constant confidence (the set's accuracy, which knows the
answer's base rate but not which verdicts are doubtful); and how well the confidence ranks the
wrong verdicts below the right ones (AUROC, and the share of the wrong verdicts found among the 10%
least confident), which is what a reviewer sorting by confidence relies on. ``--plot`` saves the
reliability diagram.

Run: ``python benchmarks/calibrate_confidence.py [--n 400] [--plot PNG]`` (about 5 minutes on 2
cores), or ``--check-only`` to score the shipped calibration.
"""

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
from astropy.table import Table

from spec_o3.agent.expert_rules import assess
from spec_o3.agent.expert_rules.confidence import (
    CALIBRATION,
    _coefficients,
    confidence,
    confidence_features,
    fit_confidence,
)
from spec_o3.simulate import iter_suite
from spec_o3.tasks import task_ids

sys.path.insert(0, str(Path(__file__).resolve().parent))
import validate_expert_real as real  # noqa: E402  (a sibling script)

TASKS = real.TASKS
OUTPUT = Path(__file__).resolve().parents[1] / "spec_o3" / "data" / CALIBRATION
BINS = np.array([0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0])


def simulated(task, n, seed):
    """``(assessment, correct)`` for a simulated suite of ``task``."""
    for spectrum in iter_suite(task, n, seed=seed):
        assessment = assess(spectrum, task, spectrum.meta["redshift"])
        yield assessment, assessment.verdict == spectrum.meta["label"]


def real_spectra(snr):
    """``(assessment, correct)`` for every labelled real spectrum and task at ``snr``."""
    for rows in real.SETS.values():
        for row in rows(snr, 0):
            for task in TASKS:
                label = row.labels.get(task)
                if label is None:
                    continue
                assessment = assess(row.spectrum, task, row.redshift)
                yield assessment, (assessment.verdict == "YES") == label


def fit(n, seed):
    rows = []
    for task in TASKS:
        pairs = list(simulated(task, n, seed))
        rows += fit_confidence(
            task, [confidence_features(a) for a, _ in pairs], [ok for _, ok in pairs]
        )
        print(
            f"fitted {task}: {n} simulated spectra, accuracy {np.mean([ok for _, ok in pairs]):.3f}"
        )
    table = Table(rows=rows)
    table.meta["comments"] = [
        "Calibration of the scripted expert's confidence (spec_o3.agent.expert_rules.confidence):",
        "logit P(right) = intercept[task, rule] + snr_slope[task] * log10(S/N) + "
        "margin_slope[task] * margin;",
        "rule '*' is the task's own intercept, used for rules seen fewer than 10 times.",
        f"Fitted by benchmarks/calibrate_confidence.py --n {n} --fit-seed {seed} "
        "(simulated suites, S/N 5-80); n_fit: spectra behind each row.",
    ]
    table.write(OUTPUT, format="ascii.ecsv", overwrite=True)
    _coefficients.cache_clear()
    print(f"wrote {OUTPUT}")


def reliability(pairs):
    """Per-bin ``(lo, hi, n, mean confidence, accuracy)``, ECE, Brier and the constant's Brier."""
    scored = [(confidence(a), ok) for a, ok in pairs]
    p = np.array([c for c, _ in scored if c is not None])
    y = np.array([ok for c, ok in scored if c is not None], dtype=float)
    which = np.clip(np.digitize(p, BINS[1:-1]), 0, len(BINS) - 2)
    table = []
    for b in range(len(BINS) - 1):
        inside = which == b
        if inside.any():
            table.append(
                (BINS[b], BINS[b + 1], int(inside.sum()), p[inside].mean(), y[inside].mean())
            )
    ece = sum(n * abs(conf - acc) for *_, n, conf, acc in table) / len(p)
    return table, ece, np.mean((p - y) ** 2), np.mean((y.mean() - y) ** 2), _ranking(p, y)


def _ranking(p, y):
    """AUROC of the confidence for right vs wrong verdicts, and the share of wrong verdicts among
    the 10% least confident; NaN without wrong verdicts."""
    wrong = y == 0
    if not wrong.any() or wrong.all():
        return np.nan, np.nan
    ranks = np.argsort(np.argsort(p, kind="stable")) + 1.0
    auroc = (ranks[~wrong].sum() - (~wrong).sum() * ((~wrong).sum() + 1) / 2) / (
        (~wrong).sum() * wrong.sum()
    )
    doubtful = np.argsort(p, kind="stable")[: max(1, len(p) // 10)]
    return auroc, wrong[doubtful].sum() / wrong.sum()


def report(name, pairs):
    table, ece, brier, constant, (auroc, caught) = reliability(pairs)
    print(f"\n{name}: {sum(r[2] for r in table)} verdicts")
    print(f"  {'confidence':>12} {'n':>6} {'mean conf':>10} {'accuracy':>9}")
    for lo, hi, n, conf, acc in table:
        print(f"  {lo:5.2f}-{hi:<5.2f}  {n:6d} {conf:10.3f} {acc:9.3f}")
    print(f"  ECE {ece:.3f}; Brier {brier:.4f} (constant confidence: {constant:.4f})")
    print(
        f"  wrong verdicts: {int(round(len(pairs) * (1 - table_accuracy(table))))}; AUROC "
        f"{auroc:.3f}; {caught:.0%} of them among the 10% least confident verdicts"
    )
    return table


def table_accuracy(table):
    return sum(n * acc for *_, n, _, acc in table) / sum(n for *_, n, _, _ in table)


def plot(tables, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(5, 5), dpi=100)
    axes.plot([0.3, 1], [0.3, 1], color="0.6", lw=1, ls="--", label="perfect calibration")
    for (name, table), marker in zip(tables.items(), "osD^", strict=False):
        conf = [row[3] for row in table]
        acc = [row[4] for row in table]
        sizes = [12 + 4 * np.sqrt(row[2]) for row in table]
        axes.scatter(conf, acc, s=sizes, marker=marker, label=name, alpha=0.8)
        axes.plot(conf, acc, lw=0.8, alpha=0.6)
    axes.set(xlabel="expert's confidence", ylabel="fraction of verdicts right", xlim=(0.3, 1.01))
    axes.set(ylim=(0, 1.01), title="Reliability of the expert's confidence")
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    print(f"\nsaved {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400, help="simulated spectra per task to fit on")
    parser.add_argument("--fit-seed", type=int, default=101)
    parser.add_argument("--check-seed", type=int, default=202)
    parser.add_argument("--check-n", type=int, default=200)
    parser.add_argument("--check-only", action="store_true", help="score the shipped calibration")
    parser.add_argument("--plot", type=Path, help="save the reliability diagram here (PNG)")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    if not args.check_only:
        fit(args.n, args.fit_seed)
    assert set(TASKS) <= set(task_ids())
    tables = {}
    fresh = [pair for task in TASKS for pair in simulated(task, args.check_n, args.check_seed)]
    tables[f"simulated (seed {args.check_seed})"] = report("simulated, not fitted on", fresh)
    for snr in (10, 30):
        tables[f"real, S/N {snr}"] = report(f"real spectra at S/N {snr}", list(real_spectra(snr)))
    if args.plot:
        plot(tables, args.plot)


if __name__ == "__main__":
    main()
