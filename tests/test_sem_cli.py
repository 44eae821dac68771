"""The sem-fit, cfa, efa and reliability commands: formats, inputs and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from psyval.cli import main
from psyval.instruments import load_instrument

REFERENCE = Path(__file__).parent / "reference"
HS_MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\n"


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture()
def hs_model(tmp_path: Path) -> Path:
    path = tmp_path / "hs.lav"
    path.write_text(HS_MODEL)
    return path


def simulated_responses(instrument, n_obs: int = 300, seed: int = 3) -> pd.DataFrame:
    """Return long responses with one factor per basic value.

    The raw responses to reverse-keyed items are reflected, as a respondent would give them.
    """
    generator = np.random.default_rng(seed)
    values = sorted({instrument.basic_of(item) for item in instrument.items})
    latent = {value: generator.standard_normal(n_obs) for value in values}
    frames = []
    for item in instrument.items:
        score = np.clip(3.5 + 0.9 * latent[instrument.basic_of(item)] + 0.6 * generator.standard_normal(n_obs), 1, 6)
        if item.reverse:
            score = instrument.scale.points + 1 - score
        frames.append(pd.DataFrame({"respondent": [f"r{i}" for i in range(n_obs)], "item": item.id,
                                    "expected_value": score}))
    return pd.concat(frames, ignore_index=True)


def test_sem_fit_text_report(runner, hs_model):
    result = runner.invoke(main, ["sem-fit", str(hs_model), str(REFERENCE / "hs1939.csv")])
    assert result.exit_code == 0, result.output
    assert "  Test statistic                                85.306" in result.output
    assert "  RMSEA                                          0.092" in result.output


def test_sem_fit_json_and_csv(runner, hs_model):
    result = runner.invoke(main, ["sem-fit", str(hs_model), str(REFERENCE / "hs1939.csv"), "--format", "json"])
    assert result.exit_code == 0
    document = json.loads(result.output)
    assert document["fit_measures"]["df"] == 24
    assert document["info"]["n_used"] == 301
    result = runner.invoke(main, ["sem-fit", str(hs_model), str(REFERENCE / "hs1939.csv"), "--format", "csv"])
    table = pd.read_csv(pd.io.common.StringIO(result.output))
    assert list(table.columns[:3]) == ["lhs", "op", "rhs"]
    assert len(table) == 24


def test_sem_fit_reads_parquet_and_results_folder(runner, hs_model, tmp_path):
    data = pd.read_csv(REFERENCE / "hs1939.csv")
    data.to_parquet(tmp_path / "hs.parquet")
    folder = tmp_path / "results"
    folder.mkdir()
    data.to_csv(folder / "respondents.csv", index=False)
    for source in (tmp_path / "hs.parquet", folder):
        result = runner.invoke(main, ["sem-fit", str(hs_model), str(source), "--format", "json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["fit_measures"]["chisq"] == pytest.approx(85.305522, abs=5e-4)


def test_nonconvergence_exits_nonzero(runner, hs_model):
    result = runner.invoke(main, ["sem-fit", str(hs_model), str(REFERENCE / "hs1939.csv"), "--max-iterations", "1"])
    assert result.exit_code == 1
    assert "did NOT end normally" in result.output
    assert "nonconvergence" in result.output


@pytest.mark.parametrize("missing", ["listwise", "fiml"])
@pytest.mark.parametrize("limit", [1, 3])
def test_iteration_count_within_limit(runner, hs_model, missing, limit):
    # The optimizer and the scoring or Newton steps after it share one limit.
    arguments = ["sem-fit", str(hs_model), str(REFERENCE / "hs1939.csv"), "--max-iterations", str(limit),
                 "--missing", missing]
    result = runner.invoke(main, arguments)
    assert result.exit_code == 1
    steps = "1 iteration\n" if limit == 1 else f"{limit} iterations\n"
    assert f"did NOT end normally after {steps}" in result.output


def test_underidentified_exits_nonzero(runner, tmp_path):
    model = tmp_path / "two.lav"
    model.write_text("f =~ x1 + x2\n")
    result = runner.invoke(main, ["sem-fit", str(model), str(REFERENCE / "hs1939.csv")])
    assert result.exit_code == 1
    assert "df = -1" in result.output
    assert "ended normally" not in result.output
    assert "** WARNING ** The model is NOT identified" in result.output


def test_user_error_is_one_line_exit_2(runner, tmp_path):
    model = tmp_path / "bad.lav"
    model.write_text("f =~ x1 + x2 + nope\n")
    result = runner.invoke(main, ["sem-fit", str(model), str(REFERENCE / "hs1939.csv")])
    assert result.exit_code == 2
    assert "model variables ['nope'] are missing from the data" in result.output
    assert "Traceback" not in result.output


def test_listwise_report_counts_dropped_rows(runner, hs_model):
    result = runner.invoke(main, ["sem-fit", str(hs_model), str(REFERENCE / "hs1939_missing.csv")])
    assert result.exit_code == 0
    assert "Used       Total" in result.output
    assert "Listwise deletion dropped" in result.output


def test_cfa_from_instrument_long_responses(runner, tmp_path):
    instrument = load_instrument("pvq-40-style")
    responses = tmp_path / "responses.csv"
    simulated_responses(instrument).to_csv(responses, index=False)
    result = runner.invoke(main, ["cfa", "--instrument", "pvq-40-style", "--level", "basic", str(responses),
                                  "--format", "json", "--show-model"])
    assert result.exit_code == 0, result.output
    model_text, _, report = result.output.partition("\n\n")
    assert "self_direction =~ item_sd1" in model_text
    document = json.loads(report)
    assert document["fit_measures"]["cfi"] > 0.95
    loadings = [row for row in document["parameters"] if row["op"] == "=~"]
    assert len(loadings) == len(instrument.items)


def test_cfa_and_reliability_reverse_only_flagged_items(runner, tmp_path):
    source = Path(load_instrument("pvq-40-style").path).read_text()
    reversed_source = source.replace("  - id: sd1\n    value: self_direction\n    reverse: false",
                                     "  - id: sd1\n    value: self_direction\n    reverse: true", 1)
    assert reversed_source != source
    path = tmp_path / "reversed.yaml"
    path.write_text(reversed_source)
    instrument = load_instrument(path)
    responses = tmp_path / "responses.csv"
    simulated_responses(instrument).to_csv(responses, index=False)
    result = runner.invoke(main, ["reliability", str(responses), "--instrument", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output[result.output.index("{"):])
    # The instrument reverses sd1 back, so its item-rest correlation is positive.
    assert document["self_direction"]["item_stats"]["item_sd1"]["r.drop"] > 0.5
    result = runner.invoke(main, ["cfa", "--instrument", str(path), str(responses), "--format", "csv"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(pd.io.common.StringIO(result.output))
    loading = table.query("lhs == 'self_direction' and rhs == 'item_sd2'")["est"].iloc[0]
    assert loading > 0


def test_reliability_groups_text(runner):
    result = runner.invoke(main, ["reliability", str(REFERENCE / "hs1939.csv"), "--group", "textual=x4,x5,x6",
                                  "--group", "speed=x7,x8,x9"])
    assert result.exit_code == 0, result.output
    assert "Reliability analysis: textual (3 items, 301 observations)" in result.output
    assert "textual      0.883      0.885    0.837" in result.output
    assert "Reliability analysis: speed" in result.output


def test_reliability_needs_scales(runner):
    result = runner.invoke(main, ["reliability", str(REFERENCE / "hs1939.csv")])
    assert result.exit_code == 2


def test_efa_command(runner):
    result = runner.invoke(main, ["efa", str(REFERENCE / "hs1939.csv"), "--rotation", "varimax"])
    assert result.exit_code == 0, result.output
    assert "Parallel analysis suggests 3 factor(s)" in result.output
    assert "Kaiser-Meyer-Olkin MSA: 0.752" in result.output
    result = runner.invoke(main, ["efa", str(REFERENCE / "hs1939.csv"), "--factors", "2", "--format", "csv"])
    table = pd.read_csv(pd.io.common.StringIO(result.output))
    assert list(table.columns) == ["item", "MR1", "MR2", "h2"]


def test_cfa_from_results_folder_wide_columns(runner, tmp_path):
    instrument = load_instrument("pvq-40-style")
    long_table = simulated_responses(instrument, n_obs=200)
    wide = long_table.pivot(index="respondent", columns="item", values="expected_value")
    wide.columns = [f"item_{column}" for column in wide.columns]
    folder = tmp_path / "study"
    folder.mkdir()
    wide.reset_index().to_csv(folder / "respondents.csv", index=False)
    result = runner.invoke(main, ["cfa", "--instrument", "pvq-40-style", "--level", "higher", str(folder),
                                  "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    document = json.loads(result.output[result.output.index("{"):result.output.rindex("}") + 1])
    assert document["info"]["n_used"] == 200
    factors = {row["lhs"] for row in document["parameters"] if row["op"] == "=~"}
    assert factors == {"openness_to_change", "self_enhancement", "conservation", "self_transcendence"}


def heywood_data(n_obs: int = 200, seed: int = 5) -> pd.DataFrame:
    """Return three indicators whose correlations force a loading above 1.

    With r12 = r13 = 0.8 and r23 = 0.4 a one-factor model needs
    lambda1^2 = r12 r13 / r23 = 1.6, so the residual variance of h1 is negative.
    """
    correlation = np.array([[1.0, 0.8, 0.8], [0.8, 1.0, 0.4], [0.8, 0.4, 1.0]])
    generator = np.random.default_rng(seed)
    sample = generator.multivariate_normal(np.zeros(3), correlation, size=n_obs, method="eigh")
    return pd.DataFrame(sample, columns=["h1", "h2", "h3"])


@pytest.mark.parametrize("output_format", ["json", "csv"])
def test_machine_formats_echo_heywood_to_stderr(runner, tmp_path, output_format):
    data = tmp_path / "heywood.csv"
    heywood_data().to_csv(data, index=False)
    model = tmp_path / "heywood.lav"
    model.write_text("f =~ h1 + h2 + h3\n")
    result = runner.invoke(main, ["sem-fit", str(model), str(data), "--format", output_format])
    assert result.exit_code == 0
    assert "psyval: warning: negative variance estimate" in result.stderr
    assert "Heywood case" in result.stderr


@pytest.mark.parametrize("output_format", ["json", "csv"])
def test_machine_formats_echo_dropped_rows(runner, hs_model, output_format):
    result = runner.invoke(main, ["sem-fit", str(hs_model), str(REFERENCE / "hs1939_missing.csv"),
                                  "--format", output_format])
    assert result.exit_code == 0
    assert "psyval: listwise deletion dropped 148 of 301 rows" in result.stderr


def _write_bad_input(tmp_path: Path, kind: str) -> Path:
    """Write one kind of broken data file and return its path."""
    hs = pd.read_csv(REFERENCE / "hs1939.csv").head(40)
    if kind == "empty":
        path = tmp_path / "empty.csv"
        path.write_text("")
    elif kind == "not_utf8":
        path = tmp_path / "latin1.csv"
        path.write_bytes("x1,x2\n1,\xe9\n".encode("latin-1"))
    elif kind == "malformed":
        path = tmp_path / "malformed.csv"
        path.write_text('x1,x2,x3\n1,"2,3\n4,5,6\n')
    elif kind == "parquet":
        path = tmp_path / "broken.parquet"
        path.write_bytes(b"PAR1xx")
    elif kind == "infinite":
        path = tmp_path / "inf.csv"
        hs.assign(x2=hs["x2"].where(hs.index != 3, np.inf)).to_csv(path, index=False)
    elif kind == "duplicate_columns":
        path = tmp_path / "dup.csv"
        path.write_text("x1,x2,x2\n" + "\n".join(f"{i},{i % 3},{i % 5}" for i in range(20)) + "\n")
    else:
        raise ValueError(kind)
    return path


@pytest.mark.parametrize("kind", ["empty", "not_utf8", "malformed", "parquet", "infinite", "duplicate_columns"])
@pytest.mark.parametrize("command", ["sem-fit", "efa", "reliability"])
def test_broken_data_is_one_line_exit_2(runner, hs_model, tmp_path, kind, command):
    path = _write_bad_input(tmp_path, kind)
    arguments = {"sem-fit": ["sem-fit", str(hs_model), str(path)], "efa": ["efa", str(path)],
                 "reliability": ["reliability", str(path), "--group", "a=x1,x2,x3"]}[command]
    result = runner.invoke(main, arguments)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("psyval: error: ")


def test_non_utf8_model_is_one_line_exit_2(runner, tmp_path):
    model = tmp_path / "latin1.lav"
    model.write_bytes("# mod\xe8le\nf =~ x1 + x2 + x3\n".encode("latin-1"))
    result = runner.invoke(main, ["sem-fit", str(model), str(REFERENCE / "hs1939.csv")])
    assert result.exit_code == 2
    assert "is not UTF-8 text" in result.stderr


@pytest.mark.parametrize(("group", "message"), [
    ("a=x1,x1,x2", "lists items ['x1'] more than once"),
    ("a=x1,x2,x10", "are linearly dependent"),
])
def test_reliability_bad_groups_exit_2(runner, tmp_path, group, message):
    data = pd.read_csv(REFERENCE / "hs1939.csv")
    data["x10"] = data["x1"] + data["x2"]
    path = tmp_path / "x10.csv"
    data.to_csv(path, index=False)
    result = runner.invoke(main, ["reliability", str(path), "--group", group])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_reliability_repeated_group_name_rejected(runner):
    result = runner.invoke(main, ["reliability", str(REFERENCE / "hs1939.csv"), "--group", "a=x1,x2",
                                  "--group", "a=x3,x4"])
    assert result.exit_code == 2
    assert "--group name 'a' is given twice" in result.stderr


@pytest.mark.parametrize(("rule", "observations"), [("pairwise", "301 observations"), ("listwise", "242 observations")])
def test_reliability_missing_option(runner, rule, observations):
    result = runner.invoke(main, ["reliability", str(REFERENCE / "hs1939_missing.csv"), "--group", "textual=x4,x5,x6",
                                  "--missing", rule])
    assert result.exit_code == 0
    assert observations in result.stdout


def test_sem_fit_survey_folder_runs_cfa_model(runner, tmp_path):
    # A psyval survey responses.csv: answer column, reverse and scale_points
    # columns, and two prompt variants per item.
    source = Path(load_instrument("pvq-40-style").path).read_text()
    path = tmp_path / "reversed.yaml"
    path.write_text(source.replace("  - id: sd1\n    value: self_direction\n    reverse: false",
                                   "  - id: sd1\n    value: self_direction\n    reverse: true", 1))
    instrument = load_instrument(path)
    long_table = simulated_responses(instrument, n_obs=250).rename(columns={"expected_value": "answer"})
    long_table["reverse"] = long_table["item"].map({item.id: item.reverse for item in instrument.items})
    long_table["scale_points"] = instrument.scale.points
    variants = pd.concat([long_table.assign(variant=0), long_table.assign(variant=1)], ignore_index=True)
    folder = tmp_path / "survey"
    folder.mkdir()
    variants.to_csv(folder / "responses.csv", index=False)

    shown = runner.invoke(main, ["cfa", "--instrument", str(path), str(folder), "--show-model", "--format", "json"])
    model_text = shown.output.partition("\n\n")[0]
    model = tmp_path / "cfa.lav"
    model.write_text(model_text)
    result = runner.invoke(main, ["sem-fit", str(model), str(folder), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    assert "up to 2 rows per respondent and item" in result.stderr
    document = json.loads(result.stdout)
    cfa_document = json.loads(shown.stdout[shown.stdout.index("{"):])
    assert document["fit_measures"]["chisq"] == pytest.approx(cfa_document["fit_measures"]["chisq"], abs=1e-6)
    # sd1 is reflected back from the reverse column, so it loads positively.
    loadings = {(row["lhs"], row["rhs"]): row["est"] for row in document["parameters"] if row["op"] == "=~"}
    assert loadings[("self_direction", "item_sd2")] > 0


def test_json_converged_is_boolean(runner, hs_model):
    result = runner.invoke(main, ["sem-fit", str(hs_model), str(REFERENCE / "hs1939.csv"), "--format", "json"])
    assert json.loads(result.stdout)["info"]["converged"] is True


def test_estimator_help_shows_uppercase(runner):
    result = runner.invoke(main, ["sem-fit", "--help"])
    assert "[ML|MLR]" in result.output


@pytest.mark.parametrize("command", ["sem-fit", "cfa"])
def test_fit_commands_share_options(runner, command):
    result = runner.invoke(main, [command, "--help"])
    assert result.exit_code == 0
    estimator = result.output.index("--estimator [ML|MLR]")
    missing = result.output.index("--missing [listwise|fiml]")
    output_format = result.output.index("--format [text|json|csv]")
    assert estimator < missing < output_format
