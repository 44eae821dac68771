"""Psychometrics: SEM and CFA (lavaan-compatible), EFA and reliability.

The public API:

- :func:`sem_fit` fits a lavaan-syntax model and returns a :class:`SemResult`;
- :func:`reliability` returns Cronbach's alpha, omega total and item statistics
  as psych::alpha reports them;
- :func:`efa` runs an exploratory factor analysis with KMO, Bartlett's test
  and parallel analysis.

factor_analyzer is imported only when an EFA or omega is computed.
"""

from psyval.psychometrics.efa import EfaResult, efa
from psyval.psychometrics.reliability import ReliabilityResult, reliability
from psyval.psychometrics.sem import SemResult, sem_fit

__all__ = ["EfaResult", "ReliabilityResult", "SemResult", "efa", "reliability", "sem_fit"]
