"""The scripted astronomer's rules for cataclysmic variables."""

import astropy.units as u
import numpy as np
from astropy.constants import c

from spec_o3.tasks import get_task

from .rules import builtin_rule_table
from .toolkit import (
    CV_LINES,
    EMISSION_EW,
    H_ALPHA,
    H_BETA,
    HE_II_4686,
    TIO_HEADS,
    Notebook,
    RestSpectrum,
    continuum_colour,
    decide,
    describe_colour,
    describe_overview,
    exceeds,
    head_depth,
    is_detected,
    is_present,
    listed,
    window_for,
)

__all__ = ["assess_cataclysmic_variable"]

RULES = builtin_rule_table("cataclysmic_variable")

#: He I and He II emission of CVs is weaker than the Balmer lines (EW of a few Å).
HELIUM_EW = 1.5
#: A broad line spreads its flux over many pixels: at low S/N its peak can stay under the per-pixel
#: detection while its integrated EW is many sigma. Such a line counts when its EW exceeds
#: BROAD_EW (Å) at BROAD_SIGMA, with a peak of at least BROAD_PEAK.
BROAD_EW = 10.0
BROAD_SIGMA = 6.0
BROAD_PEAK = 2.5
#: An emission core: the flux within ±CORE_KMS of a Balmer line rises above the mean of the trough
#: flanks (FLANK_KMS) by at least CORE_EXCESS of the continuum, at 3 sigma. A/B stars, DA white
#: dwarfs and hot subdwarfs have their deepest point at the line centre instead.
CORE_KMS = 700.0
FLANK_KMS = (1000.0, 2200.0)
CORE_EXCESS = 0.05
#: A straight local continuum leaves broad bumps of up to ~13 Å "EW" between the band heads of
#: cool stars (TiO, C2, ZrO; simulated and MILES/STELIB giants): a line weaker than STRONG_EW must
#: also peak above its flanks, and on a red continuum it must peak clearly (RED_CORE_EXCESS).
#: Broad disc lines carry emission into the flanks, so strong lines are not held to the peak test.
STRONG_EW = 15.0
RED_CORE_EXCESS = 0.15
_C_KMS = c.to_value(u.km / u.s)
#: The lines whose strength and width the rules read, by the prefix of their facts.
_FACT_PREFIXES = {
    "H alpha": "halpha",
    "H beta": "hbeta",
    "He II 4686": "heii",
    "[O III] 5007": "oiii",
}


def _ew(measure):
    return measure["ew"].number if measure is not None else 0.0


def _seen(measure, ew_min):
    """True for a detected emission line, a broad one counted by its integrated significance."""
    if is_detected(measure, ew_min):
        return True
    if measure is None:
        return False
    ew = measure["ew"]
    return (
        ew.number > max(ew_min, BROAD_EW)
        and ew.number > BROAD_SIGMA * ew.error
        and measure["peak"] > BROAD_PEAK
    )


def _core(line, rest):
    """`Measurement` of a Balmer line's central flux above its absorption-trough flanks, or None.

    Both are in units of the local continuum: positive when an emission core fills the trough.
    """
    to_angstrom = line.center / _C_KMS
    flanks = (FLANK_KMS[0] * to_angstrom, FLANK_KMS[1] * to_angstrom)
    return line.excess(rest, (0, CORE_KMS * to_angstrom), flanks, "core above trough")


def _emission_note(name, measure, found):
    ew = measure["ew"]
    if found:
        return (
            f"{name} is in emission: EW {ew.short}, FWHM {measure['fwhm'].short}, "
            f"peak {measure['peak']:.0f} sigma"
        )
    if ew.number < -3 * ew.error:
        return f"{name} is in absorption, not emission (emission EW {ew.short})"
    return f"no {name} emission (EW {ew.short})"


def _core_note(name, core):
    if exceeds(core, CORE_EXCESS):
        return (
            f"an emission core fills the {name} trough: {core.short} of the continuum above "
            "its flanks"
        )
    return f"no emission core in {name} (centre minus flanks {core.short} of the continuum)"


def _line_facts(prefix, measure):
    """Facts of one emission line: whether it was seen, its EW (0 when not) and FWHM (NaN when
    not), and both as text for the evidence.
    """
    return {
        f"{prefix}_seen": measure is not None,
        f"{prefix}_ew": _ew(measure),
        f"{prefix}_fwhm": np.nan if measure is None else measure["fwhm"].number,
        f"{prefix}_ew_text": "" if measure is None else str(measure["ew"]),
        f"{prefix}_fwhm_text": "" if measure is None else str(measure["fwhm"]),
    }


def _core_value(core):
    return np.nan if core is None else core.number


def assess_cataclysmic_variable(spectrum, redshift=0.0):
    """Cataclysmic variable: broad Balmer and He I/He II emission at z~0, no forbidden lines.

    Quiescent discs give broad Balmer emission with He I; polars add He II 4686 at a good fraction
    of H beta; discs in outburst and nova-likes show broad, shallow Balmer absorption troughs with
    emission cores, often with He II 4686 (Warner 1995; Morales-Rueda & Marsh 2002).

    Parameters
    ----------
    spectrum : `~specutils.Spectrum`
    redshift : float, optional
        Redshift that brings the spectrum to the rest frame.

    Returns
    -------
    assessment : `~spec_o3.agent.expert_rules.Assessment`

    Examples
    --------
    >>> from spec_o3.simulate import simulate_spectrum
    >>> cv = simulate_spectrum("cataclysmic_variable", seed=3, snr=30)
    >>> assess_cataclysmic_variable(cv, cv.meta["redshift"]).verdict
    'YES'
    """
    task, rest = get_task("cataclysmic_variable"), RestSpectrum(spectrum, redshift)
    book = Notebook(task, rest)
    snr = rest.snr(*rest.full_range)
    colour = continuum_colour(rest)
    hot = colour is not None and colour >= RULES["hot_colour"]
    lines = {line.name: line.emission(rest) for line in CV_LINES}
    cores = {line.name: _core(line, rest) for line in (H_ALPHA, H_BETA, HE_II_4686)}
    # A Balmer or He II line is in emission only where it also peaks above its flanks.
    peaked = {
        name: exceeds(core, CORE_EXCESS if hot or name == "He II 4686" else RED_CORE_EXCESS)
        or (hot and _ew(lines[name]) >= STRONG_EW)
        for name, core in cores.items()
    }
    found = {
        name: m
        for name, m in lines.items()
        if _seen(m, HELIUM_EW if name.startswith("He") else EMISSION_EW) and peaked.get(name, True)
    }
    for line in CV_LINES:
        measure = lines[line.name]
        if measure is None or (line.name == "C IV 5806" and line.name not in found):
            continue
        core = cores.get(line.name)
        book.record(
            window_for(task, line.center - 5, line.center + 5, line.name),
            [measure["ew"], measure["fwhm"], core],
            [_emission_note(line.name, measure, line.name in found)]
            + ([_core_note(line.name, core)] if core is not None else []),
            key=line.name in ("H alpha", "H beta") or line.name in found,
        )
    overview = describe_overview(rest, snr, describe_colour(colour))
    balmer = found.get("H alpha") or found.get("H beta")
    helium = {n: found[n] for n in ("He I 5876", "He I 6678", "He II 4686") if n in found}
    heii = found.get("He II 4686")
    filled = [n for n in ("H alpha", "H beta") if exceeds(cores[n], CORE_EXCESS)]
    heii_core, hbeta_core = _core_value(cores["He II 4686"]), _core_value(cores["H beta"])
    measured = [str(lines[n]["ew"]) for n in ("H alpha", "H beta") if lines[n] is not None]
    narrow = balmer is not None and balmer["fwhm"].number < RULES["cv_halpha_fwhm"]
    helium_names, helium_listed = " and ".join(helium), listed(m["ew"] for m in helium.values())
    facts = {
        "snr": snr,
        "redshift": redshift,
        "hot": hot,
        "colour": np.nan if colour is None else colour,
        **{
            fact: value
            for name, prefix in _FACT_PREFIXES.items()
            for fact, value in _line_facts(prefix, found.get(name)).items()
        },
        **_line_facts("balmer", balmer),
        "he_i_seen": "He I 5876" in found or "He I 6678" in found,
        "civ_seen": "C IV 5806" in found,
        "halpha_filled": "H alpha" in filled,
        "hbeta_filled": "H beta" in filled,
        "heii_core": heii_core,
        "hbeta_core": hbeta_core,
        "heii_peak_ratio": heii_core / hbeta_core if hbeta_core else np.nan,
        "tio_seen": any(
            m is not None and is_present(m) for m in (head_depth(h, rest) for h in TIO_HEADS)
        ),
        "narrow": narrow,
        "width": "Narrow (face-on disc), flat-decrement" if narrow else "Broad",
        "balmer_measured": ", ".join(measured) or "Balmer lines not covered",
        "wind_listed": listed(found[n]["ew"] for n in ("He II 4686", "C IV 5806") if n in found),
        "helium_names": helium_names,
        "helium_listed": helium_listed,
        "hbeta_core_text": str(cores["H beta"]),
        "filled_listed": listed(cores[n] for n in filled),
        "heii_extra": f" and He II 4686 emission ({heii['ew']})" if heii is not None else "",
        "one_line_listed": balmer["ew"] if balmer is not None else listed(cores[n] for n in filled),
        # Of stars also pair H alpha with He II 4686 emission; a CV's disc adds H beta.
        "helium_clause": (
            f", with {helium_names} emission ({helium_listed}) but no H beta emission beside it,"
            " as Of stars show too"
            if helium
            else " and no He I/He II"
        ),
        "colour_text": describe_colour(colour),
        "colour_kind": describe_colour(colour).removeprefix("a "),
    }
    return decide(book, RULES, overview, facts, "this spectrum")
