"""Schemathesis against /api/openapi.json: no input, valid or not, makes the API answer
500, and every success answer matches its documented schema. Bounded: a fixed number of
generated requests per run, authenticated as a global admin, with real ids for path
parameters so requests get past the 404s."""

from __future__ import annotations

import itertools

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.e2e.conftest import png_bytes

MAX_EXAMPLES = 150
# Long-lived streams never finish a request; they are tested on their own.
STREAMING_PATHS = ("/api/events/stream",)


def _known_ids(api) -> dict[str, str]:  # noqa: ANN001
    project = api.project()
    api.admin.put(f"/api/projects/{project}/channels/social",
                  json={"min_width": 8, "min_height": 8})
    asset = api.asset(project)
    version = api.upload(asset, png_bytes(64, 64))["version_id"]
    comment = api.admin.post(f"/api/versions/{version}/comments",
                             json={"body": "x"}).get_json()["comment_id"]
    decision = api.admin.post(f"/api/versions/{version}/decisions",
                              json={"decision": "approved"}).get_json()["decision_id"]
    pin = api.admin.post(f"/api/versions/{version}/pins", json={"label": "x"}).get_json()
    template = api.admin.post(f"/api/projects/{project}/templates",
                              json={"name": "t", "prompt": "a {x}"}).get_json()["template_id"]
    job = api.admin.post(f"/api/assets/{asset}/generations",
                         json={"prompt": "p", "width": 64, "height": 64}).get_json()
    spare_token = api.admin.post("/api/tokens", json={"label": "fuzz"}).get_json()["token_id"]
    return {"project_id": project, "asset_id": asset, "version_id": version,
            "comment_id": comment, "decision_id": decision, "pin_id": pin["pin_id"],
            "template_id": template, "job_id": job["jobs"][0]["job_id"],
            "user_id": api.user("member").user_id, "token_id": spare_token}


def test_no_generated_request_gets_a_server_error(app, api):
    ids = _known_ids(api)
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app).exclude(
        path=list(STREAMING_PATHS))
    auth = {"Authorization": f"Bearer {api.admin.token}"}
    cases = st.one_of(
        schema.as_strategy(GenerationMode.POSITIVE, headers=auth, path_parameters=ids),
        schema.as_strategy(GenerationMode.NEGATIVE, headers=auth, path_parameters=ids),
        schema.as_strategy(GenerationMode.NEGATIVE, headers=auth),
    )
    failures: list[str] = []

    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=cases)
    def request_does_not_fail(case) -> None:  # noqa: ANN001
        response = case.call()
        # 501 is the documented answer to ?c2pa=true on a server without C2PA signing.
        if response.status_code >= 500 and response.status_code != 501:
            failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: "
                            f"{response.text[:300]}\n  {case.as_curl_command()}")
        elif response.status_code < 300:
            try:
                case.validate_response(response, checks=[response_schema_conformance])
            except Exception as exc:  # noqa: BLE001 - collect every failure, report at once
                failures.append(f"{case.method} {case.formatted_path}: {exc}")

    request_does_not_fail()
    assert not failures, "\n".join(failures)


STATEFUL_EXAMPLES = 40


def test_stateful_sequences_over_every_route_get_no_server_error(app, api):
    """Schemathesis chains the routes (a project's id into its assets, an asset's into its
    generations, a version's into its comments…) as its links analysis finds them in the
    document, and no sequence gets a 500. Bounded: a fixed number of sequences."""
    token = api.admin.token
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app).exclude(
        path=list(STREAMING_PATHS))
    failures: list[str] = []
    reached: set[str] = set()
    calls = itertools.count()

    class Workflow(schema.as_state_machine()):
        def before_call(self, case):  # noqa: ANN001, ANN202
            # A generated Idempotency-Key repeats when Hypothesis replays a sequence; the
            # repeat would answer the first sequence's resource and the replay would go
            # elsewhere (FlakyStrategyDefinition). Keys are made unique per call.
            if case.headers and "Idempotency-Key" in case.headers:
                case.headers["Idempotency-Key"] = f"k{next(calls)}"

        def get_call_kwargs(self, case):  # noqa: ANN001, ANN202
            return {"headers": {"Authorization": f"Bearer {token}"}}

        def validate_response(self, response, case, **kwargs):  # noqa: ANN001, ANN202
            reached.add(f"{case.method} {case.path}")
            if response.status_code >= 500 and response.status_code != 501:
                failures.append(f"{case.method} {case.formatted_path} -> "
                                f"{response.status_code}: {response.text[:300]}")

    Workflow.run(settings=settings(max_examples=STATEFUL_EXAMPLES, stateful_step_count=10,
                                   deadline=None, database=None, derandomize=True,
                                   suppress_health_check=list(HealthCheck)))
    assert not failures, "\n".join(failures)
    assert len(reached) >= 15, sorted(reached)  # the sequences did reach the routes
