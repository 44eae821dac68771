"""The reproducibility section: manifests, software versions and file checksums."""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

MAX_CELL = 300
PACKAGES: tuple[str, ...] = ("psyval", "numpy", "pandas", "scipy", "statsmodels", "semopy", "matplotlib", "torch",
                             "transformers")


def flatten(node: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Flatten nested dicts and lists into (dotted key, text) rows, long texts shortened."""
    rows: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for key, child in node.items():
            rows += flatten(child, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(node, list) and any(isinstance(child, (dict, list)) for child in node):
        for index, child in enumerate(node):
            rows += flatten(child, f"{prefix}[{index}]")
    else:
        text = json.dumps(node, ensure_ascii=False) if isinstance(node, list) else str(node)
        if len(text) > MAX_CELL:
            text = text[:MAX_CELL] + f"... ({len(text)} characters)"
        rows.append((prefix, text))
    return rows


def manifest_table(manifest: dict[str, Any]) -> pd.DataFrame:
    """Return one manifest as a two-column table (Setting, Value)."""
    return pd.DataFrame(flatten(manifest), columns=["Setting", "Value"])


def sha256(path: Path) -> str:
    """Return the SHA-256 hex digest of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def environment_table() -> pd.DataFrame:
    """Return the Python version and the versions of the packages the analysis used."""
    rows = [("python", platform.python_version()), ("platform", platform.platform())]
    for package in PACKAGES:
        try:
            rows.append((package, metadata.version(package)))
        except metadata.PackageNotFoundError:
            rows.append((package, "not installed"))
    return pd.DataFrame(rows, columns=["Component", "Version"])


def files_table(folder: Path, names: list[str]) -> pd.DataFrame:
    """Return the SHA-256 of each named file of ``folder`` that exists."""
    rows = [(name, sha256(folder / name)) for name in names if (folder / name).is_file()]
    return pd.DataFrame(rows, columns=["File", "SHA-256"])
