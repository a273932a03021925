"""One report entry per results row: the row, its saved inspection, and the images drawn for it.

`prepare_candidate` does all the per-candidate work (read the spectrum, identify the lines in the
inspected windows, draw the full spectrum, convert the zoom images, or draw them from the windows
of the results table when no inspection was saved) and returns a JSON-native record; it runs in
worker processes for large reports.
"""

import math
import os
from dataclasses import dataclass
from pathlib import Path

import astropy.units as u
from PIL import Image

from spec_o3.agent import Trajectory
from spec_o3.agent.protocol import parse_response
from spec_o3.agent.result import FAILED
from spec_o3.agent.tools import REDSHIFT_SOURCES, line_table, rest_frame
from spec_o3.analysis import render_window
from spec_o3.io import read_for_inspection, read_target
from spec_o3.tasks import get_task

from .images import median_snr, render_overview

__all__ = [
    "CandidateJob",
    "candidate_key",
    "find_trajectories",
    "parse_windows",
    "prepare_candidate",
]

#: Colours kept in the report's PNGs: the plots are a few flat colours, and a 64-colour palette
#: halves the files at no visible cost.
_PALETTE_COLOURS = 64


def candidate_key(file, task):
    """The identity of a candidate across reports and decisions: its task and file.

    Examples
    --------
    >>> candidate_key("spec-1.fits", "carbon_star")
    'carbon_star|spec-1.fits'
    """
    return f"{task}|{file}"


def find_trajectories(directory):
    """Index the trajectories saved under ``directory`` (at any depth) by source file and task.

    Parameters
    ----------
    directory : str or path-like
        Where ``spec-o3 vet --save-trajectories`` wrote them.

    Returns
    -------
    found : dict
        ``(source, task) -> folder`` and, for sources whose file name occurs once per task,
        ``(file name, task) -> folder`` (so results written with other relative paths match).

    Raises
    ------
    OSError
        If ``directory`` is not a directory.
    """
    from json import JSONDecodeError, loads

    directory = Path(directory)
    if not directory.is_dir():
        raise OSError(f"{directory}: not a directory of saved trajectories")
    found, by_name = {}, {}
    for path in sorted(directory.rglob("trajectory.json")):
        try:
            record = loads(path.read_text(encoding="utf-8"))
        except (OSError, JSONDecodeError):
            continue  # reported when the candidate is prepared (Trajectory.load says why)
        source, task = str(record.get("source")), str(record.get("task"))
        found[(source, task)] = path.parent
        by_name.setdefault((Path(source).name, task), []).append(path.parent)
    for key, folders in by_name.items():
        if len(folders) == 1:
            found.setdefault(key, folders[0])
    return found


def parse_windows(text):
    """Windows of the results table's ``windows`` column (``"4600-4800;4950-5250"``, in Å).

    Examples
    --------
    >>> parse_windows("4600-4800;6950-7300")
    [(4600.0, 4800.0), (6950.0, 7300.0)]
    >>> parse_windows("")
    []
    """
    windows = []
    for part in filter(None, (text or "").split(";")):
        lo, _, hi = part.partition("-")
        try:
            windows.append((float(lo), float(hi)))
        except ValueError:
            raise ValueError(f"cannot read the window {part!r} (expected 'lo-hi' in Å)") from None
    return windows


@dataclass(frozen=True)
class CandidateJob:
    """What `prepare_candidate` needs for one results row.

    Attributes
    ----------
    number : int
        Row number in the results table (names the candidate's image folder).
    row : dict
        The row's values as text and numbers (``file``, ``task``, ``verdict``, ...).
    trajectory : pathlib.Path or None
        Folder of the saved trajectory, if one was found.
    out : pathlib.Path
        The report folder.
    base : pathlib.Path
        Folder against which relative file names are also tried (the results table's folder).
    """

    number: int
    row: dict
    trajectory: Path | None
    out: Path
    base: Path


def prepare_candidate(job):
    """Draw the images of one candidate and return its report record (JSON-native).

    Never raises for a bad candidate: an unreadable spectrum or trajectory becomes a ``notes``
    entry of the record, and the report shows what could be shown. A failed row (its spectrum
    could not be read or vetted) has no inspection; its spectrum is drawn if it can be read now.
    Without a saved inspection, the zooms are drawn now from the windows of the results table.
    """
    record = _row_record(job.row)
    folder = job.out / "images" / f"r{job.number:06d}"
    folder.mkdir(parents=True, exist_ok=True)
    images = _ImageWriter(job.out, folder)

    trajectory = None
    if job.trajectory is None:
        if record["outcome"] != FAILED:  # which never has one
            record["notes"].append(
                "No saved inspection was found for this file (spec-o3 vet --save-trajectories "
                "saves them): the zooms are drawn from the results table's windows, and the "
                "agent's reasoning is not shown."
            )
    else:
        try:
            trajectory = Trajectory.load(job.trajectory)
        except OSError as error:
            record["notes"].append(f"The saved inspection could not be read: {error}")
    if trajectory is not None:
        if record["redshift"] is None:  # a table written before it had the column
            _set_redshift(record, trajectory.redshift, trajectory.redshift_source)
        regions = _add_inspection(record, trajectory, images)
    else:
        regions = [(lo * u.AA, hi * u.AA) for lo, hi in parse_windows(job.row.get("windows"))]
        labels = _task_window_labels(job.row["task"])
        record["windows"] = [
            {
                "number": n,
                "label": labels.get((round(lo.value), round(hi.value)), ""),
                "lo": lo.value,
                "hi": hi.value,
                "image": None,
            }
            for n, (lo, hi) in enumerate(regions, start=1)
        ]

    # a failed row's error already says why its file cannot be read: no second note
    notes = [] if record["outcome"] == FAILED else record["notes"]
    spectrum = _read_spectrum(job.row["file"], job.base, notes, job.row.get("targetid"))
    drawn = spectrum is not None and _add_spectrum(record, spectrum, regions, images)
    if not drawn and trajectory is not None and trajectory.overview is not None:
        record["spectrum_image"] = images.save(trajectory.overview, "overview.png")
        record["notes"].append(
            "Showing the overview the agent saw (the windows and lines are not marked on it)."
        )
    return record


def _row_record(row):
    """The record's fields that come from the results row; the rest filled in later."""
    record = {
        "key": candidate_key(_target_file(row), row["task"]),
        "id": str(row["id"]) if row.get("id") not in (None, "") else Path(_target_file(row)).stem,
        "file": _target_file(row),
        "task": row["task"],
        "verdict": row["verdict"] if row["outcome"] in ("YES", "NO") else "",
        "confidence": row.get("confidence") if row["outcome"] in ("YES", "NO") else None,
        "outcome": row["outcome"],
        "evidence": row.get("evidence", ""),
        "error": row.get("error", ""),
        "n_steps": row.get("n_steps"),
        "seconds": row.get("seconds"),
        "decision": row.get("decision", ""),
        "comment": row.get("comment", ""),
        "decided_at": row.get("decided_at", ""),
        "snr": None,
        "survey_snr": {},
        "pipeline_class": "",
        "redshift": None,
        "redshift_source": "",
        "redshift_note": "",
        "spectrum_image": None,
        "windows": [],
        "lines": [],
        "transcript": [],
        "notes": [],
    }
    if row.get("redshift") is not None:
        _set_redshift(record, row["redshift"], row.get("redshift_source", ""))
    return record


def _set_redshift(record, redshift, source):
    """The redshift the candidate was inspected (or is drawn) at, and where it came from."""
    record["redshift"], record["redshift_source"] = redshift, source
    record["redshift_note"] = REDSHIFT_SOURCES.get(source, source)


class _ImageWriter:
    """Saves a candidate's images in its folder; returns paths relative to the report."""

    def __init__(self, out, folder):
        self.out, self.folder = out, folder

    def save(self, image, name):
        """Save as a palette PNG: the plots hold few colours, and it halves the files."""
        path = self.folder / name
        image.convert("RGB").quantize(_PALETTE_COLOURS, method=Image.Quantize.FASTOCTREE).save(path)
        return path.relative_to(self.out).as_posix()


def _add_inspection(record, trajectory, images):
    """Fill in the windows (with their zoom images) and the transcript; return the windows."""
    record["evidence"] = record["evidence"] or (trajectory.answer_text or "")
    record["transcript"] = _transcript(trajectory)
    regions = []
    for step in trajectory.steps:
        if step.window is None:
            continue
        regions.append(step.window)
        image = None
        if step.image is not None:
            image = images.save(step.image, f"step-{step.index:02d}.png")
        record["windows"].append(
            {
                "number": len(regions),
                "label": step.label or "",
                "lo": step.window.lower.to_value(u.AA),
                "hi": step.window.upper.to_value(u.AA),
                "image": image,
            }
        )
    return regions


def _task_window_labels(task):
    """The labels of ``task``'s diagnostic windows by their rounded edges in Å (none for a task
    not registered here)."""
    try:
        windows = get_task(task).windows
    except ValueError:
        return {}
    return {
        (round(w.lower.to_value(u.AA)), round(w.upper.to_value(u.AA))): w.label for w in windows
    }


def _add_spectrum(record, spectrum, regions, images):
    """Measure S/N and lines, draw the full spectrum and the zooms no saved inspection holds;
    False (with a note) if the spectrum cannot be drawn."""
    try:
        if record["redshift"] is None:  # not inspected, or a table and inspection without one
            _set_redshift(record, *rest_frame(spectrum))
        redshift = record["redshift"]
        record.update(_spectrum_facts(spectrum))
        lines = line_table(spectrum, redshift, regions)
        record["lines"] = _line_records(lines)
        image = render_overview(
            spectrum,
            regions,
            lines=lines,
            redshift=redshift,
            title=f"{record['id']}: whole spectrum (rest frame, z = {redshift:.5g})",
        )
    except ValueError as error:  # e.g. no valid pixels, or windows outside the data
        record["notes"].append(f"The spectrum could not be drawn: {error}")
        return False
    record["spectrum_image"] = images.save(image, "spectrum.png")
    for window in record["windows"]:
        if window["image"] is None:  # no saved inspection, or one saved without images
            _add_zoom(window, spectrum, lines, redshift, images)
    return True


def _add_zoom(window, spectrum, lines, redshift, images):
    """Draw the zoom of one window with the identified lines marked (none without data there)."""
    try:
        image = render_window(
            spectrum,
            (window["lo"] * u.AA, window["hi"] * u.AA),
            lines=lines,
            redshift=redshift,
            title=window["label"] or None,
        )
    except ValueError:  # the window holds no valid pixel: the page says there is no image
        return
    window["image"] = images.save(image, f"window-{window['number']:02d}.png")


def _target_file(row):
    """The row's file, with ``#TARGETID`` for a target of a DESI file (one candidate each)."""
    targetid = row.get("targetid")
    return row["file"] if targetid in (None, "") else f"{row['file']}#{targetid}"


def _read_spectrum(file, base, notes, targetid=None):
    """The spectrum of ``file`` (tried as given, then relative to ``base``; target ``targetid``
    of a DESI file), or None with a note."""
    path = Path(file)
    if not path.is_absolute() and not path.exists() and (base / path).exists():
        path = base / path
    try:
        if targetid not in (None, ""):
            return read_target(os.fspath(path), int(targetid))
        return read_for_inspection(os.fspath(path))
    except Exception as error:  # readers fail in many ways; the report still shows the rest
        notes.append(f"The spectrum file could not be read: {type(error).__name__}: {error}")
        return None


def _spectrum_facts(spectrum):
    meta = spectrum.meta or {}
    snr = median_snr(spectrum)
    pipeline = " ".join(str(meta[key]) for key in ("class", "subclass") if meta.get(key))
    survey_snr = {
        band: float(value)
        for band, value in (meta.get("snr") or {}).items()
        if isinstance(value, (int, float)) and math.isfinite(value)
    }
    return {
        "snr": snr if math.isfinite(snr) else None,
        "survey_snr": survey_snr,
        "pipeline_class": pipeline,
    }


def _line_records(lines):
    return [
        {
            "name": str(line["name"]),
            "rest": float(line["rest_wavelength"].to_value(u.AA)),
            "kind": str(line["kind"]),
            "significance": float(line["significance"]),
        }
        for line in lines
    ]


def _transcript(trajectory):
    """The agent's reasoning turn by turn: what it thought, which window it asked for, errors."""
    turns = []
    for step in trajectory.steps:
        parsed = parse_response(step.text)
        action = ""
        if step.window is not None:
            lo, hi = step.window.lower.to_value(u.AA), step.window.upper.to_value(u.AA)
            action = f"{step.tool_name}: {lo:.0f}–{hi:.0f} Å"
        elif step.tool_name:
            action = step.tool_name
        elif parsed.answers:
            action = f"answer: {parsed.answers[0]}"
        turns.append(
            {
                "turn": step.index,
                "think": parsed.think if parsed.think is not None else step.text,
                "action": action,
                "error": step.error or "",
            }
        )
    return turns
