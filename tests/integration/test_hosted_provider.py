"""The hosted provider against a local server speaking the OpenAI-compatible images API:
what goes over the wire for generations and masked edits, what the recipe records, and
how error, rate-limit and timeout answers end (in words, the key never repeated)."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator

import pytest
from PIL import Image

from imaging.png import encode_png
from tests.hosted_stub import USAGE, Answer, StubImagesServer, error_answer, stub_png
from workers.hosted.provider import (
    NOT_RERENDERABLE,
    HostedRateLimited,
    HostedRejected,
    HostedTimeout,
    HostedUnavailable,
)
from workers.operations import RECIPE_TEXT_KEY, run_step

KEY = "sk-test-Secret-0123456789abcdef"


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[StubImagesServer]:
    with StubImagesServer() as server:
        monkeypatch.setenv("LINEAGE_HOSTED_BASE_URL", server.base_url)
        monkeypatch.setenv("LINEAGE_HOSTED_API_KEY", KEY)
        monkeypatch.setenv("LINEAGE_HOSTED_MAX_ATTEMPTS", "3")
        monkeypatch.setenv("LINEAGE_HOSTED_BACKOFF_S", "0")
        monkeypatch.setenv("LINEAGE_MODEL_FINAL", "hosted:openai:dall-e-2")
        yield server


def generate(**extra: object) -> dict:
    return {"operation": "generate", "tier": "final", "prompt": "a lighthouse at dusk",
            "seed": 5, "width": 64, "height": 64, **extra}


def test_a_final_generation_goes_to_the_hosted_model_and_records_what_it_answered(
        stub: StubImagesServer) -> None:
    result = run_step(generate())

    [request] = stub.seen
    assert request.path == "/v1/images/generations"
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.json == {"model": "dall-e-2", "prompt": "a lighthouse at dusk", "n": 1,
                            "size": "64x64", "response_format": "b64_json"}
    image = Image.open(io.BytesIO(result.png))
    assert image.size == (64, 64) and image.convert("RGB").getpixel((5, 5)) == (200, 40, 30)
    hosted = result.recipe["hosted"]
    assert result.recipe["model_id"] == "hosted:openai:dall-e-2"
    assert hosted["provider"] == "openai" and hosted["model"] == "dall-e-2"
    assert hosted["base_url"] == stub.base_url
    assert hosted["reported_version"] == "2020-10-01"
    assert hosted["request"] == request.json
    assert hosted["response_ids"] == {"created": 1764800001, "x-request-id": "req_stub_1"}
    assert hosted["usage"] == USAGE
    assert hosted["received_hash"] == hashlib.sha256(stub.image).hexdigest()
    assert hosted["not_sent"] == ["seed"]  # the images API has no seed
    # The PNG carries the recipe, as every Lineage image does.
    assert json.loads(image.text[RECIPE_TEXT_KEY]) == result.recipe
    assert KEY not in json.dumps(result.recipe) and KEY.encode() not in result.png


def test_gpt_image_models_are_not_sent_response_format(stub: StubImagesServer) -> None:
    run_step(generate(model="hosted:openai:gpt-image-1"))

    assert "response_format" not in stub.seen[0].json
    assert stub.seen[0].json["model"] == "gpt-image-1"


def test_an_inpaint_sends_image_and_mask_as_multipart_with_transparent_repaint_area(
        stub: StubImagesServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINEAGE_MODEL_INPAINT", "hosted:openai:dall-e-2")
    source = stub_png((10, 120, 10))
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (16, 16, 48, 48))
    mask_png = encode_png(mask)

    result = run_step({"operation": "inpaint", "tier": "draft", "prompt": "a red door"},
                      input_png=source, mask_png=mask_png)

    [request] = stub.seen
    assert request.path == "/v1/images/edits"
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert request.fields == {"model": "dall-e-2", "prompt": "a red door", "n": "1",
                              "response_format": "b64_json"}
    assert request.files["image"] == source
    sent_mask = Image.open(io.BytesIO(request.files["mask"]))
    assert sent_mask.mode == "RGBA"
    assert sent_mask.getpixel((32, 32))[3] == 0  # repaint here
    assert sent_mask.getpixel((2, 2))[3] == 255  # keep
    assert result.recipe["input_hash"] == hashlib.sha256(source).hexdigest()
    assert result.recipe["mask_hash"] == hashlib.sha256(mask_png).hexdigest()
    assert result.recipe["hosted"]["endpoint"] == "images/edits"
    assert "transparent = repaint" in result.recipe["hosted"]["mask_sent_as"]


def test_a_refused_request_ends_with_the_providers_own_words_and_is_not_retried(
        stub: StubImagesServer) -> None:
    stub.queue.append(error_answer(400, "Your request was rejected by the safety system.",
                                   "invalid_request_error", "content_policy_violation"))

    with pytest.raises(HostedRejected) as caught:
        run_step(generate())

    assert len(stub.seen) == 1
    assert "refused the request with HTTP 400" in caught.value.detail
    assert ("Your request was rejected by the safety system. (invalid_request_error, "
            "content_policy_violation)") in caught.value.detail


def test_server_errors_are_retried_and_a_later_success_is_kept(
        stub: StubImagesServer) -> None:
    stub.queue += [error_answer(500, "The server had an error", "server_error"),
                   error_answer(503, "Overloaded", "server_error")]

    result = run_step(generate())

    assert len(stub.seen) == 3
    assert result.recipe["hosted"]["attempts"] == 3


def test_server_errors_on_every_attempt_fail_naming_the_count(stub: StubImagesServer) -> None:
    stub.queue += [error_answer(502, "Bad gateway", "server_error")] * 3

    with pytest.raises(HostedUnavailable) as caught:
        run_step(generate())

    assert len(stub.seen) == 3
    assert "failed with HTTP 502 on all 3 attempts (last: Bad gateway (server_error))" in \
        caught.value.detail


def test_rate_limits_are_retried_after_the_wait_asked_then_fail_with_a_clear_reason(
        stub: StubImagesServer) -> None:
    limited = error_answer(429, "Rate limit reached for images per minute",
                           "requests", "rate_limit_exceeded", {"Retry-After": "0"})
    stub.queue += [limited] * 3

    with pytest.raises(HostedRateLimited) as caught:
        run_step(generate())

    assert len(stub.seen) == 3
    assert caught.value.detail == (
        f"the hosted provider at {stub.base_url}/images/generations is rate limiting: it "
        "answered 429 to all 3 attempts (last: Rate limit reached for images per minute "
        "(requests, rate_limit_exceeded))")


def test_a_rate_limit_that_lifts_lets_the_request_through(stub: StubImagesServer) -> None:
    stub.queue.append(error_answer(429, "Slow down", "requests", headers={"Retry-After": "0"}))

    result = run_step(generate())

    assert len(stub.seen) == 2 and result.recipe["hosted"]["attempts"] == 2


def test_a_dropped_connection_is_retried_then_fails_in_words(stub: StubImagesServer) -> None:
    stub.queue += [Answer(drop=True)] * 3

    with pytest.raises(HostedUnavailable) as caught:
        run_step(generate())

    assert len(stub.seen) == 3
    assert "dropped the connection on all 3 attempts" in caught.value.detail


def test_a_provider_that_does_not_answer_in_time_ends_with_a_timeout(
        stub: StubImagesServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINEAGE_HOSTED_TIMEOUT_S", "0.3")
    stub.queue.append(Answer(delay=1.5))

    with pytest.raises(HostedTimeout) as caught:
        run_step(generate())

    assert len(stub.seen) == 1  # a timed-out request may be billed: not repeated
    assert "did not answer within 0.3 s" in caught.value.detail


def test_a_server_that_echoes_the_key_does_not_get_it_into_the_reason(
        stub: StubImagesServer) -> None:
    stub.queue.append(error_answer(401, f"Incorrect API key provided: {KEY}",
                                   "invalid_request_error", "invalid_api_key"))

    with pytest.raises(HostedRejected) as caught:
        run_step(generate())

    assert KEY not in caught.value.detail and "[redacted]" in caught.value.detail


def test_a_hosted_tier_without_a_key_says_which_setting_is_missing(
        stub: StubImagesServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LINEAGE_HOSTED_API_KEY")

    with pytest.raises(HostedRejected, match="LINEAGE_HOSTED_API_KEY is not set"):
        run_step(generate())
    assert stub.seen == []


def test_operations_the_images_api_cannot_do_are_refused_before_any_request(
        stub: StubImagesServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINEAGE_MODEL_UPSCALE", "hosted:openai:dall-e-2")

    with pytest.raises(Exception, match="upscale cannot run on hosted model"):
        run_step({"operation": "upscale", "prompt": "sharper", "scale": 2},
                 input_png=stub_png())
    assert stub.seen == []


def test_the_rebuild_phrase_is_the_one_users_read() -> None:
    assert NOT_RERENDERABLE == "hosted: not re-renderable; bytes verified by hash"
