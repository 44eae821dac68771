"""Render chat messages into prompt text and read off answer-option tokens.

Both backends call these functions with the model's tokenizer, so an item gets
the same prompt text, the same token ids and the same option tokens whether
the model runs in-process or behind a server.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Any

from psyval.errors import PsyvalError
from psyval.respondents.base import ChatMessage, OptionDistribution

#: Cache of option token ids, keyed by the prompt's last characters and the options.
OptionCache = dict[tuple[str, tuple[str, ...]], list[list[int]]]

# Characters of prompt text before an option that can change its tokens. Token
# merges reach back only a few characters, so 64 leaves a wide margin.
_OPTION_CONTEXT_CHARS = 64


def has_chat_template(tokenizer: Any) -> bool:
    """Return whether ``tokenizer`` carries a chat template."""
    return bool(getattr(tokenizer, "chat_template", None))


def chat_template_sha256(tokenizer: Any) -> str | None:
    """Hash the chat template of ``tokenizer`` for the run manifest, or return None without one."""
    template = getattr(tokenizer, "chat_template", None) or ""
    return hashlib.sha256(template.encode()).hexdigest() if template else None


def check_options(options: Sequence[str]) -> None:
    """Raise :class:`PsyvalError` unless the answer ``options`` are non-empty and distinct."""
    if len(set(options)) != len(options) or not options:
        raise PsyvalError(f"invalid answer options {list(options)!r}: give at least one option and no repeats")


def render_prompt(tokenizer: Any, messages: Sequence[ChatMessage], answer_prefix: str = "") -> str:
    """Render ``messages`` as the prompt text whose continuation is the answer.

    With a chat template, the template renders the messages and opens the
    assistant turn, and ``answer_prefix`` follows the assistant header. A
    tokenizer without one gets a plain completion prompt: one ``Role: text``
    paragraph per message, then ``Assistant:`` and the prefix after a space.
    """
    if has_chat_template(tokenizer):
        text = tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)
        return str(text) + answer_prefix
    parts = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
    return "\n\n".join(parts) + "\n\nAssistant:" + (" " + answer_prefix if answer_prefix else "")


def encode_prompt(tokenizer: Any, text: str) -> list[int]:
    """Tokenise a rendered prompt.

    A chat template writes its own special tokens, so the tokenizer adds them
    only to plain completion prompts.
    """
    add_special = not has_chat_template(tokenizer)
    return list(tokenizer(text, add_special_tokens=add_special)["input_ids"])


def option_token_ids(
    tokenizer: Any, prompt: str, options: Sequence[str], cache: OptionCache | None = None
) -> list[list[int]]:
    """Return the token ids of each answer option as it would follow ``prompt``.

    An option's tokens depend on the text before it (a leading space can
    merge into it), so they are read off the tokenisation of prompt + option.
    When the prompt's own tokens change at the join, the option is tokenised
    on its own instead.

    Raises
    ------
    PsyvalError
        When an option tokenises to nothing.
    """
    key = (prompt[-_OPTION_CONTEXT_CHARS:], tuple(options))
    if cache is not None and key in cache:
        return cache[key]
    base = encode_prompt(tokenizer, prompt)
    result = []
    for option in options:
        full = encode_prompt(tokenizer, prompt + option)
        if full[: len(base)] == base and len(full) > len(base):
            result.append(full[len(base):])
        else:
            result.append(list(tokenizer(option, add_special_tokens=False)["input_ids"]))
        if not result[-1]:
            raise PsyvalError(f"answer option {option!r} tokenises to nothing; use a non-empty label")
    if cache is not None:
        cache[key] = result
    return result


def option_distribution(options: Sequence[str], logprobs: Sequence[float], method: str) -> OptionDistribution:
    """Renormalise option log-probabilities and record the probability mass they had before."""
    peak = max(logprobs)
    weights = [math.exp(v - peak) for v in logprobs]
    total = sum(weights)
    mass = math.exp(peak) * total
    return OptionDistribution(
        probabilities={o: w / total for o, w in zip(options, weights)},
        valid_mass=min(1.0, mass),
        method=method,
        extra={"logprobs": dict(zip(options, logprobs))},
    )


__all__ = [
    "OptionCache",
    "chat_template_sha256",
    "check_options",
    "encode_prompt",
    "has_chat_template",
    "option_distribution",
    "option_token_ids",
    "render_prompt",
]
