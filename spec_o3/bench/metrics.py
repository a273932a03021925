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

__all__ = [
    "binary_scores",
    "bootstrap_distribution",
    "comparison_table",
    "confusion_matrix",
    "macro_f1",
    "paired_bootstrap_difference",
    "score_table",
]

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


def _outcomes(truth, predicted):
    """Each answer's confusion-matrix cell as its index in ``_CELLS`` (0 tp, 1 fp, 2 fn, 3 tn)."""
    return np.where(truth, np.where(predicted, 0, 2), np.where(predicted, 1, 3))


def _cell_counts(truth, predicted):
    """(tp, fp, fn, tn) counts as an int array of shape (4,)."""
    return np.bincount(_outcomes(truth, predicted).ravel(), minlength=len(_CELLS))


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
        _add_intervals(table, distribution, confidence)
    return table


def _add_intervals(table, distribution, confidence, column="{metric}"):
    """Add the percentile intervals of each row's accuracy and F1 in ``distribution`` to
    ``table`` as ``COLUMN_lo`` and ``COLUMN_hi`` columns (percent)."""
    tail = (1 - confidence) / 2
    for metric in ("accuracy", "f1"):
        bounds = np.array(
            [np.quantile(distribution[row][metric], [tail, 1 - tail]) for row in table["task"]]
        )
        name = column.format(metric=metric)
        table[f"{name}_lo"] = bounds[:, 0] * 100 * u.percent
        table[f"{name}_hi"] = bounds[:, 1] * 100 * u.percent


def paired_bootstrap_difference(
    tasks, labels, predictions, reference, *, n_resamples=1000, seed=None
):
    """Bootstrap distributions of the difference between two sets of answers to the same questions.

    Each resample draws the questions of every task with replacement, as
    `bootstrap_distribution` does, and scores both sets of answers on the *same* draw: the
    interval of the difference then reflects how often the two disagree, not the spread of each
    score alone (a paired bootstrap). Each question's pair of outcomes is one of eight (the
    confusion-matrix cell of each answer, the truth being shared), so a task's resample is one
    multinomial draw over its pairs' frequencies.

    Parameters
    ----------
    tasks : array-like of str
        Task of each question.
    labels : array-like of str or bool
        True answers.
    predictions, reference : array-like of str or bool
        The two sets of answers (e.g. a trained model's and its teacher's), in question order.
    n_resamples : int, optional
        Number of bootstrap resamples.
    seed : int or `~numpy.random.Generator`, optional
        Seed; the same inputs and seed give the same distribution.

    Returns
    -------
    distribution : dict
        ``{task: {"accuracy": array, "f1": array}}`` of the differences ``predictions -
        reference`` (fractions), tasks in order of first appearance, plus ``"Average"`` holding the
        differences in mean accuracy and macro-F1.

    Examples
    --------
    >>> labels = ["YES", "YES", "NO", "NO"]
    >>> same = paired_bootstrap_difference(["cc"] * 4, labels, labels, labels, n_resamples=50)
    >>> float(abs(same["Average"]["f1"]).max())
    0.0
    """
    if int(n_resamples) != n_resamples or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    names, _ = _task_counts(tasks, labels, predictions)
    truth, predicted = _paired(labels, predictions)
    _, referenced = _paired(labels, reference)
    if referenced.shape != predicted.shape:
        raise ValueError("predictions and reference must answer the same questions")
    cells = len(_CELLS)
    pairs = _outcomes(truth, predicted) * cells + _outcomes(truth, referenced)
    tasks = np.asarray(tasks)
    rng = np.random.default_rng(seed)
    distribution = {}
    for name in names:
        counts = np.bincount(pairs[tasks == name], minlength=cells * cells)
        drawn = rng.multinomial(counts.sum(), counts / counts.sum(), size=int(n_resamples))
        drawn = drawn.reshape(-1, cells, cells)  # resample, cell of predictions, of reference
        ours = _scores_from_counts(drawn.sum(axis=2))
        theirs = _scores_from_counts(drawn.sum(axis=1))
        distribution[name] = {
            metric: ours[metric] - theirs[metric] for metric in ("accuracy", "f1")
        }
    distribution["Average"] = {
        metric: np.mean([distribution[name][metric] for name in names], axis=0)
        for metric in ("accuracy", "f1")
    }
    return distribution


def comparison_table(
    tasks, labels, predictions, reference, *, n_resamples=0, seed=None, confidence=0.95
):
    """The paper's Table 1 for two sets of answers to the same questions, and their difference.

    Parameters
    ----------
    tasks : array-like of str
        Task of each question.
    labels : array-like of str or bool
        True answers.
    predictions, reference : array-like of str or bool
        The two sets of answers: the one evaluated (a trained model) and the one it is compared
        with (its teacher).
    n_resamples : int, optional
        Bootstrap resamples for the intervals (0, the default, skips them): each set's own, as
        `score_table` gives them, and a paired one for the difference
        (`paired_bootstrap_difference`).
    seed : int or `~numpy.random.Generator`, optional
        Seed of the bootstraps.
    confidence : float, optional
        Confidence level of the percentile intervals.

    Returns
    -------
    table : `~astropy.table.QTable`
        One row per task and the ``"Average"`` row, as `score_table`: ``task``, ``n``, then
        ``accuracy`` and ``f1`` of ``predictions``, ``reference_accuracy`` and ``reference_f1``,
        and ``accuracy_difference`` and ``f1_difference`` (``predictions`` minus ``reference``,
        percentage points); with a bootstrap each also has ``_lo`` and ``_hi`` columns.

    Examples
    --------
    >>> tasks, labels = ["cc", "cc", "wd", "wd"], ["YES", "NO", "YES", "NO"]
    >>> table = comparison_table(tasks, labels, ["YES", "NO", "NO", "NO"], labels)
    >>> table["task", "f1", "reference_f1", "f1_difference"]
    <QTable length=3>
      task     f1   reference_f1 f1_difference
              %          %             %
      str7  float64   float64       float64
    ------- ------- ------------ -------------
         cc   100.0        100.0           0.0
         wd     0.0        100.0        -100.0
    Average    50.0        100.0         -50.0
    """
    options = {"n_resamples": n_resamples, "seed": seed, "confidence": confidence}
    ours = score_table(tasks, labels, predictions, **options)
    theirs = score_table(tasks, labels, reference, **options)
    table = ours["task", "n"]
    suffixes = ("", "_lo", "_hi") if n_resamples else ("",)
    for metric in ("accuracy", "f1"):
        for suffix in suffixes:
            table[metric + suffix] = ours[metric + suffix]
        for suffix in suffixes:
            table[f"reference_{metric}{suffix}"] = theirs[metric + suffix]
    for metric in ("accuracy", "f1"):
        table[f"{metric}_difference"] = ours[metric] - theirs[metric]
    if n_resamples:
        distribution = paired_bootstrap_difference(
            tasks, labels, predictions, reference, n_resamples=n_resamples, seed=seed
        )
        _add_intervals(table, distribution, confidence, "{metric}_difference")
    table.meta.update(ours.meta)
    return table
