"""Import every domain event module so all types are registered before any read."""

from events import assets, guests, jobs, people, projects, reviews, signin, templates  # noqa: F401

STREAM_TYPES = ("user", "token", "project", "asset", "template", "job", "signin", "guestlink")


def stream_id(stream_type: str, entity_id: str) -> str:
    """``asset`` + uuid → ``asset-<uuid>``: the stream of one entity."""
    return f"{stream_type}-{entity_id}"
