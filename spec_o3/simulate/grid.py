"""Wavelength grids: the LAMOST low-resolution log-linear grid and the finer model grid below it."""

import astropy.units as u
import numpy as np

__all__ = [
    "LAMOST_LOGLAM_START",
    "LAMOST_DLOGLAM",
    "OVERSAMPLE",
    "lamost_wavelength",
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


class ModelGrid:
    """The observed-frame grid on which a spectrum is modelled before the instrument bins it.

    It oversamples the LAMOST grid by `OVERSAMPLE` and extends it by ``pad`` LAMOST pixels on each
    side so that the line-spread convolution has no edge effects inside the delivered range.

    Parameters
    ----------
    pad : int
        LAMOST pixels of padding on each side.

    Examples
    --------
    >>> grid = ModelGrid()
    >>> grid.wavelength.size == (3921 + 2 * grid.pad) * OVERSAMPLE
    True
    """

    def __init__(self, pad=12):
        self.pad = pad
        self.dloglam = LAMOST_DLOGLAM / OVERSAMPLE
        n_lamost = _NPIX + 2 * pad
        # Sub-pixel centres spread symmetrically about each LAMOST pixel centre.
        offsets = (np.arange(OVERSAMPLE) - (OVERSAMPLE - 1) / 2) * self.dloglam
        centres = LAMOST_LOGLAM_START + LAMOST_DLOGLAM * (np.arange(n_lamost) - pad)
        self.loglam = (centres[:, None] + offsets[None, :]).ravel()
        #: Observed-frame vacuum wavelengths in Å (plain floats: the model works in Å throughout).
        self.wavelength = 10**self.loglam
        #: Velocity width of one model pixel in km/s.
        self.pixel_velocity = 299792.458 * np.log(10) * self.dloglam

    def to_lamost(self, values):
        """Average model-grid values into LAMOST pixels and drop the padding."""
        binned = values.reshape(-1, OVERSAMPLE).mean(axis=1)
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
