"""``lineage serve``: the embedded default in one process (SQLite, in-process workers)."""

from __future__ import annotations

import argparse
import os
import signal
import threading
from pathlib import Path

from werkzeug.serving import make_server

from app import create_app
from app.config import Settings
from app.heap import freeze_startup_heap
from app.runtime import start_background, stop_background
from app.services import Services, build_services
from commands.signin import LINK_MINUTES, issue_signin_link
from commands.users import IssuedToken, any_user_exists, create_user
from events.migrate import upgrade


def register(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help="start the Lineage server")
    serve.add_argument("--host", default=os.environ.get("LINEAGE_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("LINEAGE_PORT", "8000")))
    serve.set_defaults(func=_serve)


def bootstrap(services: Services) -> IssuedToken | None:
    """Migrate an embedded database and create the first admin on an empty one.

    Returns the admin's token (shown once) when one was created.
    """
    if services.engine.dialect.name == "sqlite":
        upgrade(services.engine)
    if any_user_exists(services.store):
        return None
    _, token = create_user(services.store, "admin", is_admin=True)
    path = services.settings.data_dir / "admin-token"
    _write_secret(path, token.token)
    return token


def studio_address(host: str, port: int) -> str:
    """The studio's address as a browser on this machine reaches it."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _write_secret(path: Path, secret: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    os.chmod(path, 0o600)


def _serve(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    services = build_services(settings)
    token = bootstrap(services)
    address = studio_address(args.host, args.port)
    if token:
        print(f"Created the first admin. Token (shown once, also in "
              f"{settings.data_dir / 'admin-token'}):\n  {token.token}")
        code = issue_signin_link(services.store, token.user_id, actor_id=token.user_id)
        print(f"Open the studio (a one-time sign-in link, valid {LINK_MINUTES} minutes):\n"
              f"  {address}/signin?code={code}")
    app = create_app(services=services)
    freeze_startup_heap()
    parts = start_background(services)
    server = make_server(args.host, args.port, app, threaded=True)
    mode = "RabbitMQ " + _redacted(settings.broker_url) if settings.broker_url else (
        "embedded workers")
    print(f"Lineage on {address}/ (studio) and {address}/api ({settings.database_url}, {mode})",
          flush=True)
    # A process manager stops services with SIGTERM: shut down as cleanly as on Ctrl-C,
    # letting running jobs finish and the relay and projection runner stop.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop_background(parts)
        services.close()
    return 0


def _redacted(url: str) -> str:
    """The broker URL without its password, for printing."""
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
