"""Turn survey responses and an instrument into item columns grouped by value.

Used by ``psyval cfa`` and ``psyval reliability --instrument``. Reverse-keyed
items are reflected (``points + 1 - answer``) only when the instrument marks
them ``reverse``, and answers on a ``lower_is_more_like_me`` scale are
reflected so that higher always means "more like me".
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Literal

import pandas as pd

from psyval.errors import PsyvalError
from psyval.instruments import Instrument

Level = Literal["basic", "higher", "refined"]
ITEM_PREFIX = "item_"


def load_item_table(responses: str | Path | pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """Return one row per respondent and one ``item_<id>`` column per instrument item.

    Parameters
    ----------
    responses : path or DataFrame
        A long table (``respondent``, ``item``, ``expected_value``), a wide
        table with ``item_<id>`` or ``<id>`` columns, or a results folder.
    instrument : psyval.instruments.Instrument
        Supplies the item ids, reverse flags and scale.

    Returns
    -------
    pandas.DataFrame
        Answers on the "higher is more like me" scale, reverse-keyed items
        reflected.
    """
    from psyval.psychometrics.sem.data import is_long_responses, read_table, responses_to_wide

    # The instrument's reverse flags are applied below, so the long table's
    # own reverse column must not reflect the answers a first time.
    if isinstance(responses, pd.DataFrame):
        frame = responses
        if is_long_responses(frame):
            frame = responses_to_wide(frame, reflect_reverse=False)
    else:
        frame = read_table(responses, reflect_reverse=False)
    columns = {}
    absent = []
    for item in instrument.items:
        for candidate in (f"{ITEM_PREFIX}{item.id}", item.id):
            if candidate in frame.columns:
                columns[item.id] = pd.to_numeric(frame[candidate], errors="coerce")
                break
        else:
            absent.append(item.id)
    if not columns:
        raise PsyvalError(
            f"none of the {len(instrument.items)} items of instrument {instrument.id!r} are in the responses: "
            "pass the responses.csv or respondents.csv written for this instrument"
        )
    if absent:
        raise PsyvalError(
            f"items {absent[:8]!r}{' ...' if len(absent) > 8 else ''} of instrument {instrument.id!r} are missing "
            "from the responses: pass responses that cover the whole instrument"
        )
    table = pd.DataFrame(columns)
    points = instrument.scale.points
    for item in instrument.items:
        values = table[item.id]
        if instrument.scale.direction == "lower_is_more_like_me":
            values = points + 1 - values
        if item.reverse:
            values = points + 1 - values
        table[item.id] = values
    table.columns = [f"{ITEM_PREFIX}{column}" for column in table.columns]
    return table


def group_items(instrument: Instrument, level: Level) -> OrderedDict[str, list[str]]:
    """Return value id -> ``item_<id>`` columns at the chosen value level, in instrument order."""
    if level == "refined" and not instrument.has_refined:
        raise PsyvalError(
            f"instrument {instrument.id!r} has no refined values: use --level basic or higher"
        )
    groups: OrderedDict[str, list[str]] = OrderedDict()
    for item in instrument.items:
        if level == "basic":
            key = instrument.basic_of(item)
        elif level == "higher":
            key = instrument.higher_of(item)
        elif level == "refined":
            key = item.value
        else:
            raise PsyvalError(f"unknown value level {level!r}: use basic, higher or refined")
        groups.setdefault(key, []).append(f"{ITEM_PREFIX}{item.id}")
    return groups
