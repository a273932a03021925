"""The shipped catalogue of atomic lines and molecular bands (rest frame, vacuum wavelengths in Å).

Both tables live in ``spec_o3/data`` as ECSV files (``lines.ecsv``, ``bands.ecsv``) whose headers
carry the units and column descriptions; :doc:`/catalog` describes the columns, conventions and
sources.
"""

from functools import cache
from importlib.resources import files

import numpy as np
from astropy.table import QTable

__all__ = ["atomic_lines", "molecular_bands", "get_band", "rest_wavelengths"]


@cache
def _load(filename):
    """Parse one catalogue file of the package data once; callers get copies."""
    text = files("spec_o3.data").joinpath(filename).read_text(encoding="utf-8")
    return QTable.read(text, format="ascii.ecsv")


def atomic_lines():
    """Return the atomic line list.

    Returns
    -------
    lines : `~astropy.table.QTable`
        One row per line with columns ``name`` (unique), ``species``, ``rest_wavelength``
        (vacuum, Å), ``group``, ``typical_kind`` (``"absorption"``, ``"emission"`` or ``"both"``)
        and ``reference``.
        A fresh copy: changing it does not change the catalogue.

    Examples
    --------
    >>> from spec_o3.catalog import atomic_lines
    >>> lines = atomic_lines()
    >>> halpha = lines[lines["name"] == "H alpha"][0]
    >>> print(halpha["rest_wavelength"])
    6564.61 Angstrom
    """
    return _load("lines.ecsv").copy()


def molecular_bands():
    """Return the molecular band catalogue.

    Returns
    -------
    bands : `~astropy.table.QTable`
        One row per band with columns ``name`` (``"<molecule>_<air bandhead in Å, rounded>"``),
        ``molecule``, ``system``, ``bandhead``, ``band_min``, ``band_max``, ``blue_continuum_min``,
        ``blue_continuum_max``, ``red_continuum_min``, ``red_continuum_max`` (all vacuum, Å),
        ``degraded`` (``"blue"`` or ``"red"``: the side of the head where the band absorbs),
        ``reference`` and ``note``. A fresh copy: changing it does not change the catalogue.

    Examples
    --------
    >>> from spec_o3.catalog import molecular_bands
    >>> bands = molecular_bands()
    >>> "TiO_7054" in bands["name"]
    True
    """
    return _load("bands.ecsv").copy()


def get_band(name):
    """Return one molecular band by name.

    Parameters
    ----------
    name : str
        Band name as in :func:`molecular_bands`, e.g. ``"C2_5165"`` or ``"TiO_7054"``.

    Returns
    -------
    band : `~astropy.table.Row`
        The band's row (of a fresh copy of the catalogue).

    Raises
    ------
    ValueError
        If no band has that name; the message lists the known names.

    Examples
    --------
    >>> from spec_o3.catalog import get_band
    >>> band = get_band("C2_5165")
    >>> print(band["molecule"], band["degraded"], band["bandhead"] > band["band_min"])
    C2 blue True
    """
    bands = molecular_bands()
    matches = (bands["name"] == name).nonzero()[0]
    if len(matches) == 0:
        known = ", ".join(bands["name"])
        raise ValueError(f"unknown molecular band {name!r}; known bands: {known}")
    return bands[matches[0]]


@cache
def _wavelengths():
    lines = _load("lines.ecsv")
    return dict(zip(lines["name"], lines["rest_wavelength"].to_value("AA"), strict=True))


def rest_wavelengths(names):
    """Vacuum rest wavelengths (Å) of catalogue lines by name, in the order given.

    Raises
    ------
    ValueError
        If a name is not in the catalogue.

    Examples
    --------
    >>> from spec_o3.catalog import rest_wavelengths
    >>> rest_wavelengths(["H alpha", "He II 4686"]).tolist()
    [6564.61, 4687.02]
    """
    catalogue = _wavelengths()
    unknown = [name for name in names if name not in catalogue]
    if unknown:
        raise ValueError(
            f"lines {unknown} are not in the catalogue (see spec_o3.catalog.atomic_lines())"
        )
    return np.array([catalogue[name] for name in names], dtype=float)
