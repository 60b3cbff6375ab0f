"""Build the client a ``--client`` mode names, or say why its driver is missing."""

from __future__ import annotations

from harness.core.client import ServerAddress
from harness.drivers.base import DriverClient
from harness.drivers.modes import NATIVE, DriverUnavailable, parse_client


def unavailable_reason(client: str) -> str | None:
    """Why mode ``client`` cannot run here (its driver is missing), or ``None``."""
    mode = parse_client(client)
    if mode.driver == "arangojs":
        from harness.drivers.arangojs import unavailable_reason as why

        return why()
    if mode.driver == "python-arango":
        try:
            import arango  # noqa: F401
        except ImportError:
            return "python-arango client: the `python-arango` package is not installed"
    return None


def make_client(
    client: str,
    servers: list[ServerAddress],
    *,
    username: str,
    password: str,
    request_timeout: float,
    op_timeout: float,
) -> DriverClient | None:
    """The driver client of mode ``client`` (``None``: native); ``DriverUnavailable`` with the
    reason when its driver is missing here."""
    mode = parse_client(client)
    if mode.driver == NATIVE:
        return None
    reason = unavailable_reason(client)
    if reason is not None:
        raise DriverUnavailable(reason)
    if mode.driver == "python-arango":
        from harness.drivers.python_arango import PythonArangoClient

        cls: type[DriverClient] = PythonArangoClient
    else:
        from harness.drivers.arangojs import ArangojsClient

        cls = ArangojsClient
    return cls(
        servers,
        username=username,
        password=password,
        request_timeout=request_timeout,
        op_timeout=op_timeout,
        setting=mode.setting,
    )
