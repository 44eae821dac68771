"""Defined parameters (lavaan's ``:=``) and their delta-method standard errors.

Expressions are evaluated by a small interpreter over Python's ``ast``, so a
model file can never run code: only numbers, labels, earlier defined
parameters, + - * / ** and the functions exp, log, sqrt and abs are allowed.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping

import numpy as np

from psyval.errors import PsyvalError
from psyval.psychometrics.sem.syntax import Definition

# R's arithmetic, which lavaan uses: division by zero, log of a negative
# number, sqrt of a negative number and overflow give Inf or NaN, not errors.
_BINARY: dict[type, Callable[[float, float], float]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.divide,
    ast.Pow: np.power,
}
_UNARY: dict[type, Callable[[float], float]] = {ast.USub: np.negative, ast.UAdd: np.positive}
_FUNCTIONS: dict[str, Callable[[float], float]] = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt, "abs": np.abs}


def _evaluate(node: ast.AST, values: Mapping[str, float], text: str) -> float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, values, text)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return np.float64(node.value)
    if isinstance(node, ast.Name):
        if node.id not in values:
            raise PsyvalError(
                f"defined parameter {text!r} uses unknown label {node.id!r}: label the parameter in the model, e.g. 'y ~ {node.id}*x'"
            )
        return values[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_evaluate(node.left, values, text), _evaluate(node.right, values, text))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand, values, text))
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and len(node.args) == 1
        and not node.keywords
    ):
        return _FUNCTIONS[node.func.id](_evaluate(node.args[0], values, text))
    raise PsyvalError(
        f"unsupported expression {text!r} in a defined parameter: use labels, numbers, + - * / ^ and exp/log/sqrt/abs"
    )


def compile_definition(definition: Definition) -> ast.Expression:
    """Parse the right-hand side of a ``:=`` statement (``^`` is read as power)."""
    text = definition.expression.replace("^", "**")
    try:
        return ast.parse(text, mode="eval")
    except SyntaxError as error:
        raise PsyvalError(f"cannot read defined parameter {definition.name!r} := {definition.expression!r}: {error.msg}") from error


def evaluate_definitions(definitions: list[Definition], labels: Mapping[str, float]) -> dict[str, float]:
    """Return the value of each defined parameter, in order, given label values."""
    values = dict(labels)
    result = {}
    for definition in definitions:
        if definition.name in values:
            raise PsyvalError(
                f"defined parameter {definition.name!r} reuses the name of a model label or an earlier definition: "
                "give it a new name"
            )
        with np.errstate(all="ignore"):
            value = float(_evaluate(compile_definition(definition), values, definition.expression))
        values[definition.name] = value
        result[definition.name] = value
    return result


def delta_method(
    definitions: list[Definition],
    label_values: Callable[[np.ndarray], dict[str, float]],
    theta: np.ndarray,
    vcov: np.ndarray,
) -> tuple[dict[str, float], dict[str, float]]:
    """Return estimates and delta-method standard errors of defined parameters.

    Parameters
    ----------
    definitions : list of Definition
        The ``:=`` statements in model order.
    label_values : callable
        Maps a free parameter vector to the values of all labels.
    theta : numpy.ndarray
        Free parameter estimates.
    vcov : numpy.ndarray
        Their covariance matrix.

    Notes
    -----
    With J the Jacobian of the definitions with respect to theta (central
    differences, step 1e-6 max(1, |theta_k|)), the covariance matrix of the
    defined parameters is J V J' (Sobel, 1982).

    References
    ----------
    Sobel, M. E. (1982). Asymptotic confidence intervals for indirect effects
    in structural equation models. *Sociological Methodology, 13*, 290-312.
    https://doi.org/10.2307/270723
    """
    estimates = evaluate_definitions(definitions, label_values(theta))
    names = list(estimates)
    jacobian = np.zeros((len(names), len(theta)))
    for k in range(len(theta)):
        step = 1e-6 * max(1.0, abs(theta[k]))
        up, down = theta.copy(), theta.copy()
        up[k] += step
        down[k] -= step
        high = evaluate_definitions(definitions, label_values(up))
        low = evaluate_definitions(definitions, label_values(down))
        jacobian[:, k] = [(high[name] - low[name]) / (2 * step) for name in names]
    covariance = jacobian @ vcov @ jacobian.T
    errors = {name: float(math.sqrt(max(covariance[i, i], 0.0))) for i, name in enumerate(names)}
    return estimates, errors
