"""The scripted astronomer's rules for M giants."""

import numpy as np

from spec_o3.tasks import get_task

from .rules import builtin_rule_table
from .toolkit import (
    CAH1,
    CAH2,
    CAH3,
    HE_II_4686,
    NA8189,
    TIO5,
    TIO5_M_TYPE,
    TIO_HEADS,
    Notebook,
    RestSpectrum,
    continuum_colour,
    decide,
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
    record_c2_5165,
    region_snr,
    window_for,
    with_zro_confirmation,
    zro_confirmation,
    zro_note,
)

__all__ = ["assess_m_giant"]

RULES = builtin_rule_table("m_giant")

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
#: The table's dwarf-giant gap per vote: the unit of a vote's distance from its limit.
_GRAVITY_GAP = {"CaH1": "cah1_gap", "CaH2+CaH3": "cah_excess_gap", "Na I 8189": "na_gap"}


def _cah1_limit(tio5):
    """CaH1 above which a star of this TiO5 is weaker in CaH than the M dwarfs (a giant)."""
    knee, slope = RULES["cah1_locus_knee"], RULES["cah1_locus_slope"]
    return min(RULES["cah1_giant"], RULES["cah1_locus_base"] + slope * max(tio5 - knee, 0.0))


def _gravity_votes(rest):
    """Giant (+1) or dwarf (-1) votes from each available gravity index, with the measurements and
    their distance from the vote's limit in units of the dwarf-giant gap."""
    tio5, cah1, cah2, cah3, na = (index_value(i, rest) for i in (TIO5, CAH1, CAH2, CAH3, NA8189))
    votes = []

    def vote(name, measurement, limit):
        margin = (measurement.number - limit) / RULES[_GRAVITY_GAP[name]]
        votes.append((name, 1 if margin > 0 else -1, measurement, abs(margin)))

    if cah1 is not None:
        limit = RULES["cah1_giant"] if tio5 is None else _cah1_limit(tio5.number)
        vote("CaH1", cah1, limit)
    if cah2 is not None and cah3 is not None and tio5 is not None:
        # Distance above the M-dwarf locus CaH2 + CaH3 = intercept + slope TiO5.
        slope = RULES["cah_locus_slope"]
        locus = RULES["cah_locus_intercept"] + slope * tio5.number
        error = np.sqrt(cah2.error**2 + cah3.error**2 + (slope * tio5.error) ** 2)
        excess = make_measurement("CaH2+CaH3 excess", cah2.number + cah3.number - locus, error)
        vote("CaH2+CaH3", excess, RULES["cah_excess_giant"])
    if na is not None:
        vote("Na I 8189", na, RULES["na_giant"])  # a band/continuum ratio: deep (low) in dwarfs
    return tio5, votes


def _k_giant_distance(tio5, tio_6159):
    """How far the TiO measured lies beyond a K5 giant's, in errors, and the measurements it
    rests on: TiO5 below the K5 giant level and the TiO 6159 head deeper than a K5 giant's, each
    in its own errors, combined as independent tests of one hypothesis (Stouffer's z; NaN when
    neither is covered)."""
    scores, used = [], []
    if tio5 is not None:
        scores.append((RULES["tio5_k_giant"] - tio5.number) / tio5.error)
        used.append(tio5)
    if tio_6159 is not None:
        scores.append((tio_6159.number - RULES["tio_6159_k_giant"]) / tio_6159.error)
        used.append(tio_6159)
    return (sum(scores) / np.sqrt(len(scores)) if scores else np.nan), listed(used)


def _vote_facts(votes):
    """The facts the table weighs the gravity votes by: their sum and the most decisive vote."""
    name, vote, _, margin = max(votes, key=lambda v: v[3]) if votes else ("", 0, None, np.nan)
    return {
        "n_votes": len(votes),
        "score": sum(v[1] for v in votes),
        "votes_listed": listed(m for _, _, m, _ in votes),
        "top_name": name,
        "top_vote": vote,
        "top_margin": margin,
        "top_text": _GRAVITY_TEXT.get((name, vote), ""),
    }


def assess_m_giant(spectrum, redshift=0.0):
    """M giant: strong TiO, weak gravity-sensitive CaH and Na I (not an M dwarf), no ZrO or C2.

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
    >>> dwarf = simulate_spectrum("m_dwarf", seed=1, snr=40, subtype="M6")
    >>> assessment = assess_m_giant(dwarf, dwarf.meta["redshift"])
    >>> assessment.verdict, assessment.rule
    ('NO', 'dwarf_gravity')
    """
    task, rest = get_task("m_giant"), RestSpectrum(spectrum, redshift)
    book = Notebook(task, rest)
    snr = region_snr(rest, 6300, 7200)
    tio5, votes = _gravity_votes(rest)
    tio_6159, tio_7054 = (head_depth(h, rest) for h in TIO_HEADS)
    k_giant_sigmas, k_giant_listed = _k_giant_distance(tio5, tio_6159)
    if tio5 is not None:
        # A real TiO spectrum shows more than one head: emission-line stars can fake a low TiO5.
        m_type = tio5.number < TIO5_M_TYPE and (tio_6159 is None or is_present(tio_6159))
        tio = tio5
        # A low TiO5 without the 6159 head is noise or emission in the 7054 Å window, not TiO.
        unconfirmed = not m_type and tio5.number < TIO5_M_TYPE
        if m_type and k_giant_sigmas < RULES["k_giant_sigmas_min"]:
            kind = "below the M-star limit, but within the noise of a K5 giant's"
        elif m_type:
            kind = "deep TiO bands, an M star"
        elif unconfirmed:
            kind = "low, but no TiO 6159 head confirms it as TiO"
        else:
            kind = "TiO too weak for an M giant"
        book.record(
            window_for(task, 7000, 7150, "TiO 7054"),
            [tio5, tio_7054],
            [f"TiO5 = {tio5.short}: {kind}"],
            key=True,
        )
    else:
        m_type = tio_6159 is not None and exceeds(tio_6159, RULES["tio_6159_m_type"])
        tio, unconfirmed = tio_6159, False
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
    overview = describe_overview(rest, snr, describe_colour(continuum_colour(rest)))
    facts = {
        "snr": snr,
        "tio_covered": tio is not None,
        "tio": str(tio),
        "m_type": m_type,
        "no_m_type": (
            f"{tio} is low, but no TiO 6159 head confirms it as TiO"
            if unconfirmed
            else f"TiO is too weak for an M giant ({tio})"
        ),
        "k_giant_sigmas": k_giant_sigmas,
        "k_giant_listed": k_giant_listed,
        "he_ii_emission": he_ii["ew"].number if is_detected(he_ii) else np.nan,
        "he_ii": str(he_ii["ew"]) if he_ii is not None else "",
        "s_type": s_type,
        "carbon": carbon,
        "zro_seen_listed": listed(
            with_zro_confirmation(zro_seen, zro_confirmation(rest)) if s_type else zro_seen
        ),
        "c2_seen_listed": listed(c2_seen),
        **_vote_facts(votes),
    }
    return decide(book, RULES, overview, facts, "the TiO/CaH region")
