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


class MemberOut(Answer):
    user_id = fields.String(required=True)
    name = fields.String(allow_none=True, metadata={"description": "the member's name"})
    role = fields.String(required=True)


class ChannelOut(Answer):
    name = fields.String(required=True)
    min_width = fields.Integer(required=True)
    min_height = fields.Integer(required=True)


class PoliciesOut(Answer):
    min_drafts_before_final = fields.Integer(allow_none=True)
    final_render_cap = fields.Integer(allow_none=True)
    compute_budget_seconds = fields.Float(allow_none=True)


class ProjectOut(Answer):
    project_id = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String()
    created_at = fields.String(allow_none=True)
    your_role = fields.String(required=True)
    members = fields.List(fields.Nested(MemberOut))
    policies = fields.Nested(PoliciesOut)
    channels = fields.List(fields.Nested(ChannelOut))
    compute_used_seconds = fields.Float()
    version = fields.Integer(required=True, metadata={"description": "stream version (ETag)"})


class VersionSummaryOut(Answer):
    version_id = fields.String(required=True)
    parent_ids = fields.List(fields.String())
    operation = fields.String(required=True)
    tier = fields.String(required=True)
    content_hash = fields.String(required=True)
    width = fields.Integer()
    height = fields.Integer()
    author_id = fields.String()
    job_id = fields.String(allow_none=True)
    created_at = fields.String(allow_none=True)


class CommentOut(Answer):
    comment_id = fields.String(required=True)
    version_id = fields.String(required=True)
    author_id = fields.String()
    body = fields.String()
    region = fields.Dict(allow_none=True)
    parent_comment_id = fields.String(allow_none=True)
    resolved = fields.Boolean()
    created_at = fields.String(allow_none=True)
    resolved_at = fields.String(allow_none=True)


class DecisionOut(Answer):
    decision_id = fields.String(required=True)
    version_id = fields.String(required=True)
    decision = fields.String(required=True)
    content_hash = fields.String(required=True, metadata={"description": "the exact pixels "
                                                                         "decided on"})
    channel = fields.String(allow_none=True)
    note = fields.String()
    reviewer_id = fields.String()
    role = fields.String(metadata={"description": "the reviewer's role at the time"})
    created_at = fields.String(allow_none=True)
    revoked = fields.Boolean()
    revoked_by = fields.String(allow_none=True)
    revoke_reason = fields.String(allow_none=True)
    revoked_at = fields.String(allow_none=True)


class PinOut(Answer):
    pin_id = fields.String(required=True)
    version_id = fields.String(required=True)
    label = fields.String()
    pinned_by = fields.String()
    created_at = fields.String(allow_none=True)


class AssetOut(Answer):
    asset_id = fields.String(required=True)
    project_id = fields.String(required=True)
    name = fields.String(required=True)
    brief = fields.String()
    tags = fields.List(fields.String())
    created_at = fields.String(allow_none=True)
    version = fields.Integer(required=True)
    as_of = fields.String(allow_none=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    versions = fields.List(fields.Nested(VersionSummaryOut))
    heads = fields.List(fields.String())
    pins = fields.List(fields.Nested(PinOut))
    decisions = fields.List(fields.Nested(DecisionOut))


class VersionOut(VersionSummaryOut):
    asset_id = fields.String(required=True)
    project_id = fields.String()
    recipe = fields.Dict(metadata={"description": "everything needed to re-make the bytes"})
    environment = fields.Dict(allow_none=True)
    children = fields.List(fields.String())
    cost_seconds = fields.Float()
    note = fields.String()
    imported = fields.Dict(allow_none=True, metadata={
        "description": "generation metadata another tool embedded (never rebuildable)"})
    derived_from = fields.String(allow_none=True)
    comments = fields.List(fields.Nested(CommentOut))
    decisions = fields.List(fields.Nested(DecisionOut))
    pins = fields.List(fields.Nested(PinOut))


class UploadOut(VersionSummaryOut):
    asset_id = fields.String(required=True)
    note = fields.String()
    recipe = fields.Dict()
    imported = fields.Dict(allow_none=True)
    warnings = fields.List(fields.String())


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
    name = fields.String()
    prompt = fields.String()
    negative_prompt = fields.String()
    parameters = fields.Dict()
    variables = fields.List(fields.String())
    version = fields.Integer(required=True)
    created_at = fields.String(allow_none=True)
    revised_at = fields.String(allow_none=True)


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
