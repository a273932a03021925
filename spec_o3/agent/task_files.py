"""Tasks declared in a YAML file: a new vetting question without writing Python.

A task file holds what a `~spec_o3.tasks.Task` holds (question, indicators, diagnostic windows),
the lines and bands that decide it, and the rules that decide from them::

    id: be_star
    code: be
    name: Classical Be Star
    indicators:
      - H alpha in emission on the spectrum of a hot (B-type) star
    windows:
      - {label: H alpha, lower: 6480, upper: 6650}      # rest frame, Å
    measure:
      - {name: halpha, line: H alpha, kind: emission, min_ew: 3}
    rules:
      - name: emission
        when: halpha_seen and colour > 1.0
        verdict: "YES"
        evidence: "H alpha in emission ({halpha}) on a blue continuum: a Be star."
      - name: default
        when: "True"
        verdict: "NO"
        evidence: "No H alpha emission ({halpha}): not a Be star."

`load_task_file` registers the task, so that ``spec-o3 vet --task-file``, the Jdaviz plugin, the
model backends, evaluation and SFT data all see it; the scripted expert vets it with
`~spec_o3.agent.expert_rules.declared.DeclaredExpert`. See :doc:`/expert` for every key.
"""

from pathlib import Path

import astropy.units as u
import yaml

from spec_o3.tasks import DiagnosticWindow, Task, get_task, register_task

from .expert_rules.declared import DeclaredExpert, DeclaredMeasurement
from .expert_rules.rules import RuleTable

__all__ = ["load_task_file", "read_task_file"]

_KEYS = {
    "id",
    "code",
    "name",
    "article",
    "indicators",
    "windows",
    "assumed_redshift",
    "measure",
    "thresholds",
    "rules",
    "confusers",
    "positives",
}


def read_task_file(path):
    """Read a task file without registering it.

    Parameters
    ----------
    path : str or `~pathlib.Path`
        YAML task file.

    Returns
    -------
    task : `~spec_o3.tasks.Task`
    assessor : `~spec_o3.agent.expert_rules.declared.DeclaredExpert` or None
        The scripted expert of the task; None when the file declares no rules.
    simulated : dict
        ``positives`` and ``confusers``: simulated classes that are a YES for the task and that
        mimic them (see `~spec_o3.tasks.register_task`).

    Raises
    ------
    ValueError
        If the file is not valid YAML or misses or misstates a key; the message names the file.
    """
    path = Path(path)
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ValueError(f"{path}: cannot read the task file: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(spec, dict):
        raise ValueError(f"{path}: a task file is a mapping of keys such as id, name, windows")
    unknown = sorted(set(spec) - _KEYS)
    if unknown:
        raise ValueError(f"{path}: unknown keys {unknown}; a task file knows {sorted(_KEYS)}")
    missing = [key for key in ("id", "name", "indicators", "windows") if not spec.get(key)]
    if missing:
        raise ValueError(f"{path}: missing {', '.join(missing)}")
    try:
        task = Task(
            id=str(spec["id"]),
            code=str(spec.get("code", spec["id"])),
            name=str(spec["name"]),
            indicators=tuple(str(text) for text in spec["indicators"]),
            windows=tuple(_window(entry, path) for entry in spec["windows"]),
            article=str(spec.get("article", "an" if str(spec["name"])[0] in "AEIOU" else "a")),
            assumed_redshift=spec.get("assumed_redshift", 0.0),
        )
    except (TypeError, u.UnitsError) as error:
        raise ValueError(f"{path}: {error}") from None
    measurements = [
        DeclaredMeasurement.from_dict(entry, str(path)) for entry in spec.get("measure") or ()
    ]
    assessor = None
    if spec.get("rules"):
        rules = RuleTable.from_dict(spec, source=str(path))
        assessor = DeclaredExpert(task, measurements, rules)
    simulated = {key: tuple(map(str, spec.get(key) or ())) for key in ("positives", "confusers")}
    return task, assessor, simulated


def _window(entry, path):
    try:
        return DiagnosticWindow(str(entry["label"]), entry["lower"] * u.AA, entry["upper"] * u.AA)
    except (KeyError, TypeError):
        raise ValueError(
            f"{path}: each window needs a label, lower and upper (rest-frame Å), got {entry!r}"
        ) from None


def load_task_file(path, *, replace=False):
    """Read a task file and register its task (with its scripted expert) for every consumer.

    Parameters
    ----------
    path : str or `~pathlib.Path`
        YAML task file (see the module documentation).
    replace : bool, optional
        Allow the file to redefine a task already registered under the same id.

    Returns
    -------
    task : `~spec_o3.tasks.Task`

    Examples
    --------
    >>> from importlib.resources import files
    >>> from spec_o3.agent import load_task_file, vet
    >>> from spec_o3.simulate import simulate_spectrum
    >>> task = load_task_file(files("spec_o3.data") / "tasks" / "be_star.yaml", replace=True)
    >>> task.question
    'Analyze the provided spectrum to determine if it is a Classical Be Star.'
    >>> vet(simulate_spectrum("be_star", seed=1, snr=40), task="be_star").verdict
    'YES'
    >>> from spec_o3.tasks import unregister_task
    >>> unregister_task("be_star")  # the example leaves the registry as it found it
    """
    task, assessor, simulated = read_task_file(path)
    register_task(task, assessor=assessor, replace=replace, **simulated)
    return get_task(task.id)
