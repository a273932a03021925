"""Run a vetting backend over a suite and score its answers; ``spec-o3 evaluate`` wraps it.

Every question ends in one of three ways, its ``status``:

- ``answered``: YES or NO, scored as given;
- ``no_answer``: the model gave no valid answer (none within the turn limit, several answers, ...);
  scored as a wrong answer, the paper's convention: a false negative for a question whose answer
  is YES, a false positive for one whose answer is NO;
- ``failed``: the spectrum could not be read or vetted (`~spec_o3.UnvettableSpectrum`, or an
  exception while vetting it); not scored at all, since it says nothing about the model.
"""

from dataclasses import dataclass
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import Column, MaskedColumn, QTable, Table

from .._progress import progress_bar
from ..agent import BackendError, Inspector, get_backend
from ..agent.result import ANSWERED, FAILED, STATUSES
from ..defaults import MAX_TURNS
from ..exceptions import UnvettableSpectrum
from .metrics import _is_yes, comparison_table, score_table
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
        ``file``, ``class``, ...), then ``status`` (``answered``, ``no_answer`` or ``failed``),
        ``prediction`` (YES/NO, masked without an answer), ``correct`` (false without an answer,
        masked for a failed question), ``confidence`` (the backend's probability that its verdict
        is right, masked without an answer or where the backend gives none), ``error`` (why there
        is no answer, or what failed; empty when answered), ``seconds`` and ``evidence``.
    scores : `~astropy.table.QTable`
        Per-task scores of the answered and unanswered questions and the Average row, from
        :func:`~spec_o3.bench.score_table`; ``meta["questions"]`` counts the questions by status.
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

        A question whose ``status`` is ``no_answer`` is scored as a wrong answer and a ``failed``
        one is not scored; a table without a ``status`` column (written before spec-o3 recorded
        one) is scored as its predictions say.

        Raises
        ------
        ValueError
            If a column is missing, a status or answer is unknown, or every question failed.

        Examples
        --------
        >>> from astropy.table import Table
        >>> predictions = Table({"task": ["cc", "cc", "wd"], "label": ["YES", "NO", "YES"],
        ...                      "prediction": ["YES", "YES", "YES"]})
        >>> EvaluationResult.from_predictions(predictions).macro_f1
        <Quantity 83.33333333 %>
        """
        scored, truth, predicted = _scored_answers(predictions)
        if not scored.any():
            first = predictions["error"][0] if "error" in predictions.colnames else "unknown"
            raise ValueError(
                f"nothing to score: every one of the {len(predictions)} questions failed "
                f"(the first: {first})"
            )
        scores = score_table(
            np.asarray(predictions["task"])[scored],
            truth[scored],
            predicted[scored],
            n_resamples=n_resamples,
            seed=seed,
            confidence=confidence,
        )
        scores.meta["backend"] = backend
        scores.meta["questions"] = _counts(_statuses(predictions))
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
    def mean_confidence(self):
        """The mean ``confidence`` of the right verdicts and of the wrong ones, with their numbers:
        ``{"right": (mean, n), "wrong": (mean, n)}`` (NaN for none), or ``None`` when the backend
        gave no confidence."""
        if "confidence" not in self.predictions.colnames:
            return None
        confidence = np.ma.filled(np.ma.asarray(self.predictions["confidence"], float), np.nan)
        given = (_statuses(self.predictions) == ANSWERED) & np.isfinite(confidence)
        if not given.any():
            return None
        right = np.ma.filled(self.predictions["correct"], False).astype(bool)
        means = {}
        for name, kind in (("right", given & right), ("wrong", given & ~right)):
            mean = float(np.mean(confidence[kind])) if kind.any() else np.nan
            means[name] = (mean, int(np.count_nonzero(kind)))
        return means

    @property
    def counts(self):
        """Questions by status: ``{"answered": n, "no_answer": n, "failed": n}``."""
        return _counts(_statuses(self.predictions))

    @property
    def errors(self):
        """The questions with an ``error``: those without an answer (scored as wrong) and the
        failed ones (not scored), told apart by ``status``."""
        if "error" not in self.predictions.colnames:
            return self.predictions[:0]
        # a saved table reads its empty error strings back as masked
        return self.predictions[np.ma.filled(self.predictions["error"], "") != ""]

    def __str__(self):
        return format_scores(self.scores)

    def compare(self, reference, *, n_resamples=0, seed=None, confidence=0.95):
        """Scores beside those of another backend on the same questions, and the difference.

        Only the questions scored for both count (a question that failed for either is left
        out), so both columns and their difference are on one set of questions.

        Parameters
        ----------
        reference : `EvaluationResult`
            The other backend's answers to the same suite (e.g. the expert teacher of a trained
            model).
        n_resamples, seed, confidence
            Bootstrap of the intervals, a paired one for the difference (see
            :func:`~spec_o3.bench.comparison_table`).

        Returns
        -------
        table : `~astropy.table.QTable`
            :func:`~spec_o3.bench.comparison_table`, its ``meta`` naming the two backends
            (``backend``, ``reference``); :func:`~spec_o3.bench.format_comparison` prints it.

        Raises
        ------
        ValueError
            If the two did not answer the same questions (other ids or tasks), or no question was
            scored for both.

        Examples
        --------
        >>> from astropy.table import Table
        >>> questions = {"id": ["a", "b"], "task": ["cc", "cc"], "label": ["YES", "NO"]}
        >>> model = EvaluationResult.from_predictions(
        ...     Table({**questions, "prediction": ["NO", "NO"]}), backend="transformers")
        >>> teacher = EvaluationResult.from_predictions(
        ...     Table({**questions, "prediction": ["YES", "NO"]}), backend="expert")
        >>> model.compare(teacher)["f1_difference"][-1]
        <Quantity -100. %>
        """
        ours, theirs = self.predictions, reference.predictions
        for name in ("id", "task"):
            if name in ours.colnames and name in theirs.colnames:
                same = len(ours) == len(theirs) and np.all(ours[name] == theirs[name])
                if not same:
                    raise ValueError(
                        f"{self.backend} and {reference.backend} did not answer the same "
                        f"questions (their {name} columns differ)"
                    )
        scored, truth, predicted = _scored_answers(ours)
        scored_theirs, _, referenced = _scored_answers(theirs)
        both = scored & scored_theirs
        if not both.any():
            raise ValueError(
                f"no question was scored for both {self.backend} and {reference.backend}"
            )
        table = comparison_table(
            np.asarray(ours["task"])[both],
            truth[both],
            predicted[both],
            referenced[both],
            n_resamples=n_resamples,
            seed=seed,
            confidence=confidence,
        )
        table.meta.update(backend=self.backend, reference=reference.backend)
        return table

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


def _scored_answers(predictions):
    """Which questions are scored (all but the failed ones), their truths and the answers scored
    (booleans, True for YES; a question without an answer counts as answered wrongly)."""
    missing = {"task", "label", "prediction"} - set(predictions.colnames)
    if missing:
        raise ValueError(f"predictions table lacks the columns {', '.join(sorted(missing))}")
    status = _statuses(predictions)
    truth = _is_yes(predictions["label"], "labels")
    answered = status == ANSWERED
    predicted = ~truth
    given = np.ma.filled(predictions["prediction"], "")
    predicted[answered] = _is_yes(np.asarray(given)[answered], "predictions")
    return status != FAILED, truth, predicted


def _statuses(predictions):
    """The status of each question: ``answered`` throughout a table without a status column."""
    if "status" not in predictions.colnames:
        return np.full(len(predictions), ANSWERED)
    status = np.asarray(np.ma.filled(predictions["status"], ""), dtype=str)
    unknown = sorted(set(status.tolist()) - set(STATUSES))
    if unknown:
        raise ValueError(
            f"unknown status {', '.join(map(repr, unknown))} in the predictions table; "
            f"expected {', '.join(STATUSES)}"
        )
    return status


def _counts(status):
    return {name: int(np.count_nonzero(status == name)) for name in STATUSES}


def _one_line(text):
    return " ".join(str(text or "").split())


def _record(
    answers, row, status, verdict=None, error="", evidence="", seconds=np.nan, confidence=None
):
    answers[row] = (
        status,
        verdict or "",
        _one_line(error),
        _one_line(evidence),
        seconds,
        confidence,
    )


def _record_failure(answers, row, error, context=""):
    """A question that could not be read or vetted: failed, with what went wrong."""
    if not isinstance(error, UnvettableSpectrum):  # whose message names the file already
        error = f"{type(error).__name__}: {error}"
    _record(answers, row, FAILED, error=f"{context}{error}")


def _known(redshift):
    """The redshift, or None when unknown (NaN): the inspector then uses the spectrum's own."""
    return float(redshift) if np.isfinite(redshift) else None


def _jobs(suite, rows, answers):
    """``(row, arguments of Inspector.start)`` of each question whose spectrum could be read."""
    table = suite.table
    jobs = []
    for row in rows:
        try:
            spectrum = suite.spectrum(row)
        except Exception as error:  # noqa: BLE001 (readers fail in many ways; each fails alone)
            _record_failure(answers, row, error, "cannot read spectrum: ")
            continue
        file = table["file"][row] if "file" in table.colnames else ""
        job = {
            "spectrum": spectrum,
            "task": table["task"][row],
            "redshift": _known(table["redshift"][row]),
            "source": str(file) if file else None,  # errors name the file, or "the given Spectrum"
        }
        jobs.append((row, job))
    return jobs


def _ask(inspector, jobs, answers):
    """Vet the questions as one batch; when the batch fails, each alone to find the culprit."""
    started = []
    for row, job in jobs:
        try:
            started.append((row, job, inspector.start(**job)))
        except Exception as error:  # noqa: BLE001 (odd data fails in many ways; each fails alone)
            _record_failure(answers, row, error)
    try:
        results = inspector.run_episodes([episode for _, _, episode in started])
    except BackendError:
        raise  # infrastructure down: every answer would fail; stop rather than score noise
    except Exception as error:  # noqa: BLE001 (isolated below, question by question)
        if len(started) == 1:
            _record_failure(answers, started[0][0], error)
        else:  # from the start: the batch's episodes stopped part-way
            for row, job, _ in started:
                _ask(inspector, [(row, job)], answers)
        return
    for (row, _, _), result in zip(started, results, strict=True):
        fields = (result.verdict, result.error, result.evidence, result.seconds, result.confidence)
        _record(answers, row, result.status, *fields)


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
    max_turns=MAX_TURNS,
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
        Show a progress bar on standard error (when it is a terminal, for runs over 2 s).
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
        If the backend's infrastructure fails (a model server that cannot be reached, ...). Single
        questions do not raise: one without an answer is scored as wrong, one whose spectrum cannot
        be read or vetted fails and is not scored; both are listed in `EvaluationResult.errors`.
    ValueError
        If every question failed: there is nothing to score.

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
        with progress_bar(
            total=len(suite), desc=f"evaluating {name}", unit="question", show=progress
        ) as bar:
            for start in range(0, len(suite), int(batch_size)):
                rows = range(start, min(start + int(batch_size), len(suite)))
                jobs = _jobs(suite, rows, answers)
                if jobs:
                    _ask(inspector, jobs, answers)
                bar.update(len(rows))
    finally:
        if policy is not backend:  # close only what was built here
            policy.close()

    predictions = suite.table.copy()
    predictions.remove_column("spectrum")
    status, verdicts, errors, evidence, seconds, sure = zip(
        *(answers[row] for row in range(len(suite))), strict=True
    )
    status = np.array(status, dtype=str)
    answered = status == ANSWERED
    predictions["status"] = status
    predictions["prediction"] = MaskedColumn(np.array(verdicts, dtype=str), mask=~answered)
    predictions["correct"] = MaskedColumn(
        answered & (np.array(verdicts) == predictions["label"]), mask=status == FAILED
    )
    predictions["confidence"] = MaskedColumn(
        [np.nan if value is None else value for value in sure],
        mask=[value is None for value in sure],
        dtype=float,
    )
    predictions["error"] = Column(np.array(errors, dtype=str))
    predictions["seconds"] = np.array(seconds, dtype=float) * u.s
    predictions["evidence"] = np.array(evidence, dtype=str)
    return EvaluationResult.from_predictions(
        predictions, backend=name, n_resamples=n_resamples, seed=seed, confidence=confidence
    )
