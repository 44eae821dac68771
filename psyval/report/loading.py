"""Read a results folder: respondent table, manifests, example responses, item keys."""

from __future__ import annotations

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


def read_results(results_dir: str | Path) -> ResultsFolder:
    """Read the report inputs of ``results_dir``.

    Raises
    ------
    PsyvalError
        If the folder or its ``respondents.csv`` is missing or empty, or a CSV file
        cannot be read.
    """
    folder = Path(results_dir)
    if not folder.is_dir():
        raise PsyvalError(f"results folder {str(folder)!r} not found; pass the --out folder of `psyval run`")
    table_path = folder / "respondents.csv"
    if not table_path.is_file():
        raise PsyvalError(f"{str(table_path)!r} not found; `psyval run STUDY --out {folder}` writes it")
    respondents = _read_csv(table_path)
    if respondents.empty:
        raise PsyvalError(f"{str(table_path)!r} has no rows; rerun the study")
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
