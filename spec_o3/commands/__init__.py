"""Implementations of the ``spec-o3`` sub-commands.

Each module exposes ``add_arguments(parser)`` and ``run(args) -> int`` (the exit status) and keeps
its heavy imports inside ``run`` so that building the parser stays cheap.
"""
