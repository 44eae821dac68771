"""Checks that keep an SEM fit from failing silently.

Each check returns :class:`Diagnostic` records that name the parameter or
variable concerned. ``sem_fit`` emits them as warnings of psyval's warning
classes and keeps them on the result. The CLI exits with status 1 when one
has severity ``"error"``, which non-convergence and under-identification have.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from psyval.errors import (
    ConvergenceWarning,
    DataQualityWarning,
    HeywoodWarning,
    IdentificationWarning,
    NotPositiveDefiniteWarning,
    PsyvalError,
    PsyvalWarning,
)


@dataclass(frozen=True)
class Diagnostic:
    """A problem found in a fit.

    ``code`` is one of ``nonconvergence``, ``underidentified``,
    ``unscaled_latent``, ``singular_information``, ``heywood``,
    ``implied_not_pd``, ``latent_not_pd``, ``defined_not_finite``, ``variance_ratio``,
    ``data_input`` (a warning from reading the data file) and
    ``missing_data`` (rows dropped).
    """

    code: str
    severity: str
    message: str
    subject: str
    category: type[PsyvalWarning]

    def as_dict(self) -> dict[str, str]:
        """Return the record without its warning class, for JSON output."""
        return {"code": self.code, "severity": self.severity, "subject": self.subject, "message": self.message}


def check_sample_covariance(sample_cov: np.ndarray, names: list[str], n_obs: int | None = None) -> None:
    """Raise when the sample covariance matrix is not positive definite.

    The ML discrepancy needs log|S|, so a singular S (collinear or duplicated
    columns, or no more rows than variables) cannot be fitted; semopy would
    replace S by a nearby matrix without saying so. The test runs on the
    correlation matrix, so variables on very different scales are not
    mistaken for linearly dependent ones.
    """
    p = len(names)
    if n_obs is not None and n_obs <= p:
        raise PsyvalError(
            f"the data have {n_obs} usable rows for {p} model variables, so the sample covariance matrix is "
            "singular: collect more rows than variables or use fewer variables"
        )
    sd = np.sqrt(np.diag(sample_cov))
    correlation = sample_cov / np.outer(sd, sd)
    eigenvalues, eigenvectors = np.linalg.eigh(correlation)
    tolerance = 1e-10 * max(float(np.max(np.abs(eigenvalues))), 1.0)
    if eigenvalues[0] > tolerance:
        return
    vector = eigenvectors[:, 0]
    involved = [names[i] for i in np.argsort(-np.abs(vector)) if abs(vector[i]) > 0.2]
    raise PsyvalError(
        f"the sample covariance matrix is not positive definite (smallest eigenvalue of the correlation matrix "
        f"{eigenvalues[0]:.3g}); variables {involved!r} are linearly dependent: drop or combine one of them"
    )


def check_variance_ratio(sample_cov: np.ndarray, names: list[str]) -> list[Diagnostic]:
    """Return a warning when observed variances differ by a factor above 1000.

    lavaan 0.6 warns at the same ratio, because the optimizer then often
    stops early or fails; rescaling the variables usually cures it.
    """
    variances = np.diag(sample_cov)
    largest, smallest = int(np.argmax(variances)), int(np.argmin(variances))
    if variances[largest] <= 1000 * variances[smallest]:
        return []
    return [Diagnostic(
        "variance_ratio", "warning",
        f"observed variances differ by a factor of {variances[largest] / variances[smallest]:.3g} "
        f"({names[largest]!r} {variances[largest]:.3g}, {names[smallest]!r} {variances[smallest]:.3g}): "
        "rescale the variables, because the optimizer may stop early",
        "data", DataQualityWarning)]


def check_identification(df: int, unscaled: list[str], information: np.ndarray | None,
                         free_names: list[str]) -> list[Diagnostic]:
    """Return under-identification diagnostics: df < 0, unscaled latents, singular information."""
    found = []
    if df < 0:
        found.append(Diagnostic(
            "underidentified", "error",
            f"the model is not identified: it has {-df} more free parameters than sample moments (df = {df}); "
            "fix or constrain parameters",
            "model", IdentificationWarning))
    for latent in unscaled:
        found.append(Diagnostic(
            "unscaled_latent", "error",
            f"latent variable {latent!r} has no scale: fix one loading (1*item) or its variance ({latent} ~~ 1*{latent})",
            latent, IdentificationWarning))
    if information is not None and information.size and not found:
        eigenvalues, eigenvectors = np.linalg.eigh(information)
        if eigenvalues[0] < 1e-9 * max(float(eigenvalues[-1]), 1.0):
            vector = eigenvectors[:, 0]
            involved = [free_names[i] for i in np.argsort(-np.abs(vector)) if abs(vector[i]) > 0.2]
            found.append(Diagnostic(
                "singular_information", "error",
                f"the information matrix is singular, so the model is not identified; parameters involved: {involved!r}",
                ", ".join(involved), IdentificationWarning))
    return found


def check_convergence(converged: bool, iterations: int, gradient_max: float) -> list[Diagnostic]:
    """Return a diagnostic when the optimizer did not converge."""
    if converged:
        return []
    return [Diagnostic(
        "nonconvergence", "error",
        f"the optimizer did not converge after {iterations} iteration{'' if iterations == 1 else 's'} "
        f"(max |gradient| {gradient_max:.3g}); "
        "estimates are unreliable: check the model, scale the variables or give starting values",
        "model", ConvergenceWarning)]


def check_heywood(parameters, latent: list[str]) -> list[Diagnostic]:
    """Return diagnostics for negative variances and standardized covariances beyond +-1."""
    found = []
    for row in parameters.itertuples(index=False):
        if row.op != "~~":
            continue
        name = f"{row.lhs} ~~ {row.rhs}"
        if row.lhs == row.rhs and row.est < 0:
            found.append(Diagnostic(
                "heywood", "warning",
                f"negative variance estimate {row.est:.3f} for {name} (Heywood case): the model is misspecified "
                "or the sample too small for it",
                name, HeywoodWarning))
        elif row.lhs != row.rhs and abs(getattr(row, "std_all", 0.0)) > 1:
            found.append(Diagnostic(
                "heywood", "warning",
                f"standardized covariance {getattr(row, 'std_all'):.3f} for {name} exceeds 1 in size (Heywood case)",
                name, HeywoodWarning))
    return found


def check_positive_definite(matrix: np.ndarray, names: list[str], description: str, code: str) -> list[Diagnostic]:
    """Return a diagnostic when a model-implied matrix is not positive definite."""
    if matrix.size == 0 or not np.all(np.isfinite(matrix)):
        return []
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    if eigenvalues[0] > 1e-10:
        return []
    vector = eigenvectors[:, 0]
    involved = [names[i] for i in np.argsort(-np.abs(vector)) if abs(vector[i]) > 0.2]
    return [Diagnostic(
        code, "warning",
        f"the model-implied {description} is not positive definite (smallest eigenvalue {eigenvalues[0]:.3g}); "
        f"variables involved: {involved!r}",
        ", ".join(involved), NotPositiveDefiniteWarning)]
