"""Molecular band absorption: band shapes from the catalogue's heads, strengths from chemistry.

Every band of the shipped catalogue (:func:`spec_o3.catalog.molecular_bands`) is drawn with its
head, its extent and the side it is degraded to; supplementary heads of the same systems that the
catalogue does not list (weaker vibrational sequences, isotopic 13C12C heads, SiC2, further VO and
CN heads) complete the pattern, so that a TiO star shows its saw-tooth and a carbon star its Swan
sequence.

A band's optical depth at its head falls off exponentially across the band, the way the rotational
lines thin out with J. Its strength follows the partial pressure of the molecule over the continuous
opacity, written as

    τ = τ_max × (abundance factor) × a × (P_e / P_e,ref)^(−ε) × 10^(β (log g − 4.5)),
    a = 1 / (1 + 10^(−D (θ − θ_half + γ (log g − 4.5)))),   θ = 5040 / Teff,

where a is the fraction of the limiting atom bound in the molecule — rising steeply with cooling
(effective dissociation slope D), earlier at high pressure, and saturating once all of it is bound
—, the electron-pressure factor is the H⁻ continuous opacity the band competes with, β an extra
gravity slope (for the hydrides CaH and MgH that mark dwarfs) and the abundance factor built from
the free carbon and oxygen left after CO formation:
oxides need free oxygen (C/O < 1), C2 and CN need free carbon (C/O > 1, C2 quadratically), so one
C/O parameter moves a star along the M – MS – S – SC – C sequence. The transmission of an unresolved
band of many lines saturates as exp(−τ/√(1 + τ/τ_s)) (a random band model with Lorentzian lines;
Goody 1952), so deep bands stay finite. Slopes and reference depths are calibrated on MILES/STELIB M
dwarfs and giants (``benchmarks/realism_check.py``).
"""

from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy.special import expit

from .atmosphere import electron_pressure
from .grid import air_to_vacuum
from .tables import read_table

__all__ = ["Band", "bands", "MOLECULES", "Chemistry", "molecular_transmission"]


@dataclass(frozen=True)
class Band:
    """A band: head (vacuum Å), side it absorbs on, e-folding length (Å), weight in its molecule."""

    name: str
    molecule: str
    head: float
    degraded: str
    length: float
    weight: float


def _molecules():
    """molecule -> (τ at the head of a weight-1 band when fully associated, θ at half association
    for log g = 4.5, association slope D, shift of θ_half per dex of gravity γ, electron-pressure
    exponent ε, extra gravity slope β, abundance key), from ``data/simulate_molecules.ecsv``."""
    return {
        str(row["molecule"]): (
            float(row["tau_max"]),
            5040 / float(row["t_half"]),
            float(row["slope"]),
            float(row["gravity_shift"]),
            float(row["pe_exponent"]),
            float(row["gravity_slope"]),
            str(row["abundance"]),
        )
        for row in read_table("simulate_molecules.ecsv")
    }


#: Molecular equilibrium parameters by molecule (see `_molecules`).
MOLECULES = _molecules()
#: Weight and e-folding length (fraction of the band's extent) of a catalogue band the band table
#: does not list.
_DEFAULT_WEIGHT, _DEFAULT_LENGTH_FRACTION = 0.6, 0.5
#: Optical-depth scale of saturation in the random band model.
TAU_SATURATION = 1.7


@cache
def bands():
    """All bands drawn by the simulator: catalogue rows first, then the supplementary heads.

    Weights, lengths and the supplementary heads are in ``data/simulate_bands.ecsv``.

    Examples
    --------
    >>> from spec_o3.simulate.molecules import bands
    >>> tio = [b for b in bands() if b.name == "TiO_7054"][0]
    >>> tio.degraded, round(tio.head)
    ('red', 7056)
    """
    from ..catalog import molecular_bands

    shapes = read_table("simulate_bands.ecsv")
    listed = {str(row["name"]): row for row in shapes if np.ma.is_masked(row["air_head"])}
    result = []
    for row in molecular_bands():
        molecule, name = str(row["molecule"]), str(row["name"])
        if molecule not in MOLECULES:
            continue
        head = float(row["bandhead"].to_value("AA"))
        far_edge = row["band_max"] if row["degraded"] == "red" else row["band_min"]
        extent = max(abs(float(far_edge.to_value("AA")) - head), 20.0)
        shape = listed.get(name)
        fraction = _DEFAULT_LENGTH_FRACTION if shape is None else float(shape["length_fraction"])
        weight = _DEFAULT_WEIGHT if shape is None else float(shape["weight"])
        result.append(Band(name, molecule, head, str(row["degraded"]), extent * fraction, weight))
    for row in shapes:
        if np.ma.is_masked(row["air_head"]):
            continue
        molecule, head = str(row["molecule"]), float(air_to_vacuum(float(row["air_head"])))
        if any(b.molecule == molecule and abs(b.head - head) < 3.0 for b in result):
            continue  # the catalogue lists it
        length = float(row["extent"]) * float(row["length_fraction"])
        result.append(
            Band(
                str(row["name"]), molecule, head, str(row["degraded"]), length, float(row["weight"])
            )
        )
    return tuple(result)


def _co_locked(teff):
    """Fraction of the rarer of C and O bound in CO in the band-forming layers (T ≈ 0.75 Teff).

    Nearly complete in K and M stars, partial in G stars, where most carbon stays atomic.
    """
    return 1.0 / (1.0 + np.exp((teff - 6000.0) / 350.0))


@dataclass
class Chemistry:
    """What the molecular equilibrium needs to know about a photosphere.

    Attributes
    ----------
    teff, logg : float
    metallicity : float
        [M/H] in dex.
    c_to_o : float
        Carbon-to-oxygen number ratio (0.55 solar; above 1 for carbon stars).
    s_process : float
        [s/Fe] enhancement of Zr, Y, La, Ba (dex); 0 normally, 0.5–1.5 in S and carbon stars.
    nitrogen : float
        [N/Fe] (dex), raised in CN-strong giants.
    c13_fraction : float
        13C/(12C + 13C): about 0.02 normally, 0.1–0.3 in J-type carbon stars.
    """

    teff: float
    logg: float
    metallicity: float = 0.0
    c_to_o: float = 0.55
    s_process: float = 0.0
    nitrogen: float = 0.0
    c13_fraction: float = 0.02

    def free_fractions(self):
        """Free oxygen and carbon, in units of the oxygen abundance, after CO formation.

        CO locks up the rarer of C and O almost completely below ~4500 K; in warmer photospheres a
        growing share stays atomic (a smooth approximation to the CO equilibrium).
        """
        locked = _co_locked(self.teff)
        co = locked * min(self.c_to_o, 1.0)
        free_o = max(1.0 - co, 0.0)
        free_c = max(self.c_to_o - co, 0.0)
        return free_o, free_c

    def abundance_factor(self, key):
        """Abundance factor of a molecule relative to a solar-metallicity M star (C/O = 0.55).

        TiO and VO take free oxygen in proportion; the more strongly bound ZrO, LaO and YO take what
        they need first, so they fade only when free oxygen is nearly gone (SC stars). C2 needs two
        free carbon atoms: quadratic in the free carbon and in the metallicity that scales it (a
        metal-poor CH star with C/O = 10 is not 60 times as C2-rich as an N star: its Swan bands
        saturated to zero flux when only one factor of [Fe/H] was counted). CN forms from free
        carbon and from the share of carbon that CO leaves unbound (enough for the CN bands of K
        giants), scaled by nitrogen; CH follows the total carbon.
        """
        metal = 10**self.metallicity
        free_o, free_c = self.free_fractions()
        ref_o = 1.0 - 0.55 * _co_locked(3500.0)
        s = 10**self.s_process
        if key in ("oxide_ti", "oxide_v"):
            return metal * free_o / ref_o
        if key in ("oxide_zr", "oxide_la", "oxide_y"):
            return metal * s * (free_o / (free_o + 0.05)) / (ref_o / (ref_o + 0.05))
        if key in ("hydride_ca", "hydride_mg"):
            return metal
        # Carbon molecules: C2 normalised to a C-N star with C/O = 1.2 (free carbon 0.2 of O), CN to
        # a solar-mix K giant, CH to the solar C/O.
        c12 = free_c * (1.0 - self.c13_fraction)
        if key == "carbon_c2":
            return (metal * c12 / 0.2) ** 2
        if key == "carbon_cn":
            # CO leaves ~10 % of the carbon atomic in K-giant photospheres, none in M stars.
            unbound = (
                self.c_to_o * 0.1 * float(np.clip((self.teff - 3600.0) / 900.0, 0.0, 1.0)) + free_c
            )
            return metal * unbound / 0.055 * 10**self.nitrogen
        if key == "carbon_ch":
            return metal * self.c_to_o / 0.55
        if key == "carbon_sic2":
            return metal * max(free_c - 0.05, 0.0) / 0.15
        if key == "carbon_13c12c":
            return metal**2 * 2 * free_c**2 * self.c13_fraction * (1 - self.c13_fraction) / 0.04
        raise KeyError(key)


def _band_depth(molecule, chemistry, extra):
    tau_max, theta_half, slope, gamma, epsilon, beta, key = MOLECULES[
        "C2" if molecule == "13C12C" else molecule
    ]
    if molecule == "13C12C":
        key = "carbon_13c12c"
    theta = 5040.0 / chemistry.teff
    dlogg = chemistry.logg - 4.5
    # Association: the fraction of the limiting atom bound in the molecule rises steeply as the gas
    # cools (earlier at high pressure, in dwarfs) and saturates once nearly all of it is bound.
    association = 1.0 / (1.0 + 10 ** (-slope * (theta - theta_half + gamma * dlogg)))
    # Opacity relative to the H⁻ continuum, which grows with the electron pressure.
    pe_ratio = electron_pressure(chemistry.teff, chemistry.logg) / electron_pressure(3500.0, 4.5)
    return (
        tau_max
        * chemistry.abundance_factor(key)
        * association
        * pe_ratio**-epsilon
        * 10 ** (beta * dlogg)
        * extra.get(molecule, 1.0)
    )


def molecular_transmission(grid_wavelength, doppler_factor, chemistry, *, extra=None):
    """Transmission of all molecular bands on the observed-frame grid.

    Parameters
    ----------
    grid_wavelength : `numpy.ndarray`
        Observed-frame wavelengths (Å).
    doppler_factor : float
        1 + z.
    chemistry : `Chemistry`
    extra : mapping, optional
        Multiplicative factors on the optical depth of whole molecules (star-to-star scatter).

    Returns
    -------
    transmission : `numpy.ndarray`
    depths : dict
        Optical depth at the head of a weight-1 band, per molecule (the labels' physical
        parameters).

    Examples
    --------
    >>> import numpy as np
    >>> wave = np.linspace(6900.0, 7300.0, 2000)
    >>> m1, _ = molecular_transmission(wave, 1.0, Chemistry(teff=3700.0, logg=1.0))
    >>> m6, _ = molecular_transmission(wave, 1.0, Chemistry(teff=3250.0, logg=0.5))
    >>> bool(m6[1000] < m1[1000])  # TiO deepens with later subtype
    True
    """
    extra = extra or {}
    depths = {m: _band_depth(m, chemistry, extra) for m in (*MOLECULES, "13C12C")}
    loglam, templates = _templates()
    shifted = np.log10(grid_wavelength / doppler_factor)
    tau = np.zeros_like(grid_wavelength)
    for molecule, depth in depths.items():
        if depth * templates[molecule].max() > 1e-3:
            tau += depth * np.interp(shifted, loglam, templates[molecule], left=0.0, right=0.0)
    transmission = np.exp(-tau / np.sqrt(1.0 + tau / TAU_SATURATION))
    return transmission, depths


#: Step in log10(λ) of the rest-frame band templates (that of the model grid).
_TEMPLATE_STEP = 2.5e-5


@cache
def _templates():
    """Rest-frame optical depth of each molecule's bands per unit reference depth, on a log grid."""
    loglam = np.arange(np.log10(3000.0), np.log10(10000.0), _TEMPLATE_STEP)
    wavelength = 10**loglam
    templates = {m: np.zeros_like(wavelength) for m in (*MOLECULES, "13C12C")}
    for band in bands():
        sign = 1.0 if band.degraded == "red" else -1.0
        lo, hi = (
            (band.head - 2.0, band.head + 6 * band.length)
            if sign > 0
            else (band.head - 6 * band.length, band.head + 2.0)
        )
        i0, i1 = np.searchsorted(wavelength, [lo, hi])
        distance = sign * (wavelength[i0:i1] - band.head)
        # A sharp head (unresolved at R~1800) and an exponential fall across the band.
        profile = np.exp(-np.clip(distance, 0.0, None) / band.length) * expit(distance / 0.35)
        templates[band.molecule][i0:i1] += band.weight * profile
    return loglam, templates
