"""Benchmark the survey's answering methods on the default model, all in one run.

Three ways of answering the same 57 prompts of the PVQ-RR-style form:

* ``logprob``: psyval's method, batched, logits only at the answer position,
  with the key/value cache of the shared prompt prefix reused across items;
* ``logprob-no-reuse``: the same without prefix reuse;
* ``generate-per-item``: the usual questionnaire harness, one item per call,
  greedy decoding of at most 8 new tokens, then parsing the answer.

It reports items per second, the speed-up over the per-item baseline, and the
achieved model FLOP rate of the logprob runs as a fraction of a torch matmul
rate measured in the same run. Methods are interleaved over the repeats and
the median is reported, so that load from other processes hits them alike.

Usage::

    python benchmarks/bench_survey.py [--repeats 3] [--items 57] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from psyval.instruments import load_instrument  # noqa: E402
from psyval.respondents.base import Decoding  # noqa: E402
from psyval.respondents.transformers_backend import TransformersBackend  # noqa: E402
from psyval.survey.answering import answer_items  # noqa: E402
from psyval.survey.parsing import parse_answer  # noqa: E402
from psyval.survey.prompts import item_messages, make_variants  # noqa: E402


def matmul_rate(size: int = 1024, seconds: float = 2.0) -> float:
    """Return the float32 FLOP/s of repeated ``size x size`` matrix products."""
    a = torch.randn(size, size)
    b = torch.randn(size, size)
    torch.matmul(a, b)  # warm-up
    count = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        torch.matmul(a, b)
        count += 1
    elapsed = time.perf_counter() - start
    return 2 * size**3 * count / elapsed


def forward_flops(config: Any, tokens: int, context_start: int, head_positions: int) -> float:
    """Count the multiply-add FLOPs (2 per MAC) of a Llama-style forward pass.

    ``tokens`` new tokens run after ``context_start`` cached ones; attention
    cost grows with each token's context length. The output head runs at
    ``head_positions`` positions only.
    """
    d = config.hidden_size
    heads = config.num_attention_heads
    kv_heads = getattr(config, "num_key_value_heads", heads)
    head_dim = getattr(config, "head_dim", None) or d // heads
    ffn = config.intermediate_size
    layers = config.num_hidden_layers
    linear = 2 * (d * heads * head_dim + 2 * d * kv_heads * head_dim + heads * head_dim * d + 3 * d * ffn)
    contexts = sum(context_start + i + 1 for i in range(tokens))
    attention = 2 * 2 * heads * head_dim * contexts
    return layers * (linear * tokens + attention) + 2 * d * config.vocab_size * head_positions


def logprob_flops(backend: TransformersBackend, prompts: list[str]) -> float:
    """Useful FLOPs of one batched logprob pass with the prefix computed once."""
    encoded = [backend.encode(p) for p in prompts]
    shared = os.path.commonprefix(encoded)
    prefix = len(shared) if backend.reuse_prefix else 0
    total = forward_flops(backend.model.config, prefix, 0, 0) if prefix else 0.0
    for ids in encoded:
        total += forward_flops(backend.model.config, len(ids) - prefix, prefix, 1)
    return total


def run_logprob(backend: TransformersBackend, instrument: Any, reuse: bool) -> float:
    backend.reuse_prefix = reuse
    variants = make_variants(instrument, 1)
    start = time.perf_counter()
    answer_items(backend, instrument, instrument.items, variants)
    return time.perf_counter() - start


def run_generate_per_item(backend: TransformersBackend, instrument: Any, prompts: list[str]) -> tuple[float, int]:
    decoding = Decoding(max_new_tokens=8, greedy=True)
    parsed = 0
    start = time.perf_counter()
    for prompt in prompts:
        text = backend.generate([prompt], decoding)[0]
        parsed += parse_answer(text, instrument.scale.points, instrument.scale.labels).status == "ok"
    return time.perf_counter() - start, parsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each method (median reported)")
    parser.add_argument("--items", type=int, default=57, help="number of items of the 57-item form to use")
    parser.add_argument("--batch-size", type=int, default=32, help="prompts per forward pass (the backend default is 32)")
    parser.add_argument(
        "--threads", type=int, default=None,
        help="torch intra-op threads (default: torch's choice); 1 is steadier on a machine shared with other jobs",
    )
    parser.add_argument("--json", dest="json_path", default=None, help="also write the results to this JSON file")
    args = parser.parse_args(argv)

    import warnings

    warnings.simplefilter("ignore")
    if args.threads:
        torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    backend = TransformersBackend(batch_size=args.batch_size)
    instrument = load_instrument("pvq-rr-style")
    instrument = instrument.subset([item.id for item in instrument.items[: args.items]])
    variant = make_variants(instrument, 1)[0]
    prompts = [backend.render(item_messages(instrument, item, variant)) for item in instrument.items]
    n = len(prompts)

    # Warm-up: one pass of each method on a few items.
    run_logprob(backend, instrument.subset([i.id for i in instrument.items[:4]]), True)
    backend.generate(prompts[:1], Decoding(max_new_tokens=8, greedy=True))

    times: dict[str, list[float]] = {"logprob": [], "logprob-no-reuse": [], "generate-per-item": []}
    matmul: list[float] = []
    parsed = 0
    for repeat in range(args.repeats):
        matmul.append(matmul_rate())
        times["logprob"].append(run_logprob(backend, instrument, True))
        times["logprob-no-reuse"].append(run_logprob(backend, instrument, False))
        seconds, parsed = run_generate_per_item(backend, instrument, prompts)
        times["generate-per-item"].append(seconds)
        print(f"repeat {repeat + 1}/{args.repeats}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()), file=sys.stderr)
    load_after = os.getloadavg()

    rate = statistics.median(matmul)
    medians = {name: statistics.median(values) for name, values in times.items()}
    baseline = n / medians["generate-per-item"]
    flops = {}
    for name, reuse in (("logprob", True), ("logprob-no-reuse", False)):
        backend.reuse_prefix = reuse
        flops[name] = logprob_flops(backend, prompts)

    rows = []
    for name, seconds in medians.items():
        row: dict[str, Any] = {
            "method": name, "items": n, "seconds": seconds, "items_per_s": n / seconds,
            "speedup_vs_generate": (n / seconds) / baseline,
        }
        if name in flops:
            row["gflop"] = flops[name] / 1e9
            row["gflop_per_s"] = flops[name] / seconds / 1e9
            row["fraction_of_matmul"] = flops[name] / seconds / rate
        rows.append(row)

    print(f"Survey benchmark: {n} items of pvq-rr-style, smollm2-135m-instruct, float32, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, median of {args.repeats}")
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; load average "
          f"{load_before[0]:.1f} before, {load_after[0]:.1f} after")
    print(f"Matmul rate (1024x1024 float32): {rate / 1e9:.1f} GFLOP/s")
    print(f"Generate-per-item answers parsed: {parsed} of {n}")
    print()
    print(f"| {'method':<18} | {'items/s':>8} | {'x generate':>10} | {'GFLOP':>7} | {'GFLOP/s':>8} | {'of matmul':>9} |")
    print(f"|{'-' * 20}|{'-' * 10}|{'-' * 12}|{'-' * 9}|{'-' * 10}|{'-' * 11}|")
    for row in rows:
        extra = (
            f"{row['gflop']:>7.1f} | {row['gflop_per_s']:>8.1f} | {row['fraction_of_matmul']:>9.2f}"
            if "gflop" in row else f"{'':>7} | {'':>8} | {'':>9}"
        )
        print(f"| {row['method']:<18} | {row['items_per_s']:>8.2f} | {row['speedup_vs_generate']:>10.1f} | {extra} |")
    if args.json_path:
        with open(args.json_path, "w") as handle:
            json.dump({"rows": rows, "matmul_flop_per_s": rate, "load": [load_before, load_after]}, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
