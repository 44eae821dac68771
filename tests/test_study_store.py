"""The SQLite study store: keys, idempotent writes and durability settings."""

from __future__ import annotations

import sqlite3

import pytest

from psyval.errors import PsyvalError
from psyval.study.store import StudyStore, result_key


def test_result_key_ignores_dict_order():
    assert result_key("x", {"a": 1, "b": {"c": 2, "d": 3}}) == result_key("x", {"b": {"d": 3, "c": 2}, "a": 1})


def test_result_key_changes_with_any_input():
    base = {"model": "m", "prompt": "p", "decoding": {"seed": 0}}
    keys = {
        result_key("probe_response", base),
        result_key("probe_response", {**base, "prompt": "p2"}),
        result_key("probe_response", {**base, "decoding": {"seed": 1}}),
        result_key("judgment", base),
    }
    assert len(keys) == 4


def test_put_then_lookup(tmp_path):
    with StudyStore(tmp_path / "study.sqlite") as store:
        store.begin_run("abc", {})
        store.put(
            "judgments", "k1", {"response_key": "r1", "judge": "harm"}, {"score": 3.0, "status": "ok"}
        )
        assert store.existing_keys("judgments", ["k1", "k2"]) == {"k1"}
        assert store.records("judgments", ["k1"]) == {"k1": {"score": 3.0, "status": "ok"}}


def test_put_keeps_first_row_for_a_key(tmp_path):
    with StudyStore(tmp_path / "study.sqlite") as store:
        store.put("judgments", "k1", {"response_key": "r", "judge": "harm"}, {"score": 1})
        store.put("judgments", "k1", {"response_key": "r", "judge": "harm"}, {"score": 5})
        assert store.records("judgments", ["k1"])["k1"]["score"] == 1
        assert store.count("judgments") == 1


def test_rows_visible_to_a_second_connection_at_once(tmp_path):
    # Each put commits, so another connection reads the row before the store is closed.
    path = tmp_path / "study.sqlite"
    store = StudyStore(path)
    store.put("judgments", "k1", {"response_key": "r", "judge": "harm"}, {"score": 2})
    other = sqlite3.connect(path)
    assert other.execute("SELECT COUNT(*) FROM judgments").fetchone()[0] == 1
    other.close()
    store.close()


def test_store_uses_wal_and_full_sync(tmp_path):
    with StudyStore(tmp_path / "study.sqlite") as store:
        assert store.connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        # 2 = FULL
        assert store.connection.execute("PRAGMA synchronous").fetchone()[0] == 2


def test_many_keys_looked_up_in_chunks(tmp_path):
    with StudyStore(tmp_path / "study.sqlite") as store:
        for index in range(1200):
            store.put("judgments", f"k{index}", {"response_key": "r", "judge": "harm"}, {"i": index})
        keys = [f"k{index}" for index in range(0, 2400, 2)]
        assert len(store.existing_keys("judgments", keys)) == 600
        assert len(store.records("judgments", keys)) == 600


def test_unknown_table_rejected(tmp_path):
    with StudyStore(tmp_path / "study.sqlite") as store:
        with pytest.raises(ValueError, match="unknown store table"):
            store.existing_keys("answers; DROP TABLE runs", ["k"])  # type: ignore[arg-type]


def test_newer_schema_version_rejected(tmp_path):
    path = tmp_path / "study.sqlite"
    StudyStore(path).close()
    connection = sqlite3.connect(path)
    connection.execute("UPDATE meta SET value = '99' WHERE name = 'schema_version'")
    connection.commit()
    connection.close()
    with pytest.raises(PsyvalError, match="schema version '99'"):
        StudyStore(path)


def test_runs_recorded(tmp_path):
    with StudyStore(tmp_path / "study.sqlite") as store:
        store.begin_run("fp", {"x": 1})
        store.finish_run("finished")
        (run,) = store.runs()
        assert run["status"] == "finished"
        assert run["study_fingerprint"] == "fp"
