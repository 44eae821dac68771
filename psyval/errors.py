"""Error and warning classes shared by every psyval subpackage.

User-input problems raise :class:`PsyvalError` (a ``ValueError``), which the CLI
prints as one line and turns into exit status 2. Statistically compromised
results emit a :class:`PsyvalWarning` subclass through :func:`warnings.warn`,
so that notebooks, tests and the CLI can all see and filter them.
"""

from __future__ import annotations


class PsyvalError(ValueError):
    """Invalid user input: a file, option, model name or data set.

    The message names the value received and says how to fix it.
    """


class BackendUnavailableError(PsyvalError):
    """A model or server could not be loaded or reached."""


class PsyvalWarning(UserWarning):
    """Base class of psyval's statistical and data-quality warnings."""


class ConvergenceWarning(PsyvalWarning):
    """An optimiser stopped before meeting its convergence criterion."""


class HeywoodWarning(PsyvalWarning):
    """A variance estimate is negative or a correlation exceeds 1 in size."""


class IdentificationWarning(PsyvalWarning):
    """A model is not identified, so its estimates are not unique."""


class NotPositiveDefiniteWarning(PsyvalWarning):
    """A sample or model-implied covariance matrix is not positive definite."""


class UnparsedAnswerWarning(PsyvalWarning):
    """A model answer or judge output could not be parsed; it is stored as missing."""


class LowOptionMassWarning(PsyvalWarning):
    """Little of the next-token probability fell on the answer options."""


class DataQualityWarning(PsyvalWarning):
    """Input data are usable but suspicious (constant, reversed, or mostly missing)."""
