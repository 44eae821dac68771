"""``sem_fit``: fit a lavaan-syntax model and collect everything a report needs.

Computing and printing are separate: :func:`sem_fit` returns a
:class:`SemResult` (tidy parameter table, fit measures, diagnostics), and
:mod:`psyval.psychometrics.sem.printer` turns it into text, JSON or CSV.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats
from threadpoolctl import threadpool_limits

from psyval import __version__
from psyval.errors import DataQualityWarning, PsyvalError, PsyvalWarning
from psyval.psychometrics.sem import diagnostics as checks
from psyval.psychometrics.sem.data import PreparedData, biased_covariance, prepare_data
from psyval.psychometrics.sem.defined import delta_method, evaluate_definitions
from psyval.psychometrics.sem.estimation import expected_vcov, fit_ml, ml_gradient_and_information
from psyval.psychometrics.sem.fit_measures import fit_measures, normal_loglik, srmr
from psyval.psychometrics.sem.model import SemModel
from psyval.psychometrics.sem.standardize import standardize_row
from psyval.psychometrics.sem.syntax import parse_model

logger = logging.getLogger(__name__)

Estimator = Literal["ML", "MLR"]
Missing = Literal["listwise", "fiml"]

PARAMETER_COLUMNS = ["lhs", "op", "rhs", "label", "exo", "est", "se", "z", "pvalue", "ci.lower", "ci.upper",
                     "std.lv", "std.all"]


@dataclass
class Estimates:
    """Estimates, test statistics and sample moments returned by an estimator to :func:`sem_fit`."""

    theta: np.ndarray
    vcov: np.ndarray
    fmin: float
    converged: bool
    iterations: int
    optimizer: str
    gradient_max: float
    logl: float
    unrestricted_logl: float
    chisq: float
    baseline_chisq: float
    sample_cov: np.ndarray
    information: np.ndarray | None
    standard_errors: list[tuple[str, str]]
    sample_mean: np.ndarray | None = None
    implied_mean: np.ndarray | None = None
    intercepts: dict[str, tuple[float, float]] = field(default_factory=dict)
    n_patterns: int | None = None
    robust: dict[str, float] = field(default_factory=dict)


@dataclass
class SemResult:
    """A fitted model: parameter table, fit measures, diagnostics and run facts.

    Attributes
    ----------
    parameters : pandas.DataFrame
        One row per parameter with lavaan's columns ``lhs op rhs label exo est
        se z pvalue ci.lower ci.upper std.lv std.all`` (``exo`` is 1 for the
        covariate variances and covariances fixed at their sample values).
    fit_measures : dict
        lavaan's ``fitMeasures()`` names and values.
    diagnostics : list of Diagnostic
        Problems found; those with severity ``"error"`` make the CLI exit 1.
    info : dict
        Estimator, optimizer, iterations, N used and total, and similar facts
        for the report header.
    notes : list of str
        Conventions that differ from lavaan on purpose, for the report footer.
    """

    parameters: pd.DataFrame
    fit_measures: dict[str, float]
    diagnostics: list[checks.Diagnostic]
    info: dict[str, object]
    notes: list[str]
    latent: list[str]
    observed: list[str]
    endogenous: list[str]

    @property
    def ok(self) -> bool:
        """Whether no diagnostic of severity ``"error"`` was raised."""
        return not any(d.severity == "error" for d in self.diagnostics)

    def summary_text(self) -> str:
        """Return the lavaan-style text report."""
        from psyval.psychometrics.sem.printer import format_text

        return format_text(self)

    def to_json(self) -> str:
        """Return the result as a JSON document."""
        from psyval.psychometrics.sem.printer import format_json

        return format_json(self)

    def to_csv(self) -> str:
        """Return the parameter table as CSV."""
        from psyval.psychometrics.sem.printer import format_csv

        return format_csv(self)


def _estimate_complete(model: SemModel, prepared: PreparedData, estimator: Estimator,
                       max_iterations: int) -> Estimates:
    values = prepared.values
    n_obs = values.shape[0]
    sample_cov = biased_covariance(values)
    checks.check_sample_covariance(sample_cov, model.observed, n_obs)
    model.set_covariate_moments(sample_cov)
    fit = fit_ml(model, sample_cov, n_obs, max_iterations=max_iterations)
    sigma = model.implied_covariance(fit.theta)
    logl = normal_loglik(sigma, sample_cov, n_obs)
    unrestricted = normal_loglik(sample_cov, sample_cov, n_obs)
    if model.covariates:
        # With fixed.x, lavaan reports the likelihood of the outcomes given the
        # covariates: the covariates' own (saturated) likelihood is removed.
        index = [model.observed.index(name) for name in model.covariates]
        block = sample_cov[np.ix_(index, index)]
        marginal = normal_loglik(block, block, n_obs)
        logl -= marginal
        unrestricted -= marginal
    baseline_sigma = _baseline_covariance(model, sample_cov)
    baseline_chisq = 2 * n_obs * (
        float(np.linalg.slogdet(baseline_sigma)[1]) - float(np.linalg.slogdet(sample_cov)[1])
        + float(np.trace(np.linalg.solve(baseline_sigma, sample_cov))) - sample_cov.shape[0]
    ) / 2
    information = None
    if model.n_free:
        _, information = ml_gradient_and_information(model, fit.theta, sample_cov)
        if not np.all(np.isfinite(information)):
            information = None
    estimates = Estimates(
        theta=fit.theta,
        vcov=expected_vcov(model, fit.theta, sample_cov, n_obs) if model.n_free else np.zeros((0, 0)),
        fmin=fit.fmin,
        converged=fit.converged,
        iterations=fit.iterations,
        optimizer=fit.optimizer,
        gradient_max=fit.gradient_max,
        logl=logl,
        unrestricted_logl=unrestricted,
        chisq=2 * n_obs * fit.fmin,
        baseline_chisq=baseline_chisq,
        sample_cov=sample_cov,
        information=information,
        standard_errors=[("Standard errors", "Standard"), ("Information", "Expected"),
                         ("Information saturated (h1) model", "Structured")],
    )
    if estimator == "MLR":
        from psyval.psychometrics.sem.robust import apply_mlr

        apply_mlr(model, estimates, values)
    return estimates


def _baseline_covariance(model: SemModel, sample_cov: np.ndarray) -> np.ndarray:
    """Return the independence model's implied matrix (covariates keep their block)."""
    baseline = np.diag(np.diag(sample_cov))
    index = [model.observed.index(name) for name in model.covariates]
    if index:
        baseline[np.ix_(index, index)] = sample_cov[np.ix_(index, index)]
    return baseline


def _label_values(model: SemModel, theta: np.ndarray) -> dict[str, float]:
    values = {}
    for row in model.rows:
        if row.label:
            values[row.label] = float(theta[row.free]) if row.free is not None else row.fixed_value
    return values


def _estimate_rows(model: SemModel, estimates: Estimates) -> pd.DataFrame:
    """Return one row per model parameter and intercept with its estimate and SE."""
    theta = estimates.theta
    errors = np.sqrt(np.clip(np.diag(estimates.vcov), 0, None)) if theta.size else np.zeros(0)
    records = []
    for row in model.rows:
        if row.free is None:
            est, se = row.fixed_value, 0.0
        else:
            est, se = float(theta[row.free]), float(errors[row.free])
        records.append({"lhs": row.lhs, "op": row.op, "rhs": row.rhs, "label": row.label,
                        "exo": int(row.exogenous_fixed), "est": est, "se": se, "free": row.free is not None})

    latent_set = set(model.latent)
    for name, (est, se) in estimates.intercepts.items():
        records.append({"lhs": name, "op": "~1", "rhs": "", "label": "", "exo": 0, "est": est, "se": se,
                        "free": name not in latent_set})
    return pd.DataFrame.from_records(records)


def _add_standardized(table: pd.DataFrame, model: SemModel, theta: np.ndarray) -> None:
    """Add the Std.lv and Std.all columns in place."""
    latent_set = set(model.latent)
    variances = model.implied_variances(theta)
    variance_parameters = {r.lhs: r.est for r in table.itertuples() if r.op == "~~" and r.lhs == r.rhs}
    for column, scale in (("std.lv", False), ("std.all", True)):
        table[column] = [
            standardize_row(r.lhs, r.op, r.rhs, r.est, variances, variance_parameters, latent_set, scale)
            for r in table.itertuples()
        ]


def _add_defined(table: pd.DataFrame, model: SemModel, estimates: Estimates) -> None:
    """Append the ``:=`` rows: delta-method SEs, and the definitions applied to standardized labels."""
    defined = model.parsed.definitions
    if not defined:
        return
    values, errors = delta_method(defined, lambda t: _label_values(model, t), estimates.theta, estimates.vcov)

    # lavaan standardizes a defined parameter by evaluating its expression on
    # the standardized values of the labelled parameters.
    standardized = {}
    for column in ("std.lv", "std.all"):
        labels = {}
        for row, std in zip(model.rows, table[column][: len(model.rows)]):
            if row.label:
                labels[row.label] = float(std)
        standardized[column] = evaluate_definitions(defined, labels)

    for definition in defined:
        name = definition.name
        table.loc[len(table)] = {
            "lhs": name, "op": ":=", "rhs": "".join(definition.expression.split()), "label": name,
            "exo": 0, "est": values[name], "se": errors[name], "free": True,
            "std.lv": standardized["std.lv"][name], "std.all": standardized["std.all"][name],
        }


def _add_inference(table: pd.DataFrame) -> None:
    """Add z, p-value and 95% Wald confidence limits in place (blank for fixed parameters)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(table["free"] & (table["se"] > 0), table["est"] / table["se"], np.nan)
    table["z"] = z
    table["pvalue"] = 2 * stats.norm.sf(np.abs(z))
    critical = stats.norm.ppf(0.975)
    table["ci.lower"] = table["est"] - critical * table["se"]
    table["ci.upper"] = table["est"] + critical * table["se"]


def _parameter_table(model: SemModel, estimates: Estimates) -> pd.DataFrame:
    """Return the tidy parameter table with lavaan's columns."""
    table = _estimate_rows(model, estimates)
    _add_standardized(table, model, estimates.theta)
    _add_defined(table, model, estimates)
    _add_inference(table)
    return table[PARAMETER_COLUMNS].reset_index(drop=True)


def sem_fit(
    model_syntax: str,
    data: pd.DataFrame,
    estimator: Estimator = "ML",
    missing: Missing = "listwise",
    max_iterations: int = 10000,
) -> SemResult:
    """Fit a structural equation model written in lavaan syntax.

    Parameters
    ----------
    model_syntax : str
        lavaan model syntax: ``=~``, ``~``, ``~~``, labels, fixed values such as
        ``1*x`` (``NA*x`` frees a first loading), equality through shared
        labels and ``:=`` defined parameters.
    data : pandas.DataFrame
        One column per observed variable (extra columns are ignored).
    estimator : {"ML", "MLR"}
        ``ML`` (default) with standard errors from the expected information, or
        ``MLR`` with sandwich standard errors and the Yuan-Bentler scaled test.
    missing : {"listwise", "fiml"}
        Listwise deletion (default; dropped rows are counted and reported) or
        full-information ML, like lavaan's ``missing = "ml"``.
    max_iterations : int
        Iteration limit of the optimizer (lavaan's ``control = list(iter.max)``).
        A fit that stops at the limit is reported as not converged.

    Returns
    -------
    SemResult
        Parameter table with lavaan's column names, fit measures under lavaan's
        names, diagnostics and run facts.

    Raises
    ------
    PsyvalError
        For invalid syntax, model variables missing from the data, non-numeric
        or constant columns, or a singular sample covariance matrix.

    Notes
    -----
    The estimates maximise the normal likelihood with the covariance matrix
    computed with divisor N, so chi-square = 2 N fmin and every fit measure
    uses N, as lavaan 0.6 does by default.
    """
    _check_options(estimator, missing, data)
    parsed = parse_model(model_syntax)
    model = SemModel(parsed)
    if model.covariates and (missing == "fiml" or estimator == "MLR"):
        # lavaan conditions on fixed covariates (fixed.x) in a way that psyval
        # reproduces only for ML with complete data.
        raise PsyvalError(
            f"observed covariates {model.covariates!r} with {'FIML' if missing == 'fiml' else 'MLR'} are not "
            "implemented: use ML with listwise deletion, or model the covariates as indicators of a latent variable"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prepared = prepare_data(data, model.observed, missing)
    found = [checks.Diagnostic("missing_data", "info", str(w.message), "data", w.category) for w in caught]
    observed_variances = np.nanvar(prepared.values, axis=0)
    found += checks.check_variance_ratio(np.diag(observed_variances), model.observed)

    # SEM matrices are small (tens of variables), and multi-threaded BLAS
    # spends more time waking threads than computing on them: on a loaded
    # 2-core machine one 40 x 40 Cholesky inverse took 5 ms threaded and
    # 0.03 ms single-threaded.
    with threadpool_limits(limits=1, user_api="blas"):
        if missing == "fiml":
            from psyval.psychometrics.sem.missing import estimate_fiml

            estimates = estimate_fiml(model, prepared, max_iterations=max_iterations)
        else:
            estimates = _estimate_complete(model, prepared, estimator, max_iterations)

    measures = _fit_measures(model, estimates, prepared.n_used)
    table = _parameter_table(model, estimates)
    found += _diagnose(model, estimates, table, int(measures["df"]))
    for diagnostic in found:
        warnings.warn(diagnostic.message, diagnostic.category, stacklevel=2)

    if not estimates.converged:
        measures = _withhold_fit_statistics(measures)
    outcomes = {t.lhs for t in parsed.terms if t.op == "~"}
    endogenous = [name for name in model.observed if name not in model.covariates]
    endogenous += [name for name in model.latent if name in outcomes]
    info: dict[str, object] = {
        "psyval_version": __version__,
        "estimator": estimator,
        "optimizer": estimates.optimizer,
        "iterations": estimates.iterations,
        "converged": bool(estimates.converged),
        "npar": int(measures["npar"]),
        # lavaan's header counts every labelled copy and lists the equality
        # constraints on their own line; npar above is the count after them.
        "n_parameters": int(measures["npar"]) + model.n_equality_constraints,
        "n_equality_constraints": model.n_equality_constraints,
        "n_used": prepared.n_used,
        "n_total": prepared.n_total,
        "n_dropped": prepared.n_dropped,
        "missing": missing,
        "n_patterns": estimates.n_patterns,
        "standard_errors": estimates.standard_errors,
        "model": model_syntax,
    }
    notes = _notes(measures, estimates) + _ordinal_notes(prepared)
    return SemResult(parameters=table, fit_measures=measures, diagnostics=found, info=info,
                     notes=notes, latent=list(model.latent), observed=list(model.observed),
                     endogenous=endogenous)


def _check_options(estimator: str, missing: str, data: object) -> None:
    if estimator not in ("ML", "MLR"):
        raise PsyvalError(f"unknown estimator {estimator!r}: use 'ML' or 'MLR'")
    if missing not in ("listwise", "fiml"):
        raise PsyvalError(f"unknown missing-data rule {missing!r}: use 'listwise' or 'fiml'")
    if estimator == "MLR" and missing == "fiml":
        raise PsyvalError(
            "estimator 'MLR' with missing='fiml' is not implemented: use MLR with listwise deletion or ML with FIML"
        )
    if not isinstance(data, pd.DataFrame):
        raise PsyvalError(f"data must be a pandas DataFrame, got {type(data).__name__!r}")


def _fit_measures(model: SemModel, estimates: Estimates, n_obs: int) -> dict[str, float]:
    """Return the fit measures.

    The moments counted for df include the p means under FIML and leave out
    the moments of fixed covariates, as lavaan counts them.
    """
    p = len(model.observed)
    n_means = p if estimates.sample_mean is not None else 0
    moments = p * (p + 1) // 2 - model.n_covariate_moments + n_means
    npar = model.n_free + len([1 for name in estimates.intercepts if name in model.observed])
    baseline_df = moments - n_means - (p - len(model.covariates))
    sigma = model.implied_covariance(estimates.theta)
    measures = fit_measures(
        chisq=max(estimates.chisq, 0.0), df=moments - npar, baseline_chisq=estimates.baseline_chisq,
        baseline_df=baseline_df, logl=estimates.logl, unrestricted_logl=estimates.unrestricted_logl, npar=npar,
        n_obs=n_obs, fmin=estimates.fmin,
        srmr_value=srmr(estimates.sample_cov, sigma, estimates.sample_mean, estimates.implied_mean),
    )
    measures.update(estimates.robust)
    return measures


#: Fit-measure keys that describe the model or the test settings rather than
#: the fit, so they stay meaningful when the optimizer did not converge.
_FIT_STRUCTURE_KEYS = frozenset({"npar", "df", "baseline.df", "ntotal", "rmsea.ci.level", "rmsea.close.h0",
                                 "rmsea.notclose.h0"})


def _withhold_fit_statistics(measures: dict[str, float]) -> dict[str, float]:
    """Return ``measures`` with every fit statistic set to NaN.

    Test statistics and fit indices computed at a point where the optimizer
    stopped early describe that point, not the model's best fit, and can look
    perfect (chi-square 0, CFI 1). lavaan 0.6 refuses them too:
    ``fitMeasures()`` stops with "fit measures not available if model did not
    converge" and ``summary()`` prints no test section.
    """
    return {key: value if key in _FIT_STRUCTURE_KEYS else math.nan for key, value in measures.items()}


def _diagnose(model: SemModel, estimates: Estimates, table: pd.DataFrame, df: int) -> list[checks.Diagnostic]:
    """Run every post-fit check."""
    free_names = [f"{r.lhs}{r.op}{r.rhs}" for r in model.rows if r.free is not None]
    found = checks.check_convergence(estimates.converged, estimates.iterations, estimates.gradient_max)
    found += checks.check_identification(df, model.unscaled_latent, estimates.information, free_names)
    found += checks.check_heywood(table.rename(columns={"std.all": "std_all"}), model.latent)
    for row in table[table["op"] == ":="].itertuples():
        if not math.isfinite(row.est):
            # lavaan reports Inf or NaN here as well, but silently.
            found.append(checks.Diagnostic(
                code="defined_not_finite", severity="warning", subject=row.lhs, category=PsyvalWarning,
                message=f"defined parameter {row.lhs!r} := {row.rhs} is {row.est} at the estimates "
                        "(division by zero, log or sqrt of a negative number, or overflow)"))
    sigma = model.implied_covariance(estimates.theta)
    found += checks.check_positive_definite(sigma, model.observed, "covariance matrix of the observed variables",
                                            "implied_not_pd")
    if model.latent:
        found += checks.check_positive_definite(model.latent_covariance(estimates.theta), model.latent,
                                                "covariance matrix of the latent variables", "latent_not_pd")
    return found


_OPTIMIZER_NOTES = {
    "SLSQP+SCORING": "Optimizer SLSQP+SCORING: semopy's SLSQP, then Fisher-scoring steps to a gradient below 1e-7; "
                     "iterations count both, so they differ from lavaan's NLMINB count.",
    "BFGS+NEWTON": "Optimizer BFGS+NEWTON: scipy's BFGS on the FIML likelihood, then Newton steps on the observed "
                   "information; iterations count both, so they differ from lavaan's NLMINB count.",
}


def _notes(measures: dict[str, float], estimates: Estimates) -> list[str]:
    notes = []
    if not estimates.converged:
        notes.append("Fit measures are not reported because the model did not converge; lavaan's "
                     "fitMeasures() refuses them in that case too.")
    if estimates.optimizer in _OPTIMIZER_NOTES:
        notes.append(_OPTIMIZER_NOTES[estimates.optimizer])
    if estimates.n_patterns is not None:
        notes.append("lavaan's robust CFI, TLI and RMSEA for incomplete data are not computed.")
    for key, label in (("tli", "TLI"), ("tli.scaled", "Scaled TLI"), ("tli.robust", "Robust TLI")):
        raw = measures.get(f"{key}.unbounded", float("nan"))
        if not math.isnan(raw) and raw != measures[key]:
            notes.append(f"{label} is bounded to [0, 1]; the unbounded value, which lavaan prints, is {raw:.3f}.")
    return notes


# Items with at most this many integer categories look like Likert answers.
_MAX_ORDINAL_CATEGORIES = 7


def _ordinal_notes(prepared: PreparedData) -> list[str]:
    """Return a note when model variables look ordinal but are fitted as continuous."""
    ordinal = []
    for index, name in enumerate(prepared.columns):
        column = prepared.values[:, index]
        present = column[~np.isnan(column)]
        if np.all(present == np.round(present)) and len(np.unique(present)) <= _MAX_ORDINAL_CATEGORIES:
            ordinal.append(name)
    if not ordinal:
        return []
    shown = ", ".join(ordinal[:6]) + (" ..." if len(ordinal) > 6 else "")
    note = (f"{len(ordinal)} variable(s) ({shown}) have at most {_MAX_ORDINAL_CATEGORIES} integer categories and "
            "are treated as continuous; an estimator for ordered categories (lavaan's WLSMV) is not implemented.")
    return [note]


def fit_from_file(model_path: str, data_path: str, estimator: Estimator = "ML", missing: Missing = "listwise",
                  max_iterations: int = 10000) -> SemResult:
    """Read a model file and a data file or results folder, then call :func:`sem_fit`."""
    from pathlib import Path

    from psyval.psychometrics.sem.data import read_table

    path = Path(model_path)
    if not path.is_file():
        raise PsyvalError(f"model file {model_path!r} not found: pass a text file with lavaan syntax")
    try:
        syntax = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise PsyvalError(f"model file {model_path!r} is not UTF-8 text (byte {error.start}): save it as UTF-8") from None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = read_table(data_path)
    result = sem_fit(syntax, frame, estimator=estimator, missing=missing, max_iterations=max_iterations)
    # Reading the data can warn too (averaged prompt variants); those warnings
    # are kept with the fit's own diagnostics so that every report lists them.
    for warning in caught:
        warnings.warn(warning.message, warning.category, stacklevel=2)
        category = warning.category if issubclass(warning.category, PsyvalWarning) else DataQualityWarning
        result.diagnostics.insert(0, checks.Diagnostic("data_input", "warning", str(warning.message), "data",
                                                       category))
    return result
