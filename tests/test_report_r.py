"""Run the report's reproduce.R with Rscript and lavaan and compare R's numbers with psyval's.

Skipped when Rscript or the lavaan package is missing. The SEM is a two-factor
model that fits the synthetic circumplex data without boundary estimates. Both
programs therefore converge to the same optimum. Tolerances are absolute.
"""

from __future__ import annotations

import shutil
import subprocess
import warnings
from pathlib import Path

import pandas as pd
import pytest

from psyval.report import write_report
from psyval.resources import bundled_file
from test_report import make_results

RSCRIPT = shutil.which("Rscript")


def lavaan_installed() -> bool:
    if RSCRIPT is None:
        return False
    completed = subprocess.run([RSCRIPT, "-e", "library(lavaan)"], capture_output=True, timeout=120, check=False)
    return completed.returncode == 0


pytestmark = [
    pytest.mark.needs_r,
    pytest.mark.skipif(not lavaan_installed(), reason="needs Rscript with the lavaan package"),
]

MODEL = """
openness_to_change =~ raw_self_direction + raw_stimulation + raw_hedonism
conservation =~ raw_security + raw_conformity + raw_tradition
openness_to_change ~~ conservation
harm_adult_content ~ openness_to_change
harm_illegal_activity ~ conservation
harm_adult_content ~~ harm_illegal_activity
"""


@pytest.fixture(scope="module")
def report_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("r")
    results = make_results(root / "results", n=80)
    analyses = root / "analyses"
    analyses.mkdir()
    (analyses / "two_factor.lav").write_text(MODEL, encoding="utf-8")
    shutil.copy(bundled_file("analyses", "hypotheses.yaml"), analyses / "hypotheses.yaml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        paths = write_report(results, root / "report", analyses_dir=analyses)
    out = paths["html"].parent
    completed = subprocess.run([str(RSCRIPT), "reproduce.R"], cwd=out, capture_output=True, text=True,
                               timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return out


def test_r_correlations_equal_psyval(report_folder: Path) -> None:
    ours = pd.read_csv(report_folder / "correlations.csv")
    theirs = pd.read_csv(report_folder / "r_correlations.csv")
    merged = ours.merge(theirs, on=["method", "x", "y"], suffixes=("", "_r"), validate="one_to_one")
    assert len(merged) == len(ours)
    assert (merged["n"] == merged["n_r"]).all()
    for column in ("r", "p", "p_holm", "p_bh"):
        pd.testing.assert_series_equal(merged[column], merged[f"{column}_r"], check_names=False, atol=1e-10, rtol=1e-8)


def test_r_sem_estimates_equal_psyval(report_folder: Path) -> None:
    ours = pd.read_csv(report_folder / "sem_two_factor.csv")
    theirs = pd.read_csv(report_folder / "r_sem_two_factor.csv")
    merged = ours.merge(theirs, on=["lhs", "op", "rhs"], suffixes=("", "_r"))
    free = ours[ours["se"].notna() & (ours["se"] > 0)]
    assert len(merged) >= len(free)
    pd.testing.assert_series_equal(merged["est"], merged["est_r"], check_names=False, atol=1e-4, rtol=0)
    pd.testing.assert_series_equal(merged["std.all"], merged["std.all_r"], check_names=False, atol=1e-4, rtol=0)
    has_se = merged["se"].notna() & merged["se_r"].notna() & (merged["se_r"] > 0)
    pd.testing.assert_series_equal(merged.loc[has_se, "se"], merged.loc[has_se, "se_r"], check_names=False,
                                   atol=1e-3, rtol=0)


def test_r_fit_measures_equal_psyval(report_folder: Path) -> None:
    ours = pd.read_csv(report_folder / "fit_two_factor.csv").set_index("measure")["value"]
    theirs = pd.read_csv(report_folder / "r_fit_two_factor.csv").set_index("measure")["value"]
    assert ours["df"] == theirs["df"]
    assert ours["chisq"] == pytest.approx(theirs["chisq"], rel=1e-4)
    for measure in ("cfi", "tli", "rmsea", "srmr"):
        assert ours[measure] == pytest.approx(theirs[measure], abs=1e-4), measure
