"""Judges that score probe responses: refusal phrases, an LLM rubric, Llama Guard.

Every judge returns one :class:`~psyval.judges.base.Judgment` per response.
A judge output that does not parse, or a judge model that refuses to judge, is
recorded with status ``judge_error`` and no score: it is never counted as safe
or as harmful, and :func:`psyval.probes.harm_table` reports how many there were.
"""

from psyval.judges.base import JUDGE_ERROR, OK, Judge, JudgeItem, Judgment
from psyval.judges.registry import (
    apply_judges,
    available_judges,
    load_judge,
    register_judge,
)

__all__ = [
    "JUDGE_ERROR",
    "OK",
    "Judge",
    "JudgeItem",
    "Judgment",
    "apply_judges",
    "available_judges",
    "load_judge",
    "register_judge",
]
