"""The scripted astronomer's rules for white dwarfs."""

from dataclasses import dataclass

import numpy as np

from spec_o3.tasks import get_task

from .toolkit import (
    H_ALPHA,
    H_BETA,
    H_BETA_EMISSION,
    H_DELTA,
    H_GAMMA,
    HE_I_4471,
    HE_I_5876,
    HE_II_4686,
    MG_B,
    MIN_SNR,
    NA_D,
    BandIndex,
    Notebook,
    RestSpectrum,
    continuum_colour,
    describe_colour,
    describe_overview,
    exceeds,
    head_depth,
    is_detected,
    listed,
    measure_c2,
    noisy_no,
    region_snr,
    window_for,
)

__all__ = ["assess_white_dwarf"]


#: Balmer wings: 20-40 Å from the centre the lines of A/B/BHB stars have mostly recovered (wing/core
#: <= 0.18 for H beta, <= 0.17 for H gamma in MILES) while DA white dwarfs still absorb (>= 0.22,
#: >= 0.3 for all but the coolest DA).
WING_TO_CORE_DA = 0.20
#: FWHM a DA's Balmer line has at least at R~1800 (the coolest standard, LTT 3218, 20-27 Å; hot DAs
#: >= 34 Å): the narrow lines of F stars, whose 20-40 Å wings hold the G band and metal lines, are
#: not pressure broadened however their wings look.
DA_FWHM = 15.0
#: Core depth a Balmer line needs for its profile to be judged, and below which it counts as absent.
BALMER_CORE_MIN = 0.10
BALMER_ABSENT = 0.06
#: He I absorption EW (Å) for a DB white dwarf.
HE_I_DB = 2.0
#: H alpha or H beta emission EW (Å) beyond what the flux between a DB's He I troughs fakes (up to
#: ~20 Å in the simulated DBs, whose He I 6678 is ~3x too strong; 3 Å in LDS 749B): the emission
#: of a nova or an accretion disc (H alpha EW 14-2800 Å in the Open Nova Catalog novae).
TROUGH_EMISSION_EW = 40.0
#: Metal lines of ordinary stars: Mg b depth (F/G/K stars >= 0.1) and Na D depth (>= 0.2 in G/K
#: stars; interstellar Na D alone reaches ~0.1 at R~1800 in reddened hot stars, so it needs more).
METAL_DEPTH = {"Mg b": 0.06, "Na D": 0.15}
#: Blue-to-red continuum ratio below which a star is too cool (G/K stars < 1; white dwarfs of the
#: standards 1.6-3.2). Kept low so that a poor relative flux calibration does not hide a white
#: dwarf: the narrow lines of the F stars that pass it fail the Balmer-width test.
HOT_COLOUR = 1.1
#: Effective width EW / core depth (Å) of a pressure-broadened Balmer line, robust to noise where a
#: FWHM is not: A/B/BHB stars of MILES/STELIB at R~1800 reach 39 Å (Hβ) and 33 Å (Hγ), the DA
#: standards have >= 47 Å and >= 39 Å.
DA_EFFECTIVE_WIDTH = 42.0
#: S/N from which a measured FWHM is trusted (below it noise spikes narrow it).
NOISY_FWHM_SNR = 15.0
#: Metal indices of ordinary stars (depth 1 - <F_band>/F_cont): the Lick G4300 (CH G band) and
#: Ca4227 windows (Worthey et al. 1994) and a Ca II K band. In MILES/STELIB at S/N 30 every star
#: with weak Balmer lines shows one of them (F/G/K stars: Ca II K >= 0.37, G band >= 0.05 or
#: Ca I >= 0.1), so their joint absence marks a metal-poor white-dwarf atmosphere.
G_BAND = BandIndex.air("G band", (4281.4, 4316.4), (4266.4, 4282.6), (4318.9, 4335.1))
CA_I_4227 = BandIndex.air("Ca I 4227", (4222.3, 4234.8), (4211.0, 4219.8), (4241.0, 4251.0))
CA_II_K_BAND = BandIndex("Ca II K", (3924, 3944), ((3900, 3915), (4010, 4030)))
#: Largest value a feature may have to count as absent (Balmer core depths, |value|; metal index
#: depths, which the broad Balmer or He I wings in their side windows can make negative, value); the
#: measurement error must be below 0.6 of it for the absence to mean something.
ABSENT = {
    "H alpha": 0.08,
    "H beta": BALMER_ABSENT,
    "H gamma": 0.10,
    "G band": 0.05,
    "Ca I 4227": 0.06,
    "Ca II K": 0.10,
    "Mg b": 0.05,
    "Na D": 0.10,
}
_METAL_INDICES = ("G band", "Ca I 4227", "Ca II K", "Mg b", "Na D")
#: C2 Swan heads of a DQ white dwarf: two heads deeper than this at 5 sigma (a weaker test than a
#: carbon star's, allowed because everything an ordinary star shows must be absent too).
DQ_C2_HEAD = 0.05
#: Median S/N from which a featureless or metal-line-only spectrum is judged.
FEATURELESS_SNR = 10.0
#: A DC white dwarf's continuum is close to a black body (Bergeron, Ruiz & Leggett 1997): the
#: far-red flux F(7500-8500)/F(5500-6000) must match, within this fraction (relative flux
#: calibration, collision-induced absorption), that of the black body with the observed
#: F(4000-4500)/F(5500-6000).
DC_PLANCK_TOLERANCE = 0.25
#: Ca II K band depth of a DZ white dwarf (its only strong lines; F/G/K stars reach it too, but with
#: Balmer lines, the G band or Ca I 4227).
DZ_CA_K = 0.10
#: A cool DA (6000-8000 K): H alpha and H beta with a steep decrement (Hγ core < 0.85 Hβ core, while
#: A/B/BHB stars have Hγ as deep as Hβ, >= 0.93 even when badly calibrated) on a continuum no
#: bluer than an A star's.
COOL_DA_COLOUR = 1.6
COOL_DA_DECREMENT = 0.85
#: H alpha core depth of a cool DA, its strongest line (>= 0.42 in the simulated 6000-8000 K DAs,
#: 0.44 in LTT 3218); accretion discs fill it with emission.
COOL_DA_HALPHA = 0.3
#: Below ~6500 K only H alpha is left (G 138-31 and G 60-54 of Oke 1990: H alpha core 0.14-0.23 at
#: R~1800, H beta <= 0.09): H alpha at 5 sigma with H beta under this fraction of it, on a
#: continuum an F/G star would fill with Ca II K, the G band and Mg b.
FADING_DA_HALPHA = 0.1
FADING_DA_DECREMENT = 0.6
#: A hot DA (> 40 000 K): shallow (core >= 0.04) but broad Balmer lines on a very blue continuum.
HOT_DA_COLOUR = 2.5
HOT_DA_CORE = 0.04


def _wing_ratio(profile):
    return profile["wing"].value.value / max(profile["core"].value.value, 1e-3)


def _effective_width(profile):
    return profile["ew"].value.value / max(profile["core"].value.value, 1e-3)


def _is_broad(profile, snr=0.0):
    """Pressure-broadened: wings deep 20-40 Å out and a wide line, or a large EW for its depth.

    From S/N 15, where noise no longer narrows the measured FWHM, the line must be wide as well: the
    narrow cores on broad shallow wings of accretion discs (nova-likes) are no white dwarf's.
    """
    wide = profile["fwhm"].value.value >= DA_FWHM
    winged = _wing_ratio(profile) > WING_TO_CORE_DA and exceeds(profile["wing"], 0.02) and wide
    return winged or (
        exceeds(profile["ew"], 0)
        and _effective_width(profile) >= DA_EFFECTIVE_WIDTH
        and (wide or snr < NOISY_FWHM_SNR)
    )


def _emission_core(line, rest):
    """True when the centre (±2.5 Å) rises above the shoulders (4-10 Å), or the shoulders above the
    continuum, by > 0.05 and 4 sigma.

    Accretion discs fill Balmer absorption with (double-peaked) emission that the EW of the whole
    line can hide; a white dwarf's line centre is its deepest point.
    """
    centre = line.excess(rest, (0, 2.5), (4, 10), "centre above shoulders")
    shoulders = line.excess(rest, (4, 10), label="shoulders above continuum")
    return exceeds(centre, 0.05, 4.0) or exceeds(shoulders, 0.05, 4.0)


def _absent(measurement, name):
    """True when a feature is measured, below its limit and known to better than 0.6 of it."""
    limit = ABSENT[name]
    value = measurement.value.value if name in _METAL_INDICES else abs(measurement.value.value)
    return value < limit and measurement.uncertainty.value < 0.6 * limit


def _features(rest, balmer, halpha):
    """Balmer core depths and metal indices that an ordinary star of any type shows."""
    found = {"H alpha": halpha and halpha["core"]}
    found.update({name: p["core"] for name, p in balmer.items() if name != "H delta"})
    for index in (G_BAND, CA_I_4227, CA_II_K_BAND, MG_B, NA_D):
        found[index.name] = head_depth(index, rest)
    return {name: m for name, m in found.items() if m is not None}


def _all_absent(features, names):
    """True when every named feature that is measured is absent, and at least two are measured."""
    measured = [name for name in names if name in features]
    return len(measured) >= 2 and all(_absent(features[name], name) for name in measured)


def _balmer_note(name, profile):
    if profile["core"].value.value < BALMER_CORE_MIN:
        shape = "the line is barely there"
    elif _is_broad(profile):
        shape = "broad, pressure-broadened wings"
    else:
        shape = "a narrow profile whose wings recover quickly"
    return (
        f"{name} has core depth {profile['core'].short}, wing depth {profile['wing'].short} "
        f"20-40 Å out (wing/core {_wing_ratio(profile):.2f}), FWHM {profile['fwhm'].short} and "
        f"EW {profile['ew'].short}: {shape}"
    )


def assess_white_dwarf(spectrum, redshift=0.0):
    """White dwarf: broad Balmer lines (DA), He I (DB), Ca II (DZ), C2 (DQ) alone, featureless (DC).

    Examples
    --------
    >>> from spec_o3.simulate import simulate_spectrum
    >>> spectrum = simulate_spectrum("white_dwarf", seed=2, snr=40, subtype="DC", teff=6000.0)
    >>> assess_white_dwarf(spectrum, spectrum.meta["redshift"]).verdict
    'YES'
    """
    task, rest = get_task("white_dwarf"), RestSpectrum(spectrum, redshift)
    book = Notebook(task, rest)
    snr = region_snr(rest, 4000, 5100)
    colour = continuum_colour(rest)
    balmer = {line.name: p for line in (H_BETA, H_GAMMA, H_DELTA) if (p := line.absorption(rest))}
    for line in (H_BETA, H_GAMMA, H_DELTA):
        if line.name in balmer:
            profile = balmer[line.name]
            book.record(
                window_for(task, line.center - 10, line.center + 10, line.name),
                [profile[k] for k in ("core", "wing", "fwhm", "ew")],
                [_balmer_note(line.name, profile)],
                key=True,
            )
    halpha = H_ALPHA.absorption(rest)
    if halpha is not None:
        book.record(
            window_for(task, 6550, 6580, "H alpha"),
            [halpha[k] for k in ("core", "wing", "fwhm")],
            [_balmer_note("H alpha", halpha)],
        )
    he_i = [p["ew"] for p in (HE_I_4471.absorption(rest), HE_I_5876.absorption(rest)) if p]
    he_strong = [ew for ew in he_i if exceeds(ew, HE_I_DB)]
    he_ii = HE_II_4686.absorption(rest)
    # He II marks sdO and O stars as much as DO white dwarfs: a veto for a hot DA, never evidence.
    he_ii_strong = he_ii is not None and exceeds(he_ii["ew"], HE_I_DB)
    features = _features(rest, balmer, halpha)
    ca_k = features.get("Ca II K")
    metals = [features[name] for name in ("Mg b", "Na D") if name in features]
    # He I 5876 fills the Na D windows of a DB: no metal evidence there.
    strong_metals = [
        m
        for m in metals
        if exceeds(m, METAL_DEPTH[m.name.removesuffix(" depth")])
        and not (he_strong and m.name.startswith("Na D"))
    ]
    ordinary = [features[n] for n in ("G band", "Ca I 4227") if n in features]
    # A DB's broad He I 4922 and 6678 troughs fill the red continuum windows of H beta and H alpha,
    # and the flux between them reads as Balmer emission: with He I in absorption it is not, unless
    # it is stronger than troughs can fake. He II 4686 emission no white dwarf shows.
    emission = [
        e["ew"]
        for e in (H_ALPHA.emission(rest), H_BETA_EMISSION.emission(rest))
        if is_detected(e) and (not he_strong or e["ew"].value.value > TROUGH_EMISSION_EW)
    ]
    he_ii_emission = HE_II_4686.emission(rest)
    if is_detected(he_ii_emission):
        emission.append(he_ii_emission["ew"])
    # H alpha only: the C2 bands of a DQ give H beta shoulders of their own.
    reversed_cores = ["H alpha"] if _emission_core(H_ALPHA, rest) and not he_strong else []
    c2_heads, _, _ = measure_c2(rest)
    c2_seen = [m for m in c2_heads if exceeds(m, DQ_C2_HEAD, 5.0)]
    c2_seen = c2_seen if len(c2_seen) >= 2 else []
    judged = {name: p for name, p in balmer.items() if exceeds(p["core"], BALMER_CORE_MIN)}
    broad = [name for name, p in judged.items() if _is_broad(p, snr)]
    absent = all(p["core"].value.value < BALMER_ABSENT for p in balmer.values())
    if he_i:
        book.record(
            window_for(task, 4460, 4480, "He I 4471"),
            he_i[:1],
            [f"He I absorption: {listed(he_i)}"],
            key=absent and bool(he_strong),
        )
    if ca_k is not None:
        book.record(
            window_for(task, 3925, 3945, "Ca II H&K"),
            [ca_k],
            [f"Ca II K band depth {ca_k.short}"],
            key=absent,
        )
    if ordinary:
        book.record(
            window_for(task, 4220, 4320, "G band"),
            ordinary,
            [f"lines of ordinary stars: {listed(ordinary)}"],
        )
    if c2_seen:
        book.record(
            window_for(task, 4700, 4760, "C2 Swan"),
            c2_seen,
            [f"C2 Swan band heads: {listed(c2_seen)}"],
            key=True,
        )
    if strong_metals:
        book.record(
            window_for(task, 5165, 5195, "Mg b"),
            strong_metals,
            [f"metal lines: {listed(strong_metals)}"],
            key=True,
        )
    overview = describe_overview(rest, snr, describe_colour(colour))
    if not balmer:
        return book.conclude(
            "NO",
            overview,
            "The Balmer lines H beta to H delta are not covered: a white dwarf cannot be judged.",
        )
    if snr < MIN_SNR:
        return noisy_no(book, snr, "the Balmer region")
    emission_text = [str(e) for e in emission] + [
        f"{name} emission core inside its absorption trough" for name in reversed_cores
    ]
    reading = _Reading(
        snr,
        colour,
        balmer,
        halpha,
        judged,
        broad,
        absent,
        features,
        he_strong,
        he_ii_strong,
        c2_seen,
        strong_metals,
        emission_text,
        _black_body_like(rest, colour),
    )
    verdict, conclusion = _verdict(reading)
    return book.conclude(verdict, overview, conclusion)


@dataclass(frozen=True)
class _Reading:
    """What `assess_white_dwarf` measured, as `_verdict` weighs it."""

    snr: float
    colour: float
    balmer: dict
    halpha: dict
    judged: dict
    broad: list
    absent: bool
    features: dict
    he_strong: list
    he_ii: bool
    c2_seen: list
    metals: list
    emission: list
    black_body: bool


def _verdict(seen):
    """YES/NO and the conclusion, from the measurements of `assess_white_dwarf`."""
    described = describe_colour(seen.colour)
    hot = seen.colour is not None and seen.colour > HOT_COLOUR
    good = seen.snr >= FEATURELESS_SNR
    no_ordinary = _all_absent(seen.features, ("G band", "Ca I 4227"))
    metal_free = _all_absent(seen.features, ("G band", "Ca I 4227", "Ca II K", "Mg b"))
    no_balmer = _all_absent(seen.features, ("H alpha", "H beta", "H gamma"))
    balmer_text = "; ".join(
        f"{name} FWHM {p['fwhm'].value.value:.0f} Å, EW/depth {_effective_width(p):.0f} Å, "
        f"wing/core {_wing_ratio(p):.2f}"
        for name, p in seen.judged.items()
    )
    ca_k = seen.features.get("Ca II K")
    if seen.emission:
        return "NO", (
            f"Emission lines ({listed(seen.emission)}) are no white dwarf's: an emission-line "
            "object."
        )
    # Metal-line (DZ) and carbon (DQ) white dwarfs first: their few lines would otherwise read as
    # an ordinary star's, which would show Balmer lines, the G band or Ca I 4227 as well.
    if good and no_ordinary and no_balmer and exceeds(ca_k, DZ_CA_K, 5.0):
        return "YES", (
            f"Strong Ca II K ({ca_k}) with no Balmer lines, no G band and no Ca I 4227 at S/N "
            f"{seen.snr:.0f} on {described}: a metal-polluted helium-atmosphere DZ white dwarf."
        )
    if (
        good
        and seen.c2_seen
        and no_ordinary
        and _all_absent(seen.features, ("H alpha", "Ca II K", "Na D"))
    ):
        return "YES", (
            f"C2 Swan bands ({listed(seen.c2_seen)}) with no H alpha, Ca II K, Na D, G band or "
            f"Ca I 4227 at S/N {seen.snr:.0f} on {described}: a DQ white dwarf, not a carbon star "
            "(whose metal lines and CN would show)."
        )
    if seen.metals:
        return (
            "NO",
            f"Metal lines of an ordinary star ({listed(seen.metals)}) rule out a white dwarf.",
        )
    if (
        hot
        and seen.judged
        and len(seen.broad) >= min(2, len(seen.judged))
        and 2 * len(seen.broad) >= len(seen.judged)
    ):
        return "YES", (
            f"Very broad Balmer lines whose wings still absorb 20-40 Å from the centre "
            f"({balmer_text}) on {described} without metal lines: a DA white dwarf."
        )
    if "H beta" in seen.judged and metal_free and _cool_da(seen.colour, seen.balmer, seen.halpha):
        beta, alpha = seen.balmer["H beta"]["core"], seen.halpha["core"]
        return "YES", (
            f"H alpha (core {alpha.short}) and H beta (core {beta.short}) with a steep Balmer "
            f"decrement on {described}, and no Ca II K, G band, Ca I 4227 or Mg b: a cool DA white "
            "dwarf, not an F star (whose metal lines would show at this colour)."
        )
    if metal_free and not seen.he_strong and _fading_da(seen.colour, seen.balmer, seen.halpha):
        alpha = seen.halpha["core"]
        beta = seen.balmer["H beta"]["core"] if "H beta" in seen.balmer else None
        weaker = f", H beta only {beta.short}" if beta is not None else ""
        return "YES", (
            f"H alpha absorption (core {alpha.short}{weaker}) as the only line on {described}, "
            "with no Ca II K, G band, Ca I 4227 or Mg b: a cool DA white dwarf whose higher "
            "Balmer lines have faded, not an F/G star (whose metal lines would show)."
        )
    if (
        not seen.judged
        and metal_free
        and not (seen.he_strong or seen.he_ii)
        and _hot_da(seen.colour, seen.balmer)
    ):
        text = "; ".join(
            f"{name} core {p['core'].short}, EW/depth {_effective_width(p):.0f} Å"
            for name, p in seen.balmer.items()
            if name != "H delta"
        )
        return "YES", (
            f"Shallow but broad Balmer lines ({text}) on {described} without metal or He I "
            "lines: a hot DA white dwarf."
        )
    if seen.judged:
        return "NO", (
            f"The Balmer lines are too narrow for a white dwarf ({balmer_text}): an ordinary "
            "A/B/F-type or horizontal-branch star."
        )
    if seen.he_strong and hot and no_ordinary:
        return "YES", (
            f"He I absorption ({listed(seen.he_strong)}) without strong Balmer lines on "
            f"{described}: a DB white dwarf."
        )
    if not seen.absent:
        return (
            "NO",
            "Only weak, shallow Balmer lines: no clear white-dwarf signature in this spectrum.",
        )
    if good and _all_absent(seen.features, tuple(ABSENT)) and seen.black_body:
        return "YES", (
            f"{described.capitalize()} with no Balmer lines, He I, Ca II K, G band, Ca I 4227, "
            f"Mg b or Na D at S/N {seen.snr:.0f}, and a black-body continuum: a featureless DC "
            "white dwarf (every ordinary star of this colour shows some of them)."
        )
    return "NO", (
        f"No white-dwarf signature at S/N {seen.snr:.0f}: the spectrum is neither clearly "
        "featureless nor shows broad Balmer, He I, Ca II or C2 features."
    )


def _planck_ratio(teff, band, reference=(5500.0, 6000.0)):
    """Mean black-body f_λ in ``band`` over that in ``reference`` (Å) at ``teff`` (K)."""

    def mean_flux(lo, hi):
        wave = np.linspace(lo, hi, 50) * 1e-8
        return np.mean(wave**-5 / np.expm1(1.4388 / (wave * teff)))

    return mean_flux(*band) / mean_flux(*reference)


def _black_body_like(rest, colour):
    """True unless the far red departs from the black body that fits the blue colour.

    True where 7500-8500 Å is not covered (nothing to compare); False for a colour bluer than any
    black body's.
    """
    red, _ = rest.mean(7500, 8500)
    green, _ = rest.mean(5500, 6000)
    if colour is None or not (np.isfinite(red) and np.isfinite(green)) or green <= 0:
        return True
    grid = np.geomspace(2500.0, 200000.0, 200)
    blue = np.array([_planck_ratio(t, (4000.0, 4500.0)) for t in grid])
    if not blue[0] <= colour <= blue[-1]:
        return False
    teff = float(np.interp(colour, blue, grid))
    return abs(red / green / _planck_ratio(teff, (7500.0, 8500.0)) - 1) < DC_PLANCK_TOLERANCE


def _cool_da(colour, balmer, halpha):
    """H alpha and H beta with a steep decrement on an A-star-or-cooler continuum."""
    beta = balmer["H beta"]["core"].value.value
    gamma = balmer["H gamma"]["core"].value.value if "H gamma" in balmer else 0.0
    return (
        colour is not None
        and colour <= COOL_DA_COLOUR
        and halpha is not None
        and exceeds(halpha["core"], COOL_DA_HALPHA)
        and gamma < COOL_DA_DECREMENT * beta
    )


def _fading_da(colour, balmer, halpha):
    """H alpha at 5 sigma, H beta much weaker, on an F/G-star-or-cooler continuum."""
    beta = balmer["H beta"]["core"].value.value if "H beta" in balmer else 0.0
    return (
        colour is not None
        and colour <= COOL_DA_COLOUR
        and halpha is not None
        and exceeds(halpha["core"], FADING_DA_HALPHA, 5.0)
        and beta < FADING_DA_DECREMENT * halpha["core"].value.value
    )


def _hot_da(colour, balmer):
    """A shallow but broad H beta, and H gamma present, on a very blue continuum."""
    lines = [balmer[name] for name in ("H beta", "H gamma") if name in balmer]
    return (
        colour is not None
        and colour >= HOT_DA_COLOUR
        and len(lines) == 2
        and exceeds(lines[0]["core"], HOT_DA_CORE)
        and _is_broad(lines[0])
        and exceeds(lines[1]["core"], HOT_DA_CORE / 2)
    )
