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


# molecule -> (τ at the head of a weight-1 band when fully associated, θ at half association for log
# g = 4.5, association slope D, shift of θ_half per dex of gravity γ, electron-pressure exponent ε,
# extra gravity slope β, abundance key)
MOLECULES = {
    "TiO": (1.96, 5040 / 3190, 2.84, -0.03, 0.2, 0.0, "oxide_ti"),
    "VO": (0.6, 5040 / 2600, 6.0, -0.03, 0.2, 0.0, "oxide_v"),
    # ZrO (D0 = 7.85 eV) is more strongly bound than TiO (6.87 eV): it forms in hotter gas, S stars
    # showing ZrO at temperatures where M giants show little TiO (Keenan & Boeshaar 1980), and its
    # association rises as steeply as its dissociation constant, d log K / dθ = D0, so the warmer
    # barium giants (Teff > 4200 K) show none however rich in Zr.
    "ZrO": (0.1, 5040 / 3500, 7.85, -0.03, 0.2, 0.0, "oxide_zr"),
    "LaO": (0.05, 5040 / 3190, 2.84, -0.03, 0.2, 0.0, "oxide_la"),
    "YO": (0.02, 5040 / 3190, 2.84, -0.03, 0.2, 0.0, "oxide_y"),
    "CaH": (0.16, 5040 / 4080, 2.0, 0.0, 0.0, 1.27, "hydride_ca"),
    "MgH": (0.3, 5040 / 3800, 2.0, 0.0, 0.0, 0.5, "hydride_mg"),
    "C2": (1.2, 5040 / 3800, 4.0, 0.0, 0.0, 0.0, "carbon_c2"),
    "CN": (0.5, 5040 / 4200, 3.0, 0.0, 0.0, -0.15, "carbon_cn"),
    "CH": (2.5, 5040 / 6000, 8.0, 0.0, 0.0, 0.0, "carbon_ch"),
    "SiC2": (0.5, 5040 / 2800, 2.0, 0.0, 0.0, 0.0, "carbon_sic2"),
}
# Relative strengths of catalogue bands (default 0.6) and supplementary heads: molecule, air head
# (Å), degraded side, extent (Å), weight. Heads from Pearse & Gaydon, "The Identification of
# Molecular Spectra" and the M/S/C-star atlases of Turnshek et al. (1985); weights from the relative
# depths in those atlases.
_CATALOGUE_WEIGHTS = {
    "TiO_7054": 1.0,
    "TiO_4954": 1.0,
    "TiO_5167": 0.9,
    "TiO_4761": 0.9,
    "TiO_6159": 1.3,
    "TiO_5448": 0.8,
    "TiO_5847": 0.6,
    "TiO_6651": 0.65,
    "TiO_7589": 0.6,
    "TiO_8432": 0.5,
    "C2_5165": 1.0,
    "C2_4737": 0.9,
    "C2_5636": 0.8,
    "C2_6191": 0.55,
    "C2_6122": 0.45,
    "CN_3883": 1.0,
    "CN_4216": 0.8,
    "CN_7088": 0.3,
    "CN_7877": 0.35,
    "ZrO_6474": 1.0,
    "ZrO_6345": 0.5,
    "ZrO_5551": 0.8,
    "ZrO_5298": 0.7,
    "ZrO_4640": 0.9,
    "CaH_6830": 1.0,
    "CaH_6382": 0.6,
    "VO_7400": 1.0,
    "VO_7865": 1.0,
    "LaO_7403": 1.0,
    "CH_4300": 1.0,
}
#: e-folding length as a fraction of the catalogue band's extent (default 0.5): the G band is a
#: compact Q-branch pile-up at R~1800, not a long tail; the ZrO 6474 and 5551 bands of S stars
#: absorb 50-80 Å redward of their heads (MILES HD 7351, HD 30959: head depths 0.26-0.28 at 6474,
#: 0.12-0.16 at 5551, 0.11-0.14 at 6345), and the TiO γ bands from 6651 Å depress the whole
#: 6650-7000 Å range of M stars, CaH 6830 window included (MILES/STELIB M giants: CaH2 0.46 at
#: TiO5 0.33, 0.84 at TiO5 0.70).
_LENGTH_FRACTION = {"CH_4300": 0.25, "ZrO_6474": 1.5, "ZrO_5551": 1.5, "TiO_6651": 3.0}
_SUPPLEMENT = (
    ("TiO", 7087.9, "red", 40, 0.7),
    ("TiO", 7125.6, "red", 90, 0.8),
    ("TiO", 6681.0, "red", 30, 0.5),
    ("TiO", 6714.0, "red", 300, 0.5),
    ("TiO", 7672.0, "red", 80, 0.5),
    ("TiO", 8442.0, "red", 20, 0.4),
    ("TiO", 8452.0, "red", 50, 0.4),
    ("TiO", 8859.0, "red", 90, 0.45),
    ("TiO", 6187.0, "red", 30, 0.5),
    ("TiO", 6215.0, "red", 40, 0.5),
    ("TiO", 5862.0, "red", 40, 0.4),
    ("TiO", 5497.0, "red", 40, 0.45),
    ("TiO", 5240.0, "red", 60, 0.5),
    ("TiO", 5003.0, "red", 50, 0.5),
    ("TiO", 4804.0, "red", 50, 0.5),
    ("TiO", 4584.0, "red", 40, 0.5),
    ("TiO", 4626.0, "red", 50, 0.45),
    ("TiO", 6268.0, "red", 60, 0.35),
    ("TiO", 7198.0, "red", 80, 0.4),
    ("VO", 7334.0, "red", 60, 0.6),
    ("VO", 7851.0, "red", 30, 0.7),
    ("VO", 7896.0, "red", 40, 0.7),
    ("VO", 7939.0, "red", 50, 0.6),
    ("VO", 8521.0, "red", 60, 0.4),
    ("C2", 4715.2, "blue", 60, 0.7),
    ("C2", 4697.6, "blue", 60, 0.5),
    ("C2", 5129.3, "blue", 60, 0.7),
    ("C2", 5097.7, "blue", 60, 0.5),
    ("C2", 5585.5, "blue", 60, 0.6),
    ("C2", 5540.7, "blue", 60, 0.45),
    ("C2", 6059.7, "blue", 60, 0.35),
    ("C2", 4382.5, "blue", 60, 0.4),
    ("C2", 4371.4, "blue", 50, 0.3),
    ("CN", 3871.4, "blue", 30, 0.6),
    ("CN", 4197.1, "blue", 30, 0.5),
    ("CN", 4181.0, "blue", 30, 0.4),
    ("CN", 6206.0, "red", 80, 0.12),
    ("CN", 6360.0, "red", 80, 0.12),
    ("CN", 6478.0, "red", 80, 0.12),
    ("CN", 6926.0, "red", 80, 0.25),
    ("CN", 7259.0, "red", 80, 0.2),
    ("CN", 7945.0, "red", 100, 0.3),
    ("CN", 8125.0, "red", 120, 0.35),
    ("CN", 8320.0, "red", 120, 0.25),
    ("CN", 8750.0, "red", 120, 0.2),
    ("ZrO", 6378.0, "red", 30, 0.4),
    ("ZrO", 6508.0, "red", 40, 0.5),
    ("ZrO", 4620.8, "red", 20, 0.6),
    ("ZrO", 5303.0, "red", 40, 0.4),
    ("ZrO", 5718.0, "red", 40, 0.5),
    ("ZrO", 5629.0, "red", 30, 0.5),
    ("LaO", 7910.0, "red", 40, 0.8),
    ("LaO", 5600.0, "red", 40, 0.3),
    ("YO", 5972.0, "red", 40, 1.0),
    ("YO", 6132.0, "red", 40, 1.0),
    ("YO", 6148.0, "red", 30, 0.6),
    ("CaH", 6389.0, "red", 20, 0.4),
    ("CaH", 6750.0, "red", 60, 0.5),
    ("CaH", 6903.0, "red", 60, 0.6),
    ("CaH", 6946.0, "red", 70, 0.6),
    ("MgH", 5211.0, "blue", 250, 1.0),
    ("MgH", 4780.0, "blue", 150, 0.8),
    ("SiC2", 4977.0, "blue", 150, 1.0),
    ("SiC2", 4867.0, "blue", 100, 0.7),
    ("SiC2", 4640.0, "blue", 80, 0.5),
)
#: 13C12C heads of the Swan system (C-J stars): air head, degraded side, extent, weight.
_ISOTOPIC_C2 = ((4744.0, "blue", 60, 0.9), (6168.0, "blue", 60, 0.6), (5161.0, "blue", 40, 0.4))
#: Optical-depth scale of saturation in the random band model.
TAU_SATURATION = 1.7


@cache
def bands():
    """All bands drawn by the simulator: catalogue rows first, then the supplementary heads.

    Examples
    --------
    >>> from spec_o3.simulate.molecules import bands
    >>> tio = [b for b in bands() if b.name == "TiO_7054"][0]
    >>> tio.degraded, round(tio.head)
    ('red', 7056)
    """
    from ..catalog import molecular_bands

    result = []
    for row in molecular_bands():
        molecule = str(row["molecule"])
        if molecule not in MOLECULES:
            continue
        head = float(row["bandhead"].to_value("AA"))
        far_edge = row["band_max"] if row["degraded"] == "red" else row["band_min"]
        extent = max(abs(float(far_edge.to_value("AA")) - head), 20.0)
        result.append(
            Band(
                str(row["name"]),
                molecule,
                head,
                str(row["degraded"]),
                extent * _LENGTH_FRACTION.get(str(row["name"]), 0.5),
                _CATALOGUE_WEIGHTS.get(str(row["name"]), 0.6),
            )
        )
    for molecule, air, side, extent, weight in _SUPPLEMENT:
        head = float(air_to_vacuum(air))
        if any(b.molecule == molecule and abs(b.head - head) < 3.0 for b in result):
            continue  # the catalogue lists it
        result.append(Band(f"{molecule}_{air:.0f}", molecule, head, side, extent / 2.0, weight))
    for air, side, extent, weight in _ISOTOPIC_C2:
        result.append(
            Band(
                f"13C12C_{air:.0f}", "13C12C", float(air_to_vacuum(air)), side, extent / 2.0, weight
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
        free carbon atoms (quadratic). CN forms from free carbon and from the share of carbon that
        CO leaves unbound (enough for the CN bands of K giants), scaled by nitrogen; CH follows the
        total carbon.
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
            return metal * (c12 / 0.2) ** 2
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
            return metal * 2 * free_c**2 * self.c13_fraction * (1 - self.c13_fraction) / 0.04
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
