"""Study-file validation and condition expansion (no model needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from psyval.errors import PsyvalError
from psyval.study import load_study, parse_study
from psyval.study.conditions import expand_profiles, expand_respondents, read_profiles_csv, sample_profiles
from psyval.study.spec import BASIC_VALUES, CsvProfilesSpec, SampledProfilesSpec


def minimal(**overrides):
    study = {"conditions": {"profiles": {"named": ["power"]}}}
    study.update(overrides)
    return study


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


HEADER = "name," + ",".join(BASIC_VALUES)


def test_bundled_demo_study_is_valid():
    study = load_study("demo")
    assert study.name == "demo"
    assert len(expand_profiles(study)) >= 4


def test_minimal_study_defaults():
    study = parse_study(minimal())
    assert study.instrument == "pvq-40-style"
    assert study.conditions.safety == ("input-only",)
    assert study.judge.name == "rubric"
    assert study.models[0].model == "smollm2-135m-instruct"


@pytest.mark.parametrize(
    ("study", "fragment"),
    [
        ({"conditions": {"profiles": {"named": ["power"]}}, "colour": 1}, "unknown field 'colour'"),
        ({"conditions": {"profiles": {}}}, "lists no profiles"),
        ({"conditions": {"profiles": {"named": ["power"]}, "safety": ["loud"]}}, "unknown entry 'loud'"),
        (minimal(replicates=0), "replicates must be an integer >= 1"),
        (minimal(decoding={"top_p": 2}), "decoding.top_p must be a number from 0.0 to 1.0"),
        (minimal(decoding={"top_p": 0}), "decoding.top_p must be in (0, 1], got 0"),
        (minimal(description=["a", "b"]), "study.description must be a string, got"),
        (minimal(seed=10**20), "study.seed must be an integer from 0 to 9223372036854775807"),
        (minimal(seed=2**63 - 1, replicates=2), "study.seed must be an integer from 0 to 9223372036854775806"),
        (
            minimal(conditions={"profiles": {"sampled": {"per_extreme": 1, "seed": 2**64}}}),
            "conditions.profiles.sampled.seed must be an integer from 0 to 9223372036854775807",
        ),
        (minimal(decoding={"temperature": 0}), "decoding.temperature must be above 0 when sampling, got 0"),
        (minimal(probes={"categories": ["gossip"]}), "unknown entry 'gossip'"),
        (minimal(models=[{"model": "x", "options": {"trust_remote_code": True}}]), "trust_remote_code"),
        (minimal(models=["a/m", "b/m"]), "same label"),
        (minimal(models=[{"model": "x", "options": {"dtyp": "float32"}}]), "options.dtyp is not an option"),
        (minimal(models=[{"model": "x", "backend": "vllm"}]), "backend is 'vllm', an unknown backend"),
        (minimal(judge={"options": {"trust_remote_code": True}}), "judge.options.trust_remote_code is not an option"),
        (
            minimal(models=[{"model": "m", "backend": "openai", "options": {"concurrency": "four"}}]),
            "options.concurrency must be an integer, got 'four'",
        ),
        (
            minimal(models=[{"model": "m", "backend": "openai", "options": {"timeout": "fast"}}]),
            "options.timeout must be a number, got 'fast'",
        ),
        (
            minimal(models=[{"model": "m", "backend": "openai", "options": {"base_url": 8000}}]),
            "options.base_url must be a string, got 8000",
        ),
        (
            minimal(models=[{"model": "m", "backend": "openai", "options": {"logit_bias": "sometimes"}}]),
            "logit_bias must be one of auto, always or never",
        ),
        (minimal(models=[{"model": "m", "options": {"dtype": 16}}]), "options.dtype must be a string, got 16"),
        (minimal(judge={"options": {"max_new_tokens": "few"}}), "judge.options.max_new_tokens must be an integer"),
        (minimal(judge={"options": {"batch_size": 0}}), "judge.options.batch_size must be an integer >= 1, got 0"),
        (
            minimal(judge={"options": {"max_response_chars": -5}}),
            "judge.options.max_response_chars must be an integer >= 1, got -5",
        ),
        (minimal(judge={"name": "gpt4"}), "judge.name is 'gpt4', an unknown judge"),
        (minimal(analyses={"sem": ["nothere.lav"]}), "names 'nothere.lav', which is neither"),
        (minimal(name="../../x"), "study.name must contain only"),
        (minimal(name="/tmp/x"), "study.name must contain only"),
        (minimal(name=".."), "study.name must contain only"),
        (
            {
                "conditions": {
                    "profiles": {"baseline": True},
                    "safety": ["value-prompt"],
                }
            },
            "baseline profile has no top value",
        ),
    ],
)
def test_invalid_study_rejected(study, fragment):
    with pytest.raises(PsyvalError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        parse_study(study, source="s.yaml")


def test_greedy_study_accepts_zero_temperature():
    assert parse_study(minimal(decoding={"temperature": 0, "greedy": True})).decoding.greedy


@pytest.mark.parametrize(
    ("study", "expected"),
    [
        (None, "s.yaml: study must be a mapping, got nothing (the entry is empty or null)"),
        ([], "s.yaml: study must be a mapping, got an empty list"),
        (minimal(conditions=None), "conditions must be a mapping, got nothing"),
        (minimal(replicates=None), "study.replicates must be an integer >= 1, got nothing"),
        (minimal(judge={"name": ""}), "judge.name must be a non-empty string, got an empty string"),
        ({"conditions": {"profiles": {}}}, "s.yaml: conditions.profiles lists no profiles"),
        ({"conditions": {"profiles": {"named": [None]}}}, "conditions.profiles.named[0] must be a preset name"),
        (minimal(analyses={"sem": [None]}), "analyses.sem[0] must be a .lav file name or path, got nothing"),
        (minimal(conditions={"profiles": {"named": ["power"]}, "safety": [None]}), "contains unknown entry nothing"),
    ],
)
def test_study_errors_describe_empty_values(study, expected):
    with pytest.raises(PsyvalError) as caught:
        parse_study(study, source="s.yaml")
    message = str(caught.value)
    assert expected in message
    for internal in ("None", "[]", "{}", "''"):
        assert internal not in message


def test_missing_study_file_rejected(tmp_path):
    with pytest.raises(PsyvalError, match="not found"):
        load_study(tmp_path / "nope.yaml")


def test_invalid_yaml_rejected(tmp_path):
    path = write_csv(tmp_path / "s.yaml", "name: [unclosed\n")
    with pytest.raises(PsyvalError) as caught:
        load_study(path)
    message = str(caught.value)
    assert "not valid YAML: expected ',' or ']', but got '<stream end>' at line 2, column 1" in message
    assert "while parsing a flow sequence that starts at line 1, column 7" in message


def test_non_utf8_study_file_rejected(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes(b"name: x\n\xff\xfe\n")
    with pytest.raises(PsyvalError, match=r"byte 0xff at line 2, column 1 cannot be decoded; save it as UTF-8"):
        load_study(path)


def test_duplicate_yaml_key_rejected(tmp_path):
    path = write_csv(tmp_path / "s.yaml", "name: x\nseed: 0\nseed: 1\n")
    with pytest.raises(PsyvalError, match=r"found duplicate key 'seed' \(first on line 2\) at line 3, column 1"):
        load_study(path)


def test_csv_profiles_rescaled_to_importance(tmp_path):
    # 1-7 scale: 7 -> 6, 1 -> 1, 4 -> 3.5 on psyval's 1-6 scale.
    path = write_csv(
        tmp_path / "p.csv",
        "# scale: 1-7\n# direction: higher_is_more_important\n" + HEADER + "\nkeen," + ",".join(["7", "1"] + ["4"] * 8),
    )
    (profile,) = read_profiles_csv(CsvProfilesSpec(path))
    assert profile.values["self_direction"] == 6.0
    assert profile.values["stimulation"] == 1.0
    assert profile.values["power"] == 3.5


def test_csv_rank_profiles_reversed(tmp_path):
    # Ranks 1-10 with 1 = most important: rank 1 -> 6, rank 10 -> 1.
    header = "name," + ",".join(f"{value}_rank" for value in BASIC_VALUES)
    ranks = ",".join(str(rank) for rank in range(1, 11))
    path = write_csv(tmp_path / "r.csv", f"# scale: 1-10\n# direction: lower_is_more_important\n{header}\nranked,{ranks}\n")
    (profile,) = read_profiles_csv(CsvProfilesSpec(path))
    assert profile.values["self_direction"] == 6.0
    assert profile.values["universalism"] == 1.0


def test_csv_direction_contradicting_header_rejected(tmp_path):
    header = "name," + ",".join(f"{value}_rank" for value in BASIC_VALUES)
    ranks = ",".join(str(rank) for rank in range(1, 11))
    path = write_csv(tmp_path / "r.csv", f"# scale: 1-10\n# direction: higher_is_more_important\n{header}\nx,{ranks}\n")
    with pytest.raises(PsyvalError, match="rank columns"):
        read_profiles_csv(CsvProfilesSpec(path))


def test_csv_rating_columns_declared_lower_rejected(tmp_path):
    # Plain value columns on the PVQ 1-6 scale are ratings, higher = more important.
    path = write_csv(
        tmp_path / "p.csv", "# scale: 1-6\n# direction: lower_is_more_important\n" + HEADER + "\nx," + ",".join(["3"] * 10)
    )
    with pytest.raises(PsyvalError) as caught:
        read_profiles_csv(CsvProfilesSpec(path))
    message = str(caught.value)
    assert str(path) in message
    assert "'lower_is_more_important'" in message
    assert "rating columns" in message


def test_csv_rank_columns_on_rating_scale_rejected(tmp_path):
    header = "name," + ",".join(f"{value}_rank" for value in BASIC_VALUES)
    path = write_csv(tmp_path / "r.csv", f"# scale: 0-6\n# direction: lower_is_more_important\n{header}\nx,{','.join(['3'] * 10)}\n")
    with pytest.raises(PsyvalError, match=r"rank columns .* declared scale is 0-6"):
        read_profiles_csv(CsvProfilesSpec(path))


def test_csv_header_errors_in_words(tmp_path):
    declared = "# scale: 1-6\n# direction: higher_is_more_important\n"
    no_header = write_csv(tmp_path / "a.csv", declared)
    repeated = write_csv(tmp_path / "b.csv", declared + "name,power,power,greed\n")
    with pytest.raises(PsyvalError, match="the file has no header row"):
        read_profiles_csv(CsvProfilesSpec(no_header))
    with pytest.raises(PsyvalError) as caught:
        read_profiles_csv(CsvProfilesSpec(repeated))
    message = str(caught.value)
    assert "missing self_direction, stimulation, hedonism," in message
    assert "unknown 'greed'" in message
    assert "repeated power" in message
    assert "[" not in message


def test_csv_value_outside_range_rejected(tmp_path):
    path = write_csv(
        tmp_path / "p.csv",
        "# scale: 1-6\n# direction: higher_is_more_important\n" + HEADER + "\nx," + ",".join(["7"] + ["3"] * 9),
    )
    with pytest.raises(PsyvalError, match="outside the declared scale 1-6"):
        read_profiles_csv(CsvProfilesSpec(path))


def test_csv_scale_declared_twice_rejected(tmp_path):
    path = write_csv(
        tmp_path / "p.csv",
        "# scale: 1-5\n# scale: 1-7\n# direction: higher_is_more_important\n" + HEADER + "\nx," + ",".join(["3"] * 10),
    )
    with pytest.raises(PsyvalError) as caught:
        read_profiles_csv(CsvProfilesSpec(path))
    message = str(caught.value)
    assert str(path) in message
    assert "'1-5' on line 1 and '1-7' on line 2" in message
    assert "keep one '# scale:' line" in message


def test_csv_direction_declared_twice_rejected(tmp_path):
    path = write_csv(
        tmp_path / "p.csv",
        "# scale: 1-7\n# direction: lower_is_more_important\n# direction: higher_is_more_important\n"
        + HEADER
        + "\nx,"
        + ",".join(["3"] * 10),
    )
    with pytest.raises(PsyvalError) as caught:
        read_profiles_csv(CsvProfilesSpec(path))
    message = str(caught.value)
    assert "'lower_is_more_important' on line 2 and 'higher_is_more_important' on line 3" in message
    assert "keep one '# direction:' line" in message


def test_csv_same_scale_declared_twice_accepted(tmp_path):
    path = write_csv(
        tmp_path / "p.csv",
        "# scale: 1-5\n# scale: 1 to 5\n# direction: higher_is_more_important\n" + HEADER + "\nx," + ",".join(["3"] * 10),
    )
    (profile,) = read_profiles_csv(CsvProfilesSpec(path))
    assert profile.values["power"] == 3.5


@pytest.mark.parametrize("cell", ["", "nan", "NaN"])
def test_csv_missing_cell_rejected(tmp_path, cell):
    path = write_csv(
        tmp_path / "p.csv",
        "# scale: 1-6\n# direction: higher_is_more_important\n" + HEADER + f"\nx,{cell}," + ",".join(["3"] * 9),
    )
    with pytest.raises(PsyvalError, match=r"row 4: self_direction is missing \(cell .*\); write a number"):
        read_profiles_csv(CsvProfilesSpec(path))


def test_csv_file_and_study_directions_disagree_rejected(tmp_path):
    path = write_csv(
        tmp_path / "p.csv", "# scale: 1-6\n# direction: higher_is_more_important\n" + HEADER + "\nx," + ",".join(["3"] * 10)
    )
    with pytest.raises(PsyvalError, match="make them agree"):
        read_profiles_csv(CsvProfilesSpec(path, direction="lower_is_more_important"))


def test_csv_without_declaration_rejected(tmp_path):
    path = write_csv(tmp_path / "p.csv", HEADER + "\nx," + ",".join(["3"] * 10))
    with pytest.raises(PsyvalError, match="scale of the profiles is not declared"):
        read_profiles_csv(CsvProfilesSpec(path))


def test_csv_declared_in_study_file_accepted(tmp_path):
    path = write_csv(tmp_path / "p.csv", HEADER + "\nx," + ",".join(["3"] * 10))
    (profile,) = read_profiles_csv(CsvProfilesSpec(path, scale=(1.0, 5.0), direction="higher_is_more_important"))
    assert profile.values["power"] == 3.5


def test_sampled_profiles_reproducible_and_in_range():
    spec = SampledProfilesSpec(per_extreme=2, spread=1.0, seed=3, extremes=("power", "conservation"))
    first = sample_profiles(spec)
    again = sample_profiles(spec)
    assert [p.values for p in first] == [p.values for p in again]
    assert [p.name for p in first] == ["power_s1", "power_s2", "conservation_s1", "conservation_s2"]
    assert all(1.0 <= v <= 6.0 for p in first for v in p.values.values())


def test_sampled_profile_independent_of_other_extremes():
    alone = sample_profiles(SampledProfilesSpec(per_extreme=1, seed=3, extremes=("power",)))
    together = sample_profiles(SampledProfilesSpec(per_extreme=1, seed=3, extremes=("hedonism", "power")))
    assert alone[0].values == together[1].values


def test_sampled_profiles_differ_by_seed():
    a = sample_profiles(SampledProfilesSpec(per_extreme=1, seed=1, extremes=("power",)))
    b = sample_profiles(SampledProfilesSpec(per_extreme=1, seed=2, extremes=("power",)))
    assert a[0].values != b[0].values


def test_respondents_cross_all_factors():
    study = parse_study(
        {
            "replicates": 2,
            "conditions": {
                "profiles": {"named": ["power", "self_enhancement"], "baseline": True},
                "safety": "all",
                "suppress_value": "hedonism",
            },
        }
    )
    respondents = list(expand_respondents(study, expand_profiles(study)))
    assert len(respondents) == 3 * 4 * 2
    assert len({r.respondent_id for r in respondents}) == len(respondents)
    baseline_value_prompt = [r for r in respondents if r.profile.name == "baseline" and r.safety_condition == "both"]
    assert {r.suppress_value for r in baseline_value_prompt} == {"hedonism"}


def test_suppress_value_follows_profile_emphasis():
    study = parse_study(
        {"conditions": {"profiles": {"named": ["power", "self_enhancement"]}, "safety": ["input-only", "both"]}}
    )
    respondents = list(expand_respondents(study, expand_profiles(study)))
    assert len(respondents) == 4
    suppress = {(r.profile.name, r.safety_condition): r.suppress_value for r in respondents}
    assert suppress[("power", "both")] == "power"
    assert suppress[("self_enhancement", "both")] == "self_enhancement"
    assert suppress[("power", "input-only")] is None


def test_duplicate_profile_names_rejected(tmp_path):
    path = write_csv(
        tmp_path / "p.csv", "# scale: 1-6\n# direction: higher_is_more_important\n" + HEADER + "\npower," + ",".join(["3"] * 10)
    )
    study = parse_study({"conditions": {"profiles": {"named": ["power"], "csv": [str(path)]}}})
    with pytest.raises(PsyvalError, match="used twice"):
        expand_profiles(study)


def test_cli_invalid_study_exits_2(tmp_path):
    from click.testing import CliRunner

    from psyval.cli import main

    path = write_csv(tmp_path / "bad.yaml", "name: bad\nconditions: {profiles: {named: [nobody]}}\n")
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "unknown profile 'nobody'" in result.output
    assert "Traceback" not in result.output


def test_option_types_accept_yaml_values():
    options = {"timeout": 10, "concurrency": 2, "request_cache": "requests.jsonl", "tokenizer": None}
    study = parse_study(minimal(models=[{"model": "m", "backend": "openai", "options": options}]))
    assert study.models[0].options == options


def test_unknown_option_lists_allowed():
    with pytest.raises(PsyvalError, match="allowed options: .*dtype"):
        parse_study(minimal(models=[{"model": "x", "options": {"dtyp": "float32"}}]), source="s.yaml")
    with pytest.raises(PsyvalError, match="allowed options: batch_size, max_new_tokens, max_response_chars"):
        parse_study(minimal(judge={"options": {"trust_remote_code": True}}), source="s.yaml")


def test_known_options_accepted():
    study = parse_study(
        minimal(
            name="demo-1.v2",
            models=[{"model": "x", "options": {"dtype": "float32"}}],
            judge={"options": {"max_new_tokens": 8, "batch_size": 2}},
            analyses={"sem": ["higher_order_overall.lav"], "hypotheses": "hypotheses.yaml"},
        )
    )
    assert study.name == "demo-1.v2"


def test_missing_analysis_hides_dot_files():
    with pytest.raises(PsyvalError) as error:
        parse_study(minimal(analyses={"sem": ["nothere.lav"]}), source="s.yaml")
    message = str(error.value)
    assert "analyses.sem[0]" in message
    assert "higher_order_overall.lav" in message
    assert ".keep" not in message


def _failing_loader(model):
    """Fail for the model "other" and return a placeholder for any other model."""
    if model.model == "other":
        raise PsyvalError(f"cannot load model {model.model!r}")
    return object()


@pytest.mark.parametrize(
    ("study", "fragment"),
    [
        (minimal(judge={"model": "other"}), "cannot load model 'other'"),
        (minimal(instrument="pvq-nope"), "instrument 'pvq-nope' not found"),
        (minimal(conditions={"profiles": {"named": ["nosuchprofile"]}}), "unknown profile 'nosuchprofile'"),
        (
            minimal(judge={"name": "llama-guard", "options": {"model_path": "/nonexistent"}}),
            "llama-guard model folder '/nonexistent' not found",
        ),
    ],
)
def test_run_checks_names_before_folder(study, fragment, tmp_path):
    from psyval.study.runner import run_study

    out = tmp_path / "results"
    with pytest.raises(PsyvalError, match=fragment):
        run_study(parse_study(study), out, backend_loader=_failing_loader)
    assert not out.exists()


def test_models_needed_adds_judge_model_for_judging():
    from psyval.study.runner import models_needed

    study = parse_study(minimal(judge={"model": "other"}))
    assert [model.model for model in models_needed(study, "report")] == ["smollm2-135m-instruct", "other"]
    assert [model.model for model in models_needed(study, "probes")] == ["smollm2-135m-instruct"]
