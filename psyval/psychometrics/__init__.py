"""Psychometrics: SEM and CFA (lavaan-compatible), EFA and reliability.

The public API:

- :func:`sem_fit` fits a lavaan-syntax model and returns a :class:`SemResult`;
- :func:`reliability` returns Cronbach's alpha, omega total and item statistics
  as psych::alpha reports them;
- :func:`efa` runs an exploratory factor analysis with KMO, Bartlett's test
  and parallel analysis.
"""

from psyval.psychometrics.sem import SemResult, sem_fit

__all__ = ["SemResult", "sem_fit", "reliability", "efa"]


def __getattr__(name: str):
    # reliability and efa import factor_analyzer and scipy pieces that SEM users
    # do not need, so they load on first use.
    if name == "reliability":
        from psyval.psychometrics.reliability import reliability

        return reliability
    if name == "efa":
        from psyval.psychometrics.efa import efa

        return efa
    raise AttributeError(name)
