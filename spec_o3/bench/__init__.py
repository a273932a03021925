"""Benchmarks: labelled suites of YES/NO vetting questions, the paper's metrics, and evaluation of a backend."""

from .metrics import binary_scores, bootstrap_distribution, confusion_matrix, macro_f1, score_table
from .specvi import COLUMN_ALIASES
from .suite import Suite

__all__ = [
    "COLUMN_ALIASES",
    "Suite",
    "binary_scores",
    "bootstrap_distribution",
    "confusion_matrix",
    "macro_f1",
    "score_table",
]
