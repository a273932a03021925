"""Scores of YES/NO vetting answers, as the Spec-o3 paper reports them.

Every question is a binary decision and the rare class is the positive one, so precision, recall and
F1 are computed on the YES class. The headline number is the macro-F1: the unweighted mean of the
per-task F1 scores (the paper's Table 1 average; its per-task F1 of Spec-o3-7B, 81.0, 80.2, 84.5,
83.4 and 53.6, average to its reported 76.5). Mean accuracy is likewise the unweighted mean of the
per-task accuracies.

Degenerate cases follow the usual zero convention, without warnings: precision is 0 when nothing was
predicted YES, recall is 0 when no question has the answer YES, and F1 = 2 TP / (2 TP + FP + FN) is
0 when that denominator is 0 (no YES answers and no YES predictions). Accuracy needs at least one
question.
"""

import astropy.units as u
import numpy as np
from astropy.table import QTable

__all__ = ["bootstrap_distribution", "binary_scores", "confusion_matrix", "macro_f1", "score_table"]

#: Metric columns of `score_table` (percent) in display order.
_METRICS = ("accuracy", "precision", "recall", "f1")
#: Confusion-matrix cells in the order used throughout: true positive, false positive,
#: false negative, true negative.
_CELLS = ("tp", "fp", "fn", "tn")


def _is_yes(values, name):
    """Boolean array from YES/NO strings (any case, surrounding blanks allowed) or booleans."""
    array = np.asarray(values)
    if array.dtype == bool or array.size == 0:
        return array.astype(bool)
    if array.dtype.kind not in "US":
        raise ValueError(f"{name} must be 'YES'/'NO' strings or booleans, got dtype {array.dtype}")
    normalised = np.char.upper(np.char.strip(array.astype(str)))
    bad = ~np.isin(normalised, ("YES", "NO"))
    if bad.any():
        raise ValueError(
            f"{name} must be 'YES' or 'NO'; got {sorted(set(array[bad].tolist()))[:5]}"
        )
    return normalised == "YES"


def _paired(labels, predictions):
    truth = _is_yes(labels, "labels")
    predicted = _is_yes(predictions, "predictions")
    if truth.shape != predicted.shape or truth.ndim != 1:
        raise ValueError(
            f"labels and predictions must be 1-D and of equal length, got shapes {truth.shape} "
            f"and {predicted.shape}"
        )
    return truth, predicted


def _cell_counts(truth, predicted):
    """(tp, fp, fn, tn) counts as an int array of shape (4,)."""
    return np.array(
        [
            np.count_nonzero(truth & predicted),
            np.count_nonzero(~truth & predicted),
            np.count_nonzero(truth & ~predicted),
            np.count_nonzero(~truth & ~predicted),
        ]
    )


def _ratio(numerator, denominator):
    """numerator / denominator, 0 where the denominator is 0 (works on arrays, never warns)."""
    numerator, denominator = np.broadcast_arrays(
        np.asarray(numerator, float), np.asarray(denominator, float)
    )
    return np.divide(numerator, denominator, out=np.zeros(numerator.shape), where=denominator > 0)


def _scores_from_counts(counts):
    """Accuracy, precision, recall and F1 (fractions) from counts of shape (..., 4)."""
    tp, fp, fn, tn = np.moveaxis(np.asarray(counts), -1, 0)
    return {
        "accuracy": _ratio(tp + tn, tp + fp + fn + tn),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
    }


def confusion_matrix(labels, predictions):
    """Count the four outcomes of YES/NO answers.

    Parameters
    ----------
    labels, predictions : array-like of str or bool
        True answers and predicted answers, ``"YES"``/``"NO"`` (any case) or booleans (True is YES).

    Returns
    -------
    matrix : `~numpy.ndarray` of int, shape (2, 2)
        Rows are the true answer and columns the predicted one, both in the order (YES, NO):
        ``[[TP, FN], [FP, TN]]``.

    Examples
    --------
    >>> confusion_matrix(["YES", "YES", "NO", "NO"], ["YES", "NO", "YES", "NO"])
    array([[1, 1],
           [1, 1]])
    """
    tp, fp, fn, tn = _cell_counts(*_paired(labels, predictions))
    return np.array([[tp, fn], [fp, tn]])


def binary_scores(labels, predictions):
    """Accuracy, and precision, recall and F1 of the YES class, for one task.

    Parameters
    ----------
    labels, predictions : array-like of str or bool
        True and predicted answers, ``"YES"``/``"NO"`` (any case) or booleans (True is YES).

    Returns
    -------
    scores : dict
        ``n`` (number of questions), the counts ``tp``, ``fp``, ``fn``, ``tn``, and ``accuracy``,
        ``precision``, ``recall`` and ``f1`` as fractions between 0 and 1 (zero convention for
        degenerate cases, see the module notes).

    Raises
    ------
    ValueError
        If there is no question, or an answer is neither YES nor NO.

    Examples
    --------
    >>> scores = binary_scores(["YES", "YES", "NO", "NO", "NO"], ["YES", "NO", "YES", "NO", "NO"])
    >>> scores["accuracy"], scores["precision"], scores["recall"], scores["f1"]
    (0.6, 0.5, 0.5, 0.5)
    """
    counts = _cell_counts(*_paired(labels, predictions))
    if counts.sum() == 0:
        raise ValueError("cannot score an empty set of answers")
    scores = {"n": int(counts.sum())}
    scores.update({cell: int(count) for cell, count in zip(_CELLS, counts, strict=True)})
    scores.update({name: float(value) for name, value in _scores_from_counts(counts).items()})
    return scores


def _task_counts(tasks, labels, predictions):
    """Per-task (tp, fp, fn, tn) counts, tasks in order of first appearance."""
    truth, predicted = _paired(labels, predictions)
    tasks = np.asarray(tasks)
    if tasks.shape != truth.shape:
        raise ValueError(
            f"tasks must have one entry per answer, got {tasks.shape} for {truth.shape} answers"
        )
    if tasks.size == 0:
        raise ValueError("cannot score an empty set of answers")
    _, first = np.unique(tasks, return_index=True)
    names = tasks[np.sort(first)]
    counts = np.array(
        [_cell_counts(truth[tasks == name], predicted[tasks == name]) for name in names]
    )
    return [str(name) for name in names], counts


def macro_f1(tasks, labels, predictions):
    """Macro-F1 over tasks: the unweighted mean of each task's F1 on the YES class.

    Parameters
    ----------
    tasks : array-like of str
        Task of each question (any names; each distinct value is one task).
    labels, predictions : array-like of str or bool
        True and predicted answers (``"YES"``/``"NO"`` or booleans).

    Returns
    -------
    float
        Macro-F1 as a fraction between 0 and 1.

    Examples
    --------
    >>> macro_f1(["cc", "cc", "wd", "wd"], ["YES", "NO", "YES", "NO"], ["YES", "NO", "NO", "NO"])
    0.5
    """
    _, counts = _task_counts(tasks, labels, predictions)
    return float(_scores_from_counts(counts)["f1"].mean())


def bootstrap_distribution(tasks, labels, predictions, *, n_resamples=1000, seed=None):
    """Bootstrap distributions of per-task accuracy and F1, mean accuracy and macro-F1.

    Questions are resampled with replacement within each task, keeping each task's size, so every
    resample has the suite's task mix. Since the scores depend only on the counts of the four
    outcomes, a task's resampled counts are drawn directly from the multinomial distribution of its
    observed outcome frequencies, which is the same distribution as resampling its rows, at
    O(``n_resamples``) cost.

    Parameters
    ----------
    tasks : array-like of str
        Task of each question.
    labels, predictions : array-like of str or bool
        True and predicted answers.
    n_resamples : int, optional
        Number of bootstrap resamples.
    seed : int or `~numpy.random.Generator`, optional
        Seed; the same inputs and seed give the same distribution.

    Returns
    -------
    distribution : dict
        ``{task: {"accuracy": array, "f1": array}}`` for each task in order of first appearance,
        plus ``"Average"`` holding the mean accuracy and the macro-F1 of each resample (fractions,
        arrays of length ``n_resamples``).

    Examples
    --------
    >>> labels, predictions = ["YES", "YES", "NO", "NO"], ["YES", "NO", "NO", "NO"]
    >>> dist = bootstrap_distribution(["cc"] * 4, labels, predictions, n_resamples=200, seed=1)
    >>> dist["Average"]["f1"].shape
    (200,)
    """
    if int(n_resamples) != n_resamples or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    names, counts = _task_counts(tasks, labels, predictions)
    rng = np.random.default_rng(seed)
    totals = counts.sum(axis=1)
    # shape (tasks, resamples, 4): one multinomial draw per task and resample
    resampled = np.stack(
        [
            rng.multinomial(total, row / total, size=int(n_resamples))
            for total, row in zip(totals, counts, strict=True)
        ]
    )
    scores = _scores_from_counts(resampled)
    distribution = {
        name: {"accuracy": scores["accuracy"][i], "f1": scores["f1"][i]}
        for i, name in enumerate(names)
    }
    distribution["Average"] = {
        "accuracy": scores["accuracy"].mean(axis=0),
        "f1": scores["f1"].mean(axis=0),
    }
    return distribution


def score_table(tasks, labels, predictions, *, n_resamples=0, seed=None, confidence=0.95):
    """Per-task scores and their averages: the numbers of the paper's Table 1.

    Parameters
    ----------
    tasks : array-like of str
        Task of each question.
    labels, predictions : array-like of str or bool
        True and predicted answers (``"YES"``/``"NO"`` or booleans).
    n_resamples : int, optional
        Bootstrap resamples for confidence intervals of accuracy and F1 (0, the default, skips
        them).
    seed : int or `~numpy.random.Generator`, optional
        Seed of the bootstrap.
    confidence : float, optional
        Confidence level of the percentile intervals.

    Returns
    -------
    scores : `~astropy.table.QTable`
        One row per task (order of first appearance) and a final ``"Average"`` row. Columns:
        ``task``, ``n`` (questions), ``n_yes`` (questions whose answer is YES), ``tp``, ``fp``,
        ``fn``, ``tn``, and ``accuracy``, ``precision``, ``recall``, ``f1`` in percent; with a
        bootstrap also ``accuracy_lo``/``accuracy_hi`` and ``f1_lo``/``f1_hi``. The Average row
        holds the unweighted means of the metrics over tasks (its ``accuracy`` is the mean accuracy
        and its ``f1`` the macro-F1) and the summed counts. ``meta`` records ``n_resamples``,
        ``seed`` and ``confidence``.

    Examples
    --------
    >>> labels, predictions = ["YES", "NO", "YES", "NO"], ["YES", "NO", "NO", "NO"]
    >>> scores = score_table(["cc", "cc", "wd", "wd"], labels, predictions)
    >>> scores["task", "n", "accuracy", "f1"]
    <QTable length=3>
      task    n  accuracy   f1
                    %        %
      str7  int64 float64 float64
    ------- ----- -------- -------
         cc     2    100.0   100.0
         wd     2     50.0     0.0
    Average     4     75.0    50.0
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie between 0 and 1, got {confidence!r}")
    names, counts = _task_counts(tasks, labels, predictions)
    metrics = _scores_from_counts(counts)

    table = QTable()
    table["task"] = names + ["Average"]
    table["n"] = np.append(counts.sum(axis=1), counts.sum())
    table["n_yes"] = np.append(counts[:, 0] + counts[:, 2], counts[:, 0].sum() + counts[:, 2].sum())
    for j, cell in enumerate(_CELLS):
        table[cell] = np.append(counts[:, j], counts[:, j].sum())
    for name in _METRICS:
        table[name] = np.append(metrics[name], metrics[name].mean()) * 100 * u.percent

    # a Generator seed cannot be serialised with the table; record integer seeds only
    recorded_seed = int(seed) if isinstance(seed, (int, np.integer)) else None
    table.meta.update(n_resamples=int(n_resamples), seed=recorded_seed, confidence=confidence)
    if n_resamples:
        distribution = bootstrap_distribution(
            tasks, labels, predictions, n_resamples=n_resamples, seed=seed
        )
        tail = (1 - confidence) / 2
        for metric in ("accuracy", "f1"):
            bounds = np.array(
                [np.quantile(distribution[row][metric], [tail, 1 - tail]) for row in table["task"]]
            )
            table[f"{metric}_lo"] = bounds[:, 0] * 100 * u.percent
            table[f"{metric}_hi"] = bounds[:, 1] * 100 * u.percent
    return table
