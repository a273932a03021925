"""Proof that the training path learns, on a CPU: SFT then GRPO teach a small model to discriminate.

Not a test: run it by hand and read the numbers it prints (and writes to
``WORKDIR/results.json``).

Stage ``discriminate`` (time-boxed by ``--minutes``): a balanced task, simulated carbon stars
against their look-alikes (`~spec_o3.tasks.task_confusers`: CN-strong and barium giants, G/K
giants, M dwarfs, badly calibrated and low-S/N stars), half YES and half NO. The teacher is the
scripted expert in short episodes (`~spec_o3.training.data.MeasuringExpert`): it measures the
three C2 Swan heads the expert zooms first with the extended toolset's ``band_strength`` tool,
then answers with its verdict, so the answer hangs on three numbers in the tool responses. SFT
weights the loss of the verdict token (``verdict_weight``) and starts from a tiny model whose
language model is initialised wider (``initializer_range`` 0.08: at 0.02 its attention stays
uniform over the ~1,000-token conversation and the verdicts stay at chance); GRPO follows with the
extended tools live, for the rest of the time. Held-out F1 (48 balanced questions, greedy
episodes of the real `~spec_o3.agent.Inspector` through the ``transformers`` backend, no answer
counted as a wrong one) is measured before, after SFT and after GRPO; the last line printed is
``held-out F1 <before> -> <after> (<n> questions)``. ``--control shuffled`` trains on the same
conversations with their verdicts permuted across them: it must stay at chance.

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

Usage (about 20, 40 and 25 minutes on a 2-core CPU)::

    python benchmarks/train_learns.py discriminate --workdir /tmp/learns --minutes 20 --threads 2
    python benchmarks/train_learns.py sft --workdir /tmp/learns
    python benchmarks/train_learns.py rl --workdir /tmp/learns --threads 2
"""

import argparse
import json
import time
import types
from pathlib import Path

import torch
from transformers import TrainerCallback

from spec_o3.agent.backends.transformers import TransformersPolicy
from spec_o3.bench.metrics import binary_scores
from spec_o3.defaults import MAX_TURNS
from spec_o3.tasks import task_confusers
from spec_o3.training.data import (
    MeasuringExpert,
    expert_results,
    load_sft_dataset,
    rl_dataset,
    sft_dataset,
    simulated_suite,
)
from spec_o3.training.tiny import build_tiny_model

TASK = "m_giant"
MAX_IMAGE_TOKENS = 16


def tiny_model(
    workdir, hidden_size, num_layers, conversations, *, name="tiny", initializer_range=0.02
):
    """The starting model: tiny random Qwen2.5-VL, small images, the vocabulary the data need."""
    from transformers import AutoProcessor

    path = workdir / f"{name}-{hidden_size}x{num_layers}"
    if not (path / "config.json").is_file():
        build_tiny_model(
            path,
            family="qwen2_5_vl",
            seed=0,
            hidden_size=hidden_size,
            num_layers=num_layers,
            trim_to=chat_texts(workdir, conversations),
            initializer_range=initializer_range,
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


def held_out_scores(
    model_dir, suite, *, toolset="default", max_new_tokens=256, max_turns=MAX_TURNS, batch_size=16
):
    """Greedy episodes of the real inspection loop on ``suite``: protocol validity and verdicts.

    A question without a verdict counts as answered wrong (as ``spec-o3 evaluate`` scores a
    ``no_answer``), so F1 cannot gain from failures.
    """
    policy = TransformersPolicy(
        str(model_dir), max_new_tokens=max_new_tokens, batch_size=batch_size, toolset=toolset
    )
    started = time.perf_counter()
    results = expert_results(
        suite, policy, toolset=toolset, max_turns=max_turns, batch_size=batch_size
    )
    labels = [str(label) for label in suite.table["label"]]
    valid = [
        result.error is None and all(step.error is None for step in result.trajectory.steps)
        for result in results
    ]
    wrong = {"YES": "NO", "NO": "YES"}
    predictions = [
        result.verdict or wrong[label] for result, label in zip(results, labels, strict=True)
    ]
    scores = binary_scores(labels, predictions)
    return {
        "n": len(results),
        "protocol_valid": sum(valid) / len(valid),
        "answered": sum(result.verdict is not None for result in results) / len(results),
        "accuracy": scores["accuracy"],
        "f1": scores["f1"],
        "confusion": {cell: scores[cell] for cell in ("tp", "fp", "fn", "tn")},
        "mean_turns": sum(result.n_steps for result in results) / len(results),
        "seconds": time.perf_counter() - started,
        "example": "\n".join(step.text for step in results[0].trajectory.steps)[:400],
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


def sft_stage(
    model,
    data,
    output,
    *,
    learning_rate,
    epochs,
    verdict_weight=1.0,
    minutes=None,
    schedule="cosine",
):
    """Fine-tune ``model`` on ``data`` with `~spec_o3.training.sft` (one conversation a step) and
    save it in ``output``; return the trainer and the training minutes."""
    from spec_o3.training.sft import sft_trainer

    trainer = sft_trainer(
        dict(
            model=str(model),
            data="(in memory)",
            output_dir=str(output),
            learning_rate=learning_rate,
            lr_scheduler_type=schedule,
            num_train_epochs=epochs,
            per_device_train_batch_size=1,
            gradient_checkpointing=False,
            bf16=False,
            logging_steps=10,
            verdict_weight=verdict_weight,
            trl={"save_strategy": "no", "report_to": "none"},
        ),
        data,
        callbacks=[StopAfter(minutes)] if minutes else None,
    )
    if (
        verdict_weight == 1
    ):  # the library's weighted loss already projects the trained positions only
        trainer.compute_loss = types.MethodType(assistant_positions_loss, trainer)
    started = time.perf_counter()
    trainer.train()
    trainer.save_model(str(output))
    return trainer, (time.perf_counter() - started) / 60


def losses(trainer):
    """First and last logged training loss."""
    logged = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    return [logged[0], logged[-1]] if logged else None


def run_sft(workdir, model, n_train, n_eval, learning_rate, epochs):
    held_out = simulated_suite(TASK, n_eval, seed=2)
    data = expert_conversations(workdir, n_train)
    print(f"{len(data)} SFT conversations, {sum(data['n_turns']) / len(data):.1f} turns each")
    before = held_out_scores(model, held_out)
    print("before SFT:", before)
    trainer, minutes = sft_stage(
        model, data, workdir / "sft", learning_rate=learning_rate, epochs=epochs
    )
    after = held_out_scores(workdir / "sft", held_out)
    print("after SFT:", after)
    return {
        "model": str(model),
        "learning_rate": learning_rate,
        "epochs": epochs,
        "n_train": len(data),
        "n_eval": n_eval,
        "train_minutes": minutes,
        "loss_first_last": losses(trainer),
        "before": before,
        "after": after,
    }


class StopAfter(TrainerCallback):
    """Ends training after the step that passes a wall-clock budget (for a time-boxed machine)."""

    def __init__(self, minutes):
        self.deadline = time.perf_counter() + 60 * minutes

    def on_step_end(self, args, state, control, **kwargs):
        if time.perf_counter() > self.deadline:  # never clear a stop asked for by max_steps
            control.should_training_stop = True


def grpo_stage(
    start,
    suite,
    output,
    args,
    *,
    toolset="default",
    max_turns=None,
    max_completion_length=2048,
    minutes=None,
):
    """GRPO from ``start`` on ``suite`` with the tools live (`~spec_o3.training.rl`), saved in
    ``output``; return the reward curves and the training minutes."""
    from spec_o3.training.rl import grpo_trainer, save_grpo_output

    trainer = grpo_trainer(
        dict(
            model=str(start),
            task=[str(suite.table["task"][0])],
            output_dir=str(output),
            learning_rate=args.rl_learning_rate,
            max_steps=args.rl_steps,
            num_generations=args.rl_generations,
            per_device_train_batch_size=args.rl_generations * args.rl_questions_per_step,
            gradient_accumulation_steps=1,
            steps_per_generation=1,
            max_completion_length=max_completion_length,
            temperature=args.rl_temperature,
            beta=args.rl_beta,
            gradient_checkpointing=False,
            bf16=False,
            logging_steps=1,
            seed=args.rl_seed,
            toolset=toolset,
            max_turns=max_turns,
            trl={"save_strategy": "no", "report_to": "none", "top_p": args.rl_top_p},
        ),
        rl_dataset(suite),
        suite=suite,
        callbacks=[StopAfter(minutes)] if minutes else None,
    )
    started = time.perf_counter()
    trainer.train()
    minutes = (time.perf_counter() - started) / 60
    save_grpo_output(trainer)
    steps = [entry for entry in trainer.state.log_history if "reward" in entry]
    curves = {
        "reward_per_step": "reward",
        "accuracy_per_step": "rewards/accuracy_reward/mean",
        "format_per_step": "rewards/format_reward/mean",
        "tool_calls_per_step": "tools/call_frequency",
    }
    result = {name: [entry.get(key) for entry in steps] for name, key in curves.items()}
    print("mean reward per step:", [round(value, 3) for value in result["reward_per_step"]])
    return result, minutes


def rl_settings(args):
    """The GRPO options of the command line, as recorded in the results."""
    return {
        "learning_rate": args.rl_learning_rate,
        "temperature": args.rl_temperature,
        "generations": args.rl_generations,
        "questions_per_step": args.rl_questions_per_step,
        "beta": args.rl_beta,
        "seed": args.rl_seed,
    }


def run_rl(workdir, args):
    """GRPO from the SFT model; reward curves, and greedy held-out episodes before and after."""
    start, output = workdir / "sft", workdir / args.rl_output
    suite = simulated_suite(
        TASK, args.rl_questions, seed=3, positive_fraction=args.rl_positive_fraction
    )
    held_out = simulated_suite(
        TASK, args.n_eval, seed=4, positive_fraction=args.rl_positive_fraction
    )
    before = held_out_scores(start, held_out)
    print("before GRPO:", before)
    curves, minutes = grpo_stage(start, suite, output, args, minutes=args.rl_minutes)
    after = held_out_scores(output, held_out)
    print("after GRPO:", after)
    return {
        "n_questions": args.rl_questions,
        "positive_fraction": args.rl_positive_fraction,
        **rl_settings(args),
        "minutes": minutes,
        **curves,
        "before": before,
        "after": after,
    }


# The discriminating task: carbon stars against their look-alikes, half YES and half NO, read
# through the bands of the three windows the expert zooms first (the C2 Swan heads).
DISCRIMINATE_TASK = "carbon_star"
DISCRIMINATE_BANDS = ("C2_5165", "C2_4737", "C2_5636")
# The teacher answers in len(DISCRIMINATE_BANDS) + 1 turns of at most ~60 tokens; the bounds keep
# an untrained model's babble (and the CPU attention matrices of its long contexts) in check.
DISCRIMINATE_EVALUATION = dict(
    toolset="extended", max_turns=len(DISCRIMINATE_BANDS) + 2, max_new_tokens=96, batch_size=8
)


def balanced_suite(n, seed):
    """``n`` simulated carbon-star questions, half YES, the NO half drawn from its confusers."""
    return simulated_suite(
        DISCRIMINATE_TASK, n, seed=seed, negatives=task_confusers(DISCRIMINATE_TASK)
    )


def measured_conversations(workdir, n_train, control):
    """The measuring expert's short conversations on ``n_train`` balanced questions (cached);
    with ``control="shuffled"`` their verdicts are permuted across conversations."""
    path = workdir / f"sft-data-cc-{n_train}"
    if not path.is_dir():
        teacher = MeasuringExpert(DISCRIMINATE_BANDS)
        data = sft_dataset(balanced_suite(n_train, seed=11), teacher, toolset="extended")
        data.save_to_disk(str(path))
    data = load_sft_dataset(path)
    return shuffled_verdicts(data, seed=5) if control == "shuffled" else data


def shuffled_verdicts(data, seed):
    """The control: each conversation's boxed verdict replaced by that of a random other one, so
    that the verdicts no longer depend on the spectra (but keep their proportion)."""
    import numpy as np

    verdicts = np.random.default_rng(seed).permutation(data["verdict"])

    def relabel(example, index):
        messages = example["messages"]
        final = messages[-1]["content"][-1]
        final["text"] = final["text"].replace(
            f"\\boxed{{{example['verdict']}}}", f"\\boxed{{{verdicts[index]}}}"
        )
        return {"messages": messages, "verdict": str(verdicts[index])}

    return data.map(relabel, with_indices=True)


def run_discriminate(workdir, args):
    """SFT on the measuring expert's conversations, then GRPO, on the balanced carbon-star task,
    within ``args.minutes``; held-out F1 before, after SFT and after GRPO."""
    started = time.perf_counter()

    def minutes_left():
        return args.minutes - (time.perf_counter() - started) / 60

    data = measured_conversations(workdir, args.n_train, args.control)
    name = "tiny-cc" if args.control is None else f"tiny-cc-{args.control}"
    model = tiny_model(
        workdir,
        args.hidden_size,
        args.layers,
        data,
        name=f"tiny-cc-init{args.init}",
        initializer_range=args.init,
    )
    held_out = balanced_suite(args.n_eval, seed=12)
    before = held_out_scores(model, held_out, **DISCRIMINATE_EVALUATION)
    print("before:", before)
    # An untrained model babbles to the token limits; a trained one's evaluations take well under
    # a minute each: keep one for each, SFT gets its share of the rest.
    sft_minutes = args.sft_share * (minutes_left() - 2.0)
    trainer, sft_minutes = sft_stage(
        model,
        data,
        workdir / f"{name}-sft",
        learning_rate=args.learning_rate,
        epochs=args.epochs,
        verdict_weight=args.verdict_weight,
        minutes=sft_minutes,
        schedule="constant_with_warmup",  # time-boxed: no schedule to cut short
    )
    after_sft = held_out_scores(workdir / f"{name}-sft", held_out, **DISCRIMINATE_EVALUATION)
    print("after SFT:", after_sft)
    curves, rl_minutes = grpo_stage(
        workdir / f"{name}-sft",
        balanced_suite(args.rl_questions, seed=13),
        workdir / f"{name}-grpo",
        args,
        toolset="extended",
        max_turns=DISCRIMINATE_EVALUATION["max_turns"],
        max_completion_length=512,  # the teacher's episodes: ~350 tokens with the tool responses
        minutes=minutes_left() - 1.5 * after_sft["seconds"] / 60 - 0.5,  # GRPO: the rest
    )
    after = held_out_scores(workdir / f"{name}-grpo", held_out, **DISCRIMINATE_EVALUATION)
    print("after GRPO:", after)
    return {
        "control": args.control,
        "n_train": len(data),
        "n_eval": args.n_eval,
        "sft": {
            "learning_rate": args.learning_rate,
            "epochs": args.epochs,
            "verdict_weight": args.verdict_weight,
            "initializer_range": args.init,
            "minutes": sft_minutes,
            "steps": trainer.state.global_step,
            "loss_first_last": losses(trainer),
        },
        "grpo": {
            "questions": args.rl_questions,
            **rl_settings(args),
            "minutes": rl_minutes,
            **curves,
        },
        "minutes": (time.perf_counter() - started) / 60,
        "before": before,
        "after_sft": after_sft,
        "after": after,
    }


# Defaults that differ between the stages (the M-giant ``sft``/``rl`` runs, ``discriminate``).
STAGE_DEFAULTS = {
    "sft": dict(n_train=300, n_eval=20, learning_rate=3e-3, epochs=1.5),
    "rl": dict(n_eval=20, rl_questions=128, rl_steps=16, rl_temperature=0.3),
    "discriminate": dict(
        n_train=240,
        n_eval=48,
        learning_rate=1e-3,
        epochs=8.0,
        rl_questions=128,
        rl_steps=-1,
        rl_temperature=0.7,
    ),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=list(STAGE_DEFAULTS))
    parser.add_argument("--workdir", type=Path, default=Path("train-learns"))
    parser.add_argument("--n-train", type=int)
    parser.add_argument("--n-eval", type=int)
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--epochs", type=float)
    parser.add_argument("--hidden-size", type=int, default=128, help="of the tiny model")
    parser.add_argument("--layers", type=int, default=4, help="of the tiny model")
    parser.add_argument(
        "--start", type=Path, help="SFT from this model (e.g. an earlier SFT output) instead"
    )
    parser.add_argument("--rl-questions", type=int)
    parser.add_argument("--rl-steps", type=int, help="-1: as many as the time allows")
    parser.add_argument("--rl-learning-rate", type=float, default=1e-4)
    parser.add_argument("--rl-temperature", type=float, help="of the rollouts")
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
    parser.add_argument(
        "--minutes", type=float, default=20.0, help="discriminate: the whole run's time box"
    )
    parser.add_argument(
        "--sft-share",
        type=float,
        default=0.5,
        help="discriminate: SFT's share of the training time",
    )
    parser.add_argument(
        "--verdict-weight",
        type=float,
        default=10.0,
        help="discriminate: SFT loss weight of the verdict",
    )
    parser.add_argument(
        "--init",
        type=float,
        default=0.08,
        help="discriminate: initializer_range of the tiny model's language model",
    )
    parser.add_argument(
        "--control",
        choices=["shuffled"],
        help="discriminate: train on verdicts shuffled across conversations (must stay at chance)",
    )
    args = parser.parse_args()
    for name, value in STAGE_DEFAULTS[args.stage].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
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
    elif args.stage == "rl":
        results[args.rl_output] = run_rl(args.workdir, args)
    else:
        key = "discriminate" if args.control is None else f"discriminate_{args.control}"
        results[key] = run_discriminate(args.workdir, args)
    results_file.write_text(json.dumps(results, indent=1))
    print(json.dumps(results, indent=1))
    if args.stage == "discriminate":
        result = results[key]
        print(
            f"held-out F1 {result['before']['f1']:.2f} -> {result['after']['f1']:.2f} "
            f"({result['n_eval']} questions)"
        )


if __name__ == "__main__":
    main()
