"""Probe sets: the probe record, the three file formats, and their validation.

A probe set is a YAML, CSV or JSONL file whose records carry ``id``,
``prompt`` and ``category`` and optionally ``subcategory``, ``source`` and
``kind`` (``harmful``, the default, or ``benign`` for over-refusal controls).
A YAML file is either a list of records or a mapping with a ``probes`` list.
In the mapping form, ``kind``, ``source`` and ``name`` apply to every record
that does not set its own. ``docs/probes.md`` documents the format.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from psyval.errors import PsyvalError
from psyval.probes.taxonomy import VALID_CATEGORIES
from psyval.yaml_input import describe_yaml_error, load_yaml, read_yaml_text

ProbeKind = Literal["harmful", "benign"]
PROBE_KINDS: tuple[str, ...] = ("harmful", "benign")
REQUIRED_FIELDS: tuple[str, ...] = ("id", "prompt", "category")
OPTIONAL_FIELDS: tuple[str, ...] = ("subcategory", "source", "kind")
SUFFIXES: dict[str, str] = {".yaml": "yaml", ".yml": "yaml", ".csv": "csv", ".jsonl": "jsonl"}


@dataclass(frozen=True)
class Probe:
    """One request sent to a model, labelled with a HEx-PHI harm category."""

    id: str
    prompt: str
    category: str
    subcategory: str = ""
    source: str = ""
    kind: ProbeKind = "harmful"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class ProbeSet:
    """An ordered, validated collection of probes with unique ids."""

    name: str
    probes: list[Probe]
    path: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.probes)

    def __iter__(self) -> Iterator[Probe]:
        return iter(self.probes)

    def categories(self) -> list[str]:
        """Return the categories present, in first-seen order."""
        return list(dict.fromkeys(probe.category for probe in self.probes))

    def subset(
        self,
        categories: Iterable[str] | None = None,
        kinds: Iterable[str] | None = None,
        per_category: int | None = None,
        ids: Iterable[str] | None = None,
    ) -> ProbeSet:
        """Return a new set restricted by category, kind, id, and count per category and kind.

        ``per_category`` keeps the first probes of each (category, kind) pair in
        file order, so a small run is the same on every machine.
        """
        wanted_categories = set(categories) if categories is not None else None
        wanted_kinds = set(kinds) if kinds is not None else None
        wanted_ids = set(ids) if ids is not None else None
        if per_category is not None and per_category < 1:
            raise PsyvalError(f"per_category={per_category!r} is invalid; give a positive count or None")
        counts: dict[tuple[str, str], int] = {}
        kept: list[Probe] = []
        for probe in self.probes:
            if wanted_categories is not None and probe.category not in wanted_categories:
                continue
            if wanted_kinds is not None and probe.kind not in wanted_kinds:
                continue
            if wanted_ids is not None and probe.id not in wanted_ids:
                continue
            key = (probe.category, probe.kind)
            if per_category is not None and counts.get(key, 0) >= per_category:
                continue
            counts[key] = counts.get(key, 0) + 1
            kept.append(probe)
        return ProbeSet(self.name, kept, self.path, dict(self.metadata))

    def to_frame(self) -> Any:
        """Return the probes as a pandas DataFrame, one row per probe."""
        import pandas as pd

        columns = list(REQUIRED_FIELDS + OPTIONAL_FIELDS)
        return pd.DataFrame([probe.as_dict() for probe in self.probes], columns=columns)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):  # an empty cell read by pandas
        return ""
    return str(value).strip()


def make_probe(record: Mapping[str, Any], where: str, defaults: Mapping[str, Any] | None = None) -> Probe:
    """Build one probe from a record and check it.

    ``where`` names the file and row (``"probes.csv, row 4"``) for error messages.

    Raises
    ------
    PsyvalError
        For a missing column, an empty id or prompt, an unknown category or kind.
    """
    defaults = defaults or {}
    for name in REQUIRED_FIELDS:
        if name not in record:
            raise PsyvalError(
                f"{where}: missing column {name!r}; every probe needs {', '.join(REQUIRED_FIELDS)}"
            )
    probe_id = _text(record["id"])
    prompt = _text(record["prompt"])
    category = _text(record["category"])
    if not probe_id:
        raise PsyvalError(f"{where}: empty probe id; give every probe a unique id")
    if not prompt:
        raise PsyvalError(f"{where}: probe {probe_id!r} has an empty prompt")
    if category not in VALID_CATEGORIES:
        raise PsyvalError(
            f"{where}: probe {probe_id!r} has unknown category {category!r}; "
            f"use one of: {', '.join(sorted(VALID_CATEGORIES))}"
        )
    kind = _text(record.get("kind")) or _text(defaults.get("kind")) or "harmful"
    if kind not in PROBE_KINDS:
        raise PsyvalError(f"{where}: probe {probe_id!r} has unknown kind {kind!r}; use 'harmful' or 'benign'")
    return Probe(
        id=probe_id,
        prompt=prompt,
        category=category,
        subcategory=_text(record.get("subcategory")),
        source=_text(record.get("source")) or _text(defaults.get("source")),
        kind=kind,  # type: ignore[arg-type]
    )


def check_known_fields(record: Mapping[Any, Any], where: str) -> None:
    """Raise :class:`PsyvalError` for a field outside the probe format.

    A mistyped optional field (``subcategroy``) would otherwise be dropped
    without a trace. ``csv.DictReader`` stores the cells of a row longer than
    its header under the key ``None``, which gets its own message.
    """
    allowed = REQUIRED_FIELDS + OPTIONAL_FIELDS
    if None in record:
        raise PsyvalError(f"{where}: the row has more cells than the header has columns; remove the extra cells")
    for name in record:
        if name not in allowed:
            raise PsyvalError(f"{where}: unknown field {name!r}; use only {', '.join(allowed)}")


def check_unique_ids(probes: Sequence[Probe], wheres: Sequence[str]) -> None:
    """Raise :class:`PsyvalError` naming both rows when two probes share an id."""
    first_seen: dict[str, str] = {}
    for probe, where in zip(probes, wheres):
        if probe.id in first_seen:
            raise PsyvalError(
                f"{where}: duplicate probe id {probe.id!r} (first used at {first_seen[probe.id]}); ids must be unique"
            )
        first_seen[probe.id] = where


def _read_yaml(path: Path) -> tuple[list[tuple[dict[str, Any], str]], dict[str, Any]]:
    try:
        document = load_yaml(read_yaml_text(path, "probe set file"))
    except yaml.YAMLError as error:
        raise PsyvalError(f"{path}: invalid YAML: {describe_yaml_error(error)}; fix the syntax there") from error
    metadata: dict[str, Any] = {}
    if isinstance(document, Mapping):
        metadata = {key: value for key, value in document.items() if key != "probes"}
        records = document.get("probes")
        if records is None:
            raise PsyvalError(f"{path}: missing key 'probes'; a YAML probe set is a list or has a 'probes' list")
    elif document is None:
        raise PsyvalError(f"{path}: the file is empty; give a list of probe records or a mapping with a 'probes' list")
    else:
        records = document
    if not isinstance(records, list):
        raise PsyvalError(f"{path}: 'probes' is {type(records).__name__}, expected a list of records")
    rows = []
    for number, record in enumerate(records, start=1):
        if not isinstance(record, Mapping):
            raise PsyvalError(f"{path}, probe {number}: expected a mapping with id, prompt and category")
        rows.append((dict(record), f"{path}, probe {number}"))
    return rows, metadata


def _read_csv(path: Path) -> list[tuple[dict[str, Any], str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        for name in REQUIRED_FIELDS:
            if name not in header:
                raise PsyvalError(
                    f"{path}, row 1 (header): missing column {name!r}; the header must include "
                    f"{', '.join(REQUIRED_FIELDS)}"
                )
        check_known_fields(dict.fromkeys(header), f"{path}, row 1 (header)")
        # Row numbers count the header as row 1, as a spreadsheet shows them.
        return [(dict(record), f"{path}, row {number}") for number, record in enumerate(reader, start=2)]


def _read_jsonl(path: Path) -> list[tuple[dict[str, Any], str]]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise PsyvalError(f"{path}, line {number}: invalid JSON ({error.msg})") from error
            if not isinstance(record, dict):
                raise PsyvalError(f"{path}, line {number}: expected a JSON object with id, prompt and category")
            rows.append((record, f"{path}, line {number}"))
    return rows


def read_probe_file(path: str | Path) -> ProbeSet:
    """Read and validate a probe set in psyval's own format (YAML, CSV or JSONL).

    Raises
    ------
    PsyvalError
        If the file is missing, its suffix is not .yaml/.yml/.csv/.jsonl, or a
        record fails validation or has a field outside the format. The
        message names the file and row.
    """
    path = Path(path)
    if not path.is_file():
        raise PsyvalError(f"probe file {str(path)!r} not found")
    file_format = SUFFIXES.get(path.suffix.lower())
    if file_format is None:
        raise PsyvalError(
            f"{path}: unrecognised probe file format {path.suffix!r}; use {', '.join(sorted(SUFFIXES))}"
        )
    metadata: dict[str, Any] = {}
    if file_format == "yaml":
        rows, metadata = _read_yaml(path)
    elif file_format == "csv":
        rows = _read_csv(path)
    else:
        rows = _read_jsonl(path)
    if not rows:
        raise PsyvalError(f"{path}: contains no probes")
    for record, where in rows:
        check_known_fields(record, where)
    probes = [make_probe(record, where, metadata) for record, where in rows]
    check_unique_ids(probes, [where for _, where in rows])
    name = _text(metadata.get("name")) or path.stem
    return ProbeSet(name=name, probes=probes, path=str(path), metadata=metadata)


def write_probe_file(probe_set: ProbeSet, path: str | Path) -> Path:
    """Write ``probe_set`` in the format its suffix names (for converted public sets)."""
    path = Path(path)
    file_format = SUFFIXES.get(path.suffix.lower())
    records = [probe.as_dict() for probe in probe_set.probes]
    if file_format == "yaml":
        path.write_text(yaml.safe_dump({"name": probe_set.name, "probes": records}, sort_keys=False), encoding="utf-8")
    elif file_format == "csv":
        probe_set.to_frame().to_csv(path, index=False)
    elif file_format == "jsonl":
        with path.open("w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    else:
        raise PsyvalError(f"{path}: unrecognised probe file format {path.suffix!r}; use {', '.join(sorted(SUFFIXES))}")
    return path
