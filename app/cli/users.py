"""``lineage users create NAME [--admin]``, ``lineage users signin-link [USER_ID]`` and
``lineage tokens revoke TOKEN_ID``."""

from __future__ import annotations

import argparse
import os

from app.cli.serve import studio_address
from app.config import Settings
from app.services import build_services
from commands.signin import LINK_MINUTES, issue_signin_link
from commands.users import create_user, first_admin, revoke_token


def register(sub: argparse._SubParsersAction) -> None:
    users = sub.add_parser("users", help="users and their API tokens")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    create = users_sub.add_parser("create", help="create a user and print their token once")
    create.add_argument("name")
    create.add_argument("--admin", action="store_true", help="may administer every project")
    create.set_defaults(func=_create)
    link = users_sub.add_parser("signin-link", help="print a one-time link that opens the "
                                                   "studio signed in (default: the first admin)")
    link.add_argument("user_id", nargs="?", default=None)
    link.add_argument("--base-url", default=None,
                      help="the studio's address (default: from LINEAGE_HOST/LINEAGE_PORT)")
    link.set_defaults(func=_signin_link)
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


def _signin_link(args: argparse.Namespace) -> int:
    services = build_services(Settings.from_env())
    user_id = args.user_id or first_admin(services.store)
    if user_id is None:
        print("no user yet: `lineage serve` creates the first admin")
        return 2
    code = issue_signin_link(services.store, user_id, actor_id="cli")
    base = args.base_url or studio_address(os.environ.get("LINEAGE_HOST", "127.0.0.1"),
                                           int(os.environ.get("LINEAGE_PORT", "8000")))
    print(f"{base.rstrip('/')}/signin?code={code}  (one-time, valid {LINK_MINUTES} minutes)")
    return 0
