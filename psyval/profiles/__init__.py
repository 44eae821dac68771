"""Target value profiles for in-context value alignment.

A profile gives the importance of each of the ten basic values on a 1-6 scale
(6 = most important). :data:`PRESETS` names the fourteen extreme profiles of
the value-alignment literature: each basic value high with the rest low, and
each higher-order group high with the rest low. A profile file (YAML or JSON)
declares its own scale and direction and is rescaled to 1-6 on load.

Profile file format::

    name: cautious-carer            # optional; defaults to the file name
    scale:
      min: 1
      max: 7
      direction: higher_is_more_important   # or lower_is_more_important
    values:                          # all ten basic values
      self_direction: 3
      ...
"""

from psyval.profiles.profile import (
    DIRECTIONS,
    HIGH,
    LOW,
    PRESETS,
    Profile,
    load_profile,
    preset_profile,
)

__all__ = ["DIRECTIONS", "HIGH", "LOW", "PRESETS", "Profile", "load_profile", "preset_profile"]
