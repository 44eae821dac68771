"""APA-style tables as DataFrames of formatted strings, shared by HTML and Markdown.

Numbers follow APA 7: two decimals, no leading zero for quantities that
cannot exceed 1 (correlations, p-values, alpha), p below .001 as "< .001".
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from psyval.analysis import AnalysisResult
from psyval.analysis.correlations import CorrelationMethod, correlation_matrix, significance_marks
from psyval.analysis.sem import SemOutcome

DASH = "—"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value: Any, digits: int = 2) -> str:
    """Format a number with ``digits`` decimals; missing values become a dash."""
    if _missing(value):
        return DASH
    return f"{float(value):.{digits}f}"


def bounded(value: Any, digits: int = 2) -> str:
    """Format a quantity bounded by 1 without the leading zero (APA)."""
    if _missing(value):
        return DASH
    text = f"{float(value):.{digits}f}"
    return text.replace("0.", ".", 1) if abs(float(value)) < 1 else text


def p_value(value: Any) -> str:
    """Format a p-value: three decimals, no leading zero, ``< .001`` below .001."""
    if _missing(value):
        return DASH
    return "< .001" if float(value) < 0.001 else bounded(value, 3)


def label(column: str) -> str:
    """Turn a column name such as ``value_self_direction`` into ``self direction``."""
    for prefix in ("value_", "harm_", "raw_"):
        if column.startswith(prefix):
            column = column[len(prefix):]
    return column.replace("_", " ")


def descriptives(result: AnalysisResult) -> pd.DataFrame:
    """Table of N, M, SD and Cronbach's alpha for raw value means, centred scores and harm."""
    kinds = {"raw_": "raw mean (1-6)", "value_": "MRAT-centred", "harm_": "harm (1-5)"}
    rows = []
    for row in result.descriptives.itertuples():
        kind = next((name for prefix, name in kinds.items() if row.variable.startswith(prefix)), "")
        rows.append({"Variable": label(row.variable), "Score": kind, "N": str(row.n), "M": number(row.mean),
                     "SD": number(row.sd), "α": bounded(row.alpha) if row.n_items else DASH})
    return pd.DataFrame(rows)


def correlations(result: AnalysisResult, method: CorrelationMethod, adjusted: str = "p_bh") -> pd.DataFrame:
    """Value x harm correlation matrix, each cell ``r`` with stars from the adjusted p."""
    r = correlation_matrix(result.correlations, method, "r")
    p = correlation_matrix(result.correlations, method, adjusted)
    cells = {
        label(column): [f"{bounded(r.at[row, column])}{significance_marks(p.at[row, column])}" for row in r.index]
        for column in r.columns
    }
    table = pd.DataFrame(cells)
    table.insert(0, "Value", [label(row) for row in r.index])
    return table


def verdicts(result: AnalysisResult) -> pd.DataFrame:
    """Hypothesis verdict table."""
    rows = []
    for row in result.verdicts.itertuples():
        rows.append({
            "ID": row.id, "Value": label(row.value), "Harm": label(row.category), "Expected": row.expected,
            "Evidence": row.evidence, "n": str(row.n), "Estimate": bounded(row.estimate),
            "95% CI": f"[{bounded(row.ci_lower)}, {bounded(row.ci_upper)}]", "p": p_value(row.p),
            "p (adj.)": p_value(row.p_adjusted), "Verdict": row.verdict, "Note": row.note,
        })
    return pd.DataFrame(rows)


def safety(result: AnalysisResult) -> pd.DataFrame:
    """Paired safety-condition comparison table."""
    rows = []
    for row in result.safety.itertuples():
        rows.append({
            "Outcome": label(row.outcome), "Condition": row.condition, "Reference": row.reference,
            "Pairs": str(row.n_pairs), "M (cond.)": number(row.mean_condition), "M (ref.)": number(row.mean_reference),
            "Difference": number(row.mean_difference), "95% CI": f"[{number(row.ci_lower)}, {number(row.ci_upper)}]",
            "t": number(row.t), "df": str(int(row.df)), "p": p_value(row.p), "p (Holm)": p_value(row.p_holm),
            "d_z": number(row.cohens_dz), "Wilcoxon p": p_value(row.wilcoxon_p),
        })
    return pd.DataFrame(rows)


def fit_indices(outcomes: list[SemOutcome]) -> pd.DataFrame:
    """Fit indices of every SEM: chi-square test, CFI, TLI, RMSEA with its 90% CI, SRMR."""
    rows = []
    for outcome in outcomes:
        fit = outcome.fit_measures
        if outcome.result is None:
            rows.append({"Model": outcome.name, "N": str(outcome.n), "χ²": DASH, "df": DASH, "p": DASH,
                         "CFI": DASH, "TLI": DASH, "RMSEA [90% CI]": DASH, "SRMR": DASH,
                         "Note": f"not fitted: {outcome.error}"})
            continue
        rmsea = DASH if _missing(fit.get("rmsea")) else (
            f"{bounded(fit.get('rmsea'), 3)} [{bounded(fit.get('rmsea.ci.lower'), 3)}, "
            f"{bounded(fit.get('rmsea.ci.upper'), 3)}]")
        degrees = fit.get("df")
        rows.append({
            "Model": outcome.name, "N": str(outcome.n), "χ²": number(fit.get("chisq")),
            "df": DASH if _missing(degrees) else str(int(degrees)), "p": p_value(fit.get("pvalue")),
            "CFI": bounded(fit.get("cfi"), 3), "TLI": bounded(fit.get("tli"), 3), "RMSEA [90% CI]": rmsea,
            "SRMR": bounded(fit.get("srmr"), 3), "Note": "; ".join(outcome.warnings) or "",
        })
    return pd.DataFrame(rows)


def path_coefficients(outcome: SemOutcome) -> pd.DataFrame:
    """Loadings, regressions and covariances of one SEM with unstandardized and std.all estimates."""
    parameters = outcome.parameters
    if parameters.empty:
        return pd.DataFrame()
    selected = parameters[parameters["op"].isin(["=~", "~", "~~"])]
    selected = selected[~((selected["op"] == "~~") & (selected["lhs"] == selected["rhs"]))]
    rows = []
    for _, row in selected.iterrows():
        rows.append({
            "Path": f"{row['lhs']} {row['op']} {row['rhs']}", "B": number(row.get("est"), 3),
            "SE": number(row.get("se"), 3), "z": number(row.get("z")), "p": p_value(row.get("pvalue")),
            "95% CI": f"[{number(row.get('ci.lower'), 3)}, {number(row.get('ci.upper'), 3)}]",
            "β": number(row.get("std.all"), 3),
        })
    return pd.DataFrame(rows)
