"""Maximum-likelihood estimation and standard errors for complete data.

semopy's optimiser (SLSQP on the Wishart ML discrepancy) finds the estimates;
Fisher scoring steps then drive the gradient to zero, because SLSQP stops
early enough to move estimates in their third decimal.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from psyval.psychometrics.sem._semopy_log import semopy_logging_captured
from psyval.psychometrics.sem.model import SemModel

logger = logging.getLogger(__name__)

GRADIENT_TOLERANCE = 1e-7
# Badly scaled data (variances 1e8 and 1 in one model) leave scoring far from
# the optimum after SLSQP; on HS1939 with x1 * 1e4 it needs about 290 steps to
# reach lavaan's chisq 24.361, so 200 steps reported a false nonconvergence.
# Each step costs a gradient and information evaluation, so a model that
# never converges takes twice as long as with 200.
MAX_SCORING_STEPS = 400


@dataclass
class MLFit:
    """Estimates and convergence record of an ML fit."""

    theta: np.ndarray
    fmin: float
    converged: bool
    iterations: int
    optimizer: str
    gradient_max: float
    message: str


def ml_discrepancy(sigma: np.ndarray, sample_cov: np.ndarray) -> float:
    """Return the ML discrepancy F = log|Sigma| + tr(S Sigma^-1) - log|S| - p.

    Returns ``inf`` when Sigma is not positive definite.
    """
    sign, logdet_sigma = np.linalg.slogdet(sigma)
    if sign <= 0:
        return float("inf")
    _, logdet_s = np.linalg.slogdet(sample_cov)
    p = sigma.shape[0]
    return float(logdet_sigma + np.trace(np.linalg.solve(sigma, sample_cov)) - logdet_s - p)


def ml_gradient_and_information(
    model: SemModel, theta: np.ndarray, sample_cov: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return the gradient of F and its expected information at ``theta``.

    Notes
    -----
    With D_k = dSigma/dtheta_k and W = Sigma^-1, the gradient is
    g_k = tr(W (Sigma - S) W D_k) and the expected information of F is
    E_kl = tr(W D_k W D_l) (Bollen, 1989, ch. 4).

    References
    ----------
    Bollen, K. A. (1989). *Structural equations with latent variables*. Wiley.
    https://doi.org/10.1002/9781118619179
    """
    sigma, derivatives = model.implied_with_derivatives(theta)
    inverse = np.linalg.inv(sigma)
    residual_weight = inverse @ (sigma - sample_cov) @ inverse
    gradient = np.einsum("ij,kji->k", residual_weight, derivatives)
    weighted = np.einsum("ij,kjl->kil", inverse, derivatives)
    flat = weighted.reshape(len(theta), -1)
    transposed = np.transpose(weighted, (0, 2, 1)).reshape(len(theta), -1)
    information = flat @ transposed.T
    return gradient, information


def _repair_start_values(model: SemModel) -> None:
    """Replace zero starting values of free loadings by 1.

    semopy starts a loading at 0 when the factor has no fixed loading (a
    factor scaled by its variance), and all-zero loadings are a stationary
    point of the ML discrepancy, so the optimizer would never leave them.
    """
    semopy_model = model.semopy_model
    changed = False
    for row in model.rows:
        parameter = semopy_model.parameters[row.name]
        if row.op == "=~" and parameter.active and not parameter.start:
            parameter.start = 1.0
            for location in parameter.locations:
                location.matrix[location.indices] = 1.0
            changed = True
    if changed:
        semopy_model.prepare_params()


def fit_ml(model: SemModel, sample_cov: np.ndarray, n_obs: int, max_iterations: int = 10000) -> MLFit:
    """Fit a model by maximum likelihood to a covariance matrix.

    Parameters
    ----------
    model : SemModel
        The model to fit.
    sample_cov : numpy.ndarray
        Sample covariance matrix with divisor N (lavaan's default), in the order
        of ``model.observed``.
    n_obs : int
        Number of observations.
    max_iterations : int
        Iteration limit shared by semopy's optimizer and the Fisher scoring
        steps that follow (at most ``MAX_SCORING_STEPS`` of them), so the
        reported iteration count never exceeds it.

    Returns
    -------
    MLFit
        Estimates, minimum of F / 2 (lavaan's ``fmin``), convergence record.
    """
    import pandas as pd

    semopy_model = model.semopy_model
    cov_frame = pd.DataFrame(sample_cov, index=model.observed, columns=model.observed)
    with semopy_logging_captured():
        if not hasattr(semopy_model, "param_vals"):
            semopy_model.load(cov=cov_frame, n_samples=n_obs)
            _repair_start_values(model)
        start = np.array(semopy_model.param_vals, dtype=float)
        result = semopy_model.fit(cov=cov_frame, n_samples=n_obs, obj="MLW", options={"maxiter": max_iterations})
    theta = np.array(result.x, dtype=float)
    iterations = int(getattr(result, "n_it", 0) or 0)
    message = str(getattr(result, "message", ""))
    if not np.all(np.isfinite(theta)):
        logger.info("semopy returned non-finite estimates (%s); scoring from the starting values", message)
        theta = start
    converged = False
    gradient_max = float("inf")
    current = ml_discrepancy(model.implied_covariance(theta), sample_cov)
    # Scoring gets the iterations semopy left over. The gradient is checked
    # before each step and once after the last, so a budget of 0 still tests convergence.
    scoring_budget = max(0, min(MAX_SCORING_STEPS, max_iterations - iterations))
    scoring_steps = 0
    while True:
        try:
            gradient, information = ml_gradient_and_information(model, theta, sample_cov)
        except np.linalg.LinAlgError:
            break
        if not (np.all(np.isfinite(gradient)) and np.all(np.isfinite(information))):
            break
        gradient_max = float(np.max(np.abs(gradient))) if gradient.size else 0.0
        if gradient_max < GRADIENT_TOLERANCE:
            converged = True
            break
        if scoring_steps >= scoring_budget:
            break
        try:
            direction = np.linalg.solve(information, gradient)
        except np.linalg.LinAlgError:
            direction = np.linalg.lstsq(information, gradient, rcond=None)[0]
        step_size = 1.0
        # Halve the step until F decreases, so that scoring cannot diverge from
        # a poor semopy solution.
        while step_size > 1e-6:
            candidate = theta - step_size * direction
            value = ml_discrepancy(model.implied_covariance(candidate), sample_cov)
            if value <= current + 1e-12:
                break
            step_size /= 2
        else:
            break
        theta, current = candidate, value
        iterations += 1
        scoring_steps += 1
    model.set_parameters(theta)
    logger.info("ML fit: %d iterations, max |gradient| %.2e", iterations, gradient_max)
    return MLFit(
        theta=theta,
        fmin=current / 2,
        converged=converged and np.isfinite(current),
        iterations=iterations,
        optimizer="SLSQP+SCORING",
        gradient_max=gradient_max,
        message=message,
    )


def expected_vcov(model: SemModel, theta: np.ndarray, sample_cov: np.ndarray, n_obs: int) -> np.ndarray:
    """Return the covariance matrix of the estimates from the expected information.

    The information of the log-likelihood is N/2 times the information of F,
    so the covariance matrix is (2/N) E^-1, as lavaan computes it for ML with
    complete data (``information = "expected"``).
    """
    _, information = ml_gradient_and_information(model, theta, sample_cov)
    if not np.all(np.isfinite(information)):
        return np.full(information.shape, np.nan)
    return 2.0 / n_obs * np.linalg.pinv(information, hermitian=True)
