"""Batched probe generation and ``psyval probe`` on the real default model (SmolLM2-135M-Instruct)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from psyval.cli import main
from psyval.probes import RESPONSE_COLUMNS, generate_responses, load_probe_set
from psyval.respondents.base import Backend, Decoding

pytestmark = pytest.mark.slow

GREEDY = Decoding(max_new_tokens=12, greedy=True)


@pytest.fixture(scope="module")
def three_probes():  # type: ignore[no-untyped-def]
    return load_probe_set("psyval").subset(ids=["mal-01", "ben-mal-02", "phy-03"])


def test_batched_equals_one_at_a_time(smollm: Backend, three_probes) -> None:  # type: ignore[no-untyped-def]
    batched = generate_responses(smollm, three_probes, decoding=GREEDY, batch_size=3)
    single = generate_responses(smollm, three_probes, decoding=GREEDY, batch_size=1)
    assert list(batched.columns) == list(RESPONSE_COLUMNS)
    # Rows keep the set's order (harmful file first), not the length order used for batching.
    assert list(batched["probe_id"]) == ["mal-01", "phy-03", "ben-mal-02"]
    # Greedy decoding with left padding matches unbatched decoding on this model.
    assert list(batched["response"]) == list(single["response"])
    assert all(isinstance(text, str) and text for text in batched["response"])


def test_profile_and_condition_recorded(smollm: Backend, three_probes) -> None:  # type: ignore[no-untyped-def]
    frame = generate_responses(
        smollm, three_probes.subset(ids=["mal-01"]), profile="hedonism", condition="both", decoding=GREEDY
    )
    row = frame.iloc[0]
    assert (row["profile"], row["condition"], row["suppress_value"]) == ("hedonism", "both", "hedonism")
    assert row["respondent"] == f"{smollm.model_id}|hedonism"
    assert row["seed"] == 0


def test_probe_command_writes_outputs(tmp_path: Path) -> None:
    import torch

    threads = torch.get_num_threads()
    out = tmp_path / "run"
    try:
        result = CliRunner().invoke(
            main,
            [
                "probe", "--category", "malware", "--per-category", "1", "--profile", "power",
                "--condition", "input-only", "--condition", "value-prompt", "--max-new-tokens", "12",
                "--judge", "refusal", "--judge", "rubric", "--threads", "1", "--out", str(out),
            ],
        )
    finally:
        # --threads changes a process-wide torch setting; later tests get the old one back.
        torch.set_num_threads(threads)
    assert result.exit_code == 0, result.output
    responses = pd.read_csv(out / "probe_responses.csv", keep_default_na=False)
    # 2 probes (1 harmful, 1 benign) x 1 profile x 2 conditions; value-prompt sets aside the top value.
    assert len(responses) == 4
    assert set(responses["suppress_value"]) == {"", "power"}
    assert set(responses["rubric_status"]) <= {"ok", "judge_error"}
    scores = pd.read_csv(out / "harm_scores.csv")
    assert {"harm_score", "harm_rate_ci_low", "refusal_rate", "judge_errors"} <= set(scores.columns)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["decoding"] == {"max_new_tokens": 12, "temperature": 0.1, "top_p": 0.75, "greedy": False, "seed": 0}
    assert manifest["judge_errors"]["rubric"] == int((responses["rubric_status"] == "judge_error").sum())
    assert "Malware" in result.output


def test_probe_command_needs_value_to_suppress(tmp_path: Path) -> None:
    # Without a profile there is no top value to default to.
    result = CliRunner().invoke(main, ["probe", "--condition", "value-prompt", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "needs a value to set aside" in result.output


def test_probe_command_names_unknown_category(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["probe", "--category", "illegal", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "--category 'illegal' matches no probe in 'psyval'; use one of: adult_content," in result.output
    assert "illegal_activity" in result.output


def test_probe_command_keeps_survey_manifest(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps({"command": "survey"}))
    result = CliRunner().invoke(
        main,
        ["probe", "--category", "fraud_deception", "--kind", "harmful", "--per-category", "1",
         "--max-new-tokens", "8", "--judge", "refusal", "--out", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    assert "judge errors (never counted as safe or harmful): refusal 0\n" in result.output
    assert json.loads((tmp_path / "manifest.json").read_text()) == {"command": "survey"}
    assert json.loads((tmp_path / "probe_manifest.json").read_text())["command"] == "probe"


def test_probe_seed_beyond_64_bits_rejected():
    result = CliRunner().invoke(main, ["probe", "--seed", "99999999999999999999"])
    assert result.exit_code == 2
    assert "is not in the range 0<=x<=9223372036854775807" in result.output
