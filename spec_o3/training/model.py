"""The model a training stage starts from: a hub id, a model directory, or an adapter directory.

An adapter directory (``adapter_config.json``, as ``spec-o3 train sft --finetuning lora`` saves) is
loaded on top of the base model it names, so the RL stage continues from the SFT result whichever
way that was trained: a LoRA run keeps training the same adapter, a full run merges it first.
"""

import json
import os
from pathlib import Path

__all__ = ["freeze_vision_tower", "load_for_training", "lora_config", "resolve_model"]

_ADAPTER_CONFIG = "adapter_config.json"
# Any of these marks a directory that holds its own processor (tokenizer, chat template).
_PROCESSOR_FILES = ("processor_config.json", "preprocessor_config.json", "tokenizer_config.json")


def resolve_model(name):
    """Where to load a model from: ``(base model, adapter directory or None)``.

    Parameters
    ----------
    name : str or path-like
        Hub id, model directory, or PEFT adapter directory (its base is read from
        ``adapter_config.json`` and resolved the same way).

    Raises
    ------
    OSError
        If a name written as a path (absolute, ``./``, ``~``) does not exist, or a directory holds
        neither a model (``config.json``) nor an adapter.

    Examples
    --------
    >>> resolve_model("Qwen/Qwen2.5-VL-7B-Instruct")
    ('Qwen/Qwen2.5-VL-7B-Instruct', None)
    >>> resolve_model("/no/such/model")
    Traceback (most recent call last):
    ...
    OSError: model directory '/no/such/model' does not exist
    """
    name = os.fspath(name)
    path = Path(name).expanduser()
    if not path.exists():
        if path.is_absolute() or name.startswith((".", "~")):
            raise OSError(f"model directory {name!r} does not exist")
        return name, None  # a hub id
    if (path / _ADAPTER_CONFIG).is_file():
        try:
            base = json.loads((path / _ADAPTER_CONFIG).read_text())["base_model_name_or_path"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise OSError(f"{path / _ADAPTER_CONFIG} names no base model: {error}") from error
        if not base:
            raise OSError(f"{path / _ADAPTER_CONFIG} names no base model")
        return resolve_model(base)[0], str(path.resolve())
    if not (path / "config.json").is_file():
        raise OSError(
            f"{name!r} holds neither a model (config.json) nor an adapter ({_ADAPTER_CONFIG})"
        )
    return str(path.resolve()), None


def _torch_dtype(settings):
    import torch

    if settings.dtype == "auto":
        return torch.bfloat16 if settings.use_bf16 else torch.float32
    return getattr(torch, settings.dtype)


def _from_pretrained(auto_class, source, **options):
    try:
        return auto_class.from_pretrained(source, **options)
    except OSError as error:
        raise OSError(f"cannot load {auto_class.__name__} from {source!r}: {error}") from error


def load_for_training(settings):
    """Load the model and processor a stage trains, ready for TRL.

    Parameters
    ----------
    settings : `~spec_o3.training.config.SFTSettings` or `~spec_o3.training.config.GRPOSettings`
        ``model``, ``finetuning``, ``freeze_vision``, ``dtype``/``bf16`` and the LoRA fields.

    Returns
    -------
    model : `~transformers.PreTrainedModel` or `~peft.PeftModel`
        Full fine-tuning: the model with its vision tower and projector frozen (if asked), an
        adapter given as ``model`` merged in. LoRA/QLoRA: a trainable adapter on the language model
        (the one given as ``model``, or a new one).
    processor : `~transformers.ProcessorMixin`
        The adapter directory's processor if it has one, else the base model's.

    Raises
    ------
    OSError
        If the model, adapter or processor cannot be found or read.
    ImportError
        For QLoRA without ``bitsandbytes``.
    """
    import transformers

    base, adapter = resolve_model(settings.model)
    options = {"dtype": _torch_dtype(settings)}
    if settings.finetuning == "qlora":
        options["quantization_config"] = _four_bit_config()
    model = _from_pretrained(transformers.AutoModelForImageTextToText, base, **options)
    has_processor = adapter is not None and any(
        (Path(adapter) / name).is_file() for name in _PROCESSOR_FILES
    )
    processor = _from_pretrained(transformers.AutoProcessor, adapter if has_processor else base)
    if adapter is not None:
        from peft import PeftModel

        trainable = settings.finetuning != "full"
        model = PeftModel.from_pretrained(model, adapter, is_trainable=trainable)
        if not trainable:
            model = model.merge_and_unload()
    if settings.finetuning == "full":
        if settings.freeze_vision:
            freeze_vision_tower(model)
    elif adapter is None:
        from peft import get_peft_model, prepare_model_for_kbit_training

        if settings.finetuning == "qlora":
            model = prepare_model_for_kbit_training(
                model, use_gradient_checkpointing=settings.gradient_checkpointing
            )
        model = get_peft_model(model, lora_config(settings))
    return model, processor


def _four_bit_config():
    try:
        import bitsandbytes  # noqa: F401
    except ImportError as error:
        raise ImportError(
            "finetuning 'qlora' quantizes the model with bitsandbytes (CUDA only): "
            "pip install bitsandbytes, or use finetuning 'lora'"
        ) from error
    import torch
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16,
        llm_int8_skip_modules=["visual", "lm_head"],  # the vision tower stays in full precision
    )


def lora_config(settings):
    """The `peft.LoraConfig` of the settings: rank, alpha, dropout, language-model targets."""
    from peft import LoraConfig

    return LoraConfig(
        r=settings.lora_r,
        lora_alpha=settings.lora_alpha,
        lora_dropout=settings.lora_dropout,
        target_modules=settings.lora_target_modules,
        task_type="CAUSAL_LM",
    )


def freeze_vision_tower(model):
    """Freeze the vision encoder and the projector of a Qwen-VL-family model (the paper's setting).

    Parameters
    ----------
    model : `~transformers.PreTrainedModel`
        A model whose vision tower and projector live under a ``visual`` module (Qwen2-VL,
        Qwen2.5-VL, Qwen3-VL: the projector is ``visual.merger``).

    Returns
    -------
    n_frozen : int
        Number of parameter tensors frozen.

    Raises
    ------
    ValueError
        If the model has no ``visual`` parameters (another family: freeze its tower yourself and
        set ``freeze_vision: false``).
    """
    frozen = 0
    for name, parameter in model.named_parameters():
        if "visual" in name.split("."):
            parameter.requires_grad_(False)
            frozen += 1
    if not frozen:
        raise ValueError(
            f"{type(model).__name__} has no vision tower under a 'visual' module to freeze; "
            "freeze it yourself and set freeze_vision: false"
        )
    return frozen
