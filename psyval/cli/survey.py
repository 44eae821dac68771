"""``psyval survey`` and ``psyval score``: survey a model's value profile, or rescore saved responses."""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import click

from psyval.cli.options import backend_from_options, backend_options, quiet_transformers, warnings_as_lines
from psyval.errors import PsyvalError
from psyval.study.spec import MAX_SEED

log = logging.getLogger(__name__)

#: File in the --out folder that records each finished answer, so a rerun
#: with the same settings resumes an interrupted survey.
JOURNAL_NAME = "answers.jsonl"

#: Items per model call in the CLI. Smaller than the library default, so a
#: killed run loses at most this many answers.
JOURNAL_CHUNK_SIZE = 16




def _spread_summary(responses: Any, scores: Any, respondent: str, top: int = 5) -> str:
    items = scores[(scores["respondent"] == respondent) & (scores["level"] == "item")]
    items = items.dropna(subset=["spread"]).sort_values("spread", ascending=False)
    if items.empty:
        return ""
    lines = [
        f"Spread of item answers across variants (SD): mean {items['spread'].mean():.2f}, "
        f"max {items['spread'].max():.2f}. Largest:"
    ]
    for row in items.head(top).itertuples():
        lines.append(f"  {row.value:<8} SD {row.spread:.2f}  mean {row.raw:.2f}")
    by_numbering = responses.groupby("numbering")["answer"].mean()
    if len(by_numbering) > 1:
        parts = ", ".join(f"{name} {value:.2f}" for name, value in by_numbering.items())
        lines.append(f"Mean answer by scale numbering: {parts}")
    return "\n".join(lines)


@click.command("survey")
@backend_options
@click.option(
    "--instrument", "-i", default="pvq-40-style", show_default=True,
    help="Bundled instrument name (pvq-40-style, pvq-rr-style) or path of an instrument YAML file.",
)
@click.option(
    "--profile", "-p", default=None,
    help="Target profile: a preset name (a basic or higher-order value id, e.g. hedonism) or a profile file.",
)
@click.option(
    "--method", type=click.Choice(["logprob", "generate"]), default="logprob", show_default=True,
    help="logprob: read the option distribution at the answer position; generate: generate and parse an answer.",
)
@click.option(
    "--variants", type=click.IntRange(min=1), default=1, show_default=True,
    help="Prompt variants per item: instruction wordings crossed with both scale numbering directions.",
)
@click.option(
    "--seed", type=click.IntRange(0, MAX_SEED), default=0, show_default=True,
    help="Seed of the item order and of generation.",
)
@click.option(
    "--out", "-o", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help=(
        "Folder for responses.csv, scores.csv, manifest.json and the answers.jsonl record of finished "
        "answers, from which a rerun with the same settings resumes (default: results/survey)."
    ),
)
@click.option(
    "--no-progress", is_flag=True, default=False,
    help="Hide the progress bar (it is always hidden when stderr is not a terminal).",
)
def survey(
    instrument: str,
    profile: str | None,
    method: str,
    variants: int,
    seed: int,
    out_dir: Path | None,
    no_progress: bool,
    **backend_args: Any,
) -> None:
    """Give a model a value questionnaire, print its value profile and write the results."""
    from tqdm import tqdm

    from psyval.instruments import load_instrument
    from psyval.profiles import load_profile
    from psyval.respondents.response_cache import ResponseCache
    from psyval.survey import profile_table, run_survey, write_results

    loaded_instrument = load_instrument(instrument)
    target = load_profile(profile) if profile else None
    out_dir = out_dir or Path("results") / "survey"
    if out_dir.exists() and not out_dir.is_dir():
        raise PsyvalError(f"output path {str(out_dir)!r} is a file; pass a folder for --out")
    journal = ResponseCache(out_dir / JOURNAL_NAME)
    quiet_transformers()
    with warnings_as_lines():
        backend = backend_from_options(**backend_args)
        total = len(loaded_instrument.items) * variants
        # disable=None makes tqdm hide the bar when stderr is not a terminal, as in a log file.
        with tqdm(total=total, desc="items", unit="item", disable=True if no_progress else None, leave=False) as bar:
            result = run_survey(
                backend, loaded_instrument, target, method=method, variants=variants, seed=seed,  # type: ignore[arg-type]
                progress=bar.update, journal=journal, chunk_size=JOURNAL_CHUNK_SIZE,
            )
        backend.close()
    write_results(result, out_dir)

    respondent = str(result.responses["respondent"].iloc[0])
    model = result.manifest["model"]["model_id"]
    click.echo(
        f"Value profile of {model} on {loaded_instrument.id} ({method}, {variants} variant(s), "
        f"profile {target.name if target else 'none'})"
    )
    click.echo(profile_table(result.scores, respondent, result.alignment))
    reused = result.manifest["answer_journal"]["reused_answers"]
    if reused:
        click.echo(f"Resumed: {reused} of {len(result.responses)} answers read from {out_dir / JOURNAL_NAME}")
    counts = result.manifest["status_counts"]
    click.echo("Answer status: " + ", ".join(f"{name} {count}" for name, count in sorted(counts.items())))
    if variants > 1:
        click.echo(_spread_summary(result.responses, result.scores, respondent))
    click.echo(f"Wrote {out_dir}/responses.csv, scores.csv, manifest.json")


def _targets_for(responses: Any, responses_path: Path, profile: str | None) -> dict[str, Any]:
    from psyval.profiles import PRESETS, load_profile

    respondents = [str(r) for r in responses["respondent"].unique()]
    if profile:
        target = load_profile(profile)
        return {r: target for r in respondents}
    manifest_path = responses_path.parent / "manifest.json"
    targets: dict[str, Any] = {}
    if manifest_path.is_file():
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise PsyvalError(
                f"manifest {str(manifest_path)!r} is not valid JSON ({error}); restore it or pass --profile"
            ) from error
        saved = manifest.get("profile") if isinstance(manifest, dict) else None
        if saved and len(respondents) == 1:
            targets[respondents[0]] = _saved_profile(saved, manifest_path)
            return targets
    # Without a manifest, a respondent whose profile column names a preset gets that preset.
    for respondent, group in responses.groupby("respondent"):
        names = {str(n) for n in group["profile"].dropna().unique()} if "profile" in group else set()
        if len(names) == 1 and (name := names.pop()) in PRESETS:
            targets[str(respondent)] = load_profile(name)
    return targets


def _saved_profile(saved: Any, manifest_path: Path) -> Any:
    """Rebuild the target profile that ``psyval survey`` stored in its manifest."""
    from psyval.profiles import Profile

    fields = ("name", "values", "source")
    if not isinstance(saved, dict) or not all(key in saved for key in fields) or not isinstance(saved["values"], dict):
        raise PsyvalError(
            f"manifest {str(manifest_path)!r} has an incomplete 'profile' entry; it needs name, values and "
            "source, so restore the manifest or pass --profile"
        )
    return Profile(name=str(saved["name"]), values=saved["values"], source=str(saved["source"]))


def _check_answers(responses: Any, path: Path) -> None:
    """Reject answers outside the scale and warn about answers that are not numbers."""
    import pandas as pd

    from psyval.errors import UnparsedAnswerWarning

    if "answer" not in responses.columns or "scale_points" not in responses.columns:
        return  # score_responses names the missing columns.
    answers = pd.to_numeric(responses["answer"], errors="coerce")
    points = pd.to_numeric(responses["scale_points"], errors="coerce")
    # Answers are expected values over the options, so any number from 1 to
    # the scale's points is valid. The tolerance absorbs rounding in the CSV.
    outside = answers.notna() & points.notna() & ((answers < 1 - 1e-9) | (answers > points + 1e-9))
    if outside.any():
        index = outside.idxmax()
        position = responses.index.get_loc(index)
        item = responses["item"].iloc[position] if "item" in responses.columns else "?"
        raise PsyvalError(
            f"{path.name} line {position + 2} (item {item!r}): answer {answers.iloc[position]:g} "
            f"is outside 1-{int(points.iloc[position])}; fix or blank the answer"
        )
    text = responses["answer"].astype(str).str.strip()
    unreadable = int((answers.isna() & responses["answer"].notna() & (text != "")).sum())
    if unreadable:
        warnings.warn(
            f"{unreadable} answer(s) in {path.name} are not numbers and are scored as missing",
            UnparsedAnswerWarning,
            stacklevel=2,
        )


@click.command("score")
@click.argument("responses_path", metavar="RESPONSES", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--profile", "-p", default=None,
    help="Target profile for alignment strength (default: the one in the folder's manifest.json, if any).",
)
@click.option(
    "--out", "-o", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Write the scores table to this CSV file.",
)
def score(responses_path: Path, profile: str | None, out_path: Path | None) -> None:
    """Score a responses.csv file again and print each respondent's profile."""
    import pandas as pd

    from psyval.survey import alignment_strength, profile_table, score_responses
    from psyval.survey.scoring import basic_scores

    if not responses_path.is_file():
        raise PsyvalError(f"responses file {str(responses_path)!r} not found; pass a responses.csv from psyval survey")
    try:
        responses = pd.read_csv(responses_path, dtype={"refined_value": str, "raw_text": str, "profile": str})
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as error:
        raise PsyvalError(f"cannot read responses file {str(responses_path)!r}: {error}") from error
    if "respondent" not in responses.columns:
        raise PsyvalError(f"responses file {str(responses_path)!r} has no 'respondent' column; pass a psyval responses.csv")
    targets = _targets_for(responses, responses_path, profile)
    with warnings_as_lines():
        _check_answers(responses, responses_path)
        scores = score_responses(responses, targets)
        for respondent in scores["respondent"].unique():
            target = targets.get(str(respondent))
            alignment = None
            if target is not None:
                alignment = alignment_strength(
                    basic_scores(scores, respondent, "raw"), target, basic_scores(scores, respondent, "centred")
                )
            click.echo(f"Respondent {respondent}" + (f" (target {target.name})" if target else ""))
            click.echo(profile_table(scores, str(respondent), alignment))
            click.echo("")
    if out_path is not None:
        scores.to_csv(out_path, index=False)
        click.echo(f"Wrote {out_path}")


__all__ = ["score", "survey"]
