"""GRPO rewards: the paper's accuracy and format terms, invalid tool calls, the tool-use bonus."""

import pytest

from spec_o3.agent.protocol import format_answer, format_assistant, format_tool_call
from spec_o3.training.rewards import (
    REWARD_FUNCTIONS,
    REWARD_WEIGHTS,
    accuracy_reward,
    assistant_texts,
    episode_verdict,
    format_reward,
    invalid_tool_call_reward,
    tool_use_reward,
)

ZOOM = format_tool_call("spectral_visualization_tool", {"wavelength_range": [6000, 6400]})
CALL = format_assistant("TiO bands?", ZOOM)
YES = format_assistant("Deep TiO.", format_answer("YES", "TiO 7054 deep."))
NO = format_assistant("No TiO.", format_answer("NO", "Flat."))
TOOL_OK = {
    "role": "tool",
    "name": "spectral_visualization_tool",
    "content": [{"type": "image", "image": None}, {"type": "text", "text": "Generated ..."}],
}
TOOL_ERROR = {
    "role": "tool",
    "name": "spectral_visualization_tool",
    "content": [{"type": "text", "text": "Error: wavelength_range must have min < max"}],
}


def trl_call():
    """An assistant turn as TRL's response parser records it (think and tool call split off)."""
    return {
        "role": "assistant",
        "content": "",
        "reasoning_content": "TiO bands?",
        "tool_calls": [
            {
                "type": "function",
                "function": {
                    "name": "spectral_visualization_tool",
                    "arguments": {"wavelength_range": [6000, 6400]},
                },
            }
        ],
    }


def rollout(*final):
    return [trl_call(), TOOL_OK, *({"role": "assistant", "content": text} for text in final)]


def test_weights_follow_the_paper_and_the_functions():
    assert [f.__name__ for f in REWARD_FUNCTIONS] == list(REWARD_WEIGHTS)
    assert REWARD_WEIGHTS == {
        "accuracy_reward": 1.0,
        "format_reward": 0.2,
        "invalid_tool_call_reward": 0.05,
        "tool_use_reward": 0.0,
    }


def test_trl_messages_are_written_back_in_the_released_format():
    texts = assistant_texts(rollout(YES))
    assert texts == [CALL, YES]


def test_accuracy_needs_exactly_one_correct_answer():
    completions = [rollout(YES), rollout(YES), rollout(NO), [trl_call()], YES + "\n" + YES]
    labels = ["YES", "NO", "no", "NO", "YES"]
    # a rollout that never answers scores 0 even on a NO question (failing is not answering NO)
    assert accuracy_reward(None, completions, label=labels) == [1.0, 0.0, 1.0, 0.0, 0.0]


def test_episode_verdict_ignores_answers_written_while_thinking():
    text = "<think>I could write <answer>\\boxed{YES}</answer> later.</think>\n" + format_answer(
        "NO"
    )
    assert episode_verdict([text]) == "NO"


@pytest.mark.parametrize(
    ("completion", "reward"),
    [
        (rollout(YES), 0.0),
        (NO, 0.0),
        (format_answer("NO"), -1.0),  # no think pair
        ("</think>" + format_answer("NO"), -1.0),  # an unopened think is no pair
        (rollout("<think>Done.</think>"), -1.0),  # no answer
        (rollout(YES, NO), -1.0),  # two answers
        (format_assistant("x", "<answer>\\boxed{MAYBE}</answer>"), -1.0),
        (format_assistant("x", "<answer>YES</answer>"), -1.0),  # no box
        (
            [
                {"role": "assistant", "content": ZOOM},
                TOOL_OK,
                {"role": "assistant", "content": YES},
            ],
            -1.0,
        ),  # a turn without think
    ],
)
def test_format_is_minus_one_as_the_paper_defines_it(completion, reward):
    assert format_reward(None, [completion]) == [reward]


def test_invalid_tool_calls_are_counted():
    broken = format_assistant("Zoom.", "<tool_call>\n{'name': }\n</tool_call>")
    in_thought = "<think>I will write <tool_call> later.</think>\n" + format_answer("NO")
    unknown = [
        trl_call(),
        {"role": "tool", "name": "zoom", "content": "{'error': 'Tool zoom not found.'}"},
    ]
    completions = [
        rollout(YES),
        broken,
        in_thought,
        [trl_call(), TOOL_ERROR, trl_call(), TOOL_ERROR],
        unknown,
    ]
    assert invalid_tool_call_reward(None, completions) == [-0.0, -1.0, -0.0, -2.0, -1.0]


def test_tool_use_bonus_needs_a_successful_call():
    completions = [rollout(YES), [trl_call(), TOOL_ERROR], YES]
    assert tool_use_reward(None, completions) == [1.0, 0.0, 0.0]


def test_total_reward_with_the_paper_weights():
    completions = [
        rollout(YES),
        [trl_call(), TOOL_ERROR, {"role": "assistant", "content": YES}],
        format_answer("YES"),
    ]
    rewards = [f(None, completions, label=["YES"] * 3) for f in REWARD_FUNCTIONS]
    weights = list(REWARD_WEIGHTS.values())
    totals = [sum(w * r[i] for w, r in zip(weights, rewards, strict=True)) for i in range(3)]
    assert totals == pytest.approx([1.0, 0.95, 0.8])
