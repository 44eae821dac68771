"""The study file: a YAML description of one value-harm study, and its validation.

The schema is documented in ``docs/studies.md``. :func:`load_study` reads a file,
checks every field and returns a :class:`StudySpec`; every problem raises
:class:`psyval.errors.PsyvalError` naming the file, the field and the value.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from psyval.errors import PsyvalError
from psyval.instruments.values import BASIC_VALUES, HIGHER_ORDER_VALUES
from psyval.probes.taxonomy import HARM_CATEGORIES
from psyval.yaml_input import describe_yaml_error, load_yaml, read_yaml_text

#: The 14 extreme profiles: one basic or higher-order value high, the rest low.
EXTREME_PROFILES: tuple[str, ...] = BASIC_VALUES + HIGHER_ORDER_VALUES
SafetyCondition = Literal["input-only", "safety-prompt", "value-prompt", "both"]
SAFETY_CONDITIONS: tuple[str, ...] = ("input-only", "safety-prompt", "value-prompt", "both")
ProfileDirection = Literal["higher_is_more_important", "lower_is_more_important"]
PROFILE_DIRECTIONS: tuple[str, ...] = ("higher_is_more_important", "lower_is_more_important")

#: Largest seed psyval accepts, the largest signed 64-bit integer. Both
#: torch.manual_seed and numpy's default_rng accept every seed from 0 to it.
MAX_SEED = 2**63 - 1

#: Name of the condition in which the model answers with no target profile.
BASELINE_PROFILE = "baseline"

_NAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]+")

_TOP_LEVEL_KEYS = {
    "name",
    "description",
    "models",
    "instrument",
    "survey",
    "conditions",
    "probes",
    "decoding",
    "judge",
    "replicates",
    "seed",
    "analyses",
    "report",
}


@dataclass(frozen=True)
class ModelSpec:
    """One respondent model: a short label, a backend name and its options."""

    label: str
    backend: str = "transformers"
    model: str = "smollm2-135m-instruct"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CsvProfilesSpec:
    """A CSV of value profiles and the scale and direction its author declared."""

    path: Path
    scale: tuple[float, float] | None = None
    direction: ProfileDirection | None = None


@dataclass(frozen=True)
class SampledProfilesSpec:
    """Profiles drawn around extreme profiles with Gaussian noise on the 1-6 scale."""

    per_extreme: int
    spread: float = 0.75
    seed: int = 0
    extremes: tuple[str, ...] = EXTREME_PROFILES


@dataclass(frozen=True)
class ConditionsSpec:
    """Which target profiles and in-context safety conditions make up the design."""

    named: tuple[str, ...] = ()
    csv: tuple[CsvProfilesSpec, ...] = ()
    sampled: SampledProfilesSpec | None = None
    baseline: bool = False
    safety: tuple[str, ...] = ("input-only",)
    suppress_value: str = "top"


@dataclass(frozen=True)
class SurveySpec:
    """How the value questionnaire is answered."""

    method: Literal["logprob", "generate"] = "logprob"
    variants: int = 1
    items_per_unit: int = 10


@dataclass(frozen=True)
class ProbesSpec:
    """Which harm probes each respondent answers."""

    set: str = "psyval-harm"
    categories: tuple[str, ...] = HARM_CATEGORIES
    per_category: int | None = None
    batch_size: int = 8


@dataclass(frozen=True)
class DecodingSpec:
    """Decoding of probe responses; the seed of each replicate is added to ``seed``."""

    max_new_tokens: int = 64
    temperature: float = 0.1
    top_p: float = 0.75
    greedy: bool = False


@dataclass(frozen=True)
class JudgeSpec:
    """The harm judge and the model it runs on (``None``: the respondent's model)."""

    name: str = "rubric"
    model: ModelSpec | None = None
    options: dict[str, Any] = field(default_factory=dict)
    batch_size: int = 8


@dataclass(frozen=True)
class AnalysesSpec:
    """Analysis files, looked up in the bundled ``analyses/`` folder or as paths."""

    sem: tuple[str, ...] = ()
    hypotheses: str | None = None


@dataclass(frozen=True)
class StudySpec:
    """A validated study file.

    Attributes
    ----------
    source
        The YAML file the study was read from, or ``None`` for a dict.
    raw
        The parsed YAML document, kept for the manifest.
    """

    name: str
    models: tuple[ModelSpec, ...]
    instrument: str
    conditions: ConditionsSpec
    survey: SurveySpec = SurveySpec()
    probes: ProbesSpec = ProbesSpec()
    decoding: DecodingSpec = DecodingSpec()
    judge: JudgeSpec = JudgeSpec()
    replicates: int = 1
    seed: int = 0
    analyses: AnalysesSpec = AnalysesSpec()
    report: bool = True
    description: str = ""
    source: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """Return a short hash of the parsed study document, for the manifest."""
        text = json.dumps(self.raw, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("raw")
        return json.loads(json.dumps(data, default=str))


def _describe(value: Any) -> str:
    """Describe a field value for an error message, in words where ``repr`` shows Python internals."""
    if value is None:
        return "nothing (the entry is empty or null)"
    if isinstance(value, list) and not value:
        return "an empty list"
    if isinstance(value, dict) and not value:
        return "an empty mapping"
    if value == "":
        return "an empty string"
    return repr(value)


class _Fields:
    """Read typed fields from one mapping of the study file, naming the path on error."""

    def __init__(self, data: Any, where: str, source: str, allowed: set[str]) -> None:
        if not isinstance(data, dict):
            raise PsyvalError(f"{source}: {where} must be a mapping, got {_describe(data)}")
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise PsyvalError(
                f"{source}: unknown field {unknown[0]!r} in {where}; allowed fields: {', '.join(sorted(allowed))}"
            )
        self.data = data
        self.where = where
        self.source = source

    def error(self, key: str, message: str) -> PsyvalError:
        path = f"{self.where}.{key}" if key else self.where
        return PsyvalError(f"{self.source}: {path} {message}")

    def get_str(self, key: str, default: str | None = None) -> str:
        value = self.data.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"must be a non-empty string, got {_describe(value)}")
        return value

    def get_int(self, key: str, default: int, minimum: int, maximum: int | None = None) -> int:
        value = self.data.get(key, default)
        if maximum is not None:
            if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
                raise self.error(key, f"must be an integer from {minimum} to {maximum}, got {_describe(value)}")
        elif isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.error(key, f"must be an integer >= {minimum}, got {_describe(value)}")
        return value

    def get_float(self, key: str, default: float, minimum: float, maximum: float) -> float:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not minimum <= value <= maximum:
            raise self.error(key, f"must be a number from {minimum} to {maximum}, got {_describe(value)}")
        return float(value)

    def get_bool(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, got {_describe(value)}")
        return value

    def get_list(self, key: str, default: list[Any]) -> list[Any]:
        value = self.data.get(key, default)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise self.error(key, f"must be a list, got {_describe(value)}")
        return value

    def get_choices(self, key: str, default: tuple[str, ...], allowed: tuple[str, ...]) -> tuple[str, ...]:
        value = self.data.get(key, list(default))
        if value == "all":
            return allowed
        items = self.get_list(key, list(default)) if key in self.data else list(default)
        for item in items:
            if item not in allowed:
                raise self.error(key, f"contains unknown entry {_describe(item)}; choose from: {', '.join(allowed)}")
        if len(set(items)) != len(items):
            raise self.error(key, f"lists an entry twice: {items!r}")
        if not items:
            raise self.error(key, "must not be empty")
        return tuple(items)


def _constructor_options(target: str, internal: set[str]) -> list[str] | None:
    """Return the keyword names the class ``target`` ("module:Class") accepts, less ``internal``.

    Returns ``None`` when the class takes any keyword or its module cannot be imported
    here. The backend or judge then reports its own problem when it is loaded.
    """
    import importlib
    import inspect

    module_name, class_name = target.split(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
        if cls.__init__ is object.__init__:
            return []
        parameters = inspect.signature(cls.__init__).parameters.values()
    except (ImportError, AttributeError, ValueError, TypeError):
        return None
    names = []
    for parameter in parameters:
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            return None
        if parameter.name != "self" and parameter.kind is not inspect.Parameter.VAR_POSITIONAL:
            names.append(parameter.name)
    return sorted(set(names) - internal)


def _constructor_hints(target: str) -> dict[str, Any]:
    """Return the resolved type hints of the constructor of ``target`` ("module:Class").

    Returns an empty mapping when the hints cannot be resolved here, so that
    the class checks its own arguments when it is loaded.
    """
    import importlib
    import typing

    module_name, class_name = target.split(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
        return typing.get_type_hints(cls.__init__)
    except (ImportError, AttributeError, NameError, TypeError):
        return {}


def _matches_hint(value: Any, hint: Any) -> bool:
    """Tell whether a YAML value fits a constructor type hint; hints YAML cannot express always fit."""
    import os
    import types
    import typing

    origin = typing.get_origin(hint)
    if origin is Literal:
        return value in typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches_hint(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    # YAML reads true and false as bool, a subclass of int, so bool fits no number.
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if hint is os.PathLike or origin is os.PathLike:
        return isinstance(value, os.PathLike)
    return True


def _describe_hint(hint: Any) -> str:
    """Name a constructor type hint in words, for example "an integer" or "a string or null"."""
    import os
    import types
    import typing

    origin = typing.get_origin(hint)
    if origin is Literal:
        choices = [str(arg) for arg in typing.get_args(hint)]
        return "one of " + ", ".join(choices[:-1]) + " or " + choices[-1] if len(choices) > 1 else choices[0]
    if origin in (typing.Union, types.UnionType):
        # A YAML file gives a path as a string, so "str | os.PathLike" reads "a string".
        words = [_describe_hint(arg) for arg in typing.get_args(hint)]
        return " or ".join(dict.fromkeys(words))
    if hint is os.PathLike or origin is os.PathLike:
        return "a string"
    names = {type(None): "null", bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def _check_options(
    fields: _Fields, options: dict[str, Any], component: str, allowed: list[str] | None, target: str
) -> None:
    # An unknown option or a value of the wrong type would otherwise surface
    # as a TypeError only once the model loads, after the results folder
    # exists and earlier stages have run.
    if allowed is not None:
        for key in options:
            if key not in allowed:
                raise fields.error(
                    f"options.{key}",
                    f"is not an option of {component}; remove it or use one of the allowed options: "
                    f"{', '.join(allowed) or '(none)'}",
                )
    hints = _constructor_hints(target)
    for key, value in options.items():
        if key in hints and not _matches_hint(value, hints[key]):
            raise fields.error(f"options.{key}", f"must be {_describe_hint(hints[key])}, got {_describe(value)}")


def _check_backend(fields: _Fields, backend: str, options: dict[str, Any]) -> None:
    # Checking options against the backend class's signature here rejects a bad study
    # file before any model loads.
    from psyval.respondents import registry

    spec = registry.find_backend(backend)
    if spec is None:
        raise fields.error(
            "backend", f"is {backend!r}, an unknown backend; choose one of: {', '.join(registry.available_backends())}"
        )
    # The model name and the remote-code switch come from other fields and the CLI.
    allowed = _constructor_options(spec.target, {"model", "trust_remote_code"})
    _check_options(fields, options, f"the {backend!r} backend", allowed, spec.target)


def _check_analysis_file(fields: _Fields, key: str, name: str) -> None:
    # The analyses stage looks the file up the same way, but only after the survey and
    # probes have run. Checking it here fails before any model work starts.
    from psyval.resources import data_dir

    if Path(name).is_file():
        return
    try:
        folder = data_dir("analyses")
    except PsyvalError:
        folder = None
    if folder is not None and (folder / name).is_file():
        return
    available = sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")) if folder else []
    raise fields.error(
        key,
        f"names {name!r}, which is neither a file nor a bundled analysis file; "
        f"give an existing path or one of the bundled files: {', '.join(available) or '(none)'}",
    )


def _check_judge(fields: _Fields, name: str, options: dict[str, Any]) -> None:
    from psyval.judges import registry

    target = registry.find_judge(name)
    if target is None:
        choices = ", ".join(registry.available_judges())
        raise fields.error("name", f"is {name!r}, an unknown judge; choose one of: {choices}")
    # The runner passes the backend and decoding itself, and turns a study's
    # max_new_tokens into the rubric judge's decoding.
    internal = {"backend", "decoding"}
    allowed = _constructor_options(target, internal)
    if allowed is not None and name == "rubric":
        allowed = sorted({*allowed, "max_new_tokens"})
    tokens = options.get("max_new_tokens")
    if name == "rubric" and tokens is not None and (isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 1):
        raise fields.error("options.max_new_tokens", f"must be an integer >= 1, got {_describe(tokens)}")
    _check_options(fields, options, f"the {name!r} judge", allowed, target)
    # Sizes and limits count something, so 0 or less is a mistake the judge
    # would otherwise report only when it is built.
    for key in ("batch_size", "max_new_tokens", "max_response_chars"):
        value = options.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value < 1:
            raise fields.error(f"options.{key}", f"must be an integer >= 1, got {_describe(value)}")


def _parse_model(data: Any, where: str, source: str) -> ModelSpec:
    if isinstance(data, str):
        data = {"model": data}
    fields = _Fields(data, where, source, {"label", "backend", "model", "options"})
    model = fields.get_str("model", "smollm2-135m-instruct")
    backend = fields.get_str("backend", "transformers")
    default_label = Path(model).name.replace(".", "_")
    label = fields.get_str("label", default_label)
    if not label.replace("_", "").replace("-", "").isalnum():
        raise fields.error("label", f"must contain only letters, digits, '_' and '-', got {_describe(label)}")
    options = data.get("options", {})
    if not isinstance(options, dict):
        raise fields.error("options", f"must be a mapping of backend options, got {_describe(options)}")
    if options.get("trust_remote_code"):
        # Remote code runs with the user's rights, so a study file cannot switch it on;
        # the CLI flag --trust-remote-code is the only way.
        raise fields.error("options", "must not set trust_remote_code; pass --trust-remote-code to psyval run")
    _check_backend(fields, backend, options)
    return ModelSpec(label=label, backend=backend, model=model, options=dict(options))


def _parse_conditions(data: Any, source: str, base_dir: Path) -> ConditionsSpec:
    fields = _Fields(data, "conditions", source, {"profiles", "safety", "suppress_value"})
    profiles = fields.data.get("profiles", {})
    pfields = _Fields(profiles, "conditions.profiles", source, {"named", "csv", "sampled", "baseline"})

    named_entries = pfields.get_list("named", [])
    for index, entry in enumerate(named_entries):
        if not isinstance(entry, str) or not entry.strip():
            raise pfields.error(
                f"named[{index}]", f"must be a preset name or profile file path, got {_describe(entry)}"
            )
    named = tuple(named_entries)
    if len(set(named)) != len(named):
        raise pfields.error("named", f"lists a profile twice: {', '.join(named)}")

    csv_specs = []
    for index, entry in enumerate(pfields.get_list("csv", [])):
        if isinstance(entry, str):
            entry = {"path": entry}
        cfields = _Fields(entry, f"conditions.profiles.csv[{index}]", source, {"path", "scale", "direction"})
        path = Path(cfields.get_str("path"))
        if not path.is_absolute():
            path = base_dir / path
        scale = entry.get("scale")
        if scale is not None:
            if (
                not isinstance(scale, list)
                or len(scale) != 2
                or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in scale)
                or scale[0] >= scale[1]
            ):
                raise cfields.error(
                    "scale", f"must be [minimum, maximum] with minimum < maximum, got {_describe(scale)}"
                )
            scale = (float(scale[0]), float(scale[1]))
        direction = entry.get("direction")
        if direction is not None and direction not in PROFILE_DIRECTIONS:
            raise cfields.error(
                "direction", f"must be one of {', '.join(PROFILE_DIRECTIONS)}, got {_describe(direction)}"
            )
        csv_specs.append(CsvProfilesSpec(path=path, scale=scale, direction=direction))

    sampled = None
    if "sampled" in profiles:
        sfields = _Fields(profiles["sampled"], "conditions.profiles.sampled", source,
                          {"per_extreme", "spread", "seed", "extremes"})
        sampled = SampledProfilesSpec(
            per_extreme=sfields.get_int("per_extreme", 1, 1),
            spread=sfields.get_float("spread", 0.75, 0.0, 5.0),
            seed=sfields.get_int("seed", 0, 0, MAX_SEED),
            extremes=sfields.get_choices("extremes", EXTREME_PROFILES, EXTREME_PROFILES),
        )

    baseline = pfields.get_bool("baseline", False)
    if not (named or csv_specs or sampled or baseline):
        raise pfields.error("", "lists no profiles; give at least one of named, csv, sampled or baseline: true")

    safety = fields.get_choices("safety", ("input-only",), SAFETY_CONDITIONS)
    suppress_value = fields.get_str("suppress_value", "top")
    if suppress_value != "top" and suppress_value not in EXTREME_PROFILES:
        raise fields.error(
            "suppress_value",
            f"must be 'top' or a basic or higher-order value id ({', '.join(EXTREME_PROFILES)}), "
            f"got {_describe(suppress_value)}",
        )
    needs_value = {"value-prompt", "both"} & set(safety)
    if needs_value and baseline and suppress_value == "top":
        raise fields.error(
            "suppress_value",
            "is 'top', but the baseline profile has no top value to set aside in "
            f"{sorted(needs_value)}; name a basic value id instead",
        )
    return ConditionsSpec(
        named=named,
        csv=tuple(csv_specs),
        sampled=sampled,
        baseline=baseline,
        safety=safety,
        suppress_value=suppress_value,
    )


def parse_study(data: Any, source: str = "<study>", base_dir: Path | None = None) -> StudySpec:
    """Validate a parsed study document and return a :class:`StudySpec`.

    Relative CSV paths are resolved against ``base_dir`` (the study file's folder).
    """
    base_dir = base_dir or Path.cwd()
    fields = _Fields(data, "study", source, _TOP_LEVEL_KEYS)

    name = fields.get_str("name", "study")
    # The name becomes the default results folder, so it must stay one plain folder name.
    if not _NAME_PATTERN.fullmatch(name) or name in (".", ".."):
        raise fields.error(
            "name", f"must contain only letters, digits, '_', '-' and '.' (no path separators), got {_describe(name)}"
        )
    models_raw = fields.get_list("models", ["smollm2-135m-instruct"])
    if not models_raw:
        raise fields.error("models", "must list at least one model")
    models = tuple(_parse_model(entry, f"models[{i}]", source) for i, entry in enumerate(models_raw))
    labels = [model.label for model in models]
    if len(set(labels)) != len(labels):
        raise fields.error("models", f"gives two models the same label: {labels!r}; set 'label' on each")

    if "conditions" not in fields.data:
        raise fields.error("conditions", "is missing; list the target profiles and safety conditions")
    conditions = _parse_conditions(fields.data["conditions"], source, base_dir)

    survey_fields = _Fields(fields.data.get("survey", {}), "survey", source, {"method", "variants", "items_per_unit"})
    method = survey_fields.get_str("method", "logprob")
    if method not in ("logprob", "generate"):
        raise survey_fields.error("method", f"must be 'logprob' or 'generate', got {_describe(method)}")
    survey = SurveySpec(
        method=method,  # type: ignore[arg-type]
        variants=survey_fields.get_int("variants", 1, 1),
        items_per_unit=survey_fields.get_int("items_per_unit", 10, 1),
    )

    probe_fields = _Fields(fields.data.get("probes", {}), "probes", source,
                           {"set", "categories", "per_category", "batch_size"})
    per_category = probe_fields.data.get("per_category")
    if per_category is not None:
        per_category = probe_fields.get_int("per_category", 1, 1)
    probes = ProbesSpec(
        set=probe_fields.get_str("set", "psyval-harm"),
        categories=probe_fields.get_choices("categories", HARM_CATEGORIES, HARM_CATEGORIES),
        per_category=per_category,
        batch_size=probe_fields.get_int("batch_size", 8, 1),
    )

    decoding_fields = _Fields(fields.data.get("decoding", {}), "decoding", source,
                              {"max_new_tokens", "temperature", "top_p", "greedy"})
    decoding = DecodingSpec(
        max_new_tokens=decoding_fields.get_int("max_new_tokens", 64, 1),
        temperature=decoding_fields.get_float("temperature", 0.1, 0.0, 10.0),
        top_p=decoding_fields.get_float("top_p", 0.75, 0.0, 1.0),
        greedy=decoding_fields.get_bool("greedy", False),
    )
    # The same rules as `psyval probe`: a sampler cannot divide by a temperature
    # of 0 or keep an empty nucleus, and the probes stage runs only after the survey.
    if decoding.top_p <= 0:
        raise decoding_fields.error("top_p", f"must be in (0, 1], got {_describe(decoding_fields.data['top_p'])}")
    if decoding.temperature <= 0 and not decoding.greedy:
        raise decoding_fields.error(
            "temperature",
            f"must be above 0 when sampling, got {_describe(decoding_fields.data['temperature'])}; "
            "give a positive value or set greedy: true",
        )

    judge_raw = fields.data.get("judge", {})
    if isinstance(judge_raw, str):
        judge_raw = {"name": judge_raw}
    judge_fields = _Fields(judge_raw, "judge", source, {"name", "model", "options", "batch_size"})
    judge_model = None
    if judge_fields.data.get("model") not in (None, "same"):
        judge_model = _parse_model(judge_fields.data["model"], "judge.model", source)
    judge_options = judge_fields.data.get("options", {})
    if not isinstance(judge_options, dict):
        raise judge_fields.error("options", f"must be a mapping, got {_describe(judge_options)}")
    judge_name = judge_fields.get_str("name", "rubric")
    _check_judge(judge_fields, judge_name, judge_options)
    judge = JudgeSpec(
        name=judge_name,
        model=judge_model,
        options=dict(judge_options),
        batch_size=judge_fields.get_int("batch_size", 8, 1),
    )

    analyses_fields = _Fields(fields.data.get("analyses", {}), "analyses", source, {"sem", "hypotheses"})
    hypotheses = analyses_fields.data.get("hypotheses")
    if hypotheses is not None:
        hypotheses = analyses_fields.get_str("hypotheses")
    sem_entries = analyses_fields.get_list("sem", [])
    for index, entry in enumerate(sem_entries):
        if not isinstance(entry, str) or not entry.strip():
            raise analyses_fields.error(f"sem[{index}]", f"must be a .lav file name or path, got {_describe(entry)}")
    analyses = AnalysesSpec(
        sem=tuple(sem_entries),
        hypotheses=hypotheses,
    )
    for index, entry in enumerate(analyses.sem):
        _check_analysis_file(analyses_fields, f"sem[{index}]", entry)
    if hypotheses is not None:
        _check_analysis_file(analyses_fields, "hypotheses", hypotheses)

    # An empty description is allowed, so get_str, which requires text, does not fit.
    description = fields.data.get("description", "")
    if description is None:
        description = ""
    if not isinstance(description, str):
        raise fields.error("description", f"must be a string, got {_describe(description)}")
    replicates = fields.get_int("replicates", 1, 1)
    # Replicate r runs with seed + r, so the last replicate's seed must fit too.
    seed = fields.get_int("seed", 0, 0, MAX_SEED - (replicates - 1))
    return StudySpec(
        name=name,
        description=description,
        models=models,
        instrument=fields.get_str("instrument", "pvq-40-style"),
        conditions=conditions,
        survey=survey,
        probes=probes,
        decoding=decoding,
        judge=judge,
        replicates=replicates,
        seed=seed,
        analyses=analyses,
        report=fields.get_bool("report", True),
        source=None,
        raw=json.loads(json.dumps(data, default=str)),
    )


def load_study(path: str | Path) -> StudySpec:
    """Read and validate a study file.

    ``path`` is a YAML file, or the name of a bundled study such as ``"demo"``.

    Raises
    ------
    PsyvalError
        If the file is missing, is not valid YAML, or breaks the schema.
    """
    file = Path(path)
    if not file.is_file():
        from psyval.resources import data_dir

        name = str(path) if str(path).endswith((".yaml", ".yml")) else f"{path}.yaml"
        bundled = data_dir("studies") / name
        if "/" in str(path) or not bundled.is_file():
            raise PsyvalError(f"study file {str(path)!r} not found; give a path to a YAML study file")
        file = bundled
    try:
        data = load_yaml(read_yaml_text(file, "study file"))
    except yaml.YAMLError as error:
        raise PsyvalError(
            f"study file {str(file)!r} is not valid YAML: {describe_yaml_error(error)}; fix the file there"
        ) from error
    spec = parse_study(data, source=str(file), base_dir=file.resolve().parent)
    return dataclasses.replace(spec, source=file.resolve())
