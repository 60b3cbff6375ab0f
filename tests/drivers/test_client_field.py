"""Unit tests: the client mode is part of the test value (test.json, flags, repeat command)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from harness.cli import build_parser
from harness.cli.registry import REGISTRY
from harness.cli.run import build_test
from harness.core.test import Test
from harness.drivers.modes import CLIENTS, parse_client
from workloads.set import SetWorkload


def from_flags(flags: list[str]) -> Test:
    args = build_parser(["run"]).parse_args(["run", *flags])
    return build_test(args, REGISTRY)


@pytest.mark.parametrize("client", CLIENTS)
def test_test_json_and_the_repeat_command_keep_the_client(client: str) -> None:
    test = Test(workload=SetWorkload(), seed=3, client=client)
    data = json.loads(json.dumps(test.to_json()))
    assert data["client"] == client
    back = Test.from_json(data, REGISTRY)
    assert back.client == client and back == test
    again = from_flags(test.flags())
    assert again.client == client and again == test
    assert (client == "native") == ("--client" not in test.repeat_command())


def test_an_old_test_json_without_a_client_is_native() -> None:
    data = Test(workload=SetWorkload(), seed=3).to_json()
    del data["client"]
    assert Test.from_json(data, REGISTRY).client == "native"


def test_the_client_names_the_run() -> None:
    assert Test(workload=SetWorkload(), seed=1).test_name() == "set-none-async"
    named = Test(workload=SetWorkload(), seed=1, client="python-arango:failover")
    assert named.test_name() == "set-none-async-python-arango-failover"


def test_an_unknown_client_is_refused() -> None:
    with pytest.raises(ValueError, match="client must be one of"):
        from_flags(["--client", "pyarango"])
    bad = dataclasses.replace(Test(workload=SetWorkload(), seed=1), client="arangojs:fast")
    with pytest.raises(ValueError, match="arangojs:fast"):
        bad.validate()
    assert parse_client("arangojs:failover").setting == "failover"
    with pytest.raises(ValueError):
        parse_client("arangojs:default")  # the default setting is spelled "arangojs"
