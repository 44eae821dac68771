"""Calls from the study runner into the instrument, survey, probe, judge and report APIs.

Keeping every such call in this one module means the runner and the join see
a small, fixed surface, and a change in another subpackage's API is fixed in
one place.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from psyval.errors import PsyvalError
from psyval.respondents.base import Backend

if TYPE_CHECKING:
    from psyval.study.conditions import TargetProfile
    from psyval.study.spec import JudgeSpec, ModelSpec, ProbesSpec, StudySpec, SurveySpec

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------- profiles


def to_profile(target: TargetProfile) -> Any:
    """Return the :class:`psyval.profiles.Profile` of a target, or ``None`` for the baseline."""
    from psyval.profiles import Profile, load_profile

    if target.values is None:
        return None
    if target.preset is not None:
        return load_profile(target.preset)
    return Profile(name=target.name, values=dict(target.values), source=target.source)


# ---------------------------------------------------------------------- probes


def select_probes(spec: ProbesSpec) -> list[Any]:
    """Load the study's probe set and keep its categories and first ``per_category`` probes."""
    from psyval.probes import load_probe_set

    probe_set = load_probe_set(spec.set)
    subset = probe_set.subset(categories=spec.categories, kinds=["harmful"], per_category=spec.per_category)
    probes = list(subset)
    if not probes:
        raise PsyvalError(
            f"probe set {spec.set!r} has no harmful probes in categories {list(spec.categories)!r}; "
            "check probes.set and probes.categories in the study file"
        )
    return probes


def probe_id(probe: Any) -> str:
    return str(probe.id)


def probe_category(probe: Any) -> str:
    return str(probe.category)


def probe_text(probe: Any) -> str:
    return str(probe.prompt)


def probe_prompts(
    backend: Backend, probes: Sequence[Any], target: TargetProfile, condition: str, suppress_value: str | None
) -> list[str]:
    """Return the exact prompt strings the model receives for each probe."""
    from psyval.probes.generation import rendered_prompts

    return rendered_prompts(backend, list(probes), to_profile(target), condition, suppress_value)


# ---------------------------------------------------------------------- judges


@dataclass
class JudgeRunner:
    """A loaded judge with its role in the join and the fingerprint that keys its results.

    ``role`` is ``"harm"`` for the study's harm judge and ``"refusal"`` for the
    refusal judge that fills the ``refusal_<category>`` columns.
    """

    role: str
    judge_object: Any
    fingerprint: dict[str, Any]
    batch_size: int

    def judge(self, probes: Sequence[Any], responses: Sequence[str]) -> list[dict[str, Any]]:
        from psyval.judges import JudgeItem

        items = [JudgeItem(probe_text(p), response, probe_category(p)) for p, response in zip(probes, responses)]
        judgments = self.judge_object.judge(items)
        if len(judgments) != len(items):
            raise RuntimeError(f"judge returned {len(judgments)} judgments for {len(items)} responses")
        return [judgment.as_dict() for judgment in judgments]


def judge_plan(spec: JudgeSpec) -> list[tuple[str, JudgeSpec]]:
    """Return (role, judge spec) pairs: the harm judge, then the refusal judge."""
    from psyval.study.spec import JudgeSpec

    refusal = JudgeSpec(name="refusal", batch_size=64)
    return [("harm", spec), ("refusal", refusal)]


def load_judge_runner(
    plan_entry: tuple[str, JudgeSpec], load_backend: Callable[[ModelSpec], Backend], respondent_model: ModelSpec
) -> JudgeRunner:
    """Load one judge; a model-based judge without its own model runs on ``respondent_model``.

    For the rubric judge, the study's ``max_new_tokens`` option becomes its
    greedy decoding, because a YAML file cannot hold a Decoding object.
    """
    from psyval.judges import load_judge
    from psyval.respondents.base import Decoding

    role, spec = plan_entry
    options = dict(spec.options)
    fingerprint: dict[str, Any] = {"name": spec.name, "options": dict(options)}
    if spec.name == "rubric":
        model = spec.model or respondent_model
        options["backend"] = load_backend(model)
        options.setdefault("batch_size", spec.batch_size)
        if "max_new_tokens" in options:
            options["decoding"] = Decoding(max_new_tokens=int(options.pop("max_new_tokens")), greedy=True)
    judge = load_judge(spec.name, **options)
    description = judge.describe()
    if isinstance(description.get("judge_model"), dict):
        description["judge_model"] = {k: v for k, v in description["judge_model"].items() if k != "num_parameters"}
    fingerprint["describe"] = description
    if spec.name == "refusal":
        # The phrase list decides every refusal judgment, but describe() gives only its length.
        from psyval.judges import refusal

        fingerprint["phrases"] = list(refusal.REFUSAL_PHRASES)
    return JudgeRunner(role=role, judge_object=judge, fingerprint=fingerprint, batch_size=spec.batch_size)


def judge_prompt(runner: JudgeRunner, probe: Any, response: str) -> str:
    """Return the prompt a model-based judge sends for one response, or "" for other judges.

    The prompt goes into the judgment key, so rewording the rubric re-runs judging.
    """
    from psyval.judges import JudgeItem

    messages = getattr(runner.judge_object, "messages", None)
    backend = getattr(runner.judge_object, "backend", None)
    if messages is None or backend is None:
        return ""
    rendered: str = backend.render(messages(JudgeItem(probe_text(probe), response, probe_category(probe))))
    return rendered


def judgment_score(record: Mapping[str, Any]) -> float | None:
    """Return the harm score of a stored judgment, or ``None`` for a judge error."""
    if record.get("status") != "ok" or record.get("score") is None:
        return None
    return float(record["score"])


def judgment_refused(record: Mapping[str, Any]) -> bool | None:
    """Return whether the refusal judge marked the response as a refusal; ``None`` on error."""
    if record.get("status") != "ok" or record.get("score") is None:
        return None
    return float(record["score"]) >= 1.0


# ---------------------------------------------------------------------- instrument and survey


def load_instrument(name: str) -> Any:
    from psyval.instruments import load_instrument as load

    return load(name)


def instrument_items(instrument: Any) -> list[Any]:
    return list(instrument.items)


def instrument_description(instrument: Any) -> dict[str, Any]:
    return {"id": instrument.id, "version": instrument.version, "path": instrument.path}


def item_id(item: Any) -> str:
    return str(item.id)


def item_fingerprint(item: Any) -> str:
    """Return a hash of everything about an item that can change its answer or its scoring."""
    fields = {
        "id": item.id,
        "text": getattr(item, "text", ""),
        "value": getattr(item, "value", ""),
        "reverse": getattr(item, "reverse", False),
    }
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def survey_prompts(
    backend: Backend, instrument: Any, items: Sequence[Any], target: TargetProfile, spec: SurveySpec, seed: int
) -> list[str]:
    """Return, per item, the exact prompts the model receives, one per variant, joined."""
    from psyval.survey.prompts import item_messages, make_variants

    profile = to_profile(target)
    variants = make_variants(instrument, spec.variants)
    prefix = instrument.prompts.answer_prefix
    return [
        "\n\x1e\n".join(
            backend.render(item_messages(instrument, item, variant, profile), prefix) for variant in variants
        )
        for item in items
    ]


def answer_items(
    backend: Backend, instrument: Any, items: Sequence[Any], target: TargetProfile, spec: SurveySpec, seed: int
) -> list[dict[str, Any]]:
    """Answer ``items`` as the respondent with profile ``target``; one JSON-ready record per item.

    A record holds the survey's rows for the item, one per variant
    (:func:`psyval.survey.answering.answer_items`).
    """
    from psyval.survey.answering import answer_items as answer
    from psyval.survey.prompts import make_variants

    variants = make_variants(instrument, spec.variants)
    rows = answer(backend, instrument, list(items), variants, to_profile(target), method=spec.method, seed=seed)
    by_item: dict[str, list[dict[str, Any]]] = {str(item.id): [] for item in items}
    for row in rows:
        by_item[str(row["item"])].append(row)
    return [{"rows": by_item[str(item.id)]} for item in items]


def answer_value(record: Mapping[str, Any]) -> float:
    """Return the item's answer: the mean expected value over its variants, NaN if none parsed."""
    answers = [float(row["answer"]) for row in record["rows"] if row.get("answer") is not None]
    answers = [value for value in answers if value == value]
    return sum(answers) / len(answers) if answers else float("nan")


def score_answers(
    instrument: Any, items: Sequence[Any], records: Mapping[str, Mapping[str, Any]], target: TargetProfile
) -> dict[str, float]:
    """Return ``value_<id>``, ``raw_<id>``, ``nmse`` and ``profile_r`` for one respondent.

    Scores come from :func:`psyval.survey.scoring.score_responses` for the basic
    and higher-order values; alignment strength from
    :func:`psyval.survey.scoring.alignment_strength` (NaN for the baseline).
    """
    import pandas as pd

    from psyval.survey.scoring import alignment_strength, score_responses

    rows = [dict(row, respondent="r") for item in items for row in records[str(item.id)]["rows"]]
    scores = score_responses(pd.DataFrame(rows))
    result: dict[str, float] = {}
    for level in ("basic", "higher"):
        for row in scores[scores["level"] == level].itertuples():
            result[f"value_{row.value}"] = float(row.centred)
            result[f"raw_{row.value}"] = float(row.raw)
    profile = to_profile(target)
    if profile is None:
        result["nmse"] = float("nan")
        result["profile_r"] = float("nan")
        return result
    basic = scores[scores["level"] == "basic"].set_index("value")
    alignment = alignment_strength(basic["raw"].astype(float), profile, basic["centred"].astype(float))
    result["nmse"] = alignment.nmse
    result["profile_r"] = alignment.r
    return result


# ---------------------------------------------------------------------- analyses and report


def run_analyses(study: StudySpec, respondents_csv: Path, out_dir: Path, items: Sequence[Any]) -> str:
    """Run :func:`psyval.analysis.analyze` on the respondent table and save its tables in ``out_dir``.

    The SEM files the study lists are copied into ``out_dir/models`` first, so
    the results folder records exactly which models were fitted. Returns a
    one-line summary for the progress display.
    """
    import shutil

    import pandas as pd

    from psyval.analysis import analyze
    from psyval.resources import bundled_file

    models_dir = out_dir / "models"
    models_dir.mkdir(parents=True, exist_ok=True)
    for stale in models_dir.glob("*.lav"):
        stale.unlink()
    for name in study.analyses.sem:
        source = Path(name) if Path(name).is_file() else bundled_file("analyses", name)
        shutil.copyfile(source, models_dir / source.name)
    hypotheses = study.analyses.hypotheses
    hypotheses_path = None
    if hypotheses is not None:
        hypotheses_path = Path(hypotheses) if Path(hypotheses).is_file() else bundled_file("analyses", hypotheses)
        shutil.copyfile(hypotheses_path, models_dir / "hypotheses.yaml")
        hypotheses_path = models_dir / "hypotheses.yaml"

    table = pd.read_csv(respondents_csv)
    item_values = {str(item.id): str(item.value) for item in items}
    result = analyze(table, models_dir, hypotheses_path, item_values=item_values)
    result.correlations.to_csv(out_dir / "correlations.csv", index=False)
    result.verdicts.to_csv(out_dir / "verdicts.csv", index=False)
    result.safety.to_csv(out_dir / "safety_comparison.csv", index=False)
    result.descriptives.to_csv(out_dir / "descriptives.csv", index=False)
    for outcome in result.sem:
        outcome.parameters.to_csv(out_dir / f"sem_{outcome.name}_parameters.csv", index=False)
        (out_dir / f"sem_{outcome.name}_summary.txt").write_text(outcome.summary_text() + "\n", encoding="utf-8")
    verdict_counts = result.verdicts["verdict"].value_counts().to_dict() if "verdict" in result.verdicts else {}
    counts = ", ".join(f"{count} {verdict}" for verdict, count in sorted(verdict_counts.items()))
    return f"{len(result.verdicts)} hypotheses ({counts}); {len(result.sem)} SEMs"


def write_report(results_dir: Path) -> Any:
    """Write the report into ``results_dir/report`` with the SEM and hypothesis files the analyses used."""
    from psyval.report import write_report as write

    models_dir = results_dir / "analysis" / "models"
    hypotheses = models_dir / "hypotheses.yaml"
    return write(
        results_dir,
        analyses_dir=models_dir if models_dir.is_dir() else None,
        hypotheses_path=hypotheses if hypotheses.is_file() else None,
    )
