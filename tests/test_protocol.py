"""The released dialogue protocol: tool schemas, prompts and tolerant parsing of assistant text."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spec_o3.agent.protocol import (
    SYSTEM_PROMPT,
    ParsedResponse,
    ToolCall,
    format_answer,
    format_assistant,
    format_tool_call,
    parse_response,
    system_prompt,
    tool_schema,
    tools_block,
    user_prompt,
)
from spec_o3.agent.tools import TOOLSETS, InspectionEnvironment, tool_schemas
from spec_o3.tasks import TASKS

# --------------------------------------------------------------------------------------------------
# Schemas and prompts
# --------------------------------------------------------------------------------------------------


def test_released_tool_schema():
    (schema,) = tool_schemas("default")
    function = schema["function"]
    assert schema["type"] == "function"
    assert function["name"] == "spectral_visualization_tool"
    parameters = function["parameters"]
    assert parameters["required"] == ["wavelength_range"]
    assert parameters["properties"]["wavelength_range"]["type"] == "array"
    assert parameters["properties"]["wavelength_range"]["items"] == {"type": "number"}
    assert parameters["properties"]["label"]["type"] == "string"
    assert "Angstrom" in parameters["properties"]["wavelength_range"]["description"]


@pytest.mark.parametrize("name", TOOLSETS["extended"])
def test_schema_matches_transformers(name):
    transformers_utils = pytest.importorskip("transformers.utils")
    tool = getattr(InspectionEnvironment, name)
    assert tool_schema(tool) == transformers_utils.get_json_schema(tool)
    # key order too: the schema text shown to the model must be identical
    assert json.dumps(tool_schema(tool)) == json.dumps(transformers_utils.get_json_schema(tool))


def test_schema_of_literal_and_multiline_docstring():
    from typing import Literal

    def pick(kind: Literal["a", "b"], scale: float = 1.0, flags: list[bool] | None = None):
        """Pick something.

        Args:
            kind: Which one,
                continued on a second line.
            scale (float): A factor.
            flags: Switches.

        Returns:
            Nothing useful.
        """

    function = tool_schema(pick)["function"]
    assert function["description"] == "Pick something."
    properties = function["parameters"]["properties"]
    assert properties["kind"] == {
        "type": "string",
        "enum": ["a", "b"],
        "description": "Which one, continued on a second line.",
    }
    assert properties["scale"] == {"type": "number", "description": "A factor."}
    assert properties["flags"] == {
        "type": "array",
        "items": {"type": "boolean"},
        "nullable": True,
        "description": "Switches.",
    }
    assert function["parameters"]["required"] == ["kind"]


def test_schema_errors_name_the_problem():
    def undocumented(x: float):
        """No args section."""

    def untyped(x):
        """Untyped.

        Args:
            x: A value.
        """

    def exotic(x: complex):
        """Exotic.

        Args:
            x: A value.
        """

    with pytest.raises(ValueError, match="does not describe argument 'x'"):
        tool_schema(undocumented)
    with pytest.raises(TypeError, match="no type hint"):
        tool_schema(untyped)
    with pytest.raises(TypeError, match="no JSON schema"):
        tool_schema(exotic)


def test_tools_block_is_the_qwen25_text():
    schema = {"type": "function", "function": {"name": "f", "description": "d – Å"}}
    expected = (
        "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
        '{"type": "function", "function": {"name": "f", "description": "d – Å"}}\n</tools>\n\n'
        "For each function call, return a json object with function name and arguments within "
        "<tool_call></tool_call> XML tags:\n<tool_call>\n"
        '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
    )
    assert tools_block([schema]) == expected
    assert system_prompt([schema]) == f"{SYSTEM_PROMPT}\n\n{expected}"
    assert SYSTEM_PROMPT == "You are a helpful assistant."


@pytest.mark.parametrize("task_id", list(TASKS))
def test_user_prompt_states_question_and_indicators(task_id):
    task = TASKS[task_id]
    prompt = user_prompt(task, redshift=0.0123)
    assert prompt.startswith(task.question)
    assert all(indicator in prompt for indicator in task.indicators)
    assert "z = 0.01230" in prompt
    assert "\\boxed{YES}" in prompt and "<answer>" in prompt


# --------------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------------

CALL = {
    "name": "spectral_visualization_tool",
    "arguments": {"wavelength_range": [4950, 5250], "label": "C2"},
}


def test_parse_released_format():
    text = format_assistant("Check C2.", format_tool_call(CALL["name"], CALL["arguments"]))
    parsed = parse_response(text)
    assert parsed == ParsedResponse(think="Check C2.", tool_calls=[ToolCall(**CALL)])


def test_parse_answer():
    parsed = parse_response(
        "<think>Bands everywhere.</think>\n<answer>\\boxed{YES} Strong C2 at 5165 Å.</answer>"
    )
    assert parsed.answers == ["YES"]
    assert parsed.answer_text == "Strong C2 at 5165 Å."
    assert parsed.think == "Bands everywhere."
    assert parsed.errors == []


@pytest.mark.parametrize(
    "block",
    [
        '```json\n{"name": "f", "arguments": {"r": [4950, 5250], "label": "C2"}}\n```',
        "{'name': 'f', 'arguments': {'r': [4950, 5250], 'label': 'C2'}}",
        '{"name": "f", "arguments": {"r": [4950, 5250,], "label": "C2",},}',
        'I will zoom: {"name": "f", "parameters": {"r": [4950, 5250], "label": "C2"}} now',
        '{"name": "f", "arguments": "{\\"r\\": [4950, 5250], \\"label\\": \\"C2\\"}"}',
    ],
    ids=[
        "code-fence",
        "single-quotes",
        "trailing-commas",
        "prose-and-parameters",
        "string-arguments",
    ],
)
def test_parse_tolerated_tool_call_slips(block):
    parsed = parse_response(f"<think>zoom</think>\n<tool_call>\n{block}\n</tool_call>")
    assert parsed.tool_calls == [ToolCall("f", {"r": [4950, 5250], "label": "C2"})]
    assert parsed.errors == []


def test_parse_python_literals_and_quotes_inside_strings():
    parsed = parse_response(
        "<tool_call>{'name': 'f', 'arguments': {'a': True, 'b': None, 'c': 'it\\'s \"x\"'}}"
        "</tool_call>"
    )
    assert parsed.tool_calls == [ToolCall("f", {"a": True, "b": None, "c": 'it\'s "x"'})]


def test_parse_unclosed_blocks_at_end():
    # servers that stop on the closing tag drop it
    parsed = parse_response('<think>a</think><tool_call>\n{"name": "f", "arguments": {}}')
    assert parsed.tool_calls == [ToolCall("f", {})]
    assert parse_response("<answer>\\boxed{NO} nothing").answers == ["NO"]


def test_parse_think_variants():
    # the opening tag may belong to the prompt
    parsed = parse_response("reasoning here</think>\n<answer>\\boxed{NO}</answer>")
    assert parsed.think == "reasoning here" and parsed.answers == ["NO"]
    # never closed: reasoning stops at the first action tag
    parsed = parse_response('<think>hmm <tool_call>{"name": "f", "arguments": {}}</tool_call>')
    assert parsed.think == "hmm" and parsed.tool_calls == [ToolCall("f", {})]
    assert parse_response("<answer>\\boxed{NO}</answer>").think is None


def test_tags_inside_reasoning_are_ignored():
    parsed = parse_response(
        "<think>I could write <answer>\\boxed{YES}</answer> but first "
        "<tool_call>{}</tool_call></think>"
        '<tool_call>{"name": "f", "arguments": {}}</tool_call>'
    )
    assert parsed.answers == [] and parsed.tool_calls == [ToolCall("f", {})] and parsed.errors == []


@pytest.mark.parametrize(
    "box, label",
    [
        ("YES", "YES"),
        ("yes", "YES"),
        (" No. ", "NO"),
        ("\\text{Yes}", "YES"),
        ("\\mathrm{ NO }", "NO"),
    ],
)
def test_parse_label_spellings(box, label):
    assert parse_response(f"<answer>\\boxed{{{box}}}</answer>").answers == [label]


@pytest.mark.parametrize(
    "text, message",
    [
        ("<tool_call>{not json at all</tool_call>", "not a valid JSON object"),
        ("<tool_call>[1, 2]</tool_call>", "not a valid JSON object"),
        ('<tool_call>{"arguments": {}}</tool_call>', 'no "name"'),
        ('<tool_call>{"name": "f", "arguments": [1]}</tool_call>', "must be a JSON object"),
        ("<answer>YES, a carbon star</answer>", "no \\boxed"),
        ("<answer>\\boxed{MAYBE}</answer>", "must be YES or NO"),
        ("<answer>\\boxed{YES} or \\boxed{NO}</answer>", "both YES and NO"),
        ("The answer is \\boxed{YES}.", "inside <answer></answer>"),
    ],
)
def test_parse_errors_are_worded_for_the_model(text, message):
    parsed = parse_response(text)
    assert parsed.tool_calls == [] and parsed.answers == []
    assert len(parsed.errors) == 1 and message in parsed.errors[0]


def test_parse_several_blocks():
    parsed = parse_response(
        '<tool_call>{"name": "a", "arguments": {}}</tool_call>'
        '<tool_call>{"name": "b", "arguments": {}}</tool_call>'
        "<answer>\\boxed{YES}</answer><answer>\\boxed{NO}</answer>"
    )
    assert [call.name for call in parsed.tool_calls] == ["a", "b"]
    assert parsed.answers == ["YES", "NO"]


def test_parse_non_string():
    parsed = parse_response(None)
    assert isinstance(parsed, ParsedResponse) and parsed.errors


def test_deeply_nested_json_does_not_raise():
    parsed = parse_response("<tool_call>" + "[" * 100_000 + "</tool_call>")
    assert parsed.tool_calls == [] and parsed.errors


def test_format_answer_rejects_other_labels():
    with pytest.raises(ValueError, match="YES' or 'NO"):
        format_answer("MAYBE")


# --------------------------------------------------------------------------------------------------
# Property-based fuzzing
# --------------------------------------------------------------------------------------------------

FRAGMENTS = st.sampled_from(
    [
        "<think>",
        "</think>",
        "<tool_call>",
        "</tool_call>",
        "<answer>",
        "</answer>",
        "\\boxed{",
        "}",
        "{",
        "[",
        "]",
        '"',
        "'",
        ",",
        ":",
        '"name"',
        '"arguments"',
        '"spectral_visualization_tool"',
        "YES",
        "NO",
        "\\text{",
        "```json",
        "```",
        "True",
        "None",
        "\n",
        " ",
        "\\",
        "4950",
        "-1e309",
        "NaN",
        "<tool_response>",
    ]
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=12,
)


def _check_structure(parsed):
    assert isinstance(parsed, ParsedResponse)
    assert parsed.think is None or isinstance(parsed.think, str)
    assert all(
        isinstance(call, ToolCall)
        and isinstance(call.name, str)
        and isinstance(call.arguments, dict)
        for call in parsed.tool_calls
    )
    assert all(label in ("YES", "NO") for label in parsed.answers)
    assert (parsed.answer_text is None) == (not parsed.answers)
    assert all(isinstance(error, str) and error for error in parsed.errors)


@settings(max_examples=200, deadline=None)  # no timing: the machine may be busy
@given(st.lists(FRAGMENTS | st.text(max_size=8), max_size=40).map("".join))
def test_fuzz_parser_never_raises(text):
    _check_structure(parse_response(text))


@settings(max_examples=300, deadline=None)  # no timing: the machine may be busy
@given(st.lists(FRAGMENTS | st.sampled_from(["</thin", "k>", "<", ">"]), max_size=30).map("".join))
def test_fuzz_reasoning_is_split_off_as_the_regex_reads_it(text):
    """The one-pass reader of ``<think>`` blocks finds what the regular expression finds."""
    from spec_o3.agent.protocol import _THINK, _think_blocks

    assert _think_blocks(text) == (_THINK.findall(text), _THINK.sub("", text))


@settings(max_examples=200, deadline=None)  # no timing: the machine may be busy
@given(st.text())
def test_fuzz_parser_on_arbitrary_text(text):
    _check_structure(parse_response(text))


@settings(max_examples=100, deadline=None)  # no timing: the machine may be busy
@given(
    name=st.text(min_size=1).filter(lambda s: "<" not in s),
    arguments=st.dictionaries(st.text(), JSON_VALUES, max_size=4),
    think=st.text().filter(lambda s: "<" not in s),
)
def test_fuzz_tool_call_round_trip(name, arguments, think):
    parsed = parse_response(format_assistant(think, format_tool_call(name, arguments)))
    assert parsed.tool_calls == [ToolCall(name, arguments)]
    assert parsed.think == think.strip()


@settings(max_examples=200, deadline=None)  # no timing: the machine may be busy
@given(
    verdict=st.sampled_from(["YES", "NO"]),
    justification=st.text().filter(lambda s: "<" not in s and "\\boxed" not in s),
)
def test_fuzz_answer_round_trip(verdict, justification):
    parsed = parse_response(format_assistant("done", format_answer(verdict, justification)))
    assert parsed.answers == [verdict]
    assert parsed.answer_text == " ".join(justification.split())


TAGGED_TEXT = st.lists(FRAGMENTS | st.text(max_size=6), max_size=8).map("".join)


@settings(max_examples=300, deadline=None)  # no timing: the machine may be busy
@given(
    think=TAGGED_TEXT,
    name=TAGGED_TEXT,
    arguments=st.dictionaries(TAGGED_TEXT, JSON_VALUES | TAGGED_TEXT, max_size=3),
    verdict=st.sampled_from(["YES", "NO"]),
    justification=TAGGED_TEXT,
)
def test_fuzz_a_scripted_message_says_what_the_parser_reads(
    think, name, arguments, verdict, justification
):
    """The reading a scripted message carries is the parser's reading of its text; a text the
    parser must read itself (tags, boxes) comes as a plain string, which the loop parses."""
    from spec_o3.agent.protocol import ScriptedMessage, scripted_message

    for message in (
        scripted_message(think, tool_call=(name, arguments)),
        scripted_message(think, answer=(verdict, justification)),
    ):
        if isinstance(message, ScriptedMessage):
            assert message.parsed == parse_response(message)
        else:
            assert type(message) is str
