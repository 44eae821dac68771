"""Open the report in headless Chromium (Debian package ``chromium``) and check every figure loads.

The page's only script writes ``data-figures-loaded="k/n"`` on <body> after the
load event; ``--dump-dom`` prints the DOM after that event.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest

from psyval.report import write_report
from test_report import make_results

CHROMIUM = shutil.which("chromium")

pytestmark = [
    pytest.mark.needs_chromium,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed"),
]


def dump_dom(page: Path, profile: Path) -> str:
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--no-first-run", f"--user-data-dir={profile}", "--dump-dom", page.resolve().as_uri(),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed.stdout


def loaded_counts(dom: str) -> tuple[int, int, int]:
    body = re.search(r"<body[^>]*>", dom)
    assert body is not None, dom[:500]
    declared = re.search(r'data-figures="(\d+)"', body.group(0))
    loaded = re.search(r'data-figures-loaded="(\d+)/(\d+)"', body.group(0))
    assert declared is not None and loaded is not None, body.group(0)
    return int(declared.group(1)), int(loaded.group(1)), int(loaded.group(2))


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = make_results(tmp_path_factory.mktemp("results"), n=40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return write_report(folder)["html"]


def test_browser_loads_every_figure(report_html: Path, tmp_path: Path) -> None:
    declared, loaded, found = loaded_counts(dump_dom(report_html, tmp_path / "profile"))
    assert declared >= 5
    assert found == declared
    assert loaded == declared


def test_browser_check_detects_missing_figure(report_html: Path, tmp_path: Path) -> None:
    copy = tmp_path / "report"
    shutil.copytree(report_html.parent, copy)
    (copy / "figures" / "value_mds.png").unlink()
    declared, loaded, _ = loaded_counts(dump_dom(copy / "report.html", tmp_path / "profile"))
    assert loaded == declared - 1


def test_browser_runs_no_model_script(report_html: Path, tmp_path: Path) -> None:
    dom = dump_dom(report_html, tmp_path / "profile")
    assert "<script>alert" not in dom
    assert "&lt;script&gt;alert" in dom
