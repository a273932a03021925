"""Proof that the training path learns, on a CPU: SFT teaches the protocol, GRPO raises the reward.

Not a test and not timed: run it by hand and read the numbers it prints (and writes to
``WORKDIR/results.json``).

Stage ``sft``: a tiny random Qwen2.5-VL (`~spec_o3.training.tiny.build_tiny_model`: text width
128, 4 layers by default) is fine-tuned with `~spec_o3.training.sft` on the scripted expert's
trajectories over simulated M-giant questions; the fraction of *protocol-valid* held-out episodes
(every tool call valid and one final boxed answer, run by the real inspection loop through the
``transformers`` backend) and of correct verdicts are measured before and after.

Stage ``rl``: GRPO (`~spec_o3.training.rl`) continues from the SFT model with the zoom tool live
in the rollouts, on an easy task by default -- M-giant questions whose answer is always YES, so the
outcome reward alone has to teach the model which verdict pays -- with 8 rollouts per question and
4 questions per step, and records the mean reward per step and the held-out greedy episodes
before and after.

Concessions to a 2-core CPU:

- the model's vocabulary is the Qwen vocabulary trimmed to the ~1,000 tokens the training
  conversations are written in (``trim_to``; they tokenize exactly as with the full vocabulary,
  any other text still tokenizes): with 151,936 output rows the output layer was most of each
  step's cost, and a 2-layer, 64-wide model with the full vocabulary fell into digit loops after
  two epochs;
- the images are shrunk to at most 16 visual tokens each (the processor's ``max_pixels``);
- the SFT loss is computed on the logits of the trained (assistant) positions only -- the same
  loss, without projecting ~1,500 prompt positions onto the vocabulary for nothing.

Usage (about 40 and 25 minutes on a 2-core CPU)::

    python benchmarks/train_learns.py --workdir /tmp/learns sft
    python benchmarks/train_learns.py --workdir /tmp/learns rl --threads 2
"""

import argparse
import json
import time
import types
from pathlib import Path

import torch
from transformers import TrainerCallback

from spec_o3.agent import Inspector
from spec_o3.agent.backends.transformers import TransformersPolicy
from spec_o3.training.data import load_sft_dataset, rl_dataset, sft_dataset, simulated_suite
from spec_o3.training.tiny import build_tiny_model

TASK = "m_giant"
MAX_IMAGE_TOKENS = 16


def tiny_model(workdir, hidden_size, num_layers, conversations):
    """The starting model: tiny random Qwen2.5-VL, small images, the vocabulary the data need."""
    from transformers import AutoProcessor

    path = workdir / f"tiny-{hidden_size}x{num_layers}"
    if not (path / "config.json").is_file():
        build_tiny_model(
            path,
            family="qwen2_5_vl",
            seed=0,
            hidden_size=hidden_size,
            num_layers=num_layers,
            trim_to=chat_texts(workdir, conversations),
        )
        processor = AutoProcessor.from_pretrained(path)
        factor = 28 * 28
        processor.image_processor.size = {
            "shortest_edge": 4 * factor,
            "longest_edge": MAX_IMAGE_TOKENS * factor,
        }
        processor.save_pretrained(path)
    return path


def chat_texts(workdir, conversations):
    """The conversations as the model reads them: the Qwen2.5-VL chat template over their text."""
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(build_tiny_model(workdir / "full-vocabulary"))
    return [
        processor.apply_chat_template(messages, tokenize=False)
        for messages in conversations["messages"]
    ]


def protocol_validity(model_dir, suite, *, max_new_tokens=256):
    """Fraction of episodes that are protocol-valid, and of correct verdicts, on ``suite``."""
    policy = TransformersPolicy(
        str(model_dir), max_new_tokens=max_new_tokens, batch_size=len(suite)
    )
    inspector = Inspector(policy)  # the paper's turn limit
    table = suite.table
    jobs = [(suite.spectrum(row), TASK, None) for row in range(len(suite))]
    started = time.perf_counter()
    results = inspector.run_many(jobs)
    valid = [
        result.error is None and all(step.error is None for step in result.trajectory.steps)
        for result in results
    ]
    correct = [
        result.verdict == label for result, label in zip(results, table["label"], strict=True)
    ]
    return {
        "protocol_valid": sum(valid) / len(valid),
        "accuracy": sum(correct) / len(correct),
        "mean_turns": sum(result.n_steps for result in results) / len(results),
        "seconds": time.perf_counter() - started,
        "example": results[0].trajectory.steps[-1].text[:400],
    }


def assistant_positions_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
    """Cross-entropy over the trained positions only (same value as projecting every position)."""
    labels = inputs.pop("labels")
    targets = labels[:, 1:]
    keep = (targets != -100).any(0).nonzero().squeeze(1)
    outputs = model(**inputs, logits_to_keep=keep)
    targets = targets[:, keep]
    loss = torch.nn.functional.cross_entropy(
        outputs.logits.flatten(0, 1).float(), targets.flatten(), ignore_index=-100
    )
    return (loss, outputs) if return_outputs else loss


def expert_conversations(workdir, n_train):
    """The scripted expert's SFT conversations on ``n_train`` questions (cached in ``workdir``)."""
    path = workdir / f"sft-data-{n_train}"
    if not path.is_dir():
        sft_dataset(simulated_suite(TASK, n_train, seed=1)).save_to_disk(str(path))
    return load_sft_dataset(path)


def run_sft(workdir, model, n_train, n_eval, learning_rate, epochs):
    from spec_o3.training.sft import sft_trainer

    held_out = simulated_suite(TASK, n_eval, seed=2)
    data = expert_conversations(workdir, n_train)
    print(f"{len(data)} SFT conversations, {sum(data['n_turns']) / len(data):.1f} turns each")
    before = protocol_validity(model, held_out)
    print("before SFT:", before)
    trainer = sft_trainer(
        dict(
            model=str(model),
            data="(in memory)",
            output_dir=str(workdir / "sft"),
            learning_rate=learning_rate,
            num_train_epochs=epochs,
            per_device_train_batch_size=1,
            gradient_checkpointing=False,
            bf16=False,
            logging_steps=10,
            trl={"save_strategy": "no", "report_to": "none"},
        ),
        data,
    )
    trainer.compute_loss = types.MethodType(assistant_positions_loss, trainer)
    started = time.perf_counter()
    trainer.train()
    trainer.save_model(str(workdir / "sft"))
    minutes = (time.perf_counter() - started) / 60
    after = protocol_validity(workdir / "sft", held_out)
    print("after SFT:", after)
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    return {
        "model": str(model),
        "learning_rate": learning_rate,
        "epochs": epochs,
        "n_train": len(data),
        "n_eval": n_eval,
        "train_minutes": minutes,
        "loss_first_last": [losses[0], losses[-1]] if losses else None,
        "before": before,
        "after": after,
    }


class StopAfter(TrainerCallback):
    """Ends training after the step that passes a wall-clock budget (for a time-boxed machine)."""

    def __init__(self, minutes):
        self.deadline = time.perf_counter() + 60 * minutes

    def on_step_end(self, args, state, control, **kwargs):
        control.should_training_stop = time.perf_counter() > self.deadline


def run_rl(workdir, args):
    """GRPO from the SFT model; reward curves, and greedy held-out episodes before and after."""
    from spec_o3.training.rl import grpo_trainer, save_grpo_output

    start, output = workdir / "sft", workdir / args.rl_output
    suite = simulated_suite(
        TASK, args.rl_questions, seed=3, positive_fraction=args.rl_positive_fraction
    )
    held_out = simulated_suite(
        TASK, args.n_eval, seed=4, positive_fraction=args.rl_positive_fraction
    )
    before = protocol_validity(start, held_out)
    print("before GRPO:", before)
    trainer = grpo_trainer(
        dict(
            model=str(start),
            task=[TASK],
            output_dir=str(output),
            learning_rate=args.rl_learning_rate,
            max_steps=args.rl_steps,
            num_generations=args.rl_generations,
            per_device_train_batch_size=args.rl_generations * args.rl_questions_per_step,
            gradient_accumulation_steps=1,
            steps_per_generation=1,
            max_completion_length=2048,
            temperature=args.rl_temperature,
            beta=args.rl_beta,
            gradient_checkpointing=False,
            bf16=False,
            logging_steps=1,
            seed=args.rl_seed,
            trl={"save_strategy": "no", "report_to": "none", "top_p": args.rl_top_p},
        ),
        rl_dataset(suite),
        suite=suite,
        callbacks=[StopAfter(args.rl_minutes)] if args.rl_minutes else None,
    )
    started = time.perf_counter()
    trainer.train()
    minutes = (time.perf_counter() - started) / 60
    save_grpo_output(trainer)
    after = protocol_validity(output, held_out)
    print("after GRPO:", after)
    steps = [entry for entry in trainer.state.log_history if "reward" in entry]
    curves = {
        "reward_per_step": "reward",
        "accuracy_per_step": "rewards/accuracy_reward/mean",
        "format_per_step": "rewards/format_reward/mean",
        "tool_calls_per_step": "tools/call_frequency",
    }
    result = {name: [entry[key] for entry in steps] for name, key in curves.items()}
    print("mean reward per step:", [round(value, 3) for value in result["reward_per_step"]])
    return {
        "n_questions": args.rl_questions,
        "positive_fraction": args.rl_positive_fraction,
        "learning_rate": args.rl_learning_rate,
        "temperature": args.rl_temperature,
        "generations": args.rl_generations,
        "questions_per_step": args.rl_questions_per_step,
        "beta": args.rl_beta,
        "seed": args.rl_seed,
        "minutes": minutes,
        **result,
        "before": before,
        "after": after,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=["sft", "rl"])
    parser.add_argument("--workdir", type=Path, default=Path("train-learns"))
    parser.add_argument("--n-train", type=int, default=300)
    parser.add_argument("--n-eval", type=int, default=20)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--epochs", type=float, default=1.5)
    parser.add_argument("--hidden-size", type=int, default=128, help="of the tiny model")
    parser.add_argument("--layers", type=int, default=4, help="of the tiny model")
    parser.add_argument(
        "--start", type=Path, help="SFT from this model (e.g. an earlier SFT output) instead"
    )
    parser.add_argument("--rl-questions", type=int, default=128)
    parser.add_argument("--rl-steps", type=int, default=16)
    parser.add_argument("--rl-learning-rate", type=float, default=1e-4)
    parser.add_argument("--rl-temperature", type=float, default=0.3, help="of the rollouts")
    parser.add_argument("--rl-generations", type=int, default=8, help="rollouts per question")
    parser.add_argument("--rl-questions-per-step", type=int, default=4)
    parser.add_argument("--rl-beta", type=float, default=0.0, help="KL weight to the SFT model")
    parser.add_argument("--rl-seed", type=int, default=0)
    parser.add_argument("--rl-top-p", type=float, default=1.0, help="nucleus of the rollouts")
    parser.add_argument(
        "--rl-minutes", type=float, help="stop GRPO after the step that passes this many minutes"
    )
    parser.add_argument("--rl-output", default="rl", help="GRPO output folder in the workdir")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument(
        "--rl-positive-fraction",
        type=float,
        default=1.0,
        help="of YES questions; 1 (the default) makes the easy task: the outcome reward alone "
        "must teach which verdict pays",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)  # a tiny model on a shared CPU: one is many times faster
    args.workdir.mkdir(parents=True, exist_ok=True)
    results_file = args.workdir / "results.json"
    results = json.loads(results_file.read_text()) if results_file.is_file() else {}
    if args.stage == "sft":
        data = expert_conversations(args.workdir, args.n_train)
        model = args.start or tiny_model(args.workdir, args.hidden_size, args.layers, data)
        results["sft" if args.start is None else "sft_continued"] = run_sft(
            args.workdir, model, args.n_train, args.n_eval, args.learning_rate, args.epochs
        )
    else:
        results[args.rl_output] = run_rl(args.workdir, args)
    results_file.write_text(json.dumps(results, indent=1))
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
