"""The scripted astronomer's rules for S stars."""

from spec_o3.tasks import get_task

from .rules import builtin_rule_table
from .toolkit import (
    TIO5,
    TIO5_M_TYPE,
    TIO_HEADS,
    ZRO_HEADS,
    Notebook,
    RestSpectrum,
    continuum_colour,
    decide,
    describe_colour,
    describe_overview,
    head_depth,
    head_window,
    index_value,
    is_present,
    listed,
    measure_zro,
    record_c2_5165,
    region_snr,
    window_for,
    with_zro_confirmation,
    zro_confirmation,
    zro_note,
)

__all__ = ["assess_s_star"]

RULES = builtin_rule_table("s_star")


def _zro_systems(zro, zro_seen, m_type, confirmation):
    """Whether the detected ZrO heads make an S star: 6474 Å and a second head, checked against CN.

    The CN red system of CN-strong K giants has heads at 6478 and 6360 Å, in the windows of the
    ZrO 6474 and 6345 heads, so where TiO is weak (a K-type or SC spectrum) the 5551 Å head of
    another ZrO system, where CN has no head, must confirm 6474. In an M-type spectrum (deep TiO)
    CN is negligible, carbon being locked in CO, and 6474 with 6345 suffices, as in MS stars. MILES
    MS/S stars: 6474 0.23-0.35, 5551 0.09-0.22, 6345 0.10-0.14 (normal M giants <= 0.17 at 6474
    and <= 0.06 at 5551). In an M-type spectrum the 5551 and 6345 heads may also confirm 6474
    together, by their joint depth (``confirmation``, see `~.toolkit.zro_confirmation`), when
    the noise hides each alone. Without 6474 coverage 5551 and 6345 must both be seen.
    """
    covered = {m.name.split()[1] for m in zro}
    seen = {m.name.split()[1] for m in zro_seen}
    if "6474" not in covered:
        return {"5551", "6345"} <= seen
    confirming = {"5551", "6345"} if m_type or "5551" not in covered else {"5551"}
    return "6474" in seen and (bool(seen & confirming) or (m_type and confirmation is not None))


def assess_s_star(spectrum, redshift=0.0):
    """S star: ZrO heads (6474 with 5551 or 6345 Å), beyond an M giant's TiO blends; no C2.

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
    >>> star = simulate_spectrum("s_star", seed=1, snr=40, subtype="S")
    >>> assess_s_star(star, star.meta["redshift"]).verdict
    'YES'
    """
    task, rest = get_task("s_star"), RestSpectrum(spectrum, redshift)
    book = Notebook(task, rest)
    snr = region_snr(rest, 5500, 6600)
    zro, zro_seen, _ = measure_zro(rest)
    for depth in zro:
        book.record(
            head_window(task, ZRO_HEADS, depth),
            [depth],
            [zro_note(depth, depth in zro_seen)],
            key=True,
        )
    tio5 = index_value(TIO5, rest)
    if tio5 is not None:
        book.record(
            window_for(task, 7000, 7150, "TiO 7054"),
            [tio5],
            [f"TiO5 = {tio5.short} for comparison"],
            key=True,
        )
    c2_seen, carbon = record_c2_5165(book, (5100, 5200))
    overview = describe_overview(rest, snr, describe_colour(continuum_colour(rest)))
    # An M-type spectrum: TiO5 deep and the TiO 6159 head present (CN 7088 can depress TiO5 alone).
    tio_6159 = head_depth(TIO_HEADS[0], rest)
    m_type = (
        tio5 is not None
        and tio5.number < TIO5_M_TYPE
        and tio_6159 is not None
        and is_present(tio_6159)
    )
    confirmation = zro_confirmation(rest)
    system = _zro_systems(zro, zro_seen, m_type, confirmation)
    if system:
        zro_seen = with_zro_confirmation(zro_seen, confirmation)
    facts = {
        "snr": snr,
        "zro_covered": bool(zro),
        "zro_seen": bool(zro_seen),
        "zro_system": system,
        "m_type": m_type,
        "carbon": carbon,
        "zro_listed": listed(zro),
        "zro_seen_listed": listed(zro_seen),
        "c2_seen_listed": listed(c2_seen),
        "tio_text": f"TiO5 {tio5.number:.2f}" if tio5 is not None else "TiO5 not covered",
    }
    return decide(book, RULES, overview, facts, "the ZrO region")
