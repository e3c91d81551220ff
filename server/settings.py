"""Settings: read once from environment variables into one frozen object.

Every variable is listed in `docs/configuration.md`. Nothing here runs at import time; the CLI
and the tests call `load_settings(os.environ)` (or pass their own mapping).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path

from server.security_settings import security_problem


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class SettingsError(ValueError):
    """A variable that is missing, malformed or unsafe for the environment."""


# 32+ characters: shorter HMAC keys make pyjwt warn, and development signs tokens with it.
_PLACEHOLDER_SECRET = "development-only-insecure-key-0000"  # noqa: S105 - refused outside dev

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Settings:
    env: Environment = Environment.PRODUCTION
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("var")
    secret_key: str = field(default=_PLACEHOLDER_SECRET, repr=False)
    log_level: str = "info"
    sentry_dsn: str = field(default="", repr=False)  # SENTRY_DSN; empty: no error reporting
    store: str = "sql"  # "memory" keeps documents in the process only: benchmarks' baseline
    database_url: str = ""  # DATABASE_URL; empty means the SQLite file under data_dir
    database_pool_size: int = 10
    db_statement_timeout_ms: int = 15_000  # Postgres cancels longer statements; 0: no limit
    redis_url: str = ""  # REDIS_URL; empty means one process, no fan-out
    redis_prefix: str = "storyarn"  # keys and channels; one per deployment (and per test run)
    redis_stream_max_len: int = 10_000  # updates kept per room stream (approximate trim)
    redis_stream_max_age_seconds: float = 3600.0
    instance_id: str = ""  # empty: host-pid-random, new at every start
    admin_users: str = ""  # comma-separated user ids allowed on /api/v1/ops
    # websocket transport
    ws_per_message_deflate: bool = False  # costs ~8x on small Yjs frames (notes/performance.md)
    ws_ping_interval: float = 20.0
    ws_ping_timeout: float = 20.0
    # rooms
    room_grace_seconds: float = 10.0
    keepalive_seconds: float = 15.0  # stock y-websocket drops a socket silent for 30 s
    # limits
    max_frame_bytes: int = 16 * MiB
    max_doc_bytes: int = 64 * MiB
    max_awareness_bytes: int = 64 * 1024
    updates_per_second: float = 300.0
    update_burst: int = 3000
    bytes_per_second: float = 4.0 * MiB
    bytes_burst: int = 32 * MiB
    awareness_per_second: float = 60.0
    awareness_burst: int = 600
    send_queue_frames: int = 4096
    send_queue_bytes: int = 64 * MiB
    # durability
    compact_rows: int = 1000
    compact_bytes: int = 4 * MiB
    split_above_bytes: int = 512 * 1024  # larger stored updates load in pieces (doc_loading.py)
    max_pending_bytes: int = 16 * MiB  # uncommitted changes held while the database is down
    commit_retry_max_seconds: float = 5.0
    auto_version_quiet_seconds: float = 30.0  # 0 turns automatic versions off
    auto_version_interval_seconds: float = 600.0
    shutdown_seconds: float = 20.0  # how long shutdown waits for pending commits
    # blob storage: assets, thumbnails, exports (docs/configuration.md#blob-storage)
    s3_bucket: str = ""  # empty: blobs are files under data_dir/blobs
    s3_endpoint_url: str = ""  # empty: AWS; R2 is https://<account>.r2.cloudflarestorage.com
    s3_region: str = ""  # empty: boto3's default (AWS_REGION); R2 takes "auto"
    blob_url_ttl_seconds: int = 300  # how long a presigned download URL stays valid
    max_asset_bytes: int = 50 * MiB
    max_image_pixels: int = 50_000_000  # larger images are refused before they are decoded
    # background work: exports and cleanup (docs/configuration.md#background-work)
    task_attempts: int = 3  # tries of a task before its job fails
    worker_metrics_port: int = 0  # `storyarn worker` serves /metrics here; 0: not served
    task_redelivery_seconds: float = 600.0  # Redis: a task a dead worker held runs again
    cleanup_interval_seconds: float = 3600.0  # 0: no scheduled cleanup
    job_result_retention_seconds: float = 7 * 86400.0  # export files kept this long
    job_stale_seconds: float = 3600.0  # a job silent this long is failed as stalled
    auto_version_retention_seconds: float = 30 * 86400.0  # 0: keep automatic versions
    compact_idle_seconds: float = 3600.0  # fold logs idle this long into snapshots; 0: off
    # relational projections (docs/database.md)
    projection_debounce_seconds: float = 0.25  # commits within it share one projection
    # tokens, origins, proxies, rate limits (docs/security.md)
    jwt_kid: str = "primary"  # the `kid` of STORYARN_SECRET_KEY in the tokens we issue
    jwt_jwks: str = field(default="", repr=False)  # more verification keys: a JWKS (JSON)
    jwt_leeway_seconds: float = 30.0
    jwt_issuer: str = ""  # when set, tokens must carry this `iss` (and ours do)
    jwt_audience: str = ""  # when set, tokens must carry this `aud` (and ours do)
    token_ttl_seconds: int = 3600  # `storyarn token issue` without --ttl
    allowed_origins: str = ""  # websocket Origins beside the server's own; comma-separated
    cors_origins: str = ""  # origins allowed to call /api from a browser; comma-separated
    trusted_proxies: str = ""  # addresses/CIDRs whose X-Forwarded-For/-Proto we believe
    https_redirect: bool = False  # send plain-HTTP requests to https:// (behind a proxy)
    hsts_seconds: int = 31536000  # Strict-Transport-Security max-age on HTTPS; 0 omits it
    content_security_policy: str = ""  # empty: the built-in policy for the web app
    connect_rate_per_address: float = 20.0  # websocket attempts a second; 0 turns it off
    connect_burst_per_address: int = 200
    connect_rate_per_user: float = 5.0
    connect_burst_per_user: int = 60
    api_rate_per_address: float = 20.0  # REST requests with a token, a second; 0: off
    api_burst_per_address: int = 200
    api_rate_per_user: float = 10.0
    api_burst_per_user: int = 100
    max_connections_per_user: int = 100  # open websockets per user per instance; 0: no limit
    access_poll_seconds: float = 0.5  # how often membership changes are read back; 0: never

    @property
    def is_development(self) -> bool:
        return self.env is Environment.DEVELOPMENT

    @property
    def admins(self) -> frozenset[str]:
        return frozenset(u.strip() for u in self.admin_users.split(",") if u.strip())

    @property
    def ws_max_size(self) -> int:
        # The transport's own cap sits above ours so that an oversized frame normally meets our
        # 4413 close, not the transport's bare 1009; past it the transport still protects memory.
        return self.max_frame_bytes + 1 * MiB


# The conventional names platforms set for us; everything else is ours, prefixed.
_UNPREFIXED = {
    "database_url": "DATABASE_URL",
    "redis_url": "REDIS_URL",
    "sentry_dsn": "SENTRY_DSN",
}
_ENV_NAMES = {
    f.name: _UNPREFIXED.get(f.name, f"STORYARN_{f.name.upper()}") for f in fields(Settings)
}


def _parse(name: str, raw: str, default: object) -> object:
    try:
        if isinstance(default, bool):
            lowered = raw.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if isinstance(default, Environment):
            return Environment(raw.strip().lower())
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, Path):
            return Path(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not a valid value") from exc
    return raw


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Build settings from `STORYARN_*` variables; refuse unsafe ones outside development."""
    values: dict[str, object] = {}
    defaults = Settings()
    for f in fields(Settings):
        env_name = _ENV_NAMES[f.name]
        if env_name in environ:
            values[f.name] = _parse(env_name, environ[env_name], getattr(defaults, f.name))
    settings = Settings(**values)  # type: ignore[arg-type]
    _validate(settings)
    return settings


def _validate(settings: Settings) -> None:
    for name in (
        "max_frame_bytes",
        "max_doc_bytes",
        "send_queue_frames",
        "send_queue_bytes",
        "split_above_bytes",
        "max_asset_bytes",
        "max_image_pixels",
    ):
        if getattr(settings, name) <= 0:
            raise SettingsError(f"{_ENV_NAMES[name]} must be positive")
    # The tick runs every third of the period, so silence can last 4/3 of it: stay clear of
    # the stock client's 30-second watchdog.
    if not 0 < settings.keepalive_seconds <= 20:
        raise SettingsError("STORYARN_KEEPALIVE_SECONDS must be above 0 and at most 20")
    if settings.bytes_burst < settings.max_frame_bytes:
        raise SettingsError(
            "STORYARN_BYTES_BURST must be at least STORYARN_MAX_FRAME_BYTES, "
            "or a frame of the maximum size could never pass the rate limit"
        )
    if not 0 <= settings.projection_debounce_seconds <= 60:
        raise SettingsError("STORYARN_PROJECTION_DEBOUNCE_SECONDS must be between 0 and 60")
    if not 1 <= settings.blob_url_ttl_seconds <= 7 * 24 * 3600:
        raise SettingsError("STORYARN_BLOB_URL_TTL_SECONDS must be between 1 and 604800 (S3's cap)")
    if settings.task_attempts < 1:
        raise SettingsError("STORYARN_TASK_ATTEMPTS must be 1 or more")
    for name in (
        "cleanup_interval_seconds",
        "job_result_retention_seconds",
        "auto_version_retention_seconds",
        "compact_idle_seconds",
    ):
        if getattr(settings, name) < 0:
            raise SettingsError(f"{_ENV_NAMES[name]} must be 0 or more")
    if settings.job_stale_seconds <= 0 or settings.task_redelivery_seconds <= 0:
        raise SettingsError(
            "STORYARN_JOB_STALE_SECONDS and STORYARN_TASK_REDELIVERY_SECONDS must be positive"
        )
    if settings.db_statement_timeout_ms < 0:
        raise SettingsError("STORYARN_DB_STATEMENT_TIMEOUT_MS must be 0 (no limit) or more")
    if settings.store not in ("sql", "memory"):
        raise SettingsError("STORYARN_STORE must be sql or memory")
    if settings.store == "memory" and settings.env is Environment.PRODUCTION:
        raise SettingsError("STORYARN_STORE=memory loses every document on exit: not in production")
    problem = security_problem(settings)  # tokens, origins, proxies, limits
    if problem:
        raise SettingsError(problem)
    if settings.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise SettingsError("STORYARN_LOG_LEVEL must be debug, info, warning, error or critical")
    if settings.env is not Environment.DEVELOPMENT and (
        settings.secret_key == _PLACEHOLDER_SECRET or len(settings.secret_key) < 32
    ):
        raise SettingsError(
            "STORYARN_SECRET_KEY must be set to a random value of at least 32 characters "
            f"when STORYARN_ENV={settings.env.value}"
        )
