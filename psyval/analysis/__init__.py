"""Statistical analysis of a study's respondent table.

:func:`analyze` runs, on one respondent table:

* value x harm correlations (Pearson and Spearman, Holm and BH adjusted);
* the hypothesis verdict table under a stated decision rule;
* paired comparisons of harm across the in-context safety conditions;
* the lavaan-syntax SEMs of the analyses folder;
* M, SD and Cronbach's alpha per value.

Value-harm statistics use the respondents of the reference safety condition
(no safety instruction), because a safety instruction is an intervention on
harm and repeating the same value scores under every safety condition would
count each respondent several times. The safety comparison uses all rows.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from psyval.analysis.correlations import correlation_table
from psyval.analysis.descriptives import describe_columns, value_correlation_matrix
from psyval.analysis.hypotheses import HypothesisSet, load_hypotheses, verdict_table
from psyval.analysis.safety import compare_safety_conditions, pick_reference
from psyval.analysis.sem import SemOutcome, check_sem_folder, fit_sem_folder
from psyval.analysis.values import (
    BASIC_VALUES,
    HIGHER_ORDER,
    add_value_scores,
    harm_columns,
    value_columns,
)
from psyval.errors import PsyvalError
from psyval.resources import bundled_file, data_dir

logger = logging.getLogger(__name__)


@dataclass
class AnalysisResult:
    """Every table :func:`analyze` computes, ready for the report.

    Attributes
    ----------
    respondents
        The full table with derived basic and higher-order value columns.
    population
        The rows the value-harm statistics use.
    population_note
        One sentence saying which rows those are.
    values, higher_order_values, categories
        Value ids and harm category ids found in the table, in circumplex and
        HEx-PHI order.
    correlations
        Long table from :func:`psyval.analysis.correlations.correlation_table`
        (values and higher-order values x harm categories and ``harm_overall``).
    hypotheses, verdicts
        The loaded hypotheses and the verdict table.
    safety
        Paired safety-condition comparisons (empty with one condition).
    sem
        One :class:`psyval.analysis.sem.SemOutcome` per ``.lav`` file.
    descriptives
        M, SD and alpha of the value scores and harm scores.
    value_correlations
        Pearson correlations among the basic value scores, for the MDS plot.
    """

    respondents: pd.DataFrame
    population: pd.DataFrame
    population_note: str
    values: list[str]
    higher_order_values: list[str]
    categories: list[str]
    correlations: pd.DataFrame
    hypotheses: HypothesisSet
    verdicts: pd.DataFrame
    safety: pd.DataFrame
    sem: list[SemOutcome] = field(default_factory=list)
    descriptives: pd.DataFrame = field(default_factory=pd.DataFrame)
    value_correlations: pd.DataFrame = field(default_factory=pd.DataFrame)
    reference_safety: str | None = None


def select_population(respondents: pd.DataFrame) -> tuple[pd.DataFrame, str, str | None]:
    """Return the rows of the reference safety condition, a sentence naming them, and that condition.

    The condition is None when the table has fewer than two safety conditions
    and every row is used.
    """
    if "safety_condition" not in respondents.columns:
        return respondents, f"All {len(respondents)} respondents (the table has no safety conditions).", None
    levels = [str(level) for level in pd.unique(respondents["safety_condition"].dropna())]
    if len(levels) < 2:
        return respondents, f"All {len(respondents)} respondents (one safety condition).", None
    reference = pick_reference(levels)
    rows = respondents[respondents["safety_condition"].astype(str) == reference]
    note = (
        f"The {len(rows)} respondents of the reference safety condition {reference!r} "
        f"(of {len(respondents)} rows over {len(levels)} safety conditions)."
    )
    return rows, note, reference


def _missing_scores_message(respondents: pd.DataFrame, values: list[str], categories: list[str]) -> str:
    """Build the error for a respondent table without value or harm score columns, listing the columns it has."""
    missing = []
    if not values:
        missing.append("value_<id>")
    if not categories:
        missing.append("harm_<category>")
    columns = [str(column) for column in respondents.columns]
    column_list = ", ".join(columns[:12]) + (f" and {len(columns) - 12} more" if len(columns) > 12 else "")
    if not categories and "harm_overall" in columns:
        column_list += " (harm_overall is the mean over all probes, not a category)"
    return (
        f"respondent table has no {' or '.join(missing)} columns, only {column_list}: analyse the respondents.csv that "
        "`psyval run` writes, with one value_<id> column per value and one harm_<category> column per harm category"
    )


def analyze(
    respondents: pd.DataFrame,
    analyses_dir: str | Path | None = None,
    hypotheses_path: str | Path | None = None,
    item_values: Mapping[str, str] | None = None,
    outcomes: Sequence[str] = ("harm_overall",),
    check_models: bool = False,
) -> AnalysisResult:
    """Run every analysis of a study on its respondent table.

    Parameters
    ----------
    respondents
        One row per respondent with ``value_<id>``, ``raw_<id>`` and
        ``harm_<category>`` columns (see the results-folder contract in
        ``docs/studies.md``).
    analyses_dir
        Folder of ``.lav`` SEM files; the bundled ``analyses/`` by default.
    hypotheses_path
        Hypotheses YAML file; ``hypotheses.yaml`` of ``analyses_dir`` by default.
    item_values
        Item id -> value id, used for Cronbach's alpha; alpha is left out without it.
    outcomes
        Columns of the safety-condition comparison.
    check_models
        Raise before any analysis runs when a ``.lav`` file is empty, has a
        syntax error or names a variable that is neither latent nor a column,
        as :func:`psyval.analysis.sem.check_sem_file` does. Without it, such a
        model is left unfitted with a warning, which suits the bundled models
        on a study that lacks some of their columns.

    Returns
    -------
    AnalysisResult
    """
    if respondents.empty:
        raise PsyvalError("respondent table is empty; run the study before analysing it")
    analyses_dir = Path(analyses_dir) if analyses_dir is not None else data_dir("analyses")
    if hypotheses_path is None:
        local = analyses_dir / "hypotheses.yaml"
        hypotheses_path = local if local.is_file() else bundled_file("analyses", "hypotheses.yaml")
    table = add_value_scores(add_value_scores(respondents, "value_"), "raw_")
    values = [value for value in value_columns(table) if value not in HIGHER_ORDER]
    higher = [value for value in HIGHER_ORDER if f"value_{value}" in table.columns]
    categories = harm_columns(table)
    if not values or not categories:
        raise PsyvalError(_missing_scores_message(respondents, values, categories))
    if check_models:
        check_sem_folder(analyses_dir, [str(column) for column in table.columns])
    population, note, reference = select_population(table)
    logger.info("analysing %d respondents: %s", len(population), note)

    harm_targets = [f"harm_{category}" for category in categories]
    if "harm_overall" in table.columns:
        harm_targets.append("harm_overall")
    value_targets = [f"value_{value}" for value in [*values, *higher]]
    correlations = correlation_table(population, value_targets, harm_targets)

    hypothesis_set = load_hypotheses(hypotheses_path)
    verdicts = verdict_table(population, hypothesis_set)

    present_outcomes = [outcome for outcome in outcomes if outcome in table.columns]
    safety = compare_safety_conditions(table, present_outcomes) if "safety_condition" in table.columns else pd.DataFrame()

    sem = fit_sem_folder(analyses_dir, population)

    item_groups: dict[str, list[str]] = {}
    for item, value in (item_values or {}).items():
        item_groups.setdefault(f"value_{value}", []).append(f"item_{item}")
        item_groups.setdefault(f"raw_{value}", []).append(f"item_{item}")
    described = [f"raw_{value}" for value in values if f"raw_{value}" in table.columns] + value_targets + harm_targets
    descriptives = describe_columns(population, described, item_groups)
    basic_present = [value for value in values if value in BASIC_VALUES] or values
    value_correlations = value_correlation_matrix(population, basic_present)

    return AnalysisResult(
        respondents=table, population=population, population_note=note, values=values,
        higher_order_values=higher, categories=categories, correlations=correlations,
        hypotheses=hypothesis_set, verdicts=verdicts, safety=safety, sem=sem,
        descriptives=descriptives, value_correlations=value_correlations, reference_safety=reference,
    )


__all__ = ["AnalysisResult", "analyze", "select_population"]
