"""The scripted astronomer's rules for carbon stars."""

from spec_o3.tasks import get_task

from ._common import (
    C2_6191,
    C2_HEADS,
    CN_HEADS,
    MIN_SNR,
    _c2,
    _c2_note,
    _continuum_colour,
    _depth,
    _describe_colour,
    _head_window,
    _listed,
    _noisy_no,
    _Notebook,
    _overview,
    _present,
    _RestSpectrum,
    _snr,
    _strong,
    _tio_not_c2,
    _window_for,
)

__all__ = ["assess_carbon_star"]

#: Significance (sigma) at which a band is unmistakable even in a spectrum below `MIN_SNR`: a
#: 30 Å head window averages ~25 pixels, so the saturated Swan and CN red bands of a cool carbon
#: star (depths 0.4-0.8) stand 10 sigma above the noise at S/N 4 per pixel.
LOUD_SIGMA = 5.0
#: C2 (0,2) step at 6191 Å that, in a star whose Swan system is already seen, explains the depth in
#: the TiO 6159 window; K and early-M stars, whose TiO 6159 head appears before TiO 7054, show no
#: step there (at most 0.02 in MILES/STELIB/LAMOST K5-M0 stars).
C2_6191_IN_CARBON_STAR = 0.05


def _tio_in_carbon_star(rest, tio_seen):
    """TiO heads that stay TiO once the Swan system is seen.

    The Swan Δv = -2 sequence and the CN red bands blanket the TiO 6159 window of a carbon star; a
    significant blue-degraded step at the C2 6191 head then says the 6159 depth is carbon.
    """
    c2_6191 = _depth(C2_6191, rest)
    if c2_6191 is None or not _strong(c2_6191, C2_6191_IN_CARBON_STAR):
        return tio_seen
    return [m for m in tio_seen if not m.name.startswith("TiO 6159")]


#: Significance (sigma) of the weaker Swan heads that back up a single detected one.
SUPPORT_SIGMA = 2.0


def _swan_support(rest, c2, c2_seen):
    """The undetected Swan heads (4737, 5165, 5636, 6191) that still absorb at `SUPPORT_SIGMA`.

    A real Swan system darkens all its heads together; one deep step whose sister heads show
    nothing is a noise spike or a metal-line blend, not C2.
    """
    others = [m for m in (*c2, _depth(C2_6191, rest)) if m is not None and m not in c2_seen]
    return [m for m in others if m.significance >= SUPPORT_SIGMA]


def _unmistakable(c2_seen, cn_seen, tio, tio_seen):
    """Swan heads and a CN red band so deep that low S/N cannot hide them, TiO covered and absent.

    Returns the loud Swan heads and CN bands, or two empty lists.
    """
    loud_c2 = [m for m in c2_seen if m.significance >= LOUD_SIGMA]
    loud_cn = [m for m in cn_seen if m.significance >= LOUD_SIGMA]
    clean = [m for m in loud_c2 if not m.name.startswith("C2 4737")]
    tio_7054 = [m for m in tio if m.name.startswith("TiO 7054")]
    if len(loud_c2) >= 2 and clean and loud_cn and tio_7054 and not tio_seen:
        return loud_c2, loud_cn
    return [], []


#: F(4000-4500)/F(5500-6000) above which a continuum is warm enough for a DQ white dwarf: cool DQ
#: stars with Swan bands are 5000-12000 K (Dufour et al. 2005, ApJ 627, 404), whereas carbon giants
#: are cooler than ~5000 K and blanketed in the blue (0.02-0.55 in simulated C-R/N/J stars, 0.65 in
#: a real LAMOST K3 giant; up to ~0.8 in the warmest, most metal-poor CH stars, told apart by CN).
DQ_COLOUR = 0.7
#: CN red head step that a CN band must exceed (at 3 sigma) to be there at all: the metal-line
#: blend at the heads gives 0.04 (median) to 0.07 (90th percentile) in MILES/STELIB/LAMOST stars,
#: a DQ white dwarf's featureless continuum 0.00-0.04; carbon giants show 0.08-0.8.
CN_ABSENT = 0.06


def _dq_white_dwarf(colour, cn):
    """Whether Swan bands sit in a warm continuum without any CN red band (a DQ white dwarf).

    Every carbon giant shows the CN red system with its Swan bands (Keenan 1993, PASP 105, 905); a
    DQ white dwarf shows C2 alone, with no other molecule and no metal line.
    """
    return (
        colour is not None
        and colour > DQ_COLOUR
        and bool(cn)
        and not any(_strong(m, CN_ABSENT) for m in cn)
    )


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
    task, rest = get_task("carbon_star"), _RestSpectrum(spectrum, redshift)
    book = _Notebook(task, rest)
    snr = _snr(rest, 4600, 5700)
    c2, c2_seen, carbon = _c2(rest)
    for depth in c2:
        book.record(
            _head_window(task, C2_HEADS, depth),
            [depth],
            [_c2_note(depth, depth in c2_seen)],
            key=True,
        )
    tio, tio_seen = _tio_not_c2(rest)
    if carbon:
        tio_seen = _tio_in_carbon_star(rest, tio_seen)
    blanketed = (
        " (the depth in the TiO 6159 window is the C2 Swan band at 6191 Å)"
        if any(_present(m) and m not in tio_seen for m in tio)
        else ""
    )
    cn = [m for m in (_depth(h, rest) for h in CN_HEADS) if m is not None]
    cn_seen = [m for m in cn if _present(m)]
    if tio_seen:
        tio_note = f"TiO heads are present ({_listed(tio_seen)}): an oxygen-rich M/S atmosphere"
    else:
        tio_note = f"no TiO head ({_listed(tio) or 'not covered'}){blanketed}"
    cn_notes = [f"CN red {'band present' if m in cn_seen else 'weak'} ({m})" for m in cn]
    book.record(
        _window_for(task, 7040, 7120, "CN red 7088 vs TiO 7054"),
        [*tio, *cn[:1]],
        [tio_note, *cn_notes[:1]],
        key=True,
    )
    book.record(
        _window_for(task, 7900, 8000, "CN red 7945"), cn[1:], cn_notes[1:], key=bool(cn_seen)
    )
    colour = _continuum_colour(rest)
    overview = _overview(rest, snr, _describe_colour(colour))
    if not c2:
        return book.conclude(
            "NO",
            overview,
            "None of the C2 Swan heads (4737, 5165, 5636 Å) is covered by the data, so a carbon "
            "star cannot be confirmed.",
        )
    listed = " and ".join(map(str, c2_seen))
    if c2_seen and _dq_white_dwarf(colour, cn):
        return book.conclude(
            "NO",
            overview,
            f"The C2 Swan steps ({listed}) sit in a warm continuum "
            f"(F4000-4500/F5500-6000 = {colour:.2f}) without any CN red band ({_listed(cn)}): "
            "C2 alone, as in a DQ white dwarf, not a carbon giant.",
        )
    if snr < MIN_SNR:
        loud_c2, loud_cn = _unmistakable(c2_seen, cn_seen, tio, tio_seen)
        if not loud_c2:
            return _noisy_no(book, snr, "the C2 Swan region")
        return book.conclude(
            "YES",
            overview,
            f"Despite the low S/N (median {snr:.1f} per pixel), the Swan bands "
            f"({' and '.join(map(str, loud_c2))}) and the CN red band ({loud_cn[0]}) are at least "
            f"{LOUD_SIGMA:.0f} sigma deep, with {tio_note}: a cool carbon star.",
        )
    clean = [m for m in c2_seen if not m.name.startswith("C2 4737")]
    support = _swan_support(rest, c2, c2_seen)
    if carbon and not tio_seen:
        verdict, conclusion = (
            "YES",
            f"C2 Swan bands at several heads ({listed}) with {tio_note}: a carbon star.",
        )
    elif clean and cn_seen and not tio_seen and len(support) >= 2:
        verdict = "YES"
        conclusion = (
            f"C2 Swan absorption ({listed}, backed by weaker steps at {_listed(support)}) and CN "
            f"red bands ({cn_seen[0]}) without TiO: a carbon star."
        )
    elif c2_seen and tio_seen:
        verdict = "NO"
        conclusion = (
            f"The apparent C2 steps ({listed}) come with {tio_note}; this is an M/S-type star, "
            "not a carbon star."
        )
    else:
        verdict = "NO"
        single = "a single step is not enough for a carbon star" if c2_seen else "not a carbon star"
        conclusion = f"No C2 Swan band system ({_listed(c2)}): {single}."
    return book.conclude(verdict, overview, conclusion)
