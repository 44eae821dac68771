"""``psyval probe``: send harm probes to a model under safety conditions and judge the responses."""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import sys
import time
from pathlib import Path
from typing import Any

import click

from psyval import __version__
from psyval.cli.options import backend_from_options, backend_options, quiet_transformers, warnings_as_lines
from psyval.errors import PsyvalError
from psyval.study.spec import MAX_SEED

log = logging.getLogger(__name__)

JUDGE_NAMES = ("refusal", "rubric", "llama-guard")
CONDITION_NAMES = ("input-only", "safety-prompt", "value-prompt", "both")




def _torch_threads() -> int | None:
    try:
        import torch
    except ImportError:
        return None
    return int(torch.get_num_threads())


def _file_sha256(paths: str) -> dict[str, str]:
    digests = {}
    for part in paths.split(";"):
        path = Path(part)
        if path.is_file():
            digests[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def _manifest_path(out: Path) -> Path:
    """Return manifest.json, or probe_manifest.json when the folder already contains another command's manifest."""
    path = out / "manifest.json"
    if path.exists():
        try:
            existing = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            existing = {}
        if existing.get("command") != "probe":
            return out / "probe_manifest.json"
    return path


@click.command()
@backend_options
@click.option("--probes", "probe_set", default="psyval", show_default=True,
              help="Bundled probe set (psyval, psyval-harm, psyval-benign) or a probe file or HEx-PHI folder.")
@click.option("--format", "file_format", default="auto", show_default=True,
              type=click.Choice(["auto", "psyval", "hexphi", "beavertails", "harmbench", "advbench", "jailbreakbench"]),
              help="Format of a probe file given with --probes.")
@click.option("--category", "categories", multiple=True, help="Keep only this HEx-PHI category id (repeatable).")
@click.option("--kind", type=click.Choice(["all", "harmful", "benign"]), default="all", show_default=True,
              help="Keep harmful probes, benign controls, or both.")
@click.option("--per-category", type=click.IntRange(min=1), default=2, show_default=True,
              help="Probes kept per category and kind, in file order; --all-probes keeps every probe.")
@click.option("--all-probes", is_flag=True, help="Use every probe of the set (overrides --per-category).")
@click.option("--profile", "profiles", multiple=True,
              help="Target value profile: a preset name or profile file; 'none' for no profile (repeatable).")
@click.option("--condition", "conditions", multiple=True, type=click.Choice(CONDITION_NAMES),
              help="Safety condition (repeatable; default input-only).")
@click.option("--suppress-value", default=None,
              help="Value that value-prompt and both ask the model to set aside (default: the profile's top value).")
@click.option("--judge", "judges", multiple=True, type=click.Choice(JUDGE_NAMES),
              help="Judge (repeatable; default refusal and rubric).")
@click.option("--judge-model", default=None,
              help="Model of the rubric judge (default: the probed model).")
@click.option("--judge-backend", default=None, help="Backend of --judge-model for the rubric judge (default: --backend).")
@click.option("--guard-model", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Local Llama Guard-family model folder for the llama-guard judge.")
@click.option("--temperature", type=float, default=0.1, show_default=True, help="Sampling temperature.")
@click.option("--top-p", type=float, default=0.75, show_default=True, help="Nucleus sampling mass.")
@click.option("--max-new-tokens", type=click.IntRange(min=1), default=64, show_default=True,
              help="Maximum new tokens per response.")
@click.option("--greedy", is_flag=True, help="Greedy decoding (ignores --temperature and --top-p).")
@click.option("--seed", type=click.IntRange(0, MAX_SEED), default=0, show_default=True,
              help="Sampling seed, stored in every row.")
@click.option("--batch-size", type=click.IntRange(min=1), default=16, show_default=True,
              help="Prompts generated per batch.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Torch CPU threads (default: torch's choice); 1 avoids oversubscription on a shared CPU.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for probe_responses.csv, harm_scores.csv and the manifest.")
def probe(
    probe_set: str,
    file_format: str,
    categories: tuple[str, ...],
    kind: str,
    per_category: int,
    all_probes: bool,
    profiles: tuple[str, ...],
    conditions: tuple[str, ...],
    suppress_value: str | None,
    judges: tuple[str, ...],
    judge_model: str | None,
    judge_backend: str | None,
    guard_model: Path | None,
    temperature: float,
    top_p: float,
    max_new_tokens: int,
    greedy: bool,
    seed: int,
    batch_size: int,
    threads: int | None,
    out: Path,
    **backend_settings: Any,
) -> None:
    """Send harm probes to a model and judge the responses.

    Every profile is crossed with every condition. Writes probe_responses.csv
    (responses verbatim), harm_scores.csv (per category, with 95% CIs) and a
    manifest with the decoding settings and seeds.
    """
    import pandas as pd

    from psyval.judges import apply_judges, load_judge
    from psyval.probes import generate_responses, harm_table, load_probe_set
    from psyval.probes.conditions import (
        SAFETY_INSTRUCTION,
        check_condition,
        default_suppress_value,
        value_instruction,
    )
    from psyval.probes.harm import HARM_COLUMNS
    from psyval.probes.printing import format_harm_table
    from psyval.profiles import load_profile
    from psyval.respondents.base import Backend, Decoding

    started = time.time()
    quiet_transformers()
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    if not 0 < top_p <= 1:
        raise PsyvalError(f"--top-p {top_p!r} is invalid; give a value in (0, 1]")
    if temperature <= 0 and not greedy:
        raise PsyvalError(f"--temperature {temperature!r} is invalid for sampling; give a positive value or --greedy")
    conditions = conditions or ("input-only",)
    judges = judges or ("refusal", "rubric")
    profile_names = profiles or ("none",)
    loaded_profiles = [None if name == "none" else load_profile(name) for name in profile_names]
    plan: list[tuple[Any, str, str | None]] = []
    for profile in loaded_profiles:
        for condition in conditions:
            suppress = None
            if condition in ("value-prompt", "both"):
                suppress = suppress_value or (default_suppress_value(profile) if profile is not None else None)
            check_condition(condition, suppress)
            plan.append((profile, condition, suppress))

    probes = load_probe_set(probe_set, file_format)
    present = sorted({probe.category for probe in probes})
    absent = [category for category in categories if category not in present]
    if absent:
        raise PsyvalError(
            f"--category {', '.join(map(repr, absent))} matches no probe in {probe_set!r}; "
            f"use one of: {', '.join(present)}"
        )
    probes = probes.subset(
        categories=categories or None,
        kinds=None if kind == "all" else [kind],
        per_category=None if all_probes else per_category,
    )
    if len(probes) == 0:
        raise PsyvalError(f"no probes left in {probe_set!r} after --category/--kind filters; loosen them")
    decoding = Decoding(max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, greedy=greedy, seed=seed)

    backend = backend_from_options(**backend_settings)
    judge_objects = []
    for name in judges:
        if name == "rubric":
            judge_backend_obj = backend
            if judge_model is not None or judge_backend is not None:
                judge_settings = dict(backend_settings)
                judge_settings["model"] = judge_model or backend_settings.get("model")
                judge_settings["backend_name"] = judge_backend or backend_settings["backend_name"]
                judge_backend_obj = backend_from_options(**judge_settings)
            judge_objects.append(load_judge("rubric", backend=judge_backend_obj))
        elif name == "llama-guard":
            judge_objects.append(load_judge("llama-guard", model_path=guard_model, device=backend_settings["device"]))
        else:
            judge_objects.append(load_judge(name))

    out.mkdir(parents=True, exist_ok=True)
    frames = []
    with warnings_as_lines():
        for number, (profile, condition, suppress) in enumerate(plan, start=1):
            profile_name = "none" if profile is None else profile.name
            click.echo(f"[{number}/{len(plan)}] {len(probes)} probes, profile={profile_name}, condition={condition}", err=True)
            responses = generate_responses(
                backend, probes, profile=profile, condition=condition, suppress_value=suppress,
                decoding=decoding, batch_size=batch_size,
            )
            frames.append(apply_judges(responses, judge_objects))
        judged = pd.concat(frames, ignore_index=True)
        table = harm_table(judged)

    responses_path = out / "probe_responses.csv"
    scores_path = out / "harm_scores.csv"
    judged.to_csv(responses_path, index=False)
    table.to_csv(scores_path, index=False, columns=list(HARM_COLUMNS))
    error_counts = {
        judge.name: int((judged[f"{judge.column_prefix}_status"] == "judge_error").sum()) for judge in judge_objects
    }
    manifest = {
        "command": "probe",
        "psyval_version": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "argv": sys.argv[1:],
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "elapsed_s": round(time.time() - started, 1),
        "backend": backend.describe(),
        "torch_threads": _torch_threads(),
        "probe_set": {"name": probes.name, "n": len(probes), "files": _file_sha256(probes.path)},
        "decoding": decoding.as_dict(),
        "conditions": [
            {"profile": "none" if p is None else p.name, "condition": c, "suppress_value": s} for p, c, s in plan
        ],
        "instructions": {
            "safety": SAFETY_INSTRUCTION,
            "value": {s: value_instruction(s) for _, _, s in plan if s},
        },
        "judges": [judge.describe() for judge in judge_objects],
        "judge_errors": error_counts,
        "outputs": [responses_path.name, scores_path.name],
    }
    manifest_path = _manifest_path(out)
    manifest_path.write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
    # Server backends hold open HTTP connections; close them before exit so
    # Python does not warn about unclosed sockets.
    judge_backends = [getattr(judge, "backend", None) for judge in judge_objects]
    for used in {id(b): b for b in [backend, *judge_backends] if isinstance(b, Backend)}.values():
        used.close()

    click.echo(f"psyval {__version__}  model {backend.model_id}  judges {', '.join(judges)}")
    click.echo(
        f"decoding: temperature {decoding.temperature}, top_p {decoding.top_p}, max_new_tokens "
        f"{decoding.max_new_tokens}, greedy {decoding.greedy}, seed {decoding.seed}"
    )
    errors_line = ", ".join(f"{name} {count}" for name, count in error_counts.items())
    click.echo(f"judge errors (never counted as safe or harmful): {errors_line}")
    click.echo("")
    click.echo(format_harm_table(table))
    click.echo("")
    click.echo(f"wrote {responses_path}, {scores_path}, {manifest_path}")
