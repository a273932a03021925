"""The documentation builds without a warning, offline, as ``tox -e build_docs-offline`` builds it.

Nothing else notices a reference that no longer resolves or a table that no longer parses: the
rst pages' doctests run with the tests, their cross-references and layout only here.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.slow
def test_docs_build_offline_without_warnings(tmp_path):
    pytest.importorskip("sphinx_astropy", reason="the docs extra is not installed")
    # automodapi writes its pages beside the sources: build a copy, not the checkout, with the
    # files the pages include from outside docs/ (README.rst, the training configs) linked in
    source = tmp_path / "docs"
    shutil.copytree(DOCS, source, ignore=shutil.ignore_patterns("_build", "api"))
    for name in ("README.rst", "spec_o3"):
        (tmp_path / name).symlink_to(DOCS.parent / name)
    sphinx = [sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html"]
    build = subprocess.run(
        [*sphinx, str(source), str(tmp_path / "html")],
        env={**os.environ, "SPEC_O3_DOCS_OFFLINE": "1"},
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr[-4000:]
    assert (tmp_path / "html" / "api" / "spec_o3.agent.vet.html").exists()
