"""Typed settings, read once from the environment.

Every value has a default that gives the embedded mode (SQLite under ``var/``, no Redis), so that
``make run`` works on a fresh machine without any configuration.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Literal

import msgspec

VAR_DIR = Path(os.environ.get("MARKETPLACE_VAR_DIR", "var"))
DEFAULT_DATABASE_URL = f"sqlite:///{VAR_DIR / 'marketplace.sqlite'}"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Run-time configuration of one process."""

    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    secret: str = ""
    log_format: Literal["console", "json"] = "console"
    log_level: str = "INFO"
    ledger_dir: str = str(VAR_DIR / "ledger")
    coop_code: str = "KOPIT"
    rate_limit_per_minute: int = 600
    max_body_bytes: int = 1_048_576
    database_pool_size: int = 10
    request_expiry_days: int = 14
    maintenance_interval_seconds: float = 60.0
    redis_timeout_seconds: float = 0.2
    health_timeout_seconds: float = 2.0
    redis_breaker_seconds: float = 5.0
    debug: bool = False
    settlement_fee_percent: str = "0"
    settlement_queue: str = "settlement"
    worker_concurrency: int = 2
    settlement_heartbeat_seconds: float = 5.0
    settlement_stale_seconds: float = 60.0
    settlement_recovery_seconds: float = 30.0
    event_keepalive_seconds: float = 15.0
    event_streams_per_token: int = 5
    shutdown_timeout_seconds: float = 10.0
    header_timeout_seconds: float = 10.0
    #: Where people reach the exchange; every link the exchange hands out starts with it (never with a Host header).
    public_base_url: str = "http://127.0.0.1:8000"

    @property
    def uses_postgres(self) -> bool:
        """True when ``database_url`` points at PostgreSQL."""
        return is_postgres_url(self.database_url)

    def public_url(self, path: str) -> str:
        """The absolute URL of ``path`` (``/passwort/…``) on ``public_base_url``."""
        return self.public_base_url + path


def is_postgres_url(url: str) -> bool:
    """Tell a PostgreSQL URL from a SQLite one."""
    return url.startswith(("postgres://", "postgresql://"))


def _secret_from_var_dir() -> str:
    # Development convenience: a stable secret without configuration, never committed, never logged.
    path = VAR_DIR / "secret"
    if path.exists():
        return path.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value)
    path.chmod(0o600)
    return value


def _log_format(value: str) -> Literal["console", "json"]:
    if value not in ("console", "json"):
        raise ValueError(f"LOG_FORMAT must be 'console' or 'json', not {value!r}")
    return "json" if value == "json" else "console"


def _fee_percent(value: str) -> str:
    from marketplace.settlement.pricing import parse_percent

    parse_percent(value)  # refuse to start with a fee that no run could use
    return value


def _positive(name: str, value: str) -> float:
    number = float(value)
    if not number > 0:
        raise ValueError(f"{name} must be greater than 0, not {value!r}")
    return number


#: A base URL: http(s), a host name or [IPv6 address], an optional port, nothing after it but an optional slash.
_BASE_URL = re.compile(r"https?://([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(:(?P<port>\d{1,5}))?/?")


def public_base_url(value: str) -> str:
    """``PUBLIC_BASE_URL`` checked (a path, query, user or odd character refuses to start), without a final ``/``."""
    found = _BASE_URL.fullmatch(value)
    if found is None or not 0 < int(found["port"] or 80) < 65536:
        raise ValueError(f"PUBLIC_BASE_URL must look like https://austausch.example or http://host:8000, not {value!r}")
    return value.rstrip("/")


#: Addresses that listen everywhere; the default base URL reaches them through the loopback address.
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}  # noqa: S104 - looked up, never bound


def _default_base_url(env: dict[str, str]) -> str:
    # Where `make run` / `marketplace serve` listen: right for development, never for a public service.
    host = env.get("HOST") or "127.0.0.1"
    host = _WILDCARDS.get(host, f"[{host}]" if ":" in host else host)
    return f"http://{host}:{env.get('PORT') or '8000'}"


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read the settings from ``environ`` (default: the process environment)."""
    env = dict(os.environ if environ is None else environ)
    return Settings(
        database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        redis_url=env.get("REDIS_URL") or None,
        secret=env.get("MARKETPLACE_SECRET") or _secret_from_var_dir(),
        log_format=_log_format(env.get("LOG_FORMAT", "console")),
        log_level=env.get("LOG_LEVEL", "INFO").upper(),
        ledger_dir=env.get("LEDGER_DIR") or str(VAR_DIR / "ledger"),
        coop_code=env.get("COOP_MEMBER_CODE", "KOPIT"),
        rate_limit_per_minute=int(env.get("RATE_LIMIT_PER_MINUTE", "600")),
        max_body_bytes=int(env.get("MAX_BODY_BYTES", "1048576")),
        database_pool_size=int(env.get("DATABASE_POOL_SIZE", "10")),
        request_expiry_days=int(env.get("REQUEST_EXPIRY_DAYS", "14")),
        maintenance_interval_seconds=float(env.get("MAINTENANCE_INTERVAL_SECONDS", "60")),
        redis_timeout_seconds=float(env.get("REDIS_TIMEOUT_SECONDS", "0.2")),
        health_timeout_seconds=float(env.get("HEALTH_TIMEOUT_SECONDS", "2")),
        redis_breaker_seconds=float(env.get("REDIS_BREAKER_SECONDS", "5")),
        debug=env.get("MARKETPLACE_DEBUG", "") == "1",
        settlement_fee_percent=_fee_percent(env.get("SETTLEMENT_FEE_PERCENT", "0")),
        settlement_queue=env.get("SETTLEMENT_QUEUE") or "settlement",
        worker_concurrency=int(_positive("WORKER_CONCURRENCY", env.get("WORKER_CONCURRENCY", "2"))),
        settlement_heartbeat_seconds=_positive(
            "SETTLEMENT_HEARTBEAT_SECONDS", env.get("SETTLEMENT_HEARTBEAT_SECONDS", "5")
        ),
        settlement_stale_seconds=_positive("SETTLEMENT_STALE_SECONDS", env.get("SETTLEMENT_STALE_SECONDS", "60")),
        settlement_recovery_seconds=_positive(
            "SETTLEMENT_RECOVERY_SECONDS", env.get("SETTLEMENT_RECOVERY_SECONDS", "30")
        ),
        event_keepalive_seconds=_positive("EVENT_KEEPALIVE_SECONDS", env.get("EVENT_KEEPALIVE_SECONDS", "15")),
        event_streams_per_token=int(_positive("EVENT_STREAMS_PER_TOKEN", env.get("EVENT_STREAMS_PER_TOKEN", "5"))),
        shutdown_timeout_seconds=_positive("SHUTDOWN_TIMEOUT_SECONDS", env.get("SHUTDOWN_TIMEOUT_SECONDS", "10")),
        header_timeout_seconds=_positive("HEADER_TIMEOUT_SECONDS", env.get("HEADER_TIMEOUT_SECONDS", "10")),
        public_base_url=public_base_url(env.get("PUBLIC_BASE_URL") or _default_base_url(env)),
    )
