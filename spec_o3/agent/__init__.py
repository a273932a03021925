"""The inspection agent: one multi-turn loop, pluggable policies, the released Spec-o3 protocol.

`vet` is the front door; `Inspector` runs the loop for any `Policy`; :doc:`/agent` explains how
the loop, the protocol and the backends fit together.
"""

from spec_o3.tasks import TASKS

from .backends import BackendError, Policy, get_backend
from .inspector import Episode, Inspector, vet, vet_targets
from .protocol import ParsedResponse, ToolCall, parse_response
from .result import VettingResult
from .task_files import load_task_file
from .tools import InspectionEnvironment, ToolCallError, ToolResult
from .trajectory import Step, Trajectory

__all__ = [
    "TASKS",
    "BackendError",
    "Episode",
    "InspectionEnvironment",
    "Inspector",
    "ParsedResponse",
    "Policy",
    "Step",
    "ToolCall",
    "ToolCallError",
    "ToolResult",
    "Trajectory",
    "VettingResult",
    "get_backend",
    "load_task_file",
    "parse_response",
    "vet",
    "vet_targets",
]
