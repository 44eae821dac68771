"""An append-only JSON Lines record of finished model calls, to resume interrupted runs.

The server backend stores each HTTP response under a hash of its request, and
the survey stores each finished answer under a hash of the model, the
rendered prompt and the answer settings. Both use :class:`ResponseCache`, so
a run that was killed reads back what it finished and computes only the rest.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from psyval.errors import PsyvalError

log = logging.getLogger(__name__)


class ResponseCache:
    """Finished requests and their responses, in memory and optionally in a JSON Lines file.

    Each :meth:`put` appends one line and closes the file, so a process killed
    at any moment loses at most the line it was writing. That torn line is
    skipped on load and its request is made again.

    The server backend keys a request by a hash of the endpoint and the
    request body, so the key covers the model name, prompt, seed and sampling
    settings but not the server's address: a restarted server on another port
    still hits the cache.
    """

    def __init__(self, path: Path | None) -> None:
        if path is not None:
            _check_cache_path(path)
        self.path = path
        self._entries: dict[str, Any] = {}
        self._lock = threading.Lock()
        #: Number of :meth:`get` calls that found a stored response.
        self.hits = 0
        if path is not None and path.is_file():
            self._load(path)

    @staticmethod
    def key(path: str, body: dict[str, Any]) -> str:
        """Return the SHA-256 hex digest of ``path`` and the JSON form of ``body``."""
        material = json.dumps({"path": path, "body": body}, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(material.encode()).hexdigest()

    def get(self, key: str) -> Any:
        """Return the stored response for ``key``, or None."""
        with self._lock:
            response = self._entries.get(key)
            if response is not None:
                self.hits += 1
            return response

    def put(self, key: str, response: Any) -> None:
        self.put_many([(key, response)])

    def put_many(self, entries: list[tuple[str, Any]]) -> None:
        """Store ``(key, response)`` pairs, appending them to the file and syncing it to disk."""
        lines = "".join(json.dumps({"key": key, "response": response}) + "\n" for key, response in entries)
        with self._lock:
            self._entries.update(entries)
            if self.path is None or not entries:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a+b") as handle:
                # A torn last line from a killed writer would swallow the
                # first new line, so it is closed with a newline first.
                handle.seek(0, os.SEEK_END)
                if handle.tell() > 0:
                    handle.seek(-1, os.SEEK_END)
                    if handle.read(1) != b"\n":
                        handle.write(b"\n")
                handle.write(lines.encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())

    def __len__(self) -> int:
        return len(self._entries)

    def _load(self, path: Path) -> None:
        skipped = 0
        undecodable = 0
        with path.open("rb") as handle:
            for raw in handle:
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    # The file was damaged or edited, so the line's request is sent again.
                    undecodable += 1
                    continue
                try:
                    entry = json.loads(line)
                    self._entries[entry["key"]] = entry["response"]
                except (json.JSONDecodeError, KeyError, TypeError):
                    # A line cut short by a crash is expected; its request is sent again.
                    skipped += 1
        if undecodable:
            log.warning("skipped %d lines of %s that are not valid UTF-8; their requests are sent again", undecodable, path)
        log.info(
            "read %d finished requests from %s (%d unreadable lines)", len(self._entries), path, skipped + undecodable
        )


def _check_cache_path(path: Path) -> None:
    """Reject a cache path that is a folder, before any work is done.

    The first append happens only after the first finished request, so a
    folder would otherwise fail mid-run.
    """
    if path.is_dir():
        raise PsyvalError(
            f"request cache {str(path)!r} is a folder; name a file inside it, "
            f"such as {str(path / 'requests.jsonl')!r}"
        )


__all__ = ["ResponseCache"]
