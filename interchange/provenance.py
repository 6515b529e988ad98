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

import dataclasses
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from commands.asset_state import AssetState, CommentInfo, DecisionInfo, load_entity_asset
from commands.jobs import load_jobs
from commands.lineage_chain import ChainReader, is_source_step
from commands.users import Principal, user_names
from events.assets import VersionCreated
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
    asset, *_ = load_entity_asset(store, principal, version_id, "version", VIEWER)
    reader = ChainReader(store, [asset])
    chain = reader.chain(version_id)
    reviews = _reviews_of(chain, [reader.asset(asset_id) for asset_id in
                                  dict.fromkeys(v.asset_id for v in chain)])
    started = _jobs_started(store, chain)
    builder = _Builder(user_names(store, _people(chain, reviews.values())))
    for version in chain:
        builder.version(version, reader.created_at(version.version_id),
                        started.get(version.job_id), reviews[version.version_id])
    builder.document["entity"][_image(chain[-1].content_hash)]["lineage:requested"] = True
    return builder.finish()


@dataclasses.dataclass(frozen=True)
class _Reviews:
    """The comments, decisions and pin labels on one version, in recorded order."""

    comments: list[CommentInfo] = dataclasses.field(default_factory=list)
    decisions: list[DecisionInfo] = dataclasses.field(default_factory=list)
    pins: list[str] = dataclasses.field(default_factory=list)


def _reviews_of(chain: list[VersionCreated], assets: list[AssetState]) -> dict[str, _Reviews]:
    """The reviews of each version of the chain, by version id: each asset's comments,
    decisions and pins are sorted out once, not scanned again for every step."""
    reviews = {version.version_id: _Reviews() for version in chain}
    for asset in assets:
        for info in asset.comments.values():
            if info.event.version_id in reviews:
                reviews[info.event.version_id].comments.append(info)
        for info in asset.decisions.values():
            if info.event.version_id in reviews:
                reviews[info.event.version_id].decisions.append(info)
        for pin in asset.pins.values():
            if pin.event.version_id in reviews:
                reviews[pin.event.version_id].pins.append(pin.event.label)
    return reviews


def _people(chain: list[VersionCreated], reviews: Iterable[_Reviews]) -> set[str]:
    """Everyone the document names: the chain's authors, and the authors of comments on
    and reviewers of its versions (read together, not one stream per person)."""
    people = {version.author_id for version in chain}
    for on_version in reviews:
        people.update(info.event.author_id for info in on_version.comments)
        people.update(info.event.reviewer_id for info in on_version.decisions)
    return people


class _Builder:
    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.document: dict[str, Any] = {"prefix": dict(PREFIXES), "entity": {}, "activity": {},
                                         "agent": {}}
        self._ids = 0
        self._images: dict[str, str] = {}
        self.document["agent"][SOFTWARE] = {
            "prov:type": _qname("prov:SoftwareAgent"), "prov:label": "Lineage",
            "lineage:softwareVersion": SOFTWARE_VERSION}

    # -- records ----------------------------------------------------------------------

    def version(self, version: VersionCreated, created_at: datetime,
                started_at: datetime | None, reviews: _Reviews) -> None:
        image = _image(version.content_hash)
        entity = self.document["entity"].setdefault(image, {
            "prov:type": _qname("lineage:Image"), "lineage:contentHash": version.content_hash,
            "lineage:versionId": [], "lineage:assetId": version.asset_id,
            "lineage:width": version.width, "lineage:height": version.height,
            "lineage:tier": version.tier, "lineage:operation": version.operation})
        entity["lineage:versionId"].append(version.version_id)
        self._images[version.version_id] = image
        entity["prov:label"] = f"version {version.version_id}"
        promoted_from = version.recipe.get("promoted_from")
        if promoted_from:
            # A promotion re-made this draft step on the final tier's model.
            entity["lineage:promotedFrom"] = promoted_from
            entity["lineage:remadeFrom"] = version.derived_from
        elif version.derived_from:
            entity["lineage:rebakedFrom"] = version.derived_from
        if reviews.pins:
            entity["lineage:pins"] = json.dumps(sorted(reviews.pins))
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
            parent = self._images.get(parent_id)
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
        self.reviews(version, reviews, image)

    def reviews(self, version: VersionCreated, reviews: _Reviews, image: str) -> None:
        for info in reviews.comments:
            comment = info.event
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
        for info in reviews.decisions:
            decision = info.event
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
            self.document["agent"][key] = {"prov:type": _qname("prov:Person"),
                                           "prov:label": self.names.get(user_id, user_id),
                                           "lineage:userId": user_id}
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

    def finish(self) -> dict[str, Any]:
        for entity in self.document["entity"].values():
            ids = entity.get("lineage:versionId")
            if isinstance(ids, list) and len(ids) == 1:
                entity["lineage:versionId"] = ids[0]
        return self.document


def _jobs_started(store: EventStore, chain: list[VersionCreated]) -> dict[str, datetime]:
    """When the attempt that made each step started (its job's last JobStarted), by job
    id; the chain's jobs are read in one query. Jobs never started are left out."""
    jobs = load_jobs(store, [version.job_id for version in chain if version.job_id])
    started = {}
    for job_id, (_, _, history) in jobs.items():
        starts = [r.recorded_at for r in history if isinstance(r.event, JobStarted)]
        if starts:
            started[job_id] = starts[-1]
    return started


def _image(content_hash: str) -> str:
    return f"img:{content_hash}"


def _qname(name: str) -> dict[str, str]:
    return {"$": name, "type": "prov:QUALIFIED_NAME"}


def _time(moment: datetime | None) -> dict[str, str] | None:
    return {"$": moment.isoformat(), "type": "xsd:dateTime"} if moment else None


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
