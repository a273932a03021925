"""Training data in exactly the protocol the agent speaks: SFT conversations and RL questions.

Cold-start SFT examples are inspection episodes of a teacher policy (the scripted expert by
default) over a labelled `~spec_o3.bench.Suite` -- simulated spectra, real files with labels, or
both -- written as TRL's vision conversations: a ``messages`` column whose content parts are text
or ``{"type": "image"}`` placeholders, and an ``images`` column with the pictures in placeholder
order. The messages are :meth:`~spec_o3.agent.Trajectory.to_messages` verbatim: the system text with
the tool block, the full-spectrum plot and the question, then per turn the assistant message and the
tool observation as a *user* ``<tool_response>`` turn holding the zoomed plot, as the released
Spec-o3 models were trained.

`load_sharegpt` reads released cold-start data in the ShareGPT layout into the same columns, and
`rl_dataset` writes label-only questions for the GRPO stage (the model sees the first two turns;
the rollout environment holds the spectrum).

Needs the ``datasets`` package (training extra).
"""

import json
import math
from pathlib import Path

from spec_o3.agent import Inspector, get_backend
from spec_o3.agent.backends.base import Policy
from spec_o3.agent.protocol import (
    SYSTEM_PROMPT,
    format_answer,
    format_assistant,
    format_tool_call,
    tools_block,
)
from spec_o3.defaults import MAX_TURNS

__all__ = [
    "MeasuringExpert",
    "expert_results",
    "load_sft_dataset",
    "load_sharegpt",
    "rl_dataset",
    "sft_dataset",
    "simulated_suite",
    "to_sft_example",
]
__doctest_requires__ = {"*": ["datasets"]}

# Image marker of the ShareGPT layout (LLaMA-Factory and the released Spec-o3 data).
_IMAGE_MARKER = "<image>"
_SHAREGPT_ROLES = {
    "system": "system",
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "function_call": "assistant",
    "observation": "tool",
    "function": "tool",
    "tool": "tool",
}


def to_sft_example(messages, **columns):
    """One SFT example: ``messages`` with image placeholders, and the ``images`` they stand for.

    Parameters
    ----------
    messages : list of dict
        Chat in Hugging Face format whose image parts hold the image (``{"type": "image", "image":
        PIL}``), e.g. :meth:`~spec_o3.agent.Trajectory.to_messages`.
    **columns
        Further columns of the example (``task``, ``label``, ...).

    Returns
    -------
    example : dict
        ``{"messages": ..., "images": [...], **columns}``; every content part is ``{"type": ...,
        "text": ...}`` (``text`` is None for image placeholders), so rows share one Arrow schema.

    Examples
    --------
    >>> from PIL import Image
    >>> plot = Image.new("RGB", (8, 8))
    >>> example = to_sft_example([{"role": "user", "content": [
    ...     {"type": "image", "image": plot}, {"type": "text", "text": "Is it a carbon star?"}]}])
    >>> example["messages"][0]["content"][0], len(example["images"])
    ({'type': 'image', 'text': None}, 1)
    """
    placeholders, images = [], []
    for message in messages:
        content = []
        for part in message["content"]:
            if part["type"] == "image":
                images.append(part["image"])
                content.append({"type": "image", "text": None})
            else:
                content.append({"type": "text", "text": part["text"]})
        placeholders.append({"role": message["role"], "content": content})
    return {"messages": placeholders, "images": images, **columns}


def simulated_suite(task, n, *, seed=0, positive_fraction=0.5, negatives=None):
    """A labelled suite of ``n`` simulated spectra for one task (`spec_o3.simulate`).

    Positives are drawn from the simulator's classes that are positives for the task, negatives
    from all the others (its confusers and the other rare classes) or from ``negatives``, classes
    uniformly.

    Parameters
    ----------
    task : str
        Task id or code.
    n : int
        Number of questions.
    seed : int
        Seed: the same seed gives the same suite.
    positive_fraction : float
        Expected fraction of YES questions.
    negatives : iterable of str, optional
        Simulator classes to draw the NO questions from, e.g. the task's look-alikes
        (`spec_o3.tasks.task_confusers`) for a harder task; default: every non-positive class.

    Raises
    ------
    ValueError
        If ``task`` is unknown, ``n`` is not positive, the simulator has no positive class for
        the task, or ``negatives`` names an unknown or positive class.

    Examples
    --------
    >>> simulated_suite("gm", 4, seed=1)
    <Suite of 4 questions: m_giant 4 (...)>
    >>> from spec_o3.tasks import task_confusers
    >>> suite = simulated_suite("cc", 6, seed=1, negatives=task_confusers("cc"))
    >>> set(suite.table["class"]) <= {"carbon_star", *task_confusers("cc")}
    True
    """
    import numpy as np

    from spec_o3.bench import Suite
    from spec_o3.simulate import CLASSES, simulate_spectrum
    from spec_o3.simulate import positives as positive_classes
    from spec_o3.tasks import get_task

    task = get_task(task).id
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive number of questions, got {n!r}")
    positives = sorted(positive_classes(task))  # ValueError when the simulator has none
    if negatives is None:
        negatives = [name for name in CLASSES if name not in positives]
    negatives = sorted(negatives)
    wrong = [name for name in negatives if name not in CLASSES or name in positives]
    if wrong or not negatives:
        raise ValueError(
            f"negatives must name non-positive simulator classes of {task}, got {wrong or 'none'}"
        )
    rng = np.random.default_rng(seed)
    kinds = [
        rng.choice(positives if rng.random() < positive_fraction else negatives)
        for _ in range(int(n))
    ]
    spectra = [simulate_spectrum(str(kind), rng=rng, task=task) for kind in kinds]
    return Suite.from_spectra(
        spectra,
        task,
        [spectrum.meta["label"] for spectrum in spectra],
        ids=[f"{task}-{seed}-{i:05d}" for i in range(len(spectra))],
        **{"class": [str(kind) for kind in kinds]},
    )


def expert_results(
    suite,
    policy="expert",
    *,
    render_images=True,
    toolset=None,
    max_turns=MAX_TURNS,
    batch_size=16,
    protocol=None,
):
    """Run a teacher policy over every question of a suite; return the results in suite order.

    Parameters
    ----------
    suite : `~spec_o3.bench.Suite`
        Labelled questions (simulated, real files, or both).
    policy : str or `~spec_o3.agent.Policy`
        The teacher: the scripted ``"expert"`` by default, or any backend (e.g. a strong model
        behind ``"openai"``, for distillation).
    render_images : bool
        Render the plots (SFT data for a vision model needs them).
    toolset : str, optional
        Tools offered (default: the policy's).
    max_turns : int
        Most assistant turns per episode.
    batch_size : int
        Questions handed to the loop at once.
    protocol : {"spec-o3", "release"}, optional
        The dialogue profile (default: the policy's); ``"release"`` writes conversations in the
        format the released checkpoints were trained on (see :ref:`protocol-profiles`).

    Returns
    -------
    results : list of `~spec_o3.agent.VettingResult`
    """
    policy = get_backend(policy)
    inspector = Inspector(
        policy,
        toolset=toolset,
        max_turns=max_turns,
        render_images=render_images,
        protocol=protocol,
    )
    table = suite.table
    results = []
    for start in range(0, len(suite), batch_size):
        rows = range(start, min(start + batch_size, len(suite)))
        jobs = [(suite.spectrum(row), table["task"][row], _redshift(table, row)) for row in rows]
        sources = [
            str(table["file"][row] if "file" in table.colnames else table["id"][row])
            for row in rows
        ]
        results.extend(inspector.run_many(jobs, sources=sources))
    return results


def _redshift(table, row):
    """The question's redshift, or None when unknown (NaN): then the spectrum's own is used."""
    value = float(table["redshift"][row])
    return value if math.isfinite(value) else None


class MeasuringExpert(Policy):
    """The scripted expert's verdicts in short episodes that read measured band depths.

    Each episode measures ``bands`` with the extended toolset's ``band_strength`` tool, one call a
    turn, then answers with the verdict of the scripted expert
    (:func:`~spec_o3.agent.expert_rules.assess`), the depths the tool returned quoted after the
    verdict. The decision rests on a few numbers in the conversation, so a small model trained on
    these episodes can learn to read them, where the expert's long narrated inspections of plots
    are beyond it. Use with ``toolset="extended"``.

    Parameters
    ----------
    bands : sequence of str
        Catalogue bands to measure, in order, e.g. ``["C2_5165"]`` for carbon stars.

    Raises
    ------
    ValueError
        If ``bands`` is empty or names a band the catalogue does not have.

    Examples
    --------
    >>> suite = simulated_suite("cc", 2, seed=1)
    >>> results = expert_results(suite, MeasuringExpert(["C2_5165"]), render_images=False,
    ...                          toolset="extended")
    >>> print(results[0].trajectory.steps[0].text)
    <think>Measure the C2_5165 band.</think>
    <tool_call>
    {"name": "band_strength", "arguments": {"band": "C2_5165"}}
    </tool_call>
    >>> print(results[0].trajectory.steps[1].text)
    <think>I read the measured band depths.</think>
    <answer>\\boxed{NO} C2_5165 depth ...</answer>
    >>> [result.verdict for result in results], [str(label) for label in suite.table["label"]]
    (['NO', 'YES'], ['NO', 'YES'])
    """

    name = "measuring-expert"
    toolset = "extended"

    def __init__(self, bands):
        from spec_o3.catalog import get_band

        self.bands = tuple(bands)
        if not self.bands:
            raise ValueError("give at least one band to measure")
        for band in self.bands:
            get_band(band)  # ValueError for an unknown band

    def respond(self, episodes):
        """Next message of each episode: measure the next band, or answer."""
        return [self._respond(episode) for episode in episodes]

    def _respond(self, episode):
        from spec_o3.agent.expert_rules import assess

        steps = episode.trajectory.steps
        if len(steps) < min(len(self.bands), episode.max_turns - 1):
            band = self.bands[len(steps)]
            return format_assistant(
                f"Measure the {band} band.", format_tool_call("band_strength", {"band": band})
            )
        readings = " ".join(
            f"{step.measurements['band']} depth {step.measurements['depth']:.3f}."
            for step in steps
            if "depth" in step.measurements
        )
        verdict = assess(episode.spectrum, episode.task, episode.redshift).verdict
        # The verdict follows the tool responses directly and the numbers are quoted after it:
        # a small model that miscopies a number then cannot talk itself into the wrong answer.
        return format_assistant(
            "I read the measured band depths.",
            format_answer(verdict, readings or "no band measured"),
        )


def sft_dataset(suite, policy="expert", *, only_correct=True, **options):
    """Cold-start SFT conversations from a teacher's inspections of a labelled suite.

    Parameters
    ----------
    suite : `~spec_o3.bench.Suite`
        Labelled questions.
    policy : str or `~spec_o3.agent.Policy`
        The teacher (default: the scripted expert).
    only_correct : bool
        Keep only episodes that concluded with the true label (rejection sampling: a cold start
        should not imitate mistakes). Episodes that ended with an error are always dropped.
    **options
        Passed to `expert_results` (``render_images``, ``toolset``, ``max_turns``,
        ``batch_size``, ``protocol``).

    Returns
    -------
    dataset : `datasets.Dataset`
        Columns ``messages``, ``images`` (see `to_sft_example`), ``id``, ``task``, ``label``,
        ``verdict``, ``source`` and ``n_turns``.

    Raises
    ------
    ValueError
        If no episode is left to train on.
    """
    from datasets import Dataset

    results = expert_results(suite, policy, **options)
    table = suite.table
    examples = [
        to_sft_example(
            result.trajectory.to_messages(),
            id=str(table["id"][row]),
            task=result.task,
            label=str(table["label"][row]),
            verdict=result.verdict,
            source=result.trajectory.source,
            n_turns=result.n_steps,
        )
        for row, result in enumerate(results)
        if result.error is None and (not only_correct or result.verdict == str(table["label"][row]))
    ]
    if not examples:
        kept = "correct and complete" if only_correct else "complete"
        raise ValueError(f"none of the {len(suite)} episodes was {kept}: no SFT data to write")
    return Dataset.from_list(examples)


def rl_dataset(suite, *, render_images=True):
    """Label-only questions for the GRPO stage: the prompt the model sees, and the true label.

    The prompt is the first two turns of an inspection episode (the system text and the user turn
    with the full-spectrum plot and the question) with the tool block left out of the system text:
    the trainer writes it from the rollout environment's tools with the chat template, which renders
    the very same text. The spectrum stays in the suite; the rollout environment loads question
    ``question`` (its row number) when TRL resets it.

    Parameters
    ----------
    suite : `~spec_o3.bench.Suite`
        Labelled questions.
    render_images : bool
        Show the full-spectrum plot (a vision model needs it).

    Returns
    -------
    dataset : `datasets.Dataset`
        Columns ``prompt`` (messages with an image placeholder), ``images``, ``question``, ``id``,
        ``task``, ``label`` and ``redshift`` (NaN when unknown).

    Raises
    ------
    ValueError
        If the suite is empty.
    """
    from datasets import Dataset

    from spec_o3.agent.inspector import Episode

    if len(suite) == 0:
        raise ValueError("the suite holds no questions: no RL data to write")
    table = suite.table
    examples = []
    for row in range(len(suite)):
        episode = Episode(
            suite.spectrum(row),
            table["task"][row],
            redshift=_redshift(table, row),
            render_images=render_images,
        )
        system, user = episode.messages[:2]
        system = {"role": "system", "content": [{"type": "text", "text": SYSTEM_PROMPT}]}
        example = to_sft_example([system, user])
        examples.append(
            {
                "prompt": example["messages"],
                "images": example["images"],
                "question": row,
                "id": str(table["id"][row]),
                "task": str(table["task"][row]),
                "label": str(table["label"][row]),
                "redshift": float(table["redshift"][row]),
            }
        )
    return Dataset.from_list(examples)


def load_sharegpt(path, *, image_root=None):
    """Read cold-start conversations in the ShareGPT layout into SFT examples.

    Accepts a JSON list or JSON-lines file whose records hold either ``conversations`` (turns with
    ``from``: ``system``/``human``/``gpt``/``function_call``/``observation`` and ``value``) or
    ``messages`` (turns with ``role``: ``system``/``user``/``assistant``/``tool`` and string
    ``content``), plus ``images``: image paths in the order of the ``<image>`` markers in the text.
    A record-level ``system`` string and ``tools`` (JSON schemas, a list or its JSON text) are
    supported as LLaMA-Factory writes them. Observations become user ``<tool_response>`` turns (the
    wrapper is added where missing) and ``function_call`` turns given as bare JSON become
    ``<tool_call>`` blocks, so the result speaks the agent's protocol.

    Parameters
    ----------
    path : str or path-like
        The ``.json`` or ``.jsonl`` file.
    image_root : str or path-like, optional
        Directory relative image paths start from (default: the file's directory).

    Returns
    -------
    dataset : `datasets.Dataset`
        Columns ``messages`` and ``images`` (see `to_sft_example`; images are decoded on access)
        and ``source`` (``file:record``).

    Raises
    ------
    OSError
        If the file cannot be read or an image file is missing.
    ValueError
        If a record has an unknown role, markers that do not match its images, or no records.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> record = {"conversations": [
    ...     {"from": "human", "value": "Is it a white dwarf?"},
    ...     {"from": "gpt", "value": "<think>Broad Balmer lines.</think>\\n"
    ...                              "<answer>\\\\boxed{YES}</answer>"}]}
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp) / "sft.json"
    ...     _ = path.write_text(json.dumps([record]))
    ...     dataset = load_sharegpt(path)
    >>> [message["role"] for message in dataset[0]["messages"]]
    ['user', 'assistant']
    """
    from datasets import Dataset, Features, Image, List, Value

    path = Path(path)
    records = _read_records(path)
    root = Path(image_root) if image_root is not None else path.parent
    examples = []
    for number, record in enumerate(records):
        where = f"{path}:{number}"
        messages, images = _sharegpt_messages(record, where, root)
        examples.append({"messages": messages, "images": images, "source": where})
    if not examples:
        raise ValueError(f"{path} holds no conversations")
    part = {"type": Value("string"), "text": Value("string")}
    features = Features(
        {
            "messages": List({"role": Value("string"), "content": List(part)}),
            "images": List(Image()),
            "source": Value("string"),
        }
    )
    return Dataset.from_list(examples, features=features)


def _read_records(path):
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise OSError(f"cannot read ShareGPT data from {path}: {error}") from error
    try:
        if path.suffix == ".jsonl":
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        records = json.loads(text)
    except ValueError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(records, list):
        raise ValueError(f"{path} must hold a JSON list of conversations")
    return records


def _sharegpt_messages(record, where, root):
    """(messages with placeholders, image paths) of one ShareGPT record."""
    if not isinstance(record, dict):
        raise ValueError(f"{where}: a conversation must be a JSON object")
    turns = record.get("conversations", record.get("messages"))
    if not isinstance(turns, list) or not turns:
        raise ValueError(f"{where}: no 'conversations' or 'messages' list of turns")
    messages = []
    if record.get("system"):
        messages.append(("system", record["system"]))
    for turn in turns:
        speaker = turn.get("from", turn.get("role"))
        role = _SHAREGPT_ROLES.get(speaker)
        if role is None:
            raise ValueError(f"{where}: unknown speaker {speaker!r}")
        text = turn.get("value", turn.get("content"))
        if not isinstance(text, str):
            raise ValueError(f"{where}: the {speaker} turn has no text")
        if speaker == "function_call" and "<tool_call>" not in text:
            call = json.loads(text)
            text = format_tool_call(call["name"], call.get("arguments", {}))
        messages.append((role, text))
    if record.get("tools"):
        messages = _with_tools(messages, record["tools"])
    images = [str(root / image) for image in record.get("images") or ()]
    for image in images:
        if not Path(image).is_file():
            raise OSError(f"{where}: image file {image} does not exist")
    markers = sum(text.count(_IMAGE_MARKER) for _, text in messages)
    if markers != len(images):
        raise ValueError(f"{where}: {markers} <image> markers but {len(images)} images")
    return [_placeholder_message(role, text) for role, text in messages], images


def _with_tools(messages, tools):
    """Put the tool block into the system text (how the agent states its tools)."""
    schemas = json.loads(tools) if isinstance(tools, str) else tools
    block = tools_block(schemas)
    if messages and messages[0][0] == "system":
        return [("system", f"{messages[0][1]}\n\n{block}"), *messages[1:]]
    return [("system", f"{SYSTEM_PROMPT}\n\n{block}"), *messages]


def _placeholder_message(role, text):
    """A message whose ``<image>`` markers become image placeholders; a tool observation becomes a
    user ``<tool_response>`` turn, as the agent writes it."""
    if role == "tool":
        inner = text.strip().removeprefix("<tool_response>").removesuffix("</tool_response>")
        role, text = "user", f"<tool_response>\n{inner.strip()}\n</tool_response>"
    content = []
    for index, chunk in enumerate(text.split(_IMAGE_MARKER)):
        if index:
            content.append({"type": "image", "text": None})
        if chunk:
            content.append({"type": "text", "text": chunk})
    return {"role": role, "content": content}


def load_sft_dataset(path):
    """Load SFT examples saved by ``spec-o3 train sft-data`` or released in the ShareGPT layout.

    Parameters
    ----------
    path : str or path-like
        A directory written by `datasets.Dataset.save_to_disk` (what ``spec-o3 train sft-data``
        writes), or a ShareGPT ``.json``/``.jsonl`` file (see `load_sharegpt`).

    Returns
    -------
    dataset : `datasets.Dataset`

    Raises
    ------
    OSError
        If ``path`` does not exist or holds neither.
    ValueError
        If the data hold no examples.
    """
    from datasets import load_from_disk

    path = Path(path)
    if path.is_file() and path.suffix in (".json", ".jsonl"):
        return load_sharegpt(path)
    if (path / "dataset_info.json").is_file():
        dataset = load_from_disk(str(path))
        if len(dataset) == 0:
            raise ValueError(f"the SFT dataset in {path} is empty")
        return dataset
    if not path.exists():
        raise OSError(f"SFT data {path} does not exist")
    raise OSError(
        f"{path} is neither a dataset directory written by 'spec-o3 train sft-data' nor a "
        "ShareGPT .json/.jsonl file"
    )
