"""Metric arithmetic against hand-computed cases, degenerate cases, and the bootstrap."""

import astropy.units as u
import numpy as np
import pytest

from spec_o3.bench import (
    binary_scores,
    bootstrap_distribution,
    confusion_matrix,
    macro_f1,
    score_table,
)

# 8 questions: TP=2, FN=1, FP=1, TN=4
LABELS = ["YES", "YES", "YES", "NO", "NO", "NO", "NO", "NO"]
PREDICTIONS = ["YES", "YES", "NO", "YES", "NO", "NO", "NO", "NO"]


def test_confusion_matrix_layout():
    assert confusion_matrix(LABELS, PREDICTIONS).tolist() == [[2, 1], [1, 4]]


def test_binary_scores_by_hand():
    scores = binary_scores(LABELS, PREDICTIONS)
    assert (scores["n"], scores["tp"], scores["fp"], scores["fn"], scores["tn"]) == (8, 2, 1, 1, 4)
    assert scores["accuracy"] == pytest.approx(6 / 8)
    assert scores["precision"] == pytest.approx(2 / 3)
    assert scores["recall"] == pytest.approx(2 / 3)
    assert scores["f1"] == pytest.approx(2 / 3)


def test_binary_scores_asymmetric_precision_recall():
    # TP=1, FP=3, FN=0, TN=1: precision 1/4, recall 1, F1 = 2*1/(2+3+0) = 0.4
    scores = binary_scores(["YES", "NO", "NO", "NO", "NO"], ["YES", "YES", "YES", "YES", "NO"])
    assert scores["precision"] == pytest.approx(0.25)
    assert scores["recall"] == pytest.approx(1.0)
    assert scores["f1"] == pytest.approx(0.4)
    assert scores["f1"] == pytest.approx(
        2 * 0.25 * 1 / (0.25 + 1)
    )  # the harmonic mean, where defined


@pytest.mark.parametrize(
    ("labels", "predictions", "expected"),
    [
        # nothing predicted YES: precision 0 by convention, recall 0, F1 0
        (
            ["YES", "YES", "NO"],
            ["NO", "NO", "NO"],
            {"accuracy": 1 / 3, "precision": 0, "recall": 0, "f1": 0},
        ),
        # no YES anywhere: all correct, yet precision, recall and F1 are 0
        (["NO", "NO"], ["NO", "NO"], {"accuracy": 1, "precision": 0, "recall": 0, "f1": 0}),
        # no YES answer but YES predicted: recall 0 by convention
        (["NO", "NO"], ["YES", "NO"], {"accuracy": 0.5, "precision": 0, "recall": 0, "f1": 0}),
        # everything YES and right
        (["YES"], ["YES"], {"accuracy": 1, "precision": 1, "recall": 1, "f1": 1}),
    ],
)
def test_degenerate_cases_follow_the_zero_convention_without_warnings(
    labels, predictions, expected
):
    scores = binary_scores(labels, predictions)  # filterwarnings=error: any division warning fails
    assert {name: scores[name] for name in expected} == pytest.approx(expected)


def test_answers_may_be_booleans_or_any_case():
    assert binary_scores([True, False], [" yes", "No"]) == binary_scores(
        ["YES", "NO"], ["YES", "NO"]
    )


@pytest.mark.parametrize(
    ("labels", "predictions", "message"),
    [
        (["YES"], ["MAYBE"], "predictions must be 'YES' or 'NO'"),
        (["YES", "NO"], ["YES"], "equal length"),
        ([], [], "empty"),
        ([1, 0], [1, 0], "strings or booleans"),
    ],
)
def test_bad_answers_are_rejected(labels, predictions, message):
    with pytest.raises(ValueError, match=message):
        binary_scores(labels, predictions)


def test_macro_f1_is_the_unweighted_mean_of_task_f1():
    tasks = ["cc"] * 8 + ["wd"] * 2 + ["gm"] * 3
    labels = LABELS + ["YES", "NO"] + ["YES", "NO", "NO"]
    predictions = PREDICTIONS + ["NO", "NO"] + ["YES", "YES", "NO"]
    # cc: 2/3; wd: 0; gm: TP=1, FP=1, FN=0 -> 2/3
    assert macro_f1(tasks, labels, predictions) == pytest.approx((2 / 3 + 0 + 2 / 3) / 3)


def test_score_table_rows_columns_and_average():
    tasks = ["cc"] * 8 + ["wd"] * 2
    scores = score_table(tasks, LABELS + ["YES", "NO"], PREDICTIONS + ["YES", "YES"])
    assert list(scores["task"]) == ["cc", "wd", "Average"]
    assert scores["accuracy"].unit == u.percent
    assert list(scores["n"]) == [8, 2, 10]
    assert list(scores["n_yes"]) == [3, 1, 4]
    assert list(scores["tp"]) == [2, 1, 3]
    assert list(scores["fp"]) == [1, 1, 2]
    # wd: TP=1, FP=1, TN=0: accuracy 50 %, F1 = 2/3
    assert scores["accuracy"][1].to_value(u.percent) == pytest.approx(50)
    assert scores["f1"][1].to_value(u.percent) == pytest.approx(200 / 3)
    for metric in ("accuracy", "precision", "recall", "f1"):
        assert scores[metric][-1].value == pytest.approx(scores[metric][:-1].value.mean())
    assert "f1_lo" not in scores.colnames
    assert scores.meta["n_resamples"] == 0


def test_bootstrap_is_seeded():
    rng = np.random.default_rng(3)
    tasks = rng.choice(["cc", "wd", "gm"], 300)
    labels = rng.choice(["YES", "NO"], 300)
    predictions = np.where(rng.random(300) < 0.8, labels, rng.choice(["YES", "NO"], 300))
    first = score_table(tasks, labels, predictions, n_resamples=500, seed=7)
    again = score_table(tasks, labels, predictions, n_resamples=500, seed=7)
    other = score_table(tasks, labels, predictions, n_resamples=500, seed=8)
    for name in ("accuracy_lo", "accuracy_hi", "f1_lo", "f1_hi"):
        assert np.array_equal(first[name], again[name])
    assert not np.array_equal(first["f1_lo"], other["f1_lo"])
    assert np.all(first["f1_lo"] <= first["f1_hi"])
    assert first.meta["seed"] == 7


def test_bootstrap_shortcut_matches_resampling_rows():
    """Multinomial counts per task are the same distribution as resampling the task's rows."""
    rng = np.random.default_rng(11)
    labels = rng.choice(["YES", "NO"], 120)
    predictions = np.where(rng.random(120) < 0.75, labels, rng.choice(["YES", "NO"], 120))
    tasks = ["cc"] * 120
    shortcut = bootstrap_distribution(tasks, labels, predictions, n_resamples=4000, seed=0)["cc"][
        "f1"
    ]
    rows = rng.integers(0, 120, size=(4000, 120))
    explicit = np.array([binary_scores(labels[r], predictions[r])["f1"] for r in rows[:1000]])
    assert shortcut.mean() == pytest.approx(explicit.mean(), abs=0.01)
    assert shortcut.std() == pytest.approx(explicit.std(), rel=0.15)


def test_bootstrap_resamples_within_tasks():
    # a task answered perfectly keeps a perfect score in every resample; the average then varies
    # only
    # through the other task
    tasks = ["cc"] * 20 + ["wd"] * 20
    labels = ["YES", "NO"] * 20
    predictions = labels[:20] + ["YES"] * 20
    dist = bootstrap_distribution(tasks, labels, predictions, n_resamples=300, seed=2)
    assert np.all(dist["cc"]["accuracy"] == 1) and np.all(dist["cc"]["f1"] == 1)
    assert np.allclose(dist["Average"]["accuracy"], (1 + dist["wd"]["accuracy"]) / 2)


def test_bootstrap_interval_coverage_is_close_to_nominal():
    """Over many simulated benchmarks, the 90 % interval holds the true accuracy ~90 % of times."""
    rng = np.random.default_rng(5)
    true_accuracy, n, trials = 0.8, 150, 300
    covered = 0
    for trial in range(trials):
        labels = rng.choice(["YES", "NO"], n)
        flip = {"YES": "NO", "NO": "YES"}
        predictions = np.where(
            rng.random(n) < true_accuracy, labels, [flip[label] for label in labels]
        )
        dist = bootstrap_distribution(["cc"] * n, labels, predictions, n_resamples=400, seed=trial)
        low, high = np.quantile(dist["cc"]["accuracy"], [0.05, 0.95])
        covered += low <= true_accuracy <= high
    assert 0.84 <= covered / trials <= 0.96


def test_bootstrap_arguments_are_checked():
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap_distribution(["cc"], ["YES"], ["YES"], n_resamples=0)
    with pytest.raises(ValueError, match="confidence"):
        score_table(["cc"], ["YES"], ["YES"], n_resamples=10, confidence=95)
