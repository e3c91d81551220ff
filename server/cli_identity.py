"""Identity administration from the command line (DESIGN.md §3), for operators and tests.

    storyarn project create NAME [--id ID] [--workspace WS] [--owner USER]   -> the project id
    storyarn member set PROJECT USER owner|editor|viewer
    storyarn member remove PROJECT USER
    storyarn token issue USER [--ttl SECONDS]                                 -> the token only
    storyarn workspace create NAME [--id ID]                                  -> the workspace id
    storyarn workspace member set WS USER owner|admin|member|viewer
    storyarn workspace member remove WS USER

Every change is written to the audit log with the actor `cli`. Running servers notice membership
changes within STORYARN_ACCESS_POLL_SECONDS (they read the audit log back) and close the sockets
of a member removed or downgraded with 4403.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.audit import AuditAction, AuditEvent, AuditLog
from persistence.engine import create_engine, sqlite_url
from persistence.identity import (
    Actor,
    IdentityError,
    IdentityStore,
    ProjectRole,
    WorkspaceRole,
)
from persistence.migrate import ensure_migrated, upgrade
from persistence.store import StoreError
from server.security_settings import token_issuer
from server.settings import Settings

COMMANDS = ("project", "member", "token", "workspace")
CLI_ACTOR = Actor("cli")
DEVELOPMENT_USER = "developer"
DEVELOPMENT_TOKEN_TTL = 7 * 24 * 3600


def add_commands(commands: Any) -> None:
    """Register the identity commands on `storyarn`'s sub-command parser."""
    project = commands.add_parser("project", help="projects").add_subparsers(
        dest="action", required=True
    )
    create = project.add_parser("create", help="create a project; prints its id")
    create.add_argument("name")
    create.add_argument("--id", dest="object_id", default=None, help="default: a new UUID")
    create.add_argument("--workspace", default=None, help="the workspace it belongs to")
    create.add_argument("--owner", default=None, help="a user to make its owner")

    member = commands.add_parser("member", help="project memberships").add_subparsers(
        dest="action", required=True
    )
    member_set = member.add_parser("set", help="give a user a role in a project")
    member_set.add_argument("project")
    member_set.add_argument("user")
    member_set.add_argument("role", choices=[r.value for r in ProjectRole])
    member_remove = member.add_parser("remove", help="remove a user from a project")
    member_remove.add_argument("project")
    member_remove.add_argument("user")

    token = commands.add_parser("token", help="tokens").add_subparsers(dest="action", required=True)
    issue = token.add_parser("issue", help="print a signed token for a user")
    issue.add_argument("user")
    issue.add_argument("--ttl", type=int, default=None, help="seconds; STORYARN_TOKEN_TTL_SECONDS")

    workspace = commands.add_parser("workspace", help="workspaces").add_subparsers(
        dest="action", required=True
    )
    ws_create = workspace.add_parser("create", help="create a workspace; prints its id")
    ws_create.add_argument("name")
    ws_create.add_argument("--id", dest="object_id", default=None, help="default: a new UUID")
    ws_member = workspace.add_parser("member", help="workspace memberships").add_subparsers(
        dest="member_action", required=True
    )
    ws_set = ws_member.add_parser("set", help="give a user a role in a workspace")
    ws_set.add_argument("workspace")
    ws_set.add_argument("user")
    ws_set.add_argument("role", choices=[r.value for r in WorkspaceRole])
    ws_remove = ws_member.add_parser("remove", help="remove a user from a workspace")
    ws_remove.add_argument("workspace")
    ws_remove.add_argument("user")


def run(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    engine = create_engine(settings.database_url or sqlite_url(settings.data_dir))
    try:
        if settings.is_development:
            await upgrade(engine)  # as `serve` does in development
        else:
            await ensure_migrated(engine)
        return await _dispatch(args, settings, engine)
    except (IdentityError, ValueError) as exc:
        print(f"storyarn {args.command}: {exc}", file=sys.stderr)
        return 1
    except StoreError as exc:
        print(f"storyarn {args.command}: {exc}", file=sys.stderr)
        return 2
    finally:
        await engine.dispose()


async def _dispatch(args: argparse.Namespace, settings: Settings, engine: AsyncEngine) -> int:
    identity = IdentityStore(engine)
    if args.command == "project":
        info = await identity.create_project(
            args.name, actor=CLI_ACTOR, project_id=args.object_id, workspace_id=args.workspace
        )
        if args.owner:
            await identity.set_member(info.id, args.owner, ProjectRole.OWNER, actor=CLI_ACTOR)
        print(info.id)
    elif args.command == "member" and args.action == "set":
        role = ProjectRole(args.role)
        previous = await identity.set_member(args.project, args.user, role, actor=CLI_ACTOR)
        was = f" (was {previous.value})" if previous else ""
        print(f"{args.user} is {role.value} in {args.project}{was}")
    elif args.command == "member":
        if await identity.remove_member(args.project, args.user, actor=CLI_ACTOR) is None:
            raise IdentityError(f"{args.user} is not a member of {args.project}")
        print(f"{args.user} removed from {args.project}")
    elif args.command == "token":
        ttl = settings.token_ttl_seconds if args.ttl is None else args.ttl
        token = token_issuer(settings).issue(args.user, ttl)
        event = AuditEvent(
            actor=CLI_ACTOR.name,
            action=AuditAction.TOKEN_ISSUE,
            target=args.user,
            detail=f"ttl={ttl}",
        )
        await AuditLog(engine).record(event)
        print(token)
    elif args.action == "create":
        print(
            await identity.create_workspace(args.name, actor=CLI_ACTOR, workspace_id=args.object_id)
        )
    elif args.member_action == "set":
        role_ws = WorkspaceRole(args.role)
        await identity.set_workspace_member(args.workspace, args.user, role_ws, actor=CLI_ACTOR)
        print(f"{args.user} is {role_ws.value} in workspace {args.workspace}")
    else:
        if not await identity.remove_workspace_member(args.workspace, args.user, actor=CLI_ACTOR):
            raise IdentityError(f"{args.user} is not a member of workspace {args.workspace}")
        print(f"{args.user} removed from workspace {args.workspace}")
    return 0


def print_development_token(settings: Settings) -> None:
    """Development only: a token to paste into a client, so JWTs can be tried at once."""
    token = token_issuer(settings).issue(DEVELOPMENT_USER, DEVELOPMENT_TOKEN_TTL)
    print(
        f"Development token for user {DEVELOPMENT_USER!r}, valid 7 days "
        f"(?token=... or Authorization: Bearer ...):\n{token}",
        flush=True,
    )
