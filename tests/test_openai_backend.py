"""OpenAIBackend: retry logic against a scripted mock, everything else against a real server.

The mock server (tests/openai_mock.py) only plays protocol cases that a real
server cannot produce on demand: HTTP 429, 5xx, hanging responses and missing
log-probabilities. Scoring, generation, agreement with the in-process backend
and the fault cases run against llama-cpp-python's server on 127.0.0.1,
serving the same SmolLM2 GGUF file as the in-process default. One agreement
test also serves a float32 copy of that file, which contains exactly the weights
the in-process backend runs.
"""

from __future__ import annotations

import math
import random
import time
import warnings

import numpy as np
import pytest
from openai_mock import MockServer, Reply, completion

from psyval.errors import BackendUnavailableError, PsyvalError, UnparsedAnswerWarning
from psyval.respondents.base import Decoding
from psyval.respondents.http_client import JsonClient, RetryPolicy, ServerRequestError
from psyval.respondents.openai_backend import (
    GenerateFallbackWarning,
    OpenAIBackend,
    parse_option,
)

OPTIONS = ["1", "2", "3", "4", "5", "6"]
SYSTEM = {"role": "system", "content": "You fill in questionnaires about yourself."}
QUESTION = (
    "Here is a description of a person: {text}\n"
    "How much is this person like you? Reply with one number from 1 (not like me at all) "
    "to 6 (very much like me)."
)
ITEMS = [
    "Thinking up new ideas and being creative is important to them.",
    "Being rich and having expensive things matters to them.",
    "They think it is important that every person is treated equally.",
    "Living in secure surroundings is important to them.",
    "They like surprises and always look for new things to do.",
    "Being very successful and having people recognise it matters to them.",
]


@pytest.fixture
def mock():  # type: ignore[no-untyped-def]
    server = MockServer()
    yield server
    server.close()


def _client(mock: MockServer, sleeps: list[float], **policy: float) -> JsonClient:
    return JsonClient(
        mock.base_url,
        timeout=float(policy.pop("timeout", 5.0)),
        retry=RetryPolicy(**policy),  # type: ignore[arg-type]
        sleep=sleeps.append,
        rng=random.Random(0),
    )


# ---------------------------------------------------------------- retry policy (mock)


def test_delay_stays_within_jitter_cap() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=3.0)
    rng = random.Random(1)
    for retry in range(8):
        cap = min(3.0, 0.5 * 2**retry)  # 0.5, 1, 2, 3, 3, ...
        draws = [policy.delay(retry, rng) for _ in range(200)]
        assert min(draws) >= 0.0
        assert max(draws) <= cap
        # Full jitter spreads the waits: the draws must not all sit near one value.
        assert max(draws) - min(draws) > cap / 2


def test_server_error_is_retried(mock: MockServer) -> None:
    mock.script = [Reply(503, {"error": {"message": "overloaded"}}), Reply(500, "boom"), Reply(200, {"ok": 1})]
    sleeps: list[float] = []
    client = _client(mock, sleeps, max_retries=4, base_delay=0.01)
    assert client.post("completions", {"x": 1}) == {"ok": 1}
    assert len(mock.requests) == 3
    assert client.retries_done == 2
    assert len(sleeps) == 2
    assert sleeps[0] <= 0.01
    assert sleeps[1] <= 0.02


def test_rate_limit_honours_retry_after(mock: MockServer) -> None:
    mock.script = [Reply(429, {"error": {"message": "slow down"}}, headers={"Retry-After": "2"})]
    mock.default = Reply(200, {"ok": 1})
    sleeps: list[float] = []
    client = _client(mock, sleeps, max_retries=2, base_delay=0.01, max_delay=5.0)
    assert client.post("completions", {}) == {"ok": 1}
    assert sleeps == [2.0]


def test_retry_after_is_capped(mock: MockServer) -> None:
    mock.script = [Reply(429, {}, headers={"Retry-After": "3600"})]
    mock.default = Reply(200, {"ok": 1})
    sleeps: list[float] = []
    _client(mock, sleeps, max_retries=1, base_delay=0.01, max_delay=4.0).post("completions", {})
    assert sleeps == [4.0]


def test_retries_exhausted_names_url(mock: MockServer) -> None:
    mock.default = Reply(502, {"error": {"message": "bad gateway"}})
    sleeps: list[float] = []
    client = _client(mock, sleeps, max_retries=3, base_delay=0.01)
    with pytest.raises(BackendUnavailableError) as caught:
        client.post("completions", {})
    message = str(caught.value)
    assert len(mock.requests) == 4
    assert f"{mock.base_url}/completions" in message
    assert "after 4 attempt(s)" in message
    assert "bad gateway" in message
    assert "\n" not in message


def test_client_error_fails_without_retry(mock: MockServer) -> None:
    mock.default = Reply(400, {"error": {"message": "prompt is too long for this model"}})
    sleeps: list[float] = []
    client = _client(mock, sleeps, max_retries=5, base_delay=0.01)
    with pytest.raises(ServerRequestError) as caught:
        client.post("completions", {})
    assert len(mock.requests) == 1
    assert sleeps == []
    assert caught.value.status == 400
    assert caught.value.server_message == "prompt is too long for this model"
    assert "HTTP 400: prompt is too long for this model" in str(caught.value)


def test_fastapi_detail_is_quoted(mock: MockServer) -> None:
    mock.default = Reply(422, {"detail": [{"loc": ["body", "prompt"], "msg": "field required"}]})
    with pytest.raises(ServerRequestError) as caught:
        _client(mock, [], max_retries=2).post("completions", {})
    assert "field required" in caught.value.server_message


def test_timeout_is_retried_then_reported(mock: MockServer) -> None:
    mock.default = Reply(200, {"ok": 1}, delay=1.0)
    sleeps: list[float] = []
    client = _client(mock, sleeps, max_retries=1, base_delay=0.01, timeout=0.2)
    with pytest.raises(BackendUnavailableError, match=r"timed out after 0\.2 s"):
        client.post("completions", {})
    assert len(mock.requests) == 2


def test_non_json_body_is_reported(mock: MockServer) -> None:
    mock.default = Reply(200, b"<html>not an API</html>")
    with pytest.raises(BackendUnavailableError, match="not JSON"):
        _client(mock, [], max_retries=0).post("completions", {})


# ---------------------------------------------------------------- backend on the mock


def _mock_backend(mock: MockServer, **options: object) -> OpenAIBackend:
    settings: dict[str, object] = {
        "base_url": mock.base_url,
        "model": "smollm2-135m-instruct",
        "max_retries": 1,
        "retry_base_delay": 0.01,
        "concurrency": 2,
    }
    settings.update(options)
    return OpenAIBackend(**settings)  # type: ignore[arg-type]


def test_api_key_sent_not_described(mock: MockServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSYVAL_TEST_KEY", "sk-test-secret-123")
    backend = _mock_backend(mock, api_key_env="PSYVAL_TEST_KEY")
    mock.default = Reply(200, completion("hello"))
    backend.generate(["plain text prompt"], Decoding(max_new_tokens=4))
    assert mock.requests[0]["authorization"] == "Bearer sk-test-secret-123"
    description = repr(backend.describe())
    assert "sk-test-secret-123" not in description
    assert backend.describe()["api_key_env"] == "PSYVAL_TEST_KEY"


def test_missing_api_key_variable(mock: MockServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PSYVAL_TEST_MISSING_KEY", raising=False)
    with pytest.raises(PsyvalError, match="'PSYVAL_TEST_MISSING_KEY'"):
        _mock_backend(mock, api_key_env="PSYVAL_TEST_MISSING_KEY")


def test_invalid_settings_rejected(mock: MockServer) -> None:
    for options, fragment in [
        ({"concurrency": 0}, "invalid concurrency 0"),
        ({"timeout": -1.0}, "invalid timeout -1.0"),
        ({"logit_bias": "sometimes"}, "invalid logit_bias 'sometimes'"),
        ({"base_url": "localhost:8000"}, "invalid base URL 'localhost:8000' \\(--base-url, or base_url in"),
        ({"base_url": "http://127.0.0.1:9/v1#part"}, "invalid base URL 'http://127.0.0.1:9/v1#...'.*a fragment"),
        ({"concurrency": "four"}, "invalid concurrency 'four' \\(str\\); use a positive integer"),
        ({"timeout": "fast"}, "invalid timeout 'fast' \\(str\\)"),
        ({"base_url": 8000}, "invalid base_url 8000 \\(int\\)"),
        ({"max_retries": True}, "invalid max_retries True \\(bool\\)"),
        ({"top_logprobs": 100000}, "invalid top_logprobs 100000; use an integer from 1 to 20"),
        ({"top_logprobs": 0}, "invalid top_logprobs 0"),
        ({"retry_base_delay": -2}, "invalid retry_base_delay -2; use a number of seconds >= 0"),
    ]:
        with pytest.raises(PsyvalError, match=fragment):
            OpenAIBackend(**{"base_url": mock.base_url, "model": "m", **options})  # type: ignore[arg-type]


def test_request_cache_path_checked(mock: MockServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PsyvalError, match=f"request cache '{tmp_path}' is a folder"):
        _mock_backend(mock, request_cache=tmp_path)
    with pytest.raises(PsyvalError, match="folder '.*missing' does not exist"):
        _mock_backend(mock, request_cache=tmp_path / "missing" / "requests.jsonl")
    assert mock.requests == []


def test_model_read_from_server(mock: MockServer) -> None:
    mock.models = ["SmolLM2-135M-Instruct.Q4_1.gguf"]
    backend = OpenAIBackend(base_url=mock.base_url)
    assert backend.model_id == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert backend.tokenizer_source == "smollm2-135m-instruct"


def test_ambiguous_model_list_rejected(mock: MockServer) -> None:
    mock.models = ["a", "b"]
    with pytest.raises(PsyvalError, match="lists 2 models"):
        OpenAIBackend(base_url=mock.base_url)


def test_missing_options_fall_back_to_generation(mock: MockServer) -> None:
    backend = _mock_backend(mock)
    prompt = backend.render([SYSTEM, {"role": "user", "content": "Rate it."}], answer_prefix="Answer:")
    # Top log-probabilities without any digit, and a server that ignores
    # logit_bias: the backend must parse the generated text instead.
    words = {" I": -0.5, " This": -1.0}
    mock.script = [Reply(200, completion(" I", words)), Reply(200, completion(" I", words))]
    mock.default = Reply(200, completion(" 4, mostly"))
    with pytest.warns(GenerateFallbackWarning, match="generate-fallback"):
        (result,) = backend.score_options([prompt], OPTIONS)
    assert result.method == "generate-fallback"
    assert result.probabilities["4"] == 1.0
    assert sum(result.probabilities.values()) == 1.0
    assert result.extra["generated"] == " 4, mostly"
    description = backend.describe()
    assert description["generate_fallback_used"] is True
    assert description["answer_methods"] == {"generate-fallback": 1}
    assert "logit_bias" in mock.requests[1]["body"]
    # The failed bias request is not repeated for later prompts.
    mock.requests.clear()
    mock.script = [Reply(200, completion(" I", words))]
    other = backend.render([SYSTEM, {"role": "user", "content": "Rate this."}], answer_prefix="Answer:")
    with pytest.warns(GenerateFallbackWarning):
        backend.score_options([other], OPTIONS)
    assert ["logit_bias" in r["body"] for r in mock.requests] == [False, False]


def test_finished_requests_not_resent(mock: MockServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cache = tmp_path / "requests.jsonl"
    mock.default = Reply(200, completion("text"))
    prompts = ["first prompt", "second prompt"]
    first = _mock_backend(mock, request_cache=cache)
    first.generate(prompts, Decoding(max_new_tokens=2))
    first.generate(prompts, Decoding(max_new_tokens=2))
    assert len(mock.requests) == 2
    assert first.cache_hits == 2
    # A line cut short by a crash is skipped, and a new backend reads the rest.
    with cache.open("a") as handle:
        handle.write('{"key": "abc", "respo')
    second = _mock_backend(mock, request_cache=cache)
    assert second.generate(prompts + ["third prompt"], Decoding(max_new_tokens=2)) == ["text"] * 3
    assert len(mock.requests) == 3
    assert mock.requests[-1]["body"]["prompt"] == "third prompt"
    # Another seed is another request.
    second.generate(prompts[:1], Decoding(max_new_tokens=2, seed=7))
    assert len(mock.requests) == 4


def test_request_cache_from_environment(mock: MockServer, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    cache = tmp_path / "from-env.jsonl"
    monkeypatch.setenv("PSYVAL_REQUEST_CACHE", str(cache))
    mock.default = Reply(200, completion("text"))
    backend = _mock_backend(mock)
    backend.generate(["a prompt"], Decoding(max_new_tokens=2))
    assert backend.describe()["request_cache"] == str(cache)
    assert len(cache.read_text().splitlines()) == 1
    _mock_backend(mock).generate(["a prompt"], Decoding(max_new_tokens=2))
    assert len(mock.requests) == 1


def test_unparsed_fallback_is_missing(mock: MockServer) -> None:
    backend = _mock_backend(mock, logit_bias="never")
    prompt = backend.render([SYSTEM, {"role": "user", "content": "Rate it."}], answer_prefix="Answer:")
    mock.script = [Reply(200, completion(" I", {" I": -0.1}))]
    mock.default = Reply(200, completion(" I would rather not say"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (result,) = backend.score_options([prompt], OPTIONS)
    assert any(issubclass(w.category, UnparsedAnswerWarning) for w in caught)
    assert any(issubclass(w.category, GenerateFallbackWarning) for w in caught)
    assert result.valid_mass == 0.0
    assert all(math.isnan(p) for p in result.probabilities.values())


def test_logit_bias_recovers_missing_options(mock: MockServer) -> None:
    backend = _mock_backend(mock)
    prompt = backend.render([SYSTEM, {"role": "user", "content": "Rate it."}], answer_prefix="Answer:")
    partial = {"1": -1.0, "2": -2.0, " I": -0.7}
    biased = {o: -1.0 - 0.5 * k for k, o in enumerate(OPTIONS)}
    mock.script = [Reply(200, completion("1", partial)), Reply(200, completion("1", biased))]
    (result,) = backend.score_options([prompt], OPTIONS)
    assert result.method == "logprob-bias"
    expected = [math.exp(-0.5 * k) for k in range(6)]
    for option, weight in zip(OPTIONS, expected, strict=True):
        assert result.probabilities[option] == pytest.approx(weight / sum(expected), rel=1e-9)
    # The bias hides the full distribution, so only the unbiased options count.
    assert result.valid_mass == pytest.approx(math.exp(-1.0) + math.exp(-2.0), rel=1e-9)
    bias = mock.requests[1]["body"]["logit_bias"]
    assert sorted(bias.values()) == [100.0] * 6


def test_token_ids_prompt_format(mock: MockServer) -> None:
    backend = _mock_backend(mock, prompt_format="token_ids")
    prompt = backend.render([SYSTEM, {"role": "user", "content": "Rate it.\n\n1 = low"}], answer_prefix="Answer: ")
    top = {o: -1.0 - k for k, o in enumerate(OPTIONS)}
    mock.default = Reply(200, completion("1", top))
    (result,) = backend.score_options([prompt], OPTIONS)
    sent = mock.requests[0]["body"]["prompt"]
    assert result.method == "logprob"
    assert sent == backend.encode(prompt)
    assert all(isinstance(token, int) for token in sent)


def test_identity_ignores_request_counters(mock: MockServer) -> None:
    backend = _mock_backend(mock)
    before = backend.identity()
    mock.default = Reply(200, completion("hello"))
    backend.generate(["plain text prompt", "another prompt"], Decoding(max_new_tokens=4))
    assert backend.describe()["requests_sent"] == 2
    assert backend.identity() == before
    assert "base_url" not in before
    assert before["top_logprobs"] == 20


def _study_reply() -> dict[str, object]:
    """Return one reply that serves the completions and the chat endpoint alike."""
    reply = completion(" 3", {str(n): -1.0 - n / 10 for n in range(1, 7)})
    reply["choices"][0]["message"] = {"role": "assistant", "content": "3"}  # type: ignore[index]
    return reply


def test_study_rerun_sends_nothing(mock: MockServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from psyval.study import parse_study
    from psyval.study.runner import run_study

    mock.default = Reply(200, _study_reply())
    study = parse_study(
        {
            "models": [{"label": "served", "backend": "openai", "model": "smollm2-135m-instruct"}],
            "survey": {"method": "logprob", "items_per_unit": 40},
            "conditions": {"profiles": {"named": ["power"]}},
            "probes": {"categories": ["fraud_deception"], "per_category": 1},
            "judge": {"name": "rubric", "model": "same", "options": {"max_new_tokens": 3}},
            "report": False,
        }
    )
    # One backend per run, as in two CLI runs: the first run's survey raises
    # its request counters before the probes are keyed, the second run's does not.
    first_backend = _mock_backend(mock)
    first = run_study(study, tmp_path, backend_loader=lambda model: first_backend, until="join")
    assert first.counts["probes"].computed == 1
    sent = len(mock.requests)
    second_backend = _mock_backend(mock)
    second = run_study(study, tmp_path, backend_loader=lambda model: second_backend, until="join")
    for stage in ("survey", "probes", "judging"):
        assert second.counts[stage].computed == 0, stage
    assert len(mock.requests) == sent


def test_study_run_closes_backends(mock: MockServer, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from psyval.study import parse_study
    from psyval.study.runner import run_study

    closed: list[str] = []
    original_close = OpenAIBackend.close

    def record_close(backend: OpenAIBackend) -> None:
        closed.append(backend.model_id)
        original_close(backend)

    monkeypatch.setattr(OpenAIBackend, "close", record_close)
    mock.default = Reply(200, _study_reply())
    options = {"base_url": mock.base_url, "max_retries": 1, "retry_base_delay": 0.01}
    study = parse_study(
        {
            "models": [{"backend": "openai", "model": "smollm2-135m-instruct", "options": options}],
            "survey": {"method": "logprob", "items_per_unit": 40},
            "conditions": {"profiles": {"named": ["power"]}},
            "report": False,
        }
    )
    run_study(study, tmp_path, until="survey")
    assert closed == ["smollm2-135m-instruct"]


def test_parse_option_cases() -> None:
    assert parse_option("5", OPTIONS) == "5"
    assert parse_option(" I'd say 3.", OPTIONS) == "3"
    assert parse_option("In 2024 I chose 4", OPTIONS) == "4"
    assert parse_option("no digits", OPTIONS) is None
    assert parse_option("10 points", ["1", "10"]) == "10"


def test_concurrency_limits_requests(mock: MockServer) -> None:
    backend = _mock_backend(mock, concurrency=3)
    mock.default = Reply(200, completion("same"), delay=0.1)
    prompts = [f"prompt {i}" for i in range(9)]
    texts = backend.generate(prompts, Decoding(max_new_tokens=2))
    assert texts == ["same"] * 9
    assert sorted(r["body"]["prompt"] for r in mock.requests) == sorted(prompts)
    # Each reply is held 0.1 s, so three workers overlap, and never more than three.
    assert mock.max_in_flight == 3


def test_results_keep_prompt_order(mock: MockServer) -> None:
    backend = _mock_backend(mock, concurrency=4)
    mock.script = [Reply(200, completion(f"answer {i}"), delay=0.05 * (4 - i % 4)) for i in range(8)]
    texts = backend.generate([f"prompt {i}" for i in range(8)], Decoding(max_new_tokens=2))
    # Replies come back out of order; each text must still match its request.
    by_prompt = {r["body"]["prompt"]: i for i, r in enumerate(mock.requests)}
    assert texts == [f"answer {by_prompt[f'prompt {i}']}" for i in range(8)]


# ---------------------------------------------------------------- real llama.cpp server


@pytest.fixture(scope="module")
def served(llama_server):  # type: ignore[no-untyped-def]
    backend = OpenAIBackend(base_url=llama_server.base_url, concurrency=2, max_retries=1, retry_base_delay=0.05)
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def served_survey(served):  # type: ignore[no-untyped-def]
    """The bundled PVQ-style survey answered once through the shared server."""
    from psyval.instruments.loader import load_instrument
    from psyval.survey import run_survey

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # low option mass is expected from a 135M model
        return run_survey(served, load_instrument("pvq-40-style"))


def _item_prompts(backend, answer_prefix: str = "Answer: ") -> list[str]:  # type: ignore[no-untyped-def]
    return [
        backend.render([SYSTEM, {"role": "user", "content": QUESTION.format(text=text)}], answer_prefix)
        for text in ITEMS
    ]


@pytest.mark.slow
def test_render_matches_in_process(served, smollm) -> None:  # type: ignore[no-untyped-def]
    assert _item_prompts(served) == _item_prompts(smollm)
    assert served.describe()["chat_template_sha256"] == smollm.describe()["chat_template_sha256"]


@pytest.mark.slow
def test_tokens_match_server(served, llama_server) -> None:  # type: ignore[no-untyped-def]
    import httpx

    from psyval.instruments.loader import load_instrument
    from psyval.survey.prompts import item_messages, make_variants

    instrument = load_instrument("pvq-40-style")
    variant = make_variants(instrument, 1)[0]
    tokenize = llama_server.base_url.removesuffix("/v1") + "/extras/tokenize"
    for item in instrument.items[:5]:
        prompt = served.render(item_messages(instrument, item, variant, None), instrument.prompts.answer_prefix)
        server_ids = httpx.post(tokenize, json={"input": prompt}, trust_env=False).json()["tokens"]
        assert served.encode(prompt) == server_ids, item.id


@pytest.mark.slow
def test_digits_fill_top_logprobs(served) -> None:  # type: ignore[no-untyped-def]
    results = served.score_options(_item_prompts(served), OPTIONS)
    for result in results:
        assert result.method == "logprob"
        assert math.isclose(sum(result.probabilities.values()), 1.0, rel_tol=1e-9)
        assert 0.5 < result.valid_mass <= 1.0


@pytest.mark.slow
def test_option_scores_match_in_process(served, smollm) -> None:  # type: ignore[no-untyped-def]
    # The server runs the Q4_1 weights directly and the in-process backend
    # their float32 dequantisation, so probabilities differ slightly.
    prompts = _item_prompts(served)
    remote = served.score_options(prompts, OPTIONS)
    local = smollm.score_options(prompts, OPTIONS)
    for served_result, local_result in zip(remote, local, strict=True):
        for option in OPTIONS:
            assert served_result.probabilities[option] == pytest.approx(local_result.probabilities[option], abs=0.05)
        assert served_result.valid_mass == pytest.approx(local_result.valid_mass, abs=0.05)


@pytest.fixture(scope="module")
def local_survey(smollm):  # type: ignore[no-untyped-def]
    """The bundled PVQ-style survey answered once by the in-process default."""
    from psyval.instruments.loader import load_instrument
    from psyval.survey import run_survey

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_survey(smollm, load_instrument("pvq-40-style"))


@pytest.fixture(scope="module")
def float32_served_survey(tmp_path_factory):  # type: ignore[no-untyped-def]
    """The same survey through a server running the in-process float32 weights."""
    from llama_server import LlamaServer, write_float32_gguf

    from psyval.instruments.loader import load_instrument
    from psyval.respondents.model_cache import DEFAULT_MODEL, embedded_gguf_path
    from psyval.survey import run_survey

    folder = tmp_path_factory.mktemp("float32-gguf")
    path = write_float32_gguf(embedded_gguf_path(DEFAULT_MODEL), folder / "SmolLM2-135M-Instruct.F32.gguf")
    with LlamaServer(model_path=path) as server:
        backend = OpenAIBackend(base_url=server.base_url, concurrency=2, max_retries=1, retry_base_delay=0.05)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            survey = run_survey(backend, load_instrument("pvq-40-style"))
        backend.close()
    path.unlink()
    return survey


def _agreement(server, local):  # type: ignore[no-untyped-def]
    """Join two surveys' responses by item; add the expected-value difference."""
    columns = ["item", "variant", "method", "expected", "argmax", "valid_mass"] + [f"p_{k}" for k in range(1, 7)]
    table = server.responses[columns].merge(
        local.responses[columns], on=["item", "variant"], suffixes=("_server", "_local")
    )
    table["abs_diff"] = (table["expected_server"] - table["expected_local"]).abs()
    table["same_answer"] = table["argmax_server"] == table["argmax_local"]
    return table


def _agreement_report(table) -> str:  # type: ignore[no-untyped-def]
    """Return the agreement figures and the items with the largest differences, as text."""
    header = (
        f"items {len(table)}, same most likely answer {table['same_answer'].mean():.1%}, "
        f"max |expected difference| {table['abs_diff'].max():.3f}, mean {table['abs_diff'].mean():.3f}"
    )
    columns = ["item", "expected_server", "expected_local", "argmax_server", "argmax_local", "abs_diff"]
    worst = table.sort_values("abs_diff", ascending=False).head(8)[columns]
    return header + "\n" + worst.to_string(index=False, float_format=lambda x: f"{x:.3f}")


def _check_same_prompts(server, local) -> None:  # type: ignore[no-untyped-def]
    assert server.manifest["model"]["chat_template_sha256"] == local.manifest["model"]["chat_template_sha256"]
    assert server.manifest["model"]["generate_fallback_used"] is False
    assert set(server.responses["method"]) == {"logprob"}


@pytest.mark.slow
def test_agreement_float32_server(float32_served_survey, local_survey) -> None:  # type: ignore[no-untyped-def]
    # The server runs the float32 dequantisation the in-process backend runs,
    # so what remains is the backends themselves: prompt rendering,
    # tokenisation, reading the option log-probabilities and renormalising.
    table = _agreement(float32_served_survey, local_survey)
    print(_agreement_report(table))
    assert len(table) == 40
    _check_same_prompts(float32_served_survey, local_survey)
    assert table["same_answer"].mean() >= 0.9, _agreement_report(table)
    assert table["abs_diff"].max() <= 0.3, _agreement_report(table)


@pytest.mark.slow
def test_agreement_q4_1_server(served_survey, local_survey) -> None:  # type: ignore[no-untyped-def]
    # The shipped file's Q4_1 weights, multiplied with 8-bit activations, move
    # each option probability within the 0.05 that
    # test_option_scores_match_in_process allows. That shifts expected values,
    # and it can flip the most likely answer only where two options nearly tie.
    table = _agreement(served_survey, local_survey)
    print(_agreement_report(table))
    assert len(table) == 40
    _check_same_prompts(served_survey, local_survey)
    assert table["abs_diff"].max() <= 0.3, _agreement_report(table)
    ranked = np.sort(table[[f"p_{k}_local" for k in range(1, 7)]].to_numpy(), axis=1)
    clear_lead = (ranked[:, -1] - ranked[:, -2]) > 0.1
    print(f"items whose most likely answer leads by more than 0.1: {int(clear_lead.sum())}, "
          f"same answer there: {int(table['same_answer'][clear_lead].sum())}")
    assert table["same_answer"][clear_lead].all(), _agreement_report(table)


@pytest.mark.slow
def test_chat_generation_returns_text(served) -> None:  # type: ignore[no-untyped-def]
    prompt = served.render([{"role": "user", "content": "Name one colour."}])
    before = served.usage["completion_tokens"]
    (text,) = served.generate([prompt], Decoding(max_new_tokens=12, seed=3))
    again = OpenAIBackend(base_url=served.base_url).generate([prompt], Decoding(max_new_tokens=12, seed=3))
    assert text.strip()
    assert again == [text]  # same seed, same server: same text
    assert 0 < served.usage["completion_tokens"] - before <= 12


@pytest.mark.slow
def test_overlong_prompt_shows_server_message(served, llama_server) -> None:  # type: ignore[no-untyped-def]
    words = " ".join(["value"] * (llama_server.context_tokens + 50))
    prompt = served.render([{"role": "user", "content": words}], "Answer: ")
    with pytest.raises(ServerRequestError) as caught:
        served.score_options([prompt], OPTIONS)
    message = str(caught.value)
    assert caught.value.status == 400
    assert f"maximum context length is {llama_server.context_tokens} tokens" in message
    assert llama_server.base_url in message
    assert "\n" not in message


@pytest.mark.slow
def test_wrong_port_names_url() -> None:
    from llama_server import free_port

    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(BackendUnavailableError) as caught:
        OpenAIBackend(base_url=url, model="smollm2-135m-instruct")
    message = str(caught.value)
    assert url in message
    assert "connection failed" in message
    assert "--base-url" in message
    assert "\n" not in message


@pytest.mark.slow
def test_crashed_server_survey_resumes(served_survey, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import threading

    from llama_server import LlamaServer

    from psyval.instruments.loader import load_instrument
    from psyval.survey import run_survey

    instrument = load_instrument("pvq-40-style")
    total = len(instrument.items)
    cache = tmp_path / "requests.jsonl"
    server = LlamaServer().start()
    try:
        first = OpenAIBackend(
            base_url=server.base_url, request_cache=cache, concurrency=2, max_retries=1, retry_base_delay=0.05
        )

        def kill_after(requests: int) -> None:
            while server.request_count() < requests:
                time.sleep(0.05)
            server.kill()

        killer = threading.Thread(target=kill_after, args=(total // 3,))
        killer.start()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(BackendUnavailableError, match="connection failed"):
                run_survey(first, instrument)
        killer.join()
        finished = sum(1 for _ in cache.open())
        assert 0 < finished < total

        server.start()
        sent_before = server.request_count()
        resumed = OpenAIBackend(base_url=server.base_url, request_cache=cache, concurrency=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = run_survey(resumed, instrument)
    finally:
        server.stop()
    # Finished requests come from the cache; only the others reach the server.
    assert resumed.describe()["requests_from_cache"] == finished
    assert server.request_count() - sent_before == total - finished
    expected = served_survey.responses.set_index("item")["expected"]
    got = result.responses.set_index("item")["expected"]
    assert (got - expected.loc[got.index]).abs().max() < 1e-9


@pytest.mark.slow
def test_cli_wrong_port_exits_2(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner
    from llama_server import free_port

    from psyval.cli import main

    url = f"http://127.0.0.1:{free_port()}/v1"
    outcome = CliRunner().invoke(
        main, ["survey", "--backend", "openai", "--base-url", url, "--out", str(tmp_path / "out")]
    )
    assert outcome.exit_code == 2
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("psyval: error: cannot reach the server at " + url)
    assert "Traceback" not in outcome.output


@pytest.mark.slow
def test_cli_survey_through_server(llama_server, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import json

    import pandas as pd
    from click.testing import CliRunner

    from psyval.cli import main

    monkeypatch.setenv("PSYVAL_REQUEST_CACHE", str(tmp_path / "requests.jsonl"))
    out = tmp_path / "survey"
    command = [
        "survey", "--backend", "openai", "--base-url", llama_server.base_url, "--concurrency", "2",
        "--out", str(out), "--no-progress",
    ]
    outcome = CliRunner().invoke(main, command)
    assert outcome.exit_code == 0, outcome.output
    responses = pd.read_csv(out / "responses.csv")
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(responses["method"]) == {"logprob"}
    assert manifest["model"]["backend"] == "openai"
    assert manifest["model"]["concurrency"] == 2
    assert len(manifest["model"]["chat_template_sha256"]) == 64
    assert manifest["model"]["requests_sent"] == len(responses)

    # A rerun against the same server and model sends no finished request again.
    sent_before = llama_server.request_count()
    rerun = CliRunner().invoke(main, command)
    assert rerun.exit_code == 0, rerun.output
    rerun_manifest = json.loads((out / "manifest.json").read_text())
    assert llama_server.request_count() == sent_before
    assert rerun_manifest["model"]["requests_sent"] == 0
    # The survey's answer journal in --out returns every answer before a
    # request is built, so the request cache is not consulted.
    assert rerun_manifest["answer_journal"]["reused_answers"] == len(responses)
    assert rerun_manifest["model"]["requests_from_cache"] == 0
    assert pd.read_csv(out / "responses.csv")["expected"].tolist() == responses["expected"].tolist()


@pytest.mark.parametrize(
    ("url", "what"),
    [
        ("http://alice:secret1@127.0.0.1:9/v1", "a user name or password"),
        ("http://127.0.0.1:9/v1?api_key=secret1", "a query string"),
    ],
)
def test_base_url_with_secret_rejected(url: str, what: str) -> None:
    with pytest.raises(PsyvalError) as caught:
        OpenAIBackend(base_url=url, model="m")
    message = str(caught.value)
    assert f"invalid base URL 'http://127.0.0.1:9/v1' (--base-url, or base_url in a study file): it contains {what}" in message
    assert "--api-key-env" in message
    assert "secret1" not in message


def test_api_key_pasted_as_name_not_echoed() -> None:
    with pytest.raises(PsyvalError) as caught:
        OpenAIBackend(model="m", api_key_env="sk-live-Secret42", check_server=False)
    message = str(caught.value)
    assert "is not an environment variable name" in message
    assert "Secret42" not in message


def test_cli_silences_httpx_request_log() -> None:
    import logging

    from click.testing import CliRunner

    from psyval.cli import main

    CliRunner().invoke(main, ["-v", "score", "--help"])
    assert logging.getLogger("httpx").level == logging.WARNING
    assert logging.getLogger("httpcore").level == logging.WARNING
