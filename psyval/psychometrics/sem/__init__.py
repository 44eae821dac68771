"""Structural equation models in lavaan syntax, fitted with semopy and checked against lavaan.

Modules by concern: ``syntax`` (parsing), ``model`` (parameters on semopy's
matrices), ``estimation`` (ML), ``missing`` (FIML), ``robust`` (MLR),
``fit_measures``, ``standardize``, ``defined`` (``:=`` with delta-method
SEs), ``diagnostics``, ``data`` (input and missing values), ``result``
(:func:`sem_fit`, :class:`SemResult`) and ``printer`` (text, JSON, CSV).
"""

from psyval.psychometrics.sem.result import PARAMETER_COLUMNS, SemResult, fit_from_file, sem_fit

__all__ = ["PARAMETER_COLUMNS", "SemResult", "fit_from_file", "sem_fit"]
