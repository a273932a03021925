"""The "Spectral Vetting" tray plugin for Jdaviz (``pip install "spec-o3[jdaviz]"``).

Importing this subpackage registers the plugin with Jdaviz's tray registry, so every generalized
Jdaviz app created afterwards (``jdaviz.new_app()``, ``jdaviz.show()``) has it under *Spectral
Vetting*. The Specviz configuration lists its plugins explicitly: `specviz_configuration` is that
list with this plugin added, and `VettingSpecviz` the Specviz helper that uses it.

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

from jdaviz import Specviz
from jdaviz.core.config import get_configuration

from .vetting import *  # noqa: F401,F403  (registers the plugin)
from .vetting import TRAY_NAME
from .vetting import __all__ as _vetting_all

__all__ = ["VettingSpecviz", "specviz_configuration", *_vetting_all]


def specviz_configuration():
    """Jdaviz's Specviz configuration with the Spectral Vetting plugin in its tray (a new copy).

    Returns
    -------
    config : dict
        A configuration as `jdaviz.core.config.get_configuration` returns it.

    Examples
    --------
    >>> config = specviz_configuration()
    >>> config["settings"]["configuration"], TRAY_NAME in config["tray"]
    ('specviz', True)
    """
    config = get_configuration("specviz")
    tray = config["tray"]
    # Beside the other analysis plugins, before the app's export/about/logger entries.
    tray.insert(tray.index("export") if "export" in tray else len(tray), TRAY_NAME)
    return config


class VettingSpecviz(Specviz):
    """The Specviz helper with the Spectral Vetting plugin in its tray.

    Jdaviz deprecates the Specviz helper in favour of the generalized app (removal planned for
    5.2); this helper is for workflows that still use it.
    """

    @property
    def _default_configuration(self):
        # ConfigHelper reads this on construction: a fresh copy each time, since the app keeps it.
        return specviz_configuration()
