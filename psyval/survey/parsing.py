"""Parse a free-text questionnaire answer into a scale point, a refusal or nothing.

The parser never guesses: an answer that names no single scale point is
returned as unparsed, and the survey stores it as missing with its raw text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

AnswerStatus = Literal["ok", "unparsed", "refused"]

_THINK_BLOCK = re.compile(r"<think>.*?(</think>|$)", re.IGNORECASE | re.DOTALL)
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00b4": "'", "`": "'"})
_NUMBER = re.compile(r"(?<![\d.])(\d+)(?![\d.]*\d)")
_LEADING_NUMBER = re.compile(r"^\W*(\d+)(?!\d|[.,]\d)")

#: Phrases that mark a refusal to answer; matched on the normalised text.
REFUSAL_PATTERNS: tuple[str, ...] = (
    r"\bi (?:can ?not|can't|won't|will not|am unable to|am not able to|'m unable to|'m not able to) "
    r"(?:answer|rate|respond|provide|say|choose|pick|give)",
    r"\bas an ai\b",
    r"\bi (?:do not|don't) have (?:personal|any personal|feelings|opinions|values|preferences)",
    r"\bi'm (?:just )?an? (?:ai|language model)\b",
    r"\bi am (?:just )?an? (?:ai|language model)\b",
)
_REFUSAL = re.compile("|".join(REFUSAL_PATTERNS))


@dataclass(frozen=True)
class ParsedAnswer:
    """The shown number a free-text answer chose, or why there is none.

    Attributes
    ----------
    shown
        The number as shown on the scale (before undoing reversed numbering),
        or ``None`` when the answer is unparsed or a refusal.
    point
        The instrument scale point when the answer named a label, else ``None``.
    status
        ``"ok"``, ``"unparsed"`` or ``"refused"``.
    """

    shown: int | None
    point: int | None
    status: AnswerStatus


def normalise(text: str) -> str:
    """Drop ``<think>`` blocks, straighten quotes, fold case and collapse spaces."""
    text = _THINK_BLOCK.sub(" ", text)
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES).lower()
    return " ".join(text.split())


def _clean_words(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", text).split())


def parse_answer(text: str, points: int, labels: tuple[str, ...]) -> ParsedAnswer:
    """Parse one generated answer.

    The rules, in order: a number at the very start of the answer; otherwise
    a scale label (the longest label that occurs, so "not like me at all" wins
    over "like me"); otherwise the only in-range number in the answer. A
    refusal phrase with no number or label gives ``"refused"``.

    Parameters
    ----------
    text
        The model's raw answer.
    points
        Number of scale points; numbers outside 1..points are ignored.
    labels
        Scale labels in instrument order (``labels[i]`` names point ``i + 1``).
    """
    clean = normalise(text)
    leading = _LEADING_NUMBER.match(clean)
    if leading and 1 <= int(leading.group(1)) <= points:
        return ParsedAnswer(shown=int(leading.group(1)), point=None, status="ok")

    words = f" {_clean_words(clean)} "
    by_length = sorted(range(len(labels)), key=lambda i: -len(labels[i]))
    found: list[int] = []
    for index in by_length:
        label = f" {_clean_words(labels[index].lower())} "
        if label in words:
            found.append(index + 1)
            words = words.replace(label, "  ")
    if len(found) == 1:
        return ParsedAnswer(shown=None, point=found[0], status="ok")

    # Mentions of the scale itself ("1 to 6", "4/6", "4 out of 6") are not answers.
    scale_mentions = re.compile(rf"\b1\s*(?:-|\u2013|to)\s*{points}\b|(?:/|\bout of)\s*{points}\b")
    clean = scale_mentions.sub(" ", clean)
    numbers = {int(match) for match in _NUMBER.findall(clean) if 1 <= int(match) <= points}
    if len(numbers) == 1 and not found:
        return ParsedAnswer(shown=numbers.pop(), point=None, status="ok")
    if _REFUSAL.search(clean):
        return ParsedAnswer(shown=None, point=None, status="refused")
    return ParsedAnswer(shown=None, point=None, status="unparsed")


__all__ = ["AnswerStatus", "ParsedAnswer", "REFUSAL_PATTERNS", "normalise", "parse_answer"]
