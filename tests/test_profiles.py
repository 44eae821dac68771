"""Preset and file profiles and their system prompts."""

from __future__ import annotations

import pytest

from psyval.errors import PsyvalError
from psyval.instruments.values import BASIC_VALUES
from psyval.profiles import PRESETS, load_profile


def test_fourteen_presets():
    assert len(PRESETS) == 14
    assert set(BASIC_VALUES) < set(PRESETS)


def test_basic_preset_is_extreme():
    profile = load_profile("power")
    assert profile.values["power"] == 6
    assert all(profile.values[v] == 1 for v in BASIC_VALUES if v != "power")


def test_higher_order_preset_raises_group():
    profile = load_profile("self_transcendence")
    high = {v for v, s in profile.values.items() if s == 6}
    assert high == {"benevolence", "universalism"}


def test_system_prompt_lists_every_value():
    text = load_profile("tradition").system_prompt()
    assert "Tradition (" in text
    assert text.count("\n- ") == 10
    assert "6 of 6" in text


def test_unknown_preset_rejected():
    with pytest.raises(PsyvalError, match="unknown profile 'greed'"):
        load_profile("greed")


def _write(tmp_path, body):  # type: ignore[no-untyped-def]
    path = tmp_path / "p.yaml"
    path.write_text(body)
    return path


VALUES_7 = "\n".join(f"  {v}: {i % 7 + 1}" for i, v in enumerate(BASIC_VALUES))


def test_file_profile_rescaled(tmp_path):  # type: ignore[no-untyped-def]
    path = _write(tmp_path, f"scale: {{min: 1, max: 7, direction: higher_is_more_important}}\nvalues:\n{VALUES_7}\n")
    profile = load_profile(path)
    # 1..7 maps to 1..6 linearly: 7 -> 6, 1 -> 1, 4 -> 3.5.
    assert profile.values["self_direction"] == 1.0
    assert profile.values["tradition"] == 1.0  # index 7 -> 7 % 7 + 1 = 1
    assert profile.values["conformity"] == 6.0  # index 6 -> 7
    assert profile.values["achievement"] == pytest.approx(3.5)


def test_file_profile_reversed_direction(tmp_path):  # type: ignore[no-untyped-def]
    path = _write(tmp_path, f"scale: {{min: 1, max: 7, direction: lower_is_more_important}}\nvalues:\n{VALUES_7}\n")
    profile = load_profile(path)
    assert profile.values["self_direction"] == 6.0
    assert profile.values["conformity"] == 1.0


def test_undeclared_direction_rejected(tmp_path):  # type: ignore[no-untyped-def]
    path = _write(tmp_path, f"scale: {{min: 1, max: 7}}\nvalues:\n{VALUES_7}\n")
    with pytest.raises(PsyvalError, match="scale.direction is missing; declare one of"):
        load_profile(path)


def test_missing_scale_bound_rejected(tmp_path):  # type: ignore[no-untyped-def]
    path = _write(tmp_path, f"scale: {{max: 7, direction: higher_is_more_important}}\nvalues:\n{VALUES_7}\n")
    with pytest.raises(PsyvalError) as caught:
        load_profile(path)
    assert "scale.min is missing or empty; give a number" in str(caught.value)
    assert "None" not in str(caught.value)


def test_out_of_range_rejected(tmp_path):  # type: ignore[no-untyped-def]
    body = VALUES_7.replace("self_direction: 1", "self_direction: 9")
    path = _write(tmp_path, f"scale: {{min: 1, max: 7, direction: higher_is_more_important}}\nvalues:\n{body}\n")
    with pytest.raises(PsyvalError, match="values.self_direction = 9 is outside"):
        load_profile(path)


def test_missing_value_rejected(tmp_path):  # type: ignore[no-untyped-def]
    body = "\n".join(VALUES_7.splitlines()[:-1])
    path = _write(tmp_path, f"scale: {{min: 1, max: 7, direction: higher_is_more_important}}\nvalues:\n{body}\n")
    with pytest.raises(PsyvalError) as caught:
        load_profile(path)
    message = str(caught.value)
    assert f"profile file {str(path)!r}" in message
    assert "missing universalism;" in message
    assert "[]" not in message
