"""The scripted astronomer's rules for carbon stars."""

import numpy as np

from spec_o3.tasks import get_task

from .rules import builtin_rule_table
from .toolkit import (
    C2_6191,
    C2_HEADS,
    CN_HEADS,
    Notebook,
    RestSpectrum,
    c2_note,
    continuum_colour,
    decide,
    describe_colour,
    describe_overview,
    exceeds,
    head_depth,
    head_window,
    is_present,
    joint_depth,
    listed,
    measure_c2,
    measure_tio_not_c2,
    region_snr,
    window_for,
)

__all__ = ["assess_carbon_star"]

RULES = builtin_rule_table("carbon_star")


def _tio_in_carbon_star(rest, tio_seen):
    """TiO heads that stay TiO once the Swan system is seen.

    The Swan Δv = -2 sequence and the CN red bands blanket the TiO 6159 window of a carbon star; a
    significant blue-degraded step at the C2 6191 head then says the 6159 depth is carbon.
    """
    c2_6191 = head_depth(C2_6191, rest)
    if c2_6191 is None or not exceeds(c2_6191, RULES["c2_6191_in_carbon_star"]):
        return tio_seen
    return [m for m in tio_seen if not m.name.startswith("TiO 6159")]


def _swan_support(rest, c2, c2_seen):
    """The undetected Swan heads (4737, 5165, 5636, 6191) that still absorb at ``support_sigma``.

    A real Swan system darkens all its heads together; one deep step whose sister heads show
    nothing is a noise spike or a metal-line blend, not C2.
    """
    others = [m for m in (*c2, head_depth(C2_6191, rest)) if m is not None and m not in c2_seen]
    return [m for m in others if m.significance >= RULES["support_sigma"]]


def _unmistakable(c2, c2_seen, cn_seen, tio, tio_seen):
    """Swan heads and a CN red band so deep that low S/N cannot hide them, the TiO 7054 head
    covered and absent.

    At S/N 3-5 per pixel a single Swan head is measured to ~0.07, but the heads of the system darken
    together: their mean depth (`joint_depth`) at ``loud_sigma`` with a CN red band as loud, and
    at least one head seen on its own, is a carbon star's band spectrum, not noise. Bands this deep
    blanket the TiO 6159 window as well (the C2 6191 step that `_tio_in_carbon_star` asks for is
    too narrow to prove it at this S/N), so TiO is judged by its 7054 head alone.

    Returns the Swan heads' mean depth and the loud CN bands, or `None` and an empty list.
    """
    swan = joint_depth("C2 Swan mean head depth", c2) if len(c2) >= 2 else None
    loud_cn = [m for m in cn_seen if m.significance >= RULES["loud_sigma"]]
    tio_7054 = [m for m in tio if m.name.startswith("TiO 7054")]
    if (
        swan is not None
        and swan.significance >= RULES["loud_sigma"]
        and c2_seen
        and loud_cn
        and tio_7054
        and not any(m in tio_seen for m in tio_7054)
    ):
        return swan, loud_cn
    return None, []


def assess_carbon_star(spectrum, redshift=0.0):
    """Carbon star: C2 Swan heads absorbing blueward (several of them), no TiO, CN with the C2.

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
    >>> star = simulate_spectrum("carbon_star", seed=11, snr=30, subtype="C-H")
    >>> assess_carbon_star(star, star.meta["redshift"]).verdict
    'YES'
    """
    task, rest = get_task("carbon_star"), RestSpectrum(spectrum, redshift)
    book = Notebook(task, rest)
    snr = region_snr(rest, 4600, 5700)
    c2, c2_seen, carbon = measure_c2(rest)
    for depth in c2:
        book.record(
            head_window(task, C2_HEADS, depth),
            [depth],
            [c2_note(depth, depth in c2_seen)],
            key=True,
        )
    tio, tio_seen = measure_tio_not_c2(rest)
    if carbon:
        tio_seen = _tio_in_carbon_star(rest, tio_seen)
    cn = [m for m in (head_depth(h, rest) for h in CN_HEADS) if m is not None]
    cn_seen = [m for m in cn if is_present(m)]
    loud_c2, loud_cn = _unmistakable(c2, c2_seen, cn_seen, tio, tio_seen)
    if loud_c2:
        tio_seen = [m for m in tio_seen if not m.name.startswith("TiO 6159")]
    blanketed = (
        " (the depth in the TiO 6159 window is the C2 Swan band at 6191 Å)"
        if any(is_present(m) and m not in tio_seen for m in tio)
        else ""
    )
    if tio_seen:
        tio_note = f"TiO heads are present ({listed(tio_seen)}): an oxygen-rich M/S atmosphere"
    else:
        tio_note = f"no TiO head ({listed(tio) or 'not covered'}){blanketed}"
    cn_notes = [f"CN red {'band present' if m in cn_seen else 'weak'} ({m})" for m in cn]
    book.record(
        window_for(task, 7040, 7120, "CN red 7088 vs TiO 7054"),
        [*tio, *cn[:1]],
        [tio_note, *cn_notes[:1]],
        key=True,
    )
    book.record(
        window_for(task, 7900, 8000, "CN red 7945"), cn[1:], cn_notes[1:], key=bool(cn_seen)
    )
    colour = continuum_colour(rest)
    overview = describe_overview(rest, snr, describe_colour(colour))
    clean = [m for m in c2_seen if not m.name.startswith("C2 4737")]
    support = _swan_support(rest, c2, c2_seen)
    facts = {
        "snr": snr,
        "colour": np.nan if colour is None else colour,
        "c2_covered": bool(c2),
        "c2_seen": bool(c2_seen),
        "carbon": carbon,
        "clean_c2": bool(clean),
        "tio_seen": bool(tio_seen),
        "cn_covered": bool(cn),
        "cn_seen": bool(cn_seen),
        "cn_detected": any(exceeds(m, RULES["cn_absent"]) for m in cn),
        "n_support": len(support),
        "loud_c2": bool(loud_c2),
        "c2_listed": listed(c2),
        "c2_seen_listed": " and ".join(map(str, c2_seen)),
        "cn_listed": listed(cn),
        "first_cn_seen": cn_seen[0] if cn_seen else "",
        "support_listed": listed(support),
        "loud_c2_listed": f"{listed(c2)}; {loud_c2}" if loud_c2 else "",
        "loud_cn": loud_cn[0] if loud_cn else "",
        "tio_note": tio_note,
    }
    return decide(book, RULES, overview, facts, "the C2 Swan region")
