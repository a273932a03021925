"""Line profile shapes and the curve of growth linking a line's opacity to its equivalent width."""

from functools import cache

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.special import voigt_profile

__all__ = ["curve_of_growth", "render_strength", "stark_profile", "disc_profile", "deposit"]

_SQRT_PI = np.sqrt(np.pi)
_LOG_TAU0 = np.linspace(-3.0, 8.0, 56)
_LOG_A = np.linspace(-5.0, 1.0, 25)


@cache
def _cog_table():
    """Reduced equivalent widths W/Δλ_D of Voigt lines over a (log τ0, log a) grid.

    τ(v) = τ0 H(a, v) / H(a, 0) with v = Δλ/Δλ_D; W/Δλ_D = ∫ (1 − e^(−τ)) dv. Computed once, on
    demand.
    """
    v = np.concatenate([np.linspace(0, 10, 800, endpoint=False), np.geomspace(10, 3e5, 800)])
    dv = np.gradient(v)
    table = np.empty((_LOG_A.size, _LOG_TAU0.size))
    for i, a in enumerate(10**_LOG_A):
        shape = voigt_profile(v, 1 / np.sqrt(2), a)  # H(a, v)/√π for Δλ_D = 1
        shape = shape / shape[0]
        tau = 10 ** _LOG_TAU0[:, None] * shape[None, :]
        table[i] = 2 * np.sum(-np.expm1(-tau) * dv, axis=1)
    return np.log10(table)


def _log_w(log_tau0, log_a):
    """Bilinear interpolation of log10(W/Δλ_D) in the curve-of-growth table (clipped in a)."""
    table = _cog_table()
    ia = np.clip(
        (np.asarray(log_a) - _LOG_A[0]) / (_LOG_A[1] - _LOG_A[0]), 0, _LOG_A.size - 1.000001
    )
    it = np.clip(
        (np.asarray(log_tau0) - _LOG_TAU0[0]) / (_LOG_TAU0[1] - _LOG_TAU0[0]),
        0,
        _LOG_TAU0.size - 1.000001,
    )
    i0, j0 = ia.astype(int), it.astype(int)
    fa, ft = ia - i0, it - j0
    inside = (
        (1 - fa) * (1 - ft) * table[i0, j0]
        + fa * (1 - ft) * table[i0 + 1, j0]
        + (1 - fa) * ft * table[i0, j0 + 1]
        + fa * ft * table[i0 + 1, j0 + 1]
    )
    # Below the table every line is optically thin: W grows linearly with τ0.
    return inside + np.minimum(np.asarray(log_tau0) - _LOG_TAU0[0], 0.0)


def _central_depth_factor(a):
    """H(a, 0) over a pure Doppler core's: integrated opacity S gives τ0 = S·H(a,0)/(√π Δλ_D)."""
    return voigt_profile(0.0, 1 / np.sqrt(2), a) * _SQRT_PI


def curve_of_growth(strength, doppler_width, damping_width):
    """Equivalent width of a Voigt absorption line (Å), in the limit of full line depth.

    Parameters
    ----------
    strength : array-like
        Integrated optical depth S = ∫ τ dλ in Å (the equivalent width the line would have if it
        were optically thin).
    doppler_width : array-like
        Doppler width Δλ_D = λ b / c in Å (thermal and microturbulent).
    damping_width : array-like
        Lorentzian half width at half maximum of the opacity, in Å.

    Returns
    -------
    ew : `numpy.ndarray`
        Equivalent width in Å.

    Examples
    --------
    >>> import numpy as np
    >>> bool(np.isclose(curve_of_growth(1e-3, 0.05, 1e-4), 1e-3, rtol=0.01))  # weak: W = S
    True
    >>> bool(curve_of_growth(1e4, 0.05, 0.01) > 15)  # damping wings of a Ca II K-like line
    True
    """
    strength, doppler, gamma = np.broadcast_arrays(
        *map(np.asarray, (strength, doppler_width, damping_width))
    )
    a = np.maximum(gamma / doppler, 1e-5)
    tau0 = strength * _central_depth_factor(a) / (_SQRT_PI * doppler)
    return 10 ** _log_w(np.log10(np.maximum(tau0, 1e-30)), np.log10(a)) * doppler


def render_strength(ew, render_width, damping_width):
    """Integrated opacity giving equivalent width ``ew`` to a line drawn with a broader core.

    Lines are drawn on a grid coarser than thermal widths, with a Doppler core of ``render_width``.
    Inverting the curve of growth at that width keeps each line's equivalent width (and, for damped
    lines, its wings) while its core is broadened, as macroturbulence and rotation would broaden it.

    Examples
    --------
    >>> import numpy as np
    >>> s = render_strength(np.array([0.1]), np.array([0.3]), np.array([1e-3]))
    >>> bool(np.isclose(curve_of_growth(s, 0.3, 1e-3), 0.1, rtol=0.02)[0])
    True
    """
    ew, width, gamma = np.broadcast_arrays(*map(np.atleast_1d, (ew, render_width, damping_width)))
    a = np.maximum(gamma / width, 1e-5)
    target = np.log10(np.maximum(ew, 1e-30) / width).ravel()
    curves = _log_w(
        _LOG_TAU0[None, :], np.log10(a).ravel()[:, None]
    )  # one curve of growth per line
    # Invert each monotonic curve by linear interpolation between the bracketing table points.
    above = np.clip((curves < target[:, None]).sum(axis=1), 1, _LOG_TAU0.size - 1)
    rows = np.arange(target.size)
    w0, w1 = curves[rows, above - 1], curves[rows, above]
    frac = (target - w0) / np.where(w1 > w0, w1 - w0, 1.0)
    log_tau0 = _LOG_TAU0[above - 1] + frac * (_LOG_TAU0[1] - _LOG_TAU0[0])
    return (10**log_tau0).reshape(ew.shape) * _SQRT_PI * width / _central_depth_factor(a)


def stark_profile(offset, half_width):
    """Holtsmark-like profile of linear-Stark broadened hydrogen and helium lines, unit peak.

    The quasi-static ion field gives wings falling as |Δλ|^(-5/2) (Holtsmark 1919; Griem 1974),
    steeper than a Lorentzian and much wider than the Doppler core; ``half_width`` is the half width
    at half maximum in Å.

    Examples
    --------
    >>> float(stark_profile(0.0, 10.0)), float(stark_profile(10.0, 10.0))
    (1.0, 0.5)
    """
    return 1.0 / (1.0 + np.abs(offset / half_width) ** 2.5)


@cache
def _disc_template(emissivity_index, r_ratio, n=401):
    """Normalised Keplerian-disc profile against u = v / (v_K(R_in) sin i), u in [-1.2, 1.2]."""
    u = np.linspace(-1.2, 1.2, n)
    radii = np.geomspace(1.0, r_ratio, 200)
    # Each annulus emits ∝ r^(1-q) dr; its projected velocities v = v_K(r) sin i cos φ give the
    # 1/sqrt(1 − (v/v_r)²) horns (Smak 1981; Horne & Marsh 1986).
    v_ring = radii**-0.5
    weights = radii ** (1.0 - emissivity_index) * np.gradient(radii)
    x = u[:, None] / v_ring[None, :]
    inside = np.abs(x) < 1
    ring = np.where(inside, 1.0 / np.sqrt(np.clip(1 - x**2, 1e-3, None)) / v_ring[None, :], 0.0)
    profile = ring @ weights
    return u, profile / np.trapezoid(profile, u)


def disc_profile(velocity, v_inner, r_ratio=30.0, emissivity_index=1.5):
    """Double-peaked emission profile of a Keplerian accretion disc (per km/s, unit integral).

    Parameters
    ----------
    velocity : array-like
        Line-of-sight velocity in km/s.
    v_inner : float
        Projected Keplerian velocity at the inner radius, v_K(R_in) sin i, in km/s; the peaks sit
        near v_K(R_out) sin i = v_inner / sqrt(r_ratio).
    r_ratio : float
        Outer over inner disc radius.
    emissivity_index : float
        Line emissivity ∝ r^(−q).

    Examples
    --------
    >>> import numpy as np
    >>> v = np.linspace(-3000, 3000, 601)
    >>> p = disc_profile(v, 3000.0, r_ratio=25.0)
    >>> bool(p[300] < p[np.argmax(p)])  # double-peaked: the centre is a trough
    True
    """
    u, template = _disc_template(float(emissivity_index), float(r_ratio))
    return np.interp(np.asarray(velocity) / v_inner, u, template, left=0.0, right=0.0) / v_inner


def deposit(positions, weights, size):
    """Spread weights at fractional pixel positions onto a grid, linearly (sums are kept)."""
    low = np.floor(positions).astype(int)
    frac = positions - low
    grid = np.zeros(size)
    for index, w in ((low, weights * (1 - frac)), (low + 1, weights * frac)):
        ok = (index >= 0) & (index < size)
        grid += np.bincount(index[ok], weights=w[ok], minlength=size)
    return grid


def smooth(values, sigma_pixels):
    """Gaussian smoothing in pixels (nearest-value edges): line forests and the line spread."""
    return gaussian_filter1d(values, sigma_pixels, mode="nearest", truncate=4.0)
