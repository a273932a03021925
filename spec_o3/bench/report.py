"""The paper's Table 1 as text, and a bar chart of the same scores with their intervals."""

import itertools

import numpy as np
from astropy.table import Table
from matplotlib.figure import Figure

from ..tasks import TASKS

__all__ = ["format_comparison", "format_scores", "plot_scores"]


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


def format_comparison(comparison):
    """Render a `~spec_o3.bench.comparison_table` as Table 1 with the two backends side by side.

    Parameters
    ----------
    comparison : `~astropy.table.QTable`
        Output of :func:`~spec_o3.bench.comparison_table` or
        :meth:`~spec_o3.bench.EvaluationResult.compare` (whose ``meta`` names the backends);
        intervals, when present, are shown in brackets.

    Returns
    -------
    str
        Per task and on average (mean accuracy, macro-F1): accuracy and F1 of each backend, and
        the difference in F1 in percentage points.

    Examples
    --------
    >>> from spec_o3.bench import comparison_table
    >>> tasks, labels = ["cc", "cc", "wd", "wd"], ["YES", "NO", "YES", "NO"]
    >>> print(format_comparison(comparison_table(tasks, labels, ["YES", "NO", "NO", "NO"], labels)))
                                                    reference         difference
                Task  N  Accuracy (%)  F1 (%)  Accuracy (%)  F1 (%)  F1 (points)
    ----------------  -  ------------  ------  ------------  ------  -----------
    carbon_star (cc)  2         100.0   100.0         100.0   100.0          0.0
    white_dwarf (wd)  2          50.0     0.0         100.0   100.0       -100.0
             Average  4          75.0    50.0         100.0   100.0        -50.0
    """
    ours = comparison.meta.get("backend", "")
    theirs = comparison.meta.get("reference") or "reference"
    if theirs == ours:  # the same backend twice (e.g. two models behind one server)
        theirs = f"{theirs} (reference)"
    rows = range(len(comparison))
    columns = [
        ("", "Task", [_row_name(task) for task in comparison["task"]]),
        ("", "N", [str(n) for n in comparison["n"]]),
    ]
    for group, prefix in ((ours, ""), (theirs, "reference_")):
        for metric, heading in (("accuracy", "Accuracy (%)"), ("f1", "F1 (%)")):
            columns.append(
                (group, heading, [_cell(comparison, row, prefix + metric) for row in rows])
            )
    difference = [_cell(comparison, row, "f1_difference") for row in rows]
    columns.append(("difference", "F1 (points)", difference))
    return _grouped_text(columns)


def _grouped_text(columns):
    """A right-aligned text table of ``(group, heading, cells)`` columns, the names of groups of
    neighbouring columns centred on a line above their headings."""
    widths = [max(map(len, [heading, *cells])) for _, heading, cells in columns]
    groups, start = [], 0
    for group, members in itertools.groupby(column[0] for column in columns):
        end = start + len(list(members))
        span = sum(widths[start:end]) + 2 * (end - start - 1)
        widths[end - 1] += max(0, len(group) - span)  # a long name widens its group's last column
        groups.append(group.center(max(span, len(group))))
        start = end
    lines = [
        [heading for _, heading, _ in columns],
        ["-" * width for width in widths],
        *zip(*(cells for _, _, cells in columns), strict=True),
    ]
    text = ["  ".join(groups).rstrip()] if any(column[0] for column in columns) else []
    for line in lines:
        text.append("  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)))
    return "\n".join(text)


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
