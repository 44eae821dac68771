"""PVQ scoring and alignment strength against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from psyval.errors import DataQualityWarning, PsyvalError
from psyval.instruments.values import BASIC_VALUES
from psyval.profiles import load_profile
from psyval.survey.scoring import alignment_strength, item_answers, score_responses

NAN = math.nan


def _responses() -> pd.DataFrame:
    # item, value, higher value, reverse, answers for variant 0 and variant 1
    table = [
        ("i1", "self_direction", "openness_to_change", False, 5, 3),
        ("i2", "self_direction", "openness_to_change", False, 6, NAN),
        ("i3", "power", "self_enhancement", False, 2, 2),
        ("i4", "power", "self_enhancement", True, 2, 4),
        ("i5", "tradition", "conservation", False, NAN, NAN),
    ]
    rows = []
    for item, value, higher, reverse, *answers in table:
        for variant, answer in enumerate(answers):
            rows.append({
                "respondent": "r1", "item": item, "value": value, "refined_value": "",
                "higher_value": higher, "reverse": reverse, "scale_points": 6,
                "variant": variant, "answer": answer,
            })
    return pd.DataFrame(rows)


def _row(scores: pd.DataFrame, level: str, value: str) -> pd.Series:
    return scores[(scores["level"] == level) & (scores["value"] == value)].iloc[0]


def test_item_answers_average_variants_and_reverse():
    items = item_answers(_responses()).set_index("item")
    # i1: (5 + 3) / 2 = 4, SD (ddof 0) = 1
    assert items.loc["i1", "answer"] == 4.0
    assert items.loc["i1", "spread"] == 1.0
    # i2: only variant 0 answered: 6, no spread
    assert items.loc["i2", "answer"] == 6.0
    assert math.isnan(items.loc["i2", "spread"])
    # i4 reverse-keyed: 2 -> 5 and 4 -> 3, mean 4, SD 1
    assert items.loc["i4", "answer"] == 4.0
    assert items.loc["i4", "spread"] == 1.0
    assert items.loc["i5", "n_answered"] == 0


def test_raw_and_mrat_centred_scores():
    with pytest.warns(DataQualityWarning, match="tradition"):
        scores = score_responses(_responses())
    # MRAT over answered items i1..i4: (4 + 6 + 2 + 4) / 4 = 4
    assert _row(scores, "mrat", "mrat")["raw"] == 4.0
    # self-direction: (4 + 6) / 2 = 5, centred 5 - 4 = 1
    assert _row(scores, "basic", "self_direction")["raw"] == 5.0
    assert _row(scores, "basic", "self_direction")["centred"] == 1.0
    # power: (2 + 4) / 2 = 3, centred -1
    assert _row(scores, "basic", "power")["raw"] == 3.0
    assert _row(scores, "basic", "power")["centred"] == -1.0
    # tradition has no answered item
    assert math.isnan(_row(scores, "basic", "tradition")["raw"])
    assert _row(scores, "basic", "tradition")["n_answered"] == 0


def test_higher_order_is_mean_of_items():
    with pytest.warns(DataQualityWarning):
        scores = score_responses(_responses())
    assert _row(scores, "higher", "openness_to_change")["raw"] == 5.0
    assert _row(scores, "higher", "self_enhancement")["raw"] == 3.0


def test_refined_level_scored_when_present():
    responses = _responses().iloc[:8].copy()
    responses["refined_value"] = ["sdt", "sdt", "sda", "sda", "pod", "pod", "pod", "pod"]
    scores = score_responses(responses)
    # sdt = i1 = 4; sda = i2 = 6; pod = (2 + 4) / 2 = 3; MRAT 4
    assert _row(scores, "refined", "sdt")["raw"] == 4.0
    assert _row(scores, "refined", "sda")["centred"] == 2.0
    assert _row(scores, "refined", "pod")["raw"] == 3.0


def test_target_and_error_columns():
    responses = _responses()
    with pytest.warns(DataQualityWarning):
        scores = score_responses(responses, {"r1": load_profile("power")})
    power = _row(scores, "basic", "power")
    assert power["target"] == 6.0
    # (3 - 6) / 5 = -0.6
    assert power["error"] == pytest.approx(-0.6)


def test_missing_columns_rejected():
    with pytest.raises(PsyvalError, match="is missing the columns"):
        score_responses(pd.DataFrame({"respondent": ["r1"]}))


def test_missing_columns_named_with_commas():
    partial = pd.DataFrame({"respondent": ["r1"], "item": ["q1"], "answer": [3]})
    with pytest.raises(PsyvalError) as raised:
        item_answers(partial)
    message = str(raised.value)
    assert "missing the columns value, refined_value, higher_value, reverse, scale_points, variant:" in message
    assert "[" not in message


def _measured(values: dict[str, float], default: float) -> pd.Series:
    return pd.Series({v: values.get(v, default) for v in BASIC_VALUES})


def test_alignment_perfect_match():
    result = alignment_strength(_measured({"power": 6.0}, 1.0), load_profile("power"))
    assert result.nmse == 0.0
    assert result.r == pytest.approx(1.0)


def test_alignment_worked_example():
    # Target: power 6, others 1 -> rescaled power 1, others 0.
    # Measured: power 1, others 3.5 -> rescaled power 0, others 0.5.
    # NMSE = (9 * 0.5**2 + 1 * 1**2) / 10 = 0.325; profiles are mirror images, r = -1.
    result = alignment_strength(_measured({"power": 1.0}, 3.5), load_profile("power"))
    assert result.nmse == pytest.approx(0.325)
    assert result.r == pytest.approx(-1.0)
    assert result.errors["power"] == pytest.approx(-1.0)
    assert result.errors["hedonism"] == pytest.approx(0.5)


def test_alignment_skips_missing_values():
    measured = _measured({"power": 6.0}, 1.0)
    measured["tradition"] = np.nan
    result = alignment_strength(measured, load_profile("power"))
    assert "tradition" not in result.errors
    assert result.nmse == 0.0


def test_alignment_constant_profile_warns():
    with pytest.warns(DataQualityWarning, match="undefined"):
        result = alignment_strength(_measured({}, 3.0), load_profile("power"))
    assert math.isnan(result.r)
    # every value off by 0.4 except power, off by 0.6: (9 * 0.16 + 0.36) / 10 = 0.18
    assert result.nmse == pytest.approx(0.18)


@pytest.mark.parametrize(("answer", "shown"), [(99, "99"), (-5, "-5"), (0.5, "0.5")])
def test_score_cli_rejects_out_of_range_answer(tmp_path, answer, shown):  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from psyval.cli import main

    responses = _responses()
    responses.loc[2, "answer"] = answer
    path = tmp_path / "responses.csv"
    responses.to_csv(path, index=False)
    result = CliRunner().invoke(main, ["score", str(path)])
    assert result.exit_code == 2
    assert f"responses.csv line 4 (item 'i2'): answer {shown} is outside 1-6" in result.output


def test_score_cli_warns_on_text_answers(tmp_path):  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from psyval.cli import main

    responses = _responses().astype({"answer": object})
    responses.loc[0, "answer"] = "lots"
    responses.loc[1, "answer"] = "some"
    path = tmp_path / "responses.csv"
    responses.to_csv(path, index=False)
    result = CliRunner().invoke(main, ["score", str(path)])
    assert result.exit_code == 0
    assert "UnparsedAnswerWarning: 2 answer(s) in responses.csv are not numbers" in result.output


@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        ("{bad json", "manifest.json' is not valid JSON"),
        ('{"profile": {"name": "x"}}', "manifest.json' has an incomplete 'profile' entry; it needs name, values"),
    ],
)
def test_score_cli_rejects_broken_manifest(tmp_path, manifest, expected):  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from psyval.cli import main

    responses = _responses()
    responses["respondent"] = "r1"
    path = tmp_path / "responses.csv"
    responses.to_csv(path, index=False)
    (tmp_path / "manifest.json").write_text(manifest, encoding="utf-8")
    result = CliRunner().invoke(main, ["score", str(path)])
    assert result.exit_code == 2
    assert expected in result.output
    assert "Traceback" not in result.output
