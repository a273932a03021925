"""The scripted astronomer's rules for carbon stars."""

from spec_o3.tasks import get_task

from ._common import (
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
    _tio_not_c2,
    _window_for,
)

__all__ = ["assess_carbon_star"]


def assess_carbon_star(spectrum, redshift=0.0):
    """Carbon star: C2 Swan heads absorbing blueward (several of them), no TiO."""
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
    cn = [m for m in (_depth(h, rest) for h in CN_HEADS) if m is not None]
    cn_seen = [m for m in cn if _present(m)]
    if tio_seen:
        tio_note = f"TiO heads are present ({_listed(tio_seen)}): an oxygen-rich M/S atmosphere"
    else:
        tio_note = f"no TiO head ({_listed(tio) or 'not covered'})"
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
    overview = _overview(rest, snr, _describe_colour(_continuum_colour(rest)))
    if not c2:
        return book.conclude(
            "NO",
            overview,
            "None of the C2 Swan heads (4737, 5165, 5636 Å) is covered by the data, so a carbon "
            "star cannot be confirmed.",
        )
    if snr < MIN_SNR:
        return _noisy_no(book, snr, "the C2 Swan region")
    listed = " and ".join(map(str, c2_seen))
    clean = [m for m in c2_seen if not m.name.startswith("C2 4737")]
    if carbon and not tio_seen:
        verdict, conclusion = (
            "YES",
            f"C2 Swan bands at several heads ({listed}) with {tio_note}: a carbon star.",
        )
    elif clean and cn_seen and not tio_seen:
        verdict = "YES"
        conclusion = (
            f"C2 Swan absorption ({listed}) and CN red bands ({cn_seen[0]}) without TiO: "
            "a carbon star."
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
