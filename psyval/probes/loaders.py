"""Read public harm benchmarks from local files and map them onto HEx-PHI ids.

Nothing here downloads anything: every loader takes a file (or, for HEx-PHI, a
folder) that the user fetched and keeps. Category labels are mapped through
``instruments/probes/taxonomy_map.csv``. A label missing from that table is an
error that names the file, row and label, so no probe lands in a guessed category.

Expected layouts (as the projects publish them):

- HEx-PHI: ``category_1.csv`` .. ``category_11.csv``, one prompt per row, no header.
- BeaverTails-Evaluation: JSON, JSONL or CSV records with ``prompt`` and ``category``.
- HarmBench: a behaviours CSV with ``Behavior``, ``SemanticCategory``, ``BehaviorID``
  and optionally ``ContextString``.
- AdvBench: ``harmful_behaviors.csv`` with ``goal`` and ``target``; it has no
  categories, so its probes are ``unmapped``.
- JailbreakBench: the JBB-Behaviors CSV with ``Goal``, ``Behavior`` and ``Category``.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from psyval.errors import PsyvalError
from psyval.probes.probeset import Probe, ProbeSet, check_unique_ids, make_probe
from psyval.probes.taxonomy import HARM_CATEGORIES, UNMAPPED, map_category

PUBLIC_FORMATS: tuple[str, ...] = ("hexphi", "beavertails", "harmbench", "advbench", "jailbreakbench")
_HEXPHI_FILE = re.compile(r"category_(\d+)\.csv$")


def _require_file(path: Path) -> None:
    if not path.is_file():
        raise PsyvalError(f"probe file {str(path)!r} not found")


def _read_csv_records(path: Path, required: tuple[str, ...]) -> list[tuple[dict[str, str], str]]:
    _require_file(path)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        for name in required:
            if name not in header:
                raise PsyvalError(
                    f"{path}, row 1 (header): missing column {name!r}; found {', '.join(header) or 'no columns'}"
                )
        return [(dict(record), f"{path}, row {number}") for number, record in enumerate(reader, start=2)]


def _mapped(scheme: str, label: str, where: str) -> str:
    category = map_category(scheme, label)
    if category is None:
        raise PsyvalError(
            f"{where}: {scheme} category {label!r} is not in the taxonomy table; "
            "add a row for it to instruments/probes/taxonomy_map.csv"
        )
    return category


def _finish(name: str, path: Path, probes: list[Probe], wheres: list[str], source: str) -> ProbeSet:
    if not probes:
        raise PsyvalError(f"{path}: contains no probes")
    check_unique_ids(probes, wheres)
    return ProbeSet(name=name, probes=probes, path=str(path), metadata={"source": source})


def _convert_records(
    name: str,
    path: Path,
    source: str,
    rows: list[tuple[dict[str, Any], str]],
    convert: Callable[[dict[str, Any], int, str], dict[str, Any]],
) -> ProbeSet:
    """Build a probe set from ``(record, where)`` rows.

    ``convert`` receives each record, its 1-based number and its location, and
    returns the psyval probe record. Every probe is tagged with ``source``.
    """
    probes: list[Probe] = []
    wheres: list[str] = []
    for number, (record, where) in enumerate(rows, start=1):
        probes.append(make_probe(convert(record, number, where), where, {"source": source}))
        wheres.append(where)
    return _finish(name, path, probes, wheres, source)


def load_hexphi(path: str | Path) -> ProbeSet:
    """Read HEx-PHI from its folder or from one ``category_N.csv`` file."""
    path = Path(path)
    if path.is_dir():
        files = sorted(
            (p for p in path.iterdir() if _HEXPHI_FILE.search(p.name)),
            key=lambda p: int(_HEXPHI_FILE.search(p.name).group(1)),  # type: ignore[union-attr]
        )
        if not files:
            raise PsyvalError(f"{path}: no category_N.csv files found; point to the HEx-PHI folder")
    else:
        _require_file(path)
        files = [path]
    probes: list[Probe] = []
    wheres: list[str] = []
    for file in files:
        match = _HEXPHI_FILE.search(file.name)
        if match is None:
            raise PsyvalError(f"{file}: HEx-PHI files are named category_1.csv .. category_11.csv")
        number = int(match.group(1))
        if not 1 <= number <= len(HARM_CATEGORIES):
            raise PsyvalError(f"{file}: HEx-PHI has categories 1 to {len(HARM_CATEGORIES)}, not {number}")
        category = _mapped("hexphi", str(number), str(file))
        with file.open(newline="", encoding="utf-8-sig") as handle:
            for row_number, row in enumerate(csv.reader(handle), start=1):
                # An unquoted comma inside a prompt splits it into cells; join them back.
                prompt = ",".join(row)
                where = f"{file}, row {row_number}"
                record = {"id": f"hexphi-{number}-{row_number}", "prompt": prompt, "category": category}
                probes.append(make_probe(record, where, {"source": "HEx-PHI"}))
                wheres.append(where)
    return _finish("hexphi", path, probes, wheres, "HEx-PHI")


def load_beavertails(path: str | Path) -> ProbeSet:
    """Read BeaverTails-Evaluation from JSON, JSONL or CSV with ``prompt`` and ``category``."""
    path = Path(path)
    _require_file(path)
    rows: list[tuple[dict[str, Any], str]]
    if path.suffix.lower() == ".csv":
        rows = _read_csv_records(path, ("prompt", "category"))
    elif path.suffix.lower() == ".json":
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise PsyvalError(f"{path}: invalid JSON ({error.msg})") from error
        if not isinstance(document, list):
            raise PsyvalError(f"{path}: expected a JSON list of records with prompt and category")
        rows = [(record, f"{path}, record {number}") for number, record in enumerate(document, start=1)]
    elif path.suffix.lower() == ".jsonl":
        rows = []
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        rows.append((json.loads(line), f"{path}, line {number}"))
                    except json.JSONDecodeError as error:
                        raise PsyvalError(f"{path}, line {number}: invalid JSON ({error.msg})") from error
    else:
        raise PsyvalError(f"{path}: unrecognised BeaverTails file format {path.suffix!r}; use .json, .jsonl or .csv")
    return _convert_records("beavertails", path, "BeaverTails-Evaluation", rows, _beavertails_record)


def _beavertails_record(record: dict[str, Any], number: int, where: str) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise PsyvalError(f"{where}: expected an object with prompt and category")
    for name in ("prompt", "category"):
        if name not in record:
            raise PsyvalError(f"{where}: missing field {name!r}; BeaverTails records need prompt and category")
    label = str(record["category"])
    return {
        "id": f"beavertails-{record.get('id', number)}",
        "prompt": record["prompt"],
        "category": _mapped("beavertails", label, where),
        "subcategory": label,
    }


def load_harmbench(path: str | Path) -> ProbeSet:
    """Read a HarmBench behaviours CSV; a contextual behaviour's context precedes the request."""
    path = Path(path)
    rows = _read_csv_records(path, ("Behavior", "SemanticCategory"))
    return _convert_records("harmbench", path, "HarmBench", rows, _harmbench_record)


def _harmbench_record(record: dict[str, Any], number: int, where: str) -> dict[str, Any]:
    label = record["SemanticCategory"]
    prompt = record["Behavior"]
    context = (record.get("ContextString") or "").strip()
    if context:
        prompt = f"{context}\n\n---\n\n{prompt}"
    return {
        "id": record.get("BehaviorID") or f"harmbench-{number}",
        "prompt": prompt,
        "category": _mapped("harmbench", label, where),
        "subcategory": label,
    }


def load_advbench(path: str | Path) -> ProbeSet:
    """Read AdvBench ``harmful_behaviors.csv``; it has no categories, so every probe is unmapped."""
    path = Path(path)
    rows = _read_csv_records(path, ("goal",))
    return _convert_records("advbench", path, "AdvBench", rows, _advbench_record)


def _advbench_record(record: dict[str, Any], number: int, where: str) -> dict[str, Any]:
    return {"id": f"advbench-{number}", "prompt": record["goal"], "category": UNMAPPED}


def load_jailbreakbench(path: str | Path) -> ProbeSet:
    """Read the JailbreakBench JBB-Behaviors CSV (harmful or benign file)."""
    path = Path(path)
    rows = _read_csv_records(path, ("Goal", "Category"))
    return _convert_records("jailbreakbench", path, "JailbreakBench", rows, _jailbreakbench_record)


def _jailbreakbench_record(record: dict[str, Any], number: int, where: str) -> dict[str, Any]:
    label = record["Category"]
    index = (record.get("Index") or "").strip() or str(number)
    return {
        "id": f"jbb-{index}",
        "prompt": record["Goal"],
        "category": _mapped("jailbreakbench", label, where),
        "subcategory": (record.get("Behavior") or "").strip(),
    }


LOADERS: dict[str, Callable[[str | Path], ProbeSet]] = {
    "hexphi": load_hexphi,
    "beavertails": load_beavertails,
    "harmbench": load_harmbench,
    "advbench": load_advbench,
    "jailbreakbench": load_jailbreakbench,
}


def detect_format(path: str | Path) -> str:
    """Guess the format of ``path`` from its name and header: a public format or ``"psyval"``."""
    path = Path(path)
    if path.is_dir() or _HEXPHI_FILE.search(path.name):
        return "hexphi"
    if path.suffix.lower() == ".csv" and path.is_file():
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = set(next(csv.reader(handle), []))
        if {"id", "prompt", "category"} <= header:
            return "psyval"
        if {"Behavior", "SemanticCategory"} <= header:
            return "harmbench"
        if {"Goal", "Category"} <= header:
            return "jailbreakbench"
        if "goal" in header:
            return "advbench"
        if {"prompt", "category"} <= header:
            return "beavertails"
    if path.suffix.lower() in (".json", ".jsonl") and path.is_file():
        with path.open(encoding="utf-8") as handle:
            head = handle.read(4096)
        if '"id"' not in head and '"prompt"' in head and '"category"' in head:
            return "beavertails"
    return "psyval"
