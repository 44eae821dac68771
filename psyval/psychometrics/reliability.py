"""Cronbach's alpha, McDonald's omega total and item statistics, as psych::alpha reports them.

The output tables keep psych's column names (``raw_alpha``, ``std.alpha``,
``G6(smc)``, ``average_r``, ``S/N``, ``ase``, ``r.drop`` ...), so a reviewer
can compare them with R's ``psych::alpha()`` line by line. Items are reversed
only when the caller (normally the instrument's ``reverse`` flags) says so;
psych's ``check.keys`` auto-reversal is deliberately not offered.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from psyval.errors import DataQualityWarning, PsyvalError
from psyval.psychometrics.input_checks import (
    check_full_rank,
    check_numeric_items,
    check_unique_items,
)

logger = logging.getLogger(__name__)

MissingRule = Literal["pairwise", "listwise"]

NEGATIVE_ITEM_REST = -0.2
"""Item-rest correlations below this value trigger a warning: the item probably
needs reverse keying in the instrument, or it measures something else."""


@dataclass
class ReliabilityResult:
    """Reliability of one scale.

    Attributes
    ----------
    name : str
        Scale name (a value id or column group).
    total : pandas.DataFrame
        One row: ``raw_alpha std.alpha G6(smc) average_r S/N ase mean sd
        median_r omega_total n_items n_obs``.
    alpha_drop : pandas.DataFrame
        One row per item: the statistics with that item dropped
        (``raw_alpha std.alpha G6(smc) average_r S/N alpha se var.r med.r``).
    item_stats : pandas.DataFrame
        One row per item: ``n raw.r std.r r.cor r.drop mean sd`` (``r.drop`` is
        the item-rest correlation).
    reversed_items : list of str
        Items reflected before the analysis.
    """

    name: str
    total: pd.DataFrame
    alpha_drop: pd.DataFrame
    item_stats: pd.DataFrame
    reversed_items: list[str]


def _smc(correlation: np.ndarray) -> np.ndarray:
    """Return squared multiple correlations 1 - 1/diag(R^-1)."""
    try:
        inverse = np.linalg.inv(correlation)
    except np.linalg.LinAlgError:
        inverse = np.linalg.pinv(correlation)
    return 1 - 1 / np.diag(inverse)


def _alpha_statistics(covariance: np.ndarray, n_obs: int) -> dict[str, float]:
    """Return alpha and its companions for one covariance matrix.

    Notes
    -----
    raw alpha = k/(k-1) (1 - tr(C) / 1'C1) (Cronbach, 1951); standardized
    alpha = k r / (1 + (k-1) r) with r the mean inter-item correlation;
    Guttman's lambda 6 = 1 - sum(1 - smc) / 1'R1; S/N = k r / (1 - r); the
    asymptotic SE of alpha follows Duhachek and Iacobucci (2004), as psych does.

    References
    ----------
    Cronbach, L. J. (1951). Coefficient alpha and the internal structure of
    tests. *Psychometrika, 16*(3), 297-334. https://doi.org/10.1007/BF02310555

    Duhachek, A., & Iacobucci, D. (2004). Alpha's standard error (ASE): An
    accurate and precise confidence interval estimate. *Journal of Applied
    Psychology, 89*(5), 792-808. https://doi.org/10.1037/0021-9010.89.5.792
    """
    k = covariance.shape[0]
    sd = np.sqrt(np.diag(covariance))
    correlation = covariance / np.outer(sd, sd)
    off_diagonal = correlation[~np.eye(k, dtype=bool)]
    average_r = float(off_diagonal.mean())
    total_variance = float(covariance.sum())
    raw_alpha = k / (k - 1) * (1 - float(np.trace(covariance)) / total_variance)
    std_alpha = k * average_r / (1 + (k - 1) * average_r)
    g6 = 1 - float(np.sum(1 - _smc(correlation))) / float(correlation.sum()) if k > 2 else average_r
    ones = np.ones(k)
    trace_v = float(np.trace(covariance))
    trace_v2 = float(np.trace(covariance @ covariance))
    quadratic = float(ones @ covariance @ ones)
    quadratic2 = float(ones @ covariance @ covariance @ ones)
    q = (2 * k**2 / ((k - 1) ** 2 * quadratic**3)) * (quadratic * (trace_v2 + trace_v**2) - 2 * trace_v * quadratic2)
    lower = correlation[np.tril_indices(k, -1)]
    return {
        "raw_alpha": raw_alpha,
        "std.alpha": std_alpha,
        "G6(smc)": g6,
        "average_r": average_r,
        "S/N": k * average_r / (1 - average_r),
        "ase": math.sqrt(q / n_obs) if q > 0 else float("nan"),
        "var.r": float(np.var(lower, ddof=1)) if len(lower) > 1 else float("nan"),
        "median_r": float(np.median(lower)),
    }


def _two_item_drop(covariance: np.ndarray, correlation: np.ndarray, kept: int) -> dict[str, float]:
    """Return psych 2.2.9's "if dropped" row of a two-item scale, in which one item is left.

    psych fills the row from the pair: raw alpha is cov(x1, x2) / var(kept
    item), G6 is r^2, the other statistics use the inter-item correlation r,
    and the SE of alpha is NA.
    """
    r = float(correlation[0, 1])
    return {
        "raw_alpha": float(covariance[0, 1] / covariance[kept, kept]),
        "std.alpha": r,
        "G6(smc)": r**2,
        "average_r": r,
        "S/N": r / (1 - r),
        "ase": float("nan"),
        "var.r": 0.0,
        "median_r": r,
    }


def omega_total(correlation: np.ndarray) -> float:
    """Return McDonald's omega total from a one-factor minres solution.

    Notes
    -----
    omega_t = 1 - sum(1 - h2_i) / 1'R1, with h2_i = lambda_i^2 the
    communalities of a one-factor minimum-residual solution of R, which is
    what ``psych::omega(x, nfactors = 1)$omega.tot`` reports.

    References
    ----------
    McDonald, R. P. (1999). *Test theory: A unified treatment*. Erlbaum.
    https://doi.org/10.4324/9781410601087
    """
    from psyval.psychometrics._factor_analyzer import FactorAnalyzer

    k = correlation.shape[0]
    if k < 3:
        return float("nan")
    analyzer = FactorAnalyzer(n_factors=1, rotation=None, method="minres", is_corr_matrix=True)
    analyzer.fit(correlation)
    loadings = analyzer.loadings_[:, 0]
    communality = loadings**2
    return float(1 - np.sum(1 - communality) / correlation.sum())


def _apply_missing_rule(frame: pd.DataFrame, missing: MissingRule, name: str) -> pd.DataFrame:
    """Return the rows that enter the analysis, warning with the counts when data are missing."""
    if missing == "listwise":
        complete = frame.dropna()
        if len(complete) < len(frame):
            logger.info("scale %s: dropped %d of %d rows with missing items", name, len(frame) - len(complete),
                        len(frame))
            warnings.warn(
                f"scale {name!r}: listwise deletion dropped {len(frame) - len(complete)} of {len(frame)} rows",
                DataQualityWarning,
                stacklevel=3,
            )
        if len(complete) < 3:
            raise PsyvalError(f"scale {name!r} has {len(complete)} complete rows: reliability needs at least 3")
        return complete
    if missing == "pairwise":
        # psych drops nothing, so rows without any answer stay in N as well.
        present = frame.notna().astype(float)
        counts = (present.T @ present).to_numpy()
        smallest = int(counts.min())
        if smallest < 3:
            raise PsyvalError(
                f"scale {name!r} has item pairs with {smallest} complete rows: reliability needs at least 3 per pair"
            )
        if smallest < len(frame):
            warnings.warn(
                f"scale {name!r}: pairwise covariances use between {smallest} and {len(frame)} rows per pair",
                DataQualityWarning,
                stacklevel=3,
            )
        return frame
    raise PsyvalError(f"unknown missing-data rule {missing!r}: use 'pairwise' or 'listwise'")


def reliability(
    data: pd.DataFrame,
    items: list[str] | None = None,
    reverse: list[str] | tuple[str, ...] = (),
    scale_range: tuple[float, float] | None = None,
    name: str = "scale",
    missing: MissingRule = "pairwise",
) -> ReliabilityResult:
    """Compute Cronbach's alpha, omega total and item statistics for one scale.

    Parameters
    ----------
    data : pandas.DataFrame
        Item responses, one column per item.
    items : list of str, optional
        Columns to use; all columns by default.
    reverse : sequence of str
        Items to reflect before the analysis, as ``min + max - x``. Normally
        the instrument's reverse-keyed items.
    scale_range : (float, float), optional
        Minimum and maximum of the response scale, for reflection. Defaults to
        the observed minimum and maximum of each reversed item.
    name : str
        Scale name used in warnings and output.
    missing : {"pairwise", "listwise"}
        ``pairwise`` (psych's default ``use = "pairwise"``) computes each
        covariance from the rows where both items are present and each
        person's mean from the items present; ``listwise`` first drops every
        row with a missing item. Either rule warns with the counts.

    Returns
    -------
    ReliabilityResult
        Tables named and laid out as ``psych::alpha()``'s ``total``,
        ``alpha.drop`` and ``item.stats``, plus omega total.

    Warns
    -----
    DataQualityWarning
        When an item's item-rest correlation is below -0.2: the item is not
        reversed automatically.

    Notes
    -----
    Total scores are item means per person (psych's default
    ``cumulative = FALSE``). ``r.cor`` corrects the item-total correlation for
    item overlap using squared multiple correlations as in psych.
    """
    items = list(items) if items is not None else [str(column) for column in data.columns]
    absent = [item for item in items if item not in data.columns]
    if absent:
        raise PsyvalError(f"items {absent!r} are not columns of the data: check the item ids or the column names")
    if len(items) < 2:
        raise PsyvalError(f"scale {name!r} has {len(items)} item(s): reliability needs at least 2")
    unknown = [item for item in reverse if item not in items]
    if unknown:
        raise PsyvalError(f"reverse-keyed items {unknown!r} are not items of scale {name!r}")
    check_unique_items(items, f"scale {name!r}")
    check_numeric_items(data, items, f"scale {name!r}")
    frame = data[items].apply(pd.to_numeric, errors="coerce")
    frame = _apply_missing_rule(frame, missing, name)
    constant = [item for item in items if frame[item].nunique() <= 1]
    if constant:
        raise PsyvalError(f"items {constant!r} of scale {name!r} are constant: drop them from the scale")
    frame = frame.copy()
    for item in reverse:
        low, high = scale_range if scale_range is not None else (frame[item].min(), frame[item].max())
        frame[item] = low + high - frame[item]
    n_obs, k = frame.shape
    # DataFrame.cov uses pairwise-complete rows with per-pair means, as R's
    # cov(x, use = "pairwise") does; on complete data it is the usual matrix.
    covariance = frame.cov().to_numpy()
    sd = np.sqrt(np.diag(covariance))
    correlation = covariance / np.outer(sd, sd)
    check_full_rank(correlation, items, int(frame.notna().sum().min()), f"scale {name!r}")
    statistics = _alpha_statistics(covariance, n_obs)
    person_means = frame.mean(axis=1, skipna=True).dropna()
    total = pd.DataFrame([{
        "raw_alpha": statistics["raw_alpha"],
        "std.alpha": statistics["std.alpha"],
        "G6(smc)": statistics["G6(smc)"],
        "average_r": statistics["average_r"],
        "S/N": statistics["S/N"],
        "ase": statistics["ase"],
        "mean": float(person_means.mean()),
        "sd": float(person_means.std(ddof=1)),
        "median_r": statistics["median_r"],
        "omega_total": omega_total(correlation),
        "n_items": k,
        "n_obs": n_obs,
    }], index=[name])
    drop_rows = []
    for i, item in enumerate(items):
        keep = [j for j in range(k) if j != i]
        if len(keep) >= 2:
            sub = _alpha_statistics(covariance[np.ix_(keep, keep)], n_obs)
        else:
            sub = _two_item_drop(covariance, correlation, keep[0])
        drop_rows.append({
            "raw_alpha": sub.get("raw_alpha", float("nan")),
            "std.alpha": sub.get("std.alpha", float("nan")),
            "G6(smc)": sub.get("G6(smc)", float("nan")),
            "average_r": sub.get("average_r", float("nan")),
            "S/N": sub.get("S/N", float("nan")),
            "alpha se": sub.get("ase", float("nan")),
            "var.r": sub.get("var.r", float("nan")),
            "med.r": sub.get("median_r", float("nan")),
        })
    alpha_drop = pd.DataFrame(drop_rows, index=items)
    smc = _smc(correlation)
    corrected = correlation.copy()
    np.fill_diagonal(corrected, smc)
    means = frame.mean(axis=1, skipna=True)
    item_rows = []
    for i, item in enumerate(items):
        # r.drop from the covariance matrix, as psych computes it: the
        # covariance of the item with the rest over sqrt(var item * var rest).
        rest = [j for j in range(k) if j != i]
        rest_covariance = float(covariance[i, rest].sum())
        rest_variance = float(covariance[np.ix_(rest, rest)].sum())
        item_rows.append({
            "n": int(frame[item].notna().sum()),
            "raw.r": float(frame[item].corr(means)),
            "std.r": float(correlation[i].sum() / math.sqrt(correlation.sum())),
            "r.cor": float(corrected[i].sum() / math.sqrt(corrected.sum())),
            "r.drop": rest_covariance / math.sqrt(covariance[i, i] * rest_variance),
            "mean": float(frame[item].mean()),
            "sd": float(frame[item].std(ddof=1)),
        })
    item_stats = pd.DataFrame(item_rows, index=items)
    for item, value in item_stats["r.drop"].items():
        if value < NEGATIVE_ITEM_REST:
            warnings.warn(
                f"item {item!r} of scale {name!r} has item-rest correlation {value:.3f}: it may need reverse keying "
                "in the instrument; psyval does not reverse it automatically",
                DataQualityWarning,
                stacklevel=2,
            )
    return ReliabilityResult(name=name, total=total, alpha_drop=alpha_drop, item_stats=item_stats,
                             reversed_items=list(reverse))
