"""Specify a lavaan model on semopy's matrices.

semopy stores a model as the matrices Beta (regressions among "inner"
variables), Lambda (loadings), Psi (inner variances and covariances) and
Theta (observed residual variances and covariances). psyval lets semopy size
and name those matrices, then writes the parameters itself with lavaan's
rules, because semopy's own rules differ from lavaan's in ways that change
estimates: a labelled first loading is freed and the next one fixed instead,
and a fixed variance such as ``f ~~ 1*f`` gains a second, free parameter at
the same place.

The defaults of lavaan 0.6's ``sem()`` and ``cfa()`` are applied. The first
loading of each factor is fixed to 1 unless freed with ``NA*``. Every
variable gets a free (residual) variance. Exogenous latent variables covary,
and so do the residuals of pure outcome variables. The variances and
covariances of observed exogenous covariates are fixed to their sample
values (``fixed.x = TRUE``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from psyval.errors import PsyvalError
from psyval.psychometrics.sem._semopy_log import semopy_logging_captured

with semopy_logging_captured():
    import semopy
from psyval.psychometrics.sem.syntax import ParsedModel, Term

logger = logging.getLogger(__name__)

BETA, LAMBDA, PSI, THETA = range(4)


@dataclass
class ParameterRow:
    """One row of the parameter table, before estimates are attached.

    ``free`` is the 0-based index into the free parameter vector, or ``None``
    for a fixed parameter whose value is ``fixed_value``. ``exogenous_fixed``
    marks the variances and covariances of observed covariates that lavaan
    fixes to their sample values and does not print.
    """

    lhs: str
    op: str
    rhs: str
    label: str
    free: int | None
    fixed_value: float
    name: str
    exogenous_fixed: bool = False


def _raise_for_mixed_covariance(parsed: ParsedModel) -> None:
    """Raise a clear error for a latent ~~ observed covariance, which semopy cannot build.

    semopy keeps latent and purely measured variables in separate covariance
    matrices (Psi and Theta), so such a parameter has no place; lavaan adds a
    phantom latent variable for it.
    """
    latent = set(parsed.latent)
    for term in parsed.terms:
        if term.op == "~~" and (term.lhs in latent) != (term.rhs in latent):
            observed = term.rhs if term.lhs in latent else term.lhs
            raise PsyvalError(
                f"covariance {term.lhs} ~~ {term.rhs} between a latent and an observed variable is not supported: "
                f"define a single-indicator latent variable for {observed!r} (e.g. 'f_x =~ 1*x' with 'x ~~ 0*x') "
                "and let it covary with the other latent variable"
            )


class SemModel:
    """A lavaan-style model built on semopy's matrices.

    Parameters
    ----------
    parsed : ParsedModel
        Output of :func:`psyval.psychometrics.sem.syntax.parse_model`.
    """

    def __init__(self, parsed: ParsedModel) -> None:
        self.parsed = parsed
        try:
            with semopy_logging_captured():
                self.semopy_model = semopy.Model(parsed.semopy_description(), mimic_lavaan=True)
        except (SyntaxError, NotImplementedError, KeyError, ValueError) as error:
            _raise_for_mixed_covariance(parsed)
            raise PsyvalError(f"semopy could not build the model: {error}") from error
        model = self.semopy_model
        self.observed: list[str] = list(parsed.observed)
        self.latent: list[str] = list(parsed.latent)
        self.inner: list[str] = list(model.names_beta[0])
        if sorted(model.vars["observed"]) != sorted(self.observed):
            raise PsyvalError(f"semopy read different observed variables: {sorted(model.vars['observed'])!r}")
        self.matrices = model.matrices[:4]
        self.rows: list[ParameterRow] = []
        self.covariates = self._find_covariates()
        self.unscaled_latent: list[str] = []
        self._specify()

    # --- specification ----------------------------------------------------------

    def _find_covariates(self) -> list[str]:
        """Return observed variables that only ever predict (lavaan's ov.x)."""
        outcomes = {t.lhs for t in self.parsed.terms if t.op == "~"}
        predictors = [t.rhs for t in self.parsed.terms if t.op == "~"]
        indicators = {t.rhs for t in self.parsed.terms if t.op == "=~"}
        covariates = []
        for name in predictors:
            if name in self.latent or name in outcomes or name in indicators or name in covariates:
                continue
            covariates.append(name)
        return covariates

    def _location(self, lhs: str, op: str, rhs: str) -> tuple[int, int, int, bool]:
        """Return (matrix, row, col, symmetric) of a term in semopy's matrices."""
        model = self.semopy_model
        if op == "=~" and rhs in self.inner:
            # An indicator that also takes part in regressions is an inner
            # variable, so its loading is a regression on the factor in Beta.
            # In Lambda it would add the factor to the inner variable instead.
            rows, cols = model.names_beta
            return BETA, rows.index(rhs), cols.index(lhs), False
        if op == "=~":
            rows, cols = model.names_lambda
            return LAMBDA, rows.index(rhs), cols.index(lhs), False
        if op == "~":
            rows, cols = model.names_beta
            return BETA, rows.index(lhs), cols.index(rhs), False
        inner = set(self.inner)
        if lhs in inner and rhs in inner:
            rows, cols = model.names_psi
            return PSI, rows.index(lhs), cols.index(rhs), lhs != rhs
        if lhs in self.observed and rhs in self.observed:
            rows, cols = model.names_theta
            return THETA, rows.index(lhs), cols.index(rhs), lhs != rhs
        raise PsyvalError(
            f"covariance {lhs} ~~ {rhs} between a latent variable and an indicator residual is not supported"
        )

    def _add(self, term: Term, name: str, active: bool, start: float | None, covariate: bool = False) -> None:
        matrix, row, col, symmetric = self._location(term.lhs, term.op, term.rhs)
        self.semopy_model.add_param(
            name,
            active=active,
            start=start,
            bound=(None, None),
            matrix=self.matrices[matrix],
            indices=(row, col),
            symmetric=symmetric,
        )
        self.rows.append(
            ParameterRow(
                lhs=term.lhs,
                op=term.op,
                rhs=term.rhs,
                label=term.label or "",
                free=None,
                fixed_value=0.0 if start is None else float(start),
                name=name,
                exogenous_fixed=covariate,
            )
        )

    def _specify(self) -> None:
        model = self.semopy_model
        # semopy's own parameters are dropped. An observed variable that takes
        # part in regressions is also an inner variable, and Lambda maps it onto
        # itself with a fixed 1.
        for matrix in self.matrices:
            matrix[...] = 0.0
        lambda_matrix = self.matrices[LAMBDA]
        inner_observed = [name for name in self.inner if name in self.observed]
        rows, cols = model.names_lambda
        for name in inner_observed:
            lambda_matrix[rows.index(name), cols.index(name)] = 1.0
        model.parameters.clear()
        counter = 0

        def auto_name() -> str:
            nonlocal counter
            counter += 1
            return f"_p{counter}"

        terms = self.parsed.terms
        freed = self.parsed.freed
        seen_first: set[str] = set()
        for term in terms:
            if term.op != "=~":
                continue
            first = term.lhs not in seen_first
            seen_first.add(term.lhs)
            self._add_term(term, auto_name, fix_to_one=first and (term.lhs, term.rhs) not in freed)
        for term in terms:
            if term.op == "~":
                self._add_term(term, auto_name)
        user_covariances = set()
        for term in terms:
            if term.op == "~~":
                user_covariances.add(frozenset((term.lhs, term.rhs)))
                self._add_term(term, auto_name)
        variables = self.observed + self.latent
        covariates = set(self.covariates)
        for name in variables:
            if frozenset((name,)) in user_covariances or name in covariates:
                continue
            self._add_term(Term(name, "~~", name), auto_name)
        # Exogenous latent variables covary (lavaan's auto.cov.lv.x).
        outcomes = {t.lhs for t in terms if t.op == "~"}
        predictors = {t.rhs for t in terms if t.op == "~"}
        exogenous_latent = [name for name in self.latent if name not in outcomes]
        for first_name, second_name in combinations(exogenous_latent, 2):
            if frozenset((first_name, second_name)) not in user_covariances:
                self._add_term(Term(first_name, "~~", second_name), auto_name)
        # Residuals of pure outcomes covary (lavaan's auto.cov.y).
        pure_outcomes = [name for name in variables if name in outcomes and name not in predictors]
        for first_name, second_name in combinations(pure_outcomes, 2):
            if frozenset((first_name, second_name)) not in user_covariances:
                self._add_term(Term(first_name, "~~", second_name), auto_name)
        for first_name, second_name in [(c, c) for c in self.covariates] + list(combinations(self.covariates, 2)):
            self._add(Term(first_name, "~~", second_name), auto_name(), active=False, start=0.0, covariate=True)
        self.unscaled_latent = self._find_unscaled()
        self._index_free()

    def _add_term(self, term: Term, auto_name: Callable[[], str], fix_to_one: bool = False) -> None:
        name = term.label or auto_name()
        if term.fixed is not None:
            self._add(term, name, active=False, start=term.fixed)
        elif fix_to_one:
            self._add(term, name, active=False, start=1.0)
        elif term.label and term.label in self.semopy_model.parameters:
            existing = self.semopy_model.parameters[term.label]
            self._add(term, name, active=existing.active, start=existing.start)
        else:
            self._add(term, name, active=True, start=None)

    def _find_unscaled(self) -> list[str]:
        """Return latent variables with neither a fixed loading nor a fixed variance."""
        unscaled = []
        for latent in self.latent:
            has_fixed_loading = any(
                row.op == "=~" and row.lhs == latent and not self.semopy_model.parameters[row.name].active
                and row.fixed_value != 0
                for row in self.rows
            )
            has_fixed_variance = any(
                row.op == "~~" and row.lhs == latent and row.rhs == latent
                and not self.semopy_model.parameters[row.name].active
                for row in self.rows
            )
            if not (has_fixed_loading or has_fixed_variance):
                unscaled.append(latent)
        return unscaled

    def _index_free(self) -> None:
        model = self.semopy_model
        model.prepare_params()
        index = {name: i for i, name in enumerate(n for n, p in model.parameters.items() if p.active)}
        for row in self.rows:
            parameter = model.parameters[row.name]
            row.free = index.get(row.name) if parameter.active else None
            if not parameter.active and parameter.start is not None:
                row.fixed_value = float(parameter.start)
        self._n_free = len(index)
        # semopy fills starting values from the data on its first load() only
        # while the model has no parameter vector yet.
        del model.param_vals

    def set_covariate_moments(self, sample_cov: np.ndarray) -> None:
        """Fix the covariate variances and covariances to their sample values."""
        position = {name: i for i, name in enumerate(self.observed)}
        for row in self.rows:
            if row.exogenous_fixed:
                value = float(sample_cov[position[row.lhs], position[row.rhs]])
                parameter = self.semopy_model.parameters[row.name]
                parameter.start = value
                row.fixed_value = value
                for location in parameter.locations:
                    location.matrix[location.indices] = value
                    if location.symmetric:
                        location.matrix[location.indices[::-1]] = value

    @property
    def n_free(self) -> int:
        """Number of free parameters (equality-constrained ones count once)."""
        return self._n_free

    @property
    def n_parameters(self) -> int:
        """Number of free parameter-table rows, counting each labelled copy once more.

        lavaan prints this as "Number of model parameters" and divides the
        MLR trace by it for the H0 scaling correction factor.
        """
        return sum(1 for row in self.rows if row.free is not None)

    @property
    def n_equality_constraints(self) -> int:
        """Number of equality constraints that shared labels impose."""
        return self.n_parameters - self.n_free

    @property
    def n_covariate_moments(self) -> int:
        """Number of covariate moments that lavaan leaves out of the df count."""
        q = len(self.covariates)
        return q * (q + 1) // 2

    # --- model-implied moments -------------------------------------------------

    def set_parameters(self, theta: np.ndarray) -> None:
        """Write a free parameter vector into semopy's matrices."""
        self.semopy_model.update_matrices(np.asarray(theta, dtype=float))

    def implied_covariance(self, theta: np.ndarray) -> np.ndarray:
        """Return the model-implied covariance matrix of the observed variables."""
        self.set_parameters(theta)
        sigma, _ = self.semopy_model.calc_sigma()
        return self._reorder(sigma)

    def implied_with_derivatives(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return Sigma and its derivatives, shape (n_free, p, p), at ``theta``."""
        self.set_parameters(theta)
        sigma, (m, c) = self.semopy_model.calc_sigma()
        gradient = self.semopy_model.calc_sigma_grad(m, c)
        p = sigma.shape[0]
        derivatives = np.zeros((len(gradient), p, p))
        for k, g in enumerate(gradient):
            derivatives[k] = g
        order = self._order
        return sigma[np.ix_(order, order)], derivatives[:, order][:, :, order]

    def implied_variances(self, theta: np.ndarray) -> dict[str, float]:
        """Return the model-implied variance of every variable, latent and observed."""
        self.set_parameters(theta)
        beta, _, psi, _ = self.semopy_model.matrices[:4]
        c = np.linalg.inv(np.identity(beta.shape[0]) - beta)
        inner_cov = c @ psi @ c.T
        sigma = self.implied_covariance(theta)
        variances = {name: float(inner_cov[i, i]) for i, name in enumerate(self.inner)}
        variances.update({name: float(sigma[i, i]) for i, name in enumerate(self.observed)})
        return variances

    def latent_covariance(self, theta: np.ndarray) -> np.ndarray:
        """Return the model-implied covariance matrix of the latent variables."""
        self.set_parameters(theta)
        beta, _, psi, _ = self.semopy_model.matrices[:4]
        c = np.linalg.inv(np.identity(beta.shape[0]) - beta)
        inner_cov = c @ psi @ c.T
        index = [self.inner.index(name) for name in self.latent]
        return inner_cov[np.ix_(index, index)]

    @property
    def _order(self) -> list[int]:
        semopy_order = list(self.semopy_model.names_lambda[0])
        return [semopy_order.index(name) for name in self.observed]

    def _reorder(self, matrix: np.ndarray) -> np.ndarray:
        order = self._order
        return matrix[np.ix_(order, order)]

    def start_values(self) -> np.ndarray:
        """Return the current free parameter vector."""
        return np.array(self.semopy_model.param_vals, dtype=float)
