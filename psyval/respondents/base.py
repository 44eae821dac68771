"""The interface that every respondent backend implements.

Prompts are rendered to plain strings by the backend itself
(:meth:`Backend.render`), from the model's chat template when the tokenizer has
one. The survey and probe code only ever pass rendered strings around, so an
in-process backend and a server-backed backend send the model identical text.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Literal, TypedDict


class ChatMessage(TypedDict):
    """One chat turn, as in the OpenAI and Hugging Face chat formats."""

    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class Decoding:
    """Sampling settings for free-text generation.

    The defaults (temperature 0.1, top_p 0.75, 64 new tokens) follow the
    value-harm literature's probe setting; ``greedy=True`` ignores temperature
    and top_p.
    """

    max_new_tokens: int = 64
    temperature: float = 0.1
    top_p: float = 0.75
    greedy: bool = False
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class OptionDistribution:
    """The next-token distribution at an answer position, restricted to the options.

    Attributes
    ----------
    probabilities
        Option label -> probability, renormalised over the options so it sums to 1.
    valid_mass
        Probability mass the unrestricted distribution put on the options,
        before renormalisation (0 to 1).
    method
        How the distribution was obtained, for example ``"logprob"`` or
        ``"generate-fallback"`` when a server could not return probabilities.
    """

    probabilities: dict[str, float]
    valid_mass: float
    method: str = "logprob"
    extra: dict[str, Any] = field(default_factory=dict)


class Backend(ABC):
    """A language model that psyval can survey, probe or use as a judge."""

    #: Registry name, for example ``"transformers"`` or ``"openai"``.
    name: str = ""

    @property
    @abstractmethod
    def model_id(self) -> str:
        """A stable identifier of the model, stored in every result row."""

    @abstractmethod
    def render(self, messages: Sequence[ChatMessage], answer_prefix: str = "") -> str:
        """Render chat messages to the exact prompt string the model will see.

        The chat template is applied with the generation prompt when the
        tokenizer has one; otherwise a plain ``Role: text`` completion prompt
        is used. ``answer_prefix`` is appended after the assistant header.
        """

    @abstractmethod
    def score_options(
        self, prompts: Sequence[str], options: Sequence[str], shared_prefix: str = ""
    ) -> list[OptionDistribution]:
        """Return the distribution over ``options`` at the end of each prompt.

        ``shared_prefix`` is a prefix common to every prompt (system prompt and
        instructions); a backend may reuse its key/value cache across prompts.
        """

    @abstractmethod
    def generate(self, prompts: Sequence[str], decoding: Decoding) -> list[str]:
        """Continue each rendered prompt and return only the new text."""

    #: The :meth:`describe` fields that decide a result. Study result keys read
    #: only these, so that addresses, timeouts and run-time counters can change
    #: between runs without redoing stored work.
    identity_fields: ClassVar[tuple[str, ...]] = ("backend", "model_id")

    def describe(self) -> dict[str, Any]:
        """Return manifest fields: backend, model id, revision, dtype, template hash.

        A backend may add its settings and run-time counters (requests sent,
        retries), so two calls can differ. Secrets such as API keys never
        appear here.
        """
        return {"backend": self.name, "model_id": self.model_id}

    def identity(self) -> dict[str, Any]:
        """Return the :attr:`identity_fields` of :meth:`describe`, which stay fixed while the backend runs."""
        description = self.describe()
        return {field: description[field] for field in self.identity_fields if field in description}

    def close(self) -> None:
        """Release resources (servers, sessions); the default does nothing."""
