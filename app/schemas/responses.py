"""Shapes of the API's answers, for the OpenAPI document (views build the bodies in
commands/; tests/e2e/test_openapi_api.py checks real answers conform)."""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields


class Answer(Schema):
    """Answers may carry more fields than documented (e.g. ``position`` after writes)."""

    class Meta:
        unknown = INCLUDE

    position = fields.Integer(metadata={"description": "global position of the write; "
                                                       "read your own writes with it"})


PERSON_NAME = {"description": "the person's name (null for an unknown id)"}


class MemberOut(Answer):
    user_id = fields.String(required=True)
    name = fields.String(required=True, allow_none=True,
                         metadata={"description": "the member's name"})
    role = fields.String(required=True)


class ChannelOut(Answer):
    name = fields.String(required=True)
    min_width = fields.Integer(required=True)
    min_height = fields.Integer(required=True)


class PoliciesOut(Answer):
    min_drafts_before_final = fields.Integer(allow_none=True)
    final_render_cap = fields.Integer(allow_none=True)
    compute_budget_seconds = fields.Float(allow_none=True)
    draft_price_per_compute_second = fields.Float(allow_none=True)
    final_price_per_compute_second = fields.Float(allow_none=True)
    price_currency = fields.String(allow_none=True)


class ProjectOut(Answer):
    project_id = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    created_at = fields.String(required=True, allow_none=True)
    your_role = fields.String(required=True)
    members = fields.List(fields.Nested(MemberOut), required=True)
    policies = fields.Nested(PoliciesOut, required=True)
    channels = fields.List(fields.Nested(ChannelOut), required=True)
    compute_used_seconds = fields.Float(required=True)
    version = fields.Integer(required=True, metadata={"description": "stream version (ETag)"})


class VersionSummaryOut(Answer):
    version_id = fields.String(required=True)
    parent_ids = fields.List(fields.String(), required=True)
    operation = fields.String(required=True)
    tier = fields.String(required=True)
    content_hash = fields.String(required=True)
    width = fields.Integer(required=True)
    height = fields.Integer(required=True)
    author_id = fields.String(required=True)
    author_name = fields.String(required=True, allow_none=True, metadata=PERSON_NAME)
    job_id = fields.String(required=True, allow_none=True)
    created_at = fields.String(required=True, allow_none=True)


class CommentOut(Answer):
    comment_id = fields.String(required=True)
    version_id = fields.String(required=True)
    author_id = fields.String(required=True)
    author_name = fields.String(required=True, allow_none=True, metadata=PERSON_NAME)
    body = fields.String(required=True)
    region = fields.Dict(required=True, allow_none=True)
    parent_comment_id = fields.String(required=True, allow_none=True)
    resolved = fields.Boolean(required=True)
    created_at = fields.String(required=True, allow_none=True)
    resolved_at = fields.String(required=True, allow_none=True)


class DecisionOut(Answer):
    decision_id = fields.String(required=True)
    version_id = fields.String(required=True)
    decision = fields.String(required=True)
    content_hash = fields.String(required=True, metadata={"description": "the exact pixels "
                                                                         "decided on"})
    channel = fields.String(required=True, allow_none=True)
    note = fields.String(required=True)
    reviewer_id = fields.String(required=True)
    reviewer_name = fields.String(required=True, allow_none=True, metadata=PERSON_NAME)
    role = fields.String(required=True,
                         metadata={"description": "the reviewer's role at the time"})
    created_at = fields.String(required=True, allow_none=True)
    revoked = fields.Boolean(required=True)
    revoked_by = fields.String(required=True, allow_none=True)
    revoked_by_name = fields.String(required=True, allow_none=True, metadata=PERSON_NAME)
    revoke_reason = fields.String(required=True, allow_none=True)
    revoked_at = fields.String(required=True, allow_none=True)


class PinOut(Answer):
    pin_id = fields.String(required=True)
    version_id = fields.String(required=True)
    label = fields.String(required=True)
    pinned_by = fields.String(required=True)
    pinned_by_name = fields.String(required=True, allow_none=True, metadata=PERSON_NAME)
    created_at = fields.String(required=True, allow_none=True)


class AssetOut(Answer):
    asset_id = fields.String(required=True)
    project_id = fields.String(required=True)
    name = fields.String(required=True)
    brief = fields.String(required=True)
    tags = fields.List(fields.String(), required=True)
    created_at = fields.String(required=True, allow_none=True)
    version = fields.Integer(required=True)
    as_of = fields.String(required=True, allow_none=True)
    counts = fields.Dict(required=True, keys=fields.String(), values=fields.Integer())
    versions = fields.List(fields.Nested(VersionSummaryOut), required=True)
    heads = fields.List(fields.String(), required=True)
    pins = fields.List(fields.Nested(PinOut), required=True)
    decisions = fields.List(fields.Nested(DecisionOut), required=True)


class VersionOut(VersionSummaryOut):
    asset_id = fields.String(required=True)
    project_id = fields.String(required=True)
    recipe = fields.Dict(required=True,
                         metadata={"description": "everything needed to re-make the bytes"})
    environment = fields.Dict(required=True, allow_none=True)
    children = fields.List(fields.String(), required=True)
    cost_seconds = fields.Float(required=True)
    note = fields.String(required=True)
    imported = fields.Dict(required=True, allow_none=True, metadata={
        "description": "generation metadata another tool embedded: tool, recipe, loras, "
                       "merged sources, warnings; rebuildable when its recipe can be "
                       "re-rendered where a local model has the weights its hash names "
                       "(rerender_blockers says why not)"})
    derived_from = fields.String(required=True, allow_none=True)
    comments = fields.List(fields.Nested(CommentOut), required=True)
    decisions = fields.List(fields.Nested(DecisionOut), required=True)
    pins = fields.List(fields.Nested(PinOut), required=True)


class UploadOut(VersionSummaryOut):
    asset_id = fields.String(required=True)
    note = fields.String(required=True)
    recipe = fields.Dict(required=True)
    imported = fields.Dict(required=True, allow_none=True)
    warnings = fields.List(fields.String(), required=True)


class JobOut(Answer):
    job_id = fields.String(required=True)
    status = fields.String(required=True)
    seed = fields.Integer(allow_none=True)
    operation = fields.String()
    recipe = fields.Dict()
    url = fields.String(required=True)
    steps = fields.List(fields.Dict(), metadata={
        "description": "a promotion's steps in order: operation, derived_from (the draft "
                       "step it re-makes) and recipe"})


class JobsOut(Answer):
    asset_id = fields.String(required=True)
    tier = fields.String()
    kind = fields.String()
    input_version_id = fields.String(allow_none=True)
    jobs = fields.List(fields.Nested(JobOut), required=True)


class TemplateOut(Answer):
    template_id = fields.String(required=True)
    project_id = fields.String(required=True)
    name = fields.String(required=True)
    prompt = fields.String(required=True)
    negative_prompt = fields.String(required=True)
    parameters = fields.Dict(required=True)
    variables = fields.List(fields.String(), required=True)
    version = fields.Integer(required=True)
    created_at = fields.String(required=True, allow_none=True)
    revised_at = fields.String(required=True, allow_none=True)


class PageOut(Answer):
    items = fields.List(fields.Dict(), required=True)
    next_cursor = fields.String(allow_none=True)


class TokenOut(Answer):
    token_id = fields.String(required=True)
    user_id = fields.String(required=True)
    token = fields.String(required=True, metadata={"description": "shown once"})


class UserOut(TokenOut):
    name = fields.String(required=True)
    is_admin = fields.Boolean(required=True)


class MeOut(Answer):
    user_id = fields.String(required=True)
    name = fields.String()
    is_admin = fields.Boolean()
    token_id = fields.String()


class SharedProjectOut(Answer):
    project_id = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True, metadata={"description": "the role they hold there"})


class PersonOut(Answer):
    user_id = fields.String(required=True)
    name = fields.String(required=True)
    projects = fields.List(fields.Nested(SharedProjectOut), required=True)
