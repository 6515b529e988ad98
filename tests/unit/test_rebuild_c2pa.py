"""The C2PA manifest an export would carry: one action per step of the chain (pure)."""

from __future__ import annotations

import importlib.util

import pytest

from interchange.c2pa import (
    TRAINED,
    C2paUnavailable,
    credentials_from_env,
    manifest_definition,
)


def test_the_root_is_created_and_later_steps_edited_with_trained_media_for_diffusion() -> None:
    summary = {"version_id": "v3", "chain": [
        {"operation": "generate", "version_id": "v1", "content_hash": "a" * 64},
        {"operation": "inpaint", "version_id": "v2", "content_hash": "b" * 64},
        {"operation": "adjust", "version_id": "v3", "content_hash": "c" * 64}]}

    manifest = manifest_definition(summary, "0.1.0")

    [actions] = [a["data"]["actions"] for a in manifest["assertions"]
                 if a["label"] == "c2pa.actions"]
    assert [a["action"] for a in actions] == ["c2pa.created", "c2pa.edited", "c2pa.edited"]
    assert [a.get("digitalSourceType") for a in actions] == [TRAINED, TRAINED, None]
    assert actions[1]["parameters"]["lineage.version_id"] == "v2"
    assert manifest["title"] == "lineage-v3.png"


@pytest.mark.skipif(importlib.util.find_spec("c2pa") is not None,
                    reason="c2pa-python is installed here")
def test_without_the_library_signing_is_refused_with_the_reason(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINEAGE_C2PA_CERT", "/nonexistent/cert.pem")
    monkeypatch.setenv("LINEAGE_C2PA_KEY", "/nonexistent/key.pem")
    with pytest.raises(C2paUnavailable, match="optional c2pa-python package") as caught:
        credentials_from_env()
    assert caught.value.status == 501
