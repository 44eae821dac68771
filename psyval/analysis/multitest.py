"""Multiple-comparison adjustment of p-values: Benjamini-Hochberg and Holm.

Missing p-values (NaN) are left out of the family and stay NaN, so a test that
could not be computed does not change the adjustment of the others.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from psyval.errors import PsyvalError

AdjustMethod = Literal["holm", "fdr_bh"]


def adjust_pvalues(pvalues: npt.ArrayLike, method: AdjustMethod) -> np.ndarray:
    """Adjust a family of p-values for multiple comparisons.

    Parameters
    ----------
    pvalues
        p-values of one family of tests, any shape; NaN marks a missing test.
    method
        ``"holm"`` for Holm's step-down family-wise error control, or
        ``"fdr_bh"`` for the Benjamini-Hochberg false discovery rate.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, same shape as the input, capped at 1.

    Notes
    -----
    With the :math:`m` observed p-values sorted ascending,
    :math:`p_{(1)} \\le \\dots \\le p_{(m)}`:

    * Holm: :math:`\\tilde p_{(i)} = \\max_{j \\le i} \\min(1, (m - j + 1) p_{(j)})`.
    * BH: :math:`\\tilde p_{(i)} = \\min_{j \\ge i} \\min(1, m p_{(j)} / j)`.

    Both equal R's ``p.adjust(p, "holm")`` and ``p.adjust(p, "BH")`` and
    statsmodels' ``multipletests(p, method="holm" | "fdr_bh")``.

    References
    ----------
    Benjamini, Y., & Hochberg, Y. (1995). Controlling the false discovery rate:
        A practical and powerful approach to multiple testing. *Journal of the
        Royal Statistical Society: Series B (Methodological), 57*(1), 289-300.
        https://doi.org/10.1111/j.2517-6161.1995.tb02031.x
    Holm, S. (1979). A simple sequentially rejective multiple test procedure.
        *Scandinavian Journal of Statistics, 6*(2), 65-70.
    """
    values = np.asarray(pvalues, dtype=float)
    flat = values.ravel()
    adjusted = np.full(flat.shape, np.nan)
    observed = np.flatnonzero(~np.isnan(flat))
    if observed.size == 0:
        return adjusted.reshape(values.shape)
    p = flat[observed]
    if np.any((p < 0) | (p > 1)):
        raise PsyvalError(f"p-values must lie in [0, 1]; got {p[(p < 0) | (p > 1)].tolist()!r}")
    m = p.size
    order = np.argsort(p, kind="mergesort")
    ranked = p[order]
    rank = np.arange(1, m + 1)
    if method == "holm":
        stepped = np.maximum.accumulate(np.minimum(1.0, (m - rank + 1) * ranked))
    elif method == "fdr_bh":
        stepped = np.minimum.accumulate(np.minimum(1.0, m * ranked / rank)[::-1])[::-1]
    else:
        raise PsyvalError(f"unknown p-value adjustment {method!r}; use 'holm' or 'fdr_bh'")
    result = np.empty(m)
    result[order] = stepped
    adjusted[observed] = result
    return adjusted.reshape(values.shape)
