"""A browsable review report of vetted candidates, and the merge of the reviewer's decisions.

`build_report` writes a static folder (``index.html`` and its images and data) that opens from
disk in any browser: one candidate at a time with its full spectrum, the agent's zoom windows and
evidence, keyboard shortcuts to accept or reject, decisions kept in the browser and exported as
CSV/ECSV; `merge_decisions` folds an export back into the results table. ``spec-o3 report`` is
the command line of both; :doc:`/report` describes the workflow.
"""

from .build import build_report
from .images import median_snr, render_overview
from .merge import DECISION_COLUMNS, DECISIONS, merge_decisions, read_decisions

__all__ = [
    "DECISIONS",
    "DECISION_COLUMNS",
    "build_report",
    "median_snr",
    "merge_decisions",
    "read_decisions",
    "render_overview",
]
