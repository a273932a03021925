"""Settings of the two training stages: dataclasses with the paper's defaults, read from YAML.

A YAML file holds any of the fields of `SFTSettings` or `GRPOSettings` at its top level, and
under ``trl:`` any further argument of TRL's ``SFTConfig`` / ``GRPOConfig`` (``save_steps``,
``report_to``, ``deepspeed``, ...). Values given on the command line override the file; the file
overrides the defaults. Example files ship in ``spec_o3/training/configs/``.
"""

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from spec_o3.defaults import MAX_TURNS, REWARD_WEIGHTS

__all__ = ["FINETUNING", "GRPOSettings", "SFTSettings", "load_settings"]

#: How the weights are trained: all of them (vision tower and projector frozen by default), a LoRA
#: adapter on the language model, or a LoRA adapter on a 4-bit quantized language model (QLoRA).
FINETUNING = ("full", "lora", "qlora")

# Linear layers of the language model only (the Qwen-VL vision towers reuse some of these names).
_LORA_TARGETS = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"


@dataclass
class _Stage:
    """Fields both stages share: the model, how it is trained, and the optimisation schedule."""

    model: str | None = None
    output_dir: str | None = None
    finetuning: str = "full"
    freeze_vision: bool = True
    lora_r: int = 64
    lora_alpha: int = 128
    lora_dropout: float = 0.05
    lora_target_modules: str | list = _LORA_TARGETS
    dtype: str = "auto"
    bf16: bool | None = None
    learning_rate: float = 2e-5
    lr_scheduler_type: str = "cosine"
    warmup_ratio: float = 0.05
    num_train_epochs: float = 5.0
    max_steps: int = -1
    per_device_train_batch_size: int = 4
    gradient_accumulation_steps: int = 1
    gradient_checkpointing: bool = True
    logging_steps: int = 10
    seed: int = 0
    trl: dict = field(default_factory=dict)

    def validate(self):
        """Check the settings; raise `ValueError` naming the first bad field."""
        for name in ("model", "output_dir"):
            if not getattr(self, name):
                raise ValueError(f"{name} is required")
        if self.finetuning not in FINETUNING:
            raise ValueError(
                f"finetuning must be one of {', '.join(FINETUNING)}, got {self.finetuning!r}"
            )
        if self.dtype not in ("auto", "bfloat16", "float16", "float32"):
            raise ValueError(
                f"dtype must be auto, bfloat16, float16 or float32, got {self.dtype!r}"
            )
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        for name in ("learning_rate", "per_device_train_batch_size", "gradient_accumulation_steps"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if not isinstance(self.trl, dict):
            raise ValueError(f"trl must be a mapping of TRL arguments, got {self.trl!r}")
        return self

    def trainer_arguments(self):
        """Arguments of TRL's config class that these settings fix (``trl`` entries win)."""
        names = (
            "output_dir",
            "learning_rate",
            "lr_scheduler_type",
            "num_train_epochs",
            "max_steps",
            "per_device_train_batch_size",
            "gradient_accumulation_steps",
            "logging_steps",
            "seed",
        )
        arguments = {name: getattr(self, name) for name in names}
        arguments["warmup_steps"] = self.warmup_ratio  # below 1: a fraction of the steps
        arguments["bf16"] = self.use_bf16
        arguments[_CHECKPOINTING] = self.gradient_checkpointing
        arguments["dataloader_pin_memory"] = _has_cuda()  # pinning without a GPU only warns
        return {**arguments, **self.trl}

    @property
    def use_bf16(self):
        """Whether to train in bfloat16 (``bf16: null`` -- the default -- when the GPU can)."""
        if self.bf16 is not None:
            return bool(self.bf16)
        import torch

        return _has_cuda() and torch.cuda.is_bf16_supported()


def _has_cuda():
    import torch

    return torch.cuda.is_available()


# transformers 5.x renamed gradient_checkpointing to activation_checkpointing (old name warns).
_CHECKPOINTING = "activation_checkpointing"


@dataclass
class SFTSettings(_Stage):
    """Cold-start SFT: defaults are the paper's (full fine-tune, vision frozen, lr 2e-5 cosine,
    5 % warm-up, 5 epochs, batch 4 per device, bf16 where available).

    Attributes
    ----------
    model : str
        Hub id, model directory, or adapter directory saved by an earlier run.
    data : str
        A dataset directory written by ``spec-o3 train sft-data`` or a ShareGPT ``.json``/``.jsonl``
        file (`~spec_o3.training.data.load_sft_dataset`).
    output_dir : str
        Where checkpoints and the final model (or adapter) and processor are saved.
    finetuning : {"full", "lora", "qlora"}
        See `FINETUNING`. ``qlora`` needs ``bitsandbytes`` and a CUDA GPU.
    freeze_vision : bool
        Freeze the vision tower and the projector (the paper's setting).
    max_length : int or None
        Longest conversation in tokens; ``None`` never cuts (a cut through an image breaks it).
    verdict_weight : float
        Loss weight of the verdict tokens (``YES``/``NO``) against the other assistant tokens; 1
        (the default) is TRL's assistant-only loss. In long conversations the verdict is one token
        among thousands, so a small model learns the protocol long before the decision; a larger
        weight makes the decision count (see `~spec_o3.training.sft.sft_trainer`).
    trl : dict
        Further ``trl.SFTConfig`` arguments.
    """

    data: str | None = None
    max_length: int | None = None
    verdict_weight: float = 1.0

    def validate(self):
        super().validate()
        if not self.data:
            raise ValueError("data is required")
        if not self.verdict_weight > 0:
            raise ValueError(f"verdict_weight must be positive, got {self.verdict_weight}")
        return self


@dataclass
class GRPOSettings(_Stage):
    """Outcome-rewarded GRPO with the zoom tool live: defaults are the paper's (8 rollouts per
    prompt, lr 1e-6, no KL term, no entropy bonus, 3 epochs, at most 8 assistant turns, reward
    1.0 × accuracy + 0.2 × format, -0.05 per invalid tool call).

    The batch defaults give the paper's 64 prompts per generation and 32 per optimisation step on 8
    GPUs: 8 completions per device and step, 4 accumulation steps, a generation every 8 steps.

    Attributes
    ----------
    task : list of str
        Tasks to simulate questions for (ids or codes), when ``suite`` is not given.
    n : int
        Questions to simulate per task.
    suite : list of str
        Labelled suites to train on instead (directories of ``spec-o3 simulate``, saved suites).
    data_seed : int
        Seed of the simulated questions.
    toolset : {"default", "extended"}
        Tools offered in the rollouts.
    max_turns : int
        Most assistant turns per rollout.
    num_generations : int
        Rollouts per prompt (the group of GRPO).
    max_completion_length : int
        Most tokens per rollout, tool responses included.
    format_weight, invalid_tool_call_penalty, tool_use_bonus : float
        Reward weights (the accuracy weight is 1).
    use_vllm : bool
        Generate with vLLM (``trl`` may set ``vllm_mode`` etc.); else ``model.generate``.
    """

    task: list = field(default_factory=list)
    n: int = 64
    suite: list = field(default_factory=list)
    data_seed: int = 0
    toolset: str = "default"
    max_turns: int = MAX_TURNS
    num_generations: int = 8
    max_completion_length: int = 32768
    temperature: float = 1.0
    beta: float = 0.0
    steps_per_generation: int | None = 8
    format_weight: float = REWARD_WEIGHTS["format_reward"]
    invalid_tool_call_penalty: float = REWARD_WEIGHTS["invalid_tool_call_reward"]
    tool_use_bonus: float = REWARD_WEIGHTS["tool_use_reward"]
    use_vllm: bool = False
    learning_rate: float = 1e-6
    num_train_epochs: float = 3.0
    warmup_ratio: float = 0.0
    lr_scheduler_type: str = "constant"
    per_device_train_batch_size: int = 8
    gradient_accumulation_steps: int = 4

    def validate(self):
        super().validate()
        if not self.task and not self.suite:
            raise ValueError("give the tasks to simulate questions for (task) or a suite")
        if self.max_turns < 1:
            raise ValueError(f"max_turns must be at least 1, got {self.max_turns}")
        if self.num_generations < 2:
            raise ValueError(
                f"num_generations must be at least 2 (GRPO compares rollouts), got "
                f"{self.num_generations}"
            )
        if self.n < 1:
            raise ValueError(f"n must be a positive number of questions, got {self.n}")
        return self

    def trainer_arguments(self):
        names = (
            "num_generations",
            "max_completion_length",
            "temperature",
            "beta",
            "steps_per_generation",
            "use_vllm",
        )
        arguments = {name: getattr(self, name) for name in names}
        # The first turn is generated before any tool runs: 8 turns are 7 tool-calling rounds.
        arguments["max_tool_calling_iterations"] = self.max_turns - 1
        arguments["reward_weights"] = [
            REWARD_WEIGHTS["accuracy_reward"],
            self.format_weight,
            self.invalid_tool_call_penalty,
            self.tool_use_bonus,
        ]
        return {**arguments, **super().trainer_arguments()}


def load_settings(cls, config=None, **overrides):
    """Build and validate settings from the defaults, a YAML file, then explicit overrides.

    Parameters
    ----------
    cls : type
        `SFTSettings` or `GRPOSettings`.
    config : str or path-like, optional
        YAML file with fields of ``cls`` (and TRL arguments under ``trl:``).
    **overrides
        Field values that win over the file; ``None`` values are ignored (an unset CLI option).

    Returns
    -------
    settings : ``cls``

    Raises
    ------
    OSError
        If the file cannot be read.
    ValueError
        If the file is not a mapping, names an unknown field, or a value is invalid.

    Examples
    --------
    >>> settings = load_settings(SFTSettings, model="Qwen/Qwen2.5-VL-7B-Instruct", data="sft",
    ...                          output_dir="runs/sft", max_steps=None)
    >>> settings.learning_rate, settings.num_train_epochs, settings.freeze_vision
    (2e-05, 5.0, True)
    """
    import yaml

    values = {}
    if config is not None:
        path = Path(config)
        try:
            values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError as error:
            raise OSError(f"cannot read the config file {path}: {error}") from error
        except yaml.YAMLError as error:
            raise ValueError(f"{path} is not valid YAML: {error}") from None
        if not isinstance(values, dict):
            raise ValueError(f"{path} must hold a mapping of settings")
    values.update({key: value for key, value in overrides.items() if value is not None})
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(
            f"unknown {cls.__name__} field(s): {', '.join(unknown)} (TRL arguments go under "
            f"'trl:'; known fields: {', '.join(sorted(known))})"
        )
    return cls(**values).validate()
