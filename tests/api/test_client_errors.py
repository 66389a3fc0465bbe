"""Configuration checks before any request, API error mapping, and keeping the key secret."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.api.conftest import KEY, canned_client, canonical, hours_ago, in_window, make_client
from wsframes import load_activity
from wsframes._config import resolve_base_url
from wsframes.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    PermissionDeniedError,
)
from wsframes.fake import FakeWebshare
from wsframes.loader import Client


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"start": "24h", "end": "48h"}, "must be before end"),
        ({"start": "3 fortnights"}, "relative time"),
        ({"start": "91d"}, "more than 90 days ago"),
        ({"start": date(2020, 1, 1)}, "more than 90 days ago"),
        ({"start": 12345}, "must be a datetime"),
        ({"start": "2h", "plan_id": "1"}, "plan_id must be a positive integer"),
        ({"start": "2h", "plan_id": True}, "plan_id"),
        ({"start": "2h", "min_bytes": -1}, "min_bytes must be a non-negative int"),
        ({"start": "2h", "max_bytes": 1.5}, "max_bytes"),
        ({"start": "2h", "min_bytes": 10, "max_bytes": 5}, "greater than max_bytes"),
        ({"start": "2h", "error_reason": 404}, "error_reason must be a non-empty string"),
        ({"start": "2h", "search": ""}, "search must be a non-empty string"),
        ({"start": "2h", "progress": "yes"}, "progress must be"),
    ],
)
def test_bad_input_raises_before_any_request(fake, kwargs, match):
    sent = len(fake.requests)
    with make_client(fake) as client, pytest.raises(ConfigurationError, match=match):
        client.activity(**kwargs)
    assert len(fake.requests) == sent


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"page_size": 0}, "page_size"),
        ({"page_size": "100"}, "page_size"),
        ({"timeout": 0}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
        ({"requests_per_minute": 0}, "requests_per_minute"),
    ],
)
def test_bad_client_options_are_refused(fake, options, match):
    with pytest.raises(ConfigurationError, match=match):
        make_client(fake, **options)


def test_missing_key_says_where_it_comes_from(fake, monkeypatch):
    monkeypatch.delenv("WEBSHARE_API_KEY", raising=False)
    sent = len(fake.requests)
    with pytest.raises(ConfigurationError, match="WEBSHARE_API_KEY"):
        load_activity("2h", base_url=fake.base_url)
    assert len(fake.requests) == sent


def test_key_and_base_url_come_from_the_environment(fake, monkeypatch):
    monkeypatch.setenv("WEBSHARE_API_KEY", KEY)
    monkeypatch.setenv("WEBSHARE_BASE_URL", fake.base_url)
    df = load_activity(hours_ago(30), hours_ago(29), progress=False, requests_per_minute=None)
    assert df.height > 0


@pytest.mark.parametrize(
    "url", ["http://proxy.webshare.io", "http://10.0.0.5:8080", "ftp://127.0.0.1", "proxy.webshare.io",
            "https://user:pw@proxy.webshare.io", "https://proxy.webshare.io/?x=1"],
)
def test_unsafe_or_malformed_base_urls_are_refused(url):
    with pytest.raises(ConfigurationError, match=r"base_url|http"):
        resolve_base_url(url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8765", "http://[::1]:80", "http://localhost:1",
                                 "https://proxy.webshare.io/"])
def test_loopback_http_and_https_are_accepted(url):
    assert resolve_base_url(url) == url.rstrip("/")


def test_wrong_key_raises_authentication_error_that_never_shows_a_key(fake, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "sk-wrong-9d8c7b6a5f4e3d2c1b0a"
    client = Client(api_key=wrong, base_url=fake.base_url, requests_per_minute=None, progress=False)
    with client, pytest.raises(AuthenticationError) as info:
        client.activity("2h")
    text = f"{info.value} {info.value!r} {info.value.messages} {client!r}"
    assert "WEBSHARE_API_KEY" in str(info.value)
    assert info.value.status_code == 401
    assert info.value.request_id  # X-Request-ID is kept for support tickets
    for secret in (wrong, KEY):
        assert secret not in text
        assert secret not in caplog.text


def test_successful_load_logs_and_reprs_without_the_key(fake, caplog):
    caplog.set_level(logging.DEBUG)
    with make_client(fake) as client:
        client.activity(hours_ago(30), hours_ago(29))
        assert KEY not in repr(client)
    assert caplog.records  # something was logged...
    assert KEY not in caplog.text  # ...but never the key


def test_bad_request_surfaces_both_message_shapes(fake):
    with make_client(fake) as client:
        # Documented shape: {"plan_id": ["Select a valid choice..."]}
        with pytest.raises(BadRequestError, match="plan_id: Select a valid choice") as info:
            client.activity("2h", plan_id=99)
        assert info.value.messages and info.value.status_code == 400
        # Live shape: {"verification_category": [{"message": ..., "code": "invalid_choice"}]}
        with pytest.raises(BadRequestError, match=r"not one of the available choices.*invalid_choice"):
            client.activity("2h", verification_category="requests_to_casinos")


def test_window_older_than_the_servers_retention_is_a_bad_request():
    # Our clock says the window is recent; a server living 100 days ahead disagrees and says so.
    later = datetime.now(UTC) + timedelta(days=100)
    with (
        FakeWebshare(KEY, now=later, records=10) as fake,
        make_client(fake) as client,
        pytest.raises(BadRequestError, match="90 days"),
    ):
        client.activity("2h")


def test_forbidden_with_detail_and_code(canned):
    canned.answers = [(403, {"detail": "API key not allowed for this plan.", "code": "api_key_not_allowed"})]
    with canned_client(canned) as client, pytest.raises(PermissionDeniedError) as info:
        client.activity("2h")
    assert "API key not allowed for this plan. (api_key_not_allowed)" in str(info.value)
    assert "req-123" in str(info.value)
    assert KEY not in str(info.value)


def test_field_errors_in_several_fields_are_all_reported(canned):
    canned.answers = [(400, {"timestamp__gte": [{"message": "Too old.", "code": "min_value"}],
                             "page_size": ["Enter a number."]})]
    with canned_client(canned) as client, pytest.raises(BadRequestError) as info:
        client.activity("2h")
    assert info.value.messages == ["timestamp__gte: Too old. (min_value)", "page_size: Enter a number."]


def test_archive_cannot_be_combined_with_other_filters(fake, tmp_path):
    sent = len(fake.requests)
    with pytest.raises(ConfigurationError, match="error_reason, min_bytes cannot be combined with archive"):
        load_activity("2h", archive=tmp_path, api_key=KEY, base_url=fake.base_url, error_reason="*",
                      min_bytes=1)
    assert len(fake.requests) == sent


def test_archive_load_delegates_and_fills_gaps_from_the_api(fake, window, tmp_path):
    lo, hi = window
    df = load_activity(lo, hi, archive=tmp_path / "archive", api_key=KEY, base_url=fake.base_url,
                       plan_id=2, progress=False)
    assert canonical(df).equals(canonical(in_window(fake.truth(2), lo, hi)))
