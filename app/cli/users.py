"""``lineage users create NAME [--admin]`` and ``lineage tokens revoke TOKEN_ID``."""

from __future__ import annotations

import argparse

from app.config import Settings
from app.services import build_services
from commands.people import create_user, revoke_token


def register(sub: argparse._SubParsersAction) -> None:
    users = sub.add_parser("users", help="people and their API tokens")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    create = users_sub.add_parser("create", help="create a user and print their token once")
    create.add_argument("name")
    create.add_argument("--admin", action="store_true", help="may administer every project")
    create.set_defaults(func=_create)
    tokens = sub.add_parser("tokens", help="API tokens")
    tokens_sub = tokens.add_subparsers(dest="tokens_command", required=True)
    revoke = tokens_sub.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("token_id")
    revoke.add_argument("--reason", default="revoked from the command line")
    revoke.set_defaults(func=_revoke)


def _create(args: argparse.Namespace) -> int:
    services = build_services(Settings.from_env())
    user, token = create_user(services.store, args.name, is_admin=args.admin)
    print(f"user {user.user_id} ({user.name}{', admin' if user.is_admin else ''})")
    print(f"token (shown once): {token.token}")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    services = build_services(Settings.from_env())
    revoke_token(services.store, args.token_id, actor_id="cli", reason=args.reason)
    print(f"token {args.token_id} revoked")
    return 0
