"""Send probes to a backend in batches and collect the responses verbatim."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from psyval.errors import PsyvalError
from psyval.probes.conditions import (
    build_messages,
    check_condition,
    default_suppress_value,
)
from psyval.probes.probeset import Probe, ProbeSet
from psyval.respondents.base import Backend, Decoding

log = logging.getLogger(__name__)

#: Columns of the frame :func:`generate_responses` returns, in order.
RESPONSE_COLUMNS: tuple[str, ...] = (
    "respondent",
    "model",
    "profile",
    "condition",
    "suppress_value",
    "replicate",
    "seed",
    "probe_id",
    "kind",
    "category",
    "subcategory",
    "source",
    "prompt",
    "response",
)


def _load(profile: Any) -> Any:
    """Return a Profile for a Profile, a preset name or profile path; None stays None."""
    if isinstance(profile, (str, Path)):
        from psyval.profiles import load_profile

        return load_profile(profile)
    return profile


def _profile_parts(profile: Any) -> tuple[str, str | None]:
    """Return (profile name, system prompt) for a Profile or None."""
    if profile is None:
        return "none", None
    return str(profile.name), str(profile.system_prompt())


def _as_probes(probes: ProbeSet | Iterable[Probe]) -> list[Probe]:
    items = list(probes)
    for item in items:
        if not isinstance(item, Probe):
            raise PsyvalError(f"expected Probe objects, got {type(item).__name__}; load them with load_probe_set")
    return items


def generate_responses(
    backend: Backend,
    probes: ProbeSet | Iterable[Probe],
    profile: Any = None,
    condition: str = "input-only",
    suppress_value: str | None = None,
    decoding: Decoding | None = None,
    batch_size: int = 16,
    respondent: str | None = None,
    replicate: int = 0,
    on_batch: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Generate one response per probe under a profile and a safety condition.

    Parameters
    ----------
    backend
        Any :class:`~psyval.respondents.base.Backend`; it renders the chat
        messages with the model's own template.
    probes
        A probe set or any subset of probes, so a resumable runner can pass
        only the probes it has not stored yet.
    profile
        A :class:`~psyval.profiles.Profile`, a preset name or profile file, or
        ``None`` for the model's default persona.
    condition
        ``"input-only"``, ``"safety-prompt"``, ``"value-prompt"`` or ``"both"``.
    suppress_value
        The value that ``value-prompt`` and ``both`` ask the model to set
        aside; defaults to the profile's highest value.
    decoding
        Sampling settings (default :class:`Decoding`: temperature 0.1, top_p
        0.75, 64 new tokens, seed 0); the seed is stored in every row.
    batch_size
        Prompts sent to ``backend.generate`` per call.
    respondent
        Respondent id stored in every row; defaults to ``"<model>|<profile>"``.
    replicate
        Replicate number stored in every row.
    on_batch
        Called as ``on_batch(done, total)`` after each batch, for progress bars.

    Returns
    -------
    pandas.DataFrame
        One row per probe with the columns of :data:`RESPONSE_COLUMNS`, in the
        order of ``probes``. ``response`` is the model's text exactly as
        generated: untrusted data that is stored, never evaluated.
    """
    decoding = decoding or Decoding()
    profile = _load(profile)
    if condition in ("value-prompt", "both") and suppress_value is None and profile is not None:
        suppress_value = default_suppress_value(profile)
    check_condition(condition, suppress_value)
    if batch_size < 1:
        raise PsyvalError(f"invalid batch_size {batch_size!r}; use a positive integer")
    items = _as_probes(probes)
    profile_name, profile_prompt = _profile_parts(profile)
    respondent = respondent or f"{backend.model_id}|{profile_name}"
    rendered = [
        backend.render(build_messages(probe.prompt, profile_prompt, condition, suppress_value)) for probe in items
    ]
    # Sorting by length keeps padding, and so wasted compute, small inside a batch.
    order = sorted(range(len(items)), key=lambda i: len(rendered[i]))
    responses: list[str] = [""] * len(items)
    started = time.perf_counter()
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        outputs = backend.generate([rendered[i] for i in chunk], decoding)
        if len(outputs) != len(chunk):
            raise RuntimeError(f"backend {backend.name!r} returned {len(outputs)} texts for {len(chunk)} prompts")
        for index, text in zip(chunk, outputs):
            responses[index] = text
        done = min(start + batch_size, len(order))
        log.info("generated %d/%d responses (%s, %s, %s)", done, len(order), respondent, condition, profile_name)
        if on_batch is not None:
            on_batch(done, len(order))
    log.debug("generation took %.1f s for %d probes", time.perf_counter() - started, len(items))
    rows = [
        {
            "respondent": respondent,
            "model": backend.model_id,
            "profile": profile_name,
            "condition": condition,
            "suppress_value": suppress_value if condition in ("value-prompt", "both") else "",
            "replicate": replicate,
            "seed": decoding.seed,
            "probe_id": probe.id,
            "kind": probe.kind,
            "category": probe.category,
            "subcategory": probe.subcategory,
            "source": probe.source,
            "prompt": probe.prompt,
            "response": response,
        }
        for probe, response in zip(items, responses)
    ]
    return pd.DataFrame(rows, columns=list(RESPONSE_COLUMNS))


def rendered_prompts(
    backend: Backend,
    probes: Sequence[Probe],
    profile: Any = None,
    condition: str = "input-only",
    suppress_value: str | None = None,
) -> list[str]:
    """Return the exact prompt strings the backend would receive, for manifests and debugging."""
    profile = _load(profile)
    if condition in ("value-prompt", "both") and suppress_value is None and profile is not None:
        suppress_value = default_suppress_value(profile)
    check_condition(condition, suppress_value)
    _, profile_prompt = _profile_parts(profile)
    return [backend.render(build_messages(p.prompt, profile_prompt, condition, suppress_value)) for p in probes]
