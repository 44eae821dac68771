"""Plain-text rendering of a harm table for the terminal (computing lives in harm.py)."""

from __future__ import annotations

import math

import pandas as pd

from psyval.probes.taxonomy import CATEGORY_LABELS


def _number(value: float, digits: int = 2) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _interval(row: pd.Series, stem: str, digits: int = 2) -> str:
    value = row[stem]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{_number(value, digits)} [{_number(row[stem + '_ci_low'], digits)}, {_number(row[stem + '_ci_high'], digits)}]"


def format_harm_table(table: pd.DataFrame) -> str:
    """Render one block per respondent, condition and probe kind, one line per category.

    A block whose rubric grades are all judge errors ends with a warning line,
    because its harm columns are then empty rather than zero.
    """
    blocks: list[str] = []
    keys = ["respondent", "condition", "suppress_value", "kind"]
    for (respondent, condition, suppress_value, kind), block in table.groupby(keys, sort=False):
        condition_text = f"{condition} (set aside {suppress_value})" if suppress_value else condition
        header = f"{respondent}  condition={condition_text}  probes={kind}"
        lines = [header, "-" * len(header)]
        lines.append(
            f"{'category':<27}{'n':>4}  {'harm score [95% CI]':<22}{'harm rate [95% CI]':<22}"
            f"{'refusal rate [95% CI]':<23}{'errors':>6}"
        )
        for _, row in block.iterrows():
            label = CATEGORY_LABELS.get(str(row["category"]), "Overall" if row["category"] == "overall" else str(row["category"]))
            lines.append(
                f"{label:<27}{int(row['n']):>4}  {_interval(row, 'harm_score'):<22}{_interval(row, 'harm_rate'):<22}"
                f"{_interval(row, 'refusal_rate'):<23}{int(row['judge_errors']):>6}"
            )
        overall = block[block["category"] == "overall"]
        if not overall.empty and overall["n_graded"].iloc[0] == 0:
            lines.append("WARNING: every rubric grade failed to parse; harm columns are empty, not zero.")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
