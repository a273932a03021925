"""Rule tables, the task registry and user tasks declared in YAML task files."""

import pickle
from importlib.resources import files

import numpy as np
import pytest
from astropy.table import Table

from spec_o3.agent import load_task_file, vet
from spec_o3.agent.expert_rules import RuleTable, assess
from spec_o3.agent.task_files import read_task_file
from spec_o3.cli import main
from spec_o3.simulate import draw_suite, simulate_spectrum
from spec_o3.simulate.files import write_survey_file
from spec_o3.tasks import (
    Task,
    register_task,
    task_assessor,
    task_confusers,
    task_ids,
    unregister_task,
)

TASK_FILES = files("spec_o3.data") / "tasks"
LAMOST_EMISSION = "lamost_lrs_podondra_emission"


def _table(*rules, thresholds=None):
    return RuleTable.from_dict({"thresholds": thresholds or {}, "rules": list(rules)})


def _rule(name, when, verdict="NO", evidence="because"):
    return {"name": name, "when": when, "verdict": verdict, "evidence": evidence}


# --- rule tables ---------------------------------------------------------------------------------


def test_first_matching_rule_decides_and_fills_its_evidence():
    table = _table(
        _rule("deep", "depth > deep and not noisy", "YES", "deep band ({depth:.2f})"),
        _rule("default", "True", "NO", "no band ({depth:.2f}, S/N {snr:.0f})"),
        thresholds={"deep": {"value": 0.2, "reference": "test"}},
    )
    assert table.decide({"depth": 0.3, "noisy": False, "snr": 9}).evidence == "deep band (0.30)"
    decision = table.decide({"depth": 0.3, "noisy": True, "snr": 9})
    assert (decision.rule.name, decision.verdict) == ("default", "NO")
    assert decision.evidence == "no band (0.30, S/N 9)"
    assert table["deep"] == 0.2
    assert table.fact_names == {"depth", "noisy", "snr"}
    assert decision.margin == pytest.approx(1 / 3)  # depth 0.3 against the threshold 0.2


def test_a_pickled_table_decides_as_the_original():
    # worker processes of a catalogue run receive user tables pickled
    table = _table(
        _rule("deep", "depth > deep", "YES"), _rule("default", "True"), thresholds={"deep": 0.2}
    )
    copy = pickle.loads(pickle.dumps(table))
    for depth in (0.1, 0.25):
        decisions = [t.decide({"depth": depth}) for t in (copy, table)]
        assert len({(d.rule.name, d.verdict, d.evidence, d.margin) for d in decisions}) == 1


def test_nan_measurements_compare_false():
    table = _table(_rule("hot", "colour > 1.3", "YES"), _rule("default", "True"))
    assert table.decide({"colour": np.nan}).rule.name == "default"


@pytest.mark.parametrize(
    "condition",
    [
        "__import__('os').system('true')",
        "depth.real > 0",
        "facts['depth'] > 0",
        "[x for x in (1, 2)]",
        "lambda: 1",
        "depth ** 2 > 1",
        "depth > ",
    ],
)
def test_conditions_that_could_run_code_are_refused_at_load(condition):
    with pytest.raises(ValueError, match="rule 'bad'"):
        _table(_rule("bad", condition))


def test_table_errors_name_the_rule_and_the_missing_measurement():
    with pytest.raises(ValueError, match="verdict must be YES or NO"):
        _table(_rule("maybe", "True", verdict="MAYBE"))
    with pytest.raises(ValueError, match="missing when"):
        RuleTable.from_dict({"rules": [{"name": "x", "verdict": "NO", "evidence": "e"}]})
    table = _table(_rule("uses_tio", "tio_depth > 0.1"), _rule("default", "True", evidence="{x}"))
    assert table.fact_names == {"tio_depth", "x"}
    with pytest.raises(KeyError, match="no measurement called tio_depth, x"):
        table.decide({})
    with pytest.raises(KeyError, match="no measurement called x"):
        table.decide({"tio_depth": 0.3})  # every rule's names are checked, not only the first's
    with pytest.raises(ValueError, match="no rule applies"):
        _table(_rule("only", "False")).decide({})


# --- the task registry ---------------------------------------------------------------------------


def _toy_task():
    return Task(id="toy_task", code="toy", name="Toy Star", indicators=("anything",))


def test_register_task_gives_the_expert_and_the_simulator_a_new_task():
    calls = []

    def assessor(spectrum, redshift):
        calls.append(redshift)
        return assess(spectrum, "carbon_star", redshift)

    register_task(_toy_task(), assessor=assessor, confusers=("ab_star",), positives=("be_star",))
    try:
        assert task_assessor("toy") is assessor and task_confusers("toy") == ("ab_star",)
        suite = draw_suite("toy", 6, seed=2, rare_fraction=0.0)
        assert {(s.meta["class"], s.meta["label"]) for s in suite} == {
            ("be_star", "YES"),
            ("ab_star", "NO"),
        }
        assert vet(suite[0], task="toy").verdict in ("YES", "NO") and calls
    finally:
        unregister_task("toy_task")
    assert "toy_task" not in task_ids()


def test_a_task_without_rules_is_refused_by_the_expert_with_a_clear_message():
    register_task(_toy_task())
    try:
        with pytest.raises(ValueError, match="no rules for task 'toy_task'"):
            assess(simulate_spectrum("ab_star", seed=1), "toy")
    finally:
        unregister_task("toy")


def test_register_task_checks_its_arguments():
    with pytest.raises(TypeError, match="assessor"):
        register_task(_toy_task(), assessor="not an import path")
    with pytest.raises(TypeError, match="confusers"):
        register_task(_toy_task(), confusers="ab_star")
    assert "toy_task" not in task_ids()


# --- task files --------------------------------------------------------------------------------


def _write(tmp_path, text):
    path = tmp_path / "task.yaml"
    path.write_text(text)
    return path


MINIMAL = """
id: halpha_emitter
name: H alpha Emitter
indicators: [H alpha in emission]
windows: [{label: H alpha, lower: 6480, upper: 6650}]
measure: [{name: halpha, line: H alpha, kind: emission}]
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id: x\nname: X\n", "missing indicators, windows"),
        ("- just a list\n", "a task file is a mapping"),
        ("id: x\nname: [unclosed\n", "not valid YAML"),
        (MINIMAL + "colour: blue\n", "unknown keys \\['colour'\\]"),
        (MINIMAL.replace("lower: 6480, ", ""), "each window needs a label, lower and upper"),
        (MINIMAL.replace("line: H alpha", "line: H omega"), "'H omega' is not in the line"),
        (
            MINIMAL + "rules: [{name: r, when: tio_seen, verdict: 'NO', evidence: e}]\n",
            "nothing measures tio_seen",
        ),
        (
            MINIMAL + "rules: [{name: r, when: 'True', verdict: 'NO', evidence: '{hbeta}'}]\n",
            "nothing measures hbeta",
        ),
    ],
)
def test_bad_task_files_get_a_clear_error_naming_the_file(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(ValueError, match=message) as error:
        read_task_file(path)
    assert str(path) in str(error.value)


def test_a_task_file_without_rules_registers_a_task_for_the_model_backends(tmp_path):
    task, assessor, simulated = read_task_file(_write(tmp_path, MINIMAL))
    assert assessor is None and simulated == {"positives": (), "confusers": ()}
    assert task.question.endswith("H alpha Emitter.")
    assert task.windows[0].label == "H alpha"


@pytest.mark.parametrize("name", ["be_star.yaml", "wolf_rayet.yaml"])
def test_shipped_task_files_load_and_every_rule_is_sourced(name):
    task, assessor, simulated = read_task_file(TASK_FILES / name)
    assert assessor is not None and simulated["confusers"]
    assert all(t.reference for t in assessor.rules.thresholds.values())
    assert task.id == name.removesuffix(".yaml")


@pytest.fixture
def be_star():
    load_task_file(TASK_FILES / "be_star.yaml", replace=True)
    yield "be_star"
    unregister_task("be_star")


@pytest.fixture
def wolf_rayet():
    load_task_file(TASK_FILES / "wolf_rayet.yaml", replace=True)
    yield "wolf_rayet"
    unregister_task("wolf_rayet")


def test_be_star_file_vets_real_lamost_stars_by_their_h_alpha(be_star, real_data):
    folder = real_data / LAMOST_EMISSION
    # Ondrejov H-alpha classes of these LAMOST A stars: emission, absorption.
    emission = vet(folder / "spec-56351-GAC108N13V4_sp14-219.fits", task=be_star)
    absorption = vet(folder / "spec-55903-B90306_sp06-163.fits", task=be_star)
    assert emission.verdict == "YES", emission.evidence
    assert "H alpha in emission" in emission.evidence
    assert absorption.verdict == "NO" and "not in emission" in absorption.evidence


@pytest.mark.parametrize(
    ("star", "rule"),
    [
        ("truecolortools/YZ_CMi.txtA", "cool_star"),  # dMe flare star: H alpha emission, TiO
        ("cne_external/V351PUPI_Williams_Optical_Spectra.csv", "nebula"),  # nova, [O III]
    ],
)
def test_be_star_file_knows_its_emission_line_confusers(be_star, reference_star, star, rule):
    spectrum = reference_star("extra", star, snr=30)
    assessment = assess(spectrum, be_star)
    assert (assessment.verdict, assessment.rule) == ("NO", rule), assessment.conclusion


@pytest.mark.parametrize(
    ("library", "star", "rule"),
    [
        ("extra", "truecolortools/WR_N.datA", "wn"),  # WN average (WR 6, WR 40)
        ("extra", "truecolortools/WR_C.datA", "wc"),  # WC average: its C III 4650 is no WN
        ("stelib", "HD033133", "wn"),
        ("stelib", "HD092740", "wn"),
        ("stelib", "HD269698", "hydrogen_lines"),  # O5e: thinner wind, H alpha leads
        ("extra", "cne_external/V351PUPI_Williams_Optical_Spectra.csv", "hydrogen_lines"),  # nova
        ("extra", "truecolortools/YZ_CMi.txtA", "hydrogen_lines"),  # dMe flare star
        ("extra", "drpy_okestan/fbd28d4211.dat", "no_wind_lines"),  # sdO: He II in absorption
    ],
)
def test_wolf_rayet_file_vets_real_spectra(wolf_rayet, reference_star, library, star, rule):
    assessment = assess(reference_star(library, star, snr=30), wolf_rayet)
    expected = "YES" if rule in ("wn", "wc") else "NO"
    assert (assessment.verdict, assessment.rule) == (expected, rule), assessment.conclusion


def test_vet_command_takes_a_task_file_with_worker_processes(tmp_path, capsys):
    paths = []
    for seed in (1, 5):
        spectrum = simulate_spectrum("be_star", seed=seed, snr=40)
        paths.append(tmp_path / f"be{seed}.fits")
        write_survey_file(spectrum, paths[-1])
    output = tmp_path / "results.ecsv"
    argv = ["vet", *map(str, paths), "--output", str(output), "--workers", "2"]
    try:
        assert main([*argv, "--task-file", str(TASK_FILES / "be_star.yaml")]) == 0
    finally:
        unregister_task("be_star")
    rows = Table.read(output)
    assert list(rows["task"]) == ["be_star", "be_star"]
    assert list(rows["verdict"]) == ["YES", "YES"]
    assert main(["vet", str(paths[0]), "--task-file", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml: cannot read the task file" in capsys.readouterr().err
