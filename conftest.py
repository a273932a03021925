"""Shared pytest configuration: headless plotting and the location of the real reference data."""

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

try:
    from pytest_astropy_header.display import PYTEST_HEADER_MODULES

    PYTEST_HEADER_MODULES.clear()
    PYTEST_HEADER_MODULES.update(
        {"astropy": "astropy", "specutils": "specutils", "numpy": "numpy", "matplotlib": "matplotlib"}
    )
except ImportError:  # the header plugin is optional
    pass

#: Real spectra and stellar libraries shipped beside the repository (read-only). Override with
#: SPEC_O3_SHARED_DATA when running the tests elsewhere.
SHARED_DATA = Path(
    os.environ.get("SPEC_O3_SHARED_DATA", Path(__file__).resolve().parent.parent / "shared" / "data")
)


@pytest.fixture(scope="session")
def shared_data():
    """Path of ``shared/data`` (real LAMOST/SDSS files, WD standards, MILES, STELIB)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real reference data not found at {SHARED_DATA} (set SPEC_O3_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def real_data(shared_data):
    """Path of ``shared/data/real`` holding real LAMOST and SDSS spectra and ``manifest.csv``."""
    return shared_data / "real"
