"""Questionnaires as data: the YAML schema, its loader and its validation.

``load_instrument("pvq-40-style")`` loads a bundled instrument by name and
``load_instrument(path)`` any file in the format documented in
``docs/instruments.md``.
"""

from psyval.instruments.loader import bundled_instruments, load_instrument, parse_instrument, read_instrument
from psyval.instruments.schema import SCALE_DIRECTIONS, Instrument, Item, Prompts, Scale

DEFAULT_INSTRUMENT = "pvq-40-style"

__all__ = [
    "DEFAULT_INSTRUMENT",
    "Instrument",
    "Item",
    "Prompts",
    "SCALE_DIRECTIONS",
    "Scale",
    "bundled_instruments",
    "load_instrument",
    "parse_instrument",
    "read_instrument",
]
