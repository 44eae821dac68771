"""sem_fit and the sem-fit report against lavaan 0.6.14.

Reference numbers are in tests/reference/lavaan_*.json and *_summary.txt,
each with the R call that made it. Every number printed at 3 decimals is
checked to 5e-4, so that it rounds to lavaan's. The text report is compared
line by line from "Model Test User Model:" on.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from psyval.errors import PsyvalError, PsyvalWarning
from psyval.psychometrics import sem_fit

REFERENCE = Path(__file__).parent / "reference"
PRINTED = 5e-4
FIT_KEYS = ["npar", "fmin", "chisq", "df", "pvalue", "baseline.chisq", "baseline.df", "baseline.pvalue", "cfi", "tli",
            "logl", "unrestricted.logl", "aic", "bic", "bic2", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper",
            "rmsea.pvalue", "rmsea.notclose.pvalue", "srmr"]
CASES = {
    "hs1939": ("lavaan_hs1939_cfa.json", "hs1939.csv", "lavaan_hs1939_summary.txt"),
    "political_democracy": ("lavaan_political_democracy.json", "political_democracy.csv",
                            "lavaan_political_democracy_summary.txt"),
}


def load_case(name: str) -> tuple[dict, pd.DataFrame]:
    reference_file, data_file, _ = CASES[name]
    return json.loads((REFERENCE / reference_file).read_text()), pd.read_csv(REFERENCE / data_file)


@pytest.fixture(scope="module", params=sorted(CASES))
def fitted(request):
    reference, data = load_case(request.param)
    return request.param, reference, sem_fit(reference["model"], data)


def assert_parameters_match(result, reference: dict, columns=("est", "se", "z", "pvalue", "std.lv", "std.all")) -> None:
    table = result.parameters.set_index(["lhs", "op", "rhs"])
    for expected in reference["parameters"]:
        key = (expected["lhs"], expected["op"], expected["rhs"])
        assert key in table.index, f"missing parameter {key}"
        row = table.loc[key]
        for column in columns:
            want = expected[column]
            got = row[column]
            if want is None:
                assert got is None or math.isnan(got) or got == 0, f"{key} {column}: {got} != NA"
                continue
            assert got == pytest.approx(want, abs=PRINTED), f"{key} {column}: {got} != {want}"


def test_fit_measures_match_lavaan(fitted):
    _, reference, result = fitted
    for key in FIT_KEYS:
        assert result.fit_measures[key] == pytest.approx(reference["fit_measures"][key], abs=PRINTED), key


def test_parameters_match_lavaan(fitted):
    _, reference, result = fitted
    assert_parameters_match(result, reference)
    assert len(result.parameters) == len(reference["parameters"])


def _lines_close(have: str, want: str, tolerance: float) -> bool:
    """Return whether two report lines have the same layout and numbers within ``tolerance``."""
    if have == want:
        return True
    if len(have) != len(want):
        return False
    have_tokens, want_tokens = have.split(), want.split()
    if len(have_tokens) != len(want_tokens):
        return False
    for got_token, want_token in zip(have_tokens, want_tokens):
        if got_token == want_token:
            continue
        try:
            if abs(float(got_token) - float(want_token)) > tolerance:
                return False
        except ValueError:
            return False
    return True


def assert_report_matches(result, summary_file: str, start: str = "Model Test User Model:",
                          tolerance: float = 0.0) -> None:
    """Compare the report with lavaan's from line ``start`` on, ignoring trailing spaces.

    With ``tolerance`` > 0 a printed number may differ by that much, for fits
    where lavaan's NLMINB stops early enough to move a value across a
    rounding edge (psyval iterates to a gradient below 1e-7).
    """
    expected = (REFERENCE / summary_file).read_text().splitlines()
    expected = [line.rstrip() for line in expected if not line.startswith("# R:")]
    got = [line.rstrip() for line in result.summary_text().splitlines()]
    expected_body = expected[expected.index(start):]
    start_got = got.index(start)
    got_body = got[start_got:start_got + len(expected_body)]
    for want, have in zip(expected_body, got_body):
        if tolerance:
            assert _lines_close(have, want, tolerance), f"{have!r} != {want!r}"
        else:
            assert have == want
    assert len(got_body) == len(expected_body)


def test_text_report_matches_lavaan(fitted):
    name, _, result = fitted
    assert_report_matches(result, CASES[name][2])


def test_header_counts_observations(fitted):
    _, reference, result = fitted
    header = result.summary_text().splitlines()[:8]
    assert any(line.strip().endswith(str(reference["nobs"])) and "observations" in line for line in header)
    assert result.info["n_used"] == reference["nobs"]
    assert result.ok


def test_tidy_table_has_lavaan_columns(fitted):
    _, _, result = fitted
    for column in ["lhs", "op", "rhs", "est", "se", "z", "pvalue", "ci.lower", "ci.upper", "std.lv", "std.all"]:
        assert column in result.parameters.columns


def test_json_and_csv_outputs(fitted):
    _, reference, result = fitted
    document = json.loads(result.to_json())
    assert document["fit_measures"]["chisq"] == pytest.approx(reference["fit_measures"]["chisq"], abs=PRINTED)
    assert len(document["parameters"]) == len(reference["parameters"])
    csv_lines = result.to_csv().splitlines()
    assert csv_lines[0].startswith("lhs,op,rhs,label,exo,est,se,z,pvalue,ci.lower,ci.upper,std.lv,std.all")
    assert len(csv_lines) == len(reference["parameters"]) + 1


def test_defined_parameters_delta_method():
    # R: fit <- sem(model, data = PoliticalDemocracy); model has indirect := a*b and total := c + a*b
    reference = json.loads((REFERENCE / "lavaan_political_democracy_defined.json").read_text())
    data = pd.read_csv(REFERENCE / "political_democracy.csv")
    result = sem_fit(reference["model"], data)
    assert_parameters_match(result, reference)
    text = result.summary_text()
    assert "Defined Parameters:" in text
    assert "    indirect          1.242    0.355    3.494    0.000    0.395    0.395" in text


def test_equality_constraint_by_shared_label():
    reference = json.loads((REFERENCE / "lavaan_hs1939_equal.json").read_text())
    result = sem_fit(reference["model"], pd.read_csv(REFERENCE / "hs1939.csv"))
    assert_parameters_match(result, reference)
    for key in ["npar", "chisq", "df", "cfi", "tli", "aic", "rmsea", "srmr"]:
        assert result.fit_measures[key] == pytest.approx(reference["fit_measures"][key], abs=PRINTED), key


def test_observed_covariates_fixed_x():
    reference = json.loads((REFERENCE / "lavaan_hs1939_covariates.json").read_text())
    result = sem_fit(reference["model"], pd.read_csv(REFERENCE / "hs1939.csv"))
    for key in ["npar", "chisq", "df", "baseline.chisq", "baseline.df", "cfi", "tli", "logl", "aic", "bic", "rmsea",
                "srmr"]:
        assert result.fit_measures[key] == pytest.approx(reference["fit_measures"][key], abs=PRINTED), key
    assert_parameters_match(result, reference)
    assert "x1 ~~" not in result.summary_text()


def test_listwise_deletion_counts_rows():
    reference = json.loads((REFERENCE / "lavaan_hs1939_listwise.json").read_text())
    data = pd.read_csv(REFERENCE / "hs1939_missing.csv")
    with pytest.warns(UserWarning, match="listwise deletion dropped"):
        result = sem_fit(reference["model"], data)
    assert result.info["n_used"] == reference["nobs"]
    assert result.info["n_total"] == 301
    assert result.info["n_dropped"] == 301 - reference["nobs"]
    for key in ["chisq", "df", "cfi", "tli", "logl", "aic", "bic", "rmsea", "srmr"]:
        assert result.fit_measures[key] == pytest.approx(reference["fit_measures"][key], abs=PRINTED), key
    assert_parameters_match(result, reference)
    text = result.summary_text()
    assert f"Listwise deletion dropped {301 - reference['nobs']} of 301 rows." in text


def test_fiml_matches_lavaan_missing_ml():
    # R: cfa(model, data = read.csv("hs1939_missing.csv"), missing = "ml")
    reference = json.loads((REFERENCE / "lavaan_hs1939_fiml.json").read_text())
    data = pd.read_csv(REFERENCE / "hs1939_missing.csv")
    result = sem_fit(reference["model"], data, missing="fiml")
    for key in FIT_KEYS:
        assert result.fit_measures[key] == pytest.approx(reference["fit_measures"][key], abs=PRINTED), key
    assert_parameters_match(result, reference)
    assert_report_matches(result, "lavaan_hs1939_fiml_summary.txt", start="Parameter Estimates:")
    assert result.info["n_used"] == 301
    assert result.info["n_patterns"] == 29
    text = result.summary_text()
    assert "Intercepts:" in text
    assert "  Number of missing patterns                        29" in text


def test_mlr_matches_lavaan():
    # R: cfa(model, data = HolzingerSwineford1939[, paste0("x", 1:9)], estimator = "MLR")
    reference = json.loads((REFERENCE / "lavaan_hs1939_mlr.json").read_text())
    result = sem_fit(reference["model"], pd.read_csv(REFERENCE / "hs1939.csv"), estimator="MLR")
    keys = FIT_KEYS + ["chisq.scaled", "pvalue.scaled", "chisq.scaling.factor", "baseline.chisq.scaled",
                       "baseline.chisq.scaling.factor", "cfi.scaled", "tli.scaled", "scaling.factor.h1",
                       "scaling.factor.h0", "rmsea.scaled", "rmsea.ci.lower.scaled", "rmsea.ci.upper.scaled",
                       "rmsea.pvalue.scaled", "rmsea.notclose.pvalue.scaled", "cfi.robust", "tli.robust",
                       "rmsea.robust", "rmsea.ci.lower.robust", "rmsea.ci.upper.robust", "rmsea.pvalue.robust",
                       "rmsea.notclose.pvalue.robust"]
    for key in keys:
        assert result.fit_measures[key] == pytest.approx(reference["fit_measures"][key], abs=PRINTED), key
    assert_parameters_match(result, reference)
    assert_report_matches(result, "lavaan_hs1939_mlr_summary.txt")


def test_listwise_header_matches_lavaan():
    # lavaan 0.6.14 prints used and total counts in two columns after listwise deletion.
    reference = json.loads((REFERENCE / "lavaan_hs1939_listwise.json").read_text())
    with pytest.warns(UserWarning):
        result = sem_fit(reference["model"], pd.read_csv(REFERENCE / "hs1939_missing.csv"))
    lines = result.summary_text().splitlines()
    assert "                                                  Used       Total" in lines
    assert "  Number of observations                           153         301" in lines


@pytest.mark.parametrize("name", ["higher_order_overall", "higher_order_categories"])
def test_latent_predictors_of_observed_outcomes(name):
    # R: sem(model, data = read.csv("structural_values_harm.csv")), model text in the JSON.
    reference = json.loads((REFERENCE / f"lavaan_{name}.json").read_text())
    result = sem_fit(reference["model"], pd.read_csv(REFERENCE / "structural_values_harm.csv"))
    assert result.ok
    for key in FIT_KEYS:
        assert result.fit_measures[key] == pytest.approx(reference["fit_measures"][key], abs=PRINTED), key
    assert_parameters_match(result, reference)
    assert len(result.parameters) == len(reference["parameters"])


@pytest.mark.parametrize("name", ["lavaan_political_democracy_path", "lavaan_political_democracy_indicator_predictor"])
def test_observed_variables_in_regressions(name):
    # R calls in the JSON: an observed path model with := effects, and a model
    # in which x1 is both an indicator of ind60 and a predictor of dem60.
    reference = json.loads((REFERENCE / f"{name}.json").read_text())
    result = sem_fit(reference["model"], pd.read_csv(REFERENCE / "political_democracy.csv"))
    keys = [key for key in FIT_KEYS if key != "tli"]
    for key in keys:
        assert result.fit_measures[key] == pytest.approx(reference["fit_measures"][key], abs=PRINTED), key
    # lavaan does not bound TLI; psyval keeps the unbounded value alongside.
    assert result.fit_measures["tli.unbounded"] == pytest.approx(reference["fit_measures"]["tli"], abs=PRINTED)
    assert_parameters_match(result, reference)
    assert len(result.parameters) == len(reference["parameters"])


def test_tli_above_one_is_bounded_with_note():
    # R: the observed path model in lavaan_political_democracy_path.json has TLI 1.003 in lavaan.
    reference = json.loads((REFERENCE / "lavaan_political_democracy_path.json").read_text())
    result = sem_fit(reference["model"], pd.read_csv(REFERENCE / "political_democracy.csv"))
    assert result.fit_measures["tli"] == 1.0
    assert "the unbounded value, which lavaan prints, is 1.003" in " ".join(result.summary_text().split())
    assert "lavaan prints, is 1.003" in result.notes[-1]


@pytest.mark.parametrize(("estimator", "missing"), [("MLR", "listwise"), ("ML", "fiml")])
def test_covariates_rejected_with_mlr_or_fiml(estimator, missing):
    reference = json.loads((REFERENCE / "lavaan_hs1939_covariates.json").read_text())
    with pytest.raises(PsyvalError, match="observed covariates \\['x1', 'x2'\\]"):
        sem_fit(reference["model"], pd.read_csv(REFERENCE / "hs1939.csv"), estimator=estimator, missing=missing)


def test_mlr_saturated_model_matches_lavaan():
    # df = 0: lavaan reports chisq.scaled 0, CFI and TLI 1, robust RMSEA 0 and
    # NA for the scaling factor and p-values; psyval used to divide by df.
    result = sem_fit("f =~ x1 + x2 + x3", pd.read_csv(REFERENCE / "hs1939.csv"), estimator="MLR")
    measures = result.fit_measures
    assert measures["df"] == 0
    assert measures["chisq.scaled"] == 0
    assert measures["cfi.scaled"] == 1
    assert measures["tli.scaled"] == 1
    assert measures["rmsea.robust"] == 0
    assert math.isnan(measures["chisq.scaling.factor"])
    assert_report_matches(result, "lavaan_hs1939_saturated_mlr_summary.txt")


PD_EQUAL_MODEL = """ind60 =~ x1 + x2 + x3
dem60 =~ y1 + a*y2 + b*y3 + c*y4
dem65 =~ y5 + a*y6 + b*y7 + c*y8
dem60 ~ ind60
dem65 ~ ind60 + dem60
y1 ~~ y5
y2 ~~ y4 + y6
y3 ~~ y7
y4 ~~ y8
y6 ~~ y8
"""


def test_mlr_equality_constraints_match_lavaan():
    # lavaan divides the H0 trace by all 31 parameters, not by the 28 left
    # after the three equality constraints (scaling.factor.h0 = 0.945).
    result = sem_fit(PD_EQUAL_MODEL, pd.read_csv(REFERENCE / "political_democracy.csv"), estimator="MLR")
    header = result.summary_text().splitlines()[:8]
    assert "  Number of model parameters                        31" in header
    assert "  Number of equality constraints                     3" in header
    assert result.fit_measures["npar"] == 28
    # lavaan stops at z = 1.155507 for y3 ~~ y7 (printed 1.156); the converged
    # value is 1.155499, so one printed number differs by 0.001.
    assert_report_matches(result, "lavaan_political_democracy_equal_mlr_summary.txt", tolerance=1.001e-3)


def test_defined_arithmetic_gives_inf_nan_with_warning():
    # R arithmetic, as lavaan evaluates := : no exception for a/0, log or
    # sqrt of a negative number, or overflow.
    model = "f =~ x1 + a*x2 + b*x3\nd1 := log(-a)\nd2 := sqrt(-a)\nd3 := a/0\nd4 := 10^10^10\nd5 := a*b\n"
    with pytest.warns(PsyvalWarning, match="defined parameter 'd3'"):
        result = sem_fit(model, pd.read_csv(REFERENCE / "hs1939.csv"))
    table = result.parameters.set_index("lhs")
    assert math.isnan(table.loc["d1", "est"])
    assert math.isnan(table.loc["d2", "est"])
    assert table.loc["d3", "est"] == math.inf
    assert table.loc["d4", "est"] == math.inf
    assert math.isfinite(table.loc["d5", "est"])
    assert "    d3                  Inf" in result.summary_text()
    codes = [d.code for d in result.diagnostics]
    assert codes.count("defined_not_finite") == 4


def test_defined_name_reusing_label_rejected():
    with pytest.raises(PsyvalError, match="'a' reuses the name"):
        sem_fit("f =~ x1 + a*x2 + x3\na := 2*a\n", pd.read_csv(REFERENCE / "hs1939.csv"))


def test_statement_continues_on_next_line():
    # R: cfa("visual =~ x1 + x2 +\n   x3\ntextual =~ x4 + x5\n + x6", data = HolzingerSwineford1939)
    # gives npar 13 and chisq 24.361, as the same model written on two lines does.
    model = "visual =~ x1 + x2 +\n   x3\ntextual =~ x4 + x5\n + x6\n"
    result = sem_fit(model, pd.read_csv(REFERENCE / "hs1939.csv"))
    assert result.fit_measures["npar"] == 13
    assert result.fit_measures["chisq"] == pytest.approx(24.361, abs=PRINTED)


def test_repeated_term_in_one_statement_merged():
    # R: cfa("f =~ x1 + x1 + x2 + x3", data = HolzingerSwineford1939) has npar 6.
    result = sem_fit("f =~ x1 + x1 + x2 + x3", pd.read_csv(REFERENCE / "hs1939.csv"))
    assert result.fit_measures["npar"] == 6
    assert (result.parameters["op"] == "=~").sum() == 3


def test_mlr_tli_above_one_noted():
    # R: fitMeasures(cfa("f =~ x4 + x5 + x6 + x8", data = HolzingerSwineford1939, estimator = "MLR"),
    #                c("tli", "tli.scaled", "tli.robust"))  ->  1.005 1.007 1.007
    result = sem_fit("f =~ x4 + x5 + x6 + x8", pd.read_csv(REFERENCE / "hs1939.csv"), estimator="MLR")
    measures = result.fit_measures
    assert measures["tli.unbounded"] == pytest.approx(1.005, abs=PRINTED)
    assert measures["tli.scaled.unbounded"] == pytest.approx(1.007, abs=PRINTED)
    assert measures["tli.robust.unbounded"] == pytest.approx(1.007, abs=PRINTED)
    assert measures["tli.scaled"] == 1.0
    assert "TLI is bounded to [0, 1]; the unbounded value, which lavaan prints, is 1.005." in result.notes
    assert "Scaled TLI is bounded to [0, 1]; the unbounded value, which lavaan prints, is 1.007." in result.notes
    assert "Robust TLI is bounded to [0, 1]; the unbounded value, which lavaan prints, is 1.007." in result.notes


def test_fiml_footer_names_fiml_and_optimizer():
    data = pd.read_csv(REFERENCE / "hs1939_missing.csv")
    data.loc[len(data)] = [float("nan")] * data.shape[1]
    model = (REFERENCE / "hs1939.lav").read_text()
    result = sem_fit(model, data, missing="fiml")
    text = result.summary_text()
    assert "FIML left out 1 of 302 rows in which every" in text
    assert "Listwise deletion" not in text
    assert "Optimizer BFGS+NEWTON" in text
    assert "SLSQP" not in text


def test_ordinal_items_get_note():
    data = pd.read_csv(REFERENCE / "hs1939.csv")
    ordinal = data[["x1", "x2", "x3"]].apply(lambda column: pd.qcut(column, 5, labels=False) + 1)
    result = sem_fit("f =~ x1 + x2 + x3", ordinal)
    assert any("3 variable(s) (x1, x2, x3) have at most 7 integer categories" in note for note in result.notes)
    continuous = sem_fit("f =~ x1 + x2 + x3", data)
    assert not any("integer categories" in note for note in continuous.notes)
