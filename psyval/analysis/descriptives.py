"""Descriptive statistics per value: mean, SD and Cronbach's alpha."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

DESCRIPTIVE_COLUMNS: tuple[str, ...] = ("variable", "n", "mean", "sd", "n_items", "alpha")


def cronbach_alpha(items: pd.DataFrame) -> float:
    """Cronbach's alpha of the item columns, over complete rows.

    Notes
    -----
    :math:`\\alpha = \\frac{k}{k-1}\\left(1 - \\frac{\\sum_i s_i^2}{s_X^2}\\right)`
    with sample variances (``ddof=1``), as R's ``psych::alpha`` ``raw_alpha``
    on complete cases. NaN with fewer than 2 items, 2 complete rows, or a
    constant total score.

    References
    ----------
    Cronbach, L. J. (1951). Coefficient alpha and the internal structure of
        tests. *Psychometrika, 16*(3), 297-334. https://doi.org/10.1007/BF02310555
    """
    complete = items.dropna()
    k = complete.shape[1]
    if k < 2 or len(complete) < 2:
        return math.nan
    total_variance = complete.sum(axis=1).var(ddof=1)
    if total_variance == 0:
        return math.nan
    return float(k / (k - 1) * (1.0 - complete.var(ddof=1).sum() / total_variance))


def describe_columns(
    table: pd.DataFrame,
    columns: Sequence[str],
    item_groups: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Return M, SD and alpha for each column.

    Parameters
    ----------
    table
        Respondent table.
    columns
        Columns to describe, for example ``value_power``.
    item_groups
        Column name -> the ``item_<id>`` columns that measure it; alpha is NaN
        for a column without an entry.

    Returns
    -------
    pandas.DataFrame
        Columns ``variable``, ``n``, ``mean``, ``sd`` (``ddof=1``), ``n_items``
        and ``alpha``.
    """
    rows = []
    for column in columns:
        values = pd.to_numeric(table[column], errors="coerce").dropna()
        items = [item for item in (item_groups or {}).get(column, ()) if item in table.columns]
        alpha = cronbach_alpha(table[items].apply(pd.to_numeric, errors="coerce")) if items else math.nan
        rows.append({
            "variable": column, "n": int(values.size),
            "mean": float(values.mean()) if values.size else math.nan,
            "sd": float(values.std(ddof=1)) if values.size > 1 else math.nan,
            "n_items": len(items), "alpha": alpha,
        })
    return pd.DataFrame(rows, columns=list(DESCRIPTIVE_COLUMNS))


def value_correlation_matrix(table: pd.DataFrame, values: Sequence[str], prefix: str = "value_") -> pd.DataFrame:
    """Pearson correlations among value scores, labelled by value id (pairwise complete)."""
    columns = [f"{prefix}{value}" for value in values]
    matrix = table[columns].apply(pd.to_numeric, errors="coerce").corr(method="pearson")
    matrix.index = list(values)
    matrix.columns = list(values)
    return matrix.astype(float).replace([np.inf, -np.inf], np.nan)
