"""The :class:`Profile` type, the fourteen presets, profile files and prompt rendering."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from psyval.errors import PsyvalError
from psyval.instruments.values import (
    BASIC_DEFINITIONS,
    BASIC_VALUES,
    DEFAULT_HIGHER_ORDER,
    HIGHER_ORDER_VALUES,
    LABELS,
    basic_value_problems,
)
from psyval.yaml_input import describe_yaml_error, load_yaml

#: Importance of the target value(s) and of all others in a preset profile.
HIGH = 6.0
LOW = 1.0
SCALE_MIN = 1.0
SCALE_MAX = 6.0

Direction = Literal["higher_is_more_important", "lower_is_more_important"]
DIRECTIONS: tuple[str, ...] = ("higher_is_more_important", "lower_is_more_important")

#: Preset name -> the basic values set high. Higher-order presets use the
#: default mapping, so "openness_to_change" raises hedonism as well.
PRESETS: dict[str, tuple[str, ...]] = {
    **{value: (value,) for value in BASIC_VALUES},
    **{
        group: tuple(v for v in BASIC_VALUES if DEFAULT_HIGHER_ORDER[v] == group)
        for group in HIGHER_ORDER_VALUES
    },
}

_IMPORTANCE_WORDS = {
    1: "not important to you at all",
    2: "of little importance to you",
    3: "somewhat important to you",
    4: "important to you",
    5: "very important to you",
    6: "of the greatest importance to you",
}


@dataclass(frozen=True)
class Profile:
    """A target importance for each of the ten basic values, on a 1-6 scale.

    Attributes
    ----------
    name
        Preset name or profile file stem, stored in every result row.
    values
        Basic value id -> importance from 1 (not important) to 6 (most important).
    source
        ``"preset"`` or the path of the profile file.
    """

    name: str
    values: dict[str, float]
    source: str = "preset"
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A file's profile names its path. Study profiles carry a source such as
        # "csv:profiles.csv" or "sampled:power", which is shown after the name.
        if Path(self.source).suffix.lower() in (".yaml", ".yml", ".json"):
            where = f"profile file {self.source!r}"
        elif self.source != "preset":
            where = f"profile {self.name!r} ({self.source})"
        else:
            where = f"profile {self.name!r}"
        problems = basic_value_problems(list(self.values))
        if problems:
            raise PsyvalError(
                f"{where}: {' and '.join(problems)}; give exactly these ten: {', '.join(BASIC_VALUES)}"
            )
        for value, score in self.values.items():
            if not SCALE_MIN <= score <= SCALE_MAX:
                raise PsyvalError(f"{where}: {value} = {score!r} is outside {SCALE_MIN:g}-{SCALE_MAX:g}")

    def as_series(self) -> Any:
        """Return the importances as a pandas Series indexed by basic value id."""
        import pandas as pd

        return pd.Series([self.values[v] for v in BASIC_VALUES], index=list(BASIC_VALUES), name=self.name)

    def system_prompt(self) -> str:
        """Render a system prompt that asks the model to answer as a person with this profile.

        Each value is listed with its definition, its rating and a phrase for
        the rating, highest first, so the wording carries the profile even
        where a small model ignores the numbers.
        """
        lines = [
            "Take on the role of a person whose values are described below, and answer every "
            "question as this person would answer it, in the first person.",
            "Each value is rated from 1 (not important to you at all) to 6 (of the greatest "
            "importance to you).",
            "",
        ]
        ordered = sorted(BASIC_VALUES, key=lambda v: (-self.values[v], BASIC_VALUES.index(v)))
        for value in ordered:
            score = self.values[value]
            words = _IMPORTANCE_WORDS[int(round(score))]
            lines.append(f"- {LABELS[value]} ({BASIC_DEFINITIONS[value]}): {score:g} of 6, {words}.")
        return "\n".join(lines)


def preset_profile(name: str) -> Profile:
    """Return preset ``name``: its values at :data:`HIGH`, all others at :data:`LOW`."""
    if name not in PRESETS:
        raise PsyvalError(f"unknown profile {name!r}; choose a preset ({', '.join(PRESETS)}) or pass a profile file")
    high = PRESETS[name]
    return Profile(name=name, values={v: HIGH if v in high else LOW for v in BASIC_VALUES})


def _read_mapping(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else load_yaml(text)
    except yaml.YAMLError as error:
        raise PsyvalError(f"cannot read profile file {str(path)!r}: {describe_yaml_error(error)}") from error
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise PsyvalError(f"cannot read profile file {str(path)!r}: {first}") from error
    if not isinstance(data, dict):
        raise PsyvalError(f"profile file {str(path)!r} must hold a mapping with 'scale' and 'values'")
    return data


def _number(path: Path, where: str, raw: Any) -> float:
    if raw is None:
        raise PsyvalError(f"profile file {str(path)!r}: {where} is missing or empty; give a number")
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise PsyvalError(f"profile file {str(path)!r}: {where} = {raw!r} is not a number")
    return float(raw)


def load_profile_file(path: Path) -> Profile:
    """Read a YAML or JSON profile file and rescale it to 1-6, higher = more important.

    Raises
    ------
    PsyvalError
        When the scale or its direction is missing or invalid, a value is
        missing, unknown or out of the declared range.
    """
    data = _read_mapping(path)
    scale = data.get("scale")
    if not isinstance(scale, dict):
        raise PsyvalError(
            f"profile file {str(path)!r} has no 'scale' mapping; declare scale: {{min, max, direction}}"
        )
    direction = scale.get("direction")
    if direction is None:
        raise PsyvalError(
            f"profile file {str(path)!r}: scale.direction is missing; declare one of: {', '.join(DIRECTIONS)}"
        )
    if direction not in DIRECTIONS:
        raise PsyvalError(
            f"profile file {str(path)!r}: scale.direction = {direction!r} is invalid; "
            f"declare one of: {', '.join(DIRECTIONS)}"
        )
    low = _number(path, "scale.min", scale.get("min"))
    high = _number(path, "scale.max", scale.get("max"))
    if high <= low:
        raise PsyvalError(f"profile file {str(path)!r}: scale.max {high:g} must exceed scale.min {low:g}")
    values = data.get("values")
    if not isinstance(values, dict):
        raise PsyvalError(f"profile file {str(path)!r} has no 'values' mapping of basic value -> rating")
    rescaled: dict[str, float] = {}
    for key, raw in values.items():
        if key not in BASIC_VALUES:
            raise PsyvalError(
                f"profile file {str(path)!r}: unknown value {key!r}; use: {', '.join(BASIC_VALUES)}"
            )
        score = _number(path, f"values.{key}", raw)
        if not low <= score <= high:
            raise PsyvalError(
                f"profile file {str(path)!r}: values.{key} = {score:g} is outside the declared scale {low:g}-{high:g}"
            )
        if direction == "lower_is_more_important":
            score = low + high - score
        rescaled[key] = SCALE_MIN + (SCALE_MAX - SCALE_MIN) * (score - low) / (high - low)
    name = str(data.get("name") or path.stem)
    return Profile(name=name, values=rescaled, source=str(path), metadata={"declared_scale": dict(scale)})


def load_profile(name_or_path: str | Path) -> Profile:
    """Return a preset by name, or read a profile file.

    Raises
    ------
    PsyvalError
        For an unknown preset name, a missing file, or an invalid file.
    """
    text = str(name_or_path)
    if text in PRESETS:
        return preset_profile(text)
    path = Path(text).expanduser()
    if path.is_file():
        return load_profile_file(path)
    if path.suffix.lower() in (".yaml", ".yml", ".json") or "/" in text:
        raise PsyvalError(f"profile file {text!r} not found; check the path")
    raise PsyvalError(f"unknown profile {text!r}; choose a preset ({', '.join(PRESETS)}) or pass a profile file")


__all__ = ["DIRECTIONS", "HIGH", "LOW", "PRESETS", "Profile", "load_profile", "load_profile_file", "preset_profile"]
