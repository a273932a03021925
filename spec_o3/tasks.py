"""The vetting tasks: what question is asked, what to look for, and where to zoom.

Each task is defined once, here, and every consumer (the prompt builder, the scripted expert, the
simulator's labels, the Jdaviz plugin's task menu, evaluation) reads it from
:data:`~spec_o3.tasks.TASKS`. Users add their own with :func:`register_task`.
"""

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import astropy.units as u
from specutils import SpectralRegion

__all__ = [
    "DiagnosticWindow",
    "Task",
    "TASKS",
    "get_task",
    "get_tasks",
    "register_task",
    "task_assessor",
    "task_confusers",
    "task_positives",
    "task_registration",
    "task_ids",
    "unregister_task",
]


@dataclass(frozen=True)
class DiagnosticWindow:
    """A rest-frame wavelength window an astronomer zooms into for one task.

    Parameters
    ----------
    label : str
        What is examined there, e.g. ``"C2 Swan 5165"``; shown to the model as the tool's ``label``.
    lower, upper : `~astropy.units.Quantity`
        Rest-frame window edges (any spectral unit; stored in Å).

    Examples
    --------
    >>> import astropy.units as u
    >>> DiagnosticWindow("H alpha", 6480 * u.AA, 6650 * u.AA).region
    Spectral Region, 1 sub-regions:
      (6480.0 Angstrom, 6650.0 Angstrom)
    """

    label: str
    lower: u.Quantity
    upper: u.Quantity

    def __post_init__(self):
        lower = u.Quantity(self.lower).to(u.AA, equivalencies=u.spectral())
        upper = u.Quantity(self.upper).to(u.AA, equivalencies=u.spectral())
        if not lower < upper:
            raise ValueError(
                f"window {self.label!r}: lower edge {lower} must be below upper edge {upper}"
            )
        object.__setattr__(self, "lower", lower)
        object.__setattr__(self, "upper", upper)

    @property
    def region(self):
        """The window as a `~specutils.SpectralRegion`."""
        return SpectralRegion(self.lower, self.upper)

    @cached_property
    def bounds(self):
        """``(lower, upper)`` in Å as plain floats, for arithmetic in inner loops."""
        return float(self.lower.value), float(self.upper.value)


@dataclass(frozen=True)
class Task:
    """One binary vetting question: "is this spectrum a genuine X?".

    Parameters
    ----------
    id : str
        Identifier, e.g. ``"carbon_star"``.
    code : str
        The Spec-o3 paper's short code (``"cc"``), accepted as an alias.
    name : str
        The class as written in the prompt, e.g. ``"Carbon Star (C-type)"``.
    indicators : tuple of str
        Key indicators listed after the question, as an astronomer would state them.
    windows : tuple of `DiagnosticWindow`
        Rest-frame windows worth zooming into, most diagnostic first.
    article : str, optional
        The indefinite article read before ``name`` (``"an"`` for "an M-type Giant").
    assumed_redshift : float or None, optional
        The redshift the spectrum is inspected at when neither its file nor the caller gives one:
        0 (the default) for Galactic stars, whose radial velocities of at most a few hundred km/s
        shift lines by a few Å, about one LAMOST resolution element; ``None`` for a task that
        cannot be vetted without a redshift (e.g. one about galaxies).
    """

    id: str
    code: str
    name: str
    indicators: tuple[str, ...]
    windows: tuple[DiagnosticWindow, ...] = field(default=())
    article: str = "a"
    assumed_redshift: float | None = 0.0

    @property
    def question(self):
        """The question put to the model, in the released Spec-o3 wording."""
        return f"Analyze the provided spectrum to determine if it is {self.article} {self.name}."


def _window(label, lower, upper):
    return DiagnosticWindow(label, lower * u.AA, upper * u.AA)


_BUILTIN_TASKS = (
    Task(
        id="carbon_star",
        code="cc",
        name="Carbon Star (C-type)",
        indicators=(
            "C2 Swan bands with heads near 4737, 5165 and 5636 Å, absorbing to the blue of each "
            "head",
            "CN red-system bands near 7088, 7945 and 8125 Å (broad depressions)",
            "CH G band near 4300 Å, strong in CH-type carbon stars",
            "No TiO bands (which would indicate an M or S star); cool, red continuum",
        ),
        windows=(
            _window("C2 Swan 5165", 4950, 5250),
            _window("C2 Swan 4737", 4600, 4800),
            _window("C2 Swan 5636", 5450, 5700),
            _window("CN red 7088 vs TiO 7054", 6950, 7300),
            _window("CN red 7945/8125", 7800, 8300),
        ),
    ),
    Task(
        id="cataclysmic_variable",
        code="cv",
        name="Cataclysmic Variable (CV)",
        indicators=(
            "Broad, often double-peaked Balmer emission lines (H alpha, H beta, H gamma) from an "
            "accretion disc",
            "He I emission at 4471, 5876 and 6678 Å",
            "He II 4686 Å emission, strong in magnetic systems, often with the Bowen blend near "
            "4640-4650 Å",
            "Blue disc continuum, possibly with an M-dwarf donor in the red; emission at rest "
            "wavelengths, "
            "without the forbidden lines ([O III] 5007, [N II], [S II]) of galaxies and quasars",
        ),
        windows=(
            _window("H alpha", 6480, 6650),
            _window("H beta", 4800, 4925),
            _window("He II 4686 and Bowen blend", 4600, 4720),
            _window("He I 5876", 5820, 5930),
            _window("[O III] 4959/5007 check", 4940, 5030),
        ),
    ),
    Task(
        id="m_giant",
        code="gm",
        name="M-type Giant",
        article="an",
        indicators=(
            "TiO bands with heads near 4761, 4954, 5167, 5448, 6159 and 7054 Å, deeper in later "
            "subtypes",
            "VO bands near 7400 and 7900 Å in the latest subtypes",
            "Weak gravity-sensitive features, unlike M dwarfs: weak CaH near 6382 and 6830 Å and "
            "a weak "
            "Na I 8183/8195 Å doublet; a strong Ca II triplet",
            "No ZrO bands (S stars) and no C2 bands (carbon stars)",
        ),
        windows=(
            _window("TiO 7054", 6950, 7300),
            _window("TiO 6159 and CaH 6382", 6100, 6450),
            _window("Na I 8183/8195", 8120, 8260),
            _window("Ca II triplet", 8460, 8700),
            _window("TiO 4954/5167", 4900, 5300),
        ),
    ),
    Task(
        id="s_star",
        code="ss",
        name="S-type Star",
        article="an",
        indicators=(
            "ZrO bands with heads near 4640, 5298, 5551, 6345 and 6474 Å",
            "LaO bands near 7403 and 7910 Å and YO near 5972 and 6132 Å",
            "TiO weaker than in an M star of the same temperature (MS stars show both)",
            "Enhanced s-process lines such as Sr II 4077 Å and Ba II 4554 Å",
        ),
        windows=(
            _window("ZrO 6345/6474", 6300, 6600),
            _window("ZrO 5298/5551", 5250, 5600),
            _window("ZrO 4640", 4550, 4700),
            _window("LaO 7403", 7300, 7500),
            _window("TiO 7054", 6950, 7300),
        ),
    ),
    Task(
        id="white_dwarf",
        code="wd",
        name="White Dwarf",
        indicators=(
            "Very broad, pressure-broadened Balmer absorption lines (H beta, H gamma, H delta, H "
            "epsilon) with "
            "wings tens of Å wide (DA white dwarfs)",
            "Otherwise He I absorption at 4471 and 5876 Å (DB), only Ca II H&K (DZ) or a "
            "featureless "
            "continuum (DC)",
            "Hot, blue continuum without the metal lines of ordinary stars (Mg b, Na D, Ca II "
            "triplet)",
            "Balmer lines broader than those of A/B stars and horizontal-branch stars of similar "
            "colour",
        ),
        windows=(
            _window("H beta", 4700, 5030),
            _window("H gamma and H delta", 4000, 4450),
            _window("H epsilon, Ca II H&K and H8", 3850, 4020),
            _window("H alpha", 6400, 6730),
            _window("He I 4471 and Mg II 4481", 4400, 4550),
        ),
    ),
)

_REGISTRY: dict[str, Task] = {}
_ALIASES: dict[str, str] = {}
#: Per task id: the scripted expert's assess function (or its "module:function" import path,
#: imported when first used, so that registering a task imports nothing heavy).
_ASSESSORS: dict[str, object] = {}
#: Per task id: names of the simulated classes (`spec_o3.simulate.CLASSES`) that mimic its
#: positives and make the negatives of its labelled suites, and of the classes that are a YES for
#: it beyond those whose ``positive_for`` names it.
_CONFUSERS: dict[str, tuple[str, ...]] = {}
_POSITIVES: dict[str, tuple[str, ...]] = {}


def register_task(task, *, assessor=None, confusers=(), positives=(), replace=False):
    """Add a task to the registry so that every consumer can use it by id or code.

    One call gives the task to the command line (``spec-o3 vet --task``), the Jdaviz plugin's
    task menu, the model backends' prompts, the simulator's labelled suites (with ``confusers``)
    and, with an ``assessor``, the scripted expert, which then vets, evaluates and writes SFT
    trajectories for it.

    Parameters
    ----------
    task : `Task`
        The task definition.
    assessor : callable or str, optional
        ``assessor(spectrum, redshift) -> Assessment``: the scripted expert's rules for the task
        (see :mod:`spec_o3.agent.expert_rules`), or the ``"module:function"`` path of one, imported
        when first used. A task without one can still be vetted by the model backends.
    confusers : sequence of str, optional
        Simulated classes that mimic the task's positives (names in `spec_o3.simulate.CLASSES`);
        the negatives of the task's simulated suites are drawn from them.
    positives : sequence of str, optional
        Simulated classes that are a YES for the task (besides those registered with
        ``positive_for`` the task), e.g. ``("be_star",)`` for a Be-star task.
    replace : bool, optional
        Allow replacing an existing task with the same id (the default refuses).

    Examples
    --------
    >>> import astropy.units as u
    >>> from spec_o3.tasks import DiagnosticWindow, Task, get_task, register_task
    >>> register_task(Task(
    ...     id="be_star", code="be", name="Classical Be Star",
    ...     indicators=("H alpha emission on a B-type absorption spectrum",),
    ...     windows=(DiagnosticWindow("H alpha", 6480 * u.AA, 6650 * u.AA),)),
    ...     confusers=("ab_star", "dme_star"))
    >>> get_task("be").name
    'Classical Be Star'
    >>> task_confusers("be")
    ('ab_star', 'dme_star')
    >>> unregister_task("be_star")
    """
    if not isinstance(task, Task):
        raise TypeError(f"expected a spec_o3.tasks.Task, got {type(task).__name__}")
    if assessor is not None and not (callable(assessor) or _is_import_path(assessor)):
        raise TypeError(
            f"assessor must be a callable or a 'module:function' path, got {assessor!r}"
        )
    for name, classes in (("confusers", confusers), ("positives", positives)):
        if isinstance(classes, str) or not all(isinstance(c, str) for c in classes):
            raise TypeError(f"{name} must be a sequence of class names, got {classes!r}")
    for key in (task.id, task.code):
        owner = _ALIASES.get(key)
        if owner is not None and not (replace and owner == task.id):
            raise ValueError(f"task name {key!r} is already used by task {owner!r}")
    _REGISTRY[task.id] = task
    _ALIASES[task.id] = task.id
    _ALIASES[task.code] = task.id
    _ASSESSORS.pop(task.id, None)
    if assessor is not None:
        _ASSESSORS[task.id] = assessor
    _CONFUSERS[task.id] = tuple(confusers)
    _POSITIVES[task.id] = tuple(positives)


def _is_import_path(text):
    return isinstance(text, str) and text.count(":") == 1 and all(text.split(":"))


def task_assessor(name):
    """The scripted expert's assess function for a task, or None when it has none.

    Examples
    --------
    >>> task_assessor("cc").__name__
    'assess_carbon_star'
    """
    task = get_task(name)
    assessor = _ASSESSORS.get(task.id)
    if isinstance(assessor, str):
        module, function = assessor.split(":")
        assessor = _ASSESSORS[task.id] = getattr(importlib.import_module(module), function)
    return assessor


def task_confusers(name):
    """Names of the simulated classes that mimic a task's positives (empty when none declared)."""
    return _CONFUSERS[get_task(name).id]


def task_registration(name):
    """The arguments of `register_task` that registered a task, to register it again elsewhere.

    Worker processes of a catalogue run start with the built-in tasks only; they register a
    user's task (with its assessor, which pickles) from this.
    """
    task = get_task(name)
    return {
        "task": task,
        "assessor": _ASSESSORS.get(task.id),
        "confusers": _CONFUSERS[task.id],
        "positives": _POSITIVES[task.id],
    }


def task_positives(name):
    """Names of the simulated classes declared a YES for a task with `register_task`."""
    return _POSITIVES[get_task(name).id]


def unregister_task(name):
    """Remove a user-registered task (by id or code) from the registry."""
    task = get_task(name)
    del _REGISTRY[task.id]
    _ASSESSORS.pop(task.id, None)
    _CONFUSERS.pop(task.id, None)
    _POSITIVES.pop(task.id, None)
    for key in (task.id, task.code):
        _ALIASES.pop(key, None)


def get_task(name):
    """Return the `Task` registered under an id (``"white_dwarf"``) or code (``"wd"``).

    Examples
    --------
    >>> get_task("cc").id
    'carbon_star'
    """
    if isinstance(name, Task):
        return name
    try:
        return _REGISTRY[_ALIASES[name]]
    except (KeyError, TypeError):
        known = ", ".join(f"{t.id} ({t.code})" for t in _REGISTRY.values())
        raise ValueError(f"unknown task {name!r}; known tasks: {known}") from None


def get_tasks(names):
    """Return the tasks named by ``names``, in order, each once.

    Parameters
    ----------
    names : str, `Task` or iterable of them
        A task id or code, several separated by commas (``"cc,wd"``), ``"all"`` (the five
        built-in tasks), or a sequence of these.

    Returns
    -------
    tuple of `Task`

    Examples
    --------
    >>> [task.code for task in get_tasks("cc,wd")]
    ['cc', 'wd']
    >>> [task.code for task in get_tasks("all")]
    ['cc', 'cv', 'gm', 'ss', 'wd']
    """
    if isinstance(names, (str, Task)):
        names = [names]
    tasks = []
    for name in names:
        parts = [part.strip() for part in name.split(",")] if isinstance(name, str) else [name]
        for part in parts:
            tasks += _BUILTIN_TASKS if part == "all" else [get_task(part)]
    if not tasks:
        raise ValueError("no task given")
    return tuple(dict.fromkeys(tasks))


def task_ids():
    """Ids of all registered tasks, built-in first, in registration order."""
    return tuple(_REGISTRY)


class _TaskView(Mapping):
    """Read-only live view of the registry, keyed by id; aliases resolve too."""

    def __getitem__(self, name):
        try:
            return get_task(name)
        except ValueError:
            raise KeyError(name) from None

    def __iter__(self):
        return iter(_REGISTRY)

    def __len__(self):
        return len(_REGISTRY)

    def __repr__(self):
        return f"TASKS({', '.join(_REGISTRY)})"


#: All registered tasks by id (a live, read-only mapping; ``TASKS["wd"]`` resolves the alias too).
TASKS = _TaskView()

#: Classes that mimic each built-in task's positives, as astronomers meet them (:doc:`/simulate`).
_BUILTIN_CONFUSERS = {
    "carbon_star": (
        "cn_strong_giant",
        "barium_star",
        "gk_giant",
        "m_dwarf",
        "bad_calibration",
        "low_snr",
    ),
    "cataclysmic_variable": (
        "be_star",
        "dme_star",
        "quasar",
        "emission_line_galaxy",
        "symbiotic",
        "hot_subdwarf",
        "ab_star",
        "low_snr",
        "bad_calibration",
    ),
    "m_giant": (
        "m_dwarf",
        "dme_star",
        "gk_giant",
        "cn_strong_giant",
        "low_snr",
        "bad_calibration",
    ),
    "s_star": (
        "barium_star",
        "gk_giant",
        "cn_strong_giant",
        "m_dwarf",
        "low_snr",
        "bad_calibration",
    ),
    "white_dwarf": (
        "ab_star",
        "bhb_star",
        "hot_subdwarf",
        "quasar",
        "be_star",
        "fgk_dwarf",
        "low_snr",
        "bad_calibration",
    ),
}

for _task in _BUILTIN_TASKS:
    register_task(
        _task,
        assessor=f"spec_o3.agent.expert_rules.{_task.id}:assess_{_task.id}",
        confusers=_BUILTIN_CONFUSERS[_task.id],
    )
