"""Training data: expert SFT conversations in the agent's protocol, ShareGPT files, RL questions."""

import json

import numpy as np
import pytest

pytest.importorskip("datasets", reason="the training extra (datasets) is not installed")

from PIL import Image  # noqa: E402

from spec_o3.agent.protocol import SYSTEM_PROMPT  # noqa: E402
from spec_o3.bench import Suite  # noqa: E402
from spec_o3.tasks import task_confusers  # noqa: E402
from spec_o3.training.data import (  # noqa: E402
    MeasuringExpert,
    load_sft_dataset,
    load_sharegpt,
    rl_dataset,
    sft_dataset,
    simulated_suite,
    to_sft_example,
)


@pytest.fixture(scope="module")
def suite():
    return simulated_suite("gm", 4, seed=5)


@pytest.fixture(scope="module")
def dataset(suite):
    return sft_dataset(suite, only_correct=False)


def placeholders(messages):
    return sum(part["type"] == "image" for message in messages for part in message["content"])


def test_simulated_suite_is_deterministic_and_labelled(suite):
    again = simulated_suite("m_giant", 4, seed=5)
    assert list(again.table["id"]) == list(suite.table["id"])
    assert list(again.table["label"]) == list(suite.table["label"])
    assert np.array_equal(again.spectrum(0).flux, suite.spectrum(0).flux)
    assert set(suite.table["task"]) == {"m_giant"}


@pytest.mark.parametrize(
    ("task", "n", "match"), [("zz", 3, "unknown task"), ("gm", 0, "positive number")]
)
def test_simulated_suite_refuses_bad_arguments(task, n, match):
    with pytest.raises(ValueError, match=match):
        simulated_suite(task, n)


def test_simulated_suite_draws_negatives_from_the_given_classes():
    confusers = task_confusers("cc")
    suite = simulated_suite("cc", 40, seed=2, negatives=confusers)
    pairs = list(zip(suite.table["class"], suite.table["label"], strict=True))
    labels = [str(label) for _, label in pairs]
    assert {str(kind) for kind, label in pairs if label == "NO"} <= set(confusers)
    assert {str(kind) for kind, label in pairs if label == "YES"} == {"carbon_star"}
    assert 10 < labels.count("YES") < 30  # about half


@pytest.mark.parametrize("negatives", [["carbon_star"], ["no_such_class"], []])
def test_simulated_suite_refuses_bad_negatives(negatives):
    with pytest.raises(ValueError, match="negatives must name non-positive simulator classes"):
        simulated_suite("cc", 4, negatives=negatives)


def test_measuring_expert_reads_the_band_then_answers():
    suite = simulated_suite("cc", 6, seed=4, negatives=task_confusers("cc"))
    data = sft_dataset(
        suite, MeasuringExpert(["C2_5165", "C2_4737"]), toolset="extended", render_images=False
    )
    assert len(data) >= 5  # the expert is right on (nearly) all of them
    for example in data:
        texts = [m["content"][-1]["text"] for m in example["messages"]]
        assert "band_strength" in texts[0]  # the tool block of the extended toolset
        assert example["n_turns"] == 3
        assert '"arguments": {"band": "C2_5165"}' in texts[2]
        assert '"arguments": {"band": "C2_4737"}' in texts[4]
        depths = [text.split("depth ")[1].split(" ")[0] for text in (texts[3], texts[5])]
        final = texts[6]  # quotes both measured depths, then the expert's verdict
        assert f"C2_5165 depth {depths[0].rstrip('.')}" in final
        assert f"C2_4737 depth {depths[1].rstrip('.')}" in final
        assert f"\\boxed{{{example['verdict']}}}" in final
    with pytest.raises(ValueError):
        MeasuringExpert(["C2_9999"])
    with pytest.raises(ValueError, match="at least one band"):
        MeasuringExpert([])


def test_sft_conversations_are_the_trajectories_with_aligned_images(dataset, suite):
    assert len(dataset) == len(suite)
    for example in dataset:
        messages = example["messages"]
        assert placeholders(messages) == len(example["images"]) == example["n_turns"]
        assert messages[0]["role"] == "system" and "# Tools" in messages[0]["content"][0]["text"]
        assert messages[1]["content"][0] == {"type": "image", "text": None}
        assert [m["role"] for m in messages[2:]] == ["assistant", "user"] * (
            example["n_turns"] - 1
        ) + ["assistant"]
        for observation in messages[3::2]:  # tool observations are user <tool_response> turns
            parts = observation["content"]
            assert parts[0]["text"] == "<tool_response>\n" and parts[1]["type"] == "image"
            assert parts[2]["text"].endswith("\n</tool_response>")
        assert "\\boxed{" in messages[-1]["content"][0]["text"]
        assert all(isinstance(image, Image.Image) for image in example["images"])


def test_only_correct_episodes_are_kept(suite):
    table = suite.table.copy()
    table["label"] = ["NO" if label == "YES" else "YES" for label in table["label"]]
    wrong = Suite(table)
    with pytest.raises(ValueError, match="none of the 4 episodes was correct"):
        sft_dataset(wrong, render_images=False)


def test_to_sft_example_keeps_the_order_of_images():
    first, second = Image.new("RGB", (4, 4), "red"), Image.new("RGB", (4, 4), "blue")
    example = to_sft_example(
        [
            {
                "role": "user",
                "content": [{"type": "image", "image": first}, {"type": "text", "text": "q"}],
            },
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "<tool_response>\n"},
                    {"type": "image", "image": second},
                ],
            },
        ],
        task="m_giant",
    )
    assert example["images"] == [first, second] and example["task"] == "m_giant"


def test_saved_dataset_loads_back(dataset, tmp_path):
    dataset.save_to_disk(str(tmp_path / "sft"))
    loaded = load_sft_dataset(tmp_path / "sft")
    assert loaded[0]["messages"] == dataset[0]["messages"]
    assert len(loaded[0]["images"]) == len(dataset[0]["images"])


def test_load_sft_dataset_errors(tmp_path):
    with pytest.raises(OSError, match="does not exist"):
        load_sft_dataset(tmp_path / "missing")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(OSError, match="neither a dataset directory"):
        load_sft_dataset(tmp_path / "notes.txt")


@pytest.fixture
def sharegpt_dir(tmp_path):
    for name, colour in (("overview.png", "white"), ("zoom.png", "black")):
        Image.new("RGB", (20, 10), colour).save(tmp_path / name)
    return tmp_path


def test_sharegpt_conversations_become_the_agent_protocol(sharegpt_dir):
    record = {
        "system": "You are a helpful assistant.",
        "tools": json.dumps(
            [{"type": "function", "function": {"name": "spectral_visualization_tool"}}]
        ),
        "conversations": [
            {"from": "human", "value": "<image>Is this an M giant?"},
            {
                "from": "function_call",
                "value": json.dumps(
                    {
                        "name": "spectral_visualization_tool",
                        "arguments": {"wavelength_range": [7000, 7300]},
                    }
                ),
            },
            {"from": "observation", "value": "<image>Generated spectral visualization ..."},
            {"from": "gpt", "value": "<think>Deep TiO.</think>\n<answer>\\boxed{YES}</answer>"},
        ],
        "images": ["overview.png", "zoom.png"],
    }
    (sharegpt_dir / "sft.json").write_text(json.dumps([record]))
    (example,) = load_sft_dataset(sharegpt_dir / "sft.json")
    messages = example["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant"]
    assert "# Tools" in messages[0]["content"][0]["text"]
    assert messages[2]["content"][0]["text"].startswith('<tool_call>\n{"name": "spectral_')
    assert messages[3]["content"] == [
        {"type": "text", "text": "<tool_response>\n"},
        {"type": "image", "text": None},
        {"type": "text", "text": "Generated spectral visualization ...\n</tool_response>"},
    ]
    assert placeholders(messages) == 2
    assert [image.getpixel((0, 0)) for image in example["images"]] == [(255, 255, 255), (0, 0, 0)]


def test_sharegpt_messages_layout_in_jsonl(sharegpt_dir):
    record = {
        "messages": [
            {"role": "user", "content": "<image>Is this an M giant?"},
            {"role": "assistant", "content": "<think>x</think>"},
            {"role": "tool", "content": "<tool_response>\nError: bad\n</tool_response>"},
        ],
        "images": ["overview.png"],
    }
    (sharegpt_dir / "sft.jsonl").write_text(json.dumps(record) + "\n")
    (example,) = load_sharegpt(sharegpt_dir / "sft.jsonl")
    assert example["messages"][2]["content"] == [
        {"type": "text", "text": "<tool_response>\nError: bad\n</tool_response>"}
    ]


@pytest.mark.parametrize(
    ("record", "match", "error"),
    [
        (
            {"conversations": [{"from": "robot", "value": "hi"}]},
            "unknown speaker 'robot'",
            ValueError,
        ),
        (
            {
                "conversations": [{"from": "human", "value": "<image><image>hi"}],
                "images": ["overview.png"],
            },
            "2 <image> markers but 1 images",
            ValueError,
        ),
        (
            {"conversations": [{"from": "human", "value": "<image>"}], "images": ["gone.png"]},
            "gone.png does not exist",
            OSError,
        ),
        ({"turns": []}, "no 'conversations' or 'messages'", ValueError),
    ],
)
def test_sharegpt_errors_name_the_record(sharegpt_dir, record, match, error):
    (sharegpt_dir / "bad.json").write_text(json.dumps([record]))
    with pytest.raises(error, match=match):
        load_sharegpt(sharegpt_dir / "bad.json")


def test_rl_questions_are_the_first_two_turns_and_the_label(suite):
    questions = rl_dataset(suite)
    assert questions.column_names == [
        "prompt",
        "images",
        "question",
        "id",
        "task",
        "label",
        "redshift",
    ]
    row = questions[2]
    assert row["prompt"][0]["content"] == [{"type": "text", "text": SYSTEM_PROMPT}]
    assert row["prompt"][1]["content"][0]["type"] == "image" and len(row["images"]) == 1
    assert "M-type Giant" in row["prompt"][1]["content"][1]["text"] or "giant" in (
        row["prompt"][1]["content"][1]["text"].lower()
    )
    assert row["question"] == 2 and row["label"] == suite.table["label"][2]


def test_rl_dataset_of_an_empty_suite_is_refused(suite):
    with pytest.raises(ValueError, match="no questions"):
        rl_dataset(suite[np.zeros(len(suite), bool)])
