"""Debian's headless Chromium for the browser tests and the report benchmark."""

import shutil


def launch_chromium(playwright, executable=None):
    """Debian's headless Chromium (never a downloaded browser), its network services off.

    ``playwright`` is a started `playwright.sync_api.Playwright`; ``executable`` defaults to the
    ``chromium`` on the PATH.
    """
    return playwright.chromium.launch(
        executable_path=executable or shutil.which("chromium") or "/usr/bin/chromium",
        args=[
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    )
