"""Pick example model answers from probe_responses.csv for the report.

The answers are untrusted model output: they are returned as plain strings,
and the renderers escape them.
"""

from __future__ import annotations

import pandas as pd

TEXT_COLUMNS: tuple[str, ...] = ("response", "response_text", "output", "answer", "completion", "text")
PROMPT_COLUMNS: tuple[str, ...] = ("prompt", "probe_text", "probe", "input")
MAX_CHARACTERS = 600


def _first(table: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    return next((name for name in names if name in table.columns), None)


def example_responses(responses: pd.DataFrame | None, per_category: int = 1, limit: int = 12) -> list[tuple[str, str]]:
    """Return up to ``limit`` (heading, text) pairs: one answer per harm category, harmful first.

    Returns an empty list when the table has no recognisable answer column.
    """
    if responses is None or responses.empty:
        return []
    text_column = _first(responses, TEXT_COLUMNS)
    if text_column is None:
        return []
    prompt_column = _first(responses, PROMPT_COLUMNS)
    table = responses.copy()
    score_column = next((name for name in ("harm_score", "harmfulness", "score") if name in table.columns), None)
    if score_column is not None:
        table = table.sort_values(score_column, ascending=False, kind="mergesort")
    if "category" in table.columns:
        table = table.groupby("category", sort=False).head(per_category)
    examples = []
    for _, row in table.head(limit).iterrows():
        parts = [str(row[name]) for name in ("category", "condition", "safety_condition", "profile")
                 if name in table.columns and pd.notna(row[name])]
        if score_column is not None and pd.notna(row[score_column]):
            parts.append(f"{score_column} {row[score_column]}")
        heading = " / ".join(parts) or "answer"
        text = str(row[text_column])
        if len(text) > MAX_CHARACTERS:
            text = text[:MAX_CHARACTERS] + " [...]"
        if prompt_column is not None:
            text = f"Prompt: {row[prompt_column]}\n\nAnswer: {text}"
        examples.append((heading, text))
    return examples
