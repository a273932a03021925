"""The outcome of vetting one spectrum for one task."""

from dataclasses import dataclass, field
from functools import cached_property

from specutils import Spectrum

from .trajectory import Trajectory

__all__ = ["ANSWERED", "FAILED", "NO_ANSWER", "STATUSES", "VettingResult"]

#: The three outcomes of vetting one spectrum, never confused: a YES/NO answer; no valid answer
#: within the turn limit (scored as a wrong answer, as in the paper); or a failure to read or vet
#: the input (the API raises `~spec_o3.UnvettableSpectrum`; tables write a row without verdict).
ANSWERED, NO_ANSWER, FAILED = "answered", "no_answer", "failed"
STATUSES = (ANSWERED, NO_ANSWER, FAILED)


@dataclass
class VettingResult:
    """A verdict with its evidence and the inspection that led to it.

    Attributes
    ----------
    verdict : str or None
        ``"YES"`` or ``"NO"``; ``None`` when the model gave no valid answer (see ``status``).
    task : str
        Task id.
    evidence : str
        The justification given with the answer (empty when there was none), followed by what the
        loop knows that the model may not have said: a redshift that was not the file's, and
        diagnostic windows without data.
    trajectory : `~spec_o3.agent.Trajectory`
        Every turn: tool calls, windows, images, measurements.
    error : str or None
        Why the model gave no answer (``None`` when it answered).
    seconds : float
        Wall-clock time the inspection took.
    spectrum : `~specutils.Spectrum` or None
        The spectrum that was vetted (used to identify the lines in the inspected windows).
    target_id : int or None
        The DESI TARGETID of the spectrum (see `~spec_o3.agent.vet_targets`); `None` for formats
        of one spectrum per file.
    confidence : float or None
        Probability, between 0 and 1, that the verdict is right, where the backend gives one: the
        expert's calibrated confidence (`spec_o3.agent.expert_rules.confidence`), a model's
        probability of the answer it wrote; `None` without a verdict.
    """

    verdict: str | None
    task: str
    evidence: str
    trajectory: Trajectory
    error: str | None = None
    seconds: float = 0.0
    spectrum: Spectrum | None = field(default=None, repr=False)
    target_id: int | None = None
    confidence: float | None = None

    @property
    def status(self):
        """``"answered"``, or ``"no_answer"`` when the model never gave a valid answer."""
        return NO_ANSWER if self.verdict is None else ANSWERED

    @property
    def redshift(self):
        """The redshift of the rest frame the spectrum was inspected in."""
        return self.trajectory.redshift

    @property
    def redshift_source(self):
        """Where ``redshift`` came from: ``"file"``, ``"redrock"`` (the catalogue beside a DESI
        file), ``"user"``, ``"measured"`` or ``"assumed"``."""
        return self.trajectory.redshift_source

    @property
    def windows(self):
        """The rest-frame `~specutils.SpectralRegion` windows inspected, in order."""
        return self.trajectory.windows

    @property
    def n_steps(self):
        """Number of assistant turns."""
        return len(self.trajectory.steps)

    @cached_property
    def lines(self):
        """Lines identified in the inspected windows (`~spec_o3.analysis.identify_lines`)."""
        from .tools import line_table

        return line_table(self.spectrum, self.trajectory.redshift, self.windows)

    def __repr__(self):
        error = f", error={self.error!r}" if self.error else ""
        target = "" if self.target_id is None else f"target_id={self.target_id}, "
        return (
            f"VettingResult({target}task={self.task!r}, verdict={self.verdict!r}, "
            f"status={self.status!r}, n_steps={self.n_steps}, windows={len(self.windows)}{error})"
        )
