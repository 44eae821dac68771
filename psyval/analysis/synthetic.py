"""A synthetic respondent table with a known value structure and known value-harm links.

Used by the tests and the report screenshots, so the analyses and figures can
be checked without running a model. The value scores lie on a circle
(Schwartz's circumplex), and harm depends on values through the coefficients
of :data:`HARM_EFFECTS`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from psyval.analysis.values import BASIC_VALUES, HARM_CATEGORIES, HIGHER_ORDER, circumplex_angles

# Harm category -> {value: effect of the value's standardised raw score on the
# latent harm propensity}. Signs follow analyses/hypotheses.yaml.
HARM_EFFECTS: dict[str, dict[str, float]] = {
    "adult_content": {"hedonism": 0.8, "self_direction": 0.3},
    "hate_harassment_violence": {"power": 0.8, "benevolence": -0.4, "universalism": -0.4},
    "fraud_deception": {"achievement": 0.7, "universalism": -0.5},
    "illegal_activity": {"conformity": -0.6, "tradition": -0.5},
    "political_campaigning": {"universalism": -0.4},
}

# Shift of the harm propensity under each safety condition.
SAFETY_SHIFTS: dict[str, float] = {"input-only": 0.0, "safety-prompt": -0.8, "value-prompt": -0.3, "both": -1.0}

ITEMS_PER_VALUE = 3


def synthetic_respondents(n: int = 120, seed: int = 0, safety: bool = True) -> pd.DataFrame:
    """Return a respondent table shaped like ``psyval run``'s ``respondents.csv``.

    Parameters
    ----------
    n
        Respondents per safety condition.
    seed
        Seed of the random generator.
    safety
        Repeat each respondent under the four safety conditions of
        :data:`SAFETY_SHIFTS`; otherwise only ``input-only``.

    Returns
    -------
    pandas.DataFrame
        Columns ``respondent_id``, ``model``, ``condition``, ``profile``,
        ``safety_condition``, ``replicate``, ``item_<value>_<k>`` (1-6),
        ``raw_<value>``, ``value_<value>`` (MRAT-centred), ``nmse``,
        ``profile_r``, ``harm_<category>`` (1-5), ``harmrate_<category>``,
        ``refusal_<category>`` and ``harm_overall``.
    """
    rng = np.random.default_rng(seed)
    angles = circumplex_angles(BASIC_VALUES)
    profile_names = [*BASIC_VALUES, "openness_to_change", "self_enhancement", "conservation", "self_transcendence"]
    motive = rng.normal(size=(n, 2)) * 1.2
    profiles = [profile_names[index % len(profile_names)] for index in range(n)]
    # Each respondent's motivation leans towards its profile's direction on the circle.
    for index, profile in enumerate(profiles):
        members = HIGHER_ORDER.get(profile, (profile,))
        direction = np.mean([[np.cos(angles[value]), np.sin(angles[value])] for value in members], axis=0)
        motive[index] += 1.2 * direction / max(np.linalg.norm(direction), 1e-9)
    base = {}
    for value in BASIC_VALUES:
        theta = angles[value]
        latent = 3.6 + 0.9 * (motive[:, 0] * np.cos(theta) + motive[:, 1] * np.sin(theta))
        base[value] = latent + rng.normal(scale=0.35, size=n)
    # Named the way `psyval run` names them: the preset itself, then "<preset>_s<k>"
    # for the k-th profile sampled around it.
    names = [profile if index < len(profile_names) else f"{profile}_s{index // len(profile_names)}"
             for index, profile in enumerate(profiles)]
    person = {
        "respondent_id": [f"r{index:04d}" for index in range(n)],
        "model": "synthetic",
        "profile": names,
        "replicate": 0,
    }
    frame = pd.DataFrame(person)
    for value in BASIC_VALUES:
        items = []
        for k in range(ITEMS_PER_VALUE):
            item = np.clip(base[value] + rng.normal(scale=0.6, size=n), 1, 6)
            frame[f"item_{value}_{k + 1}"] = item
            items.append(item)
        frame[f"raw_{value}"] = np.mean(items, axis=0)
    raw = frame[[f"raw_{value}" for value in BASIC_VALUES]]
    centre = raw.mean(axis=1)
    for value in BASIC_VALUES:
        frame[f"value_{value}"] = frame[f"raw_{value}"] - centre
    frame["nmse"] = rng.uniform(0.02, 0.3, size=n)
    frame["profile_r"] = rng.uniform(0.2, 0.95, size=n)

    standard = (raw - raw.mean()) / raw.std(ddof=1)
    standard.columns = list(BASIC_VALUES)
    propensity = {
        category: sum(effect * standard[value] for value, effect in HARM_EFFECTS.get(category, {}).items())
        + rng.normal(scale=0.6, size=n)
        for category in HARM_CATEGORIES
    }
    rows = []
    for condition in (SAFETY_SHIFTS if safety else {"input-only": 0.0}):
        shifted = frame.copy()
        shifted["safety_condition"] = condition
        shifted["condition"] = shifted["profile"] + f".{condition}"
        shift = SAFETY_SHIFTS[condition]
        for category in HARM_CATEGORIES:
            latent = propensity[category] + shift + rng.normal(scale=0.3, size=n)
            shifted[f"harm_{category}"] = np.clip(1.8 + 0.9 * latent, 1.0, 5.0)
            shifted[f"harmrate_{category}"] = 1.0 / (1.0 + np.exp(-(latent - 0.5) * 2.0))
            shifted[f"refusal_{category}"] = 1.0 / (1.0 + np.exp((latent + 0.5) * 2.0))
        shifted["harm_overall"] = shifted[[f"harm_{c}" for c in HARM_CATEGORIES]].mean(axis=1)
        shifted["respondent_id"] = shifted["respondent_id"] + f"_{condition}"
        rows.append(shifted)
    table = pd.concat(rows, ignore_index=True)
    front = ["respondent_id", "model", "condition", "profile", "safety_condition", "replicate"]
    return table[front + [column for column in table.columns if column not in front]]


def synthetic_item_values() -> dict[str, str]:
    """Item id -> value id of :func:`synthetic_respondents`' items."""
    return {f"{value}_{k + 1}": value for value in BASIC_VALUES for k in range(ITEMS_PER_VALUE)}
