"""Each SEM diagnostic, triggered by a small input made for it.

The data sets are built with an exact sample correlation matrix, so the
problem each one causes is known by construction (worked out per test).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psyval.errors import (
    ConvergenceWarning,
    DataQualityWarning,
    HeywoodWarning,
    IdentificationWarning,
    NotPositiveDefiniteWarning,
    PsyvalError,
    PsyvalWarning,
)
from psyval.psychometrics import sem_fit
from psyval.psychometrics.sem.diagnostics import check_positive_definite


def exact_data(correlation: list[list[float]] | np.ndarray, n_obs: int = 200, seed: int = 1) -> pd.DataFrame:
    """Return data whose sample correlation matrix is exactly ``correlation``."""
    correlation = np.asarray(correlation, dtype=float)
    generator = np.random.default_rng(seed)
    noise = generator.standard_normal((n_obs, len(correlation)))
    noise -= noise.mean(axis=0)
    whitening = np.linalg.inv(np.linalg.cholesky(np.cov(noise, rowvar=False, bias=True)))
    values = noise @ whitening.T @ np.linalg.cholesky(correlation).T
    return pd.DataFrame(values, columns=[f"x{i + 1}" for i in range(len(correlation))])


def codes(result) -> set[str]:
    return {diagnostic.code for diagnostic in result.diagnostics}


def test_heywood_negative_variance():
    # One factor, three indicators, r12 = r13 = 0.8, r23 = 0.5: the loading of
    # x1 is sqrt(0.8 * 0.8 / 0.5) = 1.131, so its residual variance is 1 - 1.28 = -0.28.
    data = exact_data([[1, 0.8, 0.8], [0.8, 1, 0.5], [0.8, 0.5, 1]])
    with pytest.warns(HeywoodWarning, match="x1 ~~ x1"):
        result = sem_fit("f =~ x1 + x2 + x3", data)
    assert "heywood" in codes(result)
    variance = result.parameters.query("lhs == 'x1' and op == '~~' and rhs == 'x1'")["est"].iloc[0]
    assert variance == pytest.approx(-0.28 * 199 / 200 * 200 / 199, abs=1e-3)
    assert "negative variance estimate" in result.summary_text()


def test_latent_correlation_above_one():
    # Within-factor r = 0.3, between-factor r = 0.5: the factor correlation is
    # 0.5 / 0.3 = 1.667, so the latent covariance matrix is not positive definite.
    correlation = np.full((6, 6), 0.5)
    correlation[:3, :3] = 0.3
    correlation[3:, 3:] = 0.3
    np.fill_diagonal(correlation, 1.0)
    with pytest.warns(PsyvalWarning) as record:
        result = sem_fit("f =~ x1 + x2 + x3\ng =~ x4 + x5 + x6", exact_data(correlation))
    categories = {warning.category for warning in record}
    assert NotPositiveDefiniteWarning in categories
    assert HeywoodWarning in categories
    assert {"latent_not_pd", "heywood"} <= codes(result)
    row = result.parameters.query("lhs == 'f' and op == '~~' and rhs == 'g'")
    assert row["std.all"].iloc[0] == pytest.approx(5 / 3, abs=1e-3)


def test_implied_matrix_not_positive_definite():
    matrix = np.array([[1.0, 1.2], [1.2, 1.0]])
    found = check_positive_definite(matrix, ["a", "b"], "covariance matrix of the observed variables", "implied_not_pd")
    assert len(found) == 1
    assert found[0].category is NotPositiveDefiniteWarning
    assert "['a', 'b']" in found[0].message or "['b', 'a']" in found[0].message


def test_negative_df_is_underidentified():
    # Two indicators give 3 moments; the model has 1 loading, 2 residual
    # variances and 1 factor variance: df = 3 - 4 = -1.
    with pytest.warns(IdentificationWarning, match="df = -1"):
        result = sem_fit("f =~ x1 + x2", exact_data([[1, 0.5], [0.5, 1]]))
    assert "underidentified" in codes(result)
    assert not result.ok


def test_latent_without_scale():
    data = exact_data([[1, 0.5, 0.4], [0.5, 1, 0.3], [0.4, 0.3, 1]])
    with pytest.warns(IdentificationWarning) as record:
        result = sem_fit("f =~ NA*x1 + x2 + x3", data)
    assert any("'f' has no scale" in str(warning.message) for warning in record)
    assert "unscaled_latent" in codes(result)
    assert not result.ok


def test_latent_scaled_by_fixed_variance():
    data = exact_data([[1, 0.5, 0.4], [0.5, 1, 0.3], [0.4, 0.3, 1]])
    result = sem_fit("f =~ NA*x1 + x2 + x3\nf ~~ 1*f", data)
    assert result.ok
    loading = result.parameters.query("lhs == 'f' and op == '=~' and rhs == 'x1'")["est"].iloc[0]
    # With unit factor variance the x1 loading is sqrt(r12 r13 / r23) = sqrt(0.5 * 0.4 / 0.3).
    assert loading == pytest.approx(np.sqrt(0.5 * 0.4 / 0.3) * np.sqrt(199 / 200), rel=5e-3)


def test_nonconvergence_reported():
    data = pd.read_csv(Path(__file__).parent / "reference" / "hs1939.csv")
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        result = sem_fit("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6", data, max_iterations=1)
    assert "nonconvergence" in codes(result)
    assert not result.ok
    assert "did NOT end normally after 1 iteration\n" in result.summary_text()
    assert "did not converge after 1 iteration (max" in result.summary_text()


def test_nonconvergence_withholds_fit_measures():
    # lavaan 0.6: fitMeasures() stops with "fit measures not available if
    # model did not converge", and summary() prints no test section.
    data = pd.read_csv(Path(__file__).parent / "reference" / "hs1939.csv")
    with pytest.warns(ConvergenceWarning):
        result = sem_fit("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6", data, max_iterations=1)
    fit = result.fit_measures
    assert all(np.isnan(fit[key]) for key in ("chisq", "pvalue", "cfi", "tli", "rmsea", "srmr", "logl", "aic"))
    assert (fit["npar"], fit["df"]) == (13, 8)
    summary = result.summary_text()
    assert "Model Test User Model" not in summary
    assert "Fit measures are not reported because the model did not converge" in summary


def test_singular_sample_covariance():
    data = exact_data([[1, 0.5, 0.4], [0.5, 1, 0.3], [0.4, 0.3, 1]])
    data["x4"] = data["x1"] + data["x2"]
    with pytest.raises(PsyvalError, match="not positive definite.*x4"):
        sem_fit("f =~ x1 + x2 + x3 + x4", data)


def test_constant_column():
    data = exact_data([[1, 0.5, 0.4], [0.5, 1, 0.3], [0.4, 0.3, 1]])
    data["x3"] = 2.0
    with pytest.raises(PsyvalError, match="column 'x3' is constant"):
        sem_fit("f =~ x1 + x2 + x3", data)


def test_non_numeric_column():
    data = exact_data([[1, 0.5, 0.4], [0.5, 1, 0.3], [0.4, 0.3, 1]])
    data["x2"] = data["x2"].astype(object)
    data.loc[5, "x2"] = "often"
    with pytest.raises(PsyvalError, match="column 'x2' is not numeric \\(value 'often'\\)"):
        sem_fit("f =~ x1 + x2 + x3", data)


def test_model_variable_missing_from_data():
    data = exact_data([[1, 0.5, 0.4], [0.5, 1, 0.3], [0.4, 0.3, 1]])
    with pytest.raises(PsyvalError, match=r"model variables \['x9'\] are missing from the data"):
        sem_fit("f =~ x1 + x2 + x9", data)


@pytest.mark.parametrize(
    ("syntax", "message"),
    [
        ("f =~ x1 + x2\nx1 | t1", "thresholds"),
        ("f =~ x1 + x2\nx1 ~ 1", "intercept statement"),
        ("f =~ x1 + x2 + x3\nx1 ~~ x1\nx1 ~~ x1", "duplicate model element 'x1 ~~ x1'"),
        ("f =~ x1 + x2 + x3\nx1 ~~ x2\nx2 ~~ x1", "duplicate model element 'x1 ~~ x2'"),
        ("f =~ x1 + x2 + x3 +", "has an empty term next to a '\\+': remove that '\\+'"),
        ("f =~ x1 + + x2 + x3", "has an empty term next to a '\\+'"),
        ("f =~", "'f =~' has nothing after '=~': list the indicators, such as 'f =~ x1 \\+ x2 \\+ x3'"),
        ("f =~ x1 + x2 + x3\nx1 ~", "'x1 ~' has nothing after '~': list the predictors"),
        ("f =~ x1 + x2 + x3\nx1 ~~", "'x1 ~~' has nothing after '~~': name the other variable"),
        ("f =~ x1 + x2\nf ~~ x3", "covariance f ~~ x3 between a latent and an observed variable is not supported"),
        ("f =~ start(0.5)*x1 + x2", "unsupported modifier"),
        ("", "empty"),
        ("f =~ x1 + x2\nab := a*q", "unknown label 'a'"),
        ("f =~ x1 + x2\nab := __import__('os')", "unsupported expression"),
    ],
)
def test_invalid_syntax_rejected(syntax, message):
    data = exact_data([[1, 0.5, 0.4], [0.5, 1, 0.3], [0.4, 0.3, 1]])
    with pytest.raises(PsyvalError, match=message):
        sem_fit(syntax, data)


def test_fixed_negative_variance_gives_nonpositive_implied_matrix():
    # Fixing a residual variance at -0.5 makes Sigma indefinite wherever the
    # optimizer can go, so the fit stops without converging and says why.
    data = exact_data([[1, 0.5, 0.4], [0.5, 1, 0.3], [0.4, 0.3, 1]])
    with pytest.warns(PsyvalWarning) as record:
        result = sem_fit("f =~ x1 + x2 + x3\nx1 ~~ -0.5*x1", data)
    assert NotPositiveDefiniteWarning in {warning.category for warning in record}
    assert {"implied_not_pd", "nonconvergence"} <= codes(result)
    assert not result.ok
    assert "covariance matrix of the observed variables is not positive definite" in " ".join(
        result.summary_text().split())


def test_badly_scaled_data_fitted_with_warning():
    # Rescaling x1 by 1e4 keeps the correlations, so the data are not
    # linearly dependent; lavaan 0.6 warns about the variance ratio instead.
    data = pd.read_csv(Path(__file__).parent / "reference" / "hs1939.csv")
    data["x1"] = data["x1"] * 1e4
    with pytest.warns(DataQualityWarning, match="observed variances differ by a factor"):
        result = sem_fit("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6", data)
    codes = [d.code for d in result.diagnostics]
    assert "variance_ratio" in codes
    assert "nonconvergence" not in codes
    # R: fitMeasures(cfa(model, data = d), "chisq") with d$x1 <- d$x1 * 1e4 gives
    # 24.361, the value of the unscaled data; lavaan also warns that it could
    # not invert the information matrix, which psyval reports as singular.
    assert result.fit_measures["chisq"] == pytest.approx(24.361, abs=5e-4)
    assert "singular_information" in codes


def test_fewer_rows_than_variables_named():
    data = pd.read_csv(Path(__file__).parent / "reference" / "hs1939.csv").head(5)
    with pytest.raises(PsyvalError, match="5 usable rows for 6 model variables"):
        sem_fit("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6", data)


def test_one_row_named_not_constant():
    data = pd.read_csv(Path(__file__).parent / "reference" / "hs1939.csv").head(1)
    with pytest.raises(PsyvalError, match="the data have 1 row"):
        sem_fit("f =~ x1 + x2 + x3", data)


def test_semopy_root_warnings_captured(caplog):
    # semopy logs "Solver didn't converge" through the root logger; psyval
    # keeps it at DEBUG on its own logger and reports nonconvergence itself.
    caplog.set_level(logging.DEBUG)
    data = pd.read_csv(Path(__file__).parent / "reference" / "hs1939.csv")
    model = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
    with pytest.warns(ConvergenceWarning):
        sem_fit(model, data, max_iterations=1)
    semopy_records = [r for r in caplog.records if "semopy" in r.pathname.split("psyval")[-1] and r.name == "root"]
    assert semopy_records == []
    captured = [r for r in caplog.records if r.name == "psyval.psychometrics.sem._semopy_log"]
    assert any("converge" in r.getMessage() for r in captured)
    assert all(r.levelno == logging.DEBUG for r in captured)


def test_badly_scaled_data_does_not_claim_unidentified():
    # Scaling one indicator by 1e8 makes the information matrix numerically
    # singular although the model is identified.
    data = pd.read_csv(Path(__file__).parent / "reference" / "hs1939.csv")
    data["x1"] = data["x1"] * 1e8
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = sem_fit("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6", data)
    summary = result.summary_text()
    assert "The model is NOT identified" not in summary
    assert "or the observed variances differ too much (rescale them" in summary
