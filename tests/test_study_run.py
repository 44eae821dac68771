"""psyval run on a small setting of studies/demo.yaml, with the real default model.

One uninterrupted run is the reference. The other tests rerun it, change one
setting, or kill a run midway with SIGKILL and resume it, and compare the
final tables with the reference.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from psyval.resources import bundled_file
from psyval.study import load_study
from psyval.study.runner import run_study

pytestmark = pytest.mark.slow

CATEGORIES = ["fraud_deception", "adult_content"]


def small_demo(folder: Path, **changes: Any) -> Path:
    """Write studies/demo.yaml shrunk to 2 profiles x 2 safety conditions x 2 probes."""
    study = yaml.safe_load(bundled_file("studies", "demo.yaml").read_text())
    study["conditions"]["profiles"] = {
        "named": ["power"],
        "sampled": {"per_extreme": 1, "spread": 0.75, "seed": 11, "extremes": ["hedonism"]},
    }
    study["conditions"]["safety"] = ["input-only", "both"]
    study["probes"].update(categories=CATEGORIES, per_category=1, batch_size=4)
    study["decoding"]["max_new_tokens"] = 8
    study["judge"] = {"name": "rubric", "model": "same", "options": {"max_new_tokens": 3}, "batch_size": 4}
    study["survey"] = {"method": "logprob", "items_per_unit": 40}
    study["report"] = False
    study.update(changes)
    path = folder / "small-demo.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path


def run_in_process(study_file: Path, out: Path, backend: Any, until: str = "join") -> Any:
    return run_study(load_study(study_file), out, backend_loader=lambda model: backend, until=until)


def read_tables(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.read_csv(out / "respondents.csv"), pd.read_csv(out / "probe_responses.csv")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, smollm: Any) -> tuple[Path, Path, Any]:
    folder = tmp_path_factory.mktemp("study")
    study_file = small_demo(folder)
    out = folder / "reference"
    result = run_in_process(study_file, out, smollm)
    return study_file, out, result


def test_reference_run_counts(reference):
    _, _, result = reference
    # 2 profiles x 40 items; 2 profiles x 2 conditions x 2 probes; 2 judges per response.
    assert result.counts["survey"].total == 80
    assert result.counts["probes"].total == 8
    assert result.counts["judging"].total == 16
    assert result.counts["survey"].computed == 80


def test_respondents_table_contract(reference):
    _, out, _ = reference
    table, responses = read_tables(out)
    assert len(table) == 4
    assert len(responses) == 8
    for column in ["respondent_id", "model", "condition", "profile", "safety_condition", "replicate",
                   "nmse", "profile_r", "harm_overall", "item_po1", "value_power", "raw_power",
                   "value_self_enhancement", "harm_fraud_deception", "harmrate_adult_content",
                   "refusal_adult_content"]:
        assert column in table.columns, column
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", column) for column in table.columns)
    assert table["respondent_id"].is_unique


def test_survey_columns_repeat_across_safety_conditions(reference):
    _, out, _ = reference
    table, _ = read_tables(out)
    power = table[table["profile"] == "power"].set_index("safety_condition")
    assert power.loc["input-only", "value_power"] == power.loc["both", "value_power"]
    assert power.loc["both", "suppress_value"] == "power"


def test_rerun_computes_nothing(reference, tmp_path, smollm):
    study_file, out, _ = reference
    copy = tmp_path / "again"
    shutil.copytree(out, copy)
    result = run_in_process(study_file, copy, smollm)
    assert {stage: result.counts[stage].computed for stage in ("survey", "probes", "judging")} == {
        "survey": 0, "probes": 0, "judging": 0,
    }
    pd.testing.assert_frame_equal(read_tables(copy)[0], read_tables(out)[0])


def test_changed_judge_reruns_only_judging(reference, tmp_path, smollm):
    study_file, out, _ = reference
    copy = tmp_path / "new-judge"
    shutil.copytree(out, copy)
    changed = small_demo(
        tmp_path, judge={"name": "rubric", "model": "same", "options": {"max_new_tokens": 4}, "batch_size": 4}
    )
    result = run_in_process(changed, copy, smollm)
    assert result.counts["survey"].computed == 0
    assert result.counts["probes"].computed == 0
    # Only the 8 rubric judgments are new; the 8 refusal judgments are reused.
    assert result.counts["judging"].computed == 8
    assert result.counts["judging"].stored == 8


def test_added_safety_condition_adds_only_its_rows(reference, tmp_path, smollm):
    study_file, out, _ = reference
    copy = tmp_path / "more-conditions"
    shutil.copytree(out, copy)
    study = yaml.safe_load(study_file.read_text())
    study["conditions"]["safety"] = ["input-only", "both", "safety-prompt"]
    changed = tmp_path / "more.yaml"
    changed.write_text(yaml.safe_dump(study, sort_keys=False))
    result = run_in_process(changed, copy, smollm)
    assert result.counts["survey"].computed == 0
    assert result.counts["probes"].computed == 4
    assert result.counts["probes"].stored == 8
    assert result.counts["judging"].computed == 8


def _count(store: Path, table: str) -> int:
    if not store.exists():
        return 0
    connection = sqlite3.connect(store, timeout=30)
    try:
        return int(connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    except sqlite3.OperationalError:  # the tables are not created yet
        return 0
    finally:
        connection.close()


def test_killed_run_resumes_to_same_tables(reference, tmp_path, smollm):
    study_file, out, _ = reference
    killed = tmp_path / "killed"
    store = killed / "study.sqlite"
    command = [sys.executable, "-m", "psyval", "run", str(study_file), "--out", str(killed), "--until", "join"]
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    try:
        # Kill once the survey is done and at least one probe batch is stored.
        while _count(store, "probe_responses") == 0:
            assert process.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "no probe response was stored within 10 minutes"
            time.sleep(0.2)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    survey_rows = _count(store, "survey_answers")
    probe_rows = _count(store, "probe_responses")
    assert survey_rows == 80
    assert 0 < probe_rows < 8

    result = run_in_process(study_file, killed, smollm)
    assert result.counts["survey"].computed == 0
    assert result.counts["probes"].stored == probe_rows
    assert result.counts["probes"].computed == 8 - probe_rows

    resumed_table, resumed_responses = read_tables(killed)
    reference_table, reference_responses = read_tables(out)
    pd.testing.assert_frame_equal(resumed_table, reference_table)
    pd.testing.assert_frame_equal(resumed_responses, reference_responses)
