"""Client modes: which client the workload's requests go through, as a test names it.

``native`` is afcheck's own failover-aware :class:`harness.core.client.ArangoClient`.
A driver mode is ``<driver>`` or ``<driver>:<setting>``:

* ``python-arango`` / ``arangojs``: every server as a host, the driver's defaults
  otherwise (the request timeout is the test's, so an operation is bounded).
* ``python-arango:failover``: round-robin host resolver, and the application retries
  a refusal that certainly did nothing (503 with errorNum 1495/1496), so the
  resolver's next host gets the request.
* ``arangojs:failover``: the host list is completed from ``/_api/cluster/endpoints``
  (``acquireHostList``) before the run, and safe retries may go round every host twice.

docs/drivers.md says what each mode did through a failover, measured.
"""

from __future__ import annotations

from dataclasses import dataclass

NATIVE = "native"
DRIVERS = ("python-arango", "arangojs")
SETTINGS = ("default", "failover")
CLIENTS = (NATIVE, *(d if s == "default" else f"{d}:{s}" for d in DRIVERS for s in SETTINGS))


class DriverUnavailable(RuntimeError):
    """The mode's driver cannot run here (Node, or the driver, is not installed)."""


@dataclass(frozen=True)
class ClientMode:
    driver: str  # "native" or one of DRIVERS
    setting: str = "default"

    @property
    def name(self) -> str:
        return self.driver if self.setting == "default" else f"{self.driver}:{self.setting}"


def parse_client(name: str) -> ClientMode:
    """The mode ``name`` spells; ``ValueError`` lists the known ones."""
    driver, _, setting = name.partition(":")
    mode = ClientMode(driver, setting or "default")
    if mode.name != name or name not in CLIENTS:
        raise ValueError(f"client must be one of {', '.join(CLIENTS)}, not {name!r}")
    return mode
