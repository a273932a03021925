"""The Spectral Vetting plugin in a real browser: ``spec-o3 jdaviz FILE`` on loopback, driven with
Playwright through Debian's Chromium (installed by the system, never downloaded by Playwright).

The screenshots are kept in ``$SPEC_O3_TEST_ARTIFACTS`` (default: the test's temporary directory);
``docs/jdaviz.rst`` shows them.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

try:
    from playwright import sync_api
except ImportError:  # the launch_chromium fixture says so: skipped locally, a failure under CI
    sync_api = None

pytestmark = pytest.mark.slow

LAMOST = "lamost_lrs_dr1_grd349/spec-55862-B6212_sp06-003.fits"
SERVER_START_S = 300  # importing jdaviz and loading the file take a while on a busy machine


@pytest.fixture
def artifacts(tmp_path):
    folder = Path(os.environ.get("SPEC_O3_TEST_ARTIFACTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def app_url(real_data):
    """Run ``spec-o3 jdaviz`` on a free loopback port; yield its URL; stop it afterwards."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "spec_o3.cli",
        "jdaviz",
        "--port",
        str(port),
        str(real_data / LAMOST),
    ]
    server = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    output, started = [], threading.Event()

    def read():  # keep draining the pipe, or a chatty server blocks on it
        for line in server.stdout:
            output.append(line)
            if "Spectral Vetting in Jdaviz: http://" in line:
                started.set()
        started.set()  # the server exited

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        started.wait(SERVER_START_S)
        url = next(
            (line.split(": ", 1)[1].strip() for line in output if "in Jdaviz: http" in line), None
        )
        assert url is not None, "spec-o3 jdaviz did not start:\n" + "".join(output[-40:])
        assert urlsplit(url).hostname == "127.0.0.1"  # loopback by default
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(30)
        reader.join(30)
        server.stdout.close()


def test_vet_in_the_browser(launch_chromium, app_url, artifacts):
    outside = []
    with sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.on(
                "request",
                lambda request: (
                    outside.append(request.url)
                    if urlsplit(request.url).hostname not in ("127.0.0.1", None)
                    else None
                ),
            )
            page.goto(app_url)
            page.get_by_text("Wavelength [Angstrom]").wait_for(timeout=180_000)
            open_plugins_drawer(page)
            page.locator(".plugin-title", has_text="Spectral Vetting").click()

            page.locator(".vetting-vet").click()
            verdict = page.locator(".vetting-verdict")
            verdict.wait_for(timeout=180_000)
            assert verdict.inner_text().strip() in ("YES", "NO")
            assert page.locator(".vetting-evidence").inner_text().strip()
            # the LAMOST pipeline's redshift, and where it came from
            redshift = page.locator(".vetting-redshift").inner_text().strip()
            assert redshift == "Rest frame: z = -7.138e-05 (from the file)"
            assert page.locator(".vetting-result-error").count() == 0
            rows = page.locator(".vetting-steps tbody tr")
            assert rows.count() >= 2  # at least one zoom, then the answer
            assert rows.first.locator("td").nth(1).inner_text().strip() == "zoom"

            rows.first.scroll_into_view_if_needed()
            page.wait_for_timeout(1500)  # let the viewer draw the windows and lines
            page.screenshot(path=str(artifacts / "jdaviz_spectral_vetting_overview.png"))

            rows.nth(1).click()  # the second step: its zoom image, and the viewer moves there
            page.locator(".vetting-step-image").wait_for(timeout=60_000)
            page.wait_for_timeout(1500)  # let the viewer redraw at its new limits
            page.screenshot(path=str(artifacts / "jdaviz_spectral_vetting.png"))

            accept = page.locator(".vetting-decision button", has_text="Accept")
            accept.click()
            page.wait_for_function(
                "b => b.classList.contains('v-btn--active')", arg=accept.element_handle()
            )
        finally:
            browser.close()
    assert outside == [], f"the page asked the network for {outside}"


def open_plugins_drawer(page):
    """Click the app-bar button whose tooltip says it opens the analysis plugins."""
    buttons = page.locator("header button")
    for index in range(buttons.count()):
        buttons.nth(index).hover()
        try:
            page.get_by_text("Data analysis plugins").wait_for(timeout=2000)
        except sync_api.TimeoutError:
            continue
        buttons.nth(index).click()
        return
    raise AssertionError("no app-bar button opens the plugins")
