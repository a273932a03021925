"""The ``transformers`` backend: a local Qwen-VL-family checkpoint run by Hugging Face transformers.

Any checkpoint that loads with ``AutoProcessor`` and ``AutoModelForImageTextToText`` works: the
released Spec-o3 models (Qwen2.5-VL), their Qwen2.5-VL / Qwen3-VL bases, and the models and PEFT
adapters that ``spec-o3 train sft`` and ``spec-o3 train rl`` save. torch and transformers are
imported, and the weights loaded, only when a `TransformersPolicy` is created.
"""

import bisect
import copy
import gc
import json
import os
import re
from functools import cached_property
from pathlib import Path

from ..protocol import (
    check_protocol,
    default_protocol,
    token_limits,
    turn_token_limit,
    verdict_offset,
)
from .base import BackendError, Policy
from .verdict_probability import verdict_probability, verdict_token

__all__ = ["DEFAULT_MODEL", "TransformersPolicy"]

#: Hub id of the released Spec-o3 7B checkpoint, the default model.
DEFAULT_MODEL = "Maxwell-Jia/spec-o3-7b"

# Any of these marks a directory that holds its own processor (tokenizer, chat template).
_PROCESSOR_FILES = ("processor_config.json", "preprocessor_config.json", "tokenizer_config.json")
_ADAPTER_CONFIG = "adapter_config.json"
# A vocabulary entry whose first letter is Y or N may start a verdict label (byte-level BPE writes
# a leading space as a non-ASCII letter).
_MAY_START_LABEL = re.compile(r"[^A-Za-z]*[YyNn]")


class TransformersPolicy(Policy):
    """Writes each assistant turn with a local vision-language model.

    The chat template of the model's processor renders each episode's messages (the full-spectrum
    image, the question, earlier turns and the zoomed windows returned by the tool); several
    episodes share one ``generate`` call (left padding); each reply runs to the end of the assistant
    turn (``<|im_end|>``) and only the new tokens are decoded -- protocol tags such as
    ``<tool_call>`` are kept whether or not the tokenizer marks them special. A reply that answers
    leaves the model's probability of its verdict in ``episode.state["confidence"]``: at the token
    that starts the label inside ``\\boxed{``, p(that label) / (p(YES) + p(NO)), from the model's
    logits when decoding greedily and from the processed scores it sampled from otherwise.

    Parameters
    ----------
    model : str, path-like or `~transformers.PreTrainedModel`
        Hub id or local directory of a model, or a directory holding a PEFT adapter
        (``adapter_config.json``): then the base model named in it is loaded and the adapter
        applied. An already loaded model may be given too (e.g. during training); then ``processor``
        is required. Default: the released Spec-o3 7B checkpoint.
    adapter : str or path-like, optional
        PEFT adapter directory to apply to ``model`` (needs the ``peft`` package).
    processor : `~transformers.ProcessorMixin`, optional
        Processor to use instead of loading one from the adapter directory (when it has one) or
        from ``model``.
    dtype : str or `torch.dtype`
        Weight dtype: ``"auto"`` (the checkpoint's own, bfloat16 for the released models),
        ``"bfloat16"``, ``"float16"``, ``"float32"`` or a `torch.dtype`.
    device : str, optional
        Where the weights go: ``None`` for the first GPU if there is one, else the CPU; ``"auto"``
        to spread a large model over all GPUs (and the CPU); or any torch device string
        (``"cuda:1"``, ``"mps"``, ``"cpu"``).
    max_new_tokens : int, optional
        Most tokens per assistant turn (0: no cap); default 1024 under the ``"spec-o3"`` protocol,
        no cap under ``"release"``.
    response_budget : int, optional
        Most tokens of an episode's responses, the model's turns and the tool responses together
        (0: no budget); default 32,768 under ``"release"`` (the released training's), none under
        ``"spec-o3"``. A turn that would exceed it is cut there.
    temperature : float
        0 for greedy decoding (reproducible verdicts); above 0 samples with that temperature and the
        checkpoint's other sampling settings (``top_p``, ``top_k``).
    batch_size : int
        Episodes per ``generate`` call; lower it if memory runs out.
    toolset : {"default", "extended"}
        The toolset the model was trained with: ``"default"`` for the released checkpoints.
    protocol : {"spec-o3", "release"}, optional
        The dialogue profile the model was trained with (see :ref:`protocol-profiles`); default
        ``"release"`` for a released checkpoint, else ``"spec-o3"``.
    **load_options
        Passed to ``from_pretrained`` of the model, e.g. ``revision=``, ``attn_implementation=``,
        ``quantization_config=``, ``local_files_only=``.

    Raises
    ------
    ValueError
        If an option is out of range, or a loaded model is given without its processor.
    BackendError
        If the model, adapter or processor cannot be loaded (missing directory, unknown hub id,
        no network).

    Examples
    --------
    >>> from spec_o3.agent import vet
    >>> result = vet("spectrum.fits", "carbon_star", backend="transformers")  # doctest: +SKIP
    >>> policy = TransformersPolicy("runs/sft", dtype="bfloat16", batch_size=8)  # doctest: +SKIP
    """

    name = "transformers"

    def __init__(
        self,
        model=DEFAULT_MODEL,
        *,
        adapter=None,
        processor=None,
        dtype="auto",
        device=None,
        max_new_tokens=None,
        temperature=0.0,
        batch_size=4,
        toolset="default",
        protocol=None,
        response_budget=None,
        **load_options,
    ):
        self.protocol = default_protocol(model) if protocol is None else check_protocol(protocol)
        self.max_new_tokens, self.response_budget = token_limits(
            self.protocol, max_new_tokens, response_budget, per_turn_default=1024
        )
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if not float(temperature) >= 0:
            raise ValueError(f"temperature must be 0 (greedy) or positive, got {temperature}")
        self.batch_size = int(batch_size)
        self.toolset = toolset
        self.model, self.processor = _load(model, adapter, processor, dtype, device, load_options)
        self.model.eval()
        self.generation_config = _generation_config(
            self.model.generation_config,
            self.processor.tokenizer,
            self.max_new_tokens or self.response_budget,
            float(temperature),
        )
        self._stop_ids = set(self.generation_config.eos_token_id)

    def respond(self, episodes):
        """Generate the next assistant message of each episode, ``batch_size`` episodes per call;
        set each episode's ``state["confidence"]`` (``None`` for a reply without an answer)."""
        episodes = list(episodes)
        texts = []
        for start in range(0, len(episodes), self.batch_size):
            batch = episodes[start : start + self.batch_size]
            replies = self._generate(
                [episode.messages for episode in batch], [episode.state for episode in batch]
            )
            for episode, (text, confidence) in zip(batch, replies, strict=True):
                episode.state["confidence"] = confidence
                texts.append(text)
        return texts

    def generate(self, conversations):
        """Continue chats with one assistant message each, in one ``generate`` call.

        Parameters
        ----------
        conversations : list of list of dict
            Chats in Hugging Face format (``{"role": ..., "content": [{"type": "text", "text": ...},
            {"type": "image", "image": PIL.Image}, ...]}``), as `~spec_o3.agent.Episode.messages`
            gives them.

        Returns
        -------
        texts : list of str
            The new assistant message of each chat, without the end-of-turn token.
        """
        return [text for text, _ in self._generate(conversations)]

    def _generate(self, conversations, states=None):
        """(text, confidence) of the new assistant message of each chat; see `generate`. With the
        episodes' ``states``, each reply keeps within what its episode's budget leaves."""
        import torch

        if self.model is None:
            raise BackendError("this TransformersPolicy was closed; create a new one")
        inputs = self.processor.apply_chat_template(
            conversations,
            add_generation_prompt=True,
            tokenize=True,
            return_dict=True,
            return_tensors="pt",
            # generation appends on the right, so all prompts of a batch must end there
            processor_kwargs={"padding": True, "padding_side": "left"},
        ).to(self.model.device)
        limits = self._turn_limits(inputs["attention_mask"].sum(dim=1).tolist(), states)
        config = copy.copy(self.generation_config)
        config.max_new_tokens = max(*limits, 1)
        with torch.inference_mode():
            output = self.model.generate(**inputs, generation_config=config)
        # what the tokens were chosen from: the logits (greedy), or the scores sampled from
        steps = output.scores if self.generation_config.do_sample else output.logits
        new_tokens = output.sequences[:, inputs["input_ids"].shape[1] :].tolist()
        replies = []
        for row, tokens in enumerate(new_tokens):
            tokens = self._reply(tokens)[: limits[row]]
            text = self._decode(tokens)
            replies.append((text, self._confidence(text, tokens, steps, row)))
        return replies

    def _turn_limits(self, prompt_lengths, states):
        """The most new tokens of each chat: what the first prompt of its episode (its length is
        kept in the episode's state) has grown by counts against the response budget."""
        if states is None:
            return [self.generation_config.max_new_tokens] * len(prompt_lengths)
        limits = []
        for length, state in zip(prompt_lengths, states, strict=True):
            used = length - state.setdefault("first_prompt_tokens", length)
            limits.append(turn_token_limit(self.max_new_tokens, self.response_budget, used))
        return limits

    def _reply(self, tokens):
        """The tokens of one reply: those before the first end-of-turn token."""
        end = next((i for i, token in enumerate(tokens) if token in self._stop_ids), len(tokens))
        return tokens[:end]

    def _decode(self, tokens):
        """Text of tokens, nothing skipped."""
        return self.processor.tokenizer.decode(tokens, skip_special_tokens=False)

    def _confidence(self, text, tokens, steps, row):
        """The model's probability of the verdict of reply ``text``; ``None`` without one."""
        import torch

        found = verdict_offset(text)
        if found is None:
            return None
        offset, verdict = found
        # the token that starts the label: the first one whose text, decoded with those before
        # it, reaches past the label's offset
        index = bisect.bisect_right(
            range(len(tokens)), offset, key=lambda i: len(self._decode(tokens[: i + 1]))
        )
        chosen = self._decode(tokens[index : index + 1])
        lead = chosen[: offset - len(self._decode(tokens[:index]))]
        if verdict_token(chosen, lead) != verdict:
            return None  # the token does not line up with the text (a character split in bytes)
        ids, texts = self._label_tokens
        logprobs = torch.log_softmax(steps[index][row].float(), dim=-1)[ids].tolist()
        return verdict_probability(verdict, lead, zip(texts, logprobs, strict=True))

    @cached_property
    def _label_tokens(self):
        """(ids, texts) of the vocabulary entries that may start a verdict label."""
        tokenizer = self.processor.tokenizer
        pieces = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
        ids = [i for i, piece in enumerate(pieces) if piece and _MAY_START_LABEL.match(piece)]
        return ids, tokenizer.batch_decode([[i] for i in ids], skip_special_tokens=False)

    def close(self):
        """Drop the model so that its memory can be reclaimed."""
        if self.model is None:
            return
        device_type = self.model.device.type
        self.model = None
        gc.collect()
        if device_type == "cuda":
            import torch

            torch.cuda.empty_cache()

    def __repr__(self):
        source = None if self.model is None else getattr(self.model.config, "_name_or_path", None)
        return f"<TransformersPolicy model={source!r} batch_size={self.batch_size}>"


def _load(model, adapter, processor, dtype, device, load_options):
    """(model, processor), loading what was given by name."""
    if not isinstance(model, (str, os.PathLike)):
        if processor is None:
            raise ValueError("an already loaded model needs its processor: pass processor=")
        if adapter is not None:
            model = _apply_adapter(model, adapter)
        return model, processor
    source = _check_local(model)
    if adapter is None and (Path(source) / _ADAPTER_CONFIG).is_file():
        adapter, source = source, _adapter_base(source)
    elif adapter is not None:
        adapter = _check_local(adapter)

    import transformers

    loaded = _from_pretrained(
        transformers.AutoModelForImageTextToText,
        source,
        dtype=_torch_dtype(dtype),
        device_map=_device_map(device),
        **load_options,
    )
    if adapter is not None:
        loaded = _apply_adapter(loaded, adapter)
    if processor is None:
        has_own = adapter is not None and any(
            (Path(adapter) / name).is_file() for name in _PROCESSOR_FILES
        )
        processor = _from_pretrained(transformers.AutoProcessor, adapter if has_own else source)
    return loaded, processor


def _from_pretrained(auto_class, source, **options):
    try:
        return auto_class.from_pretrained(source, **options)
    except (OSError, ValueError) as error:
        raise BackendError(f"cannot load {auto_class.__name__} from {source!r}: {error}") from error


def _check_local(name):
    """``name`` as a string; a name written as a path (absolute, ``./``, ``~``) must exist, as it is
    never looked up on the hub."""
    name = os.fspath(name)
    path = Path(name).expanduser()
    looks_local = path.is_absolute() or name.startswith((".", "~"))
    if path.exists():
        return str(path)
    if looks_local:
        raise BackendError(f"model directory {name!r} does not exist")
    return name


def _adapter_base(adapter):
    """The base model named in a PEFT adapter directory's ``adapter_config.json``."""
    config_file = Path(adapter) / _ADAPTER_CONFIG
    try:
        base = json.loads(config_file.read_text())["base_model_name_or_path"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BackendError(
            f"{config_file} does not name a base model (base_model_name_or_path): {error}"
        ) from error
    if not base:
        raise BackendError(
            f"{config_file} does not name a base model (base_model_name_or_path is empty)"
        )
    return _check_local(base)


def _apply_adapter(model, adapter):
    try:
        from peft import PeftModel
    except ImportError as error:
        raise BackendError(
            f"loading the adapter {os.fspath(adapter)!r} needs peft: pip install peft"
        ) from error
    try:
        return PeftModel.from_pretrained(model, os.fspath(adapter))
    except (OSError, ValueError) as error:
        raise BackendError(f"cannot apply the adapter {os.fspath(adapter)!r}: {error}") from error


def _torch_dtype(dtype):
    import torch

    if dtype == "auto" or isinstance(dtype, torch.dtype):
        return dtype
    if dtype in ("bfloat16", "float16", "float32"):
        return getattr(torch, dtype)
    raise ValueError(
        f"dtype must be 'auto', 'bfloat16', 'float16', 'float32' or a torch.dtype, got {dtype!r}"
    )


def _device_map(device):
    import torch

    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _generation_config(base, tokenizer, max_new_tokens, temperature):
    """The checkpoint's generation settings with our length and temperature, ending a turn at
    ``<|im_end|>``."""
    config = copy.deepcopy(base)
    config.max_new_tokens = max_new_tokens
    # the verdict's probability: raw logits when greedy, the processed scores when sampling
    config.return_dict_in_generate = True
    config.output_logits, config.output_scores = temperature == 0, temperature > 0
    if temperature > 0:
        config.do_sample, config.temperature = True, temperature
    else:  # greedy: drop sampling settings so that transformers does not warn they are unused
        config.do_sample, config.temperature, config.top_p, config.top_k = False, None, None, None
    eos = config.eos_token_id if config.eos_token_id is not None else tokenizer.eos_token_id
    eos = list(eos) if isinstance(eos, (list, tuple)) else [eos]
    end_of_turn = tokenizer.convert_tokens_to_ids("<|im_end|>")
    if (
        isinstance(end_of_turn, int)
        and end_of_turn != tokenizer.unk_token_id
        and end_of_turn not in eos
    ):
        eos.append(end_of_turn)  # base checkpoints may stop at <|endoftext|> only
    config.eos_token_id = [token for token in eos if token is not None]
    if config.pad_token_id is None:
        config.pad_token_id = (
            tokenizer.pad_token_id if tokenizer.pad_token_id is not None else config.eos_token_id[0]
        )
    return config
