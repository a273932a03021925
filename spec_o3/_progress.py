"""The progress bar of spec-o3's long jobs: rate and ETA on a terminal, nothing for short runs."""

from tqdm.auto import tqdm

__all__ = ["DELAY_S", "progress_bar"]

#: Seconds a job runs before its bar appears: a job done sooner prints none.
DELAY_S = 2.0


def progress_bar(iterable=None, *, total=None, desc, unit, show=True, **options):
    """A `tqdm.tqdm` bar on stderr, shown only on a terminal and only once ``DELAY_S`` passed.

    Parameters
    ----------
    iterable : iterable, optional
        What to wrap, as `tqdm.tqdm` takes it; or None to ``update`` the bar by hand.
    total : int, optional
        Number of items (the ETA needs it).
    desc : str
        What is being done, in words a person reads (e.g. ``"vetting Carbon Star (C-type)"``).
    unit : str
        Name of one item, shown in the rate (e.g. ``"spectrum"`` for ``spectrum/s``).
    show : bool
        False hides the bar even on a terminal.
    **options
        Further `tqdm.tqdm` arguments (``initial``, ...).

    Returns
    -------
    bar : `tqdm.tqdm`

    Examples
    --------
    >>> for item in progress_bar(range(3), desc="counting", unit="item"):
    ...     pass  # under doctest stderr is no terminal: nothing is printed
    >>> progress_bar(total=3, desc="counting", unit="item").disable
    True
    """
    return tqdm(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        disable=None if show else True,  # None: shown only when stderr is a terminal
        delay=DELAY_S,
        dynamic_ncols=True,
        **options,
    )
