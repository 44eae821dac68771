"""A JSON-over-HTTP client with timeouts, retries and exponential backoff.

Server-backed respondents send many small requests, and long studies outlive
brief server hiccups. Connection errors, timeouts, HTTP 429 and HTTP 5xx are
therefore retried with exponential backoff and full jitter. Any other 4xx is a
problem with the request itself, so it fails at once with the server's own
message. The client never logs request headers, so an API key passed in
``headers`` stays out of the logs.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from psyval.errors import BackendUnavailableError, PsyvalError

log = logging.getLogger(__name__)

#: Maximum length of a server error message quoted in an exception, in characters.
MAX_MESSAGE_CHARS = 300


class ServerRequestError(PsyvalError):
    """The server rejected a request with a 4xx status other than 429.

    Attributes
    ----------
    status
        The HTTP status code.
    server_message
        The error message the server returned, shortened to one line.
    """

    def __init__(self, message: str, status: int, server_message: str) -> None:
        super().__init__(message)
        self.status = status
        self.server_message = server_message


class ServerUnreachableError(BackendUnavailableError):
    """Every attempt of a request failed with a connection error, timeout, 429 or 5xx.

    Attributes
    ----------
    url
        The URL of the request.
    reason
        The failure of the last attempt, as one line.
    """

    def __init__(self, message: str, url: str, reason: str) -> None:
        super().__init__(message)
        self.url = url
        self.reason = reason


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before a request is sent again.

    Attributes
    ----------
    max_retries
        Retries after the first attempt; 0 disables retrying.
    base_delay
        Backoff cap of the first retry, in seconds. The cap doubles with each
        further retry.
    max_delay
        Upper limit of any single wait, in seconds, including a server's
        ``Retry-After`` header.
    """

    max_retries: int = 4
    base_delay: float = 0.5
    max_delay: float = 20.0

    def delay(self, retry: int, rng: random.Random) -> float:
        """Return the wait before retry number ``retry`` (0-based), in seconds.

        Notes
        -----
        Full jitter draws the wait uniformly from ``[0, min(max_delay,
        base_delay * 2**retry)]``. Random waits keep many concurrent clients
        from retrying in lockstep after a shared failure, which would overload
        a recovering server again.
        """
        cap = min(self.max_delay, self.base_delay * 2**retry)
        return rng.uniform(0.0, cap)


@dataclass
class JsonClient:
    """Send JSON requests to one base URL and return the decoded JSON responses.

    Parameters
    ----------
    base_url
        For example ``"http://127.0.0.1:8000/v1"``; paths are appended to it.
    timeout
        Seconds allowed for each attempt (connect, read and write).
    retry
        The retry policy for connection errors, timeouts, 429 and 5xx.
    headers
        Extra request headers, such as ``Authorization``. They are never logged.
    max_connections
        Size of the connection pool; set it to the request concurrency.
    sleep, rng
        Replaceable for tests that check the backoff schedule.
    """

    base_url: str
    timeout: float = 60.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    headers: Mapping[str, str] = field(default_factory=dict)
    max_connections: int = 4
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    retries_done: int = 0

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        limits = httpx.Limits(max_connections=self.max_connections, max_keepalive_connections=self.max_connections)
        self._http = httpx.Client(
            timeout=httpx.Timeout(self.timeout),
            limits=limits,
            headers=dict(self.headers),
            # Proxy settings from the environment would send loopback servers'
            # traffic elsewhere, so only explicit settings apply.
            trust_env=False,
        )

    def url(self, path: str) -> str:
        """Return the full URL of ``path`` under the base URL."""
        return f"{self.base_url}/{path.lstrip('/')}"

    def get(self, path: str, retries: bool = True) -> Any:
        """Send a GET request and return the decoded JSON body."""
        return self._send("GET", path, None, retries)

    def post(self, path: str, body: Mapping[str, Any], retries: bool = True) -> Any:
        """Send a POST request with a JSON body and return the decoded JSON body."""
        return self._send("POST", path, body, retries)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _send(self, method: str, path: str, body: Mapping[str, Any] | None, retries: bool) -> Any:
        url = self.url(path)
        attempts = 1 + (self.retry.max_retries if retries else 0)
        for attempt in range(attempts):
            failure, wait_hint = self._attempt(method, url, body)
            if not isinstance(failure, str):
                return failure.value
            if attempt + 1 == attempts:
                raise ServerUnreachableError(
                    f"request to {url} failed after {attempts} attempt(s): {failure}; "
                    "check that the server is running and --base-url is right",
                    url,
                    failure,
                )
            wait = self.retry.delay(attempt, self.rng)
            if wait_hint is not None:
                wait = min(self.retry.max_delay, max(wait, wait_hint))
            self.retries_done += 1
            log.warning(
                "%s %s failed (%s); retry %d of %d in %.2f s",
                method, url, failure, attempt + 1, attempts - 1, wait,
            )
            self.sleep(wait)
        raise AssertionError("unreachable: the loop returns or raises")

    def _attempt(
        self, method: str, url: str, body: Mapping[str, Any] | None
    ) -> tuple[_Decoded | str, float | None]:
        """Send once; return the decoded body, or a retryable failure and a wait hint."""
        try:
            response = self._http.request(method, url, json=body)
        except httpx.TimeoutException:
            return f"timed out after {self.timeout:g} s", None
        except httpx.TransportError as error:
            return f"connection failed: {_first_line(str(error)) or type(error).__name__}", None

        status = response.status_code
        if status == 429 or status >= 500:
            return f"HTTP {status}: {server_message(response)}", _retry_after(response)
        if status >= 400:
            message = server_message(response)
            raise ServerRequestError(
                f"server at {url} rejected the request with HTTP {status}: {message}", status, message
            )
        try:
            return _Decoded(response.json()), None
        except json.JSONDecodeError as error:
            raise BackendUnavailableError(
                f"server at {url} returned HTTP {status} with a body that is not JSON "
                f"({_first_line(response.text)[:80]!r}); check that --base-url points at an "
                "OpenAI-compatible API such as http://HOST:PORT/v1"
            ) from error


@dataclass(frozen=True)
class _Decoded:
    value: Any


def server_message(response: httpx.Response) -> str:
    """Extract the error message of an OpenAI-style error body, as one short line.

    OpenAI, vLLM and Ollama return ``{"error": {"message": ...}}``; FastAPI
    servers such as llama-cpp-python's return ``{"detail": ...}``. Anything
    else is quoted as plain text.
    """
    try:
        payload = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        payload = None
    message: Any = None
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict):
            message = error.get("message")
        elif isinstance(error, str):
            message = error
        if message is None:
            message = payload.get("detail") or payload.get("message")
    if message is None:
        message = response.text or response.reason_phrase
    if not isinstance(message, str):
        message = json.dumps(message)
    line = " ".join(message.split())
    return line if len(line) <= MAX_MESSAGE_CHARS else line[: MAX_MESSAGE_CHARS - 3] + "..."


def _retry_after(response: httpx.Response) -> float | None:
    # Only the delay-seconds form is read; an HTTP date falls back to backoff.
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _first_line(text: str) -> str:
    stripped = text.strip()
    return stripped.splitlines()[0] if stripped else ""


__all__ = ["JsonClient", "RetryPolicy", "ServerRequestError", "ServerUnreachableError", "server_message"]
