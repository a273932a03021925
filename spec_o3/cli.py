"""The ``spec-o3`` command line: one sub-command per job, each in :mod:`spec_o3.commands`.

Sub-command modules are imported only when chosen, so ``spec-o3 --help`` stays fast and a missing
optional dependency (say, the training stack) only matters to the command that needs it.
"""

import argparse
import atexit
import gc
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


def build_parser(command=None):
    """Return the top-level argument parser with every sub-command attached, or with only
    ``command``'s options (the others listed by name): parsing one command's line needs no other
    command's module."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="spec-o3",
        description="Vet rare celestial-object candidates from their 1-D spectra.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        subparser = subparsers.add_parser(name, help=help_text, description=help_text)
        subparser.set_defaults(_module=module_name)
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
        if command in (None, name):
            _command_module(module_name).add_arguments(subparser)
    return parser


def _command_module(module_name):
    return importlib.import_module(f"spec_o3.commands.{module_name}")


def main(argv=None):
    """Run ``spec-o3`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit status."""
    if argv is None:  # the program itself, whose interpreter shuts down when this returns
        # What it loaded (astropy, specutils, matplotlib...) is left out of the garbage
        # collector's scans at shutdown, which otherwise take ~0.4 s; it is freed all the same.
        atexit.register(gc.freeze)
    argv = sys.argv[1:] if argv is None else list(argv)
    # Only the top-level options (--help, --version) come before the sub-command.
    parser = build_parser(next((arg for arg in argv if not arg.startswith("-")), None))
    try:
        argv = _with_task_files(parser, argv)
    except ValueError as error:
        print(f"spec-o3 {argv[0] if argv else ''}: {error}".replace("  ", " "), file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    return _command_module(args._module).run(args)


def _with_task_files(parser, argv):
    """Register the tasks of ``--task-file`` before parsing, so that ``--task`` may name them; a
    single file's task is the default ``--task`` of the commands that take one."""
    # No abbreviations: "--task cc" is not "--task-file cc".
    prescan = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    prescan.add_argument("--task-file", dest="task_files", action="append", type=Path)
    files = prescan.parse_known_args(argv)[0].task_files
    if not files:
        return argv
    from .agent import load_task_file

    tasks = [load_task_file(path, replace=True) for path in files]
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    command = commands.choices.get(argv[0])
    takes_task = command is not None and any(a.dest == "task" for a in command._actions)
    if takes_task and len(tasks) == 1 and not {"--task", "-t"} & set(argv):
        argv = [*argv, "--task", tasks[0].id]
    return argv


if __name__ == "__main__":
    sys.exit(main())
