"""Read SEM input data and check the model's variables against it.

Accepted inputs: a CSV or Parquet file, a psyval results folder (its
``respondents.csv`` or, failing that, the wide form of ``responses.csv``), or
a pandas DataFrame. Missing values are never imputed silently: listwise
deletion reports the rows it drops, and FIML keeps every row.
"""

from __future__ import annotations

import csv
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from psyval.errors import DataQualityWarning, PsyvalError

logger = logging.getLogger(__name__)


@dataclass
class PreparedData:
    """Model variables after the missing-data rule was applied.

    ``values`` has one column per observed model variable in model order and
    may contain NaN only under FIML. ``n_total`` counts the input rows and
    ``n_dropped`` the rows removed by listwise deletion.
    """

    values: np.ndarray
    columns: list[str]
    n_total: int
    n_dropped: int

    @property
    def n_used(self) -> int:
        """Number of rows that enter the fit."""
        return self.n_total - self.n_dropped


ITEM_PREFIX = "item_"
_ANSWER_COLUMNS = ("expected_value", "answer")


def is_long_responses(frame: pd.DataFrame) -> bool:
    """Return whether ``frame`` is a long responses table (one row per respondent and item)."""
    return {"respondent", "item"} <= set(frame.columns) and any(c in frame.columns for c in _ANSWER_COLUMNS)


def responses_to_wide(responses: pd.DataFrame, reflect_reverse: bool = True) -> pd.DataFrame:
    """Pivot a long responses table to one row per respondent and one ``item_<id>`` column per item.

    The answer is ``expected_value`` or, in a ``psyval survey`` responses.csv,
    ``answer``. With ``reflect_reverse`` and the survey's ``reverse`` and
    ``scale_points`` columns, reverse-keyed answers become
    ``scale_points + 1 - answer``, as the survey's scoring does. Several rows
    for one respondent and item (prompt variants) are averaged, with a
    DataQualityWarning that says so. The ``item_`` prefix matches the model
    that ``psyval cfa --show-model`` prints.
    """
    if not {"respondent", "item"} <= set(responses.columns):
        raise PsyvalError(
            f"responses table lacks columns {sorted({'respondent', 'item'} - set(responses.columns))!r}: "
            "a long table needs respondent, item and expected_value (or answer)"
        )
    value_column = next((c for c in _ANSWER_COLUMNS if c in responses.columns), None)
    if value_column is None:
        raise PsyvalError(
            "responses table has no expected_value or answer column: pass a responses.csv written by psyval survey"
        )
    table = responses[["respondent", "item"]].copy()
    table["value"] = pd.to_numeric(responses[value_column], errors="coerce")
    if reflect_reverse and {"reverse", "scale_points"} <= set(responses.columns):
        reverse = responses["reverse"].astype(str).str.lower().isin(("true", "1", "1.0"))
        points = pd.to_numeric(responses["scale_points"], errors="coerce")
        table["value"] = np.where(reverse, points + 1 - table["value"], table["value"])
        if reverse.any():
            logger.info("reflected %d answers to reverse-keyed items", int(reverse.sum()))
    repeats = int(table.groupby(["respondent", "item"]).size().max())
    if repeats > 1:
        warnings.warn(
            f"the responses have up to {repeats} rows per respondent and item (prompt variants); "
            "their mean is used as the item score",
            DataQualityWarning,
            stacklevel=3,
        )
    wide = table.pivot_table(index="respondent", columns="item", values="value", aggfunc="mean", dropna=False)
    wide.columns = [f"{ITEM_PREFIX}{column}" for column in wide.columns]
    return wide.reset_index(drop=True)


def _read_delimited(path: Path, separator: str) -> pd.DataFrame:
    """Read a UTF-8 CSV or TSV file, turning pandas' parse errors into one-line PsyvalErrors."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            header = next(csv.reader(handle, delimiter=separator), [])
        frame = pd.read_csv(path, sep=separator, encoding="utf-8")
    except UnicodeDecodeError as error:
        raise PsyvalError(
            f"data file {str(path)!r} is not UTF-8 text (byte {error.start}): save it as UTF-8 CSV"
        ) from None
    except pd.errors.EmptyDataError:
        raise PsyvalError(f"data file {str(path)!r} is empty: pass a CSV file with a header row and data rows") from None
    except (pd.errors.ParserError, csv.Error) as error:
        first_line = str(error).strip().splitlines()[0]
        raise PsyvalError(f"data file {str(path)!r} is not valid CSV ({first_line}): fix the quoting or the field count") from None
    # pandas renames a repeated column to x2.1, which would silently fit the
    # wrong variable, so repeated header names are rejected.
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise PsyvalError(f"data file {str(path)!r} repeats the column names {duplicates!r}: give each column a unique name")
    if frame.empty:
        raise PsyvalError(f"data file {str(path)!r} has a header but no data rows: pass a file with responses")
    return frame


def _read_parquet(path: Path) -> pd.DataFrame:
    """Read a Parquet file, turning pyarrow's errors for broken files into one-line PsyvalErrors."""
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError, ArrowIOError an OSError.
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise PsyvalError(f"data file {str(path)!r} is not a readable Parquet file ({first_line})") from None
    if frame.empty:
        raise PsyvalError(f"data file {str(path)!r} has no data rows: pass a file with responses")
    return frame


def read_table(path: str | Path, reflect_reverse: bool = True) -> pd.DataFrame:
    """Read a CSV or Parquet file, or a psyval results folder, into a DataFrame.

    A long responses table is pivoted by :func:`responses_to_wide` to one
    ``item_<id>`` column per item, with ``reflect_reverse`` passed on.
    """
    path = Path(path)
    if path.is_dir():
        for name in ("respondents.csv", "responses.csv"):
            if (path / name).is_file():
                path = path / name
                break
        else:
            raise PsyvalError(
                f"results folder {str(path)!r} has no respondents.csv or responses.csv: "
                "pass a CSV or Parquet file or a folder written by psyval survey or psyval run"
            )
    if not path.is_file():
        raise PsyvalError(f"data file {str(path)!r} not found: pass a CSV or Parquet file or a results folder")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        frame = _read_parquet(path)
    elif suffix in (".csv", ".txt", ".tsv"):
        frame = _read_delimited(path, "\t" if suffix == ".tsv" else ",")
    else:
        raise PsyvalError(f"unsupported data file type {suffix!r} for {str(path)!r}: use .csv or .parquet")
    if is_long_responses(frame):
        frame = responses_to_wide(frame, reflect_reverse=reflect_reverse)
    return frame


def check_columns(frame: pd.DataFrame, variables: list[str]) -> None:
    """Raise for model variables that are missing, non-numeric or constant.

    Raises
    ------
    PsyvalError
        Naming every missing variable, or the first non-numeric or constant one.
    """
    absent = [name for name in variables if name not in frame.columns]
    if absent:
        available = ", ".join(map(str, list(frame.columns)[:12]))
        raise PsyvalError(
            f"model variables {absent!r} are missing from the data: rename the model terms or the columns "
            f"(available columns: {available}{', ...' if frame.shape[1] > 12 else ''})"
        )
    if len(frame) < 2:
        raise PsyvalError(f"the data have {len(frame)} row(s): a covariance matrix needs more rows than variables")
    for name in variables:
        column = frame[name]
        if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            converted = pd.to_numeric(column, errors="coerce")
            bad = column[converted.isna() & column.notna()]
            if len(bad):
                raise PsyvalError(
                    f"column {name!r} is not numeric (value {bad.iloc[0]!r}): recode it to numbers before fitting"
                )
        values = pd.to_numeric(column, errors="coerce").dropna()
        if np.isinf(values.to_numpy(dtype=float)).any():
            raise PsyvalError(
                f"column {name!r} contains infinite values: replace them with numbers or leave the cells empty"
            )
        if values.nunique() <= 1:
            raise PsyvalError(
                f"column {name!r} is constant ({values.iloc[0] if len(values) else 'all missing'}): "
                "drop it from the model, because a variable without variance cannot be modelled"
            )


def prepare_data(frame: pd.DataFrame, variables: list[str], missing: str) -> PreparedData:
    """Select the model variables and apply the missing-data rule.

    Parameters
    ----------
    frame : pandas.DataFrame
        Input data.
    variables : list of str
        Observed model variables, in model order.
    missing : {"listwise", "fiml"}
        ``listwise`` drops every row with a missing model variable (and warns
        with the count); ``fiml`` keeps all rows that have at least one value.
    """
    check_columns(frame, variables)
    data = frame[variables].apply(pd.to_numeric, errors="coerce")
    n_total = len(data)
    if missing == "listwise":
        complete = data.notna().all(axis=1)
        n_dropped = int((~complete).sum())
        if n_dropped:
            warnings.warn(
                f"listwise deletion dropped {n_dropped} of {n_total} rows with missing model variables",
                DataQualityWarning,
                stacklevel=3,
            )
        data = data[complete]
    elif missing == "fiml":
        empty = data.isna().all(axis=1)
        n_dropped = int(empty.sum())
        if n_dropped:
            warnings.warn(
                f"FIML dropped {n_dropped} of {n_total} rows in which every model variable is missing",
                DataQualityWarning,
                stacklevel=3,
            )
        data = data[~empty]
    else:
        raise PsyvalError(f"unknown missing-data rule {missing!r}: use 'listwise' or 'fiml'")
    if len(data) < 2:
        raise PsyvalError(f"only {len(data)} usable rows remain after {missing} handling: at least 2 are needed")
    for name in variables:
        if data[name].nunique(dropna=True) <= 1:
            raise PsyvalError(
                f"column {name!r} is constant in the {len(data)} rows used: drop it from the model"
            )
    return PreparedData(values=data.to_numpy(dtype=float), columns=list(variables), n_total=n_total, n_dropped=n_dropped)


def biased_covariance(values: np.ndarray) -> np.ndarray:
    """Return the sample covariance matrix with divisor N, as lavaan uses for ML."""
    centered = values - values.mean(axis=0)
    return centered.T @ centered / values.shape[0]
