"""Labelled suites for a vetting task: positives, its confusers and the other rare classes."""

import numpy as np

from ..tasks import get_task, task_confusers, task_positives
from .core import simulate_spectrum
from .registry import CLASSES

__all__ = [
    "confusers",
    "positives",
    "iter_suite",
    "draw_suite",
    "DEFAULT_SUITE_SNR",
]

#: S/N range (log-uniform) of suites.
DEFAULT_SUITE_SNR = (5.0, 80.0)


def positives(task):
    """Names of the classes that are a YES for ``task``.

    Examples
    --------
    >>> positives("wd")
    ('white_dwarf',)
    """
    task_id = get_task(task).id
    declared = task_positives(task_id)
    names = tuple(
        name for name, c in CLASSES.items() if c.positive_for == task_id or name in declared
    )
    if not names:
        raise ValueError(f"no simulated class is a positive for task {task_id!r}")
    return names


def confusers(task):
    """Names of the classes that mimic ``task``'s positives (not counting the other rare classes).

    They are declared with the task (`spec_o3.tasks.register_task`'s ``confusers``).

    Examples
    --------
    >>> "be_star" in confusers("cv")
    True
    """
    task_id = get_task(task).id
    names = task_confusers(task_id)
    if not names:
        raise ValueError(
            f"task {task_id!r} declares no simulated confusers; register it with "
            "register_task(..., confusers=[...])"
        )
    unknown = [name for name in names if name not in CLASSES]
    if unknown:
        raise ValueError(f"task {task_id!r} names unknown simulated classes {unknown}")
    return names


def _other_rare(task_id):
    declared = task_positives(task_id)
    return tuple(
        name
        for name, c in CLASSES.items()
        if c.positive_for not in (None, task_id) and name not in declared
    )


def _check_suite_arguments(n, positive_fraction, snr, rare_fraction):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    for name, value in (("positive_fraction", positive_fraction), ("rare_fraction", rare_fraction)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must lie in [0, 1], got {value!r}")
    lo, hi = snr
    if not (0 < lo <= hi and np.isfinite(hi)):
        raise ValueError(f"snr range must satisfy 0 < lo <= hi, got ({lo!r}, {hi!r})")


def iter_suite(task, n, *, positive_fraction=0.5, snr=DEFAULT_SUITE_SNR, seed=0, rare_fraction=0.3):
    """Yield ``n`` labelled spectra for ``task``, in a shuffled order.

    Parameters
    ----------
    task : str
        Task id or code.
    n : int
        Number of spectra.
    positive_fraction : float
        Fraction of YES spectra (rounded to a whole number); 0.0909 gives the survey-like 1:10.
    snr : (float, float)
        S/N range, drawn log-uniformly per spectrum (the low-S/N confuser keeps its own 2–5).
    seed : int
        Seed of the whole suite: the same seed gives the same suite.
    rare_fraction : float
        Share of the negatives drawn from the other rare classes rather than the task's confusers.

    Yields
    ------
    spectrum : `~specutils.Spectrum`
        With ``meta["task"]`` and ``meta["label"]`` (``"YES"``/``"NO"``) besides the simulator's
        labels; ``meta["seed"]`` and ``meta["target_snr"]`` reproduce it with `simulate_spectrum`.
    """
    task_id = get_task(task).id
    _check_suite_arguments(n, positive_fraction, snr, rare_fraction)
    rng = np.random.default_rng(seed)
    n_positive = int(round(n * positive_fraction))
    is_positive = np.zeros(n, dtype=bool)
    is_positive[:n_positive] = True
    rng.shuffle(is_positive)
    yes, confusing, rare = positives(task_id), confusers(task_id), _other_rare(task_id)
    for positive in is_positive:
        if positive:
            kind = yes[rng.integers(len(yes))]
        elif rare and rng.uniform() < rare_fraction:
            kind = rare[rng.integers(len(rare))]
        else:
            kind = confusing[rng.integers(len(confusing))]
        target = float(np.exp(rng.uniform(np.log(snr[0]), np.log(snr[1]))))
        yield simulate_spectrum(kind, seed=int(rng.integers(2**63)), snr=target, task=task_id)


def draw_suite(task, n, *, positive_fraction=0.5, snr=DEFAULT_SUITE_SNR, seed=0, rare_fraction=0.3):
    """A list of ``n`` labelled spectra for ``task``; see `iter_suite` for the parameters.

    Examples
    --------
    >>> from spec_o3.simulate import draw_suite
    >>> suite = draw_suite("white_dwarf", 4, seed=1)
    >>> sorted(s.meta["label"] for s in suite)
    ['NO', 'NO', 'YES', 'YES']
    """
    return list(
        iter_suite(
            task,
            n,
            positive_fraction=positive_fraction,
            snr=snr,
            seed=seed,
            rare_fraction=rare_fraction,
        )
    )
