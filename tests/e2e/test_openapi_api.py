"""The OpenAPI document and the docs page."""

from __future__ import annotations

import schemathesis
from schemathesis.specs.openapi.checks import response_schema_conformance

from app.schemas.examples import EXAMPLES
from tests.e2e.conftest import png_bytes

CONTRACT = [
    ("post", "/api/projects"), ("get", "/api/projects/{project_id}"),
    ("patch", "/api/projects/{project_id}/policies"),
    ("put", "/api/projects/{project_id}/channels/{name}"),
    ("put", "/api/projects/{project_id}/members/{user_id}"),
    ("delete", "/api/projects/{project_id}/members/{user_id}"),
    ("post", "/api/projects/{project_id}/assets"), ("get", "/api/assets/{asset_id}"),
    ("post", "/api/assets/{asset_id}/tags"), ("delete", "/api/assets/{asset_id}/tags/{tag}"),
    ("post", "/api/assets/{asset_id}/generations"), ("post", "/api/versions/{version_id}/edits"),
    ("post", "/api/versions/{version_id}/promote"), ("post", "/api/assets/{asset_id}/uploads"),
    ("get", "/api/versions/{version_id}"), ("get", "/api/versions/{version_id}/image"),
    ("post", "/api/versions/{version_id}/comments"), ("post", "/api/comments/{comment_id}/resolve"),
    ("post", "/api/versions/{version_id}/decisions"),
    ("post", "/api/decisions/{decision_id}/revoke"), ("post", "/api/versions/{version_id}/pins"),
    ("delete", "/api/pins/{pin_id}"), ("post", "/api/projects/{project_id}/templates"),
    ("post", "/api/templates/{template_id}/generations"), ("get", "/api/openapi.json"),
]


def test_openapi_document_is_valid_and_covers_the_contract(client):
    response = client.get("/api/openapi.json")

    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    operations = list(schemathesis.openapi.from_dict(spec).get_all_operations())
    assert operations and all(op.ok() for op in operations)
    for method, path in CONTRACT:
        assert method in spec["paths"].get(path, {}), (method, path)
    generation = spec["paths"]["/api/assets/{asset_id}/generations"]["post"]
    body = generation["requestBody"]["content"]["application/json"]["schema"]
    schema = spec["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    assert schema["properties"]["variations"]["maximum"] == 16
    assert schema["properties"]["seed"]["maximum"] == 2**32 - 1
    assert "LINEAGE_MAX_PROMPT_CHARS" in schema["properties"]["prompt"]["description"]
    assert schema["additionalProperties"] is False
    assert {p["name"] for p in generation["parameters"]} >= {"asset_id", "Idempotency-Key",
                                                             "If-Match"}
    upload = spec["paths"]["/api/assets/{asset_id}/uploads"]["post"]["requestBody"]
    assert "image" in upload["content"]["multipart/form-data"]["schema"]["required"]


def test_docs_page_lists_every_route(client):
    response = client.get("/api/docs")

    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "/api/versions/{version_id}/decisions" in page and "GenerationSchema" not in page
    assert "Generation" in page


def test_real_answers_conform_to_the_documented_schemas(app, api):
    project = api.project()
    asset = api.asset(project)
    version = api.upload(asset, png_bytes())["version_id"]
    template = api.admin.post(f"/api/projects/{project}/templates",
                              json={"name": "t", "prompt": "a {x}",
                                    "parameters": {"width": 64, "height": 64}}).get_json()
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    auth = {"Authorization": f"Bearer {api.admin.token}"}
    calls = [
        ("/api/projects", "POST", {}, {"name": "Docs"}),
        ("/api/projects", "GET", {}, None),
        ("/api/projects/{project_id}", "GET", {"project_id": project}, None),
        ("/api/projects/{project_id}/assets", "GET", {"project_id": project}, None),
        ("/api/assets/{asset_id}", "GET", {"asset_id": asset}, None),
        ("/api/assets/{asset_id}/generations", "POST", {"asset_id": asset},
         {"prompt": "p", "width": 64, "height": 64}),
        ("/api/versions/{version_id}", "GET", {"version_id": version}, None),
        ("/api/versions/{version_id}/comments", "POST", {"version_id": version}, {"body": "b"}),
        ("/api/versions/{version_id}/decisions", "POST", {"version_id": version},
         {"decision": "approved"}),
        ("/api/versions/{version_id}/pins", "POST", {"version_id": version}, {"label": "l"}),
        ("/api/templates/{template_id}/generations", "POST",
         {"template_id": template["template_id"]}, {"asset_id": asset, "variables": {"x": "y"}}),
        ("/api/users/me", "GET", {}, None),
    ]
    for path, method, params, payload in calls:
        operation = schema[path][method]
        extra = {} if payload is None else {"body": payload, "media_type": "application/json"}
        case = operation.Case(path_parameters=params, headers=auth, **extra)
        response = case.call()
        assert response.status_code < 300, (path, response.text)
        case.validate_response(response, checks=[response_schema_conformance])


def test_every_write_documents_a_valid_example_and_its_required_fields(client):
    spec = client.get("/api/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    bodies = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            for media, described in content.items():
                bodies += 1
                assert "example" in described, (method, path, media)
                if media == "application/json":
                    assert {"400", "415", "422"} <= set(operation["responses"]), (method, path)
    assert bodies >= 20
    for schema_class, example in EXAMPLES.items():
        schema_class().load(example)  # ValidationError if an example went stale
    assert schemas["Decision"]["required"] == ["decision"]
    assert {"decision_id", "content_hash", "reviewer_name", "role"} <= set(
        schemas["DecisionOut"]["required"])
    audit_type = next(p for p in spec["paths"]["/api/audit"]["get"]["parameters"]
                      if p["name"] == "type")
    assert {"approved", "decision.recorded", "version.created"} <= set(
        audit_type["schema"]["enum"])


def test_docs_page_shows_examples_required_fields_and_audit_types(client):
    page = client.get("/api/docs").get_data(as_text=True)

    assert "&quot;decision&quot;: &quot;approved&quot;" in page  # an example body
    assert "<code>decision</code> <strong>required</strong>" in page
    assert "one of approved, changes_requested" in page


def test_the_front_door_is_the_studio_whose_sign_in_page_points_to_the_api_docs(client):
    response = client.get("/")

    assert response.status_code == 303
    assert response.headers["Location"] == "/login"
    page = client.get("/", follow_redirects=True)
    assert page.mimetype == "text/html" and 'href="/api/docs"' in page.get_data(as_text=True)
