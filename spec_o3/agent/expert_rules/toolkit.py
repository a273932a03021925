"""The scripted astronomer's toolkit: what every task's rules measure with, and how they conclude.

The per-task modules (and anyone writing an assess function for a task of their own, see
`~spec_o3.tasks.register_task`) build on these: `RestSpectrum` (the rest-frame reduction, shared
by the tasks assessed together), the band indices and band heads (`BandIndex`) and lines (`Line`)
with their measurements (`Measurement`), detection tests (`exceeds`, `is_present`,
`is_detected`), the `Notebook` that collects what was seen in each window, and `decide`, which
hands the named measurements to the task's rule table and writes the `Assessment`.
"""

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import lru_cache

import astropy.units as u
import numpy as np

from spec_o3.analysis.arrays import (
    noise_sigma,
    pixel_widths,
    spectrum_arrays,
    window_pixels,
    window_sums,
)
from spec_o3.analysis.bands import band_depths
from spec_o3.catalog import rest_wavelengths
from spec_o3.tasks import DiagnosticWindow

__all__ = [
    "MIN_SNR",
    "Measurement",
    "Observation",
    "Assessment",
    "RestSpectrum",
    "make_measurement",
    "joint_depth",
    "BandIndex",
    "Line",
    "Notebook",
    "TIO5",
    "CAH1",
    "CAH2",
    "CAH3",
    "NA8189",
    "C2_HEADS",
    "C2_6191",
    "TIO_HEADS",
    "ZRO_HEADS",
    "CN_HEADS",
    "HEAD_DETECTION",
    "ZRO_CONFIRMING_DEPTH",
    "H_ALPHA",
    "H_BETA",
    "H_GAMMA",
    "H_DELTA",
    "HE_I_4471",
    "HE_I_5876",
    "HE_I_6678",
    "HE_II_4686",
    "C_IV_5806",
    "O_III_5007",
    "H_BETA_EMISSION",
    "CV_LINES",
    "MG_B",
    "NA_D",
    "G_BAND",
    "CA_I_4227",
    "CA_II_K_BAND",
    "BANDS",
    "LINES",
    "TIO5_M_TYPE",
    "EMISSION_EW",
    "EMISSION_PEAK",
    "is_present",
    "is_detected",
    "exceeds",
    "measure_zro",
    "zro_confirmation",
    "with_zro_confirmation",
    "measure_c2",
    "measure_tio_not_c2",
    "head_depth",
    "index_value",
    "window_for",
    "head_window",
    "describe_overview",
    "continuum_colour",
    "describe_colour",
    "listed",
    "too_noisy_text",
    "decide",
    "region_snr",
    "c2_note",
    "record_c2_5165",
    "zro_note",
]

#: Conversion of the (air) wavelengths of the literature index definitions to vacuum at ~7000 Å.
_AIR_TO_VACUUM = 1.00028

#: Median S/N per pixel below which a window is too noisy to judge its features.
MIN_SNR = 5.0


class _cached:
    """`functools.cached_property` without its lock: Python 3.11's takes a lock on every first
    access, which costs more than most of the values cached here (measurement texts, pixel widths)
    take to compute. Two threads racing would only compute the same value twice."""

    def __init__(self, function):
        self.function, self.__doc__ = function, function.__doc__

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        # Stored in the instance's __dict__, which takes precedence from then on.
        value = instance.__dict__[self.name] = self.function(instance)
        return value


def _name_hash(self):
    """The ``__hash__`` of the frozen dataclasses of bands and lines: equal ones have equal names,
    whose hash the string keeps, where the dataclass's own hashes every field on every call (they
    key the measurements dozens of times a spectrum)."""
    return hash(self.name)


class Measurement:
    """One measured quantity, e.g. a band index or a line width.

    Parameters
    ----------
    name : str
        What was measured, e.g. ``"TiO5"`` or ``"H beta wing depth"``.
    value : `~astropy.units.Quantity`
        The value (dimensionless for indices and depths, Å for widths).
    uncertainty : `~astropy.units.Quantity`
        One-sigma uncertainty from the spectrum's noise, in a unit convertible to ``value``'s.

    Notes
    -----
    The expert makes about a hundred measurements per spectrum and reads most of them only as
    numbers, so a measurement keeps plain floats (``number`` and ``error``, in ``unit``) and builds
    the ``value`` and ``uncertainty`` Quantities when they are first asked for. Measurements are
    immutable.

    Examples
    --------
    >>> import astropy.units as u
    >>> print(Measurement("H beta emission EW", -0.3 * u.AA, 1.2 * u.AA))
    H beta emission EW 0 ± 1 Å
    >>> tio5 = Measurement("TiO5", 0.312 * u.one, 0.004 * u.one)
    >>> tio5.significance, tio5.number, tio5.value
    (78.0, 0.312, <Quantity 0.312>)
    """

    def __init__(self, name, value, uncertainty):
        value = u.Quantity(value)
        error = u.Quantity(uncertainty).to_value(value.unit)
        self.__dict__.update(
            name=name, number=float(value.value), error=float(error), unit=value.unit
        )

    @classmethod
    def _of(cls, name, number, error, unit):
        """The measurement of ``number`` ± ``error`` (floats) in ``unit``, without Quantities."""
        measurement = object.__new__(cls)
        measurement.__dict__.update(name=name, number=number, error=error, unit=unit)
        return measurement

    def __setattr__(self, name, value):
        raise AttributeError(f"a Measurement is immutable: cannot set {name!r}")

    @_cached
    def value(self):
        """The value, a `~astropy.units.Quantity`."""
        return u.Quantity(self.number, self.unit)

    @_cached
    def uncertainty(self):
        """The one-sigma uncertainty, a `~astropy.units.Quantity` in the unit of ``value``."""
        return u.Quantity(self.error, self.unit)

    def _key(self):
        return self.name, self.number, self.error, self.unit

    def __eq__(self, other):
        return self._key() == other._key() if isinstance(other, Measurement) else NotImplemented

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return (
            f"Measurement(name={self.name!r}, value={self.value!r}, "
            f"uncertainty={self.uncertainty!r})"
        )

    @_cached
    def short(self):
        """Value and uncertainty without the name, e.g. ``"0.31 ± 0.02"`` or ``"42 ± 2 Å"``."""
        unit = self.unit
        if unit is u.AA:
            return f"{_fixed(self.number, 0)} ± {self.error:.0f} Å"
        suffix = "" if unit is u.dimensionless_unscaled else f" {unit.to_string()}"
        digits = 3 if 0 < self.error < 0.005 else 2
        return f"{_fixed(self.number, digits)} ± {self.error:.{digits}f}{suffix}"

    def __str__(self):
        return f"{self.name} {self.short}"

    @property
    def significance(self):
        """Value over uncertainty (how many sigma the value is from zero)."""
        return self.number / self.error if self.error > 0 else float("inf")


def _fixed(value, digits):
    """``value`` to ``digits`` decimals, without the "-0" of a small negative number."""
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and not float(text) else text


@dataclass(frozen=True)
class Observation:
    """What the astronomer sees in one diagnostic window.

    Parameters
    ----------
    window : `~spec_o3.tasks.DiagnosticWindow`
        The rest-frame window to display (clipped to the data when the data cover it only in part).
    measurements : tuple of `Measurement`
        Quantities measured in that window.
    notes : tuple of str
        Sentences describing what the measurements show, citing the numbers.
    key : bool
        Whether the verdict rests on this window (other windows are routine checks).
    """

    window: DiagnosticWindow
    measurements: tuple = ()
    notes: tuple = ()
    key: bool = False


@dataclass(frozen=True)
class Assessment:
    """The expert's reading of one spectrum for one task.

    Parameters
    ----------
    task : str
        Task id.
    verdict : str
        ``"YES"`` or ``"NO"``.
    overview : str
        What the full spectrum shows at a glance (coverage, S/N, continuum).
    observations : tuple of `Observation`
        Windows to inspect, most diagnostic first.
    missing : tuple of str
        Labels of task windows that lie outside the data (said so, not inspected).
    conclusion : str
        The justification of the verdict, citing the decisive measurements.
    coverage : tuple of float
        Rest-frame wavelength range of the data (Å).
    rule : str
        Name of the rule of the task's rule table that decided (see
        `~spec_o3.agent.expert_rules.RuleTable`).
    margin : float
        How far the measurements were from the thresholds that decided (see
        `~spec_o3.agent.expert_rules.Decision`).
    snr : float
        Median S/N per pixel of the region the task is judged on.
    """

    task: str
    verdict: str
    overview: str
    observations: tuple
    missing: tuple
    conclusion: str
    coverage: tuple = (np.nan, np.nan)
    rule: str = ""
    margin: float = 1.0
    snr: float = np.nan

    @property
    def measurements(self):
        """All measurements by name, across the observations."""
        return {m.name: m for obs in self.observations for m in obs.measurements}


# --------------------------------------------------------------------------------------------------
# Reading the spectrum
# --------------------------------------------------------------------------------------------------


#: What `RestSpectrum.measured` holds for a feature not measured yet (None is a measurement).
_UNMEASURED = object()


class RestSpectrum:
    """Good pixels of a spectrum in the rest frame: wavelength (Å), flux and 1-sigma noise arrays.

    Built on the same reduction as the analysis tools (`~spec_o3.analysis` sees the same pixels and
    noise), once per spectrum: band depths are measured on the kept reduction with the arithmetic
    of `~spec_o3.analysis.band_strength`, without reducing the spectrum again for each band.
    ``arrays``, when given, is that reduction, ``spectrum_arrays(spectrum, redshift)``, made
    already (by the inspection tools).
    """

    def __new__(cls, spectrum, redshift, arrays=None):
        # A RestSpectrum passed again (one reduction shared by several tasks) is returned as is.
        if isinstance(spectrum, RestSpectrum):
            if spectrum.redshift != redshift:
                raise ValueError(
                    f"this spectrum was reduced at redshift {spectrum.redshift}, not {redshift}"
                )
            return spectrum
        return super().__new__(cls)

    def __init__(self, spectrum, redshift, arrays=None):
        if isinstance(spectrum, RestSpectrum):
            return
        self._measured = {}
        if arrays is None:
            arrays = spectrum_arrays(spectrum, redshift)
        sigma, _ = noise_sigma(arrays)
        # The spectrum's own uncertainty is finite and positive at its good pixels already; the
        # noise estimated without one is not everywhere.
        estimated = arrays.sigma is None
        good = arrays.good & np.isfinite(sigma) if estimated else arrays.good
        self.spectrum, self.redshift = spectrum, redshift
        self.arrays, self.arrays_sigma, self.arrays_good = arrays, sigma, good
        self.wave, self.flux, self.sigma = arrays.wavelength[good], arrays.flux[good], sigma[good]
        # Zero noise (a model spectrum, a flat segment) would give infinite significance: floor it
        # at the typical noise, or at S/N 1000 when the spectrum is noiseless.
        positive = self.sigma > 0 if estimated else None
        if estimated and not positive.all():
            typical = self.sigma[positive]
            floor = np.median(typical) if typical.size else 1e-3 * np.median(np.abs(self.flux))
            self.sigma = np.where(positive, self.sigma, floor if floor > 0 else 1.0)
        finite = arrays.wavelength[np.isfinite(arrays.wavelength)]
        if self.wave.size < 10 or finite.size < 10:
            raise ValueError(f"the spectrum has only {self.wave.size} usable pixels")
        self.full_range = (float(finite[0]), float(finite[-1]))
        # The full pixel grid, to count the pixels lost to masks and gaps.
        self._grid = finite

    def measured(self, key, measure):
        """``measure()``, computed once per reduction: tasks that share this reduction share the
        measurements of the features they have in common (``key`` names the feature)."""
        value = self._measured.get(key, _UNMEASURED)  # one hash of the key when it is known
        if value is _UNMEASURED:
            value = self._measured[key] = measure()
        return value

    def _slice(self, lo, hi):
        # Two scalar searches and Python ints: cheaper than one search of a pair and its unpacking.
        wave = self.wave
        return slice(int(wave.searchsorted(lo)), int(wave.searchsorted(hi)))

    def coverage(self, lo, hi):
        """Fraction of [lo, hi] covered by good pixels (0 to 1)."""
        # Not kept (`measured`): the tasks rarely ask twice for one range, and keeping a fraction
        # costs about what computing it does.
        first, last = int(self._grid.searchsorted(lo)), int(self._grid.searchsorted(hi))
        if last - first < 2:
            return 0.0
        inside = (min(hi, self.full_range[1]) - max(lo, self.full_range[0])) / (hi - lo)
        # The good pixels in [lo, hi) are the good ones of grid pixels first to last - 1.
        good = self._good_before
        return inside * (good.item(last) - good.item(first)) / (last - first)

    @_cached
    def _good_before(self):
        """How many good pixels come before each pixel of the grid, and in all."""
        return np.concatenate(
            ([0], self.arrays_good[np.isfinite(self.arrays.wavelength)].cumsum())
        )

    @_cached
    def _widths(self):
        """`~spec_o3.analysis.arrays.pixel_widths` of the good pixels (see `_profiles`)."""
        return pixel_widths(self.wave)

    def mean(self, lo, hi):
        """Mean flux in [lo, hi] and its uncertainty; (nan, nan) when fewer than 2 good pixels."""
        sl = self._slice(lo, hi)
        n = sl.stop - sl.start
        if n < 2:
            return np.nan, np.nan
        return float(_mean(self.flux[sl])), _quadrature(self.sigma[sl]) / n

    def snr(self, lo, hi):
        """Median S/N per pixel in [lo, hi] (0 where there are no data)."""
        return self.measured(("snr", lo, hi), lambda: self._snr(lo, hi))

    def _snr(self, lo, hi):
        sl = self._slice(lo, hi)
        if sl.stop - sl.start < 2:
            return 0.0
        return float(_median(self.flux[sl] / self.sigma[sl]))

    def window(self, lo, hi, pad=0.0):
        """Wavelength, flux and sigma arrays inside [lo - pad, hi + pad]."""
        sl = self._slice(lo - pad, hi + pad)
        return self.wave[sl], self.flux[sl], self.sigma[sl]


#: Most values whose median `_median` takes by sorting them (above, by partitioning them).
_SORTED_MEDIAN = 256


def _median(values):
    """``np.median`` of a 1-D array without NaN, without its generality (a partition about the
    two middle elements): the same number, at a fraction of the cost on the short windows the
    measurements take medians of, dozens of times per spectrum."""
    if values.size == 1:
        return values[0]
    middle = values.size // 2
    if values.size <= _SORTED_MEDIAN:  # sorting a copy in place beats a call of np.partition
        ordered = values.copy()
        ordered.sort()
    else:
        # Two pivots even for an odd count: NumPy selects one pivot several times slower on long
        # arrays.
        ordered = np.partition(values, (middle - 1, middle))
    upper = ordered[middle]
    return upper if values.size % 2 else (ordered[middle - 1] + upper) / 2.0


def _mean(values):
    """``np.mean`` of a 1-D float array, the same number without its dispatch overhead."""
    return np.add.reduce(values) / values.size


def _quadrature(values):
    """Square root of the sum of squares of a 1-D float array (the noise of a sum of pixels), as
    ``np.sqrt(np.sum(values**2))`` without its dispatch overhead."""
    return math.sqrt(np.add.reduce(values**2))


def make_measurement(name, value, error, unit=u.dimensionless_unscaled):
    """The `Measurement` ``name`` of ``value`` ± ``error`` (numbers) in ``unit``."""
    return Measurement._of(name, float(value), float(error), unit)


def joint_depth(name, depths):
    """The inverse-variance mean of band depths measured on one spectrum, a `Measurement` named
    ``name``.

    The heads of one band system darken together, so at low S/N their mean is known better than
    any single head: ``n`` heads of equal noise average it down by sqrt(n).

    Examples
    --------
    >>> import astropy.units as u
    >>> heads = [Measurement(f"C2 {w} head depth", d * u.one, 0.08 * u.one)
    ...          for w, d in ((4737, 0.30), (5165, 0.35), (5636, 0.25))]
    >>> print(joint_depth("C2 Swan mean head depth", heads))
    C2 Swan mean head depth 0.30 ± 0.05
    """
    exact = [m.number for m in depths if m.error <= 0]
    if exact:  # noiseless measurements (model spectra) outweigh any noisy one
        return make_measurement(name, sum(exact) / len(exact), 0.0)
    # In plain floats: NumPy's calls cost more than the arithmetic on a handful of numbers (and
    # add them in the same order below eight terms).
    weights = [m.error**-2.0 for m in depths]
    total = sum(weights)
    mean = sum(w * m.number for w, m in zip(weights, depths, strict=True)) / total
    return make_measurement(name, mean, total**-0.5)


# --------------------------------------------------------------------------------------------------
# Features
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BandIndex:
    """A band index: a band window and one or two continuum windows (vacuum Å).

    Measured as `~spec_o3.analysis.band_strength` measures (the depth ``1 - <F_band> / F_cont``, the
    continuum interpolated between two windows or flat from one); the ``air`` constructor converts
    the air wavelengths of literature definitions.
    """

    name: str
    band: tuple
    continua: tuple

    __hash__ = _name_hash

    @classmethod
    def air(cls, name, band, *continua):
        def convert(window):
            return window[0] * _AIR_TO_VACUUM, window[1] * _AIR_TO_VACUUM

        return cls(name, convert(band), tuple(convert(c) for c in continua))

    @property
    def span(self):
        edges = [self.band[0], self.band[1], *(e for c in self.continua for e in c)]
        return min(edges), max(edges)

    @_cached
    def windows(self):
        """``{"band" / "blue continuum" / "red continuum": (lo, hi)}``, as
        ``spec_o3.analysis.bands.band_windows`` gives a catalogue band's."""
        windows = {"band": self.band}
        for lo, hi in self.continua:
            windows["blue continuum" if hi <= self.band[0] else "red continuum"] = (lo, hi)
        return windows

    def depth(self, rest):
        """Band depth and its uncertainty (as `~spec_o3.analysis.band_strength` measures them),
        or None when a window has no valid data.

        The expert's own bands (``BANDS``) are all measured in one pass at the first request,
        any other band on its own.
        """
        position = _BAND_POSITION.get(self)
        if position is None:
            return rest.measured(self, lambda: _depths(rest, (self,))[0])
        return rest.measured("band depths", lambda: _depths(rest, BANDS))[position]


def _depths(rest, bands):
    """The depth and its uncertainty of each of ``bands`` on ``rest`` (None where not measured)."""
    measured = band_depths(
        rest.arrays, rest.arrays_sigma, rest.arrays_good, [band.windows for band in bands]
    )
    return [None if isinstance(m, str) else (m[0], math.sqrt(m[1])) for m in measured]


# Reid, Hawley & Gizis (1995) indices and the Na I 8189 index of Slesnick et al. (2006), defined
# in air wavelengths.
TIO5 = BandIndex.air("TiO5", (7126, 7135), (7042, 7046))
CAH1 = BandIndex.air("CaH1", (6380, 6390), (6345, 6355), (6410, 6420))
CAH2 = BandIndex.air("CaH2", (6814, 6846), (7042, 7046))
CAH3 = BandIndex.air("CaH3", (6960, 6990), (7042, 7046))
NA8189 = BandIndex.air("Na I 8189", (8174, 8204), (8135, 8165))

# Band-head jumps: absorbing side of a head vs the clear side (vacuum, adjacent 15-30 Å windows).
C2_HEADS = (
    BandIndex("C2 4737 head", (4705, 4735), ((4741, 4756),)),
    # The clear side skips the Mg b triplet (5168-5185 Å), which would fake a continuum drop.
    BandIndex("C2 5165 head", (5130, 5163), ((5187, 5202),)),
    BandIndex("C2 5636 head", (5600, 5633), ((5641, 5656),)),
)
#: The C2 Swan (0,2) head at 6192.9 Å (blue-degraded) shares the TiO 6159 window: C2 darkens the
#: flux blueward of 6193 Å, whereas the red-degraded TiO (2,1) head at 6188.7 Å darkens it redward,
#: so the step across 6193 Å tells the two molecules apart.
C2_6191 = BandIndex("C2 6191 head", (6172, 6191), ((6194, 6206),))
TIO_HEADS = (
    BandIndex("TiO 6159 head", (6162, 6185), ((6140, 6156),)),
    BandIndex("TiO 7054 head", (7059, 7080), ((7040, 7053),)),
)
ZRO_HEADS = (
    BandIndex("ZrO 6474 head", (6478, 6500), ((6455, 6471),)),
    BandIndex("ZrO 5551 head", (5556, 5580), ((5532, 5549),)),
    BandIndex("ZrO 6345 head", (6350, 6370), ((6328, 6343),)),
)
CN_HEADS = (
    BandIndex("CN 7088 head", (7092, 7120), ((7065, 7086),)),
    BandIndex("CN 7945 head", (7950, 7990), ((7915, 7940),)),
)

#: Head depth (1 - absorbing/clear flux) above which a band counts as present, set above the largest
#: values in stars without the molecule (MILES/STELIB at R~1800, S/N 30): C2 4737 reaches 0.21 in
#: K/M supergiants (0.3 with TiO), C2 5165 0.13 in K giants (metal lines and MgH blueward of the
#: head), C2 5636 0.07 (no false carbon star among 4236 library spectra at S/N 8 and 15); TiO heads
#: are ~0.05 at K5 III and >= 0.1 from M0; ZrO 6474 reaches 0.17 and ZrO 5551 0.05 through TiO
#: blends in M giants, against >= 0.23 and >= 0.09 in MS/S stars; CN 7088 reaches 0.2 in M giants
#: (TiO) but 0.1 in K giants.
HEAD_DETECTION = {
    "C2 4737 head": 0.20,
    "C2 5165 head": 0.15,
    "C2 5636 head": 0.10,
    "C2 6191 head": 0.10,
    "TiO 6159 head": 0.08,
    "TiO 7054 head": 0.08,
    "ZrO 6474 head": 0.20,
    "ZrO 5551 head": 0.07,
    "ZrO 6345 head": 0.11,
    "CN 7088 head": 0.15,
    "CN 7945 head": 0.15,
}


def is_present(measurement):
    """True when a head depth exceeds its detection threshold at 3 sigma."""
    return exceeds(measurement, HEAD_DETECTION[measurement.name.removesuffix(" depth")])


#: The inverse-variance mean depth of the ZrO 5551 and 6345 heads that confirms a seen 6474 head
#: (at 3 sigma) when neither reaches its own detection limit: MILES MS/S stars 0.11-0.17, normal
#: M giants and supergiants <= 0.06 (at S/N ~5 each head alone is seen about one time in two).
ZRO_CONFIRMING_DEPTH = 0.08


def measure_zro(rest):
    """ZrO head depths, those detected (tuples), and whether they make an S star.

    An S star needs ZrO 6474 (the band S stars are classified on; Stephenson 1984) and a second
    head, or the 5551 and 6345 heads together (`zro_confirmation`), or two heads when 6474 is not
    covered. Measured once per reduction.
    """
    return rest.measured("ZrO heads", lambda: _zro(rest))


def _zro(rest):
    depths = tuple(m for m in (head_depth(h, rest) for h in ZRO_HEADS) if m is not None)
    seen = tuple(m for m in depths if is_present(m))
    primary = next((m for m in depths if m.name.startswith("ZrO 6474")), None)
    if primary is None:
        return depths, seen, len(seen) >= 2
    return depths, seen, primary in seen and (len(seen) >= 2 or zro_confirmation(rest) is not None)


def zro_confirmation(rest):
    """The joint depth (`joint_depth`) of the ZrO 5551 and 6345 heads when it confirms ZrO 6474
    (beyond `ZRO_CONFIRMING_DEPTH` at 3 sigma), else None.

    Where TiO is weak, CN-strong K giants fake the 6345 head (CN 6360): trust it in M-type
    spectra only. Measured once per reduction.
    """
    return rest.measured("ZrO confirmation", lambda: _zro_confirmation(rest))


def with_zro_confirmation(seen, confirmation):
    """The ZrO heads ``seen``, and the joint depth ``confirmation`` (`zro_confirmation`) where it
    stands in for a second head: what an S-type verdict rests on."""
    return seen if len(seen) >= 2 or confirmation is None else (*seen, confirmation)


def _zro_confirmation(rest):
    heads = [head_depth(h, rest) for h in ZRO_HEADS if not h.name.startswith("ZrO 6474")]
    if any(head is None for head in heads):
        return None
    joint = joint_depth("ZrO 5551+6345 mean head depth", heads)
    return joint if exceeds(joint, ZRO_CONFIRMING_DEPTH) else None


def measure_c2(rest):
    """C2 Swan head depths, those detected (tuples), and whether they make a carbon star.

    A carbon star needs two heads, one of them 5165 or 5636 (the 4737 head is prone to blue-end
    noise and MgH). Measured once per reduction.
    """
    return rest.measured("C2 heads", lambda: _c2(rest))


def _c2(rest):
    depths = tuple(m for m in (head_depth(h, rest) for h in C2_HEADS) if m is not None)
    seen = tuple(m for m in depths if is_present(m))
    clean = [m for m in seen if not m.name.startswith("C2 4737")]
    return depths, seen, len(seen) >= 2 and bool(clean)


def measure_tio_not_c2(rest):
    """TiO head depths and those detected (tuples), the 6159 head discounted where C2 6191
    explains it.

    A blue-degraded step at the C2 6191 head means the depth in the TiO 6159 window is C2 Swan
    (Δv = -2) absorption, so that head is no evidence of TiO. Measured once per reduction.
    """
    return rest.measured("TiO heads", lambda: _tio_not_c2(rest))


def _tio_not_c2(rest):
    tio = tuple(m for m in (head_depth(h, rest) for h in TIO_HEADS) if m is not None)
    c2_6191 = head_depth(C2_6191, rest)
    c2_red = c2_6191 is not None and is_present(c2_6191)
    seen = tuple(m for m in tio if is_present(m) and not (c2_red and m.name.startswith("TiO 6159")))
    return tio, seen


def head_depth(index, rest):
    """`Measurement` of a band depth (1 - index ratio), or None without data."""
    return rest.measured(("head depth", index), lambda: _head_depth(index, rest))


def _head_depth(index, rest):
    result = index.depth(rest)
    return None if result is None else make_measurement(f"{index.name} depth", *result)


def index_value(index, rest):
    """`Measurement` of the index ratio itself (as the literature quotes it), or None."""
    return rest.measured(("index value", index), lambda: _index_value(index, rest))


def _index_value(index, rest):
    result = index.depth(rest)
    return None if result is None else make_measurement(index.name, 1 - result[0], result[1])


def _side_means(rest, lines):
    """Each line's side windows: their mean wavelength, mean flux and its error, or None for a line
    with fewer than 3 pixels in a side window or a side not above zero.

    All side windows are summed in one pass (`~spec_o3.analysis.arrays.window_sums`), in another
    order than the sum of each window alone, so a mean may differ from that sum's in its last bit.
    """
    bounds = _side_bounds(lines)
    pixel, offset, size = window_pixels(rest.wave, bounds[:, 0], bounds[:, 1])
    wave, flux, sigma = window_sums(
        np.array([rest.wave[pixel], rest.flux[pixel], rest.sigma[pixel] ** 2]), offset, size
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        means = np.column_stack((wave / size, flux / size, np.sqrt(sigma) / size)).tolist()
    sides = []
    for (n_left, n_right), left, right in zip(
        size.reshape(-1, 2).tolist(), means[::2], means[1::2], strict=True
    ):
        measured = n_left >= 3 and n_right >= 3 and left[1] > 0 and right[1] > 0
        sides.append((left, right) if measured else None)
    return sides


def _profiles(rest, lines):
    """Each line's pixels between its side windows in units of the straight continuum through
    the side windows' means (a `_LineProfile`), or None for a line with fewer than 10 pixels from
    its left side's start to its right side's end, less than 70 % of the data between its sides,
    a side not measured (`_side_means`) or fewer than 2 pixels between its sides.

    All lines' pixels are normalised in one pass, each pixel with its own line's arithmetic (the
    numbers of each line normalised alone, to the last bit); each profile views its run of them.
    """
    wave, edges = rest.wave, _line_edges(lines)
    # Each line's window, from its left side's start to before its right side's end (as
    # `RestSpectrum.window`), and its middle, strictly between its sides.
    (start, first), (last, stop) = (
        wave.searchsorted(edges[:, :2], "left").T,
        wave.searchsorted(edges[:, 2:], "right").T,
    )
    sides = _side_means(rest, lines)
    kept = [
        position
        for position, (line, n, n_middle) in enumerate(
            zip(lines, (stop - start).tolist(), (last - first).tolist(), strict=True)
        )
        if n >= 10
        and rest.coverage(line.left[1], line.right[0]) >= 0.7
        and sides[position] is not None
        and n_middle >= 2
    ]
    profiles = [None] * len(lines)
    if not kept:
        return profiles
    (x1, y1, e1), (x2, y2, e2) = np.array([sides[p] for p in kept]).transpose(1, 2, 0)
    start, stop = start[kept], stop[kept]
    pixel, offset, size = window_pixels(wave, edges[kept, 1], edges[kept, 2])

    def continuum(x, repeats=None):
        """The straight continuum of each line at ``x``: a value per line, or ``repeats`` each."""
        a, b, c, d = (v if repeats is None else v.repeat(repeats) for v in (y1, y2, x1, x2))
        return a + (b - a) * (x - c) / (d - c)

    # A straight line is monotonic (its rounding too): its median over a line's window is its
    # value at the middle pixel, or the mean of its values at the two middle pixels.
    middle = (start + stop) // 2
    at_middle = continuum(wave[middle])
    typical = np.where((stop - start) % 2, at_middle, (continuum(wave[middle - 1]) + at_middle) / 2)
    wave = wave[pixel]
    level = continuum(wave, size)
    normalized = rest.flux[pixel] / level
    # The continuum's own uncertainty adds to every pixel, so fold it in once.
    noise = np.hypot(rest.sigma[pixel] / level, (np.maximum(e1, e2) / typical).repeat(size))
    # Pixel widths from the neighbours (`pixel_widths`), one-sided at each middle's edge pixels.
    step = rest._widths[pixel]
    heads, tails = offset, offset + size - 1
    step[heads] = wave[heads + 1] - wave[heads]
    step[tails] = wave[tails] - wave[tails - 1]
    for position, lo, hi in zip(kept, heads.tolist(), (tails + 1).tolist(), strict=True):
        profiles[position] = _LineProfile(
            wave[lo:hi], normalized[lo:hi], noise[lo:hi], lines[position].center, step[lo:hi]
        )
    return profiles


@lru_cache(maxsize=64)
def _side_bounds(lines):
    """The side windows of ``lines``, [lo, hi] a row, the left and right of each line in turn."""
    bounds = np.array([side for line in lines for side in (line.left, line.right)], float)
    # A line's pixels end before its right edge (`RestSpectrum.window`): the right side window
    # leaves out a pixel that falls exactly on it (library grids of whole 0.9 Å steps do).
    bounds[1::2, 1] = np.nextafter(bounds[1::2, 1], -np.inf)
    bounds.flags.writeable = False  # kept for every spectrum
    return bounds


@lru_cache(maxsize=64)
def _line_edges(lines):
    """The edges of ``lines``' windows, a row per line, for searches of the pixels of [lo, hi]
    (`window_pixels`): its left side's start, the number above its left side's end, the number
    below its right side's start and the number below its right side's end."""
    edges = np.array([(*line.left, *line.right) for line in lines], float)
    edges[:, 1] = np.nextafter(edges[:, 1], np.inf)
    edges[:, 2:] = np.nextafter(edges[:, 2:], -np.inf)
    edges.flags.writeable = False  # kept for every spectrum
    return edges


#: The 3-pixel boxcar that smooths a line profile before its peak and width are read.
_BOXCAR = np.ones(3) / 3


class _LineProfile:
    """A line's pixels between its side windows in units of the local continuum, with their noise,
    offsets from the line centre (Å) and pixel widths: what the line measurements read."""

    def __init__(self, wave, normalized, noise, center, step=None):
        self.wave, self.normalized, self.noise = wave, normalized, noise
        self.offset = wave - center
        self.step = pixel_widths(wave) if step is None else step  # given: `_profiles`

    @_cached
    def step_error(self):
        """Uncertainty of a width read off the profile (Å): two typical pixels."""
        return 2 * _median(self.step)

    @_cached
    def ew_error(self):
        """Uncertainty of an equivalent width over the whole profile (Å)."""
        return _quadrature(self.noise * self.step)

    @_cached
    def _running(self):
        """The offsets as a list (for `bisect`) and the running sums of the normalised flux and of
        the noise squared: a mean over any pixels is then a few look-ups (`_run_sum`). The sums
        stay arrays: a mean reads four of their few hundred values, not worth a list of them."""
        return self.offset.tolist(), self.normalized.cumsum(), (self.noise**2).cumsum()

    def within(self, half_width):
        """Slice of the pixels with |offset| < ``half_width`` (the offsets are sorted)."""
        offset = self.offset
        return slice(
            int(offset.searchsorted(-half_width, "right")), int(offset.searchsorted(half_width))
        )

    def mean(self, lo, hi):
        """Mean normalised flux where lo <= |offset| <= hi, with its error; nan without pixels.

        The pixels are one run about the centre, or one run each side of it (the offsets are
        sorted), summed as differences of running sums: the plain sums of those pixels to
        rounding (a profile holds at most a few hundred pixels of flux near 1), not to the bit.
        """
        offsets, flux, noise = self._running
        if lo <= 0:
            first, last = bisect_left(offsets, -hi), bisect_right(offsets, hi)
            n = last - first
            if n < 2:
                return np.nan, np.nan
            return _run_sum(flux, first, last) / n, math.sqrt(_run_sum(noise, first, last)) / n
        # The blue run, then the red one; a run that holds no pixel adds nothing.
        first, last = bisect_left(offsets, -hi), bisect_right(offsets, -lo)
        blue = last - first if last > first else 0
        total = _run_sum(flux, first, last) if blue else 0.0
        variance = _run_sum(noise, first, last) if blue else 0.0
        first, last = bisect_left(offsets, lo), bisect_right(offsets, hi)
        n = blue + (last - first if last > first else 0)
        if n < 2:
            return np.nan, np.nan
        if n > blue:
            total += _run_sum(flux, first, last)
            variance += _run_sum(noise, first, last)
        return total / n, math.sqrt(variance) / n


def _run_sum(running, first, last):
    """The sum of pixels ``first`` to ``last - 1`` from their running sum ``running`` (a float
    array): the difference of two of its values, as Python floats."""
    return running.item(last - 1) - (running.item(first - 1) if first else 0.0)


#: Pixels in a row below half the peak that end a line's half width: a single noise dip inside a
#: broad, shallow line does not (at S/N ~10 one does in most broad white-dwarf lines).
_HALF_WIDTH_RUN = 3


#: Beyond the profile's ends every pixel counts as below half the peak (a side ends there).
_BELOW_PAD = b"\x01" * (_HALF_WIDTH_RUN - 1)
_BELOW_RUN = b"\x01" * _HALF_WIDTH_RUN


def _half_width(wave, excess, peak_index):
    """Full width of ``excess`` (positive bump) at half its value at ``peak_index``, in Å: each side
    ends at the first of `_HALF_WIDTH_RUN` pixels in a row at or below half the peak."""
    # The runs are found as byte strings in the flags (one byte each), not pixel by pixel in a
    # loop of slices: the red side ends where the first run from the peak outwards starts, the
    # blue side where the last run before the peak ends (the padding is the profile's ends).
    pad = _HALF_WIDTH_RUN - 1
    below = _BELOW_PAD + (excess <= excess[peak_index] / 2).tobytes() + _BELOW_PAD
    hi = below.find(_BELOW_RUN, peak_index + pad) - pad
    lo = below.rfind(_BELOW_RUN, 0, peak_index + _HALF_WIDTH_RUN)
    return float(wave[hi if hi >= 0 else excess.size - 1] - wave[max(lo, 0)])


@dataclass(frozen=True)
class Line:
    """A spectral line measured against a straight local continuum from two side windows."""

    name: str
    center: float
    left: tuple
    right: tuple

    __hash__ = _name_hash

    @classmethod
    def named(cls, name, left, right):
        """The catalogue line ``name`` (its rest vacuum wavelength from
        `~spec_o3.catalog.rest_wavelengths`) with side windows ``left`` and ``right`` (Å)."""
        return cls(name, float(rest_wavelengths([name])[0]), left, right)

    def _normalized(self, rest):
        """The line's `_LineProfile` on ``rest``, or None where the data do not cover it.

        The expert's own lines (``LINES``) are all normalised in one pass at the first request,
        any other line on its own.
        """
        position = _LINE_POSITION.get(self)
        if position is None:
            return rest.measured(self, lambda: _profiles(rest, (self,))[0])
        return rest.measured("line profiles", lambda: _profiles(rest, LINES))[position]

    def absorption(self, rest):
        """Balmer-style absorption profile: core depth, wing depth (20-40 Å out), FWHM and EW."""
        return rest.measured(("absorption", self), lambda: self._absorption(rest))

    def _absorption(self, rest):
        profile = self._normalized(rest)
        if profile is None:
            return None
        core, core_err = profile.mean(0, 4)
        wing, wing_err = profile.mean(20, 40)
        if not (math.isfinite(core) and math.isfinite(wing)):
            return None
        depth = 1 - profile.normalized
        smooth = np.convolve(depth, _BOXCAR, mode="same")
        near = profile.within(15)
        peak = near.start + int(smooth[near].argmax()) if near.stop > near.start else None
        wave = profile.wave
        fwhm = _half_width(wave, smooth, peak) if peak is not None and smooth[peak] > 0 else 0.0
        step = profile.step
        ew = float(np.add.reduce(depth * step))
        return {
            "core": make_measurement(f"{self.name} core depth", 1 - core, core_err),
            "wing": make_measurement(f"{self.name} wing depth", 1 - wing, wing_err),
            "fwhm": make_measurement(f"{self.name} FWHM", fwhm, profile.step_error, u.AA),
            "ew": make_measurement(f"{self.name} EW", ew, profile.ew_error, u.AA),
        }

    def excess(self, rest, inner, outer=None, label="excess"):
        """`Measurement` of the mean flux at offsets ``inner`` (lo, hi Å from the centre, both
        sides) above the mean at offsets ``outer``, or above the continuum when ``outer`` is None;
        in units of the continuum, or None without pixels.

        An emission core filling an absorption trough is ``excess(rest, (0, core), flanks)``.
        """
        key = ("excess", self, inner, outer, label)
        return rest.measured(key, lambda: self._excess(rest, inner, outer, label))

    def _excess(self, rest, inner, outer, label):
        profile = self._normalized(rest)
        if profile is None:
            return None
        level, error = profile.mean(*inner)
        base, base_error = (1.0, 0.0) if outer is None else profile.mean(*outer)
        if not math.isfinite(level + base):
            return None
        return make_measurement(f"{self.name} {label}", level - base, np.hypot(error, base_error))

    def emission(self, rest):
        """Emission: EW of the excess (positive for emission), FWHM and peak significance."""
        return rest.measured(("emission", self), lambda: self._emission(rest))

    def _emission(self, rest):
        profile = self._normalized(rest)
        if profile is None:
            return None
        near = profile.within(max(6.0, 0.1 * (self.right[0] - self.left[1])))
        if near.stop <= near.start:
            return None
        step = profile.step
        excess = profile.normalized - 1
        ew = float(np.add.reduce(excess * step))
        smooth = np.convolve(excess, _BOXCAR, mode="same")
        peak = near.start + int(smooth[near].argmax())
        fwhm = _half_width(profile.wave, smooth, peak) if smooth[peak] > 0 else 0.0
        return {
            "ew": make_measurement(f"{self.name} emission EW", ew, profile.ew_error, u.AA),
            "fwhm": make_measurement(f"{self.name} emission FWHM", fwhm, profile.step_error, u.AA),
            "peak": float(smooth[peak] / _mean(profile.noise[near])),
        }


# Rest vacuum wavelengths from the line catalogue; side windows avoid neighbouring strong lines.
H_ALPHA = Line.named("H alpha", (6470, 6510), (6620, 6660))
H_BETA = Line.named("H beta", (4700, 4740), (4990, 5030))
H_GAMMA = Line.named("H gamma", (4230, 4260), (4430, 4460))
H_DELTA = Line.named("H delta", (4020, 4040), (4175, 4200))
HE_I_4471 = Line.named("He I 4471", (4430, 4450), (4500, 4520))
HE_I_5876 = Line.named("He I 5876", (5820, 5845), (5910, 5935))
HE_I_6678 = Line.named("He I 6678", (6640, 6660), (6700, 6720))
HE_II_4686 = Line.named("He II 4686", (4600, 4625), (4740, 4760))
# The C IV 5801/5812 doublet of WC stars, measured as one blend about its centre.
C_IV_5806 = Line("C IV 5806", 5807.0, (5740, 5765), (5840, 5855))
O_III_5007 = Line.named("[O III] 5007", (4975, 4990), (5025, 5045))
# Emission needs side windows clear of [O III] and of the broad wings of disc lines.
H_BETA_EMISSION = Line.named("H beta", (4770, 4800), (4925, 4945))
CV_LINES = (H_ALPHA, H_BETA_EMISSION, HE_I_5876, HE_I_6678, HE_II_4686, O_III_5007, C_IV_5806)
#: The lines of the expert's tasks, whose side windows are measured together (`Line`).
LINES = (*CV_LINES, H_BETA, H_GAMMA, H_DELTA, HE_I_4471)
_LINE_POSITION = {line: position for position, line in enumerate(LINES)}
MG_B = BandIndex("Mg b", (5165, 5195), ((5145, 5160), (5200, 5215)))
NA_D = BandIndex("Na D", (5888, 5900), ((5870, 5882), (5905, 5915)))

#: Metal indices of ordinary stars: the Lick G4300 (CH G band) and Ca4227 windows (Worthey et al.
#: 1994) and a Ca II K band (with Mg b and Na D, the white dwarfs' ``absent_*`` features).
G_BAND = BandIndex.air("G band", (4281.4, 4316.4), (4266.4, 4282.6), (4318.9, 4335.1))
CA_I_4227 = BandIndex.air("Ca I 4227", (4222.3, 4234.8), (4211.0, 4219.8), (4241.0, 4251.0))
CA_II_K_BAND = BandIndex("Ca II K", (3924, 3944), ((3900, 3915), (4010, 4030)))


#: The bands of the expert's tasks, measured together (`BandIndex.depth`): the five tasks measure
#: nearly all of them, and one pass over all their windows costs about what one band costs alone.
BANDS = (
    TIO5,
    CAH1,
    CAH2,
    CAH3,
    NA8189,
    *C2_HEADS,
    C2_6191,
    *TIO_HEADS,
    *ZRO_HEADS,
    *CN_HEADS,
    MG_B,
    NA_D,
    G_BAND,
    CA_I_4227,
    CA_II_K_BAND,
)
_BAND_POSITION = {band: position for position, band in enumerate(BANDS)}


# --------------------------------------------------------------------------------------------------
# Shared helpers for the assessors
# --------------------------------------------------------------------------------------------------


def window_for(task, lo, hi, label, pad=60.0):
    """The task window sharing most of [lo, hi]; without one, a new window labelled ``label``."""
    # Tasks are immutable and the expert asks for the same few dozen ranges for every spectrum.
    # Keyed by the task's id (hashing a task hashes all its fields, ~7 us): each entry keeps its
    # task alive, so no other task can take that id while the entry exists.
    key = (id(task), lo, hi, label, pad)
    found = _WINDOWS_FOR.get(key)
    if found is None:
        if len(_WINDOWS_FOR) >= 4096:
            _WINDOWS_FOR.clear()
        found = _WINDOWS_FOR[key] = (task, _best_window(task, lo, hi, label, pad))
    return found[1]


_WINDOWS_FOR = {}


def _best_window(task, lo, hi, label, pad):
    best, overlap = None, 0.0
    for window in task.windows:
        lower, upper = window.bounds
        # min(hi, upper) - max(lo, lower), without two builtin calls per window per record
        shared = (hi if hi < upper else upper) - (lo if lo > lower else lower)
        if shared > overlap:
            best, overlap = window, shared
    if best is None:
        best = _window(label, lo - pad, hi + pad)
    return best


@lru_cache(maxsize=1024)
def _window(label, lo, hi):
    """The window ``label`` over [lo, hi] Å; windows are immutable, so one is made per range."""
    return DiagnosticWindow(label, lo * u.AA, hi * u.AA)


def _clip(window, rest):
    """The window clipped to the data, or None when the data do not reach it."""
    return rest.measured(("clip", window.label, window.bounds), lambda: _clipped(window, rest))


def _clipped(window, rest):
    lower, upper = window.bounds
    lo, hi = max(lower, rest.full_range[0]), min(upper, rest.full_range[1])
    if hi - lo < 0.2 * (upper - lower) or rest.coverage(lo, hi) < 0.3:
        return None
    if (lo, hi) == (lower, upper):
        return window
    return _window(window.label, lo, hi)


class Notebook:
    """Collects measurements and notes per window, in the order they are made."""

    def __init__(self, task, rest):
        self.task, self.rest = task, rest
        self._entries = {}

    def record(self, window, measurements=(), notes=(), *, key=False):
        """Note what was measured in ``window``; ``key``: the verdict rests on it."""
        clipped = _clip(window, self.rest)
        if clipped is None:
            return
        entry = self._entries.setdefault(window.label, [clipped, [], [], False])
        entry[1].extend(m for m in measurements if m is not None)
        entry[2].extend(notes)
        entry[3] = entry[3] or key

    def conclude(self, verdict, overview, conclusion, decision=None, snr=np.nan):
        """The `Assessment` built from what was recorded; ``decision``: the rule table's."""
        observations = tuple(
            Observation(window, tuple(found), tuple(notes), key)
            for window, found, notes, key in self._entries.values()
            if found or notes
        )
        missing = tuple(w.label for w in self.task.windows if _clip(w, self.rest) is None)
        return Assessment(
            self.task.id,
            verdict,
            overview,
            observations,
            missing,
            conclusion,
            self.rest.full_range,
            "" if decision is None else decision.rule.name,
            1.0 if decision is None else decision.margin,
            float(snr),
        )


def describe_overview(rest, snr, extra=""):
    lo, hi = rest.full_range
    quality = "good" if snr >= 20 else "moderate" if snr >= 10 else "low"
    text = (
        f"The spectrum covers {lo:.0f}-{hi:.0f} Å (rest frame) with {quality} S/N "
        f"(median {snr:.0f} per pixel)"
    )
    return text + (f"; {extra}" if extra else "") + "."


def continuum_colour(rest):
    """Blue-to-red flux ratio F(4000-4500)/F(5500-6000): >1 for hot stars, <1 for cool ones."""
    return rest.measured("colour", lambda: _colour(rest))


def _colour(rest):
    blue, _ = rest.mean(4000, 4500)
    red, _ = rest.mean(5500, 6000)
    if not (math.isfinite(blue) and math.isfinite(red)) or red <= 0:
        return None
    return blue / red


def describe_colour(colour):
    if colour is None:
        return "a continuum whose shape the covered range does not show"
    kind = "blue" if colour > 1.3 else "flat" if colour > 0.8 else "red"
    return f"a {kind} continuum (F4000-4500/F5500-6000 = {colour:.2f})"


def exceeds(measurement, threshold, sigmas=3.0):
    """True when a measurement exceeds ``threshold`` and is significant at ``sigmas``."""
    return (
        measurement is not None
        and measurement.number > threshold
        and measurement.number > sigmas * measurement.error
    )


def listed(measurements):
    return ", ".join(map(str, measurements))


def too_noisy_text(task, snr, region_text):
    """The evidence when the diagnostic region is too noisy to judge."""
    return (
        f"The S/N in {region_text} is too low (median {snr:.1f} per pixel) to see the diagnostic "
        f"features of {task.article} {task.name}; I cannot confirm the class from this spectrum."
    )


def decide(book, table, overview, facts, noisy_region):
    """Conclude with the first rule of ``table`` that the measured ``facts`` satisfy.

    Every table may use ``snr``, ``min_snr`` and ``too_noisy`` (the standard low-S/N evidence for
    ``noisy_region``); a rule named ``too_noisy`` also drops the continuum from the overview,
    which the noise makes unreliable.
    """
    snr = facts["snr"]
    facts = {"min_snr": MIN_SNR, "too_noisy": too_noisy_text(book.task, snr, noisy_region), **facts}
    decision = table.decide(facts)
    if decision.rule.name == "too_noisy":
        overview = describe_overview(book.rest, snr)
    return book.conclude(decision.verdict, overview, decision.evidence, decision, snr)


def region_snr(rest, lo, hi):
    """Median S/N in [lo, hi] when the data cover it, else over the whole spectrum."""
    return rest.snr(lo, hi) if rest.coverage(lo, hi) > 0.3 else rest.snr(*rest.full_range)


def head_window(task, heads, measurement):
    """The window in which a band head's measurement is shown."""
    head = measurement.name.removesuffix(" depth")
    index = next(h for h in heads if h.name == head)
    return window_for(task, *index.span, head)


def c2_note(depth, seen):
    head = depth.name.removesuffix(" depth").removeprefix("C2 ").removesuffix(" head")
    if seen:
        return f"the flux drops blueward of the {head} Å head (depth {depth.short}): C2 Swan band"
    if depth.number < -0.05:
        return (
            f"no C2 step at {head} Å: the flux falls redward of the head instead "
            f"(depth {depth.short}), as metal lines or TiO make it"
        )
    return f"no C2 step at {head} Å (depth {depth.short})"


def record_c2_5165(book, span):
    """Show the C2 Swan 5165 head in the window ``span`` (Å); C2 bands make a carbon star.

    Returns the heads seen and whether they make a carbon star: as `measure_c2` says, unless TiO
    is seen too -- the TiO bands of the coolest M stars (Miras at minimum) darken the 4737 and
    5636 head windows, and such a star is oxygen rich, as the carbon-star task also concludes.
    """
    c2, c2_seen, carbon = measure_c2(book.rest)
    carbon = carbon and not measure_tio_not_c2(book.rest)[1]
    book.record(
        window_for(book.task, *span, "C2 Swan 5165"),
        c2[1:2],
        [c2_note(c2[1], c2[1] in c2_seen)] if len(c2) > 1 else [],
        key=carbon,
    )
    return c2_seen, carbon


def zro_note(depth, seen):
    head = depth.name.removesuffix(" depth").removeprefix("ZrO ").removesuffix(" head")
    if seen:
        return f"a ZrO band absorbs redward of the {head} Å head (depth {depth.short})"
    return f"no clear ZrO band at {head} Å (depth {depth.short})"


#: TiO5 below this marks an M giant (K5 III 0.72-0.80, M0 III 0.70 in MILES/STELIB; M0 V 0.79).
TIO5_M_TYPE = 0.71


#: Emission detections: EW (Å, emission positive) and peak height (in noise units); the He I/He II
#: lines of CVs are weaker than the Balmer lines (EW of a few Å).
EMISSION_EW = 3.0
EMISSION_PEAK = 4.0


def is_detected(measure, ew_min=EMISSION_EW):
    """True for a significant emission line of at least ``ew_min`` Å."""
    return (
        measure is not None
        and measure["ew"].number > ew_min
        and measure["peak"] > EMISSION_PEAK
        and measure["ew"].number > 3 * measure["ew"].error
    )
