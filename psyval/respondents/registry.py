"""Backend registry: name -> implementation, imported only when used.

A backend whose optional dependency is missing fails with the exact
``pip install`` line instead of an ImportError traceback.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from psyval.errors import PsyvalError
from psyval.respondents.base import Backend


@dataclass(frozen=True)
class BackendSpec:
    target: str  # "module:ClassName"
    requires: tuple[str, ...] = ()  # importable modules the backend needs
    install_hint: str = ""


_BACKENDS: dict[str, BackendSpec] = {
    "transformers": BackendSpec(
        "psyval.respondents.transformers_backend:TransformersBackend",
        ("torch", "transformers"),
        "pip install psyval",
    ),
    "openai": BackendSpec(
        "psyval.respondents.openai_backend:OpenAIBackend",
        ("httpx",),
        "pip install 'psyval[server]'",
    ),
}


def register_backend(name: str, spec: BackendSpec) -> None:
    """Add or replace a backend, for example a test double."""
    _BACKENDS[name] = spec


def available_backends() -> list[str]:
    return sorted(_BACKENDS)


def find_backend(name: str) -> BackendSpec | None:
    """Look up the registered spec of backend ``name`` without importing it.

    Returns None for an unknown name, so a caller can word its own error.
    """
    return _BACKENDS.get(name)


def load_backend(name: str, **options: Any) -> Backend:
    """Instantiate backend ``name`` with ``options``.

    Raises
    ------
    PsyvalError
        For an unknown name, or when the backend's dependency is not installed.
    """
    spec = find_backend(name)
    if spec is None:
        raise PsyvalError(
            f"unknown backend {name!r}; choose one of: {', '.join(available_backends())}"
        )
    for module in spec.requires:
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise PsyvalError(
                f"backend {name!r} needs the Python module {module!r}; install it with: {spec.install_hint}"
            ) from error
    module_name, class_name = spec.target.split(":")
    backend_class = getattr(importlib.import_module(module_name), class_name)
    return backend_class(**options)
