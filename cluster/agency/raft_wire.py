"""Core messages as the HTTP Raft RPCs agents exchange (``/_api/agency_priv/<rpc>``).

Inside the core a request and its reply are two one-way messages; over HTTP
they are one call. The sender keeps the request, so a reply body needs only
what the peer decided; the driver rebuilds the reply message from both
(including the read-index round the request was stamped with, which never
travels). Bodies from peers are untrusted: anything malformed is a
``ValueError`` (the API answers 400, and nothing changes).

Terms and indices must be JSON integers in ``[0, MAX_RAFT_NUMBER]``. The bound
(2^62) is far beyond any reachable value, and it keeps ``term + 1`` (a new
campaign) and ``index + 1`` inside the signed 64-bit INTEGER the log store
keeps them in: a forged term of 2^63-1 once left every agent campaigning
forever, each campaign failing to persist. Relations are checked too: an
entry's term, a vote's ``lastLogTerm`` and a snapshot's ``lastTerm`` never
exceed the request's term, entries follow ``prevLogIndex`` in sequence with
non-decreasing terms, and the sender is named.
"""

from __future__ import annotations

from typing import Any

from cluster.agency.raft_core_msgs import (
    APP,
    PREVOTE,
    RESPONSE_OF,
    SNAP,
    VOTE,
    LogEntry,
    Message,
    Snapshot,
)
from cluster.agency.raft_types import RPC_APPEND_ENTRIES, RPC_INSTALL_SNAPSHOT, RPC_REQUEST_VOTE


def request_to_wire(m: Message) -> tuple[str, dict[str, Any]]:
    """The RPC name and body carrying request ``m``."""
    if m.kind in (PREVOTE, VOTE):
        return RPC_REQUEST_VOTE, {
            "term": m.term,
            "candidateId": m.src,
            "lastLogIndex": m.index,
            "lastLogTerm": m.log_term,
            "preVote": m.kind == PREVOTE,
        }
    if m.kind == APP:
        return RPC_APPEND_ENTRIES, {
            "term": m.term,
            "leaderId": m.src,
            "prevLogIndex": m.index,
            "prevLogTerm": m.log_term,
            "entries": [e.to_wire() for e in m.entries],
            "leaderCommit": m.commit,
        }
    if m.kind == SNAP and m.snapshot is not None:
        return RPC_INSTALL_SNAPSHOT, {
            "term": m.term,
            "leaderId": m.src,
            "lastIndex": m.snapshot.last_index,
            "lastTerm": m.snapshot.last_term,
            "data": m.snapshot.data,
        }
    raise ValueError(f"{m.kind} is not a request")


MAX_RAFT_NUMBER = 2**62
MAX_NODE_ID = 256


def raft_number(value: Any, name: str) -> int:
    """``value`` if it is a JSON integer in ``[0, MAX_RAFT_NUMBER]``, else ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, not {type(value).__name__}")
    if not 0 <= value <= MAX_RAFT_NUMBER:
        raise ValueError(f"{name} must be between 0 and 2^62, not {value}")
    return value


def _node_id(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_NODE_ID:
        raise ValueError(f"{name} must be a non-empty agent id")
    return value


def _not_above_term(value: int, name: str, term: int) -> int:
    if value > term:
        raise ValueError(f"{name} {value} is above the request's term {term}")
    return value


def _entries(raw: Any, prev: int, prev_term: int, term: int) -> tuple[LogEntry, ...]:
    if not isinstance(raw, list):
        raise ValueError("entries must be an array")
    entries = tuple(LogEntry.from_wire(e) for e in raw)
    last_term = prev_term
    for i, e in enumerate(entries):
        raft_number(e.index, "entry index")
        raft_number(e.term, "entry term")
        if e.index != prev + 1 + i:
            raise ValueError(f"entry index {e.index} out of sequence after {prev}")
        if not last_term <= e.term <= term:
            raise ValueError(f"entry {e.index}: term {e.term} out of order or above {term}")
        last_term = e.term
    return entries


def request_from_wire(rpc: str, body: dict[str, Any], me: str) -> Message:
    """The request message a peer sent to ``me``; ``ValueError`` for anything malformed."""
    term = raft_number(body.get("term"), "term")
    if rpc == RPC_REQUEST_VOTE:
        kind = PREVOTE if body.get("preVote") is True else VOTE
        last_index = raft_number(body.get("lastLogIndex"), "lastLogIndex")
        last_term = raft_number(body.get("lastLogTerm"), "lastLogTerm")
        src = _node_id(body.get("candidateId"), "candidateId")
        return Message(
            kind, src, me, term, last_index, _not_above_term(last_term, "lastLogTerm", term)
        )
    src = _node_id(body.get("leaderId"), "leaderId")
    if rpc == RPC_APPEND_ENTRIES:
        prev = raft_number(body.get("prevLogIndex"), "prevLogIndex")
        prev_term = _not_above_term(
            raft_number(body.get("prevLogTerm"), "prevLogTerm"), "prevLogTerm", term
        )
        entries = _entries(body.get("entries", []), prev, prev_term, term)
        if prev + len(entries) > MAX_RAFT_NUMBER:
            raise ValueError("entries reach past the largest index")
        commit = raft_number(body.get("leaderCommit"), "leaderCommit")
        return Message(APP, src, me, term, prev, prev_term, entries, commit)
    if rpc == RPC_INSTALL_SNAPSHOT:
        data = body.get("data")
        if not isinstance(data, dict):
            raise ValueError("snapshot data must be an object")
        last = raft_number(body.get("lastIndex"), "lastIndex")
        last_term = _not_above_term(raft_number(body.get("lastTerm"), "lastTerm"), "lastTerm", term)
        return Message(SNAP, src, me, term, snapshot=Snapshot(last, last_term, data))
    raise ValueError(f"unknown rpc {rpc}")


def reply_to_wire(m: Message) -> dict[str, Any]:
    """The HTTP answer carrying reply ``m``."""
    if m.kind in (RESPONSE_OF[PREVOTE], RESPONSE_OF[VOTE]):
        return {"term": m.term, "voteGranted": not m.reject}
    if m.reject:
        return {"term": m.term, "success": False, "conflictIndex": m.hint}
    return {"term": m.term, "success": True, "matchIndex": m.hint}


def reply_from_wire(req: Message, body: dict[str, Any]) -> Message:
    """The reply message to ``req`` that a peer's HTTP answer stands for."""
    kind = RESPONSE_OF[req.kind]
    term = raft_number(body.get("term"), "term")
    if req.kind in (PREVOTE, VOTE):
        granted = body.get("voteGranted") is True
        return Message(kind, req.dst, req.src, term, reject=not granted)
    if body.get("success") is True:
        if req.kind == SNAP and req.snapshot is not None:
            match = req.snapshot.last_index
        else:
            match = req.index + len(req.entries)
        return Message(kind, req.dst, req.src, term, hint=match, context=req.context)
    raw_hint = body.get("conflictIndex", req.index)
    hint = raft_number(raw_hint, "conflictIndex")
    return Message(kind, req.dst, req.src, term, reject=True, hint=hint, context=req.context)
