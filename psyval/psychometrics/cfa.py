"""Confirmatory factor analysis of an instrument: one factor per value, fitted with :func:`sem_fit`."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from psyval.errors import DataQualityWarning
from psyval.instruments import Instrument
from psyval.psychometrics.instrument_data import Level, group_items, load_item_table
from psyval.psychometrics.sem import SemResult, sem_fit


def instrument_model(instrument: Instrument, level: Level = "basic") -> str:
    """Return the lavaan measurement model of an instrument.

    Each value at ``level`` becomes a factor named by its value id, measured
    by its items (``item_<id>``). Values with a single item are left out with
    a warning, because a one-indicator factor is not identified.
    """
    lines = []
    for value, items in group_items(instrument, level).items():
        if len(items) < 2:
            warnings.warn(
                f"value {value!r} has only item {items[0]!r} at level {level!r}: left out of the CFA model",
                DataQualityWarning,
                stacklevel=2,
            )
            continue
        lines.append(f"{value} =~ " + " + ".join(items))
    return "\n".join(lines) + "\n"


def fit_instrument_cfa(
    instrument: str | Path,
    responses: str | Path | pd.DataFrame,
    level: Level = "basic",
    estimator: str = "ML",
    missing: str = "listwise",
) -> tuple[str, SemResult]:
    """Build an instrument's measurement model and fit it to survey responses.

    Parameters
    ----------
    instrument : str or Path
        Bundled instrument name or instrument file, read with
        :func:`psyval.instruments.load_instrument`.
    responses : path or DataFrame
        Long ``responses.csv`` (respondent, item, expected_value), a wide table
        or a results folder.
    level : {"basic", "higher", "refined"}
        Value level that defines the factors.

    Returns
    -------
    (str, SemResult)
        The generated lavaan syntax and the fit.
    """
    from psyval.instruments import load_instrument

    loaded = load_instrument(instrument)
    syntax = instrument_model(loaded, level)
    table = load_item_table(responses, loaded)
    return syntax, sem_fit(syntax, table, estimator=estimator, missing=missing)  # type: ignore[arg-type]
