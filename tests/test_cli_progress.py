"""The progress bar of the long commands: rate and ETA on a terminal, silent for short runs and
when the output is not a terminal (a pipe, a log file, CI)."""

import io

import pytest

from spec_o3 import _progress
from spec_o3._progress import progress_bar


class Terminal(io.StringIO):
    def isatty(self):
        return True


def run(output, n=3):
    for _ in progress_bar(
        range(n), desc="vetting Carbon Star (C-type)", unit="spectrum", file=output, mininterval=0
    ):
        pass
    return output.getvalue()


def test_a_long_run_on_a_terminal_shows_the_task_rate_and_eta(monkeypatch):
    monkeypatch.setattr(_progress, "DELAY_S", 0)  # as if each item took a while
    shown = run(Terminal())
    assert "vetting Carbon Star (C-type)" in shown and "3/3" in shown
    assert "spectrum/s" in shown and "<00:00" in shown  # the rate, and elapsed<remaining


@pytest.mark.parametrize("output", [Terminal, io.StringIO], ids=["short run", "not a terminal"])
def test_short_runs_and_pipes_stay_quiet(output, monkeypatch):
    if output is io.StringIO:
        monkeypatch.setattr(_progress, "DELAY_S", 0)
    assert run(output()) == ""
