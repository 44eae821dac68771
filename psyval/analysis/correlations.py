"""Value x harm correlation tables: Pearson and Spearman with adjusted p-values."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from psyval.analysis.multitest import adjust_pvalues
from psyval.errors import DataQualityWarning, PsyvalError

CorrelationMethod = Literal["pearson", "spearman"]

CORRELATION_COLUMNS: tuple[str, ...] = (
    "method", "x", "y", "n", "r", "ci_lower", "ci_upper", "p", "p_holm", "p_bh",
)


def correlation_ci(r: float, n: int, method: CorrelationMethod, level: float = 0.95) -> tuple[float, float]:
    """Return the Fisher-z confidence interval of a Pearson or Spearman correlation.

    Notes
    -----
    :math:`z = \\operatorname{artanh}(r)` with standard error
    :math:`1/\\sqrt{n-3}` for Pearson, and Bonett and Wright's (2000)
    :math:`\\sqrt{(1 + r^2/2)/(n-3)}` for Spearman; the limits are transformed
    back with :math:`\\tanh`. R's ``cor.test`` gives the same Pearson interval
    and no Spearman interval. Returns NaN limits when :math:`n \\le 3` or
    :math:`r` is NaN, and :math:`\\pm 1` when :math:`|r| = 1`.

    References
    ----------
    Bonett, D. G., & Wright, T. A. (2000). Sample size requirements for
        estimating Pearson, Kendall and Spearman correlations. *Psychometrika,
        65*(1), 23-28. https://doi.org/10.1007/BF02294183
    """
    if n <= 3 or math.isnan(r):
        return (math.nan, math.nan)
    if abs(r) >= 1.0:
        return (float(np.sign(r)), float(np.sign(r)))
    variance = 1.0 if method == "pearson" else 1.0 + r * r / 2.0
    se = math.sqrt(variance / (n - 3))
    z_crit = stats.norm.ppf(0.5 + level / 2.0)
    z = math.atanh(r)
    return (math.tanh(z - z_crit * se), math.tanh(z + z_crit * se))


def correlate(x: pd.Series, y: pd.Series, method: CorrelationMethod) -> tuple[float, float, int]:
    """Correlate two columns over their complete pairs.

    Returns
    -------
    tuple
        ``(r, p, n)``: the coefficient, its two-sided p-value (scipy's
        ``pearsonr`` t test, or ``spearmanr``'s t approximation, as R's
        ``cor.test(..., exact = FALSE)``), and the number of complete pairs.
        ``r`` and ``p`` are NaN when fewer than 3 pairs remain or a column is
        constant.
    """
    pairs = pd.concat([x, y], axis=1).dropna()
    n = len(pairs)
    if n < 3:
        return (math.nan, math.nan, n)
    a = pairs.iloc[:, 0].to_numpy(dtype=float)
    b = pairs.iloc[:, 1].to_numpy(dtype=float)
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return (math.nan, math.nan, n)
    if method == "pearson":
        result = stats.pearsonr(a, b)
    elif method == "spearman":
        result = stats.spearmanr(a, b)
    else:
        raise PsyvalError(f"unknown correlation method {method!r}; use 'pearson' or 'spearman'")
    return (float(result.statistic), float(result.pvalue), n)


def correlation_table(
    table: pd.DataFrame,
    x_columns: Sequence[str],
    y_columns: Sequence[str],
    methods: Sequence[CorrelationMethod] = ("pearson", "spearman"),
    level: float = 0.95,
) -> pd.DataFrame:
    """Correlate every x column with every y column, with Holm and BH adjustment.

    Parameters
    ----------
    table
        Respondent-level data.
    x_columns, y_columns
        Column names, for example ``value_power`` and ``harm_malware``.
    methods
        Correlation coefficients to compute.
    level
        Confidence level of the intervals.

    Returns
    -------
    pandas.DataFrame
        One row per method and pair, with columns ``method``, ``x``, ``y``,
        ``n`` (complete pairs), ``r``, ``ci_lower``, ``ci_upper``, ``p``
        (two-sided, unadjusted), ``p_holm`` and ``p_bh``. The adjustment family
        is all pairs of one method.

    Warns
    -----
    DataQualityWarning
        When a column is constant or has fewer than 3 complete pairs, so its
        correlations are NaN.
    """
    missing = [column for column in [*x_columns, *y_columns] if column not in table.columns]
    if missing:
        raise PsyvalError(f"columns {missing!r} not in the respondent table; available: {list(table.columns)!r}")
    constant = [
        column for column in dict.fromkeys([*x_columns, *y_columns])
        if table[column].dropna().nunique() < 2
    ]
    if constant:
        warnings.warn(
            f"constant or empty columns {constant!r}: their correlations are undefined (NaN)",
            DataQualityWarning,
            stacklevel=2,
        )
    rows: list[dict[str, object]] = []
    for method in methods:
        block: list[dict[str, object]] = []
        for x in x_columns:
            for y in y_columns:
                r, p, n = correlate(table[x], table[y], method)
                lower, upper = correlation_ci(r, n, method, level)
                block.append({"method": method, "x": x, "y": y, "n": n, "r": r,
                              "ci_lower": lower, "ci_upper": upper, "p": p})
        pvalues = np.array([row["p"] for row in block], dtype=float)
        for row, holm, bh in zip(block, adjust_pvalues(pvalues, "holm"), adjust_pvalues(pvalues, "fdr_bh"), strict=True):
            row["p_holm"] = holm
            row["p_bh"] = bh
        rows.extend(block)
    return pd.DataFrame(rows, columns=list(CORRELATION_COLUMNS))


def correlation_matrix(correlations: pd.DataFrame, method: CorrelationMethod, statistic: str = "r") -> pd.DataFrame:
    """Pivot one method of :func:`correlation_table` into an x-by-y matrix of ``statistic``."""
    subset = correlations[correlations["method"] == method]
    matrix = subset.pivot(index="x", columns="y", values=statistic)
    return matrix.loc[list(dict.fromkeys(subset["x"])), list(dict.fromkeys(subset["y"]))]


def significance_marks(p: float) -> str:
    """Return APA-style stars: ``***`` p < .001, ``**`` p < .01, ``*`` p < .05, else empty."""
    if math.isnan(p):
        return ""
    if p < 0.001:
        return "***"
    if p < 0.01:
        return "**"
    if p < 0.05:
        return "*"
    return ""
