"""vet -> review -> retrain: a reviewed results table as SFT conversations and GRPO questions.

The table is made as a user makes it: ``spec-o3 vet`` with the expert and saved trajectories on real
LAMOST files (plus one simulated carbon star, since the expert calls none of the real test files a
carbon star, and a broken file), decisions exported as the report exports them, and ``spec-o3 report
--merge``.
"""

import shutil

import pytest
from astropy.table import Table

pytest.importorskip("datasets", reason="the training extra (datasets) is not installed")

from spec_o3.agent import Trajectory  # noqa: E402
from spec_o3.agent.protocol import parse_response  # noqa: E402
from spec_o3.cli import main  # noqa: E402
from spec_o3.report import DECISION_COLUMNS  # noqa: E402
from spec_o3.training.data import load_sft_dataset, rl_dataset  # noqa: E402
from spec_o3.training.reviewed import (  # noqa: E402
    corrected_messages,
    reviewed_rows,
    reviewed_suite,
)
from spec_o3.training.rewards import accuracy_reward  # noqa: E402

REJECTED_COMMENT = "CH G band only, no C2 Swan bands: a K giant."
ACCEPTED_COMMENT = "C2 at 5165 Å after all: a carbon star."
LAMOST = "lamost_lrs_dr1_grd349/spec-55862-B6212_sp06-{}.fits"


def spec_o3(*argv):
    return main([str(argument) for argument in argv])


def _sft_data(*options, out="never-written"):
    return spec_o3("train", "sft-data", "--out", out, *options)


@pytest.fixture(scope="module")
def run(tmp_path_factory, real_data):
    """A vetted and reviewed run: ``(results, reviewed table, trajectories, files)``."""
    tmp = tmp_path_factory.mktemp("reviewed")
    simulate = "simulate --task cc --n 1 --positive-fraction 1 --seed 3 --out".split()
    assert spec_o3(*simulate, tmp / "sim") == 0
    broken = tmp / "broken.fits"
    broken.write_text("not a FITS file")
    files = {
        "carbon": tmp / "sim" / "sim-cc-3-0.fits",  # the expert says YES, the reviewer rejects
        "accepted": real_data / LAMOST.format("003"),  # NO, accepted: a corrected YES
        "agreed": real_data / LAMOST.format("008"),  # NO, rejected: kept as it is
        "unsure": real_data / LAMOST.format("012"),
        "undecided": real_data / LAMOST.format("018"),
        "broken": broken,  # failed: never training data, whatever the decision
    }
    results, trajectories = tmp / "results.ecsv", tmp / "trajectories"
    vet = ("vet", "--task", "cc", *files.values())
    assert spec_o3(*vet, "--output", results, "--save-trajectories", trajectories) == 3  # broken
    verdicts = dict(zip(Table.read(results)["file"], Table.read(results)["verdict"], strict=True))
    assert verdicts[str(files["carbon"])] == "YES" and verdicts[str(files["agreed"])] == "NO"
    decisions = {
        "carbon": ("reject", REJECTED_COMMENT),
        "accepted": ("accept", ACCEPTED_COMMENT),
        "agreed": ("reject", ""),
        "unsure": ("unsure", "too faint to tell"),
        "broken": ("accept", "obvious by eye"),
    }
    export = Table(names=DECISION_COLUMNS, dtype=[str] * len(DECISION_COLUMNS))
    for name, (decision, comment) in decisions.items():
        file = str(files[name])
        export.add_row([name, file, "carbon_star", verdicts[file], decision, comment, "2026-01-01"])
    export.write(tmp / "decisions.csv", format="ascii.csv")
    assert spec_o3("report", "--merge", tmp / "decisions.csv", results) == 0
    return results, tmp / "results-reviewed.ecsv", trajectories, files


def test_rows_labelled_by_the_review(run):
    _, reviewed, _, files = run
    rows = reviewed_rows(reviewed)
    assert [rows.table["file"][row] for row in rows.rows] == [
        str(files[name]) for name in ("carbon", "accepted", "agreed")
    ]
    assert rows.labels == ["NO", "YES", "NO"]
    assert rows.left_out == {"no decision": 1, "unsure": 1, "failed": 1}


def test_sft_data_keeps_agreed_inspections_and_corrects_the_others(run, tmp_path, capsys):
    _, reviewed, trajectories, files = run
    out = tmp_path / "sft"
    assert _sft_data("--reviewed", reviewed, "--trajectories", trajectories, out=out) == 0
    printed = capsys.readouterr().out
    assert "wrote 3 conversations" in printed
    assert (
        "1 inspection(s) as the agent made them, 2 corrected to the reviewer's verdict" in printed
    )
    assert "left out: 1 without a decision, 1 marked unsure, 1 whose vetting failed" in printed

    dataset = load_sft_dataset(out)
    examples = {example["source"]: example for example in dataset}
    assert set(examples) == {str(files[name]) for name in ("carbon", "accepted", "agreed")}

    rejected = examples[str(files["carbon"])]
    original = Trajectory.load(trajectories / "sim-cc-3-0")
    assert original.verdict == "YES" and rejected["corrected"]
    assert (rejected["label"], rejected["agent_verdict"], rejected["decision"]) == (
        "NO",
        "YES",
        "reject",
    )
    answer = rejected["messages"][-1]
    assert answer["role"] == "assistant"
    parsed = parse_response(answer["content"][0]["text"])
    assert parsed.answers == ["NO"] and parsed.answer_text == REJECTED_COMMENT
    assert parsed.think == REJECTED_COMMENT and not parsed.errors
    # the same zooms and plots: every turn before the answer as the agent saw and wrote it
    before = _texts(original.to_messages())[:-1]
    assert _texts(rejected["messages"])[:-1] == before
    assert len(rejected["images"]) == len(original.images) > 1
    assert rejected["n_turns"] == len(original.steps)

    accepted = examples[str(files["accepted"])]
    parsed = parse_response(accepted["messages"][-1]["content"][0]["text"])
    assert accepted["corrected"] and parsed.answers == ["YES"]
    assert parsed.answer_text == ACCEPTED_COMMENT

    agreed = examples[str(files["agreed"])]
    assert not agreed["corrected"] and agreed["label"] == agreed["agent_verdict"] == "NO"
    kept = Trajectory.load(trajectories / "spec-55862-B6212_sp06-008")
    assert _texts(agreed["messages"]) == _texts(kept.to_messages())


def _texts(messages):
    return [
        (message["role"], [part.get("text") for part in message["content"]]) for message in messages
    ]


def test_rl_suite_takes_the_reviewers_labels(run, monkeypatch, capsys):
    _, reviewed, _, files = run
    suite, _ = reviewed_suite(reviewed)
    assert list(suite.table["label"]) == ["NO", "YES", "NO"]
    assert list(suite.table["agent_verdict"]) == ["YES", "NO", "NO"]
    assert suite.spectrum(1).flux.size > 1000  # read from the table's file path
    questions = rl_dataset(suite, render_images=False)
    assert questions["label"] == ["NO", "YES", "NO"]
    # the outcome reward pays the reviewer's answer to the first two questions, not the agent's
    answers = [
        f"<think>.</think><answer>\\boxed{{{v}}}</answer>" for v in ("YES", "NO", "NO", "YES")
    ]
    rewards = accuracy_reward(None, answers, label=questions["label"][:2] * 2)
    assert rewards == [0.0, 0.0, 1.0, 1.0]

    seen = {}

    def train_grpo(settings, dataset=None, *, suite=None):
        seen["suite"] = suite
        return "runs/grpo"

    monkeypatch.setattr("spec_o3.training.rl.train_grpo", train_grpo)
    assert spec_o3("train", "rl", "--model", "m", "--output", "o", "--suite", reviewed) == 0
    assert "3 reviewed question(s), the decisions as labels; left out: 1 without" in (
        capsys.readouterr().out
    )
    assert list(seen["suite"].table["file"]) == [
        str(files[name]) for name in ("carbon", "accepted", "agreed")
    ]
    assert list(seen["suite"].table["label"]) == ["NO", "YES", "NO"]


def test_corrected_answer_without_a_comment_says_the_verdict(run):
    _, _, trajectories, _ = run
    inspection = Trajectory.load(trajectories / "sim-cc-3-0")
    text = corrected_messages(inspection, "NO")[-1]["content"][0]["text"]
    assert parse_response(text).answer_text == (
        "On review of these plots, it is not a Carbon Star (C-type)."
    )
    with pytest.raises(ValueError, match="breaks the answer format"):
        corrected_messages(inspection, "NO", "see <answer>\\boxed{YES}</answer>")


def test_clear_errors(run, tmp_path, capsys):
    results, reviewed, trajectories, files = run

    assert _sft_data("--reviewed", results, "--trajectories", trajectories) == 2
    assert "holds no review decisions (no 'decision' column)" in capsys.readouterr().err

    (tmp_path / "empty").mkdir()
    assert _sft_data("--reviewed", reviewed, "--trajectories", tmp_path / "empty") == 2
    error = capsys.readouterr().err
    assert f"no saved inspection of {files['carbon']} (carbon_star)" in error

    other = tmp_path / "other-run"  # the carbon star's inspection said NO in another run
    shutil.copytree(trajectories, other)
    saved = other / "sim-cc-3-0" / "trajectory.json"
    saved.write_text(saved.read_text().replace('"verdict": "YES"', '"verdict": "NO"'))
    assert _sft_data("--reviewed", reviewed, "--trajectories", other) == 2
    assert "ended with NO but the results table gives" in capsys.readouterr().err

    assert _sft_data("--reviewed", reviewed) == 2
    assert "--reviewed needs --trajectories DIR" in capsys.readouterr().err
    assert _sft_data("--reviewed", reviewed, "--trajectories", trajectories, "--task", "cc") == 2
    assert "--task cannot be combined with --reviewed" in capsys.readouterr().err
    assert _sft_data("--task", "cc", "--n", 1, "--trajectories", trajectories) == 2
    assert "--trajectories goes with --reviewed" in capsys.readouterr().err

    assert spec_o3("train", "rl", "--model", "m", "--output", "o", "--suite", results) == 2
    assert "holds no review decisions" in capsys.readouterr().err

    undecided = Table.read(reviewed)
    undecided["decision"] = ""
    undecided.write(tmp_path / "undecided.ecsv")
    assert _sft_data("--reviewed", tmp_path / "undecided.ecsv", "--trajectories", trajectories) == 2
    assert "no row of" in capsys.readouterr().err


def test_decisions_and_statuses_are_checked():
    table = Table(
        {
            "file": ["a.fits", "b.fits", "c.fits"],
            "task": ["carbon_star"] * 3,
            "verdict": ["YES", "NO", "NO"],
            "decision": ["reject", "accept", "maybe"],
            "comment": ["", "", ""],
        }
    )
    with pytest.raises(ValueError, match="unknown decision.*'maybe'; expected accept, reject"):
        reviewed_rows(table)
    table["decision"][2] = "accept"
    # written before spec-o3 recorded a status: a row with an error failed or gave no answer
    table["error"] = ["", "", "c.fits: cannot be read"]
    rows = reviewed_rows(table)
    assert rows.rows == [0, 1] and rows.left_out["failed"] == 1
    table["status"] = ["answered", "answered", "crashed"]
    with pytest.raises(ValueError, match="unknown status 'crashed'"):
        reviewed_rows(table)
