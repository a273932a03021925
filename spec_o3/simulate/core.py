"""`simulate_spectrum`: one labelled LAMOST-like spectrum of a registered class."""

import dataclasses
import inspect

import astropy.units as u
import numpy as np
from astropy.nddata import InverseVariance
from specutils import Spectrum

from ..tasks import get_task, task_ids, task_positives
from .grid import ModelGrid, lamost_wavelength
from .instrument import Conditions, observe
from .registry import get_class

__all__ = ["simulate_spectrum", "FLUX_UNIT", "DEFAULT_SNR"]

#: Unit of the simulated flux: relative, on the scale of LAMOST's calibrated flux.
FLUX_UNIT = u.Unit("1e-17 erg / (s cm2 Angstrom)")
#: S/N range (log-uniform) drawn when none is given.
DEFAULT_SNR = (5.0, 80.0)

_GRID = None


def _grid():
    global _GRID
    if _GRID is None:
        _GRID = ModelGrid()
    return _GRID


def _rng_and_seed(seed, rng):
    if rng is not None and seed is not None:
        raise ValueError("give either seed or rng, not both")
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        seed = int(rng.integers(2**63))
    elif seed is None:
        seed = int(np.random.SeedSequence().generate_state(2, np.uint64)[0] >> np.uint64(1))
    elif not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return np.random.default_rng(int(seed)), int(seed)


def _validate_snr(snr):
    if not np.isfinite(snr) or snr <= 0:
        raise ValueError(f"snr must be a positive number, got {snr!r}")
    return float(snr)


def simulate_spectrum(kind, *, seed=None, rng=None, snr=None, task=None, **params):
    """Simulate one LAMOST-like spectrum of a registered class.

    Parameters
    ----------
    kind : str
        A key of `~spec_o3.simulate.CLASSES`, e.g. ``"carbon_star"`` or ``"be_star"``.
    seed : int, optional
        Seed of the `numpy.random.Generator` that draws everything; the same seed (and the same
        other arguments) gives the same spectrum. A fresh one is chosen and recorded when omitted.
    rng : `numpy.random.Generator`, optional
        Draw the seed from this generator instead (for reproducible sequences of spectra).
    snr : float, optional
        Target median signal-to-noise ratio per pixel; drawn log-uniformly in 5–80 when omitted.
    task : str, optional
        A task id or code; adds ``meta["task"]`` and ``meta["label"]`` (``"YES"`` or ``"NO"``).
    **params
        Physical parameters that override the drawn ones (e.g. ``subtype``-defining ``teff``,
        ``logg``, ``redshift``), or observing conditions (fields of
        `~spec_o3.simulate.instrument.Conditions`, e.g. ``ebv=0.1``, ``resolution=1800``).

    Returns
    -------
    spectrum : `~specutils.Spectrum`
        Flux in 1e-17 erg s⁻¹ cm⁻² Å⁻¹ (relative calibration) on the LAMOST grid (vacuum Å),
        inverse- variance uncertainty and a bad-pixel mask. ``meta`` holds ``class``, ``subtype``
        (also as ``subclass``), ``params`` (the physical parameters), ``redshift``, ``snr``
        (achieved median S/N per band, LAMOST-style ``{"u": ..., "g": ..., ...}``), ``target_snr``,
        ``seed``, ``conditions``, ``positive_for`` and ``labels`` (YES/NO for every task).

    Examples
    --------
    >>> from spec_o3.simulate import simulate_spectrum
    >>> spec = simulate_spectrum("m_giant", seed=3, snr=30, task="gm")
    >>> spec.meta["class"], spec.meta["label"], spec.flux.size
    ('m_giant', 'YES', 3921)
    """
    spectral_class = get_class(kind)
    generator, seed = _rng_and_seed(seed, rng)
    # Everything is drawn in a fixed order so that overriding a parameter changes nothing else; a
    # requested subtype is drawn consistently (a DB white dwarf gets a helium atmosphere, ...).
    if "subtype" in params and "subtype" in inspect.signature(spectral_class.draw).parameters:
        drawn = spectral_class.draw(generator, subtype=params.pop("subtype"))
    else:
        drawn = spectral_class.draw(generator)
    conditions = Conditions.draw(generator, **spectral_class.conditions)
    snr_range = spectral_class.snr_range or DEFAULT_SNR
    drawn_snr = float(np.exp(generator.uniform(*np.log(snr_range))))
    condition_fields = {f.name for f in dataclasses.fields(Conditions)}
    for key, value in params.items():
        if key in condition_fields:
            setattr(conditions, key, value)
        elif key in drawn or key in spectral_class.optional:
            drawn[key] = value
        else:
            known = ", ".join(sorted(set(drawn) | set(spectral_class.optional) | condition_fields))
            raise ValueError(f"unknown parameter {key!r} for class {kind!r}; known: {known}")
    snr = drawn_snr if snr is None or spectral_class.snr_range else _validate_snr(snr)
    grid = _grid()
    model = spectral_class.render(grid, drawn)
    flux, ivar, mask, band_snr = observe(grid, model, conditions, snr, generator)

    labels = {
        tid: "YES"
        if spectral_class.positive_for == tid or spectral_class.name in task_positives(tid)
        else "NO"
        for tid in task_ids()
    }
    meta = {
        "class": spectral_class.name,
        "subtype": drawn.get("subtype", ""),
        "subclass": drawn.get("subtype", ""),
        "params": drawn,
        "redshift": float(drawn.get("redshift", 0.0)),
        "snr": band_snr,
        "target_snr": snr,
        "seed": seed,
        "conditions": _conditions_meta(conditions),
        "positive_for": spectral_class.positive_for,
        "pipeline_class": spectral_class.pipeline_class,
        "labels": labels,
    }
    if task is not None:
        task_id = get_task(task).id
        meta["task"] = task_id
        meta["label"] = labels.get(task_id, "NO")
    return Spectrum(
        flux=flux * FLUX_UNIT,
        spectral_axis=lamost_wavelength(),
        uncertainty=InverseVariance(ivar * FLUX_UNIT**-2),
        mask=mask,
        meta=meta,
    )


def _conditions_meta(conditions):
    values = dataclasses.asdict(conditions)
    values["calibration"] = [float(c) for c in conditions.calibration]
    return values
