"""Wavelength grids: the LAMOST low-resolution log-linear grid, DESI's arms, and the finer model
grid below them."""

import astropy.units as u
import numpy as np

from .constants import C_KMS

__all__ = [
    "LAMOST_LOGLAM_START",
    "LAMOST_DLOGLAM",
    "OVERSAMPLE",
    "lamost_wavelength",
    "desi_wavelength",
    "ModelGrid",
    "air_to_vacuum",
]

#: log10 of the first LAMOST pixel centre (3690 Å) and the pixel step in log10(λ) (≈69 km/s).
LAMOST_LOGLAM_START = np.log10(3690.0)
LAMOST_DLOGLAM = 1e-4
#: Last wavelength covered by the simulated LAMOST spectra.
LAMOST_LAMBDA_END = 9100.0
#: Model sub-pixels per LAMOST pixel (≈17 km/s each: fine enough to sample the R≈1800 line spread).
OVERSAMPLE = 4

_NPIX = int(np.floor((np.log10(LAMOST_LAMBDA_END) - LAMOST_LOGLAM_START) / LAMOST_DLOGLAM)) + 1
#: DESI's pixel step (Å) on the linear grid shared by its three arms (desidatamodel coadd files).
DESI_STEP = 0.8


def lamost_wavelength():
    """Return the LAMOST LRS pixel centres (vacuum) used for every simulated spectrum.

    Returns
    -------
    wavelength : `~astropy.units.Quantity`
        3690–9100 Å on a log-linear grid with Δlog10 λ = 1e-4 (3921 pixels).

    Examples
    --------
    >>> from spec_o3.simulate.grid import lamost_wavelength
    >>> wave = lamost_wavelength()
    >>> len(wave), round(wave[0].value), round(wave[-1].value)
    (3921, 3690, 9100)
    """
    return 10 ** (LAMOST_LOGLAM_START + LAMOST_DLOGLAM * np.arange(_NPIX)) * u.AA


def desi_wavelength(arm):
    """Return the pixel centres (vacuum Å) of a DESI spectrograph arm, ``"b"``, ``"r"`` or ``"z"``.

    Examples
    --------
    >>> from spec_o3.simulate.grid import desi_wavelength
    >>> [desi_wavelength(arm).size for arm in "brz"]
    [2751, 2326, 2881]
    """
    from spec_o3.io.desi import DESI_ARMS

    low, high = DESI_ARMS[arm]
    return (low + DESI_STEP * np.arange(round((high - low) / DESI_STEP) + 1)) * u.AA


class ModelGrid:
    """The observed-frame grid on which a spectrum is modelled before the instrument bins it.

    It oversamples the LAMOST grid by ``oversample`` and extends it by ``pad`` LAMOST pixels on
    each side so that the line-spread convolution has no edge effects inside the delivered range.

    Parameters
    ----------
    pad : int
        LAMOST pixels of padding on each side.
    start, end : float, optional
        First and last LAMOST-step pixel centres (Å); the default is the LAMOST range (3690–9100
        Å), and DESI's takes ``start=3600, end=9824``.
    oversample : int
        Model sub-pixels per LAMOST pixel (6 samples DESI's R≈5000 z arm well).

    Examples
    --------
    >>> grid = ModelGrid()
    >>> grid.wavelength.size == (3921 + 2 * grid.pad) * OVERSAMPLE
    True
    """

    def __init__(self, pad=12, *, start=None, end=LAMOST_LAMBDA_END, oversample=OVERSAMPLE):
        self.pad, self.oversample = pad, oversample
        self.dloglam = LAMOST_DLOGLAM / oversample
        first = LAMOST_LOGLAM_START if start is None else np.log10(start)
        n_lamost = int(np.floor((np.log10(end) - first) / LAMOST_DLOGLAM)) + 1 + 2 * pad
        # Sub-pixel centres spread symmetrically about each LAMOST pixel centre.
        offsets = (np.arange(oversample) - (oversample - 1) / 2) * self.dloglam
        centres = first + LAMOST_DLOGLAM * (np.arange(n_lamost) - pad)
        self.loglam = (centres[:, None] + offsets[None, :]).ravel()
        #: Observed-frame vacuum wavelengths in Å (plain floats: the model works in Å throughout).
        self.wavelength = 10**self.loglam
        #: Velocity width of one model pixel in km/s.
        self.pixel_velocity = C_KMS * np.log(10) * self.dloglam

    def to_lamost(self, values):
        """Average model-grid values into LAMOST pixels and drop the padding."""
        binned = values.reshape(-1, self.oversample).mean(axis=1)
        return binned[self.pad : binned.size - self.pad]

    def index(self, wavelength):
        """Fractional model-pixel index of observed-frame wavelengths (Å)."""
        return (np.log10(wavelength) - self.loglam[0]) / self.dloglam


def air_to_vacuum(wavelength):
    """Convert air wavelengths in Å to vacuum (Morton 2000, ApJS 130, 403, eq. 8; the IAU standard).

    The simulator's supplementary line and band lists are tabulated in air, as the laboratory and
    atlas sources give them; the grid and the shipped catalogue are in vacuum.

    Examples
    --------
    >>> round(float(air_to_vacuum(6562.80)), 2)
    6564.61
    """
    wavelength = np.asarray(wavelength, dtype=float)
    s2 = (1e4 / wavelength) ** 2
    n = 1 + 8.34254e-5 + 2.406147e-2 / (130 - s2) + 1.5998e-4 / (38.9 - s2)
    return wavelength * n
