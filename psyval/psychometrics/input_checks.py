"""Input checks shared by the EFA and reliability analyses.

They apply the rules that ``sem-fit`` applies to its data: every analysed
column is numeric and finite, no item is listed twice, and the correlation
matrix has full rank. A rank-deficient matrix (fewer rows than items, or an
item that is a linear combination of others) makes SMCs, G6, omega and the
factor solution meaningless, so it is rejected instead of smoothed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from psyval.errors import PsyvalError

# Eigenvalues below this fraction of the largest one count as zero. The SEM
# check on the sample covariance matrix uses the same fraction.
_RANK_TOLERANCE = 1e-10


def check_unique_items(items: list[str], context: str) -> None:
    """Raise when an item is listed more than once."""
    repeated = sorted({item for item in items if items.count(item) > 1})
    if repeated:
        raise PsyvalError(f"{context} lists items {repeated!r} more than once: list each item once")


def check_numeric_items(frame: pd.DataFrame, items: list[str], context: str) -> None:
    """Raise for an item with text values or infinite values.

    Empty cells are allowed: they are missing values for the missing-data rule.
    """
    for item in items:
        column = frame[item]
        converted = pd.to_numeric(column, errors="coerce")
        text = column[converted.isna() & column.notna()]
        if len(text):
            raise PsyvalError(
                f"{context}: item {item!r} is not numeric (value {text.iloc[0]!r}): recode it to numbers or leave "
                "the cell empty"
            )
        values = converted.dropna().to_numpy(dtype=float)
        if np.isinf(values).any():
            raise PsyvalError(f"{context}: item {item!r} contains infinite values: replace them or leave the cells empty")


def check_full_rank(correlation: np.ndarray, items: list[str], n_obs: int, context: str) -> None:
    """Raise when the correlation matrix of ``items`` is singular.

    Raises
    ------
    PsyvalError
        Naming the row and item counts when there are no more rows than
        items, or else the linearly dependent items.
    """
    if n_obs <= len(items):
        raise PsyvalError(
            f"{context} has {n_obs} usable rows for {len(items)} items, so the correlation matrix is singular: "
            "collect more rows than items or analyse fewer items"
        )
    eigenvalues, eigenvectors = np.linalg.eigh(correlation)
    if eigenvalues[0] > _RANK_TOLERANCE * max(float(eigenvalues[-1]), 1.0):
        return
    vector = eigenvectors[:, 0]
    involved = [items[i] for i in np.argsort(-np.abs(vector)) if abs(vector[i]) > 0.2]
    raise PsyvalError(
        f"{context}: items {involved!r} are linearly dependent (smallest eigenvalue of the correlation matrix "
        f"{eigenvalues[0]:.3g}): drop or combine one of them"
    )
