"""A stellar photosphere on the model grid: continuum, metal lines, Stark H/He lines, molecules."""

from dataclasses import dataclass, field

import numpy as np

from . import stark
from .atomic import forest_opacity, metal_line_opacity
from .constants import ZEEMAN_SHIFT
from .continuum import planck
from .molecules import Chemistry, molecular_transmission
from .profiles import stark_profile

__all__ = ["Photosphere"]

#: Largest fractional depth of a saturated metal-line core.
METAL_CORE_DEPTH = 0.9
# Holtsmark-like profile 1/(1 + |x|^2.5) integrates to 2.642 half widths.
_STARK_AREA = 2.0 * (np.pi / 2.5) / np.sin(np.pi / 2.5)


@dataclass
class Photosphere:
    """Physical parameters of a stellar atmosphere and the spectrum they produce.

    Parameters
    ----------
    teff : float
        Effective temperature (K).
    logg : float
        log10 surface gravity (cgs).
    metallicity : float
        [M/H] (dex).
    microturbulence : float
        km/s (1 in dwarfs, 2–3 in giants).
    broadening : float
        Gaussian σ (km/s) of macroturbulence and rotation, at least the model-grid sampling.
    c_to_o, s_process, nitrogen, c13_fraction : float
        Chemistry of the molecular bands, see `~spec_o3.simulate.molecules.Chemistry`.
    hydrogen, helium : float
        Abundance offsets (dex) of H and He lines (−5 hides hydrogen in a DB white dwarf).
    abundances : dict
        Extra [X/M] offsets by element (e.g. ``{"Ca": 0.3}``).
    line_scale : dict
        Multiplicative factors on named strong lines.
    molecule_scale : dict
        Multiplicative factors on the optical depth of whole molecules.
    metal_lines : bool
        Draw metal lines and molecules (off for DA/DB white dwarfs, whose atmospheres are pure H or
        He).
    zeeman_field : float
        Surface magnetic field in MG: each hydrogen line splits into the linear Zeeman triplet,
        shifted by ±e λ² B/(4π m_e c²) ≈ 4.67e-13 λ² B Å (λ in Å, B in G), the components
        smeared by the spread of field over the surface.
    """

    teff: float
    logg: float
    metallicity: float = 0.0
    microturbulence: float = 1.5
    broadening: float = 20.0
    c_to_o: float = 0.55
    s_process: float = 0.0
    nitrogen: float = 0.0
    c13_fraction: float = 0.02
    hydrogen: float = 0.0
    helium: float = 0.0
    abundances: dict = field(default_factory=dict)
    line_scale: dict = field(default_factory=dict)
    molecule_scale: dict = field(default_factory=dict)
    metal_lines: bool = True
    zeeman_field: float = 0.0

    def chemistry(self):
        """The molecular-equilibrium inputs of this photosphere."""
        return Chemistry(
            self.teff,
            self.logg,
            self.metallicity,
            self.c_to_o,
            self.s_process,
            self.nitrogen,
            self.c13_fraction,
        )

    def continuum(self, rest_wavelength):
        """Black-body continuum at the rest wavelengths (1 at 5500 Å)."""
        return planck(rest_wavelength, self.teff)

    def stark_opacity(self, grid_wavelength, doppler_factor):
        """Optical depth of the hydrogen and helium lines on the observed-frame grid, and the
        largest core depth there (`~spec_o3.simulate.stark.core_depth`, weighted by each line's
        optical depth where lines overlap)."""
        lines = stark.hydrogen_lines() + stark.helium_lines()
        strength, width = stark.stark_opacity_parameters(
            lines,
            self.teff,
            self.logg,
            helium_abundance=self.helium,
            hydrogen_abundance=self.hydrogen,
        )
        tau = np.zeros_like(grid_wavelength)
        depth_tau = np.zeros_like(grid_wavelength)
        floor = 0.3  # Å: keeps narrow cores sampled by the ~0.3 Å pixels (rotation is negligible)
        for line, s, w in zip(lines, strength, width, strict=False):
            for shift, share, width in self._components(line, max(w, floor)):
                tau0 = share * s / (_STARK_AREA * width)
                if tau0 < 1e-3:
                    continue
                centre = (line.wavelength + shift) * doppler_factor
                reach = min(width * (tau0 / 1e-3) ** 0.4, 2000.0) * doppler_factor
                lo, hi = np.searchsorted(grid_wavelength, [centre - reach, centre + reach])
                line_tau = tau0 * stark_profile(
                    grid_wavelength[lo:hi] - centre, width * doppler_factor
                )
                tau[lo:hi] += line_tau
                depth_tau[lo:hi] += stark.core_depth(line) * line_tau
        depth = np.divide(depth_tau, tau, out=np.full_like(tau, stark.CORE_DEPTH), where=tau > 0)
        return tau, depth

    def _components(self, line, width):
        """(shift Å, share of the strength, half width Å) of a line's Zeeman components."""
        if self.zeeman_field <= 0 or line.element != "H":
            return ((0.0, 1.0, width),)
        split = ZEEMAN_SHIFT * line.wavelength**2 * self.zeeman_field * 1e6
        smeared = float(np.hypot(width, 0.25 * split))
        return (
            (-split, 0.25, smeared),
            (0.0, 0.5, float(np.hypot(width, 0.1 * split))),
            (split, 0.25, smeared),
        )

    def spectrum(self, grid, doppler_factor):
        """Flux (arbitrary units) of this photosphere on a `~spec_o3.simulate.grid.ModelGrid`.

        Parameters
        ----------
        grid : `~spec_o3.simulate.grid.ModelGrid`
        doppler_factor : float
            1 + z of the star (radial velocity, gravitational redshift).

        Returns
        -------
        flux, continuum : `numpy.ndarray`
            The spectrum and its line-free continuum.

        Examples
        --------
        >>> from spec_o3.simulate.grid import ModelGrid
        >>> grid = ModelGrid()
        >>> flux, continuum = Photosphere(teff=5777.0, logg=4.44).spectrum(grid, 1.0)
        >>> bool((flux <= continuum * 1.000001).all())
        True
        """
        wave = grid.wavelength
        continuum = self.continuum(wave / doppler_factor)
        tau, depth = self.stark_opacity(wave, doppler_factor)
        absorbed = 1.0 - depth * -np.expm1(-tau)
        if self.metal_lines:
            metals = self.metallicity
            abundance = self.abundances

            def element_abundance(element):
                return metals + abundance.get(element, 0.0)

            tau_strong = metal_line_opacity(
                wave,
                doppler_factor,
                self.teff,
                self.logg,
                element_abundance,
                microturbulence=self.microturbulence,
                broadening=self.broadening,
                scale=self.line_scale,
            )
            tau_forest = forest_opacity(
                grid,
                doppler_factor,
                self.teff,
                self.logg,
                metals,
                microturbulence=self.microturbulence,
                broadening=self.broadening,
            )
            absorbed = (
                absorbed * (1.0 - METAL_CORE_DEPTH * -np.expm1(-tau_strong)) * np.exp(-tau_forest)
            )
            transmission, _ = molecular_transmission(
                wave, doppler_factor, self.chemistry(), extra=self.molecule_scale
            )
            absorbed = absorbed * transmission
        return continuum * absorbed, continuum
