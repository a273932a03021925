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

import functools
from pathlib import Path

from .config import SFTSettings, load_settings
from .data import load_sft_dataset
from .model import load_for_training

__all__ = ["sft_trainer", "train_sft", "verdict_token_ids", "verdict_weighted_loss"]


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
    trainer = SFTTrainer(
        model=model,
        args=SFTConfig(**arguments),
        train_dataset=dataset,
        processing_class=processor,
        **trainer_options,
    )
    if settings.verdict_weight != 1:
        trainer.compute_loss = functools.partial(
            verdict_weighted_loss,
            weight=settings.verdict_weight,
            verdict_ids=verdict_token_ids(processor.tokenizer),
        )
    return trainer


def verdict_token_ids(tokenizer):
    """Ids of the verdict tokens, ``YES`` and ``NO`` as written inside ``\\boxed{}``.

    Raises
    ------
    ValueError
        If either verdict is not a single token of ``tokenizer``.
    """
    ids = [tokenizer.encode(label, add_special_tokens=False) for label in ("YES", "NO")]
    if any(len(piece) != 1 for piece in ids):
        raise ValueError("verdict_weight needs YES and NO to be single tokens of the tokenizer")
    return [piece[0] for piece in ids]


def verdict_weighted_loss(
    model, inputs, return_outputs=False, num_items_in_batch=None, *, weight, verdict_ids
):
    """Cross-entropy over the trained (assistant) positions, verdict tokens weighted ``weight``.

    A weighted mean: each verdict token counts ``weight`` times, every other trained token once.
    Only the trained positions are projected onto the vocabulary (``logits_to_keep``).

    Parameters
    ----------
    model : `~transformers.PreTrainedModel`
    inputs : dict
        A collated batch with ``labels`` (-100 where nothing is learnt).
    return_outputs : bool
        Also return the model outputs (``Trainer.compute_loss``'s signature).
    num_items_in_batch : int, optional
        Unused: the loss is normalised by the weights of the batch.
    weight : float
        Loss weight of a verdict token.
    verdict_ids : list of int
        The verdict tokens' ids (`verdict_token_ids`).

    Returns
    -------
    loss : `torch.Tensor` or tuple

    Examples
    --------
    >>> import torch
    >>> class Uniform(torch.nn.Module):  # logits 0 everywhere: every token costs log(4)
    ...     def forward(self, input_ids, logits_to_keep, **kwargs):
    ...         logits = torch.zeros(*input_ids.shape, 4)[:, logits_to_keep]
    ...         return type("Out", (), {"logits": logits})()
    >>> inputs = {"input_ids": torch.tensor([[0, 1, 2]]), "labels": torch.tensor([[-100, 1, 3]])}
    >>> loss = verdict_weighted_loss(Uniform(), dict(inputs), weight=10.0, verdict_ids=[3])
    >>> round(float(loss), 4) == round(float(torch.log(torch.tensor(4.0))), 4)
    True
    """
    import torch

    inputs = dict(inputs)
    targets = inputs.pop("labels")[:, 1:]
    keep = (targets != -100).any(0).nonzero().squeeze(1)
    outputs = model(**inputs, logits_to_keep=keep)
    targets = targets[:, keep]
    losses = torch.nn.functional.cross_entropy(
        outputs.logits.float().transpose(1, 2), targets, ignore_index=-100, reduction="none"
    )
    verdict = torch.isin(targets, torch.as_tensor(verdict_ids, device=targets.device))
    weights = torch.where(verdict, float(weight), 1.0) * (targets != -100)
    loss = (losses * weights).sum() / weights.sum().clamp(min=1)
    return (loss, outputs) if return_outputs else loss


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
