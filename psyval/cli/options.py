"""Click options shared by the commands that talk to a model (``survey``, ``probe``).

:func:`backend_options` adds the options to a command; :func:`backend_from_options`
turns their values into a loaded backend, so every command builds backends the
same way. Each option can also be set through the environment variable named
in its help (``PSYVAL_MODEL``, ``PSYVAL_BACKEND``, ...).
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from psyval.errors import PsyvalError
from psyval.respondents.base import Backend
from psyval.respondents.model_cache import DEFAULT_MODEL
from psyval.respondents.registry import available_backends, load_backend

F = TypeVar("F", bound=Callable[..., Any])

DTYPES = ("float32", "bfloat16", "float16", "auto")

_OPTIONS = [
    click.option(
        "--model", "-m", envvar="PSYVAL_MODEL", default=None, show_envvar=True,
        help=f"Model: a Hugging Face folder, .gguf file or hub id (transformers backend; default "
        f"{DEFAULT_MODEL!r}, the embedded SmolLM2-135M-Instruct), or the served model name (openai backend).",
    ),
    click.option(
        "--backend", "backend_name", envvar="PSYVAL_BACKEND", default="transformers", show_default=True,
        show_envvar=True, help=f"Backend: one of {', '.join(available_backends())}.",
    ),
    click.option(
        "--base-url", envvar="PSYVAL_BASE_URL", default=None, show_envvar=True,
        help="Server URL of an OpenAI-compatible API, for example http://127.0.0.1:8000/v1 (openai backend).",
    ),
    click.option(
        "--api-key-env", envvar="PSYVAL_API_KEY_ENV", default=None, show_envvar=True,
        help="Name of the environment variable that holds the API key; the key itself is never passed or logged.",
    ),
    click.option(
        "--concurrency", type=click.IntRange(min=1), default=None,
        help="Requests in flight at once (openai backend; default 4).",
    ),
    click.option(
        "--tokenizer", envvar="PSYVAL_TOKENIZER", default=None, show_envvar=True,
        help="Local source of the served model's tokenizer and chat template: a Hugging Face folder, .gguf file, "
        "cached hub id or embedded alias (openai backend; default: the --model name).",
    ),
    click.option(
        "--trust-remote-code", is_flag=True, default=False,
        help="Let a hub model run its own Python code. Off unless given.",
    ),
    click.option(
        "--dtype", type=click.Choice(DTYPES), default="float32", show_default=True,
        help="Weight and activation dtype (transformers backend).",
    ),
    click.option(
        "--device", default="cpu", show_default=True, help="Torch device, for example cpu or cuda (transformers backend).",
    ),
]


def backend_options(command: F) -> F:
    """Add the shared backend options to a click command."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def backend_from_options(
    model: str | None = None,
    backend_name: str = "transformers",
    base_url: str | None = None,
    api_key_env: str | None = None,
    concurrency: int | None = None,
    tokenizer: str | None = None,
    trust_remote_code: bool = False,
    dtype: str = "float32",
    device: str = "cpu",
    **extra: Any,
) -> Backend:
    """Load the backend described by the shared options.

    Options that do not apply to the chosen backend are rejected rather than
    ignored, so a mistyped command line does not silently survey another model.

    Raises
    ------
    PsyvalError
        For an unknown backend, an option that does not apply to it, or a
        model that cannot be loaded.
    """
    if backend_name == "transformers":
        if api_key_env is not None:
            # The value is not shown, because users sometimes paste the key itself here.
            raise PsyvalError("option --api-key-env applies to the openai backend; add --backend openai")
        for name, given in (("--base-url", base_url), ("--concurrency", concurrency), ("--tokenizer", tokenizer)):
            if given is not None:
                raise PsyvalError(f"option {name} = {given!r} applies to the openai backend; add --backend openai")
        return load_backend(
            "transformers", model=model or DEFAULT_MODEL, dtype=dtype, device=device,
            trust_remote_code=trust_remote_code, **extra,
        )
    if trust_remote_code:
        raise PsyvalError(f"--trust-remote-code applies to the transformers backend, not {backend_name!r}")
    options: dict[str, Any] = {"model": model, **extra}
    if base_url is not None:
        options["base_url"] = base_url
    if api_key_env is not None:
        options["api_key_env"] = api_key_env
    if concurrency is not None:
        options["concurrency"] = concurrency
    if tokenizer is not None:
        options["tokenizer"] = tokenizer
    return load_backend(backend_name, **options)


__all__ = ["DTYPES", "backend_from_options", "backend_options"]


@contextmanager
def warnings_as_lines() -> Iterator[None]:
    """Print psyval's warnings as one ``psyval: warning:`` line each, after the block."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            seen: set[str] = set()
            for warning in caught:
                text = f"{warning.category.__name__}: {warning.message}"
                if text not in seen and not issubclass(warning.category, (DeprecationWarning, FutureWarning)):
                    seen.add(text)
                    click.echo(f"psyval: warning: {text}", err=True)


def quiet_transformers() -> None:
    """Hide transformers' progress bars unless stderr is a terminal, and its logs unless ``-vv`` is given.

    A bar redraws itself with carriage returns, which fill a log file or a
    pipe (``psyval run ... 2>log``) with one line per update. The bars cover
    model loading and the one-off GGUF conversion (see
    :func:`psyval.respondents.model_cache.gguf_progress_follows_transformers`).
    """
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        return
    if not sys.stderr.isatty():
        hf_logging.disable_progress_bar()
    if logging.getLogger().level > logging.DEBUG:
        hf_logging.set_verbosity_error()
