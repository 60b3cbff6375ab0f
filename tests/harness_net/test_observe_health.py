"""``observe.unhealthy_followers``: what start-up readiness waits for after a leader exists."""

from __future__ import annotations

from typing import Any

from harness.core import observe


def _answer(role: str, health: dict[str, str] | None = None) -> dict[str, Any]:
    details: dict[str, Any] = {} if health is None else {"health": health}
    return {"afRole": role, "epoch": 1, "lastTick": 5, "leader": "s1", "details": details}


def test_none_while_no_single_server_leads() -> None:
    assert observe.unhealthy_followers({"s1": _answer("follower"), "s2": None}) is None
    two = {"s1": _answer("leader"), "s2": _answer("leader")}
    assert observe.unhealthy_followers(two) is None
    assert observe.unhealthy_followers({"s1": _answer("fenced"), "s2": _answer("follower")}) is None


def test_followers_the_leader_does_not_see_good() -> None:
    answers = {
        "s1": _answer("leader", {"s1": "GOOD", "s2": "GOOD", "s3": "BAD"}),
        "s2": _answer("follower"),
        "s3": _answer("follower"),
        "s4": _answer("follower"),
    }
    assert observe.unhealthy_followers(answers) == ["s3", "s4"]


def test_a_leader_that_does_not_say_what_it_sees_is_taken_as_ready() -> None:
    """An older build's role answer has no ``details.health``: leading is enough."""
    assert observe.unhealthy_followers({"s1": _answer("leader"), "s2": None}) == []
    assert observe.unhealthy_followers({"s1": {"afRole": "leader", "details": "x"}}) == []


def test_a_leader_that_sees_no_server_yet_waits_for_all() -> None:
    answers = {"s1": _answer("leader", {}), "s2": _answer("follower")}
    assert observe.unhealthy_followers(answers) == ["s2"]


def test_ready_when_the_leader_sees_every_follower_good() -> None:
    answers = {"s2": _answer("follower"), "s1": _answer("leader", {"s2": "GOOD"})}
    assert observe.unhealthy_followers(answers) == []
    assert observe.unhealthy_followers({"s1": _answer("leader", {})}) == []
