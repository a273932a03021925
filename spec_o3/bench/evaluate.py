"""Run a vetting backend over a suite and score its answers; ``spec-o3 evaluate`` wraps it."""

from dataclasses import dataclass
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io.registry import IORegistryError
from astropy.table import Column, QTable, Table
from tqdm.auto import tqdm

from ..agent import BackendError, Inspector, get_backend
from .metrics import score_table
from .report import format_scores, plot_scores

__all__ = ["EvaluationResult", "evaluate"]

#: Files `EvaluationResult.write` creates in its output directory.
OUTPUT_FILES = {"scores": "scores.ecsv", "predictions": "predictions.ecsv", "figure": "scores.png"}


@dataclass
class EvaluationResult:
    """Answers of one backend on a suite, and their scores.

    Attributes
    ----------
    predictions : `~astropy.table.Table`
        One row per question: the suite's scalar columns (``id``, ``task``, ``label``, ``redshift``,
        ``file``, ``class``, ...), then ``prediction`` (YES/NO), ``correct``, ``error`` (empty when
        the episode concluded; a failed episode counts as NO, the paper's convention), ``seconds``
        and ``evidence``.
    scores : `~astropy.table.QTable`
        Per-task scores and the Average row, from :func:`~spec_o3.bench.score_table`.
    backend : str
        Name of the backend that answered.
    """

    predictions: Table
    scores: QTable
    backend: str = ""

    @classmethod
    def from_predictions(
        cls, predictions, *, backend="", n_resamples=0, seed=None, confidence=0.95
    ):
        """Score a predictions table (columns ``task``, ``label``, ``prediction``), e.g. saved.

        Examples
        --------
        >>> from astropy.table import Table
        >>> predictions = Table({"task": ["cc", "cc", "wd"], "label": ["YES", "NO", "YES"],
        ...                      "prediction": ["YES", "YES", "YES"]})
        >>> EvaluationResult.from_predictions(predictions).macro_f1
        <Quantity 83.33333333 %>
        """
        missing = {"task", "label", "prediction"} - set(predictions.colnames)
        if missing:
            raise ValueError(f"predictions table lacks the columns {', '.join(sorted(missing))}")
        scores = score_table(
            predictions["task"],
            predictions["label"],
            predictions["prediction"],
            n_resamples=n_resamples,
            seed=seed,
            confidence=confidence,
        )
        scores.meta["backend"] = backend
        return cls(predictions=predictions, scores=scores, backend=backend)

    @property
    def macro_f1(self):
        """Macro-F1 over tasks (the paper's headline metric), in percent."""
        return self.scores["f1"][-1]

    @property
    def mean_accuracy(self):
        """Unweighted mean of the per-task accuracies, in percent."""
        return self.scores["accuracy"][-1]

    @property
    def errors(self):
        """The questions whose episode failed (counted as NO), with the reason in ``error``."""
        if "error" not in self.predictions.colnames:
            return self.predictions[:0]
        # a saved table reads its empty error strings back as masked
        return self.predictions[np.ma.filled(self.predictions["error"], "") != ""]

    def __str__(self):
        return format_scores(self.scores)

    def plot(self):
        """Bar chart of the scores (`~matplotlib.figure.Figure`)."""
        return plot_scores(
            self.scores, title=f"spec-o3 evaluation: {self.backend}" if self.backend else None
        )

    def write(self, directory):
        """Write scores and predictions (ECSV) and the figure (PNG) into ``directory`` (replacing).

        Returns
        -------
        dict
            ``{"scores": path, "predictions": path, "figure": path}``.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths = {key: directory / name for key, name in OUTPUT_FILES.items()}
        self.scores.write(paths["scores"], format="ascii.ecsv", overwrite=True)
        self.predictions.write(paths["predictions"], format="ascii.ecsv", overwrite=True)
        self.plot().savefig(paths["figure"], dpi=100)
        return paths


def _one_line(text):
    return " ".join(str(text or "").split())


def _record(answers, row, verdict, error="", evidence="", seconds=np.nan):
    """Store one answer; an episode that failed counts as NO whatever it said."""
    answers[row] = ("NO" if error else verdict, _one_line(error), _one_line(evidence), seconds)


def _known(redshift):
    """The redshift, or None when unknown (NaN): the inspector then uses the spectrum's own."""
    return float(redshift) if np.isfinite(redshift) else None


def _read_questions(suite, rows, answers):
    """(row, (spectrum, task, redshift), source) per readable question; unreadable ones get NO."""
    table = suite.table
    questions = []
    for row in rows:
        try:
            spectrum = suite.spectrum(row)
        except (OSError, ValueError, IORegistryError) as error:
            _record(answers, row, "NO", f"cannot read spectrum: {error}")
            continue
        source = table["file"][row] if "file" in table.colnames else table["id"][row]
        questions.append(
            (row, (spectrum, table["task"][row], _known(table["redshift"][row])), str(source))
        )
    return questions


def _ask(inspector, questions, answers):
    """Ask the questions as one batch; when the batch fails, ask one by one to find the culprit."""
    try:
        results = inspector.run_many(
            [question for _, question, _ in questions],
            sources=[source for _, _, source in questions],
        )
    except BackendError:
        raise  # infrastructure down: every answer would fail; stop rather than score noise
    except Exception as error:  # a failed episode counts as NO and is listed, as in the paper
        if len(questions) == 1:
            _record(answers, questions[0][0], "NO", f"{type(error).__name__}: {error}")
        else:
            for question in questions:
                _ask(inspector, [question], answers)
        return
    for (row, _, _), result in zip(questions, results, strict=True):
        _record(answers, row, result.verdict, result.error, result.evidence, result.seconds)


def evaluate(
    suite,
    backend="expert",
    *,
    n_resamples=0,
    seed=None,
    confidence=0.95,
    batch_size=16,
    progress=False,
    toolset=None,
    max_turns=8,
    render_images=True,
    **backend_options,
):
    """Vet every question of a suite with a backend and score the answers as the paper does.

    Parameters
    ----------
    suite : `~spec_o3.bench.Suite`
        The questions.
    backend : str or policy, optional
        Backend name (``"expert"``, ``"transformers"``, ``"openai"``) or a policy object
        (`~spec_o3.agent.backends.base.Policy`).
    n_resamples : int, optional
        Bootstrap resamples for confidence intervals (0: none).
    seed : int, optional
        Seed of the bootstrap.
    confidence : float, optional
        Confidence level of the intervals.
    batch_size : int, optional
        Questions handed to the inspection loop at once (batched generation for model backends).
    progress : bool, optional
        Show a progress bar (on standard error).
    toolset, max_turns, render_images
        Passed to `~spec_o3.agent.Inspector`; ``render_images=False`` speeds up policies that do not
        look at the plots (the scripted expert).
    **backend_options
        Passed to the backend, e.g. ``model=...``, ``base_url=...``.

    Returns
    -------
    `EvaluationResult`

    Raises
    ------
    spec_o3.agent.backends.base.BackendError
        If the backend's infrastructure fails (a model server that cannot be reached, ...). Failures
        of single questions (unreadable spectrum, episode without an answer) do not raise: they
        count as NO and are listed in `EvaluationResult.errors`.

    Examples
    --------
    >>> from spec_o3.bench import Suite, evaluate
    >>> suite = Suite.read("my_suite.fits")  # doctest: +SKIP
    >>> result = evaluate(suite, "expert", n_resamples=1000, seed=0)  # doctest: +SKIP
    >>> print(result)  # doctest: +SKIP
    """
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if len(suite) == 0:
        raise ValueError("the suite holds no questions")
    policy = get_backend(backend, **backend_options)
    name = backend if isinstance(backend, str) else policy.name
    answers = {}
    try:
        inspector = Inspector(
            policy, toolset=toolset, max_turns=max_turns, render_images=render_images
        )
        with tqdm(
            total=len(suite), desc=f"evaluate {name}", unit="question", disable=not progress
        ) as bar:
            for start in range(0, len(suite), int(batch_size)):
                rows = range(start, min(start + int(batch_size), len(suite)))
                questions = _read_questions(suite, rows, answers)
                if questions:
                    _ask(inspector, questions, answers)
                bar.update(len(rows))
    finally:
        if policy is not backend:  # close only what was built here
            policy.close()

    predictions = suite.table.copy()
    predictions.remove_column("spectrum")
    verdicts, errors, evidence, seconds = zip(
        *(answers[row] for row in range(len(suite))), strict=True
    )
    predictions["prediction"] = np.array(verdicts, dtype=str)
    predictions["correct"] = predictions["prediction"] == predictions["label"]
    predictions["error"] = Column(np.array(errors, dtype=str))
    predictions["seconds"] = np.array(seconds, dtype=float) * u.s
    predictions["evidence"] = np.array(evidence, dtype=str)
    return EvaluationResult.from_predictions(
        predictions, backend=name, n_resamples=n_resamples, seed=seed, confidence=confidence
    )
