"""What a policy is: the thing that writes the next assistant message of each running episode."""

import abc
import importlib

__all__ = ["BACKENDS", "BackendError", "Policy", "get_backend"]

#: Backend name -> (module in spec_o3.agent.backends, policy class). Imported only when chosen, so
#: the optional dependencies of one backend (torch, transformers) never burden the others.
BACKENDS = {
    "expert": ("expert", "ExpertPolicy"),
    "transformers": ("transformers", "TransformersPolicy"),
    "openai": ("openai", "OpenAICompatiblePolicy"),
}


class BackendError(RuntimeError):
    """The policy's infrastructure failed (server unreachable, bad response, missing weights).

    Unlike a model's mistakes, which end an episode with ``error`` set, this is raised.
    """


class Policy(abc.ABC):
    """Base class of the policies behind :class:`~spec_o3.agent.Inspector`.

    A policy sees all running episodes at once so that it can batch them (one ``generate`` call, or
    concurrent HTTP requests). Policies may be used as context managers; leaving the block calls
    :meth:`close`.

    Attributes
    ----------
    name : str
        Short name, as accepted by :func:`get_backend`.
    toolset : str
        The toolset the policy speaks (``"default"``: the released tool only).
    """

    name = "policy"
    toolset = "default"

    @abc.abstractmethod
    def respond(self, episodes):
        """Return the next assistant message (raw text in the released format) for each episode.

        Parameters
        ----------
        episodes : sequence of `~spec_o3.agent.Episode`
            The running episodes; each has ``messages`` (the chat so far), ``task``, ``spectrum``,
            ``environment`` and a ``state`` dict the policy may use as scratch space.

        Returns
        -------
        texts : list of str
            One message per episode, in the same order.
        """

    def close(self):  # noqa: B027 (an optional hook, not an abstract method)
        """Release what the policy holds (connections, model weights); the default does nothing."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def get_backend(name, **options):
    """Create the policy called ``name`` with ``options`` passed to its constructor.

    Parameters
    ----------
    name : str or `Policy`
        ``"expert"``, ``"transformers"`` or ``"openai"``; a `Policy` instance is returned unchanged
        (then ``options`` must be empty).
    **options
        Constructor arguments of the backend (e.g. ``model=``, ``base_url=``).

    Examples
    --------
    >>> get_backend("telepathy")
    Traceback (most recent call last):
    ...
    ValueError: unknown backend 'telepathy'; choose one of expert, transformers, openai
    """
    if isinstance(name, Policy):
        if options:
            raise ValueError(
                f"options {sorted(options)} cannot apply to an already built policy {name!r}"
            )
        return name
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    module_name, class_name = BACKENDS[name]
    module = importlib.import_module(f"{__package__}.{module_name}")
    return getattr(module, class_name)(**options)
