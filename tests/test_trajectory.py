"""Trajectories: JSON + PNG round trip and conversion to chat messages."""

import json

import astropy.units as u
import numpy as np
import pytest
from PIL import Image
from specutils import Spectrum

from spec_o3.agent import Inspector, Policy, Step, Trajectory
from spec_o3.agent.protocol import format_answer, format_assistant, format_tool_call


class TwoTurns(Policy):
    def respond(self, episodes):
        zoom = format_tool_call(
            "spectral_visualization_tool", {"wavelength_range": [6480, 6650], "label": "H α"}
        )
        script = [
            format_assistant("Check H alpha.", zoom),
            "<tool_call>{oops</tool_call>",
            format_assistant("Done.", format_answer("NO", "Narrow absorption only.")),
        ]
        return [script[len(episode.trajectory.steps)] for episode in episodes]


@pytest.fixture(scope="module")
def trajectory():
    wavelength = np.linspace(3700, 9000, 1500)
    flux = 1 - 0.5 * np.exp(-0.5 * ((wavelength - 6564.6) / 3) ** 2)
    spectrum = Spectrum(flux=flux * u.Jy, spectral_axis=wavelength * u.AA)
    return Inspector(TwoTurns()).run(spectrum, "cv", redshift=0.0, source="toy.fits").trajectory


def _pixels(image):
    return np.asarray(image)


def test_round_trip(tmp_path, trajectory):
    path = trajectory.save(tmp_path / "toy")
    assert path.name == "trajectory.json"
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "overview.png",
        "step-01.png",
        "trajectory.json",
    ]
    loaded = Trajectory.load(tmp_path / "toy")
    for name in (
        "task",
        "system",
        "prompt",
        "redshift",
        "source",
        "verdict",
        "answer_text",
        "error",
    ):
        assert getattr(loaded, name) == getattr(trajectory, name)
    np.testing.assert_array_equal(_pixels(loaded.overview), _pixels(trajectory.overview))
    assert len(loaded.steps) == 3
    for before, after in zip(trajectory.steps, loaded.steps, strict=True):
        for name in (
            "index",
            "text",
            "tool_name",
            "arguments",
            "result_text",
            "label",
            "measurements",
            "error",
        ):
            assert getattr(after, name) == getattr(before, name)
        assert (after.window is None) == (before.window is None)
        assert (after.image is None) == (before.image is None)
    assert loaded.steps[0].window.bounds == (6480 * u.AA, 6650 * u.AA)
    np.testing.assert_array_equal(
        _pixels(loaded.steps[0].image), _pixels(trajectory.steps[0].image)
    )
    # the loaded trajectory gives the same conversation
    assert _text_of(loaded.to_messages()) == _text_of(trajectory.to_messages())


def _text_of(messages):
    return [
        (m["role"], [part.get("text", part["type"]) for part in m["content"]]) for m in messages
    ]


def test_json_is_readable(tmp_path, trajectory):
    record = json.loads(trajectory.save(tmp_path).read_text(encoding="utf-8"))
    assert record["steps"][0]["window"] == [6480.0, 6650.0]
    assert record["steps"][0]["image"] == "step-01.png"
    assert record["steps"][1]["error"].startswith("the tool call is not a valid JSON object")
    assert record["verdict"] == "NO" and record["overview"] == "overview.png"


def test_to_messages_is_the_sft_format(trajectory):
    messages = trajectory.to_messages()
    assert [m["role"] for m in messages] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
    ]
    assert [part["type"] for part in messages[1]["content"]] == ["image", "text"]
    assert [part["type"] for part in messages[3]["content"]] == ["text", "image", "text"]
    # an invalid call gets a text-only tool response with the error
    assert messages[5]["content"] == [
        {
            "type": "text",
            "text": f"<tool_response>\nError: {trajectory.steps[1].error}\n</tool_response>",
        }
    ]
    assert trajectory.images == [trajectory.overview, trajectory.steps[0].image]


def test_save_refuses_to_overwrite(tmp_path, trajectory):
    trajectory.save(tmp_path)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        trajectory.save(tmp_path)
    trajectory.save(tmp_path, overwrite=True)


def test_text_only_round_trip(tmp_path):
    trajectory = Trajectory(
        "white_dwarf",
        system="sys",
        prompt="Is it?",
        steps=[Step(1, "<answer>\\boxed{NO}</answer>")],
        verdict="NO",
    )
    loaded = Trajectory.load(trajectory.save(tmp_path))
    assert (
        loaded.overview is None
        and loaded.steps[0].image is None
        and loaded.to_messages() == trajectory.to_messages()
    )
    assert [p.name for p in tmp_path.iterdir()] == ["trajectory.json"]


def test_load_errors(tmp_path):
    with pytest.raises(OSError, match="cannot read a trajectory"):
        Trajectory.load(tmp_path)
    (tmp_path / "trajectory.json").write_text('{"format_version": 99}')
    with pytest.raises(OSError, match="not a spec-o3 trajectory"):
        Trajectory.load(tmp_path)


def test_loaded_images_are_detached_from_files(tmp_path, trajectory):
    loaded = Trajectory.load(trajectory.save(tmp_path))
    for png in tmp_path.glob("*.png"):
        png.unlink()  # works on every platform only if no file handle was kept open
    assert (
        isinstance(loaded.overview, Image.Image)
        and loaded.overview.size == trajectory.overview.size
    )
