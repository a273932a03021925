"""Confusers defined by the data rather than the star: ordinary stars at very low S/N and with a
badly wrong flux calibration (smooth distortions, an arm mismatch that can mimic band steps)."""

from .priors import Priors, observing_conditions
from .registry import CLASSES, SpectralClass

__all__ = ["DEGRADED_CLASSES", "ORDINARY_CLASSES"]

#: Ordinary (never-positive) classes that the degraded confusers are drawn from.
ORDINARY_CLASSES = ("fgk_dwarf", "gk_giant", "cn_strong_giant", "m_dwarf", "ab_star", "bhb_star")


def _draw_base(rng, suffix):
    name = ORDINARY_CLASSES[rng.integers(len(ORDINARY_CLASSES))]
    params = CLASSES[name].draw(rng)
    params["base_class"] = name
    params["subtype"] = f"{params.get('subtype', name)} ({suffix})"
    return params


def _render_base(grid, params):
    return CLASSES[params["base_class"]].render(grid, params)


DEGRADED_CLASSES = (
    SpectralClass(
        "low_snr",
        "Ordinary stars at S/N 2-5 per pixel",
        lambda rng: _draw_base(rng, "low S/N"),
        _render_base,
        snr_range=Priors("low_snr").range("S/N"),
    ),
    SpectralClass(
        "bad_calibration",
        "Ordinary stars with a badly wrong flux calibration (±30 % distortions, arm mismatch)",
        lambda rng: _draw_base(rng, "bad calibration"),
        _render_base,
        conditions=observing_conditions("bad_calibration"),
    ),
)
