"""GGUF conversion helpers of psyval.respondents.model_cache (no model is loaded)."""

from __future__ import annotations

import io

from transformers import modeling_gguf_pytorch_utils as gguf_utils
from transformers.utils import logging as hf_logging

from psyval.respondents.model_cache import gguf_progress_follows_transformers


def test_gguf_progress_bar_obeys_transformers_switch() -> None:
    original = gguf_utils.tqdm
    bars_before = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        stream = io.StringIO()
        with gguf_progress_follows_transformers():
            for _ in gguf_utils.tqdm(range(3), desc="Converting", file=stream):
                pass
        assert stream.getvalue() == ""
    finally:
        if bars_before:
            hf_logging.enable_progress_bar()
    assert gguf_utils.tqdm is original
