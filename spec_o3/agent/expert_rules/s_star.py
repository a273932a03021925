"""The scripted astronomer's rules for S stars."""

from spec_o3.tasks import get_task

from ._common import (
    MIN_SNR,
    TIO5,
    TIO5_M_TYPE,
    ZRO_HEADS,
    _c2,
    _c2_note,
    _continuum_colour,
    _describe_colour,
    _head_window,
    _listed,
    _noisy_no,
    _Notebook,
    _overview,
    _RestSpectrum,
    _snr,
    _value,
    _window_for,
    _zro,
    _zro_note,
)

__all__ = ["assess_s_star"]


def assess_s_star(spectrum, redshift=0.0):
    """S star: ZrO heads (6474 with 5551 or 6345 Å), beyond an M giant's TiO blends; no C2."""
    task, rest = get_task("s_star"), _RestSpectrum(spectrum, redshift)
    book = _Notebook(task, rest)
    snr = _snr(rest, 5500, 6600)
    zro, zro_seen, s_type = _zro(rest)
    for depth in zro:
        book.record(
            _head_window(task, ZRO_HEADS, depth),
            [depth],
            [_zro_note(depth, depth in zro_seen)],
            key=True,
        )
    tio5 = _value(TIO5, rest)
    if tio5 is not None:
        book.record(
            _window_for(task, 7000, 7150, "TiO 7054"),
            [tio5],
            [f"TiO5 = {tio5.short} for comparison"],
            key=True,
        )
    c2, c2_seen, carbon = _c2(rest)
    book.record(
        _window_for(task, 5100, 5200, "C2 Swan 5165"),
        c2[1:2],
        [_c2_note(c2[1], c2[1] in c2_seen)] if len(c2) > 1 else [],
        key=carbon,
    )
    overview = _overview(rest, snr, _describe_colour(_continuum_colour(rest)))
    if not zro:
        return book.conclude(
            "NO",
            overview,
            "No ZrO band head is covered by the data, so an S star cannot be confirmed.",
        )
    if snr < MIN_SNR:
        return _noisy_no(book, snr, "the ZrO region")
    tio_text = f"TiO5 {tio5.value.value:.2f}" if tio5 is not None else "TiO5 not covered"
    if carbon:
        verdict, conclusion = (
            "NO",
            f"C2 Swan bands ({_listed(c2_seen)}) mark a carbon star, not an S star.",
        )
    elif s_type:
        both = tio5 is not None and tio5.value.value < TIO5_M_TYPE
        kind = "an MS/S star (TiO and ZrO together)" if both else "an S star"
        verdict, conclusion = (
            "YES",
            f"ZrO bands at several heads ({_listed(zro_seen)}; {tio_text}): {kind}.",
        )
    elif zro_seen:
        verdict = "NO"
        conclusion = (
            f"Only one ZrO-like step ({_listed(zro_seen)}); not enough for an S star ({tio_text})."
        )
    else:
        verdict = "NO"
        conclusion = f"No ZrO band ({_listed(zro)}); with {tio_text} this is not an S star."
    return book.conclude(verdict, overview, conclusion)
