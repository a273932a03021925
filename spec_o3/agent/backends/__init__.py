"""Policies behind the inspection loop: ``expert``, ``transformers`` and ``openai``.

Each backend lives in its own module and is imported by :func:`get_backend` only when chosen.
"""

from .base import BACKENDS, BackendError, Policy, get_backend

__all__ = ["BACKENDS", "BackendError", "Policy", "get_backend"]
