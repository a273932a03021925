"""The scripted astronomer's rules for cataclysmic variables."""

from spec_o3.tasks import get_task

from .toolkit import (
    CV_LINES,
    EMISSION_EW,
    H_ALPHA,
    H_BETA,
    HE_II_4686,
    MIN_SNR,
    TIO_HEADS,
    Notebook,
    RestSpectrum,
    continuum_colour,
    describe_colour,
    describe_overview,
    exceeds,
    head_depth,
    is_detected,
    is_present,
    listed,
    noisy_no,
    window_for,
)

__all__ = ["assess_cataclysmic_variable"]


HELIUM_EW = 1.5
#: Disc lines are broad: Be stars and dMe flares give near-instrumental H alpha (<= 10 Å at R~1800),
#: CV discs FWHM ~ 700-2500 km/s (15-55 Å).
CV_HALPHA_FWHM = 14.0
#: Narrower than this (1.8 x the 3.6 Å instrumental FWHM at H alpha, R~1800) the Balmer emission is
#: unresolved: nebular or chromospheric (symbiotics, dMe), never the stream of a polar (>~300 km/s).
RESOLVED_FWHM = 6.5
#: A disc seen near face-on has narrow Balmer lines too; it still shows a flat Balmer decrement
#: (optically thick emission: H beta/H alpha EW ~ 0.4-1 in dwarf novae, Williams 1983) on a hot
#: continuum, while Be stars have H beta/H alpha EW ~ 0.1-0.3 and dMe stars a red M-dwarf
#: continuum.
FLAT_DECREMENT = 0.4
#: A nebula, galaxy or quasar when [O III] 5007 exceeds this fraction of the H beta emission (CV
#: discs show no forbidden lines; broad-line AGN have [O III]/H beta ~ 0.1-1, nebulae far more).
FORBIDDEN_RATIO = 0.3
#: ...unless the [O III] lines are broad: the ejecta of a classical nova in its nebular phase expand
#: at ~500-4000 km/s (Williams 1992), the lines of planetary nebulae, H II regions and symbiotics at
#: tens of km/s, unresolved at R~1800 (~3 Å). Seven real novae of the Open Nova Catalog measure
#: [O III] 5007 FWHM 15-32 Å and H alpha 20-48 Å at LAMOST resolution; 10 Å is ~600 km/s.
NOVA_FWHM = 10.0
#: ...and strong: [O III] 5007 EW 30-400 Å in those novae; a Wolf-Rayet wind's blends near 5007 Å
#: give a few Å.
NOVA_OIII_EW = 10.0
#: He II 4686 of this many times H beta, at least WR_HEII_EW and broad (WR_HEII_FWHM) is a
#: Wolf-Rayet wind: WN stars have He II 4686 EW of tens to hundreds of Å, He II/H beta ~ 4 and wind
#: widths >~ 1000 km/s (three STELIB WN stars: ratio 3.9-4.6, FWHM 10-14 Å at R~1800); polars have
#: He II/H beta ~ 0.3-1 (Silber 1992) in lines dominated by a narrow (<~ 300 km/s) component, and
#: the white dwarf's absorption trough can lower their net H beta EW.
HELIUM_DOMINANT = 3.0
WR_HEII_EW = 20.0
WR_HEII_FWHM = 9.0
#: A WN/WC wind also rivals H alpha (He II 6560 blended in): He II 4686 EW 1.8-3.1 x the H alpha
#: blend in the WN and WC averages of Fiorucci & Munari (2003); in a nova's ejecta H alpha is the
#: strongest line by far (He II 4686 0.02-0.2 x H alpha in the Open Nova Catalog novae).
WR_HEII_TO_HALPHA = 0.6
#: He II 4686/H beta (emission above the troughs) at or above this marks a magnetic CV (polar/IP;
#: Silber 1992 uses 0.4, and measured ratios scatter): neither Be stars nor dMe flares show He II
#: 4686 emission. It must sit on a continuum that is not red (F4000-4500/F5500-6000 >= HOT_COLOUR):
#: a symbiotic's M giant or a dMe star makes it red (and fakes "emission" between TiO/MgH bands).
MAGNETIC_HEII_RATIO = 0.3
HOT_COLOUR = 0.9
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
#: Galactic objects sit at |z| < 0.002 (600 km/s).
MAX_GALACTIC_Z = 0.002
_C_KMS = 299792.458


def _ew(measure):
    return measure["ew"].value.value if measure is not None else 0.0


def _seen(measure, ew_min):
    """True for a detected emission line, a broad one counted by its integrated significance."""
    if is_detected(measure, ew_min):
        return True
    if measure is None:
        return False
    ew = measure["ew"]
    return (
        ew.value.value > max(ew_min, BROAD_EW)
        and ew.value.value > BROAD_SIGMA * ew.uncertainty.value
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
    if ew.value.value < -3 * ew.uncertainty.value:
        return f"{name} is in absorption, not emission (emission EW {ew.short})"
    return f"no {name} emission (EW {ew.short})"


def _core_note(name, core):
    if exceeds(core, CORE_EXCESS):
        return (
            f"an emission core fills the {name} trough: {core.short} of the continuum above "
            "its flanks"
        )
    return f"no emission core in {name} (centre minus flanks {core.short} of the continuum)"


def assess_cataclysmic_variable(spectrum, redshift=0.0):
    """Cataclysmic variable: broad Balmer and He I/He II emission at z~0, no forbidden lines.

    Quiescent discs give broad Balmer emission with He I; polars add He II 4686 at a good fraction
    of H beta; discs in outburst and nova-likes show broad, shallow Balmer absorption troughs with
    emission cores, often with He II 4686 (Warner 1995; Morales-Rueda & Marsh 2002).
    """
    task, rest = get_task("cataclysmic_variable"), RestSpectrum(spectrum, redshift)
    book = Notebook(task, rest)
    snr = rest.snr(*rest.full_range)
    colour = continuum_colour(rest)
    hot = colour is not None and colour >= HOT_COLOUR
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
    halpha, hbeta = found.get("H alpha"), found.get("H beta")
    helium = {n: found[n] for n in ("He I 5876", "He I 6678", "He II 4686") if n in found}
    heii = found.get("He II 4686")
    tio_seen = [
        m for m in (head_depth(h, rest) for h in TIO_HEADS) if m is not None and is_present(m)
    ]
    oiii = found.get("[O III] 5007")
    filled = [n for n in ("H alpha", "H beta") if exceeds(cores[n], CORE_EXCESS)]
    # O(f) stars show He II 4686 emission too, but over narrow photospheric H beta absorption.
    h_beta_seen = hbeta is not None or "H beta" in filled
    balmer = halpha or hbeta
    flat_disc = (
        halpha is not None
        and hbeta is not None
        and _ew(hbeta) >= FLAT_DECREMENT * _ew(halpha)
        and hot
    )
    narrow = balmer is not None and balmer["fwhm"].value.value < CV_HALPHA_FWHM
    forbidden = oiii is not None and _ew(oiii) > FORBIDDEN_RATIO * _ew(hbeta)
    nebular_nova = (
        forbidden
        and _ew(oiii) >= NOVA_OIII_EW
        and halpha is not None
        and min(oiii["fwhm"].value.value, halpha["fwhm"].value.value) >= NOVA_FWHM
    )
    width = "Narrow (face-on disc), flat-decrement" if narrow else "Broad"
    if abs(redshift) > MAX_GALACTIC_Z:
        verdict = "NO"
        conclusion = (
            f"The redshift z = {redshift:.4f} places the source outside the Galaxy: not a CV."
        )
    elif balmer is None and not filled:
        if snr < MIN_SNR:
            return noisy_no(book, snr, "this spectrum")
        measured = [str(lines[n]["ew"]) for n in ("H alpha", "H beta") if lines[n] is not None]
        verdict = "NO"
        conclusion = (
            f"No Balmer emission ({', '.join(measured) or 'Balmer lines not covered'}) and no "
            "emission core in the Balmer troughs: not a CV."
        )
    elif "C IV 5806" in found or (
        _ew(heii) > WR_HEII_EW
        and _ew(heii) > HELIUM_DOMINANT * max(_ew(hbeta), 1.0)
        and _ew(heii) > WR_HEII_TO_HALPHA * _ew(halpha)
        and heii["fwhm"].value.value >= WR_HEII_FWHM
    ):
        verdict = "NO"
        strongest = [m["ew"] for n, m in found.items() if n in ("He II 4686", "C IV 5806")]
        conclusion = (
            f"Wind lines far stronger than H beta ({listed(strongest)}, H beta {_ew(hbeta):.0f} "
            "Å) are the signature of a Wolf-Rayet star, not a CV."
        )
    elif nebular_nova:
        verdict = "YES"
        conclusion = (
            f"Broad [O III] 5007 ({oiii['ew']}, {oiii['fwhm']}) and H alpha ({halpha['ew']}, "
            f"{halpha['fwhm']}) emission at z~0: forbidden lines as broad as the Balmer lines "
            "come from ejecta expanding at ~1000 km/s, a classical nova in its nebular phase "
            "(a nebula's lines would be unresolved), a cataclysmic variable."
        )
    elif forbidden:
        verdict = "NO"
        conclusion = (
            f"Forbidden [O III] 5007 emission ({oiii['ew']}, against H beta {_ew(hbeta):.0f} Å) "
            "marks a nebula, galaxy or quasar, not a CV."
        )
    elif (
        balmer is not None
        and heii is not None
        and "H beta" in filled
        and cores["He II 4686"].value > MAGNETIC_HEII_RATIO * cores["H beta"].value
        and balmer["fwhm"].value.value >= RESOLVED_FWHM
        and hot
    ):
        ratio = cores["He II 4686"].value.value / cores["H beta"].value.value
        verdict = "YES"
        conclusion = (
            f"Balmer emission ({balmer['ew']}, {balmer['fwhm']}) with strong He II 4686 "
            f"({heii['ew']}, peak {ratio:.1f} x that of H beta) on a "
            f"{describe_colour(colour).removeprefix('a ')} and no forbidden lines: "
            "high-excitation accretion emission that Be and dMe stars never show, a cataclysmic "
            "variable (likely magnetic)."
        )
    elif narrow and not flat_disc:
        kind = (
            "a dMe star (TiO present)"
            if tio_seen
            else "a Be/emission-line star or chromospheric emission"
        )
        verdict = "NO"
        conclusion = (
            f"The Balmer emission is narrow ({balmer['fwhm']}, {balmer['ew']}): {kind}, not an "
            "accretion disc."
        )
    elif balmer is not None and helium and (set(helium) != {"He II 4686"} or h_beta_seen):
        verdict = "YES"
        conclusion = (
            f"{width} Balmer emission ({balmer['ew']}, {balmer['fwhm']}) with "
            f"{' and '.join(helium)} emission ({listed(m['ew'] for m in helium.values())}) at "
            "rest wavelengths and no forbidden lines: a cataclysmic variable."
        )
    elif halpha and hbeta:
        verdict = "YES"
        conclusion = (
            f"{width} Balmer emission in both H alpha ({halpha['ew']}, {halpha['fwhm']}) and "
            f"H beta ({hbeta['ew']}) at z~0 without forbidden lines: an accretion disc, a "
            "cataclysmic variable."
        )
    elif halpha and "H beta" in filled and hot:
        verdict = "YES"
        conclusion = (
            f"Broad H alpha emission ({halpha['ew']}, {halpha['fwhm']}) and an emission core in "
            f"the broad H beta absorption trough ({cores['H beta']}): disc emission over the "
            "white dwarf's or the thick disc's absorption, a cataclysmic variable."
        )
    elif hot and (len(filled) == 2 or (heii is not None and h_beta_seen)):
        verdict = "YES"
        extra = f" and He II 4686 emission ({heii['ew']})" if heii is not None else ""
        conclusion = (
            f"Broad Balmer absorption troughs with emission cores "
            f"({listed(cores[n] for n in filled)}){extra} on a "
            f"{describe_colour(colour).removeprefix('a ')}: the optically thick disc of a "
            "dwarf nova in outburst or a nova-like, a cataclysmic variable."
        )
    elif not hot and filled:
        verdict = "NO"
        conclusion = (
            f"Balmer emission cores ({listed(cores[n] for n in filled)}) on "
            f"{describe_colour(colour)}, without He I/He II: the chromosphere of a cool star, "
            "not a hot accretion disc."
        )
    else:
        verdict = "NO"
        shown = balmer["ew"] if balmer is not None else listed(cores[n] for n in filled)
        conclusion = (
            f"Only one Balmer line in emission ({shown}) and no He I/He II: not enough for a CV."
        )
    return book.conclude(verdict, overview, conclusion)
