"""Stage 1, cold-start SFT: teach a vision-language model the inspection protocol from trajectories.

TRL's ``SFTTrainer`` on vision conversations (`~spec_o3.training.data`) with the loss on the
assistant turns only (the chat template's ``{% generation %}`` markers; TRL swaps in its training
variant of the Qwen-VL templates), the vision tower and projector frozen, and the paper's
schedule (`~spec_o3.training.config.SFTSettings`). The result -- a model or a LoRA adapter, with the
processor -- is saved in ``output_dir`` and loads in the ``transformers`` backend
(``spec_o3.vet(..., backend="transformers", model=output_dir)``) and as ``--model`` of the RL stage.

One GPU or CPU::

    spec-o3 train sft-data --task cc --n 600 --out data/sft-cc
    spec-o3 train sft --model Qwen/Qwen2.5-VL-7B-Instruct --data data/sft-cc --output runs/sft

Several GPUs (data parallel), DeepSpeed ZeRO-3 or FSDP (see ``docs/training.rst``)::

    accelerate launch --num_processes 8 -m spec_o3.cli train sft \\
        --config spec_o3/training/configs/sft_qwen2_5_vl_7b.yaml
    accelerate launch --config_file zero3.yaml -m spec_o3.cli train sft \\
        --config spec_o3/training/configs/sft_qwen2_5_vl_7b.yaml
"""

from pathlib import Path

from .config import SFTSettings, load_settings
from .data import load_sft_dataset
from .model import load_for_training

__all__ = ["sft_trainer", "train_sft"]


def sft_trainer(settings, dataset=None, **trainer_options):
    """Build TRL's ``SFTTrainer`` for the settings (model loaded, data read, nothing trained yet).

    Parameters
    ----------
    settings : `~spec_o3.training.config.SFTSettings` or dict
        The run; a dict is read with `~spec_o3.training.config.load_settings`.
    dataset : `datasets.Dataset`, optional
        Conversations to train on instead of reading ``settings.data``.
    **trainer_options
        Passed to ``SFTTrainer`` (``callbacks``, ``eval_dataset``, ...).

    Returns
    -------
    trainer : `trl.SFTTrainer`

    Raises
    ------
    OSError, ValueError
        If the model or data cannot be loaded, or the data are empty.
    """
    from trl import SFTConfig, SFTTrainer

    if isinstance(settings, dict):
        settings = load_settings(SFTSettings, **settings)
    if dataset is None:
        dataset = load_sft_dataset(settings.data)
    elif len(dataset) == 0:
        raise ValueError("the SFT dataset is empty")
    model, processor = load_for_training(settings)
    arguments = {
        "assistant_only_loss": True,
        "max_length": settings.max_length,
        **settings.trainer_arguments(),
    }
    return SFTTrainer(
        model=model,
        args=SFTConfig(**arguments),
        train_dataset=dataset,
        processing_class=processor,
        **trainer_options,
    )


def train_sft(settings, dataset=None, **trainer_options):
    """Run cold-start SFT and save the model (or adapter) and processor in ``output_dir``.

    Parameters
    ----------
    settings, dataset, **trainer_options
        See `sft_trainer`.

    Returns
    -------
    output_dir : `pathlib.Path`
        Loads with ``TransformersPolicy(output_dir)`` and as the ``model`` of the next stage.
    """
    trainer = sft_trainer(settings, dataset, **trainer_options)
    trainer.train()
    trainer.save_model(trainer.args.output_dir)
    return Path(trainer.args.output_dir)
