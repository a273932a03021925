"""Find which catalogue lines are really present in a spectrum, and measure them."""

from functools import cache

import astropy.units as u
import numpy as np
from astropy.constants import c as speed_of_light
from astropy.table import QTable, Table

from .arrays import check_window, noise_sigma, parse_region, spectrum_arrays
from .bands import band_windows, measure_depth

__all__ = ["identify_lines"]

#: Half-widths (pixels) of the line windows tried for each line (a matched filter over widths)
#: from unresolved lines (R ~ 1800: 2-3 pixels FWHM) to white-dwarf Balmer wings (~100 Å).
_HALF_WIDTHS = np.array([2, 3, 5, 8, 13, 20, 32, 50, 80, 128])
#: Width (pixels) of each of the two continuum windows flanking a line window.
_FLANKS = np.maximum(_HALF_WIDTHS // 2, 4)
#: The line is measured this many rungs above its most significant width: the window then spans
#: about +-1.5 FWHM of a Gaussian line, so the measurement holds the whole line.
_MEASURE_STEP = 2
#: Fraction of a window's pixels that must be valid (unmasked) for that width to be used.
_MIN_COVERAGE = 0.6
#: Broadest emission line reported (FWHM, km/s). Broader "emission" in the cool stars that fill
#: surveys is the continuum between molecular bands; the emission lines of CVs, Be and dMe stars
#: and nebulae are narrower.
_MAX_EMISSION_FWHM = 4000.0
#: Height (in standard deviations of the smoothed flux) by which an emission peak must rise above
#: the highest flux of its neighbourhood: the top of a noisy continuum between absorption lines
#: reaches a couple of standard deviations above its surroundings, a real line more.
_ENVELOPE_SIGMA = 3.0
#: A forbidden line broader than this (FWHM, km/s) comes from expanding nova ejecta, never from a
#: star with molecular bands: within _BAND_NEIGHBOURHOOD Å of present bands, such a "line" is the
#: continuum left between two band systems (the hump at 5010 Å between the C2 Swan 4737 and
#: 5165 sequences of a carbon star).
_NEBULAR_FWHM = 600.0
_BAND_NEIGHBOURHOOD = 300.0
#: Shallowest band depth taken as a molecular band. Atomic lines in the band and continuum
#: windows of G and K stars without those molecules give up to about 0.07 (MgH and Mg b in the
#: C2 5165 windows of a LAMOST DR1 K5 star).
_MIN_BAND_DEPTH = 0.1
#: The strongest lines of a species, in absorption and in emission. Its other catalogue lines are
#: weaker (higher series members, fainter multiplets, the 1:3 member of a forbidden doublet), so
#: one of these must be seen too, with the same kind, wherever one of them can be measured.
_LEADERS = {
    "H I": ("H alpha", "H beta"),
    "He I": ("He I 4471", "He I 5876"),
    "He II": ("He II 4686",),
    "[O III]": ("[O III] 5007",),
    "[N II]": ("[N II] 6583",),
    "[O I]": ("[O I] 6300", "sky [O I] 6300", "sky [O I] 5577"),
}

_C_KMS = speed_of_light.to_value(u.km / u.s)
_COLUMNS = (
    ("name", str, None),
    ("rest_wavelength", float, u.AA),
    ("observed_wavelength", float, u.AA),
    ("kind", str, None),
    ("significance", float, None),
    ("equivalent_width", float, u.AA),
    ("fwhm", float, u.AA),
    ("blend", str, None),
)


@cache
def _catalogue():
    from ..catalog import atomic_lines

    lines = atomic_lines()
    return (
        np.asarray(lines["name"], dtype=str),
        lines["rest_wavelength"].to_value(u.AA),
        np.asarray(lines["typical_kind"], dtype=str),
    )


@cache
def _leaders():
    """``{line name: its species' leading lines}`` for the catalogue lines that have some."""
    from ..catalog import atomic_lines

    lines = atomic_lines()
    return {
        name: _LEADERS[species]
        for name, species in zip(lines["name"], lines["species"], strict=True)
        if species in _LEADERS and name not in _LEADERS[species]
    }


@cache
def _band_heads():
    """Names, band heads and band spans (``band_min``, ``band_max``; Å) of the molecular bands."""
    from ..catalog import molecular_bands

    bands = molecular_bands()
    spans = np.column_stack([bands[edge].to_value(u.AA) for edge in ("band_min", "band_max")])
    return np.asarray(bands["name"], dtype=str), bands["bandhead"].to_value(u.AA), spans


def _line_list(line_list):
    """``(names, rest wavelengths in Å, typical kinds)`` of the lines to look for.

    Lines of a table without a ``typical_kind`` column are taken as ``"both"``.
    """
    if line_list is None:
        return _catalogue()
    if isinstance(line_list, Table):
        missing = {"name", "rest_wavelength"} - set(line_list.colnames)
        if missing:
            raise ValueError(f"line_list lacks column(s) {sorted(missing)}")
        rest = u.Quantity(line_list["rest_wavelength"])
        if rest.unit == u.dimensionless_unscaled:
            raise ValueError("line_list['rest_wavelength'] needs a unit, e.g. Angstrom")
        if "typical_kind" in line_list.colnames:
            kinds = np.asarray(line_list["typical_kind"], dtype=str)
        else:
            kinds = np.full(len(line_list), "both")
        return (
            np.asarray(line_list["name"], dtype=str),
            rest.to_value(u.AA, equivalencies=u.spectral()),
            kinds,
        )
    names, rest, kinds = _catalogue()
    requested = [line_list] if isinstance(line_list, str) else list(line_list)
    index = {name: i for i, name in enumerate(names)}
    unknown = [name for name in requested if name not in index]
    if unknown:
        raise ValueError(
            f"lines {unknown} are not in the catalogue (see spec_o3.catalog.atomic_lines())"
        )
    rows = [index[name] for name in requested]
    return names[rows], rest[rows], kinds[rows]


class _Sums:
    """Prefix sums over valid pixels: any window sum costs two look-ups, for every line at once."""

    def __init__(self, wavelength, flux, sigma, good):
        self.wavelength = wavelength
        self.origin = np.mean(wavelength[good])  # keeps the moment sums well conditioned
        x = wavelength - self.origin
        width = np.abs(np.gradient(wavelength))
        w = np.where(good, width, 0.0)
        f = np.where(good, flux, 0.0)
        s2 = np.where(good, sigma, 0.0) ** 2
        terms = (good.astype(float), w, x * w, x * x * w, f * w, x * f * w, s2 * w * w)
        self._cum = np.zeros((len(terms), wavelength.size + 1))
        np.cumsum(np.stack(terms), axis=1, out=self._cum[:, 1:])
        self.pixel_width = width

    def between(self, lo, hi):
        """Sums over ``[lo, hi)`` (Å): arrays ``n, w, xw, xxw, fw, xfw, vw`` shaped like ``lo``."""
        start = np.searchsorted(self.wavelength, lo)
        stop = np.searchsorted(self.wavelength, hi)
        return self._cum[:, stop] - self._cum[:, start]


def _ladder(sums, centre, pixel):
    """Measure every line (rows) at every width of the ladder (columns), vectorised.

    Each width has a line window of half-width ``w`` and two flanking continuum windows; the
    pseudo-continuum is the straight line through the flanks' mean fluxes at their mean
    wavelengths. Returns a dict of arrays shaped ``(n_lines, n_widths)``.
    """
    c = centre[:, None]
    w = _HALF_WIDTHS[None, :] * pixel[:, None]
    f = _FLANKS[None, :] * pixel[:, None]
    n_b, w_b, xw_b, _, fw_b, _, vw_b = sums.between(c - w - f, c - w)
    n_l, w_l, xw_l, xxw_l, fw_l, xfw_l, vw_l = sums.between(c - w, c + w)
    n_r, w_r, xw_r, _, fw_r, _, vw_r = sums.between(c + w, c + w + f)
    usable = (
        (n_l >= _MIN_COVERAGE * 2 * _HALF_WIDTHS)
        & (n_b >= np.maximum(2, _MIN_COVERAGE * _FLANKS))
        & (n_r >= np.maximum(2, _MIN_COVERAGE * _FLANKS))
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        cont_b, cont_r = fw_b / w_b, fw_r / w_r
        var_b, var_r = vw_b / w_b**2, vw_r / w_r**2
        x_b, x_r = xw_b / w_b, xw_r / w_r
        x0 = c - sums.origin
        slope = (cont_r - cont_b) / (x_r - x_b)
        # Integral of the continuum over the line window, split by its dependence on each flank.
        share_r = (xw_l - x_b * w_l) / (x_r - x_b)
        share_b = w_l - share_r
        deficit = cont_b * share_b + cont_r * share_r - fw_l  # flux x Å; > 0 for absorption
        moment = (cont_b - slope * x_b) * xw_l + slope * xxw_l - xfw_l
        var = vw_l + share_b**2 * var_b + share_r**2 * var_r
        significance = np.where(usable, deficit / np.sqrt(var), 0.0)
        continuum = cont_b + slope * (x0 - x_b)
        # The feature must stand out from each flank on its own (a line in one flank tilts the
        # continuum and fakes a feature of the opposite sign in the window).
        one_sided = np.minimum(
            np.sign(deficit) * (cont_b * w_l - fw_l) / np.sqrt(vw_l + w_l**2 * var_b),
            np.sign(deficit) * (cont_r * w_l - fw_l) / np.sqrt(vw_l + w_l**2 * var_r),
        )
        centroid = moment / deficit + sums.origin
        equivalent_width = deficit / continuum
    return {
        "significance": np.nan_to_num(significance),
        "one_sided": one_sided,
        "equivalent_width": equivalent_width,
        "centroid": centroid,
        "continuum": np.stack((cont_b, slope, x_b + sums.origin), axis=-1),
        "half_width": w,
        "usable": usable,
    }


def _valid_between(arrays, good, lo, hi):
    """Wavelengths and fluxes of the valid pixels in ``[lo, hi)`` (views when all are valid)."""
    start, stop = np.searchsorted(arrays.wavelength, (lo, hi))
    keep = good[start:stop]
    if keep.all():
        return arrays.wavelength[start:stop], arrays.flux[start:stop]
    return arrays.wavelength[start:stop][keep], arrays.flux[start:stop][keep]


def _half_maximum(arrays, good, lo, hi, continuum, sign, smooth):
    """Half-maximum crossings ``(blue, red)`` of the feature in ``[lo, hi)``, or `None`.

    The profile ``sign * (continuum - flux)``, with the continuum ``(level, slope, reference
    wavelength)`` a straight line, is smoothed by a ``smooth``-pixel box, its peak height refined
    with a parabola through the three highest points, and the crossings found walking outwards
    from the peak (linear interpolation). `None` when the profile does not fall to half its
    peak on both sides inside the window: the feature is not contained in it.
    """
    lam, flux = _valid_between(arrays, good, lo, hi)
    if lam.size < 3:
        return None
    level, slope, reference = continuum
    profile = sign * (level + slope * (lam - reference) - flux)
    if smooth > 1:
        profile = np.convolve(profile, np.ones(smooth) / smooth, mode="same")
    peak = int(np.argmax(profile))
    height = profile[peak]
    if 0 < peak < lam.size - 1:
        left, mid, right = profile[peak - 1 : peak + 2]
        curvature = left - 2 * mid + right
        if curvature < 0:
            height = mid - (right - left) ** 2 / (8 * curvature)
    half = height / 2
    below_blue = np.flatnonzero(profile[:peak] < half)
    below_red = np.flatnonzero(profile[peak:] < half)
    if below_blue.size == 0 or below_red.size == 0:
        return None

    def crossing(i, j):  # between pixel i (below half) and its neighbour j (at or above)
        return lam[i] + (half - profile[i]) * (lam[j] - lam[i]) / (profile[j] - profile[i])

    i, j = below_blue[-1], peak + below_red[0]
    return crossing(i, i + 1), crossing(j, j - 1)


def _above_envelope(arrays, sigma, good, centre, half_width, continuum, smooth, exclude):
    """Whether an emission feature rises above the upper envelope of its surroundings.

    Stellar spectra are dominated by absorption, so their continuum is the upper envelope of the
    flux rather than the mean of two flanks: the stretch left between two absorption lines or
    bands stands above its flanks like an emission line, but not above the rest of its
    neighbourhood. A real emission line's peak stands above the highest flux found one to three
    half-widths away (fluxes smoothed by a ``smooth``-pixel box; the ``exclude`` intervals,
    stronger emission lines already found, are left out of the neighbourhood) by at least a
    quarter of its height above its flanks' ``continuum`` and by ``_ENVELOPE_SIGMA`` standard
    deviations of the smoothed flux.
    """
    lo, hi = centre - 3 * half_width, centre + 3 * half_width
    lam, flux = _valid_between(arrays, good, lo, hi)
    if smooth > 1:
        flux = np.convolve(flux, np.ones(smooth) / smooth, mode="same")
    inner = np.abs(lam - centre) < half_width
    outer = ~inner
    for blue, red in exclude:
        if blue < hi and red > lo:
            outer &= (lam < blue) | (lam > red)
    if not (inner.any() and outer.any()):
        return False
    peak = np.argmax(np.where(inner, flux, -np.inf))
    level, slope, reference = continuum
    height = flux[peak] - (level + slope * (lam[peak] - reference))
    noise = np.interp(lam[peak], arrays.wavelength[good], sigma[good]) / np.sqrt(smooth)
    return flux[peak] - flux[outer].max() >= max(0.25 * height, _ENVELOPE_SIGMA * noise)


def _merge_blends(rows, names, rest, kinds):
    """Report each feature once: lines found in the core of a stronger one join it as a blend.

    A line whose measured centre lies within half the FWHM of a stronger feature's centre (or of
    its own) is the same feature seen through another catalogue entry; the feature keeps the
    name of the member whose typical kind matches and whose rest wavelength is nearest the
    centre, and lists the others in ``blend``.
    """
    features = []
    for row in sorted(rows, key=lambda r: -abs(r["significance"])):
        for feature in features:
            separation = abs(row["centre"] - feature["centre"])
            if separation < 0.5 * max(row["fwhm"], feature["fwhm"], 0):
                feature["members"].append(row["line"])
                break
        else:
            features.append({**row, "members": [row["line"]]})
    for feature in features:

        def rank(line, feature=feature):
            matches = kinds[line] in (feature["kind"], "both")
            return (not matches, abs(rest[line] - feature["centre"]))

        members = sorted(feature["members"], key=rank)
        feature["line"] = members[0]
        feature["blend"] = ", ".join(names[i] for i in members[1:])
    return features


def identify_lines(
    spectrum, region=None, *, line_list=None, redshift=None, min_significance=5, max_offset=None
):
    """Detect and measure the catalogue lines present in a spectrum (or a window of it).

    Every line of ``line_list`` whose expected position falls in ``region`` is looked for against
    a local pseudo-continuum; only lines detected at ``min_significance`` or more, at the expected
    place, with the profile of a line and consistent with the rest of the spectrum (no forbidden
    line in absorption, no line on a molecular band head, no weak line of a species without its
    strongest one) are returned: not every catalogue line in range. Broad and narrow lines are
    handled by trying a ladder of window widths.

    Parameters
    ----------
    spectrum : `~specutils.Spectrum`
        A 1-D spectrum. Masked pixels and pixels with non-finite flux or non-positive uncertainty
        are ignored. The noise comes from its uncertainty (`~astropy.nddata.StdDevUncertainty`,
        `~astropy.nddata.VarianceUncertainty` or `~astropy.nddata.InverseVariance`); without one
        it is estimated from the pixel-to-pixel scatter and the table's ``meta["noise"]`` says so.
    region : `~specutils.SpectralRegion` or `~astropy.units.Quantity` pair, optional
        Where to look, in the displayed frame (rest frame when ``redshift`` is given), in any
        spectral unit. Lines are selected by their expected position; they are measured on the
        pixels around them, which may lie outside the region. `None` (default): the whole spectrum.
    line_list : `~astropy.table.Table` or list of str, optional
        The lines to look for: a table with ``name`` and ``rest_wavelength`` (vacuum) columns and,
        optionally, ``typical_kind`` (``"emission"`` lines are looked for in emission only;
        without the column, both ways), or names from the catalogue. Default: the whole
        catalogue, :func:`spec_o3.catalog.atomic_lines`.
    redshift : float, optional
        Lines are looked for at ``rest_wavelength * (1 + redshift)``; `None` means 0 (observed
        frame). Equivalent widths and FWHMs are then rest-frame values.
    min_significance : float, optional
        Detection threshold in standard deviations of the line's integrated flux (default 5; see
        Notes for the false-alarm rate).
    max_offset : `~astropy.units.Quantity`, optional
        Largest distance between the line's flux-weighted centroid and its expected position: a
        wavelength (displayed frame) or a velocity, e.g. ``300 * u.km / u.s``. Default: the
        larger of three pixels (about 200 km/s at LAMOST sampling) and a fifth of the window's
        half-width.

    Returns
    -------
    lines : `~astropy.table.QTable`
        One row per detected feature, sorted by wavelength, with columns

        - ``name``: the catalogue line; ``rest_wavelength``: its rest wavelength (Å);
        - ``observed_wavelength``: the measured line centre in the observed frame (Å): the
          midpoint of the profile's half-maximum points;
        - ``kind``: ``"absorption"`` or ``"emission"``;
        - ``significance``: detection significance (σ, positive);
        - ``equivalent_width`` (Å): specutils' convention, positive for absorption and negative
          for emission; NaN when the continuum is not positive;
        - ``fwhm`` (Å): full width at half maximum of the measured profile;
        - ``blend``: other catalogue lines within the same feature (comma-separated, or empty).

        ``meta`` holds ``noise`` (where the noise came from), ``redshift`` and
        ``min_significance``. An empty table (same columns) when nothing is detected.

    Raises
    ------
    ValueError
        If ``region`` does not overlap the data, is not in spectral units or is reversed; if
        ``line_list`` names a line not in the catalogue or lacks the needed columns.

    Notes
    -----
    *Search.* For each line and each half-width ``w`` of a ladder from 2 to 128 pixels, the
    pseudo-continuum is the straight line through the mean fluxes of two flanking windows (each
    ``w / 2``, at least 4 pixels wide); the flux deficit (absorption positive) is the integral of
    continuum minus flux over ``±w``, and its significance the deficit over its standard
    deviation, propagated from the pixel uncertainties and the two continuum means (pixels taken
    as independent). A width and sign is a candidate when its significance reaches
    ``min_significance``, when the feature stands out from each flank alone at half that
    significance (a line in one flank, such as Na D beside He I 5876, otherwise tilts the
    continuum and fakes a feature of opposite sign) and when the deficit's centroid lies within
    ``max_offset`` of the expected position. On a plateau of significance the narrowest width
    within 10 % of the best is kept.

    *Checks.* Candidates are tried by decreasing significance, the first that passes is
    reported: no narrower window may show the opposite sign at half the significance or more;
    the line must also be seen in a wider window (same sign, at least half the significance);
    its profile, measured in the widest such window up to two rungs wider (about ±1.5 FWHM for
    a Gaussian), must fall to half maximum on both sides inside it, with the expected position
    between the half-maximum points. Emission must in addition rise above the highest flux one
    to three half-widths away by a quarter of its height and by three standard deviations
    (stellar continua are upper envelopes: the gap between two absorption lines or molecular
    bands rises above its flanks but not above its neighbourhood) and be narrower than
    4,000 km/s FWHM (broader humps are continuum between bands; the emission lines of CVs, Be and
    dMe stars and nebulae are narrower). A consequence: an emission core filling a broad
    absorption line (Be stars) is reported as emission, measured against the absorption wings.

    *Physics.* Lines whose catalogue ``typical_kind`` is ``"emission"`` (forbidden and sky lines)
    are looked for in emission only: a dip at [O III] 4959 is a metal line. A line whose core
    (between its half-maximum points, three pixels wider) holds the head of a molecular band
    that :func:`~spec_o3.analysis.band_strength` measures at ``min_significance`` and at least
    0.1 deep is dropped: the flux step at a head reads as a line (TiO 7054 at He I 7065 in M
    dwarfs); so is emission inside the span of such a band, where the gaps between its
    rotational heads rise like lines; and a forbidden line broader than 600 km/s next to two such
    bands (a nova's ejecta have no molecules). Weaker lines of a species need its strongest line
    seen with the same kind: H alpha or H beta for the other hydrogen lines, He I 4471 or 5876 for
    He I, He II 4686 for He II, [O III] 5007, [N II] 6583, [O I] 6300 (or the sky's 5577) for
    their weaker partners. Those leading lines are measured even outside ``region``; where none
    can be measured (outside the data, masked) the rule is not applied. Custom ``line_list``
    lines take part through their ``typical_kind`` column and, for the leading lines, through
    catalogue names.

    *Measurements.* Equivalent width (deficit over the continuum at the expected position) and
    FWHM (between the half-maximum points of the profile) come from the measuring window;
    Lorentzian wings beyond it are not counted (about 80 % of a Lorentzian's equivalent width
    is). The line centre is the midpoint of the half-maximum points, which a tilted continuum or
    a double-peaked disc line shifts less than the flux-weighted centroid does.
    Lines closer than half the FWHM of a stronger feature (Ca II H and H epsilon, the Na D doublet
    at R ~ 1800, H alpha and [N II] in a broad emission line) are one feature, reported once
    under the member whose typical kind matches and whose rest wavelength is nearest the centre,
    with the others in ``blend``. The FWHM separates white-dwarf Balmer lines (about 30-100 Å)
    from those of A stars (about 15-25 Å at R ~ 1800) and broad CV lines from narrow nebular ones.

    *False alarms.* With Gaussian noise and ``min_significance=5`` no pure-noise LAMOST-size
    spectrum out of 300 gave a detection (about 70 lines, 10 correlated widths each); at 3, a few
    per cent of lines do. Real spectra have correlated noise and imperfect continua: treat
    detections near the threshold with care.

    Examples
    --------
    >>> import numpy as np
    >>> import astropy.units as u
    >>> from astropy.modeling.models import Gaussian1D
    >>> from astropy.nddata import StdDevUncertainty
    >>> from specutils import Spectrum
    >>> from spec_o3.analysis import identify_lines
    >>> wavelength = np.linspace(6400, 6700, 300) * u.AA
    >>> line = Gaussian1D(amplitude=0.5, mean=6564.61, stddev=3)
    >>> rng = np.random.default_rng(1)
    >>> flux = 1 - line(wavelength.value) + rng.normal(0, 0.01, 300)
    >>> spectrum = Spectrum(flux=flux * u.Jy, spectral_axis=wavelength,
    ...                     uncertainty=StdDevUncertainty(np.full(300, 0.01)))
    >>> row = identify_lines(spectrum)[0]  # true EW 3.76 Å, FWHM 7.06 Å
    >>> print(row["name"], row["kind"], f"{row['equivalent_width']:.1f}", f"{row['fwhm']:.1f}")
    H alpha absorption 3.9 Angstrom 7.2 Angstrom
    """
    arrays = spectrum_arrays(spectrum, redshift)
    names, rest, kinds = _line_list(line_list)
    offset = None if max_offset is None else _offset_rule(max_offset)
    valid = arrays.wavelength[arrays.good]
    if valid.size < 2:
        raise ValueError(f"the spectrum has {valid.size} valid pixels; nothing to measure")
    windows = [(valid[0], valid[-1])] if region is None else parse_region(region)
    overlapping = []
    for lo, hi in windows:
        try:
            check_window(arrays, lo, hi, min_pixels=1)
        except ValueError as error:
            last_error = error
        else:
            overlapping.append((lo, hi))
    if not overlapping:
        raise last_error

    wanted = np.zeros(rest.size, dtype=bool)
    for lo, hi in overlapping:
        wanted |= (rest >= max(lo, valid[0])) & (rest <= min(hi, valid[-1]))
    # The leading lines of the wanted lines' species are measured too (not reported unless wanted).
    names, rest, kinds, leading = _with_leaders(names, rest, kinds, wanted)
    wanted = np.pad(wanted, (0, names.size - wanted.size))
    candidates = np.flatnonzero(wanted | leading)

    sigma, noise = noise_sigma(arrays)
    good = arrays.good & np.isfinite(sigma)
    meta = {"noise": noise, "redshift": redshift, "min_significance": min_significance}
    rows, measurable = _measure(
        arrays, sigma, good, candidates, rest, kinds == "emission", min_significance, offset
    )
    rows = _off_band_heads(rows, arrays, sigma, min_significance, kinds)
    rows = _with_leader_seen(rows, names, names[measurable])
    features = _merge_blends([row for row in rows if wanted[row["line"]]], names, rest, kinds)
    return _table(features, names, rest, arrays.redshift, meta)


def _with_leaders(names, rest, kinds, wanted):
    """The line list with the leading lines of its ``wanted`` lines, and where those are.

    Leading lines the list lacks are appended from the catalogue. Returns ``(names, rest,
    kinds, leading)``, ``leading`` flagging the leading lines of the wanted ones.
    """
    needed = {leader for name in names[wanted] for leader in _leaders().get(name, ())}
    catalogue_names, catalogue_rest, catalogue_kinds = _catalogue()
    extra = np.isin(catalogue_names, sorted(needed - set(names)))
    names, rest, kinds = (
        np.concatenate((ours, theirs[extra]))
        for ours, theirs in (
            (names, catalogue_names),
            (rest, catalogue_rest),
            (kinds, catalogue_kinds),
        )
    )
    return names, rest, kinds, np.isin(names, sorted(needed))


def _off_band_heads(rows, arrays, sigma, min_significance, kinds):
    """The detections that are not the structure of a molecular band in the spectrum.

    A band head is a step in the flux: next to it the straight pseudo-continuum of a line fails
    and the step itself reads as an absorption line (on the band's side) or as emission (on the
    continuum's side); inside a band, the gaps between its rotational heads rise like emission
    lines. A detection whose half-maximum points, widened by three pixels, enclose the head of a
    catalogue band whose depth (`~spec_o3.analysis.band_strength`) reaches ``min_significance``
    standard deviations and ``_MIN_BAND_DEPTH``, or an emission detection centred inside such a
    band's span, is that band, not the line ([Ne III] 3869 in the CN 3883 band of a carbon
    star, Li I 6708 in the TiO 6651 band of an M dwarf); and so is a forbidden line (catalogue
    ``kinds`` "emission") broader than ``_NEBULAR_FWHM`` near two such bands.
    """
    if not rows:
        return rows
    band_names, heads, spans = _band_heads()
    centre = np.array([row["centre"] for row in rows])
    pixel = np.interp(centre, arrays.wavelength, np.gradient(arrays.wavelength))
    reach = np.array([row["fwhm"] for row in rows]) / 2 + 3 * pixel
    emission = np.array([row["kind"] == "emission" for row in rows])
    on_head = np.abs(heads[None, :] - centre[:, None]) <= reach[:, None]
    in_band = (
        emission[:, None]
        & (spans[None, :, 0] <= centre[:, None])
        & (centre[:, None] <= spans[None, :, 1])
    )
    broad_forbidden = np.array(
        [
            kinds[row["line"]] == "emission"
            and row["fwhm"] / row["centre"] * _C_KMS > _NEBULAR_FWHM
            for row in rows
        ]
    )
    structure = on_head | in_band
    near = broad_forbidden[:, None] & (
        np.abs(heads[None, :] - centre[:, None]) <= _BAND_NEIGHBOURHOOD
    )
    present = np.zeros(heads.size, dtype=bool)
    good = arrays.good & np.isfinite(sigma)
    for band in np.flatnonzero((structure | near).any(axis=0)):
        try:
            depth, variance, _, _ = measure_depth(
                arrays, sigma, band_names[band], band_windows(band_names[band]), good
            )
        except ValueError:  # the band's windows are not covered by the data
            continue
        present[band] = depth >= max(_MIN_BAND_DEPTH, min_significance * np.sqrt(variance))
    # Bands, not one: a strong emission line in a band's side window fakes a single band's depth.
    return [
        row
        for row, own, around in zip(rows, structure, near, strict=True)
        if not present[own].any() and np.count_nonzero(present[around]) < 2
    ]


def _with_leader_seen(rows, names, measurable):
    """The detections that have a leading line of their species detected with the same kind.

    Lines without leading lines, and lines none of whose leading lines can be measured (outside
    the data or masked), are kept as they are.
    """
    seen = {(names[row["line"]], row["kind"]) for row in rows}
    measurable = set(measurable)
    kept = []
    for row in rows:
        leaders = [name for name in _leaders().get(names[row["line"]], ()) if name in measurable]
        if not leaders or any((name, row["kind"]) in seen for name in leaders):
            kept.append(row)
    return kept


def _offset_rule(max_offset):
    """``centre (Å) -> largest offset (Å)`` from a wavelength or a velocity Quantity."""
    offset = u.Quantity(max_offset)
    if offset.unit.is_equivalent(u.km / u.s):
        fraction = offset.to_value(u.km / u.s) / _C_KMS
        return lambda centre: centre * fraction
    if offset.unit.is_equivalent(u.AA):
        return lambda centre: np.full(centre.shape, offset.to_value(u.AA))
    raise ValueError(f"max_offset must be a wavelength or a velocity Quantity, got {max_offset!r}")


def _measure(arrays, sigma, good, candidates, rest, emission_only, min_significance, max_offset):
    """Detection and measurement of the candidate lines.

    Returns one dict per detected line and the indices of the candidates that could be measured
    at all (some width of the ladder had enough valid pixels). ``emission_only`` flags, for every
    line, those that can only be seen in emission (forbidden and sky lines): they are not looked
    for in absorption. ``max_offset`` is `None` (the default tolerance) or a function of the
    expected positions.
    """
    if candidates.size == 0 or np.count_nonzero(good) < 5:
        return [], candidates[:0]
    sums = _Sums(arrays.wavelength, arrays.flux, sigma, good)
    centre = rest[candidates]
    pixel = np.interp(centre, arrays.wavelength, sums.pixel_width)
    ladder = _ladder(sums, centre, pixel)
    significance = ladder["significance"]
    if max_offset is None:
        tolerance = np.maximum(3 * pixel[:, None], 0.2 * ladder["half_width"])
    else:
        tolerance = max_offset(centre)[:, None]
    # Cheap tests, for every line and width at once; the profile tests below run on survivors.
    passes = (
        (np.abs(significance) >= min_significance)
        & (ladder["one_sided"] >= 0.5 * min_significance)
        & (np.abs(ladder["centroid"] - centre[:, None]) <= tolerance)
        & ~(emission_only[candidates, None] & (significance > 0))
    )
    rows = []
    emission = []  # extents of the emission lines found: not part of a weaker line's surroundings
    # Strongest first, so that a strong emission line is known before its weak neighbours.
    found_any = np.flatnonzero(passes.any(axis=1))
    found_any = found_any[np.argsort(-np.max(np.abs(significance[found_any]), axis=1))]
    # Plain Python on the ten-element rows: numpy's per-call overhead would dominate.
    row_significance = significance[found_any].tolist()
    row_passes = passes[found_any].tolist()
    for i, line_significance, line_passes in zip(
        found_any.tolist(), row_significance, row_passes, strict=True
    ):
        found = _accept(
            arrays,
            sigma,
            good,
            ladder,
            i,
            line_significance,
            line_passes,
            centre[i],
            3 * pixel[i],
            emission,
        )
        if found is not None:
            rows.append({"line": candidates[i], **found})
            if found["kind"] == "emission":
                reach = 1.5 * found["fwhm"]
                emission.append((found["centre"] - reach, found["centre"] + reach))
    return rows, candidates[ladder["usable"].any(axis=1)]


def _accept(arrays, sigma, good, ladder, i, significance, passes, centre, slack, emission):
    """The first hypothesis (width and sign) of line ``i`` whose profile is a line at its place.

    ``significance`` and ``passes`` are the line's ladder rows (lists: the cheap tests' verdict
    per width). Hypotheses are tried by decreasing significance. On a plateau of significance
    the narrowest width within 10 % of the best detects. A hypothesis is dropped when a narrower
    window shows the opposite sign at half its significance or more (the continuum left between
    two absorption bands looks like a broad emission line from far enough away). The line is
    measured up to ``_MEASURE_STEP`` rungs wider while the sign holds and the significance stays
    above half, and at least one wider rung must do so: the line is seen whole. The feature must
    fall to half maximum on both sides inside the measuring window with the expected position
    between those points (``slack`` wider); emission must also pass `_above_envelope` and be
    narrower than ``_MAX_EMISSION_FWHM``. Returns the measurement as a dict, or `None`.
    """
    strength = [abs(value) for value in significance]
    rungs = range(len(significance))
    for first in sorted((k for k in rungs if passes[k]), key=lambda k: -strength[k])[:3]:
        sign = 1.0 if significance[first] > 0 else -1.0
        same = [passes[k] and significance[k] * sign > 0 for k in rungs]
        detect = next(k for k in rungs if same[k] and strength[k] >= 0.9 * strength[first])
        if any(significance[k] * sign < -0.5 * strength[first] for k in range(detect)):
            continue
        wider = [
            k
            for k in range(detect + 1, min(detect + _MEASURE_STEP + 1, len(significance)))
            if same[k] and strength[k] >= 0.5 * strength[detect]
        ]
        if not wider:
            continue
        measure = wider[-1]
        half_width = ladder["half_width"][i, measure]
        smooth = max(1, (_HALF_WIDTHS[detect] // 3) | 1)
        crossings = _half_maximum(
            arrays,
            good,
            centre - half_width,
            centre + half_width,
            ladder["continuum"][i, measure],
            sign,
            smooth,
        )
        if crossings is None:
            continue
        blue, red = crossings
        if not blue - slack <= centre <= red + slack:
            continue
        if sign < 0 and (
            (red - blue) / centre * _C_KMS > _MAX_EMISSION_FWHM
            or not _above_envelope(
                arrays,
                sigma,
                good,
                centre,
                half_width,
                ladder["continuum"][i, measure],
                smooth,
                emission,
            )
        ):
            continue
        return {
            "centre": (blue + red) / 2,
            "kind": "absorption" if sign > 0 else "emission",
            "significance": strength[first],
            "equivalent_width": ladder["equivalent_width"][i, measure],
            "fwhm": red - blue,
        }
    return None


def _table(features, names, rest, redshift, meta):
    features = sorted(features, key=lambda f: rest[f["line"]])
    scale = 1 + (redshift or 0)
    values = {
        "name": [names[f["line"]] for f in features],
        "rest_wavelength": [rest[f["line"]] for f in features],
        "observed_wavelength": [f["centre"] * scale for f in features],
        "kind": [f["kind"] for f in features],
        "significance": [f["significance"] for f in features],
        "equivalent_width": [f["equivalent_width"] for f in features],
        "fwhm": [f["fwhm"] for f in features],
        "blend": [f["blend"] for f in features],
    }
    columns = [
        np.array(values[name], dtype=dtype) if unit is None else np.array(values[name]) * unit
        for name, dtype, unit in _COLUMNS
    ]
    return QTable(columns, names=[name for name, _, _ in _COLUMNS], meta=meta, copy=False)
