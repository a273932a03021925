"""``spec-o3 train``: build a tiny test model, write SFT data, run cold-start SFT, run GRPO.

Examples::

    spec-o3 train tiny-model runs/tiny                        # offline tiny Qwen2.5-VL
    spec-o3 train sft-data --task gm --n 600 --out data/sft-gm --seed 1
    spec-o3 train sft --model Qwen/Qwen2.5-VL-7B-Instruct --data data/sft-gm --output runs/sft
    spec-o3 train rl --model runs/sft --task gm --n 512 --output runs/grpo

    # vet -> review -> retrain: the reviewers' decisions as training data
    spec-o3 train sft-data --reviewed results-reviewed.ecsv --trajectories runs/ --out data/rev
    spec-o3 train rl --model runs/sft --suite results-reviewed.ecsv --output runs/grpo

``sft`` and ``rl`` read every setting from ``--config cfg.yaml`` too (options given on the
command line win); under ``accelerate launch -m spec_o3.cli train ...`` they run on every GPU.
"""

import sys
from pathlib import Path

from spec_o3.agent.protocol import PROTOCOLS

__all__ = ["add_arguments", "run"]


def add_arguments(parser):
    """Attach the ``train`` sub-commands to ``parser``."""
    stages = parser.add_subparsers(dest="stage", metavar="STAGE", required=True)

    tiny = stages.add_parser(
        "tiny-model", help="build a tiny random Qwen-VL model offline (tests, demos)"
    )
    tiny.add_argument("output", type=Path, metavar="DIR", help="directory to write")
    tiny.add_argument(
        "--family", default="qwen2_5_vl", choices=["qwen2_5_vl", "qwen3_vl", "qwen2_vl"]
    )
    tiny.add_argument("--seed", type=int, default=0, help="seed of the random weights")

    data = stages.add_parser(
        "sft-data",
        help="write cold-start SFT conversations (the expert's, or reviewed inspections)",
    )
    data.add_argument("--task", help="task to simulate questions for (id or code)")
    data.add_argument("--n", type=int, help="number of questions to simulate")
    data.add_argument(
        "--suite",
        action="append",
        type=Path,
        metavar="PATH",
        help="labelled suite to use instead of (or besides) simulating: a 'spec-o3 simulate' "
        "directory or a saved suite; repeatable",
    )
    data.add_argument("--out", type=Path, required=True, metavar="DIR", help="dataset directory")
    data.add_argument("--seed", type=int, default=0, help="seed of the simulated questions")
    data.add_argument(
        "--keep-incorrect",
        action="store_true",
        help="keep episodes whose verdict is wrong (default: only correct ones)",
    )
    data.add_argument("--no-images", action="store_true", help="text-only conversations")
    data.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        help="dialogue profile of the conversations (default: spec-o3, the expert's); release: "
        "the format the released Spec-o3 checkpoints were trained on, to fine-tune them further",
    )
    reviewed = data.add_argument_group("from a review (instead of the expert)")
    reviewed.add_argument(
        "--reviewed",
        type=Path,
        metavar="TABLE",
        help="results table with review decisions (spec-o3 report --merge): the inspections "
        "the reviewer agreed with as they are, the others corrected to the reviewer's verdict",
    )
    reviewed.add_argument(
        "--trajectories",
        type=Path,
        metavar="DIR",
        help="where spec-o3 vet --save-trajectories saved the inspections of that table",
    )

    sft = stages.add_parser("sft", help="cold-start supervised fine-tuning (TRL SFTTrainer)")
    _model_options(sft)
    sft.add_argument(
        "--data", help="directory written by 'sft-data', or a ShareGPT .json/.jsonl file"
    )

    rl = stages.add_parser("rl", help="GRPO with the zoom tool in the loop (TRL GRPOTrainer)")
    _model_options(rl)
    rl.add_argument("--task", action="append", help="task to simulate questions for; repeatable")
    rl.add_argument("--n", type=int, help="questions to simulate per task (default 64)")
    rl.add_argument(
        "--suite",
        action="append",
        metavar="PATH",
        help="labelled suite to train on, or a results table with review decisions (spec-o3 "
        "report --merge: the decisions are the labels); repeatable",
    )
    rl.add_argument("--num-generations", type=int, help="rollouts per question (default 8)")
    rl.add_argument(
        "--use-vllm", action="store_true", default=None, help="generate rollouts with vLLM"
    )


def _model_options(parser):
    parser.add_argument(
        "--model", help="hub id, model directory, or adapter directory of an earlier stage"
    )
    parser.add_argument("--output", dest="output_dir", help="directory for the trained model")
    parser.add_argument("--config", type=Path, help="YAML file of settings")
    parser.add_argument("--max-steps", type=int, help="stop after N optimisation steps")
    parser.add_argument(
        "--finetuning", choices=["full", "lora", "qlora"], help="default: full (vision frozen)"
    )
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--epochs", dest="num_train_epochs", type=float)
    parser.add_argument("--seed", type=int)


def _fail(stage, message):
    print(f"spec-o3 train {stage}: error: {message}", file=sys.stderr)
    return 2


def run(args):
    """Run the chosen stage; return the exit status."""
    try:
        return _STAGES[args.stage](args)
    except (OSError, ValueError, ImportError) as error:
        return _fail(args.stage, error)


def _tiny_model(args):
    from spec_o3.training.tiny import build_tiny_model

    print(f"wrote {build_tiny_model(args.output, family=args.family, seed=args.seed)}")
    return 0


def _sft_data(args):
    if args.reviewed is not None:
        return _reviewed_sft_data(args)
    if args.trajectories is not None:
        raise ValueError("--trajectories goes with --reviewed")
    from spec_o3.bench import Suite
    from spec_o3.training.data import sft_dataset, simulated_suite

    if (args.task is None) != (args.n is None):
        raise ValueError("--task and --n go together")
    if args.task is None and not args.suite:
        raise ValueError("give --task and --n to simulate questions, or --suite")
    suites = [Suite.read(path) for path in args.suite or ()]
    if args.task is not None:
        suites.append(simulated_suite(args.task, args.n, seed=args.seed))
    suite = Suite.concatenate(suites)
    dataset = sft_dataset(
        suite,
        only_correct=not args.keep_incorrect,
        render_images=not args.no_images,
        protocol=args.protocol,
    )
    dataset.save_to_disk(str(args.out))
    print(f"wrote {len(dataset)} conversations from {len(suite)} questions to {args.out}")
    return 0


#: ``sft-data`` options of the expert's conversations, which a review does not take.
_EXPERT_DATA_OPTIONS = ("task", "n", "suite", "keep_incorrect", "no_images", "protocol")


def _reviewed_sft_data(args):
    from spec_o3.training.reviewed import reviewed_sft_dataset

    given = [name for name in _EXPERT_DATA_OPTIONS if getattr(args, name)]
    if given:
        listed = ", ".join(f"--{name.replace('_', '-')}" for name in given)
        raise ValueError(f"{listed} cannot be combined with --reviewed")
    if args.trajectories is None:
        raise ValueError(
            "--reviewed needs --trajectories DIR, where spec-o3 vet --save-trajectories saved "
            "the inspections"
        )
    dataset, reviewed = reviewed_sft_dataset(args.reviewed, args.trajectories)
    dataset.save_to_disk(str(args.out))
    corrected = sum(dataset["corrected"])
    print(
        f"wrote {len(dataset)} conversations to {args.out}: {len(dataset) - corrected} "
        f"inspection(s) as the agent made them, {corrected} corrected to the reviewer's verdict"
        + (f"; {reviewed.describe_left_out()}" if reviewed.describe_left_out() else "")
    )
    return 0


def _overrides(args, names):
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


_COMMON = (
    "model",
    "output_dir",
    "max_steps",
    "finetuning",
    "learning_rate",
    "num_train_epochs",
    "seed",
)


def _sft(args):
    from spec_o3.training.config import SFTSettings, load_settings
    from spec_o3.training.sft import train_sft

    settings = load_settings(SFTSettings, args.config, **_overrides(args, (*_COMMON, "data")))
    print(f"saved {train_sft(settings)}")
    return 0


def _rl(args):
    from spec_o3.training.config import GRPOSettings, load_settings
    from spec_o3.training.rl import train_grpo

    names = (*_COMMON, "task", "n", "suite", "num_generations", "use_vllm")
    settings = load_settings(GRPOSettings, args.config, **_overrides(args, names))
    print(f"saved {train_grpo(settings, suite=_rl_questions(settings.suite))}")
    return 0


def _rl_questions(paths):
    """The questions of ``--suite``: suites as they are, and reviewed results tables labelled by
    their decisions; None without ``--suite`` (the settings' tasks are simulated)."""
    from spec_o3.bench import Suite
    from spec_o3.training.reviewed import is_reviewed_table, reviewed_suite

    if not paths:
        return None
    suites = []
    for path in paths:
        if not is_reviewed_table(path):
            suites.append(Suite.read(path))
            continue
        suite, reviewed = reviewed_suite(path)
        left_out = reviewed.describe_left_out()
        print(
            f"{path}: {len(suite)} reviewed question(s), the decisions as labels"
            + (f"; {left_out}" if left_out else "")
        )
        suites.append(suite)
    return Suite.concatenate(suites)


_STAGES = {"tiny-model": _tiny_model, "sft-data": _sft_data, "sft": _sft, "rl": _rl}
