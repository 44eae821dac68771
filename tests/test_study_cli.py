"""Output of ``psyval run``: warning lines and the closing summary (the run itself is stubbed)."""

from __future__ import annotations

import warnings
from pathlib import Path

from click.testing import CliRunner

from psyval.cli import main
from psyval.study import runner


def fake_run_study(spec, out, progress, until, trust_remote_code):
    for _ in range(3):
        warnings.warn("profile correlation is undefined", UserWarning, stacklevel=1)
    out = Path(out)
    return runner.StudyRunResult(
        out_dir=out,
        store_path=out / "study.sqlite",
        report_paths={
            "html": out / "report" / "report.html",
            "markdown": out / "report" / "report.md",
            "figure:profiles": out / "report" / "figures" / "profiles.png",
        },
        counts={stage: runner.StageCount() for stage in runner.STAGES},
    )


def test_run_warnings_and_summary(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "run_study", fake_run_study)
    result = CliRunner().invoke(main, ["run", "demo", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    warning = "psyval: warning: UserWarning: profile correlation is undefined"
    assert result.output.count(warning) == 1
    assert "warnings.warn(" not in result.output
    assert f"report: {tmp_path / 'report' / 'report.html'}" in result.output
    assert f"report (Markdown): {tmp_path / 'report' / 'report.md'}" in result.output
    assert "report files: 1 more" in result.output
    assert "PosixPath" not in result.output
