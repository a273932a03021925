"""The Spectral Vetting tray plugin, headless: registration, vetting a real LAMOST spectrum with the
expert backend, overlays, step zoom, decisions and the log, and the states that must not crash."""

import argparse
import dataclasses
import json
import re
import socket
import threading
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources

import astropy.units as u
import numpy as np
import pytest
from astropy.nddata import NDData
from astropy.table import Table
from specutils import Spectrum

from spec_o3 import UnvettableSpectrum
from spec_o3.agent.protocol import format_answer, format_assistant, format_tool_call
from spec_o3.commands import jdaviz as jdaviz_command
from spec_o3.io import read_for_inspection
from spec_o3.tasks import get_task, register_task, unregister_task

jdaviz = pytest.importorskip("jdaviz")

with warnings.catch_warnings():
    # jdaviz imports spectral-cube, which imports a name astropy 8 deprecates (pending).
    warnings.simplefilter("ignore", PendingDeprecationWarning)
    from jdaviz.core.config import get_configuration

    # jdaviz.conftest switches numpy to its 1.25 print style on import: keep that out of the
    # doctests collected after this module.
    with np.printoptions():
        import jdaviz.conftest  # noqa: F401

    from spec_o3.jdaviz_plugin import (
        CONFIGURATIONS,
        TRAY_NAME,
        SpectralVetting,
        VettingLabels,
        VettingLines,
        VettingLog,
        VettingWindows,
        label_rows,
    )
    from spec_o3.jdaviz_plugin.vetting.log import COLUMNS

pytest_plugins = ["jdaviz.conftest"]

pytestmark = [
    # jdaviz 5.0's own marks pass extra arguments to traitlets' HasTraits.__init__.
    pytest.mark.filterwarnings("ignore:Passing unrecognized arguments to super:DeprecationWarning"),
    # jdaviz writes spectral units in the VOUnit format, which deprecates "Angstrom".
    pytest.mark.filterwarnings(
        "ignore:The unit 'Angstrom' has been deprecated:astropy.units.UnitsWarning"
    ),
]

LAMOST = "lamost_lrs_dr1_grd349/spec-55862-B6212_sp06-003.fits"
EMISSION_STAR = "lamost_lrs_podondra_emission/spec-55903-B90306_sp06-163.fits"
SPECVIZ_DEPRECATED = pytest.mark.filterwarnings("ignore:Specviz is deprecated:DeprecationWarning")
#: A slit's spatial profile and an IFU's spaxel weights, to make 2-D and 3-D spectra of a 1-D one.
PROFILE = np.exp(-0.5 * ((np.arange(15) - 7) / 2.0) ** 2)


@pytest.fixture
def lamost_file(real_data):
    return real_data / LAMOST


def loaded(app, path):
    """``app`` with the spectrum file ``path`` loaded; its Spectral Vetting plugin (user API)."""
    app.load(str(path), format="1D Spectrum")
    return app.plugins["Spectral Vetting"]


def viewer_of(app):
    return app._app.get_viewer("1D Spectrum")


def overlay_marks(app, cls):
    return [mark for mark in viewer_of(app).figure.marks if isinstance(mark, cls)]


@pytest.fixture(scope="module")
def vetted(real_data):
    """A generalized app with the real LAMOST spectrum vetted for carbon stars (read-only)."""
    app = jdaviz.App()
    plugin = loaded(app, real_data / LAMOST)
    plugin.task = "carbon_star"
    plugin.vet()
    return app, plugin


# -- registration and appearance ---------------------------------------------------------------


def test_registered_in_generalized_apps(deconfigged_helper):
    for app in (deconfigged_helper, jdaviz.new_app()):
        names = [item["name"] for item in app._app.state.tray_items]
        assert TRAY_NAME in names
        assert isinstance(app.plugins["Spectral Vetting"]._obj, SpectralVetting)


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_in_the_tray_of_every_configuration_showing_spectra(configuration):
    tray = get_configuration(configuration)["tray"]
    assert tray.count(TRAY_NAME) == 1 and tray.index(TRAY_NAME) < tray.index("export")
    assert TRAY_NAME not in get_configuration("imviz")["tray"]  # no spectrum viewer there


def vet_in(app, label):
    """Vet the data ``label`` of a configured ``app`` for carbon stars, then decide on it."""
    plugin = app.plugins["Spectral Vetting"]
    assert isinstance(plugin._obj, SpectralVetting)
    assert plugin.dataset.choices == [label]  # the 1-D spectrum, not the 2-D or 3-D data
    plugin.task = "carbon_star"
    result = plugin.vet()
    assert result.status == "answered" and plugin.verdict == "NO" == plugin._obj.result_label
    assert "C2 Swan" in plugin.evidence
    plugin.decision = "reject"
    assert list(plugin.log["decision"]) == ["reject"]
    return result


@SPECVIZ_DEPRECATED
def test_vets_in_specviz(specviz_helper, lamost_file):
    specviz_helper.load(read_for_inspection(lamost_file), format="1D Spectrum", data_label="star")
    assert vet_in(specviz_helper, "star").redshift_source == "file"


@SPECVIZ_DEPRECATED  # Specviz2d is a Specviz
@pytest.mark.filterwarnings("ignore:Specviz2d is deprecated:DeprecationWarning")
def test_vets_the_extracted_spectrum_in_specviz2d(specviz2d_helper, lamost_file):
    star = read_for_inspection(lamost_file)
    flux = PROFILE[:, None] * np.nan_to_num(star.flux.value)[None, :] * star.flux.unit
    specviz2d_helper.load(
        Spectrum(flux=flux, spectral_axis=star.spectral_axis), format="2D Spectrum"
    )
    vet_in(specviz2d_helper, "2D Spectrum (auto-ext)")


@SPECVIZ_DEPRECATED  # Cubeviz makes a Specviz of its spectrum viewer
@pytest.mark.filterwarnings("ignore:Cubeviz is deprecated:DeprecationWarning")
def test_vets_the_aperture_spectrum_in_cubeviz(cubeviz_helper, lamost_file):
    star = read_for_inspection(lamost_file)
    weights = PROFILE[:, None, None] * PROFILE[None, :, None]
    flux = weights * np.nan_to_num(star.flux.value)[None, None, :] * u.Jy
    cubeviz_helper.load(Spectrum(flux=flux, spectral_axis=star.spectral_axis), format="3D Spectrum")
    vet_in(cubeviz_helper, "3D Spectrum (sum)")


def test_appearance_before_and_after_loading(deconfigged_helper, lamost_file):
    plugin = deconfigged_helper.plugins["Spectral Vetting"]
    ui = plugin._obj
    assert ui.dataset_items == []  # the template then shows the "No 1D spectrum" notice
    assert plugin.task.choices == [
        "carbon_star",
        "cataclysmic_variable",
        "m_giant",
        "s_star",
        "white_dwarf",
    ]
    assert plugin.backend.choices == ["expert", "transformers", "openai"]
    assert plugin.backend.selected == "expert"
    # the template shows the tasks' names (and the article read before them), selects their ids
    assert ui.task_items[2] == {"label": "m_giant", "name": "M-type Giant", "article": "an"}
    assert {"vet", "show_step", "decision", "export_log", "verdict", "steps"} <= set(dir(plugin))
    loaded(deconfigged_helper, lamost_file)
    assert plugin.dataset.selected == "spec-55862-B6212_sp06-003"
    assert ui.redshift_from_file == pytest.approx(-7.138e-05)  # the LAMOST pipeline's Z
    assert plugin.redshift == ui.redshift_from_file
    assert (ui.result_verdict, ui.step_items, plugin.verdict, plugin.steps) == ("", [], None, [])
    assert (ui.result_status, plugin.outcome) == ("", None)


def test_template_is_package_data():
    text = (resources.files("spec_o3.jdaviz_plugin.vetting") / "vetting.vue").read_text()
    for hook in (
        '@click="vet"',
        '@click="cancel"',
        '@click:row="select_step"',
        "step_image",
        'value="accept"',
        'value="reject"',
        'value="unsure"',
        '@click="export_log"',
        "{{ result_label }}",
        "{{ result_redshift }}",
        "{{ result_error }}",
    ):
        assert hook in text


def test_task_accepts_codes_and_tasks_registered_later(vetted):
    _, plugin = vetted
    task = dataclasses.replace(get_task("carbon_star"), id="test_late_task", code="tlt")
    register_task(task)
    try:
        plugin.task = "tlt"
        assert plugin.task.selected == "test_late_task"
        with pytest.raises(ValueError, match="not one of"):
            plugin.task = "no_such_task"
    finally:
        plugin.task = "cc"
        unregister_task("test_late_task")
    assert plugin.task.selected == "carbon_star"


# -- vetting with the expert backend -----------------------------------------------------------


def test_vets_real_lamost_spectrum_with_expert(vetted, lamost_file):
    _, plugin = vetted
    result, ui = plugin.result, plugin._obj
    # the spectrum as loaded, with the bad pixels the reader masked
    np.testing.assert_array_equal(result.spectrum.mask, Spectrum.read(lamost_file).mask)
    assert result.verdict in ("YES", "NO") and plugin.verdict == result.verdict
    assert result.error is None and plugin.evidence == result.evidence != ""
    assert (ui.result_verdict, ui.result_evidence) == (result.verdict, result.evidence)
    assert (plugin.outcome, ui.result_label, ui.result_error) == ("answered", result.verdict, "")
    assert 0.5 <= result.confidence <= 1  # the expert's calibrated confidence, shown rounded
    assert ui.result_confidence == f"confidence {round(100 * result.confidence)}%"
    # the LAMOST pipeline's redshift, which the field showed and the run used
    assert result.redshift_source == "file" and result.redshift == plugin.redshift
    assert ui.result_redshift == "z = -7.138e-05, cz = -21.399 km/s (from the file)"
    assert ui.redshift_hint == "From the file: z = -7.138e-05, cz = -21.399 km/s."
    assert [row["step"] for row in ui.step_items] == [step.index for step in plugin.steps]
    zooms = [step for step in plugin.steps if step.window is not None]
    assert zooms, "the expert inspects at least one window"
    for step in zooms:
        row = ui.step_items[step.index - 1]
        assert row["tool"] == step.tool_name and row["label"] == step.label
        assert row["window"] == f"{step.window.lower.value:.0f}–{step.window.upper.value:.0f}"
        # what the expert measured in the window, as its evidence cites it
        measured = step.measurements["policy"]
        assert row["measurement"].count("±") == len(measured) > 0
        assert all(name in row["measurement"] for name in measured)
    assert "C2 4737 head depth 0.009 ± 0.004" == ui.step_items[0]["measurement"]
    assert "C2 4737 head depth 0.009 ± 0.004" in plugin.evidence
    assert ui.step_items[-1]["tool"] == "answer"
    assert ui.status.startswith(f"{result.verdict} after {result.n_steps} steps")
    assert not ui.running and ui.error == ""


def test_overlays_at_observed_wavelengths_and_following_units(vetted):
    app, plugin = vetted
    shift = 1 + plugin.redshift
    (windows,), (lines,) = overlay_marks(app, VettingWindows), overlay_marks(app, VettingLines)
    window_labels, line_labels = overlay_marks(app, VettingLabels)
    expected = [[w.lower.value * shift, w.upper.value * shift] for w in plugin.result.windows]
    # bqplot hands back a single path as a 1-D array
    np.testing.assert_allclose(np.atleast_2d(windows.x)[:, [0, 2]], expected)
    assert list(window_labels.text) == [s.label for s in plugin.steps if s.window is not None]
    observed = plugin.result.lines["rest_wavelength"].to_value(u.AA) * shift
    assert len(observed) > 0
    np.testing.assert_allclose(np.atleast_2d(lines.x)[:, 0], observed)
    assert list(line_labels.text) == list(plugin.result.lines["name"])

    units = app.plugins["Unit Conversion"]
    units.spectral_unit = "um"
    try:
        np.testing.assert_allclose(np.atleast_2d(windows.x)[:, [0, 2]], np.array(expected) * 1e-4)
        np.testing.assert_allclose(np.atleast_2d(lines.x)[:, 0], observed * 1e-4)
    finally:
        units.spectral_unit = "Angstrom"
    np.testing.assert_allclose(np.atleast_2d(windows.x)[:, [0, 2]], expected)


def test_labels_that_would_overlap_are_stacked(vetted):
    app, plugin = vetted
    overlay = plugin._obj._overlays[viewer_of(app)]
    try:  # the full spectrum shown: H alpha is 8 px beside Ba II 6497, [N II] 6583 far enough
        overlay.draw(
            [[4600, 4800], [4700, 4900]] * u.AA,
            ["C2 Swan 4737", "TiO 4761"],
            [6497, 6563, 6583, 7000] * u.AA,
            ["Ba II 6497", "H alpha", "[N II] 6583", "TiO"],
            u.AA,
        )
        y = list(overlay.line_labels.y)
        assert y[0] == y[2] == y[3] < y[1]
        assert overlay.window_labels.y[0] > overlay.window_labels.y[1]
    finally:
        plugin._obj._draw_overlays()
    assert list(label_rows([6497, 6563, 4861, 6680], [100] * 4)) == [0, 1, 0, 0]


def test_selecting_a_step_zooms_to_its_window(vetted, lamost_file):
    app, plugin = vetted
    step = next(step for step in plugin.steps if step.window is not None)
    plugin.show_step(step.index)
    state, shift = viewer_of(app).state, 1 + plugin.redshift
    assert state.x_min == pytest.approx(step.window.lower.value * shift)
    assert state.x_max == pytest.approx(step.window.upper.value * shift)
    # the flux axis fits the good pixels of the window, closely (bad pixels do not stretch it)
    spectrum = Spectrum.read(lamost_file)
    wavelength = spectrum.spectral_axis.value
    inside = (wavelength >= state.x_min) & (wavelength <= state.x_max) & ~spectrum.mask
    good = spectrum.flux.value[inside]
    span = good.max() - good.min()
    assert good.min() - 0.1 * span < state.y_min < good.min() < good.max() < state.y_max
    assert state.y_max < good.max() + 0.1 * span
    ui = plugin._obj
    assert ui.selected_step == step.index
    assert ui.step_image.startswith("data:image/png;base64,")
    assert ui.step_response == step.result_text
    ui.vue_select_step({"step": plugin.steps[-1].index})  # the answer: nothing to zoom to
    assert (ui.step_image, state.x_min) == ("", pytest.approx(step.window.lower.value * shift))
    with pytest.raises(ValueError, match="no step 99"):
        plugin.show_step(99)


def test_next_run_replaces_the_overlays_another_spectrum_clears_them(
    deconfigged_helper, lamost_file, real_data
):
    plugin = loaded(deconfigged_helper, lamost_file)
    plugin.task = "carbon_star"
    plugin.vet()
    plugin.show_step(1)
    plugin.redshift = 0.1
    plugin.task = "white_dwarf"
    result = plugin.vet()
    (windows,) = overlay_marks(deconfigged_helper, VettingWindows)
    expected = [[w.lower.value * 1.1, w.upper.value * 1.1] for w in result.windows]
    np.testing.assert_allclose(np.atleast_2d(windows.x)[:, [0, 2]], expected)
    (lines,) = overlay_marks(deconfigged_helper, VettingLines)
    rest = result.lines["rest_wavelength"].to_value(u.AA)
    np.testing.assert_allclose(np.reshape(lines.x, (-1, 2))[:, 0], rest * 1.1)
    assert plugin._obj.selected_step == 0 and plugin.decision == ""

    deconfigged_helper.load(str(real_data / EMISSION_STAR), format="1D Spectrum")
    plugin.dataset = "spec-55903-B90306_sp06-163"
    assert plugin.result is None and len(windows.x) == len(lines.x) == 0
    assert plugin.redshift == pytest.approx(
        Spectrum.read(real_data / EMISSION_STAR).meta["redshift"]
    )


# -- decisions and the log ---------------------------------------------------------------------


def test_decision_comment_and_log_export(vetted, tmp_path):
    _, plugin = vetted
    path = tmp_path / "campaign.ecsv"
    plugin.decision = "Reject"
    plugin.comment = 'no C2 bands, "just" an F star'
    (row,) = plugin.log
    assert (row["label"], row["task"], row["verdict"]) == (
        "spec-55862-B6212_sp06-003",
        "carbon_star",
        plugin.verdict,
    )
    assert (row["decision"], row["comment"]) == ("reject", 'no C2 bands, "just" an F star')
    assert row["file"].endswith(LAMOST) and row["windows"].count("-") == len(plugin.result.windows)
    assert (row["status"], row["redshift_source"]) == ("answered", "file")
    assert row["redshift"] == plugin.result.redshift

    first = plugin.export_log(path)
    assert first.colnames == list(COLUMNS) and len(first) == 1
    assert plugin._obj.log_exported == f"Exported: {path} holds 1 row."
    assert len(plugin.export_log(path)) == 1  # nothing changed: nothing appended
    plugin.decision = "unsure"
    table = plugin.export_log(path)
    assert list(table["decision"]) == ["reject", "unsure"]  # the earlier row stays
    assert len(Table.read(path, format="ascii.ecsv")) == 2

    with pytest.raises(ValueError, match="decision must be one of"):
        plugin.decision = "maybe"
    other = tmp_path / "other.ecsv"
    Table({"a": [1]}).write(other, format="ascii.ecsv")
    with pytest.raises(ValueError, match="not a vetting log"):
        plugin.export_log(other)
    plugin.decision = ""


def test_vetting_log_appends_across_sessions(tmp_path):
    path = tmp_path / "log.ecsv"
    monday, tuesday = VettingLog(), VettingLog()
    monday.record("a", "white_dwarf", file="a.fits", verdict="YES", redshift=0.0)
    tuesday.record("b", "white_dwarf", file="b.fits", verdict="NO", redshift=0.1)
    monday.export(path)
    table = tuesday.export(path)
    assert list(table["label"]) == ["a", "b"] and list(table["redshift"]) == [0.0, 0.1]
    assert len(tuesday.export(path)) == 2  # nothing new
    with pytest.raises(ValueError, match="colour: not columns of the vetting log"):
        monday.update("a", "white_dwarf", colour="blue")
    with pytest.raises(ValueError, match="no vetting of 'c'"):
        monday.update("c", "white_dwarf", decision="accept")
    path.write_text("not a table\n")
    with pytest.raises(ValueError, match="not an ECSV vetting log"):
        monday.export(path)
    assert path.read_text() == "not a table\n"


# -- states that must not crash ----------------------------------------------------------------


def test_no_data_loaded(deconfigged_helper):
    plugin = deconfigged_helper.plugins["Spectral Vetting"]
    with pytest.raises(ValueError, match="no spectrum to vet"):
        plugin.vet()
    plugin._obj.vue_vet()  # the button shows the problem instead of raising
    assert plugin._obj.error.startswith("Cannot vet: no spectrum to vet")
    with pytest.raises(ValueError, match="vet a spectrum first"):
        plugin.decision = "accept"
    with pytest.raises(ValueError, match="nothing to export"):
        plugin.export_log("never.ecsv")


def test_non_spectral_data_is_not_offered(deconfigged_helper):
    deconfigged_helper.load(NDData(np.ones((20, 20)), unit=u.Jy), format="Image")
    plugin = deconfigged_helper.plugins["Spectral Vetting"]
    assert plugin.dataset.choices == []
    with pytest.raises(ValueError, match="no spectrum to vet"):
        plugin.vet()


def test_bad_redshift_is_refused(deconfigged_helper, lamost_file):
    plugin = loaded(deconfigged_helper, lamost_file)
    plugin.redshift = -1.5
    with pytest.raises(ValueError, match="redshift must be a finite number above -1"):
        plugin.vet()


def test_backend_error_is_shown_not_raised(deconfigged_helper, lamost_file):
    plugin = loaded(deconfigged_helper, lamost_file)
    port = closed_port()
    plugin.backend = "openai"
    plugin.base_url = f"http://127.0.0.1:{port}/v1"
    plugin.backend_options = {"max_retries": 0, "timeout": 5}
    ui = plugin._obj
    ui.vue_vet()
    assert ui.wait(60)
    assert (plugin.outcome, ui.result_label, ui.status) == (
        "failed",
        "failed",
        "Failed: no verdict.",
    )
    assert ui.result_error.startswith("Backend error:") and f"127.0.0.1:{port}" in ui.result_error
    assert plugin.result is None and plugin.verdict is None and ui.result_verdict == ""
    assert len(plugin.log) == 0  # the outage says nothing about the spectrum: try again


def test_a_spectrum_that_cannot_be_vetted_fails_without_a_verdict(deconfigged_helper, real_data):
    star = read_for_inspection(real_data / LAMOST)
    blank = Spectrum(
        flux=np.zeros(star.flux.size) * star.flux.unit, spectral_axis=star.spectral_axis
    )
    deconfigged_helper.load(blank, format="1D Spectrum", data_label="blank")
    plugin = deconfigged_helper.plugins["Spectral Vetting"]
    ui = plugin._obj
    with pytest.raises(UnvettableSpectrum, match="blank: its flux is zero at every valid pixel"):
        plugin.vet()
    assert (plugin.outcome, ui.result_label, ui.result_verdict) == ("failed", "failed", "")
    assert ui.result_error == "blank: its flux is zero at every valid pixel"
    assert plugin.verdict is None and plugin.result is None and ui.status == "Failed: no verdict."
    ui.vue_vet()  # the button shows the same, and raises nothing
    assert ui.wait(60) and ui.result_error == "blank: its flux is zero at every valid pixel"
    (row,) = plugin.log  # logged, like a failed row of spec-o3 vet
    assert (row["label"], row["status"], row["verdict"], row["decision"]) == (
        "blank",
        "failed",
        "",
        "",
    )
    assert row["error"] == ui.result_error and np.isnan(row["redshift"])
    with pytest.raises(ValueError, match="vet a spectrum first"):
        plugin.decision = "reject"


def test_no_answer_is_shown_as_no_answer(deconfigged_helper, lamost_file):
    plugin = loaded(deconfigged_helper, lamost_file)
    ui = plugin._obj
    with MuddledModel(seconds=0) as model:
        plugin.backend, plugin.base_url = "openai", model.base_url
        result = plugin.vet()
    assert result.status == "no_answer" and result.verdict is None
    assert (plugin.outcome, plugin.verdict, ui.result_label, ui.result_verdict) == (
        "no_answer",
        None,
        "no answer",
        "",
    )
    assert ui.result_error == "the model neither called a tool nor gave an <answer>"
    assert ui.status.startswith("No answer after 1 step (")
    assert ui.error == ""  # not a failure of the plugin
    (row,) = plugin.log
    assert (row["status"], row["verdict"], row["error"]) == ("no_answer", "", ui.result_error)
    plugin.decision = "accept"  # the astronomer may still judge the spectrum
    assert plugin.log["decision"][0] == "accept"


def test_redshift_assumed_when_the_file_has_none(deconfigged_helper, real_data):
    star = read_for_inspection(real_data / LAMOST)
    del star.meta["redshift"]
    deconfigged_helper.load(star, format="1D Spectrum", data_label="no-z")
    plugin = deconfigged_helper.plugins["Spectral Vetting"]
    ui = plugin._obj
    plugin.task = "m_giant"
    assert ui.redshift_from_file is None and plugin.redshift is None  # an empty field
    result = plugin.vet()
    assert (result.redshift, result.redshift_source) == (0, "assumed")
    assert ui.result_redshift == "z = 0, cz = 0 km/s (assumed: no redshift in the file)"
    assert result.evidence.endswith("it was inspected at the task's assumed z = 0.")
    assert tuple(plugin.log[0]["redshift", "redshift_source"]) == (0, "assumed")

    plugin.redshift = 0.001
    result = plugin.vet()
    assert (result.redshift, result.redshift_source) == (0.001, "user")
    assert ui.result_redshift == (
        "z = 0.001, cz = 299.79 km/s (user: given to spec-o3, not read from the file)"
    )
    (windows,) = overlay_marks(deconfigged_helper, VettingWindows)
    expected = [[w.lower.value * 1.001, w.upper.value * 1.001] for w in result.windows]
    np.testing.assert_allclose(np.atleast_2d(windows.x)[:, [0, 2]], expected)


def test_a_models_steps_show_what_was_measured_in_their_windows(deconfigged_helper, lamost_file):
    plugin = loaded(deconfigged_helper, lamost_file)
    with SlowModel(seconds=0) as model:  # zooms twice into 4950-5250 Å, then answers
        plugin.backend, plugin.base_url = "openai", model.base_url
        plugin.vet()
    zoom = plugin._obj.step_items[0]["measurement"].split("; ")
    # the bands whose head lies in the window (C2 5165, TiO 4954 and 5167), then the strongest line
    assert [part.split(" depth ")[0] for part in zoom[:-1]] == ["TiO_4954", "C2_5165", "TiO_5167"]
    assert re.fullmatch(r"C2_5165 depth -?0\.\d{3} ± 0\.\d{3}", zoom[1])
    assert re.fullmatch(r"Mg I b2 absorption, EW \d\.\d Å \(\d+\.\dσ\)", zoom[-1])


def test_cancel_while_the_model_thinks(deconfigged_helper, lamost_file):
    plugin = loaded(deconfigged_helper, lamost_file)
    ui = plugin._obj
    with SlowModel(seconds=1.5) as model:
        plugin.backend, plugin.base_url = "openai", model.base_url
        ui.vue_vet()
        assert ui.running  # the button returned while the model is still answering
        model.first_reply_sent.wait(30)
        wait_for(lambda: len(ui.step_items) == 1)  # turn 1 is shown while turn 2 runs
        assert ui.step_items[0]["tool"] == "spectral_visualization_tool"
        assert ui.progress.startswith("Step 2")
        ui.vue_cancel()
        assert ui.wait(30)
    assert ui.status == "Cancelled: no verdict." and plugin.result is None
    assert model.requests == 2  # the run stopped after the turn in flight, before the answer


# -- the command line ---------------------------------------------------------------------------


def test_served_spectra_show_ignored_pixels_as_gaps(lamost_file):
    from spec_o3.jdaviz_plugin.launcher import _with_gaps

    star = read_for_inspection(lamost_file)
    shown = _with_gaps(star)
    ignored = star.mask  # pixels without an inverse variance get one estimated: shown
    assert 0 < ignored.sum() < (star.uncertainty.array == 0).sum()
    np.testing.assert_array_equal(np.isnan(shown.flux), ignored)
    np.testing.assert_array_equal(shown.flux[~ignored], star.flux[~ignored])
    np.testing.assert_array_equal(shown.mask, star.mask)  # kept: the same pixels are vetted
    np.testing.assert_array_equal(shown.uncertainty.array, star.uncertainty.array)


def test_command_defaults_to_loopback_and_checks_files(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    jdaviz_command.add_arguments(parser)
    args = parser.parse_args(["spectrum.fits"])
    assert (args.host, args.port, args.browser) == ("127.0.0.1", 0, False)
    missing, broken = tmp_path / "missing.fits", tmp_path / "broken.fits"
    assert jdaviz_command.run(parser.parse_args([str(missing)])) == 2
    assert f"{missing}: no such file" in capsys.readouterr().err
    broken.write_text("<html>not a spectrum</html>")
    assert jdaviz_command.run(parser.parse_args([str(broken)])) == 2
    assert f"{broken}: cannot be read: not a readable FITS file" in capsys.readouterr().err


# -- helpers -------------------------------------------------------------------------------------


def closed_port():
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SlowModel:
    """OpenAI-compatible endpoint on loopback: zooms twice, then answers; ``seconds`` per reply."""

    ZOOM = format_assistant(
        "Look at the Swan band.",
        format_tool_call(
            "spectral_visualization_tool",
            {"wavelength_range": [4950, 5250], "label": "C2 Swan 5165"},
        ),
    )
    ANSWER = format_assistant("No band.", format_answer("NO", "No C2 absorption."))

    def __init__(self, seconds):
        self.requests, self.first_reply_sent = 0, threading.Event()
        model = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                model.requests += 1
                turn = sum(message["role"] == "assistant" for message in body["messages"])
                threading.Event().wait(seconds)
                text = model.ZOOM if turn < 2 else model.ANSWER
                data = json.dumps(
                    {"choices": [{"message": {"role": "assistant", "content": text}}]}
                )
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data.encode())
                model.first_reply_sent.set()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info):
        self.httpd.shutdown()
        self.httpd.server_close()


class MuddledModel(SlowModel):
    """An endpoint whose model neither calls a tool nor answers."""

    ZOOM = ANSWER = "I am not sure what this is."


def wait_for(condition, timeout=30):
    event = threading.Event()
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        event.wait(0.05)
    raise AssertionError("condition not met in time")


# -- backends from the registry ----------------------------------------------------------------


@pytest.fixture
def backend_registry(monkeypatch):
    """A private copy of the backend registry, for the backends one test registers."""
    from spec_o3.agent.backends import registry

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry.registered_backends()))
    return registry


def test_backend_selector_and_fields_follow_the_registry(
    deconfigged_helper, lamost_file, backend_registry
):
    from spec_o3.agent import Policy
    from spec_o3.agent.backends import Backend, BackendOption, register_backend

    built = []

    class RecordingNo(Policy):
        """Answers NO at once; remembers the options it was built with."""

        def __init__(self, **options):
            built.append(options)

        def respond(self, episodes):
            return [format_assistant("Done.", format_answer("NO", "as told"))] * len(episodes)

    plugin = loaded(deconfigged_helper, lamost_file)
    ui = plugin._obj
    assert plugin.backend.choices == ["expert", "transformers", "openai"]
    declared = ui.backend_declarations
    assert {"model", "base_url"} <= set(declared["openai"]["options"])
    assert "model" not in declared["expert"]["options"]
    assert declared["expert"]["description"].startswith("scripted astronomer")
    # registered after the plugin was made: offered, with the fields of the options it declares
    register_backend(
        Backend(
            "test_recording",
            RecordingNo,
            "answers NO as told",
            options=(BackendOption("model", "which model to pretend to be"),),
        )
    )
    plugin.backend = "test_recording"
    assert plugin.backend.choices[-1] == "test_recording"
    assert ui.backend_declarations["test_recording"] == {
        "description": "answers NO as told",
        "options": {"model": "which model to pretend to be"},
    }
    plugin.task, plugin.model, plugin.base_url = "cc", " m1 ", "http://localhost:8000/v1"
    assert plugin.vet().verdict == "NO"
    assert built == [{"model": "m1"}]  # no base_url: the backend does not declare it
    assert plugin.log["backend"][-1] == "test_recording"
    plugin.backend = "expert"
    assert ui._backend_arguments() == {}  # no model field for the expert
    plugin.backend_options = {"device": "cuda"}
    with pytest.raises(ValueError, match="the expert backend takes no option device"):
        plugin.vet()
