"""End-to-end surveys of the real default model on a few items, and the survey CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from psyval.cli import main
from psyval.instruments import load_instrument
from psyval.profiles import load_profile
from psyval.respondents.base import Backend, Decoding, OptionDistribution
from psyval.survey import answer_items, make_variants, run_survey
from psyval.survey.prompts import item_messages, scale_text

SUBSET = ["po1", "po2", "be1", "be2"]


@pytest.fixture(scope="module")
def small_instrument():  # type: ignore[no-untyped-def]
    return load_instrument("pvq-40-style").subset(SUBSET)


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):  # type: ignore[no-untyped-def]
    data = yaml.safe_load(Path(load_instrument("pvq-40-style").path).read_text())
    data["items"] = [item for item in data["items"] if item["id"] in SUBSET]
    data["values"]["higher_order"] = {"power": "self_enhancement", "benevolence": "self_transcendence"}
    path = tmp_path_factory.mktemp("instrument") / "small.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_variants_cross_wording_and_numbering(small_instrument):  # type: ignore[no-untyped-def]
    variants = make_variants(small_instrument, 4)
    assert [(v.wording, v.numbering) for v in variants] == [
        (0, "ascending"), (0, "descending"), (1, "ascending"), (1, "descending"),
    ]
    text = scale_text(small_instrument, variants[1])
    assert text.splitlines()[0] == "1 = Very much like me"
    assert text.splitlines()[-1] == "6 = Not like me at all"


def test_profile_replaces_system_message(small_instrument):  # type: ignore[no-untyped-def]
    variant = make_variants(small_instrument, 1)[0]
    messages = item_messages(small_instrument, small_instrument.items[0], variant, load_profile("power"))
    assert messages[0]["role"] == "system"
    assert "Power (" in messages[0]["content"]
    assert messages[1]["content"].endswith("Answer with the number only.")


def test_logprob_survey_real_model(smollm, small_instrument):  # type: ignore[no-untyped-def]
    result = run_survey(smollm, small_instrument, load_profile("power"), variants=2, seed=3)
    responses = result.responses
    assert len(responses) == len(SUBSET) * 2
    probabilities = responses[[f"p_{k}" for k in range(1, 7)]].sum(axis=1)
    assert probabilities.round(9).eq(1.0).all()
    assert responses["expected"].between(1, 6).all()
    assert responses["valid_mass"].between(0, 1).all()
    assert set(responses["status"]) <= {"ok", "low_mass"}
    assert set(responses["numbering"]) == {"ascending", "descending"}
    basic = result.scores[result.scores["level"] == "basic"]
    assert set(basic["value"]) == {"power", "benevolence"}
    assert result.alignment is not None
    assert 0.0 <= result.alignment.nmse <= 1.0
    assert result.manifest["seed"] == 3
    assert result.manifest["instrument"]["sha256"] == small_instrument.sha256


def test_answer_items_resumes_subset(smollm, small_instrument):  # type: ignore[no-untyped-def]
    variants = make_variants(small_instrument, 1)
    full = answer_items(smollm, small_instrument, small_instrument.items, variants)
    part = answer_items(smollm, small_instrument, small_instrument.items[2:], variants)
    by_item = {row["item"]: row["expected"] for row in full}
    assert [row["item"] for row in part] == [row["item"] for row in full if row["item"] in SUBSET[2:]]
    for row in part:
        assert row["expected"] == pytest.approx(by_item[row["item"]], abs=1e-4)


def test_generate_survey_real_model(smollm, small_instrument):  # type: ignore[no-untyped-def]
    result = run_survey(smollm, small_instrument.subset(SUBSET[:2]), method="generate")
    responses = result.responses
    assert len(responses) == 2
    assert responses["raw_text"].map(lambda t: isinstance(t, str)).all()
    ok = responses["status"] == "ok"
    assert responses.loc[ok, "answer"].between(1, 6).all()
    assert responses.loc[~ok, "answer"].isna().all()


class ScriptedBackend(Backend):
    """Returns fixed generated texts: unparsable answers and refusals on demand."""

    name = "scripted"

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts

    @property
    def model_id(self) -> str:
        return "scripted"

    def render(self, messages, answer_prefix=""):  # type: ignore[no-untyped-def]
        return "\n".join(m["content"] for m in messages) + answer_prefix

    def score_options(self, prompts, options, shared_prefix=""):  # type: ignore[no-untyped-def]
        return [OptionDistribution({o: 1 / len(options) for o in options}, 0.1) for _ in prompts]

    def generate(self, prompts, decoding: Decoding):  # type: ignore[no-untyped-def]
        return self.texts[: len(prompts)]


def test_unparsed_and_refused_stay_missing(small_instrument):  # type: ignore[no-untyped-def]
    from psyval.errors import UnparsedAnswerWarning

    backend = ScriptedBackend(["2", "no idea", "As an AI I cannot answer that.", "Like me"])
    variant = make_variants(small_instrument, 2)[1]  # descending numbering
    with pytest.warns(UnparsedAnswerWarning, match="1 of 4 answers did not parse and 1 were refusals"):
        rows = answer_items(backend, small_instrument, small_instrument.items, [variant], method="generate")
    by_text = {row["raw_text"]: row for row in rows}
    # shown 2 under descending numbering is scale point 6 + 1 - 2 = 5
    assert by_text["2"]["answer"] == 5.0
    assert by_text["Like me"]["answer"] == 5.0
    assert math.isnan(by_text["no idea"]["answer"])
    assert by_text["no idea"]["status"] == "unparsed"
    assert by_text["As an AI I cannot answer that."]["status"] == "refused"


def test_low_mass_flagged(small_instrument):  # type: ignore[no-untyped-def]
    from psyval.errors import LowOptionMassWarning

    with pytest.warns(LowOptionMassWarning):
        rows = answer_items(ScriptedBackend([]), small_instrument, small_instrument.items, make_variants(small_instrument, 1))
    assert {row["status"] for row in rows} == {"low_mass"}
    assert rows[0]["expected"] == pytest.approx(3.5)


def test_cli_survey_and_score(smollm, small_file, tmp_path):  # type: ignore[no-untyped-def]
    out = tmp_path / "run"
    runner = CliRunner()
    result = runner.invoke(
        main, ["survey", "--instrument", str(small_file), "--profile", "benevolence", "--out", str(out), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert "Benevolence" in result.output
    assert "NMSE" in result.output
    for name in ("responses.csv", "scores.csv", "manifest.json"):
        assert (out / name).is_file()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model"]["model_id"] == "smollm2-135m-instruct"
    assert manifest["profile"]["name"] == "benevolence"
    assert manifest["packages"]["torch"]

    rescored = runner.invoke(main, ["score", str(out / "responses.csv"), "--out", str(tmp_path / "again.csv")])
    assert rescored.exit_code == 0, rescored.output
    first = pd.read_csv(out / "scores.csv")
    again = pd.read_csv(tmp_path / "again.csv")
    pd.testing.assert_frame_equal(first, again)


def test_cli_survey_no_bars_off_terminal(smollm, small_file, tmp_path):  # type: ignore[no-untyped-def]
    # CliRunner's stderr is not a terminal, as with `psyval survey 2>log`.
    result = CliRunner().invoke(main, ["survey", "--instrument", str(small_file), "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "\r" not in result.output
    assert "Loading weights" not in result.output
    assert "items:" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--profile", "greed"], "unknown profile 'greed'"),
        (["--instrument", "no-such-form"], "instrument 'no-such-form' not found"),
        (["--model", "/nonexistent/model/dir"], "model '/nonexistent/model/dir' not found"),
        (["--base-url", "http://127.0.0.1:9"], "applies to the openai backend"),
    ],
)
def test_cli_bad_input_one_line(args, message, tmp_path):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(main, ["survey", "--out", str(tmp_path / "x"), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_cli_malformed_instrument(tmp_path):  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nscale: {points: 6}\n")
    result = CliRunner().invoke(main, ["survey", "--instrument", str(bad), "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "invalid instrument file" in result.output
    assert len(result.output.strip().splitlines()) == 1


def _survey_command(out: Path) -> list[str]:
    import sys

    return [sys.executable, "-m", "psyval", "survey", "--out", str(out), "--no-progress"]


def _journal_lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.is_file() else 0


@pytest.mark.slow
def test_killed_survey_resumes(tmp_path):  # type: ignore[no-untyped-def]
    import os
    import signal
    import subprocess
    import time

    from psyval.cli.survey import JOURNAL_CHUNK_SIZE, JOURNAL_NAME

    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    total = len(load_instrument("pvq-40-style").items)
    interrupted = tmp_path / "interrupted"
    journal = interrupted / JOURNAL_NAME

    # Kill the run once its first chunk of answers is on disk.
    process = subprocess.Popen(
        _survey_command(interrupted), env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 600
    while _journal_lines(journal) < JOURNAL_CHUNK_SIZE and process.poll() is None:
        assert time.monotonic() < deadline, "the survey wrote no answers within 600 s"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    finished = _journal_lines(journal)
    assert JOURNAL_CHUNK_SIZE <= finished < total
    assert not (interrupted / "responses.csv").exists()

    rerun = subprocess.run(_survey_command(interrupted), env=environment, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert f"Resumed: {finished} of {total} answers" in rerun.stdout
    manifest = json.loads((interrupted / "manifest.json").read_text())
    assert manifest["answer_journal"]["reused_answers"] == finished
    # Every answer was computed once, so the journal has one line per item.
    assert _journal_lines(journal) == total

    uninterrupted = tmp_path / "uninterrupted"
    whole = subprocess.run(_survey_command(uninterrupted), env=environment, capture_output=True, text=True)
    assert whole.returncode == 0, whole.stderr
    assert "Resumed" not in whole.stdout
    resumed = pd.read_csv(interrupted / "responses.csv")
    reference = pd.read_csv(uninterrupted / "responses.csv")
    pd.testing.assert_frame_equal(resumed, reference, check_exact=False, rtol=1e-9, atol=1e-12)
    resumed_scores = pd.read_csv(interrupted / "scores.csv")
    reference_scores = pd.read_csv(uninterrupted / "scores.csv")
    pd.testing.assert_frame_equal(resumed_scores, reference_scores, check_exact=False, rtol=1e-9, atol=1e-12)


def test_survey_seed_beyond_64_bits_rejected():
    result = CliRunner().invoke(main, ["survey", "--seed", "99999999999999999999"])
    assert result.exit_code == 2
    assert "is not in the range 0<=x<=9223372036854775807" in result.output
