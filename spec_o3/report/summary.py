"""Summary numbers and plots of a report: outcomes per task, S/N by verdict, agreement."""

from collections import Counter

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator

from spec_o3.agent.result import ANSWERED, FAILED, NO_ANSWER

from .merge import DECISIONS

__all__ = [
    "OUTCOMES",
    "agreement_counts",
    "plot_agreement",
    "plot_snr",
    "plot_verdicts",
    "row_outcome",
    "shown_outcomes",
    "verdict_counts",
]

#: What the agent made of a results row, and how the report names it: a verdict; no valid
#: answer; a spectrum that could not be read or vetted; or, in a table written before spec-o3
#: recorded a ``status``, an error that may be either of the last two.
OUTCOMES = {"YES": "YES", "NO": "NO", NO_ANSWER: "no answer", FAILED: "failed", "error": "error"}
_COLOURS = {"YES": "#2e7d32", "NO": "#9e9e9e", NO_ANSWER: "#b26a00", FAILED: "#c62828"}
_COLOURS["error"] = _COLOURS[FAILED]


def row_outcome(row):
    """The outcome (a key of ``OUTCOMES``) of a results row.

    Examples
    --------
    >>> row_outcome({"status": "failed", "verdict": "", "error": "a.fits: no such file"})
    'failed'
    >>> row_outcome({"verdict": "NO", "error": "cannot read: OSError"})  # a table without status
    'error'
    """
    status = row.get("status", "")
    if status in (NO_ANSWER, FAILED):
        return status
    if row["verdict"] in ("YES", "NO") and (status == ANSWERED or not row.get("error")):
        return row["verdict"]
    return "error"


def verdict_counts(rows):
    """Count rows per task and outcome (see ``OUTCOMES``).

    Parameters
    ----------
    rows : iterable of dict
        With ``task`` and ``outcome`` entries.

    Returns
    -------
    counts : dict
        ``{task: {outcome: n}}`` with every outcome, tasks in order of appearance.

    Examples
    --------
    >>> verdict_counts([{"task": "wd", "outcome": "YES"}, {"task": "wd", "outcome": "failed"}])
    {'wd': {'YES': 1, 'NO': 0, 'no_answer': 0, 'failed': 1, 'error': 0}}
    """
    counts = {}
    for row in rows:
        counts.setdefault(row["task"], dict.fromkeys(OUTCOMES, 0))[row["outcome"]] += 1
    return counts


def shown_outcomes(counts):
    """The outcomes worth a column in `verdict_counts` ``counts``: the verdicts, and the others
    that occur."""
    return [
        outcome
        for outcome in OUTCOMES
        if outcome in ("YES", "NO") or any(task[outcome] for task in counts.values())
    ]


def agreement_counts(records):
    """Count candidates per agent verdict and reviewer decision (``""``: not decided yet).

    Candidates without a YES/NO verdict are left out.

    Examples
    --------
    >>> agreement_counts([{"verdict": "YES", "decision": "accept"},
    ...                   {"verdict": "YES", "decision": ""}])["YES"]
    {'accept': 1, 'reject': 0, 'unsure': 0, '': 1}
    """
    counts = {verdict: dict.fromkeys((*DECISIONS, ""), 0) for verdict in ("YES", "NO")}
    for record in records:
        if record["verdict"] in counts:
            counts[record["verdict"]][record["decision"]] += 1
    return counts


def _figure(width=6.4, height=3.6):
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    return figure, figure.add_subplot()


def plot_verdicts(counts):
    """Horizontal bars of the outcomes per task, from `verdict_counts`."""
    tasks = list(counts)
    outcomes = shown_outcomes(counts)
    figure, axes = _figure(height=1.6 + 0.45 * len(tasks))
    left = np.zeros(len(tasks))
    for outcome in outcomes:
        values = np.array([counts[task][outcome] for task in tasks])
        axes.barh(
            tasks, values, left=left, color=_COLOURS[outcome], label=OUTCOMES[outcome], height=0.6
        )
        for y, (start, value) in enumerate(zip(left, values, strict=True)):
            if value:
                axes.text(
                    start + value / 2,
                    y,
                    str(value),
                    ha="center",
                    va="center",
                    color="white",
                    fontsize=9,
                )
        left += values
    axes.invert_yaxis()
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("rows of the results table")
    figure.legend(loc="outside lower center", ncols=len(outcomes), frameon=False)
    axes.set_title("Agent outcomes per task")
    return figure


def plot_snr(records):
    """Histograms of the median S/N per pixel, one per agent verdict (log bins)."""
    figure, axes = _figure()
    values = {
        verdict: np.array([r["snr"] for r in records if r["verdict"] == verdict and r["snr"]])
        for verdict in ("YES", "NO")
    }
    positive = np.concatenate([v[v > 0] for v in values.values()])
    if positive.size:
        bins = np.geomspace(max(positive.min(), 0.5), max(positive.max(), 1.0) * 1.01, 25)
        for verdict, snr in values.items():
            if snr.size:
                axes.hist(
                    snr,
                    bins=bins,
                    histtype="stepfilled",
                    alpha=0.55,
                    color=_COLOURS[verdict],
                    label=f"{verdict} ({snr.size})",
                )
        axes.set_xscale("log")
        axes.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        axes.xaxis.set_minor_formatter(FuncFormatter(lambda value, _: ""))
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.legend(frameon=False)
    else:
        axes.text(0.5, 0.5, "no S/N known", ha="center", va="center", transform=axes.transAxes)
    axes.set_xlabel("median S/N per pixel")
    axes.set_ylabel("candidates")
    axes.set_title("S/N of the candidates in this report")
    return figure


def plot_agreement(counts):
    """The confusion matrix of agent verdict and reviewer decision, from `agreement_counts`."""
    columns = (*DECISIONS, "")
    matrix = np.array([[counts[verdict][c] for c in columns] for verdict in ("YES", "NO")])
    figure, axes = _figure(width=5.2, height=2.8)
    axes.imshow(matrix, cmap="Blues", aspect="auto")
    for (i, j), value in np.ndenumerate(matrix):
        colour = "white" if value > matrix.max() / 2 else "black"
        axes.text(j, i, str(value), ha="center", va="center", color=colour, fontsize=11)
    axes.set_xticks(range(len(columns)), [c or "undecided" for c in columns])
    axes.set_yticks([0, 1], ["agent YES", "agent NO"])
    axes.set_xlabel("reviewer decision")
    decided = Counter()
    for verdict, agreeing in (("YES", "accept"), ("NO", "reject")):
        decided["agree"] += counts[verdict][agreeing]
        decided["judged"] += counts[verdict]["accept"] + counts[verdict]["reject"]
    rate = f"{decided['agree'] / decided['judged']:.0%}" if decided["judged"] else "n/a"
    axes.set_title(f"Agreement at build time: {rate} of accepted/rejected")
    return figure
