"""Progress display for the stages of a study run.

The runner reports through the small :class:`Progress` interface; the CLI
passes :class:`TerminalProgress`, which draws one line per stage on stderr with
the count done, the count taken from the store, the rate and the estimated
time left. The estimate uses only units computed in this run, because units
read from the store take no time.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Receives stage events from the runner; the base class ignores them."""

    def stage_start(self, name: str, total: int, cached: int) -> None:
        """A stage begins: ``total`` units, of which ``cached`` are already in the store."""

    def advance(self, count: int = 1) -> None:
        """``count`` more units of the current stage finished."""

    def stage_end(self, note: str = "") -> None:
        """The current stage finished; ``note`` is a short summary such as a file name."""


def format_duration(seconds: float) -> str:
    """Format seconds as ``1h02m``, ``3m05s`` or ``42s``."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


class TerminalProgress(Progress):
    """Draw ``[2/6] probes  340/704 (120 stored)  2.1/s  ETA 2m53s`` lines.

    On a terminal the line is redrawn in place; otherwise (a log file, a pipe)
    a new line is written at most every ``interval`` seconds and at the end of
    each stage, so logs stay short.
    """

    def __init__(self, stages: int, stream: TextIO | None = None, interval: float = 10.0) -> None:
        self.stages = stages
        self.stream = stream or sys.stderr
        self.interval = interval
        self.is_tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.index = 0
        self.name = ""
        self.total = 0
        self.done = 0
        self.cached = 0
        self.started = 0.0
        self.stage_started = 0.0
        self.last_draw = 0.0

    def stage_start(self, name: str, total: int, cached: int) -> None:
        self.index += 1
        self.name = name
        self.total = total
        self.cached = cached
        self.done = cached
        self.stage_started = time.monotonic()
        self.last_draw = 0.0
        self._draw(force=True)

    def advance(self, count: int = 1) -> None:
        self.done += count
        self._draw(force=False)

    def stage_end(self, note: str = "") -> None:
        elapsed = time.monotonic() - self.stage_started
        line = self._line(final=True) + f"  done in {format_duration(elapsed)}"
        if note:
            line += f"  {note}"
        self._write(line, final=True)

    def _line(self, final: bool = False) -> str:
        head = f"[{self.index}/{self.stages}] {self.name:<8}"
        if self.total == 0:
            return head
        text = f"{head} {self.done}/{self.total}"
        if self.cached:
            text += f" ({self.cached} stored)"
        computed = self.done - self.cached
        elapsed = time.monotonic() - self.stage_started
        if not final and computed > 0 and elapsed > 0:
            rate = computed / elapsed
            remaining = (self.total - self.done) / rate
            text += f"  {rate:.1f}/s  ETA {format_duration(remaining)}"
        return text

    def _draw(self, force: bool) -> None:
        now = time.monotonic()
        if not self.is_tty and not force and now - self.last_draw < self.interval:
            return
        self.last_draw = now
        self._write(self._line(), final=False)

    def _write(self, line: str, final: bool) -> None:
        if self.is_tty:
            self.stream.write("\r\033[K" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
