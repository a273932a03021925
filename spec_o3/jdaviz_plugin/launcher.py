"""The standalone Jdaviz app with the Spectral Vetting plugin, served by Solara on this machine.

Jdaviz's own launcher cannot add a plugin (a plugin must be registered before the app exists),
binds to ``localhost`` whatever it is asked, and shares one app between browser tabs. Here the
plugin is registered on import (this module is part of `spec_o3.jdaviz_plugin`), and each browser
tab gets its own generalized app with the files loaded, served on the address given until the
command is interrupted; the pixels the inspection ignores are drawn as gaps. Everything the page
needs comes from installed packages (``solara-assets`` holds Solara's front-end files): no CDN, and
Solara's usage statistics are switched off.
"""

import logging
import os
import webbrowser
from pathlib import Path

import astropy.units as u
import glue_jupyter.bqplot.profile.layer_artist
import ipygoldenlayout
import ipypopout
import ipysplitpanes
import ipyvue
import jdaviz
import numpy as np
import solara
from jdaviz.app import custom_components
from specutils import Spectrum

from spec_o3.analysis.arrays import spectrum_arrays
from spec_o3.io import read_for_inspection

__all__ = ["Page", "serve"]

#: The spectrum files every new browser tab loads (set by `serve`).
FILES = []


def serve(files, *, host="127.0.0.1", port=0, open_browser=False, theme="light", started=print):
    """Serve Jdaviz with the Spectral Vetting plugin and ``files`` loaded, until interrupted.

    Parameters
    ----------
    files : list of str or path-like
        Spectrum files (any format ``specutils.Spectrum.read`` knows once ``spec_o3`` is imported).
    host : str
        Address to bind; the loopback address by default, so only this machine can connect.
    port : int
        Port to bind; 0 picks a free one.
    open_browser : bool
        Open the app in the default web browser once it is served.
    theme : {"light", "dark"}
    started : callable
        Called with the app's URL once it is served (default: print it).

    Raises
    ------
    UnvettableSpectrum
        If a file is missing or cannot be read (checked before the server starts, so that no
        browser tab breaks on it); the message names the file.
    """
    paths = [Path(file).expanduser().resolve() for file in files]
    for path in paths:
        read_for_inspection(path)
    FILES[:] = [path.as_posix() for path in paths]
    os.environ["SOLARA_APP"] = f"{__name__}:Page"  # read when solara.server.starlette is imported
    import solara.server.settings
    import solara.server.starlette

    solara.server.settings.theme.variant = theme
    solara.server.settings.theme.loader = "plain"
    solara.server.settings.main.mode = "production"
    solara.server.settings.telemetry.mixpanel_enable = False

    # uvicorn's log at "warning": the terminal shows the URL, then only what goes wrong
    server = solara.server.starlette.ServerStarlette(host=host, port=port, log_level="warning")
    server.serve_threaded()
    server.wait_until_serving()
    started(server.base_url)
    if open_browser:
        webbrowser.open(server.base_url)
    try:
        server.join()
    except KeyboardInterrupt:
        # uvicorn logs the cancelled lifespan task of a server stopped this way as an error
        logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
        server.stop_serving()


def _new_app():
    """A generalized Jdaviz app (with the plugin, registered on import) holding `FILES`."""
    # Spectra as SVG lines, which break at NaN (masked pixels: see `_with_gaps`); glue's WebGL
    # lines would draw each masked pixel as a drop to the bottom of the plot.
    glue_jupyter.bqplot.profile.layer_artist.USE_GL = False
    # Pop-out buttons open a page of a Jupyter or Voila server, which this one is not; each would
    # also log a console error on every page, probing for that server.
    ipypopout.PopoutButton.template_file = (__file__, "no_popout.vue")
    app = jdaviz.App()
    with app.batch_load():
        for path in FILES:
            # Read as `spec_o3.vet` reads, so the viewer shows what the agent inspects.
            spectrum = read_for_inspection(path)
            app.load(_with_gaps(spectrum), format="1D Spectrum", data_label=Path(path).stem)
    return app


def _with_gaps(spectrum):
    """``spectrum`` with no flux at the pixels the inspection ignores (masked ones, say), which
    the viewer then draws as gaps.

    The mask and uncertainty stay, so the plugin inspects the same pixels as ``spec-o3 vet``.
    """
    good = spectrum_arrays(spectrum).good
    wavelength = spectrum.spectral_axis.to_value(u.AA, u.spectral())
    if wavelength.size > 1 and wavelength[0] > wavelength[-1]:
        good = good[::-1]  # spectrum_arrays runs from blue to red
    if good.all():
        return spectrum
    return Spectrum(
        flux=np.where(good, spectrum.flux.value, np.nan) * spectrum.flux.unit,
        spectral_axis=spectrum.spectral_axis,
        uncertainty=spectrum.uncertainty,
        mask=spectrum.mask,
        meta=spectrum.meta,
    )


def _register_components():
    """Make Jdaviz's Vue components known to this browser session (as ``jdaviz.solara`` does)."""
    ipysplitpanes.SplitPanes()
    ipygoldenlayout.GoldenLayout()
    root = Path(jdaviz.__file__).parent
    for name, path in custom_components.items():
        ipyvue.register_component_from_file(None, name, str(root / path))
    ipyvue.register_component_from_file("g-viewer-tab", "container.vue", jdaviz.__file__)


@solara.component
def Page():
    """The Solara page: a new app for each browser tab."""
    solara.Style(Path(jdaviz.__file__).parent / "solara.css")
    solara.Title("Spectral Vetting · Jdaviz")
    _App()


@solara.component
def _App():
    solara.use_memo(_register_components, [])
    widget, set_widget = solara.use_state(None)
    # Made after the first render, so Jdaviz's own Solara widgets do not land at the top level.
    solara.use_effect(lambda: set_widget(_new_app()._app), [])
    return solara.Column(children=[] if widget is None else [widget])
