"""ResponseCache reading a damaged journal file."""

from __future__ import annotations

import json
import logging

from psyval.respondents.response_cache import ResponseCache


def test_non_utf8_line_skipped(tmp_path, caplog):  # type: ignore[no-untyped-def]
    path = tmp_path / "answers.jsonl"
    good = json.dumps({"key": "k1", "response": 3}).encode() + b"\n"
    path.write_bytes(good + b"\xff\xfe not text\n" + json.dumps({"key": "k2", "response": 4}).encode() + b"\n")
    with caplog.at_level(logging.WARNING):
        cache = ResponseCache(path)
    assert len(cache) == 2
    assert cache.get("k2") == 4
    assert "skipped 1 lines" in caplog.text
    assert "not valid UTF-8" in caplog.text
