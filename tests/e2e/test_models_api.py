"""GET /api/models: the registry as the API answers it."""

from __future__ import annotations

from commands.models import register_model
from events.store import Metadata
from tests.e2e.conftest import assert_problem


def register(services, name: str, tier: str | None = None) -> None:  # noqa: ANN001
    register_model(services.store, Metadata(actor_id="cli"), {
        "kind": "pipeline", "spec": f"/srv/models/{name}", "path": f"/srv/models/{name}",
        "family": "flux", "pipeline_class": "FluxPipeline", "components": ["transformer"],
        "files": {"transformer/diffusion_pytorch_model.safetensors": "c" * 64},
        "weights_hash": "d" * 64}, name, tier)


def test_models_lists_entries_files_and_tiers(api, services) -> None:
    register(services, "flux-dev", "final")
    answer = api.admin.get("/api/models")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["tiers"] == {"draft": None, "final": "flux-dev", "inpaint": None,
                             "upscale": None}
    (item,) = body["items"]
    assert item["name"] == "flux-dev" and item["family"] == "flux"
    assert item["files"] == [{"path": "transformer/diffusion_pytorch_model.safetensors",
                              "sha256": "c" * 64}]
    assert item["path"] == "/srv/models/flux-dev"  # administrators see the server's paths
    assert item["config"] is None  # a folder; only a single-file checkpoint names one


def test_models_hides_paths_from_non_admins_and_needs_a_token(api, client, services) -> None:
    register(services, "flux-dev")
    body = api.user().get("/api/models").get_json()
    assert "path" not in body["items"][0] and "config" not in body["items"][0]
    anonymous = client.get("/api/models")
    assert anonymous.status_code == 401
    assert anonymous.headers["Content-Type"] == "application/problem+json"


def test_models_validates_its_query(api) -> None:
    answer = api.admin.get("/api/models?kind=vae")
    assert answer.status_code == 422
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert "kind" in answer.get_json()["errors"]
    assert api.admin.get("/api/models?kind=lora").get_json()["items"] == []


def register_lora(services, name: str) -> None:  # noqa: ANN001
    register_model(services.store, Metadata(actor_id="cli"), {
        "kind": "lora", "spec": f"/srv/loras/{name}.safetensors",
        "path": f"/srv/loras/{name}.safetensors", "family": "flux", "pipeline_class": "",
        "components": ["transformer"], "files": {f"{name}.safetensors": "e" * 64},
        "weights_hash": "e" * 64}, name)


def test_a_generation_names_a_registered_model_loras_and_family_keys(api, services) -> None:
    register(services, "flux-dev")
    register_lora(services, "ink")
    project = api.project()
    asset, creator = api.asset(project), api.as_user("creator", project)
    url = f"/api/assets/{asset}/generations"
    body = {"prompt": "a fox", "width": 512, "height": 512, "seed": 1}
    answer = creator.post(url, json={**body, "model": "flux-dev", "prompt_2": "t5 words",
                                     "max_sequence_length": 128,
                                     "loras": [{"name": "ink", "scale": 0.6}]})
    assert answer.status_code == 202, answer.get_json()
    recipe = answer.get_json()["jobs"][0]["recipe"]
    assert recipe["model"] == "flux-dev" and recipe["prompt_2"] == "t5 words"
    assert recipe["loras"] == [{"name": "ink", "scale": 0.6}]
    assert recipe["max_sequence_length"] == 128
    assert_problem(creator.post(url, json={**body, "model": "ink"}), 422,
                   "'ink' is not a registered model")
    assert_problem(creator.post(url, json={**body, "loras": [{"name": "sepia"}]}), 422,
                   "'sepia' is not a registered LoRA adapter")
    assert_problem(creator.post(url, json={**body, "loras": [{"name": "ink", "scale": 40}]}),
                   422, "loras")


def test_a_generation_may_name_a_registered_sdxl_refiner(api, services) -> None:
    register(services, "xl-refiner")
    project = api.project()
    asset, creator = api.asset(project), api.as_user("creator", project)
    url = f"/api/assets/{asset}/generations"
    body = {"prompt": "a fox", "width": 512, "height": 512, "seed": 1}
    answer = creator.post(url, json={**body, "refiner": {"model": "xl-refiner",
                                                         "switch_at": 0.7}})
    assert answer.status_code == 202, answer.get_json()
    assert answer.get_json()["jobs"][0]["recipe"]["refiner"] == {"model": "xl-refiner",
                                                                 "switch_at": 0.7}
    assert_problem(creator.post(url, json={**body, "refiner": {"model": "nope"}}), 422,
                   "'nope' is not a registered model")
    assert_problem(creator.post(url, json={**body, "refiner": {"model": "xl-refiner",
                                                               "switch_at": 1.0}}),
                   422, "refiner")
