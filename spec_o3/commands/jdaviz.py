"""``spec-o3 jdaviz``: open spectrum files in Jdaviz with the Spectral Vetting plugin.

Example::

    spec-o3 jdaviz spec-55862-B6212_sp06-003.fits          # prints the URL; Ctrl-C stops the server
    spec-o3 jdaviz --port 8765 --browser spec-*.fits       # a fixed port, opened in the web browser

The app is served on 127.0.0.1 (this machine only) unless ``--host`` says otherwise, and works
offline. Needs the ``jdaviz`` extra: ``pip install "spec-o3[jdaviz]"``.
"""

import sys
import warnings
from pathlib import Path

__all__ = ["add_arguments", "run"]


def add_arguments(parser):
    """Attach the ``jdaviz`` options to ``parser``."""
    parser.add_argument(
        "files", nargs="+", metavar="FILE", help="spectrum files (LAMOST, SDSS, ...)"
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to serve on (default 127.0.0.1: this machine only)",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="port to serve on (default: a free one)"
    )
    parser.add_argument("--browser", action="store_true", help="open the app in the web browser")
    parser.add_argument("--theme", choices=("light", "dark"), default="light", help="colour theme")


def run(args):
    """Serve the app until interrupted; return the exit status (2 for a missing or unreadable
    file, or a missing extra)."""
    from spec_o3.exceptions import UnvettableSpectrum

    try:
        from spec_o3.jdaviz_plugin import LOG_FILE
        from spec_o3.jdaviz_plugin.launcher import serve
    except ImportError as error:
        print(
            f'spec-o3 jdaviz: error: {error}; install the extra: pip install "spec-o3[jdaviz]"',
            file=sys.stderr,
        )
        return 2
    _ignore_known_noise()
    try:
        serve(
            args.files,
            host=args.host,
            port=args.port,
            open_browser=args.browser,
            theme=args.theme,
            started=_started,
        )
    except UnvettableSpectrum as error:  # a missing or unreadable file, named
        print(f"spec-o3 jdaviz: error: {error}", file=sys.stderr)
        return 2
    print(
        f"spec-o3 jdaviz: stopped; Export log writes the vetting log to {Path.cwd() / LOG_FILE} "
        "unless the plugin's Log file names another; next: spec-o3 report RESULTS --out DIR "
        "reviews many candidates at once"
    )
    return 0


def _started(url):
    print(f"Spectral Vetting in Jdaviz: {url}", flush=True)
    print(
        "open it in a web browser, then Vet in the Spectral Vetting plugin (the plugins button "
        "of the top bar) and Export log; Ctrl-C stops the server",
        flush=True,
    )


def _ignore_known_noise():
    """Keep the terminal for the URL and real problems: ignore the warnings Jdaviz's stack gives
    on every page, which say nothing about the spectra or about what the user did."""
    from astropy.units import UnitsWarning

    # gwcs names spectral units in VOUnit, whose standard deprecates "Angstrom"
    warnings.filterwarnings(
        "ignore", "The unit 'Angstrom' has been deprecated in the VOUnit standard", UnitsWarning
    )
    # Solara, served over plain http on this machine, cannot set a samesite=none cookie
    warnings.filterwarnings(
        "ignore", "Cookies with samesite=none require https", UserWarning, "solara"
    )
    # astropy turns inverse variances into standard deviations for Jdaviz: 1/0 at bad pixels
    warnings.filterwarnings(
        "ignore", "divide by zero encountered in divide", RuntimeWarning, "astropy.nddata"
    )
