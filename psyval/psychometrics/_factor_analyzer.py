"""Import factor_analyzer's FactorAnalyzer so that it works with current scikit-learn.

factor_analyzer 0.5.1 (the latest release) calls
``sklearn.utils.check_array(..., force_all_finite=...)``. scikit-learn 1.6
renamed that argument to ``ensure_all_finite`` and 1.8 removed the old name,
so every ``fit`` raises TypeError. The wrapper below passes the old keyword
under its new name and is installed only when the running scikit-learn no
longer accepts it.
"""

from __future__ import annotations

import inspect
from typing import Any

import factor_analyzer.factor_analyzer as _module
from factor_analyzer import FactorAnalyzer, calculate_bartlett_sphericity, calculate_kmo
from sklearn.utils import check_array as _check_array

if "force_all_finite" not in inspect.signature(_check_array).parameters:

    def _check_array_compatible(*args: Any, force_all_finite: Any = True, **kwargs: Any) -> Any:
        kwargs.setdefault("ensure_all_finite", force_all_finite)
        return _check_array(*args, **kwargs)

    _module.check_array = _check_array_compatible

__all__ = ["FactorAnalyzer", "calculate_bartlett_sphericity", "calculate_kmo"]
