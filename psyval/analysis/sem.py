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
