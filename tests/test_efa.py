"""EFA against R's psych 2.2.9 on the Holzinger-Swineford items x1-x9.

Reference: tests/reference/psych_hs1939_efa_omega.json (R calls in its
``r_call``): KMO, cortest.bartlett, fa(..., fm = "minres"/"ml",
rotate = "varimax"/"oblimin") loadings and fa.parallel's suggestion.
Loadings are compared to 5e-3 because psych and factor_analyzer stop their
iterations at different tolerances; KMO and Bartlett to 5e-4.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psyval.errors import (
    DataQualityWarning,
    HeywoodWarning,
    IdentificationWarning,
    PsyvalError,
)
from psyval.psychometrics.efa import (
    bartlett_sphericity,
    efa,
    format_efa,
    kmo,
    model_degrees_of_freedom,
)

REFERENCE = Path(__file__).parent / "reference"
ITEMS = [f"x{i}" for i in range(1, 10)]


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(REFERENCE / "hs1939.csv")


@pytest.fixture(scope="module")
def psych():
    return json.loads((REFERENCE / "psych_hs1939_efa_omega.json").read_text())


def test_kmo_matches_psych(data, psych):
    overall, per_item = kmo(data.corr().to_numpy())
    assert overall == pytest.approx(psych["kmo_msa"], abs=5e-4)
    for item, value in zip(ITEMS, per_item):
        assert value == pytest.approx(psych["kmo_msai"][item], abs=5e-4), item


def test_bartlett_matches_psych(data, psych):
    result = bartlett_sphericity(data.corr().to_numpy(), len(data))
    assert result["chisq"] == pytest.approx(psych["bartlett"]["chisq"], abs=5e-3)
    assert result["df"] == psych["bartlett"]["df"]


@pytest.mark.parametrize(
    ("method", "rotation", "key"),
    [("minres", "varimax", "fa_minres_varimax"), ("minres", "oblimin", "fa_minres_oblimin"),
     ("ml", "varimax", "fa_ml_varimax")],
)
def test_loadings_match_psych(data, psych, method, rotation, key):
    result = efa(data, n_factors=3, method=method, rotation=rotation)
    expected = np.array(psych[key])
    assert list(result.loadings.index) == ITEMS
    assert np.max(np.abs(result.loadings.to_numpy() - expected)) < 5e-3


def test_parallel_analysis_suggests_three(data, psych):
    result = efa(data)
    assert result.suggested_factors == psych["parallel_nfact"] == 3
    assert result.n_factors == 3


def test_signs_follow_psych(data):
    flipped = data.copy()
    flipped[["x4", "x5", "x6"]] = -flipped[["x4", "x5", "x6"]]
    result = efa(flipped, n_factors=3, rotation="varimax")
    # psych reflects each factor so that its loadings sum to a positive number.
    assert (result.loadings.sum(axis=0) > 0).all()


def test_pairwise_reports_counts():
    data = pd.read_csv(REFERENCE / "hs1939_missing.csv")
    with pytest.warns(DataQualityWarning, match="pairwise correlations use between 261 and 301 rows"):
        result = efa(data, n_factors=3, missing="pairwise")
    assert result.n_used == 261
    assert result.n_total == 301
    assert "261 used of 301 (pairwise)" in format_efa(result)


def test_listwise_reports_counts():
    data = pd.read_csv(REFERENCE / "hs1939_missing.csv")
    with pytest.warns(DataQualityWarning, match="listwise deletion dropped"):
        result = efa(data, n_factors=3, missing="listwise")
    assert result.n_used == int(data.dropna().shape[0])


def test_too_few_items_rejected(data):
    with pytest.raises(PsyvalError, match="at least 3"):
        efa(data[["x1", "x2"]])


def test_too_few_items_message_lists_names(data):
    with pytest.raises(PsyvalError, match=r"the data have only 2 \(x1, x2\): add item columns"):
        efa(data[["x1", "x2"]])
    with pytest.raises(PsyvalError, match=r"items lists only 2 \(x1, x2\): name at least 3"):
        efa(data, items=["x1", "x2"])


def test_no_numeric_columns_rejected():
    text_only = pd.DataFrame({"a": ["x", "p"], "b": ["y", "q"], "c": ["z", "r"]})
    with pytest.warns(DataQualityWarning), pytest.raises(PsyvalError) as raised:
        efa(text_only)
    message = str(raised.value)
    assert "the data have no numeric columns" in message
    assert "[]" not in message


@pytest.fixture(scope="module")
def psych_oblique():
    return json.loads((REFERENCE / "psych_hs1939_efa_oblique.json").read_text())


def _match_columns(ours: np.ndarray, reference: np.ndarray) -> list[int]:
    """Return, for each reference column, the index of the closest psyval column."""
    return [int(np.argmin(np.abs(ours - column[:, None]).sum(axis=0))) for column in reference.T]


@pytest.mark.parametrize(("rotation", "key"), [("oblimin", "oblimin"), ("geomin_obl", "geominQ")])
def test_oblique_phi_h2_ss_match_psych(data, psych_oblique, rotation, key):
    # psych prints the factors in its own column order (MR1, MR3, MR2), so the
    # psyval columns are matched to psych's by their loadings first.
    expected = psych_oblique[key]
    result = efa(data, n_factors=3, rotation=rotation)
    reference_loadings = np.array(expected["loadings"])
    order = _match_columns(result.loadings.to_numpy(), reference_loadings)
    assert sorted(order) == [0, 1, 2]
    loadings = result.loadings.to_numpy()[:, order]
    assert np.max(np.abs(loadings - reference_loadings)) < 5e-3
    phi = result.factor_correlations.to_numpy()[np.ix_(order, order)]
    assert np.max(np.abs(phi - np.array(expected["phi"]))) < 1e-3
    assert np.max(np.abs(result.communalities.to_numpy() - np.array(expected["h2"]))) < 1e-3
    ss = result.variance.loc["SS loadings"].to_numpy()[order]
    assert np.max(np.abs(ss - np.array(expected["ss_loadings"]))) < 1e-3


def test_text_cell_rejected_not_dropped(data):
    broken = data.astype(object)
    broken.loc[5, "x3"] = "abc"
    with pytest.raises(PsyvalError, match="item 'x3' is not numeric"):
        efa(broken, n_factors=3)


def test_text_only_column_left_out_with_warning(data):
    labelled = data.assign(respondent=[f"r{i}" for i in range(len(data))])
    with pytest.warns(DataQualityWarning, match="columns \\['respondent'\\] hold no numbers"):
        result = efa(labelled, n_factors=3)
    assert list(result.loadings.index) == ITEMS


def test_fewer_rows_than_items_rejected(data):
    with pytest.raises(PsyvalError, match="5 usable rows for 9 items"):
        efa(data.head(5), n_factors=1)


def test_collinear_items_rejected(data):
    with pytest.raises(PsyvalError, match="linearly dependent"):
        efa(data.assign(x10=data["x1"] + data["x2"]), n_factors=3)


def test_duplicate_items_rejected(data):
    with pytest.raises(PsyvalError, match="more than once"):
        efa(data, n_factors=1, items=["x1", "x1", "x2", "x3"])


def test_zero_suggested_factors_warns():
    generator = np.random.default_rng(8)
    noise = pd.DataFrame(generator.standard_normal((200, 6)), columns=[f"n{i}" for i in range(6)])
    with pytest.warns(DataQualityWarning, match="parallel analysis suggests 0 factors"):
        result = efa(noise)
    assert result.suggested_factors == 0
    assert result.n_factors == 1


def test_cli_items_without_names_rejected(data, tmp_path):
    from click.testing import CliRunner

    from psyval.cli import main

    path = tmp_path / "data.csv"
    data.to_csv(path, index=False)
    result = CliRunner().invoke(main, ["efa", str(path), "--items", " , "])
    assert result.exit_code == 2
    assert "--items ' , ' names no columns; give comma-separated column names" in result.output
    assert "[" not in result.output


# R 4.2.2, psych 2.2.9, d <- read.csv("tests/reference/hs1939.csv")[, paste0("x", 1:9)]:
#   sapply(3:6, function(k) fa(d, nfactors = k, fm = "ml")$dof)  ->  12 6 1 -3
#   fa(d[, 1:3], nfactors = 1)$dof                                  ->  0
@pytest.mark.parametrize(("n_items", "n_factors", "expected"), [(9, 3, 12), (9, 4, 6), (9, 5, 1), (9, 6, -3), (3, 1, 0),
                                                                (7, 4, -1), (7, 6, -6)])
def test_model_df_matches_psych(n_items, n_factors, expected):
    assert model_degrees_of_freedom(n_items, n_factors) == expected


def test_underidentified_model_warns(data):
    with pytest.warns(IdentificationWarning, match="6-factor model of 9 items has -3 degrees of freedom"):
        result = efa(data[ITEMS], n_factors=6, method="minres")
    assert result.df == -3
    assert not result.ok
    assert result.diagnostics[0]["code"] == "underidentified"
    report = format_efa(result)
    assert "Degrees of freedom for the model: -3 (negative: the model is not identified)" in report
    assert "the model is not identified, so the loadings above are not unique" in report


def test_saturated_model_reported(data):
    result = efa(data, n_factors=1, items=["x1", "x2", "x3"])
    assert result.df == 0
    assert result.ok
    assert [d["code"] for d in result.diagnostics] == ["saturated"]
    assert "Degrees of freedom for the model: 0 (saturated: no fit test)" in format_efa(result)


def test_heywood_case_warns(data):
    # psych 2.2.9 gives this solution the same communality of 0.995 at the uniqueness bound:
    #   max(fa(d, nfactors = 4, fm = "ml")$communality)  ->  0.995
    with pytest.warns(HeywoodWarning, match="item 'x5' has communality 0.995"):
        result = efa(data[ITEMS], n_factors=4, method="ml")
    assert result.ok
    assert [d["subject"] for d in result.diagnostics if d["code"] == "heywood"] == ["x5"]


def test_identified_model_has_no_diagnostics(data):
    result = efa(data[ITEMS], n_factors=3)
    assert result.df == 12
    assert result.diagnostics == []


def test_cli_underidentified_exits_1(data, tmp_path):
    from click.testing import CliRunner

    from psyval.cli import main

    path = tmp_path / "data.csv"
    data[ITEMS].to_csv(path, index=False)
    result = CliRunner().invoke(main, ["efa", str(path), "--factors", "6", "--format", "json"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["df"] == -3
    assert document["diagnostics"][0]["code"] == "underidentified"
    assert "psyval: the EFA is not usable (underidentified)" in result.stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [(["--factors", "9"], "--factors 9 must be between 1 and 8"), (["--cut", "-1"], "'--cut': -1.0 is not in the range")],
)
def test_cli_factors_and_cut_checked(data, tmp_path, arguments, message):
    from click.testing import CliRunner

    from psyval.cli import main

    path = tmp_path / "data.csv"
    data[ITEMS].to_csv(path, index=False)
    result = CliRunner().invoke(main, ["efa", str(path), *arguments])
    assert result.exit_code == 2
    assert message in result.output
