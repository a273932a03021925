"""The paper's defaults, in one place: every signature default that follows Spec-o3 reads them here.

Examples
--------
>>> from spec_o3.defaults import IMAGE_DPI, MAX_TURNS, REWARD_WEIGHTS, SPECTRUM_IMAGE_SIZE
>>> MAX_TURNS, REWARD_WEIGHTS["accuracy_reward"], REWARD_WEIGHTS["format_reward"]
(8, 1.0, 0.2)
>>> [round(inches * IMAGE_DPI) for inches in SPECTRUM_IMAGE_SIZE]  # the overview, in pixels
[800, 480]
"""

import math

__all__ = ["IMAGE_DPI", "MAX_TURNS", "REWARD_WEIGHTS", "SPECTRUM_IMAGE_SIZE", "ZOOM_IMAGE_SIZES"]

#: Most assistant turns in one vetting episode, the last of which must answer: the paper's turn
#: limit, at inference and in GRPO rollouts (7 tool-calling rounds and an answer).
MAX_TURNS = 8

#: Weight of each GRPO reward function (``spec_o3.training.rewards``): the paper's 1.0 × accuracy
#: + 0.2 × format, 0.05 per invalid tool call, and no tool-use bonus (the paper computed it but
#: left it out of the score).
REWARD_WEIGHTS = {
    "accuracy_reward": 1.0,
    "format_reward": 0.2,
    "invalid_tool_call_reward": 0.05,
    "tool_use_reward": 0.0,
}

#: Resolution (dots per inch) of the tool's images, as the released tool drew its figures.
IMAGE_DPI = 80
#: Size (inches) of the image of the whole spectrum.
SPECTRUM_IMAGE_SIZE = (10, 6)
#: Size (inches) of a zoomed window's image by its width in Å: ``(widest window, size)`` pairs.
ZOOM_IMAGE_SIZES = ((50, (6, 4)), (200, (7, 4.5)), (1000, (8, 5)), (math.inf, (9, 5.5)))
