"""Answer questionnaire items with a backend, by option log-probabilities or by generation.

:func:`answer_items` answers any list of items under any list of variants and
returns one row per (item, variant), so a caller that stores rows can resume a
survey by passing only the items it has not finished.
"""

from __future__ import annotations

import logging
import math
import os
import random
import warnings
from collections.abc import Callable, Sequence
from dataclasses import astuple
from typing import Any, Literal

from psyval.errors import LowOptionMassWarning, PsyvalError, UnparsedAnswerWarning
from psyval.instruments.schema import Instrument, Item
from psyval.profiles import Profile
from psyval.respondents.base import Backend, Decoding
from psyval.respondents.response_cache import ResponseCache
from psyval.survey.parsing import parse_answer
from psyval.survey.prompts import Variant, item_messages, option_labels

log = logging.getLogger(__name__)

Method = Literal["logprob", "generate"]
METHODS: tuple[str, ...] = ("logprob", "generate")

#: Items whose option mass (the share of next-token probability on the answer
#: options) is below this get status "low_mass". Below one half, the model more
#: likely wanted to write something other than a scale number, so its restricted
#: distribution says less about its answer. The answer is kept and flagged.
LOW_MASS_THRESHOLD = 0.5

#: Decoding for the generate method: greedy, so answers are reproducible.
GENERATE_DECODING = Decoding(max_new_tokens=16, greedy=True)

#: Items per backend call, so the progress callback advances during a survey.
CHUNK_SIZE = 64

#: Fields of :meth:`Backend.describe` that identify the model and the settings
#: that change its answers. Other fields (request counts, addresses) are left
#: out of journal keys, so they do not make finished answers stale.
_IDENTITY_FIELDS = (
    "backend", "model_id", "upstream_model_id", "revision", "dtype", "tokenizer_source",
    "prompt_format", "top_logprobs", "logit_bias", "generation_endpoint",
)

ProgressCallback = Callable[[int], None]


def _entropy(probabilities: Sequence[float]) -> float:
    return -sum(p * math.log(p) for p in probabilities if p > 0)


def _base_row(
    instrument: Instrument, item: Item, variant: Variant, position: int, prompt: str
) -> dict[str, Any]:
    return {
        "item": item.id,
        "value": instrument.basic_of(item),
        "refined_value": item.value if instrument.has_refined else "",
        "higher_value": instrument.higher_of(item),
        "reverse": item.reverse,
        "scale_points": instrument.scale.points,
        "variant": variant.index,
        "wording": variant.wording,
        "numbering": variant.numbering,
        "position": position,
        "prompt_chars": len(prompt),
    }


def _distribution_fields(
    instrument: Instrument, variant: Variant, shown_probabilities: dict[str, float]
) -> dict[str, Any]:
    """Map a distribution over shown numbers to like-me scale points 1..points."""
    points = instrument.scale.points
    by_point = [0.0] * points
    for shown_label, probability in shown_probabilities.items():
        point = variant.point_of(int(shown_label), points)
        like_me = int(instrument.scale.to_like_me(point))
        by_point[like_me - 1] += probability
    expected = sum((k + 1) * p for k, p in enumerate(by_point))
    fields: dict[str, Any] = {f"p_{k + 1}": p for k, p in enumerate(by_point)}
    fields.update(
        expected=expected,
        argmax=max(range(points), key=lambda k: by_point[k]) + 1,
        entropy=_entropy(by_point),
    )
    return fields


def ordered_tasks(
    items: Sequence[Item], variants: Sequence[Variant], seed: int
) -> list[tuple[Variant, int, Item]]:
    """Return (variant, position, item) triples, items shuffled per variant with ``seed``.

    Each item is asked in its own prompt, so order cannot change an answer;
    the shuffle only fixes the order in which batches are formed, and the
    recorded position lets a later analysis check for order effects.
    """
    tasks = []
    for variant in variants:
        order = list(items)
        random.Random(seed * 1000 + variant.index).shuffle(order)
        tasks.extend((variant, position, item) for position, item in enumerate(order))
    return tasks


def answer_items(
    backend: Backend,
    instrument: Instrument,
    items: Sequence[Item],
    variants: Sequence[Variant],
    profile: Profile | None = None,
    method: Method = "logprob",
    seed: int = 0,
    progress: ProgressCallback | None = None,
    journal: ResponseCache | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> list[dict[str, Any]]:
    """Answer ``items`` under each of ``variants`` and return one row per pair.

    Parameters
    ----------
    backend
        Any :class:`~psyval.respondents.base.Backend`.
    instrument
        Supplies the scale, value mapping and prompt templates.
    items
        The items to answer; pass a subset to resume an interrupted survey.
    variants
        Prompt variants, from :func:`psyval.survey.prompts.make_variants`.
    profile
        Target profile whose system prompt conditions the model, or ``None``.
    method
        ``"logprob"`` reads the option distribution at the answer position;
        ``"generate"`` generates a short answer and parses it.
    seed
        Seed of the item order and of generation.
    progress
        Called with the number of items just answered.
    journal
        Record of finished answers. An answer found in it (same model, rendered
        prompt, method, variant, options and, for generation, seed) is reused.
        Every new answer is added to it after its batch, so a rerun of an
        interrupted survey computes only the missing answers.
    chunk_size
        Items per backend call. With a journal file, at most one chunk of work
        is lost when the process is killed.

    Returns
    -------
    list of dict
        Keys: item, value, refined_value, higher_value, reverse, scale_points,
        variant, wording, numbering, position, prompt_chars, p_1..p_k (the
        distribution over like-me points, missing for an unparsed answer),
        expected, argmax, entropy, valid_mass, answer (the point used in
        scoring, NaN when missing), raw_text, status ("ok", "low_mass",
        "unparsed" or "refused") and method.
    """
    if method not in METHODS:
        raise PsyvalError(f"invalid method {method!r}; choose one of: {', '.join(METHODS)}")
    if chunk_size < 1:
        raise PsyvalError(f"invalid chunk_size {chunk_size!r}; use a positive integer")
    tasks = ordered_tasks(items, variants, seed)
    identity = _model_identity(backend) if journal is not None else {}
    rows: list[dict[str, Any]] = []
    for variant in variants:
        group = [(v, pos, item) for v, pos, item in tasks if v.index == variant.index]
        for start in range(0, len(group), chunk_size):
            chunk = group[start : start + chunk_size]
            prompts = _prompts(backend, instrument, chunk, profile)
            rows.extend(_answer_chunk(backend, instrument, chunk, prompts, method, seed, journal, identity))
            if progress is not None:
                progress(len(chunk))
    _warn_about(rows)
    return rows


def _model_identity(backend: Backend) -> dict[str, Any]:
    description = backend.describe()
    return {field: description[field] for field in _IDENTITY_FIELDS if field in description}


def _journal_key(
    identity: dict[str, Any], prompt: str, method: str, variant: Variant, options: list[str], seed: int
) -> str:
    body = {
        "model": identity,
        "prompt": prompt,
        "method": method,
        "variant": [variant.index, variant.wording, variant.numbering],
        "options": options,
        # The logprob method reads no seed, so only generated answers key on it.
        "decoding": list(astuple(GENERATE_DECODING)) + [seed] if method == "generate" else None,
    }
    return ResponseCache.key("survey-answer", body)


def _answer_chunk(
    backend: Backend,
    instrument: Instrument,
    chunk: Sequence[tuple[Variant, int, Item]],
    prompts: list[str],
    method: Method,
    seed: int,
    journal: ResponseCache | None,
    identity: dict[str, Any],
) -> list[dict[str, Any]]:
    """Answer one chunk, taking finished answers from ``journal`` and adding new ones."""
    if journal is None:
        return _answer_tasks(backend, instrument, chunk, prompts, method, seed)
    options = option_labels(instrument)
    keys = [_journal_key(identity, prompt, method, task[0], options, seed) for task, prompt in zip(chunk, prompts)]
    stored = [journal.get(key) for key in keys]
    missing = [k for k, answer in enumerate(stored) if answer is None]
    computed = _answer_tasks(
        backend, instrument, [chunk[k] for k in missing], [prompts[k] for k in missing], method, seed
    )
    base_fields = set(_base_row(instrument, chunk[0][2], chunk[0][0], chunk[0][1], prompts[0]))
    new_entries = []
    for k, row in zip(missing, computed):
        # Only the answer is stored. Order and prompt fields come from the task.
        answer = {name: value for name, value in row.items() if name not in base_fields}
        stored[k] = answer
        new_entries.append((keys[k], answer))
    journal.put_many(new_entries)
    if len(missing) < len(chunk):
        log.debug("reused %d finished answers from %s", len(chunk) - len(missing), journal.path)
    rows = []
    for (variant, position, item), prompt, answer in zip(chunk, prompts, stored):
        row = _base_row(instrument, item, variant, position, prompt)
        row.update(answer)
        rows.append(row)
    return rows


def _answer_tasks(
    backend: Backend,
    instrument: Instrument,
    chunk: Sequence[tuple[Variant, int, Item]],
    prompts: list[str],
    method: Method,
    seed: int,
) -> list[dict[str, Any]]:
    if not chunk:
        return []
    if method == "logprob":
        return _answer_logprob(backend, instrument, chunk, prompts)
    return _answer_generate(backend, instrument, chunk, prompts, seed)


def _prompts(
    backend: Backend, instrument: Instrument, chunk: Sequence[tuple[Variant, int, Item]], profile: Profile | None
) -> list[str]:
    prefix = instrument.prompts.answer_prefix
    return [backend.render(item_messages(instrument, item, variant, profile), prefix) for variant, _, item in chunk]


def _answer_logprob(
    backend: Backend,
    instrument: Instrument,
    chunk: Sequence[tuple[Variant, int, Item]],
    prompts: list[str],
) -> list[dict[str, Any]]:
    shared = os.path.commonprefix(prompts) if len(prompts) > 1 else ""
    distributions = backend.score_options(prompts, option_labels(instrument), shared_prefix=shared)
    rows = []
    for (variant, position, item), prompt, dist in zip(chunk, prompts, distributions):
        row = _base_row(instrument, item, variant, position, prompt)
        row.update(_distribution_fields(instrument, variant, dist.probabilities))
        row.update(
            valid_mass=dist.valid_mass,
            answer=row["expected"],
            raw_text="",
            status="ok" if dist.valid_mass >= LOW_MASS_THRESHOLD else "low_mass",
            method=dist.method,
        )
        rows.append(row)
    return rows


def _answer_generate(
    backend: Backend,
    instrument: Instrument,
    chunk: Sequence[tuple[Variant, int, Item]],
    prompts: list[str],
    seed: int,
) -> list[dict[str, Any]]:
    decoding = Decoding(
        max_new_tokens=GENERATE_DECODING.max_new_tokens, greedy=GENERATE_DECODING.greedy, seed=seed
    )
    texts = backend.generate(prompts, decoding)
    points = instrument.scale.points
    rows = []
    for (variant, position, item), prompt, text in zip(chunk, prompts, texts):
        row = _base_row(instrument, item, variant, position, prompt)
        parsed = parse_answer(text, points, instrument.scale.labels)
        point: int | None = None
        if parsed.shown is not None:
            point = variant.point_of(parsed.shown, points)
        elif parsed.point is not None:
            point = parsed.point
        if point is not None:
            like_me = int(instrument.scale.to_like_me(point))
            row.update({f"p_{k}": float(k == like_me) for k in range(1, points + 1)})
            row.update(expected=float(like_me), argmax=like_me, entropy=0.0, answer=float(like_me))
        else:
            row.update({f"p_{k}": math.nan for k in range(1, points + 1)})
            row.update(expected=math.nan, argmax=math.nan, entropy=math.nan, answer=math.nan)
        row.update(valid_mass=math.nan, raw_text=text, status=parsed.status, method="generate")
        rows.append(row)
    return rows


def _warn_about(rows: Sequence[dict[str, Any]]) -> None:
    low = sum(row["status"] == "low_mass" for row in rows)
    unparsed = sum(row["status"] == "unparsed" for row in rows)
    refused = sum(row["status"] == "refused" for row in rows)
    if low:
        warnings.warn(
            f"{low} of {len(rows)} answers put less than {LOW_MASS_THRESHOLD:g} of the next-token "
            "probability on the answer options (status 'low_mass'); their distributions are kept but "
            "say less about the model's answer",
            LowOptionMassWarning,
            stacklevel=3,
        )
    if unparsed or refused:
        warnings.warn(
            f"{unparsed} of {len(rows)} answers did not parse and {refused} were refusals; "
            "they are stored as missing with their raw text",
            UnparsedAnswerWarning,
            stacklevel=3,
        )


__all__ = ["GENERATE_DECODING", "LOW_MASS_THRESHOLD", "METHODS", "Method", "answer_items", "ordered_tasks"]
