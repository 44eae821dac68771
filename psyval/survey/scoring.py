"""Score questionnaire responses the way the PVQ is scored, and measure alignment strength.

Scoring steps for each respondent:

1. An item's answer is the mean of its answers over the variants that have
   one (missing answers are skipped); a reverse-keyed item is reflected as
   ``points + 1 - answer``.
2. A value's raw score is the mean of its items' answers. Refined, basic and
   higher-order values are each the mean over all items that belong to them,
   not a mean of lower-level means.
3. The MRAT (mean rating of all items) is the mean over every answered item;
   a centred score is the raw score minus the MRAT, which removes differences
   in overall scale use (Schwartz, 2021).

References
----------
Schwartz, S. H. (2021). A repository of Schwartz value scales with instructions
and an introduction. *Online Readings in Psychology and Culture, 2*(2).
https://doi.org/10.9707/2307-0919.1173
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from psyval.errors import DataQualityWarning, PsyvalError
from psyval.instruments.values import BASIC_VALUES
from psyval.profiles import Profile

#: Columns a responses table needs for scoring.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "respondent", "item", "value", "refined_value", "higher_value", "reverse", "scale_points", "variant", "answer",
)

#: Columns of the table returned by :func:`score_responses`.
SCORE_COLUMNS: tuple[str, ...] = (
    "respondent", "level", "value", "raw", "centred", "n_items", "n_answered", "spread", "target", "error",
)


def item_answers(responses: pd.DataFrame) -> pd.DataFrame:
    """Average each item's answers over variants and apply reverse keying.

    Returns
    -------
    pandas.DataFrame
        One row per respondent and item with columns respondent, item, value,
        refined_value, higher_value, answer (mean over answered variants,
        reverse-keyed), spread (standard deviation over answered variants,
        ``ddof=0``; NaN with fewer than two), n_variants and n_answered.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in responses.columns]
    if missing:
        raise PsyvalError(
            f"responses table is missing the columns {', '.join(missing)}: pass a responses.csv written by psyval survey"
        )
    table = responses.copy()
    table["answer"] = pd.to_numeric(table["answer"], errors="coerce")
    refined = table["refined_value"].astype(object)
    table["refined_value"] = refined.where(refined.notna(), "").astype(str)
    reverse = table["reverse"].astype(str).str.lower().isin(("true", "1"))
    table["answer"] = np.where(reverse, table["scale_points"] + 1 - table["answer"], table["answer"])
    keys = ["respondent", "item", "value", "refined_value", "higher_value"]
    grouped = table.groupby(keys, sort=False, dropna=False)["answer"]
    result = grouped.agg(
        answer="mean",
        spread=lambda s: float(s.dropna().std(ddof=0)) if s.notna().sum() > 1 else math.nan,
        n_variants="size",
        n_answered="count",
    ).reset_index()
    return result


def _level_scores(items: pd.DataFrame, level: str, column: str, mrat: float) -> list[dict[str, object]]:
    rows = []
    for value, group in items.groupby(column, sort=False):
        if level == "refined" and not value:
            continue
        answered = group["answer"].dropna()
        raw = float(answered.mean()) if len(answered) else math.nan
        rows.append(
            {
                "level": level,
                "value": value,
                "raw": raw,
                "centred": raw - mrat,
                "n_items": len(group),
                "n_answered": len(answered),
                "spread": float(group["spread"].mean()) if group["spread"].notna().any() else math.nan,
            }
        )
    return rows


def score_items(items: pd.DataFrame, respondent: str) -> pd.DataFrame:
    """Score one respondent's item answers (from :func:`item_answers`)."""
    answered = items["answer"].dropna()
    mrat = float(answered.mean()) if len(answered) else math.nan
    rows: list[dict[str, object]] = []
    rows += _level_scores(items, "basic", "value", mrat)
    rows += _level_scores(items, "higher", "higher_value", mrat)
    rows += _level_scores(items, "refined", "refined_value", mrat)
    rows.append(
        {"level": "mrat", "value": "mrat", "raw": mrat, "centred": 0.0, "n_items": len(items),
         "n_answered": len(answered), "spread": float(items["spread"].mean()) if items["spread"].notna().any() else math.nan}
    )
    for item in items.itertuples():
        rows.append(
            {"level": "item", "value": item.item, "raw": item.answer, "centred": item.answer - mrat,
             "n_items": 1, "n_answered": int(not math.isnan(item.answer)), "spread": item.spread}
        )
    empty = [row["value"] for row in rows if row["level"] in ("basic", "higher", "refined") and row["n_answered"] == 0]
    if empty:
        warnings.warn(
            f"respondent {respondent!r}: no answered items for {empty!r}; their scores are NaN",
            DataQualityWarning,
            stacklevel=2,
        )
    table = pd.DataFrame(rows)
    table.insert(0, "respondent", respondent)
    return table


@dataclass(frozen=True)
class Alignment:
    """Alignment strength of a measured basic-value profile against a target profile.

    Attributes
    ----------
    nmse
        Mean squared difference of the profiles after rescaling both with
        ``(s - 1) / 5`` to 0-1; 0 is a perfect match, 1 the worst possible.
    r
        Pearson correlation of the centred target and the MRAT-centred measured
        profile; NaN when either profile is constant.
    errors
        Basic value -> rescaled measured minus rescaled target.
    """

    nmse: float
    r: float
    errors: dict[str, float]


def alignment_strength(measured_raw: pd.Series, target: Profile, measured_centred: pd.Series | None = None) -> Alignment:
    """Compare measured basic-value scores with a target profile.

    Parameters
    ----------
    measured_raw
        Raw mean (1-6, higher = more like me) per basic value id.
    target
        The target profile (1-6 importance per basic value).
    measured_centred
        MRAT-centred scores for the correlation; defaults to ``measured_raw``
        minus its mean. Pearson's r is unchanged by subtracting a constant,
        so both give the same r.

    Notes
    -----
    With target :math:`t_v` and measured :math:`s_v` on the 1-6 scale, and
    :math:`\\tilde x = (x - 1) / 5`,

    .. math:: \\mathrm{NMSE} = \\frac{1}{10} \\sum_v (\\tilde s_v - \\tilde t_v)^2 .

    Normalising by the scale range keeps NMSE in 0-1 whatever the scale.
    Values whose measured score is NaN are left out of both statistics.
    """
    if measured_raw.isna().all():
        raise PsyvalError("cannot compute alignment strength: every measured basic value is missing")
    target_series = target.as_series()
    measured = measured_raw.reindex(list(BASIC_VALUES))
    keep = measured.notna()
    rescaled_measured = (measured[keep] - 1.0) / 5.0
    rescaled_target = (target_series[keep] - 1.0) / 5.0
    errors = (rescaled_measured - rescaled_target).astype(float)
    nmse = float((errors**2).mean())
    centred = (measured_centred.reindex(list(BASIC_VALUES)) if measured_centred is not None else measured - measured.mean())[keep]
    centred_target = target_series[keep] - target_series[keep].mean()
    if centred.std(ddof=0) == 0 or centred_target.std(ddof=0) == 0 or keep.sum() < 3:
        warnings.warn(
            f"profile correlation with target {target.name!r} is undefined (a constant profile or "
            "fewer than 3 values); r is NaN",
            DataQualityWarning,
            stacklevel=2,
        )
        r = math.nan
    else:
        r = float(np.corrcoef(centred.to_numpy(float), centred_target.to_numpy(float))[0, 1])
    return Alignment(nmse=nmse, r=r, errors={str(k): float(v) for k, v in errors.items()})


def score_responses(responses: pd.DataFrame, targets: dict[str, Profile] | None = None) -> pd.DataFrame:
    """Score a long responses table, one respondent at a time.

    Parameters
    ----------
    responses
        Rows as written to ``responses.csv`` (see :data:`REQUIRED_COLUMNS`).
    targets
        Respondent -> target profile, to fill ``target`` and ``error`` of the
        basic-value rows.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SCORE_COLUMNS`. ``level`` is ``"basic"``, ``"higher"``,
        ``"refined"`` (instruments with refined values), ``"mrat"`` or
        ``"item"``. ``raw`` is the mean answer (1 to the number of points,
        higher = more like me); ``centred`` is raw minus the respondent's MRAT;
        ``spread`` is the standard deviation over variants (items) or its
        mean over a value's items; ``target`` is the target importance and
        ``error`` the rescaled difference used by NMSE (basic rows only).
    """
    items = item_answers(responses)
    tables = []
    for respondent, group in items.groupby("respondent", sort=False):
        table = score_items(group, str(respondent))
        table["target"] = math.nan
        table["error"] = math.nan
        profile = (targets or {}).get(str(respondent))
        if profile is not None:
            basic = table["level"] == "basic"
            table.loc[basic, "target"] = table.loc[basic, "value"].map(profile.values)
            table.loc[basic, "error"] = (table.loc[basic, "raw"] - table.loc[basic, "target"]) / 5.0
        tables.append(table)
    if not tables:
        raise PsyvalError("responses table has no rows to score")
    return pd.concat(tables, ignore_index=True)[list(SCORE_COLUMNS)]


def basic_scores(scores: pd.DataFrame, respondent: str, column: str = "raw") -> pd.Series:
    """Return one respondent's basic-value scores (``raw`` or ``centred``) as a Series."""
    rows = scores[(scores["respondent"] == respondent) & (scores["level"] == "basic")]
    return rows.set_index("value")[column].astype(float)


__all__ = [
    "Alignment",
    "REQUIRED_COLUMNS",
    "SCORE_COLUMNS",
    "alignment_strength",
    "basic_scores",
    "item_answers",
    "score_items",
    "score_responses",
]
