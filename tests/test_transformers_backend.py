"""TransformersBackend on the real embedded default model (SmolLM2-135M-Instruct)."""

from __future__ import annotations

import math
import os

import pytest

from psyval.errors import BackendUnavailableError, PsyvalError
from psyval.respondents.base import Decoding
from psyval.respondents.registry import find_backend, load_backend

SYSTEM = {"role": "system", "content": "You fill in questionnaires."}
OPTIONS = ["1", "2", "3", "4", "5", "6"]


def _prompts(smollm):  # type: ignore[no-untyped-def]
    items = ["Kim enjoys painting.", "Alex wants to be rich and to give orders.", "Sam keeps every promise."]
    return [
        smollm.render([SYSTEM, {"role": "user", "content": f"Rate 1-6 how much this is like you.\n{text}"}])
        for text in items
    ]


def test_render_uses_chat_template(smollm):  # type: ignore[no-untyped-def]
    text = smollm.render([SYSTEM, {"role": "user", "content": "Hi"}], answer_prefix="Answer:")
    assert text.startswith("<|im_start|>system\nYou fill in questionnaires.")
    assert text.endswith("<|im_start|>assistant\nAnswer:")


def test_score_options_is_distribution(smollm):  # type: ignore[no-untyped-def]
    results = smollm.score_options(_prompts(smollm), OPTIONS)
    assert len(results) == 3
    for result in results:
        assert list(result.probabilities) == OPTIONS
        assert math.isclose(sum(result.probabilities.values()), 1.0, rel_tol=1e-9)
        assert 0.0 < result.valid_mass <= 1.0


def test_prefix_reuse_matches_full_pass(smollm):  # type: ignore[no-untyped-def]
    prompts = _prompts(smollm)
    shared = os.path.commonprefix(prompts)
    reused = smollm.score_options(prompts, OPTIONS, shared_prefix=shared)
    smollm.reuse_prefix = False
    try:
        plain = smollm.score_options(prompts, OPTIONS, shared_prefix=shared)
    finally:
        smollm.reuse_prefix = True
    for a, b in zip(reused, plain):
        for option in OPTIONS:
            assert a.probabilities[option] == pytest.approx(b.probabilities[option], abs=1e-4)
        assert a.valid_mass == pytest.approx(b.valid_mass, rel=1e-3)


def test_batching_matches_single_prompts(smollm):  # type: ignore[no-untyped-def]
    prompts = _prompts(smollm)
    batched = smollm.score_options(prompts, OPTIONS)
    single = [smollm.score_options([p], OPTIONS)[0] for p in prompts]
    for a, b in zip(batched, single):
        assert a.probabilities["1"] == pytest.approx(b.probabilities["1"], abs=1e-4)


def test_multi_token_labels_scored_as_continuation(smollm):  # type: ignore[no-untyped-def]
    prompt = _prompts(smollm)[0]
    result = smollm.score_options([prompt], ["not like me", "very much like me"])[0]
    assert result.method == "logprob-continuation"
    assert math.isclose(sum(result.probabilities.values()), 1.0, rel_tol=1e-9)


def test_generate_greedy_is_repeatable(smollm):  # type: ignore[no-untyped-def]
    prompts = _prompts(smollm)[:2]
    first = smollm.generate(prompts, Decoding(max_new_tokens=6, greedy=True))
    second = smollm.generate(prompts, Decoding(max_new_tokens=6, greedy=True))
    assert first == second
    assert all(isinstance(text, str) and text for text in first)


def test_describe_has_manifest_fields(smollm):  # type: ignore[no-untyped-def]
    info = smollm.describe()
    assert info["model_id"] == "smollm2-135m-instruct"
    assert info["dtype"] == "float32"
    assert len(info["chat_template_sha256"]) == 64


def test_identity_drops_parameter_count(smollm):  # type: ignore[no-untyped-def]
    identity = smollm.identity()
    assert "num_parameters" not in identity
    assert identity == {k: v for k, v in smollm.describe().items() if k != "num_parameters"}


def test_find_backend_lookup() -> None:
    spec = find_backend("transformers")
    assert spec is not None
    assert spec.target == "psyval.respondents.transformers_backend:TransformersBackend"
    assert find_backend("gpt") is None


def test_missing_folder_is_one_line_error(tmp_path):  # type: ignore[no-untyped-def]
    with pytest.raises(BackendUnavailableError, match="not found"):
        load_backend("transformers", model=str(tmp_path / "nope" / "model"))


def test_hub_id_offline_is_one_line_error():  # type: ignore[no-untyped-def]
    with pytest.raises(BackendUnavailableError, match="cannot load model 'psyval-test/absent-model'"):
        load_backend("transformers", model="psyval-test/absent-model")


def test_invalid_dtype_rejected():  # type: ignore[no-untyped-def]
    with pytest.raises(PsyvalError, match="invalid dtype 'int3'"):
        load_backend("transformers", dtype="int3")


def test_cached_tokenizer_splits_digits(smollm):  # type: ignore[no-untyped-def]
    # SmolLM2's GGUF file declares llama.cpp's "smollm" pre-tokenizer, which
    # splits each digit off before the byte-level step, so "\n\n" before a
    # digit stays one token. transformers' GGUF loader alone gives "\n", "\n".
    from psyval.respondents.model_cache import DEFAULT_MODEL, embedded_gguf_path
    from psyval.respondents.openai_tokenizer import gguf_pretokenizer_type

    assert gguf_pretokenizer_type(embedded_gguf_path(DEFAULT_MODEL)) == "smollm"
    tokenizer = smollm.tokenizer
    ids = tokenizer(".\n\n1", add_special_tokens=False)["input_ids"]
    assert tokenizer.convert_ids_to_tokens(ids) == [".", "ĊĊ", "1"]
    year = tokenizer(" 2024", add_special_tokens=False)["input_ids"]
    assert tokenizer.convert_ids_to_tokens(year) == ["Ġ", "2", "0", "2", "4"]


@pytest.mark.parametrize("content", [b"junk\n", b"GGUF\x03\x00\x00\x00" + b"\x01" * 20])
def test_corrupt_gguf_is_one_line_error(tmp_path, content):  # type: ignore[no-untyped-def]
    from psyval.respondents.model_cache import resolve_model

    bad = tmp_path / "bad.gguf"
    bad.write_bytes(content)
    with pytest.raises(BackendUnavailableError, match="is not a readable GGUF file .*pass a complete .gguf file"):
        resolve_model(str(bad))


def test_custom_code_folder_suggests_trust_flag(tmp_path):  # type: ignore[no-untyped-def]
    import json

    # The auto_map makes transformers want to import custom.py, which this
    # test never runs because trust_remote_code stays off.
    config = {
        "model_type": "customllama",
        "auto_map": {"AutoConfig": "custom.Config", "AutoModelForCausalLM": "custom.Model"},
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    tokenizer_config = {"auto_map": {"AutoTokenizer": ["custom.Tokenizer", None]}}
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(tokenizer_config))
    (tmp_path / "custom.py").write_text("raise SystemExit('custom code ran')\n")
    with pytest.raises(BackendUnavailableError, match="pass --trust-remote-code if you trust this code"):
        load_backend("transformers", model=str(tmp_path))


def test_unreachable_hub_fails_fast(monkeypatch):  # type: ignore[no-untyped-def]
    import time

    from huggingface_hub import constants
    from llama_server import free_port

    endpoint = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    start = time.monotonic()
    with pytest.raises(BackendUnavailableError) as caught:
        load_backend("transformers", model="psyval-test/absent-model")
    message = str(caught.value)
    assert time.monotonic() - start < 10
    assert f"not in the local hub cache and {endpoint} cannot be reached" in message
    assert "\n" not in message


def test_unavailable_device_rejected_before_loading(monkeypatch):  # type: ignore[no-untyped-def]
    import torch

    from psyval.respondents.transformers_backend import TransformersBackend

    monkeypatch.setattr(torch.version, "cuda", None)
    with pytest.raises(PsyvalError, match="invalid device 'cuda': this torch build has no CUDA; use cpu"):
        TransformersBackend(model="/nonexistent/model", device="cuda")
    with pytest.raises(PsyvalError, match="invalid device 'toaster'; use cpu, cuda, cuda:N or mps"):
        TransformersBackend(model="/nonexistent/model", device="toaster")
    monkeypatch.setattr(torch.version, "cuda", "12.4")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(PsyvalError, match="invalid device 'cuda:7': this machine has 1 CUDA devices"):
        TransformersBackend(model="/nonexistent/model", device="cuda:7")
