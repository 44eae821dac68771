"""Compare batched probe generation with one-prompt-at-a-time generation, in one run.

Both modes send the same probes to the default model (SmolLM2-135M-Instruct,
transformers backend, float32, CPU) with the same decoding settings. The
figure of merit is generated tokens per second, counted by re-tokenising each
response, so early stops at end-of-sequence count the same in both modes.

Usage::

    python benchmarks/bench_probe.py [--probes 16] [--batch-size 16] [--max-new-tokens 64] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=16, help="number of harmful probes sent in each mode")
    parser.add_argument("--batch-size", type=int, default=16, help="prompts per generate call in batched mode")
    parser.add_argument("--max-new-tokens", type=int, default=64, help="maximum new tokens per response")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads; 1 avoids thread oversubscription on a shared CPU")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)

    from psyval.probes import generate_responses, load_probe_set
    from psyval.respondents.base import Decoding
    from psyval.respondents.transformers_backend import TransformersBackend

    backend = TransformersBackend(batch_size=args.batch_size)
    probes = load_probe_set("psyval-harm").probes[: args.probes]
    decoding = Decoding(max_new_tokens=args.max_new_tokens, seed=0)

    def count_tokens(texts: list[str]) -> int:
        return sum(len(backend.tokenizer(text, add_special_tokens=False)["input_ids"]) for text in texts)

    # One untimed call warms up kernels and the tokenizer.
    generate_responses(backend, probes[:2], decoding=Decoding(max_new_tokens=4), batch_size=2)

    results = {}
    for mode, batch_size in (("one-at-a-time", 1), ("batched", args.batch_size)):
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        frame = generate_responses(backend, probes, decoding=decoding, batch_size=batch_size)
        elapsed = time.perf_counter() - started
        tokens = count_tokens(list(frame["response"]))
        results[mode] = tokens / elapsed
        print(
            f"{mode:<14} batch {batch_size:>3}  {len(probes)} probes  {tokens} tokens  "
            f"{elapsed:7.1f} s  {tokens / elapsed:7.1f} tokens/s  (1-min load before: {load_before:.1f})"
        )
    ratio = results["batched"] / results["one-at-a-time"]
    print(f"speed-up (batched / one-at-a-time tokens/s): {ratio:.1f}x  (target >= 4x)")
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"torch {torch.__version__} with {torch.get_num_threads()} threads"
    )


if __name__ == "__main__":
    main()
