"""The server's configuration: one dataclass, from flags and/or ``--config FILE``."""

from __future__ import annotations

from dataclasses import dataclass, field

from cluster.common.http import DEFAULT_BODY_LIMIT

MIN_PASSWORD_ITERATIONS = 1_000


def parse_listen(text: str) -> tuple[str, int]:
    """``127.0.0.1:8529`` -> ``("127.0.0.1", 8529)``."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def parse_peer(text: str) -> tuple[str, str]:
    """``s2=http://127.0.0.1:8630`` -> ``("s2", "http://127.0.0.1:8630")``."""
    ident, sep, url = text.partition("=")
    ident, url = ident.strip(), url.strip().rstrip("/")
    if not sep or not ident or not url.startswith(("http://", "https://")):
        raise ValueError(f"expected ID=http://HOST:PORT, got {text!r}")
    return ident, url


def parse_url_list(text: str) -> list[str]:
    """``http://a,http://b`` -> ``["http://a", "http://b"]`` (each must be http(s))."""
    urls = [u.strip().rstrip("/") for u in text.split(",") if u.strip()]
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"expected http://HOST:PORT, got {url!r}")
    return urls


@dataclass
class ServerConfig:
    """Settings of one document server (``python -m cluster.server --help``)."""

    id: str = field(default="", metadata={"help": "this server's id, e.g. s1"})
    listen: str = field(default="127.0.0.1:8529", metadata={"help": "HOST:PORT to listen on"})
    advertise: str = field(
        default="",
        metadata={"help": "URL clients use to reach this server (default http://LISTEN)"},
    )
    agency: list[str] = field(
        default_factory=list,
        metadata={"help": "agency URLs, comma separated or repeated; tried in turn"},
    )
    data_dir: str = field(default="", metadata={"help": "directory for data and rollback files"})
    replication: str = field(default="async", metadata={"help": "async or sync"})
    peer: list[str] = field(
        default_factory=list,
        metadata={"help": "how this server reaches another as ID=URL (repeat); may be a proxy"},
    )
    job_callback_allow: list[str] = field(
        default_factory=list,
        metadata={
            "help": "URL prefix http-callback jobs may POST to (repeat; none: callbacks refused)"
        },
    )
    jwt_secret_file: str = field(
        default="",
        metadata={
            "help": "file holding the cluster secret (HS256), mode 0600; see docs/security.md"
        },
    )
    jwt_secret: str = field(
        default="",
        metadata={"help": "the cluster secret itself (deprecated: visible to ps; use the file)"},
    )
    insecure_no_auth: bool = field(
        default=False,
        metadata={"help": "run WITHOUT authentication: anyone may do anything (tests only)"},
    )
    root_password: str = field(default="", metadata={"help": "root's password at first start"})
    root_password_file: str = field(
        default="", metadata={"help": "file holding root's password at first start"}
    )
    password_iterations: int = field(
        default=100_000,
        metadata={"help": "PBKDF2-HMAC-SHA256 rounds of new password hashes (>= 1000)"},
    )
    heartbeat_interval: float = field(
        default=0.5, metadata={"help": "seconds between agency heartbeats"}
    )
    lease: float = field(
        default=0.0,
        metadata={
            "help": "seconds after a confirming heartbeat was sent during which the leader "
            "writes; 0 = 0.8 x (grace period - heartbeat interval), 2.0 s by default"
        },
    )
    agency_grace_period: float = field(
        default=3.0,
        metadata={"help": "the agency supervision's grace period (s); the lease must be shorter"},
    )
    agency_timeout: float = field(
        default=1.0, metadata={"help": "timeout of one agency request (s)"}
    )
    heartbeat_ttl: float = field(
        default=10.0, metadata={"help": "TTL of the transient AsyncReplication/<id> entry (s)"}
    )
    sync_timeout: float = field(
        default=5.0,
        metadata={"help": "how long a sync-mode write waits for the sync follower (s)"},
    )
    tail_timeout: float = field(
        default=1.0, metadata={"help": "how long a WAL tail long-poll waits for new entries (s)"}
    )
    tail_batch: int = field(default=1000, metadata={"help": "most WAL entries per tail answer"})
    wal_keep_ticks: int = field(
        default=10_000, metadata={"help": "newest WAL entries always kept (see docs/failover.md)"}
    )
    wal_max_ticks: int = field(
        default=1_000_000,
        metadata={"help": "most WAL entries kept for lagging followers (0 = no bound)"},
    )
    wal_max_bytes: int = field(
        default=64 * 1024 * 1024,
        metadata={"help": "most bytes of WAL entries kept for lagging followers (0 = no bound)"},
    )
    wal_client_ttl: float = field(
        default=300.0,
        metadata={"help": "seconds a silent follower still holds the leader's WAL back"},
    )
    wal_prune_interval: float = field(
        default=10.0, metadata={"help": "seconds between WAL prunings (0 = never prune)"}
    )
    body_limit: int = field(
        default=DEFAULT_BODY_LIMIT, metadata={"help": "largest accepted request body (bytes)"}
    )
    clock_file: str = field(default="", metadata={"help": "JSON clock-skew file"})
    log_level: str = field(default="INFO", metadata={"help": "DEBUG, INFO, WARNING, ERROR"})

    def __post_init__(self) -> None:
        flat: list[str] = []
        for item in self.agency:
            flat.extend(parse_url_list(item))
        self.agency = flat

    @property
    def host_port(self) -> tuple[str, int]:
        return parse_listen(self.listen)

    @property
    def advertised(self) -> str:
        """The URL clients see for this server."""
        if self.advertise:
            return self.advertise.rstrip("/")
        host, port = self.host_port
        return f"http://{host}:{port}"

    @property
    def lease_seconds(self) -> float:
        """The leader lease in force (``--lease``, or derived from the grace period)."""
        if self.lease > 0:
            return self.lease
        return round(0.8 * (self.agency_grace_period - self.heartbeat_interval), 3)

    @property
    def peers(self) -> dict[str, str]:
        """Server id -> URL this server uses to reach it."""
        return dict(parse_peer(p) for p in self.peer)

    def validate(self) -> None:
        if not self.id:
            raise ValueError("--id is required")
        if not self.data_dir:
            raise ValueError("--data-dir is required")
        if not self.agency:
            raise ValueError("--agency is required (at least one URL)")
        parse_listen(self.listen)
        self.peers  # noqa: B018 - parses every --peer, raising on a bad one
        for prefix in self.job_callback_allow:
            if not prefix.startswith(("http://", "https://")) or "://" == prefix[-3:]:
                raise ValueError(
                    f"--job-callback-allow: expected an http(s)://HOST[:PORT][/PATH] prefix,"
                    f" got {prefix!r}"
                )
        if self.advertise and not self.advertise.startswith(("http://", "https://")):
            raise ValueError(f"--advertise: expected http://HOST:PORT, got {self.advertise!r}")
        if self.replication not in ("async", "sync"):
            raise ValueError(f"--replication: expected async or sync, got {self.replication!r}")
        for name in ("heartbeat_interval", "agency_timeout", "sync_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"--{name.replace('_', '-')} must be positive")
        if self.lease < 0:
            raise ValueError("--lease must not be negative (0 derives it from the grace period)")
        if self.tail_timeout < 0:
            raise ValueError("--tail-timeout must not be negative")
        if self.tail_batch < 1:
            raise ValueError("--tail-batch must be at least 1")
        if self.jwt_secret_file and self.jwt_secret:
            raise ValueError("give --jwt-secret-file or --jwt-secret, not both")
        if self.root_password_file and self.root_password:
            raise ValueError("give --root-password-file or --root-password, not both")
        if self.password_iterations < MIN_PASSWORD_ITERATIONS:
            raise ValueError(f"--password-iterations must be at least {MIN_PASSWORD_ITERATIONS}")
        if self.wal_keep_ticks < 1 or self.wal_max_ticks < 0 or self.wal_max_bytes < 0:
            raise ValueError("--wal-keep-ticks must be >= 1, --wal-max-ticks/-bytes >= 0")
        if 0 < self.wal_max_ticks < self.wal_keep_ticks:
            raise ValueError("--wal-max-ticks must be 0 or at least --wal-keep-ticks")
        if self.wal_prune_interval < 0 or self.wal_client_ttl < 0:
            raise ValueError("--wal-prune-interval and --wal-client-ttl must not be negative")
        lease = self.lease_seconds
        if lease <= 0 or lease + self.heartbeat_interval > self.agency_grace_period:
            raise ValueError(
                f"--lease ({lease}) plus --heartbeat-interval ({self.heartbeat_interval}) "
                f"must stay below --agency-grace-period ({self.agency_grace_period}), so a "
                "leader cut off from the agency stops writing before anyone is promoted"
            )
        if self.heartbeat_interval >= lease:
            raise ValueError("--heartbeat-interval must be shorter than --lease")
