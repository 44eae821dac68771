"""The in-memory form of a questionnaire: scale, items, value hierarchy and prompts.

The YAML format is documented in ``docs/instruments.md``; :mod:`psyval.instruments.loader`
reads and validates it into these frozen dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ScaleDirection = Literal["higher_is_more_like_me", "lower_is_more_like_me"]
SCALE_DIRECTIONS: tuple[str, ...] = ("higher_is_more_like_me", "lower_is_more_like_me")


@dataclass(frozen=True)
class Scale:
    """A response scale with one label per point.

    Attributes
    ----------
    points
        Number of points; answers are the integers 1 to ``points``.
    labels
        ``labels[i]`` names point ``i + 1``.
    direction
        Which end means "like me". Scores are always reported with higher =
        more like me, so a ``lower_is_more_like_me`` scale is reflected when scored.
    """

    points: int
    labels: tuple[str, ...]
    direction: ScaleDirection

    def to_like_me(self, point: float) -> float:
        """Return ``point`` on the scored scale, where higher means more like me."""
        if self.direction == "lower_is_more_like_me":
            return self.points + 1 - point
        return point


@dataclass(frozen=True)
class Item:
    """One questionnaire item.

    Attributes
    ----------
    id
        Unique within the instrument; a valid identifier, so ``item_<id>`` can
        name a column in lavaan syntax.
    text
        The portrait shown to the respondent.
    value
        The value key the item measures: a refined value when the instrument
        declares refined values, otherwise a basic value.
    reverse
        Reverse-keyed: agreeing means less of the value, so the answer is
        reflected (``points + 1 - answer``) before scoring.
    """

    id: str
    text: str
    value: str
    reverse: bool = False


@dataclass(frozen=True)
class Prompts:
    """Prompt templates; ``{scale}`` and ``{text}`` are filled per item.

    Attributes
    ----------
    system
        System message when no target profile is given; empty for none.
    instructions
        Alternative instruction wordings, one per counterbalancing variant.
    item
        The user message; fields ``{instructions}``, ``{scale}``, ``{text}``.
    scale_line
        One line of the scale listing; fields ``{number}`` and ``{label}``.
    answer_prefix
        Text placed at the start of the assistant turn, before the answer.
    """

    instructions: tuple[str, ...]
    item: str
    scale_line: str = "{number} = {label}"
    system: str = ""
    answer_prefix: str = ""


@dataclass(frozen=True)
class Instrument:
    """A validated questionnaire.

    Attributes
    ----------
    refined_to_basic
        Refined value -> basic value; empty when the instrument has only basic values.
    basic_to_higher
        Basic value -> higher-order value.
    path, sha256
        The file it was read from and the SHA-256 of its bytes, for the manifest.
    """

    id: str
    title: str
    version: str
    provenance: str
    licence: str
    scale: Scale
    items: tuple[Item, ...]
    basic_to_higher: dict[str, str]
    refined_to_basic: dict[str, str] = field(default_factory=dict)
    prompts: Prompts = field(default_factory=lambda: Prompts(instructions=("",), item="{text}"))
    path: str = ""
    sha256: str = ""

    @property
    def has_refined(self) -> bool:
        return bool(self.refined_to_basic)

    def basic_of(self, item: Item) -> str:
        """Return the basic value an item counts towards."""
        return self.refined_to_basic.get(item.value, item.value) if self.has_refined else item.value

    def higher_of(self, item: Item) -> str:
        return self.basic_to_higher[self.basic_of(item)]

    def item(self, item_id: str) -> Item:
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    def subset(self, item_ids: list[str]) -> Instrument:
        """Return a copy with only the given items, in the given order."""
        from dataclasses import replace

        return replace(self, items=tuple(self.item(i) for i in item_ids))


__all__ = ["Instrument", "Item", "Prompts", "SCALE_DIRECTIONS", "Scale", "ScaleDirection"]
