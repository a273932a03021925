"""The "Spectral Vetting" tray plugin for Jdaviz (``pip install "spec-o3[jdaviz]"``).

Importing this subpackage registers the plugin with Jdaviz's tray registry, so every generalized
Jdaviz app created afterwards (``jdaviz.new_app()``, ``jdaviz.show()``) has it under *Spectral
Vetting*. The configured apps list their plugins in their configuration files: importing also
adds the plugin to the tray of each that shows a 1-D spectrum (``CONFIGURATIONS``), so that
``jdaviz.Specviz()``, ``jdaviz.Specviz2d()`` (its extracted spectrum) and ``jdaviz.Cubeviz()``
(its aperture spectrum) made afterwards have it too.

Examples
--------
>>> import jdaviz  # doctest: +SKIP
>>> import spec_o3.jdaviz_plugin  # doctest: +SKIP
>>> app = jdaviz.new_app()  # doctest: +SKIP
>>> app.load("spec-55862-B6212_sp06-003.fits", format="1D Spectrum")  # doctest: +SKIP
>>> vetting = app.plugins["Spectral Vetting"]  # doctest: +SKIP
>>> vetting.task = "carbon_star"  # doctest: +SKIP
>>> vetting.vet().verdict  # doctest: +SKIP
'NO'

See :doc:`/jdaviz`.
"""

import functools

import jdaviz.app
import jdaviz.core.config

from .vetting import *  # noqa: F401,F403  (registers the plugin)
from .vetting import TRAY_NAME
from .vetting import __all__ as _vetting_all

__all__ = ["CONFIGURATIONS", *_vetting_all]

#: The configured Jdaviz apps that show a 1-D spectrum, whose tray gets the plugin (Mosviz, which
#: shows them too, cannot be made in Jdaviz 5.0: its viewer area fails to build).
CONFIGURATIONS = ("specviz", "specviz2d", "cubeviz")


def _with_vetting(read_configuration):
    """Jdaviz's configuration reader, adding the plugin to the tray of ``CONFIGURATIONS``."""

    @functools.wraps(read_configuration)
    def read(path=None):
        config = read_configuration(path)
        tray = config.get("tray")
        shows_spectra = config.get("settings", {}).get("configuration") in CONFIGURATIONS
        if shows_spectra and tray is not None and TRAY_NAME not in tray:
            # beside the other analysis plugins, before the app's export/about/logger entries
            tray.insert(tray.index("export") if "export" in tray else len(tray), TRAY_NAME)
        return config

    read.spec_o3_vetting = True
    return read


# Jdaviz reads configurations through this function, imported by name where it is used.
for _module in (jdaviz.core.config, jdaviz.app):
    if not getattr(_module.read_configuration, "spec_o3_vetting", False):
        _module.read_configuration = _with_vetting(_module.read_configuration)
