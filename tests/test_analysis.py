"""Tests of psyval.analysis statistics.

Reference values come from R 4.x (base stats, lavaan 0.6.14 session); each R
call is quoted above the numbers. statsmodels and scipy are the second
reference where noted. Tolerances are absolute.
"""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from psyval.analysis import analyze
from psyval.analysis.correlations import correlate, correlation_ci, correlation_table, significance_marks
from psyval.analysis.descriptives import cronbach_alpha
from psyval.analysis.hypotheses import decide, load_hypotheses, verdict_table
from psyval.analysis.multitest import adjust_pvalues
from psyval.analysis.safety import compare_safety_conditions, paired_difference
from psyval.analysis.sem import check_sem_file, fit_sem_file
from psyval.analysis.synthetic import synthetic_item_values, synthetic_respondents
from psyval.analysis.values import BASIC_VALUES, HARM_CATEGORIES, add_value_scores
from psyval.errors import DataQualityWarning, PsyvalError
from psyval.resources import bundled_file

X = pd.Series([1.2, 2.4, 3.1, 4.8, 5.0, 6.3, 7.7, 8.1])
Y = pd.Series([2.0, 1.5, 3.9, 3.2, 5.5, 4.9, 7.1, 9.0])


def test_pearson_matches_r_cor_test() -> None:
    # R: cor.test(x, y) -> r 0.91271986174619812, p 0.00155530233687096,
    #    95% CI 0.58304048801100972 0.98431312422266759
    r, p, n = correlate(X, Y, "pearson")
    lower, upper = correlation_ci(r, n, "pearson")
    assert n == 8
    assert r == pytest.approx(0.91271986174619812, abs=1e-12)
    assert p == pytest.approx(0.00155530233687096, abs=1e-12)
    assert lower == pytest.approx(0.58304048801100972, abs=1e-10)
    assert upper == pytest.approx(0.98431312422266759, abs=1e-10)


def test_spearman_matches_r_cor_test() -> None:
    # R: cor.test(x, y, method = "spearman", exact = FALSE)
    #    -> rho 0.928571428571428714, p 0.000862968182899978
    rho, p, _ = correlate(X, Y, "spearman")
    assert rho == pytest.approx(0.928571428571428714, abs=1e-12)
    assert p == pytest.approx(0.000862968182899978, abs=1e-12)


def test_spearman_ci_uses_bonett_wright_se() -> None:
    # By hand: z = atanh(0.5) = 0.549306, se = sqrt((1 + 0.125) / 17) = 0.257248,
    # limits tanh(0.549306 -/+ 1.959964 * 0.257248) = 0.0508, 0.7813.
    lower, upper = correlation_ci(0.5, 20, "spearman")
    assert lower == pytest.approx(math.tanh(0.5493061443 - 1.959963985 * math.sqrt(1.125 / 17)), abs=1e-9)
    assert upper == pytest.approx(math.tanh(0.5493061443 + 1.959963985 * math.sqrt(1.125 / 17)), abs=1e-9)


def test_correlation_of_constant_column_is_nan() -> None:
    r, p, n = correlate(X, pd.Series([1.0] * 8), "pearson")
    assert math.isnan(r)
    assert math.isnan(p)
    assert n == 8


def test_correlation_table_warns_on_constant_column() -> None:
    table = pd.DataFrame({"a": X, "b": Y, "c": 1.0})
    with pytest.warns(DataQualityWarning, match="'c'"):
        result = correlation_table(table, ["a"], ["b", "c"])
    assert len(result) == 4
    assert result["r"].isna().sum() == 2


def test_correlation_table_adjusts_within_method() -> None:
    rng = np.random.default_rng(3)
    table = pd.DataFrame(rng.normal(size=(40, 5)), columns=list("abcde"))
    result = correlation_table(table, ["a", "b"], ["c", "d", "e"])
    for method in ("pearson", "spearman"):
        block = result[result["method"] == method]
        holm = multipletests(block["p"], method="holm")[1]
        bh = multipletests(block["p"], method="fdr_bh")[1]
        np.testing.assert_allclose(block["p_holm"], holm, atol=1e-12)
        np.testing.assert_allclose(block["p_bh"], bh, atol=1e-12)


def test_correlation_table_rejects_unknown_column() -> None:
    with pytest.raises(PsyvalError, match="value_missing"):
        correlation_table(pd.DataFrame({"a": X}), ["value_missing"], ["a"])


def test_adjust_pvalues_matches_r_with_missing() -> None:
    # R: p <- c(0.01, 0.04, 0.03, 0.005, 0.20, NA, 0.50)
    #    p.adjust(p, "holm") -> 0.05 0.12 0.12 0.03 0.40 NA 0.50
    #    p.adjust(p, "BH")   -> 0.03 0.06 0.06 0.03 0.24 NA 0.50
    p = [0.01, 0.04, 0.03, 0.005, 0.20, math.nan, 0.50]
    np.testing.assert_allclose(adjust_pvalues(p, "holm"), [0.05, 0.12, 0.12, 0.03, 0.40, math.nan, 0.50], atol=1e-12)
    np.testing.assert_allclose(adjust_pvalues(p, "fdr_bh"), [0.03, 0.06, 0.06, 0.03, 0.24, math.nan, 0.50], atol=1e-12)


@pytest.mark.parametrize("method", ["holm", "fdr_bh"])
def test_adjust_pvalues_matches_statsmodels(method: str) -> None:
    rng = np.random.default_rng(11)
    p = rng.uniform(0, 0.2, size=57) ** 2
    expected = multipletests(p, method=method)[1]
    np.testing.assert_allclose(adjust_pvalues(p, method), expected, atol=1e-14)  # type: ignore[arg-type]


def test_adjust_pvalues_keeps_shape() -> None:
    p = np.array([[0.01, 0.2], [0.03, 0.04]])
    assert adjust_pvalues(p, "holm").shape == (2, 2)


def test_adjust_pvalues_rejects_bad_input() -> None:
    with pytest.raises(PsyvalError, match="1.5"):
        adjust_pvalues([0.1, 1.5], "holm")
    with pytest.raises(PsyvalError, match="'bonferroni'"):
        adjust_pvalues([0.1], "bonferroni")  # type: ignore[arg-type]


def test_paired_difference_matches_r_t_test() -> None:
    # R: a <- c(2.1, 3.4, 1.9, 4.2, 3.3, 2.8); b <- c(1.8, 2.9, 2.0, 3.1, 2.5, 2.7)
    #    t.test(b, a, paired = TRUE) -> mean difference -0.45, t -2.4709365912930568,
    #    p 0.0564652867783011, 95% CI -0.9181471107403043 0.0181471107403045
    #    wilcox.test(b, a, paired = TRUE, exact = FALSE, correct = FALSE)$p.value -> 0.0747354983058825
    a = np.array([2.1, 3.4, 1.9, 4.2, 3.3, 2.8])
    b = np.array([1.8, 2.9, 2.0, 3.1, 2.5, 2.7])
    result = paired_difference(a, b)
    assert result["mean_difference"] == pytest.approx(-0.45, abs=1e-12)
    assert result["t"] == pytest.approx(-2.4709365912930568, abs=1e-10)
    assert result["p"] == pytest.approx(0.0564652867783011, abs=1e-10)
    assert result["ci_lower"] == pytest.approx(-0.9181471107403043, abs=1e-10)
    assert result["ci_upper"] == pytest.approx(0.0181471107403045, abs=1e-10)
    assert result["wilcoxon_p"] == pytest.approx(0.0747354983058825, abs=1e-10)
    assert result["cohens_dz"] == pytest.approx(-0.45 / np.std(b - a, ddof=1), abs=1e-12)
    assert result["p"] == pytest.approx(stats.ttest_rel(b, a).pvalue, abs=1e-12)


def test_paired_difference_constant_difference() -> None:
    result = paired_difference(np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.5, 3.5]))
    assert result["mean_difference"] == pytest.approx(0.5)
    assert math.isnan(result["t"])
    assert math.isnan(result["p"])


def test_cronbach_alpha_matches_formula_in_r() -> None:
    # R: items <- data.frame(i1 = c(1,2,3,4,5,3), i2 = c(2,2,4,4,5,2), i3 = c(1,3,3,5,4,3))
    #    k / (k - 1) * (1 - sum(apply(items, 2, var)) / var(rowSums(items))) -> 0.918224299065421
    items = pd.DataFrame({"i1": [1, 2, 3, 4, 5, 3], "i2": [2, 2, 4, 4, 5, 2], "i3": [1, 3, 3, 5, 4, 3]})
    assert cronbach_alpha(items) == pytest.approx(0.918224299065421, abs=1e-12)


def test_significance_marks() -> None:
    assert significance_marks(0.0005) == "***"
    assert significance_marks(0.005) == "**"
    assert significance_marks(0.03) == "*"
    assert significance_marks(0.2) == ""
    assert significance_marks(math.nan) == ""


def test_add_value_scores_collapses_refined_values() -> None:
    table = pd.DataFrame({"value_power_dominance": [1.0, 3.0], "value_power_resources": [3.0, 5.0],
                          "value_achievement": [0.0, 1.0]})
    scored = add_value_scores(table)
    assert scored["value_power"].tolist() == [2.0, 4.0]
    assert scored["value_self_enhancement"].tolist() == [1.0, 2.5]


def test_add_value_scores_warns_on_partial_group() -> None:
    table = pd.DataFrame({"value_stimulation": [1.0, 2.0], "value_hedonism": [3.0, 4.0]})
    with pytest.warns(DataQualityWarning, match="self_direction"):
        scored = add_value_scores(table)
    assert scored["value_openness_to_change"].tolist() == [2.0, 3.0]


def test_decide_rule() -> None:
    assert decide(0.4, 0.01, "+", 0.05) == "supported"
    assert decide(-0.4, 0.01, "+", 0.05) == "contradicted"
    assert decide(0.4, 0.06, "+", 0.05) == "inconclusive"
    assert decide(math.nan, math.nan, "-", 0.05) == "inconclusive"


def test_bundled_hypotheses_cover_required_links() -> None:
    hypothesis_set = load_hypotheses(bundled_file("analyses", "hypotheses.yaml"))
    links = {(h.value, h.category, h.sign) for h in hypothesis_set.hypotheses}
    required = {
        ("hedonism", "adult_content", "+"), ("self_direction", "adult_content", "+"),
        ("power", "hate_harassment_violence", "+"), ("achievement", "fraud_deception", "+"),
        ("universalism", "fraud_deception", "-"), ("universalism", "political_campaigning", "-"),
        ("benevolence", "hate_harassment_violence", "-"), ("conformity", "illegal_activity", "-"),
        ("tradition", "illegal_activity", "-"), ("openness_to_change", "overall", "+"),
        ("self_enhancement", "overall", "+"), ("conservation", "overall", "-"),
        ("self_transcendence", "overall", "-"),
    }
    assert required <= links
    for hypothesis in hypothesis_set.hypotheses:
        assert hypothesis.rationale
        if hypothesis.evidence != "exploratory":
            assert all(source.get("doi") for source in hypothesis.sources)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{id: H1, value: greed, category: malware, sign: '+', rationale: r, evidence: exploratory}", "'greed'"),
        ("{id: H1, value: power, category: spam, sign: '+', rationale: r, evidence: exploratory}", "'spam'"),
        ("{id: H1, value: power, category: malware, sign: up, rationale: r, evidence: exploratory}", "'up'"),
        ("{id: H1, value: power, category: malware, sign: '+', rationale: r, evidence: theory}", "needs at least one source"),
        ("{id: H1, value: power, category: malware, sign: '+', evidence: exploratory}", "'rationale'"),
    ],
)
def test_load_hypotheses_rejects_invalid(tmp_path: Path, entry: str, message: str) -> None:
    path = tmp_path / "h.yaml"
    path.write_text(f"hypotheses:\n  - {entry}\n", encoding="utf-8")
    with pytest.raises(PsyvalError, match=message):
        load_hypotheses(path)


@pytest.mark.parametrize(
    ("listing", "message"),
    [
        ("[]", "has no hypotheses: add at least one entry under 'hypotheses'"),
        ("", "has no hypotheses: add at least one entry under 'hypotheses'"),
        ("\n  -", "hypothesis #1 is empty: give it the fields id, value"),
        ("\n  - H1", "hypothesis #1 is the text 'H1', not a mapping"),
        ("\n  - [a, b]", "hypothesis #1 is a list, not a mapping"),
    ],
)
def test_load_hypotheses_rejects_bad_listing(tmp_path: Path, listing: str, message: str) -> None:
    path = tmp_path / "h.yaml"
    path.write_text(f"hypotheses: {listing}\n", encoding="utf-8")
    with pytest.raises(PsyvalError, match=re.escape(message)):
        load_hypotheses(path)


def test_load_hypotheses_reports_yaml_position(tmp_path: Path) -> None:
    path = tmp_path / "h.yaml"
    path.write_text("hypotheses:\n  - id: H1\n    value: [power\n", encoding="utf-8")
    with pytest.raises(PsyvalError) as caught:
        load_hypotheses(path)
    message = str(caught.value)
    assert f"hypotheses file {str(path)!r} is not valid YAML" in message
    assert "at line 4, column 1" in message
    assert "flow sequence that starts at line 3, column 12" in message
    assert "\n" not in message


def test_load_hypotheses_rejects_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "h.yaml"
    path.write_bytes(b"\x87\xf4\xc5\n")
    with pytest.raises(PsyvalError, match="is not UTF-8 text"):
        load_hypotheses(path)


def test_load_hypotheses_rejects_duplicate_id(tmp_path: Path) -> None:
    path = tmp_path / "h.yaml"
    entry = "{id: H1, value: power, category: malware, sign: '+', rationale: r, evidence: exploratory}"
    path.write_text(f"hypotheses:\n  - {entry}\n  - {entry}\n", encoding="utf-8")
    with pytest.raises(PsyvalError, match="duplicate"):
        load_hypotheses(path)


def test_verdict_table_on_synthetic_links() -> None:
    table = add_value_scores(synthetic_respondents(150, seed=1, safety=False))
    verdicts = verdict_table(table, load_hypotheses(bundled_file("analyses", "hypotheses.yaml")))
    by_id = verdicts.set_index("id")
    # The synthetic data build H03 (power -> hate) and H09 (conformity against
    # illegal activity) in, with standardized effects of 0.8 and -0.6.
    assert by_id.loc["H03", "verdict"] == "supported"
    assert by_id.loc["H09", "verdict"] == "supported"
    assert by_id.loc["H03", "estimate"] > 0.3
    assert (verdicts["ci_lower"] <= verdicts["estimate"]).all()
    assert (verdicts["estimate"] <= verdicts["ci_upper"]).all()
    confirmatory = verdicts[verdicts["family"] == "confirmatory"]
    np.testing.assert_allclose(confirmatory["p_adjusted"], multipletests(confirmatory["p"], method="holm")[1])


def test_verdict_table_contradicted_when_sign_flips() -> None:
    table = add_value_scores(synthetic_respondents(150, seed=1, safety=False))
    table["value_power"] = -table["value_power"]
    verdicts = verdict_table(table, load_hypotheses(bundled_file("analyses", "hypotheses.yaml")))
    assert verdicts.set_index("id").loc["H03", "verdict"] == "contradicted"


def test_safety_comparison_pairs_respondents() -> None:
    table = synthetic_respondents(60, seed=2)
    result = compare_safety_conditions(table)
    assert set(result["condition"]) == {"safety-prompt", "value-prompt", "both"}
    assert (result["reference"] == "input-only").all()
    assert (result["n_pairs"] == 60).all()
    assert (result["mean_difference"] < 0).all()
    both = result.set_index("condition").loc["both"]
    wide = table.pivot_table(index="profile", columns="safety_condition", values="harm_overall")
    expected = stats.ttest_rel(wide["both"], wide["input-only"])
    assert both["t"] == pytest.approx(expected.statistic, abs=1e-10)
    assert both["p"] == pytest.approx(expected.pvalue, abs=1e-12)


def test_safety_comparison_warns_on_unpaired_rows() -> None:
    table = synthetic_respondents(20, seed=2)
    table = table.drop(index=table.index[(table["safety_condition"] == "both")][:3])
    with pytest.warns(DataQualityWarning, match="lack"):
        result = compare_safety_conditions(table)
    assert result.set_index("condition").loc["both", "n_pairs"] == 17


def test_safety_comparison_rejects_unknown_reference() -> None:
    with pytest.raises(PsyvalError, match="'placebo'"):
        compare_safety_conditions(synthetic_respondents(10, seed=2), reference="placebo")


def test_analyze_uses_reference_condition_rows() -> None:
    table = synthetic_respondents(80, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = analyze(table, item_values=synthetic_item_values())
    assert len(result.population) == 80
    assert set(result.population["safety_condition"]) == {"input-only"}
    assert result.values == list(BASIC_VALUES)
    assert result.categories == list(HARM_CATEGORIES)
    assert len(result.correlations) == 2 * (10 + 4) * (11 + 1)
    assert len(result.verdicts) == len(result.hypotheses.hypotheses)
    alpha = result.descriptives.set_index("variable").loc["raw_power", "alpha"]
    assert 0.8 < alpha < 1.0


def test_analyze_rejects_empty_table() -> None:
    with pytest.raises(PsyvalError, match="empty"):
        analyze(pd.DataFrame())


def test_analyze_names_missing_score_columns() -> None:
    no_scores = pd.DataFrame({"respondent_id": ["r1", "r2"], "model": ["m", "m"]})
    with pytest.raises(PsyvalError) as raised:
        analyze(no_scores)
    message = str(raised.value)
    assert "has no value_<id> or harm_<category> columns, only respondent_id, model:" in message
    assert "[]" not in message

    overall_only = pd.DataFrame({"value_power": [1.0, 2.0], "harm_overall": [2.0, 3.0]})
    with warnings.catch_warnings(), pytest.raises(PsyvalError) as raised:
        # One basic value gives an incomplete higher-order score, which warns before the check raises.
        warnings.simplefilter("ignore")
        analyze(overall_only)
    message = str(raised.value)
    assert "has no harm_<category> columns, only value_power, harm_overall (harm_overall is" in message


def test_verdict_inconclusive_for_constant_harm() -> None:
    table = add_value_scores(synthetic_respondents(60, seed=1, safety=False))
    table["harm_adult_content"] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        verdicts = verdict_table(table, load_hypotheses(bundled_file("analyses", "hypotheses.yaml")))
    row = verdicts.set_index("id").loc["H01"]
    assert row["verdict"] == "inconclusive"
    assert math.isnan(row["estimate"])
    assert "harm_adult_content is constant" in row["note"]


SEM_COLUMNS = ["respondent_id", "raw_power", "raw_hedonism", "harm_overall"]


@pytest.mark.parametrize(
    ("syntax", "message"),
    [
        ("f1 =~ raw_power + + raw_hedonism\n", "m.lav' line 1: model statement 'f1 =~ raw_power + + raw_hedonism' has an empty term"),
        ("# loadings\nf1 =~ raw_power +\n  raw_hedonism\nharm_overall ~ f1 +\n", "m.lav' line 4: model statement 'harm_overall ~ f1 +'"),
        ("f1 =~> raw_power + raw_hedonism\n", "m.lav' line 1: cannot read term '> raw_power'"),
        ("", "m.lav' contains no model statements"),
        ("# only a comment\n\n", "m.lav' contains no model statements"),
        ("f1 =~ raw_power +\n  raw_hedonism + raw_nope\nharm_overall ~ f1\n", "'raw_nope' (line 2); rename them to columns"),
    ],
)
def test_check_sem_file_rejects_user_errors(tmp_path: Path, syntax: str, message: str) -> None:
    path = tmp_path / "m.lav"
    path.write_text(syntax, encoding="utf-8")
    with pytest.raises(PsyvalError, match=re.escape(message)):
        check_sem_file(path, SEM_COLUMNS)


def test_check_sem_file_accepts_latent_names(tmp_path: Path) -> None:
    path = tmp_path / "m.lav"
    path.write_text("f1 =~ raw_power + raw_hedonism\nharm_overall ~ f1\n", encoding="utf-8")
    check_sem_file(path, SEM_COLUMNS)


def test_fit_sem_file_lists_data_columns(tmp_path: Path) -> None:
    path = tmp_path / "m.lav"
    path.write_text("f1 =~ raw_power + raw_hedonism + raw_nope\nharm_overall ~ f1\n", encoding="utf-8")
    data = pd.DataFrame({"raw_power": [1.0, 2.0, 3.0], "raw_hedonism": [2.0, 1.0, 3.0], "harm_overall": [1.0, 1.0, 2.0],
                         "harm_malware": [1.0, 2.0, 2.0]})
    with pytest.warns(DataQualityWarning, match="raw_nope are not columns"):
        outcome = fit_sem_file(path, data)
    assert outcome.result is None
    assert outcome.error is not None
    assert "score columns: raw_power, raw_hedonism, harm_overall, harm_malware" in outcome.error
