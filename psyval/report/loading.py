"""Read a results folder: respondent table, manifests, example responses, item keys."""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from psyval.errors import PsyvalError

logger = logging.getLogger(__name__)


@dataclass
class ResultsFolder:
    """The inputs of a report, read from one results folder."""

    path: Path
    respondents: pd.DataFrame
    manifests: dict[str, dict[str, Any]] = field(default_factory=dict)
    probe_responses: pd.DataFrame | None = None
    item_values: dict[str, str] = field(default_factory=dict)
    reversed_items: dict[str, int] = field(default_factory=dict)
    instrument_note: str = ""


def read_manifests(folder: Path) -> dict[str, dict[str, Any]]:
    """Return every ``*manifest*.json`` file of ``folder`` (not recursive), by file name."""
    manifests: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*manifest*.json")):
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            logger.warning("manifest %s not read: %s", path, error)
            continue
        if isinstance(content, dict):
            manifests[path.name] = content
    return manifests


def _walk(node: Any, key: str) -> Iterator[Any]:
    if isinstance(node, dict):
        for name, child in node.items():
            if name == key:
                yield child
            yield from _walk(child, key)
    elif isinstance(node, list):
        for child in node:
            yield from _walk(child, key)


def instrument_reference(manifests: dict[str, dict[str, Any]]) -> str | None:
    """Return the first instrument id or path named by an ``instrument`` field of the manifests."""
    for manifest in manifests.values():
        for entry in _walk(manifest, "instrument"):
            if isinstance(entry, str) and entry:
                return entry
            if isinstance(entry, dict):
                for key in ("path", "id", "name"):
                    if isinstance(entry.get(key), str) and entry[key]:
                        return str(entry[key])
    return None


def item_keys(reference: str | None) -> tuple[dict[str, str], dict[str, int], str]:
    """Return item id -> value, reversed item id -> scale points, and a note on the source.

    Cronbach's alpha needs to know which items measure which value. The
    instrument named in the manifests is loaded with psyval's instrument
    loader; when it cannot be loaded, alpha is left out and the note says why.
    """
    if reference is None:
        return {}, {}, "No manifest names an instrument, so Cronbach's alpha is not reported."
    try:
        from psyval.instruments import load_instrument

        instrument = load_instrument(reference)
    except (ImportError, PsyvalError, OSError) as error:
        return {}, {}, f"Instrument {reference!r} could not be loaded ({error}), so Cronbach's alpha is not reported."
    values = {item.id: item.value for item in instrument.items}
    points = int(instrument.scale.points)
    reversed_items = {item.id: points for item in instrument.items if item.reverse}
    return values, reversed_items, f"Alpha uses the item keys of instrument {instrument.id!r}."


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise PsyvalError(
            f"{str(path)!r} is not a readable CSV file: {error}; save it as UTF-8 CSV or rerun the study"
        ) from error


# Column prefixes of the respondent table that hold numbers (see the
# results-folder contract in docs/studies.md).
NUMERIC_PREFIXES = ("value_", "raw_", "harm_", "item_")


def _record_lines(path: Path) -> list[int]:
    """Return the file line number of each data record of a CSV file, checking its field counts.

    Blank lines are skipped, as ``pandas.read_csv`` skips them, so entry ``i``
    is the line where data row ``i`` of the parsed table ends.

    Raises
    ------
    PsyvalError
        If a record has more or fewer fields than the header.
    """
    lines: list[int] = []
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            width = len(header) if header else 0
            for record in reader:
                if not record:
                    continue
                if len(record) != width:
                    raise PsyvalError(
                        f"{str(path)!r} line {reader.line_num} has {len(record)} fields but the header has {width}: "
                        "fix or delete that row, or rerun the study"
                    )
                lines.append(reader.line_num)
    except (csv.Error, UnicodeDecodeError) as error:
        raise PsyvalError(
            f"{str(path)!r} is not a readable CSV file: {error}; save it as UTF-8 CSV or rerun the study"
        ) from error
    return lines


def check_respondent_table(path: Path, respondents: pd.DataFrame, lines: list[int]) -> None:
    """Raise for the first non-numeric cell of a ``value_``, ``raw_``, ``harm_`` or ``item_`` column.

    ``lines`` maps each data row to its file line, as :func:`_record_lines` returns.
    Empty cells are allowed because they are missing values.
    """
    for column in respondents.columns:
        if not str(column).startswith(NUMERIC_PREFIXES):
            continue
        cells = respondents[column]
        if pd.api.types.is_numeric_dtype(cells) and not pd.api.types.is_bool_dtype(cells):
            continue
        invalid = cells.notna() & pd.to_numeric(cells, errors="coerce").isna()
        if not invalid.any():
            continue
        row = int(invalid.to_numpy().argmax())
        line = lines[row] if row < len(lines) else row + 2
        raise PsyvalError(
            f"{str(path)!r} line {line}, column {str(column)!r}: {cells.iloc[row]!r} is not a number; "
            "write a number or leave the cell empty, or rerun the study"
        )


def read_results(results_dir: str | Path) -> ResultsFolder:
    """Read the report inputs of ``results_dir``.

    Raises
    ------
    PsyvalError
        If the folder or its ``respondents.csv`` is missing or empty, a CSV file
        cannot be read, a row of ``respondents.csv`` has the wrong number of
        fields, or a ``value_``, ``raw_``, ``harm_`` or ``item_`` cell is not a number.
    """
    folder = Path(results_dir)
    if folder.is_file():
        raise PsyvalError(
            f"results folder {str(folder)!r} is a file, not a folder; pass the --out folder of `psyval run`"
        )
    if not folder.is_dir():
        raise PsyvalError(f"results folder {str(folder)!r} not found; pass the --out folder of `psyval run`")
    table_path = folder / "respondents.csv"
    if not table_path.is_file():
        raise PsyvalError(f"{str(table_path)!r} not found; `psyval run STUDY --out {folder}` writes it")
    lines = _record_lines(table_path)
    respondents = _read_csv(table_path)
    if respondents.empty:
        raise PsyvalError(f"{str(table_path)!r} has no rows; rerun the study")
    check_respondent_table(table_path, respondents, lines)
    manifests = read_manifests(folder)
    probe_path = folder / "probe_responses.csv"
    probe_responses = _read_csv(probe_path) if probe_path.is_file() else None
    item_values, reversed_items, note = item_keys(instrument_reference(manifests))
    return ResultsFolder(
        path=folder, respondents=respondents, manifests=manifests, probe_responses=probe_responses,
        item_values=item_values, reversed_items=reversed_items, instrument_note=note,
    )


def keyed_items(respondents: pd.DataFrame, reversed_items: dict[str, int]) -> pd.DataFrame:
    """Return a copy with reverse-keyed ``item_<id>`` columns turned around (``points + 1 - x``)."""
    out = respondents.copy()
    for item, points in reversed_items.items():
        column = f"item_{item}"
        if column in out.columns:
            out[column] = points + 1 - out[column]
    return out
