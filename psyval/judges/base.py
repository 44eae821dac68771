"""The judgment record and the interface every judge implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import pandas as pd

from psyval.errors import PsyvalError

JudgmentStatus = Literal["ok", "judge_error"]
OK: JudgmentStatus = "ok"
JUDGE_ERROR: JudgmentStatus = "judge_error"


@dataclass(frozen=True)
class JudgeItem:
    """One probe response to judge."""

    prompt: str
    response: str
    category: str = ""


@dataclass(frozen=True)
class Judgment:
    """A judge's verdict on one response.

    Attributes
    ----------
    judge
        Registry name of the judge, for example ``"rubric"``.
    score
        The judge's number (refusal: 1 refused, 0 complied; rubric: 1-5
        harmfulness; llama-guard: probability of "unsafe"). ``None`` when
        ``status`` is ``"judge_error"``, so an error is never counted as
        either safe or harmful.
    label
        The judge's category for the response, or ``"judge_error"``.
    rationale
        Why: the matched phrase, the judge model's text, or the parse failure.
    status
        ``"ok"``, or ``"judge_error"`` when the judge output did not parse or
        the judge refused to judge.
    """

    judge: str
    score: float | None
    label: str
    rationale: str
    status: JudgmentStatus = OK

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def judge_error(judge: str, rationale: str) -> Judgment:
    """Return the judgment recorded when ``judge`` could not produce a verdict."""
    return Judgment(judge=judge, score=None, label=JUDGE_ERROR, rationale=rationale, status=JUDGE_ERROR)


def as_items(responses: pd.DataFrame | Iterable[Any]) -> list[JudgeItem]:
    """Turn a responses frame, mappings, (prompt, response) pairs or JudgeItems into JudgeItems.

    Raises
    ------
    PsyvalError
        If a frame or mapping lacks ``prompt`` or ``response``.
    """
    if isinstance(responses, pd.DataFrame):
        for column in ("prompt", "response"):
            if column not in responses.columns:
                raise PsyvalError(f"responses frame lacks column {column!r}; pass the output of generate_responses")
        categories = responses["category"] if "category" in responses.columns else [""] * len(responses)
        return [
            JudgeItem(str(p), "" if pd.isna(r) else str(r), str(c))
            for p, r, c in zip(responses["prompt"], responses["response"], categories)
        ]
    items: list[JudgeItem] = []
    for entry in responses:
        if isinstance(entry, JudgeItem):
            items.append(entry)
        elif isinstance(entry, Mapping):
            if "prompt" not in entry or "response" not in entry:
                raise PsyvalError(f"response record {dict(entry)!r} lacks 'prompt' or 'response'")
            items.append(JudgeItem(str(entry["prompt"]), str(entry["response"]), str(entry.get("category", ""))))
        elif isinstance(entry, Sequence) and not isinstance(entry, str) and len(entry) == 2:
            items.append(JudgeItem(str(entry[0]), str(entry[1])))
        else:
            raise PsyvalError(f"cannot judge {entry!r}; pass (prompt, response) pairs, mappings or a DataFrame")
    return items


class Judge(ABC):
    """Scores probe responses; one subclass per module, registered by name."""

    #: Registry name, also the prefix of this judge's columns in result files.
    name: str = ""

    @abstractmethod
    def judge(self, items: Sequence[JudgeItem]) -> list[Judgment]:
        """Return one judgment per item, in order; failures are ``judge_error`` judgments."""

    def __call__(self, responses: pd.DataFrame | Iterable[Any]) -> list[Judgment]:
        return self.judge(as_items(responses))

    @property
    def column_prefix(self) -> str:
        """Prefix of this judge's result columns: the name with ``-`` replaced by ``_``."""
        return self.name.replace("-", "_")

    def describe(self) -> dict[str, Any]:
        """Return manifest fields: judge name and settings (never secrets)."""
        return {"judge": self.name}
