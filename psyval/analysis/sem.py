"""Fit the lavaan-syntax SEM files of ``analyses/`` through psyval's SEM engine."""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from psyval.errors import DataQualityWarning, PsyvalError, PsyvalWarning

logger = logging.getLogger(__name__)

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


@dataclass
class SemOutcome:
    """One SEM file and what fitting it gave.

    ``result`` is the :class:`psyval.psychometrics` result object (with
    ``parameters``, ``fit_measures``, ``diagnostics`` and ``summary_text()``),
    or None when the model could not be fitted; ``error`` then says why.
    """

    name: str
    path: str
    syntax: str
    n: int = 0
    result: Any = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def parameters(self) -> pd.DataFrame:
        """The parameter table with lavaan's columns, or an empty frame."""
        if self.result is None:
            return pd.DataFrame()
        return pd.DataFrame(self.result.parameters)

    @property
    def fit_measures(self) -> dict[str, float]:
        """Fit measures under lavaan's names, or an empty dict."""
        if self.result is None:
            return {}
        return dict(self.result.fit_measures)

    def summary_text(self) -> str:
        """The lavaan-style summary, or the reason there is none."""
        if self.result is None:
            return f"Model {self.name!r} was not fitted: {self.error}"
        return str(self.result.summary_text())


def model_variables(syntax: str, columns: list[str]) -> list[str]:
    """Return the data columns a lavaan model names, in table order.

    Latent variable names and operators are not data columns, so the result is
    the identifiers of ``syntax`` (comments removed) that are also in ``columns``.
    """
    text = "\n".join(line.split("#", 1)[0] for line in syntax.splitlines())
    named = set(_IDENTIFIER.findall(text))
    return [column for column in columns if column in named]


def read_sem_syntax(path: str | Path) -> str:
    """Read the lavaan syntax of a ``.lav`` file.

    Raises
    ------
    PsyvalError
        If the file is not UTF-8 text.
    """
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise PsyvalError(
            f"SEM file {str(path)!r} is not UTF-8 text ({error.reason} at byte {error.start}): "
            "save it as UTF-8 lavaan model syntax, or move it out of the analyses folder"
        ) from error


def _code_lines(syntax: str) -> list[str]:
    """Return the lines of ``syntax`` without lavaan's ``#`` and ``!`` comments."""
    return [line.split("#", 1)[0].split("!", 1)[0] for line in syntax.splitlines()]


def _error_line(syntax: str, message: str) -> int | None:
    """Return the 1-based line where the statement that ``parse_model`` rejects with ``message`` ends.

    The parser reports statements, not lines, and a statement may continue
    over several lines. The first prefix of the file that fails with the same
    message therefore ends on that statement's last line.
    """
    from psyval.psychometrics.sem.syntax import parse_model

    lines = syntax.splitlines()
    for count in range(1, len(lines) + 1):
        try:
            parse_model("\n".join(lines[:count]))
        except PsyvalError as error:
            if str(error) == message:
                return count
    return None


def _name_line(syntax: str, name: str) -> int:
    """Return the 1-based line where the variable ``name`` first appears outside comments (0 if nowhere)."""
    pattern = re.compile(rf"(?<![A-Za-z0-9_.]){re.escape(name)}(?![A-Za-z0-9_.])")
    for number, line in enumerate(_code_lines(syntax), start=1):
        if pattern.search(line):
            return number
    return 0


def _column_list(columns: list[str]) -> str:
    """List the score columns of a respondent table for an error message, at most 12 of them."""
    # Raw means and harm scores come first because the bundled models use them.
    scores = [column for prefix in ("raw_", "harm_", "value_", "item_") for column in columns if column.startswith(prefix)]
    scores = scores or columns
    listed = ", ".join(scores[:12])
    return listed + (f" and {len(scores) - 12} more" if len(scores) > 12 else "")


def missing_model_columns(syntax: str, columns: list[str]) -> list[str]:
    """Return the observed variables of a lavaan model that are not in ``columns``, in order of first use.

    Raises
    ------
    PsyvalError
        If the syntax cannot be parsed (see :func:`psyval.psychometrics.sem.syntax.parse_model`).
    """
    from psyval.psychometrics.sem.syntax import parse_model

    parsed = parse_model(syntax)
    return [name for name in parsed.observed if name not in columns]


def check_sem_file(path: str | Path, columns: list[str]) -> None:
    """Check that a ``.lav`` file parses and names only latent variables and columns of the data.

    Raises
    ------
    PsyvalError
        If the file is not UTF-8 text, has no model statements, has a syntax
        error (with the line of the failing statement), or names a variable
        that is neither latent (defined by ``=~``) nor in ``columns``.
    """
    path = Path(path)
    syntax = read_sem_syntax(path)
    if not any(line.strip() for line in _code_lines(syntax)):
        raise PsyvalError(
            f"SEM file {str(path)!r} contains no model statements: write lavaan syntax such as "
            "'F =~ raw_power + raw_achievement', or delete the file"
        )
    try:
        missing = missing_model_columns(syntax, columns)
    except PsyvalError as error:
        line = _error_line(syntax, str(error))
        where = f" line {line}" if line is not None else ""
        raise PsyvalError(f"SEM file {str(path)!r}{where}: {error}") from error
    if missing:
        named = ", ".join(f"{name!r} (line {_name_line(syntax, name)})" for name in missing)
        raise PsyvalError(
            f"SEM file {str(path)!r} names variables that are neither respondent-table columns nor latent "
            f"variables defined with =~: {named}; rename them to columns such as {_column_list(columns)}, "
            "or define them with =~"
        )


def check_sem_folder(analyses_dir: str | Path, columns: list[str]) -> None:
    """Run :func:`check_sem_file` on every ``*.lav`` file of ``analyses_dir``, in file-name order."""
    for path in sorted(Path(analyses_dir).glob("*.lav")):
        check_sem_file(path, columns)


def fit_sem_file(path: str | Path, data: pd.DataFrame) -> SemOutcome:
    """Fit one ``.lav`` file on ``data`` with :func:`psyval.psychometrics.sem_fit`.

    Constant observed variables make the sample covariance matrix singular, so
    the model is not fitted and the outcome says which columns are constant.
    Any warning the engine emits is kept on the outcome and re-emitted.

    Raises
    ------
    PsyvalError
        If the file is not UTF-8 text.
    """
    path = Path(path)
    syntax = read_sem_syntax(path)
    outcome = SemOutcome(name=path.stem, path=str(path), syntax=syntax)
    columns = [str(column) for column in data.columns]
    # Syntax errors and absent columns are reported before the constant-column
    # check, which would otherwise hide them behind a message about variance.
    try:
        missing = missing_model_columns(syntax, columns)
    except PsyvalError as error:
        outcome.error = f"syntax error: {error}"
        warnings.warn(f"SEM {outcome.name!r} not fitted: {outcome.error}", PsyvalWarning, stacklevel=2)
        return outcome
    if missing:
        outcome.error = (
            f"observed variables {', '.join(missing)} are not columns of the respondent table "
            f"(score columns: {_column_list(columns)})"
        )
        warnings.warn(f"SEM {outcome.name!r} not fitted: {outcome.error}", DataQualityWarning, stacklevel=2)
        return outcome
    used = model_variables(syntax, list(data.columns))
    if not used:
        outcome.error = "the model names none of the respondent-table columns"
        return outcome
    subset = data[used].apply(pd.to_numeric, errors="coerce")
    outcome.n = int(len(subset.dropna()))
    constant = [column for column in used if subset[column].dropna().nunique() < 2]
    if constant:
        outcome.error = f"observed variables {constant} are constant, so their covariances are singular"
        warnings.warn(f"SEM {outcome.name!r} not fitted: {outcome.error}", DataQualityWarning, stacklevel=2)
        return outcome
    try:
        from psyval.psychometrics import sem_fit
    except ImportError as error:
        outcome.error = f"psyval.psychometrics.sem_fit is unavailable ({error})"
        warnings.warn(f"SEM {outcome.name!r} not fitted: {outcome.error}", PsyvalWarning, stacklevel=2)
        return outcome
    logger.info("fitting SEM %s on %d complete rows", outcome.name, outcome.n)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            outcome.result = sem_fit(syntax, subset)
        except (PsyvalError, ValueError, ArithmeticError, RuntimeError, KeyError, IndexError) as error:
            outcome.error = f"{type(error).__name__}: {error}"
    for warning in caught:
        outcome.warnings.append(f"{warning.category.__name__}: {warning.message}")
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    if outcome.error:
        warnings.warn(f"SEM {outcome.name!r} failed: {outcome.error}", PsyvalWarning, stacklevel=2)
    return outcome


def fit_sem_folder(analyses_dir: str | Path, data: pd.DataFrame) -> list[SemOutcome]:
    """Fit every ``*.lav`` file of ``analyses_dir``, in file-name order."""
    folder = Path(analyses_dir)
    if not folder.is_dir():
        raise PsyvalError(f"analyses folder {str(folder)!r} not found; pass a folder of .lav files")
    return [fit_sem_file(path, data) for path in sorted(folder.glob("*.lav"))]
