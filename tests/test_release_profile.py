"""The "release" protocol profile: what the released Spec-o3 checkpoints saw, rebuilt from the
reference sheet (``released-protocol.md``) and compared with what spec-o3 shows them."""

import io
import json

import astropy.units as u
import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import uniform_filter
from specutils import Spectrum

from spec_o3.agent import Inspector, Policy
from spec_o3.agent.inspector import Episode
from spec_o3.agent.protocol import (
    default_protocol,
    format_answer,
    format_assistant,
    format_tool_call,
    system_prompt,
    token_limits,
)
from spec_o3.agent.tools import InspectionEnvironment, ToolCallError, run_tool
from spec_o3.analysis import render_window
from spec_o3.bench import Suite

TOOL = "spectral_visualization_tool"
PROMPT = (
    "Analyze the provided spectrum to determine if it is a Carbon Star (C-type).\n\n"
    "Guide: look for the C2 Swan bands at 4737, 5165 and 5636 Å and CN at 7872 Å."
)

# The released tool's schema line, written out from the reference sheet (not from spec-o3).
RELEASED_TOOLS_LINE = (
    '{"type": "function", "function": {"name": "spectral_visualization_tool", "description": '
    '"A tool for visualizing spectral data with wavelength range zooming capabilities.", '
    '"parameters": {"type": "object", "properties": {"wavelength_range": {"type": "array", '
    '"description": "Wavelength range to focus on [min_wavelength, max_wavelength] in Angstroms"}, '
    '"label": {"type": "string", "description": "Optional label for the spectral feature being '
    'analyzed"}}, "required": ["wavelength_range"]}}}'
)
# The Qwen2.5 chat template's tool section around the schema lines.
TOOLS_HEADER = (
    "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
)
TOOLS_FOOTER = (
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments "
    "within <tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
)


def literal(text):
    """Jinja output of ``text`` exactly (literal template text would meet trim_blocks)."""
    return "{{ " + json.dumps(text) + " }}"


# The released training's chat template, restated from the sheet for the turns used here: the
# system text and the tools, user turns of text and images, assistant text, and tool messages
# rendered as user turns wrapped in <tool_response>.
RELEASED_TEMPLATE = (
    "{% macro parts(content) %}{% for item in content %}"
    "{% if item.type == 'text' %}{{ item.text }}{% else %}"
    + literal("<|vision_start|><|image_pad|><|vision_end|>")
    + "{% endif %}{% endfor %}{% endmacro %}"
    + literal("<|im_start|>system\n")
    + "{{ parts(messages[0].content) }}{% if tools %}"
    + literal(TOOLS_HEADER)
    + "{% for tool in tools %}"
    + literal("\n")
    + "{{ tool | tojson }}{% endfor %}"
    + literal(TOOLS_FOOTER)
    + "{% endif %}"
    + literal("<|im_end|>\n")
    + "{% for message in messages[1:] %}{% if message.role == 'tool' %}"
    + literal("<|im_start|>user\n<tool_response>\n")
    + "{{ parts(message.content) }}"
    + literal("\n</tool_response><|im_end|>\n")
    + "{% else %}"
    + literal("<|im_start|>")
    + "{{ message.role }}"
    + literal("\n")
    + "{{ parts(message.content) }}"
    + literal("<|im_end|>\n")
    + "{% endif %}{% endfor %}{% if add_generation_prompt %}"
    + literal("<|im_start|>assistant\n")
    + "{% endif %}"
)


class Scripted(Policy):
    """Replays one script: the n-th message at the n-th turn."""

    name = "scripted"

    def __init__(self, script, protocol="release"):
        self.script, self.protocol = script, protocol

    def respond(self, episodes):
        return [self.script[len(episode.trajectory.steps)] for episode in episodes]


def call(arguments, think="Zoom on the C2 band."):
    return format_assistant(think, format_tool_call(TOOL, arguments))


ANSWER = format_assistant("Swan bands are deep.", format_answer("YES", "C2 Swan bands."))


@pytest.fixture(scope="module")
def spectrum():
    """A simulated carbon star (observed frame, with its redshift in meta)."""
    from spec_o3.training.data import simulated_suite

    suite = simulated_suite("cc", 2, seed=0)
    return suite.spectrum(int(np.flatnonzero(suite.table["label"] == "YES")[0]))


def png(image):
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------------
# The profile: system line, tool texts, one call per turn, frame, budget
# --------------------------------------------------------------------------------------------------


def test_release_system_prompt_is_the_trained_one(spectrum):
    episode = Episode(spectrum, "cc", protocol="release", render_images=False)
    expected = "You are a helpful assistant." + TOOLS_HEADER + "\n" + RELEASED_TOOLS_LINE
    assert episode.trajectory.system == expected + TOOLS_FOOTER
    assert system_prompt(protocol="release") == expected + TOOLS_FOOTER
    with pytest.raises(ValueError, match="except under the release protocol"):
        system_prompt([json.loads(RELEASED_TOOLS_LINE)], protocol="release")
    # spec-o3's own profile keeps its richer schema
    own = Episode(spectrum, "cc", render_images=False).trajectory.system
    assert '"items"' in own and RELEASED_TOOLS_LINE not in own


def test_release_tool_texts(spectrum):
    env = InspectionEnvironment(spectrum, redshift=0.0, render_images=False)

    def text(arguments):
        return run_tool(env, TOOL, arguments, protocol="release").text

    assert text({"wavelength_range": [4950, 5250], "label": "C2", "zoom": 3}) == (
        "Generated spectral visualization focused on wavelength range (4950, 5250) Å for C2."
    )
    assert text({"wavelength_range": [4950.0, 5250.5]}) == (
        "Generated spectral visualization focused on wavelength range (4950.0, 5250.5) Å."
    )
    assert text({}) == "Generated full spectrum visualization."
    assert text({"label": "overview"}) == "Generated full spectrum visualization for overview."
    lo, hi = spectrum.spectral_axis.to_value(u.AA)[[0, -1]]
    for bad in ([9500, 9900], [5250, 4950], [4950], ["a", "b"]):
        with pytest.raises(ToolCallError) as error:
            text({"wavelength_range": bad})
        shown = f"[{bad[0]}, {bad[1]}]" if len(bad) == 2 else str(bad)
        assert str(error.value) == (
            f"The specified wavelength range {shown} is invalid or outside the available data "
            f"range [{lo:.1f}, {hi:.1f}]."
        )
    # spec-o3's profile refuses the extra argument and the missing range
    with pytest.raises(ToolCallError, match="zoom"):
        run_tool(env, TOOL, {"wavelength_range": [4950, 5250], "zoom": 3})


def test_release_counts_masked_pixels_as_the_released_tool_did():
    wavelength = np.linspace(5000, 5100, 101)
    flux = np.ones(101)
    flux[50] = 40.0
    masked = Spectrum(flux=flux * u.Jy, spectral_axis=wavelength * u.AA, mask=flux > 2)
    env = InspectionEnvironment(masked, redshift=0.0, render_images=False)
    released = run_tool(env, TOOL, {"wavelength_range": [5040, 5060]}, protocol="release")
    own = run_tool(env, TOOL, {"wavelength_range": [5040, 5060]})
    assert released.data["n_points"] == 21 and released.data["flux_range"] == [1.0, 40.0]
    assert own.data["n_points"] == 20 and own.data["flux_range"] == [1.0, 1.0]


def test_surplus_calls_are_dropped_silently(spectrum):
    two_calls = (
        call({"wavelength_range": [4950, 5250]})
        + "\n"
        + format_tool_call(TOOL, {"wavelength_range": [6000, 6300]})
    )
    for protocol, note in (("release", False), ("spec-o3", True)):
        result = Inspector(Scripted([two_calls, ANSWER], protocol), render_images=False).run(
            spectrum, "cc"
        )
        assert result.verdict == "YES"
        assert ("Note: only one tool call" in result.trajectory.steps[0].result_text) is note


def test_an_unreadable_call_ends_a_release_episode(spectrum):
    broken = format_assistant("Zoom.", "<tool_call>\n{'name': oops\n</tool_call>")
    result = Inspector(Scripted([broken, ANSWER]), render_images=False).run(spectrum, "cc")
    assert result.status == "no_answer" and len(result.trajectory.steps) == 1
    assert result.error.startswith("the tool call is not a valid JSON object")


def test_null_redshift_stays_in_the_observed_frame(spectrum):
    observed = Spectrum(flux=spectrum.flux, spectral_axis=spectrum.spectral_axis)  # no redshift
    release = Episode(observed, "cc", protocol="release", render_images=False)
    assert release.redshift == 0.0 and release.redshift_source == "assumed"
    assert "rest frame" not in release.trajectory.prompt
    stored = Episode(spectrum, "cc", protocol="release", render_images=False)
    assert stored.redshift == spectrum.meta["redshift"]


def test_defaults_and_budget():
    assert default_protocol("Maxwell-Jia/spec-o3-7b") == "release"
    assert default_protocol("~/models/Spec-o3-3B") == "release"
    assert default_protocol("Qwen/Qwen2.5-VL-7B-Instruct") == "spec-o3"
    assert token_limits("release", per_turn_default=1024) == (None, 32768)
    assert token_limits("release", 512, 4096, per_turn_default=1024) == (512, 4096)
    with pytest.raises(ValueError, match="response_budget must be at least 1"):
        token_limits("release", budget=0, per_turn_default=1024)
    with pytest.raises(ValueError, match="unknown protocol"):
        token_limits("paper", per_turn_default=1024)


def test_toolset_must_be_the_released_one(spectrum):
    with pytest.raises(ValueError, match="released tool only"):
        Episode(spectrum, "cc", protocol="release", toolset="extended", render_images=False)


# --------------------------------------------------------------------------------------------------
# The release renderer against a matplotlib drawing from the reference sheet
# --------------------------------------------------------------------------------------------------


def sheet_plot(wavelength, flux, size):
    """The zoom plot as the reference sheet describes it, drawn with pyplot."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import AutoMinorLocator, MultipleLocator

    figure, axes = plt.subplots(figsize=size, dpi=80)
    axes.plot(wavelength, flux, color="blue", linewidth=1, alpha=0.8)
    axes.set_title("Spectrum", fontsize=14, fontweight="bold", pad=20)
    axes.set_xlabel("Wavelength (Å)", fontsize=12, fontweight="bold")
    axes.set_ylabel("Flux", fontsize=12, fontweight="bold")
    axes.grid(True, which="major", alpha=0.3)
    axes.grid(True, which="minor", alpha=0.1)
    axes.xaxis.set_major_locator(MultipleLocator(100))
    axes.xaxis.set_minor_locator(MultipleLocator(20))
    axes.yaxis.set_minor_locator(AutoMinorLocator())
    axes.tick_params(which="both", direction="in")
    stats = (
        f"Data points: {wavelength.size}\n"
        f"λ range: {wavelength[0]:.1f} - {wavelength[-1]:.1f} Å\n"
        f"Flux range: {flux.min():.2e} - {flux.max():.2e}"
    )
    axes.text(
        0.02,
        0.98,
        stats,
        transform=axes.transAxes,
        verticalalignment="top",
        bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.8},
    )
    plt.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(figure)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def ssim(a, b):
    """Mean structural similarity of two grey images (7-pixel windows)."""
    a, b = (np.asarray(image.convert("L"), float) for image in (a, b))
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mean_a, mean_b = uniform_filter(a, 7), uniform_filter(b, 7)
    var_a = uniform_filter(a * a, 7) - mean_a**2
    var_b = uniform_filter(b * b, 7) - mean_b**2
    cov = uniform_filter(a * b, 7) - mean_a * mean_b
    index = ((2 * mean_a * mean_b + c1) * (2 * cov + c2)) / (
        (mean_a**2 + mean_b**2 + c1) * (var_a + var_b + c2)
    )
    return float(index.mean())


def aligned_ssim(a, b, shift=2):
    """`ssim` of two images at their best alignment within ``shift`` pixels (a tight bounding box
    may place the drawing a pixel apart)."""
    width, height = min(a.width, b.width) - 2 * shift, min(a.height, b.height) - 2 * shift
    middle = b.crop((shift, shift, shift + width, shift + height))
    return max(
        ssim(a.crop((dx, dy, dx + width, dy + height)), middle)
        for dx in range(2 * shift + 1)
        for dy in range(2 * shift + 1)
    )


def test_release_renderer_draws_the_sheet_plot(spectrum):
    z = spectrum.meta["redshift"]
    image = render_window(spectrum, (4900, 5200) * u.AA, redshift=z, style="release")
    rest = spectrum.spectral_axis.to_value(u.AA) / (1 + z)
    inside = (rest >= 4900) & (rest <= 5200)
    reference = sheet_plot(rest[inside], spectrum.flux.value[inside], (8, 5))
    assert abs(image.width - reference.width) <= 2 and abs(image.height - reference.height) <= 2
    assert abs(image.width - 632) <= 2 and abs(image.height - 392) <= 2  # the sheet's size
    assert aligned_ssim(image, reference) > 0.95
    # and not the spec-o3 style
    own = render_window(spectrum, (4900, 5200) * u.AA, redshift=z)
    assert own.size != image.size or ssim(own, image) < 0.8


def test_release_style_takes_no_extras(spectrum):
    with pytest.raises(ValueError, match="style='release' draws no"):
        render_window(spectrum, (4900, 5200) * u.AA, title="C2", style="release")
    with pytest.raises(ValueError, match="style must be"):
        render_window(spectrum, style="paper")


# --------------------------------------------------------------------------------------------------
# SpecVI-Bench as released: verl Parquet rows; the cold-start ShareGPT file
# --------------------------------------------------------------------------------------------------


def release_row(spectrum, index, label, redshift, prompt=PROMPT):
    """One SpecVI-Bench row in the released verl layout."""
    overview = render_window(spectrum, redshift=redshift, style="release")
    arrays = {
        "wavelength": spectrum.spectral_axis.to_value(u.AA).tolist(),
        "flux": spectrum.flux.value.tolist(),
        "redshift": redshift,
    }
    return {
        "data_source": "specvi_bench/carbon_star",
        "prompt": [{"role": "user", "content": "<image>" + prompt}],
        "images": [{"bytes": png(overview), "path": None}],
        "ability": "astronomy",
        "reward_model": {"style": "rule", "ground_truth": label},
        "extra_info": {
            "index": index,
            "name": f"lamost-{index}",
            "tools_kwargs": {TOOL: {"create_kwargs": arrays}},
        },
        "agent_name": "tool_agent",
    }


@pytest.fixture(scope="module")
def release_parquet(spectrum, tmp_path_factory):
    pyarrow = pytest.importorskip("pyarrow.parquet", reason="Parquet needs pyarrow")
    import pyarrow as pa

    z = spectrum.meta["redshift"]
    rows = [release_row(spectrum, 0, "YES", z), release_row(spectrum, 1, "NO", None)]
    path = tmp_path_factory.mktemp("specvi") / "test.parquet"
    pyarrow.write_table(pa.Table.from_pylist(rows), path)
    return path


def test_suite_reads_the_released_parquet(release_parquet, spectrum):
    suite = Suite.read(release_parquet)
    assert list(suite.table["task"]) == ["carbon_star"] * 2
    assert list(suite.table["label"]) == ["YES", "NO"] and list(suite.table["id"]) == ["0", "1"]
    assert suite.table["redshift"][0] == spectrum.meta["redshift"]
    assert np.isnan(suite.table["redshift"][1])
    assert list(suite.table["name"]) == ["lamost-0", "lamost-1"]
    read = suite.spectrum(0)
    np.testing.assert_array_equal(read.flux.value, spectrum.flux.value)
    assert read.meta["prompt"] == PROMPT and suite.table["question"][0] == PROMPT
    # the row's prompt and overview are the first turn under the release profile
    episode = Episode(read, "cc", redshift=suite.table["redshift"][0], protocol="release")
    image, text = episode.messages[1]["content"]
    assert text == {"type": "text", "text": PROMPT}
    assert image["image"].tobytes() == Image.open(io.BytesIO(read.meta["overview"])).tobytes()
    own = Episode(read, "cc", redshift=0.0, render_images=False)
    assert own.trajectory.prompt != PROMPT


def test_released_prompt_must_open_with_the_image(spectrum, tmp_path):
    pyarrow = pytest.importorskip("pyarrow.parquet", reason="Parquet needs pyarrow")
    import pyarrow as pa

    row = release_row(spectrum, 0, "YES", None)
    row["prompt"][0]["content"] = PROMPT
    pyarrow.write_table(pa.Table.from_pylist([row]), tmp_path / "bad.parquet")
    with pytest.raises(ValueError, match="row 0: a released prompt has one user message"):
        Suite.read(tmp_path / "bad.parquet")


def test_evaluate_reads_the_released_parquet(release_parquet, tmp_path, capsys):
    from spec_o3.cli import main

    status = main(["evaluate", "--suite", str(release_parquet), "--output", str(tmp_path / "out")])
    assert status in (0, None), capsys.readouterr().err
    predictions = (tmp_path / "out" / "predictions.ecsv").read_text()
    assert "lamost-0" in predictions and "answered" in predictions


def test_evaluate_asks_a_served_model_with_the_rows_prompt(release_parquet, tmp_path):
    import base64

    from test_backend_openai import FakeServer

    from spec_o3.cli import main

    def reply(body):
        turns = sum(message["role"] == "assistant" for message in body["messages"])
        text = call({"wavelength_range": [4950, 5250], "label": "C2"}) if turns == 0 else ANSWER
        return 200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}

    with FakeServer(reply) as server:
        arguments = ["evaluate", "--suite", str(release_parquet), "--backend", "openai"]
        arguments += ["--base-url", server.base_url, "--model", "served-alias"]
        arguments += ["--protocol", "release", "--logprobs", "off", "--output", str(tmp_path)]
        assert main(arguments) == 0
    suite = Suite.read(release_parquet)
    overviews = {
        Image.open(io.BytesIO(suite.spectrum(i).meta["overview"])).tobytes() for i in (0, 1)
    }
    sent = set()
    for _, body in server.requests:
        if len(body["messages"]) == 2:  # the first turn of each question
            system, (image, text) = body["messages"][0]["content"], body["messages"][1]["content"]
            assert RELEASED_TOOLS_LINE in system and text == {"type": "text", "text": PROMPT}
            png_bytes = base64.b64decode(image["image_url"]["url"].split(",", 1)[1])
            sent.add(Image.open(io.BytesIO(png_bytes)).tobytes())
    assert sent == overviews  # each question shown its own row's image
    answered = next(body for _, body in server.requests if len(body["messages"]) == 4)
    tool_text = answered["messages"][3]["content"][-1]["text"]
    assert tool_text == (
        "Generated spectral visualization focused on wavelength range (4950, 5250) Å for C2.\n"
        "</tool_response>"
    )


def test_cold_start_sharegpt_loads_unchanged(spectrum, tmp_path):
    pytest.importorskip("datasets", reason="SFT data need the datasets package")
    from spec_o3.training.data import load_sft_dataset

    overview = render_window(spectrum, style="release")
    zoom = render_window(spectrum, (4950, 5250) * u.AA, style="release")
    overview.save(tmp_path / "overview.png")
    zoom.save(tmp_path / "zoom.png")
    system = "You are a helpful assistant." + TOOLS_HEADER + "\n" + RELEASED_TOOLS_LINE
    record = {
        "conversations": [
            {"from": "system", "value": system + TOOLS_FOOTER},
            {"from": "human", "value": "<image>" + PROMPT},
            {"from": "gpt", "value": call({"wavelength_range": [4950, 5250], "label": "C2"})},
            {
                "from": "human",
                "value": "<tool_response>\n<image>Generated spectral visualization focused on "
                "wavelength range (4950, 5250) Å for C2.\n</tool_response>",
            },
            {"from": "gpt", "value": ANSWER},
        ],
        "images": ["overview.png", "zoom.png"],
    }
    (tmp_path / "train_sharegpt.json").write_text(json.dumps([record], ensure_ascii=False))
    example = load_sft_dataset(tmp_path / "train_sharegpt.json")[0]
    roles = [message["role"] for message in example["messages"]]
    assert roles == ["system", "user", "assistant", "user", "assistant"]
    assert example["messages"][0]["content"][0]["text"] == system + TOOLS_FOOTER
    tool_turn = [part["text"] for part in example["messages"][3]["content"]]
    assert tool_turn == [
        "<tool_response>\n",
        None,
        "Generated spectral visualization focused on wavelength range (4950, 5250) Å for C2.\n"
        "</tool_response>",
    ]
    assert [image.size for image in example["images"]] == [overview.size, zoom.size]


def test_sft_data_in_the_release_format(release_parquet, tmp_path):
    pytest.importorskip("datasets", reason="SFT data need the datasets package")
    from spec_o3.cli import main
    from spec_o3.training.data import load_sft_dataset

    out = tmp_path / "sft"
    arguments = ["train", "sft-data", "--suite", str(release_parquet), "--out", str(out)]
    assert main([*arguments, "--protocol", "release", "--keep-incorrect"]) == 0
    example = load_sft_dataset(out)[0]
    assert RELEASED_TOOLS_LINE in example["messages"][0]["content"][0]["text"]
    assert example["messages"][1]["content"][1]["text"] == PROMPT  # the row's own prompt
    tool_texts = [
        part["text"]
        for message in example["messages"][3::2]
        for part in message["content"]
        if part["text"]
    ]
    assert tool_texts[1].startswith("Generated spectral visualization focused on")
    assert example["images"][1].size[0] in range(400, 800)  # a release-style zoom


# --------------------------------------------------------------------------------------------------
# The golden transcript: what the transformers backend feeds the processor, token for token
# --------------------------------------------------------------------------------------------------


def reference_messages(trajectory, label="C2 Swan band"):
    """The released training's messages for the same episode, from the reference sheet."""
    zoom = trajectory.steps[0].image
    return [
        {"role": "system", "content": [{"type": "text", "text": "You are a helpful assistant."}]},
        {
            "role": "user",
            "content": [
                {"type": "image", "image": trajectory.overview},
                {"type": "text", "text": trajectory.prompt},
            ],
        },
        {"role": "assistant", "content": [{"type": "text", "text": trajectory.steps[0].text}]},
        {
            "role": "tool",
            "content": [
                {"type": "image", "image": zoom},
                {
                    "type": "text",
                    "text": "Generated spectral visualization focused on wavelength range "
                    f"(4950, 5250) Å for {label}.",
                },
            ],
        },
        {"role": "assistant", "content": [{"type": "text", "text": trajectory.steps[1].text}]},
    ]


def tokens(processor, messages, **options):
    encoded = processor.apply_chat_template(
        messages, tokenize=True, return_dict=True, return_tensors="pt", **options
    )
    return encoded["input_ids"][0].tolist(), encoded["pixel_values"]


def test_golden_transcript(tiny_model, spectrum):
    from spec_o3.agent.backends.transformers import TransformersPolicy

    policy = TransformersPolicy(tiny_model("qwen2_5_vl"), device="cpu", protocol="release")
    assert (policy.max_new_tokens, policy.response_budget) == (None, 32768)
    script = [call({"wavelength_range": [4950, 5250], "label": "C2 Swan band"}), ANSWER]
    result = Inspector(Scripted(script)).run(spectrum, "cc")
    trajectory = result.trajectory
    assert result.verdict == "YES" and trajectory.steps[0].image.size == (632, 392)
    reference = reference_messages(trajectory)
    schema = json.loads(RELEASED_TOOLS_LINE)
    released = {"chat_template": RELEASED_TEMPLATE, "tools": [schema]}

    ours, our_pixels = tokens(policy.processor, trajectory.to_messages())
    theirs, their_pixels = tokens(policy.processor, reference, **released)
    assert ours == theirs
    assert np.array_equal(our_pixels.numpy(), their_pixels.numpy())
    text = policy.processor.tokenizer.decode(ours)
    assert RELEASED_TOOLS_LINE in text and "<tool_response>\n<|vision_start|>" in text

    # what the backend itself feeds the model at the answering turn
    fed = []
    generate = policy.model.generate

    def spy(**inputs):
        fed.append(inputs["input_ids"][0].tolist())
        return generate(**inputs)

    policy.model.generate = spy
    policy.generation_config.max_new_tokens = 1  # the prompt is what is checked
    policy.generate([trajectory.to_messages()[:-1]])
    prefix, _ = tokens(policy.processor, reference[:-1], add_generation_prompt=True, **released)
    assert fed == [prefix]


# --------------------------------------------------------------------------------------------------
# The response budget: no cap per turn, one budget for the episode's turns and tool responses
# --------------------------------------------------------------------------------------------------


def test_transformers_budget_covers_turns_and_tool_responses(tiny_model, spectrum):
    from spec_o3.agent.backends.transformers import TransformersPolicy
    from spec_o3.agent.trajectory import Step

    policy = TransformersPolicy(
        tiny_model("qwen2_5_vl"), device="cpu", protocol="release", response_budget=48
    )
    episode = Episode(spectrum, "cc", protocol="release")
    tokenizer = policy.processor.tokenizer
    (first,) = policy.respond([episode])
    assert 0 < len(tokenizer(first)["input_ids"]) <= 48  # a random model talks to the limit
    # a tool response with an image costs hundreds of tokens: nothing is left for a reply
    zoom = run_tool(
        episode.environment, TOOL, {"wavelength_range": [4950, 5250]}, protocol="release"
    )
    episode.trajectory.steps.append(Step(1, first, result_text=zoom.text, image=zoom.image))
    assert policy.respond([episode]) == [""]


def test_openai_budget_is_counted_from_usage(spectrum):
    from test_backend_openai import FakeServer

    from spec_o3.agent.backends.openai import OpenAICompatiblePolicy

    def reply(body):
        turns = sum(message["role"] == "assistant" for message in body["messages"])
        text = call({"wavelength_range": [4950, 5250]}) if turns == 0 else ANSWER
        usage = {"prompt_tokens": 1000 + 400 * turns, "completion_tokens": 300}
        message = {"role": "assistant", "content": text}
        return 200, {"choices": [{"index": 0, "message": message}], "usage": usage}

    with FakeServer(reply) as server:
        policy = OpenAICompatiblePolicy(server.base_url, "spec-o3-7b", logprobs=False)
        assert (policy.protocol, policy.max_tokens, policy.response_budget) == (
            "release",
            None,
            32768,
        )
        result = Inspector(policy).run(spectrum, "cc")
        policy.close()
    assert result.verdict == "YES"
    # the second request may take what the first turn's prompt growth and reply left
    assert [body["max_tokens"] for _, body in server.requests] == [32768, 32768 - 300]
