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
from typing import Any, Literal

from psyval.errors import LowOptionMassWarning, PsyvalError, UnparsedAnswerWarning
from psyval.instruments.schema import Instrument, Item
from psyval.profiles import Profile
from psyval.respondents.base import Backend, Decoding
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
    tasks = ordered_tasks(items, variants, seed)
    rows: list[dict[str, Any]] = []
    for variant in variants:
        group = [(v, pos, item) for v, pos, item in tasks if v.index == variant.index]
        for start in range(0, len(group), CHUNK_SIZE):
            chunk = group[start : start + CHUNK_SIZE]
            if method == "logprob":
                rows.extend(_answer_logprob(backend, instrument, chunk, profile))
            else:
                rows.extend(_answer_generate(backend, instrument, chunk, profile, seed))
            if progress is not None:
                progress(len(chunk))
    _warn_about(rows)
    return rows


def _prompts(
    backend: Backend, instrument: Instrument, chunk: Sequence[tuple[Variant, int, Item]], profile: Profile | None
) -> list[str]:
    prefix = instrument.prompts.answer_prefix
    return [backend.render(item_messages(instrument, item, variant, profile), prefix) for variant, _, item in chunk]


def _answer_logprob(
    backend: Backend,
    instrument: Instrument,
    chunk: Sequence[tuple[Variant, int, Item]],
    profile: Profile | None,
) -> list[dict[str, Any]]:
    prompts = _prompts(backend, instrument, chunk, profile)
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
    profile: Profile | None,
    seed: int,
) -> list[dict[str, Any]]:
    prompts = _prompts(backend, instrument, chunk, profile)
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
