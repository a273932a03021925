"""The Spectral Vetting tray plugin: run the inspection agent on a spectrum shown in Jdaviz."""

import base64
import io
import math
import threading
from dataclasses import dataclass
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.constants import c
from jdaviz.core.custom_traitlets import FloatHandleEmpty
from jdaviz.core.events import GlobalDisplayUnitChanged, SnackbarMessage
from jdaviz.core.registries import tray_registry
from jdaviz.core.template_mixin import (
    DatasetSelectMixin,
    PluginTemplateMixin,
    SelectPluginComponent,
)
from jdaviz.core.user_api import PluginUserApi
from specutils import Spectrum
from traitlets import Any, Bool, Dict, Int, List, Unicode, observe

from spec_o3.agent import BackendError, Inspector, Policy, get_backend, parse_response
from spec_o3.agent.backends import backend_declaration, registered_backends
from spec_o3.agent.expert_rules import Measurement
from spec_o3.agent.result import FAILED, NO_ANSWER
from spec_o3.agent.tools import REDSHIFT_SOURCES, rest_frame
from spec_o3.analysis import band_strength
from spec_o3.catalog import molecular_bands
from spec_o3.defaults import MAX_TURNS  # most assistant turns per run, as in the paper
from spec_o3.exceptions import UnvettableSpectrum
from spec_o3.tasks import get_task, task_ids

from .log import DECISIONS, VettingLog
from .overlays import Overlay

__all__ = [
    "LOG_FILE",
    "TRAY_NAME",
    "BackendSelect",
    "SpectralVetting",
    "TaskSelect",
    "VettingCancelled",
]

#: Registry name of the plugin (what a Jdaviz configuration lists in its ``tray``).
TRAY_NAME = "spec-o3-spectral-vetting"
#: Redshift sources that come with the data: the file itself, or a catalogue beside it.
_FROM_THE_DATA = ("file", "redrock")

#: Where Export log writes the vetting log unless told otherwise (relative to the working folder).
LOG_FILE = "vetting_log.ecsv"

#: How the plugin names the way a run ended, beside the verdict.
_OUTCOME_LABELS = {NO_ANSWER: "no answer", FAILED: "failed"}


class VettingCancelled(Exception):
    """The astronomer cancelled the run (raised between two turns of the agent)."""


@tray_registry(TRAY_NAME, label="Spectral Vetting", category="data:analysis")
class SpectralVetting(PluginTemplateMixin, DatasetSelectMixin):
    """Vet the spectrum in the viewer with the spec-o3 agent and record your own decision.

    The agent zooms into diagnostic windows and answers YES or NO; the windows it inspected and the
    lines identified in them are drawn on the spectrum viewer at their observed wavelengths. A run
    ends *answered*, with *no answer* (the model gave no valid one) or *failed* (the spectrum
    cannot be vetted, or the backend failed); only the first has a verdict.

    Only the following attributes and methods are available through the public plugin API:

    * ``dataset`` (:class:`~jdaviz.core.template_mixin.DatasetSelect`):
      the spectrum to vet (1D spectra shown in a spectrum viewer).
    * ``task`` (:class:`~jdaviz.core.template_mixin.SelectPluginComponent`):
      a task id of `spec_o3.tasks.task_ids` (the paper's short codes are accepted).
    * ``backend`` (`BackendSelect`): a registered backend
      (`~spec_o3.agent.backends.registered_backends`): ``"expert"`` (scripted astronomer,
      offline), ``"transformers"``, ``"openai"``, or one added since.
    * ``model``: model id or path (transformers) or served model name (openai); used by the
      backends that declare a ``model`` option, empty for the backend's default.
    * ``base_url``: root of the OpenAI-compatible API; used by the backends that declare a
      ``base_url`` option, empty for the backend's default.
    * ``backend_options``: dict of further keyword arguments for the backend.
    * ``redshift``: the spectrum's own (``meta["redshift"]``) when the dataset changes, empty
      when it has none: the task's assumed redshift is then used, and the result says so.
    * :meth:`vet`
    * ``result``, ``outcome``, ``verdict``, ``evidence``, ``steps`` (read-only): the last run.
    * :meth:`show_step`
    * ``decision`` (``"accept"``, ``"reject"``, ``"unsure"`` or ``""``) and ``comment``:
      your own decision on the candidate.
    * ``log`` (read-only) and :meth:`export_log`: the session's vetting log.
    """

    template_file = __file__, "vetting.vue"

    task_items = List().tag(sync=True)
    task_selected = Unicode().tag(sync=True)
    backend_items = List().tag(sync=True)
    backend_selected = Unicode().tag(sync=True)
    backend_declarations = Dict().tag(sync=True)  # what the template shows of each backend
    model = Unicode("").tag(sync=True)
    base_url = Unicode("http://localhost:8000/v1").tag(sync=True)
    redshift = FloatHandleEmpty(None, allow_none=True).tag(sync=True)
    redshift_from_file = Any(None).tag(sync=True)
    redshift_hint = Unicode("").tag(sync=True)

    running = Bool(False).tag(sync=True)
    progress = Unicode("").tag(sync=True)
    status = Unicode("").tag(sync=True)
    error = Unicode("").tag(sync=True)

    result_status = Unicode("").tag(sync=True)
    result_label = Unicode("").tag(sync=True)
    result_verdict = Unicode("").tag(sync=True)
    result_evidence = Unicode("").tag(sync=True)
    result_error = Unicode("").tag(sync=True)
    result_redshift = Unicode("").tag(sync=True)
    result_confidence = Unicode("").tag(sync=True)
    step_items = List().tag(sync=True)
    selected_step = Int(0).tag(sync=True)
    step_image = Unicode("").tag(sync=True)
    step_reasoning = Unicode("").tag(sync=True)
    step_response = Unicode("").tag(sync=True)

    decision_selected = Unicode("").tag(sync=True)
    comment = Unicode("").tag(sync=True)
    log_path = Unicode(LOG_FILE).tag(sync=True)
    log_length = Int(0).tag(sync=True)
    log_exported = Unicode("").tag(sync=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._plugin_description = "Vet a candidate with the spec-o3 agent."
        self.docs_description = (
            "Let the spec-o3 agent inspect the spectrum like an astronomer: it zooms into the "
            "diagnostic windows of the task and answers YES or NO. Its windows and the lines it "
            "identified are drawn on the spectrum viewer."
        )
        self.dataset.add_filter("is_spectrum", "layer_in_spectrum_viewer")
        self.task = TaskSelect(self, "task_items", "task_selected")
        self.backend = BackendSelect(
            self, "backend_items", "backend_selected", "backend_declarations"
        )
        #: Further keyword arguments for the backend (e.g. ``{"device": "cuda"}``).
        self.backend_options = {}
        self._result = self._job = None
        self._overlays = {}
        self._log = VettingLog()
        self._worker = None
        self._cancel = threading.Event()
        self.hub.subscribe(self, GlobalDisplayUnitChanged, handler=self._on_display_unit_changed)
        self._on_dataset_selected()

    @property
    def user_api(self):
        expose = [
            "dataset",
            "task",
            "backend",
            "model",
            "base_url",
            "backend_options",
            "redshift",
            "vet",
            "show_step",
            "decision",
            "comment",
            "export_log",
        ]
        readonly = ["result", "outcome", "verdict", "evidence", "steps", "log"]
        return PluginUserApi(self, expose=expose, readonly=readonly)

    # -- the last run -------------------------------------------------------------------------

    @property
    def result(self):
        """The `~spec_o3.agent.VettingResult` of the last run (``None`` before any)."""
        return self._result

    @property
    def outcome(self):
        """How the last run ended: ``"answered"``, ``"no_answer"`` or ``"failed"`` (``None``
        before any)."""
        return self.result_status or None

    @property
    def verdict(self):
        """``"YES"`` or ``"NO"`` from the last run; ``None`` before any and without an answer."""
        return None if self._result is None else self._result.verdict

    @property
    def evidence(self):
        """The agent's justification of its verdict (``None`` before any run)."""
        return None if self._result is None else self._result.evidence

    @property
    def steps(self):
        """The agent's turns in the last run (`~spec_o3.agent.Step`, numbered from 1)."""
        return [] if self._result is None else list(self._result.trajectory.steps)

    # -- running the agent --------------------------------------------------------------------

    def vet(self):
        """Vet the selected spectrum for the selected task and show the result.

        Runs in the calling thread (the Vet button runs the same in the background, with Cancel).

        Returns
        -------
        result : `~spec_o3.agent.VettingResult`
            Without a valid answer from the model, ``result.status == "no_answer"`` and
            ``result.verdict`` is ``None``.

        Raises
        ------
        ValueError
            Without a 1D spectrum to vet, or with an invalid redshift or backend setting.
        UnvettableSpectrum
            If the spectrum holds nothing to inspect (shown in the plugin as failed, and logged).
        BackendError
            If the backend's infrastructure fails (shown in the plugin as failed).
        """
        job = self._prepare()
        try:
            result = self._inspect(job, threading.Event())
        except Exception as error:
            self._fail(job, error)
            raise
        finally:
            self.running, self.progress = False, ""
        self._show(job, result)
        return result

    def vue_vet(self, *args):
        """The Vet button: run in a background thread, so the kernel stays free for Cancel."""
        try:
            job = self._prepare()
        except ValueError as error:
            self._refuse(error)
            return
        self._cancel = threading.Event()
        self._worker = threading.Thread(
            target=self._vet_in_background,
            args=(job, self._cancel),
            name="spec-o3-vetting",
            daemon=True,
        )
        self._worker.start()

    def vue_cancel(self, *args):
        """The Cancel button: stop the run before the agent's next turn."""
        if self.running:
            self._cancel.set()
            self.progress = "Cancelling after the current step…"

    def wait(self, timeout=None):
        """Wait until a run started by the Vet button has finished; return whether it has."""
        if self._worker is not None:
            self._worker.join(timeout)
        return not self.running

    def _prepare(self):
        """Check the inputs, clear the previous run and make the overlays; return the job."""
        if self.running:
            raise ValueError("a vetting run is already in progress")
        if not self.dataset_selected:
            raise ValueError("no spectrum to vet: load a 1D spectrum into a spectrum viewer first")
        spectrum = self._selected_spectrum()
        redshift = self._requested_redshift()
        job = _Job(
            spectrum=spectrum,
            label=self.dataset_selected,
            source=str((spectrum.meta or {}).get("source") or ""),
            task=get_task(self.task_selected).id,
            backend=self.backend_selected,
            options=self._backend_arguments(),
            redshift=redshift,
        )
        self._clear_result()
        # Overlay marks are widgets: create them here, in the thread that handles the UI.
        for viewer in self._spectrum_viewers():
            if viewer not in self._overlays:
                self._overlays[viewer] = Overlay(viewer)
        self.error = self.status = ""
        self.progress = "Starting the agent…"
        self.running = True
        return job

    def _requested_redshift(self):
        """The redshift to vet at: ``None`` while the field is empty or holds the file's own, so
        that the result says where it came from (the file, or the task's assumption)."""
        if self.redshift in (None, ""):
            return None
        redshift = _redshift(self.redshift)
        return None if redshift == self.redshift_from_file else redshift

    def _selected_spectrum(self):
        """The selected spectrum as loaded, bad-pixel mask included."""
        spectrum = self.dataset.selected_obj
        if not isinstance(spectrum, Spectrum) or spectrum.flux.ndim != 1:
            raise ValueError(f"{self.dataset_selected!r} is not a 1D spectrum")
        mask = self._bad_pixels()
        if spectrum.mask is None and mask is not None:
            spectrum = Spectrum(
                flux=spectrum.flux,
                spectral_axis=spectrum.spectral_axis,
                uncertainty=spectrum.uncertainty,
                mask=mask,
                meta=spectrum.meta,
            )
        return spectrum

    def _bad_pixels(self):
        """The selected spectrum's mask (``None`` without one).

        Jdaviz keeps it as a data component of its own, which the Spectrum it returns lacks.
        """
        data = self.dataset.selected_dc_item
        if "mask" not in [component.label for component in data.components]:
            return None
        return np.asarray(data["mask"]) != 0

    def _backend_arguments(self):
        """``backend_options`` and the fields the selected backend declares (a blank field leaves
        the backend's default); ValueError for options it does not take or lacks."""
        backend = backend_declaration(self.backend_selected)
        fields = {"model": self.model.strip(), "base_url": self.base_url.strip()}
        options = dict(self.backend_options)
        options.update(
            (name, value) for name, value in fields.items() if value and backend.option(name)
        )
        backend.check(options)
        return options

    def _inspect(self, job, cancel):
        """Run the agent on ``job``; report each turn; raise `VettingCancelled` once cancelled."""
        with get_backend(job.backend, **job.options) as policy:
            observed = _ObservedPolicy(policy, self._show_progress, cancel)
            # errors name the file, or else the data label the astronomer sees
            result = Inspector(observed, max_turns=MAX_TURNS).run(
                job.spectrum, job.task, redshift=job.redshift, source=job.source or job.label
            )
        _ = result.lines  # identify the lines in the inspected windows now, off the UI's thread
        return result

    def _vet_in_background(self, job, cancel):
        try:
            result = self._inspect(job, cancel)
        except VettingCancelled:
            self.status = "Cancelled: no verdict."
        except Exception as error:  # shown in the plugin: nothing could catch it in this thread
            self._fail(job, error)
        else:
            self._show(job, result)
        finally:
            self.running, self.progress = False, ""

    def _show_progress(self, trajectory):
        steps = trajectory.steps
        self.progress = f"Step {len(steps) + 1} (of at most {MAX_TURNS})"
        if steps:
            last = steps[-1]
            self.progress += f"; last: {last.tool_name or 'no tool call'}"
            self.progress += f" on {last.label}" if last.label else ""
        self.step_items = [_step_row(step) for step in steps]

    def _refuse(self, error):
        """Say why a run cannot start (no spectrum, a bad setting)."""
        self.error = f"Cannot vet: {error}"
        self.hub.broadcast(SnackbarMessage(self.error, color="error", sender=self))

    def _fail(self, job, error):
        """Show a run that failed: no verdict, and why. A spectrum that cannot be vetted is
        logged, like a failed row of ``spec-o3 vet``; a backend failure says nothing about it."""
        if isinstance(error, BackendError):
            message = f"Backend error: {error}"
        elif isinstance(error, UnvettableSpectrum):  # whose message names the spectrum
            message = str(error)
        else:
            message = f"{type(error).__name__}: {error}"
        self.result_status, self.result_label = FAILED, _OUTCOME_LABELS[FAILED]
        self.result_error, self.status = message, "Failed: no verdict."
        self.step_items = []  # the turns shown while it ran lead nowhere
        self.hub.broadcast(SnackbarMessage(message, color="error", sender=self))
        if isinstance(error, UnvettableSpectrum):
            self._log.record(
                job.label,
                job.task,
                file=job.source,
                backend=job.backend,
                status=FAILED,
                error=message,
            )
            self.log_length = len(self._log)

    # -- showing a result ---------------------------------------------------------------------

    def _show(self, job, result):
        self._job, self._result = job, result
        self.result_status = result.status
        self.result_label = result.verdict or _OUTCOME_LABELS[result.status]
        self.result_verdict, self.result_evidence = result.verdict or "", result.evidence
        self.result_error = result.error or ""
        self.result_confidence = (
            "" if result.confidence is None else f"confidence {result.confidence:.0%}"
        )
        self.result_redshift = (
            f"{_redshift_text(result.redshift)} "
            f"({REDSHIFT_SOURCES.get(result.redshift_source, result.redshift_source)})"
        )
        self.step_items = [_step_row(step, result) for step in result.trajectory.steps]
        ended = result.verdict or "No answer"
        self.status = f"{ended} after {_count(result.n_steps, 'step')} ({result.seconds:.1f} s)"
        self._draw_overlays()
        self._log.record(
            job.label,
            job.task,
            file=job.source,
            backend=job.backend,
            redshift=result.redshift,
            redshift_source=result.redshift_source,
            status=result.status,
            verdict=result.verdict or "",
            windows=_windows_text(result.windows),
            error=result.error or "",
        )
        self.log_length = len(self._log)

    def _clear_result(self):
        self._job = self._result = None
        self.result_status = self.result_label = self.result_verdict = ""
        self.result_evidence = self.result_error = self.result_redshift = ""
        self.result_confidence = ""
        self.error = self.status = self.log_exported = ""
        self.step_items = []
        self.selected_step = 0
        self.decision_selected = self.comment = ""
        for overlay in self._overlays.values():
            overlay.clear()

    def _spectrum_viewers(self):
        """The spectrum viewers showing the selected dataset."""
        visible = self.dataset.viewers_with_selected_visible
        return [viewer for viewer in self.spectrum_1d_viewers if viewer in visible]

    def _draw_overlays(self, unit=None):
        """Draw the inspected windows and identified lines at observed wavelengths."""
        if self._result is None:
            return
        shift = 1 + self._result.redshift  # rest -> observed frame
        edges = [[w.lower.to_value(u.AA), w.upper.to_value(u.AA)] for w in self._result.windows]
        windows = np.reshape(edges, (-1, 2)) * u.AA * shift
        labels = [step.label or step.tool_name for step in self.steps if step.window is not None]
        lines = self._result.lines
        positions = lines["rest_wavelength"] * shift
        names = [str(name) for name in lines["name"]]
        for viewer, overlay in self._overlays.items():
            unit_shown = unit or viewer.state.x_display_unit
            overlay.draw(windows, labels, positions, names, unit_shown)

    def _on_display_unit_changed(self, message):
        if message.axis == "spectral":
            self._draw_overlays(message.unit)

    @observe("dataset_selected")
    def _on_dataset_selected(self, *args):
        if not hasattr(self, "_overlays") or self.running:  # during __init__, or mid-run
            return
        self._clear_result()
        self.redshift_from_file, source = None, None
        if self.dataset_selected:  # as the inspection will read it: a failure value is none
            redshift, source = rest_frame(self.dataset.selected_obj)
            # shown to its precision; left unchanged, the run uses the file's own, unrounded
            if source in _FROM_THE_DATA:
                self.redshift_from_file = _rounded(redshift)
        self.redshift = self.redshift_from_file
        self.redshift_hint = (
            "Not in the file: set it if known; left empty, the task's assumed redshift is used "
            "(0 for stars)."
            if self.redshift_from_file is None
            else f"{REDSHIFT_SOURCES[source].capitalize()}: "
            f"{_redshift_text(self.redshift_from_file)}."
        )

    @observe("plugin_opened")
    def _on_opened(self, *args):
        if self.plugin_opened:
            self.task.refresh()  # tasks and backends registered since the plugin was made
            self.backend.refresh()

    # -- looking at one step ------------------------------------------------------------------

    def show_step(self, index):
        """Show step ``index`` (from 1): its zoom image and reasoning, and zoom to its window.

        Raises
        ------
        ValueError
            Before any run, or for a step that does not exist.
        """
        indices = [step.index for step in self.steps]
        if index not in indices:
            raise ValueError(
                f"no step {index!r}: the last run has steps {indices}"
                if indices
                else "no steps to show: vet a spectrum first"
            )
        self.selected_step = index
        step = self.steps[indices.index(index)]
        self.step_image = _png_data_url(step.image)
        self.step_reasoning = parse_response(step.text).think or ""
        self.step_response = step.error or step.result_text or ""
        if step.window is not None:
            self._zoom(step.window)

    def vue_select_step(self, row):
        self.show_step(row["step"])

    def _zoom(self, window):
        """Set every overlaid viewer's limits to ``window`` (rest frame) and the flux inside it."""
        observed = u.Quantity([window.lower, window.upper]) * (1 + self._result.redshift)
        spectrum = self.dataset.selected_spectrum  # in display units
        bad = self._bad_pixels()
        for viewer in self._overlays:
            lo, hi = np.sort(observed.to_value(viewer.state.x_display_unit, u.spectral()))
            axis = spectrum.spectral_axis.to_value(viewer.state.x_display_unit, u.spectral())
            inside = (axis >= lo) & (axis <= hi) & np.isfinite(spectrum.flux.value)
            if bad is not None:
                inside &= ~bad
            limits = {"x_min": float(lo), "x_max": float(hi)}
            if inside.any():
                low, high = np.min(spectrum.flux.value[inside]), np.max(spectrum.flux.value[inside])
                pad = 0.05 * (high - low) or 0.05 * abs(high) or 1.0
                limits.update(y_min=float(low - pad), y_max=float(high + pad))
            viewer.set_limits(**limits)

    # -- the astronomer's decision ------------------------------------------------------------

    @property
    def decision(self):
        """Your decision on the candidate: ``"accept"``, ``"reject"``, ``"unsure"`` or ``""``."""
        return self.decision_selected

    @decision.setter
    def decision(self, value):
        value = "" if value is None else str(value).strip().lower()
        if value not in ("", *DECISIONS):
            raise ValueError(
                f"decision must be one of {', '.join(DECISIONS)} (or '' to clear), got {value!r}"
            )
        if self._result is None:
            raise ValueError("no verdict to decide on: vet a spectrum first")
        self.decision_selected = value

    @observe("decision_selected", "comment")
    def _record_decision(self, change):
        if getattr(self, "_result", None) is not None:
            field = "decision" if change["name"] == "decision_selected" else "comment"
            self._log.update(self._job.label, self._job.task, **{field: change["new"]})

    @property
    def log(self):
        """The session's vetting log (`~astropy.table.Table`, one row per spectrum and task)."""
        return self._log.table()

    def export_log(self, path=None):
        """Append the session's new or changed rows to an ECSV vetting log.

        Parameters
        ----------
        path : str or path-like, optional
            Defaults to ``log_path`` (``LOG_FILE``). Rows already in the file stay.

        Returns
        -------
        table : `~astropy.table.Table`
            What the file holds now.
        """
        if not len(self._log):
            raise ValueError("nothing to export: vet a spectrum first")
        path = Path(self.log_path if path is None else path).expanduser().resolve()
        table = self._log.export(path)
        self.log_exported = f"Exported: {path} holds {_count(len(table), 'row')}."
        self.hub.broadcast(SnackbarMessage(self.log_exported, color="success", sender=self))
        return table

    def vue_export_log(self, *args):
        self.log_exported = ""
        try:
            self.export_log()
        except (OSError, ValueError) as error:
            self.error = f"Cannot export the log: {error}"


@dataclass
class _Job:
    """What one run vets, fixed when it starts."""

    spectrum: Spectrum
    label: str
    source: str
    task: str
    backend: str
    options: dict
    redshift: float | None  # None: the spectrum's own, else the task's assumption


class TaskSelect(SelectPluginComponent):
    """Choice of task: every registered task, short codes accepted (``plg.task = "cc"``)."""

    def __init__(self, plugin, items, selected):
        super().__init__(plugin, items=items, selected=selected, manual_options=list(task_ids()))

    def refresh(self):
        """Offer the tasks registered now."""
        self.choices = task_ids()

    @staticmethod
    def _to_item(item):
        """A task id with the name and article the template shows, e.g. "a Carbon Star
        (C-type)"."""
        if isinstance(item, dict):
            return item
        task = get_task(item)
        return {"label": task.id, "name": task.name, "article": task.article}

    def map_value(self, attr, value):
        if attr == "selected" and value not in self.choices:
            self.refresh()
            try:
                value = get_task(value).id
            except ValueError:
                pass  # the selection check then reports the valid choices
        return super().map_value(attr, value)


class BackendSelect(SelectPluginComponent):
    """Choice of backend: every registered one; their declarations go to ``declarations``, from
    which the template shows each backend's description and the option fields it takes."""

    def __init__(self, plugin, items, selected, declarations):
        super().__init__(
            plugin,
            items=items,
            selected=selected,
            declarations=declarations,
            manual_options=list(registered_backends()),
        )
        self.refresh()

    def refresh(self):
        """Offer the backends registered now."""
        backends = registered_backends()
        self.declarations = {
            name: {
                "description": backend.description,
                "options": {option.name: option.help for option in backend.options},
            }
            for name, backend in backends.items()
        }
        self.choices = list(backends)

    def map_value(self, attr, value):
        if attr == "selected" and value not in self.choices:
            self.refresh()  # a backend registered since
        return super().map_value(attr, value)


class _ObservedPolicy(Policy):
    """A policy that reports each turn before the next and stops when cancelled."""

    def __init__(self, policy, report, cancel):
        self.policy, self.report, self.cancel = policy, report, cancel
        self.name, self.toolset = policy.name, policy.toolset

    def respond(self, episodes):
        self._check()
        self.report(episodes[0].trajectory)
        texts = self.policy.respond(episodes)
        self._check()
        return texts

    def _check(self):
        if self.cancel.is_set():
            raise VettingCancelled("vetting cancelled")


#: Short names of the tools for the narrow steps table.
_ACTIONS = {
    "spectral_visualization_tool": "zoom",
    "identify_lines": "lines",
    "band_strength": "band",
}


def _step_row(step, result=None):
    """One row of the steps table (``result``: the finished run, to measure its windows)."""
    window = (
        ""
        if step.window is None
        else (f"{step.window.lower.to_value(u.AA):.0f}–{step.window.upper.to_value(u.AA):.0f}")
    )
    tool = step.tool_name or ("answer" if step.error is None and step.result_text is None else "")
    return {
        "step": step.index,
        "tool": tool,
        "action": _ACTIONS.get(tool, tool),
        "window": window,
        "label": step.label or "",
        "measurement": _key_measurement(step, result),
    }


def _key_measurement(step, result):
    """What a step measured in its window: its error; the measurements the policy made there (the
    expert's band depths and line widths, as its evidence cites them); the depth or lines a band
    or line tool returned; else, once the run is over, the depths of the bands whose head lies in
    the window and the strongest line identified there."""
    if step.error:
        return f"error: {step.error}"
    data = step.measurements
    if step.window is not None and data.get("policy"):
        return "; ".join(
            str(_measurement(name, m["value"], m["uncertainty"], m["unit"]))
            for name, m in data["policy"].items()
        )
    if "depth" in data:
        error = f" ± {data['uncertainty']:.3f}" if data.get("uncertainty") is not None else ""
        return f"depth {data['depth']:.3f}{error}"
    if "lines" in data:
        found = sorted(data["lines"], key=lambda line: -line["significance"])
        return (
            f"{_count(len(found), 'line')}, strongest {found[0]['name']} "
            f"({found[0]['significance']:.1f}σ)"
            if found
            else "no lines"
        )
    if step.window is None or result is None:
        return ""
    measured = [*_band_depths(step.window, result), *_strongest_line(step.window, result.lines)]
    return "; ".join(measured) or "no band or line detected"


def _measurement(name, value, uncertainty, unit=""):
    """A value as the expert's evidence writes it, e.g. "C2 5165 head depth 0.31 ± 0.02"."""
    unit = u.Unit(unit)
    return Measurement(name, value * unit, uncertainty * unit)


def _band_depths(window, result):
    """Depths of the catalogue's molecular bands whose head lies in ``window`` (rest frame)."""
    bands = molecular_bands()
    heads = bands["bandhead"]
    for band in bands[(heads >= window.lower) & (heads <= window.upper)]:
        try:
            depth = band_strength(result.spectrum, band, redshift=result.redshift)
        except ValueError:  # the band or both of its continua outside the data
            continue
        sigma = depth.info.meta["uncertainty"]
        yield str(_measurement(f"{band['name']} depth", depth.value, sigma.value))


def _strongest_line(window, lines):
    """The most significant line identified in ``window``, with its equivalent width."""
    inside = lines[
        (lines["rest_wavelength"] >= window.lower) & (lines["rest_wavelength"] <= window.upper)
    ]
    if len(inside):
        line = inside[np.argmax(inside["significance"])]
        width = line["equivalent_width"].to_value(u.AA)
        yield (
            f"{line['name']} {line['kind']}, EW {width:.1f} Å ({float(line['significance']):.1f}σ)"
        )


def _redshift(value):
    """``value`` as a redshift (a float above -1), or ValueError."""
    try:
        redshift = float(value)
    except (TypeError, ValueError):
        redshift = math.nan
    if not math.isfinite(redshift) or redshift <= -1:
        raise ValueError(f"redshift must be a finite number above -1, got {value!r}")
    return redshift


def _count(number, noun):
    """``number`` and ``noun``, plural unless one: "1 row", "3 rows"."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _rounded(redshift):
    """``redshift`` to the 5 significant digits the plugin shows."""
    return float(f"{redshift:.5g}")


def _redshift_text(redshift):
    """A redshift to 5 significant digits, with its velocity, e.g. "z = 0.1, cz = 29979 km/s"."""
    return f"z = {redshift:.5g}, cz = {(redshift * c).to_value(u.km / u.s):.5g} km/s"


def _windows_text(windows):
    """Rest-frame windows as ``"4950-5250; 6100-6250"`` (Å), for the log."""
    return "; ".join(f"{w.lower.to_value(u.AA):.0f}-{w.upper.to_value(u.AA):.0f}" for w in windows)


def _png_data_url(image):
    """A PIL image as a ``data:image/png`` URL the browser can show ('' for ``None``)."""
    if image is None:
        return ""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
