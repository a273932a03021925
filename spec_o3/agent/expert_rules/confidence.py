"""How sure the scripted expert is: the probability that its verdict is right, calibrated.

A verdict's confidence is a logistic function (Platt scaling) of what made the decision: which rule
of the task's table decided, the S/N of the region judged, and the decision's margin (how far the
measurements were from the thresholds they were compared with; see
`~spec_o3.agent.expert_rules.Decision`)::

    logit P(verdict right) = a[task, rule] + b[task] * log10(S/N) + c[task] * margin

The coefficients are fitted on held-out simulated suites by ``benchmarks/calibrate_confidence.py``,
which also checks them on fresh simulated suites and on the real validation set (:doc:`/expert`
shows the reliability diagram), and are stored with the fit's provenance in
``spec_o3/data/expert_confidence.ecsv``. Tasks without fitted coefficients (e.g. a task file's)
get no confidence.
"""

import math
from functools import cache
from importlib import resources

import numpy as np
from astropy.table import Table

__all__ = ["confidence", "confidence_features", "fit_confidence"]

CALIBRATION = "expert_confidence.ecsv"
#: log10 S/N is clipped to this range: beyond S/N 100 more signal no longer changes a verdict.
_LOG_SNR = (0.0, 2.0)
#: A rule that decided fewer times than this in the fit shares its task's intercept.
_MIN_RULE_COUNT = 10
#: Ridge penalty on the coefficients: it pulls a rule's intercept toward its task's, so that a rule
#: seen a dozen times in the simulated suites does not get an extreme confidence of its own.
_RIDGE = 5.0


def confidence_features(assessment):
    """``(rule, log10 S/N, margin)`` of an `~spec_o3.agent.expert_rules.Assessment`."""
    snr = assessment.snr if math.isfinite(assessment.snr) and assessment.snr > 0 else 1.0
    low, high = _LOG_SNR  # np.clip of one number costs ten times its arithmetic
    return assessment.rule, float(min(max(np.log10(snr), low), high)), float(assessment.margin)


@cache
def _coefficients():
    """``(task, rule) -> (intercept, snr_slope, margin_slope)`` as floats: a table row's item
    costs more than the arithmetic of a confidence (five per spectrum in a catalogue run)."""
    resource = resources.files("spec_o3.data").joinpath(CALIBRATION)
    with resources.as_file(resource) as path:
        table = Table.read(path, format="ascii.ecsv")
    columns = [table[name].tolist() for name in ("intercept", "snr_slope", "margin_slope")]
    keys = zip(table["task"].tolist(), table["rule"].tolist(), strict=True)
    return {key: values for key, *values in zip(keys, *columns, strict=True)}


def confidence(assessment):
    """Probability, between 0 and 1, that the expert's verdict in ``assessment`` is right.

    Returns None for a task without calibration.

    Examples
    --------
    >>> from spec_o3.agent.expert_rules import assess
    >>> from spec_o3.agent.expert_rules.confidence import confidence
    >>> from spec_o3.simulate import simulate_spectrum
    >>> star = simulate_spectrum("carbon_star", seed=11, snr=40, subtype="C-N")
    >>> confidence(assess(star, "carbon_star", star.meta["redshift"])) > 0.9
    True
    """
    coefficients = _coefficients()
    task_row = coefficients.get((assessment.task, "*"))
    if task_row is None:
        return None
    rule, log_snr, margin = confidence_features(assessment)
    intercept = coefficients.get((assessment.task, rule), task_row)[0]
    _, snr_slope, margin_slope = task_row
    logit = intercept + snr_slope * log_snr + margin_slope * margin
    return float(1.0 / (1.0 + np.exp(-logit)))


def fit_confidence(task, features, correct):
    """Fit one task's coefficients; return the rows of the calibration table.

    Parameters
    ----------
    task : str
        Task id.
    features : sequence of tuple
        `confidence_features` of each assessment.
    correct : sequence of bool
        Whether each verdict was right.

    Returns
    -------
    rows : list of dict
        One row for the task (``rule = "*"``: its intercept and slopes) and one per rule seen at
        least 10 times (its intercept).
    """
    from scipy.optimize import minimize  # fitting only; vetting reads the fitted table

    rules, log_snr, margin = (np.asarray(column) for column in zip(*features, strict=True))
    correct = np.asarray(correct, dtype=float)
    names, counts = np.unique(rules, return_counts=True)
    own = [name for name, count in zip(names, counts, strict=True) if count >= _MIN_RULE_COUNT]
    design = np.column_stack(
        [np.ones(len(correct)), log_snr, margin, *[(rules == name) for name in own]]
    ).astype(float)

    def loss(weights):
        logit = design @ weights
        # log(1 + e^z) - y z, written to stay finite for large |z|
        nll = np.sum(np.logaddexp(0.0, logit) - correct * logit)
        gradient = design.T @ (1.0 / (1.0 + np.exp(-logit)) - correct)
        penalty = np.r_[0.0, weights[1:]]  # the task's own intercept is not shrunk
        return nll + 0.5 * _RIDGE * penalty @ penalty, gradient + _RIDGE * penalty

    weights = minimize(loss, np.zeros(design.shape[1]), jac=True, method="L-BFGS-B").x
    base, snr_slope, margin_slope = weights[:3]
    rows = [_row(task, "*", base, snr_slope, margin_slope, len(correct))]
    rows += [
        _row(task, name, base + offset, snr_slope, margin_slope, int((rules == name).sum()))
        for name, offset in zip(own, weights[3:], strict=True)
    ]
    return rows


def _row(task, rule, intercept, snr_slope, margin_slope, count):
    return {
        "task": task,
        "rule": rule,
        "intercept": round(float(intercept), 4),
        "snr_slope": round(float(snr_slope), 4),
        "margin_slope": round(float(margin_slope), 4),
        "n_fit": count,
    }
