"""The dialogue protocol of the released Spec-o3 models: tool schemas, prompts, reading replies.

The released checkpoints were trained on the Qwen2.5-VL chat format. The system turn is
``"You are a helpful assistant."`` followed by the Qwen2.5 ``# Tools`` block (one JSON schema per
line inside ``<tools></tools>``); the assistant thinks inside ``<think>…</think>``, calls a tool
with ``<tool_call>\\n{"name": …, "arguments": {…}}\\n</tool_call>`` and concludes with
``<answer>\\boxed{YES|NO} justification</answer>``; tool results come back as a *user* turn
wrapped in ``<tool_response>…</tool_response>``. Everything that writes or reads that text lives
here, so the loop, the backends and the training code share one copy of it.

Parsing is tolerant but never evaluates model output: tool-call JSON goes through
:func:`json.loads`, and only when that fails through a small lexer that accepts the slips models
make in practice (code fences or prose around the object, single-quoted strings, trailing commas,
Python's ``True``/``False``/``None``). See :func:`parse_response`.
"""

import inspect
import json
import os
import re
import types
import typing
from dataclasses import dataclass, field

__all__ = [
    "PROTOCOLS",
    "RELEASED_CHECKPOINTS",
    "RELEASE_RESPONSE_BUDGET",
    "RELEASE_TOOL_SCHEMA",
    "SYSTEM_PROMPT",
    "check_protocol",
    "default_protocol",
    "ParsedResponse",
    "ScriptedMessage",
    "ToolCall",
    "format_answer",
    "format_assistant",
    "format_tool_call",
    "parse_response",
    "scripted_message",
    "system_prompt",
    "token_limits",
    "tool_schema",
    "tools_block",
    "turn_token_limit",
    "user_prompt",
    "verdict_offset",
]

#: The system text of the released models, before the tool block.
SYSTEM_PROMPT = "You are a helpful assistant."

#: The dialogue profiles (see :ref:`protocol-profiles`): ``"spec-o3"``, this package's own (its
#: tool texts, prompt and error messages, for the scripted expert and models trained here), and
#: ``"release"``, what the released checkpoints saw in training.
PROTOCOLS = ("spec-o3", "release")

#: Hub ids of the released Spec-o3 checkpoints, which a model backend drives under ``"release"``.
RELEASED_CHECKPOINTS = ("Maxwell-Jia/spec-o3-7b", "Maxwell-Jia/spec-o3-3b")

#: Tokens the released models could write in one episode (all turns together, no per-turn cap).
RELEASE_RESPONSE_BUDGET = 32768

#: The released tool as its schema reached the system prompt in training: verl keeps only a
#: parameter's ``type`` and ``description``, so there is no ``items`` and no ``nullable``.
RELEASE_TOOL_SCHEMA = {
    "type": "function",
    "function": {
        "name": "spectral_visualization_tool",
        "description": (
            "A tool for visualizing spectral data with wavelength range zooming capabilities."
        ),
        "parameters": {
            "type": "object",
            "properties": {
                "wavelength_range": {
                    "type": "array",
                    "description": (
                        "Wavelength range to focus on [min_wavelength, max_wavelength] in Angstroms"
                    ),
                },
                "label": {
                    "type": "string",
                    "description": "Optional label for the spectral feature being analyzed",
                },
            },
            "required": ["wavelength_range"],
        },
    },
}

# The Qwen2.5 chat template's tool section, verbatim (its "tools" branch joins these around the
# schemas).
_TOOLS_HEADER = (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
)
_TOOLS_FOOTER = (
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments "
    'within <tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": '
    "<args-json-object>}\n</tool_call>"
)


# --------------------------------------------------------------------------------------------------
# Profiles
# --------------------------------------------------------------------------------------------------


def check_protocol(protocol):
    """Return ``protocol`` if it names a profile of ``PROTOCOLS``; ValueError naming them if not.

    Examples
    --------
    >>> check_protocol("release")
    'release'
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
    return protocol


def default_protocol(model):
    """The profile a model backend speaks by default: ``"release"`` for a released checkpoint (its
    hub id, or a local copy in a directory of the same name), ``"spec-o3"`` for any other model.

    Examples
    --------
    >>> default_protocol("Maxwell-Jia/spec-o3-7b"), default_protocol("/models/spec-o3-3b/")
    ('release', 'release')
    >>> default_protocol("runs/sft")
    'spec-o3'
    """
    if not isinstance(model, (str, os.PathLike)):  # a loaded model: trained here, most likely
        return "spec-o3"
    name = os.path.basename(os.fspath(model).rstrip("/\\")).lower()
    released = {checkpoint.rsplit("/", 1)[1].lower() for checkpoint in RELEASED_CHECKPOINTS}
    return "release" if name in released else "spec-o3"


def token_limits(
    protocol, per_turn=None, budget=None, *, per_turn_default, per_turn_name="max_new_tokens"
):
    """The most tokens a model backend lets one assistant turn, and one episode's responses, take.

    ``None`` takes the profile's: under ``"spec-o3"`` each turn is capped at
    ``per_turn_default`` and episodes have no budget; under ``"release"`` turns are not capped
    and the responses of an episode -- the model's turns and the tool responses -- share
    `RELEASE_RESPONSE_BUDGET` tokens, as in the released training.

    Returns
    -------
    per_turn, budget : int or None
        ``None`` where there is no limit.

    Raises
    ------
    ValueError
        If a limit given is below 1.

    Examples
    --------
    >>> token_limits("release", per_turn_default=1024)
    (None, 32768)
    >>> token_limits("spec-o3", 4096, per_turn_default=1024)
    (4096, None)
    """
    release = check_protocol(protocol) == "release"
    defaults = (None, RELEASE_RESPONSE_BUDGET) if release else (per_turn_default, None)
    limits = []
    for name, given, default in zip(
        (per_turn_name, "response_budget"), (per_turn, budget), defaults, strict=True
    ):
        if given is not None and int(given) < 1:
            raise ValueError(f"{name} must be at least 1, got {given}")
        limits.append(default if given is None else int(given))
    return tuple(limits)


def turn_token_limit(per_turn, budget, used):
    """The most tokens the next turn may take: ``per_turn``, and what ``budget`` leaves after the
    ``used`` tokens of the episode's responses so far (``None``: no limit of that kind).

    Examples
    --------
    >>> turn_token_limit(None, 32768, 32000), turn_token_limit(1024, None, 5000)
    (768, 1024)
    """
    left = None if budget is None else max(budget - used, 0)
    return min(limit for limit in (per_turn, left) if limit is not None)


# --------------------------------------------------------------------------------------------------
# Tool schemas
# --------------------------------------------------------------------------------------------------

_JSON_TYPES = {float: "number", int: "integer", str: "string", bool: "boolean"}
_DOC_SECTIONS = ("Args:", "Arguments:", "Returns:", "Raises:", "Examples:", "Example:", "Notes:")


def tool_schema(function):
    """Derive the JSON schema a chat template expects for a tool from its signature and docstring.

    The function needs JSON-native type hints (``float``, ``int``, ``str``, ``bool``, ``list[...]``,
    ``X | None``, `typing.Literal`) and a Google-style docstring whose ``Args:`` section describes
    every argument. The result has the same shape and key order as
    ``transformers.utils.get_json_schema``, so a tool is described identically with or without
    transformers installed.

    Parameters
    ----------
    function : callable
        The tool (a function or a bound method).

    Returns
    -------
    schema : dict
        ``{"type": "function", "function": {"name", "description", "parameters"}}``.

    Raises
    ------
    TypeError
        If an argument has no type hint or one without a JSON equivalent.
    ValueError
        If the docstring is missing or does not describe every argument.

    Examples
    --------
    >>> def zoom(wavelength_range: list[float], label: str | None = None):
    ...     '''Plot a window.
    ...
    ...     Args:
    ...         wavelength_range: The [min, max] window in Å.
    ...         label: What is examined.
    ...     '''
    >>> tool_schema(zoom)["function"]["parameters"]["required"]
    ['wavelength_range']
    """
    name = function.__name__
    doc = inspect.getdoc(function)
    if not doc:
        raise ValueError(f"tool {name!r} has no docstring to describe it")
    description, argument_docs = _parse_google_docstring(doc)
    hints = typing.get_type_hints(function)
    properties, required = {}, []
    for argument, parameter in inspect.signature(function).parameters.items():
        if argument in ("self", "cls") and parameter.annotation is inspect.Parameter.empty:
            continue
        if argument not in hints:
            raise TypeError(f"argument {argument!r} of tool {name!r} has no type hint")
        if argument not in argument_docs:
            raise ValueError(
                f"the docstring of tool {name!r} does not describe argument {argument!r}"
            )
        properties[argument] = {
            **_json_type(hints[argument], name),
            "description": argument_docs[argument],
        }
        if parameter.default is inspect.Parameter.empty:
            required.append(argument)
    parameters = {"type": "object", "properties": properties}
    if required:
        parameters["required"] = required
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters},
    }


def _json_type(hint, tool_name):
    """JSON schema of one type hint (the subset of transformers' rules JSON-native tools need)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint in _JSON_TYPES:
        return {"type": _JSON_TYPES[hint]}
    if origin is list:
        return (
            {"type": "array", "items": _json_type(args[0], tool_name)}
            if args
            else {"type": "array"}
        )
    if origin is typing.Literal:
        kinds = list(dict.fromkeys(_JSON_TYPES[type(value)] for value in args))
        return {"type": kinds[0] if len(kinds) == 1 else kinds, "enum": list(args)}
    if origin in (typing.Union, types.UnionType):
        members = [_json_type(arg, tool_name) for arg in args if arg is not type(None)]
        if len(members) == 1:
            schema = members[0]
        elif all(member.keys() == {"type"} for member in members):
            kinds = sorted({member["type"] for member in members})
            schema = {"type": kinds[0] if len(kinds) == 1 else kinds}
        else:
            schema = {"anyOf": members}
        if type(None) in args:
            schema["nullable"] = True
        return schema
    raise TypeError(f"tool {tool_name!r}: type hint {hint!r} has no JSON schema equivalent")


def _parse_google_docstring(doc):
    """Split a Google-style docstring into its description and ``{argument: description}``."""
    lines = doc.strip().splitlines()
    sections = [i for i, line in enumerate(lines) if line.strip() in _DOC_SECTIONS]
    end = sections[0] if sections else len(lines)
    description = "\n".join(lines[:end]).strip()
    argument_docs = {}
    start = next((i for i in sections if lines[i].strip() in ("Args:", "Arguments:")), None)
    if start is not None:
        stop = next((i for i in sections if i > start), len(lines))
        body = [line for line in lines[start + 1 : stop] if line.strip()]
        indent = min((len(line) - len(line.lstrip()) for line in body), default=0)
        current = None
        for line in body:
            item = re.match(r"(\w+)\s*(?:\([^()]*\))?:\s*(.*)", line[indent:])
            if len(line) - len(line.lstrip()) == indent and item:
                current = item.group(1)
                argument_docs[current] = item.group(2).strip()
            elif current is not None:
                argument_docs[current] = f"{argument_docs[current]} {line.strip()}".strip()
    return description, argument_docs


def tools_block(schemas):
    """Return the Qwen2.5 ``# Tools`` section listing ``schemas``, as its chat template writes it.

    Examples
    --------
    >>> print(tools_block([{"type": "function", "function": {"name": "f"}}]).splitlines()[5:7])
    ['<tools>', '{"type": "function", "function": {"name": "f"}}']
    """
    # The template writes each schema with json.dumps(ensure_ascii=False) and default separators.
    listed = "".join("\n" + json.dumps(schema, ensure_ascii=False) for schema in schemas)
    return _TOOLS_HEADER + listed + _TOOLS_FOOTER


def system_prompt(schemas=None, *, protocol="spec-o3"):
    """Return the full system text: ``SYSTEM_PROMPT`` followed by the tool block.

    Parameters
    ----------
    schemas : list of dict
        The tools' schemas (see `tool_schema`); leave out under ``protocol="release"``, which
        lists `RELEASE_TOOL_SCHEMA`, the released tool as its training showed it.
    protocol : {"spec-o3", "release"}, optional

    Examples
    --------
    >>> system_prompt([]).startswith("You are a helpful assistant.\\n\\n# Tools")
    True
    >>> print(system_prompt(protocol="release").splitlines()[8][:60])
    {"type": "function", "function": {"name": "spectral_visualiz
    """
    release = check_protocol(protocol) == "release"
    if release == (schemas is not None):
        raise ValueError("give the tools' schemas, except under the release protocol (its own)")
    return f"{SYSTEM_PROMPT}\n\n{tools_block([RELEASE_TOOL_SCHEMA] if release else schemas)}"


def user_prompt(task, redshift=None, *, protocol="spec-o3"):
    """Return the text of the first user turn (it follows the full-spectrum image).

    Parameters
    ----------
    task : `~spec_o3.tasks.Task`
        The vetting task: its question and key indicators are stated.
    redshift : float, optional
        The spectrum's redshift; when given the prompt says the plots are in the rest frame.
    protocol : {"spec-o3", "release"}, optional
        ``"release"`` states the question and key indicators only, the shape of the released
        prompts, for spectra that do not come with their SpecVI-Bench prompt.

    Examples
    --------
    >>> from spec_o3.tasks import get_task
    >>> print(user_prompt(get_task("wd")).splitlines()[0])
    Analyze the provided spectrum to determine if it is a White Dwarf.
    """
    indicators = "\n".join(f"- {indicator}" for indicator in task.indicators)
    question = f"{task.question}\n\nKey indicators:\n{indicators}"
    if check_protocol(protocol) == "release":
        return question
    frame = (
        f"The plots show the spectrum in its rest frame (redshift z = {redshift:.5f}); "
        if redshift is not None
        else "The plots show the spectrum in its rest frame; "
    )
    return (
        f"{question}\n\n{frame}wavelengths are in Å. "
        "Zoom into diagnostic regions with the tool when it helps. "
        "Think inside <think></think>, then give your final answer as "
        "<answer>\\boxed{YES} or \\boxed{NO} followed by a short justification</answer>."
    )


# --------------------------------------------------------------------------------------------------
# Writing assistant text (the scripted expert and tests speak the released format through these)
# --------------------------------------------------------------------------------------------------


def format_tool_call(name, arguments):
    """Return a ``<tool_call>`` block for a call of tool ``name``.

    Examples
    --------
    >>> print(format_tool_call("spectral_visualization_tool", {"wavelength_range": [4950, 5250]}))
    <tool_call>
    {"name": "spectral_visualization_tool", "arguments": {"wavelength_range": [4950, 5250]}}
    </tool_call>
    """
    payload = json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False)
    return f"<tool_call>\n{payload}\n</tool_call>"


def format_answer(verdict, justification=""):
    """Return the final ``<answer>\\boxed{…} justification</answer>`` block.

    Examples
    --------
    >>> format_answer("yes", "Strong C2 Swan bands.")
    '<answer>\\\\boxed{YES} Strong C2 Swan bands.</answer>'
    """
    label = str(verdict).strip().upper()
    if label not in ("YES", "NO"):
        raise ValueError(f"verdict must be 'YES' or 'NO', got {verdict!r}")
    return f"<answer>\\boxed{{{label}}} {justification}".rstrip() + "</answer>"


def format_assistant(think, action):
    """Return one assistant message: the reasoning in ``<think>`` followed by a tool call or answer.

    Examples
    --------
    >>> format_assistant("Looks featureless.", format_answer("NO"))
    '<think>Looks featureless.</think>\\n<answer>\\\\boxed{NO}</answer>'
    """
    return f"<think>{think}</think>\n{action}"


def scripted_message(think, *, tool_call=None, answer=None):
    """An assistant message written by a script, with what it says attached.

    The message is ``format_assistant(think, action)``, the action a tool call or an answer. A
    policy that writes its messages (the scripted expert) knows what they say: the message comes
    as a `ScriptedMessage` whose ``parsed`` is what `parse_response` reads in it, so that the
    inspection loop need not read it back. Where ``think`` or the action holds a ``<`` (a tag, for
    the parser) or a tool argument a ``\\boxed``, it is a plain `str`, for the parser to read.

    Parameters
    ----------
    think : str
        The reasoning.
    tool_call : tuple of (str, dict), optional
        The tool's name and its JSON-native arguments.
    answer : tuple of (str, str), optional
        The verdict (``"YES"`` or ``"NO"``) and its justification.

    Examples
    --------
    >>> message = scripted_message("Zoom on C2.", tool_call=("f", {"x": [1, 2]}))
    >>> print(message)
    <think>Zoom on C2.</think>
    <tool_call>
    {"name": "f", "arguments": {"x": [1, 2]}}
    </tool_call>
    >>> message.parsed == parse_response(message)
    True
    >>> scripted_message("Done.", answer=("NO", "No C2 bands.")).parsed.answer_text
    'No C2 bands.'
    """
    if (tool_call is None) == (answer is None):
        raise ValueError("a scripted message makes one tool call or gives one answer: pass one")
    if tool_call is not None:
        action = format_tool_call(*tool_call)
        block = action.removeprefix("<tool_call>").removesuffix("</tool_call>")
        readable = "<" not in block and "\\boxed" not in block
    else:
        action = format_answer(*answer)
        block = action.removeprefix("<answer>").removesuffix("</answer>")
        readable = "<" not in block
    text = format_assistant(think, action)
    if "<" in think or not readable:
        return text
    errors = []  # the parser's own readers of a block, so that the reading is the parser's
    if tool_call is not None:
        call = _read_tool_call(block, errors)
        parsed = ParsedResponse(think.strip(), [] if call is None else [call], errors=errors)
    else:
        label, justification = _read_answer(block, errors)
        labels = [] if label is None else [label]
        parsed = ParsedResponse(think.strip(), [], labels, justification, errors)
    return ScriptedMessage(text, parsed)


# --------------------------------------------------------------------------------------------------
# Parsing assistant text
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolCall:
    """A tool call read from assistant text: the tool's ``name`` and its JSON ``arguments``."""

    name: str
    arguments: dict


@dataclass(frozen=True)
class ParsedResponse:
    """What one assistant message says, as read by :func:`parse_response`.

    Attributes
    ----------
    think : str or None
        The reasoning inside ``<think>…</think>`` (``None`` without a think block).
    tool_calls : list of `ToolCall`
        Well-formed tool calls, in order.
    answers : list of str
        ``"YES"``/``"NO"``: the label of each well-formed ``<answer>`` block, in order.
    answer_text : str or None
        The justification of the first well-formed answer (its text without the ``\\boxed{}``).
    errors : list of str
        Why an attempted tool call or answer could not be read; each says how to fix it.
    """

    think: str | None = None
    tool_calls: list = field(default_factory=list)
    answers: list = field(default_factory=list)
    answer_text: str | None = None
    errors: list = field(default_factory=list)


class ScriptedMessage(str):
    """An assistant message with what it says, ``parsed`` (a `ParsedResponse`), attached; made by
    `scripted_message`. The inspection loop takes ``parsed`` as the message's reading."""

    def __new__(cls, text, parsed):
        message = super().__new__(cls, text)
        message.parsed = parsed
        return message


_THINK = re.compile(r"<think>(.*?)</think>", re.DOTALL)
# A block ends at its closing tag, at the next opening tag, or at the end of the text: servers that
# use the closing tag as a stop string drop it from the output.
_TOOL_CALL = re.compile(r"<tool_call>(.*?)(?:</tool_call>|(?=<tool_call>)|\Z)", re.DOTALL)
_ANSWER = re.compile(r"<answer>(.*?)(?:</answer>|(?=<answer>)|\Z)", re.DOTALL)
_BOXED = re.compile(r"\\boxed\s*\{((?:[^{}]|\{[^{}]*\})*)\}")
_TEXT_WRAPPER = re.compile(r"^\\(?:text|textbf|mathrm|mathbf)\s*\{(.*)\}$", re.DOTALL)
_FENCE = re.compile(r"^```[\w-]*\s*|\s*```$")


def parse_response(text):
    """Read the reasoning, tool calls and answers out of one assistant message.

    Never raises and never evaluates the text: every problem becomes an entry of
    :attr:`ParsedResponse.errors` worded for the model, which the inspection loop sends back as the
    tool response.

    Tolerated: unclosed ``<tool_call>``/``<answer>`` blocks at the end of the text (servers that
    stop on the closing tag drop it), ``</think>`` without an opening tag (templates that open the
    think block in the prompt), code fences or prose around the tool-call object, single-quoted
    strings, trailing commas, Python literals ``True``/``False``/``None``, ``"parameters"`` for
    ``"arguments"``, arguments given as a JSON string, and ``\\boxed{\\text{Yes}}``-style labels.
    Tags written inside the reasoning are ignored.

    Parameters
    ----------
    text : str
        The assistant message as generated.

    Returns
    -------
    parsed : `ParsedResponse`

    Examples
    --------
    >>> parsed = parse_response('<think>Zoom on C2.</think>\\n<tool_call>\\n{"name": "f", '
    ...                         '"arguments": {"x": [1, 2],}}\\n</tool_call>')
    >>> parsed.think, parsed.tool_calls
    ('Zoom on C2.', [ToolCall(name='f', arguments={'x': [1, 2]})])
    >>> parse_response("<answer>\\\\boxed{NO} No TiO bands.</answer>").answers
    ['NO']
    """
    if not isinstance(text, str):
        return ParsedResponse(
            errors=[f"expected the assistant text as a string, got {type(text).__name__}"]
        )
    think, body = _split_think(text)
    errors, tool_calls = [], []
    for match in _TOOL_CALL.finditer(body):
        call = _read_tool_call(match.group(1), errors)
        if call is not None:
            tool_calls.append(call)
    answers, answer_text = [], None
    for match in _ANSWER.finditer(body):
        label, justification = _read_answer(match.group(1), errors)
        if label is not None:
            answers.append(label)
            if answer_text is None:
                answer_text = justification
    if not answers and "<answer>" not in body and _BOXED.search(body):
        errors.append(
            "write the final answer inside <answer></answer> tags: <answer>\\boxed{YES} or "
            "\\boxed{NO} followed by a short justification</answer>"
        )
    return ParsedResponse(think, tool_calls, answers, answer_text, errors)


# What may come between ``\\boxed{`` and the label (`_normalise_label` strips it).
_LABEL_LEAD = re.compile(r"(?:[\s.!*'\"]|\\(?:text|textbf|mathrm|mathbf)\s*\{)*")


def verdict_offset(text):
    """Where the label of the answer of one assistant message starts, as `parse_response` reads it.

    A backend that has the probabilities of the tokens it wrote looks up the one that starts the
    verdict there (see :ref:`model-confidence`).

    Parameters
    ----------
    text : str
        The assistant message as generated.

    Returns
    -------
    found : tuple of (int, str) or None
        The character offset of the label in ``text`` and the label (``"YES"`` or ``"NO"``);
        ``None`` unless the message gives exactly one valid answer.

    Examples
    --------
    >>> text = "<think>Swan bands.</think>\\n<answer>\\\\boxed{ Yes} C2 at 5165 A.</answer>"
    >>> offset, label = verdict_offset(text)
    >>> label, text[offset:offset + 3]
    ('YES', 'Yes')
    >>> verdict_offset("<tool_call>{}</tool_call>") is None
    True
    """
    parsed = parse_response(text)
    if len(parsed.answers) != 1:
        return None
    reasoning = [match.span() for match in _THINK.finditer(text)]
    if not reasoning and "</think>" in text:  # the opening tag was part of the prompt
        reasoning = [(0, text.index("</think>"))]
    for answer in _ANSWER.finditer(text):
        if any(start <= answer.start() < end for start, end in reasoning):
            continue
        if _read_answer(answer.group(1), [])[0] is None:
            continue  # a malformed block the parser reported and skipped
        boxed = _BOXED.search(answer.group(1))
        offset = answer.start(1) + boxed.start(1) + _LABEL_LEAD.match(boxed.group(1)).end()
        return offset, parsed.answers[0]
    return None


def _split_think(text):
    """Return (reasoning or None, the text outside the reasoning)."""
    blocks, outside = _think_blocks(text)
    if blocks:
        return "\n".join(block.strip() for block in blocks), outside
    if "</think>" in text:  # the opening tag was part of the prompt
        reasoning, _, rest = text.partition("</think>")
        return reasoning.replace("<think>", "").strip(), rest
    if "<think>" in text:  # never closed: reasoning runs until the first action tag
        before, _, after = text.partition("<think>")
        cut = min(
            (i for i in (after.find("<tool_call>"), after.find("<answer>")) if i >= 0),
            default=len(after),
        )
        return after[:cut].strip(), before + after[cut:]
    return None, text


def _think_blocks(text):
    """``_THINK.findall(text)`` and ``_THINK.sub("", text)`` in one pass of `str.find` (the
    lazy regex tries the closing tag at every character of a long reasoning, twice)."""
    blocks, outside, position = [], [], 0
    while (start := text.find("<think>", position)) >= 0:
        end = text.find("</think>", start + len("<think>"))
        if end < 0:  # no later block can close either
            break
        blocks.append(text[start + len("<think>") : end])
        outside.append(text[position:start])
        position = end + len("</think>")
    outside.append(text[position:])
    return blocks, "".join(outside)


def _read_tool_call(block, errors):
    """One ``<tool_call>`` block -> `ToolCall`, or ``None`` with the reason added to ``errors``."""
    payload = _loads_relaxed(_FENCE.sub("", block.strip()))
    if not isinstance(payload, dict):
        errors.append(
            'the tool call is not a valid JSON object; write <tool_call>\n{"name": <tool name>, '
            '"arguments": {<argument>: <value>}}\n</tool_call>'
        )
        return None
    name = payload.get("name")
    if not isinstance(name, str) or not name:
        errors.append('the tool call has no "name" string naming the tool')
        return None
    arguments = payload.get("arguments", payload.get("parameters", {}))
    if isinstance(arguments, str):  # OpenAI-style arguments serialised as a string
        arguments = _loads_relaxed(arguments) if arguments.strip() else {}
    if not isinstance(arguments, dict):
        errors.append(f'the "arguments" of the call to {name!r} must be a JSON object')
        return None
    return ToolCall(name, arguments)


def _read_answer(block, errors):
    """One ``<answer>`` block -> (label, justification), or (None, None), reason in ``errors``."""
    labels = [_normalise_label(match.group(1)) for match in _BOXED.finditer(block)]
    if not labels:
        errors.append("the answer has no \\boxed{YES} or \\boxed{NO}")
        return None, None
    invalid = [label for label in labels if label not in ("YES", "NO")]
    if invalid:
        errors.append(f"the answer label must be YES or NO, got {invalid[0]!r}")
        return None, None
    if len(set(labels)) > 1:
        errors.append("the answer boxes both YES and NO; give exactly one label")
        return None, None
    justification = " ".join(_BOXED.sub(" ", block).split())
    return labels[0], justification


def _normalise_label(content):
    content = content.strip()
    while (wrapped := _TEXT_WRAPPER.match(content)) is not None:
        content = wrapped.group(1).strip()
    return content.strip(" \t\n.!*'\"").upper()


def _loads_relaxed(text):
    """Parse a JSON value the way models write it; ``None`` when it cannot be read."""
    start, end = text.find("{"), text.rfind("}")
    candidates = [text] if start < 0 or end < start else [text, text[start : end + 1]]
    for candidate in candidates:
        for relax in (False, True):  # relaxed only if strict JSON fails, the rare case
            try:
                return json.loads(_relax(candidate) if relax else candidate)
            except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
                continue
    return None


_PYTHON_LITERALS = {"True": "true", "False": "false", "None": "null"}
_TRAILING_COMMA = re.compile(r",\s*[}\]]")
_WORD = re.compile(r"\w+")


def _relax(text):
    """Rewrite single-quoted strings, trailing commas and Python literals into strict JSON."""
    out, i, n = [], 0, len(text)
    while i < n:
        char = text[i]
        if char in "\"'":
            i = _copy_string(text, i, out)
            continue
        if char == "," and _TRAILING_COMMA.match(text, i):
            i += 1
            continue
        if char.isalpha() or char == "_":
            word = _WORD.match(text, i).group(0)
            out.append(_PYTHON_LITERALS.get(word, word))
            i += len(word)
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _copy_string(text, i, out):
    """Copy the string literal opening at ``text[i]`` to ``out`` as JSON; return the next index."""
    quote, i = text[i], i + 1
    out.append('"')
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            following = text[i + 1]
            # \' is not a JSON escape; every other escape is copied as written.
            out.append("'" if following == "'" else char + following)
            i += 2
            continue
        if char == quote:
            out.append('"')
            return i + 1
        out.append('\\"' if char == '"' else char)
        i += 1
    return i  # unterminated: json.loads will reject it
