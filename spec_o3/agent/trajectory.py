"""The record of one inspection: what the model saw, said and measured, turn by turn.

A `Trajectory` is what the loop builds, what :meth:`Trajectory.to_messages` turns into the chat
the model sees (and SFT trains on), and what :meth:`Trajectory.save` writes as one JSON file plus
one PNG per image, readable back with :meth:`Trajectory.load`.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

import astropy.units as u
from PIL import Image
from specutils import SpectralRegion

__all__ = ["Step", "Trajectory"]

_JSON_NAME = "trajectory.json"
_FORMAT_VERSION = 1


@dataclass
class Step:
    """One assistant turn and, if it called a tool, what came back.

    Attributes
    ----------
    index : int
        Turn number, from 1.
    text : str
        The assistant message as generated.
    tool_name : str or None
        The tool called (``None`` when the turn answered or its call could not be read).
    arguments : dict or None
        The call's arguments as written.
    result_text : str or None
        The text sent back inside ``<tool_response>`` (an error message for an invalid call);
        ``None`` when nothing was sent back (a final answer, or the turn limit).
    image : `PIL.Image.Image` or None
        The image sent back with ``result_text``.
    window : `~specutils.SpectralRegion` or None
        The rest-frame window the tool examined.
    label : str or None
        What the model said it was examining.
    measurements : dict
        JSON-native numbers the tool measured (see `~spec_o3.agent.tools.ToolResult`).
    error : str or None
        What was wrong with the turn, if anything.
    """

    index: int
    text: str
    tool_name: str | None = None
    arguments: dict | None = None
    result_text: str | None = None
    image: Image.Image | None = None
    window: SpectralRegion | None = None
    label: str | None = None
    measurements: dict = field(default_factory=dict)
    error: str | None = None

    def to_messages(self):
        """The assistant message of this turn, followed by the tool-response user turn if any."""
        messages = [{"role": "assistant", "content": [{"type": "text", "text": self.text}]}]
        if self.result_text is not None:
            messages.append(
                {"role": "user", "content": tool_response_content(self.result_text, self.image)}
            )
        return messages


def tool_response_content(text, image=None):
    """Content parts of a tool-response user turn: ``<tool_response>``, the image, the text.

    Examples
    --------
    >>> tool_response_content("Generated ...")
    [{'type': 'text', 'text': '<tool_response>\\nGenerated ...\\n</tool_response>'}]
    """
    if image is None:
        return [{"type": "text", "text": f"<tool_response>\n{text}\n</tool_response>"}]
    return [
        {"type": "text", "text": "<tool_response>\n"},
        {"type": "image", "image": image},
        {"type": "text", "text": f"{text}\n</tool_response>"},
    ]


@dataclass
class Trajectory:
    """A whole inspection episode.

    Attributes
    ----------
    task : str
        Task id (e.g. ``"carbon_star"``).
    system : str
        The system text the model saw (system prompt and tool block).
    prompt : str
        The first user text (question and key indicators).
    overview : `PIL.Image.Image` or None
        The full-spectrum plot shown with the prompt (``None`` with images switched off).
    redshift : float
        Redshift used for the rest frame.
    redshift_source : str
        Where it came from: a key of `~spec_o3.agent.tools.REDSHIFT_SOURCES` (``"file"``,
        ``"redrock"``, ``"user"``, ``"measured"`` or ``"assumed"``).
    source : str or None
        Where the spectrum came from (file name), if known.
    steps : list of `Step`
    verdict : str or None
        ``"YES"``/``"NO"`` once the episode ended with an answer.
    answer_text : str or None
        The justification given with the answer.
    error : str or None
        Why the episode could not conclude, if it could not.

    Examples
    --------
    >>> trajectory = Trajectory("white_dwarf", system="You are a helpful assistant.",
    ...                         prompt="Is it a white dwarf?")
    >>> trajectory.steps.append(Step(1, "<answer>\\\\boxed{NO} Narrow lines.</answer>"))
    >>> [message["role"] for message in trajectory.to_messages()]
    ['system', 'user', 'assistant']
    """

    task: str
    system: str
    prompt: str
    overview: Image.Image | None = None
    redshift: float = 0.0
    redshift_source: str = "file"
    source: str | None = None
    steps: list = field(default_factory=list)
    verdict: str | None = None
    answer_text: str | None = None
    error: str | None = None

    @property
    def windows(self):
        """The rest-frame windows the tools examined, in order."""
        return [step.window for step in self.steps if step.window is not None]

    @property
    def images(self):
        """Every image the model saw, in order (the overview first)."""
        images = [self.overview] if self.overview is not None else []
        return images + [step.image for step in self.steps if step.image is not None]

    def to_messages(self):
        """The conversation exactly as the model saw it, in Hugging Face chat format.

        Returns
        -------
        messages : list of dict
            ``{"role": ..., "content": [parts]}`` with text parts ``{"type": "text", "text": ...}``
            and image parts ``{"type": "image", "image": PIL}``: system, user (overview image and
            prompt), then per turn the assistant message and, after a tool call, a user turn
            holding ``<tool_response>``, the image and the tool's text.
        """
        user = [{"type": "text", "text": self.prompt}]
        if self.overview is not None:
            user.insert(0, {"type": "image", "image": self.overview})
        messages = [
            {"role": "system", "content": [{"type": "text", "text": self.system}]},
            {"role": "user", "content": user},
        ]
        for step in self.steps:
            messages.extend(step.to_messages())
        return messages

    def save(self, directory, *, overwrite=False):
        """Write the trajectory to ``directory`` as ``trajectory.json`` plus one PNG per image.

        Parameters
        ----------
        directory : str or path-like
            Created if needed.
        overwrite : bool
            Replace a trajectory already saved there (the default refuses).

        Returns
        -------
        path : `pathlib.Path`
            The JSON file written.
        """
        directory = Path(directory)
        path = directory / _JSON_NAME
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} already exists (pass overwrite=True to replace it)")
        directory.mkdir(parents=True, exist_ok=True)
        steps = []
        for step in self.steps:
            image_file = _save_image(step.image, directory, f"step-{step.index:02d}.png")
            steps.append(
                {
                    "index": step.index,
                    "text": step.text,
                    "tool_name": step.tool_name,
                    "arguments": step.arguments,
                    "result_text": step.result_text,
                    "image": image_file,
                    "window": _region_to_json(step.window),
                    "label": step.label,
                    "measurements": step.measurements,
                    "error": step.error,
                }
            )
        record = {
            "format_version": _FORMAT_VERSION,
            "task": self.task,
            "source": self.source,
            "redshift": self.redshift,
            "redshift_source": self.redshift_source,
            "verdict": self.verdict,
            "answer_text": self.answer_text,
            "error": self.error,
            "system": self.system,
            "prompt": self.prompt,
            "overview": _save_image(self.overview, directory, "overview.png"),
            "steps": steps,
        }
        path.write_text(json.dumps(record, indent=1, ensure_ascii=False), encoding="utf-8")
        return path

    @classmethod
    def load(cls, directory):
        """Read a trajectory written by :meth:`save`.

        Parameters
        ----------
        directory : str or path-like
            The directory (or its ``trajectory.json``).
        """
        path = Path(directory)
        if path.is_dir():
            path = path / _JSON_NAME
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise OSError(f"cannot read a trajectory from {path}: {error}") from error
        if record.get("format_version") != _FORMAT_VERSION:
            version = record.get("format_version")
            raise OSError(f"{path} is not a spec-o3 trajectory (format_version {version!r})")
        steps = [
            Step(
                index=item["index"],
                text=item["text"],
                tool_name=item["tool_name"],
                arguments=item["arguments"],
                result_text=item["result_text"],
                image=_load_image(path.parent, item["image"]),
                window=_region_from_json(item["window"]),
                label=item["label"],
                measurements=item["measurements"],
                error=item["error"],
            )
            for item in record["steps"]
        ]
        return cls(
            task=record["task"],
            system=record["system"],
            prompt=record["prompt"],
            overview=_load_image(path.parent, record["overview"]),
            redshift=record["redshift"],
            # saved before the source was recorded: the file's redshift unless the caller gave one
            redshift_source=record.get("redshift_source", "file"),
            source=record["source"],
            steps=steps,
            verdict=record["verdict"],
            answer_text=record["answer_text"],
            error=record["error"],
        )


def _save_image(image, directory, name):
    if image is None:
        return None
    image.save(directory / name, format="PNG")
    return name


def _load_image(directory, name):
    if name is None:
        return None
    with Image.open(directory / name) as image:
        image.load()
        return image.copy()


def _region_to_json(region):
    if region is None:
        return None
    return [region.lower.to_value(u.AA), region.upper.to_value(u.AA)]


def _region_from_json(edges):
    if edges is None:
        return None
    return SpectralRegion(edges[0] * u.AA, edges[1] * u.AA)
