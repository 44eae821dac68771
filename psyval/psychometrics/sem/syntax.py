"""Parse lavaan model syntax into a table of user-specified model terms.

semopy does the model building and optimisation, but its parser drops
lavaan's defined parameters (``:=``) and has no notion of lavaan's printing
order. This module reads the syntax once, keeps every term in the order the
user wrote it, and hands semopy the part it understands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from psyval.errors import PsyvalError

# lavaan operators that psyval supports, longest first so that "=~" is not
# read as "~".
_OPERATORS = ("=~", "~~", ":=", "~")
_UNSUPPORTED = {
    "|": "thresholds for ordinal items",
    "~*~": "scale factors",
    "<~": "formative (composite) indicators",
    "==": "explicit equality constraints (share a label instead)",
}
# Fix hints for an operator with nothing on its right-hand side, keyed by operator.
_RIGHT_HAND_SIDE_HINTS = {
    "=~": "list the indicators, such as '{lhs} =~ x1 + x2 + x3'",
    "~": "list the predictors, such as '{lhs} ~ x1 + x2'",
    "~~": "name the other variable, or '{lhs}' itself for a variance, such as '{lhs} ~~ {lhs}'",
}
_NAME = r"[A-Za-z_.][A-Za-z0-9_.]*"
_TERM = re.compile(rf"^\s*(?:(?P<mod>[^*]+?)\s*\*\s*)?(?P<name>{_NAME})\s*$")
_FREE = "NA"
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True)
class Term:
    """One ``lhs op rhs`` term of a model, as written.

    ``fixed`` is the value of a numeric modifier (``1*x1``), ``label`` the name
    of a label modifier (``a*x1``); a term has at most one of them.
    """

    lhs: str
    op: str
    rhs: str
    label: str | None = None
    fixed: float | None = None


@dataclass(frozen=True)
class Definition:
    """A defined parameter ``name := expression``."""

    name: str
    expression: str


@dataclass
class ParsedModel:
    """The terms, definitions and variable names of a lavaan model."""

    terms: list[Term] = field(default_factory=list)
    definitions: list[Definition] = field(default_factory=list)
    latent: list[str] = field(default_factory=list)
    observed: list[str] = field(default_factory=list)
    freed: set[tuple[str, str]] = field(default_factory=set)

    def semopy_description(self) -> str:
        """Return the model in the subset of lavaan syntax that semopy reads."""
        # Modifiers are left out: semopy only sizes and names the matrices, and
        # psyval writes the parameters itself (see psyval.psychometrics.sem.model).
        lines = [f"{term.lhs} {term.op} {term.rhs}" for term in self.terms]
        return "\n".join(lines) + "\n"

    @property
    def labels(self) -> set[str]:
        """Return every parameter label used in the model."""
        return {term.label for term in self.terms if term.label is not None}


# lavaan 0.6 joins a line to the next one when it ends with an operator or
# the next line starts with one, so a long statement can span lines.
_CONTINUES_AFTER = ("+", "*", "~", ",", "-", "/", "^", "(", ":=")
_CONTINUES_BEFORE = ("+", "*", "~", "=~", ",", "-", "/", "^", ")")


def _split_statements(syntax: str) -> list[str]:
    lines = [line.split("#", 1)[0].split("!", 1)[0].strip() for line in syntax.splitlines()]
    lines = [line for line in lines if line]
    joined: list[str] = []
    for line in lines:
        if joined and (joined[-1].endswith(_CONTINUES_AFTER) or line.startswith(_CONTINUES_BEFORE)):
            joined[-1] = f"{joined[-1]} {line}"
        else:
            joined.append(line)
    statements = []
    for line in joined:
        for statement in line.split(";"):
            if statement.strip():
                statements.append(statement.strip())
    return statements


def _element_key(lhs: str, operator: str, rhs: str) -> tuple[str, str, str]:
    """Return the identity of a model element; ``a ~~ b`` and ``b ~~ a`` are the same one."""
    if operator == "~~":
        first, second = sorted((lhs, rhs))
        return first, operator, second
    return lhs, operator, rhs


def _parse_modifier(modifier: str, statement: str) -> tuple[str | None, float | None]:
    modifier = modifier.strip()
    if _NUMBER.match(modifier):
        return None, float(modifier)
    if modifier == "NA":
        return _FREE, None
    if re.fullmatch(_NAME, modifier):
        return modifier, None
    raise PsyvalError(
        f"unsupported modifier {modifier!r} in {statement!r}: "
        "use a number to fix a parameter or a name to label it"
    )


def parse_model(syntax: str) -> ParsedModel:
    """Parse lavaan model syntax.

    Parameters
    ----------
    syntax : str
        Model text with ``=~``, ``~``, ``~~`` and ``:=`` statements, one or more
        per line (separated by ``;``), with ``#`` comments.

    Returns
    -------
    ParsedModel
        Terms in the order written, defined parameters, latent variables in
        order of definition and observed variables in order of first use.

    Raises
    ------
    PsyvalError
        For an empty model, an unsupported operator or modifier, an operator
        with nothing after it, or a term that cannot be read.
    """
    parsed = ParsedModel()
    seen: dict[tuple[str, str, str], int] = {}
    statements = _split_statements(syntax)
    if not statements:
        raise PsyvalError("the model syntax is empty: write at least one 'latent =~ item' line")
    for position, statement in enumerate(statements):
        for symbol, meaning in _UNSUPPORTED.items():
            if symbol in statement and symbol not in ("<", ">"):
                raise PsyvalError(f"unsupported lavaan syntax in {statement!r}: {meaning} are not implemented")
        operator = next((op for op in _OPERATORS if op in statement), None)
        if operator is None:
            if "<" in statement or ">" in statement:
                raise PsyvalError(f"unsupported lavaan syntax in {statement!r}: inequality constraints are not implemented")
            raise PsyvalError(f"cannot read model statement {statement!r}: no =~, ~, ~~ or := operator found")
        lhs_text, rhs_text = (part.strip() for part in statement.split(operator, 1))
        if operator == ":=":
            if not re.fullmatch(_NAME, lhs_text) or not rhs_text:
                raise PsyvalError(f"cannot read defined parameter {statement!r}: write 'name := expression'")
            parsed.definitions.append(Definition(lhs_text, rhs_text))
            continue
        if rhs_text.strip() == "1":
            raise PsyvalError(
                f"intercept statement {statement!r} is not supported: psyval estimates intercepts "
                "only with --missing fiml, where they are added automatically"
            )
        if not rhs_text:
            hint = _RIGHT_HAND_SIDE_HINTS[operator].format(lhs=lhs_text.split(",")[0].strip() or "F")
            raise PsyvalError(f"model statement {statement!r} has nothing after {operator!r}: {hint}")
        for lhs in (name.strip() for name in lhs_text.split(",")):
            if not re.fullmatch(_NAME, lhs):
                raise PsyvalError(f"invalid variable name {lhs!r} in {statement!r}")
            if operator == "=~" and lhs not in parsed.latent:
                parsed.latent.append(lhs)
            for raw_term in rhs_text.split("+"):
                match = _TERM.match(raw_term)
                if match is None and not raw_term.strip():
                    raise PsyvalError(
                        f"model statement {statement!r} has an empty term next to a '+': remove that '+' or write "
                        "the missing variable name"
                    )
                if match is None:
                    raise PsyvalError(f"cannot read term {raw_term.strip()!r} in {statement!r}")
                label, fixed = (None, None)
                if match.group("mod") is not None:
                    label, fixed = _parse_modifier(match.group("mod"), statement)
                key = _element_key(lhs, operator, match.group("name"))
                if key in seen:
                    if seen[key] == position and match.group("mod") is None:
                        # lavaan merges a term repeated within one statement.
                        continue
                    raise PsyvalError(
                        f"duplicate model element {' '.join(key)!r} in {statement!r}: write each parameter once"
                    )
                seen[key] = position
                if label == _FREE:
                    label = None
                    parsed.freed.add((lhs, match.group("name")))
                parsed.terms.append(Term(lhs, operator, match.group("name"), label, fixed))
    for term in parsed.terms:
        for name in (term.lhs, term.rhs):
            if name not in parsed.latent and name not in parsed.observed:
                parsed.observed.append(name)
    if not parsed.terms:
        raise PsyvalError("the model has only defined parameters (:=): add the model statements they refer to")
    return parsed
