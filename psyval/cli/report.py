"""``psyval report RESULTS``: write the HTML and Markdown report of a study."""

from __future__ import annotations

import warnings
from pathlib import Path

import click


@click.command("report")
@click.argument("results", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Report folder. Default: RESULTS/report.")
@click.option("--analyses", "analyses_dir", type=click.Path(path_type=Path), default=None,
              help="Folder of .lav SEM files and hypotheses.yaml; it must contain at least one of them. "
                   "Default: RESULTS/analyses or RESULTS/analysis/models if present, "
                   "else the bundled analyses/.")
@click.option("--hypotheses", "hypotheses_path", type=click.Path(path_type=Path), default=None,
              help="Hypotheses YAML file. Default: hypotheses.yaml of the analyses folder.")
def report(results: Path, out_dir: Path | None, analyses_dir: Path | None, hypotheses_path: Path | None) -> None:
    """Analyse the results folder RESULTS of `psyval run` and write its report.

    RESULTS must contain respondents.csv; manifest files and
    probe_responses.csv are used when present.
    """
    from psyval.errors import PsyvalWarning
    from psyval.report import write_report

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        paths = write_report(results, out_dir, analyses_dir=analyses_dir, hypotheses_path=hypotheses_path)
    # One line per distinct warning; the report's reproducibility section lists them too.
    messages = [f"{w.category.__name__}: {w.message}" for w in caught if issubclass(w.category, PsyvalWarning)]
    for message in dict.fromkeys(messages):
        click.echo(f"psyval: warning: {message}", err=True)
    figures = sum(1 for name in paths if name.startswith("figure:"))
    click.echo(f"HTML report:      {paths['html']}")
    click.echo(f"Markdown report:  {paths['markdown']}")
    click.echo(f"R script:         {paths['reproduce_r']}")
    click.echo(f"Figures:          {figures} in {paths['html'].parent / 'figures'}")
