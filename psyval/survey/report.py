"""Plain-text profile table for the terminal, built from a scores table."""

from __future__ import annotations

import math

import pandas as pd

from psyval.instruments.values import BASIC_VALUES, HIGHER_ORDER_VALUES, LABELS
from psyval.survey.scoring import Alignment


def _fmt(number: float, signed: bool = False) -> str:
    if number is None or (isinstance(number, float) and math.isnan(number)):
        return "NA"
    return f"{number:+.2f}" if signed else f"{number:.2f}"


def _bar(centred: float, width: int = 10) -> str:
    # One character per 0.1 of centred score, to the left for negative scores.
    if math.isnan(centred):
        return " " * (2 * width + 1)
    length = min(width, int(round(abs(centred) * 10)))
    left = "#" * length if centred < 0 else ""
    right = "#" * length if centred > 0 else ""
    return f"{left:>{width}}|{right:<{width}}"


def profile_table(scores: pd.DataFrame, respondent: str, alignment: Alignment | None = None) -> str:
    """Render one respondent's value profile as an aligned text table.

    Basic values come in the order of Schwartz's circle, then the higher-order
    values and, for instruments that have them, the refined values.
    """
    rows = scores[scores["respondent"] == respondent]
    has_target = rows["target"].notna().any()
    # Spread across variants exists only when items were asked under several variants.
    has_spread = rows["spread"].notna().any()
    header = f"{'value':<26} {'raw':>5} {'centred':>8}"
    if has_spread:
        header += f" {'spread':>7}"
    if has_target:
        header += f" {'target':>6} {'error':>6}"
    header += f"  {'centred score (# = 0.1)':^21}"
    lines = [header, "-" * len(header)]

    def add(level: str, order: list[str] | None = None) -> None:
        block = rows[rows["level"] == level].set_index("value")
        names = [v for v in (order or list(block.index)) if v in block.index]
        for name in names:
            row = block.loc[name]
            text = f"{LABELS.get(name, name):<26} {_fmt(row['raw']):>5} {_fmt(row['centred'], True):>8}"
            if has_spread:
                text += f" {_fmt(row['spread']):>7}"
            if has_target:
                text += f" {_fmt(row['target']):>6} {_fmt(row['error'], True):>6}"
            lines.append(text + "  " + _bar(float(row["centred"])))
        if names:
            lines.append("")

    add("basic", list(BASIC_VALUES))
    add("higher", list(HIGHER_ORDER_VALUES))
    add("refined")
    mrat = rows[rows["level"] == "mrat"]
    if len(mrat):
        answered = int(mrat["n_answered"].iloc[0])
        total = int(mrat["n_items"].iloc[0])
        lines.append(f"MRAT (mean of all items) {_fmt(float(mrat['raw'].iloc[0]))}; items answered {answered} of {total}")
    if alignment is not None:
        lines.append(
            f"Alignment with the target profile: NMSE {alignment.nmse:.3f} (0 = identical, 1 = opposite extremes), "
            f"r {_fmt(alignment.r)}"
        )
    return "\n".join(lines).rstrip()


__all__ = ["profile_table"]
