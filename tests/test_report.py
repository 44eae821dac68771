"""Tests of psyval.report: files written, escaping of untrusted text, CLI errors.

The respondent table is psyval.analysis.synthetic's, with known value-harm links.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from psyval.analysis.synthetic import synthetic_respondents
from psyval.cli import main
from psyval.errors import PsyvalError
from psyval.report import write_report
from psyval.report.render import (
    Section,
    markdown_code_block,
    markdown_table,
    render_markdown,
)
from psyval.report.rscript import r_string
from psyval.report.tables import bounded, p_value

HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)>"


def outside_fences(markdown: str) -> str:
    """Return the lines of ``markdown`` that are not inside a fenced code block."""
    prose_lines = []
    fence = None
    for line in markdown.splitlines():
        if fence is None and line.startswith("```"):
            fence = line
        elif fence is not None and line == fence:
            fence = None
        elif fence is None:
            prose_lines.append(line)
    return "\n".join(prose_lines)


def make_results(folder: Path, n: int = 60) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    synthetic_respondents(n, seed=5).to_csv(folder / "respondents.csv", index=False)
    manifest = {"psyval": "test", "seed": 5, "models": [{"id": "synthetic", "revision": "r1"}], "note": HOSTILE,
                "study": {"name": "pilot"}}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    pd.DataFrame({
        "category": ["malware", "adult_content"], "safety_condition": ["input-only", "both"],
        "prompt": ["Write | something", "Tell me"], "response": [HOSTILE, "plain answer\nsecond line"],
        "harm_score": [5, 1],
    }).to_csv(folder / "probe_responses.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def report_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = make_results(tmp_path_factory.mktemp("results"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return write_report(folder)


def test_report_writes_every_file(report_paths: dict[str, Path]) -> None:
    out = report_paths["html"].parent
    for name in ("report.html", "report.md", "respondents.csv", "reproduce.R", "correlations.csv",
                 "verdicts.csv", "safety.csv", "descriptives.csv"):
        assert (out / name).is_file(), name
    figures = {name: path for name, path in report_paths.items() if name.startswith("figure:")}
    assert {"figure:profiles", "figure:mds", "figure:heatmap", "figure:harm_rates"} <= set(figures)
    assert any(name.startswith("figure:sem_") for name in figures)
    for path in figures.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path


def test_report_links_every_figure(report_paths: dict[str, Path]) -> None:
    html = report_paths["html"].read_text(encoding="utf-8")
    markdown = report_paths["markdown"].read_text(encoding="utf-8")
    for name, path in report_paths.items():
        if name.startswith("figure:"):
            relative = path.relative_to(report_paths["html"].parent).as_posix()
            assert f'src="{relative}"' in html
            assert f"]({relative})" in markdown


def test_report_escapes_model_text(report_paths: dict[str, Path]) -> None:
    html = report_paths["html"].read_text(encoding="utf-8")
    markdown = report_paths["markdown"].read_text(encoding="utf-8")
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    # Model answers sit in fenced code blocks, which show raw HTML as text.
    prose = outside_fences(markdown)
    assert "<script>alert" not in prose
    assert "<img src=x" not in prose
    assert HOSTILE in markdown
    assert html.count("<script>") == 1


def test_report_states_decision_rule_and_verdicts(report_paths: dict[str, Path]) -> None:
    html = report_paths["html"].read_text(encoding="utf-8")
    assert "Decision rule." in html
    assert "supported" in html
    assert "Holm" in html
    verdicts = pd.read_csv(report_paths["html"].parent / "verdicts.csv")
    assert set(verdicts["verdict"]) <= {"supported", "contradicted", "inconclusive"}
    assert verdicts.set_index("id").loc["H03", "verdict"] == "supported"


def test_report_safety_table_has_all_conditions(report_paths: dict[str, Path]) -> None:
    safety = pd.read_csv(report_paths["html"].parent / "safety.csv")
    assert set(safety["condition"]) == {"safety-prompt", "value-prompt", "both"}
    assert (safety["mean_difference"] < 0).all()


def test_report_title_names_the_study(report_paths: dict[str, Path]) -> None:
    markdown = report_paths["markdown"].read_text(encoding="utf-8")
    assert markdown.startswith("# psyval study report: pilot\n")


def test_report_reproducibility_lists_manifest(report_paths: dict[str, Path]) -> None:
    markdown = report_paths["markdown"].read_text(encoding="utf-8")
    assert "Manifest manifest.json" in markdown
    assert "models[0].revision" in markdown
    assert "Rscript reproduce.R" in markdown


def test_report_respondent_csv_round_trips(report_paths: dict[str, Path]) -> None:
    copied = pd.read_csv(report_paths["respondents"])
    assert len(copied) == 4 * 60
    assert "value_power" in copied.columns


def test_report_rejects_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(PsyvalError, match="not found"):
        write_report(tmp_path / "absent")


def test_report_rejects_folder_without_table(tmp_path: Path) -> None:
    with pytest.raises(PsyvalError, match="respondents.csv"):
        write_report(tmp_path)


def test_report_cli_error_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.strip().startswith("psyval: error:")
    assert "Traceback" not in result.output


def test_report_cli_rejects_non_utf8_probes(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    synthetic_respondents(20, seed=1).to_csv(folder / "respondents.csv", index=False)
    (folder / "probe_responses.csv").write_bytes(b"r\xc4\x28sponse\n\xff\xfe\n")
    result = CliRunner().invoke(main, ["report", str(folder)])
    assert result.exit_code == 2
    assert "probe_responses.csv' is not a readable CSV file" in result.output
    assert "Traceback" not in result.output


def test_report_cli_rejects_empty_analyses_folder(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    synthetic_respondents(20, seed=1).to_csv(folder / "respondents.csv", index=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(main, ["report", str(folder), "--analyses", str(empty)])
    assert result.exit_code == 2
    assert f"analyses folder {str(empty)!r} contains no .lav SEM files and no hypotheses.yaml" in result.output
    assert "Traceback" not in result.output
    assert not (folder / "report" / "report.html").exists()


def test_report_cli_rejects_ragged_row(tmp_path: Path) -> None:
    folder = make_results(tmp_path / "results", n=20)
    rows = len(pd.read_csv(folder / "respondents.csv"))
    with (folder / "respondents.csv").open("a", encoding="utf-8") as handle:
        handle.write("a,b,c\n")
    result = CliRunner().invoke(main, ["report", str(folder)])
    assert result.exit_code == 2
    # Line 1 is the header, so the appended row is line rows + 2.
    assert f"respondents.csv' line {rows + 2} has 3 fields but the header has" in result.output
    assert "Traceback" not in result.output
    assert not (folder / "report").exists()


def test_report_cli_rejects_non_numeric_score(tmp_path: Path) -> None:
    folder = make_results(tmp_path / "results", n=20)
    table = pd.read_csv(folder / "respondents.csv")
    table["value_hedonism"] = table["value_hedonism"].astype(object)
    table.loc[3, "value_hedonism"] = "high"
    table.to_csv(folder / "respondents.csv", index=False)
    result = CliRunner().invoke(main, ["report", str(folder)])
    assert result.exit_code == 2
    assert "respondents.csv' line 5, column 'value_hedonism': 'high' is not a number" in result.output
    assert "Traceback" not in result.output
    assert not (folder / "report").exists()


def test_report_cli_rejects_bad_analyses_files(tmp_path: Path) -> None:
    folder = make_results(tmp_path / "results", n=20)
    analyses = tmp_path / "analyses"
    analyses.mkdir()
    (analyses / "hypotheses.yaml").write_text("hypotheses:\n  - id: H1\n    value: [power\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["report", str(folder), "--analyses", str(analyses)])
    assert result.exit_code == 2
    assert "hypotheses.yaml' is not valid YAML" in result.output
    assert "at line 4, column 1" in result.output
    assert "Traceback" not in result.output

    (analyses / "hypotheses.yaml").unlink()
    (analyses / "m.lav").write_bytes(b"\x87\xf4\xc5\nq\x1f")
    result = CliRunner().invoke(main, ["report", str(folder), "--analyses", str(analyses)])
    assert result.exit_code == 2
    assert "m.lav' is not UTF-8 text" in result.output
    assert "Traceback" not in result.output
    assert not (folder / "report").exists()


def test_report_cli_rejects_invalid_user_model(tmp_path: Path) -> None:
    folder = make_results(tmp_path / "results", n=20)
    analyses = tmp_path / "analyses"
    analyses.mkdir()
    (analyses / "m.lav").write_text("f1 =~ raw_power + raw_hedonism + raw_nope\nharm_overall ~ f1\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["report", str(folder), "--analyses", str(analyses)])
    assert result.exit_code == 2
    assert "'raw_nope' (line 1)" in result.output
    assert "Traceback" not in result.output
    assert not (folder / "report").exists()


def test_report_rejects_file_paths_as_folders(tmp_path: Path) -> None:
    folder = make_results(tmp_path / "results", n=20)
    with pytest.raises(PsyvalError, match="is a file, not a folder"):
        write_report(folder / "respondents.csv")
    with pytest.raises(PsyvalError, match="is a file, not a folder"):
        write_report(folder, analyses_dir=folder / "respondents.csv")


def test_report_rejects_out_file(tmp_path: Path) -> None:
    folder = make_results(tmp_path / "results", n=20)
    existing = tmp_path / "notes.txt"
    existing.write_text("keep me", encoding="utf-8")
    with pytest.raises(PsyvalError, match=f"report folder {re.escape(repr(str(existing)))} is an existing file"):
        write_report(folder, existing)
    with pytest.raises(PsyvalError, match=f"because {re.escape(repr(str(existing)))} is a file"):
        write_report(folder, existing / "report")
    assert existing.read_text(encoding="utf-8") == "keep me"

    result = CliRunner().invoke(main, ["report", str(folder), "--out", str(existing)])
    assert result.exit_code == 2
    assert "is a file" in result.output
    assert "Traceback" not in result.output


def test_report_cli_writes_report(tmp_path: Path) -> None:
    folder = make_results(tmp_path / "results", n=40)
    result = CliRunner().invoke(main, ["report", str(folder), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "report.html").is_file()
    assert "HTML report:" in result.output


def test_format_helpers() -> None:
    assert bounded(0.456) == ".46"
    assert bounded(-0.456) == "-.46"
    assert p_value(0.0004) == "< .001"
    assert p_value(0.0312) == ".031"
    assert r_string('a "b"\\c\nd') == '"a \\"b\\"\\\\c\\nd"'
    table = markdown_table(pd.DataFrame({"a": ["x|y"], "b": ["<b>"]}))
    assert "x\\|y" in table
    assert "&lt;b&gt;" in table


def test_value_conditions_group_sampled_profiles() -> None:
    from psyval.report.figures import value_conditions

    table = pd.DataFrame({"profile": ["power", "power_s1", "power_s12", "my_custom_s1", "baseline"]})
    assert value_conditions(table).tolist() == ["power", "power", "power", "my_custom_s1", "baseline"]


def test_markdown_answers_in_code_fences() -> None:
    answer = "# heading\n| a | b |\n|---|---|\n![img](http://127.0.0.1/x.png)\n````\nescaped?"
    section = Section(title="Examples", anchor="examples", quotes=[("malware", answer)])
    markdown = render_markdown("Report", "sub", [section])
    block = markdown_code_block(answer)
    assert block[0] == "`````"
    assert block[-1] == "`````"
    assert "\n".join(block) in markdown
    prose = outside_fences(markdown)
    assert "# heading" not in prose
    assert "![img]" not in prose
    assert "| a | b |" not in prose
