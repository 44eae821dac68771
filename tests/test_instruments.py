"""Instrument files: the bundled questionnaires and validation of malformed files."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from psyval.errors import PsyvalError
from psyval.instruments import bundled_instruments, load_instrument, read_instrument
from psyval.instruments.values import BASIC_VALUES, HIGHER_ORDER_VALUES, REFINED_VALUES

PVQ40_COUNTS = {
    "self_direction": 4, "stimulation": 3, "hedonism": 3, "achievement": 4, "power": 3,
    "security": 5, "conformity": 4, "tradition": 4, "benevolence": 4, "universalism": 6,
}


def test_bundled_names():
    assert {"pvq-40-style", "pvq-rr-style"} <= set(bundled_instruments())


def test_pvq40_item_distribution():
    instrument = load_instrument("pvq-40-style")
    assert len(instrument.items) == 40
    assert Counter(item.value for item in instrument.items) == PVQ40_COUNTS
    assert instrument.scale.points == 6
    assert instrument.scale.labels[0] == "Not like me at all"
    assert instrument.scale.labels[-1] == "Very much like me"


def test_pvqrr_three_items_per_refined_value():
    instrument = load_instrument("pvq-rr-style")
    assert len(instrument.items) == 57
    assert Counter(item.value for item in instrument.items) == {v: 3 for v in REFINED_VALUES}
    assert set(instrument.refined_to_basic.values()) == set(BASIC_VALUES)
    assert set(instrument.basic_to_higher.values()) == set(HIGHER_ORDER_VALUES)


@pytest.mark.parametrize("name", ["pvq-40-style", "pvq-rr-style"])
def test_portraits_are_gender_neutral(name):  # type: ignore[no-untyped-def]
    for item in load_instrument(name).items:
        words = set(item.text.lower().replace(".", " ").replace(",", " ").split())
        assert not words & {"he", "she", "him", "her", "his", "hers"}, item.id


def _base() -> dict:
    return yaml.safe_load(Path(load_instrument("pvq-40-style").path).read_text())


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _error(tmp_path: Path, data: dict) -> str:
    with pytest.raises(PsyvalError) as info:
        read_instrument(_write(tmp_path, data))
    message = str(info.value)
    assert "\n" not in message
    assert "bad.yaml" in message
    return message


def test_duplicate_id_rejected(tmp_path):  # type: ignore[no-untyped-def]
    data = _base()
    data["items"][1]["id"] = data["items"][0]["id"]
    message = _error(tmp_path, data)
    assert f"item {data['items'][0]['id']!r} field 'id': duplicate id" in message


def test_unknown_value_key_rejected(tmp_path):  # type: ignore[no-untyped-def]
    data = _base()
    data["items"][2]["value"] = "greed"
    message = _error(tmp_path, data)
    assert f"item {data['items'][2]['id']!r} field 'value': unknown value key 'greed'" in message


def test_scale_without_labels_rejected(tmp_path):  # type: ignore[no-untyped-def]
    data = _base()
    del data["scale"]["labels"]
    assert "field 'scale.labels': the scale has no labels" in _error(tmp_path, data)


def test_empty_text_rejected(tmp_path):  # type: ignore[no-untyped-def]
    data = _base()
    data["items"][3]["text"] = "  "
    assert f"item {data['items'][3]['id']!r} field 'text': empty text" in _error(tmp_path, data)


def test_value_without_items_rejected(tmp_path):  # type: ignore[no-untyped-def]
    data = _base()
    data["items"] = [item for item in data["items"] if item["value"] != "hedonism"]
    assert "value 'hedonism': has no items" in _error(tmp_path, data)


def test_invalid_items_not_reported_as_missing(tmp_path):  # type: ignore[no-untyped-def]
    # Every power item is invalid, so the value keeps no item, but the
    # error must point at the items and not claim that power has none.
    data = _base()
    for item in data["items"]:
        if item["value"] == "power":
            item["reverse"] = "yes"
    message = _error(tmp_path, data)
    assert "field 'reverse': 'yes' is not true or false" in message
    assert "has no items" not in message


def test_undeclared_direction_rejected(tmp_path):  # type: ignore[no-untyped-def]
    data = _base()
    del data["scale"]["direction"]
    assert "field 'scale.direction': missing; declare one of" in _error(tmp_path, data)


def test_missing_fields_named_in_words(tmp_path):  # type: ignore[no-untyped-def]
    data = _base()
    del data["scale"]["points"]
    del data["items"][0]["value"]
    data["items"][1] = None
    message = _error(tmp_path, data)
    assert "field 'scale.points': missing; give the number of scale points" in message
    assert f"item {data['items'][0]['id']!r} field 'value': missing; use one of" in message
    assert "item #2: empty entry" in message
    assert "None" not in message


def test_label_count_must_match_points(tmp_path):  # type: ignore[no-untyped-def]
    data = _base()
    data["scale"]["labels"] = data["scale"]["labels"][:5]
    assert "5 labels for 6 points" in _error(tmp_path, data)


def test_reverse_must_be_boolean(tmp_path):  # type: ignore[no-untyped-def]
    data = _base()
    data["items"][0]["reverse"] = "yes"
    assert "field 'reverse': 'yes' is not true or false" in _error(tmp_path, data)


def test_not_yaml_rejected(tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.yaml"
    path.write_text("id: [unclosed\n")
    with pytest.raises(PsyvalError, match="not valid UTF-8 YAML"):
        read_instrument(path)


def test_unknown_name_lists_bundled():
    with pytest.raises(PsyvalError, match="instrument 'pvq-99' not found; .*pvq-40-style"):
        load_instrument("pvq-99")


def test_reverse_and_lower_direction_parsed(tmp_path):  # type: ignore[no-untyped-def]
    data = _base()
    data["items"][0]["reverse"] = True
    data["scale"]["direction"] = "lower_is_more_like_me"
    instrument = read_instrument(_write(tmp_path, data))
    assert instrument.items[0].reverse is True
    assert instrument.scale.to_like_me(1) == 6


@pytest.mark.parametrize(
    ("field", "template", "brace"),
    [
        ("item", "{instructions} {scale} {text} {", "{"),
        ("item", "{instructions} {scale} {text} }", "}"),
        ("scale_line", "{number} = {label", "{"),
    ],
)
def test_unbalanced_brace_rejected(tmp_path, field, template, brace):  # type: ignore[no-untyped-def]
    data = _base()
    data["prompts"][field] = template
    message = _error(tmp_path, data)
    assert f"field 'prompts.{field}': unbalanced {brace!r}; write {brace * 2!r} for a literal brace" in message


def test_unknown_higher_order_value_rejected(tmp_path):  # type: ignore[no-untyped-def]
    data = _base()
    data["values"]["higher_order"]["power"] = "nonsense_higher"
    message = _error(tmp_path, data)
    assert "field 'values.higher_order.power': unknown higher-order value 'nonsense_higher'" in message
    assert "openness_to_change, self_enhancement, conservation, self_transcendence" in message
    assert "more:" not in message
