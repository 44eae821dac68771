"""Respondent backends: the language models that answer surveys and probes.

Every backend implements :class:`psyval.respondents.base.Backend` and is
registered by name in :mod:`psyval.respondents.registry`.
"""

from psyval.respondents.base import Backend, ChatMessage, Decoding, OptionDistribution
from psyval.respondents.registry import available_backends, load_backend

__all__ = [
    "Backend",
    "ChatMessage",
    "Decoding",
    "OptionDistribution",
    "available_backends",
    "load_backend",
]
