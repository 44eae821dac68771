"""Fit measures of an ML fit, computed as lavaan 0.6 computes them.

Every index uses N (not N - 1), like lavaan's default ``likelihood =
"normal"``. CFI and TLI are bounded to [0, 1]; lavaan bounds CFI but not TLI,
so a TLI above 1 or below 0 is reported in ``tli.unbounded`` as well.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, stats

RMSEA_CLOSE = 0.05
RMSEA_NOT_CLOSE = 0.08
RMSEA_CI_LEVEL = 0.90


def normal_loglik(sigma: np.ndarray, sample_cov: np.ndarray, n_obs: int) -> float:
    """Return the multivariate normal log-likelihood of N rows with covariance S.

    Notes
    -----
    logL = -N/2 (p log(2 pi) + log|Sigma| + tr(S Sigma^-1)), with S the
    covariance matrix with divisor N and the means at their saturated values.
    """
    p = sigma.shape[0]
    _, logdet = np.linalg.slogdet(sigma)
    trace = float(np.trace(np.linalg.solve(sigma, sample_cov)))
    return -n_obs / 2 * (p * math.log(2 * math.pi) + logdet + trace)


def rmsea_interval(chisq: float, df: int, n_obs: int, level: float = RMSEA_CI_LEVEL) -> tuple[float, float]:
    """Return the confidence interval of RMSEA from the noncentral chi-square.

    Notes
    -----
    The bounds solve F(chisq; df, lambda) = (1 + level)/2 and (1 - level)/2 for
    the noncentrality lambda, and RMSEA = sqrt(lambda / (N df)) (Browne &
    Cudeck, 1993). A bound is 0 when even lambda = 0 leaves F below the target.

    References
    ----------
    Browne, M. W., & Cudeck, R. (1993). Alternative ways of assessing model
    fit. *Sociological Methods & Research, 21*(2), 230-258.
    https://doi.org/10.1177/0049124192021002005
    """
    if df <= 0:
        return float("nan"), float("nan")
    lower, upper = noncentrality_interval(chisq, df, level)
    return math.sqrt(lower / (n_obs * df)), math.sqrt(upper / (n_obs * df))


def noncentrality_interval(chisq: float, df: float, level: float = RMSEA_CI_LEVEL) -> tuple[float, float]:
    """Return the noncentrality parameters at which ``chisq`` sits at the (1 +- level)/2 quantiles.

    A bound is 0 when even a central chi-square leaves the statistic below
    the target quantile.
    """

    def solve(target: float) -> float:
        def distance(ncp: float) -> float:
            return float(stats.ncx2.cdf(chisq, df, ncp) if ncp > 0 else stats.chi2.cdf(chisq, df)) - target

        if distance(0.0) < 0:
            return 0.0
        upper = max(chisq, 1.0)
        while distance(upper) > 0:
            upper *= 2
        return float(optimize.brentq(distance, 0.0, upper, xtol=1e-12))

    return solve((1 + level) / 2), solve((1 - level) / 2)


def srmr(sample_cov: np.ndarray, sigma: np.ndarray, sample_mean: np.ndarray | None = None,
         implied_mean: np.ndarray | None = None) -> float:
    """Return Bentler's standardized root mean square residual.

    Notes
    -----
    SRMR = sqrt(mean of squared standardized residuals over the p(p+1)/2
    unique elements), each residual being (s_ij - sigma_ij) / sqrt(s_ii s_jj)
    with the sample variances in the denominator (Bentler's definition,
    lavaan's ``srmr``). With a mean structure, the p standardized mean
    residuals (m_j - mu_j) / sqrt(s_jj) join the average.

    References
    ----------
    Bentler, P. M. (1995). *EQS structural equations program manual*.
    Multivariate Software.
    """
    sample_sd = np.sqrt(np.diag(sample_cov))
    residual = (sample_cov - sigma) / np.outer(sample_sd, sample_sd)
    lower = np.tril_indices(sample_cov.shape[0])
    squares = list(residual[lower] ** 2)
    if sample_mean is not None and implied_mean is not None:
        squares.extend(((sample_mean - implied_mean) / sample_sd) ** 2)
    return float(math.sqrt(np.mean(squares)))


def fit_measures(
    *,
    chisq: float,
    df: int,
    baseline_chisq: float,
    baseline_df: int,
    logl: float,
    unrestricted_logl: float,
    npar: int,
    n_obs: int,
    fmin: float,
    srmr_value: float,
) -> dict[str, float]:
    """Return lavaan's fit measures under lavaan's names.

    Parameters
    ----------
    chisq, df : float, int
        Test statistic of the user model and its degrees of freedom.
    baseline_chisq, baseline_df : float, int
        Statistic and df of the independence (baseline) model.
    logl, unrestricted_logl : float
        Log-likelihood of the user model (H0) and the saturated model (H1).
    npar : int
        Number of free parameters.
    n_obs : int
        Number of observations used.
    fmin : float
        Minimum of lavaan's objective (half the ML discrepancy).
    srmr_value : float
        SRMR from :func:`srmr`.

    Returns
    -------
    dict
        Keys ``npar fmin chisq df pvalue baseline.chisq baseline.df
        baseline.pvalue cfi tli logl unrestricted.logl aic bic ntotal bic2
        rmsea rmsea.ci.lower rmsea.ci.upper rmsea.ci.level rmsea.pvalue
        rmsea.close.h0 rmsea.notclose.pvalue rmsea.notclose.h0 srmr`` and
        ``tli.unbounded``.

    Notes
    -----
    CFI = 1 - max(chisq - df, 0) / max(chisq - df, chisq_b - df_b, 0)
    (Bentler, 1990). TLI = (chisq_b/df_b - chisq/df) / (chisq_b/df_b - 1)
    (Tucker & Lewis, 1973). RMSEA = sqrt(max(chisq - df, 0) / (df N)); its
    p-values are P(X > chisq) under noncentrality N df 0.05^2 (close fit) and
    P(X <= chisq) under N df 0.08^2 (not-close fit). AIC = -2 logL + 2 q,
    BIC = -2 logL + q log N, sample-size adjusted BIC uses (N + 2) / 24.

    References
    ----------
    Bentler, P. M. (1990). Comparative fit indexes in structural models.
    *Psychological Bulletin, 107*(2), 238-246. https://doi.org/10.1037/0033-2909.107.2.238

    Tucker, L. R., & Lewis, C. (1973). A reliability coefficient for maximum
    likelihood factor analysis. *Psychometrika, 38*(1), 1-10.
    https://doi.org/10.1007/BF02291170
    """
    pvalue = float(stats.chi2.sf(chisq, df)) if df > 0 else float("nan")
    baseline_pvalue = float(stats.chi2.sf(baseline_chisq, baseline_df)) if baseline_df > 0 else float("nan")
    denominator = max(chisq - df, baseline_chisq - baseline_df, 0.0)
    cfi = 1.0 - max(chisq - df, 0.0) / denominator if denominator > 0 else 1.0
    cfi = min(max(cfi, 0.0), 1.0)
    if df > 0 and baseline_df > 0 and baseline_chisq / baseline_df != 1:
        tli_raw = (baseline_chisq / baseline_df - chisq / df) / (baseline_chisq / baseline_df - 1)
    else:
        tli_raw = 1.0
    tli = min(max(tli_raw, 0.0), 1.0)
    if df > 0:
        rmsea = math.sqrt(max(chisq - df, 0.0) / (df * n_obs))
        lower, upper = rmsea_interval(chisq, df, n_obs)
        close = float(stats.ncx2.sf(chisq, df, n_obs * df * RMSEA_CLOSE**2))
        not_close = float(stats.ncx2.cdf(chisq, df, n_obs * df * RMSEA_NOT_CLOSE**2))
    else:
        rmsea = lower = upper = close = not_close = float("nan") if df < 0 else 0.0
        if df == 0:
            close, not_close = float("nan"), float("nan")
    two_logl = -2 * logl
    measures = {
        "npar": float(npar),
        "fmin": fmin,
        "chisq": chisq,
        "df": float(df),
        "pvalue": pvalue,
        "baseline.chisq": baseline_chisq,
        "baseline.df": float(baseline_df),
        "baseline.pvalue": baseline_pvalue,
        "cfi": cfi,
        "tli": tli,
        "tli.unbounded": tli_raw,
        "logl": logl,
        "unrestricted.logl": unrestricted_logl,
        "aic": two_logl + 2 * npar,
        "bic": two_logl + npar * math.log(n_obs),
        "ntotal": float(n_obs),
        "bic2": two_logl + npar * math.log((n_obs + 2) / 24),
        "rmsea": rmsea,
        "rmsea.ci.lower": lower,
        "rmsea.ci.upper": upper,
        "rmsea.ci.level": RMSEA_CI_LEVEL,
        "rmsea.pvalue": close,
        "rmsea.close.h0": RMSEA_CLOSE,
        "rmsea.notclose.pvalue": not_close,
        "rmsea.notclose.h0": RMSEA_NOT_CLOSE,
        "srmr": srmr_value,
    }
    return {key: float(value) for key, value in measures.items()}
