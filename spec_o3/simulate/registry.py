"""The registry of simulated object classes and which vetting task each is a positive for."""

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["SpectralClass", "CLASSES", "register_class", "get_class"]


@dataclass(frozen=True)
class SpectralClass:
    """A kind of object the simulator can produce.

    Parameters
    ----------
    name : str
        Identifier, e.g. ``"carbon_star"``.
    description : str
        One line for tables and docs.
    draw : callable
        ``draw(rng) -> dict`` of physical parameters, including ``subtype`` and ``redshift`` (1 + z
        is the Doppler factor of the whole model: radial velocity, gravitational or cosmological
        redshift). Classes with named subtypes accept ``draw(rng, subtype=name)``.
    render : callable
        ``render(grid, params) -> flux`` on the observed-frame `~spec_o3.simulate.grid.ModelGrid`; a
        pure function of ``params``.
    positive_for : str or None
        The task id for which this class is a YES (None for confusers).
    pipeline_class : str
        What a survey pipeline would call it: ``"STAR"``, ``"QSO"`` or ``"GALAXY"`` (written to
        files).
    conditions : dict
        Keyword arguments for `~spec_o3.simulate.instrument.Conditions.draw` (reddening range, ...).
    snr_range : tuple or None
        Fixed S/N range for classes defined by their noise (the low-S/N confuser), else None.
    optional : tuple of str
        Parameters ``render`` understands beyond those ``draw`` returns (e.g. ``molecule_scale``).
    """

    name: str
    description: str
    draw: Callable
    render: Callable
    positive_for: str | None = None
    pipeline_class: str = "STAR"
    conditions: dict = field(default_factory=dict)
    snr_range: tuple | None = None
    optional: tuple = ()


#: All registered classes by name.
CLASSES: dict[str, SpectralClass] = {}


def register_class(spectral_class, *, replace=False):
    """Add a class to `CLASSES` (``replace=True`` to redefine an existing name)."""
    if not isinstance(spectral_class, SpectralClass):
        raise TypeError(f"expected a SpectralClass, got {type(spectral_class).__name__}")
    if spectral_class.name in CLASSES and not replace:
        raise ValueError(f"simulated class {spectral_class.name!r} is already registered")
    CLASSES[spectral_class.name] = spectral_class
    return spectral_class


def get_class(name):
    """Return a registered `SpectralClass` by name, with a clear error listing the known ones."""
    try:
        return CLASSES[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(CLASSES))
        raise ValueError(f"unknown simulated class {name!r}; known classes: {known}") from None
