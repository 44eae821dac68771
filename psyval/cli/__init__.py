"""The ``psyval`` command line: a thin click layer over the Python API.

Each subcommand lives in its own module and is imported only when it runs, so
``psyval --help`` stays fast and a missing optional dependency of one command
does not break the others. User-input errors (:class:`psyval.errors.PsyvalError`)
print as one line on stderr and exit with status 2, without a traceback.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click

from psyval import __version__
from psyval.errors import PsyvalError

# Subcommand name -> ("module:attribute", one-line help). Add a line here for a
# new command; the help text is kept here so `psyval --help` imports nothing.
COMMANDS: dict[str, tuple[str, str]] = {
    "survey": ("psyval.cli.survey:survey", "Give a model a value questionnaire and score its profile."),
    "score": ("psyval.cli.survey:score", "Score a responses.csv file again."),
    "probe": ("psyval.cli.probe:probe", "Send harm probes to a model and judge the answers."),
    "sem-fit": ("psyval.cli.sem:sem_fit", "Fit a lavaan-syntax SEM and print a lavaan-style summary."),
    "cfa": ("psyval.cli.sem:cfa", "Fit the measurement model of an instrument to responses."),
    "efa": ("psyval.cli.psychometrics:efa", "Exploratory factor analysis with parallel analysis."),
    "reliability": ("psyval.cli.psychometrics:reliability", "Cronbach's alpha and omega per value."),
    "run": ("psyval.cli.study:run", "Run a study file: survey, probes, judging, analyses, report."),
    "report": ("psyval.cli.report:report", "Write the HTML and Markdown report of a study."),
}


class LazyGroup(click.Group):
    """A click group that imports each subcommand module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        target = entry[0]
        module_name, attribute = target.split(":")
        module = importlib.import_module(module_name)
        command = getattr(module, attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PsyvalError as error:
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            click.echo(f"psyval: error: {message}", err=True)
            ctx.exit(2)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="psyval")
@click.option("-v", "--verbose", count=True, help="Log progress (-v) or debug detail (-vv) to stderr.")
def main(verbose: int) -> None:
    """Survey, probe and model language models as psychologists do people."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # httpx logs every request URL at INFO, user name and password included.
    # psyval logs its own requests without them.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


__all__ = ["main", "COMMANDS"]
