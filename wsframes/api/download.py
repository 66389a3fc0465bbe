"""The bulk CSV download: a download token, then an unauthenticated CSV request.

The token is a secret like the API key: it is sent only as the ``download_token`` query
parameter, and :func:`wsframes.api.client.redact_url` masks it in every logged URL and error.
"""

from __future__ import annotations

import json

from wsframes.api.client import HttpClient

__all__ = ["DOWNLOAD_PATH", "TOKEN_PATH", "download_activity_csv", "get_download_token"]

TOKEN_PATH = "/api/v2/download_token/activity/"
DOWNLOAD_PATH = "/api/v2/proxy/activity/download/"


def _decode_token(body: bytes) -> str:
    data = json.loads(body)
    key = data.get("key") if isinstance(data, dict) else None
    if not isinstance(key, str) or not key:
        raise ValueError("the download-token response has no 'key'")
    return key


def get_download_token(http: HttpClient) -> str:
    """An activity download token (authenticated request). Keep it out of logs."""
    return http.get(TOKEN_PATH, decode=_decode_token)


def _decode_csv(body: bytes) -> bytes:
    if body.lstrip()[:1] in (b"{", b"<"):
        raise ValueError("expected CSV, got JSON or HTML")
    return body


def download_activity_csv(http: HttpClient, token: str, params: dict[str, str | int]) -> bytes:
    """The CSV bytes for *params* (the list filters minus ``page_size``/``verification_category``)."""
    return http.get(DOWNLOAD_PATH, {"download_token": token, **params}, decode=_decode_csv, auth=False)
