"""The study store: an SQLite file that keeps every finished result of a study.

Each result row (a survey item answer, a probe response, a judgment) is keyed
by :func:`result_key`, a SHA-256 hash of every setting that affects that
result. A rerun looks its keys up and computes only the missing rows, so:

* work that finished before an interruption is never done again;
* changing a setting (model, prompt, decoding, judge) gives the affected rows
  new keys, so exactly those rows are computed again. Rows under old keys stay
  in the file but no table reads them, because the join selects rows by the
  current keys.

Durability: the database runs in WAL mode with ``synchronous=FULL`` and every
row is committed in its own transaction as soon as it exists, so a ``kill -9``
or a power loss loses at most the unit of work in flight. SQLite documents
this guarantee for WAL with FULL sync (https://www.sqlite.org/pragma.html#pragma_synchronous).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger(__name__)

#: Bump when a table's layout changes; an older file is then rejected, not misread.
SCHEMA_VERSION = 1

Table = Literal["survey_answers", "probe_responses", "judgments"]
TABLES: tuple[Table, ...] = ("survey_answers", "probe_responses", "judgments")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    started TEXT NOT NULL,
    finished TEXT,
    status TEXT NOT NULL,
    study_fingerprint TEXT NOT NULL,
    manifest TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS survey_answers (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    profile TEXT NOT NULL,
    replicate INTEGER NOT NULL,
    item_id TEXT NOT NULL,
    record TEXT NOT NULL,
    run_id INTEGER NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS probe_responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    profile TEXT NOT NULL,
    safety_condition TEXT NOT NULL,
    replicate INTEGER NOT NULL,
    probe_id TEXT NOT NULL,
    category TEXT NOT NULL,
    response TEXT NOT NULL,
    record TEXT NOT NULL,
    run_id INTEGER NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS judgments (
    key TEXT PRIMARY KEY,
    response_key TEXT NOT NULL,
    judge TEXT NOT NULL,
    record TEXT NOT NULL,
    run_id INTEGER NOT NULL,
    created TEXT NOT NULL
);
"""


def result_key(kind: str, inputs: Mapping[str, Any]) -> str:
    """Return the SHA-256 hex digest of ``kind`` and every input of one result.

    ``inputs`` must hold everything that can change the result (model id and
    revision, the rendered prompt, decoding, seed, judge and judge model). It is
    serialised as canonical JSON (sorted keys, no whitespace), so the key does
    not depend on dict order.
    """
    text = json.dumps({"kind": kind, "inputs": inputs}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class StudyStore:
    """Open (or create) ``study.sqlite`` in a results folder.

    Parameters
    ----------
    path
        The database file. Its folder is created if missing.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: autocommit, so each write below opens and
        # commits its own explicit transaction.
        self.connection = sqlite3.connect(self.path, isolation_level=None)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=FULL")
        self.connection.executescript(_SCHEMA)
        self._check_schema_version()
        self.run_id: int | None = None

    def _check_schema_version(self) -> None:
        row = self.connection.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
        if row is None:
            self.connection.execute(
                "INSERT INTO meta (name, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
        elif int(row[0]) != SCHEMA_VERSION:
            from psyval.errors import PsyvalError

            raise PsyvalError(
                f"store {str(self.path)!r} has schema version {row[0]!r}, this psyval writes "
                f"{SCHEMA_VERSION}; use a new --out folder"
            )

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> StudyStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Runs ------------------------------------------------------------------

    def begin_run(self, study_fingerprint: str, manifest: Mapping[str, Any]) -> int:
        """Record the start of a run and return its id; rows it writes carry that id."""
        cursor = self.connection.execute(
            "INSERT INTO runs (started, status, study_fingerprint, manifest) VALUES (?, 'running', ?, ?)",
            (_now(), study_fingerprint, json.dumps(manifest, sort_keys=True, default=str)),
        )
        self.run_id = int(cursor.lastrowid or 0)
        return self.run_id

    def finish_run(self, status: str = "finished") -> None:
        if self.run_id is None:
            return
        self.connection.execute(
            "UPDATE runs SET finished = ?, status = ? WHERE run_id = ?", (_now(), status, self.run_id)
        )

    def runs(self) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            "SELECT run_id, started, finished, status, study_fingerprint FROM runs ORDER BY run_id"
        ).fetchall()
        return [dict(zip(("run_id", "started", "finished", "status", "study_fingerprint"), row)) for row in rows]

    # Results ---------------------------------------------------------------

    def existing_keys(self, table: Table, keys: Iterable[str]) -> set[str]:
        """Return the subset of ``keys`` that already have a row in ``table``."""
        self._check_table(table)
        keys = list(keys)
        found: set[str] = set()
        # SQLite limits the number of bound parameters, so look keys up in chunks.
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            placeholders = ",".join("?" * len(chunk))
            rows = self.connection.execute(f"SELECT key FROM {table} WHERE key IN ({placeholders})", chunk)
            found.update(row[0] for row in rows)
        return found

    def put(self, table: Table, key: str, columns: Mapping[str, Any], record: Mapping[str, Any]) -> None:
        """Insert one result row and commit it at once.

        ``columns`` fills the table's descriptive columns; ``record`` is the full
        result, stored as JSON. A row whose key exists is left unchanged, so two
        runs racing on one key keep the first result.
        """
        self._check_table(table)
        names = ["key", *columns, "record", "run_id", "created"]
        values = [
            key,
            *columns.values(),
            json.dumps(record, sort_keys=True, default=str),
            self.run_id or 0,
            _now(),
        ]
        placeholders = ",".join("?" * len(names))
        with self._transaction():
            self.connection.execute(
                f"INSERT OR IGNORE INTO {table} ({','.join(names)}) VALUES ({placeholders})", values
            )

    def records(self, table: Table, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Return key -> stored record for every key in ``keys`` that has a row."""
        self._check_table(table)
        keys = list(keys)
        result: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            placeholders = ",".join("?" * len(chunk))
            rows = self.connection.execute(f"SELECT key, record FROM {table} WHERE key IN ({placeholders})", chunk)
            for key, record in rows:
                result[key] = json.loads(record)
        return result

    def count(self, table: Table) -> int:
        self._check_table(table)
        return int(self.connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    def _transaction(self) -> _Transaction:
        return _Transaction(self.connection)

    @staticmethod
    def _check_table(table: str) -> None:
        # Table names are interpolated into SQL, so only the fixed names pass.
        if table not in TABLES:
            raise ValueError(f"unknown store table {table!r}; choose one of {', '.join(TABLES)}")


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back when the block raises."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def __enter__(self) -> None:
        self.connection.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None:
            self.connection.execute("COMMIT")
        else:
            self.connection.execute("ROLLBACK")
