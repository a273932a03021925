"""The backend registry: declarations, option checks, entry-point discovery, and what the command
line generates from it."""

import argparse
import sys
import textwrap

import astropy.units as u
import numpy as np
import pytest
from specutils import Spectrum

import spec_o3
from spec_o3.agent import Policy
from spec_o3.agent.backends import (
    ENTRY_POINT_GROUP,
    Backend,
    BackendOption,
    backend_declaration,
    get_backend,
    register_backend,
    registered_backends,
    unregister_backend,
)
from spec_o3.agent.backends import registry as registry_module
from spec_o3.agent.backends.expert import ExpertPolicy
from spec_o3.agent.protocol import format_answer, format_assistant
from spec_o3.bench import Suite
from spec_o3.cli import build_parser
from spec_o3.commands import evaluate as evaluate_command
from spec_o3.commands import vet as vet_command


class AlwaysNo(Policy):
    """Answers NO at once with its ``reason``; remembers whether its episodes had images."""

    name = "always_no"

    def __init__(self, reason="nothing to see"):
        self.reason = reason
        self.images = []

    def respond(self, episodes):
        self.images += [episode.environment.render_images for episode in episodes]
        return [format_assistant("Done.", format_answer("NO", self.reason)) for _ in episodes]


ALWAYS_NO = Backend(
    "always_no",
    AlwaysNo,
    "answers NO without looking",
    options=(BackendOption("reason", "the justification it gives"),),
    needs_images=False,
)


@pytest.fixture
def registry(monkeypatch):
    """A private copy of the registry, entry points not yet looked for; the toy backend in it."""
    monkeypatch.setattr(registry_module, "_REGISTRY", dict(registry_module._REGISTRY))
    monkeypatch.setattr(registry_module, "_discovered", True)
    register_backend(ALWAYS_NO)
    return registry_module


@pytest.fixture
def spectrum():
    wave = np.linspace(3700, 9000, 500) * u.AA
    flux = (1 + 0.01 * np.random.default_rng(0).standard_normal(500)) * u.Jy
    return Spectrum(flux=flux, spectral_axis=wave)


# -- declarations --------------------------------------------------------------------------------


def test_built_in_backends_are_declared_like_any_other():
    backends = registered_backends()
    assert list(backends)[:3] == ["expert", "transformers", "openai"]
    assert all(isinstance(backend, Backend) for backend in backends.values())
    assert [backends[name].needs_images for name in ("expert", "transformers", "openai")] == [
        False,
        True,
        True,
    ]
    assert isinstance(get_backend("expert", max_windows=2), ExpertPolicy)
    assert get_backend("expert", max_windows=2).max_windows == 2


def test_declared_options_are_checked(registry):
    with pytest.raises(ValueError, match="the expert backend takes no option model; its options"):
        get_backend("expert", model="x")
    with pytest.raises(ValueError, match="the always_no backend takes no option colour"):
        get_backend("always_no", colour="red")
    # the transformers backend hands further keywords to from_pretrained
    backend_declaration("transformers").check({"model": "m", "revision": "main"})
    needy = Backend(
        "needy", AlwaysNo, "needs a reason", (BackendOption("reason", "", required=True),)
    )
    register_backend(needy)
    with pytest.raises(ValueError, match="the needy backend needs reason"):
        get_backend("needy")
    assert get_backend("needy", reason="r").reason == "r"


def test_register_refuses_duplicates_and_bad_declarations(registry):
    with pytest.raises(ValueError, match="'always_no' is already registered"):
        register_backend(ALWAYS_NO)
    register_backend(ALWAYS_NO, replace=True)
    with pytest.raises(TypeError, match="expected a spec_o3.agent.backends.Backend"):
        register_backend(AlwaysNo)
    with pytest.raises(ValueError, match="a backend name is a Python identifier"):
        Backend("always no", AlwaysNo, "")
    with pytest.raises(ValueError, match="is not 'package.module:ClassName'"):
        Backend("bad", "spec_o3.agent.backends.expert.ExpertPolicy", "")
    with pytest.raises(TypeError, match="options must be BackendOption"):
        Backend("bad", AlwaysNo, "", options=("reason",))
    unregister_backend("always_no")
    with pytest.raises(ValueError, match="unknown backend 'always_no'; choose one of expert"):
        get_backend("always_no")


def test_policy_is_imported_only_when_built(registry):
    register_backend(Backend("ghost", "spec_o3_no_such_module:Policy", "not installed"))
    assert "ghost" in registered_backends()  # declaring imports nothing
    assert "spec_o3_no_such_module" not in sys.modules
    with pytest.raises(ModuleNotFoundError, match="spec_o3_no_such_module"):
        get_backend("ghost")


# -- entry points ---------------------------------------------------------------------------------


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """Install a fake distribution whose ``spec_o3.backends`` entry points are ``lines``."""
    monkeypatch.setattr(registry_module, "_REGISTRY", dict(registry_module._REGISTRY))
    monkeypatch.setattr(registry_module, "_discovered", False)
    (tmp_path / "spec_o3_toy_backend.py").write_text(
        textwrap.dedent(
            """
            from spec_o3.agent.backends import Backend, BackendOption

            BACKEND = Backend(
                "toy",
                "spec_o3_toy_backend.policy:ToyPolicy",  # not imported until built
                "a third-party toy",
                options=(BackendOption("model", "the toy's model"),),
            )
            NOT_A_BACKEND = "toy"
            EXPERT_AGAIN = Backend("expert", "spec_o3_toy_backend:X", "hijacks a built-in name")
            """
        )
    )
    monkeypatch.delitem(sys.modules, "spec_o3_toy_backend", raising=False)

    def install(*lines):
        dist_info = tmp_path / "spec_o3_toy-1.0.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: spec-o3-toy\nVersion: 1.0\n"
        )
        (dist_info / "entry_points.txt").write_text(
            f"[{ENTRY_POINT_GROUP}]\n" + "\n".join(lines) + "\n"
        )
        monkeypatch.syspath_prepend(str(tmp_path))

    yield install
    sys.modules.pop("spec_o3_toy_backend", None)


def test_entry_point_backends_are_registered_once(installed):
    installed("toy = spec_o3_toy_backend:BACKEND")
    backends = registered_backends()
    assert list(backends) == ["expert", "transformers", "openai", "toy"]
    assert backends["toy"].description == "a third-party toy"
    assert registry_module._discovered
    del sys.modules["spec_o3_toy_backend"]
    registered_backends()  # looked for once: the module is not loaded again
    assert "spec_o3_toy_backend" not in sys.modules


def test_broken_entry_points_warn_and_the_others_still_work(installed):
    installed(
        "missing = spec_o3_toy_backend_missing:BACKEND",
        "wrong = spec_o3_toy_backend:NOT_A_BACKEND",
        "expert = spec_o3_toy_backend:EXPERT_AGAIN",
        "toy = spec_o3_toy_backend:BACKEND",
    )
    with pytest.warns(RuntimeWarning) as warned:
        backends = registered_backends()
    messages = [str(warning.message) for warning in warned]
    assert len(messages) == 3
    assert (
        "entry point 'missing' (spec_o3_toy_backend_missing:BACKEND): ModuleNotFoundError"
        in (messages[0])
    )
    assert "entry point 'wrong'" in messages[1] and "names a str, not a Backend" in messages[1]
    assert "a backend called 'expert' is already registered" in messages[2]
    assert "toy" in backends and backends["expert"].policy.endswith(":ExpertPolicy")


# -- what the registry generates -------------------------------------------------------------------


def vet_parser():
    parser = argparse.ArgumentParser(prog="spec-o3 vet")
    vet_command.add_arguments(parser)
    return parser


def test_cli_choices_and_options_come_from_the_registry(registry, capsys):
    build_parser()  # every sub-command builds with the toy registered
    parser = vet_parser()
    text = " ".join(parser.format_help().split())  # unwrapped
    assert "{expert,transformers,openai,always_no}" in text
    assert "always_no: answers NO without looking" in text
    assert "--reason REASON" in text and "always_no: the justification it gives" in text
    args = parser.parse_args(["--task", "cc", "--backend", "always_no", "--reason", "r", "f"])
    assert (args.backend, args.backend_options) == ("always_no", {"reason": "r"})
    with pytest.raises(SystemExit):
        parser.parse_args(["--task", "cc", "--backend", "telepathy", "f"])
    assert "unknown backend 'telepathy'; choose one of expert, transformers, openai, always_no" in (
        capsys.readouterr().err
    )


def test_cli_converts_and_checks_backend_options(registry, tmp_path, capsys):
    argv = ["--task", "cc", str(tmp_path / "f.fits")]
    for extra, message in [
        (["--reason", "r"], "--reason applies to the always_no backend only"),
        (["--backend", "always_no", "--model", "m"], "--model applies to the transformers and "),
        (["--backend", "openai", "--timeout", "soon"], "--timeout (openai backend): expects float"),
    ]:
        assert vet_command.run(vet_parser().parse_args(argv + extra)) == 2
        assert message in capsys.readouterr().err


def test_a_backend_option_spelled_like_a_command_option_is_left_out(registry):
    clash = Backend("clash", AlwaysNo, "", options=(BackendOption("output", "its own output"),))
    register_backend(clash)
    with pytest.warns(RuntimeWarning, match="backend option 'output' left off the command line"):
        parser = vet_parser()
    assert parser.parse_args(["--task", "cc", "--output", "x.ecsv"]).backend_options == {}


def test_registered_backend_vets_from_python_and_the_command_line(
    registry, spectrum, tmp_path, capsys
):
    result = spec_o3.vet(spectrum, "cc", backend="always_no", reason="flat", redshift=0)
    assert result.verdict == "NO" and result.evidence.startswith("flat")
    spectrum.write(tmp_path / "flat.fits", format="tabular-fits")
    argv = [
        "--task",
        "cc",
        "--backend",
        "always_no",
        "--reason",
        "flat",
        str(tmp_path / "flat.fits"),
    ]
    assert vet_command.run(vet_parser().parse_args(argv)) == 0
    out = capsys.readouterr().out
    assert "1 spectra: 0 YES, 1 NO" in out and "NO\tflat" in out


@pytest.mark.parametrize(("images", "expected"), [([], False), (["--images"], True)])
def test_evaluate_renders_images_for_backends_that_need_them(
    registry, monkeypatch, tmp_path, images, expected
):
    policy = AlwaysNo()
    register_backend(Backend("always_no", lambda: policy, "", needs_images=False), replace=True)
    spectra = [Spectrum(flux=np.ones(50) * u.Jy, spectral_axis=np.linspace(4000, 8000, 50) * u.AA)]
    Suite.from_spectra(spectra, "cc", ["NO"], ids=["q"]).write(tmp_path / "cc.fits")
    parser = argparse.ArgumentParser()
    evaluate_command.add_arguments(parser)
    argv = ["--suite", str(tmp_path / "cc.fits"), "--output", str(tmp_path / "out")]
    assert evaluate_command.run(parser.parse_args(argv + ["--backend", "always_no"] + images)) == 0
    assert policy.images == [expected]
