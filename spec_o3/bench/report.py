"""The paper's Table 1 as text, and a bar chart of the same scores with their intervals."""

import numpy as np
from astropy.table import Table
from matplotlib.figure import Figure

from ..tasks import TASKS

__all__ = ["format_scores", "plot_scores"]


def _row_name(task):
    """Display name of a score row: task id and paper code, or the row's own name (Average)."""
    return f"{TASKS[task].id} ({TASKS[task].code})" if task in TASKS else task


def _cell(scores, row, metric):
    value = f"{scores[metric][row].value:.1f}"
    if f"{metric}_lo" in scores.colnames:
        value += (
            f" [{scores[f'{metric}_lo'][row].value:.1f}, {scores[f'{metric}_hi'][row].value:.1f}]"
        )
    return value


def format_scores(scores):
    """Render a `~spec_o3.bench.score_table` as the paper's Table 1: accuracy and F1 (%) per task.

    Parameters
    ----------
    scores : `~astropy.table.QTable`
        Output of :func:`~spec_o3.bench.score_table`; its confidence intervals, when present, are
        shown in brackets.

    Returns
    -------
    str

    Examples
    --------
    >>> from spec_o3.bench import score_table
    >>> print(format_scores(score_table(["cc", "cc", "wd", "wd"], ["YES", "NO", "YES", "NO"],
    ...                                 ["YES", "NO", "NO", "NO"])))
          Task        N  Accuracy (%) F1 (%)
    ---------------- --- ------------ ------
    carbon_star (cc)   2        100.0  100.0
    white_dwarf (wd)   2         50.0    0.0
             Average   4         75.0   50.0
    """
    rows = range(len(scores))
    table = Table()
    table["Task"] = [_row_name(task) for task in scores["task"]]
    table["N"] = scores["n"]
    table["Accuracy (%)"] = [_cell(scores, row, "accuracy") for row in rows]
    table["F1 (%)"] = [_cell(scores, row, "f1") for row in rows]
    for name in ("Task", "Accuracy (%)", "F1 (%)"):
        table[name].info.format = ">"  # right-aligned, like the numbers they hold
    return "\n".join(table.pformat(max_lines=-1, max_width=-1))


def plot_scores(scores, *, title=None):
    """Bar chart of per-task accuracy and F1, their averages, and bootstrap intervals if present.

    Parameters
    ----------
    scores : `~astropy.table.QTable`
        Output of :func:`~spec_o3.bench.score_table`.
    title : str, optional
        Figure title.

    Returns
    -------
    `~matplotlib.figure.Figure`
        A figure not attached to pyplot (save it with ``figure.savefig``).

    Examples
    --------
    >>> from spec_o3.bench import score_table
    >>> scores = score_table(["cc", "wd"], ["YES", "YES"], ["YES", "NO"], n_resamples=50, seed=0)
    >>> figure = plot_scores(scores)
    >>> [text.get_text() for text in figure.axes[0].get_xticklabels()]
    ['cc', 'wd', 'Average']
    """
    figure = Figure(figsize=(1.4 * len(scores) + 2.5, 4.0), layout="constrained")
    axes = figure.subplots()
    positions = np.arange(len(scores))
    width = 0.38
    for offset, metric, label in (
        (-width / 2, "accuracy", "Accuracy"),
        (width / 2, "f1", "F1 (YES)"),
    ):
        values = scores[metric].value
        error = None
        if f"{metric}_lo" in scores.colnames:
            error = np.vstack(
                [values - scores[f"{metric}_lo"].value, scores[f"{metric}_hi"].value - values]
            )
        axes.bar(positions + offset, values, width, yerr=error, capsize=3, label=label)
    axes.axvline(len(scores) - 1.5, color="0.6", linestyle="--", linewidth=0.8)  # tasks | Average
    axes.set_xticks(
        positions, [TASKS[task].code if task in TASKS else task for task in scores["task"]]
    )
    axes.set_ylim(0, 118)  # headroom for the legend above 100 %
    axes.set_yticks(np.arange(0, 101, 20))
    axes.set_ylabel("Score (%)")
    axes.legend(loc="upper center", ncols=2, frameon=False)
    axes.grid(axis="y", alpha=0.3)
    if title:
        axes.set_title(title)
    return figure
