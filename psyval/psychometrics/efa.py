"""Exploratory factor analysis with factor_analyzer, reported as R's psych reports it.

Factor extraction and rotation come from factor_analyzer. psyval adds what
factor_analyzer leaves out: KMO and Bartlett's test on the same correlation
matrix, Horn's parallel analysis, item and factor labels on the loadings,
psych's sign convention, and an explicit missing-data rule with its counts.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from psyval.errors import (
    DataQualityWarning,
    HeywoodWarning,
    IdentificationWarning,
    PsyvalError,
)
from psyval.psychometrics.input_checks import (
    check_full_rank,
    check_numeric_items,
    check_unique_items,
)

logger = logging.getLogger(__name__)

Method = Literal["minres", "ml", "principal"]
Rotation = Literal["none", "varimax", "promax", "oblimin", "quartimax", "geomin_obl", "geomin_ort"]
MissingRule = Literal["listwise", "pairwise"]
_PREFIX = {"minres": "MR", "ml": "ML", "principal": "PA"}
# factor_analyzer 0.5.1 fits minres and ml with L-BFGS-B and bounds each
# uniqueness to [0.005, 1] (its ``bounds`` default, as psych's ``fa``), so a
# Heywood case there shows as a uniqueness stuck at 0.005, not below 0.
_UNIQUENESS_BOUND = 0.005
_BOUND_TOLERANCE = 1e-4


@dataclass
class EfaResult:
    """An exploratory factor analysis.

    Attributes
    ----------
    loadings : pandas.DataFrame
        Items by factors (``MR1``, ``MR2`` ... for minres), signs normalised so
        that each factor's loadings sum to a positive number, factors ordered by
        explained variance.
    communalities : pandas.Series
        h2 per item.
    variance : pandas.DataFrame
        ``SS loadings``, ``Proportion Var`` and ``Cumulative Var`` per factor.
    factor_correlations : pandas.DataFrame or None
        Factor correlation matrix (Phi) for oblique rotations.
    kmo : float
        Overall Kaiser-Meyer-Olkin measure of sampling adequacy.
    kmo_items : pandas.Series
        KMO per item.
    bartlett : dict
        ``chisq``, ``df`` and ``p.value`` of Bartlett's test of sphericity.
    parallel : pandas.DataFrame
        Observed eigenvalues of the reduced correlation matrix against the 95th
        percentile of those from random normal data.
    suggested_factors : int
        Number of observed eigenvalues above the random ones.
    n_factors : int
        Number of factors extracted.
    method, rotation, missing : str
        Options used.
    n_used : int
        Rows used (listwise) or the smallest pairwise count (pairwise).
    n_total : int
        Rows in the input.
    df : int
        Degrees of freedom of the factor model, ``((p - k)^2 - (p + k)) / 2``
        for p items and k factors (psych's ``dof``). Negative means the model
        is not identified, and 0 means it is saturated.
    diagnostics : list of dict
        Problems found in the solution, each with ``code``
        (``underidentified``, ``saturated`` or ``heywood``), ``severity``
        (``error``, ``info`` or ``warning``), ``subject`` and ``message``, as in
        the SEM diagnostics. ``error`` means the loadings are not usable.
    """

    loadings: pd.DataFrame
    communalities: pd.Series
    variance: pd.DataFrame
    factor_correlations: pd.DataFrame | None
    kmo: float
    kmo_items: pd.Series
    bartlett: dict[str, float]
    parallel: pd.DataFrame
    suggested_factors: int
    n_factors: int
    method: str
    rotation: str
    missing: str
    n_used: int
    n_total: int
    df: int
    diagnostics: list[dict[str, str]]

    @property
    def ok(self) -> bool:
        """Whether no diagnostic has severity ``"error"``."""
        return all(diagnostic["severity"] != "error" for diagnostic in self.diagnostics)


def model_degrees_of_freedom(n_items: int, n_factors: int) -> int:
    """Return the degrees of freedom of a k-factor model of p items.

    Notes
    -----
    df = p(p - 1)/2 - pk + k(k - 1)/2 = ((p - k)^2 - (p + k)) / 2: the
    correlations minus the free loadings and uniquenesses, plus the k(k - 1)/2
    rotational constraints. This is ``dof`` in psych's ``fa``. (p - k)^2 and
    p + k have the same parity, so the value is a whole number.
    """
    return ((n_items - n_factors) ** 2 - (n_items + n_factors)) // 2


def _identification_diagnostics(n_items: int, n_factors: int, df: int) -> list[dict[str, str]]:
    """Return diagnostics for negative or zero degrees of freedom, warning when they are negative."""
    if df < 0:
        message = (
            f"the {n_factors}-factor model of {n_items} items has {df} degrees of freedom, so it is not identified "
            "and its loadings and communalities are not unique; extract fewer factors"
        )
        warnings.warn(message, IdentificationWarning, stacklevel=3)
        return [{"code": "underidentified", "severity": "error", "subject": "model", "message": message}]
    if df == 0:
        message = (
            f"the {n_factors}-factor model of {n_items} items has 0 degrees of freedom: it is saturated, so it "
            "reproduces the correlations exactly and there is no fit test"
        )
        return [{"code": "saturated", "severity": "info", "subject": "model", "message": message}]
    return []


def _heywood_diagnostics(columns: list[str], h2: np.ndarray, method: str) -> list[dict[str, str]]:
    """Warn about items whose communality reaches 1 or whose uniqueness reaches its bound.

    psych's ``fa`` warns about an "ultra-Heywood case" when a communality
    exceeds 1. A communality of 1 (uniqueness 0) is a Heywood case. For minres
    and ml, whose uniquenesses cannot go below factor_analyzer's bound, reaching
    the bound marks one.
    """
    uniqueness = 1.0 - h2
    if method == "principal":
        flagged = uniqueness <= 0.0
    else:
        flagged = uniqueness <= _UNIQUENESS_BOUND + _BOUND_TOLERANCE
    diagnostics = []
    for item, communality, flag in zip(columns, h2, flagged):
        if not flag:
            continue
        message = (
            f"Heywood case: item {item!r} has communality {communality:.3f} (uniqueness {1.0 - communality:.3f}), "
            "so the solution is improper; extract fewer factors or check the item"
        )
        warnings.warn(message, HeywoodWarning, stacklevel=3)
        diagnostics.append({"code": "heywood", "severity": "warning", "subject": str(item), "message": message})
    return diagnostics


def kmo(correlation: np.ndarray) -> tuple[float, np.ndarray]:
    """Return the overall and per-item Kaiser-Meyer-Olkin measure.

    Notes
    -----
    With partial correlations q_ij from R^-1, KMO = sum r_ij^2 /
    (sum r_ij^2 + sum q_ij^2) over i != j (Kaiser, 1974); the per-item value
    sums over j only.

    References
    ----------
    Kaiser, H. F. (1974). An index of factorial simplicity. *Psychometrika,
    39*(1), 31-36. https://doi.org/10.1007/BF02291575
    """
    inverse = np.linalg.pinv(correlation)
    scale = np.sqrt(np.outer(np.diag(inverse), np.diag(inverse)))
    partial = -inverse / scale
    off = ~np.eye(correlation.shape[0], dtype=bool)
    r2 = np.where(off, correlation**2, 0.0)
    q2 = np.where(off, partial**2, 0.0)
    overall = float(r2.sum() / (r2.sum() + q2.sum()))
    per_item = r2.sum(axis=1) / (r2.sum(axis=1) + q2.sum(axis=1))
    return overall, per_item


def bartlett_sphericity(correlation: np.ndarray, n_obs: int) -> dict[str, float]:
    """Return Bartlett's test that the correlation matrix is an identity matrix.

    Notes
    -----
    chisq = -(N - 1 - (2p + 5) / 6) log|R| with p(p - 1)/2 df (Bartlett, 1951).

    References
    ----------
    Bartlett, M. S. (1951). The effect of standardization on a chi-square
    approximation in factor analysis. *Biometrika, 38*(3/4), 337-344.
    https://doi.org/10.2307/2332580
    """
    p = correlation.shape[0]
    sign, logdet = np.linalg.slogdet(correlation)
    chisq = -(n_obs - 1 - (2 * p + 5) / 6) * logdet if sign > 0 else float("inf")
    df = p * (p - 1) / 2
    return {"chisq": float(chisq), "df": float(df), "p.value": float(stats.chi2.sf(chisq, df))}


def _reduced_eigenvalues(correlation: np.ndarray) -> np.ndarray:
    reduced = correlation.copy()
    inverse = np.linalg.pinv(correlation)
    np.fill_diagonal(reduced, 1 - 1 / np.diag(inverse))
    return np.sort(np.linalg.eigvalsh(reduced))[::-1]


def parallel_analysis(correlation: np.ndarray, n_obs: int, iterations: int = 20, quantile: float = 0.95,
                      seed: int = 20261204) -> tuple[pd.DataFrame, int]:
    """Return Horn's parallel analysis on the reduced correlation matrix.

    Notes
    -----
    Eigenvalues of R with squared multiple correlations on the diagonal are
    compared with the ``quantile`` of those from ``iterations`` random normal
    data sets of the same size (Horn, 1965). The suggestion counts leading
    observed eigenvalues above the random ones. psych's ``fa.parallel``
    uses communalities from a one-factor solution instead of SMCs, so its
    eigenvalues differ slightly.

    References
    ----------
    Horn, J. L. (1965). A rationale and test for the number of factors in
    factor analysis. *Psychometrika, 30*(2), 179-185. https://doi.org/10.1007/BF02289447
    """
    p = correlation.shape[0]
    observed = _reduced_eigenvalues(correlation)
    generator = np.random.default_rng(seed)
    simulated = np.empty((iterations, p))
    for i in range(iterations):
        sample = generator.standard_normal((n_obs, p))
        simulated[i] = _reduced_eigenvalues(np.corrcoef(sample, rowvar=False))
    threshold = np.quantile(simulated, quantile, axis=0)
    suggested = 0
    for value, limit in zip(observed, threshold):
        if value <= limit:
            break
        suggested += 1
    table = pd.DataFrame({"observed": observed, "random": threshold}, index=range(1, p + 1))
    table.index.name = "factor"
    return table, suggested


def _correlation(frame: pd.DataFrame, missing: MissingRule) -> tuple[np.ndarray, int]:
    if missing == "listwise":
        complete = frame.dropna()
        dropped = len(frame) - len(complete)
        if dropped:
            warnings.warn(f"listwise deletion dropped {dropped} of {len(frame)} rows", DataQualityWarning, stacklevel=3)
        return np.corrcoef(complete.to_numpy(dtype=float), rowvar=False), len(complete)
    if missing == "pairwise":
        present = frame.notna().astype(float)
        counts = present.T @ present
        smallest = int(counts.to_numpy().min())
        if smallest < len(frame):
            warnings.warn(
                f"pairwise correlations use between {smallest} and {len(frame)} rows per pair",
                DataQualityWarning,
                stacklevel=3,
            )
        correlation = frame.corr(min_periods=3).to_numpy()
        if np.isnan(correlation).any():
            raise PsyvalError("some item pairs have fewer than 3 complete rows: use listwise deletion or more data")
        if np.linalg.eigvalsh(correlation)[0] <= 0:
            warnings.warn("the pairwise correlation matrix is not positive definite", DataQualityWarning, stacklevel=3)
        return correlation, smallest
    raise PsyvalError(f"unknown missing-data rule {missing!r}: use 'listwise' or 'pairwise'")


def _default_items(data: pd.DataFrame) -> list[str]:
    """Return the columns that hold at least one number, warning about the text-only ones left out.

    A column with numbers and a few text cells is kept, so the numeric check
    rejects it by name instead of dropping it silently.
    """
    columns, skipped = [], []
    for column in data.columns:
        if pd.to_numeric(data[column], errors="coerce").notna().any():
            columns.append(column)
        else:
            skipped.append(column)
    if skipped:
        warnings.warn(f"columns {skipped!r} hold no numbers and are left out of the EFA", DataQualityWarning,
                      stacklevel=3)
    return columns


def _too_few_items_message(columns: list[str], chosen: bool) -> str:
    """Describe why fewer than 3 item columns cannot go into an EFA, and what to change."""
    names = ", ".join(map(str, columns)) or "none"
    if chosen:
        return f"EFA needs at least 3 items, but items lists only {len(columns)} ({names}): name at least 3 item columns"
    if not columns:
        return ("EFA needs at least 3 numeric item columns, but the data have no numeric columns: check that the "
                "file is comma- or tab-separated and that the responses are numbers")
    return (f"EFA needs at least 3 numeric item columns, but the data have only {len(columns)} ({names}): "
            "add item columns or recode text responses to numbers")


def _phi_in_loading_order(analyzer: object, loadings: np.ndarray) -> np.ndarray | None:
    """Return the factor correlations in the column order of ``loadings``.

    factor_analyzer 0.5.1 reorders the columns of ``loadings_`` and
    ``structure_`` by explained variance but leaves ``phi_`` in the order the
    rotation produced. Because structure = loadings @ Phi is true in any common
    column order, Phi is recovered from the two reordered matrices.
    """
    structure = getattr(analyzer, "structure_", None)
    if getattr(analyzer, "phi_", None) is None or structure is None:
        return None
    phi, *_ = np.linalg.lstsq(loadings, np.asarray(structure, dtype=float), rcond=None)
    phi = (phi + phi.T) / 2
    np.fill_diagonal(phi, 1.0)
    return phi


def efa(
    data: pd.DataFrame,
    n_factors: int | None = None,
    method: Method = "minres",
    rotation: Rotation = "oblimin",
    missing: MissingRule = "listwise",
    items: list[str] | None = None,
) -> EfaResult:
    """Run an exploratory factor analysis.

    Parameters
    ----------
    data : pandas.DataFrame
        Item responses, one numeric column per item.
    n_factors : int, optional
        Factors to extract; by default the number parallel analysis suggests
        (at least 1).
    method : {"minres", "ml", "principal"}
        Extraction method (factor_analyzer's names; psych's ``fm``).
    rotation : str
        ``none``, ``varimax``, ``quartimax``, ``geomin_ort`` (orthogonal) or
        ``oblimin``, ``promax``, ``geomin_obl`` (oblique).
    missing : {"listwise", "pairwise"}
        Listwise deletion or pairwise-complete correlations; counts are reported.
    items : list of str, optional
        Columns to analyse; all numeric columns by default.

    Returns
    -------
    EfaResult

    Notes
    -----
    Signs follow psych: each factor is reflected so that its loadings sum to a
    positive number, then factors are ordered by explained variance.
    """
    from psyval.psychometrics._factor_analyzer import FactorAnalyzer

    if method not in _PREFIX:
        raise PsyvalError(f"unknown extraction method {method!r}: use minres, ml or principal")
    columns = list(items) if items is not None else _default_items(data)
    absent = [c for c in columns if c not in data.columns]
    if absent:
        raise PsyvalError(f"items {absent!r} are not columns of the data")
    if len(columns) < 3:
        raise PsyvalError(_too_few_items_message(columns, chosen=items is not None))
    check_unique_items(columns, "the EFA")
    check_numeric_items(data, columns, "the EFA")
    frame = data[columns].apply(pd.to_numeric, errors="coerce")
    constant = [c for c in columns if frame[c].nunique() <= 1]
    if constant:
        raise PsyvalError(f"items {constant!r} are constant: drop them before the EFA")
    correlation, n_used = _correlation(frame, missing)
    check_full_rank(correlation, columns, n_used, "the EFA")
    overall_kmo, item_kmo = kmo(correlation)
    bartlett = bartlett_sphericity(correlation, n_used)
    parallel, suggested = parallel_analysis(correlation, n_used)
    if n_factors is None and suggested == 0:
        warnings.warn("parallel analysis suggests 0 factors (no eigenvalue above the random ones); extracting 1 "
                      "anyway, so pass n_factors explicitly if that is intended", DataQualityWarning, stacklevel=2)
    n_factors = n_factors if n_factors is not None else max(suggested, 1)
    if not 1 <= n_factors < len(columns):
        raise PsyvalError(f"n_factors {n_factors!r} must be between 1 and {len(columns) - 1}")
    df = model_degrees_of_freedom(len(columns), n_factors)
    diagnostics = _identification_diagnostics(len(columns), n_factors, df)
    rotation_arg = None if rotation == "none" or n_factors == 1 else rotation
    analyzer = FactorAnalyzer(n_factors=n_factors, rotation=rotation_arg, method=method, is_corr_matrix=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        analyzer.fit(correlation)
    loadings = np.array(analyzer.loadings_, dtype=float)
    phi = _phi_in_loading_order(analyzer, loadings)
    signs = np.sign(loadings.sum(axis=0))
    signs[signs == 0] = 1
    loadings = loadings * signs
    if phi is not None:
        phi = phi * np.outer(signs, signs)
    structure_ss = (loadings**2).sum(axis=0) if phi is None else np.diag(loadings.T @ loadings @ phi)
    order = np.argsort(-structure_ss, kind="stable")
    loadings = loadings[:, order]
    names = [f"{_PREFIX[method]}{i + 1}" for i in range(n_factors)]
    loading_table = pd.DataFrame(loadings, index=columns, columns=names)
    factor_correlations = None
    if phi is not None:
        factor_correlations = pd.DataFrame(phi[np.ix_(order, order)], index=names, columns=names)
        h2 = np.einsum("ij,jk,ik->i", loadings, factor_correlations.to_numpy(), loadings)
    else:
        h2 = (loadings**2).sum(axis=1)
    ss = structure_ss[order]
    variance = pd.DataFrame(
        {"SS loadings": ss, "Proportion Var": ss / len(columns), "Cumulative Var": np.cumsum(ss) / len(columns)},
        index=names,
    ).T
    if overall_kmo < 0.5:
        warnings.warn(f"KMO {overall_kmo:.2f} is below 0.5: the items share too little variance for factor analysis",
                      DataQualityWarning, stacklevel=2)
    diagnostics += _heywood_diagnostics(columns, h2, method)
    return EfaResult(
        loadings=loading_table,
        communalities=pd.Series(h2, index=columns, name="h2"),
        variance=variance,
        factor_correlations=factor_correlations,
        kmo=overall_kmo,
        kmo_items=pd.Series(item_kmo, index=columns, name="MSA"),
        bartlett=bartlett,
        parallel=parallel,
        suggested_factors=suggested,
        n_factors=n_factors,
        method=method,
        rotation=rotation,
        missing=missing,
        n_used=n_used,
        n_total=len(frame),
        df=df,
        diagnostics=diagnostics,
    )


def format_efa(result: EfaResult, cut: float = 0.0) -> str:
    """Return a plain-text EFA report: adequacy tests, parallel analysis and loadings."""
    lines = [
        f"Exploratory factor analysis: {result.n_factors} factor(s), extraction {result.method}, "
        f"rotation {result.rotation}",
        f"Observations: {result.n_used} used of {result.n_total} ({result.missing})",
        _format_df(result),
        "",
        f"Kaiser-Meyer-Olkin MSA: {result.kmo:.3f}",
        "  " + "  ".join(f"{item} {value:.2f}" for item, value in result.kmo_items.items()),
        f"Bartlett's test of sphericity: chisq = {result.bartlett['chisq']:.3f}, df = {int(result.bartlett['df'])}, "
        f"p = {result.bartlett['p.value']:.3g}",
        "",
        f"Parallel analysis suggests {result.suggested_factors} factor(s)",
        result.parallel.head(max(result.suggested_factors + 2, 3)).round(3).to_string(),
        "",
        "Loadings:",
    ]
    table = result.loadings.copy()
    formatted = table.map(lambda v: f"{v:.3f}" if abs(v) >= cut else "")
    formatted["h2"] = result.communalities.map(lambda v: f"{v:.3f}")
    lines.append(formatted.to_string())
    lines += ["", result.variance.round(3).to_string()]
    if result.factor_correlations is not None:
        lines += ["", "Factor correlations:", result.factor_correlations.round(3).to_string()]
    if result.diagnostics:
        lines += ["", "Diagnostics:"]
        lines += [f"  {diagnostic['severity']}: {diagnostic['message']}" for diagnostic in result.diagnostics]
    if not result.ok:
        lines += ["", "WARNING: the model is not identified, so the loadings above are not unique and not usable."]
    return "\n".join(lines) + "\n"


def _format_df(result: EfaResult) -> str:
    line = f"Degrees of freedom for the model: {result.df}"
    if result.df < 0:
        return line + " (negative: the model is not identified)"
    if result.df == 0:
        return line + " (saturated: no fit test)"
    return line


