"""The scripted astronomer's rules for M giants."""

import numpy as np

from spec_o3.tasks import get_task

from .toolkit import (
    CAH1,
    CAH2,
    CAH3,
    HE_II_4686,
    MIN_SNR,
    NA8189,
    TIO5,
    TIO5_M_TYPE,
    TIO_HEADS,
    Notebook,
    RestSpectrum,
    continuum_colour,
    describe_colour,
    describe_overview,
    exceeds,
    head_depth,
    index_value,
    is_detected,
    is_present,
    listed,
    make_measurement,
    measure_zro,
    noisy_no,
    record_c2_5165,
    region_snr,
    window_for,
    zro_note,
)

__all__ = ["assess_m_giant"]


#: Without TiO5 (gap, short coverage) the TiO 6159 head must be this deep (K5 III <= 0.16, M0 III
#: 0.17).
TIO_6159_M_TYPE = 0.165
#: Gravity votes (MILES/STELIB M stars). CaH1: dwarfs <= 0.90, giants >= 0.99. Na I 8189 ratio:
#: dwarfs <= 0.93, giants >= 0.96. CaH2 + CaH3 above the dwarf locus 0.75 + 1.05 TiO5 (fitted to the
#: M dwarfs, as in the CaH-TiO diagram of Lépine et al. 2003): dwarfs -0.07..+0.03, giants
#: +0.22..+0.31.
CAH1_GIANT = 0.95
#: CaH deepens with TiO along the dwarf sequence, so CaH1 is judged against the dwarfs of the same
#: TiO5 (as in the CaH-TiO diagrams of Lépine et al. 2003): MILES/STELIB/SDSS M dwarfs have CaH1
#: <= 0.86 below TiO5 0.7 and up to 0.97 at TiO5 0.87 (K7-M0 V), giants >= 1.01 at every TiO5.
CAH1_DWARF_LOCUS = (0.90, 0.5, 0.6)
CAH_EXCESS_GIANT = 0.12
NA_GIANT = 0.945
#: The gap between the dwarfs and the giants of each vote (from the ranges above), the unit in
#: which a vote's distance from its limit is weighed when the votes disagree: at M8-M9 TiO fills
#: the CaH1 window of a giant (Mira at minimum: CaH1 0.88, on the dwarfs' side of 0.90) while its
#: CaH2+CaH3 excess (0.53) lies far beyond any dwarf's (<= 0.03).
GRAVITY_GAP = {"CaH1": 0.10, "CaH2+CaH3": 0.19, "Na I 8189": 0.03}
#: A vote this many gaps from its limit decides a tie.
DECISIVE_GAPS = 1.0
#: He II 4686 emission (Å) of a Wolf-Rayet wind (EW 37-385 Å in the WN and WC stars of STELIB and
#: ADPS), whose emission lines can fake TiO band depths. M stars read negative there (TiO 4761-4804
#: bands in the side windows); C IV 5806 is no test, TiO 5810/5847 give a Mira at minimum 55 Å.
WIND_HE_II_EW = 30.0

_GRAVITY_WINDOWS = {
    "CaH1": (6385, "CaH 6382"),
    "CaH2+CaH3": (6830, "CaH 6830"),
    "Na I 8189": (8190, "Na I 8183/8195"),
}
_GRAVITY_TEXT = {
    ("CaH1", 1): "weak CaH, as in giants",
    ("CaH1", -1): "strong CaH, as in dwarfs",
    ("CaH2+CaH3", 1): "well above the M-dwarf locus for this TiO5: giant-like",
    ("CaH2+CaH3", -1): "on the M-dwarf locus for this TiO5: dwarf-like",
    ("Na I 8189", 1): "a weak Na I doublet, as in giants",
    ("Na I 8189", -1): "a strong Na I doublet, as in dwarfs",
}


def _cah1_limit(tio5):
    """CaH1 above which a star of this TiO5 is weaker in CaH than the M dwarfs (a giant)."""
    base, slope, knee = CAH1_DWARF_LOCUS
    return min(CAH1_GIANT, base + slope * max(tio5 - knee, 0.0))


def _gravity_votes(rest):
    """Giant (+1) or dwarf (-1) votes from each available gravity index, with the measurements and
    their distance from the vote's limit in `GRAVITY_GAP` units."""
    tio5, cah1, cah2, cah3, na = (index_value(i, rest) for i in (TIO5, CAH1, CAH2, CAH3, NA8189))
    votes = []

    def vote(name, measurement, limit):
        margin = (measurement.value.value - limit) / GRAVITY_GAP[name]
        votes.append((name, 1 if margin > 0 else -1, measurement, abs(margin)))

    if cah1 is not None:
        vote("CaH1", cah1, CAH1_GIANT if tio5 is None else _cah1_limit(tio5.value.value))
    if cah2 is not None and cah3 is not None and tio5 is not None:
        excess = cah2.value.value + cah3.value.value - (0.75 + 1.05 * tio5.value.value)
        error = np.sqrt(
            cah2.uncertainty.value**2
            + cah3.uncertainty.value**2
            + (1.05 * tio5.uncertainty.value) ** 2
        )
        vote("CaH2+CaH3", make_measurement("CaH2+CaH3 excess", excess, error), CAH_EXCESS_GIANT)
    if na is not None:
        vote("Na I 8189", na, NA_GIANT)  # a band/continuum ratio: deep (low) in dwarfs
    return tio5, votes


def _deciding(votes):
    """The vote that settles a tie: the one farthest from its limit, if decisively far."""
    name, vote, measurement, margin = max(votes, key=lambda v: v[3])
    return (name, vote, measurement) if margin >= DECISIVE_GAPS else None


def assess_m_giant(spectrum, redshift=0.0):
    """M giant: strong TiO, weak gravity-sensitive CaH and Na I (not an M dwarf), no ZrO or C2."""
    task, rest = get_task("m_giant"), RestSpectrum(spectrum, redshift)
    book = Notebook(task, rest)
    snr = region_snr(rest, 6300, 7200)
    tio5, votes = _gravity_votes(rest)
    tio_6159, tio_7054 = (head_depth(h, rest) for h in TIO_HEADS)
    if tio5 is not None:
        # A real TiO spectrum shows more than one head: emission-line stars can fake a low TiO5.
        m_type = tio5.value.value < TIO5_M_TYPE and (tio_6159 is None or is_present(tio_6159))
        tio = tio5
        kind = "deep TiO bands, an M star" if m_type else "TiO too weak for an M star"
        book.record(
            window_for(task, 7000, 7150, "TiO 7054"),
            [tio5, tio_7054],
            [f"TiO5 = {tio5.short}: {kind}"],
            key=True,
        )
    else:
        m_type = tio_6159 is not None and exceeds(tio_6159, TIO_6159_M_TYPE)
        tio = tio_6159
    if tio_6159 is not None:
        book.record(
            window_for(task, 6150, 6200, "TiO 6159"),
            [tio_6159],
            [f"the TiO 6159 head is {tio_6159.short} deep"],
            key=tio5 is None,
        )
    for name, vote, measurement, _ in votes:
        centre, label = _GRAVITY_WINDOWS[name]
        book.record(
            window_for(task, centre - 5, centre + 5, label),
            [measurement],
            [f"{name} {measurement.short}: {_GRAVITY_TEXT[name, vote]}"],
            key=True,
        )
    zro, zro_seen, s_type = measure_zro(rest)
    book.record(
        window_for(task, 6300, 6450, "ZrO 6345/6474"),
        zro[:1],
        [zro_note(zro[0], zro[0] in zro_seen)] if zro else [],
        key=s_type,
    )
    c2_seen, carbon = record_c2_5165(book, (4950, 5250))
    he_ii = HE_II_4686.emission(rest)
    wind = he_ii["ew"] if is_detected(he_ii, WIND_HE_II_EW) else None
    overview = describe_overview(rest, snr, describe_colour(continuum_colour(rest)))
    if tio is None:
        return book.conclude(
            "NO",
            overview,
            "Neither TiO 7054 (TiO5 index) nor TiO 6159 is covered, so the M type cannot be "
            "established.",
        )
    if snr < MIN_SNR:
        return noisy_no(book, snr, "the TiO/CaH region")
    score = sum(vote for _, vote, _, _ in votes)
    evidence = listed(m for _, _, m, _ in votes)
    decider = _deciding(votes) if votes and score == 0 else None
    if not m_type:
        verdict, conclusion = "NO", f"TiO is too weak for an M star ({tio}): not an M giant."
    elif wind is not None:
        verdict = "NO"
        conclusion = (
            f"He II 4686 emission ({wind}) is a Wolf-Rayet wind's, whose lines mimic the TiO "
            f"depths ({tio}): not an M giant."
        )
    elif s_type:
        verdict = "NO"
        conclusion = (
            f"ZrO bands are present ({listed(zro_seen)}): an S/MS star, not a normal M giant."
        )
    elif carbon:
        verdict, conclusion = (
            "NO",
            f"C2 Swan bands are present ({listed(c2_seen)}): a carbon star.",
        )
    elif not votes:
        verdict = "NO"
        conclusion = (
            f"{tio} shows an M star, but no gravity-sensitive index is covered to tell a giant "
            "from a dwarf."
        )
    elif score > 0:
        verdict = "YES"
        conclusion = (
            f"Deep TiO ({tio}) with weak, giant-like gravity features ({evidence}): an M giant."
        )
    elif decider is not None:
        name, vote, measurement = decider
        verdict = "YES" if vote > 0 else "NO"
        side = "giants'" if vote > 0 else "dwarfs'"
        conclusion = (
            f"Deep TiO ({tio}); the gravity indicators disagree ({evidence}), but {name} lies "
            f"far on the {side} side ({_GRAVITY_TEXT[name, vote]}) while the other sits near "
            f"its limit: {'an M giant' if vote > 0 else 'an M dwarf, not a giant'}."
        )
    elif score == 0:
        verdict = "NO"
        conclusion = (
            f"Deep TiO ({tio}), but the gravity indicators disagree ({evidence}); I cannot call it "
            "a giant."
        )
    else:
        verdict = "NO"
        conclusion = (
            f"Deep TiO ({tio}) but strong, dwarf-like gravity features ({evidence}): an M dwarf, "
            "not a giant."
        )
    return book.conclude(verdict, overview, conclusion)
