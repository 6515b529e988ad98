"""Import every domain event module so all types are registered before any read."""

from events import (  # noqa: F401
    assets,
    guests,
    jobs,
    models,
    projects,
    reviews,
    signin,
    templates,
    users,
)

STREAM_TYPES = ("user", "token", "project", "asset", "template", "job", "signin", "guestlink",
                "models")


def stream_id(stream_type: str, entity_id: str) -> str:
    """``asset`` + uuid → ``asset-<uuid>``: the stream of one entity."""
    return f"{stream_type}-{entity_id}"
