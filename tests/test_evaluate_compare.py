"""A backend beside another on the same questions: paired difference, table, ``--compare``."""

import numpy as np
import pytest
from astropy.table import QTable, Table

from spec_o3.bench import (
    EvaluationResult,
    comparison_table,
    format_comparison,
    macro_f1,
    paired_bootstrap_difference,
    score_table,
)
from spec_o3.cli import main


def _answers(seed, n=90):
    """Three tasks of ``n`` questions each; a model right 70 % of the time, a teacher 90 %."""
    rng = np.random.default_rng(seed)
    tasks = np.repeat(["cc", "wd", "gm"], n)
    truth = rng.random(tasks.size) < 0.4
    model = np.where(rng.random(tasks.size) < 0.7, truth, ~truth)
    teacher = np.where(rng.random(tasks.size) < 0.9, truth, ~truth)
    return tasks, truth, model, teacher


def test_paired_bootstrap_is_the_bootstrap_of_resampled_rows():
    tasks, truth, model, teacher = _answers(0)
    drawn = paired_bootstrap_difference(tasks, truth, model, teacher, n_resamples=4000, seed=1)[
        "Average"
    ]["f1"]
    # the slow definition: resample the questions of each task, score both on the same rows
    rng = np.random.default_rng(2)
    by_task = [np.flatnonzero(tasks == task) for task in ("cc", "wd", "gm")]
    resampled = []
    for _ in range(4000):
        rows = np.concatenate([rng.choice(rows, rows.size) for rows in by_task])
        resampled.append(
            macro_f1(tasks[rows], truth[rows], model[rows])
            - macro_f1(tasks[rows], truth[rows], teacher[rows])
        )
    assert np.mean(drawn) == pytest.approx(np.mean(resampled), abs=0.005)
    assert np.std(drawn) == pytest.approx(np.std(resampled), rel=0.08)
    assert np.quantile(drawn, [0.025, 0.975]) == pytest.approx(
        np.quantile(resampled, [0.025, 0.975]), abs=0.015
    )


def test_pairing_narrows_the_interval_of_a_difference():
    """Two answer sets that mostly agree: their difference is far surer than either score."""
    tasks, truth, model, _ = _answers(3)
    flipped = model.copy()
    flipped[::30] = ~flipped[::30]  # disagree on one question in 30
    table = comparison_table(tasks, truth, model, flipped, n_resamples=2000, seed=0)
    average = table[-1]
    own = average["f1_hi"] - average["f1_lo"]
    paired = average["f1_difference_hi"] - average["f1_difference_lo"]
    assert paired < own / 2


def test_identical_answers_differ_by_nothing():
    tasks, truth, model, _ = _answers(4)
    distribution = paired_bootstrap_difference(tasks, truth, model, model, n_resamples=200)
    for task in ("cc", "wd", "gm", "Average"):
        assert not distribution[task]["f1"].any() and not distribution[task]["accuracy"].any()


def test_comparison_table_holds_both_score_tables_and_their_difference():
    tasks, truth, model, teacher = _answers(5)
    table = comparison_table(tasks, truth, model, teacher, n_resamples=300, seed=7)
    ours = score_table(tasks, truth, model, n_resamples=300, seed=7)
    theirs = score_table(tasks, truth, teacher, n_resamples=300, seed=7)
    assert list(table["task"]) == ["cc", "wd", "gm", "Average"]
    for metric in ("accuracy", "f1", "f1_lo", "f1_hi"):
        assert np.all(table[metric] == ours[metric])
        assert np.all(table[f"reference_{metric}"] == theirs[metric])
    assert np.allclose(table["f1_difference"], ours["f1"] - theirs["f1"])
    assert table["f1_difference"][-1].value == pytest.approx(
        100 * (macro_f1(tasks, truth, model) - macro_f1(tasks, truth, teacher))
    )
    low, high = table["f1_difference_lo"][-1], table["f1_difference_hi"][-1]
    assert low < table["f1_difference"][-1] < high < 0  # the teacher is surely better here


def _predictions(predictions, status=None):
    columns = {"id": ["a", "b", "c", "d"], "task": ["cc"] * 4, "label": ["YES", "NO", "YES", "NO"]}
    columns["prediction"] = predictions
    if status is not None:
        columns["status"] = status
    return Table(columns)


def test_compare_scores_only_the_questions_scored_for_both():
    model = EvaluationResult.from_predictions(
        _predictions(["YES", "YES", "", "NO"], ["answered", "answered", "failed", "answered"]),
        backend="transformers",
    )
    teacher = EvaluationResult.from_predictions(
        _predictions(["YES", "NO", "NO", ""], ["answered", "answered", "answered", "no_answer"]),
        backend="expert",
    )
    table = model.compare(teacher)
    # question c failed for the model: left out of both columns; d had no answer: wrong
    assert table.meta["backend"] == "transformers" and table.meta["reference"] == "expert"
    assert list(table["n"]) == [3, 3]
    assert table["accuracy"][-1].value == pytest.approx(200 / 3)  # a right, b wrong, d right
    assert table["reference_accuracy"][-1].value == pytest.approx(200 / 3)  # d wrong now
    text = format_comparison(table)
    assert text.splitlines()[0].split() == ["transformers", "expert", "difference"]

    other = EvaluationResult.from_predictions(_predictions(["YES"] * 4)[::-1])
    with pytest.raises(ValueError, match="did not answer the same questions"):
        model.compare(other)


def test_cli_compares_a_tiny_model_with_its_teacher(tiny_model, tmp_path, capsys):
    """``--compare expert``: the evaluated model's Table 1 beside the expert's, the outputs of
    both, and the macro-F1 gap with its paired interval."""
    suite, output = tmp_path / "suite", tmp_path / "evaluation"
    assert main(["simulate", "--task", "cc", "--n", "4", "--seed", "5", "--out", str(suite)]) == 0
    argv = [
        "evaluate",
        "--suite",
        str(suite),
        "--backend",
        "transformers",
        "--model",
        str(tiny_model()),
        "--device",
        "cpu",
        "--max-new-tokens",
        "8",
        "--compare",
        "expert",
        "--bootstrap",
        "200",
        "--output",
        str(output),
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "transformers beside expert on the same 4 scored questions:" in printed

    ours = QTable.read(output / "scores.ecsv")
    theirs = QTable.read(output / "compare-expert" / "scores.ecsv")
    comparison = QTable.read(output / "comparison.ecsv")
    assert theirs.meta["backend"] == "expert" and ours.meta["backend"] == "transformers"
    assert np.all(comparison["f1"] == ours["f1"])
    assert np.all(comparison["reference_f1"] == theirs["f1"])
    gap = comparison["f1_difference"][-1].value
    assert gap == pytest.approx(ours["f1"][-1].value - theirs["f1"][-1].value)
    low, high = comparison["f1_difference_lo"][-1].value, comparison["f1_difference_hi"][-1].value
    assert (
        f"macro-F1 {ours['f1'][-1].value:.1f} % against expert's {theirs['f1'][-1].value:.1f} %: "
        f"{gap:+.1f} [{low:+.1f}, {high:+.1f}] points" in printed
    )
