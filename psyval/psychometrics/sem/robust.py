"""MLR: ML estimates with sandwich standard errors and a Yuan-Bentler scaled test.

This is lavaan's ``estimator = "MLR"`` for complete data: the bread is the
observed information (Hessian), the meat the outer product of casewise
scores, and the test statistic is divided by the Mplus variant of the
Yuan-Bentler scaling factor.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from psyval.psychometrics.sem.estimation import ml_gradient_and_information
from psyval.psychometrics.sem.fit_measures import RMSEA_CLOSE, RMSEA_NOT_CLOSE, noncentrality_interval
from psyval.psychometrics.sem.model import SemModel


def _duplication(p: int) -> np.ndarray:
    """Return the duplication matrix D with vec(S) = D vech(S)."""
    pairs = [(i, j) for j in range(p) for i in range(j, p)]
    matrix = np.zeros((p * p, len(pairs)))
    for column, (i, j) in enumerate(pairs):
        matrix[i * p + j, column] = 1.0
        matrix[j * p + i, column] = 1.0
    return matrix


def _casewise_moments(centered: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """Return vec(W d d' W - W) per row, shape (N, p*p), half the score in vec(Sigma)."""
    weighted = centered @ inverse
    outer = np.einsum("ni,nj->nij", weighted, weighted) - inverse
    return outer.reshape(len(centered), -1)


def apply_mlr(model: SemModel, estimates, values: np.ndarray) -> None:
    """Replace ML standard errors by sandwich ones and add scaled fit measures.

    Notes
    -----
    With per-row scores s_i = dlogL_i/dtheta, B = mean(s_i s_i') and A the
    observed information per row (half the Hessian of the ML discrepancy),
    Cov(theta) = A^-1 B A^-1 / N (Huber-White sandwich). The scaling factor is
    c = (tr(A1^-1 B1) - tr(A0^-1 B0)) / df, with subscript 1 for the
    saturated covariance model and 0 for the user model, and the scaled
    statistic is chisq / c (Yuan & Bentler, 2000; Mplus variant as in lavaan).
    The baseline model is scaled the same way with its own traces.

    References
    ----------
    Yuan, K.-H., & Bentler, P. M. (2000). Three likelihood-based methods for
    mean and covariance structure analysis with nonnormal missing data.
    *Sociological Methodology, 30*, 165-200. https://doi.org/10.1111/0081-1750.00078
    """
    theta = estimates.theta
    n_obs, p = values.shape
    centered = values - values.mean(axis=0)
    sigma, derivatives = model.implied_with_derivatives(theta)
    inverse = np.linalg.inv(sigma)
    flat_derivatives = derivatives.reshape(len(theta), -1)
    scores = 0.5 * _casewise_moments(centered, inverse) @ flat_derivatives.T
    meat = scores.T @ scores / n_obs
    bread = _observed_information(model, theta, estimates.sample_cov)
    bread_inverse = np.linalg.pinv(bread, hermitian=True)
    estimates.vcov = bread_inverse @ meat @ bread_inverse / n_obs
    trace_h0 = float(np.trace(bread_inverse @ meat))

    sample_cov = estimates.sample_cov
    sample_inverse = np.linalg.inv(sample_cov)
    duplication = _duplication(p)
    saturated_scores = 0.5 * _casewise_moments(centered, sample_inverse) @ duplication
    saturated_meat = saturated_scores.T @ saturated_scores / n_obs
    saturated_information = 0.5 * duplication.T @ np.kron(sample_inverse, sample_inverse) @ duplication
    trace_h1 = float(np.trace(np.linalg.solve(saturated_information, saturated_meat)))

    variances = np.diag(sample_cov)
    fourth = np.mean((centered**2 - variances) ** 2, axis=0)
    trace_baseline = float(np.sum(fourth / (2 * variances**2)))

    df = p * (p + 1) // 2 - model.n_covariate_moments - model.n_free
    baseline_df = p * (p + 1) // 2 - p
    baseline_factor = (trace_h1 - trace_baseline) / baseline_df
    baseline_scaled = estimates.baseline_chisq / baseline_factor
    measures = {
        "baseline.chisq.scaled": baseline_scaled,
        "baseline.df.scaled": float(baseline_df),
        "baseline.pvalue.scaled": float(stats.chi2.sf(baseline_scaled, baseline_df)),
        "baseline.chisq.scaling.factor": baseline_factor,
        "scaling.factor.h1": trace_h1 / (p * (p + 1) // 2),
        # lavaan 0.6.14 divides by all free parameters, before the equality
        # constraints from shared labels are taken out.
        "scaling.factor.h0": trace_h0 / model.n_parameters,
    }
    if df > 0:
        measures.update(_scaled_user_test(estimates.chisq, df, trace_h1 - trace_h0, baseline_scaled, baseline_df,
                                          n_obs))
        measures.update(_robust_incremental(estimates.chisq, df, measures["chisq.scaling.factor"],
                                            estimates.baseline_chisq, baseline_df, baseline_factor))
    else:
        measures.update(_saturated_user_test())
    estimates.robust = {key: float(value) for key, value in measures.items()}
    estimates.standard_errors = [("Standard errors", "Sandwich"), ("Information bread", "Observed"),
                                 ("Observed information based on", "Hessian")]


def _scaled_user_test(chisq: float, df: int, trace_difference: float, baseline_scaled: float, baseline_df: int,
                      n_obs: int) -> dict[str, float]:
    """Return the scaled user-model test, scaled CFI and TLI and the RMSEA family for df > 0."""
    factor = trace_difference / df
    chisq_scaled = chisq / factor
    measures = {
        "chisq.scaled": chisq_scaled,
        "df.scaled": float(df),
        "pvalue.scaled": float(stats.chi2.sf(chisq_scaled, df)),
        "chisq.scaling.factor": factor,
    }
    denominator = max(chisq_scaled - df, baseline_scaled - baseline_df, 0.0)
    measures["cfi.scaled"] = min(max(1 - max(chisq_scaled - df, 0.0) / denominator, 0.0), 1.0) if denominator else 1.0
    tli = (baseline_scaled / baseline_df - chisq_scaled / df) / (baseline_scaled / baseline_df - 1)
    measures["tli.scaled"] = min(max(tli, 0.0), 1.0)
    measures["tli.scaled.unbounded"] = tli
    measures.update(_scaled_rmsea(chisq, chisq_scaled, df, factor, n_obs))
    return measures


def _saturated_user_test() -> dict[str, float]:
    """Return the scaled measures of a model with df = 0 as lavaan 0.6.14 reports them.

    A saturated model has no scaling factor. lavaan sets the scaled statistic
    to 0, scaled CFI and TLI to 1 and the robust RMSEA and its interval to 0,
    and leaves the p-values, the scaled RMSEA and the robust CFI and TLI NA.
    """
    nan = float("nan")
    measures = {
        "chisq.scaled": 0.0, "df.scaled": 0.0, "pvalue.scaled": nan, "chisq.scaling.factor": nan,
        "cfi.scaled": 1.0, "tli.scaled": 1.0, "cfi.robust": nan, "tli.robust": nan,
        "rmsea.robust": 0.0, "rmsea.ci.lower.robust": 0.0, "rmsea.ci.upper.robust": 0.0,
    }
    for key in ("rmsea.scaled", "rmsea.ci.lower.scaled", "rmsea.ci.upper.scaled", "rmsea.pvalue.scaled",
                "rmsea.notclose.pvalue.scaled", "rmsea.pvalue.robust", "rmsea.notclose.pvalue.robust"):
        measures[key] = nan
    return measures


def _scaled_rmsea(chisq: float, chisq_scaled: float, df: int, factor: float, n_obs: int) -> dict[str, float]:
    """Return lavaan 0.6.14's scaled and robust RMSEA, their intervals and p-values.

    Notes
    -----
    Scaled: RMSEA from the scaled statistic; its interval and p-values use the
    unscaled statistic on c df degrees of freedom (lavaan's convention).
    Robust (Brosseau-Liard, Savalei & Li, 2012): sqrt(max(chisq - c df, 0) / (N df)),
    with the interval from the noncentrality bounds of the scaled statistic
    multiplied by c, and p-values from the scaled statistic with the
    noncentrality divided by c.

    References
    ----------
    Brosseau-Liard, P. E., Savalei, V., & Li, L. (2012). An investigation of
    the sample performance of two nonnormality corrections for RMSEA.
    *Multivariate Behavioral Research, 47*(6), 904-930.
    https://doi.org/10.1080/00273171.2012.715252
    """
    scaled_df = df * factor
    lower, upper = noncentrality_interval(chisq, scaled_df)
    robust_lower, robust_upper = noncentrality_interval(chisq_scaled, df)
    return {
        "rmsea.scaled": math.sqrt(max(chisq_scaled - df, 0.0) / (df * n_obs)),
        "rmsea.ci.lower.scaled": math.sqrt(lower / (n_obs * scaled_df)),
        "rmsea.ci.upper.scaled": math.sqrt(upper / (n_obs * scaled_df)),
        "rmsea.pvalue.scaled": float(stats.ncx2.sf(chisq, scaled_df, n_obs * scaled_df * RMSEA_CLOSE**2)),
        "rmsea.notclose.pvalue.scaled": float(
            stats.ncx2.cdf(chisq, scaled_df, n_obs * scaled_df * RMSEA_NOT_CLOSE**2)),
        "rmsea.robust": math.sqrt(max(chisq - factor * df, 0.0) / (df * n_obs)),
        "rmsea.ci.lower.robust": math.sqrt(robust_lower * factor / (n_obs * df)),
        "rmsea.ci.upper.robust": math.sqrt(robust_upper * factor / (n_obs * df)),
        "rmsea.pvalue.robust": float(stats.ncx2.sf(chisq_scaled, df, n_obs * df * RMSEA_CLOSE**2 / factor)),
        "rmsea.notclose.pvalue.robust": float(
            stats.ncx2.cdf(chisq_scaled, df, n_obs * df * RMSEA_NOT_CLOSE**2 / factor)),
    }


def _robust_incremental(chisq: float, df: int, factor: float, baseline_chisq: float, baseline_df: int,
                        baseline_factor: float) -> dict[str, float]:
    """Return the robust CFI and TLI of Brosseau-Liard and Savalei (2014), bounded to [0, 1].

    Notes
    -----
    With c and c_b the scaling factors of the user and baseline models,
    CFI = 1 - max(chisq - c df, 0) / max(chisq - c df, chisq_b - c_b df_b, 0) and
    TLI = 1 - ((chisq - c df) / df) / ((chisq_b - c_b df_b) / df_b).

    References
    ----------
    Brosseau-Liard, P. E., & Savalei, V. (2014). Adjusting incremental fit
    indices for nonnormality. *Multivariate Behavioral Research, 49*(5),
    460-470. https://doi.org/10.1080/00273171.2014.933697
    """
    user = chisq - factor * df
    baseline = baseline_chisq - baseline_factor * baseline_df
    denominator = max(user, baseline, 0.0)
    cfi = 1 - max(user, 0.0) / denominator if denominator > 0 else 1.0
    tli = 1 - (user / df) / (baseline / baseline_df) if df > 0 and baseline > 0 else 1.0
    return {"cfi.robust": min(max(cfi, 0.0), 1.0), "tli.robust": min(max(tli, 0.0), 1.0), "tli.robust.unbounded": tli}


def _observed_information(model: SemModel, theta: np.ndarray, sample_cov: np.ndarray) -> np.ndarray:
    """Return half the Hessian of the ML discrepancy, by central differences of its gradient."""
    size = len(theta)
    hessian = np.zeros((size, size))
    for k in range(size):
        step = 1e-5 * max(1.0, abs(theta[k]))
        up, down = theta.copy(), theta.copy()
        up[k] += step
        down[k] -= step
        gradient_up, _ = ml_gradient_and_information(model, up, sample_cov)
        gradient_down, _ = ml_gradient_and_information(model, down, sample_cov)
        hessian[:, k] = (gradient_up - gradient_down) / (2 * step)
    model.set_parameters(theta)
    return 0.5 * (hessian + hessian.T) / 2
