"""Stage 2, GRPO: outcome-rewarded RL on label-only questions with the zoom tool live in rollouts.

TRL's ``GRPOTrainer`` samples ``num_generations`` rollouts per question. In each rollout the model
sees the system text with the tool block and the full-spectrum plot with the question
(`~spec_o3.training.data.rl_dataset`); its tool calls run on the question's spectrum in a
`rollout_environment` -- the agent's own tools, answering with the zoomed plot (or the same error
text the inspection loop sends back) as a user ``<tool_response>`` turn -- for at most
``max_turns`` assistant turns. Tool-response tokens are masked out of the loss by TRL. The reward
is :mod:`~spec_o3.training.rewards`: 1.0 × accuracy + 0.2 × format, -0.05 per invalid tool call,
optionally a tool-use bonus.

Rollouts render the conversation with a chat template that can write tools: Qwen3-VL's own does;
for Qwen2-VL/Qwen2.5-VL checkpoints (the released Spec-o3 models) whose template cannot,
`tool_chat_template` supplies the Qwen3-VL template, which renders every conversation that opens
with a system turn -- all of the agent's -- to the very same text, and adds the ``tools`` and
``tool`` roles in the Qwen2.5 tool format. The saved processor keeps the checkpoint's own template.

One GPU or CPU (``--model`` may be the SFT output, model or adapter)::

    spec-o3 train rl --model runs/sft --task gm --n 512 --output runs/grpo

Several GPUs, optionally with vLLM generation (``use_vllm: true`` and ``trl: {vllm_mode:
colocate}`` in the YAML)::

    accelerate launch --num_processes 8 -m spec_o3.cli train rl \\
        --config spec_o3/training/configs/grpo_qwen2_5_vl_7b.yaml
"""

import functools
import math
from pathlib import Path

from spec_o3.agent.tools import TOOLSETS, InspectionEnvironment, ToolCallError, run_tool

from .config import GRPOSettings, load_settings
from .data import rl_dataset, simulated_suite
from .model import load_for_training
from .rewards import REWARD_FUNCTIONS

__all__ = [
    "grpo_trainer",
    "rollout_environment",
    "save_grpo_output",
    "tool_chat_template",
    "train_grpo",
]


class _RolloutEnvironment:
    """One rollout's tools, bound to the spectrum of the question TRL resets it with."""

    def __init__(self, suite, toolset):
        self._suite = suite
        self._environment = InspectionEnvironment(toolset=toolset)

    def reset(self, question, redshift=None, **row):
        """Load question ``question`` of the suite (TRL passes the dataset row)."""
        known = redshift is not None and math.isfinite(redshift)
        self._environment.reset(self._suite.spectrum(question), redshift if known else None)

    def _run(self, name, arguments):
        """Run a tool as the inspection loop does; return the tool message's content parts."""
        try:
            result = run_tool(self._environment, name, arguments)
        except ToolCallError as error:
            return [{"type": "text", "text": f"Error: {error}"}]
        parts = [] if result.image is None else [{"type": "image", "image": result.image}]
        return [*parts, {"type": "text", "text": result.text}]


def _tool_method(name):
    """A rollout tool with the signature and docstring of the agent's tool (so TRL shows the model
    the same schema) that answers with content parts instead of a `ToolResult`."""
    original = getattr(InspectionEnvironment, name)

    def tool(self, **arguments):
        return self._run(name, arguments)

    functools.update_wrapper(tool, original)
    tool.__annotations__ = {
        key: hint for key, hint in original.__annotations__.items() if key != "return"
    }
    return tool


def rollout_environment(suite, toolset="default"):
    """The ``environment_factory`` of ``GRPOTrainer``: tools bound to the questions of a suite.

    Parameters
    ----------
    suite : `~spec_o3.bench.Suite`
        The questions; a dataset row's ``question`` is a row number of it.
    toolset : {"default", "extended"}
        Tools offered (see ``TOOLSETS``).

    Returns
    -------
    factory : callable
        Each call returns a fresh environment whose public methods are exactly the toolset's tools.

    Examples
    --------
    >>> from spec_o3.training.data import simulated_suite
    >>> environment = rollout_environment(simulated_suite("gm", 1))()
    >>> environment.reset(question=0)
    >>> tool = environment.spectral_visualization_tool  # TRL calls tools with keywords
    >>> [part["type"] for part in tool(wavelength_range=[6000, 6400])]
    ['image', 'text']
    >>> tool(wavelength_range=[6400, 6000])
    [{'type': 'text', 'text': 'Error: wavelength_range must have min < max, got [6400, 6000]'}]
    """
    if toolset not in TOOLSETS:
        raise ValueError(f"unknown toolset {toolset!r}; choose one of {', '.join(TOOLSETS)}")
    tools = {name: _tool_method(name) for name in TOOLSETS[toolset]}
    environment_class = type("VettingEnvironment", (_RolloutEnvironment,), tools)
    return functools.partial(environment_class, suite, toolset)


def tool_chat_template(processor):
    """The chat template rollouts need, when the processor's own cannot render tool calls.

    Parameters
    ----------
    processor : `~transformers.ProcessorMixin`

    Returns
    -------
    template : str or None
        ``None`` when the processor's template already renders tools (Qwen3-VL); TRL's copy of the
        Qwen3-VL template for the Qwen2-VL/Qwen2.5-VL template (identical text for conversations
        that open with a system turn).

    Raises
    ------
    ValueError
        For another template that cannot render tool calls.
    """
    from trl import chat_template_utils as templates

    if templates.supports_tool_calling(processor):
        return None
    if processor.chat_template == templates.qwen2_5_vl_chat_template:
        return templates.qwen3_vl_chat_template
    raise ValueError(
        "the model's chat template cannot render tool calls and is not the Qwen2-VL/Qwen2.5-VL "
        "template spec-o3 knows how to extend; give the processor a tool-capable template"
    )


def _questions(settings):
    from spec_o3.bench import Suite

    if settings.suite:
        return Suite.concatenate([Suite.read(path) for path in settings.suite])
    return Suite.concatenate(
        [simulated_suite(task, settings.n, seed=settings.data_seed) for task in settings.task]
    )


def _check_fills_a_generation(n_questions, arguments):
    """TRL samples whole generation batches of distinct questions and silently trains no step
    when the dataset cannot fill one."""
    needed = arguments.generation_batch_size // arguments.num_generations
    if n_questions < needed:
        raise ValueError(
            f"{n_questions} question(s) cannot fill one generation batch of {needed} questions "
            f"(generation_batch_size {arguments.generation_batch_size} = "
            "per_device_train_batch_size × processes × steps_per_generation, "
            f"{arguments.num_generations} rollouts each): TRL would train no step; give more "
            "questions (--n) or lower per_device_train_batch_size or steps_per_generation"
        )


def grpo_trainer(settings, dataset=None, *, suite=None, **trainer_options):
    """Build TRL's ``GRPOTrainer`` for the settings (model loaded, questions ready, not trained).

    Parameters
    ----------
    settings : `~spec_o3.training.config.GRPOSettings` or dict
        The run; a dict is read with `~spec_o3.training.config.load_settings`.
    dataset : `datasets.Dataset`, optional
        Questions (`~spec_o3.training.data.rl_dataset` of ``suite``); built from ``suite`` if
        omitted.
    suite : `~spec_o3.bench.Suite`, optional
        The questions' suite; by default read from ``settings.suite`` or simulated for
        ``settings.task``.
    **trainer_options
        Passed to ``GRPOTrainer`` (``callbacks``, ...).

    Returns
    -------
    trainer : `trl.GRPOTrainer`
        Its ``processing_class`` renders tools; ``original_chat_template`` holds the template to
        save (`save_grpo_output` restores it).

    Raises
    ------
    ValueError
        For fewer questions than one generation batch samples (``per_device_train_batch_size``
        × processes × ``steps_per_generation`` / ``num_generations``): TRL would train no step.
    """
    from trl import GRPOConfig, GRPOTrainer

    if isinstance(settings, dict):
        settings = load_settings(GRPOSettings, **settings)
    if suite is None:
        suite = _questions(settings)
    if dataset is None:
        dataset = rl_dataset(suite)
    arguments = GRPOConfig(**settings.trainer_arguments())
    _check_fills_a_generation(len(dataset), arguments)
    model, processor = load_for_training(settings)
    original = processor.chat_template
    template = tool_chat_template(processor)
    if template is not None:
        processor.chat_template = template
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=list(REWARD_FUNCTIONS),
        args=arguments,
        train_dataset=dataset,
        processing_class=processor,
        environment_factory=rollout_environment(suite, settings.toolset),
        **trainer_options,
    )
    _list_tools_in_toolset_order(trainer, settings.toolset)
    trainer.original_chat_template = original
    return trainer


def _list_tools_in_toolset_order(trainer, toolset):
    """TRL lists an environment's tools in name order; the inspection loop, and so the SFT data,
    in the toolset's order. With several tools (``"extended"``) the rollouts would otherwise see
    another system text than the one the model was taught on (TRL 1.16 keeps the per-environment
    lists in ``_env_tools``)."""
    rank = {name: position for position, name in enumerate(TOOLSETS[toolset])}

    def key(tool):
        return rank.get(tool.__name__, len(rank))

    trainer.tools.sort(key=key)
    for tools in getattr(trainer, "_env_tools", {}).values():
        tools.sort(key=key)


def train_grpo(settings, dataset=None, *, suite=None, **trainer_options):
    """Run GRPO and save the model (or adapter) and processor in ``output_dir``.

    Returns
    -------
    output_dir : `pathlib.Path`
        Loads with ``TransformersPolicy(output_dir)``.
    """
    trainer = grpo_trainer(settings, dataset, suite=suite, **trainer_options)
    trainer.train()
    return save_grpo_output(trainer)


def save_grpo_output(trainer):
    """Save a trained `grpo_trainer`'s model (or adapter) and processor in its ``output_dir``,
    with the checkpoint's own chat template (not the tool-capable one of the rollouts).

    Returns
    -------
    output_dir : `pathlib.Path`
        Loads with ``TransformersPolicy(output_dir)``.
    """
    trainer.processing_class.chat_template = trainer.original_chat_template
    trainer.save_model(trainer.args.output_dir)
    return Path(trainer.args.output_dir)
