"""What the read-side views share: query schemas, ``?min_position=`` waits (read your
own writes), ``?as_of=`` times, and responses that say how far the projections lag."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from flask import Response, current_app
from marshmallow import RAISE, Schema, fields, validate

from app.auth import current_principal
from app.context import services
from app.cursors import MAX_POSITION
from app.http import query_args, respond, shared_schema
from app.user_names import with_names
from commands.membership import project_of_asset, require_asset_member, require_member
from commands.state import parse_id
from commands.users import Principal
from projections import queries
from projections.access import project_of, user_names
from projections.registry import ACCESS, SEARCH, TREE, make_runner
from projections.runner import ProjectionRunner
from rules.access import VIEWER

MIN_POSITION_WAIT_SECONDS = 2.0
_RUNNER_KEY = "lineage.projection_runner"
_SPACED_OFFSET = re.compile(r"(?<=\d) (\d\d:?\d\d)$")


class UtcDateTime(fields.DateTime):
    """An ISO 8601 time; one without an offset is taken as UTC."""

    def _deserialize(self, value, attr, data, **kwargs):  # noqa: ANN001, ANN202
        if isinstance(value, str):
            # An unescaped "+01:00" in a query string arrives as " 01:00".
            value = _SPACED_OFFSET.sub(r"+\1", value.strip())
        moment = super()._deserialize(value, attr, data, **kwargs)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class ReadQuery(Schema):
    """Query parameters every read view accepts; unknown parameters are refused."""

    class Meta:
        unknown = RAISE

    min_position = fields.Integer(load_default=None, validate=validate.Range(0, MAX_POSITION))


class AsOfQuery(ReadQuery):
    as_of = UtcDateTime(load_default=None)


def read_args(schema: type[Schema]) -> dict[str, Any]:
    """The query string loaded through the one shared instance of ``schema`` (building
    a schema per request cost more than loading the few parameters through it)."""
    return query_args(shared_schema(schema))


@dataclasses.dataclass(frozen=True)
class Freshness:
    """How far the projections a view read had got: ``behind`` events of the head."""

    position: int
    head: int

    @property
    def behind(self) -> int:
        return max(self.head - self.position, 0)

    def as_dict(self) -> dict[str, int]:
        return {"position": self.position, "head": self.head, "behind": self.behind}


def runner() -> ProjectionRunner:
    """This app's projection runner (created on first use, shared by its threads)."""
    found = current_app.extensions.get(_RUNNER_KEY)
    if found is None:
        found = current_app.extensions[_RUNNER_KEY] = make_runner(services().engine)
    return found


def wait_for_projections(names: Iterable[str], min_position: int | None,
                         as_of: datetime | None = None) -> Freshness:
    """Catch the named projections up to ``min_position`` (bounded wait), then report
    where they are. Without ``min_position`` nothing waits. An ``as_of`` moment implies
    the position of the last event recorded by then, so past answers are complete."""
    names = list(names)
    if as_of is not None:
        min_position = max(min_position or 0, queries.position_at(services().engine, as_of))
    projections = runner()
    # The head is read once, before any wait: the answer says how far behind the log
    # (as the request found it) the projections were.
    head = services().store.head().position
    if min_position is not None:
        # A write's position is committed before its response leaves, so nothing past
        # the head can be the caller's own write: never wait for it.
        reached = projections.wait_for(min(min_position, head), names,
                                       MIN_POSITION_WAIT_SECONDS)
    else:
        reached = min(projections.positions(names).values())
    # A projection that caught up past that head (while waiting) shows the head it saw.
    return Freshness(reached, max(head, reached))


def caught_up(names: Iterable[str]) -> Freshness:
    """Catch the named projections up to the log's head as this request found it
    (bounded wait): a list read from them then holds the caller's own writes, as the
    write side's answer did."""
    return wait_for_projections(names, MAX_POSITION)


def project_as_member(principal: Principal, project_id: str, needed: str = VIEWER,
                      ) -> tuple[dict[str, Any], int]:
    """The project as ``principal`` sees it (with ``your_role``) and its stream version,
    from the access read model caught up with the log. NotFound for non-members,
    Forbidden below ``needed``, decided immediately (commands/membership.py)."""
    lineage = services()
    role = require_member(lineage.store, principal, project_id, needed=needed)
    caught_up(ACCESS)
    body, version = project_of(lineage.engine, project_id)
    return {**body, "your_role": role}, version


def read_named(body: Any) -> Any:  # noqa: ANN401 - any JSON body
    """``body`` with people's names beside their ids, from the access projection."""
    engine = services().engine
    return with_names(body, lambda ids: user_names(engine, ids))


def read_response(body: Any, freshness: Freshness) -> Response:
    """JSON with a ``projection`` member and ``Lineage-Projection-*`` headers."""
    if isinstance(body, dict):
        body = {**body, "projection": freshness.as_dict()}
    response = respond(body)
    response.headers["Lineage-Projection-Position"] = str(freshness.position)
    response.headers["Lineage-Projection-Behind"] = str(freshness.behind)
    return response


def asset_view_as_of(asset_id: str, answer: Callable[..., dict]) -> Response:
    """An asset's read model now or ``?as_of=`` (tree, review state): members only (404
    otherwise), waiting for ``?min_position=``; ``answer(engine, asset_id, as_of,
    removed)``, ``removed`` the channels the project had removed then (their approvals
    do not stand: rules/approvals.py), from the access projection."""
    lineage = services()
    asset_id = parse_id(asset_id, "asset")
    args = read_args(AsOfQuery)
    project_id = require_asset_member(lineage.store, current_principal(), asset_id)
    # As-of answers read the asset's tags from the catalog's tag history; people's names
    # come from the access projection.
    names = (*TREE, "access") if args["as_of"] is None else (*TREE, *SEARCH, "access")
    freshness = wait_for_projections(names, args["min_position"], args["as_of"])
    removed = queries.removed_channels(lineage.engine, project_id, args["as_of"])
    body = read_named(answer(lineage.engine, asset_id, args["as_of"], removed))
    if args["as_of"] is not None:
        body["as_of"] = args["as_of"].isoformat()
    return read_response(body, freshness)


def removed_channels(asset_id: str, as_of: datetime | None = None) -> frozenset[str]:
    """The channels the asset's project had removed now (or at ``as_of``), as the access
    projection has them: the caller has checked who may see the asset, and waited for
    :data:`~projections.registry.ACCESS` along with what else it reads."""
    lineage = services()
    return queries.removed_channels(lineage.engine, project_of_asset(lineage.store, asset_id),
                                    as_of)
