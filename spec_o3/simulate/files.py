"""Writing simulated spectra as survey files and their labels as a table."""

import json

import numpy as np
from astropy.table import Table
from specutils import Spectrum

__all__ = ["survey_view", "write_survey_file", "label_row", "label_table", "LABEL_COLUMNS"]

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


def label_row(spectrum, file_name):
    """One row of the label table for a spectrum from `~spec_o3.simulate.draw_suite`."""
    meta = spectrum.meta
    return {
        "file": str(file_name),
        "task": meta["task"],
        "label": meta["label"],
        "class": meta["class"],
        "subtype": meta["subtype"],
        "snr": float(meta["target_snr"]),
        "redshift": float(meta["redshift"]),
        "seed": int(meta["seed"]),
        "snr_g": float(meta["snr"]["g"]),
        "snr_r": float(meta["snr"]["r"]),
        "params": json.dumps(meta["params"], default=float, sort_keys=True),
    }


def label_table(rows, **meta):
    """The label `~astropy.table.Table` of ``rows`` from `label_row`, ``meta`` in its header."""
    table = Table(rows=[[row[c] for c in LABEL_COLUMNS] for row in rows], names=LABEL_COLUMNS)
    table["seed"] = np.asarray(table["seed"], dtype=np.uint64) if len(rows) else table["seed"]
    table.meta.update(meta)
    table.meta["description"] = "Labels of simulated LAMOST-like spectra (spec_o3.simulate)"
    return table
