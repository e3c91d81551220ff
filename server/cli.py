"""The `storyarn` command: `serve` runs the ASGI app under uvicorn; `worker` runs background
tasks from Redis (`server/cli_worker.py`); `db`, `project`, `member`,
`token` and `workspace` administer the database (identity commands: `server/cli_identity.py`);
`projections rebuild` recomputes the projection tables (`server/cli_projections.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
from collections.abc import Sequence

import uvicorn

from persistence.engine import create_engine, sqlite_url
from persistence.migrate import current_revision, upgrade
from server import backup, cli_identity, cli_projections, cli_worker
from server.app import create_app
from server.error_reporting import init_error_reporting
from server.logging import configure_logging
from server.settings import Settings, SettingsError, load_settings
from server.supervisor import reuse_port_socket, supervise


def uvicorn_config(settings: Settings, host: str, port: int, app: object) -> uvicorn.Config:
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=host,
        port=port,
        ws="websockets-sansio",  # the fastest implementation here (notes/performance.md)
        ws_max_size=settings.ws_max_size,
        ws_per_message_deflate=settings.ws_per_message_deflate,
        ws_ping_interval=settings.ws_ping_interval,
        ws_ping_timeout=settings.ws_ping_timeout,
        log_config=None,  # our logging set-up owns every logger
        lifespan="on",
        server_header=False,
        proxy_headers=False,  # the app trusts only STORYARN_TRUSTED_PROXIES (http_security.py)
        # Without a bound, one peer that never finishes its closing handshake holds the whole
        # shutdown; after it, the lifespan still commits and snapshots every room.
        timeout_graceful_shutdown=max(1, int(settings.shutdown_seconds)),
    )


def raise_descriptor_limit() -> int:
    """Lift the soft limit on open files to the hard one and return it.

    Every websocket holds a descriptor, and the usual soft limit (1,024) would cap a process at
    about a thousand clients long before memory or CPU does.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            return soft
        return target
    return soft


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    raise_descriptor_limit()
    host = args.host or settings.host
    port = args.port or settings.port
    if args.workers < 1:
        print("storyarn serve --workers takes a number of processes, 1 or more", file=sys.stderr)
        return 2
    if settings.is_development and not args.reuse_port:  # once, not in every worker
        cli_identity.print_development_token(settings)
    if args.workers > 1:
        problem = _multi_process_problem(settings)
        if problem:
            print(f"storyarn serve --workers {args.workers}: {problem}", file=sys.stderr)
            return 2
        configure_logging(settings)
        init_error_reporting(settings, component="supervisor")
        return supervise(args.workers, host, port)
    configure_logging(settings)
    init_error_reporting(settings)  # before the app serves: the SDK hooks into Starlette
    server = uvicorn.Server(uvicorn_config(settings, host, port, create_app(settings)))
    if args.reuse_port:
        server.run(sockets=[reuse_port_socket(host, port)])
    else:
        server.run()
    return 0


def _multi_process_problem(settings: Settings) -> str | None:
    if not settings.redis_url:
        return "processes share rooms through Redis: set REDIS_URL"
    if not settings.database_url or settings.database_url.startswith("sqlite"):
        return "processes share one database: set DATABASE_URL to Postgres"
    return None


async def _db_upgrade(settings: Settings) -> int:
    engine = create_engine(settings.database_url or sqlite_url(settings.data_dir))
    try:
        await upgrade(engine)
        print(f"database at revision {await current_revision(engine)}")
    finally:
        await engine.dispose()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="storyarn", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the collaboration server")
    serve.add_argument("--host", default=None, help="address to bind (STORYARN_HOST)")
    serve.add_argument("--port", type=int, default=None, help="port to bind (STORYARN_PORT)")
    serve.add_argument("--workers", type=int, default=1, help="processes sharing rooms")
    # Set by the supervisor of --workers for each worker; not for operators.
    serve.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    db = commands.add_parser("db", help="database administration")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply every pending migration")
    cli_worker.add_command(commands)
    cli_identity.add_commands(commands)
    backup.add_commands(commands)
    cli_projections.add_commands(commands)
    args = parser.parse_args(argv)
    try:
        settings = load_settings(os.environ)
    except SettingsError as exc:
        print(f"storyarn: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        return _serve(args, settings)
    if args.command == "worker":
        return cli_worker.run(settings)
    if args.command == "db":
        return asyncio.run(_db_upgrade(settings))
    if args.command in cli_identity.COMMANDS:
        return cli_identity.run(args, settings)
    if args.command in ("backup", "restore"):
        return backup.run(args, settings)
    if args.command in cli_projections.COMMANDS:
        return cli_projections.run(args, settings)
    return 2  # pragma: no cover - argparse already refused unknown commands


if __name__ == "__main__":
    sys.exit(main())
