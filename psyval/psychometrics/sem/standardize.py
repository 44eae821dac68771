"""Standardized solutions Std.lv and Std.all, as lavaan's standardizedSolution.

Notes
-----
Std.lv rescales by the model-implied standard deviations of the latent
variables only; Std.all also by those of the observed variables. A loading
f =~ x becomes est * sd(f) / sd(x), a regression y ~ x becomes
est * sd(x) / sd(y), and a variance est / var(v). A covariance between two
different variables is divided by the square root of the product of their
(residual) variance parameters, so residual covariances become residual
correlations (lavaan's default ``cov.std = TRUE``). Intercepts are divided
by sd(v). Observed variables count as having sd 1 under Std.lv.
"""

from __future__ import annotations

import math


def standardize_row(
    lhs: str,
    op: str,
    rhs: str,
    estimate: float,
    variances: dict[str, float],
    variance_parameters: dict[str, float],
    latent: set[str],
    observed_scale: bool,
) -> float:
    """Return one standardized estimate.

    Parameters
    ----------
    lhs, op, rhs : str
        The parameter, in lavaan's notation (``~1`` for intercepts).
    estimate : float
        Unstandardized estimate.
    variances : dict
        Model-implied (total) variance of every variable.
    variance_parameters : dict
        The variance parameter (residual variance for endogenous variables)
        of every variable.
    latent : set of str
        Names of the latent variables.
    observed_scale : bool
        ``True`` for Std.all, ``False`` for Std.lv.
    """

    def sd(name: str) -> float:
        if name not in latent and not observed_scale:
            return 1.0
        value = variances.get(name, float("nan"))
        return math.sqrt(value) if value > 0 else float("nan")

    if op == "=~":
        return estimate * sd(lhs) / sd(rhs)
    if op == "~":
        return estimate * sd(rhs) / sd(lhs)
    if op == "~1":
        return estimate / sd(lhs)
    if op == "~~" and lhs == rhs:
        return estimate / (sd(lhs) ** 2)
    if op == "~~":
        both_scaled = observed_scale or (lhs in latent and rhs in latent)
        if not both_scaled:
            if lhs in latent or rhs in latent:
                return estimate / (sd(lhs) * sd(rhs))
            return estimate
        product = variance_parameters.get(lhs, float("nan")) * variance_parameters.get(rhs, float("nan"))
        return estimate / math.sqrt(product) if product > 0 else float("nan")
    return float("nan")
