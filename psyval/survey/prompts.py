"""Prompt variants for counterbalancing, and rendering of one item as chat messages.

A variant combines one instruction wording with one numbering direction of the
scale. Variant ``v`` uses wording ``(v // 2) % n_wordings`` and numbers the
scale in reverse when ``v`` is odd, so ``--variants 2`` already balances the
numbering and ``--variants 2 * n_wordings`` covers every combination.
"""

from __future__ import annotations

from dataclasses import dataclass

from psyval.errors import PsyvalError
from psyval.instruments.schema import Instrument, Item
from psyval.profiles import Profile
from psyval.respondents.base import ChatMessage


@dataclass(frozen=True)
class Variant:
    """One prompt variant.

    Attributes
    ----------
    index
        Variant number, 0 for the instrument's first wording in its own numbering.
    wording
        Index into the instrument's instruction wordings.
    reversed_numbering
        When true the number shown as ``d`` stands for scale point ``points + 1 - d``.
    """

    index: int
    wording: int
    reversed_numbering: bool

    @property
    def numbering(self) -> str:
        return "descending" if self.reversed_numbering else "ascending"

    def point_of(self, shown: int, points: int) -> int:
        """Return the instrument scale point that the shown number stands for."""
        return points + 1 - shown if self.reversed_numbering else shown


def make_variants(instrument: Instrument, count: int) -> list[Variant]:
    """Return the first ``count`` variants of ``instrument``.

    Raises
    ------
    PsyvalError
        If ``count`` is not positive.
    """
    if count < 1:
        raise PsyvalError(f"invalid number of variants {count!r}; use 1 or more")
    wordings = len(instrument.prompts.instructions)
    return [Variant(index=v, wording=(v // 2) % wordings, reversed_numbering=v % 2 == 1) for v in range(count)]


def scale_text(instrument: Instrument, variant: Variant) -> str:
    """Return the scale listing shown to the respondent, numbers in ascending order."""
    points = instrument.scale.points
    lines = []
    for shown in range(1, points + 1):
        label = instrument.scale.labels[variant.point_of(shown, points) - 1]
        lines.append(instrument.prompts.scale_line.format(number=shown, label=label))
    return "\n".join(lines)


def item_messages(
    instrument: Instrument, item: Item, variant: Variant, profile: Profile | None = None
) -> list[ChatMessage]:
    """Return the chat messages that ask ``item`` under ``variant``.

    A target profile's system prompt replaces the instrument's system message.
    The item text comes last in the user message, so every item of a variant
    shares the prompt prefix up to it (used for key/value cache reuse).
    """
    prompts = instrument.prompts
    user = prompts.item.format(
        instructions=prompts.instructions[variant.wording],
        scale=scale_text(instrument, variant),
        text=item.text,
    )
    system = profile.system_prompt() if profile is not None else prompts.system
    messages: list[ChatMessage] = []
    if system:
        messages.append({"role": "system", "content": system})
    messages.append({"role": "user", "content": user})
    return messages


def option_labels(instrument: Instrument) -> list[str]:
    """Return the answer options as shown: the numbers ``"1"`` to ``str(points)``."""
    return [str(shown) for shown in range(1, instrument.scale.points + 1)]


__all__ = ["Variant", "item_messages", "make_variants", "option_labels", "scale_text"]
