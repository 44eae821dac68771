"""Time psyval's full sem-fit against a bare semopy fit and lavaan, in one run.

Cases: the Holzinger-Swineford three-factor CFA (N = 301) and a simulated
10-factor, 40-indicator CFA (N = 2000). For each case the script times

- psyval: ``sem_fit`` plus the text report (estimates, SEs, standardized
  solution, fit measures, diagnostics);
- semopy: ``Model(desc).fit(data)`` alone, without SEs or fit measures,
  once as installed and once with BLAS limited to one thread as psyval runs it;
- lavaan: ``sem()`` + ``summary(fit.measures = TRUE, standardized = TRUE)``
  inside one Rscript process, timed in R so that R's start-up and package
  loading are left out (skipped when Rscript with lavaan is missing).

Each is repeated and the median wall time reported, with the ratio
psyval / lavaan. Run: ``python benchmarks/bench_sem.py [--repeats N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
HS_MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\n"


def simulated_case(n_obs: int = 2000, factors: int = 10, per_factor: int = 4, seed: int = 7) -> tuple[str, pd.DataFrame]:
    """Return a CFA model and data with correlated factors and loadings 0.6-0.9."""
    generator = np.random.default_rng(seed)
    factor_cov = np.full((factors, factors), 0.3)
    np.fill_diagonal(factor_cov, 1.0)
    scores = generator.multivariate_normal(np.zeros(factors), factor_cov, size=n_obs)
    columns, lines = {}, []
    for f in range(factors):
        names = []
        for j in range(per_factor):
            name = f"y{f + 1}_{j + 1}"
            loading = generator.uniform(0.6, 0.9)
            columns[name] = loading * scores[:, f] + np.sqrt(1 - loading**2) * generator.standard_normal(n_obs)
            names.append(name)
        lines.append(f"f{f + 1} =~ " + " + ".join(names))
    return "\n".join(lines) + "\n", pd.DataFrame(columns)


def time_call(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_psyval(model: str, data: pd.DataFrame, repeats: int) -> float:
    from psyval.psychometrics import sem_fit

    def run() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sem_fit(model, data).summary_text()

    return time_call(run, repeats)


def time_semopy(model: str, data: pd.DataFrame, repeats: int, single_thread: bool = False) -> float:
    import semopy
    from threadpoolctl import threadpool_limits

    def run() -> None:
        if single_thread:
            with threadpool_limits(limits=1, user_api="blas"):
                semopy.Model(model).fit(data)
        else:
            semopy.Model(model).fit(data)

    return time_call(run, repeats)


R_SCRIPT = r"""
suppressMessages(library(lavaan))
args <- commandArgs(trailingOnly = TRUE)
model <- paste(readLines(args[1]), collapse = "\n")
data <- read.csv(args[2])
repeats <- as.integer(args[3])
times <- numeric(repeats)
for (i in seq_len(repeats)) {
  start <- proc.time()[["elapsed"]]
  fit <- sem(model, data = data)
  invisible(capture.output(summary(fit, fit.measures = TRUE, standardized = TRUE)))
  times[i] <- proc.time()[["elapsed"]] - start
}
cat(median(times), "\n")
"""


def time_lavaan(model: str, data: pd.DataFrame, repeats: int) -> float | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        model_path = Path(folder) / "model.lav"
        data_path = Path(folder) / "data.csv"
        script_path = Path(folder) / "bench.R"
        model_path.write_text(model)
        data.to_csv(data_path, index=False)
        script_path.write_text(R_SCRIPT)
        completed = subprocess.run(
            ["Rscript", str(script_path), str(model_path), str(data_path), str(repeats)],
            capture_output=True, text=True, check=False, timeout=600,
        )
        if completed.returncode != 0:
            print(f"lavaan skipped: {completed.stderr.strip()[:200]}", file=sys.stderr)
            return None
        return float(completed.stdout.split()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="Timed runs per tool and case; the median is reported.")
    parser.add_argument("--json", action="store_true", help="Print the results as JSON too.")
    arguments = parser.parse_args()

    cases = {
        "HS1939 3-factor CFA, N=301": (HS_MODEL, pd.read_csv(ROOT / "tests" / "reference" / "hs1939.csv")),
        "simulated 10 factors, 40 indicators, N=2000": simulated_case(),
    }

    rows = []
    for name, (model, data) in cases.items():
        # One untimed run loads modules and warms caches for each tool.
        time_psyval(model, data, 1)
        time_semopy(model, data, 1)
        psyval_time = time_psyval(model, data, arguments.repeats)
        semopy_time = time_semopy(model, data, arguments.repeats)
        semopy_single = time_semopy(model, data, arguments.repeats, single_thread=True)
        lavaan_time = time_lavaan(model, data, arguments.repeats)
        rows.append({"case": name, "psyval": psyval_time, "semopy": semopy_time, "semopy_1_thread": semopy_single,
                     "lavaan": lavaan_time,
                     "psyval/lavaan": psyval_time / lavaan_time if lavaan_time else None})

    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; repeats {arguments.repeats}, median")
    print("| case | psyval sem-fit (s) | bare semopy fit (s) | bare semopy fit, 1 BLAS thread (s) "
          "| lavaan sem+summary (s) | psyval / lavaan |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        lavaan = f"{row['lavaan']:.3f}" if row["lavaan"] is not None else "skipped (no Rscript)"
        ratio = f"{row['psyval/lavaan']:.2f}" if row["psyval/lavaan"] is not None else "-"
        print(f"| {row['case']} | {row['psyval']:.3f} | {row['semopy']:.3f} | {row['semopy_1_thread']:.3f} "
              f"| {lavaan} | {ratio} |")
    if arguments.json:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
