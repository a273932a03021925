"""Writing simulated spectra as survey files (LAMOST, or DESI coadds of several targets) and their
labels as a table."""

import functools
import json

import astropy.units as u
import numpy as np
from astropy.nddata import InverseVariance
from astropy.table import Table
from specutils import Spectrum, SpectrumList

from spec_o3.io import write_desi_coadd

from .core import FLUX_UNIT
from .grid import ModelGrid
from .instrument import Conditions, observe_desi
from .registry import get_class

__all__ = [
    "survey_view",
    "write_survey_file",
    "desi_arms",
    "write_desi_file",
    "label_row",
    "label_table",
    "LABEL_COLUMNS",
]

#: TARGETID of the first target of a simulated DESI file; its others follow (the ids of real DESI
#: targets lie near 3.9e16: these cannot be mistaken for them).
FIRST_TARGETID = 10**15

#: Columns of the label table, in order (``params`` holds the physical parameters as JSON).
LABEL_COLUMNS = (
    "file",
    "task",
    "label",
    "class",
    "subtype",
    "snr",
    "redshift",
    "seed",
    "snr_g",
    "snr_r",
    "params",
)


def survey_view(spectrum):
    """The spectrum as a survey file would hold it: only the pipeline-like class, redshift and S/N.

    The truth (class, subtype, parameters, labels) stays out of the file so that a vetting method
    cannot read the answer from the header; it lives in the label table.

    Examples
    --------
    >>> from spec_o3.simulate import simulate_spectrum
    >>> survey_view(simulate_spectrum("quasar", seed=1)).meta["class"]
    'QSO'
    """
    meta = {
        "class": spectrum.meta["pipeline_class"],
        "redshift": spectrum.meta["redshift"],
        "snr": dict(spectrum.meta["snr"]),
    }
    return Spectrum(
        flux=spectrum.flux,
        spectral_axis=spectrum.spectral_axis,
        uncertainty=spectrum.uncertainty,
        mask=spectrum.mask,
        meta=meta,
    )


def write_survey_file(spectrum, path):
    """Write ``spectrum``'s `survey_view` as a LAMOST LRS FITS file (DR7 5-row image, float32)."""
    survey_view(spectrum).write(path, format="spec-o3 LAMOST-LRS", overwrite=True, dtype=np.float32)


@functools.cache
def _desi_grid():
    return ModelGrid(start=3600.0, end=9824.0, oversample=6)


def desi_arms(spectrum):
    """The object of a simulated spectrum as DESI's b, r and z arms record it.

    The model is rendered again from ``meta["params"]`` on a grid covering DESI's 3600–9824 Å and
    observed by `~spec_o3.simulate.instrument.observe_desi` under the spectrum's conditions, at its
    target S/N, with noise seeded by its ``meta["seed"]``.

    Returns
    -------
    arms, band_snr
        As `~spec_o3.simulate.instrument.observe_desi` returns them.
    """
    meta = spectrum.meta
    conditions = Conditions(
        **{**meta["conditions"], "calibration": np.asarray(meta["conditions"]["calibration"])}
    )
    grid = _desi_grid()
    model = get_class(meta["class"]).render(grid, meta["params"])
    rng = np.random.default_rng(meta["seed"])
    return observe_desi(grid, model, conditions, meta["target_snr"], rng)


def write_desi_file(spectra, path, *, first_targetid=FIRST_TARGETID):
    """Write simulated spectra as one DESI coadd file, a target each, with its redrock file.

    The coadd (official layout, see `~spec_o3.io.write_desi_coadd`) holds only what a DESI file
    holds; ``redrock-*.fits`` beside it gives each target's redshift and the pipeline-like class
    (SPECTYPE), as `survey_view` does for LAMOST.

    Parameters
    ----------
    spectra : sequence of `~specutils.Spectrum`
        From `~spec_o3.simulate.simulate_spectrum` or `~spec_o3.simulate.suite.iter_suite`.
    path : str or path-like
        Named ``coadd-*.fits``.
    first_targetid : int
        TARGETID of the first spectrum; the others follow.

    Returns
    -------
    targetids : list of int
    band_snr : list of dict
        Achieved S/N per band of each target.
    """
    observed = [desi_arms(spectrum) for spectrum in spectra]
    targetids = [first_targetid + number for number in range(len(spectra))]
    arms = SpectrumList()
    for arm in "brz":
        wavelength = observed[0][0][arm][0]
        flux, ivar, mask = (np.array([arms_[arm][k] for arms_, _ in observed]) for k in (1, 2, 3))
        arms.append(
            Spectrum(
                flux=flux * FLUX_UNIT,
                spectral_axis=wavelength * u.AA,
                uncertainty=InverseVariance(ivar * FLUX_UNIT**-2),
                mask=mask,
                meta={"band": arm},
            )
        )
    arms[0].meta["fibermap"] = Table({"TARGETID": np.array(targetids, dtype=np.int64)})
    redshifts = Table(
        {
            "TARGETID": np.array(targetids, dtype=np.int64),
            "Z": [spectrum.meta["redshift"] for spectrum in spectra],
            "ZERR": np.full(len(spectra), 1e-5),
            "ZWARN": np.zeros(len(spectra), dtype=np.int64),
            "SPECTYPE": [spectrum.meta["pipeline_class"] for spectrum in spectra],
            "SUBTYPE": [""] * len(spectra),
        }
    )
    write_desi_coadd(path, arms, overwrite=True, redshifts=redshifts)
    return targetids, [band_snr for _, band_snr in observed]


def label_row(spectrum, file_name, *, targetid=None, band_snr=None):
    """One row of the label table for a spectrum from `~spec_o3.simulate.draw_suite`.

    A DESI target adds its ``targetid`` and the S/N its arms achieved (``band_snr``).
    """
    meta = spectrum.meta
    band_snr = meta["snr"] if band_snr is None else band_snr
    targetid = {} if targetid is None else {"targetid": int(targetid)}
    return {
        "file": str(file_name),
        **targetid,
        "task": meta["task"],
        "label": meta["label"],
        "class": meta["class"],
        "subtype": meta["subtype"],
        "snr": float(meta["target_snr"]),
        "redshift": float(meta["redshift"]),
        "seed": int(meta["seed"]),
        "snr_g": float(band_snr["g"]),
        "snr_r": float(band_snr["r"]),
        "params": json.dumps(meta["params"], default=float, sort_keys=True),
    }


def label_table(rows, *, survey="LAMOST", **meta):
    """The label `~astropy.table.Table` of ``rows`` from `label_row`, ``meta`` in its header; the
    rows of DESI targets get a ``targetid`` column after ``file``."""
    columns = LABEL_COLUMNS
    if rows and "targetid" in rows[0]:
        columns = (LABEL_COLUMNS[0], "targetid", *LABEL_COLUMNS[1:])
    table = Table(rows=[[row[c] for c in columns] for row in rows], names=columns)
    table["seed"] = np.asarray(table["seed"], dtype=np.uint64) if len(rows) else table["seed"]
    table.meta.update(meta)
    table.meta["description"] = f"Labels of simulated {survey}-like spectra (spec_o3.simulate)"
    return table
