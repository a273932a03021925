"""Sphinx configuration for the spec-o3 documentation (sphinx-astropy v2 theme)."""

import datetime
from importlib import metadata

from sphinx_astropy.conf.v2 import *  # noqa: F403  (the standard Astropy-affiliated settings)

project = "spec-o3"
author = "spec-o3 developers"
copyright = f"{datetime.date.today().year}, {author}"
release = metadata.version("spec-o3")
version = ".".join(release.split(".")[:2])

extensions += ["sphinx_automodapi.smart_resolver"]  # noqa: F405
intersphinx_mapping["specutils"] = ("https://specutils.readthedocs.io/en/stable/", None)  # noqa: F405

html_theme_options.update(  # noqa: F405
    {"github_url": "https://github.com/spec-o3/spec-o3", "use_edit_page_button": False}
)
html_title = f"{project} v{release}"
exclude_patterns += ["_build", "**.ipynb_checkpoints"]  # noqa: F405
nitpicky = True
