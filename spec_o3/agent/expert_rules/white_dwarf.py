"""The scripted astronomer's rules for white dwarfs."""

from spec_o3.tasks import get_task

from ._common import (
    CA_II_K,
    H_ALPHA,
    H_BETA,
    H_BETA_EMISSION,
    H_DELTA,
    H_GAMMA,
    HE_I_4471,
    HE_I_5876,
    MG_B,
    MIN_SNR,
    NA_D,
    _continuum_colour,
    _depth,
    _describe_colour,
    _detected,
    _listed,
    _noisy_no,
    _Notebook,
    _overview,
    _RestSpectrum,
    _snr,
    _strong,
    _window_for,
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
#: Metal lines of ordinary stars: Mg b depth (F/G/K stars >= 0.1) and Na D depth (>= 0.2 in G/K
#: stars; interstellar Na D alone reaches ~0.1 at R~1800 in reddened hot stars, so it needs more).
METAL_DEPTH = {"Mg b": 0.06, "Na D": 0.15}
#: Blue-to-red continuum ratio below which a star is too cool (G/K stars < 1; white dwarfs of the
#: standards 1.6-3.2). Kept low so that a poor relative flux calibration does not hide a white
#: dwarf: the narrow lines of the F stars that pass it fail the Balmer-width test.
HOT_COLOUR = 1.1


def _wing_ratio(profile):
    return profile["wing"].value.value / max(profile["core"].value.value, 1e-3)


def _is_broad(profile):
    """Pressure-broadened: wings still deep 20-40 Å out, and a wide line."""
    return (
        _wing_ratio(profile) > WING_TO_CORE_DA
        and _strong(profile["wing"], 0.02)
        and profile["fwhm"].value.value >= DA_FWHM
    )


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
    """White dwarf: broad Balmer wings (DA), He I only (DB), Ca II only (DZ), featureless (DC)."""
    task, rest = get_task("white_dwarf"), _RestSpectrum(spectrum, redshift)
    book = _Notebook(task, rest)
    snr = _snr(rest, 4000, 5100)
    colour = _continuum_colour(rest)
    balmer = {line.name: p for line in (H_BETA, H_GAMMA, H_DELTA) if (p := line.absorption(rest))}
    for line in (H_BETA, H_GAMMA, H_DELTA):
        if line.name in balmer:
            profile = balmer[line.name]
            book.record(
                _window_for(task, line.center - 10, line.center + 10, line.name),
                [profile[k] for k in ("core", "wing", "fwhm", "ew")],
                [_balmer_note(line.name, profile)],
                key=True,
            )
    halpha = H_ALPHA.absorption(rest)
    if halpha is not None:
        book.record(
            _window_for(task, 6550, 6580, "H alpha"),
            [halpha[k] for k in ("core", "wing", "fwhm")],
            [_balmer_note("H alpha", halpha)],
        )
    he_i = [p["ew"] for p in (HE_I_4471.absorption(rest), HE_I_5876.absorption(rest)) if p]
    he_strong = [ew for ew in he_i if _strong(ew, HE_I_DB)]
    ca_k = CA_II_K.absorption(rest)
    metals = [m for m in (_depth(MG_B, rest), _depth(NA_D, rest)) if m is not None]
    strong_metals = [m for m in metals if _strong(m, METAL_DEPTH[m.name.removesuffix(" depth")])]
    emission = [
        e["ew"] for e in (H_ALPHA.emission(rest), H_BETA_EMISSION.emission(rest)) if _detected(e)
    ]
    judged = {name: p for name, p in balmer.items() if _strong(p["core"], BALMER_CORE_MIN)}
    broad = [name for name, p in judged.items() if _is_broad(p)]
    absent = all(p["core"].value.value < BALMER_ABSENT for p in balmer.values())
    if he_i:
        book.record(
            _window_for(task, 4460, 4480, "He I 4471"),
            he_i[:1],
            [f"He I absorption: {_listed(he_i)}"],
            key=absent and bool(he_strong),
        )
    if ca_k is not None:
        book.record(
            _window_for(task, 3925, 3945, "Ca II H&K"),
            [ca_k["core"]],
            [f"Ca II K core depth {ca_k['core'].short}"],
            key=absent,
        )
    if strong_metals:
        book.record(
            _window_for(task, 5165, 5195, "Mg b"),
            strong_metals,
            [f"metal lines: {_listed(strong_metals)}"],
            key=True,
        )
    overview = _overview(rest, snr, _describe_colour(colour))
    if not balmer:
        return book.conclude(
            "NO",
            overview,
            "The Balmer lines H beta to H delta are not covered: a white dwarf cannot be judged.",
        )
    if snr < MIN_SNR:
        return _noisy_no(book, snr, "the Balmer region")
    hot = colour is not None and colour > HOT_COLOUR
    balmer_text = "; ".join(
        f"{name} FWHM {p['fwhm'].value.value:.0f} Å, wing/core {_wing_ratio(p):.2f}"
        for name, p in judged.items()
    )
    if emission:
        verdict = "NO"
        conclusion = (
            f"Balmer emission ({emission[0]}) is no white dwarf's: an emission-line object."
        )
    elif strong_metals:
        verdict = "NO"
        conclusion = (
            f"Metal lines of an ordinary star ({_listed(strong_metals)}) rule out a white dwarf."
        )
    elif not hot:
        verdict = "NO"
        conclusion = (
            f"The star is too cool for a white dwarf of these types: {_describe_colour(colour)}."
        )
    elif judged and len(broad) >= min(2, len(judged)) and 2 * len(broad) >= len(judged):
        verdict = "YES"
        conclusion = (
            f"Very broad Balmer lines whose wings still absorb 20-40 Å from the centre "
            f"({balmer_text}) on {_describe_colour(colour)} without metal lines: a DA white dwarf."
        )
    elif judged:
        verdict = "NO"
        conclusion = (
            f"The Balmer lines are too narrow for a white dwarf ({balmer_text}): an ordinary "
            "A/B/F-type or horizontal-branch star."
        )
    elif not absent:
        verdict = "NO"
        conclusion = (
            "Only weak, shallow Balmer lines: no clear white-dwarf signature in this spectrum."
        )
    elif he_strong:
        verdict = "YES"
        conclusion = (
            f"He I absorption ({_listed(he_strong)}) without Balmer lines on "
            f"{_describe_colour(colour)}: a DB white dwarf."
        )
    elif snr >= 15:
        kind = "DZ" if ca_k is not None and _strong(ca_k["core"], BALMER_CORE_MIN) else "DC/DO-like"
        verdict = "YES"
        conclusion = (
            f"{_describe_colour(colour).capitalize()} with no Balmer, He I or metal lines of "
            f"ordinary stars at S/N {snr:.0f}: a {kind} white dwarf."
        )
    else:
        verdict = "NO"
        conclusion = (
            f"A featureless blue spectrum at S/N {snr:.0f} is too noisy to call a DC white dwarf."
        )
    return book.conclude(verdict, overview, conclusion)
