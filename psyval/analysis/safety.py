"""Paired comparison of harm across in-context safety conditions."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from psyval.analysis.multitest import adjust_pvalues
from psyval.errors import DataQualityWarning, PsyvalError

# Names a study may give its no-intervention safety condition, most specific
# first; the first one present is the reference of the paired comparisons.
REFERENCE_NAMES: tuple[str, ...] = ("input-only", "input_only", "none", "baseline", "control")

# A respondent's identity across safety conditions. ``condition`` is not among
# them because ``psyval run`` names it "<profile>.<safety condition>"; it is
# used only for tables that have no ``profile`` column.
PAIR_KEYS: tuple[str, ...] = ("model", "profile", "replicate")

SAFETY_COLUMNS: tuple[str, ...] = (
    "outcome", "reference", "condition", "n_pairs", "mean_reference", "mean_condition",
    "mean_difference", "sd_difference", "ci_lower", "ci_upper", "t", "df", "p", "p_holm",
    "cohens_dz", "wilcoxon_p",
)


def pick_reference(levels: Sequence[str]) -> str:
    """Return the reference safety condition: a known no-intervention name, else the first level."""
    for name in REFERENCE_NAMES:
        if name in levels:
            return name
    return sorted(levels)[0]


def paired_difference(reference: np.ndarray, treatment: np.ndarray, level: float = 0.95) -> dict[str, float]:
    """Compare paired scores with a t test, its interval, Cohen's d_z and Wilcoxon's test.

    Returns
    -------
    dict
        ``n_pairs``, ``mean_reference``, ``mean_condition``,
        ``mean_difference`` (treatment minus reference), ``sd_difference``,
        ``ci_lower``/``ci_upper`` (t interval of the mean difference), ``t``,
        ``df``, ``p`` (two-sided paired t test, as R's
        ``t.test(treatment, reference, paired = TRUE)``), ``cohens_dz`` (mean
        difference over its SD) and ``wilcoxon_p`` (two-sided signed-rank test
        with zero differences dropped, scipy's default, as R's
        ``wilcox.test(..., paired = TRUE, exact = FALSE, correct = FALSE)``).
        Test statistics are NaN when every difference is the same.

    References
    ----------
    Lakens, D. (2013). Calculating and reporting effect sizes to facilitate
        cumulative science: A practical primer for t-tests and ANOVAs.
        *Frontiers in Psychology, 4*, 863. https://doi.org/10.3389/fpsyg.2013.00863
    """
    difference = np.asarray(treatment, dtype=float) - np.asarray(reference, dtype=float)
    n = difference.size
    mean = float(difference.mean()) if n else math.nan
    sd = float(difference.std(ddof=1)) if n > 1 else math.nan
    out = {
        "n_pairs": float(n), "mean_reference": float(np.mean(reference)) if n else math.nan,
        "mean_condition": float(np.mean(treatment)) if n else math.nan, "mean_difference": mean,
        "sd_difference": sd, "ci_lower": math.nan, "ci_upper": math.nan, "t": math.nan,
        "df": float(n - 1), "p": math.nan, "cohens_dz": math.nan, "wilcoxon_p": math.nan,
    }
    if n < 2 or sd == 0 or math.isnan(sd):
        return out
    se = sd / math.sqrt(n)
    t_crit = stats.t.ppf(0.5 + level / 2.0, n - 1)
    t_value = mean / se
    out.update({
        "ci_lower": mean - t_crit * se, "ci_upper": mean + t_crit * se, "t": t_value,
        "p": float(2.0 * stats.t.sf(abs(t_value), n - 1)), "cohens_dz": mean / sd,
    })
    nonzero = difference[difference != 0]
    if nonzero.size > 0:
        out["wilcoxon_p"] = float(stats.wilcoxon(nonzero, method="approx").pvalue)
    return out


def compare_safety_conditions(
    respondents: pd.DataFrame,
    outcomes: Sequence[str] = ("harm_overall",),
    reference: str | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Compare each safety condition with the reference on the same respondents.

    Rows are paired on the columns of :data:`PAIR_KEYS` present in the table,
    so each pair is the same model, value profile and replicate with and
    without the safety intervention.

    Parameters
    ----------
    respondents
        Respondent table with a ``safety_condition`` column.
    outcomes
        Columns to compare, for example ``harm_overall``.
    reference
        The safety condition to compare against; by default the first of
        :data:`REFERENCE_NAMES` present, else the alphabetically first level.
    level
        Confidence level of the intervals.

    Returns
    -------
    pandas.DataFrame
        One row per outcome and non-reference condition, with the columns of
        :func:`paired_difference` plus ``outcome``, ``reference``,
        ``condition`` and ``p_holm`` (Holm-adjusted over all rows). Empty when
        the table has fewer than two safety conditions.
    """
    if "safety_condition" not in respondents.columns:
        raise PsyvalError("respondent table has no 'safety_condition' column; it is needed to compare safety conditions")
    levels = [str(level_) for level_ in pd.unique(respondents["safety_condition"].dropna())]
    if len(levels) < 2:
        return pd.DataFrame(columns=list(SAFETY_COLUMNS))
    reference = reference or pick_reference(levels)
    if reference not in levels:
        raise PsyvalError(f"reference safety condition {reference!r} not in the data; available: {levels!r}")
    keys = [key for key in PAIR_KEYS if key in respondents.columns]
    if "profile" not in keys and "condition" in respondents.columns:
        keys.append("condition")
    if not keys:
        raise PsyvalError(f"respondent table has none of the pairing columns {list(PAIR_KEYS)!r}")
    rows: list[dict[str, object]] = []
    for outcome in outcomes:
        if outcome not in respondents.columns:
            raise PsyvalError(f"outcome column {outcome!r} not in the respondent table")
        repeated = int(respondents.duplicated([*keys, "safety_condition"]).sum())
        if repeated:
            warnings.warn(
                f"{outcome}: {repeated} rows repeat a respondent ({', '.join(keys)}) within a safety condition; "
                f"their {outcome} values are averaged before pairing",
                DataQualityWarning,
                stacklevel=2,
            )
        wide = respondents.pivot_table(index=keys, columns="safety_condition", values=outcome, aggfunc="mean")
        for condition in levels:
            if condition == reference:
                continue
            pairs = wide[[reference, condition]].dropna()
            if len(pairs) < len(wide):
                warnings.warn(
                    f"{outcome}: {len(wide) - len(pairs)} respondents lack a {reference!r} or {condition!r} row "
                    f"and are left out of the paired comparison",
                    DataQualityWarning,
                    stacklevel=2,
                )
            result = paired_difference(pairs[reference].to_numpy(), pairs[condition].to_numpy(), level)
            rows.append({"outcome": outcome, "reference": reference, "condition": condition, **result})
    table = pd.DataFrame(rows)
    table["p_holm"] = adjust_pvalues(table["p"].to_numpy(dtype=float), "holm")
    table["n_pairs"] = table["n_pairs"].astype(int)
    return table[list(SAFETY_COLUMNS)]
