"""`spec_o3.bench.evaluate` and ``spec-o3 evaluate`` with a fake policy; bad arguments."""

import argparse

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table
from specutils import Spectrum

from spec_o3.agent import BackendError, Policy
from spec_o3.bench import EvaluationResult, Suite, evaluate
from spec_o3.commands import evaluate as evaluate_command


class MedianOracle(Policy):
    """Answers YES when the median flux exceeds 1.5; writes no answer at all for negative flux."""

    name = "oracle"

    def __init__(self):
        self.closed = False

    def respond(self, episodes):
        texts = []
        for episode in episodes:
            level = float(np.median(episode.spectrum.flux.value))
            if level < 0:
                texts.append("I cannot tell.")  # neither a tool call nor an answer: no answer
            else:
                verdict = "YES" if level > 1.5 else "NO"
                answer = f"<answer>\\boxed{{{verdict}}} median\n{level:.1f}</answer>"
                texts.append(f"<think>median {level:.1f}</think>\n{answer}")
        return texts

    def close(self):
        self.closed = True


class Crasher(MedianOracle):
    """Raises on spectra with median flux 7, as a buggy backend might on one odd input."""

    def respond(self, episodes):
        if any(np.median(episode.spectrum.flux.value) == 7 for episode in episodes):
            raise RuntimeError("cannot handle a median of 7")
        return super().respond(episodes)


class Hesitant(MedianOracle):
    """The median oracle, 0.9 sure of a YES and 0.6 of a NO."""

    def respond(self, episodes):
        texts = super().respond(episodes)
        for episode, text in zip(episodes, texts, strict=True):
            episode.state["confidence"] = 0.9 if "{YES}" in text else 0.6
        return texts


class DeadServer(MedianOracle):
    def respond(self, episodes):
        raise BackendError("server http://localhost:9 unreachable")


def _flat(level):
    return Spectrum(
        spectral_axis=np.linspace(3700, 9100, 60) * u.AA, flux=np.full(60, float(level)) * u.Jy
    )


def _suite(task, levels, labels):
    return Suite.from_spectra(
        [_flat(level) for level in levels],
        task,
        labels,
        ids=[f"{task}{i}" for i in range(len(labels))],
    )


# cc: predictions YES YES NO NO vs YES NO YES NO -> TP 1, FP 1, FN 1, TN 1: accuracy 50 %, F1 50 %
# wd: predictions YES (no answer) NO vs YES YES NO -> TP 1, FN 1, TN 1: accuracy 2/3, F1 2/3
CC = ([2, 2, 1, 1], ["YES", "NO", "YES", "NO"])
WD = ([2, -1, 1], ["YES", "YES", "NO"])
# YES, no answer to a YES question (FN), no answer to a NO question (FP), NO, and a spectrum
# without a finite flux, which cannot be vetted: TP 1, FP 1, FN 1, TN 1 over 4 scored questions
MIXED = ([2, -1, -1, 1, np.nan], ["YES", "YES", "NO", "NO", "YES"])


@pytest.fixture
def suite():
    return Suite.concatenate([_suite("cc", *CC), _suite("wd", *WD)])


def test_evaluate_scores_and_lists_failures(suite):
    oracle = MedianOracle()
    result = evaluate(suite, oracle, render_images=False, batch_size=3)
    assert not oracle.closed  # a policy passed in belongs to the caller
    predictions = result.predictions
    assert list(predictions["status"]) == ["answered"] * 5 + ["no_answer", "answered"]
    assert list(predictions["prediction"].filled("-")) == [
        "YES",
        "YES",
        "NO",
        "NO",
        "YES",
        "-",
        "NO",
    ]
    assert list(predictions["correct"]) == [True, False, False, True, True, False, True]
    assert list(result.scores["task"]) == ["carbon_star", "white_dwarf", "Average"]
    assert result.scores["accuracy"].to_value(u.percent) == pytest.approx(
        [50, 200 / 3, (50 + 200 / 3) / 2]
    )
    assert result.macro_f1.to_value(u.percent) == pytest.approx((50 + 200 / 3) / 2)
    assert list(result.errors["id"]) == ["wd1"]
    assert "neither called a tool nor gave an <answer>" in result.errors["error"][0]
    assert result.counts == {"answered": 6, "no_answer": 1, "failed": 0}
    assert result.scores.meta["questions"] == result.counts
    assert predictions["evidence"][0].startswith("median 2.0 ")  # one line
    assert predictions["seconds"].unit == u.s
    assert result.backend == "oracle"


#: The outcome of each question of the ``MIXED`` suite.
MIXED_STATUSES = ["answered", "no_answer", "no_answer", "answered", "failed"]


def test_no_answer_is_wrong_and_a_failure_is_not_scored():
    result = evaluate(_suite("cc", *MIXED), MedianOracle(), render_images=False)
    predictions = result.predictions
    assert list(predictions["status"]) == MIXED_STATUSES
    assert list(predictions["prediction"].filled("-")) == ["YES", "-", "-", "NO", "-"]
    assert list(predictions["correct"].mask) == [False] * 4 + [True]
    assert list(predictions["correct"][:4]) == [True, False, False, True]
    (cc, _) = result.scores
    # the unanswered YES question is a false negative, the unanswered NO one a false positive;
    # the failed question is in no cell
    assert [cc[cell] for cell in ("n", "tp", "fp", "fn", "tn")] == [4, 1, 1, 1, 1]
    assert cc["accuracy"].to_value(u.percent) == cc["f1"].to_value(u.percent) == 50
    assert result.counts == {"answered": 2, "no_answer": 2, "failed": 1}
    assert list(result.errors["id"]) == ["cc1", "cc2", "cc4"]
    assert list(result.errors["status"]) == ["no_answer", "no_answer", "failed"]
    assert result.errors["error"][2] == "the given Spectrum: every flux value is NaN or infinite"
    assert np.isnan(predictions["seconds"][4])


def test_a_crashing_question_is_isolated_and_not_scored():
    suite = _suite("cc", [2, 7, 2], ["YES", "YES", "YES"])
    result = evaluate(suite, Crasher(), render_images=False)
    assert list(result.predictions["status"]) == ["answered", "failed", "answered"]
    assert list(result.predictions["prediction"].filled("-")) == ["YES", "-", "YES"]
    assert list(result.errors["id"]) == ["cc1"]
    assert "RuntimeError: cannot handle a median of 7" in result.errors["error"][0]
    assert result.scores["n"][0] == 2 and result.scores["recall"][0].to_value(u.percent) == 100


def test_unreadable_spectrum_fails_and_nothing_is_left_to_score(tmp_path):
    (tmp_path / "junk.fits").write_bytes(b"junk")
    suite = Suite(Table({"task": ["cc"], "label": ["YES"], "file": [str(tmp_path / "junk.fits")]}))
    with pytest.raises(ValueError, match="nothing to score: every one of the 1 questions failed"):
        evaluate(suite, MedianOracle(), render_images=False)
    both = Suite.concatenate([suite, _suite("cc", [2], ["YES"])])
    result = evaluate(both, MedianOracle(), render_images=False)
    assert list(result.predictions["status"]) == ["failed", "answered"]
    assert result.errors["error"][0].startswith("cannot read spectrum: ")
    assert "junk.fits" in result.errors["error"][0]
    assert result.scores["n"][0] == 1


def test_from_predictions_checks_statuses_and_scores_old_tables_as_given():
    old = Table({"task": ["cc", "cc"], "label": ["YES", "NO"], "prediction": ["NO", "NO"]})
    assert EvaluationResult.from_predictions(old).scores["fn"][0] == 1
    assert EvaluationResult.from_predictions(old).counts == {
        "answered": 2,
        "no_answer": 0,
        "failed": 0,
    }
    old["status"] = ["answered", "maybe"]
    with pytest.raises(ValueError, match="unknown status 'maybe'"):
        EvaluationResult.from_predictions(old)


def test_infrastructure_failure_raises(suite):
    with pytest.raises(BackendError, match="unreachable"):
        evaluate(suite, DeadServer(), render_images=False)


def test_confidence_of_right_and_wrong_verdicts(tmp_path, monkeypatch, capsys):
    # YES (0.9) to a YES question, YES (0.9) to a NO one, NO (0.6) to a NO one, no answer
    suite = _suite("cc", [2, 2, 1, -1], ["YES", "NO", "NO", "YES"])
    result = evaluate(suite, Hesitant(), render_images=False)
    assert list(result.predictions["confidence"].filled(-1)) == [0.9, 0.9, 0.6, -1]
    assert result.mean_confidence == {"right": (pytest.approx(0.75), 2), "wrong": (0.9, 1)}
    saved = Table.read(result.write(tmp_path)["predictions"])
    assert EvaluationResult.from_predictions(saved).mean_confidence == result.mean_confidence
    assert evaluate(suite, MedianOracle(), render_images=False).mean_confidence is None

    monkeypatch.setattr("spec_o3.agent.get_backend", lambda name, **options: Hesitant())
    suite.write(tmp_path / "cc.fits")
    _run(["--suite", str(tmp_path / "cc.fits"), "--output", str(tmp_path / "out")])
    assert (
        "mean confidence: 0.75 of the 2 right verdict(s), 0.90 of the 1 wrong verdict(s)"
        in capsys.readouterr().out
    )


def test_bootstrap_and_outputs_round_trip(suite, tmp_path):
    result = evaluate(suite, MedianOracle(), render_images=False, n_resamples=200, seed=3)
    assert {"f1_lo", "f1_hi", "accuracy_lo", "accuracy_hi"} <= set(result.scores.colnames)
    assert "[" in str(result)
    paths = result.write(tmp_path / "out")
    assert all(path.is_file() for path in paths.values())
    saved = Table.read(paths["predictions"])
    assert list(saved["status"]) == list(result.predictions["status"])
    assert list(saved["prediction"].mask) == list(saved["status"] != "answered")
    again = EvaluationResult.from_predictions(saved, n_resamples=200, seed=3)
    assert u.allclose(again.scores["f1"], result.scores["f1"])
    assert u.allclose(again.scores["f1_lo"], result.scores["f1_lo"])
    assert list(again.errors["id"]) == ["wd1"]
    assert Table.read(paths["scores"]).meta["questions"]["no_answer"] == 1
    with open(paths["figure"], "rb") as figure:
        assert figure.read(8) == b"\x89PNG\r\n\x1a\n"


def test_evaluate_argument_checks(suite):
    with pytest.raises(ValueError, match="batch_size"):
        evaluate(suite, MedianOracle(), batch_size=0)
    with pytest.raises(ValueError, match="no questions"):
        evaluate(suite[[]], MedianOracle())
    with pytest.raises(ValueError, match="unknown backend"):
        evaluate(suite, "telepathy")


# -- the command line
# -------------------------------------------------------------------------------


def _run(argv):
    parser = argparse.ArgumentParser(prog="spec-o3 evaluate")
    evaluate_command.add_arguments(parser)
    try:
        return evaluate_command.run(parser.parse_args(argv))
    except SystemExit as exit:  # argparse's own usage errors
        return exit.code


@pytest.fixture
def suite_files(tmp_path, monkeypatch):
    monkeypatch.setattr("spec_o3.agent.get_backend", lambda name, **options: MedianOracle())
    _suite("cc", *CC).write(tmp_path / "cc.fits")
    _suite("wd", *WD).write(tmp_path / "wd.fits")
    return tmp_path / "cc.fits", tmp_path / "wd.fits"


def test_cli_prints_table_one_and_writes_outputs(suite_files, tmp_path, capsys):
    output = tmp_path / "results"
    status = _run(
        [
            "--suite",
            str(suite_files[0]),
            "--suite",
            str(suite_files[1]),
            "--output",
            str(output),
            "--bootstrap",
            "100",
        ]
    )
    captured = capsys.readouterr()
    assert status == 0
    assert "carbon_star (cc)" in captured.out and "Average" in captured.out
    assert "oracle on 7 questions: 6 answered, 1 without an answer, 0 failed" in captured.out
    assert "macro-F1 58.3 %" in captured.out
    assert "mean confidence" not in captured.out  # the oracle gives none
    assert (
        "1 question(s) gave no answer and are scored as wrong:\n"
        "  white_dwarf wd1: the model neither called a tool"
    ) in captured.out
    assert "failed" not in captured.err
    assert captured.err == ""  # no progress bar off a terminal (tests/test_cli_progress.py)
    assert captured.out.splitlines()[-1].startswith(
        f"wrote scores.ecsv, predictions.ecsv, scores.png to {tmp_path / 'results'}; next:"
    )
    assert sorted(path.name for path in output.iterdir()) == [
        "predictions.ecsv",
        "scores.ecsv",
        "scores.png",
    ]
    scores = Table.read(output / "scores.ecsv")
    assert list(scores["task"]) == ["carbon_star", "white_dwarf", "Average"]


def test_cli_task_and_limit(suite_files, tmp_path, capsys):
    status = _run(
        [
            "--suite",
            str(suite_files[0]),
            "--suite",
            str(suite_files[1]),
            "--task",
            "wd",
            "--limit",
            "2",
            "--output",
            str(tmp_path / "r"),
        ]
    )
    assert status == 0
    predictions = Table.read(tmp_path / "r" / "predictions.ecsv")
    assert len(predictions) == 2 and set(predictions["task"]) == {"white_dwarf"}


def test_cli_exits_with_status_3_when_a_question_fails(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("spec_o3.agent.get_backend", lambda name, **options: MedianOracle())
    _suite("cc", *MIXED).write(tmp_path / "mixed.fits")
    output = tmp_path / "out"
    assert _run(["--suite", str(tmp_path / "mixed.fits"), "--output", str(output)]) == 3
    captured = capsys.readouterr()
    assert "oracle on 5 questions: 2 answered, 2 without an answer, 1 failed" in captured.out
    assert "2 question(s) gave no answer and are scored as wrong:" in captured.out
    assert (
        "1 question(s) failed and are not scored:\n"
        "  carbon_star cc4: the given Spectrum: every flux value is NaN or infinite"
    ) in captured.out
    assert "1 question(s) failed and are not scored (exit status 3)" in captured.err
    predictions = Table.read(output / "predictions.ecsv")
    assert list(predictions["status"]) == MIXED_STATUSES
    assert Table.read(output / "scores.ecsv")["n"][0] == 4

    # a task whose every question fails has no score; a suite of them, nothing to score
    _suite("wd", [np.nan], ["YES"]).write(tmp_path / "broken.fits")
    argv = ["--suite", str(tmp_path / "mixed.fits"), "--suite", str(tmp_path / "broken.fits")]
    assert _run([*argv, "--output", str(output)]) == 3
    note = "note: every white_dwarf question failed, so white_dwarf has no score"
    assert note in capsys.readouterr().out
    assert list(Table.read(output / "scores.ecsv")["task"]) == ["carbon_star", "Average"]
    assert _run(["--suite", str(tmp_path / "broken.fits"), "--output", str(output)]) == 3
    error = capsys.readouterr().err
    assert "nothing to score: every one of the 1 questions failed (the first: the given" in error


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--task", "quasar"], "unknown task 'quasar'"),
        (["--suite", "{tmp}/missing"], "does not exist"),
        (["--output", "{cc}/inside-a-file"], "cannot write to output directory"),
        (["--limit", "0"], "--limit: invalid positive integer value: '0'"),
        (["--bootstrap", "-1"], "--bootstrap: invalid non-negative integer value"),
    ],
)
def test_cli_usage_errors_exit_with_status_2(suite_files, tmp_path, capsys, extra, message):
    extra = [arg.format(tmp=tmp_path, cc=suite_files[0]) for arg in extra]
    argv = ["--suite", str(suite_files[0]), "--output", str(tmp_path / "out")] + extra
    assert _run(argv) == 2
    assert message in capsys.readouterr().err


def test_cli_unknown_backend_and_dead_server(tmp_path, capsys, monkeypatch):
    _suite("cc", *CC).write(tmp_path / "cc.fits")
    argv = ["--suite", str(tmp_path / "cc.fits"), "--output", str(tmp_path / "out")]
    assert _run(argv + ["--backend", "telepathy"]) == 2
    assert "unknown backend 'telepathy'" in capsys.readouterr().err
    monkeypatch.setattr("spec_o3.agent.get_backend", lambda name, **options: DeadServer())
    assert _run(argv + ["--backend", "openai", "--base-url", "http://localhost:9"]) == 1
    assert "unreachable" in capsys.readouterr().err


def test_unknown_redshift_defers_to_the_spectrum():
    seen = []

    class Recorder(MedianOracle):
        def respond(self, episodes):
            seen.extend(episode.redshift for episode in episodes)
            return super().respond(episodes)

    spectrum = _flat(2)
    spectrum.meta["redshift"] = 0.25
    suite = Suite(
        Table(
            {
                "task": ["cc", "cc"],
                "label": ["YES", "NO"],
                "redshift": [np.nan, 0.1],
                "spectrum": np.array([spectrum, spectrum], dtype=object),
            }
        )
    )
    evaluate(suite, Recorder(), render_images=False)
    assert seen == [0.25, 0.1]
    assert np.isnan(
        Suite(Table({"task": ["cc"], "label": ["NO"], "file": ["x.fits"]})).table["redshift"][0]
    )


# -- end to end with the scripted expert ---------------------------------------------------------


def test_expert_on_real_lamost_spectra(real_data, tmp_path):
    """A label table pointing at real LAMOST files: read lazily, vetted by the expert, scored."""
    manifest = Table.read(real_data / "manifest.csv")
    rows = [row for row in manifest if row["file"].startswith("lamost_lrs_dr1")][:4]
    labels = Table(
        {
            "file": [str(real_data / row["file"]) for row in rows],
            "task": ["cc", "cc", "gm", "gm"],
            "label": ["NO"] * 4,  # F/G/K/A stars: neither carbon stars nor M giants
            "class": [row["label"] for row in rows],
        }
    )
    (tmp_path / "real").mkdir()
    labels.write(tmp_path / "real" / "labels.ecsv")
    result = evaluate(Suite.read(tmp_path / "real"), "expert", render_images=False)
    assert len(result.errors) == 0
    assert set(result.predictions["prediction"]) <= {"YES", "NO"}
    assert all(len(text) > 20 for text in result.predictions["evidence"])
    assert list(result.scores["task"]) == ["carbon_star", "m_giant", "Average"]


def test_simulate_then_evaluate_with_the_expert(tmp_path, capsys):
    """The documented workflow: ``spec-o3 simulate`` per task, then ``spec-o3 evaluate`` on all."""
    from spec_o3.cli import main

    for task in ("cc", "wd"):
        argv = [
            "simulate",
            "--task",
            task,
            "--n",
            "4",
            "--out",
            str(tmp_path / task),
            "--seed",
            "3",
        ]
        assert main(argv) == 0
    output = tmp_path / "results"
    argv = ["evaluate", "--suite", str(tmp_path / "cc"), "--suite", str(tmp_path / "wd")]
    assert main(argv + ["--bootstrap", "50", "--output", str(output)]) == 0
    assert "white_dwarf (wd)" in capsys.readouterr().out
    predictions = Table.read(output / "predictions.ecsv")
    assert len(predictions) == 8
    assert set(predictions["task"]) == {"carbon_star", "white_dwarf"}
    assert {"class", "snr", "prediction", "error"} <= set(predictions.colnames)
    assert not np.ma.filled(predictions["error"], "").any()


def test_spec_o3_main_dispatches_usage_errors(tmp_path, capsys):
    from spec_o3.cli import main

    assert main(["evaluate", "--suite", str(tmp_path / "missing")]) == 2
    assert "spec-o3 evaluate: error:" in capsys.readouterr().err
