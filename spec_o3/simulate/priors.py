"""The simulator's priors as data: parameter distributions and line lists read from package tables.

What a simulated class looks like on average and how much it varies — subtype proportions,
temperature and gravity ranges, emission-line strengths and ratios — is not written in the code but
in ``spec_o3/data/simulate_priors.ecsv``, one row per (class, subtype, parameter) with the
distribution, its numbers and the ``reference`` they come from. Rest wavelengths come from the
shipped line catalogue (:func:`spec_o3.catalog.atomic_lines`) by line name
(`~spec_o3.catalog.rest_wavelengths`). See :doc:`/simulate`.
"""

from dataclasses import dataclass
from functools import cache

import numpy as np

from ..catalog import rest_wavelengths
from .tables import read_table

__all__ = [
    "Prior",
    "Priors",
    "prior_table",
    "observing_conditions",
    "quasar_lines",
]

#: Distributions a row may name, with the meaning of its ``a`` and ``b`` columns.
DISTRIBUTIONS = {
    "uniform": "uniform between a and b",
    "log_uniform": "uniform in log between a and b",
    "uniform_dex": "10**x with x uniform between a and b",
    "normal": "Gaussian of mean a and standard deviation b",
    "lognormal": "exp(x) with x Gaussian of mean a and standard deviation b",
    "integer": "integer uniform in [a, b)",
    "fixed": "the value a (draws nothing)",
    "probability": "true with probability a",
    "weight": "relative weight a of the row's subtype",
}
#: The ``subtype`` of rows that hold for every subtype of a class.
ALL_SUBTYPES = "all"


@cache
def prior_table():
    """The table of priors, read once (``spec_o3/data/simulate_priors.ecsv``).

    Returns
    -------
    table : `~astropy.table.Table`
        Columns ``class``, ``subtype``, ``parameter``, ``distribution``, ``a``, ``b``, ``min``,
        ``max`` (clipping bounds, masked where none), ``unit`` and ``reference``. Shared: do not
        modify it.

    Examples
    --------
    >>> table = prior_table()
    >>> row = table[(table["class"] == "white_dwarf") & (table["parameter"] == "subtype")][0]
    >>> print(row["subtype"], row["distribution"], row["a"])
    DA weight 0.45
    """
    table = read_table("simulate_priors.ecsv")
    unknown = set(table["distribution"]) - set(DISTRIBUTIONS)
    if unknown:
        raise ValueError(f"simulate_priors.ecsv: unknown distribution(s) {sorted(unknown)}")
    return table


def _number(value):
    return None if np.ma.is_masked(value) else float(value)


@dataclass(frozen=True)
class Prior:
    """One row of the prior table: a distribution, its parameters and optional clipping bounds.

    ``a`` and ``b`` mean what `DISTRIBUTIONS` says for the ``distribution``; ``low`` and ``high``
    clip a drawn value.
    """

    distribution: str
    a: float
    b: float | None = None
    low: float | None = None
    high: float | None = None

    def draw(self, rng):
        """A value from ``rng`` (nothing is drawn for ``fixed``)."""
        a, b = self.a, self.b
        if self.distribution == "fixed":
            return a
        if self.distribution == "probability":
            return bool(rng.uniform() < a)
        if self.distribution == "integer":
            return int(rng.integers(int(a), int(b)))
        if self.distribution == "weight":
            raise ValueError("a subtype weight is not drawn alone: use Priors.weights()")
        value = {
            "uniform": lambda: rng.uniform(a, b),
            "log_uniform": lambda: np.exp(rng.uniform(np.log(a), np.log(b))),
            "uniform_dex": lambda: 10 ** rng.uniform(a, b),
            "normal": lambda: rng.normal(a, b),
            "lognormal": lambda: rng.lognormal(a, b),
        }[self.distribution]()
        if self.low is not None or self.high is not None:
            value = np.clip(value, self.low, self.high)
        return float(value)

    @property
    def range(self):
        """``(a, b)``: the bounds of a uniform prior."""
        return self.a, self.b


@cache
def _class_rows(name):
    table = prior_table()
    rows = {}
    for row in table[table["class"] == name]:
        key = (str(row["subtype"]), str(row["parameter"]))
        rows[key] = Prior(
            str(row["distribution"]),
            float(row["a"]),
            _number(row["b"]),
            _number(row["min"]),
            _number(row["max"]),
        )
    if not rows:
        raise ValueError(f"simulate_priors.ecsv has no rows for class {name!r}")
    return rows


class Priors:
    """The priors of one simulated class, looked up by parameter name (and subtype).

    A parameter is looked for under the requested subtype first, then under every subtype
    (``"all"``).

    Parameters
    ----------
    name : str
        The class, as in the table's ``class`` column (e.g. ``"cataclysmic_variable"``).

    Examples
    --------
    >>> import numpy as np
    >>> cv = Priors("cataclysmic_variable")
    >>> cv.weights()["dwarf nova (quiescence)"]
    0.5
    >>> 30.0 <= cv.draw(np.random.default_rng(0), "H alpha EW", "dwarf nova (quiescence)") <= 250.0
    True
    """

    def __init__(self, name):
        self.name = name

    def get(self, parameter, subtype=None):
        """The `Prior` of ``parameter`` for ``subtype`` (or for every subtype)."""
        rows = _class_rows(self.name)
        for key in ((str(subtype), parameter), (ALL_SUBTYPES, parameter)):
            if key in rows:
                return rows[key]
        where = f" (subtype {subtype!r})" if subtype is not None else ""
        raise KeyError(f"no prior {parameter!r} for class {self.name!r}{where}")

    def has(self, parameter, subtype=None):
        """Whether the table has ``parameter`` for ``subtype`` (or for every subtype)."""
        rows = _class_rows(self.name)
        return (str(subtype), parameter) in rows or (ALL_SUBTYPES, parameter) in rows

    def draw(self, rng, parameter, subtype=None):
        """Draw ``parameter`` (a float; a bool for probabilities, an int for integers)."""
        return self.get(parameter, subtype).draw(rng)

    def value(self, parameter, subtype=None):
        """The ``a`` of a row: a ``fixed`` row's value, a ``probability`` row's probability."""
        return self.get(parameter, subtype).a

    def range(self, parameter, subtype=None):
        """``(low, high)`` of a uniform prior."""
        return self.get(parameter, subtype).range

    def weights(self, parameter="subtype"):
        """``{subtype: weight}`` of the rows of ``parameter`` with the ``weight`` distribution."""
        return {
            subtype: prior.a
            for (subtype, name), prior in _class_rows(self.name).items()
            if name == parameter and prior.distribution == "weight"
        }


def observing_conditions(name):
    """Keyword arguments of `~spec_o3.simulate.instrument.Conditions.draw` for class ``name``.

    Its ``"E(B-V)"`` range and ``"calibration error"``, where the table gives them.

    Examples
    --------
    >>> observing_conditions("white_dwarf")
    {'ebv': (0.0, 0.05)}
    """
    priors = Priors(name)
    conditions = {}
    if priors.has("E(B-V)"):
        conditions["ebv"] = priors.range("E(B-V)")
    if priors.has("calibration error"):
        conditions["calibration_error"] = priors.value("calibration error")
    return conditions


@cache
def quasar_lines():
    """Emission lines of the simulated quasars (``spec_o3/data/quasar_lines.ecsv``).

    Returns
    -------
    lines : tuple of (name, rest wavelength in Å, equivalent width in Å, relative FWHM)
        In the table's order; the relative FWHM is against the broad Balmer lines, 0 for narrow
        forbidden lines.

    Examples
    --------
    >>> name, rest, ew, fwhm = quasar_lines()[3]
    >>> name, rest, ew
    ('C IV', 1549.06, 24.0)
    """
    table = read_table("quasar_lines.ecsv")
    # Lines the catalogue lists (the optical ones) take its wavelength, by name.
    rest = np.ma.filled(table["rest_wavelength"].astype(float), np.nan)
    catalogued = np.isnan(rest)
    rest[catalogued] = rest_wavelengths(list(table["name"][catalogued]))
    return tuple(
        (
            str(row["name"]),
            float(wavelength),
            float(row["equivalent_width"]),
            float(row["relative_fwhm"]),
        )
        for row, wavelength in zip(table, rest, strict=True)
    )
