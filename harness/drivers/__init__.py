"""Real ArangoDB drivers behind the workloads' client interface (``afcheck run --client``).

:func:`make_client` builds the client a mode names (:mod:`harness.drivers.modes`):
``None`` for ``native`` (the runner's own :class:`harness.core.client.ArangoClient`),
else a :class:`harness.drivers.base.DriverClient` whose ``request(...)`` goes
through python-arango (in worker threads) or arangojs (a Node subprocess).
Those live in :mod:`harness.drivers.factory`: importing this package (for
:mod:`harness.drivers.modes`, as ``--help`` does) loads no HTTP client.
"""
