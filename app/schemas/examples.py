"""An example body for every write, shown in the OpenAPI document and /api/docs.

Each example is a request a person would send; tests/e2e/test_openapi_api.py loads every
one through its schema, so an example that stops being valid fails the suite.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema

from app.schemas.assets import (
    AssetCreateSchema,
    EditSchema,
    GenerationSchema,
    PromoteSchema,
    TagSchema,
    UploadFormSchema,
)
from app.schemas.guests import GuestLinkSchema
from app.schemas.lineage_tools import RebakeSchema, RebuildSchema
from app.schemas.projects import ChannelSchema, MemberSchema, PoliciesSchema, ProjectCreateSchema
from app.schemas.reviews import CommentSchema, DecisionSchema, PinSchema, RevokeSchema
from app.schemas.templates import (
    TemplateCreateSchema,
    TemplateGenerationSchema,
    TemplateReviseSchema,
)
from app.schemas.users import RevokeTokenSchema, TokenCreateSchema, UserCreateSchema

_VERSION = "0b8f6a1e-2f7c-4d1a-9e55-3c9a1d2b4f60"
_ASSET = "5d0c1e8a-7b3f-4c2d-8a9e-1f2b3c4d5e6f"

EXAMPLES: dict[type[Schema], dict[str, Any]] = {
    ProjectCreateSchema: {"name": "Summer 26", "description": "Beachwear campaign"},
    PoliciesSchema: {"min_drafts_before_final": 3, "final_render_cap": 10,
                     "compute_budget_seconds": 36000},
    ChannelSchema: {"min_width": 1080, "min_height": 1080},
    MemberSchema: {"role": "reviewer"},
    AssetCreateSchema: {"name": "Hero banner", "brief": "Fox in the snow, warm light",
                        "tags": ["campaign/summer-26/social", "char/fox"]},
    TagSchema: {"tag": "char/villain"},
    GenerationSchema: {"prompt": "a red fox in the snow, golden hour", "width": 512,
                       "height": 384, "variations": 4, "seed": 41, "steps": 20,
                       "guidance": 6.5, "negative_prompt": "blurry"},
    PromoteSchema: {"width": 1024, "height": 768, "steps": 30},
    EditSchema: {"operation": "inpaint", "prompt": "a teal scarf",
                 "region": {"x": 0.25, "y": 0.5, "w": 0.5, "h": 0.25}, "strength": 0.8},
    UploadFormSchema: {"tier": "draft", "note": "retouched in Photoshop"},
    CommentSchema: {"body": "The sky is too dark here",
                    "region": {"x": 0.1, "y": 0.0, "w": 0.5, "h": 0.25}},
    DecisionSchema: {"decision": "approved", "channel": "social",
                     "note": "Agreed in Tuesday's review"},
    RevokeSchema: {"reason": "Client changed the crop"},
    PinSchema: {"label": "Agreed in Tuesday's review"},
    TemplateCreateSchema: {"name": "Hero shot", "prompt": "a {animal} in the {place}",
                           "parameters": {"width": 512, "height": 512, "steps": 20}},
    TemplateReviseSchema: {"prompt": "a {animal} in the {place}, golden hour"},
    TemplateGenerationSchema: {"asset_id": _ASSET,
                               "variables": {"animal": "fox", "place": "snow"},
                               "variations": 2},
    UserCreateSchema: {"name": "Rita Reviewer", "is_admin": False},
    TokenCreateSchema: {"label": "laptop"},
    RevokeTokenSchema: {"reason": "laptop lost"},
    RebuildSchema: {"tolerance": {"max_channel_difference": 8, "min_psnr": 40.0}},
    RebakeSchema: {"overrides": {_VERSION: {"prompt": "a model in a navy jacket"}}},
    GuestLinkSchema: {"asset_ids": [_ASSET], "permission": "comment", "expires_in_days": 7,
                      "label": "for the client"},
}
