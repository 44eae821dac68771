"""Locate the data files bundled with psyval (instruments, probes, analyses, studies).

From a checkout (or an editable install) they sit at the top of the repository.
After ``pip install .`` setup.cfg's ``data_files`` places them under
``<prefix>/share/psyval``.
"""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path

from psyval.errors import PsyvalError

_CHECKOUT_ROOT = Path(__file__).resolve().parent.parent


def _candidate_roots() -> list[Path]:
    roots = [_CHECKOUT_ROOT]
    for prefix in (sysconfig.get_path("data"), sys.prefix, sys.base_prefix):
        if prefix:
            roots.append(Path(prefix) / "share" / "psyval")
    return roots


def data_dir(kind: str) -> Path:
    """Return the bundled folder ``kind`` ("instruments", "analyses", "studies").

    Raises
    ------
    PsyvalError
        If no installed or checked-out copy of the folder exists.
    """
    for root in _candidate_roots():
        folder = root / kind
        if folder.is_dir():
            return folder
    searched = ", ".join(str(root / kind) for root in _candidate_roots())
    raise PsyvalError(
        f"bundled folder {kind!r} not found (searched {searched}); reinstall psyval with `pip install .`"
    )


def bundled_file(kind: str, name: str) -> Path:
    """Return the path of bundled file ``name`` inside folder ``kind``."""
    path = data_dir(kind) / name
    if not path.is_file():
        available = sorted(p.name for p in data_dir(kind).iterdir() if p.is_file())
        raise PsyvalError(f"bundled {kind} file {name!r} not found; available: {', '.join(available)}")
    return path
