"""A version's full lineage as W3C PROV-JSON (https://www.w3.org/submissions/prov-json/).

- entities: the images of the chain, identified by content hash (``img:<sha256>``), with
  their version ids, sizes, tiers and pins; masks; comments (``comment:<id>``);
- activities: the steps that made them (``step:<version id>``: operation, recipe and
  environment as JSON text, start and end time) and the review decisions
  (``decision:<id>``: decision, channel, role held, exact content hash, revocation);
- agents: the people (``user:<id>``), Lineage itself and each model, by weights hash,
  as software agents acting for the person who asked.

Read from the event store (the authority), so the document is complete even when a read
model lags. Pure apart from the loads in :func:`version_provenance`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from commands.asset_state import AssetState, load_asset, load_entity_asset
from commands.jobs import load_job
from commands.lineage_chain import ChainReader, is_source_step
from commands.users import Principal, get_user
from events.assets import VersionCreated
from events.errors import NotFound
from events.jobs import JobStarted
from events.store import EventStore
from rules.access import VIEWER

NAMESPACE = "https://lineage.invalid/ns#"
PREFIXES = {
    "lineage": NAMESPACE,
    "img": "urn:sha256:",
    "step": "urn:lineage:step:",
    "user": "urn:lineage:user:",
    "model": "urn:lineage:model:",
    "comment": "urn:lineage:comment:",
    "decision": "urn:lineage:decision:",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
SOFTWARE = "lineage:software"
SOFTWARE_VERSION = "0.1.0"


def version_provenance(store: EventStore, principal: Principal,
                       version_id: str) -> dict[str, Any]:
    """The PROV-JSON document of ``version_id``'s chain (viewer role).

    Raises NotFound for unknown versions and for callers outside the project.
    """
    load_entity_asset(store, principal, version_id, "version", VIEWER)
    reader = ChainReader(store)
    chain = reader.chain(version_id)
    assets = {v.asset_id: load_asset(store, v.asset_id)[0] for v in chain}
    builder = _Builder(store)
    for version in chain:
        builder.version(version, reader.created_at(version.version_id),
                        _job_started(store, version), assets[version.asset_id])
    builder.document["entity"][_image(chain[-1].content_hash)]["lineage:requested"] = True
    return builder.finish()


class _Builder:
    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.document: dict[str, Any] = {"prefix": dict(PREFIXES), "entity": {}, "activity": {},
                                         "agent": {}}
        self._ids = 0
        self._names: dict[str, str] = {}
        self.document["agent"][SOFTWARE] = {
            "prov:type": _qname("prov:SoftwareAgent"), "prov:label": "Lineage",
            "lineage:softwareVersion": SOFTWARE_VERSION}

    # -- records ----------------------------------------------------------------------

    def version(self, version: VersionCreated, created_at: datetime,
                started_at: datetime | None, asset: AssetState) -> None:
        image = _image(version.content_hash)
        entity = self.document["entity"].setdefault(image, {
            "prov:type": _qname("lineage:Image"), "lineage:contentHash": version.content_hash,
            "lineage:versionId": [], "lineage:assetId": version.asset_id,
            "lineage:width": version.width, "lineage:height": version.height,
            "lineage:tier": version.tier, "lineage:operation": version.operation})
        entity["lineage:versionId"].append(version.version_id)
        entity["prov:label"] = f"version {version.version_id}"
        promoted_from = version.recipe.get("promoted_from")
        if promoted_from:
            # A promotion re-made this draft step on the final tier's model.
            entity["lineage:promotedFrom"] = promoted_from
            entity["lineage:remadeFrom"] = version.derived_from
        elif version.derived_from:
            entity["lineage:rebakedFrom"] = version.derived_from
        pins = [info.event.label for info in asset.pins.values()
                if info.event.version_id == version.version_id]
        if pins:
            entity["lineage:pins"] = json.dumps(sorted(pins))
        step = f"step:{version.version_id}"
        activity: dict[str, Any] = {
            "prov:type": _qname(f"lineage:{version.operation}"),
            "prov:endTime": _time(created_at),
            "lineage:recipe": _json(version.recipe),
        }
        if started_at is not None:
            activity["prov:startTime"] = _time(started_at)
        if version.job_id:
            activity["lineage:jobId"] = version.job_id
            activity["lineage:computeSeconds"] = float(version.cost_seconds)
        environment = version.recipe.get("environment")
        if environment:
            activity["lineage:environment"] = _json(environment)
        if version.imported:
            activity["lineage:imported"] = _json(version.imported)
        if is_source_step(version):
            activity["lineage:rebuildable"] = False
        self.document["activity"][step] = activity
        person = self.person(version.author_id)
        self.relation("wasGeneratedBy", {"prov:entity": image, "prov:activity": step,
                                         "prov:time": _time(created_at)})
        self.relation("wasAttributedTo", {"prov:entity": image, "prov:agent": person})
        self.relation("wasAssociatedWith", {"prov:activity": step, "prov:agent": person})
        if not is_source_step(version):
            self.relation("wasAssociatedWith", {"prov:activity": step, "prov:agent": SOFTWARE})
            self.relation("actedOnBehalfOf", {"prov:delegate": SOFTWARE,
                                              "prov:responsible": person,
                                              "prov:activity": step})
            if version.recipe.get("model_weights_hash"):
                self.relation("wasAssociatedWith", {
                    "prov:activity": step, "prov:agent": self.model(version.recipe),
                    "prov:role": _qname("lineage:model")})
        for parent_id in version.parent_ids[:1]:
            parent = self._parent_entity(parent_id)
            if parent is not None:
                self.relation("used", {"prov:activity": step, "prov:entity": parent,
                                       "prov:role": _qname("lineage:input")})
                self.relation("wasDerivedFrom", {"prov:generatedEntity": image,
                                                 "prov:usedEntity": parent,
                                                 "prov:activity": step})
        mask = version.recipe.get("mask_hash")
        if mask:
            self.document["entity"].setdefault(_image(mask), {
                "prov:type": _qname("lineage:Mask"), "lineage:contentHash": mask})
            self.relation("used", {"prov:activity": step, "prov:entity": _image(mask),
                                   "prov:role": _qname("lineage:mask")})
        self.reviews(version, asset, image)

    def reviews(self, version: VersionCreated, asset: AssetState, image: str) -> None:
        for info in asset.comments.values():
            comment = info.event
            if comment.version_id != version.version_id:
                continue
            key = f"comment:{comment.comment_id}"
            record: dict[str, Any] = {
                "prov:type": _qname("lineage:Comment"), "lineage:body": comment.body,
                "lineage:about": version.version_id, "lineage:resolved": info.resolved,
                "lineage:createdAt": _time(info.created_at)}
            if comment.region:
                record["lineage:region"] = _json(comment.region)
            if comment.parent_comment_id:
                record["lineage:replyTo"] = comment.parent_comment_id
            self.document["entity"][key] = record
            self.relation("wasAttributedTo", {"prov:entity": key,
                                              "prov:agent": self.person(comment.author_id)})
            self.relation("wasInfluencedBy", {"prov:influencee": key, "prov:influencer": image})
        for info in asset.decisions.values():
            decision = info.event
            if decision.version_id != version.version_id:
                continue
            key = f"decision:{decision.decision_id}"
            record = {
                "prov:type": _qname("lineage:Decision"), "lineage:decision": decision.decision,
                "lineage:contentHash": decision.content_hash, "lineage:role": decision.role,
                "lineage:revoked": info.revoked is not None,
                "prov:startTime": _time(info.created_at), "prov:endTime": _time(info.created_at)}
            if decision.channel:
                record["lineage:channel"] = decision.channel
            if decision.note:
                record["lineage:note"] = decision.note
            if info.revoked is not None:
                record["lineage:revokedBy"] = info.revoked.revoked_by
                record["lineage:revokedAt"] = _time(info.revoked_at)
                record["lineage:revokedReason"] = info.revoked.reason
            self.document["activity"][key] = record
            reviewer = self.person(decision.reviewer_id)
            self.relation("used", {"prov:activity": key, "prov:entity": image,
                                   "prov:role": _qname("lineage:reviewed")})
            self.relation("wasAssociatedWith", {"prov:activity": key, "prov:agent": reviewer,
                                                "prov:role": _qname(f"lineage:{decision.role}")})

    # -- agents and helpers -----------------------------------------------------------

    def person(self, user_id: str) -> str:
        key = f"user:{user_id}"
        if key not in self.document["agent"]:
            try:
                name = get_user(self.store, user_id).name
            except NotFound:
                name = user_id
            self.document["agent"][key] = {"prov:type": _qname("prov:Person"),
                                           "prov:label": name, "lineage:userId": user_id}
        return key

    def model(self, recipe: dict[str, Any]) -> str:
        key = f"model:{recipe['model_weights_hash']}"
        self.document["agent"].setdefault(key, {
            "prov:type": _qname("prov:SoftwareAgent"),
            "prov:label": str(recipe.get("model_id", "model")),
            "lineage:weightsHash": recipe["model_weights_hash"]})
        return key

    def relation(self, kind: str, record: dict[str, Any]) -> None:
        self._ids += 1
        self.document.setdefault(kind, {})[f"_:{kind[0:3]}{self._ids}"] = record

    def _parent_entity(self, parent_id: str) -> str | None:
        for key, entity in self.document["entity"].items():
            if parent_id in entity.get("lineage:versionId", []):
                return key
        return None

    def finish(self) -> dict[str, Any]:
        for entity in self.document["entity"].values():
            ids = entity.get("lineage:versionId")
            if isinstance(ids, list) and len(ids) == 1:
                entity["lineage:versionId"] = ids[0]
        return self.document


def _job_started(store: EventStore, version: VersionCreated) -> datetime | None:
    """When the attempt that made the version started (the last JobStarted)."""
    if not version.job_id:
        return None
    try:
        _, _, history = load_job(store, version.job_id)
    except NotFound:
        return None
    starts = [r.recorded_at for r in history if isinstance(r.event, JobStarted)]
    return starts[-1] if starts else None


def _image(content_hash: str) -> str:
    return f"img:{content_hash}"


def _qname(name: str) -> dict[str, str]:
    return {"$": name, "type": "prov:QUALIFIED_NAME"}


def _time(moment: datetime | None) -> dict[str, str] | None:
    return {"$": moment.isoformat(), "type": "xsd:dateTime"} if moment else None


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
