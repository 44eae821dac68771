"""Shared CLI options: transformers' progress bars follow whether stderr is a terminal."""

from __future__ import annotations

import io
import sys

import pytest
from transformers.utils import logging as hf_logging

from psyval.cli.options import quiet_transformers


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("stderr", "bars_shown"), [(io.StringIO(), False), (_Terminal(), True)])
def test_progress_bars_only_on_terminal(
    monkeypatch: pytest.MonkeyPatch, stderr: io.StringIO, bars_shown: bool
) -> None:
    verbosity = hf_logging.get_verbosity()
    bars_before = hf_logging.is_progress_bar_enabled()
    hf_logging.enable_progress_bar()
    monkeypatch.setattr(sys, "stderr", stderr)
    try:
        quiet_transformers()
        assert hf_logging.is_progress_bar_enabled() is bars_shown
    finally:
        if not bars_before:
            hf_logging.disable_progress_bar()
        hf_logging.set_verbosity(verbosity)


def test_api_key_env_on_transformers_not_echoed() -> None:
    from psyval.cli.options import backend_from_options
    from psyval.errors import PsyvalError

    with pytest.raises(PsyvalError) as caught:
        backend_from_options(api_key_env="sk-live-Secret42")
    message = str(caught.value)
    assert "--api-key-env applies to the openai backend" in message
    assert "Secret42" not in message


def test_tokenizer_option_reaches_openai_backend() -> None:
    import time

    from openai_mock import MockServer

    from psyval.cli.options import backend_from_options
    from psyval.errors import BackendUnavailableError, PsyvalError
    from psyval.respondents.model_cache import DEFAULT_MODEL

    server = MockServer()
    try:
        started = time.monotonic()
        # A served name that is no hub id is looked up in local files only, so it fails at once.
        with pytest.raises(BackendUnavailableError, match="pass --tokenizer"):
            backend_from_options(backend_name="openai", base_url=server.base_url, model="psyval-served-name")
        assert time.monotonic() - started < 10
        backend = backend_from_options(
            backend_name="openai", base_url=server.base_url, model="psyval-served-name", tokenizer=DEFAULT_MODEL
        )
        assert backend.describe()["tokenizer_source"] == DEFAULT_MODEL
        backend.close()
    finally:
        server.close()
    with pytest.raises(PsyvalError, match="--tokenizer = 'x' applies to the openai backend"):
        backend_from_options(tokenizer="x")
