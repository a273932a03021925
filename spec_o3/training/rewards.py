"""GRPO rewards: outcome accuracy, the paper's format term, invalid tool calls, tool use.

Each reward is a plain function with TRL's signature ``f(prompts, completions, **kwargs) -> list``
(one number per completion) and reads the assistant text with the agent's own
:func:`~spec_o3.agent.protocol.parse_response`, so training scores exactly what the inspection loop
would read. A completion may be a string (one assistant message) or, in a rollout with tools, the
list of messages TRL records: assistant messages (``content``, and ``reasoning_content`` /
``tool_calls`` where TRL's response parser split them off) and ``tool`` messages.

The paper's reward is ``1.0 × accuracy + 0.2 × format``; spec-o3 adds ``0.05 ×`` the (negative)
count of invalid tool calls, and an optional tool-use bonus (computed in the paper, weight 0 there).
:data:`REWARD_WEIGHTS` holds these weights in the order of :data:`REWARD_FUNCTIONS`, as
``GRPOConfig(reward_weights=...)`` takes them.
"""

from spec_o3.agent.protocol import format_assistant, format_tool_call, parse_response
from spec_o3.defaults import REWARD_WEIGHTS

__all__ = [
    "REWARD_FUNCTIONS",
    "REWARD_WEIGHTS",
    "accuracy_reward",
    "assistant_texts",
    "episode_verdict",
    "format_reward",
    "invalid_tool_call_reward",
    "tool_use_reward",
]

# How a tool response reports a rejected call: the inspection loop and the rollout environment
# write "Error: ...", TRL writes str({"error": ...}) for a tool name it cannot dispatch.
_ERROR_PREFIXES = ("Error:", "{'error':")


def assistant_texts(completion):
    """The text of each assistant turn of one completion, as the model wrote it.

    Parameters
    ----------
    completion : str or list of dict
        One assistant message, or the messages of a rollout with tools (TRL splits ``<think>``
        into ``reasoning_content`` and ``<tool_call>`` blocks into ``tool_calls``; they are written
        back in the released format).

    Returns
    -------
    texts : list of str

    Examples
    --------
    >>> completion = [
    ...     {"role": "assistant", "content": "", "reasoning_content": "Zoom on C2.",
    ...      "tool_calls": [{"type": "function", "function": {
    ...          "name": "spectral_visualization_tool",
    ...          "arguments": {"wavelength_range": [4950, 5250]}}}]},
    ...     {"role": "tool", "name": "spectral_visualization_tool", "content": "Generated ..."},
    ...     {"role": "assistant",
    ...      "content": "<think>Bands.</think>\\n<answer>\\\\boxed{YES}</answer>"},
    ... ]
    >>> print(assistant_texts(completion)[0])
    <think>Zoom on C2.</think>
    <tool_call>
    {"name": "spectral_visualization_tool", "arguments": {"wavelength_range": [4950, 5250]}}
    </tool_call>
    """
    if isinstance(completion, str):
        return [completion]
    return [_message_text(message) for message in completion if message.get("role") == "assistant"]


def _message_text(message):
    action = _content_text(message.get("content"))
    for call in message.get("tool_calls") or ():
        function = call.get("function", call)
        block = format_tool_call(function.get("name"), function.get("arguments", {}))
        action = f"{action}\n{block}" if action.strip() else block
    reasoning = message.get("reasoning_content")
    return action if reasoning is None else format_assistant(reasoning, action)


def _content_text(content):
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(part.get("text") or "" for part in content if part.get("type") == "text")


def _tool_responses(completion):
    if isinstance(completion, str):
        return []
    return [_content_text(m.get("content")) for m in completion if m.get("role") == "tool"]


def _has_think_pair(text):
    start = text.find("<think>")
    return start >= 0 and text.find("</think>", start) > start


def _outside_think(text, tag, parsed):
    """Occurrences of ``tag`` outside the reasoning (tags written while thinking do not count)."""
    return text.count(tag) - (parsed.think or "").count(tag)


def episode_verdict(texts):
    """The episode's verdict: the label of its one answer, or ``None`` without exactly one.

    Parameters
    ----------
    texts : list of str
        The assistant turns (see `assistant_texts`).

    Examples
    --------
    >>> episode_verdict(["<think>x</think>\\n<answer>\\\\boxed{NO} flat</answer>"])
    'NO'
    >>> two = ["<answer>\\\\boxed{YES}</answer>", "<answer>\\\\boxed{NO}</answer>"]
    >>> episode_verdict(two) is None
    True
    """
    parsed = [parse_response(text) for text in texts]
    blocks = sum(_outside_think(text, "<answer>", p) for text, p in zip(texts, parsed, strict=True))
    answers = [label for p in parsed for label in p.answers]
    return answers[0] if blocks == 1 and len(answers) == 1 else None


def accuracy_reward(prompts, completions, label, **kwargs):
    """1 when the episode's one answer is the true label, else 0 (no valid answer scores 0).

    As in the inspection loop, which gives an episode that cannot conclude no verdict, a rollout
    without exactly one valid answer earns nothing here, so the policy cannot collect the NO
    questions by failing.

    Parameters
    ----------
    prompts : list
        Unused (TRL's signature).
    completions : list
        One completion per prompt (see `assistant_texts`).
    label : list of str
        The true answers, ``"YES"``/``"NO"`` (the dataset's ``label`` column).

    Examples
    --------
    >>> answer = "<think>Swan bands.</think>\\n<answer>\\\\boxed{YES} C2 at 5165 Å.</answer>"
    >>> accuracy_reward(None, [answer, answer], label=["YES", "NO"])
    [1.0, 0.0]
    """
    return [
        float(episode_verdict(assistant_texts(completion)) == str(truth).strip().upper())
        for completion, truth in zip(completions, label, strict=True)
    ]


def format_reward(prompts, completions, **kwargs):
    """The paper's format term: -1 for a malformed episode, else 0.

    Malformed: an assistant turn without a ``<think>…</think>`` pair, or an episode without exactly
    one ``<answer>`` block, or whose answer has no ``\\boxed{}`` with a valid label (YES or NO).

    Examples
    --------
    >>> format_reward(None, ["<think>Flat.</think>\\n<answer>\\\\boxed{NO}</answer>",
    ...                      "<answer>\\\\boxed{NO}</answer>",
    ...                      "<think>Flat.</think>\\n<answer>\\\\boxed{MAYBE}</answer>"])
    [0.0, -1.0, -1.0]
    """
    return [
        0.0 if _well_formed(assistant_texts(completion)) else -1.0 for completion in completions
    ]


def _well_formed(texts):
    return (
        bool(texts)
        and all(_has_think_pair(text) for text in texts)
        and episode_verdict(texts) is not None
    )


def invalid_tool_call_reward(prompts, completions, **kwargs):
    """Minus the number of invalid tool calls (weight 0.05 gives the -0.05 per call penalty).

    Invalid: a ``<tool_call>`` block that cannot be read (broken JSON, no tool name), or a call the
    tools rejected (unknown tool, wrong arguments, a window outside the data), which the tool
    response reports as an error.

    Examples
    --------
    >>> broken = "<think>Zoom.</think>\\n<tool_call>\\n{wavelength_range: }\\n</tool_call>"
    >>> rejected = [{"role": "assistant", "content": "<think>Zoom.</think>\\n<tool_call>\\n"
    ...              '{"name": "zoom", "arguments": {}}\\n</tool_call>'},
    ...             {"role": "tool", "name": "zoom",
    ...              "content": "{'error': 'Tool zoom not found.'}"}]
    >>> invalid_tool_call_reward(None, [broken, rejected])
    [-1.0, -1.0]
    """
    return [-float(_count_invalid_calls(completion)) for completion in completions]


def _count_invalid_calls(completion):
    unreadable = 0
    for text in assistant_texts(completion):
        parsed = parse_response(text)
        unreadable += _outside_think(text, "<tool_call>", parsed) - len(parsed.tool_calls)
    rejected = sum(_is_error(text) for text in _tool_responses(completion))
    return unreadable + rejected


def _is_error(response):
    return response.lstrip().startswith(_ERROR_PREFIXES)


def tool_use_reward(prompts, completions, **kwargs):
    """1 when the episode ran at least one tool call successfully, else 0 (the optional bonus).

    Examples
    --------
    >>> zoomed = [{"role": "assistant", "content": "<think>Zoom.</think>"},
    ...           {"role": "tool", "name": "spectral_visualization_tool",
    ...            "content": [{"type": "text", "text": "Generated spectral visualization ..."}]}]
    >>> tool_use_reward(None, [zoomed, "<think>No.</think>"])
    [1.0, 0.0]
    """
    return [
        float(any(not _is_error(text) for text in _tool_responses(completion)))
        for completion in completions
    ]


#: The reward functions of the GRPO stage, in the order of `REWARD_WEIGHTS`.
REWARD_FUNCTIONS = (accuracy_reward, format_reward, invalid_tool_call_reward, tool_use_reward)
