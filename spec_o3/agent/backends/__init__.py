"""Policies behind the inspection loop, and the registry that names them.

The built-in backends are ``expert``, ``transformers`` and ``openai``, each in its own module,
imported by :func:`~spec_o3.agent.get_backend` only when chosen; :func:`register_backend` (or the
``spec_o3.backends`` entry-point group) adds others.
"""

from .base import BackendError, Policy
from .registry import (
    ENTRY_POINT_GROUP,
    Backend,
    BackendOption,
    backend_declaration,
    get_backend,
    register_backend,
    registered_backends,
    unregister_backend,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "Backend",
    "BackendError",
    "BackendOption",
    "Policy",
    "backend_declaration",
    "get_backend",
    "register_backend",
    "registered_backends",
    "unregister_backend",
]
