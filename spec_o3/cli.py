"""The ``spec-o3`` command line: one sub-command per job, each in :mod:`spec_o3.commands`.

Sub-command modules are imported only when chosen, so ``spec-o3 --help`` stays fast and a missing
optional dependency (say, the training stack) only matters to the command that needs it.
"""

import argparse
import importlib
import sys
from pathlib import Path

__all__ = ["main"]

#: sub-command name -> (module in spec_o3.commands, one-line help)
SUBCOMMANDS = {
    "vet": ("vet", "vet spectra for one task and write a results table"),
    "simulate": ("simulate", "write labelled synthetic LAMOST-like spectra"),
    "evaluate": ("evaluate", "score a backend on a labelled suite (paper's Table 1)"),
    "report": ("report", "build a browsable review gallery of vetted candidates"),
    "jdaviz": ("jdaviz", "open spectra in Jdaviz with the Spectral Vetting plugin"),
    "train": ("train", "build SFT data, train with SFT then GRPO, or build a tiny test model"),
}


def build_parser():
    """Return the top-level argument parser with every sub-command attached."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="spec-o3",
        description="Vet rare celestial-object candidates from their 1-D spectra.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        subparser = subparsers.add_parser(name, help=help_text, description=help_text)
        subparser.set_defaults(_module=module_name, _parser=subparser)
        subparser.add_argument(
            "--task-file",
            dest="task_files",
            action="append",
            type=Path,
            metavar="YAML",
            help="define a task in a YAML task file (question, windows, lines and rules; see "
            "the expert docs) and make it available to --task; repeatable, and with a single "
            "file --task defaults to its task",
        )
        _command_module(module_name).add_arguments(subparser)
    return parser


def _command_module(module_name):
    return importlib.import_module(f"spec_o3.commands.{module_name}")


def main(argv=None):
    """Run ``spec-o3`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        _load_task_files(args)
    except ValueError as error:
        print(f"spec-o3 {args.command}: {error}", file=sys.stderr)
        return 2
    return _command_module(args._module).run(args)


def _load_task_files(args):
    """Register the ``--task-file`` tasks; a single file's task becomes the default ``--task``."""
    if not args.task_files:
        return
    from .agent import load_task_file

    tasks = [load_task_file(path, replace=True) for path in args.task_files]
    option = next((a for a in args._parser._actions if a.dest == "task"), None)
    if option is not None and getattr(args, "task", None) is None and len(tasks) == 1:
        args.task = [tasks[0].id] if isinstance(option, argparse._AppendAction) else tasks[0].id


if __name__ == "__main__":
    sys.exit(main())
