"""The inspection loop: policy -> parse -> validate -> execute tool -> observe, until an answer.

Every consumer (``spec_o3.vet``, the CLI, evaluation, SFT data generation, RL rollouts, the Jdaviz
plugin) runs this one loop with a different policy.

How a turn is handled (``max_turns`` assistant turns at most, 8 as in the paper):

- exactly one well-formed ``<answer>`` ends the episode with its verdict (a tool call written in the
  same message is not run: the answer is final);
- several answers end the episode with *no answer*: verdict ``None``, status ``"no_answer"`` and
  ``error`` set (evaluation scores it as a wrong answer, as the paper does);
- a tool call is validated and run, and its text (and image) go back as a ``<tool_response>`` user
  turn; only the first call of a message is run, and the response says so when there were more
  (under the ``"release"`` protocol the others are dropped silently, as in the released training);
- a tool call that cannot be read or run (broken JSON, unknown tool, missing or extra arguments, a
  window with min >= max or outside the data) sends the error back as the tool response, as the
  paper does, and the model may try again;
- a message with neither a tool call nor an answer ends the episode with no answer, and so does
  reaching the turn limit (and, under ``"release"``, a message whose tool call cannot be read).

Model mistakes never raise. Input that cannot be vetted raises `~spec_o3.UnvettableSpectrum` when
the episode starts; infrastructure failures of the policy raise
`~spec_o3.agent.backends.BackendError`. Neither is ever a verdict.
"""

import contextlib
import functools
import io
import os
import time

from PIL import Image
from specutils import SpectrumList

from spec_o3.defaults import MAX_TURNS
from spec_o3.exceptions import UnvettableSpectrum
from spec_o3.io import iter_targets, read_target, target_name
from spec_o3.tasks import Task, get_task, get_tasks

from .backends import BackendError, get_backend
from .protocol import (
    ScriptedMessage,
    check_protocol,
    parse_response,
    system_prompt,
    user_prompt,
)
from .result import VettingResult
from .tools import (
    InspectionEnvironment,
    ToolCallError,
    run_tool,
    tool_schemas,
    windows_without_data,
)
from .trajectory import Step, Trajectory

__all__ = ["Episode", "Inspector", "vet", "vet_targets"]

#: The sentence the evidence gets when the rest frame is not the one stored in the file.
_REDSHIFT_NOTES = {
    "user": "The rest frame is the caller's, z = {z:g}.",
    "measured": "No redshift is stored with this spectrum: the rest frame is at a measured "
    "z = {z:g}.",
    "assumed": "No redshift is stored with this spectrum: it was inspected at the task's "
    "assumed z = {z:g}.",
}


class Episode:
    """One spectrum being inspected for one task; what a policy sees.

    Attributes
    ----------
    spectrum : `~specutils.Spectrum`
        The spectrum as given (observed frame).
    task : `~spec_o3.tasks.Task`
    redshift : float
    redshift_source : str
        Where ``redshift`` came from (see `~spec_o3.agent.tools.rest_frame`).
    environment : `~spec_o3.agent.tools.InspectionEnvironment`
        The tools, bound to this spectrum.
    trajectory : `~spec_o3.agent.Trajectory`
        Everything so far.
    max_turns : int
        Most assistant turns the episode may take (a policy should answer by then).
    protocol : {"spec-o3", "release"}
        The dialogue profile (see :ref:`protocol-profiles`). Under ``"release"`` a spectrum whose
        ``meta`` holds a SpecVI-Bench row's ``prompt`` text and ``overview`` image (PNG bytes or
        a PIL image) is asked with them, as `~spec_o3.bench.Suite.read` leaves them there.
    windows_without_data : list of str
        Labels of the task's diagnostic windows that hold no valid data.
    state : dict
        Scratch space for the policy (plans, cached encodings).
    texts : bool
        Whether the trajectory keeps the messages' texts; when ``False`` a policy that can (the
        scripted expert) writes none (see `Inspector`).
    done : bool
        Whether the episode has ended; then ``result`` holds its `VettingResult`.

    An episode started with ``shared=`` (an episode of the same spectrum, source, redshift and
    options for another task) reuses its environment and overview plot when their rest frame is
    the same, so that vetting a spectrum for several tasks reduces and draws it once.
    """

    def __init__(
        self,
        spectrum,
        task,
        *,
        redshift=None,
        source=None,
        toolset="default",
        render_images=True,
        max_turns=MAX_TURNS,
        protocol="spec-o3",
        shared=None,
        texts=True,
    ):
        self.task = get_task(task)
        self.protocol = check_protocol(protocol)
        release = protocol == "release"
        if release and toolset != "default":
            raise ValueError(f"the release protocol offers the released tool only, not {toolset!r}")
        meta = getattr(spectrum, "meta", None) or {}  # a DESI target is FILE#TARGETID
        source = target_name(meta.get("source") if source is None else source, meta.get("targetid"))
        # the released models saw a spectrum without a redshift in its observed frame
        assumed = 0.0 if release else self.task.assumed_redshift
        if shared is not None and shared.environment.assumed_redshift == assumed:
            self.environment = shared.environment
        else:
            shared = None
            self.environment = InspectionEnvironment(
                spectrum,
                redshift=redshift,
                source=source,
                assumed_redshift=assumed,
                toolset=toolset,
                render_images=render_images,
            )
        self.spectrum = self.environment.spectrum
        self.redshift = self.environment.redshift
        self.redshift_source = self.environment.redshift_source
        if source is None:
            source = (self.spectrum.meta or {}).get("source")
        windows = self.task.windows
        self.windows_without_data = windows_without_data(self.environment, windows)
        if (
            windows
            and len(self.windows_without_data) == len(windows)
            and len(windows_without_data(self.environment, windows, observed=True)) == len(windows)
        ):
            # Not an optical spectrum in any frame (a high-redshift quasar is, and is vetted):
            # e.g. a 1-D image without a wavelength solution, read as pixels "1-3900 Å".
            raise UnvettableSpectrum(
                source,
                f"its valid pixels cover {self.environment.data_range}, which reaches none of "
                f"the {self.task.id} task's diagnostic windows even at z = 0: check the "
                "wavelength unit and the wavelength solution",
            )
        prompt, overview = meta.get("prompt"), meta.get("overview")
        if not (release and prompt):
            prompt, overview = user_prompt(self.task, self.redshift, protocol=protocol), None
        if not render_images:
            overview = None
        elif overview is None and shared is not None:
            overview = shared.trajectory.overview
        elif overview is None:
            from spec_o3.analysis import render_window

            style = "release" if release else "spec-o3"
            overview = render_window(self.spectrum, redshift=self.redshift, style=style)
        elif not isinstance(overview, Image.Image):
            overview = Image.open(io.BytesIO(overview)).convert("RGB")
        self.trajectory = Trajectory(
            task=self.task.id,
            system=_system_text(toolset, self.protocol),
            prompt=prompt,
            overview=overview,
            redshift=self.redshift,
            redshift_source=self.redshift_source,
            source=None if source is None else str(source),
        )
        self.max_turns = int(max_turns)
        self.texts = bool(texts)
        self.state = {}
        self.done = False
        self.result = None
        self._started = time.perf_counter()

    def notes(self):
        """What the evidence must say that the model may not: the rest frame when it is not the
        file's, and the task's diagnostic windows that hold no valid data."""
        notes = []
        if self.redshift_source in _REDSHIFT_NOTES:
            notes.append(_REDSHIFT_NOTES[self.redshift_source].format(z=self.redshift))
        if self.windows_without_data:
            missing = ", ".join(self.windows_without_data)
            notes.append(f"Not inspected, for lack of valid data there: {missing}.")
        return notes

    @property
    def messages(self):
        """The chat so far, in Hugging Face format (see `~spec_o3.agent.Trajectory.to_messages`)."""
        return self.trajectory.to_messages()

    def __repr__(self):
        turns = len(self.trajectory.steps)
        return f"<Episode {self.task.id} source={self.trajectory.source!r} turns={turns}>"


class Inspector:
    """Runs inspection episodes with a policy.

    Parameters
    ----------
    policy : `~spec_o3.agent.Policy`
        Writes the assistant messages.
    toolset : {"default", "extended"}, optional
        Tools offered to the model; defaults to the policy's ``toolset``.
    max_turns : int
        Most assistant turns per episode.
    protocol : {"spec-o3", "release"}, optional
        The dialogue profile (see :ref:`protocol-profiles`); defaults to the policy's
        ``protocol``.
    render_images : bool
        Render the overview and the zoomed windows; ``False`` gives the model text only (fast batch
        vetting with the scripted expert).
    texts : bool
        ``False`` asks a policy that writes its messages from a plan (the scripted expert) for
        their readings alone: the trajectories keep the tool calls and their results, but empty
        messages and no per-turn measurements; verdicts, evidence, windows and turns are the
        same. For a table of results (``spec-o3 vet`` without ``--save-trajectories``).

    Examples
    --------
    A policy that answers at once, on a flat spectrum, without images:

    >>> import numpy as np, astropy.units as u
    >>> from specutils import Spectrum
    >>> from spec_o3.agent import Inspector, Policy
    >>> class Sceptic(Policy):
    ...     def respond(self, episodes):
    ...         answer = "<think>Flat.</think>\\n<answer>\\\\boxed{NO} Featureless.</answer>"
    ...         return [answer] * len(episodes)
    >>> flat = Spectrum(flux=np.ones(100) * u.Jy, spectral_axis=np.linspace(4000, 8000, 100) * u.AA)
    >>> result = Inspector(Sceptic(), render_images=False).run(flat, "carbon_star", redshift=0)
    >>> result.verdict, result.evidence
    ('NO', "Featureless. The rest frame is the caller's, z = 0.")
    """

    def __init__(
        self,
        policy,
        *,
        toolset=None,
        max_turns=MAX_TURNS,
        render_images=True,
        protocol=None,
        texts=True,
    ):
        if int(max_turns) < 1:
            raise ValueError(f"max_turns must be at least 1, got {max_turns}")
        self.policy = policy
        self.toolset = policy.toolset if toolset is None else toolset
        self.protocol = check_protocol(policy.protocol if protocol is None else protocol)
        self.max_turns = int(max_turns)
        self.render_images = bool(render_images)
        self.texts = bool(texts)

    def start(self, spectrum, task, *, redshift=None, source=None, shared=None):
        """Prepare an `Episode` (rendering the overview plot) without running it; ``shared`` is
        an episode of the same spectrum for another task whose reduction and plot it may reuse
        (see `Episode`)."""
        return Episode(
            spectrum,
            task,
            redshift=redshift,
            source=source,
            toolset=self.toolset,
            render_images=self.render_images,
            max_turns=self.max_turns,
            protocol=self.protocol,
            shared=shared,
            texts=self.texts,
        )

    def run(self, spectrum, task, *, redshift=None, source=None):
        """Vet one spectrum for one task and return its `~spec_o3.agent.VettingResult`."""
        return self.run_episodes([self.start(spectrum, task, redshift=redshift, source=source)])[0]

    def run_many(self, jobs, *, sources=None):
        """Vet several spectra, asking the policy for all running episodes at once.

        Parameters
        ----------
        jobs : iterable of (spectrum, task, redshift)
            ``redshift`` may be ``None`` (then ``spectrum.meta["redshift"]``, else the task's
            ``assumed_redshift``).
        sources : sequence of str, optional
            Where each spectrum came from, recorded on its trajectory (default: ``meta["source"]``).
        """
        jobs = list(jobs)
        sources = [None] * len(jobs) if sources is None else list(sources)
        if len(sources) != len(jobs):
            raise ValueError(f"got {len(sources)} sources for {len(jobs)} jobs")
        episodes = [
            self.start(spectrum, task, redshift=redshift, source=source)
            for (spectrum, task, redshift), source in zip(jobs, sources, strict=True)
        ]
        return self.run_episodes(episodes)

    def run_episodes(self, episodes):
        """Run prepared episodes to their end; return their results in order."""
        running = [episode for episode in episodes if not episode.done]
        while running:
            texts = list(self.policy.respond(running))
            if len(texts) != len(running):
                raise BackendError(
                    f"policy {self.policy.name!r} returned {len(texts)} messages for "
                    f"{len(running)} episodes"
                )
            for episode, text in zip(running, texts, strict=True):
                self._advance(episode, "" if text is None else text)
            running = [episode for episode in running if not episode.done]
        return [episode.result for episode in episodes]

    def _advance(self, episode, text):
        """Handle one assistant message: record it, then finish the episode or run its tool call.

        A policy that measures the spectrum itself (the scripted expert) leaves its numbers for
        this turn in ``episode.state["measurements"]``; they are kept on the step under "policy".
        """
        if isinstance(text, ScriptedMessage):  # it comes with its reading (`scripted_message`)
            text, parsed = str(text), text.parsed
        else:
            parsed = parse_response(text)
        step = Step(index=len(episode.trajectory.steps) + 1, text=text)
        episode.trajectory.steps.append(step)
        policy_measurements = episode.state.pop("measurements", None)
        self._respond(episode, step, parsed)
        if policy_measurements:
            step.measurements = {**step.measurements, "policy": policy_measurements}

    def _respond(self, episode, step, parsed):
        if len(parsed.answers) == 1:
            return self._finish(episode, parsed.answers[0], parsed.answer_text)
        if parsed.answers:
            return self._fail(
                episode, step, f"{len(parsed.answers)} answers in one message; give exactly one"
            )
        # the released models' episodes ended at a message without a readable tool call
        if not parsed.tool_calls and (episode.protocol == "release" or not parsed.errors):
            why = "; ".join(parsed.errors) or "the model neither called a tool nor gave an <answer>"
            return self._fail(episode, step, why)
        if step.index >= episode.max_turns:
            return self._fail(
                episode, step, f"no answer within {episode.max_turns} assistant turns"
            )
        if parsed.tool_calls:
            self._call_tool(episode, step, parsed.tool_calls)
        else:
            step.error = "; ".join(parsed.errors)
            step.result_text = f"Error: {step.error}"

    def _call_tool(self, episode, step, calls):
        call = calls[0]
        step.tool_name, step.arguments = call.name, call.arguments
        try:
            result = run_tool(
                episode.environment, call.name, call.arguments, protocol=episode.protocol
            )
        except ToolCallError as error:
            step.error = str(error)
            step.result_text = f"Error: {error}"
        else:
            step.result_text, step.image, step.window = result.text, result.image, result.window
            step.measurements = result.data
            step.label = result.data.get("label")
        if len(calls) > 1 and episode.protocol != "release":  # the release drops them silently
            step.result_text += (
                f"\nNote: only one tool call per turn is run; {len(calls) - 1} more ignored."
            )

    def _fail(self, episode, step, error):
        step.error = error
        self._finish(episode, None, None, error)

    def _finish(self, episode, verdict, answer_text, error=None):
        trajectory = episode.trajectory
        trajectory.verdict, trajectory.answer_text, trajectory.error = verdict, answer_text, error
        episode.done = True
        episode.result = VettingResult(
            verdict=verdict,
            task=episode.task.id,
            evidence=" ".join(filter(None, [answer_text, *episode.notes()])),
            trajectory=trajectory,
            error=error,
            seconds=time.perf_counter() - episode._started,
            spectrum=episode.spectrum,
            target_id=(episode.spectrum.meta or {}).get("targetid"),
            confidence=episode.state.get("confidence") if verdict is not None else None,
        )


def vet(
    spectrum_or_path,
    task,
    backend="expert",
    *,
    redshift=None,
    target=None,
    toolset=None,
    max_turns=MAX_TURNS,
    render_images=True,
    **backend_options,
):
    """Vet one spectrum for a task, or several: inspect it like an astronomer and say YES or NO.

    Parameters
    ----------
    spectrum_or_path : `~specutils.Spectrum`, `~specutils.SpectrumList`, str or path-like
        The spectrum, a file `~specutils.Spectrum.read` understands (LAMOST, SDSS, ...), a DESI
        coadd or spectra file, or DESI arms as a `~specutils.SpectrumList` (joined into one
        spectrum, see `~spec_o3.io.desi_targets`).
    task : str, `~spec_o3.tasks.Task` or list of them
        ``"carbon_star"``, ``"cataclysmic_variable"``, ``"m_giant"``, ``"s_star"``,
        ``"white_dwarf"`` (or ``cc``, ``cv``, ``gm``, ``ss``, ``wd``), or a registered task of your
        own. Several tasks (a list, ``"cc,wd"``, or ``"all"`` for the five built-in ones) are
        vetted in one pass: the spectrum is read once, and the expert measures what the tasks
        share once.
    backend : str or `~spec_o3.agent.Policy`
        ``"expert"`` (scripted astronomer, offline), ``"transformers"`` (local VLM) or ``"openai"``
        (OpenAI-compatible server), or a policy instance.
    redshift : float, optional
        Defaults to the redshift stored with the spectrum (for DESI, the redrock file beside it),
        else the task's ``assumed_redshift`` (0 for the built-in stellar tasks);
        ``result.redshift_source`` says which.
    target : int, optional
        The TARGETID to vet in a DESI file of several targets (`vet_targets` vets them all).
    toolset, max_turns, render_images
        See `Inspector`.
    **backend_options
        Passed to the backend, e.g. ``model=``, ``base_url=``, ``api_key=``.

    Returns
    -------
    result : `~spec_o3.agent.VettingResult` or dict
        A model that gives no valid answer gives ``result.status == "no_answer"``, verdict
        ``None`` and ``result.error`` set. For several tasks, a dict of results by task id, in
        the order given.

    Raises
    ------
    UnvettableSpectrum
        If the file cannot be read or the spectrum holds nothing to inspect (a `ValueError`
        whose message names the file; see :doc:`/io`).
    BackendError
        If the backend's infrastructure fails (e.g. the server cannot be reached).
    ValueError
        If the task is unknown or an option is wrong, or a DESI file holds several targets and
        ``target`` is not given (the message says how many, and to use `vet_targets`).

    Examples
    --------
    >>> import spec_o3
    >>> from spec_o3.simulate import simulate_spectrum
    >>> star = simulate_spectrum("white_dwarf", seed=1, snr=40)
    >>> spec_o3.vet(star, "wd", render_images=False).verdict
    'YES'
    >>> results = spec_o3.vet(star, "all", render_images=False)
    >>> {task: result.verdict for task, result in results.items()}  # doctest: +NORMALIZE_WHITESPACE
    {'carbon_star': 'NO', 'cataclysmic_variable': 'NO', 'm_giant': 'NO', 's_star': 'NO',
     'white_dwarf': 'YES'}
    """
    tasks = get_tasks(task)
    source = _source(spectrum_or_path)
    spectrum = read_target(spectrum_or_path, target)
    with _inspector(backend, toolset, max_turns, render_images, backend_options) as inspector:
        episodes = []
        for each in tasks:
            shared = episodes[0] if episodes else None
            episodes.append(
                inspector.start(spectrum, each, redshift=redshift, source=source, shared=shared)
            )
        results = inspector.run_episodes(episodes)
    if _one_task(task):
        return results[0]
    return {result.task: result for result in results}


def vet_targets(
    sources,
    task,
    backend="expert",
    *,
    toolset=None,
    max_turns=MAX_TURNS,
    render_images=True,
    **backend_options,
):
    """Vet every target of one or more files for one task: one result per target.

    A DESI coadd or spectra file gives one result per TARGETID, a file of any other format one
    result. Each result's ``target_id`` is its TARGETID (`None` for single-spectrum formats) and
    ``trajectory.source`` its file. A target that cannot be vetted (every pixel masked, ...) raises
    as `vet` does; `spec_o3.batch.vet_catalog` (``spec-o3 vet``) writes it as a failed row
    instead and goes on.

    Parameters
    ----------
    sources : str, path-like, `~specutils.SpectrumList`, or a list of them
        The files (or DESI arms).
    task, backend, toolset, max_turns, render_images, **backend_options
        As for `vet`; each target is inspected in its own rest frame (redrock's redshift when the
        file has one beside it).

    Returns
    -------
    list of `~spec_o3.agent.VettingResult`
        In file order, then target order.

    Raises
    ------
    UnvettableSpectrum, BackendError, ValueError
        As for `vet`.

    Examples
    --------
    >>> import spec_o3
    >>> results = spec_o3.vet_targets("coadd-main-bright-10032.fits", "wd")  # doctest: +SKIP
    >>> [(result.target_id, result.verdict) for result in results]  # doctest: +SKIP
    [(39627652591847724, 'NO'), (39627652591847731, 'YES')]
    """
    task = get_task(task)
    if isinstance(sources, (str, os.PathLike, SpectrumList)):
        sources = [sources]
    with _inspector(backend, toolset, max_turns, render_images, backend_options) as inspector:
        episodes = [
            inspector.start(spectrum, task, source=_source(source))
            for source in sources
            for _, spectrum in iter_targets(source)
        ]
        return inspector.run_episodes(episodes)


@functools.cache
def _system_text(toolset, protocol):
    """The system text of every episode with this toolset and protocol."""
    release = protocol == "release"
    return system_prompt(None if release else tool_schemas(toolset), protocol=protocol)


def _one_task(task):
    """Whether ``task`` names one task (a result), not several (a dict of results)."""
    return isinstance(task, Task) or (isinstance(task, str) and task != "all" and "," not in task)


def _source(spectrum_or_path):
    """The file a spectrum is read from (None for objects in memory)."""
    if isinstance(spectrum_or_path, (str, os.PathLike)):
        return os.fspath(spectrum_or_path)
    return None


@contextlib.contextmanager
def _inspector(backend, toolset, max_turns, render_images, backend_options):
    """An `Inspector` of the backend; a policy built here is closed on leaving."""
    policy = get_backend(backend, **backend_options)
    try:
        yield Inspector(policy, toolset=toolset, max_turns=max_turns, render_images=render_images)
    finally:
        if policy is not backend:  # close only what was built here
            policy.close()
