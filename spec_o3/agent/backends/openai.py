"""A policy served by any OpenAI-compatible chat-completions server (vLLM, SGLang, hosted APIs).

The model speaks the released Spec-o3 text protocol, so no server-side tool parser is needed: tool
calls are read from the assistant *text*, and tool results go back as a user turn holding
``<tool_response>``, the PNG (as a data URL) and the tool's text. Servers that do split reasoning or
tool calls out of the text (``reasoning_content``, ``tool_calls``) are folded back into the released
format.

Serving the released 7B checkpoint with vLLM, for example::

    vllm serve Maxwell-Jia/spec-o3-7b --limit-mm-per-prompt '{"image": 10}'
    spec-o3 vet --task cc --backend openai --base-url http://localhost:8000/v1 spec-*.fits
"""

import base64
import bisect
import io
import itertools
import json
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from ..protocol import (
    check_protocol,
    default_protocol,
    format_tool_call,
    token_limits,
    turn_token_limit,
    verdict_offset,
)
from .base import BackendError, Policy
from .verdict_probability import verdict_probability, verdict_token

__all__ = ["OpenAICompatiblePolicy", "to_openai_messages"]

_RETRY_AFTER_CAP = 60.0  # seconds; never sleep longer than this on a server's Retry-After
_TOP_LOGPROBS = 5  # alternatives asked for at each token: the other label is among them


class _BadRequest(BackendError):
    """HTTP 400: the server refused what was asked (perhaps only the log-probabilities)."""


class OpenAICompatiblePolicy(Policy):
    """Ask an OpenAI-compatible ``/chat/completions`` endpoint for each assistant turn.

    Parameters
    ----------
    base_url : str
        The API root, e.g. ``"http://localhost:8000/v1"`` (vLLM's default) or a hosted endpoint.
    model : str
        Model name as the server knows it (default: the released Spec-o3 7B checkpoint's id).
    api_key : str, optional
        Bearer token; defaults to the ``OPENAI_API_KEY`` environment variable. Never logged, shown
        in ``repr`` or put in error messages.
    timeout : float
        Seconds to wait for one response.
    max_retries : int
        Retries after a timeout, a connection failure, HTTP 429 or a 5xx answer.
    backoff : float
        First retry delay in seconds; doubles at each retry (a ``Retry-After`` header wins).
    concurrency : int
        Most requests in flight at once (episodes are sent concurrently).
    temperature : float
        Sampling temperature sent with every request.
    max_tokens : int, optional
        Most tokens per assistant turn; default 2048 under the ``"spec-o3"`` protocol, no cap
        under ``"release"``.
    response_budget : int, optional
        Most tokens of an episode's responses (default 32,768 under ``"release"``, none under
        ``"spec-o3"``), counted from the server's ``usage``: the model's turns and the tool
        responses before the latest one.
    toolset : {"default", "extended"}
        The toolset the served model was trained with.
    protocol : {"spec-o3", "release"}, optional
        The dialogue profile the served model was trained with (see :ref:`protocol-profiles`);
        default ``"release"`` for a released checkpoint, else ``"spec-o3"``.
    logprobs : bool
        Ask for the log-probabilities of the reply's tokens (``logprobs``, ``top_logprobs``), from
        which an answer's ``confidence`` is the model's probability of its label against the other
        one. A server that refuses them (HTTP 400) is asked again without, and never again.

    Examples
    --------
    >>> policy = OpenAICompatiblePolicy("http://127.0.0.1:8000/v1", api_key="secret")
    >>> policy
    OpenAICompatiblePolicy(base_url='http://127.0.0.1:8000/v1', model='Maxwell-Jia/spec-o3-7b')
    >>> policy.close()
    """

    name = "openai"

    def __init__(
        self,
        base_url="http://localhost:8000/v1",
        model="Maxwell-Jia/spec-o3-7b",
        *,
        api_key=None,
        timeout=120.0,
        max_retries=4,
        backoff=1.0,
        concurrency=8,
        temperature=0.0,
        max_tokens=None,
        toolset="default",
        logprobs=True,
        protocol=None,
        response_budget=None,
    ):
        if int(concurrency) < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        if int(max_retries) < 0:
            raise ValueError(f"max_retries must be 0 or more, got {max_retries}")
        self.base_url = str(base_url).rstrip("/")
        self.model = model
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.backoff = float(backoff)
        self.concurrency = int(concurrency)
        self.temperature = temperature
        self.protocol = default_protocol(model) if protocol is None else check_protocol(protocol)
        self.max_tokens, self.response_budget = token_limits(
            self.protocol,
            max_tokens,
            response_budget,
            per_turn_default=2048,
            per_turn_name="max_tokens",
        )
        self.toolset = toolset
        self.logprobs = bool(logprobs)
        api_key = os.environ.get("OPENAI_API_KEY") if api_key is None else api_key
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=self.timeout, headers=headers)
        self._pool = None

    def __repr__(self):
        return f"{type(self).__name__}(base_url={self.base_url!r}, model={self.model!r})"

    @property
    def url(self):
        """The chat-completions endpoint."""
        return f"{self.base_url}/chat/completions"

    def respond(self, episodes):
        if len(episodes) <= 1 or self.concurrency == 1:
            return [self._complete(episode) for episode in episodes]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="spec-o3-openai")
        return list(self._pool.map(self._complete, episodes))

    def close(self):
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        self._client.close()

    def _complete(self, episode):
        """One chat-completions request for one episode; its assistant text (released format).

        The model's probability of an answer's label goes to ``episode.state["confidence"]``."""
        data_urls = episode.state.setdefault("openai_data_urls", {})
        state = episode.state
        limit = turn_token_limit(
            self.max_tokens, self.response_budget, state.get("response_tokens", 0)
        )
        if limit < 1:
            return ""  # the budget is spent: the episode ends without an answer
        body = {
            "model": self.model,
            "messages": to_openai_messages(episode.messages, data_urls),
            "temperature": self.temperature,
            "max_tokens": limit,
        }
        if not self.logprobs:
            reply = self._post(body)
        else:
            try:
                reply = self._post({**body, "logprobs": True, "top_logprobs": _TOP_LOGPROBS})
            except _BadRequest:
                reply = self._post(body)
                self.logprobs = False  # the server has none: stop asking
        text = self._assistant_text(reply)
        episode.state["confidence"] = _confidence(reply["choices"][0])
        usage = reply.get("usage") or {}
        if "prompt_tokens" in usage and "completion_tokens" in usage:
            first = state.setdefault("first_prompt_tokens", usage["prompt_tokens"])
            total = usage["prompt_tokens"] + usage["completion_tokens"]
            state["response_tokens"] = total - first
        return text

    def _post(self, body):
        """POST, retrying timeouts, connection failures, 429 and 5xx; return the decoded reply."""
        problem = response = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self._delay(attempt, response))
            response = None
            try:
                response = self._client.post(self.url, json=body)
            except httpx.TimeoutException:
                problem = f"no response within {self.timeout:g} s"
                continue
            except httpx.TransportError as error:
                problem = f"cannot connect ({type(error).__name__}: {error})"
                continue
            if response.status_code == 200:
                try:
                    return response.json()
                except ValueError:
                    raise BackendError(
                        f"{self.url} answered with a body that is not JSON"
                    ) from None
            problem = f"HTTP {response.status_code}: {response.text[:200]!r}"
            if response.status_code != 429 and response.status_code < 500:
                error = _BadRequest if response.status_code == 400 else BackendError
                raise error(f"{self.url} rejected the request ({problem})")
        raise BackendError(f"{self.url} failed after {self.max_retries + 1} attempts: {problem}")

    def _delay(self, attempt, response):
        """Seconds to wait before retry number ``attempt`` (from 1)."""
        retry_after = response.headers.get("Retry-After") if response is not None else None
        try:
            return min(float(retry_after), _RETRY_AFTER_CAP)
        except (TypeError, ValueError):  # absent, or an HTTP date: fall back to exponential backoff
            delay = self.backoff * 2 ** (attempt - 1)
            return delay * random.uniform(1.0, 1.25)  # jitter spreads out concurrent retries

    def _assistant_text(self, reply):
        """The assistant message of a chat-completions reply, as released-format text."""
        try:
            message = reply["choices"][0]["message"]
        except (KeyError, IndexError, TypeError):
            raise BackendError(
                f"{self.url} returned no choices: {json.dumps(reply)[:200]}"
            ) from None
        text = message.get("content") or ""
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        if reasoning and "<think>" not in text:
            text = f"<think>{reasoning}</think>\n{text}"
        for call in message.get("tool_calls") or ():
            function = call.get("function") or {}
            arguments = function.get("arguments") or "{}"
            try:
                arguments = json.loads(arguments) if isinstance(arguments, str) else arguments
            except ValueError:  # let the protocol parser report it to the model
                name = json.dumps(function.get("name"))
                text += f'\n<tool_call>\n{{"name": {name}, "arguments": {arguments}}}\n</tool_call>'
                continue
            text += "\n" + format_tool_call(function.get("name"), arguments)
        return text


def _confidence(choice):
    """The model's probability of the label of the answer in ``choice``, from the log-probabilities
    of the token that starts it; ``None`` without an answer, or without log-probabilities."""
    content = (choice.get("message") or {}).get("content") or ""
    found = verdict_offset(content)
    try:
        tokens = (choice.get("logprobs") or {}).get("content")
        return None if found is None or not tokens else _label_probability(content, found, tokens)
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        return None  # malformed log-probabilities cost the confidence, never the answer


def _label_probability(content, found, tokens):
    """`verdict_probability` at the token of ``tokens`` (chat-completions log-probabilities) where
    the label found by `verdict_offset` in ``content`` starts.

    The tokens spell the content, or more: a server that splits the reasoning out of the text
    (``reasoning_content``) may list its tokens first, and one that cuts a stop string off the text
    may list it last. Offsets count UTF-8 bytes, as tokens do (a character may span two tokens).
    """
    offset, verdict = found
    pieces = [
        bytes(token["bytes"]) if token.get("bytes") else token["token"].encode() for token in tokens
    ]
    spelled, text = b"".join(pieces), content.encode()
    if spelled.startswith(text):
        label_start = len(content[:offset].encode())
    elif spelled.endswith(text):
        label_start = len(spelled) - len(text) + len(content[:offset].encode())
    else:
        return None  # the tokens do not spell the content
    ends = list(itertools.accumulate(len(piece) for piece in pieces))
    index = bisect.bisect_right(ends, label_start)  # the token the label starts in
    token = tokens[index]
    lead = spelled[ends[index] - len(pieces[index]) : label_start].decode(errors="ignore")
    if verdict_token(token["token"], lead) != verdict:
        return None
    candidates = [(other["token"], other["logprob"]) for other in token.get("top_logprobs") or ()]
    if token["token"] not in (other for other, _ in candidates):
        candidates.append((token["token"], token["logprob"]))
    return verdict_probability(verdict, lead, candidates)


def to_openai_messages(messages, data_urls=None):
    """Convert Hugging Face chat messages (PIL images in the content) to the OpenAI wire format.

    Parameters
    ----------
    messages : list of dict
        As `~spec_o3.agent.Trajectory.to_messages` returns them.
    data_urls : dict, optional
        Cache of encoded images keyed by ``id(image)``, so a conversation's images are encoded once.

    Examples
    --------
    >>> to_openai_messages([{"role": "user", "content": [{"type": "text", "text": "Hi"}]}])
    [{'role': 'user', 'content': [{'type': 'text', 'text': 'Hi'}]}]
    """
    data_urls = {} if data_urls is None else data_urls
    converted = []
    for message in messages:
        parts = []
        for part in message["content"]:
            if part["type"] == "image":
                image = part["image"]
                if id(image) not in data_urls:
                    data_urls[id(image)] = _png_data_url(image)
                parts.append({"type": "image_url", "image_url": {"url": data_urls[id(image)]}})
            else:
                parts.append({"type": "text", "text": part["text"]})
        if message["role"] in ("system", "assistant"):  # plain strings: accepted by every server
            parts = "".join(part["text"] for part in parts)
        converted.append({"role": message["role"], "content": parts})
    return converted


def _png_data_url(image):
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
