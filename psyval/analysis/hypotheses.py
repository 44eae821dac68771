"""Value-harm hypotheses: loading ``hypotheses.yaml`` and the verdict table."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from psyval.analysis.correlations import CorrelationMethod, correlate, correlation_ci
from psyval.analysis.multitest import adjust_pvalues
from psyval.analysis.values import BASIC_VALUES, HARM_CATEGORIES, HIGHER_ORDER, REFINED_VALUES
from psyval.errors import PsyvalError
from psyval.yaml_input import describe_yaml_error, load_yaml

Verdict = Literal["supported", "contradicted", "inconclusive"]
Evidence = Literal["empirical", "theory", "exploratory"]

_KNOWN_VALUES = set(BASIC_VALUES) | set(REFINED_VALUES) | set(HIGHER_ORDER)
_KNOWN_CATEGORIES = set(HARM_CATEGORIES) | {"overall"}
_SIGNS = {"+": 1, "-": -1}

VERDICT_COLUMNS: tuple[str, ...] = (
    "id", "value", "category", "expected", "evidence", "family", "method", "n",
    "estimate", "ci_lower", "ci_upper", "p", "p_adjusted", "verdict", "note",
)


@dataclass(frozen=True)
class Hypothesis:
    """One expected value-harm link."""

    id: str
    value: str
    category: str
    sign: Literal["+", "-"]
    rationale: str
    evidence: Evidence
    sources: tuple[dict[str, str], ...] = ()

    @property
    def value_column(self) -> str:
        return f"value_{self.value}"

    @property
    def harm_column(self) -> str:
        return f"harm_{self.category}"


@dataclass(frozen=True)
class DecisionRule:
    """How a hypothesis test becomes a verdict."""

    method: CorrelationMethod = "spearman"
    alpha: float = 0.05
    adjust: Literal["holm", "fdr_bh"] = "holm"
    level: float = 0.95

    def describe(self) -> str:
        """Return the rule as one paragraph for the report."""
        adjust_name = "Holm" if self.adjust == "holm" else "Benjamini-Hochberg"
        coefficient = "Spearman's rho" if self.method == "spearman" else "Pearson's r"
        return (
            f"Each hypothesis is tested with {coefficient} between the MRAT-centred value score "
            f"and the mean harmfulness score of the category (1-5), over the rows analysed. "
            f"p-values are two-sided and {adjust_name}-adjusted within each family "
            f"(hypotheses with a literature source form the confirmatory family, the rest the "
            f"exploratory family). A hypothesis is supported when the adjusted p is below "
            f"{self.alpha:g} and the estimate has the expected sign, contradicted when the "
            f"adjusted p is below {self.alpha:g} and the sign is opposite, and inconclusive "
            f"otherwise, including when the correlation is undefined because a column is constant. "
            f"Intervals are {self.level:.0%} Fisher-z intervals."
        )


@dataclass(frozen=True)
class HypothesisSet:
    """The hypotheses of one file and the rule that decides them."""

    hypotheses: tuple[Hypothesis, ...]
    rule: DecisionRule = field(default_factory=DecisionRule)
    path: str = ""


_FIELDS_IN_WORDS = "the fields id, value, category, sign and rationale"


def _describe_non_mapping(entry: object) -> str:
    """Say what a ``hypotheses`` list item that is not a mapping is, such as "is empty" for a bare '-'."""
    if entry is None:
        return "is empty"
    if isinstance(entry, str):
        return f"is the text {entry!r}, not a mapping"
    if isinstance(entry, list):
        return "is a list, not a mapping"
    return f"is the value {entry!r}, not a mapping"


def _require(entry: dict[str, Any], key: str, where: str) -> Any:
    if key not in entry or entry[key] in (None, ""):
        raise PsyvalError(f"{where}: missing field {key!r}; every hypothesis needs id, value, category, sign, rationale")
    return entry[key]


def _yaml_error_message(path: Path, error: yaml.YAMLError) -> str:
    """Build a one-line message for a YAML syntax error, with the 1-based line and column PyYAML reports."""
    return f"hypotheses file {str(path)!r} is not valid YAML: {describe_yaml_error(error)}; fix the syntax there"


def load_hypotheses(path: str | Path) -> HypothesisSet:
    """Load and validate a hypotheses YAML file.

    Raises
    ------
    PsyvalError
        If the file is missing, is not UTF-8 YAML, or is not a mapping with a
        ``hypotheses`` list. Also if it lists no hypotheses, names an unknown
        value or harm category, has a sign other than ``+`` or ``-``, repeats
        an id, or gives a non-exploratory hypothesis no source.
    """
    path = Path(path)
    if not path.is_file():
        raise PsyvalError(f"hypotheses file {str(path)!r} not found; pass an existing YAML file")
    try:
        document = load_yaml(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise PsyvalError(
            f"hypotheses file {str(path)!r} is not UTF-8 text ({error.reason} at byte {error.start}): "
            "save it as a UTF-8 YAML file"
        ) from error
    except yaml.YAMLError as error:
        raise PsyvalError(_yaml_error_message(path, error)) from error
    if isinstance(document, dict) and "hypotheses" in document and document["hypotheses"] in (None, []):
        raise PsyvalError(
            f"hypotheses file {str(path)!r} has no hypotheses: add at least one entry under 'hypotheses' with "
            f"{_FIELDS_IN_WORDS}"
        )
    if not isinstance(document, dict) or not isinstance(document.get("hypotheses"), list):
        raise PsyvalError(f"hypotheses file {str(path)!r} must be a mapping with a 'hypotheses' list")
    decision = document.get("decision") or {}
    rule = DecisionRule(
        method=decision.get("method", "spearman"),
        alpha=float(decision.get("alpha", 0.05)),
        adjust=decision.get("adjust", "holm"),
        level=float(decision.get("level", 0.95)),
    )
    if rule.method not in ("pearson", "spearman"):
        raise PsyvalError(f"{path}: decision.method {rule.method!r} is invalid; use 'pearson' or 'spearman'")
    if rule.adjust not in ("holm", "fdr_bh"):
        raise PsyvalError(f"{path}: decision.adjust {rule.adjust!r} is invalid; use 'holm' or 'fdr_bh'")
    if not 0 < rule.alpha < 1 or not 0 < rule.level < 1:
        raise PsyvalError(f"{path}: decision alpha {rule.alpha!r} and level {rule.level!r} must lie in (0, 1)")
    hypotheses: list[Hypothesis] = []
    seen: set[str] = set()
    for index, entry in enumerate(document["hypotheses"]):
        where = f"{path} hypothesis #{index + 1}"
        if not isinstance(entry, dict):
            raise PsyvalError(f"{where} {_describe_non_mapping(entry)}: give it {_FIELDS_IN_WORDS}")
        identifier = str(_require(entry, "id", where))
        where = f"{path} hypothesis {identifier!r}"
        if identifier in seen:
            raise PsyvalError(f"{where}: duplicate id; give each hypothesis its own id")
        seen.add(identifier)
        value = str(_require(entry, "value", where))
        if value not in _KNOWN_VALUES:
            raise PsyvalError(f"{where}: unknown value {value!r}; use a basic, refined or higher-order value id")
        category = str(_require(entry, "category", where))
        if category not in _KNOWN_CATEGORIES:
            raise PsyvalError(f"{where}: unknown harm category {category!r}; use one of {sorted(_KNOWN_CATEGORIES)}")
        sign = str(_require(entry, "sign", where))
        if sign not in _SIGNS:
            raise PsyvalError(f"{where}: sign {sign!r} is invalid; use '+' or '-'")
        evidence = str(entry.get("evidence", "exploratory"))
        if evidence not in ("empirical", "theory", "exploratory"):
            raise PsyvalError(f"{where}: evidence {evidence!r} is invalid; use empirical, theory or exploratory")
        sources = tuple(dict(source) for source in entry.get("sources") or ())
        if evidence != "exploratory" and not sources:
            raise PsyvalError(f"{where}: evidence {evidence!r} needs at least one source; mark it exploratory otherwise")
        hypotheses.append(Hypothesis(
            id=identifier, value=value, category=category, sign=sign,  # type: ignore[arg-type]
            rationale=str(_require(entry, "rationale", where)).strip(),
            evidence=evidence, sources=sources,  # type: ignore[arg-type]
        ))
    return HypothesisSet(hypotheses=tuple(hypotheses), rule=rule, path=str(path))


def decide(estimate: float, p_adjusted: float, sign: str, alpha: float) -> Verdict:
    """Apply the decision rule of :meth:`DecisionRule.describe` to one test."""
    if math.isnan(estimate) or math.isnan(p_adjusted) or p_adjusted >= alpha or estimate == 0:
        return "inconclusive"
    return "supported" if np.sign(estimate) == _SIGNS[sign] else "contradicted"


def verdict_table(respondents: pd.DataFrame, hypothesis_set: HypothesisSet) -> pd.DataFrame:
    """Test every hypothesis and return the verdict table.

    Parameters
    ----------
    respondents
        Respondent table with the ``value_<id>`` and ``harm_<category>``
        columns the hypotheses name (see
        :func:`psyval.analysis.values.add_value_scores` for higher-order scores).
    hypothesis_set
        Hypotheses and decision rule from :func:`load_hypotheses`.

    Returns
    -------
    pandas.DataFrame
        One row per hypothesis with columns ``id``, ``value``, ``category``,
        ``expected`` (sign), ``evidence``, ``family`` (confirmatory or
        exploratory), ``method``, ``n``, ``estimate``, ``ci_lower``,
        ``ci_upper``, ``p``, ``p_adjusted``, ``verdict`` and ``note`` (why an
        estimate is undefined, else empty). A hypothesis whose columns are
        absent or constant gets NaN statistics and an inconclusive verdict.
    """
    rule = hypothesis_set.rule
    rows: list[dict[str, Any]] = []
    for hypothesis in hypothesis_set.hypotheses:
        columns = (hypothesis.value_column, hypothesis.harm_column)
        absent = [column for column in columns if column not in respondents]
        note = ""
        if absent:
            r, p, n = math.nan, math.nan, 0
            note = f"column {', '.join(absent)} not in the table"
        else:
            r, p, n = correlate(respondents[columns[0]], respondents[columns[1]], rule.method)
            constant = [column for column in columns if respondents[column].dropna().nunique() < 2]
            if constant:
                note = f"undefined: {', '.join(constant)} is constant"
            elif n < 3:
                note = f"undefined: {n} complete pairs"
        lower, upper = correlation_ci(r, n, rule.method, rule.level)
        rows.append({
            "id": hypothesis.id, "value": hypothesis.value, "category": hypothesis.category,
            "expected": hypothesis.sign, "evidence": hypothesis.evidence,
            "family": "exploratory" if hypothesis.evidence == "exploratory" else "confirmatory",
            "method": rule.method, "n": n, "estimate": r, "ci_lower": lower, "ci_upper": upper, "p": p,
            "note": note,
        })
    table = pd.DataFrame(rows, columns=[column for column in VERDICT_COLUMNS if column not in ("p_adjusted", "verdict")])
    table["p_adjusted"] = np.nan
    for _family, members in table.groupby("family").groups.items():
        table.loc[members, "p_adjusted"] = adjust_pvalues(table.loc[members, "p"].to_numpy(dtype=float), rule.adjust)
    signs = {hypothesis.id: hypothesis.sign for hypothesis in hypothesis_set.hypotheses}
    table["verdict"] = [
        decide(float(row.estimate), float(row.p_adjusted), signs[row.id], rule.alpha)
        for row in table.itertuples()
    ]
    return table[list(VERDICT_COLUMNS)]
