"""Core messages as the HTTP Raft RPCs agents exchange (``/_api/agency_priv/<rpc>``).

Inside the core a request and its reply are two one-way messages; over HTTP
they are one call. The sender keeps the request, so a reply body needs only
what the peer decided; the driver rebuilds the reply message from both
(including the read-index round the request was stamped with, which never
travels). Bodies from peers are untrusted: anything malformed is a
``ValueError`` (the API answers 400).
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
    as_int,
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


def request_from_wire(rpc: str, body: dict[str, Any], me: str) -> Message:
    """The request message a peer sent to ``me``."""
    term = as_int(body.get("term"))
    if rpc == RPC_REQUEST_VOTE:
        kind = PREVOTE if body.get("preVote") is True else VOTE
        return Message(
            kind,
            str(body.get("candidateId", "")),
            me,
            term,
            as_int(body.get("lastLogIndex")),
            as_int(body.get("lastLogTerm")),
        )
    src = str(body.get("leaderId", ""))
    if rpc == RPC_APPEND_ENTRIES:
        raw = body.get("entries") or []
        if not isinstance(raw, list):
            raise ValueError("entries must be an array")
        entries = tuple(LogEntry.from_wire(e) for e in raw)
        prev = as_int(body.get("prevLogIndex"))
        for i, e in enumerate(entries):
            if e.index != prev + 1 + i:
                raise ValueError(f"entry index {e.index} out of sequence after {prev}")
        return Message(
            APP,
            src,
            me,
            term,
            prev,
            as_int(body.get("prevLogTerm")),
            entries,
            as_int(body.get("leaderCommit")),
        )
    if rpc == RPC_INSTALL_SNAPSHOT:
        data = body.get("data")
        if not isinstance(data, dict):
            raise ValueError("snapshot data must be an object")
        last, last_term = as_int(body.get("lastIndex")), as_int(body.get("lastTerm"))
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
    term = as_int(body.get("term"))
    if req.kind in (PREVOTE, VOTE):
        granted = body.get("voteGranted") is True
        return Message(kind, req.dst, req.src, term, reject=not granted)
    if body.get("success") is True:
        if req.kind == SNAP and req.snapshot is not None:
            match = req.snapshot.last_index
        else:
            match = req.index + len(req.entries)
        return Message(kind, req.dst, req.src, term, hint=match, context=req.context)
    hint = as_int(body.get("conflictIndex"), req.index)
    return Message(kind, req.dst, req.src, term, reject=True, hint=hint, context=req.context)
