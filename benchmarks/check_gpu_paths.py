"""GPU paths of the training code and the ``transformers`` backend, on tiny models.

CI has no GPU, so the tests train and vet on the CPU in float32; this script runs what only a GPU
reaches: the ``bf16: null`` default (bfloat16 where the GPU can), SFT of both tiny model families
(full fine-tuning and LoRA), GRPO from the LoRA result with the zoom tool live, and vetting
on ``cuda`` (the default device) and with ``device_map="auto"``, and one episode under the
``"release"`` protocol profile (no per-turn cap, one token budget for the episode, the released
tool schema and plots), and the path of ``train_learns.py discriminate``: SFT with a verdict
weight on the measuring expert's conversations, GRPO with the extended tools, an episode with
them. Each check is recorded, passed
or with its traceback, in a JSON report; the script does not stop at the first failure.

Run from the repository root on a machine with a GPU (a few minutes)::

    python benchmarks/check_gpu_paths.py gpu_paths.json

On a CPU it runs too (``use_bf16`` is then false), but slowly: the tiny models keep the full Qwen
vocabulary.
"""

import argparse
import json
import tempfile
import time
import traceback
from pathlib import Path

import torch

from spec_o3 import vet
from spec_o3.agent.backends.transformers import TransformersPolicy
from spec_o3.agent.protocol import RELEASE_TOOL_SCHEMA
from spec_o3.tasks import task_confusers
from spec_o3.training.config import SFTSettings, load_settings
from spec_o3.training.data import MeasuringExpert, sft_dataset, simulated_suite
from spec_o3.training.rl import grpo_trainer, save_grpo_output
from spec_o3.training.sft import train_sft
from spec_o3.training.tiny import build_tiny_model

QUIET = {"save_strategy": "no", "report_to": "none"}


def sft(workdir, conversations, family, finetuning):
    """Three SFT steps with the default precision; what was saved, in which dtype."""
    base = build_tiny_model(workdir / family, family=family)
    settings = dict(
        model=str(base),
        data="(in memory)",
        output_dir=str(workdir / f"{family}-{finetuning}"),
        max_steps=3,
        per_device_train_batch_size=2,
        finetuning=finetuning,
        lora_r=4,
        lora_alpha=8,
        logging_steps=1,
        trl=QUIET,
    )
    use_bf16 = load_settings(SFTSettings, **settings).use_bf16
    output = train_sft(settings, conversations)
    config = json.loads((output / "config.json").read_text()) if finetuning == "full" else {}
    return {
        "use_bf16": use_bf16,
        "files": sorted(path.name for path in output.iterdir()),
        "saved_dtype": config.get("dtype"),
    }


# Two GRPO steps of 4 rollouts for each of 2 questions, short rollouts.
TWO_GRPO_STEPS = dict(
    num_generations=4,
    per_device_train_batch_size=8,
    steps_per_generation=1,
    max_steps=2,
    max_completion_length=96,
    max_turns=2,
    logging_steps=1,
    trl=QUIET,
)


def two_grpo_steps(settings, **trainer_options):
    """Train `TWO_GRPO_STEPS` with ``settings`` and save; the trainer and its output directory."""
    trainer = grpo_trainer({**TWO_GRPO_STEPS, **settings}, **trainer_options)
    trainer.train()
    return trainer, save_grpo_output(trainer)


def grpo(workdir):
    """Two GRPO steps from the Qwen2.5-VL LoRA SFT output (merged: full fine-tuning), tools live."""
    trainer, output = two_grpo_steps(
        dict(
            model=str(workdir / "qwen2_5_vl-lora"),
            task=["gm"],
            n=4,
            output_dir=str(workdir / "grpo"),
        )
    )
    return {
        "steps": trainer.state.global_step,
        "bf16": trainer.args.bf16,
        "rewards": [entry["reward"] for entry in trainer.state.log_history if "reward" in entry],
        "files": sorted(path.name for path in output.iterdir()),
    }


def discriminate(workdir):
    """The path of ``train_learns.py discriminate`` on the default device: three SFT steps with
    the verdict-weighted loss on the measuring expert's conversations (extended tools), two GRPO
    steps with the extended tools live, then one episode of the result with them."""
    suite = simulated_suite("cc", 4, seed=0, negatives=task_confusers("cc"))
    teacher = MeasuringExpert(["C2_5165"])
    conversations = sft_dataset(suite, teacher, toolset="extended", only_correct=False)
    sft_output = train_sft(
        dict(
            model=str(workdir / "qwen2_5_vl"),
            data="(in memory)",
            output_dir=str(workdir / "cc-sft"),
            max_steps=3,
            per_device_train_batch_size=2,
            verdict_weight=10.0,
            logging_steps=1,
            trl=QUIET,
        ),
        conversations,
    )
    trainer, output = two_grpo_steps(
        dict(
            model=str(sft_output),
            task=["cc"],
            toolset="extended",
            output_dir=str(workdir / "cc-grpo"),
        ),
        suite=suite,
    )
    result = vet(
        suite.spectrum(0), "cc", backend="transformers", model=str(output), toolset="extended",
        max_new_tokens=32, max_turns=2,
    )  # fmt: skip
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    return {
        "sft_files": sorted(path.name for path in sft_output.iterdir()),
        "grpo_steps": trainer.state.global_step,
        "grpo_losses": losses,
        "verdict": result.verdict,
        "n_steps": result.n_steps,
        "error": result.error,
    }


def vet_with(spectrum, model, device):
    """One short episode through the inspection loop (a random model's text is an error result)."""
    result = vet(
        spectrum, "gm", backend="transformers", model=str(model), device=device,
        max_new_tokens=32, max_turns=2,
    )  # fmt: skip
    return {"verdict": result.verdict, "n_steps": result.n_steps, "error": result.error}


def release_episode(spectrum, model):
    """One episode under the release profile on the default device, with a small budget."""
    result = vet(
        spectrum, "gm", backend="transformers", model=str(model), protocol="release",
        response_budget=256, max_turns=3,
    )  # fmt: skip
    trajectory = result.trajectory
    return {
        "verdict": result.verdict,
        "n_steps": result.n_steps,
        "error": result.error,
        "released_schema": json.dumps(RELEASE_TOOL_SCHEMA) in trajectory.system,
        "overview_size": list(trajectory.overview.size),
        "reply_characters": [len(step.text) for step in trajectory.steps],
    }


def default_device(model):
    """Where the backend puts a model when no device is named."""
    policy = TransformersPolicy(str(model), dtype="bfloat16")
    return {"device": str(policy.model.device), "dtype": str(policy.model.dtype)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="JSON file to write")
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    report = {"torch": torch.__version__, "gpu": torch.cuda.get_device_name(0) if cuda else None}

    def check(name, function, *arguments):
        started = time.perf_counter()
        try:
            report[name] = {"ok": True, "result": function(*arguments)}
        except Exception:  # recorded, and the other checks still run
            report[name] = {"ok": False, "error": traceback.format_exc()[-3000:]}
        report[name]["seconds"] = round(time.perf_counter() - started, 1)
        print(name, json.dumps(report[name])[:600], flush=True)

    suite = simulated_suite("gm", 4, seed=0)
    conversations = sft_dataset(suite, only_correct=False)
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        for family in ("qwen2_5_vl", "qwen3_vl"):
            for finetuning in ("full", "lora"):
                check(f"sft_{family}_{finetuning}", sft, workdir, conversations, family, finetuning)
        check("grpo_from_lora_sft", grpo, workdir)
        spectrum = suite.spectrum(0)
        check("vet_default_device", vet_with, spectrum, workdir / "qwen3_vl-full", None)
        check("vet_grpo_output", vet_with, spectrum, workdir / "grpo", None)
        check("vet_device_map_auto", vet_with, spectrum, workdir / "qwen2_5_vl-full", "auto")
        check("default_device_bfloat16", default_device, workdir / "qwen3_vl-full")
        check("vet_release_profile", release_episode, spectrum, workdir / "qwen2_5_vl-full")
        check("discriminate_sft_grpo_extended_tools", discriminate, workdir)
    args.report.write_text(json.dumps(report, indent=1))
    failed = [name for name, entry in report.items() if isinstance(entry, dict) and not entry["ok"]]
    print("all checks passed" if not failed else f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
