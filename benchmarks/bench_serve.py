"""Benchmark the server backend against llama-cpp-python's server, all in one run.

The script starts ``python -m llama_cpp.server`` on 127.0.0.1 with the GGUF
file of the embedded SmolLM2 default and measures:

* survey items per second (PVQ-style form, ``logprob`` answering) through the
  server at concurrency 1 and 4, and in-process with the transformers backend;
* probe tokens per second (chat generation of the ``psyval`` probe set)
  through the server at concurrency 1 and 4, and in-process;
* the overhead per request: the same cached one-token completion with top-20
  log-probabilities, through the server and through llama-cpp-python's
  ``Llama`` object in this process. Both run the same engine and weights, so
  the difference is the cost of HTTP, JSON and the server's request handling.

llama-cpp-python's server runs one model instance and handles one completion
at a time, so concurrency only overlaps the client-side and HTTP work. A
server that batches requests (vLLM) gains far more from it.

Usage::

    python benchmarks/bench_serve.py [--items 40] [--probes 11] [--overhead-requests 20] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from llama_server import LlamaServer  # noqa: E402

from psyval.instruments import load_instrument  # noqa: E402
from psyval.probes import load_probe_set  # noqa: E402
from psyval.probes.generation import rendered_prompts  # noqa: E402
from psyval.respondents.base import Backend, Decoding  # noqa: E402
from psyval.respondents.openai_backend import OpenAIBackend  # noqa: E402
from psyval.respondents.transformers_backend import TransformersBackend  # noqa: E402
from psyval.survey.answering import answer_items  # noqa: E402
from psyval.survey.prompts import item_messages, make_variants  # noqa: E402

#: llama.cpp threads of the server and of the in-process llama_cpp model.
THREADS = 1
PROBE_DECODING = Decoding(max_new_tokens=64, temperature=0.1, top_p=0.75, seed=0)


def survey_rate(backend: Backend, items: int) -> tuple[float, float]:
    """Answer the first ``items`` items; return (items per second, seconds)."""
    instrument = load_instrument("pvq-40-style")
    chosen = instrument.items[:items]
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # low option mass is expected from a 135M model
        answer_items(backend, instrument, chosen, make_variants(instrument, 1))
    elapsed = time.perf_counter() - start
    return len(chosen) / elapsed, elapsed


def probe_prompts(backend: Backend, count: int) -> list[str]:
    probes = list(load_probe_set("psyval"))[:count]
    return rendered_prompts(backend, probes)


def server_probe_rate(backend: OpenAIBackend, prompts: list[str]) -> tuple[float, int, float]:
    """Generate the probe answers; return (new tokens per second, new tokens, seconds)."""
    before = backend.usage["completion_tokens"]
    start = time.perf_counter()
    backend.generate(prompts, PROBE_DECODING)
    elapsed = time.perf_counter() - start
    tokens = backend.usage["completion_tokens"] - before
    return tokens / elapsed, tokens, elapsed


def local_probe_rate(backend: TransformersBackend, prompts: list[str]) -> tuple[float, int, float]:
    start = time.perf_counter()
    texts = backend.generate(prompts, PROBE_DECODING)
    elapsed = time.perf_counter() - start
    tokens = sum(len(backend.tokenizer(text, add_special_tokens=False)["input_ids"]) for text in texts)
    return tokens / elapsed, tokens, elapsed


def request_overhead(server: LlamaServer, requests: int) -> dict[str, float]:
    """Return median seconds of one scoring request via HTTP and via in-process llama_cpp.

    Every request scores the same rendered survey prompt, so both sides find
    the prompt in their key/value cache and evaluate about one token. The
    remaining difference is the cost of HTTP, JSON and request handling.
    """
    from llama_cpp import Llama

    backend = OpenAIBackend(base_url=server.base_url, concurrency=1)
    instrument = load_instrument("pvq-40-style")
    variant = make_variants(instrument, 1)[0]
    messages = item_messages(instrument, instrument.items[0], variant, None)
    prompt = backend.render(messages, instrument.prompts.answer_prefix)
    body = {"model": backend.model, "prompt": prompt, "max_tokens": 1, "temperature": 0.0, "logprobs": 20, "seed": 0}
    llama = Llama(
        str(server.model_path), n_ctx=server.context_tokens, n_threads=THREADS, n_threads_batch=THREADS,
        logits_all=True, seed=0, verbose=False,
    )
    local_times: list[float] = []
    http_times: list[float] = []
    listing_times: list[float] = []
    # Interleaved, so load from other processes hits both alike. The client is
    # called directly because the backend would answer repeats from its cache.
    for _ in range(requests):
        start = time.perf_counter()
        llama.create_completion(prompt, max_tokens=1, temperature=0.0, logprobs=20, seed=0)
        local_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        backend.client.post("completions", body)
        http_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        backend.client.get("models")
        listing_times.append(time.perf_counter() - start)
    backend.close()
    local = statistics.median(local_times)
    http = statistics.median(http_times)
    return {
        "in_process_s": local,
        "server_s": http,
        "overhead_s": http - local,
        "models_round_trip_s": statistics.median(listing_times),
        "requests": requests,
    }


def load_average() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=40, help="Survey items per run (the form has 40).")
    parser.add_argument("--probes", type=int, default=11, help="Probe prompts per run.")
    parser.add_argument("--overhead-requests", type=int, default=20, help="Requests in the overhead comparison.")
    parser.add_argument("--json", type=Path, default=None, help="Also write the figures to this JSON file.")
    args = parser.parse_args()

    figures: dict[str, Any] = {"load_average_start": load_average()}
    with LlamaServer(threads=THREADS) as server:
        # One warm-up survey item, so page faults and the first prompt's
        # prefix evaluation do not count against concurrency 1.
        warm = OpenAIBackend(base_url=server.base_url, concurrency=1)
        survey_rate(warm, 1)
        warm.close()
        for concurrency in (1, 4):
            backend = OpenAIBackend(base_url=server.base_url, concurrency=concurrency)
            rate, seconds = survey_rate(backend, args.items)
            figures[f"survey_server_c{concurrency}"] = {"items_per_s": rate, "seconds": seconds}
            prompts = probe_prompts(backend, args.probes)
            tokens_rate, tokens, seconds = server_probe_rate(backend, prompts)
            figures[f"probe_server_c{concurrency}"] = {
                "tokens_per_s": tokens_rate, "tokens": tokens, "seconds": seconds,
            }
            backend.close()
        figures["overhead"] = request_overhead(server, args.overhead_requests)

    local = TransformersBackend()
    rate, seconds = survey_rate(local, args.items)
    figures["survey_in_process"] = {"items_per_s": rate, "seconds": seconds}
    tokens_rate, tokens, seconds = local_probe_rate(local, probe_prompts(local, args.probes))
    figures["probe_in_process"] = {"tokens_per_s": tokens_rate, "tokens": tokens, "seconds": seconds}
    figures["load_average_end"] = load_average()

    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, server threads {THREADS}")
    print(f"load average (1, 5, 15 min) at start {figures['load_average_start']}, at end {figures['load_average_end']}")
    print("")
    print("| run | survey items/s | probe tokens/s |")
    print("|---|---|---|")
    for label, key in (("server, concurrency 1", "server_c1"), ("server, concurrency 4", "server_c4"),
                       ("in-process transformers", "in_process")):
        survey = figures[f"survey_{key}"]["items_per_s"]
        probe = figures[f"probe_{key}"]["tokens_per_s"]
        print(f"| {label} | {survey:.2f} | {probe:.1f} |")
    c1, c4 = figures["survey_server_c1"]["items_per_s"], figures["survey_server_c4"]["items_per_s"]
    p1, p4 = figures["probe_server_c1"]["tokens_per_s"], figures["probe_server_c4"]["tokens_per_s"]
    print(f"\nconcurrency 4 / 1: survey {c4 / c1:.2f}x, probes {p4 / p1:.2f}x")
    overhead = figures["overhead"]
    print(
        f"one scoring request, median of {overhead['requests']}: in-process llama_cpp "
        f"{overhead['in_process_s'] * 1000:.1f} ms, through the server {overhead['server_s'] * 1000:.1f} ms, "
        f"overhead {overhead['overhead_s'] * 1000:.1f} ms per request; "
        f"GET /v1/models round trip {overhead['models_round_trip_s'] * 1000:.1f} ms"
    )
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
