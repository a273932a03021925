"""The errors spec-o3 raises on purpose, for callers to catch by type."""

__all__ = ["UnvettableSpectrum"]


class UnvettableSpectrum(ValueError):
    """An input that cannot be vetted: the file cannot be read, or its data cannot be inspected.

    The message names the input (the file, or "the given Spectrum") and says what is wrong with it
    in words a user can act on. A spectrum that raises this gets no verdict anywhere:
    `spec_o3.agent.vet` raises it, and ``spec-o3 vet`` writes the row as *failed*, never as NO.

    Attributes
    ----------
    source : str
        How the input is named in the message: a file name or ``"the given Spectrum"``.
    problem : str
        What is wrong, without the name.

    Examples
    --------
    >>> error = UnvettableSpectrum("spec-55862.fits", "every flux value is NaN or infinite")
    >>> print(error)
    spec-55862.fits: every flux value is NaN or infinite
    >>> isinstance(error, ValueError)
    True
    """

    def __init__(self, source, problem):
        self.source = "the given Spectrum" if source is None else str(source)
        self.problem = str(problem)
        super().__init__(f"{self.source}: {self.problem}")

    def __reduce__(self):  # picklable across worker processes with its two arguments
        return type(self), (self.source, self.problem)
