"""Value identifiers, circumplex order and higher-order value scores.

The ten basic values and their grouping into four higher-order values follow
Schwartz (1992); the 19 refined values follow Schwartz et al. (2012). Hedonism
shares openness to change and self-enhancement in the theory; psyval scores it
with openness to change, the usual choice in PVQ scoring, so every respondent
table is scored the same way.

References
----------
Schwartz, S. H. (1992). Universals in the content and structure of values:
    Theoretical advances and empirical tests in 20 countries. *Advances in
    Experimental Social Psychology, 25*, 1-65.
    https://doi.org/10.1016/S0065-2601(08)60281-6
Schwartz, S. H., Cieciuch, J., Vecchione, M., Davidov, E., Fischer, R.,
    Beierlein, C., Ramos, A., Verkasalo, M., Lönnqvist, J.-E., Demirutku, K.,
    Dirilen-Gumus, O., & Konty, M. (2012). Refining the theory of basic
    individual values. *Journal of Personality and Social Psychology, 103*(4),
    663-688. https://doi.org/10.1037/a0029393
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from psyval.errors import DataQualityWarning

# BASIC_VALUES is in circumplex order, so neighbours are compatible motivations and
# opposite positions conflict (Schwartz, 1992, Figure 1). REFINED_VALUES follows the
# circle of Schwartz et al. (2012, Figure 1).
from psyval.instruments.values import BASIC_VALUES, REFINED_VALUES
from psyval.probes.taxonomy import HARM_CATEGORIES



HIGHER_ORDER: dict[str, tuple[str, ...]] = {
    "openness_to_change": ("self_direction", "stimulation", "hedonism"),
    "self_enhancement": ("achievement", "power"),
    "conservation": ("security", "conformity", "tradition"),
    "self_transcendence": ("benevolence", "universalism"),
}

# Refined values that make up each basic value. Face and humility sit on the
# borders between higher-order values and have no basic-value parent, so they
# enter no basic or higher-order score.
REFINED_TO_BASIC: dict[str, tuple[str, ...]] = {
    "self_direction": ("self_direction_thought", "self_direction_action"),
    "stimulation": ("stimulation",),
    "hedonism": ("hedonism",),
    "achievement": ("achievement",),
    "power": ("power_dominance", "power_resources"),
    "security": ("security_personal", "security_societal"),
    "conformity": ("conformity_rules", "conformity_interpersonal"),
    "tradition": ("tradition",),
    "benevolence": ("benevolence_caring", "benevolence_dependability"),
    "universalism": ("universalism_concern", "universalism_nature", "universalism_tolerance"),
}



def value_columns(table: pd.DataFrame, prefix: str = "value_") -> list[str]:
    """Return the value ids with a ``<prefix><id>`` column, in circumplex order.

    Basic values come first, then refined values that are not also basic
    values, then any other value ids in table order.
    """
    present = [column[len(prefix):] for column in table.columns if column.startswith(prefix)]
    ordered = [value for value in BASIC_VALUES if value in present]
    ordered += [value for value in REFINED_VALUES if value in present and value not in ordered]
    ordered += [value for value in present if value not in ordered]
    return ordered


def harm_columns(table: pd.DataFrame, prefix: str = "harm_") -> list[str]:
    """Return the harm category ids with a ``<prefix><id>`` column, in HEx-PHI order.

    ``harm_overall`` is not a category and is left out.
    """
    present = [
        column[len(prefix):]
        for column in table.columns
        if column.startswith(prefix) and column != f"{prefix}overall"
    ]
    ordered = [category for category in HARM_CATEGORIES if category in present]
    return ordered + [category for category in present if category not in ordered]


def add_value_scores(table: pd.DataFrame, prefix: str = "value_") -> pd.DataFrame:
    """Add basic and higher-order value columns derived from the columns present.

    A basic value missing from the table is the mean of its refined values when
    all of them are present. Each higher-order value is the mean of its basic
    values (hedonism with openness to change). Existing columns are kept as
    they are.

    Parameters
    ----------
    table
        Respondent table with ``<prefix><value id>`` columns.
    prefix
        ``"value_"`` for MRAT-centred scores, ``"raw_"`` for raw means.

    Returns
    -------
    pandas.DataFrame
        A copy of ``table`` with the derived columns appended.
    """
    out = table.copy()
    for basic, refined in REFINED_TO_BASIC.items():
        column = f"{prefix}{basic}"
        sources = [f"{prefix}{value}" for value in refined]
        if column not in out.columns and len(refined) > 1 and all(s in out.columns for s in sources):
            out[column] = out[sources].mean(axis=1)
    for higher, basics in HIGHER_ORDER.items():
        column = f"{prefix}{higher}"
        sources = [f"{prefix}{value}" for value in basics]
        if column in out.columns:
            continue
        available = [source for source in sources if source in out.columns]
        if not available:
            continue
        if len(available) < len(sources):
            missing = sorted(set(sources) - set(available))
            warnings.warn(
                f"higher-order score {column!r} averages only {available}; missing {missing}",
                DataQualityWarning,
                stacklevel=2,
            )
        out[column] = out[available].mean(axis=1)
    return out


def circumplex_angles(values: list[str] | tuple[str, ...]) -> dict[str, float]:
    """Return the theoretical angle (radians) of each value, evenly spaced in the given order."""
    count = len(values)
    return {value: 2.0 * np.pi * index / count for index, value in enumerate(values)}
