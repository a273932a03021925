"""The scripted expert of a task declared in a task file: measure what it names, apply its rules.

A task file (:func:`~spec_o3.agent.load_task_file`) names the lines and bands that decide its
question; `DeclaredExpert` measures each of them with the built-in expert's tools and hands the
measurements, by name, to the task's `~spec_o3.agent.expert_rules.RuleTable`. Each measurement
``name`` gives these facts to the rules and evidence templates:

* an emission line: ``name_ew`` (Å, positive in emission), ``name_ew_err``, ``name_fwhm`` (Å),
  ``name_peak`` (peak height in noise units) and ``name_seen`` (a significant line of at least
  ``min_ew`` Å);
* an absorption line: ``name_ew`` (Å, positive in absorption), ``name_ew_err``, ``name_fwhm``,
  ``name_depth`` (core depth, 0-1), ``name_wing`` (depth 20-40 Å from the centre) and
  ``name_seen`` (EW above ``min_ew`` at 3 sigma);
* a molecular band: ``name_depth`` (``1 - F_band / F_continuum``), ``name_depth_err`` and
  ``name_seen`` (deeper than ``min_depth`` at 3 sigma);

and, for each, ``name_covered`` (the data reach it) and ``name`` (the measurement as text, e.g.
``"H alpha emission EW 32 ± 2 Å"``). Values that could not be measured are NaN, so comparisons with
them are false. Every task also has ``snr`` (median per pixel), ``colour`` (F4000-4500/F5500-6000,
above 1 for hot stars) and ``redshift``.
"""

from dataclasses import dataclass

import numpy as np

from spec_o3.catalog import get_band, rest_wavelengths

from .toolkit import (
    EMISSION_EW,
    EMISSION_PEAK,
    BandIndex,
    Line,
    Notebook,
    RestSpectrum,
    continuum_colour,
    decide,
    describe_colour,
    describe_overview,
    exceeds,
    make_measurement,
    window_for,
)

__all__ = ["DeclaredExpert", "DeclaredMeasurement"]

KINDS = ("emission", "absorption", "band")
#: Width (Å) of each continuum window beside a line, outside its ``width``.
_SIDE = 30.0
_COMMON_FACTS = ("snr", "colour", "redshift", "min_snr", "too_noisy")


@dataclass(frozen=True)
class DeclaredMeasurement:
    """One line or band a task file names, and what counts as seeing it.

    Parameters
    ----------
    name : str
        Identifier the rules use (``halpha`` gives ``halpha_ew``, ``halpha_seen``, ...).
    kind : {"emission", "absorption", "band"}
        How it is measured.
    feature : `~.toolkit.Line` or `~.toolkit.BandIndex`
        Where: a line with its continuum windows, or a band with its band and continuum windows.
    minimum : float
        ``min_ew`` (Å) for lines, ``min_depth`` for bands.
    """

    name: str
    kind: str
    feature: object
    minimum: float

    @property
    def span(self):
        """Rest-frame range (Å) the measurement uses."""
        if isinstance(self.feature, BandIndex):
            return self.feature.span
        return self.feature.left[0], self.feature.right[1]

    @classmethod
    def from_dict(cls, entry, where):
        """Build one from a task file's ``measure`` entry (see :doc:`/expert`)."""
        if not isinstance(entry, dict) or "name" not in entry:
            raise ValueError(f"{where}: each measurement needs a 'name'")
        name = str(entry["name"])
        where = f"{where}, measurement {name!r}"
        if not name.isidentifier():
            raise ValueError(f"{where}: the name must be a plain identifier such as 'halpha'")
        if "band" in entry:
            return cls(
                name, "band", _band(entry["band"], where), float(entry.get("min_depth", 0.05))
            )
        kind = entry.get("kind", "emission")
        if kind not in KINDS[:2]:
            raise ValueError(f"{where}: kind must be emission or absorption, not {kind!r}")
        centre = _centre(entry, where)
        width = float(entry.get("width", 40.0))
        left, right = entry.get("continuum") or (
            (centre - width - _SIDE, centre - width),
            (centre + width, centre + width + _SIDE),
        )
        line = Line(str(entry.get("line", name)), centre, tuple(left), tuple(right))
        return cls(name, kind, line, float(entry.get("min_ew", EMISSION_EW)))

    def facts(self, rest):
        """The named facts of this measurement on ``rest`` (NaN where it cannot be measured)."""
        n = self.name
        if self.kind == "band":
            result = self.feature.depth(rest)
            depth = (
                None if result is None else make_measurement(f"{self.feature.name} depth", *result)
            )
            return depth, {
                f"{n}_depth": _value(depth),
                f"{n}_depth_err": _error(depth),
                f"{n}_seen": exceeds(depth, self.minimum),
                f"{n}_covered": depth is not None,
                n: str(depth) if depth is not None else f"{self.feature.name} not covered",
            }
        measure = getattr(self.feature, self.kind)(rest)
        ew = None if measure is None else measure["ew"]
        facts = {
            f"{n}_ew": _value(ew),
            f"{n}_ew_err": _error(ew),
            f"{n}_fwhm": _value(measure and measure["fwhm"]),
            f"{n}_covered": measure is not None,
            n: str(ew) if ew is not None else f"{self.feature.name} not covered",
        }
        if self.kind == "emission":
            facts[f"{n}_peak"] = np.nan if measure is None else measure["peak"]
            facts[f"{n}_seen"] = exceeds(ew, self.minimum) and facts[f"{n}_peak"] > EMISSION_PEAK
        else:
            facts[f"{n}_depth"] = _value(measure and measure["core"])
            facts[f"{n}_wing"] = _value(measure and measure["wing"])
            facts[f"{n}_seen"] = exceeds(ew, self.minimum)
        return ew, facts

    @property
    def fact_names(self):
        """Names of the facts this measurement gives."""
        suffixes = {
            "band": ("depth", "depth_err"),
            "emission": ("ew", "ew_err", "fwhm", "peak"),
            "absorption": ("ew", "ew_err", "fwhm", "depth", "wing"),
        }[self.kind]
        return {self.name, f"{self.name}_seen", f"{self.name}_covered"} | {
            f"{self.name}_{suffix}" for suffix in suffixes
        }


def _centre(entry, where):
    if "wavelength" in entry:
        return float(entry["wavelength"])
    if "line" not in entry:
        raise ValueError(f"{where}: give 'line' (a catalogue name), 'wavelength' (Å) or 'band'")
    try:
        return float(rest_wavelengths([entry["line"]])[0])
    except ValueError:
        raise ValueError(
            f"{where}: line {entry['line']!r} is not in the line catalogue "
            "(spec_o3/data/lines.ecsv); give its rest 'wavelength' in Å instead"
        ) from None


def _band(name, where):
    try:
        row = get_band(name)
    except (KeyError, ValueError) as error:
        raise ValueError(f"{where}: {error}") from None
    edges = [
        (float(row[f"{side}_min"].to_value("AA")), float(row[f"{side}_max"].to_value("AA")))
        for side in ("band", "blue_continuum", "red_continuum")
    ]
    continua = tuple(edge for edge in edges[1:] if np.isfinite(edge).all())
    return BandIndex(str(name), edges[0], continua)


def _value(measurement):
    return np.nan if measurement is None else measurement.number


def _error(measurement):
    return np.nan if measurement is None else measurement.error


class DeclaredExpert:
    """The scripted expert of a declared task: measure the named features, then apply the rules.

    Parameters
    ----------
    task : `~spec_o3.tasks.Task`
        The task (its windows frame the measurements shown).
    measurements : sequence of `DeclaredMeasurement`
        What to measure.
    rules : `~spec_o3.agent.expert_rules.RuleTable`
        How to decide from the measurements.

    Raises
    ------
    ValueError
        If a rule's condition or evidence names a fact no measurement gives.
    """

    def __init__(self, task, measurements, rules):
        self.task, self.measurements, self.rules = task, tuple(measurements), rules
        known = set(_COMMON_FACTS).union(*(m.fact_names for m in self.measurements))
        unknown = sorted(rules.fact_names - known)
        if unknown:
            raise ValueError(
                f"{rules.source}: nothing measures {', '.join(unknown)}; the measurements give "
                f"{', '.join(sorted(known))}"
            )

    def __call__(self, spectrum, redshift=0.0):
        """The `~spec_o3.agent.expert_rules.Assessment` of ``spectrum`` for the task."""
        rest = RestSpectrum(spectrum, redshift)
        book = Notebook(self.task, rest)
        snr = rest.snr(*rest.full_range)
        colour = continuum_colour(rest)
        facts = {"snr": snr, "colour": np.nan if colour is None else colour, "redshift": redshift}
        for measurement in self.measurements:
            shown, found = measurement.facts(rest)
            facts |= found
            seen = found[f"{measurement.name}_seen"]
            lo, hi = measurement.span
            book.record(
                window_for(self.task, lo, hi, measurement.feature.name),
                [shown],
                [_note(measurement, shown, seen)] if shown is not None else [],
                key=seen,
            )
        overview = describe_overview(rest, snr, describe_colour(colour))
        return decide(book, self.rules, overview, facts, "this spectrum")


def _note(measurement, shown, seen):
    what = {"emission": "in emission", "absorption": "in absorption", "band": "present"}
    status = what[measurement.kind] if seen else f"not {what[measurement.kind]}"
    return f"{measurement.feature.name} {status} ({shown.short})"
