"""The paper's defaults, in one place: every signature default that follows Spec-o3 reads them here.

Examples
--------
>>> from spec_o3.defaults import MAX_TURNS, REWARD_WEIGHTS
>>> MAX_TURNS, REWARD_WEIGHTS["accuracy_reward"], REWARD_WEIGHTS["format_reward"]
(8, 1.0, 0.2)
"""

__all__ = ["MAX_TURNS", "REWARD_WEIGHTS"]

#: Most assistant turns in one vetting episode, the last of which must answer: the paper's turn
#: limit, at inference and in GRPO rollouts (7 tool-calling rounds and an answer).
MAX_TURNS = 8

#: Weight of each GRPO reward function, in the order of `spec_o3.training.rewards.REWARD_FUNCTIONS`:
#: the paper's 1.0 × accuracy + 0.2 × format, 0.05 per invalid tool call, and no tool-use bonus
#: (the paper computed it but left it out of the score).
REWARD_WEIGHTS = {
    "accuracy_reward": 1.0,
    "format_reward": 0.2,
    "invalid_tool_call_reward": 0.05,
    "tool_use_reward": 0.0,
}
