"""The shared YAML loader: unique mapping keys and one-line error messages with positions."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from psyval.errors import PsyvalError
from psyval.yaml_input import describe_yaml_error, load_yaml, read_yaml_text


def _error_for(text: str) -> str:
    with pytest.raises(yaml.YAMLError) as caught:
        load_yaml(text)
    return describe_yaml_error(caught.value)


def test_duplicate_key_rejected():
    message = _error_for("seed: 0\nname: x\nseed: 1\n")
    assert message.startswith("found duplicate key 'seed' (first on line 1) at line 3, column 1")


def test_duplicate_key_in_nested_mapping_rejected():
    message = _error_for("decoding:\n  top_p: 0.9\n  top_p: 0.5\n")
    assert "found duplicate key 'top_p' (first on line 2) at line 3, column 3" in message


def test_merge_key_override_accepted():
    # A key written next to a '<<' merge overrides the merged one, as YAML's merge key type allows.
    document = load_yaml("base: &base {seed: 0}\nstudy:\n  <<: *base\n  seed: 1\n")
    assert document["study"] == {"seed": 1}


def test_syntax_error_names_position_and_problem():
    message = _error_for("name: [unclosed\n")
    assert message == (
        "expected ',' or ']', but got '<stream end>' at line 2, column 1 "
        "(while parsing a flow sequence that starts at line 1, column 7)"
    )


def test_only_safe_types_loaded():
    with pytest.raises(yaml.YAMLError):
        load_yaml("!!python/object/apply:os.system ['true']\n")


def test_message_is_one_line():
    assert "\n" not in _error_for("a: b: c\n")


def test_non_utf8_file_named_with_byte_and_position(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: x\ndescription: caf\u00e9\n".encode("latin-1"))
    with pytest.raises(PsyvalError) as caught:
        read_yaml_text(path, "study file")
    assert str(caught.value) == (
        f"study file {str(path)!r} is not UTF-8 text: byte 0xe9 at line 2, column 17 cannot be decoded; "
        "save it as UTF-8"
    )

