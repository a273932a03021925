"""The backend registry: each backend declares its name, its options and what it needs.

The command line (``--backend`` and its options), the Jdaviz plugin (its backend selector and option
fields) and :func:`get_backend` are all generated from these declarations, so a new backend -- built
in, or from another package through the ``spec_o3.backends`` entry-point group -- needs no edit
anywhere else. A declaration names its policy class by import path, so that the optional
dependencies of one backend (torch, transformers) are imported only when it is chosen.
"""

import importlib
import warnings
from dataclasses import dataclass
from importlib import metadata

from ..protocol import check_protocol
from .base import Policy

__all__ = [
    "ENTRY_POINT_GROUP",
    "Backend",
    "BackendOption",
    "backend_declaration",
    "get_backend",
    "register_backend",
    "registered_backends",
    "unregister_backend",
]

#: Entry-point group through which other packages register backends (see :ref:`adding-a-backend`).
ENTRY_POINT_GROUP = "spec_o3.backends"


@dataclass(frozen=True)
class BackendOption:
    """One constructor keyword of a backend that users set.

    Parameters
    ----------
    name : str
        The keyword (``spec-o3 vet`` spells it ``--name-with-dashes``).
    help : str
        What it sets, with its default; shown by ``--help`` and in the Jdaviz plugin.
    type : callable, optional
        Converts the option's command-line text (`str`, `int`, `float`, ...).
    required : bool, optional
        The backend cannot be built without it.
    command_line : bool, optional
        Offered as a command-line option; ``False`` for what only Python can give (a loaded
        object), a secret better kept out of the shell history, or a keyword the commands already
        use for their own option.
    """

    name: str
    help: str
    type: object = str
    required: bool = False
    command_line: bool = True

    @property
    def flag(self):
        """The command-line spelling, e.g. ``"--base-url"``."""
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Backend:
    """What a backend is called, what builds its policy, what it takes and what it needs.

    Parameters
    ----------
    name : str
        Short name, as given to ``backend=`` and ``--backend``.
    policy : str or callable
        ``"package.module:ClassName"``, imported only when the backend is built, or the
        `~spec_o3.agent.Policy` subclass (any callable returning a policy) itself.
    description : str
        One line saying what it is, for ``--help`` and the Jdaviz plugin.
    options : tuple of `BackendOption`, optional
        The constructor keywords users set.
    needs_images : bool, optional
        The policy looks at the plots, so they are rendered unless asked otherwise; ``False``
        for a policy that measures the spectrum itself, whose tool results are then text only
        where a command picks the default (``spec-o3 evaluate``).
    accepts_other_options : bool, optional
        Keywords beyond ``options`` go to the policy unchecked (the ``transformers`` backend
        passes them to ``from_pretrained``).

    Examples
    --------
    >>> from spec_o3.agent.backends import backend_declaration
    >>> openai = backend_declaration("openai")
    >>> openai.needs_images, [option.name for option in openai.options][:2]
    (True, ['base_url', 'model'])
    >>> backend_declaration("expert").check({"device": "cuda"})
    Traceback (most recent call last):
    ...
    ValueError: the expert backend takes no option device; its options: max_windows
    """

    name: str
    policy: object
    description: str
    options: tuple = ()
    needs_images: bool = True
    accepts_other_options: bool = False

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"a backend name is a Python identifier, got {self.name!r}")
        if isinstance(self.policy, str) and ":" not in self.policy:
            raise ValueError(
                f"backend {self.name!r}: policy {self.policy!r} is not 'package.module:ClassName'"
            )
        object.__setattr__(self, "options", tuple(self.options))
        for option in self.options:
            if not isinstance(option, BackendOption):
                raise TypeError(
                    f"backend {self.name!r}: options must be BackendOption, got {option!r}"
                )

    def option(self, name):
        """The declared option called ``name``, or ``None``."""
        return next((option for option in self.options if option.name == name), None)

    def check(self, options):
        """Raise ValueError unless ``options`` (a dict) suits this backend."""
        declared = [option.name for option in self.options]
        unknown = sorted(set(options) - set(declared))
        if unknown and not self.accepts_other_options:
            raise ValueError(
                f"the {self.name} backend takes no option {', '.join(unknown)}; "
                f"its options: {', '.join(declared) or 'none'}"
            )
        missing = [
            option.name
            for option in self.options
            if option.required and options.get(option.name) is None
        ]
        if missing:
            raise ValueError(f"the {self.name} backend needs {', '.join(missing)}")

    def create(self, **options):
        """Check ``options`` and build the policy with them."""
        self.check(options)
        return self._policy_factory()(**options)

    def _policy_factory(self):
        if not isinstance(self.policy, str):
            return self.policy
        module_name, _, attribute = self.policy.partition(":")
        return getattr(importlib.import_module(module_name), attribute)


_SWITCH = {"on": True, "off": False, "true": True, "false": False, "yes": True, "no": False}


def on_off(text):
    """The truth of a switch written ``on``/``off`` (or ``true``/``false``, ``yes``/``no``).

    Examples
    --------
    >>> on_off("off"), on_off("True")
    (False, True)
    """
    try:
        return _SWITCH[str(text).strip().lower()]
    except KeyError:
        raise ValueError(f"expected on or off, got {text!r}") from None


# Options both model backends take.
_PROTOCOL = BackendOption(
    "protocol",
    "dialogue profile the model was trained with: release (the released Spec-o3 checkpoints' "
    "prompts, tool texts and plots; their default) or spec-o3 (default for other models)",
    check_protocol,
)
_RESPONSE_BUDGET = BackendOption(
    "response_budget",
    "most tokens of an episode's turns and tool responses together "
    "(default: 32768 under --protocol release, else none)",
    int,
)

_BUILT_IN = (
    Backend(
        "expert",
        "spec_o3.agent.backends.expert:ExpertPolicy",
        "scripted astronomer: measures the spectrum itself (offline, no model weights)",
        options=(
            BackendOption(
                "max_windows", "most diagnostic windows to show before answering (default 6)", int
            ),
        ),
        needs_images=False,
    ),
    Backend(
        "transformers",
        "spec_o3.agent.backends.transformers:TransformersPolicy",
        "a vision-language model in this process (Hugging Face transformers; "
        "needs spec-o3[training])",
        options=(
            BackendOption(
                "model",
                "hub id or local directory of a model or PEFT adapter "
                "(default: Maxwell-Jia/spec-o3-7b)",
            ),
            BackendOption("adapter", "PEFT adapter directory to apply to the model"),
            BackendOption(
                "processor",
                "processor to use instead of the model's own (required with a loaded model)",
                command_line=False,
            ),
            BackendOption(
                "dtype",
                "weight dtype: auto (the checkpoint's; default), bfloat16, float16, float32",
            ),
            BackendOption(
                "device",
                "where the weights go: cpu, cuda, cuda:1, mps, or auto to spread them over all "
                "GPUs (default: the first GPU, else the CPU)",
            ),
            BackendOption(
                "max_new_tokens",
                "most tokens per assistant turn (default 1024; under --protocol release none)",
                int,
            ),
            _RESPONSE_BUDGET,
            BackendOption("temperature", "0 for greedy decoding (default), above 0 samples", float),
            BackendOption(
                "batch_size",
                "episodes per generate call (default 4); lower it if memory runs out",
                int,
                command_line=False,
            ),
            BackendOption("toolset", "the toolset the model was trained with (default: default)"),
            _PROTOCOL,
        ),
        accepts_other_options=True,
    ),
    Backend(
        "openai",
        "spec_o3.agent.backends.openai:OpenAICompatiblePolicy",
        "a model behind an OpenAI-compatible server (vLLM, SGLang, a hosted API)",
        options=(
            BackendOption(
                "base_url",
                "API root, e.g. http://localhost:8000/v1 (the default); "
                "the key is read from OPENAI_API_KEY",
            ),
            BackendOption(
                "model", "model name as the server knows it (default: Maxwell-Jia/spec-o3-7b)"
            ),
            BackendOption(
                "api_key",
                "bearer token (default: the OPENAI_API_KEY environment variable)",
                command_line=False,
            ),
            BackendOption("timeout", "seconds to wait for one response (default 120)", float),
            BackendOption(
                "max_retries",
                "retries after a timeout, a lost connection, HTTP 429 or 5xx (default 4)",
                int,
            ),
            BackendOption(
                "backoff", "first retry delay in seconds, doubled at each retry (default 1)", float
            ),
            BackendOption(
                "concurrency", "most requests in flight (default 8)", int, command_line=False
            ),
            BackendOption("temperature", "sampling temperature (default 0)", float),
            BackendOption(
                "max_tokens",
                "most tokens per assistant turn (default 2048; under --protocol release none)",
                int,
            ),
            _RESPONSE_BUDGET,
            BackendOption(
                "toolset", "the toolset the served model was trained with (default: default)"
            ),
            BackendOption(
                "logprobs",
                "on (default): ask for the tokens' log-probabilities, which give the verdict's "
                "confidence (a server refusing them is asked again without); off: do not ask",
                on_off,
            ),
            _PROTOCOL,
        ),
    ),
)

_REGISTRY = {backend.name: backend for backend in _BUILT_IN}
_discovered = False


def register_backend(backend, *, replace=False):
    """Add a backend so that `~spec_o3.agent.get_backend`, the command line and the Jdaviz plugin
    offer it.

    Parameters
    ----------
    backend : `Backend`
        The declaration.
    replace : bool, optional
        Allow replacing a backend of the same name (the default refuses).

    Examples
    --------
    >>> from spec_o3.agent.backends import Backend, registered_backends, unregister_backend
    >>> register_backend(Backend("echo", "mypackage.policies:EchoPolicy", "repeats the prompt"))
    >>> "echo" in registered_backends()
    True
    >>> unregister_backend("echo")
    """
    if not isinstance(backend, Backend):
        raise TypeError(f"expected a spec_o3.agent.backends.Backend, got {type(backend).__name__}")
    _discover()
    if backend.name in _REGISTRY and not replace:
        raise ValueError(f"a backend called {backend.name!r} is already registered")
    _REGISTRY[backend.name] = backend


def unregister_backend(name):
    """Remove the backend called ``name`` from the registry."""
    backend_declaration(name)
    del _REGISTRY[name]


def registered_backends():
    """Every registered backend: a dict of name -> `Backend`, the built-in ones first."""
    _discover()
    return dict(_REGISTRY)


def backend_declaration(name):
    """The `Backend` called ``name``; ValueError naming the choices if there is none.

    Examples
    --------
    >>> backend_declaration("expert").needs_images
    False
    >>> backend_declaration("telepathy")
    Traceback (most recent call last):
    ...
    ValueError: unknown backend 'telepathy'; choose one of expert, transformers, openai
    """
    backends = registered_backends()
    if name not in backends:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(backends)}")
    return backends[name]


def get_backend(name, **options):
    """Create the policy called ``name`` with ``options`` passed to its constructor.

    Parameters
    ----------
    name : str or `~spec_o3.agent.Policy`
        A registered backend (``"expert"``, ``"transformers"``, ``"openai"``, or one added with
        `~spec_o3.agent.backends.register_backend`); a `~spec_o3.agent.Policy` instance is
        returned unchanged (then ``options`` must be empty).
    **options
        Constructor arguments of the backend (e.g. ``model=``, ``base_url=``), checked against
        its declaration.

    Raises
    ------
    ValueError
        For an unknown backend, an option it does not take or a required one missing.

    Examples
    --------
    >>> get_backend("expert", model="gpt")
    Traceback (most recent call last):
    ...
    ValueError: the expert backend takes no option model; its options: max_windows
    """
    if isinstance(name, Policy):
        if options:
            raise ValueError(
                f"options {sorted(options)} cannot apply to an already built policy {name!r}"
            )
        return name
    return backend_declaration(name).create(**options)


def _discover():
    """Register the backends of other packages' ``spec_o3.backends`` entry points, once.

    Each entry point names a `Backend`; one that cannot be loaded, is not a `Backend` or takes a
    name already used is skipped with a warning, so that one broken package never stops the
    others (or the command line) from working.
    """
    global _discovered
    if _discovered:
        return
    _discovered = True
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            backend = entry_point.load()
            if not isinstance(backend, Backend):
                raise TypeError(f"it names a {type(backend).__name__}, not a Backend")
            if backend.name in _REGISTRY:
                raise ValueError(f"a backend called {backend.name!r} is already registered")
        except Exception as error:  # any failure of third-party code: report it, carry on
            warnings.warn(
                f"spec-o3 skipped the backend of entry point {entry_point.name!r} "
                f"({entry_point.value}): {type(error).__name__}: {error}",
                RuntimeWarning,
                stacklevel=2,
            )
            continue
        _REGISTRY[backend.name] = backend
