"""Full-information maximum likelihood (FIML) for data with missing values.

The likelihood of each row uses only its observed variables, as lavaan does
with ``missing = "ml"``. Rows are grouped by missing-data pattern so each
pattern's covariance block is inverted once per evaluation. The mean
structure is saturated (latent means are 0 and every observed variable has a
free intercept), so the means are estimated as p free parameters and the
intercepts are recovered from them afterwards.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from psyval.psychometrics.sem.data import PreparedData
from psyval.psychometrics.sem.estimation import fit_ml
from psyval.psychometrics.sem.model import LAMBDA, SemModel

logger = logging.getLogger(__name__)

_LOG_2PI = math.log(2 * math.pi)


@dataclass
class Pattern:
    """Rows sharing one missing-data pattern: observed columns, count, mean and biased covariance."""

    observed: np.ndarray
    count: int
    mean: np.ndarray
    covariance: np.ndarray
    rows: np.ndarray


def missing_patterns(values: np.ndarray) -> list[Pattern]:
    """Group the rows of ``values`` (NaN for missing) by missing-data pattern."""
    mask = ~np.isnan(values)
    keys, inverse = np.unique(mask, axis=0, return_inverse=True)
    patterns = []
    for index, key in enumerate(keys):
        rows = values[inverse.ravel() == index][:, key]
        mean = rows.mean(axis=0)
        centered = rows - mean
        patterns.append(Pattern(np.flatnonzero(key), len(rows), mean, centered.T @ centered / len(rows), rows))
    return patterns


def pattern_loglik(patterns: list[Pattern], mean: np.ndarray, sigma: np.ndarray) -> float:
    """Return the observed-data normal log-likelihood summed over patterns."""
    total = 0.0
    for pattern in patterns:
        o = pattern.observed
        block = sigma[np.ix_(o, o)]
        sign, logdet = np.linalg.slogdet(block)
        if sign <= 0:
            return -math.inf
        difference = pattern.mean - mean[o]
        moment = pattern.covariance + np.outer(difference, difference)
        total += -pattern.count / 2 * (len(o) * _LOG_2PI + logdet + np.trace(np.linalg.solve(block, moment)))
    return float(total)


def em_saturated(patterns: list[Pattern], n_obs: int, p: int, tolerance: float = 1e-10,
                 max_iterations: int = 10000) -> tuple[np.ndarray, np.ndarray, float]:
    """Return the ML mean and covariance of incomplete normal data by EM.

    Notes
    -----
    The E-step replaces each missing block by its conditional expectation
    and adds the conditional covariance (Dempster, Laird & Rubin, 1977).
    Iterations stop when the log-likelihood changes by less than
    ``tolerance``.

    References
    ----------
    Dempster, A. P., Laird, N. M., & Rubin, D. B. (1977). Maximum likelihood
    from incomplete data via the EM algorithm. *Journal of the Royal
    Statistical Society: Series B, 39*(1), 1-22.
    https://doi.org/10.1111/j.2517-6161.1977.tb01600.x
    """
    sums = np.zeros(p)
    counts = np.zeros(p)
    for pattern in patterns:
        sums[pattern.observed] += pattern.rows.sum(axis=0)
        counts[pattern.observed] += pattern.count
    mean = sums / counts
    sigma = np.zeros((p, p))
    for pattern in patterns:
        o = pattern.observed
        centered = pattern.rows - mean[o]
        sigma[np.ix_(o, o)] += centered.T @ centered
    pair_counts = np.zeros((p, p))
    for pattern in patterns:
        pair_counts[np.ix_(pattern.observed, pattern.observed)] += pattern.count
    sigma = sigma / np.maximum(pair_counts, 1)
    sigma = np.diag(np.diag(sigma))
    previous = -math.inf
    for _ in range(max_iterations):
        first = np.zeros(p)
        second = np.zeros((p, p))
        for pattern in patterns:
            o = pattern.observed
            m = np.setdiff1d(np.arange(p), o)
            filled = np.empty((pattern.count, p))
            filled[:, o] = pattern.rows
            conditional = np.zeros((p, p))
            if len(m):
                weights = np.linalg.solve(sigma[np.ix_(o, o)], sigma[np.ix_(o, m)]).T
                filled[:, m] = mean[m] + (pattern.rows - mean[o]) @ weights.T
                conditional[np.ix_(m, m)] = sigma[np.ix_(m, m)] - weights @ sigma[np.ix_(o, m)]
            first += filled.sum(axis=0)
            second += filled.T @ filled + pattern.count * conditional
        mean = first / n_obs
        sigma = second / n_obs - np.outer(mean, mean)
        current = pattern_loglik(patterns, mean, sigma)
        if abs(current - previous) < tolerance:
            break
        previous = current
    return mean, sigma, pattern_loglik(patterns, mean, sigma)


class FimlObjective:
    """Minus the FIML log-likelihood divided by N, and its gradient, in (theta, mu)."""

    def __init__(self, model: SemModel, patterns: list[Pattern], n_obs: int) -> None:
        self.model = model
        self.patterns = patterns
        self.n_obs = n_obs
        self.k = model.n_free
        self.p = len(model.observed)

    def split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x[: self.k], x[self.k:]

    def value(self, x: np.ndarray) -> float:
        theta, mean = self.split(x)
        sigma = self.model.implied_covariance(theta)
        loglik = pattern_loglik(self.patterns, mean, sigma)
        return -loglik / self.n_obs if math.isfinite(loglik) else math.inf

    def gradient(self, x: np.ndarray) -> np.ndarray:
        theta, mean = self.split(x)
        sigma, derivatives = self.model.implied_with_derivatives(theta)
        sigma_gradient = np.zeros((self.p, self.p))
        mean_gradient = np.zeros(self.p)
        for pattern in self.patterns:
            o = pattern.observed
            inverse = np.linalg.inv(sigma[np.ix_(o, o)])
            difference = pattern.mean - mean[o]
            moment = pattern.covariance + np.outer(difference, difference)
            sigma_gradient[np.ix_(o, o)] += -pattern.count / 2 * (inverse - inverse @ moment @ inverse)
            mean_gradient[o] += pattern.count * inverse @ difference
        theta_gradient = np.einsum("ij,kij->k", sigma_gradient, derivatives)
        return -np.concatenate([theta_gradient, mean_gradient]) / self.n_obs


def numerical_hessian(gradient, x: np.ndarray) -> np.ndarray:
    """Return the Hessian by central differences of an analytic gradient."""
    size = len(x)
    hessian = np.zeros((size, size))
    for i in range(size):
        step = 1e-5 * max(1.0, abs(x[i]))
        up, down = x.copy(), x.copy()
        up[i] += step
        down[i] -= step
        hessian[:, i] = (gradient(up) - gradient(down)) / (2 * step)
    return (hessian + hessian.T) / 2


def intercepts_from_means(model: SemModel, theta: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Return the observed intercepts implied by the model means (latent intercepts fixed at 0)."""
    model.set_parameters(theta)
    beta, lam = model.semopy_model.matrices[0], model.semopy_model.matrices[LAMBDA]
    inner = model.inner
    rows = list(model.semopy_model.names_lambda[0])
    position = {name: i for i, name in enumerate(model.observed)}
    observed_inner = [i for i, name in enumerate(inner) if name in position]
    latent_inner = [i for i, name in enumerate(inner) if name not in position]
    expected = np.zeros(len(inner))
    for i in observed_inner:
        expected[i] = mean[position[inner[i]]]
    if latent_inner:
        b_ll = beta[np.ix_(latent_inner, latent_inner)]
        b_lo = beta[np.ix_(latent_inner, observed_inner)]
        expected[latent_inner] = np.linalg.solve(np.identity(len(latent_inner)) - b_ll,
                                                 b_lo @ expected[observed_inner])
    alpha = expected - beta @ expected
    intercepts = np.zeros(len(model.observed))
    for name, j in position.items():
        if name in inner:
            intercepts[j] = alpha[inner.index(name)]
        else:
            intercepts[j] = mean[j] - lam[rows.index(name)] @ expected
    return intercepts


def estimate_fiml(model: SemModel, prepared: PreparedData, max_iterations: int = 10000):
    """Fit by FIML and return :class:`psyval.psychometrics.sem.result.Estimates`.

    Notes
    -----
    Starting values come from an ML fit to the EM estimate of the saturated
    covariance matrix; BFGS then maximises the observed-data likelihood, and
    Newton steps on a numerical Hessian of the analytic gradient finish the
    fit. Standard errors use that Hessian (observed information), as lavaan
    does for ``missing = "ml"``. The test statistic is twice the difference
    between the EM (H1) and model (H0) log-likelihoods.

    References
    ----------
    Arbuckle, J. L. (1996). Full information estimation in the presence of
    incomplete data. In G. A. Marcoulides & R. E. Schumacker (Eds.),
    *Advanced structural equation modeling* (pp. 243-277). Erlbaum.
    """
    from psyval.psychometrics.sem.result import Estimates

    values = prepared.values
    n_obs, p = values.shape
    patterns = missing_patterns(values)
    em_mean, em_sigma, h1_loglik = em_saturated(patterns, n_obs, p)
    model.set_covariate_moments(em_sigma)
    start = fit_ml(model, em_sigma, n_obs, max_iterations=max_iterations)
    objective = FimlObjective(model, patterns, n_obs)
    x0 = np.concatenate([start.theta, em_mean])
    # The ML start, BFGS and the Newton steps share max_iterations, so the reported count stays within it.
    solution = optimize.minimize(objective.value, x0, jac=objective.gradient, method="BFGS",
                                 options={"gtol": 1e-9, "maxiter": max(max_iterations - start.iterations, 0)})
    x = solution.x
    iterations = start.iterations + int(solution.nit)
    hessian = numerical_hessian(objective.gradient, x)
    for _ in range(max(min(20, max_iterations - iterations), 0)):
        gradient = objective.gradient(x)
        if np.max(np.abs(gradient)) < 1e-9:
            break
        x = x - np.linalg.lstsq(hessian, gradient, rcond=None)[0]
        hessian = numerical_hessian(objective.gradient, x)
        iterations += 1
    gradient_max = float(np.max(np.abs(objective.gradient(x))))
    converged = gradient_max < 1e-6 and start.converged
    vcov_full = np.linalg.pinv(hessian, hermitian=True) / n_obs
    theta, mean = objective.split(x)
    k = len(theta)
    # Intercepts and their SEs by the delta method on (theta, mu).
    def intercepts_of(vector: np.ndarray) -> np.ndarray:
        return intercepts_from_means(model, vector[:k], vector[k:])

    intercepts = intercepts_of(x)
    jacobian = np.zeros((p, len(x)))
    for i in range(len(x)):
        step = 1e-6 * max(1.0, abs(x[i]))
        up, down = x.copy(), x.copy()
        up[i] += step
        down[i] -= step
        jacobian[:, i] = (intercepts_of(up) - intercepts_of(down)) / (2 * step)
    intercept_se = np.sqrt(np.clip(np.diag(jacobian @ vcov_full @ jacobian.T), 0, None))
    model.set_parameters(theta)
    h0_loglik = -objective.value(x) * n_obs
    sigma = model.implied_covariance(theta)
    baseline_loglik = 0.0
    for j in range(p):
        column = values[:, j][~np.isnan(values[:, j])]
        variance = column.var()
        baseline_loglik += -len(column) / 2 * (_LOG_2PI + math.log(variance) + 1)
    chisq = 2 * (h1_loglik - h0_loglik)
    intercept_table = {name: (float(intercepts[j]), float(intercept_se[j])) for j, name in enumerate(model.observed)}
    intercept_table.update({name: (0.0, 0.0) for name in model.latent})
    logger.info("FIML: %d patterns, %d iterations, max |gradient| %.2e", len(patterns), iterations, gradient_max)
    return Estimates(
        theta=theta,
        vcov=vcov_full[:k, :k],
        fmin=chisq / (2 * n_obs),
        converged=converged,
        iterations=iterations,
        optimizer="BFGS+NEWTON",
        gradient_max=gradient_max,
        logl=h0_loglik,
        unrestricted_logl=h1_loglik,
        chisq=chisq,
        baseline_chisq=2 * (h1_loglik - baseline_loglik),
        sample_cov=em_sigma,
        information=hessian[:k, :k],
        standard_errors=[("Standard errors", "Standard"), ("Information", "Observed"),
                         ("Observed information based on", "Hessian")],
        sample_mean=em_mean,
        implied_mean=mean,
        intercepts=intercept_table,
        n_patterns=len(patterns),
    )
