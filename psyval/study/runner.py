"""Run a study stage by stage into its SQLite store.

Stages, in order: survey, probes, judging, join, analyses, report. The first
three compute result rows. Each row is looked up by its key
(:func:`psyval.study.store.result_key`), computed only when missing, and
committed as soon as it exists. The join reads the rows of the current plan
and writes ``respondents.csv``; analyses and report run on that table.

Work is split into fixed units (a chunk of items or prompts) taken from the
full plan, never from what is left to do. A rerun therefore sends the model
the same batches as an uninterrupted run, so batch padding and the sampling
seed of each batch are the same, and the final tables are equal.
"""

from __future__ import annotations

import json
import logging
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from psyval import __version__
from psyval.errors import PsyvalError
from psyval.respondents.base import Backend, Decoding
from psyval.study import adapters
from psyval.study.conditions import Respondent, TargetProfile, expand_profiles, expand_respondents
from psyval.study.join import build_respondent_table, build_response_table
from psyval.study.progress import Progress
from psyval.study.spec import JudgeSpec, ModelSpec, StudySpec
from psyval.study.store import StudyStore, Table, result_key

log = logging.getLogger(__name__)

STAGES: tuple[str, ...] = ("survey", "probes", "judging", "join", "analyses", "report")

T = TypeVar("T")

BackendLoader = Callable[[ModelSpec], Backend]


@dataclass
class StageCount:
    """Units of one stage: the total planned, taken from the store, and computed now."""

    total: int = 0
    stored: int = 0
    computed: int = 0
    seconds: float = 0.0


@dataclass
class StudyRunResult:
    """Output paths and per-stage counts of one :func:`run_study` call."""

    out_dir: Path
    store_path: Path
    respondents_csv: Path | None = None
    probe_responses_csv: Path | None = None
    manifest_path: Path | None = None
    report_paths: Any = None
    counts: dict[str, StageCount] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass(frozen=True)
class SurveyUnit:
    """Items of one respondent's survey answered in one backend call."""

    model: ModelSpec
    profile: TargetProfile
    replicate: int
    item_ids: tuple[str, ...]
    keys: tuple[str, ...]


@dataclass(frozen=True)
class ProbeTask:
    """One probe sent to one respondent, with the rendered prompt the model receives."""

    respondent: Respondent
    probe: Any
    prompt: str
    key: str


def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def models_needed(study: StudySpec, until: str) -> list[ModelSpec]:
    """Return the respondent models, and the rubric judge's own model when judging runs by ``until``."""
    models = list(study.models)
    judge_model = study.judge.model
    judging = STAGES.index(until) >= STAGES.index("judging")
    if judging and study.judge.name == "rubric" and judge_model is not None and judge_model not in models:
        models.append(judge_model)
    return models


class _RegistryLoader:
    """Build each model once through the backend registry, and close them all at the end."""

    def __init__(self, trust_remote_code: bool) -> None:
        self.trust_remote_code = trust_remote_code
        self.loaded: dict[str, Backend] = {}

    def __call__(self, model: ModelSpec) -> Backend:
        from psyval.respondents.registry import load_backend

        cache_key = json.dumps([model.backend, model.model, model.options], sort_keys=True, default=str)
        if cache_key not in self.loaded:
            options = dict(model.options)
            if self.trust_remote_code:
                options["trust_remote_code"] = True
            log.info("loading model %s (%s backend)", model.model, model.backend)
            self.loaded[cache_key] = load_backend(model.backend, model=model.model, **options)
        return self.loaded[cache_key]

    def close(self) -> None:
        """Close every loaded backend, releasing server connections."""
        for backend in self.loaded.values():
            backend.close()
        self.loaded.clear()


def default_backend_loader(trust_remote_code: bool = False) -> BackendLoader:
    """Return a loader that builds each model once through the backend registry.

    The loader's ``close()`` closes the backends it built; :func:`run_study`
    calls it when the run ends.
    """
    return _RegistryLoader(trust_remote_code)


class StudyRunner:
    """Hold the plan, the store and the loaded models of one study run."""

    def __init__(
        self,
        study: StudySpec,
        out_dir: Path,
        progress: Progress,
        backend_loader: BackendLoader,
        until: str = "report",
    ) -> None:
        self.study = study
        self.out_dir = out_dir
        self.progress = progress
        self.load_backend = backend_loader
        self.profiles = expand_profiles(study)
        self.respondents = list(expand_respondents(study, self.profiles))
        self.instrument = adapters.load_instrument(study.instrument)
        self.items = adapters.instrument_items(self.instrument)
        self.probes = adapters.select_probes(study.probes)
        # The folder is created only after the names above resolved and every
        # model the run needs loaded. So a misspelt name or an unreachable
        # server fails before any stage runs and leaves no empty folder.
        for model in models_needed(study, until):
            backend_loader(model)
        # The judges are built here too, so a value their constructors reject
        # (a batch size of 0, a missing llama-guard folder) fails before the
        # folder exists. The judging stage reuses these judges.
        self.judge_runners: dict[tuple[str, str], adapters.JudgeRunner] = {}
        if STAGES.index(until) >= STAGES.index("judging"):
            self._load_judges()
        out_dir.mkdir(parents=True, exist_ok=True)
        self.store = StudyStore(out_dir / "study.sqlite")
        self.counts: dict[str, StageCount] = {stage: StageCount() for stage in STAGES}
        self.survey_keys: dict[tuple[str, str, int], dict[str, str]] = {}
        self.probe_tasks: list[ProbeTask] = []
        self.judgment_keys: dict[str, dict[str, str]] = {}

    # ------------------------------------------------------------------ helpers

    def _load_judges(self) -> None:
        """Build the harm and refusal judges for every respondent model, once each."""
        for judge_spec in adapters.judge_plan(self.study.judge):
            shared: adapters.JudgeRunner | None = None
            for model in self.study.models:
                # Only the rubric judge runs on the respondent's model; any other
                # judge is the same for every model and is built once.
                if shared is None or judge_spec[1].name == "rubric":
                    shared = adapters.load_judge_runner(judge_spec, self.load_backend, model)
                self.judge_runners[(judge_spec[0], model.label)] = shared

    def _judge_runner(self, judge_spec: tuple[str, JudgeSpec], model: ModelSpec) -> adapters.JudgeRunner:
        """Return the judge built for ``model``, building it if the run began after the check."""
        key = (judge_spec[0], model.label)
        if key not in self.judge_runners:
            self.judge_runners[key] = adapters.load_judge_runner(judge_spec, self.load_backend, model)
        return self.judge_runners[key]

    def _model_fingerprint(self, backend: Backend) -> dict[str, Any]:
        # describe() also contains settings and request counters that change
        # during a run, so a key built from it would redo finished work.
        return backend.identity()

    def _judge_fingerprint(self, judge: adapters.JudgeRunner) -> dict[str, Any]:
        """Return the judge's fingerprint with the identity, not the full description, of its model."""
        backend = getattr(judge.judge_object, "backend", None)
        description = judge.fingerprint.get("describe")
        if not isinstance(backend, Backend) or not isinstance(description, dict) or "judge_model" not in description:
            return judge.fingerprint
        return {**judge.fingerprint, "describe": {**description, "judge_model": self._model_fingerprint(backend)}}

    def _begin(self, stage: str, total: int, stored: int) -> float:
        count = self.counts[stage]
        count.total, count.stored = total, stored
        self.progress.stage_start(stage, total, stored)
        return time.monotonic()

    def _end(self, stage: str, started: float, note: str = "") -> None:
        self.counts[stage].seconds = time.monotonic() - started
        self.progress.stage_end(note)

    def _put_computed(
        self,
        stage: str,
        table: Table,
        key: str,
        columns: dict[str, Any],
        record: dict[str, Any],
        stored: set[str],
    ) -> None:
        """Store a row that ``stage`` has just computed, mark its key stored and count it."""
        self.store.put(table, key, columns, record)
        stored.add(key)
        self.counts[stage].computed += 1

    # ------------------------------------------------------------------ survey

    def plan_survey(self) -> list[SurveyUnit]:
        """Key every item answer of every (model, profile, replicate) and split them into units."""
        units = []
        seen: set[tuple[str, str, int]] = set()
        for respondent in self.respondents:
            ident = (respondent.model.label, respondent.profile.name, respondent.replicate)
            if ident in seen:
                continue
            seen.add(ident)
            backend = self.load_backend(respondent.model)
            model_print = self._model_fingerprint(backend)
            prompts = adapters.survey_prompts(
                backend, self.instrument, self.items, respondent.profile, self.study.survey, self._seed(respondent)
            )
            keys = {}
            for item, prompt in zip(self.items, prompts):
                keys[adapters.item_id(item)] = result_key(
                    "survey_answer",
                    {
                        "model": model_print,
                        "prompt": prompt,
                        "item": adapters.item_fingerprint(item),
                        "method": self.study.survey.method,
                        "variants": self.study.survey.variants,
                        "seed": self._seed(respondent),
                    },
                )
            self.survey_keys[ident] = keys
            item_ids = [adapters.item_id(item) for item in self.items]
            for chunk in _chunks(item_ids, self.study.survey.items_per_unit):
                units.append(
                    SurveyUnit(
                        respondent.model,
                        respondent.profile,
                        respondent.replicate,
                        tuple(chunk),
                        tuple(keys[item] for item in chunk),
                    )
                )
        return units

    def _seed(self, respondent: Respondent) -> int:
        return self.study.seed + respondent.replicate

    def run_survey(self) -> None:
        units = self.plan_survey()
        all_keys = [key for unit in units for key in unit.keys]
        stored = self.store.existing_keys("survey_answers", all_keys)
        started = self._begin("survey", len(all_keys), len(stored))
        items_by_id = {adapters.item_id(item): item for item in self.items}
        for unit in units:
            missing = [key for key in unit.keys if key not in stored]
            if not missing:
                continue
            backend = self.load_backend(unit.model)
            respondent_seed = self.study.seed + unit.replicate
            records = adapters.answer_items(
                backend,
                self.instrument,
                [items_by_id[item] for item in unit.item_ids],
                unit.profile,
                self.study.survey,
                respondent_seed,
            )
            finished = 0
            for item_id, key, record in zip(unit.item_ids, unit.keys, records):
                if key in stored:
                    continue
                columns = {
                    "model": unit.model.label,
                    "profile": unit.profile.name,
                    "replicate": unit.replicate,
                    "item_id": item_id,
                }
                self._put_computed("survey", "survey_answers", key, columns, record, stored)
                finished += 1
            # One advance per unit, because every row of a unit finishes at once.
            self.progress.advance(finished)
        self._end("survey", started)

    # ------------------------------------------------------------------ probes

    def _decoding(self, respondent: Respondent) -> Decoding:
        spec = self.study.decoding
        return Decoding(
            max_new_tokens=spec.max_new_tokens,
            temperature=spec.temperature,
            top_p=spec.top_p,
            greedy=spec.greedy,
            seed=self._seed(respondent),
        )

    def plan_probes(self) -> list[list[ProbeTask]]:
        """Key every probe response and split them into fixed batches.

        A batch never mixes models or replicates, because one generate call
        uses one model and one sampling seed.
        """
        groups: dict[tuple[str, int], list[ProbeTask]] = {}
        for respondent in self.respondents:
            backend = self.load_backend(respondent.model)
            model_print = self._model_fingerprint(backend)
            decoding = self._decoding(respondent)
            prompts = adapters.probe_prompts(
                backend, self.probes, respondent.profile, respondent.safety_condition, respondent.suppress_value
            )
            for probe, prompt in zip(self.probes, prompts):
                key = result_key(
                    "probe_response", {"model": model_print, "prompt": prompt, "decoding": decoding.as_dict()}
                )
                task = ProbeTask(respondent, probe, prompt, key)
                groups.setdefault((respondent.model.label, respondent.replicate), []).append(task)
        self.probe_tasks = [task for tasks in groups.values() for task in tasks]
        batches: list[list[ProbeTask]] = []
        for tasks in groups.values():
            batches.extend(list(chunk) for chunk in _chunks(tasks, self.study.probes.batch_size))
        return batches

    def run_probes(self) -> None:
        batches = self.plan_probes()
        all_keys = [task.key for task in self.probe_tasks]
        unique_keys = list(dict.fromkeys(all_keys))
        stored = self.store.existing_keys("probe_responses", unique_keys)
        started = self._begin("probes", len(unique_keys), len(stored))
        for batch in batches:
            if all(task.key in stored for task in batch):
                continue
            first = batch[0].respondent
            backend = self.load_backend(first.model)
            responses = backend.generate([task.prompt for task in batch], self._decoding(first))
            finished = 0
            for task, response in zip(batch, responses):
                if task.key in stored:
                    continue
                respondent = task.respondent
                columns = {
                    "model": respondent.model.label,
                    "profile": respondent.profile.name,
                    "safety_condition": respondent.safety_condition,
                    "replicate": respondent.replicate,
                    "probe_id": adapters.probe_id(task.probe),
                    "category": adapters.probe_category(task.probe),
                    "response": response,
                }
                record = {
                    "prompt": task.prompt,
                    "response": response,
                    "probe_id": adapters.probe_id(task.probe),
                    "category": adapters.probe_category(task.probe),
                    "decoding": self._decoding(respondent).as_dict(),
                }
                self._put_computed("probes", "probe_responses", task.key, columns, record, stored)
                finished += 1
            self.progress.advance(finished)
        self._end("probes", started)

    # ------------------------------------------------------------------ judging

    def run_judging(self) -> None:
        """Judge every probe response of the plan with the harm judge and the refusal judge."""
        if not self.probe_tasks:
            self.plan_probes()
        responses = self.store.records("probe_responses", [task.key for task in self.probe_tasks])
        missing = [task.key for task in self.probe_tasks if task.key not in responses]
        if missing:
            raise PsyvalError(
                f"{len(missing)} probe responses are missing from the store; run the probes stage first"
            )
        tasks_by_key = {task.key: task for task in self.probe_tasks}
        judge_specs = adapters.judge_plan(self.study.judge)
        plans: list[tuple[adapters.JudgeRunner, list[tuple[str, str]]]] = []
        for judge_spec in judge_specs:
            # One judge per respondent model when the judge runs on "the respondent's model".
            for model in self.study.models:
                model_tasks = [task for task in self.probe_tasks if task.respondent.model == model]
                if not model_tasks:
                    continue
                runner = self._judge_runner(judge_spec, model)
                judge_print = self._judge_fingerprint(runner)
                pairs: list[tuple[str, str]] = []
                for task in model_tasks:
                    response = responses[task.key]["response"]
                    key = result_key(
                        "judgment",
                        {
                            "response_key": task.key,
                            "response": response,
                            "judge": judge_print,
                            "judge_prompt": adapters.judge_prompt(runner, task.probe, response),
                        },
                    )
                    self.judgment_keys.setdefault(task.key, {})[runner.role] = key
                    pairs.append((task.key, key))
                plans.append((runner, list(dict.fromkeys(pairs))))
        all_keys = list(dict.fromkeys(key for _, pairs in plans for _, key in pairs))
        stored = self.store.existing_keys("judgments", all_keys)
        started = self._begin("judging", len(all_keys), len(stored))
        for runner, pairs in plans:
            for batch in _chunks(pairs, runner.batch_size):
                if all(key in stored for _, key in batch):
                    continue
                tasks = [tasks_by_key[response_key] for response_key, _ in batch]
                judgments = runner.judge(
                    [task.probe for task in tasks], [responses[task.key]["response"] for task in tasks]
                )
                finished = 0
                for (response_key, key), judgment in zip(batch, judgments):
                    if key in stored:
                        continue
                    columns = {"response_key": response_key, "judge": runner.role}
                    self._put_computed("judging", "judgments", key, columns, judgment, stored)
                    finished += 1
                self.progress.advance(finished)
        self._end("judging", started)

    # ------------------------------------------------------------------ join and after

    def run_join(self) -> tuple[Path, Path]:
        started = self._begin("join", len(self.respondents), 0)
        answers = self.store.records(
            "survey_answers", [key for keys in self.survey_keys.values() for key in keys.values()]
        )
        responses = self.store.records("probe_responses", [task.key for task in self.probe_tasks])
        judgments = self.store.records(
            "judgments", [key for roles in self.judgment_keys.values() for key in roles.values()]
        )
        table = build_respondent_table(
            self.respondents,
            self.instrument,
            self.items,
            self.survey_keys,
            answers,
            self.probe_tasks,
            responses,
            self.judgment_keys,
            judgments,
            self.study.probes.categories,
        )
        respondents_csv = self.out_dir / "respondents.csv"
        table.to_csv(respondents_csv, index=False)
        response_table = build_response_table(self.probe_tasks, responses, self.judgment_keys, judgments)
        probe_csv = self.out_dir / "probe_responses.csv"
        response_table.to_csv(probe_csv, index=False)
        self.counts["join"].computed = len(table)
        self.progress.advance(len(table))
        self._end("join", started, f"{respondents_csv.name}: {len(table)} rows x {table.shape[1]} columns")
        return respondents_csv, probe_csv

    def manifest(self, finished: bool) -> dict[str, Any]:
        models = {}
        for model in self.study.models:
            models[model.label] = self.load_backend(model).describe()
        return {
            "kind": "study",
            "psyval_version": __version__,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "study": {
                "name": self.study.name,
                "file": str(self.study.source) if self.study.source else None,
                "fingerprint": self.study.fingerprint(),
                "spec": self.study.as_dict(),
            },
            "models": models,
            "instrument": adapters.instrument_description(self.instrument),
            "probe_set": self.study.probes.set,
            "probes": [adapters.probe_id(probe) for probe in self.probes],
            "profiles": {
                profile.name: {"source": profile.source, "values": profile.values} for profile in self.profiles
            },
            "respondents": len(self.respondents),
            "judge": {"name": self.study.judge.name, "options": self.study.judge.options},
            "stages": {name: count.__dict__ for name, count in self.counts.items()},
            "runs": self.store.runs(),
            "finished": finished,
        }


def run_study(
    study: StudySpec,
    out_dir: str | Path,
    progress: Progress | None = None,
    backend_loader: BackendLoader | None = None,
    until: str = "report",
    trust_remote_code: bool = False,
) -> StudyRunResult:
    """Run ``study`` into ``out_dir``, continuing any earlier run there.

    Parameters
    ----------
    study
        A validated study (:func:`psyval.study.load_study`).
    out_dir
        Results folder. It contains ``study.sqlite``, ``respondents.csv``,
        ``probe_responses.csv``, ``manifest.json``, ``analysis/`` and ``report/``.
    progress
        Receives stage events; :class:`psyval.study.progress.TerminalProgress`
        draws them.
    backend_loader
        Builds a backend from a :class:`ModelSpec`; the default uses the
        backend registry and loads each model once.
    until
        The last stage to run (one of :data:`STAGES`).
    trust_remote_code
        Passed to every backend; the study file cannot set it.

    Returns
    -------
    StudyRunResult
    """
    if until not in STAGES:
        raise PsyvalError(f"unknown stage {until!r}; choose one of: {', '.join(STAGES)}")
    out = Path(out_dir)
    started = time.monotonic()
    # Backends from a caller's loader stay open, because the caller may reuse them.
    own_loader: _RegistryLoader | None = None
    if backend_loader is None:
        own_loader = _RegistryLoader(trust_remote_code)
        backend_loader = own_loader
    try:
        runner = StudyRunner(study, out, progress or Progress(), backend_loader, until)
    except BaseException:
        if own_loader is not None:
            own_loader.close()
        raise
    result = StudyRunResult(out_dir=out, store_path=runner.store.path, counts=runner.counts)
    last = STAGES.index(until)
    runner.store.begin_run(study.fingerprint(), {"psyval_version": __version__, "until": until})
    status = "failed"
    try:
        runner.run_survey()
        if last >= STAGES.index("probes"):
            runner.run_probes()
        if last >= STAGES.index("judging"):
            runner.run_judging()
        if last >= STAGES.index("join"):
            result.respondents_csv, result.probe_responses_csv = runner.run_join()
        manifest_path = out / "manifest.json"
        manifest_path.write_text(json.dumps(runner.manifest(finished=False), indent=2, default=str) + "\n")
        result.manifest_path = manifest_path
        if last >= STAGES.index("analyses") and result.respondents_csv is not None:
            stage_started = runner._begin("analyses", 1, 0)
            note = adapters.run_analyses(study, result.respondents_csv, out / "analysis", runner.items)
            runner.counts["analyses"].computed = 1
            runner.progress.advance()
            runner._end("analyses", stage_started, note)
        if last >= STAGES.index("report") and study.report and result.respondents_csv is not None:
            stage_started = runner._begin("report", 1, 0)
            result.report_paths = adapters.write_report(out)
            runner.counts["report"].computed = 1
            runner.progress.advance()
            runner._end("report", stage_started, f"{out / 'report'}")
        status = "finished"
    finally:
        runner.store.finish_run(status)
        result.seconds = time.monotonic() - started
        if status == "finished":
            manifest = runner.manifest(finished=True)
            manifest["seconds"] = round(result.seconds, 1)
            (out / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
        runner.store.close()
        if own_loader is not None:
            own_loader.close()
    return result
