"""Keep semopy's root-logger messages out of psyval's output.

semopy 2.3 reports through the root logger (``logging.warning(...)``), which
also calls ``logging.basicConfig`` when the root logger has no handler, so a
line such as "WARNING:root:Solver didn't converge" reaches stderr and every
later warning of any library is printed too. psyval checks convergence and
positive definiteness itself and reports them as diagnostics, so semopy's
records are passed on at DEBUG level to this module's logger instead. Its
import is captured as well: it logs that graphviz is missing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.util import find_spec
from pathlib import Path

logger = logging.getLogger(__name__)

# find_spec locates semopy without importing it, because its import logs too.
_SPEC = find_spec("semopy")
_SEMOPY_DIR = str(Path(_SPEC.origin).parent) if _SPEC is not None and _SPEC.origin else "<semopy not installed>"


class _SemopyRecordFilter(logging.Filter):
    """Drop root-logger records that semopy's own files emit, after logging them at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.pathname.startswith(_SEMOPY_DIR):
            logger.debug("semopy: %s", record.getMessage())
            return False
        return True


@contextmanager
def semopy_logging_captured() -> Iterator[None]:
    """Capture semopy's root-logger records for the duration of the block."""
    root = logging.getLogger()
    record_filter = _SemopyRecordFilter()
    # Without a handler, logging.warning() would call basicConfig and attach
    # a stderr handler to the root logger for the rest of the process.
    placeholder = logging.NullHandler() if not root.handlers else None
    if placeholder is not None:
        root.addHandler(placeholder)
    root.addFilter(record_filter)
    try:
        yield
    finally:
        root.removeFilter(record_filter)
        if placeholder is not None:
            root.removeHandler(placeholder)
