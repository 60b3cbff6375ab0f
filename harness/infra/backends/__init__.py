"""Backends: where the cluster runs (``local`` child processes, ``docker`` containers).

:func:`make_backend` is the one place that maps a ``--backend`` name to a class;
the Docker backend is imported only when asked for, so the local one needs no
Docker client.
"""

from __future__ import annotations

import importlib
from typing import Any

from harness.infra.backends.base import Backend

# name -> (module, class)
BACKENDS: dict[str, tuple[str, str]] = {
    "local": ("harness.infra.backends.local", "LocalBackend"),
    "docker": ("harness.infra.backends.docker", "DockerBackend"),
}


def make_backend(name: str, **options: Any) -> Backend:
    """A new, not yet started backend of that name; ``ValueError`` names the known ones."""
    try:
        module_name, class_name = BACKENDS[name]
    except KeyError:
        known = ", ".join(BACKENDS)
        raise ValueError(f"unknown backend {name!r} (known: {known})") from None
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"backend {name!r} is not available: {exc}") from exc
    backend: Backend = getattr(module, class_name)(**options)
    return backend
