"""Emission lines added to a model spectrum: Gaussian (narrow or broad) and Keplerian-disc profiles.

Line strengths are given as rest-frame equivalent widths against a reference continuum, so that a
line keeps its EW when the continuum shape changes; the flux drawn is EW × (1 + z) × continuum at
the line.
"""

import numpy as np

from .constants import C_KMS
from .profiles import disc_profile

__all__ = ["gaussian_lines", "disc_lines"]

_MIN_SIGMA_KMS = 15.0  # below this the model grid (17 km/s) under-samples the profile


def _flux_scale(grid_wavelength, continuum, centre):
    return np.interp(centre, grid_wavelength, continuum)


def gaussian_lines(grid_wavelength, continuum, doppler_factor, centres, ews, sigma_kms):
    """Sum of Gaussian emission lines.

    Parameters
    ----------
    grid_wavelength : `numpy.ndarray`
        Observed-frame wavelengths (Å).
    continuum : `numpy.ndarray`
        Reference continuum on the grid for the equivalent widths.
    doppler_factor : float
        1 + z.
    centres, ews : array-like
        Rest wavelengths (Å) and rest equivalent widths (Å, positive for emission).
    sigma_kms : float or array-like
        Gaussian σ in km/s (at least 15 km/s is drawn).

    Returns
    -------
    flux : `numpy.ndarray`
        Additive emission on the grid.

    Examples
    --------
    >>> import numpy as np
    >>> wave = np.linspace(6500.0, 6630.0, 5000)
    >>> line = gaussian_lines(wave, np.ones_like(wave), 1.0, [6564.6], [10.0], 100.0)
    >>> round(float(np.trapezoid(line, wave)), 2)
    10.0
    """
    centres = np.atleast_1d(np.asarray(centres, dtype=float)) * doppler_factor
    ews = np.broadcast_to(np.asarray(ews, dtype=float), centres.shape) * doppler_factor
    sigmas = np.broadcast_to(
        np.maximum(np.asarray(sigma_kms, dtype=float), _MIN_SIGMA_KMS), centres.shape
    )
    flux = np.zeros_like(grid_wavelength)
    for centre, ew, sigma_v in zip(centres, ews, sigmas, strict=False):
        if ew == 0:
            continue
        sigma = centre * sigma_v / C_KMS
        lo, hi = np.searchsorted(grid_wavelength, [centre - 6 * sigma, centre + 6 * sigma])
        x = (grid_wavelength[lo:hi] - centre) / sigma
        flux[lo:hi] += (
            ew
            * _flux_scale(grid_wavelength, continuum, centre)
            / (np.sqrt(2 * np.pi) * sigma)
            * np.exp(-0.5 * x**2)
        )
    return flux


def disc_lines(
    grid_wavelength,
    continuum,
    doppler_factor,
    centres,
    ews,
    v_inner,
    r_ratio=30.0,
    emissivity_index=1.5,
    smoothing_kms=40.0,
):
    """Sum of double-peaked emission lines from a Keplerian accretion disc.

    Parameters
    ----------
    grid_wavelength, continuum, doppler_factor, centres, ews
        As for `gaussian_lines`.
    v_inner : float
        Projected Keplerian velocity at the disc's inner radius (km/s); the peaks lie near
        ±v_inner/√r_ratio, the velocity of the outer rim.
    r_ratio, emissivity_index : float
        Disc extent and emissivity law, see ``disc_profile``.
    smoothing_kms : float
        Local (thermal and turbulent) broadening, σ in km/s.

    Examples
    --------
    >>> import numpy as np
    >>> wave = np.linspace(6400.0, 6730.0, 8000)
    >>> line = disc_lines(wave, np.ones_like(wave), 1.0, [6564.6], [50.0], 3000.0, r_ratio=20.0)
    >>> round(float(np.trapezoid(line, wave)), 0)
    50.0
    """
    centres = np.atleast_1d(np.asarray(centres, dtype=float)) * doppler_factor
    ews = np.broadcast_to(np.asarray(ews, dtype=float), centres.shape) * doppler_factor
    flux = np.zeros_like(grid_wavelength)
    reach_kms = 1.3 * v_inner + 5 * smoothing_kms
    for centre, ew in zip(centres, ews, strict=False):
        if ew == 0:
            continue
        lo, hi = np.searchsorted(
            grid_wavelength, [centre * (1 - reach_kms / C_KMS), centre * (1 + reach_kms / C_KMS)]
        )
        velocity = (grid_wavelength[lo:hi] / centre - 1) * C_KMS
        profile = disc_profile(velocity, v_inner, r_ratio, emissivity_index)
        step = velocity[1] - velocity[0] if velocity.size > 1 else 1.0
        kernel_v = np.arange(-4 * smoothing_kms, 4 * smoothing_kms + step, step)
        kernel = np.exp(-0.5 * (kernel_v / smoothing_kms) ** 2)
        profile = np.convolve(profile, kernel / kernel.sum(), mode="same")
        # profile is per km/s: convert to per Å at this line.
        flux[lo:hi] += (
            ew * _flux_scale(grid_wavelength, continuum, centre) * profile * C_KMS / centre
        )
    return flux
