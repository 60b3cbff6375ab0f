"""Unit tests: a test is a value: test.json round trip, and the repeat command's flags."""

from __future__ import annotations

import json
import shlex

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cli import build_parser
from harness.cli.registry import FAULTS, REGISTRY, WORKLOADS
from harness.cli.run import build_test
from harness.core.test import Test, Timeouts, default_cluster
from workloads.set import SetConfig, SetWorkload


def from_flags(flags: list[str]) -> Test:
    args = build_parser(["run"]).parse_args(["run", *flags])
    return build_test(args, REGISTRY)


def roundtrip(test: Test) -> Test:
    return Test.from_json(json.loads(json.dumps(test.to_json())), REGISTRY)


def custom_test() -> Test:
    cluster = default_cluster()
    cluster.replication = "sync"
    cluster.agents = 5
    cluster.servers = 2
    cluster.agency_flags = {"grace-period": "3", "ok-threshold": "1.5"}
    cluster.server_flags = {"lease": "2"}
    return Test(
        workload=SetWorkload(SetConfig(collection="elements", read_fraction=0.1)),
        seed=42,
        nemesis="kill-leader,pause-leader",
        faults=REGISTRY.faults_for("kill-leader,pause-leader"),
        backend="docker",
        cluster=cluster,
        concurrency=7,
        rate=12.5,
        time_limit=17.25,
        healthy_s=3.0,
        fault_s=4.5,
        timeouts=Timeouts(recovery=30.0, op=7.0),
        store="elsewhere",
        name="my test",
    )


def test_json_round_trip_is_equal() -> None:
    test = custom_test()
    back = roundtrip(test)
    assert back == test
    assert back.repeat_command() == test.repeat_command()
    assert [type(f) for f in back.faults] == [type(f) for f in test.faults]
    assert back.workload.config() == test.workload.config()
    assert back.cluster == test.cluster and back.timeouts == test.timeouts


def test_repeat_command_parses_back_to_an_equal_test() -> None:
    test = custom_test()
    words = shlex.split(test.repeat_command())
    assert words[:2] == ["afcheck", "run"]
    assert from_flags(words[2:]) == test


def test_flags_of_a_defaults_test() -> None:
    test = from_flags(["--seed", "9"])
    assert test.seed == 9 and test.nemesis == "partition-leader"
    assert [f.name for f in test.faults] == ["partition-leader"]
    assert test.workload.name == "set" and test.cluster.servers == 3
    assert from_flags(test.flags()) == test == roundtrip(test)
    # a replayed test prints the very same repeat command (no default name made explicit)
    assert roundtrip(test).repeat_command() == test.repeat_command()
    flags = " ".join(test.flags())
    for part in ("--seed 9", "--agents 3", "--servers 3", "--healthy 10", "--fault 10",
                 "--rate 50", "--concurrency 5", "--time-limit 60", "--backend local",
                 "--replication async", "--nemesis partition-leader", "--workload set"):  # fmt: skip
        assert part in flags


def test_a_different_test_is_not_equal() -> None:
    test = custom_test()
    other = from_flags([*test.flags(), "--seed", "43"])
    assert other != test and other.seed == 43


def test_no_seed_draws_one_and_records_it() -> None:
    test = from_flags([])
    assert isinstance(test.seed, int)
    assert f"--seed {test.seed}" in test.repeat_command()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    workload=st.sampled_from(sorted(WORKLOADS)),
    nemesis=st.sampled_from([*sorted(FAULTS), "mixed", "none"]),
    seed=st.integers(0, 2**31 - 1),
    rate=st.floats(0, 1000, allow_nan=False).map(lambda x: round(x, 3)),
    time_limit=st.floats(0.1, 3600, allow_nan=False),
    concurrency=st.integers(1, 50),
    sync=st.booleans(),
)
def test_any_test_survives_json_and_flags(
    workload: str,
    nemesis: str,
    seed: int,
    rate: float,
    time_limit: float,
    concurrency: int,
    sync: bool,
) -> None:
    cluster = default_cluster()
    cluster.replication = "sync" if sync else "async"
    test = Test(
        workload=REGISTRY.workload(workload),
        seed=seed,
        nemesis=nemesis,
        faults=REGISTRY.faults_for(nemesis),
        cluster=cluster,
        rate=rate,
        time_limit=time_limit,
        concurrency=concurrency,
    )
    assert roundtrip(test) == test
    assert from_flags(shlex.split(test.repeat_command())[2:]) == test


def test_bad_test_json_says_what_is_wrong() -> None:
    good = custom_test().to_json()
    with pytest.raises(ValueError, match="missing 'seed'"):
        Test.from_json({k: v for k, v in good.items() if k != "seed"}, REGISTRY)
    with pytest.raises(ValueError, match="unknown fault 'nope'"):
        Test.from_json({**good, "faults": ["nope"]}, REGISTRY)
    with pytest.raises(ValueError, match="unknown setting"):
        Test.from_json({**good, "workload": {"name": "set", "config": {"x": 1}}}, REGISTRY)
    with pytest.raises(ValueError, match="replication"):
        Test.from_json(
            {**good, "cluster": {**good["cluster"], "replication": "eventual"}}, REGISTRY
        )


def test_bad_flags_say_which() -> None:
    with pytest.raises(ValueError, match="unknown workload"):
        from_flags(["--workload", "nope"])
    with pytest.raises(ValueError, match="workload-config"):
        from_flags(["--workload-config", "[1]"])
    with pytest.raises(ValueError, match="KEY=VALUE"):
        from_flags(["--agency-flag", "novalue"])
    with pytest.raises(ValueError, match="time limit"):
        from_flags(["--time-limit", "-1"])


def test_run_help_names_every_registered_workload(capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for name in WORKLOADS:
        assert name in text, name
