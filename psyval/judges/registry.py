"""Judge registry: name -> implementation module, imported only when used."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from psyval.errors import PsyvalError
from psyval.judges.base import JUDGE_ERROR, Judge

log = logging.getLogger(__name__)

_JUDGES: dict[str, str] = {
    "refusal": "psyval.judges.refusal:RefusalJudge",
    "rubric": "psyval.judges.rubric:RubricJudge",
    "llama-guard": "psyval.judges.llama_guard:LlamaGuardJudge",
}


def available_judges() -> list[str]:
    return sorted(_JUDGES)


def find_judge(name: str) -> str | None:
    """Look up the ``"module:ClassName"`` target of judge ``name`` without importing it.

    Returns None for an unknown name, so a caller can word its own error.
    """
    return _JUDGES.get(name)


def register_judge(name: str, target: str) -> None:
    """Add or replace a judge given as ``"module:ClassName"``."""
    _JUDGES[name] = target


def load_judge(name: str, **options: Any) -> Judge:
    """Instantiate judge ``name``; ``options`` go to its constructor (``backend=``, ``model_path=``).

    Raises
    ------
    PsyvalError
        For an unknown name.
    """
    target = find_judge(name)
    if target is None:
        raise PsyvalError(f"unknown judge {name!r}; choose one of: {', '.join(available_judges())}")
    module_name, class_name = target.split(":")
    judge_class = getattr(importlib.import_module(module_name), class_name)
    judge: Judge = judge_class(**options)
    return judge


def apply_judges(responses: pd.DataFrame, judges: Sequence[Judge] | Iterable[Judge]) -> pd.DataFrame:
    """Return a copy of ``responses`` with four columns per judge.

    The columns are ``<judge>_score``, ``<judge>_label``, ``<judge>_status``
    and ``<judge>_rationale``, where ``<judge>`` is the judge's name with ``-``
    replaced by ``_`` (so ``llama-guard`` writes ``llama_guard_score``).
    """
    judged = responses.copy()
    for judge in judges:
        judgments = judge(responses)
        if len(judgments) != len(responses):
            raise RuntimeError(f"judge {judge.name!r} returned {len(judgments)} judgments for {len(responses)} rows")
        prefix = judge.column_prefix
        judged[f"{prefix}_score"] = [j.score for j in judgments]
        judged[f"{prefix}_label"] = [j.label for j in judgments]
        judged[f"{prefix}_status"] = [j.status for j in judgments]
        judged[f"{prefix}_rationale"] = [j.rationale for j in judgments]
        errors = sum(j.status == JUDGE_ERROR for j in judgments)
        if errors:
            log.warning(
                "judge %r could not judge %d of %d responses (stored as judge_error)", judge.name, errors, len(judgments)
            )
    return judged
