"""The inspection loop with scripted policies: valid runs, each mistake, limits, batching."""

import contextlib

import astropy.units as u
import numpy as np
import pytest
from PIL import Image
from specutils import SpectralRegion, Spectrum

from spec_o3.agent import BackendError, Inspector, Policy, VettingResult, get_backend, vet
from spec_o3.agent.expert_rules import assess_all
from spec_o3.agent.protocol import format_answer, format_assistant, format_tool_call, parse_response
from spec_o3.agent.tools import (
    InspectionEnvironment,
    ToolCallError,
    run_tool,
    windows_without_data,
)
from spec_o3.analysis.arrays import check_window
from spec_o3.tasks import get_task

TOOL = "spectral_visualization_tool"


def zoom(lo, hi, label="C2 Swan 5165"):
    return format_assistant(
        "Let me zoom in.", format_tool_call(TOOL, {"wavelength_range": [lo, hi], "label": label})
    )


YES = format_assistant("Bands confirmed.", format_answer("YES", "C2 Swan bands at 5165 Å."))
NO = format_assistant("Nothing there.", format_answer("NO", "No bands."))


class Scripted(Policy):
    """Replays one list of messages per episode (in the order met) and records each batch size."""

    name = "scripted"

    def __init__(self, *scripts):
        self.scripts = list(scripts)
        self.batches = []

    def respond(self, episodes):
        self.batches.append(len(episodes))
        for episode in episodes:
            if "script" not in episode.state:
                episode.state["script"] = self.scripts.pop(0)
        return [episode.state["script"][len(episode.trajectory.steps)] for episode in episodes]


@pytest.fixture(scope="module")
def spectrum():
    """A carbon-star-like toy: a flat continuum with a band below 5165 Å (rest), at z = 0.01."""
    rest = np.linspace(3700, 9000, 2000)
    flux = np.where((rest > 5000) & (rest < 5165), 0.6, 1.0) + 0.01 * np.sin(rest)
    return Spectrum(flux=flux * u.Jy, spectral_axis=rest * 1.01 * u.AA, meta={"redshift": 0.01})


def run(spectrum, *script, images=False, **options):
    return Inspector(Scripted(list(script)), render_images=images, **options).run(
        spectrum, "carbon_star"
    )


# --------------------------------------------------------------------------------------------------
# Valid runs
# --------------------------------------------------------------------------------------------------


def test_zoom_then_answer(spectrum):
    result = run(spectrum, zoom(4950, 5250), YES)
    assert isinstance(result, VettingResult)
    assert (result.verdict, result.task, result.error) == ("YES", "carbon_star", None)
    assert result.evidence == "C2 Swan bands at 5165 Å."
    assert result.n_steps == 2 and result.seconds > 0
    assert [window.bounds for window in result.windows] == [(4950 * u.AA, 5250 * u.AA)]
    assert isinstance(result.windows[0], SpectralRegion)
    first = result.trajectory.steps[0]
    assert (first.tool_name, first.label, first.error) == (TOOL, "C2 Swan 5165", None)
    assert first.result_text == (
        "Generated spectral visualization focused on wavelength range (4950, 5250) Å "
        "for C2 Swan 5165."
    )
    # measurements of the rest-frame window: the z = 0.01 shift was undone
    assert first.measurements["flux_range"][0] == pytest.approx(0.59, abs=0.02)
    assert result.trajectory.redshift == 0.01


def test_messages_follow_the_released_format(spectrum):
    result = run(spectrum, zoom(4950, 5250), YES, images=True)
    messages = result.trajectory.to_messages()
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant"]
    system = messages[0]["content"][0]["text"]
    assert (
        system.startswith("You are a helpful assistant.\n\n# Tools")
        and f'"name": "{TOOL}"' in system
    )
    overview, question = messages[1]["content"]
    assert overview["type"] == "image" and isinstance(overview["image"], Image.Image)
    assert question["text"].startswith(
        "Analyze the provided spectrum to determine if it is a Carbon Star"
    )
    opening, image, text = messages[3]["content"]
    assert opening == {"type": "text", "text": "<tool_response>\n"}
    assert image["image"] is result.trajectory.steps[0].image and image["image"].size == (640, 400)
    assert text["text"].endswith("for C2 Swan 5165.\n</tool_response>")
    assert messages[4]["content"][0]["text"] == YES


def test_text_only_mode_has_no_images(spectrum):
    result = run(spectrum, zoom(4950, 5250), YES)
    assert result.trajectory.images == []
    assert all(
        part["type"] == "text"
        for message in result.trajectory.to_messages()
        for part in message["content"]
    )


def test_answer_at_once(spectrum):
    result = run(spectrum, NO)
    assert (result.verdict, result.error, result.n_steps, result.windows) == ("NO", None, 1, [])


def test_answer_wins_over_a_tool_call_in_the_same_message(spectrum):
    result = run(spectrum, zoom(4950, 5250) + "\n" + format_answer("YES", "sure"))
    assert (
        result.verdict == "YES"
        and result.n_steps == 1
        and result.trajectory.steps[0].tool_name is None
    )


def test_only_the_first_tool_call_of_a_message_runs(spectrum):
    two_calls = zoom(4950, 5250) + "\n" + format_tool_call(TOOL, {"wavelength_range": [6000, 6100]})
    result = run(spectrum, two_calls, YES)
    assert len(result.windows) == 1
    assert result.trajectory.steps[0].result_text.endswith(
        "only one tool call per turn is run; 1 more ignored."
    )


# --------------------------------------------------------------------------------------------------
# Model mistakes: the error goes back as the tool response and the model may recover
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mistake, message",
    [
        ("<tool_call>{broken json</tool_call>", "not a valid JSON object"),
        (format_tool_call("zoom", {"wavelength_range": [4950, 5250]}), "unknown tool 'zoom'"),
        (
            format_tool_call(TOOL, {"label": "C2"}),
            "missing a required argument: 'wavelength_range'",
        ),
        (
            format_tool_call(TOOL, {"wavelength_range": [4950, 5250], "colour": "red"}),
            "unexpected keyword",
        ),
        (format_tool_call(TOOL, {"wavelength_range": [5250, 4950]}), "min < max"),
        (format_tool_call(TOOL, {"wavelength_range": [5000, 5000]}), "min < max"),
        (format_tool_call(TOOL, {"wavelength_range": [100, 200]}), "does not overlap the data"),
        (format_tool_call(TOOL, {"wavelength_range": [5000]}), "list of two numbers"),
        (format_tool_call(TOOL, {"wavelength_range": ["a", "b"]}), "list of two numbers"),
        (format_tool_call(TOOL, {"wavelength_range": [5001.0, 5002.5]}), "holds 1 valid pixel"),
        (
            format_tool_call(TOOL, {"wavelength_range": [5000, 5100], "label": 7}),
            "label must be a string",
        ),
        ("<answer>\\boxed{MAYBE}</answer>", "must be YES or NO"),
    ],
)
def test_mistake_is_reported_and_model_recovers(spectrum, mistake, message):
    result = run(spectrum, mistake, YES)
    assert (result.verdict, result.error) == ("YES", None)
    step = result.trajectory.steps[0]
    assert message in step.error
    assert step.result_text == f"Error: {step.error}"
    assert step.window is None
    assert result.trajectory.to_messages()[3]["content"][0]["text"].startswith(
        "<tool_response>\nError: "
    )


@pytest.mark.parametrize(
    "script, error",
    [
        (["I think it is a carbon star."], "neither called a tool nor gave an <answer>"),
        (["", YES], "neither called a tool"),
        ([YES + "\n" + format_answer("NO")], "2 answers in one message"),
    ],
    ids=["prose", "empty", "several-answers"],
)
def test_episodes_that_cannot_conclude(spectrum, script, error):
    result = run(spectrum, *script)
    assert (result.verdict, result.status) == (None, "no_answer")
    assert error in result.error
    assert result.trajectory.error == result.error and result.trajectory.verdict is None
    assert result.trajectory.steps[-1].error == result.error


def test_turn_limit(spectrum):
    result = run(spectrum, *[zoom(4950 + i, 5250) for i in range(10)], max_turns=3)
    assert result.verdict is None and result.error == "no answer within 3 assistant turns"
    assert result.n_steps == 3 and len(result.windows) == 2  # the last call is not run
    assert result.trajectory.steps[-1].result_text is None


def test_default_turn_limit_is_eight(spectrum):
    result = run(spectrum, *[zoom(4950, 5250)] * 20)
    assert result.n_steps == 8


def test_policies_see_the_turn_limit(spectrum):
    assert (
        Inspector(Scripted(), max_turns=3, render_images=False).start(spectrum, "cc").max_turns == 3
    )


def test_none_from_the_policy_is_a_mistake(spectrum):
    result = run(spectrum, None)
    assert result.status == "no_answer" and "neither called a tool" in result.error


# --------------------------------------------------------------------------------------------------
# Batching and infrastructure errors
# --------------------------------------------------------------------------------------------------


def test_run_many_batches_running_episodes(spectrum):
    policy = Scripted([NO], [zoom(4950, 5250), YES], [zoom(4950, 5250), zoom(6000, 6200), YES])
    jobs = [(spectrum, "cc", None), (spectrum, "carbon_star", 0.0), (spectrum, "wd", None)]
    results = Inspector(policy, render_images=False).run_many(
        jobs, sources=["a.fits", "b.fits", "c.fits"]
    )
    assert policy.batches == [3, 2, 1]
    assert [r.verdict for r in results] == ["NO", "YES", "YES"]
    assert [r.n_steps for r in results] == [1, 2, 3]
    assert [r.task for r in results] == ["carbon_star", "carbon_star", "white_dwarf"]
    assert [r.trajectory.source for r in results] == ["a.fits", "b.fits", "c.fits"]
    assert [r.trajectory.redshift for r in results] == [0.01, 0.0, 0.01]


def test_run_many_checks_sources(spectrum):
    with pytest.raises(ValueError, match="2 sources for 1 jobs"):
        Inspector(Scripted([NO])).run_many([(spectrum, "cc", None)], sources=["a", "b"])


class Miscounting(Policy):
    def respond(self, episodes):
        return []


class Unreachable(Policy):
    def respond(self, episodes):
        raise BackendError("http://127.0.0.1:9/v1/chat/completions failed")


def test_policy_returning_the_wrong_count_is_a_backend_error(spectrum):
    with pytest.raises(BackendError, match="0 messages for 1 episodes"):
        Inspector(Miscounting(), render_images=False).run(spectrum, "cc")


def test_backend_errors_are_raised_by_vet(spectrum):
    with pytest.raises(BackendError, match="127.0.0.1:9"):
        vet(spectrum, "cc", backend=Unreachable(), render_images=False)


def test_vet_with_a_policy_instance_and_redshift(spectrum):
    result = vet(
        spectrum,
        "gm",
        backend=Scripted([zoom(6950, 7300, "TiO 7054"), NO]),
        redshift=0.0,
        render_images=False,
    )
    assert (result.task, result.verdict, result.trajectory.redshift) == ("m_giant", "NO", 0.0)
    assert "unknown task" in str(
        pytest.raises(ValueError, vet, spectrum, "quasar", backend=Scripted([NO])).value
    )


def test_get_backend():
    policy = Scripted([NO])
    assert get_backend(policy) is policy
    with pytest.raises(ValueError, match="cannot apply"):
        get_backend(policy, model="x")
    with pytest.raises(ValueError, match="unknown backend 'gpt'"):
        get_backend("gpt")


def test_max_turns_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        Inspector(Scripted(), max_turns=0)


# --------------------------------------------------------------------------------------------------
# The environment on its own
# --------------------------------------------------------------------------------------------------


def test_environment_redshift_and_errors(spectrum):
    env = InspectionEnvironment(spectrum, render_images=False)
    assert env.redshift == 0.01
    assert InspectionEnvironment(spectrum, redshift=0.5).redshift == 0.5
    with pytest.raises(ValueError, match="unknown toolset"):
        InspectionEnvironment(spectrum, toolset="all")
    with pytest.raises(ValueError, match="above -1"):
        InspectionEnvironment(spectrum, redshift=-1)
    with pytest.raises(ValueError, match="specutils Spectrum"):
        InspectionEnvironment(np.ones(3))
    with pytest.raises(
        ToolCallError,
        match="unknown tool 'identify_lines'; available tools: spectral_visualization_tool",
    ):
        run_tool(env, "identify_lines", {"wavelength_range": [5000, 5100]})
    with pytest.raises(ToolCallError, match="must be a mapping, not list"):
        run_tool(env, "spectral_visualization_tool", [5000, 5100])  # not keyword arguments


def test_environment_reset_for_trl(spectrum):
    env = InspectionEnvironment(render_images=False)
    env.reset(
        spectrum=spectrum, redshift=0.0, label="YES", task="cc"
    )  # extra dataset columns are ignored
    assert env.redshift == 0.0 and env.spectrum is spectrum
    public = sorted(
        name for name in dir(env) if not name.startswith("_") and callable(getattr(env, name))
    )
    assert public == ["band_strength", "identify_lines", "reset", "spectral_visualization_tool"]


def test_environment_checks_windows_on_the_spectrum_it_holds(spectrum):
    """A window checked on one spectrum is checked again on the next one `reset` loads."""
    windows = get_task("cc").windows
    env = InspectionEnvironment(spectrum, redshift=0.0, render_images=False)
    assert env.spectral_visualization_tool([8000, 8500]).data["n_points"] > 2
    assert windows_without_data(env, windows) == []
    env.reset(spectrum[: spectrum.shape[0] // 2], redshift=0.0)  # up to about 6400 Å
    for _ in range(2):  # the outcome is kept, and stays an error
        with pytest.raises(ToolCallError, match="window 8000.0–8500.0 Å .* does not overlap"):
            env.spectral_visualization_tool([8000, 8500])
    assert windows_without_data(env, windows) == ["CN red 7088 vs TiO 7054", "CN red 7945/8125"]


@pytest.mark.parametrize("observed", [False, True])
def test_windows_without_data_are_those_check_window_rejects(observed):
    wave = np.linspace(3800, 9000, 4000)
    mask = (wave > 4600) & (wave < 5200)  # a gap over the C2 and Mg b windows
    mask[::2] |= (wave[::2] > 6400) & (wave[::2] < 6700)  # every other pixel about H alpha
    mask[(wave > 7000) & (wave < 7100)] = True
    mask[np.argmin(np.abs(wave - 7050))] = False  # one valid pixel left there
    spectrum = Spectrum(flux=np.ones(wave.size) * u.Jy, spectral_axis=wave * u.AA, mask=mask)
    env = InspectionEnvironment(spectrum, redshift=0.05, render_images=False)
    shift = 1.05 if observed else 1
    for task in ("cc", "cv", "gm", "ss", "wd"):
        windows = get_task(task).windows
        rejected = []
        for window in windows:
            lower, upper = window.bounds
            with contextlib.suppress(ValueError):
                check_window(env.arrays, lower / shift, upper / shift)
                continue
            rejected.append(window.label)
        assert windows_without_data(env, windows, observed=observed) == rejected
    assert windows_without_data(env, ()) == []


def test_tool_result_text_matches_the_released_wording(spectrum):
    env = InspectionEnvironment(spectrum, render_images=False)
    assert str(env.spectral_visualization_tool([6500.5, 6650])) == (
        "Generated spectral visualization focused on wavelength range (6500.5, 6650) Å."
    )
    assert parse_response(zoom(1, 2)).tool_calls[0].arguments == {
        "wavelength_range": [1, 2],
        "label": "C2 Swan 5165",
    }


# --------------------------------------------------------------------------------------------------
# Lines in the inspected windows, and the extended toolset
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def emitter():
    """H alpha and H beta in emission on a flat continuum with known noise, at z = 0.002."""
    from astropy.nddata import StdDevUncertainty

    rest = np.linspace(3700, 9000, 3000)
    flux = 1 + sum(
        a * np.exp(-0.5 * ((rest - c) / 6) ** 2) for a, c in ((3, 6564.61), (1.5, 4862.68))
    )
    flux += np.random.default_rng(2).normal(0, 0.02, rest.size)
    return Spectrum(
        flux=flux * u.Jy,
        spectral_axis=rest * 1.002 * u.AA,
        uncertainty=StdDevUncertainty(np.full(rest.size, 0.02) * u.Jy),
        meta={"redshift": 0.002},
    )


def test_lines_of_the_inspected_windows(emitter):
    result = run(emitter, zoom(6480, 6650, "H alpha"), zoom(6500, 6700, "H alpha again"), YES)
    assert list(result.lines["name"]) == ["H alpha"]  # found in both windows, listed once
    assert result.lines["kind"][0] == "emission"
    assert run(emitter, NO).lines.colnames == result.lines.colnames
    assert len(run(emitter, NO).lines) == 0


def test_identify_lines_tool(emitter):
    call = format_tool_call("identify_lines", {"wavelength_range": [4800, 4950]})
    policy = Scripted([format_assistant("Which lines?", call), YES])
    result = Inspector(policy, toolset="extended", render_images=False).run(emitter, "cv")
    step = result.trajectory.steps[0]
    assert step.error is None and step.image is None
    assert step.result_text.startswith(
        "Lines detected in (4800, 4950) Å:\n- H beta (4862.7 Å): emission"
    )
    assert [line["name"] for line in step.measurements["lines"]] == ["H beta"]
    assert '"name": "identify_lines"' in result.trajectory.system


def test_band_strength_tool(spectrum):
    env = InspectionEnvironment(spectrum, toolset="extended", render_images=False)
    result = run_tool(env, "band_strength", {"band": "C2_5165"})
    assert result.data["depth"] == pytest.approx(0.4, abs=0.03)  # the toy's band removes 40 %
    assert result.text.startswith("Band C2_5165 (") and "depth 0.4" in result.text
    assert result.window is not None and result.data["uncertainty"] > 0
    with pytest.raises(ToolCallError, match="unknown molecular band 'C2'; known bands: CN_3883"):
        run_tool(env, "band_strength", {"band": "C2"})
    with pytest.raises(ToolCallError, match="must be a string"):
        run_tool(env, "band_strength", {"band": 5165})


def test_vet_a_file_with_the_expert(tmp_path, emitter):
    """``vet(path)`` reads the file, takes its redshift and runs the default (expert) backend."""
    from spec_o3.io.lamost import write_lamost_lrs

    path = tmp_path / "spec.fits"
    write_lamost_lrs(emitter, path)
    result = vet(path, "cv", render_images=False)
    assert result.verdict in ("YES", "NO") and result.error is None
    assert result.trajectory.source == str(path) and result.trajectory.redshift == 0.002
    assert result.n_steps >= 2 and result.windows and result.evidence


def test_environment_reads_a_file(tmp_path, emitter):
    from spec_o3.io.lamost import write_lamost_lrs

    write_lamost_lrs(emitter, tmp_path / "spec.fits")
    env = InspectionEnvironment(tmp_path / "spec.fits", render_images=False)
    assert env.redshift == 0.002 and len(env.spectrum.flux) == len(emitter.flux)


def test_measurements_a_policy_leaves_in_state_are_kept_on_the_step(spectrum):
    class Measuring(Scripted):
        def respond(self, episodes):
            for episode in episodes:
                episode.state["measurements"] = {"C2_5165": 0.4}
            return super().respond(episodes)

    result = Inspector(Measuring([zoom(4950, 5250), YES])).run(spectrum, "carbon_star")
    steps = result.trajectory.steps
    assert [step.measurements["policy"] for step in steps] == [{"C2_5165": 0.4}] * 2
    assert steps[0].measurements["label"] == "C2 Swan 5165"  # the tool's own record is kept


def test_vet_several_tasks_in_one_pass_measures_each_spectrum_once(monkeypatch):
    """A dict of results by task, the same as vetting task by task, from one `assess_all` (the
    expert shares the rest-frame reduction and common measurements between the tasks)."""
    import spec_o3.agent.backends.expert as expert
    from spec_o3.simulate import simulate_spectrum

    star = simulate_spectrum("carbon_star", seed=4, snr=30)
    alone = {task: vet(star, task, render_images=False) for task in ("cc", "gm", "ss", "wd")}
    calls = []
    monkeypatch.setattr(
        expert, "assess_all", lambda *args: calls.append(args[1]) or assess_all(*args)
    )
    together = vet(star, "cc,gm,ss,wd", render_images=False)
    assert [[task.code for task in tasks] for tasks in calls] == [["cc", "gm", "ss", "wd"]]
    assert list(together) == ["carbon_star", "m_giant", "s_star", "white_dwarf"]
    for result in alone.values():
        shared = together[result.task]
        assert (shared.verdict, shared.evidence, shared.confidence) == (
            result.verdict,
            result.evidence,
            result.confidence,
        )
        assert shared.trajectory.to_messages() == result.trajectory.to_messages()
    assert together["carbon_star"].verdict == "YES"
    assert list(vet(star, "all", render_images=False)) == [
        "carbon_star",
        "cataclysmic_variable",
        "m_giant",
        "s_star",
        "white_dwarf",
    ]
    assert isinstance(vet(star, ["wd"], render_images=False), dict)
    drawn = vet(star, "cc,wd")  # one reduction and one overview plot for both tasks
    overviews = [result.trajectory.overview for result in drawn.values()]
    assert overviews[0] is overviews[1] and overviews[0].size == (800, 480)
    with pytest.raises(ValueError, match="unknown task 'xx'"):
        vet(star, "cc,xx")


@pytest.mark.parametrize("max_turns", [8, 3])
def test_the_expert_without_texts_gives_the_same_results(max_turns):
    """``texts=False`` (a catalogue run that keeps no trajectory) leaves the messages out and
    changes nothing else: verdicts, evidence, confidence, turns and windows of every class."""
    from spec_o3.agent.backends.expert import ExpertPolicy
    from spec_o3.simulate import CLASSES, simulate_spectrum
    from spec_o3.tasks import get_tasks

    spectra = [simulate_spectrum(kind, seed=3, snr=20) for kind in sorted(CLASSES)]
    # a spectrum that stops short of the red windows: some are missing, others clipped
    spectra.append(spectra[0][: spectra[0].flux.size // 2])
    results = {}
    for texts in (True, False):
        inspector = Inspector(ExpertPolicy(), render_images=False, max_turns=max_turns, texts=texts)
        episodes = [
            inspector.start(spectrum, task) for spectrum in spectra for task in get_tasks("all")
        ]
        results[texts] = inspector.run_episodes(episodes)
    for full, lean in zip(results[True], results[False], strict=True):
        assert (lean.verdict, lean.evidence, lean.confidence, lean.error) == (
            full.verdict,
            full.evidence,
            full.confidence,
            full.error,
        )
        bounds = [[(window.lower, window.upper) for window in r.windows] for r in (lean, full)]
        assert lean.n_steps == full.n_steps and bounds[0] == bounds[1]
        assert all(step.text == "" for step in lean.trajectory.steps)
        assert all(step.text for step in full.trajectory.steps)
