"""GET /api/health: is the database reachable, which broker mode, how far the log is."""

from __future__ import annotations

from flask import Blueprint

from app.context import services
from app.http import respond

blueprint = Blueprint("health", __name__)


@blueprint.get("/health")
def health():  # noqa: ANN201
    lineage = services()
    report: dict[str, object] = {"status": "ok"}
    try:
        report["database"] = {"state": "ok", "backend": lineage.engine.dialect.name,
                              "head_position": lineage.store.head().position}
    except Exception as exc:  # noqa: BLE001 - report any database failure, do not raise
        report["database"] = {"state": "unavailable", "error": exc.__class__.__name__}
        report["status"] = "degraded"
    broker = lineage.settings.broker_url
    if broker is None:
        report["broker"] = {"state": "ok", "mode": "embedded"}
    else:
        report["broker"] = broker_health(lineage)
        if report["broker"]["state"] != "ok":
            report["status"] = "degraded"
    return respond(report, 200 if report["status"] == "ok" else 503)


def broker_health(lineage) -> dict[str, object]:  # noqa: ANN001
    """Checks RabbitMQ with a short-lived connection (workers/broker.py owns the details)."""
    try:
        from workers.broker import ping_broker
    except ImportError:
        return {"state": "unknown", "mode": "rabbitmq"}
    ok, detail = ping_broker(lineage.settings.broker_url)
    return {"state": "ok" if ok else "unavailable", "mode": "rabbitmq", "detail": detail}
