"""Server-backed respondents through the OpenAI-compatible HTTP API.

vLLM, llama.cpp's server, llama-cpp-python's server and Ollama all expose
``/v1/completions`` and ``/v1/chat/completions``. This backend renders every
prompt itself with the model's chat template, exactly as the in-process
transformers backend does, so both backends send the model the same text:

* option scoring (``logprob`` answering) posts the rendered prompt, answer
  prefix included, to the completions endpoint and reads the top
  log-probabilities of the next token;
* free-text generation for probes and judges posts the chat messages to the
  chat endpoint, where the server applies the same template.

Notes
-----
When the server returns no log-probabilities for some answer options, the
backend first asks again with a ``logit_bias`` that lifts all options equally,
which keeps their ratios. If that fails as well, it generates a short answer
and parses the option label from it. Such answers carry
``method="generate-fallback"``, a :class:`GenerateFallbackWarning` is emitted,
and :meth:`OpenAIBackend.describe` counts them for the manifest.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import threading
import warnings
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

from psyval.errors import (
    BackendUnavailableError,
    PsyvalError,
    PsyvalWarning,
    UnparsedAnswerWarning,
)
from psyval.respondents.base import Backend, ChatMessage, Decoding, OptionDistribution
from psyval.respondents.http_client import (
    JsonClient,
    RetryPolicy,
    ServerUnreachableError,
)
from psyval.respondents.openai_tokenizer import load_tokenizer, resolve_tokenizer_source
from psyval.respondents.prompting import (
    OptionCache,
    chat_template_sha256,
    check_options,
    encode_prompt,
    has_chat_template,
    option_distribution,
    option_token_ids,
    render_prompt,
)
from psyval.respondents.response_cache import ResponseCache

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

#: A logit bias this large puts every option above any other token, while the
#: equal shift keeps the options' probability ratios.
OPTION_BIAS = 100.0

#: The maximum number of alternatives per position that the OpenAI API returns.
#: vLLM's default ``--max-logprobs`` is also 20.
MAX_TOP_LOGPROBS = 20

#: New tokens generated when an answer has to be parsed from text.
FALLBACK_MAX_TOKENS = 8

#: Environment variable naming the default request cache file, so that CLI
#: runs can resume too.
REQUEST_CACHE_ENV = "PSYVAL_REQUEST_CACHE"

#: A POSIX environment variable name: letters, digits and "_", not starting with a digit.
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

#: The two places that set the base URL and the key variable, named in error
#: messages: the CLI flag, and the backend option in a study file.
BASE_URL_SETTING = "--base-url, or base_url in a study file"
API_KEY_ENV_SETTING = "--api-key-env, or api_key_env in a study file"

#: Rendered prompts whose chat messages are kept for the chat endpoint. An
#: evicted prompt is sent as rendered text to the completions endpoint instead.
MAX_REMEMBERED_CHATS = 50_000


class GenerateFallbackWarning(PsyvalWarning):
    """Option probabilities were unavailable, so answers were parsed from generated text."""


class OpenAIBackend(Backend):
    """A model served behind an OpenAI-compatible API (vLLM, llama.cpp, Ollama).

    Parameters
    ----------
    base_url
        The API root including ``/v1``, for example ``"http://127.0.0.1:8000/v1"``.
    model
        The model name the server expects. ``None`` reads it from ``/models``
        when the server lists exactly one model.
    api_key_env
        Name of the environment variable that contains the API key. The key is
        sent as a bearer token and never logged or written to a manifest.
    concurrency
        Requests in flight at once.
    timeout
        Seconds allowed for each request attempt.
    max_retries
        Retries after a connection error, timeout, HTTP 429 or HTTP 5xx.
    tokenizer
        A local source of the model's tokenizer and chat template: an embedded
        model alias, a ``.gguf`` file, a Hugging Face folder or a cached hub id.
        ``None`` uses the GGUF file of the embedded SmolLM2 default when the
        served model is SmolLM2, and ``model`` otherwise.
    top_logprobs
        Alternatives requested per answer position, 1 to 20: the OpenAI API
        returns at most 20, as does vLLM with its default ``--max-logprobs``.
    logit_bias
        Use ``logit_bias`` when options are missing from the top
        alternatives: ``"auto"`` tries it and stops after the first failure.
    generation_endpoint
        ``"chat"`` sends probe and judge prompts as chat messages;
        ``"completions"`` sends the rendered text.
    prompt_format
        ``"text"`` sends completion prompts as text, which the server
        tokenises. ``"token_ids"`` sends the local tokenizer's ids, so the
        model receives exactly the in-process tokens (vLLM and OpenAI accept
        this; llama-cpp-python 0.3 rejects it with HTTP 422).
    check_server
        Contact ``/models`` once at start, so a wrong URL fails at once.
    request_cache
        A JSON Lines file that stores every finished request and its
        response. A rerun after a crash or server restart reads finished
        requests from it instead of sending them again. ``None`` uses the
        file named by the environment variable ``PSYVAL_REQUEST_CACHE`` if it
        is set; otherwise finished requests are remembered only for the life
        of this object.
    retry_base_delay
        Backoff cap of the first retry in seconds; it doubles per retry.

    Raises
    ------
    BackendUnavailableError
        When the server cannot be reached or the tokenizer cannot be loaded.
    PsyvalError
        For invalid settings or an unset API key variable.
    """

    name = "openai"

    # The server address is left out, as in the request cache keys, because
    # the same model behind another address or port returns the same results.
    identity_fields = (
        "backend",
        "model_id",
        "tokenizer_source",
        "chat_template_sha256",
        "top_logprobs",
        "logit_bias",
        "generation_endpoint",
        "prompt_format",
    )

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000/v1",
        model: str | None = None,
        api_key_env: str | None = None,
        concurrency: int = 4,
        timeout: float = 120.0,
        max_retries: int = 4,
        tokenizer: str | None = None,
        top_logprobs: int = 20,
        logit_bias: Literal["auto", "always", "never"] = "auto",
        generation_endpoint: Literal["chat", "completions"] = "chat",
        prompt_format: Literal["text", "token_ids"] = "text",
        check_server: bool = True,
        request_cache: str | os.PathLike[str] | None = None,
        retry_base_delay: float = 0.5,
    ) -> None:
        _check_types(
            {
                "base_url": (base_url, (str,), "a URL string such as http://127.0.0.1:8000/v1"),
                "model": (model, (str, type(None)), "the served model's name as a string, or None"),
                "api_key_env": (api_key_env, (str, type(None)), "an environment variable name, or None"),
                "concurrency": (concurrency, (int,), "a positive integer"),
                "timeout": (timeout, (int, float), "a positive number of seconds"),
                "max_retries": (max_retries, (int,), "0 or a positive integer"),
                "tokenizer": (tokenizer, (str, type(None)), "a tokenizer source as a string, or None"),
                "top_logprobs": (top_logprobs, (int,), "an integer from 1 to 20"),
                "logit_bias": (logit_bias, (str,), "one of: auto, always, never"),
                "generation_endpoint": (generation_endpoint, (str,), "one of: chat, completions"),
                "prompt_format": (prompt_format, (str,), "one of: text, token_ids"),
                "check_server": (check_server, (bool,), "True or False"),
                "request_cache": (request_cache, (str, os.PathLike, type(None)), "a file path, or None"),
                "retry_base_delay": (retry_base_delay, (int, float), "a number of seconds >= 0"),
            }
        )
        _check_settings(base_url, concurrency, timeout, max_retries, top_logprobs, logit_bias, generation_endpoint)
        if not (retry_base_delay >= 0 and math.isfinite(retry_base_delay)):
            raise PsyvalError(f"invalid retry_base_delay {retry_base_delay!r}; use a number of seconds >= 0")
        if prompt_format not in ("text", "token_ids"):
            raise PsyvalError(f"invalid prompt_format {prompt_format!r}; choose one of: text, token_ids")
        self.prompt_format = prompt_format
        # The cache path is checked before the server and tokenizer are
        # contacted, so a wrong path fails before any other work.
        if request_cache is None:
            request_cache = os.environ.get(REQUEST_CACHE_ENV) or None
        if request_cache is not None and not Path(request_cache).parent.is_dir():
            raise PsyvalError(
                f"request cache {str(request_cache)!r}: folder {str(Path(request_cache).parent)!r} "
                "does not exist; create it or choose another path"
            )
        self.responses = ResponseCache(Path(request_cache) if request_cache is not None else None)
        self.base_url = base_url.rstrip("/")
        self.concurrency = concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.top_logprobs = top_logprobs
        self.logit_bias_mode = logit_bias
        self.generation_endpoint = generation_endpoint
        self.api_key_env = api_key_env

        self.client = JsonClient(
            self.base_url,
            timeout=timeout,
            retry=RetryPolicy(max_retries=max_retries, base_delay=retry_base_delay),
            headers=_auth_headers(api_key_env),
            max_connections=concurrency,
        )
        listed = self._list_models() if check_server else []
        if model is None:
            if len(listed) != 1:
                raise PsyvalError(
                    f"model=None but the server at {self.base_url} lists {len(listed)} models "
                    f"({', '.join(map(repr, listed)) or 'none'}); pass --model with one of them"
                )
            model = listed[0]
        self.model = model
        self.server_models = listed

        self.tokenizer_source = resolve_tokenizer_source(tokenizer, model)
        self.tokenizer = load_tokenizer(self.tokenizer_source)
        self._option_cache: OptionCache = {}

        self._lock = threading.Lock()
        # Fast tokenizers can fail with "Already borrowed" when threads share one.
        self._tokenizer_lock = threading.RLock()
        self._chat_messages: OrderedDict[str, list[ChatMessage]] = OrderedDict()
        self._logit_bias_works: bool | None = None if logit_bias == "auto" else logit_bias == "always"
        self.method_counts: Counter[str] = Counter()
        self.usage: Counter[str] = Counter()
        self.requests_sent = 0
        self.cache_hits = 0

    # ------------------------------------------------------------------ identity

    @property
    def model_id(self) -> str:
        return self.model

    @property
    def has_chat_template(self) -> bool:
        return has_chat_template(self.tokenizer)

    def describe(self) -> dict[str, Any]:
        fallbacks = self.method_counts.get("generate-fallback", 0)
        return {
            "backend": self.name,
            "model_id": self.model_id,
            "base_url": _redact_url(self.base_url),
            "server_models": list(self.server_models),
            "tokenizer_source": self.tokenizer_source,
            "chat_template_sha256": chat_template_sha256(self.tokenizer),
            "api_key_env": self.api_key_env,
            "concurrency": self.concurrency,
            "timeout_s": self.timeout,
            "max_retries": self.max_retries,
            "top_logprobs": self.top_logprobs,
            "logit_bias": self.logit_bias_mode,
            "generation_endpoint": self.generation_endpoint,
            "prompt_format": self.prompt_format,
            "answer_methods": dict(self.method_counts),
            "generate_fallback_used": fallbacks > 0,
            "requests_sent": self.requests_sent,
            "requests_from_cache": self.cache_hits,
            "request_cache": str(self.responses.path) if self.responses.path is not None else None,
            "retries": self.client.retries_done,
        }

    def close(self) -> None:
        self.client.close()

    # ------------------------------------------------------------------ prompts

    # Rendering and option tokenisation are the shared functions of
    # psyval.respondents.prompting that the in-process backend uses too, so
    # both backends send the model the same text and read the same tokens.

    def render(self, messages: Sequence[ChatMessage], answer_prefix: str = "") -> str:
        with self._tokenizer_lock:
            text = render_prompt(self.tokenizer, messages, answer_prefix)
        if not answer_prefix:
            with self._lock:
                self._chat_messages[text] = [dict(m) for m in messages]  # type: ignore[misc]
                self._chat_messages.move_to_end(text)
                if len(self._chat_messages) > MAX_REMEMBERED_CHATS:
                    self._chat_messages.popitem(last=False)
        return text

    def encode(self, text: str) -> list[int]:
        """Tokenise a rendered prompt as the in-process backend does."""
        with self._tokenizer_lock:
            return encode_prompt(self.tokenizer, text)

    def _option_ids(self, prompt: str, options: Sequence[str]) -> list[list[int]]:
        with self._tokenizer_lock:
            return option_token_ids(self.tokenizer, prompt, options, self._option_cache)

    def _decode(self, token_ids: list[int]) -> str:
        with self._tokenizer_lock:
            return str(self.tokenizer.decode(token_ids))

    # ------------------------------------------------------------------ scoring

    def score_options(
        self, prompts: Sequence[str], options: Sequence[str], shared_prefix: str = ""
    ) -> list[OptionDistribution]:
        # shared_prefix needs no handling here: servers with prefix caching
        # (vLLM, llama.cpp) reuse the common prefix on their own.
        if not prompts:
            return []
        check_options(options)
        results = self._map(lambda prompt: self._score_one(prompt, options), prompts)
        fallbacks = sum(r.method == "generate-fallback" for r in results)
        if fallbacks:
            warnings.warn(
                f"server at {self.base_url} returned no probabilities for the options of {fallbacks} "
                f"of {len(results)} prompts; those answers were parsed from generated text "
                "(method 'generate-fallback'), so they carry no probability information",
                GenerateFallbackWarning,
                stacklevel=2,
            )
        return results

    def _score_one(self, prompt: str, options: Sequence[str]) -> OptionDistribution:
        option_ids = self._option_ids(prompt, options)
        if any(len(ids) != 1 for ids in option_ids):
            # NOTE: labels of several tokens would need prompt log-probabilities
            # (echo), which llama-cpp-python and Ollama do not return reliably.
            log.info("options %r span several tokens; parsing generated answers instead", list(options))
            return self._count(self._generate_and_parse(prompt, options))
        token_texts = [self._decode(ids) for ids in option_ids]

        top = self._top_logprobs(prompt, self.top_logprobs, None)
        found = {text: top[text] for text in token_texts if text in top}
        if len(found) == len(options):
            return self._count(option_distribution(options, [found[t] for t in token_texts], method="logprob"))

        found_mass = sum(math.exp(v) for v in found.values())
        biased = self._biased_logprobs(prompt, option_ids, token_texts)
        if biased is not None:
            result = option_distribution(options, biased, method="logprob-bias")
            # The bias hides the unrestricted distribution, so the option mass
            # is the part seen in the unbiased answer: a lower bound.
            result.valid_mass = min(1.0, found_mass)
            result.extra["valid_mass_lower_bound"] = True
            return self._count(result)

        result = self._generate_and_parse(prompt, options)
        result.extra["options_in_top_logprobs"] = sorted(found)
        return self._count(result)

    def _top_logprobs(self, prompt: str, count: int, bias: dict[str, float] | None) -> dict[str, float]:
        body: dict[str, Any] = {
            "model": self.model,
            "prompt": self._prompt_field(prompt),
            "max_tokens": 1,
            "temperature": 0.0,
            "logprobs": count,
            "seed": 0,
        }
        if bias is not None:
            body["logit_bias"] = bias
        answer = self._post("completions", body)
        try:
            logprobs = answer["choices"][0].get("logprobs") or {}
            top = (logprobs.get("top_logprobs") or [{}])[0] or {}
        except (KeyError, IndexError, TypeError, AttributeError):
            top = {}
        return {str(token): float(value) for token, value in top.items() if value is not None}

    def _biased_logprobs(
        self, prompt: str, option_ids: list[list[int]], token_texts: list[str]
    ) -> list[float] | None:
        if self._logit_bias_works is False:
            return None
        bias = {str(ids[0]): OPTION_BIAS for ids in option_ids}
        top = self._top_logprobs(prompt, max(len(option_ids), self.top_logprobs), bias)
        if all(text in top for text in token_texts):
            self._logit_bias_works = True
            return [top[text] for text in token_texts]
        if self._logit_bias_works is None:
            log.warning(
                "server at %s ignores logit_bias for log-probabilities; falling back to generated answers",
                self.base_url,
            )
            self._logit_bias_works = False
        return None

    def _generate_and_parse(self, prompt: str, options: Sequence[str]) -> OptionDistribution:
        text = self._complete(prompt, Decoding(max_new_tokens=FALLBACK_MAX_TOKENS, greedy=True))
        label = parse_option(text, options)
        extra: dict[str, Any] = {"generated": text}
        if label is None:
            warnings.warn(
                f"could not find any of the options {list(options)!r} in the generated answer {text!r}; "
                "it is stored as missing",
                UnparsedAnswerWarning,
                stacklevel=3,
            )
            probabilities = {option: math.nan for option in options}
            return OptionDistribution(probabilities, 0.0, method="generate-fallback", extra=extra)
        probabilities = {option: float(option == label) for option in options}
        # Generation shows no probability mass; 1.0 records that an option was chosen.
        return OptionDistribution(probabilities, 1.0, method="generate-fallback", extra=extra)

    def _count(self, result: OptionDistribution) -> OptionDistribution:
        with self._lock:
            self.method_counts[result.method] += 1
        return result

    # ------------------------------------------------------------------ generation

    def generate(self, prompts: Sequence[str], decoding: Decoding) -> list[str]:
        return self._map(lambda prompt: self._generate_one(prompt, decoding), prompts)

    def _generate_one(self, prompt: str, decoding: Decoding) -> str:
        with self._lock:
            messages = self._chat_messages.get(prompt) if self.generation_endpoint == "chat" else None
        if messages is None:
            return self._complete(prompt, decoding)
        body = {"model": self.model, "messages": messages, **_sampling(decoding)}
        answer = self._post("chat/completions", body)
        try:
            content = answer["choices"][0]["message"].get("content")
        except (KeyError, IndexError, TypeError, AttributeError) as error:
            raise BackendUnavailableError(
                f"server at {self.base_url} returned a chat completion without choices[0].message "
                f"({json.dumps(answer)[:120]}); check that it implements the OpenAI chat API"
            ) from error
        return content or ""

    def _complete(self, prompt: str, decoding: Decoding) -> str:
        body = {"model": self.model, "prompt": self._prompt_field(prompt), **_sampling(decoding)}
        answer = self._post("completions", body)
        try:
            return str(answer["choices"][0].get("text") or "")
        except (KeyError, IndexError, TypeError, AttributeError) as error:
            raise BackendUnavailableError(
                f"server at {self.base_url} returned a completion without choices[0].text "
                f"({json.dumps(answer)[:120]}); check that it implements the OpenAI completions API"
            ) from error

    # ------------------------------------------------------------------ transport

    def _prompt_field(self, prompt: str) -> str | list[int]:
        return self.encode(prompt) if self.prompt_format == "token_ids" else prompt

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        key = ResponseCache.key(path, body)
        cached = self.responses.get(key)
        if cached is not None:
            with self._lock:
                self.cache_hits += 1
            return cached
        answer = self.client.post(path, body)
        self.responses.put(key, answer)
        usage = answer.get("usage") if isinstance(answer, dict) else None
        with self._lock:
            self.requests_sent += 1
            if isinstance(usage, dict):
                for key in ("prompt_tokens", "completion_tokens"):
                    value = usage.get(key)
                    if isinstance(value, int):
                        self.usage[key] += value
        return answer

    def _map(self, work: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """Apply ``work`` to ``items`` with at most ``concurrency`` running at once, in order."""
        if self.concurrency == 1 or len(items) <= 1:
            return [work(item) for item in items]
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="psyval-openai") as pool:
            return list(pool.map(work, items))

    def _list_models(self) -> list[str]:
        # One attempt only: a server that is down at start is far more often a
        # wrong URL or port than a transient failure.
        try:
            answer = self.client.get("models", retries=False)
        except ServerUnreachableError as error:
            raise BackendUnavailableError(
                f"cannot reach the server at {_redact_url(self.base_url)} ({error.reason}); "
                f"start the server or fix the base URL ({BASE_URL_SETTING})"
            ) from error
        data = answer.get("data") if isinstance(answer, dict) else None
        return [str(entry["id"]) for entry in data or [] if isinstance(entry, dict) and "id" in entry]


def parse_option(text: str, options: Sequence[str]) -> str | None:
    """Return the first option label that appears as a whole word in ``text``, or None.

    Longer labels are tried first at each position, so ``"10"`` wins over
    ``"1"``. Word boundaries keep ``"2"`` from matching inside ``"2024"``.
    """
    by_length = sorted(options, key=len, reverse=True)
    pattern = "|".join(re.escape(option) for option in by_length)
    match = re.search(rf"(?<!\w)({pattern})(?!\w)", text)
    return match.group(1) if match else None


def _sampling(decoding: Decoding) -> dict[str, Any]:
    settings: dict[str, Any] = {"max_tokens": decoding.max_new_tokens, "seed": decoding.seed}
    if decoding.greedy:
        settings["temperature"] = 0.0
    else:
        settings.update(temperature=decoding.temperature, top_p=decoding.top_p)
    return settings


def _auth_headers(api_key_env: str | None) -> dict[str, str]:
    if not api_key_env:
        return {}
    if not ENV_NAME.fullmatch(api_key_env):
        # A value that is no variable name is often the key itself, pasted in
        # place of the name, so the message must not repeat it.
        raise PsyvalError(
            f"invalid API key variable ({API_KEY_ENV_SETTING}): the value is not an environment "
            "variable name and is not shown, in case it is the key itself; pass the name of the "
            "variable that contains the key, such as OPENAI_API_KEY"
        )
    key = os.environ.get(api_key_env)
    if not key:
        raise PsyvalError(
            f"environment variable {api_key_env!r} (named by {API_KEY_ENV_SETTING}) is not set or empty; "
            "export it with the API key, or drop the setting for a server without keys"
        )
    return {"Authorization": f"Bearer {key}"}


def _redact_url(url: str) -> str:
    """Drop user name and password from a URL before it is logged or stored."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _check_types(settings: dict[str, tuple[object, tuple[type, ...], str]]) -> None:
    """Reject constructor arguments of the wrong type, such as a string from a study file.

    ``settings`` maps each argument name to its value, the accepted types and
    what to pass instead. ``True`` and ``False`` count as numbers only where
    ``bool`` is accepted itself.
    """
    for option, (value, kinds, expected) in settings.items():
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            raise PsyvalError(f"invalid {option} {value!r} ({type(value).__name__}); use {expected}")


def _check_settings(
    base_url: str,
    concurrency: int,
    timeout: float,
    max_retries: int,
    top_logprobs: int,
    logit_bias: str,
    generation_endpoint: str,
) -> None:
    if not re.match(r"^https?://[^/\s]+", base_url):
        raise PsyvalError(
            f"invalid base URL {base_url!r} ({BASE_URL_SETTING}); use a URL such as http://127.0.0.1:8000/v1"
        )
    parts = urlsplit(base_url)
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        # Secrets in the URL would reach logs, error messages and the
        # manifest, so the message shows the URL without them.
        host = f"{parts.hostname}:{parts.port}" if parts.port else (parts.hostname or "")
        shown = urlunsplit((parts.scheme, host, parts.path, "", ""))
        if parts.username is None and parts.password is None and not parts.query:
            # A fragment never reaches the server, so request paths appended
            # after it would be lost and every request would fail with 404.
            raise PsyvalError(
                f"invalid base URL {shown + '#...'!r} ({BASE_URL_SETTING}): it contains a fragment; "
                f"remove the '#' and what follows, as in {shown!r}"
            )
        where = "a query string" if parts.query else "a user name or password"
        raise PsyvalError(
            f"invalid base URL {shown!r} ({BASE_URL_SETTING}): it contains {where}; "
            f"remove it and pass the key with {API_KEY_ENV_SETTING}"
        )
    if concurrency < 1:
        raise PsyvalError(f"invalid concurrency {concurrency!r}; use a positive integer")
    if not timeout > 0:
        raise PsyvalError(f"invalid timeout {timeout!r}; use a positive number of seconds")
    if max_retries < 0:
        raise PsyvalError(f"invalid max_retries {max_retries!r}; use 0 or a positive integer")
    if not 1 <= top_logprobs <= MAX_TOP_LOGPROBS:
        raise PsyvalError(
            f"invalid top_logprobs {top_logprobs!r}; use an integer from 1 to {MAX_TOP_LOGPROBS}, "
            "the most the OpenAI API and a default vLLM server return"
        )
    if logit_bias not in ("auto", "always", "never"):
        raise PsyvalError(f"invalid logit_bias {logit_bias!r}; choose one of: auto, always, never")
    if generation_endpoint not in ("chat", "completions"):
        raise PsyvalError(
            f"invalid generation_endpoint {generation_endpoint!r}; choose one of: chat, completions"
        )


__all__ = ["GenerateFallbackWarning", "OpenAIBackend", "ResponseCache", "parse_option"]
