"""The OpenAI-compatible backend against a real HTTP server on loopback playing a scripted model."""

import argparse
import json
import math
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import astropy.units as u
import numpy as np
import pytest
from specutils import Spectrum

from spec_o3.agent import BackendError, Inspector, vet
from spec_o3.agent.backends.openai import OpenAICompatiblePolicy, to_openai_messages
from spec_o3.agent.protocol import format_answer, format_assistant, format_tool_call
from spec_o3.commands._backends import add_backend_arguments, backend_options

ZOOM = format_assistant(
    "Check the Swan band.",
    format_tool_call(
        "spectral_visualization_tool", {"wavelength_range": [4950, 5250], "label": "C2"}
    ),
)
ANSWER = format_assistant("Clear bands.", format_answer("YES", "C2 at 5165 Å."))


def completion(text, **message):
    return 200, {
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text, **message}}]
    }


def zoom_then_answer(body):
    """A scripted model: zoom once, then answer."""
    turns = sum(message["role"] == "assistant" for message in body["messages"])
    return completion(ZOOM if turns == 0 else ANSWER)


class FakeServer:
    """A chat-completions endpoint on 127.0.0.1 answering with ``reply(body) -> (status, payload)``.

    ``payload`` is a dict (sent as JSON) or a str (sent as is). Requests are recorded as
    ``(headers, body)``; ``max_in_flight`` counts concurrent requests.
    """

    def __init__(self, reply, delay=0.0):
        self.reply, self.delay = reply, delay
        self.requests, self.in_flight, self.max_in_flight = [], 0, 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server._lock:
                    server.requests.append((dict(self.headers), body))
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                    status, payload, *headers = (
                        server.reply(body) if self.path == "/v1/chat/completions" else (404, "")
                    )
                time.sleep(server.delay)
                with server._lock:  # done before the reply: the client may send its next at once
                    server.in_flight -= 1
                data = (
                    payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                )
                try:
                    self.send_response(status)
                    for name, value in (headers[0] if headers else {}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (timeout test)
                    pass

            def log_message(self, *args):  # keep test output clean
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self):
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc_info):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def spectrum():
    wavelength = np.linspace(3700, 9000, 1200)
    flux = np.where((wavelength > 5000) & (wavelength < 5165), 0.6, 1.0)
    return Spectrum(flux=flux * u.Jy, spectral_axis=wavelength * u.AA, meta={"redshift": 0.0})


def policy_for(server, **options):
    options = {
        "api_key": "sk-test-secret",
        "max_retries": 2,
        "backoff": 0.01,
        "timeout": 5,
        **options,
    }
    return OpenAICompatiblePolicy(server.base_url, "spec-o3-7b", **options)


def test_tool_call_then_answer_with_images(spectrum):
    with FakeServer(zoom_then_answer) as server, policy_for(server) as policy:
        result = Inspector(policy).run(spectrum, "carbon_star")
    assert (result.verdict, result.evidence, result.error) == ("YES", "C2 at 5165 Å.", None)
    assert len(server.requests) == 2
    headers, first = server.requests[0]
    assert headers["Authorization"] == "Bearer sk-test-secret"
    assert first["model"] == "spec-o3-7b" and first["temperature"] == 0.0 and "tools" not in first
    assert [m["role"] for m in first["messages"]] == ["system", "user"]
    assert first["messages"][0]["content"].startswith("You are a helpful assistant.\n\n# Tools")
    overview, question = first["messages"][1]["content"]
    assert overview["image_url"]["url"].startswith(
        "data:image/png;base64,iVBOR"
    )  # PNG magic number
    assert question["text"].startswith("Analyze the provided spectrum")
    _, second = server.requests[1]
    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant", "user"]
    assert second["messages"][2]["content"] == ZOOM
    opening, image, text = second["messages"][3]["content"]
    assert opening == {"type": "text", "text": "<tool_response>\n"}
    assert image["type"] == "image_url" and image["image_url"]["url"].startswith(
        "data:image/png;base64,"
    )
    assert image["image_url"]["url"] != overview["image_url"]["url"]
    assert text["text"] == (
        "Generated spectral visualization focused on wavelength range (4950, 5250) Å for C2."
        "\n</tool_response>"
    )
    # the overview is resent unchanged
    assert second["messages"][1]["content"][0] == overview


def test_rate_limit_then_success(spectrum):
    replies = iter([(429, {"error": "slow down"}, {"Retry-After": "0"}), completion(ANSWER)])
    with FakeServer(lambda body: next(replies)) as server, policy_for(server) as policy:
        result = Inspector(policy, render_images=False).run(spectrum, "cc")
    assert result.verdict == "YES" and len(server.requests) == 2


def test_server_error_forever(spectrum):
    with FakeServer(lambda body: (500, "internal error")) as server, policy_for(server) as policy:
        with pytest.raises(BackendError) as info:
            Inspector(policy, render_images=False).run(spectrum, "cc")
    assert len(server.requests) == 3  # the first attempt and two retries
    message = str(info.value)
    assert f"{server.base_url}/chat/completions failed after 3 attempts: HTTP 500" in message
    assert "sk-test-secret" not in message


def test_client_error_is_not_retried(spectrum):
    with (
        FakeServer(lambda body: (400, {"error": "bad model"})) as server,
        policy_for(server) as policy,
    ):
        with pytest.raises(BackendError, match="rejected the request.*HTTP 400.*bad model"):
            Inspector(policy, render_images=False).run(spectrum, "cc")
    # asked once more, without log-probabilities: they might have been what it refused
    assert ["logprobs" in body for _, body in server.requests] == [True, False]
    with FakeServer(lambda body: (401, {"error": "who?"})) as server, policy_for(server) as policy:
        with pytest.raises(BackendError, match="rejected the request.*HTTP 401"):
            Inspector(policy, render_images=False).run(spectrum, "cc")
    assert len(server.requests) == 1


def test_timeouts_are_retried(spectrum):
    calls = []

    def slow(body):
        calls.append(time.monotonic())
        return completion(ANSWER)

    with (
        FakeServer(slow, delay=0.6) as server,
        policy_for(server, timeout=0.3, max_retries=1) as policy,
    ):
        with pytest.raises(BackendError, match="no response within 0.3 s"):
            Inspector(policy, render_images=False).run(spectrum, "cc")
    assert len(calls) == 2


def test_malformed_model_output_is_a_model_mistake(spectrum):
    with (
        FakeServer(lambda body: completion("<tool_call>{'name': oops")) as server,
        policy_for(server, protocol="spec-o3") as policy,  # the release ends at such a turn
    ):
        result = Inspector(policy, render_images=False, max_turns=2).run(spectrum, "cc")
    assert result.status == "no_answer" and result.verdict is None
    assert result.error == "no answer within 2 assistant turns"
    # the parse error went back to the model as the tool response
    _, second = server.requests[1]
    assert second["messages"][3]["content"][0]["text"].startswith(
        "<tool_response>\nError: the tool call is not"
    )


@pytest.mark.parametrize("payload", ["not json", {"choices": []}, {"error": "?"}])
def test_malformed_server_response_is_a_backend_error(spectrum, payload):
    with FakeServer(lambda body: (200, payload)) as server, policy_for(server) as policy:
        with pytest.raises(BackendError, match="127.0.0.1"):
            Inspector(policy, render_images=False).run(spectrum, "cc")


def test_unreachable_server_names_the_url(spectrum):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    with pytest.raises(
        BackendError, match=f"{url}/chat/completions failed after 2 attempts: cannot connect"
    ):
        vet(
            spectrum,
            "cc",
            backend="openai",
            base_url=url,
            max_retries=1,
            backoff=0.01,
            render_images=False,
        )


def test_reasoning_and_structured_tool_calls_are_folded_into_text(spectrum):
    def split_reply(body):
        if sum(m["role"] == "assistant" for m in body["messages"]) == 0:
            call = {
                "type": "function",
                "function": {
                    "name": "spectral_visualization_tool",
                    "arguments": json.dumps({"wavelength_range": [4950, 5250]}),
                },
            }
            return completion(None, reasoning_content="Zoom first.", tool_calls=[call])
        return completion(ANSWER)

    with FakeServer(split_reply) as server, policy_for(server) as policy:
        result = Inspector(policy, render_images=False).run(spectrum, "cc")
    first = result.trajectory.steps[0]
    assert first.text.startswith("<think>Zoom first.</think>")
    assert first.tool_name == "spectral_visualization_tool" and first.error is None
    assert result.verdict == "YES"


def test_concurrency_is_bounded(spectrum):
    with (
        FakeServer(zoom_then_answer, delay=0.2) as server,
        policy_for(server, concurrency=2) as policy,
    ):
        results = Inspector(policy, render_images=False).run_many([(spectrum, "cc", None)] * 4)
    assert [r.verdict for r in results] == ["YES"] * 4
    assert len(server.requests) == 8
    assert server.max_in_flight == 2


def test_api_key_from_environment_is_never_shown(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    with OpenAICompatiblePolicy("http://127.0.0.1:1/v1") as policy:
        assert "sk-from-env" not in repr(policy)
        assert not any(
            "sk-from-env" in str(value)
            for value in vars(policy).values()
            if not hasattr(value, "headers")
        )
        assert policy._client.headers["Authorization"] == "Bearer sk-from-env"


def test_options_are_checked():
    with pytest.raises(ValueError, match="concurrency"):
        OpenAICompatiblePolicy(concurrency=0)
    with pytest.raises(ValueError, match="max_retries"):
        OpenAICompatiblePolicy(max_retries=-1)


def test_message_conversion_encodes_each_image_once():
    from PIL import Image

    image = Image.new("RGB", (4, 4))
    messages = [
        {"role": "system", "content": [{"type": "text", "text": "sys"}]},
        {
            "role": "user",
            "content": [{"type": "image", "image": image}, {"type": "text", "text": "q"}],
        },
        {"role": "user", "content": [{"type": "image", "image": image}]},
    ]
    cache = {}
    converted = to_openai_messages(messages, cache)
    assert converted[0] == {"role": "system", "content": "sys"}
    assert converted[1]["content"][0] == converted[2]["content"][0]
    assert list(cache) == [id(image)]


# -- the model's probability of its verdict --------------------------------------------------------


def logprobs(text, alternatives):
    """Chat-completions log-probabilities of ``text``, one token per word, space or sign (``Å``
    split in its two UTF-8 bytes, as servers send such a token); the label's token has the
    ``alternatives`` ({token: probability}) as its top log-probabilities."""
    tokens = []
    for piece in re.findall(r"\w+|\s|[^\w\s]", text, re.ASCII):
        if piece == "Å":
            tokens += [{"token": f"bytes:\\x{byte:x}", "bytes": [byte]} for byte in piece.encode()]
            continue
        top = alternatives if piece in ("YES", "NO") else {piece: 0.99}
        tokens.append(
            {
                "token": piece,
                "bytes": list(piece.encode()),
                "top_logprobs": [{"token": t, "logprob": math.log(p)} for t, p in top.items()],
            }
        )
    for token in tokens:
        token["logprob"] = max((t["logprob"] for t in token.get("top_logprobs", ())), default=-3)
    return {"content": tokens}


SURE_ENOUGH = {"YES": 0.6, " YES": 0.1, "NO": 0.2, "Maybe": 0.1}  # YES: 0.7 / 0.9


@pytest.mark.parametrize(
    "split, spelled, expected",
    [
        (False, "the reply", 0.7 / 0.9),
        (True, "the reply", 0.7 / 0.9),  # the tokens of the reasoning come first
        (False, "another reply", None),  # tokens that do not spell the reply: no confidence
    ],
)
def test_an_answer_carries_the_models_probability_of_its_label(spectrum, split, spelled, expected):
    think, answer = "Bands at 5165 Å.", format_answer("YES", "C2 at 5165 Å.")
    text = format_assistant(think, answer)

    def reply(body):
        message = {"reasoning_content": think} if split else {}
        status, payload = completion(answer if split else text, **message)
        payload["choices"][0]["logprobs"] = logprobs(
            text if spelled == "the reply" else text.replace("5165", "5166"), SURE_ENOUGH
        )
        return status, payload

    with FakeServer(reply) as server, policy_for(server) as policy:
        result = Inspector(policy, render_images=False).run(spectrum, "cc")
    _, body = server.requests[0]
    assert body["logprobs"] is True and body["top_logprobs"] == 5
    assert result.verdict == "YES" and result.trajectory.steps[0].text.startswith("<think>Bands")
    assert result.confidence == (None if expected is None else pytest.approx(expected))


def test_a_server_without_logprobs_is_asked_without_from_then_on(spectrum):
    def reply(body):
        return (
            (400, {"error": "logprobs not supported"})
            if "logprobs" in body
            else zoom_then_answer(body)
        )

    with FakeServer(reply) as server, policy_for(server) as policy:
        result = Inspector(policy, render_images=False).run(spectrum, "cc")
    assert result.verdict == "YES" and result.confidence is None
    assert ["logprobs" in body for _, body in server.requests] == [True, False, False]


def test_logprobs_can_be_left_off(spectrum):
    with FakeServer(zoom_then_answer) as server, policy_for(server, logprobs=False) as policy:
        result = Inspector(policy, render_images=False).run(spectrum, "cc")
    assert result.verdict == "YES" and result.confidence is None
    assert not any("logprobs" in body for _, body in server.requests)


def test_logprobs_switch_on_the_command_line():
    parser = argparse.ArgumentParser()
    add_backend_arguments(parser)
    args = parser.parse_args(["--backend", "openai", "--logprobs", "OFF"])
    assert backend_options(args) == {"logprobs": False}
    args = parser.parse_args(["--backend", "openai", "--logprobs", "maybe"])
    with pytest.raises(
        ValueError, match=r"--logprobs \(openai backend\): expected on or off, got 'maybe'"
    ):
        backend_options(args)
