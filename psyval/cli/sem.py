"""``psyval sem-fit`` and ``psyval cfa``: thin CLI over :mod:`psyval.psychometrics.sem`."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from typing import TypeVar

import click

from psyval.errors import PsyvalWarning

_FORMATS = ("text", "json", "csv")

_Command = TypeVar("_Command", bound=Callable[..., None])


def _fit_options(command: _Command) -> _Command:
    """Add the --estimator, --missing and --format options that sem-fit and cfa share."""
    # click lists options in decorator order, so these are applied last to first.
    command = click.option("--format", "output_format", type=click.Choice(_FORMATS), default="text",
                           show_default=True,
                           help="Report format: lavaan-style text, JSON, or the parameter table as CSV.")(command)
    command = click.option("--missing", type=click.Choice(["listwise", "fiml"]), default="listwise",
                           show_default=True,
                           help="Drop incomplete rows (counted in the report) or use full-information ML.")(command)
    return click.option("--estimator", type=click.Choice(["ML", "MLR"], case_sensitive=False), default="ML",
                        show_default=True, metavar="[ML|MLR]",
                        help="ML, or MLR for sandwich standard errors and a Yuan-Bentler scaled test.")(command)


def _echo_problems(result) -> None:
    """Write warning- and error-level diagnostics and the listwise drop count to stderr.

    The JSON and CSV outputs go to files and pipes where nobody reads the
    diagnostics, so statistical trouble must also reach the terminal.
    """
    info = result.info
    if info.get("n_dropped"):
        click.echo(f"psyval: listwise deletion dropped {info['n_dropped']} of {info['n_total']} rows", err=True)
    for diagnostic in result.diagnostics:
        if diagnostic.severity != "info":
            click.echo(f"psyval: {diagnostic.severity}: {diagnostic.message}", err=True)


def _emit(result, output_format: str) -> None:
    if output_format == "json":
        click.echo(result.to_json(), nl=False)
    elif output_format == "csv":
        click.echo(result.to_csv(), nl=False)
    else:
        click.echo(result.summary_text(), nl=False)
    if output_format != "text":
        _echo_problems(result)
    if not result.ok:
        # Non-convergence and under-identification make the estimates
        # meaningless, so scripts must be able to see the failure.
        codes = sorted({d.code for d in result.diagnostics if d.severity == "error"})
        click.echo(f"psyval: the fit is not usable ({', '.join(codes)})", err=True)
        sys.exit(1)


def _fit_quietly(function, *args, **kwargs):
    # The text report lists every diagnostic itself, so Python's warning
    # printout would only repeat them on stderr.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PsyvalWarning)
        return function(*args, **kwargs)


@click.command("sem-fit")
@click.argument("model", type=click.Path(dir_okay=False))
@click.argument("data", type=click.Path())
@_fit_options
@click.option("--max-iterations", type=click.IntRange(min=1), default=10000, show_default=True,
              help="Iteration limit of the optimizer; a fit that reaches it is reported as not converged.")
def sem_fit(model: str, data: str, estimator: str, missing: str, output_format: str, max_iterations: int) -> None:
    """Fit the lavaan-syntax MODEL file to DATA (CSV, Parquet or a results folder)."""
    from psyval.psychometrics.sem import fit_from_file

    result = _fit_quietly(fit_from_file, model, data, estimator=estimator.upper(), missing=missing,
                          max_iterations=max_iterations)
    _emit(result, output_format)


@click.command("cfa")
@click.option("--instrument", "instrument", required=True, help="Instrument name or YAML file.")
@click.option("--level", type=click.Choice(["basic", "higher", "refined"]), default="basic", show_default=True,
              help="Value level: one factor per basic, higher-order or refined value.")
@click.argument("responses", type=click.Path())
@_fit_options
@click.option("--show-model", is_flag=True, help="Print the generated lavaan model before the report.")
def cfa(instrument: str, level: str, responses: str, estimator: str, missing: str, output_format: str,
        show_model: bool) -> None:
    """Fit the measurement model of an instrument (one factor per value) to RESPONSES."""
    from psyval.psychometrics.cfa import fit_instrument_cfa

    syntax, result = _fit_quietly(fit_instrument_cfa, instrument, responses, level=level,
                                  estimator=estimator.upper(), missing=missing)
    if show_model:
        click.echo(syntax)
    _emit(result, output_format)
