"""A model's probability of the verdict it wrote, from the log-probabilities of one token.

The verdict is decided by the token that starts the label inside ``\\boxed{`` (see
`~spec_o3.agent.protocol.verdict_offset`). Its alternatives are the tokens that would have started
the other label at the same place: ``YES``, ``Yes``, ``Y``, `` yes`` ... or ``NO``, ``No``, ``N``,
`` no`` ..., each after the same text the chosen token carries before the label (a token such as
``{YES`` carries ``{``). The confidence is the probability of the chosen label among the two,
``p(chosen) / (p(YES) + p(NO))``, each summed over its spellings.
"""

import math
import re

__all__ = ["verdict_probability", "verdict_token"]

_LABELS = ("YES", "NO")
_LETTERS = re.compile(r"[A-Za-z]*")


def verdict_token(token, lead=""):
    """The label a token starts after ``lead``, or ``None`` if it starts neither.

    Parameters
    ----------
    token : str
        The token's text.
    lead : str, optional
        What the token must carry before the label (whitespace aside), e.g. ``"{"``.

    Returns
    -------
    label : {"YES", "NO"} or None
        ``"YES"`` when the token's letters after ``lead`` begin ``YES`` in any case (``Y``, ``ye``,
        ``Yes``) and end the word there if they are the whole label; likewise ``"NO"``.

    Examples
    --------
    >>> verdict_token(" Yes"), verdict_token("N"), verdict_token("{no", "{")
    ('YES', 'NO', 'NO')
    >>> verdict_token("Not"), verdict_token("YES"[:2] + "TERDAY"), verdict_token("{YES")
    (None, None, None)
    """
    core, head = token.lstrip(), lead.strip()
    if not core.startswith(head):
        return None
    rest = core[len(head) :].lstrip()
    letters = _LETTERS.match(rest).group().upper()
    for label in _LABELS:
        if letters and label.startswith(letters) and (letters == label or letters == rest.upper()):
            return label
    return None


def verdict_probability(verdict, lead, candidates):
    """The probability of ``verdict`` against the other label at the token that wrote it.

    Parameters
    ----------
    verdict : {"YES", "NO"}
        The label the model wrote.
    lead : str
        The text the chosen token carries before the label (see `verdict_token`).
    candidates : iterable of (str, float)
        Tokens and their natural-log probabilities at that step, the chosen token among them; the
        others that start no label after ``lead`` are ignored.

    Returns
    -------
    probability : float or None
        ``p(verdict) / (p(YES) + p(NO))``, each summed over the tokens that start it; ``None``
        when no candidate starts ``verdict``.

    Examples
    --------
    >>> from math import log
    >>> verdict_probability("YES", "", [("YES", log(0.6)), ("Yes", log(0.1)), ("NO", log(0.2)),
    ...                                 ("Maybe", log(0.1))])
    0.7777777777777778
    """
    mass = dict.fromkeys(_LABELS, 0.0)
    for token, logprob in candidates:
        label = verdict_token(token, lead)
        if label is not None:
            mass[label] += math.exp(logprob)
    if mass[verdict] == 0:
        return None
    return mass[verdict] / (mass["YES"] + mass["NO"])
