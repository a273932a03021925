"""The outcome of vetting one spectrum for one task."""

from dataclasses import dataclass, field
from functools import cached_property

from specutils import Spectrum

from .trajectory import Trajectory

__all__ = ["VettingResult"]


@dataclass
class VettingResult:
    """A verdict with its evidence and the inspection that led to it.

    Attributes
    ----------
    verdict : str
        ``"YES"`` or ``"NO"`` (``"NO"`` whenever the episode could not conclude).
    task : str
        Task id.
    evidence : str
        The justification given with the answer (empty when there was none).
    trajectory : `~spec_o3.agent.Trajectory`
        Every turn: tool calls, windows, images, measurements.
    error : str or None
        Why the inspection could not conclude (``None`` when it did).
    seconds : float
        Wall-clock time the inspection took.
    spectrum : `~specutils.Spectrum` or None
        The spectrum that was vetted (used to identify the lines in the inspected windows).
    """

    verdict: str
    task: str
    evidence: str
    trajectory: Trajectory
    error: str | None = None
    seconds: float = 0.0
    spectrum: Spectrum | None = field(default=None, repr=False)

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
        return (
            f"VettingResult(task={self.task!r}, verdict={self.verdict!r}, n_steps={self.n_steps}, "
            f"windows={len(self.windows)}{error})"
        )
