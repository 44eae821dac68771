"""Harm probes: probe sets, public-benchmark loaders, safety conditions, generation, harm tables.

The Python API that ``psyval probe`` and the study runner call::

    probes = load_probe_set("psyval")                 # bundled harmful + benign set
    responses = generate_responses(backend, probes, profile="hedonism", condition="both",
                                   suppress_value="hedonism")
    judged = apply_judges(responses, [load_judge("refusal"), load_judge("rubric", backend=backend)])
    table = harm_table(judged)
"""

from __future__ import annotations

from pathlib import Path

from psyval.errors import PsyvalError
from psyval.probes.conditions import (
    SAFETY_CONDITIONS,
    build_messages,
    check_condition,
    system_prompt,
)
from psyval.probes.generation import (
    RESPONSE_COLUMNS,
    generate_responses,
    rendered_prompts,
)
from psyval.probes.harm import HARM_COLUMNS, harm_table, mean_ci, wilson_ci
from psyval.probes.loaders import LOADERS, PUBLIC_FORMATS, detect_format
from psyval.probes.probeset import (
    Probe,
    ProbeSet,
    check_unique_ids,
    read_probe_file,
    write_probe_file,
)
from psyval.probes.taxonomy import (
    HARM_CATEGORIES,
    UNMAPPED,
    load_taxonomy_map,
    map_category,
)
from psyval.resources import data_dir

#: Bundled probe-set names -> files in instruments/probes/. "psyval" and its
#: alias "default" join the harmful set and its benign controls.
BUNDLED_SETS: dict[str, tuple[str, ...]] = {
    "psyval": ("psyval-harm.yaml", "psyval-benign.yaml"),
    "default": ("psyval-harm.yaml", "psyval-benign.yaml"),
    "psyval-harm": ("psyval-harm.yaml",),
    "psyval-benign": ("psyval-benign.yaml",),
}
FORMATS: tuple[str, ...] = ("auto", "psyval", *PUBLIC_FORMATS)


def available_probe_sets() -> list[str]:
    """Return the names of the bundled probe sets."""
    return sorted(BUNDLED_SETS)


def _join(name: str, sets: list[ProbeSet]) -> ProbeSet:
    probes = [probe for probe_set in sets for probe in probe_set.probes]
    wheres = [f"{probe_set.path}, probe {probe.id!r}" for probe_set in sets for probe in probe_set.probes]
    check_unique_ids(probes, wheres)
    return ProbeSet(name=name, probes=probes, path=";".join(s.path for s in sets), metadata={"parts": [s.name for s in sets]})


def load_probe_set(name_or_path: str | Path, file_format: str = "auto") -> ProbeSet:
    """Load a bundled probe set by name, or a probe file in psyval's or a public format.

    Parameters
    ----------
    name_or_path
        ``"psyval"`` (alias ``"default"``), ``"psyval-harm"``,
        ``"psyval-benign"``, or a path. A HEx-PHI path may be its folder.
    file_format
        ``"auto"`` (guess from the file name and header), ``"psyval"``, or a
        public format: ``hexphi``, ``beavertails``, ``harmbench``,
        ``advbench``, ``jailbreakbench``.

    Raises
    ------
    PsyvalError
        For an unknown name or format, a missing file, or a record that fails
        validation (the message names the file and row).
    """
    if file_format not in FORMATS:
        raise PsyvalError(f"unknown probe file format {file_format!r}; choose one of: {', '.join(FORMATS)}")
    text = str(name_or_path)
    if text in BUNDLED_SETS:
        folder = data_dir("instruments") / "probes"
        parts = [read_probe_file(folder / file) for file in BUNDLED_SETS[text]]
        return parts[0] if len(parts) == 1 else _join(text, parts)
    path = Path(text).expanduser()
    if not path.exists():
        raise PsyvalError(
            f"probe set {text!r} not found; give a file path or a bundled set ({', '.join(available_probe_sets())})"
        )
    chosen = detect_format(path) if file_format == "auto" else file_format
    if chosen == "psyval":
        return read_probe_file(path)
    return LOADERS[chosen](path)


__all__ = [
    "BUNDLED_SETS",
    "FORMATS",
    "HARM_CATEGORIES",
    "HARM_COLUMNS",
    "RESPONSE_COLUMNS",
    "SAFETY_CONDITIONS",
    "UNMAPPED",
    "Probe",
    "ProbeSet",
    "available_probe_sets",
    "build_messages",
    "check_condition",
    "generate_responses",
    "harm_table",
    "load_probe_set",
    "load_taxonomy_map",
    "map_category",
    "mean_ci",
    "read_probe_file",
    "rendered_prompts",
    "system_prompt",
    "wilson_ci",
    "write_probe_file",
]
