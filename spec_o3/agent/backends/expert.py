"""The scripted astronomer: the offline default policy.

For each episode it measures the task's diagnostic features once
(:func:`spec_o3.agent.expert_rules.assess`; the episodes of one spectrum for several tasks that
start in the same batch share one :func:`~spec_o3.agent.expert_rules.assess_all`), then narrates
the inspection in the released Spec-o3 format: one ``spectral_visualization_tool`` call per
diagnostic window, each preceded by a ``<think>`` that reads the previous window, and a final
``<answer>\\boxed{…}`` whose justification cites the measured numbers. Its trajectories are
cold-start SFT data for the VLM backends.

The wording varies from spectrum to spectrum (so SFT data are not one template) but is fixed for a
given spectrum and task: phrases are drawn with a seed taken from the flux values.
"""

import functools
import math
import random
import zlib

import astropy.units as u
import numpy as np

from ..expert_rules import RestSpectrum, assess_all
from ..expert_rules.confidence import confidence
from ..protocol import (
    ParsedResponse,
    ScriptedMessage,
    ToolCall,
    parse_response,
    scripted_message,
)
from ..tools import unit_text
from .base import Policy

__all__ = ["ExpertPolicy", "measurement_record"]

_TOOL = "spectral_visualization_tool"

_OPENINGS = (
    "I need to decide whether this spectrum is {article} {name}.",
    "The question is whether this is {article} {name}.",
    "Vetting a candidate {name}: I will look at the whole spectrum first, then at the diagnostic "
    "windows.",
    "Is this really {article} {name}? Let me read the spectrum the way I would at the telescope.",
)
_PLANS = (
    "I will start with the {label} window ({lo}-{hi} Å).",
    "First, the {label} region ({lo}-{hi} Å).",
    "Let me zoom into {label} ({lo}-{hi} Å) first.",
    "The most diagnostic place to begin is {label}, {lo}-{hi} Å.",
)
_READINGS = (
    "In the {label} window: {notes}.",
    "The {label} plot shows {notes}.",
    "Zooming into {label}, I find {notes}.",
    "Reading the {label} window: {notes}.",
)
_NEXT = (
    "Next, {label} ({lo}-{hi} Å).",
    "Now the {label} window ({lo}-{hi} Å).",
    "Let me check {label} as well ({lo}-{hi} Å).",
    "I will look at {label} next ({lo}-{hi} Å).",
)
_CLOSINGS = (
    "Putting it together:",
    "Weighing the evidence:",
    "Summing up what I measured:",
    "So, overall:",
)


def _flux_seed(spectrum):
    """The spectrum's part of the episodes' seeds: a checksum of its flux values."""
    # ``data`` is the array ``flux.value`` views, without building the Quantity around it
    flux = np.ascontiguousarray(np.asarray(spectrum.data, dtype=float))
    return zlib.crc32(flux)  # its bytes, read in place (no copy of them as a bytes object)


def _seed(flux_seed, task):
    """A seed fixed by the spectrum's flux and the task (same spectrum, same words)."""
    return flux_seed ^ zlib.crc32(task.id.encode())


def measurement_record(measurements):
    """JSON-native form of measurements, as kept on a trajectory step.

    Parameters
    ----------
    measurements : iterable of `~spec_o3.agent.expert_rules.Measurement`

    Returns
    -------
    record : dict
        ``{name: {"value": float, "uncertainty": float, "unit": str}}``.

    Examples
    --------
    >>> import astropy.units as u
    >>> from spec_o3.agent.expert_rules import Measurement
    >>> measurement_record([Measurement("H beta FWHM", 42 * u.AA, 2 * u.AA)])
    {'H beta FWHM': {'value': 42.0, 'uncertainty': 2.0, 'unit': 'Angstrom'}}
    """
    return {
        m.name: {
            "value": round(float(m.number), 4),  # the numbers of its value and uncertainty
            "uncertainty": round(float(m.error), 4),
            "unit": _record_unit(m.unit),
        }
        for m in measurements
    }


@functools.cache
def _record_unit(unit):
    """A measurement record's unit: empty for a dimensionless one."""
    unit = u.Unit(unit)
    return "" if unit is u.dimensionless_unscaled else unit_text(unit)


class _Narration:
    """The messages of one episode, written from its assessment."""

    def __init__(self, assessment, task, rng, max_windows):
        self.assessment = assessment
        self.task = task
        self.rng = rng
        # Every window the verdict rests on, and about half of the routine checks (which ones is
        # drawn per spectrum, so that trajectories differ in length as real inspections do).
        shown = [obs for obs in assessment.observations if obs.key or rng.random() < 0.5]
        self.observations = tuple(shown[:max_windows])

    @staticmethod
    def _edges(window):
        # Round inward so the requested range stays inside the data the window was clipped to.
        lower, upper = window.bounds
        return math.ceil(lower), math.floor(upper)

    def _call(self, observation):
        lo, hi = self._edges(observation.window)
        return _TOOL, {"wavelength_range": [lo, hi], "label": observation.window.label}

    def _reading(self, observation):
        notes = "; ".join(observation.notes) or "; ".join(map(str, observation.measurements))
        return self.rng.choice(_READINGS).format(label=observation.window.label, notes=notes)

    def _pick(self, phrases, observation):
        lo, hi = self._edges(observation.window)
        return self.rng.choice(phrases).format(label=observation.window.label, lo=lo, hi=hi)

    def _missing(self):
        labels = self.assessment.missing
        lo, hi = self.assessment.coverage
        which = (
            f"{labels[0]} window lies"
            if len(labels) == 1
            else (f"{', '.join(labels[:-1])} and {labels[-1]} windows lie")
        )
        return (
            f"The {which} outside the data ({lo:.0f}-{hi:.0f} Å rest frame), so I will judge "
            "from the other windows."
        )

    def reading(self, turn):
        """What the message of turn ``turn`` says, as a `ScriptedMessage` with an empty text: the
        loop runs its tool call, or ends the episode with its answer, as on the message."""
        if turn < len(self.observations):
            parsed = ParsedResponse(tool_calls=[ToolCall(*self._call(self.observations[turn]))])
            return ScriptedMessage("", parsed)
        answer = (self.assessment.verdict, self.assessment.conclusion)
        message = scripted_message("", answer=answer)
        parsed = message.parsed if isinstance(message, ScriptedMessage) else parse_response(message)
        return ScriptedMessage("", parsed)

    def message(self, turn, tool_error=None):
        """The assistant message of turn ``turn`` (0-based) and the measurements it stands for.

        ``tool_error`` is the loop's complaint about the previous call, if it had one.
        """
        observations = self.observations
        if turn == 0:
            name = self.task.name
            parts = [
                self.rng.choice(_OPENINGS).format(article=self.task.article, name=name),
                self.assessment.overview,
            ]
            if self.assessment.missing:
                parts.append(self._missing())
        elif tool_error:
            # The measurements stand even when the plot could not be drawn; say so and go on.
            shown = observations[turn - 1]
            parts = [
                f"The {shown.window.label} plot could not be drawn ({tool_error}).",
                self._reading(shown),
            ]
        else:
            parts = [self._reading(observations[turn - 1])]
        if turn < len(observations):
            observation = observations[turn]
            parts.append(self._pick(_PLANS if turn == 0 else _NEXT, observation))
            message = scripted_message(" ".join(parts), tool_call=self._call(observation))
            return message, observation.measurements
        parts += [self.rng.choice(_CLOSINGS), self.assessment.conclusion]
        answer = (self.assessment.verdict, self.assessment.conclusion)
        every = [m for obs in observations for m in obs.measurements]
        return scripted_message(" ".join(parts), answer=answer), every


class ExpertPolicy(Policy):
    """A scripted astronomer that inspects the diagnostic windows and decides from measurements.

    It needs no model weights and no network. Each episode's spectrum is measured once
    (:func:`spec_o3.agent.expert_rules.assess`); episodes that start in the same batch on the same
    spectrum object and rest frame for different tasks (``spec_o3.vet(spectrum, task="all")``,
    ``spec-o3 vet --task all``) are measured together with
    :func:`~spec_o3.agent.expert_rules.assess_all`, which reduces the spectrum and measures the
    features the tasks share once. Every turn then shows one diagnostic window with
    the released zoom tool, and the last turn answers with the measured evidence. The measurements
    behind each turn are left in ``episode.state["measurements"]`` (JSON-native, see
    :func:`measurement_record`) for the loop to keep on the trajectory step.

    Parameters
    ----------
    max_windows : int, optional
        Most windows to show before answering; also capped by the episode's turn limit.

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from specutils import Spectrum
    >>> from spec_o3.agent import Inspector
    >>> rng = np.random.default_rng(1)
    >>> wave = np.linspace(3700, 9000, 3000) * u.AA
    >>> flat = Spectrum(flux=(1 + 0.01 * rng.standard_normal(3000)) * u.Jy, spectral_axis=wave)
    >>> result = Inspector(ExpertPolicy(), render_images=False).run(flat, "cc", redshift=0)
    >>> result.verdict, len(result.trajectory.steps) > 1
    ('NO', True)
    """

    name = "expert"
    toolset = "default"

    def __init__(self, *, max_windows=6):
        if int(max_windows) < 0:
            raise ValueError(f"max_windows must be >= 0, got {max_windows}")
        self.max_windows = int(max_windows)

    def respond(self, episodes):
        """Next message of each episode: a zoom on the next window, or the final answer."""
        self._assess([episode for episode in episodes if "expert" not in episode.state])
        return [self._respond(episode) for episode in episodes]

    def _assess(self, episodes):
        """Measure new episodes, one `assess_all` per spectrum object and rest frame."""
        shared = {}
        for episode in episodes:
            key = (id(episode.spectrum), episode.redshift)
            shared.setdefault(key, []).append(episode)
        for group in shared.values():
            first = group[0]
            tasks = [episode.task for episode in group]
            # measured on the tools' own reduction of the spectrum, not on a second one
            rest = RestSpectrum(first.spectrum, first.redshift, first.environment.arrays)
            assessments = assess_all(rest, tasks, first.redshift)
            flux_seed = _flux_seed(first.spectrum)
            for episode in group:
                assessment = assessments[episode.task.id]
                episode.state["confidence"] = confidence(assessment)
                windows = min(self.max_windows, max(episode.max_turns - 1, 0))
                rng = random.Random(_seed(flux_seed, episode.task))
                episode.state["expert"] = _Narration(assessment, episode.task, rng, windows)
                episode.state["expert_turn"] = 0

    def _respond(self, episode):
        state = episode.state
        narration = state["expert"]
        turn = state["expert_turn"]
        state["expert_turn"] = turn + 1
        steps = episode.trajectory.steps
        tool_error = steps[-1].error if turn and steps else None
        turn = min(turn, len(narration.observations))
        if not episode.texts:  # results only: what the message says, without writing it
            return narration.reading(turn)
        text, measurements = narration.message(turn, tool_error)
        state["measurements"] = measurement_record(measurements)
        return text
