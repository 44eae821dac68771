"""psyval: measure language models the way psychologists measure people.

The pipeline, one subpackage per step::

    instruments -> respondents (backends) -> survey (answers, scores)
    -> probes and judges -> study (store) -> analysis / psychometrics -> report
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("psyval")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0+checkout"

__all__ = ["__version__"]
