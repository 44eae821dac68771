"""Expand a study's conditions into target profiles and respondents.

A study names its target profiles in four ways: presets or profile files, a
CSV of profiles, profiles sampled around the 14 extreme profiles, and the
baseline with no profile. The profiles are crossed with the in-context safety
conditions, the models and the replicates. Every profile is stored on psyval's
1-6 importance scale (6 = most important), the scale of :mod:`psyval.profiles`.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from psyval.errors import PsyvalError
from psyval.instruments.values import basic_value_problems
from psyval.study.spec import (
    BASELINE_PROFILE,
    BASIC_VALUES,
    EXTREME_PROFILES,
    PROFILE_DIRECTIONS,
    CsvProfilesSpec,
    ModelSpec,
    SampledProfilesSpec,
    StudySpec,
)

#: psyval's profile scale: 1 = not important at all, 6 = most important.
SCALE_MIN, SCALE_MAX = 1.0, 6.0

_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_RANK_SUFFIX = "_rank"


@dataclass(frozen=True)
class TargetProfile:
    """A target value profile on the 1-6 importance scale.

    Attributes
    ----------
    name
        Condition name used in results; a valid identifier.
    values
        Basic value id -> importance from 1 to 6, or ``None`` for the baseline,
        in which the model answers with no profile in its prompt.
    source
        Where the profile came from: ``"preset"``, ``"file:<path>"``,
        ``"csv:<path>"``, ``"sampled:<extreme>"`` or ``"baseline"``.
    preset
        Name of the preset or profile file to load through
        :func:`psyval.profiles.load_profile`, or ``None`` when ``values`` define
        the profile.
    """

    name: str
    values: dict[str, float] | None
    source: str
    preset: str | None = None

    def top_value(self) -> str | None:
        """Return the value this profile emphasises, for the ``value-prompt`` instruction.

        For a preset, and for a profile sampled around one, that is the preset's
        basic or higher-order value. Otherwise it is the most important basic
        value, the first in canonical order on ties. The baseline has none.
        """
        if self.values is None:
            return None
        for name in (self.preset, self.source.removeprefix("sampled:")):
            if name in EXTREME_PROFILES:
                return name
        values = self.values
        return max(BASIC_VALUES, key=lambda value: (values[value], -BASIC_VALUES.index(value)))


@dataclass(frozen=True)
class Respondent:
    """One surveyed and probed respondent: model x profile x safety condition x replicate."""

    model: ModelSpec
    profile: TargetProfile
    safety_condition: str
    replicate: int
    suppress_value: str | None

    @property
    def respondent_id(self) -> str:
        return f"{self.model.label}.{self.profile.name}.{self.safety_condition}.r{self.replicate}"

    @property
    def condition(self) -> str:
        return f"{self.profile.name}.{self.safety_condition}"


def _preset_values(name: str) -> tuple[dict[str, float], str]:
    """Load a preset or profile file through psyval.profiles and return its 1-6 values."""
    from psyval.profiles import load_profile

    profile = load_profile(name)
    values = {value: float(profile.values[value]) for value in BASIC_VALUES}
    source = "preset" if "/" not in name and not name.endswith((".yaml", ".yml", ".json", ".csv")) else f"file:{name}"
    return values, source


def _check_name(name: str, where: str) -> None:
    if not _NAME_PATTERN.match(name):
        raise PsyvalError(
            f"{where}: profile name {name!r} is not a valid identifier; use letters, digits and '_', "
            "starting with a letter"
        )


def _parse_declarations(lines: list[str], path: Path) -> dict[str, str]:
    """Read ``# key: value`` lines at the top of a profiles CSV.

    Raises
    ------
    PsyvalError
        If ``scale`` or ``direction`` is declared twice with different values.
    """
    declared: dict[str, str] = {}
    declared_on_line: dict[str, int] = {}
    for line_number, line in enumerate(lines, start=1):
        body = line.lstrip("#").strip()
        if not body:
            continue
        key, sep, value = body.partition(":")
        if not sep:
            continue
        key = key.strip().lower()
        if key not in ("scale", "direction"):
            continue
        value = value.strip()
        if key in declared:
            previous = declared[key]
            # "1-5" and "1 to 5" name the same scale, so scales are compared after parsing.
            same = (
                _parse_scale(previous, path) == _parse_scale(value, path) if key == "scale" else previous == value
            )
            if not same:
                raise PsyvalError(
                    f"{path}: '# {key}:' is declared twice with different values, {previous!r} on line "
                    f"{declared_on_line[key]} and {value!r} on line {line_number}; keep one '# {key}:' line"
                )
            continue
        declared[key] = value
        declared_on_line[key] = line_number
    return declared


def _parse_scale(text: str, path: Path) -> tuple[float, float]:
    match = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*(?:-|to|\.\.)\s*(-?\d+(?:\.\d+)?)\s*", text)
    if not match:
        raise PsyvalError(f"{path}: scale {text!r} is invalid; write it as '# scale: 1-6' (minimum-maximum)")
    low, high = float(match.group(1)), float(match.group(2))
    if low >= high:
        raise PsyvalError(
            f"{path}: scale {text!r} has minimum >= maximum; write the smaller end first and "
            "state the direction with '# direction:'"
        )
    return low, high


def read_profiles_csv(spec: CsvProfilesSpec) -> list[TargetProfile]:
    """Read a CSV of value profiles and convert them to the 1-6 importance scale.

    The file declares its scale and direction, either in ``# scale: MIN-MAX`` and
    ``# direction: higher_is_more_important|lower_is_more_important`` comment
    lines above the header, or in the study file (``scale``, ``direction``), or
    both. The header is ``name`` followed by the 10 basic value ids; a column
    named ``<value>_rank`` marks rank data, where 1 is the most important.

    Raises
    ------
    PsyvalError
        If the scale or direction is undeclared, or declared twice with different
        values. If the direction contradicts the header (``_rank`` columns
        declared ``higher_is_more_important``, or rating columns declared
        ``lower_is_more_important``), if rank columns have a scale other than
        1 to at most 10, or if a value lies outside the declared range. If a
        column, name or number is missing or invalid. If the file is empty or
        not UTF-8, a declaration is below the header, a row has more cells
        than the header, or a row's ranks tie or are fractional.
    """
    path = spec.path
    if not path.is_file():
        raise PsyvalError(f"profiles CSV {str(path)!r} not found; check conditions.profiles.csv in the study file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise PsyvalError(
            f"{path}: the file is not UTF-8 text (byte {error.object[error.start]:#04x} at offset {error.start}); "
            "save it as UTF-8"
        ) from None
    if not text.strip():
        raise PsyvalError(
            f"{path}: the file is empty; add '# scale:' and '# direction:' lines, a header of 'name' and the "
            "10 basic value ids, and one row per profile"
        )
    lines = text.splitlines()
    comment_lines = []
    while lines and (lines[0].startswith("#") or not lines[0].strip()):
        comment_lines.append(lines.pop(0))
    declared = _parse_declarations(comment_lines, path)
    for offset, line in enumerate(lines):
        # A declaration below the header would otherwise be read as a profile
        # row, or its absence above reported as "not declared".
        if line.startswith("#") and _parse_declarations([line], path):
            raise PsyvalError(
                f"{path} line {len(comment_lines) + offset + 1}: {line.strip()!r} is below the header; "
                "'# scale:' and '# direction:' declarations must come above the header"
            )

    file_scale = _parse_scale(declared["scale"], path) if "scale" in declared else None
    file_direction = declared.get("direction")
    if file_direction is not None and file_direction not in PROFILE_DIRECTIONS:
        raise PsyvalError(
            f"{path}: direction {file_direction!r} is invalid; use one of {', '.join(PROFILE_DIRECTIONS)}"
        )
    if file_scale and spec.scale and file_scale != spec.scale:
        raise PsyvalError(
            f"{path}: the file declares scale {file_scale!r} but the study file declares {spec.scale!r}; "
            "make them agree"
        )
    if file_direction and spec.direction and file_direction != spec.direction:
        raise PsyvalError(
            f"{path}: the file declares direction {file_direction!r} but the study file declares "
            f"{spec.direction!r}; make them agree"
        )
    scale = file_scale or spec.scale
    direction = file_direction or spec.direction
    if scale is None or direction is None:
        missing = "scale" if scale is None else "direction"
        raise PsyvalError(
            f"{path}: the {missing} of the profiles is not declared; add '# scale: 1-6' and "
            "'# direction: higher_is_more_important' above the header, or set them in the study file"
        )

    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    header = reader.fieldnames or []
    if not header:
        raise PsyvalError(f"{path}: the file has no header row; add 'name' and the 10 basic value ids below the comments")
    if header[0] not in ("name", "profile"):
        raise PsyvalError(f"{path}: the first column must be 'name', got header {','.join(header)!r}")
    value_columns = header[1:]
    is_rank = [column.endswith(_RANK_SUFFIX) for column in value_columns]
    if any(is_rank) and not all(is_rank):
        raise PsyvalError(
            f"{path}: some columns end in '_rank' and some do not; use one form for all: {','.join(header)!r}"
        )
    rank_header = all(is_rank) and bool(is_rank)
    # Rank columns (<value>_rank, 1 = most important) are the only lower-is-better
    # form. Plain value columns are importance ratings, higher = more important.
    if rank_header and direction == "higher_is_more_important":
        raise PsyvalError(
            f"{path}: the header has rank columns (rank 1 = most important) but the declared direction is "
            "'higher_is_more_important'; declare 'lower_is_more_important' or rename the columns"
        )
    if not rank_header and direction == "lower_is_more_important":
        raise PsyvalError(
            f"{path}: the declared direction is 'lower_is_more_important' but the header has rating columns "
            "(higher = more important); declare 'higher_is_more_important', or name the columns "
            "'<value>_rank' for ranks"
        )
    value_ids = [column[: -len(_RANK_SUFFIX)] if rank_header else column for column in value_columns]
    problems = basic_value_problems(value_ids)
    if problems:
        raise PsyvalError(
            f"{path}: the header must name each of the 10 basic values once; {'; '.join(problems)}"
        )
    low, high = scale
    if rank_header and (low != 1 or high > len(BASIC_VALUES)):
        raise PsyvalError(
            f"{path}: the header has rank columns and the declared direction is {direction!r}, but the "
            f"declared scale is {low:g}-{high:g}; ranks need a scale from 1 to at most {len(BASIC_VALUES)}"
        )

    profiles = []
    for row in reader:
        # reader.line_num counts the lines read below the comments, so blank
        # lines between rows keep the numbers equal to the file's lines.
        row_number = len(comment_lines) + reader.line_num
        extra = row.get(None)  # type: ignore[call-overload]
        if extra:
            raise PsyvalError(
                f"{path} line {row_number}: the row has {len(header) + len(extra)} cells but the header has "
                f"{len(header)} columns; remove the extra cells or name their columns in the header"
            )
        name = (row.get(header[0]) or "").strip()
        _check_name(name, f"{path} row {row_number}")
        values = {}
        ranks: list[float] = []
        for column, value_id in zip(value_columns, value_ids):
            cell = (row.get(column) or "").strip()
            try:
                number = float(cell)
            except ValueError:
                number = None
            # float() reads "nan" as a number, but like an empty cell it marks a missing value.
            if not cell or (number is not None and math.isnan(number)):
                raise PsyvalError(
                    f"{path} row {row_number}: {column} is missing (cell {cell!r}); "
                    f"write a number on the declared scale {low:g}-{high:g}"
                )
            if number is None:
                raise PsyvalError(f"{path} row {row_number}: {column} = {cell!r} is not a number")
            if not low <= number <= high:
                raise PsyvalError(
                    f"{path} row {row_number}: {column} = {number:g} lies outside the declared scale "
                    f"{low:g}-{high:g}; fix the value or the '# scale:' line"
                )
            ranks.append(number)
            fraction = (number - low) / (high - low)
            if direction == "lower_is_more_important":
                fraction = 1.0 - fraction
            values[value_id] = round(SCALE_MIN + fraction * (SCALE_MAX - SCALE_MIN), 4)
        if rank_header:
            _check_ranks(ranks, value_columns, f"{path} row {row_number}")
        profiles.append(TargetProfile(name=name, values=values, source=f"csv:{path.name}"))
    if not profiles:
        raise PsyvalError(f"{path}: the file has a header but no profile rows")
    return profiles


def _check_ranks(ranks: list[float], columns: Sequence[str], where: str) -> None:
    """Reject a row of ranks with fractions or ties.

    A rank orders the values, so each row gives every value its own
    whole-number place. Tied or fractional ranks give no single order to rescale.
    """
    fractional = [f"{column} = {rank:g}" for column, rank in zip(columns, ranks) if not rank.is_integer()]
    if fractional:
        raise PsyvalError(
            f"{where}: ranks must be whole numbers, got {', '.join(fractional)}; give each value its own rank 1, 2, 3, ..."
        )
    seen: dict[float, str] = {}
    for column, rank in zip(columns, ranks):
        if rank in seen:
            raise PsyvalError(
                f"{where}: {seen[rank]} and {column} share rank {rank:g}; ranks must differ within a row, "
                "so give each value its own rank 1, 2, 3, ..."
            )
        seen[rank] = column


def sample_profiles(spec: SampledProfilesSpec) -> list[TargetProfile]:
    """Draw ``per_extreme`` profiles around each extreme profile.

    Each value of the extreme profile gets independent Gaussian noise with
    standard deviation ``spread`` (on the 1-6 scale), and the result is clipped
    to 1-6 and rounded to two decimals. The generator for the ``i``-th draw
    around extreme ``e`` is seeded with ``(seed, index of e among the 14
    extremes, i)``, so adding or removing extremes or draws never changes the
    other profiles.
    """
    profiles = []
    for extreme in spec.extremes:
        centre, _ = _preset_values(extreme)
        extreme_index = EXTREME_PROFILES.index(extreme)
        for draw in range(spec.per_extreme):
            rng = np.random.default_rng([spec.seed, extreme_index, draw])
            noise = rng.normal(0.0, spec.spread, size=len(BASIC_VALUES))
            values = {
                value: round(float(np.clip(centre[value] + noise[k], SCALE_MIN, SCALE_MAX)), 2)
                for k, value in enumerate(BASIC_VALUES)
            }
            profiles.append(TargetProfile(name=f"{extreme}_s{draw + 1}", values=values, source=f"sampled:{extreme}"))
    return profiles


def expand_profiles(study: StudySpec) -> list[TargetProfile]:
    """Return every target profile of the study, in file order, with unique names."""
    conditions = study.conditions
    profiles: list[TargetProfile] = []
    if conditions.baseline:
        profiles.append(TargetProfile(name=BASELINE_PROFILE, values=None, source="baseline"))
    for entry in conditions.named:
        values, source = _preset_values(entry)
        name = entry if _NAME_PATTERN.match(entry) else Path(entry).stem.replace("-", "_")
        _check_name(name, "conditions.profiles.named")
        profiles.append(TargetProfile(name=name, values=values, source=source, preset=entry))
    for csv_spec in conditions.csv:
        profiles.extend(read_profiles_csv(csv_spec))
    if conditions.sampled is not None:
        profiles.extend(sample_profiles(conditions.sampled))

    seen: dict[str, str] = {}
    for profile in profiles:
        if profile.name in seen:
            raise PsyvalError(
                f"profile name {profile.name!r} is used twice ({seen[profile.name]} and {profile.source}); "
                "rename one of them"
            )
        seen[profile.name] = profile.source
    return profiles


def expand_respondents(study: StudySpec, profiles: list[TargetProfile]) -> Iterator[Respondent]:
    """Yield model x profile x safety condition x replicate, in a fixed order."""
    for model in study.models:
        for profile in profiles:
            for safety in study.conditions.safety:
                suppress = None
                if safety in ("value-prompt", "both"):
                    suppress = profile.top_value() if study.conditions.suppress_value == "top" else (
                        study.conditions.suppress_value
                    )
                for replicate in range(study.replicates):
                    yield Respondent(model, profile, safety, replicate, suppress)
