"""Summary numbers and plots of a report: verdicts per task, S/N by verdict, agreement."""

from collections import Counter

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator

from .merge import DECISIONS

__all__ = ["agreement_counts", "plot_agreement", "plot_snr", "plot_verdicts", "verdict_counts"]

_VERDICT_COLOURS = {"YES": "#2e7d32", "NO": "#9e9e9e", "error": "#c62828"}


def verdict_counts(rows):
    """Count rows per task and outcome: ``YES``, ``NO``, or ``error`` (the run failed, or the row
    holds no YES/NO verdict).

    Parameters
    ----------
    rows : iterable of dict
        With ``task``, ``verdict`` and ``error`` entries.

    Returns
    -------
    counts : dict
        ``{task: {"YES": n, "NO": n, "error": n}}``, tasks in order of appearance.

    Examples
    --------
    >>> verdict_counts([{"task": "wd", "verdict": "YES", "error": ""},
    ...                 {"task": "wd", "verdict": "NO", "error": "cannot read"}])
    {'wd': {'YES': 1, 'NO': 0, 'error': 1}}
    """
    counts = {}
    for row in rows:
        outcome = (
            row["verdict"] if row["verdict"] in ("YES", "NO") and not row["error"] else "error"
        )
        counts.setdefault(row["task"], dict.fromkeys(_VERDICT_COLOURS, 0))[outcome] += 1
    return counts


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
    """Horizontal bars of YES / NO / error per task, from `verdict_counts`."""
    tasks = list(counts)
    figure, axes = _figure(height=1.6 + 0.45 * len(tasks))
    left = np.zeros(len(tasks))
    for outcome, colour in _VERDICT_COLOURS.items():
        values = np.array([counts[task][outcome] for task in tasks])
        axes.barh(tasks, values, left=left, color=colour, label=outcome, height=0.6)
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
    figure.legend(loc="outside lower center", ncols=3, frameon=False)
    axes.set_title("Agent verdicts per task")
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
                    color=_VERDICT_COLOURS[verdict],
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
