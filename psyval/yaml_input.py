"""Read the YAML files psyval takes as input: study, instrument, profile, probe and hypotheses files.

PyYAML's ``safe_load`` keeps the last of two equal keys in a mapping, so a
study that sets ``seed: 0`` and later ``seed: 1`` runs with seed 1 and no
message. The YAML 1.2 specification requires mapping keys to be unique, so
:func:`load_yaml` rejects a repeated key with the same ``YAMLError`` as a
syntax error, and :func:`describe_yaml_error` turns either into one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node

from psyval.errors import PsyvalError

_MERGE_TAG = "tag:yaml.org,2002:merge"


class UniqueKeyLoader(yaml.SafeLoader):
    """A ``yaml.SafeLoader`` that rejects a mapping with the same key twice.

    Keys brought in by a ``<<`` merge may be overridden, as YAML's merge key
    type allows, so only the keys written in the mapping itself are compared.
    """

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            first_line: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    earlier = first_line.get(key)
                except TypeError:
                    # An unhashable key: SafeLoader raises its own error for it below.
                    continue
                if earlier is not None:
                    raise ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"found duplicate key {key!r} (first on line {earlier})",
                        key_node.start_mark,
                    )
                first_line[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str) -> Any:
    """Parse ``text`` as YAML with safe types only and unique mapping keys.

    Raises
    ------
    yaml.YAMLError
        If the text is not valid YAML or a mapping repeats a key.
    """
    # UniqueKeyLoader subclasses SafeLoader, so only standard YAML types are built.
    return yaml.load(text, Loader=UniqueKeyLoader)


def read_yaml_text(path: Path, file_kind: str) -> str:
    """Return the text of the YAML file ``path``, named ``file_kind`` (e.g. "study file") in errors.

    Raises
    ------
    PsyvalError
        If the file is not UTF-8. The message names the first invalid byte
        and its 1-based line and column, with the column counted in bytes.
    """
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise PsyvalError(
            f"{file_kind} {str(path)!r} is not UTF-8 text: byte 0x{data[error.start]:02x} at line {line}, "
            f"column {column} cannot be decoded; save it as UTF-8"
        ) from error


def describe_yaml_error(error: yaml.YAMLError) -> str:
    """Return PyYAML's problem with its 1-based line and column, on one line.

    For example ``expected ',' or ']', but got '<stream end>' at line 2,
    column 1 (while parsing a flow sequence that starts at line 1, column 7)``.
    """
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or (str(error).splitlines() or [type(error).__name__])[0]
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    context = getattr(error, "context", None)
    context_mark = getattr(error, "context_mark", None)
    if context and context_mark is not None and context_mark is not mark:
        # PyYAML's context names the construct that was open and where it began.
        where += f" ({context} that starts at line {context_mark.line + 1}, column {context_mark.column + 1})"
    return f"{problem}{where}"
