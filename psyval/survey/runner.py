"""Run a whole survey of one respondent and write its results folder."""

from __future__ import annotations

import json
import logging
import math
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

from psyval import __version__
from psyval.errors import PsyvalError
from psyval.instruments.schema import Instrument
from psyval.profiles import Profile
from psyval.respondents.base import Backend
from psyval.respondents.response_cache import ResponseCache
from psyval.survey.answering import (
    CHUNK_SIZE,
    GENERATE_DECODING,
    LOW_MASS_THRESHOLD,
    Method,
    ProgressCallback,
    answer_items,
)
from psyval.survey.prompts import make_variants
from psyval.survey.scoring import Alignment, alignment_strength, basic_scores, score_responses

log = logging.getLogger(__name__)

#: Leading columns of responses.csv; the p_1..p_k columns follow "variant".
RESPONSE_COLUMNS: tuple[str, ...] = (
    "respondent", "model", "profile", "instrument", "method", "item", "value", "refined_value",
    "higher_value", "reverse", "scale_points", "variant", "wording", "numbering", "position",
)
RESPONSE_TAIL: tuple[str, ...] = (
    "expected", "argmax", "entropy", "valid_mass", "answer", "status", "raw_text", "prompt_chars",
)

_PACKAGES = ("psyval", "torch", "transformers", "gguf", "accelerate", "numpy", "pandas", "scipy", "click")


@dataclass
class SurveyResult:
    """Responses, scores and alignment of one surveyed respondent.

    Attributes
    ----------
    responses
        One row per item and variant, columns as in ``responses.csv``.
    scores
        As returned by :func:`psyval.survey.scoring.score_responses`.
    alignment
        Alignment strength against the target profile, or ``None`` without one.
    manifest
        Everything needed to reproduce the run (model, dtype, seed, hashes, versions).
    """

    responses: pd.DataFrame
    scores: pd.DataFrame
    alignment: Alignment | None
    manifest: dict[str, Any] = field(default_factory=dict)
    profile: Profile | None = None

    def basic(self, column: str = "centred") -> pd.Series:
        """Return the basic-value scores (``"raw"`` or ``"centred"``)."""
        respondent = str(self.responses["respondent"].iloc[0])
        return basic_scores(self.scores, respondent, column)


def package_versions() -> dict[str, str | None]:
    """Return the installed versions of psyval and its main dependencies."""
    versions: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    versions["python"] = platform.python_version()
    return versions


def responses_frame(rows: list[dict[str, Any]], **constants: Any) -> pd.DataFrame:
    """Build the responses table from :func:`answer_items` rows plus constant columns."""
    table = pd.DataFrame(rows)
    for name, constant in constants.items():
        table[name] = constant
    distribution = sorted((c for c in table.columns if c.startswith("p_")), key=lambda c: int(c[2:]))
    ordered = [c for c in RESPONSE_COLUMNS if c in table.columns] + distribution
    ordered += [c for c in RESPONSE_TAIL if c in table.columns]
    ordered += [c for c in table.columns if c not in ordered]
    return table[ordered].sort_values(["variant", "position"], kind="stable").reset_index(drop=True)


def run_survey(
    backend: Backend,
    instrument: Instrument,
    profile: Profile | None = None,
    method: Method = "logprob",
    variants: int = 1,
    seed: int = 0,
    respondent: str | None = None,
    progress: ProgressCallback | None = None,
    journal: ResponseCache | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> SurveyResult:
    """Survey one respondent: answer every item under every variant and score it.

    Parameters
    ----------
    backend
        The model to survey.
    instrument
        A loaded instrument (:func:`psyval.instruments.load_instrument`).
    profile
        Target profile for in-context value alignment, or ``None``.
    method
        ``"logprob"`` (default) or ``"generate"``.
    variants
        Number of prompt variants per item (wording x numbering direction).
    seed
        Seed of the item order and of generation; stored in the manifest.
    respondent
        Respondent id; defaults to the profile name, or ``"default"``.
    progress
        Called with the number of items answered after each batch.
    journal
        Record of finished answers to reuse and extend, so that an interrupted
        survey resumes (see :func:`psyval.survey.answering.answer_items`).
    chunk_size
        Items per backend call.

    Returns
    -------
    SurveyResult
    """
    respondent = respondent or (profile.name if profile is not None else "default")
    variant_list = make_variants(instrument, variants)
    started = datetime.now(timezone.utc)
    log.info(
        "surveying %s with %s (%d items x %d variants, method %s, profile %s)",
        backend.model_id, instrument.id, len(instrument.items), variants, method,
        profile.name if profile else "none",
    )
    reused_before = journal.hits if journal is not None else 0
    rows = answer_items(
        backend, instrument, instrument.items, variant_list, profile, method, seed, progress,
        journal=journal, chunk_size=chunk_size,
    )
    responses = responses_frame(
        rows,
        respondent=respondent,
        model=backend.model_id,
        profile=profile.name if profile else "",
        instrument=instrument.id,
    )
    targets = {respondent: profile} if profile is not None else None
    scores = score_responses(responses, targets)
    alignment = None
    if profile is not None:
        alignment = alignment_strength(
            basic_scores(scores, respondent, "raw"), profile, basic_scores(scores, respondent, "centred")
        )
    manifest = build_manifest(
        backend, instrument, profile, method, variants, seed, responses, alignment, started
    )
    if journal is not None:
        manifest["answer_journal"] = {
            "path": str(journal.path) if journal.path is not None else None,
            "reused_answers": journal.hits - reused_before,
        }
    return SurveyResult(responses=responses, scores=scores, alignment=alignment, manifest=manifest, profile=profile)


def build_manifest(
    backend: Backend,
    instrument: Instrument,
    profile: Profile | None,
    method: str,
    variants: int,
    seed: int,
    responses: pd.DataFrame,
    alignment: Alignment | None,
    started: datetime,
) -> dict[str, Any]:
    """Collect what is needed to reproduce and audit a survey run."""
    status_counts = {str(k): int(v) for k, v in responses["status"].value_counts().items()}
    return {
        "kind": "survey",
        "psyval_version": __version__,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": backend.describe(),
        "instrument": {
            "id": instrument.id,
            "version": instrument.version,
            "path": instrument.path,
            "sha256": instrument.sha256,
            "items": len(instrument.items),
        },
        "profile": None if profile is None else {
            "name": profile.name, "source": profile.source, "values": profile.values,
        },
        "method": method,
        "decoding": GENERATE_DECODING.as_dict() | {"seed": seed} if method == "generate" else None,
        "low_mass_threshold": LOW_MASS_THRESHOLD if method == "logprob" else None,
        "variants": variants,
        "seed": seed,
        "status_counts": status_counts,
        "alignment": None if alignment is None else {
            "nmse": alignment.nmse, "r": None if math.isnan(alignment.r) else alignment.r, "errors": alignment.errors,
        },
        "packages": package_versions(),
        "platform": platform.platform(),
    }


def write_results(result: SurveyResult, out: str | Path) -> Path:
    """Write responses.csv, scores.csv and manifest.json into folder ``out``.

    Raises
    ------
    PsyvalError
        If ``out`` exists and is not a folder.
    """
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise PsyvalError(f"output path {str(folder)!r} is a file; pass a folder for --out")
    folder.mkdir(parents=True, exist_ok=True)
    result.responses.to_csv(folder / "responses.csv", index=False)
    result.scores.to_csv(folder / "scores.csv", index=False)
    (folder / "manifest.json").write_text(json.dumps(result.manifest, indent=2, default=str) + "\n")
    log.info("wrote %s/responses.csv, scores.csv, manifest.json", folder)
    return folder


__all__ = [
    "RESPONSE_COLUMNS",
    "SurveyResult",
    "build_manifest",
    "package_versions",
    "responses_frame",
    "run_survey",
    "write_results",
]
