"""Hosted model settings: the spec's shape, numbers that must be numbers, and a key that
never shows in a repr or a recorded base URL."""

from __future__ import annotations

import pytest

from events.errors import DomainError
from workers.hosted.provider import HostedRejected, parse_spec, settings_from_env

KEY = "sk-unit-Secret-77"


def test_a_hosted_spec_names_provider_and_model() -> None:
    spec = parse_spec("hosted:openai:gpt-image-1")

    assert (spec.provider, spec.model, spec.spec) == ("openai", "gpt-image-1",
                                                      "hosted:openai:gpt-image-1")
    with pytest.raises(DomainError, match="must read hosted:<provider>:<model>"):
        parse_spec("hosted:openai")


def test_settings_read_numbers_and_keep_the_key_out_of_reprs_and_recorded_urls() -> None:
    settings = settings_from_env({
        "LINEAGE_HOSTED_API_KEY": KEY, "LINEAGE_HOSTED_TIMEOUT_S": "30",
        "LINEAGE_HOSTED_BASE_URL": "https://user:pw@images.example.com:8443/v1/?x=1"})

    assert settings.timeout_seconds == 30.0 and settings.max_attempts == 4
    assert settings.public_base_url == "https://images.example.com:8443/v1"
    assert KEY not in repr(settings)


def test_bad_settings_say_which_variable_is_wrong() -> None:
    with pytest.raises(HostedRejected, match="LINEAGE_HOSTED_API_KEY is not set"):
        settings_from_env({})
    with pytest.raises(DomainError, match="LINEAGE_HOSTED_TIMEOUT_S must be a number"):
        settings_from_env({"LINEAGE_HOSTED_API_KEY": KEY, "LINEAGE_HOSTED_TIMEOUT_S": "soon"})
    with pytest.raises(DomainError, match="LINEAGE_HOSTED_MAX_ATTEMPTS must be above 0"):
        settings_from_env({"LINEAGE_HOSTED_API_KEY": KEY, "LINEAGE_HOSTED_MAX_ATTEMPTS": "0"})
