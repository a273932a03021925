"""The LAMOST-like instrument: reddening, tellurics, line spread, flux calibration, sky and noise.

`observe` turns an observed-frame model spectrum on the fine `~spec_o3.simulate.grid.ModelGrid` into
what a LAMOST LRS file holds: flux on the log-linear pixel grid, inverse variance and a bad-pixel
mask. The per-spectrum conditions (resolution, airmass, water vapour, sky level, calibration errors,
dichroic behaviour, defects) are drawn by `Conditions.draw`, so a suite mixes good and bad nights.
"""

from dataclasses import dataclass, field
from functools import cache

import numpy as np
from scipy.special import expit

from .constants import C_KMS
from .extinction import redden
from .grid import air_to_vacuum, lamost_wavelength
from .profiles import smooth

__all__ = [
    "Conditions",
    "DESI_RESOLUTION",
    "observe",
    "observe_desi",
    "telluric_transmission",
    "interstellar_absorption",
    "sky_spectrum",
    "throughput",
    "SNR_BANDS",
    "degrade_to_survey",
]

#: Wavelength ranges (Å) of the per-band S/N recorded like LAMOST's SN_U ... SN_Z header cards.
SNR_BANDS = {
    "u": (3690.0, 4000.0),
    "g": (4000.0, 5500.0),
    "r": (5500.0, 6900.0),
    "i": (6900.0, 8400.0),
    "z": (8400.0, 9100.0),
}
#: Where the blue and red arms overlap behind the dichroic (Å).
DICHROIC = (5700.0, 5950.0)


@dataclass
class Conditions:
    """Observing and reduction conditions of one spectrum.

    Attributes
    ----------
    resolution : float
        Resolving power λ/Δλ (FWHM of a Gaussian line spread).
    ebv : float
        Interstellar E(B−V) (R_V = 3.1).
    airmass : float
    water : float
        Precipitable water vapour relative to a typical night.
    sky_level : float
        Sky continuum relative to the object's median flux.
    sky_residual : float
        Fractional sky-subtraction error of the emission lines.
    calibration : `numpy.ndarray`
        Legendre coefficients of the log of the multiplicative flux-calibration error.
    arm_step : float
        Fractional flux mismatch of the red arm relative to the blue.
    dichroic_gap : tuple or None
        (lo, hi) Å zeroed around the dichroic (early releases), or None.
    mask_a_band : bool
        DR1-style zeroed inverse variance across the telluric A band.
    cosmic_rays, bad_columns : int
        Numbers of unflagged cosmic-ray hits and of flagged bad-pixel runs.
    flux_scale : float
        Overall flux level (1e-17 erg s⁻¹ cm⁻² Å⁻¹ at the median).
    """

    resolution: float = 1800.0
    ebv: float = 0.0
    airmass: float = 1.2
    water: float = 1.0
    sky_level: float = 0.3
    sky_residual: float = 0.02
    calibration: np.ndarray = field(default_factory=lambda: np.zeros(5))
    arm_step: float = 0.0
    dichroic_gap: tuple | None = None
    mask_a_band: bool = False
    cosmic_rays: int = 0
    bad_columns: int = 0
    flux_scale: float = 300.0

    @classmethod
    def draw(cls, rng, *, ebv=(0.0, 0.3), calibration_error=0.05, sky=(0.01, 0.3)):
        """Draw typical survey conditions.

        Parameters
        ----------
        rng : `numpy.random.Generator`
        ebv : (float, float)
            Range of E(B−V) (uniform).
        calibration_error : float
            Typical amplitude of the smooth flux-calibration error (0.05 = 5 %; 0.3 for a bad one).
        sky : (float, float)
            Range (log-uniform) of the sky continuum relative to the object.

        Examples
        --------
        >>> import numpy as np
        >>> c = Conditions.draw(np.random.default_rng(1))
        >>> 1500 <= c.resolution <= 2000
        True
        """
        coefficients = np.zeros(5)
        coefficients[1:] = rng.normal(0.0, calibration_error, 4) / np.arange(1, 5) ** 0.5
        gap = None
        if rng.uniform() < 0.15:
            centre = rng.uniform(5780.0, 5860.0)
            half = rng.uniform(30.0, 150.0)
            gap = (centre - half, centre + half)
        return cls(
            resolution=rng.uniform(1500.0, 2000.0),
            ebv=rng.uniform(*ebv),
            airmass=rng.uniform(1.0, 1.8),
            water=rng.lognormal(0.0, 0.5),
            sky_level=float(np.exp(rng.uniform(np.log(sky[0]), np.log(sky[1])))),
            sky_residual=abs(rng.normal(0.0, 0.01)),
            calibration=coefficients,
            arm_step=rng.normal(0.0, calibration_error),
            dichroic_gap=gap,
            mask_a_band=bool(rng.uniform() < 0.3),
            cosmic_rays=int(rng.poisson(1.5)),
            bad_columns=int(rng.poisson(0.4)),
            flux_scale=float(np.exp(rng.uniform(np.log(30.0), np.log(3000.0)))),
        )


def throughput(wavelength):
    """Relative throughput of the two arms (blue 3700–5900 Å, red 5700–9100 Å) at the dichroic.

    Shaped after the LAMOST LRS spectrograph efficiency (Cui et al. 2012, RAA 12, 1197): low below
    4000 Å, each arm fading into the dichroic crossover near 5800 Å, declining into the CCD's red
    end.

    Examples
    --------
    >>> import numpy as np
    >>> t = throughput(np.array([3700.0, 5000.0, 5820.0, 7000.0]))
    >>> bool(t[0] < 0.3 and t[2] < t[1] and t[2] < t[3])
    True
    """
    w = np.asarray(wavelength, dtype=float)
    blue = np.interp(
        w,
        [3600, 3700, 4000, 4500, 5000, 5500, 5700, 5850, 5950],
        [0.05, 0.12, 0.45, 0.9, 1.0, 0.9, 0.6, 0.15, 0.0],
    )
    red = np.interp(
        w,
        [5650, 5750, 5900, 6100, 7000, 8000, 8500, 9000, 9200],
        [0.0, 0.15, 0.6, 0.9, 1.0, 0.8, 0.62, 0.38, 0.3],
    )
    return blue + red


# Strongest night-sky emission lines, air wavelengths (Å) and intensities relative to [O I] 5577: OH
# Meinel lines after Osterbrock et al. (1996, PASP 108, 277), grouped and rounded; street-light Hg I
# and Na I, which light-polluted sites such as Xinglong show.
_SKY_LINES_AIR = (
    (4358.34, 0.3),
    (5460.75, 0.4),
    (5577.34, 1.0),
    (5889.95, 0.5),
    (5895.92, 0.4),
    (6300.30, 0.5),
    (6363.78, 0.17),
    (6257.96, 0.1),
    (6287.43, 0.1),
    (6306.87, 0.08),
    (6498.7, 0.15),
    (6533.0, 0.2),
    (6553.6, 0.15),
    (6577.2, 0.15),
    (6604.3, 0.15),
    (6834.0, 0.2),
    (6863.96, 0.5),
    (6912.6, 0.3),
    (6923.2, 0.4),
    (6948.9, 0.4),
    (6969.9, 0.2),
    (7276.4, 0.3),
    (7316.3, 0.5),
    (7340.9, 0.5),
    (7369.2, 0.4),
    (7401.7, 0.3),
    (7571.7, 0.3),
    (7750.6, 0.5),
    (7794.1, 0.6),
    (7821.5, 0.7),
    (7853.4, 0.5),
    (7913.7, 0.8),
    (7964.6, 0.8),
    (7993.3, 0.7),
    (8344.6, 1.0),
    (8399.2, 1.0),
    (8430.2, 0.9),
    (8465.2, 0.8),
    (8505.1, 0.5),
    (8761.3, 0.6),
    (8791.2, 0.7),
    (8827.1, 1.2),
    (8867.6, 0.8),
    (8885.8, 1.2),
    (8919.6, 1.0),
    (8943.4, 0.8),
    (8958.1, 1.4),
    (8988.4, 1.2),
    (9001.1, 0.8),
    (9037.5, 0.8),
    (9049.2, 0.7),
)


@cache
def _sky_lines():
    wavelength, intensity = np.array(_SKY_LINES_AIR).T
    return air_to_vacuum(wavelength), intensity


def sky_spectrum(wavelength, resolution):
    """Night-sky continuum and emission lines at the given resolution, both 1 ≈ continuum at 5500 Å.

    Returns
    -------
    continuum, lines : `numpy.ndarray`
    """
    w = np.asarray(wavelength, dtype=float)
    continuum = np.interp(
        w, [3700, 4500, 5500, 6500, 7500, 8500, 9100], [0.6, 0.8, 1.0, 1.2, 1.5, 2.0, 2.4]
    )
    centres, intensity = _sky_lines()
    sigma = centres / resolution / 2.3548
    lines = np.zeros_like(w)
    for c, a, s in zip(centres, intensity, sigma, strict=False):
        lo, hi = np.searchsorted(w, [c - 5 * s, c + 5 * s])
        # 5577 peaks at ~40× the continuum per Å at R~1800 on a dark night.
        lines[lo:hi] += 40.0 * a * np.exp(-0.5 * ((w[lo:hi] - c) / s) ** 2)
    return continuum, lines


# Telluric absorption: O2 B and A bands (air heads 6867 and 7594, red-degraded) and H2O bands, as
# (lo, hi, optical depth at airmass 1 and typical water) from the Kitt Peak/Paranal transmission
# atlases, smoothed to R~1800.
_O2_BANDS = ((6867.0, 28.0, 0.35), (7594.0, 40.0, 1.2))
_H2O_BANDS = (
    (6470.0, 6600.0, 0.01),
    (7160.0, 7340.0, 0.05),
    (8130.0, 8350.0, 0.08),
    (8920.0, 9300.0, 0.2),
)


@cache
def _telluric_templates():
    """Optical depths of O2 and H2O (airmass 1, typical water) on a fixed fine log grid."""
    loglam = np.arange(np.log10(6300.0), np.log10(9400.0), 2.5e-5)
    wavelength = 10**loglam
    o2 = np.zeros_like(wavelength)
    for air_head, length, depth in _O2_BANDS:
        d = wavelength - float(air_to_vacuum(air_head))
        o2 += depth * np.exp(-np.clip(d, 0, None) / length) * expit(d / 0.5) * (d < 6 * length)
    # Water bands: a fixed pattern of unresolved lines inside each window (seeded once).
    rng = np.random.default_rng(7)
    water = np.zeros_like(wavelength)
    for lo, hi, depth in _H2O_BANDS:
        lo, hi = air_to_vacuum(lo), air_to_vacuum(hi)
        inside = (wavelength > lo) & (wavelength < hi)
        envelope = np.sin(np.pi * (wavelength[inside] - lo) / (hi - lo)) ** 0.5
        water[inside] = depth * envelope * rng.gamma(1.0, 1.0, inside.sum())
    return loglam, o2, smooth(water, 3.0)


def telluric_transmission(wavelength, airmass, water):
    """Atmospheric transmission at observed wavelengths (Å) for an airmass and a water column.

    Examples
    --------
    >>> import numpy as np
    >>> t = telluric_transmission(np.array([6000.0, 7600.0]), 1.2, 1.0)
    >>> bool(t[0] == 1.0 and t[1] < 0.6)
    True
    """
    loglam, o2, h2o = _telluric_templates()
    x = np.log10(wavelength)
    tau = np.interp(x, loglam, o2, left=0, right=0) + water * np.interp(
        x, loglam, h2o, left=0, right=0
    )
    return np.exp(-tau * airmass)


# Interstellar absorption lines at rest in the observer's frame (vacuum Å) and their share of the Na
# D equivalent width.
_INTERSTELLAR = ((5891.58, 0.55), (5897.56, 0.45), (3934.78, 0.35), (3969.59, 0.2))


def interstellar_absorption(wavelength, ebv):
    """Transmission of the interstellar Na I D and Ca II H&K lines for a colour excess E(B−V).

    EW(D1 + D2) follows Poznanski, Prochaska & Bloom (2012, MNRAS 426, 1465):
    log10 E(B−V) = 1.17 EW − 1.85; Ca II K and H are given a third and a fifth of it.

    Examples
    --------
    >>> import numpy as np
    >>> wave = np.linspace(5880.0, 5910.0, 3000)
    >>> ew = np.trapezoid(1 - interstellar_absorption(wave, 0.3), wave)
    >>> round(float(ew), 2)
    1.13
    """
    if ebv <= 0.015:
        return np.ones_like(wavelength)
    total = (np.log10(ebv) + 1.85) / 1.17
    deficit = np.zeros_like(wavelength)
    for centre, share in _INTERSTELLAR:
        # Several clouds along the line of sight spread each line over ~25 km/s (σ).
        sigma = centre * 25.0 / C_KMS
        lo, hi = np.searchsorted(wavelength, [centre - 8 * sigma, centre + 8 * sigma])
        deficit[lo:hi] += (
            total
            * share
            / (np.sqrt(2 * np.pi) * sigma)
            * np.exp(-0.5 * ((wavelength[lo:hi] - centre) / sigma) ** 2)
        )
    return 1.0 - np.minimum(deficit, 0.95)


def _calibration_error(wavelength, coefficients, arm_step):
    x = (np.log(wavelength) - np.log(3690.0)) / (np.log(9100.0) - np.log(3690.0)) * 2 - 1
    smooth_error = np.exp(np.polynomial.legendre.legval(x, coefficients))
    # The red arm's flux scale may not match the blue's: a step through the dichroic crossover.
    step = 1.0 + arm_step / (1.0 + np.exp(-(wavelength - 5820.0) / 30.0))
    return smooth_error * step


def observe(grid, model_flux, conditions, snr, rng):
    """Turn an observed-frame model spectrum into LAMOST pixels, noise and mask.

    Parameters
    ----------
    grid : `~spec_o3.simulate.grid.ModelGrid`
    model_flux : `numpy.ndarray`
        The object's flux on ``grid`` (observed frame, any units).
    conditions : `Conditions`
    snr : float
        Target median S/N per pixel over the spectrum's valid pixels.
    rng : `numpy.random.Generator`

    Returns
    -------
    flux, ivar : `numpy.ndarray`
        On `~spec_o3.simulate.grid.lamost_wavelength`, in 1e-17 erg s⁻¹ cm⁻² Å⁻¹.
    mask : `numpy.ndarray` of bool
        True where a pixel holds no usable data.
    band_snr : dict
        Achieved median S/N per pixel in the u, g, r, i, z ranges (LAMOST's SN_U ... SN_Z).
    """
    flux = _through_atmosphere(grid, model_flux, conditions)
    flux = grid.to_lamost(smooth(flux, _line_spread(grid, conditions.resolution)))
    wave = lamost_wavelength().value
    t = throughput(wave)
    mask = t < 0.02
    if conditions.dichroic_gap is not None:
        mask |= (wave > conditions.dichroic_gap[0]) & (wave < conditions.dichroic_gap[1])
    if conditions.mask_a_band:
        mask |= (wave > 7581.0) & (wave < 7680.0)
    return _expose(wave, flux, t, mask, conditions, snr, rng)


def degrade_to_survey(
    wavelength, flux, fwhm, *, snr, seed, resolution=1800.0, survey="lamost", ebv=0.0
):
    """A real spectrum of higher resolution as LAMOST (or DESI) would record it: a
    `~specutils.Spectrum`.

    The spectrum is convolved with the Gaussian that takes its resolution (``fwhm`` in Å, at the
    geometric middle of its range) to ``resolution``, rebinned onto the LAMOST pixels of
    `~spec_o3.simulate.grid.lamost_wavelength` that it covers, and given Gaussian noise at median
    S/N ``snr``, poorer at the blue end as in LAMOST, with the matching inverse variance. Zero or
    non-finite input pixels (gaps) are masked on the output grid. With ``survey="desi"`` the
    pixels are those of DESI's joined arms (0.8 Å, 3600–9824 Å), each at its arm's resolution
    (`DESI_RESOLUTION`; ``resolution`` is not used), and the noise rises at both ends as DESI's
    throughput falls. With ``ebv`` the spectrum is first put behind that much more dust, as
    `observe` puts simulated spectra: `~spec_o3.simulate.extinction.redden` and
    `interstellar_absorption` on the fine grid, before the convolution (the interstellar lines thus
    keep their equivalent width, though the input's own resolution does not broaden them). Library
    and standard-star spectra go through it before the expert or the realism checks see them;
    simulated spectra go through `observe`, which models the instrument itself.

    Parameters
    ----------
    wavelength : `numpy.ndarray`
        Vacuum wavelengths in Å, increasing.
    flux : `numpy.ndarray`
        F_λ in any units (the result is in 1e-17 erg s⁻¹ cm⁻² Å⁻¹ nominally).
    fwhm : float
        Resolution of the input (FWHM, Å).
    snr : float
        Median S/N per pixel of the result.
    seed : int
        Seed of the noise.
    resolution : float, optional
        Resolving power of the result (LAMOST).
    survey : {"lamost", "desi"}, optional
        Whose pixels, resolution and noise the result has.
    ebv : float, optional
        Interstellar E(B−V) (R_V = 3.1) added to what the input already has.

    Returns
    -------
    `~specutils.Spectrum`

    Examples
    --------
    >>> import numpy as np
    >>> wave = np.linspace(3500.0, 7500.0, 8001)
    >>> survey = degrade_to_survey(wave, np.ones_like(wave), 2.5, snr=30, seed=0)
    >>> len(survey.flux), bool(abs(np.median(survey.flux.value) - 1) < 0.01)
    (3081, True)
    >>> len(degrade_to_survey(wave, np.ones_like(wave), 2.5, snr=30, seed=0, survey="desi").flux)
    4876
    """
    import astropy.units as u
    from astropy.nddata import InverseVariance
    from specutils import Spectrum

    if survey not in _SURVEY_PIXELS:
        raise ValueError(f"survey must be one of {', '.join(_SURVEY_PIXELS)}, got {survey!r}")
    good = np.isfinite(flux) & (flux != 0)
    lo, hi = wavelength[good].min(), wavelength[good].max()
    grid, resolving = _SURVEY_PIXELS[survey](resolution)
    out = grid[(grid >= lo) & (grid <= hi)]
    # Convolve on a fine log grid with the Gaussian that takes the input to the target resolution.
    fine = 10 ** np.arange(np.log10(out[0]) - 2e-3, np.log10(out[-1]) + 2e-3, 1e-5)
    fine_flux = np.interp(fine, wavelength[good], flux[good])
    if ebv:
        fine_flux = fine_flux * redden(fine, ebv) * interstellar_absorption(fine, ebv)
    v_in = C_KMS * fwhm / np.sqrt(lo * hi)
    rebinned = np.zeros(out.size)
    for (low, high), power in resolving:  # each arm at its own resolution
        inside = (out >= low) & (out < high)
        if inside.any():
            sigma_kms = np.sqrt(max((C_KMS / power) ** 2 - v_in**2, 1.0)) / 2.3548
            sigma_pix = sigma_kms / (C_KMS * np.log(10) * 1e-5)
            x = np.arange(-int(5 * sigma_pix) - 1, int(5 * sigma_pix) + 2)
            kernel = np.exp(-0.5 * (x / sigma_pix) ** 2)
            smoothed = np.convolve(fine_flux, kernel / kernel.sum(), mode="same")
            rebinned[inside] = np.interp(out[inside], fine, smoothed)
    gap = np.interp(out, wavelength, (~good).astype(float)) > 0.01
    noise = np.nanmedian(rebinned) / snr * np.interp(out, *_NOISE_SHAPE[survey])
    noisy = rebinned + np.random.default_rng(seed).normal(size=out.size) * noise
    return Spectrum(
        flux=noisy * u.Unit("1e-17 erg / (s cm2 Angstrom)"),
        spectral_axis=out * u.AA,
        uncertainty=InverseVariance(1 / noise**2),
        mask=gap,
    )


def _lamost_pixels(resolution):
    return lamost_wavelength().value, [((0.0, np.inf), resolution)]


def _desi_pixels(resolution):
    """DESI's joined axis, and each arm's resolution up to the middle of its next overlap."""
    from .grid import DESI_STEP, desi_wavelength

    first, last = desi_wavelength("b")[0].value, desi_wavelength("z")[-1].value
    axis = first + DESI_STEP * np.arange(round((last - first) / DESI_STEP) + 1)
    edges = [0.0, 5780.0, 7570.0, np.inf]  # the middles of the b/r and r/z overlaps
    ranges = zip(edges[:-1], edges[1:], strict=True)
    return axis, list(zip(ranges, DESI_RESOLUTION.values(), strict=True))


#: Output pixels and resolution per wavelength range of each survey `degrade_to_survey` knows.
_SURVEY_PIXELS = {"lamost": _lamost_pixels, "desi": _desi_pixels}
#: Noise relative to its median (Å, factor knots): LAMOST's poor blue end; DESI's two falling ends.
_NOISE_SHAPE = {
    "lamost": ([3700, 4500, 6000, 9000], [3.0, 1.3, 1.0, 1.2]),
    "desi": ([3600, 4000, 5000, 7000, 9000, 9824], [2.5, 1.3, 1.0, 1.0, 1.3, 2.0]),
}

#: Resolving power of each DESI arm at its centre (DESI Collaboration 2022, AJ 164, 207: R rises
#: from ~2000 at 3600 Å to ~5000 at 9800 Å).
DESI_RESOLUTION = {"b": 2600.0, "r": 3700.0, "z": 4600.0}
#: Relative throughput of each DESI arm, (Å, throughput) knots: each fades at its dichroic edge
#: and the b arm into the atmospheric UV cut-off; after the DESI instrument paper's Fig. 29.
_DESI_THROUGHPUT = {
    "b": ((3600, 3800, 4200, 5000, 5600, 5800), (0.25, 0.55, 0.85, 1.0, 0.9, 0.5)),
    "r": ((5760, 5900, 6500, 7300, 7620), (0.5, 0.9, 1.0, 0.95, 0.6)),
    "z": ((7520, 7700, 8300, 9000, 9824), (0.5, 0.9, 1.0, 0.8, 0.35)),
}


def observe_desi(grid, model_flux, conditions, snr, rng):
    """Turn an observed-frame model spectrum into the pixels of DESI's three arms.

    Each arm sees the spectrum at its own resolution (`DESI_RESOLUTION`) on its own 0.8 Å grid
    (`~spec_o3.simulate.grid.desi_wavelength`); where the arms overlap, each pixel is observed
    twice with independent noise, as in a DESI file. The sky, calibration errors, cosmic rays and
    bad columns are those of `observe`; there is no zeroed dichroic gap.

    Parameters
    ----------
    grid : `~spec_o3.simulate.grid.ModelGrid`
        Covering 3600–9824 Å (``ModelGrid(start=3600, end=9824, oversample=6)``).
    model_flux, conditions, snr, rng
        As for `observe` (``conditions.resolution`` is not used).

    Returns
    -------
    arms : dict
        Arm name -> (wavelength, flux, ivar, mask), the flux in 1e-17 erg s⁻¹ cm⁻² Å⁻¹.
    band_snr : dict
        As for `observe`.
    """
    from .grid import DESI_STEP, desi_wavelength

    flux = _through_atmosphere(grid, model_flux, conditions)
    waves, fluxes = [], []
    for arm, resolution in DESI_RESOLUTION.items():
        wave = desi_wavelength(arm).value
        smoothed = smooth(flux, _line_spread(grid, resolution))
        # Mean over each 0.8 Å pixel, from the running integral of the fine model.
        integral = np.concatenate(
            [[0.0], np.cumsum(0.5 * (smoothed[1:] + smoothed[:-1]) * np.diff(grid.wavelength))]
        )
        edges = np.interp(wave + DESI_STEP / 2, grid.wavelength, integral) - np.interp(
            wave - DESI_STEP / 2, grid.wavelength, integral
        )
        waves.append(wave)
        fluxes.append(edges / DESI_STEP)
    wave = np.concatenate(waves)
    t = np.concatenate(
        [np.interp(w, *_DESI_THROUGHPUT[arm]) for arm, w in zip("brz", waves, strict=True)]
    )
    flux, ivar, mask, band_snr = _expose(
        wave, np.concatenate(fluxes), t, t < 0.02, conditions, snr, rng
    )
    bounds = np.cumsum([0, *(w.size for w in waves)])
    arms = {
        arm: (waves[i], *(a[bounds[i] : bounds[i + 1]] for a in (flux, ivar, mask)))
        for i, arm in enumerate("brz")
    }
    return arms, band_snr


def _through_atmosphere(grid, model_flux, conditions):
    """The model flux after interstellar reddening and absorption and the telluric bands."""
    if not np.all(np.isfinite(model_flux)) or np.any(model_flux < 0):
        raise ValueError("model flux must be finite and non-negative")
    fine = grid.wavelength
    return (
        model_flux
        * redden(fine, conditions.ebv)
        * interstellar_absorption(fine, conditions.ebv)
        * telluric_transmission(fine, conditions.airmass, conditions.water)
    )


def _line_spread(grid, resolution):
    """Gaussian sigma of the line spread at ``resolution``, in model pixels."""
    return C_KMS / resolution / 2.3548 / grid.pixel_velocity


def _expose(wave, flux, t, mask, conditions, snr, rng):
    """Calibration error, sky, noise and defects on pixels at ``wave`` of throughput ``t``.

    ``mask`` flags pixels without data before defects are drawn; the flux is scaled to a median
    of 1 before the noise is set for the target ``snr``, then to ``conditions.flux_scale``.
    """
    flux = flux * _calibration_error(wave, conditions.calibration, conditions.arm_step)
    level = np.median(flux[flux > 0]) if np.any(flux > 0) else 1.0
    flux = flux / level

    sky_continuum, sky_lines = sky_spectrum(wave, conditions.resolution)
    sky = conditions.sky_level * (sky_continuum + sky_lines)
    read = 0.02  # read noise and dark, in units of the median object signal at full throughput
    per_unit = np.where(
        t > 0, t * np.clip(flux, 0, None) / np.sqrt(t * np.clip(flux, 0, None) + t * sky + read), 0
    )
    valid_signal = per_unit[per_unit > 0]
    gain = (snr / np.median(valid_signal)) ** 2 if valid_signal.size else 1.0
    sigma = np.sqrt(np.clip(flux, 0, None) * t + sky * t + read) / (
        np.sqrt(gain) * np.maximum(t, 1e-3)
    )

    # Sky subtraction leaves scaled and slightly shifted copies of the emission lines.
    shift = rng.normal(0.0, 0.1)
    residual = conditions.sky_level * (
        conditions.sky_residual * rng.choice([-1, 1]) * sky_lines + shift * np.gradient(sky_lines)
    )
    noisy = flux + residual + rng.normal(0.0, 1.0, flux.size) * sigma

    mask = mask.copy()
    for _ in range(conditions.bad_columns):
        start = rng.integers(0, flux.size - 6)
        mask[start : start + rng.integers(1, 6)] = True
    for _ in range(conditions.cosmic_rays):
        pixel = rng.integers(0, flux.size - 2)
        noisy[pixel : pixel + rng.integers(1, 3)] += rng.uniform(5.0, 40.0) * sigma[pixel]

    ivar = np.where(mask, 0.0, 1.0 / sigma**2)
    noisy[mask] = 0.0
    scale = conditions.flux_scale
    band_snr = {}
    for band, (lo, hi) in SNR_BANDS.items():
        inside = (wave >= lo) & (wave < hi) & ~mask
        band_snr[band] = (
            float(np.median(np.abs(noisy[inside]) * np.sqrt(ivar[inside]))) if inside.any() else 0.0
        )
    return noisy * scale, ivar / scale**2, mask, band_snr
