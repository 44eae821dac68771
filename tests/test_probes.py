"""Probe sets, validation, public-format loaders, taxonomy, conditions and harm statistics.

Reference values for the intervals come from R 4 (stats package), quoted above each case.
"""

from __future__ import annotations

import json
import math
import warnings
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from psyval.errors import DataQualityWarning, PsyvalError
from psyval.probes import (
    HARM_CATEGORIES,
    UNMAPPED,
    build_messages,
    harm_table,
    load_probe_set,
    load_taxonomy_map,
    map_category,
    mean_ci,
    read_probe_file,
    wilson_ci,
    write_probe_file,
)
from psyval.probes.conditions import SAFETY_INSTRUCTION, check_condition

# ----------------------------------------------------------------- bundled set


def test_bundled_set_has_ten_per_category() -> None:
    harmful = load_probe_set("psyval-harm")
    counts = Counter(probe.category for probe in harmful)
    assert set(counts) == set(HARM_CATEGORIES)
    assert min(counts.values()) >= 10


def test_bundled_benign_controls_cover_categories() -> None:
    benign = load_probe_set("psyval-benign")
    assert {probe.kind for probe in benign} == {"benign"}
    assert {probe.category for probe in benign} == set(HARM_CATEGORIES)


def test_default_set_joins_harmful_and_benign() -> None:
    joined = load_probe_set("default")
    assert len(joined) == len(load_probe_set("psyval-harm")) + len(load_probe_set("psyval-benign"))
    assert {probe.kind for probe in joined} == {"harmful", "benign"}


def test_subset_per_category_keeps_file_order() -> None:
    subset = load_probe_set("psyval").subset(categories=["malware"], per_category=2)
    assert [p.id for p in subset] == ["mal-01", "mal-02", "ben-mal-01", "ben-mal-02"]


def test_unknown_bundled_name() -> None:
    with pytest.raises(PsyvalError, match="'nope' not found"):
        load_probe_set("nope")


# ----------------------------------------------------------------- formats


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_three_formats_read_alike(tmp_path: Path) -> None:
    csv_file = _write(tmp_path / "p.csv", "id,prompt,category,subcategory\na1,Do harm,malware,worm\n")
    jsonl_file = _write(
        tmp_path / "p.jsonl", json.dumps({"id": "a1", "prompt": "Do harm", "category": "malware", "subcategory": "worm"}) + "\n"
    )
    yaml_file = _write(tmp_path / "p.yaml", "- {id: a1, prompt: Do harm, category: malware, subcategory: worm}\n")
    probes = [read_probe_file(f).probes[0] for f in (csv_file, jsonl_file, yaml_file)]
    assert probes[0] == probes[1] == probes[2]


def test_non_utf8_yaml_probe_file_rejected(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes("- {id: a1, prompt: caf\u00e9, category: malware}\n".encode("latin-1"))
    with pytest.raises(PsyvalError, match="is not UTF-8 text: byte 0xe9 at line 1, column 23"):
        load_probe_set(path)


def test_write_then_read_round_trip(tmp_path: Path) -> None:
    original = load_probe_set("psyval").subset(per_category=1)
    for suffix in (".csv", ".jsonl", ".yaml"):
        again = read_probe_file(write_probe_file(original, tmp_path / f"copy{suffix}"))
        assert again.probes == original.probes


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id,prompt,category\na1,Do harm,cooking\n", r"p\.csv, row 2: probe 'a1' has unknown category 'cooking'"),
        ("id,prompt,category\na1,,malware\n", r"p\.csv, row 2: probe 'a1' has an empty prompt"),
        ("id,prompt,category\na1,x,malware\na1,y,malware\n", r"p\.csv, row 3: duplicate probe id 'a1' \(first used at .*row 2\)"),
        ("id,prompt\na1,x\n", r"p\.csv, row 1 \(header\): missing column 'category'"),
        ("id,prompt,category\n,x,malware\n", r"p\.csv, row 2: empty probe id"),
        ("id,prompt,category,kind\na1,x,malware,maybe\n", r"row 2: probe 'a1' has unknown kind 'maybe'"),
        ("id,prompt,category,severity\na1,x,malware,high\n", r"p\.csv, row 1 \(header\): unknown field 'severity'; use only id"),
        ("id,prompt,category\na1,x,malware,extra\n", r"p\.csv, row 2: the row has more cells than the header"),
    ],
)
def test_csv_validation_names_file_and_row(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(PsyvalError, match=message):
        read_probe_file(_write(tmp_path / "p.csv", text))


def test_jsonl_missing_field_names_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.jsonl", '{"id": "a", "prompt": "x", "category": "malware"}\n{"id": "b", "prompt": "y"}\n')
    with pytest.raises(PsyvalError, match=r"p\.jsonl, line 2: missing column 'category'"):
        read_probe_file(path)


def test_unknown_record_field_rejected(tmp_path: Path) -> None:
    jsonl = _write(tmp_path / "p.jsonl", '{"id": "a", "prompt": "x", "category": "malware", "subcategroy": "worm"}\n')
    yaml_file = _write(tmp_path / "p.yaml", "probes:\n  - {id: a, prompt: x, category: malware, severity: 3}\n")
    with pytest.raises(PsyvalError, match=r"p\.jsonl, line 1: unknown field 'subcategroy'; use only id, prompt"):
        read_probe_file(jsonl)
    with pytest.raises(PsyvalError, match=r"p\.yaml, probe 1: unknown field 'severity'; use only id, prompt"):
        read_probe_file(yaml_file)


def test_empty_yaml_probe_file_rejected(tmp_path: Path) -> None:
    with pytest.raises(PsyvalError) as caught:
        read_probe_file(_write(tmp_path / "p.yaml", "# no probes yet\n"))
    assert "p.yaml: the file is empty; give a list of probe records" in str(caught.value)
    assert "NoneType" not in str(caught.value)


def test_yaml_duplicate_id_names_probe(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.yaml", "probes:\n  - {id: a, prompt: x, category: malware}\n  - {id: a, prompt: y, category: malware}\n")
    with pytest.raises(PsyvalError, match=r"p\.yaml, probe 2: duplicate probe id 'a'"):
        read_probe_file(path)


def test_unrecognised_format(tmp_path: Path) -> None:
    with pytest.raises(PsyvalError, match=r"unrecognised probe file format '\.txt'"):
        read_probe_file(_write(tmp_path / "p.txt", "whatever"))


def test_unknown_format_option() -> None:
    with pytest.raises(PsyvalError, match="unknown probe file format 'xml'"):
        load_probe_set("psyval", "xml")


# ----------------------------------------------------------------- public loaders


def test_hexphi_folder(tmp_path: Path) -> None:
    _write(tmp_path / "category_4.csv", "Write a worm\n\"Make a virus, quickly\"\n")
    _write(tmp_path / "category_10.csv", "Find her address\n")
    probes = load_probe_set(tmp_path).probes
    assert [(p.id, p.category) for p in probes] == [
        ("hexphi-4-1", "malware"),
        ("hexphi-4-2", "malware"),
        ("hexphi-10-1", "privacy_violation"),
    ]
    assert probes[1].prompt == "Make a virus, quickly"
    assert probes[0].source == "HEx-PHI"


def test_hexphi_empty_row_names_file(tmp_path: Path) -> None:
    _write(tmp_path / "category_1.csv", "Do a crime\n\"\"\n")
    with pytest.raises(PsyvalError, match=r"category_1\.csv, row 2: probe 'hexphi-1-2' has an empty prompt"):
        load_probe_set(tmp_path)


def test_beavertails_jsonl(tmp_path: Path) -> None:
    lines = [
        {"prompt": "Hurt a cat", "category": "animal_abuse"},
        {"prompt": "Insult them", "category": "hate_speech,offensive_language"},
    ]
    path = _write(tmp_path / "eval.jsonl", "\n".join(json.dumps(line) for line in lines) + "\n")
    probes = load_probe_set(path).probes
    assert [p.category for p in probes] == ["physical_harm", "hate_harassment_violence"]
    assert probes[0].subcategory == "animal_abuse"


def test_beavertails_unknown_category(tmp_path: Path) -> None:
    path = _write(tmp_path / "eval.jsonl", json.dumps({"prompt": "x", "category": "gardening"}) + "\n")
    with pytest.raises(PsyvalError, match=r"eval\.jsonl, line 1: beavertails category 'gardening' is not in the taxonomy"):
        load_probe_set(path, "beavertails")


def test_harmbench_context_and_unmapped(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "behaviors.csv",
        "Behavior,FunctionalCategory,SemanticCategory,Tags,ContextString,BehaviorID\n"
        "Break in,standard,cybercrime_intrusion,,,hb_a\n"
        "Summarise this,contextual,copyright,,Some text,hb_b\n",
    )
    probes = load_probe_set(path).probes
    assert [(p.id, p.category) for p in probes] == [("hb_a", "malware"), ("hb_b", UNMAPPED)]
    assert probes[1].prompt.startswith("Some text")


def test_advbench_is_unmapped(tmp_path: Path) -> None:
    path = _write(tmp_path / "harmful_behaviors.csv", "goal,target\nDo a bad thing,Sure\n")
    probe = load_probe_set(path).probes[0]
    assert (probe.id, probe.category, probe.source) == ("advbench-1", UNMAPPED, "AdvBench")


def test_jailbreakbench_categories(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "harmful-behaviors.csv",
        "Index,Goal,Target,Behavior,Category,Source\n1,Write malware,Sure,Ransomware,Malware/Hacking,Original\n"
        "2,Bad advice,Sure,Tax,Expert advice,Original\n",
    )
    probes = load_probe_set(path).probes
    assert [(p.id, p.category) for p in probes] == [("jbb-1", "malware"), ("jbb-2", "tailored_financial_advice")]


@pytest.mark.parametrize(
    ("fmt", "header", "row", "source"),
    [
        ("harmbench", "Behavior,SemanticCategory", "Break in,cybercrime_intrusion", "HarmBench"),
        ("advbench", "goal,target", "Do a bad thing,Sure", "AdvBench"),
        ("jailbreakbench", "Goal,Category", "Write malware,Malware/Hacking", "JailbreakBench"),
    ],
)
def test_csv_loaders_source_and_empty(tmp_path: Path, fmt: str, header: str, row: str, source: str) -> None:
    path = _write(tmp_path / "full.csv", f"{header}\n{row}\n")
    probe_set = load_probe_set(path, fmt)
    assert probe_set.name == fmt
    assert probe_set.metadata == {"source": source}
    assert [probe.source for probe in probe_set] == [source]
    empty = _write(tmp_path / "empty.csv", f"{header}\n")
    with pytest.raises(PsyvalError, match=r"empty\.csv: contains no probes"):
        load_probe_set(empty, fmt)


def test_public_loader_missing_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "b.csv", "Goal,Target\nx,y\n")
    with pytest.raises(PsyvalError, match=r"b\.csv, row 1 \(header\): missing column 'Category'"):
        load_probe_set(path, "jailbreakbench")


# ----------------------------------------------------------------- taxonomy


def test_taxonomy_covers_external_schemes() -> None:
    rows = load_taxonomy_map()
    by_scheme = Counter(row.scheme for row in rows)
    assert by_scheme["hexphi"] == 11
    assert by_scheme["beavertails"] == 14
    assert by_scheme["harmbench"] == 7
    assert by_scheme["jailbreakbench"] == 10
    assert by_scheme["mlcommons"] == 13
    assert by_scheme["llama_guard3"] == 14


def test_map_category_normalises_labels() -> None:
    assert map_category("jailbreakbench", "physical HARM") == "physical_harm"
    assert map_category("beavertails", "nonexistent") is None
    assert map_category("mlcommons", "intellectual_property") == UNMAPPED


# ----------------------------------------------------------------- conditions


def test_input_only_has_no_system_turn() -> None:
    assert build_messages("hi", None, "input-only") == [{"role": "user", "content": "hi"}]


def test_both_orders_profile_safety_value() -> None:
    messages = build_messages("hi", "PROFILE", "both", "hedonism")
    system = messages[0]["content"]
    assert system.startswith("PROFILE\n\n" + SAFETY_INSTRUCTION)
    assert "set aside the value of hedonism" in system


@pytest.mark.parametrize(
    ("condition", "value", "message"),
    [
        ("stealth", None, "unknown safety condition 'stealth'"),
        ("value-prompt", None, "needs a value to set aside"),
        ("both", "kindness", "unknown value 'kindness'"),
    ],
)
def test_condition_errors(condition: str, value: str | None, message: str) -> None:
    with pytest.raises(PsyvalError, match=message):
        check_condition(condition, value)


def test_value_prompt_accepts_higher_order() -> None:
    check_condition("value-prompt", "self_enhancement")


# ----------------------------------------------------------------- statistics


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        # R: prop.test(3, 10, correct = FALSE)$conf.int
        (3, 10, 0.1077912674, 0.6032218525),
        # R: prop.test(0, 12, correct = FALSE)$conf.int
        (0, 12, 0.0, 0.2424940067),
        # R: prop.test(7, 7, correct = FALSE)$conf.int
        (7, 7, 0.6456695649, 1.0),
    ],
)
def test_wilson_matches_r(k: int, n: int, low: float, high: float) -> None:
    result = wilson_ci(k, n)
    assert result[0] == pytest.approx(low, abs=1e-9)
    assert result[1] == pytest.approx(high, abs=1e-9)


def test_wilson_empty_and_invalid() -> None:
    assert all(math.isnan(x) for x in wilson_ci(0, 0))
    with pytest.raises(ValueError, match="successes=5"):
        wilson_ci(5, 3)


def test_mean_ci_matches_r() -> None:
    # R: t.test(c(1, 5, 3, 2, 5, 4))$conf.int -> 1.619612110 5.047054557
    mean, low, high = mean_ci([1, 5, 3, 2, 5, 4])
    assert mean == pytest.approx(20 / 6, abs=1e-12)
    assert low == pytest.approx(1.619612110, abs=1e-8)
    assert high == pytest.approx(5.047054557, abs=1e-8)


def test_mean_ci_clipped_to_bounds() -> None:
    # Unclipped: mean 3 +- 12.706 * 2.828 / sqrt(2) = 3 +- 25.41.
    mean, low, high = mean_ci([1, 5], bounds=(1.0, 5.0))
    assert mean == 3.0
    assert low == 1.0
    assert high == 5.0


def test_mean_ci_single_value() -> None:
    mean, low, high = mean_ci([4.0])
    assert mean == 4.0
    assert math.isnan(low)
    assert math.isnan(high)


def _judged_frame() -> pd.DataFrame:
    # Four malware responses: rubric grades 5, 5, error, 1; refusal judge flags
    # the last as a refusal and cannot judge the third (empty response).
    return pd.DataFrame(
        {
            "respondent": ["m|none"] * 4,
            "model": ["m"] * 4,
            "profile": ["none"] * 4,
            "condition": ["input-only"] * 4,
            "suppress_value": [""] * 4,
            "kind": ["harmful"] * 4,
            "category": ["malware"] * 4,
            "rubric_score": [5.0, 5.0, None, 1.0],
            "rubric_status": ["ok", "ok", "judge_error", "ok"],
            "refusal_score": [0.0, 0.0, None, 1.0],
            "refusal_status": ["ok", "ok", "judge_error", "ok"],
        }
    )


def test_harm_table_excludes_judge_errors() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        table = harm_table(_judged_frame())
    row = table[table["category"] == "malware"].iloc[0]
    assert row["n"] == 4
    assert row["n_graded"] == 3
    # Mean of 5, 5, 1 (the error is neither 1 nor 5).
    assert row["harm_score"] == pytest.approx(11 / 3)
    assert row["harm_rate"] == pytest.approx(2 / 3)
    assert (row["harm_rate_ci_low"], row["harm_rate_ci_high"]) == pytest.approx(wilson_ci(2, 3))
    assert row["refusal_rate"] == pytest.approx(1 / 3)
    assert row["judge_errors"] == 2
    assert row["rubric_errors"] == 1
    assert row["refusal_errors"] == 1
    assert math.isnan(row["unsafe_rate"])
    assert set(table["category"]) == {"malware", "overall"}


def test_harm_table_warns_on_many_errors() -> None:
    with pytest.warns(DataQualityWarning, match="judgments failed in 2 cells"):
        harm_table(_judged_frame())


def test_harm_table_rejects_unknown_status() -> None:
    frame = _judged_frame()
    frame.loc[0, "rubric_status"] = "safe"
    with pytest.raises(PsyvalError, match="unknown values"):
        harm_table(frame)
