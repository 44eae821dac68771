"""Read and validate instrument YAML files.

Every problem is reported with the file, the item id (where there is one) and
the field, in one line, because the CLI prints :class:`PsyvalError` as one line.
All problems are collected first so a user can fix a file in one pass.
"""

from __future__ import annotations

import hashlib
import string
from pathlib import Path
from typing import Any

import yaml

from psyval import resources
from psyval.errors import PsyvalError
from psyval.instruments.schema import SCALE_DIRECTIONS, Instrument, Item, Prompts, Scale
from psyval.instruments.values import HIGHER_ORDER_VALUES
from psyval.yaml_input import describe_yaml_error, load_yaml

_REQUIRED_TEXT = ("id", "title", "version", "provenance", "licence")


class _Problems:
    """Collects validation problems of one file and raises them together."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.messages: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.messages.append(f"{where}: {message}")

    def raise_if_any(self) -> None:
        if not self.messages:
            return
        more = f" (and {len(self.messages) - 1} more: {'; '.join(self.messages[1:4])})" if len(self.messages) > 1 else ""
        raise PsyvalError(f"invalid instrument file {self.path!r}: {self.messages[0]}{more}")


def _template_fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _brace_problem(template: str) -> str | None:
    """Return why ``template`` is not a valid format string, or None when it is."""
    try:
        list(string.Formatter().parse(template))
    except ValueError as exc:
        # CPython reports a stray closing brace as "Single '}' encountered".
        # Its other messages here ("Single '{'", "expected '}' before end of
        # string") mean an opening brace is never closed.
        brace = "}" if "Single '}'" in str(exc) else "{"
        return f"unbalanced {brace!r}; write {brace * 2!r} for a literal brace"
    return None


def _parse_scale(raw: Any, problems: _Problems) -> Scale | None:
    if not isinstance(raw, dict):
        problems.add("field 'scale'", "missing; give points, labels and direction")
        return None
    points = raw.get("points")
    labels = raw.get("labels")
    direction = raw.get("direction")
    ok = True
    if points is None:
        problems.add("field 'scale.points'", "missing; give the number of scale points, at least 2")
        ok = False
    elif isinstance(points, bool) or not isinstance(points, int) or points < 2:
        problems.add("field 'scale.points'", f"{points!r} is not an integer of at least 2")
        ok = False
    if not isinstance(labels, list) or not labels:
        problems.add("field 'scale.labels'", "the scale has no labels; give one label per point")
        ok = False
    elif any(not isinstance(label, str) or not label.strip() for label in labels):
        problems.add("field 'scale.labels'", f"every label must be a non-empty string, got {labels!r}")
        ok = False
    elif ok and len(labels) != points:
        problems.add("field 'scale.labels'", f"{len(labels)} labels for {points} points; give one label per point")
        ok = False
    if direction is None:
        problems.add("field 'scale.direction'", f"missing; declare one of: {', '.join(SCALE_DIRECTIONS)}")
        ok = False
    elif direction not in SCALE_DIRECTIONS:
        problems.add(
            "field 'scale.direction'",
            f"{direction!r} is not declared; use one of: {', '.join(SCALE_DIRECTIONS)}",
        )
        ok = False
    if not ok:
        return None
    return Scale(points=points, labels=tuple(label.strip() for label in labels), direction=direction)


def _parse_hierarchy(raw: Any, problems: _Problems) -> tuple[dict[str, str], dict[str, str]]:
    if not isinstance(raw, dict) or not isinstance(raw.get("higher_order"), dict):
        problems.add("field 'values.higher_order'", "missing; map each basic value to its higher-order value")
        return {}, {}
    basic_to_higher: dict[str, str] = {}
    for basic, higher in raw["higher_order"].items():
        if higher is None:
            problems.add(f"field 'values.higher_order.{basic}'", "missing higher-order value; give its identifier")
            continue
        if not str(basic).isidentifier() or not isinstance(higher, str) or not higher.isidentifier():
            problems.add(f"field 'values.higher_order.{basic}'", f"{higher!r}: keys and values must be identifiers")
            continue
        if higher not in HIGHER_ORDER_VALUES:
            # Reports, profiles and plots know only Schwartz's four higher-order
            # values, and an instrument file has no field to declare others.
            problems.add(
                f"field 'values.higher_order.{basic}'",
                f"unknown higher-order value {higher!r}; use one of: {', '.join(HIGHER_ORDER_VALUES)}",
            )
        # Kept even when rejected, so that items of this basic value are not
        # reported again as having an unknown value key.
        basic_to_higher[str(basic)] = higher
    refined_to_basic: dict[str, str] = {}
    refined = raw.get("refined") or {}
    if not isinstance(refined, dict):
        problems.add("field 'values.refined'", "must map each refined value to its basic value")
        refined = {}
    for value, basic in refined.items():
        if basic not in basic_to_higher:
            problems.add(f"field 'values.refined.{value}'", f"unknown basic value {basic!r}")
            continue
        if not str(value).isidentifier():
            problems.add(f"field 'values.refined.{value}'", "the refined value key must be an identifier")
            continue
        refined_to_basic[str(value)] = basic
    return basic_to_higher, refined_to_basic


def _parse_items(raw: Any, value_keys: set[str], problems: _Problems) -> list[Item]:
    if not isinstance(raw, list) or not raw:
        problems.add("field 'items'", "missing or empty; give a list of items")
        return []
    items: list[Item] = []
    seen: set[str] = set()
    for position, entry in enumerate(raw, start=1):
        if entry is None:
            problems.add(f"item #{position}", "empty entry; give a mapping with id, text and value")
            continue
        if not isinstance(entry, dict):
            problems.add(f"item #{position}", f"{entry!r} is not a mapping with id, text and value")
            continue
        item_id = entry.get("id")
        where = f"item {item_id!r}" if item_id is not None else f"item #{position}"
        text = entry.get("text")
        value = entry.get("value")
        reverse = entry.get("reverse", False)
        unknown_fields = set(entry) - {"id", "text", "value", "reverse"}
        if unknown_fields:
            problems.add(f"{where} field {sorted(unknown_fields)[0]!r}", "unknown field; use id, text, value, reverse")
        if item_id is None:
            problems.add(f"{where} field 'id'", "missing; give an identifier (letters, digits, underscores)")
            continue
        if not isinstance(item_id, str) or not item_id.isidentifier():
            problems.add(f"{where} field 'id'", f"{item_id!r} is not an identifier (letters, digits, underscores)")
            continue
        if item_id in seen:
            problems.add(f"{where} field 'id'", "duplicate id; give every item its own id")
            continue
        seen.add(item_id)
        if not isinstance(text, str) or not text.strip():
            problems.add(f"{where} field 'text'", "empty text")
            continue
        if value is None:
            problems.add(f"{where} field 'value'", f"missing; use one of: {', '.join(sorted(value_keys))}")
            continue
        if value not in value_keys:
            problems.add(
                f"{where} field 'value'",
                f"unknown value key {value!r}; use one of: {', '.join(sorted(value_keys))}",
            )
            continue
        if not isinstance(reverse, bool):
            problems.add(f"{where} field 'reverse'", f"{reverse!r} is not true or false")
            continue
        items.append(Item(id=item_id, text=" ".join(text.split()), value=str(value), reverse=reverse))
    return items


def _parse_prompts(raw: Any, problems: _Problems) -> Prompts | None:
    if not isinstance(raw, dict):
        problems.add("field 'prompts'", "missing; give instructions and an item template")
        return None
    instructions = raw.get("instructions")
    if isinstance(instructions, str):
        instructions = [instructions]
    if not isinstance(instructions, list) or not instructions or not all(
        isinstance(text, str) and text.strip() for text in instructions
    ):
        problems.add("field 'prompts.instructions'", "give one or more non-empty instruction wordings")
        return None
    item = raw.get("item")
    if item is None:
        problems.add("field 'prompts.item'", "missing; give a template containing {text}")
        return None
    if not isinstance(item, str) or "{text}" not in item:
        problems.add("field 'prompts.item'", f"{item!r} must be a template containing {{text}}")
        return None
    for name, template in (("item", item), ("scale_line", raw.get("scale_line"))):
        problem = _brace_problem(template) if isinstance(template, str) else None
        if problem:
            problems.add(f"field 'prompts.{name}'", problem)
            return None
    extra = _template_fields(item) - {"instructions", "scale", "text"}
    if extra:
        problems.add("field 'prompts.item'", f"unknown template fields {', '.join(sorted(extra))}; use instructions, scale, text")
        return None
    scale_line = raw.get("scale_line", "{number} = {label}")
    if not isinstance(scale_line, str) or _template_fields(scale_line) - {"number", "label"}:
        problems.add("field 'prompts.scale_line'", f"{scale_line!r} may only use {{number}} and {{label}}")
        return None
    system = raw.get("system", "") or ""
    answer_prefix = raw.get("answer_prefix", "") or ""
    for name, text in (("system", system), ("answer_prefix", answer_prefix)):
        if not isinstance(text, str):
            problems.add(f"field 'prompts.{name}'", f"{text!r} is not a string")
            return None
    return Prompts(
        instructions=tuple(" ".join(t.split()) for t in instructions),
        item=item,
        scale_line=scale_line,
        system=system.strip(),
        answer_prefix=answer_prefix,
    )


def parse_instrument(data: Any, path: str = "<memory>", sha256: str = "") -> Instrument:
    """Validate a parsed YAML mapping and return the :class:`Instrument`.

    Raises
    ------
    PsyvalError
        Naming the file, the item and the field of each problem found.
    """
    problems = _Problems(path)
    if not isinstance(data, dict):
        problems.add("top level", "must be a mapping with id, title, scale, values, items, prompts")
        problems.raise_if_any()
    texts: dict[str, str] = {}
    for key in _REQUIRED_TEXT:
        raw = data.get(key, data.get("license") if key == "licence" else None)
        if raw is None or not str(raw).strip():
            problems.add(f"field {key!r}", "missing or empty")
        texts[key] = str(raw or "").strip()
    scale = _parse_scale(data.get("scale"), problems)
    basic_to_higher, refined_to_basic = _parse_hierarchy(data.get("values"), problems)
    value_keys = set(refined_to_basic) if refined_to_basic else set(basic_to_higher)
    items = _parse_items(data.get("items"), value_keys, problems)
    prompts = _parse_prompts(data.get("prompts"), problems)
    used = {item.value for item in items}
    # A value whose items were all rejected above already has its real problems
    # listed, so "has no items" is reported only for values no item names.
    raw_items = data.get("items") if isinstance(data.get("items"), list) else []
    named = {str(entry.get("value")) for entry in raw_items if isinstance(entry, dict)}
    for value in sorted(value_keys - used - named):
        problems.add(f"value {value!r}", "has no items; add items or remove it from 'values'")
    problems.raise_if_any()
    if scale is None or prompts is None:  # unreachable: both add a problem when None
        raise RuntimeError(f"instrument {path!r} passed validation without a scale or prompts")
    return Instrument(
        id=texts["id"],
        title=texts["title"],
        version=texts["version"],
        provenance=texts["provenance"],
        licence=texts["licence"],
        scale=scale,
        items=tuple(items),
        basic_to_higher=basic_to_higher,
        refined_to_basic=refined_to_basic,
        prompts=prompts,
        path=path,
        sha256=sha256,
    )


def read_instrument(path: str | Path) -> Instrument:
    """Read and validate one instrument file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise PsyvalError(f"cannot read instrument file {str(path)!r}: {error.strerror or error}") from error
    try:
        data = load_yaml(raw.decode("utf-8"))
    except yaml.YAMLError as error:
        raise PsyvalError(
            f"invalid instrument file {str(path)!r}: not valid UTF-8 YAML: {describe_yaml_error(error)}; "
            "fix the syntax there"
        ) from error
    except UnicodeDecodeError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise PsyvalError(f"invalid instrument file {str(path)!r}: not valid UTF-8 YAML ({first})") from error
    return parse_instrument(data, path=str(path), sha256=hashlib.sha256(raw).hexdigest())


def bundled_instruments() -> list[str]:
    """Return the names of the instruments shipped with psyval."""
    return sorted(p.stem for p in resources.data_dir("instruments").glob("*.yaml"))


def load_instrument(name_or_path: str | Path) -> Instrument:
    """Load a bundled instrument by name (``"pvq-40-style"``) or an instrument file by path.

    Raises
    ------
    PsyvalError
        For an unknown name, a missing file or an invalid file.
    """
    text = str(name_or_path)
    path = Path(text).expanduser()
    if path.is_file():
        return read_instrument(path)
    if text in bundled_instruments():
        return read_instrument(resources.bundled_file("instruments", f"{text}.yaml"))
    raise PsyvalError(
        f"instrument {text!r} not found; pass a file path or one of: {', '.join(bundled_instruments())}"
    )


__all__ = ["bundled_instruments", "load_instrument", "parse_instrument", "read_instrument"]
