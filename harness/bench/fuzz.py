"""Fuzz the agency and the servers with generated requests; count what must never happen.

``python -m harness.bench fuzz [--count 10000] [--seed 1] [--time-limit 600]`` (``make fuzz``)

A local cluster (3 agents, 2 servers, no proxies, loopback only) gets
``--count`` generated requests per kind (agency, server), drawn from a seeded
stream: every route, every method, bodies from valid transactions to
garbage (huge and negative numbers, ``NaN``, deep nesting, wrong types, an
oversized body now and then), with no credentials, wrong ones (a token
signed with another secret, a wrong password) or the cluster's own.
Requests with the cluster's credentials stay away from the data the check
reads back (the agency's ``/arango`` tree, the servers' ``acked``
collection) and Raft RPCs always name a non-member sender, so every figure
below must be 0:

* answers with status 5xx (a follower's 503 "not a leader", errorNum 1495
  or 1496, and ``/_admin/server/availability``'s 503 on a follower are
  answers by design, counted apart);
* crashes (a node process that exited);
* spurious elections (an agent's term changed);
* acknowledged documents changed (``acked`` is read back and compared).

It stops after ``--time-limit`` seconds even if the count is not reached (and
says so). Exit code 0 when every figure is 0, 1 otherwise, 3 if the cluster
could not be set up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from cluster.agency.config import AGENCY_BODY_LIMIT
from cluster.common.tokens import sign_jwt
from harness.infra.backends.base import ClusterSpec, Node
from harness.infra.backends.blocking import BlockingBackend
from harness.infra.backends.credentials import Credentials
from harness.infra.backends.node_table import NodeStartError

NOT_LEADER = (1495, 1496)  # a follower's 503, by design
ACKED = "acked"
ACKED_DOCS = 200
CONCURRENCY = 8
TIMEOUT = 10.0
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
AGENCY_ROUTES = (
    "/_api/agency/read", "/_api/agency/write", "/_api/agency/transact",
    "/_api/agency/transient", "/_api/agency/inquire", "/_api/agency/config",
    "/_api/agency/poll", "/_api/agency/stores", "/_api/agency_priv/state",
    "/_api/agency_priv/requestVote", "/_api/agency_priv/appendEntries",
    "/_api/agency_priv/installSnapshot", "/_api/version", "/_admin/server/role",
    "/_api/agency/nothing",
)  # fmt: skip
SERVER_ROUTES = (
    "/_api/version", "/_open/auth", "/_admin/server/role", "/_admin/server/mode",
    "/_admin/server/availability", "/_api/cluster/endpoints", "/_api/collection",
    "/_api/collection/{c}", "/_api/collection/{c}/count", "/_api/collection/{c}/properties",
    "/_api/collection/{c}/truncate", "/_api/collection/{c}/load", "/_api/collection/{c}/unload",
    "/_api/database", "/_api/database/current", "/_api/database/user", "/_api/database/{c}",
    "/_api/document/{c}", "/_api/document/{c}/{k}", "/_db/_system/_api/document/{c}/{k}",
    "/_api/simple/all", "/_api/simple/all-keys", "/_api/user", "/_api/user/{k}",
    "/_api/user/{k}/database", "/_api/user/{k}/database/{c}", "/_api/wal/tail",
    "/_api/replication/match", "/_api/replication/inventory", "/_api/replication/dump",
    "/_api/replication/snapshot", "/_api/replication/rollbacks",
    "/_api/replication/rollbacks/{k}", "/_api/replication/applier-state",
    "/_api/replication/logger-state", "/_admin/cluster/switchover", "/_api/nothing",
)  # fmt: skip
QUERIES = ("", "?from=1", "?from=-1", f"?from={2**63}", "?from=abc", "?index=0&timeout=0.01",
           "?path=/", "?path=/a/../b", f"?index={2**70}", "?limit=1&from=1", "?waitForSync=x",
           "?returnNew=true", "?overwrite=true", "?collection=fuzz")  # fmt: skip


@dataclass
class Tally:
    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    five_xx: list[str] = field(default_factory=list)
    not_leader: int = 0
    stopped_early: bool = False


def _scalar(rng: random.Random) -> Any:
    return rng.choice(
        [
            0, -1, 1, 2**31, 2**63 - 1, 2**63, -(2**63) - 1, 10**30, 1.5, -0.0, 1e308,
            True, False, None, "", "x", "/", "../..", "\u0000", "é" * 3, "a" * 300, [], {},
        ]
    )  # fmt: skip


def _value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.5:
        return _scalar(rng)
    if roll < 0.75:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(["a", "b", "_key", "op", "new", "/x", ""]): _value(rng, depth + 1)
            for _ in range(rng.randint(0, 4))}  # fmt: skip


def _agency_txn(rng: random.Random, trusted: bool) -> Any:
    path = "/fuzz/" + rng.choice(["a", "b", "c/d", "e/../f", ".hidden"])
    if not trusted:
        path = rng.choice([path, "/arango/Plan/AsyncReplication/Leader", "/", "/.agency/x"])
    op = rng.choice(["set", "delete", "increment", "decrement", "push", "pop", "shift",
                     "prepend", "erase", "replace", "push-queue", "observe", "unobserve",
                     "bogus"])  # fmt: skip
    spec: dict[str, Any] = {"op": op}
    for key in rng.sample(["new", "step", "ttl", "url", "val", "pos", "len"], rng.randint(0, 3)):
        spec[key] = _value(rng)
    if rng.random() < 0.3:
        spec["url"] = rng.choice(["http://169.254.169.254/", "ftp://x", "http://127.0.0.1:1/"])
    update = {path: spec if rng.random() < 0.7 else _value(rng)}
    txn: list[Any] = [update]
    if rng.random() < 0.4:
        txn.append({path: rng.choice([{"old": _value(rng)}, {"oldEmpty": True}, _value(rng)])})
    return [txn] if trusted or rng.random() < 0.8 else _value(rng)


def _raft_body(rng: random.Random) -> Any:
    """A Raft RPC body; the sender is never a member, so no valid one can take effect."""
    body: dict[str, Any] = {}
    for key in ("term", "lastLogIndex", "lastLogTerm", "prevLogIndex", "prevLogTerm",
                "leaderCommit", "lastIndex", "lastTerm"):  # fmt: skip
        if rng.random() < 0.8:
            body[key] = rng.choice([_scalar(rng), rng.randint(0, 100)])
    body["candidateId"] = body["leaderId"] = rng.choice(["fuzzer", "", 7, None])
    if rng.random() < 0.5:
        body["entries"] = [[rng.randint(0, 5), rng.randint(0, 5), _value(rng)] for _ in range(2)]
    if rng.random() < 0.3:
        body["data"] = _value(rng)
    body["preVote"] = rng.random() < 0.5
    return body


def _raw_body(rng: random.Random, structured: Any) -> bytes | None:
    roll = rng.random()
    if roll < 0.1:
        return None
    if roll < 0.15:
        return rng.choice([b"{", b"[[", b"NaN", b'{"a":Infinity}', b"\xff\xfe", b"[" * 5000])
    if roll < 0.152:
        return b"[" + b" " * AGENCY_BODY_LIMIT + b"]"
    return json.dumps(structured).encode()


def _auth(rng: random.Random, creds: Credentials, agency: bool) -> tuple[dict[str, str], bool]:
    """Headers and whether they are the cluster's own credentials."""
    wrong = sign_jwt({"server_id": "fuzzer", "exp": 4_000_000_000}, "wrong-secret-for-fuzzing")
    roll = rng.random()
    if roll < 0.3:
        return {}, False
    if roll < 0.45:
        return {"Authorization": "bearer " + wrong}, False
    if roll < 0.55:
        return {"Authorization": rng.choice(["Basic cm9vdDp4", "bearer x.y.z", "Basic ???"])}, False
    own = creds.agency_headers() if agency else creds.server_headers()
    return own, True


def agency_request(
    rng: random.Random, creds: Credentials
) -> tuple[str, str, dict[str, str], bytes | None]:
    headers, trusted = _auth(rng, creds, agency=True)
    route = rng.choice(AGENCY_ROUTES)
    method = "POST" if rng.random() < 0.7 else rng.choice(METHODS)
    body = _raft_body(rng) if "agency_priv" in route else _agency_txn(rng, trusted)
    if route.endswith("/read"):
        body = [[rng.choice(["/", "/fuzz", "/arango", "//x"])]] if rng.random() < 0.7 else body
    return method, route + rng.choice(QUERIES), headers, _raw_body(rng, body)


def server_request(
    rng: random.Random, creds: Credentials
) -> tuple[str, str, dict[str, str], bytes | None]:
    headers, trusted = _auth(rng, creds, agency=False)
    coll = "fuzz" if trusted else rng.choice(["fuzz", ACKED, "_users", "x" * 300, "%2e%2e"])
    route = rng.choice(SERVER_ROUTES).format(c=coll, k=rng.choice(["k1", "root", "..", "a%00"]))
    if trusted and any(p in route for p in ("/_api/user", "/_api/database", "switchover")):
        route = "/_api/collection/fuzz"  # the cluster's own credentials stay off shared state
    method = rng.choice(METHODS)
    body = (
        _value(rng) if rng.random() < 0.5 else {"_key": f"k{rng.randint(0, 50)}", "v": _value(rng)}
    )
    return method, route + rng.choice(QUERIES), headers, _raw_body(rng, body)


async def _fire(
    session: aiohttp.ClientSession,
    node: Node,
    request: tuple[str, str, dict[str, str], bytes | None],
) -> tuple[int, bool]:
    """The status, and whether it is a follower's "not a leader" answer."""
    method, path, headers, body = request
    try:
        async with session.request(
            method, node.direct_url + path, data=body, headers=headers, allow_redirects=False
        ) as resp:
            raw = await resp.read()
            status = resp.status
            redirect = "X-Arango-Endpoint" in resp.headers  # a follower's answer (HEAD: no body)
    except (aiohttp.ClientError, TimeoutError, OSError):
        return 0, False
    if status != 503:
        return status, False
    if redirect or path.startswith("/_admin/server/availability"):
        return status, True
    try:
        answer = json.loads(raw)
    except ValueError:
        return status, False
    return status, isinstance(answer, dict) and answer.get("errorNum") in NOT_LEADER


async def fuzz(
    nodes: list[Node], make: Any, creds: Credentials, count: int, seed: int, deadline: float
) -> Tally:
    """Send ``count`` requests made by ``make(rng, creds)`` to ``nodes`` in turn."""
    tally = Tally()
    rng = random.Random(seed)
    requests = iter(range(count))
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def worker() -> None:
            for i in requests:
                if time.monotonic() > deadline:
                    tally.stopped_early = True
                    return
                request = make(rng, creds)
                node = nodes[i % len(nodes)]
                status, not_leader = await _fire(session, node, request)
                tally.sent += 1
                tally.statuses[status] += 1
                if not_leader:
                    tally.not_leader += 1
                elif status >= 500:
                    tally.five_xx.append(f"{node.id} {request[0]} {request[1][:120]} -> {status}")

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return tally


class Cluster:
    """The fuzzed cluster and the state the check compares."""

    def __init__(self, root: str) -> None:
        self.backend = BlockingBackend()
        self.spec = ClusterSpec(
            agents=3,
            servers=2,
            proxied=False,
            agency_flags={"log-level": "WARNING"},
            server_flags={"log-level": "WARNING"},
            state_dir=root,
        )

    def start(self) -> None:
        try:
            self.backend.start(self.spec)
        except NodeStartError as exc:
            raise RuntimeError(str(exc).splitlines()[0]) from exc

    def nodes(self, kind: str) -> list[Node]:
        return [n for n in self.backend.nodes() if n.kind == kind]

    def terms(self) -> dict[str, Any]:
        from harness.infra.probe import http_json

        out: dict[str, Any] = {}
        for agent in self.nodes("agent"):
            status, body = http_json(
                agent.direct_url + "/_api/agency/config",
                time_limit=5.0,
                headers=self.backend.credentials.agency_headers(),
            )
            out[agent.id] = body.get("term") if status == 200 and isinstance(body, dict) else None
        return out

    def crashed(self) -> list[str]:
        return [n.id for n in self.backend.nodes() if not self.backend.is_running(n.id)]


async def _acked_docs(cluster: Cluster, write: bool) -> dict[str, Any]:
    """Write (or read back) the acknowledged documents through the leading server."""
    from harness.core.client import ArangoClient, server_addresses

    creds = cluster.backend.credentials
    async with ArangoClient(
        server_addresses(cluster.backend.backend), password=creds.root_password
    ) as http:
        if write:
            await http.request("POST", "/_api/collection", body={"name": ACKED})
            await http.request("POST", "/_api/collection", body={"name": "fuzz"})
            for i in range(ACKED_DOCS):
                resp = await http.request(
                    "POST", f"/_api/document/{ACKED}", body={"_key": f"d{i}", "n": i}
                )
                if resp.status not in (201, 202):
                    raise RuntimeError(f"cannot write acknowledged document d{i}: {resp.status}")
        docs: dict[str, Any] = {}
        for i in range(ACKED_DOCS):
            resp = await http.request("GET", f"/_api/document/{ACKED}/d{i}")
            body = resp.body if isinstance(resp.body, dict) else {}
            docs[f"d{i}"] = (resp.status, body.get("n"), body.get("_rev"))
        return docs


def _report(kind: str, tally: Tally, count: int) -> None:
    early = " (time limit reached first)" if tally.stopped_early else ""
    common = ", ".join(f"{s}: {n}" for s, n in tally.statuses.most_common(8))
    print(
        f"{kind}: {tally.sent} of {count} requests{early}; 5xx: {len(tally.five_xx)} "
        f"(and {tally.not_leader} followers' 503 'not a leader', by design)  [{common}]"
    )
    for line in tally.five_xx[:10]:
        print(f"  5xx: {line}")


def run(args: argparse.Namespace, root: str) -> int:
    cluster = Cluster(root)
    try:
        cluster.start()
        creds = cluster.backend.credentials
        before_docs = asyncio.run(_acked_docs(cluster, write=True))
        before_terms = cluster.terms()
        deadline = time.monotonic() + args.time_limit
        agency = asyncio.run(
            fuzz(cluster.nodes("agent"), agency_request, creds, args.count, args.seed, deadline)
        )
        servers = asyncio.run(
            fuzz(
                cluster.nodes("server"), server_request, creds, args.count, args.seed + 1, deadline
            )
        )
        after_terms = cluster.terms()
        crashed = cluster.crashed()
        after_docs = asyncio.run(_acked_docs(cluster, write=False)) if not crashed else {}
    finally:
        cluster.backend.close()
    changed = [k for k, v in before_docs.items() if after_docs.get(k) != v]
    elections = [a for a in before_terms if before_terms[a] != after_terms.get(a)]
    _report("agency (client and Raft routes)", agency, args.count)
    _report("servers (every route)", servers, args.count)
    print(f"crashes: {len(crashed)} {crashed or ''}")
    print(f"spurious elections (agents whose term changed): {len(elections)} "
          f"{ {a: (before_terms[a], after_terms.get(a)) for a in elections} or ''}")  # fmt: skip
    print(f"acknowledged documents changed: {len(changed)} of {len(before_docs)}")
    bad = len(agency.five_xx) + len(servers.five_xx) + len(crashed) + len(elections) + len(changed)
    short = agency.stopped_early or servers.stopped_early
    if short:
        print("NOTE: the time limit cut the run short of --count requests")
    return 0 if bad == 0 else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.bench fuzz")
    parser.add_argument("--count", type=int, default=10_000, help="requests per kind")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=900.0, help="seconds in all")
    parser.add_argument("--keep", action="store_true", help="keep the nodes' data and logs")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.count < 1 or args.time_limit <= 0:
        print("harness.bench fuzz: need --count >= 1 and --time-limit > 0", file=sys.stderr)
        return 4
    root = tempfile.mkdtemp(prefix="afcheck-fuzz-")
    print(f"fuzz: seed {args.seed}, {args.count} requests per kind, state in {root}")
    try:
        return run(args, root)
    except RuntimeError as exc:
        print(f"harness.bench fuzz: {exc}", file=sys.stderr)
        return 3
    finally:
        if args.keep:
            print(f"data and logs kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
