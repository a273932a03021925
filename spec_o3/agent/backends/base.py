"""What a policy is: the thing that writes the next assistant message of each running episode."""

import abc

__all__ = ["BackendError", "Policy"]


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
        Short name, as accepted by :func:`~spec_o3.agent.get_backend`.
    toolset : str
        The toolset the policy speaks (``"default"``: the released tool only).
    protocol : str
        The dialogue profile it speaks: ``"spec-o3"`` or ``"release"`` (see
        :ref:`protocol-profiles`).
    """

    name = "policy"
    toolset = "default"
    protocol = "spec-o3"

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
