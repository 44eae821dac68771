"""Canonical value identifiers of Schwartz's theory, shared by instruments, profiles and scores.

The ten basic values and four higher-order values follow Schwartz (1992); the
nineteen refined values follow Schwartz et al. (2012). Hedonism shares
elements of openness to change and self-enhancement in the theory. psyval's
default mapping puts it with openness to change, the common PVQ scoring
choice, and an instrument file may declare a different mapping.

References
----------
Schwartz, S. H. (1992). Universals in the content and structure of values:
Theoretical advances and empirical tests in 20 countries. *Advances in
Experimental Social Psychology, 25*, 1-65. https://doi.org/10.1016/S0065-2601(08)60281-6

Schwartz, S. H., Cieciuch, J., Vecchione, M., Davidov, E., Fischer, R., Beierlein, C.,
Ramos, A., Verkasalo, M., Lönnqvist, J.-E., Demirutku, K., Dirilen-Gumus, O., & Konty, M.
(2012). Refining the theory of basic individual values. *Journal of Personality and
Social Psychology, 103*(4), 663-688. https://doi.org/10.1037/a0029393
"""

from __future__ import annotations

BASIC_VALUES: tuple[str, ...] = (
    "self_direction",
    "stimulation",
    "hedonism",
    "achievement",
    "power",
    "security",
    "conformity",
    "tradition",
    "benevolence",
    "universalism",
)

HIGHER_ORDER_VALUES: tuple[str, ...] = (
    "openness_to_change",
    "self_enhancement",
    "conservation",
    "self_transcendence",
)

#: Default basic -> higher-order mapping (hedonism with openness to change).
DEFAULT_HIGHER_ORDER: dict[str, str] = {
    "self_direction": "openness_to_change",
    "stimulation": "openness_to_change",
    "hedonism": "openness_to_change",
    "achievement": "self_enhancement",
    "power": "self_enhancement",
    "security": "conservation",
    "conformity": "conservation",
    "tradition": "conservation",
    "benevolence": "self_transcendence",
    "universalism": "self_transcendence",
}

REFINED_VALUES: tuple[str, ...] = (
    "self_direction_thought",
    "self_direction_action",
    "stimulation",
    "hedonism",
    "achievement",
    "power_dominance",
    "power_resources",
    "face",
    "security_personal",
    "security_societal",
    "tradition",
    "conformity_rules",
    "conformity_interpersonal",
    "humility",
    "benevolence_caring",
    "benevolence_dependability",
    "universalism_concern",
    "universalism_nature",
    "universalism_tolerance",
)

#: Short definitions in psyval's own words, used in profile prompts and reports.
BASIC_DEFINITIONS: dict[str, str] = {
    "self_direction": "thinking and acting for yourself: choosing your own goals, creating and exploring",
    "stimulation": "excitement, novelty and challenge in life",
    "hedonism": "pleasure and enjoying life's comforts",
    "achievement": "personal success by showing competence that others recognise",
    "power": "status, prestige and control over people and resources",
    "security": "safety, stability and order for yourself, your family and society",
    "conformity": "restraint from actions that could upset others or break social rules",
    "tradition": "respect for and commitment to the customs of your culture or religion",
    "benevolence": "caring for the welfare of the people close to you",
    "universalism": "understanding, tolerance and protection for all people and for nature",
}

LABELS: dict[str, str] = {
    **{value: value.replace("_", "-").capitalize() for value in BASIC_VALUES},
    **{value: value.replace("_", " ").capitalize() for value in HIGHER_ORDER_VALUES},
}



def basic_value_problems(names: list[str]) -> list[str]:
    """Describe how ``names`` differs from the ten basic values, in words.

    Returns phrases such as ``"missing hedonism, power"``, ``"unknown 'greed'"``
    and ``"repeated power"``; an empty list means each value is named once.
    """
    problems = []
    missing = [value for value in BASIC_VALUES if value not in names]
    unknown = [name for name in names if name not in BASIC_VALUES]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown {', '.join(map(repr, unknown))}")
    if repeated:
        problems.append(f"repeated {', '.join(repeated)}")
    return problems


__all__ = [
    "BASIC_DEFINITIONS",
    "BASIC_VALUES",
    "DEFAULT_HIGHER_ORDER",
    "HIGHER_ORDER_VALUES",
    "LABELS",
    "REFINED_VALUES",
    "basic_value_problems",
]
