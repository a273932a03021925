"""Benchmarks: labelled suites of YES/NO questions, the paper's metrics, evaluation of a backend."""

from .evaluate import EvaluationResult, evaluate
from .metrics import (
    binary_scores,
    bootstrap_distribution,
    comparison_table,
    confusion_matrix,
    macro_f1,
    paired_bootstrap_difference,
    score_table,
)
from .report import format_comparison, format_scores, plot_scores
from .specvi import COLUMN_ALIASES
from .suite import Suite

__all__ = [
    "COLUMN_ALIASES",
    "EvaluationResult",
    "Suite",
    "binary_scores",
    "bootstrap_distribution",
    "comparison_table",
    "confusion_matrix",
    "evaluate",
    "format_comparison",
    "format_scores",
    "macro_f1",
    "paired_bootstrap_difference",
    "plot_scores",
    "score_table",
]
