"""Reliability against R's psych 2.2.9.

Reference: tests/reference/psych_hs1939_textual_alpha.json, made with
``psych::alpha(HolzingerSwineford1939[, c("x4", "x5", "x6")])``, and
``omega(..., nfactors = 1)$omega.tot`` in psych_hs1939_efa_omega.json.
Every quantity is checked to 5e-4, so it agrees at 3 decimals.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psyval.errors import DataQualityWarning, PsyvalError
from psyval.psychometrics.reliability import reliability

REFERENCE = Path(__file__).parent / "reference"
TOLERANCE = 5e-4


@pytest.fixture(scope="module")
def textual():
    data = pd.read_csv(REFERENCE / "hs1939.csv")
    return reliability(data, ["x4", "x5", "x6"], name="textual")


@pytest.fixture(scope="module")
def psych_reference():
    return json.loads((REFERENCE / "psych_hs1939_textual_alpha.json").read_text())


def test_total_matches_psych(textual, psych_reference):
    expected = psych_reference["total"][0]
    for key in ["raw_alpha", "std.alpha", "G6(smc)", "average_r", "S/N", "ase", "mean", "sd", "median_r"]:
        assert textual.total[key].iloc[0] == pytest.approx(expected[key], abs=TOLERANCE), key


def test_alpha_if_dropped_matches_psych(textual, psych_reference):
    for expected in psych_reference["alpha_drop"]:
        row = textual.alpha_drop.loc[expected["_row"]]
        for key in ["raw_alpha", "std.alpha", "G6(smc)", "average_r", "S/N", "alpha se", "med.r"]:
            assert row[key] == pytest.approx(expected[key], abs=TOLERANCE), (expected["_row"], key)
        assert math.isnan(row["var.r"])


def test_item_statistics_match_psych(textual, psych_reference):
    for expected in psych_reference["item_stats"]:
        row = textual.item_stats.loc[expected["_row"]]
        for key in ["n", "raw.r", "std.r", "r.cor", "r.drop", "mean", "sd"]:
            assert row[key] == pytest.approx(expected[key], abs=TOLERANCE), (expected["_row"], key)


def test_omega_total_matches_psych(textual):
    reference = json.loads((REFERENCE / "psych_hs1939_efa_omega.json").read_text())
    assert textual.total["omega_total"].iloc[0] == pytest.approx(reference["omega_total_textual_1f"], abs=TOLERANCE)


def test_negative_item_rest_warns_without_reversing():
    data = pd.read_csv(REFERENCE / "hs1939.csv")[["x4", "x5", "x6"]].copy()
    data["x6"] = 8 - data["x6"]
    with pytest.warns(DataQualityWarning, match="item 'x6'.*item-rest correlation -0\\.7"):
        result = reliability(data, name="textual")
    assert result.item_stats.loc["x6", "r.drop"] < -0.5
    assert result.reversed_items == []


def test_reverse_keyed_item_restores_alpha(textual):
    data = pd.read_csv(REFERENCE / "hs1939.csv")[["x4", "x5", "x6"]].copy()
    low, high = data["x6"].min(), data["x6"].max()
    data["x6"] = low + high - data["x6"]
    result = reliability(data, reverse=["x6"], name="textual")
    assert result.total["raw_alpha"].iloc[0] == pytest.approx(textual.total["raw_alpha"].iloc[0], abs=1e-12)


def test_listwise_deletion_warns_with_count():
    data = pd.read_csv(REFERENCE / "hs1939_missing.csv")
    with pytest.warns(DataQualityWarning, match="dropped 59 of 301 rows"):
        result = reliability(data, ["x4", "x5", "x6"], missing="listwise")
    assert result.total["n_obs"].iloc[0] == 242


@pytest.mark.parametrize(
    ("items", "reverse", "message"),
    [(["x4"], (), "at least 2"), (["x4", "nope"], (), "not columns"), (["x4", "x5"], ["x9"], "not items")],
)
def test_invalid_input_rejected(items, reverse, message):
    data = pd.read_csv(REFERENCE / "hs1939.csv")
    with pytest.raises(PsyvalError, match=message):
        reliability(data, items, reverse=reverse)


def test_constant_item_rejected():
    data = pd.DataFrame({"a": np.arange(10.0), "b": np.ones(10), "c": np.arange(10.0) ** 2})
    with pytest.raises(PsyvalError, match="constant"):
        reliability(data)


def test_text_cell_rejected_not_coerced():
    data = pd.read_csv(REFERENCE / "hs1939.csv").astype(object)
    data.loc[5, "x3"] = "abc"
    with pytest.raises(PsyvalError, match="item 'x3' is not numeric"):
        reliability(data, ["x1", "x2", "x3"], name="visual")


def test_fewer_rows_than_items_rejected():
    data = pd.read_csv(REFERENCE / "hs1939.csv").head(5)
    with pytest.raises(PsyvalError, match="5 usable rows for 9 items"):
        reliability(data, [f"x{i}" for i in range(1, 10)])


# R (psych 2.2.9): a <- alpha(HolzingerSwineford1939[, c("x1", "x2")]); a$alpha.drop; a$total
TWO_ITEM_DROP = {
    "x1": {"raw_alpha": 0.29481552, "std.alpha": 0.29734551, "G6(smc)": 0.088414353, "average_r": 0.29734551,
           "S/N": 0.42317457, "var.r": 0.0, "med.r": 0.29734551},
    "x2": {"raw_alpha": 0.29989721, "std.alpha": 0.29734551, "G6(smc)": 0.088414353, "average_r": 0.29734551,
           "S/N": 0.42317457, "var.r": 0.0, "med.r": 0.29734551},
}


def test_two_item_drop_matches_psych():
    result = reliability(pd.read_csv(REFERENCE / "hs1939.csv"), ["x1", "x2"], name="pair")
    for item, expected in TWO_ITEM_DROP.items():
        for column, value in expected.items():
            assert result.alpha_drop.loc[item, column] == pytest.approx(value, abs=5e-4), (item, column)
        assert math.isnan(result.alpha_drop.loc[item, "alpha se"])
    assert result.total.loc["pair", "raw_alpha"] == pytest.approx(0.45837773, abs=5e-4)
    assert result.total.loc["pair", "G6(smc)"] == pytest.approx(0.29734551, abs=5e-4)


def test_pairwise_default_matches_psych():
    # psych::alpha uses cov(x, use = "pairwise") by default; R call in the file.
    expected = json.loads((REFERENCE / "psych_hs1939_missing_textual_alpha.json").read_text())
    data = pd.read_csv(REFERENCE / "hs1939_missing.csv")
    with pytest.warns(DataQualityWarning, match="pairwise covariances use between"):
        result = reliability(data, ["x4", "x5", "x6"], name="textual")
    for column in ["raw_alpha", "std.alpha", "G6(smc)", "average_r", "S/N", "ase", "mean", "sd", "median_r"]:
        assert result.total.loc["textual", column] == pytest.approx(expected["total"][column], abs=5e-4), column
    for item in ["x4", "x5", "x6"]:
        for column in ["raw_alpha", "std.alpha", "G6(smc)", "average_r", "S/N", "alpha se", "med.r"]:
            got = result.alpha_drop.loc[item, column]
            assert got == pytest.approx(expected["alpha_drop"][item][column], abs=5e-4), (item, column)
        for column in ["n", "raw.r", "std.r", "r.cor", "r.drop", "mean", "sd"]:
            got = result.item_stats.loc[item, column]
            assert got == pytest.approx(expected["item_stats"][item][column], abs=5e-4), (item, column)
