"""The agent's configuration: one dataclass, from flags and/or ``--config FILE``."""

from __future__ import annotations

from dataclasses import dataclass, field

from cluster.agency.supervision import SupervisionConfig

# Agency values are small (ArangoDB's agency holds cluster metadata); a bigger body is
# refused with 413 before it is parsed, so no single write stalls the Raft loop for long
# (docs/decisions.md, "Agency body limit").
AGENCY_BODY_LIMIT = 1024 * 1024


def parse_peer(text: str) -> tuple[str, str]:
    """``a2=http://127.0.0.1:8531`` -> ``("a2", "http://127.0.0.1:8531")``."""
    ident, sep, url = text.partition("=")
    ident, url = ident.strip(), url.strip().rstrip("/")
    if not sep or not ident or not url.startswith(("http://", "https://")):
        raise ValueError(f"expected ID=http://HOST:PORT, got {text!r}")
    return ident, url


def parse_listen(text: str) -> tuple[str, int]:
    """``127.0.0.1:8531`` -> ``("127.0.0.1", 8531)``."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


@dataclass
class AgentConfig:
    """Settings of one agency agent (``python -m cluster.agency --help``)."""

    id: str = field(default="", metadata={"help": "this agent's id, e.g. a1"})
    listen: str = field(default="127.0.0.1:8531", metadata={"help": "HOST:PORT to listen on"})
    peer: list[str] = field(
        default_factory=list,
        metadata={"help": "another agent as ID=URL (repeat); the URL may be a proxy"},
    )
    data_dir: str = field(default="", metadata={"help": "directory for the Raft log (SQLite)"})
    advertise: str = field(
        default="",
        metadata={"help": "URL others use to reach this agent (default http://LISTEN)"},
    )
    heartbeat_interval: float = field(
        default=0.1, metadata={"help": "seconds between leader heartbeats"}
    )
    election_timeout_min: float = field(
        default=0.5, metadata={"help": "lower bound of the randomized election timeout (s)"}
    )
    election_timeout_max: float = field(
        default=1.0, metadata={"help": "upper bound of the randomized election timeout (s)"}
    )
    rpc_timeout: float = field(
        default=0.5, metadata={"help": "timeout of one Raft RPC between agents (s)"}
    )
    write_timeout: float = field(
        default=10.0, metadata={"help": "how long a client write may wait for commit (s)"}
    )
    snapshot_every: int = field(
        default=10000, metadata={"help": "applied entries between log compactions"}
    )
    max_batch: int = field(
        default=1000, metadata={"help": "most log entries sent in one appendEntries"}
    )
    group_commit: bool = field(
        default=True,
        metadata={"help": "batch concurrent writes into one fsync (false: one fsync each)"},
    )
    body_limit: int = field(
        default=AGENCY_BODY_LIMIT,
        metadata={"help": "largest accepted client request body (bytes)"},
    )
    supervision: bool = field(default=True, metadata={"help": "run supervision when leader"})
    supervision_interval: float = field(
        default=0.25, metadata={"help": "seconds between supervision rounds"}
    )
    ok_threshold: float = field(
        default=1.5, metadata={"help": "heartbeat age (s) up to which a server is GOOD"}
    )
    grace_period: float = field(
        default=3.0, metadata={"help": "heartbeat age (s) after which a server is FAILED"}
    )
    ttl_interval: float = field(
        default=0.1, metadata={"help": "seconds between the leader's TTL expiry checks"}
    )
    jwt_secret_file: str = field(
        default="",
        metadata={
            "help": "file holding the cluster secret (HS256), mode 0600; see docs/security.md"
        },
    )
    insecure_no_auth: bool = field(
        default=False,
        metadata={"help": "run WITHOUT authentication: anyone may do anything (tests only)"},
    )
    observer_allow: list[str] = field(
        default_factory=list,
        metadata={
            "help": "a URL prefix observer callbacks may go to, besides cluster members "
            "(repeat); see docs/security.md"
        },
    )
    max_observers: int = field(
        default=1000, metadata={"help": "most observer registrations the agency keeps"}
    )
    clock_file: str = field(default="", metadata={"help": "JSON clock-skew file"})
    log_level: str = field(default="INFO", metadata={"help": "DEBUG, INFO, WARNING, ERROR"})
    seed: int = field(default=-1, metadata={"help": "seed of the election-timeout RNG"})

    def validate(self) -> None:
        if not self.id:
            raise ValueError("--id is required")
        if not self.data_dir:
            raise ValueError("--data-dir is required")
        parse_listen(self.listen)
        peers = self.peers()
        if self.id in peers:
            raise ValueError(f"--peer names this agent's own id {self.id!r}")
        if len(peers) + 1 not in (1, 3, 5):
            raise ValueError(f"an agency has 1, 3 or 5 agents, not {len(peers) + 1}")
        if self.heartbeat_interval <= 0:
            raise ValueError("--heartbeat-interval must be positive")
        if not 0 < self.election_timeout_min <= self.election_timeout_max:
            raise ValueError("need 0 < --election-timeout-min <= --election-timeout-max")
        if self.heartbeat_interval * 2 > self.election_timeout_min:
            raise ValueError("--election-timeout-min must be at least twice the heartbeat")
        if self.rpc_timeout <= 0 or self.write_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if self.snapshot_every < 1 or self.max_batch < 1 or self.body_limit < 1024:
            raise ValueError("--snapshot-every, --max-batch must be >= 1, --body-limit >= 1024")
        if self.jwt_secret_file and self.insecure_no_auth:
            raise ValueError("give --jwt-secret-file or --insecure-no-auth, not both")
        if self.max_observers < 0:
            raise ValueError("--max-observers must be >= 0")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError(f"--log-level: unknown level {self.log_level!r}")
        SupervisionConfig(
            interval=self.supervision_interval,
            ok_threshold=self.ok_threshold,
            grace_period=self.grace_period,
        ).validate()

    def peers(self) -> dict[str, str]:
        """Peer id -> URL used to reach it."""
        out: dict[str, str] = {}
        for text in self.peer:
            ident, url = parse_peer(text)
            if ident in out:
                raise ValueError(f"--peer {ident} given twice")
            out[ident] = url
        return out

    def own_url(self) -> str:
        if self.advertise:
            return self.advertise.rstrip("/")
        return f"http://{self.listen}"
